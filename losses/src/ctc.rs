//! The connectionist temporal classification loss, `ctc_loss`, forward and gradient
//! with respect to the log-probabilities, with PyTorch 2.13's errors.
//!
//! Both directions follow libtorch's CPU kernel (`LossCTC.cpp`) operation by
//! operation, in the input's own type (libtorch accumulates nothing in a wider type,
//! not even for `float`): the alpha (and, for the gradient, beta) recursion in log space,
//! each log-sum-exp shifted by the maximum of its terms (by 0 when all are `-inf`),
//! with `exp` and `ln` of the platform's libm, which libtorch calls too. A sample's
//! loss and gradient therefore come out bit for bit as libtorch's on the same machine.
//! The `mean` and `sum` reductions mirror libtorch's `torch.sum` of the per-sample
//! losses (its cascade of partial sums over SIMD lanes, in the input's type) for its
//! 32-byte vectors (AVX2, the capability this was verified with, or none): on a
//! machine where libtorch picks AVX-512, a reduced loss over 4 (`f64`) or 8 (`f32`)
//! samples or more may differ from it in the last bits.
//!
//! Samples are independent: on large inputs they run in parallel, each computed
//! serially, so results do not depend on the thread count.

use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str};
use super::float::Float;
use super::nll::internal;
use super::options::{Reduction, row_major};
use super::softmax::check_grad_shape;

// ---------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------

/// Options of [`ctc_loss`] and [`ctc_loss_backward`], as PyTorch's keyword arguments;
/// `Default` gives PyTorch's defaults (`blank=0`, `reduction='mean'`,
/// `zero_infinity=False`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CtcOptions {
    /// The class index of the blank label, in `[0, C)`; 0 by default.
    pub blank: i64,
    /// How the per-sample losses are combined; `mean` by default, which divides each
    /// sample's loss by its target length (at least 1) before averaging over the batch.
    pub reduction: Reduction,
    /// Whether an infinite loss (a target that no alignment of the input can produce)
    /// counts as 0, with a zero gradient; `false` by default.
    pub zero_infinity: bool,
}

impl CtcOptions {
    /// Sets the blank label's class index.
    pub fn blank(mut self, blank: i64) -> Self {
        self.blank = blank;
        self
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets whether infinite losses (and their gradients) are zeroed.
    pub fn zero_infinity(mut self, zero_infinity: bool) -> Self {
        self.zero_infinity = zero_infinity;
        self
    }
}

// ---------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------

/// The shape facts of a validated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CtcPlan {
    /// T: the time steps of `log_probs`.
    pub steps: usize,
    /// N: the samples (1 for an unbatched `(T, C)` input).
    pub batch: usize,
    /// C: the classes, blank included.
    pub classes: usize,
    /// The blank's class index.
    pub blank: usize,
    /// Each sample's input length, at most T.
    pub input_lengths: Vec<usize>,
    /// Each sample's target length.
    pub target_lengths: Vec<usize>,
    /// Where each sample's labels start in the row-major targets.
    pub offsets: Vec<usize>,
    /// The output's shape with `reduction='none'`: `(N)`, or `()` when unbatched.
    pub none_shape: Vec<usize>,
}

/// libtorch's suffix of the messages of its argument checks.
const WHILE: &str = "(while checking arguments for ctc_loss_allocate_outputs)";

/// Whether a PyTorch dtype name is integral in the sense of `isIntegralType(t,
/// includeBool=false)`.
fn is_integral(dtype: &str) -> bool {
    matches!(
        dtype,
        "Byte" | "Char" | "Short" | "Int" | "Long" | "UInt16" | "UInt32" | "UInt64"
    )
}

