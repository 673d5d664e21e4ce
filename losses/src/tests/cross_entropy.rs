// cross_entropy forward values: class indices and class probabilities, label smoothing
// (and how its error prints the value), empty inputs and zero classes, uint8 targets,
// float32, non-contiguous views.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

// torch 2.13.0:
//   F.cross_entropy(Z, T, reduction='mean')                   -> 1.4795922854167418
//   F.nll_loss(F.log_softmax(Z, 1), T, reduction='mean')      -> 1.4795922854167418
//   F.cross_entropy(Z, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='none')
//     -> [0.4286635495409966, 0.0, 1.910994252575713, 0.0]
//   F.cross_entropy(Z, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='mean') -> 2.752538590725541
//   F.cross_entropy(Z3, T3, weight=W, reduction='mean')       -> 0.5247869854137575
#[test]
fn index_targets_equal_nll_of_log_softmax() {
    let d = data();
    let ce = ce64(&d.z, &d.t, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&ce, &[], &[1.4795922854167418]);
    let logp = log_softmax(d.z.view(), 1).unwrap();
    let nll = nll64(&logp, &d.t, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&nll, &[], &[1.4795922854167418]);
    assert_eq!(ce, nll, "cross_entropy is nll_loss(log_softmax(x, 1))");

    let target = array![0i64, 1, 2, 1].into_dyn();
    assert_ce_cases(
        &d.z,
        Target::indices(target.view()),
        &CrossEntropyOptions::default()
            .weight(d.w.view())
            .ignore_index(1),
        &[
            (
                Reduction::None,
                &[4],
                &[0.4286635495409966, 0.0, 1.910994252575713, 0.0],
            ),
            (Reduction::Mean, &[], &[2.752538590725541]),
        ],
    );
    let spatial = ce64(&d.z3, &d.t3, &ce_opts(Reduction::Mean).weight(d.w.view())).unwrap();
    assert_close(&spatial, &[], &[0.5247869854137575]);
}

