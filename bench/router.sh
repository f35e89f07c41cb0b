#!/usr/bin/env bash
# Router throughput and added latency, in one run: wrk -> the app directly / nginx / Flotilla's
# router, the same app (the peers' AnchorApp, 2 instances behind each proxy), same wrk settings.
#   bench/router.sh [REPS=3]          (DUR=15 seconds per cell)
# saturate: wrk -t2 -c64 --latency; moderate: the same with 20 ms think time per connection
# (~3k req/s). wrk, proxies and apps share the machine's 2 cores, as in ../shared/bench-peers.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$ROOT/bench/lib.sh"                 # bench_init, start_flotilla, ...; the peers' wrk_summary, med_range, log
REPS="${1:-3}"; DUR="${DUR:-15}"; MOD_DELAY_MS="${MOD_DELAY_MS:-20}"
for tool in wrk nginx; do command -v "$tool" >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk nginx >/dev/null; }; done
require_free_ports 5001 5002 8081 8090
bench_init router

log "publishing the app and building Flotilla (Release)"
start_anchor_setup routerbench
router_pid=$(router_supervisor)

declare -A URL=([direct]=http://127.0.0.1:5001/ [nginx]=http://127.0.0.1:8081/ [flotilla]=http://127.0.0.1:8090/)
declare -A PROXY=([direct]="" [nginx]=$ngx_pid [flotilla]=$router_pid)
ticks() { local sum=0 p c; for p in "$@"; do
            for c in $p $(ps -o pid= --ppid "$p" 2>/dev/null); do
              [ -r "/proc/$c/stat" ] && sum=$((sum + $(awk '{print $14+$15}' "/proc/$c/stat")))
            done; done; echo "$sum"; }
to_ms() { awk '{v=$1; if (v ~ /us$/) x=v/1000; else if (v ~ /ms$/) x=v+0; else if (v ~ /s$/) x=v*1000; printf "%.3f", x}' <<<"$1"; }

log "warm-up (JIT: a fresh .NET proxy runs slower for its first seconds)"
for t in direct nginx flotilla; do wrk -t2 -c64 -d10s "${URL[$t]}" >/dev/null; done
printf 'load\ttarget\trep\trequests\trps\tp50_ms\tp99_ms\terrors\tproxy_cpu_s\n' > "$OUT/runs.tsv"
for rep in $(seq "$REPS"); do
  for load in saturate moderate; do
    for t in direct nginx flotilla; do
      f="$OUT/wrk-$load-$t-$rep.txt"; script=(); [ "$load" = moderate ] && script=(-s "$PEERS/wrk/paced.lua")
      # Flotilla's proxy CPU is the router's supervisor and worker (the control plane is another process, idle here);
      # nginx's is its master and workers.
      p0=0; [ -n "${PROXY[$t]}" ] && p0=$(ticks "${PROXY[$t]}")
      WRK_DELAY_MS="$MOD_DELAY_MS" wrk -t2 -c64 -d"$DUR"s --timeout 2s --latency "${script[@]}" "${URL[$t]}" > "$f" 2>&1
      p1=0; [ -n "${PROXY[$t]}" ] && p1=$(ticks "${PROXY[$t]}")
      read -r req non c r w to rps < <(wrk_summary "$f")
      p50=$(to_ms "$(awk '$1=="50%" {print $2}' "$f")"); p99=$(to_ms "$(awk '$1=="99%" {print $2}' "$f")")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$load" "$t" "$rep" "$req" "$rps" "$p50" "$p99" "$((non+c+r+w+to))" \
        "$(awk -v d=$((p1-p0)) 'BEGIN{printf "%.2f", d/100}')" | tee -a "$OUT/runs.tsv" >&2
    done
  done
done

{
  echo "# router: $REPS reps x ${DUR}s per cell, wrk -t2 -c64 --latency; moderate = ${MOD_DELAY_MS} ms think time; median [min..max]"
  echo "| load | target | req/s | p50 ms | p99 ms | errors | proxy CPU s |"
  echo "|---|---|---|---|---|---|---|"
  for load in saturate moderate; do for t in direct nginx flotilla; do
    col() { awk -F'\t' -v l="$load" -v t="$t" -v c="$1" 'NR>1 && $1==l && $2==t {print $c}' "$OUT/runs.tsv" | med_range; }
    echo "| $load | $t | $(col 5) | $(col 6) | $(col 7) | $(col 8) | $(col 9) |"
  done; done
  med() { awk -F'\t' -v l="$1" -v t="$2" -v c="$3" 'NR>1 && $1==l && $2==t {print $c}' "$OUT/runs.tsv" | med_range | cut -d' ' -f1; }
  echo
  awk -v f="$(med saturate flotilla 5)" -v n="$(med saturate nginx 5)" 'BEGIN { printf "throughput flotilla / nginx: %.2f\n", f / n }'
  awk -v f="$(med moderate flotilla 7)" -v n="$(med moderate nginx 7)" -v d="$(med moderate direct 7)" \
    'BEGIN { printf "added p99 at moderate load: flotilla +%.2f ms, nginx +%.2f ms\n", f - d, n - d }'
  echo "raw: $OUT"
} | tee "$OUT/summary.md"
