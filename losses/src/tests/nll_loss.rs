// nll_loss forward values: the reductions, weights and ignore_index, empty, unbatched
// and spatial inputs, uint8 targets, float32 bit for bit, non-contiguous views.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

// torch 2.13.0: F.nll_loss(X, T, reduction='mean') -> 0.8500000000000001
#[test]
fn mean_averages_negated_target_log_probs() {
    let d = data();
    let out = nll64(&d.x, &d.t, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&out, &[], &[0.8500000000000001]);
}

// torch 2.13.0: F.nll_loss(X, T, reduction='sum') -> 3.4000000000000004
#[test]
fn sum_adds_negated_target_log_probs() {
    let d = data();
    let out = nll64(&d.x, &d.t, &nll_opts(Reduction::Sum)).unwrap();
    assert_close(&out, &[], &[3.4000000000000004]);
}

// torch 2.13.0: F.nll_loss(X, T, reduction='none') -> [1.2, 0.45, 0.15, 1.6]
#[test]
fn none_keeps_one_loss_per_sample() {
    let d = data();
    let out = nll64(&d.x, &d.t, &nll_opts(Reduction::None)).unwrap();
    assert_close(&out, &[4], &[1.2, 0.45, 0.15, 1.6]);
}

// torch 2.13.0:
//   F.nll_loss(X, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='mean') -> 1.0852941176470587
//   F.nll_loss(X, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='sum')  -> 0.9225000000000001
// (0.9225 / (0.2 + 0.65): the divisor is the weight of the two non-ignored targets only)
#[test]
fn weighted_mean_divides_by_weights_of_non_ignored_targets() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(target.view()),
        &NllLossOptions::default().weight(d.w.view()).ignore_index(1),
        &[
            (Reduction::Mean, &[], &[1.0852941176470587]),
            (Reduction::Sum, &[], &[0.9225000000000001]),
        ],
    );
}

// torch 2.13.0:
//   F.nll_loss(X, torch.tensor([0, -100, 1, -100]), reduction='none') -> [1.2, 0.0, 0.15, 0.0]
//   F.nll_loss(X, torch.tensor([0, -100, 1, -100]), reduction='sum')  -> 1.3499999999999999
//   F.nll_loss(X, torch.tensor([0, -100, 1, -100]), reduction='mean') -> 0.6749999999999999
#[test]
fn ignored_positions_add_nothing_to_loss_or_divisor() {
    let d = data();
    let target = array![0i64, -100, 1, -100].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(target.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::None, &[4], &[1.2, 0.0, 0.15, 0.0]),
            (Reduction::Sum, &[], &[1.3499999999999999]),
            (Reduction::Mean, &[], &[0.6749999999999999]),
        ],
    );
}

// torch 2.13.0:
//   F.nll_loss(X, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, reduction='mean') -> 1.0852941176470587
//   F.nll_loss(X, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, reduction='none') -> [0.24, 0.0, 0.6825000000000001, 0.0]
#[test]
fn ignore_index_outside_class_range_is_allowed() {
    let d = data();
    let target = array![0i64, 7, 2, 7].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(target.view()),
        &NllLossOptions::default().weight(d.w.view()).ignore_index(7),
        &[
            (Reduction::Mean, &[], &[1.0852941176470587]),
            (Reduction::None, &[4], &[0.24, 0.0, 0.6825000000000001, 0.0]),
        ],
    );
}

// torch 2.13.0 (E = torch.zeros(0, 3, dtype=D), L = torch.zeros(0, dtype=torch.long)):
//   F.nll_loss(E, L, reduction='mean') -> nan
//   F.nll_loss(E, L, reduction='sum')  -> 0.0
//   F.nll_loss(E, L, reduction='none') -> shape [0]
//   F.nll_loss(E, L, weight=W, reduction='mean') -> nan
#[test]
fn empty_batch_mean_is_nan_sum_is_zero_none_is_empty() {
    let d = data();
    let input = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let target = ArrayD::<i64>::zeros(IxDyn(&[0]));
    assert_nll_cases(
        &input,
        Target::indices(target.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
            (Reduction::None, &[0], &[]),
        ],
    );
    assert_nll_cases(
        &input,
        Target::indices(target.view()),
        &NllLossOptions::default().weight(d.w.view()),
        &[(Reduction::Mean, &[], &[f64::NAN])],
    );
}

