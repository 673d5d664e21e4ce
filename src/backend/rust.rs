//! The Rust backend: a case's tensors as `ndarray` arrays, handed to [`crate::losses`].
//! Dtype combinations that the typed API cannot express (a weight of another float
//! type, integer inputs) get libtorch's errors here, at the point libtorch raises them.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Slice};

use super::Backend;
use crate::case::{Case, CaseError, Computed, DType, Op, Outcome, TensorData, Values};
use crate::losses::{self, CrossEntropyOptions, Float, LossError, NllLossOptions, Target};

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
struct Laid<A> {
    storage: ArrayD<A>,
    layout: MemoryLayout,
}

impl<A: Clone + Default> Laid<A> {
    fn new(array: ArrayD<A>, layout: MemoryLayout) -> Self {
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

    fn view(&self) -> ArrayViewD<'_, A> {
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
    fn name(&self) -> &'static str {
        "rust"
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        let result = match case.input.dtype {
            DType::Float32 => run::<f32>(case, self.layout),
            DType::Float64 => run::<f64>(case, self.layout),
            DType::Int64 | DType::UInt8 => Err(integer_input_error(case)),
            DType::Float16 | DType::BFloat16 => Err(CaseError::new(
                "Unsupported",
                format!(
                    "{} inputs are not implemented by the Rust losses (float32 and float64 are)",
                    case.input.dtype.name()
                ),
            )),
        };
        Outcome {
            id: case.id.clone(),
            result,
        }
    }
}

fn case_error(e: LossError) -> CaseError {
    CaseError::new(e.kind().as_str(), e.message())
}

/// A float element type of the backend, and how to move it in and out of a case.
trait CaseFloat: Float {
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

/// The target as the losses take it; a float target of another dtype is returned in
/// the error position with its dtype name, for the caller to decide.
enum CaseTarget<F> {
    Indices(Laid<i64>),
    Bytes(Laid<u8>),
    Probabilities(Laid<F>),
}

impl<F: CaseFloat> CaseTarget<F> {
    fn view(&self) -> Target<'_, F> {
        match self {
            CaseTarget::Indices(a) => Target::Indices(a.view()),
            CaseTarget::Bytes(a) => Target::Bytes(a.view()),
            CaseTarget::Probabilities(a) => Target::Probabilities(a.view()),
        }
    }
}

fn run<F: CaseFloat>(case: &Case, layout: MemoryLayout) -> Result<Computed, CaseError> {
    let input = Laid::new(
        floats::<F>(&case.input).ok_or_else(|| malformed("input"))?,
        layout,
    );
    match case.op {
        Op::LogSoftmax => {
            let dim = case.dim.unwrap_or(0);
            computed(
                case,
                layout,
                losses::log_softmax(input.view(), dim),
                &|go, y| losses::log_softmax_backward(go.view(), y.view(), dim),
            )
        }
        Op::Softmax => {
            let dim = case.dim.unwrap_or(0);
            computed(
                case,
                layout,
                losses::softmax(input.view(), dim),
                &|go, y| losses::softmax_backward(go.view(), y.view(), dim),
            )
        }
        Op::NllLoss | Op::CrossEntropy => run_loss::<F>(case, input, layout),
    }
}

/// The gradient of an op for a given `grad_output` and the forward's output.
type Backward<'a, F> = dyn Fn(&ArrayViewD<'_, F>, &ArrayD<F>) -> Result<ArrayD<F>, LossError> + 'a;

/// The outcome of a forward and, when the case asks for it, of its backward with the
/// case's `grad_output` (laid out like the other tensors): a backward error is kept
/// beside the forward's output, as PyTorch's autograd raises it after the forward.
fn computed<F: CaseFloat>(
    case: &Case,
    layout: MemoryLayout,
    output: Result<ArrayD<F>, LossError>,
    backward: &Backward<F>,
) -> Result<Computed, CaseError> {
    let output = output.map_err(case_error)?;
    let grad_input = if case.grad {
        let go = Laid::new(grad_output::<F>(case, &output)?, layout);
        Some(
            backward(&go.view(), &output)
                .map(|g| to_data(&g))
                .map_err(case_error),
        )
    } else {
        None
    };
    Ok(Computed {
        output: to_data(&output),
        grad_input,
    })
}

