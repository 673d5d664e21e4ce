//! # lossparity
//!
//! PyTorch's classification losses in pure Rust (the crate `lossparity-losses`),
//! checked against libtorch.
//!
//! - [`losses`]: `log_softmax`, `softmax`, `nll_loss`, `cross_entropy`, forward and
//!   backward, on `ndarray`, with PyTorch 2.13's semantics and error messages, plus a
//!   plain-words hint for every error. Pure Rust: no torch, no serde, no I/O.
//! - [`ops`]: the op registry, every op described once (parameters, gradients,
//!   comparison, how each side computes it).
//! - [`case`]: one call written down completely (`docs/case-format.md`), JSON Lines.
//! - [`backend`]: the Rust losses and libtorch (feature `torch`) behind one trait.
//! - [`compare`]: the tolerance policy and the verdict on two outcomes.
//! - [`conformance`]: the random cases against your own [`Backend`](backend::Backend),
//!   from your own `cargo test`.
//! - [`explain`]: what PyTorch will do with a case, and what is probably wrong with it.
//! - [`known`]: the reviewed table of known divergences.
//! - [`strategies`]: random cases (proptest) for the tests and the report.
//! - [`repro`]: a Python script reproducing a case in PyTorch.
//! - [`reference`](mod@reference): the ops in double-double arithmetic, to tell who is right.
//! - [`report`]: the divergence report (`lossparity report`, `lossparity merge`).
#![warn(missing_docs)]

pub mod backend;
pub mod case;
pub mod compare;
pub mod conformance;
pub mod explain;
pub mod known;
pub mod ops;
/// The losses themselves: the crate `lossparity-losses`, re-exported.
pub use lossparity_losses as losses;
pub mod reference;
pub mod report;
pub mod repro;
pub mod strategies;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
