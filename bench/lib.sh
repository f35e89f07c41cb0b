# Shared by the router benches: a work directory, Flotilla (Release) as a server with its router
# process, the peers' AnchorApp, and cleanup of everything started. Source after setting ROOT and PEERS.
#   bench_init NAME            BENCH and OUT (results) under /tmp; FLOTILLA_CONFIG of its own; cleanup on exit
#   require_free_ports PORT... exits when one is taken (another bench, a leftover)
#   publish_anchor_app         the peers' app, published into $BENCH/app
#   start_anchor_apps PORT...  one AnchorApp on each port (APP_VERSION=v1), ended at exit
#   start_flotilla SPECDIR     flotilla server on $BENCH/state, the spec applied with --wait
#   write_anchor_spec NAME     $BENCH/flotilla.yaml: 2 AnchorApp instances behind endpoint port 8090
#   start_nginx_baseline       the peers' nginx (port 8081 -> 5001, 5002); ngx_pid
#   start_anchor_setup NAME    all of the above for the three-way setup: 2 AnchorApps direct (5001, 5002), nginx (8081),
#                              Flotilla (8090) in front of 2 of its own; every URL answers when it returns
#   router_supervisor          pid of the router process (its supervisor; the worker is its child)
#   wait_for_urls URL...       each answers 2xx (10 s each at most)
source "$PEERS/lib.sh"                      # hey_summary, wrk_summary, med_range, log
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
pids=(); flotilla_pid=""

bench_init() {
  BENCH="$(mktemp -d "/tmp/flotilla-$1-bench.XXXXXX")"; OUT="$BENCH/results"; mkdir -p "$OUT"
  export FLOTILLA_CONFIG="$BENCH/config.json"
  trap bench_cleanup EXIT; trap 'exit 130' INT TERM
}

bench_cleanup() {
  if [ -n "$flotilla_pid" ]; then "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true; wait "$flotilla_pid" 2>/dev/null || true; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true
  rm -rf "$BENCH/state" "$BENCH/build"
}

require_free_ports() {
  for port in "$@"; do
    if ss -ltn "sport = :$port" | grep -q LISTEN; then echo "port $port is busy" >&2; exit 1; fi
  done
}

publish_anchor_app() {
  dotnet publish "$PEERS/app/AnchorApp.csproj" -c Release -o "$BENCH/app" --artifacts-path "$BENCH/build" -v q --nologo >/dev/null
}

start_anchor_apps() {
  for port in "$@"; do
    (cd "$BENCH/app" && ASPNETCORE_URLS="http://127.0.0.1:$port" APP_VERSION=v1 exec ./AnchorApp) > "$OUT/app-$port.log" 2>&1 &
    pids+=($!)
  done
}

start_flotilla() {
  dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
  # ENGINE=haproxy: the server drives HAProxy as its router engine (the default: the embedded router).
  "${FLOTILLA[@]}" server --data "$BENCH/state" --listen 127.0.0.1:0 --router-engine "${ENGINE:-yarp}" > "$OUT/flotilla.log" 2>&1 &
  flotilla_pid=$!
  for _ in $(seq 300); do grep -q 'listening on' "$OUT/flotilla.log" && break; sleep 0.1; done
  "${FLOTILLA[@]}" apply -f "$1" --wait > "$OUT/apply.log" 2>&1 || { cat "$OUT/flotilla.log" "$OUT/apply.log" >&2; exit 1; }
}

write_anchor_spec() {
  cat > "$BENCH/flotilla.yaml" <<YAML
name: $1
services:
  app:
    command: [$BENCH/app/AnchorApp]
    instances: 2
    http: { port: 8090, health: /healthz }
    env: { APP_VERSION: v1 }
YAML
}

start_nginx_baseline() {
  mkdir -p "$BENCH/nginx/tmp"
  nginx -p "$BENCH/nginx/" -c "$PEERS/conf/nginx-baseline.conf" > "$OUT/nginx.log" 2>&1 &
  ngx_pid=$!; pids+=($ngx_pid)
}

router_supervisor() { python3 -c "import json;print(json.load(open('$BENCH/state/router.json'))['pid'])"; }

wait_for_urls() {
  for url in "$@"; do
    for _ in $(seq 100); do curl -fs -m 1 "$url" >/dev/null && break; sleep 0.1; done
  done
}

start_anchor_setup() {
  publish_anchor_app
  write_anchor_spec "$1"
  start_anchor_apps 5001 5002
  start_nginx_baseline
  # Production form: `flotilla server` with its router as separate processes (what a team runs).
  start_flotilla "$BENCH"
  wait_for_urls http://127.0.0.1:5001/ http://127.0.0.1:8081/ http://127.0.0.1:8090/
}
