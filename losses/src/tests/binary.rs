// binary_cross_entropy, binary_cross_entropy_with_logits, soft_margin_loss and
// multilabel_soft_margin_loss, forward and gradients: every reduction, with and without
// each weight, broadcasting where PyTorch broadcasts, errors and their order, the
// refusals to differentiate, empty and 0-D tensors, NaN and infinities, large logits
// and margins, f32, a long input, thread-count independence. Besides the preamble's
// tensors, the tests use (in the oracle interpreter, after the preamble):
//
//     E = torch.zeros(0, dtype=D)
//     PB = torch.tensor([[0.9, 0.2, 0.65], [0.05, 0.5, 0.999], [0.3, 0.7, 0.01], [0.45, 0.15, 0.8]], dtype=D)
//     Y = torch.tensor([[1., -1., 1.], [-1., -1., 1.], [1., 1., -1.], [-1., 1., -1.]], dtype=D)
//     B = (Y + 1) / 2
//     XE = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.5], dtype=D)
//     TE = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5], dtype=D)
//     BIG = torch.tensor([20., -20., 88., -88., 89., -89., 100., -100., 1e4, -1e4, math.inf, -math.inf], dtype=D)
//     def gen_p(n, seed):  # probabilities in [0, 1], 0 and 1 included
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return k.astype(np.float32) / np.float32(999.0)
//     def gen_x(n, seed):  # logits in [-8, 8)
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return k.astype(np.float32) / np.float32(62.5) - np.float32(8.0)
//     PL = torch.from_numpy(gen_p(100000, 1)).reshape(400, 250)
//     TL = torch.from_numpy(gen_p(100000, 2)).reshape(400, 250)
//     XL = torch.from_numpy(gen_x(100000, 3)).reshape(400, 250)
//     YL = torch.where(TL > 0.5, 1.0, -1.0)
//     WL = torch.from_numpy(gen_p(250, 4)) + 0.5
//     def bits_hash(t):  # FNV-1a over the float32 bit patterns, row-major
//         h = 0xcbf29ce484222325
//         for b in t.contiguous().view(torch.int32).flatten().tolist():
//             h ^= b & 0xffffffff
//             h = (h * 0x100000001b3) & 0xffffffffffffffff
//         return h
//
// A call that raises in PyTorch is written `expr -> Kind: message`; `rg(t)` stands for
// `t.clone().requires_grad_(True)`, so that autograd's refusals show.

use ndarray::{Array1, ArrayD, IxDyn, arr0, s};

use super::*;

fn pb() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            0.9, 0.2, 0.65, 0.05, 0.5, 0.999, 0.3, 0.7, 0.01, 0.45, 0.15, 0.8,
        ],
    )
}

fn y() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[1., -1., 1., -1., -1., 1., 1., 1., -1., -1., 1., -1.],
    )
}

fn b01() -> ArrayD<f64> {
    y().mapv(|v| (v + 1.0) / 2.0)
}

fn v64(values: &[f64]) -> ArrayD<f64> {
    Array1::from(values.to_vec()).into_dyn()
}

fn f32s(a: &ArrayD<f64>) -> ArrayD<f32> {
    a.mapv(|v| v as f32)
}

fn full(shape: &[usize], value: f64) -> ArrayD<f64> {
    ArrayD::from_elem(IxDyn(shape), value)
}

fn g07() -> ArrayD<f64> {
    arr0(0.7).into_dyn()
}

fn g07_32() -> ArrayD<f32> {
    arr0(0.7f32).into_dyn()
}

fn xe() -> ArrayD<f64> {
    v64(&[0.0, 1.0, 0.0, 1.0, 0.5])
}

fn te() -> ArrayD<f64> {
    v64(&[0.0, 1.0, 1.0, 0.0, 0.5])
}

fn big() -> ArrayD<f64> {
    v64(&[
        20.,
        -20.,
        88.,
        -88.,
        89.,
        -89.,
        100.,
        -100.,
        1e4,
        -1e4,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ])
}

fn bo<'a>(reduction: Reduction) -> BinaryCrossEntropyOptions<'a, f64> {
    BinaryCrossEntropyOptions::default().reduction(reduction)
}

fn lo<'a>(reduction: Reduction) -> BceWithLogitsOptions<'a, f64> {
    BceWithLogitsOptions::default().reduction(reduction)
}

fn so(reduction: Reduction) -> SoftMarginOptions {
    SoftMarginOptions::default().reduction(reduction)
}

fn mo<'a>(reduction: Reduction) -> MultilabelSoftMarginOptions<'a, f64> {
    MultilabelSoftMarginOptions::default().reduction(reduction)
}

/// The header's `gen_p(n, seed)`.
fn gen_p(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104729) % 1000) as f32 / 999.0)
        .collect()
}

/// The header's `gen_x(n, seed)`.
fn gen_x(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104729) % 1000) as f32 / 62.5 - 8.0)
        .collect()
}

fn long(values: Vec<f32>) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(&[400, 250]), values).unwrap()
}

/// The header's `PL`, `TL`, `XL`, `YL` and `WL`.
fn long_inputs() -> [ArrayD<f32>; 5] {
    let t = long(gen_p(100_000, 2));
    let y = t.mapv(|v| if v > 0.5 { 1.0 } else { -1.0 });
    let w = Array1::from_iter(gen_p(250, 4).into_iter().map(|v| v + 0.5)).into_dyn();
    [long(gen_p(100_000, 1)), t, long(gen_x(100_000, 3)), y, w]
}

/// The header's `bits_hash`.
fn bits_hash(a: &ArrayD<f32>) -> u64 {
    a.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The elements `[0, 12345, 99999]` of a long result, row-major.
fn picked32(a: &ArrayD<f32>) -> ArrayD<f32> {
    let v: Vec<f32> = a.iter().copied().collect();
    Array1::from(vec![v[0], v[12345], v[99999]]).into_dyn()
}

/// The call failed with PyTorch's error, and the hint mentions `word`.
#[track_caller]
fn assert_err_hint<T: std::fmt::Debug>(
    result: Result<T, LossError>,
    kind: ErrorKind,
    message: &str,
    word: &str,
) {
    let err = assert_err(result, kind, message);
    assert!(err.hint().contains(word), "hint of {err} lacks {word:?}");
}

/// [`assert_close_f32`], where a NaN expects a NaN and an infinity the same infinity.
#[track_caller]
fn assert_close_f32_special(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let (atol, rtol) = (<f32 as Float>::ATOL, <f32 as Float>::RTOL);
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            (f64::from(a) - f64::from(e)).abs() <= atol + rtol * f64::from(e).abs()
        };
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {actual:?}");
    }
}

// P holds soft targets and exact 0s and 1s.
// torch 2.13.0:
//   F.binary_cross_entropy(PB, P, reduction='none')
//     -> shape [4, 3] [0.7645278888586923, 0.5004024235381879, 0.9879182036580556, 0.3457371923041946, LN_2, 1.3823514560632937, 0.6108643020548934, 0.9497834462097748, 1.8480982759073372, 0.5978370007556204, 1.8971199848858813, 1.6094379124341005]
//   F.binary_cross_entropy(PB, P)
//     -> shape [] [1.015602105602498]
//   F.binary_cross_entropy(PB, P, reduction='sum')
//     -> shape [] [12.187225267229977]
#[test]
fn bce_none_mean_and_sum_are_the_element_losses_their_mean_and_their_sum() {
    let (x, t) = (pb(), data().p);
    let loss = |r| binary_cross_entropy(x.view(), t.view(), &bo(r)).unwrap();
    assert_close(
        &loss(Reduction::None),
        &[4, 3],
        &[
            0.7645278888586923,
            0.5004024235381879,
            0.9879182036580556,
            0.3457371923041946,
            std::f64::consts::LN_2,
            1.3823514560632937,
            0.6108643020548934,
            0.9497834462097748,
            1.8480982759073372,
            0.5978370007556204,
            1.8971199848858813,
            1.6094379124341005,
        ],
    );
    assert_close(&loss(Reduction::Mean), &[], &[1.015602105602498]);
    assert_close(&loss(Reduction::Sum), &[], &[12.187225267229977]);
    // The default options are `mean` without a weight.
    let default = binary_cross_entropy(x.view(), t.view(), &BinaryCrossEntropyOptions::default());
    assert_eq!(default.unwrap(), loss(Reduction::Mean));
}

// Q holds a zero and a negative weight; weights do not change what mean divides by.
// torch 2.13.0:
//   F.binary_cross_entropy(PB, P, weight=Q, reduction='none')
//     -> shape [4, 3] [0.38226394442934614, 0.4503621811843691, 0.2963754610974167, 0.4148846307650335, 0.0, 0.5529405824253175, 0.15271607551372335, 0.2374458615524437, 0.4620245689768343, 1.1956740015112408, -0.9485599924429406, 0.16094379124341007]
//   F.binary_cross_entropy(PB, P, weight=Q)
//     -> shape [] [0.27975592552134954]
//   F.binary_cross_entropy(PB, P, weight=Q, reduction='sum')
//     -> shape [] [3.3570711062561944]
//   F.binary_cross_entropy(PB, P, weight=W, reduction='none')
//     -> shape [4, 3] [0.15290557777173847, 0.8506841200149193, 0.6421468323777362, 0.06914743846083891, 1.178350206951907, 0.8985284464411409, 0.12217286041097869, 1.6146318585566173, 1.2012638793397692, 0.11956740015112409, 3.225103974305998, 1.0461346430821654]
//   F.binary_cross_entropy(PB, P, weight=R.reshape(4, 1))
//     -> shape [] [0.5332254454927413]
//   F.binary_cross_entropy(PB, P, weight=torch.tensor(2.0, dtype=D), reduction='sum')
//     -> shape [] [24.374450534459953]
#[test]
fn bce_weight_multiplies_each_element_and_mean_still_divides_by_the_count() {
    let d = data();
    let (x, t) = (pb(), d.p.clone());
    let with = |r, w: &ArrayD<f64>| {
        binary_cross_entropy(x.view(), t.view(), &bo(r).weight(w.view())).unwrap()
    };
    assert_close(
        &with(Reduction::None, &d.q),
        &[4, 3],
        &[
            0.38226394442934614,
            0.4503621811843691,
            0.2963754610974167,
            0.4148846307650335,
            0.0,
            0.5529405824253175,
            0.15271607551372335,
            0.2374458615524437,
            0.4620245689768343,
            1.1956740015112408,
            -0.9485599924429406,
            0.16094379124341007,
        ],
    );
    assert_close(&with(Reduction::Mean, &d.q), &[], &[0.27975592552134954]);
    assert_close(&with(Reduction::Sum, &d.q), &[], &[3.3570711062561944]);
    // A per-class (3) weight, a per-row (4, 1) one and a 0-D one broadcast.
    assert_close(
        &with(Reduction::None, &d.w),
        &[4, 3],
        &[
            0.15290557777173847,
            0.8506841200149193,
            0.6421468323777362,
            0.06914743846083891,
            1.178350206951907,
            0.8985284464411409,
            0.12217286041097869,
            1.6146318585566173,
            1.2012638793397692,
            0.11956740015112409,
            3.225103974305998,
            1.0461346430821654,
        ],
    );
    let rows = d.r.clone().into_shape_with_order(IxDyn(&[4, 1])).unwrap();
    assert_close(&with(Reduction::Mean, &rows), &[], &[0.5332254454927413]);
    assert_close(
        &with(Reduction::Sum, &arr0(2.0).into_dyn()),
        &[],
        &[24.374450534459953],
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy(XE, TE, reduction='none')
//     -> [0.0, -0.0, 100.0, 100.0, LN_2]
//   F.binary_cross_entropy(XE.float(), TE.float(), reduction='none')  (float32)
//     -> [0.0, -0.0, 100.0, 100.0, LN_2]
#[test]
fn bce_logs_are_clamped_at_minus_100_so_certain_mistakes_cost_100() {
    let loss = binary_cross_entropy(xe().view(), te().view(), &bo(Reduction::None)).unwrap();
    assert_close(
        &loss,
        &[5],
        &[0.0, -0.0, 100.0, 100.0, std::f64::consts::LN_2],
    );
    // x = 1, t = 1: (1 - 1) * max(log1p(-1), -100) - 1 * log(1) = -0.0, as in PyTorch.
    assert!(loss[1].is_sign_negative());
    let loss32 = binary_cross_entropy(
        f32s(&xe()).view(),
        f32s(&te()).view(),
        &BinaryCrossEntropyOptions::default().reduction(Reduction::None),
    )
    .unwrap();
    assert_bits(
        &loss32,
        &[5],
        &[0.0, -0.0, 100.0, 100.0, std::f32::consts::LN_2],
    );
}

// The input gradient divides by max((1 - x) * x, 1e-12), with 1e-12 a C++ float
// (9.99999996e-13 in f64); the target gradient is -logit(x), unclamped.
// torch 2.13.0:
//   grad(lambda x: F.binary_cross_entropy(x, TE, reduction='none'), XE, 1.0)
//     -> [0.0, 0.0, -1000000003995.8029, 1000000003995.8029, 0.0]
//   grad(lambda t: F.binary_cross_entropy(XE, t, reduction='none'), TE, 1.0)
//     -> [INFINITY, NEG_INFINITY, INFINITY, NEG_INFINITY, -0.0]
#[test]
fn bce_gradients_at_zero_and_one_are_about_1e12_for_the_input_and_infinite_for_the_target() {
    let g = full(&[5], 1.0);
    let dx =
        binary_cross_entropy_backward(g.view(), xe().view(), te().view(), &bo(Reduction::None));
    assert_close(
        &dx.unwrap(),
        &[5],
        &[0.0, 0.0, -1000000003995.8029, 1000000003995.8029, 0.0],
    );
    let dt = binary_cross_entropy_target_backward(
        g.view(),
        xe().view(),
        te().view(),
        &bo(Reduction::None),
    );
    let dt = dt.unwrap();
    assert_close(
        &dt,
        &[5],
        &[
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
        ],
    );
    assert!(dt[4].is_sign_negative());
}

// torch 2.13.0:
//   grad(lambda x: F.binary_cross_entropy(x, P, reduction='none'), PB, GZ)
//     -> shape [4, 3] [1.9555555555555568, 0.0, 4.665934065934067, 1.3578947368421053, -1.1039999999999999, 201.19119119119094, -0.0, -0.43809523809523804, 78.39393939393939, -4.181818181818181, 17.666666666666664, 8.050000000000002]
//   grad(lambda x: F.binary_cross_entropy(x, P), PB, 0.7)
//     -> shape [4, 3] [0.12962962962962968, 0.0, 0.14102564102564105, -0.06140350877192982, 0.09333333333333332, 11.619953286619939, 0.0, 0.11111111111111109, -2.2979797979797976, 0.10606060606060606, -0.38888888888888884, 0.2916666666666667]
//   grad(lambda x: F.binary_cross_entropy(x, P, reduction='sum'), PB, 0.7)
//     -> shape [4, 3] [1.5555555555555562, 0.0, 1.6923076923076925, -0.7368421052631579, 1.1199999999999999, 139.43943943943927, 0.0, 1.333333333333333, -27.57575757575757, 1.2727272727272727, -4.666666666666666, 3.5]
//   grad(lambda x: F.binary_cross_entropy(x, P, weight=Q), PB, 0.7)
//     -> shape [4, 3] [0.06481481481481484, 0.0, 0.04230769230769232, -0.07368421052631578, 0.0, 4.647981314647976, 0.0, 0.027777777777777773, -0.5744949494949494, 0.21212121212121213, 0.19444444444444442, 0.02916666666666667]
//   grad(lambda x: F.binary_cross_entropy(x, P, weight=W, reduction='none'), PB, GZ)
//     -> shape [4, 3] [0.3911111111111114, 0.0, 3.032857142857144, 0.2715789473684211, -1.8767999999999998, 130.77427427427412, -0.0, -0.7447619047619046, 50.9560606060606, -0.8363636363636362, 30.033333333333328, 5.232500000000002]
#[test]
fn bce_input_gradient_per_reduction_with_and_without_weights() {
    let d = data();
    let (x, t) = (pb(), d.p.clone());
    let dx = |g: &ArrayD<f64>, o: &BinaryCrossEntropyOptions<'_, f64>| {
        binary_cross_entropy_backward(g.view(), x.view(), t.view(), o).unwrap()
    };
    assert_close(
        &dx(&d.gz, &bo(Reduction::None)),
        &[4, 3],
        &[
            1.9555555555555568,
            0.0,
            4.665934065934067,
            1.3578947368421053,
            -1.1039999999999999,
            201.19119119119094,
            -0.0,
            -0.43809523809523804,
            78.39393939393939,
            -4.181818181818181,
            17.666666666666664,
            8.050000000000002,
        ],
    );
    assert_close(
        &dx(&g07(), &bo(Reduction::Mean)),
        &[4, 3],
        &[
            0.12962962962962968,
            0.0,
            0.14102564102564105,
            -0.06140350877192982,
            0.09333333333333332,
            11.619953286619939,
            0.0,
            0.11111111111111109,
            -2.2979797979797976,
            0.10606060606060606,
            -0.38888888888888884,
            0.2916666666666667,
        ],
    );
    assert_close(
        &dx(&g07(), &bo(Reduction::Sum)),
        &[4, 3],
        &[
            1.5555555555555562,
            0.0,
            1.6923076923076925,
            -0.7368421052631579,
            1.1199999999999999,
            139.43943943943927,
            0.0,
            1.333333333333333,
            -27.57575757575757,
            1.2727272727272727,
            -4.666666666666666,
            3.5,
        ],
    );
    assert_close(
        &dx(&g07(), &bo(Reduction::Mean).weight(d.q.view())),
        &[4, 3],
        &[
            0.06481481481481484,
            0.0,
            0.04230769230769232,
            -0.07368421052631578,
            0.0,
            4.647981314647976,
            0.0,
            0.027777777777777773,
            -0.5744949494949494,
            0.21212121212121213,
            0.19444444444444442,
            0.02916666666666667,
        ],
    );
    assert_close(
        &dx(&d.gz, &bo(Reduction::None).weight(d.w.view())),
        &[4, 3],
        &[
            0.3911111111111114,
            0.0,
            3.032857142857144,
            0.2715789473684211,
            -1.8767999999999998,
            130.77427427427412,
            -0.0,
            -0.7447619047619046,
            50.9560606060606,
            -0.8363636363636362,
            30.033333333333328,
            5.232500000000002,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda t: F.binary_cross_entropy(PB, t, reduction='none'), P, GZ)
//     -> shape [4, 3] [-1.9335576280558733, 4.103431308914876, -1.1947456722240115, -3.798326283124708, 0.0, -6.975822326435039, -2.4232718807074023, 0.1948785078890568, -9.144288501767834, -0.46154259956294785, -4.596692796778481, -2.2319339214030243]
//   grad(lambda t: F.binary_cross_entropy(PB, t), P, 0.7)
//     -> shape [4, 3] [-0.12817143367794612, 0.08086717106532694, -0.036110620490363045, 0.17175894045137566, -0.0, -0.40289402875449887, 0.049425708522586875, -0.04942570852258687, 0.2680486579245177, 0.011705790568625488, 0.10118506156430619, -0.08086717106532695]
//   grad(lambda t: F.binary_cross_entropy(PB, t, reduction='sum'), P, 0.7)
//     -> shape [4, 3] [-1.5380572041353535, 0.9704060527839233, -0.4333274458843565, 2.061107285416508, -0.0, -4.834728345053986, 0.5931085022710425, -0.5931085022710424, 3.2165838950942125, 0.14046948682350585, 1.2142207387716744, -0.9704060527839234]
//   grad(lambda t: F.binary_cross_entropy(PB, t, weight=W), P, 0.7)
//     -> shape [4, 3] [-0.025634286735589224, 0.1374741908110558, -0.02347190331873598, 0.034351788090275136, -0.0, -0.26188111869042424, 0.009885141704517375, -0.08402370448839767, 0.1742316276509365, 0.0023411581137250978, 0.17201460465932053, -0.05256366119246252]
#[test]
fn bce_target_gradient_per_reduction_with_and_without_weights() {
    let d = data();
    let (x, t) = (pb(), d.p.clone());
    let dt = |g: &ArrayD<f64>, o: &BinaryCrossEntropyOptions<'_, f64>| {
        binary_cross_entropy_target_backward(g.view(), x.view(), t.view(), o).unwrap()
    };
    assert_close(
        &dt(&d.gz, &bo(Reduction::None)),
        &[4, 3],
        &[
            -1.9335576280558733,
            4.103431308914876,
            -1.1947456722240115,
            -3.798326283124708,
            0.0,
            -6.975822326435039,
            -2.4232718807074023,
            0.1948785078890568,
            -9.144288501767834,
            -0.46154259956294785,
            -4.596692796778481,
            -2.2319339214030243,
        ],
    );
    assert_close(
        &dt(&g07(), &bo(Reduction::Mean)),
        &[4, 3],
        &[
            -0.12817143367794612,
            0.08086717106532694,
            -0.036110620490363045,
            0.17175894045137566,
            -0.0,
            -0.40289402875449887,
            0.049425708522586875,
            -0.04942570852258687,
            0.2680486579245177,
            0.011705790568625488,
            0.10118506156430619,
            -0.08086717106532695,
        ],
    );
    assert_close(
        &dt(&g07(), &bo(Reduction::Sum)),
        &[4, 3],
        &[
            -1.5380572041353535,
            0.9704060527839233,
            -0.4333274458843565,
            2.061107285416508,
            -0.0,
            -4.834728345053986,
            0.5931085022710425,
            -0.5931085022710424,
            3.2165838950942125,
            0.14046948682350585,
            1.2142207387716744,
            -0.9704060527839234,
        ],
    );
    assert_close(
        &dt(&g07(), &bo(Reduction::Mean).weight(d.w.view())),
        &[4, 3],
        &[
            -0.025634286735589224,
            0.1374741908110558,
            -0.02347190331873598,
            0.034351788090275136,
            -0.0,
            -0.26188111869042424,
            0.009885141704517375,
            -0.08402370448839767,
            0.1742316276509365,
            0.0023411581137250978,
            0.17201460465932053,
            -0.05256366119246252,
        ],
    );
}

// The element losses use the same libm log and log1p as libtorch's scalar kernel, and the
// input gradient is basic arithmetic: both are bit for bit PyTorch's.
// torch 2.13.0:
//   F.binary_cross_entropy(PB.float(), P.float(), reduction='none')  (float32)
//     -> shape [4, 3] [0.7645279, 0.50040245, 0.98791814, 0.34573722, LN_2, 1.3823539, 0.61086434, 0.94978344, 1.8480983, 0.597837, 1.89712, 1.609438]
//   F.binary_cross_entropy(PB.float(), P.float(), weight=Q.float(), reduction='none')  (float32)
//     -> shape [4, 3] [0.38226396, 0.4503622, 0.29637545, 0.4148847, 0.0, 0.55294156, 0.15271609, 0.23744586, 0.46202457, 1.195674, -0.94856, 0.16094379]
//   F.binary_cross_entropy(PB.float(), P.float())  (float32)
//     -> shape [] [1.0156024]
//   grad(lambda x: F.binary_cross_entropy(x, P.float()), PB.float(), 0.7)  (float32)
//     -> shape [4, 3] [0.1296296, 0.0, 0.14102562, -0.06140351, 0.093333334, 11.620103, 0.0, 0.1111111, -2.2979798, 0.1060606, -0.38888887, 0.29166666]
//   grad(lambda t: F.binary_cross_entropy(PB.float(), t, reduction='sum'), P.float(), 0.7)  (float32)
//     -> shape [4, 3] [-1.5380571, 0.97040606, -0.43332738, 2.0611072, -0.0, -4.8347373, 0.5931084, -0.5931085, 3.216584, 0.14046954, 1.2142206, -0.9704061]
#[test]
fn bce_f32_losses_and_gradients_are_torchs_bits() {
    let (x, t, q) = (f32s(&pb()), f32s(&data().p), f32s(&data().q));
    let o = |r| BinaryCrossEntropyOptions::default().reduction(r);
    assert_bits(
        &binary_cross_entropy(x.view(), t.view(), &o(Reduction::None)).unwrap(),
        &[4, 3],
        &[
            0.7645279,
            0.50040245,
            0.98791814,
            0.34573722,
            std::f32::consts::LN_2,
            1.3823539,
            0.61086434,
            0.94978344,
            1.8480983,
            0.597837,
            1.89712,
            1.609438,
        ],
    );
    let weighted = o(Reduction::None).weight(q.view());
    assert_bits(
        &binary_cross_entropy(x.view(), t.view(), &weighted).unwrap(),
        &[4, 3],
        &[
            0.38226396, 0.4503622, 0.29637545, 0.4148847, 0.0, 0.55294156, 0.15271609, 0.23744586,
            0.46202457, 1.195674, -0.94856, 0.16094379,
        ],
    );
    assert_close_f32(
        &binary_cross_entropy(x.view(), t.view(), &o(Reduction::Mean)).unwrap(),
        &[],
        &[1.0156024],
    );
    let dx =
        binary_cross_entropy_backward(g07_32().view(), x.view(), t.view(), &o(Reduction::Mean))
            .unwrap();
    assert_bits(
        &dx,
        &[4, 3],
        &[
            0.1296296,
            0.0,
            0.14102562,
            -0.06140351,
            0.093333334,
            11.620103,
            0.0,
            0.1111111,
            -2.2979798,
            0.1060606,
            -0.38888887,
            0.29166666,
        ],
    );
    let dt = binary_cross_entropy_target_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Sum),
    )
    .unwrap();
    assert_close_f32(
        &dt,
        &[4, 3],
        &[
            -1.5380571,
            0.97040606,
            -0.43332738,
            2.0611072,
            -0.0,
            -4.8347373,
            0.5931084,
            -0.5931085,
            3.216584,
            0.14046954,
            1.2142206,
            -0.9704061,
        ],
    );
}

