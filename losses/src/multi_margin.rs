//! The multi-class hinge losses on class-index targets: `multi_margin_loss` (one class
//! per sample) and `multilabel_margin_loss` (a `-1`-terminated list of classes per
//! sample), forward and input gradient, with PyTorch 2.13's errors.
//!
//! Both follow libtorch's CPU kernels operation by operation, so they are bit-exact with
//! it: a sample's sum runs serially over the classes in the kernel's order and type
//! (`multi_margin_loss`: the input's type; `multilabel_margin_loss`: `f64`, libtorch's
//! CPU accumulation type, rounded to the input's type at the end of the sample), and the
//! reduction adds the samples' losses serially in `f64`. Samples are independent, so on
//! large inputs they run in parallel and only the final serial sum joins them: results
//! do not depend on the thread count.
//!
//! Neither loss has a gradient with respect to its target (class indices are integers,
//! which cannot require grad) nor, for `multi_margin_loss`, its class weight (autograd
//! refuses it: see [`multi_margin_loss_weight_backward`]).

use multiversion::multiversion;
use ndarray::{ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
use rayon::prelude::*;

use super::error::{LossError, shape_str};
use super::float::Float;
use super::kernels::PARALLEL_MIN_ELEMENTS;
use super::nll::internal;
use super::options::{Reduction, row_major};
use super::softmax::check_grad_shape;

// ---------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------

/// Options of [`multi_margin_loss`] and its gradients, as PyTorch's keyword arguments.
#[derive(Debug, Clone)]
pub struct MultiMarginOptions<'a, F> {
    /// The exponent of the hinge: 1 (the default) or 2; any other value is PyTorch's
    /// `ValueError`.
    pub p: i64,
    /// The margin by which the target's score must beat every other class; 1 by
    /// default. Rounded to the input's type, as libtorch does: a finite margin beyond
    /// `f32::MAX` with an `f32` input is libtorch's overflow error (infinities and NaN
    /// pass).
    pub margin: f64,
    /// A per-class weight, 1-D of C values: a sample's loss is scaled by the weight of
    /// its target class.
    pub weight: Option<ArrayViewD<'a, F>>,
    /// How the per-sample losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl<F> Default for MultiMarginOptions<'_, F> {
    fn default() -> Self {
        MultiMarginOptions {
            p: 1,
            margin: 1.0,
            weight: None,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, F> MultiMarginOptions<'a, F> {
    /// Sets the exponent `p` (1 or 2).
    pub fn p(mut self, p: i64) -> Self {
        self.p = p;
        self
    }

    /// Sets the margin.
    pub fn margin(mut self, margin: f64) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the per-class weight (1-D, one value per class).
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

/// Options of [`multilabel_margin_loss`] and its gradient: only the reduction (a struct
/// all the same, so that every loss is called as `(input, target, &options)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MultilabelMarginOptions {
    /// How the per-sample losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl MultilabelMarginOptions {
    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

// ---------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------

/// The shape facts of a validated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarginPlan {
    /// Samples: N, or 1 for a 0-D or 1-D input.
    pub nframe: usize,
    /// Classes: C, or 1 for a 0-D input.
    pub dim: usize,
    /// The output's shape with `reduction='none'`.
    pub none_shape: Vec<usize>,
}

impl MarginPlan {
    fn output_shape(&self, reduction: Reduction) -> Vec<usize> {
        match reduction {
            Reduction::None => self.none_shape.clone(),
            _ => Vec::new(),
        }
    }
}

/// The check both kernels start with; `(nframe, dim)` of the input.
fn check_input(input: &[usize], op: &str) -> Result<(usize, usize), LossError> {
    let valid = match input.len() {
        0 => true,
        1 => input[0] != 0,
        2 => input[1] != 0,
        _ => false,
    };
    if !valid {
        let hint = if input.len() > 2 {
            format!(
                "{op} takes scores of shape (C) for one sample or (N, C) for a batch; an \
                 input {} has more dimensions: flatten the extra ones into the batch",
                shape_str(input)
            )
        } else {
            format!(
                "the input {} has no classes; {op} needs at least one class score per \
                 sample (an empty batch, (0, C), is allowed)",
                shape_str(input)
            )
        };
        return Err(LossError::runtime(
            format!(
                "Expected non-empty vector or matrix with optional 0-dim batch size, but got: {}",
                shape_str(input)
            ),
            hint,
        ));
    }
    Ok(match input.len() {
        0 => (1, 1),
        1 => (1, input[0]),
        _ => (input[0], input[1]),
    })
}

fn target_dtype_error(dtype: &str, op: &str) -> LossError {
    LossError::runtime(
        format!("expected scalar type Long but found {dtype}"),
        format!(
            "{op} reads class indices as int64 only (not {dtype}); convert the target with \
             .long()"
        ),
    )
}

/// Every check of `F.multi_margin_loss` before a value is read, in PyTorch's order: the
/// Python checks of `p` and of the weight's dimensionality (`ValueError`s), then
/// libtorch's of the input, the target and the weight's size. `target_dtype` (PyTorch's
/// name) is checked last, and only for a non-empty input (libtorch reads no target
/// otherwise).
pub(crate) fn multi_margin_plan(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    weight: Option<&[usize]>,
    p: i64,
) -> Result<MarginPlan, LossError> {
    python_checks(weight, p)?;
    let (nframe, dim) = check_input(input, "multi_margin_loss")?;
    let target_numel: usize = target.iter().product();
    if target.len() > 1 || target_numel != nframe {
        let hint = if target.len() == 2 && target.get(1) == Some(&dim) {
            format!(
                "the target {} looks like one-hot rows or scores; multi_margin_loss wants \
                 one class index per sample, shape ({nframe}) (for several classes per \
                 sample see multilabel_margin_loss)",
                shape_str(target)
            )
        } else {
            format!(
                "the input {} holds {nframe} sample(s), so the target holds {nframe} class \
                 index(es), shape ({nframe}); it has shape {}",
                shape_str(input),
                shape_str(target)
            )
        };
        return Err(LossError::runtime(
            format!(
                "multi_margin_loss: target tensor should be 1-D with size equal to the number \
                 of input samples (batch size). Expected target size [{nframe}], but got {}. \
                 Input has shape {}.",
                shape_str(target),
                shape_str(input)
            ),
            hint,
        ));
    }
    if let Some(w) = weight
        && w.iter().product::<usize>() != dim
    {
        return Err(LossError::runtime(
            format!(
                "inconsistent weight size, expected {dim} but got {}",
                shape_str(w)
            ),
            format!(
                "the weight gives one factor per class: {dim} values for the input's \
                     {dim} classes, not {}",
                w.iter().product::<usize>()
            ),
        ));
    }
    if target_dtype != "Long" && input.iter().product::<usize>() != 0 {
        return Err(target_dtype_error(target_dtype, "multi_margin_loss"));
    }
    let none_shape = if target.is_empty() {
        Vec::new()
    } else {
        vec![nframe]
    };
    Ok(MarginPlan {
        nframe,
        dim,
        none_shape,
    })
}

/// The checks `F.multi_margin_loss` makes in Python, before autograd or libtorch.
fn python_checks(weight: Option<&[usize]>, p: i64) -> Result<(), LossError> {
    if p != 1 && p != 2 {
        return Err(LossError::value(
            "only p == 1 and p == 2 supported",
            format!(
                "p is the exponent of the hinge, max(0, margin - x[y] + x[i])^p: 1 (the \
                 default) or 2, not {p}"
            ),
        ));
    }
    if let Some(w) = weight
        && w.len() != 1
    {
        return Err(LossError::value(
            "weight must be one-dimensional",
            format!(
                "the weight {} must be 1-D, one value per class; flatten it (or, for a \
                     single class, give shape (1))",
                shape_str(w)
            ),
        ));
    }
    Ok(())
}

/// Every check of `F.multilabel_margin_loss` before a value is read, in libtorch's
/// order: the input, then the target's shape (the input's, or `()`/`(1)` for a 0-D
/// input). `target_dtype` is checked last, and only for a non-empty input; libtorch
/// checks the target's range (which an integer-valued target of another dtype can fail)
/// before its dtype.
pub(crate) fn multilabel_margin_plan(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
) -> Result<MarginPlan, LossError> {
    let (nframe, dim) = check_input(input, "multilabel_margin_loss")?;
    let fits = if input.len() <= 1 {
        target.len() <= 1 && target.iter().product::<usize>() == dim
    } else {
        target == input
    };
    if !fits {
        let wanted = if input.is_empty() {
            "() or (1)".to_string()
        } else {
            shape_str(input)
        };
        return Err(LossError::runtime(
            format!(
                "inconsistent target size: {} for input of size: {}",
                shape_str(target),
                shape_str(input)
            ),
            format!(
                "multilabel_margin_loss takes a target of the input's shape, {wanted}: each \
                 sample's row lists its classes, ended by -1 (the rest of the row is \
                 ignored); this target has shape {}",
                shape_str(target)
            ),
        ));
    }
    if target_dtype != "Long" && input.iter().product::<usize>() != 0 {
        return Err(target_dtype_error(target_dtype, "multilabel_margin_loss"));
    }
    let none_shape = if target.len() > 1 {
        vec![nframe]
    } else {
        Vec::new()
    };
    Ok(MarginPlan {
        nframe,
        dim,
        none_shape,
    })
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

/// Rows per parallel task: about `PARALLEL_MIN_ELEMENTS / 2` elements.
fn rows_per_task(dim: usize) -> usize {
    (PARALLEL_MIN_ELEMENTS / 2 / dim.max(1)).max(1)
}

/// `k(scratch, sample)` for every sample, in parallel for large inputs (each value
/// depends on its row alone, so the result does not depend on the thread count). The
/// scratch buffer is reused across the samples of a task.
fn per_row<T: Send, K: Fn(&mut Vec<bool>, usize) -> T + Sync>(plan: &MarginPlan, k: K) -> Vec<T> {
    if plan.nframe * plan.dim >= PARALLEL_MIN_ELEMENTS {
        let per = rows_per_task(plan.dim);
        (0..plan.nframe)
            .into_par_iter()
            .with_min_len(per)
            .map_init(Vec::new, &k)
            .collect()
    } else {
        let mut scratch = Vec::new();
        (0..plan.nframe).map(|t| k(&mut scratch, t)).collect()
    }
}

/// Fills the gradient row by row (`k(scratch, sample, row)`), in parallel for large
/// inputs.
fn fill_rows<F: Float, K: Fn(&mut Vec<bool>, usize, &mut [F]) + Sync>(
    plan: &MarginPlan,
    k: K,
) -> Vec<F> {
    let mut out = vec![F::zero(); plan.nframe * plan.dim];
    if out.is_empty() {
        return out;
    }
    if out.len() >= PARALLEL_MIN_ELEMENTS {
        let per = rows_per_task(plan.dim);
        out.par_chunks_mut(plan.dim)
            .with_min_len(per)
            .enumerate()
            .for_each_init(Vec::new, |scratch, (t, row)| k(scratch, t, row));
    } else {
        let mut scratch = Vec::new();
        for (t, row) in out.chunks_mut(plan.dim).enumerate() {
            k(&mut scratch, t, row);
        }
    }
    out
}

/// libtorch's reduction of the per-sample losses: a serial sum in `f64` (its CPU
/// accumulation type for `float` and `double`), divided by `divisor` in `f64`, rounded
/// once to `F`.
fn serial_sum<F: Float>(values: impl Iterator<Item = F>) -> f64 {
    let mut acc = 0.0f64;
    for v in values {
        acc += v.to_f64_exact();
    }
    acc
}

/// The scalar the backward kernels start from: `1 / (N * C)` for `mean`, `1 / C`
/// otherwise, computed in `f64` and rounded to `F`, as libtorch does.
fn unit_grad<F: Float>(plan: &MarginPlan, reduction: Reduction) -> F {
    let n = match reduction {
        Reduction::Mean => plan.nframe * plan.dim,
        _ => plan.dim,
    };
    F::of_f64(1.0 / n as f64)
}

/// `grad_output` checked against the forward's output (autograd's check), as one value
/// per sample.
fn grad_per_sample<F: Float>(
    grad_output: &ArrayViewD<'_, F>,
    plan: &MarginPlan,
    reduction: Reduction,
) -> Result<Vec<F>, LossError> {
    check_grad_shape(grad_output.shape(), &plan.output_shape(reduction))?;
    Ok(if grad_output.ndim() == 0 {
        let g = grad_output.iter().next().copied().unwrap_or_else(F::zero);
        vec![g; plan.nframe]
    } else {
        grad_output.iter().copied().collect()
    })
}

// ---------------------------------------------------------------------------------
// multi_margin_loss
// ---------------------------------------------------------------------------------

fn target_out_of_range(t: i64, dim: usize) -> LossError {
    LossError::runtime(
        "target out of range",
        format!(
            "class index {t} is not in [0, {dim}), the input's {dim} classes \
             (multi_margin_loss has no ignore_index)"
        ),
    )
}

/// libtorch's checked conversion of the margin to the input's type (`Scalar::to`), made
/// once it reads the values (after every shape and dtype check, before the targets'
/// range): a finite margin beyond the type's range is an error, not an infinity.
fn check_margin<F: Float>(margin: f64) -> Result<(), LossError> {
    if margin.is_finite() && margin.abs() > F::max_value().to_f64_exact() {
        return Err(LossError::runtime(
            format!(
                "value cannot be converted to type {} without overflow",
                F::TORCH_NAME.to_lowercase()
            ),
            format!(
                "the margin {margin} is outside the range of the input's type ({}: at most \
                 {:e} in magnitude); use a smaller margin, or float64 scores",
                F::TORCH_NAME,
                F::max_value().to_f64_exact()
            ),
        ));
    }
    Ok(())
}

/// The validated plan, the input's rows and the targets as row indices.
struct MultiMarginCall<'a, F: Clone> {
    plan: MarginPlan,
    x: std::borrow::Cow<'a, [F]>,
    classes: Vec<usize>,
    weight: Option<Vec<F>>,
    margin: F,
    squared: bool,
}

/// What a sample's hinges need besides its scores: the margin, the target class's
/// weight, the exponent.
#[derive(Debug, Clone, Copy)]
struct Hinge<F> {
    margin: F,
    w: Option<F>,
    squared: bool,
}

impl<F: Float> MultiMarginCall<'_, F> {
    fn hinge(&self, y: usize) -> Hinge<F> {
        Hinge {
            margin: self.margin,
            w: self.weight.as_ref().map(|w| w[y]),
            squared: self.squared,
        }
    }
}

fn multi_margin_prepare<'a, F: Float>(
    input: &ArrayViewD<'a, F>,
    target: &ArrayViewD<'_, i64>,
    options: &MultiMarginOptions<'_, F>,
) -> Result<MultiMarginCall<'a, F>, LossError> {
    let plan = multi_margin_plan(
        input.shape(),
        target.shape(),
        "Long",
        options.weight.as_ref().map(|w| w.shape()),
        options.p,
    )?;
    let x = row_major(input);
    if !x.is_empty() {
        check_margin::<F>(options.margin)?;
    }
    // libtorch reads no target of an empty input.
    let classes = if x.is_empty() {
        Vec::new()
    } else {
        target
            .iter()
            .map(|&t| {
                usize::try_from(t)
                    .ok()
                    .filter(|&c| c < plan.dim)
                    .ok_or_else(|| target_out_of_range(t, plan.dim))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok(MultiMarginCall {
        plan,
        x,
        classes,
        weight: options.weight.as_ref().map(|w| w.iter().copied().collect()),
        margin: F::of_f64(options.margin),
        squared: options.p == 2,
    })
}

/// One sample's loss, as libtorch's `multi_margin_inner_sum_cpu`: a serial sum in `F`
/// over the classes other than `y`, then a division by the class count.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn margin_row<F: Float>(row: &[F], y: usize, hinge: Hinge<F>) -> F {
    let Hinge { margin, w, squared } = hinge;
    let base = margin - row[y];
    let mut sum = F::zero();
    // A skipped class adds nothing; adding +0 instead is the same (the sum is never -0),
    // and keeps the loop free of branches.
    let mut add = |xd: F| {
        let z = base + xd;
        let mut h = if squared { z * z } else { z };
        if let Some(w) = w {
            h = h * w;
        }
        sum += if z > F::zero() { h } else { F::zero() };
    };
    for &xd in &row[..y] {
        add(xd);
    }
    for &xd in &row[y + 1..] {
        add(xd);
    }
    sum / F::of_f64(row.len() as f64)
}

/// One sample's gradient row, as libtorch's backward kernel, before the multiplication
/// by `grad_output`: `g` (or `2 g z` for `p = 2`, times the target's weight) at every
/// class whose hinge is active, minus their serial sum at the target.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn margin_grad_row<F: Float>(row: &[F], y: usize, hinge: Hinge<F>, g: F, go: F, out: &mut [F]) {
    let Hinge { margin, w, squared } = hinge;
    let base = margin - row[y];
    let two_g = (F::one() + F::one()) * g;
    let mut at_target = F::zero();
    for (d, (o, &xd)) in out.iter_mut().zip(row).enumerate() {
        if d == y {
            continue;
        }
        let z = base + xd;
        let mut h = if squared { two_g * z } else { g };
        if let Some(w) = w {
            h = h * w;
        }
        if z > F::zero() {
            at_target -= h;
            *o = h;
        } else {
            *o = F::zero();
        }
    }
    out[y] = at_target;
    for o in out.iter_mut() {
        *o = *o * go;
    }
}

