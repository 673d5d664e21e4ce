// smooth_l1_loss and huber_loss, forward and backward: every reduction, beta and
// delta inside and at the edges of their ranges, huber's weight, broadcasting, errors
// and their order, empty and 0-D tensors, NaN and infinities, float32 bits, a long
// input and thread-count independence. Besides the preamble's tensors and those of
// `tests/pointwise.rs` (E, G44, XL, TL, WL), some tests use (in the oracle, after
// the preamble):
//
//     S = torch.tensor([-3.0, 0.0, 0.3, 2.0], dtype=D); S0 = torch.zeros(4, dtype=D)
//     NA = torch.tensor([float('nan'), float('inf'), -float('inf'), 1.0, float('inf')], dtype=D)
//     NB = torch.tensor([0.0, 1.0, 0.5, float('nan'), float('inf')], dtype=D)
//     IDX = [0, 1, 7, 12345, 54321, 99998, 99999]; pick = lambda t, idx: t[idx]

use ndarray::{Array1, ArrayD, ArrayViewD, Axis, IxDyn, arr0, s};

use super::*;

fn sl1(reduction: Reduction) -> SmoothL1Options {
    SmoothL1Options::default().reduction(reduction)
}

fn hub<'a>(reduction: Reduction) -> HuberOptions<'a, f64> {
    HuberOptions::default().reduction(reduction)
}

fn hub_w<'a>(reduction: Reduction, weight: &'a ArrayD<f64>) -> HuberOptions<'a, f64> {
    hub(reduction).weight(weight.view())
}

/// The preamble's `S` and `S0`.
fn s_and_zeros() -> (ArrayD<f64>, ArrayD<f64>) {
    (v64(&[-3.0, 0.0, 0.3, 2.0]), zeros64(&[4]))
}

/// The preamble's `NA` and `NB`.
fn na_nb() -> (ArrayD<f64>, ArrayD<f64>) {
    let inf = f64::INFINITY;
    (
        v64(&[f64::NAN, inf, -inf, 1.0, inf]),
        v64(&[0.0, 1.0, 0.5, f64::NAN, inf]),
    )
}

/// Bit for bit, signs of zero included (any NaN matches any NaN).
#[track_caller]
fn assert_bits64(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f64> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let ok = (a.is_nan() && e.is_nan()) || a.to_bits() == e.to_bits();
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}");
    }
}

type SmoothBackward = fn(
    ArrayViewD<'_, f64>,
    ArrayViewD<'_, f64>,
    ArrayViewD<'_, f64>,
    &SmoothL1Options,
) -> Result<ArrayD<f64>, LossError>;

type HuberBackward = fn(
    ArrayViewD<'_, f64>,
    ArrayViewD<'_, f64>,
    ArrayViewD<'_, f64>,
    &HuberOptions<'_, f64>,
) -> Result<ArrayD<f64>, LossError>;

const SMOOTH_BACKWARDS: [SmoothBackward; 2] =
    [smooth_l1_loss_backward, smooth_l1_loss_target_backward];

const HUBER_BACKWARDS: [HuberBackward; 3] = [
    huber_loss_backward,
    huber_loss_target_backward,
    huber_loss_weight_backward,
];

// torch 2.13.0:
//   F.smooth_l1_loss(X, Z, reduction='none')
//     -> shape [4, 3] [0.009799999999999986, 1.2899999999999998, 2.5100000000000002, 1.3699999999999999, 1.62, 0.06480000000000001, 0.061250000000000034, 0.01805, 1.2299999999999998, 0.125, 1.28, 0.3697999999999999]
//   F.smooth_l1_loss(X, Z, reduction='mean') -> 0.8290583333333333
//   F.smooth_l1_loss(X, Z, reduction='sum') -> 9.9487
#[test]
fn smooth_l1_none_mean_and_sum_with_the_default_beta() {
    let d = data();
    let none = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.009799999999999986,
            1.2899999999999998,
            2.5100000000000002,
            1.3699999999999999,
            1.62,
            0.06480000000000001,
            0.061250000000000034,
            0.01805,
            1.2299999999999998,
            0.125,
            1.28,
            0.3697999999999999,
        ],
    );
    let mean = smooth_l1_loss(d.x.view(), d.z.view(), &SmoothL1Options::default()).unwrap();
    assert_close(&mean, &[], &[0.8290583333333333]);
    let sum = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[9.9487]);
}

// torch 2.13.0:
//   F.smooth_l1_loss(X, Z, reduction='none', beta=0.5)
//     -> shape [4, 3] [0.01959999999999997, 1.5399999999999998, 2.7600000000000002, 1.6199999999999999, 1.87, 0.12960000000000002, 0.12250000000000007, 0.0361, 1.4799999999999998, 0.25, 1.53, 0.6099999999999999]
//   F.smooth_l1_loss(X, Z, reduction='mean', beta=2.5) -> 0.45756833333333335
//   F.smooth_l1_loss(X, Z, reduction='sum', beta=0.3) -> 12.962833333333332
#[test]
fn smooth_l1_beta_moves_where_the_loss_turns_linear() {
    let d = data();
    let none = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::None).beta(0.5)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.01959999999999997,
            1.5399999999999998,
            2.7600000000000002,
            1.6199999999999999,
            1.87,
            0.12960000000000002,
            0.12250000000000007,
            0.0361,
            1.4799999999999998,
            0.25,
            1.53,
            0.6099999999999999,
        ],
    );
    // The builders compose in either order.
    let options = SmoothL1Options::default()
        .beta(2.5)
        .reduction(Reduction::Mean);
    let mean = smooth_l1_loss(d.x.view(), d.z.view(), &options).unwrap();
    assert_close(&mean, &[], &[0.45756833333333335]);
    let sum = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::Sum).beta(0.3)).unwrap();
    assert_close(&sum, &[], &[12.962833333333332]);
}

// PyTorch's Python sends beta == 0 (-0.0 too) to l1_loss: the same values, and l1's
// gradient (sgn, 0 where input == target, the target's the input's negated), where
// beta > 0 gives aten's kernel (the target's zero with the input's sign).
// torch 2.13.0:
//   F.smooth_l1_loss(X, Z, reduction='mean', beta=0.0) -> 1.2249999999999999
//   F.l1_loss(X, Z, reduction='mean') -> 1.2249999999999999
//   F.smooth_l1_loss(X, Z, beta=-0.0) -> 1.2249999999999999
//   torch.autograd.grad(F.smooth_l1_loss(S.clone().requires_grad_(), S0, reduction='none', beta=0.0), [], allow_unused=True) if False else grad(lambda x: F.smooth_l1_loss(x, S0, reduction='none', beta=0.0), S, -1.0)
//     -> [1.0, -0.0, -1.0, -1.0]
//   grad(lambda t: F.smooth_l1_loss(S, t, reduction='none', beta=0.0), S0, -1.0)
//     -> [-1.0, 0.0, 1.0, 1.0]
//   grad(lambda x: F.smooth_l1_loss(x, S0, reduction='none'), S, -1.0) -> [1.0, -0.0, -0.3, -1.0]
//   grad(lambda t: F.smooth_l1_loss(S, t, reduction='none'), S0, -1.0) -> [-1.0, -0.0, 0.3, 1.0]
#[test]
fn smooth_l1_with_beta_zero_is_l1_loss_values_and_gradients() {
    let d = data();
    for beta in [0.0, -0.0] {
        for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            let options = sl1(reduction).beta(beta);
            let smooth = smooth_l1_loss(d.x.view(), d.z.view(), &options).unwrap();
            let l1 = l1_loss(d.x.view(), d.z.view(), &opts(reduction)).unwrap();
            assert_bits64(&smooth, l1.shape(), l1.as_slice().unwrap());
            let g = match reduction {
                Reduction::None => d.gz.clone(),
                _ => arr0(0.7).into_dyn(),
            };
            let gx = smooth_l1_loss_backward(g.view(), d.x.view(), d.z.view(), &options).unwrap();
            let l1_gx =
                l1_loss_backward(g.view(), d.x.view(), d.z.view(), &opts(reduction)).unwrap();
            assert_bits64(&gx, &[4, 3], l1_gx.as_slice().unwrap());
        }
    }
    let mean = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::Mean).beta(0.0)).unwrap();
    assert_close(&mean, &[], &[1.2249999999999999]);
    let (s, s0) = s_and_zeros();
    let g = arr0(-1.0);
    let beta0 = sl1(Reduction::None).beta(0.0);
    let g4 = v64(&[-1.0; 4]);
    assert_bits64(
        &smooth_l1_loss_backward(g4.view(), s.view(), s0.view(), &beta0).unwrap(),
        &[4],
        &[1.0, -0.0, -1.0, -1.0],
    );
    assert_bits64(
        &smooth_l1_loss_target_backward(g4.view(), s.view(), s0.view(), &beta0).unwrap(),
        &[4],
        &[-1.0, 0.0, 1.0, 1.0],
    );
    let beta1 = sl1(Reduction::None);
    assert_bits64(
        &smooth_l1_loss_backward(g4.view(), s.view(), s0.view(), &beta1).unwrap(),
        &[4],
        &[1.0, -0.0, -0.3, -1.0],
    );
    assert_bits64(
        &smooth_l1_loss_target_backward(g4.view(), s.view(), s0.view(), &beta1).unwrap(),
        &[4],
        &[-1.0, -0.0, 0.3, 1.0],
    );
    // `sum` of the same: the scalar grad_output reaches every element alike.
    let sum = sl1(Reduction::Sum);
    assert_bits64(
        &smooth_l1_loss_target_backward(g.view(), s.view(), s0.view(), &sum).unwrap(),
        &[4],
        &[-1.0, -0.0, 0.3, 1.0],
    );
}

