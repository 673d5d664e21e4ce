// Rows of 5,000 classes, longer than a block of the log-sum-exp (2,048 values), whose
// max rises in a later block, so that the partial sums of the earlier blocks must be
// rescaled: log_softmax, softmax and cross_entropy, forward and backward, f64 and f32.

use ndarray::{ArrayD, Axis, IxDyn, arr0, array};

use super::*;

/// Both sides of each block boundary, and the ends of a row.
const COLS: [usize; 8] = [0, 1, 2047, 2048, 2049, 4095, 4096, 4999];

/// Element `i` of `gen(dtype, n, seed)` (the preamble's `gen32`, in any dtype).
fn r#gen<F: Float>(i: usize, seed: usize) -> F {
    -(F::of_f64(((i * 7919 + seed * 104729) % 1000) as f64) / F::of_f64(997.0))
}

/// `XL`: `gen(dtype, 15000, 5)` as 3 rows of 5,000, plus `lift`.
fn xl<F: Float>() -> ArrayD<F> {
    ArrayD::from_shape_fn(IxDyn(&[3, 5000]), |i| {
        let (r, c) = (i[0], i[1]);
        let lift = match r {
            0 => 1.5 * (c / 2048) as f64,
            1 => 2.0 * (c / 4096) as f64,
            _ => 0.25 * (c / 2048) as f64,
        };
        r#gen::<F>(r * 5000 + c, 5) + F::of_f64(lift)
    })
}

/// `GL`: `gen(dtype, 15000, 8)` as 3 rows of 5,000, plus 0.5.
fn gl<F: Float>() -> ArrayD<F> {
    ArrayD::from_shape_fn(IxDyn(&[3, 5000]), |i| {
        r#gen::<F>(i[0] * 5000 + i[1], 8) + F::of_f64(0.5)
    })
}

/// `[:, COLS]` of a `(3, 5000)` result.
fn at_cols<F: Float>(a: &ArrayD<F>) -> ArrayD<F> {
    a.select(Axis(1), &COLS)
}

/// The comparison of each dtype, as in the preamble.
trait Oracle: Float {
    fn assert_torch(actual: &ArrayD<Self>, shape: &[usize], expected: &[Self]);
}

impl Oracle for f64 {
    #[track_caller]
    fn assert_torch(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64]) {
        assert_close(actual, shape, expected);
    }
}

impl Oracle for f32 {
    #[track_caller]
    fn assert_torch(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
        assert_close_f32(actual, shape, expected);
    }
}

/// PyTorch's results for one dtype; those of shape `(3, 5000)` at `[:, COLS]`.
struct Pinned<F> {
    /// `F.log_softmax(XL, 1)`
    log_softmax: [F; 24],
    /// `F.softmax(XL, 1)`
    softmax: [F; 24],
    /// `grad(lambda x: F.log_softmax(x, 1), XL, GL)`
    log_softmax_backward: [F; 24],
    /// `grad(lambda x: F.softmax(x, 1), XL, GL)`
    softmax_backward: [F; 24],
    /// `F.cross_entropy(XL, TL, reduction='none')`
    none: [F; 3],
    /// `grad(lambda x: F.cross_entropy(x, TL, reduction='none'), XL, GN)`
    none_grad: [F; 24],
    /// `F.cross_entropy(XL, TL)`
    mean: F,
    /// `F.cross_entropy(XL, TL, label_smoothing=0.1, reduction='sum')`
    smoothed_sum: F,
    /// `grad(lambda x: F.cross_entropy(x, TL, label_smoothing=0.1, reduction='sum'), XL,
    /// torch.tensor(1.0, dtype=XL.dtype))`
    smoothed_sum_grad: [F; 24],
}

