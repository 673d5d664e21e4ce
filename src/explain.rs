//! Explanations of a case in plain words: what PyTorch will do with the call (its
//! outcome, as the Rust losses compute it, with the hint of any error) and what is
//! probably wrong with it, each finding with the evidence that triggered it.
//!
//! Needs no libtorch: the outcome comes from [`RustBackend`], which agrees with
//! libtorch on every case of the catalogue (`tests/snapshots.rs` checks that).
//!
//! Codes: `outcome` (always, first), `not-log-probabilities` (including
//! `log_softmax(dim=0)`), `probabilities-not-log`, `one-hot-target`,
//! `batch-of-targets-for-1d-input`, `class-count-mismatch`, `negative-target`,
//! `all-targets-ignored`, `zero-total-weight`, `empty-batch`,
//! `label-smoothing-out-of-range`, `probabilities-not-normalised`,
//! `softmax-over-batch`.
//!
//! ```
//! use lossparity::case::Case;
//! use lossparity::explain::explain;
//!
//! // log_softmax over dim=0 (the batch) of the docs example, fed to nll_loss.
//! let case = Case::from_json(r#"{"op":"nll_loss",
//!     "input":{"dtype":"float32","shape":[3,5],"data":[-2.169846,-0.23954484,-1.1802697,
//!         -1.5514446,-3.169846,-0.16984604,-2.2395449,-1.6802697,-0.55144465,-2.169846,
//!         -3.169846,-2.2395449,-0.68026966,-1.5514446,-0.16984604]},
//!     "target":{"dtype":"int64","shape":[3],"data":[1,0,4]}}"#).unwrap();
//! let explanation = explain(&case);
//! let finding = explanation.find("not-log-probabilities").unwrap();
//! assert!(finding.summary.contains("normalised over the batch (dim=0), not over classes (dim=1)"));
//! println!("{explanation}");
//! ```

use std::fmt;

use ndarray::{ArrayD, IxDyn};

use crate::backend::{Backend, RustBackend};
use crate::case::{Case, CaseError, DType, Op, TensorData, Values};
use crate::losses::{
    self, CrossEntropyOptions, Float, LossError, NllLossOptions, Reduction, Target,
};

/// One finding about a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// A stable, kebab-case name: `outcome`, `not-log-probabilities`, `one-hot-target`, ...
    pub code: &'static str,
    /// What happens or what is wrong, in one sentence.
    pub summary: String,
    /// The facts of the case that support the summary (shapes, values, counts).
    pub evidence: String,
    /// What to do about it; empty when there is nothing to do.
    pub suggestion: String,
}

/// Every finding about a case: first the `outcome` (always present), then what is
/// probably wrong, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The findings, the outcome first.
    pub diagnostics: Vec<Diagnostic>,
}

impl Explanation {
    /// The codes of the findings, in order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.diagnostics.iter().map(|d| d.code).collect()
    }

    /// The finding with this code, if any.
    pub fn find(&self, code: &str) -> Option<&Diagnostic> {
        self.diagnostics.iter().find(|d| d.code == code)
    }
}

/// Width at which [`Explanation`]'s text is wrapped.
const WRAP: usize = 88;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.diagnostics {
            write_wrapped(f, &format!("{}: {}", d.code, d.summary), "", "    ")?;
            if !d.evidence.is_empty() {
                write_wrapped(f, &format!("evidence: {}", d.evidence), "  ", "      ")?;
            }
            if !d.suggestion.is_empty() {
                write_wrapped(f, &format!("suggestion: {}", d.suggestion), "  ", "      ")?;
            }
        }
        Ok(())
    }
}