/// Every check of `F.ctc_loss` before a value of `log_probs` is read, in PyTorch's
/// order: the lengths' dtypes (PyTorch's names; `Long` for Python lists), the
/// unsqueezing of an unbatched input, the input's dtype, emptiness, the ranks, the
/// blank, the lengths' counts, the target lengths against the targets, the input
/// lengths against T.
pub(crate) fn ctc_plan(
    log_probs: &[usize],
    log_probs_dtype: &str,
    targets: &[usize],
    input_lengths: &[i64],
    target_lengths: &[i64],
    lengths_dtypes: (&str, &str),
    blank: i64,
) -> Result<CtcPlan, LossError> {
    for (name, dtype) in [
        ("input_lengths", lengths_dtypes.0),
        ("target_lengths", lengths_dtypes.1),
    ] {
        if !is_integral(dtype) {
            return Err(LossError::runtime(
                format!("{name} must be integral"),
                format!(
                    "{name} holds lengths, counted in time steps or labels: give it as \
                     integers (.long()), not {dtype}"
                ),
            ));
        }
    }
    if log_probs.is_empty() {
        return Err(LossError::index(
            "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
            "ctc_loss takes log-probabilities of shape (T, N, C), or (T, C) for one \
             sample; a 0-D tensor has neither time steps nor classes",
        ));
    }
    if log_probs_dtype != "Float" && log_probs_dtype != "Double" {
        return Err(LossError::new(
            super::error::ErrorKind::NotImplementedError,
            format!("\"ctc_loss_cpu\" not implemented for '{log_probs_dtype}'"),
            format!(
                "ctc_loss runs on float32 and float64 log-probabilities only; convert \
                 the {log_probs_dtype} input with .float() or .double()"
            ),
        ));
    }
    if log_probs.iter().product::<usize>() == 0 {
        return Err(LossError::runtime(
            "log_probs tensor must not be empty",
            format!(
                "the log-probabilities {} hold no value; ctc_loss needs at least one time \
                 step, one sample and one class (the blank)",
                shape_str(log_probs)
            ),
        ));
    }
    let batched = log_probs.len() == 3;
    // libtorch unsqueezes every input that is not 3-D, so its message counts one
    // dimension more than the caller gave.
    let ndim = if batched { 3 } else { log_probs.len() + 1 };
    if ndim != 3 {
        let hint = if log_probs.len() == 1 {
            format!(
                "the log-probabilities {} are 1-D; ctc_loss wants (T, N, C), time first, \
                 or (T, C) for one sample",
                shape_str(log_probs)
            )
        } else {
            format!(
                "the log-probabilities {} have {} dimensions; ctc_loss wants (T, N, C), \
                 time first, or (T, C) for one sample",
                shape_str(log_probs),
                log_probs.len()
            )
        };
        return Err(LossError::runtime(
            format!(
                "Expected 3-dimensional tensor, but got {ndim}-dimensional tensor for \
                 argument #1 'log_probs' {WHILE}"
            ),
            hint,
        ));
    }
    let (steps, batch, classes) = if batched {
        (log_probs[0], log_probs[1], log_probs[2])
    } else {
        (log_probs[0], 1, log_probs[1])
    };
    if targets.is_empty() || targets.len() > 2 {
        return Err(LossError::runtime(
            format!(
                "Expected 1 to 2 dimensions, but got {}-dimensional tensor for argument #2 \
                 'targets' {WHILE}",
                targets.len()
            ),
            format!(
                "the targets {} must be padded, (N, S) with one row of labels per sample, \
                 or concatenated, 1-D of sum(target_lengths) labels",
                shape_str(targets)
            ),
        ));
    }
    if blank < 0 || blank >= classes as i64 {
        return Err(LossError::runtime(
            "blank must be in label range",
            format!(
                "blank={blank} is not a class of the input's {classes} (classes are the \
                 last dimension of log_probs, blank included): use an index in [0, {classes})"
            ),
        ));
    }
    for (name, lengths) in [
        ("input_lengths", input_lengths),
        ("target_lengths", target_lengths),
    ] {
        if lengths.len() != batch {
            let mut hint = format!(
                "{name} gives one length per sample: {batch} value(s) for the batch of \
                 log_probs {} (its dimension 1), not {}",
                shape_str(log_probs),
                lengths.len()
            );
            if batched && lengths.len() == steps {
                hint.push_str(
                    "; the count matches dimension 0: is the input batch first, (N, T, C), \
                     instead of (T, N, C)? Transpose it with .transpose(0, 1)",
                );
            }
            return Err(LossError::runtime(
                format!("{name} must be of size batch_size"),
                hint,
            ));
        }
    }
    let mut total = 0i64;
    let mut longest = 0i64;
    let mut offsets = Vec::with_capacity(batch);
    for (b, &len) in target_lengths.iter().enumerate() {
        if len < 0 {
            return Err(LossError::runtime(
                format!(
                    "Expected target_lengths to have value at least 0, but got value {len} \
                     {WHILE}"
                ),
                format!("sample {b} has a negative target length, {len}"),
            ));
        }
        offsets.push(total);
        total = total.saturating_add(len);
        longest = longest.max(len);
    }
    if targets.len() == 1 {
        if targets[0] as i64 != total {
            return Err(LossError::runtime(
                format!(
                    "Expected tensor to have size {total} at dimension 0, but got size {} \
                     for argument #2 'targets' {WHILE}",
                    targets[0]
                ),
                format!(
                    "1-D targets are the samples' labels one after the other, so they hold \
                     sum(target_lengths) = {total} labels; these hold {} (for padded \
                     targets give shape (N, S))",
                    targets[0]
                ),
            ));
        }
    } else {
        if targets[0] != batch {
            return Err(LossError::runtime(
                format!(
                    "Expected tensor to have size {batch} at dimension 0, but got size {} \
                     for argument #2 'targets' {WHILE}",
                    targets[0]
                ),
                format!(
                    "padded targets hold one row per sample: {batch} rows for the batch of \
                     log_probs {}, not {}",
                    shape_str(log_probs),
                    targets[0]
                ),
            ));
        }
        if (targets[1] as i64) < longest {
            return Err(LossError::runtime(
                format!(
                    "Expected tensor to have size at least {longest} at dimension 1, but \
                     got size {} for argument #2 'targets' {WHILE}",
                    targets[1]
                ),
                format!(
                    "a target length is {longest}, but the padded targets {} have rows of \
                     {} labels only; each target length counts labels of its row",
                    shape_str(targets),
                    targets[1]
                ),
            ));
        }
        let row = targets[1] as i64;
        for (b, o) in offsets.iter_mut().enumerate() {
            *o = b as i64 * row;
        }
    }
    for (b, &len) in input_lengths.iter().enumerate() {
        if len < 0 {
            return Err(LossError::runtime(
                format!(
                    "Expected input_lengths to have value at least 0, but got value {len} \
                     {WHILE}"
                ),
                format!("sample {b} has a negative input length, {len}"),
            ));
        }
        if len > steps as i64 {
            return Err(LossError::runtime(
                format!(
                    "Expected input_lengths to have value at most {steps}, but got value \
                     {len} {WHILE}"
                ),
                format!(
                    "sample {b} claims {len} time steps, but log_probs {} has only {steps} \
                     (T is the first dimension: is the input (N, T, C) instead of \
                     (T, N, C)?)",
                    shape_str(log_probs)
                ),
            ));
        }
    }
    Ok(CtcPlan {
        steps,
        batch,
        classes,
        blank: blank as usize,
        input_lengths: input_lengths.iter().map(|&l| l as usize).collect(),
        target_lengths: target_lengths.iter().map(|&l| l as usize).collect(),
        offsets: offsets.into_iter().map(|o| o as usize).collect(),
        none_shape: if batched { vec![batch] } else { Vec::new() },
    })
}

