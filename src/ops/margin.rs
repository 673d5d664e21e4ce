//! The margin losses: `hinge_embedding_loss`, `margin_ranking_loss` and
//! `cosine_embedding_loss` (labels -1 and 1; aten compositions, differentiated step by
//! step), and the hinge losses on class indices `multi_margin_loss` and
//! `multilabel_margin_loss` (aten kernels with their own backwards).
//!
//! What autograd gives: `hinge_embedding_loss` and `cosine_embedding_loss` only compare
//! their target, so a target in `grad_wrt` gets zeros, and a call that differentiates
//! nothing else raises autograd's "element 0 of tensors does not require grad";
//! `margin_ranking_loss` multiplies by its target and differentiates all three tensors;
//! `multi_margin_loss` refuses a weight that requires grad (after its Python checks).
//!
//! tch binds every one of these but `multi_margin_loss`'s forward (its generator leaves
//! it out), so the libtorch side calls that op through a one-line TorchScript function
//! (`multi_margin_loss.pt`, written by `scripts/multi-margin-module.py`): the
//! interpreter dispatches `aten::multi_margin_loss` with autograd exactly as Python's
//! `torch._C._nn.multi_margin_loss` does.

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use proptest::strategy::Strategy;

use super::elementwise::{integers_unsupported, laid, required, run_promoted, shape_of};
use super::{Default, Kind, OpSpec, Param, REDUCTION};
use crate::backend::rust::{case_error, computed, CaseFloat, Laid, UNSUPPORTED_HINT};
use crate::backend::MemoryLayout;
use crate::case::{Case, CaseError, Computed, DType, TensorData, Values};
use crate::compare::Mode;
use crate::explain::findings as explain;
use crate::losses::{self, internals, LossError};
use crate::strategies::{elementwise_case, Draw, ElementwiseCases};

const INPUT: Param = Param::tensor("input", Default::Required);
const INPUT1: Param = Param::tensor("input1", Default::Required);
const INPUT2: Param = Param::tensor("input2", Default::Required);
const TARGET: Param = Param::tensor("target", Default::Required);

/// `torch.nn.functional.hinge_embedding_loss(input, target, margin=1.0,
/// reduction='mean')`.
pub static HINGE_EMBEDDING_LOSS: OpSpec = OpSpec {
    name: "hinge_embedding_loss",
    params: &[INPUT, TARGET, Param::float("margin", 1.0), REDUCTION],
    differentiable: &["input"],
    default_grad_wrt: &["input"],
    mode: Mode::Tolerant,
    is_loss: true,
    rust: |case, layout| promoted(case, layout, Pair::Hinge),
    #[cfg(feature = "torch")]
    torch: hinge_torch,
    reference: crate::reference::hinge_op,
    strategy: || elementwise_case(&HINGE_CASES).sboxed(),
    reading: explain::margin::reading,
    findings: explain::margin::findings,
    cases: Some(&HINGE_CASES),
};

static HINGE_CASES: ElementwiseCases = ElementwiseCases {
    op: super::Op(&HINGE_EMBEDDING_LOSS),
    input: Draw::Logits,
    target: Draw::Signs,
    extras: &[],
    bools: &[],
    numbers: &[("margin", &[1.0, 0.0, 0.5, 2.0, -1.0])],
    reductions: &["none", "mean", "sum"],
    max_rank: 4,
    class_mean: false,
};

/// `torch.nn.functional.margin_ranking_loss(input1, input2, target, margin=0,
/// reduction='mean')`.
pub static MARGIN_RANKING_LOSS: OpSpec = OpSpec {
    name: "margin_ranking_loss",
    params: &[
        INPUT1,
        INPUT2,
        TARGET,
        Param::float("margin", 0.0),
        REDUCTION,
    ],
    differentiable: &["input1", "input2", "target"],
    default_grad_wrt: &["input1", "input2"],
    rust: |case, layout| promoted(case, layout, Pair::Ranking),
    #[cfg(feature = "torch")]
    torch: ranking_torch,
    reference: crate::reference::margin_ranking_op,
    strategy: || crate::strategies::margin_ranking_case().sboxed(),
    cases: None,
    ..HINGE_EMBEDDING_LOSS
};

