//! `cross_entropy`: logits with class indices or class probabilities. Differentiable
//! in the input and, with class probabilities, in the target and the weight (with class
//! indices PyTorch refuses a weight that requires grad).

use proptest::strategy::Strategy;

use super::nll_loss::{weight_refusal, IGNORE_INDEX};
use super::{Default, Kind, OpSpec, Param, REDUCTION};
use crate::backend::rust::{
    case_error, computed, dispatch, laid_floats, loss_tensors, CaseFloat, TypedOp,
};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::internals::check_cross_entropy_before_log_softmax;
use crate::losses::{self, CrossEntropyOptions};

/// `torch.nn.functional.cross_entropy(input, target, weight=None, ignore_index=-100,
/// reduction='mean', label_smoothing=0.0)`.
pub static CROSS_ENTROPY: OpSpec = OpSpec {
    name: "cross_entropy",
    params: &[
        Param::tensor("input", Default::Required),
        Param::tensor("target", Default::Required),
        Param::tensor("weight", Default::Absent),
        IGNORE_INDEX,
        REDUCTION,
        Param {
            name: "label_smoothing",
            kind: Kind::Float,
            default: Default::Float(0.0),
        },
    ],
    differentiable: &["input", "target", "weight"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: dispatch::<CrossEntropy>,
    #[cfg(feature = "torch")]
    torch: |case, t| {
        let missing = super::softmax::missing;
        let input = t("input").ok_or_else(|| missing("input"))?;
        let target = t("target").ok_or_else(|| missing("target"))?;
        input
            .f_cross_entropy_loss(
                &target,
                t("weight").as_ref(),
                super::nll_loss::torch_reduction(case),
                case.ignore_index(),
                case.label_smoothing(),
            )
            .map_err(crate::backend::torch_error)
    },
    reference: crate::reference::cross_entropy_op,
    strategy: || crate::strategies::cross_entropy_case().sboxed(),
    reading: explain::loss::reading,
    findings: explain::loss::findings,
    cases: None,
};

/// The class dimension `log_softmax` runs over: 0 for a 1-D input, else 1.
fn class_dim(case: &Case) -> i64 {
    if case.input().shape.len() == 1 {
        0
    } else {
        1
    }
}

/// `cross_entropy`'s Rust evaluation (`linear_cross_entropy` takes its refusal).
pub(super) struct CrossEntropy;

impl TypedOp for CrossEntropy {
    /// With class indices, a weight that requires grad reaches `nll_loss`, which
    /// refuses it after `cross_entropy`'s own checks and `log_softmax`'s.
    fn refusal(case: &Case) -> Option<CaseError> {
        let indices = case.target().map(|t| &t.shape) != Some(&case.input().shape);
        if !(indices && case.grad_wrt().contains(&"weight")) {
            return None;
        }
        if let Err(e) =
            check_cross_entropy_before_log_softmax(&case.input().shape, case.label_smoothing())
        {
            return Some(case_error(e));
        }
        if !case.input().dtype.is_float() {
            return Some(Self::integer_input(case));
        }
        Some(weight_refusal(case))
    }

    /// With class indices, `cross_entropy`'s checks before `log_softmax` (label
    /// smoothing's range) come first; then `log_softmax` refuses the integers.
    fn integer_input(case: &Case) -> CaseError {
        let indices = case.target().map(|t| &t.shape) != Some(&case.input().shape);
        let checked =
            check_cross_entropy_before_log_softmax(&case.input().shape, case.label_smoothing());
        if let (true, Err(e)) = (indices, checked) {
            return case_error(e);
        }
        super::softmax::integer_softmax(case, "log_softmax", class_dim(case))
    }

    fn run<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
        let input = laid_floats::<F>(case.input(), "input", layout)?;
        let (target, weight) = loss_tensors::<F>(case, layout)?;
        let options = CrossEntropyOptions {
            weight: weight.as_ref().map(|w| w.view()),
            ignore_index: case.ignore_index(),
            reduction: case.reduction(),
            label_smoothing: case.label_smoothing(),
        };
        let backward = |wrt: &str, go: &ndarray::ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| {
            let (go, x, t) = (go.view(), input.view(), target.view());
            match wrt {
                "target" => losses::cross_entropy_target_backward(go, x, t, &options),
                "weight" => losses::cross_entropy_weight_backward(go, x, t, &options),
                _ => losses::cross_entropy_backward(go, x, t, &options),
            }
        };
        computed(
            case,
            layout,
            losses::cross_entropy(input.view(), target.view(), &options),
            &backward,
        )
    }
}
