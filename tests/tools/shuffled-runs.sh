#!/usr/bin/env bash
# usage: tests/tools/shuffled-runs.sh COMMIT N  — clone main at COMMIT into /tmp/shuf, install, run the suite N times shuffled,
# stop at the first failure. Log: ${LOG:-/tmp/shuffled.log} (one line per run), full output per run in /tmp/shuf-logs.
# With PRIVATE_PG_PORT=N the runs use their own PostgreSQL 15 cluster on that port (max_connections 300), so work
# beside the streak (integration tests, helpers) cannot exhaust the connections of the machine's shared server.
set -u
HERE=$(cd "$(dirname "$0")" && pwd); REPO=$(git -C "$HERE" rev-parse --show-toplevel)
COMMIT=$1; N=${2:-20}
rm -rf /tmp/shuf && git clone -q "$REPO" /tmp/shuf && cd /tmp/shuf && git checkout -q "$COMMIT"
ln -sfn "$(dirname "$REPO")/shared" /tmp/shared
python3 -m venv .venv && .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1
.venv/bin/python -m pip install -q -c requirements-dev.lock -e '.[dev]' >/dev/null 2>&1 || { echo "install failed" >> ${LOG:-/tmp/shuffled.log}; exit 1; }
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error >/dev/null 2>&1
PG_URL=postgresql://postgres@127.0.0.1:5432/postgres
if [ -n "${PRIVATE_PG_PORT:-}" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/15/bin); PGD=/tmp/shuf-pg
  [ -f "$PGD/data/postmaster.pid" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" stop -m fast >/dev/null 2>&1
  rm -rf "$PGD" && mkdir -p "$PGD" && chown postgres "$PGD"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGD/data" -A trust -U postgres >/dev/null || { echo "initdb failed" >> ${LOG:-/tmp/shuffled.log}; exit 1; }
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/log" -w start \
    -o "-p $PRIVATE_PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGD -c max_connections=300" >/dev/null \
    || { echo "private cluster did not start" >> ${LOG:-/tmp/shuffled.log}; exit 1; }
  PG_URL=postgresql://postgres@127.0.0.1:$PRIVATE_PG_PORT/postgres
fi
export MILES_TEST_DATABASE_URL=$PG_URL MILES_TEST_REDIS_URL=redis://127.0.0.1:6379/15
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p /tmp/shuf-logs
for i in $(seq 1 "$N"); do
  SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
  START=$(date +%s)
  pytest -q -n 4 -p randomly --randomly-seed="$SEED" --durations=25 > /tmp/shuf-logs/run-$i-$SEED.log 2>&1
  RC=$?
  TAIL=$(grep -E "passed|failed" /tmp/shuf-logs/run-$i-$SEED.log | tail -1)
  echo "$(date -u +%FT%TZ) commit=$COMMIT run=$i seed=$SEED rc=$RC secs=$(( $(date +%s) - START )) $TAIL" >> ${LOG:-/tmp/shuffled.log}
  [ "$RC" -ne 0 ] && exit 1
done
echo "$(date -u +%FT%TZ) commit=$COMMIT all $N passed" >> ${LOG:-/tmp/shuffled.log}