/// The multi-class margin loss, as `torch.nn.functional.multi_margin_loss(input,
/// target, p, margin, weight, reduction=...)`: per sample with target class `y`,
/// `sum over i != y of max(0, margin - x[y] + x[i])^p` (times `weight[y]`), divided by
/// the number of classes C.
///
/// `input` is `()`, `(C)` (one sample) or `(N, C)`, `N = 0` allowed; `target` holds one
/// `int64` class index per sample in `[0, C)`: `()` or `(1)` for one sample, `(N)` for a
/// batch (a `()` target gives a 0-D `none` output). A hinge that is NaN (a NaN score, or
/// `x[y] = x[i] = inf`) counts as inactive, as in libtorch: it adds nothing.
///
/// Bit-exact with libtorch on CPU: each sample's sum runs serially over the classes in
/// the input's type, and the reduction adds the samples serially in `f64`. One
/// difference: PyTorch returns uninitialised memory for a reduced loss over an empty
/// batch; this returns 0 for `sum` and NaN (`0 / 0`) for `mean`.
///
/// ```
/// use lossparity_losses::{multi_margin_loss, MultiMarginOptions};
/// use ndarray::array;
///
/// let x = array![[0.1f32, 0.2, 0.4, 0.8], [0.5, -0.3, 0.0, 1.0]];
/// let y = array![3i64, 0];
/// let loss = multi_margin_loss(x.view(), y.view(), &MultiMarginOptions::default())?;
/// // torch 2.13: F.multi_margin_loss(x, y) = 0.4375
/// assert_eq!(loss[[]], 0.4375);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multi_margin_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, i64, E>,
    options: &MultiMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let call = multi_margin_prepare(&input, &target, options)?;
    let plan = &call.plan;
    let losses: Vec<F> = if call.x.is_empty() {
        Vec::new()
    } else {
        per_row(plan, |_, t| {
            let y = call.classes[t];
            let row = &call.x[t * plan.dim..(t + 1) * plan.dim];
            margin_row(row, y, call.hinge(y))
        })
    };
    match options.reduction {
        Reduction::None => shaped(&plan.none_shape, losses),
        Reduction::Sum => Ok(scalar(F::of_f64(serial_sum(losses.into_iter())))),
        Reduction::Mean => {
            let sum = serial_sum(losses.into_iter());
            Ok(scalar(F::of_f64(sum / plan.nframe as f64)))
        }
    }
}

