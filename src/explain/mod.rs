//! Explanations of a case in plain words: what PyTorch will do with the call (its
//! outcome, as the Rust losses compute it, with the hint of any error) and what is
//! probably wrong with it, each finding with the evidence that triggered it.
//!
//! Needs no libtorch: the outcome comes from [`RustBackend`](crate::backend::RustBackend), which agrees with
//! libtorch on every case of the catalogue (`tests/snapshots.rs` checks that).
//!
//! Codes: `outcome` (always, first), `not-log-probabilities` (including
//! `log_softmax(dim=0)`), `probabilities-not-log`, `one-hot-target`,
//! `batch-of-targets-for-1d-input`, `class-count-mismatch`, `negative-target`,
//! `all-targets-ignored`, `zero-total-weight`, `empty-batch`,
//! `label-smoothing-out-of-range`, `probabilities-not-normalised`,
//! `softmax-over-batch`.
//!
//! ```
//! use lossparity::case::Case;
//! use lossparity::explain::explain;
//!
//! // log_softmax over dim=0 (the batch) of the docs example, fed to nll_loss.
//! let case = Case::from_json(r#"{"op":"nll_loss",
//!     "input":{"dtype":"float32","shape":[3,5],"data":[-2.169846,-0.23954484,-1.1802697,
//!         -1.5514446,-3.169846,-0.16984604,-2.2395449,-1.6802697,-0.55144465,-2.169846,
//!         -3.169846,-2.2395449,-0.68026966,-1.5514446,-0.16984604]},
//!     "target":{"dtype":"int64","shape":[3],"data":[1,0,4]}}"#).unwrap();
//! let explanation = explain(&case);
//! let finding = explanation.find("not-log-probabilities").unwrap();
//! assert!(finding.summary.contains("normalised over the batch (dim=0), not over classes (dim=1)"));
//! println!("{explanation}");
//! ```

pub(crate) mod findings;
mod outcome;

use std::fmt;

use crate::case::{Case, DType, TensorData, Values};

/// One finding about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable, kebab-case name: `outcome`, `not-log-probabilities`, `one-hot-target`, ...
    pub code: &'static str,
    /// What happens or what is wrong, in one sentence.
    pub summary: String,
    /// The facts of the case that support the summary (shapes, values, counts).
    pub evidence: String,
    /// What to do about it; empty when there is nothing to do.
    pub suggestion: String,
}

/// Every finding about a case: first the `outcome` (always present), then what is
/// probably wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The findings, the outcome first.
    pub diagnostics: Vec<Diagnostic>,
}

impl Explanation {
    /// The codes of the findings, in order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.diagnostics.iter().map(|d| d.code).collect()
    }

    /// The finding with this code, if any.
    pub fn find(&self, code: &str) -> Option<&Diagnostic> {
        self.diagnostics.iter().find(|d| d.code == code)
    }
}

/// Width at which [`Explanation`]'s text is wrapped.
const WRAP: usize = 88;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            write_wrapped(f, &format!("{}: {}", d.code, d.summary), "", "    ")?;
            if !d.evidence.is_empty() {
                write_wrapped(f, &format!("evidence: {}", d.evidence), "  ", "      ")?;
            }
            if !d.suggestion.is_empty() {
                write_wrapped(f, &format!("suggestion: {}", d.suggestion), "  ", "      ")?;
            }
        }
        Ok(())
    }
}

/// Writes `text` word-wrapped at [`WRAP`] columns, the first line indented by `first`,
/// the others by `rest`.
fn write_wrapped(f: &mut fmt::Formatter<'_>, text: &str, first: &str, rest: &str) -> fmt::Result {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.len() + 1 + word.len() > WRAP {
            writeln!(f, "{line}")?;
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(f, "{line}")
}

/// What PyTorch will do with `case` and what is probably wrong with it.
pub fn explain(case: &Case) -> Explanation {
    let mut diagnostics = vec![outcome::outcome(case)];
    diagnostics.extend((case.op.spec().findings)(case));
    Explanation { diagnostics }
}

