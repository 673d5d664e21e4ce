//! The divergence and probabilistic losses: `kl_div` (its `batchmean` written in
//! Python), `poisson_nll_loss` (one aten op) and `gaussian_nll_loss` (written in Python
//! entirely: its checks, the reshaping of `var`, the clamp under `no_grad`, so the
//! libtorch side composes the same aten ops in the same order and raises the same
//! `ValueError`s).

use ndarray::ArrayViewD;
use proptest::strategy::Strategy;

use super::elementwise::{laid, required, run_promoted, shape_of};
use super::{OpSpec, Param};
use crate::backend::rust::{case_error, computed, CaseFloat};
use crate::backend::MemoryLayout;
use crate::case::{Arg, Case, CaseError, Computed, TensorData};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals};
use crate::reference::{elementwise, Dual, Mean, Reference, Shape};
use crate::strategies::{elementwise_case, Draw, ElementwiseCases, Extra, ExtraShape};

const INPUT: Param = Param::tensor("input", super::Default::Required);
const TARGET: Param = Param::tensor("target", super::Default::Required);

/// `torch.nn.functional.kl_div(input, target, reduction='mean', log_target=False)`.
pub static KL_DIV: OpSpec = OpSpec {
    name: "kl_div",
    params: &[
        INPUT,
        TARGET,
        Param {
            name: "reduction",
            kind: super::Kind::Choice(&["none", "mean", "sum", "batchmean"]),
            default: super::Default::Str("mean"),
        },
        Param::bool("log_target", false),
    ],
    differentiable: &["input", "target"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: |case, layout| promoted(case, layout, Loss::KlDiv),
    #[cfg(feature = "torch")]
    torch: kl_div_torch,
    reference: |case| reference(case, Loss::KlDiv),
    strategy: || elementwise_case(&KL_DIV_CASES).sboxed(),
    reading: explain::pointwise::reading,
    findings: explain::pointwise::findings,
    cases: Some(&KL_DIV_CASES),
};

static KL_DIV_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&KL_DIV),
    input: Draw::LogProbabilities,
    target: Draw::Probabilities,
    extras: &[],
    bools: &["log_target"],
    numbers: &[],
    reductions: &["none", "mean", "sum", "batchmean"],
    max_rank: 4,
    class_mean: false,
};

/// `torch.nn.functional.poisson_nll_loss(input, target, log_input=True, full=False,
/// eps=1e-08, reduction='mean')`.
pub static POISSON_NLL_LOSS: OpSpec = OpSpec {
    name: "poisson_nll_loss",
    params: &[
        INPUT,
        TARGET,
        Param::bool("log_input", true),
        Param::bool("full", false),
        Param::float("eps", 1e-8),
        super::REDUCTION,
    ],
    differentiable: &["input", "target"],
    rust: |case, layout| promoted(case, layout, Loss::Poisson),
    #[cfg(feature = "torch")]
    torch: poisson_torch,
    reference: |case| reference(case, Loss::Poisson),
    strategy: || elementwise_case(&POISSON_CASES).sboxed(),
    cases: Some(&POISSON_CASES),
    ..KL_DIV
};

static POISSON_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&POISSON_NLL_LOSS),
    input: Draw::Logits,
    target: Draw::Positive,
    bools: &["log_input", "full"],
    numbers: &[("eps", &[1e-8, 0.0, 0.5])],
    reductions: &["none", "mean", "sum"],
    ..KL_DIV_CASES
};

/// `torch.nn.functional.gaussian_nll_loss(input, target, var, full=False, eps=1e-06,
/// reduction='mean')`.
pub static GAUSSIAN_NLL_LOSS: OpSpec = OpSpec {
    name: "gaussian_nll_loss",
    params: &[
        INPUT,
        TARGET,
        Param {
            name: "var",
            kind: super::Kind::TensorOrFloat,
            default: super::Default::Required,
        },
        Param::bool("full", false),
        Param::float("eps", 1e-6),
        super::REDUCTION,
    ],
    differentiable: &["input", "target", "var"],
    rust: |case, layout| promoted(case, layout, Loss::Gaussian),
    #[cfg(feature = "torch")]
    torch: gaussian_torch,
    reference: |case| reference(case, Loss::Gaussian),
    strategy: gaussian_cases,
    cases: Some(&GAUSSIAN_CASES),
    ..KL_DIV
};

