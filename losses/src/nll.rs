//! `nll_loss`: the negative log-likelihood of class-index targets, forward and backward.
//!
//! The reductions follow libtorch's CPU kernel step by step: a serial pass over the
//! positions with an 8-level cascade sum in the input's own dtype, so `mean` and `sum`
//! agree with libtorch bit for bit, and `none` is exact by construction. The kernels
//! gather positions in groups and sum the cascade's 16-position segments side by side
//! (see `cascade_sums`): every accumulator still sees the serial loop's operations in
//! the serial loop's order. On large inputs the reads and target checks run on every
//! thread first (`sums_in_parallel`) and only the cascade over what they recorded is
//! serial; a large spatial gradient is written sample by sample on every thread.

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{PARALLEL_MIN_ELEMENTS, written_vec, zeroed_vec};
use super::options::{NllLossOptions, Reduction, Target, row_major};
use super::softmax::check_grad_shape;

/// Which of libtorch's kernels a call reaches, decided from shapes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NllPath {
    /// `(C)` input: one sample. `one_d_target` marks the `(1)`-shaped target that the
    /// forward accepts and the backward rejects.
    Unbatched { one_d_target: bool },
    /// `(N, C)` input.
    Batched,
    /// `(N, C, d1..dK)` input, K >= 1: libtorch's `nll_loss2d`, which reads only
    /// `int64` targets.
    Spatial,
}

/// The shape facts of a validated `nll_loss` call.
#[derive(Debug, Clone)]
pub(crate) struct NllPlan {
    pub path: NllPath,
    /// Samples: N, or 1 for a `(C)` input.
    pub batch: usize,
    pub classes: usize,
    /// Positions per sample and class: d1 * .. * dK (1 without spatial dims).
    pub map: usize,
    pub input_shape: Vec<usize>,
    pub target_shape: Vec<usize>,
    /// The output's shape with `reduction='none'`.
    pub none_shape: Vec<usize>,
    /// Whether the target is `uint8` (it changes how libtorch prints a bad index).
    pub byte_target: bool,
}

impl NllPlan {
    /// Positions that carry a target.
    pub fn positions(&self) -> usize {
        self.batch * self.map
    }

    /// Output shape for a reduction.
    pub fn output_shape(&self, reduction: Reduction) -> Vec<usize> {
        match reduction {
            Reduction::None => self.none_shape.clone(),
            _ => Vec::new(),
        }
    }
}

fn target_dtype_error(dtype: &str) -> LossError {
    LossError::runtime(
        format!("expected target dtype to be Long or Byte, but got {dtype}"),
        format!(
            "nll_loss and cross_entropy with a target not shaped like the input read class \
             indices, which must be integers (int64, or uint8); this target holds {dtype} \
             values. For class probabilities use cross_entropy with a target of exactly the \
             input's shape"
        ),
    )
}

/// PyTorch's refusal of a class weight that requires grad (by `nll_loss`, and by
/// `cross_entropy` with class indices, which calls it), raised by autograd when
/// `nll_loss_nd`, whose checks come first, calls the kernel: `nll_loss_forward` for 1-D
/// and 2-D inputs, `nll_loss2d_forward` for the rest, which are reshaped to 4-D.
pub(crate) fn weight_grad_refusal(input: &[usize], target: &[usize]) -> LossError {
    if let Err(e) = nd_checks(input, target) {
        return e;
    }
    let function = if input.len() <= 2 {
        "nll_loss_forward"
    } else {
        "nll_loss2d_forward"
    };
    LossError::runtime(
        format!(
            "The function '{function}' is not differentiable with respect to argument \
             'weight'. This input cannot have requires_grad True."
        ),
        "PyTorch computes no gradient for the class weights of nll_loss, nor of \
         cross_entropy with class indices (only with class probabilities); pass \
         weight.detach(), or differentiate with respect to the input only",
    )
}

/// The checks of `nll_loss_nd`, PyTorch's dispatcher, in its order: they run before
/// autograd sees the arguments and before the kernels' own checks.
pub(crate) fn nd_checks(input: &[usize], target: &[usize]) -> Result<(), LossError> {
    let ndim = input.len();
    if ndim == 0 {
        return Err(LossError::value(
            "Expected 1 or more dimensions (got 0)",
            "the input is a single number; nll_loss needs scores with a class dimension: \
             (C) for one sample, (N, C) for a batch of N samples over C classes",
        ));
    }
    if ndim != 1 {
        // libtorch reads a 0-D target's batch size as 0.
        let target_batch = target.first().copied().unwrap_or(0);
        if input[0] != target_batch {
            return Err(LossError::value(
                format!(
                    "Expected input batch_size ({}) to match target batch_size ({target_batch}).",
                    input[0]
                ),
                format!(
                    "the input holds {} samples (its dim 0) but the target has {target_batch}; \
                     give one class index per sample: for input {} the target has shape {}",
                    input[0],
                    shape_str(input),
                    shape_str(&expected_target_shape(input))
                ),
            ));
        }
    }
    if ndim >= 3 && ndim != 4 && target.get(1..) != Some(&input[2..]) {
        let mut none_shape = vec![input[0]];
        none_shape.extend_from_slice(&input[2..]);
        return Err(LossError::runtime(
            format!(
                "Expected target size {}, got {}",
                shape_str(&none_shape),
                shape_str(target)
            ),
            format!(
                "an input {} is (N, C, d1..dK) scores with the classes in dim 1; the \
                 target holds one class index per position, shape {}",
                shape_str(input),
                shape_str(&none_shape)
            ),
        ));
    }
    Ok(())
}

