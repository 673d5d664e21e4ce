//! burn (burn 0.23, its pure-Rust CPU backend `flex` with autodiff) as a subject, behind
//! the feature `burn`: each case called the way burn's users call it, through burn-nn's
//! own loss modules (and burn's activations and functional losses), on a
//! `Device::flex().autodiff()` device, in the case's dtype (a float16 case is an `F16`
//! tensor: the values are exact in that type, so making the tensor from the case's
//! numbers rounds nothing).
//!
//! | op | burn call |
//! | --- | --- |
//! | `log_softmax` | `burn::tensor::activation::log_softmax(x, dim)` |
//! | `softmax` | `burn::tensor::activation::softmax(x, dim)` |
//! | `cross_entropy` | `CrossEntropyLossConfig::new()` `.with_weights`, `.with_smoothing`, `.with_pad_tokens` `.init(device).forward(logits, targets)`; probability targets: `burn::tensor::loss::cross_entropy_with_logits(logits, probs)` |
//! | `binary_cross_entropy` | `BinaryCrossEntropyLossConfig::new()` `.with_weights` `.init(device).forward(probs, targets)` |
//! | `binary_cross_entropy_with_logits` | `BinaryCrossEntropyLossConfig::new().with_logits(true)` `.with_weights` `.init(device).forward(logits, targets)` |
//! | `mse_loss` | `MseLoss::new().forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `l1_loss` | `LpLossConfig::l1().forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `smooth_l1_loss` | `SmoothL1LossConfig::new().with_beta(beta).init()` `.forward_with_reduction(x, y, reduction)`, `.forward(x, y)` |
//! | `huber_loss` | `HuberLossConfig::new(delta).init().forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `soft_margin_loss` | `SoftMarginLoss::new().forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `kl_div` | `KLDivLossConfig::new().with_log_target(b).init().forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `poisson_nll_loss` | `PoissonNllLossConfig::new()` `.with_log_input`, `.with_full`, `.with_eps` `.init().forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `gaussian_nll_loss` | `GaussianNLLLossConfig::new().with_full(b).with_eps(eps).init()` `.forward(x, y, var, reduction)`, `.forward_no_reduction(x, y, var)` |
//! | `hinge_embedding_loss` | `HingeEmbeddingLossConfig::new().with_margin(m).init()` `.forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `margin_ranking_loss` | `MarginRankingLossConfig::new().with_margin(m).init()` `.forward(x1, x2, y, reduction)`, `.forward_no_reduction(x1, x2, y)` |
//! | `cosine_embedding_loss` | `CosineEmbeddingLossConfig::new().with_margin(m).with_reduction(r).init()` `.forward(x1, x2, y)`, `.forward_no_reduction(x1, x2, y)` |
//! | `multi_margin_loss` | `MultiMarginLossConfig::new().with_p(p).with_margin(m).init()` `.forward(x, y, reduction)`, `.forward_no_reduction(x, y)` |
//! | `triplet_margin_loss` | `TripletMarginLossConfig::new().with_margin(m).with_p(p).init()` `.forward(a, p, n, reduction)`, `.forward_no_reduction(a, p, n)` |
//! | `triplet_margin_with_distance_loss` | the same with `p = 2` (PyTorch's default distance is `pairwise_distance`) |
//! | `ctc_loss` | `CTCLossConfig::new().with_blank(b).with_zero_infinity(z).init()` `.forward_with_reduction(lp, t, il, tl, reduction)`, `.forward(lp, t, il, tl)` |
//!
//! PyTorch's `reduction` is burn's `Reduction` (`Mean`, `Sum`, `BatchMean` for
//! `kl_div`'s `batchmean`); `none` is the loss's `forward_no_reduction` (or, where burn's
//! `forward` is the unreduced one, that). burn has no 0-d tensors: a reduced loss is a
//! tensor of shape `[1]` (its users read it with `into_scalar`), reported as the scalar
//! PyTorch returns. Options are mapped only where burn has the same meaning: class
//! weights (burn takes them as a `Vec<f32>`), `label_smoothing` (burn's `smoothing`), an
//! `ignore_index` of 0 or more (burn's `pad_tokens`, a `Vec<usize>`); numbers burn takes
//! as `f32` (`delta`, `beta`, `smoothing`, the cosine `margin`) are rounded to it.
//!
//! What burn cannot express is [`supports`](Backend::supports)' `Err`, counted as
//! unsupported rather than compared:
//!
//! - the ops burn-nn has no loss for: `nll_loss` (`CrossEntropyLoss` takes logits or
//!   probabilities, not log-probabilities), `linear_cross_entropy`,
//!   `multilabel_soft_margin_loss`, `multilabel_margin_loss`;
//! - 0-d tensors (burn has none) and ranks above 6; tensors of two float dtypes (burn
//!   does not promote); one argument broadcast against another;
//! - `cross_entropy` other than the mean, of an input other than `(N, C)` (probability
//!   targets: `(C)` or `(N, C)`, without weights or smoothing), or with a target equal
//!   to a negative `ignore_index` (burn's pad tokens are `usize`);
//! - binary cross entropy other than the mean, with targets other than 0 and 1 (burn's
//!   are an `Int` tensor), weights other than one per class of the last dimension of a
//!   2-d or larger input, or `pos_weight`;
//! - `mse_loss`, `l1_loss`, `huber_loss` and `multi_margin_loss` with a `weight`;
//!   `gaussian_nll_loss` with a `var` that is a number or of another shape;
//!   `cosine_embedding_loss` with a target that is not integral;
//! - the triplet losses with `swap`, or an `eps` other than PyTorch's default or 0 (burn
//!   has none);
//! - `ctc_loss` with unbatched `log_probs`, 1-d (concatenated) targets or a negative
//!   `blank`;
//! - a gradient with respect to a tensor burn takes as `Int` or as a `Vec<f32>` of its
//!   config (binary cross entropy and cosine targets, class weights).
//!
//! burn checks shapes and options with `assert!` where PyTorch raises: a panic is caught
//! and reported as such (kind `Panic`, the message on one line); an error burn returns
//! keeps its first line (kind `RuntimeError`). Some of burn's checks are
//! `debug_assert!`s, so a release build runs cases a debug build refuses.

