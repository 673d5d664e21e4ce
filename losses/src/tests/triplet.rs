// triplet_margin_loss and triplet_margin_with_distance_loss (default distance),
// forward and the gradients of anchor, positive and negative: every reduction, norm
// order p (1, 2, 3, fractional, negative, +-inf, 0), margin and eps, swap (and its
// ties), the kinks (clamp_min's argument 0, a difference of norm 0), broadcasting,
// unbatched, 0-D and 3-D inputs, empty batches and feature dimensions, NaN and
// infinities, f32 (bit-exact distances), errors and their order, long inputs and
// thread-count independence. The tests use (in the oracle interpreter):
//
//     import torch, torch.nn.functional as F, numpy as np, math
//     nan, inf = math.nan, math.inf
//     D = torch.float64
//     A = torch.tensor([[0.3, -1.1, 2.4], [0.05, 1.7, -0.6], [1.2, 0.0, -0.5], [-0.7, 0.8, 0.9]], dtype=D)
//     P = torch.tensor([[1.0, -1.1, 0.4], [0.5, 2.2, -0.6], [1.2, 0.0, -0.5], [0.1, 0.3, 1.9]], dtype=D)
//     N = torch.tensor([[0.2, -0.9, 2.0], [-1.5, 0.4, 0.3], [2.0, 1.0, -1.0], [-0.7, 0.8, 0.9]], dtype=D)
//     G = torch.tensor([0.3, -1.2, 0.8, 2.1], dtype=D)
//     AS = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=D)
//     PS = torch.tensor([[3.0, 0.0], [0.0, 1.0], [1.0, 2.0], [0.0, -1.0]], dtype=D)
//     NS = torch.tensor([[4.0, 0.0], [0.0, -2.0], [1.0, 3.0], [0.5, 0.0]], dtype=D)
//     KA = torch.tensor([[0.0, 0.0], [0.0, 0.0]], dtype=D)
//     KP = torch.tensor([[0.0, 0.0], [3.0, 4.0]], dtype=D)
//     KN = torch.tensor([[1.0, 0.0], [3.0, 4.0]], dtype=D)
//     AN = torch.tensor([[nan, 1.0], [0.0, 1.0], [inf, 0.0]], dtype=D)
//     PN = torch.tensor([[0.0, -1.0], [0.0, 0.0], [0.0, 0.0]], dtype=D)
//     NN = torch.tensor([[0.5, 0.0], [nan, 0.0], [inf, 0.0]], dtype=D)
//     def gen(n, seed, scale):  # float32 in [-scale, scale)
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return (k.astype(np.float32) / np.float32(500.0) - np.float32(1.0)) * np.float32(scale)
//     def E(rows, cols, seed, scale=1.0): return torch.from_numpy(gen(rows * cols, seed, scale)).reshape(rows, cols)
//     def rg(t): return t.clone().requires_grad_(True)
//     def grads(fn, a, p, n, g):  # autograd's gradients of sum(fn(a, p, n) * g)
//         a, p, n = rg(a), rg(p), rg(n)
//         return torch.autograd.grad((fn(a, p, n) * g).sum(), [a, p, n])
//
// Each `check` compares the loss and the three gradients (`grad_output` is `g`: the
// loss's shape for 'none', 0-D otherwise) with the values torch printed (`.tolist()`,
// `repr`), bit for bit (zeros' signs included) where the module docs say the crate is
// bit-exact, and within 1e-12 relative (`assert_close`) or the float32 tolerance
// elsewhere.

use ndarray::{ArrayD, IxDyn, arr0, s};

use super::*;

use Reduction as R;

/// One call's expected values: the loss's shape and values, then the gradients of
/// anchor, positive and negative (each of its tensor's shape), row-major.
struct Expect<'a, T> {
    shape: &'a [usize],
    loss: &'a [T],
    anchor: &'a [T],
    positive: &'a [T],
    negative: &'a [T],
}

fn o(reduction: Reduction) -> TripletMarginOptions {
    TripletMarginOptions::default().reduction(reduction)
}

fn s(v: f64) -> ArrayD<f64> {
    arr0(v).into_dyn()
}

fn a() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            0.3, -1.1, 2.4, 0.05, 1.7, -0.6, 1.2, 0.0, -0.5, -0.7, 0.8, 0.9,
        ],
    )
}

fn p() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            1.0, -1.1, 0.4, 0.5, 2.2, -0.6, 1.2, 0.0, -0.5, 0.1, 0.3, 1.9,
        ],
    )
}

fn n() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            0.2, -0.9, 2.0, -1.5, 0.4, 0.3, 2.0, 1.0, -1.0, -0.7, 0.8, 0.9,
        ],
    )
}

/// `torch.cat([N, N[:, :2]], 1)`: five features.
fn n5() -> ArrayD<f64> {
    let n = n();
    let mut out = ArrayD::zeros(IxDyn(&[4, 5]));
    out.slice_mut(s![.., ..3]).assign(&n);
    out.slice_mut(s![.., 3..]).assign(&n.slice(s![.., ..2]));
    out
}

fn g() -> ArrayD<f64> {
    a64(&[4], &[0.3, -1.2, 0.8, 2.1])
}

fn g2() -> ArrayD<f64> {
    a64(&[2], &[0.3, -1.2])
}

fn g3() -> ArrayD<f64> {
    a64(&[3], &[0.3, -1.2, 0.8])
}

fn as_() -> ArrayD<f64> {
    a64(&[4, 2], &[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0])
}

fn ps() -> ArrayD<f64> {
    a64(&[4, 2], &[3.0, 0.0, 0.0, 1.0, 1.0, 2.0, 0.0, -1.0])
}

fn ns() -> ArrayD<f64> {
    a64(&[4, 2], &[4.0, 0.0, 0.0, -2.0, 1.0, 3.0, 0.5, 0.0])
}

fn ka() -> ArrayD<f64> {
    a64(&[2, 2], &[0.0, 0.0, 0.0, 0.0])
}

fn kp() -> ArrayD<f64> {
    a64(&[2, 2], &[0.0, 0.0, 3.0, 4.0])
}

fn kn() -> ArrayD<f64> {
    a64(&[2, 2], &[1.0, 0.0, 3.0, 4.0])
}

fn an() -> ArrayD<f64> {
    a64(&[3, 2], &[f64::NAN, 1.0, 0.0, 1.0, f64::INFINITY, 0.0])
}

fn pn() -> ArrayD<f64> {
    a64(&[3, 2], &[0.0, -1.0, 0.0, 0.0, 0.0, 0.0])
}

fn nn() -> ArrayD<f64> {
    a64(&[3, 2], &[0.5, 0.0, f64::NAN, 0.0, f64::INFINITY, 0.0])
}

/// A column `(len, 1)`.
fn col(values: &[f64]) -> ArrayD<f64> {
    a64(&[values.len(), 1], values)
}

fn rows(t: &ArrayD<f64>, from: usize, to: usize) -> ArrayD<f64> {
    t.slice(s![from..to, ..]).to_owned().into_dyn()
}

fn row(t: &ArrayD<f64>, r: usize) -> ArrayD<f64> {
    t.slice(s![r, ..]).to_owned().into_dyn()
}

fn cols(t: &ArrayD<f64>, from: usize, to: usize) -> ArrayD<f64> {
    t.slice(s![.., from..to]).to_owned().into_dyn()
}

/// The same bits (any NaN matches any NaN), shape included.
#[track_caller]
fn assert_same(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64], what: &str) {
    assert_eq!(actual.shape(), shape, "shape of the {what}");
    let got: Vec<f64> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of the {what}");
    for (i, (&x, &e)) in got.iter().zip(expected).enumerate() {
        let same = (x.is_nan() && e.is_nan()) || x.to_bits() == e.to_bits();
        assert!(
            same,
            "{what} element {i}: rust {x:?}, torch {e:?}\nrust: {got:?}"
        );
    }
}

/// Which loss a check calls.
#[derive(Clone, Copy)]
enum Opts {
    Triplet(TripletMarginOptions),
    WithDistance(TripletMarginWithDistanceOptions),
}

impl From<&TripletMarginOptions> for Opts {
    fn from(o: &TripletMarginOptions) -> Self {
        Opts::Triplet(*o)
    }
}

impl From<&TripletMarginWithDistanceOptions> for Opts {
    fn from(o: &TripletMarginWithDistanceOptions) -> Self {
        Opts::WithDistance(*o)
    }
}

fn wo(reduction: Reduction) -> TripletMarginWithDistanceOptions {
    TripletMarginWithDistanceOptions::default().reduction(reduction)
}

/// The loss and the gradients of anchor, positive and negative.
fn run<F: Float>(t: [&ArrayD<F>; 3], o: Opts, g: &ArrayD<F>) -> [ArrayD<F>; 4] {
    let [a, p, n] = t;
    let (a, p, n, g) = (|| a.view(), || p.view(), || n.view(), || g.view());
    match o {
        Opts::Triplet(o) => [
            triplet_margin_loss(a(), p(), n(), &o).unwrap(),
            triplet_margin_loss_backward(g(), a(), p(), n(), &o).unwrap(),
            triplet_margin_loss_positive_backward(g(), a(), p(), n(), &o).unwrap(),
            triplet_margin_loss_negative_backward(g(), a(), p(), n(), &o).unwrap(),
        ],
        Opts::WithDistance(o) => [
            triplet_margin_with_distance_loss(a(), p(), n(), &o).unwrap(),
            triplet_margin_with_distance_loss_backward(g(), a(), p(), n(), &o).unwrap(),
            triplet_margin_with_distance_loss_positive_backward(g(), a(), p(), n(), &o).unwrap(),
            triplet_margin_with_distance_loss_negative_backward(g(), a(), p(), n(), &o).unwrap(),
        ],
    }
}

const WHAT: [&str; 4] = [
    "loss",
    "anchor gradient",
    "positive gradient",
    "negative gradient",
];

fn expected<'a, T>(t: [&ArrayD<T>; 3], e: &Expect<'a, T>) -> [(Vec<usize>, &'a [T]); 4] {
    [
        (e.shape.to_vec(), e.loss),
        (t[0].shape().to_vec(), e.anchor),
        (t[1].shape().to_vec(), e.positive),
        (t[2].shape().to_vec(), e.negative),
    ]
}

/// The loss and the three gradients of one call, bit for bit.
#[track_caller]
fn check(t: [&ArrayD<f64>; 3], o: impl Into<Opts>, g: &ArrayD<f64>, e: Expect<'_, f64>) {
    let got = run(t, o.into(), g);
    for (k, (shape, values)) in expected(t, &e).into_iter().enumerate() {
        assert_same(&got[k], &shape, values, WHAT[k]);
    }
}

use check as check_wd;

/// The loss and the three gradients of one call, within 1e-12 relative: for calls
/// whose gradients libtorch sums over a broadcast feature dimension in its own order.
#[track_caller]
fn check_close(t: [&ArrayD<f64>; 3], o: impl Into<Opts>, g: &ArrayD<f64>, e: Expect<'_, f64>) {
    let got = run(t, o.into(), g);
    for (k, (shape, values)) in expected(t, &e).into_iter().enumerate() {
        assert_close(&got[k], &shape, values);
    }
}

use check_close as check_wd_close;

/// f32: the same bits.
#[track_caller]
fn check32(t: [&ArrayD<f32>; 3], o: impl Into<Opts>, g: &ArrayD<f32>, e: Expect<'_, f32>) {
    let got = run(t, o.into(), g);
    for (k, (shape, values)) in expected(t, &e).into_iter().enumerate() {
        assert!(got[k].len() == values.len(), "{}", WHAT[k]);
        let same = got[k]
            .iter()
            .zip(values)
            .all(|(x, e)| x.to_bits() == e.to_bits() || (x.is_nan() && e.is_nan()));
        assert!(same, "{} differs", WHAT[k]);
        assert_bits(&got[k], &shape, values);
    }
}

use check32 as check_wd32;

/// f32: within the float32 tolerance (`mean` and `sum` add in `f64`, libtorch in
/// `f32`; broadcast gradients are summed in another order).
#[track_caller]
fn check32_close(t: [&ArrayD<f32>; 3], o: impl Into<Opts>, g: &ArrayD<f32>, e: Expect<'_, f32>) {
    let got = run(t, o.into(), g);
    for (k, (shape, values)) in expected(t, &e).into_iter().enumerate() {
        assert_close_f32(&got[k], &shape, values);
    }
}

use check32_close as check_wd32_close;

/// The preamble's `gen(n, seed, scale)`: numpy's float32 steps, rounded the same way.
fn r#gen(n: usize, seed: usize, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i * 7919 + seed * 104729) % 1000) as f32 / 500.0 - 1.0) * scale)
        .collect()
}

/// The preamble's `E(rows, cols, seed, scale)`.
fn e32s(rows: usize, cols: usize, seed: usize, scale: f32) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(&[rows, cols]), r#gen(rows * cols, seed, scale)).unwrap()
}

fn e32(rows: usize, cols: usize, seed: usize) -> ArrayD<f32> {
    e32s(rows, cols, seed, 1.0)
}

/// `E(1, len, seed).reshape(len)`.
fn ev32(len: usize, seed: usize) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(&[len]), r#gen(len, seed, 1.0)).unwrap()
}

fn s32(v: f32) -> ArrayD<f32> {
    arr0(v).into_dyn()
}

// The defaults, each reduction. A[2] == P[2] (d(a, p) = |eps| * sqrt(3)): no loss;
// A[3] == N[3]: d(a, n) is eps's. Gradients for all three tensors, the signs of zeros
// included (clamp_min blocks with +0, which the negative distance gets negated).
// torch 2.13.0:
//   F.triplet_margin_loss(A, P, N, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n), A, P, N, 0.7)
//   F.triplet_margin_loss(A, P, N, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='sum'), A, P, N, -1.3)
#[test]
#[rustfmt::skip]
fn each_reduction() {
    check(
        [&a(), &p(), &n()],
        &o(R::None),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.6607043993982, 0.0, 0.0, 2.3747700308258524],
            anchor: &[
                -0.16457088534687683, 0.13093003402313214, 0.021295817658170457, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -2.4344550636363715, -0.44867089660665727, -2.7399603201024814,
            ],
            positive: &[
                0.0991049571455638, -1.415787124632518e-07, -0.2831575665052161, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 1.222019498338157, -0.7637646686915571, 1.5275247548042667,
            ],
            negative: &[
                0.06546592820131303, -0.13092989244441966, 0.26186174884704566, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 1.2124355652982144, 1.2124355652982144, 1.2124355652982144,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Mean),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[1.2588686075560132],
            anchor: &[
                -0.09599968311901148, 0.07637585318016041, 0.012422560300599461, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -0.2028712553030309, -0.03738924138388809, -0.22833002667520674,
            ],
            positive: &[
                0.057811225001578884, -8.258758227023022e-08, -0.16517524712804274, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, 0.1018349581948464, -0.06364705572429642,
                0.12729372956702223,
            ],
            negative: &[
                0.0381884581174326, -0.07637577059257813, 0.15275268682744328, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 0.10103629710818451, 0.10103629710818451, 0.10103629710818451,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Sum),
        &s(-1.3),
        Expect {
            shape: &[],
            loss: &[5.035474430224053],
            anchor: &[
                0.7131405031697997, -0.567363480766906, -0.09228187651873898, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, 1.5070436108225156, 0.27774865028031165, 1.696165912444393,
            ],
            positive: &[
                -0.4294548142974432, 6.135077540074246e-07, 1.2270161215226034, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.756488260876002, 0.472806699666202, -0.9456105624978794,
            ],
            negative: &[
                -0.2836856888723565, 0.567362867259152, -1.1347342450038644, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, -0.7505553499465136, -0.7505553499465136, -0.7505553499465136,
            ],
        },
    );
}

