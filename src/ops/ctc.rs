//! `ctc_loss`: the connectionist temporal classification loss, one aten op
//! (`torch.ctc_loss` with lengths as tensors, which `F.ctc_loss` calls; tch binds it as
//! `ctc_loss_tensor`). The case's `input_lengths` and `target_lengths` are tensors, as
//! Python's `F.ctc_loss` takes them (a tuple or list of ints there is the same call
//! with an int64 tensor); libtorch reads their values in order whatever their shape,
//! and refuses floating-point lengths.
//!
//! Autograd differentiates `log_probs` only. Exact: the Rust losses follow libtorch's
//! CPU kernel operation by operation (the alpha and beta recursions in the input's
//! type, libtorch's summation order for `sum` and `mean`), so outputs and gradients are
//! compared bit for bit.
//!
//! One deliberate deviation: a label within a target length that is not a class in
//! `[0, C)` is an `IndexError` of the Rust losses, where libtorch reads outside the
//! sample's log-probabilities and returns a meaningless value; the known divergence
//! `ctc-label-out-of-range` (`src/known.rs`) says so, and the random cases never draw
//! such labels.

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use proptest::strategy::Strategy;

use super::{Default, Kind, OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, CaseFloat, Laid};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed, DType, TensorData, Values};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals};

/// `torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
/// blank=0, reduction='mean', zero_infinity=False)`.
pub static CTC_LOSS: OpSpec = OpSpec {
    name: "ctc_loss",
    params: &[
        Param::tensor("log_probs", Default::Required),
        Param::tensor("targets", Default::Required),
        Param::tensor("input_lengths", Default::Required),
        Param::tensor("target_lengths", Default::Required),
        Param {
            name: "blank",
            kind: Kind::Int,
            default: Default::Int(0),
        },
        REDUCTION,
        Param::bool("zero_infinity", false),
    ],
    differentiable: &["log_probs"],
    default_grad_wrt: &["log_probs"],
    mode: Mode::Exact,
    is_loss: true,
    rust: ctc,
    #[cfg(feature = "torch")]
    torch: ctc_torch,
    reference: crate::reference::ctc_op,
    strategy: || crate::strategies::ctc_case().sboxed(),
    reading: explain::ctc::reading,
    findings: explain::ctc::findings,
    cases: None,
};

fn tensor<'a>(case: &'a Case, name: &str) -> Result<&'a TensorData, CaseError> {
    case.tensor(name)
        .ok_or_else(|| CaseError::invalid_case(format!("missing {name}")))
}

/// A tensor's values as int64, as `.to(torch.long)` converts them (floats truncated).
pub(crate) fn as_long(t: &TensorData) -> Vec<i64> {
    match &t.values {
        Values::Int(v) => v.clone(),
        Values::Float(v) => v.iter().map(|&x| x as i64).collect(),
    }
}

fn options(case: &Case) -> losses::CtcOptions {
    losses::CtcOptions {
        blank: case.int("blank").unwrap_or(0),
        reduction: case.reduction(),
        zero_infinity: case.bool("zero_infinity").unwrap_or(false),
    }
}

/// libtorch's checks (the lengths' dtypes, the input's rank and dtype, emptiness, the
/// targets' rank, the blank, the lengths' counts and values), then the loss in the
/// input's type.
fn ctc(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    let lp = case.input();
    let targets = tensor(case, "targets")?;
    let il = tensor(case, "input_lengths")?;
    let tl = tensor(case, "target_lengths")?;
    internals::check_ctc_loss_args(
        &lp.shape,
        lp.dtype.torch_name(),
        &targets.shape,
        &as_long(il),
        &as_long(tl),
        (il.dtype.torch_name(), tl.dtype.torch_name()),
        options(case).blank,
    )
    .map_err(case_error)?;
    match lp.dtype {
        DType::Float32 => typed::<f32>(case, layout),
        _ => typed::<f64>(case, layout),
    }
}

fn typed<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    let lp = crate::backend::rust::laid_floats::<F>(case.input(), "log_probs", layout)?;
    let targets = tensor(case, "targets")?;
    let t = ArrayD::from_shape_vec(IxDyn(&targets.shape), as_long(targets))
        .map_err(|_| CaseError::invalid_case("targets: values do not match the shape"))?;
    let t = Laid::new(t, layout);
    let il = as_long(tensor(case, "input_lengths")?);
    let tl = as_long(tensor(case, "target_lengths")?);
    let o = options(case);
    let (lp, t) = (lp.view(), t.view());
    let forward = losses::ctc_loss(lp.view(), t.view(), &il, &tl, &o);
    let backward = |_: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| {
        losses::ctc_loss_backward(g.view(), lp.view(), t.view(), &il, &tl, &o)
    };
    computed(case, layout, forward, &backward)
}

/// `F.ctc_loss`: `torch.ctc_loss(log_probs, targets, input_lengths, target_lengths,
/// blank, reduction, zero_infinity)` with the lengths as tensors.
#[cfg(feature = "torch")]
fn ctc_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let get = |n: &str| t(n).ok_or_else(|| super::softmax::missing(n));
    let o = options(case);
    tch::Tensor::f_ctc_loss_tensor(
        &get("log_probs")?,
        &get("targets")?,
        &get("input_lengths")?,
        &get("target_lengths")?,
        o.blank,
        super::nll_loss::torch_reduction(case),
        o.zero_infinity,
    )
    .map_err(crate::backend::torch_error)
}
