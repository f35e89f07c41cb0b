#!/usr/bin/env bash
# Router engines side by side, in one run (issue 14, part 3): wrk -> the app directly / nginx /
# HAProxy (plain, the peers' config) / the same HAProxy in a session of its own (as `haproxy -D`'s
# setsid puts it: a scheduler autogroup of its own; the control for what cost the engine a third) /
# Flotilla with its embedded router (YARP) / Flotilla with --router-engine haproxy. Two AnchorApp
# instances behind each proxy (Flotilla runs its own), the same wrk settings, as ratios to nginx.
#   bench/router-engines.sh [REPS=3]          (DUR=15 seconds per cell)
#   LOADS="moderate" ONLY="direct nginx flotilla-haproxy" bench/router-engines.sh 12
#                                             only those cells: many reps of the added p99, for a paired comparison
# Each rep runs the targets in a rotated order (rep 2 starts with the second target, ...), so no target
# always runs first after the other load; the summary also gives each target's p99 minus nginx's of the
# same rep (paired: the machine's drift over minutes cancels out).
# saturate: wrk -t2 -c64 --latency; moderate: the same with 20 ms think time per connection (~3k req/s).
# wrk, proxies and apps share the machine's 2 cores. The load average is recorded with the figures.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$ROOT/bench/lib.sh"
REPS="${1:-3}"; DUR="${DUR:-15}"; MOD_DELAY_MS="${MOD_DELAY_MS:-20}"
for tool in wrk nginx haproxy; do command -v "$tool" >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk nginx haproxy >/dev/null; }; done
# BEFORE=path/to/flotilla.dll (another build, Release): its HAProxy engine too, as flotilla-haproxy-before (port 8092).
BEFORE="${BEFORE:-}"
require_free_ports 5001 5002 8081 8082 8083 8090 8091 8092
bench_init router-engines
declare -A HX_PID=() HX_CLI=()
engines_cleanup() {
  local name
  for name in "${!HX_PID[@]}"; do
    FLOTILLA_CONFIG="$BENCH/config-$name.json" ${HX_CLI[$name]} shutdown --stop-all >/dev/null 2>&1 || true; wait "${HX_PID[$name]}" 2>/dev/null || true
    rm -rf "$BENCH/state-$name"
  done
  bench_cleanup
}
# start_hx NAME PORT CLI...: a server of its own (data directory, client config, spec on PORT) with --router-engine haproxy.
start_hx() {
  local name=$1 port=$2; shift 2
  sed -e "s/^name: .*/name: routerbench-$name/" -e "s/port: 8090/port: $port/" "$BENCH/flotilla.yaml" > "$BENCH/flotilla-$name.yaml"
  FLOTILLA_CONFIG="$BENCH/config-$name.json" "$@" server --data "$BENCH/state-$name" --listen 127.0.0.1:0 --router-engine haproxy > "$OUT/flotilla-$name.log" 2>&1 &
  HX_PID[$name]=$!; HX_CLI[$name]="$*"
  for _ in $(seq 300); do grep -q 'listening on' "$OUT/flotilla-$name.log" && break; sleep 0.1; done
  FLOTILLA_CONFIG="$BENCH/config-$name.json" "$@" apply -f "$BENCH/flotilla-$name.yaml" --wait > "$OUT/apply-$name.log" 2>&1 || { cat "$OUT/flotilla-$name.log" "$OUT/apply-$name.log" >&2; exit 1; }
}
trap engines_cleanup EXIT