// Every kind of norm order: 1, 3 and 2.5 (the `p > 2` formula), 1.5, 0.5 and 0.25 (`p < 1`),
// negative orders (-1 and -2), +-inf (the mask of the maxima, or minima), 4 (whose
// `|u|^(p-2)` is libtorch's `x * x` special case).
// torch 2.13.0:
//   F.triplet_margin_loss(A, P, N, p=1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=1.5, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1.5, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=0.5, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=0.5, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=-1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=-1, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=inf, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=inf, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=-inf, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=-inf, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, p=2.5, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=2.5, reduction='sum'), A, P, N, 0.7)
//   F.triplet_margin_loss(A, P, N, p=-2, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=-2, reduction='sum'), A, P, N, 0.7)
//   F.triplet_margin_loss(A, P, N, p=4)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=4), A, P, N, 0.7)
//   F.triplet_margin_loss(A, P, N, p=0.25, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=0.25, reduction='sum'), A, P, N, 1.0)
#[test]
#[rustfmt::skip]
fn orders() {
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(1.0),
        &g(),
        Expect {
            shape: &[4],
            loss: &[3.0000000000000004, 0.0, 0.0, 3.2999959999999997],
            anchor: &[-0.6, 0.6, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -4.2, 0.0, -4.2],
            positive: &[0.3, -0.3, -0.3, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, 2.1, -2.1, 2.1],
            negative: &[0.3, -0.3, 0.3, 0.0, 0.0, -0.0, -0.0, -0.0, 0.0, 2.1, 2.1, 2.1],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(3.0),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.6102504798996318, 0.0, 0.0, 2.178551756780979],
            anchor: &[
                -0.052911234177538645, 0.06870053454107637, 0.016913928497849173, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, -1.9771834802064645, -0.6316000623142317, -2.521464175459459,
            ],
            positive: &[
                0.03573558528183802, -7.292997425250827e-14, -0.2917201887300031, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 0.96760878099128, -0.37797463690095273, 1.5118894762442745,
            ],
            negative: &[
                0.017175648895700626, -0.06870053454100344, 0.27480626023215393, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 1.0095746992151844, 1.0095746992151844, 1.0095746992151844,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(1.5),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.7481990698883134, 0.0, 0.0, 2.6237512633897118],
            anchor: &[
                -0.2983589751604169, 0.18640475011706484, 0.018423802602417494, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -2.9300807512962113, -0.2907400127774731, -3.104065662333821,
            ],
            positive: &[
                0.16669080434529204, -0.00019923376057633474, -0.28175915672940943, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, 1.4740220751598787, -1.1653186633588595,
                1.6480069861974886,
            ],
            negative: &[
                0.1316681708151248, -0.1862055163564885, 0.26333535412699194, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 1.4560586761363326, 1.4560586761363326, 1.4560586761363326,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(0.5),
        &g(),
        Expect {
            shape: &[4],
            loss: &[4.122401923818794, 0.0, 0.0, 7.767968177424254],
            anchor: &[
                -2.1317102474281797, 676.4984027388549, -0.1844374470282939, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -12.408070139266759, 1.4261529442539045, -11.763223334191103,
            ],
            positive: &[
                0.8074516106585983, -675.5620034537995, -0.47769435433057783, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 6.108070139266759, -7.726152944253904, 5.463223334191104,
            ],
            negative: &[
                1.3242586367695814, -0.9363992850553685, 0.6621318013588717, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 6.3, 6.3, 6.3,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(-1.0),
        &g(),
        Expect {
            shape: &[4],
            loss: &[
                0.9428578775515846, 0.6040403368365523, 0.7647061361020789, 1.235293863897921,
            ],
            anchor: &[
                -0.09795813411615993, 0.32448911108349215, -0.006122475218012258,
                0.07831074854286389, 0.11132634714963928, -1.4322642299402737,
                0.1580932609630865, 0.13317966487095695, -0.08827315206448012,
                -0.4149948100281022, 0.23171702416926024, -0.349596620286262,
            ],
            positive: &[
                6.122442857159257e-13, -0.29999884285941575, -7.499963571519945e-14,
                -5.925902222298599e-12, -4.799978666733031e-12, 1.1999898667093924,
                -0.08888888888888889, -0.08888888888888889, -0.08888888888888889,
                0.18166147669476881, -0.4650503575025936, 0.11626328695292863,
            ],
            negative: &[
                0.09795813411554768, -0.02449026822407641, 0.006122475218087258,
                -0.078310748536938, -0.1113263471448393, 0.2322743632308813,
                -0.06920437207419762, -0.04429077598206805, 0.17716204095336902,
                0.23333333333333336, 0.23333333333333336, 0.23333333333333336,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(f64::INFINITY),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.6, 0.0, 1.999999999946489e-06, 1.999998],
            anchor: &[
                -0.0, 0.0, 0.0, -0.0, -0.0, 0.0, 0.26666666666666666, 1.0666666666666667,
                0.26666666666666666, -0.7000000000000001, -0.7000000000000001,
                -2.8000000000000003,
            ],
            positive: &[
                0.0, -0.0, -0.3, 0.0, 0.0, -0.0, -0.26666666666666666, -0.26666666666666666,
                -0.26666666666666666, 0.0, -0.0, 2.1,
            ],
            negative: &[
                0.0, -0.0, 0.3, 0.0, 0.0, -0.0, -0.0, -0.8, 0.0, 0.7000000000000001,
                0.7000000000000001, 0.7000000000000001,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).p(f64::NEG_INFINITY),
        &g(),
        Expect {
            shape: &[4],
            loss: &[
                0.8999999999999999, 0.10000200000000004, 0.4999999999999999, 1.5000000000000002,
            ],
            anchor: &[
                -0.3, 0.3, 0.0, 0.0, 0.0, -2.4, 0.26666666666666666, 0.26666666666666666,
                -0.5333333333333334, -0.7000000000000001, 1.4, -0.7000000000000001,
            ],
            positive: &[
                0.0, -0.3, -0.0, -0.0, -0.0, 1.2, -0.26666666666666666, -0.26666666666666666,
                -0.26666666666666666, 0.0, -2.1, 0.0,
            ],
            negative: &[
                0.3, -0.0, 0.0, -0.0, -0.0, 1.2, -0.0, -0.0, 0.8, 0.7000000000000001,
                0.7000000000000001, 0.7000000000000001,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Sum).p(2.5),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[4.876003636972699],
            anchor: &[
                -0.21710578476497924, 0.2209544897733076, 0.04626187018323691, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -0.7202164365560277, -0.18514766555086243, -0.8625841958163423,
            ],
            positive: &[
                0.13898481812514132, -2.373128383649096e-10, -0.6712225724984335, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 0.35811913597577677, -0.1769496350293886, 0.5004868952360912,
            ],
            negative: &[
                0.07812096663983792, -0.22095448953599475, 0.6249607023151966, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 0.362097300580251, 0.362097300580251, 0.362097300580251,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Sum).p(-2.0),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[3.244936407683744],
            anchor: &[
                -0.46552701010194625, 0.758193494902142, -0.007274023195500708,
                -0.05597551805453469, -0.09487744866185818, 0.9859354328595679,
                0.2160405614878793, 0.17635368690450465, -0.19839093197187874,
                -0.21604056148787937, 0.19839093197187874, -0.17635368690450468,
            ],
            positive: &[
                2.0408250729042747e-18, -0.6999999999975945, -8.749986874983055e-20,
                7.681807041734122e-18, 5.600033600059308e-18, -0.6999999999906146,
                -0.1347150628109126, -0.1347150628109126, -0.1347150628109126,
                0.08132549867696674, -0.33310599478279135, 0.04163862409359206,
            ],
            negative: &[
                0.46552701010194625, -0.05819349490454745, 0.007274023195500708,
                0.055975518054534684, 0.09487744866185818, -0.2859354328689533,
                -0.0813254986769667, -0.04163862409359204, 0.33310599478279135,
                0.1347150628109126, 0.1347150628109126, 0.1347150628109126,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Mean).p(4.0),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[1.175619296852999],
            anchor: &[
                -0.01002544289787025, 0.02084475599193535, 0.006294155025547532, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -0.1438141669415562, -0.06040285993688489, -0.20771479880593313,
            ],
            positive: &[
                0.0074197311447808155, -2.163196193504208e-20, -0.17305595506400973, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, 0.06704318285266075, -0.01636812415201053,
                0.13094381471703773,
            ],
            negative: &[
                0.0026057117530894334, -0.02084475599193535, 0.1667618000384622, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 0.07677098408889542, 0.07677098408889542, 0.07677098408889542,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Sum).p(0.25),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[66.2381681987045],
            anchor: &[
                -59.51474321846087, 308000.0091100477, -10.751644320794234, -0.0, -0.0, 0.0, 0.0,
                0.0, 0.0, -52.5814133380768, 9.392631787922806, -48.63923701614016,
            ],
            positive: &[
                12.725897877087169, -307972.1879831712, -5.7908036420192595, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 25.5814133380768, -36.3926317879228, 21.639237016140164,
            ],
            negative: &[
                46.7888453413737, -27.82112687649611, 16.542447962813494, 0.0, 0.0, -0.0, -0.0,
                -0.0, 0.0, 26.999999999999996, 26.999999999999996, 26.999999999999996,
            ],
        },
    );
}

// The margin scales nothing but shifts the kink; eps = 0 gives equal vectors a distance of
// exactly 0 (the p = 2 backward masks it to 0); a negative eps is accepted.
// torch 2.13.0:
//   F.triplet_margin_loss(A, P, N, margin=0.25, eps=0.0, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=0.25, eps=0.0, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, margin=3.0, eps=1e-3, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0, eps=1e-3, reduction='sum'), A, P, N, 1.0)
//   F.triplet_margin_loss(A, P, N, eps=-0.1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=-0.1, reduction='none'), A, P, N, G)
#[test]
#[rustfmt::skip]
fn margin_eps() {
    check(
        [&a(), &p(), &n()],
        &o(R::None).margin(0.25).eps(0.0),
        &g(),
        Expect {
            shape: &[4],
            loss: &[1.910704440546125, 0.0, 0.0, 1.6247727084867518],
            anchor: &[
                -0.16457049448922953, 0.13093073414159548, 0.02129603862661439, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -1.2220201853215573, 0.7637626158259735, -1.5275252316519468,
            ],
            positive: &[
                0.09910512741843182, -0.0, -0.28315750690980523, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, 1.2220201853215573, -0.7637626158259735, 1.5275252316519468,
            ],
            negative: &[
                0.06546536707079771, -0.13093073414159548, 0.26186146828319085, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Sum).margin(3.0).eps(1e-3),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[12.11689062428479],
            anchor: &[
                -0.5498672338655972, 0.43410326938115873, 0.0702565630888935,
                -1.3690947123001456, -1.3307156530486168, 0.40735142634882154,
                1.1589369591356862, 1.3045156049294435, 0.21267576147626366, -1.1589369591356862,
                -0.2126757614762636, -1.3045156049294435,
            ],
            positive: &[
                0.3297829164237268, -0.00047179244123566076, -0.9440566749125571,
                0.6688816805689457, 0.7433673911000089, -0.0014897142106212599,
                -0.5773502691896257, -0.5773502691896257, -0.5773502691896257,
                0.5815866899460606, -0.36467450771336213, 0.7271653357398178,
            ],
            negative: &[
                0.22008431744187038, -0.43363147693992304, 0.8738001118236636,
                0.7002130317311999, 0.5873482619486079, -0.40586171213820027,
                -0.5815866899460606, -0.7271653357398178, 0.3646745077133621, 0.5773502691896257,
                0.5773502691896257, 0.5773502691896257,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).eps(-0.1),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.639712675343101, 0.0, 0.0, 2.303277225266452],
            anchor: &[
                -0.11628037994676219, 0.19759698686261903, 0.064033868017596, -0.0, -0.0, 0.0,
                0.0, 0.0, -0.0, -0.06763395689633311, 1.7813553529402353, -0.35209385071734345,
            ],
            positive: &[
                0.1162803799467622, 0.014535047493345277, -0.2761659023735602, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 1.2800695221945473, -0.5689197876420211, 1.5645294160155576,
            ],
            negative: &[
                -1.962615573354719e-17, -0.2121320343559643, 0.2121320343559642, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, -1.2124355652982142, -1.2124355652982142, -1.2124355652982142,
            ],
        },
    );
}

// The distance swap: NS[0] is farther from AS[0] than from PS[0], so d(p, n) replaces
// d(a, n); AS[3]/PS[3]/NS[3] with eps = 0 is a tie of the two (minimum's backward gives
// half the gradient to each).
// torch 2.13.0:
//   F.triplet_margin_loss(AS, PS, NS, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), AS, PS, NS, G)
//   F.triplet_margin_loss(AS, PS, NS, swap=True, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, reduction='none'), AS, PS, NS, G)
//   F.triplet_margin_loss(AS, PS, NS, swap=True, eps=0.0, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, eps=0.0, reduction='none'), AS, PS, NS, G)
//   F.triplet_margin_loss(AS, PS, NS, swap=True, p=inf)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, p=inf), AS, PS, NS, 0.7)
//   F.triplet_margin_loss(A, P, N, swap=True, p=1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, p=1, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, swap=True, p=3, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, p=3, reduction='sum'), A, P, N, -0.4)
#[test]
#[rustfmt::skip]
fn swap() {
    check(
        [&as_(), &ps(), &ns()],
        &o(R::None),
        &g(),
        Expect {
            shape: &[4],
            loss: &[
                4.1300296516055823e-14, 0.0, 2.498001805406602e-13, 1.8819665640359549,
            ],
            anchor: &[
                7.271960811294775e-15, 2.5000014583336566e-08, 0.0, -0.0, 4.000006000003502e-07,
                2.998712389512548e-13, 0.939147346593091, 0.22170177192345664,
            ],
            positive: &[
                0.29999999999998334, -1.000000333333389e-07, -0.0, 0.0, -8.000008000004001e-07,
                0.7999999999996001, -1.049999475000131e-06, -2.0999999999997376,
            ],
            negative: &[
                -0.2999999999999906, 7.500001875000233e-08, 0.0, 0.0, 4.0000020000004994e-07,
                -0.7999999999999, -0.9391462965936159, 1.878298228076281,
            ],
        },
    );
    check(
        [&as_(), &ps(), &ns()],
        &o(R::None).swap(true),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.9999999999996665, 0.0, 1.0, 1.8819683528910525],
            anchor: &[
                -0.29999999999998334, 1.000000333333389e-07, 0.0, -0.0, 8.000008000004001e-07,
                -0.7999999999996001, 1.049999475000131e-06, 2.0999999999997376,
            ],
            positive: &[
                0.5999999999998333, -4.0000033333348897e-07, 0.0, 0.0, -1.6000016000008002e-06,
                1.5999999999992003, 0.9391467492306196, -0.22170252324019346,
            ],
            negative: &[
                -0.29999999999985, 3.0000030000015005e-07, 0.0, 0.0, 8.000008000004001e-07,
                -0.7999999999996001, -0.9391477992300946, -1.8782974767595442,
            ],
        },
    );
    check(
        [&as_(), &ps(), &ns()],
        &o(R::None).swap(true).eps(0.0),
        &g(),
        Expect {
            shape: &[4],
            loss: &[3.0, 0.0, 1.0, 1.881966011250105],
            anchor: &[
                -0.3, 0.0, 0.0, 2.4, 0.0, -0.8, 0.4695742752749558, 1.1608514494500883,
            ],
            positive: &[
                0.6, -0.0, 0.0, -1.2, -0.0, 1.6, 0.4695742752749558, -1.1608514494500883,
            ],
            negative: &[-0.3, 0.0, -0.0, -1.2, 0.0, -0.8, -0.9391485505499116, 0.0],
        },
    );
    check(
        [&as_(), &ps(), &ns()],
        &o(R::Mean).swap(true).p(f64::INFINITY),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[1.5000005],
            anchor: &[-0.175, 0.0, 0.0, -0.0, 0.0, -0.175, 0.0, 0.175],
            positive: &[0.35, -0.0, 0.0, 0.0, -0.0, 0.35, 0.0, 0.0],
            negative: &[-0.175, 0.0, 0.0, 0.0, 0.0, -0.175, 0.0, -0.175],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).swap(true).p(1.0),
        &g(),
        Expect {
            shape: &[4],
            loss: &[3.0000000000000004, 0.0, 0.0, 3.2999959999999997],
            anchor: &[-0.6, 0.6, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -4.2, 0.0, -4.2],
            positive: &[0.3, -0.3, -0.3, 0.0, 0.0, -0.0, 0.0, 0.0, -0.0, 2.1, -2.1, 2.1],
            negative: &[0.3, -0.3, 0.3, 0.0, 0.0, 0.0, -0.0, -0.0, 0.0, 2.1, 2.1, 2.1],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Sum).swap(true).p(3.0),
        &s(-0.4),
        Expect {
            shape: &[],
            loss: &[4.788802236680611],
            anchor: &[
                0.07054831223671819, -0.09160071272143516, -0.022551904663798805, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, 0.3766063771821837, 0.12030477377413935, 0.48027889056370643,
            ],
            positive: &[
                -0.04764744704245069, 9.723996567001103e-14, 0.3889602516400041, 0.0, 0.0, -0.0,
                0.0, 0.0, -0.0, -0.18430643447452952, 0.0719951689335148, -0.28797894785605227,
            ],
            negative: &[
                -0.0229008651942675, 0.09160071272133792, -0.3664083469762053, 0.0, 0.0, 0.0,
                -0.0, -0.0, 0.0, -0.19229994270765416, -0.19229994270765416,
                -0.19229994270765416,
            ],
        },
    );
}

// KA[0]/KP[0]/KN[0] with eps = 0: d(a, p) = 0 and margin + 0 - d(a, n) = 0, clamp_min's kink,
// which passes the gradient (argument >= 0); each order's backward at a zero difference
// (masked to 0, or sgn(0) = 0).
// torch 2.13.0:
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, reduction='none'), KA, KP, KN, G[:2])
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, p=1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, p=1, reduction='none'), KA, KP, KN, G[:2])
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, p=3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, p=3, reduction='none'), KA, KP, KN, G[:2])
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, p=1.5, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, p=1.5, reduction='none'), KA, KP, KN, G[:2])
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, p=0.5, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, p=0.5, reduction='none'), KA, KP, KN, G[:2])
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, p=inf, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, p=inf, reduction='none'), KA, KP, KN, G[:2])
//   F.triplet_margin_loss(KA, KP, KN, eps=0.0, swap=True, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, eps=0.0, swap=True, reduction='none'), KA, KP, KN, G[:2])
#[test]
#[rustfmt::skip]
fn kinks() {
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 1.0],
            anchor: &[0.3, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.72, -0.96],
            negative: &[-0.3, 0.0, 0.72, 0.96],
        },
    );
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0).p(1.0),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 1.0],
            anchor: &[0.3, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -1.2, -1.2],
            negative: &[-0.3, 0.0, 1.2, 1.2],
        },
    );
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0).p(3.0),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 1.0],
            anchor: &[0.3, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.5338216220766426, -0.9490162170251425],
            negative: &[-0.3, 0.0, 0.5338216220766426, 0.9490162170251425],
        },
    );
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0).p(1.5),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 1.0],
            anchor: &[0.3, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.8795477709947699, -1.0156142846979315],
            negative: &[-0.3, 0.0, 0.8795477709947699, 1.0156142846979315],
        },
    );
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0).p(0.5),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 1.0],
            anchor: &[0.3, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -2.585640646055102, -2.2392304845413262],
            negative: &[-0.3, 0.0, 2.585640646055102, 2.2392304845413262],
        },
    );
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0).p(f64::INFINITY),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 1.0],
            anchor: &[0.3, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.0, -1.2],
            negative: &[-0.3, 0.0, 0.0, 1.2],
        },
    );
    check(
        [&ka(), &kp(), &kn()],
        &o(R::None).eps(0.0).swap(true),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 6.0],
            anchor: &[0.15, 0.0, 0.72, 0.96],
            positive: &[0.15, -0.0, -0.72, -0.96],
            negative: &[-0.3, 0.0, 0.0, 0.0],
        },
    );
}

// Sizes of 1 broadcast between each pair: one anchor for the batch, one feature against D,
// the positive and the negative with different D (allowed without swap), one positive and
// one negative with swap. Gradients are summed back (autograd's reduction of a broadcast).
// torch 2.13.0:
//   F.triplet_margin_loss(A[:1], P, N, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), A[:1], P, N, G)
//   F.triplet_margin_loss(A, P, N[:, :1], reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='sum'), A, P, N[:, :1], 1.0)
//   F.triplet_margin_loss(A, P[:1], N[:1], swap=True, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, reduction='none'), A, P[:1], N[:1], G)
//   F.triplet_margin_loss(A[:, :1], P, torch.cat([N, N[:, :2]], 1), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), A[:, :1], P, torch.cat([N, N[:, :2]], 1), G)
//   F.triplet_margin_loss(A[:1], P[:1], N, swap=True, p=1)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, p=1), A[:1], P[:1], N, 0.7)
#[test]
#[rustfmt::skip]
fn broadcast() {
    check(
        [&rows(&a(), 0, 1), &p(), &n()],
        &o(R::None),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.6607043993982, 2.3178754378297968, 0.0, 0.0],
            anchor: &[0.5756819199848142, 0.4458893477870064, 0.015807387378224957],
            positive: &[
                0.0991049571455638, -1.415787124632518e-07, -0.2831575665052161,
                -0.05375952611252587, -0.8870363472407826, 0.806397192471481, 0.0, 0.0, -0.0,
                -0.0, 0.0, -0.0,
            ],
            negative: &[
                0.06546592820131303, -0.13092989244441966, 0.26186174884704566,
                -0.6864932792191651, 0.5720770334769083, -0.8009087621915355, -0.0, -0.0, 0.0,
                0.0, -0.0, 0.0,
            ],
        },
    );
    check(
        [&a(), &p(), &cols(&n(), 0, 1)],
        &o(R::Sum),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[0.7432189914618434],
            anchor: &[
                -0.36945333655397783, 0.5083402297239495, 0.0835902198197791, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -0.5819145027881525, -0.32024368276664855, -1.4569299303038523,
            ],
            positive: &[
                0.33034985715187937, -4.7192904154417275e-07, -0.9438585550173871, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, 0.5819140468276938, -0.36369746128169383,
                0.7273927403829842,
            ],
            negative: &[0.39103205680479847, 0.0, 0.0, 1.4134787899296692],
        },
    );
    check(
        [&a(), &rows(&p(), 0, 1), &rows(&n(), 0, 1)],
        &o(R::None).swap(true),
        &g(),
        Expect {
            shape: &[4],
            loss: &[
                2.6607043993982, 2.321298634880619, 0.6352708436897636, 1.7980770363388126,
            ],
            anchor: &[
                -0.16457088534687683, 0.13093003402313214, 0.021295817658170457,
                0.36523227549168746, -1.0764755927206244, 0.38445504706785166,
                0.11147781802681292, 0.6131254909091067, -0.5016471154959906,
                -1.3740926898821335, 1.5357523650712404, 0.404145954811595,
            ],
            positive: &[0.24093082031298807, -0.8835144020953027, 0.9409991801695377],
            negative: &[0.8210226613975219, -0.319817895187552, -1.2492488842111642],
        },
    );
    check_close(
        [&cols(&a(), 0, 1), &p(), &n5()],
        &o(R::None),
        &g(),
        Expect {
            shape: &[4],
            loss: &[
                0.16219683955131092, 1.0296566247477434, 0.5908862771114132, 1.2412095112089525,
            ],
            anchor: &[
                0.002555577527513203, 2.162549669835297, 0.7936319691643083, 0.44748499611599923,
            ],
            positive: &[
                0.13389088581389583, -0.2677823454466935, 0.01912710545372747,
                -0.2357310184262421, -1.1262724003506723, 0.34050164046603615,
                -3.8445520757840176e-07, -0.4613466335492897, -0.6535742373384905,
                0.579654648907342, 0.7245684922764817, 1.883879239229599,
            ],
            negative: &[
                0.012467697261606712, 0.14961099570629613, -0.21194860928424872,
                0.012467697261606712, 0.14961099570629613, -0.8226145394595547,
                0.18575101964211943, 0.13267914811045234, -0.8226145394595547,
                0.18575101964211943, -0.25702982250454476, 0.06425785723573585,
                0.7068332167162972, -0.25702982250454476, 0.06425785723573585,
                7.903459409258971e-07, -1.1855181210429049, -1.2645527151354945,
                7.903459409258971e-07, -1.1855181210429049,
            ],
        },
    );
    check(
        [&rows(&a(), 0, 1), &rows(&p(), 0, 1), &n()],
        &o(R::Mean).swap(true).p(1.0),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[0.7500000000000001],
            anchor: &[-0.35, 0.35, 0.0],
            positive: &[0.175, -0.175, -0.175],
            negative: &[0.175, -0.175, 0.175, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0],
        },
    );
}

// Unbatched (1-D: a 0-D loss), 3-D (an (N, M) loss), 0-D (libtorch's general norm kernel:
// `(|u|^p)^(1/p)`, not `|u|`; `sqrt(u * u)` overflows for 1e200, and inf - inf is NaN), a
// size-1 feature dimension (`|u|`, libtorch's shortcut: 1e200 stays finite).
// torch 2.13.0:
//   F.triplet_margin_loss(A.reshape(2, 2, 3), P.reshape(2, 2, 3), N[:2].reshape(1, 2, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), A.reshape(2, 2, 3), P.reshape(2, 2, 3), N[:2].reshape(1, 2, 3), G.reshape(2, 2))
//   F.triplet_margin_loss(A[0], P[0], N[0], reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), A[0], P[0], N[0], 0.7)
//   F.triplet_margin_loss(A[3], P[3], N[3], swap=True)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True), A[3], P[3], N[3], 0.7)
//   F.triplet_margin_loss(A[0, 0], P[0, 0], N[0, 2], p=3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, reduction='none'), A[0, 0], P[0, 0], N[0, 2], 0.7)
//   F.triplet_margin_loss(A[0, 0], P[0, 0], N[0, 2], reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='sum'), A[0, 0], P[0, 0], N[0, 2], 0.7)
//   F.triplet_margin_loss(torch.tensor(1e200, dtype=D), torch.tensor(0.0, dtype=D), torch.tensor(0.5, dtype=D), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), torch.tensor(1e200, dtype=D), torch.tensor(0.0, dtype=D), torch.tensor(0.5, dtype=D), 1.0)
//   F.triplet_margin_loss(torch.tensor([[1e200], [2.0]], dtype=D), torch.zeros(2, 1, dtype=D), torch.tensor([[0.5], [-1.0]], dtype=D), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), torch.tensor([[1e200], [2.0]], dtype=D), torch.zeros(2, 1, dtype=D), torch.tensor([[0.5], [-1.0]], dtype=D), G[:2])
//   F.triplet_margin_loss(torch.tensor([[0.1], [2.0]], dtype=D), torch.zeros(2, 1, dtype=D), torch.tensor([[0.5], [-1.0]], dtype=D), p=3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, reduction='none'), torch.tensor([[0.1], [2.0]], dtype=D), torch.zeros(2, 1, dtype=D), torch.tensor([[0.5], [-1.0]], dtype=D), G[:2])
#[test]
#[rustfmt::skip]
fn layouts() {
    check(
        [&a().into_shape_with_order(IxDyn(&[2, 2, 3])).unwrap(), &p().into_shape_with_order(IxDyn(&[2, 2, 3])).unwrap(), &rows(&n(), 0, 2).into_shape_with_order(IxDyn(&[1, 2, 3])).unwrap()],
        &o(R::None),
        &g().into_shape_with_order(IxDyn(&[2, 2])).unwrap(),
        Expect {
            shape: &[2, 2],
            loss: &[2.6607043993982, 0.0, 0.0, 1.2977371301916194],
            anchor: &[
                -0.16457088534687683, 0.13093003402313214, 0.021295817658170457, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -2.781859868384351, -0.016156491230552406, -2.6974055197884184,
            ],
            positive: &[
                0.0991049571455638, -1.415787124632518e-07, -0.2831575665052161, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 1.222019498338157, -0.7637646686915571, 1.5275247548042667,
            ],
            negative: &[
                0.06546592820131303, -0.13092989244441966, 0.26186174884704566,
                1.5598403700461938, 0.7799211599221095, 1.1698807649841518,
            ],
        },
    );
    check(
        [&row(&a(), 0), &row(&p(), 0), &row(&n(), 0)],
        &o(R::None),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[2.6607043993982],
            anchor: &[-0.38399873247604593, 0.30550341272064163, 0.049690241202397845],
            positive: &[0.23124490000631553, -3.303503290809209e-07, -0.660700988512171],
            negative: &[0.1527538324697304, -0.30550308237031254, 0.6110107473097731],
        },
    );
    check(
        [&row(&a(), 3), &row(&p(), 3), &row(&n(), 3)],
        &o(R::Mean).swap(true),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[2.3747700308258524],
            anchor: &[-0.8114850212121236, -0.14955696553555237, -0.913320106700827],
            positive: &[0.4073398327793856, -0.2545882228971857, 0.5091749182680889],
            negative: &[0.40414518843273806, 0.40414518843273806, 0.40414518843273806],
        },
    );
    check(
        [&s(0.3), &s(1.0), &s(2.0)],
        &o(R::None).p(3.0),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[0.0],
            anchor: &[0.0],
            positive: &[0.7],
            negative: &[-0.7],
        },
    );
    check(
        [&s(0.3), &s(1.0), &s(2.0)],
        &o(R::Sum),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[0.0],
            anchor: &[0.0],
            positive: &[0.7],
            negative: &[-0.7],
        },
    );
    check(
        [&s(1e200), &s(0.0), &s(0.5)],
        &o(R::None),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[f64::NAN],
            anchor: &[0.0],
            positive: &[-0.0],
            negative: &[0.0],
        },
    );
    check(
        [&col(&[1e200, 2.0]), &zeros64(&[2, 1]), &col(&[0.5, -1.0])],
        &o(R::None),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.0, 0.0],
            anchor: &[0.0, 0.0],
            positive: &[-0.3, 1.2],
            negative: &[0.3, -1.2],
        },
    );
    check(
        [&col(&[0.1, 2.0]), &zeros64(&[2, 1]), &col(&[0.5, -1.0])],
        &o(R::None).p(3.0),
        &g2(),
        Expect {
            shape: &[2],
            loss: &[0.700002, 0.0],
            anchor: &[0.6, 0.0],
            positive: &[-0.3, 1.2],
            negative: &[-0.3, -1.2],
        },
    );
}

