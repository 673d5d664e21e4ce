//! `linear_cross_entropy`: `cross_entropy(linear(input, linear_weight, linear_bias),
//! target)`, PyTorch 2.13's `options=None` reference semantics, computed fused: the
//! logits are made a block of rows at a time and never held whole on the class-index
//! path without label smoothing (the path of language-model training).
//!
//! The matrix products go through the `gemm` crate, always single-threaded inside
//! fixed-size blocks, and block partials are combined in a fixed order, so no result
//! depends on the number of threads.

use std::borrow::Cow;

use ndarray::{
    Array2, ArrayD, ArrayView, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, CowArray, Dimension,
    Ix2, IxDyn, s,
};
use rayon::prelude::*;

use super::cross_entropy::{
    CePath, ce_plan, cross_entropy, cross_entropy_target_backward, cross_entropy_weight_backward,
    cross_entropy_with_grad,
};
use super::error::LossError;
use super::float::Float;
use super::kernels::{
    TILE_ROWS, columns_forward_backward, columns_stats, one_hot_log_softmax_backward_lane,
    rows_log_sum_exp,
};
use super::nll::{NllPlan, check_spatial_target_dtype, internal, nll_forward, nll_grad_entries};
use super::options::{CrossEntropyOptions, Reduction, Target, row_major};
use super::softmax::check_grad_shape;

/// Logits per row block, about: 8M values (32 MB of `f32`), at most [`MAX_BLOCK_ROWS`]
/// rows. The blocks depend on the shapes only, never on the thread count.
const BLOCK_ELEMENTS: usize = 1 << 23;

/// Rows per block at most: 256 tokens make each of the backward's products
/// (`G_b^T X_b`, `k = 256`) long enough to run at full speed.
const MAX_BLOCK_ROWS: usize = 256;

/// Vocabulary entries per parallel task of the products whose output has a vocabulary
/// dimension (the logits, `grad_linear_weight`, `grad_linear_bias`).
const VOCAB_BLOCK: usize = 1024;

/// Input features per parallel task of `grad_input = G_b W`.
const FEATURE_BLOCK: usize = 256;

/// Options of [`linear_cross_entropy`], as PyTorch's keyword arguments.
#[derive(Debug, Clone)]
pub struct LinearCrossEntropyOptions<'a, F> {
    /// The linear layer's bias, shape `(C)`, or `(C, d1..dK)` for a K-dimensional
    /// `linear_weight`; `None` adds nothing.
    pub linear_bias: Option<ArrayViewD<'a, F>>,
    /// Per-class weight of the cross entropy, shape `(C)`; `None` weighs every class 1.
    pub weight: Option<ArrayViewD<'a, F>>,
    /// How per-position losses are combined.
    pub reduction: Reduction,
    /// Positions whose target equals this value add nothing. `None` (PyTorch's
    /// default) means -100 for class indices; with class probabilities it must stay
    /// `None` (PyTorch refuses any explicit value, even -100).
    pub ignore_index: Option<i64>,
    /// As [`CrossEntropyOptions::label_smoothing`].
    pub label_smoothing: f64,
}

impl<F> Default for LinearCrossEntropyOptions<'_, F> {
    fn default() -> Self {
        LinearCrossEntropyOptions {
            linear_bias: None,
            weight: None,
            reduction: Reduction::Mean,
            ignore_index: None,
            label_smoothing: 0.0,
        }
    }
}

impl<'a, F> LinearCrossEntropyOptions<'a, F> {
    /// Sets the linear layer's bias.
    pub fn linear_bias<D: Dimension>(mut self, bias: ArrayView<'a, F, D>) -> Self {
        self.linear_bias = Some(bias.into_dyn());
        self
    }

    /// Sets the per-class weight.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }

    /// Sets `ignore_index`.
    pub fn ignore_index(mut self, ignore_index: i64) -> Self {
        self.ignore_index = Some(ignore_index);
        self
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets the label smoothing.
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }
}

/// The gradients of [`linear_cross_entropy_with_grad`], each of its tensor's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearCrossEntropyGrads<F> {
    /// With respect to `input`.
    pub input: ArrayD<F>,
    /// With respect to `linear_weight`.
    pub linear_weight: ArrayD<F>,
    /// With respect to `linear_bias`; `None` when there is no bias.
    pub linear_bias: Option<ArrayD<F>>,
}