/// The gradient of `sum(multi_margin_loss(input, target) * grad_output)` with respect to
/// the input, as PyTorch's autograd gives it (libtorch's `multi_margin_loss_backward`):
/// at each class `i != y` whose hinge `z = margin - x[y] + x[i]` is positive,
/// `g * weight[y]` for `p = 1` or `2 * g * z * weight[y]` for `p = 2`, with
/// `g = 1 / (N * C)` for `mean` and `1 / C` otherwise; at `y`, minus the sum of those;
/// everything times the sample's `grad_output`.
///
/// `grad_output` has the forward output's shape (`()` when reduced); another shape is
/// autograd's "Mismatch in shape" error. Bit-exact with libtorch.
///
/// ```
/// use lossparity_losses::{multi_margin_loss_backward, MultiMarginOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![0.1f64, 0.2, 0.4, 0.8];
/// let y = arr0(1i64);
/// let opts = MultiMarginOptions::default().p(2);
/// let g = multi_margin_loss_backward(arr0(1.0).view(), x.view(), y.view(), &opts)?;
/// // torch 2.13: [0.45, -1.85, 0.6000000000000001, 0.8]
/// assert_eq!(g.as_slice().unwrap(), &[0.45, -1.85, 0.6000000000000001, 0.8]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multi_margin_loss_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, i64, E>,
    options: &MultiMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    // Autograd runs the forward first: its errors come before grad_output's.
    let call = multi_margin_prepare(&input, &target, options)?;
    let plan = &call.plan;
    let go = grad_per_sample(&grad_output, plan, options.reduction)?;
    if call.x.is_empty() {
        return shaped(input.shape(), Vec::new());
    }
    let g = unit_grad::<F>(plan, options.reduction);
    let values = fill_rows(plan, |_, t, out| {
        let y = call.classes[t];
        let row = &call.x[t * plan.dim..(t + 1) * plan.dim];
        margin_grad_row(row, y, call.hinge(y), g, go[t], out);
    });
    shaped(input.shape(), values)
}

