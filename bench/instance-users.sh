#!/usr/bin/env bash
# What an instance user costs at start (root only): creating the user once (useradd --system, what
# Flotilla does at a service's first start), looking it up (getent, every control-plane start), and
# starting a process through setpriv against starting it directly (every instance start), side by side.
# Usage: sudo bench/instance-users.sh [runs]
set -euo pipefail
runs=${1:-50}
[[ $(id -u) == 0 ]] || { echo "needs root" >&2; exit 1; }
ms() { echo "scale=3; ($2 - $1) / 1000000" | bc; }
name="fl-bench$$"
t0=$(date +%s%N); useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group --comment "flotilla bench" "$name"; t1=$(date +%s%N)
trap 'userdel "$name"' EXIT
uid=$(id -u "$name"); gid=$(id -g "$name")
t2=$(date +%s%N); for _ in $(seq "$runs"); do getent passwd "$name" >/dev/null; done; t3=$(date +%s%N)
t4=$(date +%s%N); for _ in $(seq "$runs"); do /bin/true; done; t5=$(date +%s%N)
t6=$(date +%s%N); for _ in $(seq "$runs"); do setpriv --reuid "$uid" --regid "$gid" --clear-groups -- /bin/true; done; t7=$(date +%s%N)
direct=$(echo "scale=3; $(ms "$t4" "$t5") / $runs" | bc); via=$(echo "scale=3; $(ms "$t6" "$t7") / $runs" | bc)
echo "useradd (once per service):      $(ms "$t0" "$t1") ms"
echo "getent passwd (per lookup):      $(echo "scale=3; $(ms "$t2" "$t3") / $runs" | bc) ms"
echo "start /bin/true directly:        $direct ms"
echo "start /bin/true through setpriv: $via ms (ratio $(echo "scale=2; $via / $direct" | bc))"