// ---------------------------------------------------------------------------------
// The recursions
// ---------------------------------------------------------------------------------

/// A validated call: the plan, `log_probs` row-major as `(T, N, C)`, and each sample's
/// labels.
struct CtcCall<'a, F: Clone> {
    plan: CtcPlan,
    lp: std::borrow::Cow<'a, [F]>,
    labels: Vec<Vec<usize>>,
}

fn prepare<'a, F: Float>(
    log_probs: &ArrayViewD<'a, F>,
    targets: &ArrayViewD<'_, i64>,
    input_lengths: &[i64],
    target_lengths: &[i64],
    blank: i64,
) -> Result<CtcCall<'a, F>, LossError> {
    let plan = ctc_plan(
        log_probs.shape(),
        F::TORCH_NAME,
        targets.shape(),
        input_lengths,
        target_lengths,
        ("Long", "Long"),
        blank,
    )?;
    let t = row_major(targets);
    let mut labels = Vec::with_capacity(plan.batch);
    for b in 0..plan.batch {
        let start = plan.offsets[b];
        let row = &t[start..start + plan.target_lengths[b]];
        let sample = row
            .iter()
            .map(|&v| {
                usize::try_from(v)
                    .ok()
                    .filter(|&c| c < plan.classes)
                    .ok_or_else(|| label_out_of_range(v, b, plan.classes))
            })
            .collect::<Result<Vec<_>, _>>()?;
        labels.push(sample);
    }
    Ok(CtcCall {
        plan,
        lp: row_major(log_probs),
        labels,
    })
}

/// libtorch does not check the labels: it reads past the sample's classes (another
/// sample's values, or memory beyond the tensor). There is no PyTorch error to mirror,
/// so this one is ours.
fn label_out_of_range(v: i64, b: usize, classes: usize) -> LossError {
    LossError::index(
        format!("ctc_loss: target {v} of sample {b} is out of bounds [0, {classes})"),
        format!(
            "every label within a sample's target length must be a class index in [0, \
             {classes}); PyTorch does not check this and returns a meaningless loss (it \
             reads memory outside the sample's log-probabilities)"
        ),
    )
}

/// One sample's view: its log-probabilities at `(t, c)` and its extended target
/// `l'` (blanks around and between the labels).
struct Sample<'c, F> {
    lp: &'c [F],
    stride: usize,
    offset: usize,
    labels: &'c [usize],
    blank: usize,
    input_length: usize,
}

impl<F: Float> Sample<'_, F> {
    #[inline(always)]
    fn lp(&self, t: usize, c: usize) -> F {
        self.lp[t * self.stride + self.offset + c]
    }

    /// `l'[s]`: the blank at even positions, label `s / 2` at odd ones.
    #[inline(always)]
    fn prime(&self, s: usize) -> usize {
        if s.is_multiple_of(2) {
            self.blank
        } else {
            self.labels[s / 2]
        }
    }

    fn width(&self) -> usize {
        2 * self.labels.len() + 1
    }
}

impl<F: Float> CtcCall<'_, F> {
    fn sample(&self, b: usize) -> Sample<'_, F> {
        Sample {
            lp: &self.lp,
            stride: self.plan.batch * self.plan.classes,
            offset: b * self.plan.classes,
            labels: &self.labels[b],
            blank: self.plan.blank,
            input_length: self.plan.input_lengths[b],
        }
    }

    /// Whether the samples are worth running in parallel: from about 4k recursion
    /// steps (some 50 µs of log-sum-exps), where libtorch's batch loop runs in parallel too
    /// (measured on `(50, 16, 20)`, 16 samples of 5 to 10 labels).
    fn parallel(&self) -> bool {
        let work: usize = (0..self.plan.batch).map(|b| self.work(b)).sum();
        self.plan.batch > 1 && work >= 1 << 12
    }

    /// Sample `b`'s recursion steps: its time steps times its extended labels.
    fn work(&self, b: usize) -> usize {
        self.plan.input_lengths[b] * (2 * self.plan.target_lengths[b] + 1)
    }
}

