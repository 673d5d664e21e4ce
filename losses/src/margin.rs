//! The margin losses: `hinge_embedding_loss`, `margin_ranking_loss` and
//! `cosine_embedding_loss`, forward and every gradient PyTorch 2.13's autograd gives
//! (and, for a tensor it never differentiates, its error).
//!
//! All three are compositions in PyTorch (aten's `where`, `clamp_min`, sums), not
//! kernels of their own, so autograd differentiates them step by step: the gradients
//! here follow those steps, each rounded to the tensor's type where libtorch rounds it.
//! Two consequences users notice: at a kink (`clamp_min`'s argument exactly 0) the
//! gradient is the one of the linear side (`clamp_min`'s backward passes the gradient
//! where its argument is `>= 0`), and NaN arguments of `clamp_min` get a zero
//! gradient. Sums accumulate in `f64` over fixed chunks and lanes (see
//! [`super::elementwise`]): they do not depend on the thread count, and agree with
//! libtorch's within the tolerance policy (`Float::ATOL`, `Float::RTOL`).

use std::borrow::Cow;
use std::mem::MaybeUninit;

use multiversion::multiversion;
use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::elementwise::{CHUNK, broadcast_shape, expanded, fold_lanes, sum_to, sum_to_wide};
use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{LANES, written_vec};
use super::nll::internal;
use super::options::{Reduction, row_major};
use super::softmax::check_grad_shape;

// ---------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------

/// Options of [`hinge_embedding_loss`] and its gradients, as PyTorch's keyword
/// arguments: `margin=1.0`, `reduction='mean'` by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HingeEmbeddingOptions {
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
    /// The margin of the negative pairs (`target == -1`, in fact any target but 1);
    /// 1.0 by default. Rounded to the tensor's type, as libtorch rounds a scalar.
    pub margin: f64,
}

impl Default for HingeEmbeddingOptions {
    fn default() -> Self {
        HingeEmbeddingOptions {
            reduction: Reduction::Mean,
            margin: 1.0,
        }
    }
}

impl HingeEmbeddingOptions {
    /// The given reduction (the margin is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The given margin (the reduction is kept).
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }
}

/// Options of [`margin_ranking_loss`] and its gradients: `margin=0.0`,
/// `reduction='mean'` by default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarginRankingOptions {
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
    /// The margin added before the clamp; 0.0 by default.
    pub margin: f64,
}

impl MarginRankingOptions {
    /// The given reduction (the margin is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The given margin (the reduction is kept).
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }
}

/// Options of [`cosine_embedding_loss`] and its gradients: `margin=0.0`,
/// `reduction='mean'` by default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CosineEmbeddingOptions {
    /// How the per-pair losses are combined; `mean` by default.
    pub reduction: Reduction,
    /// The cosine below which a dissimilar pair (`target == -1`) costs nothing; 0.0 by
    /// default (meant to be in `[-1, 1]`, not checked, as in PyTorch).
    pub margin: f64,
}

impl CosineEmbeddingOptions {
    /// The given reduction (the margin is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The given margin (the reduction is kept).
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }
}

// ---------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------

/// TensorIterator's broadcast error for `a` op `b` (named as the op orders them), with
/// a hint naming the tensors.
pub(crate) fn broadcast_named(
    a: &[usize],
    a_name: &str,
    b: &[usize],
    b_name: &str,
) -> Result<Vec<usize>, LossError> {
    broadcast_shape(a, b).map_err(|e| {
        LossError::runtime(
            e.message(),
            format!(
                "the {a_name} {} and the {b_name} {} cannot broadcast: aligned from the last \
                 dimension, sizes must be equal or 1",
                shape_str(a),
                shape_str(b)
            ),
        )
    })
}

/// What `torch.autograd.grad(loss, target)` raises for a target the loss only
/// compares: no gradient reaches it (`target.grad` stays `None`).
fn unused_target(op: &str) -> LossError {
    LossError::runtime(
        "The differentiated Tensor at index 0 appears to not have been used in the graph. \
         Set allow_unused=True if this is the desired behavior.",
        format!(
            "{op} only compares the target with 1 and -1, so autograd gives it no gradient \
             (target.grad stays None); with allow_unused=True and materialize_grads=True \
             PyTorch returns zeros of the target's shape"
        ),
    )
}

/// Python's `repr` of a `torch.Size`.
fn torch_size(shape: &[usize]) -> String {
    format!("torch.Size({})", shape_str(shape))
}

// ---------------------------------------------------------------------------------
// Slice drivers: one pass, vectorised, parallel by chunks
// ---------------------------------------------------------------------------------

/// Up to four row-major operands of one length (unused slots repeat another operand;
/// the element function ignores them).
type Srcs<'a, F> = [&'a [F]; 4];

fn sub<'a, F>(s: &Srcs<'a, F>, lo: usize, hi: usize) -> Srcs<'a, F> {
    [&s[0][lo..hi], &s[1][lo..hi], &s[2][lo..hi], &s[3][lo..hi]]
}

/// One block of [`map4`], compiled for each SIMD extension with `k` inlined (a closure
/// called from a generic wrapper stays out of line, at SSE2's width).
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn fill_block<F: Float, K: Fn([F; 4]) -> F>(out: &mut [MaybeUninit<F>], s: Srcs<'_, F>, k: &K) {
    let n = out.len();
    let (a, b, c, d) = (&s[0][..n], &s[1][..n], &s[2][..n], &s[3][..n]);
    for i in 0..n {
        out[i].write(k([a[i], b[i], c[i], d[i]]));
    }
}

/// `k` of every element, in parallel by chunks on large inputs.
fn map4<F: Float>(s: Srcs<'_, F>, k: impl Fn([F; 4]) -> F + Sync) -> Vec<F> {
    let n = s[0].len();
    // SAFETY: `out` has `n` elements; `fill_block` writes every element of the block
    // it is given, and the chunks cover `out`.
    unsafe {
        written_vec(n, |out| {
            if n > CHUNK {
                out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, o)| {
                    let lo = c * CHUNK;
                    fill_block(o, sub(&s, lo, lo + o.len()), &k)
                });
            } else {
                fill_block(out, s, &k);
            }
        })
    }
}

