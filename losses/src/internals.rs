//! What the `lossparity` harness needs beyond the losses, behind the feature
//! `unstable-public-internals`: the checks a loss makes before it reads a value, so
//! the harness can give libtorch's error for calls the typed API cannot express (an
//! integer input, a weight of another float type). Not a stable API.

use crate::error::{LossError, wrap_dim};
use crate::{cross_entropy, linear_cross_entropy, nll, pointwise};

/// Runs every check `nll_loss` makes before reading a value (shapes, the target's
/// dtype by PyTorch name: `Long`, `Byte`, `Float`, ...), in PyTorch's order.
///
/// ```
/// use lossparity_losses::internals::check_nll_loss_shapes;
///
/// assert!(check_nll_loss_shapes(&[3, 5], &[3], "Long", None).is_ok());
/// let err = check_nll_loss_shapes(&[5], &[3], "Long", None).unwrap_err();
/// assert_eq!(err.message(), "For 1D input, 1D target must have size 1, but got target size: 3");
/// ```
pub fn check_nll_loss_shapes(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    weight: Option<&[usize]>,
) -> Result<(), LossError> {
    nll::nll_plan(input, target, target_dtype, weight).map(|_| ())
}

/// PyTorch's refusal of a class weight that requires grad, for `nll_loss` and for
/// `cross_entropy` with class indices: the error of `nll_loss_nd`'s checks if one
/// fails, else autograd's.
///
/// ```
/// use lossparity_losses::internals::weight_grad_refusal;
///
/// let err = weight_grad_refusal(&[2, 3, 4], &[2, 4]);
/// assert!(err.message().starts_with("The function 'nll_loss2d_forward' is not differentiable"));
/// ```
pub fn weight_grad_refusal(input: &[usize], target: &[usize]) -> LossError {
    nll::weight_grad_refusal(input, target)
}

/// The checks `cross_entropy` with class indices makes before its `log_softmax`: the
/// label smoothing's range, then the class dimension of a 0-D input.
pub fn check_cross_entropy_before_log_softmax(
    input: &[usize],
    label_smoothing: f64,
) -> Result<(), LossError> {
    cross_entropy::index_checks_before_log_softmax(input, label_smoothing)
}

/// The checks written in Python in `torch.nn.functional.linear_cross_entropy`, in its
/// order: the shape of the logits it hands to `cross_entropy` (`(*batch, C, d1..dK)`),
/// or PyTorch's error. `ignore_index_given` says whether `ignore_index` is not `None`.
/// `cross_entropy`'s own checks on those logits ([`check_cross_entropy_shapes`]) come
/// after.
///
/// ```
/// use lossparity_losses::internals::check_linear_cross_entropy_shapes;
///
/// assert_eq!(check_linear_cross_entropy_shapes(&[4, 3], &[5, 3], None, &[4], false).unwrap(),
///            vec![4, 5]);
/// let err = check_linear_cross_entropy_shapes(&[4, 3], &[5, 3], Some(&[4]), &[4], false)
///     .unwrap_err();
/// assert_eq!(err.message(), "expected linear_bias shape (5,), got (4,)");
/// ```
pub fn check_linear_cross_entropy_shapes(
    input: &[usize],
    linear_weight: &[usize],
    linear_bias: Option<&[usize]>,
    target: &[usize],
    ignore_index_given: bool,
) -> Result<Vec<usize>, LossError> {
    linear_cross_entropy::logits_shape(
        input,
        linear_weight,
        linear_bias,
        target,
        ignore_index_given,
    )
}

/// The checks of `mse_loss` and `l1_loss` before any value is read, in PyTorch's order
/// (broadcasting, then the weight's shape): the broadcast shape, or the error.
///
/// ```
/// use lossparity_losses::internals::check_pointwise_shapes;
///
/// assert_eq!(check_pointwise_shapes(&[3, 1], &[3], None).unwrap(), vec![3, 3]);
/// let err = check_pointwise_shapes(&[2], &[2], Some(&[3])).unwrap_err();
/// assert_eq!(err.message(), "Weights and input must have the same size.");
/// ```
pub fn check_pointwise_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    pointwise::check(input, target, weight)
}

/// Runs every check `cross_entropy` makes before reading a value, in PyTorch's order.
/// `target_is_float` says whether the target holds floating-point values.
pub fn check_cross_entropy_shapes(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    target_is_float: bool,
    weight: Option<&[usize]>,
    ignore_index: i64,
    label_smoothing: f64,
) -> Result<(), LossError> {
    cross_entropy::ce_plan(
        input,
        target,
        target_dtype,
        target_is_float,
        weight,
        ignore_index,
        label_smoothing,
    )
    .map(|_| ())
}

