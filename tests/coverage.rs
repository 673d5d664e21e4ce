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
        if let Err(e) = &RustBackend::default().evaluate(case).result {
            let words: Vec<&str> = e.message.split(' ').take(2).collect();
            seen.insert(format!("{op} error {}: {}", e.kind, words.join(" ")));
        }
        if case.op.spec().cases.is_some() {
            elementwise_features(case, &mut seen);
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