/// A Python tuple as `repr` prints it: `()`, `(5,)`, `(5, 2)`.
fn py_tuple(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The checks written in Python in `torch.nn.functional.linear_cross_entropy`, in its
/// order: the logits' shape `(*batch, C, d1..dK)`, or PyTorch's error.
/// `ignore_index_given` says whether `ignore_index` is not `None`.
pub(crate) fn logits_shape(
    input: &[usize],
    linear_weight: &[usize],
    linear_bias: Option<&[usize]>,
    target: &[usize],
    ignore_index_given: bool,
) -> Result<Vec<usize>, LossError> {
    if input.is_empty() || input.len() > 2 {
        return Err(LossError::runtime(
            format!(
                "expected input with dimensionality 1 or 2, got {}",
                input.len()
            ),
            "linear_cross_entropy takes the features before the last layer: one sample \
             (in_features) or a batch (N, in_features); flatten extra batch dimensions \
             (e.g. input.reshape(-1, in_features) and target.reshape(-1)) first",
        ));
    }
    if linear_weight.len() < 2 {
        return Err(LossError::runtime(
            format!(
                "expected linear_weight with dimensionality at least 2, got {}",
                linear_weight.len()
            ),
            "linear_weight is the last layer's weight matrix, (C, in_features), as \
             nn.Linear(in_features, C).weight; not a vector",
        ));
    }
    let in_features = input[input.len() - 1];
    let weight_in = linear_weight[linear_weight.len() - 1];
    if in_features != weight_in {
        return Err(LossError::runtime(
            format!(
                "expected equal input and linear_weight last dimensions (in_features), got \
                 {in_features} and {weight_in}, respectively"
            ),
            "linear_weight is (C, in_features), as nn.Linear stores it (out by in); if \
             you hold the transposed (in_features, C) matrix, pass its .T",
        ));
    }
    let classes = linear_weight[0];
    let out_features = &linear_weight[1..linear_weight.len() - 1];
    let bias_shape: Vec<usize> = linear_weight[..linear_weight.len() - 1].to_vec();
    if let Some(bias) = linear_bias
        && bias != bias_shape.as_slice()
    {
        return Err(LossError::runtime(
            format!(
                "expected linear_bias shape {}, got {}",
                py_tuple(&bias_shape),
                py_tuple(bias)
            ),
            "the bias has one value per output of the linear layer: linear_weight's \
                 shape without its last dimension (in_features)",
        ));
    }
    let batched = input.len() == 2;
    if !out_features.is_empty() && !batched {
        return Err(LossError::runtime(
            format!(
                "K-dimensional loss defined by linear_weight shape {} requires batched input, \
                 (N, {in_features}), got unbatched input with shape {}",
                py_tuple(linear_weight),
                py_tuple(input)
            ),
            "a linear_weight with more than two dimensions gives (N, C, d1..dK) logits, \
             which need a batch: give the one sample as input.unsqueeze(0) and its target \
             with a batch dimension too",
        ));
    }
    let mut logits = Vec::with_capacity(linear_weight.len());
    if batched {
        logits.push(input[0]);
    }
    logits.push(classes);
    logits.extend_from_slice(out_features);
    if target == logits.as_slice() && ignore_index_given {
        return Err(LossError::runtime(
            "ignore_index cannot be specified when target contains probabilities",
            "the target has the logits' shape, so it holds class probabilities, which have \
             no class index to ignore: leave ignore_index unset (None), not even -100",
        ));
    }
    Ok(logits)
}

/// A validated call: the operands as matrices and the cross entropy's options.
pub(crate) struct Linear<'a, F: Clone> {
    /// `(rows, in_features)`: `N` rows, or one for a 1-D input.
    x: CowArray<'a, F, Ix2>,
    /// `(V, in_features)` with `V = C * d1 * .. * dK`.
    w: CowArray<'a, F, Ix2>,
    /// `V` values.
    bias: Option<Cow<'a, [F]>>,
    logits_shape: Vec<usize>,
    ce: CrossEntropyOptions<'a, F>,
}