/// A float rounded for display, so that text showing it changes only when behaviour
/// does: 5 significant digits for `float32` (and narrower; its comparison tolerance is
/// `atol` 1e-5 plus `rtol` 1.3e-6), 10 for `float64`, and magnitudes below `1e-7` (`float32`) or `1e-12`
/// (`float64`), far under the comparison tolerances, shown as `0`.
///
/// libtorch's vectorised kernels differ by a few ULP between machines (AVX2, AVX512,
/// none), and any rounding flips a value that lies within those ULP of a rounding
/// boundary; the coarser the rounding, the rarer that is. On the snapshot catalogue,
/// 6 digits changed a snapshot between libtorch's AVX512 and its non-vectorised
/// kernels; 5 digits changed none.
///
/// ```
/// use lossparity::case::DType;
/// use lossparity::explain::rounded;
///
/// assert_eq!(rounded(DType::Float32, 0.46604421734809875), "0.46604");
/// assert_eq!(rounded(DType::Float64, 0.16723386132142282), "0.1672338613");
/// assert_eq!(rounded(DType::Float32, -5.960464477539063e-8), "0");
/// assert_eq!(rounded(DType::Float32, 20000.0), "20000");
/// assert_eq!(rounded(DType::Float32, 1.2345678e-5), "1.2346e-5");
/// assert_eq!(rounded(DType::Float32, f64::NEG_INFINITY), "-inf");
/// ```
pub fn rounded(dtype: DType, v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let (digits, floor) = match dtype {
        DType::Float64 => (10, 1e-12),
        _ => (5, 1e-7),
    };
    if v.abs() < floor {
        return "0".into();
    }
    let r: f64 = format!("{:.*e}", digits - 1, v).parse().unwrap_or(v);
    if (1e-4..1e6).contains(&r.abs()) {
        format!("{r}")
    } else {
        format!("{r:e}")
    }
}

/// A tensor's values on one line, rounded by [`rounded`], at most `limit` of them
/// (then `...` and the count).
pub(crate) fn values_inline(t: &TensorData, limit: usize) -> String {
    let shown: Vec<String> = match &t.values {
        Values::Float(v) => v.iter().take(limit).map(|&x| rounded(t.dtype, x)).collect(),
        Values::Int(v) => v.iter().take(limit).map(|x| x.to_string()).collect(),
    };
    let n = t.values.len();
    if t.shape.is_empty() {
        shown.join("")
    } else if n > limit {
        format!("[{}, ... ({n} values)]", shown.join(", "))
    } else {
        format!("[{}]", shown.join(", "))
    }
}

