//! The binary losses: `binary_cross_entropy` (on probabilities),
//! `binary_cross_entropy_with_logits` (on scores), `soft_margin_loss` and
//! `multilabel_soft_margin_loss`, forward and every gradient PyTorch 2.13's autograd
//! gives, with its errors (and its refusals to differentiate some arguments).
//!
//! Element values follow libtorch's CPU formulas operation by operation, each rounded
//! to the tensor's type where libtorch rounds it. With basic arithmetic and libm's
//! `log`/`log1p` (`binary_cross_entropy`, its input gradient) they are PyTorch's bits.
//! Where libtorch calls its vectorised `exp`/`log`/`log1p` (SLEEF, within one ulp),
//! ours are vectorised too: in `f32` arithmetic for `f32` (each within one ulp of the
//! correctly rounded value), from `f64` kernels for `f64`; an element then differs
//! from PyTorch's by at most a few ulps (on 100,000 `f32` elements: 85% to 99.7% of
//! them bit-identical depending on the op, two ulps at most, more only where two terms
//! cancel). Sums run over fixed chunks and lanes (see [`super::elementwise`]): results
//! do not depend on the thread count, and agree with libtorch's within the tolerance
//! policy (`Float::ATOL`, `Float::RTOL`).

use std::borrow::Cow;
use std::mem::MaybeUninit;

use multiversion::multiversion;
use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::elementwise::{CHUNK, broadcast_shape, expanded, fold_lanes, sum_chunks, sum_to};
use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{LANES, exp_nonpositive_f64, ln_at_least_one_f64, written_vec};
use super::nll::internal;
use super::options::{Reduction, row_major};
use super::softmax::check_grad_shape;

// ---------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------

/// Options of [`binary_cross_entropy`] and its gradients, as PyTorch's keyword
/// arguments.
#[derive(Debug, Clone, Default)]
pub struct BinaryCrossEntropyOptions<'a, F> {
    /// How the element losses are combined; `mean` by default. `mean` divides by the
    /// number of elements, with or without a weight.
    pub reduction: Reduction,
    /// A rescaling weight, broadcast to the target's shape (`torch.broadcast_shapes`),
    /// which must then be the input's: it may have fewer dimensions or sizes of 1, never
    /// enlarge the loss.
    pub weight: Option<ArrayViewD<'a, F>>,
}

impl<'a, F> BinaryCrossEntropyOptions<'a, F> {
    /// The given reduction (the weight, if any, is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// A rescaling weight, broadcastable to the input's shape.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }
}

/// Options of [`binary_cross_entropy_with_logits`] and its gradients.
#[derive(Debug, Clone, Default)]
pub struct BceWithLogitsOptions<'a, F> {
    /// How the element losses are combined; `mean` by default (divides by the number
    /// of elements, with or without weights).
    pub reduction: Reduction,
    /// A rescaling weight, broadcastable to the input's shape (in place: it cannot
    /// enlarge the loss).
    pub weight: Option<ArrayViewD<'a, F>>,
    /// A weight of the positive term, broadcastable to the input's shape: `(C)` for an
    /// `(N, C)` input gives one weight per class (the last dimension).
    pub pos_weight: Option<ArrayViewD<'a, F>>,
}

impl<'a, F> BceWithLogitsOptions<'a, F> {
    /// The given reduction (the weights, if any, are kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// A rescaling weight, broadcastable to the input's shape.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }

    /// A weight of the positive examples, broadcastable to the input's shape (`(C)`:
    /// one per class of an `(N, C)` input).
    pub fn pos_weight<D: Dimension>(mut self, pos_weight: ArrayView<'a, F, D>) -> Self {
        self.pos_weight = Some(pos_weight.into_dyn());
        self
    }
}

/// Options of [`soft_margin_loss`] and its gradients: only the reduction (a struct
/// all the same, so that every loss of this module is called as `(input, target,
/// &options)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoftMarginOptions {
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl SoftMarginOptions {
    /// The given reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

/// Options of [`multilabel_soft_margin_loss`] and its gradients.
#[derive(Debug, Clone, Default)]
pub struct MultilabelSoftMarginOptions<'a, F> {
    /// How the per-sample losses are combined; `mean` by default.
    pub reduction: Reduction,
    /// A weight multiplied into the element losses before the mean over classes, with
    /// ordinary broadcasting (`(C)`: one weight per class).
    pub weight: Option<ArrayViewD<'a, F>>,
}

impl<'a, F> MultilabelSoftMarginOptions<'a, F> {
    /// The given reduction (the weight, if any, is kept).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// A weight broadcastable against the input (`(C)`: one per class).
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }
}

// ---------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------

/// Python's `repr` of a `torch.Size`.
fn torch_size(shape: &[usize]) -> String {
    format!("torch.Size({})", shape_str(shape))
}

/// Autograd's refusal, raised by the forward as soon as the argument requires grad.
fn refusal(op: &str, argument: &str, hint: &str) -> LossError {
    LossError::runtime(
        format!(
            "The function '{op}' is not differentiable with respect to argument '{argument}'. \
             This input cannot have requires_grad True."
        ),
        hint,
    )
}

/// TensorIterator's broadcast error (`a` and `b` in the op's operand order), with our
/// hint.
fn broadcast_ab(
    a: &[usize],
    b: &[usize],
    hint: impl FnOnce() -> String,
) -> Result<Vec<usize>, LossError> {
    broadcast_shape(a, b).map_err(|e| LossError::runtime(e.message(), hint()))
}

/// An in-place op's error when broadcasting would enlarge its output.
fn in_place_error(output: &[usize], broadcast: &[usize], hint: String) -> LossError {
    LossError::runtime(
        format!(
            "output with shape {} doesn't match the broadcast shape {}",
            shape_str(output),
            shape_str(broadcast)
        ),
        hint,
    )
}

/// `torch.broadcast_shapes(first, second)` as torch's Python reference computes it,
/// with its error: dimensions walked from the last, the common shape built up as it
/// goes (so the message shows it half built).
fn python_broadcast_shapes(first: &[usize], second: &[usize]) -> Result<Vec<usize>, LossError> {
    let n = first.len().max(second.len());
    let mut common = vec![1usize; n];
    for (arg, shape) in [first, second].into_iter().enumerate() {
        for back in 1..=shape.len() {
            let size = shape[shape.len() - back];
            let slot = &mut common[n - back];
            if size == *slot {
                continue;
            }
            if *slot == 1 {
                *slot = size;
            }
            if size == 1 {
                continue;
            }
            if *slot != size {
                return Err(LossError::runtime(
                    format!(
                        "Attempting to broadcast a dimension of length {size} at -{back}! \
                         Mismatching argument at index {arg} had {}; but expected shape \
                         should be broadcastable to {}",
                        torch_size(shape),
                        shape_str(&common)
                    ),
                    format!(
                        "the weight {} cannot broadcast to the target's shape {}: aligned \
                         from the last dimension, its sizes must be 1 or the target's",
                        shape_str(second),
                        shape_str(first)
                    ),
                ));
            }
        }
    }
    Ok(common)
}

// ---------------------------------------------------------------------------------
// Element functions: libtorch's roundings, transcendental steps in f64
// ---------------------------------------------------------------------------------

/// Whether `F` is `f32` (a constant once monomorphised): its transcendental steps then
/// run in `f32` arithmetic, twice as many lanes per vector as in `f64`.
#[inline(always)]
fn is_f32<F: Float>() -> bool {
    std::mem::size_of::<F>() == 4
}

/// `exp(a)` for any `a` (NaN gives NaN, `+inf` past the largest finite value, 0 below
/// the least subnormal), rounded to `F`. `f32`: [`exp_f32`]; `f64`: `exp(-|a|)`
/// (within 2 ulp), inverted for a positive `a`.
#[inline(always)]
fn exp_of<F: Float>(a: F) -> F {
    if is_f32::<F>() {
        return F::of_f64(f64::from(exp_f32(a.to_f64_exact() as f32)));
    }
    let a = a.to_f64_exact();
    let e = exp_nonpositive_f64(-a.abs());
    F::of_f64(if a > 0.0 { 1.0 / e } else { e })
}

/// `exp(-|x|)`, rounded to `F`: log_sigmoid's buffer.
#[inline(always)]
fn exp_neg_abs<F: Float>(x: F) -> F {
    if is_f32::<F>() {
        return F::of_f64(f64::from(exp_f32(-(x.to_f64_exact() as f32).abs())));
    }
    F::of_f64(exp_nonpositive_f64(-x.to_f64_exact().abs()))
}

/// `log1p(z)` for `z >= 0`, `+inf` or NaN, rounded to `F`. `f32`: [`log1p_f32`];
/// `f64`: `ln(1 + z) * z / ((1 + z) - 1)`, the quotient correcting the rounding of
/// `1 + z`.
#[inline(always)]
fn log1p_of<F: Float>(z: F) -> F {
    if is_f32::<F>() {
        return F::of_f64(f64::from(log1p_f32(z.to_f64_exact() as f32)));
    }
    let z = z.to_f64_exact();
    let u = 1.0 + z;
    let d = u - 1.0;
    let l = ln_at_least_one_f64(u);
    let v = if d == 0.0 { z } else { l * (z / d) };
    F::of_f64(if z == f64::INFINITY { z } else { v })
}