/// Maps a possibly negative `dim` to an axis of a tensor with `ndim` dimensions, or
/// PyTorch's "Dimension out of range" error. A 0-D tensor takes `dim` in `[-1, 0]`.
pub fn wrap_dim_checked(dim: i64, ndim: usize) -> Result<usize, LossError> {
    wrap_dim(dim, ndim)
}

/// The shape checks of `binary_cross_entropy`, in PyTorch's order: the target's size
/// (Python's `ValueError`), the weight's `torch.broadcast_shapes` with the target, then
/// the broadcast weight against the loss (`loss.mul_(weight)`). Returns the element
/// loss's shape (the input's; `none`'s output).
///
/// PyTorch checks the values (input, then target, in `[0, 1]`) between the second and
/// the third check: an out-of-range value hides the last error.
///
/// ```
/// use lossparity_losses::internals::check_binary_cross_entropy_shapes;
///
/// assert_eq!(check_binary_cross_entropy_shapes(&[4, 3], &[4, 3], Some(&[3])).unwrap(), vec![4, 3]);
/// let err = check_binary_cross_entropy_shapes(&[2], &[2], Some(&[3, 2])).unwrap_err();
/// assert_eq!(err.message(), "output with shape [2] doesn't match the broadcast shape [3, 2]");
/// ```
pub fn check_binary_cross_entropy_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    crate::binary::bce_check(input, target, weight)
}

/// The shape checks of `binary_cross_entropy_with_logits`, in PyTorch's order: the
/// target's size (Python's `ValueError`), `pos_weight` against the target, then the
/// weight against the loss (each a broadcast error, then an in-place one). Returns the
/// element loss's shape (the input's).
///
/// ```
/// use lossparity_losses::internals::check_binary_cross_entropy_with_logits_shapes;
///
/// let ok = check_binary_cross_entropy_with_logits_shapes(&[4, 3], &[4, 3], None, Some(&[3]));
/// assert_eq!(ok.unwrap(), vec![4, 3]);
/// let err = check_binary_cross_entropy_with_logits_shapes(&[3, 1], &[3], None, None).unwrap_err();
/// assert!(err.message().starts_with("Target size (torch.Size([3]))"));
/// ```
pub fn check_binary_cross_entropy_with_logits_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
    pos_weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    crate::binary::bcel_check(input, target, weight, pos_weight)
}

/// The shape checks of `soft_margin_loss`: the target broadcasts against the input
/// without enlarging it (libtorch computes in place on the input's shape). Returns the
/// element loss's shape (the input's).
///
/// ```
/// use lossparity_losses::internals::check_soft_margin_loss_shapes;
///
/// assert_eq!(check_soft_margin_loss_shapes(&[4, 3], &[3]).unwrap(), vec![4, 3]);
/// let err = check_soft_margin_loss_shapes(&[3, 1], &[3]).unwrap_err();
/// assert_eq!(err.message(), "output with shape [3, 1] doesn't match the broadcast shape [3, 3]");
/// ```
pub fn check_soft_margin_loss_shapes(
    input: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    crate::binary::soft_margin_check(input, target)
}

/// The shape checks of `multilabel_soft_margin_loss`, in its Python order: target
/// against input, the weight against their broadcast, then the class dimension (an
/// `IndexError` for a 0-D input). Returns the `none` output's shape (the broadcast
/// shape without the class dimension `input.dim() - 1`).
///
/// ```
/// use lossparity_losses::internals::check_multilabel_soft_margin_loss_shapes;
///
/// assert_eq!(check_multilabel_soft_margin_loss_shapes(&[4, 3], &[4, 3], Some(&[3])).unwrap(), vec![4]);
/// let err = check_multilabel_soft_margin_loss_shapes(&[], &[], None).unwrap_err();
/// assert_eq!(err.message(), "Dimension specified as -1 but tensor has no dimensions");
/// ```
pub fn check_multilabel_soft_margin_loss_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
) -> Result<Vec<usize>, LossError> {
    crate::binary::multilabel_plan(input, target, weight).map(|plan| plan.out)
}

/// The checks of `kl_div` before any value is read: the broadcast shape of input and
/// target (libtorch broadcasts `target * input`, naming the target tensor a), or the
/// error.
///
/// ```
/// use lossparity_losses::internals::check_kl_div_shapes;
///
/// assert_eq!(check_kl_div_shapes(&[4, 1], &[3]).unwrap(), vec![4, 3]);
/// let err = check_kl_div_shapes(&[2, 3], &[4, 3]).unwrap_err();
/// assert_eq!(
///     err.message(),
///     "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0"
/// );
/// ```
pub fn check_kl_div_shapes(input: &[usize], target: &[usize]) -> Result<Vec<usize>, LossError> {
    crate::divergence::check(input, target)
}

