#!/usr/bin/env bash
# Issue 18's database figures, on the example shop's orders service (its own code and migrations) with
# its database on the PostgreSQL Flotilla runs:
#  1. A migration as a step of a rolling update under load: ROWS rows in orders, then an apply that adds
#     a column with a default and backfills another (003_backfill.sql) and changes the code's version,
#     while hey sends ~RATE req/s (half reads GET /orders/1/status, half writes POST /orders) through
#     Flotilla's router. Failed requests, how long the apply's migration step took (the apply returns
#     once it is recorded: builds are cached), p99 in the window it ran. Beside it, the same SQL run by
#     hand with psql (flotilla db shell -c) under the same load, after the columns are dropped again.
#  2. Replica lag under a steady write load: replicas: 1, then pgbench (TPC-B-like, -R TPS) against the
#     service's database as its owner; the replica's replay lag as the primary reports it
#     (flotilla db status -o json), sampled every 0.2 s; p50/p99.
#  3. Kill -9 of the primary: time from the kill until a write through the service succeeds again, restarted in
#     place beside failed over to the replica (failover: 0s), in the same run.
#   bench/db.sh [ROWS=1000000] [RATE=1000] [DUR=40] [TPS=300] [KILLS=5]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${1:-1000000}"; RATE="${2:-1000}"; DUR="${3:-40}"; TPS="${4:-300}"; KILLS="${5:-5}"; LEAD=8; PORT=8095
BENCH="$(mktemp -d /tmp/flotilla-db-bench.XXXXXX)"; OUT="$BENCH/results"; mkdir -p "$OUT" "$BENCH/db"
export FLOTILLA_CONFIG="$BENCH/config.json"
FLOTILLA=(dotnet "$ROOT/src/Flotilla.Cli/bin/Release/net10.0/flotilla.dll")
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then "${FLOTILLA[@]}" shutdown --stop-all >/dev/null 2>&1 || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$BENCH/state"
}
trap cleanup EXIT; trap 'exit 130' INT TERM
if ss -ltn "sport = :$PORT" | grep -q LISTEN; then echo "port $PORT is busy" >&2; exit 1; fi

