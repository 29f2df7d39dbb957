#!/usr/bin/env bash
# The X12 readers' throughput as a fraction of a one-pass baseline over the same bytes, measured
# in the same run (domain/benches/readers.rs): `bench/readers.sh [criterion filter]`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p overturn-domain --bench readers -- "${1:-}" >/dev/null
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
def ns(group, name):
    p = root / group / name / "new" / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"] if p.exists() else None
for group, readers in [("835", ["reader"]), ("837", ["reader", "reader_and_claims"]), ("277CA", ["reader"]), ("999", ["reader"])]:
    base = ns(group, "baseline")
    bench = root / group / "baseline" / "new" / "benchmark.json"
    size = json.loads(bench.read_text())["throughput"]["Bytes"] if bench.exists() else None
    if base is None or size is None:
        continue
    mib = lambda t: size / (t / 1e9) / (1 << 20)
    print(f"{group} baseline: {base/1e6:.1f} ms, {mib(base):.0f} MiB/s")
    for r in readers:
        t = ns(group, r)
        if t is not None:
            print(f"{group} {r}: {t/1e6:.1f} ms, {mib(t):.0f} MiB/s, {base/t:.3f} of the baseline")
PY
