#!/usr/bin/env bash
# How much faster Overturn accepts an 835 than pyx12 validates the same file.
#
#   bench/pyx12.sh sqlite|postgres        # CLAIMS=2000 RUNS=5 PYX12_RUNS=2
#
# Overturn's side is bench/remittance.sh (fresh database, half of the first file's claims
# created beforehand, each file posted on a quiet server, curl's time_total: upload, parse,
# store, answer). pyx12's side is `x12valid` (pip install pyx12) on the first of those files,
# generated again from the same seed. Prints both and the ratios against Overturn's median
# and its slowest file (the first, which matches and settles claims).
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
export CLAIMS=${CLAIMS:-2000} RUNS=${RUNS:-5}
pyx12_runs=${PYX12_RUNS:-2}
command -v x12valid >/dev/null || { echo "x12valid not found: pip install pyx12" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

bench/remittance.sh "$backend" | tee "$dir/overturn.out"
target/release/gen-835 --claims "$CLAIMS" --seed 1000 > "$dir/file.835" 2>/dev/null
for _ in $(seq 1 "$pyx12_runs"); do
  start=$(date +%s.%N)
  x12valid "$dir/file.835" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
done | tee "$dir/pyx12.out" | sed 's/^/pyx12 x12valid: /;s/$/ s/'
# The file must be one pyx12 reads as valid ("<file>: OK"). pyx12 4.0 then fails to write its
# 999 for an 835 ("Cannot create AK2") and exits 1 even so; that is its own bug, after validation.
x12valid "$dir/file.835" >"$dir/pyx12.log" 2>&1 || true
if grep -q "file.835: OK" "$dir/pyx12.log"; then echo "pyx12: the file is valid"; else echo "pyx12 found errors:"; grep ERROR "$dir/pyx12.log" | head -20; exit 1; fi

awk '/^run [0-9]+:/ && / HTTP 20[12] / { print $(NF-3) }' "$dir/overturn.out" | sort -g >"$dir/accept.sorted"
median() { awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' "$1"; }
accept_median=$(median "$dir/accept.sorted")
accept_worst=$(tail -n 1 "$dir/accept.sorted")
pyx12_median=$(sort -g "$dir/pyx12.out" | median /dev/stdin)
awk -v m="$accept_median" -v w="$accept_worst" -v p="$pyx12_median" -v c="$CLAIMS" -v b="$backend" 'BEGIN {
  printf "RESULT backend=%s claims=%d accept_median_s=%.3f accept_worst_s=%.3f pyx12_s=%.2f x_median=%.0f x_worst=%.0f\n", b, c, m, w, p, p / m, p / w }'