/// libtorch's log-sum-exp of three terms: shifted by their maximum, or by 0 when the
/// maximum is `-inf` (which would give `-inf - -inf = NaN`). The comparisons and the
/// order of the additions are the kernel's, so NaN propagates as it does there.
///
/// With a finite maximum, its own term is `exp(0) = 1` exactly, so only the other two
/// call `exp`; which term is the maximum is data-dependent, so it is selected rather
/// than branched on (a test of each shifted term against 0 mispredicts as often as
/// not). The additions keep the kernel's order, `(ea + eb) + ec`: with the 1 first or
/// second that is `(1 + e) + e'`, with it last `(e + e') + 1`.
#[inline(always)]
fn log_sum_exp3<F: Float>(a: F, b: F, c: F) -> F {
    let mut max = a;
    let (mut o1, mut o2) = (b, c);
    let mut max_last = false;
    if b > max {
        max = b;
        o1 = a;
    }
    if c > max {
        max = c;
        (o1, o2) = (a, b);
        max_last = true;
    }
    if !max.is_finite() {
        // All -inf (shifted by 0 instead), +inf or NaN: the kernel's formula as it is.
        if max == F::neg_infinity() {
            max = F::zero();
        }
        let sum = exp_unless_neg_infinity(a - max)
            + exp_unless_neg_infinity(b - max)
            + exp_unless_neg_infinity(c - max);
        return sum.ln() + max;
    }
    let (e1, e2) = (
        exp_unless_neg_infinity(o1 - max),
        exp_unless_neg_infinity(o2 - max),
    );
    let sum = if max_last {
        (e1 + e2) + F::one()
    } else {
        (F::one() + e1) + e2
    };
    ln_of_sum(sum) + max
}

/// `log(exp(x - m) + exp(y - m)) + m` with `m = cpp_max(x, y)`, shifted by 0 when `m`
/// is -inf, as libtorch writes both of its two-term log-sum-exps (where the kernel does
/// not shift, `x` is never -inf, so neither is `m`): with a finite `m` its own term is
/// 1, and `1 + e` is `e + 1`.
#[inline(always)]
fn log_sum_exp2<F: Float>(x: F, y: F) -> F {
    let mut max = cpp_max(x, y);
    if !max.is_finite() {
        if max == F::neg_infinity() {
            max = F::zero();
        }
        return (exp_unless_neg_infinity(x - max) + exp_unless_neg_infinity(y - max)).ln() + max;
    }
    let other = if x < y { x } else { y };
    ln_of_sum(F::one() + exp_unless_neg_infinity(other - max)) + max
}

/// `exp(d)`, without the libm call for `d = -inf` (an unreachable state, or a state the
/// recursion cannot come from, which the blanks' third term always is), whose value is
/// exactly 0. Every other argument, NaN included, goes to `exp`, so the result has the
/// bits of calling it always.
#[inline(always)]
fn exp_unless_neg_infinity<F: Float>(d: F) -> F {
    if d == F::neg_infinity() {
        F::zero()
    } else {
        d.exp()
    }
}

/// `ln(sum)`, without calling libm for a sum of exactly 1 (one reachable term), whose
/// log is 0.
#[inline(always)]
fn ln_of_sum<F: Float>(sum: F) -> F {
    if sum == F::one() { F::zero() } else { sum.ln() }
}

/// `std::max(a, b)`: `b` only when `a < b`, so a NaN `a` wins.
#[inline(always)]
fn cpp_max<F: Float>(a: F, b: F) -> F {
    if a < b { b } else { a }
}

/// One step of the alpha recursion: row `t` of the log-alphas from row `t - 1`.
#[inline(always)]
fn alpha_step<F: Float>(x: &Sample<'_, F>, t: usize, prev: &[F], cur: &mut [F]) {
    let neginf = F::neg_infinity();
    for (s, out) in cur.iter_mut().enumerate() {
        let p = x.prime(s);
        let la1 = prev[s];
        let la2 = if s > 0 { prev[s - 1] } else { neginf };
        let la3 = if s > 1 && x.prime(s - 2) != p {
            prev[s - 2]
        } else {
            neginf
        };
        *out = log_sum_exp3(la1, la2, la3) + x.lp(t, p);
    }
}

/// The negative log-likelihood from the last row of log-alphas.
fn nll_of_last_row<F: Float>(row: &[F], tl: usize) -> F {
    if tl == 0 {
        // The empty target has one state, the blank: no second path to merge.
        return -row[0];
    }
    -log_sum_exp2(row[2 * tl], row[2 * tl - 1])
}