use burn::nn::loss::{
    BinaryCrossEntropyLossConfig, CTCLossConfig, CosineEmbeddingLossConfig, CrossEntropyLossConfig,
    GaussianNLLLossConfig, HingeEmbeddingLossConfig, HuberLossConfig, KLDivLossConfig,
    LpLossConfig, MarginRankingLossConfig, MseLoss, MultiMarginLossConfig, PoissonNllLossConfig,
    Reduction, SmoothL1LossConfig, SoftMarginLoss, TripletMarginLossConfig,
};
use burn::tensor::{
    activation, loss as functional, DType as BurnDType, Device, Int, Tensor, TensorData as BurnData,
};

use super::framework::{framework_error, guarded, one_float_dtype};
use super::process::failure;
use super::Backend;
use crate::case::{Arg, Case, CaseError, Computed, DType, Grad, Outcome, TensorData, Values};

/// The largest rank the subject instantiates burn's const-generic tensors for.
const MAX_RANK: usize = 6;

/// PyTorch's default `eps` of the triplet losses' `pairwise_distance`.
const TRIPLET_EPS: f64 = 1e-6;

/// burn-nn's losses on burn's `flex` CPU backend with autodiff.
#[derive(Debug, Default, Clone, Copy)]
pub struct BurnBackend;

impl Backend for BurnBackend {
    fn name(&self) -> &str {
        "burn"
    }

    fn supports(&self, case: &Case) -> Result<(), String> {
        supports(case)
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        let result = guarded(|| run(case));
        Outcome {
            id: case.id.clone(),
            result,
        }
    }
}