// torch 2.13.0:
//   F.nll_loss(X, torch.full((4,), -100), reduction='mean') -> nan
//   F.nll_loss(X, torch.full((4,), -100), reduction='sum')  -> 0.0
//   F.nll_loss(X, torch.full((4,), -100), reduction='none') -> [0.0, 0.0, 0.0, 0.0]
//   F.nll_loss(X, torch.full((4,), 2), weight=W, ignore_index=2, reduction='mean') -> nan
#[test]
fn fully_ignored_batch_mean_is_nan_sum_is_zero() {
    let d = data();
    let target = array![-100i64, -100, -100, -100].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(target.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
            (Reduction::None, &[4], &[0.0, 0.0, 0.0, 0.0]),
        ],
    );
    let twos = array![2i64, 2, 2, 2].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(twos.view()),
        &NllLossOptions::default().weight(d.w.view()).ignore_index(2),
        &[(Reduction::Mean, &[], &[f64::NAN])],
    );
}

// torch 2.13.0:
//   F.nll_loss(X[1], torch.tensor(2), reduction='mean') -> 0.45
//   F.nll_loss(X[1], torch.tensor(2), reduction='sum')  -> 0.45
//   F.nll_loss(X[1], torch.tensor(2), reduction='none') -> 0.45 (shape [])
//   F.nll_loss(X[1], torch.tensor(2), weight=W, reduction='mean') -> 0.45000000000000007
//   F.nll_loss(X[1], torch.tensor(2), weight=W, reduction='sum')  -> 0.29250000000000004
//   F.nll_loss(X[1], torch.tensor(2), weight=W, reduction='none') -> 0.29250000000000004 (shape [])
#[test]
fn unbatched_input_takes_a_0d_target() {
    let d = data();
    let x1 = d.x.slice(s![1, ..]).to_owned().into_dyn();
    let target = arr0(2i64).into_dyn();
    assert_nll_cases(
        &x1,
        Target::indices(target.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::Mean, &[], &[0.45]),
            (Reduction::Sum, &[], &[0.45]),
            (Reduction::None, &[], &[0.45]),
        ],
    );
    assert_nll_cases(
        &x1,
        Target::indices(target.view()),
        &NllLossOptions::default().weight(d.w.view()),
        &[
            (Reduction::Mean, &[], &[0.45000000000000007]),
            (Reduction::Sum, &[], &[0.29250000000000004]),
            (Reduction::None, &[], &[0.29250000000000004]),
        ],
    );
}

// torch 2.13.0:
//   F.nll_loss(X[1], torch.tensor(-100), reduction='mean') -> nan
//   F.nll_loss(X[1], torch.tensor(-100), reduction='sum')  -> 0.0
//   F.nll_loss(X[1], torch.tensor(-100), reduction='none') -> 0.0 (shape [])
#[test]
fn unbatched_ignored_target_mean_is_nan_sum_and_none_are_zero() {
    let d = data();
    let x1 = d.x.slice(s![1, ..]).to_owned().into_dyn();
    let target = arr0(-100i64).into_dyn();
    assert_nll_cases(
        &x1,
        Target::indices(target.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
            (Reduction::None, &[], &[0.0]),
        ],
    );
}

// torch 2.13.0 (W0 = torch.tensor([0.0, 1.7, 0.65], dtype=D)):
//   F.nll_loss(X, torch.tensor([0, 0, 0, 0]), weight=W0, reduction='mean')  -> nan
//   F.nll_loss(X, torch.tensor([0, 0, 0, 0]), weight=W0, reduction='sum')   -> 0.0
//   F.nll_loss(-X, torch.tensor([0, 0, 0, 0]), weight=W0, reduction='none') -> [-0.0, -0.0, -0.0, -0.0]
//   F.nll_loss(X, T, weight=W0, reduction='mean') -> 0.5291666666666667
#[test]
fn zero_weights_of_all_targets_make_mean_nan() {
    let d = data();
    let w0 = array![0.0, 1.7, 0.65].into_dyn();
    let zeros = array![0i64, 0, 0, 0].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(zeros.view()),
        &NllLossOptions::default().weight(w0.view()),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
        ],
    );
    let neg_x = d.x.mapv(|v| -v);
    let none = nll64(&neg_x, &zeros, &nll_opts(Reduction::None).weight(w0.view())).unwrap();
    assert_close(&none, &[4], &[-0.0, -0.0, -0.0, -0.0]);
    assert!(
        none.iter().all(|v| v.is_sign_negative()),
        "torch gives -0.0: {none:?}"
    );
    let partly = nll64(&d.x, &d.t, &nll_opts(Reduction::Mean).weight(w0.view())).unwrap();
    assert_close(&partly, &[], &[0.5291666666666667]);
}