/// `exp(a)` in `f32` arithmetic, branch-free (loops over it vectorise), within about
/// one ulp: `a = n ln2 + r` (Cody-Waite, with fused multiply-adds), Taylor's degree 7
/// for `exp(r)` on `|r| <= ln2 / 2` (truncation 5.5e-9, a tenth of an ulp), scaled by
/// `2^n` in two exact steps so that a subnormal result is rounded once. Arguments are
/// clamped to `[-104, 89]`, outside of which the result rounds to 0 or overflows;
/// NaN stays NaN.
#[inline(always)]
pub(crate) fn exp_f32(a: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split: the f32 nearest, and the rest.
    const LN2_HI: f32 = std::f32::consts::LN_2;
    const LN2_LO: f32 = -1.904_654_2e-9;
    // 1.5 * 2^23: adding it rounds to an integer, held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    // `clamp` keeps a NaN.
    let a = a.clamp(-104.0, 89.0);
    let t = a.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, a));
    let mut p: f32 = 1.0 / 5040.0;
    for c in [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p.mul_add(r, c);
    }
    // n in [-151, 129]: 2^n as 2^h * 2^(n - h), each a normal number.
    let k = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let h = k >> 1;
    let s1 = f32::from_bits(((h + 127) as u32) << 23);
    let s2 = f32::from_bits(((k - h + 127) as u32) << 23);
    p * s1 * s2
}

/// `ln(u)` in `f32` arithmetic for `u >= 1` finite, branch-free, within about one ulp:
/// `u = 2^e m`, `m` in `[sqrt(1/2), sqrt(2))`, `f = m - 1`, `s = f / (2 + f)`,
/// `ln(m) = f - (f^2/2 - s (f^2/2 + R(s^2)))` with four terms of
/// `R(z) = sum 2 z^k / (2k + 1)` (`|s| < 0.172`: truncation 2e-9 relative), and
/// `e ln2` in two parts.
#[inline(always)]
pub(crate) fn ln_f32(u: f32) -> f32 {
    const MANTISSA: u32 = (1 << 23) - 1;
    const ONE: u32 = 127 << 23;
    const LN2_HI: f32 = 0.693_138_1;
    const LN2_LO: f32 = 9.058_001e-6;
    let bits = u.to_bits();
    let m = f32::from_bits((bits & MANTISSA) | ONE);
    let e = ((bits >> 23) as i32 - 127) as f32;
    let big = m >= std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = if big { e + 1.0 } else { e };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let r = z * z.mul_add(
        z.mul_add(z.mul_add(2.0 / 9.0, 2.0 / 7.0), 2.0 / 5.0),
        2.0 / 3.0,
    );
    let hf = 0.5 * f * f;
    let ln_m = f - (hf - s * (hf + r));
    e.mul_add(LN2_HI, e.mul_add(LN2_LO, ln_m))
}

/// `log1p(z)` in `f32` arithmetic for `z >= 0`, `+inf` or NaN, within about one ulp:
/// `ln(1 + z)` plus the exact rounding error of `1 + z` divided by `1 + z` (so a `z`
/// too small to change `1 + z` gives `z` itself).
#[inline(always)]
pub(crate) fn log1p_f32(z: f32) -> f32 {
    let u = 1.0 + z;
    let correction = (z - (u - 1.0)) / u;
    let v = ln_f32(u) + correction;
    if z == f32::INFINITY || z.is_nan() {
        z
    } else {
        v
    }
}

/// `std::max(v, -100)`, the clamp of binary_cross_entropy's logs.
#[inline(always)]
fn clamp_log<F: Float>(v: F) -> F {
    let floor = F::of_f64(-100.0);
    if v < floor { floor } else { v }
}

/// `std::min(x, 0)`-like: log_sigmoid's `minimum(x, 0)` (NaN stays NaN).
#[inline(always)]
fn min0<F: Float>(x: F) -> F {
    if x > F::zero() { F::zero() } else { x }
}

/// The element loss of `binary_cross_entropy`, as libtorch's CPU kernel:
/// `(t - 1) * max(log1p(-x), -100) - t * max(log(x), -100)`, for `x` and `t` in
/// `[0, 1]`. A log multiplied by a zero factor (a hard label) only gives the product's
/// sign: it is replaced by a value of the same sign (`-x` for `log1p(-x)`, `x - 1` for
/// `log(x)`), which saves the libm call and keeps the bits (see [`bce_element_full`]).
#[inline(always)]
pub(crate) fn bce_element<F: Float>(x: F, t: F) -> F {
    let one = F::one();
    let log_not_x = if t == one {
        -x
    } else {
        clamp_log((-x).ln_1p())
    };
    let log_x = if t == F::zero() {
        x - one
    } else {
        clamp_log(x.ln())
    };
    (t - one) * log_not_x - t * log_x
}

/// libtorch's formula for [`bce_element`] as it is written, both logs computed.
#[cfg(test)]
pub(crate) fn bce_element_full<F: Float>(x: F, t: F) -> F {
    (t - F::one()) * clamp_log((-x).ln_1p()) - t * clamp_log(x.ln())
}

/// libtorch's `EPSILON` of the BCE backward: `1e-12` as a C++ `float`, in `F`.
fn bce_epsilon<F: Float>() -> F {
    F::of_f64(f64::from(1e-12f32))
}

/// Whether `v` is in `[0, 1]` (false for NaN).
#[inline(always)]
fn in_unit<F: Float>(v: F) -> bool {
    v >= F::zero() && v <= F::one()
}

// ---------------------------------------------------------------------------------
// Slice drivers: one pass, vectorised, parallel by chunks
// ---------------------------------------------------------------------------------

/// Up to five row-major operands of one length (unused slots repeat another operand;
/// the element function ignores them).
type Srcs<'a, F> = [&'a [F]; 5];

fn sub<'a, F>(s: &Srcs<'a, F>, lo: usize, hi: usize) -> Srcs<'a, F> {
    [
        &s[0][lo..hi],
        &s[1][lo..hi],
        &s[2][lo..hi],
        &s[3][lo..hi],
        &s[4][lo..hi],
    ]
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn fill_block<F: Float, K: Fn([F; 5]) -> F>(out: &mut [MaybeUninit<F>], s: Srcs<'_, F>, k: &K) {
    let n = out.len();
    let (a, b, c, d, e) = (&s[0][..n], &s[1][..n], &s[2][..n], &s[3][..n], &s[4][..n]);
    for i in 0..n {
        out[i].write(k([a[i], b[i], c[i], d[i], e[i]]));
    }
}

/// `k` of every element, in parallel by chunks on large inputs.
fn map5<F: Float>(s: Srcs<'_, F>, k: impl Fn([F; 5]) -> F + Sync) -> Vec<F> {
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

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn block_sum<F: Float, K: Fn([F; 5]) -> F>(s: Srcs<'_, F>, k: &K) -> F {
    let mut acc = [F::zero(); LANES];
    let mut it = s.map(|v| v.chunks_exact(LANES));
    let n = s[0].len() / LANES;
    for _ in 0..n {
        let (Some(a), Some(b), Some(c), Some(d), Some(e)) = (
            it[0].next(),
            it[1].next(),
            it[2].next(),
            it[3].next(),
            it[4].next(),
        ) else {
            break;
        };
        for j in 0..LANES {
            acc[j] += k([a[j], b[j], c[j], d[j], e[j]]);
        }
    }
    let r = it.map(|c| c.remainder());
    for j in 0..r[0].len() {
        acc[j] += k([r[0][j], r[1][j], r[2][j], r[3][j], r[4][j]]);
    }
    fold_lanes(acc)
}

/// The sum of `k` over the elements: `LANES` interleaved partial sums per chunk,
/// folded pairwise, the chunks' sums added in order (on several threads for large
/// inputs, the same bits on any number).
fn sum5<F: Float>(s: Srcs<'_, F>, k: impl Fn([F; 5]) -> F + Sync) -> F {
    let n = s[0].len();
    sum_chunks(n, |c| {
        let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
        block_sum(sub(&s, lo, hi), &k)
    })
}

/// Each row's value repeated `len` times: a per-element source for the kernels.
fn repeat_rows<F: Float>(row_values: &[F], len: usize) -> Vec<F> {
    let mut out = vec![F::zero(); row_values.len() * len];
    if len > 0 {
        out.chunks_exact_mut(len)
            .zip(row_values)
            .for_each(|(o, &g)| o.fill(g));
    }
    out
}

/// Dispatches runtime flags to a function's `const bool` parameters (a flag tested
/// inside an element loop keeps it from vectorising).
macro_rules! dispatch {
    ($f:ident($($arg:expr),* $(,)?); $a:expr) => {
        if $a { $f::<_, true>($($arg),*) } else { $f::<_, false>($($arg),*) }
    };
    ($f:ident($($arg:expr),* $(,)?); $a:expr, $b:expr) => {
        match ($a, $b) {
            (false, false) => $f::<_, false, false>($($arg),*),
            (false, true) => $f::<_, false, true>($($arg),*),
            (true, false) => $f::<_, true, false>($($arg),*),
            (true, true) => $f::<_, true, true>($($arg),*),
        }
    };
    ($f:ident($($arg:expr),* $(,)?); $a:expr, $b:expr, $c:expr) => {
        match ($a, $b, $c) {
            (false, false, false) => $f::<_, false, false, false>($($arg),*),
            (false, false, true) => $f::<_, false, false, true>($($arg),*),
            (false, true, false) => $f::<_, false, true, false>($($arg),*),
            (false, true, true) => $f::<_, false, true, true>($($arg),*),
            (true, false, false) => $f::<_, true, false, false>($($arg),*),
            (true, false, true) => $f::<_, true, false, true>($($arg),*),
            (true, true, false) => $f::<_, true, true, false>($($arg),*),
            (true, true, true) => $f::<_, true, true, true>($($arg),*),
        }
    };
}

// ---------------------------------------------------------------------------------
// Shared plumbing
// ---------------------------------------------------------------------------------

fn scalar<F: Float>(v: F) -> ArrayD<F> {
    ArrayD::from_elem(IxDyn(&[]), v)
}

fn shaped<F: Float>(shape: &[usize], values: Vec<F>) -> Result<ArrayD<F>, LossError> {
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(internal)
}

/// The forward's output shape under a reduction.
fn output_shape(reduction: Reduction, none_shape: &[usize]) -> Vec<usize> {
    match reduction {
        Reduction::None => none_shape.to_vec(),
        _ => vec![],
    }
}

/// What backward multiplies each element by: `grad_output`'s element (`none`) or its
/// one value (`mean`, `sum`).
enum Grad<'a, F: Clone> {
    Each(Cow<'a, [F]>),
    One(F),
}

/// `grad_output` checked against the forward's output shape.
fn grad_source<'a, F: Float>(
    grad_output: &'a ArrayViewD<'_, F>,
    reduction: Reduction,
    none_shape: &[usize],
) -> Result<Grad<'a, F>, LossError> {
    let shape = output_shape(reduction, none_shape);
    check_grad_shape(grad_output.shape(), &shape)?;
    Ok(match reduction {
        Reduction::None => Grad::Each(row_major(grad_output)),
        _ => Grad::One(grad_output.iter().next().copied().unwrap_or_else(F::zero)),
    })
}

