#!/usr/bin/env bash
# "Any program works": three instances of python's http.server (HTTP/1.0, a connection per request)
# behind Flotilla's router (flotilla server) and behind nginx (upstream of the same three ports,
# proxy_http_version 1.1, as in issue 14), hey -z 10s -c 8 against each in the same run.
# A proxy may answer 502 only when no instance could answer: here every instance can, always.
#   bench/router-http10.sh [REPS=3]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$ROOT/bench/lib.sh"                 # bench_init, start_flotilla, ...; the peers' med_range, log
REPS="${1:-3}"
for tool in hey nginx; do command -v "$tool" >/dev/null || { apt-get update -qq; apt-get install -y -qq hey nginx >/dev/null; }; done
require_free_ports 8190 8191
bench_init http10

cat > "$BENCH/flotilla.yaml" <<'YAML'
name: http10bench
services:
  web:
    command: [python3, -m, http.server, "${PORT}", --bind, 127.0.0.1]
    instances: 3
    http: { port: 8190 }
YAML
start_flotilla "$BENCH"
# nginx in front of the very same three instances (their ports from flotilla ps).
ports=$("${FLOTILLA[@]}" ps -o json | python3 -c "import json,sys; print(' '.join(str(i['port']) for i in json.load(sys.stdin)))")
mkdir -p "$BENCH/nginx/tmp"
{ echo "worker_processes auto; pid nginx.pid; error_log error.log warn; daemon off; events { worker_connections 1024; }"
  echo "http { access_log off; client_body_temp_path tmp/body; proxy_temp_path tmp/proxy; fastcgi_temp_path tmp/fastcgi; uwsgi_temp_path tmp/uwsgi; scgi_temp_path tmp/scgi;"
  echo "  upstream web {"; for p in $ports; do echo "    server 127.0.0.1:$p;"; done; echo "  }"
  echo "  server { listen 127.0.0.1:8191; location / { proxy_pass http://web; proxy_http_version 1.1; } } }"; } > "$BENCH/nginx/nginx.conf"
nginx -p "$BENCH/nginx/" -c "$BENCH/nginx/nginx.conf" > "$OUT/nginx.log" 2>&1 &
pids+=($!)
wait_for_urls http://127.0.0.1:8190/ http://127.0.0.1:8191/
declare -A URL=([flotilla]=http://127.0.0.1:8190/ [nginx]=http://127.0.0.1:8191/)
printf 'target\trep\trequests\trps\tnon2xx\terrors\n' > "$OUT/runs.tsv"
for rep in $(seq "$REPS"); do
  for t in flotilla nginx; do
    f="$OUT/hey-$t-$rep.txt"
    hey -z 10s -c 8 "${URL[$t]}" > "$f" 2>&1
    total=$(awk '/\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); n += $2} END {print n+0}' "$f")
    non2xx=$(awk '/\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); if ($1 !~ /^2/) n += $2} END {print n+0}' "$f")
    errors=$(awk '/Error distribution/ {on=1; next} on && /\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); n += $1} END {print n+0}' "$f")
    rps=$(awk '/Requests\/sec/ {print $2}' "$f")
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rep" "$total" "$rps" "$non2xx" "$errors" | tee -a "$OUT/runs.tsv" >&2
  done
done
{
  echo "# 3 x python3 -m http.server behind each proxy: $REPS reps of hey -z 10s -c 8; median [min..max]"
  echo "| proxy | answers | req/s | non-2xx | errors |"
  echo "|---|---|---|---|---|"
  for t in flotilla nginx; do
    col() { awk -F'\t' -v t="$t" -v c="$1" 'NR>1 && $1==t {print $c}' "$OUT/runs.tsv" | med_range; }
    echo "| $t | $(col 3) | $(col 4) | $(col 5) | $(col 6) |"
  done
  echo "raw: $OUT"
} | tee "$OUT/summary.md"