/// One chunk of [`sum4`]: `LANES` interleaved `f64` partial sums, folded pairwise.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn block_sum<F: Float, K: Fn([F; 4]) -> f64>(s: Srcs<'_, F>, k: &K) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (mut ac, mut bc, mut cc, mut dc) = (
        s[0].chunks_exact(LANES),
        s[1].chunks_exact(LANES),
        s[2].chunks_exact(LANES),
        s[3].chunks_exact(LANES),
    );
    for (((a, b), c), d) in (&mut ac).zip(&mut bc).zip(&mut cc).zip(&mut dc) {
        for j in 0..LANES {
            acc[j] += k([a[j], b[j], c[j], d[j]]);
        }
    }
    let (a, b, c, d) = (
        ac.remainder(),
        bc.remainder(),
        cc.remainder(),
        dc.remainder(),
    );
    for j in 0..a.len() {
        acc[j] += k([a[j], b[j], c[j], d[j]]);
    }
    fold_lanes(acc)
}

/// The sum of `k` over the elements, in `f64` (the hinge loss's terms have both signs
/// and may cancel): chunks summed on several threads for large inputs, their sums
/// added in order, so the same bits on any number of threads.
fn sum4<F: Float>(s: Srcs<'_, F>, k: impl Fn([F; 4]) -> f64 + Sync) -> f64 {
    let n = s[0].len();
    let chunk = |c: usize| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        block_sum(sub(&s, lo, hi), &k)
    };
    let chunks = n.div_ceil(CHUNK);
    let sums: Vec<f64> = if chunks > 1 {
        (0..chunks).into_par_iter().map(chunk).collect()
    } else {
        (0..chunks).map(chunk).collect()
    };
    sums.into_iter().fold(0.0, |a, b| a + b)
}

// ---------------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------------

pub(crate) fn scalar<F: Float>(v: F) -> ArrayD<F> {
    ArrayD::from_elem(IxDyn(&[]), v)
}

pub(crate) fn shaped<F: Float>(shape: &[usize], values: Vec<F>) -> Result<ArrayD<F>, LossError> {
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(internal)
}

/// `clamp_min(v, 0)` as libtorch's: NaN stays NaN, `-0.0` stays `-0.0`.
#[inline(always)]
pub(crate) fn clamp_min0<F: Float>(v: F) -> F {
    if v < F::zero() { F::zero() } else { v }
}

/// The reduction of element losses given as an `f64` sum over `n` of them, or as the
/// losses themselves (`none`).
fn reduced<F: Float>(
    reduction: Reduction,
    shape: &[usize],
    n: usize,
    elements: impl FnOnce() -> Vec<F>,
    total: impl FnOnce() -> f64,
) -> Result<ArrayD<F>, LossError> {
    Ok(match reduction {
        Reduction::None => shaped(shape, elements())?,
        // The sum rounded to `F`, then divided in `F`, as libtorch's `mean` (0 / 0 is
        // NaN for no element).
        Reduction::Mean => scalar(F::of_f64(total()) / F::of_f64(n as f64)),
        Reduction::Sum => scalar(F::of_f64(total())),
    })
}

/// What backward multiplies each element by: `grad_output`'s element (`none`) or its
/// one value, divided by the element count for `mean` (autograd's `MeanBackward0`).
pub(crate) enum Grad<'a, F: Clone> {
    Each(Cow<'a, [F]>),
    One(F),
}

/// `grad_output` checked against the forward's output shape (`none_shape` for `none`,
/// 0-D otherwise).
pub(crate) fn grad_source<'a, F: Float>(
    grad_output: &'a ArrayViewD<'_, F>,
    reduction: Reduction,
    none_shape: &[usize],
) -> Result<Grad<'a, F>, LossError> {
    let out: &[usize] = match reduction {
        Reduction::None => none_shape,
        _ => &[],
    };
    check_grad_shape(grad_output.shape(), out)?;
    let one = || grad_output.iter().next().copied().unwrap_or_else(F::zero);
    Ok(match reduction {
        Reduction::None => Grad::Each(row_major(grad_output)),
        Reduction::Sum => Grad::One(one()),
        Reduction::Mean => {
            let n: usize = none_shape.iter().product();
            Grad::One(one() / F::of_f64(n as f64))
        }
    })
}

/// `k(g, [a, b, c])` over the elements, `g` the element's gradient.
fn map_grad<F: Float>(g: &Grad<'_, F>, s: [&[F]; 3], k: impl Fn(F, [F; 3]) -> F + Sync) -> Vec<F> {
    match g {
        Grad::Each(gs) => map4([s[0], s[1], s[2], gs], |v| k(v[3], [v[0], v[1], v[2]])),
        Grad::One(g) => {
            let g = *g;
            map4([s[0], s[1], s[2], s[0]], |v| k(g, [v[0], v[1], v[2]]))
        }
    }
}

// ---------------------------------------------------------------------------------
// hinge_embedding_loss
// ---------------------------------------------------------------------------------

const HINGE: &str = "hinge_embedding_loss";

/// The shape check of `hinge_embedding_loss`: `where(target != 1, margin - input, 0)`
/// broadcasts the target (TensorIterator's tensor a) with the input. Returns the
/// loss's shape, which may be larger than the input's.
pub(crate) fn hinge_check(input: &[usize], target: &[usize]) -> Result<Vec<usize>, LossError> {
    broadcast_named(target, "target", input, "input")
}

/// aten's composition `where(t != 1, clamp_min(margin - x, 0), 0) + where(t != -1, x,
/// 0)`.
#[inline(always)]
fn hinge_element<F: Float>(x: F, t: F, margin: F) -> F {
    let one = F::one();
    let margin_part = if t != one {
        clamp_min0(margin - x)
    } else {
        F::zero()
    };
    let self_part = if t != -one { x } else { F::zero() };
    margin_part + self_part
}

