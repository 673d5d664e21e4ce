//! `mse_loss` and `l1_loss`: element-wise losses of an input against a target of the
//! same (or a broadcastable) shape, with PyTorch 2.13's optional per-element `weight`.
//!
//! Sums are [`super::elementwise`]'s: chunked, in a fixed order, independent of the
//! thread count.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use multiversion::multiversion;
use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::elementwise::{CHUNK, broadcast_shape, expanded, fold_lanes, sum_chunks, sum_to};
use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{LANES, written_vec};
use super::options::Reduction;

/// Options of [`mse_loss`] and [`l1_loss`] (and their backwards).
#[derive(Debug, Clone, Default)]
pub struct PointwiseOptions<'a, F> {
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
    /// Per-element weights of the input's shape (new in PyTorch 2.13). With a weight,
    /// `mean` is `sum(weight * loss) / sum(weight)`, where `sum(weight)` runs over the
    /// weight's own elements even when the target broadcasts the loss to more.
    pub weight: Option<ArrayViewD<'a, F>>,
}

impl<'a, F> PointwiseOptions<'a, F> {
    /// The given reduction (the weight, if any, is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// A per-element weight, of the input's shape.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }
}

/// Which element loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Squared,
    Absolute,
}

impl Kind {
    fn loss<F: Float>(self, d: F) -> F {
        match self {
            Kind::Squared => d * d,
            Kind::Absolute => d.abs(),
        }
    }

    /// d loss / d difference, PyTorch's: `2 d` and `sgn(d)`. torch's `sgn` is `+0` for
    /// `±0` and for NaN (torch.sgn(nan) = 0), so a NaN difference gives l1 a zero
    /// gradient, and an infinite or NaN grad_output still a NaN one.
    fn slope<F: Float>(self, d: F) -> F {
        match self {
            Kind::Squared => d + d,
            Kind::Absolute => {
                if d > F::zero() {
                    F::one()
                } else if d < F::zero() {
                    -F::one()
                } else {
                    F::zero()
                }
            }
        }
    }
}

/// The mean squared error, as `torch.nn.functional.mse_loss(input, target,
/// reduction=..., weight=...)`.
///
/// `input` and `target` broadcast against each other (PyTorch warns when their shapes
/// differ; an `(N, 1)` input and an `(N)` target give an `(N, N)` loss). `none` returns
/// the broadcast shape; `mean` divides the sum by the number of elements (NaN when
/// there are none) or, with a weight, by the sum of the weights.
///
/// ```
/// use lossparity_losses::{mse_loss, PointwiseOptions};
/// use ndarray::array;
///
/// let input = array![1.0f64, 2.0, 4.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let loss = mse_loss(input.view(), target.view(), &PointwiseOptions::default())?;
/// // torch 2.13: F.mse_loss(input, target) = (0 + 4 + 9) / 3
/// assert_eq!(loss.sum(), 13.0 / 3.0);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn mse_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    forward(Kind::Squared, input.into_dyn(), target.into_dyn(), options)
}

/// The mean absolute error, as `torch.nn.functional.l1_loss(input, target,
/// reduction=..., weight=...)`; shapes and reductions as [`mse_loss`].
///
/// ```
/// use lossparity_losses::{l1_loss, PointwiseOptions};
/// use ndarray::array;
///
/// let input = array![1.0f64, 2.0, 4.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let loss = l1_loss(input.view(), target.view(), &PointwiseOptions::default())?;
/// assert_eq!(loss.sum(), 5.0 / 3.0);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn l1_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    forward(Kind::Absolute, input.into_dyn(), target.into_dyn(), options)
}

/// The gradient of `sum(mse_loss(input, target) * grad_output)` with respect to the
/// input, of the input's shape (summed over the dimensions broadcasting added), as
/// PyTorch's autograd gives it. Without a weight it is aten's kernel, `norm * (input -
/// target) * grad_output` with `norm = 2 / n` rounded to `F` for `mean` (else 2), so
/// its elements are bit-identical to PyTorch's; with one, Python's composition,
/// `grad_output / sum(weight) * weight * 2 (input - target)` for `mean`.
///
/// `grad_output` has the forward output's shape: `()` for `mean` and `sum`, the
/// broadcast shape for `none` (else autograd's "Mismatch in shape" error). The checks
/// of [`mse_loss`] come first, in its order.
///
/// ```
/// use lossparity_losses::{mse_loss_backward, PointwiseOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![1.0f64, 2.0, 4.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let options = PointwiseOptions::default().reduction(Reduction::Sum);
/// let grad = mse_loss_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// // torch 2.13: x.requires_grad_(); F.mse_loss(x, t, reduction='sum').backward(); x.grad
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.0, 4.0, 6.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn mse_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    pointwise_grad(
        Kind::Squared,
        Wrt::Input,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(mse_loss(input, target) * grad_output)` with respect to the
/// target, of the target's shape, summed over the dimensions broadcasting added to
/// the target: the input gradient's opposite. Without a weight it is aten's kernel
/// with the operands swapped (so that where `input == target` its zero has the input
/// gradient's sign, as PyTorch's); with one, the input gradient negated (`+0.0`
/// against `-0.0`). Shapes and checks as [`mse_loss_backward`].
///
/// ```
/// use lossparity_losses::{mse_loss_target_backward, PointwiseOptions};
/// use ndarray::{arr0, array};
///
/// let input = array![1.0f64, 2.0, 4.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let grad = mse_loss_target_backward(arr0(1.0).view(), input.view(), target.view(),
///                                     &PointwiseOptions::default())?;
/// // torch 2.13: the mean's gradient, -2 (x - t) / 3
/// assert_eq!(grad[[2]], -2.0);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn mse_loss_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    pointwise_grad(
        Kind::Squared,
        Wrt::Target,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(mse_loss(input, target, weight=w) * grad_output)` with respect
/// to the weight, of the weight's (the input's) shape: `(input - target)^2 *
/// grad_output` summed over the dimensions the target's broadcasting added, and for
/// `mean` also the term through the weight sum it divides by (formed in f64 and
/// rounded once, since the two terms can nearly cancel).
///
/// Without a weight in the options there is nothing to differentiate: an error says
/// so, after the checks of [`mse_loss_backward`].
///
/// ```
/// use lossparity_losses::{mse_loss_weight_backward, PointwiseOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![1.0f64, 2.0, 4.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let weight = array![0.5f64, 1.0, 2.0];
/// let options = PointwiseOptions::default().reduction(Reduction::Sum).weight(weight.view());
/// let grad = mse_loss_weight_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// // torch 2.13: the squared errors, [0, 4, 9]
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.0, 4.0, 9.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn mse_loss_weight_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    pointwise_grad(
        Kind::Squared,
        Wrt::Weight,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(l1_loss(input, target) * grad_output)` with respect to the
/// input, of the input's shape. The slope is PyTorch's `sgn(input - target)`: 0 where
/// `input == target`, and 0 where the difference is NaN (`torch.sgn(nan)` is 0).
/// Shapes, reductions and checks as [`mse_loss_backward`].
///
/// ```
/// use lossparity_losses::{l1_loss_backward, PointwiseOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![1.0f64, 2.0, 0.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let options = PointwiseOptions::default().reduction(Reduction::Sum);
/// let grad = l1_loss_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.0, 1.0, -1.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn l1_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    pointwise_grad(
        Kind::Absolute,
        Wrt::Input,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(l1_loss(input, target) * grad_output)` with respect to the
/// target, of the target's shape: the input gradient's opposite (`-0.0` where that is
/// `0.0`, as PyTorch's), summed over the dimensions broadcasting added to the target.
///
/// ```
/// use lossparity_losses::{l1_loss_target_backward, PointwiseOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![1.0f64, 2.0, 0.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let options = PointwiseOptions::default().reduction(Reduction::Sum);
/// let grad = l1_loss_target_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![-0.0, -1.0, 1.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn l1_loss_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    pointwise_grad(
        Kind::Absolute,
        Wrt::Target,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(l1_loss(input, target, weight=w) * grad_output)` with respect
/// to the weight: `|input - target| * grad_output`, summed as for
/// [`mse_loss_weight_backward`], with the weight sum's term for `mean`. An error
/// without a weight.
///
/// ```
/// use lossparity_losses::{l1_loss_weight_backward, PointwiseOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![1.0f64, 2.0, 0.0];
/// let target = array![1.0f64, 0.0, 1.0];
/// let weight = array![0.5f64, 1.0, 2.0];
/// let options = PointwiseOptions::default().reduction(Reduction::Sum).weight(weight.view());
/// let grad = l1_loss_weight_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.0, 2.0, 1.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn l1_loss_weight_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    pointwise_grad(
        Kind::Absolute,
        Wrt::Weight,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// Options of [`smooth_l1_loss`] and its backwards, with PyTorch's defaults (`mean`,
/// `beta = 1.0`). PyTorch 2.13's `smooth_l1_loss` takes no weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmoothL1Options {
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
    /// Where the loss turns from squared to linear, `>= 0` (else PyTorch's error); 1 by
    /// default. `beta = 0` (or `-0.0`) is exactly [`l1_loss`], as in PyTorch. Rounded to
    /// `F` before use, as aten does (so a `beta` below `f32`'s range acts as 0 on `f32`
    /// in the formula while not taking the `l1_loss` path).
    pub beta: f64,
}

impl Default for SmoothL1Options {
    fn default() -> Self {
        SmoothL1Options {
            reduction: Reduction::Mean,
            beta: 1.0,
        }
    }
}

impl SmoothL1Options {
    /// The given reduction (`beta` is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The given `beta` (the reduction is kept).
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }
}

