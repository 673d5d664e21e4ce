//! `cross_entropy`: `log_softmax` over the class dimension followed by `nll_loss`, or,
//! for a target of the input's shape, the cross entropy with class probabilities; with
//! label smoothing for both.
//!
//! libtorch composes this loss from separate ops, each rounding to the dtype. This
//! module computes every path in one parallel sweep over each row (or, for `(N, C,
//! d1..dK)` inputs, each strip of positions): the log-sum-exp, then while the row is in
//! cache the `nll_loss` pick, the label-smoothing or probability term and, for the
//! gradient, the gradient. The `nll_loss` part is bit-exact with libtorch. The
//! smoothing and probability terms are `lse * sum(w q) - sum(w q (x - max))`, summed
//! in f64 without rounding a log-probability, so they are nearer the exact value than
//! libtorch's sums of rounded products; they agree within the tolerance policy.

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Axis, Dimension, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{
    PARALLEL_MIN_ELEMENTS, ProbabilityTarget, SmoothingTerms, TILE_MAX_CLASSES, TILE_ROWS,
    columns_forward_backward, columns_probabilities, columns_stats, compensated_sum,
    lane_log_sum_exp, one_hot_log_softmax_backward_lane, probability_log_softmax_backward_lane,
    probability_row_sums, rows_log_sum_exp, smoothed_log_softmax_backward_lane, weighted_shift_sum,
};
use super::nll::{
    NllPath, NllPlan, check_spatial_target_dtype, internal, nll_forward, nll_grad_entries,
    nll_plan, weight_grad_refusal, weight_shape_error,
};
use super::options::{CrossEntropyOptions, Reduction, Target, row_major};
use super::softmax::{check_grad_shape, log_softmax, log_softmax_backward, rows_per_task};

/// Which of libtorch's three cross-entropy paths a call takes.
#[derive(Debug, Clone)]
pub(crate) enum CePath {
    /// Target of the input's shape: class probabilities. `smoothing` is the effective
    /// label smoothing (0 when the option is not positive).
    Probabilities { smoothing: f64 },
    /// Class indices with positive label smoothing.
    Smoothed { nll: NllPlan, smoothing: f64 },
    /// Class indices: `nll_loss(log_softmax(input, class_dim))`.
    Plain { nll: NllPlan },
}

/// A validated call: the path, the class dimension and the class count.
#[derive(Debug, Clone)]
pub(crate) struct CePlan {
    pub path: CePath,
    pub class_dim: usize,
    pub classes: usize,
    pub input_shape: Vec<usize>,
}

fn smoothing_error(ls: f64) -> LossError {
    LossError::runtime(
        format!(
            "label_smoothing must be between 0.0 and 1.0. Got: {}",
            cpp_double(ls)
        ),
        "label smoothing mixes the target with the uniform distribution: 0 keeps the \
         target, 1 replaces it entirely; values above 1 have no meaning",
    )
}

/// A double as C++'s default stream formatting prints it (like `%g`: six significant
/// digits, trailing zeros dropped), which is how libtorch writes numbers into messages.
pub(crate) fn cpp_double(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan"
        } else if v > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

/// Every check of `cross_entropy` that libtorch makes before reading a value, in its
/// order. `weight_shape` is the weight's shape when there is one.
/// The checks of `cross_entropy` with class indices that come before its
/// `log_softmax`: the label smoothing's range, then the class dimension of a 0-D input.
pub(crate) fn index_checks_before_log_softmax(
    input: &[usize],
    label_smoothing: f64,
) -> Result<(), LossError> {
    if label_smoothing > 1.0 {
        return Err(smoothing_error(label_smoothing));
    }
    if input.is_empty() {
        // log_softmax over dim 1 of a 0-D tensor, which libtorch runs before nll_loss.
        super::error::wrap_dim(1, 0)?;
    }
    Ok(())
}

pub(crate) fn ce_plan(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    target_is_float: bool,
    weight: Option<&[usize]>,
    ignore_index: i64,
    label_smoothing: f64,
) -> Result<CePlan, LossError> {
    let class_dim = if input.len() == 1 { 0 } else { 1 };
    let smoothing = if label_smoothing > 0.0 {
        label_smoothing
    } else {
        0.0
    };
    if input == target {
        if !target_is_float {
            return Err(LossError::runtime(
                format!(
                    "Expected floating point type for target with class probabilities, got {target_dtype}"
                ),
                format!(
                    "the target has the input's shape {}, so cross_entropy reads it as class \
                     probabilities, which must be floating point. For class indices give \
                     one index per sample, shape {}; for one-hot rows convert them with .float()",
                    shape_str(input),
                    shape_str(&super::nll::expected_target_shape(input))
                ),
            ));
        }
        if ignore_index >= 0 {
            return Err(LossError::runtime(
                "ignore_index is not supported for floating point target",
                "with class probabilities there are no class indices to ignore; leave \
                 ignore_index at its default (-100) or any negative value",
            ));
        }
        if input.is_empty() {
            return Err(LossError::index(
                "Dimension specified as 1 but tensor has no dimensions",
                "cross_entropy needs scores with a class dimension: (C) or (N, C, ...)",
            ));
        }
        let classes = input[class_dim];
        if let Some(w) = weight
            && (w.len() != 1 || w[0] != classes)
        {
            return Err(weight_shape_error("cross_entropy: ", classes, w));
        }
        if smoothing > 1.0 {
            return Err(smoothing_error(smoothing));
        }
        return Ok(CePlan {
            path: CePath::Probabilities { smoothing },
            class_dim,
            classes,
            input_shape: input.to_vec(),
        });
    }
    index_checks_before_log_softmax(input, label_smoothing)?;
    let nll = nll_plan(input, target, target_dtype, weight)?;
    let classes = nll.classes;
    let path = if smoothing > 0.0 {
        CePath::Smoothed { nll, smoothing }
    } else {
        CePath::Plain { nll }
    };
    Ok(CePlan {
        path,
        class_dim,
        classes,
        input_shape: input.to_vec(),
    })
}

