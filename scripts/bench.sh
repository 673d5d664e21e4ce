#!/usr/bin/env bash
# Benchmarks the Rust losses against libtorch on the same inputs (benches/losses.rs),
# one thread and all threads, then prints a Markdown table of throughputs and ratios.
#
#   scripts/bench.sh            all shapes (about 10-15 minutes on 2 cores)
#   scripts/bench.sh --quick    small shapes only, shorter timings (a few minutes)
#   scripts/bench.sh [--quick] -- FILTER   extra arguments go to criterion, e.g. a
#                                           regex on ids like 'cross_entropy/f32/'
#
# Each thread mode runs in its own process: LOSSPARITY_BENCH_THREADS=1 with
# RAYON_NUM_THREADS=1 (so even rayon's global pool has one thread), then
# LOSSPARITY_BENCH_THREADS=all. The table only shows results written by this run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

quick=0
criterion_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1 ;;
        --) shift; criterion_args+=("$@"); break ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

export LOSSPARITY_BENCH_QUICK="$quick"
# Where criterion writes its results (what `cargo bench` would use) and the table reads.
export CRITERION_HOME="${CARGO_TARGET_DIR:-$root/target}/criterion"
load() { cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?"; }
load_start=$(load)
if awk -v l="$load_start" 'BEGIN { exit !(l + 0 > 0.5) }'; then
    echo "bench.sh: warning: load average is $load_start before starting; other processes" \
         "compete for the cores and distort the timings (multi-threaded ones most)" >&2
fi
start=$(date +%s)
t0=$SECONDS

# Build once and run that executable for both thread modes, so both measure the same
# code even if src/ changes meanwhile (cargo bench would rebuild between the runs).
exe=$(cargo bench --bench losses --no-run --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "losses" \
            and msg.get("executable"):
        print(msg["executable"])
')
if [ -z "$exe" ]; then
    echo "bench.sh: could not find the built bench executable" >&2
    exit 1
fi

LOSSPARITY_BENCH_THREADS=1 RAYON_NUM_THREADS=1 \
    "$exe" --bench --noplot "${criterion_args[@]+"${criterion_args[@]}"}"
LOSSPARITY_BENCH_THREADS=all \
    "$exe" --bench --noplot "${criterion_args[@]+"${criterion_args[@]}"}"

echo
python3 "$root/scripts/bench_table.py" --dir "$CRITERION_HOME" --since "$start"
echo
echo "benchmarks took $((SECONDS - t0)) s (threads: 1 and $(nproc) cores;" \
     "1-minute load average $load_start at start, $(load) at end)"
