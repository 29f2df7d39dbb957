#!/usr/bin/env bash
# From POST /v1/remittances of a generated 835 to every denial listed, against the release
# binary: the embedded default (one process, SQLite, SQLite queue) or PostgreSQL + Redis with
# the API and one worker as separate processes.
#
#   bench/denials.sh sqlite
#   bench/denials.sh postgres       # $BENCH_POSTGRES_URL's server, $BENCH_REDIS_URL
#
# Each run posts a new file (another seed) of CLAIMS claims and polls the remittance until the
# workers have classified it; the worker log gives the job's own time and adjustment count.
# PRODUCTION_DATE (YYYY-MM-DD, default 2025-01-15) dates the files: with an old one every
# appeal deadline has passed and each denial's escalation fires during the run; with today's,
# the reminders are scheduled months ahead.
# Needs: cargo build --release -p overturn -p overturn-tests.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
claims=${CLAIMS:-20000}
runs=${RUNS:-5}
port=${PORT:-18183}
wport=$((port + 1))
bin=${OVERTURN_BIN:-target/release/overturn}  # another build to compare with, if set
gen=target/release/gen-835
admin=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
dir=$(mktemp -d)
pg_server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name="overturn_bench_$$"
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  if [ "$backend" = postgres ]; then psql "$pg_server" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null || true; fi
  [ -n "${KEEP_LOG:-}" ] && cp "$dir"/*.log "$KEEP_LOG"/ 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

env_vars=(OVERTURN_DATA_DIR="$dir" OVERTURN_BOOTSTRAP_ADMIN_KEY="$admin" RUST_LOG="${BENCH_RUST_LOG:-warn,overturn_worker=info}" OVERTURN_LOG_FORMAT=json)
if [ "$backend" = postgres ]; then
  psql "$pg_server" -qc "CREATE DATABASE $db_name" >/dev/null
  env_vars+=(DATABASE_URL="${pg_server%/*}/$db_name" REDIS_URL="${BENCH_REDIS_URL:-redis://127.0.0.1:6379}" OVERTURN_QUEUE_NAME="bench-$$" OVERTURN_SECRETS_KEY="$(head -c 32 /dev/urandom | base64)")
  env "${env_vars[@]}" OVERTURN_ADDR="127.0.0.1:$port" "$bin" serve --role api >"$dir/api.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done
  env "${env_vars[@]}" OVERTURN_ADDR="127.0.0.1:$wport" "$bin" serve --role worker >"$dir/worker.log" 2>&1 &
  pids+=($!)
  worker_log="$dir/worker.log"
else
  env "${env_vars[@]}" OVERTURN_ADDR="127.0.0.1:$port" "$bin" serve >"$dir/all.log" 2>&1 &
  pids+=($!)
  worker_log="$dir/all.log"
fi
for _ in $(seq 1 100); do curl -sf "localhost:$port/ready" >/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
echo "backend=$backend claims_per_file=$claims runs=$runs"
for run in $(seq 0 $((runs - 1))); do
  "$gen" --claims "$claims" --seed $((2000 + run)) --production-date "${PRODUCTION_DATE:-2025-01-15}" > "$dir/file.835" 2>/dev/null
  t0=$(now)
  curl -sf -o "$dir/response.json" -X POST "localhost:$port/v1/remittances" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/edi-x12' --data-binary @"$dir/file.835"
  t1=$(now)
  id=$(grep -o '"id":"[^"]*"' "$dir/response.json" | head -1 | cut -d'"' -f4)
  until curl -sf "localhost:$port/v1/remittances?limit=1" -H "Authorization: Bearer $admin" | grep -q '"classified_at":"'; do
    sleep 0.02
  done
  t2=$(now)
  listed=$(curl -sf "localhost:$port/v1/denials?remittance_id=$id&limit=1" -H "Authorization: Bearer $admin" | grep -c '"category"' || true)
  job=$(grep "remittance classified" "$worker_log" | grep "$id" | tail -1)
  ms=$(echo "$job" | grep -o '"ms":[0-9]*' | cut -d: -f2)
  adjustments=$(echo "$job" | grep -o '"adjustments":[0-9]*' | cut -d: -f2)
  denials=$(echo "$job" | grep -o '"denials":[0-9]*' | cut -d: -f2)
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v ms="$ms" -v adj="$adjustments" -v den="$denials" -v listed="$listed" -v run="$run" \
    'BEGIN { printf "run %d: accepted in %.2f s, every denial listed %.2f s after the POST began (listed=%d); job %d ms: %d adjustments, %d denials = %.0f adjustments/s\n", run, b-a, c-a, listed, ms, adj, den, adj / (ms / 1000) }'
done
