//! The binary losses: `binary_cross_entropy` (probabilities), its stable form on
//! logits `binary_cross_entropy_with_logits`, `soft_margin_loss` (labels -1 and 1) and
//! `multilabel_soft_margin_loss` (written in Python in `torch.nn.functional`, so the
//! libtorch side composes the same aten ops in the same order).

use ndarray::ArrayViewD;
use proptest::strategy::Strategy;

use super::elementwise::{laid, required, run_promoted, shape_of};
use super::{OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, CaseFloat};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals};
use crate::reference::{elementwise, Dual, Mean, Reference, Shape};
use crate::strategies::{elementwise_case, Draw, ElementwiseCases, Extra, ExtraShape};

const INPUT: Param = Param::tensor("input", super::Default::Required);
const TARGET: Param = Param::tensor("target", super::Default::Required);
const WEIGHT: Param = Param::tensor("weight", super::Default::Absent);

const REDUCTIONS: &[&str] = &["none", "mean", "sum"];

/// `torch.nn.functional.binary_cross_entropy(input, target, weight=None,
/// reduction='mean')`.
pub static BINARY_CROSS_ENTROPY: OpSpec = OpSpec {
    name: "binary_cross_entropy",
    params: &[INPUT, TARGET, WEIGHT, REDUCTION],
    differentiable: &["input", "target"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: |case, layout| promoted(case, layout, Loss::Bce),
    #[cfg(feature = "torch")]
    torch: bce_torch,
    reference: |case| reference(case, Loss::Bce),
    strategy: || elementwise_case(&BCE_CASES).sboxed(),
    reading: explain::pointwise::reading,
    findings: explain::pointwise::findings,
    cases: Some(&BCE_CASES),
};

static BCE_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&BINARY_CROSS_ENTROPY),
    input: Draw::Probabilities,
    target: Draw::Probabilities,
    extras: &[Extra {
        name: "weight",
        shape: ExtraShape::Input,
        draw: Draw::Positive,
        present: 0.4,
    }],
    bools: &[],
    numbers: &[],
    reductions: REDUCTIONS,
    max_rank: 4,
    class_mean: false,
};

/// `torch.nn.functional.binary_cross_entropy_with_logits(input, target, weight=None,
/// reduction='mean', pos_weight=None)`.
pub static BINARY_CROSS_ENTROPY_WITH_LOGITS: OpSpec = OpSpec {
    name: "binary_cross_entropy_with_logits",
    params: &[
        INPUT,
        TARGET,
        WEIGHT,
        REDUCTION,
        Param::tensor("pos_weight", super::Default::Absent),
    ],
    differentiable: &["input", "target"],
    rust: |case, layout| promoted(case, layout, Loss::Logits),
    #[cfg(feature = "torch")]
    torch: logits_torch,
    reference: |case| reference(case, Loss::Logits),
    strategy: || elementwise_case(&LOGITS_CASES).sboxed(),
    cases: Some(&LOGITS_CASES),
    ..BINARY_CROSS_ENTROPY
};

static LOGITS_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&BINARY_CROSS_ENTROPY_WITH_LOGITS),
    input: Draw::Logits,
    target: Draw::Binary,
    extras: &[
        Extra {
            name: "weight",
            shape: ExtraShape::Input,
            draw: Draw::Positive,
            present: 0.3,
        },
        Extra {
            name: "pos_weight",
            shape: ExtraShape::LastDim,
            draw: Draw::Positive,
            present: 0.3,
        },
    ],
    ..BCE_CASES
};

/// `torch.nn.functional.soft_margin_loss(input, target, reduction='mean')`.
pub static SOFT_MARGIN_LOSS: OpSpec = OpSpec {
    name: "soft_margin_loss",
    params: &[INPUT, TARGET, REDUCTION],
    differentiable: &["input"],
    rust: |case, layout| promoted(case, layout, Loss::SoftMargin),
    #[cfg(feature = "torch")]
    torch: soft_margin_torch,
    reference: |case| reference(case, Loss::SoftMargin),
    strategy: || elementwise_case(&SOFT_MARGIN_CASES).sboxed(),
    cases: Some(&SOFT_MARGIN_CASES),
    ..BINARY_CROSS_ENTROPY
};