// torch 2.13.0:
//   F.cross_entropy(Z[2], torch.tensor(1), reduction='mean') -> 0.11999115780878927
//   F.cross_entropy(Z[2], P[2], reduction='mean') -> 2.0549911578087894
//   F.cross_entropy(Z[2], P[2], reduction='none') -> 2.0549911578087894 (shape [])
#[test]
fn unbatched_cross_entropy_uses_dim_0_as_classes() {
    let d = data();
    let z2 = d.z.slice(s![2, ..]).to_owned().into_dyn();
    let p2 = d.p.slice(s![2, ..]).to_owned().into_dyn();
    let index = ce64(&z2, &arr0(1i64).into_dyn(), &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&index, &[], &[0.11999115780878927]);
    assert_ce_cases(
        &z2,
        Target::probabilities(p2.view()),
        &CrossEntropyOptions::default(),
        &[
            (Reduction::Mean, &[], &[2.0549911578087894]),
            (Reduction::None, &[], &[2.0549911578087894]),
        ],
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z3, P3, weight=W, reduction='mean') -> 1.4732883177336007
//   F.cross_entropy(Z3, P3, weight=W, reduction='sum')  -> 5.893153270934403
//   F.cross_entropy(Z3, P3, weight=W, reduction='none')
//     -> shape [2, 2] [1.849243934427263, 2.1981270558559145, 0.7532146719486514, 1.0925676087025733]
//   F.cross_entropy(Z, P, reduction='mean') -> 2.0138422854167417
// (1.4732883177336007 = 5.893153270934403 / 4, N * d1 = 2 * 2, whatever the weights)
#[test]
fn probability_targets_mean_divides_by_positions_not_weights() {
    let d = data();
    assert_ce_cases(
        &d.z3,
        Target::probabilities(d.p3.view()),
        &CrossEntropyOptions::default().weight(d.w.view()),
        &[
            (Reduction::Mean, &[], &[1.4732883177336007]),
            (Reduction::Sum, &[], &[5.893153270934403]),
            (
                Reduction::None,
                &[2, 2],
                &[
                    1.849243934427263,
                    2.1981270558559145,
                    0.7532146719486514,
                    1.0925676087025733,
                ],
            ),
        ],
    );
    let plain = ce_prob64(&d.z, &d.p, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&plain, &[], &[2.0138422854167417]);
}

// torch 2.13.0:
//   F.cross_entropy(Z, Q, reduction='none')
//     -> [3.979640171098471, 4.319278942636939, 1.467493368356592, -0.5391825647918275]
//   F.cross_entropy(Z, Q, reduction='mean') -> 2.3068074793250437
#[test]
fn probability_targets_need_not_sum_to_one() {
    let d = data();
    assert_ce_cases(
        &d.z,
        Target::probabilities(d.q.view()),
        &CrossEntropyOptions::default(),
        &[
            (
                Reduction::None,
                &[4],
                &[
                    3.979640171098471,
                    4.319278942636939,
                    1.467493368356592,
                    -0.5391825647918275,
                ],
            ),
            (Reduction::Mean, &[], &[2.3068074793250437]),
        ],
    );
}

// torch 2.13.0 (TI = torch.tensor([0, 1, 2, 1])):
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='mean') -> 2.877555398781227
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='sum')  -> 2.4459220889640427
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='none')
//     -> [0.738661523409311, 0.0, 1.7072605655547313, 0.0]
//   F.cross_entropy(Z, TI, ignore_index=1, label_smoothing=0.2, reduction='mean') -> 2.4119877860902195
#[test]
fn label_smoothing_with_index_targets_honours_weight_and_ignore_index() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    assert_ce_cases(
        &d.z,
        Target::indices(target.view()),
        &CrossEntropyOptions::default()
            .weight(d.w.view())
            .ignore_index(1)
            .label_smoothing(0.2),
        &[
            (Reduction::Mean, &[], &[2.877555398781227]),
            (Reduction::Sum, &[], &[2.4459220889640427]),
            (
                Reduction::None,
                &[4],
                &[0.738661523409311, 0.0, 1.7072605655547313, 0.0],
            ),
        ],
    );
    let unweighted = ce64(
        &d.z,
        &target,
        &ce_opts(Reduction::Mean)
            .ignore_index(1)
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&unweighted, &[], &[2.4119877860902195]);
}

// torch 2.13.0:
//   F.cross_entropy(Z3, T3, weight=W, label_smoothing=0.1, reduction='mean') -> 0.7398965315046379
//   F.cross_entropy(Z3, T3, weight=W, label_smoothing=0.1, reduction='none')
//     -> shape [2, 2] [0.4759378772836854, 0.5207086701917036, 0.7725371351123391, 0.2655317790500259]
//   F.cross_entropy(Z[2], torch.tensor(1), weight=W, label_smoothing=0.3, reduction='none') -> 0.41048722303370044
#[test]
fn label_smoothing_works_on_spatial_and_unbatched_inputs() {
    let d = data();
    assert_ce_cases(
        &d.z3,
        Target::indices(d.t3.view()),
        &CrossEntropyOptions::default()
            .weight(d.w.view())
            .label_smoothing(0.1),
        &[
            (Reduction::Mean, &[], &[0.7398965315046379]),
            (
                Reduction::None,
                &[2, 2],
                &[
                    0.4759378772836854,
                    0.5207086701917036,
                    0.7725371351123391,
                    0.2655317790500259,
                ],
            ),
        ],
    );
    let z2 = d.z.slice(s![2, ..]).to_owned().into_dyn();
    let unbatched = ce64(
        &z2,
        &arr0(1i64).into_dyn(),
        &ce_opts(Reduction::None)
            .weight(d.w.view())
            .label_smoothing(0.3),
    )
    .unwrap();
    assert_close(&unbatched, &[], &[0.41048722303370044]);
}

