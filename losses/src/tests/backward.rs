// Gradients against autograd: nll_loss_backward, cross_entropy_backward and
// cross_entropy_with_grad (class indices, class probabilities, label smoothing),
// log_softmax_backward and softmax_backward.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='mean'), X, torch.tensor(0.7, dtype=D))
//     -> [-0.16470588235294115, 0, 0, 0, 0, 0, 0, 0, -0.5352941176470587, 0, 0, 0]
#[test]
fn nll_backward_weighted_mean_is_minus_weight_over_total_weight_at_targets() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let grad = nll_loss_backward(
        arr0(0.7).view(),
        d.x.view(),
        Target::indices(target.view()),
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.16470588235294115,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            -0.5352941176470587,
            0.0,
            0.0,
            0.0,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, T, weight=W, reduction='none'), X, G4)
//     -> [-0.06, 0, 0, 0, 0, 0.78, 0, -1.36, 0, 0, 0, -1.3650000000000002]
//   grad(lambda x: F.nll_loss(x, torch.tensor(2), weight=W, reduction='none'), X[1], torch.tensor(0.6, dtype=D))
//     -> [0.0, 0.0, -0.39]
#[test]
fn nll_backward_none_scales_by_grad_output() {
    let d = data();
    let grad = nll_loss_backward(
        d.g4.view(),
        d.x.view(),
        Target::indices(d.t.view()),
        &nll_opts(Reduction::None).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.06,
            0.0,
            0.0,
            0.0,
            0.0,
            0.78,
            0.0,
            -1.36,
            0.0,
            0.0,
            0.0,
            -1.3650000000000002,
        ],
    );
    let x1 = d.x.slice(s![1, ..]).to_owned();
    let target = arr0(2i64);
    let grad = nll_loss_backward(
        arr0(0.6).view(),
        x1.view(),
        Target::indices(target.view()),
        &nll_opts(Reduction::None).weight(d.w.view()),
    )
    .unwrap();
    assert_close(&grad, &[3], &[0.0, 0.0, -0.39]);
}

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, T, reduction='sum'), X, torch.tensor(-1.5, dtype=D))
//     -> [1.5, 0, 0, 0, 0, 1.5, 0, 1.5, 0, 0, 0, 1.5]
#[test]
fn nll_backward_sum_is_minus_grad_output_at_targets() {
    let d = data();
    let grad = nll_loss_backward(
        arr0(-1.5).view(),
        d.x.view(),
        Target::indices(d.t.view()),
        &nll_opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[1.5, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0, 1.5, 0.0, 0.0, 0.0, 1.5],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, T4, weight=W, ignore_index=1, reduction='mean'), X4, torch.tensor(1.0, dtype=D))
//     -> shape [2, 3, 2, 2] (values below)
#[test]
fn nll_backward_spatial_weighted_mean_is_minus_weight_over_total_weight_at_targets() {
    let d = data();
    let grad = nll_loss_backward(
        arr0(1.0).view(),
        d.x4.view(),
        Target::indices(d.t4.view()),
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    let a = -0.08510638297872342;
    let b = -0.2765957446808511;
    assert_close(
        &grad,
        &[2, 3, 2, 2],
        &[
            a, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, b, 0.0, 0.0, a, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, b, 0.0, 0.0, b,
        ],
    );
}

// torch 2.13.0 (float32):
//   grad(lambda x: F.nll_loss(x, T32s, weight=W32, reduction='mean'), X32s, torch.tensor(1.0))[0, :, :6]
//     -> [0.0, -0.002222226, 0.0, 0.0, 0.0, -0.002222226, 0.0, 0.0, -0.004444452, 0.0, 0.0, 0.0,
//         0.0, 0.0, 0.0, -0.006666678, 0.0, 0.0]
#[test]
fn f32_nll_backward_spatial_weighted_mean_is_bit_exact() {
    let x32 = ArrayD::from_shape_vec(IxDyn(&[4, 3, 75]), gen32(900, 2)).unwrap();
    let t32 = ai(&[4, 75], &gen_t(300));
    let w = w32();
    let grad = nll_loss_backward(
        arr0(1.0f32).view(),
        x32.view(),
        Target::indices(t32.view()),
        &NllLossOptions::default().weight(w.view()),
    )
    .unwrap();
    assert_eq!(grad.shape(), &[4, 3, 75]);
    assert_bits(
        &grad.slice(s![0, .., ..6]).to_owned().into_dyn(),
        &[3, 6],
        &[
            0.0,
            -0.002222226,
            0.0,
            0.0,
            0.0,
            -0.002222226,
            0.0,
            0.0,
            -0.004444452,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            -0.006666678,
            0.0,
            0.0,
        ],
    );
}

// torch 2.13.0 (I = torch.full((4,), -100)):
//   grad(lambda x: F.nll_loss(x, I, reduction='mean'), X, torch.tensor(1.0, dtype=D)) -> all 0.0
//   grad(lambda x: F.cross_entropy(x, I, reduction='mean'), Z, torch.tensor(1.0, dtype=D)) -> all 0.0
//   grad(lambda x: F.cross_entropy(x, I, weight=W, label_smoothing=0.2, reduction='mean'), Z, torch.tensor(1.0, dtype=D)) -> all 0.0
#[test]
fn fully_ignored_mean_has_zero_gradient_not_nan() {
    let d = data();
    let ignored = array![-100i64, -100, -100, -100].into_dyn();
    let zeros = [0.0; 12];
    let nll = nll_loss_backward(
        arr0(1.0).view(),
        d.x.view(),
        Target::indices(ignored.view()),
        &nll_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&nll, &[4, 3], &zeros);
    let ce = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(ignored.view()),
        &ce_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&ce, &[4, 3], &zeros);
    let smoothed = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(ignored.view()),
        &ce_opts(Reduction::Mean)
            .weight(d.w.view())
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&smoothed, &[4, 3], &zeros);
}

