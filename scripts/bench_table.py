#!/usr/bin/env python3
"""Prints a Markdown table of the `losses` criterion benchmarks: Rust vs libtorch.

Reads target/criterion/<group>/<function>/<param>/new/{benchmark.json,estimates.json}
as written by `cargo bench --bench losses` (benches/losses.rs): group
`{op}/{dtype}/{threads}` (`{op}[{variant}]/...` for the options matrices of
benches/ce_options and benches/op_options), function `rust` or `libtorch`, parameter the
shape (`4096x32000`). Throughput is the input's elements per second; the ratio is
Rust/libtorch throughput (> 1: Rust is faster).

Usage: scripts/bench_table.py [--dir target/criterion] [--since EPOCH_SECONDS]
                              [--stat median|mean|slope]

The default statistic is the median time per call: robust to the odd preempted sample.
"""

import argparse
import json
import math
import os
import sys

# benches/op_options: each op's variants in the bench's order, `plain` first.
OPTION_VARIANTS = {
    "nll_loss": ["plain", "weight", "ignore", "weight+ignore"],
    "binary_cross_entropy": ["plain", "weight"],
    "binary_cross_entropy_with_logits": [
        "plain",
        "weight",
        "pos_weight",
        "weight+pos_weight",
        "none",
    ],
    "kl_div": ["plain", "batchmean", "log_target"],
    "mse_loss": ["plain", "weight", "none", "weight+sum"],
    "l1_loss": ["plain", "weight", "none"],
    "smooth_l1_loss": ["plain", "beta=0", "beta=0.5"],
    "huber_loss": ["plain", "delta=0.5", "weight"],
    "poisson_nll_loss": ["plain", "log_input=false", "full"],
    "gaussian_nll_loss": ["plain", "var_broadcast", "full"],
    "multilabel_soft_margin_loss": ["plain", "weight"],
}


def with_options(op):
    """`op` and `op_fwd_bwd`, then their `[variant]` groups if it has any."""
    names = (op, op + "_fwd_bwd")
    return list(names) + [
        f"{name}[{variant}]" for name in names for variant in OPTION_VARIANTS.get(op, [])
    ]


OP_ORDER = ["log_softmax"] + with_options("nll_loss") + [
    "cross_entropy",
    "cross_entropy_fwd_bwd",
] + [
    f"{op}[{variant}]"
    for op in ["cross_entropy", "cross_entropy_fwd_bwd"]
    for variant in [
        "plain",
        "weight",
        "ignore",
        "smoothing",
        "smoothing+weight+ignore",
        "probabilities",
    ]
] + [
    name
    for op in [
        "mse_loss",
        "l1_loss",
        "smooth_l1_loss",
        "huber_loss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "soft_margin_loss",
        "multilabel_soft_margin_loss",
        "kl_div",
        "poisson_nll_loss",
        "gaussian_nll_loss",
        "hinge_embedding_loss",
        "margin_ranking_loss",
        "cosine_embedding_loss",
        "multi_margin_loss",
        "multilabel_margin_loss",
        "triplet_margin_loss",
        "triplet_margin_with_distance_loss",
        "ctc_loss",
        "linear_cross_entropy",
    ]
    for name in with_options(op)
]
THREAD_ORDER = ["1-thread", "all-threads"]
SIDES = ("rust", "libtorch")


def human(rate):
    """Elements per second with an SI prefix: 1.23 G."""
    if rate is None:
        return "—"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= factor:
            return f"{rate / factor:.3g} {prefix}"
    return f"{rate:.3g}"


def human_spread(spread):
    """Half the width of criterion's 95% confidence interval, relative."""
    if spread is None:
        return ""
    if spread > 1:
        return " ±>100%"
    return f" ±{spread * 100:.0f}%" if spread >= 0.005 else " ±<1%"


def human_time(ns):
    if ns is None:
        return "—"
    for factor, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= factor:
            return f"{ns / factor:.3g} {unit}"
    return f"{ns:.3g} ns"


def load(root, since, stat):
    """{(op, dtype, threads, shape): {side: (ns_per_iter, elements)}}."""
    results = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) != "new":
            continue
        if "benchmark.json" not in filenames or "estimates.json" not in filenames:
            continue
        est_path = os.path.join(dirpath, "estimates.json")
        if since is not None and os.path.getmtime(est_path) < since:
            continue
        with open(os.path.join(dirpath, "benchmark.json")) as f:
            bench = json.load(f)
        group = bench.get("group_id", "")
        parts = group.split("/")
        side = bench.get("function_id")
        if len(parts) != 3 or side not in SIDES or parts[0] not in OP_ORDER:
            continue  # not one of ours
        with open(est_path) as f:
            estimates = json.load(f)
        entry = estimates.get(stat) or estimates.get("mean")
        ns = entry["point_estimate"]
        ci = entry.get("confidence_interval") or {}
        lo, hi = ci.get("lower_bound"), ci.get("upper_bound")
        spread = (hi - lo) / 2 / ns if ns and lo is not None and hi is not None else None
        elements = (bench.get("throughput") or {}).get("Elements")
        shape = bench.get("value_str") or ""
        key = (parts[0], parts[1], parts[2], shape)
        results.setdefault(key, {})[side] = (ns, elements, spread)
    return results


def numel(shape):
    try:
        return math.prod(int(d) for d in shape.split("x"))
    except ValueError:
        return 0


def sort_key(key):
    op, dtype, threads, shape = key
    return (
        OP_ORDER.index(op),
        dtype,
        numel(shape),
        shape,
        THREAD_ORDER.index(threads) if threads in THREAD_ORDER else len(THREAD_ORDER),
        threads,
    )


def rate(side):
    if side is None:
        return None
    ns, elements, _spread = side
    if not elements or not ns:
        return None
    return elements / (ns * 1e-9)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=None, help="criterion output folder")
    parser.add_argument(
        "--since",
        type=float,
        default=None,
        help="only results written at or after this Unix time (skips stale runs)",
    )
    parser.add_argument("--stat", default="median", choices=["mean", "median", "slope"])
    args = parser.parse_args()

    root = args.dir
    if root is None:
        target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "target"
        )
        root = os.path.join(target, "criterion")
    if not os.path.isdir(root):
        sys.exit(f"no criterion results in {root}; run scripts/bench.sh first")

    results = load(root, args.since, args.stat)
    if not results:
        sys.exit(f"no `losses` benchmark results in {root}")

    print(
        f"Throughput in input elements per second ({args.stat} time per call and half "
        "the width of its 95% confidence interval in parentheses); "
        "ratio = Rust / libtorch (> 1: Rust faster)."
    )
    print()
    print("| op | dtype | shape | threads | Rust | libtorch | Rust/libtorch |")
    print("|---|---|---|---|---:|---:|---:|")
    for key in sorted(results, key=sort_key):
        op, dtype, threads, shape = key
        sides = results[key]
        r, t = rate(sides.get("rust")), rate(sides.get("libtorch"))
        ratio = f"{r / t:.2f}" if r and t else "—"
        cells = []
        for side, value in (("rust", r), ("libtorch", t)):
            if not value:
                cells.append("—")
                continue
            ns, _elements, spread = sides[side]
            cells.append(f"{human(value)} ({human_time(ns)}{human_spread(spread)})")
        print(f"| {op} | {dtype} | {shape} | {threads} | {cells[0]} | {cells[1]} | {ratio} |")


if __name__ == "__main__":
    main()