impl<'a, F: Float> Linear<'a, F> {
    pub(crate) fn new<'i: 'a, 'w: 'a>(
        input: ArrayViewD<'i, F>,
        linear_weight: ArrayViewD<'w, F>,
        target: &Target<'_, F>,
        options: &'a LinearCrossEntropyOptions<'_, F>,
    ) -> Result<Self, LossError> {
        let (input, linear_weight) = (input.reborrow(), linear_weight.reborrow());
        let logits_shape = logits_shape(
            input.shape(),
            linear_weight.shape(),
            options.linear_bias.as_ref().map(|b| b.shape()),
            target.shape(),
            options.ignore_index.is_some(),
        )?;
        let in_features = input.shape()[input.ndim() - 1];
        let rows = if input.ndim() == 2 {
            input.shape()[0]
        } else {
            1
        };
        let vocab: usize = linear_weight.shape()[..linear_weight.ndim() - 1]
            .iter()
            .product();
        let x = as_matrix(input, (rows, in_features))?;
        let w = as_matrix(linear_weight, (vocab, in_features))?;
        let bias = options.linear_bias.as_ref().map(|b| {
            let b: ArrayViewD<'a, F> = b.view();
            row_major(&b)
        });
        let ce = CrossEntropyOptions {
            weight: options.weight.as_ref().map(|w| w.view()),
            ignore_index: options.ignore_index.unwrap_or(-100),
            reduction: options.reduction,
            label_smoothing: options.label_smoothing,
        };
        Ok(Linear {
            x,
            w,
            bias,
            logits_shape,
            ce,
        })
    }

    fn rows(&self) -> usize {
        self.x.nrows()
    }

    fn vocab(&self) -> usize {
        self.w.nrows()
    }

    /// Rows per block: fixed by the vocabulary size, a multiple of [`TILE_ROWS`].
    fn block_rows(&self) -> usize {
        let rows = (BLOCK_ELEMENTS / self.vocab().max(1)).clamp(1, MAX_BLOCK_ROWS);
        if rows >= TILE_ROWS {
            rows / TILE_ROWS * TILE_ROWS
        } else {
            rows
        }
    }

    /// The logits of rows `first..first + out.nrows()` into `out`: `x W^T + b`, one
    /// single-threaded product per [`VOCAB_BLOCK`] columns, the bias first.
    fn logits_into(&self, first: usize, mut out: ArrayViewMut2<'_, F>) {
        let x = self.x.slice(s![first..first + out.nrows(), ..]);
        if let Some(bias) = &self.bias {
            for mut row in out.rows_mut() {
                row.iter_mut().zip(bias.iter()).for_each(|(o, &b)| *o = b);
            }
        }
        let accumulate = self.bias.is_some();
        let blocks: Vec<_> = out.axis_chunks_iter_mut(Axis(1), VOCAB_BLOCK).collect();
        blocks.into_par_iter().enumerate().for_each(|(j, block)| {
            let v0 = j * VOCAB_BLOCK;
            let w = self.w.slice(s![v0..v0 + block.ncols(), ..]);
            matmul(x, w.t(), block, accumulate);
        });
    }

    /// All logits, shape `logits_shape`: the reference path's input of `cross_entropy`.
    pub(crate) fn logits(&self) -> Result<ArrayD<F>, LossError> {
        let mut all = Array2::<F>::zeros((self.rows(), self.vocab()));
        let step = self.block_rows();
        for first in (0..self.rows()).step_by(step.max(1)) {
            let last = (first + step).min(self.rows());
            self.logits_into(first, all.slice_mut(s![first..last, ..]));
        }
        all.into_shape_with_order(IxDyn(&self.logits_shape))
            .map_err(internal)
    }