/// Options of [`huber_loss`] and its backwards, with PyTorch's defaults (`mean`,
/// `delta = 1.0`, no weight).
#[derive(Debug, Clone)]
pub struct HuberOptions<'a, F> {
    /// How the element losses are combined; `mean` by default. With a weight, `mean`
    /// divides `sum(weight * loss)` by the number of elements, not by the weight sum
    /// (unlike [`mse_loss`] and [`l1_loss`]): PyTorch's `weighted_loss.mean()`.
    pub reduction: Reduction,
    /// Where the loss turns from squared to linear, `> 0` (else PyTorch's error); 1 by
    /// default. Rounded to `F` before use, as aten does.
    pub delta: f64,
    /// Per-element weights of the input's shape (new in PyTorch 2.13), multiplying the
    /// element losses.
    pub weight: Option<ArrayViewD<'a, F>>,
}

impl<F> Default for HuberOptions<'_, F> {
    fn default() -> Self {
        HuberOptions {
            reduction: Reduction::Mean,
            delta: 1.0,
            weight: None,
        }
    }
}

impl<'a, F> HuberOptions<'a, F> {
    /// The given reduction (the rest is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The given `delta` (the rest is kept).
    pub fn delta(mut self, delta: f64) -> Self {
        self.delta = delta;
        self
    }

    /// A per-element weight, of the input's shape.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }
}

/// The smooth L1 loss, as `torch.nn.functional.smooth_l1_loss(input, target,
/// reduction=..., beta=...)`: per element, with `z = |input - target|`, `0.5 * z * z /
/// beta` where `z < beta`, else `z - 0.5 * beta` (aten's formula and order, so the
/// element losses are bit-identical to PyTorch's); `beta = 0` is [`l1_loss`].
///
/// Shapes as [`mse_loss`]: `input` and `target` broadcast (PyTorch warns when their
/// shapes differ), `none` returns the broadcast shape, `mean` divides the sum by the
/// element count (NaN when there are none). Checks, in PyTorch's order: broadcasting,
/// then `beta >= 0` ("smooth_l1_loss does not support negative values for beta.",
/// also for a NaN `beta`).
///
/// ```
/// use lossparity_losses::{smooth_l1_loss, SmoothL1Options};
/// use ndarray::array;
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let loss = smooth_l1_loss(input.view(), target.view(), &SmoothL1Options::default())?;
/// // torch 2.13: F.smooth_l1_loss(input, target) = (0.125 + 1.5 + 2.5) / 3
/// assert_eq!(loss.sum(), 1.375);
/// let l1 = smooth_l1_loss(input.view(), target.view(), &SmoothL1Options::default().beta(0.0))?;
/// assert_eq!(l1.sum(), 1.8333333333333333);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn smooth_l1_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &SmoothL1Options,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let shape = check_smooth_l1(input.shape(), target.shape(), options.beta)?;
    let p = expand(&input, &target, None, shape)?;
    let count = || Ok(F::of_f64(p.x.len() as f64));
    if options.beta == 0.0 {
        return reduce_loss(&p, options.reduction, |d| d.abs(), f64::abs, count);
    }
    let beta = F::of_f64(options.beta);
    let beta64 = beta.to_f64_exact();
    match exact_reciprocal(beta) {
        Some(inv) => {
            let inv64 = inv.to_f64_exact();
            let e = smooth_l1_element(beta, move |v| v * inv);
            let e64 = smooth_l1_element(beta64, move |v| v * inv64);
            reduce_loss(&p, options.reduction, e, e64, count)
        }
        None => {
            let e = smooth_l1_element(beta, move |v| v / beta);
            let e64 = smooth_l1_element(beta64, move |v| v / beta64);
            reduce_loss(&p, options.reduction, e, e64, count)
        }
    }
}

