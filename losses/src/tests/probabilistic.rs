// poisson_nll_loss and gaussian_nll_loss, forward and backward: every option and
// reduction, the Stirling term's mask, the variance's shapes, clamp and errors,
// broadcasting, 0-D and empty inputs, NaN and infinities, every gradient (and the
// float variance's refusal), f32, a long input and thread-count independence. Besides
// the preamble's tensors, these tests use (in the oracle interpreter, after the
// preamble):
//
//     E = torch.zeros(0, 3, dtype=D)
//     C = torch.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 5.0], [1.0, 4.0, 0.0], [7.0, 2.0, 1.5]], dtype=D)
//     RATE = torch.tensor([[0.5, 0.9, 0.3], [1.2, 0.0, 0.4], [0.25, 2.5, 0.25], [2.0, 0.5, 0.1]], dtype=D)
//     V = torch.tensor([[0.5, 0.9, 0.3], [1.2, 1e-8, 0.4], [0.25, 0.0, 0.25], [2.0, 0.5, 0.1]], dtype=D)
//     V4 = torch.tensor([0.5, 2.0, 1e-7, 0.8], dtype=D)
//     XL = torch.from_numpy(gen32(100000, 1))
//     TL = torch.from_numpy(-gen32(300000, 2)[::3].copy() + np.float32(0.001))
//     YL = torch.from_numpy(gen32(300000, 3)[::3].copy())
//     def f32(t): return t.to(torch.float32)
//     def gerr(fn, x, g):  # autograd's error for a grad_output of the wrong shape
//         x = x.clone().requires_grad_(True)
//         return torch.autograd.grad(fn(x), x, g)
//     def pick(t, idx): return t.reshape(-1)[list(idx)]

use ndarray::{Array1, ArrayD, ArrayViewD, IxDyn, arr0, s};

use super::divergence::{close32, within_f32_tolerance};
use super::*;

fn v64(values: &[f64]) -> ArrayD<f64> {
    Array1::from(values.to_vec()).into_dyn()
}

fn po(reduction: Reduction) -> PoissonNllOptions {
    PoissonNllOptions::default().reduction(reduction)
}

fn rate(reduction: Reduction) -> PoissonNllOptions {
    po(reduction).log_input(false)
}

fn ga(reduction: Reduction) -> GaussianNllOptions {
    GaussianNllOptions::default().reduction(reduction)
}

/// This file's `C`: counts, with zeros, ones and a non-integer.
fn counts() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[0.0, 1.0, 3.0, 2.0, 0.0, 5.0, 1.0, 4.0, 0.0, 7.0, 2.0, 1.5],
    )
}

/// This file's `RATE`: rates, one of them 0.
fn rates() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[0.5, 0.9, 0.3, 1.2, 0.0, 0.4, 0.25, 2.5, 0.25, 2.0, 0.5, 0.1],
    )
}

/// This file's `V`: variances, one below eps and one 0.
fn variances() -> ArrayD<f64> {
    a64(
        &[4, 3],
        &[
            0.5, 0.9, 0.3, 1.2, 1e-8, 0.4, 0.25, 0.0, 0.25, 2.0, 0.5, 0.1,
        ],
    )
}

/// This file's `V4`: one variance per row of a (4, 3) input.
fn v4() -> ArrayD<f64> {
    v64(&[0.5, 2.0, 1e-7, 0.8])
}

fn var(v: &ArrayD<f64>) -> Variance<'_, f64> {
    Variance::tensor(v.view())
}

fn poisson(x: &ArrayD<f64>, t: &ArrayD<f64>, options: PoissonNllOptions) -> ArrayD<f64> {
    poisson_nll_loss(x.view(), t.view(), &options).unwrap()
}

fn gauss(
    x: &ArrayD<f64>,
    t: &ArrayD<f64>,
    v: &ArrayD<f64>,
    options: GaussianNllOptions,
) -> ArrayD<f64> {
    gaussian_nll_loss(x.view(), t.view(), Variance::tensor(v.view()), &options).unwrap()
}

// ---------------------------------------------------------------------------------
// poisson_nll_loss

// torch 2.13.0:
//   F.poisson_nll_loss(Z, C, reduction='none')
//     -> shape [4, 3] [0.3464558103300574, 2.213687135817455, -0.24567746661518353, 5.216535545423911, 1.2460767305873808, 4.494858066222942, 2.7206512130604295, 0.8808107741923882, 0.06203850737735832, 3.4703200460356394, 5.235774004022845, 3.775434950967321]
//   F.poisson_nll_loss(Z, C)
//     -> 2.4514137764518784
//   F.poisson_nll_loss(Z, C, reduction='sum')
//     -> 29.41696531742254
//   F.poisson_nll_loss(Z, C, full=True, reduction='none')
//     -> shape [4, 3] [0.3464558103300574, 2.213687135817455, 1.5184040769278733, 5.868342030028447, 1.2460767305873808, 9.265705117815166, 2.7206512130604295, 4.038073932436569, 0.06203850737735832, 11.983584697155163, 5.887580488627381, 4.005303700388323]
//   F.poisson_nll_loss(Z, C, full=True)
//     -> 4.096325286712633
#[test]
fn poisson_with_log_rates_is_exp_x_minus_t_x_plus_the_stirling_term_with_full() {
    let (d, c) = (data(), counts());
    assert_close(
        &poisson(&d.z, &c, po(Reduction::None)),
        &[4, 3],
        &[
            0.3464558103300574,
            2.213687135817455,
            -0.24567746661518353,
            5.216535545423911,
            1.2460767305873808,
            4.494858066222942,
            2.7206512130604295,
            0.8808107741923882,
            0.06203850737735832,
            3.4703200460356394,
            5.235774004022845,
            3.775434950967321,
        ],
    );
    assert_close(
        &poisson(&d.z, &c, PoissonNllOptions::default()),
        &[],
        &[2.4514137764518784],
    );
    assert_close(
        &poisson(&d.z, &c, po(Reduction::Sum)),
        &[],
        &[29.41696531742254],
    );
    assert_close(
        &poisson(&d.z, &c, po(Reduction::None).full(true)),
        &[4, 3],
        &[
            0.3464558103300574,
            2.213687135817455,
            1.5184040769278733,
            5.868342030028447,
            1.2460767305873808,
            9.265705117815166,
            2.7206512130604295,
            4.038073932436569,
            0.06203850737735832,
            11.983584697155163,
            5.887580488627381,
            4.005303700388323,
        ],
    );
    assert_close(
        &poisson(&d.z, &c, po(Reduction::Mean).full(true)),
        &[],
        &[4.096325286712633],
    );
    let defaults = PoissonNllOptions::default();
    assert!(defaults.log_input && !defaults.full);
    assert_eq!((defaults.eps, defaults.reduction), (1e-8, Reduction::Mean));
}

// A zero rate is log(0 + eps): a large but finite loss for a non-zero count.
// torch 2.13.0:
//   F.poisson_nll_loss(RATE, C, log_input=False, reduction='none')
//     -> shape [4, 3] [0.5, 1.005360504546715, 3.91191831297781, 0.8353568697454243, 0.0, 4.981453534370777, 1.6362943211198915, -1.16516294349662, 0.25, -2.852030298919617, 1.8862943211198908, 3.5538774894910756]
//   F.poisson_nll_loss(RATE, C, log_input=False, full=True)
//     -> 2.856858352840367
//   F.poisson_nll_loss(RATE, C, log_input=False, eps=0.5, reduction='sum')
//     -> -1.0560592762045509
//   F.poisson_nll_loss(RATE, C, log_input=False, eps=-0.25, reduction='none')
//     -> shape [4, 3] [0.5, 1.3307829160924542, 9.287196820661975, 1.3025865887751011, nan, 9.885599924429405, inf, -0.7437208648653151, nan, -1.9173105155479586, 3.272588722239781, nan]
#[test]
fn poisson_with_rates_is_x_minus_t_log_x_plus_eps() {
    let (r, c) = (rates(), counts());
    assert_close(
        &poisson(&r, &c, rate(Reduction::None)),
        &[4, 3],
        &[
            0.5,
            1.005360504546715,
            3.91191831297781,
            0.8353568697454243,
            0.0,
            4.981453534370777,
            1.6362943211198915,
            -1.16516294349662,
            0.25,
            -2.852030298919617,
            1.8862943211198908,
            3.5538774894910756,
        ],
    );
    assert_close(
        &poisson(&r, &c, rate(Reduction::Mean).full(true)),
        &[],
        &[2.856858352840367],
    );
    assert_close(
        &poisson(&r, &c, rate(Reduction::Sum).eps(0.5)),
        &[],
        &[-1.0560592762045509],
    );
    // No check on eps: rates below -eps make the log NaN, equal to it -inf.
    assert_close(
        &poisson(&r, &c, rate(Reduction::None).eps(-0.25)),
        &[4, 3],
        &[
            0.5,
            1.3307829160924542,
            9.287196820661975,
            1.3025865887751011,
            f64::NAN,
            9.885599924429405,
            f64::INFINITY,
            -0.7437208648653151,
            f64::NAN,
            -1.9173105155479586,
            3.272588722239781,
            f64::NAN,
        ],
    );
}

// The Stirling term is masked_fill(target <= 1, 0): 0 at t <= 1 (also 0 and negative
// counts, whose log is -inf or NaN), kept for a NaN or infinite target.
// torch 2.13.0:
//   F.poisson_nll_loss(torch.zeros(9, dtype=D), torch.tensor([0.0, 0.5, 1.0, 1.0001, 2.0, float('nan'), float('inf'), -1.0, 150.0], dtype=D), full=True, reduction='none')
//     -> [1.0, 1.0, 1.0, 0.9189885357046728, 1.651806484604536, nan, nan, 1.0, 606.019550294691]
#[test]
fn the_stirling_term_applies_only_where_the_target_is_above_one() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let t = v64(&[0.0, 0.5, 1.0, 1.0001, 2.0, nan, inf, -1.0, 150.0]);
    assert_close(
        &poisson(&zeros64(&[9]), &t, po(Reduction::None).full(true)),
        &[9],
        &[
            1.0,
            1.0,
            1.0,
            0.9189885357046728,
            1.651806484604536,
            f64::NAN,
            f64::NAN,
            1.0,
            606.019550294691,
        ],
    );
}

// exp overflows to inf for a large log-rate (f32 from 89), log_input=False with a
// negative rate is NaN, an infinite rate is inf - t * inf (NaN for t > 0).
// torch 2.13.0:
//   F.poisson_nll_loss(torch.tensor([710.0, 88.0, -800.0, float('inf'), float('-inf'), float('nan')], dtype=D), torch.tensor([1.0, 2.0, 3.0, 1.0, 1.0, 0.0], dtype=D), reduction='none')
//     -> [inf, 1.6516362549940018e+38, 2400.0, nan, inf, nan]
//   F.poisson_nll_loss(f32(torch.tensor([89.0, 88.0, -104.0, -60.0], dtype=D)), f32(torch.tensor([1.0, 2.0, 3.0, 0.0], dtype=D)), reduction='none')
//     -> [f32::INFINITY, 1.6516363e+38, 312.0, 8.756511e-27]
//   F.poisson_nll_loss(torch.tensor([-1.0, 0.0, float('inf'), float('inf'), 3.0], dtype=D), torch.tensor([1.0, 0.0, 0.0, 1.0, float('nan')], dtype=D), log_input=False, reduction='none')
//     -> [nan, 0.0, nan, nan, nan]
#[test]
fn poisson_overflow_negative_rates_and_infinities_follow_torch() {
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    let x = v64(&[710.0, 88.0, -800.0, inf, -inf, nan]);
    let t = v64(&[1.0, 2.0, 3.0, 1.0, 1.0, 0.0]);
    assert_close(
        &poisson(&x, &t, po(Reduction::None)),
        &[6],
        &[
            f64::INFINITY,
            1.6516362549940018e+38,
            2400.0,
            f64::NAN,
            f64::INFINITY,
            f64::NAN,
        ],
    );
    let x32 = Array1::from(vec![89.0f32, 88.0, -104.0, -60.0]).into_dyn();
    let t32 = Array1::from(vec![1.0f32, 2.0, 3.0, 0.0]).into_dyn();
    let got = poisson_nll_loss(x32.view(), t32.view(), &po(Reduction::None)).unwrap();
    close32(
        &got,
        &[4],
        &[f32::INFINITY, 1.6516363e+38, 312.0, 8.756511e-27],
    );
    let x = v64(&[-1.0, 0.0, inf, inf, 3.0]);
    let t = v64(&[1.0, 0.0, 0.0, 1.0, nan]);
    assert_close(
        &poisson(&x, &t, rate(Reduction::None)),
        &[5],
        &[f64::NAN, 0.0, f64::NAN, f64::NAN, f64::NAN],
    );
}

