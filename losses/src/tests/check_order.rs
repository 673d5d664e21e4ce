// Which error wins when several checks fail: libtorch's order of checks, and the
// forward's errors before the backward's.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

// torch 2.13.0: F.nll_loss(X[:2].float(), torch.zeros(3))
//   -> ValueError: Expected input batch_size (2) to match target batch_size (3).
#[test]
fn batch_mismatch_beats_float_target_dtype() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t = ArrayD::<f32>::zeros(IxDyn(&[3]));
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &NllLossOptions::default(),
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    );
}

// torch 2.13.0: F.nll_loss(X[:2].float(), torch.zeros(2), weight=torch.ones(2))
//   -> RuntimeError: expected target dtype to be Long or Byte, but got Float
#[test]
fn float_target_dtype_beats_weight_shape() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t = ArrayD::<f32>::zeros(IxDyn(&[2]));
    let w = ArrayD::<f32>::ones(IxDyn(&[2]));
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &NllLossOptions::default().weight(w.view()),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    );
}

// torch 2.13.0: F.nll_loss(X[:2].float(), torch.zeros(2, 4))
//   -> RuntimeError: 0D or 1D target tensor expected, multi-target not supported
#[test]
fn multi_target_beats_target_dtype() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t = ArrayD::<f32>::zeros(IxDyn(&[2, 4]));
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &NllLossOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "0D or 1D target tensor expected, multi-target not supported",
    );
}

