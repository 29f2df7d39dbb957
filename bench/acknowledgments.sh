#!/usr/bin/env bash
# Time POST /v1/acknowledgments of a generated 277CA against the release binary, on the embedded
# default or on PostgreSQL: each run first posts a generated 837P of CLAIMS claims (not timed;
# another seed each run), then the 277CA answering all of them (one in ten rejected: a work item,
# a rejected claim and a cancelled status check each; the rest accepted: the status check timed
# again). Prints each answer's time and the server's peak RSS.
#
#   bench/acknowledgments.sh sqlite            # fresh SQLite file in a temp dir
#   bench/acknowledgments.sh postgres          # fresh database on $BENCH_POSTGRES_URL's server
#
# Needs: cargo build --release -p overturn -p overturn-tests; PostgreSQL and Redis for the second.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
claims=${CLAIMS:-20000}
runs=${RUNS:-3}
port=${PORT:-18184}
bin=${OVERTURN_BIN:-target/release/overturn}
gen=${GEN_BIN:-target/release/gen-835}
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

post() { # path file -> "status seconds"
  curl -s -o "$dir/response.json" -w '%{http_code} %{time_total}' -X POST "localhost:$port$1" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/edi-x12' --data-binary @"$2"
}

echo "backend=$backend claims_per_file=$claims runs=$runs"
for run in $(seq 1 "$runs"); do
  seed=$((3000 + run))
  day=$(date -u -d '-20 days' +%F)
  "$gen" --837 --claims "$claims" --seed "$seed" --production-date "$day" > "$dir/file.837" 2>/dev/null
  "$gen" --277ca --claims "$claims" --seed "$seed" --production-date "$day" > "$dir/file.277" 2>/dev/null
  out=$(post /v1/claim-files "$dir/file.837")
  echo "run $run: claim file HTTP ${out% *} in ${out#* } s"
  sleep 1
  size=$(stat -c %s "$dir/file.277")
  out=$(post /v1/acknowledgments "$dir/file.277")
  matched=$(grep -o '"matched_count":[0-9]*' "$dir/response.json" | cut -d: -f2)
  rejected=$(grep -o '"rejected_count":[0-9]*' "$dir/response.json" | cut -d: -f2)
  echo "run $run: 277CA $size bytes -> HTTP ${out% *} in ${out#* } s (matched $matched, rejected $rejected)"
  sleep 1
done
echo "peak RSS: $(( $(awk '/VmHWM/ {print $2}' "/proc/$pid/status") / 1024 )) MiB; RSS after: $(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
