//! `log_softmax` and `softmax` along one dimension, and their backward.
//!
//! Values follow PyTorch's CPU formula (`x - max - log(sum(exp(x - max)))`), so they
//! agree with libtorch within the tolerance policy, not bit for bit: libtorch's
//! vectorised `exp` and summation order depend on the machine's SIMD width.

use ndarray::{
    Array1, ArrayD, ArrayView, ArrayView1, ArrayViewD, ArrayViewMut1, Axis, Dimension, Zip,
};

use super::error::{shape_str, wrap_dim, LossError};
use super::float::Float;

/// Log-probabilities along `dim`: `x - log(sum(exp(x)))`, computed stably.
///
/// Any rank, 0-D included (`dim` in `[-1, 0]` there), any strides; a negative `dim`
/// counts from the end. For scores of shape `(N, C)` the class dimension is `dim=1`:
/// `dim=0` normalises across the batch instead, which PyTorch accepts silently.
///
/// ```
/// use lossparity::losses::log_softmax;
/// use ndarray::array;
///
/// let logp = log_softmax(array![[1.0f64, 2.0, 3.0]].view(), 1).unwrap();
/// let total: f64 = logp.iter().map(|v| v.exp()).sum();
/// assert!((total - 1.0).abs() < 1e-12);
/// ```
pub fn log_softmax<F: Float, D: Dimension>(
    input: ArrayView<'_, F, D>,
    dim: i64,
) -> Result<ArrayD<F>, LossError> {
    let input = input.into_dyn();
    let axis = wrap_dim(dim, input.ndim())?;
    Ok(along_lanes(input, axis, log_softmax_lane))
}

/// Probabilities along `dim`: `exp(x) / sum(exp(x))`, computed stably.
///
/// Same shapes, dims and errors as [`log_softmax`].
///
/// ```
/// use lossparity::losses::softmax;
/// use ndarray::array;
///
/// let p = softmax(array![0.0f32, 0.0].view(), 0).unwrap();
/// assert_eq!(p.as_slice().unwrap(), &[0.5, 0.5]);
/// ```
pub fn softmax<F: Float, D: Dimension>(
    input: ArrayView<'_, F, D>,
    dim: i64,
) -> Result<ArrayD<F>, LossError> {
    let input = input.into_dyn();
    let axis = wrap_dim(dim, input.ndim())?;
    Ok(along_lanes(input, axis, softmax_lane))
}

/// Gradient of `sum(log_softmax(x, dim) * grad_output)` with respect to `x`, given the
/// forward's `output`: `grad_output - exp(output) * sum(grad_output, dim)`.
pub fn log_softmax_backward<F: Float, D: Dimension>(
    grad_output: ArrayView<'_, F, D>,
    output: ArrayView<'_, F, D>,
    dim: i64,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, output) = (grad_output.into_dyn(), output.into_dyn());
    check_grad_shape(grad_output.shape(), output.shape())?;
    let axis = wrap_dim(dim, output.ndim())?;
    Ok(backward_lanes(
        grad_output,
        output,
        axis,
        |g, y, mut out| {
            let total: F = g.iter().copied().sum();
            Zip::from(&mut out)
                .and(g)
                .and(y)
                .for_each(|o, &g, &y| *o = g - y.exp() * total);
        },
    ))
}

/// Gradient of `sum(softmax(x, dim) * grad_output)` with respect to `x`, given the
/// forward's `output`: `output * (grad_output - sum(grad_output * output, dim))`.
pub fn softmax_backward<F: Float, D: Dimension>(
    grad_output: ArrayView<'_, F, D>,
    output: ArrayView<'_, F, D>,
    dim: i64,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, output) = (grad_output.into_dyn(), output.into_dyn());
    check_grad_shape(grad_output.shape(), output.shape())?;
    let axis = wrap_dim(dim, output.ndim())?;
    Ok(backward_lanes(
        grad_output,
        output,
        axis,
        |g, y, mut out| {
            let dot: F = g.iter().zip(y.iter()).map(|(&g, &y)| g * y).sum();
            Zip::from(&mut out)
                .and(g)
                .and(y)
                .for_each(|o, &g, &y| *o = y * (g - dot));
        },
    ))
}

/// PyTorch's autograd message for a `grad_output` whose shape is not the output's.
pub(crate) fn check_grad_shape(grad: &[usize], output: &[usize]) -> Result<(), LossError> {
    if grad == output {
        return Ok(());
    }
    Err(LossError::runtime(
        format!(
            "Mismatch in shape: grad_output[0] has a shape of torch.Size({}) and output[0] has a shape of torch.Size({}).",
            shape_str(grad),
            shape_str(output)
        ),
        "grad_output must have exactly the shape of the forward's output",
    ))
}

/// The largest value of a lane, NaN if any value is NaN (as libtorch's vectorised max).
fn lane_max<F: Float>(x: &ArrayView1<'_, F>) -> F {
    let mut max = F::neg_infinity();
    for &v in x {
        if v.is_nan() {
            return v;
        }
        if v > max {
            max = v;
        }
    }
    max
}

pub(crate) fn log_softmax_lane<F: Float>(x: ArrayView1<'_, F>, mut out: ArrayViewMut1<'_, F>) {
    let max = lane_max(&x);
    let sum: F = x.iter().map(|&v| (v - max).exp()).sum();
    let log_sum = sum.ln();
    Zip::from(&mut out)
        .and(&x)
        .for_each(|o, &v| *o = v - max - log_sum);
}

fn softmax_lane<F: Float>(x: ArrayView1<'_, F>, mut out: ArrayViewMut1<'_, F>) {
    let max = lane_max(&x);
    Zip::from(&mut out)
        .and(&x)
        .for_each(|o, &v| *o = (v - max).exp());
    let sum: F = out.iter().copied().sum();
    out.mapv_inplace(|e| e / sum);
}

/// Applies `lane` to every 1-D lane of `input` along `axis`; a 0-D input is one lane
/// of length one.
fn along_lanes<F: Float>(
    input: ArrayViewD<'_, F>,
    axis: usize,
    lane: impl Fn(ArrayView1<'_, F>, ArrayViewMut1<'_, F>),
) -> ArrayD<F> {
    let mut out = ArrayD::<F>::zeros(input.raw_dim());
    if input.ndim() == 0 {
        let x = Array1::from_iter(input.iter().copied());
        let mut o = Array1::zeros(1);
        lane(x.view(), o.view_mut());
        out.iter_mut().zip(o).for_each(|(dst, v)| *dst = v);
        return out;
    }
    Zip::from(input.lanes(Axis(axis)))
        .and(out.lanes_mut(Axis(axis)))
        .for_each(lane);
    out
}

fn backward_lanes<F: Float>(
    grad_output: ArrayViewD<'_, F>,
    output: ArrayViewD<'_, F>,
    axis: usize,
    lane: impl Fn(ArrayView1<'_, F>, ArrayView1<'_, F>, ArrayViewMut1<'_, F>),
) -> ArrayD<F> {
    let mut out = ArrayD::<F>::zeros(output.raw_dim());
    if output.ndim() == 0 {
        let g = Array1::from_iter(grad_output.iter().copied());
        let y = Array1::from_iter(output.iter().copied());
        let mut o = Array1::zeros(1);
        lane(g.view(), y.view(), o.view_mut());
        out.iter_mut().zip(o).for_each(|(dst, v)| *dst = v);
        return out;
    }
    Zip::from(grad_output.lanes(Axis(axis)))
        .and(output.lanes(Axis(axis)))
        .and(out.lanes_mut(Axis(axis)))
        .for_each(lane);
    out
}
