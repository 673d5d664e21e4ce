//! `log_softmax` and `softmax` along one dimension, and their backward.
//!
//! Values follow PyTorch's CPU formula (`x - max - log(sum(exp(x - max)))`), so they
//! agree with libtorch within the tolerance policy, not bit for bit: libtorch's
//! vectorised `exp` and summation order depend on the machine's SIMD width. Ours do
//! not: the kernels (`kernels.rs`) fix the order, so results are the same on every
//! machine, for every thread count and every memory layout.

use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str, wrap_dim};
use super::float::Float;
use super::kernels::{
    PARALLEL_MIN_ELEMENTS, TILE_ROWS, columns_log_softmax, columns_softmax,
    log_softmax_backward_lane, log_softmax_lane, rows_log_softmax, softmax_backward_lane,
    softmax_lane, written_vec,
};
use super::nll::internal;
use super::options::row_major;

/// Log-probabilities along `dim`: `x - log(sum(exp(x)))`, computed stably.
///
/// Any rank, 0-D included (`dim` in `[-1, 0]` there), any strides; a negative `dim`
/// counts from the end. For scores of shape `(N, C)` the class dimension is `dim=1`:
/// `dim=0` normalises across the batch instead, which PyTorch accepts silently.
///
/// ```
/// use lossparity_losses::log_softmax;
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
    if input.ndim() > 0 && axis + 1 < input.ndim() {
        // Every position of a (C, map) block at once (see `along_columns`).
        let map: usize = input.shape()[axis + 1..].iter().product();
        let block = input.shape()[axis] * map;
        let x = row_major(&input);
        // SAFETY: `out` and `x` have the same length, a multiple of `block`; each pair
        // of blocks goes to `columns_log_softmax`, which writes every element of its
        // block; with `block == 0` there are no elements.
        let out = unsafe {
            written_vec(x.len(), |out| {
                if block == 0 {
                    return;
                }
                if x.len() >= PARALLEL_MIN_ELEMENTS {
                    out.par_chunks_mut(block)
                        .zip(x.par_chunks(block))
                        .for_each(|(o, x)| columns_log_softmax(x, map, o));
                } else {
                    out.chunks_mut(block)
                        .zip(x.chunks(block))
                        .for_each(|(o, x)| columns_log_softmax(x, map, o));
                }
            })
        };
        return ArrayD::from_shape_vec(input.raw_dim(), out).map_err(internal);
    }
    if input.ndim() == 0 {
        return along_lanes(&[input], axis, |x, out| log_softmax_lane(x[0], out));
    }
    let classes = input.shape()[axis];
    let x = row_major(&input);
    // SAFETY: `out` and `x` have the same length, a multiple of `classes` (the tasks'
    // chunks too); `rows_log_softmax` writes every element of the rows it is given;
    // with `classes == 0` there are no elements.
    let out = unsafe {
        written_vec(x.len(), |out| {
            if classes == 0 {
                return;
            }
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                let chunk = rows_per_task(classes) * classes;
                out.par_chunks_mut(chunk)
                    .zip(x.par_chunks(chunk))
                    .for_each(|(o, x)| rows_log_softmax(x, classes, o));
            } else {
                rows_log_softmax(&x, classes, out);
            }
        })
    };
    ArrayD::from_shape_vec(input.raw_dim(), out).map_err(internal)
}

/// Rows per parallel task: a multiple of [`TILE_ROWS`] of about 16K values, at least
/// one tile (results do not depend on it: every row is computed alone).
pub(crate) fn rows_per_task(classes: usize) -> usize {
    (PARALLEL_MIN_ELEMENTS / 2 / classes.max(1))
        .max(1)
        .div_ceil(TILE_ROWS)
        * TILE_ROWS
}

/// Probabilities along `dim`: `exp(x) / sum(exp(x))`, computed stably.
///
/// Same shapes, dims and errors as [`log_softmax`].
///
/// ```
/// use lossparity_losses::softmax;
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
    if input.ndim() > 0 && axis + 1 < input.ndim() {
        return along_columns(input, axis, columns_softmax);
    }
    along_lanes(&[input], axis, |x, out| softmax_lane(x[0], out))
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
    along_lanes(&[grad_output.view(), output.view()], axis, |gy, out| {
        log_softmax_backward_lane(gy[0], gy[1], out)
    })
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
    along_lanes(&[grad_output.view(), output.view()], axis, |gy, out| {
        softmax_backward_lane(gy[0], gy[1], out)
    })
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

