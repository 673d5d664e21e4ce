//! The triplet losses: `triplet_margin_loss` and `triplet_margin_with_distance_loss`
//! (with its default distance, `pairwise_distance`), forward and the gradients of the
//! anchor, the positive and the negative, with PyTorch 2.13's errors.
//!
//! Both are compositions in PyTorch, not kernels: `d(x1, x2) = norm(x1 - x2 + eps, p,
//! dim=-1)` for each pair, `min(d(a, n), d(p, n))` under `swap`, then
//! `clamp_min(margin + d(a, p) - d_neg, 0)` and the reduction; autograd differentiates
//! them step by step, and so do the gradients here.
//!
//! The distances follow libtorch's CPU norm kernel operation by operation, in the
//! tensor's own type; see [`triplet_margin_loss`] for what that makes exact.

use std::borrow::Cow;

use multiversion::multiversion;
use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::cross_entropy::cpp_double;
use super::elementwise::{CHUNK, expanded, sum_to};
use super::error::LossError;
use super::float::Float;
use super::margin::{Grad, broadcast_named, clamp_min0, grad_source, scalar, shaped};
use super::nll::internal;
use super::options::Reduction;

// ---------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------

/// Options of [`triplet_margin_loss`] and its gradients, as PyTorch's keyword
/// arguments: `margin=1.0`, `p=2`, `eps=1e-6`, `swap=False`, `reduction='mean'` by
/// default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletMarginOptions {
    /// How much farther the negative must be from the anchor than the positive; 1.0 by
    /// default. Must be greater than 0 (PyTorch's `ValueError`); NaN and infinity pass.
    /// Rounded to the tensors' type, as libtorch rounds a scalar.
    pub margin: f64,
    /// The order of the norm of the distance: any real, or `f64::INFINITY` /
    /// `f64::NEG_INFINITY`; 2 by default. `p = 0` counts the non-zero differences (no
    /// gradient), `p < 0` is accepted as in PyTorch (`(sum |u|^p)^(1/p)`).
    pub p: f64,
    /// Added to every difference before the norm (`x1 - x2 + eps`), so that equal
    /// vectors have a non-zero distance and a gradient; 1e-6 by default. Rounded to the
    /// tensors' type.
    pub eps: f64,
    /// Use `min(d(anchor, negative), d(positive, negative))` as the negative distance
    /// (the distance swap of Balntas et al.); false by default.
    pub swap: bool,
    /// How the per-triplet losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl Default for TripletMarginOptions {
    fn default() -> Self {
        TripletMarginOptions {
            margin: 1.0,
            p: 2.0,
            eps: 1e-6,
            swap: false,
            reduction: Reduction::Mean,
        }
    }
}

impl TripletMarginOptions {
    /// The given margin (the other options are kept).
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// The given norm order `p`.
    pub fn p(mut self, p: f64) -> Self {
        self.p = p;
        self
    }

    /// The given `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Whether to use the distance swap.
    pub fn swap(mut self, swap: bool) -> Self {
        self.swap = swap;
        self
    }

    /// The given reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

/// Options of [`triplet_margin_with_distance_loss`] and its gradients, with
/// `distance_function=None` (PyTorch's `pairwise_distance`, `p=2`, `eps=1e-6`; no
/// callables): `margin=1.0`, `swap=False`, `reduction='mean'` by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TripletMarginWithDistanceOptions {
    /// How much farther the negative must be from the anchor than the positive; 1.0 by
    /// default. Must be greater than 0 (PyTorch's `ValueError`); NaN and infinity pass.
    pub margin: f64,
    /// Use `min(d(anchor, negative), d(positive, negative))` as the negative distance;
    /// false by default.
    pub swap: bool,
    /// How the per-triplet losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl Default for TripletMarginWithDistanceOptions {
    fn default() -> Self {
        TripletMarginWithDistanceOptions {
            margin: 1.0,
            swap: false,
            reduction: Reduction::Mean,
        }
    }
}

impl TripletMarginWithDistanceOptions {
    /// The given margin (the other options are kept).
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// Whether to use the distance swap.
    pub fn swap(mut self, swap: bool) -> Self {
        self.swap = swap;
        self
    }

    /// The given reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The same computation as [`triplet_margin_loss`]'s: `pairwise_distance`'s
    /// defaults are `p=2`, `eps=1e-6`, and the Python composition is aten's.
    fn as_triplet(&self) -> TripletMarginOptions {
        TripletMarginOptions {
            margin: self.margin,
            p: 2.0,
            eps: 1e-6,
            swap: self.swap,
            reduction: self.reduction,
        }
    }
}

// ---------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------

