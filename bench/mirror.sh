#!/usr/bin/env bash
# A parallel run's cost to clients, in one run: wrk -> Flotilla's router in front of 2 instances of
# the peers' AnchorApp, without mirroring and with every GET mirrored to a third (candidate)
# instance and compared (100% sampling). Same wrk settings for both, alternating, REPS times.
#   bench/mirror.sh [REPS=3]          (DUR=15 seconds per cell)
# saturate: wrk -t2 -c64 --latency; moderate: the same with 20 ms think time per connection (~3k req/s).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$PEERS/lib.sh"                      # wrk_summary, med_range, log
REPS="${1:-3}"; DUR="${DUR:-15}"; MOD_DELAY_MS="${MOD_DELAY_MS:-20}"
BENCH="$(mktemp -d /tmp/flotilla-mirror-bench.XXXXXX)"
OUT="$BENCH/results"; mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
for port in 5011 5012 5013 8095 8096; do
  if ss -ltn "sport = :$port" | grep -q LISTEN; then echo "port $port is busy" >&2; exit 1; fi
done
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$BENCH/build"; }
trap cleanup EXIT; trap 'exit 130' INT TERM

log "publishing the app and building the bench (Release)"
dotnet publish "$PEERS/app/AnchorApp.csproj" -c Release -o "$BENCH/app" --artifacts-path "$BENCH/build" -v q --nologo >/dev/null
dotnet build -c Release "$ROOT/bench/Flotilla.Bench" -v q --nologo >/dev/null
BIN="$ROOT/bench/Flotilla.Bench/bin/Release/net10.0/Flotilla.Bench"
for port in 5011 5012 5013; do
  version=v1; [ "$port" = 5013 ] && version=v2
  (cd "$BENCH/app" && ASPNETCORE_URLS="http://127.0.0.1:$port" APP_VERSION=$version exec ./AnchorApp) > "$OUT/app-$port.log" 2>&1 &
  pids+=($!)
done
"$BIN" router-only 8095 5011 5012 > "$OUT/off.log" 2>&1 & off_pid=$!; pids+=($off_pid)
"$BIN" router-only 8096 --mirror-to 5013 5011 5012 > "$OUT/on.log" 2>&1 & on_pid=$!; pids+=($on_pid)
for url in http://127.0.0.1:5013/ http://127.0.0.1:8095/ http://127.0.0.1:8096/; do
  for _ in $(seq 100); do curl -fs -m 1 "$url" >/dev/null && break; sleep 0.1; done
done
declare -A URL=([off]=http://127.0.0.1:8095/ [on]=http://127.0.0.1:8096/)
to_ms() { awk '{v=$1; if (v ~ /us$/) x=v/1000; else if (v ~ /ms$/) x=v+0; else if (v ~ /s$/) x=v*1000; printf "%.3f", x}' <<<"$1"; }

log "warm-up"
for t in off on; do wrk -t2 -c64 -d10s "${URL[$t]}" >/dev/null; done
printf 'load\tmirroring\trep\trequests\trps\tp50_ms\tp99_ms\terrors\n' > "$OUT/runs.tsv"
for rep in $(seq "$REPS"); do
  for load in saturate moderate; do
    for t in off on; do
      f="$OUT/wrk-$load-$t-$rep.txt"; script=(); [ "$load" = moderate ] && script=(-s "$PEERS/wrk/paced.lua")
      WRK_DELAY_MS="$MOD_DELAY_MS" wrk -t2 -c64 -d"$DUR"s --timeout 2s --latency "${script[@]}" "${URL[$t]}" > "$f" 2>&1
      read -r req non c r w to rps < <(wrk_summary "$f")
      p50=$(to_ms "$(awk '$1=="50%"{print $2}' "$f")"); p99=$(to_ms "$(awk '$1=="99%"{print $2}' "$f")")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$load" "$t" "$rep" "$req" "$rps" "$p50" "$p99" "$((non + c + r + w + to))" >> "$OUT/runs.tsv"
      log "$load $t rep $rep: $rps req/s p50 $p50 ms p99 $p99 ms"
    done
  done
done
kill -TERM "$on_pid" "$off_pid"; wait "$on_pid" "$off_pid" 2>/dev/null || true
echo; echo "| load | mirroring | req/s (median) | p50 ms | p99 ms | errors |"; echo "|---|---|---|---|---|---|"
for load in saturate moderate; do for t in off on; do
  rows=$(awk -v l="$load" -v t="$t" -F'\t' '$1==l && $2==t' "$OUT/runs.tsv")
  med() { cut -f"$1" <<<"$rows" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  echo "| $load | $t | $(med 5) | $(med 6) | $(med 7) | $(cut -f8 <<<"$rows" | paste -sd+ | bc) |"
done; done
echo; grep -h "mirrored:" "$OUT/on.log" || true
echo "raw: $OUT"