/// Autograd through [`hinge_element`]: `where`'s backward gives `g` or 0,
/// `clamp_min`'s passes it where `margin - x >= 0` (the kink included, NaN excluded),
/// `margin - x` negates it; the two paths are added.
#[inline(always)]
fn hinge_grad<F: Float>(x: F, t: F, margin: F, g: F) -> F {
    let (zero, one) = (F::zero(), F::one());
    let self_part = if t != -one { g } else { zero };
    let through = if t != one { g } else { zero };
    let margin_part = if margin - x >= zero { through } else { zero };
    self_part + -margin_part
}

/// The hinge embedding loss, as `torch.nn.functional.hinge_embedding_loss(input,
/// target, margin=..., reduction=...)`: aten's composition
/// `where(target != 1, clamp_min(margin - input, 0), 0) + where(target != -1, input, 0)`
/// element by element, then reduced.
///
/// `target` holds labels meant to be `±1` (not checked): any other value (0.5, NaN)
/// counts as both, giving `clamp_min(margin - x, 0) + x`, as in PyTorch. Input and
/// target broadcast with each other (either may be the larger one; the loss has the
/// broadcast shape). `mean` divides by the element count (NaN for none).
///
/// ```
/// use lossparity_losses::{hinge_embedding_loss, HingeEmbeddingOptions, Reduction};
/// use ndarray::array;
///
/// let x = array![0.5f64, 1.0, -2.0, 3.0];
/// let y = array![1.0f64, -1.0, -1.0, 1.0];
/// let opts = HingeEmbeddingOptions::default().reduction(Reduction::None);
/// let loss = hinge_embedding_loss(x.view(), y.view(), &opts)?;
/// // torch 2.13: [0.5, 0.0, 3.0, 3.0]
/// assert_eq!(loss.as_slice().unwrap(), &[0.5, 0.0, 3.0, 3.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn hinge_embedding_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HingeEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let shape = hinge_check(input.shape(), target.shape())?;
    let (x, t) = (expanded(&input, &shape)?, expanded(&target, &shape)?);
    let m = F::of_f64(options.margin);
    let s = [&x[..], &t[..], &x[..], &x[..]];
    reduced(
        options.reduction,
        &shape,
        x.len(),
        || map4(s, |v| hinge_element(v[0], v[1], m)),
        || sum4(s, |v| hinge_element(v[0], v[1], m).to_f64_exact()),
    )
}

/// The gradient of `sum(hinge_embedding_loss(input, target) * grad_output)` with
/// respect to the input, as autograd differentiates aten's composition: per element
/// `where(t != -1, g, 0) - where(margin - x >= 0 and t != 1, g, 0)` (`g` divided by the
/// element count for `mean`), summed back over what broadcasting added. At the kink
/// `x == margin` of a negative pair the gradient is `-g` (`clamp_min` passes it); a NaN
/// input of a negative pair gets 0.
///
/// ```
/// use lossparity_losses::{hinge_embedding_loss_backward, HingeEmbeddingOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![0.5f64, 1.0, 3.0, 1.0];
/// let y = array![1.0f64, -1.0, -1.0, 0.5];
/// let opts = HingeEmbeddingOptions::default();
/// let g = hinge_embedding_loss_backward(arr0(1.0).view(), x.view(), y.view(), &opts)?;
/// // torch 2.13: [0.25, -0.25, 0.0, 0.0]
/// assert_eq!(g.as_slice().unwrap(), &[0.25, -0.25, 0.0, 0.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn hinge_embedding_loss_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HingeEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let shape = hinge_check(input.shape(), target.shape())?;
    let g = grad_source(&grad_output, options.reduction, &shape)?;
    let (x, t) = (expanded(&input, &shape)?, expanded(&target, &shape)?);
    let m = F::of_f64(options.margin);
    let values = map_grad(&g, [&x, &t, &x], |g, v| hinge_grad(v[0], v[1], m, g));
    sum_to(values, &shape, input.shape())
}

/// PyTorch gives the target of `hinge_embedding_loss` no gradient: it is only compared
/// with 1 and -1, so `target.grad` stays `None` and `torch.autograd.grad(loss,
/// target)` raises "The differentiated Tensor at index 0 appears to not have been used
/// in the graph. ...". This function returns that error, after the forward's shape
/// checks and the `grad_output` check (PyTorch's order); it never returns a value.
///
/// ```
/// use lossparity_losses::{hinge_embedding_loss_target_backward, HingeEmbeddingOptions};
/// use ndarray::{arr0, array};
///
/// let (x, y) = (array![0.5f64], array![1.0f64]);
/// let err = hinge_embedding_loss_target_backward(arr0(1.0).view(), x.view(), y.view(),
///                                                &HingeEmbeddingOptions::default()).unwrap_err();
/// assert!(err.message().contains("appears to not have been used in the graph"));
/// ```
pub fn hinge_embedding_loss_target_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &HingeEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    let shape = hinge_check(input.shape(), target.shape())?;
    let out: &[usize] = match options.reduction {
        Reduction::None => &shape,
        _ => &[],
    };
    check_grad_shape(grad_output.shape(), out)?;
    Err(unused_target(HINGE))
}

// ---------------------------------------------------------------------------------
// margin_ranking_loss
// ---------------------------------------------------------------------------------

/// The checks of `margin_ranking_loss`: Python's dimension check, then the broadcasts
/// of `input1 - input2` and of `-target * (input1 - input2)`. Returns the loss's shape.
pub(crate) fn margin_ranking_check(
    input1: &[usize],
    input2: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    if input1.len() != input2.len() || input1.len() != target.len() {
        return Err(LossError::runtime(
            format!(
                "margin_ranking_loss : All input tensors should have same dimension but got \
                 sizes: input1: {}, input2: {}, target: {} ",
                torch_size(input1),
                torch_size(input2),
                torch_size(target)
            ),
            format!(
                "input1, input2 and target must have the same number of dimensions (here \
                 {}, {} and {}); sizes of 1 then broadcast, but a missing dimension is \
                 refused: unsqueeze or reshape the odd one out",
                input1.len(),
                input2.len(),
                target.len()
            ),
        ));
    }
    let d = broadcast_named(input1, "input1", input2, "input2")?;
    broadcast_named(target, "target", &d, "broadcast inputs")
}

