#!/usr/bin/env bash
# usage: tests/tools/shuffled-runs.sh COMMIT N  — clone main at COMMIT into /tmp/shuf, install, run the suite N times shuffled,
# stop at the first failure. Log: ${LOG:-/tmp/shuffled.log} (one line per run), full output per run in /tmp/shuf-logs.
set -u
HERE=$(cd "$(dirname "$0")" && pwd); REPO=$(git -C "$HERE" rev-parse --show-toplevel)
COMMIT=$1; N=${2:-20}
rm -rf /tmp/shuf && git clone -q "$REPO" /tmp/shuf && cd /tmp/shuf && git checkout -q "$COMMIT"
ln -sfn "$(dirname "$REPO")/shared" /tmp/shared
python3 -m venv .venv && .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1
.venv/bin/python -m pip install -q -c requirements-dev.lock -e '.[dev]' >/dev/null 2>&1 || { echo "install failed" >> ${LOG:-/tmp/shuffled.log}; exit 1; }
npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error >/dev/null 2>&1
export MILES_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres MILES_TEST_REDIS_URL=redis://127.0.0.1:6379/15
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