fn supports(case: &Case) -> Result<(), String> {
    one_float_dtype(case, "burn")?;
    let input = case.input();
    let wrt = case.grad_wrt();
    let given = |name: &str| case.arg(name).is_some();
    let tensor = |name: &str| {
        case.tensor(name)
            .ok_or_else(|| format!("burn takes {name} as a tensor"))
    };
    let ranked = |name: &str, rank: Option<usize>| -> Result<(), String> {
        let t = tensor(name)?;
        let r = t.shape.len();
        match rank {
            Some(want) if r != want => Err(format!("burn takes a {want}-d {name}, not {r}-d")),
            None if r == 0 => Err(format!("burn has no 0-d tensors ({name})")),
            None if r > MAX_RANK => Err(format!("{name} has rank {r}: more than {MAX_RANK}")),
            _ => Ok(()),
        }
    };
    let float_like_input = |name: &str| -> Result<(), String> {
        let t = tensor(name)?;
        if !t.dtype.is_float() {
            return Err(format!("burn takes {name} as a float tensor"));
        }
        if t.shape != input.shape {
            return Err(format!(
                "burn takes {name} of the input's shape (no broadcasting)"
            ));
        }
        Ok(())
    };
    let reduction = |allowed: &[&str]| {
        let r = case.reduction_name();
        if allowed.contains(&r) {
            Ok(())
        } else {
            Err(format!("burn's loss has no reduction {r:?}"))
        }
    };
    let absent = |option: &str| {
        if given(option) {
            Err(format!("burn's loss has no {option}"))
        } else {
            Ok(())
        }
    };
    let not_wrt = |name: &str, why: &str| {
        if wrt.contains(&name) {
            Err(format!("no gradient of {name}: {why}"))
        } else {
            Ok(())
        }
    };
    let int_values = |name: &str, allowed: &dyn Fn(f64) -> bool| -> Result<(), String> {
        let t = tensor(name)?;
        match &t.values {
            Values::Int(_) => Ok(()),
            Values::Float(v) if v.iter().all(|&x| allowed(x)) => Ok(()),
            Values::Float(_) => Err(format!(
                "burn takes {name} as an Int tensor: these values are not"
            )),
        }
    };
    const ALL: &[&str] = &["none", "mean", "sum"];
    match case.op.name() {
        "log_softmax" | "softmax" => ranked("input", None),
        "cross_entropy" => {
            reduction(&["mean"])?;
            not_wrt(
                "weight",
                "burn's class weights are a Vec<f32> of its config",
            )?;
            let target = tensor("target")?;
            if target.dtype.is_float() {
                if input.shape.len() > 2 {
                    return Err(
                        "burn's cross_entropy_with_logits takes classes on the last dimension"
                            .into(),
                    );
                }
                ranked("input", None)?;
                float_like_input("target")?;
                absent("weight")?;
                if case.label_smoothing() != 0.0 {
                    return Err("burn has no label smoothing for probability targets".into());
                }
                return Ok(());
            }
            ranked("input", Some(2))?;
            ranked("target", Some(1))?;
            let ignore = case.ignore_index();
            if ignore < 0 {
                if let Values::Int(t) = &target.values {
                    if t.contains(&ignore) {
                        return Err("a target PyTorch ignores (burn's pad_tokens are usize)".into());
                    }
                }
            }
            if let Some(w) = case.weight() {
                if !w.dtype.is_float() {
                    return Err("burn takes float class weights".into());
                }
            }
            Ok(())
        }
        "binary_cross_entropy" | "binary_cross_entropy_with_logits" => {
            reduction(&["mean"])?;
            absent("pos_weight")?;
            ranked("input", None)?;
            float_like_input("target")?;
            not_wrt("target", "burn's targets are an Int tensor")?;
            not_wrt("weight", "burn's weights are a Vec<f32> of its config")?;
            int_values("target", &|x| x == 0.0 || x == 1.0)?;
            if let Some(w) = case.weight() {
                let classes = input.shape.last().copied();
                if input.shape.len() < 2
                    || w.shape.len() != 1
                    || w.shape.first() != classes.as_ref()
                {
                    return Err(
                        "burn's weights are one per class of the last dimension of a 2-d or more input"
                            .into(),
                    );
                }
            }
            Ok(())
        }
        "mse_loss" | "l1_loss" | "huber_loss" => {
            reduction(ALL)?;
            absent("weight")?;
            ranked("input", None)?;
            float_like_input("target")
        }
        "smooth_l1_loss" | "soft_margin_loss" | "poisson_nll_loss" | "hinge_embedding_loss" => {
            reduction(ALL)?;
            ranked("input", None)?;
            float_like_input("target")
        }
        "kl_div" => {
            reduction(&["none", "mean", "sum", "batchmean"])?;
            ranked("input", None)?;
            float_like_input("target")
        }
        "gaussian_nll_loss" => {
            reduction(ALL)?;
            ranked("input", None)?;
            float_like_input("target")?;
            if !matches!(case.arg("var"), Some(Arg::Tensor(_))) {
                return Err("burn takes var as a tensor".into());
            }
            float_like_input("var")
        }
        "margin_ranking_loss" => {
            reduction(ALL)?;
            ranked("input1", None)?;
            for name in ["input2", "target"] {
                let t = tensor(name)?;
                if !t.dtype.is_float() || t.shape != tensor("input1")?.shape {
                    return Err(format!(
                        "burn takes float tensors of one shape (no broadcasting): {name}"
                    ));
                }
            }
            Ok(())
        }
        "cosine_embedding_loss" => {
            reduction(ALL)?;
            ranked("input1", Some(2))?;
            ranked("target", Some(1))?;
            let shape = &tensor("input1")?.shape;
            if tensor("input2")?.shape != *shape {
                return Err("burn takes input1 and input2 of one shape".into());
            }
            if tensor("target")?.shape[..] != shape[..1] {
                return Err("burn takes a target of the batch's size (no broadcasting)".into());
            }
            not_wrt("target", "burn's target is an Int tensor")?;
            int_values("target", &|x| x.fract() == 0.0 && x.abs() < 9.0e15)
        }
        "multi_margin_loss" => {
            reduction(ALL)?;
            absent("weight")?;
            ranked("input", Some(2))?;
            ranked("target", Some(1))?;
            if tensor("target")?.dtype.is_float() {
                return Err("burn takes class indices".into());
            }
            match case.int("p") {
                Some(p) if i32::try_from(p).is_ok() => Ok(()),
                p => Err(format!("burn's p is an i32, not {p:?}")),
            }
        }
        "triplet_margin_loss" | "triplet_margin_with_distance_loss" => {
            reduction(ALL)?;
            if case.bool("swap") == Some(true) {
                return Err("burn's triplet loss has no swap".into());
            }
            if let Some(eps) = case.float("eps") {
                if eps != TRIPLET_EPS && eps != 0.0 {
                    return Err("burn's triplet loss has no eps".into());
                }
            }
            ranked("anchor", Some(2))?;
            for name in ["positive", "negative"] {
                if tensor(name)?.shape != tensor("anchor")?.shape {
                    return Err(format!("burn takes {name} of the anchor's shape"));
                }
            }
            Ok(())
        }
        "ctc_loss" => {
            reduction(ALL)?;
            ranked("log_probs", Some(3))?;
            ranked("targets", Some(2))?;
            ranked("input_lengths", Some(1))?;
            ranked("target_lengths", Some(1))?;
            for name in ["targets", "input_lengths", "target_lengths"] {
                if tensor(name)?.dtype.is_float() {
                    return Err(format!("burn takes {name} as an Int tensor"));
                }
            }
            match case.int("blank") {
                Some(b) if b >= 0 => Ok(()),
                b => Err(format!("burn's blank is a usize, not {b:?}")),
            }
        }
        other => Err(format!("burn-nn has no {other}")),
    }
}