fn run_loss<F: CaseFloat>(
    case: &Case,
    input: Laid<F>,
    layout: MemoryLayout,
) -> Result<Computed, CaseError> {
    let target_data = case
        .target
        .as_ref()
        .ok_or_else(|| CaseError::invalid_case("missing target"))?;
    let foreign_weight = case
        .weight
        .as_ref()
        .map(|w| w.dtype)
        .filter(|&d| d != F::DTYPE);
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
        _ => CaseTarget::Probabilities(Laid::new(
            floats::<F>(target_data).ok_or_else(|| malformed("target"))?,
            layout,
        )),
    };
    let weight = match &case.weight {
        Some(w) => Some(Laid::new(
            floats::<F>(w).ok_or_else(|| malformed("weight"))?,
            layout,
        )),
        None => None,
    };
    match case.op {
        Op::NllLoss => {
            let options = NllLossOptions {
                weight: weight.as_ref().map(|w| w.view()),
                ignore_index: case.ignore_index,
                reduction: case.reduction,
            };
            computed(
                case,
                layout,
                losses::nll_loss(input.view(), target.view(), &options),
                &|go, _| {
                    losses::nll_loss_backward(go.view(), input.view(), target.view(), &options)
                },
            )
        }
        _ => {
            let options = CrossEntropyOptions {
                weight: weight.as_ref().map(|w| w.view()),
                ignore_index: case.ignore_index,
                reduction: case.reduction,
                label_smoothing: case.label_smoothing,
            };
            computed(
                case,
                layout,
                losses::cross_entropy(input.view(), target.view(), &options),
                &|go, _| {
                    losses::cross_entropy_backward(go.view(), input.view(), target.view(), &options)
                },
            )
        }
    }
}

/// `grad_output` of the case, or ones of the output's shape.
fn grad_output<F: CaseFloat>(case: &Case, output: &ArrayD<F>) -> Result<ArrayD<F>, CaseError> {
    match &case.grad_output {
        None => Ok(ArrayD::from_elem(output.raw_dim(), F::one())),
        Some(g) => floats::<F>(g).ok_or_else(|| malformed("grad_output")),
    }
}

/// A weight or probability target of another float type than the input. libtorch
/// rejects the weight in `nll_loss` (after every shape check) and promotes in the
/// probability path of `cross_entropy`; the Rust losses are typed, so the promotion is
/// reported as unsupported rather than computed in the wrong precision.
fn mixed_dtype_error<F: CaseFloat>(case: &Case, weight: Option<DType>) -> CaseError {
    let target_data = case.target.as_ref();
    let target_shape = target_data.map(|t| t.shape.clone()).unwrap_or_default();
    let target_dtype = target_data.map(|t| t.dtype).unwrap_or(DType::Int64);
    let weight_shape = case.weight.as_ref().map(|w| w.shape.clone());
    let probabilities = case.op == Op::CrossEntropy && case.input.shape == target_shape;
    let checks = if case.op == Op::CrossEntropy {
        losses::internals::check_cross_entropy_shapes(
            &case.input.shape,
            &target_shape,
            target_dtype.torch_name(),
            target_dtype.is_float(),
            weight_shape.as_deref(),
            case.ignore_index,
            case.label_smoothing,
        )
    } else {
        losses::internals::check_nll_loss_shapes(
            &case.input.shape,
            &target_shape,
            target_dtype.torch_name(),
            weight_shape.as_deref(),
        )
    };
    if let Err(e) = checks {
        return case_error(e);
    }
    if probabilities {
        return CaseError::new(
            "Unsupported",
            "cross_entropy with class probabilities or a weight of another float type than \
             the input (libtorch promotes the result) is not implemented by the Rust losses",
        );
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
}

/// libtorch's error for an integer input: its kernels are dispatched on floating types
/// only, and the check comes after the shape checks.
fn integer_input_error(case: &Case) -> CaseError {
    let dtype = case.input.dtype.torch_name();
    let ndim = case.input.shape.len();
    let not_implemented = |kernel: &str| {
        CaseError::new(
            "NotImplementedError",
            format!("\"{kernel}\" not implemented for '{dtype}'"),
        )
    };
    let softmax_kernel = |name: &str, dim: i64| -> CaseError {
        match losses::internals::wrap_dim_checked(dim, ndim) {
            Err(e) => case_error(e),
            Ok(axis) if ndim == 0 || axis + 1 == ndim => {
                not_implemented(&format!("{name}_lastdim_kernel_impl"))
            }
            Ok(_) => not_implemented(&format!("{name}_kernel_impl")),
        }
    };
    match case.op {
        Op::LogSoftmax => softmax_kernel("log_softmax", case.dim.unwrap_or(0)),
        Op::Softmax => softmax_kernel("softmax", case.dim.unwrap_or(0)),
        Op::CrossEntropy => softmax_kernel("log_softmax", if ndim == 1 { 0 } else { 1 }),
        Op::NllLoss => {
            let target = case.target.as_ref();
            let shapes = losses::internals::check_nll_loss_shapes(
                &case.input.shape,
                &target.map(|t| t.shape.clone()).unwrap_or_default(),
                target.map(|t| t.dtype.torch_name()).unwrap_or("Long"),
                case.weight.as_ref().map(|w| w.shape.as_slice()),
            );
            match shapes {
                Err(e) => case_error(e),
                Ok(()) if ndim <= 2 => not_implemented("nll_loss_out_frame"),
                Ok(()) => not_implemented("nll_loss2d_forward_out_frame"),
            }
        }
    }
}