static SOFT_MARGIN_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&SOFT_MARGIN_LOSS),
    input: Draw::Logits,
    target: Draw::Signs,
    extras: &[],
    ..BCE_CASES
};

/// `torch.nn.functional.multilabel_soft_margin_loss(input, target, weight=None,
/// reduction='mean')`.
pub static MULTILABEL_SOFT_MARGIN_LOSS: OpSpec = OpSpec {
    name: "multilabel_soft_margin_loss",
    params: &[INPUT, TARGET, WEIGHT, REDUCTION],
    differentiable: &["input", "target", "weight"],
    rust: |case, layout| promoted(case, layout, Loss::Multilabel),
    #[cfg(feature = "torch")]
    torch: multilabel_torch,
    reference: |case| reference(case, Loss::Multilabel),
    strategy: || elementwise_case(&MULTILABEL_CASES).sboxed(),
    cases: Some(&MULTILABEL_CASES),
    ..BINARY_CROSS_ENTROPY
};

static MULTILABEL_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&MULTILABEL_SOFT_MARGIN_LOSS),
    input: Draw::Logits,
    target: Draw::Binary,
    extras: &[Extra {
        name: "weight",
        shape: ExtraShape::LastDim,
        draw: Draw::Positive,
        present: 0.4,
    }],
    max_rank: 3,
    class_mean: true,
    ..BCE_CASES
};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Loss {
    Bce,
    Logits,
    SoftMargin,
    Multilabel,
}

const TENSORS: &[&str] = &["input", "target", "weight", "pos_weight"];

/// Every check the call makes on shapes, in PyTorch's order.
fn shape_checks(case: &Case, loss: Loss) -> Result<(), CaseError> {
    let (input, target) = (
        shape_of(case, "input").unwrap_or_default(),
        shape_of(case, "target").unwrap_or_default(),
    );
    let weight = shape_of(case, "weight");
    match loss {
        Loss::Bce => internals::check_binary_cross_entropy_shapes(input, target, weight),
        Loss::Logits => internals::check_binary_cross_entropy_with_logits_shapes(
            input,
            target,
            weight,
            shape_of(case, "pos_weight"),
        ),
        Loss::SoftMargin => internals::check_soft_margin_loss_shapes(input, target),
        Loss::Multilabel => {
            internals::check_multilabel_soft_margin_loss_shapes(input, target, weight)
        }
    }
    .map(|_| ())
    .map_err(case_error)
}

/// PyTorch's refusal of a tensor that requires grad where the op has no derivative
/// for it (autograd's check, in parameter order: `weight` and `pos_weight` of the
/// cross entropies, `target` of `soft_margin_loss`), after the checks Python makes
/// before calling aten and before the kernel's own.
fn refusal(case: &Case, loss: Loss) -> Option<CaseError> {
    let wrt = case.grad_wrt();
    let spec = case.op.spec();
    let name = spec
        .params
        .iter()
        .map(|p| p.name)
        .find(|n| wrt.contains(n) && !spec.differentiable.contains(n))?;
    if let Err(e) = shape_checks(case, loss) {
        if e.kind == "ValueError" || e.message.starts_with("Attempting to broadcast") {
            return Some(e);
        }
    }
    Some(
        CaseError::new(
            "RuntimeError",
            format!(
                "The function '{}' is not differentiable with respect to argument '{name}'. \
                 This input cannot have requires_grad True.",
                case.op
            ),
        )
        .with_hint(format!(
            "PyTorch has no gradient for {}'s {name}: pass it as a constant \
             ({name}.detach()), or compose the loss yourself if you need one",
            case.op
        )),
    )
}

