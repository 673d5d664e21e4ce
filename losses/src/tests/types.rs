// The public types' own methods against PyTorch's names and defaults: Reduction's
// names, the options' defaults, Target's shape and dtype name, Float's conversions.

use ndarray::{ArrayD, IxDyn, array};

use super::*;

// torch 2.13.0:
//   [torch.nn.NLLLoss(reduction=r).reduction for r in ('none', 'mean', 'sum')] -> ['none', 'mean', 'sum']
//   torch.nn.NLLLoss().reduction -> 'mean'
#[test]
fn reductions_have_pytorchs_names_and_mean_is_the_default() {
    for (reduction, name) in [
        (Reduction::None, "none"),
        (Reduction::Mean, "mean"),
        (Reduction::Sum, "sum"),
    ] {
        assert_eq!(reduction.as_str(), name);
    }
    assert_eq!(Reduction::default(), Reduction::Mean);
}

// torch 2.13.0 (n = torch.nn.NLLLoss(), c = torch.nn.CrossEntropyLoss()):
//   (n.weight, n.ignore_index, n.reduction) -> (None, -100, 'mean')
//   (c.weight, c.ignore_index, c.reduction, c.label_smoothing) -> (None, -100, 'mean', 0.0)
#[test]
fn default_options_are_pytorchs_defaults() {
    let nll = NllLossOptions::<f64>::default();
    assert!(nll.weight.is_none());
    assert_eq!((nll.ignore_index, nll.reduction), (-100, Reduction::Mean));
    let ce = CrossEntropyOptions::<f32>::default();
    assert!(ce.weight.is_none());
    assert_eq!(
        (ce.ignore_index, ce.reduction, ce.label_smoothing),
        (-100, Reduction::Mean, 0.0)
    );
}

// torch 2.13.0 (each tensor x = torch.zeros(2, 3, dtype=...)):
//   x.shape -> torch.Size([2, 3])
//   x.type() -> 'torch.LongTensor' (torch.long), 'torch.ByteTensor' (torch.uint8),
//               'torch.FloatTensor' (torch.float32), 'torch.DoubleTensor' (torch.float64)
#[test]
fn targets_report_their_shape_and_pytorchs_dtype_name() {
    fn described<F: Float>(target: Target<'_, F>) -> (Vec<usize>, &'static str) {
        (target.shape().to_vec(), target.dtype_name())
    }
    let long = ArrayD::<i64>::zeros(IxDyn(&[2, 3]));
    let byte = ArrayD::<u8>::zeros(IxDyn(&[2, 3]));
    let float = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let double = array![[0.0f64, 0.0, 0.0], [0.0, 0.0, 0.0]];
    let cases = [
        (described(Target::<f64>::indices(long.view())), "Long"),
        (described(Target::<f64>::Bytes(byte.view())), "Byte"),
        (described(Target::probabilities(float.view())), "Float"),
        (described(Target::probabilities(double.view())), "Double"),
    ];
    for ((shape, dtype), expected) in cases {
        assert_eq!(shape, [2, 3], "{expected}");
        assert_eq!(dtype, expected);
    }
}

// torch 2.13.0:
//   torch.zeros(1, dtype=torch.float32).type() -> 'torch.FloatTensor'
//   torch.zeros(1, dtype=torch.float64).type() -> 'torch.DoubleTensor'
//   torch.tensor(0.1, dtype=torch.float32).item()           -> 0.10000000149011612
//   torch.tensor(0.1, dtype=torch.float64).item()           -> 0.1
//   torch.tensor(1e40, dtype=torch.float64).float().item()  -> inf
#[test]
fn floats_have_pytorchs_names_and_round_from_f64_as_pytorch_does() {
    assert_eq!(<f32 as Float>::TORCH_NAME, "Float");
    assert_eq!(<f64 as Float>::TORCH_NAME, "Double");
    assert_eq!(f32::of_f64(0.1).to_f64_exact(), 0.10000000149011612);
    assert_eq!(f64::of_f64(0.1).to_f64_exact(), 0.1);
    assert_eq!(f32::of_f64(1e40), f32::INFINITY);
}