/// The alpha recursion of one sample (libtorch's forward): returns its negative
/// log-likelihood. With `alpha`, fills it with the `input_length x (2S + 1)`
/// log-alphas the gradient needs; without, keeps two rows only.
fn forward_sample<F: Float>(x: &Sample<'_, F>, alpha: Option<&mut Vec<F>>) -> F {
    let neginf = F::neg_infinity();
    let (il, tl, w) = (x.input_length, x.labels.len(), x.width());
    if il == 0 {
        // No time step: the empty target has likelihood 1, any other 0.
        return if tl == 0 { -F::zero() } else { F::infinity() };
    }
    let mut first = vec![neginf; w];
    first[0] = x.lp(0, x.blank);
    if tl > 0 {
        first[1] = x.lp(0, x.prime(1));
    }
    match alpha {
        Some(alpha) => {
            alpha.clear();
            alpha.extend_from_slice(&first);
            alpha.resize(il * w, neginf);
            for t in 1..il {
                let (done, rest) = alpha.split_at_mut(t * w);
                alpha_step(x, t, &done[(t - 1) * w..], &mut rest[..w]);
            }
            nll_of_last_row(&alpha[(il - 1) * w..], tl)
        }
        None => {
            let mut prev = first;
            let mut cur = vec![neginf; w];
            for t in 1..il {
                alpha_step(x, t, &prev, &mut cur);
                std::mem::swap(&mut prev, &mut cur);
            }
            nll_of_last_row(&prev, tl)
        }
    }
}

/// The beta recursion of one sample and its gradient rows (libtorch's backward), for
/// `t < input_length`, written into `out` (`input_length x C`, row-major): the log of
/// `sum over s with l'[s] = c of alpha[t, s] * beta[t, s]`, collected in the kernel's
/// order, then `(exp(lp) - exp(collected + nll - lp)) * grad`.
fn backward_sample<F: Float>(
    x: &Sample<'_, F>,
    alpha: &[F],
    nll: F,
    grad: F,
    classes: usize,
    out: &mut [F],
) {
    let neginf = F::neg_infinity();
    let (il, tl, w) = (x.input_length, x.labels.len(), x.width());
    out.fill(neginf);
    if il == 0 {
        return;
    }
    let mut next = vec![neginf; w];
    let mut cur = vec![neginf; w];
    let last = il - 1;
    next[2 * tl] = x.lp(last, x.blank);
    out[last * classes + x.blank] = alpha[last * w + 2 * tl] + next[2 * tl];
    if tl > 0 {
        let p = x.prime(2 * tl - 1);
        next[2 * tl - 1] = x.lp(last, p);
        // Assigned, not log-added: a label equal to the blank overwrites the blank's
        // value, as in libtorch.
        out[last * classes + p] = alpha[last * w + 2 * tl - 1] + next[2 * tl - 1];
    }
    for t in (0..last).rev() {
        for s in (0..w).rev() {
            let p = x.prime(s);
            let lb1 = next[s];
            let lb2 = if s < 2 * tl { next[s + 1] } else { neginf };
            let lb3 = if s + 1 < 2 * tl && x.prime(s + 2) != p {
                next[s + 2]
            } else {
                neginf
            };
            cur[s] = log_sum_exp3(lb1, lb2, lb3) + x.lp(t, p);
            let log_alpha_beta = alpha[t * w + s] + cur[s];
            let lcab = &mut out[t * classes + p];
            if *lcab == neginf {
                *lcab = log_alpha_beta;
            } else {
                *lcab = log_sum_exp2(*lcab, log_alpha_beta);
            }
        }
        std::mem::swap(&mut next, &mut cur);
    }
    for t in 0..il {
        for (c, res) in out[t * classes..(t + 1) * classes].iter_mut().enumerate() {
            let lp = x.lp(t, c);
            // A class no state of the target uses keeps -inf: exp gives 0.
            *res = (lp.exp() - exp_unless_neg_infinity(*res + nll - lp)) * grad;
        }
    }
}

/// `k(b)` for every sample, in parallel when the work is large (each sample computed
/// serially, so the results do not depend on the thread count). In parallel the
/// samples are taken longest first: work stealing splits the list in halves, and what
/// is left for the last thread to finish is then the shortest samples, not one of the
/// longest (16 samples of 5 to 10 labels gained 1.67x from a second thread taken in
/// order, where libtorch gains 2x).
fn per_sample<F: Float, T: Send, K: Fn(usize) -> T + Sync + Send>(
    call: &CtcCall<'_, F>,
    k: K,
) -> Vec<T> {
    if !call.parallel() {
        return (0..call.plan.batch).map(k).collect();
    }
    let mut order: Vec<usize> = (0..call.plan.batch).collect();
    order.sort_by_key(|&b| std::cmp::Reverse(call.work(b)));
    let mut done: Vec<(usize, T)> = order.into_par_iter().map(|b| (b, k(b))).collect();
    done.sort_by_key(|&(b, _)| b);
    done.into_iter().map(|(_, t)| t).collect()
}

fn nlls<F: Float>(call: &CtcCall<'_, F>) -> Vec<F> {
    per_sample(call, |b| forward_sample(&call.sample(b), None))
}

/// The bytes of one of libtorch's SIMD vectors in its `sum` kernel: 32 with AVX2 (the
/// capability the oracle ran with) and without vector extensions.
const SUM_VECTOR_BYTES: usize = 32;

