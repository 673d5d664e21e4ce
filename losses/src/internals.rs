//! What the `lossparity` harness needs beyond the losses, behind the feature
//! `unstable-public-internals`: the checks a loss makes before it reads a value, so
//! the harness can give libtorch's error for calls the typed API cannot express (an
//! integer input, a weight of another float type). Not a stable API.

use crate::error::{wrap_dim, LossError};
use crate::{cross_entropy, nll, pointwise};

/// Runs every check `nll_loss` makes before reading a value (shapes, the target's
/// dtype by PyTorch name: `Long`, `Byte`, `Float`, ...), in PyTorch's order.
///
/// ```
/// use lossparity_losses::internals::check_nll_loss_shapes;
///
/// assert!(check_nll_loss_shapes(&[3, 5], &[3], "Long", None).is_ok());
/// let err = check_nll_loss_shapes(&[5], &[3], "Long", None).unwrap_err();
/// assert_eq!(err.message(), "For 1D input, 1D target must have size 1, but got target size: 3");
/// ```
pub fn check_nll_loss_shapes(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    weight: Option<&[usize]>,
) -> Result<(), LossError> {
    nll::nll_plan(input, target, target_dtype, weight).map(|_| ())
}

/// PyTorch's refusal of a class weight that requires grad, for `nll_loss` and for
/// `cross_entropy` with class indices: the error of `nll_loss_nd`'s checks if one
/// fails, else autograd's.
///
/// ```
/// use lossparity_losses::internals::weight_grad_refusal;
///
/// let err = weight_grad_refusal(&[2, 3, 4], &[2, 4]);
/// assert!(err.message().starts_with("The function 'nll_loss2d_forward' is not differentiable"));
/// ```
pub fn weight_grad_refusal(input: &[usize], target: &[usize]) -> LossError {
    nll::weight_grad_refusal(input, target)
}

/// The checks `cross_entropy` with class indices makes before its `log_softmax`: the
/// label smoothing's range, then the class dimension of a 0-D input.
pub fn check_cross_entropy_before_log_softmax(
    input: &[usize],
    label_smoothing: f64,
) -> Result<(), LossError> {
    cross_entropy::index_checks_before_log_softmax(input, label_smoothing)
}

/// The checks of `mse_loss` and `l1_loss` before any value is read, in PyTorch's order
/// (broadcasting, then the weight's shape): the broadcast shape, or the error.
///
/// ```
/// use lossparity_losses::internals::check_pointwise_shapes;
///
/// assert_eq!(check_pointwise_shapes(&[3, 1], &[3], None).unwrap(), vec![3, 3]);
/// let err = check_pointwise_shapes(&[2], &[2], Some(&[3])).unwrap_err();
/// assert_eq!(err.message(), "Weights and input must have the same size.");
/// ```
pub fn check_pointwise_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    pointwise::check(input, target, weight)
}

/// Runs every check `cross_entropy` makes before reading a value, in PyTorch's order.
/// `target_is_float` says whether the target holds floating-point values.
pub fn check_cross_entropy_shapes(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    target_is_float: bool,
    weight: Option<&[usize]>,
    ignore_index: i64,
    label_smoothing: f64,
) -> Result<(), LossError> {
    cross_entropy::ce_plan(
        input,
        target,
        target_dtype,
        target_is_float,
        weight,
        ignore_index,
        label_smoothing,
    )
    .map(|_| ())
}

/// Maps a possibly negative `dim` to an axis of a tensor with `ndim` dimensions, or
/// PyTorch's "Dimension out of range" error. A 0-D tensor takes `dim` in `[-1, 0]`.
pub fn wrap_dim_checked(dim: i64, ndim: usize) -> Result<usize, LossError> {
    wrap_dim(dim, ndim)
}

/// The checks of `smooth_l1_loss` before any value is read, in PyTorch's order
/// (broadcasting, then `beta >= 0`): the broadcast shape, or the error.
///
/// ```
/// use lossparity_losses::internals::check_smooth_l1_loss_shapes;
///
/// assert_eq!(check_smooth_l1_loss_shapes(&[3, 1], &[3], 1.0).unwrap(), vec![3, 3]);
/// let err = check_smooth_l1_loss_shapes(&[2], &[2], -1.0).unwrap_err();
/// assert_eq!(err.message(), "smooth_l1_loss does not support negative values for beta.");
/// ```
pub fn check_smooth_l1_loss_shapes(
    input: &[usize],
    target: &[usize],
    beta: f64,
) -> Result<Vec<usize>, LossError> {
    pointwise::check_smooth_l1(input, target, beta)
}

/// The checks of `huber_loss` before any value is read, in PyTorch's order
/// (broadcasting, the weight's shape, then `delta > 0`): the broadcast shape, or the
/// error.
///
/// ```
/// use lossparity_losses::internals::check_huber_loss_shapes;
///
/// assert_eq!(check_huber_loss_shapes(&[3], &[2, 3], Some(&[3]), 1.0).unwrap(), vec![2, 3]);
/// let err = check_huber_loss_shapes(&[2], &[2], Some(&[3]), 0.0).unwrap_err();
/// assert_eq!(err.message(), "Weights and input must have the same size.");
/// ```
pub fn check_huber_loss_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
    delta: f64,
) -> Result<Vec<usize>, LossError> {
    pointwise::check_huber(input, target, weight, delta)
}