/// The gradient of `sum(smooth_l1_loss(input, target) * grad_output)` with respect to
/// the input, of the input's shape (summed over the dimensions broadcasting added):
/// aten's vectorised kernel, `norm * s * grad_output` with `s = sign(input - target)`
/// where `|input - target| >= beta`, else `(input - target) / beta`, and `norm = 1 / n`
/// rounded to `F` for `mean` (else 1). With `beta = 0`, [`l1_loss_backward`]'s
/// (`sgn`, 0 where `input == target`).
///
/// aten computes the last few elements of each thread's range with a scalar loop of
/// another rounding (`norm * d * grad / beta` in f64 for `f32`); where `beta` is not
/// a power of two these may differ from it by an ulp. Shapes and checks as
/// [`smooth_l1_loss`], then autograd's "Mismatch in shape" for a grad_output not of
/// the output's shape.
///
/// ```
/// use lossparity_losses::{smooth_l1_loss_backward, Reduction, SmoothL1Options};
/// use ndarray::{arr0, array};
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let options = SmoothL1Options::default().reduction(Reduction::Sum).beta(4.0);
/// let grad = smooth_l1_loss_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// // torch 2.13: (input - target) / beta inside the squared part
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.125, 0.5, -0.75]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn smooth_l1_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &SmoothL1Options,
) -> Result<ArrayD<F>, LossError> {
    smooth_l1_grad(
        Wrt::Input,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(smooth_l1_loss(input, target) * grad_output)` with respect to
/// the target, of the target's shape: aten's kernel with the operands swapped (the
/// input gradient's opposite, with its sign of zero where `input == target`); with
/// `beta = 0`, [`l1_loss_target_backward`]'s.
///
/// ```
/// use lossparity_losses::{smooth_l1_loss_target_backward, Reduction, SmoothL1Options};
/// use ndarray::{arr0, array};
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let options = SmoothL1Options::default().reduction(Reduction::Sum);
/// let grad = smooth_l1_loss_target_backward(arr0(1.0).view(), input.view(), target.view(),
///                                           &options)?;
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![-0.5, -1.0, 1.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn smooth_l1_loss_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &SmoothL1Options,
) -> Result<ArrayD<F>, LossError> {
    smooth_l1_grad(
        Wrt::Target,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The Huber loss, as `torch.nn.functional.huber_loss(input, target, reduction=...,
/// delta=..., weight=...)`: per element, with `z = |input - target|`, `0.5 * z * z`
/// where `z < delta`, else `delta * (z - 0.5 * delta)` (aten's formula and order, so
/// the element losses are bit-identical to PyTorch's), times the weight if any.
///
/// Shapes as [`mse_loss`]. `mean` divides by the element count, with a weight too
/// (PyTorch's `(loss * weight).mean()`, not `/ sum(weight)`). Checks, in PyTorch's
/// order: broadcasting, the weight's shape ("Weights and input must have the same
/// size."), then `delta > 0` ("huber_loss does not support non-positive values for
/// delta.", also for a NaN `delta`).
///
/// ```
/// use lossparity_losses::{huber_loss, HuberOptions};
/// use ndarray::array;
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let options = HuberOptions::default().delta(2.0);
/// let loss = huber_loss(input.view(), target.view(), &options)?;
/// // torch 2.13: F.huber_loss(input, target, delta=2.0) = (0.125 + 2 + 4) / 3
/// assert_eq!(loss.sum(), 2.0416666666666665);
/// let weight = array![1.0f64, 0.5, 2.0];
/// let options = HuberOptions::default().weight(weight.view());
/// let loss = huber_loss(input.view(), target.view(), &options)?;
/// // (0.125 * 1 + 1.5 * 0.5 + 2.5 * 2) / 3, the element count
/// assert_eq!(loss.sum(), 1.9583333333333333);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn huber_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HuberOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let weight = options.weight.as_ref();
    let shape = check_huber(
        input.shape(),
        target.shape(),
        weight.map(|w| w.shape()),
        options.delta,
    )?;
    let p = expand(&input, &target, weight, shape)?;
    let count = || Ok(F::of_f64(p.x.len() as f64));
    let delta = F::of_f64(options.delta);
    let e64 = huber_element(delta.to_f64_exact());
    reduce_loss(&p, options.reduction, huber_element(delta), e64, count)
}

/// The gradient of `sum(huber_loss(input, target) * grad_output)` with respect to the
/// input, of the input's shape (summed over the dimensions broadcasting added): aten's
/// vectorised kernel, `norm * s * grad_output` with `s = sign(input - target) * delta`
/// where `|input - target| >= delta`, else `input - target`, and `norm = 1 / n`
/// rounded to `F` for `mean` (else 1). With a weight, Python's composition: the
/// kernel with `norm = 1` and `grad_output` (divided by `n` for `mean`) times the
/// weight.
///
/// As for [`smooth_l1_loss_backward`], aten's scalar tail may differ by an ulp where
/// `delta` is not a power of two. Shapes and checks as [`huber_loss`], then
/// autograd's "Mismatch in shape".
///
/// ```
/// use lossparity_losses::{huber_loss_backward, HuberOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let options = HuberOptions::default().reduction(Reduction::Sum).delta(2.0);
/// let grad = huber_loss_backward(arr0(1.0).view(), input.view(), target.view(), &options)?;
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.5, 2.0, -2.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn huber_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HuberOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    huber_grad(
        Wrt::Input,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(huber_loss(input, target) * grad_output)` with respect to the
/// target, of the target's shape: aten's kernel with the operands swapped (the input
/// gradient's opposite, with its sign of zero where `input == target`), with or
/// without a weight.
///
/// ```
/// use lossparity_losses::{huber_loss_target_backward, HuberOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let options = HuberOptions::default().reduction(Reduction::Sum).delta(2.0);
/// let grad = huber_loss_target_backward(arr0(1.0).view(), input.view(), target.view(),
///                                       &options)?;
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![-0.5, -2.0, 2.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn huber_loss_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HuberOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    huber_grad(
        Wrt::Target,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradient of `sum(huber_loss(input, target, weight=w) * grad_output)` with
/// respect to the weight, of the weight's (the input's) shape: the element losses
/// times `grad_output` (divided by `n` for `mean`; there is no weight sum to
/// differentiate through), summed over the dimensions the target's broadcasting
/// added. Without a weight in the options, an error says there is none, after the
/// checks of [`huber_loss_backward`].
///
/// ```
/// use lossparity_losses::{huber_loss_weight_backward, HuberOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let input = array![0.5f64, 2.0, -3.0];
/// let target = array![0.0f64, 0.0, 0.0];
/// let weight = array![1.0f64, 0.5, 2.0];
/// let options = HuberOptions::default().reduction(Reduction::Sum).weight(weight.view());
/// let grad = huber_loss_weight_backward(arr0(1.0).view(), input.view(), target.view(),
///                                       &options)?;
/// // torch 2.13: the unweighted element losses
/// assert_eq!(grad.into_raw_vec_and_offset().0, vec![0.125, 1.5, 2.5]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn huber_loss_weight_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HuberOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    huber_grad(
        Wrt::Weight,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The checks, in PyTorch's order: broadcasting (libtorch), then the weight's shape
/// (Python).
pub(crate) fn check(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    let shape = broadcast_shape(input, target)?;
    if let Some(w) = weight
        && w != input
    {
        return Err(LossError::value(
            "Weights and input must have the same size.",
            format!(
                "the weight {} must have the input's shape {} exactly (one weight per \
                     input element; it is not broadcast)",
                shape_str(w),
                shape_str(input)
            ),
        ));
    }
    Ok(shape)
}

/// The sum of `e(x[i] - y[i])` (times `w[i]` with a weight) in [`super::elementwise`]'s
/// chunked order, over slices, so that the loop vectorises.
fn pair_sum<F: Float>(x: &[F], y: &[F], w: Option<&[F]>, e: impl Fn(F) -> F + Sync) -> F {
    sum_chunks(x.len(), |c| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(x.len()));
        pair_chunk_sum(&x[lo..hi], &y[lo..hi], w.map(|w| &w[lo..hi]), &e)
    })
}

/// One chunk of [`pair_sum`]: `LANES` interleaved partial sums, folded pairwise. A
/// function of its own, compiled for each SIMD extension with `e` inlined into it (a
/// closure called from [`simd`] stayed out of line, at SSE2's width).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "x86_64+avx",
    "aarch64+neon"
))]
fn pair_chunk_sum<F: Float, E: Fn(F) -> F>(xs: &[F], ys: &[F], w: Option<&[F]>, e: &E) -> F {
    let mut acc = [F::zero(); LANES];
    let (mut xc, mut yc) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    match w {
        None => {
            for (a, b) in (&mut xc).zip(&mut yc) {
                for k in 0..LANES {
                    acc[k] += e(a[k] - b[k]);
                }
            }
            for (k, (a, b)) in xc.remainder().iter().zip(yc.remainder()).enumerate() {
                acc[k] += e(*a - *b);
            }
        }
        Some(ws) => {
            let mut wc = ws.chunks_exact(LANES);
            for ((a, b), v) in (&mut xc).zip(&mut yc).zip(&mut wc) {
                for k in 0..LANES {
                    acc[k] += e(a[k] - b[k]) * v[k];
                }
            }
            let rest = xc
                .remainder()
                .iter()
                .zip(yc.remainder())
                .zip(wc.remainder());
            for (k, ((a, b), v)) in rest.enumerate() {
                acc[k] += e(*a - *b) * *v;
            }
        }
    }
    fold_lanes(acc)
}

/// `sum(e(x - y) * w)`, summed in f64. With weights of both signs the terms cancel,
/// and a float32 term is off by up to half an ulp of its own size (4 for a squared
/// difference of 1e4), which the cancellation leaves past float32's tolerance of the
/// sum: then each term is formed in f64 (`e64`) from the exactly widened values and
/// the sum is compensated. With weights of one sign (the usual case) every term has
/// that sign and nothing cancels: the terms are PyTorch's, formed in `F` (`e`), and
/// added in f64 lane sums, within a few roundings of `F` of the exact sum, at the
/// speed of one vectorised pass. (PyTorch also sums in `F`.)
fn weighted_total<F: Float>(
    x: &[F],
    y: &[F],
    w: &[F],
    e: impl Fn(F) -> F + Sync,
    e64: impl Fn(f64) -> f64 + Sync,
) -> f64 {
    if one_sign(w) {
        let e = &e;
        return sum_chunks_f64(x.len(), |lo, hi| {
            lane_sum_f64(&x[lo..hi], &y[lo..hi], &w[lo..hi], e)
        });
    }
    super::kernels::long_compensated_sum(x.len(), |lo, block| {
        let (x, y, w) = (&x[lo..], &y[lo..], &w[lo..]);
        for (((b, a), c), v) in block.iter_mut().zip(x).zip(y).zip(w) {
            *b = e64(a.to_f64_exact() - c.to_f64_exact()) * v.to_f64_exact();
        }
    })
}

/// Whether no two values of `w` have opposite signs (a NaN counts as neither: the sum
/// is NaN on either path).
fn one_sign<F: Float>(w: &[F]) -> bool {
    // Counted rather than searched: a count vectorises, a search with an early exit
    // does not. No negative weight (the usual case) takes one pass.
    w.iter().filter(|&&v| v < F::zero()).count() == 0
        || w.iter().filter(|&&v| v > F::zero()).count() == 0
}

/// `sum(e(x - y) * w)` over one chunk, each term in `F`, added to `LANES` interleaved
/// f64 partial sums folded pairwise; with `y` and `e` `None`, `sum(w)`.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn lane_sum_f64<F: Float, E: Fn(F) -> F>(x: &[F], y: &[F], w: &[F], e: E) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (xc, yc, wc) = (
        x.chunks_exact(LANES),
        y.chunks_exact(LANES),
        w.chunks_exact(LANES),
    );
    let tails = (xc.remainder(), yc.remainder(), wc.remainder());
    for ((a, b), v) in xc.zip(yc).zip(wc) {
        for j in 0..LANES {
            acc[j] += (e(a[j] - b[j]) * v[j]).to_f64_exact();
        }
    }
    for (j, ((&a, &b), &v)) in tails.0.iter().zip(tails.1).zip(tails.2).enumerate() {
        acc[j] += (e(a - b) * v).to_f64_exact();
    }
    fold_lanes(acc)
}

