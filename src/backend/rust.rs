//! The Rust backend: a case's tensors as `ndarray` arrays, handed to [`crate::losses`]
//! by the op's registry entry. This file holds what every op shares: memory layouts,
//! conversions, the forward-then-backward pattern, and the errors for dtype
//! combinations the typed API cannot express (libtorch's, where libtorch raises them).
//! Errors keep the losses' hints, so `explain` reads them from here.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Slice};

use super::Backend;
use crate::case::{Case, CaseError, Computed, DType, Grad, Outcome, TensorData, Values};
use crate::losses::internals::{check_cross_entropy_shapes, check_nll_loss_shapes};
use crate::losses::{Float, LossError, Target};

/// Evaluates cases with the pure-Rust losses.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustBackend {
    /// How the case's tensors are laid out in memory before the losses see them.
    pub layout: MemoryLayout,
}

/// Memory layouts of the arrays handed to the losses: the same logical values, other
/// strides. Results must not depend on it (the conformance tests check it bit for bit).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLayout {
    /// Row-major and contiguous.
    #[default]
    Contiguous,
    /// Column-major: a transposed copy viewed with its axes reversed.
    Transposed,
    /// Every other element of a buffer twice as long in the last dimension.
    Strided,
}

impl RustBackend {
    /// A backend that lays every tensor out as `layout`.
    pub fn with_layout(layout: MemoryLayout) -> Self {
        RustBackend { layout }
    }
}

/// An array stored in some layout, viewed with its logical shape.
pub(crate) struct Laid<A> {
    storage: ArrayD<A>,
    layout: MemoryLayout,
}

impl<A: Clone + Default> Laid<A> {
    pub(crate) fn new(array: ArrayD<A>, layout: MemoryLayout) -> Self {
        let storage = match layout {
            MemoryLayout::Contiguous => array,
            MemoryLayout::Transposed => array.reversed_axes().as_standard_layout().into_owned(),
            MemoryLayout::Strided if array.ndim() > 0 => {
                let last = array.ndim() - 1;
                let mut shape = array.shape().to_vec();
                shape[last] *= 2;
                let mut storage = ArrayD::from_elem(IxDyn(&shape), A::default());
                storage
                    .slice_each_axis_mut(|ax| stride_two(ax.axis.index() == last))
                    .assign(&array);
                storage
            }
            MemoryLayout::Strided => array,
        };
        Laid { storage, layout }
    }

    pub(crate) fn view(&self) -> ArrayViewD<'_, A> {
        match self.layout {
            MemoryLayout::Contiguous => self.storage.view(),
            MemoryLayout::Transposed => self.storage.view().reversed_axes(),
            MemoryLayout::Strided if self.storage.ndim() > 0 => {
                let last = self.storage.ndim() - 1;
                self.storage
                    .slice_each_axis(|ax| stride_two(ax.axis.index() == last))
            }
            MemoryLayout::Strided => self.storage.view(),
        }
    }
}

fn stride_two(step: bool) -> Slice {
    Slice::new(0, None, if step { 2 } else { 1 })
}

impl Backend for RustBackend {
    fn name(&self) -> &str {
        "rust"
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        Outcome {
            id: case.id.clone(),
            result: (case.op.spec().rust)(case, self.layout),
        }
    }
}

/// An op's Rust evaluation, written once for both float types; [`dispatch`] picks the
/// type from the input's dtype.
pub(crate) trait TypedOp {
    /// A refusal that comes before anything else the call does (for an op whose
    /// `grad_wrt` names a tensor PyTorch will not differentiate).
    fn refusal(case: &Case) -> Option<CaseError> {
        let _ = case;
        None
    }

    /// libtorch's error for an integer input.
    fn integer_input(case: &Case) -> CaseError;

    /// The forward and, when asked, the gradients.
    fn run<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError>;
}

/// Runs a [`TypedOp`] in the input's float type.
pub(crate) fn dispatch<T: TypedOp>(
    case: &Case,
    layout: MemoryLayout,
) -> Result<Computed, CaseError> {
    if let Some(refusal) = T::refusal(case) {
        return Err(refusal);
    }
    match case.input().dtype {
        DType::Float32 => T::run::<f32>(case, layout),
        DType::Float64 => T::run::<f64>(case, layout),
        DType::Int64 | DType::UInt8 => Err(T::integer_input(case).with_hint(format!(
            "the input holds integers ({}); losses and softmax need floating-point scores: \
             pass input.float()",
            case.input().dtype.name()
        ))),
        DType::Float16 | DType::BFloat16 => Err(half_unsupported(case)),
    }
}

pub(crate) const UNSUPPORTED_HINT: &str =
    "the Rust losses do not compute this dtype combination; libtorch \
                                does (see the known divergences in src/known.rs)";

