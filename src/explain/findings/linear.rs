//! How PyTorch reads a call of `linear_cross_entropy`, and the mistakes it shows: a
//! `linear_weight` given as `(in_features, C)` (the matrix of `x @ W`) where PyTorch
//! wants nn.Linear's `(C, in_features)`, a bias that is not one value per output,
//! `ignore_index` given with class probabilities (which `linear_cross_entropy`
//! refuses, where `cross_entropy` ignores it), a K-dimensional weight with one
//! unbatched sample, and the mistakes of the `cross_entropy` call it makes (its
//! findings, on the logits).

use crate::case::{Arg, Case, TensorData};
use crate::explain::{shape_str, Diagnostic};
use crate::losses::Reduction;
use crate::ops::{linear_cross_entropy_call, linear_cross_entropy_logits};

fn described(name: &str, t: &TensorData) -> String {
    format!("{name} {} {}", shape_str(&t.shape), t.dtype.name())
}

fn weight_shape(case: &Case) -> Option<&[usize]> {
    case.tensor("linear_weight").map(|t| t.shape.as_slice())
}

/// How PyTorch reads the call: its tensors, the logits they make, the target's kind,
/// the options.
pub(crate) fn reading(case: &Case, raised: bool) -> String {
    let mut parts: Vec<String> = case
        .args()
        .filter_map(|(n, a)| match a {
            Arg::Tensor(t) => Some(described(n, t)),
            _ => None,
        })
        .collect();
    let Ok(logits) = linear_cross_entropy_logits(case) else {
        parts.push(
            "input is (in_features) or (N, in_features); linear_weight (C, in_features) as \
             nn.Linear(in_features, C).weight, or (C, d1..dK, in_features)"
                .to_string(),
        );
        return parts.join("; ");
    };
    let rows = match case.input().shape.as_slice() {
        [n, _] => format!("{n} sample(s)"),
        _ => "ONE unbatched sample".to_string(),
    };
    parts.push(format!(
        "{rows} projected to logits {} = input @ linear_weight.T{}",
        shape_str(&logits),
        if case.tensor("linear_bias").is_some() {
            " + linear_bias"
        } else {
            ""
        }
    ));
    if let Some(t) = case.target() {
        parts.push(if t.shape == logits {
            "the target has the logits' shape: class probabilities".to_string()
        } else {
            format!(
                "the target holds class indices (ignore_index={})",
                case.int("ignore_index").unwrap_or(-100)
            )
        });
    }
    if raised {
        return parts.join("; ");
    }
    if case.label_smoothing() > 0.0 && case.label_smoothing() <= 1.0 {
        parts.push(format!(
            "label_smoothing={} mixes the target with the uniform distribution",
            case.label_smoothing()
        ));
    }
    parts.push(
        match case.reduction() {
            Reduction::None => "reduction='none': one loss per position",
            Reduction::Sum => "reduction='sum': the plain sum over positions",
            Reduction::Mean => "reduction='mean': as cross_entropy's on the logits",
        }
        .to_string(),
    );
    parts.join("; ")
}

/// The findings about a `linear_cross_entropy` call.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    let own = [
        transposed_weight(case),
        bias_shape(case),
        ignore_index_with_probabilities(case),
        unbatched_k_dimensional(case),
    ];
    let mut found: Vec<Diagnostic> = own.into_iter().flatten().collect();
    if let Ok(logits) = linear_cross_entropy_logits(case) {
        let ce = linear_cross_entropy_call(case, &logits);
        for mut d in super::loss::findings(&ce) {
            // cross_entropy's input is this call's logits.
            d.evidence = d.evidence.replace("input", "logits");
            found.push(d);
        }
    }
    found
}

