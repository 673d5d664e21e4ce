//! Findings about the values of the binary, divergence and probabilistic losses: what
//! a tensor's values say it holds (logits, probabilities, log-probabilities, labels in
//! {0, 1} or {-1, 1}) against what the op expects.

use crate::case::{Case, TensorData};
use crate::explain::{shape_str, Diagnostic};

/// The finite values of a float tensor.
fn finite(t: &TensorData) -> Vec<f64> {
    t.floats()
        .map(|v| v.iter().copied().filter(|x| x.is_finite()).collect())
        .unwrap_or_default()
}

fn count(values: &[f64], f: impl Fn(f64) -> bool) -> usize {
    values.iter().filter(|&&x| f(x)).count()
}

/// The findings about values, for the ops that have some.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    match case.op.name() {
        "binary_cross_entropy" => {
            out.extend(logits_to_bce(case));
            out.extend(saturated_probabilities(case));
        }
        "binary_cross_entropy_with_logits" => out.extend(signs_for_binary(case)),
        "soft_margin_loss" => out.extend(binary_for_signs(case)),
        "kl_div" => {
            out.extend(kl_div_arguments(case));
            out.extend(kl_div_mean(case));
        }
        "poisson_nll_loss" => out.extend(poisson_rates_as_logs(case)),
        "gaussian_nll_loss" => out.extend(nonpositive_variance(case)),
        _ => {}
    }
    out
}

/// `binary_cross_entropy` given scores outside [0, 1]: logits, which need the
/// `_with_logits` version.
fn logits_to_bce(case: &Case) -> Option<Diagnostic> {
    let x = finite(case.input());
    let outside = count(&x, |v| !(0.0..=1.0).contains(&v));
    if outside == 0 {
        return None;
    }
    Some(Diagnostic {
        code: "logits-to-binary-cross-entropy",
        summary: "binary_cross_entropy takes probabilities in [0, 1], and the input has values \
                  outside: these look like logits (raw scores), which PyTorch refuses here"
            .to_string(),
        evidence: format!("{outside} of {} input values lie outside [0, 1]", x.len()),
        suggestion: "pass the logits to F.binary_cross_entropy_with_logits(logits, target), \
                     which applies the sigmoid itself and stays accurate for large scores"
            .to_string(),
    })
}

/// `binary_cross_entropy` given probabilities of exactly 0 or 1: the logs are clamped
/// at -100, so the loss saturates and the gradient is meaningless there.
fn saturated_probabilities(case: &Case) -> Option<Diagnostic> {
    let x = finite(case.input());
    let at_ends = count(&x, |v| v == 0.0 || v == 1.0);
    if at_ends == 0 || x.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return None;
    }
    Some(Diagnostic {
        code: "saturated-probabilities",
        summary: "some probabilities are exactly 0 or 1: binary_cross_entropy clamps its logs \
                  at -100, so where the target disagrees the loss is a flat 100 and its \
                  gradient no longer says how wrong the prediction is"
            .to_string(),
        evidence: format!("{at_ends} of {} input values are exactly 0 or 1", x.len()),
        suggestion: "compute the loss from the logits with \
                     F.binary_cross_entropy_with_logits(logits, target) instead of \
                     sigmoid(logits) then binary_cross_entropy: it never saturates"
            .to_string(),
    })
}

/// `binary_cross_entropy_with_logits` given targets of -1: the {-1, 1} labels of the
/// margin losses, where it expects {0, 1}.
fn signs_for_binary(case: &Case) -> Option<Diagnostic> {
    let t = finite(case.target()?);
    let negative = count(&t, |v| v < 0.0);
    if negative == 0 {
        return None;
    }
    Some(Diagnostic {
        code: "signs-for-binary-target",
        summary: format!(
            "{} expects targets in [0, 1] (1 for the positive class, 0 for the negative), and \
             some targets are negative: labels in {{-1, 1}} give a silently different loss \
             (a target of -1 rewards a confident wrong answer)",
            case.op
        ),
        evidence: format!("{negative} of {} target values are negative", t.len()),
        suggestion: "map {-1, 1} labels to {0, 1} with (target + 1) / 2, or use \
                     F.soft_margin_loss, which takes {-1, 1}"
            .to_string(),
    })
}

/// `soft_margin_loss` given targets in {0, 1}: a 0 target makes the element's loss the
/// constant log 2, whatever the input.
fn binary_for_signs(case: &Case) -> Option<Diagnostic> {
    let t = finite(case.target()?);
    let zeros = count(&t, |v| v == 0.0);
    if zeros == 0 || t.iter().any(|&v| v < 0.0) {
        return None;
    }
    Some(Diagnostic {
        code: "binary-target-for-signs",
        summary: "soft_margin_loss expects targets -1 or 1, and the targets hold 0 and no \
                  negative value: labels in {0, 1} are meant for binary cross entropy; here \
                  a 0 target gives the constant loss log(2) and no gradient at all"
            .to_string(),
        evidence: format!("{zeros} of {} target values are 0", t.len()),
        suggestion: "map {0, 1} labels to {-1, 1} with 2 * target - 1, or use \
                     F.binary_cross_entropy_with_logits, which takes {0, 1}"
            .to_string(),
    })
}