/// A loss error as an outcome error, hint kept.
pub(crate) fn case_error(e: LossError) -> CaseError {
    CaseError::new(e.kind().as_str(), e.message()).with_hint(e.hint())
}

/// A float element type of the backend, and how to move it in and out of a case.
pub(crate) trait CaseFloat: Float {
    const DTYPE: DType;
}

impl CaseFloat for f32 {
    const DTYPE: DType = DType::Float32;
}

impl CaseFloat for f64 {
    const DTYPE: DType = DType::Float64;
}

fn floats<F: CaseFloat>(t: &TensorData) -> Option<ArrayD<F>> {
    let Values::Float(v) = &t.values else {
        return None;
    };
    ArrayD::from_shape_vec(IxDyn(&t.shape), v.iter().map(|&x| F::of_f64(x)).collect()).ok()
}

fn ints(t: &TensorData) -> Option<ArrayD<i64>> {
    let Values::Int(v) = &t.values else {
        return None;
    };
    ArrayD::from_shape_vec(IxDyn(&t.shape), v.clone()).ok()
}

fn to_data<F: CaseFloat>(a: &ArrayD<F>) -> TensorData {
    TensorData::float(
        F::DTYPE,
        a.shape().to_vec(),
        a.iter().map(|v| v.to_f64_exact()).collect(),
    )
}

fn malformed(what: &str) -> CaseError {
    CaseError::invalid_case(format!(
        "{what}: values do not match the declared dtype or shape"
    ))
}

/// A float tensor of the case in type `F`, laid out as asked.
pub(crate) fn laid_floats<F: CaseFloat>(
    t: &TensorData,
    what: &str,
    layout: MemoryLayout,
) -> Result<Laid<F>, CaseError> {
    Ok(Laid::new(
        floats::<F>(t).ok_or_else(|| malformed(what))?,
        layout,
    ))
}

/// Any numeric tensor of the case in float type `F`, as PyTorch's type promotion
/// converts an integer tensor combined with a float one; laid out as asked.
pub(crate) fn laid_promoted<F: CaseFloat>(
    t: &TensorData,
    what: &str,
    layout: MemoryLayout,
) -> Result<Laid<F>, CaseError> {
    let values: Vec<F> = match &t.values {
        Values::Float(v) => v.iter().map(|&x| F::of_f64(x)).collect(),
        Values::Int(v) => v.iter().map(|&x| F::of_f64(x as f64)).collect(),
    };
    let array = ArrayD::from_shape_vec(IxDyn(&t.shape), values).map_err(|_| malformed(what))?;
    Ok(Laid::new(array, layout))
}

/// The target as the losses take it.
pub(crate) enum CaseTarget<F> {
    Indices(Laid<i64>),
    Bytes(Laid<u8>),
    Probabilities(Laid<F>),
}

impl<F: CaseFloat> CaseTarget<F> {
    pub(crate) fn view(&self) -> Target<'_, F> {
        match self {
            CaseTarget::Indices(a) => Target::Indices(a.view()),
            CaseTarget::Bytes(a) => Target::Bytes(a.view()),
            CaseTarget::Probabilities(a) => Target::Probabilities(a.view()),
        }
    }
}

/// A loss's target and weight in type `F`, or libtorch's error when one of them is a
/// float tensor of another type than the input.
pub(crate) fn loss_tensors<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
) -> Result<(CaseTarget<F>, Option<Laid<F>>), CaseError> {
    let target_data = case
        .target()
        .ok_or_else(|| CaseError::invalid_case("missing target"))?;
    let foreign_weight = case.weight().map(|w| w.dtype).filter(|&d| d != F::DTYPE);
    let foreign_target = Some(target_data.dtype).filter(|d| d.is_float() && *d != F::DTYPE);
    if foreign_weight.is_some() || foreign_target.is_some() {
        return Err(mixed_dtype_error::<F>(case, foreign_weight));
    }
    let target = match target_data.dtype {
        DType::Int64 => CaseTarget::Indices(Laid::new(
            ints(target_data).ok_or_else(|| malformed("target"))?,
            layout,
        )),
        DType::UInt8 => CaseTarget::Bytes(Laid::new(
            ints(target_data)
                .ok_or_else(|| malformed("target"))?
                .mapv(|v| v as u8),
            layout,
        )),
        _ => CaseTarget::Probabilities(laid_floats(target_data, "target", layout)?),
    };
    let weight = case
        .weight()
        .map(|w| laid_floats(w, "weight", layout))
        .transpose()?;
    Ok((target, weight))
}