/// A 2-D `linear_weight` whose first dimension, not its last, is `in_features`.
fn transposed_weight(case: &Case) -> Option<Diagnostic> {
    let &[rows, cols] = weight_shape(case)? else {
        return None;
    };
    let in_features = *case.input().shape.last()?;
    if case.input().shape.len() > 2 || rows != in_features || cols == in_features {
        return None;
    }
    Some(Diagnostic {
        code: "transposed-linear-weight",
        summary: format!(
            "linear_weight looks transposed: it is (in_features, C) = ({rows}, {cols}), the \
             matrix of input @ W, but PyTorch takes nn.Linear's layout (C, in_features) and \
             multiplies by its transpose, so it refuses the in_features mismatch"
        ),
        evidence: format!(
            "input's last dimension is {in_features}; linear_weight {} has {in_features} \
             first and {cols} last",
            shape_str(&[rows, cols])
        ),
        suggestion: "pass linear_weight.T (a (C, in_features) matrix; nn.Linear(in_features, \
                     C).weight already is one)"
            .into(),
    })
}

/// A bias that is not `linear_weight`'s shape without `in_features`.
fn bias_shape(case: &Case) -> Option<Diagnostic> {
    let bias = case.tensor("linear_bias")?;
    let w = weight_shape(case)?;
    if w.len() < 2 || bias.shape == w[..w.len() - 1] {
        return None;
    }
    let expected = &w[..w.len() - 1];
    let transposed = w.len() == 2 && bias.shape == [w[1]];
    Some(Diagnostic {
        code: "linear-bias-shape",
        summary: format!(
            "linear_bias has shape {}, but the linear layer has {} output(s): it must be \
             {}{}",
            shape_str(&bias.shape),
            expected.iter().product::<usize>(),
            shape_str(expected),
            if transposed {
                " (it has in_features values, as if linear_weight were transposed)"
            } else {
                ""
            }
        ),
        evidence: format!(
            "linear_weight {} without its last dimension (in_features) is {}",
            shape_str(w),
            shape_str(expected)
        ),
        suggestion: "give one bias value per output class: nn.Linear(in_features, C).bias".into(),
    })
}

/// `ignore_index` given, even as -100, with a target of the logits' shape.
fn ignore_index_with_probabilities(case: &Case) -> Option<Diagnostic> {
    let ignore_index = case.int("ignore_index")?;
    let target = case.target()?;
    let w = weight_shape(case)?;
    if w.len() < 2 || case.input().shape.is_empty() {
        return None;
    }
    let mut logits: Vec<usize> = case.input().shape[..case.input().shape.len() - 1].to_vec();
    logits.extend_from_slice(&w[..w.len() - 1]);
    if target.shape != logits {
        return None;
    }
    Some(Diagnostic {
        code: "ignore-index-with-probabilities",
        summary: format!(
            "ignore_index={ignore_index} is given with class probabilities: \
             linear_cross_entropy refuses any explicit ignore_index then (cross_entropy \
             would silently ignore it), since a probability target has no class index to \
             ignore"
        ),
        evidence: format!(
            "target {} has the logits' shape {}, so it holds probabilities",
            shape_str(&target.shape),
            shape_str(&logits)
        ),
        suggestion: "leave ignore_index out (None); to drop positions, give them zero \
                     probability rows or use class-index targets"
            .into(),
    })
}

/// A K-dimensional `linear_weight` with one unbatched sample.
fn unbatched_k_dimensional(case: &Case) -> Option<Diagnostic> {
    let w = weight_shape(case)?;
    if w.len() <= 2 || case.input().shape.len() != 1 {
        return None;
    }
    Some(Diagnostic {
        code: "unbatched-k-dimensional",
        summary: "a linear_weight of more than two dimensions makes (N, C, d1..dK) logits, \
                  which need a batch; the input is one unbatched sample"
            .into(),
        evidence: format!(
            "input {}, linear_weight {}",
            shape_str(&case.input().shape),
            shape_str(w)
        ),
        suggestion: "give the sample as input.unsqueeze(0), and its target with a batch \
                     dimension too"
            .into(),
    })
}
