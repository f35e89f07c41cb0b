#!/usr/bin/env bash
# A real Docker Swarm of several nodes on one machine, for tests, benchmarks and trying Flotilla's
# swarm runtime: a dockerd per node, each in its own network namespace with its own address on a
# bridge, one manager and workers joined with real join tokens, zones as node labels (zone=a|b|c).
#
#   lab.sh up [NODES]        make the swarm (default 3 nodes); prints the manager's endpoint
#   lab.sh load IMAGE...     copy images from the host's engine into every node (there is no registry)
#   lab.sh stop-node N       stop node N's dockerd (its containers die with it: a lost machine)
#   lab.sh start-node N      start it again (it rejoins the swarm by itself)
#   lab.sh cut-node N        cut node N off the network (its containers run on, unreachable: a lost link)
#   lab.sh mend-node N       connect it again
#   lab.sh endpoint N        node N's engine endpoint (unix socket)
#   lab.sh down              remove everything: daemons, namespaces, bridge, data, iptables rule
#
# Every node has its own data-root, exec-root, socket and pidfile under $LAB_DIR and $LAB_RUN.
# Addresses are in 10.231.K.0/24 (bridge 10.231.K.1, node N at 10.231.K.(10+N); K from FLOTILLA_LAB, default 0): namespaces this
# script makes itself; the host reaches them through the bridge. Two facts of this machine shape it:
# dockerd is started with `nsenter --net` (`ip netns exec` remounts /sys, and dockerd then fails with
# "Devices cgroup isn't mounted"), and forwarding on the bridge is accepted explicitly (the host's own
# dockerd sets the FORWARD policy to DROP).
set -euo pipefail

# Several labs side by side (two swarms for federation): FLOTILLA_LAB=K (1..250) gives lab K its own
# bridge, namespaces, subnet 10.231.K.0/24 and directories; K=0, the default, is the one lab as before.
LAB=${FLOTILLA_LAB:-0}
[[ "$LAB" =~ ^[0-9]+$ ]] && [ "$LAB" -le 250 ] || { echo "swarm-lab: FLOTILLA_LAB must be 0..250, got '$LAB'" >&2; exit 2; }
if [ "$LAB" = 0 ]; then SUFFIX=""; PREFIX=flt-lab; else SUFFIX=$LAB; PREFIX=flt-lab$LAB; fi
LAB_DIR=${LAB_DIR:-/var/lib/flotilla-swarm-lab$SUFFIX}
LAB_RUN=${LAB_RUN:-/run/flotilla-swarm-lab$SUFFIX}
BRIDGE=flt-lab$LAB
NET=10.231.$LAB
ZONES=(a b c d e f)

log() { echo "swarm-lab$SUFFIX: $*" >&2; }
ns() { echo "$PREFIX-n$1"; }
addr() { echo "$NET.$((10 + $1))"; }
sock() { echo "$LAB_RUN/node$1.sock"; }
dk() { local n=$1; shift; docker -H "unix://$(sock "$n")" "$@"; }
nodes() { local f; for f in "$LAB_DIR"/node*; do [ -d "$f" ] && basename "$f" | sed 's/node//'; done | sort -n; }

# Runs a command with only stdin, stdout and stderr open (bash keeps the script itself on fd 255, not passed on).
without_inherited_fds() {
  local fd args=()
  for fd in $(ls /proc/self/fd); do
    [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ] && args+=("$fd>&-")
  done
  eval "\"\$@\" ${args[*]}"
}

start_daemon() {
  local n=$1
  mkdir -p "$LAB_DIR/node$n/data" "$LAB_RUN/n$n"
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: Swarm uses the image a node has instead of asking a registry first.
  # The daemon outlives this script: it must not keep open what the caller had open (a flock on a lock
  # file, a test runner's pipes), or the caller's lock stays held for as long as the lab runs.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 without_inherited_fds setsid nsenter --net="/run/netns/$(ns "$n")" \
    dockerd --data-root "$LAB_DIR/node$n/data" --exec-root "$LAB_RUN/n$n" -H "unix://$(sock "$n")" \
      --pidfile "$LAB_RUN/node$n.pid" --iptables=true --ip-masq=false \
      --storage-driver overlay2 >"$LAB_DIR/node$n/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 120); do dk "$n" info >/dev/null 2>&1 && return 0; sleep 0.25; done
  log "node $n: dockerd did not start; see $LAB_DIR/node$n/dockerd.log"; tail -5 "$LAB_DIR/node$n/dockerd.log" >&2; return 1
}

