//! `nll_loss`: log-probabilities and class indices; differentiable in the input only
//! (PyTorch refuses a weight that requires grad). Compared bit for bit: the Rust
//! losses follow libtorch's summation order.

use proptest::strategy::Strategy;

use super::{Default, Kind, OpSpec, Param, REDUCTION};
use crate::backend::rust::{
    case_error, computed, dispatch, laid_floats, loss_shape_checks, loss_tensors, not_implemented,
    CaseFloat, TypedOp,
};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals::weight_grad_refusal, NllLossOptions};

/// `ignore_index` of the classification losses.
pub(super) const IGNORE_INDEX: Param = Param {
    name: "ignore_index",
    kind: Kind::Int,
    default: Default::Int(-100),
};

/// `torch.nn.functional.nll_loss(input, target, weight=None, ignore_index=-100,
/// reduction='mean')`.
pub static NLL_LOSS: OpSpec = OpSpec {
    name: "nll_loss",
    params: &[
        Param::tensor("input", Default::Required),
        Param::tensor("target", Default::Required),
        Param::tensor("weight", Default::Absent),
        IGNORE_INDEX,
        REDUCTION,
    ],
    differentiable: &["input"],
    default_grad_wrt: &["input"],
    mode: Mode::Exact,
    is_loss: true,
    rust: dispatch::<NllLoss>,
    #[cfg(feature = "torch")]
    torch: |case, t| {
        let missing = super::softmax::missing;
        let input = t("input").ok_or_else(|| missing("input"))?;
        let target = t("target").ok_or_else(|| missing("target"))?;
        input
            .f_nll_loss_nd(
                &target,
                t("weight").as_ref(),
                torch_reduction(case),
                case.ignore_index(),
            )
            .map_err(crate::backend::torch_error)
    },
    reference: crate::reference::nll_op,
    strategy: || crate::strategies::nll_loss_case().sboxed(),
    reading: explain::loss::reading,
    findings: explain::loss::findings,
    cases: None,
};

/// The case's reduction as tch's.
#[cfg(feature = "torch")]
pub(super) fn torch_reduction(case: &Case) -> tch::Reduction {
    match case.reduction() {
        losses::Reduction::None => tch::Reduction::None,
        losses::Reduction::Mean => tch::Reduction::Mean,
        losses::Reduction::Sum => tch::Reduction::Sum,
    }
}

/// PyTorch's refusal of a weight that requires grad, or the error of a check before it.
pub(super) fn weight_refusal(case: &Case) -> CaseError {
    let target = case.target().map(|t| t.shape.clone()).unwrap_or_default();
    case_error(weight_grad_refusal(&case.input().shape, &target))
}

struct NllLoss;

impl TypedOp for NllLoss {
    fn refusal(case: &Case) -> Option<CaseError> {
        case.grad_wrt()
            .contains(&"weight")
            .then(|| weight_refusal(case))
    }

    fn integer_input(case: &Case) -> CaseError {
        match loss_shape_checks(case, false) {
            Err(e) => e,
            Ok(()) if case.input().shape.len() <= 2 => not_implemented("nll_loss_out_frame", case),
            Ok(()) => not_implemented("nll_loss2d_forward_out_frame", case),
        }
    }

    fn run<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
        let input = laid_floats::<F>(case.input(), "input", layout)?;
        let (target, weight) = loss_tensors::<F>(case, layout)?;
        let options = NllLossOptions {
            weight: weight.as_ref().map(|w| w.view()),
            ignore_index: case.ignore_index(),
            reduction: case.reduction(),
        };
        computed(
            case,
            layout,
            losses::nll_loss(input.view(), target.view(), &options),
            &|_, go, _| losses::nll_loss_backward(go.view(), input.view(), target.view(), &options),
        )
    }
}
