//! `kl_div`: the Kullback-Leibler divergence of a target distribution from an input
//! given as log-probabilities, with PyTorch 2.13's four reductions (`batchmean`
//! included) and its `log_target` flag.
//!
//! libtorch composes it from element-wise ops (`xlogy(t, t) - t * x`, or
//! `exp(t) * (t - x)` with `log_target`) and autograd differentiates that composition;
//! the functions here compute the same values in one pass, in the same order of
//! operations, and their gradients as autograd's chain of backwards forms them.
//!
//! This module also holds the machinery the element-wise losses of
//! [`super::probabilistic`] share with it: zipped sums and maps over slices, and the
//! gradient flowing back into each element loss.

use std::borrow::Cow;

use multiversion::multiversion;
use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::elementwise::{CHUNK, broadcast_shape, expanded, fold_lanes, sum_chunks, sum_to};
use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{LANES, exp_f64};

/// How [`kl_div`] combines its element losses, as PyTorch's `reduction=` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KlDivReduction {
    /// One loss per element, of the broadcast shape of input and target.
    None,
    /// The sum divided by the number of elements: PyTorch's default, which warns that
    /// it is not the KL divergence (it also divides by the support size).
    #[default]
    Mean,
    /// The plain sum.
    Sum,
    /// The sum divided by `input.shape[0]` (the batch size): the KL divergence of each
    /// row's distribution, averaged over the rows. A 0-D input is not divided.
    BatchMean,
}

impl KlDivReduction {
    /// PyTorch's name: `none`, `mean`, `sum`, `batchmean`.
    pub fn as_str(self) -> &'static str {
        match self {
            KlDivReduction::None => "none",
            KlDivReduction::Mean => "mean",
            KlDivReduction::Sum => "sum",
            KlDivReduction::BatchMean => "batchmean",
        }
    }
}

/// Options of [`kl_div`] (and its backwards), as PyTorch's keyword arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct KlDivOptions {
    /// How the element losses are combined; `mean` by default.
    pub reduction: KlDivReduction,
    /// Whether the target holds log-probabilities (`false` by default: probabilities).
    pub log_target: bool,
}

impl KlDivOptions {
    /// The given reduction.
    pub fn reduction(mut self, reduction: KlDivReduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Whether the target holds log-probabilities.
    pub fn log_target(mut self, log_target: bool) -> Self {
        self.log_target = log_target;
        self
    }
}

/// The KL divergence loss, as `torch.nn.functional.kl_div(input, target,
/// reduction=..., log_target=...)`.
///
/// `input` holds log-probabilities (e.g. a `log_softmax`), `target` probabilities, or
/// log-probabilities with `log_target`. The element loss is libtorch's
/// `xlogy(t, t) - t * x` (`0` where `t == 0`, NaN where `t` is negative or NaN), or
/// `exp(t) * (t - x)` with `log_target` (NaN where `t = -inf`: `0 * -inf`). The loss is
/// `KL(target || exp(input))`: the target is the reference distribution.
///
/// Input and target broadcast against each other (PyTorch's broadcasting, with no
/// warning). `none` returns the broadcast shape; `mean` divides the sum by the number
/// of elements (NaN when there are none); `batchmean` divides it by `input.shape[0]`
/// (not the target's or the broadcast shape's first size), and a 0-D input's by
/// nothing. f32 or f64; values are libtorch's element by element where the logarithm
/// (glibc's, which libtorch's `xlogy` also calls) or the exponential agree, and within
/// `assert_close`'s tolerance otherwise; sums are deterministic chunked sums,
/// independent of the thread count.
///
/// ```
/// use lossparity_losses::{kl_div, KlDivOptions, KlDivReduction};
/// use ndarray::array;
///
/// let log_q = array![[-1.2f64, -0.3, -2.1], [-0.7, -1.9, -0.45]];
/// let p = array![[0.7f64, 0.2, 0.1], [0.1, 0.1, 0.8]];
/// let options = KlDivOptions::default().reduction(KlDivReduction::BatchMean);
/// let loss = kl_div(log_q.view(), p.view(), &options)?;
/// // torch 2.13: F.kl_div(log_q, p, reduction='batchmean') = 0.1445747939032429
/// assert!((loss.sum() - 0.1445747939032429).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn kl_div<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &KlDivOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let shape = check(input.shape(), target.shape())?;
    let x = expanded(&input, &shape)?;
    let t = expanded(&target, &shape)?;
    let (x, t) = (&x[..], &t[..]);
    let log_target = options.log_target;
    let reduce = |divisor: Option<F>| {
        let sum = if log_target {
            sum2(
                x,
                t,
                #[inline(always)]
                |x, t| exp(t) * (t - x),
            )
        } else {
            sum2(
                x,
                t,
                #[inline(always)]
                |x, t| xlogy(t, t) - t * x,
            )
        };
        let value = match divisor {
            Some(d) => sum / d,
            None => sum,
        };
        ArrayD::from_elem(IxDyn(&[]), value)
    };
    Ok(match options.reduction {
        KlDivReduction::None => {
            let values = if log_target {
                map2(
                    x,
                    t,
                    #[inline(always)]
                    |x, t| exp(t) * (t - x),
                )
            } else {
                map2(
                    x,
                    t,
                    #[inline(always)]
                    |x, t| xlogy(t, t) - t * x,
                )
            };
            ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(super::nll::internal)?
        }
        reduction => reduce(kl_divisor(reduction, input.shape(), x.len())),
    })
}