// NaN and infinities: NaN losses get no gradient from clamp_min, but the norm's backward
// still multiplies that 0 by NaN ratios for p = 2 and 3 (and sgn(NaN) = 0 for p = 1, inf);
// inf - inf is NaN; an infinite margin; a NaN margin (not refused: NaN <= 0 is false).
// torch 2.13.0:
//   F.triplet_margin_loss(AN, PN, NN, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), AN, PN, NN, G[:3])
//   F.triplet_margin_loss(AN, PN, NN, p=1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1, reduction='none'), AN, PN, NN, G[:3])
//   F.triplet_margin_loss(AN, PN, NN, p=inf, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=inf, reduction='none'), AN, PN, NN, G[:3])
//   F.triplet_margin_loss(AN, PN, NN, p=3, swap=True, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, swap=True, reduction='none'), AN, PN, NN, G[:3])
//   F.triplet_margin_loss(AN, PN, NN, swap=True, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, reduction='sum'), AN, PN, NN, 1.0)
//   F.triplet_margin_loss(A, P, N, margin=inf, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=inf, reduction='none'), A, P, N, G)
//   F.triplet_margin_loss(A, P, N, margin=nan)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=nan), A, P, N, 1.0)
#[test]
#[rustfmt::skip]
fn nonfinite() {
    check(
        [&an(), &pn(), &nn()],
        &o(R::None),
        &g3(),
        Expect {
            shape: &[3],
            loss: &[f64::NAN, f64::NAN, f64::NAN],
            anchor: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
            positive: &[f64::NAN, f64::NAN, -0.0, -0.0, f64::NAN, -0.0],
            negative: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
        },
    );
    check(
        [&an(), &pn(), &nn()],
        &o(R::None).p(1.0),
        &g3(),
        Expect {
            shape: &[3],
            loss: &[f64::NAN, f64::NAN, f64::NAN],
            anchor: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.0, -0.0, -0.0, -0.0],
            negative: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        },
    );
    check(
        [&an(), &pn(), &nn()],
        &o(R::None).p(f64::INFINITY),
        &g3(),
        Expect {
            shape: &[3],
            loss: &[f64::NAN, f64::NAN, f64::NAN],
            anchor: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.0, -0.0, -0.0, -0.0],
            negative: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        },
    );
    check(
        [&an(), &pn(), &nn()],
        &o(R::None).p(3.0).swap(true),
        &g3(),
        Expect {
            shape: &[3],
            loss: &[f64::NAN, f64::NAN, f64::NAN],
            anchor: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
            positive: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, -0.0],
            negative: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
        },
    );
    check(
        [&an(), &pn(), &nn()],
        &o(R::Sum).swap(true),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[f64::NAN],
            anchor: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
            positive: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, -0.0],
            negative: &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::None).margin(f64::INFINITY),
        &g(),
        Expect {
            shape: &[4],
            loss: &[f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY],
            anchor: &[
                -0.16457088534687683, 0.13093003402313214, 0.021295817658170457,
                1.6428058662688487, 1.5965097793191547, -0.4877709002811864, 0.9274114528138557,
                1.043794407658088, 0.17092224632634567, -2.4344550636363715,
                -0.44867089660665727, -2.7399603201024814,
            ],
            positive: &[
                0.0991049571455638, -1.415787124632518e-07, -0.2831575665052161,
                -0.8027575793875008, -0.8919530641983008, 1.783909696215993e-06,
                -0.4618802153517007, -0.4618802153517007, -0.4618802153517007, 1.222019498338157,
                -0.7637646686915571, 1.5275247548042667,
            ],
            negative: &[
                0.06546592820131303, -0.13092989244441966, 0.26186174884704566,
                -0.8400482868813478, -0.704556715120854, 0.4877691163714902, -0.465531237462155,
                -0.5819141923063874, 0.29095796902535503, 1.2124355652982144, 1.2124355652982144,
                1.2124355652982144,
            ],
        },
    );
    check(
        [&a(), &p(), &n()],
        &o(R::Mean).margin(f64::NAN),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[f64::NAN],
            anchor: &[-0.0, 0.0, 0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, 0.0, -0.0],
            positive: &[0.0, -0.0, -0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, 0.0, -0.0, 0.0],
            negative: &[0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0],
        },
    );
}

// An empty batch (mean NaN, sum 0, p = -1 accepted: its vectors are not empty) and an
// empty feature dimension (distances 0, so every loss is the margin; zero gradients).
// torch 2.13.0:
//   F.triplet_margin_loss(A[:0], P[:0], N[:0])
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n), A[:0], P[:0], N[:0], 1.0)
//   F.triplet_margin_loss(A[:0], P[:0], N[:0], reduction='sum', p=-1)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='sum', p=-1), A[:0], P[:0], N[:0], 1.0)
//   F.triplet_margin_loss(A[:0], P[:0], N[:0], reduction='none', swap=True)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none', swap=True), A[:0], P[:0], N[:0], torch.zeros(0, dtype=D))
//   F.triplet_margin_loss(A[:, :0], P[:, :0], N[:, :0], reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), A[:, :0], P[:, :0], N[:, :0], G)
//   F.triplet_margin_loss(A[:, :0], P[:, :0], N[:, :0], p=0.5, swap=True)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=0.5, swap=True), A[:, :0], P[:, :0], N[:, :0], 1.0)
#[test]
#[rustfmt::skip]
fn empty() {
    check(
        [&rows(&a(), 0, 0), &rows(&p(), 0, 0), &rows(&n(), 0, 0)],
        &o(R::Mean),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[f64::NAN],
            anchor: &[],
            positive: &[],
            negative: &[],
        },
    );
    check(
        [&rows(&a(), 0, 0), &rows(&p(), 0, 0), &rows(&n(), 0, 0)],
        &o(R::Sum).p(-1.0),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[0.0],
            anchor: &[],
            positive: &[],
            negative: &[],
        },
    );
    check(
        [&rows(&a(), 0, 0), &rows(&p(), 0, 0), &rows(&n(), 0, 0)],
        &o(R::None).swap(true),
        &zeros64(&[0]),
        Expect {
            shape: &[0],
            loss: &[],
            anchor: &[],
            positive: &[],
            negative: &[],
        },
    );
    check(
        [&cols(&a(), 0, 0), &cols(&p(), 0, 0), &cols(&n(), 0, 0)],
        &o(R::None),
        &g(),
        Expect {
            shape: &[4],
            loss: &[1.0, 1.0, 1.0, 1.0],
            anchor: &[],
            positive: &[],
            negative: &[],
        },
    );
    check(
        [&cols(&a(), 0, 0), &cols(&p(), 0, 0), &cols(&n(), 0, 0)],
        &o(R::Mean).p(0.5).swap(true),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[1.0],
            anchor: &[],
            positive: &[],
            negative: &[],
        },
    );
}