/// Python's `repr` of a float, as an f-string prints it: the shortest digits that
/// round-trip, in fixed notation for exponents in `[-4, 16)`, else as `1e-05`.
pub(crate) fn py_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if v == 0.0 || (-4..16).contains(&exp) {
        let fixed = format!("{v}");
        if fixed.contains('.') {
            fixed
        } else {
            fixed + ".0"
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// `torch/nn/functional.py`'s check, the first of both losses.
fn margin_check(margin: f64) -> Result<(), LossError> {
    if margin <= 0.0 {
        return Err(LossError::value(
            format!("margin must be greater than 0, got {}", py_float(margin)),
            "the loss asks each negative to be at least `margin` farther from its anchor \
             than the positive is; PyTorch refuses a margin of 0 or less (it would be \
             satisfied by any embedding); the default is 1.0",
        ));
    }
    Ok(())
}

/// The dimension check (aten's for `triplet_margin_loss`, Python's for
/// `triplet_margin_with_distance_loss`; both word it the same way in 2.13).
fn dims_check(anchor: &[usize], positive: &[usize], negative: &[usize]) -> Result<(), LossError> {
    let (a, p, n) = (anchor.len(), positive.len(), negative.len());
    if a == p && p == n {
        return Ok(());
    }
    Err(LossError::runtime(
        format!(
            "The anchor, positive, and negative tensors are expected to have the same number \
             of dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs"
        ),
        "anchor, positive and negative are one embedding each per triplet, with the \
         features in the last dimension: (D) for one triplet, (N, D) for a batch; give all \
         three the same number of dimensions (sizes of 1 then broadcast)",
    ))
}

/// `linalg_vector_norm`'s refusal of an order without an identity (negative or `inf`)
/// over an empty dimension.
fn norm_check(diff: &[usize], p: f64) -> Result<(), LossError> {
    let empty = diff.contains(&0);
    if empty && (p < 0.0 || p == f64::INFINITY) && diff.last() == Some(&0) {
        return Err(LossError::runtime(
            format!(
                "linalg.vector_norm cannot compute the {} norm on the dimension {}because this \
                 dimension is empty and the operation does not have an identity",
                cpp_double(p),
                diff.len() - 1
            ),
            format!(
                "the embeddings have no features (their last dimension is empty): the \
                 distance of two empty vectors is 0 for p >= 0, but undefined for p = {}",
                cpp_double(p)
            ),
        ));
    }
    Ok(())
}

/// The shapes of a validated call.
#[derive(Debug, Clone)]
pub(crate) struct TripletPlan {
    /// The shapes of the differences `x1 - x2 + eps`: anchor and positive, anchor and
    /// negative, and (under `swap`) positive and negative.
    ap: Vec<usize>,
    an: Vec<usize>,
    pn: Option<Vec<usize>>,
    /// The shape of the negative distance: `d(a, n)`'s, or under `swap` its broadcast
    /// with `d(p, n)`'s.
    dneg: Vec<usize>,
    /// The loss's shape with `reduction='none'`.
    pub(crate) out: Vec<usize>,
}

/// The shape of a distance: the difference's without its last dimension (a 0-D
/// difference gives a 0-D distance).
fn dist_shape(diff: &[usize]) -> &[usize] {
    &diff[..diff.len().saturating_sub(1)]
}

/// Every check of `triplet_margin_loss` before a value is read, in PyTorch's order:
/// the margin (Python), the dimensions, then each `pairwise_distance` (the broadcast of
/// `x1 - x2`, the norm's empty-dimension check) as aten computes them, the `min` of the
/// swap, and the broadcast of `margin + d_pos - d_neg`.
pub(crate) fn triplet_plan(
    anchor: &[usize],
    positive: &[usize],
    negative: &[usize],
    margin: f64,
    p: f64,
    swap: bool,
) -> Result<TripletPlan, LossError> {
    margin_check(margin)?;
    dims_check(anchor, positive, negative)?;
    let ap = broadcast_named(anchor, "anchor", positive, "positive")?;
    norm_check(&ap, p)?;
    let an = broadcast_named(anchor, "anchor", negative, "negative")?;
    norm_check(&an, p)?;
    let (pn, dneg) = if swap {
        let pn = broadcast_named(positive, "positive", negative, "negative")?;
        norm_check(&pn, p)?;
        let dneg = broadcast_named(
            dist_shape(&an),
            "anchor-negative distances",
            dist_shape(&pn),
            "positive-negative distances",
        )?;
        (Some(pn), dneg)
    } else {
        (None, dist_shape(&an).to_vec())
    };
    let out = broadcast_named(
        dist_shape(&ap),
        "positive distances",
        &dneg,
        "negative distances",
    )?;
    Ok(TripletPlan {
        ap,
        an,
        pn,
        dneg,
        out,
    })
}

// ---------------------------------------------------------------------------------
// The distances
// ---------------------------------------------------------------------------------

/// `f(r)` for each of `rows` rows of `len` elements, in parallel on large inputs (a
/// row on one thread: the same bits on any number).
fn per_row<T: Send>(rows: usize, len: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if rows > 1 && rows * len > CHUNK {
        (0..rows).into_par_iter().map(f).collect()
    } else {
        (0..rows).map(f).collect()
    }
}

/// `max` and `min` that return a NaN operand, as libtorch's reductions do.
#[inline(always)]
fn max_nan<F: Float>(a: F, b: F) -> F {
    if a.is_nan() {
        a
    } else if b.is_nan() || b > a {
        b
    } else {
        a
    }
}

#[inline(always)]
fn min_nan<F: Float>(a: F, b: F) -> F {
    if a.is_nan() {
        a
    } else if b.is_nan() || b < a {
        b
    } else {
        a
    }
}

/// `sqrt(sum u^2)` as libtorch's AVX2 kernel for a contiguous last dimension: 32 bytes
/// of lanes (8 `f32`, 4 `f64`) each accumulating its squares (the product rounded, then
/// the sum), the lanes added left to right, then the remainder added serially: whole
/// blocks of four as plain products and sums, the last ones with fused multiply-adds
/// (how GCC compiled the scalar loop). Compiled for AVX2 and FMA where the CPU has them
/// (the same operations, so the same bits: no contraction, `mul_add` only where
/// written).
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn norm_two<F: Float>(v: &[F]) -> F {
    let w = 32 / std::mem::size_of::<F>();
    let mut acc = [F::zero(); 8];
    let main = v.len() - v.len() % w;
    for block in v[..main].chunks_exact(w) {
        for j in 0..w {
            acc[j] += block[j] * block[j];
        }
    }
    let mut s = acc[0];
    for &a in &acc[1..w] {
        s += a;
    }
    let tail = &v[main..];
    let plain = tail.len() / 4 * 4;
    for &x in &tail[..plain] {
        s += x * x;
    }
    for &x in &tail[plain..] {
        s = x.mul_add(x, s);
    }
    s.sqrt()
}

/// The `p`-norm of one row of differences, as libtorch's norm kernel computes it in the
/// row's type. `zero_dim`: the difference is 0-D (libtorch's general kernel, not the
/// size-1 shortcut).
fn norm_row<F: Float>(v: &[F], p: f64, zero_dim: bool) -> F {
    let (zero, one) = (F::zero(), F::one());
    if v.is_empty() {
        return zero;
    }
    if v.len() == 1 && !zero_dim {
        // linalg_vector_norm's shortcut for a reduction over dimensions of size 1.
        return if p == 0.0 {
            if v[0] != zero { one } else { zero }
        } else {
            v[0].abs()
        };
    }
    if p == 2.0 {
        return if zero_dim {
            (v[0] * v[0]).sqrt()
        } else {
            norm_two(v)
        };
    }
    if p == 0.0 {
        return v
            .iter()
            .fold(zero, |s, &x| if x != zero { s + one } else { s });
    }
    if p == 1.0 {
        return v.iter().fold(zero, |s, &x| s + x.abs());
    }
    if p == f64::INFINITY {
        return v.iter().fold(zero, |s, &x| max_nan(s, x.abs()));
    }
    if p == f64::NEG_INFINITY {
        return v.iter().fold(F::infinity(), |s, &x| min_nan(s, x.abs()));
    }
    let pf = F::of_f64(p);
    let sum = v.iter().fold(zero, |s, &x| s + x.abs().powf(pf));
    sum.powf(one / pf)
}

/// `out[i] = (a[i] - b[i]) + eps`, each step rounded.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn differences<F: Float>(a: &[F], b: &[F], eps: F, out: &mut [F]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = (x - y) + eps;
    }
}

