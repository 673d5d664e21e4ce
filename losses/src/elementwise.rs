//! The machinery every element-wise loss shares: PyTorch's broadcasting, broadcast
//! views laid out in row-major order, deterministic chunked sums, and the reduction of a
//! broadcast gradient back to its tensor's shape.
//!
//! Sums run over fixed chunks, each with `LANES` interleaved partial sums folded
//! pairwise, and the chunks' sums are added in order: a result depends neither on the
//! thread count nor on the SIMD width.

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::LANES;

/// The broadcast shape of `a` and `b` (PyTorch's rules: aligned from the last
/// dimension, sizes equal or 1), or PyTorch's error naming the first mismatch.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, LossError> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    // libtorch's infer_size walks from the last dimension, so with several mismatches
    // it names the rightmost one.
    for i in (0..n).rev() {
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
                ));
            }
        };
    }
    Ok(out)
}

/// `view` broadcast to `shape`, in row-major order: borrowed when it already is.
pub(crate) fn expanded<'a, F: Float>(
    view: &'a ArrayViewD<'_, F>,
    shape: &[usize],
) -> Result<Cow<'a, [F]>, LossError> {
    if view.shape() == shape
        && let Some(s) = view.to_slice()
    {
        return Ok(Cow::Borrowed(s));
    }
    let b = view
        .broadcast(IxDyn(shape))
        .ok_or_else(|| super::nll::internal("broadcast of a checked shape"))?;
    let Some(last) = shape.len().checked_sub(1) else {
        return Ok(Cow::Owned(b.iter().copied().collect()));
    };
    // Row by row: an element-wise iterator over a broadcast view of dynamic rank costs
    // some 20 ns an element (a `pos_weight` of (C) over 256k elements took 5 ms).
    let mut out = Vec::with_capacity(b.len());
    for row in b.lanes(ndarray::Axis(last)) {
        match row.as_slice() {
            Some(s) => out.extend_from_slice(s),
            // The last dimension broadcast: one value repeated.
            None if row.strides()[0] == 0 => out.resize(out.len() + row.len(), row[0]),
            None => out.extend(row.iter().copied()),
        }
    }
    Ok(Cow::Owned(out))
}

/// Elements per chunk of a sum: a chunk is summed on one thread, chunks in parallel.
pub(crate) const CHUNK: usize = 1 << 14;

/// The lanes of a chunk folded pairwise: 8 sums of two, 4 of those, 2, 1.
pub(crate) fn fold_lanes<F: Float>(mut acc: [F; LANES]) -> F {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            acc[k] += acc[k + width];
        }
    }
    acc[0]
}

/// The sums of the chunks of `n` elements (in parallel when there are several), added
/// in order.
pub(crate) fn sum_chunks<F: Float>(n: usize, chunk_sum: impl Fn(usize) -> F + Sync + Send) -> F {
    let chunks = n.div_ceil(CHUNK);
    let sums: Vec<F> = if chunks > 1 {
        (0..chunks).into_par_iter().map(chunk_sum).collect()
    } else {
        (0..chunks).map(chunk_sum).collect()
    };
    sums.into_iter().fold(F::zero(), |a, b| a + b)
}

/// Sums a row-major tensor of `shape` down to `to` (a shape it was broadcast from).
pub(crate) fn sum_to<F: Float>(
    values: Vec<F>,
    shape: &[usize],
    to: &[usize],
) -> Result<ArrayD<F>, LossError> {
    if shape == to {
        return ArrayD::from_shape_vec(IxDyn(shape), values).map_err(super::nll::internal);
    }
    // Summed in f64 and rounded once: a broadcast operand's gradient adds up terms of
    // both signs (`-g * x` over a batch), which a float32 sum can leave outside
    // float32's tolerance of the exact value.
    sum_to_wide(widened(&values), shape, to)
}

/// The values widened exactly to f64.
pub(crate) fn widened<F: Float>(values: &[F]) -> Vec<f64> {
    values.iter().map(|v| v.to_f64_exact()).collect()
}

/// [`sum_to`] of terms formed in f64, rounded once to `F`: where the terms cancel, an
/// f32 rounding of each term (before the sum) can move the sum past f32's tolerance.
pub(crate) fn sum_to_wide<F: Float>(
    values: Vec<f64>,
    shape: &[usize],
    to: &[usize],
) -> Result<ArrayD<F>, LossError> {
    let full = ArrayD::from_shape_vec(IxDyn(shape), values).map_err(super::nll::internal)?;
    let lead = shape.len() - to.len();
    let mut out: ArrayD<f64> = full;
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
    Ok(out.mapv(F::of_f64))
}