// aten checks beta >= 0, which a NaN fails too; Python's broadcast_tensors comes
// first. The backwards raise the forward's errors, then autograd's.
// torch 2.13.0:
//   F.smooth_l1_loss(X, Z, beta=-0.5)
//     -> RuntimeError: smooth_l1_loss does not support negative values for beta.
//   F.smooth_l1_loss(X, Z, beta=float('nan'))
//     -> RuntimeError: smooth_l1_loss does not support negative values for beta.
//   F.smooth_l1_loss(X, R, beta=-1.0)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1
//   torch.autograd.grad(F.smooth_l1_loss(X.clone().requires_grad_(), Z, reduction='none'), X, torch.zeros(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
#[test]
fn smooth_l1_negative_or_nan_beta_is_atens_error_after_the_broadcast_error() {
    let d = data();
    let message = "smooth_l1_loss does not support negative values for beta.";
    assert_eq!(
        message,
        "smooth_l1_loss does not support negative values for beta."
    );
    for beta in [-0.5, f64::NAN, -1e-300, f64::NEG_INFINITY] {
        let options = sl1(Reduction::Mean).beta(beta);
        let err = assert_err(
            smooth_l1_loss(d.x.view(), d.z.view(), &options),
            ErrorKind::RuntimeError,
            message,
        );
        assert!(err.hint().contains(">= 0"), "{err}");
        for backward in SMOOTH_BACKWARDS {
            let result = backward(
                arr0(1.0).into_dyn().view(),
                d.x.view(),
                d.z.view(),
                &options,
            );
            assert_err(result, ErrorKind::RuntimeError, message);
        }
    }
    let options = sl1(Reduction::Mean).beta(-1.0);
    assert_err(
        smooth_l1_loss(d.x.view(), d.r.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
    for backward in SMOOTH_BACKWARDS {
        let result = backward(
            arr0(1.0).into_dyn().view(),
            d.x.view(),
            d.r.view(),
            &options,
        );
        assert_err(
            result,
            ErrorKind::RuntimeError,
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        );
        // A good beta, a grad_output of the wrong shape.
        let result = backward(
            zeros64(&[3]).view(),
            d.x.view(),
            d.z.view(),
            &sl1(Reduction::None),
        );
        assert_err(
            result,
            ErrorKind::RuntimeError,
            "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
        );
    }
    // beta = 0 takes the l1 path, whose grad_output check is the same.
    let result = smooth_l1_loss_backward(
        zeros64(&[3]).view(),
        d.x.view(),
        d.z.view(),
        &sl1(Reduction::None).beta(0.0),
    );
    assert_err(
        result,
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
}

// An infinite beta keeps every finite difference in the squared part, 0.5 z^2 / inf
// = 0, and an infinite one gives inf - inf; an infinite delta makes huber the plain
// 0.5 z^2, and delta * (inf - inf) at an infinite difference.
// torch 2.13.0:
//   F.smooth_l1_loss(X, Z, reduction='none', beta=float('inf'))
//     -> shape [4, 3] [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
//   F.smooth_l1_loss(NA, NB, reduction='none', beta=float('inf')) -> [nan, nan, nan, nan, nan]
//   F.huber_loss(X, Z, reduction='none', delta=float('inf'))
//     -> shape [4, 3] [0.009799999999999986, 1.6020499999999998, 4.530050000000001, 1.7484499999999998, 2.2472000000000003, 0.06480000000000001, 0.061250000000000034, 0.01805, 1.4964499999999996, 0.125, 1.5842, 0.3697999999999999]
//   F.huber_loss(NA, NB, reduction='none', delta=float('inf')) -> [nan, nan, nan, nan, nan]
#[test]
fn an_infinite_beta_or_delta_is_accepted_and_follows_the_formula() {
    let d = data();
    let inf = f64::INFINITY;
    let none = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::None).beta(inf)).unwrap();
    assert_bits64(
        &none,
        &[4, 3],
        &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    let (na, nb) = na_nb();
    let none = smooth_l1_loss(na.view(), nb.view(), &sl1(Reduction::None).beta(inf)).unwrap();
    assert_close(
        &none,
        &[5],
        &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
    );
    let none = huber_loss(d.x.view(), d.z.view(), &hub(Reduction::None).delta(inf)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.009799999999999986,
            1.6020499999999998,
            4.530050000000001,
            1.7484499999999998,
            2.2472000000000003,
            0.06480000000000001,
            0.061250000000000034,
            0.01805,
            1.4964499999999996,
            0.125,
            1.5842,
            0.3697999999999999,
        ],
    );
    let none = huber_loss(na.view(), nb.view(), &hub(Reduction::None).delta(inf)).unwrap();
    assert_close(
        &none,
        &[5],
        &[f64::NAN, f64::NAN, f64::NAN, f64::NAN, f64::NAN],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.smooth_l1_loss(x, Z, reduction='none'), X, GZ)
//     -> shape [4, 3] [-0.12319999999999992, 2.96, -1.93, -1.29, 0.69, 0.36360000000000003, -1.0010000000000001, 0.0437, -1.99, 1.15, -2.65, 1.3845999999999998]
//   grad(lambda t: F.smooth_l1_loss(X, t, reduction='none'), Z, GZ)
//     -> shape [4, 3] [0.12319999999999992, -2.96, 1.93, 1.29, -0.69, -0.36360000000000003, 1.0010000000000001, -0.0437, 1.99, -1.15, 2.65, -1.3845999999999998]
//   grad(lambda x: F.smooth_l1_loss(x, Z, reduction='mean'), X, 0.7)
//     -> shape [4, 3] [-0.00816666666666666, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.021, 0.02041666666666667, -0.01108333333333333, 0.05833333333333333, -0.029166666666666664, 0.05833333333333333, 0.05016666666666666]
//   grad(lambda t: F.smooth_l1_loss(X, t, reduction='mean'), Z, 0.7)
//     -> shape [4, 3] [0.00816666666666666, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.021, -0.02041666666666667, 0.01108333333333333, -0.05833333333333333, 0.029166666666666664, -0.05833333333333333, -0.05016666666666666]
//   grad(lambda x: F.smooth_l1_loss(x, Z, reduction='sum'), X, 0.7)
//     -> shape [4, 3] [-0.09799999999999992, 0.7, -0.7, 0.7, -0.7, 0.252, 0.24500000000000005, -0.13299999999999998, 0.7, -0.35, 0.7, 0.6019999999999999]
//   grad(lambda x: F.smooth_l1_loss(x, Z, reduction='mean', beta=0.3), X, 0.7)
//     -> shape [4, 3] [-0.027222222222222203, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, 0.05833333333333333, -0.036944444444444446, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, 0.05833333333333333]
//   grad(lambda t: F.smooth_l1_loss(X, t, reduction='sum', beta=2.5), Z, 0.7)
//     -> shape [4, 3] [0.03919999999999997, -0.5012, 0.7, -0.5236, 0.5936, -0.1008, -0.09800000000000002, 0.0532, -0.48439999999999994, 0.13999999999999999, -0.4984, -0.24079999999999996]
#[test]
#[allow(clippy::approx_constant)] // -0.5236 is the oracle's gradient, not -pi/6
fn smooth_l1_gradients_for_each_reduction_and_beta() {
    let d = data();
    let g7 = arr0(0.7);
    let none = sl1(Reduction::None);
    assert_close(
        &smooth_l1_loss_backward(d.gz.view(), d.x.view(), d.z.view(), &none).unwrap(),
        &[4, 3],
        &[
            -0.12319999999999992,
            2.96,
            -1.93,
            -1.29,
            0.69,
            0.36360000000000003,
            -1.0010000000000001,
            0.0437,
            -1.99,
            1.15,
            -2.65,
            1.3845999999999998,
        ],
    );
    assert_close(
        &smooth_l1_loss_target_backward(d.gz.view(), d.x.view(), d.z.view(), &none).unwrap(),
        &[4, 3],
        &[
            0.12319999999999992,
            -2.96,
            1.93,
            1.29,
            -0.69,
            -0.36360000000000003,
            1.0010000000000001,
            -0.0437,
            1.99,
            -1.15,
            2.65,
            -1.3845999999999998,
        ],
    );
    let mean = sl1(Reduction::Mean);
    assert_close(
        &smooth_l1_loss_backward(g7.view(), d.x.view(), d.z.view(), &mean).unwrap(),
        &[4, 3],
        &[
            -0.00816666666666666,
            0.05833333333333333,
            -0.05833333333333333,
            0.05833333333333333,
            -0.05833333333333333,
            0.021,
            0.02041666666666667,
            -0.01108333333333333,
            0.05833333333333333,
            -0.029166666666666664,
            0.05833333333333333,
            0.05016666666666666,
        ],
    );
    assert_close(
        &smooth_l1_loss_target_backward(g7.view(), d.x.view(), d.z.view(), &mean).unwrap(),
        &[4, 3],
        &[
            0.00816666666666666,
            -0.05833333333333333,
            0.05833333333333333,
            -0.05833333333333333,
            0.05833333333333333,
            -0.021,
            -0.02041666666666667,
            0.01108333333333333,
            -0.05833333333333333,
            0.029166666666666664,
            -0.05833333333333333,
            -0.05016666666666666,
        ],
    );
    assert_close(
        &smooth_l1_loss_backward(g7.view(), d.x.view(), d.z.view(), &sl1(Reduction::Sum)).unwrap(),
        &[4, 3],
        &[
            -0.09799999999999992,
            0.7,
            -0.7,
            0.7,
            -0.7,
            0.252,
            0.24500000000000005,
            -0.13299999999999998,
            0.7,
            -0.35,
            0.7,
            0.6019999999999999,
        ],
    );
    assert_close(
        &smooth_l1_loss_backward(g7.view(), d.x.view(), d.z.view(), &mean.beta(0.3)).unwrap(),
        &[4, 3],
        &[
            -0.027222222222222203,
            0.05833333333333333,
            -0.05833333333333333,
            0.05833333333333333,
            -0.05833333333333333,
            0.05833333333333333,
            0.05833333333333333,
            -0.036944444444444446,
            0.05833333333333333,
            -0.05833333333333333,
            0.05833333333333333,
            0.05833333333333333,
        ],
    );
    let sum = sl1(Reduction::Sum).beta(2.5);
    assert_close(
        &smooth_l1_loss_target_backward(g7.view(), d.x.view(), d.z.view(), &sum).unwrap(),
        &[4, 3],
        &[
            0.03919999999999997,
            -0.5012,
            0.7,
            -0.5236,
            0.5936,
            -0.1008,
            -0.09800000000000002,
            0.0532,
            -0.48439999999999994,
            0.13999999999999999,
            -0.4984,
            -0.24079999999999996,
        ],
    );
}

// torch 2.13.0:
//   F.smooth_l1_loss(X[:, :1], R, reduction='none')
//     -> shape [4, 4] [1.0, 0.004999999999999987, 3.0999999999999996, 0.75, 0.5, 0.08000000000000006, 2.5999999999999996, 0.28125, 2.0999999999999996, 0.6999999999999997, 4.199999999999999, 1.8499999999999996, 0.7, 0.020000000000000014, 2.8, 0.45125000000000004]
//   grad(lambda x: F.smooth_l1_loss(x, R, reduction='none'), X[:, :1], G44)
//     -> shape [4, 1] [2.4625, 0.69375, -0.75, -1.95625]
//   grad(lambda t: F.smooth_l1_loss(X[:, :1], t, reduction='mean'), R, 0.7)
//     -> [0.175, 0.021874999999999985, 0.175, 0.161875]
//   F.huber_loss(R, X[:, :1], reduction='mean', delta=0.5) -> 0.764375
//   grad(lambda x: F.huber_loss(x, X[:, :1], reduction='mean', delta=0.5), R, 0.7)
//     -> [0.0875, -1.5612511283791264e-17, 0.0875, 0.0875]
//   grad(lambda t: F.huber_loss(R, t, reduction='none', delta=0.5), X[:, :1], G44)
//     -> shape [4, 1] [1.275, 0.2875, -0.375, -0.9375]
#[test]
fn broadcast_losses_and_gradients_summed_back_to_each_operand() {
    let d = data();
    let column = first_column(&d.x);
    let none = smooth_l1_loss(column.view(), d.r.view(), &sl1(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 4],
        &[
            1.0,
            0.004999999999999987,
            3.0999999999999996,
            0.75,
            0.5,
            0.08000000000000006,
            2.5999999999999996,
            0.28125,
            2.0999999999999996,
            0.6999999999999997,
            4.199999999999999,
            1.8499999999999996,
            0.7,
            0.020000000000000014,
            2.8,
            0.45125000000000004,
        ],
    );
    let gx = smooth_l1_loss_backward(
        g44().view(),
        column.view(),
        d.r.view(),
        &sl1(Reduction::None),
    );
    assert_close(&gx.unwrap(), &[4, 1], &[2.4625, 0.69375, -0.75, -1.95625]);
    let gt = smooth_l1_loss_target_backward(
        arr0(0.7).view(),
        column.view(),
        d.r.view(),
        &sl1(Reduction::Mean),
    );
    assert_close(
        &gt.unwrap(),
        &[4],
        &[0.175, 0.021874999999999985, 0.175, 0.161875],
    );
    let options = hub(Reduction::Mean).delta(0.5);
    let mean = huber_loss(d.r.view(), column.view(), &options).unwrap();
    assert_close(&mean, &[], &[0.764375]);
    let gx = huber_loss_backward(arr0(0.7).view(), d.r.view(), column.view(), &options);
    assert_close(
        &gx.unwrap(),
        &[4],
        &[0.0875, -1.5612511283791264e-17, 0.0875, 0.0875],
    );
    let options = options.reduction(Reduction::None);
    let gt = huber_loss_target_backward(g44().view(), d.r.view(), column.view(), &options);
    assert_close(&gt.unwrap(), &[4, 1], &[1.275, 0.2875, -0.375, -0.9375]);
}

// With delta = 1, huber_loss and smooth_l1_loss (beta = 1) are the same function.
// torch 2.13.0:
//   F.huber_loss(X, Z, reduction='none')
//     -> shape [4, 3] [0.009799999999999986, 1.2899999999999998, 2.5100000000000002, 1.3699999999999999, 1.62, 0.06480000000000001, 0.061250000000000034, 0.01805, 1.2299999999999998, 0.125, 1.28, 0.3697999999999999]
//   F.huber_loss(X, Z, reduction='mean') -> 0.8290583333333333
//   F.huber_loss(X, Z, reduction='sum') -> 9.9487
//   F.huber_loss(X, Z, reduction='none', delta=0.5)
//     -> shape [4, 3] [0.009799999999999986, 0.7699999999999999, 1.3800000000000001, 0.8099999999999999, 0.935, 0.06480000000000001, 0.061250000000000034, 0.01805, 0.7399999999999999, 0.125, 0.765, 0.30499999999999994]
//   F.huber_loss(X, Z, reduction='mean', delta=2.0) -> 1.1116541666666666
//   F.huber_loss(X, Z, reduction='sum', delta=0.3) -> 3.8888499999999997
#[test]
fn huber_none_mean_and_sum_for_several_deltas() {
    let d = data();
    let none = huber_loss(d.x.view(), d.z.view(), &hub(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.009799999999999986,
            1.2899999999999998,
            2.5100000000000002,
            1.3699999999999999,
            1.62,
            0.06480000000000001,
            0.061250000000000034,
            0.01805,
            1.2299999999999998,
            0.125,
            1.28,
            0.3697999999999999,
        ],
    );
    let smooth = smooth_l1_loss(d.x.view(), d.z.view(), &sl1(Reduction::None)).unwrap();
    assert_bits64(&none, &[4, 3], smooth.as_slice().unwrap());
    let mean = huber_loss(d.x.view(), d.z.view(), &HuberOptions::default()).unwrap();
    assert_close(&mean, &[], &[0.8290583333333333]);
    let sum = huber_loss(d.x.view(), d.z.view(), &hub(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[9.9487]);
    let none = huber_loss(d.x.view(), d.z.view(), &hub(Reduction::None).delta(0.5)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.009799999999999986,
            0.7699999999999999,
            1.3800000000000001,
            0.8099999999999999,
            0.935,
            0.06480000000000001,
            0.061250000000000034,
            0.01805,
            0.7399999999999999,
            0.125,
            0.765,
            0.30499999999999994,
        ],
    );
    // The builders compose in any order.
    let options = HuberOptions::default()
        .delta(2.0)
        .reduction(Reduction::Mean);
    let mean = huber_loss(d.x.view(), d.z.view(), &options).unwrap();
    assert_close(&mean, &[], &[1.1116541666666666]);
    let sum = huber_loss(d.x.view(), d.z.view(), &hub(Reduction::Sum).delta(0.3)).unwrap();
    assert_close(&sum, &[], &[3.8888499999999997]);
}

// aten checks delta > 0 (a NaN fails it); Python's broadcast_tensors and weight check
// come first.
// torch 2.13.0:
//   F.huber_loss(X, Z, delta=0.0)
//     -> RuntimeError: huber_loss does not support non-positive values for delta.
//   F.huber_loss(X, Z, delta=-1.0)
//     -> RuntimeError: huber_loss does not support non-positive values for delta.
//   F.huber_loss(X, Z, delta=float('nan'))
//     -> RuntimeError: huber_loss does not support non-positive values for delta.
//   F.huber_loss(X, R, delta=-1.0, weight=W)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1
//   F.huber_loss(X, Z, delta=-1.0, weight=W)
//     -> ValueError: Weights and input must have the same size.
//   torch.autograd.grad(F.huber_loss(X.clone().requires_grad_(), Z, reduction='mean'), X, torch.zeros(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
#[test]
fn huber_non_positive_or_nan_delta_is_atens_error_after_the_shape_errors() {
    let d = data();
    let message = "huber_loss does not support non-positive values for delta.";
    assert_eq!(
        message,
        "huber_loss does not support non-positive values for delta."
    );
    assert_eq!(
        message,
        "huber_loss does not support non-positive values for delta."
    );
    for delta in [0.0, -0.0, -1.0, f64::NAN, f64::NEG_INFINITY] {
        let options = hub(Reduction::Mean).delta(delta);
        let err = assert_err(
            huber_loss(d.x.view(), d.z.view(), &options),
            ErrorKind::RuntimeError,
            message,
        );
        assert!(err.hint().contains("> 0"), "{err}");
        for backward in HUBER_BACKWARDS {
            let result = backward(
                arr0(1.0).into_dyn().view(),
                d.x.view(),
                d.z.view(),
                &options,
            );
            assert_err(result, ErrorKind::RuntimeError, message);
        }
    }
    let bad = hub_w(Reduction::Mean, &d.w).delta(-1.0);
    assert_err(
        huber_loss(d.x.view(), d.r.view(), &bad),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
    assert_err(
        huber_loss(d.x.view(), d.z.view(), &bad),
        ErrorKind::ValueError,
        "Weights and input must have the same size.",
    );
    for backward in HUBER_BACKWARDS {
        let one = arr0(1.0).into_dyn();
        assert_err(
            backward(one.view(), d.x.view(), d.r.view(), &bad),
            ErrorKind::RuntimeError,
            "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
        );
        assert_err(
            backward(one.view(), d.x.view(), d.z.view(), &bad),
            ErrorKind::ValueError,
            "Weights and input must have the same size.",
        );
        assert_err(
            backward(
                zeros64(&[1]).view(),
                d.x.view(),
                d.z.view(),
                &hub_w(Reduction::Mean, &d.q),
            ),
            ErrorKind::RuntimeError,
            "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
        );
    }
}

// Unlike mse_loss and l1_loss, PyTorch's weighted huber mean divides by the element
// count (`weighted_loss.mean()`), not by the weight sum; over a broadcast target, by
// the broadcast count.
// torch 2.13.0:
//   F.huber_loss(X, Z, reduction='none', weight=Q)
//     -> shape [4, 3] [0.004899999999999993, 1.1609999999999998, 0.753, 1.644, 0.0, 0.025920000000000006, 0.015312500000000008, 0.0045125, 0.30749999999999994, 0.25, -0.64, 0.03697999999999999]
//   F.huber_loss(X, Z, reduction='mean', weight=Q) -> 0.2969270833333333
//   F.huber_loss(X, Z, reduction='sum', weight=Q) -> 3.5631249999999994
//   (F.huber_loss(X, Z, reduction='sum', weight=Q) / Q.sum()) -> 0.6306415929203539
//   F.huber_loss(X[0], Z, reduction='none', weight=W)
//     -> shape [4, 3] [0.0019599999999999973, 2.1929999999999996, 1.6315000000000002, 0.174, 0.22984000000000002, 0.5135000000000001, 0.19, 0.09825999999999999, 0.15027999999999986, 0.06399999999999999, 3.0260000000000002, 0.04211999999999997]
//   F.huber_loss(X[0], Z, reduction='mean', weight=W) -> 0.6928716666666667
#[test]
fn weighted_huber_scales_each_loss_and_its_mean_divides_by_the_element_count() {
    let d = data();
    let none = huber_loss(d.x.view(), d.z.view(), &hub_w(Reduction::None, &d.q)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.004899999999999993,
            1.1609999999999998,
            0.753,
            1.644,
            0.0,
            0.025920000000000006,
            0.015312500000000008,
            0.0045125,
            0.30749999999999994,
            0.25,
            -0.64,
            0.03697999999999999,
        ],
    );
    let mean = huber_loss(d.x.view(), d.z.view(), &hub_w(Reduction::Mean, &d.q)).unwrap();
    assert_close(&mean, &[], &[0.2969270833333333]);
    let options = HuberOptions::default()
        .weight(d.q.view())
        .reduction(Reduction::Sum);
    let sum = huber_loss(d.x.view(), d.z.view(), &options).unwrap();
    assert_close(&sum, &[], &[3.5631249999999994]);
    assert!((mean[[]] - sum[[]] / 12.0).abs() < 1e-15);
    let over_weight_sum: &[f64] = &[0.6306415929203539];
    assert!((mean[[]] - over_weight_sum[0]).abs() > 0.3);
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let none = huber_loss(row.view(), d.z.view(), &hub_w(Reduction::None, &d.w)).unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            0.0019599999999999973,
            2.1929999999999996,
            1.6315000000000002,
            0.174,
            0.22984000000000002,
            0.5135000000000001,
            0.19,
            0.09825999999999999,
            0.15027999999999986,
            0.06399999999999999,
            3.0260000000000002,
            0.04211999999999997,
        ],
    );
    let mean = huber_loss(row.view(), d.z.view(), &hub_w(Reduction::Mean, &d.w)).unwrap();
    assert_close(&mean, &[], &[0.6928716666666667]);
}