/// One `pairwise_distance(x1, x2, p, eps)`: the differences `x1 - x2 + eps` (each step
/// rounded, row-major over their broadcast shape) and the norms of their rows.
struct Distance<F> {
    diff: Vec<F>,
    dist: Vec<F>,
    /// Elements per row (1 for a 0-D difference).
    cols: usize,
}

fn distance<F: Float>(
    x1: &ArrayViewD<'_, F>,
    x2: &ArrayViewD<'_, F>,
    shape: &[usize],
    p: f64,
    eps: F,
) -> Result<Distance<F>, LossError> {
    let (a, b) = (expanded(x1, shape)?, expanded(x2, shape)?);
    let mut diff = vec![F::zero(); a.len()];
    if a.len() > CHUNK {
        diff.par_chunks_mut(CHUNK)
            .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
            .for_each(|(d, (a, b))| differences(a, b, eps, d));
    } else {
        differences(&a, &b, eps, &mut diff);
    }
    let zero_dim = shape.is_empty();
    let cols = shape.last().copied().unwrap_or(1);
    let rows: usize = dist_shape(shape).iter().product();
    let dist = per_row(rows, cols, |r| {
        norm_row(&diff[r * cols..(r + 1) * cols], p, zero_dim)
    });
    Ok(Distance { diff, dist, cols })
}

/// `values` of shape `from` broadcast to `to`, row-major (borrowed when the shapes are
/// equal).
fn broadcast_to<'a, F: Float>(
    values: &'a [F],
    from: &[usize],
    to: &[usize],
) -> Result<Cow<'a, [F]>, LossError> {
    if from == to {
        return Ok(Cow::Borrowed(values));
    }
    let view = ArrayViewD::from_shape(IxDyn(from), values).map_err(internal)?;
    let wide = view
        .broadcast(IxDyn(to))
        .ok_or_else(|| internal("broadcast of a checked shape"))?;
    Ok(Cow::Owned(wide.iter().copied().collect()))
}

/// `torch.minimum`: NaN if either is NaN.
#[inline(always)]
fn minimum<F: Float>(a: F, b: F) -> F {
    if a.is_nan() || b.is_nan() {
        F::nan()
    } else if b < a {
        b
    } else {
        a
    }
}

/// The forward's values, which the gradients need too.
struct Forward<F> {
    ap: Distance<F>,
    an: Distance<F>,
    pn: Option<Distance<F>>,
    /// `clamp_min`'s argument `(margin + d(a, p)) - d_neg`, over the output's shape.
    arg: Vec<F>,
}

