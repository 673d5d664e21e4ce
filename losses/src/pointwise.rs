//! `mse_loss` and `l1_loss`: element-wise losses of an input against a target of the
//! same (or a broadcastable) shape, with PyTorch 2.13's optional per-element `weight`.
//!
//! Sums run over fixed chunks of the broadcast shape, each with `LANES` interleaved
//! partial sums folded pairwise, and the chunks' sums are added in order: the result
//! depends neither on the thread count nor on the SIMD width.

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

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
    /// `mean` is `sum(weight * loss) / sum(weight)`.
    pub weight: Option<ArrayViewD<'a, F>>,
}

impl<'a, F> PointwiseOptions<'a, F> {
    /// The given reduction, no weight.
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

    /// d loss / d difference, PyTorch's: `2 d` and `sgn(d)` (0 at 0, NaN for NaN).
    fn slope<F: Float>(self, d: F) -> F {
        match self {
            Kind::Squared => d + d,
            Kind::Absolute => {
                if d > F::zero() {
                    F::one()
                } else if d < F::zero() {
                    -F::one()
                } else {
                    d * F::zero()
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
/// input, the target and the weight; where `input == target` the slope is 0, as
/// PyTorch's `sgn`.
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

/// The broadcast shape of `a` and `b` (PyTorch's rules: aligned from the last
/// dimension, sizes equal or 1), or PyTorch's error naming the first mismatch.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, LossError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = (i + a.len()).checked_sub(n).map_or(1, |j| a[j]);
        let db = (i + b.len()).checked_sub(n).map_or(1, |j| b[j]);
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => {
                return Err(LossError::runtime(
                    format!(
                        "The size of tensor a ({x}) must match the size of tensor b ({y}) at \
                         non-singleton dimension {i}"
                    ),
                    format!(
                        "the input {} and the target {} cannot broadcast: aligned from the \
                         last dimension, sizes must be equal or 1; give the target the \
                         input's shape",
                        shape_str(a),
                        shape_str(b)
                    ),
                ))
            }
        };
    }
    Ok(out)
}

/// The checks, in PyTorch's order: broadcasting (libtorch), then the weight's shape
/// (Python).
fn check(
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

/// `view` broadcast to `shape`, in row-major order: borrowed when it already is.
fn expanded<'a, F: Float>(
    view: &'a ArrayViewD<'_, F>,
    shape: &[usize],
) -> Result<Cow<'a, [F]>, LossError> {
    if view.shape() == shape {
        if let Some(s) = view.to_slice() {
            return Ok(Cow::Borrowed(s));
        }
    }
    let b = view
        .broadcast(IxDyn(shape))
        .ok_or_else(|| super::nll::internal("broadcast of a checked shape"))?;
    Ok(Cow::Owned(b.iter().copied().collect()))
}

/// Elements per chunk of a sum: a chunk is summed on one thread, chunks in parallel.
const CHUNK: usize = 1 << 14;

/// The sum of `f(i)` for `i` in `0..n`: `LANES` interleaved partial sums per chunk,
/// folded pairwise, then the chunks' sums in order.
fn chunked_sum<F: Float>(n: usize, f: impl Fn(usize) -> F + Sync) -> F {
    let chunk_sum = |c: usize| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        let mut acc = [F::zero(); LANES];
        let mut i = lo;
        while i + LANES <= hi {
            for (k, a) in acc.iter_mut().enumerate() {
                *a += f(i + k);
            }
            i += LANES;
        }
        for (k, a) in acc.iter_mut().enumerate().take(hi - i) {
            *a += f(i + k);
        }
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for k in 0..width {
                acc[k] = acc[k] + acc[k + width];
            }
        }
        acc[0]
    };
    let chunks = n.div_ceil(CHUNK);
    let sums: Vec<F> = if chunks > 1 {
        (0..chunks).into_par_iter().map(chunk_sum).collect()
    } else {
        (0..chunks).map(chunk_sum).collect()
    };
    sums.into_iter().fold(F::zero(), |a, b| a + b)
}

/// The forward's pieces: broadcast shape, expanded values and the weight.
struct Prepared<'a, F: Clone> {
    shape: Vec<usize>,
    x: Cow<'a, [F]>,
    y: Cow<'a, [F]>,
    w: Option<Cow<'a, [F]>>,
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
    let term = |i: usize| {
        let e = kind.loss(p.x[i] - p.y[i]);
        match &p.w {
            Some(w) => e * w[i],
            None => e,
        }
    };
    let scalar = |v: F| ArrayD::from_elem(IxDyn(&[]), v);
    Ok(match options.reduction {
        Reduction::None => {
            let values: Vec<F> = if n >= CHUNK {
                (0..n).into_par_iter().map(term).collect()
            } else {
                (0..n).map(term).collect()
            };
            ArrayD::from_shape_vec(IxDyn(&p.shape), values).map_err(super::nll::internal)?
        }
        Reduction::Sum => scalar(chunked_sum(n, term)),
        Reduction::Mean => match &p.w {
            Some(w) => scalar(chunked_sum(n, term) / chunked_sum(n, |i| w[i])),
            None => scalar(chunked_sum(n, term) / F::of_f64(n as f64)),
        },
    })
}

/// Sums a row-major tensor of `shape` down to `to` (a shape it was broadcast from).
fn sum_to<F: Float>(values: Vec<F>, shape: &[usize], to: &[usize]) -> Result<ArrayD<F>, LossError> {
    let full = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(super::nll::internal)?;
    if shape == to {
        return Ok(full);
    }
    let lead = shape.len() - to.len();
    let mut out = full;
    for _ in 0..lead {
        out = out.sum_axis(ndarray::Axis(0));
    }
    for (axis, &size) in to.iter().enumerate() {
        if size == 1 && out.shape()[axis] != 1 {
            out = out
                .sum_axis(ndarray::Axis(axis))
                .insert_axis(ndarray::Axis(axis));
        }
    }
    Ok(out)
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
    // The gradient of each weighted element loss `w_i * e_i`, and of the weight sum
    // a weighted mean divides by.
    let (scale, weight_sum) = match (&p.w, options.reduction) {
        (Some(w), Reduction::Mean) => {
            let total = chunked_sum(n, |i| w[i]);
            (F::one() / total, Some(total))
        }
        (None, Reduction::Mean) => (F::one() / F::of_f64(n as f64), None),
        _ => (F::one(), None),
    };
    let de = |i: usize| {
        let g = g_at(i);
        let g = match weight_sum {
            Some(total) => g / total,
            None => g * scale,
        };
        match &p.w {
            Some(w) => g * w[i],
            None => g,
        }
    };
    let dx: Vec<F> = (0..n)
        .map(|i| kind.slope(p.x[i] - p.y[i]) * de(i))
        .collect();
    let dy: Vec<F> = dx.iter().map(|&v| -v).collect();
    let weight = match (&p.w, options.weight.as_ref()) {
        (Some(_), Some(w)) => {
            let e = |i: usize| kind.loss(p.x[i] - p.y[i]);
            let direct: Vec<F> = (0..n)
                .map(|i| match weight_sum {
                    Some(total) => e(i) * (g_at(i) / total),
                    None => e(i) * g_at(i),
                })
                .collect();
            let mut grad = sum_to(direct, &p.shape, w.shape())?;
            if let (Some(total), Some(ws)) = (weight_sum, &p.w) {
                let loss_sum = chunked_sum(n, |i| e(i) * ws[i]);
                let through_sum = -(g_at(0) * loss_sum / (total * total));
                grad.mapv_inplace(|v| v + through_sum);
            }
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