/// Writes `text` word-wrapped at [`WRAP`] columns, the first line indented by `first`,
/// the others by `rest`.
fn write_wrapped(f: &mut fmt::Formatter<'_>, text: &str, first: &str, rest: &str) -> fmt::Result {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && line.len() + 1 + word.len() > WRAP {
            writeln!(f, "{line}")?;
            line = String::from(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(f, "{line}")
}

/// What PyTorch will do with `case` and what is probably wrong with it.
pub fn explain(case: &Case) -> Explanation {
    let mut diagnostics = vec![outcome(case)];
    match case.op {
        Op::NllLoss | Op::CrossEntropy => {
            let facts = LossFacts::of(case);
            diagnostics.extend(
                [
                    input_not_log_probabilities(case, &facts),
                    one_hot_target(case, &facts),
                    batch_of_targets_for_1d_input(case),
                    class_count_mismatch(case, &facts),
                    negative_target(case, &facts),
                    all_targets_ignored(case, &facts),
                    zero_total_weight(case, &facts),
                    empty_batch(case, &facts),
                    label_smoothing_out_of_range(case),
                    probabilities_not_normalised(case, &facts),
                ]
                .into_iter()
                .flatten(),
            );
        }
        Op::LogSoftmax | Op::Softmax => diagnostics.extend(softmax_over_batch(case)),
    }
    Explanation { diagnostics }
}

/// A float rounded for display, so that text showing it changes only when behaviour
/// does: 5 significant digits for `float32` (and narrower; its comparison tolerance is
/// `rtol` 1e-5), 10 for `float64`, and magnitudes below `1e-7` (`float32`) or `1e-12`
/// (`float64`), far under the comparison tolerances, shown as `0`.
///
/// libtorch's vectorised kernels differ by a few ULP between machines (AVX2, AVX512,
/// none), and any rounding flips a value that lies within those ULP of a rounding
/// boundary; the coarser the rounding, the rarer that is. On the snapshot catalogue,
/// 6 digits changed a snapshot between libtorch's AVX512 and its non-vectorised
/// kernels; 5 digits changed none.
///
/// ```
/// use lossparity::case::DType;
/// use lossparity::explain::rounded;
///
/// assert_eq!(rounded(DType::Float32, 0.46604421734809875), "0.46604");
/// assert_eq!(rounded(DType::Float64, 0.16723386132142282), "0.1672338613");
/// assert_eq!(rounded(DType::Float32, -5.960464477539063e-8), "0");
/// assert_eq!(rounded(DType::Float32, 20000.0), "20000");
/// assert_eq!(rounded(DType::Float32, 1.2345678e-5), "1.2346e-5");
/// assert_eq!(rounded(DType::Float32, f64::NEG_INFINITY), "-inf");
/// ```
pub fn rounded(dtype: DType, v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let (digits, floor) = match dtype {
        DType::Float64 => (10, 1e-12),
        _ => (5, 1e-7),
    };
    if v.abs() < floor {
        return "0".into();
    }
    let r: f64 = format!("{:.*e}", digits - 1, v).parse().unwrap_or(v);
    if (1e-4..1e6).contains(&r.abs()) {
        format!("{r}")
    } else {
        format!("{r:e}")
    }
}

/// A tensor's values on one line, rounded by [`rounded`], at most `limit` of them
/// (then `...` and the count).
fn values_inline(t: &TensorData, limit: usize) -> String {
    let shown: Vec<String> = match &t.values {
        Values::Float(v) => v.iter().take(limit).map(|&x| rounded(t.dtype, x)).collect(),
        Values::Int(v) => v.iter().take(limit).map(|x| x.to_string()).collect(),
    };
    let n = t.values.len();
    if t.shape.is_empty() {
        shown.join("")
    } else if n > limit {
        format!("[{}, ... ({n} values)]", shown.join(", "))
    } else {
        format!("[{}]", shown.join(", "))
    }
}

/// `[3, 5]`, PyTorch's way of printing a shape.
fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// The `F.` call of the case's op.
fn call_name(op: Op) -> String {
    format!("F.{}", op.name())
}

// ---------------------------------------------------------------------------------
// The outcome.

fn outcome(case: &Case) -> Diagnostic {
    let result = RustBackend::default().evaluate(case).result;
    let hint_error = typed_error(case);
    let hint = |e: &CaseError| -> String {
        match &hint_error {
            Some(le) if le.kind().as_str() == e.kind && le.message() == e.message => {
                le.hint().to_string()
            }
            _ => fallback_hint(case, e),
        }
    };
    let call = call_name(case.op);
    let (summary, suggestion) = match &result {
        Err(e) => (format!("{call} raises {}: {}", e.kind, e.message), hint(e)),
        Ok(computed) => {
            let out = &computed.output;
            let value = if out.shape.is_empty() {
                format!(
                    "{call} returns {} (a {} scalar)",
                    values_inline(out, 1),
                    out.dtype.name()
                )
            } else {
                format!(
                    "{call} returns a {} tensor of shape {}: {}",
                    out.dtype.name(),
                    shape_str(&out.shape),
                    values_inline(out, 8)
                )
            };
            match &computed.grad_input {
                None => (value, String::new()),
                Some(Ok(g)) => (
                    format!(
                        "{value}; the gradient with respect to the input has shape {}",
                        shape_str(&g.shape)
                    ),
                    String::new(),
                ),
                Some(Err(e)) => (
                    format!("{value}, but the backward raises {}: {}", e.kind, e.message),
                    hint(e),
                ),
            }
        }
    };
    Diagnostic {
        code: "outcome",
        summary,
        evidence: reading(case, result.is_err()),
        suggestion,
    }
}

/// The hint for errors the typed losses cannot express (dtypes that differ within
/// one call, integer inputs, types the Rust losses do not implement).
fn fallback_hint(case: &Case, e: &CaseError) -> String {
    if let Some(shape_error) = shape_checks(case).err() {
        if shape_error.message() == e.message {
            return shape_error.hint().to_string();
        }
    }
    if e.message.starts_with("expected scalar type") {
        if let Some(w) = &case.weight {
            if w.dtype != case.input.dtype && e.message.contains(w.dtype.torch_name()) {
                return format!(
                    "the weight is {} but the input is {}; PyTorch does not convert it: \
                     pass weight.to(input.dtype)",
                    w.dtype.name(),
                    case.input.dtype.name()
                );
            }
        }
        if e.message.ends_with("found Byte") {
            return "inputs with spatial dimensions (3-D and more) read int64 class indices \
                    only: pass target.long()"
                .into();
        }
    }
    if e.kind == "NotImplementedError" && !case.input.dtype.is_float() {
        return format!(
            "the input holds integers ({}); losses and softmax need floating-point scores: \
             pass input.float()",
            case.input.dtype.name()
        );
    }
    if e.kind == "Unsupported" {
        return "the Rust losses do not compute this dtype combination; libtorch does (see \
                the known divergences in src/known.rs)"
            .into();
    }
    String::new()
}

/// Every shape check of the case's loss, with the case's shapes and dtypes.
fn shape_checks(case: &Case) -> Result<(), LossError> {
    let Some(target) = &case.target else {
        return Ok(());
    };
    let weight = case.weight.as_ref().map(|w| w.shape.as_slice());
    match case.op {
        Op::NllLoss => losses::internals::check_nll_loss_shapes(
            &case.input.shape,
            &target.shape,
            target.dtype.torch_name(),
            weight,
        ),
        Op::CrossEntropy => losses::internals::check_cross_entropy_shapes(
            &case.input.shape,
            &target.shape,
            target.dtype.torch_name(),
            target.dtype.is_float(),
            weight,
            case.ignore_index,
            case.label_smoothing,
        ),
        Op::LogSoftmax | Op::Softmax => Ok(()),
    }
}

/// The first error of the case run through the typed losses (which carry hints), or
/// `None` when it succeeds or cannot be expressed with one float type.
fn typed_error(case: &Case) -> Option<LossError> {
    match case.input.dtype {
        DType::Float32 => typed_run::<f32>(case).err(),
        DType::Float64 => typed_run::<f64>(case).err(),
        _ => shape_checks(case).err(),
    }
}

fn array<F: Float>(t: &TensorData) -> Option<ArrayD<F>> {
    let v = t.floats()?;
    ArrayD::from_shape_vec(IxDyn(&t.shape), v.iter().map(|&x| F::of_f64(x)).collect()).ok()
}

fn int_array(t: &TensorData) -> Option<ArrayD<i64>> {
    let Values::Int(v) = &t.values else {
        return None;
    };
    ArrayD::from_shape_vec(IxDyn(&t.shape), v.clone()).ok()
}

/// `grad_output` of the case, or ones of the output's shape.
fn grad_output<F: Float>(case: &Case, output: &ArrayD<F>) -> ArrayD<F> {
    case.grad_output
        .as_ref()
        .and_then(array::<F>)
        .unwrap_or_else(|| ArrayD::from_elem(output.raw_dim(), F::one()))
}

fn typed_run<F: Float + CaseFloatName>(case: &Case) -> Result<(), LossError> {
    let Some(input) = array::<F>(&case.input) else {
        return Ok(());
    };
    let dim = case.dim.unwrap_or(0);
    if matches!(case.op, Op::LogSoftmax | Op::Softmax) {
        let output = if case.op == Op::LogSoftmax {
            losses::log_softmax(input.view(), dim)?
        } else {
            losses::softmax(input.view(), dim)?
        };
        if case.grad {
            let go = grad_output(case, &output);
            if case.op == Op::LogSoftmax {
                losses::log_softmax_backward(go.view(), output.view(), dim)?;
            } else {
                losses::softmax_backward(go.view(), output.view(), dim)?;
            }
        }
        return Ok(());
    }
    let Some(target_data) = &case.target else {
        return Ok(());
    };
    let weight_foreign = case.weight.as_ref().is_some_and(|w| w.dtype != F::DTYPE);
    let target_foreign = target_data.dtype.is_float() && target_data.dtype != F::DTYPE;
    if weight_foreign || target_foreign {
        return shape_checks(case);
    }
    let weight = case.weight.as_ref().and_then(array::<F>);
    let indices = int_array(target_data);
    let bytes = indices.as_ref().map(|t| t.mapv(|v| v as u8));
    let probabilities = array::<F>(target_data);
    let target = || -> Option<Target<'_, F>> {
        Some(match target_data.dtype {
            DType::Int64 => Target::Indices(indices.as_ref()?.view()),
            DType::UInt8 => Target::Bytes(bytes.as_ref()?.view()),
            _ => Target::Probabilities(probabilities.as_ref()?.view()),
        })
    };
    let Some(first_target) = target() else {
        return Ok(());
    };
    if case.op == Op::NllLoss {
        let options = NllLossOptions {
            weight: weight.as_ref().map(|w| w.view()),
            ignore_index: case.ignore_index,
            reduction: case.reduction,
        };
        let output = losses::nll_loss(input.view(), first_target, &options)?;
        if case.grad {
            let go = grad_output(case, &output);
            if let Some(t) = target() {
                losses::nll_loss_backward(go.view(), input.view(), t, &options)?;
            }
        }
    } else {
        let options = CrossEntropyOptions {
            weight: weight.as_ref().map(|w| w.view()),
            ignore_index: case.ignore_index,
            reduction: case.reduction,
            label_smoothing: case.label_smoothing,
        };
        let output = losses::cross_entropy(input.view(), first_target, &options)?;
        if case.grad {
            let go = grad_output(case, &output);
            if let Some(t) = target() {
                losses::cross_entropy_backward(go.view(), input.view(), t, &options)?;
            }
        }
    }
    Ok(())
}