/// The gradient of the pre-clamp value `-t * (a - b) + margin` that reaches it, and
/// `a - b`: `clamp_min`'s backward passes `g` where the value is `>= 0`.
#[inline(always)]
fn ranking_parts<F: Float>(a: F, b: F, t: F, margin: F, g: F) -> (F, F) {
    let d = a - b;
    let q = -t * d + margin;
    (if q >= F::zero() { g } else { F::zero() }, d)
}

/// The margin ranking loss, as `torch.nn.functional.margin_ranking_loss(input1,
/// input2, target, margin=..., reduction=...)`:
/// `clamp_min(-target * (input1 - input2) + margin, 0)` element by element, each step
/// rounded as libtorch rounds it, then reduced.
///
/// The three tensors must have the same number of dimensions (Python's check, a
/// `RuntimeError`), then broadcast with each other (sizes of 1). `target` is meant to be
/// `±1` (not checked). NaN propagates through the clamp. `mean` divides by the element
/// count (NaN for none).
///
/// ```
/// use lossparity_losses::{margin_ranking_loss, MarginRankingOptions, Reduction};
/// use ndarray::array;
///
/// let a = array![1.0f32, 2.0, 3.0];
/// let b = array![2.0f32, 2.0, 1.0];
/// let y = array![1.0f32, -1.0, 1.0];
/// let opts = MarginRankingOptions::default().margin(0.5);
/// let loss = margin_ranking_loss(a.view(), b.view(), y.view(), &opts)?;
/// // torch 2.13: 0.6666666865348816
/// assert_eq!(loss.sum(), 0.6666666865348816);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn margin_ranking_loss<F: Float, D: Dimension, E: Dimension, H: Dimension>(
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &MarginRankingOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input1, input2, target) = (input1.into_dyn(), input2.into_dyn(), target.into_dyn());
    let shape = margin_ranking_check(input1.shape(), input2.shape(), target.shape())?;
    let (a, b, t) = (
        expanded(&input1, &shape)?,
        expanded(&input2, &shape)?,
        expanded(&target, &shape)?,
    );
    let m = F::of_f64(options.margin);
    let e = move |v: [F; 4]| clamp_min0(-v[2] * (v[0] - v[1]) + m);
    let s = [&a[..], &b[..], &t[..], &a[..]];
    reduced(
        options.reduction,
        &shape,
        a.len(),
        || map4(s, e),
        || sum4(s, |v| e(v).to_f64_exact()),
    )
}

/// Which tensor of `margin_ranking_loss` a gradient is for.
#[derive(Clone, Copy)]
enum Ranking {
    Input1,
    Input2,
    Target,
}

fn ranking_backward<F: Float>(
    grad_output: ArrayViewD<'_, F>,
    input1: ArrayViewD<'_, F>,
    input2: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &MarginRankingOptions,
    of: Ranking,
) -> Result<ArrayD<F>, LossError> {
    let shape = margin_ranking_check(input1.shape(), input2.shape(), target.shape())?;
    let g = grad_source(&grad_output, options.reduction, &shape)?;
    let (a, b, t) = (
        expanded(&input1, &shape)?,
        expanded(&input2, &shape)?,
        expanded(&target, &shape)?,
    );
    let m = F::of_f64(options.margin);
    let s = [&a[..], &b[..], &t[..]];
    // Autograd's steps: `mul`'s backward gives `gq * (-t)` to the difference and
    // `gq * d` to `-t`; `sub` negates the first for input2, `neg` the second.
    let (values, to) = match of {
        Ranking::Input1 => (
            map_grad(&g, s, |g, v| {
                let (gq, _) = ranking_parts(v[0], v[1], v[2], m, g);
                gq * -v[2]
            }),
            input1.shape(),
        ),
        Ranking::Input2 => (
            map_grad(&g, s, |g, v| {
                let (gq, _) = ranking_parts(v[0], v[1], v[2], m, g);
                -(gq * -v[2])
            }),
            input2.shape(),
        ),
        Ranking::Target => (
            map_grad(&g, s, |g, v| {
                let (gq, d) = ranking_parts(v[0], v[1], v[2], m, g);
                -(gq * d)
            }),
            target.shape(),
        ),
    };
    sum_to(values, &shape, to)
}

/// The gradient of `sum(margin_ranking_loss(input1, input2, target) * grad_output)`
/// with respect to `input1`: `-target * g` where `-target * (input1 - input2) + margin
/// >= 0` (the kink, 0, included), else 0 (`g` divided by the element count for
/// `mean`), summed back over what broadcasting added.
///
/// ```
/// use lossparity_losses::{margin_ranking_loss_backward, MarginRankingOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let (a, b, y) = (array![1.0f64, 2.0, 3.0], array![2.0f64, 2.0, 1.0], array![1.0f64, -1.0, 1.0]);
/// let opts = MarginRankingOptions::default().reduction(Reduction::Sum);
/// let g = margin_ranking_loss_backward(arr0(1.0).view(), a.view(), b.view(), y.view(), &opts)?;
/// // torch 2.13: [-1.0, 1.0, -0.0] (the middle one at the kink)
/// assert_eq!(g.as_slice().unwrap(), &[-1.0, 1.0, 0.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn margin_ranking_loss_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &MarginRankingOptions,
) -> Result<ArrayD<F>, LossError> {
    ranking_backward(
        grad_output.into_dyn(),
        input1.into_dyn(),
        input2.into_dyn(),
        target.into_dyn(),
        options,
        Ranking::Input1,
    )
}

/// The gradient of `sum(margin_ranking_loss(input1, input2, target) * grad_output)`
/// with respect to `input2`: the opposite of [`margin_ranking_loss_backward`]'s
/// elements, summed back to `input2`'s shape.
///
/// ```
/// use lossparity_losses::{margin_ranking_loss_input2_backward, MarginRankingOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let (a, b, y) = (array![1.0f64, 2.0, 3.0], array![2.0f64, 2.0, 1.0], array![1.0f64, -1.0, 1.0]);
/// let opts = MarginRankingOptions::default().reduction(Reduction::Sum);
/// let g = margin_ranking_loss_input2_backward(arr0(1.0).view(), a.view(), b.view(), y.view(), &opts)?;
/// // torch 2.13: [1.0, -1.0, 0.0]
/// assert_eq!(g.as_slice().unwrap(), &[1.0, -1.0, 0.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn margin_ranking_loss_input2_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &MarginRankingOptions,
) -> Result<ArrayD<F>, LossError> {
    ranking_backward(
        grad_output.into_dyn(),
        input1.into_dyn(),
        input2.into_dyn(),
        target.into_dyn(),
        options,
        Ranking::Input2,
    )
}

