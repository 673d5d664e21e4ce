// Gradients of cross_entropy with respect to a target of class probabilities and to the
// class weights (cross_entropy_target_backward, cross_entropy_weight_backward), and
// PyTorch's refusals: an index target has no gradient, nor has the weight of the index
// path.

use super::*;

// The expected values come from `grad` of the preamble, generalised to several tensors:
//   def grads(fn, wrt, g):
//       ts = [t.clone().requires_grad_(True) for t in wrt]
//       (fn(*ts) * g).sum().backward()
//       return [t.grad for t in ts]

fn with_weight(w: &ArrayD<f64>, reduction: Reduction, ls: f64) -> CrossEntropyOptions<'_, f64> {
    CrossEntropyOptions {
        weight: Some(w.view()),
        reduction,
        label_smoothing: ls,
        ..CrossEntropyOptions::default()
    }
}

// grads(lambda t, w: F.cross_entropy(Z, t, weight=w), [P, W], 1.0)
#[test]
fn probability_target_and_weight_gradients_of_the_mean() {
    let d = data();
    let options = with_weight(&d.w, Reduction::Mean, 0.0);
    let one = ndarray::arr0(1.0);
    let target = Target::probabilities(d.p.view());
    let grad = cross_entropy_target_backward(one.view(), d.z.view(), target, &options).unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            0.10716588738524915,
            1.3486600427746176,
            0.0281641340020597,
            0.15697746695740436,
            0.14855846913793697,
            0.22417676761156416,
            0.14049955789043947,
            0.05099624206873544,
            0.4777485631439283,
            0.010775544850255395,
            1.018092131227171,
            0.36977052076333006,
        ],
    );
    let target = Target::probabilities(d.p.view());
    let grad = cross_entropy_weight_backward(one.view(), d.z.view(), target, &options).unwrap();
    assert_close(
        &grad,
        &[3],
        &[0.6643186761627333, 0.7752816819508876, 0.574241927303121],
    );
}

// grads(lambda t, w: F.cross_entropy(Z, t, weight=w, reduction='none', label_smoothing=0.3), [P, W], G4)
#[test]
fn smoothing_scales_the_target_gradient_and_grad_output_weighs_each_row() {
    let d = data();
    let options = with_weight(&d.w, Reduction::None, 0.3);
    let target = Target::probabilities(d.p.view());
    let grad = cross_entropy_target_backward(d.g4.view(), d.z.view(), target, &options).unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            0.09001934540360927,
            1.1328744359306788,
            0.023657872561730145,
            -0.5274442889768786,
            -0.49915645630346817,
            -0.7532339391748556,
            0.31471900967458444,
            0.1142315822339674,
            1.0701567814423993,
            0.06336020371950173,
            5.986381731615764,
            2.1742506620883812,
        ],
    );
    let target = Target::probabilities(d.p.view());
    let grad = cross_entropy_weight_backward(d.g4.view(), d.z.view(), target, &options).unwrap();
    assert_close(
        &grad,
        &[3],
        &[0.4810342716652247, 4.211386926753711, 0.2878507288726139],
    );
}

// grads(lambda t: F.cross_entropy(Z3, t, reduction='sum'), [P3], 1.0)
// grads(lambda t, w: F.cross_entropy(Z3, t, weight=w, label_smoothing=0.1), [P3, W], 1.0)
#[test]
fn spatial_probability_gradients_sum_the_weight_over_positions() {
    let d = data();
    let one = ndarray::arr0(1.0);
    let plain = CrossEntropyOptions {
        reduction: Reduction::Sum,
        ..CrossEntropyOptions::default()
    };
    let target = Target::probabilities(d.p3.view());
    let grad = cross_entropy_target_backward(one.view(), d.z3.view(), target, &plain).unwrap();
    assert_close(
        &grad,
        &[2, 3, 2],
        &[
            1.5078787822025868,
            1.1320029903358761,
            3.317878782202586,
            4.752002990335876,
            0.29787878220258673,
            0.4020029903358762,
            2.8589187627114585,
            0.500623065597582,
            0.4589187627114587,
            2.600623065597582,
            1.1689187627114586,
            1.140623065597582,
        ],
    );
    let options = with_weight(&d.w, Reduction::Mean, 0.1);
    let target = Target::probabilities(d.p3.view());
    let grad = cross_entropy_target_backward(one.view(), d.z3.view(), target, &options).unwrap();
    assert_close(
        &grad,
        &[2, 3, 2],
        &[
            0.0678545451991164,
            0.05094013456511443,
            1.2690886341924892,
            1.8176411438034725,
            0.04356477189712831,
            0.0587929373366219,
            0.12865134432201564,
            0.02252803795189119,
            0.17553642673713296,
            0.9947383225910752,
            0.1709543690465508,
            0.16681612334364637,
        ],
    );
    let target = Target::probabilities(d.p3.view());
    let grad = cross_entropy_weight_backward(one.view(), d.z3.view(), target, &options).unwrap();
    assert_close(
        &grad,
        &[3],
        &[0.3771098643023131, 0.7629842535967349, 0.21143261564616123],
    );
}

