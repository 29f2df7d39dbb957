#!/usr/bin/env bash
# Time POST /v1/claim-files of a generated 837P file against the release binary, on the
# embedded default or on PostgreSQL: each run posts a new file (another seed, so new claim
# numbers) of CLAIMS claims; prints each answer's time and the server's peak RSS.
#
#   bench/claim_files.sh sqlite            # fresh SQLite file in a temp dir
#   bench/claim_files.sh postgres          # fresh database on $BENCH_POSTGRES_URL's server
#
# Needs: cargo build --release -p overturn -p overturn-tests; PostgreSQL and Redis for the second.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
claims=${CLAIMS:-10000}
runs=${RUNS:-5}
port=${PORT:-18183}
bin=${OVERTURN_BIN:-target/release/overturn}
gen=target/release/gen-835
admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
dir=$(mktemp -d)
pg_server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name="overturn_bench_$$"

cleanup() {
  [ -n "${KEEP_LOG:-}" ] && cp "$dir/server.log" "$KEEP_LOG" || true
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then psql "$pg_server" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

env_vars=(OVERTURN_ADDR="127.0.0.1:$port" OVERTURN_DATA_DIR="$dir" OVERTURN_BOOTSTRAP_ADMIN_KEY="$admin" RUST_LOG="${BENCH_RUST_LOG:-warn}")
if [ "$backend" = postgres ]; then
  psql "$pg_server" -qc "CREATE DATABASE $db_name" >/dev/null
  env_vars+=(DATABASE_URL="${pg_server%/*}/$db_name" REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}" OVERTURN_QUEUE_NAME="bench-$$" OVERTURN_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)")
fi
env "${env_vars[@]}" "$bin" serve >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done

echo "backend=$backend claims_per_file=$claims runs=$runs"
for run in $(seq 1 "$runs"); do
  "$gen" --837 --claims "$claims" --seed $((2000 + run)) --production-date "$(date -u -d '-20 days' +%F)" > "$dir/file.837" 2>/dev/null
  size=$(stat -c %s "$dir/file.837")
  out=$(curl -s -o "$dir/response.json" -w '%{http_code} %{time_total}' -X POST "localhost:$port/v1/claim-files" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/edi-x12' --data-binary @"$dir/file.837")
  created=$(grep -o '"created_count":[0-9]*' "$dir/response.json" | cut -d: -f2)
  echo "run $run: $size bytes -> HTTP ${out% *} in ${out#* } s (created $created)"
  sleep 1
done
echo "peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB; RSS after: $(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