fn missing(name: &str) -> CaseError {
    CaseError::new("TypeError", format!("missing {name}"))
}

fn burn_dtype(dtype: DType) -> BurnDType {
    match dtype {
        DType::Float32 => BurnDType::F32,
        DType::Float64 => BurnDType::F64,
        DType::Float16 => BurnDType::F16,
        DType::BFloat16 => BurnDType::BF16,
        DType::Int64 => BurnDType::I64,
        DType::UInt8 => BurnDType::U8,
    }
}

fn case_dtype(dtype: BurnDType) -> Option<DType> {
    Some(match dtype {
        BurnDType::F32 => DType::Float32,
        BurnDType::F64 => DType::Float64,
        BurnDType::F16 => DType::Float16,
        BurnDType::BF16 => DType::BFloat16,
        BurnDType::I64 => DType::Int64,
        BurnDType::U8 => DType::UInt8,
        _ => return None,
    })
}

fn rank_error(name: &str, t: &TensorData, rank: usize) -> CaseError {
    CaseError::new(
        "RuntimeError",
        format!(
            "burn subject: {name} has rank {} where {rank} is expected",
            t.shape.len()
        ),
    )
}

/// A float tensor of the case's values, in its dtype.
fn float_tensor<const D: usize>(
    name: &str,
    t: &TensorData,
    device: &Device,
) -> Result<Tensor<D>, CaseError> {
    if t.shape.len() != D {
        return Err(rank_error(name, t, D));
    }
    let values: Vec<f64> = match &t.values {
        Values::Float(v) => v.clone(),
        Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
    };
    let data = BurnData::new(values, t.shape.clone());
    Ok(Tensor::<D>::from_data(data, (device, burn_dtype(t.dtype))))
}

