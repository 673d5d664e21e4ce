//! `linear_cross_entropy`: `cross_entropy(linear(input, linear_weight, linear_bias),
//! target)`, PyTorch 2.13's reference semantics (`options=None`, the only call the case
//! format can write).
//!
//! libtorch has no aten `linear_cross_entropy` (neither `torch.ops.aten` nor tch 0.26
//! binds one): `torch.nn.functional.linear_cross_entropy` is written in Python. The
//! libtorch side composes it as `torch/nn/functional.py` does: its shape checks first
//! (each a `RuntimeError` with Python's message, in Python's order), the K-dimensional
//! `linear_weight` and bias flattened to `(C * d1..dK, in_features)`, `linear`, the
//! logits reshaped to `(N, C, d1..dK)`, then `cross_entropy` with `ignore_index` -100
//! when it was not given. The Rust side makes the same checks, then the errors `linear`
//! raises for mixed dtypes (`addmm`'s and `mm`'s messages), then hands everything
//! `cross_entropy` would check to `cross_entropy`'s own Rust evaluation on logits of
//! the right shape, and computes with `lossparity_losses::linear_cross_entropy`.
//!
//! Autograd differentiates `input`, `linear_weight`, `linear_bias`, and, with class
//! probabilities, `target` and the class `weight`; with class indices a `weight` that
//! requires grad is `nll_loss`'s refusal, as for `cross_entropy`.
//!
//! Compared under the tolerance policy, as `cross_entropy` (libtorch's `exp` is
//! vectorised) and because the logits are a matrix product whose summation order is
//! MKL's on one side and the `gemm` crate's on the other.

use std::cell::OnceCell;

use proptest::strategy::Strategy;

use super::cross_entropy::CrossEntropy;
use super::{Default, Kind, OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, laid_floats, loss_tensors, CaseFloat, TypedOp};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed, DType, Op, TensorData};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::internals::check_linear_cross_entropy_shapes;
use crate::losses::{self, LinearCrossEntropyGrads, LinearCrossEntropyOptions, LossError};

/// `torch.nn.functional.linear_cross_entropy(input, linear_weight, target, *,
/// linear_bias=None, weight=None, reduction='mean', ignore_index=None,
/// label_smoothing=0.0)` (`options`, an option object, is not part of the case format).
pub static LINEAR_CROSS_ENTROPY: OpSpec = OpSpec {
    name: "linear_cross_entropy",
    params: &[
        Param::tensor("input", Default::Required),
        Param::tensor("linear_weight", Default::Required),
        Param::tensor("target", Default::Required),
        Param::tensor("linear_bias", Default::Absent),
        Param::tensor("weight", Default::Absent),
        REDUCTION,
        // `None` by default: -100 for class indices, and any value given at all is
        // an error with class probabilities.
        Param {
            name: "ignore_index",
            kind: Kind::Int,
            default: Default::Absent,
        },
        Param {
            name: "label_smoothing",
            kind: Kind::Float,
            default: Default::Float(0.0),
        },
    ],
    differentiable: &["input", "linear_weight", "linear_bias", "target", "weight"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: linear_cross_entropy,
    #[cfg(feature = "torch")]
    torch: linear_cross_entropy_torch,
    reference: crate::reference::linear_cross_entropy_op,
    strategy: || crate::strategies::linear_cross_entropy_case().sboxed(),
    reading: explain::linear::reading,
    findings: explain::linear::findings,
    cases: None,
};

/// The logits' shape, or the error of the checks written in Python.
pub(crate) fn python_checks(case: &Case) -> Result<Vec<usize>, LossError> {
    let empty = Vec::new();
    let shape = |n: &str| case.tensor(n).map(|t| &t.shape);
    check_linear_cross_entropy_shapes(
        &case.input().shape,
        shape("linear_weight").unwrap_or(&empty),
        shape("linear_bias").map(|s| s.as_slice()),
        shape("target").unwrap_or(&empty),
        case.int("ignore_index").is_some(),
    )
}

/// A dtype as the C++ type `mm`'s message names it.
fn c_type(dtype: DType) -> &'static str {
    match dtype {
        DType::Float32 => "float",
        DType::Float64 => "double",
        DType::Float16 => "c10::Half",
        DType::BFloat16 => "c10::BFloat16",
        DType::Int64 => "long int",
        DType::UInt8 => "unsigned char",
    }
}

