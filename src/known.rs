//! The reviewed table of known, understood divergences between the Rust losses and
//! libtorch, each with its reason and an example case that must still diverge (a test
//! replays every example: an entry whose example stops diverging fails the suite, so the
//! table cannot rot). A divergence not in this table is a bug to fix.

use crate::case::Case;
use crate::compare::{Divergence, Side};

/// One known divergence.
#[derive(Debug)]
pub struct KnownDivergence {
    /// Short name.
    pub name: &'static str,
    /// Why the two sides differ, and which one is right.
    pub reason: &'static str,
    /// Whether a divergence of a case is this one.
    pub applies: fn(&Case, &Divergence) -> bool,
    /// A case (JSON) showing it; it must diverge, and `applies` must accept it.
    pub example: &'static str,
}

fn rust_unsupported(_: &Case, d: &Divergence) -> bool {
    matches!(d, Divergence::OneSided { raised: Side::Rust, error, .. } if error.kind == "Unsupported")
}

fn nul_truncated_message(_: &Case, d: &Divergence) -> bool {
    matches!(d, Divergence::Error { torch, rust }
        if torch.message == "Target " && rust.message.starts_with("Target \0"))
}

/// Every known divergence.
pub const KNOWN_DIVERGENCES: &[KnownDivergence] = &[
    KnownDivergence {
        name: "uint8-target-zero-message-truncated",
        reason: "nll_loss with reduction='none' and a uint8 target streams the target into its \
             error message as a character; for class 0 that character is NUL, and tch passes \
             libtorch's message through a C string, which ends there: the torch side reads \
             RuntimeError 'Target '. PyTorch in Python raises IndexError 'Target \\x00 is out \
             of bounds.', which is what the Rust side reports. Transport artefact; Rust is right.",
        applies: nul_truncated_message,
        example: r#"{"op":"nll_loss","input":{"dtype":"float32","shape":[1,0],"data":[]},"target":{"dtype":"uint8","shape":[1],"data":[0]},"reduction":"none"}"#,
    },
    KnownDivergence {
        name: "mixed-float-promotion",
        reason: "cross_entropy with class probabilities and a target or weight of another \
             float type than the input: libtorch promotes the result to the wider type. The \
             Rust losses are typed (one float type per call) and report the case as \
             Unsupported instead of computing it in the wrong precision.",
        applies: rust_unsupported,
        example: r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[1,2],"data":[1.0,2.0]},"target":{"dtype":"float32","shape":[1,2],"data":[0.3,0.7]},"weight":{"dtype":"float64","shape":[2],"data":[1.0,1.0]}}"#,
    },
];

/// The entry that explains a divergence, if any.
pub fn explain(case: &Case, divergence: &Divergence) -> Option<&'static KnownDivergence> {
    KNOWN_DIVERGENCES
        .iter()
        .find(|k| (k.applies)(case, divergence))
}