/// `k(g, elements)` over the elements, `g` the element's `grad_output`.
fn map_grad<F: Float>(g: &Grad<'_, F>, s: [&[F]; 4], k: impl Fn(F, [F; 4]) -> F + Sync) -> Vec<F> {
    match g {
        Grad::Each(gs) => map5([s[0], s[1], s[2], s[3], gs], |v| {
            k(v[4], [v[0], v[1], v[2], v[3]])
        }),
        Grad::One(g) => {
            let g = *g;
            map5([s[0], s[1], s[2], s[3], s[0]], |v| {
                k(g, [v[0], v[1], v[2], v[3]])
            })
        }
    }
}

/// The element losses reduced: as they are (`none`, of `shape`), summed, or summed and
/// divided by their count (NaN for none).
fn reduce<F: Float>(
    reduction: Reduction,
    shape: &[usize],
    s: [&[F]; 4],
    k: impl Fn([F; 4]) -> F + Sync,
) -> Result<ArrayD<F>, LossError> {
    let s5 = [s[0], s[1], s[2], s[3], s[0]];
    let e = |v: [F; 5]| k([v[0], v[1], v[2], v[3]]);
    Ok(match reduction {
        Reduction::None => shaped(shape, map5(s5, e))?,
        Reduction::Sum => scalar(sum5(s5, e)),
        Reduction::Mean => {
            let n = F::of_f64(s[0].len() as f64);
            scalar(sum5(s5, e) / n)
        }
    })
}

/// `sum(weight)`-free mean divisor: the element count, as `F` (`mean` backward divides
/// by it).
fn count<F: Float>(n: usize) -> F {
    F::of_f64(n as f64)
}

// ---------------------------------------------------------------------------------
// binary_cross_entropy
// ---------------------------------------------------------------------------------

const BCE: &str = "binary_cross_entropy";

/// The checks of `F.binary_cross_entropy` in Python, before aten: the target's size,
/// then `torch.broadcast_shapes(target, weight)`. Returns the weight's broadcast shape.
fn bce_python_checks(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Option<Vec<usize>>, LossError> {
    if target != input {
        let hint = if input.len() == target.len() + 1 && input.last() == Some(&1) {
            format!(
                "binary_cross_entropy does not broadcast: the input {} has a trailing \
                 dimension of 1 the target {} lacks; squeeze the input (input.squeeze(-1)) \
                 or give the target that dimension",
                shape_str(input),
                shape_str(target)
            )
        } else {
            format!(
                "binary_cross_entropy needs one target per input element: give the target \
                 the input's shape {} (it has {})",
                shape_str(input),
                shape_str(target)
            )
        };
        return Err(LossError::value(
            format!(
                "Using a target size ({}) that is different to the input size ({}) is \
                 deprecated. Please ensure they have the same size.",
                torch_size(target),
                torch_size(input)
            ),
            hint,
        ));
    }
    weight
        .map(|w| python_broadcast_shapes(target, w))
        .transpose()
}

/// aten's `loss.mul_(weight)`: the broadcast weight must not enlarge the loss.
fn bce_weight_in_place(input: &[usize], weight_shape: Option<&[usize]>) -> Result<(), LossError> {
    match weight_shape {
        Some(w) if w != input => Err(in_place_error(
            input,
            w,
            format!(
                "the weight broadcasts to {}, larger than the input {}: the weight may only \
                 repeat along the input's dimensions (sizes 1 or the input's), not add new ones",
                shape_str(w),
                shape_str(input)
            ),
        )),
        _ => Ok(()),
    }
}

/// Every shape check of `binary_cross_entropy`, in PyTorch's order; the element
/// loss's shape (the input's).
#[cfg_attr(
    not(any(test, feature = "unstable-public-internals")),
    allow(dead_code)
)]
pub(crate) fn bce_check(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    let w = bce_python_checks(input, target, weight)?;
    bce_weight_in_place(input, w.as_deref())?;
    Ok(input.to_vec())
}

/// aten's value checks, element by element in row-major order: the input's element
/// first, then the target's.
fn check_probabilities<F: Float>(x: &[F], t: &[F]) -> Result<(), LossError> {
    let chunk_in = |c: &[F]| c.iter().fold(true, |ok, &e| ok & in_unit(e));
    let all_in = |v: &[F]| {
        if v.len() > CHUNK {
            v.par_chunks(CHUNK).all(chunk_in)
        } else {
            chunk_in(v)
        }
    };
    if all_in(x) && all_in(t) {
        return Ok(());
    }
    for (&a, &b) in x.iter().zip(t) {
        if !in_unit(a) {
            return Err(LossError::runtime(
                "all elements of input should be between 0 and 1",
                if a.is_nan() {
                    "the input holds a NaN; binary_cross_entropy takes probabilities (e.g. \
                     the output of a sigmoid), and NaN is not one"
                } else {
                    "binary_cross_entropy takes probabilities in [0, 1]; for raw scores \
                     (logits) use binary_cross_entropy_with_logits, or apply a sigmoid first"
                },
            ));
        }
        if !in_unit(b) {
            return Err(LossError::runtime(
                "all elements of target should be between 0 and 1",
                "binary_cross_entropy's targets are probabilities in [0, 1]; labels in \
                 {-1, 1} must be mapped to {0, 1} first ((y + 1) / 2)",
            ));
        }
    }
    Err(internal("a value out of [0, 1] was not found again"))
}

/// The operands of a `binary_cross_entropy` call after every check.
struct BceParts<'a, F: Clone> {
    x: Cow<'a, [F]>,
    t: Cow<'a, [F]>,
    w: Option<Cow<'a, [F]>>,
}

fn bce_prepare<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    weight: Option<&'a ArrayViewD<'_, F>>,
) -> Result<BceParts<'a, F>, LossError> {
    let w_shape = bce_python_checks(input.shape(), target.shape(), weight.map(|w| w.shape()))?;
    let (x, t) = (row_major(input), row_major(target));
    check_probabilities(&x, &t)?;
    bce_weight_in_place(input.shape(), w_shape.as_deref())?;
    let w = weight.map(|w| expanded(w, input.shape())).transpose()?;
    Ok(BceParts { x, t, w })
}

/// Binary cross entropy between probabilities and targets, as
/// `torch.nn.functional.binary_cross_entropy(input, target, weight=..., reduction=...)`.
///
/// `input` holds probabilities and `target` values, both in `[0, 1]`, of one shape (any,
/// 0-D and empty included). The element loss is libtorch's
/// `(t - 1) * max(log1p(-x), -100) - t * max(log(x), -100)`, times the weight: the logs
/// are clamped at -100, so `x = 0` or `1` gives a finite loss (100 at worst). `mean`
/// divides the sum by the number of elements (NaN when there are none), with or without
/// a weight.
///
/// Element values are PyTorch's bits (the same libm `log`/`log1p`); `mean` and `sum`
/// agree within the tolerance policy.
///
/// Errors, in PyTorch's order: a target of another shape (`ValueError`, no
/// broadcasting), a weight that does not broadcast to the target
/// (`torch.broadcast_shapes`'s `RuntimeError`), an input element outside `[0, 1]` or
/// NaN, then a target element outside `[0, 1]` (`RuntimeError`, whichever comes first in
/// row-major order), then a weight that would enlarge the loss.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy, BinaryCrossEntropyOptions};
/// use ndarray::array;
///
/// let p = array![0.9f64, 0.2, 0.6];
/// let y = array![1.0f64, 0.0, 1.0];
/// let loss = binary_cross_entropy(p.view(), y.view(), &BinaryCrossEntropyOptions::default())?;
/// // torch 2.13: F.binary_cross_entropy(p, y) = 0.2797765635793423
/// assert!((loss.sum() - 0.2797765635793423).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn binary_cross_entropy<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BinaryCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let p = bce_prepare(&input, &target, options.weight.as_ref())?;
    let (x, t) = (&p.x[..], &p.t[..]);
    match &p.w {
        None => reduce(options.reduction, input.shape(), [x, t, x, x], |v| {
            bce_element(v[0], v[1])
        }),
        Some(w) => reduce(options.reduction, input.shape(), [x, t, w, x], |v| {
            bce_element(v[0], v[1]) * v[2]
        }),
    }
}