/// `torch.nn.functional.cosine_embedding_loss(input1, input2, target, margin=0,
/// reduction='mean')`.
pub static COSINE_EMBEDDING_LOSS: OpSpec = OpSpec {
    name: "cosine_embedding_loss",
    params: &[
        INPUT1,
        INPUT2,
        TARGET,
        Param::float("margin", 0.0),
        REDUCTION,
    ],
    differentiable: &["input1", "input2"],
    default_grad_wrt: &["input1", "input2"],
    rust: |case, layout| promoted(case, layout, Pair::Cosine),
    #[cfg(feature = "torch")]
    torch: cosine_torch,
    reference: crate::reference::cosine_embedding_op,
    strategy: || crate::strategies::cosine_embedding_case().sboxed(),
    cases: None,
    ..HINGE_EMBEDDING_LOSS
};

/// `torch.nn.functional.multi_margin_loss(input, target, p=1, margin=1.0, weight=None,
/// reduction='mean')`.
pub static MULTI_MARGIN_LOSS: OpSpec = OpSpec {
    name: "multi_margin_loss",
    params: &[
        INPUT,
        TARGET,
        Param {
            name: "p",
            kind: Kind::Int,
            default: Default::Int(1),
        },
        Param::float("margin", 1.0),
        Param::tensor("weight", Default::Absent),
        REDUCTION,
    ],
    differentiable: &["input"],
    default_grad_wrt: &["input"],
    rust: multi_margin,
    #[cfg(feature = "torch")]
    torch: multi_margin_torch,
    reference: crate::reference::multi_margin_op,
    strategy: || crate::strategies::multi_margin_case().sboxed(),
    cases: None,
    ..HINGE_EMBEDDING_LOSS
};

/// `torch.nn.functional.multilabel_margin_loss(input, target, reduction='mean')`.
pub static MULTILABEL_MARGIN_LOSS: OpSpec = OpSpec {
    name: "multilabel_margin_loss",
    params: &[INPUT, TARGET, REDUCTION],
    differentiable: &["input"],
    default_grad_wrt: &["input"],
    rust: multilabel_margin,
    #[cfg(feature = "torch")]
    torch: multilabel_torch,
    reference: crate::reference::multilabel_margin_op,
    strategy: || crate::strategies::multilabel_margin_case().sboxed(),
    cases: None,
    ..HINGE_EMBEDDING_LOSS
};

// ---------------------------------------------------------------------------------
// What the five share
// ---------------------------------------------------------------------------------

/// The case's margin, or the op's default.
fn margin(case: &Case) -> f64 {
    let default = case.op.param("margin").map(|p| p.default);
    match (case.float("margin"), default) {
        (Some(m), _) => m,
        (None, Some(Default::Float(m))) => m,
        _ => 1.0,
    }
}

/// What `torch.autograd.grad` raises when no tensor of `grad_wrt` reaches the output
/// through a differentiable path: the output does not require grad.
fn no_graph(case: &Case) -> CaseError {
    CaseError::new(
        "RuntimeError",
        "element 0 of tensors does not require grad and does not have a grad_fn",
    )
    .with_hint(format!(
        "{} gives {} no gradient (a target is only compared with the labels, or read as \
         class indices), so the output does not require grad; also differentiate {}",
        case.op,
        case.grad_wrt().join(" and "),
        case.op.spec().default_grad_wrt.join(" and ")
    ))
}

/// A computed outcome whose `grad_wrt` names only tensors autograd never reaches gets
/// autograd's error instead of gradients (the output has no graph).
fn graph_checked(case: &Case, mut c: Computed) -> Computed {
    let spec = case.op.spec();
    if case.grad
        && !case
            .grad_wrt()
            .iter()
            .any(|n| spec.differentiable.contains(n))
    {
        c.grads = Some(Err(no_graph(case)));
    }
    c
}

