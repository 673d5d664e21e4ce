// kl_div, forward and backward: every reduction (batchmean included) with and without
// log_target, zero/negative/NaN targets, broadcasting, 0-D and empty inputs, errors,
// the input's and the target's gradients, f32, a long input and thread-count
// independence. Besides the preamble's tensors, these tests use (in the oracle
// interpreter, after the preamble):
//
//     Y = torch.tensor([[-0.4, -1.6, -1.4], [-2.2, -0.2, -1.1], [-1.0, -1.0, -1.2], [-0.05, -3.0, -2.5]], dtype=D)
//     E = torch.zeros(0, 3, dtype=D)
//     PP = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]], dtype=D)
//     XL = torch.from_numpy(gen32(100000, 1))
//     TL = torch.from_numpy(-gen32(300000, 2)[::3].copy() + np.float32(0.001))
//     YL = torch.from_numpy(gen32(300000, 3)[::3].copy())
//     def gerr(fn, x, g):  # autograd's error for a grad_output of the wrong shape
//         x = x.clone().requires_grad_(True)
//         return torch.autograd.grad(fn(x), x, g)
//     def pick(t, idx): return t.reshape(-1)[list(idx)]
//
// `F.kl_div(..., reduction='mean')` also warns that 'mean' is not the KL divergence;
// warnings are not errors, and the value is the one tested.

use ndarray::{Array1, ArrayD, ArrayViewD, IxDyn, arr0, s};

use super::*;

fn kl(reduction: KlDivReduction) -> KlDivOptions {
    KlDivOptions::default().reduction(reduction)
}

fn klt(reduction: KlDivReduction) -> KlDivOptions {
    kl(reduction).log_target(true)
}

fn v64(values: &[f64]) -> ArrayD<f64> {
    Array1::from(values.to_vec()).into_dyn()
}

/// Within float32's tolerance (`Float::ATOL + Float::RTOL * |e|`), a NaN expecting a
/// NaN and an infinity the same infinity.
#[track_caller]
pub(super) fn close32(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let wide = actual.mapv(f64::from);
    let expected: Vec<f64> = expected.iter().map(|&v| f64::from(v)).collect();
    within_f32_tolerance(&wide, shape, &expected);
}

/// f64 values (e.g. sums of f32 gradients) within float32's tolerance.
#[track_caller]
pub(super) fn within_f32_tolerance(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let (atol, rtol) = (<f32 as Float>::ATOL, <f32 as Float>::RTOL);
    let got: Vec<f64> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            (a - e).abs() <= atol + rtol * e.abs()
        };
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}");
    }
}

/// This file's `Y`: log-probabilities for the `log_target` tests.
fn y() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            -0.4, -1.6, -1.4, -2.2, -0.2, -1.1, -1.0, -1.0, -1.2, -0.05, -3.0, -2.5,
        ],
    )
}

fn forward(input: &ArrayD<f64>, target: &ArrayD<f64>, options: KlDivOptions) -> ArrayD<f64> {
    kl_div(input.view(), target.view(), &options).unwrap()
}

