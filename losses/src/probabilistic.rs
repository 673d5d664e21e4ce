//! `poisson_nll_loss` and `gaussian_nll_loss`: negative log-likelihoods of a target
//! under a Poisson distribution of rate `input` (or `exp(input)`), and under a normal
//! distribution of mean `input` and variance `var`.
//!
//! libtorch composes the Poisson loss from element-wise ops in C++, and PyTorch's
//! `functional.py` composes the Gaussian one in Python; autograd differentiates both
//! compositions. The functions here compute the same values in one pass, in the same
//! order of operations, and their gradients as autograd's chain of backwards forms
//! them (including its NaNs).

use std::borrow::Cow;

use ndarray::{ArrayD, ArrayView, ArrayViewD, Axis, Dimension, IxDyn};

use super::divergence::{
    Upstream, broadcast_operands, combine3, exp, ln, map_g1, map_g2, map_g3, map1, map2, map3,
    sum2, sum2_sized, sum3, upstream,
};
use super::elementwise::{expanded, sum_to, sum_to_wide, widened};
use super::error::{LossError, shape_str};
use super::float::Float;
use super::options::Reduction;

/// Options of [`poisson_nll_loss`] (and its backwards), as PyTorch's keyword arguments;
/// `Default` gives PyTorch's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoissonNllOptions {
    /// The input is the log of the rate (`true`, the default): the loss is
    /// `exp(input) - target * input`. Otherwise the input is the rate itself:
    /// `input - target * log(input + eps)`.
    pub log_input: bool,
    /// Adds Stirling's approximation of `log(target!)`,
    /// `target * log(target) - target + 0.5 * log(2 * pi * target)`, where
    /// `target > 1` (0 elsewhere). `false` by default.
    pub full: bool,
    /// Added to the rate inside the log when `log_input` is false; `1e-8` by default.
    /// Any value is accepted (PyTorch checks none).
    pub eps: f64,
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl Default for PoissonNllOptions {
    fn default() -> Self {
        PoissonNllOptions {
            log_input: true,
            full: false,
            eps: 1e-8,
            reduction: Reduction::Mean,
        }
    }
}

impl PoissonNllOptions {
    /// Whether the input is the log of the rate.
    pub fn log_input(mut self, log_input: bool) -> Self {
        self.log_input = log_input;
        self
    }

    /// Whether to add the Stirling term.
    pub fn full(mut self, full: bool) -> Self {
        self.full = full;
        self
    }

    /// The `eps` added to the rate inside the log (`log_input` false).
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

/// The Poisson negative log-likelihood, as `torch.nn.functional.poisson_nll_loss(input,
/// target, log_input=..., full=..., eps=..., reduction=...)`.
///
/// The element loss is libtorch's `exp(x) - t * x` (`log_input`, the default: `x` is a
/// log-rate) or `x - t * log(x + eps)` (`x` is the rate), plus with `full` the Stirling
/// term `(t * log(t) - t) + 0.5 * log(2 * pi * t)` where `t > 1` (0 where `t <= 1`; NaN
/// targets are kept, so they give NaN). Input and target broadcast against each other
/// (PyTorch's broadcasting, no warning); `none` returns the broadcast shape, `mean`
/// divides the sum by the element count (NaN when there are none). No value is checked:
/// a negative rate with `log_input` false gives NaN, a zero one `-inf * t`.
///
/// f32 or f64; element values follow libtorch's order of operations, with glibc's
/// `exp`/`log` where libtorch's vectorised kernels use SLEEF's (within one ulp of each
/// other), so results are within `assert_close`'s tolerance and usually bit-identical
/// element by element; sums are deterministic chunked sums.
///
/// ```
/// use lossparity_losses::{poisson_nll_loss, PoissonNllOptions};
/// use ndarray::array;
///
/// let log_rate = array![0.5f64, -1.0, 2.0];
/// let counts = array![1.0f64, 0.0, 4.0];
/// let loss = poisson_nll_loss(log_rate.view(), counts.view(), &PoissonNllOptions::default())?;
/// // torch 2.13: F.poisson_nll_loss(log_rate, counts) = 0.3018856036007403
/// assert!((loss.sum() - 0.3018856036007403).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn poisson_nll_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PoissonNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let shape = check_poisson(input.shape(), target.shape())?;
    let x = expanded(&input, &shape)?;
    let t = expanded(&target, &shape)?;
    let (x, t) = (&x[..], &t[..]);
    Ok(match options.reduction {
        Reduction::None => {
            let values = poisson_elements!(map2, F, x, t, options);
            ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(super::nll::internal)?
        }
        Reduction::Sum => ArrayD::from_elem(IxDyn(&[]), F::of_f64(poisson_sum(x, t, options))),
        Reduction::Mean => {
            let n = F::of_f64(x.len() as f64);
            ArrayD::from_elem(IxDyn(&[]), F::of_f64(poisson_sum(x, t, options)) / n)
        }
    })
}