// An (N, 1) input against an (N) target: BCE does not broadcast, it raises.
// torch 2.13.0:
//   F.binary_cross_entropy(PB[:, :1], P[:, 0])
//     -> ValueError: Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])) is deprecated. Please ensure they have the same size.
//   F.binary_cross_entropy(PB, P.reshape(12))
//     -> ValueError: Using a target size (torch.Size([12])) that is different to the input size (torch.Size([4, 3])) is deprecated. Please ensure they have the same size.
//   F.binary_cross_entropy(torch.tensor(0.5, dtype=D), torch.tensor([1.0], dtype=D))
//     -> ValueError: Using a target size (torch.Size([1])) that is different to the input size (torch.Size([])) is deprecated. Please ensure they have the same size.
//   F.binary_cross_entropy(PB[:, :1], P[:, 0], reduction='none')
//     -> ValueError: Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])) is deprecated. Please ensure they have the same size.
//   F.binary_cross_entropy(PB[:, :1], P[:, 0], reduction='none')
//     -> ValueError: Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])) is deprecated. Please ensure they have the same size.
#[test]
fn bce_a_target_of_another_shape_is_a_value_error_even_when_it_would_broadcast() {
    let (x, t) = (pb(), data().p);
    let column = contiguous(x.slice(s![.., ..1]));
    let first = contiguous(t.slice(s![.., 0]));
    assert_err_hint(
        binary_cross_entropy(column.view(), first.view(), &bo(Reduction::Mean)),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])) is deprecated. Please ensure they have the same size.",
        "squeeze",
    );
    let flat = t.clone().into_shape_with_order(IxDyn(&[12])).unwrap();
    assert_err(
        binary_cross_entropy(x.view(), flat.view(), &bo(Reduction::Mean)),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([12])) that is different to the input size (torch.Size([4, 3])) is deprecated. Please ensure they have the same size.",
    );
    let scalar = arr0(0.5).into_dyn();
    assert_err(
        binary_cross_entropy(scalar.view(), v64(&[1.0]).view(), &bo(Reduction::Mean)),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([1])) that is different to the input size (torch.Size([])) is deprecated. Please ensure they have the same size.",
    );
    // The backwards make the forward's checks first.
    let g = full(&[4, 1], 1.0);
    assert_err(
        binary_cross_entropy_backward(g.view(), column.view(), first.view(), &bo(Reduction::None)),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])) is deprecated. Please ensure they have the same size.",
    );
    assert_err(
        binary_cross_entropy_target_backward(
            g.view(),
            column.view(),
            first.view(),
            &bo(Reduction::None),
        ),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])) is deprecated. Please ensure they have the same size.",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy(PB, P, weight=torch.zeros(2, 3, dtype=D))