// The common mistake: rates passed with log_input=True (the default) are read as
// log-rates, and log-rates passed with log_input=False are negative rates (NaN).
// torch 2.13.0:
//   F.poisson_nll_loss(RATE[2], C[2], reduction='sum')
//     -> 4.500544794078956
//   F.poisson_nll_loss(RATE[2], C[2], log_input=False, reduction='sum')
//     -> 0.7211313776232715
//   F.poisson_nll_loss(Z[0], C[0], log_input=False, reduction='sum')
//     -> nan
#[test]
fn rates_read_as_log_rates_or_log_rates_as_rates_give_the_wrong_loss() {
    let (d, r, c) = (data(), rates(), counts());
    let (r2, c2) = (
        contiguous(r.slice(s![2, ..])),
        contiguous(c.slice(s![2, ..])),
    );
    assert_close(
        &poisson(&r2, &c2, po(Reduction::Sum)),
        &[],
        &[4.500544794078956],
    );
    assert_close(
        &poisson(&r2, &c2, rate(Reduction::Sum)),
        &[],
        &[0.7211313776232715],
    );
    let (z0, c0) = (
        contiguous(d.z.slice(s![0, ..])),
        contiguous(c.slice(s![0, ..])),
    );
    assert_close(&poisson(&z0, &c0, rate(Reduction::Sum)), &[], &[f64::NAN]);
}

// torch 2.13.0:
//   F.poisson_nll_loss(Z, C[1], full=True, reduction='none')
//     -> shape [4, 3] [3.1182622949345937, 0.12368713581745483, 2.705169584977041, 5.868342030028447, 1.2460767305873808, 9.265705117815166, 6.022457697664965, 1.0408107741923882, 18.73288555896958, 2.122126530640175, 0.07577400402284548, 17.156282002559546]
//   F.poisson_nll_loss(Z[:, :1], C[1], reduction='mean')
//     -> 4.187657320379176
//   F.poisson_nll_loss(torch.tensor(0.5, dtype=D), C[3], log_input=False, full=True, reduction='none')
//     -> [13.865294775039139, 2.5381008057244268, 1.7695894902609197]
//   F.poisson_nll_loss(Z, torch.tensor(3.0, dtype=D), reduction='sum')
//     -> 55.416965317422545
//   F.poisson_nll_loss(E, E, reduction='none')
//     -> shape [0, 3] []
//   F.poisson_nll_loss(E, E, reduction='sum')
//     -> 0.0
//   F.poisson_nll_loss(E, E, full=True)
//     -> nan
#[test]
fn poisson_broadcasts_and_handles_0d_and_empty_inputs() {
    let (d, c) = (data(), counts());
    let c1 = contiguous(c.slice(s![1, ..]));
    let c3 = contiguous(c.slice(s![3, ..]));
    let zc = contiguous(d.z.slice(s![.., ..1]));
    assert_close(
        &poisson(&d.z, &c1, po(Reduction::None).full(true)),
        &[4, 3],
        &[
            3.1182622949345937,
            0.12368713581745483,
            2.705169584977041,
            5.868342030028447,
            1.2460767305873808,
            9.265705117815166,
            6.022457697664965,
            1.0408107741923882,
            18.73288555896958,
            2.122126530640175,
            0.07577400402284548,
            17.156282002559546,
        ],
    );
    assert_close(
        &poisson(&zc, &c1, po(Reduction::Mean)),
        &[],
        &[4.187657320379176],
    );
    let half = arr0(0.5).into_dyn();
    assert_close(
        &poisson(&half, &c3, rate(Reduction::None).full(true)),
        &[3],
        &[13.865294775039139, 2.5381008057244268, 1.7695894902609197],
    );
    assert_close(
        &poisson(&d.z, &arr0(3.0).into_dyn(), po(Reduction::Sum)),
        &[],
        &[55.416965317422545],
    );
    let e = zeros64(&[0, 3]);
    assert_close(&poisson(&e, &e, po(Reduction::None)), &[0, 3], &[]);
    assert_close(&poisson(&e, &e, po(Reduction::Sum)), &[], &[0.0]);
    assert_close(
        &poisson(&e, &e, po(Reduction::Mean).full(true)),
        &[],
        &[f64::NAN],
    );
}