// float32: libtorch's norm in float (p = 2: its AVX2 lanes; others serially), 37 features
// (4 blocks of 8 lanes, then 4 plain and 1 fused remainder). Bit for bit.
// torch 2.13.0:
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), p=1, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), p=3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), p=1.7, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=1.7, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), p=0.5, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=0.5, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), p=inf, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=inf, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), p=-1.5, margin=3.0, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=-1.5, margin=3.0, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
#[test]
#[rustfmt::skip]
fn f32_orders() {
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[0.33994818, 0.33994818, 0.33994865, 0.33994913],
            anchor: &[
                -0.06529232, -0.06529233, -0.06529232, 0.20917007, 0.20917006, 0.20917007,
                -0.09882356, -0.09882355, -0.09882356, -0.09882355, -0.06529233, -0.06529231,
                -0.06529233, -0.06529233, -0.06529233, 0.20917007, 0.20917006, 0.20917007,
                0.20917006, -0.09882358, -0.09882356, -0.09882358, -0.06529233, -0.065292336,
                -0.06529233, -0.06529233, -0.06529233, -0.06529233, 0.20917009, 0.20917007,
                0.20917009, -0.09882358, -0.09882353, -0.09882358, -0.06529233, -0.065292336,
                -0.06529233, -0.052579157, -0.05257915, -0.052579157, 0.16844223, 0.16844222,
                0.16844223, -0.079581484, -0.079581454, -0.079581484, -0.079581454, -0.052579157,
                -0.05257915, -0.052579157, -0.05257915, -0.052579157, 0.16844225, 0.16844222,
                0.16844223, 0.16844222, -0.079581454, -0.079581484, -0.079581454, -0.052579157,
                -0.05257915, -0.052579157, -0.052579142, -0.052579157, -0.05257915, 0.16844222,
                0.16844223, 0.16844222, -0.079581454, -0.079581484, -0.079581454, -0.052579157,
                -0.05257915, -0.052579157, -0.03986599, -0.039866, -0.039865997, 0.12771443,
                0.12771444, 0.12771443, -0.060339376, -0.06033939, -0.060339376, -0.060339384,
                -0.039865997, -0.039866004, -0.039866, -0.039866004, -0.039866, 0.12771443,
                0.12771444, 0.12771443, 0.12771443, -0.06033939, -0.060339376, -0.060339376,
                -0.03986599, -0.039865997, -0.03986599, -0.039866004, -0.039866, -0.039865997,
                0.12771444, 0.12771443, 0.12771443, -0.060339384, -0.060339376, -0.060339384,
                -0.03986599, -0.039865997, -0.03986599, -0.027152825, -0.027152825, -0.027152818,
                0.08698659, 0.08698659, 0.08698659, -0.041097283, -0.04109728, -0.041097283,
                -0.04109728, -0.027152818, -0.027152818, -0.027152818, -0.027152825,
                -0.027152818, 0.08698659, 0.08698659, 0.08698659, 0.08698659, -0.04109728,
                -0.041097283, -0.04109728, -0.027152818, -0.027152818, -0.027152825,
                -0.027152825, -0.027152825, -0.027152825, 0.08698659, 0.08698659, 0.08698659,
                -0.04109728, -0.041097283, -0.041097287, -0.027152825, -0.027152825,
                -0.027152825,
            ],
            positive: &[
                -0.08346642, -0.083466426, -0.08346642, -0.083466426, -0.083466426, -0.083466426,
                0.2245272, 0.2245272, 0.2245272, 0.2245272, -0.08346644, -0.08346644,
                -0.08346644, -0.083466426, -0.08346644, -0.083466426, -0.083466426, -0.083466426,
                -0.083466426, 0.22452722, 0.2245272, 0.22452722, -0.08346644, -0.08346642,
                -0.08346644, -0.083466426, -0.08346644, -0.083466426, -0.083466426, -0.083466426,
                -0.083466426, 0.22452722, 0.2245272, 0.22452722, -0.08346644, -0.08346642,
                -0.08346644, -0.06721454, -0.067214556, -0.06721454, -0.06721454, -0.06721454,
                -0.06721454, 0.18080917, 0.18080914, 0.18080917, 0.18080914, -0.06721454,
                -0.067214556, -0.06721454, -0.067214556, -0.06721454, -0.067214556, -0.06721454,
                -0.06721454, -0.06721454, 0.18080914, 0.18080917, 0.18080914, -0.06721454,
                -0.067214556, -0.06721454, -0.067214556, -0.06721454, -0.067214556, -0.06721454,
                -0.06721454, -0.06721454, 0.18080914, 0.18080917, 0.18080914, -0.06721454,
                -0.067214556, -0.06721454, -0.050962683, -0.05096267, -0.050962683, -0.05096267,
                -0.050962683, -0.05096267, 0.13709113, 0.13709114, 0.13709113, 0.13709113,
                -0.050962683, -0.050962668, -0.05096267, -0.050962668, -0.05096267, -0.050962668,
                -0.050962683, -0.05096267, -0.05096267, 0.13709114, 0.13709113, 0.13709113,
                -0.050962683, -0.050962668, -0.050962683, -0.050962668, -0.05096267,
                -0.050962668, -0.050962683, -0.05096267, -0.05096267, 0.13709113, 0.13709113,
                0.13709113, -0.050962683, -0.050962668, -0.050962683, -0.03471079, -0.03471079,
                -0.03471079, -0.03471079, -0.03471079, -0.03471079, 0.093373075, 0.093373075,
                0.093373075, 0.093373075, -0.03471079, -0.0347108, -0.03471079, -0.03471079,
                -0.03471079, -0.03471079, -0.03471079, -0.03471079, -0.03471079, 0.093373075,
                0.093373075, 0.093373075, -0.03471079, -0.0347108, -0.0347108, -0.03471079,
                -0.0347108, -0.03471079, -0.03471079, -0.03471079, -0.03471079, 0.093373075,
                0.093373075, 0.09337308, -0.0347108, -0.03471079, -0.0347108,
            ],
            negative: &[
                0.14875874, 0.14875875, 0.14875874, -0.12570365, -0.12570363, -0.12570365,
                -0.12570363, -0.12570365, -0.12570363, -0.12570365, 0.14875877, 0.14875875,
                0.14875877, 0.14875875, 0.14875877, -0.12570365, -0.12570363, -0.12570365,
                -0.12570363, -0.12570365, -0.12570363, -0.12570365, 0.14875877, 0.14875875,
                0.14875877, 0.14875875, 0.14875877, 0.14875875, -0.12570366, -0.12570365,
                -0.12570366, -0.12570365, -0.12570366, -0.12570365, 0.14875877, 0.14875875,
                0.14875877, 0.1197937, 0.119793706, 0.1197937, -0.10122769, -0.101227686,
                -0.10122769, -0.101227686, -0.101227686, -0.101227686, -0.101227686, 0.1197937,
                0.119793706, 0.1197937, 0.119793706, 0.1197937, -0.101227686, -0.101227686,
                -0.10122769, -0.101227686, -0.101227686, -0.101227686, -0.101227686, 0.1197937,
                0.119793706, 0.1197937, 0.1197937, 0.1197937, 0.119793706, -0.101227686,
                -0.10122769, -0.101227686, -0.101227686, -0.101227686, -0.101227686, 0.1197937,
                0.119793706, 0.1197937, 0.09082867, 0.09082867, 0.09082868, -0.076751746,
                -0.07675175, -0.076751746, -0.07675175, -0.07675175, -0.07675175, -0.076751746,
                0.09082868, 0.09082867, 0.09082867, 0.09082867, 0.09082867, -0.07675175,
                -0.07675175, -0.076751746, -0.07675175, -0.07675175, -0.07675175, -0.07675175,
                0.09082867, 0.090828665, 0.09082867, 0.09082867, 0.09082867, 0.090828665,
                -0.07675175, -0.076751746, -0.07675175, -0.076751746, -0.07675175, -0.076751746,
                0.09082867, 0.090828665, 0.09082867, 0.061863616, 0.061863616, 0.06186361,
                -0.052275795, -0.05227579, -0.052275795, -0.05227579, -0.052275795, -0.05227579,
                -0.052275795, 0.06186361, 0.061863616, 0.06186361, 0.061863616, 0.06186361,
                -0.052275795, -0.05227579, -0.052275795, -0.05227579, -0.052275795, -0.05227579,
                -0.052275795, 0.06186361, 0.061863616, 0.061863624, 0.061863616, 0.061863624,
                0.061863616, -0.05227579, -0.052275795, -0.05227579, -0.052275795, -0.05227579,
                -0.052275795, 0.061863624, 0.061863616, 0.061863624,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).p(1.0),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[0.0, 0.0, 0.0, 0.0],
            anchor: &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0,
            ],
            positive: &[
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
            ],
            negative: &[
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).p(3.0),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[0.9471698, 0.9471698, 0.9471698, 0.9471698],
            anchor: &[
                -0.06529055, -0.065290555, -0.06529055, 0.085557655, 0.08555764, 0.085557655,
                -0.10153855, -0.10153853, -0.10153855, -0.10153853, -0.065290585, -0.065290555,
                -0.065290585, -0.065290555, -0.065290585, 0.085557655, 0.08555764, 0.085557655,
                0.08555764, -0.101538576, -0.10153855, -0.101538576, -0.065290585, -0.06529056,
                -0.065290585, -0.065290555, -0.065290585, -0.065290555, 0.08555766, 0.085557655,
                0.08555766, -0.101538576, -0.101538524, -0.101538576, -0.065290585, -0.06529056,
                -0.065290585, -0.052577734, -0.05257775, -0.052577734, 0.06889859, 0.06889858,
                0.06889859, -0.081767835, -0.081767805, -0.081767835, -0.081767805, -0.052577734,
                -0.05257775, -0.052577734, -0.05257775, -0.052577734, 0.06889859, 0.06889858,
                0.06889859, 0.06889858, -0.081767805, -0.081767835, -0.081767805, -0.052577734,
                -0.05257775, -0.052577734, -0.052577727, -0.052577734, -0.05257775, 0.06889858,
                0.06889859, 0.06889858, -0.081767805, -0.081767835, -0.081767805, -0.052577734,
                -0.05257775, -0.052577734, -0.039864913, -0.039864913, -0.039864928, 0.052239522,
                0.05223953, 0.052239522, -0.061997086, -0.06199711, -0.061997086, -0.06199709,
                -0.039864928, -0.039864916, -0.039864913, -0.039864916, -0.039864913,
                0.052239522, 0.05223953, 0.052239522, 0.052239526, -0.06199711, -0.061997086,
                -0.061997086, -0.039864913, -0.039864905, -0.039864913, -0.039864916,
                -0.039864913, -0.039864905, 0.05223953, 0.052239522, 0.052239526, -0.06199709,
                -0.061997086, -0.06199709, -0.039864913, -0.039864905, -0.039864913,
                -0.027152084, -0.027152084, -0.027152076, 0.03558046, 0.035580456, 0.03558046,
                -0.04222635, -0.04222635, -0.04222635, -0.04222635, -0.027152076, -0.02715208,
                -0.027152076, -0.027152084, -0.027152076, 0.03558046, 0.035580456, 0.03558046,
                0.035580456, -0.04222635, -0.04222635, -0.04222635, -0.027152076, -0.02715208,
                -0.027152091, -0.027152084, -0.027152091, -0.027152084, 0.035580456, 0.03558046,
                0.035580456, -0.04222635, -0.04222635, -0.042226367, -0.027152091, -0.027152084,
                -0.027152091,
            ],
            positive: &[
                -0.02271615, -0.022716155, -0.02271615, -0.022716155, -0.022716155, -0.022716155,
                0.16438003, 0.16438003, 0.16438003, 0.16438003, -0.022716159, -0.022716159,
                -0.022716159, -0.022716155, -0.022716159, -0.022716155, -0.022716155,
                -0.022716155, -0.022716155, 0.16438007, 0.16438003, 0.16438007, -0.022716159,
                -0.02271615, -0.022716159, -0.022716155, -0.022716159, -0.022716155,
                -0.022716155, -0.022716155, -0.022716155, 0.16438007, 0.16438003, 0.16438007,
                -0.022716159, -0.02271615, -0.022716159, -0.018293055, -0.018293058,
                -0.018293055, -0.018293055, -0.018293055, -0.018293055, 0.13237336, 0.13237333,
                0.13237336, 0.13237333, -0.018293051, -0.018293058, -0.018293055, -0.018293058,
                -0.018293055, -0.018293058, -0.018293051, -0.018293055, -0.018293055, 0.13237333,
                0.13237336, 0.13237333, -0.018293051, -0.018293058, -0.018293051, -0.018293058,
                -0.018293055, -0.018293058, -0.018293051, -0.018293055, -0.018293055, 0.13237333,
                0.13237336, 0.13237333, -0.018293051, -0.018293058, -0.018293051, -0.013869962,
                -0.013869959, -0.013869962, -0.013869959, -0.013869962, -0.013869959, 0.10036665,
                0.100366674, 0.10036665, 0.10036665, -0.013869962, -0.013869956, -0.013869959,
                -0.013869956, -0.013869959, -0.013869956, -0.013869962, -0.013869959,
                -0.013869959, 0.100366674, 0.10036665, 0.10036665, -0.013869962, -0.013869956,
                -0.013869962, -0.013869956, -0.013869959, -0.013869956, -0.013869962,
                -0.013869959, -0.013869959, 0.10036665, 0.10036665, 0.10036665, -0.013869962,
                -0.013869956, -0.013869962, -0.009446858, -0.00944686, -0.009446858, -0.00944686,
                -0.00944686, -0.00944686, 0.06835995, 0.06835995, 0.06835995, 0.06835995,
                -0.009446858, -0.009446862, -0.009446858, -0.00944686, -0.009446858, -0.00944686,
                -0.00944686, -0.00944686, -0.00944686, 0.06835995, 0.06835995, 0.06835995,
                -0.009446858, -0.009446862, -0.009446862, -0.00944686, -0.009446862, -0.00944686,
                -0.00944686, -0.00944686, -0.00944686, 0.06835995, 0.06835995, 0.06835996,
                -0.009446862, -0.009446858, -0.009446862,
            ],
            negative: &[
                0.0880067, 0.08800671, 0.0880067, -0.0628415, -0.06284148, -0.0628415,
                -0.06284148, -0.0628415, -0.06284148, -0.0628415, 0.08800674, 0.08800671,
                0.08800674, 0.08800671, 0.08800674, -0.0628415, -0.06284148, -0.0628415,
                -0.06284148, -0.0628415, -0.06284148, -0.0628415, 0.08800674, 0.08800671,
                0.08800674, 0.08800671, 0.08800674, 0.08800671, -0.062841505, -0.0628415,
                -0.062841505, -0.0628415, -0.062841505, -0.0628415, 0.08800674, 0.08800671,
                0.08800674, 0.07087079, 0.07087081, 0.07087079, -0.050605536, -0.050605528,
                -0.050605536, -0.050605528, -0.050605528, -0.050605528, -0.050605528, 0.07087079,
                0.07087081, 0.07087079, 0.07087081, 0.07087079, -0.050605528, -0.050605528,
                -0.050605536, -0.050605528, -0.050605528, -0.050605528, -0.050605528, 0.07087079,
                0.07087081, 0.07087079, 0.07087079, 0.07087079, 0.07087081, -0.050605528,
                -0.050605536, -0.050605528, -0.050605528, -0.050605528, -0.050605528, 0.07087079,
                0.07087081, 0.07087079, 0.053734872, 0.053734872, 0.053734887, -0.038369562,
                -0.038369566, -0.038369562, -0.038369566, -0.038369566, -0.038369566,
                -0.038369562, 0.053734887, 0.053734872, 0.053734872, 0.053734872, 0.053734872,
                -0.038369566, -0.038369566, -0.038369562, -0.038369566, -0.038369566,
                -0.038369566, -0.038369566, 0.053734872, 0.05373486, 0.053734872, 0.053734872,
                0.053734872, 0.05373486, -0.038369566, -0.038369562, -0.038369566, -0.038369562,
                -0.038369566, -0.038369562, 0.053734872, 0.05373486, 0.053734872, 0.036598943,
                0.036598943, 0.036598936, -0.026133599, -0.026133595, -0.026133599, -0.026133595,
                -0.026133599, -0.026133595, -0.026133599, 0.036598936, 0.036598943, 0.036598936,
                0.036598943, 0.036598936, -0.026133599, -0.026133595, -0.026133599, -0.026133595,
                -0.026133599, -0.026133595, -0.026133599, 0.036598936, 0.036598943, 0.036598954,
                0.036598943, 0.036598954, 0.036598943, -0.026133595, -0.026133599, -0.026133595,
                -0.026133599, -0.026133595, -0.026133599, 0.036598954, 0.036598943, 0.036598954,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).p(1.7),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[0.0, 0.0, 0.0, 0.0],
            anchor: &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0,
            ],
            positive: &[
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
            ],
            negative: &[
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).p(0.5),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[0.0, 0.0, 0.0, 0.0],
            anchor: &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0,
            ],
            positive: &[
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
            ],
            negative: &[
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).p(f64::INFINITY),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[1.3739982, 1.3739982, 1.3739982, 1.3739982],
            anchor: &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.104, 0.0, -0.104, 0.0,
                -0.104, 0.0, 0.0, 0.0, 0.0, -0.208, 0.0, -0.208, -0.104, 0.0, -0.104, 0.0,
                -0.104, 0.0, 0.0, 0.0, 0.0, -0.208, 0.0, -0.208, -0.104, 0.0, -0.104, 0.0,
                -0.11166666, 0.0, 0.0, 0.0, 0.0, -0.16749999, 0.0, -0.16749999, 0.0, 0.0,
                -0.11166666, 0.0, -0.11166666, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.16749999, 0.0,
                0.0, -0.11166666, 0.0, 0.0, 0.0, -0.11166666, 0.0, 0.0, 0.0, 0.0, -0.16749999,
                0.0, 0.0, -0.11166666, 0.0, 0.0, 0.0, -0.254, 0.0, 0.0, 0.0, 0.0, -0.254, 0.0,
                0.0, -0.254, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.254, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, -0.08649999, 0.0, -0.08649999, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, -0.34599996, -0.08649999, 0.0, -0.08649999,
            ],
            positive: &[
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.208, 0.0, 0.208, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.208, 0.0, 0.208, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.16749999, 0.0, 0.16749999, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.16749999, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.16749999, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.254, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.254, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0,
                0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.34599996, -0.0, -0.0,
                -0.0,
            ],
            negative: &[
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.104, 0.0, 0.104, 0.0,
                0.104, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.104, 0.0, 0.104, 0.0, 0.104,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.104, 0.0, 0.104, 0.0, 0.11166666, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.11166666, 0.0, 0.11166666, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.11166666, 0.0, 0.0, 0.0,
                0.11166666, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.11166666, 0.0, 0.0, 0.0,
                0.254, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.254, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.08649999, 0.0, 0.08649999, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.08649999, 0.0, 0.08649999,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).p(-1.5).margin(3.0),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[2.9684055, 2.9684055, 2.9684055, 2.9684055],
            anchor: &[
                0.0014014463, 0.0014014463, 0.0014014463, 0.0054188157, 0.005418816,
                0.0054188157, 0.0021731546, 0.0021731544, 0.0021731546, 0.0021731544,
                0.0014014458, 0.0014014454, 0.0014014458, 0.0014014463, 0.0014014458,
                0.0054188157, 0.005418816, 0.0054188157, 0.005418816, 0.0021731544, 0.0021731546,
                0.0021731544, 0.0014014458, 0.0014014468, 0.0014014458, 0.0014014463,
                0.0014014458, 0.0014014463, 0.0054188157, 0.0054188157, 0.0054188157,
                0.0021731544, 0.0021731541, 0.0021731544, 0.0014014458, 0.0014014468,
                0.0014014458, 0.001128568, 0.0011285677, 0.001128568, 0.004363709, 0.0043637096,
                0.004363709, 0.0017500164, 0.0017500164, 0.0017500164, 0.0017500164,
                0.0011285684, 0.0011285677, 0.001128568, 0.0011285677, 0.001128568, 0.004363709,
                0.00436371, 0.004363709, 0.0043637096, 0.0017500164, 0.0017500164, 0.0017500164,
                0.0011285684, 0.0011285677, 0.0011285684, 0.0011285673, 0.001128568,
                0.0011285677, 0.00436371, 0.004363709, 0.0043637096, 0.0017500164, 0.0017500164,
                0.0017500164, 0.0011285684, 0.0011285677, 0.0011285684, 0.0008556903,
                0.00085569086, 0.00085569057, 0.0033086038, 0.003308603, 0.0033086038,
                0.0013268776, 0.0013268776, 0.0013268776, 0.0013268779, 0.00085569057,
                0.0008556912, 0.00085569086, 0.0008556912, 0.00085569086, 0.003308604,
                0.003308603, 0.0033086038, 0.0033086035, 0.0013268776, 0.0013268776,
                0.0013268776, 0.0008556903, 0.0008556909, 0.0008556903, 0.0008556912,
                0.00085569086, 0.0008556909, 0.003308603, 0.0033086038, 0.0033086035,
                0.0013268779, 0.0013268776, 0.0013268779, 0.0008556903, 0.0008556909,
                0.0008556903, 0.000582813, 0.00058281276, 0.00058281276, 0.0022534975,
                0.0022534977, 0.0022534975, 0.0009037398, 0.0009037396, 0.0009037398,
                0.0009037396, 0.00058281276, 0.0005828123, 0.00058281276, 0.00058281276,
                0.00058281276, 0.0022534975, 0.0022534977, 0.0022534975, 0.0022534977,
                0.0009037396, 0.0009037398, 0.0009037396, 0.00058281276, 0.0005828123,
                0.0005828125, 0.00058281276, 0.0005828125, 0.00058281276, 0.0022534977,
                0.0022534975, 0.0022534977, 0.0009037396, 0.0009037398, 0.0009037396,
                0.0005828125, 0.000582813, 0.0005828125,
            ],
            positive: &[
                -0.0029934428, -0.0029934424, -0.0029934428, -0.0029934424, -0.0029934424,
                -0.0029934424, 0.00025221915, 0.00025221915, 0.00025221915, 0.00025221915,
                -0.0029934414, -0.0029934414, -0.0029934414, -0.0029934424, -0.0029934414,
                -0.0029934424, -0.0029934424, -0.0029934424, -0.0029934424, 0.00025221912,
                0.00025221915, 0.00025221912, -0.0029934414, -0.0029934428, -0.0029934414,
                -0.0029934424, -0.0029934414, -0.0029934424, -0.0029934424, -0.0029934424,
                -0.0029934424, 0.00025221912, 0.00025221915, 0.00025221912, -0.0029934414,
                -0.0029934428, -0.0029934414, -0.0024105841, -0.0024105834, -0.0024105841,
                -0.0024105841, -0.0024105841, -0.0024105841, 0.00020310908, 0.00020310913,
                0.00020310908, 0.00020310913, -0.0024105846, -0.0024105834, -0.0024105841,
                -0.0024105834, -0.0024105841, -0.0024105834, -0.0024105846, -0.0024105841,
                -0.0024105841, 0.00020310913, 0.00020310908, 0.00020310913, -0.0024105846,
                -0.0024105834, -0.0024105846, -0.0024105834, -0.0024105841, -0.0024105834,
                -0.0024105846, -0.0024105841, -0.0024105841, 0.00020310913, 0.00020310908,
                0.00020310913, -0.0024105846, -0.0024105834, -0.0024105846, -0.0018277261,
                -0.0018277267, -0.0018277261, -0.0018277267, -0.0018277261, -0.0018277267,
                0.00015399918, 0.00015399915, 0.00015399918, 0.00015399918, -0.0018277261,
                -0.0018277271, -0.0018277267, -0.0018277271, -0.0018277267, -0.0018277271,
                -0.0018277261, -0.0018277267, -0.0018277267, 0.00015399915, 0.00015399918,
                0.00015399918, -0.0018277261, -0.0018277271, -0.0018277261, -0.0018277271,
                -0.0018277267, -0.0018277271, -0.0018277261, -0.0018277267, -0.0018277267,
                0.00015399918, 0.00015399918, 0.00015399918, -0.0018277261, -0.0018277271,
                -0.0018277261, -0.001244869, -0.0012448687, -0.001244869, -0.0012448687,
                -0.0012448687, -0.0012448687, 0.000104889186, 0.000104889186, 0.000104889186,
                0.000104889186, -0.001244869, -0.0012448683, -0.001244869, -0.0012448687,
                -0.001244869, -0.0012448687, -0.0012448687, -0.0012448687, -0.0012448687,
                0.000104889186, 0.000104889186, 0.000104889186, -0.001244869, -0.0012448683,
                -0.0012448683, -0.0012448687, -0.0012448683, -0.0012448687, -0.0012448687,
                -0.0012448687, -0.0012448687, 0.000104889186, 0.000104889186, 0.00010488916,
                -0.0012448683, -0.001244869, -0.0012448683,
            ],
            negative: &[
                0.0015919965, 0.001591996, 0.0015919965, -0.0024253735, -0.0024253738,
                -0.0024253735, -0.0024253738, -0.0024253735, -0.0024253738, -0.0024253735,
                0.0015919956, 0.001591996, 0.0015919956, 0.001591996, 0.0015919956,
                -0.0024253735, -0.0024253738, -0.0024253735, -0.0024253738, -0.0024253735,
                -0.0024253738, -0.0024253735, 0.0015919956, 0.001591996, 0.0015919956,
                0.001591996, 0.0015919956, 0.001591996, -0.0024253733, -0.0024253735,
                -0.0024253733, -0.0024253735, -0.0024253733, -0.0024253735, 0.0015919956,
                0.001591996, 0.0015919956, 0.0012820162, 0.0012820157, 0.0012820162,
                -0.0019531252, -0.0019531255, -0.0019531252, -0.0019531255, -0.0019531255,
                -0.0019531255, -0.0019531255, 0.0012820162, 0.0012820157, 0.0012820162,
                0.0012820157, 0.0012820162, -0.0019531255, -0.0019531255, -0.0019531252,
                -0.0019531255, -0.0019531255, -0.0019531255, -0.0019531255, 0.0012820162,
                0.0012820157, 0.0012820162, 0.0012820162, 0.0012820162, 0.0012820157,
                -0.0019531255, -0.0019531252, -0.0019531255, -0.0019531255, -0.0019531255,
                -0.0019531255, 0.0012820162, 0.0012820157, 0.0012820162, 0.00097203586,
                0.00097203586, 0.0009720356, -0.001480877, -0.0014808768, -0.001480877,
                -0.0014808768, -0.0014808768, -0.0014808768, -0.001480877, 0.0009720356,
                0.00097203586, 0.00097203586, 0.00097203586, 0.00097203586, -0.0014808768,
                -0.0014808768, -0.001480877, -0.0014808768, -0.0014808768, -0.0014808768,
                -0.0014808768, 0.00097203586, 0.00097203616, 0.00097203586, 0.00097203586,
                0.00097203586, 0.00097203616, -0.0014808768, -0.001480877, -0.0014808768,
                -0.001480877, -0.0014808768, -0.001480877, 0.00097203586, 0.00097203616,
                0.00097203586, 0.000662056, 0.000662056, 0.0006620562, -0.0010086288,
                -0.001008629, -0.0010086288, -0.001008629, -0.0010086288, -0.001008629,
                -0.0010086288, 0.0006620562, 0.000662056, 0.0006620562, 0.000662056,
                0.0006620562, -0.0010086288, -0.001008629, -0.0010086288, -0.001008629,
                -0.0010086288, -0.001008629, -0.0010086288, 0.0006620562, 0.000662056,
                0.00066205574, 0.000662056, 0.00066205574, 0.000662056, -0.001008629,
                -0.0010086288, -0.001008629, -0.0010086288, -0.001008629, -0.0010086288,
                0.00066205574, 0.000662056, 0.00066205574,
            ],
        },
    );
}