/// Every shape check of `nll_loss`, in libtorch's order, before any value is read.
pub(crate) fn nll_plan(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    weight: Option<&[usize]>,
) -> Result<NllPlan, LossError> {
    nd_checks(input, target)?;
    let ndim = input.len();
    let integer_target = target_dtype == "Long" || target_dtype == "Byte";
    let classes = if ndim == 1 { input[0] } else { input[1] };
    let weight_mismatch = |w: &[usize]| w.iter().product::<usize>() != classes;
    match ndim {
        1 | 2 => {
            if target.len() > 1 {
                return Err(LossError::runtime(
                    "0D or 1D target tensor expected, multi-target not supported",
                    format!(
                        "the target {} has more than one dimension; nll_loss wants one class \
                         index per sample (shape {}), not one-hot rows. Convert one-hot rows \
                         with argmax over the class dimension, or use cross_entropy, which reads \
                         a target of the input's shape as class probabilities",
                        shape_str(target),
                        shape_str(&expected_target_shape(input))
                    ),
                ));
            }
            if !integer_target {
                return Err(target_dtype_error(target_dtype));
            }
            if ndim == 1 && target.len() == 1 && target[0] != 1 {
                return Err(LossError::value(
                    format!(
                        "For 1D input, 1D target must have size 1, but got target size: {}",
                        target[0]
                    ),
                    format!(
                        "a 1-D input of shape {} is one sample with {} classes, so its target is \
                         a single class index (shape []); for a batch of {} samples give the \
                         input shape ({}, {}) and a target of shape ({})",
                        shape_str(input),
                        input[0],
                        target[0],
                        target[0],
                        input[0],
                        target[0]
                    ),
                ));
            }
            if ndim == 2 && target.is_empty() {
                return Err(LossError::index(
                    "Dimension specified as 0 but tensor has no dimensions",
                    "a batched (N, C) input needs a target of shape (N), not a 0-D index",
                ));
            }
            if let Some(w) = weight
                && (w.len() != 1 || weight_mismatch(w))
            {
                return Err(weight_shape_error("", classes, w));
            }
            let (path, batch, none_shape) = if ndim == 1 {
                let path = NllPath::Unbatched {
                    one_d_target: target.len() == 1,
                };
                (path, 1, Vec::new())
            } else {
                (NllPath::Batched, input[0], vec![input[0]])
            };
            Ok(NllPlan {
                path,
                batch,
                classes,
                map: 1,
                input_shape: input.to_vec(),
                target_shape: target.to_vec(),
                none_shape,
                byte_target: target_dtype == "Byte",
            })
        }
        _ => {
            let mut none_shape = vec![input[0]];
            none_shape.extend_from_slice(&input[2..]);
            if ndim == 4 && target.len() != 3 {
                return Err(LossError::runtime(
                    format!(
                        "only batches of spatial targets supported (3D tensors) but got targets of dimension: {}",
                        target.len()
                    ),
                    format!(
                        "a 4-D input {} is (N, C, H, W) scores; its target holds one class \
                         index per pixel, shape {}",
                        shape_str(input),
                        shape_str(&none_shape)
                    ),
                ));
            }
            if !integer_target {
                return Err(target_dtype_error(target_dtype));
            }
            if let Some(w) = weight
                && weight_mismatch(w)
            {
                return Err(LossError::runtime(
                    "weight tensor should be defined either for all or no classes",
                    format!(
                        "the weight has {} values but the input has {classes} classes \
                             (its dim 1); give one weight per class",
                        w.iter().product::<usize>()
                    ),
                ));
            }
            if ndim == 4
                && (input[0] != target[0] || input[2] != target[1] || input[3] != target[2])
            {
                return Err(LossError::runtime(
                    format!(
                        "size mismatch (got input: {} , target: {}",
                        shape_str(input),
                        shape_str(target)
                    ),
                    format!(
                        "for an (N, C, H, W) input {} the target must be (N, H, W) = {}",
                        shape_str(input),
                        shape_str(&none_shape)
                    ),
                ));
            }
            // libtorch views a 3-D or 5-D+ input as (N, C, 1, -1), or as (N, C, 0, 0)
            // when it has no elements, and its target as (N, 1, -1): with no classes
            // but some positions the two views no longer match.
            let positions: usize = target.iter().product();
            if ndim != 4 && classes == 0 && positions > 0 {
                return Err(LossError::runtime(
                    format!(
                        "size mismatch (got input: {} , target: {}",
                        shape_str(&[input[0], 0, 0, 0]),
                        shape_str(&[input[0], 1, positions / input[0].max(1)])
                    ),
                    format!(
                        "the input {} has no classes (its dim 1 is 0), so there is no class \
                         for the {positions} target(s) to pick",
                        shape_str(input)
                    ),
                ));
            }
            Ok(NllPlan {
                path: NllPath::Spatial,
                batch: input[0],
                classes,
                map: input[2..].iter().product(),
                input_shape: input.to_vec(),
                target_shape: target.to_vec(),
                none_shape,
                byte_target: target_dtype == "Byte",
            })
        }
    }
}

/// The error libtorch raises when a weight's shape does not fit the classes (the
/// `cross_entropy: ` prefix marks the probability-target path).
pub(crate) fn weight_shape_error(prefix: &str, classes: usize, weight: &[usize]) -> LossError {
    LossError::runtime(
        format!(
            "{prefix}weight tensor should be defined either for all {classes} classes or no classes but got weight tensor of shape: {}",
            shape_str(weight)
        ),
        format!(
            "the weight gives one factor per class, so it must be 1-D with {classes} values \
             (the input's class dimension), not shape {}",
            shape_str(weight)
        ),
    )
}