/// The gradient of `sum(margin_ranking_loss(input1, input2, target) * grad_output)`
/// with respect to the target, which PyTorch differentiates (it multiplies):
/// `-(g * (input1 - input2))` where the clamp passes, else `-0.0`, summed back to the
/// target's shape.
///
/// ```
/// use lossparity_losses::{margin_ranking_loss_target_backward, MarginRankingOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let (a, b, y) = (array![1.0f64, 2.0, 3.0], array![2.0f64, 2.0, 1.0], array![1.0f64, -1.0, 1.0]);
/// let opts = MarginRankingOptions::default().reduction(Reduction::Sum);
/// let g = margin_ranking_loss_target_backward(arr0(1.0).view(), a.view(), b.view(), y.view(), &opts)?;
/// // torch 2.13: [1.0, -0.0, -0.0]
/// assert_eq!(g.as_slice().unwrap(), &[1.0, 0.0, 0.0]);
/// assert!(g[1].is_sign_negative());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn margin_ranking_loss_target_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &MarginRankingOptions,
) -> Result<ArrayD<F>, LossError> {
    ranking_backward(
        grad_output.into_dyn(),
        input1.into_dyn(),
        input2.into_dyn(),
        target.into_dyn(),
        options,
        Ranking::Target,
    )
}

// ---------------------------------------------------------------------------------
// cosine_embedding_loss
// ---------------------------------------------------------------------------------

const COSINE: &str = "cosine_embedding_loss";

/// The shapes of a `cosine_embedding_loss` call, as `(rows, columns)` matrices (a 1-D
/// input is one row).
#[derive(Debug, Clone)]
pub(crate) struct CosinePlan {
    /// Rows and columns of input1, input2, and of their broadcast product.
    rows1: usize,
    rows2: usize,
    rows: usize,
    cols: usize,
    /// The broadcast product's shape (`(rows, cols)`, or `(cols)` for 1-D inputs).
    product: Vec<usize>,
    /// The target's element count (1 for a 0-D target).
    targets: usize,
    /// The loss's `none` shape: the target's broadcast with the cosines' (`(rows)` or
    /// `()`).
    pub(crate) out: Vec<usize>,
}

/// aten's checks of `cosine_embedding_loss`, in its order: the target's dimensions,
/// the inputs' dimensions for it, then the broadcasts of `input1 * input2` and of the
/// target with the cosines.
pub(crate) fn cosine_plan(
    input1: &[usize],
    input2: &[usize],
    target: &[usize],
) -> Result<CosinePlan, LossError> {
    let sizes = || format!("{} and {}", shape_str(input1), shape_str(input2));
    match target.len() {
        1 if input1.len() != 2 || input2.len() != 2 => {
            return Err(LossError::runtime(
                format!(
                    "1D target tensor expects 2D input tensors, but found inputs with sizes {}.",
                    sizes()
                ),
                "a 1-D target holds one label per pair: the inputs must be (N, D), one pair \
                 per row (a single pair is 1-D inputs with a 0-D target)",
            ));
        }
        0 if input1.len() != 1 || input2.len() != 1 => {
            return Err(LossError::runtime(
                format!(
                    "0D target tensor expects 1D input tensors, but found inputs with sizes {}.",
                    sizes()
                ),
                "a 0-D target labels one pair: the inputs must be 1-D vectors (for a batch \
                 of (N, D) inputs give a target of shape (N))",
            ));
        }
        0 | 1 => {}
        _ => {
            return Err(LossError::runtime(
                "0D or 1D target tensor expected, multi-target not supported",
                format!(
                    "the target {} must hold one label (1 or -1) per pair: shape (N) for \
                     (N, D) inputs, () for 1-D inputs",
                    shape_str(target)
                ),
            ));
        }
    }
    let product = broadcast_named(input1, "input1", input2, "input2")?;
    let batched = target.len() == 1;
    let (rows1, rows2, rows) = if batched {
        (input1[0], input2[0], product[0])
    } else {
        (1, 1, 1)
    };
    let cos_shape: Vec<usize> = if batched { vec![rows] } else { vec![] };
    let out = broadcast_named(target, "target", &cos_shape, "cosines")?;
    Ok(CosinePlan {
        rows1,
        rows2,
        rows,
        cols: *product.last().unwrap_or(&0),
        product,
        targets: target.iter().product(),
        out,
    })
}

/// libtorch's `EPSILON` (`1e-12` as a C++ `float`), in `F`.
fn cosine_epsilon<F: Float>() -> F {
    F::of_f64(f64::from(1e-12f32))
}

/// `(sum a*b, sum a*a, sum b*b)` over one stretch, in `f64` lanes folded pairwise.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn block_dots<F: Float>(a: &[F], b: &[F]) -> [f64; 3] {
    let (mut ab, mut aa, mut bb) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
    let (mut ac, mut bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut ac).zip(&mut bc) {
        for j in 0..LANES {
            let (x, y) = (x[j].to_f64_exact(), y[j].to_f64_exact());
            ab[j] += x * y;
            aa[j] += x * x;
            bb[j] += y * y;
        }
    }
    for (j, (x, y)) in ac.remainder().iter().zip(bc.remainder()).enumerate() {
        let (x, y) = (x.to_f64_exact(), y.to_f64_exact());
        ab[j] += x * y;
        aa[j] += x * x;
        bb[j] += y * y;
    }
    [fold_lanes(ab), fold_lanes(aa), fold_lanes(bb)]
}

/// [`block_dots`] over a row of any length: chunks of `CHUNK` (in parallel for a long
/// row), their sums added in order.
fn row_dots<F: Float>(a: &[F], b: &[F]) -> [f64; 3] {
    if a.len() <= CHUNK {
        return block_dots(a, b);
    }
    let parts: Vec<[f64; 3]> = a
        .par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(a, b)| block_dots(a, b))
        .collect();
    parts
        .into_iter()
        .fold([0.0; 3], |s, p| [s[0] + p[0], s[1] + p[1], s[2] + p[2]])
}