    /// Adds block `first..first + g.nrows()`'s share of the gradients, given the
    /// gradient `g` of the loss with respect to its logits: `grad_x` rows of the block
    /// `= g W`, `grad_w (+)= g^T x_b`, `grad_b += sum of g's rows` (in row order).
    fn accumulate_grads(&self, first: usize, g: ArrayView2<'_, F>, grads: &mut MatrixGrads<F>) {
        let rows = first..first + g.nrows();
        let x = self.x.slice(s![rows.clone(), ..]);
        let mut grad_x = grads.input.slice_mut(s![rows, ..]);
        let w = self.w.view();
        let feature_blocks: Vec<_> = grad_x
            .axis_chunks_iter_mut(Axis(1), FEATURE_BLOCK)
            .collect();
        feature_blocks
            .into_par_iter()
            .enumerate()
            .for_each(|(j, block)| {
                let f0 = j * FEATURE_BLOCK;
                matmul(g, w.slice(s![.., f0..f0 + block.ncols()]), block, false);
            });
        let accumulate = first > 0;
        let vocab_blocks: Vec<_> = grads
            .linear_weight
            .axis_chunks_iter_mut(Axis(0), VOCAB_BLOCK)
            .collect();
        vocab_blocks
            .into_par_iter()
            .enumerate()
            .for_each(|(j, block)| {
                let v0 = j * VOCAB_BLOCK;
                let g = g.slice(s![.., v0..v0 + block.nrows()]);
                matmul(g.t(), x, block, accumulate);
            });
        if let Some(bias) = grads.linear_bias.as_mut() {
            bias.par_chunks_mut(VOCAB_BLOCK)
                .enumerate()
                .for_each(|(j, b)| {
                    let v0 = j * VOCAB_BLOCK;
                    for row in g.rows() {
                        let row = row.slice(s![v0..v0 + b.len()]);
                        b.iter_mut().zip(row.iter()).for_each(|(b, &v)| *b += v);
                    }
                });
        }
    }

    fn zero_grads(&self) -> MatrixGrads<F> {
        MatrixGrads {
            input: Array2::zeros(self.x.raw_dim()),
            linear_weight: Array2::zeros(self.w.raw_dim()),
            linear_bias: self.bias.as_ref().map(|b| vec![F::zero(); b.len()]),
        }
    }

    /// The gradients of the reference path, from the gradient of the whole logits.
    pub(crate) fn grads_from_logits(&self, g: &ArrayD<F>) -> Result<MatrixGrads<F>, LossError> {
        let g = g
            .view()
            .into_shape_with_order((self.rows(), self.vocab()))
            .map_err(internal)?;
        let mut grads = self.zero_grads();
        let step = self.block_rows();
        for first in (0..self.rows()).step_by(step.max(1)) {
            let last = (first + step).min(self.rows());
            self.accumulate_grads(first, g.slice(s![first..last, ..]), &mut grads);
        }
        Ok(grads)
    }
}

/// `a` as a `(rows, cols)` matrix: a view when it is row-major, else a row-major copy.
fn as_matrix<F: Float>(
    a: ArrayViewD<'_, F>,
    shape: (usize, usize),
) -> Result<CowArray<'_, F, Ix2>, LossError> {
    if a.is_standard_layout() {
        Ok(a.into_shape_with_order(shape).map_err(internal)?.into())
    } else {
        let values: Vec<F> = a.iter().copied().collect();
        Ok(Array2::from_shape_vec(shape, values)
            .map_err(internal)?
            .into())
    }
}

/// The gradients as matrices, before they take their tensors' shapes.
pub(crate) struct MatrixGrads<F> {
    pub input: Array2<F>,
    pub linear_weight: Array2<F>,
    pub linear_bias: Option<Vec<F>>,
}

impl<F: Float> MatrixGrads<F> {
    fn shaped(
        self,
        input: &[usize],
        linear_weight: &[usize],
        linear_bias: Option<&[usize]>,
    ) -> Result<LinearCrossEntropyGrads<F>, LossError> {
        let bias = match (self.linear_bias, linear_bias) {
            (Some(b), Some(shape)) => {
                Some(ArrayD::from_shape_vec(IxDyn(shape), b).map_err(internal)?)
            }
            _ => None,
        };
        Ok(LinearCrossEntropyGrads {
            input: self
                .input
                .into_shape_with_order(IxDyn(input))
                .map_err(internal)?,
            linear_weight: self
                .linear_weight
                .into_shape_with_order(IxDyn(linear_weight))
                .map_err(internal)?,
            linear_bias: bias,
        })
    }
}