/// The `uint8` target check of the spatial kernel, which libtorch makes only once it
/// reads the target: never for a reduced loss over an empty target.
pub(crate) fn check_spatial_target_dtype(
    plan: &NllPlan,
    target_dtype: &str,
    reduction: Reduction,
) -> Result<(), LossError> {
    let empty = plan.target_shape.iter().product::<usize>() == 0;
    if plan.path == NllPath::Spatial
        && target_dtype == "Byte"
        && (reduction == Reduction::None || !empty)
    {
        return Err(byte_target_error());
    }
    Ok(())
}

fn byte_target_error() -> LossError {
    LossError::runtime(
        "expected scalar type Long but found Byte",
        "for inputs with more than 2 dimensions libtorch reads class indices as int64 \
         only; convert the uint8 target with .long()",
    )
}

#[cold]
#[inline(never)]
fn out_of_bounds(plan: &NllPlan, target: i64, ignore_index: i64, elementwise: bool) -> LossError {
    let classes = plan.classes;
    // libtorch's elementwise (`none`) kernel streams a uint8 target into its message as
    // a character, not a number; its reducing kernel widens it to int64 first.
    let as_char = plan.byte_target && elementwise;
    let shown = if as_char {
        u8::try_from(target)
            .ok()
            .filter(u8::is_ascii)
            .map_or('\u{fffd}', char::from)
            .to_string()
    } else {
        target.to_string()
    };
    let extra = if target < 0 {
        format!(
            "; negative values are not classes: if {target} marks unlabelled positions, pass \
             ignore_index={target}"
        )
    } else if as_char {
        format!(" (libtorch prints the uint8 target {target} as a character)")
    } else {
        String::new()
    };
    LossError::index(
        format!("Target {shown} is out of bounds."),
        format!(
            "class index {target} is not in [0, {classes}), the input's {classes} classes, and \
             not ignore_index ({ignore_index}){extra}"
        ),
    )
}

impl NllPlan {
    /// Checks a target value and returns its class, or `None` when it is ignored.
    /// `elementwise` marks libtorch's `none` kernel, which words the error differently.
    #[inline(always)]
    fn class_of(
        &self,
        t: i64,
        ignore_index: i64,
        elementwise: bool,
    ) -> Result<Option<usize>, LossError> {
        if t == ignore_index {
            return Ok(None);
        }
        // A negative `t` is above every class count as a `u64`.
        if t as u64 >= self.classes as u64 {
            return Err(out_of_bounds(self, t, ignore_index, elementwise));
        }
        Ok(Some(t as usize))
    }
}

/// libtorch's `CeilLog2` (1 for inputs up to 2).
fn ceil_log2(x: u64) -> u32 {
    if x <= 2 {
        1
    } else {
        64 - (x - 1).leading_zeros()
    }
}

/// Levels of libtorch's cascade sum.
const LEVELS: usize = 8;
/// Positions between two flushes of the lowest level, for every batch below 2^40
/// positions (`level_power` 4).
const SEGMENT: usize = 16;
/// Segments summed side by side: independent chains of the same operations.
const LANES: usize = 8;
/// Positions gathered before they are summed, so that their reads overlap.
const GROUP: usize = SEGMENT * LANES;

/// libtorch's 8-level cascade of partial sums of the loss terms and the weights.
struct Cascade<F> {
    loss: [F; LEVELS],
    wsum: [F; LEVELS],
    level_power: u32,
    level_mask: u64,
}

impl<F: Float> Cascade<F> {
    fn new(positions: usize) -> Self {
        let level_power = 4.max(ceil_log2(positions as u64) / LEVELS as u32);
        Cascade {
            loss: [F::zero(); LEVELS],
            wsum: [F::zero(); LEVELS],
            level_power,
            level_mask: (1u64 << level_power) - 1,
        }
    }

    /// The flushes after position `p`'s term was added.
    #[inline(always)]
    fn flush(&mut self, p: usize) {
        for j in 0..LEVELS - 1 {
            if (p as u64) & (self.level_mask << (j as u32 * self.level_power)) != 0 {
                break;
            }
            self.wsum[j + 1] += self.wsum[j];
            self.loss[j + 1] += self.loss[j];
            self.wsum[j] = F::zero();
            self.loss[j] = F::zero();
        }
    }
}

/// The terms of up to [`GROUP`] consecutive positions, gathered before they are summed.
/// An ignored position holds the neutral `+0` term and `-0` weight.
struct Group<F> {
    terms: [F; GROUP],
    weights: [F; GROUP],
    kept: [bool; GROUP],
}

impl<F: Float> Group<F> {
    fn new() -> Self {
        Group {
            terms: [F::zero(); GROUP],
            weights: [F::zero(); GROUP],
            kept: [false; GROUP],
        }
    }

    /// Records entry `k`: the position's class, or `None` where the target is ignored.
    /// `x(c)` reads the position's log-probability of class `c`.
    #[inline(always)]
    fn set<const WEIGHTED: bool>(
        &mut self,
        k: usize,
        class: Option<usize>,
        weight: &[F],
        x: impl FnOnce(usize) -> F,
    ) {
        match class {
            Some(c) => {
                if WEIGHTED {
                    self.terms[k] = x(c) * weight[c];
                    self.weights[k] = weight[c];
                } else {
                    self.terms[k] = x(c);
                }
                self.kept[k] = true;
            }
            None => {
                self.terms[k] = F::zero();
                self.weights[k] = -F::zero();
                self.kept[k] = false;
            }
        }
    }
}