/// An `Int` tensor of the case's values (float values are integral: `supports` checked).
fn int_tensor<const D: usize>(
    name: &str,
    t: &TensorData,
    device: &Device,
) -> Result<Tensor<D, Int>, CaseError> {
    if t.shape.len() != D {
        return Err(rank_error(name, t, D));
    }
    let values: Vec<i64> = match &t.values {
        Values::Int(v) => v.clone(),
        Values::Float(v) => v.iter().map(|&x| x as i64).collect(),
    };
    Ok(Tensor::<D, Int>::from_data(
        BurnData::new(values, t.shape.clone()),
        device,
    ))
}

/// The case's tensor as burn's loss takes it, by name.
fn case_int<const D: usize>(
    case: &Case,
    name: &str,
    device: &Device,
) -> Result<Tensor<D, Int>, CaseError> {
    int_tensor(
        name,
        case.tensor(name).ok_or_else(|| missing(name))?,
        device,
    )
}

/// A burn tensor read back into the case format; a loss reduced to burn's `[1]` is the
/// scalar PyTorch returns.
fn from_burn<const D: usize>(t: Tensor<D>, scalar: bool) -> Result<TensorData, CaseError> {
    let dtype = case_dtype(t.dtype()).ok_or_else(|| {
        CaseError::new(
            failure::BAD_OUTCOME,
            format!("burn returned a {:?} tensor", t.dtype()),
        )
    })?;
    let mut shape = t.dims().to_vec();
    let data = t.try_into_data().map_err(framework_error)?;
    let values = data.try_into_vec_as::<f64>().map_err(framework_error)?;
    if scalar && values.len() == 1 {
        shape.clear();
    }
    Ok(TensorData::float(dtype, shape, values))
}

/// PyTorch's `reduction` as burn's `Reduction`; `None` for `none`.
fn reduction(case: &Case) -> Option<Reduction> {
    match case.reduction_name() {
        "none" => None,
        "sum" => Some(Reduction::Sum),
        "batchmean" => Some(Reduction::BatchMean),
        _ => Some(Reduction::Mean),
    }
}

/// The float tensors of one call, all of rank `D`, those of the case's `grad_wrt`
/// requiring grad.
struct Graph<'a, const D: usize> {
    case: &'a Case,
    device: &'a Device,
    wrt: Vec<&'static str>,
    leaves: Vec<(&'static str, Tensor<D>)>,
}

impl<'a, const D: usize> Graph<'a, D> {
    fn new(case: &'a Case, device: &'a Device) -> Self {
        Graph {
            case,
            device,
            wrt: case.grad_wrt(),
            leaves: Vec::new(),
        }
    }

