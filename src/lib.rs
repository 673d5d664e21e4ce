//! # lossparity
//!
//! PyTorch's classification losses in pure Rust, checked against libtorch.
//!
//! - [`losses`]: `log_softmax`, `softmax`, `nll_loss`, `cross_entropy`, forward and
//!   backward, on `ndarray`, with PyTorch 2.13's semantics and error messages, plus a
//!   plain-words hint for every error. No torch needed.
#![warn(missing_docs)]

pub mod losses;
