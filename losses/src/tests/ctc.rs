// ctc_loss, forward and log_probs gradient: every reduction with and without
// zero_infinity, padded and concatenated targets, unbatched inputs, impossible
// alignments, repeated labels, empty targets and zero input lengths, a blank that is
// not 0 (and labels equal to it), NaN and -inf log-probabilities, strided inputs, long
// batches (libtorch's summation order), thread-count independence, errors and their
// order. The tests use (in the oracle interpreter, after the preamble):
//
//     LP = torch.tensor([-2.86, -2.88, -0.55, -1.16, -1.55, -0.59, -2.23, -2.05, -2.73, -2.72, -0.68, -1.01,
//                        -0.28, -2.25, -2.08, -4.2, -2.38, -2.92, -1.95, -0.34, -1.18, -0.57, -4.95, -2.13,
//                        -0.7, -3.73, -0.77, -4.07, -0.27, -3.22, -2.9, -1.95, -3.54, -0.22, -2.62, -2.33,
//                        -1.46, -1.4, -0.86, -2.34, -0.97, -3.06, -0.9, -1.79, -2.34, -0.79, -1.36, -1.63,
//                        -2.35, -1.6, -2.26, -0.51, -2.98, -1.0, -0.66, -2.76, -0.85, -1.09, -1.69, -2.92],
//                       dtype=D).reshape(5, 3, 4)  # T=5, N=3, C=4: log_softmax values, rounded
//     TP = torch.tensor([[1, 2, 3], [2, 2, -1], [1, 1, 1]])  # padded; sample 2 needs 5 steps
//     TC = torch.tensor([1, 2, 3, 2, 2, 1, 1, 1])             # the same, concatenated
//     IL = torch.tensor([5, 4, 4]); TL = torch.tensor([3, 2, 3])
//     G3 = torch.tensor([0.7, -1.3, 2.1], dtype=D)
//     # long batch: T=12, N=400, C=5, float32 from integer formulas
//     XL = torch.from_numpy(gen32(12 * 400 * 5, 1)).reshape(12, 400, 5)
//     b = np.arange(400); k = np.arange(5)
//     TLL = torch.from_numpy((b[:, None] * 7 + k[None, :] * 3) % 4 + 1)
//     ILL = torch.from_numpy(12 - b % 3); TLN = torch.from_numpy(b % 6)
//
// libtorch computes CTC in the input's type with the platform's exp and log, and this
// crate follows it operation by operation, so results agree bit for bit on the machine
// the values were printed on. The asserts allow what another libm may change: f64
// within 2 ulp, f32 within the crate's float32 tolerance. NaN expects NaN, an infinity
// the same infinity.

use ndarray::{Array3, ArrayD, Axis, IxDyn, arr0, s};

use super::*;

fn lp() -> ArrayD<f64> {
    a64(
        &[5, 3, 4],
        &[
            -2.86, -2.88, -0.55, -1.16, -1.55, -0.59, -2.23, -2.05, -2.73, -2.72, -0.68, -1.01,
            -0.28, -2.25, -2.08, -4.2, -2.38, -2.92, -1.95, -0.34, -1.18, -0.57, -4.95, -2.13,
            -0.7, -3.73, -0.77, -4.07, -0.27, -3.22, -2.9, -1.95, -3.54, -0.22, -2.62, -2.33,
            -1.46, -1.4, -0.86, -2.34, -0.97, -3.06, -0.9, -1.79, -2.34, -0.79, -1.36, -1.63,
            -2.35, -1.6, -2.26, -0.51, -2.98, -1.0, -0.66, -2.76, -0.85, -1.09, -1.69, -2.92,
        ],
    )
}

fn lp32() -> ArrayD<f32> {
    lp().mapv(|v| v as f32)
}

fn tp() -> ArrayD<i64> {
    ai(&[3, 3], &[1, 2, 3, 2, 2, -1, 1, 1, 1])
}

fn tc() -> ArrayD<i64> {
    ai(&[8], &[1, 2, 3, 2, 2, 1, 1, 1])
}

const IL: [i64; 3] = [5, 4, 4];
const TL: [i64; 3] = [3, 2, 3];

fn g3() -> ArrayD<f64> {
    a64(&[3], &[0.7, -1.3, 2.1])
}

const REDUCTIONS: [Reduction; 3] = [Reduction::None, Reduction::Mean, Reduction::Sum];

fn opts(reduction: Reduction, zero_infinity: bool) -> CtcOptions {
    CtcOptions::default()
        .reduction(reduction)
        .zero_infinity(zero_infinity)
}

/// `grad_output` for a reduction: `g` per sample for `none`, 1.7 otherwise.
fn grad_for(reduction: Reduction, g: &ArrayD<f64>) -> ArrayD<f64> {
    match reduction {
        Reduction::None => g.clone(),
        _ => arr0(1.7).into_dyn(),
    }
}

/// The distance in ulps between two finite doubles (+0 and -0 are 0 apart).
fn ulps(a: f64, b: f64) -> u64 {
    let ordered = |v: f64| {
        let bits = v.to_bits() as i64;
        if bits < 0 { i64::MIN - bits } else { bits }
    };
    ordered(a).abs_diff(ordered(b))
}

/// Within 2 ulp element-wise, with the shape; NaN expects NaN, an infinity the same
/// infinity.
#[track_caller]
fn assert_ulps(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f64> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            a.is_finite() && ulps(a, e) <= 2
        };
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}");
    }
}

/// Within the crate's float32 tolerance, with the shape; NaN expects NaN, an infinity
/// the same infinity.
#[track_caller]
fn assert_f32(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f32> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    let (atol, rtol) = (<f32 as Float>::ATOL, <f32 as Float>::RTOL);
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            (f64::from(a) - f64::from(e)).abs() <= atol + rtol * f64::from(e).abs()
        };
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}");
    }
}

fn bits_equal<F: Float>(a: &ArrayD<F>, b: &ArrayD<F>) -> bool {
    a.shape() == b.shape()
        && a.iter().zip(b.iter()).all(|(x, y)| {
            (x.is_nan() && y.is_nan()) || (x == y && x.is_sign_negative() == y.is_sign_negative())
        })
}

#[test]
fn options_default_to_pytorchs_defaults() {
    let o = CtcOptions::default();
    assert_eq!(
        (o.blank, o.reduction, o.zero_infinity),
        (0, Reduction::Mean, false)
    );
    let o = CtcOptions::default()
        .blank(3)
        .reduction(Reduction::Sum)
        .zero_infinity(true);
    assert_eq!(
        (o.blank, o.reduction, o.zero_infinity),
        (3, Reduction::Sum, true)
    );
}

