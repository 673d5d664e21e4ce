//! Fails when the random case generators stop exercising an op, a layout, an option or
//! an error: the conformance properties are only as good as what they generate.

use std::collections::BTreeSet;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use lossparity::backend::{Backend, RustBackend};
use lossparity::case::{Arg, Case, DType, Op, Values};
use lossparity::strategies::{Draw, ElementwiseCases};

fn sample(strategy: impl Strategy<Value = Case>, n: usize, seed: u8) -> Vec<Case> {
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("strategy").current())
        .collect()
}

/// Every feature a set of cases shows, by name.
fn features(cases: &[Case]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for case in cases {
        let op = case.op.name();
        let ndim = case.input().shape.len();
        seen.insert(format!("{op} {ndim}-D"));
        seen.insert(format!("{op} {}", case.input().dtype.name()));
        if case.grad {
            seen.insert(format!("{op} grad"));
        }
        if case.grad_output.is_some() {
            seen.insert(format!("{op} grad_output"));
        }
        for wrt in case.grad_wrt() {
            seen.insert(format!("{op} grad_wrt {wrt}"));
        }
        if let Values::Float(v) = &case.input().values {
            if v.iter().any(|x| x.is_nan()) {
                seen.insert(format!("{op} nan logit"));
            }
            if v.iter().any(|x| x.is_infinite()) {
                seen.insert(format!("{op} inf logit"));
            }
            if v.iter().any(|x| x.abs() >= 1e3 && x.is_finite()) {
                seen.insert(format!("{op} huge logit"));
            }
        }
        let two_words = |m: &str| m.split(' ').take(2).collect::<Vec<_>>().join(" ");
        match &RustBackend::default().evaluate(case).result {
            Err(e) => {
                seen.insert(format!("{op} error {}: {}", e.kind, two_words(&e.message)));
            }
            Ok(c) => {
                if let Some(Err(e)) = &c.grads {
                    seen.insert(format!(
                        "{op} grad_error {}: {}",
                        e.kind,
                        two_words(&e.message)
                    ));
                }
            }
        }
        if case.op.spec().cases.is_some() || MARGIN_OPS.contains(&op) || SEQUENCE_OPS.contains(&op)
        {
            elementwise_features(case, &mut seen);
        }
        if MARGIN_OPS.contains(&op) || op == "hinge_embedding_loss" {
            margin_features(case, &mut seen);
        }
        if SEQUENCE_OPS.contains(&op) {
            sequence_features(case, &mut seen);
        }
        if op == "linear_cross_entropy" {
            linear_features(case, &mut seen);
            continue;
        }
        if !case.op.is_loss() {
            continue;
        }
        if let Some(t) = case.target() {
            if t.shape != case.input().shape {
                seen.insert(format!("{op} broadcast target"));
            }
            if !t.dtype.is_float() {
                seen.insert(format!("{op} {} target", t.dtype.name()));
            }
        }
        if case.input().values.is_empty() {
            seen.insert(format!("{op} empty input"));
        }
        let classes = match ndim {
            0 => 0,
            1 => case.input().shape[0],
            _ => case.input().shape[1],
        };
        if ndim >= 2 && case.input().shape[0] == 0 {
            seen.insert(format!("{op} empty batch"));
        }
        if classes == 1 {
            seen.insert(format!("{op} one class"));
        }
        seen.insert(format!("{op} reduction {}", case.reduction().as_str()));
        if let Some(w) = case.weight().and_then(|w| w.floats()) {
            seen.insert(format!("{op} weight"));
            if w.contains(&0.0) {
                seen.insert(format!("{op} zero weight"));
            }
            if w.iter().any(|&x| x < 0.0) {
                seen.insert(format!("{op} negative weight"));
            }
        }
        let ii = case.ignore_index();
        if ii >= 0 && (ii as usize) < classes {
            seen.insert(format!("{op} ignore_index in range"));
        } else if ii != -100 {
            seen.insert(format!("{op} ignore_index out of range"));
        }
        if let Some(t) = case.target() {
            match (&t.values, t.dtype) {
                (Values::Int(v), dtype) => {
                    if dtype == DType::UInt8 {
                        seen.insert(format!("{op} uint8 target {}-D", ndim.min(3)));
                    }
                    if v.contains(&ii) {
                        seen.insert(format!("{op} ignored positions"));
                    }
                    if v.iter().any(|&x| x >= classes as i64 && x != ii) {
                        seen.insert(format!("{op} out-of-bounds target"));
                    }
                    if v.iter().any(|&x| x < 0 && x != ii) {
                        seen.insert(format!("{op} negative target"));
                    }
                }
                (Values::Float(_), _) if t.shape == case.input().shape => {
                    seen.insert(format!("{op} probability target"));
                }
                _ => {}
            }
        }
        if op == "cross_entropy" {
            let ls = case.label_smoothing();
            let bucket = if ls < 0.0 {
                "negative"
            } else if ls == 0.0 {
                "zero"
            } else if ls < 1.0 {
                "in (0, 1)"
            } else if ls == 1.0 {
                "one"
            } else {
                "above one"
            };
            seen.insert(format!("{op} label_smoothing {bucket}"));
        }
    }
    seen
}