/// A target's gradient where the output does not depend on it: zeros of its shape (the
/// harness's `materialize_grads`), once the crate's backward has made the checks it
/// makes before saying so.
fn unused_target<F: CaseFloat>(
    result: Result<ArrayD<F>, LossError>,
    shape: &[usize],
) -> Result<ArrayD<F>, LossError> {
    match result {
        Err(e)
            if e.message()
                .contains("appears to not have been used in the graph") =>
        {
            Ok(ArrayD::zeros(IxDyn(shape)))
        }
        other => other,
    }
}

fn zeros<F: CaseFloat>(shape: &[usize]) -> Result<ArrayD<F>, LossError> {
    Ok(ArrayD::zeros(IxDyn(shape)))
}

// ---------------------------------------------------------------------------------
// hinge_embedding_loss, margin_ranking_loss, cosine_embedding_loss
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pair {
    Hinge,
    Ranking,
    Cosine,
}

impl Pair {
    fn tensors(self) -> &'static [&'static str] {
        match self {
            Pair::Hinge => &["input", "target"],
            _ => &["input1", "input2", "target"],
        }
    }
}

/// Every check the call makes on shapes, in PyTorch's order.
fn pair_checks(case: &Case, pair: Pair) -> Result<(), CaseError> {
    let shape = |name| shape_of(case, name).unwrap_or_default();
    match pair {
        Pair::Hinge => {
            internals::check_hinge_embedding_loss_shapes(shape("input"), shape("target"))
        }
        Pair::Ranking => internals::check_margin_ranking_loss_shapes(
            shape("input1"),
            shape("input2"),
            shape("target"),
        ),
        Pair::Cosine => internals::check_cosine_embedding_loss_shapes(
            shape("input1"),
            shape("input2"),
            shape("target"),
        ),
    }
    .map(|_| ())
    .map_err(case_error)
}

fn promoted(case: &Case, layout: MemoryLayout, pair: Pair) -> Result<Computed, CaseError> {
    run_promoted(
        case,
        layout,
        pair.tensors(),
        pair,
        pair_checks,
        (pair_typed::<f32>, pair_typed::<f64>),
    )
    .map(|c| graph_checked(case, c))
}

