//! Findings of the element-wise losses (`mse_loss`, `l1_loss`): an input and a target
//! of different shapes that broadcast into a larger loss than either, the classic
//! `(N, 1)` prediction against an `(N)` target.

use crate::case::{Arg, Case};
use crate::explain::{shape_str, Diagnostic};
use crate::losses::internals::check_pointwise_shapes;

/// The broadcast shape of two shapes, `None` when they do not broadcast.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    check_pointwise_shapes(a, b, None).ok()
}

/// How PyTorch reads the call: the shapes, what they broadcast to, and the reduction.
pub(crate) fn reading(case: &Case, raised: bool) -> String {
    let input = &case.input().shape;
    let Some(target) = case.target() else {
        return format!("input {}", shape_str(input));
    };
    let mut parts = vec![format!(
        "input {} {}, target {} {}",
        shape_str(input),
        case.input().dtype.name(),
        shape_str(&target.shape),
        target.dtype.name()
    )];
    if let Some(shape) =
        broadcast(input, &target.shape).filter(|s| s != input || *s != target.shape)
    {
        parts.push(format!(
            "they broadcast to {} ({} element losses)",
            shape_str(&shape),
            shape.iter().product::<usize>()
        ));
    }
    if raised {
        return parts.join("; ");
    }
    let options: Vec<String> = case
        .args()
        .filter(|(n, _)| *n != "reduction")
        .filter_map(|(n, a)| match a {
            Arg::Bool(v) => Some(format!("{n}={}", if *v { "True" } else { "False" })),
            Arg::Float(v) => Some(format!("{n}={v}")),
            Arg::Int(v) => Some(format!("{n}={v}")),
            _ => None,
        })
        .collect();
    if !options.is_empty() {
        parts.push(options.join(", "));
    }
    let weighted_sum = case.weight().is_some() && matches!(case.op.name(), "mse_loss" | "l1_loss");
    let classes = case.op.name() == "multilabel_soft_margin_loss";
    parts.push(match case.reduction_name() {
        "none" if classes => {
            "reduction='none': one loss per sample (the mean over its classes)".to_string()
        }
        "none" => "reduction='none': one loss per element".to_string(),
        "sum" => "reduction='sum': the plain sum of the element losses".to_string(),
        "batchmean" => format!(
            "reduction='batchmean' divides the sum by the batch size ({})",
            case.input().shape.first().copied().unwrap_or(1)
        ),
        _ if weighted_sum => {
            "reduction='mean' with a weight divides sum(weight * loss) by sum(weight)".to_string()
        }
        _ if classes => {
            "reduction='mean': the mean over samples of each sample's mean over classes".to_string()
        }
        _ => "reduction='mean' divides the sum by the number of elements".to_string(),
    });
    parts.join("; ")
}

/// The findings of an element-wise loss call.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = broadcast_mistake(case).into_iter().collect();
    out.extend(super::elementwise::findings(case));
    out
}

fn broadcast_mistake(case: &Case) -> Option<Diagnostic> {
    let input = &case.input().shape;
    let target = &case.target()?.shape;
    let shape = broadcast(input, target)?;
    let numel = |s: &[usize]| s.iter().product::<usize>();
    if input == target || numel(&shape) <= numel(input).max(numel(target)) {
        return None;
    }
    let column = input.len() == 2 && input[1] == 1 && target.len() == 1 && target[0] == input[0];
    let suggestion = if column {
        format!(
            "give both the same shape: input.squeeze(1) (shape [{}]) or target.unsqueeze(1) \
             (shape {})",
            input[0],
            shape_str(input)
        )
    } else {
        format!(
            "give the target the input's shape {} (PyTorch warns about this broadcast, then \
             computes it)",
            shape_str(input)
        )
    };
    Some(Diagnostic {
        code: "broadcast-shape-mismatch",
        summary: format!(
            "the input {} and the target {} broadcast to {}: {} compares every input element \
             with every target element it lines up with, which is rarely meant, and the loss is \
             silently wrong",
            shape_str(input),
            shape_str(target),
            shape_str(&shape),
            case.op
        ),
        evidence: format!(
            "{} element losses from {} input and {} target values",
            numel(&shape),
            numel(input),
            numel(target)
        ),
        suggestion,
    })
}