// torch 2.13.0, with `dtype` np.float64 (F64) or np.float32 (F32), and the preamble:
//     def gen(dtype, n, seed):
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return -(k.astype(dtype) / dtype(997.0))
//     c = np.arange(5000)  # row maxima by block: 0, 1.5, 3 / 0, 0, 2 / 0, 0.25, 0.5
//     lift = np.stack([1.5 * (c // 2048), 2.0 * (c // 4096), 0.25 * (c // 2048)]).astype(dtype)
//     XL = torch.from_numpy(gen(dtype, 15000, 5).reshape(3, 5000) + lift)
//     GL = torch.from_numpy(gen(dtype, 15000, 8).reshape(3, 5000) + dtype(0.5))
//     TL = torch.tensor([4500, 17, 2100])
//     GN = torch.tensor([0.5, -1.25, 2.0], dtype=XL.dtype)
//     COLS = [0, 1, 2047, 2048, 2049, 4095, 4096, 4999]
// and each field's expression of `Pinned` (`[:, COLS]` of the (3, 5000) ones).
const F64: Pinned<f64> = Pinned {
    log_softmax: [
        -10.47493433283774,
        -10.39369060164416,
        -10.66851507506442,
        -9.087271343870839,
        -9.006027612677258,
        -9.28085208609752,
        -7.699608354903939,
        -7.556178064031322,
        -9.471746737641753,
        -9.390503006448172,
        -9.665327479868434,
        -9.584083748674853,
        -9.502840017481272,
        -9.777664490901532,
        -7.6964207597079515,
        -7.552990468835334,
        -8.914560966020938,
        -8.833317234827359,
        -9.108141708247619,
        -8.776897977054038,
        -8.695654245860457,
        -8.970478719280717,
        -8.639234988087138,
        -8.495804697214519,
    ],
    softmax: [
        2.8235391961039526e-05,
        3.062510067848169e-05,
        2.326605619921368e-05,
        0.00011309624864507548,
        0.0001226681749590459,
        9.319168228751214e-05,
        0.00045300456516552,
        0.0005228698048290064,
        7.699679674873096e-05,
        8.351343787273079e-05,
        6.34456147372517e-05,
        6.881534853908079e-05,
        7.463955096292446e-05,
        5.670407440024025e-05,
        0.00045445086422454323,
        0.0005245391613098613,
        0.00013441736074318227,
        0.00014579380415104365,
        0.00011076034905115302,
        0.00015425584898163158,
        0.00016731132728122432,
        0.00012710732885933446,
        0.00017702227460414426,
        0.0002043237735117217,
    ],
    log_softmax_backward: [
        -0.3343619087664943,
        -0.2531061930758351,
        0.47504145464493086,
        -0.44627333877309394,
        -0.36498160393701584,
        0.3630551237827859,
        0.4461033328243005,
        -0.413125026054017,
        -0.3341173681206182,
        -0.25284095567766934,
        0.47524295694451985,
        -0.44649540948576194,
        -0.36522246965414784,
        0.36287213678234825,
        0.44611058607936077,
        -0.4131166541559185,
        -0.33382940140048556,
        -0.252528616829734,
        0.4754802424726738,
        -0.4460669215196508,
        -0.3647577165131333,
        0.36322521228114013,
        0.44471926918056237,
        -0.41472254877877773,
    ],
    softmax_backward: [
        -9.823486690305093e-06,
        -8.166802237445619e-06,
        1.073761849815572e-05,
        -5.2052656901190306e-05,
        -4.6492124934545885e-05,
        3.25404224105763e-05,
        0.0001949827037741943,
        -0.00022439359195734233,
        -2.678883294207349e-05,
        -2.227116851563498e-05,
        2.928058832675968e-05,
        -3.167284263521862e-05,
        -2.82894851448982e-05,
        1.9799354782063653e-05,
        0.000195601837005659,
        -0.00022511391540282565,
        -4.6804909641913864e-05,
        -3.892142100982619e-05,
        5.108515928410799e-05,
        -7.104142805822866e-05,
        -6.346103872107441e-05,
        4.434589591730764e-05,
        7.614244364687976e-05,
        -8.774675636253923e-05,
    ],
    none: [6.9734298192971185, 9.093612334432125, 8.564260063312814],
    none_grad: [
        1.411769598051977e-05,
        1.5312550339240852e-05,
        1.1633028099606857e-05,
        5.6548124322537814e-05,
        6.133408747952303e-05,
        4.659584114375609e-05,
        0.0002265022825827602,
        0.0002614349024145032,
        -9.624599593591372e-05,
        -0.00010439179734091352,
        -7.930701842156457e-05,
        -8.601918567385093e-05,
        -9.329943870365552e-05,
        -7.088009300030033e-05,
        -0.0005680635802806795,
        -0.0006556739516373265,
        0.00026883472148636465,
        0.0002915876083020869,
        0.0002215206981023059,
        0.00030851169796326306,
        0.00033462265456244854,
        0.00025421465771866903,
        0.00035404454920828814,
        0.0004086475470234434,
    ],
    mean: 8.210434072347352,
    smoothed_sum: 24.8393948549558,
    smoothed_sum_grad: [
        8.235391961039538e-06,
        1.0625100678481703e-05,
        3.2660561992137115e-06,
        9.309624864507563e-05,
        0.00010266817495904607,
        7.319168228751218e-05,
        0.0004330045651655204,
        0.0005028698048290064,
        5.699679674873273e-05,
        6.351343787273273e-05,
        4.3445614737253115e-05,
        4.881534853908232e-05,
        5.463955096292612e-05,
        3.670407440024156e-05,
        0.00043445086422455397,
        0.0005045391613098731,
        0.000114417360743184,
        0.00012579380415104528,
        9.076034905115432e-05,
        0.00013425584898163346,
        0.00014731132728122636,
        0.00010710732885933609,
        0.00015702227460414627,
        0.00018432377351172425,
    ],
};