log "publishing the app and building Flotilla (Release)"
start_anchor_setup routerbench          # apps on 5001/5002, nginx on 8081, Flotilla (YARP) on 8090
router_pid=$(router_supervisor)
# HAPROXY_GLOBAL="nbthread 1": extra global lines for plain HAProxy (a tuning tried before it goes into the engine).
awk -v extra="${HAPROXY_GLOBAL:-}" '{ print } /^global$/ && extra != "" { print "    " extra }' "$PEERS/conf/haproxy-baseline.cfg" > "$BENCH/haproxy-baseline.cfg"
[ -z "${HAPROXY_GLOBAL:-}" ] || grep -qxF "    $HAPROXY_GLOBAL" "$BENCH/haproxy-baseline.cfg" || { echo "HAPROXY_GLOBAL was not put into the config (no 'global' line?)" >&2; exit 2; }
haproxy -W -f "$BENCH/haproxy-baseline.cfg" > "$OUT/haproxy.log" 2>&1 &
hap_pid=$!; pids+=($hap_pid)
# The same config and binary in a session (so a scheduler autogroup) of its own, as `haproxy -D` puts itself.
sed 's/127.0.0.1:8082/127.0.0.1:8083/' "$BENCH/haproxy-baseline.cfg" > "$BENCH/haproxy-own-session.cfg"
setsid haproxy -W -f "$BENCH/haproxy-own-session.cfg" -p "$BENCH/haproxy-own-session.pid" > "$OUT/haproxy-own-session.log" 2>&1 < /dev/null &
pids+=($!)
# The second server (endpoint 8091), and the BEFORE build's (8092).
start_hx hx 8091 "${FLOTILLA[@]}"
hx_master=$(cat "$BENCH/state-hx/haproxy/haproxy.pid")
if [ -n "$BEFORE" ]; then start_hx before 8092 dotnet "$BEFORE"; hx_before_master=$(cat "$BENCH/state-before/haproxy/haproxy.pid"); fi
wait_for_urls http://127.0.0.1:8082/ http://127.0.0.1:8083/ http://127.0.0.1:8091/ ${BEFORE:+http://127.0.0.1:8092/}
hap_own_pid=$(cat "$BENCH/haproxy-own-session.pid"); pids+=($hap_own_pid)