fn forward<F: Float>(
    plan: &TripletPlan,
    anchor: &ArrayViewD<'_, F>,
    positive: &ArrayViewD<'_, F>,
    negative: &ArrayViewD<'_, F>,
    options: &TripletMarginOptions,
) -> Result<Forward<F>, LossError> {
    let eps = F::of_f64(options.eps);
    let ap = distance(anchor, positive, &plan.ap, options.p, eps)?;
    let an = distance(anchor, negative, &plan.an, options.p, eps)?;
    let (pn, dneg) = match &plan.pn {
        Some(shape) => {
            let pn = distance(positive, negative, shape, options.p, eps)?;
            let x = broadcast_to(&an.dist, dist_shape(&plan.an), &plan.dneg)?;
            let y = broadcast_to(&pn.dist, dist_shape(shape), &plan.dneg)?;
            let m: Vec<F> = x
                .iter()
                .zip(y.iter())
                .map(|(&x, &y)| minimum(x, y))
                .collect();
            (Some(pn), Cow::Owned(m))
        }
        None => (None, Cow::Borrowed(&an.dist[..])),
    };
    let m = F::of_f64(options.margin);
    let dp = broadcast_to(&ap.dist, dist_shape(&plan.ap), &plan.out)?;
    let dn = broadcast_to(&dneg, &plan.dneg, &plan.out)?;
    let arg = dp
        .iter()
        .zip(dn.iter())
        .map(|(&x, &y)| (m + x) - y)
        .collect();
    Ok(Forward { ap, an, pn, arg })
}

fn loss<F: Float>(
    anchor: ArrayViewD<'_, F>,
    positive: ArrayViewD<'_, F>,
    negative: ArrayViewD<'_, F>,
    options: &TripletMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    let plan = triplet_plan(
        anchor.shape(),
        positive.shape(),
        negative.shape(),
        options.margin,
        options.p,
        options.swap,
    )?;
    let f = forward(&plan, &anchor, &positive, &negative, options)?;
    let losses: Vec<F> = f.arg.iter().map(|&v| clamp_min0(v)).collect();
    // One loss per triplet, each the result of whole rows: a plain ordered sum.
    // (From +0.0: Rust's `Sum` of floats starts at -0.0, libtorch's sum at +0.0.)
    let total = || losses.iter().fold(0.0f64, |s, v| s + v.to_f64_exact());
    Ok(match options.reduction {
        Reduction::None => shaped(&plan.out, losses)?,
        // The sum rounded to `F`, then divided in `F` as libtorch's `mean` (NaN for
        // no triplet).
        Reduction::Mean => scalar(F::of_f64(total()) / F::of_f64(losses.len() as f64)),
        Reduction::Sum => scalar(F::of_f64(total())),
    })
}

// ---------------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------------

/// `x.pow(e)` for a tensor and a scalar exponent, with libtorch's special cases (exact
/// compositions for 0.5, -0.5, -1, 2, 3, -2; a copy for 1, ones for 0); otherwise
/// `std::pow(x, double(e))`, which for `f32` runs in `f64` and rounds once.
#[inline(always)]
fn pow_scalar<F: Float>(x: F, e: f64) -> F {
    let one = F::one();
    if e == 0.0 {
        one
    } else if e == 1.0 {
        x
    } else if e == 0.5 {
        x.sqrt()
    } else if e == -0.5 {
        one / x.sqrt()
    } else if e == -1.0 {
        one / x
    } else if e == 2.0 {
        x * x
    } else if e == 3.0 {
        x * x * x
    } else if e == -2.0 {
        one / (x * x)
    } else {
        F::of_f64(x.to_f64_exact().powf(e))
    }
}

/// `torch.sgn` of a real: -1, 0 or 1, and 0 for NaN and both zeros.
#[inline(always)]
fn sgn<F: Float>(x: F) -> F {
    if x > F::zero() {
        F::one()
    } else if x < F::zero() {
        -F::one()
    } else {
        F::zero()
    }
}

/// `out[i] = f(u[i])`.
#[inline(always)]
fn each<F: Copy>(out: &mut [F], u: &[F], f: impl Fn(F) -> F) {
    out.iter_mut().zip(u).for_each(|(o, &x)| *o = f(x));
}

/// `out[i] = g * (u[i] / norm)`, 0 where the norm is 0: the 2-norm's backward, the
/// common case, compiled for AVX2 where the CPU has it.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn two_norm_backward<F: Float>(out: &mut [F], u: &[F], norm: F, g: F) {
    if norm == F::zero() {
        out.iter_mut().for_each(|o| *o = g * F::zero());
        return;
    }
    for (o, &x) in out.iter_mut().zip(u) {
        *o = g * (x / norm);
    }
}