// float32 mean and sum (added in f64 here, in float by libtorch: within the tolerance).
// torch 2.13.0:
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), swap=True)
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), 0.7)
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), swap=True, p=1, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, p=1, reduction='sum'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), -1.5)
//   F.triplet_margin_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), swap=True, eps=1e-3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, eps=1e-3, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
#[test]
#[rustfmt::skip]
fn f32_reductions() {
    check32_close(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::Mean).swap(true),
        &s32(0.7),
        Expect {
            shape: &[],
            loss: &[0.99999976],
            anchor: &[
                0.017556038, 0.017556038, 0.017556038, 0.017556038, 0.017556038, 0.017556038,
                -0.047226273, -0.047226273, -0.047226273, -0.047226273, 0.017556041, 0.017556041,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, -0.047226276, -0.047226273, -0.047226276, 0.017556041, 0.017556038,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, -0.047226276, -0.047226273, -0.047226276, 0.017556041, 0.017556038,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, -0.047226276, -0.047226273, -0.047226276, -0.047226273, 0.017556038,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556041, 0.017556038,
                0.017556038, 0.017556038, -0.047226273, -0.047226276, -0.047226273, 0.017556038,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556041, 0.017556038,
                0.017556038, 0.017556038, -0.047226273, -0.047226276, -0.047226273, 0.017556038,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556041, 0.017556038,
                0.017556041, 0.017556038, -0.047226273, -0.047226276, -0.047226273, -0.047226273,
                0.017556041, 0.017556038, 0.017556038, 0.017556038, 0.017556038, 0.017556038,
                0.017556041, 0.017556038, 0.017556038, -0.047226276, -0.047226273, -0.047226273,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556041, 0.017556038, 0.017556038, -0.047226273, -0.047226273, -0.047226273,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226273, -0.047226273,
                -0.047226273, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226273,
                -0.047226273, 0.017556038, 0.017556041, 0.017556041, 0.017556038, 0.017556041,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226273,
                -0.047226276, 0.017556041, 0.017556038, 0.017556041,
            ],
            positive: &[
                -0.035112076, -0.035112076, -0.035112076, 0.029670235, 0.029670235, 0.029670235,
                0.029670231, 0.029670235, 0.029670231, 0.029670235, -0.03511208, -0.03511208,
                -0.03511208, -0.035112076, -0.03511208, 0.029670235, 0.029670235, 0.029670235,
                0.029670235, 0.029670235, 0.029670231, 0.029670235, -0.03511208, -0.03511208,
                -0.03511208, -0.035112076, -0.03511208, -0.035112076, 0.029670238, 0.029670235,
                0.029670238, 0.029670235, 0.029670235, 0.029670235, -0.03511208, -0.03511208,
                -0.03511208, -0.035112076, -0.03511208, -0.035112076, 0.029670235, 0.029670227,
                0.029670235, 0.029670238, 0.029670238, 0.029670238, 0.029670235, -0.035112076,
                -0.03511208, -0.035112076, -0.03511208, -0.035112076, 0.029670231, 0.029670227,
                0.029670235, 0.029670227, 0.029670238, 0.029670238, 0.029670235, -0.035112076,
                -0.03511208, -0.035112076, -0.035112076, -0.035112076, -0.03511208, 0.029670227,
                0.029670235, 0.029670227, 0.029670238, 0.029670238, 0.029670238, -0.035112076,
                -0.03511208, -0.035112076, -0.03511208, -0.035112076, -0.03511208, 0.029670235,
                0.029670235, 0.029670235, 0.029670235, 0.029670235, 0.029670235, 0.029670231,
                -0.03511208, -0.03511208, -0.035112076, -0.03511208, -0.035112076, 0.029670235,
                0.029670235, 0.029670235, 0.029670235, 0.029670235, 0.029670235, 0.029670235,
                -0.03511208, -0.035112076, -0.03511208, -0.03511208, -0.035112076, -0.035112076,
                0.029670235, 0.029670235, 0.029670235, 0.029670231, 0.029670235, 0.029670231,
                -0.03511208, -0.035112076, -0.03511208, -0.035112076, -0.035112076, -0.035112076,
                0.029670227, 0.029670227, 0.029670227, 0.029670235, 0.029670238, 0.029670235,
                0.029670238, -0.035112076, -0.035112076, -0.035112076, -0.035112076,
                -0.035112076, 0.029670227, 0.029670227, 0.029670227, 0.029670227, 0.029670238,
                0.029670235, 0.029670238, -0.035112076, -0.035112076, -0.03511208, -0.035112076,
                -0.03511208, -0.035112076, 0.029670227, 0.029670227, 0.029670227, 0.029670238,
                0.029670235, 0.029670238, -0.03511208, -0.035112076, -0.03511208,
            ],
            negative: &[
                0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226273, -0.047226273,
                0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226273, -0.047226273,
                -0.047226273, 0.017556041, 0.017556041, 0.017556041, 0.017556038, 0.017556041,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, -0.047226276, -0.047226273,
                -0.047226276, 0.017556041, 0.017556038, 0.017556041, 0.017556038, 0.017556041,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226265,
                -0.047226273, 0.017556038, 0.017556034, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, -0.047226273, -0.047226265,
                -0.047226273, -0.047226265, 0.017556034, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, 0.017556038, 0.017556034, 0.017556038, 0.017556038, -0.047226265,
                -0.047226273, -0.047226265, 0.017556034, 0.017556038, 0.017556034, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, 0.017556038, -0.047226273,
                -0.047226276, -0.047226273, 0.017556038, 0.017556041, 0.017556038, 0.017556041,
                0.017556038, 0.017556041, 0.017556038, 0.017556041, 0.017556038, -0.047226273,
                -0.047226276, -0.047226273, -0.047226273, 0.017556041, 0.017556038, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, 0.017556041, 0.017556038, 0.017556038,
                -0.047226276, -0.047226273, -0.047226273, 0.017556041, 0.017556038, 0.017556041,
                0.017556038, 0.017556038, 0.017556038, 0.017556038, 0.017556038, 0.017556038,
                -0.047226265, -0.047226265, -0.047226265, 0.017556038, 0.017556034, 0.017556038,
                0.017556034, 0.017556038, 0.017556034, 0.017556038, 0.017556038, 0.017556038,
                -0.047226265, -0.047226265, -0.047226265, -0.047226265, 0.017556034, 0.017556038,
                0.017556034, 0.017556038, 0.017556034, 0.017556038, 0.017556038, 0.017556038,
                0.017556038, -0.047226265, -0.047226265, -0.047226265, 0.017556034, 0.017556038,
                0.017556038, 0.017556038, 0.017556038, 0.017556038,
            ],
        },
    );
    check32_close(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::Sum).swap(true).p(1.0),
        &s32(-1.5),
        Expect {
            shape: &[],
            loss: &[3.9999847],
            anchor: &[
                -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, 1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5,
                1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, 1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5,
            ],
            positive: &[
                3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0,
                3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0,
                3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0,
                3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 3.0, 3.0, 3.0,
            ],
            negative: &[
                -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, 1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5,
                1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, 1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                -1.5, -1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
                1.5, 1.5, 1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5, 1.5,
                1.5, 1.5, -1.5, -1.5, -1.5, -1.5, -1.5, -1.5,
            ],
        },
    );
    check32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &o(R::None).swap(true).eps(1e-3),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[0.9999995, 0.9999995, 1.0, 0.9999995],
            anchor: &[
                0.08362006, 0.083620064, 0.08362006, 0.083620064, 0.083620064, 0.083620064,
                -0.22437279, -0.22437279, -0.22437279, -0.22437279, 0.08362008, 0.08362008,
                0.08362008, 0.083620064, 0.08362008, 0.083620064, 0.083620064, 0.083620064,
                0.083620064, -0.22437282, -0.22437279, -0.22437282, 0.08362008, 0.08362006,
                0.08362008, 0.083620064, 0.08362008, 0.083620064, 0.083620064, 0.083620064,
                0.083620064, -0.22437282, -0.22437279, -0.22437282, 0.08362008, 0.08362006,
                0.08362008, 0.067338265, 0.06733828, 0.067338265, 0.067338265, 0.067338265,
                0.067338265, -0.18068482, -0.1806848, -0.18068482, -0.1806848, 0.067338265,
                0.06733828, 0.067338265, 0.06733828, 0.067338265, 0.06733828, 0.067338265,
                0.067338265, 0.067338265, -0.1806848, -0.18068482, -0.1806848, 0.067338265,
                0.06733828, 0.067338265, 0.06733828, 0.067338265, 0.06733828, 0.067338265,
                0.067338265, 0.067338265, -0.1806848, -0.18068482, -0.1806848, 0.067338265,
                0.06733828, 0.067338265, 0.05105649, 0.051056482, 0.05105649, 0.051056482,
                0.05105649, 0.051056482, -0.13699685, -0.13699687, -0.13699685, -0.13699685,
                0.05105649, 0.05105648, 0.051056482, 0.05105648, 0.051056482, 0.05105648,
                0.05105649, 0.051056482, 0.051056482, -0.13699687, -0.13699685, -0.13699685,
                0.05105649, 0.05105648, 0.05105649, 0.05105648, 0.051056482, 0.05105648,
                0.05105649, 0.051056482, 0.051056482, -0.13699685, -0.13699685, -0.13699685,
                0.05105649, 0.05105648, 0.05105649, 0.034774683, 0.034774683, 0.034774683,
                0.034774683, 0.034774683, 0.034774683, -0.093308866, -0.093308866, -0.093308866,
                -0.093308866, 0.034774683, 0.03477469, 0.034774683, 0.034774683, 0.034774683,
                0.034774683, 0.034774683, 0.034774683, 0.034774683, -0.093308866, -0.093308866,
                -0.093308866, 0.034774683, 0.03477469, 0.03477469, 0.034774683, 0.03477469,
                0.034774683, 0.034774683, 0.034774683, 0.034774683, -0.093308866, -0.093308866,
                -0.09330887, 0.03477469, 0.034774683, 0.03477469,
            ],
            positive: &[
                -0.16724011, -0.16724011, -0.16724011, 0.1407527, 0.1407527, 0.1407527,
                0.14075273, 0.14075273, 0.14075273, 0.14075273, -0.16724014, -0.16724013,
                -0.16724014, -0.16724011, -0.16724014, 0.1407527, 0.1407527, 0.1407527,
                0.1407527, 0.14075276, 0.14075273, 0.14075276, -0.16724014, -0.16724011,
                -0.16724014, -0.16724011, -0.16724014, -0.16724011, 0.14075273, 0.1407527,
                0.14075273, 0.14075276, 0.14075273, 0.14075276, -0.16724014, -0.16724011,
                -0.16724014, -0.13467653, -0.13467655, -0.13467653, 0.11334654, 0.113346525,
                0.11334654, 0.113346554, 0.113346554, 0.113346554, 0.11334654, -0.13467653,
                -0.13467655, -0.13467653, -0.13467655, -0.13467653, 0.113346525, 0.113346525,
                0.11334654, 0.113346525, 0.113346554, 0.113346554, 0.11334654, -0.13467653,
                -0.13467655, -0.13467653, -0.13467653, -0.13467653, -0.13467655, 0.113346525,
                0.11334654, 0.113346525, 0.113346554, 0.113346554, 0.113346554, -0.13467653,
                -0.13467655, -0.13467653, -0.102112964, -0.102112964, -0.10211297, 0.08594037,
                0.085940376, 0.08594037, 0.085940376, 0.085940376, 0.085940376, 0.08594036,
                -0.10211297, -0.102112964, -0.102112964, -0.102112964, -0.102112964, 0.085940376,
                0.085940376, 0.08594037, 0.08594037, 0.085940376, 0.085940376, 0.08594037,
                -0.102112964, -0.102112964, -0.102112964, -0.102112964, -0.102112964,
                -0.102112964, 0.085940376, 0.08594037, 0.08594037, 0.08594036, 0.085940376,
                0.08594036, -0.102112964, -0.102112964, -0.102112964, -0.06954937, -0.06954937,
                -0.06954937, 0.058534168, 0.058534168, 0.058534168, 0.058534183, 0.05853419,
                0.058534183, 0.05853419, -0.06954937, -0.06954937, -0.06954937, -0.06954937,
                -0.06954937, 0.058534168, 0.058534168, 0.058534168, 0.058534168, 0.05853419,
                0.058534183, 0.05853419, -0.06954937, -0.06954937, -0.069549374, -0.06954937,
                -0.069549374, -0.06954937, 0.058534168, 0.058534168, 0.058534168, 0.05853419,
                0.058534183, 0.05853419, -0.069549374, -0.06954937, -0.069549374,
            ],
            negative: &[
                0.08362006, 0.08362006, 0.08362006, -0.22437277, -0.22437277, -0.22437277,
                0.083620064, 0.08362005, 0.083620064, 0.08362005, 0.08362006, 0.08362005,
                0.08362006, 0.08362006, 0.08362006, -0.22437277, -0.22437277, -0.22437277,
                -0.22437277, 0.083620064, 0.083620064, 0.083620064, 0.08362006, 0.083620064,
                0.08362006, 0.08362006, 0.08362006, 0.08362006, -0.22437279, -0.22437277,
                -0.22437279, 0.083620064, 0.08362005, 0.083620064, 0.08362006, 0.083620064,
                0.08362006, 0.067338265, 0.067338265, 0.067338265, -0.1806848, -0.18068479,
                -0.1806848, 0.067338265, 0.06733825, 0.067338265, 0.067338265, 0.067338265,
                0.067338265, 0.067338265, 0.067338265, 0.067338265, -0.1806848, -0.18068479,
                -0.1806848, -0.18068479, 0.06733825, 0.067338265, 0.067338265, 0.067338265,
                0.067338265, 0.067338265, 0.06733825, 0.067338265, 0.067338265, -0.18068479,
                -0.1806848, -0.18068479, 0.06733825, 0.067338265, 0.06733825, 0.067338265,
                0.067338265, 0.067338265, 0.05105648, 0.051056482, 0.051056482, -0.13699685,
                -0.13699687, -0.13699685, 0.05105648, 0.05105649, 0.05105648, 0.05105649,
                0.051056482, 0.05105649, 0.051056482, 0.05105649, 0.051056482, -0.13699685,
                -0.13699687, -0.13699685, -0.13699685, 0.05105649, 0.05105648, 0.051056482,
                0.05105648, 0.051056482, 0.05105648, 0.05105649, 0.051056482, 0.051056482,
                -0.13699687, -0.13699685, -0.13699685, 0.05105649, 0.05105648, 0.05105649,
                0.05105648, 0.051056482, 0.05105648, 0.034774683, 0.034774683, 0.034774683,
                -0.09330885, -0.09330885, -0.09330885, 0.034774683, 0.034774676, 0.034774683,
                0.034774676, 0.034774683, 0.034774676, 0.034774683, 0.034774683, 0.034774683,
                -0.09330885, -0.09330885, -0.09330885, -0.09330885, 0.034774676, 0.034774683,
                0.034774676, 0.034774683, 0.034774676, 0.034774683, 0.034774683, 0.034774683,
                0.034774683, -0.09330885, -0.09330885, -0.09330885, 0.034774676, 0.034774683,
                0.034774683, 0.034774683, 0.034774683, 0.034774683,
            ],
        },
    );
}

