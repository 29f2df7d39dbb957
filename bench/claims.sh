#!/usr/bin/env bash
# Load benchmark of POST /v1/claims against the release binary, on the embedded default or
# on PostgreSQL. Everything stays on loopback; the run is bounded by DURATION.
#
#   bench/claims.sh sqlite            # fresh SQLite file in a temp dir
#   bench/claims.sh postgres          # fresh database on $BENCH_POSTGRES_URL's server
#   MODE=read bench/claims.sh sqlite  # GET /v1/claims?limit=$LIMIT (50) after $SEED (5s) of POSTs
#
# Needs: wrk (apt-get install wrk), a release build (cargo build --release), PostgreSQL for the second.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
duration=${DURATION:-30s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-2}
port=${PORT:-18181}
bin=${OVERTURN_BIN:-target/release/overturn}  # another build to compare with, if set
admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
dir=$(mktemp -d)
pg_server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name="overturn_bench_$$"

cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  if [ "$backend" = postgres ]; then psql "$pg_server" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

env_vars=(OVERTURN_ADDR="127.0.0.1:$port" OVERTURN_DATA_DIR="$dir" OVERTURN_BOOTSTRAP_ADMIN_KEY="$admin" RUST_LOG="${BENCH_RUST_LOG:-warn}" ${EXTRA_ENV:-})
if [ "$backend" = postgres ]; then
  psql "$pg_server" -qc "CREATE DATABASE $db_name" >/dev/null
  env_vars+=(DATABASE_URL="${pg_server%/*}/$db_name" REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}" OVERTURN_QUEUE_NAME="bench-$$" OVERTURN_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)")
fi

env "${env_vars[@]}" "$bin" serve >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

key=$(curl -sf -X POST "localhost:$port/v1/api-keys" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' -d '{"name":"bench","role":"billing"}' | sed -E 's/.*"key":"([^"]+)".*/\1/')

echo "backend=$backend connections=$connections threads=$threads duration=$duration service_date=${SERVICE_DATE:-a week ago}"
echo "idle RSS: $((idle_kb / 1024)) MiB"
if [ "${MODE:-write}" = read ]; then
  KEY=$key RUN="$$" wrk -t"$threads" -c"$connections" -d"${SEED:-5s}" -s bench/claims.lua "http://127.0.0.1:$port" >/dev/null
  KEY=$key wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/claims_read.lua "http://127.0.0.1:$port" | tee "$dir/wrk.out"
  rate=$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk.out")
  p99_ms=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    print (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }' "$dir/wrk.out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$dir/wrk.out")
  events=$(curl -sf "localhost:$port/v1/audit-events?limit=1" -H "Authorization: Bearer $admin" | grep -o '"seq":[0-9]*' | head -1 || true)
  echo "RESULT reads_per_s=$rate p99_ms=$p99_ms errors=${non2xx:-0} audit_${events:-none}"
  exit 0
fi
KEY=$key RUN="$$" wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/claims.lua "http://127.0.0.1:$port" | tee "$dir/wrk.out"
echo "RSS after load: $(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
stored=$(curl -sf "localhost:$port/metrics" | awk -F' ' '/overturn_http_requests_total\{method="POST",route="\/v1\/claims",status="201"\}/ {print $2}')
errors=$(curl -sf "localhost:$port/metrics" | awk -F' ' '/overturn_http_requests_total\{method="POST",route="\/v1\/claims",status="[45]/ {s += $2} END {print s + 0}')
echo "server counted: created=$stored errors=$errors"
# One line for scripts (bench/compare.sh): throughput, p99 and errors as the server counted them.
rate=$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk.out")
p99_ms=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
  print (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v }' "$dir/wrk.out")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$dir/wrk.out")
echo "RESULT claims_per_s=$rate p99_ms=$p99_ms created=${stored:-0} errors=$((errors + ${non2xx:-0}))"
