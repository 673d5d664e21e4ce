// multi_margin_loss and multilabel_margin_loss, forward and input gradient: every
// reduction, p = 1 and 2, margins, the class weight, 0-D/1-D/2-D inputs, empty batches,
// NaN and infinities, errors and their order, the refusal to differentiate the weight,
// f32 bit for bit on long inputs, thread-count independence. Besides the preamble's X, W
// and G4, the tests use (in the oracle interpreter, after the preamble):
//
//     T = torch.tensor([0, 2, 1, 2])
//     TL = torch.tensor([[0, -1, 2], [1, 2, -1], [2, 2, -1], [-1, 0, 0]])
//     def genx(n, seed):  # float32 scores in [-2, 2)
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return k.astype(np.float32) / np.float32(250.0) - np.float32(2.0)
//     def bits_hash(t):  # FNV-1a over the float32 bit patterns, row-major
//         h = 0xcbf29ce484222325
//         for b in t.contiguous().view(torch.int32).flatten().tolist():
//             h ^= b & 0xffffffff
//             h = (h * 0x100000001b3) & 0xffffffffffffffff
//         return h
//     # long multi_margin data (500, 211)
//     XM = torch.from_numpy(genx(500 * 211, 1)).reshape(500, 211)
//     TM = torch.from_numpy((np.arange(500) * 5 + 3) % 211)
//     WM = torch.from_numpy((np.arange(211) % 7 + 1).astype(np.float32) / np.float32(4))
//     GM = torch.from_numpy(((np.arange(500) % 9) - 4).astype(np.float32) / np.float32(3))
//     # long multilabel data (400, 256): row r lists r % 6 classes (r*37 + k*11) % 256,
//     # then -1, then (r + k) % 256 (ignored)
//     XL = torch.from_numpy(genx(400 * 256, 2)).reshape(400, 256)
//     TLL = ...  # as `long_multilabel_target` below
//     GL = torch.from_numpy(((np.arange(400) % 9) - 4).astype(np.float32) / np.float32(3))
//
// Both losses are bit-exact with libtorch, so every value is compared bit for bit (f64
// values are Python's shortest repr, which Rust parses to the same double).

use ndarray::{ArrayD, IxDyn, arr0, array};

use super::*;

/// Bit-for-bit f64 comparison (the sign of zero included; any NaN matches any NaN).
#[track_caller]
fn assert_bits64(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f64> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else {
            a.to_bits() == e.to_bits()
        };
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}");
    }
}

fn x() -> ArrayD<f64> {
    data().x
}

fn w() -> ArrayD<f64> {
    a64(&[3], &[0.2, 1.7, 0.65])
}

fn g4() -> ArrayD<f64> {
    a64(&[4], &[0.3, -1.2, 0.8, 2.1])
}

fn t() -> ArrayD<i64> {
    ai(&[4], &[0, 2, 1, 2])
}

fn tl() -> ArrayD<i64> {
    ai(&[4, 3], &[0, -1, 2, 1, 2, -1, 2, 2, -1, -1, 0, 0])
}

fn bits_hash(a: &ArrayD<f32>) -> u64 {
    a.iter().fold(0xcbf2_9ce4_8422_2325, |h, v| {
        (h ^ u64::from(v.to_bits())).wrapping_mul(0x0100_0000_01b3)
    })
}

fn genx(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 250.0 - 2.0)
        .collect()
}

/// `grad_output` for a reduction: `g` per sample for `none`, 1.7 otherwise.
fn grad_for(reduction: Reduction, g: &ArrayD<f64>) -> ArrayD<f64> {
    match reduction {
        Reduction::None => g.clone(),
        _ => arr0(1.7).into_dyn(),
    }
}

fn mm_opts<'a>(p: i64, margin: f64, reduction: Reduction) -> MultiMarginOptions<'a, f64> {
    MultiMarginOptions::default()
        .p(p)
        .margin(margin)
        .reduction(reduction)
}

const REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];

// ---------------------------------------------------------------------------------
// multi_margin_loss
// ---------------------------------------------------------------------------------

#[test]
fn options_default_to_pytorch_defaults() {
    let o = MultiMarginOptions::<f64>::default();
    assert_eq!((o.p, o.margin, o.reduction), (1, 1.0, Reduction::Mean));
    assert!(o.weight.is_none());
    assert_eq!(
        MultilabelMarginOptions::default().reduction,
        Reduction::Mean
    );
    let w = w();
    let o = MultiMarginOptions::default()
        .p(2)
        .margin(0.5)
        .weight(w.view())
        .reduction(Reduction::Sum);
    assert_eq!((o.p, o.margin, o.reduction), (2, 0.5, Reduction::Sum));
    assert_eq!(o.weight.unwrap(), w.view());
}