fn promoted(case: &Case, layout: MemoryLayout, loss: Loss) -> Result<Computed, CaseError> {
    if let Some(e) = refusal(case, loss) {
        return Err(e);
    }
    run_promoted(
        case,
        layout,
        TENSORS,
        loss,
        shape_checks,
        (typed::<f32>, typed::<f64>),
    )
}

fn typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    loss: Loss,
) -> Result<Computed, CaseError> {
    let x = required::<F>(case, "input", layout)?;
    let t = required::<F>(case, "target", layout)?;
    let w = laid::<F>(case, "weight", layout)?;
    let pw = laid::<F>(case, "pos_weight", layout)?;
    let (x, t) = (x.view(), t.view());
    let weight = w.as_ref().map(|w| w.view());
    let reduction = case.reduction();
    match loss {
        Loss::Bce => {
            let o = losses::BinaryCrossEntropyOptions { reduction, weight };
            let forward = losses::binary_cross_entropy(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => {
                    losses::binary_cross_entropy_target_backward(g.view(), x.view(), t.view(), &o)
                }
                "weight" => {
                    losses::binary_cross_entropy_weight_backward(g.view(), x.view(), t.view(), &o)
                }
                _ => losses::binary_cross_entropy_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
        Loss::Logits => {
            let o = losses::BceWithLogitsOptions {
                reduction,
                weight,
                pos_weight: pw.as_ref().map(|w| w.view()),
            };
            let forward = losses::binary_cross_entropy_with_logits(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => losses::binary_cross_entropy_with_logits_target_backward(
                    g.view(),
                    x.view(),
                    t.view(),
                    &o,
                ),
                "weight" => losses::binary_cross_entropy_with_logits_weight_backward(
                    g.view(),
                    x.view(),
                    t.view(),
                    &o,
                ),
                "pos_weight" => losses::binary_cross_entropy_with_logits_pos_weight_backward(
                    g.view(),
                    x.view(),
                    t.view(),
                    &o,
                ),
                _ => losses::binary_cross_entropy_with_logits_backward(
                    g.view(),
                    x.view(),
                    t.view(),
                    &o,
                ),
            };
            computed(case, layout, forward, &backward)
        }
        Loss::SoftMargin => {
            let o = losses::SoftMarginOptions { reduction };
            let forward = losses::soft_margin_loss(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => {
                    losses::soft_margin_loss_target_backward(g.view(), x.view(), t.view(), &o)
                }
                _ => losses::soft_margin_loss_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
        Loss::Multilabel => {
            let o = losses::MultilabelSoftMarginOptions { reduction, weight };
            let forward = losses::multilabel_soft_margin_loss(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ndarray::ArrayD<F>| match wrt {
                "target" => losses::multilabel_soft_margin_loss_target_backward(
                    g.view(),
                    x.view(),
                    t.view(),
                    &o,
                ),
                "weight" => losses::multilabel_soft_margin_loss_weight_backward(
                    g.view(),
                    x.view(),
                    t.view(),
                    &o,
                ),
                _ => losses::multilabel_soft_margin_loss_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
    }
}

/// `log(sigmoid(x))` as aten's `log_sigmoid`: `min(x, 0) - log1p(exp(-|x|))`, with
/// its backward's derivative, `z / (1 + z)` (`1 -` that below 0), `z = exp(-|x|)`: NaN
/// at a NaN `x`, where the forward's branches would say 0 or 1.
fn log_sigmoid(x: Dual) -> Dual {
    let h = x.value();
    let m = if h < 0.0 { x } else { Dual::constant(0.0) };
    let z = (-(x.abs())).exp();
    let value = m - z.ln_1p();
    let ratio = Dual::constant(z.value()) / (Dual::constant(z.value()) + 1.0);
    let slope = if h < 0.0 {
        Dual::constant(1.0) - ratio
    } else {
        ratio
    };
    value.with_partials(&[(x, slope)])
}

fn reference(case: &Case, loss: Loss) -> Option<Reference> {
    if shape_checks(case, loss).is_err() {
        return None;
    }
    let plain = |class_mean| Shape {
        tensors: TENSORS,
        mean: Mean::Count,
        class_mean,
    };
    match loss {
        // -w (t log x + (1 - t) log(1 - x)), each log clamped at -100.
        Loss::Bce => elementwise(case, plain(false), |a| {
            let (x, t) = (a[0]?, a[1]?);
            let log = |v: Dual| {
                let l = v.ln();
                if l.value() < -100.0 {
                    Dual::constant(-100.0)
                } else {
                    l
                }
            };
            let value = -(t * log(x) + (Dual::constant(1.0) - t) * log(Dual::constant(1.0) - x));
            // autograd does not differentiate the clamped logs: aten's backwards are
            // (x - t) / max((1 - x) x, EPSILON), EPSILON the float 1e-12, and
            // log(1 - x) - log(x), unclamped.
            let one = Dual::constant(1.0);
            let denominator = ((one - x) * x).value().max(1e-12f32 as f64);
            let dx = (x - t) / denominator;
            let dt = (one - x).ln() - x.ln();
            let l = value.with_partials(&[(x, dx), (t, dt)]);
            Some(match a[2] {
                Some(w) => l * w,
                None => l,
            })
        }),
        // (1 - t) x - (1 + (p - 1) t) log_sigmoid(x), times w.
        Loss::Logits => elementwise(case, plain(false), |a| {
            let (x, t) = (a[0]?, a[1]?);
            let lw = match a[3] {
                Some(p) => (p - 1.0) * t + 1.0,
                None => Dual::constant(1.0),
            };
            let l = (Dual::constant(1.0) - t) * x - lw * log_sigmoid(x);
            Some(match a[2] {
                Some(w) => l * w,
                None => l,
            })
        }),
        // log(1 + exp(-t x)).
        // aten's backward, -t z / (1 + z) with z = exp(-t x): NaN wherever z is (a
        // target of 0 against a NaN input), where the forward's chain rule gives 0.
        Loss::SoftMargin => elementwise(case, plain(false), |a| {
            let (x, t) = (a[0]?, a[1]?);
            let z = (-(t * x)).exp();
            let zv = Dual::constant(z.value());
            let dx = -t * zv / (zv + 1.0);
            Some(z.ln_1p().with_partials(&[(x, dx)]))
        }),
        // -(t log_sigmoid(x) + (1 - t) log_sigmoid(-x)) times w, mean over classes.
        Loss::Multilabel => elementwise(case, plain(true), |a| {
            let (x, t) = (a[0]?, a[1]?);
            let l = -(t * log_sigmoid(x) + (Dual::constant(1.0) - t) * log_sigmoid(-x));
            Some(match a[2] {
                Some(w) => l * w,
                None => l,
            })
        }),
    }
}

#[cfg(feature = "torch")]
fn size_str(t: &tch::Tensor) -> String {
    let dims: Vec<String> = t.size().iter().map(|d| d.to_string()).collect();
    format!("torch.Size([{}])", dims.join(", "))
}

#[cfg(feature = "torch")]
fn bce_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (input, target) = super::elementwise::input_and_target(t)?;
    // torch.nn.functional's checks, in Python: the sizes, then the weight expanded to
    // torch.broadcast_shapes(target, weight).
    if target.size() != input.size() {
        return Err(CaseError::new(
            "ValueError",
            format!(
                "Using a target size ({}) that is different to the input size ({}) is \
                 deprecated. Please ensure they have the same size.",
                size_str(&target),
                size_str(&input)
            ),
        ));
    }
    let weight = match t("weight") {
        Some(w) => {
            let shape = broadcast_shapes(&[&target.size(), &w.size()])?;
            Some(w.f_expand(&shape, false).map_err(torch_error)?)
        }
        None => None,
    };
    let reduction = super::nll_loss::torch_reduction(case);
    input
        .f_binary_cross_entropy(&target, weight.as_ref(), reduction)
        .map_err(torch_error)
}

/// `torch.broadcast_shapes`, written in Python (`torch._refs._broadcast_shapes`): the
/// common shape grows from 1s, argument by argument, dimension by dimension from the
/// right, and the first size that fits neither 1 nor the common size so far fails.
#[cfg(feature = "torch")]
fn broadcast_shapes(shapes: &[&[i64]]) -> Result<Vec<i64>, CaseError> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut common = vec![1i64; rank];
    for (arg, shape) in shapes.iter().enumerate() {
        for back in 1..=shape.len() {
            let (size, at) = (shape[shape.len() - back], rank - back);
            if size == common[at] {
                continue;
            }
            if common[at] == 1 {
                common[at] = size;
            }
            if size != 1 && size != common[at] {
                let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
                let common: Vec<String> = common.iter().map(|d| d.to_string()).collect();
                return Err(CaseError::new(
                    "RuntimeError",
                    format!(
                        "Attempting to broadcast a dimension of length {size} at -{back}! \
                         Mismatching argument at index {arg} had torch.Size([{}]); but expected \
                         shape should be broadcastable to [{}]",
                        dims.join(", "),
                        common.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(common)
}

#[cfg(feature = "torch")]
fn logits_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (input, target) = super::elementwise::input_and_target(t)?;
    if target.size() != input.size() {
        return Err(CaseError::new(
            "ValueError",
            format!(
                "Target size ({}) must be the same as input size ({})",
                size_str(&target),
                size_str(&input)
            ),
        ));
    }
    let (weight, pos_weight) = (t("weight"), t("pos_weight"));
    let reduction = super::nll_loss::torch_reduction(case);
    input
        .f_binary_cross_entropy_with_logits(
            &target,
            weight.as_ref(),
            pos_weight.as_ref(),
            reduction,
        )
        .map_err(torch_error)
}

#[cfg(feature = "torch")]
fn soft_margin_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    let (input, target) = super::elementwise::input_and_target(t)?;
    input
        .f_soft_margin_loss(&target, super::nll_loss::torch_reduction(case))
        .map_err(torch_error)
}

/// torch.nn.functional's composition, op for op:
/// `-(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))`, times the
/// weight, summed over the last dimension and divided by its size, then reduced.
#[cfg(feature = "torch")]
fn multilabel_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use crate::backend::torch_error;
    use tch::Kind;
    let (input, target) = super::elementwise::input_and_target(t)?;
    let run = || -> Result<Option<tch::Tensor>, tch::TchError> {
        let pos = target.f_mul(&input.f_log_sigmoid()?)?;
        let one_minus = target.f_neg()?.f_add_scalar(1)?;
        let neg = one_minus.f_mul(&input.f_neg()?.f_log_sigmoid()?)?;
        let mut loss = pos.f_add(&neg)?.f_neg()?;
        if let Some(w) = t("weight") {
            loss = loss.f_mul(&w)?;
        }
        let class_dim = input.dim() as i64 - 1;
        let Some(&classes) = input.size().last() else {
            return Ok(None);
        };
        let loss = loss
            .f_sum_dim_intlist(Some(&[class_dim][..]), false, None::<Kind>)?
            .f_div_scalar(classes)?;
        match case.reduction() {
            losses::Reduction::None => Ok(Some(loss)),
            losses::Reduction::Mean => loss.f_mean(None::<Kind>).map(Some),
            losses::Reduction::Sum => loss.f_sum(None::<Kind>).map(Some),
        }
    };
    // `input.size(class_dim)` of a 0-D input, after the element losses.
    run().map_err(torch_error)?.ok_or_else(|| {
        CaseError::new(
            "IndexError",
            "Dimension specified as -1 but tensor has no dimensions",
        )
    })
}
