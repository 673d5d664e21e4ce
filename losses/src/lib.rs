//! The losses, in pure Rust on `ndarray`: `log_softmax`, `softmax`, `nll_loss`,
//! `cross_entropy`, forward and backward, with PyTorch 2.13's semantics and errors.
//! Element-wise losses of an input against a target: `mse_loss`, `l1_loss`,
//! `smooth_l1_loss`, `huber_loss`, with one backward per tensor they differentiate.
//! Also `binary_cross_entropy`, `binary_cross_entropy_with_logits`, `soft_margin_loss`
//! and `multilabel_soft_margin_loss`, with every gradient PyTorch's autograd gives (and
//! its refusals, as errors); `kl_div`, `poisson_nll_loss` and `gaussian_nll_loss`; the
//! margin losses `hinge_embedding_loss`, `margin_ranking_loss` and
//! `cosine_embedding_loss`; the hinge losses on class indices `multi_margin_loss` and
//! `multilabel_margin_loss`; the triplet losses `triplet_margin_loss` and
//! `triplet_margin_with_distance_loss` (default distance); the connectionist temporal
//! classification loss `ctc_loss`.
//!
//! Depends on numeric crates only (ndarray, num-traits, rayon, multiversion): no torch,
//! no serde, no I/O. The `lossparity` harness re-exports it as `lossparity::losses` and
//! checks it against libtorch. Inputs are views of any strides; kernels that index flat
//! memory copy a non-contiguous view to row-major order first.
//!
//! ```
//! use lossparity_losses::{cross_entropy, CrossEntropyOptions, Target};
//! use ndarray::array;
//!
//! let scores = array![[2.0f32, 0.5, -1.0], [0.0, 0.0, 3.0]].into_dyn();
//! let classes = array![0i64, 2].into_dyn();
//! let loss = cross_entropy(scores.view(), Target::Indices(classes.view()),
//!                          &CrossEntropyOptions::default())?;
//! // PyTorch: F.cross_entropy(scores, classes) = 0.16811712...
//! assert!((loss.sum() - 0.168117).abs() < 1e-6);
//! # Ok::<(), lossparity_losses::LossError>(())
//! ```

mod binary;
mod cross_entropy;
mod ctc;
mod divergence;
mod elementwise;
mod error;
mod float;
mod kernels;
mod linear_cross_entropy;
mod margin;
mod multi_margin;
mod nll;
mod options;
mod pointwise;
mod probabilistic;
mod softmax;
mod triplet;
mod wide;

pub use binary::{
    BceWithLogitsOptions, BinaryCrossEntropyOptions, MultilabelSoftMarginOptions,
    SoftMarginOptions, binary_cross_entropy, binary_cross_entropy_backward,
    binary_cross_entropy_target_backward, binary_cross_entropy_weight_backward,
    binary_cross_entropy_with_logits, binary_cross_entropy_with_logits_backward,
    binary_cross_entropy_with_logits_pos_weight_backward,
    binary_cross_entropy_with_logits_target_backward,
    binary_cross_entropy_with_logits_weight_backward, multilabel_soft_margin_loss,
    multilabel_soft_margin_loss_backward, multilabel_soft_margin_loss_target_backward,
    multilabel_soft_margin_loss_weight_backward, soft_margin_loss, soft_margin_loss_backward,
    soft_margin_loss_target_backward,
};
pub use cross_entropy::{
    cross_entropy, cross_entropy_backward, cross_entropy_target_backward,
    cross_entropy_weight_backward, cross_entropy_with_grad,
};
pub use ctc::{CtcOptions, ctc_loss, ctc_loss_backward, ctc_loss_with_grad};
pub use divergence::{
    KlDivOptions, KlDivReduction, kl_div, kl_div_backward, kl_div_target_backward,
};
pub use error::{ErrorKind, LossError};
pub use float::Float;
pub use linear_cross_entropy::{
    LinearCrossEntropyGrads, LinearCrossEntropyOptions, linear_cross_entropy,
    linear_cross_entropy_backward, linear_cross_entropy_target_backward,
    linear_cross_entropy_weight_backward, linear_cross_entropy_with_grad,
};
pub use margin::{
    CosineEmbeddingOptions, HingeEmbeddingOptions, MarginRankingOptions, cosine_embedding_loss,
    cosine_embedding_loss_backward, cosine_embedding_loss_input2_backward,
    cosine_embedding_loss_target_backward, hinge_embedding_loss, hinge_embedding_loss_backward,
    hinge_embedding_loss_target_backward, margin_ranking_loss, margin_ranking_loss_backward,
    margin_ranking_loss_input2_backward, margin_ranking_loss_target_backward,
};
pub use multi_margin::{
    MultiMarginOptions, MultilabelMarginOptions, multi_margin_loss, multi_margin_loss_backward,
    multi_margin_loss_weight_backward, multilabel_margin_loss, multilabel_margin_loss_backward,
};
pub use nll::{nll_loss, nll_loss_backward};
pub use options::{CrossEntropyOptions, NllLossOptions, Reduction, Target};
pub use pointwise::{
    HuberOptions, PointwiseOptions, SmoothL1Options, huber_loss, huber_loss_backward,
    huber_loss_target_backward, huber_loss_weight_backward, l1_loss, l1_loss_backward,
    l1_loss_target_backward, l1_loss_weight_backward, mse_loss, mse_loss_backward,
    mse_loss_target_backward, mse_loss_weight_backward, smooth_l1_loss, smooth_l1_loss_backward,
    smooth_l1_loss_target_backward,
};
pub use probabilistic::{
    GaussianNllOptions, PoissonNllOptions, Variance, gaussian_nll_loss, gaussian_nll_loss_backward,
    gaussian_nll_loss_target_backward, gaussian_nll_loss_var_backward, poisson_nll_loss,
    poisson_nll_loss_backward, poisson_nll_loss_target_backward,
};
pub use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};
pub use triplet::{
    TripletMarginOptions, TripletMarginWithDistanceOptions, triplet_margin_loss,
    triplet_margin_loss_backward, triplet_margin_loss_negative_backward,
    triplet_margin_loss_positive_backward, triplet_margin_with_distance_loss,
    triplet_margin_with_distance_loss_backward,
    triplet_margin_with_distance_loss_negative_backward,
    triplet_margin_with_distance_loss_positive_backward,
};

#[cfg(feature = "unstable-public-internals")]
pub mod internals;

#[cfg(test)]
mod tests;