fn pair_typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    pair: Pair,
) -> Result<Computed, CaseError> {
    let reduction = case.reduction();
    let margin = margin(case);
    let t = required::<F>(case, "target", layout)?;
    let t = t.view();
    match pair {
        Pair::Hinge => {
            let x = required::<F>(case, "input", layout)?;
            let x = x.view();
            let o = losses::HingeEmbeddingOptions { reduction, margin };
            let forward = losses::hinge_embedding_loss(x.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| match wrt {
                "target" => unused_target(
                    losses::hinge_embedding_loss_target_backward(g.view(), x.view(), t.view(), &o),
                    t.shape(),
                ),
                _ => losses::hinge_embedding_loss_backward(g.view(), x.view(), t.view(), &o),
            };
            computed(case, layout, forward, &backward)
        }
        Pair::Ranking => {
            let a = required::<F>(case, "input1", layout)?;
            let b = required::<F>(case, "input2", layout)?;
            let (a, b) = (a.view(), b.view());
            let o = losses::MarginRankingOptions { reduction, margin };
            let forward = losses::margin_ranking_loss(a.view(), b.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| {
                let (g, a, b, t) = (g.view(), a.view(), b.view(), t.view());
                match wrt {
                    "input2" => losses::margin_ranking_loss_input2_backward(g, a, b, t, &o),
                    "target" => losses::margin_ranking_loss_target_backward(g, a, b, t, &o),
                    _ => losses::margin_ranking_loss_backward(g, a, b, t, &o),
                }
            };
            computed(case, layout, forward, &backward)
        }
        Pair::Cosine => {
            let a = required::<F>(case, "input1", layout)?;
            let b = required::<F>(case, "input2", layout)?;
            let (a, b) = (a.view(), b.view());
            let o = losses::CosineEmbeddingOptions { reduction, margin };
            let forward = losses::cosine_embedding_loss(a.view(), b.view(), t.view(), &o);
            let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| {
                let (g, a, b, tv) = (g.view(), a.view(), b.view(), t.view());
                match wrt {
                    "input2" => losses::cosine_embedding_loss_input2_backward(g, a, b, tv, &o),
                    "target" => unused_target(
                        losses::cosine_embedding_loss_target_backward(g, a, b, tv, &o),
                        t.shape(),
                    ),
                    _ => losses::cosine_embedding_loss_backward(g, a, b, tv, &o),
                }
            };
            computed(case, layout, forward, &backward)
        }
    }
}

// ---------------------------------------------------------------------------------
// multi_margin_loss, multilabel_margin_loss
// ---------------------------------------------------------------------------------

/// libtorch's `NotImplementedError` for a kernel dispatched on float32 and float64 only.
fn kernel_not_implemented(kernel: &str, dtype: DType) -> CaseError {
    CaseError::new(
        "NotImplementedError",
        format!("\"{kernel}\" not implemented for '{}'", dtype.torch_name()),
    )
    .with_hint(format!(
        "the input holds {}; this kernel computes float32 and float64 scores only: pass \
         input.float()",
        dtype.name()
    ))
}

/// The input's dtype as libtorch's kernels dispatch it, after the shape checks: an error
/// for a non-empty input the kernel does not implement (an empty one returns before
/// dispatching, in a dtype the Rust losses do not produce).
fn kernel_dtype(case: &Case, kernel: &str) -> Result<(), CaseError> {
    let input = case.input();
    match input.dtype {
        DType::Float32 | DType::Float64 => Ok(()),
        d if !input.values.is_empty() => Err(kernel_not_implemented(kernel, d)),
        DType::Int64 | DType::UInt8 => Err(integers_unsupported(case)),
        d => Err(CaseError::new(
            "Unsupported",
            format!(
                "{} inputs are not implemented by the Rust losses (float32 and float64 are)",
                d.name()
            ),
        )
        .with_hint(UNSUPPORTED_HINT)),
    }
}

/// The target's class indices as int64 whatever its dtype: only an empty input gets
/// here with a target of another dtype, and libtorch reads none of its values then.
fn index_target(case: &Case, layout: MemoryLayout) -> Result<Laid<i64>, CaseError> {
    let t = case
        .target()
        .ok_or_else(|| CaseError::invalid_case("missing target"))?;
    let values: Vec<i64> = match &t.values {
        Values::Int(v) => v.clone(),
        Values::Float(v) => v.iter().map(|&x| x as i64).collect(),
    };
    let array = ArrayD::from_shape_vec(IxDyn(&t.shape), values)
        .map_err(|_| CaseError::invalid_case("target: values do not match the shape"))?;
    Ok(Laid::new(array, layout))
}

fn target_data(case: &Case) -> Result<&TensorData, CaseError> {
    case.target()
        .ok_or_else(|| CaseError::invalid_case("missing target"))
}

/// The checks of `F.multi_margin_loss` with the target read as `dtype`.
fn multi_margin_plan(case: &Case, dtype: &str) -> Result<(), CaseError> {
    let target = target_data(case)?;
    internals::check_multi_margin_loss_shapes(
        &case.input().shape,
        &target.shape,
        dtype,
        shape_of(case, "weight"),
        case.int("p").unwrap_or(1),
    )
    .map(|_| ())
    .map_err(case_error)
}

/// PyTorch's order: the Python checks of `p` and the weight's dimensions, autograd's
/// refusal of a weight that requires grad, libtorch's shape checks, the dispatch on the
/// input's dtype, the target's dtype, the weight's dtype; the margin's conversion and
/// the targets' range are the crate's.
fn multi_margin(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    if case.grad_wrt().contains(&"weight") {
        if let Err(e) = multi_margin_plan(case, "Long") {
            if e.kind == "ValueError" {
                return Err(e);
            }
        }
        return Err(CaseError::new(
            "RuntimeError",
            "The function 'multi_margin_loss' is not differentiable with respect to argument \
             'weight'. This input cannot have requires_grad True.",
        )
        .with_hint(
            "PyTorch computes no gradient for the class weights of multi_margin_loss: pass \
             weight.detach(), or differentiate with respect to the input only",
        ));
    }
    multi_margin_plan(case, "Long")?;
    kernel_dtype(case, "multi_margin_loss_cpu_kernel")?;
    let target = target_data(case)?;
    multi_margin_plan(case, target.dtype.torch_name())?;
    let input = case.input();
    if let Some(w) = case.weight() {
        if !input.values.is_empty() && w.dtype != input.dtype {
            return Err(CaseError::new(
                "RuntimeError",
                format!(
                    "expected scalar type {} but found {}",
                    input.dtype.torch_name(),
                    w.dtype.torch_name()
                ),
            )
            .with_hint(format!(
                "the weight is {} but the input is {}; PyTorch does not convert it: pass \
                 weight.to(input.dtype)",
                w.dtype.name(),
                input.dtype.name()
            )));
        }
    }
    match input.dtype {
        DType::Float32 => multi_margin_typed::<f32>(case, layout),
        _ => multi_margin_typed::<f64>(case, layout),
    }
    .map(|c| graph_checked(case, c))
}

fn multi_margin_typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
) -> Result<Computed, CaseError> {
    let x = required::<F>(case, "input", layout)?;
    let t = index_target(case, layout)?;
    let w = laid::<F>(case, "weight", layout)?;
    let (x, t) = (x.view(), t.view());
    let o = losses::MultiMarginOptions {
        p: case.int("p").unwrap_or(1),
        margin: margin(case),
        weight: w.as_ref().map(|w| w.view()),
        reduction: case.reduction(),
    };
    let forward = losses::multi_margin_loss(x.view(), t.view(), &o);
    let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| match wrt {
        "input" => losses::multi_margin_loss_backward(g.view(), x.view(), t.view(), &o),
        "weight" => losses::multi_margin_loss_weight_backward(g.view(), x.view(), t.view(), &o),
        _ => zeros(t.shape()),
    };
    computed(case, layout, forward, &backward)
}

/// libtorch's range check of a `multilabel_margin_loss` target, made on its smallest
/// then its largest value, each converted to int64 first (truncated; NaN and
/// infinities fail the conversion).
fn multilabel_range(target: &TensorData, classes: usize) -> Result<(), CaseError> {
    let out_of_range = || {
        CaseError::new("RuntimeError", "argument #2 'target' is out of range").with_hint(format!(
            "multilabel_margin_loss reads the target as class indices in [0, {classes}) \
                 ended by -1; every entry is checked, also past the first -1"
        ))
    };
    let overflow = || {
        CaseError::new(
            "RuntimeError",
            "value cannot be converted to type int64_t without overflow",
        )
        .with_hint(
            "the target holds NaN or an infinity, which is no class index: \
             multilabel_margin_loss wants int64 class indices ended by -1",
        )
    };
    let as_index = |v: f64| {
        // int64 holds [-2^63, 2^63).
        let bound = 2f64.powi(63);
        (-bound..bound).contains(&v).then_some(v.trunc())
    };
    let (min, max) = match &target.values {
        Values::Int(v) => (
            v.iter().copied().min().map(|m| m as f64),
            v.iter().copied().max().map(|m| m as f64),
        ),
        Values::Float(v) if v.iter().any(|x| x.is_nan()) => (Some(f64::NAN), Some(f64::NAN)),
        Values::Float(v) => (
            v.iter().copied().reduce(f64::min),
            v.iter().copied().reduce(f64::max),
        ),
    };
    let (Some(min), Some(max)) = (min, max) else {
        return Ok(());
    };
    if as_index(min).ok_or_else(overflow)? < -1.0 {
        return Err(out_of_range());
    }
    if as_index(max).ok_or_else(overflow)? >= classes as f64 {
        return Err(out_of_range());
    }
    Ok(())
}

/// libtorch's order: the input's and the target's shapes, the target's range (before
/// the dispatch on the input's dtype, and for a target of any dtype), the input's dtype,
/// the target's.
fn multilabel_margin(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    let input = case.input();
    let target = target_data(case)?;
    let plan = |dtype: &str| {
        internals::check_multilabel_margin_loss_shapes(&input.shape, &target.shape, dtype)
            .map_err(case_error)
    };
    plan("Long")?;
    let float_input = matches!(input.dtype, DType::Float32 | DType::Float64);
    // The crate checks an int64 target's range itself, with the same message.
    if !input.values.is_empty() && (!float_input || target.dtype != DType::Int64) {
        let classes = input.shape.last().copied().unwrap_or(1);
        multilabel_range(target, classes)?;
    }
    kernel_dtype(case, "multilabel_margin_loss_forward_out_frame")?;
    plan(target.dtype.torch_name())?;
    match input.dtype {
        DType::Float32 => multilabel_typed::<f32>(case, layout),
        _ => multilabel_typed::<f64>(case, layout),
    }
    .map(|c| graph_checked(case, c))
}

fn multilabel_typed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
) -> Result<Computed, CaseError> {
    let x = required::<F>(case, "input", layout)?;
    let t = index_target(case, layout)?;
    let (x, t) = (x.view(), t.view());
    let o = losses::MultilabelMarginOptions {
        reduction: case.reduction(),
    };
    let forward = losses::multilabel_margin_loss(x.view(), t.view(), &o);
    let backward = |wrt: &str, g: &ArrayViewD<'_, F>, _: &ArrayD<F>| match wrt {
        "input" => losses::multilabel_margin_loss_backward(g.view(), x.view(), t.view(), &o),
        _ => zeros(t.shape()),
    };
    computed(case, layout, forward, &backward)
}