/// The checks libtorch's smoothing term makes after `nll_loss` ran: the weight is
/// viewed with the class count in the class dimension, the ignore mask must fit the
/// per-position loss.
fn check_smoothing_shapes(
    plan: &CePlan,
    nll: &NllPlan,
    weight: Option<&[usize]>,
    reduction: Reduction,
    counted: usize,
) -> Result<(), LossError> {
    if let Some(w) = weight {
        let Some(&first) = w.first() else {
            return Err(LossError::index(
                "Dimension specified as 0 but tensor has no dimensions",
                "the weight must be 1-D, one value per class, not a 0-D scalar",
            ));
        };
        let numel: usize = w.iter().product();
        if first != numel {
            let mut view = vec![1usize; plan.input_shape.len()];
            view[plan.class_dim] = first;
            return Err(LossError::runtime(
                format!(
                    "shape '{}' is invalid for input of size {numel}",
                    shape_str(&view)
                ),
                format!(
                    "the weight must be 1-D with one value per class, not shape {}",
                    shape_str(w)
                ),
            ));
        }
    }
    if let NllPath::Unbatched { one_d_target: true } = nll.path {
        return Err(LossError::runtime(
            "output with shape [] doesn't match the broadcast shape [1]",
            "for a 1-D input (one sample) give the class index as a 0-D target (shape []); \
             libtorch's label smoothing cannot combine a (1)-shaped target with it",
        ));
    }
    // The gather of the targets' weights checks the index dtype only when it has
    // something to gather.
    if nll.byte_target && weight.is_some() && reduction == Reduction::Mean && counted > 0 {
        return Err(LossError::runtime(
            "gather(): Expected dtype int32/int64 for index",
            "with label smoothing, a weight and reduction='mean', libtorch gathers the \
             weights of the targets, which needs int64 indices: convert the uint8 target \
             with .long()",
        ));
    }
    Ok(())
}

/// The per-class weight broadcast along the class dimension of an input of `ndim` dims.
fn weight_along_classes<F: Float>(
    weight: &[F],
    ndim: usize,
    class_dim: usize,
) -> Result<ArrayD<F>, LossError> {
    let mut shape = vec![1usize; ndim.max(1)];
    shape[class_dim] = weight.len();
    ArrayD::from_shape_vec(IxDyn(&shape), weight.to_vec()).map_err(internal)
}

/// The scores of the index paths, in the input's row-major order, with each
/// position's max and log-sum-exp over its classes: log-probabilities computed on
/// demand, never materialised. For `(C)` and `(N, C)` inputs a position's classes are a
/// contiguous row; for `(N, C, d1..dK)` they are strided by `map = d1 * .. * dK`, and
/// the kernels work on whole `(C, map)` samples, vectorised across positions.
struct Rows<'a, F: Clone> {
    x: Cow<'a, [F]>,
    classes: usize,
    map: usize,
    shape: Vec<usize>,
    /// `(max, log(sum(exp(x - max))))` per position; `None` when the max is not
    /// finite, which makes every log-probability of the position NaN.
    stats: Vec<Option<(F, F)>>,
    /// For `(N, C, d1..dK)` inputs: the log-probability of each position's target
    /// class (NaN where the target is not a class), read while the position's classes
    /// were in cache. Empty for the other shapes.
    picked: Vec<F>,
    /// With label smoothing: each position's `-sum(w[c] * logp[c])` in f64 (NaN where
    /// the max is not finite), whether its target is ignored or not. Empty otherwise.
    smooth: Vec<f64>,
}

/// The class weights of the label-smoothing term (`None` for 1) and their sum in f64.
#[derive(Clone, Copy)]
struct Smoothing<'w, F> {
    weight: Option<&'w [F]>,
    weight_sum: f64,
}

impl<'w, F: Float> Smoothing<'w, F> {
    /// `None` when a weight does not have one value per class: the call fails its
    /// checks before the terms would be used.
    fn new(weight: Option<&'w [F]>, classes: usize) -> Option<Self> {
        let weight_sum = match weight {
            Some(w) if w.len() != classes => return None,
            Some(w) => compensated_sum(w.iter().map(|v| v.to_f64_exact())),
            None => classes as f64,
        };
        Some(Smoothing { weight, weight_sum })
    }

    fn terms<'o>(&self, out: &'o mut [f64]) -> SmoothingTerms<'o, F>
    where
        'w: 'o,
    {
        SmoothingTerms {
            weight: self.weight,
            weight_sum: self.weight_sum,
            out,
        }
    }

    /// The log-sum-exps of rows of `classes` scores into `stats` and their smoothing
    /// terms into `out`, row by row while the rows are in cache.
    fn rows(&self, x: &[F], classes: usize, stats: &mut [Stats<F>], out: &mut [f64]) {
        if classes > TILE_MAX_CLASSES {
            // Long rows one at a time: a task's rows together are megabytes (16 rows of
            // a 50k vocabulary), so the term's pass after all their log-sum-exps would
            // read them from L3 or memory again, where one row is still in L2.
            for ((row, s), o) in x.chunks_exact(classes).zip(stats.iter_mut()).zip(out) {
                *s = lane_log_sum_exp(row);
                *o = self.row_term(row, *s);
            }
            return;
        }
        rows_log_sum_exp(x, classes, stats);
        for ((row, &st), o) in x.chunks_exact(classes).zip(stats.iter()).zip(out) {
            *o = self.row_term(row, st);
        }
    }

    /// The smoothing term of one row from its log-sum-exp.
    fn row_term(&self, row: &[F], stats: Stats<F>) -> f64 {
        match stats {
            Some((max, lse)) => {
                lse.to_f64_exact() * self.weight_sum - weighted_shift_sum(row, max, self.weight)
            }
            None => f64::NAN,
        }
    }
}