// torch 2.13.0: F.nll_loss(X[:2], torch.zeros(3, 4, dtype=torch.long))
//   -> ValueError: Expected input batch_size (2) to match target batch_size (3).
#[test]
fn batch_mismatch_beats_multi_target() {
    assert_err(
        nll64(
            &zeros64(&[2, 3]),
            &zeros_i64(&[3, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    );
}

// torch 2.13.0:
//   F.nll_loss(V, torch.tensor([1, 0, 0]), weight=torch.ones(2, dtype=D))
//     -> ValueError: For 1D input, 1D target must have size 1, but got target size: 3
//   F.nll_loss(torch.zeros(5, dtype=D), torch.zeros(3, dtype=D))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Double
#[test]
fn one_d_target_size_beats_weight_but_not_dtype() {
    let w2 = zeros64(&[2]);
    assert_err(
        nll64(
            &five_classes(),
            &array![1i64, 0, 0].into_dyn(),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::ValueError,
        "For 1D input, 1D target must have size 1, but got target size: 3",
    );
    let t = zeros64(&[3]);
    assert_err(
        nll_loss(
            zeros64(&[5]).view(),
            Target::probabilities(t.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
}

// torch 2.13.0: F.nll_loss(X[:2], torch.tensor([5, -1])) -> IndexError: Target 5 is out of bounds.
#[test]
fn first_out_of_bounds_target_is_reported() {
    let d = data();
    let x2 = d.x.slice(s![..2, ..]).to_owned().into_dyn();
    assert_err(
        nll64(&x2, &ai(&[2], &[5, -1]), &nll_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Target 5 is out of bounds.",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 5, dtype=D), torch.zeros(2, 4, dtype=D))
//     -> RuntimeError: Expected target size [2, 5], got [2, 4]
//   F.nll_loss(torch.zeros(2, 3, 4, dtype=D), torch.zeros(2, 4, dtype=D), weight=torch.ones(2, dtype=D))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.nll_loss(torch.zeros(2, 3, 4, dtype=D), torch.zeros(2, 4, dtype=torch.uint8), weight=torch.ones(2, dtype=D))
//     -> RuntimeError: weight tensor should be defined either for all or no classes
#[test]
fn spatial_3d_target_size_beats_dtype_beats_weight() {
    let t24 = zeros64(&[2, 4]);
    assert_err(
        nll_loss(
            zeros64(&[2, 3, 5]).view(),
            Target::probabilities(t24.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Expected target size [2, 5], got [2, 4]",
    );
    let w2 = zeros64(&[2]);
    assert_err(
        nll_loss(
            zeros64(&[2, 3, 4]).view(),
            Target::probabilities(t24.view()),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
    let u = ArrayD::<u8>::zeros(IxDyn(&[2, 4]));
    assert_err(
        nll_loss(
            zeros64(&[2, 3, 4]).view(),
            Target::Bytes(u.view()),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "weight tensor should be defined either for all or no classes",
    );
}

// torch 2.13.0 (x = torch.zeros(2, 3, 4, 5, dtype=D), w = torch.ones(2, dtype=D)):
//   F.nll_loss(x, torch.zeros(2, 4, dtype=D))                    -> RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 2
//   F.nll_loss(x, torch.zeros(2, 4, 4, dtype=D))                 -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.nll_loss(x, torch.zeros(2, 4, 5, dtype=D), weight=w)       -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.nll_loss(x, torch.zeros(2, 4, 4, dtype=torch.long), weight=w) -> RuntimeError: weight tensor should be defined either for all or no classes
//   F.nll_loss(x, torch.zeros(2, 4, 4, dtype=torch.uint8))       -> RuntimeError: size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]
//   F.nll_loss(x, torch.zeros(2, 4, 5, dtype=torch.uint8), weight=w) -> RuntimeError: weight tensor should be defined either for all or no classes
#[test]
fn spatial_4d_target_rank_beats_dtype_beats_weight_beats_size() {
    let x = zeros64(&[2, 3, 4, 5]);
    let w = ArrayD::<f64>::ones(IxDyn(&[2]));
    let mean = nll_opts(Reduction::Mean);
    let weighted = nll_opts(Reduction::Mean).weight(w.view());
    let (f24, f244, f245) = (zeros64(&[2, 4]), zeros64(&[2, 4, 4]), zeros64(&[2, 4, 5]));
    let (u244, u245) = (
        ArrayD::<u8>::zeros(IxDyn(&[2, 4, 4])),
        ArrayD::<u8>::zeros(IxDyn(&[2, 4, 5])),
    );
    let l244 = zeros_i64(&[2, 4, 4]);
    let dtype = "expected target dtype to be Long or Byte, but got Double";
    let weight = "weight tensor should be defined either for all or no classes";
    let cases: [(Target<'_, f64>, &NllLossOptions<'_, f64>, &str); 6] = [
        (
            Target::probabilities(f24.view()),
            &mean,
            "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2",
        ),
        (Target::probabilities(f244.view()), &mean, dtype),
        (Target::probabilities(f245.view()), &weighted, dtype),
        (Target::indices(l244.view()), &weighted, weight),
        (
            Target::Bytes(u244.view()),
            &mean,
            "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]",
        ),
        (Target::Bytes(u245.view()), &weighted, weight),
    ];
    for (target, options, msg) in cases {
        assert_err(
            nll_loss(x.view(), target, options),
            ErrorKind::RuntimeError,
            msg,
        );
    }
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], torch.zeros(2, 3, dtype=torch.long), ignore_index=1)
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
//   F.cross_entropy(Z[:2], P[:2], ignore_index=1, weight=torch.ones(2, dtype=D))
//     -> RuntimeError: ignore_index is not supported for floating point target
//   F.cross_entropy(Z[:2], P[:2], label_smoothing=1.5, weight=torch.ones(2, dtype=D))
//     -> RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]
//   F.cross_entropy(Z[:2], torch.tensor([0, 1, 2]), label_smoothing=1.5)
//     -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
#[test]
fn cross_entropy_dtype_beats_ignore_index_beats_weight_beats_smoothing_beats_batch() {
    let d = data();
    let z2 = d.z.slice(s![..2, ..]).to_owned().into_dyn();
    let p2 = d.p.slice(s![..2, ..]).to_owned().into_dyn();
    let w2 = ArrayD::<f64>::ones(IxDyn(&[2]));
    assert_err(
        ce64(
            &z2,
            &zeros_i64(&[2, 3]),
            &ce_opts(Reduction::Mean).ignore_index(1),
        ),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
    assert_err(
        ce_prob64(
            &z2,
            &p2,
            &ce_opts(Reduction::Mean).ignore_index(1).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "ignore_index is not supported for floating point target",
    );
    assert_err(
        ce_prob64(
            &z2,
            &p2,
            &ce_opts(Reduction::Mean)
                .label_smoothing(1.5)
                .weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]",
    );
    assert_err(
        ce64(
            &z2,
            &ai(&[3], &[0, 1, 2]),
            &ce_opts(Reduction::Mean).label_smoothing(1.5),
        ),
        ErrorKind::RuntimeError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    );
}

/// A target out of bounds is the forward's error, so `nll_loss_backward` raises it
/// before looking at `grad_output`, wherever it sits, for every reduction.
#[test]
fn nll_backward_raises_the_forwards_target_error_before_its_own() {
    let x = ArrayD::from_elem(IxDyn(&[2, 3, 40]), -0.5f64);
    for bad in [0usize, 17, 79] {
        let mut t = vec![1i64; 80];
        t[bad] = 3;
        t[(bad + 5) % 80] = -7;
        let t = ai(&[2, 40], &t);
        for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            for weighted in [false, true] {
                let w = array![1.0, 2.0, 0.5];
                let mut opts = nll_opts(reduction);
                if weighted {
                    opts = opts.weight(w.view());
                }
                let wrong = ArrayD::from_elem(IxDyn(&[7]), 1.0);
                let message = if (bad + 5) % 80 < bad {
                    "Target -7 is out of bounds."
                } else {
                    "Target 3 is out of bounds."
                };
                assert_err(
                    nll_loss_backward(wrong.view(), x.view(), Target::indices(t.view()), &opts),
                    ErrorKind::IndexError,
                    message,
                );
            }
        }
    }
    // uint8 targets of a (N, C) input: `none` prints the byte as a character, in the
    // forward's wording, before the gradient's shape is checked.
    let x = ArrayD::from_elem(IxDyn(&[3, 3]), -0.5f64);
    let t = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0u8, 65, 1]).unwrap();
    let wrong = ArrayD::from_elem(IxDyn(&[2]), 1.0);
    for (reduction, message) in [
        (Reduction::None, "Target A is out of bounds."),
        (Reduction::Mean, "Target 65 is out of bounds."),
    ] {
        assert_err(
            nll_loss_backward(
                wrong.view(),
                x.view(),
                Target::Bytes(t.view()),
                &nll_opts(reduction),
            ),
            ErrorKind::IndexError,
            message,
        );
    }
}

// torch 2.13.0:
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor([0]), weight=W.clone().requires_grad_())
//     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
#[test]
fn a_0d_inputs_class_dim_error_beats_the_weight_gradient_refusal() {
    let d = data();
    assert_err(
        cross_entropy_weight_backward(
            arr0(1.0).view(),
            arr0(1.0).view(),
            Target::indices(array![0i64].view()),
            &ce_opts(Reduction::Mean).weight(d.w.view()),
        ),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
    );
}
