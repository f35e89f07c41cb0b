#!/usr/bin/env bash
# A proxy's own crash and upgrade under load, in one run: 8 keep-alive connections of steady GETs
# (the bench's own load generator, which keeps every request's outcome), and at 4 s of 12:
#   flotilla-kill    kill -9 of the router's worker (its supervisor holds the sockets)
#   flotilla-reload  flotilla reload-router (a new worker beside the old one, which drains)
#   nginx-kill       kill -9 of one nginx worker (its master holds the sockets)
# Failed requests by kind (refused, 5xx, other: reset or ended), the longest time without a
# successful answer, and the time until the rate is back to 90% of what it was.
# ENGINE=haproxy: Flotilla's router is HAProxy (--router-engine haproxy); flotilla-kill is then
# kill -9 of HAProxy's current worker (the youngest child of its master).
#   [ENGINE=haproxy] bench/router-crash.sh [REPS=3]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$ROOT/bench/lib.sh"                 # bench_init, start_flotilla, ...; the peers' med_range, log
REPS="${1:-3}"
command -v nginx >/dev/null || { apt-get update -qq; apt-get install -y -qq nginx >/dev/null; }
require_free_ports 5001 5002 8081 8090
bench_init crash
LOAD=(dotnet "$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench.dll" disruption)

log "publishing the app and building Flotilla and the bench (Release)"
dotnet build -c Release "$ROOT/bench/Flotilla.Bench" -v q --nologo >/dev/null
start_anchor_setup crashbench
if [ "${ENGINE:-yarp}" = haproxy ]; then
  master_pid="$BENCH/state/haproxy/haproxy.pid"   # read at each kill: a killed worker takes its master along, Flotilla starts another
  KILL_FLOTILLA="kill -9 \$(ps -o pid=,etimes= --ppid \$(cat $master_pid) | sort -k2 -n | awk 'NR==1{print \$1}')"
else
  supervisor=$(router_supervisor)
  KILL_FLOTILLA="kill -9 \$(ps -o pid= --ppid $supervisor | head -1)"
fi

# Each disruption acts on whatever process serves at that moment (by pid, never by name).
declare -A URL=([flotilla-kill]=http://127.0.0.1:8090/ [flotilla-reload]=http://127.0.0.1:8090/ [nginx-kill]=http://127.0.0.1:8081/)
declare -A RUN=(
  [flotilla-kill]="$KILL_FLOTILLA"
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
  echo "# router crash and reload under load (flotilla's router engine: ${ENGINE:-yarp}): $REPS reps, 8 keep-alive connections, disruption at 4 s of 12; median [min..max]"
  echo "| disruption | ok | failed | refused | 5xx | other | longest gap ms | ms to 90% rate |"
  echo "|---|---|---|---|---|---|---|---|"
  for t in flotilla-kill flotilla-reload nginx-kill; do
    col() { awk -F'\t' -v t="$t" -v c="$1" 'NR>1 && $1==t && $c != "never" {print $c}' "$OUT/runs.tsv" | med_range; }
    echo "| $t | $(col 3) | $(col 4) | $(col 5) | $(col 6) | $(col 7) | $(col 8) | $(col 9) |"
  done
  echo "raw: $OUT"
} | tee "$OUT/summary.md"