/// The gradient of `sum(binary_cross_entropy(input, target) * grad_output)` with
/// respect to the input, as PyTorch's autograd gives it: libtorch's
/// `g * (x - t) / max((1 - x) * x, 1e-12)`, times the weight, divided by the element
/// count for `mean` (`1e-12` is a C++ `float`, also for `f64`). At `x = 0` or `1` with
/// a target of the other value the gradient is about `±1e12`, not infinite; with the
/// same value it is 0. PyTorch's bits element by element.
///
/// `grad_output` has the forward's output shape (`()` for `mean`/`sum`, the input's for
/// `none`), else autograd's "Mismatch in shape" error; the forward's checks come first.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_backward, BinaryCrossEntropyOptions};
/// use ndarray::{arr0, array};
///
/// let p = array![0.9f64, 0.2, 0.6];
/// let y = array![1.0f64, 0.0, 1.0];
/// let g = binary_cross_entropy_backward(arr0(1.0).view(), p.view(), y.view(),
///                                       &BinaryCrossEntropyOptions::default())?;
/// // torch 2.13: [-0.3703703703703704, 0.4166666666666666, -0.5555555555555556]
/// assert_eq!(g[1], 0.4166666666666666);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn binary_cross_entropy_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BinaryCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = bce_prepare(&input, &target, options.weight.as_ref())?;
    let g = grad_source(&grad_output, options.reduction, input.shape())?;
    let (x, t) = (&p.x[..], &p.t[..]);
    let mean = options.reduction == Reduction::Mean;
    let w = p.w.as_deref().unwrap_or(x);
    let values = dispatch!(bce_input_grad(&g, x, t, w); p.w.is_some(), mean);
    shaped(input.shape(), values)
}

/// [`binary_cross_entropy_backward`]'s elements, with (`W`) or without a weight, for
/// `mean` (`M`) or not.
fn bce_input_grad<F: Float, const W: bool, const M: bool>(
    g: &Grad<'_, F>,
    x: &[F],
    t: &[F],
    w: &[F],
) -> Vec<F> {
    let eps = bce_epsilon::<F>();
    let n = count::<F>(x.len());
    map_grad(g, [x, t, w, x], |g, v| {
        let (x, t) = (v[0], v[1]);
        let d = (F::one() - x) * x;
        let r = g * (x - t) / if d < eps { eps } else { d };
        let r = if W { r * v[2] } else { r };
        if M { r / n } else { r }
    })
}

/// The gradient of `sum(binary_cross_entropy(input, target) * grad_output)` with
/// respect to the target (PyTorch 2.13 differentiates it): `-logit(x) * g`, times the
/// weight, divided by the element count for `mean`, with `logit(x) = log(x / (1 - x))`
/// unclamped: `+inf` at `x = 0`, `-inf` at `x = 1` (and NaN where `grad_output` is 0
/// there). Within two ulps of PyTorch's (libtorch's vectorised `log`; 94% of `f32`
/// elements bit-identical).
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_target_backward, BinaryCrossEntropyOptions};
/// use ndarray::{arr0, array};
///
/// let p = array![0.9f64, 0.2, 0.5];
/// let y = array![1.0f64, 0.0, 1.0];
/// let opts = BinaryCrossEntropyOptions::default();
/// let g = binary_cross_entropy_target_backward(arr0(1.0).view(), p.view(), y.view(), &opts)?;
/// // torch 2.13: [-0.7324081924454066, 0.46209812037329684, -0.0]
/// assert!((g[0] + 0.7324081924454066).abs() < 1e-15);
/// assert_eq!(g[2], 0.0);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn binary_cross_entropy_target_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BinaryCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = bce_prepare(&input, &target, options.weight.as_ref())?;
    let g = grad_source(&grad_output, options.reduction, input.shape())?;
    let x = &p.x[..];
    let mean = options.reduction == Reduction::Mean;
    let w = p.w.as_deref().unwrap_or(x);
    let values = dispatch!(bce_target_grad(&g, x, w); p.w.is_some(), mean);
    shaped(target.shape(), values)
}

/// [`binary_cross_entropy_target_backward`]'s elements.
fn bce_target_grad<F: Float, const W: bool, const M: bool>(
    g: &Grad<'_, F>,
    x: &[F],
    w: &[F],
) -> Vec<F> {
    let n = count::<F>(x.len());
    map_grad(g, [x, w, x, x], |g, v| {
        let x = v[0];
        let r = -(x / (F::one() - x)).ln() * g;
        let r = if W { r * v[1] } else { r };
        if M { r / n } else { r }
    })
}

/// PyTorch refuses to differentiate `binary_cross_entropy` with respect to its weight:
/// the call fails, as soon as the weight requires grad, with autograd's
/// `RuntimeError` "The function 'binary_cross_entropy' is not differentiable with
/// respect to argument 'weight'. ...". This function returns that error, after the
/// checks PyTorch makes before it (the target's size and the weight's broadcast, in
/// Python); it never returns a value.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_weight_backward, BinaryCrossEntropyOptions};
/// use ndarray::{arr0, array};
///
/// let (p, y, w) = (array![0.9f64, 0.2], array![1.0f64, 0.0], array![1.0f64, 2.0]);
/// let opts = BinaryCrossEntropyOptions::default().weight(w.view());
/// let err = binary_cross_entropy_weight_backward(arr0(1.0).view(), p.view(), y.view(), &opts)
///     .unwrap_err();
/// assert!(err.message().starts_with("The function 'binary_cross_entropy' is not differentiable"));
/// ```
pub fn binary_cross_entropy_weight_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BinaryCrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let _ = grad_output;
    let weight = options.weight.as_ref().map(|w| w.shape());
    bce_python_checks(input.shape(), target.shape(), weight)?;
    Err(refusal(
        BCE,
        "weight",
        "PyTorch does not differentiate binary_cross_entropy with respect to its weight \
         (the weight must not require grad); for a learnable weight, multiply the \
         reduction='none' loss by it yourself",
    ))
}

// ---------------------------------------------------------------------------------
// binary_cross_entropy_with_logits
// ---------------------------------------------------------------------------------

const BCE_LOGITS: &str = "binary_cross_entropy_with_logits";

/// The Python check of `F.binary_cross_entropy_with_logits`: the target's size.
fn bcel_python_check(input: &[usize], target: &[usize]) -> Result<(), LossError> {
    if target == input {
        return Ok(());
    }
    let hint = if input.len() == target.len() + 1 && input.last() == Some(&1) {
        format!(
            "the input {} has a trailing dimension of 1 the target {} lacks (a model \
             with one output unit); squeeze it (input.squeeze(-1)) or give the target \
             that dimension: this loss does not broadcast its target",
            shape_str(input),
            shape_str(target)
        )
    } else {
        format!(
            "binary_cross_entropy_with_logits needs one target per input element: give \
             the target the input's shape {}",
            shape_str(input)
        )
    };
    Err(LossError::value(
        format!(
            "Target size ({}) must be the same as input size ({})",
            torch_size(target),
            torch_size(input)
        ),
        hint,
    ))
}

/// Every shape check of `binary_cross_entropy_with_logits`, in PyTorch's order: the
/// target's size (Python), then aten's: `(pos_weight - 1) * target` must broadcast and
/// not enlarge the loss, then `loss.mul_(weight)` likewise.
pub(crate) fn bcel_check(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
    pos_weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    bcel_python_check(input, target)?;
    if let Some(pw) = pos_weight {
        let hint = || {
            format!(
                "pos_weight {} does not broadcast against the target {}: for an (N, C) \
                 input it is one weight per class, shape (C), aligned with the last \
                 dimension",
                shape_str(pw),
                shape_str(target)
            )
        };
        let lw = broadcast_ab(pw, target, hint)?;
        if lw != input {
            return Err(in_place_error(
                input,
                &lw,
                format!(
                    "pos_weight {} broadcasts the loss to {}, larger than the input {}: \
                     it may only repeat along the input's dimensions (shape (C) for an \
                     (N, C) input)",
                    shape_str(pw),
                    shape_str(&lw),
                    shape_str(input)
                ),
            ));
        }
    }
    if let Some(w) = weight {
        let hint = || {
            format!(
                "the weight {} does not broadcast against the input {}: aligned from the \
                 last dimension, its sizes must be 1 or the input's",
                shape_str(w),
                shape_str(input)
            )
        };
        let b = broadcast_ab(input, w, hint)?;
        if b != input {
            return Err(in_place_error(
                input,
                &b,
                format!(
                    "the weight {} would enlarge the loss to {}: it may only repeat along \
                     the input's dimensions {}, not add new ones",
                    shape_str(w),
                    shape_str(&b),
                    shape_str(input)
                ),
            ));
        }
    }
    Ok(input.to_vec())
}

struct BcelParts<'a, F: Clone> {
    x: Cow<'a, [F]>,
    t: Cow<'a, [F]>,
    w: Option<Cow<'a, [F]>>,
    pw: Option<Cow<'a, [F]>>,
}

fn bcel_prepare<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    options: &'a BceWithLogitsOptions<'_, F>,
) -> Result<BcelParts<'a, F>, LossError> {
    let (w, pw) = (options.weight.as_ref(), options.pos_weight.as_ref());
    let shape = bcel_check(
        input.shape(),
        target.shape(),
        w.map(|w| w.shape()),
        pw.map(|p| p.shape()),
    )?;
    Ok(BcelParts {
        x: row_major(input),
        t: row_major(target),
        w: w.map(|w| expanded(w, &shape)).transpose()?,
        pw: pw.map(|p| expanded(p, &shape)).transpose()?,
    })
}

/// The element loss of `binary_cross_entropy_with_logits`, as libtorch 2.13 computes
/// it: `(1 - t) * x - log_weight * log_sigmoid(x)`, with `log_weight = (pw - 1) * t + 1`
/// when there is a `pos_weight` and
/// `log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))`.
#[inline(always)]
fn bcel_element<F: Float>(x: F, t: F, pw: Option<F>) -> F {
    let ls = min0(x) - log1p_of(exp_neg_abs(x));
    let ls = match pw {
        Some(pw) => ls * ((pw - F::one()) * t + F::one()),
        None => ls,
    };
    (F::one() - t) * x - ls
}

