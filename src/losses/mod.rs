//! The losses, in pure Rust on `ndarray`: `log_softmax`, `softmax`, `nll_loss`,
//! `cross_entropy`, forward and backward, with PyTorch 2.13's semantics and errors.
//!
//! No torch, no serde, no I/O here: this module stands alone (`default-features =
//! false`). Inputs are views of any strides; kernels that index flat memory copy a
//! non-contiguous view to row-major order first.

mod cross_entropy;
mod error;
mod float;
mod kernels;
mod nll;
mod options;
mod softmax;

pub use cross_entropy::{cross_entropy, cross_entropy_backward, cross_entropy_with_grad};
pub use error::{ErrorKind, LossError};
pub use float::Float;
pub use nll::{nll_loss, nll_loss_backward};
pub use options::{CrossEntropyOptions, NllLossOptions, Reduction, Target};
pub use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};

/// Runs every check `nll_loss` makes before reading a value (shapes, the target's
/// dtype by PyTorch name: `Long`, `Byte`, `Float`, ...), in PyTorch's order.
///
/// ```
/// use lossparity::losses::check_nll_loss_shapes;
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
    error::wrap_dim(dim, ndim)
}

#[cfg(test)]
mod tests;