/// Runs `$run(x, t, element loss)` in type `$f` with the element loss of `$options`: one closure
/// per case, so that no option is tested in the loop (and each is inlined into the
/// vectorised kernel).
macro_rules! poisson_elements {
    ($run:ident, $f:ty, $x:expr, $t:expr, $options:expr) => {{
        let options: &PoissonNllOptions = $options;
        let eps = <$f as Float>::of_f64(options.eps);
        let (two_pi, half) = (
            <$f as Float>::of_f64(2.0 * std::f64::consts::PI),
            <$f as Float>::of_f64(0.5),
        );
        match (options.log_input, options.full) {
            (true, false) => $run(
                $x,
                $t,
                #[inline(always)]
                |x: $f, t: $f| exp(x) - t * x,
            ),
            (false, false) => $run(
                $x,
                $t,
                #[inline(always)]
                |x: $f, t: $f| x - t * ln(x + eps),
            ),
            (true, true) => $run(
                $x,
                $t,
                #[inline(always)]
                |x: $f, t: $f| (exp(x) - t * x) + stirling(t, two_pi, half),
            ),
            (false, true) => $run(
                $x,
                $t,
                #[inline(always)]
                |x: $f, t: $f| (x - t * ln(x + eps)) + stirling(t, two_pi, half),
            ),
        }
    }};
}
use poisson_elements;

/// The sum of the element losses, in f64 (rounded by the caller). Float32 element
/// losses are each within an ulp or so, which moves the sum by up to about
/// `2^-23 * sum |loss|`: nothing when the terms do not cancel, but past float32's
/// tolerance (`1.3e-6 * |sum|`) when they cancel, e.g. `exp(x) - t * x` with a large
/// count `t` next to small losses of the other sign. Where the terms' sizes exceed 8
/// times the sum, the element losses are formed again in f64 from the exactly
/// widened values, so that the sum is the exact one rounded once.
fn poisson_sum<F: Float>(x: &[F], t: &[F], options: &PoissonNllOptions) -> f64 {
    let (sum, size) = poisson_elements!(sum2_sized, F, x, t, options);
    // A NaN sum is final (the f64 losses give a NaN too).
    if std::mem::size_of::<F>() == 4 && size > 8.0 * sum.abs() {
        let wide = |v: &[F]| v.iter().map(|v| v.to_f64_exact()).collect::<Vec<f64>>();
        let (x, t) = (wide(x), wide(t));
        return poisson_elements!(sum2_sized, f64, &x[..], &t[..], options).0;
    }
    sum
}

/// The gradient of `sum(poisson_nll_loss(input, target) * grad_output)` with respect to
/// the input, as PyTorch's autograd gives it: `-g * t + g * exp(x)` (`log_input`) or
/// `g + (-g * t) / (x + eps)`, where `g` is `grad_output` (`none`) or its value divided
/// by the element count (`mean`); summed back to the input's shape where it was
/// broadcast. `grad_output` has the forward output's shape, else autograd's error.
///
/// ```
/// use lossparity_losses::{poisson_nll_loss_backward, PoissonNllOptions};
/// use lossparity_losses::Reduction;
/// use ndarray::{arr0, array};
///
/// let log_rate = array![0.5f64, -1.0, 2.0];
/// let counts = array![1.0f64, 0.0, 4.0];
/// let options = PoissonNllOptions::default().reduction(Reduction::Sum);
/// let grad = poisson_nll_loss_backward(arr0(1.0).view(), log_rate.view(), counts.view(), &options)?;
/// // torch 2.13: exp(log_rate) - counts
/// assert_eq!(grad, array![0.5f64.exp() - 1.0, (-1.0f64).exp(), 2.0f64.exp() - 4.0].into_dyn());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn poisson_nll_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PoissonNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let shape = check_poisson(input.shape(), target.shape())?;
    let up = poisson_upstream(&grad_output, &shape, options.reduction)?;
    let x = expanded(&input, &shape)?;
    let t = expanded(&target, &shape)?;
    let eps = F::of_f64(options.eps);
    let own = input.shape();
    if own == shape.as_slice() {
        let dx = if options.log_input {
            // `exp(x) - t * x`: the product's branch (`-g * t`) reaches the input first,
            // then the exponential's (`g * exp(x)`).
            map_g2(
                &up,
                &x,
                &t,
                #[inline(always)]
                |g, x, t| (-g) * t + g * exp(x),
            )
        } else {
            // `x - t * log(x + eps)`: `g` directly, then `(-g * t) / (x + eps)`.
            map_g2(
                &up,
                &x,
                &t,
                #[inline(always)]
                |g, x, t| g + ((-g) * t) / (x + eps),
            )
        };
        return ArrayD::from_shape_vec(IxDyn(&shape), dx).map_err(super::nll::internal);
    }
    // A broadcast input: each branch is summed over the broadcast dimensions before
    // the terms that use the input's own values.
    // The terms are formed in f64 (exactly, for `-g * t` of float32 values): they
    // cancel over the batch, and float32 terms would each carry an error of their size.
    let n = x.len();
    let wide_up = Upstream::Each(Cow::Owned(widened(&up.full(n))));
    let through_mul = sum_to_wide(
        map_g1(
            &wide_up,
            &widened(&t),
            #[inline(always)]
            |g, t| (-g) * t,
        ),
        &shape,
        own,
    )?;
    let g_own = sum_to(up.full(n).into_owned(), &shape, own)?;
    let x_own = expanded(&input, own)?;
    let dx: Vec<F> = if options.log_input {
        combine3(
            &through_mul,
            &g_own,
            &x_own,
            #[inline(always)]
            |m, g, x| m + g * exp(x),
        )?
    } else {
        combine3(
            &through_mul,
            &g_own,
            &x_own,
            #[inline(always)]
            |m, g, x| g + m / (x + eps),
        )?
    };
    ArrayD::from_shape_vec(IxDyn(own), dx).map_err(super::nll::internal)
}