/// The case dtype of a float type of the losses.
trait CaseFloatName {
    const DTYPE: DType;
}

impl CaseFloatName for f32 {
    const DTYPE: DType = DType::Float32;
}

impl CaseFloatName for f64 {
    const DTYPE: DType = DType::Float64;
}

/// How PyTorch reads the call: layout, target and, when the call goes through, the
/// reduction.
fn reading(case: &Case, raised: bool) -> String {
    let shape = &case.input.shape;
    if let Op::LogSoftmax | Op::Softmax = case.op {
        let dim = case.dim.unwrap_or(0);
        return match losses::internals::wrap_dim_checked(dim, shape.len()) {
            Err(_) => format!(
                "input {} has {} dimension(s), so dim must be in [{}, {}]; dim={dim} is not",
                shape_str(shape),
                shape.len(),
                -(shape.len().max(1) as i64),
                shape.len().max(1) as i64 - 1
            ),
            Ok(axis) => {
                let size = shape.get(axis).copied().unwrap_or(1);
                let slices = shape.iter().product::<usize>() / size.max(1);
                format!(
                    "input {}: {} normalises each of the {slices} slice(s) along dim {axis} \
                     (size {size}) on its own",
                    shape_str(shape),
                    case.op.name()
                )
            }
        };
    }
    let facts = LossFacts::of(case);
    let mut parts = vec![layout_reading(case.op, shape)];
    let Some(target) = &case.target else {
        return parts.join("; ");
    };
    let target_desc = format!(
        "target {} {}",
        shape_str(&target.shape),
        target.dtype.name()
    );
    if facts.probability_target {
        parts.push(format!(
            "{target_desc} has the input's shape, so cross_entropy reads it as class \
             probabilities"
        ));
    } else if let (Some(targets), true) = (&facts.indices, facts.index_target_shaped(case)) {
        let ignored = targets.iter().filter(|&&t| t == case.ignore_index).count();
        parts.push(format!(
            "{target_desc}: class indices, {} counted, {ignored} ignored (ignore_index={})",
            targets.len() - ignored,
            case.ignore_index
        ));
    } else {
        parts.push(target_desc);
    }
    if raised {
        return parts.join("; ");
    }
    if case.op == Op::CrossEntropy {
        parts.push(format!(
            "cross_entropy applies log_softmax over dim {} itself",
            facts.class_axis
        ));
        if case.label_smoothing > 0.0 && case.label_smoothing <= 1.0 {
            parts.push(format!(
                "label_smoothing={} mixes the target with the uniform distribution over \
                 the classes",
                case.label_smoothing
            ));
        }
    }
    parts.push(match case.reduction {
        Reduction::None => "reduction='none': one loss per position".to_string(),
        Reduction::Sum => "reduction='sum': the plain sum over positions".to_string(),
        Reduction::Mean if facts.probability_target => format!(
            "reduction='mean' divides the sum by the number of positions ({}), not by \
             the weights",
            facts.positions
        ),
        Reduction::Mean => format!(
            "reduction='mean' divides the sum of -weight[t] * {}[t] by the total weight of \
             the counted targets{}",
            if case.op == Op::NllLoss {
                "input"
            } else {
                "logp"
            },
            match facts.counted_weight(case) {
                Some(total) => format!(" ({})", rounded(case.input.dtype, total)),
                None => String::new(),
            }
        ),
    });
    parts.join("; ")
}

/// The shape a class-index target of an input of this shape has.
fn index_target_shape(input: &[usize]) -> Option<Vec<usize>> {
    match input.len() {
        0 => None,
        1 => Some(Vec::new()),
        _ => Some(
            std::iter::once(input[0])
                .chain(input[2..].iter().copied())
                .collect(),
        ),
    }
}

fn layout_reading(op: Op, shape: &[usize]) -> String {
    let probabilities = if op == Op::CrossEntropy {
        ", or class probabilities of the input's shape"
    } else {
        ""
    };
    match shape.len() {
        0 => "a 0-D input has no class dimension; losses take (C), (N, C) or \
              (N, C, d1, ..., dK)"
            .to_string(),
        1 => format!(
            "input {}: ONE unbatched sample with {} classes (class dim 0), whose target is \
             one class index of shape []{probabilities}",
            shape_str(shape),
            shape[0]
        ),
        2 => format!(
            "input {}: {} sample(s) with {} classes each (class dim 1), whose target is one \
             class index per sample, shape [{}]{probabilities}",
            shape_str(shape),
            shape[0],
            shape[1],
            shape[0]
        ),
        _ => {
            let spatial: Vec<String> = shape[2..].iter().map(|d| d.to_string()).collect();
            format!(
                "input {}: {} sample(s), {} classes (class dim 1), {} positions each, whose \
                 target is one class index per position, shape {}{probabilities}",
                shape_str(shape),
                shape[0],
                shape[1],
                spatial.join("x"),
                shape_str(&index_target_shape(shape).unwrap_or_default())
            )
        }
    }
}