/// libtorch's `multi_row_sum` for 4 interleaved rows of `width`-lane elements:
/// element `(i, k)` is `x[(i * 4 + k) * width..][..width]`, for `i < size`. Partial sums
/// climb a 4-level cascade every `2^level_power` elements; the levels are added at the
/// end.
fn multi_row_sum<F: Float>(x: &[F], width: usize, size: usize) -> Vec<F> {
    const LEVELS: usize = 4;
    const ROWS: usize = 4;
    let ceil_log2 = if size <= 2 {
        1
    } else {
        usize::BITS - (size - 1).leading_zeros()
    } as usize;
    let level_power = 4.max(ceil_log2 / LEVELS);
    let level_step = 1usize << level_power;
    let level_mask = level_step - 1;
    let lanes = ROWS * width;
    let mut acc = vec![F::zero(); LEVELS * lanes];
    let add_element = |acc: &mut [F], i: usize| {
        for (a, &v) in acc[..lanes].iter_mut().zip(&x[i * lanes..(i + 1) * lanes]) {
            *a += v;
        }
    };
    let mut i = 0;
    while i + level_step <= size {
        for _ in 0..level_step {
            add_element(&mut acc, i);
            i += 1;
        }
        for j in 1..LEVELS {
            for k in 0..lanes {
                let lower = acc[(j - 1) * lanes + k];
                acc[j * lanes + k] += lower;
                acc[(j - 1) * lanes + k] = F::zero();
            }
            if i & (level_mask << (j * level_power)) != 0 {
                break;
            }
        }
    }
    while i < size {
        add_element(&mut acc, i);
        i += 1;
    }
    for j in 1..LEVELS {
        for k in 0..lanes {
            let level = acc[j * lanes + k];
            acc[k] += level;
        }
    }
    acc.truncate(lanes);
    acc
}

/// libtorch's `row_sum` of `x` seen as `x.len() / width` elements of `width` lanes:
/// 4 interleaved partial sums, the leftover elements added to the first, then the
/// other three added to it. Returns `width` lanes.
fn row_sum<F: Float>(x: &[F], width: usize) -> Vec<F> {
    let count = x.len() / width;
    let size_ilp = count / 4;
    let partials = multi_row_sum(x, width, size_ilp);
    let mut sum = partials[..width].to_vec();
    for e in size_ilp * 4..count {
        for (s, &v) in sum.iter_mut().zip(&x[e * width..(e + 1) * width]) {
            *s += v;
        }
    }
    for k in 1..4 {
        for (s, &v) in sum.iter_mut().zip(&partials[k * width..(k + 1) * width]) {
            *s += v;
        }
    }
    sum
}

/// `torch.sum` of a contiguous 1-D tensor on CPU (libtorch's `cascade_sum`), in `F`:
/// from one SIMD vector's length on, a lane-wise cascade over whole vectors, then the
/// leftover elements serially, then the lanes; below it, a scalar `row_sum`. Batches
/// of more than 32768 samples, which libtorch may split across threads, are summed as
/// one.
fn torch_sum<F: Float>(x: &[F]) -> F {
    let vec = SUM_VECTOR_BYTES / std::mem::size_of::<F>();
    let total = if x.len() >= vec {
        let whole = x.len() / vec * vec;
        let lanes = row_sum(&x[..whole], vec);
        let mut acc = F::zero();
        for &v in &x[whole..] {
            acc += v;
        }
        for v in lanes {
            acc += v;
        }
        acc
    } else {
        row_sum(x, 1)[0]
    };
    // The output starts as +0 and the sum is added to it.
    F::zero() + total
}

/// A target length as libtorch's `mean` divides by it: clamped to at least 1, in `F`.
fn clamped_length<F: Float>(len: usize) -> F {
    F::of_f64(len.max(1) as f64)
}

// ---------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------