// torch 2.13.0:
//   grad(lambda x: F.huber_loss(x, Z, reduction='none'), X, GZ)
//     -> shape [4, 3] [-0.12319999999999992, 2.96, -1.93, -1.29, 0.69, 0.36360000000000003, -1.0010000000000001, 0.0437, -1.99, 1.15, -2.65, 1.3845999999999998]
//   grad(lambda t: F.huber_loss(X, t, reduction='none'), Z, GZ)
//     -> shape [4, 3] [0.12319999999999992, -2.96, 1.93, 1.29, -0.69, -0.36360000000000003, 1.0010000000000001, -0.0437, 1.99, -1.15, 2.65, -1.3845999999999998]
//   grad(lambda x: F.huber_loss(x, Z, reduction='mean'), X, 0.7)
//     -> shape [4, 3] [-0.00816666666666666, 0.05833333333333333, -0.05833333333333333, 0.05833333333333333, -0.05833333333333333, 0.021, 0.02041666666666667, -0.01108333333333333, 0.05833333333333333, -0.029166666666666664, 0.05833333333333333, 0.05016666666666666]
//   grad(lambda t: F.huber_loss(X, t, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [0.09799999999999992, -0.7, 0.7, -0.7, 0.7, -0.252, -0.24500000000000005, 0.13299999999999998, -0.7, 0.35, -0.7, -0.6019999999999999]
//   grad(lambda x: F.huber_loss(x, Z, reduction='mean', delta=0.3), X, 0.7)
//     -> shape [4, 3] [-0.00816666666666666, 0.017499999999999998, -0.017499999999999998, 0.017499999999999998, -0.017499999999999998, 0.017499999999999998, 0.017499999999999998, -0.01108333333333333, 0.017499999999999998, -0.017499999999999998, 0.017499999999999998, 0.017499999999999998]
//   grad(lambda t: F.huber_loss(X, t, reduction='none', delta=2.0), Z, GZ)
//     -> shape [4, 3] [0.12319999999999992, -5.298399999999999, 3.86, 2.4123, -1.38, -0.36360000000000003, 1.0010000000000001, -0.0437, 3.4426999999999994, -1.15, 4.717, -1.3845999999999998]
#[test]
fn huber_gradients_for_each_reduction_and_delta() {
    let d = data();
    let g7 = arr0(0.7);
    let none = hub(Reduction::None);
    assert_close(
        &huber_loss_backward(d.gz.view(), d.x.view(), d.z.view(), &none).unwrap(),
        &[4, 3],
        &[
            -0.12319999999999992,
            2.96,
            -1.93,
            -1.29,
            0.69,
            0.36360000000000003,
            -1.0010000000000001,
            0.0437,
            -1.99,
            1.15,
            -2.65,
            1.3845999999999998,
        ],
    );
    assert_close(
        &huber_loss_target_backward(d.gz.view(), d.x.view(), d.z.view(), &none).unwrap(),
        &[4, 3],
        &[
            0.12319999999999992,
            -2.96,
            1.93,
            1.29,
            -0.69,
            -0.36360000000000003,
            1.0010000000000001,
            -0.0437,
            1.99,
            -1.15,
            2.65,
            -1.3845999999999998,
        ],
    );
    assert_close(
        &huber_loss_backward(g7.view(), d.x.view(), d.z.view(), &hub(Reduction::Mean)).unwrap(),
        &[4, 3],
        &[
            -0.00816666666666666,
            0.05833333333333333,
            -0.05833333333333333,
            0.05833333333333333,
            -0.05833333333333333,
            0.021,
            0.02041666666666667,
            -0.01108333333333333,
            0.05833333333333333,
            -0.029166666666666664,
            0.05833333333333333,
            0.05016666666666666,
        ],
    );
    assert_close(
        &huber_loss_target_backward(g7.view(), d.x.view(), d.z.view(), &hub(Reduction::Sum))
            .unwrap(),
        &[4, 3],
        &[
            0.09799999999999992,
            -0.7,
            0.7,
            -0.7,
            0.7,
            -0.252,
            -0.24500000000000005,
            0.13299999999999998,
            -0.7,
            0.35,
            -0.7,
            -0.6019999999999999,
        ],
    );
    let mean = hub(Reduction::Mean).delta(0.3);
    assert_close(
        &huber_loss_backward(g7.view(), d.x.view(), d.z.view(), &mean).unwrap(),
        &[4, 3],
        &[
            -0.00816666666666666,
            0.017499999999999998,
            -0.017499999999999998,
            0.017499999999999998,
            -0.017499999999999998,
            0.017499999999999998,
            0.017499999999999998,
            -0.01108333333333333,
            0.017499999999999998,
            -0.017499999999999998,
            0.017499999999999998,
            0.017499999999999998,
        ],
    );
    let none = none.delta(2.0);
    assert_close(
        &huber_loss_target_backward(d.gz.view(), d.x.view(), d.z.view(), &none).unwrap(),
        &[4, 3],
        &[
            0.12319999999999992,
            -5.298399999999999,
            3.86,
            2.4123,
            -1.38,
            -0.36360000000000003,
            1.0010000000000001,
            -0.0437,
            3.4426999999999994,
            -1.15,
            4.717,
            -1.3845999999999998,
        ],
    );
    // No weight, no weight gradient: the shape checks first, then the refusal.
    let err = assert_err(
        huber_loss_weight_backward(g7.view(), d.x.view(), d.z.view(), &mean),
        ErrorKind::RuntimeError,
        "huber_loss was given no weight, so it has no weight gradient",
    );
    assert!(err.hint().contains("weight"), "{err}");
    assert_err(
        huber_loss_weight_backward(g7.view(), d.x.view(), d.r.view(), &mean),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1",
    );
}