/// What `linear_cross_entropy`'s cases show: the shapes of its linear layer, the
/// logits' target kind, its options (the common loss features read the input as
/// logits, which here it is not).
fn linear_features(case: &Case, seen: &mut BTreeSet<String>) {
    let op = "linear_cross_entropy";
    let x = &case.input().shape;
    let w = case.tensor("linear_weight").expect("linear_weight");
    let mut say = |what: String| {
        seen.insert(format!("{op} {what}"));
    };
    say(format!("linear_weight {}-D", w.shape.len()));
    let bias = case.tensor("linear_bias");
    say(if bias.is_some() { "bias" } else { "no bias" }.to_string());
    if w.dtype != case.input().dtype || bias.is_some_and(|b| b.dtype != w.dtype) {
        say("mixed dtypes".to_string());
    }
    if !case.input().dtype.is_float() {
        say("integer operands".to_string());
    }
    if x.len() == 2 && x[0] == 0 {
        say("empty batch".to_string());
    }
    if x.last() == Some(&0) {
        say("no features".to_string());
    }
    if w.shape.first() == Some(&0) {
        say("no classes".to_string());
    }
    say(format!("reduction {}", case.reduction().as_str()));
    let ls = case.label_smoothing();
    say(format!(
        "label_smoothing {}",
        if ls < 0.0 {
            "negative"
        } else if ls == 0.0 {
            "zero"
        } else if ls < 1.0 {
            "in (0, 1)"
        } else if ls == 1.0 {
            "one"
        } else {
            "above one"
        }
    ));
    if let Some(cw) = case.weight().and_then(|w| w.floats()) {
        say("weight".to_string());
        if cw.contains(&0.0) {
            say("zero weight".to_string());
        }
        if cw.iter().any(|&v| v < 0.0) {
            say("negative weight".to_string());
        }
    }
    let classes = w.shape.first().copied().unwrap_or(0) as i64;
    let ii = case.int("ignore_index");
    say(match ii {
        None => "ignore_index unset".to_string(),
        Some(-100) => "ignore_index -100".to_string(),
        Some(i) if (0..classes).contains(&i) => "ignore_index in range".to_string(),
        Some(_) => "ignore_index out of range".to_string(),
    });
    let Some(t) = case.target() else { return };
    let mut logits: Vec<usize> = x[..x.len().saturating_sub(1)].to_vec();
    logits.extend(&w.shape[..w.shape.len().saturating_sub(1)]);
    match &t.values {
        Values::Float(_) if t.shape == logits => say("probability target".to_string()),
        Values::Int(v) => {
            say(format!("{} target", t.dtype.name()));
            let ii = ii.unwrap_or(-100);
            if v.contains(&ii) {
                say("ignored positions".to_string());
            }
            if v.iter().any(|&c| c != ii && !(0..classes).contains(&c)) {
                say("out-of-bounds target".to_string());
            }
        }
        Values::Float(_) => say("float index target".to_string()),
    }
}

/// The value classes of a tensor's values: where they lie against 0 and 1.
fn value_classes(values: &[f64]) -> BTreeSet<&'static str> {
    values
        .iter()
        .map(|&x| match x {
            x if x.is_nan() => "nan",
            x if x.is_infinite() => "inf",
            x if x < 0.0 => "negative",
            0.0 => "zero",
            x if x < 1.0 => "in (0, 1)",
            1.0 => "one",
            _ => "above one",
        })
        .collect()
}