#[test]
fn every_reduction_with_and_without_zero_infinity_f64() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&[f64], &[f64])] = &[
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, reduction='none', zero_infinity=False), grad(.., LP, G3)
        (
            &[3.86224705083265, 4.0376233892815385, f64::INFINITY],
            &[
                -0.038155237817374454,
                -0.582462296012904,
                0.40386486726634063,
                0.2194403266178237,
                0.41480343673583303,
                -0.7206254701548592,
                0.4694872381128668,
                -0.16735537466414552,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.04069082712778139,
                -0.06375701440312533,
                0.013345412026665174,
                0.010496903774334392,
                0.13902501780740342,
                -0.07011379349046283,
                0.8557029383666824,
                -0.9253014195913926,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.09516281421771962,
                0.005580829109416004,
                -0.11187413782686136,
                0.011598512012508463,
                0.27590076672037295,
                -0.05194157573885007,
                -0.03982429543161079,
                -0.18495629306246766,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.014299233349789147,
                0.17261787475912455,
                -0.1840302444110258,
                -0.004060792244162091,
                -0.47750963084574094,
                -0.060954003785985034,
                0.7561611236485434,
                -0.2170482205671529,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.05687226734079425,
                0.14132756259625875,
                0.07304533932833553,
                -0.2697669486213234,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, reduction='mean', zero_infinity=False), grad(.., LP, 1.7)
        (
            &[f64::INFINITY],
            &[
                -0.010295857823735965,
                -0.15717236559078362,
                0.10897940862742525,
                0.05921405638893656,
                -0.09040587723729693,
                0.15705939734144367,
                -0.10232414163998378,
                0.036474889349877866,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.010980064463052122,
                -0.01720427372782747,
                0.003601142927830285,
                0.0028324978438680104,
                -0.030300324393921257,
                0.015281211401767539,
                -0.18649935836196924,
                0.20166825811607272,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.02567885463017831,
                0.0015059380136519375,
                -0.030188259413597512,
                0.003129757209724506,
                -0.060132218387773585,
                0.011320599840518603,
                0.008679654132530556,
                0.040310986949512184,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.003858523284863738,
                0.046579426522303444,
                -0.04965895484107046,
                -0.0010957693357262785,
                0.10407261185099481,
                0.013284846978996737,
                -0.164804347461862,
                0.047305381405661526,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.015346484837992102,
                0.03813600895454602,
                0.019710647120344506,
                -0.0727942559771825,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, reduction='sum', zero_infinity=False), grad(.., LP, 1.7)
        (
            &[f64::INFINITY],
            &[
                -0.09266272041362368,
                -1.4145512903170525,
                0.9808146776468273,
                0.532926507500429,
                -0.5424352634237816,
                0.9423563840486621,
                -0.6139448498399027,
                0.21884933609926718,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.0988205801674691,
                -0.15483846355044723,
                0.032410286350472564,
                0.025492480594812093,
                -0.18180194636352753,
                0.09168726841060523,
                -1.1189961501718153,
                1.2100095486964364,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.23110969167160478,
                0.013553442122867437,
                -0.2716943347223776,
                0.028167814887520556,
                -0.36079331032664147,
                0.06792359904311163,
                0.05207792479518334,
                0.2418659216970731,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.03472670956377364,
                0.419214838700731,
                -0.44693059356963416,
                -0.009861924021536506,
                0.6244356711059689,
                0.07970908187398042,
                -0.988826084771172,
                0.2838322884339692,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.1381183635419289,
                0.34322408059091414,
                0.17739582408310056,
                -0.6551483037946426,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, reduction='none', zero_infinity=True), grad(.., LP, G3)
        (
            &[3.86224705083265, 4.0376233892815385, 0.0],
            &[
                -0.038155237817374454,
                -0.582462296012904,
                0.40386486726634063,
                0.2194403266178237,
                0.41480343673583303,
                -0.7206254701548592,
                0.4694872381128668,
                -0.16735537466414552,
                0.0,
                0.0,
                0.0,
                0.0,
                0.04069082712778139,
                -0.06375701440312533,
                0.013345412026665174,
                0.010496903774334392,
                0.13902501780740342,
                -0.07011379349046283,
                0.8557029383666824,
                -0.9253014195913926,
                0.0,
                0.0,
                0.0,
                0.0,
                0.09516281421771962,
                0.005580829109416004,
                -0.11187413782686136,
                0.011598512012508463,
                0.27590076672037295,
                -0.05194157573885007,
                -0.03982429543161079,
                -0.18495629306246766,
                0.0,
                0.0,
                0.0,
                0.0,
                0.014299233349789147,
                0.17261787475912455,
                -0.1840302444110258,
                -0.004060792244162091,
                -0.47750963084574094,
                -0.060954003785985034,
                0.7561611236485434,
                -0.2170482205671529,
                0.0,
                0.0,
                0.0,
                0.0,
                0.05687226734079425,
                0.14132756259625875,
                0.07304533932833553,
                -0.2697669486213234,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, reduction='mean', zero_infinity=True), grad(.., LP, 1.7)
        (
            &[1.102075792750551],
            &[
                -0.010295857823735965,
                -0.15717236559078362,
                0.10897940862742525,
                0.05921405638893656,
                -0.09040587723729693,
                0.15705939734144367,
                -0.10232414163998378,
                0.036474889349877866,
                0.0,
                0.0,
                0.0,
                0.0,
                0.010980064463052122,
                -0.01720427372782747,
                0.003601142927830285,
                0.0028324978438680104,
                -0.030300324393921257,
                0.015281211401767539,
                -0.18649935836196924,
                0.20166825811607272,
                0.0,
                0.0,
                0.0,
                0.0,
                0.02567885463017831,
                0.0015059380136519375,
                -0.030188259413597512,
                0.003129757209724506,
                -0.060132218387773585,
                0.011320599840518603,
                0.008679654132530556,
                0.040310986949512184,
                0.0,
                0.0,
                0.0,
                0.0,
                0.003858523284863738,
                0.046579426522303444,
                -0.04965895484107046,
                -0.0010957693357262785,
                0.10407261185099481,
                0.013284846978996737,
                -0.164804347461862,
                0.047305381405661526,
                0.0,
                0.0,
                0.0,
                0.0,
                0.015346484837992102,
                0.03813600895454602,
                0.019710647120344506,
                -0.0727942559771825,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, reduction='sum', zero_infinity=True), grad(.., LP, 1.7)
        (
            &[7.899870440114189],
            &[
                -0.09266272041362368,
                -1.4145512903170525,
                0.9808146776468273,
                0.532926507500429,
                -0.5424352634237816,
                0.9423563840486621,
                -0.6139448498399027,
                0.21884933609926718,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0988205801674691,
                -0.15483846355044723,
                0.032410286350472564,
                0.025492480594812093,
                -0.18180194636352753,
                0.09168726841060523,
                -1.1189961501718153,
                1.2100095486964364,
                0.0,
                0.0,
                0.0,
                0.0,
                0.23110969167160478,
                0.013553442122867437,
                -0.2716943347223776,
                0.028167814887520556,
                -0.36079331032664147,
                0.06792359904311163,
                0.05207792479518334,
                0.2418659216970731,
                0.0,
                0.0,
                0.0,
                0.0,
                0.03472670956377364,
                0.419214838700731,
                -0.44693059356963416,
                -0.009861924021536506,
                0.6244356711059689,
                0.07970908187398042,
                -0.988826084771172,
                0.2838322884339692,
                0.0,
                0.0,
                0.0,
                0.0,
                0.1381183635419289,
                0.34322408059091414,
                0.17739582408310056,
                -0.6551483037946426,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
    ];
    let (x, t, g) = (lp(), tp(), g3());
    let mut k = 0;
    for zero_infinity in [false, true] {
        for reduction in REDUCTIONS {
            let (loss, grad) = cases[k];
            k += 1;
            let o = opts(reduction, zero_infinity);
            let shape: &[usize] = if reduction == Reduction::None {
                &[3]
            } else {
                &[]
            };
            assert_ulps(
                &ctc_loss(x.view(), t.view(), &IL, &TL, &o).unwrap(),
                shape,
                loss,
            );
            let go = grad_for(reduction, &g);
            let got = ctc_loss_backward(go.view(), x.view(), t.view(), &IL, &TL, &o).unwrap();
            assert_ulps(&got, &[5, 3, 4], grad);
        }
    }
}

#[test]
fn every_reduction_with_and_without_zero_infinity_f32() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&[f32], &[f32])] = &[
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, reduction='none', zero_infinity=False), grad(.., LP.float(), G3.float())
        (
            &[3.8622468, 4.0376234, f32::INFINITY],
            &[
                -0.03815523,
                -0.5824621,
                0.40386483,
                0.21944033,
                0.4148032,
                -0.72062546,
                0.46948722,
                -0.16735539,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.04069106,
                -0.063756995,
                0.013345489,
                0.010496906,
                0.13902503,
                -0.070113786,
                0.8557032,
                -0.9253014,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.09516281,
                0.005580834,
                -0.11187404,
                0.011598511,
                0.27590066,
                -0.051941574,
                -0.03982431,
                -0.18495628,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.014299236,
                0.17261788,
                -0.18403026,
                -0.0040606996,
                -0.47750962,
                -0.06095401,
                0.7561613,
                -0.21704823,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.056872275,
                0.14132756,
                0.073045336,
                -0.26976672,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, reduction='mean', zero_infinity=False), grad(.., LP.float(), 1.7)
        (
            &[f32::INFINITY],
            &[
                -0.010295857,
                -0.1571723,
                0.108979404,
                0.05921406,
                -0.09040583,
                0.1570594,
                -0.10232414,
                0.03647489,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.010980127,
                -0.01720427,
                0.0036011639,
                0.0028324984,
                -0.030300327,
                0.015281211,
                -0.18649942,
                0.20166825,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.025678854,
                0.0015059394,
                -0.030188233,
                0.003129757,
                -0.060132194,
                0.011320599,
                0.008679658,
                0.040310986,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.0038585241,
                0.04657943,
                -0.04965896,
                -0.0010957444,
                0.104072616,
                0.013284848,
                -0.16480438,
                0.047305383,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.015346487,
                0.03813601,
                0.019710647,
                -0.0727942,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, reduction='sum', zero_infinity=False), grad(.., LP.float(), 1.7)
        (
            &[f32::INFINITY],
            &[
                -0.09266271,
                -1.4145509,
                0.98081464,
                0.53292656,
                -0.542435,
                0.94235647,
                -0.6139449,
                0.21884936,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.09882115,
                -0.15483843,
                0.032410476,
                0.025492486,
                -0.18180197,
                0.09168726,
                -1.1189965,
                1.2100096,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.23110968,
                0.0135534555,
                -0.2716941,
                0.028167814,
                -0.36079317,
                0.0679236,
                0.05207795,
                0.24186592,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.034726717,
                0.41921487,
                -0.44693068,
                -0.009861699,
                0.6244357,
                0.07970909,
                -0.98882633,
                0.2838323,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                f32::NAN,
                0.13811839,
                0.34322408,
                0.17739584,
                -0.6551478,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, reduction='none', zero_infinity=True), grad(.., LP.float(), G3.float())
        (
            &[3.8622468, 4.0376234, 0.0],
            &[
                -0.03815523,
                -0.5824621,
                0.40386483,
                0.21944033,
                0.4148032,
                -0.72062546,
                0.46948722,
                -0.16735539,
                0.0,
                0.0,
                0.0,
                0.0,
                0.04069106,
                -0.063756995,
                0.013345489,
                0.010496906,
                0.13902503,
                -0.070113786,
                0.8557032,
                -0.9253014,
                0.0,
                0.0,
                0.0,
                0.0,
                0.09516281,
                0.005580834,
                -0.11187404,
                0.011598511,
                0.27590066,
                -0.051941574,
                -0.03982431,
                -0.18495628,
                0.0,
                0.0,
                0.0,
                0.0,
                0.014299236,
                0.17261788,
                -0.18403026,
                -0.0040606996,
                -0.47750962,
                -0.06095401,
                0.7561613,
                -0.21704823,
                0.0,
                0.0,
                0.0,
                0.0,
                0.056872275,
                0.14132756,
                0.073045336,
                -0.26976672,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, reduction='mean', zero_infinity=True), grad(.., LP.float(), 1.7)
        (
            &[1.1020757],
            &[
                -0.010295857,
                -0.1571723,
                0.108979404,
                0.05921406,
                -0.09040583,
                0.1570594,
                -0.10232414,
                0.03647489,
                0.0,
                0.0,
                0.0,
                0.0,
                0.010980127,
                -0.01720427,
                0.0036011639,
                0.0028324984,
                -0.030300327,
                0.015281211,
                -0.18649942,
                0.20166825,
                0.0,
                0.0,
                0.0,
                0.0,
                0.025678854,
                0.0015059394,
                -0.030188233,
                0.003129757,
                -0.060132194,
                0.011320599,
                0.008679658,
                0.040310986,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0038585241,
                0.04657943,
                -0.04965896,
                -0.0010957444,
                0.104072616,
                0.013284848,
                -0.16480438,
                0.047305383,
                0.0,
                0.0,
                0.0,
                0.0,
                0.015346487,
                0.03813601,
                0.019710647,
                -0.0727942,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, reduction='sum', zero_infinity=True), grad(.., LP.float(), 1.7)
        (
            &[7.89987],
            &[
                -0.09266271,
                -1.4145509,
                0.98081464,
                0.53292656,
                -0.542435,
                0.94235647,
                -0.6139449,
                0.21884936,
                0.0,
                0.0,
                0.0,
                0.0,
                0.09882115,
                -0.15483843,
                0.032410476,
                0.025492486,
                -0.18180197,
                0.09168726,
                -1.1189965,
                1.2100096,
                0.0,
                0.0,
                0.0,
                0.0,
                0.23110968,
                0.0135534555,
                -0.2716941,
                0.028167814,
                -0.36079317,
                0.0679236,
                0.05207795,
                0.24186592,
                0.0,
                0.0,
                0.0,
                0.0,
                0.034726717,
                0.41921487,
                -0.44693068,
                -0.009861699,
                0.6244357,
                0.07970909,
                -0.98882633,
                0.2838323,
                0.0,
                0.0,
                0.0,
                0.0,
                0.13811839,
                0.34322408,
                0.17739584,
                -0.6551478,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
    ];
    let (x, t, g) = (lp32(), tp(), g3().mapv(|v| v as f32));
    let mut k = 0;
    for zero_infinity in [false, true] {
        for reduction in REDUCTIONS {
            let (loss, grad) = cases[k];
            k += 1;
            let o = opts(reduction, zero_infinity);
            let shape: &[usize] = if reduction == Reduction::None {
                &[3]
            } else {
                &[]
            };
            assert_f32(
                &ctc_loss(x.view(), t.view(), &IL, &TL, &o).unwrap(),
                shape,
                loss,
            );
            let go = match reduction {
                Reduction::None => g.clone(),
                _ => arr0(1.7f32).into_dyn(),
            };
            let got = ctc_loss_backward(go.view(), x.view(), t.view(), &IL, &TL, &o).unwrap();
            assert_f32(&got, &[5, 3, 4], grad);
        }
    }
}

// torch 2.13: for every reduction, with zero_infinity=True,
//   torch.equal(F.ctc_loss(LP, TC, IL, TL, ...), F.ctc_loss(LP, TP, IL, TL, ...)) -> True
//   torch.equal(grad(.. TC .., LP, 1.0), grad(.. TP .., LP, 1.0)) -> True (also in float32)
#[test]
fn concatenated_targets_give_the_padded_results() {
    let (x, x32, one) = (lp(), lp32(), arr0(1.0).into_dyn());
    for reduction in REDUCTIONS {
        let o = opts(reduction, true);
        let go = if reduction == Reduction::None {
            ArrayD::from_elem(IxDyn(&[3]), 1.0)
        } else {
            one.clone()
        };
        let go32 = go.mapv(|v| v as f32);
        let padded = ctc_loss(x.view(), tp().view(), &IL, &TL, &o).unwrap();
        let concat = ctc_loss(x.view(), tc().view(), &IL, &TL, &o).unwrap();
        assert!(bits_equal(&padded, &concat));
        let padded = ctc_loss_backward(go.view(), x.view(), tp().view(), &IL, &TL, &o).unwrap();
        let concat = ctc_loss_backward(go.view(), x.view(), tc().view(), &IL, &TL, &o).unwrap();
        assert!(bits_equal(&padded, &concat));
        let padded = ctc_loss_backward(go32.view(), x32.view(), tp().view(), &IL, &TL, &o).unwrap();
        let concat = ctc_loss_backward(go32.view(), x32.view(), tc().view(), &IL, &TL, &o).unwrap();
        assert!(bits_equal(&padded, &concat));
    }
}

#[test]
fn unbatched_input_gives_a_0d_loss_and_a_t_by_c_gradient() {
    let cases: &[(&[f64], &[f64])] = &[
        // torch 2.13: F.ctc_loss(LP[:, 0], TP[0], [5], [3], reduction='none'), grad(.., LP[:, 0], 1.7)
        (
            &[3.86224705083265],
            &[
                -0.09266272041362368,
                -1.4145512903170525,
                0.9808146776468273,
                0.532926507500429,
                0.0988205801674691,
                -0.15483846355044723,
                0.032410286350472564,
                0.025492480594812093,
                0.23110969167160478,
                0.013553442122867437,
                -0.2716943347223776,
                0.028167814887520556,
                0.03472670956377364,
                0.419214838700731,
                -0.44693059356963416,
                -0.009861924021536506,
                0.1381183635419289,
                0.34322408059091414,
                0.17739582408310056,
                -0.6551483037946426,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP[:, 0], TP[0], [5], [3], reduction='mean'), grad(.., LP[:, 0], 1.7)
        (
            &[1.2874156836108834],
            &[
                -0.030887573471207894,
                -0.4715170967723509,
                0.3269382258822758,
                0.17764216916680967,
                0.032940193389156366,
                -0.051612821183482406,
                0.010803428783490856,
                0.008497493531604032,
                0.07703656389053493,
                0.004517814040955813,
                -0.09056477824079254,
                0.009389271629173518,
                0.011575569854591215,
                0.13973827956691035,
                -0.14897686452321138,
                -0.0032873080071788357,
                0.0460394545139763,
                0.11440802686363805,
                0.059131941361033516,
                -0.21838276793154754,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP[:, 0], TP[0], [5], [3], reduction='sum'), grad(.., LP[:, 0], 1.7)
        (
            &[3.86224705083265],
            &[
                -0.09266272041362368,
                -1.4145512903170525,
                0.9808146776468273,
                0.532926507500429,
                0.0988205801674691,
                -0.15483846355044723,
                0.032410286350472564,
                0.025492480594812093,
                0.23110969167160478,
                0.013553442122867437,
                -0.2716943347223776,
                0.028167814887520556,
                0.03472670956377364,
                0.419214838700731,
                -0.44693059356963416,
                -0.009861924021536506,
                0.1381183635419289,
                0.34322408059091414,
                0.17739582408310056,
                -0.6551483037946426,
            ],
        ),
    ];
    let x = lp().index_axis(Axis(1), 0).to_owned();
    let target = ai(&[3], &[1, 2, 3]);
    for (&reduction, &(loss, grad)) in REDUCTIONS.iter().zip(cases) {
        let o = opts(reduction, false);
        assert_ulps(
            &ctc_loss(x.view(), target.view(), &[5], &[3], &o).unwrap(),
            &[],
            loss,
        );
        let g =
            ctc_loss_backward(arr0(1.7).view(), x.view(), target.view(), &[5], &[3], &o).unwrap();
        assert_ulps(&g, &[5, 4], grad);
    }
    // torch 2.13: torch.equal(F.ctc_loss(LP[:, 0], TP[:1], [5], [3], reduction='none'),
    //                         F.ctc_loss(LP[:, 0], TP[0], [5], [3], reduction='none')) -> True
    let o = opts(Reduction::None, false);
    let padded = ctc_loss(x.view(), tp().slice(s![..1, ..]), &[5], &[3], &o).unwrap();
    assert!(bits_equal(
        &padded,
        &ctc_loss(x.view(), target.view(), &[5], &[3], &o).unwrap()
    ));
    let (expected_loss, expected_grad): (&[f32], &[f32]) =
        // torch 2.13: F.ctc_loss(LP[:, 0].float(), TP[0], [5], [3], reduction='none'), grad(.., LP[:, 0].float(), 1.7)
        (&[3.8622468], &[-0.09266271, -1.4145509, 0.98081464, 0.53292656, 0.09882115, -0.15483843, 0.032410476, 0.025492486, 0.23110968, 0.0135534555, -0.2716941, 0.028167814, 0.034726717, 0.41921487, -0.44693068, -0.009861699, 0.13811839, 0.34322408, 0.17739584, -0.6551478])
    ;
    let x32 = x.mapv(|v| v as f32);
    assert_f32(
        &ctc_loss(x32.view(), target.view(), &[5], &[3], &o).unwrap(),
        &[],
        expected_loss,
    );
    let g = ctc_loss_backward(
        arr0(1.7f32).view(),
        x32.view(),
        target.view(),
        &[5],
        &[3],
        &o,
    )
    .unwrap();
    assert_f32(&g, &[5, 4], expected_grad);
}

// A repeated label needs a blank between its copies: [2, 2] needs 3 time steps, [1, 2]
// two. With too few the loss is inf and, without zero_infinity, the gradient NaN up to
// the input length (0 after it).
#[test]
fn repeated_labels_need_a_blank_between_them() {
    #[allow(clippy::type_complexity)]
    let cases: &[(&[i64], i64, &[f64], &[f64])] = &[
        // torch 2.13: F.ctc_loss(LP[:, 1], torch.tensor([2, 2]), [2], [2], reduction='sum'), grad(.., LP[:, 1], 1.0)
        (
            &[2, 2],
            2,
            &[f64::INFINITY],
            &[
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP[:, 1], torch.tensor([2, 2]), [3], [2], reduction='sum'), grad(.., LP[:, 1], 1.0)
        (
            &[2, 2],
            3,
            &[7.51],
            &[
                0.21224797382674304,
                0.5543272847345071,
                -0.8924715698642046,
                0.12873490358780423,
                -0.9074494224896577,
                0.05393368730035602,
                0.1422740715865136,
                0.7117703227626097,
                0.7633794943368531,
                0.039955058260653896,
                -0.9449767799435923,
                0.1422740715865136,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP[:, 1], torch.tensor([1, 2]), [2], [2], reduction='sum'), grad(.., LP[:, 1], 1.0)
        (
            &[1, 2],
            2,
            &[2.54],
            &[
                0.21224797382674304,
                -0.4456727152654929,
                0.10752843013579495,
                0.12873490358780423,
                0.09255057751034329,
                0.05393368730035602,
                -0.8577259284134862,
                0.7117703227626097,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP[:, 1], torch.tensor([1, 2]), [3], [2], reduction='sum'), grad(.., LP[:, 1], 1.0)
        (
            &[1, 2],
            3,
            &[2.664383975078452],
            &[
                0.20320363286472784,
                -0.43662837430347756,
                0.10752843013579495,
                0.12873490358780423,
                0.0520166534724689,
                0.02126827294340948,
                -0.7845265900186652,
                0.7117703227626097,
                -0.10111008758216888,
                0.039955058260653896,
                -0.0804871980245706,
                0.1422740715865136,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
    ];
    let x = lp().index_axis(Axis(1), 1).to_owned();
    let o = opts(Reduction::Sum, false);
    for &(target, il, loss, grad) in cases {
        let t = ai(&[2], target);
        assert_ulps(
            &ctc_loss(x.view(), t.view(), &[il], &[2], &o).unwrap(),
            &[],
            loss,
        );
        let g = ctc_loss_backward(arr0(1.0).view(), x.view(), t.view(), &[il], &[2], &o).unwrap();
        assert_ulps(&g, &[5, 4], grad);
    }
}

// An empty target is matched by blanks only; an input length of 0 matches only the
// empty target, with loss -0.0 (libtorch negates a log-likelihood of +0):
//   torch.signbit(F.ctc_loss(LP, torch.zeros(3, 0, dtype=torch.long), [5, 0, 2], [0, 0, 0], reduction='none'))
//     -> tensor([False, True, False])
// `mean` divides by the target length clamped to 1.
#[test]
fn empty_targets_and_zero_input_lengths() {
    let cases: &[(&[f64], &[f64])] = &[
        // torch 2.13: F.ctc_loss(LP, torch.zeros(3, 0, dtype=torch.long), [5, 0, 2], [0, 0, 0], reduction='none'), grad(.., G3)
        (
            &[7.65, -0.0, 3.91],
            &[
                -0.6599118678141731,
                0.039294333983893606,
                0.40386486726634063,
                0.2194403266178237,
                0.0,
                0.0,
                0.0,
                0.0,
                -1.9630394916969314,
                0.1383369842954462,
                1.063895683967738,
                0.764859857100199,
                -0.17095138098099263,
                0.07377945719330503,
                0.08745114853900768,
                0.010496903774334392,
                0.0,
                0.0,
                0.0,
                0.0,
                -1.4547146489376248,
                1.1876034212690278,
                0.01487515875100945,
                0.2495583170900603,
                -0.3523902873460138,
                0.01679498508569642,
                0.32410914781785966,
                0.011954171955239354,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.5374346076891694,
                0.17261787475912455,
                0.2962134576224242,
                0.06742934676134511,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.6332415864491155,
                0.14132756259625875,
                0.07304533932833553,
                0.4203469051685861,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, torch.zeros(3, 0, dtype=torch.long), [5, 0, 2], [0, 0, 0], reduction='mean'), grad(.., 1.7)
        (
            &[3.8533333333333335],
            &[
                -0.5342143691829021,
                0.03180969893934244,
                0.3269382258822758,
                0.17764216916680967,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.5297090691880608,
                0.037329027508295004,
                0.28708296234050074,
                0.20639075509052987,
                -0.1383892131750893,
                0.05972622725172312,
                0.07079378691253004,
                0.008497493531604032,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.3925420481260257,
                0.320464415263071,
                0.004013931726462867,
                0.06734113318303213,
                -0.285268327851535,
                0.013595940307468532,
                0.26237407204302926,
                0.009677186820908049,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.43506611098647047,
                0.13973827956691035,
                0.23979184664672432,
                0.05458566166394605,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -0.5126241414111888,
                0.11440802686363805,
                0.059131941361033516,
                0.3402808279936173,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, torch.zeros(3, 0, dtype=torch.long), [5, 0, 2], [0, 0, 0], reduction='sum'), grad(.., 1.7)
        (
            &[11.56],
            &[
                -1.6026431075487062,
                0.09542909681802733,
                0.9808146776468273,
                0.532926507500429,
                0.0,
                0.0,
                0.0,
                0.0,
                -1.5891272075641825,
                0.11198708252488501,
                0.8612488870215022,
                0.6191722652715896,
                -0.4151676395252678,
                0.17917868175516935,
                0.2123813607375901,
                0.025492480594812093,
                0.0,
                0.0,
                0.0,
                0.0,
                -1.177626144378077,
                0.961393245789213,
                0.0120417951793886,
                0.2020233995490964,
                -0.8558049835546049,
                0.0407878209224056,
                0.7871222161290877,
                0.029031560462724145,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -1.3051983329594115,
                0.419214838700731,
                0.719375539940173,
                0.16375698499183816,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                -1.5378724242335664,
                0.34322408059091414,
                0.17739582408310056,
                1.020842483980852,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
    ];
    let (x, g, empty) = (lp(), g3(), ai(&[3, 0], &[]));
    for (&reduction, &(loss, grad)) in REDUCTIONS.iter().zip(cases) {
        let o = opts(reduction, false);
        let shape: &[usize] = if reduction == Reduction::None {
            &[3]
        } else {
            &[]
        };
        let got = ctc_loss(x.view(), empty.view(), &[5, 0, 2], &[0, 0, 0], &o).unwrap();
        assert_ulps(&got, shape, loss);
        if reduction == Reduction::None {
            assert!(got[[1]] == 0.0 && got[[1]].is_sign_negative());
        }
        let go = grad_for(reduction, &g);
        let got = ctc_loss_backward(
            go.view(),
            x.view(),
            empty.view(),
            &[5, 0, 2],
            &[0, 0, 0],
            &o,
        )
        .unwrap();
        assert_ulps(&got, &[5, 3, 4], grad);
    }
    // A zero input length with a non-empty target is impossible: inf, and a zero
    // gradient (every row is past the input length), NaN-free.
    let cases: &[(Reduction, bool, &[f64], &[f64])] = &[
        // torch 2.13: F.ctc_loss(LP, TP, [5, 0, 4], [3, 2, 3], reduction='none'), grad(.., G3)
        (
            Reduction::None,
            false,
            &[3.86224705083265, f64::INFINITY, f64::INFINITY],
            &[
                -0.038155237817374454,
                -0.582462296012904,
                0.40386486726634063,
                0.2194403266178237,
                0.0,
                0.0,
                0.0,
                0.0,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.04069082712778139,
                -0.06375701440312533,
                0.013345412026665174,
                0.010496903774334392,
                0.0,
                0.0,
                0.0,
                0.0,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.09516281421771962,
                0.005580829109416004,
                -0.11187413782686136,
                0.011598512012508463,
                0.0,
                0.0,
                0.0,
                0.0,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.014299233349789147,
                0.17261787475912455,
                -0.1840302444110258,
                -0.004060792244162091,
                0.0,
                0.0,
                0.0,
                0.0,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                f64::NAN,
                0.05687226734079425,
                0.14132756259625875,
                0.07304533932833553,
                -0.2697669486213234,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
        // torch 2.13: F.ctc_loss(LP, TP, [5, 0, 4], [3, 2, 3], reduction='mean', zero_infinity=True), grad(.., 1.7)
        (
            Reduction::Mean,
            true,
            &[0.4291385612036278],
            &[
                -0.010295857823735965,
                -0.15717236559078362,
                0.10897940862742525,
                0.05921405638893656,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.010980064463052122,
                -0.01720427372782747,
                0.003601142927830285,
                0.0028324978438680104,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.02567885463017831,
                0.0015059380136519375,
                -0.030188259413597512,
                0.003129757209724506,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.003858523284863738,
                0.046579426522303444,
                -0.04965895484107046,
                -0.0010957693357262785,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.015346484837992102,
                0.03813600895454602,
                0.019710647120344506,
                -0.0727942559771825,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
        ),
    ];
    for &(reduction, zero_infinity, loss, grad) in cases {
        let o = opts(reduction, zero_infinity);
        let shape: &[usize] = if reduction == Reduction::None {
            &[3]
        } else {
            &[]
        };
        let got = ctc_loss(x.view(), tp().view(), &[5, 0, 4], &TL, &o).unwrap();
        assert_ulps(&got, shape, loss);
        let go = grad_for(reduction, &g);
        let got = ctc_loss_backward(go.view(), x.view(), tp().view(), &[5, 0, 4], &TL, &o).unwrap();
        assert_ulps(&got, &[5, 3, 4], grad);
    }
}

// With blank=2, the labels 2 of TP are blanks too: libtorch runs the recursion all the
// same (the last step's blank value is overwritten by the label's).
#[test]
fn a_blank_other_than_0_and_labels_equal_to_it() {
    let (loss, grad): (&[f64], &[f64]) =
        // torch 2.13: F.ctc_loss(LP, TP, IL, TL, blank=2, reduction='none'), grad(.., G3)
        (&[3.4382295644237346, 6.370562087565899, f64::INFINITY], &[0.04008813218582715, -0.1336456665428974, -0.1231951322068685, 0.2194403266178237, -0.27592236597476594, -0.7206254701548592, 1.160213040823466, -0.16735537466414552, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.5290486190190078, -0.49405300994003587, -0.04471638432765112, 0.010496903774334392, -0.12031575076344628, -0.07011379349046283, 1.1150437069375332, -0.9253014195913926, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.34760971265398666, -0.0016469159483247626, -0.3571565037620295, 0.011661724569149616, -0.9923933426379091, -0.05194157573885007, 1.22846981392667, -0.18495629306246766, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.16256539231083117, 0.17261787475912455, -0.3434831101925891, 0.007125914576358126, -0.4928079495344185, -0.060954003785985034, 0.511459442337221, -0.2170482205671529, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.06675841355088473, 0.14132756259625875, 0.06400233959908877, -0.27061009510216727, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    ;
    let (x, g) = (lp(), g3());
    let o = opts(Reduction::None, false).blank(2);
    assert_ulps(
        &ctc_loss(x.view(), tp().view(), &IL, &TL, &o).unwrap(),
        &[3],
        loss,
    );
    let got = ctc_loss_backward(g.view(), x.view(), tp().view(), &IL, &TL, &o).unwrap();
    assert_ulps(&got, &[5, 3, 4], grad);
    let (loss, grad): (&[f32], &[f32]) =
        // torch 2.13: F.ctc_loss(LP.float(), TP, IL, TL, blank=2, reduction='sum', zero_infinity=True), grad(.., 1.7)
        (&[9.808792], &[0.0973569, -0.32456806, -0.29918885, 0.53292656, 0.36082157, 0.94235647, -1.5172025, 0.21884936, 0.0, 0.0, 0.0, 0.0, 1.2848324, -1.1998439, -0.10859697, 0.025492486, 0.15733597, 0.09168726, -1.4581345, 1.2100096, 0.0, 0.0, 0.0, 0.0, 0.84419507, -0.003999697, -0.8673806, 0.028321328, 1.2977452, 0.0679236, -1.6064599, 0.24186592, 0.0, 0.0, 0.0, 0.0, 0.39480168, 0.41921487, -0.8341738, 0.017305754, 0.6444412, 0.07970909, -0.6688314, 0.2838323, 0.0, 0.0, 0.0, 0.0, 0.16212758, 0.34322408, 0.15543427, -0.65719616, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    ;
    let o = opts(Reduction::Sum, true).blank(2);
    let x32 = lp32();
    assert_f32(
        &ctc_loss(x32.view(), tp().view(), &IL, &TL, &o).unwrap(),
        &[],
        loss,
    );
    let got =
        ctc_loss_backward(arr0(1.7f32).view(), x32.view(), tp().view(), &IL, &TL, &o).unwrap();
    assert_f32(&got, &[5, 3, 4], grad);
}

// A -inf log-probability is a path of probability 0 (its own gradient entry is NaN:
// exp(-inf + nll + inf)); a NaN makes its sample's loss NaN, which zero_infinity keeps.
#[test]
fn nan_and_minus_infinity_log_probabilities() {
    let (loss, grad): (&[f64], &[f64]) =
        // torch 2.13: LN = LP.clone(); LN[1, 0, 2] = -inf; LN[2, 1, 0] = nan; F.ctc_loss(LN, TP, IL, TL, reduction='none', zero_infinity=True), grad(.., LN, G3)
        (&[3.974145937209229, f64::NAN, 0.0], &[-0.04741923478866061, -0.5731982990416186, 0.40386486726634063, 0.2194403266178237, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.0, 0.0, 0.0, 0.0, -0.017130622853209543, -0.08004130093447709, f64::NAN, 0.010496903774334392, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.092054693909934, 0.004253075626973447, -0.10779392397936416, 0.011954171955239354, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.03179569712309865, 0.17261787475912455, -0.21016139070325499, 0.0045738902747571334, f64::NAN, f64::NAN, f64::NAN, f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.058143991993977275, 0.14132756259625875, 0.07304533932833553, -0.27103867327450665, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    ;
    let mut x = lp();
    x[[1, 0, 2]] = f64::NEG_INFINITY;
    x[[2, 1, 0]] = f64::NAN;
    let o = opts(Reduction::None, true);
    assert_ulps(
        &ctc_loss(x.view(), tp().view(), &IL, &TL, &o).unwrap(),
        &[3],
        loss,
    );
    let got = ctc_loss_backward(g3().view(), x.view(), tp().view(), &IL, &TL, &o).unwrap();
    assert_ulps(&got, &[5, 3, 4], grad);
}

#[test]
fn strided_inputs_give_the_contiguous_results() {
    let x = lp();
    // (N, T, C) in memory, viewed as (T, N, C).
    let ntc = x
        .view()
        .permuted_axes(IxDyn(&[1, 0, 2]))
        .as_standard_layout()
        .to_owned();
    let tnc = ntc.view().permuted_axes(IxDyn(&[1, 0, 2]));
    assert!(!tnc.is_standard_layout());
    // Column-major padded targets.
    let t = tp();
    let t_f = t.t().as_standard_layout().to_owned();
    let t_strided = t_f.t();
    for reduction in REDUCTIONS {
        let o = opts(reduction, true);
        let go = grad_for(reduction, &g3());
        let a = ctc_loss(x.view(), t.view(), &IL, &TL, &o).unwrap();
        let b = ctc_loss(tnc.view(), t_strided.view(), &IL, &TL, &o).unwrap();
        assert!(bits_equal(&a, &b));
        let a = ctc_loss_backward(go.view(), x.view(), t.view(), &IL, &TL, &o).unwrap();
        let b = ctc_loss_backward(go.view(), tnc.view(), t_strided.view(), &IL, &TL, &o).unwrap();
        assert!(bits_equal(&a, &b));
    }
}

fn long_batch() -> (Array3<f32>, ArrayD<i64>, Vec<i64>, Vec<i64>) {
    let x = Array3::from_shape_vec((12, 400, 5), gen32(12 * 400 * 5, 1)).unwrap();
    let t: Vec<i64> = (0..400)
        .flat_map(|b| (0..5).map(move |k| ((b * 7 + k * 3) % 4 + 1) as i64))
        .collect();
    let il = (0..400).map(|b| 12 - b % 3).collect();
    let tl = (0..400).map(|b| b % 6).collect();
    (x, ai(&[400, 5], &t), il, tl)
}

// 400 samples: libtorch's sum runs over SIMD lanes with a cascade of partial sums.
//   F.ctc_loss(XL, TLL, ILL, TLN, reduction=...) and grad(.., XL, 1.0); G.double().sum(),
//   G.double().abs().sum(), G[3, 17]; and the same for XL.double()
#[test]
fn long_batches_reduce_in_libtorchs_order() {
    let (x, t, il, tl) = long_batch();
    let x64 = x.mapv(f64::from);
    #[allow(clippy::type_complexity)]
    let cases: &[(Reduction, f32, f64, f64, [f32; 5], f64, f64, f64, [f64; 5])] = &[
        (
            Reduction::Mean,
            // torch 2.13 (float32): loss, G.sum(), G.abs().sum(), G[3, 17]
            0.6683999,
            13.25002416354825,
            15.128987916481758,
            [
                0.00010607108,
                0.00022309535,
                0.00012932214,
                6.0276237e-05,
                0.0002509974,
            ],
            // torch 2.13 (float64)
            0.668399850613245,
            13.250024585823688,
            15.128988335544708,
            [
                0.00010607109674875568,
                0.00022309537230996213,
                0.00012932216733121807,
                6.027623619737721e-05,
                0.0002509974078559744,
            ],
        ),
        (
            Reduction::Sum,
            -256.1012,
            9499.0791567415,
            10303.42701087892,
            [0.21214217, 0.44619074, 0.2586443, 0.12055248, 0.50199485],
            -256.10117335550746,
            9499.079236025304,
            10303.427070690064,
            [
                0.21214219349751134,
                0.44619074461992425,
                0.25864433466243614,
                0.12055247239475442,
                0.5019948157119488,
            ],
        ),
    ];
    let sums = |g: &ArrayD<f64>| (g.sum(), g.mapv(f64::abs).sum());
    for &(reduction, l32, s32, a32, row32, l64, s64, a64_, row64) in cases {
        let o = opts(reduction, false);
        let loss = ctc_loss(x.view(), t.view(), &il, &tl, &o).unwrap();
        assert_f32(&loss, &[], &[l32]);
        let g = ctc_loss_backward(arr0(1.0f32).view(), x.view(), t.view(), &il, &tl, &o).unwrap();
        assert_f32(&g.slice(s![3, 17, ..]).to_owned().into_dyn(), &[5], &row32);
        let (s, a) = sums(&g.mapv(f64::from));
        assert!(
            (s - s32).abs() <= 1e-6 * s32.abs() && (a - a32).abs() <= 1e-6 * a32,
            "{s} {a}"
        );
        let loss = ctc_loss(x64.view(), t.view(), &il, &tl, &o).unwrap();
        assert_ulps(&loss, &[], &[l64]);
        let g = ctc_loss_backward(arr0(1.0).view(), x64.view(), t.view(), &il, &tl, &o).unwrap();
        assert_ulps(&g.slice(s![3, 17, ..]).to_owned().into_dyn(), &[5], &row64);
        let (s, a) = sums(&g);
        assert!(
            (s - s64).abs() <= 1e-12 * s64.abs() && (a - a64_).abs() <= 1e-12 * a64_,
            "{s} {a}"
        );
    }
    // torch 2.13: F.ctc_loss(XL, TLL, ILL, TLN, reduction='none')[:5]
    let none = ctc_loss(x.view(), t.view(), &il, &tl, &opts(Reduction::None, false)).unwrap();
    assert_f32(
        &none.slice(s![..5]).to_owned().into_dyn(),
        &[5],
        &[8.774323, -2.443666, 1.8605924, -3.7665656, -4.267315],
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (x, t, il, tl) = long_batch();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            REDUCTIONS
                .iter()
                .map(|&r| {
                    let o = opts(r, true);
                    let go = match r {
                        Reduction::None => ArrayD::from_elem(IxDyn(&[400]), 0.5f32),
                        _ => arr0(0.5f32).into_dyn(),
                    };
                    (
                        ctc_loss(x.view(), t.view(), &il, &tl, &o).unwrap(),
                        ctc_loss_backward(go.view(), x.view(), t.view(), &il, &tl, &o).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let (one, two) = (run(1), run(2));
    for ((l1, g1), (l2, g2)) in one.iter().zip(&two) {
        assert!(bits_equal(l1, l2) && bits_equal(g1, g2));
    }
}

/// One time step and empty targets: each sample's loss is `-lp[0, b, blank]`, with no
/// `exp` or `ln`, so the reduced loss is libtorch's summation order alone, the same on
/// every machine with 32-byte vectors. Sample b's blank log-probability is
/// `gen32(N, 2)[b] * 10^(b % 5)` (in float32).
fn one_step(n: usize) -> ArrayD<f32> {
    let mut x = ArrayD::zeros(IxDyn(&[1, n, 2]));
    for (b, v) in gen32(n, 2).into_iter().enumerate() {
        x[[0, b, 0]] = v * 10f32.powi((b % 5) as i32);
    }
    x
}

// torch 2.13 (v as in `one_step`; x = torch.zeros(1, N, 2); x[0, :, 0] = v):
//   F.ctc_loss(x, torch.zeros(N, 0, dtype=torch.long), [1] * N, [0] * N, reduction='sum' / 'mean'),
//   and the same for x.double()
#[test]
fn sum_and_mean_follow_libtorchs_summation_order_bit_for_bit() {
    #[allow(clippy::type_complexity)]
    let cases: &[(usize, f32, f32, f64, f64)] = &[
        (
            3,
            33.92979,
            11.30993,
            33.929789900779724,
            11.309929966926575,
        ),
        (
            7,
            1603.4113,
            229.05875,
            1603.4112445153296,
            229.05874921647566,
        ),
        (
            37,
            37850.332,
            1022.98193,
            37850.33468604833,
            1022.9820185418467,
        ),
        (
            400,
            444354.5,
            1110.8862,
            444354.50453121983,
            1110.8862613280496,
        ),
        (
            1500,
            1.6702635e+06,
            1113.509,
            1670263.4441054766,
            1113.5089627369844,
        ),
    ];
    for &(n, sum32, mean32, sum64, mean64) in cases {
        let x = one_step(n);
        let x64 = x.mapv(f64::from);
        let (t, il, tl) = (ai(&[n, 0], &[]), vec![1; n], vec![0; n]);
        let run32 = |r| ctc_loss(x.view(), t.view(), &il, &tl, &opts(r, false)).unwrap()[[]];
        let run64 = |r| ctc_loss(x64.view(), t.view(), &il, &tl, &opts(r, false)).unwrap()[[]];
        assert_eq!(
            run32(Reduction::Sum).to_bits(),
            sum32.to_bits(),
            "sum of {n}"
        );
        assert_eq!(
            run32(Reduction::Mean).to_bits(),
            mean32.to_bits(),
            "mean of {n}"
        );
        assert_eq!(
            run64(Reduction::Sum).to_bits(),
            sum64.to_bits(),
            "sum of {n}"
        );
        assert_eq!(
            run64(Reduction::Mean).to_bits(),
            mean64.to_bits(),
            "mean of {n}"
        );
    }
}

// torch 2.13 (first line of each exception), in PyTorch's order of checks: the 0-D
// input, emptiness, the ranks (an input that is not 3-D is unsqueezed first, so its
// rank is counted one higher), the blank, the lengths' counts, the target lengths
// (all of them, then the targets' size), the input lengths (sample by sample):
#[test]
fn errors_are_pytorchs_in_pytorchs_order() {
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&[usize], ArrayD<i64>, &[i64], &[i64], i64, ErrorKind, &str)> = vec![
        //   F.ctc_loss(torch.tensor(0.5, dtype=D), TP, [5, 4, 4], [3, 2, 3])
        //     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
        (
            &[],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3],
            0,
            ErrorKind::IndexError,
            "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
        ),
        //   F.ctc_loss(LP[:, 0, 0], TP, [5, 4, 4], [3, 2, 3])
        //     -> RuntimeError: Expected 3-dimensional tensor, but got 2-dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected 3-dimensional tensor, but got 2-dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP[None], TP, [5, 4, 4], [3, 2, 3])
        //     -> RuntimeError: Expected 3-dimensional tensor, but got 5-dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[1, 5, 3, 4],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected 3-dimensional tensor, but got 5-dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(torch.zeros(0, 3, 4, dtype=D), TP, [0, 0, 0], [0, 0, 0])
        //     -> RuntimeError: log_probs tensor must not be empty
        (
            &[0, 3, 4],
            tp(),
            &[0, 0, 0],
            &[0, 0, 0],
            0,
            ErrorKind::RuntimeError,
            "log_probs tensor must not be empty",
        ),
        //   F.ctc_loss(torch.zeros(5, 0, 4, dtype=D), torch.zeros(0, 3, dtype=torch.long), [], [])
        //     -> RuntimeError: log_probs tensor must not be empty
        (
            &[5, 0, 4],
            ai(&[0, 3], &[]),
            &[],
            &[],
            0,
            ErrorKind::RuntimeError,
            "log_probs tensor must not be empty",
        ),
        //   F.ctc_loss(torch.zeros(5, 3, 0, dtype=D), TP, [5, 4, 4], [3, 2, 3])
        //     -> RuntimeError: log_probs tensor must not be empty
        (
            &[5, 3, 0],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "log_probs tensor must not be empty",
        ),
        //   F.ctc_loss(torch.zeros(0, 4, dtype=D), torch.zeros(0, dtype=torch.long), [0], [0])
        //     -> RuntimeError: log_probs tensor must not be empty
        (
            &[0, 4],
            ai(&[0], &[]),
            &[0],
            &[0],
            0,
            ErrorKind::RuntimeError,
            "log_probs tensor must not be empty",
        ),
        //   F.ctc_loss(torch.zeros(1, 0, 3, 4, dtype=D), TP[None], [9], [9], blank=7)
        //     -> RuntimeError: log_probs tensor must not be empty
        (
            &[1, 0, 3, 4],
            tp().insert_axis(Axis(0)),
            &[9],
            &[9],
            7,
            ErrorKind::RuntimeError,
            "log_probs tensor must not be empty",
        ),
        //   F.ctc_loss(LP, TP[None], [5, 4, 4], [3, 2, 3])
        //     -> RuntimeError: Expected 1 to 2 dimensions, but got 3-dimensional tensor for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp().insert_axis(Axis(0)),
            &[5, 4, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected 1 to 2 dimensions, but got 3-dimensional tensor for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, torch.tensor(1), [5, 4, 4], [3, 2, 3])
        //     -> RuntimeError: Expected 1 to 2 dimensions, but got 0-dimensional tensor for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            ai(&[], &[1]),
            &[5, 4, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected 1 to 2 dimensions, but got 0-dimensional tensor for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP[None], TP[None], [5, 4, 4], [3, 2, 3], blank=9)
        //     -> RuntimeError: Expected 3-dimensional tensor, but got 5-dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[1, 5, 3, 4],
            tp().insert_axis(Axis(0)),
            &[5, 4, 4],
            &[3, 2, 3],
            9,
            ErrorKind::RuntimeError,
            "Expected 3-dimensional tensor, but got 5-dimensional tensor for argument #1 'log_probs' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, 4, 4], [3, 2, 3], blank=4)
        //     -> RuntimeError: blank must be in label range
        (
            &[5, 3, 4],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3],
            4,
            ErrorKind::RuntimeError,
            "blank must be in label range",
        ),
        //   F.ctc_loss(LP, TP, [5, 4, 4], [3, 2, 3], blank=-1)
        //     -> RuntimeError: blank must be in label range
        (
            &[5, 3, 4],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3],
            -1,
            ErrorKind::RuntimeError,
            "blank must be in label range",
        ),
        //   F.ctc_loss(LP, TP[None], [5], [3], blank=4)
        //     -> RuntimeError: Expected 1 to 2 dimensions, but got 3-dimensional tensor for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp().insert_axis(Axis(0)),
            &[5],
            &[3],
            4,
            ErrorKind::RuntimeError,
            "Expected 1 to 2 dimensions, but got 3-dimensional tensor for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, 4], [3, 2, 3])
        //     -> RuntimeError: input_lengths must be of size batch_size
        (
            &[5, 3, 4],
            tp(),
            &[5, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "input_lengths must be of size batch_size",
        ),
        //   F.ctc_loss(LP, TP, [5, 4, 4], [3, 2, 3, 1])
        //     -> RuntimeError: target_lengths must be of size batch_size
        (
            &[5, 3, 4],
            tp(),
            &[5, 4, 4],
            &[3, 2, 3, 1],
            0,
            ErrorKind::RuntimeError,
            "target_lengths must be of size batch_size",
        ),
        //   F.ctc_loss(LP, TP, [5], [3], blank=4)
        //     -> RuntimeError: blank must be in label range
        (
            &[5, 3, 4],
            tp(),
            &[5],
            &[3],
            4,
            ErrorKind::RuntimeError,
            "blank must be in label range",
        ),
        //   F.ctc_loss(LP, TP, [5], [3])
        //     -> RuntimeError: input_lengths must be of size batch_size
        (
            &[5, 3, 4],
            tp(),
            &[5],
            &[3],
            0,
            ErrorKind::RuntimeError,
            "input_lengths must be of size batch_size",
        ),
        //   F.ctc_loss(LP, TP, [6, 4, 4], [3, -2, 3])
        //     -> RuntimeError: Expected target_lengths to have value at least 0, but got value -2 (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp(),
            &[6, 4, 4],
            &[3, -2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected target_lengths to have value at least 0, but got value -2 (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, 4, 4], [3, 4, -1])
        //     -> RuntimeError: Expected target_lengths to have value at least 0, but got value -1 (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp(),
            &[5, 4, 4],
            &[3, 4, -1],
            0,
            ErrorKind::RuntimeError,
            "Expected target_lengths to have value at least 0, but got value -1 (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, 4, 4], [3, 4, 3])
        //     -> RuntimeError: Expected tensor to have size at least 4 at dimension 1, but got size 3 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp(),
            &[5, 4, 4],
            &[3, 4, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected tensor to have size at least 4 at dimension 1, but got size 3 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP[:2], [5, 4, 4], [3, 4, 3])
        //     -> RuntimeError: Expected tensor to have size 3 at dimension 0, but got size 2 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp().slice(s![..2, ..]).to_owned().into_dyn(),
            &[5, 4, 4],
            &[3, 4, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected tensor to have size 3 at dimension 0, but got size 2 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TC, [5, 4, 4], [3, 2, 2])
        //     -> RuntimeError: Expected tensor to have size 7 at dimension 0, but got size 8 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tc(),
            &[5, 4, 4],
            &[3, 2, 2],
            0,
            ErrorKind::RuntimeError,
            "Expected tensor to have size 7 at dimension 0, but got size 8 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TC, [6, 4, 4], [3, 2, 4])
        //     -> RuntimeError: Expected tensor to have size 9 at dimension 0, but got size 8 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tc(),
            &[6, 4, 4],
            &[3, 2, 4],
            0,
            ErrorKind::RuntimeError,
            "Expected tensor to have size 9 at dimension 0, but got size 8 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, -1, 4], [3, 2, 3])
        //     -> RuntimeError: Expected input_lengths to have value at least 0, but got value -1 (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp(),
            &[5, -1, 4],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected input_lengths to have value at least 0, but got value -1 (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, 6, -1], [3, 2, 3])
        //     -> RuntimeError: Expected input_lengths to have value at most 5, but got value 6 (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp(),
            &[5, 6, -1],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected input_lengths to have value at most 5, but got value 6 (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP, TP, [5, 4, 7], [3, 2, 3])
        //     -> RuntimeError: Expected input_lengths to have value at most 5, but got value 7 (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 3, 4],
            tp(),
            &[5, 4, 7],
            &[3, 2, 3],
            0,
            ErrorKind::RuntimeError,
            "Expected input_lengths to have value at most 5, but got value 7 (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP[:, 0], TP[0], [5], [2])
        //     -> RuntimeError: Expected tensor to have size 2 at dimension 0, but got size 3 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 4],
            ai(&[3], &[1, 2, 3]),
            &[5],
            &[2],
            0,
            ErrorKind::RuntimeError,
            "Expected tensor to have size 2 at dimension 0, but got size 3 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
        //   F.ctc_loss(LP[:, 0], TP[0], [5, 5], [3, 3])
        //     -> RuntimeError: input_lengths must be of size batch_size
        (
            &[5, 4],
            ai(&[3], &[1, 2, 3]),
            &[5, 5],
            &[3, 3],
            0,
            ErrorKind::RuntimeError,
            "input_lengths must be of size batch_size",
        ),
        //   F.ctc_loss(LP[:, 0], TP, [5], [3])
        //     -> RuntimeError: Expected tensor to have size 1 at dimension 0, but got size 3 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)
        (
            &[5, 4],
            tp(),
            &[5],
            &[3],
            0,
            ErrorKind::RuntimeError,
            "Expected tensor to have size 1 at dimension 0, but got size 3 for argument #2 'targets' (while checking arguments for ctc_loss_allocate_outputs)",
        ),
    ];
    for (shape, targets, il, tl, blank, kind, message) in cases {
        let x = zeros64(shape);
        let o = CtcOptions::default().blank(blank);
        let err = assert_err(
            ctc_loss(x.view(), targets.view(), il, tl, &o),
            kind,
            message,
        );
        // Autograd runs the forward first: the backward fails the same way.
        let back = ctc_loss_backward(arr0(1.0).view(), x.view(), targets.view(), il, tl, &o);
        assert_eq!(back.unwrap_err(), err);
    }
}

#[test]
fn error_hints_explain_the_usual_mistakes() {
    let x = lp();
    // Batch first, (N, T, C), instead of time first: the lengths' count, or an input
    // length, gives it away.
    let o = CtcOptions::default();
    let ntc = zeros64(&[3, 5, 4]);
    let err = ctc_loss(ntc.view(), tp().view(), &IL, &TL, &o).unwrap_err();
    assert!(
        err.hint().contains("(N, T, C), instead of (T, N, C)"),
        "{err}"
    );
    let ntc = zeros64(&[3, 3, 4]);
    let err = ctc_loss(ntc.view(), tp().view(), &IL, &TL, &o).unwrap_err();
    assert!(
        err.hint().contains("(N, T, C) instead of (T, N, C)"),
        "{err}"
    );
    let err = ctc_loss(
        x.view(),
        tp().view(),
        &IL,
        &TL,
        &CtcOptions::default().blank(4),
    )
    .unwrap_err();
    assert!(err.hint().contains("[0, 4)"), "{err}");
    let err = ctc_loss(
        x.view(),
        tc().view(),
        &IL,
        &[3, 2, 2],
        &CtcOptions::default(),
    )
    .unwrap_err();
    assert!(err.hint().contains("sum(target_lengths) = 7"), "{err}");
}

// PyTorch does not check the labels' range: for a label outside [0, C) it reads memory
// outside the sample's log-probabilities and returns a meaningless loss. This crate
// refuses such a label (within the target length; the padding is never read) with an
// error of its own.
#[test]
fn a_label_outside_the_classes_is_refused() {
    let x = lp();
    let o = CtcOptions::default();
    for (bad, sample) in [(4i64, 0usize), (-1, 2)] {
        let mut t = tp();
        t[[sample, 1]] = bad;
        let err = assert_err(
            ctc_loss(x.view(), t.view(), &IL, &TL, &o),
            ErrorKind::IndexError,
            &format!("ctc_loss: target {bad} of sample {sample} is out of bounds [0, 4)"),
        );
        assert!(err.hint().contains("PyTorch does not check this"));
        let back = ctc_loss_backward(arr0(1.0).view(), x.view(), t.view(), &IL, &TL, &o);
        assert_eq!(back.unwrap_err(), err);
    }
    // Beyond the target length anything goes, as in TP's -1.
    let mut t = tp();
    t[[1, 2]] = 99;
    assert!(ctc_loss(x.view(), t.view(), &IL, &TL, &o).is_ok());
}

// torch 2.13:
//   F.ctc_loss(LP, TP, IL, TL, reduction='none').backward(torch.ones(2, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has a shape of torch.Size([3]).
//   F.ctc_loss(LP, TP, IL, TL).backward(torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([]).
#[test]
fn grad_output_must_have_the_outputs_shape() {
    let x = lp();
    let check = |reduction, g: ArrayD<f64>, message: &str| {
        let o = opts(reduction, false);
        assert_err(
            ctc_loss_backward(g.view(), x.view(), tp().view(), &IL, &TL, &o),
            ErrorKind::RuntimeError,
            message,
        );
    };
    check(
        Reduction::None,
        a64(&[2], &[1.0, 1.0]),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([2]) and output[0] has a shape of torch.Size([3]).",
    );
    check(
        Reduction::Mean,
        a64(&[3], &[1.0, 1.0, 1.0]),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([]).",
    );
}

// ctc_loss_with_grad is ctc_loss and ctc_loss_backward in one: the same bits for every
// reduction, with and without zero_infinity (an impossible alignment included), padded
// and long (parallel) batches, and the same first error.
#[test]
fn with_grad_gives_the_separate_calls_bits() {
    for reduction in REDUCTIONS {
        for zero_infinity in [false, true] {
            let o = opts(reduction, zero_infinity);
            let g = grad_for(reduction, &g3());
            // Sample 1's two 2s need 3 steps; an input length of 2 makes it impossible.
            for il in [IL, [5, 2, 4]] {
                let (loss, grad) =
                    ctc_loss_with_grad(g.view(), lp().view(), tp().view(), &il, &TL, &o).unwrap();
                let alone = ctc_loss(lp().view(), tp().view(), &il, &TL, &o).unwrap();
                let alone_grad =
                    ctc_loss_backward(g.view(), lp().view(), tp().view(), &il, &TL, &o).unwrap();
                assert!(
                    bits_equal(&loss, &alone),
                    "{reduction:?} {zero_infinity} {il:?}"
                );
                assert!(
                    bits_equal(&grad, &alone_grad),
                    "{reduction:?} {zero_infinity} {il:?}"
                );
            }
        }
        let (x, t, il, tl) = long_batch();
        let o = opts(reduction, false);
        let g = match reduction {
            Reduction::None => ArrayD::from_elem(IxDyn(&[400]), 0.5f32),
            _ => arr0(0.5f32).into_dyn(),
        };
        let (loss, grad) = ctc_loss_with_grad(g.view(), x.view(), t.view(), &il, &tl, &o).unwrap();
        assert!(bits_equal(
            &loss,
            &ctc_loss(x.view(), t.view(), &il, &tl, &o).unwrap()
        ));
        let alone = ctc_loss_backward(g.view(), x.view(), t.view(), &il, &tl, &o).unwrap();
        assert!(bits_equal(&grad, &alone));
    }
    let o = opts(Reduction::Mean, false);
    let bad_grad = arr0(1.0).into_dyn();
    let err = |il: &[i64]| {
        ctc_loss_with_grad(bad_grad.view(), lp().view(), tp().view(), il, &TL, &o).unwrap_err()
    };
    let alone = |il: &[i64]| {
        ctc_loss_backward(bad_grad.view(), lp().view(), tp().view(), il, &TL, &o).unwrap_err()
    };
    assert_eq!(err(&[5, 4]).to_string(), alone(&[5, 4]).to_string());
    let none = opts(Reduction::None, false);
    let e = ctc_loss_with_grad(bad_grad.view(), lp().view(), tp().view(), &IL, &TL, &none);
    let a = ctc_loss_backward(bad_grad.view(), lp().view(), tp().view(), &IL, &TL, &none);
    assert_eq!(e.unwrap_err().to_string(), a.unwrap_err().to_string());
}