/// `(sum(e(x - y) * w), sum(w))` for weights of one sign, in one pass: as
/// [`lane_sum_f64`] and [`lane_sum_widened`], chunk by chunk (in parallel on large
/// inputs), the chunks' sums added in order.
fn weighted_and_weight_sums<F: Float>(
    x: &[F],
    y: &[F],
    w: &[F],
    e: impl Fn(F) -> F + Sync,
) -> (f64, f64) {
    let n = x.len();
    let chunk = |c: usize| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        lane_sums_f64(&x[lo..hi], &y[lo..hi], &w[lo..hi], &e)
    };
    let sums: Vec<(f64, f64)> = if n >= 2 * CHUNK {
        (0..n.div_ceil(CHUNK)).into_par_iter().map(chunk).collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(chunk).collect()
    };
    sums.into_iter()
        .fold((0.0, 0.0), |(a, b), (c, d)| (a + c, b + d))
}

/// [`lane_sum_f64`] and [`lane_sum_widened`] of one chunk in one loop.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn lane_sums_f64<F: Float, E: Fn(F) -> F>(x: &[F], y: &[F], w: &[F], e: E) -> (f64, f64) {
    let (mut acc, mut wacc) = ([0.0f64; LANES], [0.0f64; LANES]);
    let (xc, yc, wc) = (
        x.chunks_exact(LANES),
        y.chunks_exact(LANES),
        w.chunks_exact(LANES),
    );
    let tails = (xc.remainder(), yc.remainder(), wc.remainder());
    for ((a, b), v) in xc.zip(yc).zip(wc) {
        for j in 0..LANES {
            acc[j] += (e(a[j] - b[j]) * v[j]).to_f64_exact();
            wacc[j] += v[j].to_f64_exact();
        }
    }
    for (j, ((&a, &b), &v)) in tails.0.iter().zip(tails.1).zip(tails.2).enumerate() {
        acc[j] += (e(a - b) * v).to_f64_exact();
        wacc[j] += v.to_f64_exact();
    }
    (fold_lanes(acc), fold_lanes(wacc))
}

/// `sum(w)` over one chunk: `LANES` interleaved f64 partial sums of the exactly
/// widened values, folded pairwise.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn lane_sum_widened<F: Float>(w: &[F]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = w.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..LANES {
            acc[j] += c[j].to_f64_exact();
        }
    }
    for (j, &v) in tail.iter().enumerate() {
        acc[j] += v.to_f64_exact();
    }
    fold_lanes(acc)
}

