#!/usr/bin/env bash
# Compares two builds of Tessera on the same scenarios, in alternating runs (base, new, base,
# new, ...), so that a machine whose speed drifts during the comparison slows both alike. This is
# how the "before → after" figures of docs/performance.md ("What changed") are measured.
#
#   bench/compare.sh BASE_DIR NEW_DIR [PAIRS] [tessera-bench options...]
#
# BASE_DIR and NEW_DIR each hold a release build of one commit: the `tessera` and `tessera-bench`
# binaries copied from `$CARGO_TARGET_DIR/release/` after `cargo build --release --workspace
# --bins` at that commit. Each run uses its own directory's runner and server. PAIRS defaults
# to 5; the options default to `--scenario code-flow`. Every run's rows are printed as they come
# (rate, p99, server CPU, ratio to the run's own baseline), then for each side the median of the
# rates and of the ratios per scenario, and new ÷ base of those medians. Needs python3.
set -euo pipefail
if (($# < 2)); then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
base="$1"
new="$2"
shift 2
pairs=5
if (($#)) && [[ "$1" =~ ^[0-9]+$ ]]; then
    pairs="$1"
    shift
fi
args=("$@")
((${#args[@]})) || args=(--scenario code-flow)
for dir in "$base" "$new"; do
    for bin in tessera tessera-bench; do
        if [[ ! -x "$dir/$bin" ]]; then
            echo "no $bin in $dir: copy both binaries of a release build there" >&2
            exit 1
        fi
    done
done
out="$(mktemp -d "${TMPDIR:-/tmp}/tessera-compare-XXXXXX")"
trap 'rm -rf "$out"' EXIT
echo "base: $base  new: $new  pairs: $pairs  options: ${args[*]}" >&2
for i in $(seq 1 "$pairs"); do
    for side in base new; do
        dir="$base"
        [[ "$side" == new ]] && dir="$new"
        "$dir/tessera-bench" --tessera "$dir/tessera" --json "${args[@]}" >"$out/$side-$i.json"
        python3 - "$side" "$i" "$out/$side-$i.json" <<'EOF'
import json, sys
side, i, path = sys.argv[1:]
for r in json.load(open(path))["results"]:
    ratio = "" if r["ratio"] is None else f"  ratio {r['ratio']:.3f}"
    p99 = "" if r["p99_ms"] is None else f"  p99 {r['p99_ms']:.1f} ms"
    cpu = "" if r["server_cpu_percent"] is None else f"  server {r['server_cpu_percent']:.0f} %"
    print(f"{side:4} {i:>2}  {r['scenario']:<22} {r['requests_per_sec']:>10.1f}/s{p99}{cpu}{ratio}", flush=True)
EOF
    done
done
python3 - "$out" "$pairs" <<'EOF'
import json, statistics, sys
out, pairs = sys.argv[1], int(sys.argv[2])
med = {}
for side in ("base", "new"):
    rows = {}
    for i in range(1, pairs + 1):
        for r in json.load(open(f"{out}/{side}-{i}.json"))["results"]:
            rows.setdefault(r["scenario"], []).append(r)
    for name, rs in rows.items():
        rates = [r["requests_per_sec"] for r in rs]
        ratios = [r["ratio"] for r in rs if r["ratio"] is not None]
        med[(side, name)] = (statistics.median(rates), statistics.median(ratios) if ratios else None)
print()
print(f"{'scenario':<22} {'base /s':>10} {'new /s':>10} {'new÷base':>9} {'base ratio':>11} {'new ratio':>10} {'new÷base':>9}")
for (side, name), (rate, ratio) in med.items():
    if side != "base" or ("new", name) not in med:
        continue
    nrate, nratio = med[("new", name)]
    line = f"{name:<22} {rate:>10.1f} {nrate:>10.1f} {nrate / rate if rate else float('nan'):>9.3f}"
    if ratio is not None and nratio is not None:
        line += f" {ratio:>11.3f} {nratio:>10.3f} {nratio / ratio:>9.3f}"
    print(line)
EOF