/// `[3, 5]`, PyTorch's way of printing a shape.
pub(crate) fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::findings::loss::logsumexp;
    use super::*;

    fn case(json: &str) -> Case {
        Case::from_json(json).unwrap_or_else(|e| panic!("bad case {json}: {e}"))
    }

    fn f32s(shape: &[usize], data: &[f64]) -> String {
        let data: Vec<String> = data.iter().map(|v| format!("{v:?}")).collect();
        format!(
            r#"{{"dtype":"float32","shape":{shape:?},"data":[{}]}}"#,
            data.join(",")
        )
    }

    fn ints(dtype: &str, shape: &[usize], data: &[i64]) -> String {
        format!(r#"{{"dtype":"{dtype}","shape":{shape:?},"data":{data:?}}}"#)
    }

    fn log_softmax_rows(rows: &[&[f64]]) -> Vec<f64> {
        rows.iter()
            .flat_map(|row| {
                let lse = logsumexp(row.iter().copied());
                row.iter().map(move |v| v - lse)
            })
            .collect()
    }

    /// The docs example's scores, 3 samples by 5 classes.
    const SCORES: [&[f64]; 3] = [
        &[1.0, 2.0, 0.5, 0.0, -1.0],
        &[3.0, 0.0, 0.0, 1.0, 0.0],
        &[0.0, 0.0, 1.0, 0.0, 2.0],
    ];

    fn scores() -> Vec<f64> {
        SCORES.iter().flat_map(|r| r.iter().copied()).collect()
    }

    fn log_probabilities() -> Vec<f64> {
        log_softmax_rows(&SCORES)
    }

    /// log_softmax over dim 0 of the docs example: each column normalised.
    fn log_probabilities_over_batch() -> Vec<f64> {
        let columns: Vec<Vec<f64>> = (0..5)
            .map(|c| SCORES.iter().map(|r| r[c]).collect())
            .collect();
        let column_refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let normalised = log_softmax_rows(&column_refs);
        (0..15).map(|i| normalised[(i % 5) * 3 + i / 5]).collect()
    }

    fn nll(input: &str, target: &str, extra: &str) -> Case {
        case(&format!(
            r#"{{"op":"nll_loss","input":{input},"target":{target}{extra}}}"#
        ))
    }

    fn ce(input: &str, target: &str, extra: &str) -> Case {
        case(&format!(
            r#"{{"op":"cross_entropy","input":{input},"target":{target}{extra}}}"#
        ))
    }

    fn docs_target() -> String {
        ints("int64", &[3], &[1, 0, 4])
    }

    /// Only the outcome: nothing is wrong with the case.
    fn assert_clean(case: &Case) {
        let e = explain(case);
        assert_eq!(e.codes(), vec!["outcome"], "{case:?}\n{e}");
    }

    #[test]
    fn clean_cases_get_only_the_outcome() {
        assert_clean(&nll(
            &f32s(&[3, 5], &log_probabilities()),
            &docs_target(),
            r#","grad":true"#,
        ));
        assert_clean(&ce(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        assert_clean(&ce(
            &f32s(&[5], SCORES[0]),
            &ints("int64", &[], &[1]),
            r#","label_smoothing":0.1"#,
        ));
        assert_clean(&ce(
            &f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]),
            &f32s(&[2, 3], &[0.2, 0.8, 0.0, 0.5, 0.25, 0.25]),
            r#","weight":{"dtype":"float32","shape":[3],"data":[1.0,0.5,2.0]}"#,
        ));
        assert_clean(&case(&format!(
            r#"{{"op":"log_softmax","input":{},"dim":1}}"#,
            f32s(&[3, 5], &scores())
        )));
    }

    #[test]
    fn the_outcome_states_the_value_and_how_the_call_is_read() {
        let e = explain(&ce(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        let outcome = &e.diagnostics[0];
        assert_eq!(outcome.code, "outcome");
        // torch 2.13: F.cross_entropy(scores, target) = 0.46604421734809875
        assert_eq!(
            outcome.summary,
            "F.cross_entropy returns 0.46604 (a float32 scalar)"
        );
        assert!(outcome.evidence.contains("3 sample(s) with 5 classes each"));
        assert!(outcome.evidence.contains("3 counted, 0 ignored"));
        assert!(outcome.suggestion.is_empty());
    }

    #[test]
    fn the_outcome_of_an_error_carries_the_losses_hint() {
        let e = explain(&nll(
            &f32s(&[5], &[-1.2, -0.3, -2.0, -1.7, -2.5]),
            &ints("int64", &[3], &[1, 0, 0]),
            "",
        ));
        let outcome = e.find("outcome").unwrap();
        assert_eq!(
            outcome.summary,
            "F.nll_loss raises ValueError: For 1D input, 1D target must have size 1, but got \
             target size: 3"
        );
        assert!(outcome.suggestion.contains("one sample with 5 classes"));
    }

    #[test]
    fn the_outcome_of_a_backward_error_carries_its_hint() {
        let e = explain(&nll(
            &f32s(&[5], &[-1.2, -0.3, -2.0, -1.7, -2.5]),
            &ints("int64", &[1], &[1]),
            r#","grad":true"#,
        ));
        let outcome = e.find("outcome").unwrap();
        assert!(
            outcome
                .summary
                .contains("but the backward raises RuntimeError"),
            "{e}"
        );
        assert!(!outcome.suggestion.is_empty(), "{e}");
    }

    #[test]
    fn the_outcome_of_a_weight_of_another_dtype_explains_the_conversion() {
        let e = nll(
            &f32s(&[2, 3], &[-0.5, -1.0, -2.0, -1.5, -0.2, -3.0]),
            &ints("int64", &[2], &[0, 2]),
            r#","weight":{"dtype":"float64","shape":[3],"data":[1.0,1.0,1.0]}"#,
        );
        let outcome = explain(&e).diagnostics.remove(0);
        assert_eq!(
            outcome.summary,
            "F.nll_loss raises RuntimeError: expected scalar type Float but found Double"
        );
        assert!(outcome.suggestion.contains("weight.to(input.dtype)"));
    }

    #[test]
    fn log_softmax_over_the_batch_is_named_as_such() {
        let e = explain(&nll(
            &f32s(&[3, 5], &log_probabilities_over_batch()),
            &docs_target(),
            "",
        ));
        let d = e.find("not-log-probabilities").expect("flagged");
        assert!(
            d.summary
                .contains("normalised over the batch (dim=0), not over classes (dim=1)"),
            "{e}"
        );
        assert!(d
            .evidence
            .starts_with("slice [0, :] along the class dimension (dim=1) has logsumexp"));
    }

    #[test]
    fn raw_scores_to_nll_loss_are_not_log_probabilities() {
        let e = explain(&nll(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        let d = e.find("not-log-probabilities").expect("flagged");
        assert!(d
            .summary
            .contains("not log-probabilities over the classes (dim=1)"));
        // logsumexp([1, 2, 0.5, 0, -1]) = 2.5744379...
        assert!(d.evidence.contains("has logsumexp 2.5744"), "{e}");
        assert!(d.evidence.contains("the largest value is 3"), "{e}");
        assert!(!d.summary.contains("dim=0"));
    }

    #[test]
    fn probabilities_to_nll_loss_are_flagged() {
        let probabilities: Vec<f64> = log_probabilities().iter().map(|v| v.exp()).collect();
        let e = explain(&nll(&f32s(&[3, 5], &probabilities), &docs_target(), ""));
        assert!(e.find("probabilities-not-log").is_some(), "{e}");
        assert!(e.find("not-log-probabilities").is_none(), "{e}");
    }

    #[test]
    fn one_hot_targets_are_flagged_for_each_dtype_and_loss() {
        let logp = f32s(
            &[2, 3],
            &log_softmax_rows(&[&[0.5, 1.0, -2.0], &[1.5, 0.2, 3.0]]),
        );
        let one_hot_int = ints("int64", &[2, 3], &[0, 1, 0, 0, 0, 1]);
        let one_hot_float = f32s(&[2, 3], &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        for (case, rejected) in [
            (nll(&logp, &one_hot_int, ""), true),
            (nll(&logp, &one_hot_float, ""), true),
            (ce(&logp, &one_hot_int, ""), true),
            (ce(&logp, &one_hot_float, ""), false),
        ] {
            let e = explain(&case);
            let d = e.find("one-hot-target").unwrap_or_else(|| panic!("{e}"));
            assert!(d.suggestion.contains("target.argmax(dim=1)"), "{e}");
            assert_eq!(d.summary.contains("rejects it"), rejected, "{e}");
            let raised = e.diagnostics[0].summary.contains(" raises ");
            assert_eq!(raised, rejected, "{e}");
        }
        assert!(explain(&ce(&logp, &ints("int64", &[2], &[1, 2]), ""))
            .find("one-hot-target")
            .is_none());
    }

    #[test]
    fn a_batch_of_targets_for_a_1d_input_is_explained() {
        let e = explain(&ce(
            &f32s(&[5], SCORES[0]),
            &ints("int64", &[3], &[1, 0, 0]),
            "",
        ));
        let d = e.find("batch-of-targets-for-1d-input").expect("flagged");
        assert!(d.summary.contains("ONE sample with 5 classes"));
        assert!(d.suggestion.contains("shape (3, 5)"));
        assert_clean(&ce(&f32s(&[5], SCORES[0]), &ints("int64", &[], &[1]), ""));
    }

    #[test]
    fn class_counts_that_disagree_are_flagged() {
        let logp = f32s(
            &[2, 3],
            &log_softmax_rows(&[&[0.5, 1.0, -2.0], &[1.5, 0.2, 3.0]]),
        );
        let e = explain(&nll(&logp, &ints("int64", &[2], &[0, 3]), ""));
        let d = e.find("class-count-mismatch").expect("target flagged");
        assert!(
            d.evidence.contains("class index 3 at flat position 1"),
            "{e}"
        );
        let e = explain(&nll(
            &logp,
            &ints("int64", &[2], &[0, 2]),
            r#","weight":{"dtype":"float32","shape":[2],"data":[1.0,1.0]}"#,
        ));
        let d = e.find("class-count-mismatch").expect("weight flagged");
        assert!(d.evidence.contains("weight: shape [2] (2 entries)"), "{e}");
        let e = explain(&nll(
            &logp,
            &ints("int64", &[2], &[7, 2]),
            r#","ignore_index":7"#,
        ));
        assert!(e.find("class-count-mismatch").is_none(), "{e}");
    }

    #[test]
    fn negative_targets_suggest_ignore_index() {
        let e = explain(&ce(
            &f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]),
            &ints("int64", &[2], &[-1, 0]),
            "",
        ));
        let d = e.find("negative-target").expect("flagged");
        assert!(d.suggestion.contains("ignore_index=-1"));
        assert!(e.diagnostics[0].summary.contains("IndexError"));
    }

    #[test]
    fn all_ignored_targets_explain_the_nan_mean() {
        let x = f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]);
        let ignored = ints("int64", &[2], &[-100, -100]);
        let e = explain(&ce(&x, &ignored, r#","grad":true"#));
        let d = e.find("all-targets-ignored").expect("flagged");
        assert!(d.summary.contains("NaN (0/0)"));
        assert!(d.summary.contains("gradient is zero"));
        assert!(e.diagnostics[0]
            .summary
            .starts_with("F.cross_entropy returns nan"));
        let e = explain(&ce(&x, &ignored, r#","reduction":"sum""#));
        assert!(e
            .find("all-targets-ignored")
            .unwrap()
            .summary
            .contains("sum is 0"));
        let e = explain(&nll(
            &f32s(&[5], &[-1.2, -0.3, -2.0, -1.7, -2.5]),
            &ints("int64", &[], &[-100]),
            "",
        ));
        assert!(e.find("all-targets-ignored").is_some(), "{e}");
    }

    #[test]
    fn zero_total_weight_and_empty_batches_explain_the_nan_mean() {
        let logp = f32s(
            &[2, 3],
            &log_softmax_rows(&[&[0.5, 1.0, -2.0], &[1.5, 0.2, 3.0]]),
        );
        let e = explain(&nll(
            &logp,
            &ints("int64", &[2], &[1, 1]),
            r#","weight":{"dtype":"float32","shape":[3],"data":[1.0,0.0,2.0]}"#,
        ));
        assert!(e.find("zero-total-weight").is_some(), "{e}");
        let e = explain(&nll(&f32s(&[0, 3], &[]), &ints("int64", &[0], &[]), ""));
        let d = e.find("empty-batch").expect("flagged");
        assert!(d.summary.contains("NaN"), "{e}");
    }

    #[test]
    fn label_smoothing_out_of_range_says_error_or_ignored() {
        let x = f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]);
        let t = ints("int64", &[2], &[0, 1]);
        let e = explain(&ce(&x, &t, r#","label_smoothing":1.5"#));
        let d = e.find("label-smoothing-out-of-range").expect("flagged");
        assert!(d.summary.contains("rejects"));
        assert!(e.diagnostics[0]
            .summary
            .contains("label_smoothing must be between"));
        let e = explain(&ce(&x, &t, r#","label_smoothing":-0.5"#));
        let d = e.find("label-smoothing-out-of-range").expect("flagged");
        assert!(d.summary.contains("treats it as 0"));
        assert_clean(&ce(&x, &t, r#","label_smoothing":1.0"#));
    }

    #[test]
    fn probability_targets_that_do_not_sum_to_one_are_flagged() {
        let e = explain(&ce(
            &f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]),
            &f32s(&[2, 3], &[0.5, 0.5, 0.5, 0.1, 0.1, 0.0]),
            "",
        ));
        let d = e.find("probabilities-not-normalised").expect("flagged");
        assert!(
            d.evidence
                .contains("slice [0, :] of the target along dim=1 sums to 1.5"),
            "{e}"
        );
    }

    #[test]
    fn softmax_over_the_batch_dim_is_flagged() {
        let e = explain(&case(&format!(
            r#"{{"op":"log_softmax","input":{},"dim":0}}"#,
            f32s(&[3, 5], &scores())
        )));
        assert!(e.find("softmax-over-batch").is_some(), "{e}");
    }

    #[test]
    fn display_is_wrapped_and_labelled() {
        let e = explain(&nll(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        let text = e.to_string();
        assert!(text.starts_with("outcome: F.nll_loss returns"));
        assert!(text.contains("\nnot-log-probabilities: "));
        assert!(text.contains("\n  evidence: "));
        assert!(text.contains("\n  suggestion: "));
        assert!(
            text.lines().all(|l| l.len() <= WRAP || !l.contains(' ')),
            "{text}"
        );
    }

    #[test]
    fn rounding_hides_last_place_noise_only() {
        let a = 0.466_044_2_f32;
        // Within a few ULP of each other and far from a rounding boundary.
        let b = f32::from_bits(a.to_bits() + 1);
        assert_eq!(
            rounded(DType::Float32, a as f64),
            rounded(DType::Float32, b as f64)
        );
        assert_ne!(
            rounded(DType::Float32, 0.4660),
            rounded(DType::Float32, 0.4661)
        );
        assert_eq!(rounded(DType::Float64, 1e-13), "0");
        assert_eq!(rounded(DType::Float64, -2.5e-9), "-2.5e-9");
    }
}
