#!/usr/bin/env bash
# Time POST /v1/remittances of a generated 835 file against the release binary, on the
# embedded default or on PostgreSQL: each run posts a new file (another seed, so another
# payment) of CLAIMS claims; half of them match claims created beforehand.
#
#   bench/remittance.sh sqlite            # fresh SQLite file in a temp dir
#   bench/remittance.sh postgres          # fresh database on $BENCH_POSTGRES_URL's server
#
# Needs: cargo build --release -p overturn -p overturn-tests; PostgreSQL and Redis for the second.
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
claims=${CLAIMS:-20000}
runs=${RUNS:-5}
port=${PORT:-18182}
bin=${OVERTURN_BIN:-target/release/overturn}  # another build to compare with, if set
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

# Claims for half of the first file's claim numbers (GEN-<seed>-<i>), so matching and
# settling are part of what is timed.
seed0=1000
for i in $(seq 0 2 $((claims - 1))); do
  printf '{"claim_number":"GEN-%s-%s","payer":{"id":"60054","name":"ACME"},"patient":{"member_id":"M%s","first_name":"A","last_name":"B","date_of_birth":"1980-01-01"},"provider":{"npi":"1234567893","name":"CLINIC"},"service_date":"2024-12-02","diagnosis_codes":["E11.9"],"lines":[{"procedure_code":"99213","charge":"100.00"}]}\n' "$seed0" "$i" "$i"
done > "$dir/claims.jsonl"
xargs -P 8 -d '\n' -I{} curl -sf -o /dev/null -X POST "localhost:$port/v1/claims" -H "Authorization: Bearer $admin" \
  -H 'Content-Type: application/json' -d '{}' < "$dir/claims.jsonl"

# Each file is timed on a quiet server: the previous file's classification and follow-up
# planning (background jobs of the same process) run to the end first, as do the follow-ups
# of the claims created above. Set BENCH_BACK_TO_BACK=1 to post without waiting.
quiet() {
  [ -n "${BENCH_BACK_TO_BACK:-}" ] && return 0
  if [ "$1" -gt 0 ]; then
    until curl -sf "localhost:$port/v1/remittances?limit=1" -H "Authorization: Bearer $admin" | grep -q '"classified_at":"'; do sleep 0.2; done
  fi
  for _ in $(seq 1 600); do
    jobs=$(curl -sf "localhost:$port/metrics" -H "Authorization: Bearer $admin" | awk '/^overturn_queue_depth/ {s += $2} /^overturn_outbox_pending/ {s += $2} END {print s + 0}')
    [ "$jobs" = 0 ] && break
    sleep 0.2
  done
  sleep 2
}

echo "backend=$backend claims_per_file=$claims runs=$runs"
for run in $(seq 0 $((runs - 1))); do
  "$gen" --claims "$claims" --seed $((seed0 + run)) > "$dir/file.835" 2>/dev/null
  quiet "$run"
  size=$(stat -c %s "$dir/file.835")
  out=$(curl -s -o "$dir/response.json" -w '%{http_code} %{time_total}' -X POST "localhost:$port/v1/remittances" \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/edi-x12' --data-binary @"$dir/file.835")
  matched=$(grep -o '"matched_count":[0-9]*' "$dir/response.json" | cut -d: -f2)
  echo "run $run: $size bytes -> HTTP ${out% *} in ${out#* } s (matched $matched)"
done
echo "RSS after: $(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 )) MiB"
