#!/usr/bin/env bash
# A proxy's own crash and upgrade under load, in one run: 8 keep-alive connections of steady GETs
# (the bench's own load generator, which keeps every request's outcome), and at 4 s of 12:
#   flotilla-kill    kill -9 of the router's worker (its supervisor holds the sockets)
#   flotilla-reload  flotilla reload-router (a new worker beside the old one, which drains)
#   nginx-kill       kill -9 of one nginx worker (its master holds the sockets)
# Failed requests by kind (refused, 5xx, other: reset or ended), the longest time without a
# successful answer, and the time until the rate is back to 90% of what it was.
#   bench/router-crash.sh [REPS=3]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$PEERS/lib.sh"                      # med_range, log
REPS="${1:-3}"
BENCH="$(mktemp -d /tmp/flotilla-crash-bench.XXXXXX)"
OUT="$BENCH/results"; mkdir -p "$OUT"
command -v nginx >/dev/null || { apt-get update -qq; apt-get install -y -qq nginx >/dev/null; }
for port in 5001 5002 8081 8090; do
  if ss -ltn "sport = :$port" | grep -q LISTEN; then echo "port $port is busy" >&2; exit 1; fi
done

pids=(); flotilla_pid=""
export FLOTILLA_CONFIG="$BENCH/config.json"
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
LOAD=(dotnet "$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll" disruption)
cleanup() {
  if [ -n "$flotilla_pid" ]; then "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true; wait "$flotilla_pid" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  rm -rf "$BENCH/state" "$BENCH/build"
}
trap cleanup EXIT; trap 'exit 130' INT TERM

log "publishing the app and building Flotilla and the bench (Release)"
dotnet publish "$PEERS/app/AnchorApp.csproj" -c Release -o "$BENCH/app" --artifacts-path "$BENCH/build" -v q --nologo >/dev/null
dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
dotnet build -c Release "$ROOT/bench/Flotilla.Bench" -v q --nologo >/dev/null
cat > "$BENCH/flotilla.yaml" <<YAML
name: crashbench
services:
  app:
    command: [$BENCH/app/AnchorApp]
    instances: 2
    http: { port: 8090, health: /healthz }
    env: { APP_VERSION: v1 }
YAML
for port in 5001 5002; do
  (cd "$BENCH/app" && ASPNETCORE_URLS="http://127.0.0.1:$port" APP_VERSION=v1 exec ./AnchorApp) > "$OUT/app-$port.log" 2>&1 &
  pids+=($!)
done
mkdir -p "$BENCH/nginx/tmp"
nginx -p "$BENCH/nginx/" -c "$PEERS/conf/nginx-baseline.conf" > "$OUT/nginx.log" 2>&1 &
ngx_pid=$!; pids+=($ngx_pid)
"${FLOTILLA[@]}" server --data "$BENCH/state" --listen 127.0.0.1:0 > "$OUT/flotilla.log" 2>&1 &
flotilla_pid=$!
for _ in $(seq 300); do grep -q 'listening on' "$OUT/flotilla.log" && break; sleep 0.1; done
"${FLOTILLA[@]}" apply -f "$BENCH" --wait > "$OUT/apply.log" 2>&1 || { cat "$OUT/flotilla.log" "$OUT/apply.log" >&2; exit 1; }
supervisor=$(python3 -c "import json;print(json.load(open('$BENCH/state/router.json'))['pid'])")
for url in http://127.0.0.1:5001/ http://127.0.0.1:8081/ http://127.0.0.1:8090/; do
  for _ in $(seq 100); do curl -fs -m 1 "$url" >/dev/null && break; sleep 0.1; done
done

# Each disruption acts on whatever process serves at that moment (by pid, never by name).
declare -A URL=([flotilla-kill]=http://127.0.0.1:8090/ [flotilla-reload]=http://127.0.0.1:8090/ [nginx-kill]=http://127.0.0.1:8081/)
declare -A RUN=(
  [flotilla-kill]="kill -9 \$(ps -o pid= --ppid $supervisor | head -1)"
  [flotilla-reload]="FLOTILLA_CONFIG=$FLOTILLA_CONFIG ${FLOTILLA[*]} reload-router >/dev/null"
  [nginx-kill]="kill -9 \$(ps -o pid= --ppid $ngx_pid | head -1)")
log "warm-up"
for t in flotilla-kill nginx-kill; do "${LOAD[@]}" "${URL[$t]}" --seconds 6 --at 5 --run true >/dev/null; done
printf 'target\trep\tok\tfailed\trefused\t5xx\tother\tgap_ms\trecovered_ms\n' > "$OUT/runs.tsv"
for rep in $(seq "$REPS"); do
  for t in flotilla-kill flotilla-reload nginx-kill; do
    line=$("${LOAD[@]}" "${URL[$t]}" --seconds 12 --at 4 --connections 8 --run "${RUN[$t]}")
    printf '%s\t%s\t%s\n' "$t" "$rep" "$line" | tee -a "$OUT/runs.tsv" >&2
    sleep 2
  done
done
{
  echo "# router crash and reload under load: $REPS reps, 8 keep-alive connections, disruption at 4 s of 12; median [min..max]"
  echo "| disruption | ok | failed | refused | 5xx | other | longest gap ms | ms to 90% rate |"
  echo "|---|---|---|---|---|---|---|---|"
  for t in flotilla-kill flotilla-reload nginx-kill; do
    col() { awk -F'\t' -v t="$t" -v c="$1" 'NR>1 && $1==t && $c != "never" {print $c}' "$OUT/runs.tsv" | med_range; }
    echo "| $t | $(col 3) | $(col 4) | $(col 5) | $(col 6) | $(col 7) | $(col 8) | $(col 9) |"
  done
  echo "raw: $OUT"
} | tee "$OUT/summary.md"