// float32 row widths around the lane count: 5 (all remainder: 4 plain, 1 fused), 12 (8 + 4),
// 16, 3 (all fused), 1 (|u|, p = 3), 100.
// torch 2.13.0:
//   F.triplet_margin_loss(E(8, 5, 1), E(8, 5, 2), E(8, 5, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(8, 5, 1), E(8, 5, 2), E(8, 5, 3), E(1, 8, 4).reshape(8))
//   F.triplet_margin_loss(E(8, 12, 1), E(8, 12, 2), E(8, 12, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(8, 12, 1), E(8, 12, 2), E(8, 12, 3), E(1, 8, 4).reshape(8))
//   F.triplet_margin_loss(E(8, 16, 1), E(8, 16, 2), E(8, 16, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(8, 16, 1), E(8, 16, 2), E(8, 16, 3), E(1, 8, 4).reshape(8))
//   F.triplet_margin_loss(E(8, 3, 1), E(8, 3, 2), E(8, 3, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(8, 3, 1), E(8, 3, 2), E(8, 3, 3), E(1, 8, 4).reshape(8))
//   F.triplet_margin_loss(E(8, 1, 1, 3.0), E(8, 1, 2, 3.0), E(8, 1, 3, 3.0), p=3, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, p=3, reduction='none'), E(8, 1, 1, 3.0), E(8, 1, 2, 3.0), E(8, 1, 3, 3.0), E(1, 8, 4).reshape(8))
//   F.triplet_margin_loss(E(2, 100, 1), E(2, 100, 2), E(2, 100, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(2, 100, 1), E(2, 100, 2), E(2, 100, 3), E(1, 2, 4).reshape(2))
#[test]
#[rustfmt::skip]
fn f32_widths() {
    check32(
        [&e32(8, 5, 1), &e32(8, 5, 2), &e32(8, 5, 3)],
        &o(R::None),
        &ev32(8, 4),
        Expect {
            shape: &[8],
            loss: &[0.0, 1.9177055, 0.0, 0.76858044, 0.98450184, 0.0, 1.5104141, 0.0],
            anchor: &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.42207003, -0.02972585, -0.02972582, -0.02972585,
                -0.02972582, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2579562, 0.25795618, 0.2579562,
                0.25795618, -0.12292984, -0.044524364, -0.044524364, -0.043420747, -0.04342075,
                -0.043420747, 0.0, 0.0, 0.0, 0.0, 0.0, -0.08899621, 0.01710083, 0.017100818,
                0.01710083, 0.042540744, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
            positive: &[
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.122436896, 0.32935894, 0.32935894, 0.32935894,
                0.32935894, -0.0, -0.0, -0.0, -0.0, -0.0, -0.10322031, -0.10322031, -0.10322031,
                -0.10322031, 0.27766573, 0.1184124, 0.118412405, -0.04401899, -0.04401898,
                -0.04401899, -0.0, -0.0, -0.0, -0.0, -0.0, 0.02875235, -0.077344686, -0.07734468,
                -0.077344686, 0.028752351, -0.0, -0.0, -0.0, -0.0, -0.0,
            ],
            negative: &[
                0.0, 0.0, 0.0, -0.0, -0.0, -0.29963312, -0.2996331, -0.29963312, -0.2996331,
                -0.29963312, 0.0, 0.0, 0.0, 0.0, 0.0, -0.1547359, -0.15473588, -0.1547359,
                -0.15473588, -0.1547359, -0.07388803, -0.07388804, 0.08743974, 0.08743973,
                0.08743974, 0.0, 0.0, 0.0, -0.0, -0.0, 0.06024386, 0.060243856, 0.06024386,
                0.060243856, -0.07129309, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
        },
    );
    check32(
        [&e32(8, 12, 1), &e32(8, 12, 2), &e32(8, 12, 3)],
        &o(R::None),
        &ev32(8, 4),
        Expect {
            shape: &[8],
            loss: &[
                0.866781, 0.5758929, 0.52722454, 0.86678123, 0.5758929, 0.52722406, 0.866781,
                0.57589316,
            ],
            anchor: &[
                -0.12624124, -0.12624127, -0.12624124, 0.35922492, 0.35922492, 0.35922492,
                -0.14587249, -0.14587249, -0.14587249, -0.14587249, -0.12624128, -0.12624125,
                -0.09098505, -0.090985045, -0.09098505, 0.29995525, 0.29995522, 0.29995525,
                0.29995522, -0.14618705, -0.146187, -0.14618705, -0.09098505, -0.09098506,
                -0.066736504, -0.06673648, -0.066736504, -0.06673648, 0.22552815, 0.22552815,
                0.22552815, -0.11274095, -0.112740904, -0.11274095, -0.066736504, -0.06673649,
                -0.05249937, -0.05249936, -0.05249937, -0.05249936, 0.14938918, 0.14938918,
                0.14938918, -0.06066332, -0.060663305, -0.06066332, -0.060663305, -0.052499365,
                -0.024986945, -0.024986945, -0.024986945, -0.024986945, 0.08237578, 0.08237578,
                0.08237578, 0.08237578, -0.040146887, -0.040146895, -0.040146887, -0.024986945,
                -0.0028901566, -0.0028901566, -0.0028901557, -0.002890156, -0.0028901566,
                0.009766947, 0.0097669475, 0.0097669475, -0.004882472, -0.004882473,
                -0.004882472, -0.0028901566, 0.021242522, 0.021242524, 0.021242518, 0.02124252,
                0.021242522, -0.060446493, -0.060446497, -0.060446493, 0.024545852, 0.024545856,
                0.024545852, 0.024545852, 0.04101119, 0.04101118, 0.041011177, 0.04101118,
                0.041011177, -0.1352037, -0.1352037, -0.1352037, -0.1352037, 0.06589326,
                0.06589325, 0.06589325,
            ],
            positive: &[
                -0.13688165, -0.13688165, -0.13688165, -0.13688165, -0.13688165, -0.13688165,
                0.36821577, 0.36821577, 0.36821577, 0.36821577, -0.13688166, -0.13688166,
                -0.12090478, -0.12090477, -0.12090478, -0.12090477, -0.12090477, -0.12090477,
                -0.12090477, 0.3252375, 0.32523745, 0.3252375, -0.12090478, -0.12090476,
                -0.091671094, -0.09167109, -0.091671094, -0.09167109, -0.09167109, -0.09167109,
                -0.09167109, 0.246598, 0.24659798, 0.246598, -0.091671094, -0.09167108,
                -0.056924336, -0.05692433, -0.056924336, -0.05692433, -0.05692433, -0.05692433,
                -0.05692433, 0.15312818, 0.15312816, 0.15312818, 0.15312816, -0.056924324,
                -0.033203706, -0.033203702, -0.033203706, -0.033203702, -0.033203706,
                -0.033203702, -0.033203702, -0.033203702, 0.08931896, 0.08931897, 0.08931896,
                -0.033203702, -0.0039700004, -0.0039699995, -0.0039700004, -0.00397,
                -0.0039700004, -0.0039699995, -0.00397, -0.00397, 0.010679419, 0.01067942,
                0.010679419, -0.0039699995, 0.02303297, 0.023032965, 0.02303297, 0.023032969,
                0.02303297, 0.023032969, 0.02303297, 0.023032969, -0.06195938, -0.061959382,
                -0.06195938, -0.06195938, 0.05449738, 0.054497372, 0.054497376, 0.054497372,
                0.054497376, 0.054497372, 0.05449738, 0.054497376, 0.054497376, -0.14659959,
                -0.14659958, -0.14659958,
            ],
            negative: &[
                0.2631229, 0.26312292, 0.2631229, -0.22234328, -0.22234328, -0.22234328,
                -0.22234328, -0.22234328, -0.22234328, -0.22234328, 0.26312295, 0.26312292,
                0.21188983, 0.21188982, 0.21188983, -0.17905046, -0.17905045, -0.17905046,
                -0.17905045, -0.17905046, -0.17905045, -0.17905046, 0.21188983, 0.21188982,
                0.1584076, 0.15840757, 0.1584076, 0.15840757, -0.13385707, -0.13385706,
                -0.13385707, -0.13385706, -0.13385707, -0.13385706, 0.1584076, 0.15840757,
                0.109423704, 0.10942369, 0.109423704, 0.10942369, -0.09246486, -0.09246486,
                -0.09246486, -0.09246486, -0.09246486, -0.09246486, -0.09246486, 0.10942369,
                0.05819065, 0.058190648, 0.05819065, 0.058190648, -0.049172074, -0.049172074,
                -0.049172074, -0.049172074, -0.049172074, -0.049172074, -0.049172074,
                0.058190648, 0.006860157, 0.006860156, 0.006860156, 0.006860156, 0.006860157,
                -0.005796947, -0.0057969475, -0.005796947, -0.005796947, -0.005796947,
                -0.005796947, 0.006860156, -0.044275492, -0.04427549, -0.04427549, -0.04427549,
                -0.044275492, 0.037413526, 0.037413526, 0.037413526, 0.037413526, 0.037413526,
                0.037413526, 0.037413526, -0.09550857, -0.09550855, -0.09550855, -0.09550855,
                -0.09550855, 0.08070633, 0.08070633, 0.08070633, 0.08070633, 0.08070633,
                0.08070633, 0.08070633,
            ],
        },
    );
    check32(
        [&e32(8, 16, 1), &e32(8, 16, 2), &e32(8, 16, 3)],
        &o(R::None),
        &ev32(8, 4),
        Expect {
            shape: &[8],
            loss: &[
                0.45408583, 0.53868365, 0.9893265, 0.13742876, 0.22113943, 1.2996929, 0.09621477,
                0.49615955,
            ],
            anchor: &[
                -0.09465717, -0.09465718, -0.09465717, 0.3198829, 0.31988287, 0.3198829,
                -0.15990867, -0.15990865, -0.15990867, -0.15990865, -0.09465718, -0.09465717,
                -0.09465718, -0.09465718, -0.09465718, 0.3198829, 0.26088953, 0.26088953,
                0.26088953, -0.12548098, -0.12548096, -0.12548098, -0.08012162, -0.080121614,
                -0.08012162, -0.08012161, -0.08012162, -0.08012161, 0.26088953, 0.26088953,
                0.26088953, -0.12548098, -0.06982141, -0.06982145, -0.069132224, -0.069132224,
                -0.069132224, -0.06913222, -0.069132224, -0.06913222, 0.18665743, 0.18665743,
                0.18665743, -0.06982145, -0.06982142, -0.06982145, -0.06982142, -0.069132224,
                -0.033748254, -0.033748243, -0.033748254, -0.033748243, 0.13687477, 0.13687475,
                0.13687477, 0.13687475, -0.07983887, -0.07983889, -0.07983887, -0.033748247,
                -0.033748254, -0.033748247, -0.03374824, -0.033748243, -0.018983498, 0.07366472,
                0.073664725, 0.07366472, -0.04158186, -0.04158187, -0.04158186, -0.0189835,
                -0.018983498, -0.0189835, -0.018983494, -0.018983496, -0.018983498, 0.07366472,
                0.073664725, 0.07366472, -0.0024771988, -0.0024771998, -0.0024771988,
                -0.0024771993, -0.003287694, -0.0032876937, -0.0032876933, -0.0032876937,
                -0.0032876933, 0.0080335215, 0.0080335215, 0.0080335215, 0.0080335215,
                -0.0024771998, -0.0024771988, -0.0024771988, 0.013278931, 0.013278935,
                0.013278931, 0.013278939, 0.013278933, 0.013278935, -0.05506477, -0.055064768,
                -0.055064768, 0.032622844, 0.03262284, 0.032622844, 0.013278931, 0.013278935,
                0.013278931, 0.013278939, 0.0352226, 0.035222597, -0.116841316, -0.116841316,
                -0.116841316, 0.057313785, 0.057313778, 0.057313785, 0.057313778, 0.035222597,
                0.035222597, 0.035222597, 0.0352226, 0.035222597, -0.116841316, -0.116841316,
            ],
            positive: &[
                -0.13002373, -0.13002375, -0.13002373, -0.13002375, -0.13002375, -0.13002375,
                0.3497678, 0.3497678, 0.3497678, 0.3497678, -0.13002376, -0.13002376,
                -0.13002376, -0.13002375, -0.13002376, -0.13002375, -0.1047066, -0.1047066,
                -0.1047066, 0.28166392, 0.2816639, 0.28166392, -0.104706615, -0.10470659,
                -0.104706615, -0.1047066, -0.104706615, -0.1047066, -0.1047066, -0.1047066,
                -0.1047066, 0.28166392, 0.18697295, 0.18697298, -0.0695059, -0.069505885,
                -0.0695059, -0.06950589, -0.0695059, -0.06950589, -0.06950589, -0.06950589,
                -0.06950589, 0.18697298, 0.18697295, 0.18697298, 0.18697295, -0.069505885,
                -0.058729507, -0.058729503, -0.058729507, -0.058729503, -0.058729507, -0.0587295,
                -0.058729503, -0.058729503, 0.15798412, 0.15798414, 0.15798412, -0.0587295,
                -0.058729507, -0.0587295, -0.058729507, -0.058729503, -0.031231884, -0.031231878,
                -0.031231882, -0.031231882, 0.0840147, 0.08401471, 0.0840147, -0.031231878,
                -0.031231884, -0.031231878, -0.031231884, -0.031231882, -0.031231884,
                -0.031231882, -0.031231884, -0.031231882, 0.00766231, 0.0076623107, 0.00766231,
                0.00766231, -0.002848411, -0.0028484103, -0.0028484107, -0.0028484103,
                -0.0028484107, -0.0028484103, -0.002848411, -0.0028484107, -0.0028484107,
                0.0076623107, 0.00766231, 0.00766231, 0.023763388, 0.023763381, 0.023763388,
                0.023763381, 0.023763387, 0.023763381, 0.023763388, 0.023763387, 0.023763387,
                -0.06392422, -0.06392422, -0.06392422, 0.023763388, 0.023763381, 0.023763388,
                0.023763381, 0.047196116, 0.047196113, 0.047196116, 0.047196116, 0.047196116,
                -0.12695898, -0.12695898, -0.12695898, -0.12695898, 0.047196113, 0.04719612,
                0.047196113, 0.047196116, 0.047196113, 0.047196116, 0.047196116,
            ],
            negative: &[
                0.2246809, 0.22468093, 0.2246809, -0.18985915, -0.18985914, -0.18985915,
                -0.18985914, -0.18985915, -0.18985914, -0.18985915, 0.22468095, 0.22468093,
                0.22468095, 0.22468093, 0.22468095, -0.18985915, -0.15618293, -0.15618294,
                -0.15618293, -0.15618294, -0.15618293, -0.15618294, 0.18482824, 0.1848282,
                0.18482824, 0.1848282, 0.18482824, 0.1848282, -0.15618294, -0.15618294,
                -0.15618294, -0.15618294, -0.117151536, -0.11715153, 0.13863812, 0.13863811,
                0.13863812, 0.13863811, 0.13863812, 0.13863811, -0.117151536, -0.11715153,
                -0.117151536, -0.11715153, -0.11715153, -0.11715153, -0.11715153, 0.13863811,
                0.09247776, 0.09247775, 0.09247776, 0.09247775, -0.07814525, -0.07814525,
                -0.07814526, -0.07814525, -0.07814525, -0.07814525, -0.07814525, 0.09247775,
                0.09247776, 0.09247775, 0.09247775, 0.09247775, 0.050215382, -0.042432837,
                -0.04243284, -0.042432837, -0.042432837, -0.042432837, -0.042432837, 0.05021538,
                0.050215382, 0.05021538, 0.05021538, 0.05021538, 0.050215382, -0.042432837,
                -0.042432837, -0.042432837, -0.005185111, -0.005185111, -0.005185111,
                -0.0051851105, 0.006136105, 0.006136104, 0.006136104, 0.006136104, 0.006136104,
                -0.005185111, -0.005185111, -0.0051851105, -0.005185111, -0.005185111,
                -0.005185111, -0.005185111, -0.03704232, -0.037042316, -0.03704232, -0.03704232,
                -0.03704232, -0.037042316, 0.031301383, 0.03130138, 0.031301383, 0.03130138,
                0.031301383, 0.03130138, -0.03704232, -0.037042316, -0.03704232, -0.03704232,
                -0.08241872, -0.08241871, 0.0696452, 0.069645196, 0.0696452, 0.069645196,
                0.0696452, 0.069645196, 0.0696452, -0.08241871, -0.08241872, -0.08241871,
                -0.08241872, -0.08241871, 0.0696452, 0.069645196,
            ],
        },
    );
    check32(
        [&e32(8, 3, 1), &e32(8, 3, 2), &e32(8, 3, 3)],
        &o(R::None),
        &ev32(8, 4),
        Expect {
            shape: &[8],
            loss: &[
                0.061228514, 0.35221648, 1.9387716, 0.8613821, 0.061228514, 0.35221648,
                1.5454112, 0.86138237,
            ],
            anchor: &[
                2.9802322e-08, 0.0, 2.9802322e-08, 0.7736493, 0.7736493, 0.7736493, 0.0, 0.0,
                0.0, -0.1287834, -0.09617432, -0.09617431, 0.0, 0.0, 0.0, 0.02540336, 0.02540336,
                0.02540336, -0.11642061, 0.014913425, 0.014913425, 0.1124063, 0.08394408,
                0.08394409,
            ],
            positive: &[
                -0.4803554, -0.48035547, -0.4803554, -0.38682464, -0.38682464, -0.38682464,
                0.29329395, 0.29329395, 0.29329395, 0.30625635, -0.11384868, -0.11384868,
                -0.10623246, -0.10623244, -0.10623246, -0.01270168, -0.01270168, -0.01270168,
                0.03559159, -0.09574245, -0.09574245, -0.26731044, 0.09937081, 0.099370785,
            ],
            negative: &[
                0.48035538, 0.48035547, 0.48035538, -0.38682464, -0.38682464, -0.38682464,
                -0.29329395, -0.29329395, -0.29329395, -0.17747295, 0.210023, 0.21002299,
                0.10623246, 0.10623244, 0.10623246, -0.01270168, -0.01270168, -0.01270168,
                0.080829024, 0.080829024, 0.080829024, 0.15490414, -0.18331489, -0.18331487,
            ],
        },
    );
    check32(
        [&e32s(8, 1, 1, 3.0), &e32s(8, 1, 2, 3.0), &e32s(8, 1, 3, 3.0)],
        &o(R::None).p(3.0),
        &ev32(8, 4),
        Expect {
            shape: &[8],
            loss: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.6260002, 2.6259997],
            anchor: &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            positive: &[-0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.13999999, -0.302],
            negative: &[0.0, 0.0, 0.0, -0.0, -0.0, -0.0, 0.13999999, 0.302],
        },
    );
    check32(
        [&e32(2, 100, 1), &e32(2, 100, 2), &e32(2, 100, 3)],
        &o(R::None),
        &ev32(2, 4),
        Expect {
            shape: &[2],
            loss: &[0.0, 0.0],
            anchor: &[
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
            positive: &[
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0,
                0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0,
            ],
            negative: &[
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0,
                0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
            ],
        },
    );
}

// float32 broadcasting (gradients summed back over the batch in another order: within the
// tolerance).
// torch 2.13.0:
//   F.triplet_margin_loss(E(1, 37, 1), E(4, 37, 2), E(4, 1, 3), reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, reduction='none'), E(1, 37, 1), E(4, 37, 2), E(4, 1, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_loss(E(4, 37, 1), E(1, 37, 2), E(1, 37, 3), swap=True, reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True, reduction='sum'), E(4, 37, 1), E(1, 37, 2), E(1, 37, 3), 1.0)
#[test]
#[rustfmt::skip]
fn f32_broadcast() {
    check32_close(
        [&e32(1, 37, 1), &e32(4, 37, 2), &e32(4, 1, 3)],
        &o(R::None),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[1.3361993, 0.58568144, 0.0, 0.0],
            anchor: &[
                -0.17158541, -0.12632371, -0.08106199, -0.03580025, 0.009461507, 0.054723233,
                -0.45602942, -0.4107677, -0.36550596, -0.32024422, -0.2777549, -0.23249322,
                -0.18723148, -0.14196976, -0.096708015, -0.051446274, -0.006184548, 0.0390772,
                0.08433894, -0.42641377, -0.38115197, -0.3358903, -0.29340097, -0.24813929,
                -0.20287752, -0.15761574, -0.11235401, -0.067092314, -0.021830574, 0.023431167,
                0.06869291, -0.44205981, -0.396798, -0.35153633, -0.30904698, -0.26378527,
                -0.21852353,
            ],
            positive: &[
                -0.08346642, -0.083466426, -0.08346642, -0.083466426, -0.083466426, -0.083466426,
                0.2245272, 0.2245272, 0.2245272, 0.2245272, -0.08346644, -0.08346644,
                -0.08346644, -0.083466426, -0.08346644, -0.083466426, -0.083466426, -0.083466426,
                -0.083466426, 0.22452722, 0.2245272, 0.22452722, -0.08346644, -0.08346642,
                -0.08346644, -0.083466426, -0.08346644, -0.083466426, -0.083466426, -0.083466426,
                -0.083466426, 0.22452722, 0.2245272, 0.22452722, -0.08346644, -0.08346642,
                -0.08346644, -0.06646969, -0.0664697, -0.06646969, -0.0664697, -0.0664697,
                -0.0664697, 0.1815511, 0.1815511, 0.1815511, 0.1815511, -0.0664697, -0.0664697,
                -0.06646971, -0.0664697, -0.06646971, -0.0664697, -0.06646969, -0.0664697,
                -0.0664697, 0.1815511, 0.1815511, 0.1815511, -0.0664697, -0.0664697, -0.0664697,
                -0.0664697, -0.06646971, -0.0664697, -0.06646969, -0.0664697, -0.0664697,
                0.1815511, 0.1815511, 0.1815511, -0.0664697, -0.0664697, -0.0664697, -0.0, -0.0,
                -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0,
                -0.0, 0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0,
                0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, 0.0, 0.0, 0.0, -0.0,
                -0.0, -0.0,
            ],
            negative: &[3.6482196, 3.249171, 0.0, 0.0],
        },
    );
    check32_close(
        [&e32(4, 37, 1), &e32(1, 37, 2), &e32(1, 37, 3)],
        &o(R::Sum).swap(true),
        &s32(1.0),
        Expect {
            shape: &[],
            loss: &[4.0020857],
            anchor: &[
                0.10032021, 0.10032022, 0.10032021, 0.10032022, 0.10032022, 0.10032022,
                -0.2698644, -0.2698644, -0.2698644, -0.2698644, 0.100320235, 0.100320235,
                0.100320235, 0.10032022, 0.100320235, 0.10032022, 0.10032022, 0.10032022,
                0.10032022, -0.26986444, -0.2698644, -0.26986444, 0.100320235, 0.10032021,
                0.100320235, 0.10032022, 0.100320235, 0.10032022, 0.10032022, 0.10032022,
                0.10032022, -0.26986444, -0.2698644, -0.26986444, 0.100320235, 0.10032021,
                0.100320235, 0.10142733, 0.10142735, 0.10142733, 0.10142733, 0.10142733,
                0.10142733, -0.26874477, -0.26874474, -0.26874477, -0.26874474, 0.10142733,
                0.101427354, 0.10142733, 0.10142735, 0.10142733, 0.10142735, 0.10142733,
                0.10142733, 0.10142733, -0.26874477, -0.26874477, -0.26874477, 0.10142733,
                0.10142733, 0.10142733, 0.10142735, 0.10142733, 0.10142735, 0.10142733,
                0.10142733, 0.10142733, -0.26874477, -0.26874477, -0.26874477, 0.10142733,
                0.10142733, 0.10142733, 0.1025297, 0.10252968, 0.1025297, 0.1025297, 0.1025297,
                0.1025297, -0.26761293, -0.26761293, -0.26761293, -0.2676129, 0.1025297,
                0.1025297, 0.1025297, 0.10252968, 0.1025297, 0.10252968, 0.1025297, 0.1025297,
                0.1025297, -0.26761296, -0.26761293, -0.26761296, 0.1025297, 0.102529675,
                0.1025297, 0.10252968, 0.1025297, 0.10252968, 0.1025297, 0.1025297, 0.1025297,
                -0.26761296, -0.26761293, -0.26761296, 0.1025297, 0.102529675, 0.1025297,
                0.103627145, 0.10362715, 0.103627145, 0.10362715, 0.10362715, 0.10362715,
                -0.26646918, -0.26646915, -0.26646918, -0.26646915, 0.103627145, 0.10362717,
                0.103627145, 0.10362715, 0.103627145, 0.10362715, 0.10362715, 0.10362715,
                0.10362715, -0.26646918, -0.26646918, -0.26646918, 0.103627145, 0.103627145,
                0.10362717, 0.10362715, 0.10362717, 0.10362715, 0.10362715, 0.10362715,
                0.10362715, -0.26646918, -0.26646918, -0.26646918, 0.10362717, 0.103627145,
                0.10362717,
            ],
            positive: &[
                -0.80918527, -0.80918527, -0.80918527, 0.67155325, 0.67155325, 0.67155325,
                0.67141026, 0.6714103, 0.67141026, 0.6714103, -0.80918527, -0.8091853,
                -0.80918527, -0.80918527, -0.80918527, 0.67155325, 0.67155325, 0.67155325,
                0.67155325, 0.6714105, 0.67141026, 0.6714105, -0.80918527, -0.80918527,
                -0.8091853, -0.80918527, -0.8091853, -0.80918527, 0.6715534, 0.67155325,
                0.6715534, 0.6714105, 0.6714103, 0.6714105, -0.8091853, -0.80918527, -0.8091853,
            ],
            negative: &[
                0.40128088, 0.40128088, 0.40128088, -1.0794576, -1.0794576, -1.0794576,
                0.40128094, 0.40128085, 0.40128094, 0.40128085, 0.40128088, 0.40128085,
                0.40128088, 0.40128088, 0.40128088, -1.0794576, -1.0794576, -1.0794576,
                -1.0794576, 0.40128094, 0.40128094, 0.40128094, 0.40128088, 0.40128094,
                0.40128088, 0.40128088, 0.40128088, 0.40128088, -1.0794578, -1.0794576,
                -1.0794578, 0.40128094, 0.40128085, 0.40128094, 0.40128088, 0.40128094,
                0.40128088,
            ],
        },
    );
}

// triplet_margin_with_distance_loss with its default distance: pairwise_distance (p=2,
// eps=1e-6), the same values as triplet_margin_loss's, with and without swap, broadcast,
// unbatched.
// torch 2.13.0:
//   F.triplet_margin_with_distance_loss(A, P, N, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, reduction='none'), A, P, N, G)
//   F.triplet_margin_with_distance_loss(A, P, N, swap=True)
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True), A, P, N, 0.7)
//   F.triplet_margin_with_distance_loss(AS, PS, NS, swap=True, margin=0.5, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True, margin=0.5, reduction='none'), AS, PS, NS, G)
//   F.triplet_margin_with_distance_loss(A[:1], P, N[:, :1], reduction='sum')
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, reduction='sum'), A[:1], P, N[:, :1], -1.0)
//   F.triplet_margin_with_distance_loss(A[2], P[2], N[2], swap=True, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True, reduction='none'), A[2], P[2], N[2], 1.0)
#[test]
#[rustfmt::skip]
fn with_distance() {
    check_wd(
        [&a(), &p(), &n()],
        &wo(R::None),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.6607043993982, 0.0, 0.0, 2.3747700308258524],
            anchor: &[
                -0.16457088534687683, 0.13093003402313214, 0.021295817658170457, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -2.4344550636363715, -0.44867089660665727, -2.7399603201024814,
            ],
            positive: &[
                0.0991049571455638, -1.415787124632518e-07, -0.2831575665052161, 0.0, 0.0, -0.0,
                -0.0, -0.0, -0.0, 1.222019498338157, -0.7637646686915571, 1.5275247548042667,
            ],
            negative: &[
                0.06546592820131303, -0.13092989244441966, 0.26186174884704566, 0.0, 0.0, -0.0,
                -0.0, -0.0, 0.0, 1.2124355652982144, 1.2124355652982144, 1.2124355652982144,
            ],
        },
    );
    check_wd(
        [&a(), &p(), &n()],
        &wo(R::Mean).swap(true),
        &s(0.7),
        Expect {
            shape: &[],
            loss: &[1.2588686075560132],
            anchor: &[
                -0.09599968311901148, 0.07637585318016041, 0.012422560300599461, -0.0, -0.0, 0.0,
                0.0, 0.0, 0.0, -0.2028712553030309, -0.03738924138388809, -0.22833002667520674,
            ],
            positive: &[
                0.057811225001578884, -8.258758227023022e-08, -0.16517524712804274, 0.0, 0.0,
                -0.0, 0.0, 0.0, -0.0, 0.1018349581948464, -0.06364705572429642,
                0.12729372956702223,
            ],
            negative: &[
                0.0381884581174326, -0.07637577059257813, 0.15275268682744328, 0.0, 0.0, 0.0,
                -0.0, -0.0, 0.0, 0.10103629710818451, 0.10103629710818451, 0.10103629710818451,
            ],
        },
    );
    check_wd(
        [&as_(), &ps(), &ns()],
        &wo(R::None).swap(true).margin(0.5),
        &g(),
        Expect {
            shape: &[4],
            loss: &[2.4999999999996665, 0.0, 0.5, 1.3819683528910525],
            anchor: &[
                -0.29999999999998334, 1.000000333333389e-07, 0.0, -0.0, 8.000008000004001e-07,
                -0.7999999999996001, 1.049999475000131e-06, 2.0999999999997376,
            ],
            positive: &[
                0.5999999999998333, -4.0000033333348897e-07, 0.0, 0.0, -1.6000016000008002e-06,
                1.5999999999992003, 0.9391467492306196, -0.22170252324019346,
            ],
            negative: &[
                -0.29999999999985, 3.0000030000015005e-07, 0.0, 0.0, 8.000008000004001e-07,
                -0.7999999999996001, -0.9391477992300946, -1.8782974767595442,
            ],
        },
    );
    check_wd_close(
        [&rows(&a(), 0, 1), &p(), &cols(&n(), 0, 1)],
        &wo(R::Sum),
        &s(-1.0),
        Expect {
            shape: &[],
            loss: &[2.3834534638273808],
            anchor: &[0.6323976662834573, -0.20707007118303, -0.6370777427576686],
            positive: &[
                -0.33034985715187937, 4.7192904154417275e-07, 0.9438585550173871,
                -0.04479960509377156, -0.7391969560339855, 0.6719976603929009,
                -0.2786761713127432, -0.34060427819124944, 0.8979578593788735, -0.0, 0.0, -0.0,
            ],
            negative: &[-0.39103205680479847, -1.4140238012142357, 1.236618326741701, 0.0],
        },
    );
    check_wd(
        [&row(&a(), 2), &row(&p(), 2), &row(&n(), 2)],
        &wo(R::None).swap(true),
        &s(1.0),
        Expect {
            shape: &[],
            loss: &[0.0],
            anchor: &[0.0, 0.0, 0.0],
            positive: &[0.0, 0.0, -0.0],
            negative: &[-0.0, -0.0, 0.0],
        },
    );
}

