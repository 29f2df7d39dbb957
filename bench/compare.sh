#!/usr/bin/env bash
# Two revisions' release binaries, measured against each other in the same run.
#
#   bench/compare.sh OLD_REV NEW_REV            # e.g. bench/compare.sh HEAD~1 HEAD
#   bench/compare.sh 042d7b2 WORKTREE           # WORKTREE: this checkout as it is, uncommitted changes too
#
# Each revision is checked out into its own worktree and built into its own target folder
# (under $COMPARE_DIR, kept between runs, so a second comparison builds only what changed),
# then the benchmarks of *this* checkout's bench/ run against each binary in turn, A B A B
# (ROUNDS rounds), so both see the same machine in the same hour. At the end: each figure's
# median per binary and NEW/OLD. A benchmark the old binary cannot run (a route it does not
# have yet) shows n/a.
#
#   ROUNDS=2                          rounds of A B
#   CASES="claims-sqlite claims-postgres claims-sqlite-old claims-postgres-old remittance-sqlite remittance-postgres denials-postgres"
#   DURATION=15s                      each claims run
#   RUNS=3 CLAIMS=20000               each remittance run (posts RUNS files of CLAIMS claims)
#
# Needs what the benchmarks need: wrk, PostgreSQL and Redis on their default ports.
set -euo pipefail
cd "$(dirname "$0")/.."
here=$(pwd)

[ $# -eq 2 ] || { sed -n 2,18p "$0"; exit 2; }
old_rev=$1
new_rev=$2
rounds=${ROUNDS:-2}
cases=${CASES:-claims-sqlite claims-postgres claims-sqlite-old claims-postgres-old remittance-sqlite remittance-postgres denials-postgres}
work=${COMPARE_DIR:-/tmp/overturn-compare}
export DURATION=${DURATION:-15s} RUNS=${RUNS:-3}
mkdir -p "$work"

# A service date two years back: every claim's status check and timely-filing watch are due
# on arrival and fire at once.
old_date=$(date -u -d '2 years ago' +%F)

# Builds a revision's `overturn` binary and prints its path.
build() {
  local rev=$1 src sha
  if [ "$rev" = WORKTREE ]; then
    src=$here
    sha=worktree
  else
    sha=$(git rev-parse --short=10 "$rev^{commit}")
    src="$work/src-$sha"
    [ -d "$src" ] || git worktree add -f --detach "$src" "$sha" >/dev/null 2>&1
  fi
  # --workspace --bin: the binary's package has had other names in the project's history.
  (cd "$src" && CARGO_TARGET_DIR="$work/target-$sha" cargo build --release --quiet --workspace --bin overturn >&2)
  cp "$work/target-$sha/release/overturn" "$work/overturn-$sha"
  echo "$work/overturn-$sha"
}

echo "building $old_rev and $new_rev (release)..." >&2
bin_a=$(build "$old_rev")
bin_b=$(build "$new_rev")
# The file generator of this checkout feeds both binaries the same files.
cargo build --release --quiet -p overturn-tests --bin gen-835 >&2

# Runs one case against one binary; prints "name=value" figures, nothing if it failed.
run_case() {
  local case=$1 bin=$2 out
  out=$(mktemp)
  case $case in
    claims-sqlite | claims-postgres | claims-sqlite-old | claims-postgres-old)
      local backend=${case#claims-}
      local date=""
      if [ "${backend%-old}" != "$backend" ]; then backend=${backend%-old}; date=$old_date; fi
      if OVERTURN_BIN=$bin SERVICE_DATE=$date bench/claims.sh "$backend" >"$out" 2>&1; then
        awk '/^RESULT/ { for (i = 2; i <= NF; i++) print $i }' "$out"
      fi
      ;;
    remittance-sqlite | remittance-postgres)
      if OVERTURN_BIN=$bin bench/remittance.sh "${case#remittance-}" >"$out" 2>&1; then
        awk '/^run 0:/ { print "first_file_s=" $(NF-3) } /^run [1-9]/ { s += $(NF-3); n++ } END { if (n) print "other_files_s=" s / n }' "$out"
      fi
      ;;
    denials-postgres)
      if OVERTURN_BIN=$bin bench/denials.sh postgres >"$out" 2>&1; then
        # "run N: accepted in A s, every denial listed L s after ...; job ... = R adjustments/s"
        sed -nE 's/^run [0-9]+: accepted in ([0-9.]+) s, every denial listed ([0-9.]+) s .* = ([0-9]+) adjustments\/s$/\1 \2 \3/p' "$out" |
          awk '{ a += $1; l += $2; r += $3; n++ } END { if (n) { print "accepted_s=" a / n; print "all_listed_s=" l / n; print "adjustments_per_s=" r / n } }'
      fi
      ;;
    *) echo "unknown case $case" >&2 ;;
  esac
  cp "$out" "$work/last-$case-$(basename "$bin").log"
  rm -f "$out"
}

results="$work/results-$(date -u +%Y%m%dT%H%M%S).txt"
: >"$results"
for round in $(seq 1 "$rounds"); do
  for case in $cases; do
    for side in A B; do
      bin=$bin_a
      [ $side = B ] && bin=$bin_b
      echo "round $round: $case $side" >&2
      run_case "$case" "$bin" | sed "s/^/$case $side /" >>"$results"
    done
  done
done

echo
echo "OLD (A) = $old_rev   NEW (B) = $new_rev   rounds=$rounds   $(date -u +%FT%TZ)"
printf '%-22s %-18s %12s %12s %8s\n' case figure A B B/A
for case in $cases; do
  for figure in $(awk -v c="$case" '$1 == c { split($3, kv, "="); print kv[1] }' "$results" | sort -u); do
    med() {
      awk -v c="$case" -v s="$1" -v f="$figure" '$1 == c && $2 == s { split($3, kv, "="); if (kv[1] == f) print kv[2] }' "$results" |
        sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    }
    a=$(med A)
    b=$(med B)
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a == "n/a" || b == "n/a" || a == 0) print "n/a"; else printf "%.2f", b / a }')
    printf '%-22s %-18s %12s %12s %8s\n' "$case" "$figure" "$a" "$b" "$ratio"
  done
done
echo "(every run's figures: $results; each case's last output: $work/last-*.log)"