spec() { # version replicas
  cat > "$BENCH/flotilla.yaml" <<YAML
name: dbbench
engines:
  pg: { kind: postgres, replicas: $2 }
services:
  orders:
    build: $ROOT/examples/shop/services/Orders
    instances: 3
    http: { port: $PORT, health: /healthz, ready: /ready }
    # Only /orders/ID/status and POST /orders are used: they touch the database and no other service.
    env: { ORDERS_VERSION: "$1", services__catalog__http__0: "http://127.0.0.1:1", services__invoices__http__0: "http://127.0.0.1:1", services__reviews__http__0: "http://127.0.0.1:1" }
    database: { engine: pg, migrations: db }
YAML
}
cp "$ROOT"/examples/shop/db/orders/*.sql "$BENCH/db/"
BACKFILL="ALTER TABLE orders ADD COLUMN channel varchar(10) NOT NULL DEFAULT 'web'; ALTER TABLE orders ADD COLUMN total_cents bigint; UPDATE orders SET total_cents = quantity * 750;"

log "building Flotilla (Release)"
dotnet build -c Release "$ROOT/src/Flotilla.Cli" -v q --nologo >/dev/null
"${FLOTILLA[@]}" server --data "$BENCH/state" --listen 127.0.0.1:0 > "$OUT/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do grep -q 'listening on' "$OUT/server.log" && break; sleep 0.1; done
spec v1 0; "${FLOTILLA[@]}" apply -f "$BENCH" --wait > "$OUT/apply-1.log" 2>&1 || { cat "$OUT/apply-1.log" >&2; exit 1; }
log "filling orders with $ROWS rows"
"${FLOTILLA[@]}" db shell orders -c "INSERT INTO orders (id, item_id, quantity) SELECT g, 1 + g % 3, 1 + g % 5 FROM generate_series(10, $ROWS + 9) g" > "$OUT/fill.log" 2>&1
"${FLOTILLA[@]}" db shell orders -c "VACUUM ANALYZE orders" >> "$OUT/fill.log" 2>&1

# Half the rate reads, half writes; hey's -q is per connection (16 connections each).
load() { # name; sets r and w (the two hey pids) and t_load
  hey -z "${DUR}s" -c 16 -q $((RATE / 32)) -t 10 -o csv "http://127.0.0.1:$PORT/orders/1/status" > "$OUT/$1-reads.csv" 2>"$OUT/$1-reads.err" & r=$!
  hey -z "${DUR}s" -c 16 -q $((RATE / 32)) -t 10 -o csv -m POST -T application/json -d '{"itemId":2,"quantity":1}' "http://127.0.0.1:$PORT/orders" > "$OUT/$1-writes.csv" 2>"$OUT/$1-writes.err" & w=$!
  t_load=$(date +%s.%N)
}
# hey's CSV: response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset (s from its start).
summary() { # name window_start_s window_end_s (offsets from the load's start)
  python3 - "$OUT/$1-reads.csv" "$OUT/$1-writes.csv" "$2" "$3" "$DUR" <<'PY'
import csv, sys
rows = []
for path in sys.argv[1:3]:
    with open(path) as f:
        for r in csv.DictReader(f):
            rows.append((float(r["offset"]), float(r["response-time"]), int(r["status-code"])))
start, end, dur = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
failed = sum(1 for r in rows if not 200 <= r[2] < 300)
def p99(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(0.99 * len(xs)))] * 1000 if xs else float("nan")
inside = [r[1] for r in rows if start <= r[0] <= end]
print(f"{len(rows)}\t{len(rows) / dur:.0f}\t{failed}\t{p99([r[1] for r in rows]):.1f}\t{p99(inside):.1f}\t{len(inside)}")
PY
}
# hey -o csv lists only answered requests; errors (connection refused, timeouts) are counted from its stderr/summary.
errors() { cat "$OUT/$1-reads.err" "$OUT/$1-writes.err" | grep -c . || true; }

printf 'run\trequests\treq_per_s\tnon2xx\tp99_all_ms\tp99_during_ms\tduring_n\tstep_s\terrors\n' > "$OUT/migration.tsv"
log "1a: rolling update with 003_backfill.sql under load"
curl -fs "http://127.0.0.1:$PORT/orders/1/status" >/dev/null
load flotilla
sleep "$LEAD"
echo "$BACKFILL" > "$BENCH/db/003_backfill.sql"; spec v2 0
t0=$(date +%s.%N); "${FLOTILLA[@]}" apply -f "$BENCH" > "$OUT/apply-2.log" 2>&1; t1=$(date +%s.%N)
"${FLOTILLA[@]}" rollout status orders > "$OUT/rollout-2.log" 2>&1 || true
wait "$r" "$w" || true
step=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
printf 'flotilla apply (migration, then rolling update)\t%s\t%s\t%s\n' "$(summary flotilla "$(python3 -c "print($t0 - $t_load)")" "$(python3 -c "print($t1 - $t_load)")")" "$step" "$(errors flotilla)" | tee -a "$OUT/migration.tsv" >&2

log "1b: the same SQL by hand with psql under the same load"
"${FLOTILLA[@]}" db shell orders -c "ALTER TABLE orders DROP COLUMN channel, DROP COLUMN total_cents" > /dev/null
"${FLOTILLA[@]}" db shell orders -c "VACUUM FULL orders" > /dev/null
sleep 2
load psql
sleep "$LEAD"
t0=$(date +%s.%N); "${FLOTILLA[@]}" db shell orders -c "BEGIN; $BACKFILL COMMIT;" > "$OUT/psql.log" 2>&1; t1=$(date +%s.%N)
wait "$r" "$w" || true
step=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
printf 'psql by hand (one transaction)\t%s\t%s\t%s\n' "$(summary psql "$(python3 -c "print($t0 - $t_load)")" "$(python3 -c "print($t1 - $t_load)")")" "$step" "$(errors psql)" | tee -a "$OUT/migration.tsv" >&2

log "2: replica lag under pgbench (-R $TPS tps, 30 s)"
spec v2 1; "${FLOTILLA[@]}" apply -f "$BENCH" --wait > "$OUT/apply-3.log" 2>&1
for _ in $(seq 120); do "${FLOTILLA[@]}" db status | grep -q 'streaming quorum' && break; sleep 0.5; done
# pgbench connects as the database's owner; passwords go in environments only (never printed).
api() { python3 -c "import json;c=json.load(open('$FLOTILLA_CONFIG'));print(c['$1'].rstrip('/') if '$1'=='server' else c['$1'])"; }
session() { # readOnly: the owner on the primary (false), the app's role on the replica (true); prints PG* exports
  curl -fs -X POST -H "Authorization: Bearer $(api token)" -H 'Content-Type: application/json' -d "{\"readOnly\":$1}" "$(api server)/v1/databases/orders/session" \
  | python3 -c "
import json, sys, shlex
s = json.load(sys.stdin)
for k, v in (('PGHOST', s['host']), ('PGPORT', s['port']), ('PGDATABASE', s['database']), ('PGUSER', s['username']), ('PGPASSWORD', s['password'])):
    print(f'export {k}={shlex.quote(str(v))}')"
}
replica_env=$(session true); TOKEN=$(api token); SERVER=$(api server)
eval "$(session false)"
pgbench -i -s 10 -q > "$OUT/pgbench-init.log" 2>&1
pgbench -c 4 -j 2 -T 30 -R "$TPS" -P 5 > "$OUT/pgbench.log" 2>&1 & pg=$!
sleep 2
# Every 0.2 s: on the replica, how old its last replayed commit is (writes arrive every few ms, so this is
# its staleness), and what Flotilla reports (the primary's replay_lag, read by its engine loop each second).
: > "$OUT/lag.tsv"
while kill -0 "$pg" 2>/dev/null; do
  stale=$(eval "$replica_env"; unset PGOPTIONS; psql -XAtq -c "SELECT round((extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::numeric, 2)" 2>/dev/null || echo None)
  reported=$(curl -fs -H "Authorization: Bearer $TOKEN" "$SERVER/v1/databases" | grep -o '"replayLagMs":[^,}]*' | head -1 | cut -d: -f2)
  printf '%s\t%s\n' "$stale" "${reported:-None}" >> "$OUT/lag.tsv"
  sleep 0.2
done
wait "$pg" || true
python3 - "$OUT/lag.tsv" "$OUT/pgbench.log" <<'PY' | tee "$OUT/lag-summary.txt" >&2
import re, sys
stale, reported = [], []
for line in open(sys.argv[1]):
    a, b = line.rstrip("\n").split("\t")
    if a not in ("None", ""): stale.append(float(a))
    if b not in ("None", "", "null"): reported.append(float(b))
q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
tps = re.search(r"tps = ([0-9.]+)", open(sys.argv[2]).read())
print(f"pgbench tps {tps.group(1) if tps else '?'}; replica staleness ms (n={len(stale)}) p50 {q(stale, .5):.1f} p99 {q(stale, .99):.1f} max {max(stale, default=float('nan')):.1f}; "
      f"Flotilla's reported replay lag ms (n={len(reported)}) p50 {q(reported, .5):.2f} p99 {q(reported, .99):.2f}")
PY

# 3. kill -9 of the primary (a synchronous replica streams beside it), KILLS times in each mode, same run: from the
# kill to the first write through the service that succeeds again (POST /orders every 50 ms), and the writes refused
# meanwhile. Mode "restart": failover: 60s, so the primary is restarted in place; kills 32 s apart, so each is a first
# failure (restarted at once, not met by the back-off). Mode "failover": failover: 0s, the replica is promoted at once;
# the next kill waits until the old primary streams again from the new one (the primary alternates between the two).
engine_spec() { sed -i "s/^  pg: .*/  pg: { kind: postgres, replicas: 1, failover: $1 }/" "$BENCH/flotilla.yaml"; "${FLOTILLA[@]}" apply -f "$BENCH" --wait > "$OUT/apply-failover-$1.log" 2>&1; }
primary_pid() { # the pid of whichever server is the primary now
  "${FLOTILLA[@]}" db status -o json | python3 -c "import json,sys; print([s['pid'] for s in json.load(sys.stdin)['servers'] if s['primary'] and s['ready']][0])"
}
streaming() { "${FLOTILLA[@]}" db status | grep -q 'streaming quorum'; }
kill_and_time() { # mode k
  local pm; pm=$(primary_pid)
  local t0; t0=$(date +%s.%N); kill -9 "$pm"
  local refused=0
  until curl -fs -m 2 -X POST -H 'Content-Type: application/json' -d '{"itemId":2,"quantity":1}' "http://127.0.0.1:$PORT/orders" >/dev/null; do
    refused=$((refused + 1)); sleep 0.05
    if [ "$refused" -gt 1200 ]; then log "no write succeeded within a minute of the kill"; exit 1; fi
  done
  local t1; t1=$(date +%s.%N)
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(python3 -c "print(f'{($t1 - $t0) * 1000:.0f}')")" "$refused" >> "$OUT/primary-kill.tsv"
}
log "3: kill -9 of the primary, $KILLS times restarted in place and $KILLS times failed over: time until a write through orders succeeds again"
printf 'mode\tkill\tms_to_write\trefused_writes\n' > "$OUT/primary-kill.tsv"
engine_spec 60s
for k in $(seq "$KILLS"); do
  for _ in $(seq 120); do streaming && break; sleep 0.5; done
  kill_and_time restart "$k"
  if [ "$k" -lt "$KILLS" ]; then sleep 32; fi
done
engine_spec 0s
for k in $(seq "$KILLS"); do
  sleep 2; for _ in $(seq 240); do streaming && break; sleep 0.5; done
  kill_and_time failover "$k"
done
"${FLOTILLA[@]}" events > "$OUT/events.log" 2>&1 || true
python3 - "$OUT/primary-kill.tsv" <<'PY' | tee "$OUT/primary-kill-summary.txt" >&2
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
med = {m: statistics.median(int(r[2]) for r in rows if r[0] == m) for m in ("restart", "failover")}
print(f"kill -9 of the primary to a write again, median: restart in place {med['restart']:.0f} ms, failover {med['failover']:.0f} ms ({med['restart'] / med['failover']:.1f}x)")
PY
column -t -s $'\t' "$OUT/primary-kill.tsv" >&2

column -t -s $'\t' "$OUT/migration.tsv" >&2
log "results in $OUT"