/// The gradient of `sum(kl_div(input, target) * grad_output)` with respect to the
/// input, as PyTorch's autograd gives it: `-g * t`, or `-(g * exp(t))` with
/// `log_target`, where `g` is `grad_output` (`none`) or its value divided by the
/// element count (`mean`) or the batch size (`batchmean`); summed back to the input's
/// shape where it was broadcast. `grad_output` has the forward output's shape (0-D
/// unless `none`), else autograd's "Mismatch in shape" error.
///
/// ```
/// use lossparity_losses::{kl_div_backward, KlDivOptions, KlDivReduction};
/// use ndarray::{arr0, array};
///
/// let log_q = array![[-1.2f64, -0.3, -2.1], [-0.7, -1.9, -0.45]];
/// let p = array![[0.7f64, 0.2, 0.1], [0.1, 0.1, 0.8]];
/// let options = KlDivOptions::default().reduction(KlDivReduction::BatchMean);
/// let grad = kl_div_backward(arr0(1.0).view(), log_q.view(), p.view(), &options)?;
/// // torch 2.13: the input's gradient of F.kl_div(log_q, p, reduction='batchmean') is -p / 2
/// assert_eq!(grad, (-&p / 2.0).into_dyn());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn kl_div_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &KlDivOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let shape = check(input.shape(), target.shape())?;
    let n = shape.iter().product();
    let divisor = kl_divisor(options.reduction, input.shape(), n);
    let up = upstream(
        &grad_output,
        options.reduction == KlDivReduction::None,
        &shape,
        divisor,
    )?;
    let t = expanded(&target, &shape)?;
    // libtorch: `exp(t) * (t - x)`'s `(t - x)` gets `g * exp(t)`, the input its
    // negation; `xlogy(t, t) - t * x`'s product gets `-g`, times the target.
    let dx = if options.log_target {
        map_g1(
            &up,
            &t,
            #[inline(always)]
            |g, t| -(g * exp(t)),
        )
    } else {
        map_g1(
            &up,
            &t,
            #[inline(always)]
            |g, t| (-g) * t,
        )
    };
    sum_to(dx, &shape, input.shape())
}