// torch 2.13.0:
//   F.cross_entropy(Z, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, label_smoothing=0.2, reduction='none')
//     -> [0.738661523409311, 0.0, 1.7072605655547313, 0.0]
//   F.cross_entropy(Z, T, ignore_index=-5, label_smoothing=0.1) -> 1.5075922854167418
//   F.cross_entropy(Z, torch.tensor([0, -5, 1, 2]), ignore_index=-5, label_smoothing=0.1, reduction='none')
//     -> [2.1119844143716495, 0.0, 0.303657824475456, 2.2108442303384415]
#[test]
fn label_smoothing_honours_any_ignore_index() {
    let d = data();
    let sevens = array![0i64, 7, 2, 7].into_dyn();
    let none = ce64(
        &d.z,
        &sevens,
        &ce_opts(Reduction::None)
            .weight(d.w.view())
            .ignore_index(7)
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(
        &none,
        &[4],
        &[0.738661523409311, 0.0, 1.7072605655547313, 0.0],
    );
    let mean = ce64(
        &d.z,
        &d.t,
        &ce_opts(Reduction::Mean)
            .ignore_index(-5)
            .label_smoothing(0.1),
    )
    .unwrap();
    assert_close(&mean, &[], &[1.5075922854167418]);
    let minus_five = array![0i64, -5, 1, 2].into_dyn();
    let none = ce64(
        &d.z,
        &minus_five,
        &ce_opts(Reduction::None)
            .ignore_index(-5)
            .label_smoothing(0.1),
    )
    .unwrap();
    assert_close(
        &none,
        &[4],
        &[
            2.1119844143716495,
            0.0,
            0.303657824475456,
            2.2108442303384415,
        ],
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z, P, weight=W, label_smoothing=0.3, reduction='mean') -> 1.685028425888528
//   F.cross_entropy(Z, P, weight=W, label_smoothing=0.3, reduction='none')
//     -> [1.5667767464142215, 0.7995911030393614, 0.9636326079281478, 3.410113246172381]
#[test]
fn label_smoothing_mixes_probability_targets_with_the_uniform_distribution() {
    let d = data();
    assert_ce_cases(
        &d.z,
        Target::probabilities(d.p.view()),
        &CrossEntropyOptions::default()
            .weight(d.w.view())
            .label_smoothing(0.3),
        &[
            (Reduction::Mean, &[], &[1.685028425888528]),
            (
                Reduction::None,
                &[4],
                &[
                    1.5667767464142215,
                    0.7995911030393614,
                    0.9636326079281478,
                    3.410113246172381,
                ],
            ),
        ],
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, label_smoothing=-0.3, reduction='mean')         -> 1.4795922854167418
//   F.cross_entropy(Z, T, label_smoothing=float('nan'), reduction='mean') -> 1.4795922854167418
//   F.cross_entropy(Z, T, label_smoothing=0.0, reduction='mean')          -> 1.4795922854167418
//   F.cross_entropy(Z, P, label_smoothing=-0.3, reduction='sum')          -> 8.055369141666967
//   F.cross_entropy(Z, P, label_smoothing=float('nan'), reduction='sum')  -> 8.055369141666967
//   F.cross_entropy(Z, P, label_smoothing=0.0, reduction='sum')           -> 8.055369141666967
#[test]
fn negative_or_nan_label_smoothing_behaves_as_zero() {
    let d = data();
    for ls in [-0.3, f64::NAN, 0.0] {
        let index = ce64(&d.z, &d.t, &ce_opts(Reduction::Mean).label_smoothing(ls)).unwrap();
        assert_close(&index, &[], &[1.4795922854167418]);
        let prob = ce_prob64(&d.z, &d.p, &ce_opts(Reduction::Sum).label_smoothing(ls)).unwrap();
        assert_close(&prob, &[], &[8.055369141666967]);
    }
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, weight=W, label_smoothing=1.0, reduction='mean') -> 1.700660553255288
//   F.cross_entropy(Z, T, weight=W, label_smoothing=1.0, reduction='none')
//     -> [1.9786534188825686, 0.7062836049425406, 0.8923258174708042, 1.8648509291210082]
//   F.cross_entropy(Z, P, label_smoothing=1.0, reduction='mean') -> 1.7595922854167416
#[test]
fn label_smoothing_of_one_is_allowed() {
    let d = data();
    assert_ce_cases(
        &d.z,
        Target::indices(d.t.view()),
        &CrossEntropyOptions::default()
            .weight(d.w.view())
            .label_smoothing(1.0),
        &[
            (Reduction::Mean, &[], &[1.700660553255288]),
            (
                Reduction::None,
                &[4],
                &[
                    1.9786534188825686,
                    0.7062836049425406,
                    0.8923258174708042,
                    1.8648509291210082,
                ],
            ),
        ],
    );
    let prob = ce_prob64(&d.z, &d.p, &ce_opts(Reduction::Mean).label_smoothing(1.0)).unwrap();
    assert_close(&prob, &[], &[1.7595922854167416]);
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, label_smoothing=1.5) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
//   F.cross_entropy(Z, P, label_smoothing=1.5) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
#[test]
fn label_smoothing_above_one_errors() {
    let d = data();
    let msg = "label_smoothing must be between 0.0 and 1.0. Got: 1.5";
    let options = ce_opts(Reduction::Mean).label_smoothing(1.5);
    assert_err(ce64(&d.z, &d.t, &options), ErrorKind::RuntimeError, msg);
    assert_err(
        ce_prob64(&d.z, &d.p, &options),
        ErrorKind::RuntimeError,
        msg,
    );
}

// torch 2.13.0 (the value is printed by C++ `operator<<`, 6 significant digits):
//   F.cross_entropy(Z, T, label_smoothing=2.0) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 2
//   F.cross_entropy(Z, P, label_smoothing=2.0) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 2
#[test]
fn label_smoothing_error_prints_a_whole_number_without_decimals() {
    let d = data();
    let msg = "label_smoothing must be between 0.0 and 1.0. Got: 2";
    let options = ce_opts(Reduction::Mean).label_smoothing(2.0);
    assert_err(ce64(&d.z, &d.t, &options), ErrorKind::RuntimeError, msg);
    assert_err(
        ce_prob64(&d.z, &d.p, &options),
        ErrorKind::RuntimeError,
        msg,
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, label_smoothing=1.23456789)  -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.23457
//   F.cross_entropy(Z, T, label_smoothing=123456789.0) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.23457e+08
#[test]
fn label_smoothing_error_prints_six_significant_digits() {
    let d = data();
    for (ls, printed) in [(1.23456789, "1.23457"), (123456789.0, "1.23457e+08")] {
        assert_err(
            ce64(&d.z, &d.t, &ce_opts(Reduction::Mean).label_smoothing(ls)),
            ErrorKind::RuntimeError,
            &format!("label_smoothing must be between 0.0 and 1.0. Got: {printed}"),
        );
    }
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, label_smoothing=1e20)         -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1e+20
//   F.cross_entropy(Z, T, label_smoothing=float('inf')) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: inf
#[test]
fn label_smoothing_error_prints_huge_and_infinite_values() {
    let d = data();
    for (ls, printed) in [(1e20, "1e+20"), (f64::INFINITY, "inf")] {
        assert_err(
            ce64(&d.z, &d.t, &ce_opts(Reduction::Mean).label_smoothing(ls)),
            ErrorKind::RuntimeError,
            &format!("label_smoothing must be between 0.0 and 1.0. Got: {printed}"),
        );
    }
}

// torch 2.13.0:
//   F.cross_entropy(Z, torch.full((4,), -100), label_smoothing=0.2, reduction='mean') -> nan
//   F.cross_entropy(Z, torch.full((4,), -100), label_smoothing=0.2, reduction='sum')  -> 0.0
//   F.cross_entropy(Z, torch.full((4,), -100), weight=W, label_smoothing=0.2, reduction='mean') -> nan
#[test]
fn fully_ignored_batch_with_label_smoothing_mean_is_nan() {
    let d = data();
    let ignored = array![-100i64, -100, -100, -100].into_dyn();
    assert_ce_cases(
        &d.z,
        Target::indices(ignored.view()),
        &CrossEntropyOptions::default().label_smoothing(0.2),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
        ],
    );
    assert_ce_cases(
        &d.z,
        Target::indices(ignored.view()),
        &CrossEntropyOptions::default()
            .weight(d.w.view())
            .label_smoothing(0.2),
        &[(Reduction::Mean, &[], &[f64::NAN])],
    );
}

// torch 2.13.0 (E = torch.zeros(0, 3, dtype=D)):
//   F.cross_entropy(E, torch.zeros(0, 3, dtype=D), reduction='mean') -> nan
//   F.cross_entropy(E, torch.zeros(0, 3, dtype=D), reduction='sum')  -> -0.0
//   F.cross_entropy(E, torch.zeros(0, 3, dtype=D), reduction='none') -> shape [0]
//   F.cross_entropy(E, torch.zeros(0, dtype=torch.long), label_smoothing=0.2) -> nan
//   F.cross_entropy(E, torch.zeros(0, dtype=torch.long), label_smoothing=0.2, reduction='sum') -> 0.0
#[test]
fn empty_batch_cross_entropy_mean_is_nan_sum_is_zero_none_is_empty() {
    let input = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let probs = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    assert_ce_cases(
        &input,
        Target::probabilities(probs.view()),
        &CrossEntropyOptions::default(),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[-0.0]),
            (Reduction::None, &[0], &[]),
        ],
    );
    let index = ArrayD::<i64>::zeros(IxDyn(&[0]));
    assert_ce_cases(
        &input,
        Target::indices(index.view()),
        &CrossEntropyOptions::default().label_smoothing(0.2),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
        ],
    );
}