/// Binary cross entropy on logits, as
/// `torch.nn.functional.binary_cross_entropy_with_logits(input, target, weight=...,
/// reduction=..., pos_weight=...)`.
///
/// `input` holds scores (logits, any real), `target` values of the same shape (no
/// broadcasting; usually in `[0, 1]`, not checked). The element loss is libtorch's
/// `(1 - t) * x - log_weight * log_sigmoid(x)` with `log_weight = (pos_weight - 1) * t +
/// 1`, times the weight; `log_sigmoid(x) = min(x, 0) - log1p(exp(-|x|))` never
/// overflows (a logit of `±1e4` gives `1e4` or 0), but `x = ±inf` gives NaN where the
/// `(1 - t) * x` term is `0 * inf` or `inf - inf` (e.g. `x = +inf, t = 1`), as in
/// PyTorch. `weight` and `pos_weight` broadcast to the input's shape and may not enlarge
/// it. `mean` divides by the element count (NaN for none).
///
/// Within two ulps of PyTorch's element values (libtorch's vectorised `exp`/`log1p`);
/// sums within the tolerance policy.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_with_logits, BceWithLogitsOptions};
/// use ndarray::array;
///
/// let x = array![[2.0f64, -1.0], [0.5, 1e4]];
/// let y = array![[1.0f64, 0.0], [0.0, 1.0]];
/// let pw = array![2.0f64, 3.0];
/// let opts = BceWithLogitsOptions::default().pos_weight(pw.view());
/// let loss = binary_cross_entropy_with_logits(x.view(), y.view(), &opts)?;
/// // torch 2.13: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw) = 0.3852986734460686
/// assert!((loss.sum() - 0.3852986734460686).abs() < 1e-12);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn binary_cross_entropy_with_logits<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BceWithLogitsOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let p = bcel_prepare(&input, &target, options)?;
    let (x, t) = (&p.x[..], &p.t[..]);
    let (w, pw) = (p.w.as_deref(), p.pw.as_deref());
    let r = options.reduction;
    let shape = input.shape();
    let below = |v: Option<&[F]>| v.is_some_and(|v| v.iter().any(|&v| v < F::zero()));
    let outside = t.iter().any(|&t| t < F::zero() || t > F::one());
    if std::mem::size_of::<F>() == 4 && r != Reduction::None && (outside || below(w) || below(pw)) {
        // Element losses of both signs (a target outside [0, 1], a negative weight):
        // their sum can cancel, and the float32 losses' own roundings (half an ulp of
        // a loss of 3000 is 1.2e-4) then move it past float32's tolerance of the
        // exact sum. Formed and summed in f64 from the exactly widened values instead,
        // and rounded once.
        let wide = |v: &[F]| v.iter().map(|v| v.to_f64_exact()).collect::<Vec<f64>>();
        let (w, pw) = (w.map(wide), pw.map(wide));
        let total = bcel_reduce(r, shape, &wide(x), &wide(t), w.as_deref(), pw.as_deref())?;
        return Ok(total.mapv(F::of_f64));
    }
    bcel_reduce(r, shape, x, t, w, pw)
}

/// [`binary_cross_entropy_with_logits`]'s element losses of the prepared values,
/// reduced.
fn bcel_reduce<F: Float>(
    r: Reduction,
    shape: &[usize],
    x: &[F],
    t: &[F],
    w: Option<&[F]>,
    pw: Option<&[F]>,
) -> Result<ArrayD<F>, LossError> {
    match (w, pw) {
        (None, None) => reduce(r, shape, [x, t, x, x], |v| bcel_element(v[0], v[1], None)),
        (Some(w), None) => reduce(r, shape, [x, t, w, x], |v| {
            bcel_element(v[0], v[1], None) * v[2]
        }),
        (None, Some(pw)) => reduce(r, shape, [x, t, pw, x], |v| {
            bcel_element(v[0], v[1], Some(v[2]))
        }),
        (Some(w), Some(pw)) => reduce(r, shape, [x, t, w, pw], |v| {
            bcel_element(v[0], v[1], Some(v[3])) * v[2]
        }),
    }
}

/// The gradient of `sum(binary_cross_entropy_with_logits(input, target) *
/// grad_output)` with respect to the input, as PyTorch's autograd gives it:
/// `(sigmoid(x) - t) * g`, or with a `pos_weight`
/// `((pw * t + 1 - t) * sigmoid(x) - pw * t) * g`, times the weight, divided by the
/// element count for `mean`; `sigmoid(x) = 1 / (1 + exp(-x))`, each step rounded as
/// libtorch rounds it (so `x = ±inf` gives `1 - t` or `-t`, no NaN).
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_with_logits_backward, BceWithLogitsOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![0.0f64, 2.0];
/// let y = array![1.0f64, 0.0];
/// let opts = BceWithLogitsOptions::default();
/// let g = binary_cross_entropy_with_logits_backward(arr0(1.0).view(), x.view(), y.view(), &opts)?;
/// // torch 2.13: [-0.25, 0.44039853898894116]
/// assert_eq!(g[0], -0.25);
/// assert!((g[1] - 0.44039853898894116).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn binary_cross_entropy_with_logits_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BceWithLogitsOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = bcel_prepare(&input, &target, options)?;
    let g = grad_source(&grad_output, options.reduction, input.shape())?;
    let (x, t) = (&p.x[..], &p.t[..]);
    let mean = options.reduction == Reduction::Mean;
    let w = p.w.as_deref().unwrap_or(x);
    let pw = p.pw.as_deref().unwrap_or(x);
    let values = dispatch!(bcel_input_grad(&g, x, t, w, pw); p.w.is_some(), p.pw.is_some(), mean);
    shaped(input.shape(), values)
}

/// [`binary_cross_entropy_with_logits_backward`]'s elements, with (`W`) or without a
/// weight, with (`P`) or without a `pos_weight`, for `mean` (`M`) or not.
fn bcel_input_grad<F: Float, const W: bool, const P: bool, const M: bool>(
    g: &Grad<'_, F>,
    x: &[F],
    t: &[F],
    w: &[F],
    pw: &[F],
) -> Vec<F> {
    let one = F::one();
    let n = count::<F>(x.len());
    map_grad(g, [x, t, w, pw], |g, v| {
        let (x, t) = (v[0], v[1]);
        let s = one / (one + exp_of(-x));
        let r = if P {
            let tt = v[3] * t;
            ((tt + one) - t) * s - tt
        } else {
            s - t
        };
        let r = r * g;
        let r = if W { r * v[2] } else { r };
        if M { r / n } else { r }
    })
}

/// The gradient of `sum(binary_cross_entropy_with_logits(input, target) *
/// grad_output)` with respect to the target, as PyTorch 2.13's autograd gives it:
/// `-x * g`, or with a `pos_weight` `(log_sigmoid(-x) - log_sigmoid(x) * pw) * g`, times
/// the weight, divided by the element count for `mean`.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_with_logits_target_backward, BceWithLogitsOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![0.5f64, -2.0];
/// let y = array![1.0f64, 0.0];
/// let opts = BceWithLogitsOptions::default();
/// let g = binary_cross_entropy_with_logits_target_backward(arr0(1.0).view(), x.view(),
///                                                          y.view(), &opts)?;
/// assert_eq!(g.iter().copied().collect::<Vec<_>>(), vec![-0.25, 1.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn binary_cross_entropy_with_logits_target_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BceWithLogitsOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = bcel_prepare(&input, &target, options)?;
    let g = grad_source(&grad_output, options.reduction, input.shape())?;
    let x = &p.x[..];
    let mean = options.reduction == Reduction::Mean;
    let w = p.w.as_deref().unwrap_or(x);
    let pw = p.pw.as_deref().unwrap_or(x);
    let values = dispatch!(bcel_target_grad(&g, x, w, pw); p.w.is_some(), p.pw.is_some(), mean);
    shaped(target.shape(), values)
}

/// [`binary_cross_entropy_with_logits_target_backward`]'s elements.
fn bcel_target_grad<F: Float, const W: bool, const P: bool, const M: bool>(
    g: &Grad<'_, F>,
    x: &[F],
    w: &[F],
    pw: &[F],
) -> Vec<F> {
    let n = count::<F>(x.len());
    map_grad(g, [x, w, pw, x], |g, v| {
        let x = v[0];
        let r = if P {
            // Formed in f64 and rounded once: for a positive logit the two log-sigmoids
            // cancel (`-x - lp` against `-lp * pw`), and float32 logs would leave their
            // rounding errors, magnified by the cancellation, past float32's tolerance.
            let (x, pw) = (x.to_f64_exact(), v[2].to_f64_exact());
            let lp = log1p_of(exp_neg_abs(x));
            let (ls_neg, ls_pos) = (min0(-x) - lp, min0(x) - lp);
            F::of_f64(ls_neg - ls_pos * pw) * g
        } else {
            -x * g
        };
        let r = if W { r * v[1] } else { r };
        if M { r / n } else { r }
    })
}

fn bcel_refusal<F: Float>(
    input: &[usize],
    target: &[usize],
    argument: &str,
) -> Result<ArrayD<F>, LossError> {
    bcel_python_check(input, target)?;
    Err(refusal(
        BCE_LOGITS,
        argument,
        &format!(
            "PyTorch does not differentiate binary_cross_entropy_with_logits with respect \
             to its {argument} (it must not require grad); for a learnable {argument}, \
             write the loss from log_sigmoid yourself"
        ),
    ))
}