impl<'a, F: Float> Rows<'a, F> {
    /// `targets` are the class indices per position, used for `picked`; with
    /// `smoothing`, the smoothing terms are computed in the same sweep.
    fn new(
        input: ArrayViewD<'a, F>,
        class_dim: usize,
        targets: &[i64],
        smoothing: Option<Smoothing<'_, F>>,
    ) -> Self {
        let shape = input.shape().to_vec();
        let classes = shape.get(class_dim).copied().unwrap_or(1);
        let map: usize = shape.iter().skip(2).product();
        let batch = if shape.len() >= 2 { shape[0] } else { 1 };
        let positions = batch * map;
        let x = row_major(&input);
        let mut picked = Vec::new();
        // Allocated either way so that the parallel zips below line up; untouched (and
        // so never paged in) without smoothing.
        let mut smooth = vec![0.0; positions];
        let stats = if classes == 0 || map == 0 {
            // No classes: every term is an empty sum, 0 (its initial value).
            vec![None; positions]
        } else if map == 1 {
            let mut stats = vec![None; batch];
            let rows_stats = |(s, (x, o)): RowStats<'_, F>| match &smoothing {
                Some(sm) => sm.rows(x, classes, s, o),
                None => rows_log_sum_exp(x, classes, s),
            };
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                let rows = rows_per_task(classes);
                stats
                    .par_chunks_mut(rows)
                    .zip(
                        x.par_chunks(rows * classes)
                            .zip(smooth.par_chunks_mut(rows)),
                    )
                    .for_each(rows_stats);
            } else {
                rows_stats((&mut stats, (&x, &mut smooth)));
            }
            stats
        } else {
            let mut stats = vec![None; positions];
            picked = vec![F::nan(); positions];
            let sample = |((s, p), ((x, t), o)): SampleStats<'_, F>| {
                columns_stats(x, map, t, s, p, smoothing.map(|sm| sm.terms(o)));
            };
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                stats
                    .par_chunks_mut(map)
                    .zip(picked.par_chunks_mut(map))
                    .zip(
                        x.par_chunks(classes * map)
                            .zip(targets.par_chunks(map))
                            .zip(smooth.par_chunks_mut(map)),
                    )
                    .for_each(sample);
            } else {
                stats
                    .chunks_mut(map)
                    .zip(picked.chunks_mut(map))
                    .zip(
                        x.chunks(classes * map)
                            .zip(targets.chunks(map))
                            .zip(smooth.chunks_mut(map)),
                    )
                    .for_each(sample);
            }
            stats
        };
        if smoothing.is_none() {
            smooth = Vec::new();
        }
        Rows {
            x,
            classes,
            map,
            shape,
            stats,
            picked,
            smooth,
        }
    }

    /// Flat index of class `c` at position `p`.
    #[inline]
    fn index(&self, p: usize, c: usize) -> usize {
        if self.map == 1 {
            p * self.classes + c
        } else {
            ((p / self.map) * self.classes + c) * self.map + p % self.map
        }
    }

    /// The log-probability of class `c` at position `p`.
    #[inline]
    fn logp(&self, p: usize, c: usize) -> F {
        match self.stats[p] {
            Some((max, lse)) => self.x[self.index(p, c)] - max - lse,
            None => F::nan(),
        }
    }

    /// [`Rows::logp`] in f64, from the scores and the row's `F` max and log-sum-exp
    /// widened (`x - max` exact for `f32` scores): unrounded to `F`.
    #[inline]
    fn logp64(&self, p: usize, c: usize) -> f64 {
        match self.stats.get(p) {
            Some(Some((max, lse))) => {
                (self.x[self.index(p, c)].to_f64_exact() - max.to_f64_exact()) - lse.to_f64_exact()
            }
            Some(None) => f64::NAN,
            // Layouts that keep only the picked values.
            None => self.target_logp(p, c).to_f64_exact(),
        }
    }

    /// The log-probability of class `c` at position `p`, where `c` is `p`'s target:
    /// [`Rows::logp`], read from `picked` for `(N, C, d1..dK)` inputs.
    #[inline]
    fn target_logp(&self, p: usize, c: usize) -> F {
        match self.picked.get(p) {
            Some(&v) => v,
            None => self.logp(p, c),
        }
    }

    /// Values in the input's row-major order, as an array of its shape.
    fn to_input_layout(&self, values: Vec<F>) -> Result<ArrayD<F>, LossError> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), values).map_err(internal)
    }
}

/// What the probability path's backwards need from a forward (the index paths compute
/// their gradient with their loss, in [`index_rows_with_grad`]).
struct Forward<F: Clone> {
    plan: CePlan,
    output: ArrayD<F>,
    weight: Option<Vec<F>>,
    /// The probability path: the log-probabilities and the target after smoothing.
    probabilities: Option<(ArrayD<F>, ArrayD<F>)>,
}