/// The gradient of `sum(kl_div(input, target) * grad_output)` with respect to the
/// target, as PyTorch's autograd gives it (the target is differentiable).
///
/// Without `log_target` it is autograd's sum over the three uses of the target in
/// `xlogy(t, t) - t * x`: `(xlogy(g, t) + g * t / t) - g * x`, so it is NaN wherever the
/// target is 0 (`0 / 0`, even though the loss is finite there) or negative. With
/// `log_target`, `g * exp(t) + g * (t - x) * exp(t)`. `g` as in [`kl_div_backward`];
/// summed back to the target's shape where it was broadcast.
///
/// ```
/// use lossparity_losses::{kl_div_target_backward, KlDivOptions};
/// use ndarray::{arr0, array};
///
/// let log_q = array![-1.2f64, -0.3, -2.1];
/// let p = array![0.5f64, 0.5, 0.0];
/// let grad = kl_div_target_backward(arr0(1.0).view(), log_q.view(), p.view(),
///                                   &KlDivOptions::default())?;
/// // torch 2.13 (requires_grad target, F.kl_div(log_q, p)):
/// //   [0.5022842731466849, 0.2022842731466849, nan]
/// assert!((grad[0] - 0.5022842731466849).abs() < 1e-15);
/// assert!(grad[2].is_nan());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn kl_div_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &KlDivOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let shape = check(input.shape(), target.shape())?;
    let n = shape.iter().product();
    let divisor = kl_divisor(options.reduction, input.shape(), n);
    let up = upstream(
        &grad_output,
        options.reduction == KlDivReduction::None,
        &shape,
        divisor,
    )?;
    let x = expanded(&input, &shape)?;
    let own = target.shape();
    if own == shape.as_slice() {
        // One pass: the target is not broadcast, every element gets its own terms.
        let t = expanded(&target, &shape)?;
        let dt = if options.log_target {
            map_g2(
                &up,
                &x,
                &t,
                #[inline(always)]
                |g, x, t| {
                    let e = exp(t);
                    g * e + (g * (t - x)) * e
                },
            )
        } else {
            // GCC evaluates `target * input` before `xlogy(target, target)`, so autograd
            // runs xlogy's backward first: its two terms are added, then the product's.
            map_g2(
                &up,
                &x,
                &t,
                #[inline(always)]
                |g, x, t| (xlogy_grad(g, t) + (g * t) / t) + (-g) * x,
            )
        };
        return ArrayD::from_shape_vec(IxDyn(&shape), dt).map_err(super::nll::internal);
    }
    // A broadcast target: autograd sums each term over the broadcast dimensions before
    // the terms that use the target's own values.
    let t_full = expanded(&target, &shape)?;
    let t_own = expanded(&target, own)?;
    let combined: Vec<F> = if options.log_target {
        let through_sub = sum_to(
            map_g1(
                &up,
                &t_full,
                #[inline(always)]
                |g, t| g * exp(t),
            ),
            &shape,
            own,
        )?;
        let through_exp = sum_to(
            map_g2(
                &up,
                &x,
                &t_full,
                #[inline(always)]
                |g, x, t| g * (t - x),
            ),
            &shape,
            own,
        )?;
        combine3(
            &through_sub,
            &through_exp,
            &t_own,
            #[inline(always)]
            |s, e, t| s + e * exp(t),
        )?
    } else {
        let through_mul = sum_to(
            map_g1(
                &up,
                &x,
                #[inline(always)]
                |g, x| (-g) * x,
            ),
            &shape,
            own,
        )?;
        let g_own = sum_to(up.full(n).into_owned(), &shape, own)?;
        combine3(
            &through_mul,
            &g_own,
            &t_own,
            #[inline(always)]
            |m, g, t| (xlogy_grad(g, t) + (g * t) / t) + m,
        )?
    };
    ArrayD::from_shape_vec(IxDyn(own), combined).map_err(super::nll::internal)
}

/// `kl_div`'s checks before any value is read: the broadcast shape of `target * input`
/// (libtorch's operand order), or its error.
pub(crate) fn check(input: &[usize], target: &[usize]) -> Result<Vec<usize>, LossError> {
    broadcast_operands(target, input, || {
        format!(
            "the target {} and the input {} cannot broadcast (aligned from the last \
             dimension, sizes must be equal or 1; libtorch names the target tensor a): give \
             the target the input's shape, one distribution per row",
            shape_str(target),
            shape_str(input)
        )
    })
}

/// What `kl_div`'s reduction divides the sum by: the element count (`mean`),
/// `input.shape[0]` (`batchmean`, except for a 0-D input), nothing otherwise.
fn kl_divisor<F: Float>(reduction: KlDivReduction, input: &[usize], n: usize) -> Option<F> {
    match reduction {
        KlDivReduction::Mean => Some(F::of_f64(n as f64)),
        KlDivReduction::BatchMean => input.first().map(|&b| F::of_f64(b as f64)),
        KlDivReduction::None | KlDivReduction::Sum => None,
    }
}

