//! One trait, several backends: the Rust losses, libtorch (through `tch`), Python's
//! PyTorch and any program over a pipe ([`ProcessBackend`]). Each turns a [`Case`]
//! into an [`Outcome`].

pub mod process;
pub(crate) mod rust;
#[cfg(feature = "torch")]
mod torch;

pub use process::ProcessBackend;
pub use rust::{MemoryLayout, RustBackend};
#[cfg(feature = "torch")]
pub use torch::{from_tensor, to_tensor, torch_error, TorchBackend};

use crate::case::{Case, Outcome};

/// Something that evaluates cases.
pub trait Backend {
    /// A short name for reports: `rust`, `torch`, `python`, `exec:CMD`.
    fn name(&self) -> &str;

    /// Runs one case: the output and, when asked, the gradient, or the error.
    fn evaluate(&self, case: &Case) -> Outcome;
}
