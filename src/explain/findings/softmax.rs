//! Findings of `log_softmax` and `softmax`: normalising over the batch.

use crate::case::Case;
use crate::explain::{shape_str, Diagnostic};
use crate::losses::internals::wrap_dim_checked;

/// The findings of a softmax call.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    softmax_over_batch(case).into_iter().collect()
}

/// How PyTorch reads a softmax call: which slices it normalises.
pub(crate) fn reading(case: &Case, _raised: bool) -> String {
    let shape = &case.input().shape;
    let dim = case.dim().unwrap_or(0);
    match wrap_dim_checked(dim, shape.len()) {
        Err(_) => format!(
            "input {} has {} dimension(s), so dim must be in [{}, {}]; dim={dim} is not",
            shape_str(shape),
            shape.len(),
            -(shape.len().max(1) as i64),
            shape.len().max(1) as i64 - 1
        ),
        Ok(axis) => {
            let size = shape.get(axis).copied().unwrap_or(1);
            let slices = shape.iter().product::<usize>() / size.max(1);
            format!(
                "input {}: {} normalises each of the {slices} slice(s) along dim {axis} \
                 (size {size}) on its own",
                shape_str(shape),
                case.op.name()
            )
        }
    }
}

// ---------------------------------------------------------------------------------
// Diagnostics of log_softmax and softmax.

fn softmax_over_batch(case: &Case) -> Option<Diagnostic> {
    let shape = &case.input().shape;
    let axis = wrap_dim_checked(case.dim()?, shape.len()).ok()?;
    if shape.len() < 2 || axis != 0 {
        return None;
    }
    Some(Diagnostic {
        code: "softmax-over-batch",
        summary: format!(
            "{} over dim=0 of a batched input normalises across the {} samples, not across \
             the classes",
            case.op.name(),
            shape[0]
        ),
        evidence: format!(
            "input shape {}: for (N, C) scores, dim 0 is the batch and dim 1 the classes",
            shape_str(shape)
        ),
        suggestion: format!(
            "for class probabilities use dim=1 (or dim=-1 for (N, C)); F.{}(scores, dim=0) \
             fed to nll_loss is accepted silently and gives a wrong loss",
            case.op.name()
        ),
    })
}