/// libtorch's `xlogy(x, y)`: NaN if `y` is NaN, else 0 if `x == 0`, else `x * ln_glibc(y)`.
#[inline(always)]
pub(crate) fn xlogy<F: Float>(x: F, y: F) -> F {
    if y.is_nan() {
        y
    } else if x == F::zero() {
        F::zero()
    } else {
        x * ln_glibc(y)
    }
}

/// The gradient `xlogy(t, t)` passes to its first operand: `xlogy(g, t)`, masked to 0
/// where `t == 0` (derivatives.yaml's `(self == 0) & (other <= 0)` with both `t`).
#[inline(always)]
fn xlogy_grad<F: Float>(g: F, t: F) -> F {
    if t == F::zero() {
        F::zero()
    } else {
        xlogy(g, t)
    }
}

// ----------------------------------------------------------------------------------
// Machinery shared with `probabilistic.rs`.

/// `ln(x)` as libtorch's `xlogy` computes it (glibc's `log`/`logf`), in a form that
/// vectorises for f32: the log of the f32 widened to f64 (relative error below 1e-13),
/// rounded once. glibc's `logf` is correctly rounded but for 0.02% of the f32 inputs
/// (measured over every 13th positive f32), where this differs from it by one ulp. f64
/// calls glibc's `log`.
#[inline(always)]
pub(crate) fn ln_glibc<F: Float>(x: F) -> F {
    if std::mem::size_of::<F>() != 4 {
        return x.ln();
    }
    F::of_f64(ln_f32_in_f64(x.to_f64_exact()))
}

/// The log of an f32 `w` (widened, so normal unless 0) in f64: `w = 2^e m`, `m` in
/// `[sqrt(1/2), sqrt(2))`, `f = m - 1` (exact), `s = f / (2 + f)`,
/// `ln(m) = f - f^2/2 + s (f^2/2 + R(s^2))` with `R(z) = sum_k 2 z^k / (2k + 1)` to
/// `k = 7` (`|s| < 0.172`: the next term is below 1e-13 of the result, ample for a
/// result rounded to f32).
#[inline(always)]
fn ln_f32_in_f64(w: f64) -> f64 {
    const MANTISSA: u64 = (1 << 52) - 1;
    const ONE: u64 = 1023 << 52;
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let bits = w.to_bits();
    let m = f64::from_bits((bits & MANTISSA) | ONE);
    let e = ((bits >> 52) as i64 - 1023) as f64;
    let big = m >= std::f64::consts::SQRT_2;
    let (m, e) = (if big { m * 0.5 } else { m }, if big { e + 1.0 } else { e });
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let mut r: f64 = 2.0 / 15.0;
    for k in (1..7).rev() {
        r = r.mul_add(z, 2.0 / (2 * k + 1) as f64);
    }
    let r = r * z;
    let half_f2 = 0.5 * f * f;
    let ln_m = f - (half_f2 - s * (half_f2 + r));
    let y = e.mul_add(LN2_HI, e.mul_add(LN2_LO, ln_m));
    // The special values, by selects (the loop stays branch-free).
    let y = if w == f64::INFINITY { w } else { y };
    let y = if w == 0.0 { f64::NEG_INFINITY } else { y };
    if w < 0.0 || w.is_nan() { f64::NAN } else { y }
}

/// `ln(x)` as libtorch's vectorised `log` computes it (SLEEF's, within one ulp), in
/// f32 arithmetic that vectorises: identical to it for 99.3% to 99.7% of f32 inputs
/// (measured over a million spread across the positive floats, and in `[1e-3, 5]`),
/// within 0.77 ulp of the exact log. f64 calls glibc's `log` (within an ulp of
/// libtorch's).
///
/// `x = 2^e m` with `m` in `[sqrt(1/2), sqrt(2))`, `f = m - 1` (exact), `s = f / (2 + f)`,
/// `ln(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2))`; `R` is a degree-4 fit (least squares
/// reweighted towards minimax, made for this crate with numpy) of
/// `(ln((1 + s) / (1 - s)) - 2s) / s`, absolute error 1e-11.
#[inline(always)]
pub(crate) fn ln<F: Float>(x: F) -> F {
    if std::mem::size_of::<F>() != 4 {
        return x.ln();
    }
    F::of_f64(f64::from(ln_f32(x.to_f64_exact() as f32)))
}