// torch 2.13.0:
//   grad(lambda x: F.huber_loss(x, Z, reduction='none', weight=Q), X, GZ)
//     -> shape [4, 3] [-0.06159999999999996, 2.664, -0.579, -1.548, 0.0, 0.14544, -0.25025000000000003, 0.010925, -0.4975, 2.3, 1.325, 0.13846]
//   grad(lambda t: F.huber_loss(X, t, reduction='none', weight=Q), Z, GZ)
//     -> shape [4, 3] [0.06159999999999996, -2.664, 0.579, 1.548, -0.0, -0.14544, 0.25025000000000003, -0.010925, 0.4975, -2.3, -1.325, -0.13846]
//   grad(lambda w: F.huber_loss(X, Z, reduction='none', weight=w), Q, GZ)
//     -> shape [4, 3] [0.008623999999999988, 3.8183999999999996, 4.8443000000000005, -1.7672999999999999, -1.1178, 0.065448, -0.17517500000000008, -0.0041515, -2.4476999999999993, -0.2875, -3.392, 0.5953779999999999]
//   grad(lambda x: F.huber_loss(x, Z, reduction='mean', weight=Q), X, 0.7)
//     -> shape [4, 3] [-0.00408333333333333, 0.0525, -0.017499999999999998, 0.06999999999999999, -0.0, 0.0084, 0.0051041666666666674, -0.002770833333333333, 0.014583333333333332, -0.05833333333333333, -0.029166666666666664, 0.005016666666666666]
//   grad(lambda t: F.huber_loss(X, t, reduction='mean', weight=Q), Z, 0.7)
//     -> shape [4, 3] [0.00408333333333333, -0.0525, 0.017499999999999998, -0.06999999999999999, 0.0, -0.0084, -0.0051041666666666674, 0.002770833333333333, -0.014583333333333332, 0.05833333333333333, 0.029166666666666664, -0.005016666666666666]
//   grad(lambda w: F.huber_loss(X, Z, reduction='mean', weight=w), Q, 0.7)
//     -> shape [4, 3] [0.0005716666666666657, 0.07524999999999998, 0.14641666666666667, 0.07991666666666665, 0.0945, 0.0037800000000000004, 0.0035729166666666682, 0.0010529166666666666, 0.07174999999999998, 0.007291666666666666, 0.07466666666666666, 0.02157166666666666]
//   grad(lambda x: F.huber_loss(x, Z, reduction='sum', weight=Q, delta=0.3), X, 0.7)
//     -> shape [4, 3] [-0.04899999999999996, 0.189, -0.063, 0.252, -0.0, 0.08399999999999999, 0.0525, -0.033249999999999995, 0.0525, -0.42, -0.105, 0.020999999999999998]
//   grad(lambda w: F.huber_loss(X, Z, reduction='sum', weight=w, delta=0.3), Q, 0.7)
//     -> shape [4, 3] [0.006859999999999989, 0.34439999999999993, 0.6006, 0.36119999999999997, 0.4137, 0.04410000000000001, 0.042000000000000016, 0.012634999999999999, 0.33179999999999993, 0.0735, 0.3423, 0.14909999999999995]
#[test]
fn weighted_huber_gradients_of_the_input_target_and_weight() {
    let d = data();
    let g7 = arr0(0.7);
    let none = hub_w(Reduction::None, &d.q);
    let grads = [
        huber_loss_backward(d.gz.view(), d.x.view(), d.z.view(), &none),
        huber_loss_target_backward(d.gz.view(), d.x.view(), d.z.view(), &none),
        huber_loss_weight_backward(d.gz.view(), d.x.view(), d.z.view(), &none),
    ];
    let [gx, gt, gw] = grads.map(Result::unwrap);
    assert_close(
        &gx,
        &[4, 3],
        &[
            -0.06159999999999996,
            2.664,
            -0.579,
            -1.548,
            0.0,
            0.14544,
            -0.25025000000000003,
            0.010925,
            -0.4975,
            2.3,
            1.325,
            0.13846,
        ],
    );
    assert_close(
        &gt,
        &[4, 3],
        &[
            0.06159999999999996,
            -2.664,
            0.579,
            1.548,
            -0.0,
            -0.14544,
            0.25025000000000003,
            -0.010925,
            0.4975,
            -2.3,
            -1.325,
            -0.13846,
        ],
    );
    assert_close(
        &gw,
        &[4, 3],
        &[
            0.008623999999999988,
            3.8183999999999996,
            4.8443000000000005,
            -1.7672999999999999,
            -1.1178,
            0.065448,
            -0.17517500000000008,
            -0.0041515,
            -2.4476999999999993,
            -0.2875,
            -3.392,
            0.5953779999999999,
        ],
    );
    let mean = hub_w(Reduction::Mean, &d.q);
    let grads = [
        huber_loss_backward(g7.view(), d.x.view(), d.z.view(), &mean),
        huber_loss_target_backward(g7.view(), d.x.view(), d.z.view(), &mean),
        huber_loss_weight_backward(g7.view(), d.x.view(), d.z.view(), &mean),
    ];
    let [gx, gt, gw] = grads.map(Result::unwrap);
    assert_close(
        &gx,
        &[4, 3],
        &[
            -0.00408333333333333,
            0.0525,
            -0.017499999999999998,
            0.06999999999999999,
            -0.0,
            0.0084,
            0.0051041666666666674,
            -0.002770833333333333,
            0.014583333333333332,
            -0.05833333333333333,
            -0.029166666666666664,
            0.005016666666666666,
        ],
    );
    assert_close(
        &gt,
        &[4, 3],
        &[
            0.00408333333333333,
            -0.0525,
            0.017499999999999998,
            -0.06999999999999999,
            0.0,
            -0.0084,
            -0.0051041666666666674,
            0.002770833333333333,
            -0.014583333333333332,
            0.05833333333333333,
            0.029166666666666664,
            -0.005016666666666666,
        ],
    );
    assert_close(
        &gw,
        &[4, 3],
        &[
            0.0005716666666666657,
            0.07524999999999998,
            0.14641666666666667,
            0.07991666666666665,
            0.0945,
            0.0037800000000000004,
            0.0035729166666666682,
            0.0010529166666666666,
            0.07174999999999998,
            0.007291666666666666,
            0.07466666666666666,
            0.02157166666666666,
        ],
    );
    let sum = hub_w(Reduction::Sum, &d.q).delta(0.3);
    let gx = huber_loss_backward(g7.view(), d.x.view(), d.z.view(), &sum).unwrap();
    assert_close(
        &gx,
        &[4, 3],
        &[
            -0.04899999999999996,
            0.189,
            -0.063,
            0.252,
            -0.0,
            0.08399999999999999,
            0.0525,
            -0.033249999999999995,
            0.0525,
            -0.42,
            -0.105,
            0.020999999999999998,
        ],
    );
    let gw = huber_loss_weight_backward(g7.view(), d.x.view(), d.z.view(), &sum).unwrap();
    assert_close(
        &gw,
        &[4, 3],
        &[
            0.006859999999999989,
            0.34439999999999993,
            0.6006,
            0.36119999999999997,
            0.4137,
            0.04410000000000001,
            0.042000000000000016,
            0.012634999999999999,
            0.33179999999999993,
            0.0735,
            0.3423,
            0.14909999999999995,
        ],
    );
}