// torch 2.13.0 (E = torch.zeros(2, 0, dtype=D), I = torch.tensor([-100, -100])):
//   F.cross_entropy(E, I) -> nan
//   F.cross_entropy(E, I, label_smoothing=0.5, reduction='none') -> [nan, nan]
//   F.cross_entropy(E, I, label_smoothing=0.5) -> nan
//   F.cross_entropy(E, torch.zeros(2, 0, dtype=D), reduction='none') -> [-0.0, -0.0]
//   F.cross_entropy(E, torch.zeros(2, 0, dtype=D)) -> nan
#[test]
fn zero_classes_give_nan_or_zero_losses() {
    let input = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    let ignored = array![-100i64, -100].into_dyn();
    let plain = ce64(&input, &ignored, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&plain, &[], &[f64::NAN]);
    assert_ce_cases(
        &input,
        Target::indices(ignored.view()),
        &CrossEntropyOptions::default().label_smoothing(0.5),
        &[
            (Reduction::None, &[2], &[f64::NAN, f64::NAN]),
            (Reduction::Mean, &[], &[f64::NAN]),
        ],
    );
    let probs = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    assert_ce_cases(
        &input,
        Target::probabilities(probs.view()),
        &CrossEntropyOptions::default(),
        &[
            (Reduction::None, &[2], &[-0.0, -0.0]),
            (Reduction::Mean, &[], &[f64::NAN]),
        ],
    );
}

