#!/usr/bin/env bash
# Flotilla on a real multi-node Swarm beside the same Swarm used as a Swarm user would without Flotilla
# (dnsrr + HAProxy on the overlay network, as ../shared/bench-peers does), the same app (the peers'
# AnchorApp) and load (hey -c64 -q16 ≈ 1k req/s), in one run on one 3-node lab (deploy/swarm-lab/lab.sh):
#   1. node loss: 6 replicas over 3 nodes (zones a, b, c), node 3 stopped 10 s into the load (its dockerd:
#      its containers die with it; MODE=cut cuts its network instead). Failed requests, the time until the
#      lost tasks run again elsewhere (Swarm's view: 6 running tasks, none on node 3), and the time until
#      6 distinct instances answer through the front again (full capacity);
#   2. a rolling update v1 -> v2 of the 6 replicas across the nodes under load: Flotilla (flotilla apply;
#      its surge-first default) against `docker service update --update-order start-first`.
#   bench/swarm.sh            (root; docker.io, hey; makes the lab and removes it at the end)
# The front: Flotilla's router on this machine (127.0.0.1); HAProxy as a Swarm service pinned to the
# manager, published in host mode there (10.231.0.11:8080). Both reach the tasks over the lab's bridge.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEERS="${PEERS:-$ROOT/../shared/bench-peers}"
source "$PEERS/lib.sh"                      # hey_summary, log
LAB="$ROOT/deploy/swarm-lab/lab.sh"; MODE="${MODE:-stop}"; DUR=40; LOSS_AT=10
BENCH="$(mktemp -d /tmp/flotilla-swarm-bench.XXXXXX)"; OUT="$BENCH/results"; mkdir -p "$OUT"
export FLOTILLA_CONFIG="$BENCH/config.json"
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
command -v hey >/dev/null || { apt-get update -qq; apt-get install -y -qq hey >/dev/null; }
file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || { apt-get update -qq; apt-get install -y -qq busybox-static file >/dev/null; }
for image in anchor-app:v1 anchor-app:v2 anchor-haproxy:1; do docker image inspect "$image" >/dev/null 2>&1 || "$PEERS/build-images.sh" >&2; done
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true; wait "$server_pid" 2>/dev/null || true; fi
  "$LAB" down >/dev/null 2>&1 || true
  rm -rf "$BENCH/state"
}
trap cleanup EXIT; trap 'exit 130' INT TERM

dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
MANAGER=$("$LAB" up 3)
log "lab up ($MANAGER); loading the images into every node"
"$LAB" load anchor-app:v1 anchor-app:v2 anchor-haproxy:1
D=(docker -H "$MANAGER")
LOST=10.231.0.13

lose_node() { if [ "$MODE" = cut ]; then "$LAB" cut-node 3; else "$LAB" stop-node 3; fi; }
restore_node() {
  if [ "$MODE" = cut ]; then "$LAB" mend-node 3; else "$LAB" start-node 3; fi
  for _ in $(seq 300); do [ "$("${D[@]}" node ls --format '{{.Status}}' | grep -c Ready)" = 3 ] && return 0; sleep 0.2; done
}
# seconds from $1 (ns) until the swarm runs 6 tasks of service $2, none on the lost node
replaced_after() {
  local node3; node3=$("${D[@]}" node ls -q | while read -r id; do
    [ "$("${D[@]}" node inspect -f '{{.Status.Addr}}' "$id")" = "$LOST" ] && echo "$id"; done)
  for _ in $(seq 1200); do
    local running; running=$("${D[@]}" service ps "$2" --filter desired-state=running --no-trunc --format '{{.ID}}' | while read -r t; do
      "${D[@]}" inspect -f '{{.Status.State}} {{.NodeID}}' "$t"; done | awk -v n="$node3" '$1=="running" && $2!=n' | wc -l)
    [ "$running" -ge 6 ] && { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; return 0; }
    sleep 0.1
  done
  echo "-"
}
# seconds from $1 (ns) until 6 distinct instances answer through $2
full_after() {
  for _ in $(seq 600); do
    local seen; seen=$(for _ in $(seq 30); do { curl -s -m 1 "$2" || true; echo; } | sed -n 's/.*"instance":"\([^"]*\)".*/\1/p'; done | sort -u | wc -l)
    [ "$seen" -ge 6 ] && { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; return 0; }
    sleep 0.1
  done
  echo "-"
}
row() { # name hey-file replaced full
  read -r req non c r w t rps < <(hey_summary "$2")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$req" "$non" "$((c + r + w + t))" "$rps" "$3" "$4" | tee -a "$OUT/summary.md"
}

{ echo "# node loss (MODE=$MODE) under hey -z ${DUR}s -c 64 -q 16, node 3 lost ${LOSS_AT}s in"
  echo "| front | requests | non-2xx | socket errors | req/s | lost tasks running elsewhere after s | 6 instances answering after s |"
  echo "|---|---|---|---|---|---|---|"; } | tee "$OUT/summary.md"

