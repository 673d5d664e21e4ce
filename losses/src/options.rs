//! Options shared by the losses: reduction, targets, per-class weights.

use ndarray::{ArrayView, ArrayViewD, Dimension};
use std::borrow::Cow;

use super::float::Float;

/// How per-position losses are combined, as PyTorch's `reduction=` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Reduction {
    /// One loss per position: shape `(N)`, `(N, d1..dK)`, or `()` for a `(C)` input.
    None,
    /// The weighted mean: `sum(loss) / sum(weight[target])` over non-ignored positions
    /// (class-index targets), or `sum(loss) / (N * d1..dK)` (class probabilities).
    #[default]
    Mean,
    /// The plain sum over positions.
    Sum,
}

impl Reduction {
    /// PyTorch's name: `none`, `mean`, `sum`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reduction::None => "none",
            Reduction::Mean => "mean",
            Reduction::Sum => "sum",
        }
    }
}

/// What a loss compares its input with.
#[derive(Debug, Clone)]
pub enum Target<'a, F> {
    /// Class indices as `int64` (PyTorch's `Long`).
    Indices(ArrayViewD<'a, i64>),
    /// Class indices as `uint8` (`Byte`): accepted for `(C)` and `(N, C)` inputs only.
    Bytes(ArrayViewD<'a, u8>),
    /// Class probabilities (`cross_entropy` only): same shape as the input.
    Probabilities(ArrayViewD<'a, F>),
}

impl<'a, F: Float> Target<'a, F> {
    /// Class indices (`int64`) of any dimensionality.
    pub fn indices<D: Dimension>(view: ArrayView<'a, i64, D>) -> Self {
        Target::Indices(view.into_dyn())
    }

    /// Class probabilities of any dimensionality.
    pub fn probabilities<D: Dimension>(view: ArrayView<'a, F, D>) -> Self {
        Target::Probabilities(view.into_dyn())
    }

    /// The target's shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Target::Indices(t) => t.shape(),
            Target::Bytes(t) => t.shape(),
            Target::Probabilities(t) => t.shape(),
        }
    }

    /// PyTorch's scalar type name of the target (`Long`, `Byte`, `Float`, `Double`).
    pub fn dtype_name(&self) -> &'static str {
        match self {
            Target::Indices(_) => "Long",
            Target::Bytes(_) => "Byte",
            Target::Probabilities(_) => F::TORCH_NAME,
        }
    }

    /// Class indices as `i64` in row-major order, borrowed when the target already is
    /// contiguous row-major `int64`; `None` for probabilities.
    pub(crate) fn index_slice(&self) -> Option<Cow<'a, [i64]>> {
        match self {
            Target::Indices(t) => Some(row_major(t)),
            Target::Bytes(t) => Some(Cow::Owned(t.iter().map(|&v| i64::from(v)).collect())),
            Target::Probabilities(_) => None,
        }
    }
}

/// Options of [`nll_loss`](super::nll_loss), as PyTorch's keyword arguments.
#[derive(Debug, Clone)]
pub struct NllLossOptions<'a, F> {
    /// Per-class weight, shape `(C)`; `None` weighs every class 1.
    pub weight: Option<ArrayViewD<'a, F>>,
    /// Positions whose target equals this value add nothing, to the loss nor to the
    /// mean's divisor. Any value is allowed, inside the class range or not.
    pub ignore_index: i64,
    /// How per-position losses are combined.
    pub reduction: Reduction,
}

impl<F> Default for NllLossOptions<'_, F> {
    fn default() -> Self {
        NllLossOptions {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
        }
    }
}

impl<'a, F> NllLossOptions<'a, F> {
    /// Sets the per-class weight.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }

    /// Sets `ignore_index`.
    pub fn ignore_index(mut self, ignore_index: i64) -> Self {
        self.ignore_index = ignore_index;
        self
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }
}

/// Options of [`cross_entropy`](super::cross_entropy), as PyTorch's keyword arguments.
#[derive(Debug, Clone)]
pub struct CrossEntropyOptions<'a, F> {
    /// Per-class weight, shape `(C)`; `None` weighs every class 1.
    pub weight: Option<ArrayViewD<'a, F>>,
    /// As in [`NllLossOptions::ignore_index`]; must be negative with probability targets.
    pub ignore_index: i64,
    /// How per-position losses are combined.
    pub reduction: Reduction,
    /// Mixes the target with the uniform distribution: `(1 - ls) * target + ls / C`.
    /// Must be at most 1; a negative (or NaN) value is silently treated as 0.
    pub label_smoothing: f64,
}

impl<F> Default for CrossEntropyOptions<'_, F> {
    fn default() -> Self {
        CrossEntropyOptions {
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
        }
    }
}

impl<'a, F> CrossEntropyOptions<'a, F> {
    /// Sets the per-class weight.
    pub fn weight<D: Dimension>(mut self, weight: ArrayView<'a, F, D>) -> Self {
        self.weight = Some(weight.into_dyn());
        self
    }

    /// Sets `ignore_index`.
    pub fn ignore_index(mut self, ignore_index: i64) -> Self {
        self.ignore_index = ignore_index;
        self
    }

    /// Sets the reduction.
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets the label smoothing.
    pub fn label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }
}

/// The elements of a view in row-major order: borrowed when the view is already
/// contiguous and row-major, copied otherwise (the kernels index flat memory).
pub(crate) fn row_major<'a, F: Copy>(view: &ArrayViewD<'a, F>) -> Cow<'a, [F]> {
    match view.to_slice() {
        Some(slice) => Cow::Borrowed(slice),
        None => Cow::Owned(view.iter().copied().collect()),
    }
}
