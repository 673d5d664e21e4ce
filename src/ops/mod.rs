//! The op registry: every op described once. Its PyTorch name and parameters (name,
//! kind, default), the tensors autograd differentiates, how outputs are compared, and
//! how the Rust losses, libtorch, the reference, the strategies and `explain` handle it.
//! Case parsing, the backends, the comparison, the report, the repro scripts and the
//! CLI read this table; none of them names an op.
//!
//! Adding an op means: its loss in `lossparity-losses`, a module here with its
//! [`OpSpec`], a line in [`REGISTRY`], its catalogue cases and snapshots, its bench.

mod binary;
mod cross_entropy;
mod ctc;
mod divergence;
mod elementwise;
mod linear_cross_entropy;
mod margin;
mod nll_loss;
mod pointwise;
mod regression;
mod softmax;
mod triplet;

use std::fmt;

use proptest::strategy::SBoxedStrategy;

use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::Diagnostic;
use crate::reference::Reference;

pub use binary::{
    BINARY_CROSS_ENTROPY, BINARY_CROSS_ENTROPY_WITH_LOGITS, MULTILABEL_SOFT_MARGIN_LOSS,
    SOFT_MARGIN_LOSS,
};
pub use cross_entropy::CROSS_ENTROPY;
pub(crate) use ctc::as_long as ctc_as_long;
pub use ctc::CTC_LOSS;
pub use divergence::{GAUSSIAN_NLL_LOSS, KL_DIV, POISSON_NLL_LOSS};
pub use linear_cross_entropy::LINEAR_CROSS_ENTROPY;
pub(crate) use linear_cross_entropy::{
    cross_entropy_call as linear_cross_entropy_call, python_checks as linear_cross_entropy_logits,
};
pub use margin::{
    COSINE_EMBEDDING_LOSS, HINGE_EMBEDDING_LOSS, MARGIN_RANKING_LOSS, MULTILABEL_MARGIN_LOSS,
    MULTI_MARGIN_LOSS,
};
pub use nll_loss::NLL_LOSS;
pub use pointwise::{L1_LOSS, MSE_LOSS};
pub use regression::{HUBER_LOSS, SMOOTH_L1_LOSS};
pub use softmax::{LOG_SOFTMAX, SOFTMAX};
pub use triplet::{TRIPLET_MARGIN_LOSS, TRIPLET_MARGIN_WITH_DISTANCE_LOSS};

/// What kind of value a parameter takes in a case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// A tensor object `{dtype, shape, data}`.
    Tensor,
    /// A JSON integer.
    Int,
    /// A JSON number, or `"nan"`, `"inf"`, `"-inf"`.
    Float,
    /// One of the listed strings.
    Choice(&'static [&'static str]),
    /// A JSON boolean (`log_target`, `full`, ...).
    Bool,
    /// A tensor object or a JSON number (`gaussian_nll_loss`'s `var`, which PyTorch
    /// takes as either).
    TensorOrFloat,
}

/// A parameter's value when the case does not give it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// The case must give it.
    Required,
    /// `None` in PyTorch: absent from the call.
    Absent,
    /// An integer.
    Int(i64),
    /// A number.
    Float(f64),
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
}

/// One parameter of a `torch.nn.functional` function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    /// PyTorch's name.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Its default.
    pub default: Default,
}

impl Param {
    /// A tensor parameter.
    pub const fn tensor(name: &'static str, default: Default) -> Param {
        Param {
            name,
            kind: Kind::Tensor,
            default,
        }
    }

    /// A boolean parameter.
    pub const fn bool(name: &'static str, default: bool) -> Param {
        Param {
            name,
            kind: Kind::Bool,
            default: Default::Bool(default),
        }
    }

    /// A number parameter.
    pub const fn float(name: &'static str, default: f64) -> Param {
        Param {
            name,
            kind: Kind::Float,
            default: Default::Float(default),
        }
    }

    /// Whether a value is always present in a parsed case (given or defaulted).
    pub fn always_present(&self) -> bool {
        !matches!(self.default, Default::Absent)
    }
}

/// The `reduction` parameter of the classification losses.
pub const REDUCTION: Param = Param {
    name: "reduction",
    kind: Kind::Choice(&["none", "mean", "sum"]),
    default: Default::Str("mean"),
};

/// The Rust losses' side of an op: a case in, the outcome's result out.
pub type RustEval = fn(&Case, MemoryLayout) -> Result<Computed, CaseError>;

/// libtorch's side of an op: the call on tensors already made from the case (those of
/// `grad_wrt` requiring grad), looked up by parameter name, as `torch.nn.functional`
/// makes it (its checks written in Python included, raised as their Python errors).
#[cfg(feature = "torch")]
pub type TorchCall =
    fn(&Case, &dyn Fn(&str) -> Option<tch::Tensor>) -> Result<tch::Tensor, CaseError>;