fn forward<F: Float>(
    input: ArrayViewD<'_, F>,
    target: &Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<Forward<F>, LossError> {
    let weight_shape = options.weight.as_ref().map(|w| w.shape());
    let plan = ce_plan(
        input.shape(),
        target.shape(),
        target.dtype_name(),
        matches!(target, Target::Probabilities(_)),
        weight_shape,
        options.ignore_index,
        options.label_smoothing,
    )?;
    let weight: Option<Vec<F>> = options.weight.as_ref().map(|w| row_major(w).into_owned());
    let reduction = options.reduction;
    match &plan.path {
        CePath::Probabilities { smoothing } => {
            let Target::Probabilities(t) = target else {
                return Err(internal("probability path without probabilities"));
            };
            let logp = log_softmax(input, plan.class_dim as i64)?;
            let soft = smooth_probabilities(t, *smoothing, plan.classes);
            let output = probability_loss(&plan, &logp, &soft, weight.as_deref(), reduction)?;
            Ok(Forward {
                plan,
                output,
                weight,
                probabilities: Some((logp, soft)),
            })
        }
        CePath::Plain { nll } | CePath::Smoothed { nll, .. } => {
            check_spatial_target_dtype(nll, target.dtype_name(), reduction)?;
            let targets = target
                .index_slice()
                .ok_or_else(|| internal("index path without indices"))?;
            let smoothing = match plan.path {
                CePath::Smoothed { .. } => Smoothing::new(weight.as_deref(), plan.classes),
                _ => None,
            };
            let rows = Rows::new(input, plan.class_dim, &targets, smoothing);
            let (nll_out, _) = nll_forward(
                nll,
                &|p, c| rows.target_logp(p, c),
                &targets,
                weight.as_deref(),
                options.ignore_index,
                reduction,
            )?;
            let output = match &plan.path {
                CePath::Smoothed { smoothing, .. } => {
                    let counted = targets
                        .iter()
                        .filter(|&&t| t != options.ignore_index)
                        .count();
                    check_smoothing_shapes(&plan, nll, weight_shape, reduction, counted)?;
                    smoothed_loss(
                        nll,
                        &rows,
                        &targets,
                        weight.as_deref(),
                        options.ignore_index,
                        reduction,
                        *smoothing,
                        nll_out,
                    )?
                }
                _ => nll_out,
            };
            Ok(Forward {
                plan,
                output,
                weight,
                probabilities: None,
            })
        }
    }
}

/// `target * (1 - ls) + ls / C`, each factor rounded to `F` first as libtorch does.
fn smooth_probabilities<F: Float>(
    target: &ArrayViewD<'_, F>,
    ls: f64,
    classes: usize,
) -> ArrayD<F> {
    if ls > 0.0 {
        let keep = F::of_f64(1.0 - ls);
        let spread = F::of_f64(ls / classes as f64);
        target.mapv(|t| t * keep + spread)
    } else {
        target.to_owned()
    }
}

/// `-(logp * target * weight)` summed over classes and reduced.
fn probability_loss<F: Float>(
    plan: &CePlan,
    logp: &ArrayD<F>,
    target: &ArrayD<F>,
    weight: Option<&[F]>,
    reduction: Reduction,
) -> Result<ArrayD<F>, LossError> {
    let mut prod = logp * target;
    if let Some(w) = weight {
        prod = prod * &weight_along_classes(w, logp.ndim(), plan.class_dim)?;
    }
    Ok(match reduction {
        Reduction::None => prod.map_axis(Axis(plan.class_dim), |lane| {
            -compensated_sum(lane.iter().copied())
        }),
        Reduction::Sum => ArrayD::from_elem(IxDyn(&[]), -compensated_sum(prod.iter().copied())),
        Reduction::Mean => {
            let numel = prod.len();
            let value = if numel == 0 {
                F::nan()
            } else {
                -compensated_sum(prod.iter().copied()) / F::of_f64((numel / plan.classes) as f64)
            };
            ArrayD::from_elem(IxDyn(&[]), value)
        }
    })
}

/// The divisor of the smoothing term's mean: the targets' total weight (compensated),
/// or their number, ignored targets left out.
fn smoothing_divisor<F: Float>(targets: &[i64], weight: Option<&[F]>, ignore_index: i64) -> F {
    let counted = targets.iter().filter(|&&t| t != ignore_index);
    match weight {
        Some(w) => compensated_sum(counted.map(|&t| w[t as usize])),
        None => F::of_f64(counted.count() as f64),
    }
}

/// The label-smoothed loss from the `nll_loss` part and the rows' smoothing terms:
/// `(1 - ls) * nll + (ls / C) * smooth`, ignored positions' terms 0. For `none` each
/// position's term is rounded to `F` once, as libtorch's is; for `sum` and `mean` the
/// whole loss is summed in f64 and rounded once.
#[allow(clippy::too_many_arguments)]
fn smoothed_loss<F: Float>(
    nll: &NllPlan,
    rows: &Rows<'_, F>,
    targets: &[i64],
    weight: Option<&[F]>,
    ignore_index: i64,
    reduction: Reduction,
    ls: f64,
    nll_out: ArrayD<F>,
) -> Result<ArrayD<F>, LossError> {
    if rows.smooth.len() != targets.len() {
        return Err(internal("label smoothing without its terms"));
    }
    let terms = targets
        .iter()
        .zip(&rows.smooth)
        .map(|(&t, &v)| if t == ignore_index { 0.0 } else { v });
    let keep = F::of_f64(1.0 - ls);
    let spread = F::of_f64(ls / nll.classes as f64);
    let out = match reduction {
        Reduction::None => {
            let smooth: Vec<F> = terms.map(F::of_f64).collect();
            let smooth = ArrayD::from_shape_vec(IxDyn(&nll.output_shape(reduction)), smooth)
                .map_err(internal)?;
            nll_out.mapv(|v| keep * v) + smooth.mapv(|s| s * spread)
        }
        Reduction::Sum | Reduction::Mean => {
            // Both parts from unrounded log-probabilities, summed together in f64 and
            // rounded once. libtorch rounds the nll part's sum and the smoothing sum
            // each to F; where weights of both signs make either cancel (terms of 1e4
            // summing to 200), each is off by several of its ulps, and mirroring only
            // the nll part left the combination farther from the exact value than
            // either (one case: exact -51.867284, libtorch -51.867252, Rust
            // -51.867138).
            // The two parts stay apart until the end, as in libtorch's formula, so that
            // its IEEE special cases (no classes: `ls / 0` times a sum of 0; a weight sum
            // of 0: `0 / 0`) come out the same.
            let (keep, spread) = (keep.to_f64_exact(), spread.to_f64_exact());
            let nll_terms = targets.iter().enumerate().map(|(p, &t)| {
                if t == ignore_index {
                    return 0.0;
                }
                let w = weight.map_or(1.0, |w| w[t as usize].to_f64_exact());
                -w * rows.logp64(p, t as usize)
            });
            let mut nll_sum = compensated_sum(nll_terms);
            let mut smooth_sum = compensated_sum(terms);
            if reduction == Reduction::Mean {
                let divisor = smoothing_divisor(targets, weight, ignore_index).to_f64_exact();
                nll_sum /= divisor;
                smooth_sum /= divisor;
            }
            let total = keep * nll_sum + spread * smooth_sum;
            if nll_out.is_empty() {
                return Err(internal("a reduced loss without its value"));
            }
            nll_out.mapv(|_| F::of_f64(total))
        }
    };
    Ok(out)
}

/// The cross-entropy loss, as `torch.nn.functional.cross_entropy`.
///
/// `input` holds unnormalised scores (logits) with the classes along dim 1 (dim 0 for
/// one unbatched sample): `(C)`, `(N, C)` or `(N, C, d1..dK)`. A `target` of the
/// input's exact shape holds class probabilities; any other holds class indices
/// (`()`, `(N)` or `(N, d1..dK)`) and the loss equals
/// `nll_loss(log_softmax(input, class_dim), target)` plus optional label smoothing.
///
/// ```
/// use lossparity_losses::{cross_entropy, CrossEntropyOptions, Target};
/// use ndarray::array;
///
/// let logits = array![[2.0f64, 0.0, 0.0], [0.0, 0.0, 3.0]];
/// let target = array![0i64, 2];
/// let loss = cross_entropy(logits.view(), Target::indices(target.view()),
///                          &CrossEntropyOptions::default()).unwrap();
/// // torch 2.13: F.cross_entropy(logits, target) = 0.16723386132142282
/// assert!((loss.sum() - 0.167_233_861_321_422_8).abs() < 1e-12);
/// ```
pub fn cross_entropy<F: Float, D: Dimension>(
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let input = input.into_dyn();
    if let Some((output, _)) = probability_sweep(input.view(), &target, options, None)? {
        return Ok(output);
    }
    Ok(forward(input, &target, options)?.output)
}

/// The gradient of `sum(cross_entropy(input, target) * grad_output)` with respect to
/// `input`, as PyTorch's autograd gives it through the ops `cross_entropy` is made of.
///
/// `grad_output` has the forward output's shape (`()` when reduced).
pub fn cross_entropy_backward<F: Float, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, E>,
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    cross_entropy_with_grad(grad_output, input, target, options).map(|(_, grad)| grad)
}

/// The loss and its gradient in one call: what [`cross_entropy`] and
/// [`cross_entropy_backward`] return, without computing the forward twice.
///
/// ```
/// use lossparity_losses::{cross_entropy_with_grad, CrossEntropyOptions, Target};
/// use ndarray::{arr0, array};
///
/// let logits = array![[2.0f64, 0.0, 0.0]];
/// let target = array![0i64];
/// let (loss, grad) = cross_entropy_with_grad(arr0(1.0).view(), logits.view(),
///     Target::indices(target.view()), &CrossEntropyOptions::default()).unwrap();
/// // d loss / d logits = softmax(logits) - one_hot(target)
/// assert!((grad.sum()).abs() < 1e-12 && loss.sum() > 0.0);
/// ```
pub fn cross_entropy_with_grad<F: Float, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, E>,
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<(ArrayD<F>, ArrayD<F>), LossError> {
    let input = input.into_dyn();
    let grad_output = grad_output.into_dyn();
    if let Some(both) = index_rows_with_grad(&grad_output, input.view(), &target, options)? {
        return Ok(both);
    }
    if let Some((output, Some(grad))) =
        probability_sweep(input.view(), &target, options, Some(&grad_output))?
    {
        return Ok((output, grad));
    }
    // Inputs without elements or without classes: the composition, op by op.
    let fwd = forward(input, &target, options)?;
    check_grad_shape(grad_output.shape(), fwd.output.shape())?;
    let Some((logp, soft)) = &fwd.probabilities else {
        return Err(internal("an index path's gradient outside its fused sweep"));
    };
    let grad_logp = probability_grad(&fwd, soft, &grad_output, options.reduction)?;
    let grad = log_softmax_backward(grad_logp.view(), logp.view(), fwd.plan.class_dim as i64)?;
    Ok((fwd.output, grad))
}

