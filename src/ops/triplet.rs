//! The triplet losses: `triplet_margin_loss` (one aten op, after its Python check of
//! the margin) and `triplet_margin_with_distance_loss` with its default distance
//! (written in Python entirely: its checks of the margin and the dimensions, then
//! `pairwise_distance`, `minimum` under `swap`, `clamp_min` and the reduction, so the
//! libtorch side composes the same aten ops in the same order and raises the same
//! errors as `torch/nn/functional.py`).
//!
//! Autograd differentiates all three tensors of both. With `p = 0` the norm's backward
//! gives no gradient to anyone; the case format's `materialize_grads` makes those zeros
//! (the Rust losses report autograd's "not used in the graph" error, read here as
//! zeros, as libtorch's undefined gradients are on the other side).
//!
//! Exactness: the distances, the `none` losses and the gradients are bit-exact with
//! libtorch on AVX2 machines for the orders whose powers libtorch computes exactly;
//! `mean` and `sum` (summed in `f64` by the Rust losses, in the type by libtorch) and
//! the others are compared under the tolerance policy (see
//! `lossparity_losses::triplet_margin_loss`).

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use proptest::strategy::Strategy;

use super::elementwise::{required, run_promoted, shape_of};
use super::{Default, OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, CaseFloat};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals, LossError};

const TENSORS: [&str; 3] = ["anchor", "positive", "negative"];

/// `torch.nn.functional.triplet_margin_loss(anchor, positive, negative, margin=1.0,
/// p=2, eps=1e-06, swap=False, reduction='mean')`.
pub static TRIPLET_MARGIN_LOSS: OpSpec = OpSpec {
    name: "triplet_margin_loss",
    params: &[
        Param::tensor("anchor", Default::Required),
        Param::tensor("positive", Default::Required),
        Param::tensor("negative", Default::Required),
        Param::float("margin", 1.0),
        Param::float("p", 2.0),
        Param::float("eps", 1e-6),
        Param::bool("swap", false),
        REDUCTION,
    ],
    differentiable: &TENSORS,
    default_grad_wrt: &TENSORS,
    mode: Mode::Tolerant,
    is_loss: true,
    rust: |case, layout| triplet(case, layout, Variant::Margin),
    #[cfg(feature = "torch")]
    torch: triplet_torch,
    reference: crate::reference::triplet_op,
    strategy: || crate::strategies::triplet_case(false).sboxed(),
    reading: explain::triplet::reading,
    findings: explain::triplet::findings,
    cases: None,
};

/// `torch.nn.functional.triplet_margin_with_distance_loss(anchor, positive, negative,
/// *, distance_function=None, margin=1.0, swap=False, reduction='mean')`: the default
/// distance only (`pairwise_distance`, `p=2`, `eps=1e-6`); a case cannot name a
/// callable.
pub static TRIPLET_MARGIN_WITH_DISTANCE_LOSS: OpSpec = OpSpec {
    name: "triplet_margin_with_distance_loss",
    params: &[
        Param::tensor("anchor", Default::Required),
        Param::tensor("positive", Default::Required),
        Param::tensor("negative", Default::Required),
        Param::float("margin", 1.0),
        Param::bool("swap", false),
        REDUCTION,
    ],
    rust: |case, layout| triplet(case, layout, Variant::WithDistance),
    #[cfg(feature = "torch")]
    torch: with_distance_torch,
    strategy: || crate::strategies::triplet_case(true).sboxed(),
    ..TRIPLET_MARGIN_LOSS
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Margin,
    WithDistance,
}

fn margin(case: &Case) -> f64 {
    case.float("margin").unwrap_or(1.0)
}

fn p(case: &Case) -> f64 {
    case.float("p").unwrap_or(2.0)
}

fn eps(case: &Case) -> f64 {
    case.float("eps").unwrap_or(1e-6)
}

fn swap(case: &Case) -> bool {
    case.bool("swap").unwrap_or(false)
}

/// Every check the call makes before reading a value, in PyTorch's order.
fn checks(case: &Case, variant: Variant) -> Result<(), CaseError> {
    let shape = |name| shape_of(case, name).unwrap_or_default();
    let (a, p_, n) = (shape("anchor"), shape("positive"), shape("negative"));
    match variant {
        Variant::Margin => {
            internals::check_triplet_margin_loss_shapes(a, p_, n, margin(case), p(case), swap(case))
        }
        Variant::WithDistance => internals::check_triplet_margin_with_distance_loss_shapes(
            a,
            p_,
            n,
            margin(case),
            swap(case),
        ),
    }
    .map(|_| ())
    .map_err(case_error)
}

fn triplet(case: &Case, layout: MemoryLayout, variant: Variant) -> Result<Computed, CaseError> {
    run_promoted(
        case,
        layout,
        &TENSORS,
        variant,
        checks,
        (typed::<f32>, typed::<f64>),
    )
}

/// A gradient the output does not reach (`p = 0`): zeros of the tensor's shape, as
/// `materialize_grads` gives them, once the crate has made its checks.
fn materialized<F: CaseFloat>(
    result: Result<ArrayD<F>, LossError>,
    shape: &[usize],
) -> Result<ArrayD<F>, LossError> {
    match result {
        Err(e)
            if e.message()
                .contains("appears to not have been used in the graph") =>
        {
            Ok(ArrayD::zeros(IxDyn(shape)))
        }
        other => other,
    }
}

