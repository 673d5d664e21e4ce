//! `log_softmax` and `softmax`: one tensor, one `dim`, the gradient with respect to the
//! input only.

use proptest::strategy::Strategy;

use super::{Default, Kind, OpSpec, Param};
use crate::backend::rust::{
    case_error, computed, dispatch, laid_floats, not_implemented, CaseFloat, TypedOp,
};
#[cfg(feature = "torch")]
use crate::backend::torch_error;
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals::wrap_dim_checked};

const PARAMS: &[Param] = &[
    Param::tensor("input", Default::Required),
    // PyTorch infers a missing `dim` (deprecated, with a warning); the format wants it.
    Param {
        name: "dim",
        kind: Kind::Int,
        default: Default::Required,
    },
];

/// `torch.nn.functional.log_softmax(input, dim)`.
pub static LOG_SOFTMAX: OpSpec = OpSpec {
    name: "log_softmax",
    params: PARAMS,
    differentiable: &["input"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: false,
    rust: dispatch::<LogSoftmax>,
    #[cfg(feature = "torch")]
    torch: |case, t| {
        let input = t("input").ok_or_else(|| missing("input"))?;
        input
            .f_log_softmax(case.dim().unwrap_or(0), None::<tch::Kind>)
            .map_err(torch_error)
    },
    reference: crate::reference::softmax_op,
    strategy: || crate::strategies::softmax_case(LOG_SOFTMAX.op()).sboxed(),
    reading: explain::softmax::reading,
    findings: explain::softmax::findings,
    cases: None,
};

/// `torch.nn.functional.softmax(input, dim)`.
pub static SOFTMAX: OpSpec = OpSpec {
    name: "softmax",
    rust: dispatch::<Softmax>,
    #[cfg(feature = "torch")]
    torch: |case, t| {
        let input = t("input").ok_or_else(|| missing("input"))?;
        input
            .f_softmax(case.dim().unwrap_or(0), None::<tch::Kind>)
            .map_err(torch_error)
    },
    strategy: || crate::strategies::softmax_case(SOFTMAX.op()).sboxed(),
    ..LOG_SOFTMAX
};

#[cfg(feature = "torch")]
pub(super) fn missing(name: &str) -> CaseError {
    CaseError::invalid_case(format!("the case has no `{name}`"))
}

/// libtorch's error for an integer input of a softmax over `dim`: its kernels are
/// dispatched on floating types only, after the dimension is checked.
pub(crate) fn integer_softmax(case: &Case, kernel: &str, dim: i64) -> CaseError {
    let ndim = case.input().shape.len();
    match wrap_dim_checked(dim, ndim) {
        Err(e) => case_error(e),
        Ok(axis) if ndim == 0 || axis + 1 == ndim => {
            not_implemented(&format!("{kernel}_lastdim_kernel_impl"), case)
        }
        Ok(_) => not_implemented(&format!("{kernel}_kernel_impl"), case),
    }
}

struct LogSoftmax;

impl TypedOp for LogSoftmax {
    fn integer_input(case: &Case) -> CaseError {
        integer_softmax(case, "log_softmax", case.dim().unwrap_or(0))
    }

    fn run<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
        let dim = case.dim().unwrap_or(0);
        let input = laid_floats::<F>(case.input(), "input", layout)?;
        computed(
            case,
            layout,
            losses::log_softmax(input.view(), dim),
            &|_, go, y| losses::log_softmax_backward(go.view(), y.view(), dim),
        )
    }
}

struct Softmax;

impl TypedOp for Softmax {
    fn integer_input(case: &Case) -> CaseError {
        integer_softmax(case, "softmax", case.dim().unwrap_or(0))
    }

    fn run<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
        let dim = case.dim().unwrap_or(0);
        let input = laid_floats::<F>(case.input(), "input", layout)?;
        computed(
            case,
            layout,
            losses::softmax(input.view(), dim),
            &|_, go, y| losses::softmax_backward(go.view(), y.view(), dim),
        )
    }
}
