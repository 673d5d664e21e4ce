//! Findings of the classification losses (`nll_loss`, `cross_entropy`): inputs that
//! are not log-probabilities, one-hot targets, a batch of targets for one sample,
//! class counts that disagree, ignored or weightless targets, label smoothing out of
//! range, probability targets that do not sum to one.

use crate::case::{Case, DType, Op, Values};
use crate::explain::{rounded, shape_str, Diagnostic};
use crate::losses::Reduction;

/// The findings of a loss call.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    let facts = LossFacts::of(case);
    [
        input_not_log_probabilities(case, &facts),
        one_hot_target(case, &facts),
        batch_of_targets_for_1d_input(case),
        class_count_mismatch(case, &facts),
        negative_target(case, &facts),
        all_targets_ignored(case, &facts),
        zero_total_weight(case, &facts),
        empty_batch(case, &facts),
        label_smoothing_out_of_range(case),
        probabilities_not_normalised(case, &facts),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// How PyTorch reads a loss call: layout, target and, when the call goes through, the
/// reduction.
pub(crate) fn reading(case: &Case, raised: bool) -> String {
    let shape = &case.input().shape;
    let facts = LossFacts::of(case);
    let mut parts = vec![layout_reading(case.op, shape)];
    let Some(target) = case.target() else {
        return parts.join("; ");
    };
    let target_desc = format!(
        "target {} {}",
        shape_str(&target.shape),
        target.dtype.name()
    );
    if facts.probability_target {
        parts.push(format!(
            "{target_desc} has the input's shape, so cross_entropy reads it as class \
             probabilities"
        ));
    } else if let (Some(targets), true) = (&facts.indices, facts.index_target_shaped(case)) {
        let ignored = targets
            .iter()
            .filter(|&&t| t == case.ignore_index())
            .count();
        parts.push(format!(
            "{target_desc}: class indices, {} counted, {ignored} ignored (ignore_index={})",
            targets.len() - ignored,
            case.ignore_index()
        ));
    } else {
        parts.push(target_desc);
    }
    if raised {
        return parts.join("; ");
    }
    if case.op == Op::CROSS_ENTROPY {
        parts.push(format!(
            "cross_entropy applies log_softmax over dim {} itself",
            facts.class_axis
        ));
        if case.label_smoothing() > 0.0 && case.label_smoothing() <= 1.0 {
            parts.push(format!(
                "label_smoothing={} mixes the target with the uniform distribution over \
                 the classes",
                case.label_smoothing()
            ));
        }
    }
    parts.push(match case.reduction() {
        Reduction::None => "reduction='none': one loss per position".to_string(),
        Reduction::Sum => "reduction='sum': the plain sum over positions".to_string(),
        Reduction::Mean if facts.probability_target => format!(
            "reduction='mean' divides the sum by the number of positions ({}), not by \
             the weights",
            facts.positions
        ),
        Reduction::Mean => format!(
            "reduction='mean' divides the sum of -weight[t] * {}[t] by the total weight of \
             the counted targets{}",
            if case.op == Op::NLL_LOSS {
                "input"
            } else {
                "logp"
            },
            match facts.counted_weight(case) {
                Some(total) => format!(" ({})", rounded(case.input().dtype, total)),
                None => String::new(),
            }
        ),
    });
    parts.join("; ")
}

/// The shape a class-index target of an input of this shape has.
fn index_target_shape(input: &[usize]) -> Option<Vec<usize>> {
    match input.len() {
        0 => None,
        1 => Some(Vec::new()),
        _ => Some(
            std::iter::once(input[0])
                .chain(input[2..].iter().copied())
                .collect(),
        ),
    }
}

fn layout_reading(op: Op, shape: &[usize]) -> String {
    let probabilities = if op == Op::CROSS_ENTROPY {
        ", or class probabilities of the input's shape"
    } else {
        ""
    };
    match shape.len() {
        0 => "a 0-D input has no class dimension; losses take (C), (N, C) or \
              (N, C, d1, ..., dK)"
            .to_string(),
        1 => format!(
            "input {}: ONE unbatched sample with {} classes (class dim 0), whose target is \
             one class index of shape []{probabilities}",
            shape_str(shape),
            shape[0]
        ),
        2 => format!(
            "input {}: {} sample(s) with {} classes each (class dim 1), whose target is one \
             class index per sample, shape [{}]{probabilities}",
            shape_str(shape),
            shape[0],
            shape[1],
            shape[0]
        ),
        _ => {
            let spatial: Vec<String> = shape[2..].iter().map(|d| d.to_string()).collect();
            format!(
                "input {}: {} sample(s), {} classes (class dim 1), {} positions each, whose \
                 target is one class index per position, shape {}{probabilities}",
                shape_str(shape),
                shape[0],
                shape[1],
                spatial.join("x"),
                shape_str(&index_target_shape(shape).unwrap_or_default())
            )
        }
    }
}

// ---------------------------------------------------------------------------------
// Diagnostics of losses.

/// The facts of a loss case that the diagnostics share.
struct LossFacts {
    /// The class dimension: 0 for a 1-D input, else 1.
    class_axis: usize,
    /// Number of classes, when the input has a class dimension.
    classes: Option<usize>,
    /// Whether cross_entropy reads the target as class probabilities.
    probability_target: bool,
    /// Class-index targets (int64 or uint8), flattened.
    indices: Option<Vec<i64>>,
    /// Positions that carry a target (N * d1..dK, or 1 for a 1-D input).
    positions: usize,
}

impl LossFacts {
    fn of(case: &Case) -> LossFacts {
        let shape = &case.input().shape;
        let class_axis = usize::from(shape.len() >= 2);
        let classes = shape.get(class_axis).copied();
        let target = case.target();
        // cross_entropy decides by shape alone, then checks the dtype.
        let probability_target =
            case.op == Op::CROSS_ENTROPY && target.is_some_and(|t| t.shape == *shape);
        let indices = target.and_then(|t| match &t.values {
            Values::Int(v) if !probability_target => Some(v.clone()),
            _ => None,
        });
        let positions = match shape.len() {
            0 => 0,
            1 => 1,
            _ => shape[0] * shape[2..].iter().product::<usize>(),
        };
        LossFacts {
            class_axis,
            classes,
            probability_target,
            indices,
            positions,
        }
    }

    /// Whether the target has the shape of class indices for this input.
    fn index_target_shaped(&self, case: &Case) -> bool {
        case.target().map(|t| t.shape.clone()) == index_target_shape(&case.input().shape)
    }

    /// Weight of class `t`: `weight[t]`, or 1 without a weight.
    fn weight_of(case: &Case, t: i64) -> Option<f64> {
        match case.weight() {
            None => Some(1.0),
            Some(w) => w.floats()?.get(usize::try_from(t).ok()?).copied(),
        }
    }

    /// The total weight of the counted (not ignored, in range) index targets.
    fn counted_weight(&self, case: &Case) -> Option<f64> {
        let targets = self.indices.as_ref()?;
        let classes = self.classes? as i64;
        let mut total = 0.0;
        for &t in targets.iter().filter(|&&t| t != case.ignore_index()) {
            if !(0..classes).contains(&t) {
                return None;
            }
            total += Self::weight_of(case, t)?;
        }
        Some(total)
    }
}

/// The slices of a row-major tensor along `axis`: each slice's flat indices.
fn lanes(shape: &[usize], axis: usize) -> impl Iterator<Item = (Vec<usize>, Vec<usize>)> + '_ {
    let size = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    (0..outer * inner).map(move |p| {
        let (o, i) = (p / inner.max(1), p % inner.max(1));
        let flat = (0..size).map(|c| (o * size + c) * inner + i).collect();
        (lane_index(shape, axis, o, i), flat)
    })
}