/// The gradient of `sum(cross_entropy(input, target) * grad_output)` with respect to a
/// target of class probabilities (the input's shape), as PyTorch's autograd gives it:
/// `-grad * weight[c] * log_softmax(input)[c]`, times `1 - label_smoothing` (the
/// smoothed target is `target * (1 - ls) + ls / C`), where `grad` is `grad_output`
/// (divided by the number of positions for `mean`).
///
/// Class indices have no gradient: PyTorch's error for an integer tensor that
/// requires grad.
///
/// ```
/// use lossparity_losses::{cross_entropy_target_backward, CrossEntropyOptions, Target};
/// use ndarray::{arr0, array};
///
/// let logits = array![[0.0f64, 0.0]];
/// let target = array![[0.25f64, 0.75]];
/// let grad = cross_entropy_target_backward(arr0(1.0).view(), logits.view(),
///     Target::Probabilities(target.view().into_dyn()), &CrossEntropyOptions::default())?;
/// // log_softmax([0, 0]) = [-ln 2, -ln 2], so d loss / d target = [ln 2, ln 2]
/// assert!((grad[[0, 1]] - std::f64::consts::LN_2).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn cross_entropy_target_backward<F: Float, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, E>,
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let grad_output = grad_output.into_dyn();
    let fwd = forward(input.into_dyn(), &target, options)?;
    check_grad_shape(grad_output.shape(), fwd.output.shape())?;
    let Some((logp, soft)) = &fwd.probabilities else {
        return Err(LossError::runtime(
            "only Tensors of floating point dtype can require gradients",
            "a target of class indices is integer and has no gradient; only a target of \
             class probabilities (floating point, the input's shape) has one",
        ));
    };
    let mut grad = position_grads(&fwd, soft, &grad_output, options.reduction)?;
    if let Some(w) = fwd.weight.as_deref() {
        grad = grad * &weight_along_classes(w, soft.ndim(), fwd.plan.class_dim)?;
    }
    grad = grad * logp;
    if let CePath::Probabilities { smoothing } = fwd.plan.path
        && smoothing > 0.0
    {
        let keep = F::of_f64(1.0 - smoothing);
        grad.mapv_inplace(|g| g * keep);
    }
    Ok(grad)
}

/// The gradient of `sum(cross_entropy(input, target) * grad_output)` with respect to
/// the class weights, shape `(C)`, for a target of class probabilities:
/// `-sum over positions of grad * soft[c] * log_softmax(input)[c]` (compensated),
/// where `soft` is the target after label smoothing.
///
/// With class indices PyTorch refuses a weight that requires grad, and so does this
/// function, with PyTorch's error, after the checks PyTorch makes first. Without a
/// weight there is nothing to differentiate: an error says so.
///
/// ```
/// use lossparity_losses::{cross_entropy_weight_backward, CrossEntropyOptions, Target};
/// use ndarray::{arr0, array};
///
/// let logits = array![[0.0f64, 0.0]];
/// let target = array![[0.25f64, 0.75]];
/// let weight = array![1.0f64, 2.0];
/// let options = CrossEntropyOptions { weight: Some(weight.view().into_dyn()),
///                                     ..CrossEntropyOptions::default() };
/// let grad = cross_entropy_weight_backward(arr0(1.0).view(), logits.view(),
///     Target::Probabilities(target.view().into_dyn()), &options)?;
/// // d loss / d weight[c] = -target[c] * log_softmax(logits)[c] = target[c] * ln 2
/// assert!((grad[[1]] - 0.75 * std::f64::consts::LN_2).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn cross_entropy_weight_backward<F: Float, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, E>,
    input: ArrayView<'_, F, D>,
    target: Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let grad_output = grad_output.into_dyn();
    let input = input.into_dyn();
    if input.shape() != target.shape() {
        index_checks_before_log_softmax(input.shape(), options.label_smoothing)?;
        return Err(weight_grad_refusal(input.shape(), target.shape()));
    }
    let fwd = forward(input.view(), &target, options)?;
    check_grad_shape(grad_output.shape(), fwd.output.shape())?;
    let (Some(_), Some(_)) = (&fwd.probabilities, fwd.weight.as_deref()) else {
        return Err(LossError::runtime(
            "cross_entropy was given no weight, so it has no weight gradient",
            "pass `weight` in the options to differentiate with respect to it",
        ));
    };
    // A class's gradient sums `-g * q * logp` over the positions, and with gradient
    // outputs of both signs the terms cancel: two float32 terms of 4.4e3 left 138, so
    // each term's rounding of the float32 log-probability (ulp 1e-3 at -1e4) and of the
    // product came out 3.5e-6 relative. So the terms, from the log-probabilities on,
    // are formed in f64 and each class's sum is rounded once.
    let wide = |a: ArrayViewD<'_, F>| a.mapv(F::to_f64_exact);
    let Target::Probabilities(probabilities) = &target else {
        return Err(internal("weight gradient without class probabilities"));
    };
    let (input, probabilities) = (wide(input), wide(probabilities.view()));
    let weight = options.weight.as_ref().map(|w| wide(w.view()));
    let grad_output = wide(grad_output);
    let wide_options = CrossEntropyOptions {
        weight: weight.as_ref().map(|w| w.view()),
        ignore_index: options.ignore_index,
        reduction: options.reduction,
        label_smoothing: options.label_smoothing,
    };
    let fwd = forward(
        input.view(),
        &Target::Probabilities(probabilities.view()),
        &wide_options,
    )?;
    let Some((logp, soft)) = &fwd.probabilities else {
        return Err(internal("probability path without probabilities"));
    };
    let terms = position_grads(&fwd, soft, &grad_output.view(), options.reduction)? * soft * logp;
    let class_dim = fwd.plan.class_dim;
    Ok(terms
        .lanes(Axis(class_dim))
        .into_iter()
        .fold(
            vec![Vec::with_capacity(terms.len() / fwd.plan.classes.max(1)); fwd.plan.classes],
            |mut per_class, lane| {
                for (c, &v) in lane.iter().enumerate() {
                    per_class[c].push(v);
                }
                per_class
            },
        )
        .into_iter()
        .map(|terms| F::of_f64(compensated_sum(terms)))
        .collect::<ndarray::Array1<F>>()
        .into_dyn())
}