// ---------------------------------------------------------------------------------
// Diagnostics of losses.

/// The facts of a loss case that the diagnostics share.
struct LossFacts {
    /// The class dimension: 0 for a 1-D input, else 1.
    class_axis: usize,
    /// Number of classes, when the input has a class dimension.
    classes: Option<usize>,
    /// Whether cross_entropy reads the target as class probabilities.
    probability_target: bool,
    /// Class-index targets (int64 or uint8), flattened.
    indices: Option<Vec<i64>>,
    /// Positions that carry a target (N * d1..dK, or 1 for a 1-D input).
    positions: usize,
}

impl LossFacts {
    fn of(case: &Case) -> LossFacts {
        let shape = &case.input.shape;
        let class_axis = usize::from(shape.len() >= 2);
        let classes = shape.get(class_axis).copied();
        let target = case.target.as_ref();
        // cross_entropy decides by shape alone, then checks the dtype.
        let probability_target =
            case.op == Op::CrossEntropy && target.is_some_and(|t| t.shape == *shape);
        let indices = target.and_then(|t| match &t.values {
            Values::Int(v) if !probability_target => Some(v.clone()),
            _ => None,
        });
        let positions = match shape.len() {
            0 => 0,
            1 => 1,
            _ => shape[0] * shape[2..].iter().product::<usize>(),
        };
        LossFacts {
            class_axis,
            classes,
            probability_target,
            indices,
            positions,
        }
    }

    /// Whether the target has the shape of class indices for this input.
    fn index_target_shaped(&self, case: &Case) -> bool {
        case.target.as_ref().map(|t| t.shape.clone()) == index_target_shape(&case.input.shape)
    }

    /// Weight of class `t`: `weight[t]`, or 1 without a weight.
    fn weight_of(case: &Case, t: i64) -> Option<f64> {
        match &case.weight {
            None => Some(1.0),
            Some(w) => w.floats()?.get(usize::try_from(t).ok()?).copied(),
        }
    }

    /// The total weight of the counted (not ignored, in range) index targets.
    fn counted_weight(&self, case: &Case) -> Option<f64> {
        let targets = self.indices.as_ref()?;
        let classes = self.classes? as i64;
        let mut total = 0.0;
        for &t in targets.iter().filter(|&&t| t != case.ignore_index) {
            if !(0..classes).contains(&t) {
                return None;
            }
            total += Self::weight_of(case, t)?;
        }
        Some(total)
    }
}

/// The slices of a row-major tensor along `axis`: each slice's flat indices.
fn lanes(shape: &[usize], axis: usize) -> impl Iterator<Item = (Vec<usize>, Vec<usize>)> + '_ {
    let size = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    (0..outer * inner).map(move |p| {
        let (o, i) = (p / inner.max(1), p % inner.max(1));
        let flat = (0..size).map(|c| (o * size + c) * inner + i).collect();
        (lane_index(shape, axis, o, i), flat)
    })
}

/// The multi-index of a lane with the lane's axis as `usize::MAX` (printed `:`).
fn lane_index(shape: &[usize], axis: usize, outer: usize, inner: usize) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    let mut rest = outer;
    for d in (0..axis).rev() {
        index[d] = rest % shape[d];
        rest /= shape[d];
    }
    index[axis] = usize::MAX;
    let mut rest = inner;
    for d in (axis + 1..shape.len()).rev() {
        index[d] = rest % shape[d];
        rest /= shape[d];
    }
    index
}