/// The cascade sums over positions `0..count`: `(sum of -terms, sum of weights, ignored
/// positions)`, operation for operation as libtorch's serial loop, where the term of a
/// position is `x[t]`, or `x[t] * w[t]` with a weight (`WEIGHTED`).
///
/// `fill(p, len, group)` records positions `p..p + len` in the group's first `len`
/// entries; it is called on consecutive ranges, in order, and its first error is
/// returned. `level_positions` sets the cascade's level size.
///
/// Between two flushes the lowest level is a plain chain of subtractions that starts
/// from zero, so with `level_power` 4 the 16-position segments of a group are summed
/// side by side, each with the very operations of the serial loop, and then flushed
/// in order. An ignored position inside a segment adds `+0` to the loss (`a - +0` is
/// `a` for every `a`, signed zeros and NaN included) and `-0` to the weight (`a + -0`
/// is `a`); an ignored position where a flush would happen removes that flush and
/// joins two chains, so the later segment is summed again from the earlier one's end.
/// A group shorter than [`GROUP`] (the last one) is summed serially.
fn cascade_sums<F: Float, const WEIGHTED: bool>(
    level_positions: usize,
    count: usize,
    mut fill: impl FnMut(usize, usize, &mut Group<F>) -> Result<(), LossError>,
) -> Result<(F, F, usize), LossError> {
    let mut cascade = Cascade::<F>::new(level_positions);
    let lanes = cascade.level_power as usize == SEGMENT.trailing_zeros() as usize;
    let mut ignored = 0usize;
    let mut group = Group::new();
    let mut p = 0;
    while p < count {
        // With lanes, position 0 flushes alone and groups then start one past a flush.
        let len = if lanes && p == 0 {
            1
        } else {
            GROUP.min(count - p)
        };
        fill(p, len, &mut group)?;
        ignored += group.kept[..len].iter().filter(|&&kept| !kept).count();
        if lanes && len == GROUP {
            let mut loss = [F::zero(); LANES];
            loss[0] = cascade.loss[0];
            for j in 0..SEGMENT {
                for (i, acc) in loss.iter_mut().enumerate() {
                    *acc -= group.terms[i * SEGMENT + j];
                }
            }
            let mut wsum = [F::zero(); LANES];
            if WEIGHTED {
                wsum[0] = cascade.wsum[0];
                for j in 0..SEGMENT {
                    for (i, acc) in wsum.iter_mut().enumerate() {
                        *acc += group.weights[i * SEGMENT + j];
                    }
                }
            }
            for i in 0..LANES {
                let segment = i * SEGMENT..(i + 1) * SEGMENT;
                if i > 0 && !group.kept[segment.start - 1] {
                    // The previous segment's flush was skipped: this segment's chain
                    // continues from its end rather than from zero.
                    let mut l = cascade.loss[0];
                    for &t in &group.terms[segment.clone()] {
                        l -= t;
                    }
                    loss[i] = l;
                    if WEIGHTED {
                        let mut w = cascade.wsum[0];
                        for &v in &group.weights[segment.clone()] {
                            w += v;
                        }
                        wsum[i] = w;
                    }
                }
                cascade.loss[0] = loss[i];
                if WEIGHTED {
                    cascade.wsum[0] = wsum[i];
                }
                if group.kept[segment.end - 1] {
                    cascade.flush(p + segment.end - 1);
                }
            }
        } else {
            // The serial loop, with the lowest level in registers between flushes.
            let (mut loss, mut wsum) = (cascade.loss[0], cascade.wsum[0]);
            for k in 0..len {
                if group.kept[k] {
                    loss -= group.terms[k];
                    if WEIGHTED {
                        wsum += group.weights[k];
                    }
                    if (p + k) as u64 & cascade.level_mask == 0 {
                        (cascade.loss[0], cascade.wsum[0]) = (loss, wsum);
                        cascade.flush(p + k);
                        (loss, wsum) = (cascade.loss[0], cascade.wsum[0]);
                    }
                }
            }
            (cascade.loss[0], cascade.wsum[0]) = (loss, wsum);
        }
        p += len;
    }
    let total = cascade.loss.iter().fold(F::zero(), |acc, &v| acc + v);
    let wsum = cascade.wsum.iter().fold(F::zero(), |acc, &v| acc + v);
    Ok((total, wsum, ignored))
}

/// The flat index of class 0 at each position of a row-major input, position after
/// position: `(b * C) * map + s` without a division.
struct Cursor {
    map: usize,
    sample: usize,
    base: usize,
    s: usize,
}

impl Cursor {
    fn new(plan: &NllPlan) -> Self {
        Cursor {
            map: plan.map,
            sample: plan.classes * plan.map,
            base: 0,
            s: 0,
        }
    }

    /// The next position's index of class 0 (class `c` is `c * map` further).
    #[inline(always)]
    fn next(&mut self) -> usize {
        let index = self.base + self.s;
        self.s += 1;
        if self.s == self.map {
            self.s = 0;
            self.base += self.sample;
        }
        index
    }
}

/// The sums of a reduced `nll_loss`: `(sum of -w[t] * x[t], total weight)`, accumulated
/// as libtorch does (serially, in `F`, with an 8-level cascade).
pub(crate) fn nll_sums<F: Float>(
    plan: &NllPlan,
    pick: &impl Fn(usize, usize) -> F,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
) -> Result<(F, F), LossError> {
    #[inline(always)]
    fn fill<F: Float, const WEIGHTED: bool>(
        plan: &NllPlan,
        pick: &impl Fn(usize, usize) -> F,
        targets: &[i64],
        weight: &[F],
        ignore_index: i64,
        (p, len, group): (usize, usize, &mut Group<F>),
    ) -> Result<(), LossError> {
        for k in 0..len {
            let class = plan.class_of(targets[p + k], ignore_index, false)?;
            group.set::<WEIGHTED>(k, class, weight, |c| pick(p + k, c));
        }
        Ok(())
    }
    let positions = plan.positions();
    let count = targets.len().min(positions);
    let (total, wsum, ignored) = match weight {
        Some(w) => cascade_sums::<F, true>(positions, count, |p, len, group| {
            fill::<F, true>(plan, pick, targets, w, ignore_index, (p, len, group))
        })?,
        None => cascade_sums::<F, false>(positions, count, |p, len, group| {
            fill::<F, false>(plan, pick, targets, &[], ignore_index, (p, len, group))
        })?,
    };
    Ok(sums_result(plan, weight, total, wsum, ignored))
}

