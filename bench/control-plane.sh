#!/usr/bin/env bash
# The control plane as a service, measured end to end on a real server (Release build):
#   API latency (hey) of GET /v1/status and of an unchanged POST /v1/apply, beside nginx serving
#   the very same status JSON as a static file (the floor for "an HTTP JSON read" here);
#   a changing apply (new revision, fsync'd), sequentially;
#   kill -9 of the server with 50 instances running: time until all are re-adopted;
#   the server's resident memory with 100 real instances (and the router process's beside it).
#   bench/control-plane.sh [REPS=3]   (DUR=10 seconds per hey cell)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REPS="${1:-3}"; DUR="${DUR:-10}"
BENCH="$(mktemp -d /tmp/flotilla-cp-bench.XXXXXX)"
export FLOTILLA_CONFIG="$BENCH/config.json"
for tool in hey nginx curl python3; do command -v "$tool" >/dev/null || { apt-get update -qq; apt-get install -y -qq hey nginx curl python3 >/dev/null; }; done
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
server_pid=""; nginx_pid=""
start_server() {
  "${FLOTILLA[@]}" server --data "$BENCH/data" --listen 127.0.0.1:0 > "$BENCH/server.log" 2>&1 &
  server_pid=$!
}
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$BENCH/data/artifacts" "$BENCH/data/instances"
}
trap cleanup EXIT; trap 'exit 130' INT TERM
wait_for() { # what, command...
  local what="$1"; shift
  for _ in $(seq 1 1200); do if "$@" >/dev/null 2>&1; then return 0; fi; sleep 0.1; done
  echo "timed out waiting for $what" >&2; exit 1
}
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
spec() { # instances
  cat > "$BENCH/spec/flotilla.yaml" <<YAML
name: cpbench
zones: [a, b, c]
services:
  reviews:
    command: [python3, "\${ARTIFACT}/app.py", "\${PORT}"]
    files: $ROOT/examples/shop/services/Reviews
    instances: $1
    http: { health: /healthz, ready: /ready }
  idle:
    command: [python3, "\${ARTIFACT}/app.py", "\${PORT}"]
    files: $ROOT/examples/shop/services/Reviews
    instances: 0
    env: { GENERATION: "${2:-0}" }
YAML
}
mkdir -p "$BENCH/spec"; spec 50
log "server up, 50 instances"
start_server
wait_for "the server" grep -q "listening on" "$BENCH/server.log"
"${FLOTILLA[@]}" apply -f "$BENCH/spec" --wait > /dev/null
URL=$(python3 -c "import json;print(json.load(open('$FLOTILLA_CONFIG'))['server'])")
TOKEN=$(python3 -c "import json;print(json.load(open('$FLOTILLA_CONFIG'))['token'])")

