//! # lossparity
//!
//! PyTorch's classification losses in pure Rust, checked against libtorch.
//!
//! - [`losses`]: `log_softmax`, `softmax`, `nll_loss`, `cross_entropy`, forward and
//!   backward, on `ndarray`, with PyTorch 2.13's semantics and error messages, plus a
//!   plain-words hint for every error. Pure Rust: no torch, no serde, no I/O.
//! - [`case`]: one call written down completely (`shared/CASES.md`), JSON Lines.
//! - [`backend`]: the Rust losses and libtorch (feature `torch`) behind one trait.
//! - [`compare`]: the tolerance policy and the verdict on two outcomes.
#![warn(missing_docs)]

pub mod backend;
pub mod case;
pub mod compare;
pub mod losses;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
