//! The libtorch backend: a case's tensors made in `tch` on CPU (those of `grad_wrt`
//! requiring grad), the op's registry entry calling libtorch, gradients by libtorch's
//! autograd. Errors keep the first line of libtorch's message; the Python kind comes
//! from the C++ exception class named in the backtrace (`c10::IndexError`, ...).
//!
//! libtorch runs single-threaded here: with several threads its `reduction='none'`
//! kernels check targets in parallel and report whichever bad target a thread meets
//! first, which changes from run to run; one thread makes the oracle deterministic
//! (the first bad target in order, as PyTorch does on a one-core machine).

use tch::{Kind, TchError, Tensor};

use super::Backend;
use crate::case::{Arg, Case, CaseError, Computed, DType, Grad, Outcome, TensorData, Values};

/// Evaluates cases with libtorch.
#[derive(Debug, Default, Clone, Copy)]
pub struct TorchBackend;

impl Backend for TorchBackend {
    fn name(&self) -> &str {
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

fn run(case: &Case) -> Result<Computed, CaseError> {
    let wrt = case.grad_wrt();
    let mut tensors: Vec<(&'static str, Tensor)> = Vec::new();
    for (name, arg) in case.args() {
        if let Arg::Tensor(t) = arg {
            let tensor = to_tensor(t).map_err(torch_error)?;
            let tensor = if wrt.contains(&name) && t.dtype.is_float() {
                tensor.set_requires_grad(true)
            } else {
                tensor
            };
            tensors.push((name, tensor));
        }
    }
    let lookup = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.shallow_clone())
    };
    let output = (case.op.spec().torch)(case, &lookup)?;
    let grads = if case.grad {
        let inputs: Vec<Tensor> = wrt.iter().filter_map(|n| lookup(n)).collect();
        Some(gradients(case, &wrt, &inputs, &output))
    } else {
        None
    };
    Ok(Computed {
        output: from_tensor(&output).map_err(torch_error)?,
        grads,
    })
}

/// The gradients of `sum(output * grad_output)` with respect to the `grad_wrt` tensors;
/// zeros for one the output does not depend on.
fn gradients(
    case: &Case,
    wrt: &[&'static str],
    inputs: &[Tensor],
    output: &Tensor,
) -> Result<Vec<Grad>, CaseError> {
    let grad_output = match &case.grad_output {
        Some(g) => to_tensor(g).map_err(torch_error)?,
        None => output.f_ones_like().map_err(torch_error)?,
    };
    // `output.backward(grad_output)` checks the shapes in Python before autograd runs;
    // the product below would broadcast them instead.
    let (given, own) = (grad_output.size(), output.size());
    if given != own {
        let size = |s: &[i64]| {
            let dims: Vec<String> = s.iter().map(|d| d.to_string()).collect();
            format!("torch.Size([{}])", dims.join(", "))
        };
        return Err(CaseError::new(
            "RuntimeError",
            format!(
                "Mismatch in shape: grad_output[0] has a shape of {} and output[0] has a shape \
                 of {}.",
                size(&given),
                size(&own)
            ),
        ));
    }
    let total = (output.f_mul(&grad_output))
        .and_then(|t| t.f_sum(None::<Kind>))
        .map_err(torch_error)?;
    // torch.autograd.grad's own check (libtorch's engine, which tch calls directly,
    // does not make it and crashes on a root without a graph): reached when grad_wrt
    // names only tensors the output does not depend on (a target that is only compared).
    if !total.requires_grad() {
        return Err(CaseError::new(
            "RuntimeError",
            "element 0 of tensors does not require grad and does not have a grad_fn",
        ));
    }
    let grads = Tensor::f_run_backward(&[total], inputs, false, false).map_err(torch_error)?;
    if grads.len() != wrt.len() {
        return Err(CaseError::new(
            "RuntimeError",
            "libtorch returned another number of gradients than asked for",
        ));
    }
    wrt.iter()
        .zip(grads.into_iter().zip(inputs))
        .map(|(&name, (grad, input))| {
            let grad = if grad.defined() {
                grad
            } else {
                input.f_zeros_like().map_err(torch_error)?
            };
            Ok(Grad {
                wrt: name,
                tensor: from_tensor(&grad).map_err(torch_error)?,
            })
        })
        .collect()
}