fn index_str(index: &[usize]) -> String {
    let parts: Vec<String> = index
        .iter()
        .map(|&i| {
            if i == usize::MAX {
                ":".to_string()
            } else {
                i.to_string()
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `log(sum(exp(v)))`, computed stably in f64.
fn logsumexp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    if values.clone().any(f64::is_nan) {
        return f64::NAN;
    }
    if max.is_infinite() {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// How far from 0 a slice's log-sum-exp (or from 1 its sum) may be and still count as
/// normalised: loose enough for values computed in the dtype, tight enough to catch
/// any real mistake.
fn normalisation_tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::Float64 => 1e-6,
        DType::Float32 => 1e-3,
        _ => 1e-2,
    }
}

/// The first slice along `axis` whose `measure` is more than `tol` from `target`.
fn first_off(
    values: &[f64],
    shape: &[usize],
    axis: usize,
    measure: fn(&[f64]) -> f64,
    target: f64,
    tol: f64,
) -> Option<(Vec<usize>, f64)> {
    lanes(shape, axis).find_map(|(index, flat)| {
        let lane: Vec<f64> = flat.iter().map(|&i| values[i]).collect();
        let m = measure(&lane);
        ((m - target).abs() > tol || m.is_nan()).then_some((index, m))
    })
}

fn lane_logsumexp(lane: &[f64]) -> f64 {
    logsumexp(lane.iter().copied())
}

fn lane_sum(lane: &[f64]) -> f64 {
    lane.iter().sum()
}

fn input_not_log_probabilities(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if case.op != Op::NllLoss || case.input.shape.is_empty() || case.input.values.is_empty() {
        return None;
    }
    let values = case.input.floats()?;
    let shape = &case.input.shape;
    let axis = facts.class_axis;
    let tol = normalisation_tolerance(case.input.dtype);
    let (index, lse) = first_off(values, shape, axis, lane_logsumexp, 0.0, tol)?;
    let class_dim = format!("dim={axis}");
    let in_unit = values.iter().all(|v| (0.0..=1.0).contains(v));
    if in_unit && first_off(values, shape, axis, lane_sum, 1.0, tol).is_none() {
        return Some(Diagnostic {
            code: "probabilities-not-log",
            summary: "the input holds probabilities (in [0, 1], summing to 1 over the \
                      classes), but nll_loss expects log-probabilities"
                .into(),
            evidence: format!(
                "every value is in [0, 1] and every slice along {class_dim} sums to 1; \
                 nll_loss then returns -p[target], not -log p[target]"
            ),
            suggestion: format!(
                "pass probabilities.log() (better: F.log_softmax(scores, {class_dim}) \
                 instead of softmax), or F.cross_entropy(scores, target) on the raw scores"
            ),
        });
    }
    let evidence = format!(
        "slice {} along the class dimension ({class_dim}) has logsumexp {} (log-probabilities \
         have logsumexp 0){}",
        index_str(&index),
        rounded(case.input.dtype, lse),
        match values.iter().copied().fold(f64::NEG_INFINITY, f64::max) {
            m if m > 0.0 => format!(
                "; the largest value is {}, and log-probabilities are never above 0",
                rounded(case.input.dtype, m)
            ),
            _ => String::new(),
        }
    );
    if shape.len() >= 2 && first_off(values, shape, 0, lane_logsumexp, 0.0, tol).is_none() {
        return Some(Diagnostic {
            code: "not-log-probabilities",
            summary: "the input is log_softmax normalised over the batch (dim=0), not over \
                      classes (dim=1): PyTorch accepts it silently and the loss is wrong"
                .into(),
            evidence: format!(
                "{evidence}, while every slice along dim=0 (the batch) has logsumexp 0"
            ),
            suggestion: "use F.log_softmax(scores, dim=1) (the class dimension), or \
                         F.cross_entropy(scores, target), which does it for you"
                .into(),
        });
    }
    Some(Diagnostic {
        code: "not-log-probabilities",
        summary: format!(
            "the input is not log-probabilities over the classes ({class_dim}): nll_loss \
             just picks -input[target] and the result is not a log-likelihood"
        ),
        evidence,
        suggestion: format!(
            "if these are raw scores (logits), use F.cross_entropy(scores, target), or \
             F.nll_loss(F.log_softmax(scores, {class_dim}), target)"
        ),
    })
}

fn one_hot_target(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let target = case.target.as_ref()?;
    if target.shape != case.input.shape || target.shape.is_empty() || target.values.is_empty() {
        return None;
    }
    let zero_one = match &target.values {
        Values::Int(v) => v.iter().all(|&x| x == 0 || x == 1) && v.contains(&1),
        Values::Float(v) => v.iter().all(|&x| x == 0.0 || x == 1.0) && v.contains(&1.0),
    };
    if !zero_one {
        return None;
    }
    let class_dim = facts.class_axis;
    let evidence = format!(
        "the target has the input's shape {} and holds only 0 and 1 ({})",
        shape_str(&target.shape),
        target.dtype.name()
    );
    let indices_fix = format!("class indices target.argmax(dim={class_dim})");
    let (summary, suggestion) = match (target.dtype.is_float(), case.op) {
        (_, Op::NllLoss) => (
            "a one-hot target: nll_loss takes class indices (one integer per sample), \
             not one-hot vectors, and rejects it"
                .to_string(),
            format!("pass the {indices_fix}"),
        ),
        (false, _) => (
            "a one-hot target of integers: cross_entropy reads a target of the input's \
             shape as class probabilities, which must be floating point, so it rejects it"
                .to_string(),
            format!("pass the {indices_fix}, or target.float() as probabilities"),
        ),
        (true, _) => (
            "a one-hot target of floats: cross_entropy reads it as class probabilities, \
             which works; each one-hot row is the distribution of its class"
                .to_string(),
            format!(
                "nothing to fix; the {indices_fix} give the same loss without a weight \
                 (with weight=, 'mean' divides by the targets' total weight instead of N) \
                 and are cheaper"
            ),
        ),
    };
    Some(Diagnostic {
        code: "one-hot-target",
        summary,
        evidence,
        suggestion,
    })
}

fn batch_of_targets_for_1d_input(case: &Case) -> Option<Diagnostic> {
    let target = case.target.as_ref()?;
    let input = &case.input.shape;
    if input.len() != 1 || target.shape.len() != 1 || target.shape[0] <= 1 {
        return None;
    }
    if case.op == Op::CrossEntropy && target.dtype.is_float() && target.shape == *input {
        return None;
    }
    let (c, n) = (input[0], target.shape[0]);
    Some(Diagnostic {
        code: "batch-of-targets-for-1d-input",
        summary: format!(
            "a 1-D input is ONE sample with {c} classes, but the target holds {n} values, \
             as for a batch"
        ),
        evidence: format!(
            "input shape {}, target shape {}",
            shape_str(input),
            shape_str(&target.shape)
        ),
        suggestion: format!(
            "for a batch of {n} samples give the scores as shape ({n}, {c}) (torch.stack \
             the samples) and a target of shape ({n}); for one sample give one class \
             index, a 0-D target such as torch.tensor(1)"
        ),
    })
}

fn class_count_mismatch(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let classes = facts.classes?;
    let weight_len = case
        .weight
        .as_ref()
        .map(|w| (w.shape.clone(), w.values.len()));
    let weight_off = weight_len
        .as_ref()
        .is_some_and(|(shape, _)| *shape != [classes]);
    let out_of_range = facts.indices.as_ref().and_then(|targets| {
        targets
            .iter()
            .enumerate()
            .filter(|&(_, &t)| t != case.ignore_index && t >= classes as i64)
            .max_by_key(|&(_, &t)| t)
            .map(|(i, &t)| (i, t))
    });
    if !weight_off && out_of_range.is_none() {
        return None;
    }
    let mut evidence = vec![format!(
        "input: {classes} classes along dim {}",
        facts.class_axis
    )];
    if let Some((shape, n)) = &weight_len {
        evidence.push(format!("weight: shape {} ({n} entries)", shape_str(shape)));
    }
    if let Some((i, t)) = out_of_range {
        evidence.push(format!(
            "target: class index {t} at flat position {i}, but indices run 0..={}",
            classes as i64 - 1
        ));
    }
    Some(Diagnostic {
        code: "class-count-mismatch",
        summary: "the number of classes C disagrees between the input's class dimension, \
                  the weight and the target's class indices"
            .into(),
        evidence: evidence.join("; "),
        suggestion: "C is the number of categories: the input's class dimension (its \
                     last layer's out_features), the weight's length and the range of the \
                     target's indices (0..C-1) must all agree"
            .into(),
    })
}

fn negative_target(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let targets = facts.indices.as_ref()?;
    let (i, &t) = targets
        .iter()
        .enumerate()
        .find(|&(_, &t)| t < 0 && t != case.ignore_index)?;
    Some(Diagnostic {
        code: "negative-target",
        summary: format!(
            "target {t} is neither a class index nor the ignore_index ({})",
            case.ignore_index
        ),
        evidence: format!("flat position {i} of the target holds {t}"),
        suggestion: format!(
            "if {t} marks unlabelled positions, pass ignore_index={t}; class indices run \
             from 0"
        ),
    })
}

fn all_targets_ignored(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    let targets = facts.indices.as_ref()?;
    if targets.is_empty() || targets.iter().any(|&t| t != case.ignore_index) {
        return None;
    }
    let what = match case.reduction {
        Reduction::Mean => {
            "the mean divides 0 by a total weight of 0, NaN (0/0), and the \
                            gradient is zero"
        }
        Reduction::Sum => "the sum is 0 and the gradient is zero",
        Reduction::None => "every per-position loss is 0 and the gradient is zero",
    };
    Some(Diagnostic {
        code: "all-targets-ignored",
        summary: format!(
            "every target equals ignore_index ({}), so nothing is counted; {what}",
            case.ignore_index
        ),
        evidence: format!(
            "{0} of {0} target value(s) are {1}",
            targets.len(),
            case.ignore_index
        ),
        suggestion: match case.reduction {
            Reduction::Mean => "skip such batches (if (target != ignore_index).any()), or \
                                use reduction='sum' and divide by a count you choose"
                .into(),
            _ => String::new(),
        },
    })
}

fn zero_total_weight(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if case.reduction != Reduction::Mean || case.weight.is_none() || facts.probability_target {
        return None;
    }
    let targets = facts.indices.as_ref()?;
    if !targets.iter().any(|&t| t != case.ignore_index) {
        return None;
    }
    let total = facts.counted_weight(case)?;
    if total != 0.0 {
        return None;
    }
    Some(Diagnostic {
        code: "zero-total-weight",
        summary: "the counted targets' weights add up to 0, and reduction='mean' divides by \
                  that total: the loss is NaN or infinite"
            .into(),
        evidence: format!(
            "sum of weight[target] over the counted targets = {}",
            rounded(case.input.dtype, total)
        ),
        suggestion: "give the present classes non-zero weights with a non-zero total, or use \
                     reduction='sum'"
            .into(),
    })
}

fn empty_batch(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if case.input.shape.len() < 2 || facts.positions != 0 {
        return None;
    }
    let what = match case.reduction {
        Reduction::Mean => "reduction='mean' divides 0 by 0: the loss is NaN",
        Reduction::Sum => "reduction='sum' gives 0",
        Reduction::None => "reduction='none' gives an empty tensor",
    };
    Some(Diagnostic {
        code: "empty-batch",
        summary: format!("the batch has no positions: {what}"),
        evidence: format!("input shape {}", shape_str(&case.input.shape)),
        suggestion: match case.reduction {
            Reduction::Mean => "skip empty batches before computing the loss".into(),
            _ => String::new(),
        },
    })
}

fn label_smoothing_out_of_range(case: &Case) -> Option<Diagnostic> {
    let ls = case.label_smoothing;
    if case.op != Op::CrossEntropy || (0.0..=1.0).contains(&ls) {
        return None;
    }
    let (summary, suggestion) = if ls.is_nan() {
        (
            "label_smoothing is NaN: PyTorch silently treats it as 0, no smoothing".to_string(),
            "use a value in [0, 1]",
        )
    } else if ls > 1.0 {
        (
            format!("label_smoothing={ls} is above 1: PyTorch rejects it"),
            "use a value in [0, 1]: 0 keeps the target, 1 replaces it with the uniform \
             distribution; 0.1 is usual",
        )
    } else {
        (
            format!(
                "label_smoothing={ls} is below 0: PyTorch silently treats it as 0, no \
                 smoothing"
            ),
            "use a value in [0, 1]; a negative value does not sharpen the target",
        )
    };
    Some(Diagnostic {
        code: "label-smoothing-out-of-range",
        summary,
        evidence: "label_smoothing must be in [0, 1]".into(),
        suggestion: suggestion.into(),
    })
}

fn probabilities_not_normalised(case: &Case, facts: &LossFacts) -> Option<Diagnostic> {
    if !facts.probability_target || case.input.values.is_empty() {
        return None;
    }
    let target = case.target.as_ref()?;
    let values = target.floats()?;
    let tol = normalisation_tolerance(target.dtype);
    let (index, sum) = first_off(values, &target.shape, facts.class_axis, lane_sum, 1.0, tol)?;
    Some(Diagnostic {
        code: "probabilities-not-normalised",
        summary: "the probability target does not sum to 1 over the classes; cross_entropy \
                  does not normalise it, so each position's loss scales with its sum"
            .into(),
        evidence: format!(
            "slice {} of the target along dim={} sums to {}",
            index_str(&index),
            facts.class_axis,
            rounded(target.dtype, sum)
        ),
        suggestion: format!(
            "if it is meant as a distribution, normalise it: target / target.sum(dim={}, \
             keepdim=True)",
            facts.class_axis
        ),
    })
}

// ---------------------------------------------------------------------------------
// Diagnostics of log_softmax and softmax.

fn softmax_over_batch(case: &Case) -> Option<Diagnostic> {
    let shape = &case.input.shape;
    let axis = losses::internals::wrap_dim_checked(case.dim?, shape.len()).ok()?;
    if shape.len() < 2 || axis != 0 {
        return None;
    }
    Some(Diagnostic {
        code: "softmax-over-batch",
        summary: format!(
            "{} over dim=0 of a batched input normalises across the {} samples, not across \
             the classes",
            case.op.name(),
            shape[0]
        ),
        evidence: format!(
            "input shape {}: for (N, C) scores, dim 0 is the batch and dim 1 the classes",
            shape_str(shape)
        ),
        suggestion: format!(
            "for class probabilities use dim=1 (or dim=-1 for (N, C)); F.{}(scores, dim=0) \
             fed to nll_loss is accepted silently and gives a wrong loss",
            case.op.name()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(json: &str) -> Case {
        Case::from_json(json).unwrap_or_else(|e| panic!("bad case {json}: {e}"))
    }

    fn f32s(shape: &[usize], data: &[f64]) -> String {
        let data: Vec<String> = data.iter().map(|v| format!("{v:?}")).collect();
        format!(
            r#"{{"dtype":"float32","shape":{shape:?},"data":[{}]}}"#,
            data.join(",")
        )
    }

    fn ints(dtype: &str, shape: &[usize], data: &[i64]) -> String {
        format!(r#"{{"dtype":"{dtype}","shape":{shape:?},"data":{data:?}}}"#)
    }

    fn log_softmax_rows(rows: &[&[f64]]) -> Vec<f64> {
        rows.iter()
            .flat_map(|row| {
                let lse = logsumexp(row.iter().copied());
                row.iter().map(move |v| v - lse)
            })
            .collect()
    }

    /// The docs example's scores, 3 samples by 5 classes.
    const SCORES: [&[f64]; 3] = [
        &[1.0, 2.0, 0.5, 0.0, -1.0],
        &[3.0, 0.0, 0.0, 1.0, 0.0],
        &[0.0, 0.0, 1.0, 0.0, 2.0],
    ];

    fn scores() -> Vec<f64> {
        SCORES.iter().flat_map(|r| r.iter().copied()).collect()
    }

    fn log_probabilities() -> Vec<f64> {
        log_softmax_rows(&SCORES)
    }

    /// log_softmax over dim 0 of the docs example: each column normalised.
    fn log_probabilities_over_batch() -> Vec<f64> {
        let columns: Vec<Vec<f64>> = (0..5)
            .map(|c| SCORES.iter().map(|r| r[c]).collect())
            .collect();
        let column_refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        let normalised = log_softmax_rows(&column_refs);
        (0..15).map(|i| normalised[(i % 5) * 3 + i / 5]).collect()
    }

    fn nll(input: &str, target: &str, extra: &str) -> Case {
        case(&format!(
            r#"{{"op":"nll_loss","input":{input},"target":{target}{extra}}}"#
        ))
    }

    fn ce(input: &str, target: &str, extra: &str) -> Case {
        case(&format!(
            r#"{{"op":"cross_entropy","input":{input},"target":{target}{extra}}}"#
        ))
    }

    fn docs_target() -> String {
        ints("int64", &[3], &[1, 0, 4])
    }

    /// Only the outcome: nothing is wrong with the case.
    fn assert_clean(case: &Case) {
        let e = explain(case);
        assert_eq!(e.codes(), vec!["outcome"], "{case:?}\n{e}");
    }

    #[test]
    fn clean_cases_get_only_the_outcome() {
        assert_clean(&nll(
            &f32s(&[3, 5], &log_probabilities()),
            &docs_target(),
            r#","grad":true"#,
        ));
        assert_clean(&ce(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        assert_clean(&ce(
            &f32s(&[5], SCORES[0]),
            &ints("int64", &[], &[1]),
            r#","label_smoothing":0.1"#,
        ));
        assert_clean(&ce(
            &f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]),
            &f32s(&[2, 3], &[0.2, 0.8, 0.0, 0.5, 0.25, 0.25]),
            r#","weight":{"dtype":"float32","shape":[3],"data":[1.0,0.5,2.0]}"#,
        ));
        assert_clean(&case(&format!(
            r#"{{"op":"log_softmax","input":{},"dim":1}}"#,
            f32s(&[3, 5], &scores())
        )));
    }

    #[test]
    fn the_outcome_states_the_value_and_how_the_call_is_read() {
        let e = explain(&ce(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        let outcome = &e.diagnostics[0];
        assert_eq!(outcome.code, "outcome");
        // torch 2.13: F.cross_entropy(scores, target) = 0.46604421734809875
        assert_eq!(
            outcome.summary,
            "F.cross_entropy returns 0.46604 (a float32 scalar)"
        );
        assert!(outcome.evidence.contains("3 sample(s) with 5 classes each"));
        assert!(outcome.evidence.contains("3 counted, 0 ignored"));
        assert!(outcome.suggestion.is_empty());
    }

    #[test]
    fn the_outcome_of_an_error_carries_the_losses_hint() {
        let e = explain(&nll(
            &f32s(&[5], &[-1.2, -0.3, -2.0, -1.7, -2.5]),
            &ints("int64", &[3], &[1, 0, 0]),
            "",
        ));
        let outcome = e.find("outcome").unwrap();
        assert_eq!(
            outcome.summary,
            "F.nll_loss raises ValueError: For 1D input, 1D target must have size 1, but got \
             target size: 3"
        );
        assert!(outcome.suggestion.contains("one sample with 5 classes"));
    }

    #[test]
    fn the_outcome_of_a_backward_error_carries_its_hint() {
        let e = explain(&nll(
            &f32s(&[5], &[-1.2, -0.3, -2.0, -1.7, -2.5]),
            &ints("int64", &[1], &[1]),
            r#","grad":true"#,
        ));
        let outcome = e.find("outcome").unwrap();
        assert!(
            outcome
                .summary
                .contains("but the backward raises RuntimeError"),
            "{e}"
        );
        assert!(!outcome.suggestion.is_empty(), "{e}");
    }

    #[test]
    fn the_outcome_of_a_weight_of_another_dtype_explains_the_conversion() {
        let e = nll(
            &f32s(&[2, 3], &[-0.5, -1.0, -2.0, -1.5, -0.2, -3.0]),
            &ints("int64", &[2], &[0, 2]),
            r#","weight":{"dtype":"float64","shape":[3],"data":[1.0,1.0,1.0]}"#,
        );
        let outcome = explain(&e).diagnostics.remove(0);
        assert_eq!(
            outcome.summary,
            "F.nll_loss raises RuntimeError: expected scalar type Float but found Double"
        );
        assert!(outcome.suggestion.contains("weight.to(input.dtype)"));
    }

    #[test]
    fn log_softmax_over_the_batch_is_named_as_such() {
        let e = explain(&nll(
            &f32s(&[3, 5], &log_probabilities_over_batch()),
            &docs_target(),
            "",
        ));
        let d = e.find("not-log-probabilities").expect("flagged");
        assert!(
            d.summary
                .contains("normalised over the batch (dim=0), not over classes (dim=1)"),
            "{e}"
        );
        assert!(d
            .evidence
            .starts_with("slice [0, :] along the class dimension (dim=1) has logsumexp"));
    }

    #[test]
    fn raw_scores_to_nll_loss_are_not_log_probabilities() {
        let e = explain(&nll(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        let d = e.find("not-log-probabilities").expect("flagged");
        assert!(d
            .summary
            .contains("not log-probabilities over the classes (dim=1)"));
        // logsumexp([1, 2, 0.5, 0, -1]) = 2.5744379...
        assert!(d.evidence.contains("has logsumexp 2.5744"), "{e}");
        assert!(d.evidence.contains("the largest value is 3"), "{e}");
        assert!(!d.summary.contains("dim=0"));
    }

    #[test]
    fn probabilities_to_nll_loss_are_flagged() {
        let probabilities: Vec<f64> = log_probabilities().iter().map(|v| v.exp()).collect();
        let e = explain(&nll(&f32s(&[3, 5], &probabilities), &docs_target(), ""));
        assert!(e.find("probabilities-not-log").is_some(), "{e}");
        assert!(e.find("not-log-probabilities").is_none(), "{e}");
    }

    #[test]
    fn one_hot_targets_are_flagged_for_each_dtype_and_loss() {
        let logp = f32s(
            &[2, 3],
            &log_softmax_rows(&[&[0.5, 1.0, -2.0], &[1.5, 0.2, 3.0]]),
        );
        let one_hot_int = ints("int64", &[2, 3], &[0, 1, 0, 0, 0, 1]);
        let one_hot_float = f32s(&[2, 3], &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        for (case, rejected) in [
            (nll(&logp, &one_hot_int, ""), true),
            (nll(&logp, &one_hot_float, ""), true),
            (ce(&logp, &one_hot_int, ""), true),
            (ce(&logp, &one_hot_float, ""), false),
        ] {
            let e = explain(&case);
            let d = e.find("one-hot-target").unwrap_or_else(|| panic!("{e}"));
            assert!(d.suggestion.contains("target.argmax(dim=1)"), "{e}");
            assert_eq!(d.summary.contains("rejects it"), rejected, "{e}");
            let raised = e.diagnostics[0].summary.contains(" raises ");
            assert_eq!(raised, rejected, "{e}");
        }
        assert!(explain(&ce(&logp, &ints("int64", &[2], &[1, 2]), ""))
            .find("one-hot-target")
            .is_none());
    }

    #[test]
    fn a_batch_of_targets_for_a_1d_input_is_explained() {
        let e = explain(&ce(
            &f32s(&[5], SCORES[0]),
            &ints("int64", &[3], &[1, 0, 0]),
            "",
        ));
        let d = e.find("batch-of-targets-for-1d-input").expect("flagged");
        assert!(d.summary.contains("ONE sample with 5 classes"));
        assert!(d.suggestion.contains("shape (3, 5)"));
        assert_clean(&ce(&f32s(&[5], SCORES[0]), &ints("int64", &[], &[1]), ""));
    }

    #[test]
    fn class_counts_that_disagree_are_flagged() {
        let logp = f32s(
            &[2, 3],
            &log_softmax_rows(&[&[0.5, 1.0, -2.0], &[1.5, 0.2, 3.0]]),
        );
        let e = explain(&nll(&logp, &ints("int64", &[2], &[0, 3]), ""));
        let d = e.find("class-count-mismatch").expect("target flagged");
        assert!(
            d.evidence.contains("class index 3 at flat position 1"),
            "{e}"
        );
        let e = explain(&nll(
            &logp,
            &ints("int64", &[2], &[0, 2]),
            r#","weight":{"dtype":"float32","shape":[2],"data":[1.0,1.0]}"#,
        ));
        let d = e.find("class-count-mismatch").expect("weight flagged");
        assert!(d.evidence.contains("weight: shape [2] (2 entries)"), "{e}");
        let e = explain(&nll(
            &logp,
            &ints("int64", &[2], &[7, 2]),
            r#","ignore_index":7"#,
        ));
        assert!(e.find("class-count-mismatch").is_none(), "{e}");
    }

    #[test]
    fn negative_targets_suggest_ignore_index() {
        let e = explain(&ce(
            &f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]),
            &ints("int64", &[2], &[-1, 0]),
            "",
        ));
        let d = e.find("negative-target").expect("flagged");
        assert!(d.suggestion.contains("ignore_index=-1"));
        assert!(e.diagnostics[0].summary.contains("IndexError"));
    }

    #[test]
    fn all_ignored_targets_explain_the_nan_mean() {
        let x = f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]);
        let ignored = ints("int64", &[2], &[-100, -100]);
        let e = explain(&ce(&x, &ignored, r#","grad":true"#));
        let d = e.find("all-targets-ignored").expect("flagged");
        assert!(d.summary.contains("NaN (0/0)"));
        assert!(d.summary.contains("gradient is zero"));
        assert!(e.diagnostics[0]
            .summary
            .starts_with("F.cross_entropy returns nan"));
        let e = explain(&ce(&x, &ignored, r#","reduction":"sum""#));
        assert!(e
            .find("all-targets-ignored")
            .unwrap()
            .summary
            .contains("sum is 0"));
        let e = explain(&nll(
            &f32s(&[5], &[-1.2, -0.3, -2.0, -1.7, -2.5]),
            &ints("int64", &[], &[-100]),
            "",
        ));
        assert!(e.find("all-targets-ignored").is_some(), "{e}");
    }

    #[test]
    fn zero_total_weight_and_empty_batches_explain_the_nan_mean() {
        let logp = f32s(
            &[2, 3],
            &log_softmax_rows(&[&[0.5, 1.0, -2.0], &[1.5, 0.2, 3.0]]),
        );
        let e = explain(&nll(
            &logp,
            &ints("int64", &[2], &[1, 1]),
            r#","weight":{"dtype":"float32","shape":[3],"data":[1.0,0.0,2.0]}"#,
        ));
        assert!(e.find("zero-total-weight").is_some(), "{e}");
        let e = explain(&nll(&f32s(&[0, 3], &[]), &ints("int64", &[0], &[]), ""));
        let d = e.find("empty-batch").expect("flagged");
        assert!(d.summary.contains("NaN"), "{e}");
    }

    #[test]
    fn label_smoothing_out_of_range_says_error_or_ignored() {
        let x = f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]);
        let t = ints("int64", &[2], &[0, 1]);
        let e = explain(&ce(&x, &t, r#","label_smoothing":1.5"#));
        let d = e.find("label-smoothing-out-of-range").expect("flagged");
        assert!(d.summary.contains("rejects"));
        assert!(e.diagnostics[0]
            .summary
            .contains("label_smoothing must be between"));
        let e = explain(&ce(&x, &t, r#","label_smoothing":-0.5"#));
        let d = e.find("label-smoothing-out-of-range").expect("flagged");
        assert!(d.summary.contains("treats it as 0"));
        assert_clean(&ce(&x, &t, r#","label_smoothing":1.0"#));
    }

    #[test]
    fn probability_targets_that_do_not_sum_to_one_are_flagged() {
        let e = explain(&ce(
            &f32s(&[2, 3], &[0.5, 1.0, -2.0, 1.5, 0.2, 3.0]),
            &f32s(&[2, 3], &[0.5, 0.5, 0.5, 0.1, 0.1, 0.0]),
            "",
        ));
        let d = e.find("probabilities-not-normalised").expect("flagged");
        assert!(
            d.evidence
                .contains("slice [0, :] of the target along dim=1 sums to 1.5"),
            "{e}"
        );
    }

    #[test]
    fn softmax_over_the_batch_dim_is_flagged() {
        let e = explain(&case(&format!(
            r#"{{"op":"log_softmax","input":{},"dim":0}}"#,
            f32s(&[3, 5], &scores())
        )));
        assert!(e.find("softmax-over-batch").is_some(), "{e}");
    }

    #[test]
    fn display_is_wrapped_and_labelled() {
        let e = explain(&nll(&f32s(&[3, 5], &scores()), &docs_target(), ""));
        let text = e.to_string();
        assert!(text.starts_with("outcome: F.nll_loss returns"));
        assert!(text.contains("\nnot-log-probabilities: "));
        assert!(text.contains("\n  evidence: "));
        assert!(text.contains("\n  suggestion: "));
        assert!(
            text.lines().all(|l| l.len() <= WRAP || !l.contains(' ')),
            "{text}"
        );
    }

    #[test]
    fn rounding_hides_last_place_noise_only() {
        let a = 0.466_044_2_f32;
        // Within a few ULP of each other and far from a rounding boundary.
        let b = f32::from_bits(a.to_bits() + 1);
        assert_eq!(
            rounded(DType::Float32, a as f64),
            rounded(DType::Float32, b as f64)
        );
        assert_ne!(
            rounded(DType::Float32, 0.4660),
            rounded(DType::Float32, 0.4661)
        );
        assert_eq!(rounded(DType::Float64, 1e-13), "0");
        assert_eq!(rounded(DType::Float64, -2.5e-9), "-2.5e-9");
    }
}