/// `linear`'s error for operands of different dtypes: `addmm(bias, input, W^T)` checks
/// the bias against the weight first, then the input; `mm(input, W^T)` (no bias)
/// names the two as C++ types.
fn linear_dtype_error(case: &Case) -> Option<CaseError> {
    let x = case.input().dtype;
    let w = case.tensor("linear_weight")?.dtype;
    let hint = |what: &str, found: DType| {
        format!(
            "{what} is {} but linear_weight is {}; the linear layer does not convert: \
             pass {what}.to(linear_weight.dtype)",
            found.name(),
            w.name()
        )
    };
    match case.tensor("linear_bias").map(|b| b.dtype) {
        Some(b) if b != w => Some(
            CaseError::new(
                "RuntimeError",
                format!(
                    "self and mat2 must have the same dtype, but got {} and {}",
                    b.torch_name(),
                    w.torch_name()
                ),
            )
            .with_hint(hint("linear_bias", b)),
        ),
        Some(_) if x != w => Some(
            CaseError::new(
                "RuntimeError",
                format!(
                    "mat1 and mat2 must have the same dtype, but got {} and {}",
                    x.torch_name(),
                    w.torch_name()
                ),
            )
            .with_hint(hint("input", x)),
        ),
        None if x != w => Some(
            CaseError::new(
                "RuntimeError",
                format!(
                    "expected m1 and m2 to have the same dtype, but got: {} != {}",
                    c_type(x),
                    c_type(w)
                ),
            )
            .with_hint(hint("input", x)),
        ),
        _ => None,
    }
}

/// The `cross_entropy` call `linear_cross_entropy` makes: logits of `shape` (zeros of
/// the input's dtype; only their shape and dtype matter to what it is used for), the
/// case's target, class weight and options, `ignore_index` -100 when not given, and
/// the gradients asked for as `cross_entropy` sees them (the linear layer's tensors
/// are its input's).
pub(crate) fn cross_entropy_call(case: &Case, shape: &[usize]) -> Case {
    let n: usize = shape.iter().product();
    let dtype = case.input().dtype;
    let logits = if dtype.is_float() {
        TensorData::float(dtype, shape.to_vec(), vec![0.0; n])
    } else {
        TensorData::int(dtype, shape.to_vec(), vec![0; n])
    };
    let mut ce = Case::new(Op::CROSS_ENTROPY, logits);
    ce.id = case.id.clone();
    ce.set_tensor("target", case.target().cloned());
    ce.set_tensor("weight", case.weight().cloned());
    ce.set_arg("ignore_index", case.int("ignore_index").unwrap_or(-100));
    ce.set_arg("reduction", case.reduction());
    ce.set_arg("label_smoothing", case.label_smoothing());
    ce.grad = case.grad;
    ce.grad_output = case.grad_output.clone();
    if case.grad {
        let mut wrt: Vec<&'static str> = Vec::new();
        for name in case.grad_wrt() {
            let seen = match name {
                "target" | "weight" => name,
                _ => "input",
            };
            if !wrt.contains(&seen) {
                wrt.push(seen);
            }
        }
        ce.grad_wrt = Some(wrt);
    }
    ce
}

fn missing(name: &str) -> CaseError {
    CaseError::invalid_case(format!("missing {name}"))
}

/// Python's checks, `linear`'s dtype errors, `cross_entropy`'s refusals and dtype
/// errors (from its own evaluation), then the loss in the input's type.
fn linear_cross_entropy(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    let shape = python_checks(case).map_err(case_error)?;
    if let Some(e) = linear_dtype_error(case) {
        return Err(e);
    }
    let ce = cross_entropy_call(case, &shape);
    if let Some(e) = CrossEntropy::refusal(&ce) {
        return Err(e);
    }
    match case.input().dtype {
        DType::Float32 => typed::<f32>(case, &ce, layout),
        DType::Float64 => typed::<f64>(case, &ce, layout),
        // Integer logits reach `cross_entropy` (`mm` multiplies integers), whose
        // `log_softmax` refuses them; half-precision ones the Rust losses do not
        // compute, as for `cross_entropy`.
        DType::Int64 | DType::UInt8 => match (Op::CROSS_ENTROPY.spec().rust)(&ce, layout) {
            Err(e) => Err(e),
            Ok(_) => Err(CaseError::invalid_case("integer logits computed")),
        },
        DType::Float16 | DType::BFloat16 => Err(crate::backend::rust::half_unsupported(case)),
    }
}