// The same in float32.
// torch 2.13.0:
//   F.triplet_margin_with_distance_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), swap=True, reduction='none')
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, swap=True, reduction='none'), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), E(1, 4, 4).reshape(4))
//   F.triplet_margin_with_distance_loss(E(4, 37, 1), E(4, 37, 2), E(4, 37, 3))
//   grads(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n), E(4, 37, 1), E(4, 37, 2), E(4, 37, 3), 0.7)
#[test]
#[rustfmt::skip]
fn with_distance_f32() {
    check_wd32(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &wo(R::None).swap(true),
        &ev32(4, 4),
        Expect {
            shape: &[4],
            loss: &[1.0, 0.9999995, 1.0, 0.9999995],
            anchor: &[
                0.08346642, 0.083466426, 0.08346642, 0.083466426, 0.083466426, 0.083466426,
                -0.2245272, -0.2245272, -0.2245272, -0.2245272, 0.08346644, 0.08346644,
                0.08346644, 0.083466426, 0.08346644, 0.083466426, 0.083466426, 0.083466426,
                0.083466426, -0.22452722, -0.2245272, -0.22452722, 0.08346644, 0.08346642,
                0.08346644, 0.083466426, 0.08346644, 0.083466426, 0.083466426, 0.083466426,
                0.083466426, -0.22452722, -0.2245272, -0.22452722, 0.08346644, 0.08346642,
                0.08346644, 0.06721454, 0.067214556, 0.06721454, 0.06721454, 0.06721454,
                0.06721454, -0.18080917, -0.18080914, -0.18080917, -0.18080914, 0.06721454,
                0.067214556, 0.06721454, 0.067214556, 0.06721454, 0.067214556, 0.06721454,
                0.06721454, 0.06721454, -0.18080914, -0.18080917, -0.18080914, 0.06721454,
                0.067214556, 0.06721454, 0.067214556, 0.06721454, 0.067214556, 0.06721454,
                0.06721454, 0.06721454, -0.18080914, -0.18080917, -0.18080914, 0.06721454,
                0.067214556, 0.06721454, 0.050962683, 0.05096267, 0.050962683, 0.05096267,
                0.050962683, 0.05096267, -0.13709113, -0.13709114, -0.13709113, -0.13709113,
                0.050962683, 0.050962668, 0.05096267, 0.050962668, 0.05096267, 0.050962668,
                0.050962683, 0.05096267, 0.05096267, -0.13709114, -0.13709113, -0.13709113,
                0.050962683, 0.050962668, 0.050962683, 0.050962668, 0.05096267, 0.050962668,
                0.050962683, 0.05096267, 0.05096267, -0.13709113, -0.13709113, -0.13709113,
                0.050962683, 0.050962668, 0.050962683, 0.03471079, 0.03471079, 0.03471079,
                0.03471079, 0.03471079, 0.03471079, -0.093373075, -0.093373075, -0.093373075,
                -0.093373075, 0.03471079, 0.0347108, 0.03471079, 0.03471079, 0.03471079,
                0.03471079, 0.03471079, 0.03471079, 0.03471079, -0.093373075, -0.093373075,
                -0.093373075, 0.03471079, 0.0347108, 0.0347108, 0.03471079, 0.0347108,
                0.03471079, 0.03471079, 0.03471079, 0.03471079, -0.093373075, -0.093373075,
                -0.09337308, 0.0347108, 0.03471079, 0.0347108,
            ],
            positive: &[
                -0.16693285, -0.16693285, -0.16693285, 0.14106077, 0.14106077, 0.14106077,
                0.14106075, 0.14106077, 0.14106075, 0.14106077, -0.16693287, -0.16693285,
                -0.16693287, -0.16693285, -0.16693287, 0.14106077, 0.14106077, 0.14106077,
                0.14106077, 0.14106078, 0.14106075, 0.14106078, -0.16693287, -0.16693285,
                -0.16693287, -0.16693285, -0.16693287, -0.16693285, 0.1410608, 0.14106077,
                0.1410608, 0.14106078, 0.14106077, 0.14106078, -0.16693287, -0.16693285,
                -0.16693287, -0.13442908, -0.1344291, -0.13442908, 0.1135946, 0.113594584,
                0.1135946, 0.11359463, 0.113594614, 0.11359463, 0.1135946, -0.13442908,
                -0.1344291, -0.13442908, -0.1344291, -0.13442908, 0.113594584, 0.113594584,
                0.1135946, 0.113594584, 0.113594614, 0.11359463, 0.1135946, -0.13442908,
                -0.1344291, -0.13442908, -0.13442908, -0.13442908, -0.1344291, 0.113594584,
                0.1135946, 0.113594584, 0.113594614, 0.11359463, 0.113594614, -0.13442908,
                -0.1344291, -0.13442908, -0.10192535, -0.10192534, -0.10192536, 0.08612846,
                0.08612846, 0.08612846, 0.08612846, 0.08612846, 0.08612846, 0.08612844,
                -0.10192536, -0.10192535, -0.10192534, -0.10192535, -0.10192534, 0.08612846,
                0.08612846, 0.08612846, 0.08612846, 0.08612846, 0.08612846, 0.08612846,
                -0.10192535, -0.10192534, -0.10192535, -0.10192535, -0.10192534, -0.10192534,
                0.08612846, 0.08612846, 0.08612846, 0.08612844, 0.08612846, 0.08612844,
                -0.10192535, -0.10192534, -0.10192535, -0.06942158, -0.06942158, -0.06942158,
                0.05866227, 0.05866227, 0.05866227, 0.058662284, 0.05866229, 0.058662284,
                0.05866229, -0.06942158, -0.06942158, -0.06942158, -0.06942158, -0.06942158,
                0.05866227, 0.05866227, 0.05866227, 0.05866227, 0.05866229, 0.058662284,
                0.05866229, -0.06942158, -0.06942158, -0.06942159, -0.06942158, -0.06942159,
                -0.06942158, 0.05866227, 0.05866227, 0.05866227, 0.05866229, 0.058662284,
                0.05866229, -0.06942159, -0.06942158, -0.06942159,
            ],
            negative: &[
                0.083466426, 0.083466426, 0.083466426, -0.2245272, -0.2245272, -0.2245272,
                0.08346644, 0.08346642, 0.08346644, 0.08346642, 0.083466426, 0.08346642,
                0.083466426, 0.083466426, 0.083466426, -0.2245272, -0.2245272, -0.2245272,
                -0.2245272, 0.08346644, 0.08346644, 0.08346644, 0.083466426, 0.08346644,
                0.083466426, 0.083466426, 0.083466426, 0.083466426, -0.22452722, -0.2245272,
                -0.22452722, 0.08346644, 0.08346642, 0.08346644, 0.083466426, 0.08346644,
                0.083466426, 0.06721454, 0.06721454, 0.06721454, -0.18080914, -0.18080913,
                -0.18080914, 0.06721454, 0.067214526, 0.06721454, 0.06721454, 0.06721454,
                0.06721454, 0.06721454, 0.06721454, 0.06721454, -0.18080914, -0.18080913,
                -0.18080914, -0.18080913, 0.067214526, 0.06721454, 0.06721454, 0.06721454,
                0.06721454, 0.06721454, 0.067214526, 0.06721454, 0.06721454, -0.18080913,
                -0.18080914, -0.18080913, 0.067214526, 0.06721454, 0.067214526, 0.06721454,
                0.06721454, 0.06721454, 0.050962668, 0.05096267, 0.05096267, -0.13709113,
                -0.13709114, -0.13709113, 0.050962668, 0.050962683, 0.050962668, 0.050962683,
                0.05096267, 0.050962683, 0.05096267, 0.050962683, 0.05096267, -0.13709113,
                -0.13709114, -0.13709113, -0.13709113, 0.050962683, 0.050962668, 0.05096267,
                0.050962668, 0.05096267, 0.050962668, 0.050962683, 0.05096267, 0.05096267,
                -0.13709114, -0.13709113, -0.13709113, 0.050962683, 0.050962668, 0.050962683,
                0.050962668, 0.05096267, 0.050962668, 0.03471079, 0.03471079, 0.03471079,
                -0.09337306, -0.09337306, -0.09337306, 0.03471079, 0.034710784, 0.03471079,
                0.034710784, 0.03471079, 0.034710784, 0.03471079, 0.03471079, 0.03471079,
                -0.09337306, -0.09337306, -0.09337306, -0.09337306, 0.034710784, 0.03471079,
                0.034710784, 0.03471079, 0.034710784, 0.03471079, 0.03471079, 0.03471079,
                0.03471079, -0.09337306, -0.09337306, -0.09337306, 0.034710784, 0.03471079,
                0.03471079, 0.03471079, 0.03471079, 0.03471079,
            ],
        },
    );
    check_wd32_close(
        [&e32(4, 37, 1), &e32(4, 37, 2), &e32(4, 37, 3)],
        &wo(R::Mean),
        &s32(0.7),
        Expect {
            shape: &[],
            loss: &[0.33994853],
            anchor: &[
                -0.013733361, -0.013733361, -0.013733361, 0.043996107, 0.043996103, 0.043996107,
                -0.020786207, -0.020786203, -0.020786207, -0.020786203, -0.013733361,
                -0.013733357, -0.013733361, -0.013733361, -0.013733361, 0.043996107, 0.043996103,
                0.043996107, 0.043996103, -0.020786207, -0.020786207, -0.020786207, -0.013733361,
                -0.013733361, -0.013733361, -0.013733361, -0.013733361, -0.013733361, 0.04399611,
                0.043996107, 0.04399611, -0.020786207, -0.020786202, -0.020786207, -0.013733361,
                -0.013733361, -0.013733361, -0.013733361, -0.013733361, -0.013733361, 0.04399611,
                0.043996107, 0.04399611, -0.020786207, -0.020786203, -0.020786207, -0.020786203,
                -0.013733361, -0.013733361, -0.013733361, -0.013733361, -0.013733361, 0.04399611,
                0.043996107, 0.04399611, 0.043996107, -0.020786203, -0.020786207, -0.020786203,
                -0.013733361, -0.013733361, -0.013733361, -0.013733357, -0.013733361,
                -0.013733361, 0.043996107, 0.04399611, 0.043996107, -0.020786203, -0.020786207,
                -0.020786203, -0.013733361, -0.013733361, -0.013733361, -0.013733361,
                -0.013733365, -0.013733365, 0.043996107, 0.04399611, 0.043996107, -0.020786202,
                -0.020786205, -0.020786202, -0.020786203, -0.013733365, -0.013733365,
                -0.013733365, -0.013733365, -0.013733365, 0.04399611, 0.04399611, 0.043996107,
                0.04399611, -0.020786205, -0.020786202, -0.020786202, -0.013733361, -0.013733361,
                -0.013733361, -0.013733365, -0.013733365, -0.013733361, 0.04399611, 0.043996107,
                0.04399611, -0.020786203, -0.020786202, -0.020786203, -0.013733361, -0.013733361,
                -0.013733361, -0.013733368, -0.013733368, -0.013733361, 0.04399611, 0.04399611,
                0.04399611, -0.020786202, -0.0207862, -0.020786202, -0.0207862, -0.013733361,
                -0.013733365, -0.013733361, -0.013733368, -0.013733361, 0.04399611, 0.04399611,
                0.04399611, 0.04399611, -0.0207862, -0.020786202, -0.0207862, -0.013733361,
                -0.013733365, -0.013733365, -0.013733368, -0.013733365, -0.013733368, 0.04399611,
                0.04399611, 0.04399611, -0.0207862, -0.020786202, -0.020786203, -0.013733365,
                -0.013733368, -0.013733365,
            ],
            positive: &[
                -0.017556038, -0.017556038, -0.017556038, -0.017556038, -0.017556038,
                -0.017556038, 0.047226273, 0.047226273, 0.047226273, 0.047226273, -0.017556041,
                -0.017556041, -0.017556041, -0.017556038, -0.017556041, -0.017556038,
                -0.017556038, -0.017556038, -0.017556038, 0.047226276, 0.047226273, 0.047226276,
                -0.017556041, -0.017556038, -0.017556041, -0.017556038, -0.017556041,
                -0.017556038, -0.017556038, -0.017556038, -0.017556038, 0.047226276, 0.047226273,
                0.047226276, -0.017556041, -0.017556038, -0.017556041, -0.017556038,
                -0.017556041, -0.017556038, -0.017556038, -0.017556038, -0.017556038,
                0.047226276, 0.047226273, 0.047226276, 0.047226273, -0.017556038, -0.017556041,
                -0.017556038, -0.017556041, -0.017556038, -0.017556041, -0.017556038,
                -0.017556038, -0.017556038, 0.047226273, 0.047226276, 0.047226273, -0.017556038,
                -0.017556041, -0.017556038, -0.017556041, -0.017556038, -0.017556041,
                -0.017556038, -0.017556038, -0.017556038, 0.047226273, 0.047226276, 0.047226273,
                -0.017556038, -0.017556041, -0.017556038, -0.017556041, -0.017556038,
                -0.017556041, -0.017556038, -0.017556041, -0.017556038, 0.047226273, 0.047226276,
                0.047226273, 0.047226273, -0.017556041, -0.017556038, -0.017556038, -0.017556038,
                -0.017556038, -0.017556038, -0.017556041, -0.017556038, -0.017556038,
                0.047226276, 0.047226273, 0.047226273, -0.017556041, -0.017556038, -0.017556041,
                -0.017556038, -0.017556038, -0.017556038, -0.017556041, -0.017556038,
                -0.017556038, 0.047226273, 0.047226273, 0.047226273, -0.017556041, -0.017556038,
                -0.017556041, -0.017556038, -0.017556038, -0.017556038, -0.017556038,
                -0.017556038, -0.017556038, 0.047226273, 0.047226273, 0.047226273, 0.047226273,
                -0.017556038, -0.017556041, -0.017556038, -0.017556038, -0.017556038,
                -0.017556038, -0.017556038, -0.017556038, -0.017556038, 0.047226273, 0.047226273,
                0.047226273, -0.017556038, -0.017556041, -0.017556041, -0.017556038,
                -0.017556041, -0.017556038, -0.017556038, -0.017556038, -0.017556038,
                0.047226273, 0.047226273, 0.047226276, -0.017556041, -0.017556038, -0.017556041,
            ],
            negative: &[
                0.0312894, 0.0312894, 0.0312894, -0.02644007, -0.026440065, -0.02644007,
                -0.026440065, -0.02644007, -0.026440065, -0.02644007, 0.031289402, 0.0312894,
                0.031289402, 0.0312894, 0.031289402, -0.02644007, -0.026440065, -0.02644007,
                -0.026440065, -0.02644007, -0.026440065, -0.02644007, 0.031289402, 0.0312894,
                0.031289402, 0.0312894, 0.031289402, 0.0312894, -0.026440071, -0.02644007,
                -0.026440071, -0.02644007, -0.026440071, -0.02644007, 0.031289402, 0.0312894,
                0.031289402, 0.0312894, 0.031289402, 0.0312894, -0.026440071, -0.02644007,
                -0.026440071, -0.02644007, -0.02644007, -0.02644007, -0.02644007, 0.0312894,
                0.031289402, 0.0312894, 0.031289402, 0.0312894, -0.02644007, -0.02644007,
                -0.026440071, -0.02644007, -0.02644007, -0.02644007, -0.02644007, 0.0312894,
                0.031289402, 0.0312894, 0.0312894, 0.0312894, 0.031289402, -0.02644007,
                -0.026440071, -0.02644007, -0.02644007, -0.02644007, -0.02644007, 0.0312894,
                0.031289402, 0.0312894, 0.031289402, 0.031289402, 0.031289406, -0.02644007,
                -0.026440071, -0.02644007, -0.026440071, -0.026440071, -0.026440071, -0.02644007,
                0.031289406, 0.031289402, 0.031289402, 0.031289402, 0.031289402, -0.026440071,
                -0.026440071, -0.02644007, -0.026440071, -0.026440071, -0.026440071,
                -0.026440071, 0.031289402, 0.0312894, 0.031289402, 0.031289402, 0.031289402,
                0.0312894, -0.026440071, -0.02644007, -0.026440071, -0.02644007, -0.026440071,
                -0.02644007, 0.031289402, 0.0312894, 0.031289402, 0.031289406, 0.031289406,
                0.0312894, -0.026440073, -0.026440071, -0.026440073, -0.026440071, -0.026440073,
                -0.026440071, -0.026440073, 0.0312894, 0.031289406, 0.0312894, 0.031289406,
                0.0312894, -0.026440073, -0.026440071, -0.026440073, -0.026440071, -0.026440073,
                -0.026440071, -0.026440073, 0.0312894, 0.031289406, 0.031289406, 0.031289406,
                0.031289406, 0.031289406, -0.026440071, -0.026440073, -0.026440071, -0.026440073,
                -0.026440071, -0.026440073, 0.031289406, 0.031289406, 0.031289406,
            ],
        },
    );
}

// ---------------------------------------------------------------------------------
// Options, p = 0, errors
// ---------------------------------------------------------------------------------

#[test]
fn options_default_to_pytorchs_keyword_defaults() {
    let o = TripletMarginOptions::default();
    assert_eq!((o.margin, o.p, o.eps, o.swap), (1.0, 2.0, 1e-6, false));
    assert_eq!(o.reduction, Reduction::Mean);
    let o = o.margin(0.5).p(1.0).eps(0.0).swap(true).reduction(R::Sum);
    assert_eq!(
        (o.margin, o.p, o.eps, o.swap, o.reduction),
        (0.5, 1.0, 0.0, true, R::Sum)
    );
    let w = TripletMarginWithDistanceOptions::default();
    assert_eq!((w.margin, w.swap, w.reduction), (1.0, false, R::Mean));
    let w = w.margin(2.0).swap(true).reduction(R::None);
    assert_eq!((w.margin, w.swap, w.reduction), (2.0, true, R::None));
}