// torch.tensor([0, 2, 1, 2]).requires_grad_()
//   -> RuntimeError: only Tensors of floating point dtype can require gradients
// F.cross_entropy(Z, torch.tensor([0, 2, 1, 2]), weight=W.requires_grad_())
//   -> RuntimeError: The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. ...
// F.cross_entropy(Z3, torch.tensor([[0, 2], [1, 0]]), weight=W.requires_grad_()) -> ... 'nll_loss2d_forward' ...
// F.cross_entropy(Z, torch.tensor([0, 2, 1]), weight=W.requires_grad_())
//   -> ValueError: Expected input batch_size (4) to match target batch_size (3).
// F.cross_entropy(Z, T, weight=W.requires_grad_(), label_smoothing=1.5)
//   -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
#[test]
fn index_targets_refuse_target_and_weight_gradients_as_pytorch_does() {
    let d = data();
    let one = ndarray::arr0(1.0);
    let options = with_weight(&d.w, Reduction::Mean, 0.0);
    let refusal = |function: &str| {
        format!(
            "The function '{function}' is not differentiable with respect to argument \
             'weight'. This input cannot have requires_grad True."
        )
    };
    assert_err(
        cross_entropy_target_backward(
            one.view(),
            d.z.view(),
            Target::indices(d.t.view()),
            &options,
        ),
        ErrorKind::RuntimeError,
        "only Tensors of floating point dtype can require gradients",
    );
    assert_err(
        cross_entropy_weight_backward(
            one.view(),
            d.z.view(),
            Target::indices(d.t.view()),
            &options,
        ),
        ErrorKind::RuntimeError,
        &refusal("nll_loss_forward"),
    );
    assert_err(
        cross_entropy_weight_backward(
            one.view(),
            d.z3.view(),
            Target::indices(d.t3.view()),
            &options,
        ),
        ErrorKind::RuntimeError,
        &refusal("nll_loss2d_forward"),
    );
    let three = ai(&[3], &[0, 2, 1]);
    assert_err(
        cross_entropy_weight_backward(
            one.view(),
            d.z.view(),
            Target::indices(three.view()),
            &options,
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (4) to match target batch_size (3).",
    );
    let smoothed = with_weight(&d.w, Reduction::Mean, 1.5);
    assert_err(
        cross_entropy_weight_backward(
            one.view(),
            d.z.view(),
            Target::indices(d.t.view()),
            &smoothed,
        ),
        ErrorKind::RuntimeError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    );
}

#[test]
fn a_weight_gradient_needs_a_weight() {
    let d = data();
    let one = ndarray::arr0(1.0);
    assert_err(
        cross_entropy_weight_backward(
            one.view(),
            d.z.view(),
            Target::probabilities(d.p.view()),
            &CrossEntropyOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "cross_entropy was given no weight, so it has no weight gradient",
    );
}

// The conformance campaign's float32 case: two rows with the class 3 score at -1e4 and
// gradient outputs of opposite signs, so class 3's weight gradient is the difference of
// two terms near 4.4e3. torch 2.13.0, float64 on the same float32 values:
//   x = the scores below; t = zeros(5, 5); t[0, 3] = 0.44209537; t[1, 3] = 0.2796458
//   w = the weight below, requires_grad; F.cross_entropy(x, t, weight=w,
//   reduction="none", label_smoothing=0.40456092398186344).backward(go)
//   w.grad -> [-0.5779549391464212, 0.07290512937730374, -1.8609942383757248,
//              137.83487017667994, -1.4734479187269918]
// (libtorch's float32: 137.83496, one float32 ulp of a 4.4e3 term off).
#[test]
fn float32_weight_gradients_that_cancel_are_rounded_once() {
    let x = ArrayD::from_shape_vec(
        IxDyn(&[5, 5]),
        vec![
            0.0f32,
            0.0,
            -3.7659173,
            -10000.0,
            -6.604349,
            4.739136,
            9.322978,
            -7.092716,
            -10000.0,
            -6.470515,
            0.7354045,
            -1.0671433,
            -8.676916,
            -6.006558,
            -7.8042583,
            6.623285,
            -0.6502227,
            -3491.164,
            2.8847005,
            -0.8168836,
            1.6338439,
            -7.274297,
            -2.5074135e-7,
            -8.97807,
            -4.647203,
        ],
    )
    .unwrap();
    let mut t = ArrayD::<f32>::zeros(IxDyn(&[5, 5]));
    t[[0, 3]] = 0.44209537;
    t[[1, 3]] = 0.2796458;
    let w = ndarray::arr1(&[2.3693213f32, 2.5851948, 1.7859387, 0.7063715, 1.5308934]).into_dyn();
    let go = ndarray::arr1(&[1.3027738f32, -1.7548665, 0.0, 0.0, 0.0]).into_dyn();
    let options = CrossEntropyOptions {
        weight: Some(w.view()),
        reduction: Reduction::None,
        label_smoothing: 0.40456092398186344,
        ..CrossEntropyOptions::default()
    };
    let grad = cross_entropy_weight_backward(
        go.view(),
        x.view(),
        Target::probabilities(t.view()),
        &options,
    )
    .unwrap();
    let exact = [
        -0.5779549391464212f64,
        0.07290512937730374,
        -1.8609942383757248,
        137.83487017667994,
        -1.4734479187269918,
    ];
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let rounded: Vec<f32> = exact.iter().map(|&v| v as f32).collect();
    assert_eq!(bits(grad.as_slice().unwrap()), bits(&rounded), "{grad}");
}