// A weight of the input's shape against a broadcast target: its gradient is summed
// over the broadcast rows. Where input == target, huber's target gradient keeps the
// input gradient's zero sign with a weight too (aten's kernel, operands swapped).
// torch 2.13.0:
//   grad(lambda w: F.huber_loss(X[0], Z, reduction='mean', weight=w), W, 0.7)
//     -> [0.12540499999999996, 0.19034166666666663, 0.20976666666666666]
//   grad(lambda x: F.huber_loss(x, Z, reduction='mean', weight=W), X[0], 0.7)
//     -> [0.012366666666666665, 0.11304999999999998, -0.03640000000000001]
//   grad(lambda t: F.huber_loss(X[0], t, reduction='none', weight=W), Z, GZ)
//     -> shape [4, 3] [0.024639999999999985, -5.032, 1.2545, 0.258, -0.60996, 0.6565000000000001, 0.572, -0.13294, 0.8795799999999997, -0.36799999999999994, 4.505, -0.37673999999999996]
//   grad(lambda x: F.huber_loss(x, S0, reduction='none', weight=torch.ones(4, dtype=D)), S, -1.0)
//     -> [1.0, -0.0, -0.3, -1.0]
//   grad(lambda t: F.huber_loss(S, t, reduction='none', weight=torch.ones(4, dtype=D)), S0, -1.0)
//     -> [-1.0, -0.0, 0.3, 1.0]
#[test]
fn weighted_huber_gradients_over_a_broadcast_target_and_their_zero_signs() {
    let d = data();
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let mean = hub_w(Reduction::Mean, &d.w);
    let gw = huber_loss_weight_backward(arr0(0.7).view(), row.view(), d.z.view(), &mean);
    assert_close(
        &gw.unwrap(),
        &[3],
        &[
            0.12540499999999996,
            0.19034166666666663,
            0.20976666666666666,
        ],
    );
    let gx = huber_loss_backward(arr0(0.7).view(), row.view(), d.z.view(), &mean);
    assert_close(
        &gx.unwrap(),
        &[3],
        &[
            0.012366666666666665,
            0.11304999999999998,
            -0.03640000000000001,
        ],
    );
    let none = hub_w(Reduction::None, &d.w);
    let gt = huber_loss_target_backward(d.gz.view(), row.view(), d.z.view(), &none);
    assert_close(
        &gt.unwrap(),
        &[4, 3],
        &[
            0.024639999999999985,
            -5.032,
            1.2545,
            0.258,
            -0.60996,
            0.6565000000000001,
            0.572,
            -0.13294,
            0.8795799999999997,
            -0.36799999999999994,
            4.505,
            -0.37673999999999996,
        ],
    );
    let (s, s0) = s_and_zeros();
    let ones = v64(&[1.0; 4]);
    let g4 = v64(&[-1.0; 4]);
    let none = hub_w(Reduction::None, &ones);
    let gx = huber_loss_backward(g4.view(), s.view(), s0.view(), &none).unwrap();
    assert_bits64(&gx, &[4], &[1.0, -0.0, -0.3, -1.0]);
    let gt = huber_loss_target_backward(g4.view(), s.view(), s0.view(), &none).unwrap();
    assert_bits64(&gt, &[4], &[-1.0, -0.0, 0.3, 1.0]);
}