/// Autograd's `norm_backward` for one distance: the gradient of the differences, given
/// the gradient `g` of each row's norm, in aten's order for each order `p`:
///
/// - 2: `g * (u / norm)`, 0 where the norm is 0;
/// - 1: `sgn(u) * g`;
/// - ±inf: `sgn(u) * ((g / count) * mask)`, `mask` where `|u|` is the norm (or NaN);
/// - below 1: `((sgn(u) * |u|^(p-1)) * g) * norm^(1-p)`, 0 where `u` is 0;
/// - between 1 and 2: `(sgn(u) * |u|^(p-1)) * (g / norm^(p-1))`;
/// - above 2 (and NaN): `(u * |u|^(p-2)) * (g / norm^(p-1))`, 0 where the norm is 0.
fn norm_backward<F: Float>(d: &Distance<F>, g: &[F], p: f64) -> Vec<F> {
    let cols = d.cols;
    let zero = F::zero();
    let fill = |r: usize, out: &mut [F]| {
        let (u, norm, g) = (&d.diff[r * cols..(r + 1) * cols], d.dist[r], g[r]);
        if p == 2.0 {
            two_norm_backward(out, u, norm, g);
        } else if p == 1.0 {
            each(out, u, |x| sgn(x) * g);
        } else if p.is_infinite() {
            let hit = |x: F| x.abs() == norm || x.abs().is_nan();
            let count = F::of_f64(u.iter().filter(|&&x| hit(x)).count() as f64);
            let share = g / count;
            each(out, u, |x| {
                sgn(x) * (share * if hit(x) { F::one() } else { zero })
            });
        } else if p < 1.0 {
            let scale = pow_scalar(norm, 1.0 - p);
            each(out, u, |x| {
                let power = if x == zero {
                    zero
                } else {
                    pow_scalar(x.abs(), p - 1.0)
                };
                ((sgn(x) * power) * g) * scale
            });
        } else {
            let scale = if norm == zero {
                zero
            } else {
                g / pow_scalar(norm, p - 1.0)
            };
            if p < 2.0 {
                each(out, u, |x| (sgn(x) * pow_scalar(x.abs(), p - 1.0)) * scale);
            } else {
                each(out, u, |x| (x * pow_scalar(x.abs(), p - 2.0)) * scale);
            }
        }
    };
    let mut out = vec![zero; d.diff.len()];
    if cols > 0 {
        if out.len() > CHUNK && d.dist.len() > 1 {
            out.par_chunks_mut(cols)
                .enumerate()
                .for_each(|(r, o)| fill(r, o));
        } else {
            out.chunks_mut(cols)
                .enumerate()
                .for_each(|(r, o)| fill(r, o));
        }
    }
    out
}

/// A row-major vector of shape `from` summed down to `to` (a shape it was broadcast
/// from), as autograd reduces a broadcast gradient.
fn sum_to_vec<F: Float>(values: Vec<F>, from: &[usize], to: &[usize]) -> Result<Vec<F>, LossError> {
    if from == to {
        return Ok(values);
    }
    Ok(sum_to(values, from, to)?.iter().copied().collect())
}

/// What `torch.autograd.grad` raises with `p = 0`: the norm's backward gives no
/// gradient, so no tensor receives one.
fn no_gradient_at_p0() -> LossError {
    LossError::runtime(
        "The differentiated Tensor at index 0 appears to not have been used in the graph. \
         Set allow_unused=True if this is the desired behavior.",
        "with p=0 the distance counts the non-zero differences, a step function with no \
         gradient: PyTorch gives anchor, positive and negative none (their .grad stays \
         None); use p > 0 to train embeddings",
    )
}

/// Which tensor a gradient is for.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Anchor,
    Positive,
    Negative,
}

fn backward<F: Float>(
    grad_output: ArrayViewD<'_, F>,
    anchor: ArrayViewD<'_, F>,
    positive: ArrayViewD<'_, F>,
    negative: ArrayViewD<'_, F>,
    options: &TripletMarginOptions,
    role: Role,
) -> Result<ArrayD<F>, LossError> {
    let plan = triplet_plan(
        anchor.shape(),
        positive.shape(),
        negative.shape(),
        options.margin,
        options.p,
        options.swap,
    )?;
    let g = grad_source(&grad_output, options.reduction, &plan.out)?;
    if options.p == 0.0 {
        return Err(no_gradient_at_p0());
    }
    let f = forward(&plan, &anchor, &positive, &negative, options)?;
    let zero = F::zero();
    // clamp_min's backward passes the gradient where its argument is >= 0 (the kink
    // included, NaN excluded).
    let gq: Vec<F> = f
        .arg
        .iter()
        .enumerate()
        .map(|(i, &arg)| {
            let g = match &g {
                Grad::Each(gs) => gs[i],
                Grad::One(g) => *g,
            };
            if arg >= zero { g } else { zero }
        })
        .collect();
    let (ap_shape, an_shape) = (dist_shape(&plan.ap), dist_shape(&plan.an));
    // `margin + d_pos - d_neg`: the positive distance gets the gradient, the negative
    // one its opposite.
    let g_dp = || sum_to_vec(gq.clone(), &plan.out, ap_shape);
    let g_dneg = || sum_to_vec(gq.iter().map(|&v| -v).collect(), &plan.out, &plan.dneg);
    // `minimum`'s backward: the gradient goes to the smaller distance, half to each on a
    // tie, to both where one is NaN.
    let swap_grads =
        |pn: &Distance<F>, pn_shape: &[usize]| -> Result<(Vec<F>, Vec<F>), LossError> {
            let gn = g_dneg()?;
            let x = broadcast_to(&f.an.dist, an_shape, &plan.dneg)?;
            let y = broadcast_to(&pn.dist, dist_shape(pn_shape), &plan.dneg)?;
            let two = F::one() + F::one();
            let base = |i: usize| if x[i] == y[i] { gn[i] / two } else { gn[i] };
            let to_an = (0..gn.len())
                .map(|i| if x[i] > y[i] { zero } else { base(i) })
                .collect();
            let to_pn = (0..gn.len())
                .map(|i| if x[i] < y[i] { zero } else { base(i) })
                .collect();
            Ok((
                sum_to_vec(to_an, &plan.dneg, an_shape)?,
                sum_to_vec(to_pn, &plan.dneg, dist_shape(pn_shape))?,
            ))
        };
    // Each distance's gradient, summed back to the tensor's shape: `x1 - x2 + eps`
    // gives it to x1, and its opposite to x2 (negated before the sum, as autograd
    // does: the signs of zero sums depend on it).
    let to_tensor = |d: &Distance<F>, g_d: &[F], diff_shape: &[usize], to: &[usize], x2: bool| {
        let mut g_diff = norm_backward(d, g_d, options.p);
        if x2 {
            g_diff.iter_mut().for_each(|v| *v = -*v);
        }
        sum_to_vec(g_diff, diff_shape, to)
    };
    let (a_shape, p_shape, n_shape) = (anchor.shape(), positive.shape(), negative.shape());
    let add = |mut a: Vec<F>, b: Vec<F>| -> Vec<F> {
        a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        a
    };
    let (values, shape) = match (role, &f.pn, &plan.pn) {
        (Role::Anchor, pn, pn_shape) => {
            let from_ap = to_tensor(&f.ap, &g_dp()?, &plan.ap, a_shape, false)?;
            let g_an = match (pn, pn_shape) {
                (Some(pn), Some(s)) => swap_grads(pn, s)?.0,
                _ => g_dneg()?,
            };
            let from_an = to_tensor(&f.an, &g_an, &plan.an, a_shape, false)?;
            (add(from_ap, from_an), a_shape)
        }
        (Role::Positive, Some(pn), Some(s)) => {
            let from_ap = to_tensor(&f.ap, &g_dp()?, &plan.ap, p_shape, true)?;
            let (_, g_pn) = swap_grads(pn, s)?;
            let from_pn = to_tensor(pn, &g_pn, s, p_shape, false)?;
            (add(from_ap, from_pn), p_shape)
        }
        (Role::Positive, _, _) => (
            to_tensor(&f.ap, &g_dp()?, &plan.ap, p_shape, true)?,
            p_shape,
        ),
        (Role::Negative, Some(pn), Some(s)) => {
            let (g_an, g_pn) = swap_grads(pn, s)?;
            let from_an = to_tensor(&f.an, &g_an, &plan.an, n_shape, true)?;
            let from_pn = to_tensor(pn, &g_pn, s, n_shape, true)?;
            (add(from_an, from_pn), n_shape)
        }
        (Role::Negative, _, _) => (
            to_tensor(&f.an, &g_dneg()?, &plan.an, n_shape, true)?,
            n_shape,
        ),
    };
    shaped(shape, values)
}

