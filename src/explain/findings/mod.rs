//! The findings of `explain` beyond the outcome, by op family; each op's registry
//! entry names its `reading` (how PyTorch reads the call) and its `findings`.

pub(crate) mod ctc;
pub(crate) mod elementwise;
pub(crate) mod linear;
pub(crate) mod loss;
pub(crate) mod margin;
pub(crate) mod pointwise;
pub(crate) mod softmax;
pub(crate) mod triplet;