// torch 2.13.0:
//   F.smooth_l1_loss(E, E, reduction='none') -> []
//   F.smooth_l1_loss(E, E, reduction='mean') -> nan
//   F.smooth_l1_loss(E, E, reduction='sum') -> 0.0
//   grad(lambda x: F.smooth_l1_loss(x, E, reduction='mean'), E, 0.7) -> []
//   F.huber_loss(E, E, reduction='mean', weight=E) -> nan
//   F.huber_loss(E, E, reduction='sum', weight=E) -> 0.0
//   F.huber_loss(X[0], torch.zeros(0, 3, dtype=D), reduction='mean', weight=W) -> nan
//   grad(lambda w: F.huber_loss(X[0], torch.zeros(0, 3, dtype=D), reduction='mean', weight=w), W, 0.7)
//     -> [0.0, 0.0, 0.0]
#[test]
fn empty_inputs_give_an_empty_none_loss_a_zero_sum_and_a_nan_mean() {
    let e = zeros64(&[0]);
    for beta in [1.0, 0.0] {
        let options = |r| sl1(r).beta(beta);
        let none = smooth_l1_loss(e.view(), e.view(), &options(Reduction::None)).unwrap();
        assert_close(&none, &[0], &[]);
        let mean = smooth_l1_loss(e.view(), e.view(), &options(Reduction::Mean)).unwrap();
        assert_close(&mean, &[], &[f64::NAN]);
        let sum = smooth_l1_loss(e.view(), e.view(), &options(Reduction::Sum)).unwrap();
        assert_close(&sum, &[], &[0.0]);
        let gx = smooth_l1_loss_backward(
            arr0(0.7).view(),
            e.view(),
            e.view(),
            &options(Reduction::Mean),
        );
        assert_close(&gx.unwrap(), &[0], &[]);
    }
    let mean = huber_loss(e.view(), e.view(), &hub_w(Reduction::Mean, &e)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = huber_loss(e.view(), e.view(), &hub_w(Reduction::Sum, &e)).unwrap();
    assert_close(&sum, &[], &[0.0]);
    // An empty target broadcasts the input to nothing: the mean over no elements is
    // NaN even with a weight (unlike mse_loss's 0 / sum(W)), and the weight's gradient
    // has the weight's shape, all zeros.
    let d = data();
    let row = d.x.index_axis(Axis(0), 0).to_owned();
    let empty = zeros64(&[0, 3]);
    let options = hub_w(Reduction::Mean, &d.w);
    let mean = huber_loss(row.view(), empty.view(), &options).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let gw = huber_loss_weight_backward(arr0(0.7).view(), row.view(), empty.view(), &options);
    assert_close(&gw.unwrap(), &[3], &[0.0, 0.0, 0.0]);
}

// torch 2.13.0:
//   F.smooth_l1_loss(torch.tensor(1.5, dtype=D), torch.tensor(-0.25, dtype=D), reduction='none', beta=2.0)
//     -> 0.765625
//   F.huber_loss(torch.tensor(1.5, dtype=D), R, reduction='none')
//     -> [0.7, 2.1, 0.4049999999999999, 0.95]
//   grad(lambda x: F.huber_loss(x, R, reduction='none'), torch.tensor(1.5, dtype=D), G4)
//     -> 0.4800000000000002
//   grad(lambda t: F.smooth_l1_loss(R, t, reduction='sum', beta=0.5), torch.tensor(-0.25, dtype=D), 0.7)
//     -> -1.1199999999999999
#[test]
fn zero_dim_tensors_give_zero_dim_losses_and_broadcast_against_vectors() {
    let d = data();
    let (x, t) = (arr0(1.5).into_dyn(), arr0(-0.25).into_dyn());
    let none = smooth_l1_loss(x.view(), t.view(), &sl1(Reduction::None).beta(2.0)).unwrap();
    assert_close(&none, &[], &[0.765625]);
    let none = huber_loss(x.view(), d.r.view(), &hub(Reduction::None)).unwrap();
    assert_close(&none, &[4], &[0.7, 2.1, 0.4049999999999999, 0.95]);
    let gx = huber_loss_backward(d.g4.view(), x.view(), d.r.view(), &hub(Reduction::None));
    assert_close(&gx.unwrap(), &[], &[0.4800000000000002]);
    let options = sl1(Reduction::Sum).beta(0.5);
    let gt = smooth_l1_loss_target_backward(arr0(0.7).view(), d.r.view(), t.view(), &options);
    assert_close(&gt.unwrap(), &[], &[-1.1199999999999999]);
}

// NaN differences give NaN losses and gradients (no sgn here, unlike l1: beta = 0
// goes back to sgn's zeros); infinite ones the linear part's slope.
// torch 2.13.0:
//   F.smooth_l1_loss(NA, NB, reduction='none') -> [nan, inf, inf, nan, nan]
//   grad(lambda x: F.smooth_l1_loss(x, NB, reduction='sum'), NA, 1.0) -> [nan, 1.0, -1.0, nan, nan]
//   grad(lambda t: F.smooth_l1_loss(NA, t, reduction='sum'), NB, 1.0) -> [nan, -1.0, 1.0, nan, nan]
//   grad(lambda x: F.smooth_l1_loss(x, NB, reduction='sum', beta=0.0), NA, 1.0)
//     -> [0.0, 1.0, -1.0, 0.0, 0.0]
//   F.huber_loss(NA, NB, reduction='none', delta=2.0) -> [nan, inf, inf, nan, nan]
//   grad(lambda x: F.huber_loss(x, NB, reduction='sum', delta=2.0), NA, 1.0)
//     -> [nan, 2.0, -2.0, nan, nan]
//   F.huber_loss(NA, NB, reduction='mean') -> nan
#[test]
fn nan_and_inf_propagate_as_in_atens_kernels() {
    let (na, nb) = na_nb();
    let one = arr0(1.0);
    let none = smooth_l1_loss(na.view(), nb.view(), &sl1(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[5],
        &[f64::NAN, f64::INFINITY, f64::INFINITY, f64::NAN, f64::NAN],
    );
    let sum = sl1(Reduction::Sum);
    let gx = smooth_l1_loss_backward(one.view(), na.view(), nb.view(), &sum).unwrap();
    assert_close(&gx, &[5], &[f64::NAN, 1.0, -1.0, f64::NAN, f64::NAN]);
    let gt = smooth_l1_loss_target_backward(one.view(), na.view(), nb.view(), &sum).unwrap();
    assert_close(&gt, &[5], &[f64::NAN, -1.0, 1.0, f64::NAN, f64::NAN]);
    let gx = smooth_l1_loss_backward(one.view(), na.view(), nb.view(), &sum.beta(0.0)).unwrap();
    assert_close(&gx, &[5], &[0.0, 1.0, -1.0, 0.0, 0.0]);
    let none = huber_loss(na.view(), nb.view(), &hub(Reduction::None).delta(2.0)).unwrap();
    assert_close(
        &none,
        &[5],
        &[f64::NAN, f64::INFINITY, f64::INFINITY, f64::NAN, f64::NAN],
    );
    let gx = huber_loss_backward(
        one.view(),
        na.view(),
        nb.view(),
        &hub(Reduction::Sum).delta(2.0),
    );
    assert_close(
        &gx.unwrap(),
        &[5],
        &[f64::NAN, 2.0, -2.0, f64::NAN, f64::NAN],
    );
    let mean = huber_loss(na.view(), nb.view(), &HuberOptions::default()).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
}

// float32: the element losses are aten's formula in aten's order, bit for bit; the
// weighted mean and the gradients within float32's tolerance.
// torch 2.13.0:
//   F.smooth_l1_loss(X.float(), Z.float(), reduction='none', beta=0.3)
//     -> shape [4, 3] [0.032666717, 1.64, 2.86, 1.7199999, 1.9699999, 0.21000001, 0.20000014, 0.060166664, 1.58, 0.34999996, 1.63, 0.71000004]
//   F.huber_loss(X.float(), Z.float(), reduction='none', delta=0.3)
//     -> shape [4, 3] [0.009800015, 0.492, 0.858, 0.516, 0.591, 0.06300001, 0.060000043, 0.01805, 0.47400004, 0.105, 0.48900002, 0.21300001]
//   F.huber_loss(X.float(), Z.float(), reduction='mean', weight=Q.float()) -> 0.29692706
//   grad(lambda x: F.smooth_l1_loss(x, Z.float(), reduction='mean', beta=0.3), X.float(), 0.7)
//     -> shape [4, 3] [-0.027222242, 0.058333334, -0.058333334, 0.058333334, -0.058333334, 0.058333334, 0.058333334, -0.03694444, 0.058333334, -0.058333334, 0.058333334, 0.058333334]
//   grad(lambda w: F.huber_loss(X.float(), Z.float(), reduction='mean', weight=w), Q.float(), 0.7)
//     -> shape [4, 3] [0.00057166757, 0.07525, 0.14641666, 0.07991666, 0.09449999, 0.0037800001, 0.0035729196, 0.0010529166, 0.07175, 0.0072916658, 0.074666664, 0.021571666]
#[test]
fn f32_element_losses_are_atens_bits_and_gradients_within_tolerance() {
    let d = data();
    let f = |a: &ArrayD<f64>| a.mapv(|v| v as f32);
    let (x, z, q) = (f(&d.x), f(&d.z), f(&d.q));
    let options = SmoothL1Options::default()
        .reduction(Reduction::None)
        .beta(0.3);
    let none = smooth_l1_loss(x.view(), z.view(), &options).unwrap();
    assert_bits(
        &none,
        &[4, 3],
        &[
            0.032666717,
            1.64,
            2.86,
            1.7199999,
            1.9699999,
            0.21000001,
            0.20000014,
            0.060166664,
            1.58,
            0.34999996,
            1.63,
            0.71000004,
        ],
    );
    let options = HuberOptions::default()
        .reduction(Reduction::None)
        .delta(0.3);
    let none = huber_loss(x.view(), z.view(), &options).unwrap();
    assert_bits(
        &none,
        &[4, 3],
        &[
            0.009800015,
            0.492,
            0.858,
            0.516,
            0.591,
            0.06300001,
            0.060000043,
            0.01805,
            0.47400004,
            0.105,
            0.48900002,
            0.21300001,
        ],
    );
    let options = HuberOptions::default().weight(q.view());
    let mean = huber_loss(x.view(), z.view(), &options).unwrap();
    assert_close_f32(&mean, &[], &[0.29692706]);
    let options = SmoothL1Options::default().beta(0.3);
    let gx = smooth_l1_loss_backward(arr0(0.7f32).view(), x.view(), z.view(), &options);
    assert_close_f32(
        &gx.unwrap(),
        &[4, 3],
        &[
            -0.027222242,
            0.058333334,
            -0.058333334,
            0.058333334,
            -0.058333334,
            0.058333334,
            0.058333334,
            -0.03694444,
            0.058333334,
            -0.058333334,
            0.058333334,
            0.058333334,
        ],
    );
    let options = HuberOptions::default().weight(q.view());
    let gw = huber_loss_weight_backward(arr0(0.7f32).view(), x.view(), z.view(), &options);
    assert_close_f32(
        &gw.unwrap(),
        &[4, 3],
        &[
            0.00057166757,
            0.07525,
            0.14641666,
            0.07991666,
            0.09449999,
            0.0037800001,
            0.0035729196,
            0.0010529166,
            0.07175,
            0.0072916658,
            0.074666664,
            0.021571666,
        ],
    );
}

fn picked(a: &ArrayD<f32>) -> ArrayD<f32> {
    let v: Vec<f32> = [0, 1, 7, 12345, 54321, 99998, 99999]
        .iter()
        .map(|&i| a[[i]])
        .collect();
    Array1::from(v).into_dyn()
}

// The sums within tolerance; the element losses and the mean's gradients (aten's
// vectorised kernel: `norm * slope * grad`, `norm` = 1/n in float32) bit for bit.
// torch 2.13.0:
//   F.smooth_l1_loss(XL, TL, reduction='sum', beta=0.3) -> 22160.389
//   F.smooth_l1_loss(XL, TL, reduction='mean') -> 0.088826664
//   F.huber_loss(XL, TL, reduction='sum', delta=0.25) -> 5967.6255
//   F.huber_loss(XL, TL, reduction='mean', weight=WL, delta=0.25) -> 0.031432685
//   pick(F.smooth_l1_loss(XL, TL, reduction='none', beta=0.3), IDX)
//     -> [0.12313942, 0.28430292, 0.44679037, 0.04346203, 0.12496366, 0.0047098827, 0.019921008]
//   pick(F.huber_loss(XL, TL, reduction='none', delta=0.3), IDX)
//     -> [0.036941826, 0.08529088, 0.13403712, 0.013038609, 0.0374891, 0.0014129649, 0.0059763025]
//   pick(grad(lambda x: F.smooth_l1_loss(x, TL), XL, 0.7), IDX)
//     -> [-1.9027083e-06, -3.0401204e-06, 4.1775324e-06, -1.1303908e-06, -1.91675e-06, 3.7211632e-07, -7.652958e-07]
//   pick(grad(lambda t: F.smooth_l1_loss(XL, t, beta=0.5), TL, 0.7), IDX)
//     -> [3.8054166e-06, 6.080241e-06, -6.9999996e-06, 2.2607817e-06, 3.8335e-06, -7.4423264e-07, 1.5305916e-06]
//   pick(grad(lambda x: F.huber_loss(x, TL, delta=0.25), XL, 0.7), IDX)
//     -> [-1.7499999e-06, -1.7499999e-06, 1.7499999e-06, -1.1303908e-06, -1.7499999e-06, 3.7211632e-07, -7.652958e-07]
//   pick(grad(lambda x: F.huber_loss(x, TL, delta=0.3), XL, 0.7), IDX)
//     -> [-1.9027083e-06, -2.1e-06, 2.1e-06, -1.1303908e-06, -1.91675e-06, 3.7211632e-07, -7.652958e-07]
//   pick(grad(lambda w: F.huber_loss(XL, TL, weight=w, delta=0.25), WL, 0.7), IDX)
//     -> [2.5692708e-07, 5.4128014e-07, 8.2563315e-07, 9.1270266e-08, 2.604376e-07, 9.890754e-09, 4.183412e-08]
//   pick(grad(lambda x: F.huber_loss(x, TL, weight=WL, delta=0.25), XL, 0.7), IDX)
//     -> [-3.282347e-07, -4.3881645e-08, 9.302909e-08, -3.3673632e-07, -3.2472417e-07, 1.9072361e-07, -2.6789192e-07]
//   F.smooth_l1_loss(XL.double(), TL.double(), reduction='mean', beta=0.3) -> 0.22160386344985322
//   F.huber_loss(XL.double(), TL.double(), reduction='sum', weight=WL.double(), delta=0.3)
//     -> 3499.4222406298436
#[test]
fn a_100000_element_input_against_torch() {
    let (x, t, w) = long_inputs();
    let g = arr0(0.7f32);
    let smooth = |r, beta| SmoothL1Options::default().reduction(r).beta(beta);
    let huber = |r, delta| HuberOptions::default().reduction(r).delta(delta);
    let got = |v: Result<ArrayD<f32>, LossError>| v.unwrap();
    assert_close_f32(
        &got(smooth_l1_loss(
            x.view(),
            t.view(),
            &smooth(Reduction::Sum, 0.3),
        )),
        &[],
        &[22160.389],
    );
    assert_close_f32(
        &got(smooth_l1_loss(
            x.view(),
            t.view(),
            &smooth(Reduction::Mean, 1.0),
        )),
        &[],
        &[0.088826664],
    );
    assert_close_f32(
        &got(huber_loss(x.view(), t.view(), &huber(Reduction::Sum, 0.25))),
        &[],
        &[5967.6255],
    );
    let weighted = huber(Reduction::Mean, 0.25).weight(w.view());
    assert_close_f32(
        &got(huber_loss(x.view(), t.view(), &weighted)),
        &[],
        &[0.031432685],
    );
    let none = got(smooth_l1_loss(
        x.view(),
        t.view(),
        &smooth(Reduction::None, 0.3),
    ));
    assert_bits(
        &picked(&none),
        &[7],
        &[
            0.12313942,
            0.28430292,
            0.44679037,
            0.04346203,
            0.12496366,
            0.0047098827,
            0.019921008,
        ],
    );
    let none = got(huber_loss(x.view(), t.view(), &huber(Reduction::None, 0.3)));
    assert_bits(
        &picked(&none),
        &[7],
        &[
            0.036941826,
            0.08529088,
            0.13403712,
            0.013038609,
            0.0374891,
            0.0014129649,
            0.0059763025,
        ],
    );
    let gx = got(smooth_l1_loss_backward(
        g.view(),
        x.view(),
        t.view(),
        &smooth(Reduction::Mean, 1.0),
    ));
    assert_bits(
        &picked(&gx),
        &[7],
        &[
            -1.9027083e-06,
            -3.0401204e-06,
            4.1775324e-06,
            -1.1303908e-06,
            -1.91675e-06,
            3.7211632e-07,
            -7.652958e-07,
        ],
    );
    let gt =
        smooth_l1_loss_target_backward(g.view(), x.view(), t.view(), &smooth(Reduction::Mean, 0.5));
    assert_bits(
        &picked(&got(gt)),
        &[7],
        &[
            3.8054166e-06,
            6.080241e-06,
            -6.9999996e-06,
            2.2607817e-06,
            3.8335e-06,
            -7.4423264e-07,
            1.5305916e-06,
        ],
    );
    let gx = got(huber_loss_backward(
        g.view(),
        x.view(),
        t.view(),
        &huber(Reduction::Mean, 0.25),
    ));
    assert_bits(
        &picked(&gx),
        &[7],
        &[
            -1.7499999e-06,
            -1.7499999e-06,
            1.7499999e-06,
            -1.1303908e-06,
            -1.7499999e-06,
            3.7211632e-07,
            -7.652958e-07,
        ],
    );
    let gx = got(huber_loss_backward(
        g.view(),
        x.view(),
        t.view(),
        &huber(Reduction::Mean, 0.3),
    ));
    assert_bits(
        &picked(&gx),
        &[7],
        &[
            -1.9027083e-06,
            -2.1e-06,
            2.1e-06,
            -1.1303908e-06,
            -1.91675e-06,
            3.7211632e-07,
            -7.652958e-07,
        ],
    );
    // Python's weighted composition: `grad / n` (mean's backward), times the weight,
    // through the kernel with norm 1; the weight's, the element losses times it.
    let gw = got(huber_loss_weight_backward(
        g.view(),
        x.view(),
        t.view(),
        &weighted,
    ));
    assert_bits(
        &picked(&gw),
        &[7],
        &[
            2.5692708e-07,
            5.4128014e-07,
            8.2563315e-07,
            9.1270266e-08,
            2.604376e-07,
            9.890754e-09,
            4.183412e-08,
        ],
    );
    let gx = got(huber_loss_backward(g.view(), x.view(), t.view(), &weighted));
    assert_bits(
        &picked(&gx),
        &[7],
        &[
            -3.282347e-07,
            -4.3881645e-08,
            9.302909e-08,
            -3.3673632e-07,
            -3.2472417e-07,
            1.9072361e-07,
            -2.6789192e-07,
        ],
    );

    let f = |a: &ArrayD<f32>| a.mapv(f64::from);
    let (x, t, w) = (f(&x), f(&t), f(&w));
    let mean = smooth_l1_loss(x.view(), t.view(), &sl1(Reduction::Mean).beta(0.3)).unwrap();
    assert_close(&mean, &[], &[0.22160386344985322]);
    let sum = huber_loss(x.view(), t.view(), &hub_w(Reduction::Sum, &w).delta(0.3)).unwrap();
    assert_close(&sum, &[], &[3499.4222406298436]);
}

// On float32 a beta below float32's range (1e-50 > 0 passes the check and skips the
// l1 path) rounds to 0 in aten's kernel: its vectorised loop then gives every
// zero difference the slope -1 (`blendv(-1, 1, x > 0)` where `|x| >= 0`), while its
// scalar loop, which handles the last `n % 16` elements with `beta` as a double,
// gives 0. This crate follows the vectorised loop everywhere: equal to PyTorch up to
// 16 elements, and on all but the scalar tail beyond. float64 keeps beta = 1e-50.
// torch 2.13.0:
//   grad(lambda x: F.smooth_l1_loss(x, torch.zeros(16), reduction='sum', beta=1e-50), torch.zeros(16), 1.0)
//     -> [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0]
//   grad(lambda x: F.smooth_l1_loss(x, torch.zeros(20), reduction='sum', beta=1e-50), torch.zeros(20), 1.0)
//     -> [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0]
//   F.smooth_l1_loss(torch.tensor([0.0, 1e-3, -2.0]), torch.zeros(3), reduction='none', beta=1e-50)
//     -> [0.0, 0.001, 2.0]
//   grad(lambda x: F.smooth_l1_loss(x, torch.zeros(4, dtype=D), reduction='sum', beta=1e-50), torch.tensor([0.0, 1e-60, -1e-40, 2.0], dtype=D), 1.0)
//     -> [0.0, 9.999999999999999e-11, -1.0, 1.0]
#[test]
fn an_f32_beta_that_rounds_to_zero_follows_atens_vectorised_loop() {
    let options = SmoothL1Options::default()
        .reduction(Reduction::Sum)
        .beta(1e-50);
    let zeros = ArrayD::<f32>::zeros(IxDyn(&[16]));
    let g = arr0(1.0f32);
    let gx = smooth_l1_loss_backward(g.view(), zeros.view(), zeros.view(), &options).unwrap();
    assert_bits(
        &gx,
        &[16],
        &[
            -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0,
            -1.0, -1.0,
        ],
    );
    let zeros = ArrayD::<f32>::zeros(IxDyn(&[20]));
    let gx = smooth_l1_loss_backward(g.view(), zeros.view(), zeros.view(), &options).unwrap();
    let torch20: &[f32] = &[
        -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0,
        -1.0, 0.0, 0.0, 0.0, 0.0,
    ];
    assert_bits(
        &gx.slice(s![..16]).to_owned().into_dyn(),
        &[16],
        &torch20[..16],
    );
    // PyTorch's scalar tail gives 0 there; the vectorised formula, -1.
    assert!(gx.iter().all(|&v| v == -1.0), "{gx:?}");
    let x = Array1::from(vec![0.0f32, 1e-3, -2.0]).into_dyn();
    let t = ArrayD::<f32>::zeros(IxDyn(&[3]));
    let none = smooth_l1_loss(x.view(), t.view(), &options.reduction(Reduction::None)).unwrap();
    assert_bits(&none, &[3], &[0.0, 0.001, 2.0]);
    let x = v64(&[0.0, 1e-60, -1e-40, 2.0]);
    let gx = smooth_l1_loss_backward(arr0(1.0).view(), x.view(), zeros64(&[4]).view(), &options);
    assert_close(&gx.unwrap(), &[4], &[0.0, 9.999999999999999e-11, -1.0, 1.0]);
}

#[test]
fn one_two_and_four_threads_give_bit_identical_losses_and_gradients() {
    // A (400, 250) input against a (250) target: 100,000 broadcast elements.
    let x = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 1)).unwrap();
    let t = Array1::from(gen32(250, 2)).into_dyn();
    let w = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 3)).unwrap();
    let g_none = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 4)).unwrap();
    let g_scalar = arr0(0.7f32).into_dyn();
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let g = match reduction {
            Reduction::None => g_none.view(),
            _ => g_scalar.view(),
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut all = Vec::new();
                for beta in [0.3, 0.0] {
                    let o = SmoothL1Options { reduction, beta };
                    all.extend(bits(&smooth_l1_loss(x.view(), t.view(), &o).unwrap()));
                    let gx = smooth_l1_loss_backward(g.view(), x.view(), t.view(), &o);
                    all.extend(bits(&gx.unwrap()));
                    let gt = smooth_l1_loss_target_backward(g.view(), x.view(), t.view(), &o);
                    all.extend(bits(&gt.unwrap()));
                }
                for weight in [None, Some(w.view())] {
                    let o = HuberOptions {
                        reduction,
                        delta: 0.3,
                        weight,
                    };
                    all.extend(bits(&huber_loss(x.view(), t.view(), &o).unwrap()));
                    let gx = huber_loss_backward(g.view(), x.view(), t.view(), &o);
                    all.extend(bits(&gx.unwrap()));
                    let gt = huber_loss_target_backward(g.view(), x.view(), t.view(), &o);
                    all.extend(bits(&gt.unwrap()));
                    if o.weight.is_some() {
                        let gw = huber_loss_weight_backward(g.view(), x.view(), t.view(), &o);
                        all.extend(bits(&gw.unwrap()));
                    }
                }
                all
            })
        };
        let one = run(1);
        assert_eq!(one, run(2), "{reduction:?}");
        assert_eq!(one, run(4), "{reduction:?}");
    }
}