// ---------------------------------------------------------------------------------
// triplet_margin_loss
// ---------------------------------------------------------------------------------

/// The triplet margin loss, as `torch.nn.functional.triplet_margin_loss(anchor,
/// positive, negative, margin=..., p=..., eps=..., swap=..., reduction=...)`:
/// `clamp_min(margin + d(a, p) - d_neg, 0)` per triplet, with `d(x1, x2) =
/// pairwise_distance(x1, x2, p, eps) = norm(x1 - x2 + eps, p, dim=-1)` and `d_neg =
/// d(a, n)`, or `min(d(a, n), d(p, n))` with `swap`; then reduced.
///
/// Shapes: the three tensors must have the same number of dimensions (any, 0-D
/// included); the features are the last dimension, so `(N, D)` gives `N` losses, `(D)`
/// one 0-D loss, `(N, M, D)` an `(N, M)` loss. Sizes of 1 broadcast between each pair
/// (an anchor `(1, D)` against `(N, D)`, a `(N, 1)` feature dimension against `(N,
/// D)`); without `swap`, the positive and the negative need not even share `D`. An
/// empty batch gives NaN for `mean`, 0 for `sum`; an empty feature dimension gives
/// distances of 0 (and an error for `p < 0` or `p = inf`, as in PyTorch). NaN and
/// overflow propagate as in libtorch (`inf - inf` in a difference is NaN).
///
/// Exactness: the distances follow libtorch's CPU norm kernel in the tensors' own type
/// (`f32` accumulates in `f32`, as libtorch does): `p = 2` as its AVX2 kernel (8 `f32` or
/// 4 `f64` lanes of separately rounded squares and sums, folded left to right, then the
/// remainder serially: blocks of four plainly, the rest with fused multiply-adds, as GCC
/// compiled it), every other `p` serially (`sum |u|^p`, then `^(1/p)`, `powf` in the
/// type), a feature dimension of size 1 as `|u|`. So on AVX2 machines the distances, the
/// `none` losses and the gradients (for all three tensors) are bit-exact with libtorch,
/// signs of zeros included, for `f32` and `f64`: the tests check it bit for bit. Not
/// bit-exact, but within the tolerance policy (`Float::ATOL`, `Float::RTOL`): `mean` and
/// `sum` (added here in `f64`, by libtorch in the type with its cascade sum); gradients
/// of a broadcast feature dimension (libtorch sums them in its own order); rows of
/// 32768 elements or more for `p != 2` (libtorch may split them between threads);
/// AVX-512 builds of libtorch (16 or 8 lanes for `p = 2`); gradients that need a power
/// other than libtorch's exact special cases (exponents 0, ±0.5, ±1, 2, 3, -2: so `p =
/// 2.5` or `1.7`), where libtorch's vectorised `pow` (SLEEF, within 1 ulp) may differ in
/// the last bit from the `pow` used here. Results do not depend on the thread count.
///
/// ```
/// use lossparity_losses::{triplet_margin_loss, Reduction, TripletMarginOptions};
/// use ndarray::array;
///
/// let anchor = array![[0.0f64, 0.0], [1.0, 2.0]];
/// let positive = array![[3.0f64, 4.0], [1.0, 2.0]];
/// let negative = array![[1.0f64, 0.0], [4.0, 6.0]];
/// let opts = TripletMarginOptions::default().reduction(Reduction::None);
/// let loss = triplet_margin_loss(anchor.view(), positive.view(), negative.view(), &opts)?;
/// // torch 2.13: [4.999999599999504, 0.0] (eps shows)
/// assert_eq!(loss.as_slice().unwrap(), &[4.999999599999504, 0.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_loss<F: Float, D: Dimension, E: Dimension, H: Dimension>(
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    loss(
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        options,
    )
}

