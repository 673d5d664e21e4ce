//! The libtorch backend: a case run through `tch` on CPU, gradients by libtorch's
//! autograd. Errors keep the first line of libtorch's message; the Python kind comes
//! from the C++ exception class named in the backtrace (`c10::IndexError`, ...).
//!
//! libtorch runs single-threaded here: with several threads its `reduction='none'`
//! kernels check targets in parallel and report whichever bad target a thread meets
//! first, which changes from run to run; one thread makes the oracle deterministic
//! (the first bad target in order, as PyTorch does on a one-core machine).

use tch::{Kind, TchError, Tensor};

use super::Backend;
use crate::case::{Case, CaseError, Computed, DType, Op, Outcome, TensorData, Values};
use crate::losses::Reduction;

/// Evaluates cases with libtorch.
#[derive(Debug, Default, Clone, Copy)]
pub struct TorchBackend;

impl Backend for TorchBackend {
    fn name(&self) -> &'static str {
        "torch"
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        static SINGLE_THREADED: std::sync::Once = std::sync::Once::new();
        SINGLE_THREADED.call_once(|| tch::set_num_threads(1));
        Outcome {
            id: case.id.clone(),
            result: run(case),
        }
    }
}

/// The Python kind and first line of a libtorch error.
pub fn torch_error(err: TchError) -> CaseError {
    let text = match err {
        TchError::Torch(text) => text,
        other => return CaseError::new("RuntimeError", other.to_string()),
    };
    let message = text.lines().next().unwrap_or_default().to_string();
    let kind = [
        ("c10::IndexError::IndexError", "IndexError"),
        ("c10::ValueError::ValueError", "ValueError"),
        ("c10::TypeError::TypeError", "TypeError"),
        (
            "c10::NotImplementedError::NotImplementedError",
            "NotImplementedError",
        ),
    ]
    .into_iter()
    .find(|(class, _)| text.contains(class))
    .map_or("RuntimeError", |(_, kind)| kind);
    CaseError::new(kind, message)
}

fn kind_of(dtype: DType) -> Kind {
    match dtype {
        DType::Float32 => Kind::Float,
        DType::Float64 => Kind::Double,
        DType::Float16 => Kind::Half,
        DType::BFloat16 => Kind::BFloat16,
        DType::Int64 => Kind::Int64,
        DType::UInt8 => Kind::Uint8,
    }
}

fn dtype_of(kind: Kind) -> Option<DType> {
    Some(match kind {
        Kind::Float => DType::Float32,
        Kind::Double => DType::Float64,
        Kind::Half => DType::Float16,
        Kind::BFloat16 => DType::BFloat16,
        Kind::Int64 => DType::Int64,
        Kind::Uint8 => DType::UInt8,
        _ => return None,
    })
}

/// A case tensor as a libtorch tensor, values exact (narrow floats are rounded from
/// their exact `f64` values, which they already are).
pub fn to_tensor(t: &TensorData) -> Result<Tensor, TchError> {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    let flat = match &t.values {
        Values::Float(v) => Tensor::f_from_slice(v)?.f_to_kind(kind_of(t.dtype))?,
        Values::Int(v) => Tensor::f_from_slice(v)?.f_to_kind(kind_of(t.dtype))?,
    };
    flat.f_reshape(shape.as_slice())
}

/// A libtorch tensor written out as case data.
pub fn from_tensor(t: &Tensor) -> Result<TensorData, TchError> {
    let kind = t.f_kind()?;
    let dtype =
        dtype_of(kind).ok_or_else(|| TchError::Kind(format!("unexpected dtype {kind:?}")))?;
    let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
    let flat = t.f_reshape([-1])?;
    Ok(if dtype.is_float() {
        let v = Vec::<f64>::try_from(&flat.f_to_kind(Kind::Double)?)?;
        TensorData::float(dtype, shape, v)
    } else {
        let v = Vec::<i64>::try_from(&flat.f_to_kind(Kind::Int64)?)?;
        TensorData::int(dtype, shape, v)
    })
}

fn reduction(r: Reduction) -> tch::Reduction {
    match r {
        Reduction::None => tch::Reduction::None,
        Reduction::Mean => tch::Reduction::Mean,
        Reduction::Sum => tch::Reduction::Sum,
    }
}

fn run(case: &Case) -> Result<Computed, CaseError> {
    let input = to_tensor(&case.input).map_err(torch_error)?;
    let input = if case.grad && case.input.dtype.is_float() {
        input.set_requires_grad(true)
    } else {
        input
    };
    let target = case
        .target
        .as_ref()
        .map(to_tensor)
        .transpose()
        .map_err(torch_error)?;
    let weight = case
        .weight
        .as_ref()
        .map(to_tensor)
        .transpose()
        .map_err(torch_error)?;
    let output = match case.op {
        Op::LogSoftmax => input.f_log_softmax(case.dim.unwrap_or(0), None::<Kind>),
        Op::Softmax => input.f_softmax(case.dim.unwrap_or(0), None::<Kind>),
        Op::NllLoss | Op::CrossEntropy => {
            let target = target
                .as_ref()
                .ok_or_else(|| CaseError::invalid_case("missing target"))?;
            if case.op == Op::NllLoss {
                input.f_nll_loss_nd(
                    target,
                    weight.as_ref(),
                    reduction(case.reduction),
                    case.ignore_index,
                )
            } else {
                input.f_cross_entropy_loss(
                    target,
                    weight.as_ref(),
                    reduction(case.reduction),
                    case.ignore_index,
                    case.label_smoothing,
                )
            }
        }
    }
    .map_err(torch_error)?;
    let grad_input = if case.grad {
        Some(gradient(case, &input, &output))
    } else {
        None
    };
    Ok(Computed {
        output: from_tensor(&output).map_err(torch_error)?,
        grad_input,
    })
}

/// The gradient of `sum(output * grad_output)` with respect to the input.
fn gradient(case: &Case, input: &Tensor, output: &Tensor) -> Result<TensorData, CaseError> {
    let grad_output = match &case.grad_output {
        Some(g) => to_tensor(g).map_err(torch_error)?,
        None => output.f_ones_like().map_err(torch_error)?,
    };
    let total = (output.f_mul(&grad_output))
        .and_then(|t| t.f_sum(None::<Kind>))
        .map_err(torch_error)?;
    let grads = Tensor::f_run_backward(&[total], &[input], false, false).map_err(torch_error)?;
    let grad = grads
        .into_iter()
        .next()
        .ok_or_else(|| CaseError::new("RuntimeError", "libtorch returned no gradient"))?;
    let grad = if grad.defined() {
        grad
    } else {
        input.f_zeros_like().map_err(torch_error)?
    };
    from_tensor(&grad).map_err(torch_error)
}
