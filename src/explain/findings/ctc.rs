//! How PyTorch reads a call of `ctc_loss`, and the mistakes its values show: raw scores
//! or probabilities where log-probabilities are expected (rows of `exp` not summing to
//! 1), a batch-first `(N, T, C)` input where `(T, N, C)` is expected, a `blank` that is
//! also a label of the targets, and input lengths too short for their targets (an
//! infinite loss).

use crate::case::{Arg, Case, TensorData};
use crate::explain::{rounded, shape_str, Diagnostic};
use crate::ops::ctc_as_long;

fn described(name: &str, t: &TensorData) -> String {
    format!("{name} {} {}", shape_str(&t.shape), t.dtype.name())
}

/// (T, N, C) as PyTorch reads the input, when it is 2-D or 3-D.
fn dims(case: &Case) -> Option<(usize, usize, usize)> {
    match case.input().shape.as_slice() {
        [t, n, c] => Some((*t, *n, *c)),
        [t, c] => Some((*t, 1, *c)),
        _ => None,
    }
}

/// How PyTorch reads the call: its tensors, time steps, samples and classes, options.
pub(crate) fn reading(case: &Case, raised: bool) -> String {
    let mut parts: Vec<String> = case
        .args()
        .filter_map(|(n, a)| match a {
            Arg::Tensor(t) => Some(described(n, t)),
            _ => None,
        })
        .collect();
    if let Some((t, n, c)) = dims(case) {
        parts.push(format!(
            "{t} time step(s) of {n} sample(s) over {c} class(es), blank {}",
            case.int("blank").unwrap_or(0)
        ));
    }
    if let Some(targets) = case.tensor("targets") {
        parts.push(if targets.shape.len() == 2 {
            "targets padded: row b holds sample b's labels".to_string()
        } else {
            "targets concatenated: the samples' labels one after the other".to_string()
        });
    }
    if raised {
        return parts.join("; ");
    }
    if case.bool("zero_infinity") == Some(true) {
        parts.push("zero_infinity=True: infinite losses count as 0".to_string());
    }
    parts.push(match case.reduction_name() {
        "none" => "reduction='none': one loss per sample".to_string(),
        "sum" => "reduction='sum': the plain sum of the sample losses".to_string(),
        _ => "reduction='mean': each loss divided by its target length, then averaged over \
              the batch"
            .to_string(),
    });
    parts.join("; ")
}

/// The findings about a `ctc_loss` call.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    [
        not_log_probabilities(case),
        batch_first(case),
        blank_is_a_label(case),
        input_too_short(case),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Rows over the classes whose `exp` does not sum to 1.
fn not_log_probabilities(case: &Case) -> Option<Diagnostic> {
    let (_, _, c) = dims(case)?;
    let x = case.input().floats()?;
    if c < 2 || x.is_empty() || x.iter().any(|v| v.is_nan() || *v == f64::INFINITY) {
        return None;
    }
    let dtype = case.input().dtype;
    let sums: Vec<f64> = x
        .chunks(c)
        .map(|row| row.iter().map(|v| v.exp()).sum())
        .collect();
    let off: Vec<usize> = (0..sums.len())
        .filter(|&i| (sums[i] - 1.0).abs() > 1e-3)
        .collect();
    let &first = off.first()?;
    let probabilities = x.iter().all(|v| (0.0..=1.0).contains(v))
        && x.chunks(c)
            .all(|row| (row.iter().sum::<f64>() - 1.0).abs() <= 1e-3);
    let (what, suggestion) = if probabilities {
        (
            "probabilities (each row sums to 1 as it stands): they are read as \
             log-probabilities, so every alignment looks far likelier than it is",
            "take the log: pass probabilities.log(), or better log_softmax of the scores \
             over the classes",
        )
    } else {
        (
            "raw scores: nothing normalises them, so the loss is not a negative \
             log-likelihood (it can even be negative) and its gradient is wrong",
            "pass log_probs = scores.log_softmax(dim=-1) (over the classes, the last \
             dimension)",
        )
    };
    Some(Diagnostic {
        code: "not-log-probabilities",
        summary: format!(
            "ctc_loss expects log-probabilities over the classes, and log_probs look like {what}"
        ),
        evidence: format!(
            "exp(log_probs) sums to {} over the {c} classes at row {first} (time step {}, \
             sample {}); {} of {} rows are off 1 by more than 1e-3",
            rounded(dtype, sums[first]),
            first / dims(case)?.1.max(1),
            first % dims(case)?.1.max(1),
            off.len(),
            sums.len()
        ),
        suggestion: suggestion.to_string(),
    })
}