/// [`nll_sums`] on the row-major input `x` of the plan's shape.
fn nll_sums_flat<F: Float>(
    plan: &NllPlan,
    x: &[F],
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
) -> Result<(F, F), LossError> {
    let positions = plan.positions();
    let count = targets.len().min(positions);
    let (total, wsum, ignored) = match weight {
        Some(w) => cascade_sums::<F, true>(positions, count, |p, len, group| {
            fill_flat::<F, true>(plan, x, targets, w, ignore_index, p, len, group)
        })?,
        None => cascade_sums::<F, false>(positions, count, |p, len, group| {
            fill_flat::<F, false>(plan, x, targets, &[], ignore_index, p, len, group)
        })?,
    };
    Ok(sums_result(plan, weight, total, wsum, ignored))
}

/// `(total, total_weight)` of the cascade sums: without a weight, libtorch counts the
/// positions that are not ignored.
fn sums_result<F: Float>(
    plan: &NllPlan,
    weight: Option<&[F]>,
    total: F,
    wsum: F,
    ignored: usize,
) -> (F, F) {
    let total_weight = match weight {
        Some(_) => wsum,
        None => F::of_f64((plan.positions() - ignored) as f64),
    };
    (total, total_weight)
}

/// Gathers positions `p..p + len` of the row-major input `x` into a group: runs of
/// positions inside one sample sit at consecutive indices (spatial inputs) or one row
/// apart (`(N, C)` inputs), with class `c` at `c * map` further.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn fill_flat<F: Float, const WEIGHTED: bool>(
    plan: &NllPlan,
    x: &[F],
    targets: &[i64],
    weight: &[F],
    ignore_index: i64,
    p: usize,
    len: usize,
    group: &mut Group<F>,
) -> Result<(), LossError> {
    let map = plan.map;
    if map == 1 {
        // (N, C) or (C): position q's row starts at q * C.
        for (k, &t) in targets[p..p + len].iter().enumerate() {
            let class = plan.class_of(t, ignore_index, false)?;
            let at = (p + k) * plan.classes;
            group.set::<WEIGHTED>(k, class, weight, |c| x[at + c]);
        }
        return Ok(());
    }
    let mut k = 0;
    while k < len {
        // A run of consecutive positions inside one sample.
        let q = p + k;
        let s = q % map;
        let run = (map - s).min(len - k);
        let base = (q - s) * plan.classes + s;
        for (i, &t) in targets[q..q + run].iter().enumerate() {
            let class = plan.class_of(t, ignore_index, false)?;
            let at = base + i;
            group.set::<WEIGHTED>(k + i, class, weight, |c| x[at + c * map]);
        }
        k += run;
    }
    Ok(())
}

/// The forward of a validated call: the loss and libtorch's `total_weight`.
/// `pick(p, c)` reads the log-probability of class `c` at position `p`.
pub(crate) fn nll_forward<F: Float>(
    plan: &NllPlan,
    pick: &impl Fn(usize, usize) -> F,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
) -> Result<(ArrayD<F>, F), LossError> {
    forward_with(
        plan,
        |p| p,
        pick,
        || nll_sums(plan, pick, targets, weight, ignore_index),
        targets,
        weight,
        ignore_index,
        reduction,
    )
}

/// [`nll_forward`] on the row-major input `x` of the plan's shape.
fn nll_forward_flat<F: Float>(
    plan: &NllPlan,
    x: &[F],
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
) -> Result<(ArrayD<F>, F), LossError> {
    let mut cursor = Cursor::new(plan);
    let map = plan.map;
    forward_with(
        plan,
        |_| cursor.next(),
        &|at, class| x[at + class * map],
        || {
            if reduced_in_parallel(plan) {
                sums_in_parallel(plan, x, targets, weight, ignore_index)
            } else {
                nll_sums_flat(plan, x, targets, weight, ignore_index)
            }
        },
        targets,
        weight,
        ignore_index,
        reduction,
    )
}

/// Whether a spatial input (`map > 1`) is large enough, and threads are there, for the
/// per-sample parallel paths. They give the same bits as the serial ones.
fn spatial_in_parallel(plan: &NllPlan) -> bool {
    plan.map > 1
        && plan.classes > 0
        && plan.positions() * plan.classes >= PARALLEL_MIN_ELEMENTS
        && rayon::current_num_threads() > 1
}

/// Rows per task of [`sums_in_parallel`] on an `(N, C)` input.
const ROWS_PER_TASK: usize = 512;

/// Whether [`sums_in_parallel`] pays on this call: a spatial input as
/// [`spatial_in_parallel`], or an `(N, C)` input of several tasks' rows whose rows are
/// far apart, each read a cache miss: threads overlap them, and even on one thread its
/// plain gathering loop keeps more of them in flight than the grouped one of
/// [`nll_sums_flat`] (measured on `(4096, 32000)`: 25 µs against 28 µs).
fn reduced_in_parallel(plan: &NllPlan) -> bool {
    spatial_in_parallel(plan)
        || (matches!(plan.path, NllPath::Batched)
            && plan.positions() >= 4 * ROWS_PER_TASK
            && plan.positions() * plan.classes >= PARALLEL_MIN_ELEMENTS
            && plan.classes >= 1024)
}