#[inline(always)]
fn ln_f32(x: f32) -> f32 {
    // The bits of sqrt(1/2): subtracting them puts m in [sqrt(1/2), sqrt(2)).
    const SQRT_HALF: u32 = 0x3f35_04f3;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const R: [f32; 4] = [0.666_666_6, 0.400_003_34, 0.285_373_06, 0.235_821_7];
    // Subnormals are scaled into the normal range first.
    let subnormal = x < f32::MIN_POSITIVE;
    let scaled = if subnormal { x * 8_388_608.0 } else { x };
    let ix = scaled.to_bits().wrapping_sub(SQRT_HALF) as i32;
    let e = (ix >> 23) - if subnormal { 23 } else { 0 };
    let m = f32::from_bits(((ix & 0x007f_ffff) as u32).wrapping_add(SQRT_HALF));
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let r = z * w.mul_add(R[2], R[0]) + w * w.mul_add(R[3], R[1]);
    let half_f2 = 0.5 * f * f;
    let e = e as f32;
    let y = e.mul_add(LN2_HI, f - (half_f2 - s.mul_add(half_f2 + r, e * LN2_LO)));
    let y = if x == f32::INFINITY { x } else { y };
    let y = if x == 0.0 { f32::NEG_INFINITY } else { y };
    if x < 0.0 || x.is_nan() { f32::NAN } else { y }
}

/// `exp(x)` in f32 arithmetic that vectorises, within one ulp; libtorch's vectorised
/// `exp` (SLEEF's, also within one ulp) gives the same f32 for about 94% of the inputs in
/// `[-5, 5]`. f64: [`exp_f64`], within an ulp (as libtorch's SLEEF `exp`).
///
/// `x = n ln2 + r` (Cody-Waite, `|r| <= ln2 / 2`), `exp(r) = 1 + r + r^2 P(r)` with `P`
/// a degree-5 fit (least squares reweighted towards minimax, made for this crate with
/// numpy) of `(exp(r) - 1 - r) / r^2`, relative error 5e-11; the scaling by `2^n` is
/// split so that a subnormal result is rounded once.
#[inline(always)]
pub(crate) fn exp<F: Float>(x: F) -> F {
    if std::mem::size_of::<F>() != 4 {
        return F::of_f64(exp_f64(x.to_f64_exact()));
    }
    F::of_f64(f64::from(exp_f32(x.to_f64_exact() as f32)))
}

#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // 1.5 * 2^23: adding it rounds to an integer, held in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const P: [f32; 6] = [
        0.5,
        0.166_666_66,
        0.041_666_295,
        0.008_333_497,
        0.001_394_465_1,
        0.000_197_903_65,
    ];
    // (NaN passes through the clamp.)
    let clamped = x.clamp(-104.0, 89.0);
    let t = clamped.mul_add(LOG2E, ROUND);
    let n = t - ROUND;
    let r = (-n).mul_add(LN2_LO, (-n).mul_add(LN2_HI, clamped));
    let mut p = P[5];
    for &c in P[..5].iter().rev() {
        p = p.mul_add(r, c);
    }
    // 1 + r as a rounded sum and its exact error (Fast2Sum, |r| < 1), so that only the
    // final addition rounds.
    let hi = 1.0 + r;
    let lo = (1.0 - hi) + r;
    let u = hi + (r * r).mul_add(p, lo);
    // n in [-150, 129]: 2^n1 is normal, 2^n2 takes the rest (a subnormal's rounding).
    let k = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let n1 = k.clamp(-126, 127);
    let n2 = k - n1;
    let s1 = f32::from_bits(((n1 + 127) as u32) << 23);
    let s2 = f32::from_bits(((n2 + 127).max(0) as u32) << 23);
    let y = u * s1 * s2;
    if x.is_nan() {
        x
    } else if x > 89.0 {
        f32::INFINITY
    } else {
        y
    }
}

/// The broadcast shape of `a` and `b`, in the operand order of the libtorch op that
/// first broadcasts them (its message names `a` "tensor a"), with our hint.
pub(crate) fn broadcast_operands(
    a: &[usize],
    b: &[usize],
    hint: impl FnOnce() -> String,
) -> Result<Vec<usize>, LossError> {
    broadcast_shape(a, b).map_err(|err| LossError::new(err.kind(), err.message(), hint()))
}