/// Everything the harness knows about one op.
pub struct OpSpec {
    /// The `torch.nn.functional` name, which is also the case format's `op`.
    pub name: &'static str,
    /// Its parameters in PyTorch's order, the main input first. The deprecated
    /// `size_average` and `reduce` are left out: the case format refuses them.
    pub params: &'static [Param],
    /// The tensors PyTorch's autograd may be asked to differentiate (a case's
    /// `grad_wrt` may name any floating tensor; these are the ones it does).
    pub differentiable: &'static [&'static str],
    /// `grad_wrt` when a case asks for `grad` without naming tensors.
    pub default_grad_wrt: &'static [&'static str],
    /// How outputs and gradients are compared with libtorch's.
    pub mode: Mode,
    /// Whether its result is a loss (it takes a target and a reduction).
    pub is_loss: bool,
    /// The Rust losses' evaluation.
    pub rust: RustEval,
    /// libtorch's call.
    #[cfg(feature = "torch")]
    pub torch: TorchCall,
    /// The exact result (double-double arithmetic), when the case can be computed so.
    pub reference: fn(&Case) -> Option<Reference>,
    /// Random cases reaching every option, layout and error.
    pub strategy: fn() -> SBoxedStrategy<Case>,
    /// How PyTorch reads the call (the evidence of `explain`'s outcome); `raised` says
    /// whether the call fails.
    pub reading: fn(&Case, bool) -> String,
    /// `explain`'s findings beyond the outcome.
    pub findings: fn(&Case) -> Vec<Diagnostic>,
    /// The description its random cases are drawn from, for an element-wise loss
    /// built on [`crate::strategies::elementwise_case`] (the coverage test reads it).
    pub cases: Option<&'static crate::strategies::ElementwiseCases>,
}

impl OpSpec {
    /// The op this describes.
    pub fn op(&'static self) -> Op {
        Op(self)
    }
}

/// Every op the harness implements, in a fixed order (the report's order).
pub static REGISTRY: [&OpSpec; 24] = [
    &LOG_SOFTMAX,
    &SOFTMAX,
    &NLL_LOSS,
    &CROSS_ENTROPY,
    &LINEAR_CROSS_ENTROPY,
    &MSE_LOSS,
    &L1_LOSS,
    &SMOOTH_L1_LOSS,
    &HUBER_LOSS,
    &BINARY_CROSS_ENTROPY,
    &BINARY_CROSS_ENTROPY_WITH_LOGITS,
    &SOFT_MARGIN_LOSS,
    &MULTILABEL_SOFT_MARGIN_LOSS,
    &KL_DIV,
    &POISSON_NLL_LOSS,
    &GAUSSIAN_NLL_LOSS,
    &HINGE_EMBEDDING_LOSS,
    &MARGIN_RANKING_LOSS,
    &COSINE_EMBEDDING_LOSS,
    &MULTI_MARGIN_LOSS,
    &MULTILABEL_MARGIN_LOSS,
    &TRIPLET_MARGIN_LOSS,
    &TRIPLET_MARGIN_WITH_DISTANCE_LOSS,
    &CTC_LOSS,
];

/// An op of the registry: a cheap handle on its [`OpSpec`].
#[derive(Clone, Copy)]
pub struct Op(&'static OpSpec);

impl Op {
    /// `log_softmax`.
    pub const LOG_SOFTMAX: Op = Op(&LOG_SOFTMAX);
    /// `softmax`.
    pub const SOFTMAX: Op = Op(&SOFTMAX);
    /// `nll_loss`.
    pub const NLL_LOSS: Op = Op(&NLL_LOSS);
    /// `cross_entropy`.
    pub const CROSS_ENTROPY: Op = Op(&CROSS_ENTROPY);
    /// `linear_cross_entropy`.
    pub const LINEAR_CROSS_ENTROPY: Op = Op(&LINEAR_CROSS_ENTROPY);
    /// `mse_loss`.
    pub const MSE_LOSS: Op = Op(&MSE_LOSS);
    /// `l1_loss`.
    pub const L1_LOSS: Op = Op(&L1_LOSS);

    /// The op called `name` (the `torch.nn.functional` name), if it is built.
    pub fn named(name: &str) -> Option<Op> {
        REGISTRY.iter().find(|s| s.name == name).map(|&s| Op(s))
    }

    /// Every op, in the registry's order.
    pub fn all() -> impl Iterator<Item = Op> {
        REGISTRY.iter().map(|&s| Op(s))
    }

    /// The names of every op, comma-separated, for messages.
    pub fn names() -> String {
        REGISTRY
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `torch.nn.functional` name.
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// Its description.
    pub fn spec(self) -> &'static OpSpec {
        self.0
    }

    /// Its place in the registry.
    pub fn rank(self) -> usize {
        REGISTRY
            .iter()
            .position(|s| s.name == self.0.name)
            .unwrap_or(REGISTRY.len())
    }

    /// Whether it takes a target and a reduction.
    pub fn is_loss(self) -> bool {
        self.0.is_loss
    }

    /// Its parameter called `name`.
    pub fn param(self, name: &str) -> Option<&'static Param> {
        self.0.params.iter().find(|p| p.name == name)
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Op) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Op {}

impl std::hash::Hash for Op {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}