/// PyTorch refuses to differentiate `binary_cross_entropy_with_logits` with respect to
/// its `weight`: autograd's `RuntimeError` "The function
/// 'binary_cross_entropy_with_logits' is not differentiable with respect to argument
/// 'weight'. ...", raised after the Python check of the target's size. This function
/// returns that error; it never returns a value.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_with_logits_weight_backward, BceWithLogitsOptions};
/// use ndarray::{arr0, array};
///
/// let (x, y) = (array![0.5f64], array![1.0f64]);
/// let opts = BceWithLogitsOptions::default();
/// let err = binary_cross_entropy_with_logits_weight_backward(arr0(1.0).view(), x.view(),
///                                                           y.view(), &opts).unwrap_err();
/// assert!(err.message().ends_with("argument 'weight'. This input cannot have requires_grad True."));
/// ```
pub fn binary_cross_entropy_with_logits_weight_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BceWithLogitsOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let _ = (grad_output, options);
    bcel_refusal(input.shape(), target.shape(), "weight")
}

/// PyTorch refuses to differentiate `binary_cross_entropy_with_logits` with respect to
/// its `pos_weight`: autograd's `RuntimeError` "... with respect to argument
/// 'pos_weight'. ...", after the Python check of the target's size. This function
/// returns that error; it never returns a value.
///
/// ```
/// use lossparity_losses::{binary_cross_entropy_with_logits_pos_weight_backward, BceWithLogitsOptions};
/// use ndarray::{arr0, array};
///
/// let (x, y) = (array![0.5f64], array![1.0f64]);
/// let opts = BceWithLogitsOptions::default();
/// let err = binary_cross_entropy_with_logits_pos_weight_backward(arr0(1.0).view(), x.view(),
///                                                               y.view(), &opts).unwrap_err();
/// assert!(err.message().contains("argument 'pos_weight'"));
/// ```
pub fn binary_cross_entropy_with_logits_pos_weight_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &BceWithLogitsOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let _ = (grad_output, options);
    bcel_refusal(input.shape(), target.shape(), "pos_weight")
}

// ---------------------------------------------------------------------------------
// soft_margin_loss
// ---------------------------------------------------------------------------------

const SOFT_MARGIN: &str = "soft_margin_loss";

/// The shape checks of `soft_margin_loss` (libtorch's in-place
/// `neg_out(output, input).mul_(target)`): the target must broadcast to the input's
/// shape without enlarging it. The loss's shape is the input's.
pub(crate) fn soft_margin_check(
    input: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    let hint = || {
        format!(
            "the target {} does not broadcast against the input {}: give it the input's \
             shape (one label in {{-1, 1}} per input element)",
            shape_str(target),
            shape_str(input)
        )
    };
    let b = broadcast_ab(input, target, hint)?;
    if b != input {
        let hint = if input.len() + 1 == target.len() || target.len() + 1 == input.len() {
            format!(
                "the target {} would broadcast the input {} to {}; soft_margin_loss \
                 computes in place on the input's shape, so the target may not add \
                 dimensions: an (N, 1) input against an (N) target needs a squeeze",
                shape_str(target),
                shape_str(input),
                shape_str(&b)
            )
        } else {
            format!(
                "the target {} would enlarge the input {} to {}: give the target the \
                 input's shape",
                shape_str(target),
                shape_str(input),
                shape_str(&b)
            )
        };
        return Err(in_place_error(input, &b, hint));
    }
    Ok(b)
}

/// The soft margin loss, as `torch.nn.functional.soft_margin_loss(input, target,
/// reduction=...)`: `log1p(exp(-x * y))` element by element, each step rounded as
/// libtorch rounds it, then reduced.
///
/// `target` holds labels (meant to be `±1`, not checked) and broadcasts to the input's
/// shape, never beyond it (a target of more elements is libtorch's in-place error).
/// Large margins round as in PyTorch: `x * y = 20` gives `2.06e-9` (`log1p` keeps it),
/// and `exp` overflows for `-x * y` above 88.7 (`f32`) or 709.8 (`f64`), so the loss is
/// then `+inf`, as PyTorch's is. `mean` divides by the element count (NaN for none).
///
/// Within two ulps of PyTorch's element values; sums within the tolerance policy.
///
/// ```
/// use lossparity_losses::{soft_margin_loss, SoftMarginOptions, Reduction};
/// use ndarray::array;
///
/// let x = array![0.5f32, -2.0, 100.0];
/// let y = array![1.0f32, 1.0, -1.0];
/// let opts = SoftMarginOptions::default().reduction(Reduction::None);
/// let loss = soft_margin_loss(x.view(), y.view(), &opts)?;
/// // torch 2.13: [0.4740769863128662, 2.1269280910491943, inf]
/// assert_eq!(loss[0], 0.4740769863128662);
/// assert_eq!(loss[2], f32::INFINITY);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn soft_margin_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &SoftMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let shape = soft_margin_check(input.shape(), target.shape())?;
    let (x, t) = (row_major(&input), expanded(&target, &shape)?);
    reduce(options.reduction, &shape, [&x, &t, &x, &x], |v| {
        log1p_of(exp_of(-v[0] * v[1]))
    })
}

/// The gradient of `sum(soft_margin_loss(input, target) * grad_output)` with respect
/// to the input: libtorch's `(y * z) * (-norm) / (z + 1) * g` with `z = exp(-y * x)` and
/// `norm = 1 / numel` for `mean` (else 1), each step rounded as libtorch rounds it. Where
/// `exp` overflows (`-x * y` above 88.7 in `f32`) the gradient is NaN (`inf / inf`), as
/// PyTorch's is.
///
/// ```
/// use lossparity_losses::{soft_margin_loss_backward, SoftMarginOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![0.0f64, 3.0];
/// let y = array![1.0f64, -1.0];
/// let g = soft_margin_loss_backward(arr0(1.0).view(), x.view(), y.view(),
///                                   &SoftMarginOptions::default())?;
/// // torch 2.13: [-0.25, 0.4762870634112166]
/// assert_eq!(g[0], -0.25);
/// assert!((g[1] - 0.4762870634112166).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn soft_margin_loss_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &SoftMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let shape = soft_margin_check(input.shape(), target.shape())?;
    let g = grad_source(&grad_output, options.reduction, &shape)?;
    let (x, t) = (row_major(&input), expanded(&target, &shape)?);
    let neg_norm = match options.reduction {
        Reduction::Mean => F::of_f64(-1.0 / x.len() as f64),
        _ => -F::one(),
    };
    let values = map_grad(&g, [&x, &t, &x, &x], |g, v| {
        let (x, y) = (v[0], v[1]);
        let z = exp_of(-y * x);
        (y * z) * neg_norm / (z + F::one()) * g
    });
    shaped(&shape, values)
}

/// PyTorch refuses to differentiate `soft_margin_loss` with respect to its target: the
/// forward fails, as soon as the target requires grad and before any shape check, with
/// autograd's `RuntimeError` "The function 'soft_margin_loss' is not differentiable with
/// respect to argument 'target'. ...". This function returns that error; it never
/// returns a value.
///
/// ```
/// use lossparity_losses::{soft_margin_loss_target_backward, SoftMarginOptions};
/// use ndarray::{arr0, array};
///
/// let (x, y) = (array![0.5f64], array![1.0f64]);
/// let err = soft_margin_loss_target_backward(arr0(1.0).view(), x.view(), y.view(),
///                                            &SoftMarginOptions::default()).unwrap_err();
/// assert!(err.message().contains("argument 'target'"));
/// ```
pub fn soft_margin_loss_target_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &SoftMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    let _ = (grad_output, input, target, options);
    Err(refusal(
        SOFT_MARGIN,
        "target",
        "PyTorch does not differentiate soft_margin_loss with respect to its target \
         (labels must not require grad); detach the target, or write the loss as \
         softplus(-input * target) for a gradient in both",
    ))
}

// ---------------------------------------------------------------------------------
// multilabel_soft_margin_loss
// ---------------------------------------------------------------------------------

/// The shape facts of a `multilabel_soft_margin_loss` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MultilabelPlan {
    /// The broadcast shape of input, target (and weight): the element losses'.
    pub full: Vec<usize>,
    /// The dimension summed over: `input.dim() - 1`, counted in `full`.
    pub class_dim: usize,
    /// What the sum is divided by: the input's last size.
    pub classes: usize,
    /// The `none` output: `full` without `class_dim`.
    pub out: Vec<usize>,
}

/// The checks of `F.multilabel_soft_margin_loss` in its order: `target *
/// logsigmoid(input)` broadcasts (target first), `loss * weight` broadcasts, then
/// `input.size(input.dim() - 1)` (an `IndexError` for a 0-D input).
pub(crate) fn multilabel_plan(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<MultilabelPlan, LossError> {
    let hint = || {
        format!(
            "the target {} does not broadcast against the input {}: give it the input's \
             shape, one 0/1 label per class",
            shape_str(target),
            shape_str(input)
        )
    };
    let mut full = broadcast_ab(target, input, hint)?;
    if let Some(w) = weight {
        let loss = full.clone();
        let hint = || {
            format!(
                "the weight {} does not broadcast against the loss {}: for an (N, C) \
                 input give one weight per class, shape (C)",
                shape_str(w),
                shape_str(&loss)
            )
        };
        full = broadcast_ab(&loss, w, hint)?;
    }
    if input.is_empty() {
        return Err(LossError::index(
            "Dimension specified as -1 but tensor has no dimensions",
            "multilabel_soft_margin_loss takes (C) or (N, C) scores: the mean runs over \
             the last (class) dimension, which a 0-D input does not have; reshape it to (1)",
        ));
    }
    let class_dim = input.len() - 1;
    let out = full
        .iter()
        .enumerate()
        .filter(|&(d, _)| d != class_dim)
        .map(|(_, &s)| s)
        .collect();
    Ok(MultilabelPlan {
        classes: input[class_dim],
        class_dim,
        out,
        full,
    })
}

/// The axis order that moves `class_dim` last.
fn class_last(ndim: usize, class_dim: usize) -> Vec<usize> {
    (0..ndim)
        .filter(|&a| a != class_dim)
        .chain([class_dim])
        .collect()
}

/// `view` broadcast to `full` and laid out with `class_dim` last, row-major: borrowed
/// when it already is.
fn class_rows<'a, F: Float>(
    view: &'a ArrayViewD<'_, F>,
    plan: &MultilabelPlan,
) -> Result<Cow<'a, [F]>, LossError> {
    if plan.class_dim + 1 == plan.full.len() {
        return expanded(view, &plan.full);
    }
    let b = view
        .broadcast(IxDyn(&plan.full))
        .ok_or_else(|| internal("broadcast of a checked shape"))?;
    let order = class_last(plan.full.len(), plan.class_dim);
    Ok(Cow::Owned(
        b.permuted_axes(IxDyn(&order)).iter().copied().collect(),
    ))
}