// The GEMM is the `gemm` crate's (sarah-ek): on this project's 2-core AVX2 machine it
// ran the logits' product (256 x 1024 by 1024 x 32000, f32, one thread) at 36-44
// GFLOP/s where `matrixmultiply` 0.3 ran 32 and libtorch's MKL sgemm 33 (all measured
// under the same load); it takes any strides, so transposes are free.
/// `c = a b`, or `c += a b` when `accumulate`, on one thread.
fn matmul<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    mut c: ArrayViewMut2<'_, F>,
    accumulate: bool,
) {
    let ((m, k), n) = (a.dim(), c.ncols());
    debug_assert_eq!((b.nrows(), b.ncols(), c.nrows()), (k, n, m));
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(F::zero());
        }
        return;
    }
    let (sa, sb, sc) = (a.strides(), b.strides(), c.strides());
    let (sa, sb) = ([sa[0], sa[1]], [sb[0], sb[1]]);
    let (sc0, sc1) = (sc[0], sc[1]);
    // SAFETY: the pointers and strides are those of views of the dimensions given,
    // `c` is borrowed mutably, and `a` and `b` do not alias it (they borrow other data).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            sc1,
            sc0,
            accumulate,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            F::one(),
            F::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The fused class-index path: per row block, the logits, then each position's log-sum-
/// exp and target log-probability with `cross_entropy`'s kernels for the shape (so its
/// loss bits on the same logits), and, given the `nll_loss` gradient entries, the
/// gradient of the block's logits in place and the block's share of the parameter
/// gradients. Returns the target log-probabilities.
fn fused_blocks<F: Float>(
    lin: &Linear<'_, F>,
    nll: &NllPlan,
    targets: &[i64],
    entries: Option<(&[Entry<F>], &mut MatrixGrads<F>)>,
) -> Vec<F> {
    let (rows, vocab) = (lin.rows(), lin.vocab());
    let classes = nll.classes;
    let map = nll.map;
    let mut picked = vec![F::nan(); rows * map];
    let step = lin.block_rows();
    let mut buffer = vec![F::zero(); step.min(rows) * vocab];
    let (entries, mut grads) = match entries {
        Some((e, g)) => (Some(e), Some(g)),
        None => (None, None),
    };
    for first in (0..rows).step_by(step.max(1)) {
        let last = (first + step).min(rows);
        let n = last - first;
        let buf = &mut buffer[..n * vocab];
        let Ok(view) = ArrayViewMut2::from_shape((n, vocab), &mut *buf) else {
            continue;
        };
        lin.logits_into(first, view);
        let picked = &mut picked[first * map..last * map];
        let targets = &targets[first * map..last * map];
        let entries = entries.map(|e| &e[first * map..last * map]);
        if vocab == 0 {
            if let (Some(grads), Ok(g)) =
                (grads.as_deref_mut(), ArrayView2::from_shape((n, 0), &*buf))
            {
                lin.accumulate_grads(first, g, grads);
            }
            continue;
        }
        if map == 1 {
            // A task of TILE_ROWS rows at a time: rows_log_sum_exp tiles short rows
            // by TILE_ROWS, and each row gets the bits it would get alone.
            buf.par_chunks_mut(TILE_ROWS * vocab)
                .zip(picked.par_chunks_mut(TILE_ROWS))
                .enumerate()
                .for_each(|(t, (x, picked))| {
                    let mut stats = [None; TILE_ROWS];
                    let stats = &mut stats[..picked.len()];
                    rows_log_sum_exp(x, classes, stats);
                    let mut scratch = Vec::new();
                    for (r, (row, (p, st))) in x
                        .chunks_mut(classes)
                        .zip(picked.iter_mut().zip(stats.iter()))
                        .enumerate()
                    {
                        let position = t * TILE_ROWS + r;
                        let target = targets[position];
                        if let Some((max, lse)) = *st
                            && (0..classes as i64).contains(&target)
                        {
                            *p = row[target as usize] - max - lse;
                        }
                        let Some(entries) = entries else { continue };
                        match *st {
                            Some((max, lse)) => {
                                scratch.clear();
                                scratch.extend_from_slice(row);
                                one_hot_log_softmax_backward_lane(
                                    &scratch,
                                    max,
                                    lse,
                                    entries[position],
                                    row,
                                );
                                if let Some((class, _)) = entries[position] {
                                    target_from_others(row, 1, class);
                                }
                            }
                            None => row.iter_mut().for_each(|v| *v = F::nan()),
                        }
                    }
                });
        } else {
            buf.par_chunks_mut(vocab)
                .zip(picked.par_chunks_mut(map))
                .enumerate()
                .for_each(|(r, (x, picked))| {
                    let targets = &targets[r * map..(r + 1) * map];
                    match entries {
                        Some(entries) => {
                            let scratch = x.to_vec();
                            let hot = &entries[r * map..(r + 1) * map];
                            columns_forward_backward(&scratch, map, targets, hot, picked, None, x);
                            for (j, hot) in hot.iter().enumerate() {
                                if let Some((class, _)) = *hot {
                                    target_from_others(&mut x[j..], map, class);
                                }
                            }
                        }
                        None => {
                            let mut stats = vec![None; map];
                            columns_stats(x, map, targets, &mut stats, picked, None);
                        }
                    }
                });
        }
        if let (Some(grads), Ok(g)) = (
            grads.as_deref_mut(),
            ArrayView2::from_shape((n, vocab), &*buf),
        ) {
            lin.accumulate_grads(first, g, grads);
        }
    }
    picked
}