// torch 2.13.0 (WN = torch.tensor([-0.5, 1.7, 0.65], dtype=D)):
//   F.nll_loss(X, torch.tensor([0, 2, 1, 0]), weight=WN, reduction='mean') -> -0.3722222222222222
//   F.nll_loss(X, torch.tensor([0, 2, 1, 0]), weight=WN, reduction='none') -> [-0.6, 0.29250000000000004, 0.255, -0.45]
//   F.nll_loss(X[:2], torch.tensor([0, 1]), weight=torch.tensor([-1.0, 1.0, 0.5], dtype=D), reduction='mean') -> inf
#[test]
fn negative_weights_count_with_their_sign() {
    let d = data();
    let wn = array![-0.5, 1.7, 0.65].into_dyn();
    let target = array![0i64, 2, 1, 0].into_dyn();
    assert_nll_cases(
        &d.x,
        Target::indices(target.view()),
        &NllLossOptions::default().weight(wn.view()),
        &[
            (Reduction::Mean, &[], &[-0.3722222222222222]),
            (
                Reduction::None,
                &[4],
                &[-0.6, 0.29250000000000004, 0.255, -0.45],
            ),
        ],
    );
    // The weights of the targets sum to exactly 0: the mean divides by zero.
    let x2 = d.x.slice(s![..2, ..]).to_owned().into_dyn();
    let cancel = array![-1.0, 1.0, 0.5].into_dyn();
    let inf = nll64(
        &x2,
        &array![0i64, 1].into_dyn(),
        &nll_opts(Reduction::Mean).weight(cancel.view()),
    )
    .unwrap();
    assert_close(&inf, &[], &[f64::INFINITY]);
}

// torch 2.13.0:
//   F.nll_loss(Z3, T3, reduction='none') -> shape [2, 2] [0.45, -2.69, -2.86, 0.62]
//   F.nll_loss(Z3, T3, weight=W, reduction='mean') -> -2.3259999999999996
#[test]
fn spatial_3d_input_gives_one_loss_per_position() {
    let d = data();
    let none = nll64(&d.z3, &d.t3, &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[2, 2], &[0.45, -2.69, -2.86, 0.62]);
    let mean = nll64(&d.z3, &d.t3, &nll_opts(Reduction::Mean).weight(d.w.view())).unwrap();
    assert_close(&mean, &[], &[-2.3259999999999996]);
}

// torch 2.13.0:
//   F.nll_loss(X4, T4, reduction='none') -> shape [2, 2, 2] [-1.08, 1.2, -0.15, -1.19, 2.76, 1.27, 2.09, -0.44]
//   F.nll_loss(X4, T4, weight=W, ignore_index=1, reduction='mean') -> 0.6163829787234042
//   F.nll_loss(X4, T4, reduction='sum') -> 4.46
#[test]
fn spatial_4d_input_gives_one_loss_per_pixel() {
    let d = data();
    let none = nll64(&d.x4, &d.t4, &nll_opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[2, 2, 2],
        &[-1.08, 1.2, -0.15, -1.19, 2.76, 1.27, 2.09, -0.44],
    );
    let mean = nll64(
        &d.x4,
        &d.t4,
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(&mean, &[], &[0.6163829787234042]);
    let sum = nll64(&d.x4, &d.t4, &nll_opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[4.46]);
}

// torch 2.13.0:
//   F.nll_loss(X5, T5, reduction='none') -> shape [1, 2, 1, 2] [0.16, 1.12, -2.04, -2.67]
//   F.nll_loss(X5, T5, reduction='mean') -> -0.8574999999999999
//   F.nll_loss(X5, T5, weight=W, reduction='mean') -> -1.8068235294117645
#[test]
fn spatial_5d_input_gives_one_loss_per_voxel() {
    let d = data();
    assert_nll_cases(
        &d.x5,
        Target::indices(d.t5.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::None, &[1, 2, 1, 2], &[0.16, 1.12, -2.04, -2.67]),
            (Reduction::Mean, &[], &[-0.8574999999999999]),
        ],
    );
    let weighted = nll64(&d.x5, &d.t5, &nll_opts(Reduction::Mean).weight(d.w.view())).unwrap();
    assert_close(&weighted, &[], &[-1.8068235294117645]);
}

