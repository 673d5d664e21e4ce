//! `cross_entropy`: `log_softmax` over the class dimension followed by `nll_loss`, or,
//! for a target of the input's shape, the cross entropy with class probabilities; with
//! label smoothing for both.
//!
//! libtorch composes this loss from separate ops, each rounding to the dtype; so does
//! this module. The `nll_loss` part is bit-exact; `log_softmax` and the sums over
//! classes agree within the tolerance policy.

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Axis, Dimension, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::{
    PARALLEL_MIN_ELEMENTS, TILE_ROWS, columns_forward_backward, columns_stats, compensated_sum,
    log_softmax_backward_lane, one_hot_log_softmax_backward_lane, rows_log_sum_exp, shifted_lane,
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
}

impl<'a, F: Float> Rows<'a, F> {
    /// `targets` are the class indices per position, used for `picked`.
    fn new(input: ArrayViewD<'a, F>, class_dim: usize, targets: &[i64]) -> Self {
        let shape = input.shape().to_vec();
        let classes = shape.get(class_dim).copied().unwrap_or(1);
        let map: usize = shape.iter().skip(2).product();
        let batch = if shape.len() >= 2 { shape[0] } else { 1 };
        let x = row_major(&input);
        let mut picked = Vec::new();
        let stats = if classes == 0 || map == 0 {
            vec![None; batch * map]
        } else if map == 1 {
            let mut stats = vec![None; batch];
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                let rows = rows_per_task(classes);
                stats
                    .par_chunks_mut(rows)
                    .zip(x.par_chunks(rows * classes))
                    .for_each(|(s, x)| rows_log_sum_exp(x, classes, s));
            } else {
                rows_log_sum_exp(&x, classes, &mut stats);
            }
            stats
        } else {
            let mut stats = vec![None; batch * map];
            picked = vec![F::nan(); batch * map];
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                stats
                    .par_chunks_mut(map)
                    .zip(picked.par_chunks_mut(map))
                    .zip(x.par_chunks(classes * map).zip(targets.par_chunks(map)))
                    .for_each(|((s, p), (x, t))| columns_stats(x, map, t, s, p));
            } else {
                stats
                    .chunks_mut(map)
                    .zip(picked.chunks_mut(map))
                    .zip(x.chunks(classes * map).zip(targets.chunks(map)))
                    .for_each(|((s, p), (x, t))| columns_stats(x, map, t, s, p));
            }
            stats
        };
        Rows {
            x,
            classes,
            map,
            shape,
            stats,
            picked,
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

    /// The log-probability of class `c` at position `p`, where `c` is `p`'s target:
    /// [`Rows::logp`], read from `picked` for `(N, C, d1..dK)` inputs.
    #[inline]
    fn target_logp(&self, p: usize, c: usize) -> F {
        match self.picked.get(p) {
            Some(&v) => v,
            None => self.logp(p, c),
        }
    }

    /// All log-probabilities of position `p`, into `out`.
    fn logp_row(&self, p: usize, out: &mut [F]) {
        if self.map == 1 {
            let row = &self.x[p * self.classes..(p + 1) * self.classes];
            match self.stats[p] {
                Some((max, lse)) => shifted_lane(row, max, lse, out),
                None => out.iter_mut().for_each(|o| *o = F::nan()),
            }
        } else {
            for (c, o) in out.iter_mut().enumerate() {
                *o = self.logp(p, c);
            }
        }
    }

    /// Values in the input's row-major order, as an array of its shape.
    fn to_input_layout(&self, values: Vec<F>) -> Result<ArrayD<F>, LossError> {
        ArrayD::from_shape_vec(IxDyn(&self.shape), values).map_err(internal)
    }
}