/// The gradient of `sum(poisson_nll_loss(input, target) * grad_output)` with respect to
/// the target, as PyTorch's autograd gives it (the target is differentiable): `-g * x`
/// (`log_input`) or `-g * log(x + eps)`, `g` as in [`poisson_nll_loss_backward`].
///
/// With `full`, autograd adds the Stirling term's branches: where `t > 1`,
/// `-g + g * log(t) + (g * t) / t + ((g * 0.5) / (2 pi t)) * 2 pi`; where `t <= 1` the
/// same with `g = 0`, which is 0 for `0 < t <= 1` but NaN for `t <= 0` (`0 * log(0)`,
/// `0 / 0`): with `full`, a zero count has a NaN target gradient, as in PyTorch.
///
/// ```
/// use lossparity_losses::{poisson_nll_loss_target_backward, PoissonNllOptions};
/// use ndarray::{arr0, array};
///
/// let log_rate = array![0.5f64, -1.0, 2.0];
/// let counts = array![1.0f64, 0.0, 4.0];
/// let options = PoissonNllOptions::default().full(true);
/// let grad = poisson_nll_loss_target_backward(arr0(1.0).view(), log_rate.view(), counts.view(),
///                                             &options)?;
/// // torch 2.13: [-0.16666666666666666, nan, -0.1629018796267031]
/// assert_eq!(grad[0], -0.5 / 3.0);
/// assert!(grad[1].is_nan());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn poisson_nll_loss_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    options: &PoissonNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let shape = check_poisson(input.shape(), target.shape())?;
    let up = poisson_upstream(&grad_output, &shape, options.reduction)?;
    let x = expanded(&input, &shape)?;
    let eps = F::of_f64(options.eps);
    let (two_pi, half) = (F::of_f64(2.0 * std::f64::consts::PI), F::of_f64(0.5));
    let own = target.shape();
    if own == shape.as_slice() {
        let t = expanded(&target, &shape)?;
        let dt = match (options.log_input, options.full) {
            (true, false) => map_g1(
                &up,
                &x,
                #[inline(always)]
                |g, x| (-g) * x,
            ),
            (false, false) => map_g1(
                &up,
                &x,
                #[inline(always)]
                |g, x| (-g) * ln(x + eps),
            ),
            (true, true) => map_g2(
                &up,
                &x,
                &t,
                #[inline(always)]
                |g, x, t| stirling_grad(g, t, two_pi, half) + (-g) * x,
            ),
            (false, true) => map_g2(
                &up,
                &x,
                &t,
                #[inline(always)]
                |g, x, t| stirling_grad(g, t, two_pi, half) + (-g) * ln(x + eps),
            ),
        };
        return ArrayD::from_shape_vec(IxDyn(&shape), dt).map_err(super::nll::internal);
    }
    // The terms in f64, as the input's (`-g * x` cancels over the batch); `x + eps` is
    // still rounded to `F` first, as libtorch forms it.
    let wide_up = Upstream::Each(Cow::Owned(widened(&up.full(x.len()))));
    let through_main = if options.log_input {
        map_g1(
            &wide_up,
            &widened(&x),
            #[inline(always)]
            |g, x| (-g) * x,
        )
    } else {
        let shifted: Vec<f64> = x.iter().map(|&x| (x + eps).to_f64_exact()).collect();
        map_g1(
            &wide_up,
            &shifted,
            #[inline(always)]
            |g, x| (-g) * ln(x),
        )
    };
    let through_main: ArrayD<F> = sum_to_wide(through_main, &shape, own)?;
    if !options.full {
        return Ok(through_main);
    }
    let g_own = sum_to(up.full(x.len()).into_owned(), &shape, own)?;
    let t_own = expanded(&target, own)?;
    let dt: Vec<F> = combine3(
        &through_main,
        &g_own,
        &t_own,
        #[inline(always)]
        |m, g, t| stirling_grad(g, t, two_pi, half) + m,
    )?;
    ArrayD::from_shape_vec(IxDyn(own), dt).map_err(super::nll::internal)
}

