//! One trait, two backends: the Rust losses and libtorch (through `tch`). Each turns a
//! [`Case`] into an [`Outcome`].

pub(crate) mod rust;
#[cfg(feature = "torch")]
mod torch;

pub use rust::{MemoryLayout, RustBackend};
#[cfg(feature = "torch")]
pub use torch::{from_tensor, to_tensor, torch_error, TorchBackend};

use crate::case::{Case, Outcome};

/// Something that evaluates cases.
pub trait Backend {
    /// A short name for reports: `rust`, `torch`.
    fn name(&self) -> &'static str;

    /// Runs one case: the output and, when asked, the gradient, or the error.
    fn evaluate(&self, case: &Case) -> Outcome;
}
