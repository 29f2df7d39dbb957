#!/usr/bin/env bash
# Follow-ups falling due all at once, fired by the release binary: the embedded default (one
# process) or PostgreSQL + Redis with the API and WORKERS worker processes apart.
#
#   bench/followups.sh sqlite
#   bench/followups.sh postgres      # $BENCH_POSTGRES_URL's server, $BENCH_REDIS_URL
#
# target/release/followup-crowd stores COUNT (100,000) status checks due DUE_IN seconds later,
# waits until every one fired, and reports the time from their due time to the last firing,
# how many fired exactly once and how many early (both checked).
# Needs: cargo build --release -p overturn -p overturn-tests.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
workers=${WORKERS:-1}
port=${PORT:-18383}
bin=${OVERTURN_BIN:-target/release/overturn}  # another build to compare with, if set
dir=$(mktemp -d)
pg_server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name="overturn_bench_fu_$$"
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  if [ "$backend" = postgres ]; then psql "$pg_server" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

env_vars=(OVERTURN_DATA_DIR="$dir" RUST_LOG="${BENCH_RUST_LOG:-warn}")
if [ "$backend" = postgres ]; then
  psql "$pg_server" -qc "CREATE DATABASE $db_name" >/dev/null
  env_vars+=(DATABASE_URL="${pg_server%/*}/$db_name" REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}" OVERTURN_QUEUE_NAME="bench-fu-$$" OVERTURN_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)")
  env "${env_vars[@]}" OVERTURN_ADDR="127.0.0.1:$port" "$bin" serve --role api >"$dir/api.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done
  for w in $(seq 1 "$workers"); do
    env "${env_vars[@]}" OVERTURN_ADDR="127.0.0.1:$((port + w))" "$bin" serve --role worker >"$dir/worker$w.log" 2>&1 &
    pids+=($!)
  done
else
  env "${env_vars[@]}" OVERTURN_ADDR="127.0.0.1:$port" "$bin" serve >"$dir/all.log" 2>&1 &
  pids+=($!)
fi
for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done

echo "backend=$backend workers=$workers count=${COUNT:-100000}"
env "${env_vars[@]}" target/release/followup-crowd