/// `poisson_nll_loss`'s checks before any value is read: the broadcast shape of
/// `target * input` (libtorch's operand order), or its error.
pub(crate) fn check_poisson(input: &[usize], target: &[usize]) -> Result<Vec<usize>, LossError> {
    broadcast_operands(target, input, || {
        format!(
            "the target {} and the input {} cannot broadcast (aligned from the last \
             dimension, sizes must be equal or 1; libtorch names the target tensor a): give \
             the target (the observed counts) the input's shape",
            shape_str(target),
            shape_str(input)
        )
    })
}

fn poisson_upstream<'a, F: Float>(
    grad_output: &'a ArrayViewD<'_, F>,
    shape: &[usize],
    reduction: Reduction,
) -> Result<Upstream<'a, F>, LossError> {
    let n: usize = shape.iter().product();
    let divisor = (reduction == Reduction::Mean).then(|| F::of_f64(n as f64));
    upstream(grad_output, reduction == Reduction::None, shape, divisor)
}

/// libtorch's Stirling term, `masked_fill`ed to 0 where `t <= 1` (computed everywhere
/// and selected, so that the loop stays branch-free and vectorises).
#[inline(always)]
fn stirling<F: Float>(t: F, two_pi: F, half: F) -> F {
    let term = (t * ln(t) - t) + half * ln(two_pi * t);
    if t <= F::one() { F::zero() } else { term }
}

/// The Stirling term's contributions to the target's gradient, in the order autograd
/// accumulates them. GCC evaluates libtorch's `a + b` and `a * b` right operand first,
/// so the nodes were recorded as `2 pi t`, its log, `0.5 *`, `log(t)`, `t * log(t)`,
/// `- t`, and autograd (latest first) accumulates `-g`, the product's `g * log(t)`, its
/// log's `(g * t) / t`, then `((g * 0.5) / (2 pi t)) * 2 pi`. `masked_fill`'s backward
/// zeroes `g` where `t <= 1`, and the branches still run there: `0 * log(t)` and
/// `0 / 0` make `t <= 0` NaN.
#[inline(always)]
fn stirling_grad<F: Float>(g: F, t: F, two_pi: F, half: F) -> F {
    let g = if t <= F::one() { F::zero() } else { g };
    let through_log2pi = ((g * half) / (two_pi * t)) * two_pi;
    (((-g) + g * ln(t)) + (g * t) / t) + through_log2pi
}

// ----------------------------------------------------------------------------------
// gaussian_nll_loss

/// The variance argument of [`gaussian_nll_loss`]: a tensor, or a Python float.
#[derive(Debug, Clone)]
pub enum Variance<'a, F> {
    /// One variance per element (the input's shape), one per row (the input's shape
    /// without its last dimension, or with it as 1), or the input's shape with exactly
    /// one other dimension of size 1. Differentiable.
    Tensor(ArrayViewD<'a, F>),
    /// A Python float: the same variance for every element, rounded to the input's
    /// type (PyTorch multiplies it by `ones_like(input)`). Not differentiable. (A Python
    /// int is not accepted by PyTorch: `torch.any()` raises a TypeError on it.)
    Scalar(f64),
}

impl<'a, F> Variance<'a, F> {
    /// A variance tensor of any dimensionality.
    pub fn tensor<D: Dimension>(view: ArrayView<'a, F, D>) -> Self {
        Variance::Tensor(view.into_dyn())
    }
}

/// Options of [`gaussian_nll_loss`] (and its backwards), as PyTorch's keyword
/// arguments; `Default` gives PyTorch's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianNllOptions {
    /// Adds the constant `0.5 * log(2 * pi)` to each element loss; `false` by default.
    pub full: bool,
    /// The variance is clamped to at least `eps` (`1e-6` by default) for the loss, and
    /// its gradient is taken at the clamped value: PyTorch clamps a clone of `var`
    /// under `no_grad`, so the clamp is invisible to autograd. A NaN `eps` makes
    /// everything NaN.
    pub eps: f64,
    /// How the element losses are combined; `mean` by default.
    pub reduction: Reduction,
}

impl Default for GaussianNllOptions {
    fn default() -> Self {
        GaussianNllOptions {
            full: false,
            eps: 1e-6,
            reduction: Reduction::Mean,
        }
    }
}

impl GaussianNllOptions {
    /// Whether to add the constant term.
    pub fn full(mut self, full: bool) -> Self {
        self.full = full;
        self
    }

