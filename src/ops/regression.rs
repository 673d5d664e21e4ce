//! `smooth_l1_loss` and `huber_loss`: the robust regression losses, quadratic near 0
//! and linear beyond `beta` / `delta`. `torch.nn.functional` broadcasts input and
//! target in Python first (warning when their sizes differ), sends `beta = 0` to
//! `l1_loss`, and composes `huber_loss`'s weight in Python (its `mean` divides by the
//! element count, not by the weights' sum as `mse_loss`'s does); the libtorch side does
//! the same.

use ndarray::ArrayViewD;
use proptest::strategy::Strategy;

use super::elementwise::{laid, required, run_promoted, shape_of};
use super::{OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, CaseFloat};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals};
use crate::reference::{elementwise, Mean, Reference, Shape};
use crate::strategies::{elementwise_case, Draw, ElementwiseCases, Extra, ExtraShape};

const INPUT: Param = Param::tensor("input", super::Default::Required);
const TARGET: Param = Param::tensor("target", super::Default::Required);

/// `torch.nn.functional.smooth_l1_loss(input, target, reduction='mean', beta=1.0)`.
pub static SMOOTH_L1_LOSS: OpSpec = OpSpec {
    name: "smooth_l1_loss",
    params: &[INPUT, TARGET, REDUCTION, Param::float("beta", 1.0)],
    differentiable: &["input", "target"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: |case, layout| promoted(case, layout, Loss::SmoothL1),
    #[cfg(feature = "torch")]
    torch: smooth_l1_torch,
    reference: |case| reference(case, Loss::SmoothL1),
    strategy: || elementwise_case(&SMOOTH_L1_CASES).sboxed(),
    reading: explain::pointwise::reading,
    findings: explain::pointwise::findings,
    cases: Some(&SMOOTH_L1_CASES),
};

static SMOOTH_L1_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&SMOOTH_L1_LOSS),
    input: Draw::Logits,
    target: Draw::Logits,
    extras: &[],
    bools: &[],
    numbers: &[("beta", &[1.0, 0.0, 0.5, 3.0, -1.0])],
    reductions: &["none", "mean", "sum"],
    max_rank: 4,
    class_mean: false,
};

/// `torch.nn.functional.huber_loss(input, target, reduction='mean', delta=1.0,
/// weight=None)`.
pub static HUBER_LOSS: OpSpec = OpSpec {
    name: "huber_loss",
    params: &[
        INPUT,
        TARGET,
        REDUCTION,
        Param::float("delta", 1.0),
        Param::tensor("weight", super::Default::Absent),
    ],
    differentiable: &["input", "target", "weight"],
    rust: |case, layout| promoted(case, layout, Loss::Huber),
    #[cfg(feature = "torch")]
    torch: huber_torch,
    reference: |case| reference(case, Loss::Huber),
    strategy: || elementwise_case(&HUBER_CASES).sboxed(),
    cases: Some(&HUBER_CASES),
    ..SMOOTH_L1_LOSS
};

static HUBER_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&HUBER_LOSS),
    extras: &[Extra {
        name: "weight",
        shape: ExtraShape::Input,
        draw: Draw::Positive,
        present: 0.4,
    }],
    numbers: &[("delta", &[1.0, 0.5, 3.0, 0.0, -1.0])],
    ..SMOOTH_L1_CASES
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Loss {
    SmoothL1,
    Huber,
}

const TENSORS: &[&str] = &["input", "target", "weight"];

/// Every check the call makes before computing, in PyTorch's order.
fn checks(case: &Case, loss: Loss) -> Result<(), CaseError> {
    let shape = |name| shape_of(case, name).unwrap_or_default();
    let (input, target) = (shape("input"), shape("target"));
    match loss {
        Loss::SmoothL1 => {
            internals::check_smooth_l1_loss_shapes(input, target, case.float("beta").unwrap_or(1.0))
        }
        Loss::Huber => internals::check_huber_loss_shapes(
            input,
            target,
            case.tensor("weight").map(|t| t.shape.as_slice()),
            case.float("delta").unwrap_or(1.0),
        ),
    }
    .map(|_| ())
    .map_err(case_error)
}

fn promoted(case: &Case, layout: MemoryLayout, loss: Loss) -> Result<Computed, CaseError> {
    run_promoted(
        case,
        layout,
        TENSORS,
        loss,
        checks,
        (typed::<f32>, typed::<f64>),
    )
}