/// `f(r)` for each of `rows` rows of `len` elements, in parallel on large inputs (each
/// row on one thread: the same bits on any number).
fn per_row<T: Send>(rows: usize, len: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if rows > 1 && rows * len > CHUNK {
        (0..rows).into_par_iter().map(f).collect()
    } else {
        (0..rows).map(f).collect()
    }
}

/// The forward's intermediate values, one per row, in `F` as aten keeps them.
struct CosineRows<'a, F: Clone> {
    /// input1 and input2 broadcast to the product's shape, row-major.
    x1: Cow<'a, [F]>,
    x2: Cow<'a, [F]>,
    /// `prod_sum / sqrt(mag1 * mag2)` per broadcast row, in `F` as aten computes it
    /// (`mag` is `sum(x * x) + EPSILON` per row of each input).
    cos: Vec<F>,
    /// The same sums in f64, for the backward: `sum(x1 * x2)` per broadcast row, and
    /// `mag1`, `mag2` per row of each input.
    prod_wide: Vec<f64>,
    mag1_wide: Vec<f64>,
    mag2_wide: Vec<f64>,
}

fn cosine_rows<'a, F: Float>(
    input1: &'a ArrayViewD<'_, F>,
    input2: &'a ArrayViewD<'_, F>,
    p: &CosinePlan,
) -> Result<CosineRows<'a, F>, LossError> {
    let (x1, x2) = (expanded(input1, &p.product)?, expanded(input2, &p.product)?);
    let eps = cosine_epsilon::<F>();
    let cols = p.cols;
    let sums = per_row(p.rows, cols, |r| {
        let span = r * cols..(r + 1) * cols;
        row_dots(&x1[span.clone()], &x2[span])
    });
    // The squared norms from each input's own elements: a broadcast column (size 1
    // against D) is counted once, as aten sums `input * input` before broadcasting.
    let own_norms = |input: &ArrayViewD<'_, F>, rows: usize| -> Vec<f64> {
        let x = row_major(input);
        let len = x.len().checked_div(rows).unwrap_or(0);
        per_row(rows, len, |r| {
            let v = &x[r * len..(r + 1) * len];
            row_dots(v, v)[1]
        })
    };
    let (sq1, sq2): (Vec<f64>, Vec<f64>) =
        if p.product.as_slice() == input1.shape() && input1.shape() == input2.shape() {
            (
                sums.iter().map(|s| s[1]).collect(),
                sums.iter().map(|s| s[2]).collect(),
            )
        } else {
            (own_norms(input1, p.rows1), own_norms(input2, p.rows2))
        };
    let mag = |sq: &[f64]| -> Vec<F> { sq.iter().map(|&s| F::of_f64(s) + eps).collect() };
    let (mag1, mag2) = (mag(&sq1), mag(&sq2));
    let wide_eps = eps.to_f64_exact();
    let wide = |sq: Vec<f64>| -> Vec<f64> { sq.into_iter().map(|s| s + wide_eps).collect() };
    let at = |v: &[F], r: usize| if v.len() == 1 { v[0] } else { v[r] };
    let denom: Vec<F> = (0..p.rows)
        .map(|r| (at(&mag1, r) * at(&mag2, r)).sqrt())
        .collect();
    let cos = (0..p.rows)
        .map(|r| F::of_f64(sums[r][0]) / denom[r])
        .collect();
    Ok(CosineRows {
        x1,
        x2,
        cos,
        prod_wide: sums.iter().map(|s| s[0]).collect(),
        mag1_wide: wide(sq1),
        mag2_wide: wide(sq2),
    })
}

/// The index of the row (or target) an output element reads, given how many there
/// are (1: broadcast).
#[inline(always)]
fn bcast_index(count: usize, o: usize) -> usize {
    if count == 1 { 0 } else { o }
}

/// The cosine embedding loss, as `torch.nn.functional.cosine_embedding_loss(input1,
/// input2, target, margin=..., reduction=...)`: aten's composition with
/// `EPSILON = 1e-12`: `cos = sum(x1 * x2) / sqrt((sum(x1 * x1) + EPSILON) * (sum(x2 *
/// x2) + EPSILON))` per row, then `where(target == 1, 1 - cos, 0) + where(target == -1,
/// clamp_min(cos - margin, 0), 0)` per pair, then reduced.
///
/// Shapes: `(N, D)` inputs with an `(N)` target, or `(D)` inputs with a 0-D target
/// (one pair, a 0-D `none` output); anything else is aten's `RuntimeError`. The inputs
/// broadcast with each other (a `(1, D)` input against `(N, D)`), and the target with
/// the cosines. A target other than `±1` costs nothing. The row sums run in `f64` and
/// are rounded once; the steps after them are in `F`, as in aten (so a zero row gives
/// `cos = 0`, and `f32` norms past `1.8e19` overflow as PyTorch's do).
///
/// ```
/// use lossparity_losses::{cosine_embedding_loss, CosineEmbeddingOptions, Reduction};
/// use ndarray::array;
///
/// let a = array![[1.0f64, 0.0], [1.0, 0.0], [3.0, 4.0]];
/// let b = array![[0.0f64, 1.0], [1.0, 1.0], [4.0, 3.0]];
/// let y = array![-1.0f64, -1.0, 1.0];
/// let opts = CosineEmbeddingOptions::default().reduction(Reduction::None);
/// let loss = cosine_embedding_loss(a.view(), b.view(), y.view(), &opts)?;
/// // torch 2.13: [0.0, 0.7071067811860171, 0.04000000000003834] (EPSILON shows)
/// assert_eq!(loss[1], 0.7071067811860171);
/// assert_eq!(loss[2], 0.04000000000003834);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn cosine_embedding_loss<F: Float, D: Dimension, E: Dimension, H: Dimension>(
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &CosineEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input1, input2, target) = (input1.into_dyn(), input2.into_dyn(), target.into_dyn());
    let p = cosine_plan(input1.shape(), input2.shape(), target.shape())?;
    let c = cosine_rows(&input1, &input2, &p)?;
    let t = row_major(&target);
    let (one, m) = (F::one(), F::of_f64(options.margin));
    let n: usize = p.out.iter().product();
    let losses: Vec<F> = (0..n)
        .map(|o| {
            let (cos, t) = (c.cos[bcast_index(p.rows, o)], t[bcast_index(p.targets, o)]);
            let pos = if t == one { one - cos } else { F::zero() };
            let neg = if t == -one {
                clamp_min0(cos - m)
            } else {
                F::zero()
            };
            pos + neg
        })
        .collect();
    // One loss per pair, each the result of a whole row: a plain ordered sum, from +0
    // (std's f64 `Sum` starts at -0, which would give an empty batch torch's 0 negated).
    let total = || losses.iter().fold(0.0f64, |s, v| s + v.to_f64_exact());
    reduced(options.reduction, &p.out, n, || losses.clone(), total)
}