    /// The variance's lower clamp.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// The reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

/// The Gaussian negative log-likelihood, as `torch.nn.functional.gaussian_nll_loss(
/// input, target, var, full=..., eps=..., reduction=...)`.
///
/// The element loss is `0.5 * (log(v) + (x - t)^2 / v)` (plus `0.5 * log(2 pi)` with
/// `full`), `v = max(var, eps)`. `var` is a tensor of the input's shape
/// (heteroscedastic), of the input's shape without its last dimension (it is then
/// unsqueezed), or of the input's number of dimensions with the sizes differing where
/// they do summing to 1 (in practice one dimension of size 1); or a float. Input and
/// target broadcast against each other (no check, no warning), then against the
/// variance; `none` returns that broadcast shape, `mean` divides the sum by its
/// element count (NaN when there are none).
///
/// Errors, in PyTorch's order (its Python checks come first): a negative variance
/// (`ValueError: var has negative entry/entries`, before any shape check; NaN is not
/// negative), a variance of another shape (`ValueError: var is of incorrect size`),
/// then the broadcasting of `input - target` and of `(input - target)^2 / var`
/// (`RuntimeError`). A standard deviation given as `var` cannot be detected.
///
/// f32 or f64; element values follow the Python composition's order of operations,
/// with glibc's `log` where libtorch's vectorised kernel uses SLEEF's, so within
/// `assert_close`'s tolerance and usually bit-identical; sums are deterministic
/// chunked sums.
///
/// ```
/// use lossparity_losses::{gaussian_nll_loss, GaussianNllOptions, Variance};
/// use ndarray::array;
///
/// let mean = array![[0.5f64, 1.0], [2.0, 0.0]];
/// let sample = array![[0.0f64, 1.5], [0.0, 1e-3]];
/// let var = array![0.25f64, 4.0]; // one variance per row
/// let loss = gaussian_nll_loss(mean.view(), sample.view(), Variance::tensor(var.view()),
///                              &GaussianNllOptions::default())?;
/// // torch 2.13: F.gaussian_nll_loss(mean, sample, var) = 0.37500003125000003
/// assert!((loss.sum() - 0.37500003125000003).abs() < 1e-15);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn gaussian_nll_loss<F: Float, D: Dimension, E: Dimension>(
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    var: Variance<'_, F>,
    options: &GaussianNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let g = GaussianInputs::new(&input, &target, &var, options)?;
    let (x, t) = (&g.x[..], &g.t[..]);
    let (half, c) = (
        F::of_f64(0.5),
        F::of_f64(0.5 * (2.0 * std::f64::consts::PI).ln()),
    );
    let (full, eps) = (options.full, g.eps);
    // One closure per case, so that no option is tested in the loop.
    macro_rules! with_loss {
        ($two:ident, $three:ident) => {
            match (&g.v, full) {
                // One variance for all: its log once.
                (VarValues::Same(v), false) => {
                    let (v, log_v) = (*v, ln(*v));
                    $two(
                        x,
                        t,
                        #[inline(always)]
                        move |x: F, t: F| gaussian_element(log_v, v, x - t, half),
                    )
                }
                (VarValues::Same(v), true) => {
                    let (v, log_v) = (*v, ln(*v));
                    $two(
                        x,
                        t,
                        #[inline(always)]
                        move |x: F, t: F| gaussian_element(log_v, v, x - t, half) + c,
                    )
                }
                // The variance's own values: its log per element.
                (VarValues::Own(v), false) => $three(
                    x,
                    t,
                    v,
                    #[inline(always)]
                    move |x: F, t: F, v: F| {
                        let v = clamp_var(v, eps);
                        gaussian_element(ln(v), v, x - t, half)
                    },
                ),
                (VarValues::Own(v), true) => $three(
                    x,
                    t,
                    v,
                    #[inline(always)]
                    move |x: F, t: F, v: F| {
                        let v = clamp_var(v, eps);
                        gaussian_element(ln(v), v, x - t, half) + c
                    },
                ),
            }
        };
    }
    Ok(match options.reduction {
        Reduction::None => {
            let values = with_loss!(map2, map3);
            ArrayD::from_shape_vec(IxDyn(&g.shape), values).map_err(super::nll::internal)?
        }
        Reduction::Sum => ArrayD::from_elem(IxDyn(&[]), with_loss!(sum2, sum3)),
        Reduction::Mean => {
            let n = F::of_f64(x.len() as f64);
            ArrayD::from_elem(IxDyn(&[]), with_loss!(sum2, sum3) / n)
        }
    })
}