/// PyTorch refuses to differentiate `multi_margin_loss` with respect to its `weight`:
/// after the Python checks (`p`, the weight's dimensionality) and before libtorch's
/// shape checks, autograd raises `RuntimeError` "The function 'multi_margin_loss' is not
/// differentiable with respect to argument 'weight'. This input cannot have
/// requires_grad True." This function returns that error (or the Python check's); it
/// never returns a value.
///
/// ```
/// use lossparity_losses::{multi_margin_loss_weight_backward, MultiMarginOptions};
/// use ndarray::{arr0, array};
///
/// let (x, y, w) = (array![[0.5f64, 1.0]], array![0i64], array![1.0f64, 2.0]);
/// let opts = MultiMarginOptions::default().weight(w.view());
/// let err = multi_margin_loss_weight_backward(arr0(1.0).view(), x.view(), y.view(), &opts)
///     .unwrap_err();
/// assert!(err.message().contains("with respect to argument 'weight'"));
/// ```
pub fn multi_margin_loss_weight_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, i64, E>,
    options: &MultiMarginOptions<'_, F>,
) -> Result<ArrayD<F>, LossError> {
    let _ = (grad_output, input, target);
    python_checks(options.weight.as_ref().map(|w| w.shape()), options.p)?;
    Err(LossError::runtime(
        "The function 'multi_margin_loss' is not differentiable with respect to argument \
         'weight'. This input cannot have requires_grad True.",
        "PyTorch computes no gradient for the class weights of multi_margin_loss; pass \
         weight.detach(), or differentiate with respect to the input only",
    ))
}

