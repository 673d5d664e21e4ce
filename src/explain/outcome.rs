//! The `outcome` finding: what the call returns or raises, as the Rust backend computes
//! it (which agrees with libtorch on the catalogue), with the error's hint, and how
//! PyTorch reads the call.

use super::{shape_str, values_inline, Diagnostic};
use crate::backend::{Backend, RustBackend};
use crate::case::{Case, CaseError};

pub(super) fn outcome(case: &Case) -> Diagnostic {
    let result = RustBackend::default().evaluate(case).result;
    let hint = |e: &CaseError| e.hint.clone();
    let call = format!("F.{}", case.op.name());
    let (summary, suggestion) = match &result {
        Err(e) => (format!("{call} raises {}: {}", e.kind, e.message), hint(e)),
        Ok(computed) => {
            let out = &computed.output;
            let value = if out.shape.is_empty() {
                format!(
                    "{call} returns {} (a {} scalar)",
                    values_inline(out, 1),
                    out.dtype.name()
                )
            } else {
                format!(
                    "{call} returns a {} tensor of shape {}: {}",
                    out.dtype.name(),
                    shape_str(&out.shape),
                    values_inline(out, 8)
                )
            };
            match &computed.grads {
                None => (value, String::new()),
                Some(Ok(grads)) => {
                    let shapes: Vec<String> = grads
                        .iter()
                        .map(|g| {
                            format!(
                                "the gradient with respect to the {} has shape {}",
                                g.wrt,
                                shape_str(&g.tensor.shape)
                            )
                        })
                        .collect();
                    (format!("{value}; {}", shapes.join("; ")), String::new())
                }
                Some(Err(e)) => (
                    format!("{value}, but the backward raises {}: {}", e.kind, e.message),
                    hint(e),
                ),
            }
        }
    };
    Diagnostic {
        code: "outcome",
        summary,
        evidence: (case.op.spec().reading)(case, result.is_err()),
        suggestion,
    }
}