/// The chunks' f64 sums (chunks of [`CHUNK`], in parallel on large inputs), added in
/// order: the result depends on `n` alone, not on the thread count.
fn sum_chunks_f64(n: usize, chunk_sum: impl Fn(usize, usize) -> f64 + Sync) -> f64 {
    let bounds = |c: usize| (c * CHUNK, ((c + 1) * CHUNK).min(n));
    let sums: Vec<f64> = if n >= 2 * CHUNK {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| chunk_sum(bounds(c).0, bounds(c).1))
            .collect()
    } else {
        (0..n.div_ceil(CHUNK))
            .map(|c| chunk_sum(bounds(c).0, bounds(c).1))
            .collect()
    };
    sums.into_iter().fold(0.0, |a, b| a + b)
}

/// The element losses `e(x[i] - y[i])` (times `w[i]`), in parallel on large inputs.
fn pair_map<F: Float>(x: &[F], y: &[F], w: Option<&[F]>, e: impl Fn(F) -> F + Sync) -> Vec<F> {
    match w {
        None => filled(x.len(), |lo, o| {
            let (xs, ys) = (part(x, lo, o), part(y, lo, o));
            for ((o, a), b) in o.iter_mut().zip(xs).zip(ys) {
                o.write(e(*a - *b));
            }
        }),
        Some(w) => filled(x.len(), |lo, o| {
            let (xs, ys, ws) = (part(x, lo, o), part(y, lo, o), part(w, lo, o));
            for (((o, a), b), v) in o.iter_mut().zip(xs).zip(ys).zip(ws) {
                o.write(e(*a - *b) * *v);
            }
        }),
    }
}

/// The forward's pieces: broadcast shape, expanded values and the weight.
struct Prepared<'a, F: Clone> {
    shape: Vec<usize>,
    x: Cow<'a, [F]>,
    y: Cow<'a, [F]>,
    w: Option<Cow<'a, [F]>>,
}

/// What `mean` divides by: `sum(weight)` over the weight's own elements (torch's
/// Python code sums the weight before it is broadcast), else the element count.
fn mean_denominator<F: Float>(
    weight: Option<&ArrayViewD<'_, F>>,
    n: usize,
) -> Result<F, LossError> {
    Ok(match weight {
        Some(w) => F::of_f64(weight_sum(w)?),
        None => F::of_f64(n as f64),
    })
}

/// `sum(weight)` over the weight's own elements, compensated in f64: weights of both
/// signs can cancel to a small sum, which any `F` summation order gets wrong by far
/// more than the tolerance (and the weighted mean divides by it).
fn weight_sum<F: Float>(w: &ArrayViewD<'_, F>) -> Result<f64, LossError> {
    let own = expanded(w, w.shape())?;
    if one_sign(&own) {
        // No cancellation: plain f64 lane sums, as in `weighted_total`.
        return Ok(sum_chunks_f64(own.len(), |lo, hi| {
            lane_sum_widened(&own[lo..hi])
        }));
    }
    Ok(super::kernels::long_compensated_sum(
        own.len(),
        |lo, block| widen_into(&own[lo..], block),
    ))
}

/// `values`, widened exactly, into the first `block.len()` places of `block`.
fn widen_into<F: Float>(values: &[F], block: &mut [f64]) {
    for (b, v) in block.iter_mut().zip(values) {
        *b = v.to_f64_exact();
    }
}

/// The checks of the forward (broadcasting, then the weight's shape), and the input,
/// target and weight broadcast to the loss's shape, row-major (borrowed when they
/// already are).
fn prepare<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    weight: Option<&'a ArrayViewD<'_, F>>,
) -> Result<Prepared<'a, F>, LossError> {
    let shape = check(input.shape(), target.shape(), weight.map(|w| w.shape()))?;
    expand(input, target, weight, shape)
}

/// The input, target and weight broadcast to `shape` (checked), row-major (borrowed
/// when they already are).
fn expand<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    weight: Option<&'a ArrayViewD<'_, F>>,
    shape: Vec<usize>,
) -> Result<Prepared<'a, F>, LossError> {
    Ok(Prepared {
        x: expanded(input, &shape)?,
        y: expanded(target, &shape)?,
        w: weight.map(|w| expanded(w, &shape)).transpose()?,
        shape,
    })
}

/// An element-wise loss of `e(input - target)` (times the weight), reduced: `none`
/// keeps the broadcast shape, `sum` adds in [`pair_sum`]'s order, `mean` divides that
/// sum by `denominator()`. With a weight, the sum is [`weighted_total`] of the same
/// loss in f64 (`e64`).
fn reduce_loss<F: Float>(
    p: &Prepared<'_, F>,
    reduction: Reduction,
    e: impl Fn(F) -> F + Sync,
    e64: impl Fn(f64) -> f64 + Sync,
    denominator: impl FnOnce() -> Result<F, LossError>,
) -> Result<ArrayD<F>, LossError> {
    let (x, y, w) = (&p.x[..], &p.y[..], p.w.as_deref());
    let scalar = |v: F| ArrayD::from_elem(IxDyn(&[]), v);
    if let (Some(w), Reduction::Sum | Reduction::Mean) = (w, reduction) {
        let total = F::of_f64(weighted_total(x, y, w, &e, e64));
        return Ok(scalar(match reduction {
            Reduction::Mean => total / denominator()?,
            _ => total,
        }));
    }
    Ok(match reduction {
        Reduction::None => ArrayD::from_shape_vec(IxDyn(&p.shape), pair_map(x, y, w, e))
            .map_err(super::nll::internal)?,
        Reduction::Sum => scalar(pair_sum(x, y, w, e)),
        Reduction::Mean => scalar(pair_sum(x, y, w, e) / denominator()?),
    })
}

fn forward<F: Float>(
    kind: Kind,
    input: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let p = prepare(&input, &target, options.weight.as_ref())?;
    let n = p.x.len();
    if let (Some(w), Some(ws), Reduction::Mean) =
        (options.weight.as_ref(), p.w.as_deref(), options.reduction)
    {
        // sum(weight * loss) / sum(weight), both compensated in f64 and divided once:
        // with weights of both signs both sums can cancel (see `weight_sum`). Each
        // element loss is PyTorch's, in `F`.
        if w.shape() == p.shape.as_slice() && one_sign(ws) {
            // Both sums in one pass over the weight (see `weighted_total`).
            let (total, sum) = match kind {
                Kind::Squared => weighted_and_weight_sums(&p.x, &p.y, ws, |d| d * d),
                Kind::Absolute => weighted_and_weight_sums(&p.x, &p.y, ws, |d| d.abs()),
            };
            return Ok(ArrayD::from_elem(IxDyn(&[]), F::of_f64(total / sum)));
        }
        // The kind matched outside the sum, so that each loop is one formula.
        let total = match kind {
            Kind::Squared => weighted_total(&p.x, &p.y, ws, |d| d * d, |d| d * d),
            Kind::Absolute => weighted_total(&p.x, &p.y, ws, |d| d.abs(), f64::abs),
        };
        let mean = F::of_f64(total / weight_sum(w)?);
        return Ok(ArrayD::from_elem(IxDyn(&[]), mean));
    }
    let denominator = || mean_denominator(options.weight.as_ref(), n);
    match kind {
        Kind::Squared => reduce_loss(&p, options.reduction, |d| d * d, |d| d * d, denominator),
        Kind::Absolute => reduce_loss(&p, options.reduction, |d| d.abs(), f64::abs, denominator),
    }
}

