//! `report.md`: the report for people. Summary, the agreement table per op x dtype x
//! reduction, who is right, each side's accuracy against the reference, the histogram
//! plots, and the worst cases of each divergence class with their JSON and repro links.

use std::fmt::Write as _;

use crate::case::DType;
use crate::compare::Tolerance;

use super::stats::{CaseEntry, Extremes, GroupStats, Report, RunInfo, WhoIsRight};

fn sci(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.is_finite() {
        format!("{v:.2e}")
    } else {
        format!("{v}")
    }
}

fn worst(e: &Extremes) -> String {
    match e.worst_case {
        Some(i) if e.worst_ratio > 0.0 => format!("case-{i} ({})", sci(e.worst_ratio)),
        _ => "-".into(),
    }
}

/// A ULP count: exact up to a million, then in scientific notation.
fn ulps(n: u64) -> String {
    if n < 1_000_000 {
        n.to_string()
    } else {
        format!("{:.1e}", n as f64)
    }
}

fn extremes_cells(e: &Extremes) -> String {
    if e.elements == 0 {
        return "- | - | - |".into();
    }
    let nonfinite = if e.nonfinite > 0 {
        format!(" (+{} NaN/inf)", e.nonfinite)
    } else {
        String::new()
    };
    format!(
        "{} | {} | {}{nonfinite} |",
        sci(e.max_abs),
        sci(e.max_rel),
        ulps(e.max_ulp)
    )
}

fn summary_line(t: &GroupStats, classes: &Report) -> String {
    // A value divergence where the Rust side is within tolerance of the exact result,
    // or nearer to it than libtorch, is explained by the reference (libtorch's rounding);
    // the rest may be Rust bugs and are the unexplained ones.
    let explained = t.who.rust_closer + t.who.both_within_policy;
    let mut s = format!(
        "{} cases: {} values agree, {} raise the same error, {} known divergences, \
         {} value divergences explained by the exact reference (rust-closer or \
         both-within-policy), {} unexplained divergences",
        t.cases,
        t.agree,
        t.errors_agree,
        t.known,
        explained,
        t.diverge - explained
    );
    if t.diverge > 0 {
        let parts: Vec<String> = classes
            .classes
            .iter()
            .filter(|(c, _)| !matches!(c, super::stats::DivergenceClass::Known(_)))
            .map(|(c, stats)| format!("{} {}", stats.count, c.name()))
            .collect();
        let _ = write!(s, " ({})", parts.join(", "));
    }
    s.push('.');
    s
}

fn entry_section(s: &mut String, e: &CaseEntry, (sub, ora): (&str, &str)) {
    let _ = writeln!(
        s,
        "#### {} · {} {} {}\n",
        e.id(),
        e.group.op.name(),
        e.group.dtype.name(),
        e.group.reduction_name()
    );
    let _ = writeln!(s, "`{}`\n", e.divergence.replace('`', "'"));
    if let Some(el) = &e.element {
        let reference = el
            .reference
            .map_or("none".to_string(), |r| format!("{r:e}"));
        let _ = writeln!(
            s,
            "Worst element `{}[{}]`: {ora} {:e}, {sub} {:e}, reference {reference}.",
            el.part, el.index, el.torch, el.rust
        );
    }
    if let (Some(r), Some(t)) = (e.rust_ratio, e.torch_ratio) {
        let _ = writeln!(
            s,
            "Against the reference (worst element, in units of the tolerance): {sub} {}, {ora} {}.",
            sci(r),
            sci(t)
        );
    }
    let _ = writeln!(
        s,
        "\n```json\n{}\n```\n\nReproduce: [{}]({})\n",
        e.case_json,
        e.repro_path(),
        e.repro_path()
    );
}

