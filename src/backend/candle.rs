//! candle (candle-core and candle-nn 0.11) as a subject, behind the feature `candle`:
//! each case called the way candle's users call it, through candle-nn's own loss
//! functions and candle's autodiff, on the CPU, in the case's dtype (a float16 case is
//! an `F16` tensor: the values are exact in that type, so making the tensor from the
//! case's numbers rounds nothing).
//!
//! | op | candle call |
//! | --- | --- |
//! | `log_softmax` | `candle_nn::ops::log_softmax(x, dim)` |
//! | `softmax` | `candle_nn::ops::softmax_last_dim(x)` over the last dimension, else `candle_nn::ops::softmax(x, dim)` |
//! | `cross_entropy` | `candle_nn::loss::cross_entropy(input, target)` |
//! | `nll_loss` | `candle_nn::loss::nll(input, target)` |
//! | `binary_cross_entropy_with_logits` | `candle_nn::loss::binary_cross_entropy_with_logit(input, target)` |
//! | `mse_loss` | `candle_nn::loss::mse(input, target)` |
//! | `huber_loss` | `candle_nn::loss::huber(input, target, delta)` |
//!
//! What candle cannot express is [`supports`](Backend::supports)' `Err`, counted as
//! unsupported rather than compared: the losses take the mean only, with no class
//! weights, `ignore_index` (a case with a target equal to it, which PyTorch would
//! skip), label smoothing, probability targets or `pos_weight`;
//! `cross_entropy` and `nll_loss` take `(N, C)` inputs only; tensors of one dtype (candle
//! does not promote); no broadcasting of `input` and `target`. Errors keep candle's
//! message (they never read like PyTorch's; the kind is `RuntimeError`), and a panic
//! is caught and reported as such.

use candle_core::{DType as CandleDType, Device, Tensor, Var};

use super::framework::{framework_error, guarded, one_float_dtype};
use super::process::failure;
use super::Backend;
use crate::case::{Arg, Case, CaseError, Computed, DType, Grad, Outcome, TensorData, Values};

/// candle-nn's losses.
#[derive(Debug, Default, Clone, Copy)]
pub struct CandleBackend;

impl Backend for CandleBackend {
    fn name(&self) -> &str {
        "candle"
    }

    fn supports(&self, case: &Case) -> Result<(), String> {
        one_float_dtype(case, "candle")?;
        let input = case.input();
        let given = |name: &str| case.arg(name).is_some();
        let only_mean = || match case.reduction_name() {
            "mean" => Ok(()),
            other => Err(format!(
                "candle-nn's losses take the mean only, not {other:?}"
            )),
        };
        let same_shape = || match case.target() {
            Some(t) if t.shape == input.shape && t.dtype.is_float() => Ok(()),
            _ => Err("candle takes a float target of the input's shape".to_string()),
        };
        let rank = input.shape.len() as i64;
        match case.op.name() {
            "log_softmax" | "softmax" => {
                let dim = case.dim().unwrap_or(0);
                if rank == 0 || dim < -rank || dim >= rank {
                    return Err("candle takes a dim of the input's dimensions".into());
                }
                Ok(())
            }
            "cross_entropy" | "nll_loss" => {
                only_mean()?;
                if given("weight") {
                    return Err("candle-nn has no class weights".into());
                }
                if case.label_smoothing() != 0.0 {
                    return Err("candle-nn has no label smoothing".into());
                }
                let target = case.target().ok_or("no target")?;
                if target.dtype.is_float() {
                    return Err("candle-nn takes class indices, not probabilities".into());
                }
                if input.shape.len() != 2 || target.shape.len() != 1 {
                    return Err("candle-nn takes an (N, C) input and an (N) target".into());
                }
                // Without a target equal to `ignore_index`, PyTorch ignores nothing and
                // candle's lack of the option changes nothing.
                if let Values::Int(t) = &target.values {
                    if t.contains(&case.ignore_index()) {
                        return Err("a target PyTorch ignores (candle has no ignore_index)".into());
                    }
                }
                Ok(())
            }
            "binary_cross_entropy_with_logits" => {
                only_mean()?;
                for option in ["weight", "pos_weight"] {
                    if given(option) {
                        return Err(format!("candle-nn has no {option}"));
                    }
                }
                same_shape()
            }
            "mse_loss" | "huber_loss" => {
                only_mean()?;
                if given("weight") {
                    return Err("candle-nn has no weight".into());
                }
                same_shape()
            }
            other => Err(format!("candle-nn has no {other}")),
        }
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        Outcome {
            id: case.id.clone(),
            result: guarded(|| run(case)),
        }
    }
}

fn dtype_of(dtype: DType) -> CandleDType {
    match dtype {
        DType::Float32 => CandleDType::F32,
        DType::Float64 => CandleDType::F64,
        DType::Float16 => CandleDType::F16,
        DType::BFloat16 => CandleDType::BF16,
        DType::Int64 => CandleDType::I64,
        DType::UInt8 => CandleDType::U8,
    }
}