/// A position's `(max, log(sum(exp(x - max))))`, `None` where the max is not finite.
type Stats<F> = Option<(F, F)>;

/// One sample's slices for [`columns_forward_backward`]: (gradient, picked), (scores,
/// (targets, one-hot gradients)).
type SampleParts<'s, F> = (
    (&'s mut [F], &'s mut [F]),
    (
        &'s [F],
        (
            &'s [i64],
            (&'s [Option<(usize, F)>], (&'s [[F; 2]], &'s mut [f64])),
        ),
    ),
);

/// A task's rows for [`rows_log_sum_exp`]: stats, (scores, smoothing terms).
type RowStats<'s, F> = (&'s mut [Stats<F>], (&'s [F], &'s mut [f64]));

/// The `t`-th tile of rows of the fused sweep: (t, (stats, (gradient, smoothing terms))).
type TileParts<'s, F> = (usize, (&'s mut [Stats<F>], (&'s mut [F], &'s mut [f64])));

/// One sample's slices for [`columns_stats`]: (stats, picked), ((scores, targets),
/// smoothing terms).
type SampleStats<'s, F> = (
    (&'s mut [Stats<F>], &'s mut [F]),
    ((&'s [F], &'s [i64]), &'s mut [f64]),
);

/// A loss and its gradient with respect to the input.
type LossAndGrad<F> = (ArrayD<F>, ArrayD<F>);

/// The index paths (class indices, with or without label smoothing), forward and
/// backward in one sweep: each row's (or, for `(N, C, d1..dK)`, each strip's)
/// log-sum-exp, smoothing term and gradient are computed while it is in cache, so the
/// scores are read from memory once. The forward's kernels for the shape and the same
/// operations as the forward alone, so the same bits. What the gradient needs from the
/// forward (the target checks, the total weight, the smoothing term's divisor) does not
/// depend on the scores and comes first, in libtorch's order: the forward's errors,
/// then the backward's. `None` for the probability path.
fn index_rows_with_grad<'a, F: Float>(
    grad_output: &ArrayViewD<'_, F>,
    input: ArrayViewD<'a, F>,
    target: &Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<Option<LossAndGrad<F>>, LossError> {
    let plan = ce_plan(
        input.shape(),
        target.shape(),
        target.dtype_name(),
        matches!(target, Target::Probabilities(_)),
        options.weight.as_ref().map(|w| w.shape()),
        options.ignore_index,
        options.label_smoothing,
    )?;
    let (nll, ls) = match &plan.path {
        CePath::Plain { nll } => (nll, 0.0),
        CePath::Smoothed { nll, smoothing } => (nll, *smoothing),
        CePath::Probabilities { .. } => return Ok(None),
    };
    check_spatial_target_dtype(nll, target.dtype_name(), options.reduction)?;
    let targets = target
        .index_slice()
        .ok_or_else(|| internal("index path without indices"))?;
    let weight: Option<Vec<F>> = options.weight.as_ref().map(|w| row_major(w).into_owned());
    let (ii, reduction) = (options.ignore_index, options.reduction);
    let (_, total_weight) = nll_forward(
        nll,
        &|_, _| F::zero(),
        &targets,
        weight.as_deref(),
        ii,
        reduction,
    )?;
    let smoothing = if ls > 0.0 {
        let counted = targets.iter().filter(|&&t| t != ii).count();
        let weight_shape = options.weight.as_ref().map(|w| w.shape());
        check_smoothing_shapes(&plan, nll, weight_shape, reduction, counted)?;
        Some(
            Smoothing::new(weight.as_deref(), nll.classes)
                .ok_or_else(|| internal("a weight without one value per class"))?,
        )
    } else {
        None
    };
    check_grad_shape(grad_output.shape(), &nll.output_shape(reduction))?;
    // The nll_loss part's gradient is scaled by 1 - ls first, as autograd scales the
    // gradient flowing into it.
    let keep = F::of_f64(1.0 - ls);
    let scaled;
    let nll_grad_output = if smoothing.is_some() {
        scaled = grad_output.mapv(|g| g * keep);
        scaled.view()
    } else {
        grad_output.view()
    };
    let entries = nll_grad_entries(
        nll,
        &nll_grad_output,
        &targets,
        weight.as_deref(),
        ii,
        reduction,
        total_weight,
    )?;
    let shape = input.shape().to_vec();
    let x = row_major(&input);
    let classes = nll.classes;
    let positions = nll.positions();
    let mut grad = vec![F::zero(); x.len()];
    let map: usize = shape.iter().skip(2).product();
    // Both zeroed (so never paged in) and left untouched without smoothing; allocated
    // either way so that the parallel zips below line up.
    let grads = match &smoothing {
        Some(sm) => smoothing_grads(sm, &plan, &targets, &entries, grad_output, options, ls)?,
        None => vec![[F::zero(); 2]; positions],
    };
    let mut smooth = vec![0.0; positions];
    let mut stats = Vec::new();
    let mut picked = Vec::new();
    if map != 1 {
        // (N, C, d1..dK) with positions strided: sample by sample, strip by strip, the
        // classes summed in order as the forward's column kernels do. With a map of 1
        // ((N, C, 1, ..)) a position's classes are a contiguous row, and the forward
        // sums them as rows (below).
        picked = vec![F::nan(); positions];
        if classes > 0 && map > 0 {
            let sample = |((o, p), (x, (t, (h, (g, sm))))): SampleParts<'_, F>| {
                let smoothing = smoothing.map(|s| (s.terms(sm), g));
                columns_forward_backward(x, map, t, h, p, smoothing, o)
            };
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                grad.par_chunks_mut(classes * map)
                    .zip(picked.par_chunks_mut(map))
                    .zip(
                        x.par_chunks(classes * map).zip(
                            targets.par_chunks(map).zip(
                                entries
                                    .par_chunks(map)
                                    .zip(grads.par_chunks(map).zip(smooth.par_chunks_mut(map))),
                            ),
                        ),
                    )
                    .for_each(sample);
            } else {
                grad.chunks_mut(classes * map)
                    .zip(picked.chunks_mut(map))
                    .zip(
                        x.chunks(classes * map).zip(
                            targets.chunks(map).zip(
                                entries
                                    .chunks(map)
                                    .zip(grads.chunks(map).zip(smooth.chunks_mut(map))),
                            ),
                        ),
                    )
                    .for_each(sample);
            }
        }
    } else {
        stats = vec![None; positions];
        if classes > 0 {
            // A tile of rows at a time: their log-sum-exps, then their smoothing terms and
            // gradients while the rows are still in cache.
            let tile = |(t, (s, (o, sm))): TileParts<'_, F>| {
                let first = t * TILE_ROWS;
                let scores = &x[first * classes..(first + s.len()) * classes];
                match &smoothing {
                    Some(smoothing) => smoothing.rows(scores, classes, s, sm),
                    None => rows_log_sum_exp(scores, classes, s),
                }
                for (r, (o, &stats)) in o.chunks_mut(classes).zip(s.iter()).enumerate() {
                    let row = &scores[r * classes..(r + 1) * classes];
                    let p = first + r;
                    match (stats, &smoothing) {
                        (Some(st), Some(smoothing)) => {
                            smoothed_log_softmax_backward_lane(
                                row,
                                st,
                                entries[p],
                                smoothing.weight,
                                grads[p],
                                o,
                            );
                        }
                        (Some((max, lse)), None) => {
                            one_hot_log_softmax_backward_lane(row, max, lse, entries[p], o)
                        }
                        (None, _) => o.iter_mut().for_each(|v| *v = F::nan()),
                    }
                }
            };
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                stats
                    .par_chunks_mut(TILE_ROWS)
                    .zip(
                        grad.par_chunks_mut(TILE_ROWS * classes)
                            .zip(smooth.par_chunks_mut(TILE_ROWS)),
                    )
                    .enumerate()
                    .with_min_len(rows_per_task(classes) / TILE_ROWS)
                    .for_each(tile);
            } else {
                stats
                    .chunks_mut(TILE_ROWS)
                    .zip(
                        grad.chunks_mut(TILE_ROWS * classes)
                            .zip(smooth.chunks_mut(TILE_ROWS)),
                    )
                    .enumerate()
                    .for_each(tile);
            }
        }
    }
    let rows = Rows {
        x,
        classes,
        map,
        shape,
        stats,
        picked,
        smooth: if smoothing.is_some() {
            smooth
        } else {
            Vec::new()
        },
    };
    let (nll_out, _) = nll_forward(
        nll,
        &|p, c| rows.target_logp(p, c),
        &targets,
        weight.as_deref(),
        ii,
        reduction,
    )?;
    let output = if smoothing.is_some() {
        smoothed_loss(
            nll,
            &rows,
            &targets,
            weight.as_deref(),
            ii,
            reduction,
            ls,
            nll_out,
        )?
    } else {
        nll_out
    };
    Ok(Some((output, rows.to_input_layout(grad)?)))
}