fn typed<F: CaseFloat>(
    case: &Case,
    ce: &Case,
    layout: MemoryLayout,
) -> Result<Computed, CaseError> {
    let (target, weight) = loss_tensors::<F>(ce, layout)?;
    let input = laid_floats::<F>(case.input(), "input", layout)?;
    let linear_weight = case
        .tensor("linear_weight")
        .ok_or_else(|| missing("linear_weight"))?;
    let linear_weight = laid_floats::<F>(linear_weight, "linear_weight", layout)?;
    let bias = case
        .tensor("linear_bias")
        .map(|b| laid_floats::<F>(b, "linear_bias", layout))
        .transpose()?;
    let options = LinearCrossEntropyOptions {
        linear_bias: bias.as_ref().map(|b| b.view()),
        weight: weight.as_ref().map(|w| w.view()),
        reduction: case.reduction(),
        ignore_index: case.int("ignore_index"),
        label_smoothing: case.label_smoothing(),
    };
    let (x, w) = (input.view(), linear_weight.view());
    // One backward gives all three of the linear layer's gradients.
    let linear_grads: OnceCell<Result<LinearCrossEntropyGrads<F>, LossError>> = OnceCell::new();
    let backward = |wrt: &str, go: &ndarray::ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| {
        let (go, x, w, t) = (go.view(), x.view(), w.view(), target.view());
        match wrt {
            "target" => losses::linear_cross_entropy_target_backward(go, x, w, t, &options),
            "weight" => losses::linear_cross_entropy_weight_backward(go, x, w, t, &options),
            _ => {
                let grads = linear_grads
                    .get_or_init(|| losses::linear_cross_entropy_backward(go, x, w, t, &options))
                    .clone()?;
                Ok(match wrt {
                    "linear_weight" => grads.linear_weight,
                    // The parser lets grad_wrt name only tensors the case gives.
                    "linear_bias" => grads
                        .linear_bias
                        .unwrap_or_else(|| ndarray::ArrayD::zeros(ndarray::IxDyn(&[0]))),
                    _ => grads.input,
                })
            }
        }
    };
    computed(
        case,
        layout,
        losses::linear_cross_entropy(x.view(), w.view(), target.view(), &options),
        &backward,
    )
}

/// `F.linear_cross_entropy` as `torch/nn/functional.py` writes it: its checks, then
/// `linear` on the flattened weight and bias, the logits reshaped, `cross_entropy`.
#[cfg(feature = "torch")]
fn linear_cross_entropy_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let logits_shape =
        python_checks(case).map_err(|e| CaseError::new(e.kind().as_str(), e.message()))?;
    let get = |n: &str| t(n).ok_or_else(|| super::softmax::missing(n));
    let input = get("input")?;
    let mut linear_weight = get("linear_weight")?;
    let mut bias = t("linear_bias");
    let w_shape = linear_weight.size();
    if w_shape.len() > 2 {
        let in_features = w_shape[w_shape.len() - 1];
        let outputs: i64 = w_shape[..w_shape.len() - 1].iter().product();
        linear_weight = linear_weight
            .f_reshape([outputs, in_features])
            .map_err(crate::backend::torch_error)?;
        if let Some(b) = bias {
            bias = Some(
                b.f_reshape([outputs])
                    .map_err(crate::backend::torch_error)?,
            );
        }
    }
    let shape: Vec<i64> = logits_shape.iter().map(|&d| d as i64).collect();
    let logits = input
        .f_linear(&linear_weight, bias.as_ref())
        .and_then(|l| l.f_reshape(shape.as_slice()))
        .map_err(crate::backend::torch_error)?;
    logits
        .f_cross_entropy_loss(
            &get("target")?,
            t("weight").as_ref(),
            super::nll_loss::torch_reduction(case),
            case.int("ignore_index").unwrap_or(-100),
            case.label_smoothing(),
        )
        .map_err(crate::backend::torch_error)
}
