// Single failed checks: PyTorch's exception class and message verbatim, with a hint
// of ours that is never empty; and how ErrorKind and LossError name and print them.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

// torch 2.13.0: F.nll_loss(torch.tensor(1.0, dtype=D), torch.tensor(0))
//   -> ValueError: Expected 1 or more dimensions (got 0)
#[test]
fn zero_dim_input_is_rejected() {
    assert_err(
        nll64(
            &arr0(1.0).into_dyn(),
            &arr0(0i64).into_dyn(),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "Expected 1 or more dimensions (got 0)",
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.tensor([0, 1, 2])) -> ValueError: Expected input batch_size (2) to match target batch_size (3).
//   F.nll_loss(X[:2], torch.tensor(0))         -> ValueError: Expected input batch_size (2) to match target batch_size (0).
#[test]
fn batch_size_mismatch_is_rejected() {
    let x2 = zeros64(&[2, 3]);
    assert_err(
        nll64(
            &x2,
            &array![0i64, 1, 2].into_dyn(),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    );
    assert_err(
        nll64(&x2, &arr0(0i64).into_dyn(), &nll_opts(Reduction::Mean)),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (0).",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.tensor([-1.2, -0.3, -2.0, -1.7, -2.5], dtype=D), torch.tensor([1, 0, 0]))
//   -> ValueError: For 1D input, 1D target must have size 1, but got target size: 3
#[test]
fn one_d_input_with_a_multi_element_target_is_rejected() {
    let err = assert_err(
        nll64(
            &five_classes(),
            &array![1i64, 0, 0].into_dyn(),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "For 1D input, 1D target must have size 1, but got target size: 3",
    );
    assert!(
        err.hint().contains("one sample with 5 classes"),
        "hint: {}",
        err.hint()
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.zeros(2, 3, dtype=torch.long)) -> RuntimeError: 0D or 1D target tensor expected, multi-target not supported
//   F.nll_loss(torch.zeros(5, dtype=D), torch.zeros(3, 2, dtype=torch.long)) -> RuntimeError: (same)
#[test]
fn multi_target_is_rejected() {
    let msg = "0D or 1D target tensor expected, multi-target not supported";
    assert_err(
        nll64(
            &zeros64(&[2, 3]),
            &zeros_i64(&[2, 3]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    assert_err(
        nll64(
            &zeros64(&[5]),
            &zeros_i64(&[3, 2]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2].float(), torch.zeros(2))       -> RuntimeError: expected target dtype to be Long or Byte, but got Float
//   F.nll_loss(X[:2], torch.zeros(2, dtype=D))      -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.cross_entropy(Z.float(), torch.zeros(4))      -> RuntimeError: expected target dtype to be Long or Byte, but got Float
//   F.cross_entropy(torch.zeros(2, 3, dtype=D), torch.zeros(2, dtype=D)) -> RuntimeError: ... but got Double
#[test]
fn float_target_not_shaped_like_the_input_is_rejected() {
    let x32 = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t32 = ArrayD::<f32>::zeros(IxDyn(&[2]));
    assert_err(
        nll_loss(
            x32.view(),
            Target::probabilities(t32.view()),
            &NllLossOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    );
    let x64 = zeros64(&[2, 3]);
    let t64 = zeros64(&[2]);
    assert_err(
        nll_loss(
            x64.view(),
            Target::probabilities(t64.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
    let d = data();
    let z32 = d.z.mapv(|v| v as f32);
    let t4 = ArrayD::<f32>::zeros(IxDyn(&[4]));
    assert_err(
        cross_entropy(
            z32.view(),
            Target::probabilities(t4.view()),
            &CrossEntropyOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    );
    assert_err(
        ce_prob64(&x64, &t64, &ce_opts(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
}

// torch 2.13.0 (x = torch.zeros(2, 3, dtype=D), t = torch.tensor([0, 1])):
//   F.nll_loss(x, t, weight=torch.ones(2, dtype=D))    -> RuntimeError: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]
//   F.nll_loss(x, t, weight=torch.ones(1, 3, dtype=D)) -> RuntimeError: ... but got weight tensor of shape: [1, 3]
//   F.nll_loss(x, t, weight=torch.tensor(1.0, dtype=D)) -> RuntimeError: ... but got weight tensor of shape: []
//   F.cross_entropy(Z, T, weight=torch.ones(1, 3, dtype=D), label_smoothing=0.2) -> RuntimeError: ... of shape: [1, 3]
#[test]
fn weight_not_of_shape_c_is_rejected() {
    let x = zeros64(&[2, 3]);
    let t = array![0i64, 1].into_dyn();
    let prefix = "weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: ";
    for (weight, shape) in [
        (zeros64(&[2]), "[2]"),
        (zeros64(&[1, 3]), "[1, 3]"),
        (arr0(1.0).into_dyn(), "[]"),
    ] {
        assert_err(
            nll64(&x, &t, &nll_opts(Reduction::Mean).weight(weight.view())),
            ErrorKind::RuntimeError,
            &format!("{prefix}{shape}"),
        );
    }
    let d = data();
    let w13 = zeros64(&[1, 3]);
    assert_err(
        ce64(
            &d.z,
            &d.t,
            &ce_opts(Reduction::Mean)
                .weight(w13.view())
                .label_smoothing(0.2),
        ),
        ErrorKind::RuntimeError,
        &format!("{prefix}[1, 3]"),
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], P[:2], weight=torch.ones(2, dtype=D))
//     -> RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]
//   F.cross_entropy(Z, P, weight=torch.ones(1, 3, dtype=D))
//     -> RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [1, 3]
#[test]
fn probability_target_weight_not_of_shape_c_is_rejected() {
    let d = data();
    let z2 = d.z.slice(s![..2, ..]).to_owned().into_dyn();
    let p2 = d.p.slice(s![..2, ..]).to_owned().into_dyn();
    let w2 = zeros64(&[2]);
    assert_err(
        ce_prob64(&z2, &p2, &ce_opts(Reduction::Mean).weight(w2.view())),
        ErrorKind::RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]",
    );
    let w13 = zeros64(&[1, 3]);
    assert_err(
        ce_prob64(&d.z, &d.p, &ce_opts(Reduction::Mean).weight(w13.view())),
        ErrorKind::RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [1, 3]",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], torch.zeros(2, 3, dtype=torch.long))
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
#[test]
fn integer_target_of_the_input_shape_is_rejected() {
    assert_err(
        ce64(
            &zeros64(&[2, 3]),
            &zeros_i64(&[2, 3]),
            &ce_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], P[:2], ignore_index=1) -> RuntimeError: ignore_index is not supported for floating point target
//   F.cross_entropy(Z[:2], P[:2], ignore_index=0) -> RuntimeError: ignore_index is not supported for floating point target
#[test]
fn ignore_index_is_rejected_for_probability_targets() {
    let d = data();
    for ignore_index in [1, 0] {
        assert_err(
            ce_prob64(
                &d.z,
                &d.p,
                &ce_opts(Reduction::Mean).ignore_index(ignore_index),
            ),
            ErrorKind::RuntimeError,
            "ignore_index is not supported for floating point target",
        );
    }
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 5, dtype=D), torch.zeros(2, 4, dtype=torch.long))
//     -> RuntimeError: Expected target size [2, 5], got [2, 4]
#[test]
fn spatial_3d_target_size_must_match() {
    assert_err(
        nll64(
            &zeros64(&[2, 3, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Expected target size [2, 5], got [2, 4]",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 4, 5, dtype=D), torch.zeros(2, 4, 4, dtype=torch.long))
//     -> RuntimeError: size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]
#[test]
fn spatial_4d_size_mismatch_is_rejected() {
    assert_err(
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]",
    );
}

// torch 2.13.0 (libtorch views an empty 3-D input as (N, C, 0, 0), its target as
// (N, 1, -1)):
//   F.nll_loss(torch.zeros(2, 0, 3), torch.zeros(2, 3, dtype=torch.long))
//     -> RuntimeError: size mismatch (got input: [2, 0, 0, 0] , target: [2, 1, 3]
#[test]
fn no_classes_with_spatial_positions_is_a_size_mismatch() {
    assert_err(
        nll64(
            &zeros64(&[2, 0, 3]),
            &zeros_i64(&[2, 3]),
            &nll_opts(Reduction::None),
        ),
        ErrorKind::RuntimeError,
        "size mismatch (got input: [2, 0, 0, 0] , target: [2, 1, 3]",
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.tensor([0, 3]))                    -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(X[:2], torch.tensor([-1, 0]))                   -> IndexError: Target -1 is out of bounds.
//   F.nll_loss(X[:2], torch.tensor([0, 3]), reduction='none')  -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(Z3, torch.tensor([[0, 3], [0, 0]]))             -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(X[1], torch.tensor(-2))                         -> IndexError: Target -2 is out of bounds.
//   F.cross_entropy(Z, torch.tensor([0, 1, 3, 0]), label_smoothing=0.1) -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(torch.zeros(2, 0, dtype=D), torch.tensor([0, 0])) -> IndexError: Target 0 is out of bounds.
#[test]
fn out_of_bounds_targets_are_rejected() {
    let d = data();
    let x2 = d.x.slice(s![..2, ..]).to_owned().into_dyn();
    let cases = [
        (
            &x2,
            ai(&[2], &[0, 3]),
            Reduction::Mean,
            "Target 3 is out of bounds.",
        ),
        (
            &x2,
            ai(&[2], &[-1, 0]),
            Reduction::Mean,
            "Target -1 is out of bounds.",
        ),
        (
            &x2,
            ai(&[2], &[0, 3]),
            Reduction::None,
            "Target 3 is out of bounds.",
        ),
        (
            &d.z3,
            ai(&[2, 2], &[0, 3, 0, 0]),
            Reduction::Mean,
            "Target 3 is out of bounds.",
        ),
    ];
    for (input, target, reduction, msg) in cases {
        assert_err(
            nll64(input, &target, &nll_opts(reduction)),
            ErrorKind::IndexError,
            msg,
        );
    }
    let x1 = d.x.slice(s![1, ..]).to_owned().into_dyn();
    assert_err(
        nll64(&x1, &arr0(-2i64).into_dyn(), &nll_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Target -2 is out of bounds.",
    );
    assert_err(
        ce64(
            &d.z,
            &ai(&[4], &[0, 1, 3, 0]),
            &ce_opts(Reduction::Mean).label_smoothing(0.1),
        ),
        ErrorKind::IndexError,
        "Target 3 is out of bounds.",
    );
    assert_err(
        nll64(
            &zeros64(&[2, 0]),
            &ai(&[2], &[0, 0]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::IndexError,
        "Target 0 is out of bounds.",
    );
}

// torch 2.13.0:
//   F.log_softmax(X[:2], 2)  -> IndexError: Dimension out of range (expected to be in range of [-2, 1], but got 2)
//   F.softmax(X[:2], -3)     -> IndexError: Dimension out of range (expected to be in range of [-2, 1], but got -3)
//   F.log_softmax(torch.tensor(1.5, dtype=D), 1) -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
#[test]
fn dimension_out_of_range_is_rejected() {
    let x2 = zeros64(&[2, 3]);
    assert_err(
        log_softmax(x2.view(), 2),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    );
    assert_err(
        softmax(x2.view(), -3),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)",
    );
    assert_err(
        log_softmax(arr0(1.5).view(), 1),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 4, 5, dtype=D), torch.zeros(2, 4, 5, dtype=torch.long), weight=torch.ones(2, dtype=D))
//     -> RuntimeError: weight tensor should be defined either for all or no classes
#[test]
fn spatial_weight_must_have_one_value_per_class() {
    let w2 = zeros64(&[2]);
    assert_err(
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 5]),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "weight tensor should be defined either for all or no classes",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 4, 5, dtype=D), torch.zeros(2, 4, dtype=torch.long))
//     -> RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 2
#[test]
fn four_d_input_needs_a_3d_target() {
    assert_err(
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2",
    );
}

// torch 2.13.0 (V = torch.tensor([-1.2, -0.3, -2.0, -1.7, -2.5], dtype=D)):
//   F.nll_loss(V, torch.tensor([1]), reduction='mean') -> 0.3
//   grad(lambda x: F.nll_loss(x, torch.tensor([1]), reduction='mean'), V, torch.tensor(1.0, dtype=D))
//     -> RuntimeError: size mismatch (got input: [5], target: [1])
//   F.cross_entropy(V, torch.tensor([1]), reduction='mean') -> 0.6661116448422787
//   grad(lambda x: F.cross_entropy(x, torch.tensor([1]), reduction='mean'), V, torch.tensor(1.0, dtype=D))
//     -> RuntimeError: size mismatch (got input: [5], target: [1])
//   F.cross_entropy(Z[2], torch.tensor([1]), label_smoothing=0.1)
//     -> RuntimeError: output with shape [] doesn't match the broadcast shape [1]
#[test]
fn one_element_target_on_1d_input_fails_only_in_backward() {
    let v = five_classes();
    let target = array![1i64].into_dyn();
    let forward = nll64(&v, &target, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&forward, &[], &[0.3]);
    let msg = "size mismatch (got input: [5], target: [1])";
    assert_err(
        nll_loss_backward(
            arr0(1.0).view(),
            v.view(),
            Target::indices(target.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    let ce = ce64(&v, &target, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&ce, &[], &[0.6661116448422787]);
    assert_err(
        cross_entropy_backward(
            arr0(1.0).view(),
            v.view(),
            Target::indices(target.view()),
            &ce_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    let d = data();
    let z2 = d.z.slice(s![2, ..]).to_owned().into_dyn();
    assert_err(
        ce64(&z2, &target, &ce_opts(Reduction::Mean).label_smoothing(0.1)),
        ErrorKind::RuntimeError,
        "output with shape [] doesn't match the broadcast shape [1]",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z3, T3, weight=torch.ones(1, 3, dtype=D))                      -> 0.7173559002118759
//   F.cross_entropy(Z3, T3, weight=torch.ones(1, 3, dtype=D), label_smoothing=0.2) -> RuntimeError: shape '[1, 1, 1]' is invalid for input of size 3
#[test]
fn label_smoothing_needs_a_1d_weight_on_spatial_input() {
    let d = data();
    let w13 = ArrayD::<f64>::ones(IxDyn(&[1, 3]));
    let plain = ce64(&d.z3, &d.t3, &ce_opts(Reduction::Mean).weight(w13.view())).unwrap();
    assert_close(&plain, &[], &[0.7173559002118759]);
    assert_err(
        ce64(
            &d.z3,
            &d.t3,
            &ce_opts(Reduction::Mean)
                .weight(w13.view())
                .label_smoothing(0.2),
        ),
        ErrorKind::RuntimeError,
        "shape '[1, 1, 1]' is invalid for input of size 3",
    );
}

// torch 2.13.0:
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor(0))
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor(0.5, dtype=D))
//     -> IndexError: Dimension specified as 1 but tensor has no dimensions
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor([0]))
//     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
#[test]
fn cross_entropy_rejects_a_0d_input_with_any_target() {
    let x = arr0(1.0).into_dyn();
    assert_err(
        ce64(&x, &arr0(0i64).into_dyn(), &ce_opts(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
    assert_err(
        ce_prob64(&x, &arr0(0.5).into_dyn(), &ce_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension specified as 1 but tensor has no dimensions",
    );
    assert_err(
        ce64(&x, &array![0i64].into_dyn(), &ce_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(0, 3, dtype=D), torch.tensor(0))
//     -> IndexError: Dimension specified as 0 but tensor has no dimensions
//   F.nll_loss(torch.zeros(0, 3, dtype=D), torch.tensor(0.0, dtype=D))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Double
#[test]
fn empty_batch_with_a_0d_target_is_rejected() {
    let x = zeros64(&[0, 3]);
    assert_err(
        nll64(&x, &arr0(0i64).into_dyn(), &nll_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
    );
    let t = arr0(0.0).into_dyn();
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
}

// torch 2.13.0:
//   torch.autograd.grad(F.nll_loss(X.requires_grad_(), T, reduction='none'), X, grad_outputs=torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
//   torch.autograd.grad(F.nll_loss(X.requires_grad_(), T, reduction='mean'), X, grad_outputs=torch.ones(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
//   torch.autograd.backward(F.log_softmax(torch.zeros(4, 3, dtype=D, requires_grad=True), 1), grad_tensors=torch.ones(3, 4, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3, 4]) and output[0] has a shape of torch.Size([4, 3]).
#[test]
fn grad_output_shape_must_match_the_output() {
    let d = data();
    assert_err(
        nll_loss_backward(
            ArrayD::<f64>::ones(IxDyn(&[3])).view(),
            d.x.view(),
            Target::indices(d.t.view()),
            &nll_opts(Reduction::None),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).",
    );
    assert_err(
        nll_loss_backward(
            array![1.0].view(),
            d.x.view(),
            Target::indices(d.t.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
    );
    let output = log_softmax(zeros64(&[4, 3]).view(), 1).unwrap();
    let g = ArrayD::<f64>::ones(IxDyn(&[3, 4]));
    assert_err(
        log_softmax_backward(g.view(), output.view(), 1),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3, 4]) and output[0] has a shape of torch.Size([4, 3]).",
    );
}

// The errors of the tests above (torch messages quoted there), each with a hint.
#[test]
fn every_error_has_a_non_empty_hint() {
    let d = data();
    let x2 = zeros64(&[2, 3]);
    let w2 = zeros64(&[2]);
    let f2 = zeros64(&[2]);
    let p2 = d.p.slice(s![..2, ..]).to_owned().into_dyn();
    let errors: Vec<LossError> = vec![
        nll64(
            &arr0(1.0).into_dyn(),
            &arr0(0i64).into_dyn(),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(&x2, &ai(&[3], &[0, 1, 2]), &nll_opts(Reduction::Mean)).unwrap_err(),
        nll64(
            &five_classes(),
            &ai(&[3], &[1, 0, 0]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(&x2, &zeros_i64(&[2, 3]), &nll_opts(Reduction::Mean)).unwrap_err(),
        nll_loss(
            x2.view(),
            Target::probabilities(f2.view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &x2,
            &ai(&[2], &[0, 1]),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        )
        .unwrap_err(),
        ce_prob64(&x2, &p2, &ce_opts(Reduction::Mean).weight(w2.view())).unwrap_err(),
        ce64(&x2, &zeros_i64(&[2, 3]), &ce_opts(Reduction::Mean)).unwrap_err(),
        ce_prob64(&x2, &p2, &ce_opts(Reduction::Mean).ignore_index(1)).unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 4]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 5]),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        )
        .unwrap_err(),
        nll64(&x2, &ai(&[2], &[0, 3]), &nll_opts(Reduction::Mean)).unwrap_err(),
        nll64(&x2, &ai(&[2], &[-1, 0]), &nll_opts(Reduction::Mean)).unwrap_err(),
        log_softmax(x2.view(), 2).unwrap_err(),
        softmax(arr0(1.0).view(), 1).unwrap_err(),
        ce64(&d.z, &d.t, &ce_opts(Reduction::Mean).label_smoothing(1.5)).unwrap_err(),
        nll_loss(
            d.x4.view(),
            Target::Bytes(d.t4.mapv(|v| v as u8).view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll_loss_backward(
            arr0(1.0).view(),
            five_classes().view(),
            Target::indices(array![1i64].view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[0, 3]),
            &arr0(0i64).into_dyn(),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        ce_prob64(
            &arr0(1.0).into_dyn(),
            &arr0(0.5).into_dyn(),
            &ce_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll_loss_backward(
            array![1.0].view(),
            d.x.view(),
            Target::indices(d.t.view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
    ];
    for err in &errors {
        assert!(!err.message().is_empty(), "{err:?}");
        assert!(!err.hint().trim().is_empty(), "no hint for {err}");
        assert_ne!(err.hint(), err.message(), "the hint repeats the message");
    }
}

// torch 2.13.0, `type(e).__name__` of the exception e each call raises:
//   F.nll_loss(X[:2], torch.tensor([0, 1, 2]))             -> ValueError
//   F.nll_loss(X[:2], torch.tensor([0, 3]))                -> IndexError
//   F.nll_loss(X[:2], torch.zeros(2, 3, dtype=torch.long)) -> RuntimeError
//   F.nll_loss(X, T, weight=[1.0, 1.0, 1.0])               -> TypeError
//   F.log_softmax(torch.zeros(2, dtype=torch.long), 0)     -> NotImplementedError
#[test]
fn error_kinds_are_named_and_parsed_as_pythons_exception_classes() {
    let kinds = [
        (ErrorKind::ValueError, "ValueError"),
        (ErrorKind::IndexError, "IndexError"),
        (ErrorKind::RuntimeError, "RuntimeError"),
        (ErrorKind::TypeError, "TypeError"),
        (ErrorKind::NotImplementedError, "NotImplementedError"),
    ];
    for (kind, name) in kinds {
        assert_eq!(kind.as_str(), name);
        assert_eq!(kind.to_string(), name);
        assert_eq!(ErrorKind::from_name(name), Some(kind));
    }
    for other in [
        "",
        "valueerror",
        " TypeError",
        "ValueError: x",
        "Exception",
        "KeyError",
    ] {
        assert_eq!(ErrorKind::from_name(other), None, "{other:?}");
    }
}

// torch 2.13.0, the last line of traceback.format_exception_only(e) for the exception e of
//   F.nll_loss(V, torch.tensor([1, 0, 0]))
//     -> ValueError: For 1D input, 1D target must have size 1, but got target size: 3
//   F.nll_loss(X, T, weight=[1.0, 1.0, 1.0])
//     -> TypeError: nll_loss_nd(): argument 'weight' (position 3) must be Tensor, not list
#[test]
fn an_error_displays_as_python_prints_it_then_the_hint() {
    let err = nll64(
        &five_classes(),
        &ai(&[3], &[1, 0, 0]),
        &nll_opts(Reduction::Mean),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "ValueError: For 1D input, 1D target must have size 1, but got target size: 3\nhint: {}",
            err.hint()
        )
    );
    assert!(std::error::Error::source(&err).is_none());
    let message = "nll_loss_nd(): argument 'weight' (position 3) must be Tensor, not list";
    let without_hint = LossError::new(ErrorKind::TypeError, message, "");
    assert_eq!(without_hint.to_string(), format!("TypeError: {message}"));
}