    /// The float tensor `name`, requiring grad when the case differentiates it.
    fn float(&mut self, name: &'static str) -> Result<Tensor<D>, CaseError> {
        let t = self.case.tensor(name).ok_or_else(|| missing(name))?;
        let x = float_tensor::<D>(name, t, self.device)?;
        Ok(if self.wrt.contains(&name) {
            let x = x.require_grad();
            self.leaves.push((name, x.clone()));
            x
        } else {
            x
        })
    }

    /// The outcome: the output and, when asked, the gradients.
    fn finish<const O: usize>(
        self,
        output: Tensor<O>,
        scalar: bool,
    ) -> Result<Computed, CaseError> {
        let data = from_burn(output.clone(), scalar)?;
        let grads = self.case.grad.then(|| guarded(|| self.gradients(output)));
        Ok(Computed {
            output: data,
            grads,
        })
    }

    /// The gradients of `sum(output * grad_output)` by burn's autodiff; zeros for a
    /// tensor the output does not depend on.
    fn gradients<const O: usize>(&self, output: Tensor<O>) -> Result<Vec<Grad>, CaseError> {
        let grad_output = match &self.case.grad_output {
            Some(g) => {
                let values = g
                    .floats()
                    .ok_or_else(|| CaseError::new("RuntimeError", "grad_output is not float"))?;
                let dims = output.dims();
                if values.len() != dims.iter().product::<usize>() {
                    return Err(CaseError::new(
                        "RuntimeError",
                        format!(
                            "grad_output of shape {:?} does not fit burn's output of shape {dims:?}",
                            g.shape
                        ),
                    ));
                }
                Tensor::<O>::from_data(
                    BurnData::new(values.to_vec(), dims.to_vec()),
                    (self.device, output.dtype()),
                )
            }
            None => output.ones_like(),
        };
        let total = output.mul(grad_output).sum();
        let grads = total.is_tracked().then(|| total.backward());
        self.leaves
            .iter()
            .map(|(name, leaf)| {
                let grad = grads
                    .as_ref()
                    .and_then(|g| leaf.grad(g))
                    .unwrap_or_else(|| leaf.clone().detach().zeros_like());
                Ok(Grad {
                    wrt: name,
                    tensor: from_burn(grad, false)?,
                })
            })
            .collect()
    }
}

/// Instantiates `$f::<D>` for the case's rank.
macro_rules! by_rank {
    ($rank:expr, $f:ident($($arg:expr),*)) => {
        match $rank {
            1 => $f::<1>($($arg),*),
            2 => $f::<2>($($arg),*),
            3 => $f::<3>($($arg),*),
            4 => $f::<4>($($arg),*),
            5 => $f::<5>($($arg),*),
            6 => $f::<6>($($arg),*),
            r => Err(CaseError::new(
                "RuntimeError",
                format!("burn subject: rank {r} is not instantiated"),
            )),
        }
    };
}

/// Finishes with burn's reduced loss, or with its unreduced one for `reduction="none"`.
macro_rules! reduce {
    ($graph:expr, $case:expr, |$r:ident| $reduced:expr, $unreduced:expr) => {
        match reduction($case) {
            Some($r) => $graph.finish($reduced, true),
            None => $graph.finish($unreduced, false),
        }
    };
}