// ---------------------------------------------------------------------------------
// libtorch
// ---------------------------------------------------------------------------------

#[cfg(feature = "torch")]
fn tensor(t: &dyn Fn(&str) -> Option<tch::Tensor>, name: &str) -> Result<tch::Tensor, CaseError> {
    t(name).ok_or_else(|| super::softmax::missing(name))
}

#[cfg(feature = "torch")]
fn hinge_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let (input, target) = super::elementwise::input_and_target(t)?;
    input
        .f_hinge_embedding_loss(
            &target,
            margin(case),
            super::nll_loss::torch_reduction(case),
        )
        .map_err(crate::backend::torch_error)
}

/// Python's check of the dimensions first (a `RuntimeError` raised in Python, the
/// sizes printed as `torch.Size`), then aten's op.
#[cfg(feature = "torch")]
fn ranking_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let (a, b, y) = (
        tensor(t, "input1")?,
        tensor(t, "input2")?,
        tensor(t, "target")?,
    );
    if a.dim() != b.dim() || a.dim() != y.dim() {
        let size = |x: &tch::Tensor| {
            let dims: Vec<String> = x.size().iter().map(|d| d.to_string()).collect();
            format!("torch.Size([{}])", dims.join(", "))
        };
        return Err(CaseError::new(
            "RuntimeError",
            format!(
                "margin_ranking_loss : All input tensors should have same dimension but got \
                 sizes: input1: {}, input2: {}, target: {} ",
                size(&a),
                size(&b),
                size(&y)
            ),
        ));
    }
    tch::Tensor::f_margin_ranking_loss(
        &a,
        &b,
        &y,
        margin(case),
        super::nll_loss::torch_reduction(case),
    )
    .map_err(crate::backend::torch_error)
}