/// [`nll_sums_flat`] with its reads and target checks spread over the threads, sample
/// by sample (spatial inputs) or [`ROWS_PER_TASK`] rows at a time: each position's
/// term, weight and whether it counts are written down first (what [`Group::set`]
/// would record), then the cascade sums them serially, in libtorch's order, from those
/// records. The first bad target in position order is the error, as in the serial loop.
fn sums_in_parallel<F: Float>(
    plan: &NllPlan,
    x: &[F],
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
) -> Result<(F, F), LossError> {
    let (classes, map) = (plan.classes, plan.map);
    // Positions per task, and the strides of a task's positions and of the classes.
    let (per_task, position_stride, class_stride) = if map > 1 {
        (map, 1, map)
    } else {
        (ROWS_PER_TASK, classes, 1)
    };
    let count = targets.len().min(plan.positions());
    let targets = &targets[..count];
    let mut terms = vec![F::zero(); count];
    let mut weights = vec![-F::zero(); if weight.is_some() { count } else { 0 }];
    let mut kept = vec![false; count];
    let first_bad = terms
        .par_chunks_mut(per_task)
        .zip(kept.par_chunks_mut(per_task))
        .zip(
            targets
                .par_chunks(per_task)
                .zip(x.par_chunks(classes * per_task)),
        )
        .enumerate()
        .filter_map(|(b, ((terms, kept), (t, x)))| {
            for (s, &t) in t.iter().enumerate() {
                match plan.class_of(t, ignore_index, false) {
                    Err(_) => return Some(b * per_task + s),
                    Ok(None) => {}
                    Ok(Some(c)) => {
                        let v = x
                            .get(c * class_stride + s * position_stride)
                            .copied()
                            .unwrap_or_else(F::nan);
                        terms[s] = weight.map_or(v, |w| v * w[c]);
                        kept[s] = true;
                    }
                }
            }
            None
        })
        .min();
    if let Some(p) = first_bad {
        plan.class_of(targets[p], ignore_index, false)?;
        return Err(internal("a target failed its check only once"));
    }
    let (total, wsum, ignored) = match weight {
        Some(w) => {
            for ((v, &t), &k) in weights.iter_mut().zip(targets).zip(&kept) {
                if k {
                    *v = w[t as usize];
                }
            }
            cascade_sums::<F, true>(plan.positions(), count, |p, len, group| {
                group.terms[..len].copy_from_slice(&terms[p..p + len]);
                group.weights[..len].copy_from_slice(&weights[p..p + len]);
                group.kept[..len].copy_from_slice(&kept[p..p + len]);
                Ok(())
            })?
        }
        None => cascade_sums::<F, false>(plan.positions(), count, |p, len, group| {
            group.terms[..len].copy_from_slice(&terms[p..p + len]);
            group.kept[..len].copy_from_slice(&kept[p..p + len]);
            Ok(())
        })?,
    };
    Ok(sums_result(plan, weight, total, wsum, ignored))
}

/// [`nll_forward`] reading class `c` of position `p` as `read(locate(p), c)` for
/// `none`, where `locate` is called once per position, in order, and taking the sums
/// of the other reductions from `sums`.
#[allow(clippy::too_many_arguments)]
fn forward_with<F: Float>(
    plan: &NllPlan,
    mut locate: impl FnMut(usize) -> usize,
    read: &impl Fn(usize, usize) -> F,
    sums: impl FnOnce() -> Result<(F, F), LossError>,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
) -> Result<(ArrayD<F>, F), LossError> {
    let shape = IxDyn(&plan.output_shape(reduction));
    // A `(C)` input has one position; libtorch reduces it even for `none`.
    let unbatched = matches!(plan.path, NllPath::Unbatched { .. });
    if reduction == Reduction::None && !unbatched {
        let mut out = Vec::with_capacity(plan.positions());
        for (p, &t) in targets.iter().enumerate() {
            let at = locate(p);
            out.push(match plan.class_of(t, ignore_index, true)? {
                None => F::zero(),
                Some(class) => {
                    let w = weight.map_or(F::one(), |w| w[class]);
                    -read(at, class) * w
                }
            });
        }
        return Ok((
            ArrayD::from_shape_vec(shape, out).map_err(internal)?,
            F::zero(),
        ));
    }
    if targets.is_empty() {
        let value = if reduction == Reduction::Mean {
            F::nan()
        } else {
            F::zero()
        };
        return Ok((ArrayD::from_elem(shape, value), F::zero()));
    }
    let (total, total_weight) = sums()?;
    let value = if reduction == Reduction::Mean {
        total / total_weight
    } else {
        total
    };
    Ok((ArrayD::from_elem(shape, value), total_weight))
}

/// What the forward of a validated call would return as `total_weight`, with the
/// forward's target errors, without reading the input. Exact for `mean`, the only
/// reduction whose gradient reads it.
fn forward_total_weight<F: Float>(
    plan: &NllPlan,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
) -> Result<F, LossError> {
    let unbatched = matches!(plan.path, NllPath::Unbatched { .. });
    let elementwise = reduction == Reduction::None && !unbatched;
    if targets.is_empty() && !elementwise {
        return Ok(F::zero());
    }
    let positions = plan.positions();
    if elementwise || reduction != Reduction::Mean || weight.is_none() {
        let checked = if elementwise {
            targets.len()
        } else {
            targets.len().min(positions)
        };
        let mut ignored = 0usize;
        for &t in &targets[..checked] {
            if plan.class_of(t, ignore_index, elementwise)?.is_none() {
                ignored += 1;
            }
        }
        return Ok(if elementwise {
            F::zero()
        } else {
            F::of_f64((positions - ignored) as f64)
        });
    }
    // A weighted mean: the cascade of the weights, as the forward sums them.
    nll_sums(plan, &|_, _| F::zero(), targets, weight, ignore_index)
        .map(|(_, total_weight)| total_weight)
}