// torch 2.13.0:
//   F.poisson_nll_loss(Z, C[:, :2])
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1
//   F.poisson_nll_loss(Z[0], torch.zeros(2, dtype=D), log_input=False, full=True)
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0
//   gerr(lambda x: F.poisson_nll_loss(x, C, reduction='none'), Z, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
//   gerr(lambda x: F.poisson_nll_loss(x, C), Z, torch.ones(4, 3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([4, 3]) and output[0] has a shape of torch.Size([]).
#[test]
fn poisson_errors_are_the_broadcast_error_naming_the_target_first_and_autograds_mismatch() {
    let (d, c) = (data(), counts());
    let c2 = contiguous(c.slice(s![.., ..2]));
    let one = arr0(1.0).into_dyn();
    let options = PoissonNllOptions::default();
    let err = assert_err(
        poisson_nll_loss(d.z.view(), c2.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    assert!(err.hint().contains("[4, 2]"), "{err}");
    assert_err(
        poisson_nll_loss_backward(one.view(), d.z.view(), c2.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    assert_err(
        poisson_nll_loss_target_backward(one.view(), d.z.view(), c2.view(), &options),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1",
    );
    let z0 = d.z.slice(s![0, ..]);
    let t2 = zeros64(&[2]);
    assert_err(
        poisson_nll_loss(z0, t2.view(), &rate(Reduction::Mean).full(true)),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0",
    );
    let g3 = zeros64(&[3]);
    let none = po(Reduction::None);
    assert_err(
        poisson_nll_loss_backward(g3.view(), d.z.view(), c.view(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_err(
        poisson_nll_loss_target_backward(g3.view(), d.z.view(), c.view(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_err(
        poisson_nll_loss_backward(d.gz.view(), d.z.view(), c.view(), &options),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([4, 3]) and output[0] has a shape of torch.Size([]).",
    );
}

// torch 2.13.0:
//   grad(lambda x: F.poisson_nll_loss(x, C, reduction='none'), Z, GZ)
//     -> shape [4, 3] [0.3048811130904505, -2.5938860779803337, -0.9952575105673045, 2.481269146403154, -0.8597929441052927, -4.6006933531148295, 2.657937530647171, 0.6806135219357508, -0.12345662968094305, 14.558263894118028, 5.099198889339459, -2.2774497289426128]
//   grad(lambda x: F.poisson_nll_loss(x, C, full=True), Z, 0.7)
//     -> shape [4, 3] [0.020209922269253347, -0.051118250410648464, -0.030081185552552375, -0.11220209318360515, 0.07268780928426387, -0.2657166128036617, -0.054212012571474934, -0.172619371505444, 0.0036189129303459016, -0.36923133064792096, -0.11224651643200068, -0.08251629452690626]
//   grad(lambda x: F.poisson_nll_loss(x, C, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [0.24251906723104016, -0.6134190049277816, -0.36097422663062817, -1.3464251182032618, 0.8722537114111665, -3.188599353643941, -0.6505441508576992, -2.071432458065328, 0.04342695516415082, -4.430775967775052, -1.346958197184008, -0.990195534322875]
//   grad(lambda x: F.poisson_nll_loss(x, C, log_input=False, reduction='none'), RATE, GZ)
//     -> shape [4, 3] [0.88, -0.328888852345679, -17.36999935666669, 0.8599999820833335, -0.69, -11.614999684375007, 8.579999542400019, 0.13799999852800002, -1.99, 5.74999995975, 7.949999788000003, -22.539997585000243]
//   grad(lambda x: F.poisson_nll_loss(x, C, log_input=False, full=True, eps=0.5), RATE, 0.7)
//     -> shape [4, 3] [0.05833333333333333, 0.016666666666666663, -0.16041666666666665, -0.010294117647058822, 0.05833333333333333, -0.26574074074074067, -0.019444444444444438, -0.019444444444444438, 0.05833333333333333, -0.10499999999999998, -0.05833333333333333, -0.08750000000000002]
//   grad(lambda x: F.poisson_nll_loss(x, C, log_input=False, reduction='sum'), RATE, 0.7)
//     -> shape [4, 3] [0.7, -0.07777776913580248, -6.299999766666674, -0.46666665694444465, 0.7, -8.049999781250007, -2.0999998880000046, -0.41999999552, 0.7, -1.74999998775, -2.0999999440000003, -9.799998950000104]
#[test]
fn poisson_input_gradient_is_exp_x_minus_t_or_one_minus_t_over_x_plus_eps() {
    let (d, c, r) = (data(), counts(), rates());
    let g = arr0(0.7).into_dyn();
    let run = |g: &ArrayD<f64>, x: &ArrayD<f64>, options: PoissonNllOptions| {
        poisson_nll_loss_backward(g.view(), x.view(), c.view(), &options).unwrap()
    };
    assert_close(
        &run(&d.gz, &d.z, po(Reduction::None)),
        &[4, 3],
        &[
            0.3048811130904505,
            -2.5938860779803337,
            -0.9952575105673045,
            2.481269146403154,
            -0.8597929441052927,
            -4.6006933531148295,
            2.657937530647171,
            0.6806135219357508,
            -0.12345662968094305,
            14.558263894118028,
            5.099198889339459,
            -2.2774497289426128,
        ],
    );
    assert_close(
        &run(&g, &d.z, po(Reduction::Mean).full(true)),
        &[4, 3],
        &[
            0.020209922269253347,
            -0.051118250410648464,
            -0.030081185552552375,
            -0.11220209318360515,
            0.07268780928426387,
            -0.2657166128036617,
            -0.054212012571474934,
            -0.172619371505444,
            0.0036189129303459016,
            -0.36923133064792096,
            -0.11224651643200068,
            -0.08251629452690626,
        ],
    );
    assert_close(
        &run(&g, &d.z, po(Reduction::Sum)),
        &[4, 3],
        &[
            0.24251906723104016,
            -0.6134190049277816,
            -0.36097422663062817,
            -1.3464251182032618,
            0.8722537114111665,
            -3.188599353643941,
            -0.6505441508576992,
            -2.071432458065328,
            0.04342695516415082,
            -4.430775967775052,
            -1.346958197184008,
            -0.990195534322875,
        ],
    );
    assert_close(
        &run(&d.gz, &r, rate(Reduction::None)),
        &[4, 3],
        &[
            0.88,
            -0.328888852345679,
            -17.36999935666669,
            0.8599999820833335,
            -0.69,
            -11.614999684375007,
            8.579999542400019,
            0.13799999852800002,
            -1.99,
            5.74999995975,
            7.949999788000003,
            -22.539997585000243,
        ],
    );
    assert_close(
        &run(&g, &r, rate(Reduction::Mean).full(true).eps(0.5)),
        &[4, 3],
        &[
            0.05833333333333333,
            0.016666666666666663,
            -0.16041666666666665,
            -0.010294117647058822,
            0.05833333333333333,
            -0.26574074074074067,
            -0.019444444444444438,
            -0.019444444444444438,
            0.05833333333333333,
            -0.10499999999999998,
            -0.05833333333333333,
            -0.08750000000000002,
        ],
    );
    assert_close(
        &run(&g, &r, rate(Reduction::Sum)),
        &[4, 3],
        &[
            0.7,
            -0.07777776913580248,
            -6.299999766666674,
            -0.46666665694444465,
            0.7,
            -8.049999781250007,
            -2.0999998880000046,
            -0.41999999552,
            0.7,
            -1.74999998775,
            -2.0999999440000003,
            -9.799998950000104,
        ],
    );
}

// The target is differentiable. With full, the Stirling branches run even where the
// mask zeroed their gradient: 0 * log(0) and 0 / 0 make every zero count NaN.
// torch 2.13.0:
//   grad(lambda t: F.poisson_nll_loss(Z, t, reduction='none'), C, GZ)
//     -> shape [4, 3] [0.9328000000000001, 6.1864, -1.7563, -3.3152999999999997, 0.1518, 0.8181, -7.579, 0.0092, -5.5322, -0.9199999999999999, -6.837, 3.9606000000000003]
//   grad(lambda t: F.poisson_nll_loss(Z, t, reduction='sum'), C, 0.7)
//     -> shape [4, 3] [0.742, 1.4629999999999999, -0.637, 1.7989999999999997, -0.154, 0.567, 1.8549999999999998, -0.027999999999999997, 1.9459999999999997, 0.27999999999999997, 1.8059999999999998, 1.722]
//   grad(lambda t: F.poisson_nll_loss(Z, t, full=True, reduction='none'), C, GZ)
//     -> shape [4, 3] [nan, 6.1864, 0.6856883837961187, -4.53195986292233, nan, 2.5446322915584414, -7.579, -0.3383977030575749, nan, -5.559879057112934, -9.336340028483855, 5.150065490720811]
//   grad(lambda t: F.poisson_nll_loss(Z, t, full=True), C, 0.7)
//     -> shape [4, 3] [nan, 0.12191666666666665, 0.02072460572786196, 0.20493358553266344, nan, 0.14696721155865583, 0.15458333333333332, 0.08582550439866027, nan, 0.14101142536155992, 0.2055169188659968, 0.18659657575075403]
//   grad(lambda t: F.poisson_nll_loss(RATE, t, log_input=False), C, 0.7)
//     -> shape [4, 3] [0.04043358436599681, 0.006146029431891718, 0.07023174497456852, -0.010635424632425124, 1.074539710063888, 0.05345029123432572, 0.08086716873199366, -0.05345029292599237, 0.08086716873199366, -0.04043358582433013, 0.04043358436599681, 0.13431745792465294]
//   grad(lambda t: F.poisson_nll_loss(RATE, t, log_input=False, full=True, reduction='none'), C, GZ)
//     -> shape [4, 3] [nan, 0.3118670934582769, 4.765655831811843, -0.9814650439081283, nan, 2.651985905501338, -3.9648017584028894, -0.13685083380651922, nan, -3.0456405303250604, -4.33618000396771, 4.896627329441233]
//   grad(lambda t: F.poisson_nll_loss(torch.zeros(7, dtype=D), t, full=True, reduction='sum'), torch.tensor([0.0, 0.5, 1.0, 1.5, -1.0, float('nan'), 3.0], dtype=D), 1.0)
//     -> [nan, 0.0, 0.0, 0.7387984414414976, nan, nan, 1.2652789553347765]
#[test]
fn poisson_target_gradient_is_minus_x_and_with_full_nan_at_zero_counts() {
    let (d, c, r) = (data(), counts(), rates());
    let g = arr0(0.7).into_dyn();
    let run = |g: &ArrayD<f64>, x: &ArrayD<f64>, t: &ArrayD<f64>, options: PoissonNllOptions| {
        poisson_nll_loss_target_backward(g.view(), x.view(), t.view(), &options).unwrap()
    };
    assert_close(
        &run(&d.gz, &d.z, &c, po(Reduction::None)),
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
        &run(&g, &d.z, &c, po(Reduction::Sum)),
        &[4, 3],
        &[
            0.742,
            1.4629999999999999,
            -0.637,
            1.7989999999999997,
            -0.154,
            0.567,
            1.8549999999999998,
            -0.027999999999999997,
            1.9459999999999997,
            0.27999999999999997,
            1.8059999999999998,
            1.722,
        ],
    );
    assert_close(
        &run(&d.gz, &d.z, &c, po(Reduction::None).full(true)),
        &[4, 3],
        &[
            f64::NAN,
            6.1864,
            0.6856883837961187,
            -4.53195986292233,
            f64::NAN,
            2.5446322915584414,
            -7.579,
            -0.3383977030575749,
            f64::NAN,
            -5.559879057112934,
            -9.336340028483855,
            5.150065490720811,
        ],
    );
    assert_close(
        &run(&g, &d.z, &c, po(Reduction::Mean).full(true)),
        &[4, 3],
        &[
            f64::NAN,
            0.12191666666666665,
            0.02072460572786196,
            0.20493358553266344,
            f64::NAN,
            0.14696721155865583,
            0.15458333333333332,
            0.08582550439866027,
            f64::NAN,
            0.14101142536155992,
            0.2055169188659968,
            0.18659657575075403,
        ],
    );
    assert_close(
        &run(&g, &r, &c, rate(Reduction::Mean)),
        &[4, 3],
        &[
            0.04043358436599681,
            0.006146029431891718,
            0.07023174497456852,
            -0.010635424632425124,
            1.074539710063888,
            0.05345029123432572,
            0.08086716873199366,
            -0.05345029292599237,
            0.08086716873199366,
            -0.04043358582433013,
            0.04043358436599681,
            0.13431745792465294,
        ],
    );
    assert_close(
        &run(&d.gz, &r, &c, rate(Reduction::None).full(true)),
        &[4, 3],
        &[
            f64::NAN,
            0.3118670934582769,
            4.765655831811843,
            -0.9814650439081283,
            f64::NAN,
            2.651985905501338,
            -3.9648017584028894,
            -0.13685083380651922,
            f64::NAN,
            -3.0456405303250604,
            -4.33618000396771,
            4.896627329441233,
        ],
    );
    let t = v64(&[0.0, 0.5, 1.0, 1.5, -1.0, f64::NAN, 3.0]);
    let one = arr0(1.0).into_dyn();
    assert_close(
        &run(&one, &zeros64(&[7]), &t, po(Reduction::Sum).full(true)),
        &[7],
        &[
            f64::NAN,
            0.0,
            0.0,
            0.7387984414414976,
            f64::NAN,
            f64::NAN,
            1.2652789553347765,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.poisson_nll_loss(x, C, reduction='sum'), Z[0], 0.7)
//     -> [-6.029923731075838, -4.553676019711127, 0.30610309347748643]
//   grad(lambda x: F.poisson_nll_loss(x, C, log_input=False, full=True, reduction='none'), RATE[:, :1], GZ)
//     -> shape [4, 1] [-11.729999650000007, -3.0283333161805555, 10.039999395200024, 6.152499952537501]
//   grad(lambda t: F.poisson_nll_loss(Z, t, full=True, reduction='none'), C[3], GZ)
//     -> [-22.11807667309524, -1.0649197801415666, -0.6184759899097649]
//   grad(lambda t: F.poisson_nll_loss(RATE, t, log_input=False, full=True), C[:, 2:], 0.7)
//     -> shape [4, 1] [0.3382351759560429, 1.4165062113417561, nan, 0.2636071837185817]
//   grad(lambda t: F.poisson_nll_loss(Z, t, log_input=False, reduction='sum'), torch.tensor(2.0, dtype=D), 0.7)
//     -> nan
//   grad(lambda t: F.poisson_nll_loss(Z, t, reduction='mean'), C[3], 0.7)
//     -> [0.3896666666666666, 0.25725, 0.2998333333333333]
#[test]
fn poisson_broadcast_gradients_are_summed_back_to_each_operands_own_shape() {
    let (d, c, r) = (data(), counts(), rates());
    let g = arr0(0.7).into_dyn();
    let gx = |g: &ArrayD<f64>, x: &ArrayD<f64>, t: &ArrayD<f64>, o: PoissonNllOptions| {
        poisson_nll_loss_backward(g.view(), x.view(), t.view(), &o).unwrap()
    };
    let gt = |g: &ArrayD<f64>, x: &ArrayD<f64>, t: &ArrayD<f64>, o: PoissonNllOptions| {
        poisson_nll_loss_target_backward(g.view(), x.view(), t.view(), &o).unwrap()
    };
    let z0 = contiguous(d.z.slice(s![0, ..]));
    let rc = contiguous(r.slice(s![.., ..1]));
    let c3 = contiguous(c.slice(s![3, ..]));
    let cc = contiguous(c.slice(s![.., 2..]));
    assert_close(
        &gx(&g, &z0, &c, po(Reduction::Sum)),
        &[3],
        &[-6.029923731075838, -4.553676019711127, 0.30610309347748643],
    );
    assert_close(
        &gx(&d.gz, &rc, &c, rate(Reduction::None).full(true)),
        &[4, 1],
        &[
            -11.729999650000007,
            -3.0283333161805555,
            10.039999395200024,
            6.152499952537501,
        ],
    );
    assert_close(
        &gt(&d.gz, &d.z, &c3, po(Reduction::None).full(true)),
        &[3],
        &[-22.11807667309524, -1.0649197801415666, -0.6184759899097649],
    );
    assert_close(
        &gt(&g, &r, &cc, rate(Reduction::Mean).full(true)),
        &[4, 1],
        &[
            0.3382351759560429,
            1.4165062113417561,
            f64::NAN,
            0.2636071837185817,
        ],
    );
    let two = arr0(2.0).into_dyn();
    assert_close(&gt(&g, &d.z, &two, rate(Reduction::Sum)), &[], &[f64::NAN]);
    assert_close(
        &gt(&g, &d.z, &c3, po(Reduction::Mean)),
        &[3],
        &[0.3896666666666666, 0.25725, 0.2998333333333333],
    );
}

// torch 2.13.0:
//   F.poisson_nll_loss(Z.T, C.T, full=True, reduction='none')
//     -> shape [3, 4] [0.3464558103300574, 5.868342030028447, 2.7206512130604295, 11.983584697155163, 2.213687135817455, 1.2460767305873808, 4.038073932436569, 5.887580488627381, 1.5184040769278733, 9.265705117815166, 0.06203850737735832, 4.005303700388323]
//   grad(lambda x: F.poisson_nll_loss(x, C.T, reduction='none'), Z.T, GZ.T)
//     -> shape [3, 4] [0.3048811130904505, 2.481269146403154, 2.657937530647171, 14.558263894118028, -2.5938860779803337, -0.8597929441052927, 0.6806135219357508, 5.099198889339459, -0.9952575105673045, -4.6006933531148295, -0.12345662968094305, -2.2774497289426128]
//   grad(lambda t: F.poisson_nll_loss(RATE.T, t, log_input=False, full=True, reduction='none'), C.T, GZ.T)
//     -> shape [3, 4] [nan, -0.9814650439081283, -3.9648017584028894, -3.0456405303250604, 0.3118670934582769, nan, -0.13685083380651922, -4.33618000396771, 4.765655831811843, 2.651985905501338, nan, 4.896627329441233]
#[test]
fn poisson_transposed_views_give_the_transposed_loss_and_gradients() {
    let (d, c, r) = (data(), counts(), rates());
    let (zt, ct, rt, gt) = (d.z.t(), c.t(), r.t(), d.gz.t());
    let none = po(Reduction::None);
    assert_close(
        &poisson_nll_loss(zt.view(), ct.view(), &none.full(true)).unwrap(),
        &[3, 4],
        &[
            0.3464558103300574,
            5.868342030028447,
            2.7206512130604295,
            11.983584697155163,
            2.213687135817455,
            1.2460767305873808,
            4.038073932436569,
            5.887580488627381,
            1.5184040769278733,
            9.265705117815166,
            0.06203850737735832,
            4.005303700388323,
        ],
    );
    assert_close(
        &poisson_nll_loss_backward(gt.view(), zt.view(), ct.view(), &none).unwrap(),
        &[3, 4],
        &[
            0.3048811130904505,
            2.481269146403154,
            2.657937530647171,
            14.558263894118028,
            -2.5938860779803337,
            -0.8597929441052927,
            0.6806135219357508,
            5.099198889339459,
            -0.9952575105673045,
            -4.6006933531148295,
            -0.12345662968094305,
            -2.2774497289426128,
        ],
    );
    let options = rate(Reduction::None).full(true);
    let got = poisson_nll_loss_target_backward(gt.view(), rt.view(), ct.view(), &options);
    assert_close(
        &got.unwrap(),
        &[3, 4],
        &[
            f64::NAN,
            -0.9814650439081283,
            -3.9648017584028894,
            -3.0456405303250604,
            0.3118670934582769,
            f64::NAN,
            -0.13685083380651922,
            -4.33618000396771,
            4.765655831811843,
            2.651985905501338,
            f64::NAN,
            4.896627329441233,
        ],
    );
}

// ---------------------------------------------------------------------------------
// gaussian_nll_loss

// V's 1e-8 and 0 are clamped to eps = 1e-6.
// torch 2.13.0:
//   F.gaussian_nll_loss(Z, X, V, reduction='none')
//     -> shape [4, 3] [-0.3269735902799727, 1.7273752977266421, 14.498180264503702, 1.5482024450636438, 2247193.0922447215, -0.2961453659370775, -0.4481471805599452, 18043.092244721018, 5.292652819440053, 0.40907359027997264, 2.8218264097200274, 2.546707453502976]
//   F.gaussian_nll_loss(Z, X, V)
//     -> 188771.99643679883
//   F.gaussian_nll_loss(Z, X, V, reduction='sum')
//     -> 2265263.957241586
//   F.gaussian_nll_loss(Z, X, V, full=True, reduction='none')
//     -> shape [4, 3] [0.5919649429247, 2.646313830931315, 15.417118797708374, 2.4671409782683167, 2247194.011183255, 0.6227931672675951, 0.4707913526447275, 18044.01118325422, 6.211591352644726, 1.3280121234846454, 3.7407649429247, 3.465645986707649]
//   F.gaussian_nll_loss(Z, X, V, eps=0.3, reduction='sum')
//     -> 31.347440373595433
#[test]
fn gaussian_is_half_log_var_plus_squared_error_over_var_with_var_clamped_to_eps() {
    let (d, v) = (data(), variances());
    assert_close(
        &gauss(&d.z, &d.x, &v, ga(Reduction::None)),
        &[4, 3],
        &[
            -0.3269735902799727,
            1.7273752977266421,
            14.498180264503702,
            1.5482024450636438,
            2247193.0922447215,
            -0.2961453659370775,
            -0.4481471805599452,
            18043.092244721018,
            5.292652819440053,
            0.40907359027997264,
            2.8218264097200274,
            2.546707453502976,
        ],
    );
    assert_close(
        &gauss(&d.z, &d.x, &v, GaussianNllOptions::default()),
        &[],
        &[188771.99643679883],
    );
    assert_close(
        &gauss(&d.z, &d.x, &v, ga(Reduction::Sum)),
        &[],
        &[2265263.957241586],
    );
    assert_close(
        &gauss(&d.z, &d.x, &v, ga(Reduction::None).full(true)),
        &[4, 3],
        &[
            0.5919649429247,
            2.646313830931315,
            15.417118797708374,
            2.4671409782683167,
            2247194.011183255,
            0.6227931672675951,
            0.4707913526447275,
            18044.01118325422,
            6.211591352644726,
            1.3280121234846454,
            3.7407649429247,
            3.465645986707649,
        ],
    );
    assert_close(
        &gauss(&d.z, &d.x, &v, ga(Reduction::Sum).eps(0.3)),
        &[],
        &[31.347440373595433],
    );
    let defaults = GaussianNllOptions::default();
    assert_eq!(
        (defaults.full, defaults.eps, defaults.reduction),
        (false, 1e-6, Reduction::Mean)
    );
}

// A var one dimension short is unsqueezed (one variance per row); a var with one
// dimension of size 1 broadcasts; a 0-D var goes with a 1-D input only.
// torch 2.13.0:
//   F.gaussian_nll_loss(Z, X, V4, reduction='none')
//     -> shape [4, 3] [-0.3269735902799727, 2.857526409720027, 8.71352640972003, 1.2207985902799725, 1.4701735902799729, 0.3789735902799726, 61243.092244721054, 18043.092244721018, 1496443.0922447208, 0.044678224342895145, 1.8686782243428952, 0.35067822434289503]
//   F.gaussian_nll_loss(Z, X, V4.reshape(4, 1), reduction='sum')
//     -> 1575745.854793836
//   F.gaussian_nll_loss(Z, X, V[1:2], reduction='mean')
//     -> 454290.7228506001
//   F.gaussian_nll_loss(Z[0], X[0], torch.tensor(0.3, dtype=D), reduction='none')
//     -> [-0.5693197354963014, 4.738180264503698, 14.498180264503702]
//   F.gaussian_nll_loss(Z[0], X[0], torch.tensor([0.3], dtype=D), reduction='none')
//     -> [-0.5693197354963014, 4.738180264503698, 14.498180264503702]
#[test]
fn a_variance_per_row_or_with_one_dimension_of_one_broadcasts() {
    let (d, v, v4) = (data(), variances(), v4());
    assert_close(
        &gauss(&d.z, &d.x, &v4, ga(Reduction::None)),
        &[4, 3],
        &[
            -0.3269735902799727,
            2.857526409720027,
            8.71352640972003,
            1.2207985902799725,
            1.4701735902799729,
            0.3789735902799726,
            61243.092244721054,
            18043.092244721018,
            1496443.0922447208,
            0.044678224342895145,
            1.8686782243428952,
            0.35067822434289503,
        ],
    );
    let col = v4.clone().into_shape_with_order(IxDyn(&[4, 1])).unwrap();
    assert_close(
        &gauss(&d.z, &d.x, &col, ga(Reduction::Sum)),
        &[],
        &[1575745.854793836],
    );
    let v1 = contiguous(v.slice(s![1..2, ..]));
    assert_close(
        &gauss(&d.z, &d.x, &v1, ga(Reduction::Mean)),
        &[],
        &[454290.7228506001],
    );
    let (z0, x0) = (
        contiguous(d.z.slice(s![0, ..])),
        contiguous(d.x.slice(s![0, ..])),
    );
    assert_close(
        &gauss(&z0, &x0, &arr0(0.3).into_dyn(), ga(Reduction::None)),
        &[3],
        &[-0.5693197354963014, 4.738180264503698, 14.498180264503702],
    );
    assert_close(
        &gauss(&z0, &x0, &v64(&[0.3]), ga(Reduction::None)),
        &[3],
        &[-0.5693197354963014, 4.738180264503698, 14.498180264503702],
    );
}

// A float var is multiplied by ones_like(input): rounded to the input's type, checked
// for sign before that (in f64), clamped like a tensor.
// torch 2.13.0:
//   F.gaussian_nll_loss(Z, X, 0.3, reduction='none')
//     -> shape [4, 3] [-0.5693197354963014, 4.738180264503698, 14.498180264503702, 5.226180264503698, 6.8886802645037, -0.385986402162968, -0.3978197354963013, -0.5418197354963014, 4.386180264503698, -0.18531973549630137, 4.678680264503699, 0.6306802645036983]
//   F.gaussian_nll_loss(Z[0], X[0], 0.0, reduction='none')
//     -> [9793.092244721003, 1602043.0922447208, 4530043.092244722]
//   F.gaussian_nll_loss(Z[0], X[0], float('nan'), reduction='sum')
//     -> nan
//   F.gaussian_nll_loss(Z[0], X[0], float('inf'), reduction='none')
//     -> [inf, inf, inf]
//   F.gaussian_nll_loss(f32(Z), f32(X), 0.1, reduction='none')
//     -> shape [4, 3] [-1.0532924, 14.869205, 44.149208, 16.333204, 21.320705, -0.50329256, -0.5387921, -0.97079253, 13.813208, 0.09870732, 14.690706, 2.5467074]
//   F.gaussian_nll_loss(Z[:, :1], X[0], 0.3, reduction='sum')
//     -> 26.77116317404439
#[test]
fn a_float_variance_is_one_variance_of_the_inputs_type_for_every_element() {
    let d = data();
    let run = |x: &ArrayD<f64>, t: &ArrayD<f64>, v: f64, o: GaussianNllOptions| {
        gaussian_nll_loss(x.view(), t.view(), Variance::Scalar(v), &o).unwrap()
    };
    assert_close(
        &run(&d.z, &d.x, 0.3, ga(Reduction::None)),
        &[4, 3],
        &[
            -0.5693197354963014,
            4.738180264503698,
            14.498180264503702,
            5.226180264503698,
            6.8886802645037,
            -0.385986402162968,
            -0.3978197354963013,
            -0.5418197354963014,
            4.386180264503698,
            -0.18531973549630137,
            4.678680264503699,
            0.6306802645036983,
        ],
    );
    let (z0, x0) = (
        contiguous(d.z.slice(s![0, ..])),
        contiguous(d.x.slice(s![0, ..])),
    );
    assert_close(
        &run(&z0, &x0, 0.0, ga(Reduction::None)),
        &[3],
        &[9793.092244721003, 1602043.0922447208, 4530043.092244722],
    );
    assert_close(
        &run(&z0, &x0, f64::NAN, ga(Reduction::Sum)),
        &[],
        &[f64::NAN],
    );
    assert_close(
        &run(&z0, &x0, f64::INFINITY, ga(Reduction::None)),
        &[3],
        &[f64::INFINITY, f64::INFINITY, f64::INFINITY],
    );
    let f = |a: &ArrayD<f64>| a.mapv(|v| v as f32);
    let got = gaussian_nll_loss(
        f(&d.z).view(),
        f(&d.x).view(),
        Variance::Scalar(0.1),
        &ga(Reduction::None),
    );
    close32(
        &got.unwrap(),
        &[4, 3],
        &[
            -1.0532924,
            14.869205,
            44.149208,
            16.333204,
            21.320705,
            -0.50329256,
            -0.5387921,
            -0.97079253,
            13.813208,
            0.09870732,
            14.690706,
            2.5467074,
        ],
    );
    let zc = contiguous(d.z.slice(s![.., ..1]));
    assert_close(
        &run(&zc, &x0, 0.3, ga(Reduction::Sum)),
        &[],
        &[26.77116317404439],
    );
}

// eps = 0 leaves a zero variance at 0: log(0) + 0 / 0 is NaN, and d^2 / 0 is inf. A
// NaN eps makes clamp return NaN everywhere; a negative eps clamps nothing.
// torch 2.13.0:
//   F.gaussian_nll_loss(torch.tensor([0.0, 1.0, 2.0], dtype=D), torch.tensor([0.0, 0.0, 2.0], dtype=D), torch.tensor([0.0, 0.0, 1.0], dtype=D), eps=0.0, reduction='none')
//     -> [nan, nan, 0.0]
//   F.gaussian_nll_loss(Z[0], X[0], torch.ones(3, dtype=D), eps=float('nan'), reduction='none')
//     -> [nan, nan, nan]
//   F.gaussian_nll_loss(Z[0], X[0], torch.tensor([0.0, 1e-9, 2.0], dtype=D), eps=-1.0, reduction='none')
//     -> [nan, 1602049989.638367, 2.611598590279973]
//   F.gaussian_nll_loss(Z[0], X[0], torch.tensor([float('nan'), -0.0, float('inf')], dtype=D), reduction='none')
//     -> [nan, 1602043.0922447208, inf]
#[test]
fn eps_zero_nan_or_negative_and_nan_variances_follow_torchs_clamp() {
    let d = data();
    let (z0, x0) = (
        contiguous(d.z.slice(s![0, ..])),
        contiguous(d.x.slice(s![0, ..])),
    );
    let got = gauss(
        &v64(&[0.0, 1.0, 2.0]),
        &v64(&[0.0, 0.0, 2.0]),
        &v64(&[0.0, 0.0, 1.0]),
        ga(Reduction::None).eps(0.0),
    );
    assert_close(&got, &[3], &[f64::NAN, f64::NAN, 0.0]);
    assert_close(
        &gauss(&z0, &x0, &v64(&[1.0; 3]), ga(Reduction::None).eps(f64::NAN)),
        &[3],
        &[f64::NAN, f64::NAN, f64::NAN],
    );
    assert_close(
        &gauss(
            &z0,
            &x0,
            &v64(&[0.0, 1e-9, 2.0]),
            ga(Reduction::None).eps(-1.0),
        ),
        &[3],
        &[f64::NAN, 1602049989.638367, 2.611598590279973],
    );
    let v = v64(&[f64::NAN, -0.0, f64::INFINITY]);
    assert_close(
        &gauss(&z0, &x0, &v, ga(Reduction::None)),
        &[3],
        &[f64::NAN, 1602043.0922447208, f64::INFINITY],
    );
}

// The target broadcasts against the input (no check, no warning), then the loss
// against the variance.
// torch 2.13.0:
//   F.gaussian_nll_loss(Z[0], X, V[0], reduction='none')
//     -> shape [4, 3] [-0.3269735902799727, 1.7273752977266421, 14.498180264503702, -0.21697359027997257, -0.03262470227335759, 2.4806802645036994, 1.1910264097200267, 2.038208631059976, 5.800680264503699, -0.32097359027997263, 0.8718197421710865, 9.8981802645037]
//   F.gaussian_nll_loss(Z[:, :1], X[0], V4.reshape(4, 1), reduction='mean')
//     -> 330311.2204994864
//   F.gaussian_nll_loss(Z[:, :1], X[0], V4, reduction='sum')
//     -> 3963734.645993836
//   F.gaussian_nll_loss(E, E, torch.zeros(0, 1, dtype=D), reduction='none')
//     -> shape [0, 3] []
//   F.gaussian_nll_loss(E, E, 1.0)
//     -> nan
//   F.gaussian_nll_loss(E, E, torch.zeros(0, dtype=D), reduction='sum')
//     -> 0.0
//   F.gaussian_nll_loss(torch.zeros(1, 2, dtype=D), torch.zeros(1, 2, dtype=D), torch.zeros(0, 1, dtype=D), reduction='none')
//     -> shape [0, 2] []
#[test]
fn gaussian_broadcasts_the_target_then_the_variance_and_handles_empty_inputs() {
    let (d, v, v4) = (data(), variances(), v4());
    let z0 = contiguous(d.z.slice(s![0, ..]));
    let x0 = contiguous(d.x.slice(s![0, ..]));
    let zc = contiguous(d.z.slice(s![.., ..1]));
    let v0 = contiguous(v.slice(s![0, ..]));
    assert_close(
        &gauss(&z0, &d.x, &v0, ga(Reduction::None)),
        &[4, 3],
        &[
            -0.3269735902799727,
            1.7273752977266421,
            14.498180264503702,
            -0.21697359027997257,
            -0.03262470227335759,
            2.4806802645036994,
            1.1910264097200267,
            2.038208631059976,
            5.800680264503699,
            -0.32097359027997263,
            0.8718197421710865,
            9.8981802645037,
        ],
    );
    let col = v4.clone().into_shape_with_order(IxDyn(&[4, 1])).unwrap();
    assert_close(
        &gauss(&zc, &x0, &col, ga(Reduction::Mean)),
        &[],
        &[330311.2204994864],
    );
    assert_close(
        &gauss(&zc, &x0, &v4, ga(Reduction::Sum)),
        &[],
        &[3963734.645993836],
    );
    let e = zeros64(&[0, 3]);
    assert_close(
        &gauss(&e, &e, &zeros64(&[0, 1]), ga(Reduction::None)),
        &[0, 3],
        &[],
    );
    let mean = gaussian_nll_loss(
        e.view(),
        e.view(),
        Variance::Scalar(1.0),
        &ga(Reduction::Mean),
    );
    assert_close(&mean.unwrap(), &[], &[f64::NAN]);
    assert_close(
        &gauss(&e, &e, &zeros64(&[0]), ga(Reduction::Sum)),
        &[],
        &[0.0],
    );
    // An empty var passes PyTorch's size check (its mismatched sizes sum to 1) and
    // empties the loss.
    let z12 = zeros64(&[1, 2]);
    assert_close(
        &gauss(&z12, &z12, &zeros64(&[0, 1]), ga(Reduction::None)),
        &[0, 2],
        &[],
    );
}

// torch 2.13.0:
//   F.gaussian_nll_loss(Z, X, -V)
//     -> ValueError: var has negative entry/entries
//   F.gaussian_nll_loss(Z, X, -1e-300)
//     -> ValueError: var has negative entry/entries
//   F.gaussian_nll_loss(Z, X[:, :2], -V[0])
//     -> ValueError: var has negative entry/entries
//   F.gaussian_nll_loss(Z, X, V[0])
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(Z, X[:, :2], V[0])
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(Z, X[:, :2], V)
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1
//   F.gaussian_nll_loss(torch.zeros(3, 2, dtype=D), torch.zeros(3, 2, dtype=D), torch.zeros(0, 1, dtype=D))
//     -> RuntimeError: The size of tensor a (3) must match the size of tensor b (0) at non-singleton dimension 0
#[test]
fn gaussian_errors_come_in_pythons_order_sign_then_size_then_broadcasting() {
    let (d, v) = (data(), variances());
    let run = |x: &ArrayD<f64>, t: &ArrayD<f64>, var: Variance<'_, f64>| {
        gaussian_nll_loss(x.view(), t.view(), var, &GaussianNllOptions::default())
    };
    // V has a -0.0 after negation, which is not negative; -V has negative entries.
    let neg = v.mapv(|e| -e);
    let err = assert_err(
        run(&d.z, &d.x, Variance::tensor(neg.view())),
        ErrorKind::ValueError,
        "var has negative entry/entries",
    );
    assert!(err.hint().contains("log-variance"), "{err}");
    assert_err(
        run(&d.z, &d.x, Variance::Scalar(-1e-300)),
        ErrorKind::ValueError,
        "var has negative entry/entries",
    );
    let x2 = contiguous(d.x.slice(s![.., ..2]));
    let neg0 = contiguous(neg.slice(s![0, ..]));
    assert_err(
        run(&d.z, &x2, Variance::tensor(neg0.view())),
        ErrorKind::ValueError,
        "var has negative entry/entries",
    );
    let v0 = contiguous(v.slice(s![0, ..]));
    let err = assert_err(
        run(&d.z, &d.x, Variance::tensor(v0.view())),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert!(
        err.hint().contains("[3]") && err.hint().contains("[4, 3]"),
        "{err}"
    );
    assert_err(
        run(&d.z, &x2, Variance::tensor(v0.view())),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_err(
        run(&d.z, &x2, Variance::tensor(v.view())),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 1",
    );
    let z32 = zeros64(&[3, 2]);
    assert_err(
        run(&z32, &z32, Variance::tensor(zeros64(&[0, 1]).view())),
        ErrorKind::RuntimeError,
        "The size of tensor a (3) must match the size of tensor b (0) at non-singleton dimension 0",
    );
}

// Shapes PyTorch refuses: a var of another shape than the input's, the input's
// without its last dimension, or with one dimension of size 1.
// torch 2.13.0:
//   F.gaussian_nll_loss(Z, X, torch.ones(3, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(Z, X, torch.ones(1, 1, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(Z, X, torch.ones(4, 3, 1, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(Z, X, torch.tensor(1.0, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(Z[0], X[0], torch.ones(1, 1, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(torch.tensor(0.5, dtype=D), torch.tensor(0.0, dtype=D), torch.ones(1, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(torch.zeros(1, dtype=D), torch.zeros(1, dtype=D), torch.zeros(0, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(torch.tensor(0.5, dtype=D), torch.tensor(0.0, dtype=D), torch.tensor(2.0, dtype=D))
//     -> 0.40907359027997264
#[test]
fn a_variance_of_any_other_shape_is_of_incorrect_size() {
    let d = data();
    let run = |x: &ArrayD<f64>, t: &ArrayD<f64>, v: ArrayD<f64>| {
        gaussian_nll_loss(
            x.view(),
            t.view(),
            Variance::tensor(v.view()),
            &GaussianNllOptions::default(),
        )
    };
    let ones = |shape: &[usize]| ArrayD::from_elem(IxDyn(shape), 1.0);
    assert_err(
        run(&d.z, &d.x, ones(&[3])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_err(
        run(&d.z, &d.x, ones(&[1, 1])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_err(
        run(&d.z, &d.x, ones(&[4, 3, 1])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_err(
        run(&d.z, &d.x, ones(&[])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    let (z0, x0) = (
        contiguous(d.z.slice(s![0, ..])),
        contiguous(d.x.slice(s![0, ..])),
    );
    assert_err(
        run(&z0, &x0, ones(&[1, 1])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    let (half, zero) = (arr0(0.5).into_dyn(), arr0(0.0).into_dyn());
    assert_err(
        run(&half, &zero, ones(&[1])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_err(
        run(&zeros64(&[1]), &zeros64(&[1]), zeros64(&[0])),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_close(
        &run(&half, &zero, arr0(2.0).into_dyn()).unwrap(),
        &[],
        &[0.40907359027997264],
    );
}

// torch 2.13.0:
//   gerr(lambda x: F.gaussian_nll_loss(x, X, V, reduction='none'), Z, torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).
//   gerr(lambda x: F.gaussian_nll_loss(x, X, V), Z, torch.ones(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
//   torch.autograd.grad(F.gaussian_nll_loss(Z.clone().requires_grad_(True), X, 0.3), [0.3])
//     -> RuntimeError: all inputs have to be Tensors or GradientEdges, but got float
#[test]
fn gaussian_gradient_errors_are_autograds_and_a_float_variance_has_no_gradient() {
    let (d, v) = (data(), variances());
    let var = || Variance::tensor(v.view());
    let g3 = zeros64(&[3]);
    let none = ga(Reduction::None);
    assert_err(
        gaussian_nll_loss_backward(g3.view(), d.z.view(), d.x.view(), var(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_err(
        gaussian_nll_loss_target_backward(g3.view(), d.z.view(), d.x.view(), var(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    assert_err(
        gaussian_nll_loss_var_backward(g3.view(), d.z.view(), d.x.view(), var(), &none),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4, 3]).",
    );
    let g1 = zeros64(&[1]);
    let mean = GaussianNllOptions::default();
    assert_err(
        gaussian_nll_loss_var_backward(g1.view(), d.z.view(), d.x.view(), var(), &mean),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
    );
    let one = arr0(1.0).into_dyn();
    let err = gaussian_nll_loss_var_backward(
        one.view(),
        d.z.view(),
        d.x.view(),
        Variance::Scalar(0.3),
        &mean,
    );
    assert_err(
        err,
        ErrorKind::RuntimeError,
        "all inputs have to be Tensors or GradientEdges, but got float",
    );
    // The forward's errors come first.
    let v0 = contiguous(v.slice(s![0, ..]));
    let err = gaussian_nll_loss_var_backward(
        one.view(),
        d.z.view(),
        d.x.view(),
        Variance::tensor(v0.view()),
        &mean,
    );
    assert_err(err, ErrorKind::ValueError, "var is of incorrect size");
}

// torch 2.13.0:
//   grad(lambda x: F.gaussian_nll_loss(x, X, V, reduction='none'), Z, GZ)
//     -> shape [4, 3] [0.24639999999999984, -5.8871111111111105, 19.364333333333335, 2.01025, -1462800.0, -0.909, 4.0040000000000004, -43700.00000000001, 13.770799999999998, -0.575, 9.434, -13.846]
//   grad(lambda x: F.gaussian_nll_loss(x, X, V, full=True), Z, 0.7)
//     -> shape [4, 3] [0.01633333333333332, -0.1160185185185185, 0.5852777777777778, -0.09090277777777776, 123666.66666666666, -0.0525, -0.08166666666666668, 11083.333333333332, -0.40366666666666656, 0.014583333333333332, -0.20766666666666664, -0.5016666666666665]
//   grad(lambda x: F.gaussian_nll_loss(x, X, 0.3, reduction='sum'), Z, 0.7)
//     -> shape [4, 3] [0.32666666666666644, -4.176666666666667, 7.023333333333334, -4.363333333333333, 4.946666666666667, -0.8400000000000002, -0.8166666666666669, 0.44333333333333336, -4.036666666666666, 1.1666666666666667, -4.153333333333333, -2.0066666666666664]
//   grad(lambda t: F.gaussian_nll_loss(Z, t, V, reduction='none'), X, GZ)
//     -> shape [4, 3] [-0.24639999999999984, 5.8871111111111105, -19.364333333333335, -2.01025, 1462800.0, 0.909, -4.0040000000000004, 43700.00000000001, -13.770799999999998, 0.575, -9.434, 13.846]
//   grad(lambda t: F.gaussian_nll_loss(Z, t, V4), X, 0.7)
//     -> shape [4, 3] [-0.01633333333333332, 0.2088333333333333, -0.3511666666666667, 0.054541666666666655, -0.06183333333333333, 0.0105, 20416.66666666667, -11083.333333333332, 100916.66666666664, -0.03645833333333333, 0.12979166666666664, 0.06270833333333331]
//   grad(lambda v: F.gaussian_nll_loss(Z, X, v, reduction='none'), V, GZ)
//     -> shape [4, 3] [0.845504, -4.209960493827159, -93.92773888888891, 1.0288197916666668, 1550567655000.0002, 0.85345, -2.9171999999999985, 4151385000.0, 43.66696799999999, -0.5031249999999999, 14.14252, -51.48779999999999]
//   grad(lambda v: F.gaussian_nll_loss(Z, X, v), V, 0.7)
//     -> shape [4, 3] [0.05604666666666666, -0.0829665637860082, -2.8389212962962964, -0.04652285879629629, -131086637500.00002, 0.049291666666666664, 0.05949999999999996, -1052887499.9999999, -1.2800199999999995, 0.012760416666666665, -0.3113133333333333, -1.8654999999999995]
//   grad(lambda v: F.gaussian_nll_loss(Z, X, v, eps=0.3, reduction='sum'), V, 0.7)
//     -> shape [4, 3] [0.67256, -0.9955987654320984, -34.06705555555556, -0.5582743055555555, -16.311555555555557, 0.5914999999999999, 0.6902777777777777, 1.0262777777777778, -10.472388888888887, 0.15312499999999998, -3.73576, -1.7095555555555546]
#[test]
fn gaussian_gradients_of_input_target_and_variance_taken_at_the_clamped_variance() {
    let (d, v, v4) = (data(), variances(), v4());
    let g = arr0(0.7).into_dyn();
    let gx = gaussian_nll_loss_backward(
        d.gz.view(),
        d.z.view(),
        d.x.view(),
        var(&v),
        &ga(Reduction::None),
    );
    assert_close(
        &gx.unwrap(),
        &[4, 3],
        &[
            0.24639999999999984,
            -5.8871111111111105,
            19.364333333333335,
            2.01025,
            -1462800.0,
            -0.909,
            4.0040000000000004,
            -43700.00000000001,
            13.770799999999998,
            -0.575,
            9.434,
            -13.846,
        ],
    );
    let gx = gaussian_nll_loss_backward(
        g.view(),
        d.z.view(),
        d.x.view(),
        var(&v),
        &ga(Reduction::Mean).full(true),
    );
    assert_close(
        &gx.unwrap(),
        &[4, 3],
        &[
            0.01633333333333332,
            -0.1160185185185185,
            0.5852777777777778,
            -0.09090277777777776,
            123666.66666666666,
            -0.0525,
            -0.08166666666666668,
            11083.333333333332,
            -0.40366666666666656,
            0.014583333333333332,
            -0.20766666666666664,
            -0.5016666666666665,
        ],
    );
    let gx = gaussian_nll_loss_backward(
        g.view(),
        d.z.view(),
        d.x.view(),
        Variance::Scalar(0.3),
        &ga(Reduction::Sum),
    );
    assert_close(
        &gx.unwrap(),
        &[4, 3],
        &[
            0.32666666666666644,
            -4.176666666666667,
            7.023333333333334,
            -4.363333333333333,
            4.946666666666667,
            -0.8400000000000002,
            -0.8166666666666669,
            0.44333333333333336,
            -4.036666666666666,
            1.1666666666666667,
            -4.153333333333333,
            -2.0066666666666664,
        ],
    );
    let gt = gaussian_nll_loss_target_backward(
        d.gz.view(),
        d.z.view(),
        d.x.view(),
        var(&v),
        &ga(Reduction::None),
    );
    assert_close(
        &gt.unwrap(),
        &[4, 3],
        &[
            -0.24639999999999984,
            5.8871111111111105,
            -19.364333333333335,
            -2.01025,
            1462800.0,
            0.909,
            -4.0040000000000004,
            43700.00000000001,
            -13.770799999999998,
            0.575,
            -9.434,
            13.846,
        ],
    );
    let gt = gaussian_nll_loss_target_backward(
        g.view(),
        d.z.view(),
        d.x.view(),
        var(&v4),
        &ga(Reduction::Mean),
    );
    assert_close(
        &gt.unwrap(),
        &[4, 3],
        &[
            -0.01633333333333332,
            0.2088333333333333,
            -0.3511666666666667,
            0.054541666666666655,
            -0.06183333333333333,
            0.0105,
            20416.66666666667,
            -11083.333333333332,
            100916.66666666664,
            -0.03645833333333333,
            0.12979166666666664,
            0.06270833333333331,
        ],
    );
    let gv = gaussian_nll_loss_var_backward(
        d.gz.view(),
        d.z.view(),
        d.x.view(),
        var(&v),
        &ga(Reduction::None),
    );
    assert_close(
        &gv.unwrap(),
        &[4, 3],
        &[
            0.845504,
            -4.209960493827159,
            -93.92773888888891,
            1.0288197916666668,
            1550567655000.0002,
            0.85345,
            -2.9171999999999985,
            4151385000.0,
            43.66696799999999,
            -0.5031249999999999,
            14.14252,
            -51.48779999999999,
        ],
    );
    let gv = gaussian_nll_loss_var_backward(
        g.view(),
        d.z.view(),
        d.x.view(),
        var(&v),
        &ga(Reduction::Mean),
    );
    assert_close(
        &gv.unwrap(),
        &[4, 3],
        &[
            0.05604666666666666,
            -0.0829665637860082,
            -2.8389212962962964,
            -0.04652285879629629,
            -131086637500.00002,
            0.049291666666666664,
            0.05949999999999996,
            -1052887499.9999999,
            -1.2800199999999995,
            0.012760416666666665,
            -0.3113133333333333,
            -1.8654999999999995,
        ],
    );
    let gv = gaussian_nll_loss_var_backward(
        g.view(),
        d.z.view(),
        d.x.view(),
        var(&v),
        &ga(Reduction::Sum).eps(0.3),
    );
    assert_close(
        &gv.unwrap(),
        &[4, 3],
        &[
            0.67256,
            -0.9955987654320984,
            -34.06705555555556,
            -0.5582743055555555,
            -16.311555555555557,
            0.5914999999999999,
            0.6902777777777777,
            1.0262777777777778,
            -10.472388888888887,
            0.15312499999999998,
            -3.73576,
            -1.7095555555555546,
        ],
    );
}

// A homoscedastic variance's gradient sums its row (autograd sums each branch over the
// broadcast dimension, then the log's branch is divided by the variance); the input's
// and target's gradients are summed back where they were broadcast.
// torch 2.13.0:
//   grad(lambda v: F.gaussian_nll_loss(Z, X, v, reduction='none'), V4, GZ)
//     -> [-48.20475400000001, 0.6926551249999999, 3157259459999.9995, 3.99101875]
//   grad(lambda v: F.gaussian_nll_loss(Z, X, v, reduction='sum'), V4.reshape(4, 1), 0.7)
//     -> shape [4, 1] [-15.097320000000002, -0.18557875000000013, -1103023949999.9998, -0.9614062499999998]
//   grad(lambda v: F.gaussian_nll_loss(Z, X, v), V[1:2], 0.7)
//     -> shape [1, 3] [0.018451967592592572, -318004049999.99994, -2.0639427083333333]
//   grad(lambda v: F.gaussian_nll_loss(Z[0], X, v, reduction='sum'), V[0], 0.7)
//     -> [0.4026400000000008, -2.1898333333333326, -77.19988888888889]
//   grad(lambda x: F.gaussian_nll_loss(x, X[0], V4.reshape(4, 1), reduction='none'), Z[:, :1], GZ)
//     -> shape [4, 1] [-0.2384000000000004, 1.4294499999999999, 5782000.0, 1.4525000000000012]
//   grad(lambda t: F.gaussian_nll_loss(Z, t, V4, reduction='sum'), X[0], 0.7)
//     -> [1014999.5835000001, -237995.68099999998, 475995.6494999998]
//   grad(lambda t: F.gaussian_nll_loss(Z, t, 0.3, reduction='mean'), torch.tensor(0.25, dtype=D), 0.7)
//     -> 3.739166666666666
//   grad(lambda v: F.gaussian_nll_loss(Z[0], X[0], v, reduction='sum'), torch.tensor(0.3, dtype=D), 0.7)
//     -> -44.27033333333334
#[test]
fn gaussian_broadcast_gradients_are_summed_back_to_each_operands_own_shape() {
    let (d, v, v4) = (data(), variances(), v4());
    let g = arr0(0.7).into_dyn();
    let gv = |g: &ArrayD<f64>,
              x: &ArrayD<f64>,
              t: &ArrayD<f64>,
              var: &ArrayD<f64>,
              o: GaussianNllOptions| {
        gaussian_nll_loss_var_backward(
            g.view(),
            x.view(),
            t.view(),
            Variance::tensor(var.view()),
            &o,
        )
        .unwrap()
    };
    assert_close(
        &gv(&d.gz, &d.z, &d.x, &v4, ga(Reduction::None)),
        &[4],
        &[
            -48.20475400000001,
            0.6926551249999999,
            3157259459999.9995,
            3.99101875,
        ],
    );
    let col = v4.clone().into_shape_with_order(IxDyn(&[4, 1])).unwrap();
    assert_close(
        &gv(&g, &d.z, &d.x, &col, ga(Reduction::Sum)),
        &[4, 1],
        &[
            -15.097320000000002,
            -0.18557875000000013,
            -1103023949999.9998,
            -0.9614062499999998,
        ],
    );
    let v1 = contiguous(v.slice(s![1..2, ..]));
    assert_close(
        &gv(&g, &d.z, &d.x, &v1, ga(Reduction::Mean)),
        &[1, 3],
        &[
            0.018451967592592572,
            -318004049999.99994,
            -2.0639427083333333,
        ],
    );
    let z0 = contiguous(d.z.slice(s![0, ..]));
    let v0 = contiguous(v.slice(s![0, ..]));
    assert_close(
        &gv(&g, &z0, &d.x, &v0, ga(Reduction::Sum)),
        &[3],
        &[0.4026400000000008, -2.1898333333333326, -77.19988888888889],
    );
    let zc = contiguous(d.z.slice(s![.., ..1]));
    let x0 = contiguous(d.x.slice(s![0, ..]));
    let gx = gaussian_nll_loss_backward(
        d.gz.view(),
        zc.view(),
        x0.view(),
        Variance::tensor(col.view()),
        &ga(Reduction::None),
    );
    assert_close(
        &gx.unwrap(),
        &[4, 1],
        &[
            -0.2384000000000004,
            1.4294499999999999,
            5782000.0,
            1.4525000000000012,
        ],
    );
    let gt = gaussian_nll_loss_target_backward(
        g.view(),
        d.z.view(),
        x0.view(),
        Variance::tensor(v4.view()),
        &ga(Reduction::Sum),
    );
    assert_close(
        &gt.unwrap(),
        &[3],
        &[1014999.5835000001, -237995.68099999998, 475995.6494999998],
    );
    let t00 = arr0(0.25).into_dyn();
    let gt = gaussian_nll_loss_target_backward(
        g.view(),
        d.z.view(),
        t00.view(),
        Variance::Scalar(0.3),
        &ga(Reduction::Mean),
    );
    assert_close(&gt.unwrap(), &[], &[3.739166666666666]);
    assert_close(
        &gv(&g, &z0, &x0, &arr0(0.3).into_dyn(), ga(Reduction::Sum)),
        &[],
        &[-44.27033333333334],
    );
}

// torch 2.13.0:
//   F.gaussian_nll_loss(Z.T, X.T, V.T, reduction='none')
//     -> shape [3, 4] [-0.3269735902799727, 1.5482024450636438, -0.4481471805599452, 0.40907359027997264, 1.7273752977266421, 2247193.0922447215, 18043.092244721018, 2.8218264097200274, 14.498180264503702, -0.2961453659370775, 5.292652819440053, 2.546707453502976]
//   grad(lambda v: F.gaussian_nll_loss(Z.T, X.T, v, reduction='none'), V.T, GZ.T)
//     -> shape [3, 4] [0.845504, 1.0288197916666668, -2.9171999999999985, -0.5031249999999999, -4.209960493827159, 1550567655000.0002, 4151385000.0, 14.14252, -93.92773888888891, 0.85345, 43.66696799999999, -51.48779999999999]
//   grad(lambda x: F.gaussian_nll_loss(x, X.T, V.T, reduction='none'), Z.T, GZ.T)
//     -> shape [3, 4] [0.24639999999999984, 2.01025, 4.0040000000000004, -0.575, -5.8871111111111105, -1462800.0, -43700.00000000001, 9.434, 19.364333333333335, -0.909, 13.770799999999998, -13.846]
#[test]
fn gaussian_transposed_views_give_the_transposed_loss_and_gradients() {
    let (d, v) = (data(), variances());
    let (zt, xt, vt, gt) = (d.z.t(), d.x.t(), v.t(), d.gz.t());
    let none = ga(Reduction::None);
    let var = || Variance::tensor(vt.view());
    assert_close(
        &gaussian_nll_loss(zt.view(), xt.view(), var(), &none).unwrap(),
        &[3, 4],
        &[
            -0.3269735902799727,
            1.5482024450636438,
            -0.4481471805599452,
            0.40907359027997264,
            1.7273752977266421,
            2247193.0922447215,
            18043.092244721018,
            2.8218264097200274,
            14.498180264503702,
            -0.2961453659370775,
            5.292652819440053,
            2.546707453502976,
        ],
    );
    let got = gaussian_nll_loss_var_backward(gt.view(), zt.view(), xt.view(), var(), &none);
    assert_close(
        &got.unwrap(),
        &[3, 4],
        &[
            0.845504,
            1.0288197916666668,
            -2.9171999999999985,
            -0.5031249999999999,
            -4.209960493827159,
            1550567655000.0002,
            4151385000.0,
            14.14252,
            -93.92773888888891,
            0.85345,
            43.66696799999999,
            -51.48779999999999,
        ],
    );
    let got = gaussian_nll_loss_backward(gt.view(), zt.view(), xt.view(), var(), &none);
    assert_close(
        &got.unwrap(),
        &[3, 4],
        &[
            0.24639999999999984,
            2.01025,
            4.0040000000000004,
            -0.575,
            -5.8871111111111105,
            -1462800.0,
            -43700.00000000001,
            9.434,
            19.364333333333335,
            -0.909,
            13.770799999999998,
            -13.846,
        ],
    );
}

// ---------------------------------------------------------------------------------
// Both: f32, a long input, threads, the harness's shape checks.

// torch 2.13.0:
//   F.poisson_nll_loss(f32(Z), f32(C), full=True, reduction='none')
//     -> shape [4, 3] [0.34645584, 2.213687, 1.5184041, 5.868342, 1.2460767, 9.265705, 2.7206514, 4.038074, 0.06203851, 11.983584, 5.8875804, 4.005304]
//   F.poisson_nll_loss(f32(RATE), f32(C), log_input=False)
//     -> 1.2119468
//   grad(lambda t: F.poisson_nll_loss(f32(Z), t, full=True, reduction='none'), f32(C), f32(GZ))
//     -> shape [4, 3] [f32::NAN, 6.1864, 0.6856885, -4.5319595, f32::NAN, 2.5446322, -7.579, -0.3383977, f32::NAN, -5.5598793, -9.33634, 5.1500654]
//   grad(lambda x: F.poisson_nll_loss(x, f32(C), log_input=False), f32(RATE), 0.7)
//     -> shape [4, 3] [0.058333334, -0.00648148, -0.525, -0.038888883, 0.058333334, -0.6708333, -0.175, -0.035, 0.058333334, -0.14583333, -0.175, -0.81666654]
//   F.gaussian_nll_loss(f32(Z), f32(X), f32(V), reduction='none')
//     -> shape [4, 3] [-0.32697356, 1.7273753, 14.4981785, 1.5482023, 2.2471928e+06, -0.29614535, -0.448147, 18043.092, 5.292653, 0.4090736, 2.8218262, 2.5467074]
//   grad(lambda v: F.gaussian_nll_loss(f32(Z), f32(X), v, reduction='mean'), f32(V), 0.7)
//     -> shape [4, 3] [0.056046665, -0.082966566, -2.8389208, -0.046522856, -1.3108662e+11, 0.049291663, 0.059499953, -1.05288755e+09, -1.2800201, 0.012760417, -0.3113133, -1.8655001]
//   grad(lambda x: F.gaussian_nll_loss(x, f32(X), f32(V4), reduction='sum'), f32(Z), 0.7)
//     -> shape [4, 3] [0.19600014, -2.5059998, 4.2139997, -0.65449995, 0.7419999, -0.126, -245000.1, 133000.0, -1.211e+06, 0.43749997, -1.5575, -0.7525]
#[test]
fn f32_losses_and_gradients_match_torch() {
    let d = data();
    let f = |a: &ArrayD<f64>| a.mapv(|v| v as f32);
    let (z, x, c, r, v, v4, gz) = (
        f(&d.z),
        f(&d.x),
        f(&counts()),
        f(&rates()),
        f(&variances()),
        f(&v4()),
        f(&d.gz),
    );
    let g = arr0(0.7f32).into_dyn();
    let full = po(Reduction::None).full(true);
    close32(
        &poisson_nll_loss(z.view(), c.view(), &full).unwrap(),
        &[4, 3],
        &[
            0.34645584, 2.213687, 1.5184041, 5.868342, 1.2460767, 9.265705, 2.7206514, 4.038074,
            0.06203851, 11.983584, 5.8875804, 4.005304,
        ],
    );
    close32(
        &poisson_nll_loss(r.view(), c.view(), &rate(Reduction::Mean)).unwrap(),
        &[],
        &[1.2119468],
    );
    let gt = poisson_nll_loss_target_backward(gz.view(), z.view(), c.view(), &full);
    close32(
        &gt.unwrap(),
        &[4, 3],
        &[
            f32::NAN,
            6.1864,
            0.6856885,
            -4.5319595,
            f32::NAN,
            2.5446322,
            -7.579,
            -0.3383977,
            f32::NAN,
            -5.5598793,
            -9.33634,
            5.1500654,
        ],
    );
    let gx = poisson_nll_loss_backward(g.view(), r.view(), c.view(), &rate(Reduction::Mean));
    close32(
        &gx.unwrap(),
        &[4, 3],
        &[
            0.058333334,
            -0.00648148,
            -0.525,
            -0.038888883,
            0.058333334,
            -0.6708333,
            -0.175,
            -0.035,
            0.058333334,
            -0.14583333,
            -0.175,
            -0.81666654,
        ],
    );
    let got = gaussian_nll_loss(
        z.view(),
        x.view(),
        Variance::tensor(v.view()),
        &ga(Reduction::None),
    );
    close32(
        &got.unwrap(),
        &[4, 3],
        &[
            -0.32697356,
            1.7273753,
            14.4981785,
            1.5482023,
            2.2471928e+06,
            -0.29614535,
            -0.448147,
            18043.092,
            5.292653,
            0.4090736,
            2.8218262,
            2.5467074,
        ],
    );
    let gv = gaussian_nll_loss_var_backward(
        g.view(),
        z.view(),
        x.view(),
        Variance::tensor(v.view()),
        &ga(Reduction::Mean),
    );
    close32(
        &gv.unwrap(),
        &[4, 3],
        &[
            0.056046665,
            -0.082966566,
            -2.8389208,
            -0.046522856,
            -1.3108662e+11,
            0.049291663,
            0.059499953,
            -1.05288755e+09,
            -1.2800201,
            0.012760417,
            -0.3113133,
            -1.8655001,
        ],
    );
    let gx = gaussian_nll_loss_backward(
        g.view(),
        z.view(),
        x.view(),
        Variance::tensor(v4.view()),
        &ga(Reduction::Sum),
    );
    close32(
        &gx.unwrap(),
        &[4, 3],
        &[
            0.19600014,
            -2.5059998,
            4.2139997,
            -0.65449995,
            0.7419999,
            -0.126,
            -245000.1,
            133000.0,
            -1.211e+06,
            0.43749997,
            -1.5575,
            -0.7525,
        ],
    );
}

/// This file's `XL`, `TL` (positive) and `YL` (negative): 100,000 elements each.
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

// Poisson: XL as log-rates, TL * 4 as counts (some above 1); Gaussian: XL against YL
// with TL as variances.
// torch 2.13.0:
//   F.poisson_nll_loss(XL, TL * 4, full=True, reduction='sum')
//     -> 259333.36
//   F.poisson_nll_loss(TL, XL + 1, log_input=False)
//     -> 0.9638778
//   F.gaussian_nll_loss(XL, YL, TL, reduction='sum')
//     -> -3334.867
//   F.gaussian_nll_loss(XL, YL, 0.5, full=True)
//     -> 0.68425727
//   (lambda g: torch.cat([g.double().sum().reshape(1), pick(g, [0, 12345, 99999]).double()]))(grad(lambda t: F.poisson_nll_loss(XL, t, full=True, reduction='sum'), TL * 4, 0.7))
//     -> [91932.55653083324, 1.129307746887207, 1.332638144493103, 1.4178073406219482]
//   (lambda g: torch.cat([g.double().sum().reshape(1), pick(g, [0, 12345, 99999]).double()]))(grad(lambda v: F.gaussian_nll_loss(XL, YL, v), TL, 0.7))
//     -> [-96.34857487983481, 2.722141744015971e-06, 3.914643457392231e-06, 3.945250682590995e-06]
//   F.gaussian_nll_loss(XL.double(), YL.double(), TL.double(), reduction='mean')
//     -> -0.03334864421780709
//   F.poisson_nll_loss(XL.double(), TL.double() * 4, full=True, reduction='mean')
//     -> 2.5933335748402175
#[test]
fn a_100000_element_input_matches_torch_within_tolerance() {
    let (x, t, y) = long_inputs();
    let counts = t.mapv(|v| v * 4.0);
    let full = |r| po(r).full(true);
    close32(
        &poisson_nll_loss(x.view(), counts.view(), &full(Reduction::Sum)).unwrap(),
        &[],
        &[259333.36],
    );
    let x1 = x.mapv(|v| v + 1.0);
    close32(
        &poisson_nll_loss(t.view(), x1.view(), &rate(Reduction::Mean)).unwrap(),
        &[],
        &[0.9638778],
    );
    let var = || Variance::tensor(t.view());
    close32(
        &gaussian_nll_loss(x.view(), y.view(), var(), &ga(Reduction::Sum)).unwrap(),
        &[],
        &[-3334.867],
    );
    let got = gaussian_nll_loss(
        x.view(),
        y.view(),
        Variance::Scalar(0.5),
        &ga(Reduction::Mean).full(true),
    );
    close32(&got.unwrap(), &[], &[0.68425727]);
    let g = arr0(0.7f32).into_dyn();
    let gt =
        poisson_nll_loss_target_backward(g.view(), x.view(), counts.view(), &full(Reduction::Sum));
    within_f32_tolerance(
        &summary(&gt.unwrap()),
        &[4],
        &[
            91932.55653083324,
            1.129307746887207,
            1.332638144493103,
            1.4178073406219482,
        ],
    );
    let gv =
        gaussian_nll_loss_var_backward(g.view(), x.view(), y.view(), var(), &ga(Reduction::Mean));
    within_f32_tolerance(
        &summary(&gv.unwrap()),
        &[4],
        &[
            -96.34857487983481,
            2.722141744015971e-06,
            3.914643457392231e-06,
            3.945250682590995e-06,
        ],
    );
    let f = |a: &ArrayD<f32>| a.mapv(f64::from);
    let (x, t, y, counts) = (f(&x), f(&t), f(&y), f(&counts));
    assert_close(
        &gauss(&x, &y, &t, ga(Reduction::Mean)),
        &[],
        &[-0.03334864421780709],
    );
    assert_close(
        &poisson(&x, &counts, full(Reduction::Mean)),
        &[],
        &[2.5933335748402175],
    );
}

type Grad32<O> = fn(
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    ArrayViewD<'_, f32>,
    &O,
) -> Result<ArrayD<f32>, LossError>;

fn bits(a: &ArrayD<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

fn on_threads(threads: usize, run: impl FnOnce() -> Vec<u32> + Send) -> Vec<u32> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(run)
}

#[test]
fn one_two_and_four_threads_give_bit_identical_losses_and_gradients() {
    // A (400, 250) input against a (250) target or variance: 100,000 broadcast
    // elements, so both the chunked sums and the sums back over a broadcast dimension
    // run, and the full-shape operands for the one-pass gradients.
    let x = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 1)).unwrap();
    let full_t = x.mapv(|v| -v * 3.0);
    let row = Array1::from_iter(gen32(250, 2).into_iter().map(|v| -v * 3.0)).into_dyn();
    let rows = Array1::from_iter(gen32(400, 3).into_iter().map(|v| -v)).into_dyn();
    let g_none = ArrayD::from_shape_vec(IxDyn(&[400, 250]), gen32(100_000, 4)).unwrap();
    let g_scalar = arr0(0.7f32).into_dyn();
    let poisson_grads: [Grad32<PoissonNllOptions>; 2] =
        [poisson_nll_loss_backward, poisson_nll_loss_target_backward];
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let g = if reduction == Reduction::None {
            g_none.view()
        } else {
            g_scalar.view()
        };
        for (log_input, full) in [(true, false), (true, true), (false, true)] {
            let options = po(reduction).log_input(log_input).full(full);
            for t in [row.view(), full_t.view()] {
                let run = || {
                    let mut all = bits(&poisson_nll_loss(x.view(), t.view(), &options).unwrap());
                    for backward in poisson_grads {
                        all.extend(bits(
                            &backward(g.view(), x.view(), t.view(), &options).unwrap(),
                        ));
                    }
                    all
                };
                let one = on_threads(1, run);
                assert_eq!(one, on_threads(2, run), "{options:?}");
                assert_eq!(one, on_threads(4, run), "{options:?}");
            }
        }
        for var in [
            Variance::tensor(full_t.view()),
            Variance::tensor(rows.view()),
            Variance::Scalar(0.5),
        ] {
            let options = ga(reduction);
            let run = || {
                let mut all =
                    bits(&gaussian_nll_loss(x.view(), row.view(), var.clone(), &options).unwrap());
                all.extend(bits(
                    &gaussian_nll_loss_backward(
                        g.view(),
                        x.view(),
                        row.view(),
                        var.clone(),
                        &options,
                    )
                    .unwrap(),
                ));
                all.extend(bits(
                    &gaussian_nll_loss_target_backward(
                        g.view(),
                        x.view(),
                        row.view(),
                        var.clone(),
                        &options,
                    )
                    .unwrap(),
                ));
                if let Variance::Tensor(_) = var {
                    all.extend(bits(
                        &gaussian_nll_loss_var_backward(
                            g.view(),
                            x.view(),
                            row.view(),
                            var.clone(),
                            &options,
                        )
                        .unwrap(),
                    ));
                }
                all
            };
            let one = on_threads(1, run);
            assert_eq!(one, on_threads(2, run), "{var:?}");
            assert_eq!(one, on_threads(4, run), "{var:?}");
        }
    }
}

// torch 2.13.0:
//   F.poisson_nll_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D))
//     -> RuntimeError: The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0
//   F.gaussian_nll_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D), -torch.ones(5, dtype=D))
//     -> ValueError: var has negative entry/entries
//   F.gaussian_nll_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D), torch.ones(5, dtype=D))
//     -> ValueError: var is of incorrect size
//   F.gaussian_nll_loss(torch.zeros(2, 3, dtype=D), torch.zeros(4, 3, dtype=D), torch.ones(2, dtype=D))
//     -> RuntimeError: The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0
#[test]
fn the_shape_checks_give_the_broadcast_shape_or_the_forwards_error_in_order() {
    use crate::probabilistic::{check_gaussian, check_poisson};
    assert_eq!(check_poisson(&[4, 1], &[3]).unwrap(), vec![4, 3]);
    assert_err(
        check_poisson(&[2, 3], &[4, 3]),
        ErrorKind::RuntimeError,
        "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0",
    );
    let loss = |r: Result<_, LossError>| r.map(|s: crate::probabilistic::GaussianShapes| s.loss);
    assert_eq!(
        loss(check_gaussian(&[4, 3], &[3], Some(&[4]), false)).unwrap(),
        vec![4, 3]
    );
    assert_eq!(
        loss(check_gaussian(&[4, 1], &[3], None, false)).unwrap(),
        vec![4, 3]
    );
    assert_eq!(
        loss(check_gaussian(&[1, 2], &[1, 2], Some(&[0, 1]), false)).unwrap(),
        vec![0, 2]
    );
    assert_err(
        loss(check_gaussian(&[2, 3], &[4, 3], Some(&[5]), true)),
        ErrorKind::ValueError,
        "var has negative entry/entries",
    );
    assert_err(
        loss(check_gaussian(&[2, 3], &[4, 3], Some(&[5]), false)),
        ErrorKind::ValueError,
        "var is of incorrect size",
    );
    assert_err(
        loss(check_gaussian(&[2, 3], &[4, 3], Some(&[2]), false)),
        ErrorKind::RuntimeError,
        "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0",
    );
    #[cfg(feature = "unstable-public-internals")]
    {
        use crate::internals::{check_gaussian_nll_loss_shapes, check_poisson_nll_loss_shapes};
        assert_eq!(check_poisson_nll_loss_shapes(&[], &[2]).unwrap(), vec![2]);
        assert_err(
            check_poisson_nll_loss_shapes(&[2, 3], &[4, 3]),
            ErrorKind::RuntimeError,
            "The size of tensor a (4) must match the size of tensor b (2) at non-singleton dimension 0",
        );
        assert_eq!(
            check_gaussian_nll_loss_shapes(&[4, 3], &[4, 3], Some(&[4]), false).unwrap(),
            vec![4, 3]
        );
        assert_err(
            check_gaussian_nll_loss_shapes(&[2, 3], &[4, 3], Some(&[5]), true),
            ErrorKind::ValueError,
            "var has negative entry/entries",
        );
        assert_err(
            check_gaussian_nll_loss_shapes(&[2, 3], &[4, 3], Some(&[2]), false),
            ErrorKind::RuntimeError,
            "The size of tensor a (2) must match the size of tensor b (4) at non-singleton dimension 0",
        );
    }
}

/// The best of ten batches, in microseconds per call (wall clock).
fn best_time(mut f: impl FnMut()) -> f64 {
    f();
    let mut reps = 1;
    while {
        let t = std::time::Instant::now();
        (0..reps).for_each(|_| f());
        t.elapsed().as_secs_f64() < 0.02
    } {
        reps *= 2;
    }
    (0..10)
        .map(|_| {
            let t = std::time::Instant::now();
            (0..reps).for_each(|_| f());
            t.elapsed().as_secs_f64() / reps as f64 * 1e6
        })
        .fold(f64::INFINITY, f64::min)
}

// Not a test: timings to set against Python torch's on the same machine (run with
// `cargo test -p lossparity-losses --release timing -- --ignored --nocapture`).
#[test]
#[ignore]
fn timing_of_kl_div_poisson_and_gaussian_on_the_benchmark_shapes() {
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            for (r, c) in [(64usize, 10usize), (256, 1000)] {
                let shape = IxDyn(&[r, c]);
                let u = |seed| ArrayD::from_shape_vec(shape.clone(), gen32(r * c, seed).iter().map(|v| -v).collect::<Vec<f32>>()).unwrap();
                let log_q = u(1).mapv(|v| (v * 0.98 + 0.01).ln());
                let p = u(2).mapv(|v| v / c as f32);
                let log_p = p.mapv(|v| (v + 1e-6).ln());
                let (x, counts, var) = (u(3).mapv(|v| v * 4.0 - 2.0), u(4).mapv(|v| (v * 5.0).floor()), u(5).mapv(|v| v + 0.1));
                let g = arr0(1.0f32).into_dyn();
                let bm = KlDivOptions::default().reduction(KlDivReduction::BatchMean);
                let lt = bm.log_target(true);
                let (pd, pf) = (PoissonNllOptions::default(), PoissonNllOptions::default().log_input(false).full(true));
                let gd = GaussianNllOptions::default();
                let v = || Variance::tensor(var.view());
                let report = |name: &str, fwd: f64, both: f64| {
                    println!("threads={threads} ({r}, {c}) {name:22} fwd {fwd:9.1}us  fwd+bwd {both:9.1}us");
                };
                let kl = |t: &ArrayD<f32>, o: &KlDivOptions| {
                    (best_time(|| drop(kl_div(log_q.view(), t.view(), o))), best_time(|| {
                        drop(kl_div(log_q.view(), t.view(), o));
                        drop(kl_div_backward(g.view(), log_q.view(), t.view(), o));
                    }))
                };
                let (a, b) = kl(&p, &KlDivOptions::default());
                report("kl_div mean", a, b);
                let (a, b) = kl(&p, &bm);
                report("kl_div batchmean", a, b);
                let (a, b) = kl(&log_p, &lt);
                report("kl_div log_target", a, b);
                for (name, input, o) in [("poisson", &x, &pd), ("poisson rates full", &var, &pf)] {
                    let a = best_time(|| drop(poisson_nll_loss(input.view(), counts.view(), o)));
                    let b = best_time(|| {
                        drop(poisson_nll_loss(input.view(), counts.view(), o));
                        drop(poisson_nll_loss_backward(g.view(), input.view(), counts.view(), o));
                    });
                    report(name, a, b);
                }
                let a = best_time(|| drop(gaussian_nll_loss(x.view(), counts.view(), v(), &gd)));
                let b = best_time(|| {
                    drop(gaussian_nll_loss(x.view(), counts.view(), v(), &gd));
                    drop(gaussian_nll_loss_backward(g.view(), x.view(), counts.view(), v(), &gd));
                });
                report("gaussian", a, b);
                let b = best_time(|| {
                    drop(gaussian_nll_loss(x.view(), counts.view(), v(), &gd));
                    drop(gaussian_nll_loss_var_backward(g.view(), x.view(), counts.view(), v(), &gd));
                });
                report("gaussian (var grad)", a, b);
            }
        });
    }
}

// Float32 sums whose terms cancel: one count of 10,000 against a log-rate of 8.77 makes
// an element loss of -8.06e4 next to +6.47e4 and small ones, summing to -712.46. Float32
// element losses are each within half an ulp (0.004 at that size), which moves the sum
// by 3e-3, past float32's tolerance of the exact sum (9.4e-4): the element losses are
// formed again in f64 there. (libtorch's float32 sum, -712.46082, is within tolerance
// here by luck of its order; the exact sum rounded is -712.46039.)
//   x = torch.tensor(X19332, dtype=torch.float64); t = torch.tensor(T19332, dtype=torch.float64)
//   F.poisson_nll_loss(x, t, reduction='sum')  # -712.4603816580017
const X19332: [f32; 24] = [
    7.928_027_6,
    -1.235_505_1,
    2.864_836_2,
    -1.016_624_1,
    8.593_761,
    3.444_682_6,
    -6.470_727_4,
    -6.878_317_4,
    -5.566_266_5,
    3.454_373_4,
    8.766_757,
    4.856_552_6,
    -1.340_332_3,
    -6.850_288_4,
    0.604_137_66,
    -9.455_218,
    -9.525_912e-7,
    1.412_298_2,
    9.714_773,
    -6.376_064,
    1.668_402_7,
    5.662_463_7,
    -7.712_236,
    -6.211_705_6e-7,
];
const T19332: [f32; 12] = [
    7.353_336,
    2.766_713_9,
    7.786_917_7,
    9.964_411,
    0.0,
    2.945_472_7,
    10000.0,
    8.223_613,
    6.813_789_4,
    7.050_402_6,
    1.647_923_4,
    8.079_144_5,
];

#[test]
fn a_float32_poisson_sum_whose_terms_cancel_is_the_exact_sum_rounded_once() {
    let x = Array1::from(X19332.to_vec())
        .into_shape_with_order(IxDyn(&[2, 4, 3, 1]))
        .unwrap();
    let t = Array1::from(T19332.to_vec())
        .into_shape_with_order(IxDyn(&[4, 3, 1]))
        .unwrap();
    let (xw, tw) = (x.mapv(f64::from), t.mapv(f64::from));
    for reduction in [Reduction::Sum, Reduction::Mean] {
        let exact = poisson(&xw, &tw, po(reduction))[[]];
        let got = poisson_nll_loss(x.view(), t.view(), &po(reduction)).unwrap();
        assert_eq!(got[[]], exact as f32, "{reduction:?}");
    }
    // The f64 sum agrees with torch's float64 one (its terms are 8e4 in size: a few
    // ulps of theirs).
    let sum64 = poisson(&xw, &tw, po(Reduction::Sum))[[]];
    assert!((sum64 - -712.460_381_658_001_7).abs() < 1e-10, "{sum64}");
    // Terms that do not cancel keep their float32 element losses: the sum is the
    // f64 sum of those, rounded once.
    let calm = x.mapv(|v| v.abs().min(3.0));
    let got = poisson_nll_loss(calm.view(), t.view(), &po(Reduction::Sum)).unwrap();
    let tb = t.broadcast(IxDyn(&[2, 4, 3, 1])).unwrap();
    let elements = poisson_nll_loss(calm.view(), tb, &po(Reduction::None)).unwrap();
    let f32_terms: f64 = elements.iter().map(|&v| f64::from(v)).sum();
    assert!((f64::from(got[[]]) - f32_terms).abs() <= f64::from(f32::EPSILON) * f32_terms.abs());
}

// A target broadcast over the input's batch gets its gradient summed over it: with
// log-rates of 3098.8 and -3000 against grad_output of either sign, the terms `-g * x`
// (up to 2e4) cancel to -19.5, which float32 terms or a float32 sum leave outside
// float32's tolerance. The terms are formed and summed in f64 (`-g * x` of float32
// values is exact in f64), then rounded once.
//   x = torch.tensor(X41465, dtype=torch.float64).reshape(4, 1, 3, 1).requires_grad_()
//   t = torch.tensor(T41465, dtype=torch.float64).requires_grad_()
//   g = torch.tensor(G41465, dtype=torch.float64).reshape(4, 1, 3, 4)
//   torch.autograd.grad(F.poisson_nll_loss(x, t, full=True, reduction='none'), t, g)
const X41465: [f32; 12] = [
    -9.267_55,
    3_098.847_2,
    -3000.0,
    10000.0,
    -7.436_237e-7,
    -5.152_786_3,
    -3.853_094_6,
    4.8335e-7,
    -5.550_37e-7,
    -2.303_574_8,
    -0.354_927_4,
    5.603_290_6,
];
const T41465: [f32; 4] = [4.148_123, 9.254_499, 1.328_564_3, 0.0];
#[allow(clippy::excessive_precision)]
const G41465: [f32; 48] = [
    1.0293866,
    0.6306148,
    0.8783561,
    0.69379634,
    0.4075429,
    0.23305622,
    1.6634035,
    1.3327624,
    0.4259911,
    -0.49550906,
    -0.86407465,
    1.4958296,
    0.0032508932,
    -0.8993046,
    -1.4146595,
    -0.6844221,
    1.8045933,
    1.9362143,
    -0.95430976,
    -0.69274783,
    0.6045957,
    -0.37025657,
    -0.48080394,
    -0.70227,
    -1.790328,
    0.69477504,
    -1.0724734,
    1.7691479,
    -1.5049564,
    0.44825435,
    -1.4251304,
    -1.8200364,
    -0.5063031,
    1.7636008,
    1.5614449,
    -1.300474,
    -0.011844266,
    -1.5168012,
    -1.9361904,
    1.9064726,
    -1.6836485,
    -0.9880281,
    1.9279916,
    -0.5585269,
    1.3048531,
    -0.75924224,
    1.4547958,
    -1.4551002,
];

#[test]
fn a_broadcast_targets_float32_gradient_is_summed_exactly_then_rounded_once() {
    let x = Array1::from(X41465.to_vec())
        .into_shape_with_order(IxDyn(&[4, 1, 3, 1]))
        .unwrap();
    let t = Array1::from(T41465.to_vec()).into_dyn();
    let g = Array1::from(G41465.to_vec())
        .into_shape_with_order(IxDyn(&[4, 1, 3, 4]))
        .unwrap();
    let (xw, tw, gw) = (x.mapv(f64::from), t.mapv(f64::from), g.mapv(f64::from));
    let options = po(Reduction::None).full(true);
    let got = poisson_nll_loss_target_backward(g.view(), x.view(), t.view(), &options).unwrap();
    let exact =
        poisson_nll_loss_target_backward(gw.view(), xw.view(), tw.view(), &options).unwrap();
    assert_eq!(got.shape(), &[4]);
    for (i, (&a, &e)) in got.iter().zip(exact.iter()).enumerate() {
        if e.is_nan() {
            assert!(a.is_nan(), "[{i}]");
        } else {
            let off = (f64::from(a) - e).abs();
            assert!(off <= 1e-5 + 1.3e-6 * e.abs(), "[{i}]: {a} vs exact {e}");
        }
    }
    // The input's gradient, summed over the batch the input is broadcast to: the terms
    // `-g * t` of counts 3000 and -2999 cancel likewise.
    let x3 = Array1::from(vec![0.5f32, -1.0, 2.0]).into_dyn();
    let t43 = Array1::from(vec![
        3000.0f32, 1.0, 2.5, -2999.0, 0.0, 4.0, 7.0, 2.0, 1.0, 0.5, 9.0, 3.0,
    ])
    .into_shape_with_order(IxDyn(&[4, 3]))
    .unwrap();
    let g43 = g.iter().take(12).copied().collect::<Array1<f32>>();
    let g43 = g43.into_shape_with_order(IxDyn(&[4, 3])).unwrap();
    let none = po(Reduction::None);
    let got = poisson_nll_loss_backward(g43.view(), x3.view(), t43.view(), &none).unwrap();
    let exact = poisson_nll_loss_backward(
        g43.mapv(f64::from).view(),
        x3.mapv(f64::from).view(),
        t43.mapv(f64::from).view(),
        &none,
    )
    .unwrap();
    assert_eq!(got.shape(), &[3]);
    for (&a, &e) in got.iter().zip(exact.iter()) {
        assert!(
            (f64::from(a) - e).abs() <= 1e-5 + 1.3e-6 * e.abs(),
            "{a} vs exact {e}"
        );
    }
}