//     -> RuntimeError: Attempting to broadcast a dimension of length 2 at -2! Mismatching argument at index 1 had torch.Size([2, 3]); but expected shape should be broadcastable to [4, 3]
//   F.binary_cross_entropy(PB, P, weight=torch.zeros(4, dtype=D))
//     -> RuntimeError: Attempting to broadcast a dimension of length 4 at -1! Mismatching argument at index 1 had torch.Size([4]); but expected shape should be broadcastable to [4, 3]
//   F.binary_cross_entropy(PB, P, weight=torch.zeros(5, 1, dtype=D))
//     -> RuntimeError: Attempting to broadcast a dimension of length 5 at -2! Mismatching argument at index 1 had torch.Size([5, 1]); but expected shape should be broadcastable to [4, 3]
//   F.binary_cross_entropy(torch.full((3, 1), 0.5, dtype=D), torch.full((3, 1), 0.5, dtype=D), weight=torch.zeros(4, 5, dtype=D))
//     -> RuntimeError: Attempting to broadcast a dimension of length 4 at -2! Mismatching argument at index 1 had torch.Size([4, 5]); but expected shape should be broadcastable to [3, 5]
#[test]
fn bce_a_weight_that_does_not_broadcast_to_the_target_is_broadcast_shapes_error() {
    let (x, t) = (pb(), data().p);
    let call = |w: &ArrayD<f64>| {
        binary_cross_entropy(x.view(), t.view(), &bo(Reduction::Mean).weight(w.view()))
    };
    assert_err(
        call(&zeros64(&[2, 3])),
        ErrorKind::RuntimeError,
        "Attempting to broadcast a dimension of length 2 at -2! Mismatching argument at index 1 had torch.Size([2, 3]); but expected shape should be broadcastable to [4, 3]",
    );
    assert_err(
        call(&zeros64(&[4])),
        ErrorKind::RuntimeError,
        "Attempting to broadcast a dimension of length 4 at -1! Mismatching argument at index 1 had torch.Size([4]); but expected shape should be broadcastable to [4, 3]",
    );
    assert_err(
        call(&zeros64(&[5, 1])),
        ErrorKind::RuntimeError,
        "Attempting to broadcast a dimension of length 5 at -2! Mismatching argument at index 1 had torch.Size([5, 1]); but expected shape should be broadcastable to [4, 3]",
    );
    // The message shows the common shape as built when the mismatch is found: here the
    // weight's 5 has already replaced the target's 1.
    let (x31, t31) = (full(&[3, 1], 0.5), full(&[3, 1], 0.5));
    let w45 = zeros64(&[4, 5]);
    assert_err(
        binary_cross_entropy(
            x31.view(),
            t31.view(),
            &bo(Reduction::Mean).weight(w45.view()),
        ),
        ErrorKind::RuntimeError,
        "Attempting to broadcast a dimension of length 4 at -2! Mismatching argument at index 1 had torch.Size([4, 5]); but expected shape should be broadcastable to [3, 5]",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy(PB, P, weight=torch.zeros(2, 4, 3, dtype=D))
//     -> RuntimeError: output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]
//   F.binary_cross_entropy(torch.tensor(0.5, dtype=D), torch.tensor(0.5, dtype=D), weight=torch.zeros(1, dtype=D), reduction='none')
//     -> RuntimeError: output with shape [] doesn't match the broadcast shape [1]
#[test]
fn bce_a_weight_that_would_enlarge_the_loss_is_the_in_place_error() {
    let (x, t) = (pb(), data().p);
    let w = zeros64(&[2, 4, 3]);
    assert_err_hint(
        binary_cross_entropy(x.view(), t.view(), &bo(Reduction::Mean).weight(w.view())),
        ErrorKind::RuntimeError,
        "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]",
        "larger than the input",
    );
    let (x0, t0) = (arr0(0.5).into_dyn(), arr0(0.5).into_dyn());
    let w1 = zeros64(&[1]);
    assert_err(
        binary_cross_entropy(x0.view(), t0.view(), &bo(Reduction::None).weight(w1.view())),
        ErrorKind::RuntimeError,
        "output with shape [] doesn't match the broadcast shape [1]",
    );
}

// torch.where(...) puts a NaN at [2, 1].
// torch 2.13.0:
//   F.binary_cross_entropy(Z, P)
//     -> RuntimeError: all elements of input should be between 0 and 1
//   F.binary_cross_entropy(PB, Y)
//     -> RuntimeError: all elements of target should be between 0 and 1
//   F.binary_cross_entropy(torch.where(torch.arange(12).reshape(4, 3) == 7, math.nan, PB), P)
//     -> RuntimeError: all elements of input should be between 0 and 1
//   F.binary_cross_entropy(torch.tensor([1.0000001], dtype=D), torch.tensor([1.0], dtype=D))
//     -> RuntimeError: all elements of input should be between 0 and 1
#[test]
fn bce_values_outside_zero_one_are_runtime_errors_input_first() {
    let d = data();
    let mean = bo(Reduction::Mean);
    // Logits instead of probabilities; labels in {-1, 1}; a NaN.
    assert_err_hint(
        binary_cross_entropy(d.z.view(), d.p.view(), &mean),
        ErrorKind::RuntimeError,
        "all elements of input should be between 0 and 1",
        "binary_cross_entropy_with_logits",
    );
    assert_err_hint(
        binary_cross_entropy(pb().view(), y().view(), &mean),
        ErrorKind::RuntimeError,
        "all elements of target should be between 0 and 1",
        "{-1, 1}",
    );
    let mut nan = pb();
    nan[[2, 1]] = f64::NAN;
    assert_err_hint(
        binary_cross_entropy(nan.view(), d.p.view(), &mean),
        ErrorKind::RuntimeError,
        "all elements of input should be between 0 and 1",
        "NaN",
    );
    // An input just above 1.
    let above = v64(&[1.0000001]);
    assert_err(
        binary_cross_entropy(above.view(), v64(&[1.0]).view(), &mean),
        ErrorKind::RuntimeError,
        "all elements of input should be between 0 and 1",
    );
}

// (In PyTorch this order is the memory order of its iterator, and on inputs of more than
// 32768 elements with several threads whichever thread fails first.)
// torch 2.13.0:
//   F.binary_cross_entropy(torch.tensor([0.5, 2.0], dtype=D), torch.tensor([2.0, 0.5], dtype=D))
//     -> RuntimeError: all elements of target should be between 0 and 1
//   F.binary_cross_entropy(torch.tensor([0.5, 2.0], dtype=D), torch.tensor([0.5, 2.0], dtype=D))
//     -> RuntimeError: all elements of input should be between 0 and 1
#[test]
fn bce_the_first_bad_element_in_row_major_order_decides_which_error() {
    let mean = bo(Reduction::Mean);
    // Input bad at element 1, target at element 0: the target's error.
    let (x, t) = (v64(&[0.5, 2.0]), v64(&[2.0, 0.5]));
    assert_err(
        binary_cross_entropy(x.view(), t.view(), &mean),
        ErrorKind::RuntimeError,
        "all elements of target should be between 0 and 1",
    );
    // Both bad at one element: the input's.
    let (x, t) = (v64(&[0.5, 2.0]), v64(&[0.5, 2.0]));
    assert_err(
        binary_cross_entropy(x.view(), t.view(), &mean),
        ErrorKind::RuntimeError,
        "all elements of input should be between 0 and 1",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy(PB, P.reshape(12), weight=torch.zeros(2, 3, dtype=D))
//     -> ValueError: Using a target size (torch.Size([12])) that is different to the input size (torch.Size([4, 3])) is deprecated. Please ensure they have the same size.
//   F.binary_cross_entropy(Z, P, weight=torch.zeros(2, 3, dtype=D))
//     -> RuntimeError: Attempting to broadcast a dimension of length 2 at -2! Mismatching argument at index 1 had torch.Size([2, 3]); but expected shape should be broadcastable to [4, 3]
//   F.binary_cross_entropy(Z, P, weight=torch.zeros(2, 4, 3, dtype=D))
//     -> RuntimeError: all elements of input should be between 0 and 1
#[test]
fn bce_checks_run_in_pytorchs_order() {
    let (x, t) = (pb(), data().p);
    let w_bad = zeros64(&[2, 3]);
    let w_big = zeros64(&[2, 4, 3]);
    let flat = t.clone().into_shape_with_order(IxDyn(&[12])).unwrap();
    // The size check (Python) before the weight's broadcast (Python).
    assert_err(
        binary_cross_entropy(
            x.view(),
            flat.view(),
            &bo(Reduction::Mean).weight(w_bad.view()),
        ),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([12])) that is different to the input size (torch.Size([4, 3])) is deprecated. Please ensure they have the same size.",
    );
    // The weight's broadcast before the values.
    let logits = data().z;
    assert_err(
        binary_cross_entropy(
            logits.view(),
            t.view(),
            &bo(Reduction::Mean).weight(w_bad.view()),
        ),
        ErrorKind::RuntimeError,
        "Attempting to broadcast a dimension of length 2 at -2! Mismatching argument at index 1 had torch.Size([2, 3]); but expected shape should be broadcastable to [4, 3]",
    );
    // The values before the in-place weight error.
    assert_err(
        binary_cross_entropy(
            logits.view(),
            t.view(),
            &bo(Reduction::Mean).weight(w_big.view()),
        ),
        ErrorKind::RuntimeError,
        "all elements of input should be between 0 and 1",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy(E, E)
//     -> shape [] [NAN]
//   F.binary_cross_entropy(E, E, reduction='sum')
//     -> shape [] [0.0]
//   F.binary_cross_entropy(torch.tensor(0.3, dtype=D), torch.tensor(1.0, dtype=D), reduction='none')
//     -> shape [] [1.2039728043259361]
//   grad(lambda x: F.binary_cross_entropy(x, torch.tensor(1.0, dtype=D), reduction='none'), torch.tensor(0.3, dtype=D), 2.0)
//     -> shape [] [-6.666666666666666]
#[test]
fn bce_empty_and_zero_dim_inputs() {
    let e = zeros64(&[0]);
    assert_close(
        &binary_cross_entropy(e.view(), e.view(), &bo(Reduction::Mean)).unwrap(),
        &[],
        &[f64::NAN],
    );
    assert_close(
        &binary_cross_entropy(e.view(), e.view(), &bo(Reduction::Sum)).unwrap(),
        &[],
        &[0.0],
    );
    let e2 = zeros64(&[0, 2]);
    assert_eq!(
        binary_cross_entropy(e2.view(), e2.view(), &bo(Reduction::None))
            .unwrap()
            .shape(),
        &[0, 2]
    );
    let g = zeros64(&[0, 2]);
    assert_eq!(
        binary_cross_entropy_backward(g.view(), e2.view(), e2.view(), &bo(Reduction::None))
            .unwrap()
            .shape(),
        &[0, 2]
    );
    let (x, t) = (arr0(0.3).into_dyn(), arr0(1.0).into_dyn());
    assert_close(
        &binary_cross_entropy(x.view(), t.view(), &bo(Reduction::None)).unwrap(),
        &[],
        &[1.2039728043259361],
    );
    let dx =
        binary_cross_entropy_backward(arr0(2.0).view(), x.view(), t.view(), &bo(Reduction::None));
    assert_close(&dx.unwrap(), &[], &[-6.666666666666666]);
}

// torch 2.13.0:
//   ag(lambda x: F.binary_cross_entropy(x, P, reduction='none'), PB, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
//   ag(lambda x: F.binary_cross_entropy(x, P), PB, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([]).
#[test]
fn bce_grad_output_not_of_the_outputs_shape_is_autograds_mismatch_error() {
    let (x, t) = (pb(), data().p);
    let g3 = full(&[3], 1.0);
    assert_err(
        binary_cross_entropy_backward(g3.view(), x.view(), t.view(), &bo(Reduction::None)),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_err(
        binary_cross_entropy_target_backward(g3.view(), x.view(), t.view(), &bo(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([]).",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy(PB, P, weight=rg(Q))
//     -> RuntimeError: The function 'binary_cross_entropy' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   F.binary_cross_entropy(Z, P, weight=rg(torch.zeros(2, 4, 3, dtype=D)))
//     -> RuntimeError: The function 'binary_cross_entropy' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   F.binary_cross_entropy(PB, P, weight=rg(torch.zeros(2, 3, dtype=D)))
//     -> RuntimeError: Attempting to broadcast a dimension of length 2 at -2! Mismatching argument at index 1 had torch.Size([2, 3]); but expected shape should be broadcastable to [4, 3]
//   F.binary_cross_entropy(PB, P.reshape(12), weight=rg(Q))
//     -> ValueError: Using a target size (torch.Size([12])) that is different to the input size (torch.Size([4, 3])) is deprecated. Please ensure they have the same size.
#[test]
fn bce_weight_gradient_is_pytorchs_refusal_after_the_python_checks() {
    let d = data();
    let (x, t) = (pb(), d.p.clone());
    let g = g07();
    let refused = binary_cross_entropy_weight_backward(
        g.view(),
        x.view(),
        t.view(),
        &bo(Reduction::Mean).weight(d.q.view()),
    );
    assert_err_hint(
        refused,
        ErrorKind::RuntimeError,
        "The function 'binary_cross_entropy' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.",
        "weight",
    );
    // The refusal comes before the values' check and the in-place error...
    let w_big = zeros64(&[2, 4, 3]);
    assert_err(
        binary_cross_entropy_weight_backward(
            g.view(),
            d.z.view(),
            t.view(),
            &bo(Reduction::Mean).weight(w_big.view()),
        ),
        ErrorKind::RuntimeError,
        "The function 'binary_cross_entropy' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.",
    );
    // ... and after the Python checks.
    let w_bad = zeros64(&[2, 3]);
    assert_err(
        binary_cross_entropy_weight_backward(
            g.view(),
            x.view(),
            t.view(),
            &bo(Reduction::Mean).weight(w_bad.view()),
        ),
        ErrorKind::RuntimeError,
        "Attempting to broadcast a dimension of length 2 at -2! Mismatching argument at index 1 had torch.Size([2, 3]); but expected shape should be broadcastable to [4, 3]",
    );
    let flat = t.clone().into_shape_with_order(IxDyn(&[12])).unwrap();
    assert_err(
        binary_cross_entropy_weight_backward(
            g.view(),
            x.view(),
            flat.view(),
            &bo(Reduction::Mean).weight(d.q.view()),
        ),
        ErrorKind::ValueError,
        "Using a target size (torch.Size([12])) that is different to the input size (torch.Size([4, 3])) is deprecated. Please ensure they have the same size.",
    );
}

// The element losses and the input gradient are compared bit for bit, through a hash.
// torch 2.13.0:
//   bits_hash(F.binary_cross_entropy(PL, TL, reduction='none'))
//     -> 8482540670770421053
//   F.binary_cross_entropy(PL, TL)  (float32)
//     -> shape [] [1.1792461]
//   F.binary_cross_entropy(PL, TL, weight=WL, reduction='sum')  (float32)
//     -> shape [] [115942.93]
//   bits_hash(grad(lambda x: F.binary_cross_entropy(x, TL), PL, 0.7))
//     -> 13695860270864049653
//   grad(lambda t: F.binary_cross_entropy(PL, t, reduction='sum'), TL, 0.7).flatten()[[0, 12345, 99999]]  (float32)
//     -> [-0.69527614, -0.9056397, -1.0187011]
#[test]
fn bce_a_100000_element_input_matches_torch() {
    let [p, t, _, _, w] = long_inputs();
    let o = |r| BinaryCrossEntropyOptions::default().reduction(r);
    let none = binary_cross_entropy(p.view(), t.view(), &o(Reduction::None)).unwrap();
    assert_eq!(bits_hash(&none), 8482540670770421053);
    assert_close_f32(
        &binary_cross_entropy(p.view(), t.view(), &o(Reduction::Mean)).unwrap(),
        &[],
        &[1.1792461],
    );
    assert_close_f32(
        &binary_cross_entropy(p.view(), t.view(), &o(Reduction::Sum).weight(w.view())).unwrap(),
        &[],
        &[115942.93],
    );
    let dx =
        binary_cross_entropy_backward(g07_32().view(), p.view(), t.view(), &o(Reduction::Mean))
            .unwrap();
    assert_eq!(bits_hash(&dx), 13695860270864049653);
    let dt = binary_cross_entropy_target_backward(
        g07_32().view(),
        p.view(),
        t.view(),
        &o(Reduction::Sum),
    )
    .unwrap();
    assert_close_f32(&picked32(&dt), &[3], &[-0.69527614, -0.9056397, -1.0187011]);
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z, P, reduction='none')
//     -> shape [4, 3] [1.0394758145579899, 0.5346153638083944, 1.1572736303037976, 0.33074805671413365, 0.787185018950592, 1.0160110926729273, 0.8632670736825043, 0.701347167228034, 1.1721901814631084, 0.5130152523999526, 2.6530404062434645, 0.08198078313049617]
//   F.binary_cross_entropy_with_logits(Z, P)
//     -> shape [] [0.9041791534296162]
//   F.binary_cross_entropy_with_logits(Z, P, reduction='sum')
//     -> shape [] [10.850149841155394]
#[test]
fn bce_with_logits_none_mean_and_sum() {
    let d = data();
    let loss = |r| binary_cross_entropy_with_logits(d.z.view(), d.p.view(), &lo(r)).unwrap();
    assert_close(
        &loss(Reduction::None),
        &[4, 3],
        &[
            1.0394758145579899,
            0.5346153638083944,
            1.1572736303037976,
            0.33074805671413365,
            0.787185018950592,
            1.0160110926729273,
            0.8632670736825043,
            0.701347167228034,
            1.1721901814631084,
            0.5130152523999526,
            2.6530404062434645,
            0.08198078313049617,
        ],
    );
    assert_close(&loss(Reduction::Mean), &[], &[0.9041791534296162]);
    assert_close(&loss(Reduction::Sum), &[], &[10.850149841155394]);
    let default =
        binary_cross_entropy_with_logits(d.z.view(), d.p.view(), &BceWithLogitsOptions::default());
    assert_eq!(default.unwrap(), loss(Reduction::Mean));
}

// pos_weight (3) is one weight per class (the last dimension); R holds a negative one.
// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z, P, weight=Q, reduction='none')
//     -> shape [4, 3] [0.5197379072789949, 0.4811538274275549, 0.3471820890911393, 0.39689766805696036, 0.0, 0.40640443706917095, 0.21581676842062608, 0.1753367918070085, 0.2930475453657771, 1.0260305047999052, -1.3265202031217322, 0.008198078313049617]
//   F.binary_cross_entropy_with_logits(Z, P, weight=W)
//     -> shape [] [0.8938889134986212]
//   F.binary_cross_entropy_with_logits(Z, P, pos_weight=W, reduction='none')
//     -> shape [4, 3] [0.2792893584055156, 0.8435415147415692, 1.1454340532431646, 0.11924821217700288, 0.8284279702771333, 0.6861679867245076, 0.2108829759987032, 0.8427500723459211, 0.7745635560582731, 0.5130152523999526, 4.51016869061389, 0.08198078313049617]
//   F.binary_cross_entropy_with_logits(Z, P, pos_weight=R.reshape(4, 1), reduction='sum')
//     -> shape [] [7.689002902257905]
//   F.binary_cross_entropy_with_logits(Z, P, weight=Q, pos_weight=W)
//     -> shape [] [0.07468505805433835]
#[test]
fn bce_with_logits_weight_and_pos_weight_broadcast_to_the_input() {
    let d = data();
    let rows = d.r.clone().into_shape_with_order(IxDyn(&[4, 1])).unwrap();
    let call = |o: BceWithLogitsOptions<'_, f64>| {
        binary_cross_entropy_with_logits(d.z.view(), d.p.view(), &o).unwrap()
    };
    assert_close(
        &call(lo(Reduction::None).weight(d.q.view())),
        &[4, 3],
        &[
            0.5197379072789949,
            0.4811538274275549,
            0.3471820890911393,
            0.39689766805696036,
            0.0,
            0.40640443706917095,
            0.21581676842062608,
            0.1753367918070085,
            0.2930475453657771,
            1.0260305047999052,
            -1.3265202031217322,
            0.008198078313049617,
        ],
    );
    assert_close(
        &call(lo(Reduction::Mean).weight(d.w.view())),
        &[],
        &[0.8938889134986212],
    );
    assert_close(
        &call(lo(Reduction::None).pos_weight(d.w.view())),
        &[4, 3],
        &[
            0.2792893584055156,
            0.8435415147415692,
            1.1454340532431646,
            0.11924821217700288,
            0.8284279702771333,
            0.6861679867245076,
            0.2108829759987032,
            0.8427500723459211,
            0.7745635560582731,
            0.5130152523999526,
            4.51016869061389,
            0.08198078313049617,
        ],
    );
    assert_close(
        &call(lo(Reduction::Sum).pos_weight(rows.view())),
        &[],
        &[7.689002902257905],
    );
    assert_close(
        &call(
            lo(Reduction::Mean)
                .weight(d.q.view())
                .pos_weight(d.w.view()),
        ),
        &[],
        &[0.07468505805433835],
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(BIG, torch.zeros(12, dtype=D), reduction='none')
//     -> [20.000000002061153, 2.061153026033935e-09, 88.0, 0.0, 89.0, 0.0, 100.0, 0.0, 10000.0, 0.0, INFINITY, NAN]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, torch.zeros(12, dtype=D), reduction='none'), BIG, 1.0)
//     -> [0.9999999979388463, 2.0611536181902037e-09, 1.0, 6.054601895401186e-39, 1.0, 2.2273635617957434e-39, 1.0, 3.7200759760208356e-44, 1.0, 0.0, 1.0, 0.0]
//   F.binary_cross_entropy_with_logits(BIG, torch.ones(12, dtype=D), reduction='none')
//     -> [2.061153620314381e-09, 20.000000002061153, 6.054601895401186e-39, 88.0, 2.2273635617957438e-39, 89.0, 3.720075976020836e-44, 100.0, 0.0, 10000.0, NAN, NAN]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, torch.ones(12, dtype=D), reduction='none'), BIG, 1.0)
//     -> [-2.06115369216775e-09, -0.9999999979388464, 0.0, -1.0, 0.0, -1.0, 0.0, -1.0, 0.0, -1.0, 0.0, -1.0]
//   F.binary_cross_entropy_with_logits(BIG, torch.full((12,), 0.5, dtype=D), reduction='none')
//     -> [10.000000002061153, 10.000000002061153, 44.0, 44.0, 44.5, 44.5, 50.0, 50.0, 5000.0, 5000.0, INFINITY, NAN]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, torch.full((12,), 0.5, dtype=D), reduction='none'), BIG, 1.0)
//     -> [0.4999999979388463, -0.49999999793884636, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]
//   F.binary_cross_entropy_with_logits(BIG.float(), torch.ones(12), reduction='none')  (float32)
//     -> [2.0611537e-09, 20.0, 6.054601e-39, 88.0, 2.227364e-39, 89.0, 3.9e-44, 100.0, 0.0, 10000.0, NAN, NAN]
#[test]
fn bce_with_logits_large_logits_do_not_overflow_and_infinite_ones_give_pytorchs_nans() {
    let x = big();
    for (t, f) in [(0.0, 0usize), (1.0, 1), (0.5, 2)] {
        let target = full(&[12], t);
        let loss = binary_cross_entropy_with_logits(x.view(), target.view(), &lo(Reduction::None))
            .unwrap();
        let dx = binary_cross_entropy_with_logits_backward(
            full(&[12], 1.0).view(),
            x.view(),
            target.view(),
            &lo(Reduction::None),
        )
        .unwrap();
        let (want, want_dx): (&[f64], &[f64]) = match f {
            0 => (
                &[
                    20.000000002061153,
                    2.061153026033935e-09,
                    88.0,
                    0.0,
                    89.0,
                    0.0,
                    100.0,
                    0.0,
                    10000.0,
                    0.0,
                    f64::INFINITY,
                    f64::NAN,
                ],
                &[
                    0.9999999979388463,
                    2.0611536181902037e-09,
                    1.0,
                    6.054601895401186e-39,
                    1.0,
                    2.2273635617957434e-39,
                    1.0,
                    3.7200759760208356e-44,
                    1.0,
                    0.0,
                    1.0,
                    0.0,
                ],
            ),
            1 => (
                &[
                    2.061153620314381e-09,
                    20.000000002061153,
                    6.054601895401186e-39,
                    88.0,
                    2.2273635617957438e-39,
                    89.0,
                    3.720075976020836e-44,
                    100.0,
                    0.0,
                    10000.0,
                    f64::NAN,
                    f64::NAN,
                ],
                &[
                    -2.06115369216775e-09,
                    -0.9999999979388464,
                    0.0,
                    -1.0,
                    0.0,
                    -1.0,
                    0.0,
                    -1.0,
                    0.0,
                    -1.0,
                    0.0,
                    -1.0,
                ],
            ),
            _ => (
                &[
                    10.000000002061153,
                    10.000000002061153,
                    44.0,
                    44.0,
                    44.5,
                    44.5,
                    50.0,
                    50.0,
                    5000.0,
                    5000.0,
                    f64::INFINITY,
                    f64::NAN,
                ],
                &[
                    0.4999999979388463,
                    -0.49999999793884636,
                    0.5,
                    -0.5,
                    0.5,
                    -0.5,
                    0.5,
                    -0.5,
                    0.5,
                    -0.5,
                    0.5,
                    -0.5,
                ],
            ),
        };
        assert_close(&loss, &[12], want);
        assert_close(&dx, &[12], want_dx);
    }
    let loss32 = binary_cross_entropy_with_logits(
        f32s(&x).view(),
        f32s(&full(&[12], 1.0)).view(),
        &BceWithLogitsOptions::default().reduction(Reduction::None),
    )
    .unwrap();
    assert_close_f32_special(
        &loss32,
        &[12],
        &[
            2.0611537e-09,
            20.0,
            6.054601e-39,
            88.0,
            2.227364e-39,
            89.0,
            3.9e-44,
            100.0,
            0.0,
            10000.0,
            f32::NAN,
            f32::NAN,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P, reduction='none'), Z, GZ)
//     -> shape [4, 3] [-0.3895676798663635, -0.2661851798869911, 1.1830903141119036, 0.03728834773126954, -0.3137976722239782, -0.49703059934480615, 0.6692714328551143, -0.04829969338239208, 0.6797550344706315, -0.9230183817413603, 2.4633426631340347, 0.12672364284456172]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P), Z, 0.7)
//     -> shape [4, 3] [-0.02582361514265667, -0.005245766495520657, 0.035758342827216426, -0.0016861655950832475, 0.02652878871458753, -0.028706387750937645, -0.013650641113012237, 0.012249922234664657, -0.019925817593360217, 0.023409886493440297, -0.05422452403125233, 0.004591436334947888]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [-0.30988338171188, -0.06294919794624788, 0.42910011392659714, -0.02023398714099897, 0.31834546457505036, -0.34447665301125174, -0.16380769335614684, 0.14699906681597588, -0.23910981112032262, 0.2809186379212836, -0.650694288375028, 0.055097236019374655]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P, weight=Q, reduction='none'), Z, GZ)
//     -> shape [4, 3] [-0.19478383993318174, -0.23956666189829198, 0.35492709423357105, 0.04474601727752344, -0.0, -0.19881223973792247, 0.16731785821377856, -0.01207492334559802, 0.16993875861765786, -1.8460367634827206, -1.2316713315670174, 0.012672364284456172]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P, pos_weight=W), Z, 0.7)
//     -> shape [4, 3] [-0.0015623906627689357, -0.012513507138226883, 0.03634430082826384, 0.002648727652523412, 0.024710803924608647, -0.01740193251400844, -0.0005744872458893002, 0.006247405903944232, -0.012236203130289787, 0.023409886493440297, -0.09218169085312895, 0.004591436334947888]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P, weight=Q, pos_weight=W, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [-0.009374343976613615, -0.13514587709285034, 0.13083948298174983, 0.03814167819633713, 0.0, -0.0835292760672405, -0.0017234617376679004, 0.018742217711832695, -0.03670860939086936, 0.5618372758425672, 0.5530901451187737, 0.005509723601937466]
#[test]
fn bce_with_logits_input_gradient_per_reduction_and_weights() {
    let d = data();
    let dx = |g: &ArrayD<f64>, o: BceWithLogitsOptions<'_, f64>| {
        binary_cross_entropy_with_logits_backward(g.view(), d.z.view(), d.p.view(), &o).unwrap()
    };
    assert_close(
        &dx(&d.gz, lo(Reduction::None)),
        &[4, 3],
        &[
            -0.3895676798663635,
            -0.2661851798869911,
            1.1830903141119036,
            0.03728834773126954,
            -0.3137976722239782,
            -0.49703059934480615,
            0.6692714328551143,
            -0.04829969338239208,
            0.6797550344706315,
            -0.9230183817413603,
            2.4633426631340347,
            0.12672364284456172,
        ],
    );
    assert_close(
        &dx(&g07(), lo(Reduction::Mean)),
        &[4, 3],
        &[
            -0.02582361514265667,
            -0.005245766495520657,
            0.035758342827216426,
            -0.0016861655950832475,
            0.02652878871458753,
            -0.028706387750937645,
            -0.013650641113012237,
            0.012249922234664657,
            -0.019925817593360217,
            0.023409886493440297,
            -0.05422452403125233,
            0.004591436334947888,
        ],
    );
    assert_close(
        &dx(&g07(), lo(Reduction::Sum)),
        &[4, 3],
        &[
            -0.30988338171188,
            -0.06294919794624788,
            0.42910011392659714,
            -0.02023398714099897,
            0.31834546457505036,
            -0.34447665301125174,
            -0.16380769335614684,
            0.14699906681597588,
            -0.23910981112032262,
            0.2809186379212836,
            -0.650694288375028,
            0.055097236019374655,
        ],
    );
    assert_close(
        &dx(&d.gz, lo(Reduction::None).weight(d.q.view())),
        &[4, 3],
        &[
            -0.19478383993318174,
            -0.23956666189829198,
            0.35492709423357105,
            0.04474601727752344,
            -0.0,
            -0.19881223973792247,
            0.16731785821377856,
            -0.01207492334559802,
            0.16993875861765786,
            -1.8460367634827206,
            -1.2316713315670174,
            0.012672364284456172,
        ],
    );
    assert_close(
        &dx(&g07(), lo(Reduction::Mean).pos_weight(d.w.view())),
        &[4, 3],
        &[
            -0.0015623906627689357,
            -0.012513507138226883,
            0.03634430082826384,
            0.002648727652523412,
            0.024710803924608647,
            -0.01740193251400844,
            -0.0005744872458893002,
            0.006247405903944232,
            -0.012236203130289787,
            0.023409886493440297,
            -0.09218169085312895,
            0.004591436334947888,
        ],
    );
    assert_close(
        &dx(
            &g07(),
            lo(Reduction::Sum).weight(d.q.view()).pos_weight(d.w.view()),
        ),
        &[4, 3],
        &[
            -0.009374343976613615,
            -0.13514587709285034,
            0.13083948298174983,
            0.03814167819633713,
            0.0,
            -0.0835292760672405,
            -0.0017234617376679004,
            0.018742217711832695,
            -0.03670860939086936,
            0.5618372758425672,
            0.5530901451187737,
            0.005509723601937466,
        ],
    );
}

// Without pos_weight the target gradient is -x * g exactly.
// torch 2.13.0:
//   grad(lambda t: F.binary_cross_entropy_with_logits(Z, t, reduction='none'), P, GZ)
//     -> shape [4, 3] [0.9328000000000001, 6.1864, -1.7563, -3.3152999999999997, 0.1518, 0.8181, -7.579, 0.0092, -5.5322, -0.9199999999999999, -6.837, 3.9606000000000003]
//   grad(lambda t: F.binary_cross_entropy_with_logits(Z, t), P, 0.7)
//     -> shape [4, 3] [0.06183333333333333, 0.12191666666666666, -0.05308333333333334, 0.14991666666666664, -0.012833333333333334, 0.04724999999999999, 0.15458333333333332, -0.002333333333333333, 0.16216666666666665, 0.02333333333333333, 0.1505, 0.1435]
//   grad(lambda t: F.binary_cross_entropy_with_logits(Z, t, weight=Q, reduction='sum'), P, 0.7)
//     -> shape [4, 3] [0.371, 1.3167, -0.1911, 2.1587999999999994, -0.0, 0.2268, 0.46374999999999994, -0.006999999999999999, 0.48649999999999993, 0.5599999999999999, -0.9029999999999999, 0.17220000000000002]
//   grad(lambda t: F.binary_cross_entropy_with_logits(Z, t, pos_weight=W, reduction='none'), P, GZ)
//     -> shape [4, 3] [-0.022862973448824927, 10.758507033810991, -1.9848038372702153, -0.5869520054710143, -0.13277636415313598, 0.4016730787401204, -1.359604935414431, -0.09920889392371346, -3.554007538610945, 0.7599480644159127, -11.758389953581627, 2.528193828705965]
//   grad(lambda t: F.binary_cross_entropy_with_logits(Z, t, weight=Q, pos_weight=W), P, 0.7)
//     -> shape [4, 3] [-0.0007577690063530988, 0.19081811461995846, -0.01799692598561076, 0.03185010882400852, 0.0, 0.00927957607650443, 0.006932717473704122, 0.006290418998786179, 0.026044862615448718, -0.03854809022399557, -0.12941624162747073, 0.009160122567775236]
#[test]
fn bce_with_logits_target_gradient_per_reduction_and_weights() {
    let d = data();
    let dt = |g: &ArrayD<f64>, o: BceWithLogitsOptions<'_, f64>| {
        binary_cross_entropy_with_logits_target_backward(g.view(), d.z.view(), d.p.view(), &o)
            .unwrap()
    };
    assert_close(
        &dt(&d.gz, lo(Reduction::None)),
        &[4, 3],
        &[
            0.9328000000000001,
            6.1864,
            -1.7563,
            -3.3152999999999997,
            0.1518,
            0.8181,
            -7.579,
            0.0092,
            -5.5322,
            -0.9199999999999999,
            -6.837,
            3.9606000000000003,
        ],
    );
    assert_close(
        &dt(&g07(), lo(Reduction::Mean)),
        &[4, 3],
        &[
            0.06183333333333333,
            0.12191666666666666,
            -0.05308333333333334,
            0.14991666666666664,
            -0.012833333333333334,
            0.04724999999999999,
            0.15458333333333332,
            -0.002333333333333333,
            0.16216666666666665,
            0.02333333333333333,
            0.1505,
            0.1435,
        ],
    );
    assert_close(
        &dt(&g07(), lo(Reduction::Sum).weight(d.q.view())),
        &[4, 3],
        &[
            0.371,
            1.3167,
            -0.1911,
            2.1587999999999994,
            -0.0,
            0.2268,
            0.46374999999999994,
            -0.006999999999999999,
            0.48649999999999993,
            0.5599999999999999,
            -0.9029999999999999,
            0.17220000000000002,
        ],
    );
    assert_close(
        &dt(&d.gz, lo(Reduction::None).pos_weight(d.w.view())),
        &[4, 3],
        &[
            -0.022862973448824927,
            10.758507033810991,
            -1.9848038372702153,
            -0.5869520054710143,
            -0.13277636415313598,
            0.4016730787401204,
            -1.359604935414431,
            -0.09920889392371346,
            -3.554007538610945,
            0.7599480644159127,
            -11.758389953581627,
            2.528193828705965,
        ],
    );
    assert_close(
        &dt(
            &g07(),
            lo(Reduction::Mean)
                .weight(d.q.view())
                .pos_weight(d.w.view()),
        ),
        &[4, 3],
        &[
            -0.0007577690063530988,
            0.19081811461995846,
            -0.01799692598561076,
            0.03185010882400852,
            0.0,
            0.00927957607650443,
            0.006932717473704122,
            0.006290418998786179,
            0.026044862615448718,
            -0.03854809022399557,
            -0.12941624162747073,
            0.009160122567775236,
        ],
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z[:, :1], P[:, 0])
//     -> ValueError: Target size (torch.Size([4])) must be the same as input size (torch.Size([4, 1]))
//   F.binary_cross_entropy_with_logits(torch.tensor(0.5, dtype=D), torch.tensor([1.0], dtype=D))
//     -> ValueError: Target size (torch.Size([1])) must be the same as input size (torch.Size([]))
//   F.binary_cross_entropy_with_logits(Z[:, :1], P[:, 0], reduction='none')
//     -> ValueError: Target size (torch.Size([4])) must be the same as input size (torch.Size([4, 1]))
//   F.binary_cross_entropy_with_logits(Z[:, :1], P[:, 0], reduction='none')
//     -> ValueError: Target size (torch.Size([4])) must be the same as input size (torch.Size([4, 1]))
#[test]
fn bce_with_logits_target_size_must_equal_the_input_size() {
    let d = data();
    let column = contiguous(d.z.slice(s![.., ..1]));
    let first = contiguous(d.p.slice(s![.., 0]));
    assert_err_hint(
        binary_cross_entropy_with_logits(column.view(), first.view(), &lo(Reduction::Mean)),
        ErrorKind::ValueError,
        "Target size (torch.Size([4])) must be the same as input size (torch.Size([4, 1]))",
        "squeeze",
    );
    let scalar = arr0(0.5).into_dyn();
    assert_err(
        binary_cross_entropy_with_logits(scalar.view(), v64(&[1.0]).view(), &lo(Reduction::Mean)),
        ErrorKind::ValueError,
        "Target size (torch.Size([1])) must be the same as input size (torch.Size([]))",
    );
    let g = full(&[4, 1], 1.0);
    assert_err(
        binary_cross_entropy_with_logits_backward(
            g.view(),
            column.view(),
            first.view(),
            &lo(Reduction::None),
        ),
        ErrorKind::ValueError,
        "Target size (torch.Size([4])) must be the same as input size (torch.Size([4, 1]))",
    );
    assert_err(
        binary_cross_entropy_with_logits_target_backward(
            g.view(),
            column.view(),
            first.view(),
            &lo(Reduction::None),
        ),
        ErrorKind::ValueError,
        "Target size (torch.Size([4])) must be the same as input size (torch.Size([4, 1]))",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z, P, pos_weight=torch.zeros(4, dtype=D))
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1
//   F.binary_cross_entropy_with_logits(Z, P, pos_weight=torch.zeros(2, 4, 3, dtype=D))
//     -> RuntimeError: output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]
//   F.binary_cross_entropy_with_logits(Z, P, weight=torch.zeros(4, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1
//   F.binary_cross_entropy_with_logits(Z, P, weight=torch.zeros(2, 4, 3, dtype=D))
//     -> RuntimeError: output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]
//   F.binary_cross_entropy_with_logits(Z, P, weight=torch.zeros(4, dtype=D), pos_weight=torch.zeros(2, 4, 3, dtype=D))
//     -> RuntimeError: output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]
//   F.binary_cross_entropy_with_logits(torch.zeros(3, dtype=D), torch.zeros(3, dtype=D), pos_weight=torch.zeros(3, 1, dtype=D))
//     -> RuntimeError: output with shape [3] doesn't match the broadcast shape [3, 3]
//   F.binary_cross_entropy_with_logits(Z, P.reshape(12), pos_weight=torch.zeros(4, dtype=D))
//     -> ValueError: Target size (torch.Size([12])) must be the same as input size (torch.Size([4, 3]))
#[test]
fn bce_with_logits_weights_that_do_not_fit_are_broadcast_or_in_place_errors_pos_weight_first() {
    let d = data();
    let call = |o: BceWithLogitsOptions<'_, f64>| {
        binary_cross_entropy_with_logits(d.z.view(), d.p.view(), &o)
    };
    let (w4, w243, w31) = (zeros64(&[4]), zeros64(&[2, 4, 3]), zeros64(&[3, 1]));
    assert_err_hint(
        call(lo(Reduction::Mean).pos_weight(w4.view())),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1",
        "one weight per class",
    );
    assert_err(
        call(lo(Reduction::Mean).pos_weight(w243.view())),
        ErrorKind::RuntimeError,
        "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]",
    );
    assert_err(
        call(lo(Reduction::Mean).weight(w4.view())),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
    assert_err(
        call(lo(Reduction::Mean).weight(w243.view())),
        ErrorKind::RuntimeError,
        "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]",
    );
    // pos_weight is checked before weight.
    assert_err(
        call(
            lo(Reduction::Mean)
                .weight(w4.view())
                .pos_weight(w243.view()),
        ),
        ErrorKind::RuntimeError,
        "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]",
    );
    // A (3, 1) pos_weight against a (3) target would enlarge the loss to (3, 3).
    let (x3, t3) = (zeros64(&[3]), zeros64(&[3]));
    assert_err(
        binary_cross_entropy_with_logits(
            x3.view(),
            t3.view(),
            &lo(Reduction::Mean).pos_weight(w31.view()),
        ),
        ErrorKind::RuntimeError,
        "output with shape [3] doesn't match the broadcast shape [3, 3]",
    );
    // The target's size (Python) comes first.
    let flat = d.p.clone().into_shape_with_order(IxDyn(&[12])).unwrap();
    assert_err(
        binary_cross_entropy_with_logits(
            d.z.view(),
            flat.view(),
            &lo(Reduction::Mean).pos_weight(w4.view()),
        ),
        ErrorKind::ValueError,
        "Target size (torch.Size([12])) must be the same as input size (torch.Size([4, 3]))",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z, P, weight=rg(Q), pos_weight=rg(W))
//     -> RuntimeError: The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   F.binary_cross_entropy_with_logits(Z, P, weight=Q, pos_weight=rg(W))
//     -> RuntimeError: The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument 'pos_weight'. This input cannot have requires_grad True.
//   F.binary_cross_entropy_with_logits(Z, P, weight=rg(torch.zeros(4, dtype=D)))
//     -> RuntimeError: The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   F.binary_cross_entropy_with_logits(Z, P.reshape(12), pos_weight=rg(W))
//     -> ValueError: Target size (torch.Size([12])) must be the same as input size (torch.Size([4, 3]))
#[test]
fn bce_with_logits_weight_and_pos_weight_gradients_are_pytorchs_refusals() {
    let d = data();
    let g = g07();
    let o = lo(Reduction::Mean)
        .weight(d.q.view())
        .pos_weight(d.w.view());
    assert_err(
        binary_cross_entropy_with_logits_weight_backward(g.view(), d.z.view(), d.p.view(), &o),
        ErrorKind::RuntimeError,
        "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.",
    );
    assert_err_hint(
        binary_cross_entropy_with_logits_pos_weight_backward(g.view(), d.z.view(), d.p.view(), &o),
        ErrorKind::RuntimeError,
        "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument 'pos_weight'. This input cannot have requires_grad True.",
        "pos_weight",
    );
    // Before aten's broadcast checks, after Python's size check.
    let w4 = zeros64(&[4]);
    assert_err(
        binary_cross_entropy_with_logits_weight_backward(
            g.view(),
            d.z.view(),
            d.p.view(),
            &lo(Reduction::Mean).weight(w4.view()),
        ),
        ErrorKind::RuntimeError,
        "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.",
    );
    let flat = d.p.clone().into_shape_with_order(IxDyn(&[12])).unwrap();
    assert_err(
        binary_cross_entropy_with_logits_pos_weight_backward(g.view(), d.z.view(), flat.view(), &o),
        ErrorKind::ValueError,
        "Target size (torch.Size([12])) must be the same as input size (torch.Size([4, 3]))",
    );
}

// Targets in {-1, 1} where {0, 1} is meant: no error, and some element losses are negative.
// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z, Y, reduction='none')
//     -> shape [4, 3] [1.35747581455799, -1.9733846361916054, 0.33827363030379753, -2.4962519432858663, 1.029185018950592, 1.1780110926729273, 2.718267073682504, 0.673347167228034, -2.7198098185368913, 0.11301525239995258, 2.6530404062434645, -2.378019216869504]
//   F.binary_cross_entropy_with_logits(Z, Y)
//     -> shape [] [0.04109582009628299]
#[test]
fn bce_with_logits_given_minus_one_plus_one_labels_computes_without_complaint() {
    let d = data();
    let loss =
        binary_cross_entropy_with_logits(d.z.view(), y().view(), &lo(Reduction::None)).unwrap();
    assert_close(
        &loss,
        &[4, 3],
        &[
            1.35747581455799,
            -1.9733846361916054,
            0.33827363030379753,
            -2.4962519432858663,
            1.029185018950592,
            1.1780110926729273,
            2.718267073682504,
            0.673347167228034,
            -2.7198098185368913,
            0.11301525239995258,
            2.6530404062434645,
            -2.378019216869504,
        ],
    );
    assert!(
        loss.iter().any(|&v| v < 0.0),
        "negative losses betray {{-1, 1}} labels"
    );
    assert_close(
        &binary_cross_entropy_with_logits(d.z.view(), y().view(), &lo(Reduction::Mean)).unwrap(),
        &[],
        &[0.04109582009628299],
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(E, E)
//     -> shape [] [NAN]
//   F.binary_cross_entropy_with_logits(E, E, reduction='sum')
//     -> shape [] [0.0]
//   F.binary_cross_entropy_with_logits(E, E, weight=torch.zeros(1, dtype=D))
//     -> shape [] [NAN]
//   F.binary_cross_entropy_with_logits(torch.tensor(-1.5, dtype=D), torch.tensor(0.25, dtype=D), reduction='none')
//     -> shape [] [0.5764132779827524]
//   ag(lambda x: F.binary_cross_entropy_with_logits(x, P, reduction='none'), Z, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
#[test]
fn bce_with_logits_empty_and_zero_dim_inputs_and_grad_output_shape() {
    let e = zeros64(&[0]);
    assert_close(
        &binary_cross_entropy_with_logits(e.view(), e.view(), &lo(Reduction::Mean)).unwrap(),
        &[],
        &[f64::NAN],
    );
    assert_close(
        &binary_cross_entropy_with_logits(e.view(), e.view(), &lo(Reduction::Sum)).unwrap(),
        &[],
        &[0.0],
    );
    let w1 = zeros64(&[1]);
    assert_close(
        &binary_cross_entropy_with_logits(
            e.view(),
            e.view(),
            &lo(Reduction::Mean).weight(w1.view()),
        )
        .unwrap(),
        &[],
        &[f64::NAN],
    );
    let (x, t) = (arr0(-1.5).into_dyn(), arr0(0.25).into_dyn());
    assert_close(
        &binary_cross_entropy_with_logits(x.view(), t.view(), &lo(Reduction::None)).unwrap(),
        &[],
        &[0.5764132779827524],
    );
    let d = data();
    let g3 = full(&[3], 1.0);
    assert_err(
        binary_cross_entropy_with_logits_backward(
            g3.view(),
            d.z.view(),
            d.p.view(),
            &lo(Reduction::None),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(Z.float(), P.float(), pos_weight=W.float(), reduction='none')  (float32)
//     -> shape [4, 3] [0.27928934, 0.8435414, 1.145434, 0.11924839, 0.828428, 0.68616796, 0.21088314, 0.84275013, 0.77456343, 0.5130153, 4.510169, 0.081980705]
//   F.binary_cross_entropy_with_logits(Z.float(), P.float(), weight=Q.float())  (float32)
//     -> shape [] [0.21194045]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, P.float(), pos_weight=W.float()), Z.float(), 0.7)  (float32)
//     -> shape [4, 3] [-0.0015623906, -0.012513507, 0.0363443, 0.0026487277, 0.024710799, -0.017401932, -0.0005744879, 0.006247407, -0.012236201, 0.023409886, -0.09218169, 0.004591436]
//   grad(lambda t: F.binary_cross_entropy_with_logits(Z.float(), t, pos_weight=W.float(), reduction='sum'), P.float(), 0.7)  (float32)
//     -> shape [4, 3] [-0.018186476, 2.5442414, -0.719877, 0.3185011, 0.13470067, 0.27838722, 0.33277047, 0.30194014, 1.2501533, -0.23128854, 3.10599, 1.0992146]
#[test]
fn bce_with_logits_f32_matches_torch_within_tolerance() {
    let d = data();
    let (x, t, q, w) = (f32s(&d.z), f32s(&d.p), f32s(&d.q), f32s(&d.w));
    let o = |r| BceWithLogitsOptions::default().reduction(r);
    assert_close_f32(
        &binary_cross_entropy_with_logits(
            x.view(),
            t.view(),
            &o(Reduction::None).pos_weight(w.view()),
        )
        .unwrap(),
        &[4, 3],
        &[
            0.27928934,
            0.8435414,
            1.145434,
            0.11924839,
            0.828428,
            0.68616796,
            0.21088314,
            0.84275013,
            0.77456343,
            0.5130153,
            4.510169,
            0.081980705,
        ],
    );
    assert_close_f32(
        &binary_cross_entropy_with_logits(x.view(), t.view(), &o(Reduction::Mean).weight(q.view()))
            .unwrap(),
        &[],
        &[0.21194045],
    );
    let dx = binary_cross_entropy_with_logits_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Mean).pos_weight(w.view()),
    )
    .unwrap();
    assert_close_f32(
        &dx,
        &[4, 3],
        &[
            -0.0015623906,
            -0.012513507,
            0.0363443,
            0.0026487277,
            0.024710799,
            -0.017401932,
            -0.0005744879,
            0.006247407,
            -0.012236201,
            0.023409886,
            -0.09218169,
            0.004591436,
        ],
    );
    let dt = binary_cross_entropy_with_logits_target_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Sum).pos_weight(w.view()),
    )
    .unwrap();
    assert_close_f32(
        &dt,
        &[4, 3],
        &[
            -0.018186476,
            2.5442414,
            -0.719877,
            0.3185011,
            0.13470067,
            0.27838722,
            0.33277047,
            0.30194014,
            1.2501533,
            -0.23128854,
            3.10599,
            1.0992146,
        ],
    );
}

// torch 2.13.0:
//   F.binary_cross_entropy_with_logits(XL, TL)  (float32)
//     -> shape [] [2.350155]
//   F.binary_cross_entropy_with_logits(XL, TL, pos_weight=WL, reduction='sum')  (float32)
//     -> shape [] [234349.14]
//   F.binary_cross_entropy_with_logits(XL, TL, weight=WL, reduction='none').flatten()[[0, 12345, 99999]]  (float32)
//     -> [3.2626233, 1.5403628, 2.529067]
//   grad(lambda x: F.binary_cross_entropy_with_logits(x, TL), XL, 0.7).flatten()[[0, 12345, 99999]]  (float32)
//     -> [-3.16273e-06, -3.483578e-06, -3.609854e-06]
#[test]
fn bce_with_logits_a_100000_element_input_matches_torch() {
    let [_, t, x, _, w] = long_inputs();
    let o = |r| BceWithLogitsOptions::default().reduction(r);
    assert_close_f32(
        &binary_cross_entropy_with_logits(x.view(), t.view(), &o(Reduction::Mean)).unwrap(),
        &[],
        &[2.350155],
    );
    assert_close_f32(
        &binary_cross_entropy_with_logits(
            x.view(),
            t.view(),
            &o(Reduction::Sum).pos_weight(w.view()),
        )
        .unwrap(),
        &[],
        &[234349.14],
    );
    let none =
        binary_cross_entropy_with_logits(x.view(), t.view(), &o(Reduction::None).weight(w.view()))
            .unwrap();
    assert_close_f32(&picked32(&none), &[3], &[3.2626233, 1.5403628, 2.529067]);
    let dx = binary_cross_entropy_with_logits_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Mean),
    )
    .unwrap();
    assert_close_f32(
        &picked32(&dx),
        &[3],
        &[-3.16273e-06, -3.483578e-06, -3.609854e-06],
    );
}

// torch 2.13.0:
//   F.soft_margin_loss(Z, Y, reduction='none')
//     -> shape [4, 3] [1.35747581455799, 0.1166153638083943, 0.33827363030379753, 0.07374805671413343, 0.8091850189505919, 1.1780110926729273, 2.7182670736825036, 0.673347167228034, 0.06019018146310858, 0.5130152523999526, 2.6530404062434645, 0.08198078313049634]
//   F.soft_margin_loss(Z, Y)
//     -> shape [] [0.8810958200962827]
//   F.soft_margin_loss(Z, Y, reduction='sum')
//     -> shape [] [10.573149841155393]
#[test]
fn soft_margin_none_mean_and_sum() {
    let d = data();
    let loss = |r| soft_margin_loss(d.z.view(), y().view(), &so(r)).unwrap();
    assert_close(
        &loss(Reduction::None),
        &[4, 3],
        &[
            1.35747581455799,
            0.1166153638083943,
            0.33827363030379753,
            0.07374805671413343,
            0.8091850189505919,
            1.1780110926729273,
            2.7182670736825036,
            0.673347167228034,
            0.06019018146310858,
            0.5130152523999526,
            2.6530404062434645,
            0.08198078313049634,
        ],
    );
    assert_close(&loss(Reduction::Mean), &[], &[0.8810958200962827]);
    assert_close(&loss(Reduction::Sum), &[], &[10.573149841155393]);
    assert_eq!(
        soft_margin_loss(d.z.view(), y().view(), &SoftMarginOptions::default()).unwrap(),
        loss(Reduction::Mean)
    );
}

// torch 2.13.0:
//   F.soft_margin_loss(Z, Y[0], reduction='none')
//     -> shape [4, 3] [1.35747581455799, 0.1166153638083943, 0.33827363030379753, 2.6437480567141334, 0.8091850189505919, 1.1780110926729273, 2.7182670736825036, 0.713347167228034, 2.8401901814631083, 0.9130152523999526, 0.07304040624346438, 2.541980783130496]
//   F.soft_margin_loss(Z, torch.tensor(-1.0, dtype=D))
//     -> shape [] [0.36859582009628283]
//   grad(lambda x: F.soft_margin_loss(x, Y[0], reduction='none'), Z, GZ)
//     -> shape [4, 3] [-0.6535676798663634, 0.3258148201130089, -0.5539096858880963, 1.1982883477312696, -0.38279767222397815, -0.699030599344806, 2.6712714328551144, -0.11729969338239207, 1.8737550344706313, 1.3769816182586394, -0.18665733686596528, -1.4832763571554384]
//   F.soft_margin_loss(Z[:, :1], Y[:, 0])
//     -> RuntimeError: output with shape [4, 1] doesn't match the broadcast shape [4, 4]
//   F.soft_margin_loss(torch.zeros(1, dtype=D), torch.tensor([1.0, -1.0, 1.0], dtype=D))
//     -> RuntimeError: output with shape [1] doesn't match the broadcast shape [3]
//   F.soft_margin_loss(torch.tensor(0.0, dtype=D), torch.tensor([1.0, -1.0, 1.0], dtype=D))
//     -> RuntimeError: output with shape [] doesn't match the broadcast shape [3]
//   F.soft_margin_loss(Z, torch.ones(5, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1
//   F.soft_margin_loss(Z, torch.ones(5, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1
#[test]
fn soft_margin_target_broadcasts_to_the_input_but_never_beyond() {
    let d = data();
    let row = contiguous(y().slice(s![0, ..]));
    assert_close(
        &soft_margin_loss(d.z.view(), row.view(), &so(Reduction::None)).unwrap(),
        &[4, 3],
        &[
            1.35747581455799,
            0.1166153638083943,
            0.33827363030379753,
            2.6437480567141334,
            0.8091850189505919,
            1.1780110926729273,
            2.7182670736825036,
            0.713347167228034,
            2.8401901814631083,
            0.9130152523999526,
            0.07304040624346438,
            2.541980783130496,
        ],
    );
    let one = arr0(-1.0).into_dyn();
    assert_close(
        &soft_margin_loss(d.z.view(), one.view(), &so(Reduction::Mean)).unwrap(),
        &[],
        &[0.36859582009628283],
    );
    let dx = soft_margin_loss_backward(d.gz.view(), d.z.view(), row.view(), &so(Reduction::None))
        .unwrap();
    assert_close(
        &dx,
        &[4, 3],
        &[
            -0.6535676798663634,
            0.3258148201130089,
            -0.5539096858880963,
            1.1982883477312696,
            -0.38279767222397815,
            -0.699030599344806,
            2.6712714328551144,
            -0.11729969338239207,
            1.8737550344706313,
            1.3769816182586394,
            -0.18665733686596528,
            -1.4832763571554384,
        ],
    );
    // An (N, 1) input and an (N) target: the in-place error, not an (N, N) loss.
    let column = contiguous(d.z.slice(s![.., ..1]));
    let first = contiguous(y().slice(s![.., 0]));
    assert_err_hint(
        soft_margin_loss(column.view(), first.view(), &so(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "output with shape [4, 1] doesn't match the broadcast shape [4, 4]",
        "squeeze",
    );
    let (x1, x0) = (zeros64(&[1]), arr0(0.0).into_dyn());
    assert_err(
        soft_margin_loss(
            x1.view(),
            v64(&[1.0, -1.0, 1.0]).view(),
            &so(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "output with shape [1] doesn't match the broadcast shape [3]",
    );
    assert_err(
        soft_margin_loss(
            x0.view(),
            v64(&[1.0, -1.0, 1.0]).view(),
            &so(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "output with shape [] doesn't match the broadcast shape [3]",
    );
    let t5 = full(&[5], 1.0);
    assert_err(
        soft_margin_loss(d.z.view(), t5.view(), &so(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1",
    );
    assert_err(
        soft_margin_loss_backward(g07().view(), d.z.view(), t5.view(), &so(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (5) at non-singleton dimension 1",
    );
}

// log1p keeps exp(-20) = 2.06e-9; exp(89) overflows float32, so the loss is inf and the
// gradient inf / inf = NaN, as PyTorch's are.
// torch 2.13.0:
//   F.soft_margin_loss(BIG, torch.ones(12, dtype=D), reduction='none')
//     -> [2.061153620314381e-09, 20.000000002061153, 6.054601895401186e-39, 88.0, 2.2273635617957438e-39, 89.0, 3.720075976020836e-44, 100.0, 0.0, INFINITY, 0.0, INFINITY]
//   F.soft_margin_loss(BIG.float(), torch.ones(12), reduction='none')  (float32)
//     -> [2.0611537e-09, 20.0, 6.054601e-39, 88.0, 2.227364e-39, INFINITY, 3.9e-44, INFINITY, 0.0, INFINITY, 0.0, INFINITY]
//   grad(lambda x: F.soft_margin_loss(x, torch.ones(12), reduction='none'), BIG.float(), 1.0)  (float32)
//     -> [-2.0611537e-09, -1.0, -6.054601e-39, -1.0, -2.227364e-39, NAN, -3.8e-44, NAN, -0.0, NAN, -0.0, NAN]
//   F.soft_margin_loss(BIG * 8, torch.ones(12, dtype=D), reduction='none')
//     -> [3.257488532207521e-70, 160.0, 1.8058627513522668e-306, 704.0, 6.05799464199894e-310, INFINITY, 0.0, INFINITY, 0.0, INFINITY, 0.0, INFINITY]
#[test]
fn soft_margin_large_margins_round_and_overflow_as_in_pytorch() {
    let x = big();
    let ones = full(&[12], 1.0);
    assert_close(
        &soft_margin_loss(x.view(), ones.view(), &so(Reduction::None)).unwrap(),
        &[12],
        &[
            2.061153620314381e-09,
            20.000000002061153,
            6.054601895401186e-39,
            88.0,
            2.2273635617957438e-39,
            89.0,
            3.720075976020836e-44,
            100.0,
            0.0,
            f64::INFINITY,
            0.0,
            f64::INFINITY,
        ],
    );
    let x32 = f32s(&x);
    let ones32 = f32s(&ones);
    let o32 = SoftMarginOptions::default().reduction(Reduction::None);
    let loss32 = soft_margin_loss(x32.view(), ones32.view(), &o32).unwrap();
    let want32 = (
        &[12usize] as &[usize],
        &[
            2.0611537e-09,
            20.0,
            6.054601e-39,
            88.0,
            2.227364e-39,
            f32::INFINITY,
            3.9e-44,
            f32::INFINITY,
            0.0,
            f32::INFINITY,
            0.0,
            f32::INFINITY,
        ] as &[f32],
    );
    assert_close_f32_special(&loss32, want32.0, want32.1);
    let dx32 = soft_margin_loss_backward(
        f32s(&full(&[12], 1.0)).view(),
        x32.view(),
        ones32.view(),
        &o32,
    )
    .unwrap();
    assert_close_f32_special(
        &dx32,
        &[12],
        &[
            -2.0611537e-09,
            -1.0,
            -6.054601e-39,
            -1.0,
            -2.227364e-39,
            f32::NAN,
            -3.8e-44,
            f32::NAN,
            -0.0,
            f32::NAN,
            -0.0,
            f32::NAN,
        ],
    );
    // In f64 exp overflows past 709.78.
    let scaled = x.mapv(|v| v * 8.0);
    assert_close(
        &soft_margin_loss(scaled.view(), ones.view(), &so(Reduction::None)).unwrap(),
        &[12],
        &[
            3.257488532207521e-70,
            160.0,
            1.8058627513522668e-306,
            704.0,
            6.05799464199894e-310,
            f64::INFINITY,
            0.0,
            f64::INFINITY,
            0.0,
            f64::INFINITY,
            0.0,
            f64::INFINITY,
        ],
    );
}

// Targets in {0, 1} where {-1, 1} is meant: a 0 label makes the loss log(2) whatever the input.
// torch 2.13.0:
//   F.soft_margin_loss(Z, B, reduction='none')
//     -> shape [4, 3] [1.35747581455799, LN_2, 0.33827363030379753, LN_2, LN_2, 1.1780110926729273, 2.7182670736825036, 0.673347167228034, LN_2, LN_2, 2.6530404062434645, LN_2]
#[test]
fn soft_margin_given_zero_one_targets_gives_log2_for_every_negative() {
    let d = data();
    let loss = soft_margin_loss(d.z.view(), b01().view(), &so(Reduction::None)).unwrap();
    assert_close(
        &loss,
        &[4, 3],
        &[
            1.35747581455799,
            std::f64::consts::LN_2,
            0.33827363030379753,
            std::f64::consts::LN_2,
            std::f64::consts::LN_2,
            1.1780110926729273,
            2.7182670736825036,
            0.673347167228034,
            std::f64::consts::LN_2,
            std::f64::consts::LN_2,
            2.6530404062434645,
            std::f64::consts::LN_2,
        ],
    );
    for (l, b) in loss.iter().zip(b01().iter()) {
        if *b == 0.0 {
            assert_eq!(*l, std::f64::consts::LN_2);
        }
    }
}

// torch 2.13.0:
//   grad(lambda x: F.soft_margin_loss(x, Y, reduction='none'), Z, GZ)
//     -> shape [4, 3] [-0.6535676798663634, 0.3258148201130089, -0.5539096858880963, -0.09171165226873046, -0.38279767222397815, -0.699030599344806, 2.6712714328551144, 0.11270030661760795, -0.11624496552936855, -0.9230183817413603, 2.4633426631340347, 0.12672364284456175]
//   grad(lambda x: F.soft_margin_loss(x, Y), Z, 0.7)
//     -> shape [4, 3] [-0.043323615142656674, 0.006420900171146008, -0.01674165717278357, 0.0041471677382500845, 0.032362122047920855, -0.04037305441760431, -0.05448397444634557, -0.028583411098668677, 0.0034075157399731148, 0.023409886493440297, -0.05422452403125232, 0.004591436334947889]
//   grad(lambda x: F.soft_margin_loss(x, Y, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [-0.51988338171188, 0.0770508020537521, -0.2008998860734028, 0.049766012859001015, 0.38834546457505026, -0.4844766530112517, -0.6538076933561469, -0.3430009331840242, 0.04089018887967738, 0.2809186379212836, -0.650694288375028, 0.05509723601937467]
//   ag(lambda x: F.soft_margin_loss(x, Y, reduction='none'), Z, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
#[test]
fn soft_margin_input_gradient_per_reduction() {
    let d = data();
    let dx = |g: &ArrayD<f64>, r| {
        soft_margin_loss_backward(g.view(), d.z.view(), y().view(), &so(r)).unwrap()
    };
    assert_close(
        &dx(&d.gz, Reduction::None),
        &[4, 3],
        &[
            -0.6535676798663634,
            0.3258148201130089,
            -0.5539096858880963,
            -0.09171165226873046,
            -0.38279767222397815,
            -0.699030599344806,
            2.6712714328551144,
            0.11270030661760795,
            -0.11624496552936855,
            -0.9230183817413603,
            2.4633426631340347,
            0.12672364284456175,
        ],
    );
    assert_close(
        &dx(&g07(), Reduction::Mean),
        &[4, 3],
        &[
            -0.043323615142656674,
            0.006420900171146008,
            -0.01674165717278357,
            0.0041471677382500845,
            0.032362122047920855,
            -0.04037305441760431,
            -0.05448397444634557,
            -0.028583411098668677,
            0.0034075157399731148,
            0.023409886493440297,
            -0.05422452403125232,
            0.004591436334947889,
        ],
    );
    assert_close(
        &dx(&g07(), Reduction::Sum),
        &[4, 3],
        &[
            -0.51988338171188,
            0.0770508020537521,
            -0.2008998860734028,
            0.049766012859001015,
            0.38834546457505026,
            -0.4844766530112517,
            -0.6538076933561469,
            -0.3430009331840242,
            0.04089018887967738,
            0.2809186379212836,
            -0.650694288375028,
            0.05509723601937467,
        ],
    );
    let g3 = full(&[3], 1.0);
    assert_err(
        soft_margin_loss_backward(g3.view(), d.z.view(), y().view(), &so(Reduction::None)),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
}

// torch 2.13.0:
//   F.soft_margin_loss(Z, rg(Y))
//     -> RuntimeError: The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. This input cannot have requires_grad True.
//   F.soft_margin_loss(Z, rg(torch.ones(5, dtype=D)))
//     -> RuntimeError: The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. This input cannot have requires_grad True.
#[test]
fn soft_margin_target_gradient_is_pytorchs_refusal_before_any_check() {
    let d = data();
    assert_err_hint(
        soft_margin_loss_target_backward(
            g07().view(),
            d.z.view(),
            y().view(),
            &so(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. This input cannot have requires_grad True.",
        "target",
    );
    let t5 = full(&[5], 1.0);
    assert_err(
        soft_margin_loss_target_backward(g07().view(), d.z.view(), t5.view(), &so(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. This input cannot have requires_grad True.",
    );
}

// torch 2.13.0:
//   F.soft_margin_loss(E, E)
//     -> shape [] [NAN]
//   F.soft_margin_loss(E, E, reduction='sum')
//     -> shape [] [0.0]
//   F.soft_margin_loss(torch.tensor(0.75, dtype=D), torch.tensor(-1.0, dtype=D), reduction='none')
//     -> shape [] [1.1368710061148999]
//   grad(lambda x: F.soft_margin_loss(x, torch.tensor(-1.0, dtype=D)), torch.tensor(0.75, dtype=D), 2.0)
//     -> shape [] [1.358357398350786]
#[test]
fn soft_margin_empty_and_zero_dim_inputs() {
    let e = zeros64(&[0]);
    assert_close(
        &soft_margin_loss(e.view(), e.view(), &so(Reduction::Mean)).unwrap(),
        &[],
        &[f64::NAN],
    );
    assert_close(
        &soft_margin_loss(e.view(), e.view(), &so(Reduction::Sum)).unwrap(),
        &[],
        &[0.0],
    );
    let (x, t) = (arr0(0.75).into_dyn(), arr0(-1.0).into_dyn());
    assert_close(
        &soft_margin_loss(x.view(), t.view(), &so(Reduction::None)).unwrap(),
        &[],
        &[1.1368710061148999],
    );
    let dx = soft_margin_loss_backward(arr0(2.0).view(), x.view(), t.view(), &so(Reduction::Mean))
        .unwrap();
    assert_close(&dx, &[], &[1.358357398350786]);
}

// torch 2.13.0:
//   F.soft_margin_loss(Z.float(), Y.float(), reduction='none')  (float32)
//     -> shape [4, 3] [1.3574758, 0.11661538, 0.3382736, 0.07374807, 0.809185, 1.1780112, 2.7182672, 0.6733472, 0.060190186, 0.5130153, 2.6530404, 0.08198078]
//   grad(lambda x: F.soft_margin_loss(x, Y.float()), Z.float(), 0.7)  (float32)
//     -> shape [4, 3] [-0.043323614, 0.0064209006, -0.016741656, 0.004147168, 0.032362122, -0.040373057, -0.05448398, -0.02858341, 0.0034075158, 0.023409886, -0.05422453, 0.0045914366]
//   F.soft_margin_loss(XL, YL)  (float32)
//     -> shape [] [2.270768]
//   F.soft_margin_loss(XL, YL, reduction='sum')  (float32)
//     -> shape [] [227076.78]
//   grad(lambda x: F.soft_margin_loss(x, YL), XL, 0.7).flatten()[[0, 12345, 99999]]  (float32)
//     -> [4.6479133e-08, -6.888983e-06, -6.833077e-06]
#[test]
fn soft_margin_f32_and_a_100000_element_input_match_torch() {
    let (x, t) = (f32s(&data().z), f32s(&y()));
    let o = |r| SoftMarginOptions::default().reduction(r);
    assert_close_f32(
        &soft_margin_loss(x.view(), t.view(), &o(Reduction::None)).unwrap(),
        &[4, 3],
        &[
            1.3574758,
            0.11661538,
            0.3382736,
            0.07374807,
            0.809185,
            1.1780112,
            2.7182672,
            0.6733472,
            0.060190186,
            0.5130153,
            2.6530404,
            0.08198078,
        ],
    );
    let dx = soft_margin_loss_backward(g07_32().view(), x.view(), t.view(), &o(Reduction::Mean))
        .unwrap();
    assert_close_f32(
        &dx,
        &[4, 3],
        &[
            -0.043323614,
            0.0064209006,
            -0.016741656,
            0.004147168,
            0.032362122,
            -0.040373057,
            -0.05448398,
            -0.02858341,
            0.0034075158,
            0.023409886,
            -0.05422453,
            0.0045914366,
        ],
    );
    let [_, _, x, y, _] = long_inputs();
    assert_close_f32(
        &soft_margin_loss(x.view(), y.view(), &o(Reduction::Mean)).unwrap(),
        &[],
        &[2.270768],
    );
    assert_close_f32(
        &soft_margin_loss(x.view(), y.view(), &o(Reduction::Sum)).unwrap(),
        &[],
        &[227076.78],
    );
    let dx = soft_margin_loss_backward(g07_32().view(), x.view(), y.view(), &o(Reduction::Mean))
        .unwrap();
    assert_close_f32(
        &picked32(&dx),
        &[3],
        &[4.6479133e-08, -6.888983e-06, -6.833077e-06],
    );
}

// torch 2.13.0:
//   F.multilabel_soft_margin_loss(Z, B, reduction='none')
//     -> [0.6041216028900606, 0.6869813894458842, 1.150601474124549, 1.0826788139246377]
//   F.multilabel_soft_margin_loss(Z, B)
//     -> shape [] [0.8810958200962828]
//   F.multilabel_soft_margin_loss(Z, B, reduction='sum')
//     -> shape [] [3.5243832803851314]
//   F.multilabel_soft_margin_loss(Z, B, weight=W, reduction='none')
//     -> [0.2298730470277789, 0.7186904512654119, 0.575822405658393, 1.5553530833762341]
//   F.multilabel_soft_margin_loss(Z, B, weight=Q)
//     -> shape [] [0.1679612845423712]
//   F.multilabel_soft_margin_loss(Z, P, reduction='sum')
//     -> shape [] [3.6167166137184648]
#[test]
fn multilabel_none_mean_and_sum_average_over_classes_first() {
    let d = data();
    let loss = |o: &MultilabelSoftMarginOptions<'_, f64>| {
        multilabel_soft_margin_loss(d.z.view(), b01().view(), o).unwrap()
    };
    assert_close(
        &loss(&mo(Reduction::None)),
        &[4],
        &[
            0.6041216028900606,
            0.6869813894458842,
            1.150601474124549,
            1.0826788139246377,
        ],
    );
    assert_close(&loss(&mo(Reduction::Mean)), &[], &[0.8810958200962828]);
    assert_close(&loss(&mo(Reduction::Sum)), &[], &[3.5243832803851314]);
    assert_eq!(
        loss(&MultilabelSoftMarginOptions::default()),
        loss(&mo(Reduction::Mean))
    );
    assert_close(
        &loss(&mo(Reduction::None).weight(d.w.view())),
        &[4],
        &[
            0.2298730470277789,
            0.7186904512654119,
            0.575822405658393,
            1.5553530833762341,
        ],
    );
    assert_close(
        &loss(&mo(Reduction::Mean).weight(d.q.view())),
        &[],
        &[0.1679612845423712],
    );
    // Soft targets are accepted as they are.
    assert_close(
        &multilabel_soft_margin_loss(d.z.view(), d.p.view(), &mo(Reduction::Sum)).unwrap(),
        &[],
        &[3.6167166137184648],
    );
}

// A (C) input is one sample (0-D none output); (2, 3, 2) averages over its last dimension.
// torch 2.13.0:
//   F.multilabel_soft_margin_loss(Z[0], B[0], reduction='none')
//     -> shape [] [0.6041216028900606]
//   F.multilabel_soft_margin_loss(Z3, P3, reduction='none')
//     -> shape [2, 3] [0.847514962924462, 0.68316372792642, 1.423424964574577, 0.8529069807518866, 0.9037423846477406, 1.0584476611021167]
//   F.multilabel_soft_margin_loss(Z3, P3)
//     -> shape [] [0.9615334469878672]
//   grad(lambda x: F.multilabel_soft_margin_loss(x, P3), Z3, 0.7)
//     -> shape [2, 3, 2] [0.011046044686295386, 0.02196442222536193, -0.011988061811240704, -0.005263883511619303, 0.01057896780435982, 0.040041982263788446, 0.029925826941461238, -0.014596082000139909, 0.02017360913859456, -0.008061464467957332, 0.034747345318058245, 0.001223477046177623]
#[test]
fn multilabel_one_sample_and_extra_dimensions() {
    let d = data();
    let (x0, t0) = (
        contiguous(d.z.slice(s![0, ..])),
        contiguous(b01().slice(s![0, ..])),
    );
    assert_close(
        &multilabel_soft_margin_loss(x0.view(), t0.view(), &mo(Reduction::None)).unwrap(),
        &[],
        &[0.6041216028900606],
    );
    assert_close(
        &multilabel_soft_margin_loss(d.z3.view(), d.p3.view(), &mo(Reduction::None)).unwrap(),
        &[2, 3],
        &[
            0.847514962924462,
            0.68316372792642,
            1.423424964574577,
            0.8529069807518866,
            0.9037423846477406,
            1.0584476611021167,
        ],
    );
    assert_close(
        &multilabel_soft_margin_loss(d.z3.view(), d.p3.view(), &mo(Reduction::Mean)).unwrap(),
        &[],
        &[0.9615334469878672],
    );
    let dx = multilabel_soft_margin_loss_backward(
        g07().view(),
        d.z3.view(),
        d.p3.view(),
        &mo(Reduction::Mean),
    )
    .unwrap();
    assert_close(
        &dx,
        &[2, 3, 2],
        &[
            0.011046044686295386,
            0.02196442222536193,
            -0.011988061811240704,
            -0.005263883511619303,
            0.01057896780435982,
            0.040041982263788446,
            0.029925826941461238,
            -0.014596082000139909,
            0.02017360913859456,
            -0.008061464467957332,
            0.034747345318058245,
            0.001223477046177623,
        ],
    );
}

// torch 2.13.0:
//   F.multilabel_soft_margin_loss(Z, B[0], reduction='none')
//     -> [0.6041216028900606, 1.543648056112551, 2.090601474124549, 1.176012147257971]
//   F.multilabel_soft_margin_loss(Z[0], B, reduction='none')
//     -> [1.1033010860773198, 1.548820485077859, 1.0576981737383966]
//   F.multilabel_soft_margin_loss(Z[0], B[0], weight=torch.tensor([[1.0], [2.0]], dtype=D), reduction='none')
//     -> [1.35747581455799, 0.11661536380839428, 0.3382736303037975]
//   grad(lambda x: F.multilabel_soft_margin_loss(x, B, reduction='none'), Z[0], torch.tensor([0.5, -1.0, 2.0], dtype=D))
//     -> [-0.16179369686845718, 0.5199032341833293, 0.5680004340060846]
//   grad(lambda t: F.multilabel_soft_margin_loss(Z, t, reduction='sum'), B[0], 0.7)
//     -> [1.5586666666666664, 1.029, 1.1993333333333331]
//   grad(lambda w: F.multilabel_soft_margin_loss(Z[0], B[0], weight=w, reduction='none'), torch.tensor([[1.0], [2.0]], dtype=D), torch.tensor([0.5, -1.0, 2.0], dtype=D))
//     -> shape [2, 1] [0.4128899346927319, 0.4128899346927319]
#[test]
fn multilabel_target_and_weight_broadcast_as_in_the_python_composition() {
    let d = data();
    let row = contiguous(b01().slice(s![0, ..]));
    assert_close(
        &multilabel_soft_margin_loss(d.z.view(), row.view(), &mo(Reduction::None)).unwrap(),
        &[4],
        &[
            0.6041216028900606,
            1.543648056112551,
            2.090601474124549,
            1.176012147257971,
        ],
    );
    // A (3) input against a (4, 3) target: the class dimension is dim 0 of the broadcast
    // (4, 3) loss, so the "mean over classes" runs over the 4 rows, divided by C = 3.
    let x0 = contiguous(d.z.slice(s![0, ..]));
    assert_close(
        &multilabel_soft_margin_loss(x0.view(), b01().view(), &mo(Reduction::None)).unwrap(),
        &[3],
        &[1.1033010860773198, 1.548820485077859, 1.0576981737383966],
    );
    let w21 = a64(&[2, 1], &[1.0, 2.0]);
    let t0 = contiguous(b01().slice(s![0, ..]));
    let weighted = mo(Reduction::None).weight(w21.view());
    assert_close(
        &multilabel_soft_margin_loss(x0.view(), t0.view(), &weighted).unwrap(),
        &[3],
        &[1.35747581455799, 0.11661536380839428, 0.3382736303037975],
    );
    let g3 = v64(&[0.5, -1.0, 2.0]);
    let dx = multilabel_soft_margin_loss_backward(
        g3.view(),
        x0.view(),
        b01().view(),
        &mo(Reduction::None),
    )
    .unwrap();
    assert_close(
        &dx,
        &[3],
        &[-0.16179369686845718, 0.5199032341833293, 0.5680004340060846],
    );
    let dt = multilabel_soft_margin_loss_target_backward(
        g07().view(),
        d.z.view(),
        row.view(),
        &mo(Reduction::Sum),
    )
    .unwrap();
    assert_close(&dt, &[3], &[1.5586666666666664, 1.029, 1.1993333333333331]);
    let dw =
        multilabel_soft_margin_loss_weight_backward(g3.view(), x0.view(), t0.view(), &weighted)
            .unwrap();
    assert_close(&dw, &[2, 1], &[0.4128899346927319, 0.4128899346927319]);
}

// torch 2.13.0:
//   F.multilabel_soft_margin_loss(Z, torch.zeros(4, dtype=D))
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1
//   F.multilabel_soft_margin_loss(Z, B, weight=torch.zeros(4, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1
//   F.multilabel_soft_margin_loss(torch.tensor(0.5, dtype=D), torch.tensor(1.0, dtype=D))
//     -> IndexError: Dimension specified as -1 but tensor has no dimensions
//   F.multilabel_soft_margin_loss(torch.tensor(0.5, dtype=D), torch.zeros(2, dtype=D), weight=torch.zeros(3, dtype=D))
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0
//   F.multilabel_soft_margin_loss(torch.tensor(0.5, dtype=D), torch.tensor(1.0, dtype=D))
//     -> IndexError: Dimension specified as -1 but tensor has no dimensions
//   ag(lambda x: F.multilabel_soft_margin_loss(x, B, reduction='none'), Z, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
#[test]
fn multilabel_shape_errors_come_in_the_compositions_order() {
    let d = data();
    let t4 = zeros64(&[4]);
    assert_err(
        multilabel_soft_margin_loss(d.z.view(), t4.view(), &mo(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    assert_err(
        multilabel_soft_margin_loss(
            d.z.view(),
            b01().view(),
            &mo(Reduction::Mean).weight(t4.view()),
        ),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
    let (x0, t0) = (arr0(0.5).into_dyn(), arr0(1.0).into_dyn());
    assert_err_hint(
        multilabel_soft_margin_loss(x0.view(), t0.view(), &mo(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension specified as -1 but tensor has no dimensions",
        "0-D",
    );
    // The broadcasts before the class dimension's IndexError.
    let (t2, w3) = (zeros64(&[2]), zeros64(&[3]));
    assert_err(
        multilabel_soft_margin_loss(x0.view(), t2.view(), &mo(Reduction::Mean).weight(w3.view())),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0",
    );
    assert_err(
        multilabel_soft_margin_loss_backward(
            g07().view(),
            x0.view(),
            t0.view(),
            &mo(Reduction::Mean),
        ),
        ErrorKind::IndexError,
        "Dimension specified as -1 but tensor has no dimensions",
    );
    let g3 = full(&[3], 1.0);
    assert_err(
        multilabel_soft_margin_loss_backward(
            g3.view(),
            d.z.view(),
            b01().view(),
            &mo(Reduction::None),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).",
    );
}

// torch 2.13.0:
//   F.multilabel_soft_margin_loss(torch.zeros(2, 0, dtype=D), torch.zeros(2, 0, dtype=D), reduction='none')
//     -> [NAN, NAN]
//   F.multilabel_soft_margin_loss(torch.zeros(2, 0, dtype=D), torch.zeros(2, 0, dtype=D), reduction='sum')
//     -> shape [] [NAN]
//   F.multilabel_soft_margin_loss(torch.zeros(0, 3, dtype=D), torch.zeros(0, 3, dtype=D))
//     -> shape [] [NAN]
//   F.multilabel_soft_margin_loss(torch.zeros(0, 3, dtype=D), torch.zeros(0, 3, dtype=D), reduction='sum')
//     -> shape [] [0.0]
#[test]
fn multilabel_no_classes_give_nan_and_no_samples_a_nan_mean() {
    let e20 = zeros64(&[2, 0]);
    assert_close(
        &multilabel_soft_margin_loss(e20.view(), e20.view(), &mo(Reduction::None)).unwrap(),
        &[2],
        &[f64::NAN, f64::NAN],
    );
    assert_close(
        &multilabel_soft_margin_loss(e20.view(), e20.view(), &mo(Reduction::Sum)).unwrap(),
        &[],
        &[f64::NAN],
    );
    let e03 = zeros64(&[0, 3]);
    assert_close(
        &multilabel_soft_margin_loss(e03.view(), e03.view(), &mo(Reduction::Mean)).unwrap(),
        &[],
        &[f64::NAN],
    );
    assert_close(
        &multilabel_soft_margin_loss(e03.view(), e03.view(), &mo(Reduction::Sum)).unwrap(),
        &[],
        &[0.0],
    );
    let dx = multilabel_soft_margin_loss_backward(
        g07().view(),
        e20.view(),
        e20.view(),
        &mo(Reduction::Mean),
    )
    .unwrap();
    assert_eq!(dx.shape(), &[2, 0]);
}

// torch 2.13.0:
//   F.multilabel_soft_margin_loss(BIG.reshape(12, 1), torch.zeros(12, 1, dtype=D), reduction='none')
//     -> [20.000000002061153, 2.061153620314381e-09, 88.0, 6.054601895401186e-39, 89.0, 2.2273635617957438e-39, 100.0, 3.720075976020836e-44, 10000.0, 0.0, INFINITY, NAN]
//   F.multilabel_soft_margin_loss(BIG.reshape(12, 1), torch.ones(12, 1, dtype=D), reduction='none')
//     -> [2.061153620314381e-09, 20.000000002061153, 6.054601895401186e-39, 88.0, 2.2273635617957438e-39, 89.0, 3.720075976020836e-44, 100.0, 0.0, 10000.0, NAN, INFINITY]
#[test]
fn multilabel_large_logits_are_finite_where_pytorchs_are() {
    let x = big().into_shape_with_order(IxDyn(&[12, 1])).unwrap();
    for t in [0.0, 1.0] {
        let target = full(&[12, 1], t);
        let loss =
            multilabel_soft_margin_loss(x.view(), target.view(), &mo(Reduction::None)).unwrap();
        let want = if t == 0.0 {
            (
                &[12usize] as &[usize],
                &[
                    20.000000002061153,
                    2.061153620314381e-09,
                    88.0,
                    6.054601895401186e-39,
                    89.0,
                    2.2273635617957438e-39,
                    100.0,
                    3.720075976020836e-44,
                    10000.0,
                    0.0,
                    f64::INFINITY,
                    f64::NAN,
                ] as &[f64],
            )
        } else {
            (
                &[12usize] as &[usize],
                &[
                    2.061153620314381e-09,
                    20.000000002061153,
                    6.054601895401186e-39,
                    88.0,
                    2.2273635617957438e-39,
                    89.0,
                    3.720075976020836e-44,
                    100.0,
                    0.0,
                    10000.0,
                    f64::NAN,
                    f64::INFINITY,
                ] as &[f64],
            )
        };
        assert_close(&loss, want.0, want.1);
    }
}

// torch 2.13.0:
//   grad(lambda x: F.multilabel_soft_margin_loss(x, B, reduction='none'), Z, G4)
//     -> shape [4, 3] [-0.07426905453026857, 0.0110072574362503, -0.02869998372477183, -0.028437721633714868, -0.22191169404288588, 0.27684380172071527, -0.24906959746900834, -0.13066702216534254, 0.01557721481130567, 0.28091863792128363, -0.6506942883750281, 0.055097236019374676]
//   grad(lambda x: F.multilabel_soft_margin_loss(x, B), Z, 0.7)
//     -> shape [4, 3] [-0.04332361514265667, 0.006420900171146008, -0.01674165717278357, 0.0041471677382500845, 0.032362122047920855, -0.040373054417604304, -0.05448397444634557, -0.02858341109866868, 0.0034075157399731148, 0.023409886493440297, -0.05422452403125233, 0.004591436334947889]
//   grad(lambda x: F.multilabel_soft_margin_loss(x, B, weight=W, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [-0.03465889211412533, 0.04366212116379285, -0.04352830864923727, 0.0033177341906000675, 0.2200624299258618, -0.1049699414857712, -0.04358717955707645, -0.19436719547094702, 0.008859540923930098, 0.01872790919475224, -0.3687267634125158, 0.01193773447086451]
//   grad(lambda t: F.multilabel_soft_margin_loss(Z, t, reduction='none'), B, G4)
//     -> shape [4, 3] [0.106, 0.209, -0.091, -1.0279999999999998, 0.08799999999999997, -0.32400000000000007, 0.7066666666666667, -0.010666666666666658, 0.7413333333333332, 0.28, 1.8060000000000003, 1.7220000000000002]
//   grad(lambda t: F.multilabel_soft_margin_loss(Z, t, weight=Q), B, 0.7)
//     -> shape [4, 3] [0.030916666666666665, 0.10972499999999999, -0.015924999999999998, 0.17989999999999998, 0.0, 0.0189, 0.03864583333333333, -0.0005833333333333333, 0.040541666666666656, 0.04666666666666666, -0.07525, 0.014349999999999996]
//   grad(lambda w: F.multilabel_soft_margin_loss(Z, B, weight=w, reduction='none'), W, G4)
//     -> [1.1902302550987802, 1.7246750577651704, -0.3639398107906147]
//   grad(lambda w: F.multilabel_soft_margin_loss(Z, B, weight=w), Q, 0.7)
//     -> shape [4, 3] [0.07918608918254941, 0.006802562888823, 0.019732628434388187, 0.004301969974991116, 0.047202459438784525, 0.06871731373925408, 0.15856557929814605, 0.03927858475496865, 0.0035110939186813335, 0.029925889723330566, 0.1547606903642021, 0.004782212349278952]
//   grad(lambda w: F.multilabel_soft_margin_loss(Z, B, weight=w, reduction='sum'), torch.ones(4, 3, dtype=D), 0.7)
//     -> shape [4, 3] [0.31674435673019763, 0.027210251555292, 0.07893051373755275, 0.017207879899964463, 0.1888098377551381, 0.2748692549570163, 0.6342623171925842, 0.1571143390198746, 0.014044375674725334, 0.11970355889332226, 0.6190427614568084, 0.01912884939711581]
#[test]
fn multilabel_input_target_and_weight_gradients_per_reduction() {
    let d = data();
    let b = b01();
    let dx = |g: &ArrayD<f64>, o: &MultilabelSoftMarginOptions<'_, f64>| {
        multilabel_soft_margin_loss_backward(g.view(), d.z.view(), b.view(), o).unwrap()
    };
    let dt = |g: &ArrayD<f64>, o: &MultilabelSoftMarginOptions<'_, f64>| {
        multilabel_soft_margin_loss_target_backward(g.view(), d.z.view(), b.view(), o).unwrap()
    };
    let dw = |g: &ArrayD<f64>, o: &MultilabelSoftMarginOptions<'_, f64>| {
        multilabel_soft_margin_loss_weight_backward(g.view(), d.z.view(), b.view(), o).unwrap()
    };
    assert_close(
        &dx(&d.g4, &mo(Reduction::None)),
        &[4, 3],
        &[
            -0.07426905453026857,
            0.0110072574362503,
            -0.02869998372477183,
            -0.028437721633714868,
            -0.22191169404288588,
            0.27684380172071527,
            -0.24906959746900834,
            -0.13066702216534254,
            0.01557721481130567,
            0.28091863792128363,
            -0.6506942883750281,
            0.055097236019374676,
        ],
    );
    assert_close(
        &dx(&g07(), &mo(Reduction::Mean)),
        &[4, 3],
        &[
            -0.04332361514265667,
            0.006420900171146008,
            -0.01674165717278357,
            0.0041471677382500845,
            0.032362122047920855,
            -0.040373054417604304,
            -0.05448397444634557,
            -0.02858341109866868,
            0.0034075157399731148,
            0.023409886493440297,
            -0.05422452403125233,
            0.004591436334947889,
        ],
    );
    assert_close(
        &dx(&g07(), &mo(Reduction::Sum).weight(d.w.view())),
        &[4, 3],
        &[
            -0.03465889211412533,
            0.04366212116379285,
            -0.04352830864923727,
            0.0033177341906000675,
            0.2200624299258618,
            -0.1049699414857712,
            -0.04358717955707645,
            -0.19436719547094702,
            0.008859540923930098,
            0.01872790919475224,
            -0.3687267634125158,
            0.01193773447086451,
        ],
    );
    assert_close(
        &dt(&d.g4, &mo(Reduction::None)),
        &[4, 3],
        &[
            0.106,
            0.209,
            -0.091,
            -1.0279999999999998,
            0.08799999999999997,
            -0.32400000000000007,
            0.7066666666666667,
            -0.010666666666666658,
            0.7413333333333332,
            0.28,
            1.8060000000000003,
            1.7220000000000002,
        ],
    );
    assert_close(
        &dt(&g07(), &mo(Reduction::Mean).weight(d.q.view())),
        &[4, 3],
        &[
            0.030916666666666665,
            0.10972499999999999,
            -0.015924999999999998,
            0.17989999999999998,
            0.0,
            0.0189,
            0.03864583333333333,
            -0.0005833333333333333,
            0.040541666666666656,
            0.04666666666666666,
            -0.07525,
            0.014349999999999996,
        ],
    );
    assert_close(
        &dw(&d.g4, &mo(Reduction::None).weight(d.w.view())),
        &[3],
        &[1.1902302550987802, 1.7246750577651704, -0.3639398107906147],
    );
    assert_close(
        &dw(&g07(), &mo(Reduction::Mean).weight(d.q.view())),
        &[4, 3],
        &[
            0.07918608918254941,
            0.006802562888823,
            0.019732628434388187,
            0.004301969974991116,
            0.047202459438784525,
            0.06871731373925408,
            0.15856557929814605,
            0.03927858475496865,
            0.0035110939186813335,
            0.029925889723330566,
            0.1547606903642021,
            0.004782212349278952,
        ],
    );
    // Without a weight: the gradient of an all-ones weight of the loss's shape.
    assert_close(
        &dw(&g07(), &mo(Reduction::Sum)),
        &[4, 3],
        &[
            0.31674435673019763,
            0.027210251555292,
            0.07893051373755275,
            0.017207879899964463,
            0.1888098377551381,
            0.2748692549570163,
            0.6342623171925842,
            0.1571143390198746,
            0.014044375674725334,
            0.11970355889332226,
            0.6190427614568084,
            0.01912884939711581,
        ],
    );
}

// torch 2.13.0:
//   F.multilabel_soft_margin_loss(Z.float(), B.float(), weight=W.float(), reduction='none')  (float32)
//     -> [0.22987306, 0.71869045, 0.5758225, 1.5553532]
//   grad(lambda x: F.multilabel_soft_margin_loss(x, B.float()), Z.float(), 0.7)  (float32)
//     -> shape [4, 3] [-0.043323617, 0.0064209006, -0.016741656, 0.0041471682, 0.032362126, -0.040373053, -0.054483972, -0.028583411, 0.0034075158, 0.023409886, -0.054224525, 0.0045914366]
//   F.multilabel_soft_margin_loss(XL, TL)  (float32)
//     -> shape [] [2.350155]
//   F.multilabel_soft_margin_loss(XL, TL, weight=WL, reduction='none')[:3]  (float32)
//     -> [2.5672276, 2.6276898, 1.9152834]
//   grad(lambda w: F.multilabel_soft_margin_loss(XL, TL, weight=w), WL, 0.7)[:3]  (float32)
//     -> [0.006325904, 0.0064909672, 0.006335541]
//   grad(lambda t: F.multilabel_soft_margin_loss(XL, t, reduction='sum'), TL, 0.7).flatten()[[0, 12345, 99999]]  (float32)
//     -> [0.014022399, 0.0115584005, 0.0103936]
#[test]
fn multilabel_f32_and_a_100000_element_input_match_torch() {
    let d = data();
    let (x, t, w) = (f32s(&d.z), f32s(&b01()), f32s(&d.w));
    let o = |r| MultilabelSoftMarginOptions::default().reduction(r);
    assert_close_f32(
        &multilabel_soft_margin_loss(x.view(), t.view(), &o(Reduction::None).weight(w.view()))
            .unwrap(),
        &[4],
        &[0.22987306, 0.71869045, 0.5758225, 1.5553532],
    );
    let dx = multilabel_soft_margin_loss_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Mean),
    )
    .unwrap();
    assert_close_f32(
        &dx,
        &[4, 3],
        &[
            -0.043323617,
            0.0064209006,
            -0.016741656,
            0.0041471682,
            0.032362126,
            -0.040373053,
            -0.054483972,
            -0.028583411,
            0.0034075158,
            0.023409886,
            -0.054224525,
            0.0045914366,
        ],
    );
    let [_, t, x, _, w] = long_inputs();
    assert_close_f32(
        &multilabel_soft_margin_loss(x.view(), t.view(), &o(Reduction::Mean)).unwrap(),
        &[],
        &[2.350155],
    );
    let none =
        multilabel_soft_margin_loss(x.view(), t.view(), &o(Reduction::None).weight(w.view()))
            .unwrap();
    assert_close_f32(
        &none.slice(s![..3]).to_owned().into_dyn(),
        &[3],
        &[2.5672276, 2.6276898, 1.9152834],
    );
    let dw = multilabel_soft_margin_loss_weight_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Mean).weight(w.view()),
    )
    .unwrap();
    assert_close_f32(
        &dw.slice(s![..3]).to_owned().into_dyn(),
        &[3],
        &[0.006325904, 0.0064909672, 0.006335541],
    );
    let dt = multilabel_soft_margin_loss_target_backward(
        g07_32().view(),
        x.view(),
        t.view(),
        &o(Reduction::Sum),
    )
    .unwrap();
    assert_close_f32(
        &picked32(&dt),
        &[3],
        &[0.014022399, 0.0115584005, 0.0103936],
    );
}

#[test]
fn one_two_and_four_threads_give_bit_identical_losses_and_gradients() {
    // (400, 250): 100,000 elements, several chunks and parallel tasks.
    let [p, t, x, y, w] = long_inputs();
    let g_rows = Array1::from(gen_x(400, 5)).into_dyn();
    let g_all = long(gen_x(100_000, 6));
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let g1 = arr0(0.7f32).into_dyn();
        let (g_elem, g_row) = match reduction {
            Reduction::None => (g_all.view(), g_rows.view()),
            _ => (g1.view(), g1.view()),
        };
        let bce = BinaryCrossEntropyOptions::default()
            .reduction(reduction)
            .weight(w.view());
        let bcel = BceWithLogitsOptions::default()
            .reduction(reduction)
            .weight(w.view())
            .pos_weight(w.view());
        let soft = SoftMarginOptions::default().reduction(reduction);
        let multi = MultilabelSoftMarginOptions::default()
            .reduction(reduction)
            .weight(w.view());
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut all = Vec::new();
                let mut push = |r: Result<ArrayD<f32>, LossError>| all.extend(bits(&r.unwrap()));
                push(binary_cross_entropy(p.view(), t.view(), &bce));
                push(binary_cross_entropy_backward(
                    g_elem.clone(),
                    p.view(),
                    t.view(),
                    &bce,
                ));
                push(binary_cross_entropy_target_backward(
                    g_elem.clone(),
                    p.view(),
                    t.view(),
                    &bce,
                ));
                push(binary_cross_entropy_with_logits(x.view(), t.view(), &bcel));
                push(binary_cross_entropy_with_logits_backward(
                    g_elem.clone(),
                    x.view(),
                    t.view(),
                    &bcel,
                ));
                push(binary_cross_entropy_with_logits_target_backward(
                    g_elem.clone(),
                    x.view(),
                    t.view(),
                    &bcel,
                ));
                push(soft_margin_loss(x.view(), y.view(), &soft));
                push(soft_margin_loss_backward(
                    g_elem.clone(),
                    x.view(),
                    y.view(),
                    &soft,
                ));
                push(multilabel_soft_margin_loss(x.view(), t.view(), &multi));
                push(multilabel_soft_margin_loss_backward(
                    g_row.clone(),
                    x.view(),
                    t.view(),
                    &multi,
                ));
                push(multilabel_soft_margin_loss_target_backward(
                    g_row.clone(),
                    x.view(),
                    t.view(),
                    &multi,
                ));
                push(multilabel_soft_margin_loss_weight_backward(
                    g_row.clone(),
                    x.view(),
                    t.view(),
                    &multi,
                ));
                all
            })
        };
        let one = run(1);
        assert_eq!(one, run(2), "{reduction:?}");
        assert_eq!(one, run(4), "{reduction:?}");
    }
}

#[test]
fn transposed_and_fixed_dimension_views_give_the_contiguous_results() {
    let d = data();
    // Transposed (3, 4) views of the (4, 3) tensors, against row-major copies of them.
    let (x, p, q, z, yv) = (pb(), d.p.clone(), d.q.clone(), d.z.clone(), y());
    let (xc, pc, qc, zc, yc) = (
        contiguous(x.t()),
        contiguous(p.t()),
        contiguous(q.t()),
        contiguous(z.t()),
        contiguous(yv.t()),
    );
    let bce = bo(Reduction::None).weight(q.t());
    let bce_c = bo(Reduction::None).weight(qc.view());
    assert_eq!(
        binary_cross_entropy(x.t(), p.t(), &bce).unwrap(),
        binary_cross_entropy(xc.view(), pc.view(), &bce_c).unwrap()
    );
    let g = contiguous(d.gz.t());
    assert_eq!(
        binary_cross_entropy_target_backward(d.gz.t(), x.t(), p.t(), &bce).unwrap(),
        binary_cross_entropy_target_backward(g.view(), xc.view(), pc.view(), &bce_c).unwrap()
    );
    let bcel = lo(Reduction::Sum).pos_weight(q.t());
    let bcel_c = lo(Reduction::Sum).pos_weight(qc.view());
    assert_eq!(
        binary_cross_entropy_with_logits_backward(g07().view(), z.t(), p.t(), &bcel).unwrap(),
        binary_cross_entropy_with_logits_backward(g07().view(), zc.view(), pc.view(), &bcel_c)
            .unwrap()
    );
    assert_eq!(
        soft_margin_loss(z.t(), yv.t(), &so(Reduction::Mean)).unwrap(),
        soft_margin_loss(zc.view(), yc.view(), &so(Reduction::Mean)).unwrap()
    );
    let multi = mo(Reduction::None).weight(q.t());
    let multi_c = mo(Reduction::None).weight(qc.view());
    let g3 = v64(&[1.0, -2.0, 0.5]);
    assert_eq!(
        multilabel_soft_margin_loss_backward(g3.view(), z.t(), p.t(), &multi).unwrap(),
        multilabel_soft_margin_loss_backward(g3.view(), zc.view(), pc.view(), &multi_c).unwrap()
    );
    // Fixed-dimension (Ix1, Ix2) views are accepted as well as dynamic ones.
    let x2 = ndarray::array![[0.25f64, 0.75]];
    let t1 = ndarray::array![1.0f64, 0.0];
    let loss = binary_cross_entropy_with_logits(x2.view(), t1.view(), &lo(Reduction::Mean));
    assert_err(
        loss,
        ErrorKind::ValueError,
        "Target size (torch.Size([2])) must be the same as input size (torch.Size([1, 2]))",
    );
}

// The shape checks the harness calls (internals), each against the forward's error.
#[test]
fn the_shape_checks_give_the_forwards_shape_errors_and_output_shapes() {
    use crate::binary::{bce_check, bcel_check, multilabel_plan, soft_margin_check};
    assert_eq!(bce_check(&[4, 3], &[4, 3], Some(&[3])).unwrap(), vec![4, 3]);
    assert_eq!(bce_check(&[], &[], None).unwrap(), Vec::<usize>::new());
    for (input, target, weight) in [
        (vec![4, 1], vec![4], None),
        (vec![4, 3], vec![4, 3], Some(vec![2, 3])),
        (vec![4, 3], vec![4, 3], Some(vec![2, 4, 3])),
    ] {
        let forward = binary_cross_entropy(
            full(&input, 0.5).view(),
            full(&target, 0.5).view(),
            &bo(Reduction::Mean).weight(full(weight.as_deref().unwrap_or(&[]), 1.0).view()),
        );
        let check = bce_check(&input, &target, weight.as_deref().or(Some(&[])));
        assert_eq!(check.unwrap_err(), forward.unwrap_err());
    }
    assert_eq!(
        bcel_check(&[4, 3], &[4, 3], Some(&[4, 1]), Some(&[3])).unwrap(),
        vec![4, 3]
    );
    let err = bcel_check(&[4, 3], &[4, 3], Some(&[4]), Some(&[2, 4, 3])).unwrap_err();
    assert_eq!(
        err.message(),
        "output with shape [4, 3] doesn't match the broadcast shape [2, 4, 3]"
    );
    assert_eq!(soft_margin_check(&[4, 3], &[]).unwrap(), vec![4, 3]);
    let err = soft_margin_check(&[], &[3]).unwrap_err();
    assert_eq!(
        err.message(),
        "output with shape [] doesn't match the broadcast shape [3]"
    );
    let plan = multilabel_plan(&[3], &[4, 3], Some(&[2, 1, 1])).unwrap();
    assert_eq!(
        (plan.full, plan.class_dim, plan.classes, plan.out),
        (vec![2, 4, 3], 0, 3, vec![4, 3])
    );
    let err = multilabel_plan(&[], &[2], Some(&[3])).unwrap_err();
    assert_eq!(
        err.message(),
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"
    );
}

#[cfg(feature = "unstable-public-internals")]
#[test]
fn the_public_shape_checks_are_the_losses_own() {
    use crate::internals::{
        check_binary_cross_entropy_shapes, check_binary_cross_entropy_with_logits_shapes,
        check_multilabel_soft_margin_loss_shapes, check_soft_margin_loss_shapes,
    };
    assert_eq!(
        check_binary_cross_entropy_shapes(&[2, 3], &[2, 3], None).unwrap(),
        vec![2, 3]
    );
    let err = check_binary_cross_entropy_shapes(&[3, 1], &[3], None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ValueError);
    let err = check_binary_cross_entropy_with_logits_shapes(&[2, 3], &[2, 3], Some(&[4]), None)
        .unwrap_err();
    assert_eq!(
        err.message(),
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
    );
    assert_eq!(
        check_soft_margin_loss_shapes(&[2, 3], &[2, 1]).unwrap(),
        vec![2, 3]
    );
    assert_eq!(
        check_multilabel_soft_margin_loss_shapes(&[3], &[3], None).unwrap(),
        Vec::<usize>::new()
    );
    let err = check_multilabel_soft_margin_loss_shapes(&[], &[], None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IndexError);
}
/// Forward and forward+backward timings on the benchmark shapes, f32, 1 and 2 threads
/// (run with `cargo test -p lossparity-losses --release binary_timings -- --ignored
/// --nocapture`; asserts nothing).
#[test]
#[ignore]
fn binary_timings() {
    use std::time::Instant;
    fn best(reps: usize, mut f: impl FnMut()) -> f64 {
        f();
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        best * 1e6
    }
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            for (rows, cols) in [(64usize, 10usize), (256, 1000)] {
                let n = rows * cols;
                let reps = if n < 10_000 { 2000 } else { 50 };
                let x: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 / 125.0) - 4.0).collect();
                let x = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), x).unwrap();
                let p = x.mapv(|v| 1.0 / (1.0 + (-v).exp()));
                let t = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), (0..n).map(|i| ((i * 31 % 7) % 2) as f32).collect()).unwrap();
                let y = t.mapv(|v| 2.0 * v - 1.0);
                let g = arr0(1.0f32).into_dyn();
                let bo = BinaryCrossEntropyOptions::default();
                let lo = BceWithLogitsOptions::default();
                let so = SoftMarginOptions::default();
                let mo = MultilabelSoftMarginOptions::default();
                let po = PointwiseOptions::default();
                let r = [
                    ("mse (reference)", best(reps, || { mse_loss(x.view(), t.view(), &po).unwrap(); }), 0.0),
                    ("bce", best(reps, || { binary_cross_entropy(p.view(), t.view(), &bo).unwrap(); }),
                     best(reps, || { binary_cross_entropy(p.view(), t.view(), &bo).unwrap(); binary_cross_entropy_backward(g.view(), p.view(), t.view(), &bo).unwrap(); })),
                    ("bce_logits", best(reps, || { binary_cross_entropy_with_logits(x.view(), t.view(), &lo).unwrap(); }),
                     best(reps, || { binary_cross_entropy_with_logits(x.view(), t.view(), &lo).unwrap(); binary_cross_entropy_with_logits_backward(g.view(), x.view(), t.view(), &lo).unwrap(); })),
                    ("soft_margin", best(reps, || { soft_margin_loss(x.view(), y.view(), &so).unwrap(); }),
                     best(reps, || { soft_margin_loss(x.view(), y.view(), &so).unwrap(); soft_margin_loss_backward(g.view(), x.view(), y.view(), &so).unwrap(); })),
                    ("multilabel", best(reps, || { multilabel_soft_margin_loss(x.view(), t.view(), &mo).unwrap(); }),
                     best(reps, || { multilabel_soft_margin_loss(x.view(), t.view(), &mo).unwrap(); multilabel_soft_margin_loss_backward(g.view(), x.view(), t.view(), &mo).unwrap(); })),
                ];
                for (name, f, fb) in r {
                    println!("threads={threads} ({rows}, {cols}) {name}: fwd {f:.1} us, fwd+bwd {fb:.1} us");
                }
            }
        });
    }
}

/// The distance in ulps between two finite f32 of one sign.
fn ulps(a: f32, b: f32) -> u32 {
    (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
}

// The f32 kernels against f64's libm rounded once, over a sweep of arguments.
#[test]
fn f32_exp_ln_and_log1p_are_within_one_ulp_of_the_correctly_rounded_values() {
    use crate::binary::{exp_f32, ln_f32, log1p_f32};
    let (mut worst_exp, mut worst_ln, mut worst_log1p) = (0, 0, 0);
    for i in 0..200_000 {
        let a = -104.0 + 193.0 * i as f32 / 200_000.0;
        let want = (a as f64).exp() as f32;
        if want.is_finite() && want > 0.0 {
            worst_exp = worst_exp.max(ulps(exp_f32(a), want));
        }
        let u = 1.0 + 1e4 * i as f32 / 200_000.0;
        worst_ln = worst_ln.max(ulps(ln_f32(u), (u as f64).ln() as f32));
        for z in [
            i as f32 / 200_000.0,
            (-(i as f32) / 1000.0).exp(),
            i as f32 * 1e3,
        ] {
            worst_log1p = worst_log1p.max(ulps(log1p_f32(z), (z as f64).ln_1p() as f32));
        }
    }
    println!("worst ulps: exp {worst_exp}, ln {worst_ln}, log1p {worst_log1p}");
    assert!(worst_exp <= 1 && worst_ln <= 1 && worst_log1p <= 1);
    // The special values.
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
    assert_eq!(exp_f32(89.0), f32::INFINITY);
    assert!(exp_f32(f32::NAN).is_nan());
    assert_eq!(exp_f32(-103.0), (-103.0f64).exp() as f32);
    assert_eq!(log1p_f32(0.0), 0.0);
    assert_eq!(log1p_f32(1e-30), 1e-30);
    assert_eq!(log1p_f32(f32::INFINITY), f32::INFINITY);
    assert!(log1p_f32(f32::NAN).is_nan());
    assert_eq!(ln_f32(1.0), 0.0);
}

// Hard labels skip the log whose factor is zero: the same bits as the full formula,
// signed zeros included, on every special value of [0, 1].
#[test]
fn bce_hard_label_shortcut_keeps_the_full_formulas_bits() {
    use crate::binary::{bce_element, bce_element_full};
    let xs = [
        -0.0f64,
        0.0,
        5e-324,
        1e-300,
        1e-30,
        0.3,
        0.5,
        1.0 - 1e-16,
        1.0,
    ];
    let ts = [-0.0f64, 0.0, 0.3, 1.0];
    for &x in &xs {
        for &t in &ts {
            let (a, b) = (bce_element(x, t), bce_element_full(x, t));
            assert_eq!(a.to_bits(), b.to_bits(), "f64 x={x:e} t={t}: {a} vs {b}");
            let (x32, t32) = (x as f32, t as f32);
            let (a, b) = (bce_element(x32, t32), bce_element_full(x32, t32));
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "f32 x={x32:e} t={t32}: {a} vs {b}"
            );
        }
    }
    let x32 = [f32::from_bits(1), 1e-38, 0.999_999_94];
    for &x in &x32 {
        for t in [0.0f32, -0.0, 1.0] {
            assert_eq!(
                bce_element(x, t).to_bits(),
                bce_element_full(x, t).to_bits()
            );
        }
    }
}

/// Writes f32 results on the long inputs to /tmp/lossparity-binary-*.bin (raw
/// little-endian), for a bit-for-bit comparison with PyTorch's outside the test suite
/// (run with `-- --ignored`; asserts nothing).
#[test]
#[ignore]
fn dump_long_results_for_comparison() {
    let [p, t, x, y, _] = long_inputs();
    let none = Reduction::None;
    let g = long(gen_x(100_000, 6));
    let write = |name: &str, a: ArrayD<f32>| {
        let bytes: Vec<u8> = a.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(format!("/tmp/lossparity-binary-{name}.bin"), bytes).unwrap();
    };
    let bo32 = BinaryCrossEntropyOptions::default().reduction(none);
    let lo32 = BceWithLogitsOptions::default().reduction(none);
    let so32 = SoftMarginOptions::default().reduction(none);
    write(
        "bce",
        binary_cross_entropy(p.view(), t.view(), &bo32).unwrap(),
    );
    write(
        "bce_dx",
        binary_cross_entropy_backward(g.view(), p.view(), t.view(), &bo32).unwrap(),
    );
    write(
        "bce_dt",
        binary_cross_entropy_target_backward(g.view(), p.view(), t.view(), &bo32).unwrap(),
    );
    write(
        "bcel",
        binary_cross_entropy_with_logits(x.view(), t.view(), &lo32).unwrap(),
    );
    write(
        "bcel_dx",
        binary_cross_entropy_with_logits_backward(g.view(), x.view(), t.view(), &lo32).unwrap(),
    );
    write("sm", soft_margin_loss(x.view(), y.view(), &so32).unwrap());
    write(
        "sm_dx",
        soft_margin_loss_backward(g.view(), x.view(), y.view(), &so32).unwrap(),
    );
    let mo32 = MultilabelSoftMarginOptions::default().reduction(Reduction::Sum);
    write(
        "ml_dx",
        multilabel_soft_margin_loss_backward(arr0(0.7f32).view(), x.view(), t.view(), &mo32)
            .unwrap(),
    );
    write(
        "ml_dt",
        multilabel_soft_margin_loss_target_backward(arr0(0.7f32).view(), x.view(), t.view(), &mo32)
            .unwrap(),
    );
}

// The target's gradient is -x * w / C exactly (log_sigmoid(x) - log_sigmoid(-x) = x):
// at a tiny logit and a large weight, libtorch's two rounded products differ from it by
// an ulp of their size (torch 2.13 gives -2.44140625e-4 for the case below, the exact
// value is -2.6778297e-4), so the gradient is formed exactly rather than mirrored.
#[test]
fn multilabel_target_gradient_is_exact_at_a_tiny_logit() {
    let x = ndarray::array![0.0f32, 5.355_659_4e-8];
    let t = ndarray::array![0.0f32, 0.0];
    let w = ndarray::array![0.0f32, 1e4];
    let o = MultilabelSoftMarginOptions::default()
        .reduction(Reduction::Sum)
        .weight(w.view());
    let dt =
        multilabel_soft_margin_loss_target_backward(arr0(1.0f32).view(), x.view(), t.view(), &o)
            .unwrap();
    let exact = -(5.355_659_4e-8f64 * 1e4 / 2.0);
    assert_eq!(dt[1], exact as f32);
    assert_eq!(dt[0].to_bits(), 0.0f32.to_bits(), "libtorch's +0, not -0");
}

// Weighted element losses that cancel (2.8e4 against -2.9e4): float32's element losses
// are an ulp or two off each, which the sum turns into tens of ulp of the result, so
// such a row is summed again from f64 element losses: the f64 loss, rounded once.
#[test]
fn multilabel_cancelling_rows_are_the_f64_loss_rounded() {
    let x = ndarray::array![1.276_946_7f32, -3000.0, -6.228_53, 2.188_276_3];
    let t = ndarray::array![-1.0f32, -1.0, 0.0, 0.0];
    let w = ndarray::array![10000.0f32, 9.601_377_5, 0.0, 1.996_732_4];
    let o = MultilabelSoftMarginOptions::default()
        .reduction(Reduction::None)
        .weight(w.view());
    let loss32 = multilabel_soft_margin_loss(x.view(), t.view(), &o).unwrap();
    let (x64, t64, w64) = (x.mapv(f64::from), t.mapv(f64::from), w.mapv(f64::from));
    let o64 = MultilabelSoftMarginOptions::default()
        .reduction(Reduction::None)
        .weight(w64.view());
    let loss64 = multilabel_soft_margin_loss(x64.view(), t64.view(), &o64).unwrap();
    assert_eq!(loss32[[]], loss64[[]] as f32);
    // torch 2.13: -200.17792789296868 in float64; -200.1778564453125 in float32, 5 ulp
    // off (the float32 element losses alone gave -200.17752, 27 ulp off).
    assert_eq!(loss32[[]], -200.177_927_892_968_68f64 as f32);
}

// With a pos_weight, the target's gradient `log_sigmoid(-x) - log_sigmoid(x) * pw`
// cancels for a positive logit (here -1.7694 against -1.8327): float32 logs, each
// within an ulp, leave 1.6e-3 of error after the weight of 1e4, past float32's
// tolerance (8.6e-4); the difference is formed in f64 and rounded once.
//   x = torch.tensor([1.5827867], dtype=torch.float64); t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
//   pw = torch.tensor([9.822496], dtype=torch.float32).double()
//   l = F.binary_cross_entropy_with_logits(x, t, weight=torch.tensor([1e4], dtype=torch.float64), pos_weight=pw, reduction='sum')
//   torch.autograd.grad(l, t)  # 653.7075951181737
#[test]
fn a_pos_weighted_target_gradient_that_cancels_stays_within_float32s_tolerance() {
    let x = Array1::from(vec![1.582_786_7f32]).into_dyn();
    let t = Array1::from(vec![0.0f32]).into_dyn();
    let w = Array1::from(vec![1e4f32]).into_dyn();
    let pw = Array1::from(vec![9.822_496f32]).into_dyn();
    let o = BceWithLogitsOptions::default()
        .reduction(Reduction::Sum)
        .weight(w.view())
        .pos_weight(pw.view());
    let dt = binary_cross_entropy_with_logits_target_backward(
        arr0(1.0f32).view(),
        x.view(),
        t.view(),
        &o,
    )
    .unwrap();
    let exact = 653.707_595_118_173_7f64;
    assert!(
        (f64::from(dt[0]) - exact).abs() <= 1e-5 + 1.3e-6 * exact,
        "{}",
        dt[0]
    );
}

// Case 2824 of a 100,000-case report: targets of -1 next to logits of ±3000 give
// element losses of both signs (-3000 and 6000) whose float32 sum cancels to 44.4;
// each float32 loss is off by up to 1.2e-4, which moved the float32 sum 4.8
// tolerances from the exact one (libtorch's, also in float32, 2.8). Such sums are
// formed in f64 and rounded once.
//   x = <the input below>; t = <the target below> (float32)
//   F.binary_cross_entropy_with_logits(x, t, reduction='sum') -> 44.40101623535156
//   F.binary_cross_entropy_with_logits(x.double(), t.double(), reduction='sum')
//     -> 44.401204121573755
//   F.binary_cross_entropy_with_logits(x.double(), t.double()) -> 1.3875376287991799
#[test]
fn bce_with_logits_float32_sums_of_losses_of_both_signs_are_the_exact_sum_rounded() {
    let x: Vec<f32> = vec![
        -10000.0,
        -8.34584,
        -2.541_182_8e-7,
        -3000.0,
        -1.761745,
        -8.062373,
        -5.379_549_5,
        8.035_966_6e-7,
        1.097_090_6,
        9.548188e-7,
        -5.248553,
        -6302.009,
        -8.831_354_4e-7,
        6.589832e-7,
        5.637_502_3e-7,
        -3.916_608_3,
        4.331167,
        -6.56165,
        -3.117354,
        4.896_668_3e-7,
        -3000.0,
        0.971_812_25,
        3000.0,
        4.980_795_4,
        5.903169,
        8.641346,
        -1.207_971_5,
        -2.421_770_3,
        1.804_675_1,
        5.331_269_3,
        5.572177,
        -8.042924,
    ];
    let t: Vec<f32> = vec![
        0.0,
        1.0,
        0.923_547_2,
        1.0,
        0.0,
        0.215_799_2,
        0.0,
        1.0,
        0.617_071_3,
        0.685_762_3,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        1.0,
        0.281_329_3,
        1.0,
        0.0,
        0.425_546_53,
        -1.0,
        0.279_083_46,
        1.0,
        -1.0,
        0.925_292_3,
        1.0,
        -1.0,
        0.360913,
        0.0,
        0.717_590_2,
        1.0,
        0.0,
    ];
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 4, 2, 4]), x).unwrap();
    let t = ArrayD::from_shape_vec(IxDyn(&[1, 4, 2, 4]), t).unwrap();
    let options = |r| BceWithLogitsOptions::<f32>::default().reduction(r);
    let sum = binary_cross_entropy_with_logits(x.view(), t.view(), &options(Reduction::Sum));
    assert_eq!(sum.unwrap()[[]], 44.401204121573755f64 as f32);
    let mean = binary_cross_entropy_with_logits(x.view(), t.view(), &options(Reduction::Mean));
    assert_eq!(mean.unwrap()[[]], 1.3875376287991799f64 as f32);
    // Targets in [0, 1] keep the float32 kernel and its bits.
    let t01 = t.mapv(|v| v.clamp(0.0, 1.0));
    let sum = binary_cross_entropy_with_logits(x.view(), t01.view(), &options(Reduction::Sum));
    let none = binary_cross_entropy_with_logits(x.view(), t01.view(), &options(Reduction::None));
    let by_f32 = none.unwrap().iter().fold(0f64, |a, &v| a + v as f64);
    assert!((sum.unwrap()[[]] as f64 - by_f32).abs() < 1e-3);
}

// A weight that enlarges the loss's shape: autograd sums g * w back to the unweighted
// loss's shape before the element derivatives (found by the conformance property: an
// infinite logit's target derivative times a zero weight was NaN where torch's is -inf).
//   x = torch.tensor([[inf], [0.0]]); t = torch.zeros(2, 1); w = torch.tensor([0.001, 0.001, 0.0])
//   F.multilabel_soft_margin_loss(x, t, weight=w, reduction='sum'): grads
//     x: [0.002, 0.001], t: [-inf, 0.0] (float64; float32 the same values rounded)
//   x = torch.tensor([[-inf], [0.5]]); t = torch.tensor([[1.0], [0.25]]); w = torch.tensor([0.5, 2.0, 0.0])
//   F.multilabel_soft_margin_loss(x, t, weight=w): grads
//     x: [-1.25, 0.4655741640023181], t: [inf, -0.625]
#[test]
fn multilabel_a_weight_that_enlarges_the_loss_is_summed_before_the_derivatives() {
    let inf = f64::INFINITY;
    let cases = [
        (
            [inf, 0.0],
            [0.0, 0.0],
            [0.001, 0.001, 0.0],
            Reduction::Sum,
            [0.002, 0.001],
            [-inf, 0.0],
        ),
        (
            [-inf, 0.5],
            [1.0, 0.25],
            [0.5, 2.0, 0.0],
            Reduction::Mean,
            [-1.25, 0.4655741640023181],
            [inf, -0.625],
        ),
    ];
    for (x, t, w, reduction, gx, gt) in cases {
        let x = v64(&x).into_shape_with_order(IxDyn(&[2, 1])).unwrap();
        let t = v64(&t).into_shape_with_order(IxDyn(&[2, 1])).unwrap();
        let w = v64(&w);
        let options = mo(reduction).weight(w.view());
        let one = arr0(1.0);
        let got_x = multilabel_soft_margin_loss_backward(one.view(), x.view(), t.view(), &options);
        let got_t =
            multilabel_soft_margin_loss_target_backward(one.view(), x.view(), t.view(), &options);
        let (got_x, got_t) = (got_x.unwrap(), got_t.unwrap());
        assert_eq!(got_x.shape(), &[2, 1]);
        for i in 0..2 {
            assert!((got_x[[i, 0]] - gx[i]).abs() < 1e-15, "{got_x:?}");
            assert_eq!(got_t[[i, 0]], gt[i], "{got_t:?}");
        }
    }
}