/// The gradient flowing into every element loss: one value for all (a reduction's,
/// already divided as its backward divides), or `grad_output`'s own values (`none`).
pub(crate) enum Upstream<'a, F: Clone> {
    Same(F),
    Each(Cow<'a, [F]>),
}

impl<F: Float> Upstream<'_, F> {
    /// The gradient of each of `n` elements.
    pub(crate) fn full(&self, n: usize) -> Cow<'_, [F]> {
        match self {
            Upstream::Same(g) => Cow::Owned(vec![*g; n]),
            Upstream::Each(g) => Cow::Borrowed(g),
        }
    }
}

/// The upstream gradient of a loss of broadcast shape `shape`: `grad_output` must have
/// the output's shape (`shape` when `unreduced`, else `()`); a reduction's 0-D value
/// is divided by `divisor` (the mean's count, as autograd's mean or div backward does).
pub(crate) fn upstream<'a, F: Float>(
    grad_output: &'a ArrayViewD<'_, F>,
    unreduced: bool,
    shape: &[usize],
    divisor: Option<F>,
) -> Result<Upstream<'a, F>, LossError> {
    if unreduced {
        super::softmax::check_grad_shape(grad_output.shape(), shape)?;
        return Ok(Upstream::Each(expanded(grad_output, shape)?));
    }
    super::softmax::check_grad_shape(grad_output.shape(), &[])?;
    let g = grad_output
        .iter()
        .next()
        .copied()
        .ok_or_else(|| super::nll::internal("a 0-D grad_output without its value"))?;
    Ok(Upstream::Same(match divisor {
        Some(d) => g / d,
        None => g,
    }))
}

/// `f(a[i])` for each element, or `f(g, a[i])` with the upstream gradient.
pub(crate) fn map_g1<F: Float>(
    up: &Upstream<'_, F>,
    a: &[F],
    f: impl Fn(F, F) -> F + Sync,
) -> Vec<F> {
    match up {
        Upstream::Same(g) => {
            let g = *g;
            map1(
                a,
                #[inline(always)]
                |a| f(g, a),
            )
        }
        Upstream::Each(gs) => map2(gs, a, f),
    }
}

/// `f(g, a[i], b[i])` for each element, `g` the upstream gradient.
pub(crate) fn map_g2<F: Float>(
    up: &Upstream<'_, F>,
    a: &[F],
    b: &[F],
    f: impl Fn(F, F, F) -> F + Sync,
) -> Vec<F> {
    match up {
        Upstream::Same(g) => {
            let g = *g;
            map2(
                a,
                b,
                #[inline(always)]
                |a, b| f(g, a, b),
            )
        }
        Upstream::Each(gs) => map3(gs, a, b, f),
    }
}

/// `f(g, a[i], b[i], c[i])` for each element, `g` the upstream gradient.
pub(crate) fn map_g3<F: Float>(
    up: &Upstream<'_, F>,
    a: &[F],
    b: &[F],
    c: &[F],
    f: impl Fn(F, F, F, F) -> F + Sync,
) -> Vec<F> {
    match up {
        Upstream::Same(g) => {
            let g = *g;
            map3(
                a,
                b,
                c,
                #[inline(always)]
                |a, b, c| f(g, a, b, c),
            )
        }
        Upstream::Each(gs) => map4(gs, a, b, c, f),
    }
}

/// `f(a[i], b[i], c[i])` over the elements of two arrays and a slice of one shape (the
/// gradient's branches summed back over broadcast dimensions, and an operand's own
/// values), in the vectorised kernel.
pub(crate) fn combine3<F: Float>(
    a: &ArrayD<F>,
    b: &ArrayD<F>,
    c: &[F],
    f: impl Fn(F, F, F) -> F + Sync,
) -> Result<Vec<F>, LossError> {
    let (a, b) = (a.view(), b.view());
    let (a, b) = (expanded(&a, a.shape())?, expanded(&b, b.shape())?);
    Ok(map3(&a, &b, c, f))
}

/// The bounds of chunk `c` of `n` elements.
#[inline(always)]
fn chunk(c: usize, n: usize) -> std::ops::Range<usize> {
    c * CHUNK..((c + 1) * CHUNK).min(n)
}