// The margin's message prints it as Python's f-string does (repr of a float).
#[test]
fn python_float_repr() {
    let cases = [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (-1.0, "-1.0"),
        (-1e-5, "-1e-05"),
        (-0.0001, "-0.0001"),
        (-2.5e16, "-2.5e+16"),
        (-1e15, "-1000000000000000.0"),
        (-0.30000000000000004, "-0.30000000000000004"),
        (-1.5e-300, "-1.5e-300"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
    ];
    for (v, repr) in cases {
        assert_eq!(crate::triplet::py_float(v), repr, "{v:?}");
    }
}

// torch 2.13.0:
//   F.triplet_margin_loss(A, P, N, p=0, eps=0.0, reduction='none')
//     -> [0.0, 0.0, 0.0, 4.0] (d(a, p) counts the non-zero differences: 3, 3, 0, 3)
//   F.triplet_margin_loss(A[:, :1], P[:, :1], N[:, :1], p=0, eps=0.0, reduction='none')
//     -> [1.0, 1.0, 0.0, 2.0] (one feature: `u != 0`)
//   F.triplet_margin_loss(AN, PN, NN, p=0, eps=0.0, reduction='none')
//     -> [1.0, 0.0, 1.0] (NaN counts as non-zero)
//   F.triplet_margin_loss(A, P, N, p=0, eps=0.0, swap=True, reduction='sum')
//     -> 4.0
//   torch.autograd.grad(F.triplet_margin_loss(rg(A), P, N, p=0), [a])  (a the rg(A))
//     -> RuntimeError: The differentiated Tensor at index 0 appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.
//   (the same for P and N, any reduction, with or without swap; with allow_unused=True
//   and materialize_grads=True PyTorch returns zeros)
//   torch.autograd.grad(F.triplet_margin_loss(a, P, N, p=0, reduction='none'), [a], torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
#[test]
fn p_zero_counts_differences_and_has_no_gradient() {
    let o0 = o(R::None).p(0.0).eps(0.0);
    let f = |a: &ArrayD<f64>, p: &ArrayD<f64>, n: &ArrayD<f64>, o: &TripletMarginOptions| {
        triplet_margin_loss(a.view(), p.view(), n.view(), o).unwrap()
    };
    assert_same(
        &f(&a(), &p(), &n(), &o0),
        &[4],
        &[0.0, 0.0, 0.0, 4.0],
        "loss",
    );
    let (a1, p1, n1) = (cols(&a(), 0, 1), cols(&p(), 0, 1), cols(&n(), 0, 1));
    assert_same(&f(&a1, &p1, &n1, &o0), &[4], &[1.0, 1.0, 0.0, 2.0], "loss");
    assert_same(&f(&an(), &pn(), &nn(), &o0), &[3], &[1.0, 0.0, 1.0], "loss");
    let sum = o(R::Sum).p(0.0).eps(0.0).swap(true);
    assert_same(&f(&a(), &p(), &n(), &sum), &[], &[4.0], "loss");
    let unused = "The differentiated Tensor at index 0 appears to not have been used in the graph. \
                  Set allow_unused=True if this is the desired behavior.";
    for opts in [o(R::Mean).p(0.0), o(R::None).p(0.0).swap(true)] {
        let g = if opts.reduction == R::None {
            g()
        } else {
            s(1.0)
        };
        let (a, p, n) = (a(), p(), n());
        let calls = [
            triplet_margin_loss_backward(g.view(), a.view(), p.view(), n.view(), &opts),
            triplet_margin_loss_positive_backward(g.view(), a.view(), p.view(), n.view(), &opts),
            triplet_margin_loss_negative_backward(g.view(), a.view(), p.view(), n.view(), &opts),
        ];
        for call in calls {
            let e = assert_err(call, ErrorKind::RuntimeError, unused);
            assert!(e.hint().contains("p=0"), "{e}");
        }
    }
    let three = a64(&[3], &[1.0, 1.0, 1.0]);
    assert_err(
        triplet_margin_loss_backward(
            three.view(),
            a().view(),
            p().view(),
            n().view(),
            &o(R::None).p(0.0),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).",
    );
}

/// Every entry point's error for one call (the forward's, and the three gradients'
/// with a `grad_output` of the right shape for a valid call).
#[track_caller]
fn assert_all_err(
    t: [&ArrayD<f64>; 3],
    o: &TripletMarginOptions,
    kind: ErrorKind,
    message: &str,
) -> LossError {
    let [a, p, n] = t.map(|x| x.view());
    let g = s(1.0);
    let o = &o.reduction(R::Sum);
    assert_err(
        triplet_margin_loss_backward(g.view(), a.clone(), p.clone(), n.clone(), o),
        kind,
        message,
    );
    assert_err(
        triplet_margin_loss_positive_backward(g.view(), a.clone(), p.clone(), n.clone(), o),
        kind,
        message,
    );
    assert_err(
        triplet_margin_loss_negative_backward(g.view(), a.clone(), p.clone(), n.clone(), o),
        kind,
        message,
    );
    assert_err(triplet_margin_loss(a, p, n, o), kind, message)
}

#[track_caller]
fn assert_wd_err(
    t: [&ArrayD<f64>; 3],
    o: &TripletMarginWithDistanceOptions,
    kind: ErrorKind,
    message: &str,
) -> LossError {
    let [a, p, n] = t.map(|x| x.view());
    let g = s(1.0);
    let o = &o.reduction(R::Sum);
    assert_err(
        triplet_margin_with_distance_loss_backward(g.view(), a.clone(), p.clone(), n.clone(), o),
        kind,
        message,
    );
    assert_err(
        triplet_margin_with_distance_loss_positive_backward(
            g.view(),
            a.clone(),
            p.clone(),
            n.clone(),
            o,
        ),
        kind,
        message,
    );
    assert_err(
        triplet_margin_with_distance_loss_negative_backward(
            g.view(),
            a.clone(),
            p.clone(),
            n.clone(),
            o,
        ),
        kind,
        message,
    );
    assert_err(triplet_margin_with_distance_loss(a, p, n, o), kind, message)
}

// torch 2.13.0 (T = F.triplet_margin_loss, W = F.triplet_margin_with_distance_loss,
// z = lambda *s: torch.zeros(*s, dtype=D)):
//   T(A, P, N, margin=0.0)     -> ValueError: margin must be greater than 0, got 0.0
//   T(A, P, N, margin=-1e-05)  -> ValueError: margin must be greater than 0, got -1e-05
//   T(A, P, N, margin=-inf)    -> ValueError: margin must be greater than 0, got -inf
//   T(A, P, N, margin=-2.5e16) -> ValueError: margin must be greater than 0, got -2.5e+16
//   T(A, P, N, margin=-0.0)    -> ValueError: margin must be greater than 0, got -0.0
//   W(A, P, N, margin=-1.5)    -> ValueError: margin must be greater than 0, got -1.5
//   T(z(2, 3), z(3, 3), z(3, 3), margin=-1.0)
//     -> ValueError: margin must be greater than 0, got -1.0 (Python's check comes first)
#[test]
fn a_margin_of_zero_or_less_is_a_value_error() {
    let t = [&a(), &p(), &n()];
    for (margin, shown) in [
        (0.0, "0.0"),
        (-1e-5, "-1e-05"),
        (f64::NEG_INFINITY, "-inf"),
        (-2.5e16, "-2.5e+16"),
        (-0.0, "-0.0"),
    ] {
        let message = format!("margin must be greater than 0, got {shown}");
        let e = assert_all_err(
            t,
            &o(R::Mean).margin(margin),
            ErrorKind::ValueError,
            &message,
        );
        assert!(e.hint().contains("margin"), "{e}");
    }
    assert_wd_err(
        t,
        &wo(R::Mean).margin(-1.5),
        ErrorKind::ValueError,
        "margin must be greater than 0, got -1.5",
    );
    assert_all_err(
        [&zeros64(&[2, 3]), &zeros64(&[3, 3]), &zeros64(&[3, 3])],
        &o(R::Mean).margin(-1.0),
        ErrorKind::ValueError,
        "margin must be greater than 0, got -1.0",
    );
}

// torch 2.13.0:
//   T(A, P[0], N)
//     -> RuntimeError: The anchor, positive, and negative tensors are expected to have the same number of dimensions, but got: anchor 2D, positive 1D, and negative 2D inputs
//   T(A[0], P, N.reshape(1, 4, 3))
//     -> RuntimeError: ... but got: anchor 1D, positive 2D, and negative 3D inputs
//   T(A[0, 0], P[0], N[0])
//     -> RuntimeError: ... but got: anchor 0D, positive 1D, and negative 1D inputs
//   W(A, P, N[0])
//     -> RuntimeError: ... but got: anchor 2D, positive 2D, and negative 1D inputs (Python's check, same words)
#[test]
fn the_three_tensors_must_have_the_same_number_of_dimensions() {
    let msg = |a: usize, p: usize, n: usize| {
        format!(
            "The anchor, positive, and negative tensors are expected to have the same number of \
             dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs"
        )
    };
    let n3 = n().into_shape_with_order(IxDyn(&[1, 4, 3])).unwrap();
    let e = assert_all_err(
        [&a(), &row(&p(), 0), &n()],
        &o(R::Mean),
        ErrorKind::RuntimeError,
        &msg(2, 1, 2),
    );
    assert!(e.hint().contains("same number of dimensions"), "{e}");
    assert_all_err(
        [&row(&a(), 0), &p(), &n3],
        &o(R::Mean),
        ErrorKind::RuntimeError,
        &msg(1, 2, 3),
    );
    assert_all_err(
        [&s(0.3), &row(&p(), 0), &row(&n(), 0)],
        &o(R::Mean),
        ErrorKind::RuntimeError,
        &msg(0, 1, 1),
    );
    assert_wd_err(
        [&a(), &p(), &row(&n(), 0)],
        &wo(R::Mean),
        ErrorKind::RuntimeError,
        &msg(2, 2, 1),
    );
}

// torch 2.13.0:
//   T(A[:2], P, N)
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0
//   T(A, P, N[:, :2])
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1
//   T(A[:1], P[:2], N[:3], swap=True)  (positive - negative)
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0
//   T(A[:1], P[:2], N[:3])  (margin + d(a, p) - d(a, n): the distances)
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0
//   T(A[:, :1], P[:, :2], N, swap=True)  (positive - negative, features)
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1
//   W(A[:1], P[:2], N[:3])
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0
#[test]
fn broadcast_errors_name_the_step_that_fails() {
    let bc = |a: usize, b: usize, d: usize| {
        format!(
            "The size of tensor a ({a}) must match the size of tensor b ({b}) at non-singleton dimension {d}"
        )
    };
    let e = assert_all_err(
        [&rows(&a(), 0, 2), &p(), &n()],
        &o(R::Mean),
        ErrorKind::RuntimeError,
        &bc(2, 4, 0),
    );
    assert!(
        e.hint().contains("anchor [2, 3] and the positive [4, 3]"),
        "{e}"
    );
    let e = assert_all_err(
        [&a(), &p(), &cols(&n(), 0, 2)],
        &o(R::Mean),
        ErrorKind::RuntimeError,
        &bc(3, 2, 1),
    );
    assert!(e.hint().contains("negative [4, 2]"), "{e}");
    let (a1, p2, n3) = (rows(&a(), 0, 1), rows(&p(), 0, 2), rows(&n(), 0, 3));
    let e = assert_all_err(
        [&a1, &p2, &n3],
        &o(R::Mean).swap(true),
        ErrorKind::RuntimeError,
        &bc(2, 3, 0),
    );
    assert!(
        e.hint().contains("positive [2, 3] and the negative [3, 3]"),
        "{e}"
    );
    let e = assert_all_err(
        [&a1, &p2, &n3],
        &o(R::Mean),
        ErrorKind::RuntimeError,
        &bc(2, 3, 0),
    );
    assert!(e.hint().contains("distances"), "{e}");
    assert_all_err(
        [&cols(&a(), 0, 1), &cols(&p(), 0, 2), &n()],
        &o(R::Mean).swap(true),
        ErrorKind::RuntimeError,
        &bc(2, 3, 1),
    );
    assert_wd_err(
        [&a1, &p2, &n3],
        &wo(R::Mean),
        ErrorKind::RuntimeError,
        &bc(2, 3, 0),
    );
}

// torch 2.13.0:
//   T(z(4, 0), z(4, 0), z(4, 0), p=-1)
//     -> RuntimeError: linalg.vector_norm cannot compute the -1 norm on the dimension 1because this dimension is empty and the operation does not have an identity
//   T(z(4, 0), z(4, 0), z(4, 0), p=inf)            -> ... the inf norm on the dimension 1because ...
//   T(z(2, 2, 0), z(2, 2, 0), z(2, 2, 0), p=-2.5)  -> ... the -2.5 norm on the dimension 2because ...
//   T(z(0), z(0), z(0), p=-inf)                    -> ... the -inf norm on the dimension 0because ...
//   T(z(4, 0), z(4, 0), z(4, 0), p=-1234567.0)     -> ... the -1.23457e+06 norm on the dimension 1because ...
//   T(z(4, 1), z(4, 0), z(3, 3), p=-1)  (d(a, p)'s norm fails before a - n is broadcast)
//     -> ... the -1 norm on the dimension 1because ...
//   T(z(4, 3), z(4, 3), z(4, 0), p=-1)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (0) at non-singleton dimension 1
//   T(z(4, 3), z(4, 1), z(4, 0), p=inf, swap=True)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (0) at non-singleton dimension 1
//   T(z(0, 3), z(0, 3), z(0, 3), p=-1)           -> nan (an empty batch, not an empty vector)
//   T(z(4, 0), z(4, 0), z(4, 0), p=nan, reduction='none') -> [1.0, 1.0, 1.0, 1.0]
#[test]
fn norms_without_identity_refuse_empty_feature_dimensions() {
    let msg = |p: &str, d: usize| {
        format!(
            "linalg.vector_norm cannot compute the {p} norm on the dimension {d}because this \
             dimension is empty and the operation does not have an identity"
        )
    };
    let z = |shape: &[usize]| zeros64(shape);
    let (e4, e220, e0) = (z(&[4, 0]), z(&[2, 2, 0]), z(&[0]));
    let e = assert_all_err(
        [&e4, &e4, &e4],
        &o(R::Mean).p(-1.0),
        ErrorKind::RuntimeError,
        &msg("-1", 1),
    );
    assert!(e.hint().contains("no features"), "{e}");
    assert_all_err(
        [&e4, &e4, &e4],
        &o(R::Mean).p(f64::INFINITY),
        ErrorKind::RuntimeError,
        &msg("inf", 1),
    );
    assert_all_err(
        [&e220, &e220, &e220],
        &o(R::Mean).p(-2.5),
        ErrorKind::RuntimeError,
        &msg("-2.5", 2),
    );
    assert_all_err(
        [&e0, &e0, &e0],
        &o(R::Mean).p(f64::NEG_INFINITY),
        ErrorKind::RuntimeError,
        &msg("-inf", 0),
    );
    assert_all_err(
        [&e4, &e4, &e4],
        &o(R::Mean).p(-1234567.0),
        ErrorKind::RuntimeError,
        &msg("-1.23457e+06", 1),
    );
    assert_all_err(
        [&z(&[4, 1]), &e4, &z(&[3, 3])],
        &o(R::Mean).p(-1.0),
        ErrorKind::RuntimeError,
        &msg("-1", 1),
    );
    let bc =
        "The size of tensor a (3) must match the size of tensor b (0) at non-singleton dimension 1";
    assert_all_err(
        [&z(&[4, 3]), &z(&[4, 3]), &e4],
        &o(R::Mean).p(-1.0),
        ErrorKind::RuntimeError,
        bc,
    );
    assert_all_err(
        [&z(&[4, 3]), &z(&[4, 1]), &e4],
        &o(R::Mean).p(f64::INFINITY).swap(true),
        ErrorKind::RuntimeError,
        bc,
    );
    let e03 = z(&[0, 3]);
    let loss =
        triplet_margin_loss(e03.view(), e03.view(), e03.view(), &o(R::Mean).p(-1.0)).unwrap();
    assert!(loss[[]].is_nan());
    let loss =
        triplet_margin_loss(e4.view(), e4.view(), e4.view(), &o(R::None).p(f64::NAN)).unwrap();
    assert_same(&loss, &[4], &[1.0, 1.0, 1.0, 1.0], "loss");
}

// torch 2.13.0 (a, p, n = rg(A), rg(P), rg(N)):
//   torch.autograd.grad(T(a, p, n, reduction='none'), [a], torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
//   torch.autograd.grad(T(a, p, n), [p], torch.ones(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
//   torch.autograd.grad(W(a, p, n, reduction='none'), [n], torch.ones((), dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([]) and output[0] has a shape of torch.Size([4]).
//   torch.autograd.grad(T(a, p, n, reduction='sum'), [p], torch.ones(4, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([4]) and output[0] has a shape of torch.Size([]).
#[test]
fn grad_output_must_have_the_output_shape() {
    let (a, p, n) = (a(), p(), n());
    let mismatch = |g: &[usize], out: &[usize]| {
        format!(
            "Mismatch in shape: grad_output[0] has a shape of torch.Size({g:?}) and output[0] has \
             a shape of torch.Size({out:?})."
        )
    };
    let g3 = a64(&[3], &[1.0; 3]);
    assert_err(
        triplet_margin_loss_backward(g3.view(), a.view(), p.view(), n.view(), &o(R::None)),
        ErrorKind::RuntimeError,
        &mismatch(&[3], &[4]),
    );
    let g1 = a64(&[1], &[1.0]);
    assert_err(
        triplet_margin_loss_positive_backward(g1.view(), a.view(), p.view(), n.view(), &o(R::Mean)),
        ErrorKind::RuntimeError,
        &mismatch(&[1], &[]),
    );
    assert_err(
        triplet_margin_with_distance_loss_negative_backward(
            s(1.0).view(),
            a.view(),
            p.view(),
            n.view(),
            &wo(R::None),
        ),
        ErrorKind::RuntimeError,
        &mismatch(&[], &[4]),
    );
    let g4 = a64(&[4], &[1.0; 4]);
    assert_err(
        triplet_margin_loss_positive_backward(g4.view(), a.view(), p.view(), n.view(), &o(R::Sum)),
        ErrorKind::RuntimeError,
        &mismatch(&[4], &[]),
    );
}

// A non-contiguous view gives the values of its copy.
#[test]
fn strided_views_give_the_values_of_their_copies() {
    let (a, p, n) = (a(), p(), n());
    let at = a.t();
    let (pt, nt) = (p.t().to_owned(), n.t().to_owned());
    let o = o(R::None).swap(true).p(3.0);
    let g = s(1.0);
    let strided = triplet_margin_loss(at, p.t(), n.t(), &o).unwrap();
    let copied = triplet_margin_loss(contiguous(a.t()).view(), pt.view(), nt.view(), &o).unwrap();
    assert_eq!(strided, copied);
    let o = o.reduction(R::Sum);
    let strided = triplet_margin_loss_negative_backward(g.view(), a.t(), p.t(), n.t(), &o).unwrap();
    let copied = triplet_margin_loss_negative_backward(
        g.view(),
        contiguous(a.t()).view(),
        pt.view(),
        nt.view(),
        &o,
    )
    .unwrap();
    assert_eq!(strided, copied);
}

// ---------------------------------------------------------------------------------
// Long inputs and threads
// ---------------------------------------------------------------------------------

/// `XL(seed, scale)`: `torch.from_numpy(gen(100000, seed, scale)).reshape(400, 250)`.
fn xl(seed: usize, scale: f32) -> ArrayD<f32> {
    e32s(400, 250, seed, scale)
}

/// The long triplets: `a = XL(1, 3.0)`, `p = a + XL(2, 0.6)`, `n = a + XL(3, 0.6)`.
fn long_triplets() -> [ArrayD<f32>; 3] {
    let a = xl(1, 3.0);
    let p = &a + &xl(2, 0.6);
    let n = &a + &xl(3, 0.6);
    [a, p, n]
}

fn sum64(a: &ArrayD<f32>) -> f64 {
    a.iter().fold(0.0, |s, &v| s + f64::from(v))
}

// torch 2.13.0 (XL(seed, scale) = torch.from_numpy(gen(100000, seed, scale)).reshape(400, 250);
// a = XL(1, 3.0); p = a + XL(2, 0.6); n = a + XL(3, 0.6); l = T(a, p, n, reduction='none', **kw);
// ga, gp, gn = grads(lambda a, p, n: T(a, p, n, **kw), a, p, n, 1.0)):
//   kw = dict(margin=0.05):
//     l.double().sum() -> 20.71523666381836 (100 zeros); l[1:3] -> [0.05706930160522461, 0.10246038436889648]
//     T(a, p, n, **kw) -> 0.0517880916595459; T(a, p, n, reduction='sum', **kw) -> 20.71523666381836
//     ga/gp/gn .double().sum() -> 0.04088289133505896, 0.06176589804514354, -0.10264878365641994
//     ga[1, :3] -> [0.00039768568240106106, 0.00039762892993167043, 0.0003975721774622798]
//     gp[1, :3] -> [-0.00015917023119982332, -0.00020332350686658174, -0.0002474767970852554]
//     gn[1, :3] -> [-0.00023851546575315297, -0.00019430543761700392, -0.00015009536582510918]
//   kw = dict(p=1.0, margin=0.5):
//     l.double().sum() -> 250.0762939453125; l[1:3] -> [0.5863876342773438, 1.5008010864257812]
//     T(a, p, n, **kw) -> 0.6251907348632812; sum -> 250.0762939453125
//     sums -> 0.0, 0.9999999776482582, -0.9999999776482582
//     ga[1, :3] -> [0.004999999888241291] * 3; gp[1, :3] -> [-0.0024999999441206455] * 3; gn[1, :3] -> the same
//   kw = dict(swap=True, p=3.0, margin=0.05):
//     l.double().sum() -> 20.000314712524414; l[1:3] -> [0.05308699607849121, 0.06725645065307617]
//     T(a, p, n, **kw) -> 0.050000786781311035; sum -> 20.000314712524414
//     sums -> 0.0009164483344648033, -0.01610800009754158, 0.01519155866334111
//     ga[1, :3] -> [0.00017438737268093973, 0.0001677491090958938, 0.00017767063400242478]
//     gp[1, :3] -> [-5.3731841035187244e-05, -8.767648978391662e-05, -0.00012989035167265683]
//     gn[1, :3] -> [-0.00012065553164575249, -8.007261931197718e-05, -4.778028596774675e-05]
#[test]
fn long_f32_rows_match_libtorch() {
    let [a, p, n] = long_triplets();
    type Case<'a> = (
        TripletMarginOptions,
        f64,
        [f32; 2],
        f32,
        f32,
        [f64; 3],
        [[f32; 3]; 3],
    );
    let cases: [Case<'_>; 3] = [
        (
            o(R::None).margin(0.05),
            20.71523666381836,
            [0.0570693, 0.102460384],
            0.05178809,
            20.715237,
            [
                0.04088289133505896,
                0.06176589804514354,
                -0.10264878365641994,
            ],
            [
                [0.00039768568, 0.00039762893, 0.00039757218],
                [-0.00015917023, -0.0002033235, -0.0002474768],
                [-0.00023851547, -0.00019430544, -0.00015009537],
            ],
        ),
        (
            o(R::None).p(1.0).margin(0.5),
            250.0762939453125,
            [0.58638763, 1.5008011],
            0.62519073,
            250.0763,
            [0.0, 0.9999999776482582, -0.9999999776482582],
            [[0.005; 3], [-0.0025; 3], [-0.0025; 3]],
        ),
        (
            o(R::None).swap(true).p(3.0).margin(0.05),
            20.000314712524414,
            [0.053086996, 0.06725645],
            0.050000787,
            20.000315,
            [
                0.0009164483344648033,
                -0.01610800009754158,
                0.01519155866334111,
            ],
            [
                [0.00017438737, 0.00016774911, 0.00017767063],
                [-5.373184e-05, -8.767649e-05, -0.00012989035],
                [-0.00012065553, -8.007262e-05, -4.7780286e-05],
            ],
        ),
    ];
    let close =
        |x: f64, e: f64| (x - e).abs() <= <f32 as Float>::ATOL + <f32 as Float>::RTOL * e.abs();
    for (opts, none_sum, some, mean, sum, grad_sums, grad_rows) in cases {
        let l = triplet_margin_loss(a.view(), p.view(), n.view(), &opts).unwrap();
        // Bit-exact losses: their f64 sum is torch's to the last bit.
        assert_eq!(sum64(&l), none_sum, "{opts:?}");
        assert_bits(&l.slice(s![1..3]).to_owned().into_dyn(), &[2], &some);
        let m =
            triplet_margin_loss(a.view(), p.view(), n.view(), &opts.reduction(R::Mean)).unwrap();
        assert!(
            close(f64::from(m[[]]), f64::from(mean)),
            "{m} against {mean}"
        );
        let t = triplet_margin_loss(a.view(), p.view(), n.view(), &opts.reduction(R::Sum)).unwrap();
        assert!(close(f64::from(t[[]]), f64::from(sum)), "{t} against {sum}");
        let mo = opts.reduction(R::Mean);
        let g = s32(1.0);
        let grads = [
            triplet_margin_loss_backward(g.view(), a.view(), p.view(), n.view(), &mo).unwrap(),
            triplet_margin_loss_positive_backward(g.view(), a.view(), p.view(), n.view(), &mo)
                .unwrap(),
            triplet_margin_loss_negative_backward(g.view(), a.view(), p.view(), n.view(), &mo)
                .unwrap(),
        ];
        for (k, grad) in grads.iter().enumerate() {
            assert!(
                (sum64(grad) - grad_sums[k]).abs() <= 1e-6,
                "{} {} against {}",
                WHAT[k + 1],
                sum64(grad),
                grad_sums[k]
            );
            let row1 = grad.slice(s![1, ..3]).to_owned().into_dyn();
            assert_close_f32(&row1, &[3], &grad_rows[k]);
        }
    }
}

fn on_threads<T: Send>(threads: usize, run: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(run)
}

#[test]
fn one_and_three_threads_give_bit_identical_losses_and_gradients() {
    let [a, p, n] = long_triplets();
    let bits = |opts: TripletMarginOptions| {
        let (a, p, n) = (&a, &p, &n);
        move || {
            let g = s32(0.5);
            let mo = opts.reduction(R::Mean);
            let mut out: Vec<u32> = triplet_margin_loss(a.view(), p.view(), n.view(), &opts)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            for f in [
                triplet_margin_loss_backward::<f32, _, _, _, _>,
                triplet_margin_loss_positive_backward,
                triplet_margin_loss_negative_backward,
            ] {
                let grad = f(g.view(), a.view(), p.view(), n.view(), &mo).unwrap();
                out.extend(grad.iter().map(|v| v.to_bits()));
            }
            out.push(triplet_margin_loss(a.view(), p.view(), n.view(), &mo).unwrap()[[]].to_bits());
            out
        }
    };
    for opts in [
        o(R::None).margin(0.05).swap(true),
        o(R::None).p(1.5).margin(0.05),
    ] {
        let (one, three) = (on_threads(1, bits(opts)), on_threads(3, bits(opts)));
        assert!(one == three, "{opts:?}");
    }
}

#[cfg(feature = "unstable-public-internals")]
#[test]
fn internals_run_the_same_checks() {
    use crate::internals::{
        check_triplet_margin_loss_shapes, check_triplet_margin_with_distance_loss_shapes,
    };
    assert_eq!(
        check_triplet_margin_loss_shapes(&[1, 3], &[4, 3], &[4, 1], 1.0, 2.0, false).unwrap(),
        vec![4]
    );
    assert_eq!(
        check_triplet_margin_loss_shapes(&[2, 1, 3], &[2, 5, 3], &[1, 5, 3], 1.0, 1.0, true)
            .unwrap(),
        vec![2, 5]
    );
    assert_eq!(
        check_triplet_margin_loss_shapes(&[], &[], &[], 1.0, 2.0, true).unwrap(),
        Vec::<usize>::new()
    );
    let e =
        check_triplet_margin_loss_shapes(&[4, 0], &[4, 0], &[4, 0], 1.0, -1.0, false).unwrap_err();
    assert!(
        e.message()
            .starts_with("linalg.vector_norm cannot compute the -1 norm")
    );
    let e =
        check_triplet_margin_loss_shapes(&[1, 3], &[2, 3], &[3, 3], 1.0, 2.0, true).unwrap_err();
    assert_eq!(
        e.message(),
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"
    );
    let e = check_triplet_margin_with_distance_loss_shapes(&[2, 3], &[2, 3], &[2, 3], 0.0, false)
        .unwrap_err();
    assert_eq!(e.message(), "margin must be greater than 0, got 0.0");
    assert_eq!(
        check_triplet_margin_with_distance_loss_shapes(&[4, 1], &[4, 3], &[4, 5], 1.0, false)
            .unwrap(),
        vec![4]
    );
}