# --- Swarm without Flotilla: dnsrr service + HAProxy on the overlay network ---
"${D[@]}" network create --driver overlay --attachable anchor-net >/dev/null
"${D[@]}" service create --name anchor-app --replicas 6 --endpoint-mode dnsrr --network anchor-net --no-resolve-image \
  --placement-pref spread=node.labels.zone --health-cmd '/usr/bin/busybox wget -q -O /dev/null http://127.0.0.1:8080/healthz' \
  --health-interval 1s --health-timeout 1s --health-retries 3 --health-start-period 10s --detach=false -q anchor-app:v1 >/dev/null
"${D[@]}" service create --name anchor-lb --replicas 1 --network anchor-net --no-resolve-image --constraint node.role==manager \
  --stop-signal SIGUSR1 --publish mode=host,published=8080,target=8080 --detach=false -q anchor-haproxy:1 >/dev/null
FRONT=http://10.231.0.11:8080/
full_after "$(date +%s%N)" "$FRONT" >/dev/null
hey -z 3s -c 16 "$FRONT" >/dev/null
hey -z "${DUR}s" -c 64 -q 16 -t 2 "$FRONT" > "$OUT/swarm-loss.txt" 2>&1 & hey_pid=$!
sleep "$LOSS_AT"; t0=$(date +%s%N); lose_node
replaced=$(replaced_after "$t0" anchor-app); full=$(full_after "$t0" "$FRONT")
wait "$hey_pid" || true
row "Swarm: dnsrr + HAProxy" "$OUT/swarm-loss.txt" "$replaced" "$full"
restore_node

# --- the rolling update, Swarm's best (start-first) ---
"${D[@]}" service update --force --detach=false -q anchor-app >/dev/null   # back to 2 per node
full_after "$(date +%s%N)" "$FRONT" >/dev/null
hey -z "${DUR}s" -c 64 -q 16 -t 2 "$FRONT" > "$OUT/swarm-rolling.txt" 2>&1 & hey_pid=$!
sleep 5; t0=$(date +%s%N)
"${D[@]}" service update --image anchor-app:v2 --update-order start-first --detach=false -q anchor-app >/dev/null
swarm_rolled=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
wait "$hey_pid" || true
"${D[@]}" service rm anchor-app anchor-lb >/dev/null
for _ in $(seq 150); do [ -z "$("${D[@]}" service ls -q)" ] && break; sleep 0.2; done

# --- Flotilla: its router on this machine, one Swarm service per revision ---
spec() {
  cat > "$BENCH/flotilla.yaml" <<YAML
name: swarmbench
runtime: swarm
services:
  app:
    image: anchor-app:$1
    command: [/app/AnchorApp]
    instances: 6
    http: { port: 8094, health: /healthz, ready: /healthz }
    env: { APP_VERSION: $1 }
YAML
}
FLOTILLA_SWARM="$MANAGER" "${FLOTILLA[@]}" server --data "$BENCH/state" --listen 127.0.0.1:0 > "$OUT/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do grep -q 'listening on' "$OUT/server.log" && break; sleep 0.1; done
spec v1; "${FLOTILLA[@]}" apply -f "$BENCH" --wait > /dev/null
FRONT=http://127.0.0.1:8094/
full_after "$(date +%s%N)" "$FRONT" >/dev/null
hey -z 3s -c 16 "$FRONT" >/dev/null
hey -z "${DUR}s" -c 64 -q 16 -t 2 "$FRONT" > "$OUT/flotilla-loss.txt" 2>&1 & hey_pid=$!
sleep "$LOSS_AT"; t0=$(date +%s%N); lose_node
service=$("${D[@]}" service ls --format '{{.Name}}' | head -1)
replaced=$(replaced_after "$t0" "$service"); full=$(full_after "$t0" "$FRONT")
wait "$hey_pid" || true
row "Flotilla router" "$OUT/flotilla-loss.txt" "$replaced" "$full"
restore_node
"${FLOTILLA[@]}" events --since 0 > "$OUT/events-loss.txt" 2>&1 || true

# Flotilla's rolling update starts from the placement Swarm left (4 + 2 after the loss): a fresh revision spreads anew.
hey -z "${DUR}s" -c 64 -q 16 -t 2 "$FRONT" > "$OUT/flotilla-rolling.txt" 2>&1 & hey_pid=$!
sleep 5; t0=$(date +%s%N)
spec v2; "${FLOTILLA[@]}" apply -f "$BENCH" > /dev/null; "${FLOTILLA[@]}" rollout status app > "$OUT/rollout.txt" 2>&1
flotilla_rolled=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
wait "$hey_pid" || true

{ echo; echo "# rolling update v1 -> v2 of 6 replicas over 3 nodes under hey -z ${DUR}s -c 64 -q 16 (update 5 s in)"
  echo "| who | requests | non-2xx | socket errors | req/s | update done after s |"
  echo "|---|---|---|---|---|---|"; } | tee -a "$OUT/summary.md"
for who in swarm flotilla; do
  read -r req non c r w t rps < <(hey_summary "$OUT/$who-rolling.txt")
  took=$swarm_rolled; name="Swarm: service update --update-order start-first"
  [ "$who" = flotilla ] && { took=$flotilla_rolled; name="Flotilla: apply, rollout status"; }
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$req" "$non" "$((c + r + w + t))" "$rps" "$took" | tee -a "$OUT/summary.md"
done
echo "raw: $OUT"