/// The gradient of `sum(triplet_margin_loss(anchor, positive, negative) *
/// grad_output)` with respect to the anchor, as autograd differentiates the
/// composition: where `margin + d(a, p) - d_neg >= 0` (the kink included, NaN
/// excluded) the triplet's gradient `g` (divided by the triplet count for `mean`) goes
/// to `d(a, p)` and `-g` to `d_neg` (under `swap`, to the smaller of `d(a, n)` and
/// `d(p, n)`, half to each on a tie); each distance passes it on through the norm's
/// backward (see the module docs; 0 where a difference's norm is 0 for `p = 2`), and
/// the anchor gets both, summed back over what broadcasting added.
///
/// `grad_output` has the loss's `none` shape, or is 0-D for `mean` and `sum` (another
/// shape is autograd's "Mismatch in shape" error). With `p = 0` PyTorch gives no
/// gradient at all and this returns autograd's error (after the shape checks).
///
/// ```
/// use lossparity_losses::{triplet_margin_loss_backward, TripletMarginOptions};
/// use ndarray::{arr0, array};
///
/// let anchor = array![[0.0f64, 0.0]];
/// let positive = array![[3.0f64, 4.0]];
/// let negative = array![[1.0f64, 0.0]];
/// let opts = TripletMarginOptions::default().eps(0.0);
/// let g = triplet_margin_loss_backward(arr0(1.0).view(), anchor.view(), positive.view(),
///                                      negative.view(), &opts)?;
/// // torch 2.13: [[0.4, -0.8]]
/// assert_eq!(g.as_slice().unwrap(), &[0.4, -0.8]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_loss_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    backward(
        grad_output.into_dyn(),
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        options,
        Role::Anchor,
    )
}

/// The gradient of `sum(triplet_margin_loss(anchor, positive, negative) *
/// grad_output)` with respect to the positive: the opposite of `d(a, p)`'s share of
/// [`triplet_margin_loss_backward`], plus (under `swap`) `d(p, n)`'s gradient where it
/// is the negative distance, summed back to the positive's shape.
///
/// ```
/// use lossparity_losses::{triplet_margin_loss_positive_backward, TripletMarginOptions};
/// use ndarray::{arr0, array};
///
/// let anchor = array![[0.0f64, 0.0]];
/// let positive = array![[3.0f64, 4.0]];
/// let negative = array![[1.0f64, 0.0]];
/// let opts = TripletMarginOptions::default().eps(0.0);
/// let g = triplet_margin_loss_positive_backward(arr0(1.0).view(), anchor.view(),
///                                               positive.view(), negative.view(), &opts)?;
/// // torch 2.13: [[0.6, 0.8]]
/// assert_eq!(g.as_slice().unwrap(), &[0.6, 0.8]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_loss_positive_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    backward(
        grad_output.into_dyn(),
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        options,
        Role::Positive,
    )
}

/// The gradient of `sum(triplet_margin_loss(anchor, positive, negative) *
/// grad_output)` with respect to the negative: the opposite of the gradients of `d(a,
/// n)` and (under `swap`) `d(p, n)` through their norms, summed back to the negative's
/// shape.
///
/// ```
/// use lossparity_losses::{triplet_margin_loss_negative_backward, TripletMarginOptions};
/// use ndarray::{arr0, array};
///
/// let anchor = array![[0.0f64, 0.0]];
/// let positive = array![[3.0f64, 4.0]];
/// let negative = array![[1.0f64, 0.0]];
/// let opts = TripletMarginOptions::default().eps(0.0);
/// let g = triplet_margin_loss_negative_backward(arr0(1.0).view(), anchor.view(),
///                                               positive.view(), negative.view(), &opts)?;
/// // torch 2.13: [[-1.0, 0.0]]
/// assert_eq!(g.as_slice().unwrap(), &[-1.0, 0.0]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_loss_negative_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    backward(
        grad_output.into_dyn(),
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        options,
        Role::Negative,
    )
}

// ---------------------------------------------------------------------------------
// triplet_margin_with_distance_loss
// ---------------------------------------------------------------------------------

/// The triplet loss with a distance function, as
/// `torch.nn.functional.triplet_margin_with_distance_loss(anchor, positive, negative,
/// distance_function=None, margin=..., swap=..., reduction=...)`: with no distance
/// function PyTorch uses `torch.pairwise_distance` (`p=2`, `eps=1e-6`), and its Python
/// composition is aten's `triplet_margin_loss`'s, so the values, gradients, shapes and
/// errors are [`triplet_margin_loss`]'s with `p = 2`, `eps = 1e-6` (the dimension check
/// is written in Python here, with the same message; the margin must be greater than
/// 0, a `ValueError`). Custom distance functions are not supported.
///
/// ```
/// use lossparity_losses::{triplet_margin_with_distance_loss, TripletMarginWithDistanceOptions};
/// use ndarray::array;
///
/// let anchor = array![[0.0f32, 0.0], [1.0, 2.0]];
/// let positive = array![[3.0f32, 4.0], [1.0, 2.0]];
/// let negative = array![[1.0f32, 0.0], [4.0, 6.0]];
/// let opts = TripletMarginWithDistanceOptions::default().swap(true);
/// let loss = triplet_margin_with_distance_loss(anchor.view(), positive.view(),
///                                              negative.view(), &opts)?;
/// // torch 2.13: 2.499999761581421 (the second triplet costs nothing: its positive is
/// // the anchor, and swapping in d(p, n) = 5 changes nothing)
/// assert_eq!(loss.sum(), 2.499999761581421);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_with_distance_loss<F: Float, D: Dimension, E: Dimension, H: Dimension>(
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginWithDistanceOptions,
) -> Result<ArrayD<F>, LossError> {
    loss(
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        &options.as_triplet(),
    )
}