TARGETS=(direct nginx haproxy haproxy-own-session flotilla-yarp flotilla-haproxy)
LOADS=(${LOADS:-saturate moderate})
for load in "${LOADS[@]}"; do case $load in saturate|moderate) ;; *) echo "LOADS: '$load' is neither saturate nor moderate" >&2; exit 2;; esac; done
declare -A URL=([direct]=http://127.0.0.1:5001/ [nginx]=http://127.0.0.1:8081/ [haproxy]=http://127.0.0.1:8082/ [haproxy-own-session]=http://127.0.0.1:8083/
                [flotilla-yarp]=http://127.0.0.1:8090/ [flotilla-haproxy]=http://127.0.0.1:8091/ [flotilla-haproxy-before]=http://127.0.0.1:8092/)
declare -A PROXY=([direct]="" [nginx]=$ngx_pid [haproxy]=$hap_pid [haproxy-own-session]=$hap_own_pid [flotilla-yarp]=$router_pid [flotilla-haproxy]=$hx_master [flotilla-haproxy-before]=${hx_before_master:-})
if [ -n "$BEFORE" ]; then TARGETS+=(flotilla-haproxy-before); fi
if [ -n "${ONLY:-}" ]; then
  TARGETS=($ONLY)
  for t in "${TARGETS[@]}"; do [ -n "${URL[$t]:-}" ] || { echo "ONLY: no target '$t' (known: ${!URL[*]})" >&2; exit 2; }; done
fi
ticks() { local sum=0 p c; for p in "$@"; do
            for c in $p $(ps -o pid= --ppid "$p" 2>/dev/null); do
              [ -r "/proc/$c/stat" ] && sum=$((sum + $(awk '{print $14+$15}' "/proc/$c/stat")))
            done; done; echo "$sum"; }
to_ms() { awk '{v=$1; if (v ~ /us$/) x=v/1000; else if (v ~ /ms$/) x=v+0; else if (v ~ /s$/) x=v*1000; printf "%.3f", x}' <<<"$1"; }

log "warm-up (JIT: a fresh .NET proxy runs slower for its first seconds)"
for t in "${TARGETS[@]}"; do wrk -t2 -c64 -d5s "${URL[$t]}" >/dev/null; done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
printf 'load\ttarget\trep\trequests\trps\tp50_ms\tp99_ms\terrors\tproxy_cpu_s\tcpu_us_per_req\n' > "$OUT/runs.tsv"
for rep in $(seq "$REPS"); do
  for load in "${LOADS[@]}"; do
    n=${#TARGETS[@]}
    for i in $(seq 0 $((n - 1))); do
      t=${TARGETS[$(((i + rep - 1) % n))]}
      f="$OUT/wrk-$load-$t-$rep.txt"; script=(); [ "$load" = moderate ] && script=(-s "$PEERS/wrk/paced.lua")
      p0=0; [ -n "${PROXY[$t]}" ] && p0=$(ticks "${PROXY[$t]}")
      WRK_DELAY_MS="$MOD_DELAY_MS" wrk -t2 -c64 -d"$DUR"s --timeout 2s --latency "${script[@]}" "${URL[$t]}" > "$f" 2>&1
      p1=0; [ -n "${PROXY[$t]}" ] && p1=$(ticks "${PROXY[$t]}")
      read -r req non c r w to rps < <(wrk_summary "$f")
      p50=$(to_ms "$(awk '$1=="50%" {print $2}' "$f")"); p99=$(to_ms "$(awk '$1=="99%" {print $2}' "$f")")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$load" "$t" "$rep" "$req" "$rps" "$p50" "$p99" "$((non+c+r+w+to))" \
        "$(awk -v d=$((p1-p0)) 'BEGIN{printf "%.2f", d/100}')" \
        "$(awk -v d=$((p1-p0)) -v n="$req" 'BEGIN{ if (n>0) printf "%.1f", d*10000/n; else print "-" }')" | tee -a "$OUT/runs.tsv" >&2
    done
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "# router engines: $REPS reps x ${DUR}s per cell, wrk -t2 -c64 --latency; moderate = ${MOD_DELAY_MS} ms think time; median [min..max]"
  echo "# load average before / after: $load_before / $load_after (2 cores)"
  echo "| load | target | req/s | p50 ms | p99 ms | errors | proxy CPU µs/req |"
  echo "|---|---|---|---|---|---|---|"
  for load in "${LOADS[@]}"; do for t in "${TARGETS[@]}"; do
    col() { awk -F'\t' -v l="$load" -v t="$t" -v c="$1" 'NR>1 && $1==l && $2==t {print $c}' "$OUT/runs.tsv" | med_range; }
    echo "| $load | $t | $(col 5) | $(col 6) | $(col 7) | $(col 8) | $(col 10) |"
  done; done
  med() { awk -F'\t' -v l="$1" -v t="$2" -v c="$3" 'NR>1 && $1==l && $2==t {print $c}' "$OUT/runs.tsv" | med_range | cut -d' ' -f1; }
  echo
  # Paired: each target's moderate p99 minus nginx's in the same rep.
  for t in "${TARGETS[@]}"; do
    [ "$t" = nginx ] || [ "$t" = direct ] && continue
    awk -F'\t' -v t="$t" 'NR>1 && $1=="moderate" && $7 ~ /^[0-9.]+$/ && $2=="nginx" {n[$3]=$7} NR>1 && $1=="moderate" && $7 ~ /^[0-9.]+$/ && $2==t {x[$3]=$7}
      END { for (r in x) if (r in n) { print x[r] - n[r] } }' "$OUT/runs.tsv" > "$OUT/paired-$t.txt"
    [ -s "$OUT/paired-$t.txt" ] || continue
    echo "$t p99 minus nginx's, same rep (moderate): $(med_range < "$OUT/paired-$t.txt") ms; at or below nginx in $(awk '$1 <= 0' "$OUT/paired-$t.txt" | wc -l) of $(wc -l < "$OUT/paired-$t.txt") reps"
  done
  [[ " ${LOADS[*]} " == *" saturate "* ]] || { echo "raw: $OUT"; exit 0; }
  for t in "${TARGETS[@]}"; do
    [ "$t" = nginx ] || [ "$t" = direct ] && continue
    awk -v t="$t" -v f="$(med saturate "$t" 5)" -v n="$(med saturate nginx 5)" -v fc="$(med saturate "$t" 10)" -v nc="$(med saturate nginx 10)" \
      -v fp="$(med moderate "$t" 7)" -v np="$(med moderate nginx 7)" -v d="$(med moderate direct 7)" \
      'BEGIN { printf "%s / nginx: throughput %.2f, CPU per request %.2f; added p99 at moderate load +%.2f ms (nginx +%.2f ms)\n", t, f / n, fc / nc, fp - d, np - d }'
  done
  echo "raw: $OUT"
} | tee "$OUT/summary.md"
