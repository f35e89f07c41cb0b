#!/usr/bin/env bash
# The Docker runtime beside Docker Swarm on the same engine, with the same app (the peers' AnchorApp), in one run:
#   1. start-cost: an instance's start to ready and its stop, process vs container (Flotilla.Bench start-cost);
#   2. self-healing: kill -9 of one of 3 instances under ~1k req/s, Flotilla on local processes and on
#      containers (Flotilla.Bench selfheal, 10 reps each), then Swarm (../shared/bench-peers/swarm-selfheal.sh);
#   3. a rolling update of 3 instances under load: bench/rolling.sh with RUNTIME=docker, Swarm in the same run.
#   bench/docker.sh [SELFHEAL_REPS=10] [SWARM_REPS=3]
# Needs a running Docker Engine and 'flotilla image base'; the peers' setup-docker.sh makes the engine a
# one-node swarm for the Swarm runs (left a swarm afterwards; 'docker swarm leave --force' undoes it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
SELFHEAL_REPS="${1:-10}"; SWARM_REPS="${2:-3}"
OUT="$(mktemp -d /tmp/flotilla-docker-bench.XXXXXX)"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || { apt-get update -qq; apt-get install -y -qq busybox-static file >/dev/null; }

dotnet build -c Release "$ROOT/bench/Flotilla.Bench" -v q --nologo >/dev/null
dotnet run -c Release --project "$ROOT/src/Flotilla.Cli" -- image base >&2
BENCHBIN=(dotnet "$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll")
cd "$ROOT"   # Flotilla.Bench finds the peers' app relative to the repository root

log "start cost: process vs container"
"${BENCHBIN[@]}" start-cost --reps 10 | tee "$OUT/start-cost.txt"
for runtime in local docker; do
  log "self-healing, Flotilla on $runtime ($SELFHEAL_REPS reps)"
  ANCHOR_APP="$PEERS/app" PACED_LUA="$PEERS/wrk/paced.lua" "${BENCHBIN[@]}" selfheal --reps "$SELFHEAL_REPS" --runtime "$runtime" | tee "$OUT/selfheal-$runtime.txt"
done
log "self-healing, Docker Swarm ($SWARM_REPS reps)"
"$PEERS/setup-docker.sh" >&2
"$PEERS/build-images.sh" >/dev/null 2>&1
"$PEERS/swarm-selfheal.sh" "$SWARM_REPS" "default delay0" 2>/dev/null | tee "$OUT/selfheal-swarm.txt"
log "rolling update, Flotilla on docker and Swarm"
RUNTIME=docker "$ROOT/bench/rolling.sh" "$SWARM_REPS" yes 2>/dev/null | tee "$OUT/rolling.txt"
echo "raw: $OUT"
