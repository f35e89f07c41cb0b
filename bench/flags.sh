#!/usr/bin/env bash
# OFREP over HTTP: hey -> the router's flag port (Flotilla.Bench ofrep-server, the example's flags)
# and, in the same run, nginx answering a fixed JSON body to the same POST (the floor of an HTTP
# server on this machine: no parsing, no evaluation).
#   bench/flags.sh [REPS=3]   (DUR=10 seconds per cell, C=32 connections)
# single: POST /ofrep/v1/evaluate/flags/new-pricing; bulk: POST /ofrep/v1/evaluate/flags (every flag).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${1:-3}"; DUR="${DUR:-10}"; C="${C:-32}"
BENCH="$(mktemp -d /tmp/flotilla-flags-bench.XXXXXX)"
OUT="$BENCH/results"; mkdir -p "$OUT"
for tool in hey nginx; do command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hey nginx >/dev/null; }; done
for port in 8095 8096; do
  if ss -ltn "sport = :$port" | grep -q LISTEN; then echo "port $port is busy" >&2; exit 1; fi
done
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$BENCH/nginx"; }
trap cleanup EXIT; trap 'exit 130' INT TERM

dotnet build -c Release "$ROOT/bench/Flotilla.Bench" -v q --nologo >/dev/null
# The OFREP server reads stdin until it closes: a fifo held open by this script.
mkfifo "$BENCH/stdin"
dotnet "$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll" ofrep-server 8095 "$ROOT/examples/shop/flags.json" < "$BENCH/stdin" > "$OUT/ofrep.log" 2>&1 &
pids+=($!); ofrep_pid=$!
exec 3> "$BENCH/stdin"
mkdir -p "$BENCH/nginx/tmp"
cat > "$BENCH/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; pid $BENCH/nginx/nginx.pid; error_log $BENCH/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path $BENCH/nginx/tmp; proxy_temp_path $BENCH/nginx/tmp;
  fastcgi_temp_path $BENCH/nginx/tmp; uwsgi_temp_path $BENCH/nginx/tmp; scgi_temp_path $BENCH/nginx/tmp;
  server { listen 127.0.0.1:8096; default_type application/json;
    location / { return 200 '{"key":"new-pricing","value":false,"variant":"off","reason":"TARGETING_MATCH","metadata":{"team":"shop","owner":"pricing"}}'; } }
}
CONF
nginx -p "$BENCH/nginx/" -c "$BENCH/nginx/nginx.conf" > "$OUT/nginx.log" 2>&1 &
pids+=($!); ngx_pid=$!
for _ in $(seq 100); do curl -fs -m 1 -X POST http://127.0.0.1:8095/ofrep/v1/evaluate/flags/banner >/dev/null && curl -fs -m 1 -X POST http://127.0.0.1:8096/ >/dev/null && break; sleep 0.2; done

BODY='{"context":{"targetingKey":"user-4711","country":"DE"}}'
run() { # name url -> "req/s p50ms p99ms non2xx"
  hey -z "${DUR}s" -c "$C" -m POST -T application/json -d "$BODY" "$2" > "$OUT/$1-$rep.txt"
  awk '/Requests\/sec/ {rps=$2} /50% in/ {p50=$3*1000} /99% in/ {p99=$3*1000} /\[2[0-9][0-9]\]/ {ok+=$2} /\[[3-5][0-9][0-9]\]/ {bad+=$2}
       END {printf "%.0f %.2f %.2f %d\n", rps, p50, p99, bad}' "$OUT/$1-$rep.txt"
}
# Warm-up: the JIT tiers up in the first seconds.
hey -z 5s -c "$C" -m POST -T application/json -d "$BODY" http://127.0.0.1:8095/ofrep/v1/evaluate/flags/new-pricing >/dev/null
printf "%-8s %-10s %10s %9s %9s %7s\n" rep cell "req/s" "p50 ms" "p99 ms" "non-2xx"
for rep in $(seq "$REPS"); do
  for cell in nginx single bulk; do
    case $cell in
      nginx) url=http://127.0.0.1:8096/ ;;
      single) url=http://127.0.0.1:8095/ofrep/v1/evaluate/flags/new-pricing ;;
      bulk) url=http://127.0.0.1:8095/ofrep/v1/evaluate/flags ;;
    esac
    read -r rps p50 p99 bad < <(run "$cell" "$url")
    printf "%-8s %-10s %10s %9s %9s %7s\n" "$rep" "$cell" "$rps" "$p50" "$p99" "$bad" | tee -a "$OUT/summary.txt"
  done
done
echo "medians:"
for cell in nginx single bulk; do
  awk -v c="$cell" '$2==c {print $3, $4, $5}' "$OUT/summary.txt" | sort -n | awk -v c="$cell" '{r[NR]=$1; a[NR]=$2; b[NR]=$3} END {m=int((NR+1)/2); printf "  %-7s %8s req/s  p50 %s ms  p99 %s ms\n", c, r[m], a[m], b[m]}'
done
echo "OFREP server RSS: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$ofrep_pid/status)"
echo "raw results: $OUT"