// torch 2.13.0 (TB = T.to(torch.uint8)):
//   F.cross_entropy(Z, TB, weight=W, label_smoothing=0.2, reduction='sum') -> 3.4951728911357973
//   F.cross_entropy(Z, TB, label_smoothing=0.2, reduction='mean')          -> 1.5355922854167416
//   F.cross_entropy(Z, TB, weight=W, reduction='mean')                     -> 0.9401367722860985
#[test]
fn byte_targets_work_with_weight_and_label_smoothing() {
    let d = data();
    let tb = d.t.mapv(|v| v as u8);
    let run = |options: &CrossEntropyOptions<'_, f64>| {
        cross_entropy(d.z.view(), Target::Bytes(tb.view()), options).unwrap()
    };
    assert_close(
        &run(&ce_opts(Reduction::Sum)
            .weight(d.w.view())
            .label_smoothing(0.2)),
        &[],
        &[3.4951728911357973],
    );
    assert_close(
        &run(&ce_opts(Reduction::Mean).label_smoothing(0.2)),
        &[],
        &[1.5355922854167416],
    );
    assert_close(
        &run(&ce_opts(Reduction::Mean).weight(d.w.view())),
        &[],
        &[0.9401367722860985],
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z, T.to(torch.uint8), weight=W, label_smoothing=0.2, reduction='mean')
//     -> RuntimeError: gather(): Expected dtype int32/int64 for index
//   F.cross_entropy(Z[2], torch.tensor(1, dtype=torch.uint8), weight=W, label_smoothing=0.2, reduction='mean')
//     -> RuntimeError: gather(): Expected dtype int32/int64 for index
// (the smoothing term's weighted mean gathers the weights with the uint8 target)
#[test]
fn byte_targets_with_weight_and_label_smoothing_mean_fail_in_gather() {
    let d = data();
    let msg = "gather(): Expected dtype int32/int64 for index";
    let options = ce_opts(Reduction::Mean)
        .weight(d.w.view())
        .label_smoothing(0.2);
    let tb = d.t.mapv(|v| v as u8);
    assert_err(
        cross_entropy(d.z.view(), Target::Bytes(tb.view()), &options),
        ErrorKind::RuntimeError,
        msg,
    );
    let z2 = d.z.slice(s![2, ..]).to_owned();
    let t0 = arr0(1u8).into_dyn();
    assert_err(
        cross_entropy(z2.view(), Target::Bytes(t0.view()), &options),
        ErrorKind::RuntimeError,
        msg,
    );
}