/// The gradient of a validated call with respect to its row-major input.
pub(crate) fn nll_backward_kernel<F: Float>(
    plan: &NllPlan,
    grad_output: &ArrayViewD<'_, F>,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
    total_weight: F,
) -> Result<ArrayD<F>, LossError> {
    if spatial_in_parallel(plan)
        && reduction != Reduction::None
        && let Some(grad) = backward_spatial_parallel(
            plan,
            grad_output,
            targets,
            weight,
            ignore_index,
            reduction,
            total_weight,
        )?
    {
        return ArrayD::from_shape_vec(IxDyn(&plan.input_shape), grad).map_err(internal);
    }
    let mut grad = zeroed_vec(plan.input_shape.iter().product());
    let mut cursor = Cursor::new(plan);
    let map = plan.map;
    grad_entries_with(
        plan,
        grad_output,
        targets,
        weight,
        ignore_index,
        reduction,
        total_weight,
        |_| cursor.next(),
        |at, class, value| grad[at + class * map] = value,
    )?;
    ArrayD::from_shape_vec(IxDyn(&plan.input_shape), grad).map_err(internal)
}

/// [`nll_backward_kernel`] of a reduced spatial call, sample by sample on every thread:
/// each sample's block is zeroed and gets its positions' entries while in cache. The
/// checks that come before the entries run first, as in the serial path; `None` (then
/// the serial path runs and reports the first bad target in order) if a target fails
/// its check, which the forward's checks rule out.
fn backward_spatial_parallel<F: Float>(
    plan: &NllPlan,
    grad_output: &ArrayViewD<'_, F>,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
    total_weight: F,
) -> Result<Option<Vec<F>>, LossError> {
    // The checks before the entries: with no targets, nothing else runs.
    grad_entries_with(
        plan,
        grad_output,
        &[],
        weight,
        ignore_index,
        reduction,
        total_weight,
        |p| p,
        |_, _, _| {},
    )?;
    let step = reduced_step(grad_output, reduction, total_weight);
    let (classes, map) = (plan.classes, plan.map);
    let mut all_valid = true;
    let len: usize = plan.input_shape.iter().product();
    if classes == 0 || map == 0 || !len.is_multiple_of(classes * map) {
        return Ok(None);
    }
    // SAFETY: the chunks of `classes * map` elements cover the slice (its length is a
    // multiple), and every block is zeroed first, whatever its targets, with no early
    // exit; the entries are then written over zeros.
    let grad = unsafe {
        written_vec(len, |out| {
            all_valid = out
                .par_chunks_mut(classes * map)
                .enumerate()
                .map(|(b, o)| {
                    o.iter_mut().for_each(|v| {
                        v.write(F::zero());
                    });
                    let t = targets.get(b * map..(b + 1) * map).unwrap_or(&[]);
                    let mut valid = t.len() == map;
                    for (s, &t) in t.iter().enumerate() {
                        match plan.class_of(t, ignore_index, false) {
                            Err(_) => valid = false,
                            Ok(None) => {}
                            Ok(Some(c)) => {
                                if let Some(v) = o.get_mut(c * map + s) {
                                    v.write(weight.map_or(step, |w| w[c] * step));
                                }
                            }
                        }
                    }
                    valid
                })
                .reduce(|| true, |a, b| a && b);
        })
    };
    Ok(all_valid.then_some(grad))
}

/// The gradient of every counted position of a reduced call before its weight:
/// `-grad_output`, divided by the total weight for `mean`.
fn reduced_step<F: Float>(
    grad_output: &ArrayViewD<'_, F>,
    reduction: Reduction,
    total_weight: F,
) -> F {
    let g = grad_output.iter().next().copied().unwrap_or_else(F::zero);
    -(if reduction == Reduction::Mean {
        g / total_weight
    } else {
        g
    })
}

/// The one non-zero gradient of each position, `(class, value)`, or `None` where the
/// target is ignored: libtorch's `nll_loss` backward, position by position.
pub(crate) fn nll_grad_entries<F: Float>(
    plan: &NllPlan,
    grad_output: &ArrayViewD<'_, F>,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
    total_weight: F,
) -> Result<Vec<Option<(usize, F)>>, LossError> {
    let mut entries = vec![None; targets.len()];
    grad_entries_with(
        plan,
        grad_output,
        targets,
        weight,
        ignore_index,
        reduction,
        total_weight,
        |p| p,
        |p, class, value| entries[p] = Some((class, value)),
    )?;
    Ok(entries)
}

