#!/usr/bin/env bash
# The control plane's memory with the dashboard open: a real `flotilla server` (Release) running 100 instances,
# its resident memory sampled every second for SECONDS without a dashboard, then for SECONDS with TABS
# dashboards open in Debian's Chromium (overview, instances, events, releases, each following the live
# streams), side by side and as a ratio. Target (DESIGN.md): under 150 MB with 100 instances.
#   bench/dashboard.sh [TABS=4] [SECONDS=60]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TABS="${1:-4}"; SECONDS_EACH="${2:-60}"
BENCH="$(mktemp -d /tmp/flotilla-ui-bench.XXXXXX)"
export FLOTILLA_CONFIG="$BENCH/config.json"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
[ -x /usr/bin/chromium ] || { apt-get update -qq; apt-get install -y -qq chromium >/dev/null; }

dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
dotnet build -c Release "$ROOT/bench/Flotilla.Bench" -v q --nologo >/dev/null
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$BENCH/data/artifacts" "$BENCH/data/instances"
}
trap cleanup EXIT; trap 'exit 130' INT TERM
mkdir -p "$BENCH/spec"
cat > "$BENCH/spec/flotilla.yaml" <<YAML
name: uibench
zones: [a, b, c]
services:
  reviews:
    command: [python3, "\${ARTIFACT}/app.py", "\${PORT}"]
    files: $ROOT/examples/shop/services/Reviews
    instances: 100
    http: { health: /healthz, ready: /ready }
YAML
"${FLOTILLA[@]}" server --data "$BENCH/data" --listen 127.0.0.1:0 > "$BENCH/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 600); do grep -q "listening on" "$BENCH/server.log" && break; sleep 0.1; done
log "applying 100 instances"
"${FLOTILLA[@]}" apply -f "$BENCH/spec" --wait > /dev/null
URL=$(python3 -c "import json;print(json.load(open('$FLOTILLA_CONFIG'))['server'])")
TOKEN=$(python3 -c "import json;print(json.load(open('$FLOTILLA_CONFIG'))['token'])")
sleep 5

sample() { # seconds -> "median max" of VmRSS in MB
  for _ in $(seq 1 "$1"); do awk '/VmRSS/ { printf "%.1f\n", $2 / 1024 }' "/proc/$server_pid/status"; sleep 1; done \
    | sort -n | awk '{ v[NR] = $1 } END { printf "%s %s\n", v[int((NR + 1) / 2)], v[NR] }'
}
log "no dashboard: sampling ${SECONDS_EACH}s"
read -r idle_med idle_max < <(sample "$SECONDS_EACH")
log "$TABS dashboards open: sampling ${SECONDS_EACH}s"
dotnet "$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll" dashboard "$URL" "$TOKEN" --tabs "$TABS" --seconds "$((SECONDS_EACH + 10))" > "$BENCH/browse.txt" &
browse_pid=$!
sleep 10   # the tabs sign in and settle
read -r open_med open_max < <(sample "$SECONDS_EACH")
wait "$browse_pid"
echo "# flotilla server resident memory (MB), 100 instances, samples every 1 s for ${SECONDS_EACH}s"
echo -e "case\tmedian\tmax"
echo -e "no dashboard\t$idle_med\t$idle_max"
echo -e "$TABS dashboards open\t$open_med\t$open_max"
python3 -c "print(f'ratio open/none (max)\t{$open_max / $idle_max:.2f}')"
cat "$BENCH/browse.txt"
echo "raw output: $BENCH"