#[cfg(feature = "torch")]
fn cosine_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let (a, b, y) = (
        tensor(t, "input1")?,
        tensor(t, "input2")?,
        tensor(t, "target")?,
    );
    tch::Tensor::f_cosine_embedding_loss(
        &a,
        &b,
        &y,
        margin(case),
        super::nll_loss::torch_reduction(case),
    )
    .map_err(crate::backend::torch_error)
}

#[cfg(feature = "torch")]
fn multilabel_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    let (input, target) = super::elementwise::input_and_target(t)?;
    input
        .f_multilabel_margin_loss(&target, super::nll_loss::torch_reduction(case))
        .map_err(crate::backend::torch_error)
}

/// The TorchScript function calling `aten::multi_margin_loss`, loaded once per thread.
#[cfg(feature = "torch")]
fn with_multi_margin_module<R>(
    f: impl FnOnce(&tch::CModule) -> Result<R, CaseError>,
) -> Result<R, CaseError> {
    thread_local! {
        static MODULE: Result<tch::CModule, String> = {
            let bytes: &[u8] = include_bytes!("multi_margin_loss.pt");
            tch::CModule::load_data(&mut std::io::Cursor::new(bytes)).map_err(|e| e.to_string())
        };
    }
    MODULE.with(|m| match m {
        Ok(m) => f(m),
        Err(e) => Err(CaseError::new(
            "RuntimeError",
            format!("the TorchScript module multi_margin_loss.pt does not load: {e}"),
        )),
    })
}