/// The value classes a draw is expected to reach.
fn draw_classes(draw: Draw) -> &'static [&'static str] {
    match draw {
        Draw::Logits => &["negative", "in (0, 1)", "above one", "nan", "inf"],
        Draw::Probabilities => &["zero", "in (0, 1)", "one", "negative", "above one"],
        Draw::LogProbabilities => &["negative", "zero", "inf", "in (0, 1)"],
        Draw::Positive => &["zero", "in (0, 1)", "above one", "negative"],
        Draw::Signs => &["negative", "one", "zero"],
        Draw::Binary => &["zero", "one", "in (0, 1)", "negative"],
    }
}

/// Features of an element-wise loss drawn from its description: its options' values,
/// its extra tensors and how they broadcast, the value classes of each tensor.
fn elementwise_features(case: &Case, seen: &mut BTreeSet<String>) {
    let op = case.op.name();
    seen.insert(format!("{op} reduction-name {}", case.reduction_name()));
    for (name, arg) in case.args() {
        match arg {
            Arg::Bool(v) => {
                seen.insert(format!("{op} {name}={v}"));
            }
            Arg::Float(v) => {
                seen.insert(format!("{op} {name}={v}"));
            }
            Arg::Int(v) => {
                seen.insert(format!("{op} {name}={v}"));
            }
            Arg::Tensor(t) => {
                if name != "input" {
                    seen.insert(format!("{op} tensor {name}"));
                    if t.shape != case.input().shape {
                        seen.insert(format!("{op} tensor {name} of another shape"));
                    }
                }
                if let Some(v) = t.floats() {
                    for class in value_classes(v) {
                        seen.insert(format!("{op} {name} value {class}"));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The margin losses drawn from their own strategies (not from an element-wise
/// description).
const MARGIN_OPS: [&str; 4] = [
    "margin_ranking_loss",
    "cosine_embedding_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
];

/// What the margin losses' cases show beyond the common features: labels in {0, 1}
/// where {-1, 1} are meant, one-hot class targets, 0/1 masks, and the shapes of
/// `multilabel_margin_loss`'s class lists.
fn margin_features(case: &Case, seen: &mut BTreeSet<String>) {
    let op = case.op.name();
    let Some(t) = case.target() else {
        return;
    };
    let values: Vec<f64> = match &t.values {
        Values::Float(v) => v.clone(),
        Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
    };
    let binary = values.contains(&0.0) && values.iter().all(|&v| v == 0.0 || v == 1.0);
    let input = &case.input().shape;
    match op {
        "multi_margin_loss" => {
            if binary && t.shape.len() == 2 && t.shape == *input {
                seen.insert(format!("{op} one-hot target"));
            }
        }
        "multilabel_margin_loss" => {
            let c = input.last().copied().unwrap_or(1).max(1);
            if binary && values.contains(&1.0) && t.shape == *input {
                seen.insert(format!("{op} mask target"));
            }
            if t.shape != *input || !matches!(t.values, Values::Int(_)) {
                return;
            }
            for row in values.chunks(c) {
                let end = row.iter().position(|&v| v < 0.0);
                match end {
                    None => seen.insert(format!("{op} unterminated target")),
                    Some(0) => seen.insert(format!("{op} no label")),
                    Some(e) if row[e + 1..].iter().any(|&v| v >= 0.0) => {
                        seen.insert(format!("{op} labels past the end"))
                    }
                    Some(_) => seen.insert(format!("{op} terminated target")),
                };
                let listed = &row[..end.unwrap_or(row.len())];
                if (1..listed.len()).any(|i| listed[..i].contains(&listed[i])) {
                    seen.insert(format!("{op} repeated label"));
                }
            }
        }
        _ => {
            if binary {
                seen.insert(format!("{op} binary labels"));
            }
        }
    }
}

/// What each margin loss's cases must reach: layouts, options, gradients, the mistakes
/// and every error (kind and first two words).
fn margin_expectations() -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |op: &str, items: &[&str]| {
        out.extend(items.iter().map(|i| format!("{op} {i}")));
    };
    let common = [
        "float32",
        "float64",
        "grad",
        "grad_output",
        "reduction-name none",
        "reduction-name mean",
        "reduction-name sum",
        "empty input",
        "nan logit",
        "inf logit",
        "huge logit",
    ];
    for op in MARGIN_OPS {
        add(op, &common);
    }
    add(
        "hinge_embedding_loss",
        &[
            "binary labels",
            "error RuntimeError: The size",
            "grad_error RuntimeError: element 0",
        ],
    );
    add(
        "margin_ranking_loss",
        &[
            "0-D",
            "1-D",
            "2-D",
            "3-D",
            "grad_wrt input1",
            "grad_wrt input2",
            "grad_wrt target",
            "margin=0",
            "margin=0.5",
            "margin=1",
            "margin=-0.5",
            "tensor input2 of another shape",
            "tensor target of another shape",
            "int64 target",
            "binary labels",
            "target value in (0, 1)",
            "error RuntimeError: margin_ranking_loss :",
            "error RuntimeError: The size",
        ],
    );
    add(
        "cosine_embedding_loss",
        &[
            "1-D",
            "2-D",
            "3-D",
            "empty batch",
            "grad_wrt input1",
            "grad_wrt input2",
            "grad_wrt target",
            "margin=0",
            "margin=0.5",
            "margin=-0.5",
            "margin=1",
            "tensor input2 of another shape",
            "int64 target",
            "binary labels",
            "error RuntimeError: 1D target",
            "error RuntimeError: 0D target",
            "error RuntimeError: 0D or",
            "error RuntimeError: The size",
            "grad_error RuntimeError: element 0",
        ],
    );
    add(
        "multi_margin_loss",
        &[
            "0-D",
            "1-D",
            "2-D",
            "3-D",
            "empty batch",
            "one class",
            "grad_wrt input",
            "grad_wrt weight",
            "p=1",
            "p=2",
            "margin=1",
            "margin=0",
            "margin=0.5",
            "margin=2",
            "margin=-1",
            "weight",
            "zero weight",
            "negative weight",
            "int64 target",
            "uint8 target",
            "out-of-bounds target",
            "negative target",
            "one-hot target",
            "error ValueError: only p",
            "error ValueError: weight must",
            "error RuntimeError: The function",
            "error RuntimeError: target out",
            "error RuntimeError: multi_margin_loss: target",
            "error RuntimeError: Expected non-empty",
            "error RuntimeError: inconsistent weight",
            "error RuntimeError: expected scalar",
            "error RuntimeError: value cannot",
        ],
    );
    add(
        "multilabel_margin_loss",
        &[
            "0-D",
            "1-D",
            "2-D",
            "3-D",
            "empty batch",
            "one class",
            "grad_wrt input",
            "int64 target",
            "mask target",
            "unterminated target",
            "terminated target",
            "no label",
            "labels past the end",
            "repeated label",
            "error RuntimeError: argument #2",
            "error RuntimeError: inconsistent target",
            "error RuntimeError: Expected non-empty",
            "error RuntimeError: expected scalar",
        ],
    );
    out
}

/// The triplet losses and `ctc_loss`, drawn from their own strategies.
const SEQUENCE_OPS: [&str; 3] = [
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "ctc_loss",
];

fn ints(t: &lossparity::case::TensorData) -> Vec<i64> {
    match &t.values {
        Values::Int(v) => v.clone(),
        Values::Float(v) => v.iter().map(|&x| x as i64).collect(),
    }
}

/// What the triplet losses' and `ctc_loss`'s cases show beyond the common features.
fn sequence_features(case: &Case, seen: &mut BTreeSet<String>) {
    let op = case.op.name();
    if op != "ctc_loss" {
        let (a, p) = (case.input(), case.tensor("positive").expect("positive"));
        if a.shape == p.shape && !a.values.is_empty() && a.values == p.values {
            seen.insert(format!("{op} anchor is positive"));
        }
        if a.values.is_empty() {
            seen.insert(format!("{op} empty input"));
        }
        if let Some(0) = a.shape.last() {
            seen.insert(format!("{op} no features"));
        }
        return;
    }
    let lp = case.input();
    let tensor = |n: &str| case.tensor(n).expect("ctc tensor");
    let (targets, il, tl) = (
        tensor("targets"),
        tensor("input_lengths"),
        tensor("target_lengths"),
    );
    seen.insert(format!("{op} targets {}-D", targets.shape.len()));
    seen.insert(format!("{op} lengths {}", il.dtype.name()));
    let (il, tl) = (ints(il), ints(tl));
    let (Some((t, n, c)), true) = (
        match lp.shape.as_slice() {
            [t, n, c] => Some((*t, *n, *c)),
            [t, c] => Some((*t, 1, *c)),
            _ => None,
        },
        lp.dtype.is_float(),
    ) else {
        return;
    };
    if let Some(x) = lp.floats() {
        if c > 0
            && x.chunks(c)
                .any(|r| (r.iter().map(|v| v.exp()).sum::<f64>() - 1.0).abs() > 1e-3)
        {
            seen.insert(format!("{op} raw scores"));
        }
    }
    if il.len() != n || tl.len() != n || tl.iter().any(|&l| l < 0) {
        return;
    }
    let labels = ints(targets);
    let blank = case.int("blank").unwrap_or(0);
    if blank == c as i64 - 1 && blank > 0 {
        seen.insert(format!("{op} blank last"));
    }
    let mut offset = 0;
    for b in 0..n {
        let len = tl[b] as usize;
        let start = if targets.shape.len() == 2 {
            b * targets.shape[1]
        } else {
            offset
        };
        offset += len;
        let Some(row) = labels.get(start..start + len) else {
            return;
        };
        if len == 0 {
            seen.insert(format!("{op} empty target"));
        }
        if row.contains(&blank) {
            seen.insert(format!("{op} blank among labels"));
        }
        let repeats = row.windows(2).filter(|w| w[0] == w[1]).count();
        if repeats > 0 {
            seen.insert(format!("{op} repeated label"));
        }
        if il[b] == 0 {
            seen.insert(format!("{op} input length 0"));
        } else if (il[b] as usize) < len + repeats {
            seen.insert(format!("{op} input too short"));
        } else if (il[b] as usize) < t {
            seen.insert(format!("{op} input shorter than T"));
        }
    }
}

/// What the triplet losses and `ctc_loss` must reach.
fn sequence_expectations() -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |op: &str, items: &[&str]| {
        out.extend(items.iter().map(|i| format!("{op} {i}")));
    };
    let common = [
        "float32",
        "float64",
        "grad",
        "grad_output",
        "reduction-name none",
        "reduction-name mean",
        "reduction-name sum",
        "nan logit",
        "inf logit",
        "huge logit",
        "0-D",
        "1-D",
        "2-D",
        "3-D",
        "empty input",
        "no features",
        "anchor is positive",
        "grad_wrt anchor",
        "grad_wrt positive",
        "grad_wrt negative",
        "tensor positive of another shape",
        "tensor negative of another shape",
        "margin=1",
        "margin=0.5",
        "margin=0",
        "margin=-1",
        "swap=true",
        "swap=false",
        "error ValueError: margin must",
        "error RuntimeError: The anchor,",
        "error RuntimeError: The size",
    ];
    add("triplet_margin_loss", &common);
    add("triplet_margin_with_distance_loss", &common);
    add(
        "triplet_margin_loss",
        &[
            "p=2",
            "p=1",
            "p=3",
            "p=1.5",
            "p=0",
            "p=inf",
            "p=-1",
            "eps=0",
            "eps=0.001",
            "eps=0.000001",
            "error RuntimeError: linalg.vector_norm",
        ],
    );
    add(
        "ctc_loss",
        &[
            "float32",
            "float64",
            "grad",
            "grad_output",
            "2-D",
            "3-D",
            "reduction-name none",
            "reduction-name mean",
            "reduction-name sum",
            "zero_infinity=true",
            "zero_infinity=false",
            "blank=0",
            "blank last",
            "inf logit",
            "raw scores",
            "targets 1-D",
            "targets 2-D",
            "lengths int64",
            "lengths uint8",
            "empty target",
            "blank among labels",
            "repeated label",
            "input length 0",
            "input too short",
            "input shorter than T",
            "error RuntimeError: input_lengths must",
            "error RuntimeError: Expected 3-dimensional",
            "error RuntimeError: Expected 1",
            "error RuntimeError: log_probs tensor",
            "error RuntimeError: blank must",
            "error RuntimeError: Expected input_lengths",
            "error RuntimeError: Expected target_lengths",
            "error RuntimeError: Expected tensor",
            "error IndexError: Dimension out",
            "error NotImplementedError: \"ctc_loss_cpu\"",
        ],
    );
    out
}

/// What an element-wise loss's description promises its cases reach.
fn elementwise_expectations(spec: &ElementwiseCases) -> Vec<String> {
    let op = spec.op.name();
    let mut out = Vec::new();
    for ndim in 0..=spec.max_rank {
        out.push(format!("{op} {ndim}-D"));
    }
    for what in [
        "float32",
        "float64",
        "grad",
        "grad_output",
        "broadcast target",
        "empty input",
    ] {
        out.push(format!("{op} {what}"));
    }
    for r in spec.reductions {
        out.push(format!("{op} reduction-name {r}"));
    }
    for b in spec.bools {
        out.push(format!("{op} {b}=true"));
        out.push(format!("{op} {b}=false"));
    }
    for (name, values) in spec.numbers {
        for v in *values {
            out.push(format!("{op} {name}={v}"));
        }
    }
    for e in spec.extras {
        out.push(format!("{op} tensor {}", e.name));
        out.push(format!("{op} tensor {} of another shape", e.name));
        for class in draw_classes(e.draw) {
            out.push(format!("{op} {} value {class}", e.name));
        }
    }
    for (name, draw) in [("input", spec.input), ("target", spec.target)] {
        for class in draw_classes(draw) {
            out.push(format!("{op} {name} value {class}"));
        }
    }
    for param in spec.op.spec().params {
        if param.kind == lossparity::ops::Kind::Tensor {
            out.push(format!("{op} grad_wrt {}", param.name));
        }
    }
    out
}

/// The errors each element-wise loss's cases must reach (kind and first two words).
const ELEMENTWISE_ERRORS: &[(&str, &[&str])] = &[
    (
        "binary_cross_entropy",
        &[
            "RuntimeError: Attempting to",
            "RuntimeError: The function",
            "RuntimeError: all elements",
            "RuntimeError: output with",
            "ValueError: Using a",
        ],
    ),
    (
        "binary_cross_entropy_with_logits",
        &[
            "RuntimeError: The function",
            "RuntimeError: The size",
            "RuntimeError: output with",
            "ValueError: Target size",
        ],
    ),
    (
        "soft_margin_loss",
        &[
            "RuntimeError: The function",
            "RuntimeError: The size",
            "RuntimeError: output with",
        ],
    ),
    (
        "multilabel_soft_margin_loss",
        &["IndexError: Dimension specified", "RuntimeError: The size"],
    ),
    ("kl_div", &["RuntimeError: The size"]),
    ("poisson_nll_loss", &["RuntimeError: The size"]),
    (
        "gaussian_nll_loss",
        &[
            "RuntimeError: The size",
            "ValueError: var has",
            "ValueError: var is",
        ],
    ),
];

#[test]
fn generators_cover_every_op_layout_option_and_error() {
    let mut cases = Vec::new();
    for op in Op::all() {
        let n = if op.is_loss() { 3000 } else { 800 };
        cases.extend(sample((op.spec().strategy)(), n, op.rank() as u8 + 1));
    }
    let seen = features(&cases);
    let mut missing = Vec::new();
    let mut expect = |name: String| {
        if !seen.iter().any(|s| s.starts_with(&name)) {
            missing.push(name);
        }
    };
    for op in Op::all() {
        if let Some(spec) = op.spec().cases {
            for name in elementwise_expectations(spec) {
                expect(name);
            }
        }
    }
    for name in margin_expectations() {
        expect(name);
    }
    for name in sequence_expectations() {
        expect(name);
    }
    for (op, errors) in ELEMENTWISE_ERRORS {
        for error in *errors {
            expect(format!("{op} error {error}"));
        }
    }
    for op in ["log_softmax", "softmax"] {
        for ndim in 0..=5 {
            expect(format!("{op} {ndim}-D"));
        }
        for what in [
            "float32",
            "float64",
            "grad",
            "grad_output",
            "nan logit",
            "inf logit",
            "huge logit",
        ] {
            expect(format!("{op} {what}"));
        }
        expect(format!("{op} error IndexError: Dimension out"));
    }
    for op in ["nll_loss", "cross_entropy"] {
        for ndim in 0..=5 {
            expect(format!("{op} {ndim}-D"));
        }
        for what in [
            "float32",
            "float64",
            "grad",
            "grad_output",
            "nan logit",
            "inf logit",
            "huge logit",
            "empty batch",
            "one class",
            "reduction none",
            "reduction mean",
            "reduction sum",
            "weight",
            "zero weight",
            "negative weight",
            "ignore_index in range",
            "ignore_index out of range",
            "ignored positions",
            "out-of-bounds target",
            "negative target",
            "uint8 target 2-D",
            "uint8 target 3-D",
        ] {
            expect(format!("{op} {what}"));
        }
        if op == "nll_loss" {
            expect(format!("{op} error ValueError: Expected 1"));
        }
        for error in [
            "ValueError: Expected input",
            "IndexError: Target",
            "RuntimeError: 0D or",
            "RuntimeError: expected target",
            "RuntimeError: weight tensor",
            "RuntimeError: Expected target",
            "RuntimeError: size mismatch",
            "RuntimeError: expected scalar",
            "RuntimeError: only batches",
        ] {
            expect(format!("{op} error {error}"));
        }
    }
    for what in [
        "grad_wrt input",
        "grad_wrt weight",
        "error RuntimeError: The function",
    ] {
        expect(format!("nll_loss {what}"));
    }
    for what in [
        "grad_wrt input",
        "grad_wrt target",
        "grad_wrt weight",
        "error RuntimeError: The function",
        "probability target",
        "label_smoothing negative",
        "label_smoothing zero",
        "label_smoothing in (0, 1)",
        "label_smoothing one",
        "label_smoothing above one",
        "error RuntimeError: label_smoothing must",
        "error RuntimeError: Expected floating",
        "error RuntimeError: ignore_index is",
    ] {
        expect(format!("cross_entropy {what}"));
    }
    for ndim in 0..=3 {
        expect(format!("linear_cross_entropy {ndim}-D"));
    }
    for what in [
        "float32",
        "float64",
        "grad",
        "grad_output",
        "grad_wrt input",
        "grad_wrt linear_weight",
        "grad_wrt linear_bias",
        "grad_wrt target",
        "grad_wrt weight",
        "nan logit",
        "inf logit",
        "linear_weight 1-D",
        "linear_weight 2-D",
        "linear_weight 3-D",
        "linear_weight 4-D",
        "bias",
        "no bias",
        "mixed dtypes",
        "integer operands",
        "empty batch",
        "no features",
        "no classes",
        "reduction none",
        "reduction mean",
        "reduction sum",
        "label_smoothing negative",
        "label_smoothing zero",
        "label_smoothing in (0, 1)",
        "label_smoothing one",
        "label_smoothing above one",
        "weight",
        "zero weight",
        "negative weight",
        "ignore_index unset",
        "ignore_index -100",
        "ignore_index in range",
        "ignore_index out of range",
        "probability target",
        "int64 target",
        "uint8 target",
        "float index target",
        "ignored positions",
        "out-of-bounds target",
        // The checks written in Python, in their order.
        "error RuntimeError: expected input",
        "error RuntimeError: expected linear_weight",
        "error RuntimeError: expected equal",
        "error RuntimeError: expected linear_bias",
        "error RuntimeError: K-dimensional loss",
        "error RuntimeError: ignore_index cannot",
        // linear's dtype errors (addmm's two, mm's).
        "error RuntimeError: self and",
        "error RuntimeError: mat1 and",
        "error RuntimeError: expected m1",
        "error NotImplementedError: \"log_softmax_lastdim_kernel_impl\"",
        // cross_entropy's, on the logits.
        "error IndexError: Target",
        "error ValueError: Expected input",
        "error RuntimeError: weight tensor",
        "error RuntimeError: expected scalar",
        "error RuntimeError: label_smoothing must",
        "error RuntimeError: expected target",
        "error RuntimeError: Expected target",
        "error RuntimeError: The function",
        "error RuntimeError: size mismatch",
    ] {
        expect(format!("linear_cross_entropy {what}"));
    }
    for op in ["mse_loss", "l1_loss"] {
        for ndim in 0..=4 {
            expect(format!("{op} {ndim}-D"));
        }
        for what in [
            "float32",
            "float64",
            "grad",
            "grad_output",
            "grad_wrt input",
            "grad_wrt target",
            "grad_wrt weight",
            "nan logit",
            "inf logit",
            "huge logit",
            "reduction none",
            "reduction mean",
            "reduction sum",
            "weight",
            "zero weight",
            "negative weight",
            "broadcast target",
            "int64 target",
            "empty input",
            "error RuntimeError: The size",
            "error ValueError: Weights and",
        ] {
            expect(format!("{op} {what}"));
        }
    }
    assert!(
        missing.is_empty(),
        "the generators never produce: {missing:#?}\nseen: {seen:#?}"
    );
}
