//! The reviewed table of known, understood divergences between the Rust losses and
//! libtorch, each with its reason and an example case that must still diverge (a test
//! replays every example: an entry whose example stops diverging fails the suite, so the
//! table cannot rot). A divergence not in this table is a bug to fix.

use crate::case::Case;
use crate::compare::{Divergence, Side, Tolerance};
use crate::reference;

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

/// The Rust side reports `Unsupported` with a message containing `what`.
fn rust_unsupported(d: &Divergence, what: &str) -> bool {
    matches!(d, Divergence::OneSided { raised: Side::Rust, error, .. }
        if error.kind == "Unsupported" && error.message.contains(what))
}

fn mixed_floats(_: &Case, d: &Divergence) -> bool {
    rust_unsupported(d, "float type")
}

fn half_inputs(_: &Case, d: &Divergence) -> bool {
    rust_unsupported(d, "inputs are not implemented")
}

fn integer_arithmetic(_: &Case, d: &Divergence) -> bool {
    rust_unsupported(d, "of integer tensors")
}

fn nul_truncated_message(_: &Case, d: &Divergence) -> bool {
    matches!(d, Divergence::Error { torch, rust }
        if torch.message == "Target " && rust.message.starts_with("Target \0"))
}

/// A `ctc_loss` label outside `[0, C)`, which the Rust losses refuse.
fn ctc_label_out_of_range(case: &Case, d: &Divergence) -> bool {
    case.op.name() == "ctc_loss"
        && matches!(d, Divergence::OneSided { raised: Side::Rust, error, .. }
            if error.kind == "IndexError" && error.message.starts_with("ctc_loss: target "))
}

/// A value divergence explained by rounding: against the exact result (computed in
/// double-double arithmetic, independently of the Rust losses) the Rust value is within
/// the tolerance, or no more than twice as far off as libtorch's.
fn rounding_order(case: &Case, d: &Divergence) -> bool {
    let Divergence::Value {
        part,
        index,
        torch,
        rust,
        dtype,
    } = d
    else {
        return false;
    };
    let Some(exact) = reference::evaluate(case) else {
        return false;
    };
    let Some(part) = exact.part(part) else {
        return false;
    };
    if *index >= part.values.len() || !torch.is_finite() || !rust.is_finite() {
        return false;
    }
    let tol = Tolerance::for_dtype(*dtype);
    let allowed = tol.atol + tol.rtol * part.values[*index].abs();
    let torch_error = part.error(*index, *torch).abs();
    let rust_error = part.error(*index, *rust).abs();
    rust_error <= allowed.max(2.0 * torch_error)
}

/// A `linear_cross_entropy` value divergence explained by the matrix products'
/// rounding: both sides' errors against the exact result are within the tolerance plus
/// the first-order effect of every logit being off by its matrix product's error bound,
/// and of every logit's gradient being off by its own rounding carried through the
/// backward products (computed per case by
/// [`reference::linear_cross_entropy_logit_bound`]).
fn linear_logits_rounding(case: &Case, d: &Divergence) -> bool {
    let Divergence::Value {
        part,
        index,
        torch,
        rust,
        dtype,
    } = d
    else {
        return false;
    };
    let (Some(exact), Some(bound)) = (
        reference::evaluate(case),
        reference::linear_cross_entropy_logit_bound(case),
    ) else {
        return false;
    };
    let (Some(exact), Some(bound)) = (exact.part(part), bound.part(part)) else {
        return false;
    };
    if *index >= exact.values.len() || !torch.is_finite() || !rust.is_finite() {
        return false;
    }
    let tol = Tolerance::for_dtype(*dtype);
    let allowed = tol.atol + tol.rtol * exact.values[*index].abs() + bound.values[*index];
    exact.error(*index, *torch).abs() <= allowed && exact.error(*index, *rust).abs() <= allowed
}

/// Whether the who-is-right reference explains a divergence as rounding, for any
/// subject in the place of the Rust losses: the `rounding-order` and
/// `linear-logits-rounding` entries (the other entries are about the Rust losses).
pub fn explained_by_rounding(case: &Case, divergence: &Divergence) -> bool {
    rounding_order(case, divergence) || linear_logits_rounding(case, divergence)
}