/// The checks of `poisson_nll_loss` before any value is read: the broadcast shape of
/// input and target (libtorch broadcasts `target * input`), or the error.
///
/// ```
/// use lossparity_losses::internals::check_poisson_nll_loss_shapes;
///
/// assert_eq!(check_poisson_nll_loss_shapes(&[], &[2]).unwrap(), vec![2]);
/// assert!(check_poisson_nll_loss_shapes(&[3], &[2]).is_err());
/// ```
pub fn check_poisson_nll_loss_shapes(
    input: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    crate::probabilistic::check_poisson(input, target)
}

/// The checks of `gaussian_nll_loss`, in PyTorch's order: whether the variance has a
/// negative entry (`var_negative`, the one check on values, which comes first), the
/// variance's shape (`var` is `None` for a Python float), then the broadcasting of
/// `input - target` and of `(input - target)^2 / var`. Returns the loss's broadcast
/// shape (before reduction), or the error.
///
/// ```
/// use lossparity_losses::internals::check_gaussian_nll_loss_shapes;
///
/// assert_eq!(check_gaussian_nll_loss_shapes(&[4, 3], &[4, 3], Some(&[4]), false).unwrap(), vec![4, 3]);
/// let err = check_gaussian_nll_loss_shapes(&[4, 3], &[4, 3], Some(&[3]), false).unwrap_err();
/// assert_eq!(err.message(), "var is of incorrect size");
/// let err = check_gaussian_nll_loss_shapes(&[4, 3], &[4, 3], Some(&[3]), true).unwrap_err();
/// assert_eq!(err.message(), "var has negative entry/entries");
/// ```
pub fn check_gaussian_nll_loss_shapes(
    input: &[usize],
    target: &[usize],
    var: Option<&[usize]>,
    var_negative: bool,
) -> Result<Vec<usize>, LossError> {
    crate::probabilistic::check_gaussian(input, target, var, var_negative).map(|s| s.loss)
}

/// The checks of `smooth_l1_loss` before any value is read, in PyTorch's order
/// (broadcasting, then `beta >= 0`): the broadcast shape, or the error.
///
/// ```
/// use lossparity_losses::internals::check_smooth_l1_loss_shapes;
///
/// assert_eq!(check_smooth_l1_loss_shapes(&[3, 1], &[3], 1.0).unwrap(), vec![3, 3]);
/// let err = check_smooth_l1_loss_shapes(&[2], &[2], -1.0).unwrap_err();
/// assert_eq!(err.message(), "smooth_l1_loss does not support negative values for beta.");
/// ```
pub fn check_smooth_l1_loss_shapes(
    input: &[usize],
    target: &[usize],
    beta: f64,
) -> Result<Vec<usize>, LossError> {
    pointwise::check_smooth_l1(input, target, beta)
}

/// The checks of `huber_loss` before any value is read, in PyTorch's order
/// (broadcasting, the weight's shape, then `delta > 0`): the broadcast shape, or the
/// error.
///
/// ```
/// use lossparity_losses::internals::check_huber_loss_shapes;
///
/// assert_eq!(check_huber_loss_shapes(&[3], &[2, 3], Some(&[3]), 1.0).unwrap(), vec![2, 3]);
/// let err = check_huber_loss_shapes(&[2], &[2], Some(&[3]), 0.0).unwrap_err();
/// assert_eq!(err.message(), "Weights and input must have the same size.");
/// ```
pub fn check_huber_loss_shapes(
    input: &[usize],
    target: &[usize],
    weight: Option<&[usize]>,
    delta: f64,
) -> Result<Vec<usize>, LossError> {
    pointwise::check_huber(input, target, weight, delta)
}

/// The shape check of `hinge_embedding_loss`: the broadcast of target and input (the
/// loss's `none` shape), or libtorch's error.
///
/// ```
/// use lossparity_losses::internals::check_hinge_embedding_loss_shapes;
///
/// assert_eq!(check_hinge_embedding_loss_shapes(&[3], &[2, 3]).unwrap(), vec![2, 3]);
/// let err = check_hinge_embedding_loss_shapes(&[2, 3], &[4]).unwrap_err();
/// assert_eq!(
///     err.message(),
///     "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1"
/// );
/// ```
pub fn check_hinge_embedding_loss_shapes(
    input: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    crate::margin::hinge_check(input, target)
}