fn typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    variant: Variant,
) -> Result<Computed, CaseError> {
    let a = required::<F>(case, "anchor", layout)?;
    let pos = required::<F>(case, "positive", layout)?;
    let n = required::<F>(case, "negative", layout)?;
    let (a, pos, n) = (a.view(), pos.view(), n.view());
    let shape_of_wrt = |wrt: &str| match wrt {
        "positive" => pos.shape().to_vec(),
        "negative" => n.shape().to_vec(),
        _ => a.shape().to_vec(),
    };
    match variant {
        Variant::Margin => {
            let o = losses::TripletMarginOptions {
                margin: margin(case),
                p: p(case),
                eps: eps(case),
                swap: swap(case),
                reduction: case.reduction(),
            };
            let forward = losses::triplet_margin_loss(a.view(), pos.view(), n.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| {
                let (g, a, p, n) = (g.view(), a.view(), pos.view(), n.view());
                let r = match wrt {
                    "positive" => losses::triplet_margin_loss_positive_backward(g, a, p, n, &o),
                    "negative" => losses::triplet_margin_loss_negative_backward(g, a, p, n, &o),
                    _ => losses::triplet_margin_loss_backward(g, a, p, n, &o),
                };
                materialized(r, &shape_of_wrt(wrt))
            };
            computed(case, layout, forward, &backward)
        }
        Variant::WithDistance => {
            let o = losses::TripletMarginWithDistanceOptions {
                margin: margin(case),
                swap: swap(case),
                reduction: case.reduction(),
            };
            let forward =
                losses::triplet_margin_with_distance_loss(a.view(), pos.view(), n.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| {
                let (g, a, p, n) = (g.view(), a.view(), pos.view(), n.view());
                match wrt {
                    "positive" => {
                        losses::triplet_margin_with_distance_loss_positive_backward(g, a, p, n, &o)
                    }
                    "negative" => {
                        losses::triplet_margin_with_distance_loss_negative_backward(g, a, p, n, &o)
                    }
                    _ => losses::triplet_margin_with_distance_loss_backward(g, a, p, n, &o),
                }
            };
            computed(case, layout, forward, &backward)
        }
    }
}

// ---------------------------------------------------------------------------------
// libtorch
// ---------------------------------------------------------------------------------

/// `if margin <= 0: raise ValueError(...)`, the first check of both functions.
#[cfg(feature = "torch")]
fn python_margin_check(case: &Case) -> Result<(), CaseError> {
    let m = margin(case);
    if m <= 0.0 {
        return Err(CaseError::new(
            "ValueError",
            format!(
                "margin must be greater than 0, got {}",
                lossparity_losses::internals::py_float(m)
            ),
        ));
    }
    Ok(())
}

#[cfg(feature = "torch")]
fn three(
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<(tch::Tensor, tch::Tensor, tch::Tensor), CaseError> {
    let get = |n: &str| t(n).ok_or_else(|| super::softmax::missing(n));
    Ok((get("anchor")?, get("positive")?, get("negative")?))
}

/// `F.triplet_margin_loss`: the Python margin check, then `torch.triplet_margin_loss`.
#[cfg(feature = "torch")]
fn triplet_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let (a, p_, n) = three(t)?;
    python_margin_check(case)?;
    tch::Tensor::f_triplet_margin_loss(
        &a,
        &p_,
        &n,
        margin(case),
        p(case),
        eps(case),
        swap(case),
        super::nll_loss::torch_reduction(case),
    )
    .map_err(crate::backend::torch_error)
}

/// `F.triplet_margin_with_distance_loss` with `distance_function=None`, step by step as
/// `torch/nn/functional.py` writes it: the margin and dimension checks (Python errors),
/// `torch.pairwise_distance` of (anchor, positive) and (anchor, negative), under `swap`
/// `torch.minimum` with that of (positive, negative), `torch.clamp_min(margin +
/// dist_pos - dist_neg, 0)` and `torch.sum` or `torch.mean`.
#[cfg(feature = "torch")]
fn with_distance_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (a, p_, n) = three(t)?;
    python_margin_check(case)?;
    let (ad, pd, nd) = (a.dim(), p_.dim(), n.dim());
    if !(ad == pd && pd == nd) {
        return Err(CaseError::new(
            "RuntimeError",
            format!(
                "The anchor, positive, and negative tensors are expected to have the same \
                 number of dimensions, but got: anchor {ad}D, positive {pd}D, and negative \
                 {nd}D inputs"
            ),
        ));
    }
    let dist = |x: &tch::Tensor, y: &tch::Tensor| {
        tch::Tensor::f_pairwise_distance(x, y, 2.0, 1e-6, false).map_err(torch_error)
    };
    let dist_pos = dist(&a, &p_)?;
    let mut dist_neg = dist(&a, &n)?;
    if swap(case) {
        let dist_swap = dist(&p_, &n)?;
        dist_neg = dist_neg.f_minimum(&dist_swap).map_err(torch_error)?;
    }
    // `margin + dist_pos` is `dist_pos.__radd__(margin)`: `torch.add(dist_pos, margin)`.
    let loss = dist_pos
        .f_add_scalar(margin(case))
        .and_then(|x| x.f_sub(&dist_neg))
        .and_then(|x| x.f_clamp_min(0i64))
        .map_err(torch_error)?;
    match case.reduction_name() {
        "sum" => loss.f_sum(None::<tch::Kind>),
        "mean" => loss.f_mean(None::<tch::Kind>),
        _ => Ok(loss),
    }
    .map_err(torch_error)
}