/// A 3-D input whose first dimension counts the samples: `input_lengths` has one value
/// per row of dimension 0, none exceeding dimension 1 (the time steps of an `(N, T,
/// C)` tensor).
fn batch_first(case: &Case) -> Option<Diagnostic> {
    let shape = &case.input().shape;
    let [a, b, _] = shape[..] else {
        return None;
    };
    let il = ctc_as_long(case.tensor("input_lengths")?);
    if a == b || il.len() != a || il.iter().any(|&l| l < 0 || l as usize > b) {
        return None;
    }
    Some(Diagnostic {
        code: "batch-first-input",
        summary: "log_probs looks batch-first, (N, T, C): ctc_loss reads it time-first, (T, \
                  N, C), so samples are taken for time steps and time steps for samples"
            .to_string(),
        evidence: format!(
            "log_probs {} and {} input length(s), one per row of dimension 0 ({a}), each at \
             most dimension 1 ({b}); ctc_loss counts the batch in dimension 1",
            shape_str(shape),
            il.len()
        ),
        suggestion: "pass log_probs.transpose(0, 1) (or build the scores time-first)".to_string(),
    })
}

/// Each sample's labels (within its target length), as PyTorch reads the targets.
fn sample_labels(case: &Case) -> Option<Vec<Vec<i64>>> {
    let targets = case.tensor("targets")?;
    let labels = ctc_as_long(targets);
    let tl = ctc_as_long(case.tensor("target_lengths")?);
    let mut out = Vec::with_capacity(tl.len());
    let mut offset = 0usize;
    for (b, &len) in tl.iter().enumerate() {
        let len = usize::try_from(len).ok()?;
        let start = if targets.shape.len() == 2 {
            b * targets.shape[1]
        } else {
            offset
        };
        offset += len;
        out.push(labels.get(start..start + len)?.to_vec());
    }
    Some(out)
}

/// A label equal to the blank: such a label cannot be told from a gap between labels.
fn blank_is_a_label(case: &Case) -> Option<Diagnostic> {
    let blank = case.int("blank").unwrap_or(0);
    let samples = sample_labels(case)?;
    let hits: Vec<usize> = (0..samples.len())
        .filter(|&b| samples[b].contains(&blank))
        .collect();
    let &first = hits.first()?;
    let count: usize = samples.iter().flatten().filter(|&&l| l == blank).count();
    Some(Diagnostic {
        code: "blank-is-a-label",
        summary: format!(
            "the blank ({blank}) is also a label of the targets: ctc_loss takes class \
             {blank} for the blank in the alignments, so the targets' {blank}s are a class \
             the model is asked to emit and to skip at once, and the loss is meaningless"
        ),
        evidence: format!(
            "{count} label(s) within the target lengths equal blank={blank}, in {} \
             sample(s) (first: sample {first}, labels {:?})",
            hits.len(),
            samples[first]
        ),
        suggestion: "reserve one class for the blank (usually 0, with the labels 1..C-1), or \
                     pass blank= the index the model uses for it"
            .to_string(),
    })
}

/// Samples whose input length is shorter than their target needs: `S` labels plus one
/// blank between each pair of equal adjacent labels.
fn input_too_short(case: &Case) -> Option<Diagnostic> {
    let samples = sample_labels(case)?;
    let il = ctc_as_long(case.tensor("input_lengths")?);
    let need = |s: &[i64]| s.len() + s.windows(2).filter(|w| w[0] == w[1]).count();
    let short: Vec<usize> = (0..samples.len().min(il.len()))
        .filter(|&b| il[b] >= 0 && (il[b] as usize) < need(&samples[b]))
        .collect();
    let &first = short.first()?;
    let zero = case.bool("zero_infinity") == Some(true);
    let s = &samples[first];
    Some(Diagnostic {
        code: "input-too-short",
        summary: format!(
            "{} sample(s) have an input length shorter than their target needs: no \
             alignment exists (each label takes a time step, and equal adjacent labels need \
             a blank between them), so their loss is infinite{}",
            short.len(),
            if zero {
                "; zero_infinity=True counts it as 0 with a zero gradient"
            } else {
                " and their gradient NaN; zero_infinity=True would count it as 0"
            }
        ),
        evidence: format!(
            "sample {first}: input length {}, target of {} label(s) with {} adjacent \
             repeat(s) needs at least {} time steps",
            il[first],
            s.len(),
            need(s) - s.len(),
            need(s)
        ),
        suggestion: "give the model more time steps (less downsampling) or shorter targets; \
                     pass zero_infinity=True to skip such samples during training"
            .to_string(),
    })
}