echo "# API latency (hey -z ${DUR}s), 50 instances in the status; medians of $REPS reps"
curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/status" > "$BENCH/status.json"
mkdir -p "$BENCH/www"; cp "$BENCH/status.json" "$BENCH/www/status.json"
chmod a+rx "$BENCH" "$BENCH/www"; chmod a+r "$BENCH/www/status.json"   # nginx workers run as www-data
cat > "$BENCH/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $BENCH/nginx.pid; error_log $BENCH/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:8092; root $BENCH/www; } }
NGINX
nginx -c "$BENCH/nginx.conf" & nginx_pid=$!
wait_for "nginx" curl -sf http://127.0.0.1:8092/status.json
python3 - "$BENCH/spec/flotilla.yaml" > "$BENCH/apply.json" <<'PY'
import json, sys
print(json.dumps({"spec": open(sys.argv[1]).read(), "file": sys.argv[1]}))
PY
hey_row() { # label, hey args...
  local label="$1"; shift
  for r in $(seq 1 "$REPS"); do
    hey -z "${DUR}s" "$@" > "$BENCH/hey.txt"
    python3 - "$label" "$BENCH/hey.txt" <<'PY'
import re, sys
text = open(sys.argv[2]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
pct = {m.group(1): float(m.group(2)) * 1000 for m in re.finditer(r"\s(\d+)%+ in ([\d.]+) secs", text)}
codes = " ".join(f"{c}x{n}" for c, n in re.findall(r"\[(\d+)\]\s+(\d+) responses", text))
print(f"{sys.argv[1]}\t{rps:.0f}\t{pct.get('50', 0):.2f}\t{pct.get('99', 0):.2f}\t{codes}")
PY
  done | sort -t$'\t' -k2 -n | awk -F'\t' -v n="$REPS" 'NR == int((n + 1) / 2)'
}
echo -e "what\treq/s\tp50_ms\tp99_ms\tstatus codes"
for c in 1 8; do
  hey_row "nginx, same JSON, c=$c" -c "$c" http://127.0.0.1:8092/status.json
  hey_row "GET /v1/status, c=$c" -c "$c" -H "Authorization: Bearer $TOKEN" "$URL/v1/status"
  hey_row "POST /v1/apply unchanged, c=$c" -c "$c" -m POST -T application/json -D "$BENCH/apply.json" -H "Authorization: Bearer $TOKEN" "$URL/v1/apply"
done

echo "# changing apply (a new revision each, written with fsync), sequential, 20 applies"
for g in $(seq 1 20); do
  spec 50 "$g"
  python3 -c "import json,sys;print(json.dumps({'spec': open('$BENCH/spec/flotilla.yaml').read(), 'file': '$BENCH/spec/flotilla.yaml'}))" > "$BENCH/change.json"
  curl -s -o /dev/null -w "%{time_total}\n" -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" --data-binary "@$BENCH/change.json" "$URL/v1/apply"
done | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "p50 %.1f ms, max %.1f ms\n", t[int((NR + 1) / 2)], t[NR] }'

echo "# kill -9 of the server with 50 instances, under hey -c4 through the reviews endpoint: start of the new server -> all re-adopted"
ENDPOINT=$(curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/status" | python3 -c "import json,sys;print([s['endpoint'] for s in json.load(sys.stdin)['services'] if s['name']=='reviews'][0])")
echo -e "rep\tadopted\trecover_ms\tspawn_to_adopted_ms\trequests during (status codes, errors)"
for r in $(seq 1 "$REPS"); do
  hey -z 6s -c 4 "$ENDPOINT/" > "$BENCH/hey-kill.txt" 2>&1 & hey_pid=$!
  sleep 1
  kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
  sleep 1   # no control plane at all for a second
  : > "$BENCH/server.log"
  t0=$(date +%s%N); start_server
  wait_for "re-adoption" grep -q "re-adopted" "$BENCH/server.log"
  t1=$(date +%s%N)
  line=$(grep -m1 "re-adopted" "$BENCH/server.log")
  wait "$hey_pid" || true
  codes=$(grep -E '^\s+\[[0-9]+\]\s+[0-9]+ responses' "$BENCH/hey-kill.txt" | awk '{printf "%s%s", $1, $2 " "}')
  errors=$(awk '/Error distribution/ { on = 1; next } on && /\[/ { sum += substr($1, 2, length($1) - 2) } END { print sum + 0 }' "$BENCH/hey-kill.txt")
  echo -e "$r\t$(echo "$line" | awk '{print $3 " of " $5}')\t$(echo "$line" | grep -o '[0-9]* ms' | cut -d' ' -f1)\t$(( (t1 - t0) / 1000000 ))\t${codes}errors=$errors"
done

echo "# resident memory with 100 instances running"
"${FLOTILLA[@]}" scale reviews=100 > /dev/null
wait_for "100 ready instances" sh -c "\"${FLOTILLA[0]}\" \"${FLOTILLA[1]}\" diff"
sleep 5
router_pid=$(python3 -c "import json;print(json.load(open('$BENCH/data/router.json'))['pid'])")
echo -e "control plane (flotilla server)\t$(rss_mb "$server_pid") MB"
echo -e "router process\t$(rss_mb "$router_pid") MB"
echo "raw output: $BENCH"