// torch 2.13.0:
//   grad(lambda x: F.cross_entropy(x, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
//   grad(lambda x: F.cross_entropy(x, T, weight=W, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
#[test]
fn ce_backward_weighted_mean_matches_autograd_and_is_zero_on_ignored_rows() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let grad = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(target.view()),
        &ce_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.20770231982100618,
            0.009850463878517454,
            0.1978518559424887,
            0.0,
            0.0,
            0.0,
            0.04603951891789186,
            0.6782392722314677,
            -0.7242787911493596,
            0.0,
            0.0,
            0.0,
        ],
    );
    let grad = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(d.t.view()),
        &ce_opts(Reduction::Mean).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.055170928702454776,
            0.002616529467731199,
            0.05255439923472357,
            0.008795781345094702,
            0.14320429025168813,
            -0.15200007159678283,
            0.03198418501747776,
            -0.060069351743042815,
            0.0280851667255651,
            0.16374505180579219,
            0.018509991290926505,
            -0.1822550430967187,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.cross_entropy(x, T, weight=W, reduction='none'), Z, G4)
#[test]
fn ce_backward_none_scales_each_row_by_its_grad_output() {
    let d = data();
    let grad = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::indices(d.t.view()),
        &ce_opts(Reduction::None).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.05296409155435658,
            0.002511868289021951,
            0.05045222326533463,
            -0.03377580036516366,
            -0.5499044745664824,
            0.5836802749316461,
            0.08187951364474308,
            -0.15377754046218964,
            0.07189802681744666,
            1.1003667481349237,
            0.12438714147502614,
            -1.22475388960995,
        ],
    );
}