/// The gradient of an op with respect to one tensor (by parameter name), for a given
/// `grad_output` and the forward's output.
pub(crate) type Backward<'a, F> =
    dyn Fn(&str, &ArrayViewD<'_, F>, &ArrayD<F>) -> Result<ArrayD<F>, LossError> + 'a;

/// The outcome of a forward and, when the case asks for it, of its backward with the
/// case's `grad_output` (laid out like the other tensors), one gradient per tensor of
/// `grad_wrt`: a backward error is kept beside the forward's output, as PyTorch's
/// autograd raises it after the forward.
pub(crate) fn computed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    output: Result<ArrayD<F>, LossError>,
    backward: &Backward<F>,
) -> Result<Computed, CaseError> {
    let output = output.map_err(case_error)?;
    let grads = if case.grad {
        let go = Laid::new(grad_output::<F>(case, &output)?, layout);
        let grads: Result<Vec<Grad>, CaseError> = case
            .grad_wrt()
            .into_iter()
            .map(|wrt| {
                backward(wrt, &go.view(), &output)
                    .map(|g| Grad {
                        wrt,
                        tensor: to_data(&g),
                    })
                    .map_err(case_error)
            })
            .collect();
        Some(grads)
    } else {
        None
    };
    Ok(Computed {
        output: to_data(&output),
        grads,
    })
}

/// `grad_output` of the case, or ones of the output's shape.
fn grad_output<F: CaseFloat>(case: &Case, output: &ArrayD<F>) -> Result<ArrayD<F>, CaseError> {
    match &case.grad_output {
        None => Ok(ArrayD::from_elem(output.raw_dim(), F::one())),
        Some(g) => floats::<F>(g).ok_or_else(|| malformed("grad_output")),
    }
}

/// Every shape check of a classification loss, with the case's shapes and dtypes, in
/// PyTorch's order (`cross_entropy`'s when `cross_entropy` is true).
pub(crate) fn loss_shape_checks(case: &Case, cross_entropy: bool) -> Result<(), CaseError> {
    let target = case.target();
    let target_shape = target.map(|t| t.shape.clone()).unwrap_or_default();
    let target_dtype = target.map(|t| t.dtype).unwrap_or(DType::Int64);
    let weight_shape = case.weight().map(|w| w.shape.as_slice());
    let checks = if cross_entropy {
        check_cross_entropy_shapes(
            &case.input().shape,
            &target_shape,
            target_dtype.torch_name(),
            target_dtype.is_float(),
            weight_shape,
            case.ignore_index(),
            case.label_smoothing(),
        )
    } else {
        check_nll_loss_shapes(
            &case.input().shape,
            &target_shape,
            target_dtype.torch_name(),
            weight_shape,
        )
    };
    checks.map_err(case_error)
}

/// A weight or probability target of another float type than the input. libtorch
/// rejects the weight in `nll_loss` (after every shape check) and promotes in the
/// probability path of `cross_entropy`; the Rust losses are typed, so the promotion is
/// reported as unsupported rather than computed in the wrong precision.
fn mixed_dtype_error<F: CaseFloat>(case: &Case, weight: Option<DType>) -> CaseError {
    let cross_entropy = case.op.param("label_smoothing").is_some();
    if let Err(e) = loss_shape_checks(case, cross_entropy) {
        return e;
    }
    let probabilities =
        cross_entropy && case.target().map(|t| &t.shape) == Some(&case.input().shape);
    if probabilities {
        return CaseError::new(
            "Unsupported",
            "cross_entropy with class probabilities or a weight of another float type than \
             the input (libtorch promotes the result) is not implemented by the Rust losses",
        )
        .with_hint(UNSUPPORTED_HINT);
    }
    let found = weight.unwrap_or(DType::Float64);
    CaseError::new(
        "RuntimeError",
        format!(
            "expected scalar type {} but found {}",
            F::TORCH_NAME,
            found.torch_name()
        ),
    )
    .with_hint(format!(
        "the weight is {} but the input is {}; PyTorch does not convert it: pass \
         weight.to(input.dtype)",
        found.name(),
        case.input().dtype.name()
    ))
}

/// libtorch's `NotImplementedError` for a kernel dispatched on floating types only.
pub(crate) fn not_implemented(kernel: &str, case: &Case) -> CaseError {
    CaseError::new(
        "NotImplementedError",
        format!(
            "\"{kernel}\" not implemented for '{}'",
            case.input().dtype.torch_name()
        ),
    )
}

/// The Rust losses' refusal of a float16 or bfloat16 input (computed by libtorch; the
/// known table's `half-precision-inputs`).
pub(crate) fn half_unsupported(case: &Case) -> CaseError {
    CaseError::new(
        "Unsupported",
        format!(
            "{} inputs are not implemented by the Rust losses (float32 and float64 are)",
            case.input().dtype.name()
        ),
    )
    .with_hint(UNSUPPORTED_HINT)
}