const F32: Pinned<f32> = Pinned {
    log_softmax: [
        -10.474935, -10.39369, -10.668515, -9.087272, -9.006027, -9.280852, -7.699609, -7.556178,
        -9.471746, -9.390503, -9.665327, -9.584084, -9.50284, -9.777664, -7.6964207, -7.5529904,
        -8.914561, -8.833318, -9.108142, -8.776898, -8.695655, -8.970479, -8.6392355, -8.495805,
    ],
    softmax: [
        2.8235389e-05,
        3.0625106e-05,
        2.3266055e-05,
        0.00011309625,
        0.00012266818,
        9.319168e-05,
        0.00045300453,
        0.00052286976,
        7.699679e-05,
        8.351345e-05,
        6.3445616e-05,
        6.8815345e-05,
        7.463955e-05,
        5.6704066e-05,
        0.0004544508,
        0.00052453915,
        0.00013441735,
        0.00014579379,
        0.00011076034,
        0.00015425583,
        0.0001673113,
        0.00012710731,
        0.00017702223,
        0.00020432375,
    ],
    log_softmax_backward: [
        -0.33436194,
        -0.2531062,
        0.47504145,
        -0.44627336,
        -0.3649816,
        0.3630551,
        0.44610333,
        -0.413125,
        -0.33411738,
        -0.25284097,
        0.47524294,
        -0.4464954,
        -0.36522245,
        0.36287212,
        0.4461106,
        -0.41311663,
        -0.33382943,
        -0.2525286,
        0.47548023,
        -0.44606692,
        -0.3647577,
        0.3632252,
        0.44471928,
        -0.41472253,
    ],
    softmax_backward: [
        -9.823487e-06,
        -8.166804e-06,
        1.0737617e-05,
        -5.205266e-05,
        -4.6492125e-05,
        3.2540418e-05,
        0.00019498268,
        -0.00022439357,
        -2.6788834e-05,
        -2.2271173e-05,
        2.9280587e-05,
        -3.1672844e-05,
        -2.8289485e-05,
        1.979935e-05,
        0.00019560181,
        -0.00022511391,
        -4.680491e-05,
        -3.892142e-05,
        5.1085153e-05,
        -7.1041424e-05,
        -6.3461026e-05,
        4.434589e-05,
        7.614242e-05,
        -8.774675e-05,
    ],
    none: [6.9734297, 9.093613, 8.5642605],
    none_grad: [
        1.4117692e-05,
        1.5312558e-05,
        1.1633027e-05,
        5.6548106e-05,
        6.133411e-05,
        4.659583e-05,
        0.00022650218,
        0.0002614349,
        -9.624602e-05,
        -0.0001043918,
        -7.930705e-05,
        -8.60192e-05,
        -9.3299444e-05,
        -7.0880116e-05,
        -0.00056806364,
        -0.0006556739,
        0.00026883464,
        0.00029158746,
        0.00022152066,
        0.00030851157,
        0.00033462245,
        0.0002542146,
        0.00035404437,
        0.00040864752,
    ],
    mean: 8.210434,
    smoothed_sum: 24.839394,
    smoothed_sum_grad: [
        8.235446e-06,
        1.0625183e-05,
        3.2661037e-06,
        9.309645e-05,
        0.000102668484,
        7.3191855e-05,
        0.00043300533,
        0.00050287094,
        5.699815e-05,
        6.351488e-05,
        4.3446733e-05,
        4.881655e-05,
        5.4640845e-05,
        3.670507e-05,
        0.00043445875,
        0.0005045482,
        0.0001144187,
        0.00012579522,
        9.076147e-05,
        0.00013425737,
        0.00014731294,
        0.0001071086,
        0.000157024,
        0.00018432585,
    ],
};