/// Sets the target class's logit gradient of one position to minus the sum of the
/// others'. Mathematically the same (a gradient through `log_softmax` sums to zero over
/// the classes), and the one that keeps its digits: the target's own entry is
/// `g * (p_t - 1)`, and where `p_t` is within float32's epsilon of 1 that difference is
/// a multiple of the epsilon, off by up to half of one, an error the input then
/// multiplies into `grad_linear_weight` (an input of 512 made it 3% of the exact value,
/// twice libtorch's error). The others' entries `-g * p_c` do not cancel, and their sum
/// is formed in f64 and rounded once. The classes of the position are `lane[0]`,
/// `lane[stride]`, ...; a position whose gradient is NaN stays NaN.
pub(crate) fn target_from_others<F: Float>(lane: &mut [F], stride: usize, target: usize) {
    let mut others = 0.0f64;
    for (c, v) in lane.iter().step_by(stride.max(1)).enumerate() {
        if c != target {
            others += v.to_f64_exact();
        }
    }
    if let Some(t) = lane.get_mut(target * stride.max(1))
        && !t.is_nan()
    {
        *t = F::of_f64(-others);
    }
}

/// The cross entropy of `linear(input, linear_weight, linear_bias)` against `target`,
/// as `torch.nn.functional.linear_cross_entropy` with `options=None`.
///
/// Shapes: `input` is `(in_features)` or `(N, in_features)`; `linear_weight` is
/// `(C, in_features)`, or `(C, d1..dK, in_features)` for a K-dimensional loss (batched
/// input only), whose logits are `(N, C, d1..dK)`; the bias (in the options) is
/// `linear_weight`'s shape without `in_features`. `target` is as for
/// [`cross_entropy`](crate::cross_entropy) on those logits: class indices, or class
/// probabilities of the logits' shape. float32 and float64.
///
/// Exactness: with class indices and no label smoothing the logits are computed a block
/// of rows at a time (up to 256 rows, about 8M logits) and never held whole, and the
/// loss has the bits `cross_entropy` gives on the same logits; the logits themselves (a GEMM) agree with
/// libtorch's within the tolerance policy, not bit for bit. Label smoothing and class
/// probabilities compute the whole logits and call `cross_entropy` on them.
///
/// ```
/// use lossparity_losses::{linear_cross_entropy, LinearCrossEntropyOptions, Target};
/// use ndarray::array;
///
/// let hidden = array![[1.0f64, 0.0], [0.0, 2.0]];
/// let linear_weight = array![[2.0f64, 0.0], [0.0, 1.0], [0.0, 0.0]];
/// let target = array![0i64, 1];
/// let loss = linear_cross_entropy(hidden.view(), linear_weight.view(),
///     Target::indices(target.view()), &LinearCrossEntropyOptions::default())?;
/// // The logits are [[2, 0, 0], [0, 2, 0]]: both rows pick their largest logit.
/// let expected = (1.0 + 2.0 * (-2.0f64).exp()).ln();
/// assert!((loss.sum() - expected).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn linear_cross_entropy<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    linear_weight: ArrayView<'_, F, E>,
    target: Target<'_, F>,
    options: &LinearCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let lin = Linear::new(input.into_dyn(), linear_weight.into_dyn(), &target, options)?;
    let plan = plan(&lin, &target)?;
    let CePath::Plain { nll } = &plan else {
        return cross_entropy(lin.logits()?.view(), target, &lin.ce);
    };
    let (targets, weight) = index_inputs(&lin, nll, &target)?;
    let picked = fused_blocks(&lin, nll, &targets, None);
    let (ii, reduction) = (lin.ce.ignore_index, lin.ce.reduction);
    let (output, _) = nll_forward(
        nll,
        &|p, _| picked[p],
        &targets,
        weight.as_deref(),
        ii,
        reduction,
    )?;
    Ok(output)
}

