//! `mse_loss` and `l1_loss`: element-wise losses of an input against a target of the
//! same (or a broadcastable) shape, with PyTorch 2.13's optional per-element `weight`.
//!
//! Sums are [`super::elementwise`]'s: chunked, in a fixed order, independent of the
//! thread count.

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::elementwise::{
    broadcast_shape, chunked_sum, expanded, fold_lanes, sum_chunks, sum_to, CHUNK,
};
use super::error::{shape_str, LossError};
use super::float::Float;
use super::kernels::LANES;
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

/// The gradients of an element-wise loss: with respect to the input and the target
/// (each of its own shape, summed over the dimensions broadcasting added), and to the
/// weight when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct PointwiseGrads<F> {
    /// d loss / d input.
    pub input: ArrayD<F>,
    /// d loss / d target.
    pub target: ArrayD<F>,
    /// d loss / d weight, when the options hold a weight.
    pub weight: Option<ArrayD<F>>,
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

/// The gradients of `sum(mse_loss(input, target) * grad_output)` with respect to the
/// input, the target and the weight, as PyTorch's autograd gives them.
pub fn mse_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<PointwiseGrads<F>, LossError> {
    backward(
        Kind::Squared,
        grad_output.into_dyn(),
        input.into_dyn(),
        target.into_dyn(),
        options,
    )
}

/// The gradients of `sum(l1_loss(input, target) * grad_output)` with respect to the
/// input, the target and the weight. The slope is PyTorch's `sgn(input - target)`: 0
/// where `input == target`, and 0 where the difference is NaN (`torch.sgn(nan)` is 0).
pub fn l1_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PointwiseOptions<'_, F>,
) -> Result<PointwiseGrads<F>, LossError> {
    backward(
        Kind::Absolute,
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
    if let Some(w) = weight {
        if w != input {
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
    }
    Ok(shape)
}

/// The sum of `e(x[i] - y[i])` (times `w[i]` with a weight) in [`chunked_sum`]'s order
/// and with its bits, over slices, so that the loop vectorises.
fn pair_sum<F: Float>(x: &[F], y: &[F], w: Option<&[F]>, e: impl Fn(F) -> F + Sync) -> F {
    let chunk_sum = |c: usize| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(x.len()));
        let (xs, ys) = (&x[lo..hi], &y[lo..hi]);
        let mut acc = [F::zero(); LANES];
        let (mut xc, mut yc) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
        match w.map(|w| &w[lo..hi]) {
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
    };
    sum_chunks(x.len(), chunk_sum)
}

/// The element losses `e(x[i] - y[i])` (times `w[i]`), in parallel on large inputs.
fn pair_map<F: Float>(x: &[F], y: &[F], w: Option<&[F]>, e: impl Fn(F) -> F + Sync) -> Vec<F> {
    let n = x.len();
    match w {
        None if n >= CHUNK => x.par_iter().zip(y).map(|(a, b)| e(*a - *b)).collect(),
        None => x.iter().zip(y).map(|(a, b)| e(*a - *b)).collect(),
        Some(w) if n >= CHUNK => (x, y, w)
            .into_par_iter()
            .map(|(a, b, v)| e(*a - *b) * *v)
            .collect(),
        Some(w) => x
            .iter()
            .zip(y)
            .zip(w)
            .map(|((a, b), v)| e(*a - *b) * *v)
            .collect(),
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
        Some(w) => {
            let own = expanded(w, w.shape())?;
            chunked_sum(own.len(), |i| own[i])
        }
        None => F::of_f64(n as f64),
    })
}

fn prepare<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    options: &'a PointwiseOptions<'_, F>,
) -> Result<Prepared<'a, F>, LossError> {
    let weight = options.weight.as_ref();
    let shape = check(input.shape(), target.shape(), weight.map(|w| w.shape()))?;
    Ok(Prepared {
        x: expanded(input, &shape)?,
        y: expanded(target, &shape)?,
        w: weight.map(|w| expanded(w, &shape)).transpose()?,
        shape,
    })
}

