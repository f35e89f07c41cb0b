#!/usr/bin/env bash
# Rolling update v1 -> v2 of 3 instances under steady load, Flotilla and Docker Swarm in one run,
# the same app (the peers' AnchorApp) and the same load (hey -c64 -q16 ≈ 1k req/s, as the peers' scripts).
#   bench/rolling.sh [REPS=3] [SWARM=yes|no]     (DUR=45 s per run, the update issued 5 s in;
#   RUNTIME=docker runs Flotilla's instances as containers on the same engine as Swarm's tasks)
# Flotilla: `flotilla server` + its router process; `flotilla apply` of the spec with APP_VERSION=v2;
# converged: from the apply event to the "rollout ... complete" event in the server (its own view, as
# Swarm's is from docker events), and as a user waits it (`apply` CLI to `rollout status` returning). Also at saturation
# (hey -q 0). Swarm: ../shared/bench-peers/swarm-rolling.sh (start-first, its best), after setup-docker.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$PEERS/lib.sh"                      # hey_summary, med_range, log
REPS="${1:-3}"; SWARM="${2:-yes}"; DUR="${DUR:-45}"; LEAD=5; RUNTIME="${RUNTIME:-local}"
BENCH="$(mktemp -d /tmp/flotilla-rolling-bench.XXXXXX)"; OUT="$BENCH/results"; mkdir -p "$OUT"
export FLOTILLA_CONFIG="$BENCH/config.json"
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
command -v hey >/dev/null || { apt-get update -qq; apt-get install -y -qq hey >/dev/null; }
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$BENCH/state" "$BENCH/build"
}
trap cleanup EXIT; trap 'exit 130' INT TERM

log "publishing the app and building Flotilla (Release)"
dotnet publish "$PEERS/app/AnchorApp.csproj" -c Release -o "$BENCH/app" --artifacts-path "$BENCH/build" -v q --nologo >/dev/null
dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
spec() { # version
  # On docker the app is a file artifact (in the image at /artifact); locally the published apphost runs as is.
  local run="command: [$BENCH/app/AnchorApp]"
  [ "$RUNTIME" = docker ] && run="command: [dotnet, \"\${ARTIFACT}/AnchorApp.dll\"]
    files: $BENCH/app"
  cat > "$BENCH/flotilla.yaml" <<YAML
name: rollingbench
runtime: $RUNTIME
services:
  app:
    $run
    instances: 3
    http: { port: 8093, health: /healthz }
    env: { APP_VERSION: $1 }
YAML
}
"${FLOTILLA[@]}" server --data "$BENCH/state" --listen 127.0.0.1:0 > "$OUT/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do grep -q 'listening on' "$OUT/server.log" && break; sleep 0.1; done

printf 'load\trep\trequests\tnon2xx\tconnect\tread\twrite\ttimeout\trps\tconverged_s\tcli_wall_s\n' > "$OUT/runs.tsv"
for rep in $(seq "$REPS"); do
  for load in steady saturate; do
    qps=16; [ "$load" = saturate ] && qps=0
    spec v1; "${FLOTILLA[@]}" apply -f "$BENCH" --wait > /dev/null
    hey -z 3s -c 16 http://127.0.0.1:8093/ > /dev/null    # warm-up
    hey -z "${DUR}s" -c 64 -q "$qps" -t 2 http://127.0.0.1:8093/ > "$OUT/hey-$load-$rep.txt" 2>&1 & hey_pid=$!
    sleep "$LEAD"
    since=$("${FLOTILLA[@]}" events -o json --since 0 | tail -1 | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['sequence'])")
    spec v2; t0=$(date +%s%N)
    "${FLOTILLA[@]}" apply -f "$BENCH" > /dev/null
    "${FLOTILLA[@]}" rollout status app > "$OUT/rollout-$load-$rep.txt" 2>&1
    t1=$(date +%s%N)
    wait "$hey_pid" || true
    read -r req non c r w t rps < <(hey_summary "$OUT/hey-$load-$rep.txt")
    inside=$("${FLOTILLA[@]}" events -o json --since "$since" | python3 -c '
import json, sys
from datetime import datetime
events = [json.loads(line) for line in sys.stdin if line.strip()]
at = lambda e: datetime.fromisoformat(e["at"])
applied = next(e for e in events if " applied by " in e["message"])
done = next(e for e in events if e["message"].startswith("rollout to revision") and "complete" in e["message"])
print(f"{(at(done) - at(applied)).total_seconds():.2f}")')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$load" "$rep" "$req" "$non" "$c" "$r" "$w" "$t" "$rps" "$inside" \
      "$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')" | tee -a "$OUT/runs.tsv" >&2
  done
done

swarm_summary="(not run)"
if [ "$SWARM" = yes ]; then
  log "Docker Swarm, same app and load (start-first)"
  # The peers' images are built on a static busybox (Debian's plain busybox needs libresolv in the image).
  file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || { apt-get update -qq; apt-get install -y -qq busybox-static file >/dev/null; }
  "$PEERS/setup-docker.sh" >&2
  DUR="$DUR" "$PEERS/swarm-rolling.sh" "$REPS" startfirst > "$OUT/swarm.txt" 2>&1 || true
  swarm_summary=$(cat "$OUT/swarm.txt")
fi

{
  echo "# rolling update v1 -> v2 of 3 instances, $REPS reps x ${DUR}s, update issued ${LEAD}s in; median [min..max]"
  echo "| load | requests | non-2xx | socket errors | converged s (server) | apply CLI to rollout status done s |"
  echo "|---|---|---|---|---|---|"
  for load in steady saturate; do
    col() { awk -F'\t' -v l="$load" -v c="$1" 'NR>1 && $1==l {print $c}' "$OUT/runs.tsv" | med_range; }
    errs() { awk -F'\t' -v l="$load" 'NR>1 && $1==l {print $5+$6+$7+$8}' "$OUT/runs.tsv" | med_range; }
    echo "| flotilla ($RUNTIME) $load | $(col 3) | $(col 4) | $(errs) | $(col 10) | $(col 11) |"
  done
  echo
  echo "## Docker Swarm (../shared/bench-peers/swarm-rolling.sh $REPS startfirst)"
  echo "$swarm_summary" | tail -15
  echo "raw: $OUT"
} | tee "$OUT/summary.md"