fn typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    loss: Loss,
) -> Result<Computed, CaseError> {
    let x = required::<F>(case, "input", layout)?;
    let t = required::<F>(case, "target", layout)?;
    let (x, t) = (x.view(), t.view());
    let reduction = case.reduction();
    match loss {
        Loss::SmoothL1 => {
            let o = losses::SmoothL1Options {
                reduction,
                beta: case.float("beta").unwrap_or(1.0),
            };
            let forward = losses::smooth_l1_loss(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => {
                    losses::smooth_l1_loss_target_backward(g.view(), x.view(), t.view(), &o)
                }
                _ => losses::smooth_l1_loss_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
        Loss::Huber => {
            let w = laid::<F>(case, "weight", layout)?;
            let o = losses::HuberOptions {
                reduction,
                delta: case.float("delta").unwrap_or(1.0),
                weight: w.as_ref().map(|w| w.view()),
            };
            let forward = losses::huber_loss(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => losses::huber_loss_target_backward(g.view(), x.view(), t.view(), &o),
                "weight" => losses::huber_loss_weight_backward(g.view(), x.view(), t.view(), &o),
                _ => losses::huber_loss_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
    }
}

fn reference(case: &Case, loss: Loss) -> Option<Reference> {
    if checks(case, loss).is_err() {
        return None;
    }
    let shape = Shape {
        tensors: TENSORS,
        mean: Mean::Count,
        class_mean: false,
    };
    match loss {
        Loss::SmoothL1 => {
            let beta = case.float("beta").unwrap_or(1.0);
            elementwise(case, shape, |a| {
                let d = a[0]? - a[1]?;
                Some(if beta == 0.0 {
                    d.abs()
                } else if d.abs().value() < beta || d.value().is_nan() {
                    d * d * 0.5 / beta
                } else {
                    d.abs() - 0.5 * beta
                })
            })
        }
        Loss::Huber => {
            let delta = case.float("delta").unwrap_or(1.0);
            elementwise(case, shape, |a| {
                let d = a[0]? - a[1]?;
                // A NaN difference takes the quadratic side, as aten's select does.
                let l = if d.abs().value() < delta || d.value().is_nan() {
                    d * d * 0.5
                } else {
                    (d.abs() - 0.5 * delta) * delta
                };
                Some(match a[2] {
                    Some(w) => l * w,
                    None => l,
                })
            })
        }
    }
}

#[cfg(feature = "torch")]
fn broadcast(
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<(tch::Tensor, tch::Tensor, tch::Tensor), CaseError> {
    use crate::backend::torch_error;
    let (input, target) = super::elementwise::input_and_target(t)?;
    let both = tch::Tensor::f_broadcast_tensors(&[&input, &target]).map_err(torch_error)?;
    let [x, y]: [tch::Tensor; 2] = both
        .try_into()
        .map_err(|_| CaseError::invalid_case("broadcast_tensors gave other than two tensors"))?;
    Ok((input, x, y))
}

/// Python: broadcast, then `l1_loss` when `beta == 0`, else aten's `smooth_l1_loss`.
#[cfg(feature = "torch")]
fn smooth_l1_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (_, x, y) = broadcast(t)?;
    let reduction = super::nll_loss::torch_reduction(case);
    let beta = case.float("beta").unwrap_or(1.0);
    if beta == 0.0 {
        x.f_l1_loss(&y, reduction)
    } else {
        x.f_smooth_l1_loss(&y, reduction, beta)
    }
    .map_err(torch_error)
}

/// Python: broadcast; without a weight aten's `huber_loss`; with one, its shape check,
/// the unreduced loss times the weight, then `sum` or `mean` (of the elements).
#[cfg(feature = "torch")]
fn huber_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    use tch::Kind;
    let (input, x, y) = broadcast(t)?;
    let delta = case.float("delta").unwrap_or(1.0);
    let Some(weight) = t("weight") else {
        return x
            .f_huber_loss(&y, super::nll_loss::torch_reduction(case), delta)
            .map_err(torch_error);
    };
    if weight.size() != input.size() {
        return Err(CaseError::new(
            "ValueError",
            "Weights and input must have the same size.",
        ));
    }
    let weighted = x
        .f_huber_loss(&y, tch::Reduction::None, delta)
        .and_then(|l| l.f_mul(&weight))
        .map_err(torch_error)?;
    match case.reduction() {
        losses::Reduction::None => Ok(weighted),
        losses::Reduction::Sum => weighted.f_sum(None::<Kind>),
        losses::Reduction::Mean => weighted.f_mean(None::<Kind>),
    }
    .map_err(torch_error)
}