// torch 2.13.0 (TI = torch.tensor([0, 1, 2, 1])):
//   grad(lambda x: F.cross_entropy(x, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
//   grad(lambda x: F.cross_entropy(x, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='none'), Z, G4)
//   grad(lambda x: F.cross_entropy(x, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, label_smoothing=0.2, reduction='none'), Z, G4)
//     -> same values as the previous line
//   grad(lambda x: F.cross_entropy(x, T3, weight=W, label_smoothing=0.1, reduction='sum'), Z3, torch.tensor(0.5, dtype=D))
#[test]
fn ce_backward_with_label_smoothing_matches_autograd_for_any_ignore_index() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let options = |r| {
        ce_opts(r)
            .weight(d.w.view())
            .ignore_index(1)
            .label_smoothing(0.2)
    };
    let mean = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(target.view()),
        &options(Reduction::Mean),
    )
    .unwrap();
    assert_close(
        &mean,
        &[4, 3],
        &[
            -0.15839510221446415,
            -0.11708006793377951,
            0.27547517014824363,
            0.0,
            0.0,
            0.0,
            0.03318644557226591,
            0.5866437402662248,
            -0.6198301858384907,
            0.0,
            0.0,
            0.0,
        ],
    );
    let none_expected = [
        -0.04039075106468837,
        -0.029855417323113784,
        0.07024616838780214,
        0.0,
        0.0,
        0.0,
        0.022566782989140825,
        0.398917743381033,
        -0.4214845263701737,
        0.0,
        0.0,
        0.0,
    ];
    let none = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::indices(target.view()),
        &options(Reduction::None),
    )
    .unwrap();
    assert_close(&none, &[4, 3], &none_expected);
    let sevens = array![0i64, 7, 2, 7].into_dyn();
    let none7 = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::indices(sevens.view()),
        &ce_opts(Reduction::None)
            .weight(d.w.view())
            .ignore_index(7)
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&none7, &[4, 3], &none_expected);
    let spatial = cross_entropy_backward(
        arr0(0.5).view(),
        d.z3.view(),
        Target::indices(d.t3.view()),
        &ce_opts(Reduction::Sum)
            .weight(d.w.view())
            .label_smoothing(0.1),
    )
    .unwrap();
    assert_close(
        &spatial,
        &[2, 3, 2],
        &[
            -0.06400060609627282,
            0.10466626861881703,
            -0.02353291117728302,
            -0.025440814932915192,
            0.08753351727355585,
            -0.07922545368590181,
            0.04296121892606077,
            -0.013018078186712849,
            -0.2830203183152021,
            -0.018498214053851266,
            0.24005909938914127,
            0.03151629224056412,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.cross_entropy(x, P, weight=W, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
//   grad(lambda x: F.cross_entropy(x, Q, reduction='none'), Z, G4)
//   grad(lambda x: F.cross_entropy(x, P3, weight=W, label_smoothing=0.3, reduction='none'), Z3,
//        torch.tensor([[0.3, -1.2], [0.8, 2.1]], dtype=D))
#[test]
fn ce_backward_with_probability_targets_matches_autograd() {
    let d = data();
    let mean = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::probabilities(d.p.view()),
        &ce_opts(Reduction::Mean).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &mean,
        &[4, 3],
        &[
            -0.019022624571351406,
            -0.07929596576034599,
            0.09831859033169736,
            0.0026861596984827543,
            0.08263851825070592,
            -0.0853246779491887,
            -0.0025073536167028016,
            0.05653761790742329,
            -0.054030264290720456,
            0.3426050314705806,
            -0.3862714028374461,
            0.043666371366865485,
        ],
    );
    let none = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::probabilities(d.q.view()),
        &ce_opts(Reduction::None),
    )
    .unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            -0.09019477821203094,
            -0.24864911954331342,
            0.33884389775534435,
            1.3568595683319047,
            -1.353611014317495,
            -0.0032485540144095637,
            -0.163876685156731,
            0.3321569674431517,
            -0.1682802822864206,
            -1.4914049276678805,
            1.3561837328616029,
            0.13522119480627776,
        ],
    );
    let g = array![[0.3, -1.2], [0.8, 2.1]];
    let spatial = cross_entropy_backward(
        g.view(),
        d.z3.view(),
        Target::probabilities(d.p3.view()),
        &ce_opts(Reduction::None)
            .weight(d.w.view())
            .label_smoothing(0.3),
    )
    .unwrap();
    assert_close(
        &spatial,
        &[2, 3, 2],
        &[
            0.0432139038750566,
            -0.17682880096932788,
            -0.14867124629349363,
            0.5533715223678524,
            0.10545734241843703,
            -0.3765427213985246,
            0.024145388239645033,
            0.6319112446768242,
            -0.141210729101872,
            -0.7526739220735286,
            0.11706534086222697,
            0.12076267739670442,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.log_softmax(x, 1), Z, GZ)
//   grad(lambda x: F.log_softmax(x, 0), Z, GZ)
//   grad(lambda x: F.log_softmax(x, 1), Z3, GZ.reshape(2, 3, 2))
#[test]
fn log_softmax_backward_matches_autograd() {
    let d = data();
    let cases: [(&ArrayD<f64>, i64, [f64; 12]); 3] = [
        (
            &d.z,
            1,
            [
                0.20338013781062472,
                2.718441999539056,
                -2.9218221373496798,
                -1.2479967610843479,
                -0.006144435475015459,
                1.2541411965593632,
                -2.554155934326989,
                4.275595657685351,
                -1.721439723358361,
                0.39247248261585627,
                -2.3456387893578117,
                1.9531663067419547,
            ],
        ),
        (
            &d.z,
            0,
            [
                2.537921688307013,
                2.9903453632747374,
                -0.13713707998023164,
                -0.9237485563777228,
                -0.3842879240596398,
                0.6398457258829278,
                -2.5219073055045724,
                0.025352190301683453,
                -2.0416205513829313,
                0.9077341735752831,
                -2.631409629516781,
                1.5389119054802347,
            ],
        ),
        (
            &d.z3,
            1,
            [
                0.4106763642070317,
                2.096003184382797,
                1.853193245503195,
                -1.313140147203345,
                -2.263869609710227,
                -0.7828630371794519,
                -2.43001963845764,
                0.32766063950860996,
                2.7497493654934795,
                -2.2317108699085018,
                -0.31972972703583935,
                1.9040502303998916,
            ],
        ),
    ];
    for (input, dim, expected) in cases {
        let output = log_softmax(input.view(), dim).unwrap();
        let g = d.gz.clone().into_shape_with_order(input.raw_dim()).unwrap();
        let grad = log_softmax_backward(g.view(), output.view(), dim).unwrap();
        assert_close(&grad, input.shape(), &expected);
    }
}

// torch 2.13.0:
//   grad(lambda x: F.softmax(x, 1), Z, GZ)
//   grad(lambda x: F.softmax(x, 0), Z, GZ)
#[test]
fn softmax_backward_matches_autograd() {
    let d = data();
    let cases: [(i64, [f64; 12]); 2] = [
        (
            1,
            [
                -0.11374624933489742,
                0.046469897934902166,
                0.06727635139999527,
                -0.0433843633917184,
                -0.28333823749433495,
                0.32672260088605337,
                -0.14320576209790087,
                0.22296049679287444,
                -0.07975473469497353,
                -0.29813608963178706,
                -0.06559589875088585,
                0.36373198838267323,
            ],
        ),
        (
            0,
            [
                0.6551458038033965,
                0.1659342971171029,
                0.17841506436408325,
                0.0020414169526528727,
                -0.15756820827719875,
                -0.10107609395576533,
                -0.09341275732664103,
                0.060948637456960345,
                -0.07458858795344053,
                -0.5637744634294084,
                -0.06931472629686448,
                -0.002750382454877494,
            ],
        ),
    ];
    for (dim, expected) in cases {
        let output = softmax(d.z.view(), dim).unwrap();
        let grad = softmax_backward(d.gz.view(), output.view(), dim).unwrap();
        assert_close(&grad, &[4, 3], &expected);
    }
}

// torch 2.13.0 (TI = torch.tensor([0, 1, 2, 1])):
//   F.cross_entropy(Z, T, weight=W, reduction='none')
//     -> [0.4286635495409966, 0.8967070704462566, 0.20398496827494175, 1.4790820830533202]
//   grad(lambda x: F.cross_entropy(x, T, weight=W, reduction='none'), Z, G4)
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='none')
//     -> [0.738661523409311, 0.0, 1.7072605655547313, 0.0]
//   grad(lambda x: F.cross_entropy(x, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='none'), Z, G4)
//   F.cross_entropy(Z, Q, reduction='none')
//     -> [3.979640171098471, 4.319278942636939, 1.467493368356592, -0.5391825647918275]
//   grad(lambda x: F.cross_entropy(x, Q, reduction='none'), Z, G4)
#[test]
fn cross_entropy_with_grad_gives_the_loss_and_autograds_gradient_on_every_path() {
    let d = data();
    let ti = array![0i64, 1, 2, 1];
    let none = CrossEntropyOptions::default().reduction(Reduction::None);
    let cases = [
        (
            Target::indices(d.t.view()),
            none.clone().weight(d.w.view()),
            [
                0.4286635495409966,
                0.8967070704462566,
                0.20398496827494175,
                1.4790820830533202,
            ],
            [
                -0.05296409155435658,
                0.002511868289021951,
                0.05045222326533463,
                -0.03377580036516366,
                -0.5499044745664824,
                0.5836802749316461,
                0.08187951364474308,
                -0.15377754046218964,
                0.07189802681744666,
                1.1003667481349237,
                0.12438714147502614,
                -1.22475388960995,
            ],
        ),
        (
            Target::indices(ti.view()),
            none.clone()
                .weight(d.w.view())
                .ignore_index(1)
                .label_smoothing(0.2),
            [0.738661523409311, 0.0, 1.7072605655547313, 0.0],
            [
                -0.04039075106468837,
                -0.029855417323113784,
                0.07024616838780214,
                0.0,
                0.0,
                0.0,
                0.022566782989140825,
                0.398917743381033,
                -0.4214845263701737,
                0.0,
                0.0,
                0.0,
            ],
        ),
        (
            Target::probabilities(d.q.view()),
            none.clone(),
            [
                3.979640171098471,
                4.319278942636939,
                1.467493368356592,
                -0.5391825647918275,
            ],
            [
                -0.09019477821203094,
                -0.24864911954331342,
                0.33884389775534435,
                1.3568595683319047,
                -1.353611014317495,
                -0.0032485540144095637,
                -0.163876685156731,
                0.3321569674431517,
                -0.1682802822864206,
                -1.4914049276678805,
                1.3561837328616029,
                0.13522119480627776,
            ],
        ),
    ];
    for (target, options, loss, grad) in cases {
        let (got_loss, got_grad) =
            cross_entropy_with_grad(d.g4.view(), d.z.view(), target, &options).unwrap();
        assert_close(&got_loss, &[4], &loss);
        assert_close(&got_grad, &[4, 3], &grad);
    }
}