/// Every known divergence.
pub const KNOWN_DIVERGENCES: &[KnownDivergence] = &[
    KnownDivergence {
        name: "uint8-target-zero-message-truncated",
        reason: "nll_loss with reduction='none' and a uint8 target streams the target into its \
             error message as a character; for class 0 that character is NUL, and tch passes \
             libtorch's message through a C string, which ends there, and with it the C++ \
             class that names the kind: the torch side reads RuntimeError 'Target '. Python's \
             torch (the python backend) cuts the message at the same NUL but keeps the kind: \
             IndexError 'Target '. The Rust side reports IndexError with the whole message, \
             'Target \\x00 is out of bounds.': the kind Python raises and the text libtorch \
             meant. A deliberate deviation from both transports.",
        applies: nul_truncated_message,
        example: r#"{"op":"nll_loss","input":{"dtype":"float32","shape":[1,0],"data":[]},"target":{"dtype":"uint8","shape":[1],"data":[0]},"reduction":"none"}"#,
    },
    KnownDivergence {
        name: "mixed-float-promotion",
        reason: "cross_entropy with class probabilities, mse_loss or l1_loss, with tensors of \
             several float types: libtorch promotes the result to the wider type. The Rust \
             losses are typed (one float type per call) and report the case as Unsupported \
             instead of computing it in the wrong precision.",
        applies: mixed_floats,
        example: r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[1,2],"data":[1.0,2.0]},"target":{"dtype":"float32","shape":[1,2],"data":[0.3,0.7]},"weight":{"dtype":"float64","shape":[2],"data":[1.0,1.0]}}"#,
    },
    KnownDivergence {
        name: "half-precision-inputs",
        reason: "float16 and bfloat16 inputs: libtorch computes them (with its own rounding \
             points); the Rust losses implement float32 and float64 only and report the case \
             as Unsupported rather than computing it differently.",
        applies: half_inputs,
        example: r#"{"op":"log_softmax","input":{"dtype":"float16","shape":[2],"data":[1.0,2.0]},"dim":0}"#,
    },
    KnownDivergence {
        name: "integer-arithmetic",
        reason: "l1_loss of an integer input and target with reduction 'none' or 'sum' \
             (or a weighted mse_loss or l1_loss of integers): libtorch computes in the \
             integers and returns an int64 result. The Rust losses compute floating point \
             only and report the case as Unsupported.",
        applies: integer_arithmetic,
        example: r#"{"op":"l1_loss","input":{"dtype":"int64","shape":[2],"data":[1,2]},"target":{"dtype":"int64","shape":[2],"data":[0,1]},"reduction":"sum"}"#,
    },
    KnownDivergence {
        name: "ctc-label-out-of-range",
        reason: "ctc_loss with a label (within its sample's target length) that is not a class \
             in [0, C): libtorch does not check the labels and reads the log-probability at \
             that index, outside the sample's row (another sample's or time step's values, or \
             memory past the tensor), so its loss and gradient are meaningless and may change \
             from run to run. The Rust losses raise IndexError 'ctc_loss: target ... is out of \
             bounds' instead. A deliberate deviation; Rust is right.",
        applies: ctc_label_out_of_range,
        example: r#"{"op":"ctc_loss","log_probs":{"dtype":"float64","shape":[3,2,2],"data":[-0.5,-0.9,-0.2,-1.7,-0.6,-0.8,-1.1,-0.4,-0.3,-1.3,-0.7,-0.7]},"targets":{"dtype":"int64","shape":[2,1],"data":[2,1]},"input_lengths":{"dtype":"int64","shape":[2],"data":[3,3]},"target_lengths":{"dtype":"int64","shape":[2],"data":[1,1]},"reduction":"none"}"#,
    },
    KnownDivergence {
        name: "linear-logits-rounding",
        reason: "linear_cross_entropy in float32 with large inputs: each logit is a dot \
             product that libtorch's BLAS and the Rust side's gemm both round (in different \
             orders, neither correctly), and a logit near 700 carries 6e-5 per ulp into \
             the softmax. The loss and gradients inherit that error times their derivative \
             with respect to the logit, which can exceed the tolerance on either side: one \
             such case has grad_input[1] exact -0.19150278, libtorch -0.19150662, Rust \
             -0.19148922. Explained when both sides are within the tolerance plus the \
             first-order bound of the logits' rounding (each logit's dot-product error \
             bound gamma_(K+1) * sum |x_k w_k| times the value's derivative, in \
             double-double): the difference is the matrix products' rounding, which the \
             float32 logits of PyTorch's own composition carry as well. The backward's \
             rounding counts the same way: each logit's gradient is off by a few ulps on \
             any side, and the input's gradient sums those errors times the weights (one \
             case, weights of +-512, zero input: grad_input[5] exact 0, libtorch \
             -3.05e-5, Rust -1.53e-5, both 1.5-3x the tolerance); the bound adds that \
             term and the backward products' own gamma_n sum |terms|.",
        applies: linear_logits_rounding,
        example: r#"{"op":"linear_cross_entropy","input":{"dtype":"float32","shape":[4],"data":[64.0,0.375,512.0,-2.875]},"linear_weight":{"dtype":"float32","shape":[5,4],"data":[-0.09988423,-0.034313057,1.1394168,0.8521197,0.2988973,-1.1869912,1.3694241,-0.6624319,0.024723344,0.105092436,0.7533231,0.5179505,-1.1358185,0.11696426,1.3845011,0.63892734,0.23379761,0.1789612,1.3810853,-0.15754433]},"target":{"dtype":"int64","shape":[],"data":[0]},"reduction":"none","label_smoothing":0.0,"grad":true}"#,
    },
    KnownDivergence {
        name: "rounding-order",
        reason: "values that are sums of large terms cancelling to a small result (logits \
             near +-1e4, weights of both signs) lose digits in any float evaluation, and \
             libtorch's SIMD summation order differs from the Rust kernels' fixed order, so \
             the two sides can differ by more than the tolerance. Against the exact result \
             (a double-double reference, independent of the Rust losses) the Rust value is \
             within the tolerance, or no more than twice as far off as libtorch's: the \
             difference is rounding, not a mistake; where libtorch is the one outside the \
             tolerance, it is libtorch's imprecision. `lossparity report` classifies every \
             such case (rust-closer, libtorch-closer, both-within-policy).",
        applies: rounding_order,
        example: r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[3,3],"data":[0.0,-1.5281029,-9.488879,2.6250083,0.6357121,3.6917214,-4.0101194,8643.05,7832.6523]},"target":{"dtype":"float32","shape":[3,3],"data":[0.44921598,0.0,0.55078405,0.63968486,0.3603151,0.0,0.4566405,0.0,0.5433595]},"weight":{"dtype":"float32","shape":[3],"data":[-0.21991187,1.421717,1.9383407]},"reduction":"sum"}"#,
    },
];

/// The entry that explains a divergence, if any.
pub fn explain(case: &Case, divergence: &Divergence) -> Option<&'static KnownDivergence> {
    KNOWN_DIVERGENCES
        .iter()
        .find(|k| (k.applies)(case, divergence))
}