/// The gradient of `sum(gaussian_nll_loss(input, target, var) * grad_output)` with
/// respect to the input, as PyTorch's autograd gives it: `((g * 0.5) / v) * (2 (x - t))`,
/// where `v` is the clamped variance and `g` is `grad_output` (`none`) or its value
/// divided by the element count (`mean`); summed back to the input's shape where it was
/// broadcast. `grad_output` has the forward output's shape, else autograd's error.
///
/// ```
/// use lossparity_losses::{gaussian_nll_loss_backward, GaussianNllOptions, Reduction, Variance};
/// use ndarray::{arr0, array};
///
/// let mean = array![0.5f64, 1.0];
/// let sample = array![0.0f64, 1.5];
/// let options = GaussianNllOptions::default().reduction(Reduction::Sum);
/// let grad = gaussian_nll_loss_backward(arr0(1.0).view(), mean.view(), sample.view(),
///                                       Variance::Scalar(0.25), &options)?;
/// // torch 2.13: (x - t) / var = [2.0, -2.0]
/// assert_eq!(grad, array![2.0, -2.0].into_dyn());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn gaussian_nll_loss_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    var: Variance<'_, F>,
    options: &GaussianNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let grad = gaussian_difference_grad(grad_output.into_dyn(), &input, &target, &var, options)?;
    sum_to(grad.values, &grad.shape, input.shape())
}

/// The gradient with respect to the target: the input's, negated (autograd's `sub`
/// backward), summed back to the target's shape where it was broadcast.
///
/// ```
/// use lossparity_losses::{gaussian_nll_loss_target_backward, GaussianNllOptions, Reduction, Variance};
/// use ndarray::{arr0, array};
///
/// let mean = array![0.5f64, 1.0];
/// let sample = array![0.0f64, 1.5];
/// let options = GaussianNllOptions::default().reduction(Reduction::Sum);
/// let grad = gaussian_nll_loss_target_backward(arr0(1.0).view(), mean.view(), sample.view(),
///                                              Variance::Scalar(0.25), &options)?;
/// assert_eq!(grad, array![-2.0, 2.0].into_dyn());
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn gaussian_nll_loss_target_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    var: Variance<'_, F>,
    options: &GaussianNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (input, target) = (input.into_dyn(), target.into_dyn());
    let grad = gaussian_difference_grad(grad_output.into_dyn(), &input, &target, &var, options)?;
    let negated = map1(
        &grad.values,
        #[inline(always)]
        |v| -v,
    );
    sum_to(negated, &grad.shape, target.shape())
}

/// The gradient with respect to a variance tensor, as PyTorch's autograd gives it:
/// `(-(g * 0.5)) * (((x - t)^2 / v) / v) + (g * 0.5) / v` at the clamped `v` (the clamp
/// passes the gradient through unchanged, even below `eps`), summed back to the
/// variance's own shape (a homoscedastic variance sums its row).
///
/// A float variance has no gradient: PyTorch's `autograd.grad` refuses it with
/// `RuntimeError: all inputs have to be Tensors or GradientEdges, but got float`, and
/// so does this function.
///
/// ```
/// use lossparity_losses::{gaussian_nll_loss_var_backward, GaussianNllOptions, Variance};
/// use ndarray::{arr0, array};
///
/// let mean = array![0.5f64, 1.0];
/// let sample = array![0.0f64, 1.5];
/// let var = array![1e-8f64, 4.0];
/// let grad = gaussian_nll_loss_var_backward(arr0(1.0).view(), mean.view(), sample.view(),
///                                           Variance::tensor(var.view()),
///                                           &GaussianNllOptions::default())?;
/// // torch 2.13: the first variance is clamped to 1e-6 and differentiated there
/// assert_eq!(grad[0], -62499750000.0);
/// # Ok::<(), lossparity_losses::LossError>(())
/// ```
pub fn gaussian_nll_loss_var_backward<F: Float, D: Dimension, E: Dimension, G: Dimension>(
    grad_output: ArrayView<'_, F, G>,
    input: ArrayView<'_, F, D>,
    target: ArrayView<'_, F, E>,
    var: Variance<'_, F>,
    options: &GaussianNllOptions,
) -> Result<ArrayD<F>, LossError> {
    let (grad_output, input, target) =
        (grad_output.into_dyn(), input.into_dyn(), target.into_dyn());
    let g = GaussianInputs::new(&input, &target, &var, options)?;
    let up = gaussian_upstream(&grad_output, &g.shape, options.reduction)?;
    let Variance::Tensor(var_view) = &var else {
        return Err(LossError::runtime(
            "all inputs have to be Tensors or GradientEdges, but got float",
            "a float var is a Python number, not a tensor: it has no gradient; pass var as \
             a tensor (Variance::Tensor) to differentiate it",
        ));
    };
    let half = F::of_f64(0.5);
    let (x, t) = (&g.x[..], &g.t[..]);
    let VarValues::Own(v_full) = &g.v else {
        return Err(super::nll::internal("a variance tensor without its values"));
    };
    let grad = if g.var_shape == g.shape {
        // One pass: the division's branch, then the log's.
        map_g3(
            &up,
            x,
            t,
            v_full,
            #[inline(always)]
            |g0, x, t, v| {
                let v = g.clamp(v);
                let g1 = g0 * half;
                let d = x - t;
                (-g1) * (((d * d) / v) / v) + g1 / v
            },
        )
    } else {
        // A broadcast variance: each branch is summed over the broadcast dimensions,
        // then the log's branch divided by the variance's own (clamped) values.
        let through_div = map_g3(
            &up,
            x,
            t,
            v_full,
            #[inline(always)]
            |g0, x, t, v| {
                let v = g.clamp(v);
                let d = x - t;
                (-(g0 * half)) * (((d * d) / v) / v)
            },
        );
        let through_div = sum_to(through_div, &g.shape, &g.var_shape)?;
        let g_half = map_g1(
            &up,
            x,
            #[inline(always)]
            |g0, _| g0 * half,
        );
        let g_own = sum_to(g_half, &g.shape, &g.var_shape)?;
        let v_own = expanded(var_view, var_view.shape())?;
        combine3(
            &through_div,
            &g_own,
            &v_own,
            #[inline(always)]
            |dv, g1, v| dv + g1 / g.clamp(v),
        )?
    };
    ArrayD::from_shape_vec(IxDyn(var_view.shape()), grad).map_err(super::nll::internal)
}