/// An error raised inside the TorchScript interpreter: its text is a TorchScript
/// traceback whose last line is the op's error as `RuntimeError: message` (the
/// interpreter names every c10 error class so; aten's dispatch misses, "... not
/// implemented for '...'", are `NotImplementedError`s in Python).
#[cfg(feature = "torch")]
fn script_error(err: tch::TchError) -> CaseError {
    let tch::TchError::Torch(text) = &err else {
        return crate::backend::torch_error(err);
    };
    let last = text
        .lines()
        .rev()
        .find_map(|l| l.split_once("Error: "))
        .filter(|(k, _)| !k.contains(' '));
    match last {
        Some((_, message)) => {
            let kind = if message.contains("not implemented for '") {
                "NotImplementedError"
            } else {
                "RuntimeError"
            };
            CaseError::new(kind, message)
        }
        None => crate::backend::torch_error(err),
    }
}

/// `F.multi_margin_loss`: its Python checks (`p`, the weight's dimensions), then
/// `torch._C._nn.multi_margin_loss` through the TorchScript function.
#[cfg(feature = "torch")]
fn multi_margin_torch(
    case: &Case,
    t: &dyn Fn(&str) -> Option<tch::Tensor>,
) -> Result<tch::Tensor, CaseError> {
    use tch::IValue;
    let (input, target) = super::elementwise::input_and_target(t)?;
    let p = case.int("p").unwrap_or(1);
    if p != 1 && p != 2 {
        return Err(CaseError::new(
            "ValueError",
            "only p == 1 and p == 2 supported",
        ));
    }
    let weight = t("weight");
    if weight.as_ref().is_some_and(|w| w.dim() != 1) {
        return Err(CaseError::new(
            "ValueError",
            "weight must be one-dimensional",
        ));
    }
    let args = [
        IValue::Tensor(input),
        IValue::Tensor(target),
        IValue::Int(p),
        IValue::Double(margin(case)),
        weight.map_or(IValue::None, IValue::Tensor),
        IValue::Int(super::nll_loss::torch_reduction(case).to_int()),
    ];
    with_multi_margin_module(|m| match m.forward_is(&args).map_err(script_error)? {
        IValue::Tensor(out) => Ok(out),
        other => Err(CaseError::new(
            "RuntimeError",
            format!("multi_margin_loss.pt returned {other:?}, not a tensor"),
        )),
    })
}