/// The gradient of `sum(triplet_margin_with_distance_loss(anchor, positive, negative)
/// * grad_output)` with respect to the anchor: [`triplet_margin_loss_backward`] with
/// `p = 2`, `eps = 1e-6`.
///
/// ```
/// use lossparity_losses::{triplet_margin_with_distance_loss_backward, TripletMarginWithDistanceOptions};
/// use ndarray::{arr0, array};
///
/// let (a, p, n) = (array![[0.0f64, 0.0]], array![[3.0f64, 4.0]], array![[1.0f64, 0.0]]);
/// let opts = TripletMarginWithDistanceOptions::default();
/// let g = triplet_margin_with_distance_loss_backward(arr0(1.0).view(), a.view(), p.view(),
///                                                    n.view(), &opts)?;
/// // torch 2.13: [[0.4000000319995095, -0.800001024001006]]
/// assert_eq!(g.as_slice().unwrap(), &[0.4000000319995095, -0.800001024001006]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_with_distance_loss_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginWithDistanceOptions,
) -> Result<ArrayD<F>, LossError> {
    backward(
        grad_output.into_dyn(),
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        &options.as_triplet(),
        Role::Anchor,
    )
}

/// The gradient of `sum(triplet_margin_with_distance_loss(anchor, positive, negative)
/// * grad_output)` with respect to the positive: [`triplet_margin_loss_positive_backward`]
/// with `p = 2`, `eps = 1e-6`.
///
/// ```
/// use lossparity_losses::{triplet_margin_with_distance_loss_positive_backward, TripletMarginWithDistanceOptions};
/// use ndarray::{arr0, array};
///
/// let (a, p, n) = (array![[0.0f64, 0.0]], array![[3.0f64, 4.0]], array![[1.0f64, 0.0]]);
/// let opts = TripletMarginWithDistanceOptions::default();
/// let g = triplet_margin_with_distance_loss_positive_backward(arr0(1.0).view(), a.view(),
///                                                             p.view(), n.view(), &opts)?;
/// // torch 2.13: [[0.5999999679999906, 0.800000024000006]]
/// assert_eq!(g.as_slice().unwrap(), &[0.5999999679999906, 0.800000024000006]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_with_distance_loss_positive_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginWithDistanceOptions,
) -> Result<ArrayD<F>, LossError> {
    backward(
        grad_output.into_dyn(),
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        &options.as_triplet(),
        Role::Positive,
    )
}

/// The gradient of `sum(triplet_margin_with_distance_loss(anchor, positive, negative)
/// * grad_output)` with respect to the negative: [`triplet_margin_loss_negative_backward`]
/// with `p = 2`, `eps = 1e-6`.
///
/// ```
/// use lossparity_losses::{triplet_margin_with_distance_loss_negative_backward, TripletMarginWithDistanceOptions};
/// use ndarray::{arr0, array};
///
/// let (a, p, n) = (array![[0.0f64, 0.0]], array![[3.0f64, 4.0]], array![[1.0f64, 0.0]]);
/// let opts = TripletMarginWithDistanceOptions::default();
/// let g = triplet_margin_with_distance_loss_negative_backward(arr0(1.0).view(), a.view(),
///                                                             p.view(), n.view(), &opts)?;
/// // torch 2.13: [[-0.9999999999995001, 1.0000010000005002e-06]]
/// assert_eq!(g.as_slice().unwrap(), &[-0.9999999999995001, 1.0000010000005002e-06]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn triplet_margin_with_distance_loss_negative_backward<
    F: Float,
    G: Dimension,
    D: Dimension,
    E: Dimension,
    H: Dimension,
>(
    grad_output: ArrayView<'_, F, G>,
    anchor: ArrayView<'_, F, D>,
    positive: ArrayView<'_, F, E>,
    negative: ArrayView<'_, F, H>,
    options: &TripletMarginWithDistanceOptions,
) -> Result<ArrayD<F>, LossError> {
    backward(
        grad_output.into_dyn(),
        anchor.into_dyn(),
        positive.into_dyn(),
        negative.into_dyn(),
        &options.as_triplet(),
        Role::Negative,
    )
}

/// The checks of `triplet_margin_with_distance_loss` (for the harness): the same as
/// [`triplet_plan`]'s with `p = 2`.
#[cfg_attr(not(feature = "unstable-public-internals"), allow(dead_code))]
pub(crate) fn triplet_with_distance_plan(
    anchor: &[usize],
    positive: &[usize],
    negative: &[usize],
    margin: f64,
    swap: bool,
) -> Result<TripletPlan, LossError> {
    triplet_plan(anchor, positive, negative, margin, 2.0, swap)
}