fn run(case: &Case) -> Result<Computed, CaseError> {
    let device = Device::flex().autodiff();
    let device = &device;
    let rank = case.input().shape.len();
    match case.op.name() {
        "log_softmax" | "softmax" => by_rank!(rank, softmax(case, device)),
        "cross_entropy" => match case.target() {
            Some(t) if t.dtype.is_float() => by_rank!(rank, cross_entropy_probs(case, device)),
            _ => cross_entropy(case, device),
        },
        "binary_cross_entropy" | "binary_cross_entropy_with_logits" => {
            by_rank!(rank, binary_cross_entropy(case, device))
        }
        "mse_loss"
        | "l1_loss"
        | "smooth_l1_loss"
        | "huber_loss"
        | "soft_margin_loss"
        | "kl_div"
        | "poisson_nll_loss"
        | "gaussian_nll_loss"
        | "hinge_embedding_loss"
        | "margin_ranking_loss" => by_rank!(rank, pointwise(case, device)),
        "cosine_embedding_loss" => cosine_embedding(case, device),
        "multi_margin_loss" => multi_margin(case, device),
        "triplet_margin_loss" | "triplet_margin_with_distance_loss" => triplet(case, device),
        "ctc_loss" => ctc(case, device),
        other => Err(CaseError::new(
            "NotImplementedError",
            format!("burn-nn has no {other}"),
        )),
    }
}

fn softmax<const D: usize>(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<D>::new(case, device);
    let x = g.float("input")?;
    let dim = case.dim().unwrap_or(0);
    let y = match case.op.name() {
        "log_softmax" => activation::log_softmax(x, dim),
        _ => activation::softmax(x, dim),
    };
    g.finish(y, false)
}

fn cross_entropy(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<2>::new(case, device);
    let logits = g.float("input")?;
    let targets = case_int::<1>(case, "target", device)?;
    let mut config = CrossEntropyLossConfig::new();
    if let Some(w) = case.weight().and_then(TensorData::floats) {
        config = config.with_weights(Some(w.iter().map(|&x| x as f32).collect()));
    }
    let smoothing = case.label_smoothing();
    if smoothing != 0.0 {
        config = config.with_smoothing(Some(smoothing as f32));
    }
    let ignore = case.ignore_index();
    if ignore >= 0 {
        config = config.with_pad_tokens(Some(vec![ignore as usize]));
    }
    let loss = config.init(device).forward(logits, targets);
    g.finish(loss, true)
}

fn cross_entropy_probs<const D: usize>(
    case: &Case,
    device: &Device,
) -> Result<Computed, CaseError> {
    let mut g = Graph::<D>::new(case, device);
    let logits = g.float("input")?;
    let probs = g.float("target")?;
    let loss = functional::cross_entropy_with_logits(logits, probs);
    g.finish(loss, true)
}

fn binary_cross_entropy<const D: usize>(
    case: &Case,
    device: &Device,
) -> Result<Computed, CaseError> {
    let mut g = Graph::<D>::new(case, device);
    let input = g.float("input")?;
    let targets = case_int::<D>(case, "target", device)?;
    let mut config = BinaryCrossEntropyLossConfig::new()
        .with_logits(case.op.name() == "binary_cross_entropy_with_logits");
    if let Some(w) = case.weight().and_then(TensorData::floats) {
        config = config.with_weights(Some(w.iter().map(|&x| x as f32).collect()));
    }
    let loss = config.init(device).forward(input, targets);
    g.finish(loss, true)
}