// ---------------------------------------------------------------------------------
// multilabel_margin_loss
// ---------------------------------------------------------------------------------

/// The validated plan, the input's and the target's rows.
struct MultilabelCall<'a, 't, F: Clone> {
    plan: MarginPlan,
    x: std::borrow::Cow<'a, [F]>,
    t: std::borrow::Cow<'t, [i64]>,
}

fn multilabel_prepare<'a, 't, F: Float>(
    input: &ArrayViewD<'a, F>,
    target: &ArrayViewD<'t, i64>,
) -> Result<MultilabelCall<'a, 't, F>, LossError> {
    let plan = multilabel_margin_plan(input.shape(), target.shape(), "Long")?;
    let x = row_major(input);
    let t = row_major(target);
    // libtorch checks the whole target's range, past any -1, and only when the input
    // is not empty.
    if !x.is_empty()
        && let Some(&bad) = t.iter().find(|&&v| v < -1 || v >= plan.dim as i64)
    {
        return Err(LossError::runtime(
            "argument #2 'target' is out of range",
            format!(
                "the target holds {bad}, which is neither a class in [0, {}) nor -1 \
                     (the end of a sample's class list); every entry is checked, also \
                     past the first -1",
                plan.dim
            ),
        ));
    }
    Ok(MultilabelCall { plan, x, t })
}