/// Which input of `cosine_embedding_loss` a gradient is for.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Input1,
    Input2,
}

/// `out[j] = (dm * x[j] + dm * x[j]) + c * h[j]`: the two gradients of `x * x` and the
/// one of the product, in the order autograd adds them, in f64 and rounded once.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn grad_row<F: Float, H: Float>(x: &[F], h: &[H], dm: f64, c: f64, out: &mut [MaybeUninit<F>]) {
    let n = out.len();
    let (x, h) = (&x[..n], &h[..n]);
    for j in 0..n {
        let s = dm * x[j].to_f64_exact();
        out[j].write(F::of_f64((s + s) + c * h[j].to_f64_exact()));
    }
}

fn cosine_backward<F: Float>(
    grad_output: ArrayViewD<'_, F>,
    input1: ArrayViewD<'_, F>,
    input2: ArrayViewD<'_, F>,
    target: ArrayViewD<'_, F>,
    options: &CosineEmbeddingOptions,
    side: Side,
) -> Result<ArrayD<F>, LossError> {
    let p = cosine_plan(input1.shape(), input2.shape(), target.shape())?;
    let g = grad_source(&grad_output, options.reduction, &p.out)?;
    let c = cosine_rows(&input1, &input2, &p)?;
    let t = row_major(&target);
    let (zero, one, m) = (F::zero(), F::one(), F::of_f64(options.margin));
    // `where`'s backward per pair, summed back to the rows (a row read by several
    // pairs when the target broadcasts the cosines).
    let n: usize = p.out.iter().product();
    let (mut gpos, mut gneg) = (vec![zero; p.rows], vec![zero; p.rows]);
    for o in 0..n {
        let (r, t) = (bcast_index(p.rows, o), t[bcast_index(p.targets, o)]);
        let g = match &g {
            Grad::Each(gs) => gs[o],
            Grad::One(g) => *g,
        };
        let (pos, neg) = (
            if t == one { g } else { zero },
            if t == -one { g } else { zero },
        );
        if n == p.rows {
            // One pair per row: `where`'s values as they are (a `-0.0` stays one).
            (gpos[r], gneg[r]) = (pos, neg);
        } else {
            gpos[r] += pos;
            gneg[r] += neg;
        }
    }
    // Autograd's steps back from `cos = prod_sum / denom`: `1 - cos` negates,
    // `clamp_min` passes where `cos - margin >= 0` (decided on the f64 cosine: at the
    // kink a float32 cosine rounds either way, to 1.0 with a correctly rounded `sqrt`
    // where the exact one is 0.99999996, and libtorch's `sqrt` rounds as it likes);
    // `div` gives `g / denom` to the sum of products and
    // `-g * ((prod_sum / denom) / denom)` to `denom`; `sqrt` divides by `2 * denom`;
    // `mag1 * mag2` multiplies by the other factor. The steps run in f64 and each
    // gradient element is rounded once: near a zero input the two paths (the product's
    // and the norm's) are huge terms that cancel, and a float32 evaluation of them is
    // left with noise far past the tolerance, which libtorch's `sqrt` (not correctly
    // rounded) does not even share; in f64 the result is the exact one's.
    let at = |v: &[f64], r: usize| if v.len() == 1 { v[0] } else { v[r] };
    let mut dprod = vec![0.0f64; p.rows];
    let mut dsq = vec![0.0f64; p.rows];
    for r in 0..p.rows {
        let denom = (at(&c.mag1_wide, r) * at(&c.mag2_wide, r)).sqrt();
        let cos = c.prod_wide[r] / denom;
        let through = if cos - m.to_f64_exact() >= 0.0 {
            gneg[r]
        } else {
            zero
        };
        let gcos = -gpos[r].to_f64_exact() + through.to_f64_exact();
        dprod[r] = gcos / denom;
        let ddenom = -gcos * (cos / denom);
        dsq[r] = ddenom / (denom + denom);
    }
    let (own_rows, other_mag, own_shape) = match side {
        Side::Input1 => (p.rows1, &c.mag2_wide, input1.shape()),
        Side::Input2 => (p.rows2, &c.mag1_wide, input2.shape()),
    };
    // The norm's gradient per row of this input: summed over the broadcast rows.
    let dmag: Vec<f64> = if own_rows == p.rows {
        (0..p.rows).map(|r| dsq[r] * at(other_mag, r)).collect()
    } else {
        vec![(0..p.rows).fold(0.0, |s, r| s + dsq[r] * at(other_mag, r))]
    };
    let (own, other) = match side {
        Side::Input1 => (&c.x1, &c.x2),
        Side::Input2 => (&c.x2, &c.x1),
    };
    let cols = p.cols;
    if own_shape == p.product.as_slice() {
        // No broadcasting of this input: one pass over its rows.
        let values = filled_rows(p.rows, cols, |r, out| {
            let span = r * cols..(r + 1) * cols;
            grad_row(&own[span.clone()], &other[span], dmag[r], dprod[r], out)
        });
        return shaped(own_shape, values);
    }
    // Broadcast: the product's gradient summed back to this input's shape first (as
    // autograd does before accumulating), then the norm's gradient added.
    let h: Vec<f64> = (0..p.rows * cols)
        .map(|i| dprod[i / cols.max(1)] * other[i].to_f64_exact())
        .collect();
    let h = sum_to_wide::<f64>(h, &p.product, own_shape)?;
    let h = row_major(&h.view()).into_owned();
    let x = match side {
        Side::Input1 => row_major(&input1),
        Side::Input2 => row_major(&input2),
    };
    let len = x.len().checked_div(own_rows).unwrap_or(0);
    let values = filled_rows(own_rows, len, |r, out| {
        let span = r * len..(r + 1) * len;
        grad_row(&x[span.clone()], &h[span], dmag[r], 1.0, out)
    });
    shaped(own_shape, values)
}