/// The multi-index of a lane with the lane's axis as `usize::MAX` (printed `:`).
fn lane_index(shape: &[usize], axis: usize, outer: usize, inner: usize) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    let mut rest = outer;
    for d in (0..axis).rev() {
        index[d] = rest % shape[d];
        rest /= shape[d];
    }
    index[axis] = usize::MAX;
    let mut rest = inner;
    for d in (axis + 1..shape.len()).rev() {
        index[d] = rest % shape[d];
        rest /= shape[d];
    }
    index
}

fn index_str(index: &[usize]) -> String {
    let parts: Vec<String> = index
        .iter()
        .map(|&i| {
            if i == usize::MAX {
                ":".to_string()
            } else {
                i.to_string()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `log(sum(exp(v)))`, computed stably in f64.
pub(crate) fn logsumexp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if values.clone().any(f64::is_nan) {
        return f64::NAN;
    }
    if max.is_infinite() {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// How far from 0 a slice's log-sum-exp (or from 1 its sum) may be and still count as
/// normalised: loose enough for values computed in the dtype, tight enough to catch
/// any real mistake.
fn normalisation_tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::Float64 => 1e-6,
        DType::Float32 => 1e-3,
        _ => 1e-2,
    }
}

/// The first slice along `axis` whose `measure` is more than `tol` from `target`.
fn first_off(
    values: &[f64],
    shape: &[usize],
    axis: usize,
    measure: fn(&[f64]) -> f64,
    target: f64,
    tol: f64,
) -> Option<(Vec<usize>, f64)> {
    lanes(shape, axis).find_map(|(index, flat)| {
        let lane: Vec<f64> = flat.iter().map(|&i| values[i]).collect();
        let m = measure(&lane);
        ((m - target).abs() > tol || m.is_nan()).then_some((index, m))
    })
}

fn lane_logsumexp(lane: &[f64]) -> f64 {
    logsumexp(lane.iter().copied())
}

fn lane_sum(lane: &[f64]) -> f64 {
    lane.iter().sum()
}

fn input_not_log_probabilities(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if case.op != Op::NLL_LOSS || case.input().shape.is_empty() || case.input().values.is_empty() {
        return None;
    }
    let values = case.input().floats()?;
    let shape = &case.input().shape;
    let axis = facts.class_axis;
    let tol = normalisation_tolerance(case.input().dtype);
    let (index, lse) = first_off(values, shape, axis, lane_logsumexp, 0.0, tol)?;
    let class_dim = format!("dim={axis}");
    let in_unit = values.iter().all(|v| (0.0..=1.0).contains(v));
    if in_unit && first_off(values, shape, axis, lane_sum, 1.0, tol).is_none() {
        return Some(Diagnostic {
            code: "probabilities-not-log",
            summary: "the input holds probabilities (in [0, 1], summing to 1 over the \
                      classes), but nll_loss expects log-probabilities"
                .into(),
            evidence: format!(
                "every value is in [0, 1] and every slice along {class_dim} sums to 1; \
                 nll_loss then returns -p[target], not -log p[target]"
            ),
            suggestion: format!(
                "pass probabilities.log() (better: F.log_softmax(scores, {class_dim}) \
                 instead of softmax), or F.cross_entropy(scores, target) on the raw scores"
            ),
        });
    }
    let evidence = format!(
        "slice {} along the class dimension ({class_dim}) has logsumexp {} (log-probabilities \
         have logsumexp 0){}",
        index_str(&index),
        rounded(case.input().dtype, lse),
        match values.iter().copied().fold(f64::NEG_INFINITY, f64::max) {
            m if m > 0.0 => format!(
                "; the largest value is {}, and log-probabilities are never above 0",
                rounded(case.input().dtype, m)
            ),
            _ => String::new(),
        }
    );
    if shape.len() >= 2 && first_off(values, shape, 0, lane_logsumexp, 0.0, tol).is_none() {
        return Some(Diagnostic {
            code: "not-log-probabilities",
            summary: "the input is log_softmax normalised over the batch (dim=0), not over \
                      classes (dim=1): PyTorch accepts it silently and the loss is wrong"
                .into(),
            evidence: format!(
                "{evidence}, while every slice along dim=0 (the batch) has logsumexp 0"
            ),
            suggestion: "use F.log_softmax(scores, dim=1) (the class dimension), or \
                         F.cross_entropy(scores, target), which does it for you"
                .into(),
        });
    }
    Some(Diagnostic {
        code: "not-log-probabilities",
        summary: format!(
            "the input is not log-probabilities over the classes ({class_dim}): nll_loss \
             just picks -input[target] and the result is not a log-likelihood"
        ),
        evidence,
        suggestion: format!(
            "if these are raw scores (logits), use F.cross_entropy(scores, target), or \
             F.nll_loss(F.log_softmax(scores, {class_dim}), target)"
        ),
    })
}

fn one_hot_target(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let target = case.target()?;
    if target.shape != case.input().shape || target.shape.is_empty() || target.values.is_empty() {
        return None;
    }
    let zero_one = match &target.values {
        Values::Int(v) => v.iter().all(|&x| x == 0 || x == 1) && v.contains(&1),
        Values::Float(v) => v.iter().all(|&x| x == 0.0 || x == 1.0) && v.contains(&1.0),
    };
    if !zero_one {
        return None;
    }
    let class_dim = facts.class_axis;
    let evidence = format!(
        "the target has the input's shape {} and holds only 0 and 1 ({})",
        shape_str(&target.shape),
        target.dtype.name()
    );
    let indices_fix = format!("class indices target.argmax(dim={class_dim})");
    let (summary, suggestion) = match (target.dtype.is_float(), case.op == Op::NLL_LOSS) {
        (_, true) => (
            "a one-hot target: nll_loss takes class indices (one integer per sample), \
             not one-hot vectors, and rejects it"
                .to_string(),
            format!("pass the {indices_fix}"),
        ),
        (false, _) => (
            "a one-hot target of integers: cross_entropy reads a target of the input's \
             shape as class probabilities, which must be floating point, so it rejects it"
                .to_string(),
            format!("pass the {indices_fix}, or target.float() as probabilities"),
        ),
        (true, _) => (
            "a one-hot target of floats: cross_entropy reads it as class probabilities, \
             which works; each one-hot row is the distribution of its class"
                .to_string(),
            format!(
                "nothing to fix; the {indices_fix} give the same loss without a weight \
                 (with weight=, 'mean' divides by the targets' total weight instead of N) \
                 and are cheaper"
            ),
        ),
    };
    Some(Diagnostic {
        code: "one-hot-target",
        summary,
        evidence,
        suggestion,
    })
}

fn batch_of_targets_for_1d_input(case: &Case) -> Option<Diagnostic> {
    let target = case.target()?;
    let input = &case.input().shape;
    if input.len() != 1 || target.shape.len() != 1 || target.shape[0] <= 1 {
        return None;
    }
    if case.op == Op::CROSS_ENTROPY && target.dtype.is_float() && target.shape == *input {
        return None;
    }
    let (c, n) = (input[0], target.shape[0]);
    Some(Diagnostic {
        code: "batch-of-targets-for-1d-input",
        summary: format!(
            "a 1-D input is ONE sample with {c} classes, but the target holds {n} values, \
             as for a batch"
        ),
        evidence: format!(
            "input shape {}, target shape {}",
            shape_str(input),
            shape_str(&target.shape)
        ),
        suggestion: format!(
            "for a batch of {n} samples give the scores as shape ({n}, {c}) (torch.stack \
             the samples) and a target of shape ({n}); for one sample give one class \
             index, a 0-D target such as torch.tensor(1)"
        ),
    })
}

fn class_count_mismatch(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let classes = facts.classes?;
    let weight_len = case.weight().map(|w| (w.shape.clone(), w.values.len()));
    let weight_off = weight_len
        .as_ref()
        .is_some_and(|(shape, _)| *shape != [classes]);
    let out_of_range = facts.indices.as_ref().and_then(|targets| {
        targets
            .iter()
            .enumerate()
            .filter(|&(_, &t)| t != case.ignore_index() && t >= classes as i64)
            .max_by_key(|&(_, &t)| t)
            .map(|(i, &t)| (i, t))
    });
    if !weight_off && out_of_range.is_none() {
        return None;
    }
    let mut evidence = vec![format!(
        "input: {classes} classes along dim {}",
        facts.class_axis
    )];
    if let Some((shape, n)) = &weight_len {
        evidence.push(format!("weight: shape {} ({n} entries)", shape_str(shape)));
    }
    if let Some((i, t)) = out_of_range {
        evidence.push(format!(
            "target: class index {t} at flat position {i}, but indices run 0..={}",
            classes as i64 - 1
        ));
    }
    Some(Diagnostic {
        code: "class-count-mismatch",
        summary: "the number of classes C disagrees between the input's class dimension, \
                  the weight and the target's class indices"
            .into(),
        evidence: evidence.join("; "),
        suggestion: "C is the number of categories: the input's class dimension (its \
                     last layer's out_features), the weight's length and the range of the \
                     target's indices (0..C-1) must all agree"
            .into(),
    })
}

fn negative_target(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let targets = facts.indices.as_ref()?;
    let (i, &t) = targets
        .iter()
        .enumerate()
        .find(|&(_, &t)| t < 0 && t != case.ignore_index())?;
    Some(Diagnostic {
        code: "negative-target",
        summary: format!(
            "target {t} is neither a class index nor the ignore_index ({})",
            case.ignore_index()
        ),
        evidence: format!("flat position {i} of the target holds {t}"),
        suggestion: format!(
            "if {t} marks unlabelled positions, pass ignore_index={t}; class indices run \
             from 0"
        ),
    })
}

fn all_targets_ignored(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let targets = facts.indices.as_ref()?;
    if targets.is_empty() || targets.iter().any(|&t| t != case.ignore_index()) {
        return None;
    }
    let what = match case.reduction() {
        Reduction::Mean => {
            "the mean divides 0 by a total weight of 0, NaN (0/0), and the \
                            gradient is zero"
        }
        Reduction::Sum => "the sum is 0 and the gradient is zero",
        Reduction::None => "every per-position loss is 0 and the gradient is zero",
    };
    Some(Diagnostic {
        code: "all-targets-ignored",
        summary: format!(
            "every target equals ignore_index ({}), so nothing is counted; {what}",
            case.ignore_index()
        ),
        evidence: format!(
            "{0} of {0} target value(s) are {1}",
            targets.len(),
            case.ignore_index()
        ),
        suggestion: match case.reduction() {
            Reduction::Mean => "skip such batches (if (target != ignore_index).any()), or \
                                use reduction='sum' and divide by a count you choose"
                .into(),
            _ => String::new(),
        },
    })
}

fn zero_total_weight(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if case.reduction() != Reduction::Mean || case.weight().is_none() || facts.probability_target {
        return None;
    }
    let targets = facts.indices.as_ref()?;
    if !targets.iter().any(|&t| t != case.ignore_index()) {
        return None;
    }
    let total = facts.counted_weight(case)?;
    if total != 0.0 {
        return None;
    }
    Some(Diagnostic {
        code: "zero-total-weight",
        summary: "the counted targets' weights add up to 0, and reduction='mean' divides by \
                  that total: the loss is NaN or infinite"
            .into(),
        evidence: format!(
            "sum of weight[target] over the counted targets = {}",
            rounded(case.input().dtype, total)
        ),
        suggestion: "give the present classes non-zero weights with a non-zero total, or use \
                     reduction='sum'"
            .into(),
    })
}

fn empty_batch(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if case.input().shape.len() < 2 || facts.positions != 0 {
        return None;
    }
    let what = match case.reduction() {
        Reduction::Mean => "reduction='mean' divides 0 by 0: the loss is NaN",
        Reduction::Sum => "reduction='sum' gives 0",
        Reduction::None => "reduction='none' gives an empty tensor",
    };
    Some(Diagnostic {
        code: "empty-batch",
        summary: format!("the batch has no positions: {what}"),
        evidence: format!("input shape {}", shape_str(&case.input().shape)),
        suggestion: match case.reduction() {
            Reduction::Mean => "skip empty batches before computing the loss".into(),
            _ => String::new(),
        },
    })
}

fn label_smoothing_out_of_range(case: &Case) -> Option<Diagnostic> {
    let ls = case.label_smoothing();
    if case.op != Op::CROSS_ENTROPY || (0.0..=1.0).contains(&ls) {
        return None;
    }
    let (summary, suggestion) = if ls.is_nan() {
        (
            "label_smoothing is NaN: PyTorch silently treats it as 0, no smoothing".to_string(),
            "use a value in [0, 1]",
        )
    } else if ls > 1.0 {
        (
            format!("label_smoothing={ls} is above 1: PyTorch rejects it"),
            "use a value in [0, 1]: 0 keeps the target, 1 replaces it with the uniform \
             distribution; 0.1 is usual",
        )
    } else {
        (
            format!(
                "label_smoothing={ls} is below 0: PyTorch silently treats it as 0, no \
                 smoothing"
            ),
            "use a value in [0, 1]; a negative value does not sharpen the target",
        )
    };
    Some(Diagnostic {
        code: "label-smoothing-out-of-range",
        summary,
        evidence: "label_smoothing must be in [0, 1]".into(),
        suggestion: suggestion.into(),
    })
}

fn probabilities_not_normalised(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if !facts.probability_target || case.input().values.is_empty() {
        return None;
    }
    let target = case.target()?;
    let values = target.floats()?;
    let tol = normalisation_tolerance(target.dtype);
    let (index, sum) = first_off(values, &target.shape, facts.class_axis, lane_sum, 1.0, tol)?;
    Some(Diagnostic {
        code: "probabilities-not-normalised",
        summary: "the probability target does not sum to 1 over the classes; cross_entropy \
                  does not normalise it, so each position's loss scales with its sum"
            .into(),
        evidence: format!(
            "slice {} of the target along dim={} sums to {}",
            index_str(&index),
            facts.class_axis,
            rounded(target.dtype, sum)
        ),
        suggestion: format!(
            "if it is meant as a distribution, normalise it: target / target.sum(dim={}, \
             keepdim=True)",
            facts.class_axis
        ),
    })
}