// torch 2.13.0 (float32):
//   F.cross_entropy(Z.float(), T, weight=W.float(), reduction='mean') -> 0.9401367
//   F.log_softmax(Z.float(), 1)
//     -> [-2.1433177, -3.1733177, -0.17331775, -3.1395493, -0.34954935, -1.3795493,
//         -2.8099914, -0.11999121, -2.9399912, -0.21551085, -2.3955107, -2.2755108]
#[test]
fn f32_cross_entropy_and_log_softmax_within_float32_tolerance() {
    let d = data();
    let z = d.z.mapv(|v| v as f32);
    let w = d.w.mapv(|v| v as f32);
    let ce = cross_entropy(
        z.view(),
        Target::indices(d.t.view()),
        &CrossEntropyOptions::default().weight(w.view()),
    )
    .unwrap();
    assert_close_f32(&ce, &[], &[0.9401367]);
    let logp = log_softmax(z.view(), 1).unwrap();
    assert_close_f32(
        &logp,
        &[4, 3],
        &[
            -2.1433177,
            -3.1733177,
            -0.17331775,
            -3.1395493,
            -0.34954935,
            -1.3795493,
            -2.8099914,
            -0.11999121,
            -2.9399912,
            -0.21551085,
            -2.3955107,
            -2.2755108,
        ],
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, reduction='mean') -> 1.4795922854167418
//   F.cross_entropy(Z, P, reduction='mean') -> 2.0138422854167417
//   grad(lambda x: F.cross_entropy(x, T, weight=W, reduction='none'), Z, G4)
//     -> [-0.05296409155435658, 0.002511868289021951, 0.05045222326533463, -0.03377580036516366,
//         -0.5499044745664824, 0.5836802749316461, 0.08187951364474308, -0.15377754046218964,
//         0.07189802681744666, 1.1003667481349237, 0.12438714147502614, -1.22475388960995]
// Here Z and P are transposed views of (3, 4) arrays and G4 a stride-2 slice.
#[test]
fn cross_entropy_reads_non_contiguous_views() {
    let d = data();
    let zt = contiguous(d.z.t());
    let z = zt.t();
    assert!(!z.is_standard_layout());
    let pt = contiguous(d.p.t());
    let p = pt.t();
    let index = cross_entropy(
        z.view(),
        Target::indices(d.t.view()),
        &ce_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&index, &[], &[1.4795922854167418]);
    let prob = cross_entropy(
        z.view(),
        Target::probabilities(p),
        &ce_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&prob, &[], &[2.0138422854167417]);
    let g_storage = array![0.3, 9.0, -1.2, 9.0, 0.8, 9.0, 2.1, 9.0];
    let g = g_storage.slice(s![..;2]);
    let grad = cross_entropy_backward(
        g,
        z,
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

/// Label smoothing over K-dimensional positions with weights of both signs and logits
/// of 1e4, summed: the nll part and the smoothing part each cancel (terms of 1e4 down
/// to -223 and 17.6). Found by the conformance campaign: libtorch rounds both sums to
/// float32 and its two errors happened to cancel (-51.867252, 3.2e-5 off), where Rust,
/// mirroring the nll part's float32 sum and computing the smoothing part in f64, was
/// 1.5e-4 off, past the tolerance. Now both parts come from unrounded log-probabilities
/// and are summed in f64: within two float32 ulps of the exact value (torch 2.13 in
/// float64 on the same float32 values: -51.86728423833778).
#[test]
fn smoothing_with_weights_of_both_signs_sums_both_parts_unrounded() {
    let x = ArrayD::from_shape_vec(
        IxDyn(&[1, 3, 2, 3, 3]),
        vec![
            0.0f32,
            0.0f32,
            0.0f32,
            4.6309433f32,
            6.413088f32,
            7.8402195e-07f32,
            2.571663f32,
            2.307242f32,
            4.6963573f32,
            3000.0f32,
            -6.4945903f32,
            -9.660093f32,
            -2.0247557f32,
            -9.996607f32,
            -3000.0f32,
            4.912458f32,
            5.5191336f32,
            -7.318987e-07f32,
            7.2184747e-07f32,
            -3.6673338f32,
            -4.4583707f32,
            8.551602f32,
            -5.4502153f32,
            -7.3276196f32,
            10000.0f32,
            0.42880562f32,
            1.9777968f32,
            -7.2688313f32,
            9.934772f32,
            6.7617164f32,
            -3.9653614f32,
            3000.0f32,
            10000.0f32,
            -9871.644f32,
            -10000.0f32,
            3000.0f32,
            0.21611618f32,
            -8.017369f32,
            -2.4360958e-07f32,
            3.1533291f32,
            4723.121f32,
            1592.8435f32,
            -7.546917f32,
            -7.394749f32,
            5.804197e-07f32,
            -5.315983f32,
            -1.0587416f32,
            2.304035f32,
            2.9429743f32,
            -2.702657f32,
            1.7925312e-07f32,
            3000.0f32,
            5.9357758f32,
            10000.0f32,
        ],
    )
    .unwrap();
    let t = ArrayD::from_shape_vec(
        IxDyn(&[1, 2, 3, 3]),
        vec![
            0i64, 0i64, 0i64, 0i64, 0i64, 1i64, 1i64, 2i64, 0i64, 0i64, 1i64, 0i64, 1i64, 1i64,
            2i64, 0i64, 0i64, 0i64,
        ],
    )
    .unwrap();
    let w = array![-0.73190904f32, 0.0f32, 1.2744836f32];
    let opts = CrossEntropyOptions::default()
        .weight(w.view())
        .reduction(Reduction::Sum)
        .label_smoothing(0.7478685108798918);
    let loss = cross_entropy(x.view(), Target::indices(t.view()), &opts).unwrap();
    let exact = -51.86728423833778f64;
    let ulp = 2f64.powi(-24 + 6);
    assert!((loss[[]] as f64 - exact).abs() <= 2.0 * ulp, "{}", loss[[]]);
}
