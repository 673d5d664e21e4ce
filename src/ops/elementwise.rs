//! What the element-wise losses share on the Rust side: PyTorch's type promotion over
//! several tensors (a float32 input with an int64 target computes in float32; two float
//! types or a half type are not computed by the Rust losses), and the case's tensors
//! laid out in the float type chosen.

use crate::backend::rust::{laid_promoted, CaseFloat, Laid, UNSUPPORTED_HINT};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed, DType};

/// The float types of an element-wise loss's tensors `names`, after PyTorch's
/// promotion; the caller's closures do the work.
pub(super) struct Promoted<'a> {
    pub case: &'a Case,
    /// The tensors that take part in type promotion.
    pub names: &'a [&'static str],
    /// Every check the call makes on shapes before computing (these come first in
    /// PyTorch even when the dtypes are not computed here).
    pub shape_checks: &'a dyn Fn(&Case) -> Result<(), CaseError>,
    /// libtorch's outcome when every tensor holds integers.
    pub integers: &'a dyn Fn(&Case) -> CaseError,
}

impl Promoted<'_> {
    /// Runs `f32` or `f64` as the promoted type says.
    pub fn run(
        &self,
        f32: impl FnOnce() -> Result<Computed, CaseError>,
        f64: impl FnOnce() -> Result<Computed, CaseError>,
    ) -> Result<Computed, CaseError> {
        let case = self.case;
        let floats: Vec<DType> = self
            .names
            .iter()
            .filter_map(|n| case.tensor(n))
            .map(|t| t.dtype)
            .filter(|d| d.is_float())
            .collect();
        if floats.iter().any(|d| *d != floats[0])
            || floats
                .iter()
                .any(|d| !matches!(d, DType::Float32 | DType::Float64))
        {
            (self.shape_checks)(case)?;
            return Err(CaseError::new(
                "Unsupported",
                format!(
                    "{} with tensors of several float types or a half type (libtorch \
                     promotes) is not implemented by the Rust losses",
                    case.op
                ),
            )
            .with_hint(UNSUPPORTED_HINT));
        }
        match floats.first() {
            Some(DType::Float32) => f32(),
            Some(_) => f64(),
            None => Err((self.integers)(case)),
        }
    }
}

/// The fn an element-wise op's module writes once for both float types.
pub(super) type Typed<L> = fn(&Case, MemoryLayout, L) -> Result<Computed, CaseError>;

/// Runs an element-wise loss `loss` (an op module's own selector) in its promoted float
/// type: `checks` are every check on shapes the call makes, in PyTorch's order; a call
/// on integers fails with them, else as not computed by the Rust losses.
pub(super) fn run_promoted<L: Copy>(
    case: &Case,
    layout: MemoryLayout,
    names: &[&'static str],
    loss: L,
    checks: fn(&Case, L) -> Result<(), CaseError>,
    typed: (Typed<L>, Typed<L>),
) -> Result<Computed, CaseError> {
    let shape_checks = |case: &Case| checks(case, loss);
    let integers = |case: &Case| match checks(case, loss) {
        Err(e) => e,
        Ok(()) => integers_unsupported(case),
    };
    Promoted {
        case,
        names,
        shape_checks: &shape_checks,
        integers: &integers,
    }
    .run(
        || typed.0(case, layout, loss),
        || typed.1(case, layout, loss),
    )
}

/// The shape of the case's tensor `name`, when it has one.
pub(super) fn shape_of<'a>(case: &'a Case, name: &str) -> Option<&'a [usize]> {
    case.tensor(name).map(|t| t.shape.as_slice())
}

/// The tensor `name` of the case in type `F` (integers promoted), if the case has it.
pub(super) fn laid<F: CaseFloat>(
    case: &Case,
    name: &str,
    layout: MemoryLayout,
) -> Result<Option<Laid<F>>, CaseError> {
    case.tensor(name)
        .map(|t| laid_promoted::<F>(t, name, layout))
        .transpose()
}

/// The tensor `name`, which the op requires.
pub(super) fn required<F: CaseFloat>(
    case: &Case,
    name: &str,
    layout: MemoryLayout,
) -> Result<Laid<F>, CaseError> {
    laid::<F>(case, name, layout)?.ok_or_else(|| CaseError::invalid_case(format!("missing {name}")))
}

/// A shape error for an unsupported integer combination: the op computes integers in
/// libtorch, which the Rust losses do not.
pub(super) fn integers_unsupported(case: &Case) -> CaseError {
    CaseError::new(
        "Unsupported",
        format!(
            "{} of integer tensors (libtorch computes in integers) is not implemented by the \
             Rust losses",
            case.op
        ),
    )
    .with_hint(UNSUPPORTED_HINT)
}

/// The call's `input` and `target` on the libtorch side.
#[cfg(feature = "torch")]
pub(super) fn input_and_target(
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<(tch::Tensor, tch::Tensor), CaseError> {
    let missing = super::softmax::missing;
    Ok((
        t("input").ok_or_else(|| missing("input"))?,
        t("target").ok_or_else(|| missing("target"))?,
    ))
}