/// The classes a sample lists: its target row up to the first negative entry.
fn labels(t: &[i64]) -> impl Iterator<Item = usize> + '_ {
    t.iter().map_while(|&v| usize::try_from(v).ok())
}

/// Marks the listed classes of a sample in `mask` (a buffer reused across samples).
fn is_target<'m>(t: &[i64], dim: usize, mask: &'m mut Vec<bool>) -> &'m [bool] {
    mask.clear();
    mask.resize(dim, false);
    for j in labels(t) {
        mask[j] = true;
    }
    mask
}

/// One sample's sum, as libtorch's `multilabel_margin_loss_forward_inner_sum_cpu`: for
/// each listed class j in the target's order, the hinges `1 - x[j] + x[i]` (in `F`) of
/// the unlisted classes i, summed serially in `f64`.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn multilabel_row<F: Float>(row: &[F], t: &[i64], mask: &[bool]) -> f64 {
    let mut sum = 0.0f64;
    for j in labels(t) {
        let base = F::one() - row[j];
        for (&xd, &listed) in row.iter().zip(mask) {
            let z = base + xd;
            // Adding +0 for a listed class or an inactive hinge leaves the sum unchanged
            // (it is never -0) and keeps the loop free of branches.
            let keep = !listed && z > F::zero();
            sum += if keep { z.to_f64_exact() } else { 0.0 };
        }
    }
    sum
}