#[track_caller]
fn check_log_softmax<F: Oracle>(pinned: &Pinned<F>) {
    let logp = log_softmax(xl::<F>().view(), 1).unwrap();
    F::assert_torch(&at_cols(&logp), &[3, 8], &pinned.log_softmax);
    let grad = log_softmax_backward(gl::<F>().view(), logp.view(), 1).unwrap();
    F::assert_torch(&at_cols(&grad), &[3, 8], &pinned.log_softmax_backward);
}

#[test]
fn log_softmax_rescales_earlier_blocks_when_a_later_one_raises_the_max() {
    check_log_softmax(&F64);
    check_log_softmax(&F32);
}

#[track_caller]
fn check_softmax<F: Oracle>(pinned: &Pinned<F>) {
    let p = softmax(xl::<F>().view(), 1).unwrap();
    F::assert_torch(&at_cols(&p), &[3, 8], &pinned.softmax);
    let grad = softmax_backward(gl::<F>().view(), p.view(), 1).unwrap();
    F::assert_torch(&at_cols(&grad), &[3, 8], &pinned.softmax_backward);
}

#[test]
fn softmax_and_its_backward_match_pytorch_on_rows_longer_than_a_block() {
    check_softmax(&F64);
    check_softmax(&F32);
}

#[track_caller]
fn check_cross_entropy<F: Oracle>(pinned: &Pinned<F>) {
    let (x, t) = (xl::<F>(), array![4500i64, 17, 2100]);
    let loss = |options: &CrossEntropyOptions<'_, F>| {
        cross_entropy(x.view(), Target::indices(t.view()), options).unwrap()
    };
    let none = CrossEntropyOptions::default().reduction(Reduction::None);
    F::assert_torch(&loss(&none), &[3], &pinned.none);
    F::assert_torch(&loss(&CrossEntropyOptions::default()), &[], &[pinned.mean]);
    let smoothed = CrossEntropyOptions::default()
        .reduction(Reduction::Sum)
        .label_smoothing(0.1);
    F::assert_torch(&loss(&smoothed), &[], &[pinned.smoothed_sum]);
}

#[test]
fn cross_entropy_rescales_earlier_blocks_when_a_later_one_raises_the_max() {
    check_cross_entropy(&F64);
    check_cross_entropy(&F32);
}

#[track_caller]
fn check_cross_entropy_grads<F: Oracle>(pinned: &Pinned<F>) {
    let (x, t) = (xl::<F>(), array![4500i64, 17, 2100]);
    let gn = array![0.5, -1.25, 2.0].mapv(F::of_f64);
    let none = CrossEntropyOptions::default().reduction(Reduction::None);
    let (loss, grad) =
        cross_entropy_with_grad(gn.view(), x.view(), Target::indices(t.view()), &none).unwrap();
    F::assert_torch(&loss, &[3], &pinned.none);
    F::assert_torch(&at_cols(&grad), &[3, 8], &pinned.none_grad);
    let smoothed = CrossEntropyOptions::default()
        .reduction(Reduction::Sum)
        .label_smoothing(0.1);
    let one = arr0(F::one());
    let grad =
        cross_entropy_backward(one.view(), x.view(), Target::indices(t.view()), &smoothed).unwrap();
    F::assert_torch(&at_cols(&grad), &[3, 8], &pinned.smoothed_sum_grad);
}

#[test]
fn cross_entropy_gradients_rescale_earlier_blocks_when_a_later_one_raises_the_max() {
    check_cross_entropy_grads(&F64);
    check_cross_entropy_grads(&F32);
}