stop_daemon() {
  local n=$1 pid
  pid=$(cat "$LAB_RUN/node$n.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.25; done
  kill -9 "$pid" 2>/dev/null || true
}

up() {
  local count=${1:-3} n
  [ -d "$LAB_DIR/node1" ] && { log "a lab exists already ($LAB_DIR); run '$0 down' first"; exit 1; }
  command -v dockerd >/dev/null || { log "dockerd is not installed (apt-get install docker.io)"; exit 1; }
  mkdir -p "$LAB_DIR" "$LAB_RUN"
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  for n in $(seq 1 "$count"); do
    ip netns add "$(ns "$n")"
    ip link add "$PREFIX-v$n" type veth peer name eth0 netns "$(ns "$n")"
    ip link set "$PREFIX-v$n" master "$BRIDGE" up
    ip -n "$(ns "$n")" addr add "$(addr "$n")/24" dev eth0
    ip -n "$(ns "$n")" link set eth0 up
    ip -n "$(ns "$n")" link set lo up
    ip -n "$(ns "$n")" route add default via "$NET.1"
    start_daemon "$n"
  done
  dk 1 swarm init --advertise-addr "$(addr 1)" --listen-addr "$(addr 1):2377" >/dev/null
  # Nodes are seen down after 1 s without a heartbeat instead of 5 s, so a lost node's tasks move sooner.
  dk 1 swarm update --dispatcher-heartbeat 1s >/dev/null
  local token; token=$(dk 1 swarm join-token -q worker)
  for n in $(seq 2 "$count"); do
    dk "$n" swarm join --token "$token" --advertise-addr "$(addr "$n")" --listen-addr "$(addr "$n"):2377" "$(addr 1):2377" >/dev/null
  done
  for n in $(seq 1 "$count"); do
    local id; id=$(dk "$n" info -f '{{.Swarm.NodeID}}')
    dk 1 node update --label-add "zone=${ZONES[$(((n - 1) % ${#ZONES[@]}))]}" "$id" >/dev/null
  done
  log "swarm of $count nodes up; manager: unix://$(sock 1) (node addresses $(addr 1)..$(addr "$count"))"
  echo "unix://$(sock 1)"
}

load() {
  local n image
  for image in "$@"; do
    for n in $(nodes); do
      if dk "$n" image inspect "$image" >/dev/null 2>&1 && \
         [ "$(dk "$n" image inspect -f '{{.Id}}' "$image")" = "$(docker image inspect -f '{{.Id}}' "$image")" ]; then continue; fi
      docker save "$image" | dk "$n" load -q >/dev/null
    done
  done
}

down() {
  local n
  for n in $(nodes); do
    stop_daemon "$n"
    # A container shim whose daemon was killed under it outlives the daemon: end the shims of this node's
    # containerd (their -address is the node's own socket), by pid.
    for p in /proc/[0-9]*; do
      tr '\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -- "-address $LAB_RUN/n$n/containerd/" && kill -9 "${p#/proc/}" 2>/dev/null || true
    done
    # A daemon's own network namespaces and mounts of its exec-root stay behind when it is killed.
    { grep -o " $LAB_RUN/n$n[^ ]*\| $LAB_DIR/node$n[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    ip netns del "$(ns "$n")" 2>/dev/null || true
    ip link del "$PREFIX-v$n" 2>/dev/null || true
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null || true
    ip link del "$BRIDGE"
  fi
  rm -rf "$LAB_DIR" "$LAB_RUN"
  log "down"
}

case "${1:-}" in
  up) shift; up "$@" ;;
  load) shift; load "$@" ;;
  stop-node) stop_daemon "$2" ;;
  start-node) start_daemon "$2" ;;
  cut-node) ip link set "$PREFIX-v$2" down ;;
  mend-node) ip link set "$PREFIX-v$2" up ;;
  endpoint) echo "unix://$(sock "$2")" ;;
  down) down ;;
  *) sed -n '2,15p' "$0" >&2; exit 2 ;;
esac