// The harness's shape checks: every check the forward makes before reading a value,
// in PyTorch's order.
#[cfg(feature = "unstable-public-internals")]
#[test]
fn the_shape_checks_give_the_broadcast_shape_or_the_forwards_first_error() {
    use crate::internals::{check_huber_loss_shapes, check_smooth_l1_loss_shapes};
    assert_eq!(
        check_smooth_l1_loss_shapes(&[4, 1], &[4], 1.0).unwrap(),
        vec![4, 4]
    );
    assert_eq!(
        check_smooth_l1_loss_shapes(&[], &[0, 3], 0.0).unwrap(),
        vec![0, 3]
    );
    let err = check_smooth_l1_loss_shapes(&[4, 3], &[4], -1.0).unwrap_err();
    assert_eq!(
        err.message(),
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
    );
    let err = check_smooth_l1_loss_shapes(&[4, 3], &[4, 3], f64::NAN).unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (
            ErrorKind::RuntimeError,
            "smooth_l1_loss does not support negative values for beta."
        )
    );
    assert_eq!(
        check_huber_loss_shapes(&[3], &[4, 3], Some(&[3]), 0.5).unwrap(),
        vec![4, 3]
    );
    let err = check_huber_loss_shapes(&[4, 3], &[4], Some(&[3]), -1.0).unwrap_err();
    assert_eq!(
        err.message(),
        "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"
    );
    let err = check_huber_loss_shapes(&[4, 3], &[4, 3], Some(&[3]), -1.0).unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (
            ErrorKind::ValueError,
            "Weights and input must have the same size."
        )
    );
    let err = check_huber_loss_shapes(&[4, 3], &[4, 3], None, 0.0).unwrap_err();
    assert_eq!(
        (err.kind(), err.message()),
        (
            ErrorKind::RuntimeError,
            "huber_loss does not support non-positive values for delta."
        )
    );
}