/// Which tensor a backward differentiates with respect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrt {
    Input,
    Target,
    Weight,
}

/// The gradient arriving at each element loss: one value for all of them (`mean`,
/// `sum`), or one each (`none`, grad_output in the broadcast shape).
#[derive(Debug, Clone, Copy)]
enum Incoming<'a, F> {
    One(F),
    Each(&'a [F]),
}

/// A vector of `n` values written chunk by chunk, `fill(lo, out)` writing those from
/// `lo` on: in parallel over chunks of [`CHUNK`] on large inputs, each chunk a plain
/// loop that vectorises, and no zeroing of the output first.
fn filled<F: Float>(n: usize, fill: impl Fn(usize, &mut [MaybeUninit<F>]) + Sync) -> Vec<F> {
    // SAFETY: every caller's `fill` writes each element of the chunk it is given (a
    // loop over the chunk zipped with input slices of the chunk's length, which
    // panic rather than come up short).
    unsafe {
        written_vec(n, |out| {
            if n >= CHUNK {
                out.par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(k, o)| simd(|| fill(k * CHUNK, o)));
            } else {
                simd(|| fill(0, out));
            }
        })
    }
}

/// The part of `s` that a chunk of the output starting at `lo` covers.
fn part<'s, F>(s: &'s [F], lo: usize, o: &[MaybeUninit<F>]) -> &'s [F] {
    &s[lo..lo + o.len()]
}

/// `f()`, compiled for the best SIMD extension the CPU has: the closure is inlined
/// into each version, so that its loops vectorise at that width. Rust never contracts a
/// multiply and an add, and the loops' orders of summation are fixed, so every version
/// computes the same bits.
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "x86_64+avx",
    "aarch64+neon"
))]
fn simd<R, C: FnOnce() -> R>(f: C) -> R {
    f()
}

/// `f(x[i] - y[i], g_i)` for every element, where `g_i` is the incoming gradient,
/// times `w[i]` with a weight: one pass over the slices, in parallel on large inputs,
/// with no allocation but the result.
fn grad_map<F: Float>(
    x: &[F],
    y: &[F],
    g: Incoming<'_, F>,
    w: Option<&[F]>,
    f: impl Fn(F, F) -> F + Sync,
) -> Vec<F> {
    let n = x.len();
    match (g, w) {
        (Incoming::One(c), None) => filled(n, |lo, o| {
            let (xs, ys) = (part(x, lo, o), part(y, lo, o));
            for ((o, a), b) in o.iter_mut().zip(xs).zip(ys) {
                o.write(f(*a - *b, c));
            }
        }),
        (Incoming::One(c), Some(w)) => filled(n, |lo, o| {
            let (xs, ys, ws) = (part(x, lo, o), part(y, lo, o), part(w, lo, o));
            for (((o, a), b), v) in o.iter_mut().zip(xs).zip(ys).zip(ws) {
                o.write(f(*a - *b, c * *v));
            }
        }),
        (Incoming::Each(g), None) => filled(n, |lo, o| {
            let (xs, ys, gs) = (part(x, lo, o), part(y, lo, o), part(g, lo, o));
            for (((o, a), b), g) in o.iter_mut().zip(xs).zip(ys).zip(gs) {
                o.write(f(*a - *b, *g));
            }
        }),
        (Incoming::Each(g), Some(w)) => filled(n, |lo, o| {
            let (xs, ys) = (part(x, lo, o), part(y, lo, o));
            let (gs, ws) = (part(g, lo, o), part(w, lo, o));
            for ((((o, a), b), g), v) in o.iter_mut().zip(xs).zip(ys).zip(gs).zip(ws) {
                o.write(f(*a - *b, *g * *v));
            }
        }),
    }
}

/// grad_output, checked against the forward output's shape (`()` unless the reduction
/// is `none`) and laid out row-major.
fn grad_values<'a, F: Float>(
    grad_output: &'a ArrayViewD<'_, F>,
    shape: &[usize],
    reduction: Reduction,
) -> Result<Cow<'a, [F]>, LossError> {
    let out_shape: &[usize] = match reduction {
        Reduction::None => shape,
        _ => &[],
    };
    super::softmax::check_grad_shape(grad_output.shape(), out_shape)?;
    expanded(grad_output, out_shape)
}

/// PyTorch's refusal to differentiate with respect to a weight that is not there.
fn no_weight(op: &str) -> LossError {
    LossError::runtime(
        format!("{op} was given no weight, so it has no weight gradient"),
        "pass `weight` in the options to differentiate with respect to it",
    )
}

/// One gradient of `mse_loss` or `l1_loss`.
fn pointwise_grad<F: Float>(
    kind: Kind,
    wrt: Wrt,
    grad_output: ArrayViewD<'_, F>,
    input: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let weight = options.weight.as_ref();
    let p = prepare(&input, &target, weight)?;
    let g = grad_values(&grad_output, &p.shape, options.reduction)?;
    let own = match wrt {
        Wrt::Input => input.shape(),
        Wrt::Target => target.shape(),
        Wrt::Weight => p.shape.as_slice(),
    };
    if std::mem::size_of::<F>() == 4 && own != p.shape.as_slice() {
        // A gradient summed over a broadcast: its terms (`2 (x - y) w g`, up to 1e8)
        // cancel over the batch, and float32 terms would each carry half an ulp of
        // their own size into the sum, past float32's tolerance of it. The whole
        // gradient in f64 from the exactly widened values, rounded once.
        let wide = |a: &ArrayViewD<'_, F>| a.mapv(|v| v.to_f64_exact());
        let w64 = weight.map(wide);
        let options64 = PointwiseOptions {
            reduction: options.reduction,
            weight: w64.as_ref().map(|w| w.view()),
        };
        let (g64, x64, y64) = (wide(&grad_output), wide(&input), wide(&target));
        let grad = pointwise_grad(kind, wrt, g64.view(), x64.view(), y64.view(), &options64)?;
        return Ok(grad.mapv(F::of_f64));
    }
    let n = p.x.len();
    let (x, y, w) = (&p.x[..], &p.y[..], p.w.as_deref());
    if kind == Kind::Squared && w.is_none() && wrt != Wrt::Weight {
        // aten's mse_loss_backward: `norm * (x - y) * grad`, `norm` = 2 / n for `mean`
        // (rounded to `F`), else 2; the target's is the same kernel with the operands
        // swapped (so its zeros are +0 where the input's are).
        let norm = F::of_f64(match options.reduction {
            Reduction::Mean => 2.0 / n as f64,
            _ => 2.0,
        });
        let incoming = match options.reduction {
            Reduction::None => Incoming::Each(&g),
            _ => Incoming::One(g[0]),
        };
        let kernel = |d: F, g: F| norm * d * g;
        return match wrt {
            Wrt::Input => sum_to(
                grad_map(x, y, incoming, None, kernel),
                &p.shape,
                input.shape(),
            ),
            _ => sum_to(
                grad_map(y, x, incoming, None, kernel),
                &p.shape,
                target.shape(),
            ),
        };
    }
    // Python's compositions (l1_loss, the weighted losses): divided, not multiplied by
    // a reciprocal, as autograd's div and mean backwards do; the target's gradient is
    // the input's negated, as the backward of `input - target` gives it.
    let incoming = match options.reduction {
        Reduction::None => Incoming::Each(&g),
        Reduction::Sum => Incoming::One(g[0]),
        Reduction::Mean => Incoming::One(g[0] / mean_denominator(weight, n)?),
    };
    match wrt {
        Wrt::Input => {
            let grad = match kind {
                Kind::Squared => grad_map(x, y, incoming, w, |d, g| Kind::Squared.slope(d) * g),
                Kind::Absolute => grad_map(x, y, incoming, w, |d, g| Kind::Absolute.slope(d) * g),
            };
            sum_to(grad, &p.shape, input.shape())
        }
        Wrt::Target => {
            let grad = match kind {
                Kind::Squared => grad_map(x, y, incoming, w, |d, g| -(Kind::Squared.slope(d) * g)),
                Kind::Absolute => {
                    grad_map(x, y, incoming, w, |d, g| -(Kind::Absolute.slope(d) * g))
                }
            };
            sum_to(grad, &p.shape, target.shape())
        }
        Wrt::Weight => {
            let (Some(weight), Some(ws)) = (weight, w) else {
                return Err(no_weight(match kind {
                    Kind::Squared => "mse_loss",
                    Kind::Absolute => "l1_loss",
                }));
            };
            if options.reduction == Reduction::Mean {
                return weighted_mean_weight_grad(kind, &p, ws, weight, g[0]);
            }
            let grad = match kind {
                Kind::Squared => grad_map(x, y, incoming, None, |d, g| (d * d) * g),
                Kind::Absolute => grad_map(x, y, incoming, None, |d, g| d.abs() * g),
            };
            sum_to(grad, &p.shape, weight.shape())
        }
    }
}