#[test]
fn multi_margin_every_p_margin_weight_and_reduction() {
    #[allow(clippy::type_complexity)]
    let cases: &[(i64, bool, f64, Reduction, &[f64], &[f64])] = &[
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=1.0, reduction='none'), grad(.., X, G4)
        (
            1,
            false,
            1.0,
            Reduction::None,
            &[
                0.6666666666666666,
                0.25,
                0.03333333333333329,
                1.1666666666666667,
            ],
            &[
                -0.19999999999999998,
                0.09999999999999999,
                0.09999999999999999,
                -0.39999999999999997,
                -0.0,
                0.39999999999999997,
                0.0,
                -0.26666666666666666,
                0.26666666666666666,
                0.7,
                0.7,
                -1.4,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=1.0, reduction='mean'), grad(.., X, 1.7)
        (
            1,
            false,
            1.0,
            Reduction::Mean,
            &[0.5291666666666667],
            &[
                -0.2833333333333333,
                0.14166666666666666,
                0.14166666666666666,
                0.14166666666666666,
                0.0,
                -0.14166666666666666,
                0.0,
                -0.14166666666666666,
                0.14166666666666666,
                0.14166666666666666,
                0.14166666666666666,
                -0.2833333333333333,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=1.0, reduction='sum'), grad(.., X, 1.7)
        (
            1,
            false,
            1.0,
            Reduction::Sum,
            &[2.1166666666666667],
            &[
                -1.1333333333333333,
                0.5666666666666667,
                0.5666666666666667,
                0.5666666666666667,
                0.0,
                -0.5666666666666667,
                0.0,
                -0.5666666666666667,
                0.5666666666666667,
                0.5666666666666667,
                0.5666666666666667,
                -1.1333333333333333,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=0.5, reduction='none'), grad(.., X, G4)
        (
            1,
            false,
            0.5,
            Reduction::None,
            &[
                0.4666666666666666,
                0.08333333333333333,
                0.0,
                0.8333333333333334,
            ],
            &[
                -0.09999999999999999,
                0.09999999999999999,
                0.0,
                -0.39999999999999997,
                -0.0,
                0.39999999999999997,
                0.0,
                0.0,
                0.0,
                0.7,
                0.7,
                -1.4,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=0.5, reduction='mean'), grad(.., X, 1.7)
        (
            1,
            false,
            0.5,
            Reduction::Mean,
            &[0.3458333333333333],
            &[
                -0.14166666666666666,
                0.14166666666666666,
                0.0,
                0.14166666666666666,
                0.0,
                -0.14166666666666666,
                0.0,
                0.0,
                0.0,
                0.14166666666666666,
                0.14166666666666666,
                -0.2833333333333333,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=0.5, reduction='sum'), grad(.., X, 1.7)
        (
            1,
            false,
            0.5,
            Reduction::Sum,
            &[1.3833333333333333],
            &[
                -0.5666666666666667,
                0.5666666666666667,
                0.0,
                0.5666666666666667,
                0.0,
                -0.5666666666666667,
                0.0,
                0.0,
                0.0,
                0.5666666666666667,
                0.5666666666666667,
                -1.1333333333333333,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=1.0, weight=W, reduction='none'), grad(.., X, G4)
        (
            1,
            true,
            1.0,
            Reduction::None,
            &[
                0.13333333333333336,
                0.1625,
                0.05666666666666659,
                0.7583333333333334,
            ],
            &[
                -0.04,
                0.02,
                0.02,
                -0.26,
                -0.0,
                0.26,
                0.0,
                -0.45333333333333337,
                0.45333333333333337,
                0.455,
                0.455,
                -0.91,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=1.0, weight=W, reduction='mean'), grad(.., X, 1.7)
        (
            1,
            true,
            1.0,
            Reduction::Mean,
            &[0.27770833333333333],
            &[
                -0.056666666666666664,
                0.028333333333333332,
                0.028333333333333332,
                0.09208333333333334,
                0.0,
                -0.09208333333333334,
                0.0,
                -0.24083333333333332,
                0.24083333333333332,
                0.09208333333333334,
                0.09208333333333334,
                -0.18416666666666667,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=1.0, weight=W, reduction='sum'), grad(.., X, 1.7)
        (
            1,
            true,
            1.0,
            Reduction::Sum,
            &[1.1108333333333333],
            &[
                -0.22666666666666666,
                0.11333333333333333,
                0.11333333333333333,
                0.36833333333333335,
                0.0,
                -0.36833333333333335,
                0.0,
                -0.9633333333333333,
                0.9633333333333333,
                0.36833333333333335,
                0.36833333333333335,
                -0.7366666666666667,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=0.5, weight=W, reduction='none'), grad(.., X, G4)
        (
            1,
            true,
            0.5,
            Reduction::None,
            &[
                0.09333333333333332,
                0.05416666666666667,
                0.0,
                0.5416666666666667,
            ],
            &[
                -0.02, 0.02, 0.0, -0.26, -0.0, 0.26, 0.0, 0.0, 0.0, 0.455, 0.455, -0.91,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=0.5, weight=W, reduction='mean'), grad(.., X, 1.7)
        (
            1,
            true,
            0.5,
            Reduction::Mean,
            &[0.17229166666666668],
            &[
                -0.028333333333333332,
                0.028333333333333332,
                0.0,
                0.09208333333333334,
                0.0,
                -0.09208333333333334,
                0.0,
                0.0,
                0.0,
                0.09208333333333334,
                0.09208333333333334,
                -0.18416666666666667,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=1, margin=0.5, weight=W, reduction='sum'), grad(.., X, 1.7)
        (
            1,
            true,
            0.5,
            Reduction::Sum,
            &[0.6891666666666667],
            &[
                -0.11333333333333333,
                0.11333333333333333,
                0.0,
                0.36833333333333335,
                0.0,
                -0.36833333333333335,
                0.0,
                0.0,
                0.0,
                0.36833333333333335,
                0.36833333333333335,
                -0.7366666666666667,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=1.0, reduction='none'), grad(.., X, G4)
        (
            2,
            false,
            1.0,
            Reduction::None,
            &[
                1.2066666666666668,
                0.1875,
                0.003333333333333325,
                2.0433333333333334,
            ],
            &[
                -0.39999999999999997,
                0.37999999999999995,
                0.020000000000000014,
                -0.6,
                -0.0,
                0.6,
                0.0,
                -0.05333333333333326,
                0.05333333333333326,
                2.38,
                2.52,
                -4.8999999999999995,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=1.0, reduction='mean'), grad(.., X, 1.7)
        (
            2,
            false,
            1.0,
            Reduction::Mean,
            &[0.8602083333333335],
            &[
                -0.5666666666666667,
                0.5383333333333333,
                0.028333333333333356,
                0.2125,
                0.0,
                -0.2125,
                0.0,
                -0.02833333333333329,
                0.02833333333333329,
                0.48166666666666663,
                0.51,
                -0.9916666666666665,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=1.0, reduction='sum'), grad(.., X, 1.7)
        (
            2,
            false,
            1.0,
            Reduction::Sum,
            &[3.440833333333334],
            &[
                -2.2666666666666666,
                2.1533333333333333,
                0.11333333333333342,
                0.85,
                0.0,
                -0.85,
                0.0,
                -0.11333333333333316,
                0.11333333333333316,
                1.9266666666666665,
                2.04,
                -3.966666666666666,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=0.5, reduction='none'), grad(.., X, G4)
        (
            2,
            false,
            0.5,
            Reduction::None,
            &[
                0.6533333333333332,
                0.020833333333333332,
                0.0,
                1.0433333333333337,
            ],
            &[
                -0.27999999999999997,
                0.27999999999999997,
                0.0,
                -0.19999999999999998,
                -0.0,
                0.19999999999999998,
                0.0,
                0.0,
                0.0,
                1.6800000000000002,
                1.82,
                -3.5000000000000004,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=0.5, reduction='mean'), grad(.., X, 1.7)
        (
            2,
            false,
            0.5,
            Reduction::Mean,
            &[0.42937500000000006],
            &[
                -0.3966666666666666,
                0.3966666666666666,
                0.0,
                0.07083333333333333,
                0.0,
                -0.07083333333333333,
                0.0,
                0.0,
                0.0,
                0.34,
                0.36833333333333335,
                -0.7083333333333334,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=0.5, reduction='sum'), grad(.., X, 1.7)
        (
            2,
            false,
            0.5,
            Reduction::Sum,
            &[1.7175000000000002],
            &[
                -1.5866666666666664,
                1.5866666666666664,
                0.0,
                0.2833333333333333,
                0.0,
                -0.2833333333333333,
                0.0,
                0.0,
                0.0,
                1.36,
                1.4733333333333334,
                -2.8333333333333335,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=1.0, weight=W, reduction='none'), grad(.., X, G4)
        (
            2,
            true,
            1.0,
            Reduction::None,
            &[
                0.24133333333333337,
                0.12187500000000001,
                0.005666666666666652,
                1.328166666666667,
            ],
            &[
                -0.08000000000000002,
                0.076,
                0.0040000000000000036,
                -0.39,
                -0.0,
                0.39,
                0.0,
                -0.09066666666666653,
                0.09066666666666653,
                1.5470000000000002,
                1.6380000000000001,
                -3.185,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=1.0, weight=W, reduction='mean'), grad(.., X, 1.7)
        (
            2,
            true,
            1.0,
            Reduction::Mean,
            &[0.42426041666666675],
            &[
                -0.11333333333333336,
                0.10766666666666667,
                0.005666666666666671,
                0.138125,
                0.0,
                -0.138125,
                0.0,
                -0.048166666666666594,
                0.048166666666666594,
                0.3130833333333333,
                0.3315,
                -0.6445833333333333,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=1.0, weight=W, reduction='sum'), grad(.., X, 1.7)
        (
            2,
            true,
            1.0,
            Reduction::Sum,
            &[1.697041666666667],
            &[
                -0.4533333333333334,
                0.4306666666666667,
                0.022666666666666686,
                0.5525,
                0.0,
                -0.5525,
                0.0,
                -0.19266666666666638,
                0.19266666666666638,
                1.2523333333333333,
                1.326,
                -2.578333333333333,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=0.5, weight=W, reduction='none'), grad(.., X, G4)
        (
            2,
            true,
            0.5,
            Reduction::None,
            &[
                0.13066666666666665,
                0.013541666666666667,
                0.0,
                0.6781666666666668,
            ],
            &[
                -0.055999999999999994,
                0.055999999999999994,
                0.0,
                -0.13,
                -0.0,
                0.13,
                0.0,
                0.0,
                0.0,
                1.092,
                1.183,
                -2.2750000000000004,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=0.5, weight=W, reduction='mean'), grad(.., X, 1.7)
        (
            2,
            true,
            0.5,
            Reduction::Mean,
            &[0.20559375000000002],
            &[
                -0.07933333333333333,
                0.07933333333333333,
                0.0,
                0.04604166666666667,
                0.0,
                -0.04604166666666667,
                0.0,
                0.0,
                0.0,
                0.221,
                0.23941666666666667,
                -0.4604166666666667,
            ],
        ),
        // torch 2.13: F.multi_margin_loss(X, T, p=2, margin=0.5, weight=W, reduction='sum'), grad(.., X, 1.7)
        (
            2,
            true,
            0.5,
            Reduction::Sum,
            &[0.8223750000000001],
            &[
                -0.3173333333333333,
                0.3173333333333333,
                0.0,
                0.18416666666666667,
                0.0,
                -0.18416666666666667,
                0.0,
                0.0,
                0.0,
                0.884,
                0.9576666666666667,
                -1.8416666666666668,
            ],
        ),
    ];
    let (x, t, w, g4) = (x(), t(), w(), g4());
    for &(p, weighted, margin, reduction, loss, grad) in cases {
        let mut opts = mm_opts(p, margin, reduction);
        if weighted {
            opts = opts.weight(w.view());
        }
        let out_shape: &[usize] = if reduction == Reduction::None {
            &[4]
        } else {
            &[]
        };
        let got = multi_margin_loss(x.view(), t.view(), &opts).unwrap();
        assert_bits64(&got, out_shape, loss);
        let g = grad_for(reduction, &g4);
        let got = multi_margin_loss_backward(g.view(), x.view(), t.view(), &opts).unwrap();
        assert_bits64(&got, &[4, 3], grad);
    }
}

#[test]
fn multi_margin_one_sample_and_scalar_inputs() {
    let (x, w) = (x(), w());
    let x1 = x.index_axis(ndarray::Axis(0), 1).to_owned();
    // torch 2.13: F.multi_margin_loss(X[1], t, p=2, weight=W, reduction=r) = 0.10416666666666667
    // for t = tensor(0) (every r: a 0-D output) and t = tensor([0]) (`none`: shape [1]);
    // grad(.., X[1], -0.5) = [0.08333333333333333, -0.0, -0.08333333333333333]
    let grad: &[f64] = &[0.08333333333333333, -0.0, -0.08333333333333333];
    for t in [arr0(0i64).into_dyn(), array![0i64].into_dyn()] {
        for reduction in REDUCTIONS {
            let opts = mm_opts(2, 1.0, reduction).weight(w.view());
            let shape: &[usize] = if reduction == Reduction::None && t.ndim() == 1 {
                &[1]
            } else {
                &[]
            };
            let got = multi_margin_loss(x1.view(), t.view(), &opts).unwrap();
            assert_bits64(&got, shape, &[0.10416666666666667]);
            let g = ArrayD::from_elem(IxDyn(shape), -0.5);
            let got = multi_margin_loss_backward(g.view(), x1.view(), t.view(), &opts).unwrap();
            assert_bits64(&got, &[3], grad);
        }
    }
    // torch 2.13: F.multi_margin_loss(tensor(0.7), t, reduction='none') = 0.0, shape []
    // for t = tensor(0), shape [1] for t = tensor([0]); grad 0.0
    let x0 = arr0(0.7f64).into_dyn();
    for (t, shape) in [
        (arr0(0i64).into_dyn(), vec![]),
        (array![0i64].into_dyn(), vec![1]),
    ] {
        let opts = mm_opts(1, 1.0, Reduction::None);
        let got = multi_margin_loss(x0.view(), t.view(), &opts).unwrap();
        assert_bits64(&got, &shape, &[0.0]);
        let g = ArrayD::from_elem(IxDyn(&shape), 1.0);
        let got = multi_margin_loss_backward(g.view(), x0.view(), t.view(), &opts).unwrap();
        assert_bits64(&got, &[], &[0.0]);
    }
    // A (1, C) input with a 0-D target: `none` gives a 0-D output.
    // torch 2.13: F.multi_margin_loss(X[:1], tensor(1), reduction='none') = 0.03333333333333336, shape []
    let opts = mm_opts(1, 1.0, Reduction::None);
    let got = multi_margin_loss(x.slice(ndarray::s![..1, ..]), arr0(1i64).view(), &opts).unwrap();
    assert_bits64(&got, &[], &[0.03333333333333336]);
}

#[test]
fn multi_margin_empty_batch() {
    // torch 2.13: F.multi_margin_loss(zeros(0, 3), zeros(0, dtype=long), reduction='none')
    // has shape [0]; `mean` and `sum` return uninitialised memory (we return NaN and 0);
    // the gradient (autograd) is zeros(0, 3).
    let (x, t) = (zeros64(&[0, 3]), zeros_i64(&[0]));
    let none = multi_margin_loss(x.view(), t.view(), &mm_opts(1, 1.0, Reduction::None)).unwrap();
    assert_eq!(none.shape(), &[0]);
    let sum = multi_margin_loss(x.view(), t.view(), &mm_opts(1, 1.0, Reduction::Sum)).unwrap();
    assert_bits64(&sum, &[], &[0.0]);
    let mean = multi_margin_loss(x.view(), t.view(), &mm_opts(2, 1.0, Reduction::Mean)).unwrap();
    assert_bits64(&mean, &[], &[f64::NAN]);
    let g = multi_margin_loss_backward(
        arr0(1.0).view(),
        x.view(),
        t.view(),
        &mm_opts(1, 1.0, Reduction::Mean),
    )
    .unwrap();
    assert_eq!(g.shape(), &[0, 3]);
    let g0 = zeros64(&[0]);
    let g = multi_margin_loss_backward(
        g0.view(),
        x.view(),
        t.view(),
        &mm_opts(1, 1.0, Reduction::None),
    )
    .unwrap();
    assert_eq!(g.shape(), &[0, 3]);
    // An empty input reads no target: an out-of-range class is no error.
    let w = w();
    let opts = mm_opts(1, 1.0, Reduction::Sum).weight(w.view());
    assert!(multi_margin_loss(x.view(), t.view(), &opts).is_ok());
}

#[test]
fn multi_margin_nan_and_infinity() {
    let inf = f64::INFINITY;
    let xn = a64(
        &[6, 3],
        &[
            f64::NAN,
            0.5,
            0.2,
            0.1,
            f64::NAN,
            0.3,
            inf,
            0.0,
            1.0,
            1.0,
            inf,
            0.0,
            inf,
            inf,
            0.0,
            -inf,
            0.0,
            1.0,
        ],
    );
    let tn = ai(&[6], &[1, 1, 0, 0, 0, 1]);
    let ones = ArrayD::from_elem(IxDyn(&[6]), 1.0);
    // A NaN hinge is inactive: NaN scores add nothing (libtorch tests `z > 0`).
    // torch 2.13: F.multi_margin_loss(XN, TN, reduction='none') =
    //   [0.2333333333333333, 0.0, 0.0, inf, 0.0, 0.6666666666666666]
    // grad(.., XN, ones(6)) = [0, -1/3, 1/3, 0, 0, 0, 0, 0, 0, -1/3, 1/3, 0, 0, 0, 0, 0, -1/3, 1/3]
    let third = 0.3333333333333333;
    let p1_grad = [
        0.0, -third, third, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -third, third, 0.0, 0.0, 0.0, 0.0, 0.0,
        -third, third,
    ];
    let opts = mm_opts(1, 1.0, Reduction::None);
    let got = multi_margin_loss(xn.view(), tn.view(), &opts).unwrap();
    assert_bits64(
        &got,
        &[6],
        &[0.2333333333333333, 0.0, 0.0, inf, 0.0, 0.6666666666666666],
    );
    let got = multi_margin_loss_backward(ones.view(), xn.view(), tn.view(), &opts).unwrap();
    assert_bits64(&got, &[6, 3], &p1_grad);
    // torch 2.13: F.multi_margin_loss(XN, TN, reduction='sum') = inf, same gradient (grad 1.0)
    let opts = mm_opts(1, 1.0, Reduction::Sum);
    let got = multi_margin_loss(xn.view(), tn.view(), &opts).unwrap();
    assert_bits64(&got, &[], &[inf]);
    let got = multi_margin_loss_backward(arr0(1.0).view(), xn.view(), tn.view(), &opts).unwrap();
    assert_bits64(&got, &[6, 3], &p1_grad);
    // torch 2.13: F.multi_margin_loss(XN, TN, p=2, reduction='none') =
    //   [0.1633333333333333, 0.0, 0.0, inf, 0.0, 1.3333333333333333]
    // grad(.., XN, ones(6)) = [0, -0.4666666666666666, 0.4666666666666666, 0, 0, 0, 0, 0, 0,
    //   -inf, inf, 0, 0, 0, 0, 0, -1.3333333333333333, 1.3333333333333333]
    let opts = mm_opts(2, 1.0, Reduction::None);
    let got = multi_margin_loss(xn.view(), tn.view(), &opts).unwrap();
    assert_bits64(
        &got,
        &[6],
        &[0.1633333333333333, 0.0, 0.0, inf, 0.0, 1.3333333333333333],
    );
    let got = multi_margin_loss_backward(ones.view(), xn.view(), tn.view(), &opts).unwrap();
    let (a, b) = (0.4666666666666666, 1.3333333333333333);
    assert_bits64(
        &got,
        &[6, 3],
        &[
            0.0, -a, a, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -inf, inf, 0.0, 0.0, 0.0, 0.0, 0.0, -b, b,
        ],
    );
    let (x, t) = (x(), t());
    // torch 2.13: F.multi_margin_loss(X, T, margin=nan) = 0.0
    let got =
        multi_margin_loss(x.view(), t.view(), &mm_opts(1, f64::NAN, Reduction::Mean)).unwrap();
    assert_bits64(&got, &[], &[0.0]);
    // torch 2.13: F.multi_margin_loss(X, T, weight=tensor([nan, 1, 1]), reduction='none') =
    //   [nan, 0.25, 0.03333333333333329, 1.1666666666666667]
    let wn = a64(&[3], &[f64::NAN, 1.0, 1.0]);
    let opts = mm_opts(1, 1.0, Reduction::None).weight(wn.view());
    let got = multi_margin_loss(x.view(), t.view(), &opts).unwrap();
    assert_bits64(
        &got,
        &[4],
        &[f64::NAN, 0.25, 0.03333333333333329, 1.1666666666666667],
    );
}

#[test]
fn backward_multiplies_every_element_by_grad_output() {
    let (x, t, tl) = (x(), t(), tl());
    let inf = f64::INFINITY;
    let third = 0.3333333333333333;
    // An inactive hinge's zero times an infinite grad_output is NaN, as in libtorch.
    // torch 2.13: grad(F.multi_margin_loss(.., T, reduction='none'), X, tensor([1, inf, 1, 1]))
    let g = a64(&[4], &[1.0, inf, 1.0, 1.0]);
    let got = multi_margin_loss_backward(
        g.view(),
        x.view(),
        t.view(),
        &mm_opts(1, 1.0, Reduction::None),
    )
    .unwrap();
    assert_bits64(
        &got,
        &[4, 3],
        &[
            -0.6666666666666666,
            third,
            third,
            inf,
            f64::NAN,
            -inf,
            0.0,
            -third,
            third,
            third,
            third,
            -0.6666666666666666,
        ],
    );
    // torch 2.13: grad(F.multilabel_margin_loss(.., TL, reduction='none'), X, tensor([1, 1, 1, inf]))
    let g = a64(&[4], &[1.0, 1.0, 1.0, inf]);
    let opts = MultilabelMarginOptions::default().reduction(Reduction::None);
    let got = multilabel_margin_loss_backward(g.view(), x.view(), tl.view(), &opts).unwrap();
    assert_bits64(
        &got,
        &[4, 3],
        &[
            -0.6666666666666666,
            third,
            third,
            0.6666666666666666,
            -third,
            -third,
            0.0,
            0.6666666666666666,
            -0.6666666666666666,
            f64::NAN,
            f64::NAN,
            f64::NAN,
        ],
    );
}

#[test]
fn multi_margin_errors_in_pytorch_order() {
    let (x, t, w) = (x(), t(), w());
    let run = |x: &ArrayD<f64>, t: &ArrayD<i64>, opts: &MultiMarginOptions<'_, f64>| {
        multi_margin_loss(x.view(), t.view(), opts)
    };
    let v = ErrorKind::ValueError;
    let r = ErrorKind::RuntimeError;
    // torch 2.13: F.multi_margin_loss(zeros(2, 0), T, p=3) -> ValueError: only p == 1 and p == 2 supported
    // (Python's check comes first, before any shape check)
    let e = zeros64(&[2, 0]);
    assert_err(
        run(&e, &t, &mm_opts(3, 1.0, Reduction::Mean)),
        v,
        "only p == 1 and p == 2 supported",
    );
    assert_err(
        run(&x, &t, &mm_opts(0, 1.0, Reduction::None)),
        v,
        "only p == 1 and p == 2 supported",
    );
    // torch 2.13: F.multi_margin_loss(zeros(2, 0), T, weight=ones(1, 3)) -> ValueError: weight must be one-dimensional
    let w2 = zeros64(&[1, 3]);
    let opts = mm_opts(1, 1.0, Reduction::Mean).weight(w2.view());
    assert_err(run(&e, &t, &opts), v, "weight must be one-dimensional");
    let w0 = arr0(1.0).into_dyn();
    let opts = mm_opts(1, 1.0, Reduction::Mean).weight(w0.view());
    assert_err(run(&x, &t, &opts), v, "weight must be one-dimensional");
    // torch 2.13: F.multi_margin_loss(zeros(2, 0), T, weight=ones(4)) -> RuntimeError:
    // Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 0]
    let w4 = zeros64(&[4]);
    let opts = mm_opts(1, 1.0, Reduction::Mean).weight(w4.view());
    let msg = "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 0]";
    assert_err(run(&e, &t, &opts), r, msg);
    // torch 2.13: same for zeros(0) and randn(2, 3, 4)
    let msg = "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [0]";
    assert_err(
        run(
            &zeros64(&[0]),
            &zeros_i64(&[1]),
            &MultiMarginOptions::default(),
        ),
        r,
        msg,
    );
    let msg =
        "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 3, 4]";
    assert_err(
        run(
            &zeros64(&[2, 3, 4]),
            &zeros_i64(&[2]),
            &MultiMarginOptions::default(),
        ),
        r,
        msg,
    );
    // torch 2.13: F.multi_margin_loss(X, tensor([0, 1, 2]), weight=ones(4)) -> RuntimeError:
    // the target's message (before the weight's)
    let t3 = ai(&[3], &[0, 1, 2]);
    let opts = mm_opts(1, 1.0, Reduction::Mean).weight(w4.view());
    let msg = "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples (batch size). Expected target size [4], but got [3]. Input has shape [4, 3].";
    assert_err(run(&x, &t3, &opts), r, msg);
    // torch 2.13: F.multi_margin_loss(X, tensor([[0, 1, 2, 0]])) -> RuntimeError: ... but got [1, 4]. Input has shape [4, 3].
    let msg = "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples (batch size). Expected target size [4], but got [1, 4]. Input has shape [4, 3].";
    assert_err(
        run(
            &x,
            &ai(&[1, 4], &[0, 1, 2, 0]),
            &MultiMarginOptions::default(),
        ),
        r,
        msg,
    );
    // torch 2.13: F.multi_margin_loss(randn(3), tensor([1, 2])) -> ... Expected target size [1], but got [2]. Input has shape [3].
    let msg = "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples (batch size). Expected target size [1], but got [2]. Input has shape [3].";
    assert_err(
        run(
            &zeros64(&[3]),
            &ai(&[2], &[1, 2]),
            &MultiMarginOptions::default(),
        ),
        r,
        msg,
    );
    // torch 2.13: F.multi_margin_loss(X, T, weight=ones(4)) -> RuntimeError: inconsistent weight size, expected 3 but got [4]
    let opts = mm_opts(1, 1.0, Reduction::Mean).weight(w4.view());
    assert_err(
        run(&x, &t, &opts),
        r,
        "inconsistent weight size, expected 3 but got [4]",
    );
    // torch 2.13: F.multi_margin_loss(X, tensor([0, 2, 3, 2]), weight=W) -> RuntimeError: target out of range
    // (and for -1, for 'none', for a 0-D input with target 1)
    let opts = mm_opts(2, 1.0, Reduction::Mean).weight(w.view());
    assert_err(
        run(&x, &ai(&[4], &[0, 2, 3, 2]), &opts),
        r,
        "target out of range",
    );
    let opts = mm_opts(1, 1.0, Reduction::None);
    assert_err(
        run(&x, &ai(&[4], &[-1, 2, 0, 2]), &opts),
        r,
        "target out of range",
    );
    assert_err(
        run(&arr0(0.5).into_dyn(), &arr0(1i64).into_dyn(), &opts),
        r,
        "target out of range",
    );
    // The backward runs the forward's checks first; then autograd's grad_output check.
    // torch 2.13: torch.ops.aten.multi_margin_loss_backward(tensor(1.), X, tensor([0, 5, 0, 0]), 1, 1.0, None, 1)
    // -> RuntimeError: target out of range
    let bad = ai(&[4], &[0, 5, 0, 0]);
    let go = arr0(1.0);
    let res = multi_margin_loss_backward(
        go.view(),
        x.view(),
        bad.view(),
        &MultiMarginOptions::default(),
    );
    assert_err(res, r, "target out of range");
    // torch 2.13: torch.autograd.grad(F.multi_margin_loss(rg(X), T, reduction='none'), x, ones(3)) -> RuntimeError:
    // Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
    let g3 = zeros64(&[3]);
    let res = multi_margin_loss_backward(
        g3.view(),
        x.view(),
        t.view(),
        &mm_opts(1, 1.0, Reduction::None),
    );
    let msg = "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).";
    assert_err(res, r, msg);
    let g1 = zeros64(&[1]);
    let res = multi_margin_loss_backward(
        g1.view(),
        x.view(),
        t.view(),
        &MultiMarginOptions::default(),
    );
    let msg = "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).";
    assert_err(res, r, msg);
}

#[test]
fn multi_margin_weight_is_not_differentiable() {
    let (x, t, w) = (x(), t(), w());
    let go = arr0(1.0);
    let refusal = "The function 'multi_margin_loss' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.";
    // torch 2.13: F.multi_margin_loss(rg(X), T, weight=rg(W)) -> RuntimeError: <refusal>
    let opts = MultiMarginOptions::default().weight(w.view());
    let res = multi_margin_loss_weight_backward(go.view(), x.view(), t.view(), &opts);
    assert_err(res, ErrorKind::RuntimeError, refusal);
    // The refusal comes before libtorch's shape checks:
    // torch 2.13: F.multi_margin_loss(zeros(2, 0), T, weight=rg(ones(4))) -> RuntimeError: <refusal>
    let w4 = zeros64(&[4]);
    let opts = MultiMarginOptions::default().weight(w4.view());
    let e = zeros64(&[2, 0]);
    let res = multi_margin_loss_weight_backward(go.view(), e.view(), t.view(), &opts);
    assert_err(res, ErrorKind::RuntimeError, refusal);
    // ... but after Python's:
    // torch 2.13: F.multi_margin_loss(X, T, p=3, weight=rg(W)) -> ValueError: only p == 1 and p == 2 supported
    // torch 2.13: F.multi_margin_loss(X, T, weight=rg(ones(1, 3))) -> ValueError: weight must be one-dimensional
    let opts = MultiMarginOptions::default().p(3).weight(w.view());
    let res = multi_margin_loss_weight_backward(go.view(), x.view(), t.view(), &opts);
    assert_err(
        res,
        ErrorKind::ValueError,
        "only p == 1 and p == 2 supported",
    );
    let w2 = zeros64(&[1, 3]);
    let opts = MultiMarginOptions::default().weight(w2.view());
    let res = multi_margin_loss_weight_backward(go.view(), x.view(), t.view(), &opts);
    assert_err(res, ErrorKind::ValueError, "weight must be one-dimensional");
}

#[test]
fn multi_margin_non_contiguous_input() {
    // A transposed view gives the same bits as its contiguous copy.
    let (x, t, w) = (x(), t(), w());
    let xt = x.t().to_owned();
    let view = xt.t();
    let opts = mm_opts(2, 0.5, Reduction::None).weight(w.view());
    let a = multi_margin_loss(view.clone(), t.view(), &opts).unwrap();
    let b = multi_margin_loss(x.view(), t.view(), &opts).unwrap();
    assert_eq!(a, b);
    let g = g4();
    let a = multi_margin_loss_backward(g.view(), view, t.view(), &opts).unwrap();
    let b = multi_margin_loss_backward(g.view(), x.view(), t.view(), &opts).unwrap();
    assert_eq!(a, b);
}

struct LongMm {
    x: ArrayD<f32>,
    t: ArrayD<i64>,
    w: ArrayD<f32>,
    g: ArrayD<f32>,
}

fn long_mm() -> LongMm {
    let (n, c) = (500, 211);
    LongMm {
        x: ArrayD::from_shape_vec(IxDyn(&[n, c]), genx(n * c, 1)).unwrap(),
        t: ArrayD::from_shape_vec(
            IxDyn(&[n]),
            (0..n).map(|r| ((r * 5 + 3) % c) as i64).collect(),
        )
        .unwrap(),
        w: ArrayD::from_shape_vec(
            IxDyn(&[c]),
            (0..c).map(|k| (k % 7 + 1) as f32 / 4.0).collect(),
        )
        .unwrap(),
        g: ArrayD::from_shape_vec(
            IxDyn(&[n]),
            (0..n).map(|r| ((r % 9) as f32 - 4.0) / 3.0).collect(),
        )
        .unwrap(),
    }
}

#[test]
fn multi_margin_long_f32_bit_exact() {
    let d = long_mm();
    let f32_opts = |p: i64, margin: f64, r: Reduction| {
        MultiMarginOptions::<f32>::default()
            .p(p)
            .margin(margin)
            .reduction(r)
    };
    // torch 2.13: F.multi_margin_loss(XM, TM) = 1.2835747003555298
    let got =
        multi_margin_loss(d.x.view(), d.t.view(), &f32_opts(1, 1.0, Reduction::Mean)).unwrap();
    assert_bits(&got, &[], &[1.2835747]);
    // torch 2.13: F.multi_margin_loss(XM, TM, p=2, weight=WM, reduction='sum') = 1621.7161865234375
    let opts = f32_opts(2, 1.0, Reduction::Sum).weight(d.w.view());
    let got = multi_margin_loss(d.x.view(), d.t.view(), &opts).unwrap();
    assert_bits(&got, &[], &[1621.7162]);
    // torch 2.13: F.multi_margin_loss(XM, TM, p=2, margin=0.75, weight=WM) = 2.647986888885498
    let opts = f32_opts(2, 0.75, Reduction::Mean).weight(d.w.view());
    let got = multi_margin_loss(d.x.view(), d.t.view(), &opts).unwrap();
    assert_bits(&got, &[], &[2.647_987]);
    // torch 2.13: bits_hash(F.multi_margin_loss(XM, TM, reduction='none')) = 0x10b79ab62b728d40,
    // [:3] = [1.1453838348388672, 0.13194312155246735, 1.1431087255477905]
    let got =
        multi_margin_loss(d.x.view(), d.t.view(), &f32_opts(1, 1.0, Reduction::None)).unwrap();
    assert_bits(
        &got.slice(ndarray::s![..3]).to_owned().into_dyn(),
        &[3],
        &[1.1453838, 0.13194312, 1.1431087],
    );
    assert_eq!(bits_hash(&got), 0x10b7_9ab6_2b72_8d40);
    // torch 2.13: bits_hash(grad(lambda x: F.multi_margin_loss(x, TM, p=2, weight=WM), XM, 1.0)) = 0x685bc6ee7927040b
    let opts = f32_opts(2, 1.0, Reduction::Mean).weight(d.w.view());
    let got =
        multi_margin_loss_backward(arr0(1.0f32).view(), d.x.view(), d.t.view(), &opts).unwrap();
    assert_eq!(bits_hash(&got), 0x685b_c6ee_7927_040b);
    // torch 2.13: bits_hash(grad(lambda x: F.multi_margin_loss(x, TM, reduction='none'), XM, GM)) = 0x3d946a05fd5b9268
    let opts = f32_opts(1, 1.0, Reduction::None);
    let got = multi_margin_loss_backward(d.g.view(), d.x.view(), d.t.view(), &opts).unwrap();
    assert_eq!(bits_hash(&got), 0x3d94_6a05_fd5b_9268);
}

// ---------------------------------------------------------------------------------
// multilabel_margin_loss
// ---------------------------------------------------------------------------------

#[test]
fn multilabel_every_reduction() {
    // Rows: class 0 then -1 (the trailing 2 is ignored); classes 1 and 2; class 2 twice
    // (counted twice); no class at all.
    #[allow(clippy::type_complexity)]
    let cases: &[(Reduction, &[f64], &[f64])] = &[
        // torch 2.13: F.multilabel_margin_loss(X, TL, reduction='none'), grad(.., X, G4)
        (
            Reduction::None,
            &[
                0.6666666666666666,
                0.9833333333333334,
                1.2666666666666666,
                0.0,
            ],
            &[
                -0.19999999999999998,
                0.09999999999999999,
                0.09999999999999999,
                -0.7999999999999999,
                0.39999999999999997,
                0.39999999999999997,
                0.0,
                0.5333333333333333,
                -0.5333333333333333,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.multilabel_margin_loss(X, TL, reduction='mean'), grad(.., X, 1.7)
        (
            Reduction::Mean,
            &[0.7291666666666666],
            &[
                -0.2833333333333333,
                0.14166666666666666,
                0.14166666666666666,
                0.2833333333333333,
                -0.14166666666666666,
                -0.14166666666666666,
                0.0,
                0.2833333333333333,
                -0.2833333333333333,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.multilabel_margin_loss(X, TL, reduction='sum'), grad(.., X, 1.7)
        (
            Reduction::Sum,
            &[2.9166666666666665],
            &[
                -1.1333333333333333,
                0.5666666666666667,
                0.5666666666666667,
                1.1333333333333333,
                -0.5666666666666667,
                -0.5666666666666667,
                0.0,
                1.1333333333333333,
                -1.1333333333333333,
                0.0,
                0.0,
                0.0,
            ],
        ),
    ];
    let (x, tl, g4) = (x(), tl(), g4());
    for &(reduction, loss, grad) in cases {
        let opts = MultilabelMarginOptions::default().reduction(reduction);
        let out_shape: &[usize] = if reduction == Reduction::None {
            &[4]
        } else {
            &[]
        };
        let got = multilabel_margin_loss(x.view(), tl.view(), &opts).unwrap();
        assert_bits64(&got, out_shape, loss);
        let g = grad_for(reduction, &g4);
        let got = multilabel_margin_loss_backward(g.view(), x.view(), tl.view(), &opts).unwrap();
        assert_bits64(&got, &[4, 3], grad);
    }
}

#[test]
fn multilabel_one_sample_scalar_and_empty_inputs() {
    let x = x();
    let x1 = x.index_axis(ndarray::Axis(0), 1).to_owned();
    let none = MultilabelMarginOptions::default().reduction(Reduction::None);
    // A 1-D input is one sample: even `none` gives a 0-D output.
    // torch 2.13: F.multilabel_margin_loss(X[1], tensor([2, -1, 0]), reduction='none') = 0.25, shape [];
    // grad(.., X[1], 2.0) = [0.6666666666666666, 0.0, -0.6666666666666666]
    let t1 = ai(&[3], &[2, -1, 0]);
    let got = multilabel_margin_loss(x1.view(), t1.view(), &none).unwrap();
    assert_bits64(&got, &[], &[0.25]);
    let got =
        multilabel_margin_loss_backward(arr0(2.0).view(), x1.view(), t1.view(), &none).unwrap();
    assert_bits64(&got, &[3], &[0.6666666666666666, 0.0, -0.6666666666666666]);
    // torch 2.13: F.multilabel_margin_loss(tensor(0.7), t, reduction='none') = 0.0 (shape [])
    // for t = tensor(0), tensor([-1]); the gradient is 0.0
    let x0 = arr0(0.7f64).into_dyn();
    for t in [arr0(0i64).into_dyn(), array![-1i64].into_dyn()] {
        let got = multilabel_margin_loss(x0.view(), t.view(), &none).unwrap();
        assert_bits64(&got, &[], &[0.0]);
        let got =
            multilabel_margin_loss_backward(arr0(1.0).view(), x0.view(), t.view(), &none).unwrap();
        assert_bits64(&got, &[], &[0.0]);
    }
    // torch 2.13: F.multilabel_margin_loss(zeros(0, 3), zeros(0, 3, dtype=long), reduction='none')
    // has shape [0]; `mean`/`sum` return uninitialised memory (we return NaN and 0)
    let (e, te) = (zeros64(&[0, 3]), zeros_i64(&[0, 3]));
    let got = multilabel_margin_loss(e.view(), te.view(), &none).unwrap();
    assert_eq!(got.shape(), &[0]);
    let sum = MultilabelMarginOptions::default().reduction(Reduction::Sum);
    assert_bits64(
        &multilabel_margin_loss(e.view(), te.view(), &sum).unwrap(),
        &[],
        &[0.0],
    );
    let mean = MultilabelMarginOptions::default();
    assert_bits64(
        &multilabel_margin_loss(e.view(), te.view(), &mean).unwrap(),
        &[],
        &[f64::NAN],
    );
    let got =
        multilabel_margin_loss_backward(arr0(1.0).view(), e.view(), te.view(), &mean).unwrap();
    assert_eq!(got.shape(), &[0, 3]);
    // An empty input reads no target: no range error.
    let bad = ai(&[0, 3], &[]);
    assert!(multilabel_margin_loss(e.view(), bad.view(), &mean).is_ok());
    // torch 2.13: every class listed, or none: F.multilabel_margin_loss(
    //   tensor([[0.1, 0.3, 0.2]]), tensor([[0, 1, 2]]) / tensor([[-1, 1, 2]]), reduction='none') = [0.0]
    let xs = a64(&[1, 3], &[0.1, 0.3, 0.2]);
    for t in [ai(&[1, 3], &[0, 1, 2]), ai(&[1, 3], &[-1, 1, 2])] {
        let got = multilabel_margin_loss(xs.view(), t.view(), &none).unwrap();
        assert_bits64(&got, &[1], &[0.0]);
    }
}

#[test]
fn multilabel_nan_and_infinity() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let xm = a64(
        &[4, 4],
        &[
            nan, 0.5, 0.2, 0.1, 0.1, nan, 0.3, 0.0, inf, 0.0, 1.0, 0.5, 0.0, inf, 0.0, 0.2,
        ],
    );
    let tm = ai(
        &[4, 4],
        &[1, -1, 0, 0, 0, 2, -1, 3, 1, -1, -1, -1, 0, 3, -1, 1],
    );
    // torch 2.13: F.multilabel_margin_loss(XM, TM, reduction='none') = [0.32499999999999996, 0.4, inf, inf]
    // grad(.., XM, ones(4)) = [0.0, -0.5, 0.25, 0.25, -0.25, 0.0, -0.25, 0.5, 0.25, -0.75, 0.25,
    //   0.25, -0.5, 0.5, 0.5, -0.5]
    let none = MultilabelMarginOptions::default().reduction(Reduction::None);
    let got = multilabel_margin_loss(xm.view(), tm.view(), &none).unwrap();
    assert_bits64(&got, &[4], &[0.32499999999999996, 0.4, inf, inf]);
    let ones = ArrayD::from_elem(IxDyn(&[4]), 1.0);
    let got = multilabel_margin_loss_backward(ones.view(), xm.view(), tm.view(), &none).unwrap();
    assert_bits64(
        &got,
        &[4, 4],
        &[
            0.0, -0.5, 0.25, 0.25, -0.25, 0.0, -0.25, 0.5, 0.25, -0.75, 0.25, 0.25, -0.5, 0.5, 0.5,
            -0.5,
        ],
    );
}

#[test]
fn multilabel_errors_in_pytorch_order() {
    let x = x();
    let r = ErrorKind::RuntimeError;
    let opts = MultilabelMarginOptions::default();
    let run = |x: &ArrayD<f64>, t: &ArrayD<i64>| multilabel_margin_loss(x.view(), t.view(), &opts);
    // torch 2.13: F.multilabel_margin_loss(zeros(2, 0), zeros(2, 0, dtype=long)) -> RuntimeError:
    // Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 0]
    let msg = "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 0]";
    assert_err(run(&zeros64(&[2, 0]), &zeros_i64(&[5])), r, msg);
    let msg = "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [0]";
    assert_err(run(&zeros64(&[0]), &zeros_i64(&[0])), r, msg);
    let msg =
        "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 3, 4]";
    assert_err(run(&zeros64(&[2, 3, 4]), &zeros_i64(&[2, 3, 4])), r, msg);
    // torch 2.13: F.multilabel_margin_loss(randn(2, 3), tensor([0, 1])) -> RuntimeError:
    // inconsistent target size: [2] for input of size: [2, 3]   (and [1, 2], [2, 3, 1])
    let x23 = zeros64(&[2, 3]);
    let msg = "inconsistent target size: [2] for input of size: [2, 3]";
    assert_err(run(&x23, &ai(&[2], &[0, 1])), r, msg);
    let msg = "inconsistent target size: [1, 2] for input of size: [2, 3]";
    assert_err(run(&x23, &ai(&[1, 2], &[0, 1])), r, msg);
    let msg = "inconsistent target size: [2, 3, 1] for input of size: [2, 3]";
    assert_err(run(&x23, &zeros_i64(&[2, 3, 1])), r, msg);
    // torch 2.13: F.multilabel_margin_loss(randn(3), zeros(1, 3, dtype=long)) -> RuntimeError:
    // inconsistent target size: [1, 3] for input of size: [3]   (and [2])
    let x3 = zeros64(&[3]);
    let msg = "inconsistent target size: [1, 3] for input of size: [3]";
    assert_err(run(&x3, &zeros_i64(&[1, 3])), r, msg);
    let msg = "inconsistent target size: [2] for input of size: [3]";
    assert_err(run(&x3, &zeros_i64(&[2])), r, msg);
    // torch 2.13: F.multilabel_margin_loss(randn(2, 3), tensor([[0, 3, -1], [0, 0, 0]])) -> RuntimeError:
    // argument #2 'target' is out of range   (also for -2, and for 7 after a -1)
    let msg = "argument #2 'target' is out of range";
    assert_err(run(&x23, &ai(&[2, 3], &[0, 3, -1, 0, 0, 0])), r, msg);
    assert_err(run(&x23, &ai(&[2, 3], &[0, -2, -1, 0, 0, 0])), r, msg);
    assert_err(run(&x23, &ai(&[2, 3], &[0, -1, 7, 0, 0, 0])), r, msg);
    // The backward: the forward's checks, then autograd's grad_output check.
    // torch 2.13: torch.autograd.grad(F.multilabel_margin_loss(rg(X), TL, reduction='none'), x, ones(3))
    // -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
    let none = MultilabelMarginOptions::default().reduction(Reduction::None);
    let tl = tl();
    let g3 = zeros64(&[3]);
    let res = multilabel_margin_loss_backward(g3.view(), x.view(), tl.view(), &none);
    let msg = "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).";
    assert_err(res, r, msg);
    let bad = ai(&[4, 3], &[0, -1, 2, 1, 2, -1, 2, 2, -1, -1, 0, 3]);
    let res = multilabel_margin_loss_backward(g3.view(), x.view(), bad.view(), &none);
    assert_err(res, r, "argument #2 'target' is out of range");
}

/// Row r lists r % 6 classes `(r * 37 + k * 11) % C`, then -1, then `(r + k) % C`.
fn long_multilabel_target(n: usize, c: usize) -> ArrayD<i64> {
    let mut t = Vec::with_capacity(n * c);
    for r in 0..n {
        let count = r % 6;
        for k in 0..c {
            t.push(match k.cmp(&count) {
                std::cmp::Ordering::Less => ((r * 37 + k * 11) % c) as i64,
                std::cmp::Ordering::Equal => -1,
                std::cmp::Ordering::Greater => ((r + k) % c) as i64,
            });
        }
    }
    ArrayD::from_shape_vec(IxDyn(&[n, c]), t).unwrap()
}

struct LongMl {
    x: ArrayD<f32>,
    t: ArrayD<i64>,
    g: ArrayD<f32>,
}

fn long_ml() -> LongMl {
    let (n, c) = (400, 256);
    LongMl {
        x: ArrayD::from_shape_vec(IxDyn(&[n, c]), genx(n * c, 2)).unwrap(),
        t: long_multilabel_target(n, c),
        g: ArrayD::from_shape_vec(
            IxDyn(&[n]),
            (0..n).map(|r| ((r % 9) as f32 - 4.0) / 3.0).collect(),
        )
        .unwrap(),
    }
}

#[test]
fn multilabel_long_f32_bit_exact() {
    let d = long_ml();
    let opts = |r: Reduction| MultilabelMarginOptions::default().reduction(r);
    // torch 2.13: F.multilabel_margin_loss(XL, TLL) = 3.1513760089874268
    let got = multilabel_margin_loss(d.x.view(), d.t.view(), &opts(Reduction::Mean)).unwrap();
    assert_bits(&got, &[], &[3.151_376]);
    // torch 2.13: F.multilabel_margin_loss(XL, TLL, reduction='sum') = 1260.5504150390625
    let got = multilabel_margin_loss(d.x.view(), d.t.view(), &opts(Reduction::Sum)).unwrap();
    assert_bits(&got, &[], &[1260.5504]);
    // torch 2.13: bits_hash(F.multilabel_margin_loss(XL, TLL, reduction='none')) = 0xae8306326c9675cd,
    // [:3] = [0.0, 0.5353124737739563, 2.731656312942505]
    let got = multilabel_margin_loss(d.x.view(), d.t.view(), &opts(Reduction::None)).unwrap();
    assert_bits(
        &got.slice(ndarray::s![..3]).to_owned().into_dyn(),
        &[3],
        &[0.0, 0.535_312_5, 2.731_656_3],
    );
    assert_eq!(bits_hash(&got), 0xae83_0632_6c96_75cd);
    // torch 2.13: bits_hash(grad(lambda x: F.multilabel_margin_loss(x, TLL), XL, 1.0)) = 0xea96abb14d849c9f
    let got = multilabel_margin_loss_backward(
        arr0(1.0f32).view(),
        d.x.view(),
        d.t.view(),
        &opts(Reduction::Mean),
    )
    .unwrap();
    assert_eq!(bits_hash(&got), 0xea96_abb1_4d84_9c9f);
    // torch 2.13: bits_hash(grad(lambda x: F.multilabel_margin_loss(x, TLL, reduction='none'), XL, GL)) = 0x7e36ba6bee40ae5a
    let got =
        multilabel_margin_loss_backward(d.g.view(), d.x.view(), d.t.view(), &opts(Reduction::None))
            .unwrap();
    assert_eq!(bits_hash(&got), 0x7e36_ba6b_ee40_ae5a);
    // torch 2.13: F.multilabel_margin_loss(XL.double(), TLL) = 3.151376012521796
    let xd = d.x.mapv(f64::from);
    let got = multilabel_margin_loss(xd.view(), d.t.view(), &opts(Reduction::Mean)).unwrap();
    assert_bits64(&got, &[], &[3.151376012521796]);
}

// ---------------------------------------------------------------------------------
// Both
// ---------------------------------------------------------------------------------

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (m, l) = (long_mm(), long_ml());
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut all: Vec<u32> = Vec::new();
            let mut push = |r: Result<ArrayD<f32>, LossError>| {
                all.extend(r.unwrap().iter().map(|v| v.to_bits()));
            };
            for reduction in REDUCTIONS {
                let g = match reduction {
                    Reduction::None => (m.g.clone(), l.g.clone()),
                    _ => (arr0(0.5f32).into_dyn(), arr0(0.5f32).into_dyn()),
                };
                let mo = MultiMarginOptions::default()
                    .p(2)
                    .weight(m.w.view())
                    .reduction(reduction);
                push(multi_margin_loss(m.x.view(), m.t.view(), &mo));
                push(multi_margin_loss_backward(
                    g.0.view(),
                    m.x.view(),
                    m.t.view(),
                    &mo,
                ));
                let lo = MultilabelMarginOptions::default().reduction(reduction);
                push(multilabel_margin_loss(l.x.view(), l.t.view(), &lo));
                push(multilabel_margin_loss_backward(
                    g.1.view(),
                    l.x.view(),
                    l.t.view(),
                    &lo,
                ));
            }
            all
        })
    };
    assert_eq!(run(1), run(2));
}

#[cfg(feature = "unstable-public-internals")]
#[test]
fn internals_shape_checks() {
    use crate::internals::{check_multi_margin_loss_shapes, check_multilabel_margin_loss_shapes};
    assert_eq!(
        check_multi_margin_loss_shapes(&[4, 3], &[4], "Long", None, 1).unwrap(),
        vec![4]
    );
    assert_eq!(
        check_multi_margin_loss_shapes(&[3], &[], "Long", None, 2).unwrap(),
        Vec::<usize>::new()
    );
    assert_eq!(
        check_multilabel_margin_loss_shapes(&[3], &[3], "Long").unwrap(),
        Vec::<usize>::new()
    );
    // torch 2.13: F.multi_margin_loss(X, T.float()) -> RuntimeError: expected scalar type Long but found Float,
    // after the shape checks (F.multi_margin_loss(X, T.float(), weight=ones(4)) -> the weight's error),
    // and not at all for an empty input (F.multi_margin_loss(zeros(0, 3), zeros(0)) returns)
    let r = ErrorKind::RuntimeError;
    let msg = "expected scalar type Long but found Float";
    assert_err(
        check_multi_margin_loss_shapes(&[4, 3], &[4], "Float", None, 1),
        r,
        msg,
    );
    let msg = "inconsistent weight size, expected 3 but got [4]";
    assert_err(
        check_multi_margin_loss_shapes(&[4, 3], &[4], "Float", Some(&[4]), 1),
        r,
        msg,
    );
    assert!(check_multi_margin_loss_shapes(&[0, 3], &[0], "Float", None, 1).is_ok());
    // torch 2.13: F.multilabel_margin_loss(randn(2, 3), zeros(2, 3)) -> RuntimeError: expected scalar type Long but found Float
    // torch 2.13: F.multilabel_margin_loss(randn(2, 3), zeros(2, 2)) -> RuntimeError: inconsistent target size: [2, 2] for input of size: [2, 3]
    let msg = "expected scalar type Long but found Int";
    assert_err(
        check_multilabel_margin_loss_shapes(&[2, 3], &[2, 3], "Int"),
        r,
        msg,
    );
    let msg = "inconsistent target size: [2, 2] for input of size: [2, 3]";
    assert_err(
        check_multilabel_margin_loss_shapes(&[2, 3], &[2, 2], "Float"),
        r,
        msg,
    );
    assert!(check_multilabel_margin_loss_shapes(&[0, 3], &[0, 3], "Float").is_ok());
}

#[test]
fn multi_margin_margin_must_fit_the_input_type() {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 3]), vec![0.1f32, 0.2, 0.3]).unwrap();
    let t = ai(&[1], &[0]);
    let max = f64::from(f32::MAX);
    let above = f64::from_bits(max.to_bits() + 1);
    let opts = |m: f64| MultiMarginOptions::<f32>::default().margin(m);
    let msg = "value cannot be converted to type float without overflow";
    let r = ErrorKind::RuntimeError;
    // torch 2.13: F.multi_margin_loss(tensor([[0.1, 0.2, 0.3]]), tensor([0]), margin=m) with
    // m = nextafter(f32 max, inf), -nextafter(f32 max, inf), 1e300 -> RuntimeError: <msg>
    for m in [above, -above, 1e300] {
        assert_err(multi_margin_loss(x.view(), t.view(), &opts(m)), r, msg);
        let res = multi_margin_loss_backward(arr0(1.0f32).view(), x.view(), t.view(), &opts(m));
        assert_err(res, r, msg);
    }
    // torch 2.13: margin = f32 max -> inf; -f32 max -> 0.0; inf -> inf; -inf -> 0.0; nan -> 0.0;
    // 1e-50 -> 0.10000000149011612 (f32 0.1)
    for (m, loss) in [
        (max, f32::INFINITY),
        (-max, 0.0),
        (f64::INFINITY, f32::INFINITY),
        (f64::NEG_INFINITY, 0.0),
        (f64::NAN, 0.0),
        (1e-50, 0.1),
    ] {
        let got = multi_margin_loss(x.view(), t.view(), &opts(m)).unwrap();
        assert_bits(&got, &[], &[loss]);
    }
    // The check comes after the shape checks, before the targets' range, and not at all
    // for an empty input; f64 takes any margin.
    // torch 2.13: margin=1e300 with weight=ones(4) -> RuntimeError: inconsistent weight size, expected 3 but got [4];
    // with target tensor([5]) -> <msg>; zeros(0, 3), reduction='none' -> []; X.double() -> 6.666666666666667e+299
    let w4 = ArrayD::<f32>::zeros(IxDyn(&[4]));
    let res = multi_margin_loss(x.view(), t.view(), &opts(1e300).weight(w4.view()));
    assert_err(res, r, "inconsistent weight size, expected 3 but got [4]");
    assert_err(
        multi_margin_loss(x.view(), ai(&[1], &[5]).view(), &opts(1e300)),
        r,
        msg,
    );
    let e = ArrayD::<f32>::zeros(IxDyn(&[0, 3]));
    let none = opts(1e300).reduction(Reduction::None);
    assert_eq!(
        multi_margin_loss(e.view(), zeros_i64(&[0]).view(), &none)
            .unwrap()
            .shape(),
        &[0]
    );
    let xd = x.mapv(f64::from);
    let got = multi_margin_loss(
        xd.view(),
        t.view(),
        &MultiMarginOptions::default().margin(1e300),
    )
    .unwrap();
    assert_bits64(&got, &[], &[6.666666666666667e+299]);
}