/// The checks of `margin_ranking_loss` in PyTorch's order (Python's dimension check,
/// then the broadcasts): the loss's `none` shape, or the error.
///
/// ```
/// use lossparity_losses::internals::check_margin_ranking_loss_shapes;
///
/// assert_eq!(check_margin_ranking_loss_shapes(&[2, 3], &[1, 3], &[2, 1]).unwrap(), vec![2, 3]);
/// let err = check_margin_ranking_loss_shapes(&[3], &[1, 3], &[3]).unwrap_err();
/// assert!(err.message().starts_with("margin_ranking_loss : All input tensors should have same dimension"));
/// ```
pub fn check_margin_ranking_loss_shapes(
    input1: &[usize],
    input2: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    crate::margin::margin_ranking_check(input1, input2, target)
}

/// The checks of `cosine_embedding_loss` in aten's order (the target's dimensions, the
/// inputs' for it, then the broadcasts): the loss's `none` shape, or the error.
///
/// ```
/// use lossparity_losses::internals::check_cosine_embedding_loss_shapes;
///
/// assert_eq!(check_cosine_embedding_loss_shapes(&[4, 3], &[1, 3], &[4]).unwrap(), vec![4]);
/// let err = check_cosine_embedding_loss_shapes(&[2, 3], &[2, 3], &[2, 1]).unwrap_err();
/// assert_eq!(err.message(), "0D or 1D target tensor expected, multi-target not supported");
/// ```
pub fn check_cosine_embedding_loss_shapes(
    input1: &[usize],
    input2: &[usize],
    target: &[usize],
) -> Result<Vec<usize>, LossError> {
    crate::margin::cosine_plan(input1, input2, target).map(|p| p.out)
}

/// The checks of `multi_margin_loss` before any value is read, in PyTorch's order: the
/// Python checks of `p` and of the weight's dimensionality, then libtorch's of the
/// input, the target's size and the weight's size; last the target's dtype (PyTorch's
/// name: `Long`, `Float`, ...), checked only for a non-empty input. Returns the `none`
/// output's shape.
///
/// ```
/// use lossparity_losses::internals::check_multi_margin_loss_shapes;
///
/// assert_eq!(check_multi_margin_loss_shapes(&[4, 3], &[4], "Long", Some(&[3]), 1).unwrap(), vec![4]);
/// let err = check_multi_margin_loss_shapes(&[2, 3], &[2], "Long", Some(&[4]), 1).unwrap_err();
/// assert_eq!(err.message(), "inconsistent weight size, expected 3 but got [4]");
/// ```
pub fn check_multi_margin_loss_shapes(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
    weight: Option<&[usize]>,
    p: i64,
) -> Result<Vec<usize>, LossError> {
    crate::multi_margin::multi_margin_plan(input, target, target_dtype, weight, p)
        .map(|plan| plan.none_shape)
}

/// The checks of `multilabel_margin_loss` before any value is read, in libtorch's
/// order: the input, the target's shape, then (for a non-empty input) the target's
/// dtype. libtorch checks the target's range before its dtype, so an integer-valued
/// target of another dtype with a value outside `[-1, C)` fails with "argument #2
/// 'target' is out of range" instead. Returns the `none` output's shape.
///
/// ```
/// use lossparity_losses::internals::check_multilabel_margin_loss_shapes;
///
/// assert_eq!(check_multilabel_margin_loss_shapes(&[4, 3], &[4, 3], "Long").unwrap(), vec![4]);
/// let err = check_multilabel_margin_loss_shapes(&[2, 3], &[2], "Long").unwrap_err();
/// assert_eq!(err.message(), "inconsistent target size: [2] for input of size: [2, 3]");
/// ```
pub fn check_multilabel_margin_loss_shapes(
    input: &[usize],
    target: &[usize],
    target_dtype: &str,
) -> Result<Vec<usize>, LossError> {
    crate::multi_margin::multilabel_margin_plan(input, target, target_dtype)
        .map(|plan| plan.none_shape)
}