// A power-of-two beta multiplies by its reciprocal instead of dividing: the same
// correctly rounded value, so the same bits; any other beta (or a reciprocal the type
// cannot hold) divides. Checked against the division itself over values that round
// (odd mantissas, subnormal results, values past the kink), forward and backward.
#[test]
fn smooth_l1_multiplies_by_beta_reciprocal_only_where_the_bits_are_the_division() {
    use crate::pointwise::exact_reciprocal;
    assert_eq!(exact_reciprocal(1.0f32), Some(1.0));
    assert_eq!(exact_reciprocal(0.25f64), Some(4.0));
    assert_eq!(exact_reciprocal(2f32.powi(127)), Some(2f32.powi(-127)));
    assert_eq!(exact_reciprocal(2f32.powi(-127)), Some(2f32.powi(127)));
    assert_eq!(
        exact_reciprocal(2f32.powi(-149)),
        None,
        "2^149 overflows f32"
    );
    assert_eq!(
        exact_reciprocal(f64::from_bits(1)),
        None,
        "a subnormal beta"
    );
    for beta in [3.0f64, 0.1, 1.5, f64::INFINITY, f64::NAN] {
        assert_eq!(exact_reciprocal(beta), None, "beta {beta}");
    }
    let values: Vec<f32> = (0..4000)
        .map(|i| {
            let m = 1.0 + (i as f32 * 0.618_034).fract();
            let e = (i % 60) - 40;
            if i % 2 == 0 {
                m * 2f32.powi(e)
            } else {
                -m * 2f32.powi(e)
            }
        })
        .collect();
    let x = Array1::from(values.clone()).into_dyn();
    let zero = ArrayD::<f32>::zeros(IxDyn(&[values.len()]));
    let ones = ArrayD::<f32>::ones(IxDyn(&[values.len()]));
    for beta in [1.0f64, 0.5, 2.0, 2f64.powi(-20), 1024.0, 3.0, 0.1, 0.7] {
        let options = SmoothL1Options::default()
            .reduction(Reduction::None)
            .beta(beta);
        let b = beta as f32;
        let loss = smooth_l1_loss(x.view(), zero.view(), &options).unwrap();
        let grad = smooth_l1_loss_backward(ones.view(), x.view(), zero.view(), &options).unwrap();
        for (i, &v) in values.iter().enumerate() {
            let z = v.abs();
            let want = if z < b { 0.5 * z * z / b } else { z - 0.5 * b };
            let slope = if z >= b { v.signum() } else { v / b };
            assert_eq!(
                loss[i].to_bits(),
                want.to_bits(),
                "beta {beta}, loss at {v:e}"
            );
            assert_eq!(
                grad[i].to_bits(),
                slope.to_bits(),
                "beta {beta}, slope at {v:e}"
            );
        }
    }
}