/// One sample's gradient row, as libtorch's backward kernel, before the multiplication
/// by `grad_output`: for each listed class j and each unlisted class i with an active
/// hinge, `-g` at j and `+g` at i, added serially in `F` in the kernel's order.
#[multiversion(targets("x86_64+avx2+avx+fma", "x86_64+avx", "aarch64+neon"))]
fn multilabel_grad_row<F: Float>(row: &[F], t: &[i64], mask: &[bool], g: F, go: F, out: &mut [F]) {
    for j in labels(t) {
        let base = F::one() - row[j];
        let mut active = 0usize;
        for ((o, &xd), &listed) in out.iter_mut().zip(row).zip(mask) {
            let z = base + xd;
            let keep = !listed && z > F::zero();
            *o += if keep { g } else { F::zero() };
            active += usize::from(keep);
        }
        // j is listed, so the loop above never wrote it: its subtractions come in the
        // same order as the kernel's.
        for _ in 0..active {
            out[j] -= g;
        }
    }
    for o in out.iter_mut() {
        *o = *o * go;
    }
}

/// The multi-label margin loss, as `torch.nn.functional.multilabel_margin_loss(input,
/// target, reduction=...)`: per sample, `sum over listed classes j, over unlisted
/// classes i, of max(0, 1 - (x[j] - x[i]))`, divided by the number of classes C.
///
/// `input` is `()`, `(C)` (one sample) or `(N, C)`, `N = 0` allowed. `target` has the
/// input's shape (`()` or `(1)` for a 0-D input) and holds `int64` class indices: a
/// sample's classes are its row's entries up to the first `-1` (the rest is ignored, but
/// must still be in `[-1, C)`). A class listed twice counts twice. The `none` output is
/// `(N)` for a 2-D input and `()` otherwise. A NaN hinge counts as inactive.
///
/// Bit-exact with libtorch on CPU: each sample's hinges are summed serially in `f64`
/// (libtorch's accumulation type), rounded to `F`, and the reduction adds the samples
/// serially in `f64`. PyTorch returns uninitialised memory for a reduced loss over an
/// empty batch; this returns 0 for `sum` and NaN for `mean`.
///
/// ```
/// use lossparity_losses::{multilabel_margin_loss, MultilabelMarginOptions};
/// use ndarray::array;
///
/// let x = array![[0.1f32, 0.2, 0.4, 0.8]];
/// let y = array![[3i64, 0, -1, 1]];
/// let loss = multilabel_margin_loss(x.view(), y.view(), &MultilabelMarginOptions::default())?;
/// // torch 2.13: F.multilabel_margin_loss(x, y) = 0.8500000238418579
/// assert_eq!(loss[[]], 0.8500000238418579);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multilabel_margin_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, i64, E>,
    options: &MultilabelMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let call = multilabel_prepare(&input, &target)?;
    let plan = &call.plan;
    let dim = plan.dim;
    let sums: Vec<F> = if call.x.is_empty() {
        Vec::new()
    } else {
        per_row(plan, |mask, t| {
            let (row, tr) = (
                &call.x[t * dim..(t + 1) * dim],
                &call.t[t * dim..(t + 1) * dim],
            );
            F::of_f64(multilabel_row(row, tr, is_target(tr, dim, mask)))
        })
    };
    let classes = F::of_f64(dim as f64);
    match options.reduction {
        Reduction::None => shaped(
            &plan.none_shape,
            sums.into_iter().map(|s| s / classes).collect(),
        ),
        Reduction::Sum => Ok(scalar(F::of_f64(serial_sum(sums.into_iter()) / dim as f64))),
        Reduction::Mean => {
            let sum = serial_sum(sums.into_iter()) / dim as f64;
            Ok(scalar(F::of_f64(sum / plan.nframe as f64)))
        }
    }
}