/// The Python composition's element loss, `0.5 * (log(v) + d**2 / v)` (`full` then
/// adds `0.5 * log(2 pi)`, rounded to `F`).
#[inline(always)]
fn gaussian_element<F: Float>(log_v: F, v: F, d: F, half: F) -> F {
    half * (log_v + (d * d) / v)
}

/// The gradient flowing into `input - target` (of their broadcast shape).
struct DifferenceGrad<F> {
    values: Vec<F>,
    shape: Vec<usize>,
}

/// `((g * 0.5) / v) * (2 d)` over the loss's broadcast shape, summed back to the shape
/// of `input - target` (where the variance broadcast the loss further, which only an
/// empty variance can).
fn gaussian_difference_grad<F: Float>(
    grad_output: ArrayViewD<'_, F>,
    input: &ArrayViewD<'_, F>,
    target: &ArrayViewD<'_, F>,
    var: &Variance<'_, F>,
    options: &GaussianNllOptions,
) -> Result<DifferenceGrad<F>, LossError> {
    let g = GaussianInputs::new(input, target, var, options)?;
    let up = gaussian_upstream(&grad_output, &g.shape, options.reduction)?;
    let (half, two) = (F::of_f64(0.5), F::of_f64(2.0));
    let (x, t) = (&g.x[..], &g.t[..]);
    let values = match &g.v {
        VarValues::Same(v) => {
            let v = *v;
            map_g2(
                &up,
                x,
                t,
                #[inline(always)]
                move |g0, x, t| ((g0 * half) / v) * (two * (x - t)),
            )
        }
        VarValues::Own(v) => map_g3(
            &up,
            x,
            t,
            v,
            #[inline(always)]
            |g0, x, t, v| ((g0 * half) / g.clamp(v)) * (two * (x - t)),
        ),
    };
    // Only an empty variance broadcasts the loss beyond `input - target`.
    let values = if g.shape == g.diff_shape {
        values
    } else {
        sum_to(values, &g.shape, &g.diff_shape)?
            .iter()
            .copied()
            .collect()
    };
    Ok(DifferenceGrad {
        values,
        shape: g.diff_shape,
    })
}

fn gaussian_upstream<'a, F: Float>(
    grad_output: &'a ArrayViewD<'_, F>,
    shape: &[usize],
    reduction: Reduction,
) -> Result<Upstream<'a, F>, LossError> {
    let n: usize = shape.iter().product();
    let divisor = (reduction == Reduction::Mean).then(|| F::of_f64(n as f64));
    upstream(grad_output, reduction == Reduction::None, shape, divisor)
}

/// The variance's values over the loss's broadcast shape.
enum VarValues<'a, F: Clone> {
    /// A float variance, rounded to `F` and clamped.
    Same(F),
    /// The tensor's values, broadcast, not yet clamped.
    Own(Cow<'a, [F]>),
}

/// The shapes PyTorch's checks give a Gaussian NLL call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GaussianShapes {
    /// The variance's shape after PyTorch's unsqueeze (the input's for a float).
    pub(crate) var: Vec<usize>,
    /// The broadcast shape of `input - target`.
    pub(crate) diff: Vec<usize>,
    /// The loss's shape: `input - target` broadcast against the variance.
    pub(crate) loss: Vec<usize>,
}