/// The checks of `ctc_loss` before a value of `log_probs` or of the targets is read, in
/// PyTorch's order: the lengths' dtypes (`lengths_dtypes`, PyTorch's names for
/// `(input_lengths, target_lengths)`: any integer type passes, `Bool` and floats fail;
/// give `Long` for Python lists), the 0-D input, `log_probs_dtype` (`Float` or
/// `Double`; else libtorch's `NotImplementedError`), emptiness, the ranks, the blank,
/// the lengths' counts, then their values. PyTorch's Python check of the `reduction`
/// string comes before all of these and is not made here. The targets' dtype is never
/// checked: PyTorch casts them with `.to(torch.long)`. Returns the `none` output's
/// shape: `(N)`, or `()` for an unbatched `(T, C)` input.
///
/// ```
/// use lossparity_losses::internals::check_ctc_loss_args;
///
/// let shape = check_ctc_loss_args(&[5, 2, 4], "Float", &[2, 3], &[5, 4], &[3, 2], ("Long", "Int"), 0);
/// assert_eq!(shape.unwrap(), vec![2]);
/// let err = check_ctc_loss_args(&[5, 2, 4], "Half", &[2, 3], &[5, 4], &[3, 2], ("Long", "Long"), 0)
///     .unwrap_err();
/// assert_eq!(err.message(), "\"ctc_loss_cpu\" not implemented for 'Half'");
/// let err = check_ctc_loss_args(&[5, 2, 4], "Half", &[2, 3], &[5, 4], &[3, 2], ("Float", "Long"), 0)
///     .unwrap_err();
/// assert_eq!(err.message(), "input_lengths must be integral");
/// ```
pub fn check_ctc_loss_args(
    log_probs: &[usize],
    log_probs_dtype: &str,
    targets: &[usize],
    input_lengths: &[i64],
    target_lengths: &[i64],
    lengths_dtypes: (&str, &str),
    blank: i64,
) -> Result<Vec<usize>, LossError> {
    crate::ctc::ctc_plan(
        log_probs,
        log_probs_dtype,
        targets,
        input_lengths,
        target_lengths,
        lengths_dtypes,
        blank,
    )
    .map(|plan| plan.none_shape)
}

/// The checks of `triplet_margin_loss` before any value is read, in PyTorch's order:
/// the margin (Python's `ValueError` for `margin <= 0`), the three tensors' numbers of
/// dimensions, then for each `pairwise_distance` as aten computes them (anchor and
/// positive, anchor and negative, under `swap` positive and negative) the broadcast of
/// the difference and the norm's empty-dimension check (for `p < 0` or `p = inf`), last
/// the broadcast of the two distances. Returns the loss's `none` shape.
///
/// ```
/// use lossparity_losses::internals::check_triplet_margin_loss_shapes;
///
/// assert_eq!(check_triplet_margin_loss_shapes(&[1, 3], &[4, 3], &[4, 1], 1.0, 2.0, false).unwrap(), vec![4]);
/// let err = check_triplet_margin_loss_shapes(&[4, 3], &[4, 3], &[4, 3], 0.0, 2.0, false).unwrap_err();
/// assert_eq!(err.message(), "margin must be greater than 0, got 0.0");
/// ```
pub fn check_triplet_margin_loss_shapes(
    anchor: &[usize],
    positive: &[usize],
    negative: &[usize],
    margin: f64,
    p: f64,
    swap: bool,
) -> Result<Vec<usize>, LossError> {
    crate::triplet::triplet_plan(anchor, positive, negative, margin, p, swap).map(|plan| plan.out)
}

/// The checks of `triplet_margin_with_distance_loss` with the default distance
/// (`pairwise_distance`, `p=2`), in its Python order: the margin, the dimensions, then
/// the distances' broadcasts. Returns the loss's `none` shape. (An invalid `reduction`
/// string, checked first in Python, cannot be expressed with [`crate::Reduction`].)
///
/// ```
/// use lossparity_losses::internals::check_triplet_margin_with_distance_loss_shapes;
///
/// assert_eq!(check_triplet_margin_with_distance_loss_shapes(&[5], &[5], &[5], 1.0, true).unwrap(), Vec::<usize>::new());
/// let err = check_triplet_margin_with_distance_loss_shapes(&[2, 5], &[5], &[2, 5], 1.0, false).unwrap_err();
/// assert!(err.message().starts_with("The anchor, positive, and negative tensors are expected"));
/// ```
pub fn check_triplet_margin_with_distance_loss_shapes(
    anchor: &[usize],
    positive: &[usize],
    negative: &[usize],
    margin: f64,
    swap: bool,
) -> Result<Vec<usize>, LossError> {
    crate::triplet::triplet_with_distance_plan(anchor, positive, negative, margin, swap)
        .map(|plan| plan.out)
}

/// Python's `repr` of a float, as the f-strings of `torch/nn/functional.py` print it
/// in their `ValueError`s: the shortest round-trip digits, fixed for exponents in
/// `[-4, 16)`, else as `1e-05`.
///
/// ```
/// use lossparity_losses::internals::py_float;
///
/// assert_eq!(py_float(-0.5), "-0.5");
/// assert_eq!(py_float(2.0), "2.0");
/// assert_eq!(py_float(1e-5), "1e-05");
/// ```
pub fn py_float(v: f64) -> String {
    crate::triplet::py_float(v)
}