/// Per position, what [`smoothed_log_softmax_backward_lane`] needs besides the scores:
/// the smoothing term's gradient `s` (`grad_output * ls / C`, divided by the mean's
/// divisor; 0 where the target is ignored, as libtorch's mask makes it) and the sum of
/// the position's log-probability gradients as the lane kernel forms them in `F`
/// (`0 - s * w[c]`, the target's `value + (0 - s * w[t])`, `value` the `nll_loss`
/// entry's), summed in f64 and rounded once: the sum of the very values the backward
/// subtracts it from, so that a row whose gradient is in one class gets `d - p * d`, 0
/// where `p` rounds to 1, as libtorch's does.
#[allow(clippy::too_many_arguments)]
fn smoothing_grads<F: Float>(
    smoothing: &Smoothing<'_, F>,
    plan: &CePlan,
    targets: &[i64],
    entries: &[Option<(usize, F)>],
    grad_output: &ArrayViewD<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
    ls: f64,
) -> Result<Vec<[F; 2]>, LossError> {
    let classes = plan.classes;
    let spread = F::of_f64(ls / classes as f64);
    let g = row_major(grad_output);
    let divisor = match options.reduction {
        Reduction::Mean => smoothing_divisor(targets, smoothing.weight, options.ignore_index),
        _ => F::one(),
    };
    let term = |s: F, c: usize| F::zero() - s * smoothing.weight.map_or(F::one(), |w| w[c]);
    // sum_c (0 - s * w[c]) for one s; every position but the ignored shares one s unless
    // the reduction is `none`, so the last one is kept.
    let mut last: Option<(F, f64)> = None;
    let mut terms_sum = |s: F| -> f64 {
        match last {
            Some((k, v)) if k.to_f64_exact().to_bits() == s.to_f64_exact().to_bits() => v,
            _ => {
                let v = (0..classes).map(|c| term(s, c).to_f64_exact()).sum::<f64>();
                last = Some((s, v));
                v
            }
        }
    };
    Ok(targets
        .iter()
        .zip(entries)
        .enumerate()
        .map(|(p, (&t, entry))| {
            let s = if t == options.ignore_index {
                F::zero()
            } else {
                match options.reduction {
                    Reduction::None => g[p] * spread,
                    Reduction::Sum => g[0] * spread,
                    Reduction::Mean => g[0] * spread / divisor,
                }
            };
            let mut total = terms_sum(s);
            if let Some((class, value)) = *entry {
                let own = term(s, class);
                total += (value + own).to_f64_exact() - own.to_f64_exact();
            }
            [s, F::of_f64(total)]
        })
        .collect())
}