/// Everything a backward needs from a forward.
struct Forward<'a, 't, F: Clone> {
    plan: CePlan,
    output: ArrayD<F>,
    targets: Cow<'t, [i64]>,
    weight: Option<Vec<F>>,
    /// libtorch's total weight of the `nll_loss` part.
    total_weight: F,
    /// The divisor of the smoothing term's mean.
    smooth_divisor: F,
    /// The probability path: the log-probabilities and the target after smoothing.
    probabilities: Option<(ArrayD<F>, ArrayD<F>)>,
    /// The index paths: the scores by rows.
    rows: Option<Rows<'a, F>>,
}

fn forward<'a, 't, F: Float>(
    input: ArrayViewD<'a, F>,
    target: &Target<'t, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<Forward<'a, 't, F>, LossError> {
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
                targets: Cow::Borrowed(&[]),
                weight,
                total_weight: F::zero(),
                smooth_divisor: F::zero(),
                probabilities: Some((logp, soft)),
                rows: None,
            })
        }
        CePath::Plain { nll } | CePath::Smoothed { nll, .. } => {
            check_spatial_target_dtype(nll, target.dtype_name(), reduction)?;
            let targets = target
                .index_slice()
                .ok_or_else(|| internal("index path without indices"))?;
            let rows = Rows::new(input, plan.class_dim, &targets);
            let (nll_out, total_weight) = nll_forward(
                nll,
                &|p, c| rows.target_logp(p, c),
                &targets,
                weight.as_deref(),
                options.ignore_index,
                reduction,
            )?;
            let (output, smooth_divisor) = match &plan.path {
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
                _ => (nll_out, F::zero()),
            };
            Ok(Forward {
                plan,
                output,
                targets,
                weight,
                total_weight,
                smooth_divisor,
                probabilities: None,
                rows: Some(rows),
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

/// The label-smoothed loss from the `nll_loss` part: `(1 - ls) * nll + (ls / C) *
/// smooth`, and the divisor of the smoothing term's mean.
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
) -> Result<(ArrayD<F>, F), LossError> {
    let classes = nll.classes;
    let mut smooth = Vec::with_capacity(targets.len());
    for (p, &t) in targets.iter().enumerate() {
        if t == ignore_index {
            smooth.push(F::zero());
            continue;
        }
        let acc = compensated_sum((0..classes).map(|c| {
            let v = rows.logp(p, c);
            weight.map_or(v, |w| v * w[c])
        }));
        smooth.push(-acc);
    }
    let divisor = match weight {
        Some(w) => compensated_sum(
            targets
                .iter()
                .filter(|&&t| t != ignore_index)
                .map(|&t| w[t as usize]),
        ),
        None => F::of_f64(targets.iter().filter(|&&t| t != ignore_index).count() as f64),
    };
    let keep = F::of_f64(1.0 - ls);
    let spread = F::of_f64(ls / classes as f64);
    let out = match reduction {
        Reduction::None => {
            let smooth = ArrayD::from_shape_vec(IxDyn(&nll.output_shape(reduction)), smooth)
                .map_err(internal)?;
            nll_out.mapv(|v| keep * v) + smooth.mapv(|s| s * spread)
        }
        Reduction::Sum | Reduction::Mean => {
            let mut total: F = compensated_sum(smooth.iter().copied());
            if reduction == Reduction::Mean {
                total = total / divisor;
            }
            nll_out.mapv(|v| keep * v + total * spread)
        }
    };
    Ok((out, divisor))
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
    Ok(forward(input.into_dyn(), &target, options)?.output)
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
    if let Some(both) = plain_rows_with_grad(&grad_output, input.view(), &target, options)? {
        return Ok(both);
    }
    let fwd = forward(input, &target, options)?;
    check_grad_shape(grad_output.shape(), fwd.output.shape())?;
    let grad = match (&fwd.probabilities, &fwd.rows) {
        (Some((logp, soft)), _) => {
            let grad_logp = probability_grad(&fwd, soft, &grad_output, options.reduction)?;
            log_softmax_backward(grad_logp.view(), logp.view(), fwd.plan.class_dim as i64)?
        }
        (None, Some(rows)) => index_grad(&fwd, rows, &grad_output, options)?,
        (None, None) => return Err(internal("forward kept nothing for the backward")),
    };
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
    (&'s [F], (&'s [i64], &'s [Option<(usize, F)>])),
);

/// A loss and its gradient with respect to the input.
type LossAndGrad<F> = (ArrayD<F>, ArrayD<F>);

/// The plain path (class indices, no label smoothing), forward and backward in one
/// sweep: each row's (or, for `(N, C, d1..dK)`, each strip's) log-sum-exp and gradient
/// are computed while it is in cache, so the scores are read from memory once. The
/// forward's kernels for the shape and the same operations as the two-pass path, so the
/// same bits. What the gradient needs from the forward (the target checks and the total
/// weight) does not depend on the scores and comes first, in libtorch's order: the
/// forward's errors, then the backward's. `None` for the other paths.
fn plain_rows_with_grad<'a, F: Float>(
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
    let CePath::Plain { nll } = &plan.path else {
        return Ok(None);
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
    check_grad_shape(grad_output.shape(), &nll.output_shape(reduction))?;
    let entries = nll_grad_entries(
        nll,
        grad_output,
        &targets,
        weight.as_deref(),
        ii,
        reduction,
        total_weight,
    )?;
    let shape = input.shape().to_vec();
    let x = row_major(&input);
    let classes = nll.classes;
    let mut grad = vec![F::zero(); x.len()];
    let map: usize = shape.iter().skip(2).product();
    if map != 1 {
        // (N, C, d1..dK) with positions strided: sample by sample, strip by strip, the
        // classes summed in order as the forward's column kernels do. With a map of 1
        // ((N, C, 1, ..)) a position's classes are a contiguous row, and the forward
        // sums them as rows (below).

        let mut picked = vec![F::nan(); nll.positions()];
        if classes > 0 && map > 0 {
            let sample = |((o, p), (x, (t, h))): SampleParts<'_, F>| {
                columns_forward_backward(x, map, t, h, p, o)
            };
            if x.len() >= PARALLEL_MIN_ELEMENTS {
                grad.par_chunks_mut(classes * map)
                    .zip(picked.par_chunks_mut(map))
                    .zip(
                        x.par_chunks(classes * map)
                            .zip(targets.par_chunks(map).zip(entries.par_chunks(map))),
                    )
                    .for_each(sample);
            } else {
                grad.chunks_mut(classes * map)
                    .zip(picked.chunks_mut(map))
                    .zip(
                        x.chunks(classes * map)
                            .zip(targets.chunks(map).zip(entries.chunks(map))),
                    )
                    .for_each(sample);
            }
        }
        let rows = Rows {
            x,
            classes,
            map,
            shape,
            stats: Vec::new(),
            picked,
        };
        let (output, _) = nll_forward(
            nll,
            &|p, c| rows.target_logp(p, c),
            &targets,
            weight.as_deref(),
            ii,
            reduction,
        )?;
        return Ok(Some((output, rows.to_input_layout(grad)?)));
    }
    let stats: Vec<Option<(F, F)>> = if classes == 0 {
        vec![None; nll.positions()]
    } else {
        let mut stats = vec![None; nll.positions()];
        // A tile of rows at a time: their log-sum-exps, then their gradients while
        // the rows are still in cache.
        let tile = |(t, (s, o)): (usize, (&mut [Stats<F>], &mut [F]))| {
            let first = t * TILE_ROWS;
            let scores = &x[first * classes..(first + s.len()) * classes];
            rows_log_sum_exp(scores, classes, s);
            for (r, (o, stats)) in o.chunks_mut(classes).zip(s.iter()).enumerate() {
                let row = &scores[r * classes..(r + 1) * classes];
                match *stats {
                    Some((max, lse)) => {
                        one_hot_log_softmax_backward_lane(row, max, lse, entries[first + r], o)
                    }
                    None => o.iter_mut().for_each(|v| *v = F::nan()),
                }
            }
        };
        if x.len() >= PARALLEL_MIN_ELEMENTS {
            stats
                .par_chunks_mut(TILE_ROWS)
                .zip(grad.par_chunks_mut(TILE_ROWS * classes))
                .enumerate()
                .with_min_len(rows_per_task(classes) / TILE_ROWS)
                .for_each(tile);
        } else {
            stats
                .chunks_mut(TILE_ROWS)
                .zip(grad.chunks_mut(TILE_ROWS * classes))
                .enumerate()
                .for_each(tile);
        }
        stats
    };
    let rows = Rows {
        x,
        classes,
        map: 1,
        shape,
        stats,
        picked: Vec::new(),
    };
    let (output, _) = nll_forward(
        nll,
        &|p, c| rows.logp(p, c),
        &targets,
        weight.as_deref(),
        ii,
        reduction,
    )?;
    Ok(Some((output, rows.to_input_layout(grad)?)))
}

/// d(-sum(logp * t * w) / M) / d logp = -(g / M) * w * t, per element.
fn probability_grad<F: Float>(
    fwd: &Forward<'_, '_, F>,
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
    fwd: &Forward<'_, '_, F>,
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

/// The gradient of the label-smoothed index path, position by position: the `nll_loss`
/// gradient of the `1 - ls` part plus the smoothing term's, then `log_softmax`'s
/// backward with the position's log-probabilities recomputed on the fly. The plain
/// path never comes here: [`plain_rows_with_grad`] computes its gradient with its loss.
fn index_grad<F: Float>(
    fwd: &Forward<'_, '_, F>,
    rows: &Rows<'_, F>,
    grad_output: &ArrayViewD<'_, F>,
    options: &CrossEntropyOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let plan = &fwd.plan;
    let reduction = options.reduction;
    let weight = fwd.weight.as_deref();
    let CePath::Smoothed { nll, smoothing } = &plan.path else {
        return Err(internal("index gradient without label smoothing"));
    };
    let ls = *smoothing;
    let keep = F::of_f64(1.0 - ls);
    let entries = nll_grad_entries(
        nll,
        &grad_output.mapv(|g| g * keep).view(),
        &fwd.targets,
        weight,
        options.ignore_index,
        reduction,
        fwd.total_weight,
    )?;
    // The smoothing term's gradient per position, zero where the target is ignored.
    let spread = F::of_f64(ls / plan.classes as f64);
    let g = row_major(grad_output);
    let smooth: Vec<F> = fwd
        .targets
        .iter()
        .enumerate()
        .map(|(p, &t)| {
            if t == options.ignore_index {
                return F::zero();
            }
            match reduction {
                Reduction::None => g[p] * spread,
                Reduction::Sum => g[0] * spread,
                Reduction::Mean => g[0] * spread / fwd.smooth_divisor,
            }
        })
        .collect();
    let classes = rows.classes;
    let mut out = vec![F::zero(); rows.x.len()];
    if out.is_empty() {
        return rows.to_input_layout(out);
    }
    let (mut gl, mut y, mut o) = (
        vec![F::zero(); classes],
        vec![F::zero(); classes],
        vec![F::zero(); classes],
    );
    for p in 0..rows.stats.len() {
        gl.iter_mut().for_each(|v| *v = F::zero());
        if let Some((class, value)) = entries[p] {
            gl[class] = value;
        }
        if fwd.targets[p] != options.ignore_index {
            for (c, v) in gl.iter_mut().enumerate() {
                *v += -smooth[p] * weight.map_or(F::one(), |w| w[c]);
            }
        }
        rows.logp_row(p, &mut y);
        log_softmax_backward_lane(&gl, &y, &mut o);
        for (c, &v) in o.iter().enumerate() {
            out[rows.index(p, c)] = v;
        }
    }
    rows.to_input_layout(out)
}

fn scalar<F: Float>(a: &ArrayViewD<'_, F>) -> F {
    a.iter().next().copied().unwrap_or_else(F::zero)
}