static GAUSSIAN_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&GAUSSIAN_NLL_LOSS),
    input: Draw::Logits,
    target: Draw::Logits,
    extras: &[Extra {
        name: "var",
        shape: ExtraShape::Input,
        draw: Draw::Positive,
        present: 0.85,
    }],
    bools: &["full"],
    numbers: &[("eps", &[1e-6, 0.0, 0.1])],
    reductions: &["none", "mean", "sum"],
    ..KL_DIV_CASES
};

/// `gaussian_nll_loss`'s cases: `var` a tensor mostly, else a Python float (zero and
/// negative ones included).
fn gaussian_cases() -> proptest::strategy::SBoxedStrategy<Case> {
    use proptest::prelude::*;
    let number = prop_oneof![4 => 1e-3..4.0f64, 1 => Just(0.0), 1 => -1.0..0.0f64];
    (elementwise_case(&GAUSSIAN_CASES), number)
        .prop_map(|(mut case, v)| {
            if case.tensor("var").is_none() {
                case.set_arg("var", v);
            }
            case
        })
        .sboxed()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Loss {
    KlDiv,
    Poisson,
    Gaussian,
}

const TENSORS: &[&str] = &["input", "target", "var"];

/// `var`'s values, as a tensor or a number.
fn var_values(case: &Case) -> Vec<f64> {
    match case.arg("var") {
        Some(Arg::Tensor(t)) => match &t.values {
            crate::case::Values::Float(v) => v.clone(),
            crate::case::Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
        },
        Some(Arg::Float(v)) => vec![*v],
        _ => Vec::new(),
    }
}

/// Every check the call makes before computing, in PyTorch's order (`var`'s sign is
/// a value check, but Python makes it before any shape check).
fn checks(case: &Case, loss: Loss) -> Result<(), CaseError> {
    let shape = |name| shape_of(case, name).unwrap_or_default();
    let (input, target) = (shape("input"), shape("target"));
    match loss {
        Loss::KlDiv => internals::check_kl_div_shapes(input, target).map(|_| ()),
        Loss::Poisson => internals::check_poisson_nll_loss_shapes(input, target).map(|_| ()),
        Loss::Gaussian => {
            let var = case.tensor("var").map(|t| t.shape.as_slice());
            let negative = var_values(case).iter().any(|&v| v < 0.0);
            internals::check_gaussian_nll_loss_shapes(input, target, var, negative).map(|_| ())
        }
    }
    .map_err(case_error)
}

fn promoted(case: &Case, layout: MemoryLayout, loss: Loss) -> Result<Computed, CaseError> {
    run_promoted(
        case,
        layout,
        TENSORS,
        loss,
        checks,
        (typed::<f32>, typed::<f64>),
    )
}

fn kl_reduction(case: &Case) -> losses::KlDivReduction {
    match case.reduction_name() {
        "none" => losses::KlDivReduction::None,
        "sum" => losses::KlDivReduction::Sum,
        "batchmean" => losses::KlDivReduction::BatchMean,
        _ => losses::KlDivReduction::Mean,
    }
}

fn typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    loss: Loss,
) -> Result<Computed, CaseError> {
    let x = required::<F>(case, "input", layout)?;
    let t = required::<F>(case, "target", layout)?;
    let (x, t) = (x.view(), t.view());
    let flag = |name: &str, default: bool| case.bool(name).unwrap_or(default);
    match loss {
        Loss::KlDiv => {
            let o = losses::KlDivOptions {
                reduction: kl_reduction(case),
                log_target: flag("log_target", false),
            };
            let forward = losses::kl_div(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => losses::kl_div_target_backward(g.view(), x.view(), t.view(), &o),
                _ => losses::kl_div_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
        Loss::Poisson => {
            let o = losses::PoissonNllOptions {
                log_input: flag("log_input", true),
                full: flag("full", false),
                eps: case.float("eps").unwrap_or(1e-8),
                reduction: case.reduction(),
            };
            let forward = losses::poisson_nll_loss(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => {
                    losses::poisson_nll_loss_target_backward(g.view(), x.view(), t.view(), &o)
                }
                _ => losses::poisson_nll_loss_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
        Loss::Gaussian => {
            let var = laid::<F>(case, "var", layout)?;
            let scalar = case.float("var");
            if var.is_none() && scalar.is_none() {
                return Err(CaseError::invalid_case("the case has no `var`"));
            }
            let v = || match (&var, scalar) {
                (Some(v), _) => losses::Variance::Tensor(v.view()),
                (None, scalar) => losses::Variance::Scalar(scalar.unwrap_or(f64::NAN)),
            };
            let o = losses::GaussianNllOptions {
                full: flag("full", false),
                eps: case.float("eps").unwrap_or(1e-6),
                reduction: case.reduction(),
            };
            let forward = losses::gaussian_nll_loss(x.view(), t.view(), v(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => {
                    losses::gaussian_nll_loss_target_backward(g.view(), x.view(), t.view(), v(), &o)
                }
                "var" => {
                    losses::gaussian_nll_loss_var_backward(g.view(), x.view(), t.view(), v(), &o)
                }
                _ => losses::gaussian_nll_loss_backward(g.view(), x.view(), t.view(), v(), &o),
            };
            computed(case, layout, forward, &backward)
        }
    }
}

/// The case with `var` shaped as `gaussian_nll_loss` reshapes it: a number becomes a
/// constant tensor of the input's shape, a `var` of the input's shape without its last
/// dimension gains a trailing 1.
fn gaussian_shaped(case: &Case) -> Option<Case> {
    let input = case.input();
    let mut wide = case.clone();
    match case.arg("var")? {
        Arg::Float(v) => {
            let n = input.values.len();
            wide.set(
                "var",
                Some(Arg::Tensor(TensorData::float(
                    input.dtype,
                    input.shape.clone(),
                    vec![*v; n],
                ))),
            )
            .ok()?;
        }
        Arg::Tensor(t) => {
            if t.shape != input.shape
                && input.shape.split_last().map(|(_, rest)| rest) == Some(&t.shape[..])
            {
                let mut t = t.clone();
                t.shape.push(1);
                wide.set("var", Some(Arg::Tensor(t))).ok()?;
            }
        }
        _ => return None,
    }
    Some(wide)
}

fn reference(case: &Case, loss: Loss) -> Option<Reference> {
    if checks(case, loss).is_err() {
        return None;
    }
    let shape = Shape {
        tensors: TENSORS,
        mean: Mean::Count,
        class_mean: false,
    };
    match loss {
        Loss::KlDiv => {
            let log_target = case.bool("log_target").unwrap_or(false);
            elementwise(case, shape, |a| {
                let (x, t) = (a[0]?, a[1]?);
                Some(if log_target {
                    t.exp() * (t - x)
                } else {
                    // xlogy(t, t) - t x: 0 log 0 is 0.
                    Dual::xlogy(t, t) - t * x
                })
            })
        }
        Loss::Poisson => {
            let log_input = case.bool("log_input").unwrap_or(true);
            let full = case.bool("full").unwrap_or(false);
            let eps = case.float("eps").unwrap_or(1e-8);
            elementwise(case, shape, |a| {
                let (x, t) = (a[0]?, a[1]?);
                let mut l = if log_input {
                    x.exp() - t * x
                } else {
                    x - t * (x + eps).ln()
                };
                if full {
                    // Stirling's term, masked to 0 where target <= 1 (its gradient
                    // there is 0 times its derivative).
                    let two_pi =
                        Dual::constant(2.0 * std::f64::consts::PI) + 2.449_293_598_294_706_4e-16;
                    let stirling = t * t.ln() - t + (two_pi * t).ln() * 0.5;
                    l = l + if t.value() > 1.0 {
                        stirling
                    } else {
                        stirling.masked()
                    };
                }
                Some(l)
            })
            .map(|mut r| {
                if full {
                    stirling_nans(case, &mut r);
                }
                r
            })
        }
        Loss::Gaussian => {
            let shaped = gaussian_shaped(case)?;
            let full = case.bool("full").unwrap_or(false);
            let eps = case.float("eps").unwrap_or(1e-6);
            let grads_var = case.tensor("var").is_some();
            let mut r = elementwise(&shaped, shape, |a| {
                let (x, t) = (a[0]?, a[1]?);
                // Clamped under no_grad: the value moves, the derivative stays 1.
                let v = a[2]?.at_least(eps);
                let d = x - t;
                let mut l = (v.ln() + d * d / v) * 0.5;
                if full {
                    l = l + 0.5 * (2.0 * std::f64::consts::PI).ln();
                }
                Some(l)
            })?;
            // The reshaped var's gradient, in var's own shape.
            if grads_var {
                if let (Some(g), Some(v)) = (
                    r.grads.iter_mut().find(|(n, _)| *n == "var"),
                    case.tensor("var"),
                ) {
                    g.1.shape = v.shape.clone();
                }
            }
            Some(r)
        }
    }
}

/// libtorch forms Stirling's term on the target's own shape, so autograd multiplies
/// each target element's summed gradient (0 where masked) by that term's derivative
/// `ln t + 1/(2t)`, once: where the derivative is not finite (t <= 0, NaN) the target's
/// gradient is NaN, even when the broadcast is empty and nothing else reaches it.
fn stirling_nans(case: &Case, r: &mut Reference) {
    let Some(target) = case.tensor("target").and_then(|t| t.floats()) else {
        return;
    };
    if let Some((_, g)) = r.grads.iter_mut().find(|(n, _)| *n == "target") {
        for (i, &t) in target.iter().enumerate() {
            // NaN counts: it is not positive.
            let positive = t > 0.0;
            if i < g.values.len() && !positive {
                g.values[i] = f64::NAN;
                g.residuals[i] = 0.0;
            }
        }
    }
}

/// `batchmean` is Python's: aten's `sum`, then divided by the input's first size
/// (a 0-D input is not divided).
#[cfg(feature = "torch")]
fn kl_div_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (input, target) = super::elementwise::input_and_target(t)?;
    let log_target = case.bool("log_target").unwrap_or(false);
    let reduction = match case.reduction_name() {
        "none" => tch::Reduction::None,
        "mean" => tch::Reduction::Mean,
        _ => tch::Reduction::Sum,
    };
    let reduced = input
        .f_kl_div(&target, reduction, log_target)
        .map_err(torch_error)?;
    match (case.reduction_name(), input.size().first()) {
        ("batchmean", Some(&n)) => reduced.f_div_scalar(n).map_err(torch_error),
        _ => Ok(reduced),
    }
}

#[cfg(feature = "torch")]
fn poisson_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (input, target) = super::elementwise::input_and_target(t)?;
    input
        .f_poisson_nll_loss(
            &target,
            case.bool("log_input").unwrap_or(true),
            case.bool("full").unwrap_or(false),
            case.float("eps").unwrap_or(1e-8),
            super::nll_loss::torch_reduction(case),
        )
        .map_err(torch_error)
}

/// torch.nn.functional's Python, step by step.
#[cfg(feature = "torch")]
fn gaussian_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    use tch::Kind;
    let (input, target) = super::elementwise::input_and_target(t)?;
    let negative = || CaseError::new("ValueError", "var has negative entry/entries");
    let var = match (t("var"), case.float("var")) {
        (Some(v), _) => {
            let any = v.f_lt(0).and_then(|m| m.f_any()).map_err(torch_error)?;
            if bool::try_from(&any).unwrap_or(false) {
                return Err(negative());
            }
            v
        }
        (None, Some(v)) => {
            if v < 0.0 {
                return Err(negative());
            }
            input
                .f_ones_like()
                .and_then(|o| o.f_mul_scalar(v))
                .map_err(torch_error)?
        }
        (None, None) => return Err(super::softmax::missing("var")),
    };
    let (isize, vsize) = (input.size(), var.size());
    let var = if vsize != isize {
        if isize.split_last().map(|(_, r)| r) == Some(&vsize[..]) {
            var.f_unsqueeze(-1).map_err(torch_error)?
        } else if isize.len() == vsize.len()
            && isize
                .iter()
                .zip(&vsize)
                .filter(|(a, b)| a != b)
                .map(|(_, b)| *b)
                .sum::<i64>()
                == 1
        {
            var
        } else {
            return Err(CaseError::new("ValueError", "var is of incorrect size"));
        }
    } else {
        var
    };
    // var.clone(): a copy autograd differentiates as the identity.
    let mut var = var
        .f_zeros_like()
        .and_then(|mut copy| copy.f_copy_(&var).map(|_| copy))
        .map_err(torch_error)?;
    let eps = case.float("eps").unwrap_or(1e-6);
    tch::no_grad(|| var.f_clamp_min_(eps).map(|_| ())).map_err(torch_error)?;
    let run = || -> Result<tch::Tensor, tch::TchError> {
        let squared = input.f_sub(&target)?.f_pow_tensor_scalar(2)?;
        let mut loss = var
            .f_log()?
            .f_add(&squared.f_div(&var)?)?
            .f_mul_scalar(0.5)?;
        if case.bool("full").unwrap_or(false) {
            loss = loss.f_add_scalar(0.5 * (2.0 * std::f64::consts::PI).ln())?;
        }
        match case.reduction() {
            losses::Reduction::None => Ok(loss),
            losses::Reduction::Mean => loss.f_mean(None::<Kind>),
            losses::Reduction::Sum => loss.f_sum(None::<Kind>),
        }
    };
    run().map_err(torch_error)
}