/// The probability path in one parallel sweep per row (per sample for `(N, C,
/// d1..dK)`): each position's loss `lse * B - A` in f64 (see
/// [`probability_row_sums`]: the log-probabilities are never rounded or stored), and
/// with `grad_output` the gradient while the row is in cache. libtorch rounds each
/// `logp * q * w` to `F` and sums them in its SIMD order; this sum is nearer the exact
/// one (the tolerance policy and the reference decide). `None` for the index paths and
/// for inputs without elements or classes, which the composition handles.
#[allow(clippy::type_complexity)]
fn probability_sweep<F: Float>(
    input: ArrayViewD<'_, F>,
    target: &Target<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
    grad_output: Option<&ArrayViewD<'_, F>>,
) -> Result<Option<(ArrayD<F>, Option<ArrayD<F>>)>, LossError> {
    let Target::Probabilities(q) = target else {
        return Ok(None);
    };
    let plan = ce_plan(
        input.shape(),
        target.shape(),
        target.dtype_name(),
        true,
        options.weight.as_ref().map(|w| w.shape()),
        options.ignore_index,
        options.label_smoothing,
    )?;
    let CePath::Probabilities { smoothing } = plan.path else {
        return Ok(None);
    };
    let (classes, numel) = (plan.classes, input.len());
    if classes == 0 || numel == 0 {
        return Ok(None);
    }
    let shape = input.shape().to_vec();
    let map: usize = shape.iter().skip(2).product();
    let positions = numel / classes;
    let reduction = options.reduction;
    let out_shape: Vec<usize> = match reduction {
        Reduction::None => shape
            .iter()
            .enumerate()
            .filter(|&(d, _)| d != plan.class_dim)
            .map(|(_, &n)| n)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(g) = grad_output {
        check_grad_shape(g.shape(), &out_shape)?;
    }
    // -g per position, as autograd's mean (a division) and neg give it. Without a
    // gradient it and `grad` are zeroed and never touched (so never paged in), there so
    // that the parallel zips below line up.
    let neg_g: Vec<F> = match grad_output.map(row_major) {
        None => vec![F::zero(); positions],
        Some(g) => match reduction {
            Reduction::None => g.iter().map(|&g| -g).collect(),
            Reduction::Sum => vec![-g[0]; positions],
            Reduction::Mean => vec![-(g[0] / F::of_f64(positions as f64)); positions],
        },
    };
    let with_grad = grad_output.is_some();
    let x = row_major(&input);
    let q = row_major(q);
    let weight = options.weight.as_ref().map(row_major);
    let smooth = (smoothing > 0.0).then(|| {
        (
            F::of_f64(1.0 - smoothing),
            F::of_f64(smoothing / classes as f64),
        )
    });
    let mut losses = vec![0.0f64; positions];
    let mut grad = vec![F::zero(); numel];
    let parallel = numel >= PARALLEL_MIN_ELEMENTS;
    if map == 1 {
        let task = |(((l, o), g), (x, q)): ProbabilityRows<'_, F>| {
            let mut stats = vec![None; l.len()];
            rows_log_sum_exp(x, classes, &mut stats);
            for (r, (l, st)) in l.iter_mut().zip(&stats).enumerate() {
                let span = r * classes..(r + 1) * classes;
                let t = ProbabilityTarget {
                    q: &q[span.clone()],
                    weight: weight.as_deref(),
                    smooth,
                };
                let (row, out) = (&x[span.clone()], o.get_mut(span));
                let Some((max, lse)) = *st else {
                    *l = f64::NAN;
                    if with_grad && let Some(out) = out {
                        out.iter_mut().for_each(|v| *v = F::nan());
                    }
                    continue;
                };
                let (a, b, d) = probability_row_sums(row, max, t, g[r]);
                *l = lse.to_f64_exact() * b - a;
                if with_grad && let Some(out) = out {
                    let total = F::of_f64(d);
                    probability_log_softmax_backward_lane(row, (max, lse), t, [g[r], total], out);
                }
            }
        };
        if parallel {
            let rows = rows_per_task(classes);
            losses
                .par_chunks_mut(rows)
                .zip(grad.par_chunks_mut(rows * classes))
                .zip(neg_g.par_chunks(rows))
                .zip(
                    x.par_chunks(rows * classes)
                        .zip(q.par_chunks(rows * classes)),
                )
                .for_each(task);
        } else {
            task((((&mut losses, &mut grad), &neg_g), (&x, &q)));
        }
    } else {
        let sample = |(((l, o), g), (x, q)): ProbabilityRows<'_, F>| {
            let t = ProbabilityTarget {
                q,
                weight: weight.as_deref(),
                smooth,
            };
            columns_probabilities(x, map, t, l, with_grad.then_some((g, o)));
        };
        let block = classes * map;
        if parallel {
            losses
                .par_chunks_mut(map)
                .zip(grad.par_chunks_mut(block))
                .zip(neg_g.par_chunks(map))
                .zip(x.par_chunks(block).zip(q.par_chunks(block)))
                .for_each(sample);
        } else {
            losses
                .chunks_mut(map)
                .zip(grad.chunks_mut(block))
                .zip(neg_g.chunks(map))
                .zip(x.chunks(block).zip(q.chunks(block)))
                .for_each(sample);
        }
    }
    let output = match reduction {
        Reduction::None => ArrayD::from_shape_vec(
            IxDyn(&out_shape),
            losses.into_iter().map(F::of_f64).collect(),
        )
        .map_err(internal)?,
        Reduction::Sum => ArrayD::from_elem(IxDyn(&[]), F::of_f64(compensated_sum(losses))),
        Reduction::Mean => ArrayD::from_elem(
            IxDyn(&[]),
            F::of_f64(compensated_sum(losses)) / F::of_f64(positions as f64),
        ),
    };
    let grad = if with_grad {
        Some(ArrayD::from_shape_vec(IxDyn(&shape), grad).map_err(internal)?)
    } else {
        None
    };
    Ok(Some((output, grad)))
}

/// A task's parts of the probability sweep: (((losses, gradient), -g), (scores,
/// targets)).
type ProbabilityRows<'s, F> = (((&'s mut [f64], &'s mut [F]), &'s [F]), (&'s [F], &'s [F]));

/// d(-sum(logp * t * w) / M) / d logp = -(g / M) * w * t, per element.
fn probability_grad<F: Float>(
    fwd: &Forward<F>,
    soft: &ArrayD<F>,
    grad_output: &ArrayViewD<'_, F>,
    reduction: Reduction,
) -> Result<ArrayD<F>, LossError> {
    let mut grad = position_grads(fwd, soft, grad_output, reduction)?;
    if let Some(w) = fwd.weight.as_deref() {
        grad = grad * &weight_along_classes(w, soft.ndim(), fwd.plan.class_dim)?;
    }
    Ok(grad * soft)
}

/// The gradient of the probability path's loss with respect to each term
/// `weight[c] * soft[c] * logp[c]`: `-grad_output` for `none`, broadcast along the
/// classes; the one `-grad_output` (over the positions for `mean`) otherwise.
fn position_grads<F: Float>(
    fwd: &Forward<F>,
    soft: &ArrayD<F>,
    grad_output: &ArrayViewD<'_, F>,
    reduction: Reduction,
) -> Result<ArrayD<F>, LossError> {
    let plan = &fwd.plan;
    let per_position: ArrayD<F> = match reduction {
        Reduction::None => grad_output
            .mapv(|g| -g)
            .insert_axis(Axis(plan.class_dim.min(grad_output.ndim()))),
        Reduction::Sum => ArrayD::from_elem(IxDyn(&[]), -scalar(grad_output)),
        Reduction::Mean => {
            let m = F::of_f64((soft.len() / plan.classes.max(1)) as f64);
            let g = if soft.is_empty() {
                F::zero()
            } else {
                -(scalar(grad_output) / m)
            };
            ArrayD::from_elem(IxDyn(&[]), g)
        }
    };
    let mut grad = ArrayD::<F>::zeros(soft.raw_dim());
    grad.zip_mut_with(
        &per_position
            .broadcast(soft.raw_dim())
            .ok_or_else(|| internal("grad broadcast"))?,
        |dst, &g| *dst = g,
    );
    Ok(grad)
}

fn scalar<F: Float>(a: &ArrayViewD<'_, F>) -> F {
    a.iter().next().copied().unwrap_or_else(F::zero)
}
