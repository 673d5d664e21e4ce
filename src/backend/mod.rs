//! One trait, several backends: the Rust losses, libtorch (through `tch`), Python's
//! PyTorch and any program over a pipe ([`ProcessBackend`]). Each turns a [`Case`]
//! into an [`Outcome`].

#[cfg(feature = "burn")]
pub mod burn;
#[cfg(feature = "candle")]
pub mod candle;
#[cfg(any(feature = "candle", feature = "burn"))]
mod framework;
pub mod process;
pub(crate) mod rust;
#[cfg(feature = "torch")]
mod torch;

#[cfg(feature = "burn")]
pub use burn::BurnBackend;
#[cfg(feature = "candle")]
pub use candle::CandleBackend;
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

    /// Whether the backend can express the case at all (an op, dtype or option it does
    /// not have): `Err` says why, and the harness counts the case as unsupported
    /// instead of comparing it. Every case, unless a backend says otherwise.
    fn supports(&self, case: &Case) -> Result<(), String> {
        let _ = case;
        Ok(())
    }
}