fn forward<F: Float>(
    kind: Kind,
    input: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &PointwiseOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let p = prepare(&input, &target, options)?;
    let n = p.x.len();
    let (x, y, w) = (&p.x[..], &p.y[..], p.w.as_deref());
    let scalar = |v: F| ArrayD::from_elem(IxDyn(&[]), v);
    let squared = |d: F| d * d;
    let absolute = |d: F| d.abs();
    let sum = || match kind {
        Kind::Squared => pair_sum(x, y, w, squared),
        Kind::Absolute => pair_sum(x, y, w, absolute),
    };
    Ok(match options.reduction {
        Reduction::None => {
            let values = match kind {
                Kind::Squared => pair_map(x, y, w, squared),
                Kind::Absolute => pair_map(x, y, w, absolute),
            };
            ArrayD::from_shape_vec(IxDyn(&p.shape), values).map_err(super::nll::internal)?
        }
        Reduction::Sum => scalar(sum()),
        Reduction::Mean => scalar(sum() / mean_denominator(options.weight.as_ref(), n)?),
    })
}

fn backward<F: Float>(
    kind: Kind,
    grad_output: ArrayViewD<'_, F>,
    input: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &PointwiseOptions<'_, F>,
) -> Result<PointwiseGrads<F>, LossError> {
    let p = prepare(&input, &target, options)?;
    let n = p.x.len();
    let out_shape: &[usize] = match options.reduction {
        Reduction::None => &p.shape,
        _ => &[],
    };
    super::softmax::check_grad_shape(grad_output.shape(), out_shape)?;
    let g = expanded(&grad_output, out_shape)?;
    let g_at = |i: usize| match options.reduction {
        Reduction::None => g[i],
        _ => g[0],
    };
    // Divided, not multiplied by a reciprocal, as autograd's div and mean backwards do.
    let denominator = match options.reduction {
        Reduction::Mean => Some(mean_denominator(options.weight.as_ref(), n)?),
        _ => None,
    };
    let g_scaled = |i: usize| match denominator {
        Some(total) => g_at(i) / total,
        None => g_at(i),
    };
    // The gradient of each element loss `e_i` (weighted: of `w_i * e_i`).
    let de = |i: usize| match &p.w {
        Some(w) => g_scaled(i) * w[i],
        None => g_scaled(i),
    };
    let dx: Vec<F> = match (&p.w, options.reduction) {
        // One gradient for every element: a plain pass over the slices, which
        // vectorises.
        (None, Reduction::Sum | Reduction::Mean) => {
            let c = de(0);
            let (x, y) = (&p.x[..], &p.y[..]);
            match kind {
                Kind::Squared => pair_map(x, y, None, |d| Kind::Squared.slope(d) * c),
                Kind::Absolute => pair_map(x, y, None, |d| Kind::Absolute.slope(d) * c),
            }
        }
        _ => (0..n)
            .map(|i| kind.slope(p.x[i] - p.y[i]) * de(i))
            .collect(),
    };
    let dy: Vec<F> = if n >= CHUNK {
        dx.par_iter().map(|&v| -v).collect()
    } else {
        dx.iter().map(|&v| -v).collect()
    };
    let weight = match (&p.w, options.weight.as_ref()) {
        (Some(_), Some(w)) => {
            let e = |i: usize| kind.loss(p.x[i] - p.y[i]);
            if let (Some(_), Some(ws), Reduction::Mean) = (denominator, &p.w, options.reduction) {
                // A weighted mean depends on each weight directly and through its
                // denominator: `e * g / W - g * S / W^2`, two terms that can nearly
                // cancel, so that any rounding of their parts is amplified (libtorch's
                // result, formed in `F`, can be off by far more than the tolerance). The
                // whole gradient is formed in f64 from the inputs and rounded once.
                let own = expanded(w, w.shape())?;
                let total = super::kernels::compensated_sum(own.iter().map(|v| v.to_f64_exact()));
                let e64 = |i: usize| kind.loss(p.x[i].to_f64_exact() - p.y[i].to_f64_exact());
                let sum =
                    super::kernels::compensated_sum((0..n).map(|i| e64(i) * ws[i].to_f64_exact()));
                let g = g_at(0).to_f64_exact();
                let direct: Vec<f64> = (0..n).map(|i| e64(i) * g / total).collect();
                let through = g * sum / total / total;
                let grad = sum_to(direct, &p.shape, w.shape())?;
                return Ok(PointwiseGrads {
                    input: sum_to(dx, &p.shape, input.shape())?,
                    target: sum_to(dy, &p.shape, target.shape())?,
                    weight: Some(grad.mapv(|v| F::of_f64(v - through))),
                });
            }
            let direct: Vec<F> = (0..n).map(|i| e(i) * g_scaled(i)).collect();
            let grad = sum_to(direct, &p.shape, w.shape())?;
            Some(grad)
        }
        _ => None,
    };
    Ok(PointwiseGrads {
        input: sum_to(dx, &p.shape, input.shape())?,
        target: sum_to(dy, &p.shape, target.shape())?,
        weight,
    })
}