/// The connectionist temporal classification loss, as
/// `torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
/// blank, reduction, zero_infinity)`: per sample, minus the log of the total
/// probability of every alignment of its first `input_length` time steps that
/// collapses (merging repeats, then dropping blanks) to its target.
///
/// - `log_probs` is `(T, N, C)`, time first, or `(T, C)` for one unbatched sample:
///   log-probabilities over C classes, blank included (typically a `log_softmax` over
///   the last dimension; nothing checks that they are normalised). Any strides.
/// - `targets` holds `int64` labels (PyTorch casts other dtypes with `.to(torch.long)`,
///   truncating floats; convert them the same way). Padded, `(N, S)`: sample b's
///   labels are the first `target_lengths[b]` of row b, the rest is ignored. Or
///   concatenated, 1-D of `sum(target_lengths)` labels. An unbatched input takes `(S)`
///   (concatenated, so of exactly `target_lengths[0]` labels) or `(1, S)`.
/// - `input_lengths` and `target_lengths` give one length per sample (N values, one for
///   an unbatched input), as PyTorch reads a lengths tensor: its values in order,
///   whatever its shape (0-D, `(N)`, ...). Input lengths are in `[0, T]`.
///
/// A repeated label needs a blank between its copies, so a target of length S with R
/// adjacent repeats needs at least `S + R` time steps: with fewer, no alignment exists
/// and the loss is `inf` (0 with `zero_infinity`). An input length of 0 gives loss 0
/// for an empty target (`-0.0`, as libtorch) and `inf` otherwise.
///
/// The output: `none` gives the `(N)` losses (`()` unbatched); `sum` their sum; `mean`
/// the mean over the batch of each loss divided by its target length clamped to at
/// least 1. PyTorch rejects empty inputs (T, N or C zero).
///
/// Exactness: bit-exact with libtorch on CPU, `f32` and `f64` (same operations in the
/// input's type, the platform's `exp` and `ln`, libtorch's summation order for `sum`
/// and `mean` with AVX2; see the module docs for AVX-512 machines).
///
/// Labels within a sample's target length must be classes in `[0, C)` (they may equal
/// the blank); PyTorch does not check this and reads out of bounds, this returns an
/// `IndexError` of its own.
///
/// ```
/// use lossparity_losses::{ctc_loss, CtcOptions, Reduction};
/// use ndarray::array;
///
/// // T = 3 steps, N = 1 sample, C = 3 classes (0 is the blank); log-probabilities,
/// // rounded.
/// let lp = array![[[-0.5f64, -1.5, -2.0]], [[-1.2, -0.6, -1.8]], [[-0.9, -2.1, -0.8]]];
/// let targets = array![[1i64, 2]];
/// let loss = ctc_loss(lp.view(), targets.view(), &[3], &[2],
///                     &CtcOptions::default().reduction(Reduction::Sum))?;
/// // torch 2.13: F.ctc_loss(lp, targets, [3], [2], reduction='sum') = 1.3229159817230804
/// assert_eq!(loss[[]], 1.3229159817230804);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn ctc_loss<F: Float, D: Dimension, E: Dimension>(
    log_probs: ArrayView<'_, F, D>,
    targets: ArrayView<'_, i64, E>,
    input_lengths: &[i64],
    target_lengths: &[i64],
    options: &CtcOptions,
) -> Result<ArrayD<F>, LossError> {
    let (log_probs, targets) = (log_probs.into_dyn(), targets.into_dyn());
    let call = prepare(
        &log_probs,
        &targets,
        input_lengths,
        target_lengths,
        options.blank,
    )?;
    reduced(&call.plan, nlls(&call), options)
}

/// The output from the samples' negative log-likelihoods: `zero_infinity`, then the
/// reduction.
fn reduced<F: Float>(
    plan: &CtcPlan,
    mut losses: Vec<F>,
    options: &CtcOptions,
) -> Result<ArrayD<F>, LossError> {
    if options.zero_infinity {
        for l in losses.iter_mut() {
            if *l == F::infinity() {
                *l = F::zero();
            }
        }
    }
    let scalar = |v: F| ArrayD::from_elem(IxDyn(&[]), v);
    match options.reduction {
        Reduction::None => {
            ArrayD::from_shape_vec(IxDyn(&plan.none_shape), losses).map_err(internal)
        }
        Reduction::Sum => Ok(scalar(torch_sum(&losses))),
        Reduction::Mean => {
            let per_label: Vec<F> = losses
                .into_iter()
                .zip(&plan.target_lengths)
                .map(|(l, &len)| l / clamped_length::<F>(len))
                .collect();
            Ok(scalar(torch_sum(&per_label) / F::of_f64(plan.batch as f64)))
        }
    }
}

/// The gradient of `sum(ctc_loss(log_probs, ...) * grad_output)` with respect to
/// `log_probs`, as PyTorch's autograd gives it (libtorch's `ctc_loss_backward` after
/// the reduction's backward): for `t < input_length`,
/// `grad[t, n, c] = (exp(lp[t, n, c]) - exp(log(sum over s with l'[s] = c of
/// alpha[t, s] * beta[t, s]) + nll[n] - lp[t, n, c])) * g[n]`, and 0 for
/// `t >= input_length`. `g[n]` is the sample's `grad_output` for `none`, the scalar
/// for `sum`, and `(grad_output / N) / max(target_length[n], 1)` (in that order, in the
/// input's type) for `mean`.
///
/// With `zero_infinity`, a sample whose loss is infinite gets a zero gradient. Without
/// it, an infinite loss makes the sample's gradient NaN (or `-inf`) wherever it is not
/// zeroed by `t >= input_length`, as in PyTorch; a `-inf` log-probability gives NaN at
/// its own position.
///
/// `grad_output` has the forward output's shape (`()` when reduced or unbatched,
/// `(N)` for `none`); another shape is autograd's "Mismatch in shape" error. The
/// result has the shape of `log_probs`. Bit-exact with libtorch on CPU.
///
/// ```
/// use lossparity_losses::{ctc_loss_backward, CtcOptions, Reduction};
/// use ndarray::{arr0, array};
///
/// let lp = array![[[-0.5f64, -1.5, -2.0]], [[-1.2, -0.6, -1.8]], [[-0.9, -2.1, -0.8]]];
/// let targets = array![[1i64, 2]];
/// let opts = CtcOptions::default().reduction(Reduction::Sum);
/// let g = ctc_loss_backward(arr0(1.0).view(), lp.view(), targets.view(), &[3], &[2], &opts)?;
/// // torch 2.13: lp.grad[0, 0] = [0.04499725703438551, -0.21533643717332232, 0.1353352832366127]
/// assert_eq!(g.shape(), &[3, 1, 3]);
/// assert_eq!(g.as_slice().unwrap()[..3], [0.04499725703438551, -0.21533643717332232, 0.1353352832366127]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn ctc_loss_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    log_probs: ArrayView<'_, F, D>,
    targets: ArrayView<'_, i64, E>,
    input_lengths: &[i64],
    target_lengths: &[i64],
    options: &CtcOptions,
) -> Result<ArrayD<F>, LossError> {
    // The reduced loss costs N additions beside the recursions.
    ctc_loss_with_grad(
        grad_output,
        log_probs,
        targets,
        input_lengths,
        target_lengths,
        options,
    )
    .map(|(_, grad)| grad)
}