/// The Gaussian NLL's checks, in PyTorch's order: the variance's sign (`var_negative`:
/// whether a float variance, or any entry of a variance tensor, is below 0), the
/// variance's shape (`None` for a float, which takes the input's), then the
/// broadcasting of `input - target` and of `(input - target)^2 / var`.
pub(crate) fn check_gaussian(
    input: &[usize],
    target: &[usize],
    var: Option<&[usize]>,
    var_negative: bool,
) -> Result<GaussianShapes, LossError> {
    if var_negative {
        return Err(LossError::value(
            "var has negative entry/entries",
            "a variance is never negative: pass sigma^2 (e.g. the softplus or the exp of a \
             network output), not a signed value or a log-variance",
        ));
    }
    let var_shape = match var {
        None => input.to_vec(),
        Some(v) if v == input => v.to_vec(),
        Some(v) => {
            let short = !input.is_empty() && &input[..input.len() - 1] == v;
            if short {
                // One dimension short: a variance per row, unsqueezed.
                let mut s = v.to_vec();
                s.push(1);
                s
            } else if v.len() == input.len()
                && input
                    .iter()
                    .zip(v)
                    .filter(|(a, b)| a != b)
                    .map(|(_, &b)| b)
                    .sum::<usize>()
                    == 1
            {
                v.to_vec()
            } else {
                return Err(LossError::value(
                    "var is of incorrect size",
                    format!(
                        "var {} must have the input's shape {}, the input's shape without its \
                         last dimension (one variance per row), or the input's shape with one \
                         dimension of size 1; a 0-D var only goes with a 1-D input, otherwise \
                         pass a float",
                        shape_str(v),
                        shape_str(input)
                    ),
                ));
            }
        }
    };
    let diff = broadcast_operands(input, target, || {
        format!(
            "the input {} and the target {} cannot broadcast (aligned from the last \
             dimension, sizes must be equal or 1): give the target the input's shape",
            shape_str(input),
            shape_str(target)
        )
    })?;
    let loss = broadcast_operands(&diff, &var_shape, || {
        format!(
            "(input - target)^2, of shape {}, cannot be divided by var {}: var passed \
             PyTorch's size check but is empty where the input is not",
            shape_str(&diff),
            shape_str(&var_shape)
        )
    })?;
    Ok(GaussianShapes {
        var: var_shape,
        diff,
        loss,
    })
}

/// A Gaussian NLL call's checked shapes and broadcast values.
struct GaussianInputs<'a, F: Clone> {
    shape: Vec<usize>,
    diff_shape: Vec<usize>,
    var_shape: Vec<usize>,
    x: Cow<'a, [F]>,
    t: Cow<'a, [F]>,
    v: VarValues<'a, F>,
    eps: F,
}

impl<'a, F: Float> GaussianInputs<'a, F> {
    fn new(
        input: &'a ArrayViewD<'_, F>,
        target: &'a ArrayViewD<'_, F>,
        var: &'a Variance<'_, F>,
        options: &GaussianNllOptions,
    ) -> Result<Self, LossError> {
        let negative = match var {
            Variance::Scalar(v) => *v < 0.0,
            Variance::Tensor(v) => any_negative(v),
        };
        let var_dims = match var {
            Variance::Scalar(_) => None,
            Variance::Tensor(v) => Some(v.shape()),
        };
        let shapes = check_gaussian(input.shape(), target.shape(), var_dims, negative)?;
        let eps = F::of_f64(options.eps);
        let mut inputs = GaussianInputs {
            x: expanded(input, &shapes.loss)?,
            t: expanded(target, &shapes.loss)?,
            v: VarValues::Same(F::zero()),
            shape: shapes.loss,
            diff_shape: shapes.diff,
            var_shape: shapes.var,
            eps,
        };
        inputs.v = match var {
            Variance::Scalar(v) => VarValues::Same(inputs.clamp(F::of_f64(*v))),
            Variance::Tensor(v) if v.ndim() == inputs.var_shape.len() => {
                VarValues::Own(expanded(v, &inputs.shape)?)
            }
            Variance::Tensor(v) => {
                // One dimension short: PyTorch's `unsqueeze(var, -1)`.
                let view = v.view().insert_axis(Axis(v.ndim()));
                VarValues::Own(Cow::Owned(expanded(&view, &inputs.shape)?.into_owned()))
            }
        };
        Ok(inputs)
    }

    /// The variance clamped to `eps`.
    #[inline(always)]
    fn clamp(&self, v: F) -> F {
        clamp_var(v, self.eps)
    }
}

/// PyTorch's `torch.any(var < 0)`: over the memory in blocks (which vectorise) when
/// the view is contiguous in some order.
fn any_negative<F: Float>(v: &ArrayViewD<'_, F>) -> bool {
    match v.as_slice_memory_order() {
        Some(s) => s
            .chunks(1024)
            .any(|c| c.iter().map(|&e| u32::from(e < F::zero())).sum::<u32>() > 0),
        None => v.iter().any(|&e| e < F::zero()),
    }
}

/// PyTorch's `var.clamp_(min=eps)`: `eps` where `v < eps`, NaN where `v` or `eps` is
/// NaN, `v` elsewhere (`-0.0` stays `-0.0` when `eps` is 0).
#[inline(always)]
fn clamp_var<F: Float>(v: F, eps: F) -> F {
    if eps.is_nan() || v < eps { eps } else { v }
}