/// The report as Markdown; `run_notes` (timings and the like) go into a final "Run"
/// section, kept apart from the deterministic content.
pub fn to_markdown(report: &Report, run_notes: Option<&str>) -> String {
    let info = &report.info;
    let (sub, ora) = (RunInfo::label(&info.subject), RunInfo::label(&info.oracle));
    let t = report.totals();
    let mut s = String::from("# lossparity divergence report\n\n");
    let ops: Vec<&str> = info.ops.iter().map(|o| o.name()).collect();
    let dtypes: Vec<&str> = info.dtypes.iter().map(|d| d.name()).collect();
    let _ = writeln!(
        s,
        "Seed {}, {} random cases of {} ({}) from the conformance tests' strategies, run \
         through {}.{}\n",
        info.seed,
        info.cases,
        ops.join(", "),
        dtypes.join(", "),
        if info.is_default() {
            "libtorch (via `tch`) and the Rust losses".to_string()
        } else {
            format!(
                "`{ora}` (the oracle) and `{sub}` (the subject under test); the class names \
                 keep the project's words, `rust` for the subject and `libtorch` for the \
                 oracle (`value/rust-closer`: {sub} is nearer the reference). {} cases \
                 are outside what {sub} can express and are not compared",
                t.unsupported
            )
        },
        match info.shard {
            Some(shard) => format!(
                " This is shard {shard}: the cases whose index is {} modulo {} ({} of them).",
                shard.index, shard.count, t.cases
            ),
            None => String::new(),
        }
    );
    let _ = writeln!(s, "**{}**\n", summary_line(&t, report));
    if t.reference_cases > 0 {
        let _ = writeln!(
            s,
            "Against the higher-precision reference, over {} value cases: {sub} is \
             outside the tolerance of the exact result in {} cases, {ora} in {}; largest \
             errors: {sub} {} (abs), {ora} {} (abs).\n",
            t.reference_cases,
            t.rust.outside_policy,
            t.torch.outside_policy,
            sci(t.rust.error.max_abs),
            sci(t.torch.error.max_abs)
        );
    }
    let f32t = Tolerance::for_dtype(DType::Float32);
    let f64t = Tolerance::for_dtype(DType::Float64);
    let _ = writeln!(
        s,
        "Tolerance policy: `|{sub} - {ora}| <= atol + rtol |{ora}|` with float32 atol {:e}, \
         rtol {:e}; float64 atol {:e}, rtol {:e}; `nll_loss` bit for bit. Every divergent \
         case is in `divergences.jsonl` (replay with `lossparity diff divergences.jsonl`).\n",
        f32t.atol, f32t.rtol, f64t.atol, f64t.rtol
    );

    s.push_str("## Agreement per op, dtype and reduction\n\n");
    s.push_str(
        "Max abs / rel / ULP: the largest differences between the two sides over the value \
         elements (outputs and gradients) of the group; worst: the case with the largest \
         difference relative to the tolerance (above 1 diverges). Near zero (cancellation \
         in a gradient, an underflowing softmax) relative and ULP distances grow without \
         bound while the absolute difference stays tiny: the tolerance, not the ULP count, \
         decides.\n\n",
    );
    s.push_str("| op | dtype | reduction | cases | agree | diverge | known | errors agree | max abs | max rel | max ULP | worst |\n");
    s.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    let mut rows: Vec<(String, &GroupStats)> = report
        .groups
        .iter()
        .map(|(k, g)| {
            (
                format!(
                    "| {} | {} | {} ",
                    k.op.name(),
                    k.dtype.name(),
                    k.reduction_name()
                ),
                g,
            )
        })
        .collect();
    rows.push(("| **all** | | ".to_string(), &t));
    for (key, g) in &rows {
        let _ = writeln!(
            s,
            "{key}| {} | {} | {} | {} | {} | {} {} |",
            g.cases,
            g.agree,
            g.diverge,
            g.known,
            g.errors_agree,
            extremes_cells(&g.sides),
            worst(&g.sides)
        );
    }

    s.push_str("\n## Who is right\n\n");
    s.push_str(
        "Every value divergence is recomputed in higher precision: a float32 case in f64 \
         by the Rust losses, a float64 case in double-double arithmetic (about 106 bits, \
         `src/reference.rs`). Each side's worst error against that reference is measured \
         in units of the tolerance: **libtorch-closer** means libtorch is nearer the exact \
         result (suspect the Rust side), **rust-closer** means the Rust side is nearer (a \
         libtorch imprecision, not a Rust bug), **both-within-policy** means both are \
         within tolerance of the exact result though not of each other, **undecided** \
         means no reference or a tie.\n\n",
    );
    let judged: Vec<_> = rows.iter().filter(|(_, g)| g.who.total() > 0).collect();
    if judged.is_empty() {
        s.push_str("No value divergences.\n");
    } else {
        s.push_str("| op | dtype | reduction | value divergences |");
        for w in WhoIsRight::ALL {
            let _ = write!(s, " {} |", w.name());
        }
        s.push_str("\n|---|---|---|--:|--:|--:|--:|--:|\n");
        for (key, g) in judged {
            let _ = write!(s, "{key}| {} |", g.who.total());
            for w in WhoIsRight::ALL {
                let _ = write!(s, " {} |", g.who.get(w));
            }
            s.push('\n');
        }
    }

    s.push_str("\n## Accuracy against the reference\n\n");
    let _ = writeln!(
        s,
        "Each side's largest error against the reference over the {} value cases that \
         have one (agreeing and diverging alike; ULPs in the case's dtype, against the \
         reference rounded to it). \"outside\" counts the cases with an element outside \
         the tolerance of the exact result; \"worst\" is the case with the largest error \
         in units of the tolerance. When both sides have the same error (nll_loss is bit \
         for bit), the error is the algorithm's, libtorch's included.\n",
        t.reference_cases
    );
    let _ = writeln!(s, "| op | dtype | reduction | cases | {sub} max abs | {sub} max rel | {sub} max ULP | {sub} outside | {sub} worst | {ora} max abs | {ora} max rel | {ora} max ULP | {ora} outside | {ora} worst |");
    s.push_str("|---|---|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|---|\n");
    for (key, g) in &rows {
        if g.reference_cases == 0 {
            continue;
        }
        let _ = writeln!(
            s,
            "{key}| {} | {} {} | {} | {} {} | {} |",
            g.reference_cases,
            extremes_cells(&g.rust.error),
            g.rust.outside_policy,
            worst(&g.rust.error),
            extremes_cells(&g.torch.error),
            g.torch.outside_policy,
            worst(&g.torch.error)
        );
    }

    s.push_str("\n## Histograms\n\n");
    let _ = writeln!(
        s,
        "{sub} against {ora}, element by element: `log10(|{sub} - {ora}| / (atol + rtol \
         |{ora}|))`, so 0 is the edge of the tolerance; \"exact\" counts identical elements.\n",
    );
    let mut seen = Vec::new();
    for (op, _, _) in report.histograms.values() {
        if !seen.contains(op) {
            seen.push(*op);
            let _ = writeln!(s, "![{0}](histogram-{0}.svg)\n", op.name());
        }
    }

    s.push_str("## Divergences by class\n\n");
    if report.classes.is_empty() {
        s.push_str("No divergences.\n\n");
    }
    for (class, stats) in &report.classes {
        let _ = writeln!(
            s,
            "### {}: {} case{}\n\n{} The worst {}:\n",
            class.name(),
            stats.count,
            if stats.count == 1 { "" } else { "s" },
            class.meaning(),
            stats.worst.len()
        );
        for e in &stats.worst {
            entry_section(&mut s, e, (sub, ora));
        }
    }
    if let Some(notes) = run_notes {
        let _ = writeln!(s, "## Run\n\n{notes}");
    }
    s
}
