//! What the `lossparity` harness needs beyond the losses, behind the feature
//! `unstable-public-internals`: the checks a loss makes before it reads a value, so
//! the harness can give libtorch's error for calls the typed API cannot express (an
//! integer input, a weight of another float type). Not a stable API.

use crate::error::{wrap_dim, LossError};
use crate::{cross_entropy, nll};

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

/// The checks of `torch.nn.functional.nll_loss`'s dispatcher (`nll_loss_nd`), which run
/// before autograd looks at the arguments and before the kernel's own checks: at
/// least one dimension, matching batch sizes, and for 3-D and 5-D+ inputs the
/// target's size.
///
/// ```
/// use lossparity_losses::internals::check_nll_loss_nd_shapes;
///
/// assert!(check_nll_loss_nd_shapes(&[5], &[3]).is_ok()); // the kernel rejects it later
/// let err = check_nll_loss_nd_shapes(&[2, 3], &[4]).unwrap_err();
/// assert_eq!(err.message(), "Expected input batch_size (2) to match target batch_size (4).");
/// ```
pub fn check_nll_loss_nd_shapes(input: &[usize], target: &[usize]) -> Result<(), LossError> {
    nll::nd_checks(input, target)
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