/// [`nll_grad_entries`] handing each non-ignored position's entry to
/// `emit(locate(p), class, value)`, where `locate` is called once per position, in
/// order, until the first error.
#[allow(clippy::too_many_arguments)]
fn grad_entries_with<F: Float>(
    plan: &NllPlan,
    grad_output: &ArrayViewD<'_, F>,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
    total_weight: F,
    mut locate: impl FnMut(usize) -> usize,
    mut emit: impl FnMut(usize, usize, F),
) -> Result<(), LossError> {
    check_grad_shape(grad_output.shape(), &plan.output_shape(reduction))?;
    // libtorch's backward compares the sizes of a 1-D input and a (1)-shaped target,
    // which the forward let through: equal only with one class.
    if plan.path == (NllPath::Unbatched { one_d_target: true }) && plan.classes != 1 {
        return Err(LossError::runtime(
            format!(
                "size mismatch (got input: {}, target: {})",
                shape_str(&plan.input_shape),
                shape_str(&plan.target_shape)
            ),
            "libtorch's forward accepts a (1)-shaped target for a 1-D input but its backward \
             does not: give the single class index as a 0-D target (shape [])",
        ));
    }
    if plan.path == NllPath::Spatial && plan.byte_target {
        // The spatial backward reads the target as int64 even when it is empty.
        return Err(byte_target_error());
    }
    let unbatched = matches!(plan.path, NllPath::Unbatched { .. });
    if reduction == Reduction::None && !unbatched {
        let g = row_major(grad_output);
        for (p, &t) in targets.iter().enumerate() {
            let at = locate(p);
            if let Some(class) = plan.class_of(t, ignore_index, true)? {
                let w = weight.map_or(F::one(), |w| w[class]);
                emit(at, class, -w * g[p]);
            }
        }
    } else {
        let step = reduced_step(grad_output, reduction, total_weight);
        for (p, &t) in targets.iter().enumerate() {
            let at = locate(p);
            if let Some(class) = plan.class_of(t, ignore_index, false)? {
                emit(at, class, weight.map_or(step, |w| w[class] * step));
            }
        }
    }
    Ok(())
}

/// A shape inconsistency inside the library itself: reported, never a panic.
pub(crate) fn internal(err: impl std::fmt::Display) -> LossError {
    LossError::runtime(
        format!("lossparity internal error: {err}"),
        "this is a bug in lossparity, not in your call; please report it with the input",
    )
}

/// The target shape that would fit an input: `()` for `(C)`, `(N, d1..dK)` otherwise.
pub(crate) fn expected_target_shape(input: &[usize]) -> Vec<usize> {
    match input.len() {
        0 | 1 => Vec::new(),
        _ => {
            let mut s = vec![input[0]];
            s.extend_from_slice(&input[2..]);
            s
        }
    }
}

/// Validates a call, then returns the plan and the target's class indices (borrowed
/// when the target is contiguous `int64`).
fn prepare<'t, F: Float>(
    input_shape: &[usize],
    target: &Target<'t, F>,
    options: &NllLossOptions<'_, F>,
) -> Result<(NllPlan, Cow<'t, [i64]>), LossError> {
    let plan = nll_plan(
        input_shape,
        target.shape(),
        target.dtype_name(),
        options.weight.as_ref().map(|w| w.shape()),
    )?;
    check_spatial_target_dtype(&plan, target.dtype_name(), options.reduction)?;
    let targets = target
        .index_slice()
        .ok_or_else(|| target_dtype_error(target.dtype_name()))?;
    Ok((plan, targets))
}

/// The negative log-likelihood loss, as `torch.nn.functional.nll_loss`.
///
/// `input` holds log-probabilities with the classes along dim 1 (dim 0 for a single
/// unbatched sample): `(C)`, `(N, C)` or `(N, C, d1..dK)`. `target` holds class
/// indices: `()`, `(N)` or `(N, d1..dK)`. The loss at a position is
/// `-weight[t] * input[t]`; `mean` divides the sum by the total weight of the
/// non-ignored positions (NaN when there are none), `sum` adds, `none` keeps them.
///
/// Bit-exact with libtorch on CPU for every reduction: same operations, same order.
///
/// ```
/// use lossparity_losses::{log_softmax, nll_loss, NllLossOptions, Target};
/// use ndarray::array;
///
/// // 3 samples, 5 classes: scores (3, 5), log_softmax over the classes (dim=1),
/// // one class index per sample.
/// let scores = array![[1.0f32, 2.0, 0.5, 0.0, -1.0],
///                     [3.0, 0.0, 0.0, 1.0, 0.0],
///                     [0.0, 0.0, 1.0, 0.0, 2.0]];
/// let logp = log_softmax(scores.view(), 1).unwrap();
/// let target = array![1i64, 0, 4];
/// let loss = nll_loss(logp.view(), Target::indices(target.view()), &NllLossOptions::default())
///     .unwrap();
/// // torch 2.13: F.nll_loss(F.log_softmax(scores, 1), target) = 0.46604421734809875
/// assert!((loss.sum() - 0.466_044_2).abs() < 1e-6);
/// ```
pub fn nll_loss<F: Float, D: Dimension>(
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &NllLossOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let input = input.into_dyn();
    let (plan, targets) = prepare(input.shape(), &target, options)?;
    let weight = options.weight.as_ref().map(row_major);
    let x = row_major(&input);
    let (out, _) = nll_forward_flat(
        &plan,
        &x,
        &targets,
        weight.as_deref(),
        options.ignore_index,
        options.reduction,
    )?;
    Ok(out)
}

/// The gradient of `sum(nll_loss(input, target) * grad_output)` with respect to `input`,
/// as PyTorch's autograd gives it: `-weight[t] * grad_output` at each non-ignored
/// target (divided by the total weight for `mean`), zero elsewhere. A mean over only
/// ignored targets has a zero gradient, not NaN.
///
/// `grad_output` has the forward output's shape (`()` when reduced).
pub fn nll_loss_backward<F: Float, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, E>,
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &NllLossOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let input = input.into_dyn();
    let (plan, targets) = prepare(input.shape(), &target, options)?;
    let weight = options.weight.as_ref().map(row_major);
    // The forward runs first in autograd: its target errors come before the backward's.
    let total_weight = forward_total_weight(
        &plan,
        &targets,
        weight.as_deref(),
        options.ignore_index,
        options.reduction,
    )?;
    nll_backward_kernel(
        &plan,
        &grad_output.into_dyn(),
        &targets,
        weight.as_deref(),
        options.ignore_index,
        options.reduction,
        total_weight,
    )
}