// torch 2.13.0:
//   F.nll_loss(X4, T4, weight=W.reshape(1, 3), reduction='mean') -> 0.6736241610738255
//   F.nll_loss(X4, T4, weight=W, reduction='mean')               -> 0.6736241610738255
// (the 2-D path rejects a [1, 3] weight; the spatial path only counts its elements)
#[test]
fn spatial_path_accepts_a_weight_of_any_shape_with_c_elements() {
    let d = data();
    let w13 = d.w.clone().into_shape_with_order(IxDyn(&[1, 3])).unwrap();
    let out = nll64(&d.x4, &d.t4, &nll_opts(Reduction::Mean).weight(w13.view())).unwrap();
    assert_close(&out, &[], &[0.6736241610738255]);
    let flat = nll64(&d.x4, &d.t4, &nll_opts(Reduction::Mean).weight(d.w.view())).unwrap();
    assert_close(&flat, &[], &[0.6736241610738255]);
}

// torch 2.13.0:
//   F.nll_loss(X, T.to(torch.uint8), weight=W, reduction='mean') -> 0.57109375
//   F.nll_loss(X, T.to(torch.uint8), reduction='none') -> [1.2, 0.45, 0.15, 1.6]
//   F.nll_loss(X[1], torch.tensor(2, dtype=torch.uint8), reduction='sum') -> 0.45
#[test]
fn byte_targets_work_on_1d_and_2d_inputs() {
    let d = data();
    let t8 = d.t.mapv(|v| v as u8);
    let mean = nll_loss(
        d.x.view(),
        Target::Bytes(t8.view()),
        &nll_opts(Reduction::Mean).weight(d.w.view()),
    )
    .unwrap();
    assert_close(&mean, &[], &[0.57109375]);
    let none = nll_loss(
        d.x.view(),
        Target::Bytes(t8.view()),
        &nll_opts(Reduction::None),
    )
    .unwrap();
    assert_close(&none, &[4], &[1.2, 0.45, 0.15, 1.6]);
    let x1 = d.x.slice(s![1, ..]).to_owned();
    let t0 = arr0(2u8).into_dyn();
    let sum = nll_loss(
        x1.view(),
        Target::Bytes(t0.view()),
        &nll_opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(&sum, &[], &[0.45]);
}

// torch 2.13.0:
//   F.nll_loss(X4, T4.to(torch.uint8), reduction='mean') -> RuntimeError: expected scalar type Long but found Byte
//   F.nll_loss(torch.zeros(2, 3, 4, dtype=D), torch.zeros(2, 4, dtype=torch.uint8)) -> RuntimeError: expected scalar type Long but found Byte
//   F.cross_entropy(X4, T4.to(torch.uint8), reduction='sum') -> RuntimeError: expected scalar type Long but found Byte
#[test]
fn byte_target_on_spatial_input_is_rejected() {
    let d = data();
    let msg = "expected scalar type Long but found Byte";
    let t8 = d.t4.mapv(|v| v as u8);
    assert_err(
        nll_loss(
            d.x4.view(),
            Target::Bytes(t8.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    let x3 = ArrayD::<f64>::zeros(IxDyn(&[2, 3, 4]));
    let t3 = ArrayD::<u8>::zeros(IxDyn(&[2, 4]));
    assert_err(
        nll_loss(
            x3.view(),
            Target::Bytes(t3.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    assert_err(
        cross_entropy(
            d.x4.view(),
            Target::Bytes(t8.view()),
            &ce_opts(Reduction::Sum),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
}

// torch 2.13.0 (E4 = torch.zeros(0, 3, 2, 2, dtype=D), U = torch.zeros(0, 2, 2, dtype=torch.uint8)):
//   F.nll_loss(E4, U, reduction='mean') -> nan
//   F.nll_loss(E4, U, reduction='sum')  -> 0.0
//   F.nll_loss(E4, U, reduction='none') -> RuntimeError: expected scalar type Long but found Byte
#[test]
fn byte_target_on_empty_spatial_input_reduces_without_error() {
    let input = ArrayD::<f64>::zeros(IxDyn(&[0, 3, 2, 2]));
    let target = ArrayD::<u8>::zeros(IxDyn(&[0, 2, 2]));
    assert_nll_cases(
        &input,
        Target::Bytes(target.view()),
        &NllLossOptions::default(),
        &[
            (Reduction::Mean, &[], &[f64::NAN]),
            (Reduction::Sum, &[], &[0.0]),
        ],
    );
    assert_err(
        nll_loss(
            input.view(),
            Target::Bytes(target.view()),
            &nll_opts(Reduction::None),
        ),
        ErrorKind::RuntimeError,
        "expected scalar type Long but found Byte",
    );
}

// gen_t ignores every 4th position, hence every multiple of 16, where libtorch's cascade
// sum would flush its partial sums: it skips the flush at an ignored position, so the
// loss is a plain sequential sum here (the weighted mean's total weight differs if the
// flush is not skipped).
// torch 2.13.0 (float32):
//   F.nll_loss(X32, T32, weight=W32, reduction='mean') -> 0.5026198
//   F.nll_loss(X32, T32, reduction='mean')             -> 0.5017274
//   F.nll_loss(X32, T32, weight=W32, reduction='sum')  -> 32.31122
//   F.nll_loss(X32, T32, weight=W32, reduction='none')[:12]
//     -> [0.0, 0.06963749, 0.046424992, 0.36022353, 0.0, 0.07364952, 0.054449063, 0.37225962, 0.0, 0.07766156, 0.062473137, 0.38429576]
#[test]
fn f32_reductions_are_bit_exact_when_cascade_flushes_are_skipped() {
    let x32 = ArrayD::from_shape_vec(IxDyn(&[300, 3]), gen32(900, 1)).unwrap();
    let t32 = ai(&[300], &gen_t(300));
    let w = w32();
    let run = |options: &NllLossOptions<'_, f32>| {
        nll_loss(x32.view(), Target::indices(t32.view()), options).unwrap()
    };
    let opts = || NllLossOptions::<f32>::default();
    assert_bits(&run(&opts().weight(w.view())), &[], &[0.5026198]);
    assert_bits(&run(&opts()), &[], &[0.5017274]);
    assert_bits(
        &run(&opts().weight(w.view()).reduction(Reduction::Sum)),
        &[],
        &[32.31122],
    );
    let none = run(&opts().weight(w.view()).reduction(Reduction::None));
    assert_eq!(none.shape(), &[300]);
    assert_bits(
        &none.slice(s![..12]).to_owned().into_dyn(),
        &[12],
        &[
            0.0,
            0.06963749,
            0.046424992,
            0.36022353,
            0.0,
            0.07364952,
            0.054449063,
            0.37225962,
            0.0,
            0.07766156,
            0.062473137,
            0.38429576,
        ],
    );
}

// torch 2.13.0 (float32):
//   F.nll_loss(X32s, T32s, weight=W32, reduction='mean') -> 0.5091951
//   F.nll_loss(X32s, T32s, reduction='sum')              -> 113.91674
#[test]
fn f32_spatial_reductions_are_bit_exact_when_cascade_flushes_are_skipped() {
    let x32 = ArrayD::from_shape_vec(IxDyn(&[4, 3, 75]), gen32(900, 2)).unwrap();
    let t32 = ai(&[4, 75], &gen_t(300));
    let w = w32();
    let mean = nll_loss(
        x32.view(),
        Target::indices(t32.view()),
        &NllLossOptions::default().weight(w.view()),
    )
    .unwrap();
    assert_bits(&mean, &[], &[0.5091951]);
    let sum = nll_loss(
        x32.view(),
        Target::indices(t32.view()),
        &NllLossOptions::default().reduction(Reduction::Sum),
    )
    .unwrap();
    assert_bits(&sum, &[], &[113.91674]);
}

// With TM, libtorch's 8-level cascade sum flushes at 16, 32, ...: every value below
// differs in the last bits from a plain sequential float32 sum (checked with numpy).
// torch 2.13.0 (float32):
//   F.nll_loss(X32, TM, weight=W32, reduction='mean') -> 0.49749255
//   F.nll_loss(X32, TM, reduction='mean')             -> 0.4955422
//   F.nll_loss(X32, TM, weight=W32, reduction='sum')  -> 25.58533
//   F.nll_loss(X32, TM, reduction='sum')              -> 89.19759
#[test]
fn f32_cascade_sum_is_bit_exact_on_a_2d_batch() {
    let x32 = ArrayD::from_shape_vec(IxDyn(&[300, 3]), gen32(900, 1)).unwrap();
    let tm = ai(&[300], &gen_t_mixed(300));
    let w = w32();
    let run = |options: &NllLossOptions<'_, f32>| {
        nll_loss(x32.view(), Target::indices(tm.view()), options).unwrap()
    };
    let opts = NllLossOptions::<f32>::default;
    assert_bits(&run(&opts().weight(w.view())), &[], &[0.49749255]);
    assert_bits(&run(&opts()), &[], &[0.4955422]);
    assert_bits(
        &run(&opts().weight(w.view()).reduction(Reduction::Sum)),
        &[],
        &[25.58533],
    );
    assert_bits(&run(&opts().reduction(Reduction::Sum)), &[], &[89.19759]);
}

// torch 2.13.0 (float32):
//   F.nll_loss(X32.reshape(4, 3, 75), TM.reshape(4, 75), weight=W32, reduction='mean') -> 0.51108885
//   F.nll_loss(X32.reshape(4, 3, 75), TM.reshape(4, 75), reduction='sum')              -> 91.92578
#[test]
fn f32_cascade_sum_is_bit_exact_on_a_spatial_batch() {
    let x32 = ArrayD::from_shape_vec(IxDyn(&[4, 3, 75]), gen32(900, 1)).unwrap();
    let tm = ai(&[4, 75], &gen_t_mixed(300));
    let w = w32();
    let mean = nll_loss(
        x32.view(),
        Target::indices(tm.view()),
        &NllLossOptions::default().weight(w.view()),
    )
    .unwrap();
    assert_bits(&mean, &[], &[0.51108885]);
    let sum = nll_loss(
        x32.view(),
        Target::indices(tm.view()),
        &NllLossOptions::default().reduction(Reduction::Sum),
    )
    .unwrap();
    assert_bits(&sum, &[], &[91.92578]);
}

// torch 2.13.0 (float32):
//   F.nll_loss(X4.float(), T4, weight=W.float(), reduction='mean') -> 0.67362416
//   F.nll_loss(X.float(), T, weight=W.float(), ignore_index=1, reduction='mean') -> 1.0483333
#[test]
fn f32_weighted_means_are_bit_exact() {
    let d = data();
    let w = d.w.mapv(|v| v as f32);
    let x4 = d.x4.mapv(|v| v as f32);
    let spatial = nll_loss(
        x4.view(),
        Target::indices(d.t4.view()),
        &NllLossOptions::default().weight(w.view()),
    )
    .unwrap();
    assert_bits(&spatial, &[], &[0.67362416]);
    let x = d.x.mapv(|v| v as f32);
    let flat = nll_loss(
        x.view(),
        Target::indices(d.t.view()),
        &NllLossOptions::default().weight(w.view()).ignore_index(1),
    )
    .unwrap();
    assert_bits(&flat, &[], &[1.0483333]);
}

// torch 2.13.0:
//   F.nll_loss(X, T, weight=W, reduction='mean') -> 0.57109375
//   F.nll_loss(X, T, reduction='none')           -> [1.2, 0.45, 0.15, 1.6]
// Here X is a transposed view of a (3, 4) array, T and W are stride-2 slices.
#[test]
fn nll_reads_non_contiguous_input_target_and_weight() {
    let d = data();
    let xt = contiguous(d.x.t());
    let x = xt.t();
    assert!(!x.is_standard_layout());
    let t_storage = array![0i64, 9, 2, 9, 1, 9, 2, 9];
    let target = t_storage.slice(s![..;2]);
    let w_storage = array![0.2, 9.0, 1.7, 9.0, 0.65, 9.0];
    let weight = w_storage.slice(s![..;2]);
    let mean = nll_loss(
        x.view(),
        Target::indices(target.view()),
        &nll_opts(Reduction::Mean).weight(weight.view()),
    )
    .unwrap();
    assert_close(&mean, &[], &[0.57109375]);
    let none = nll_loss(x, Target::indices(target), &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[4], &[1.2, 0.45, 0.15, 1.6]);
}