/// The sum of `f(a[i], b[i])`, accumulated in f64 (each element loss is formed in `F`,
/// as libtorch forms it, then widened exactly) in [`super::elementwise`]'s chunked
/// scheme: `LANES` interleaved partial sums per chunk, folded pairwise, the chunks'
/// sums added in order (chunks in parallel), then rounded once to `F`. The order is
/// fixed, so the result does not depend on the thread count; the f64 accumulator keeps
/// an f32 sum whose terms cancel (a log-likelihood's) within f32's tolerance of the
/// exact sum, where 1,024 terms added in f32 per lane would not be.
pub(crate) fn sum2<F: Float>(a: &[F], b: &[F], f: impl Fn(F, F) -> F + Sync) -> F {
    F::of_f64(sum2_sized(a, b, f).0)
}

/// [`sum2`]'s f64 sum before its rounding, and the sum of the element losses' sizes
/// `|f(a[i], b[i])|` (same order): their ratio says how much the terms cancel, so how
/// far the rounding of each element loss to `F` can move the sum.
pub(crate) fn sum2_sized<F: Float>(a: &[F], b: &[F], f: impl Fn(F, F) -> F + Sync) -> (f64, f64) {
    let n = a.len();
    let chunks = n.div_ceil(CHUNK);
    let chunk_sum = |c: usize| {
        let r = chunk(c, n);
        lanes_sum2(&a[r.clone()], &b[r], &f)
    };
    let sums: Vec<(f64, f64)> = if chunks > 1 {
        (0..chunks).into_par_iter().map(chunk_sum).collect()
    } else {
        (0..chunks).map(chunk_sum).collect()
    };
    sums.into_iter()
        .fold((0.0, 0.0), |(s, z), (a, b)| (s + a, z + b))
}

/// The sum of `f(a[i], b[i], c[i])`, as [`sum2`].
pub(crate) fn sum3<F: Float>(a: &[F], b: &[F], c: &[F], f: impl Fn(F, F, F) -> F + Sync) -> F {
    F::of_f64(sum_chunks(a.len(), |k| {
        let r = chunk(k, a.len());
        lanes_sum3(&a[r.clone()], &b[r.clone()], &c[r], &f)
    }))
}

/// Element losses formed per block before they are added: the loss's arithmetic then
/// runs at `F`'s full SIMD width, the widening and the f64 sums at theirs.
const BLOCK: usize = 4 * LANES;

/// Adds a block's element losses, in order, to the interleaved partial sums: element
/// `j` to partial sum `j % LANES`, as one sweep over the elements in groups of `LANES`.
#[inline(always)]
fn accumulate<F: Float>(acc: &mut [f64; LANES], values: &[F]) {
    let mut groups = values.chunks_exact(LANES);
    for group in &mut groups {
        for k in 0..LANES {
            acc[k] += group[k].to_f64_exact();
        }
    }
    for (a, v) in acc.iter_mut().zip(groups.remainder()) {
        *a += v.to_f64_exact();
    }
}