/// The gradient of `sum(multilabel_margin_loss(input, target) * grad_output)` with
/// respect to the input, as PyTorch's autograd gives it (libtorch's
/// `multilabel_margin_loss_backward`): each active hinge of listed class j against
/// unlisted class i adds `-g` at j and `+g` at i, with `g = 1 / (N * C)` for `mean` and
/// `1 / C` otherwise; everything times the sample's `grad_output`.
///
/// `grad_output` has the forward output's shape (`()` when reduced, and for a 0-D or
/// 1-D input); another shape is autograd's "Mismatch in shape" error. Bit-exact with
/// libtorch.
///
/// ```
/// use lossparity_losses::{multilabel_margin_loss_backward, MultilabelMarginOptions};
/// use ndarray::{arr0, array};
///
/// let x = array![0.1f64, 0.2, 0.4, 0.8];
/// let y = array![3i64, 0, -1, 1];
/// let g = multilabel_margin_loss_backward(arr0(1.0).view(), x.view(), y.view(),
///                                         &MultilabelMarginOptions::default())?;
/// // torch 2.13: [-0.5, 0.5, 0.5, -0.5]
/// assert_eq!(g.as_slice().unwrap(), &[-0.5, 0.5, 0.5, -0.5]);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn multilabel_margin_loss_backward<F: Float, G: Dimension, D: Dimension, E: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, i64, E>,
    options: &MultilabelMarginOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let call = multilabel_prepare(&input, &target)?;
    let plan = &call.plan;
    let go = grad_per_sample(&grad_output, plan, options.reduction)?;
    if call.x.is_empty() {
        return shaped(input.shape(), Vec::new());
    }
    let g = unit_grad::<F>(plan, options.reduction);
    let dim = plan.dim;
    let values = fill_rows(plan, |mask, t, out| {
        let (row, tr) = (
            &call.x[t * dim..(t + 1) * dim],
            &call.t[t * dim..(t + 1) * dim],
        );
        multilabel_grad_row(row, tr, is_target(tr, dim, mask), g, go[t], out);
    });
    shaped(input.shape(), values)
}