/// Values laid out with `class_dim` last back to `full`'s row-major order, summed to
/// `to` (an operand's own shape).
fn from_class_rows<F: Float>(
    values: Vec<F>,
    plan: &MultilabelPlan,
    to: &[usize],
) -> Result<ArrayD<F>, LossError> {
    let values = if plan.class_dim + 1 == plan.full.len() {
        values
    } else {
        let order = class_last(plan.full.len(), plan.class_dim);
        let permuted: Vec<usize> = order.iter().map(|&a| plan.full[a]).collect();
        let mut inverse = vec![0; order.len()];
        for (position, &a) in order.iter().enumerate() {
            inverse[a] = position;
        }
        let arr = shaped(&permuted, values)?;
        arr.permuted_axes(IxDyn(&inverse)).iter().copied().collect()
    };
    sum_to(values, &plan.full, to)
}

struct MultilabelParts<'a, F: Clone> {
    plan: MultilabelPlan,
    x: Cow<'a, [F]>,
    t: Cow<'a, [F]>,
    w: Option<Cow<'a, [F]>>,
}

impl<F: Clone> MultilabelParts<'_, F> {
    /// Rows (samples) and their length (the broadcast class dimension).
    fn rows(&self) -> (usize, usize) {
        let len = self.plan.full[self.plan.class_dim];
        (self.plan.out.iter().product(), len)
    }
}

fn multilabel_prepare<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    weight: Option<&'a ArrayViewD<'_, F>>,
) -> Result<MultilabelParts<'a, F>, LossError> {
    let plan = multilabel_plan(input.shape(), target.shape(), weight.map(|w| w.shape()))?;
    Ok(MultilabelParts {
        x: class_rows(input, &plan)?,
        t: class_rows(target, &plan)?,
        w: weight.map(|w| class_rows(w, &plan)).transpose()?,
        plan,
    })
}

/// `log_sigmoid(x)` and `log_sigmoid(-x)` from one buffer `z = exp(-|x|)`.
#[inline(always)]
fn log_sigmoids<F: Float>(x: F, z: F) -> (F, F) {
    let lp = log1p_of(z);
    (min0(x) - lp, min0(-x) - lp)
}

/// The unweighted element loss `-(t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x))`.
#[inline(always)]
fn multilabel_element<F: Float>(x: F, t: F) -> F {
    let (pos, neg) = log_sigmoids(x, exp_neg_abs(x));
    -(t * pos + (F::one() - t) * neg)
}

/// libtorch's `log_sigmoid_backward`: `(max_deriv - sign * (z / (1 + z))) * g`.
#[inline(always)]
fn log_sigmoid_backward<F: Float>(a: F, z: F, g: F) -> F {
    let negative = a < F::zero();
    let max_deriv = if negative { F::one() } else { F::zero() };
    let sign = if negative { F::one() } else { -F::one() };
    (max_deriv - sign * (z / (F::one() + z))) * g
}

/// The per-sample losses (`sum over classes / C`), one per row, in f64: each element's
/// loss, the weight's product and the sums in f64, rounded once by the caller. Weighted
/// losses of huge logits cancel between classes and samples (a target of -1 against a
/// logit of -3000 with a weight of 10 gives -3e4, against +2.8e4 from another class),
/// so that any float32 evaluation, libtorch's included, is off by ulps of the largest
/// term: its element losses, their products with the weight and its sum are each
/// rounded. In f64 the result stays within the tolerance of the exact value (f32
/// element losses, an ulp or two off each, left such a result 27 ulp away); rows whose
/// terms do not cancel keep the faster f32 element losses (see `multilabel_row_sum`).
fn multilabel_rows<F: Float>(p: &MultilabelParts<'_, F>) -> Vec<f64> {
    let (rows, len) = p.rows();
    let (x, t) = (&p.x[..], &p.t[..]);
    let w = p.w.as_deref();
    let c = p.plan.classes as f64;
    let row = |r: usize| {
        let at = r * len..(r + 1) * len;
        let sum = match w {
            Some(w) => multilabel_row_sum::<F, true>(&x[at.clone()], &t[at.clone()], &w[at]),
            None => multilabel_row_sum::<F, false>(&x[at.clone()], &t[at.clone()], &x[at]),
        };
        sum / c
    };
    if rows * len > CHUNK {
        (0..rows).into_par_iter().map(row).collect()
    } else {
        (0..rows).map(row).collect()
    }
}

/// One row's `sum(element loss * w)` in f64 (`w` ignored unless `W`): `LANES`
/// interleaved partial sums folded pairwise, so that the loop vectorises (and the
/// kernels' `mul_add`s are FMA instructions, not libm's software `fma`).
#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn multilabel_row_sum<F: Float, const W: bool>(x: &[F], t: &[F], w: &[F]) -> f64 {
    #[inline(always)]
    fn term<F: Float, const W: bool>(x: F, t: F, w: F) -> f64 {
        let e = multilabel_element(x.to_f64_exact(), t.to_f64_exact());
        if W { e * w.to_f64_exact() } else { e }
    }
    // Float32 element losses (twice the SIMD width), a few ulps each: as close as that
    // when the terms do not cancel; where they do (|sum| under half the sum of the
    // terms' sizes, only with negative weights or targets outside [0, 1]), the row
    // again in f64.
    if is_f32::<F>() {
        let (mut sum, mut size) = ([0.0f64; LANES], [0.0f64; LANES]);
        let (xs, ts, ws) = (
            x.chunks_exact(LANES),
            t.chunks_exact(LANES),
            w.chunks_exact(LANES),
        );
        let (xr, tr, wr) = (xs.remainder(), ts.remainder(), ws.remainder());
        let mut add = |j: usize, x: F, t: F, w: F| {
            let e = multilabel_element(x, t).to_f64_exact();
            let v = if W { e * w.to_f64_exact() } else { e };
            sum[j] += v;
            size[j] += v.abs();
        };
        for ((x, t), w) in xs.zip(ts).zip(ws) {
            for j in 0..LANES {
                add(j, x[j], t[j], w[j]);
            }
        }
        for j in 0..xr.len() {
            add(j, xr[j], tr[j], wr[j]);
        }
        let (sum, size) = (fold_lanes(sum), fold_lanes(size));
        // A NaN sum is final too (the f64 terms give the same NaN).
        let cancels = size > 2.0 * sum.abs();
        if !cancels {
            return sum;
        }
    }
    let mut acc = [0.0f64; LANES];
    let (xs, ts, ws) = (
        x.chunks_exact(LANES),
        t.chunks_exact(LANES),
        w.chunks_exact(LANES),
    );
    let (xr, tr, wr) = (xs.remainder(), ts.remainder(), ws.remainder());
    for ((x, t), w) in xs.zip(ts).zip(ws) {
        for j in 0..LANES {
            acc[j] += term::<F, W>(x[j], t[j], w[j]);
        }
    }
    for j in 0..xr.len() {
        acc[j] += term::<F, W>(xr[j], tr[j], wr[j]);
    }
    fold_lanes(acc)
}

/// The multilabel soft margin loss, as
/// `torch.nn.functional.multilabel_soft_margin_loss(input, target, weight=...,
/// reduction=...)`: PyTorch's Python composition
/// `loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))`, times the
/// weight, summed over the class dimension `input.dim() - 1` and divided by the input's
/// number of classes `C = input.size(-1)`; then `none` (one loss per sample), `mean` or
/// `sum` over the samples.
///
/// Shapes: `(C)` gives one sample (a 0-D `none` output), `(N, C)` gives `(N)`, more
/// dimensions are accepted (the last is the class one). `target` and `weight` broadcast
/// with ordinary rules, before the sum (as in PyTorch, a target with more dimensions
/// than the input moves what is summed: the class dimension is counted from the
/// left of the broadcast shape). `C = 0` gives NaN (`0 / 0`). A 0-D input is an
/// `IndexError`, after the broadcast checks.
///
/// Element losses within a few ulps of PyTorch's; sums within the tolerance policy.
///
/// ```
/// use lossparity_losses::{multilabel_soft_margin_loss, MultilabelSoftMarginOptions};
/// use ndarray::array;
///
/// let x = array![[1.5f64, -0.5, 0.0], [-2.0, 3.0, 0.25]];
/// let y = array![[1.0f64, 0.0, 1.0], [0.0, 1.0, 0.0]];
/// let loss = multilabel_soft_margin_loss(x.view(), y.view(),
///                                        &MultilabelSoftMarginOptions::default())?;
/// // torch 2.13: 0.39501537086972704
/// assert!((loss.sum() - 0.39501537086972704).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multilabel_soft_margin_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &MultilabelSoftMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let p = multilabel_prepare(&input, &target, options.weight.as_ref())?;
    let rows = multilabel_rows(&p);
    // The samples' sum in order, in f64 (see `multilabel_rows`).
    let total = || rows.iter().sum::<f64>();
    Ok(match options.reduction {
        Reduction::None => shaped(&p.plan.out, rows.iter().map(|&v| F::of_f64(v)).collect())?,
        Reduction::Sum => scalar(F::of_f64(total())),
        Reduction::Mean => scalar(F::of_f64(total() / rows.len() as f64)),
    })
}