/// The losses of one input and a target of its shape (and `var`, `input2`).
fn pointwise<const D: usize>(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<D>::new(case, device);
    let float = |name: &str| case.float(name).ok_or_else(|| missing(name));
    let flag = |name: &str| case.bool(name).ok_or_else(|| missing(name));
    if case.op.name() == "margin_ranking_loss" {
        let first = g.float("input1")?;
        let second = g.float("input2")?;
        let target = g.float("target")?;
        let loss = MarginRankingLossConfig::new()
            .with_margin(float("margin")?)
            .init();
        return reduce!(
            g,
            case,
            |r| loss.forward(first, second, target, r),
            loss.forward_no_reduction(first, second, target)
        );
    }
    let x = g.float("input")?;
    let y = g.float("target")?;
    match case.op.name() {
        "mse_loss" => {
            let loss = MseLoss::new();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        "l1_loss" => {
            let loss = LpLossConfig::l1();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        "smooth_l1_loss" => {
            let loss = SmoothL1LossConfig::new()
                .with_beta(float("beta")? as f32)
                .init();
            reduce!(
                g,
                case,
                |r| loss.forward_with_reduction(x, y, r),
                loss.forward(x, y)
            )
        }
        "huber_loss" => {
            let loss = HuberLossConfig::new(float("delta")? as f32).init();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        "soft_margin_loss" => {
            let loss = SoftMarginLoss::new();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        "kl_div" => {
            let loss = KLDivLossConfig::new()
                .with_log_target(flag("log_target")?)
                .init();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        "poisson_nll_loss" => {
            let loss = PoissonNllLossConfig::new()
                .with_log_input(flag("log_input")?)
                .with_full(flag("full")?)
                .with_eps(float("eps")?)
                .init();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        "gaussian_nll_loss" => {
            let var = g.float("var")?;
            let loss = GaussianNLLLossConfig::new()
                .with_full(flag("full")?)
                .with_eps(float("eps")?)
                .init();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, var, r),
                loss.forward_no_reduction(x, y, var)
            )
        }
        "hinge_embedding_loss" => {
            let loss = HingeEmbeddingLossConfig::new()
                .with_margin(float("margin")?)
                .init();
            reduce!(
                g,
                case,
                |r| loss.forward(x, y, r),
                loss.forward_no_reduction(x, y)
            )
        }
        other => Err(CaseError::new(
            "NotImplementedError",
            format!("burn-nn has no {other}"),
        )),
    }
}

fn cosine_embedding(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<2>::new(case, device);
    let first = g.float("input1")?;
    let second = g.float("input2")?;
    let target = case_int::<1>(case, "target", device)?;
    let margin = case.float("margin").ok_or_else(|| missing("margin"))? as f32;
    let config = CosineEmbeddingLossConfig::new().with_margin(margin);
    match reduction(case) {
        Some(r) => {
            let loss = config.with_reduction(r).init();
            g.finish(loss.forward(first, second, target), true)
        }
        None => {
            let loss = config.init();
            g.finish(loss.forward_no_reduction(first, second, target), false)
        }
    }
}

fn multi_margin(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<2>::new(case, device);
    let x = g.float("input")?;
    let target = case_int::<1>(case, "target", device)?;
    let p = case.int("p").ok_or_else(|| missing("p"))?;
    let p = i32::try_from(p).map_err(framework_error)?;
    let loss = MultiMarginLossConfig::new()
        .with_p(p)
        .with_margin(case.float("margin").ok_or_else(|| missing("margin"))?)
        .init();
    reduce!(
        g,
        case,
        |r| loss.forward(x, target, r),
        loss.forward_no_reduction(x, target)
    )
}

fn triplet(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<2>::new(case, device);
    let anchor = g.float("anchor")?;
    let positive = g.float("positive")?;
    let negative = g.float("negative")?;
    let p = match case.op.name() {
        "triplet_margin_loss" => case.float("p").ok_or_else(|| missing("p"))?,
        _ => 2.0,
    };
    let loss = TripletMarginLossConfig::new()
        .with_margin(case.float("margin").ok_or_else(|| missing("margin"))?)
        .with_p(p)
        .init();
    reduce!(
        g,
        case,
        |r| loss.forward(anchor, positive, negative, r),
        loss.forward_no_reduction(anchor, positive, negative)
    )
}

fn ctc(case: &Case, device: &Device) -> Result<Computed, CaseError> {
    let mut g = Graph::<3>::new(case, device);
    let log_probs = g.float("log_probs")?;
    let targets = case_int::<2>(case, "targets", device)?;
    let input_lengths = case_int::<1>(case, "input_lengths", device)?;
    let target_lengths = case_int::<1>(case, "target_lengths", device)?;
    let blank = case.int("blank").ok_or_else(|| missing("blank"))?;
    let loss = CTCLossConfig::new()
        .with_blank(usize::try_from(blank).map_err(framework_error)?)
        .with_zero_infinity(case.bool("zero_infinity").unwrap_or(false))
        .init();
    reduce!(
        g,
        case,
        |r| loss.forward_with_reduction(log_probs, targets, input_lengths, target_lengths, r),
        loss.forward(log_probs, targets, input_lengths, target_lengths)
    )
}
