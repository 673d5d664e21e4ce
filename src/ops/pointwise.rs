//! `mse_loss` and `l1_loss`: element-wise losses of an input against a broadcastable
//! target, with PyTorch 2.13's optional per-element weight (handled in Python by
//! `torch.nn.functional`, so both sides compose it the way Python does). Differentiable
//! in the input, the target and the weight.

use proptest::strategy::Strategy;

use super::elementwise::{integers_unsupported, laid, required, Promoted};
use super::{Default, OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, CaseFloat};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed, DType};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::internals::check_pointwise_shapes;
use crate::losses::{self, PointwiseOptions};

const PARAMS: &[Param] = &[
    Param::tensor("input", Default::Required),
    Param::tensor("target", Default::Required),
    REDUCTION,
    Param::tensor("weight", Default::Absent),
];

/// `torch.nn.functional.mse_loss(input, target, reduction='mean', weight=None)`.
pub static MSE_LOSS: OpSpec = OpSpec {
    name: "mse_loss",
    params: PARAMS,
    differentiable: &["input", "target", "weight"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: |case, layout| rust(Loss::Squared, case, layout),
    #[cfg(feature = "torch")]
    torch: |case, t| torch(Loss::Squared, case, t),
    reference: |case| crate::reference::pointwise_op(case, true),
    strategy: || crate::strategies::pointwise_case(MSE_LOSS.op()).sboxed(),
    reading: explain::pointwise::reading,
    findings: explain::pointwise::findings,
    cases: None,
};

/// `torch.nn.functional.l1_loss(input, target, reduction='mean', weight=None)`.
pub static L1_LOSS: OpSpec = OpSpec {
    name: "l1_loss",
    rust: |case, layout| rust(Loss::Absolute, case, layout),
    #[cfg(feature = "torch")]
    torch: |case, t| torch(Loss::Absolute, case, t),
    reference: |case| crate::reference::pointwise_op(case, false),
    strategy: || crate::strategies::pointwise_case(L1_LOSS.op()).sboxed(),
    ..MSE_LOSS
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Loss {
    Squared,
    Absolute,
}

/// The tensors of the case that take part in type promotion.
fn tensors(case: &Case) -> Vec<&crate::case::TensorData> {
    ["input", "target", "weight"]
        .into_iter()
        .filter_map(|n| case.tensor(n))
        .collect()
}

/// The checks before the loss: broadcasting (libtorch's `broadcast_tensors`), then the
/// weight's shape (Python).
fn shape_checks(case: &Case) -> Result<(), CaseError> {
    let target = case.target().map(|t| t.shape.clone()).unwrap_or_default();
    check_pointwise_shapes(
        &case.input().shape,
        &target,
        case.weight().map(|w| w.shape.as_slice()),
    )
    .map(|_| ())
    .map_err(case_error)
}

fn rust(loss: Loss, case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    let integers = |case: &Case| integer_error(loss, case);
    Promoted {
        case,
        names: &["input", "target", "weight"],
        shape_checks: &shape_checks,
        integers: &integers,
    }
    .run(
        || typed::<f32>(loss, case, layout),
        || typed::<f64>(loss, case, layout),
    )
}

/// libtorch's outcome when every tensor holds integers: the broadcast and weight
/// checks first; then `mse_loss` has no integer kernel, `l1_loss`'s `mean` cannot pick
/// a result dtype, and what computes in integers is not implemented here.
fn integer_error(loss: Loss, case: &Case) -> CaseError {
    if let Err(e) = shape_checks(case) {
        return e;
    }
    let dtype = if tensors(case).iter().any(|t| t.dtype == DType::Int64) {
        DType::Int64
    } else {
        DType::UInt8
    };
    let hint = format!(
        "the input and target hold integers ({}); losses need floating-point values: pass \
         input.float() and target.float()",
        dtype.name()
    );
    let weighted = case.weight().is_some();
    match (loss, weighted, case.reduction()) {
        (Loss::Squared, false, _) => CaseError::new(
            "NotImplementedError",
            format!("\"mse_cpu\" not implemented for '{}'", dtype.torch_name()),
        )
        .with_hint(hint),
        (Loss::Absolute, false, losses::Reduction::Mean) => CaseError::new(
            "RuntimeError",
            format!(
                "mean(): could not infer output dtype. Input dtype must be either a floating \
                 point or complex dtype. Got: {}",
                dtype.torch_name()
            ),
        )
        .with_hint(hint),
        _ => integers_unsupported(case),
    }
}

fn typed<F: CaseFloat>(
    loss: Loss,
    case: &Case,
    layout: MemoryLayout,
) -> Result<Computed, CaseError> {
    let input = required::<F>(case, "input", layout)?;
    let target = required::<F>(case, "target", layout)?;
    let weight = laid::<F>(case, "weight", layout)?;
    let options = PointwiseOptions {
        reduction: case.reduction(),
        weight: weight.as_ref().map(|w| w.view()),
    };
    let (x, y) = (input.view(), target.view());
    let forward = match loss {
        Loss::Squared => losses::mse_loss(x.view(), y.view(), &options),
        Loss::Absolute => losses::l1_loss(x.view(), y.view(), &options),
    };
    let backward = |wrt: &str, go: &ndarray::ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| {
        let (go, x, y) = (go.view(), x.view(), y.view());
        match (loss, wrt) {
            (Loss::Squared, "target") => losses::mse_loss_target_backward(go, x, y, &options),
            (Loss::Squared, "weight") => losses::mse_loss_weight_backward(go, x, y, &options),
            (Loss::Squared, _) => losses::mse_loss_backward(go, x, y, &options),
            (Loss::Absolute, "target") => losses::l1_loss_target_backward(go, x, y, &options),
            (Loss::Absolute, "weight") => losses::l1_loss_weight_backward(go, x, y, &options),
            (Loss::Absolute, _) => losses::l1_loss_backward(go, x, y, &options),
        }
    };
    computed(case, layout, forward, &backward)
}

#[cfg(feature = "torch")]
fn torch(
    loss: Loss,
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    use tch::{Kind, Tensor};

    let missing = super::softmax::missing;
    let input = t("input").ok_or_else(|| missing("input"))?;
    let target = t("target").ok_or_else(|| missing("target"))?;
    let expanded = Tensor::f_broadcast_tensors(&[&input, &target]).map_err(torch_error)?;
    let (x, y) = (&expanded[0], &expanded[1]);
    let reduction = super::nll_loss::torch_reduction(case);
    let Some(weight) = t("weight") else {
        return match loss {
            Loss::Squared => x.f_mse_loss(y, reduction),
            Loss::Absolute => x.f_l1_loss(y, reduction),
        }
        .map_err(torch_error);
    };
    // torch.nn.functional's weighted path, in Python: the shape check, then the
    // composition it writes out.
    if weight.size() != input.size() {
        return Err(CaseError::new(
            "ValueError",
            "Weights and input must have the same size.",
        ));
    }
    let diff = x.f_sub(y).map_err(torch_error)?;
    let errors = match loss {
        Loss::Squared => diff.f_pow_tensor_scalar(2),
        Loss::Absolute => diff.f_abs(),
    }
    .map_err(torch_error)?;
    let weighted = errors.f_mul(&weight).map_err(torch_error)?;
    match case.reduction() {
        losses::Reduction::None => Ok(weighted),
        losses::Reduction::Sum => weighted.f_sum(None::<Kind>),
        losses::Reduction::Mean => weighted
            .f_sum(None::<Kind>)
            .and_then(|s| s.f_div(&weight.f_sum(None::<Kind>)?)),
    }
    .map_err(torch_error)
}