/// `kl_div` given probabilities as its input (it expects log-probabilities), or both
/// arguments in the order of the mathematical KL(p || q).
fn kl_div_arguments(case: &Case) -> Option<Diagnostic> {
    let x = finite(case.input());
    let t = finite(case.target()?);
    let log_target = case.bool("log_target").unwrap_or(false);
    let positive_input = count(&x, |v| v > 0.0);
    if positive_input == 0 {
        return None;
    }
    let target_looks_logged = !log_target && t.iter().any(|&v| v < 0.0);
    if target_looks_logged {
        return Some(Diagnostic {
            code: "kl-div-arguments-swapped",
            summary: "kl_div(input, target) takes the model's log-probabilities first and the \
                      target distribution second; here the input holds positive values and the \
                      target negative ones, as if the arguments were given in the order of \
                      KL(p || q)"
                .to_string(),
            evidence: format!(
                "{positive_input} of {} input values are positive (a log-probability is at \
                 most 0); {} of {} target values are negative (a probability is not)",
                x.len(),
                count(&t, |v| v < 0.0),
                t.len()
            ),
            suggestion: "call F.kl_div(log_q, p) for KL(p || q): the first argument is \
                         log_softmax of the model's scores, the second the target \
                         probabilities"
                .to_string(),
        });
    }
    Some(Diagnostic {
        code: "kl-div-probabilities-as-input",
        summary: "kl_div expects its input as log-probabilities, and the input holds positive \
                  values: probabilities passed as they are give a silently wrong divergence"
            .to_string(),
        evidence: format!(
            "{positive_input} of {} input values are positive (a log-probability is at most 0)",
            x.len()
        ),
        suggestion: "pass F.log_softmax(scores, dim=-1) (or probabilities.log()) as the input"
            .to_string(),
    })
}

/// `kl_div` with `reduction='mean'`, which is not the KL divergence.
fn kl_div_mean(case: &Case) -> Option<Diagnostic> {
    if case.reduction_name() != "mean" || case.input().shape.len() < 2 {
        return None;
    }
    let shape = &case.input().shape;
    let per_sample: usize = shape[1..].iter().product();
    Some(Diagnostic {
        code: "kl-div-mean-is-not-kl",
        summary: "reduction='mean' divides kl_div's sum by every element, not by the batch: \
                  the result is the KL divergence divided by the number of classes too \
                  (PyTorch warns about this)"
            .to_string(),
        evidence: format!(
            "input {}: 'mean' divides by {}, 'batchmean' by {}",
            shape_str(shape),
            shape.iter().product::<usize>(),
            shape[0]
        ),
        suggestion: format!(
            "pass reduction='batchmean' for the mean KL divergence per sample (here 'mean' is \
             that divided by {per_sample})"
        ),
    })
}

/// `poisson_nll_loss` with `log_input=True` (the default) given what look like rates.
fn poisson_rates_as_logs(case: &Case) -> Option<Diagnostic> {
    if !case.bool("log_input").unwrap_or(true) {
        return None;
    }
    let x = finite(case.input());
    if x.is_empty() || x.iter().any(|&v| v < 0.0) || x.iter().all(|&v| v == 0.0) {
        return None;
    }
    Some(Diagnostic {
        code: "poisson-rates-as-log-input",
        summary: "with log_input=True (the default) poisson_nll_loss reads the input as the \
                  log of the rate and computes exp(input) - target * input; this input has no \
                  negative value, as rates would"
            .to_string(),
        evidence: format!("all {} input values are at least 0", x.len()),
        suggestion: "if the input holds rates, pass log_input=False (then it computes \
                     input - target * log(input + eps)); if it holds log-rates, ignore this"
            .to_string(),
    })
}

/// `gaussian_nll_loss` with a variance that is zero or negative.
fn nonpositive_variance(case: &Case) -> Option<Diagnostic> {
    let values = match case.arg("var")? {
        crate::case::Arg::Tensor(t) => finite(t),
        crate::case::Arg::Float(v) => vec![*v],
        _ => return None,
    };
    let negative = count(&values, |v| v < 0.0);
    let zero = count(&values, |v| v == 0.0);
    let eps = case.float("eps").unwrap_or(1e-6);
    if negative > 0 {
        return Some(Diagnostic {
            code: "negative-variance",
            summary: "gaussian_nll_loss's var is a variance, never negative, and PyTorch \
                      refuses it: a negative value often means a raw network output"
                .to_string(),
            evidence: format!("{negative} of {} var values are negative", values.len()),
            suggestion: "make the variance positive, for example F.softplus(raw) + 1e-6 or \
                         raw.exp()"
                .to_string(),
        });
    }
    if zero == 0 {
        return None;
    }
    Some(Diagnostic {
        code: "zero-variance",
        summary: format!(
            "some variances are 0: gaussian_nll_loss clamps them to eps = {eps} out of \
             autograd's sight, so these elements dominate the loss with \
             (input - target)^2 / eps and get the huge gradients of a variance of eps"
        ),
        evidence: format!("{zero} of {} var values are 0", values.len()),
        suggestion: "predict a strictly positive variance (softplus or exp of the network \
                     output); a standard deviation must be squared first"
            .to_string(),
    })
}
