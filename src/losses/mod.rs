//! The losses, in pure Rust on `ndarray`: `log_softmax`, `softmax`, `nll_loss`,
//! `cross_entropy`, forward and backward, with PyTorch 2.13's semantics and errors.
//!
//! No torch, no serde, no I/O here: this module stands alone (`default-features =
//! false`). Inputs are views of any strides; kernels that index flat memory copy a
//! non-contiguous view to row-major order first.

mod cross_entropy;
mod error;
mod float;
mod nll;
mod options;
mod softmax;

pub use cross_entropy::{cross_entropy, cross_entropy_backward};
pub use error::{ErrorKind, LossError};
pub use float::Float;
pub use nll::{nll_loss, nll_loss_backward};
pub use options::{CrossEntropyOptions, NllLossOptions, Reduction, Target};
pub use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};