/// A vector of `rows * len` elements whose row `r` `fill(r, row)` writes entirely (in
/// parallel on large inputs).
fn filled_rows<F: Float>(
    rows: usize,
    len: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<F>]) + Sync,
) -> Vec<F> {
    // SAFETY: the rows cover the vector, and `fill` (every caller passes `grad_row`,
    // which writes all of its output) writes each of them.
    unsafe {
        written_vec(rows * len, |out| {
            if len == 0 {
                return;
            }
            if rows > 1 && rows * len > CHUNK {
                out.par_chunks_mut(len)
                    .enumerate()
                    .for_each(|(r, o)| fill(r, o));
            } else {
                out.chunks_mut(len)
                    .enumerate()
                    .for_each(|(r, o)| fill(r, o));
            }
        })
    }
}

/// The gradient of `sum(cosine_embedding_loss(input1, input2, target) * grad_output)`
/// with respect to `input1`, as autograd differentiates aten's composition: per element
/// `2 * (dmag1 * x1) + dprod * x2`, with `dprod = gcos / denom` and `dmag1 = -gcos *
/// (cos / denom) / (2 * denom) * mag2` per row, `gcos` the loss's gradient with respect
/// to the cosine (`-g` for `target == 1`; `g` for `target == -1` where `cos - margin >=
/// 0`, the kink included; 0 otherwise). Summed back over what broadcasting added.
///
/// The steps run in `f64` from the inputs and each element is rounded once to the
/// input's type, and the kink is decided on the `f64` cosine: where the two terms cancel
/// (parallel inputs, the loss at its minimum; an input next to zero) PyTorch's float32
/// result is rounding noise, this one the exact value's rounding. A float64 input
/// follows autograd's steps in its own type.
///
/// ```
/// use lossparity_losses::{cosine_embedding_loss_backward, CosineEmbeddingOptions, Reduction};
/// use ndarray::{arr1, array};
///
/// let a = array![[1.0f64, 0.0], [1.0, 0.0]];
/// let b = array![[0.0f64, 1.0], [1.0, 1.0]];
/// let y = array![-1.0f64, -1.0];
/// let opts = CosineEmbeddingOptions::default().reduction(Reduction::None);
/// let g = cosine_embedding_loss_backward(arr1(&[1.0, 1.0]).view(), a.view(), b.view(),
///                                        y.view(), &opts)?;
/// // torch 2.13: [[0.0, 0.9999999999989999], [7.072120666862247e-13, 0.7071067811860171]]
/// assert_eq!(g[[0, 1]], 0.9999999999989999);
/// assert!((g[[1, 0]] - 7.072120666862247e-13).abs() < 1e-20);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn cosine_embedding_loss_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &CosineEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    cosine_backward(
        grad_output.into_dyn(),
        input1.into_dyn(),
        input2.into_dyn(),
        target.into_dyn(),
        options,
        Side::Input1,
    )
}

/// The gradient of `sum(cosine_embedding_loss(input1, input2, target) * grad_output)`
/// with respect to `input2`: [`cosine_embedding_loss_backward`]'s formula with the
/// inputs' roles exchanged.
///
/// ```
/// use lossparity_losses::{cosine_embedding_loss_input2_backward, CosineEmbeddingOptions};
/// use ndarray::{arr0, array};
///
/// let a = array![[1.0f64, 0.0]];
/// let b = array![[0.0f64, 1.0]];
/// let y = array![-1.0f64];
/// let g = cosine_embedding_loss_input2_backward(arr0(1.0).view(), a.view(), b.view(),
///                                               y.view(), &CosineEmbeddingOptions::default())?;
/// // torch 2.13: [[0.9999999999989999, 0.0]]
/// assert_eq!(g[[0, 0]], 0.9999999999989999);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn cosine_embedding_loss_input2_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &CosineEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    cosine_backward(
        grad_output.into_dyn(),
        input1.into_dyn(),
        input2.into_dyn(),
        target.into_dyn(),
        options,
        Side::Input2,
    )
}

/// PyTorch gives the target of `cosine_embedding_loss` no gradient (it is only
/// compared with 1 and -1): `torch.autograd.grad(loss, target)` raises "The
/// differentiated Tensor at index 0 appears to not have been used in the graph. ...".
/// This function returns that error, after the forward's shape checks and the
/// `grad_output` check; it never returns a value.
///
/// ```
/// use lossparity_losses::{cosine_embedding_loss_target_backward, CosineEmbeddingOptions};
/// use ndarray::{arr0, array};
///
/// let (a, b, y) = (array![[1.0f64, 0.0]], array![[0.0f64, 1.0]], array![1.0f64]);
/// let err = cosine_embedding_loss_target_backward(arr0(1.0).view(), a.view(), b.view(),
///                                                 y.view(), &CosineEmbeddingOptions::default())
///     .unwrap_err();
/// assert!(err.message().contains("appears to not have been used in the graph"));
/// ```
pub fn cosine_embedding_loss_target_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input1: ArrayView<'_, F, D>,
    input2: ArrayView<'_, F, E>,
    target: ArrayView<'_, F, H>,
    options: &CosineEmbeddingOptions,
) -> Result<ArrayD<F>, LossError> {
    let p = cosine_plan(input1.shape(), input2.shape(), target.shape())?;
    let out: &[usize] = match options.reduction {
        Reduction::None => &p.out,
        _ => &[],
    };
    check_grad_shape(grad_output.shape(), out)?;
    Err(unused_target(COSINE))
}