/// The losses of every sample and the gradient, from one alpha recursion per sample
/// (the forward's, kept for the beta recursion, as libtorch keeps `log_alpha`).
fn loss_and_grad<F: Float>(
    grad_output: &ArrayViewD<'_, F>,
    log_probs: &ArrayViewD<'_, F>,
    call: &CtcCall<'_, F>,
    options: &CtcOptions,
) -> Result<(Vec<F>, ArrayD<F>), LossError> {
    let plan = &call.plan;
    let output_shape = match options.reduction {
        Reduction::None => plan.none_shape.clone(),
        _ => Vec::new(),
    };
    check_grad_shape(grad_output.shape(), &output_shape)?;
    let go: Vec<F> = grad_output.iter().copied().collect();
    let batch_f = F::of_f64(plan.batch as f64);
    let grad_of = |b: usize| match options.reduction {
        Reduction::None => go[b],
        Reduction::Sum => go[0],
        Reduction::Mean => go[0] / batch_f / clamped_length::<F>(plan.target_lengths[b]),
    };
    let classes = plan.classes;
    let rows: Vec<(F, Vec<F>)> = per_sample(call, |b| {
        let x = call.sample(b);
        let mut alpha = Vec::new();
        let nll = forward_sample(&x, Some(&mut alpha));
        let mut out = vec![F::zero(); x.input_length * classes];
        if options.zero_infinity && nll == F::infinity() {
            return (nll, out);
        }
        backward_sample(&x, &alpha, nll, grad_of(b), classes, &mut out);
        (nll, out)
    });
    let mut grad = vec![F::zero(); plan.steps * plan.batch * classes];
    for (b, (_, row)) in rows.iter().enumerate() {
        for (t, values) in row.chunks_exact(classes.max(1)).enumerate() {
            let start = (t * plan.batch + b) * classes;
            grad[start..start + classes].copy_from_slice(values);
        }
    }
    let grad = ArrayD::from_shape_vec(IxDyn(log_probs.shape()), grad).map_err(internal)?;
    Ok((rows.into_iter().map(|(nll, _)| nll).collect(), grad))
}

/// [`ctc_loss`] and [`ctc_loss_backward`] in one call, for a training step: the same
/// output and gradient, bit for bit, from one alpha recursion per sample instead of two
/// (the backward alone must recompute the forward's; libtorch's autograd keeps it).
///
/// ```
/// use lossparity_losses::{ctc_loss, ctc_loss_backward, ctc_loss_with_grad, CtcOptions};
/// use ndarray::{arr0, array};
///
/// let lp = array![[[-0.5f64, -1.5, -2.0]], [[-1.2, -0.6, -1.8]], [[-0.9, -2.1, -0.8]]];
/// let targets = array![[1i64, 2]];
/// let opts = CtcOptions::default();
/// let (loss, grad) =
///     ctc_loss_with_grad(arr0(1.0).view(), lp.view(), targets.view(), &[3], &[2], &opts)?;
/// assert_eq!(loss, ctc_loss(lp.view(), targets.view(), &[3], &[2], &opts)?);
/// let alone = ctc_loss_backward(arr0(1.0).view(), lp.view(), targets.view(), &[3], &[2], &opts)?;
/// assert_eq!(grad, alone);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn ctc_loss_with_grad<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    log_probs: ArrayView<'_, F, D>,
    targets: ArrayView<'_, i64, E>,
    input_lengths: &[i64],
    target_lengths: &[i64],
    options: &CtcOptions,
) -> Result<(ArrayD<F>, ArrayD<F>), LossError> {
    let (grad_output, log_probs, targets) = (
        grad_output.into_dyn(),
        log_probs.into_dyn(),
        targets.into_dyn(),
    );
    // Autograd runs the forward first: its errors come before grad_output's.
    let call = prepare(
        &log_probs,
        &targets,
        input_lengths,
        target_lengths,
        options.blank,
    )?;
    let (nlls, grad) = loss_and_grad(&grad_output, &log_probs, &call, options)?;
    Ok((reduced(&call.plan, nlls, options)?, grad))
}