/// [`accumulate`], and the values' sizes to `size` in the same lanes.
#[inline(always)]
fn accumulate_sized<F: Float>(acc: &mut [f64; LANES], size: &mut [f64; LANES], values: &[F]) {
    let mut groups = values.chunks_exact(LANES);
    for group in &mut groups {
        for k in 0..LANES {
            let v = group[k].to_f64_exact();
            acc[k] += v;
            size[k] += v.abs();
        }
    }
    for ((a, z), v) in acc.iter_mut().zip(size.iter_mut()).zip(groups.remainder()) {
        let v = v.to_f64_exact();
        *a += v;
        *z += v.abs();
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn lanes_sum2<F: Float>(a: &[F], b: &[F], f: &(impl Fn(F, F) -> F + Sync)) -> (f64, f64) {
    let (mut acc, mut size) = ([0.0f64; LANES], [0.0f64; LANES]);
    let mut values = [F::zero(); BLOCK];
    let (mut ac, mut bc) = (a.chunks_exact(BLOCK), b.chunks_exact(BLOCK));
    for (x, y) in (&mut ac).zip(&mut bc) {
        for ((v, x), y) in values.iter_mut().zip(x).zip(y) {
            *v = f(*x, *y);
        }
        accumulate_sized(&mut acc, &mut size, &values);
    }
    let (x, y) = (ac.remainder(), bc.remainder());
    for ((v, x), y) in values.iter_mut().zip(x).zip(y) {
        *v = f(*x, *y);
    }
    accumulate_sized(&mut acc, &mut size, &values[..x.len()]);
    (fold_lanes(acc), fold_lanes(size))
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn lanes_sum3<F: Float>(a: &[F], b: &[F], c: &[F], f: &(impl Fn(F, F, F) -> F + Sync)) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut values = [F::zero(); BLOCK];
    let (mut ac, mut bc, mut cc) = (
        a.chunks_exact(BLOCK),
        b.chunks_exact(BLOCK),
        c.chunks_exact(BLOCK),
    );
    for ((x, y), z) in (&mut ac).zip(&mut bc).zip(&mut cc) {
        for (((v, x), y), z) in values.iter_mut().zip(x).zip(y).zip(z) {
            *v = f(*x, *y, *z);
        }
        accumulate(&mut acc, &values);
    }
    let (x, y, z) = (ac.remainder(), bc.remainder(), cc.remainder());
    for (((v, x), y), z) in values.iter_mut().zip(x).zip(y).zip(z) {
        *v = f(*x, *y, *z);
    }
    accumulate(&mut acc, &values[..x.len()]);
    fold_lanes(acc)
}

/// Runs `fill(out_chunk, first_index)` over `n` outputs: chunks in parallel from
/// `CHUNK` elements up. Every element's value depends on its inputs only, so the
/// result does not depend on the thread count.
fn filled<F: Float>(n: usize, fill: impl Fn(&mut [F], usize) + Sync) -> Vec<F> {
    let mut out = vec![F::zero(); n];
    if n >= CHUNK {
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, o)| fill(o, c * CHUNK));
    } else {
        fill(&mut out, 0);
    }
    out
}

/// `f(a[i])` for each element.
pub(crate) fn map1<F: Float>(a: &[F], f: impl Fn(F) -> F + Sync) -> Vec<F> {
    filled(a.len(), |o, lo| fill1(o, &a[lo..], &f))
}

/// `f(a[i], b[i])` for each element.
pub(crate) fn map2<F: Float>(a: &[F], b: &[F], f: impl Fn(F, F) -> F + Sync) -> Vec<F> {
    filled(a.len(), |o, lo| fill2(o, &a[lo..], &b[lo..], &f))
}

/// `f(a[i], b[i], c[i])` for each element.
pub(crate) fn map3<F: Float>(a: &[F], b: &[F], c: &[F], f: impl Fn(F, F, F) -> F + Sync) -> Vec<F> {
    filled(a.len(), |o, lo| fill3(o, &a[lo..], &b[lo..], &c[lo..], &f))
}

/// `f(a[i], b[i], c[i], d[i])` for each element.
pub(crate) fn map4<F: Float>(
    a: &[F],
    b: &[F],
    c: &[F],
    d: &[F],
    f: impl Fn(F, F, F, F) -> F + Sync,
) -> Vec<F> {
    filled(a.len(), |o, lo| {
        fill4(o, &a[lo..], &b[lo..], &c[lo..], &d[lo..], &f)
    })
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn fill1<F: Float>(out: &mut [F], a: &[F], f: &(impl Fn(F) -> F + Sync)) {
    for (o, x) in out.iter_mut().zip(a) {
        *o = f(*x);
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn fill2<F: Float>(out: &mut [F], a: &[F], b: &[F], f: &(impl Fn(F, F) -> F + Sync)) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = f(*x, *y);
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn fill3<F: Float>(out: &mut [F], a: &[F], b: &[F], c: &[F], f: &(impl Fn(F, F, F) -> F + Sync)) {
    for (((o, x), y), z) in out.iter_mut().zip(a).zip(b).zip(c) {
        *o = f(*x, *y, *z);
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512bw+avx512vl+avx2+avx+fma",
    "x86_64+avx2+avx+fma",
    "aarch64+neon"
))]
fn fill4<F: Float>(
    out: &mut [F],
    a: &[F],
    b: &[F],
    c: &[F],
    d: &[F],
    f: &(impl Fn(F, F, F, F) -> F + Sync),
) {
    for ((((o, x), y), z), w) in out.iter_mut().zip(a).zip(b).zip(c).zip(d) {
        *o = f(*x, *y, *z, *w);
    }
}