/// `cross_entropy`'s checks on the logits' shape, before any product.
fn plan<F: Float>(lin: &Linear<'_, F>, target: &Target<'_, F>) -> Result<CePath, LossError> {
    Ok(ce_plan(
        &lin.logits_shape,
        target.shape(),
        target.dtype_name(),
        matches!(target, Target::Probabilities(_)),
        lin.ce.weight.as_ref().map(|w| w.shape()),
        lin.ce.ignore_index,
        lin.ce.label_smoothing,
    )?
    .path)
}

/// One row's `nll_loss` gradient entry: its target class and the entry's value (`None`
/// for an ignored row).
type Entry<F> = Option<(usize, F)>;

/// The fused path's class indices and its class weight.
type IndexInputs<'t, F> = (Cow<'t, [i64]>, Option<Vec<F>>);

/// The class indices and the class weight of the fused path, after the target dtype
/// check libtorch makes for K-dimensional inputs.
fn index_inputs<'t, F: Float>(
    lin: &Linear<'_, F>,
    nll: &NllPlan,
    target: &Target<'t, F>,
) -> Result<IndexInputs<'t, F>, LossError> {
    check_spatial_target_dtype(nll, target.dtype_name(), lin.ce.reduction)?;
    let targets = target
        .index_slice()
        .ok_or_else(|| internal("index path without indices"))?;
    let weight = lin.ce.weight.as_ref().map(|w| row_major(w).into_owned());
    Ok((targets, weight))
}

