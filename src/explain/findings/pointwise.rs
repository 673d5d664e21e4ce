//! Findings of the element-wise losses (`mse_loss`, `l1_loss`): an input and a target
//! of different shapes that broadcast into a larger loss than either, the classic
//! `(N, 1)` prediction against an `(N)` target.

use crate::case::Case;
use crate::explain::{shape_str, Diagnostic};
use crate::losses::internals::check_pointwise_shapes;
use crate::losses::Reduction;

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
    parts.push(match (case.reduction(), case.weight().is_some()) {
        (Reduction::None, _) => "reduction='none': one loss per element".to_string(),
        (Reduction::Sum, _) => "reduction='sum': the plain sum of the element losses".to_string(),
        (Reduction::Mean, false) => {
            "reduction='mean' divides the sum by the number of elements".to_string()
        }
        (Reduction::Mean, true) => {
            "reduction='mean' with a weight divides sum(weight * loss) by sum(weight)".to_string()
        }
    });
    parts.join("; ")
}

/// The findings of an element-wise loss call.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    broadcast_mistake(case).into_iter().collect()
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