// torch 2.13.0:
//   F.kl_div(X, P, reduction='none')
//     -> shape [4, 3] [0.5903275392428873, -0.2618875824868201, -0.020258509299404537, -0.16025850929940455, -0.040258509299404555, 0.18148515894863226, 0.32880815870221913, -0.31619184129778083, 0.05348370725033802, 0.0, 0.8, 0.0]
//   F.kl_div(X, P)
//     -> 0.0962708010384385
//   F.kl_div(X, P, reduction='sum')
//     -> 1.1552496124612621
//   F.kl_div(X, P, reduction='batchmean')
//     -> 0.28881240311531553
#[test]
fn kl_div_reductions_are_the_element_losses_their_mean_sum_and_sum_over_the_batch() {
    let d = data();
    assert_close(
        &forward(&d.x, &d.p, kl(KlDivReduction::None)),
        &[4, 3],
        &[
            0.5903275392428873,
            -0.2618875824868201,
            -0.020258509299404537,
            -0.16025850929940455,
            -0.040258509299404555,
            0.18148515894863226,
            0.32880815870221913,
            -0.31619184129778083,
            0.05348370725033802,
            0.0,
            0.8,
            0.0,
        ],
    );
    assert_close(
        &forward(&d.x, &d.p, KlDivOptions::default()),
        &[],
        &[0.0962708010384385],
    );
    assert_close(
        &forward(&d.x, &d.p, kl(KlDivReduction::Sum)),
        &[],
        &[1.1552496124612621],
    );
    assert_close(
        &forward(&d.x, &d.p, kl(KlDivReduction::BatchMean)),
        &[],
        &[0.28881240311531553],
    );
    assert_eq!(KlDivOptions::default().reduction, KlDivReduction::Mean);
    assert!(!KlDivOptions::default().log_target);
    let names: Vec<&str> = [
        KlDivReduction::None,
        KlDivReduction::Mean,
        KlDivReduction::Sum,
        KlDivReduction::BatchMean,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    assert_eq!(names, ["none", "mean", "sum", "batchmean"]);
}

// torch 2.13.0:
//   F.kl_div(X, Y, reduction='none', log_target=True)
//     -> shape [4, 3] [0.5362560368285114, -0.262465473393052, 0.17261787475912457, -0.16620473754350082, 1.391842280232569, -0.21636620440375176, 0.478243273522875, -0.31269752499572595, -0.04517913178683029, 0.8085450108256069, -0.10953155040930068, -0.07387649876150891]
//   F.kl_div(X, Y, log_target=True)
//     -> 0.1834319462395847
//   F.kl_div(X, Y, reduction='sum', log_target=True)
//     -> 2.2011833548750164
//   F.kl_div(X, Y, reduction='batchmean', log_target=True)
//     -> 0.5502958387187541
#[test]
fn with_log_target_the_element_loss_is_exp_t_times_t_minus_x() {
    let (d, y) = (data(), y());
    assert_close(
        &forward(&d.x, &y, klt(KlDivReduction::None)),
        &[4, 3],
        &[
            0.5362560368285114,
            -0.262465473393052,
            0.17261787475912457,
            -0.16620473754350082,
            1.391842280232569,
            -0.21636620440375176,
            0.478243273522875,
            -0.31269752499572595,
            -0.04517913178683029,
            0.8085450108256069,
            -0.10953155040930068,
            -0.07387649876150891,
        ],
    );
    assert_close(
        &forward(&d.x, &y, klt(KlDivReduction::Mean)),
        &[],
        &[0.1834319462395847],
    );
    assert_close(
        &forward(&d.x, &y, klt(KlDivReduction::Sum)),
        &[],
        &[2.2011833548750164],
    );
    assert_close(
        &forward(&d.x, &y, klt(KlDivReduction::BatchMean)),
        &[],
        &[0.5502958387187541],
    );
}

// xlogy(t, t) is 0 where t == 0 (also -0.0), but `- t * x` is `0 * -inf` = NaN for a
// -inf input; a negative target is log(negative) = NaN; a NaN target is NaN.
// torch 2.13.0:
//   F.kl_div(torch.tensor([-1.0, -2.0, 0.0, -1.0, float('-inf'), float('nan'), -1.0, float('-inf'), float('inf')], dtype=D), torch.tensor([0.0, -0.0, 0.0, -0.2, 0.0, 0.0, float('nan'), 0.5, 0.25], dtype=D), reduction='none')
//     -> [0.0, 0.0, 0.0, nan, nan, nan, nan, inf, -inf]
#[test]
fn a_zero_target_adds_zero_and_a_negative_or_nan_target_or_zero_times_inf_is_nan() {
    let nan = f64::NAN;
    let (inf, ninf) = (f64::INFINITY, f64::NEG_INFINITY);
    let x = v64(&[-1.0, -2.0, 0.0, -1.0, ninf, nan, -1.0, ninf, inf]);
    let t = v64(&[0.0, -0.0, 0.0, -0.2, 0.0, 0.0, nan, 0.5, 0.25]);
    assert_close(
        &forward(&x, &t, kl(KlDivReduction::None)),
        &[9],
        &[
            0.0,
            0.0,
            0.0,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ],
    );
}

// A zero probability given in log space is -inf, and exp(-inf) * (-inf - x) is
// 0 * -inf = NaN: with log_target, a zero-probability class makes the loss NaN.
// torch 2.13.0:
//   F.kl_div(torch.tensor([-1.0, float('-inf'), -2.0, float('inf'), -1.0], dtype=D), torch.tensor([float('-inf'), -1.0, 0.0, float('inf'), float('nan')], dtype=D), reduction='none', log_target=True)
//     -> [nan, inf, 2.0, nan, nan]
//   F.kl_div(torch.tensor([-1.0, -2.0], dtype=D), torch.tensor([0.0, float('-inf')], dtype=D), reduction='sum', log_target=True)
//     -> nan
#[test]
fn with_log_target_a_minus_infinity_target_is_nan() {
    let (inf, ninf, nan) = (f64::INFINITY, f64::NEG_INFINITY, f64::NAN);
    let x = v64(&[-1.0, ninf, -2.0, inf, -1.0]);
    let t = v64(&[ninf, -1.0, 0.0, inf, nan]);
    assert_close(
        &forward(&x, &t, klt(KlDivReduction::None)),
        &[5],
        &[f64::NAN, f64::INFINITY, 2.0, f64::NAN, f64::NAN],
    );
    let sum = forward(
        &v64(&[-1.0, -2.0]),
        &v64(&[0.0, ninf]),
        klt(KlDivReduction::Sum),
    );
    assert_close(&sum, &[], &[f64::NAN]);
}

// The common mistakes: probabilities passed as the input (not their logs) give a
// non-zero "divergence" of a distribution from itself; log-probabilities give ~0. A
// zero probability in both, passed through log, is NaN (0 * -inf), not 0.
// torch 2.13.0:
//   F.kl_div(PP, PP, reduction='batchmean')
//     -> -1.3837993694606767
//   F.kl_div(PP.log(), PP, reduction='batchmean')
//     -> 0.0
//   F.kl_div(P.log(), P, reduction='batchmean')
//     -> nan
//   F.kl_div(PP.log(), PP.flip(0), reduction='mean')
//     -> 0.12688874965901062
//   F.kl_div(PP.log(), PP.flip(0), reduction='batchmean')
//     -> 0.3806662489770319
#[test]
fn probabilities_as_input_or_zeros_through_log_give_the_wrong_divergence() {
    let pp = a64(&[2, 3], &[0.6, 0.3, 0.1, 0.2, 0.5, 0.3]);
    let log_pp = pp.mapv(f64::ln);
    let bm = kl(KlDivReduction::BatchMean);
    assert_close(&forward(&pp, &pp, bm), &[], &[-1.3837993694606767]);
    let logs = forward(&log_pp, &pp, bm);
    assert!(logs[[]].abs() < 1e-15, "{logs}");
    assert_close(
        &forward(&data().p.mapv(f64::ln), &data().p, bm),
        &[],
        &[f64::NAN],
    );
    // 'mean' divides by the 6 elements, 'batchmean' (the KL divergence) by the 2 rows.
    let flipped = contiguous(pp.slice(s![..;-1, ..]));
    assert_close(
        &forward(&log_pp, &flipped, kl(KlDivReduction::Mean)),
        &[],
        &[0.12688874965901062],
    );
    assert_close(&forward(&log_pp, &flipped, bm), &[], &[0.3806662489770319]);
}

// torch 2.13.0:
//   F.kl_div(X, P[0], reduction='none')
//     -> shape [4, 3] [0.5903275392428873, -0.2618875824868201, -0.020258509299404537, 0.24032753924288724, 0.058112417513179915, -0.18525850929940454, 1.360327539242887, -0.2918875824868201, -0.12525850929940455, 0.3803275392428873, -0.16188758248682006, -0.07025850929940453]
//   F.kl_div(X[0], P, reduction='batchmean')
//     -> 0.6667498708204208
//   F.kl_div(X[:, :1], P[0], reduction='none')
//     -> shape [4, 3] [0.5903275392428873, -0.0818875824868201, -0.11025850929940456, 0.24032753924288724, -0.1818875824868201, -0.16025850929940455, 1.360327539242887, 0.13811241751317987, -0.00025850929940457457, 0.3803275392428873, -0.14188758248682007, -0.14025850929940453]
//   F.kl_div(X[:, :1], P[0], reduction='batchmean')
//     -> 0.4731814474566626
//   F.kl_div(X[0], Y[:, :1], reduction='sum', log_target=True)
//     -> 4.778827814628862
#[test]
fn input_and_target_broadcast_and_batchmean_divides_by_the_inputs_first_size() {
    let (d, y) = (data(), y());
    let p0 = contiguous(d.p.slice(s![0, ..]));
    let x0 = contiguous(d.x.slice(s![0, ..]));
    let xc = contiguous(d.x.slice(s![.., ..1]));
    let yc = contiguous(y.slice(s![.., ..1]));
    assert_close(
        &forward(&d.x, &p0, kl(KlDivReduction::None)),
        &[4, 3],
        &[
            0.5903275392428873,
            -0.2618875824868201,
            -0.020258509299404537,
            0.24032753924288724,
            0.058112417513179915,
            -0.18525850929940454,
            1.360327539242887,
            -0.2918875824868201,
            -0.12525850929940455,
            0.3803275392428873,
            -0.16188758248682006,
            -0.07025850929940453,
        ],
    );
    // A (3) input against a (4, 3) target: the (4, 3) sum divided by 3, not 4.
    assert_close(
        &forward(&x0, &d.p, kl(KlDivReduction::BatchMean)),
        &[],
        &[0.6667498708204208],
    );
    assert_close(
        &forward(&xc, &p0, kl(KlDivReduction::None)),
        &[4, 3],
        &[
            0.5903275392428873,
            -0.0818875824868201,
            -0.11025850929940456,
            0.24032753924288724,
            -0.1818875824868201,
            -0.16025850929940455,
            1.360327539242887,
            0.13811241751317987,
            -0.00025850929940457457,
            0.3803275392428873,
            -0.14188758248682007,
            -0.14025850929940453,
        ],
    );
    assert_close(
        &forward(&xc, &p0, kl(KlDivReduction::BatchMean)),
        &[],
        &[0.4731814474566626],
    );
    assert_close(
        &forward(&x0, &yc, klt(KlDivReduction::Sum)),
        &[],
        &[4.778827814628862],
    );
}

// batchmean of a 0-D input is the plain sum (functional.py skips the division), of a
// 1-D input the sum divided by its length: a 1-D input is read as a batch of scalars.
// torch 2.13.0:
//   F.kl_div(torch.tensor(-0.5, dtype=D), torch.tensor(0.3, dtype=D), reduction='batchmean')
//     -> -0.21119184129778082
//   F.kl_div(torch.tensor(-0.5, dtype=D), P[0], reduction='batchmean')
//     -> -0.30181855254333734
//   F.kl_div(torch.tensor(-0.5, dtype=D), P[0], reduction='none')
//     -> [0.10032753924288729, -0.22188758248682008, -0.18025850929940457]
//   F.kl_div(X[0], P[0], reduction='batchmean')
//     -> 0.10272714915222088
//   F.kl_div(X[0], P[0], reduction='sum')
//     -> 0.30818144745666265
#[test]
fn batchmean_of_a_0d_input_is_the_sum_and_of_a_1d_input_divides_by_its_length() {
    let d = data();
    let bm = kl(KlDivReduction::BatchMean);
    let (x00, t00) = (arr0(-0.5).into_dyn(), arr0(0.3).into_dyn());
    let p0 = contiguous(d.p.slice(s![0, ..]));
    let x0 = contiguous(d.x.slice(s![0, ..]));
    assert_close(&forward(&x00, &t00, bm), &[], &[-0.21119184129778082]);
    assert_close(&forward(&x00, &p0, bm), &[], &[-0.30181855254333734]);
    assert_close(
        &forward(&x00, &p0, kl(KlDivReduction::None)),
        &[3],
        &[
            0.10032753924288729,
            -0.22188758248682008,
            -0.18025850929940457,
        ],
    );
    assert_close(&forward(&x0, &p0, bm), &[], &[0.10272714915222088]);
    assert_close(
        &forward(&x0, &p0, kl(KlDivReduction::Sum)),
        &[],
        &[0.30818144745666265],
    );
}

// torch 2.13.0:
//   F.kl_div(E, E, reduction='none')
//     -> shape [0, 3] []
//   F.kl_div(E, E, reduction='sum')
//     -> 0.0
//   F.kl_div(E, E, reduction='mean')
//     -> nan
//   F.kl_div(E, E, reduction='batchmean')
//     -> nan
//   grad(lambda x: F.kl_div(x, E, reduction='batchmean'), E, 1.0)
//     -> shape [0, 3] []
//   grad(lambda t: F.kl_div(E, t, reduction='mean', log_target=True), E, 1.0)
//     -> shape [0, 3] []
#[test]
fn empty_inputs_give_an_empty_none_loss_a_zero_sum_and_a_nan_mean_and_batchmean() {
    let e = zeros64(&[0, 3]);
    assert_close(&forward(&e, &e, kl(KlDivReduction::None)), &[0, 3], &[]);
    assert_close(&forward(&e, &e, kl(KlDivReduction::Sum)), &[], &[0.0]);
    assert_close(&forward(&e, &e, kl(KlDivReduction::Mean)), &[], &[f64::NAN]);
    assert_close(
        &forward(&e, &e, kl(KlDivReduction::BatchMean)),
        &[],
        &[f64::NAN],
    );
    let g = arr0(1.0).into_dyn();
    let gin = kl_div_backward(g.view(), e.view(), e.view(), &kl(KlDivReduction::BatchMean));
    assert_close(&gin.unwrap(), &[0, 3], &[]);
    let gt = kl_div_target_backward(g.view(), e.view(), e.view(), &klt(KlDivReduction::Mean));
    assert_close(&gt.unwrap(), &[0, 3], &[]);
}

// libtorch broadcasts in `target * input` (or `target - input`): the target is
// tensor a, and with several mismatches the rightmost is named.
// torch 2.13.0:
//   F.kl_div(X, P[:, :2])
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1
//   F.kl_div(X[0], torch.zeros(2, dtype=D), reduction='none', log_target=True)
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0
//   F.kl_div(torch.zeros(2, 3, dtype=D), torch.zeros(3, 2, dtype=D), reduction='sum')
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1
#[test]
fn shapes_that_cannot_broadcast_are_torchs_error_naming_the_target_first() {
    let d = data();
    let p2 = contiguous(d.p.slice(s![.., ..2]));
    let g = arr0(1.0).into_dyn();
    let options = kl(KlDivReduction::Mean);
    let err = assert_err(
        kl_div(d.x.view(), p2.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    assert!(
        err.hint().contains("[4, 2]") && err.hint().contains("[4, 3]"),
        "{err}"
    );
    assert_err(
        kl_div_backward(g.view(), d.x.view(), p2.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    assert_err(
        kl_div_target_backward(g.view(), d.x.view(), p2.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    let x0 = d.x.slice(s![0, ..]);
    let z2 = zeros64(&[2]);
    assert_err(
        kl_div(x0, z2.view(), &klt(KlDivReduction::None)),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0",
    );
    let (a, b) = (zeros64(&[2, 3]), zeros64(&[3, 2]));
    assert_err(
        kl_div(a.view(), b.view(), &kl(KlDivReduction::Sum)),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
}

// torch 2.13.0:
//   gerr(lambda x: F.kl_div(x, P, reduction='none'), X, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
//   gerr(lambda x: F.kl_div(x, P, reduction='batchmean'), X, torch.ones(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
#[test]
fn grad_output_not_of_the_outputs_shape_is_autograds_mismatch_error() {
    let d = data();
    let g3 = zeros64(&[3]);
    let g1 = zeros64(&[1]);
    let none = kl(KlDivReduction::None);
    assert_err(
        kl_div_backward(g3.view(), d.x.view(), d.p.view(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_err(
        kl_div_target_backward(g3.view(), d.x.view(), d.p.view(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    let bm = kl(KlDivReduction::BatchMean);
    assert_err(
        kl_div_backward(g1.view(), d.x.view(), d.p.view(), &bm),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
    );
    assert_err(
        kl_div_target_backward(g1.view(), d.x.view(), d.p.view(), &bm),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
    );
}

// torch 2.13.0:
//   grad(lambda x: F.kl_div(x, P, reduction='none'), X, GZ)
//     -> shape [4, 3] [-0.616, -0.592, -0.193, 0.129, 0.06899999999999999, -0.808, 0.858, 0.069, 0.796, 0.0, 2.65, -0.0]
//   grad(lambda x: F.kl_div(x, P), X, 0.7)
//     -> shape [4, 3] [-0.040833333333333326, -0.011666666666666665, -0.005833333333333333, -0.005833333333333333, -0.005833333333333333, -0.04666666666666666, -0.017499999999999998, -0.017499999999999998, -0.02333333333333333, -0.0, -0.05833333333333333, -0.0]
//   grad(lambda x: F.kl_div(x, P, reduction='sum'), X, 0.7)
//     -> shape [4, 3] [-0.48999999999999994, -0.13999999999999999, -0.06999999999999999, -0.06999999999999999, -0.06999999999999999, -0.5599999999999999, -0.21, -0.21, -0.27999999999999997, -0.0, -0.7, -0.0]
//   grad(lambda x: F.kl_div(x, P, reduction='batchmean'), X, 0.7)
//     -> shape [4, 3] [-0.12249999999999998, -0.034999999999999996, -0.017499999999999998, -0.017499999999999998, -0.017499999999999998, -0.13999999999999999, -0.0525, -0.0525, -0.06999999999999999, -0.0, -0.175, -0.0]
//   grad(lambda x: F.kl_div(x, Y, reduction='none', log_target=True), X, GZ)
//     -> shape [4, 3] [-0.5898816405113626, -0.5976136932641799, -0.47593214040730053, 0.1429360742874107, 0.5649242196238075, -0.3361997945350603, 1.052135201750325, 0.08461227146943175, 0.5993764817052822, 2.187827676351642, 0.13193573117483945, -0.1321568477844771]
//   grad(lambda x: F.kl_div(x, Y, log_target=True), X, 0.7)
//     -> shape [4, 3] [-0.03910200268541229, -0.011777296883021563, -0.014384822896593711, -0.006463517571136142, -0.04775929392954893, -0.019417479882387973, -0.021459634068334135, -0.021459634068334135, -0.017569662361545123, -0.05548838309587498, -0.002904245654792063, -0.0047882915863940965]
//   grad(lambda x: F.kl_div(x, Y, reduction='batchmean', log_target=True), X, 0.7)
//     -> shape [4, 3] [-0.11730600805623688, -0.03533189064906469, -0.043154468689781136, -0.019390552713408424, -0.1432778817886468, -0.058252439647163916, -0.0643789022050024, -0.0643789022050024, -0.052708987084635374, -0.16646514928762493, -0.00871273696437619, -0.01436487475918229]
#[test]
fn input_gradient_is_minus_the_target_probability_times_grad_output() {
    let (d, y) = (data(), y());
    let g = arr0(0.7).into_dyn();
    let run = |g: &ArrayD<f64>, t: &ArrayD<f64>, options: KlDivOptions| {
        kl_div_backward(g.view(), d.x.view(), t.view(), &options).unwrap()
    };
    assert_close(
        &run(&d.gz, &d.p, kl(KlDivReduction::None)),
        &[4, 3],
        &[
            -0.616,
            -0.592,
            -0.193,
            0.129,
            0.06899999999999999,
            -0.808,
            0.858,
            0.069,
            0.796,
            0.0,
            2.65,
            -0.0,
        ],
    );
    assert_close(
        &run(&g, &d.p, kl(KlDivReduction::Mean)),
        &[4, 3],
        &[
            -0.040833333333333326,
            -0.011666666666666665,
            -0.005833333333333333,
            -0.005833333333333333,
            -0.005833333333333333,
            -0.04666666666666666,
            -0.017499999999999998,
            -0.017499999999999998,
            -0.02333333333333333,
            -0.0,
            -0.05833333333333333,
            -0.0,
        ],
    );
    assert_close(
        &run(&g, &d.p, kl(KlDivReduction::Sum)),
        &[4, 3],
        &[
            -0.48999999999999994,
            -0.13999999999999999,
            -0.06999999999999999,
            -0.06999999999999999,
            -0.06999999999999999,
            -0.5599999999999999,
            -0.21,
            -0.21,
            -0.27999999999999997,
            -0.0,
            -0.7,
            -0.0,
        ],
    );
    assert_close(
        &run(&g, &d.p, kl(KlDivReduction::BatchMean)),
        &[4, 3],
        &[
            -0.12249999999999998,
            -0.034999999999999996,
            -0.017499999999999998,
            -0.017499999999999998,
            -0.017499999999999998,
            -0.13999999999999999,
            -0.0525,
            -0.0525,
            -0.06999999999999999,
            -0.0,
            -0.175,
            -0.0,
        ],
    );
    assert_close(
        &run(&d.gz, &y, klt(KlDivReduction::None)),
        &[4, 3],
        &[
            -0.5898816405113626,
            -0.5976136932641799,
            -0.47593214040730053,
            0.1429360742874107,
            0.5649242196238075,
            -0.3361997945350603,
            1.052135201750325,
            0.08461227146943175,
            0.5993764817052822,
            2.187827676351642,
            0.13193573117483945,
            -0.1321568477844771,
        ],
    );
    assert_close(
        &run(&g, &y, klt(KlDivReduction::Mean)),
        &[4, 3],
        &[
            -0.03910200268541229,
            -0.011777296883021563,
            -0.014384822896593711,
            -0.006463517571136142,
            -0.04775929392954893,
            -0.019417479882387973,
            -0.021459634068334135,
            -0.021459634068334135,
            -0.017569662361545123,
            -0.05548838309587498,
            -0.002904245654792063,
            -0.0047882915863940965,
        ],
    );
    assert_close(
        &run(&g, &y, klt(KlDivReduction::BatchMean)),
        &[4, 3],
        &[
            -0.11730600805623688,
            -0.03533189064906469,
            -0.043154468689781136,
            -0.019390552713408424,
            -0.1432778817886468,
            -0.058252439647163916,
            -0.0643789022050024,
            -0.0643789022050024,
            -0.052708987084635374,
            -0.16646514928762493,
            -0.00871273696437619,
            -0.01436487475918229,
        ],
    );
}

// The target is differentiable. Through `xlogy(t, t)` autograd adds `g * t / t`, which
// is 0 / 0 = NaN wherever the target is 0 (P's row 3), though the loss is finite there.
// torch 2.13.0:
//   grad(lambda t: F.kl_div(X, t, reduction='none'), P, GZ)
//     -> shape [4, 3] [1.6221260493339156, -0.9159362208049376, 1.5390107705214922, 0.7773347699623187, -0.41221628583410863, 1.2391250131726483, -5.994637779627823, 0.012413744994965253, -2.256081443570432, nan, -4.77, nan]
//   grad(lambda t: F.kl_div(X, t), P, 0.7)
//     -> shape [4, 3] [0.10752729493690727, -0.018050544891989175, 0.04651586957534734, -0.03515079709131933, 0.034849202908680654, 0.07156662617333776, 0.12226825308098704, -0.0031484135856796065, 0.0661330406406743, nan, 0.10499999999999998, nan]
//   grad(lambda t: F.kl_div(X, t, reduction='sum'), P, 0.7)
//     -> shape [4, 3] [1.2903275392428872, -0.21660653870387034, 0.5581904349041681, -0.42180956509583195, 0.41819043490416796, 0.8587995140800531, 1.4672190369718447, -0.03778096302815524, 0.7935964876880913, nan, 1.2599999999999998, nan]
//   grad(lambda t: F.kl_div(X, t, reduction='batchmean'), P, 0.7)
//     -> shape [4, 3] [0.3225818848107218, -0.054151634675967585, 0.13954760872604202, -0.10545239127395799, 0.10454760872604199, 0.21469987852001327, 0.3668047592429612, -0.00944524075703881, 0.19839912192202283, nan, 0.31499999999999995, nan]
//   grad(lambda t: F.kl_div(X, t, reduction='sum'), Q, 1.0)
//     -> shape [4, 3] [1.5068528194400548, 1.1946394843421737, 1.896027195674064, 1.8823215567939546, nan, 0.5337092681258451, 1.9137056388801092, -0.23629436111989058, 0.6637056388801095, 2.5931471805599453, nan, 0.29741490700595463]
#[test]
fn target_gradient_is_log_t_plus_one_minus_x_and_nan_where_the_target_is_zero() {
    let d = data();
    let g = arr0(0.7).into_dyn();
    let run = |g: &ArrayD<f64>, t: &ArrayD<f64>, options: KlDivOptions| {
        kl_div_target_backward(g.view(), d.x.view(), t.view(), &options).unwrap()
    };
    assert_close(
        &run(&d.gz, &d.p, kl(KlDivReduction::None)),
        &[4, 3],
        &[
            1.6221260493339156,
            -0.9159362208049376,
            1.5390107705214922,
            0.7773347699623187,
            -0.41221628583410863,
            1.2391250131726483,
            -5.994637779627823,
            0.012413744994965253,
            -2.256081443570432,
            f64::NAN,
            -4.77,
            f64::NAN,
        ],
    );
    assert_close(
        &run(&g, &d.p, kl(KlDivReduction::Mean)),
        &[4, 3],
        &[
            0.10752729493690727,
            -0.018050544891989175,
            0.04651586957534734,
            -0.03515079709131933,
            0.034849202908680654,
            0.07156662617333776,
            0.12226825308098704,
            -0.0031484135856796065,
            0.0661330406406743,
            f64::NAN,
            0.10499999999999998,
            f64::NAN,
        ],
    );
    assert_close(
        &run(&g, &d.p, kl(KlDivReduction::Sum)),
        &[4, 3],
        &[
            1.2903275392428872,
            -0.21660653870387034,
            0.5581904349041681,
            -0.42180956509583195,
            0.41819043490416796,
            0.8587995140800531,
            1.4672190369718447,
            -0.03778096302815524,
            0.7935964876880913,
            f64::NAN,
            1.2599999999999998,
            f64::NAN,
        ],
    );
    assert_close(
        &run(&g, &d.p, kl(KlDivReduction::BatchMean)),
        &[4, 3],
        &[
            0.3225818848107218,
            -0.054151634675967585,
            0.13954760872604202,
            -0.10545239127395799,
            0.10454760872604199,
            0.21469987852001327,
            0.3668047592429612,
            -0.00944524075703881,
            0.19839912192202283,
            f64::NAN,
            0.31499999999999995,
            f64::NAN,
        ],
    );
    // Q holds a 0 (NaN) and a negative value (log of a negative: NaN).
    assert_close(
        &run(&arr0(1.0).into_dyn(), &d.q, kl(KlDivReduction::Sum)),
        &[4, 3],
        &[
            1.5068528194400548,
            1.1946394843421737,
            1.896027195674064,
            1.8823215567939546,
            f64::NAN,
            0.5337092681258451,
            1.9137056388801092,
            -0.23629436111989058,
            0.6637056388801095,
            2.5931471805599453,
            f64::NAN,
            0.29741490700595463,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda t: F.kl_div(X, t, reduction='none', log_target=True), Y, GZ)
//     -> shape [4, 3] [1.0617869529204527, -0.17928410797925398, 0.8090846386924109, 0.07146803714370537, -1.52529539298428, 0.11766992808727103, -2.4199109640257475, -0.012691840720414765, -0.50947000944949, -4.0474812012505375, 0.15832287740980736, 0.013215684778447742]
//   grad(lambda t: F.kl_div(X, t, reduction='sum', log_target=True), Y, 0.7)
//     -> shape [4, 3] [0.8446032580049054, -0.04239826877887762, 0.29345038709051174, -0.03878110542681687, 1.5474011233173854, 0.08155341550602943, 0.5922859002860221, 0.03862734132300144, 0.1792105560877603, 1.2318421047284245, -0.04182113742900572, 0.005745949903672921]
//   grad(lambda t: F.kl_div(X, t, reduction='batchmean', log_target=True), Y, 0.7)
//     -> shape [4, 3] [0.21115081450122636, -0.010599567194719405, 0.07336259677262794, -0.009695276356704217, 0.38685028082934636, 0.020388353876507358, 0.14807147507150553, 0.00965683533075036, 0.04480263902194007, 0.3079605261821061, -0.01045528435725143, 0.0014364874759182304]
//   grad(lambda t: F.kl_div(torch.tensor([-1.0, -2.0, float('-inf')], dtype=D), t, reduction='sum', log_target=True), torch.tensor([float('-inf'), -1.0, -1.0], dtype=D), 1.0)
//     -> [nan, 0.7357588823428847, inf]
#[test]
fn with_log_target_the_target_gradient_is_exp_t_times_one_plus_t_minus_x() {
    let (d, y) = (data(), y());
    let g = arr0(0.7).into_dyn();
    let run = |g: &ArrayD<f64>, options: KlDivOptions| {
        kl_div_target_backward(g.view(), d.x.view(), y.view(), &options).unwrap()
    };
    assert_close(
        &run(&d.gz, klt(KlDivReduction::None)),
        &[4, 3],
        &[
            1.0617869529204527,
            -0.17928410797925398,
            0.8090846386924109,
            0.07146803714370537,
            -1.52529539298428,
            0.11766992808727103,
            -2.4199109640257475,
            -0.012691840720414765,
            -0.50947000944949,
            -4.0474812012505375,
            0.15832287740980736,
            0.013215684778447742,
        ],
    );
    assert_close(
        &run(&g, klt(KlDivReduction::Sum)),
        &[4, 3],
        &[
            0.8446032580049054,
            -0.04239826877887762,
            0.29345038709051174,
            -0.03878110542681687,
            1.5474011233173854,
            0.08155341550602943,
            0.5922859002860221,
            0.03862734132300144,
            0.1792105560877603,
            1.2318421047284245,
            -0.04182113742900572,
            0.005745949903672921,
        ],
    );
    assert_close(
        &run(&g, klt(KlDivReduction::BatchMean)),
        &[4, 3],
        &[
            0.21115081450122636,
            -0.010599567194719405,
            0.07336259677262794,
            -0.009695276356704217,
            0.38685028082934636,
            0.020388353876507358,
            0.14807147507150553,
            0.00965683533075036,
            0.04480263902194007,
            0.3079605261821061,
            -0.01045528435725143,
            0.0014364874759182304,
        ],
    );
    let ninf = f64::NEG_INFINITY;
    let x = v64(&[-1.0, -2.0, ninf]);
    let t = v64(&[ninf, -1.0, -1.0]);
    let one = arr0(1.0).into_dyn();
    let got = kl_div_target_backward(one.view(), x.view(), t.view(), &klt(KlDivReduction::Sum));
    assert_close(
        &got.unwrap(),
        &[3],
        &[f64::NAN, 0.7357588823428847, f64::INFINITY],
    );
}

// Each gradient is summed back over the dimensions broadcasting added, and the target's
// terms that use its own values (xlogy's, exp's) come after that sum.
// torch 2.13.0:
//   grad(lambda t: F.kl_div(X, t, reduction='none'), P[1], GZ)
//     -> [-1.239601032023165, -1.7829230932736326, 6.982752508635624]
//   grad(lambda t: F.kl_div(X, t, reduction='batchmean', log_target=True), Y[1], 0.7)
//     -> [0.005817165814022515, 0.9098145493579073, 0.27961171030638676]
//   grad(lambda t: F.kl_div(X, t, reduction='none', log_target=True), Y[:, :1], GZ)
//     -> shape [4, 1] [6.340557315451113, -0.06598328080476981, -3.201286897073891, -4.553535255084918]
//   grad(lambda t: F.kl_div(X, t, reduction='sum'), torch.tensor([0.0, 0.25, 0.5], dtype=D), 1.0)
//     -> [nan, 1.6048225555204372, 6.4274112777602195]
//   grad(lambda x: F.kl_div(x, P, reduction='sum'), X[0], 0.7)
//     -> [-0.7699999999999999, -1.1199999999999999, -0.9099999999999999]
//   grad(lambda x: F.kl_div(x, Y, reduction='mean', log_target=True), X[:, :1], 0.7)
//     -> shape [4, 1] [-0.06526412246502757, -0.07364029138307304, -0.0604889304982134, -0.06318092033706113]
//   grad(lambda x: F.kl_div(x, P[0], reduction='batchmean'), torch.tensor(-0.5, dtype=D), 0.7)
//     -> -0.6999999999999998
//   grad(lambda t: F.kl_div(X, t, reduction='batchmean'), torch.tensor(0.3, dtype=D), 0.7)
//     -> 1.925407110915534
#[test]
fn broadcast_gradients_are_summed_back_to_each_operands_own_shape() {
    let (d, y) = (data(), y());
    let g = arr0(0.7).into_dyn();
    let p1 = contiguous(d.p.slice(s![1, ..]));
    let y1 = contiguous(y.slice(s![1, ..]));
    let yc = contiguous(y.slice(s![.., ..1]));
    let tb = |g: &ArrayD<f64>, x: &ArrayD<f64>, t: &ArrayD<f64>, o: KlDivOptions| {
        kl_div_target_backward(g.view(), x.view(), t.view(), &o).unwrap()
    };
    let xb = |g: &ArrayD<f64>, x: &ArrayD<f64>, t: &ArrayD<f64>, o: KlDivOptions| {
        kl_div_backward(g.view(), x.view(), t.view(), &o).unwrap()
    };
    assert_close(
        &tb(&d.gz, &d.x, &p1, kl(KlDivReduction::None)),
        &[3],
        &[-1.239601032023165, -1.7829230932736326, 6.982752508635624],
    );
    assert_close(
        &tb(&g, &d.x, &y1, klt(KlDivReduction::BatchMean)),
        &[3],
        &[
            0.005817165814022515,
            0.9098145493579073,
            0.27961171030638676,
        ],
    );
    assert_close(
        &tb(&d.gz, &d.x, &yc, klt(KlDivReduction::None)),
        &[4, 1],
        &[
            6.340557315451113,
            -0.06598328080476981,
            -3.201286897073891,
            -4.553535255084918,
        ],
    );
    let tz = v64(&[0.0, 0.25, 0.5]);
    let one = arr0(1.0).into_dyn();
    assert_close(
        &tb(&one, &d.x, &tz, kl(KlDivReduction::Sum)),
        &[3],
        &[f64::NAN, 1.6048225555204372, 6.4274112777602195],
    );
    let x0 = contiguous(d.x.slice(s![0, ..]));
    let xc = contiguous(d.x.slice(s![.., ..1]));
    assert_close(
        &xb(&g, &x0, &d.p, kl(KlDivReduction::Sum)),
        &[3],
        &[
            -0.7699999999999999,
            -1.1199999999999999,
            -0.9099999999999999,
        ],
    );
    assert_close(
        &xb(&g, &xc, &y, klt(KlDivReduction::Mean)),
        &[4, 1],
        &[
            -0.06526412246502757,
            -0.07364029138307304,
            -0.0604889304982134,
            -0.06318092033706113,
        ],
    );
    let p0 = contiguous(d.p.slice(s![0, ..]));
    let x00 = arr0(-0.5).into_dyn();
    assert_close(
        &xb(&g, &x00, &p0, kl(KlDivReduction::BatchMean)),
        &[],
        &[-0.6999999999999998],
    );
    let t00 = arr0(0.3).into_dyn();
    assert_close(
        &tb(&g, &d.x, &t00, kl(KlDivReduction::BatchMean)),
        &[],
        &[1.925407110915534],
    );
}

// torch 2.13.0:
//   F.kl_div(X.T, P.T, reduction='none')
//     -> shape [3, 4] [0.5903275392428873, -0.16025850929940455, 0.32880815870221913, 0.0, -0.2618875824868201, -0.040258509299404555, -0.31619184129778083, 0.8, -0.020258509299404537, 0.18148515894863226, 0.05348370725033802, 0.0]
//   grad(lambda x: F.kl_div(x, P.T, reduction='none', log_target=True), X.T, GZ.T)
//     -> shape [3, 4] [-1.7721023825740194, 1.4256704843175856, 3.860596189667369, 2.3, -3.615352164154103, 0.7625679334721969, 0.31046752574248077, 7.203446845416469, -2.132979871886, -2.2477963377773924, 2.968731148306128, -1.61]
//   grad(lambda t: F.kl_div(X.T, t, reduction='none'), P.T, GZ.T)
//     -> shape [3, 4] [1.6221260493339156, 0.7773347699623187, -5.994637779627823, nan, -0.9159362208049376, -0.41221628583410863, 0.012413744994965253, -4.77, 1.5390107705214922, 1.2391250131726483, -2.256081443570432, nan]
#[test]
fn transposed_views_give_the_transposed_loss_and_gradients() {
    let d = data();
    let (xt, pt, gt) = (d.x.t(), d.p.t(), d.gz.t());
    let none = kl(KlDivReduction::None);
    assert_close(
        &kl_div(xt.view(), pt.view(), &none).unwrap(),
        &[3, 4],
        &[
            0.5903275392428873,
            -0.16025850929940455,
            0.32880815870221913,
            0.0,
            -0.2618875824868201,
            -0.040258509299404555,
            -0.31619184129778083,
            0.8,
            -0.020258509299404537,
            0.18148515894863226,
            0.05348370725033802,
            0.0,
        ],
    );
    let gin = kl_div_backward(gt.view(), xt.view(), pt.view(), &klt(KlDivReduction::None));
    assert_close(
        &gin.unwrap(),
        &[3, 4],
        &[
            -1.7721023825740194,
            1.4256704843175856,
            3.860596189667369,
            2.3,
            -3.615352164154103,
            0.7625679334721969,
            0.31046752574248077,
            7.203446845416469,
            -2.132979871886,
            -2.2477963377773924,
            2.968731148306128,
            -1.61,
        ],
    );
    let gt = kl_div_target_backward(gt.view(), xt.view(), pt.view(), &none).unwrap();
    assert_close(
        &gt,
        &[3, 4],
        &[
            1.6221260493339156,
            0.7773347699623187,
            -5.994637779627823,
            f64::NAN,
            -0.9159362208049376,
            -0.41221628583410863,
            0.012413744994965253,
            -4.77,
            1.5390107705214922,
            1.2391250131726483,
            -2.256081443570432,
            f64::NAN,
        ],
    );
}

// torch 2.13.0:
//   F.kl_div(f32(X), f32(P), reduction='none')
//     -> shape [4, 3] [0.59032756, -0.26188758, -0.020258516, -0.1602585, -0.040258512, 0.18148516, 0.32880813, -0.31619185, 0.053483695, 0.0, 0.8, 0.0]
//   F.kl_div(f32(X), f32(P), reduction='batchmean')
//     -> 0.28881234
//   F.kl_div(f32(X), f32(Y), reduction='none', log_target=True)
//     -> shape [4, 3] [0.5362561, -0.26246548, 0.17261785, -0.16620472, 1.3918422, -0.21636622, 0.47824326, -0.31269753, -0.04517916, 0.808545, -0.10953155, -0.0738765]
//   grad(lambda x: F.kl_div(x, f32(Y), reduction='mean', log_target=True), f32(X), 0.7)
//     -> shape [4, 3] [-0.039102003, -0.011777297, -0.014384823, -0.006463517, -0.047759295, -0.01941748, -0.021459635, -0.021459635, -0.017569661, -0.055488385, -0.0029042456, -0.0047882916]
//   grad(lambda t: F.kl_div(f32(X), t, reduction='batchmean'), f32(P), 0.7)
//     -> shape [4, 3] [0.3225819, -0.054151647, 0.13954757, -0.10545241, 0.104547575, 0.21469988, 0.36680472, -0.009445239, 0.19839911, f32::NAN, 0.315, f32::NAN]
//   grad(lambda t: F.kl_div(f32(X), t, reduction='none', log_target=True), f32(Y), f32(GZ))
//     -> shape [4, 3] [1.0617869, -0.1792841, 0.80908453, 0.071468025, -1.5252955, 0.11766991, -2.419911, -0.012691833, -0.5094699, -4.047481, 0.15832289, 0.013215683]
#[test]
fn f32_losses_and_gradients_match_torch() {
    let d = data();
    let f = |a: &ArrayD<f64>| a.mapv(|v| v as f32);
    let (x, p, y, gz) = (f(&d.x), f(&d.p), f(&y()), f(&d.gz));
    let g = arr0(0.7f32).into_dyn();
    // xlogy's log is glibc's in both: the elements are bit-identical.
    assert_bits(
        &kl_div(x.view(), p.view(), &kl(KlDivReduction::None)).unwrap(),
        &[4, 3],
        &[
            0.59032756,
            -0.26188758,
            -0.020258516,
            -0.1602585,
            -0.040258512,
            0.18148516,
            0.32880813,
            -0.31619185,
            0.053483695,
            0.0,
            0.8,
            0.0,
        ],
    );
    close32(
        &kl_div(x.view(), p.view(), &kl(KlDivReduction::BatchMean)).unwrap(),
        &[],
        &[0.28881234],
    );
    close32(
        &kl_div(x.view(), y.view(), &klt(KlDivReduction::None)).unwrap(),
        &[4, 3],
        &[
            0.5362561,
            -0.26246548,
            0.17261785,
            -0.16620472,
            1.3918422,
            -0.21636622,
            0.47824326,
            -0.31269753,
            -0.04517916,
            0.808545,
            -0.10953155,
            -0.0738765,
        ],
    );
    let gin = kl_div_backward(g.view(), x.view(), y.view(), &klt(KlDivReduction::Mean));
    close32(
        &gin.unwrap(),
        &[4, 3],
        &[
            -0.039102003,
            -0.011777297,
            -0.014384823,
            -0.006463517,
            -0.047759295,
            -0.01941748,
            -0.021459635,
            -0.021459635,
            -0.017569661,
            -0.055488385,
            -0.0029042456,
            -0.0047882916,
        ],
    );
    let gt = kl_div_target_backward(g.view(), x.view(), p.view(), &kl(KlDivReduction::BatchMean));
    close32(
        &gt.unwrap(),
        &[4, 3],
        &[
            0.3225819,
            -0.054151647,
            0.13954757,
            -0.10545241,
            0.104547575,
            0.21469988,
            0.36680472,
            -0.009445239,
            0.19839911,
            f32::NAN,
            0.315,
            f32::NAN,
        ],
    );
    let gt = kl_div_target_backward(gz.view(), x.view(), y.view(), &klt(KlDivReduction::None));
    close32(
        &gt.unwrap(),
        &[4, 3],
        &[
            1.0617869,
            -0.1792841,
            0.80908453,
            0.071468025,
            -1.5252955,
            0.11766991,
            -2.419911,
            -0.012691833,
            -0.5094699,
            -4.047481,
            0.15832289,
            0.013215683,
        ],
    );
}

/// This file's `XL`, `TL` and `YL`: 100,000 elements, more than six chunks of 16,384.
fn long_inputs() -> (ArrayD<f32>, ArrayD<f32>, ArrayD<f32>) {
    let x = Array1::from(gen32(100_000, 1)).into_dyn();
    let t =
        Array1::from_iter(gen32(300_000, 2).into_iter().step_by(3).map(|v| -v + 0.001)).into_dyn();
    let y = Array1::from_iter(gen32(300_000, 3).into_iter().step_by(3)).into_dyn();
    (x, t, y)
}

/// The f64 sum of an f32 gradient (torch: `.double().sum()`) and three of its entries.
fn summary(a: &ArrayD<f32>) -> ArrayD<f64> {
    let sum: f64 = a.iter().map(|&v| f64::from(v)).sum();
    v64(&[sum, a[[0]].into(), a[[12345]].into(), a[[99999]].into()])
}

// torch 2.13.0:
//   F.kl_div(XL, TL, reduction='sum')
//     -> -272.93134
//   F.kl_div(XL, TL, reduction='mean')
//     -> -0.0027293134
//   F.kl_div(XL, YL, reduction='batchmean', log_target=True)
//     -> 0.034742467
//   F.kl_div(XL, YL, reduction='sum', log_target=True)
//     -> 3474.2468
//   (lambda g: torch.cat([g.double().sum().reshape(1), pick(g, [0, 12345, 99999]).double()]))(grad(lambda t: F.kl_div(XL, t, reduction='sum'), TL, 0.7))
//     -> [35585.055338032544, 0.6688405275344849, 0.9224276542663574, 1.0231308937072754]
//   (lambda g: torch.cat([g.double().sum().reshape(1), pick(g, [0, 12345, 99999]).double()]))(grad(lambda t: F.kl_div(XL, t, reduction='mean', log_target=True), YL, 0.7))
//     -> [0.4664697249609162, 8.95744415174704e-06, 7.0486094045918435e-06, 6.280992693064036e-06]
//   F.kl_div(XL.double(), TL.double(), reduction='sum')
//     -> -272.9312737402446
//   F.kl_div(XL.double(), YL.double(), reduction='mean', log_target=True)
//     -> 0.034742469837249615
#[test]
fn a_100000_element_input_matches_torch_within_tolerance() {
    let (x, t, y) = long_inputs();
    let run =
        |t: &ArrayD<f32>, options: KlDivOptions| kl_div(x.view(), t.view(), &options).unwrap();
    close32(&run(&t, kl(KlDivReduction::Sum)), &[], &[-272.93134]);
    close32(&run(&t, kl(KlDivReduction::Mean)), &[], &[-0.0027293134]);
    close32(
        &run(&y, klt(KlDivReduction::BatchMean)),
        &[],
        &[0.034742467],
    );
    close32(&run(&y, klt(KlDivReduction::Sum)), &[], &[3474.2468]);
    let g = arr0(0.7f32).into_dyn();
    let gt =
        kl_div_target_backward(g.view(), x.view(), t.view(), &kl(KlDivReduction::Sum)).unwrap();
    within_f32_tolerance(
        &summary(&gt),
        &[4],
        &[
            35585.055338032544,
            0.6688405275344849,
            0.9224276542663574,
            1.0231308937072754,
        ],
    );
    let gt =
        kl_div_target_backward(g.view(), x.view(), y.view(), &klt(KlDivReduction::Mean)).unwrap();
    within_f32_tolerance(
        &summary(&gt),
        &[4],
        &[
            0.4664697249609162,
            8.95744415174704e-06,
            7.0486094045918435e-06,
            6.280992693064036e-06,
        ],
    );
    let f = |a: &ArrayD<f32>| a.mapv(f64::from);
    let (x, t, y) = (f(&x), f(&t), f(&y));
    assert_close(
        &forward(&x, &t, kl(KlDivReduction::Sum)),
        &[],
        &[-272.9312737402446],
    );
    assert_close(
        &forward(&x, &y, klt(KlDivReduction::Mean)),
        &[],
        &[0.034742469837249615],
    );
}

type Backward32 = fn(
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    &KlDivOptions,
) -> Result<ArrayD<f32>, LossError>;

#[test]
fn one_two_and_four_threads_give_bit_identical_losses_and_gradients() {
    // A (400, 250) input against a (250) target: 100,000 broadcast elements, so both the
    // chunked sums and the sums back over the broadcast dimension run.
    let x = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 1)).unwrap();
    let t = Array1::from_iter(gen32(250, 2).into_iter().map(|v| -v)).into_dyn();
    let g_none = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 4)).unwrap();
    let g_scalar = arr0(0.7f32).into_dyn();
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<u32>>();
    let backwards: [Backward32; 2] = [kl_div_backward, kl_div_target_backward];
    for reduction in [
        KlDivReduction::None,
        KlDivReduction::Mean,
        KlDivReduction::Sum,
        KlDivReduction::BatchMean,
    ] {
        for log_target in [false, true] {
            let options = kl(reduction).log_target(log_target);
            let g = match reduction {
                KlDivReduction::None => g_none.view(),
                _ => g_scalar.view(),
            };
            // The broadcast target, and the full-shape one (the one-pass gradients).
            for target in [t.view(), x.view()] {
                let run = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| {
                        let mut all = bits(&kl_div(x.view(), target.view(), &options).unwrap());
                        for backward in backwards {
                            all.extend(bits(
                                &backward(g.view(), x.view(), target.view(), &options).unwrap(),
                            ));
                        }
                        all
                    })
                };
                let one = run(1);
                assert_eq!(one, run(2), "{options:?}");
                assert_eq!(one, run(4), "{options:?}");
            }
        }
    }
}

// torch 2.13.0:
//   F.kl_div(torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D))
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0
#[test]
fn the_shape_check_gives_the_broadcast_shape_or_the_forwards_error() {
    assert_eq!(crate::divergence::check(&[4, 1], &[3]).unwrap(), vec![4, 3]);
    assert_eq!(crate::divergence::check(&[], &[2]).unwrap(), vec![2]);
    assert_err(
        crate::divergence::check(&[2, 3], &[4, 3]),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0",
    );
    #[cfg(feature = "unstable-public-internals")]
    {
        use crate::internals::check_kl_div_shapes;
        assert_eq!(check_kl_div_shapes(&[4, 1], &[3]).unwrap(), vec![4, 3]);
        assert_err(
            check_kl_div_shapes(&[2, 3], &[4, 3]),
            ErrorKind::RuntimeError,
            "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0",
        );
    }
}

// The vectorisable f64 exp: within an ulp of glibc's over the whole range, with its
// overflow, underflow (subnormals rounded once) and NaN.
#[test]
fn exp_f64_is_within_an_ulp_everywhere() {
    use crate::kernels::exp_f64;
    let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
    for i in 0..200_001 {
        let x = -746.0 + 1456.0 * (i as f64) / 200_000.0;
        let (ours, libm) = (exp_f64(x), x.exp());
        assert!(
            ulps(ours, libm) <= 1,
            "exp({x:e}): {ours:e} against {libm:e}"
        );
    }
    for x in [
        -1e-300, 0.0, -0.0, 1e-300, 0.5, -0.5, 709.78, 709.79, -745.1, -745.2,
    ] {
        assert!(ulps(exp_f64(x), x.exp()) <= 1, "exp({x:e})");
    }
    assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(exp_f64(1000.0), f64::INFINITY);
    assert!(exp_f64(f64::NAN).is_nan());
}