/// The loss and the gradients of `sum(linear_cross_entropy(..) * grad_output)` with
/// respect to `input`, `linear_weight` and `linear_bias`, as PyTorch's autograd gives
/// them, in one pass: on the class-index path without label smoothing each block's
/// logits become their gradient in place and are multiplied out (`grad_input = G W`,
/// `grad_linear_weight += G^T input`, `grad_linear_bias += column sums of G`) before
/// the next block, three products in all as libtorch's, and the `(N, V)` logits never
/// exist whole. `grad_output` has the loss's shape (`()` when reduced).
///
/// The class `weight` gets no gradient here: see
/// [`linear_cross_entropy_weight_backward`].
///
/// ```
/// use lossparity_losses::{linear_cross_entropy_with_grad, LinearCrossEntropyOptions, Target};
/// use ndarray::{arr0, array};
///
/// let hidden = array![[1.0f64, 0.0]];
/// let linear_weight = array![[0.0f64, 0.0], [0.0, 0.0]];
/// let bias = array![0.0f64, 0.0];
/// let options = LinearCrossEntropyOptions::default().linear_bias(bias.view());
/// let (loss, grads) = linear_cross_entropy_with_grad(arr0(1.0).view(), hidden.view(),
///     linear_weight.view(), Target::indices(array![0i64].view()), &options)?;
/// // Zero logits: softmax is [0.5, 0.5], the logits' gradient [-0.5, 0.5].
/// assert!((loss.sum() - std::f64::consts::LN_2).abs() < 1e-15);
/// assert_eq!(grads.linear_bias.unwrap().as_slice().unwrap(), &[-0.5, 0.5]);
/// assert_eq!(grads.linear_weight[[1, 0]], 0.5);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn linear_cross_entropy_with_grad<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    linear_weight: ArrayView<'_, F, E>,
    target: Target<'_, F>,
    options: &LinearCrossEntropyOptions<'_, F>,
) -> Result<(ArrayD<F>, LinearCrossEntropyGrads<F>), LossError> {
    let (input, linear_weight) = (input.into_dyn(), linear_weight.into_dyn());
    let grad_output = grad_output.into_dyn();
    let shapes = (input.shape().to_vec(), linear_weight.shape().to_vec());
    let bias_shape = options.linear_bias.as_ref().map(|b| b.shape().to_vec());
    let lin = Linear::new(input, linear_weight, &target, options)?;
    let shaped = |grads: MatrixGrads<F>| grads.shaped(&shapes.0, &shapes.1, bias_shape.as_deref());
    let plan = plan(&lin, &target)?;
    let CePath::Plain { nll } = &plan else {
        let (output, g) =
            cross_entropy_with_grad(grad_output, lin.logits()?.view(), target, &lin.ce)?;
        return Ok((output, shaped(lin.grads_from_logits(&g)?)?));
    };
    let (targets, weight) = index_inputs(&lin, nll, &target)?;
    let (ii, reduction) = (lin.ce.ignore_index, lin.ce.reduction);
    // What the gradient needs from the forward (the target checks, the total weight)
    // does not depend on the logits, and comes first, in libtorch's order: the
    // forward's errors, then the backward's.
    let (_, total_weight) = nll_forward(
        nll,
        &|_, _| F::zero(),
        &targets,
        weight.as_deref(),
        ii,
        reduction,
    )?;
    check_grad_shape(grad_output.shape(), &nll.output_shape(reduction))?;
    let entries = nll_grad_entries(
        nll,
        &grad_output,
        &targets,
        weight.as_deref(),
        ii,
        reduction,
        total_weight,
    )?;
    let mut grads = lin.zero_grads();
    let picked = fused_blocks(&lin, nll, &targets, Some((&entries, &mut grads)));
    let (output, _) = nll_forward(
        nll,
        &|p, _| picked[p],
        &targets,
        weight.as_deref(),
        ii,
        reduction,
    )?;
    Ok((output, shaped(grads)?))
}

/// The gradients of [`linear_cross_entropy_with_grad`] without the loss.
pub fn linear_cross_entropy_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    linear_weight: ArrayView<'_, F, E>,
    target: Target<'_, F>,
    options: &LinearCrossEntropyOptions<'_, F>,
) -> Result<LinearCrossEntropyGrads<F>, LossError> {
    linear_cross_entropy_with_grad(grad_output, input, linear_weight, target, options)
        .map(|(_, grads)| grads)
}

/// The gradient with respect to a target of class probabilities (the logits' shape),
/// as [`cross_entropy_target_backward`](crate::cross_entropy_target_backward) on the
/// logits, which this computes whole; class indices have none (PyTorch's error).
pub fn linear_cross_entropy_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    linear_weight: ArrayView<'_, F, E>,
    target: Target<'_, F>,
    options: &LinearCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let lin = Linear::new(input.into_dyn(), linear_weight.into_dyn(), &target, options)?;
    cross_entropy_target_backward(grad_output, lin.logits()?.view(), target, &lin.ce)
}

/// The gradient with respect to the class `weight`, as
/// [`cross_entropy_weight_backward`](crate::cross_entropy_weight_backward) on the
/// logits (computed whole): a gradient for class probabilities; with class indices
/// PyTorch's refusal (`nll_loss_forward` is not differentiable with respect to
/// `weight`).
pub fn linear_cross_entropy_weight_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    linear_weight: ArrayView<'_, F, E>,
    target: Target<'_, F>,
    options: &LinearCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let lin = Linear::new(input.into_dyn(), linear_weight.into_dyn(), &target, options)?;
    cross_entropy_weight_backward(grad_output, lin.logits()?.view(), target, &lin.ce)
}