/// The axis order that moves `axis` last, and the order that undoes it.
fn axis_last_order(ndim: usize, axis: usize) -> (Vec<usize>, Vec<usize>) {
    let order: Vec<usize> = (0..ndim).filter(|&a| a != axis).chain([axis]).collect();
    let mut inverse = vec![0; ndim];
    for (position, &a) in order.iter().enumerate() {
        inverse[a] = position;
    }
    (order, inverse)
}

/// Applies a lane kernel to every lane of the inputs along `axis`. The lanes are first
/// laid out row-major with `axis` last (a copy only when they are not already), so the
/// kernel always sees the same contiguous values whatever the strides: results do not
/// depend on layout. Rows run in parallel for large inputs, each row independent of
/// the others, so results do not depend on the thread count either.
fn along_lanes<F: Float>(
    inputs: &[ArrayViewD<'_, F>],
    axis: usize,
    lane: impl Fn(&[&[F]], &mut [F]) + Sync,
) -> Result<ArrayD<F>, LossError> {
    let Some(first) = inputs.first() else {
        return Err(internal("no input"));
    };
    let shape = first.raw_dim();
    if first.ndim() == 0 {
        let values: Vec<Vec<F>> = inputs.iter().map(|a| a.iter().copied().collect()).collect();
        let rows: Vec<&[F]> = values.iter().map(Vec::as_slice).collect();
        let mut out = vec![F::zero(); 1];
        lane(&rows, &mut out);
        return ArrayD::from_shape_vec(shape, out).map_err(internal);
    }
    let (order, inverse) = axis_last_order(first.ndim(), axis);
    let moved: Vec<ArrayViewD<'_, F>> = inputs
        .iter()
        .map(|a| a.view().permuted_axes(IxDyn(&order)))
        .collect();
    let moved_shape = moved[0].raw_dim();
    let flat: Vec<std::borrow::Cow<'_, [F]>> = moved.iter().map(row_major).collect();
    let row_len = first.shape()[axis];
    let mut out = vec![F::zero(); first.len()];
    if row_len > 0 {
        let run = |(r, o): (usize, &mut [F])| {
            // At most two inputs (grad_output and output): no allocation per row.
            let mut rows: [&[F]; 2] = [&[], &[]];
            for (row, f) in rows.iter_mut().zip(&flat) {
                *row = &f[r * row_len..(r + 1) * row_len];
            }
            lane(&rows[..flat.len().min(2)], o);
        };
        if out.len() >= PARALLEL_MIN_ELEMENTS {
            out.par_chunks_mut(row_len).enumerate().for_each(run);
        } else {
            out.chunks_mut(row_len).enumerate().for_each(run);
        }
    }
    let out = ArrayD::from_shape_vec(moved_shape, out).map_err(internal)?;
    if axis + 1 == first.ndim() {
        return Ok(out);
    }
    Ok(out
        .permuted_axes(IxDyn(&inverse))
        .as_standard_layout()
        .into_owned())
}

/// A forward along an axis that is not the last: the input in row-major order is
/// `outer` samples of `(C, map)` blocks, and a column kernel handles each block with
/// every position of the block at once (vectorised across positions, no transposed
/// copy). Samples run in parallel for large inputs.
fn along_columns<F: Float>(
    input: ArrayViewD<'_, F>,
    axis: usize,
    block_kernel: impl Fn(&[F], usize, &mut [F]) + Sync,
) -> Result<ArrayD<F>, LossError> {
    let shape = input.raw_dim();
    let map: usize = input.shape()[axis + 1..].iter().product();
    let block = input.shape()[axis] * map;
    let x = row_major(&input);
    let mut out = vec![F::zero(); x.len()];
    if block > 0 {
        let run = |(o, x): (&mut [F], &[F])| block_kernel(x, map, o);
        if out.len() >= PARALLEL_MIN_ELEMENTS {
            out.par_chunks_mut(block)
                .zip(x.par_chunks(block))
                .for_each(run);
        } else {
            out.chunks_mut(block).zip(x.chunks(block)).for_each(run);
        }
    }
    ArrayD::from_shape_vec(shape, out).map_err(internal)
}