/// What each element's gradient is multiplied by, per element: its sample's
/// `grad_output`, divided by the sample count for `mean`, then by `C` (autograd's mean
/// and division backwards).
fn multilabel_element_grads<F: Float>(
    grad_output: &ArrayViewD<'_, F>,
    reduction: Reduction,
    p: &MultilabelParts<'_, F>,
) -> Result<Vec<F>, LossError> {
    let g = grad_source(grad_output, reduction, &p.plan.out)?;
    let (rows, len) = p.rows();
    let c = count::<F>(p.plan.classes);
    Ok(match g {
        Grad::Each(gs) => {
            let per_row: Vec<F> = gs.iter().map(|&g| g / c).collect();
            repeat_rows(&per_row, len)
        }
        Grad::One(g) => {
            let g = match reduction {
                Reduction::Mean => g / count::<F>(rows),
                _ => g,
            };
            vec![g / c; rows * len]
        }
    })
}

/// The gradient of `sum(multilabel_soft_margin_loss(input, target) * grad_output)` with
/// respect to the input, as autograd differentiates PyTorch's composition:
/// `log_sigmoid_backward(x, z, -g * w * t) - log_sigmoid_backward(-x, z, -g * w * (1 -
/// t))` per element, `g` the sample's `grad_output` divided by the sample count (`mean`)
/// and by `C`; summed back over what broadcasting added.
///
/// ```
/// use lossparity_losses::{multilabel_soft_margin_loss_backward, MultilabelSoftMarginOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![[0.0f64, 2.0]];
/// let y = array![[1.0f64, 0.0]];
/// let opts = MultilabelSoftMarginOptions::default();
/// let g = multilabel_soft_margin_loss_backward(arr0(1.0).view(), x.view(), y.view(), &opts)?;
/// // torch 2.13: [[-0.25, 0.4403985389889412]]
/// assert_eq!(g[[0, 0]], -0.25);
/// assert!((g[[0, 1]] - 0.4403985389889412).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multilabel_soft_margin_loss_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &MultilabelSoftMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = multilabel_prepare(&input, &target, options.weight.as_ref())?;
    let ge = multilabel_element_grads(&grad_output, options.reduction, &p)?;
    if let Some((q, summed)) = weighted_to_loss_shape(&input, &target, &p, &ge)? {
        let (x, t) = (&q.x[..], &q.t[..]);
        let values = multilabel_input_grad::<F, false>(x, t, x, &summed);
        return from_class_rows(values, &q.plan, input.shape());
    }
    let (x, t) = (&p.x[..], &p.t[..]);
    let w = p.w.as_deref().unwrap_or(x);
    let values = dispatch!(multilabel_input_grad(x, t, w, &ge); p.w.is_some());
    from_class_rows(values, &p.plan, input.shape())
}

/// Where the weight enlarges the unweighted loss's shape, autograd sums `g * w` back to
/// that shape before the element derivatives see it (the weight multiplies the loss, so
/// its broadcast is undone at the product): an infinite derivative then meets the
/// summed, finite `g * w`, where multiplying it by each weighted `g` first would give
/// `inf * 0 = NaN` at a zero weight. Returns the unweighted loss's parts and the summed
/// incoming gradient in their class-last layout; `None` where the weight does not
/// enlarge the shape (no sum to undo).
/// The unweighted loss's parts and the incoming gradient summed to their shape.
type LossShaped<'a, F> = (MultilabelParts<'a, F>, Vec<F>);

fn weighted_to_loss_shape<'a, F: Float>(
    input: &'a ArrayViewD<'_, F>,
    target: &'a ArrayViewD<'_, F>,
    p: &MultilabelParts<'_, F>,
    ge: &[F],
) -> Result<Option<LossShaped<'a, F>>, LossError> {
    let Some(w) = p.w.as_deref() else {
        return Ok(None);
    };
    let q = multilabel_prepare(input, target, None)?;
    if q.plan.full == p.plan.full {
        return Ok(None);
    }
    let gw: Vec<F> = ge.iter().zip(w).map(|(&g, &w)| g * w).collect();
    let summed = from_class_rows(gw, &p.plan, &q.plan.full)?;
    let summed = class_rows(&summed.view(), &q.plan)?.into_owned();
    Ok(Some((q, summed)))
}

/// [`multilabel_soft_margin_loss_backward`]'s elements, with (`W`) or without a weight.
fn multilabel_input_grad<F: Float, const W: bool>(x: &[F], t: &[F], w: &[F], ge: &[F]) -> Vec<F> {
    map5([x, t, w, ge, x], |v| {
        let (x, t, g) = (v[0], v[1], v[3]);
        let g0 = if W { g * v[2] } else { g };
        let ga = -g0;
        let z = exp_neg_abs(x);
        let pos = log_sigmoid_backward(x, z, ga * t);
        let neg = log_sigmoid_backward(-x, z, ga * (F::one() - t));
        pos + -neg
    })
}

/// The gradient of `sum(multilabel_soft_margin_loss(input, target) * grad_output)` with
/// respect to the target (autograd differentiates the composition):
/// `-g * w * log_sigmoid(x) - (-g * w * log_sigmoid(-x))` per element, summed back to the
/// target's shape.
///
/// ```
/// use lossparity_losses::{multilabel_soft_margin_loss_target_backward, MultilabelSoftMarginOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![[0.5f64, -2.0]];
/// let y = array![[1.0f64, 0.0]];
/// let opts = MultilabelSoftMarginOptions::default();
/// let g = multilabel_soft_margin_loss_target_backward(arr0(1.0).view(), x.view(), y.view(), &opts)?;
/// // torch 2.13: -x / 2
/// assert!((g[[0, 0]] + 0.25).abs() < 1e-15 && (g[[0, 1]] - 1.0).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multilabel_soft_margin_loss_target_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &MultilabelSoftMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = multilabel_prepare(&input, &target, options.weight.as_ref())?;
    let ge = multilabel_element_grads(&grad_output, options.reduction, &p)?;
    if let Some((q, summed)) = weighted_to_loss_shape(&input, &target, &p, &ge)? {
        let x = &q.x[..];
        let values = multilabel_target_grad::<F, false>(x, x, &summed);
        return from_class_rows(values, &q.plan, target.shape());
    }
    let x = &p.x[..];
    let w = p.w.as_deref().unwrap_or(x);
    let values = dispatch!(multilabel_target_grad(x, w, &ge); p.w.is_some());
    from_class_rows(values, &p.plan, target.shape())
}

/// [`multilabel_soft_margin_loss_target_backward`]'s elements.
fn multilabel_target_grad<F: Float, const W: bool>(x: &[F], w: &[F], ge: &[F]) -> Vec<F> {
    map5([x, w, ge, x, x], |v| {
        let (x, g) = (v[0], v[2]);
        let g0 = if W { g * v[1] } else { g };
        // d/dt of -(t * log_sigmoid(x) + (1 - t) * log_sigmoid(-x)) is
        // -(log_sigmoid(x) - log_sigmoid(-x)) = -x exactly: the log1p terms cancel.
        // libtorch forms the two products and subtracts them, which at a tiny |x|
        // leaves only the rounding of the two logs (a weight of 1e4 turns that into
        // 1e-4 off); the exact form agrees with it elsewhere, and gives the same
        // infinities and NaNs (0 * inf and NaN stay NaN); adding 0 gives its +0 where
        // the two products are equal.
        -g0 * x + F::zero()
    })
}

/// The gradient of `sum(multilabel_soft_margin_loss(input, target, weight) *
/// grad_output)` with respect to the weight (autograd differentiates it): the sample's
/// `grad_output` (divided by the sample count for `mean`, and by `C`) times the
/// unweighted element loss, summed back to the weight's shape. Without a weight in the
/// options, the result is the gradient with respect to an all-ones weight of the
/// element losses' (broadcast) shape, which leaves the loss unchanged.
///
/// ```
/// use lossparity_losses::{multilabel_soft_margin_loss_weight_backward, MultilabelSoftMarginOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![[0.0f64, 0.0], [0.0, 0.0]];
/// let y = array![[1.0f64, 0.0], [0.0, 1.0]];
/// let w = array![1.0f64, 2.0];
/// let opts = MultilabelSoftMarginOptions::default().weight(w.view());
/// let g = multilabel_soft_margin_loss_weight_backward(arr0(1.0).view(), x.view(), y.view(), &opts)?;
/// // torch 2.13: [0.34657359027997264, 0.34657359027997264]
/// assert!((g[0] - std::f64::consts::LN_2 / 2.0).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multilabel_soft_margin_loss_weight_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &MultilabelSoftMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let p = multilabel_prepare(&input, &target, options.weight.as_ref())?;
    let ge = multilabel_element_grads(&grad_output, options.reduction, &p)?;
    let (x, t) = (&p.x[..], &p.t[..]);
    let elements = map5([x, t, x, x, x], |v| multilabel_element(v[0], v[1]));
    // Products and the sum over samples in f64, for the cancellation the forward's
    // `multilabel_rows` describes.
    let values: Vec<f64> = elements
        .iter()
        .zip(&ge)
        .map(|(e, g)| g.to_f64_exact() * e.to_f64_exact())
        .collect();
    let to = match options.weight.as_ref() {
        Some(w) => w.shape().to_vec(),
        None => p.plan.full.clone(),
    };
    Ok(from_class_rows(values, &p.plan, &to)?.mapv(F::of_f64))
}