fn case_dtype(dtype: CandleDType) -> Option<DType> {
    Some(match dtype {
        CandleDType::F32 => DType::Float32,
        CandleDType::F64 => DType::Float64,
        CandleDType::F16 => DType::Float16,
        CandleDType::BF16 => DType::BFloat16,
        CandleDType::I64 => DType::Int64,
        CandleDType::U8 => DType::UInt8,
        _ => return None,
    })
}

fn to_candle(t: &TensorData) -> candle_core::Result<Tensor> {
    let shape = t.shape.clone();
    let flat = match &t.values {
        Values::Float(v) => Tensor::from_vec(v.clone(), shape, &Device::Cpu)?,
        Values::Int(v) => Tensor::from_vec(v.clone(), shape, &Device::Cpu)?,
    };
    flat.to_dtype(dtype_of(t.dtype))
}

fn from_candle(t: &Tensor) -> Result<TensorData, CaseError> {
    let dtype = case_dtype(t.dtype()).ok_or_else(|| {
        CaseError::new(
            failure::BAD_OUTCOME,
            format!("candle returned a {:?} tensor", t.dtype()),
        )
    })?;
    let shape = t.dims().to_vec();
    let flat = t.flatten_all().map_err(framework_error)?;
    Ok(if dtype.is_float() {
        let values = flat
            .to_dtype(CandleDType::F64)
            .and_then(|f| f.to_vec1::<f64>())
            .map_err(framework_error)?;
        TensorData::float(dtype, shape, values)
    } else {
        let values = flat
            .to_dtype(CandleDType::I64)
            .and_then(|f| f.to_vec1::<i64>())
            .map_err(framework_error)?;
        TensorData::int(dtype, shape, values)
    })
}

fn run(case: &Case) -> Result<Computed, CaseError> {
    let wrt = case.grad_wrt();
    let mut tensors: Vec<(&'static str, Tensor)> = Vec::new();
    let mut vars: Vec<(&'static str, Var)> = Vec::new();
    for (name, arg) in case.args() {
        if let Arg::Tensor(t) = arg {
            let tensor = to_candle(t).map_err(framework_error)?;
            if wrt.contains(&name) {
                let var = Var::from_tensor(&tensor).map_err(framework_error)?;
                tensors.push((name, var.as_tensor().clone()));
                vars.push((name, var));
            } else {
                tensors.push((name, tensor));
            }
        }
    }
    let get = |name: &str| {
        tensors
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| CaseError::new("TypeError", format!("missing {name}")))
    };
    let input = get("input")?;
    let rank = input.rank();
    let dim = || case.dim().unwrap_or(0).rem_euclid(rank.max(1) as i64) as usize;
    let output = match case.op.name() {
        "log_softmax" => candle_nn::ops::log_softmax(input, dim()),
        "softmax" if dim() + 1 == rank => candle_nn::ops::softmax_last_dim(input),
        "softmax" => candle_nn::ops::softmax(input, dim()),
        "cross_entropy" => candle_nn::loss::cross_entropy(input, get("target")?),
        "nll_loss" => candle_nn::loss::nll(input, get("target")?),
        "binary_cross_entropy_with_logits" => {
            candle_nn::loss::binary_cross_entropy_with_logit(input, get("target")?)
        }
        "mse_loss" => candle_nn::loss::mse(input, get("target")?),
        "huber_loss" => {
            candle_nn::loss::huber(input, get("target")?, case.float("delta").unwrap_or(1.0))
        }
        other => {
            return Err(CaseError::new(
                "NotImplementedError",
                format!("candle-nn has no {other}"),
            ))
        }
    }
    .map_err(framework_error)?;
    let grads = case.grad.then(|| gradients(case, &output, &vars));
    Ok(Computed {
        output: from_candle(&output)?,
        grads,
    })
}

/// The gradients of `sum(output * grad_output)` by candle's autodiff; zeros for a
/// tensor the output does not depend on.
fn gradients(
    case: &Case,
    output: &Tensor,
    vars: &[(&'static str, Var)],
) -> Result<Vec<Grad>, CaseError> {
    let grad_output = match &case.grad_output {
        Some(g) => to_candle(g),
        None => output.ones_like(),
    }
    .map_err(framework_error)?;
    let total = output
        .mul(&grad_output)
        .and_then(|t| t.sum_all())
        .map_err(framework_error)?;
    let store = total.backward().map_err(framework_error)?;
    vars.iter()
        .map(|(name, var)| {
            let grad = match store.get(var.as_tensor()) {
                Some(g) => g.clone(),
                None => var.as_tensor().zeros_like().map_err(framework_error)?,
            };
            Ok(Grad {
                wrt: name,
                tensor: from_candle(&grad)?,
            })
        })
        .collect()
}