/// The weight gradient of a weighted mean `S / W`, `S = sum(w * e)`, `W = sum(w)`:
/// each weight enters directly and through the denominator, `e * g / W - g * S / W^2 =
/// (g / W) * (e - S / W)`, a difference that can cancel to nothing (with one element it
/// is exactly 0), so that any rounding of its parts is amplified: libtorch's result,
/// formed in `F`, can be off by far more than the tolerance, and so is one formed in
/// f64 for float64 inputs. The difference is formed in double-double from the inputs
/// and rounded once (in plain f64 where a value is not finite, which is NaN or
/// infinite either way).
fn weighted_mean_weight_grad<F: Float>(
    kind: Kind,
    p: &Prepared<'_, F>,
    ws: &[F],
    weight: &ArrayViewD<'_, F>,
    g: F,
) -> Result<ArrayD<F>, LossError> {
    use super::wide::Dd;
    let n = p.x.len();
    let own = expanded(weight, weight.shape())?;
    let wide = |v: F| Dd::new(v.to_f64_exact());
    let e = |i: usize| {
        let d = wide(p.x[i]) - wide(p.y[i]);
        match kind {
            Kind::Squared => d * d,
            Kind::Absolute if d.to_f64() < 0.0 => -d,
            Kind::Absolute => d,
        }
    };
    let total = own.iter().fold(Dd::ZERO, |s, &v| s + wide(v));
    let sum = (0..n).fold(Dd::ZERO, |s, i| s + e(i) * wide(ws[i]));
    let mean = sum / total;
    // Each weight element's own terms (the weight may be broadcast over the loss's
    // elements), summed in double-double: which element of the weight each reads.
    let own_len = own.len();
    let index = ArrayD::from_shape_vec(IxDyn(weight.shape()), (0..own_len).collect::<Vec<_>>())
        .map_err(super::nll::internal)?;
    let index = index
        .broadcast(IxDyn(&p.shape))
        .ok_or_else(|| super::nll::internal("weight broadcast"))?;
    let e64 = |i: usize| kind.loss(p.x[i].to_f64_exact() - p.y[i].to_f64_exact());
    let mut own_sums = vec![(Dd::ZERO, 0.0); own_len];
    for (i, &k) in index.iter().enumerate() {
        own_sums[k] = (own_sums[k].0 + e(i), own_sums[k].1 + e64(i));
    }
    // The plain form, where a value is not finite.
    let g64 = g.to_f64_exact();
    // (double-double's parts are NaN beside an infinity, so not from `total` and `sum`)
    let t64 =
        super::kernels::long_compensated_sum(own.len(), |lo, block| widen_into(&own[lo..], block));
    let s64 = super::kernels::long_compensated_sum(n, |lo, block| {
        for (k, b) in block.iter_mut().enumerate() {
            *b = e64(lo + k) * ws[lo + k].to_f64_exact();
        }
    });
    let through = g64 * s64 / t64 / t64;
    let g = Dd::new(g64);
    let grad: Vec<F> = own_sums
        .iter()
        .map(|&(e, plain)| {
            let v = (g * (e - mean) / total).to_f64();
            F::of_f64(if v.is_finite() {
                v
            } else {
                plain * g64 / t64 - through
            })
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(weight.shape()), grad).map_err(super::nll::internal)
}

/// The checks of `smooth_l1_loss`, in PyTorch's order: broadcasting (Python's
/// `broadcast_tensors`), then `beta >= 0` (aten).
pub(crate) fn check_smooth_l1(
    input: &[usize],
    target: &[usize],
    beta: f64,
) -> Result<Vec<usize>, LossError> {
    let shape = broadcast_shape(input, target)?;
    // A NaN beta fails aten's `beta >= 0` too.
    if beta.is_nan() || beta < 0.0 {
        return Err(LossError::runtime(
            "smooth_l1_loss does not support negative values for beta.",
            format!(
                "beta = {beta}: it is where the loss turns from squared to linear and must \
                 be a number >= 0 (1 by default; 0 gives l1_loss)"
            ),
        ));
    }
    Ok(shape)
}

/// The checks of `huber_loss`, in PyTorch's order: broadcasting, the weight's shape
/// (Python), then `delta > 0` (aten).
pub(crate) fn check_huber(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
    delta: f64,
) -> Result<Vec<usize>, LossError> {
    let shape = check(input, target, weight)?;
    // A NaN delta fails aten's `delta > 0` too.
    if delta.is_nan() || delta <= 0.0 {
        return Err(LossError::runtime(
            "huber_loss does not support non-positive values for delta.",
            format!(
                "delta = {delta}: it is where the loss turns from squared to linear and \
                 must be a number > 0 (1 by default; for the plain L1 loss use l1_loss)"
            ),
        ));
    }
    Ok(shape)
}

/// `1 / beta` where multiplying by it gives the very bits of dividing by `beta`: `beta`
/// a power of two whose reciprocal `F` holds exactly (both are then the correctly
/// rounded `v * 2^-k`). A division costs several times a multiplication in the vector
/// units, and it is most of a smooth L1 element's time; the default `beta = 1` is one
/// of these.
pub(crate) fn exact_reciprocal<F: Float>(beta: F) -> Option<F> {
    let b = beta.to_f64_exact();
    const MANTISSA: u64 = (1 << 52) - 1;
    if !(b.is_normal() && b > 0.0 && b.to_bits() & MANTISSA == 0) {
        return None;
    }
    let inv = 1.0 / b;
    (F::of_f64(inv).to_f64_exact() == inv).then(|| F::of_f64(inv))
}

/// aten's smooth L1 element loss of a difference `d`, for `beta > 0` rounded to `F`;
/// `over_beta` divides by `beta` (or multiplies by its exact reciprocal).
fn smooth_l1_element<F: Float>(
    beta: F,
    over_beta: impl Fn(F) -> F + Sync + Copy,
) -> impl Fn(F) -> F + Sync + Copy {
    let half = F::of_f64(0.5);
    // Both sides computed, then one picked: a select, which vectorises (a branch
    // would not).
    move |d: F| {
        let z = d.abs();
        let (squared, linear) = (over_beta(half * z * z), z - half * beta);
        if z < beta { squared } else { linear }
    }
}

/// aten's vectorised smooth L1 slope: `±1` where `|d| >= beta` (`-1` for `d <= 0`,
/// which only a `beta` rounded to 0 reaches at `d = 0`), else `d / beta` (NaN for NaN).
/// `over_beta` as for [`smooth_l1_element`].
fn smooth_l1_slope<F: Float>(
    beta: F,
    over_beta: impl Fn(F) -> F + Sync + Copy,
) -> impl Fn(F) -> F + Sync + Copy {
    move |d: F| {
        let sign = if d > F::zero() { F::one() } else { -F::one() };
        let inside = over_beta(d);
        if d.abs() >= beta { sign } else { inside }
    }
}

/// aten's Huber element loss of a difference `d`.
fn huber_element<F: Float>(delta: F) -> impl Fn(F) -> F + Sync + Copy {
    let half = F::of_f64(0.5);
    move |d: F| {
        let z = d.abs();
        let (squared, linear) = (half * z * z, delta * (z - half * delta));
        if z < delta { squared } else { linear }
    }
}

/// aten's vectorised Huber slope: `±delta` where `|d| >= delta`, else `d`.
fn huber_slope<F: Float>(delta: F) -> impl Fn(F) -> F + Sync + Copy {
    move |d: F| {
        let sign = if d > F::zero() { F::one() } else { -F::one() };
        let outside = sign * delta;
        if d.abs() >= delta { outside } else { d }
    }
}

/// One gradient of an aten loss kernel called on the broadcast tensors (smooth L1,
/// Huber without a weight): `norm * slope(d) * grad`, `norm = 1 / n` rounded to `F`
/// for `mean`, else 1; the target's is the kernel with the operands swapped.
fn kernel_grad<F: Float>(
    wrt: Wrt,
    p: &Prepared<'_, F>,
    g: &[F],
    reduction: Reduction,
    slope: impl Fn(F) -> F + Sync,
    to: &[usize],
) -> Result<ArrayD<F>, LossError> {
    let norm = match reduction {
        Reduction::Mean => F::of_f64(1.0 / p.x.len() as f64),
        _ => F::one(),
    };
    let incoming = match reduction {
        Reduction::None => Incoming::Each(g),
        _ => Incoming::One(g[0]),
    };
    let kernel = |d: F, g: F| norm * slope(d) * g;
    let grad = match wrt {
        Wrt::Target => grad_map(&p.y, &p.x, incoming, None, kernel),
        _ => grad_map(&p.x, &p.y, incoming, None, kernel),
    };
    sum_to(grad, &p.shape, to)
}

/// One gradient of `smooth_l1_loss`.
fn smooth_l1_grad<F: Float>(
    wrt: Wrt,
    grad_output: ArrayViewD<'_, F>,
    input: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &SmoothL1Options,
) -> Result<ArrayD<F>, LossError> {
    let shape = check_smooth_l1(input.shape(), target.shape(), options.beta)?;
    if options.beta == 0.0 {
        let l1 = PointwiseOptions {
            reduction: options.reduction,
            weight: None,
        };
        return pointwise_grad(Kind::Absolute, wrt, grad_output, input, target, &l1);
    }
    let g = grad_values(&grad_output, &shape, options.reduction)?;
    let p = expand(&input, &target, None, shape)?;
    let to = match wrt {
        Wrt::Target => target.shape(),
        _ => input.shape(),
    };
    let beta = F::of_f64(options.beta);
    match exact_reciprocal(beta) {
        Some(inv) => {
            let slope = smooth_l1_slope(beta, move |v| v * inv);
            kernel_grad(wrt, &p, &g, options.reduction, slope, to)
        }
        None => {
            let slope = smooth_l1_slope(beta, move |v| v / beta);
            kernel_grad(wrt, &p, &g, options.reduction, slope, to)
        }
    }
}

/// One gradient of `huber_loss`.
fn huber_grad<F: Float>(
    wrt: Wrt,
    grad_output: ArrayViewD<'_, F>,
    input: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &HuberOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let weight = options.weight.as_ref();
    let shape = check_huber(
        input.shape(),
        target.shape(),
        weight.map(|w| w.shape()),
        options.delta,
    )?;
    let g = grad_values(&grad_output, &shape, options.reduction)?;
    let p = expand(&input, &target, weight, shape)?;
    let delta = F::of_f64(options.delta);
    let (Some(weight), Some(w)) = (weight, p.w.as_deref()) else {
        return match wrt {
            Wrt::Weight => Err(no_weight("huber_loss")),
            Wrt::Target => kernel_grad(
                wrt,
                &p,
                &g,
                options.reduction,
                huber_slope(delta),
                target.shape(),
            ),
            Wrt::Input => kernel_grad(
                wrt,
                &p,
                &g,
                options.reduction,
                huber_slope(delta),
                input.shape(),
            ),
        };
    };
    // Python's composition: `huber_loss(..., 'none') * weight`, then `sum` or `mean`,
    // whose backward divides grad_output by the element count.
    let incoming = match options.reduction {
        Reduction::None => Incoming::Each(&g),
        Reduction::Sum => Incoming::One(g[0]),
        Reduction::Mean => Incoming::One(g[0] / F::of_f64(p.x.len() as f64)),
    };
    let (x, y) = (&p.x[..], &p.y[..]);
    match wrt {
        Wrt::Input => {
            // The kernel with reduction 'none': `1 * slope(d) * (grad * weight)`.
            let slope = huber_slope(delta);
            let grad = grad_map(x, y, incoming, Some(w), |d, g| slope(d) * g);
            sum_to(grad, &p.shape, input.shape())
        }
        Wrt::Target => {
            let slope = huber_slope(delta);
            let grad = grad_map(y, x, incoming, Some(w), |d, g| slope(d) * g);
            sum_to(grad, &p.shape, target.shape())
        }
        Wrt::Weight => {
            let e = huber_element(delta);
            let grad = grad_map(x, y, incoming, None, |d, g| e(d) * g);
            sum_to(grad, &p.shape, weight.shape())
        }
    }
}
