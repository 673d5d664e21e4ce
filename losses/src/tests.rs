// Unit tests of the losses against PyTorch 2.13.0 (CPU).
//
// Every expected number in this file was printed by the oracle interpreter
// `/root/.cache/lossparity/torch-2.13.0/bin/python` (torch 2.13.0+cu130, run from /tmp)
// for the Python expression quoted in the comment above the test, with this preamble:
//
//     import torch, torch.nn.functional as F, numpy as np
//     D = torch.float64
//     X = torch.tensor([[-1.2, -0.3, -2.1], [-0.7, -1.9, -0.45], [-2.3, -0.15, -1.05], [-0.9, -0.8, -1.6]], dtype=D)
//     T = torch.tensor([0, 2, 1, 2])
//     W = torch.tensor([0.2, 1.7, 0.65], dtype=D)
//     Z = torch.tensor([-1.06, -2.09, 0.91, -2.57, 0.22, -0.81, -2.65, 0.04, -2.78, -0.4, -2.58, -2.46], dtype=D).reshape(4, 3)
//     P = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [0.0, 1.0, 0.0]], dtype=D)
//     Q = torch.tensor([[0.5, 0.9, 0.3], [1.2, 0.0, 0.4], [0.25, 0.25, 0.25], [2.0, -0.5, 0.1]], dtype=D)
//     Z3 = torch.tensor([-0.45, 1.96, -2.26, -1.66, 0.76, 2.69, 0.46, -0.62, 2.86, -2.72, 2.15, -1.26], dtype=D).reshape(2, 3, 2)
//     T3 = torch.tensor([[0, 2], [1, 0]])
//     P3 = torch.tensor([[[0.2, 0.5], [0.3, 0.25], [0.5, 0.25]], [[0.1, 0.6], [0.6, 0.2], [0.3, 0.2]]], dtype=D)
//     X4 = torch.tensor([1.08, -0.43, -1.12, 0.51, -0.28, -1.2, 1.77, 1.19, -1.54, 0.45, 0.15, 2.25, 1.38, -1.27, 2.88, -2.29, -0.49, 1.54, -2.09, -0.07, -2.76, 1.01, 1.59, 0.44], dtype=D).reshape(2, 3, 2, 2)
//     T4 = torch.tensor([[[0, 1], [2, 1]], [[2, 0], [1, 2]]])
//     X5 = torch.tensor([2.25, -1.12, 1.17, 0.57, 0.48, -0.26, 2.04, 2.67, -0.16, 0.98, -2.64, 1.21], dtype=D).reshape(1, 3, 2, 1, 2)
//     T5 = torch.tensor([[[[2, 0]], [[1, 1]]]])
//     G4 = torch.tensor([0.3, -1.2, 0.8, 2.1], dtype=D)
//     GZ = torch.tensor([0.88, 2.96, 1.93, -1.29, -0.69, 1.01, -2.86, -0.23, -1.99, -2.3, -2.65, 1.61], dtype=D).reshape(4, 3)
//     Z6 = torch.tensor([-2.22, -1.51, -0.65, 2.23, -2.52, -0.3, 0.3, 2.3, 1.92, 2.18, -1.33, -0.51, -0.85, 2.31, 2.75, -2.09, -1.94, -1.61, -1.6, -0.09, 0.53, -1.42, -2.98, -0.49], dtype=D).reshape(4, 6)
//     R = torch.tensor([0.3, -1.1, 2.4, 0.05], dtype=D)
//     def grad(fn, x, g):  # what autograd gives for sum(fn(x) * g)
//         x = x.clone().requires_grad_(True)
//         (fn(x) * g).sum().backward()
//         return x.grad
//     # float32 data from integer formulas: numpy float32 and Rust f32 round identically
//     def gen32(n, seed):
//         k = (np.arange(n, dtype=np.int64) * 7919 + seed * 104729) % 1000
//         return -(k.astype(np.float32) / np.float32(997.0))
//     def gen_t(n):
//         t = (np.arange(n, dtype=np.int64) * 5 + 3) % 4
//         t[t == 3] = -100
//         return torch.from_numpy(t)
//     W32 = torch.from_numpy(np.arange(1, 4).astype(np.float32) / np.float32(7.0))
//     X32 = torch.from_numpy(gen32(900, 1).reshape(300, 3)); T32 = gen_t(300)
//     X32s = torch.from_numpy(gen32(900, 2).reshape(4, 3, 75)); T32s = gen_t(300).reshape(4, 75)
//     r = (np.arange(300, dtype=np.int64) * 7 + 3) % 5
//     TM = torch.from_numpy(np.where(r >= 3, -100, r))  # gen_t_mixed(300)
//
// f64 results are printed with `repr` and compared within 1e-12 * max(1, |expected|);
// f32 `nll_loss` results are printed as the shortest float32 repr and compared bit for
// bit (same algorithm as libtorch); other f32 results use torch.testing's float32
// tolerance (atol 1.3e-6, rtol 1e-5), as the crate's tolerance policy does. Errors are
// the first line of the Python exception, with its class.

use ndarray::{arr0, array, s, Array1, ArrayD, ArrayView, Dimension, IxDyn};

use super::*;

// ---------------------------------------------------------------------------------
// Data and helpers
// ---------------------------------------------------------------------------------

fn a64(shape: &[usize], values: &[f64]) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).unwrap()
}

fn ai(shape: &[usize], values: &[i64]) -> ArrayD<i64> {
    ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).unwrap()
}

/// The preamble's tensors, as `ndarray` arrays with the same row-major values.
struct Data {
    x: ArrayD<f64>,
    t: ArrayD<i64>,
    w: ArrayD<f64>,
    z: ArrayD<f64>,
    p: ArrayD<f64>,
    q: ArrayD<f64>,
    z3: ArrayD<f64>,
    t3: ArrayD<i64>,
    p3: ArrayD<f64>,
    x4: ArrayD<f64>,
    t4: ArrayD<i64>,
    x5: ArrayD<f64>,
    t5: ArrayD<i64>,
    g4: ArrayD<f64>,
    gz: ArrayD<f64>,
    z6: ArrayD<f64>,
    r: ArrayD<f64>,
}

fn data() -> Data {
    Data {
        x: array![
            [-1.2, -0.3, -2.1],
            [-0.7, -1.9, -0.45],
            [-2.3, -0.15, -1.05],
            [-0.9, -0.8, -1.6]
        ]
        .into_dyn(),
        t: array![0i64, 2, 1, 2].into_dyn(),
        w: array![0.2, 1.7, 0.65].into_dyn(),
        z: a64(
            &[4, 3],
            &[
                -1.06, -2.09, 0.91, -2.57, 0.22, -0.81, -2.65, 0.04, -2.78, -0.4, -2.58, -2.46,
            ],
        ),
        p: array![
            [0.7, 0.2, 0.1],
            [0.1, 0.1, 0.8],
            [0.3, 0.3, 0.4],
            [0.0, 1.0, 0.0]
        ]
        .into_dyn(),
        q: array![
            [0.5, 0.9, 0.3],
            [1.2, 0.0, 0.4],
            [0.25, 0.25, 0.25],
            [2.0, -0.5, 0.1]
        ]
        .into_dyn(),
        z3: a64(
            &[2, 3, 2],
            &[
                -0.45, 1.96, -2.26, -1.66, 0.76, 2.69, 0.46, -0.62, 2.86, -2.72, 2.15, -1.26,
            ],
        ),
        t3: ai(&[2, 2], &[0, 2, 1, 0]),
        p3: a64(
            &[2, 3, 2],
            &[0.2, 0.5, 0.3, 0.25, 0.5, 0.25, 0.1, 0.6, 0.6, 0.2, 0.3, 0.2],
        ),
        x4: a64(
            &[2, 3, 2, 2],
            &[
                1.08, -0.43, -1.12, 0.51, -0.28, -1.2, 1.77, 1.19, -1.54, 0.45, 0.15, 2.25, 1.38,
                -1.27, 2.88, -2.29, -0.49, 1.54, -2.09, -0.07, -2.76, 1.01, 1.59, 0.44,
            ],
        ),
        t4: ai(&[2, 2, 2], &[0, 1, 2, 1, 2, 0, 1, 2]),
        x5: a64(
            &[1, 3, 2, 1, 2],
            &[
                2.25, -1.12, 1.17, 0.57, 0.48, -0.26, 2.04, 2.67, -0.16, 0.98, -2.64, 1.21,
            ],
        ),
        t5: ai(&[1, 2, 1, 2], &[2, 0, 1, 1]),
        g4: array![0.3, -1.2, 0.8, 2.1].into_dyn(),
        gz: a64(
            &[4, 3],
            &[
                0.88, 2.96, 1.93, -1.29, -0.69, 1.01, -2.86, -0.23, -1.99, -2.3, -2.65, 1.61,
            ],
        ),
        z6: a64(
            &[4, 6],
            &[
                -2.22, -1.51, -0.65, 2.23, -2.52, -0.3, 0.3, 2.3, 1.92, 2.18, -1.33, -0.51, -0.85,
                2.31, 2.75, -2.09, -1.94, -1.61, -1.6, -0.09, 0.53, -1.42, -2.98, -0.49,
            ],
        ),
        r: array![0.3, -1.1, 2.4, 0.05].into_dyn(),
    }
}

/// The preamble's `gen32(n, seed)`.
fn gen32(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| -(((i * 7919 + seed * 104729) % 1000) as f32 / 997.0))
        .collect()
}

/// The preamble's `gen_t(n)`.
fn gen_t(n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| match (i * 5 + 3) % 4 {
            3 => -100,
            t => t as i64,
        })
        .collect()
}

/// The preamble's `W32`.
fn w32() -> ArrayD<f32> {
    (1..=3)
        .map(|c| c as f32 / 7.0)
        .collect::<Array1<f32>>()
        .into_dyn()
}

/// The preamble's `TM`: ignored (-100) where `(7i + 3) % 5 >= 3`, class `(7i + 3) % 5`
/// elsewhere. Unlike `gen_t`, some multiples of 16 keep their target, so libtorch's
/// cascade sum really flushes its partial sums (at 16, 32, ...).
fn gen_t_mixed(n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| match (i * 7 + 3) % 5 {
            r if r >= 3 => -100,
            r => r as i64,
        })
        .collect()
}

/// A row-major copy of a view.
fn contiguous<D: Dimension>(view: ArrayView<'_, f64, D>) -> ArrayD<f64> {
    let view = view.into_dyn();
    let copy = ArrayD::from_shape_vec(view.raw_dim(), view.iter().copied().collect()).unwrap();
    assert!(copy.is_standard_layout());
    copy
}

fn nll_opts<'a>(reduction: Reduction) -> NllLossOptions<'a, f64> {
    NllLossOptions::default().reduction(reduction)
}

fn ce_opts<'a>(reduction: Reduction) -> CrossEntropyOptions<'a, f64> {
    CrossEntropyOptions::default().reduction(reduction)
}

fn nll64(
    input: &ArrayD<f64>,
    target: &ArrayD<i64>,
    options: &NllLossOptions<'_, f64>,
) -> Result<ArrayD<f64>, LossError> {
    nll_loss(input.view(), Target::indices(target.view()), options)
}

fn ce64(
    input: &ArrayD<f64>,
    target: &ArrayD<i64>,
    options: &CrossEntropyOptions<'_, f64>,
) -> Result<ArrayD<f64>, LossError> {
    cross_entropy(input.view(), Target::indices(target.view()), options)
}

fn ce_prob64(
    input: &ArrayD<f64>,
    target: &ArrayD<f64>,
    options: &CrossEntropyOptions<'_, f64>,
) -> Result<ArrayD<f64>, LossError> {
    cross_entropy(input.view(), Target::probabilities(target.view()), options)
}

/// `|actual - expected| <= 1e-12 * max(1, |expected|)` element-wise, with the shape;
/// a NaN expects a NaN, an infinity the same infinity.
#[track_caller]
fn assert_close(actual: &ArrayD<f64>, shape: &[usize], expected: &[f64]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f64> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            (a - e).abs() <= 1e-12 * e.abs().max(1.0)
        };
        assert!(ok, "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}");
    }
}

/// Bit-exact f32 comparison (any NaN matches any NaN).
#[track_caller]
fn assert_bits(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f32> = actual.iter().copied().collect();
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

/// torch.testing's float32 tolerance: `|a - e| <= 1.3e-6 + 1e-5 * |e|`.
#[track_caller]
fn assert_close_f32(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f32> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let (a64, e64) = (f64::from(a), f64::from(e));
        assert!(
            (a64 - e64).abs() <= 1.3e-6 + 1e-5 * e64.abs(),
            "element {i}: rust {a:?}, torch {e:?}\nrust: {got:?}"
        );
    }
}

/// The call failed with PyTorch's exception class and message, and a non-empty hint.
#[track_caller]
fn assert_err<T: std::fmt::Debug>(
    result: Result<T, LossError>,
    kind: ErrorKind,
    message: &str,
) -> LossError {
    let err = match result {
        Ok(value) => panic!("expected {kind}: {message}\nbut the call returned {value:?}"),
        Err(err) => err,
    };
    assert_eq!(err.message(), message, "message of {err}");
    assert_eq!(err.kind(), kind, "kind of {err}");
    assert!(!err.hint().trim().is_empty(), "empty hint for {err}");
    err
}

// ---------------------------------------------------------------------------------
// nll_loss: values
// ---------------------------------------------------------------------------------

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
    let mean = nll64(
        &d.x,
        &target,
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(&mean, &[], &[1.0852941176470587]);
    let sum = nll64(
        &d.x,
        &target,
        &nll_opts(Reduction::Sum).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(&sum, &[], &[0.9225000000000001]);
}

// torch 2.13.0:
//   F.nll_loss(X, torch.tensor([0, -100, 1, -100]), reduction='none') -> [1.2, 0.0, 0.15, 0.0]
//   F.nll_loss(X, torch.tensor([0, -100, 1, -100]), reduction='sum')  -> 1.3499999999999999
//   F.nll_loss(X, torch.tensor([0, -100, 1, -100]), reduction='mean') -> 0.6749999999999999
#[test]
fn ignored_positions_add_nothing_to_loss_or_divisor() {
    let d = data();
    let target = array![0i64, -100, 1, -100].into_dyn();
    let none = nll64(&d.x, &target, &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[4], &[1.2, 0.0, 0.15, 0.0]);
    let sum = nll64(&d.x, &target, &nll_opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[1.3499999999999999]);
    let mean = nll64(&d.x, &target, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[0.6749999999999999]);
}

// torch 2.13.0:
//   F.nll_loss(X, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, reduction='mean') -> 1.0852941176470587
//   F.nll_loss(X, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, reduction='none') -> [0.24, 0.0, 0.6825000000000001, 0.0]
#[test]
fn ignore_index_outside_class_range_is_allowed() {
    let d = data();
    let target = array![0i64, 7, 2, 7].into_dyn();
    let mean = nll64(
        &d.x,
        &target,
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(7),
    )
    .unwrap();
    assert_close(&mean, &[], &[1.0852941176470587]);
    let none = nll64(
        &d.x,
        &target,
        &nll_opts(Reduction::None).weight(d.w.view()).ignore_index(7),
    )
    .unwrap();
    assert_close(&none, &[4], &[0.24, 0.0, 0.6825000000000001, 0.0]);
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
    let mean = nll64(&input, &target, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = nll64(&input, &target, &nll_opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[0.0]);
    let none = nll64(&input, &target, &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[0], &[]);
    let weighted = nll64(
        &input,
        &target,
        &nll_opts(Reduction::Mean).weight(d.w.view()),
    )
    .unwrap();
    assert_close(&weighted, &[], &[f64::NAN]);
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
    let mean = nll64(&d.x, &target, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = nll64(&d.x, &target, &nll_opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[0.0]);
    let none = nll64(&d.x, &target, &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[4], &[0.0, 0.0, 0.0, 0.0]);
    let twos = array![2i64, 2, 2, 2].into_dyn();
    let weighted = nll64(
        &d.x,
        &twos,
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(2),
    )
    .unwrap();
    assert_close(&weighted, &[], &[f64::NAN]);
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
    let cases = [
        (Reduction::Mean, false, 0.45),
        (Reduction::Sum, false, 0.45),
        (Reduction::None, false, 0.45),
        (Reduction::Mean, true, 0.45000000000000007),
        (Reduction::Sum, true, 0.29250000000000004),
        (Reduction::None, true, 0.29250000000000004),
    ];
    for (reduction, weighted, expected) in cases {
        let mut options = nll_opts(reduction);
        if weighted {
            options = options.weight(d.w.view());
        }
        let out = nll64(&x1, &target, &options).unwrap();
        assert_close(&out, &[], &[expected]);
    }
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
    let mean = nll64(&x1, &target, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = nll64(&x1, &target, &nll_opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[0.0]);
    let none = nll64(&x1, &target, &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[], &[0.0]);
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
    let mean = nll64(&d.x, &zeros, &nll_opts(Reduction::Mean).weight(w0.view())).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = nll64(&d.x, &zeros, &nll_opts(Reduction::Sum).weight(w0.view())).unwrap();
    assert_close(&sum, &[], &[0.0]);
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
    let mean = nll64(&d.x, &target, &nll_opts(Reduction::Mean).weight(wn.view())).unwrap();
    assert_close(&mean, &[], &[-0.3722222222222222]);
    let none = nll64(&d.x, &target, &nll_opts(Reduction::None).weight(wn.view())).unwrap();
    assert_close(&none, &[4], &[-0.6, 0.29250000000000004, 0.255, -0.45]);
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
    let none = nll64(&d.x5, &d.t5, &nll_opts(Reduction::None)).unwrap();
    assert_close(&none, &[1, 2, 1, 2], &[0.16, 1.12, -2.04, -2.67]);
    let mean = nll64(&d.x5, &d.t5, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[-0.8574999999999999]);
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
fn byte_target_on_spatial_input_errors() {
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
    let mean = nll_loss(
        input.view(),
        Target::Bytes(target.view()),
        &nll_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = nll_loss(
        input.view(),
        Target::Bytes(target.view()),
        &nll_opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(&sum, &[], &[0.0]);
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

// ---------------------------------------------------------------------------------
// cross_entropy: values
// ---------------------------------------------------------------------------------

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
    let none = ce64(
        &d.z,
        &target,
        &ce_opts(Reduction::None).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(
        &none,
        &[4],
        &[0.4286635495409966, 0.0, 1.910994252575713, 0.0],
    );
    let mean = ce64(
        &d.z,
        &target,
        &ce_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(&mean, &[], &[2.752538590725541]);
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
    let mean = ce_prob64(&z2, &p2, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[2.0549911578087894]);
    let none = ce_prob64(&z2, &p2, &ce_opts(Reduction::None)).unwrap();
    assert_close(&none, &[], &[2.0549911578087894]);
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
    let options = |r| ce_opts(r).weight(d.w.view());
    let mean = ce_prob64(&d.z3, &d.p3, &options(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[1.4732883177336007]);
    let sum = ce_prob64(&d.z3, &d.p3, &options(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[5.893153270934403]);
    let none = ce_prob64(&d.z3, &d.p3, &options(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[2, 2],
        &[
            1.849243934427263,
            2.1981270558559145,
            0.7532146719486514,
            1.0925676087025733,
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
    let none = ce_prob64(&d.z, &d.q, &ce_opts(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4],
        &[
            3.979640171098471,
            4.319278942636939,
            1.467493368356592,
            -0.5391825647918275,
        ],
    );
    let mean = ce_prob64(&d.z, &d.q, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[2.3068074793250437]);
}

// torch 2.13.0 (TI = torch.tensor([0, 1, 2, 1])):
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='mean') -> 2.877555398781227
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='sum')  -> 2.4459220889640427
//   F.cross_entropy(Z, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='none')
//     -> [0.738661523409311, 0.0, 1.7072605655547313, 0.0]
//   F.cross_entropy(Z, TI, ignore_index=1, label_smoothing=0.2, reduction='mean') -> 2.4119877860902195
#[test]
fn label_smoothing_with_index_targets_weight_and_ignore_index() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let options = |r| {
        ce_opts(r)
            .weight(d.w.view())
            .ignore_index(1)
            .label_smoothing(0.2)
    };
    let mean = ce64(&d.z, &target, &options(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[2.877555398781227]);
    let sum = ce64(&d.z, &target, &options(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[2.4459220889640427]);
    let none = ce64(&d.z, &target, &options(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4],
        &[0.738661523409311, 0.0, 1.7072605655547313, 0.0],
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
fn label_smoothing_on_spatial_and_unbatched_inputs() {
    let d = data();
    let options = |r| ce_opts(r).weight(d.w.view()).label_smoothing(0.1);
    let mean = ce64(&d.z3, &d.t3, &options(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[0.7398965315046379]);
    let none = ce64(&d.z3, &d.t3, &options(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[2, 2],
        &[
            0.4759378772836854,
            0.5207086701917036,
            0.7725371351123391,
            0.2655317790500259,
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
fn label_smoothing_with_probability_targets() {
    let d = data();
    let options = |r| ce_opts(r).weight(d.w.view()).label_smoothing(0.3);
    let mean = ce_prob64(&d.z, &d.p, &options(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[1.685028425888528]);
    let none = ce_prob64(&d.z, &d.p, &options(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4],
        &[
            1.5667767464142215,
            0.7995911030393614,
            0.9636326079281478,
            3.410113246172381,
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
    let options = |r| ce_opts(r).weight(d.w.view()).label_smoothing(1.0);
    let mean = ce64(&d.z, &d.t, &options(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[1.700660553255288]);
    let none = ce64(&d.z, &d.t, &options(Reduction::None)).unwrap();
    assert_close(
        &none,
        &[4],
        &[
            1.9786534188825686,
            0.7062836049425406,
            0.8923258174708042,
            1.8648509291210082,
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
    let mean = ce64(
        &d.z,
        &ignored,
        &ce_opts(Reduction::Mean).label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = ce64(
        &d.z,
        &ignored,
        &ce_opts(Reduction::Sum).label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&sum, &[], &[0.0]);
    let weighted = ce64(
        &d.z,
        &ignored,
        &ce_opts(Reduction::Mean)
            .weight(d.w.view())
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&weighted, &[], &[f64::NAN]);
}

// torch 2.13.0 (E = torch.zeros(0, 3, dtype=D)):
//   F.cross_entropy(E, torch.zeros(0, 3, dtype=D), reduction='mean') -> nan
//   F.cross_entropy(E, torch.zeros(0, 3, dtype=D), reduction='sum')  -> -0.0
//   F.cross_entropy(E, torch.zeros(0, 3, dtype=D), reduction='none') -> shape [0]
//   F.cross_entropy(E, torch.zeros(0, dtype=torch.long), label_smoothing=0.2) -> nan
//   F.cross_entropy(E, torch.zeros(0, dtype=torch.long), label_smoothing=0.2, reduction='sum') -> 0.0
#[test]
fn empty_batch_cross_entropy() {
    let input = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let probs = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let mean = ce_prob64(&input, &probs, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = ce_prob64(&input, &probs, &ce_opts(Reduction::Sum)).unwrap();
    assert_close(&sum, &[], &[-0.0]);
    let none = ce_prob64(&input, &probs, &ce_opts(Reduction::None)).unwrap();
    assert_close(&none, &[0], &[]);
    let index = ArrayD::<i64>::zeros(IxDyn(&[0]));
    let mean = ce64(
        &input,
        &index,
        &ce_opts(Reduction::Mean).label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
    let sum = ce64(
        &input,
        &index,
        &ce_opts(Reduction::Sum).label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&sum, &[], &[0.0]);
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
    let smoothed = ce64(
        &input,
        &ignored,
        &ce_opts(Reduction::None).label_smoothing(0.5),
    )
    .unwrap();
    assert_close(&smoothed, &[2], &[f64::NAN, f64::NAN]);
    let smoothed_mean = ce64(
        &input,
        &ignored,
        &ce_opts(Reduction::Mean).label_smoothing(0.5),
    )
    .unwrap();
    assert_close(&smoothed_mean, &[], &[f64::NAN]);
    let probs = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    let none = ce_prob64(&input, &probs, &ce_opts(Reduction::None)).unwrap();
    assert_close(&none, &[2], &[-0.0, -0.0]);
    let mean = ce_prob64(&input, &probs, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&mean, &[], &[f64::NAN]);
}

// torch 2.13.0 (TB = T.to(torch.uint8)):
//   F.cross_entropy(Z, TB, weight=W, label_smoothing=0.2, reduction='sum') -> 3.4951728911357973
//   F.cross_entropy(Z, TB, label_smoothing=0.2, reduction='mean')          -> 1.5355922854167416
//   F.cross_entropy(Z, TB, weight=W, reduction='mean')                     -> 0.9401367722860985
#[test]
fn byte_targets_in_cross_entropy() {
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

// ---------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='mean'), X, torch.tensor(0.7, dtype=D))
//     -> [-0.16470588235294115, 0, 0, 0, 0, 0, 0, 0, -0.5352941176470587, 0, 0, 0]
#[test]
fn nll_backward_weighted_mean_with_ignore() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let grad = nll_loss_backward(
        arr0(0.7).view(),
        d.x.view(),
        Target::indices(target.view()),
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.16470588235294115,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            -0.5352941176470587,
            0.0,
            0.0,
            0.0,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, T, weight=W, reduction='none'), X, G4)
//     -> [-0.06, 0, 0, 0, 0, 0.78, 0, -1.36, 0, 0, 0, -1.3650000000000002]
//   grad(lambda x: F.nll_loss(x, torch.tensor(2), weight=W, reduction='none'), X[1], torch.tensor(0.6, dtype=D))
//     -> [0.0, 0.0, -0.39]
#[test]
fn nll_backward_none_scales_by_grad_output() {
    let d = data();
    let grad = nll_loss_backward(
        d.g4.view(),
        d.x.view(),
        Target::indices(d.t.view()),
        &nll_opts(Reduction::None).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.06,
            0.0,
            0.0,
            0.0,
            0.0,
            0.78,
            0.0,
            -1.36,
            0.0,
            0.0,
            0.0,
            -1.3650000000000002,
        ],
    );
    let x1 = d.x.slice(s![1, ..]).to_owned();
    let target = arr0(2i64);
    let grad = nll_loss_backward(
        arr0(0.6).view(),
        x1.view(),
        Target::indices(target.view()),
        &nll_opts(Reduction::None).weight(d.w.view()),
    )
    .unwrap();
    assert_close(&grad, &[3], &[0.0, 0.0, -0.39]);
}

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, T, reduction='sum'), X, torch.tensor(-1.5, dtype=D))
//     -> [1.5, 0, 0, 0, 0, 1.5, 0, 1.5, 0, 0, 0, 1.5]
#[test]
fn nll_backward_sum_is_minus_grad_output_at_targets() {
    let d = data();
    let grad = nll_loss_backward(
        arr0(-1.5).view(),
        d.x.view(),
        Target::indices(d.t.view()),
        &nll_opts(Reduction::Sum),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[1.5, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0, 1.5, 0.0, 0.0, 0.0, 1.5],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.nll_loss(x, T4, weight=W, ignore_index=1, reduction='mean'), X4, torch.tensor(1.0, dtype=D))
//     -> shape [2, 3, 2, 2] (values below)
#[test]
fn nll_backward_spatial_weighted_mean_with_ignore() {
    let d = data();
    let grad = nll_loss_backward(
        arr0(1.0).view(),
        d.x4.view(),
        Target::indices(d.t4.view()),
        &nll_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    let a = -0.08510638297872342;
    let b = -0.2765957446808511;
    assert_close(
        &grad,
        &[2, 3, 2, 2],
        &[
            a, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, b, 0.0, 0.0, a, 0.0, 0.0, 0.0, 0.0,
            0.0, 0.0, b, 0.0, 0.0, b,
        ],
    );
}

// torch 2.13.0 (float32):
//   grad(lambda x: F.nll_loss(x, T32s, weight=W32, reduction='mean'), X32s, torch.tensor(1.0))[0, :, :6]
//     -> [0.0, -0.002222226, 0.0, 0.0, 0.0, -0.002222226, 0.0, 0.0, -0.004444452, 0.0, 0.0, 0.0,
//         0.0, 0.0, 0.0, -0.006666678, 0.0, 0.0]
#[test]
fn f32_nll_backward_spatial_weighted_mean_is_bit_exact() {
    let x32 = ArrayD::from_shape_vec(IxDyn(&[4, 3, 75]), gen32(900, 2)).unwrap();
    let t32 = ai(&[4, 75], &gen_t(300));
    let w = w32();
    let grad = nll_loss_backward(
        arr0(1.0f32).view(),
        x32.view(),
        Target::indices(t32.view()),
        &NllLossOptions::default().weight(w.view()),
    )
    .unwrap();
    assert_eq!(grad.shape(), &[4, 3, 75]);
    assert_bits(
        &grad.slice(s![0, .., ..6]).to_owned().into_dyn(),
        &[3, 6],
        &[
            0.0,
            -0.002222226,
            0.0,
            0.0,
            0.0,
            -0.002222226,
            0.0,
            0.0,
            -0.004444452,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            -0.006666678,
            0.0,
            0.0,
        ],
    );
}

// torch 2.13.0 (I = torch.full((4,), -100)):
//   grad(lambda x: F.nll_loss(x, I, reduction='mean'), X, torch.tensor(1.0, dtype=D)) -> all 0.0
//   grad(lambda x: F.cross_entropy(x, I, reduction='mean'), Z, torch.tensor(1.0, dtype=D)) -> all 0.0
//   grad(lambda x: F.cross_entropy(x, I, weight=W, label_smoothing=0.2, reduction='mean'), Z, torch.tensor(1.0, dtype=D)) -> all 0.0
#[test]
fn fully_ignored_mean_has_zero_gradient_not_nan() {
    let d = data();
    let ignored = array![-100i64, -100, -100, -100].into_dyn();
    let zeros = [0.0; 12];
    let nll = nll_loss_backward(
        arr0(1.0).view(),
        d.x.view(),
        Target::indices(ignored.view()),
        &nll_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&nll, &[4, 3], &zeros);
    let ce = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(ignored.view()),
        &ce_opts(Reduction::Mean),
    )
    .unwrap();
    assert_close(&ce, &[4, 3], &zeros);
    let smoothed = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(ignored.view()),
        &ce_opts(Reduction::Mean)
            .weight(d.w.view())
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&smoothed, &[4, 3], &zeros);
}

// torch 2.13.0:
//   grad(lambda x: F.cross_entropy(x, torch.tensor([0, 1, 2, 1]), weight=W, ignore_index=1, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
//   grad(lambda x: F.cross_entropy(x, T, weight=W, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
#[test]
fn ce_backward_weighted_mean_with_and_without_ignore() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let grad = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(target.view()),
        &ce_opts(Reduction::Mean).weight(d.w.view()).ignore_index(1),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.20770231982100618,
            0.009850463878517454,
            0.1978518559424887,
            0.0,
            0.0,
            0.0,
            0.04603951891789186,
            0.6782392722314677,
            -0.7242787911493596,
            0.0,
            0.0,
            0.0,
        ],
    );
    let grad = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(d.t.view()),
        &ce_opts(Reduction::Mean).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &grad,
        &[4, 3],
        &[
            -0.055170928702454776,
            0.002616529467731199,
            0.05255439923472357,
            0.008795781345094702,
            0.14320429025168813,
            -0.15200007159678283,
            0.03198418501747776,
            -0.060069351743042815,
            0.0280851667255651,
            0.16374505180579219,
            0.018509991290926505,
            -0.1822550430967187,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.cross_entropy(x, T, weight=W, reduction='none'), Z, G4)
#[test]
fn ce_backward_none_with_grad_output() {
    let d = data();
    let grad = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
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

// torch 2.13.0 (TI = torch.tensor([0, 1, 2, 1])):
//   grad(lambda x: F.cross_entropy(x, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
//   grad(lambda x: F.cross_entropy(x, TI, weight=W, ignore_index=1, label_smoothing=0.2, reduction='none'), Z, G4)
//   grad(lambda x: F.cross_entropy(x, torch.tensor([0, 7, 2, 7]), weight=W, ignore_index=7, label_smoothing=0.2, reduction='none'), Z, G4)
//     -> same values as the previous line
//   grad(lambda x: F.cross_entropy(x, T3, weight=W, label_smoothing=0.1, reduction='sum'), Z3, torch.tensor(0.5, dtype=D))
#[test]
fn ce_backward_with_label_smoothing() {
    let d = data();
    let target = array![0i64, 1, 2, 1].into_dyn();
    let options = |r| {
        ce_opts(r)
            .weight(d.w.view())
            .ignore_index(1)
            .label_smoothing(0.2)
    };
    let mean = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::indices(target.view()),
        &options(Reduction::Mean),
    )
    .unwrap();
    assert_close(
        &mean,
        &[4, 3],
        &[
            -0.15839510221446415,
            -0.11708006793377951,
            0.27547517014824363,
            0.0,
            0.0,
            0.0,
            0.03318644557226591,
            0.5866437402662248,
            -0.6198301858384907,
            0.0,
            0.0,
            0.0,
        ],
    );
    let none_expected = [
        -0.04039075106468837,
        -0.029855417323113784,
        0.07024616838780214,
        0.0,
        0.0,
        0.0,
        0.022566782989140825,
        0.398917743381033,
        -0.4214845263701737,
        0.0,
        0.0,
        0.0,
    ];
    let none = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::indices(target.view()),
        &options(Reduction::None),
    )
    .unwrap();
    assert_close(&none, &[4, 3], &none_expected);
    let sevens = array![0i64, 7, 2, 7].into_dyn();
    let none7 = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::indices(sevens.view()),
        &ce_opts(Reduction::None)
            .weight(d.w.view())
            .ignore_index(7)
            .label_smoothing(0.2),
    )
    .unwrap();
    assert_close(&none7, &[4, 3], &none_expected);
    let spatial = cross_entropy_backward(
        arr0(0.5).view(),
        d.z3.view(),
        Target::indices(d.t3.view()),
        &ce_opts(Reduction::Sum)
            .weight(d.w.view())
            .label_smoothing(0.1),
    )
    .unwrap();
    assert_close(
        &spatial,
        &[2, 3, 2],
        &[
            -0.06400060609627282,
            0.10466626861881703,
            -0.02353291117728302,
            -0.025440814932915192,
            0.08753351727355585,
            -0.07922545368590181,
            0.04296121892606077,
            -0.013018078186712849,
            -0.2830203183152021,
            -0.018498214053851266,
            0.24005909938914127,
            0.03151629224056412,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.cross_entropy(x, P, weight=W, reduction='mean'), Z, torch.tensor(1.0, dtype=D))
//   grad(lambda x: F.cross_entropy(x, Q, reduction='none'), Z, G4)
//   grad(lambda x: F.cross_entropy(x, P3, weight=W, label_smoothing=0.3, reduction='none'), Z3,
//        torch.tensor([[0.3, -1.2], [0.8, 2.1]], dtype=D))
#[test]
fn ce_backward_with_probability_targets() {
    let d = data();
    let mean = cross_entropy_backward(
        arr0(1.0).view(),
        d.z.view(),
        Target::probabilities(d.p.view()),
        &ce_opts(Reduction::Mean).weight(d.w.view()),
    )
    .unwrap();
    assert_close(
        &mean,
        &[4, 3],
        &[
            -0.019022624571351406,
            -0.07929596576034599,
            0.09831859033169736,
            0.0026861596984827543,
            0.08263851825070592,
            -0.0853246779491887,
            -0.0025073536167028016,
            0.05653761790742329,
            -0.054030264290720456,
            0.3426050314705806,
            -0.3862714028374461,
            0.043666371366865485,
        ],
    );
    let none = cross_entropy_backward(
        d.g4.view(),
        d.z.view(),
        Target::probabilities(d.q.view()),
        &ce_opts(Reduction::None),
    )
    .unwrap();
    assert_close(
        &none,
        &[4, 3],
        &[
            -0.09019477821203094,
            -0.24864911954331342,
            0.33884389775534435,
            1.3568595683319047,
            -1.353611014317495,
            -0.0032485540144095637,
            -0.163876685156731,
            0.3321569674431517,
            -0.1682802822864206,
            -1.4914049276678805,
            1.3561837328616029,
            0.13522119480627776,
        ],
    );
    let g = array![[0.3, -1.2], [0.8, 2.1]];
    let spatial = cross_entropy_backward(
        g.view(),
        d.z3.view(),
        Target::probabilities(d.p3.view()),
        &ce_opts(Reduction::None)
            .weight(d.w.view())
            .label_smoothing(0.3),
    )
    .unwrap();
    assert_close(
        &spatial,
        &[2, 3, 2],
        &[
            0.0432139038750566,
            -0.17682880096932788,
            -0.14867124629349363,
            0.5533715223678524,
            0.10545734241843703,
            -0.3765427213985246,
            0.024145388239645033,
            0.6319112446768242,
            -0.141210729101872,
            -0.7526739220735286,
            0.11706534086222697,
            0.12076267739670442,
        ],
    );
}

// torch 2.13.0:
//   grad(lambda x: F.log_softmax(x, 1), Z, GZ)
//   grad(lambda x: F.log_softmax(x, 0), Z, GZ)
//   grad(lambda x: F.log_softmax(x, 1), Z3, GZ.reshape(2, 3, 2))
#[test]
fn log_softmax_backward_matches_autograd() {
    let d = data();
    let cases: [(&ArrayD<f64>, i64, [f64; 12]); 3] = [
        (
            &d.z,
            1,
            [
                0.20338013781062472,
                2.718441999539056,
                -2.9218221373496798,
                -1.2479967610843479,
                -0.006144435475015459,
                1.2541411965593632,
                -2.554155934326989,
                4.275595657685351,
                -1.721439723358361,
                0.39247248261585627,
                -2.3456387893578117,
                1.9531663067419547,
            ],
        ),
        (
            &d.z,
            0,
            [
                2.537921688307013,
                2.9903453632747374,
                -0.13713707998023164,
                -0.9237485563777228,
                -0.3842879240596398,
                0.6398457258829278,
                -2.5219073055045724,
                0.025352190301683453,
                -2.0416205513829313,
                0.9077341735752831,
                -2.631409629516781,
                1.5389119054802347,
            ],
        ),
        (
            &d.z3,
            1,
            [
                0.4106763642070317,
                2.096003184382797,
                1.853193245503195,
                -1.313140147203345,
                -2.263869609710227,
                -0.7828630371794519,
                -2.43001963845764,
                0.32766063950860996,
                2.7497493654934795,
                -2.2317108699085018,
                -0.31972972703583935,
                1.9040502303998916,
            ],
        ),
    ];
    for (input, dim, expected) in cases {
        let output = log_softmax(input.view(), dim).unwrap();
        let g = d.gz.clone().into_shape_with_order(input.raw_dim()).unwrap();
        let grad = log_softmax_backward(g.view(), output.view(), dim).unwrap();
        assert_close(&grad, input.shape(), &expected);
    }
}

// torch 2.13.0:
//   grad(lambda x: F.softmax(x, 1), Z, GZ)
//   grad(lambda x: F.softmax(x, 0), Z, GZ)
#[test]
fn softmax_backward_matches_autograd() {
    let d = data();
    let cases: [(i64, [f64; 12]); 2] = [
        (
            1,
            [
                -0.11374624933489742,
                0.046469897934902166,
                0.06727635139999527,
                -0.0433843633917184,
                -0.28333823749433495,
                0.32672260088605337,
                -0.14320576209790087,
                0.22296049679287444,
                -0.07975473469497353,
                -0.29813608963178706,
                -0.06559589875088585,
                0.36373198838267323,
            ],
        ),
        (
            0,
            [
                0.6551458038033965,
                0.1659342971171029,
                0.17841506436408325,
                0.0020414169526528727,
                -0.15756820827719875,
                -0.10107609395576533,
                -0.09341275732664103,
                0.060948637456960345,
                -0.07458858795344053,
                -0.5637744634294084,
                -0.06931472629686448,
                -0.002750382454877494,
            ],
        ),
    ];
    for (dim, expected) in cases {
        let output = softmax(d.z.view(), dim).unwrap();
        let grad = softmax_backward(d.gz.view(), output.view(), dim).unwrap();
        assert_close(&grad, &[4, 3], &expected);
    }
}

// ---------------------------------------------------------------------------------
// log_softmax / softmax: values
// ---------------------------------------------------------------------------------

const LOG_SOFTMAX_Z_DIM1: [f64; 12] = [
    -2.143317747704983,
    -3.1733177477049828,
    -0.17331774770498276,
    -3.139549339148087,
    -0.349549339148087,
    -1.379549339148087,
    -2.8099911578087893,
    -0.11999115780878927,
    -2.939991157808789,
    -0.2155108970051079,
    -2.395510897005108,
    -2.275510897005108,
];

const SOFTMAX_Z_DIM1: [f64; 12] = [
    0.11726514076072363,
    0.041864471483699185,
    0.8408703877555771,
    0.043302308160466235,
    0.7050057366236954,
    0.2516919552158383,
    0.06020552473878167,
    0.8869282790719194,
    0.05286619618929902,
    0.8061294858131309,
    0.09112611097071512,
    0.10274440321615412,
];

// torch 2.13.0:
//   F.log_softmax(Z, 1) -> LOG_SOFTMAX_Z_DIM1 (and F.log_softmax(Z, -1) -> the same values)
//   F.log_softmax(Z, 0)
//     -> [-1.2118302309670297, -3.0008152264653636, -0.21384266166461446, -2.7218302309670297,
//         -0.6908152264653634, -1.9338426616646147, -2.8018302309670298, -0.8708152264653635,
//         -3.9038426616646142, -0.5518302309670297, -3.490815226465364, -3.5838426616646144]
#[test]
fn log_softmax_2d_along_each_dim() {
    let d = data();
    assert_close(
        &log_softmax(d.z.view(), 1).unwrap(),
        &[4, 3],
        &LOG_SOFTMAX_Z_DIM1,
    );
    assert_close(
        &log_softmax(d.z.view(), -1).unwrap(),
        &[4, 3],
        &LOG_SOFTMAX_Z_DIM1,
    );
    assert_close(
        &log_softmax(d.z.view(), 0).unwrap(),
        &[4, 3],
        &[
            -1.2118302309670297,
            -3.0008152264653636,
            -0.21384266166461446,
            -2.7218302309670297,
            -0.6908152264653634,
            -1.9338426616646147,
            -2.8018302309670298,
            -0.8708152264653635,
            -3.9038426616646142,
            -0.5518302309670297,
            -3.490815226465364,
            -3.5838426616646144,
        ],
    );
}

// torch 2.13.0:
//   F.softmax(Z, 1) -> SOFTMAX_Z_DIM1 (and F.softmax(Z, -1) -> the same values)
//   F.softmax(Z, 0)
//     -> [0.2976520086727132, 0.049746497171700974, 0.8074754218672779, 0.06575429867545374,
//         0.5011673376071479, 0.14459151332698136, 0.06069886795250045, 0.41861014803554675,
//         0.020164277883957464, 0.5758948246993326, 0.03047601718560441, 0.02776878692178332]
#[test]
fn softmax_2d_along_each_dim() {
    let d = data();
    assert_close(&softmax(d.z.view(), 1).unwrap(), &[4, 3], &SOFTMAX_Z_DIM1);
    assert_close(&softmax(d.z.view(), -1).unwrap(), &[4, 3], &SOFTMAX_Z_DIM1);
    assert_close(
        &softmax(d.z.view(), 0).unwrap(),
        &[4, 3],
        &[
            0.2976520086727132,
            0.049746497171700974,
            0.8074754218672779,
            0.06575429867545374,
            0.5011673376071479,
            0.14459151332698136,
            0.06069886795250045,
            0.41861014803554675,
            0.020164277883957464,
            0.5758948246993326,
            0.03047601718560441,
            0.02776878692178332,
        ],
    );
}

// torch 2.13.0:
//   F.log_softmax(Z3, 1)
#[test]
fn log_softmax_3d_along_the_class_dim() {
    let d = data();
    assert_close(
        &log_softmax(d.z3.view(), 1).unwrap(),
        &[2, 3, 2],
        &[
            -1.5078787822025868,
            -1.1320029903358761,
            -3.317878782202586,
            -4.752002990335876,
            -0.29787878220258673,
            -0.4020029903358762,
            -2.8589187627114585,
            -0.500623065597582,
            -0.4589187627114587,
            -2.600623065597582,
            -1.1689187627114586,
            -1.140623065597582,
        ],
    );
}

// torch 2.13.0:
//   F.log_softmax(torch.tensor(1.5, dtype=D), 0) -> 0.0 (shape [])
//   F.softmax(torch.tensor(1.5, dtype=D), -1)    -> 1.0 (shape [])
#[test]
fn zero_dim_input_gives_zero_log_prob_and_unit_prob() {
    let x = arr0(1.5f64);
    assert_close(&log_softmax(x.view(), 0).unwrap(), &[], &[0.0]);
    assert_close(&softmax(x.view(), -1).unwrap(), &[], &[1.0]);
}

// torch 2.13.0:
//   F.log_softmax(torch.zeros(0, 3, dtype=D), 1) -> shape [0, 3]
//   F.log_softmax(torch.zeros(2, 0, dtype=D), 1) -> shape [2, 0]
//   F.softmax(torch.zeros(2, 0, dtype=D), 1)     -> shape [2, 0]
//   F.log_softmax(torch.zeros(2, 0, dtype=D), 0) -> shape [2, 0]
#[test]
fn zero_sized_dims_give_empty_outputs() {
    let rows = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    assert_close(&log_softmax(rows.view(), 1).unwrap(), &[0, 3], &[]);
    let cols = ArrayD::<f64>::zeros(IxDyn(&[2, 0]));
    assert_close(&log_softmax(cols.view(), 1).unwrap(), &[2, 0], &[]);
    assert_close(&softmax(cols.view(), 1).unwrap(), &[2, 0], &[]);
    assert_close(&log_softmax(cols.view(), 0).unwrap(), &[2, 0], &[]);
}

// torch 2.13.0 (A = torch.tensor([[float('inf'), 1.0, 2.0], [0.0, 1.0, 2.0]], dtype=D)):
//   F.log_softmax(A, 1) -> [nan, nan, nan, -2.4076059644443806, -1.4076059644443804, -0.4076059644443804]
//   F.softmax(A, 1)     -> [nan, nan, nan, 0.09003057317038045, 0.2447284710547976, 0.6652409557748218]
#[test]
fn row_with_positive_infinity_is_all_nan() {
    let a = array![[f64::INFINITY, 1.0, 2.0], [0.0, 1.0, 2.0]];
    assert_close(
        &log_softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            -2.4076059644443806,
            -1.4076059644443804,
            -0.4076059644443804,
        ],
    );
    assert_close(
        &softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            0.09003057317038045,
            0.2447284710547976,
            0.6652409557748218,
        ],
    );
}

// torch 2.13.0 (A = torch.tensor([[-inf, -inf, -inf], [0.0, 1.0, 2.0]], dtype=D)):
//   F.log_softmax(A, 1) -> [nan, nan, nan, -2.4076059644443806, -1.4076059644443804, -0.4076059644443804]
//   F.softmax(A, 1)     -> [nan, nan, nan, 0.09003057317038045, 0.2447284710547976, 0.6652409557748218]
#[test]
fn row_of_negative_infinities_is_all_nan() {
    let ninf = f64::NEG_INFINITY;
    let a = array![[ninf, ninf, ninf], [0.0, 1.0, 2.0]];
    assert_close(
        &log_softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            -2.4076059644443806,
            -1.4076059644443804,
            -0.4076059644443804,
        ],
    );
    assert_close(
        &softmax(a.view(), 1).unwrap(),
        &[2, 3],
        &[
            f64::NAN,
            f64::NAN,
            f64::NAN,
            0.09003057317038045,
            0.2447284710547976,
            0.6652409557748218,
        ],
    );
}

// torch 2.13.0 (A = torch.tensor([[float('-inf'), 0.5, 1.0]], dtype=D)):
//   F.log_softmax(A, 1) -> [-inf, -0.9740769841801067, -0.4740769841801067]
//   F.softmax(A, 1)     -> [0.0, 0.37754066879814546, 0.6224593312018546]
#[test]
fn one_negative_infinity_gets_zero_probability() {
    let a = array![[f64::NEG_INFINITY, 0.5, 1.0]];
    assert_close(
        &log_softmax(a.view(), 1).unwrap(),
        &[1, 3],
        &[f64::NEG_INFINITY, -0.9740769841801067, -0.4740769841801067],
    );
    assert_close(
        &softmax(a.view(), 1).unwrap(),
        &[1, 3],
        &[0.0, 0.37754066879814546, 0.6224593312018546],
    );
}

// torch 2.13.0:
//   F.log_softmax(Z.t(), 1)
//     -> [-1.2118302309670297, -2.7218302309670297, -2.8018302309670298, -0.5518302309670297,
//         -3.0008152264653636, -0.6908152264653634, -0.8708152264653635, -3.490815226465364,
//         -0.21384266166461446, -1.9338426616646147, -3.9038426616646142, -3.5838426616646144]
//   F.softmax(Z.t(), 1)
//     -> [0.29765200867271324, 0.06575429867545374, 0.06069886795250045, 0.5758948246993326,
//         0.049746497171700974, 0.5011673376071479, 0.4186101480355468, 0.030476017185604415,
//         0.8074754218672779, 0.14459151332698136, 0.020164277883957464, 0.02776878692178332]
#[test]
fn transposed_view_matches_contiguous_copy() {
    let d = data();
    let view = d.z.t();
    assert!(!view.is_standard_layout());
    let copy = contiguous(view.view());
    let logp = log_softmax(view.view(), 1).unwrap();
    assert_close(
        &logp,
        &[3, 4],
        &[
            -1.2118302309670297,
            -2.7218302309670297,
            -2.8018302309670298,
            -0.5518302309670297,
            -3.0008152264653636,
            -0.6908152264653634,
            -0.8708152264653635,
            -3.490815226465364,
            -0.21384266166461446,
            -1.9338426616646147,
            -3.9038426616646142,
            -3.5838426616646144,
        ],
    );
    assert_eq!(logp, log_softmax(copy.view(), 1).unwrap());
    let p = softmax(view.view(), 1).unwrap();
    assert_close(
        &p,
        &[3, 4],
        &[
            0.29765200867271324,
            0.06575429867545374,
            0.06069886795250045,
            0.5758948246993326,
            0.049746497171700974,
            0.5011673376071479,
            0.4186101480355468,
            0.030476017185604415,
            0.8074754218672779,
            0.14459151332698136,
            0.020164277883957464,
            0.02776878692178332,
        ],
    );
    assert_eq!(p, softmax(copy.view(), 1).unwrap());
}

// torch 2.13.0:
//   F.log_softmax(Z6[:, ::2], 1)
//     -> [-1.8790781678649087, -0.30907816786490844, -2.1790781678649087, -1.832424633961686,
//         -0.21242463396168618, -3.462424633961686, -3.6358596949113293, -0.03585969491132932,
//         -4.725859694911329, -2.26866064772871, -0.13866064772871006, -3.64866064772871]
//   F.softmax(Z6[:, ::2], 1)
//     -> [0.1527308330733833, 0.7341233829259564, 0.1131457840006603, 0.1600250947336093,
//         0.8086212566056165, 0.031353648660774384, 0.02636126200035471, 0.9647756469202015,
//         0.008863091079443813, 0.10345064419155668, 0.8705233924296318, 0.026025963378811537]
#[test]
fn strided_slice_matches_contiguous_copy() {
    let d = data();
    let view = d.z6.slice(s![.., ..;2]);
    assert!(!view.is_standard_layout());
    let copy = contiguous(view.view());
    let logp = log_softmax(view.view(), 1).unwrap();
    assert_close(
        &logp,
        &[4, 3],
        &[
            -1.8790781678649087,
            -0.30907816786490844,
            -2.1790781678649087,
            -1.832424633961686,
            -0.21242463396168618,
            -3.462424633961686,
            -3.6358596949113293,
            -0.03585969491132932,
            -4.725859694911329,
            -2.26866064772871,
            -0.13866064772871006,
            -3.64866064772871,
        ],
    );
    assert_eq!(logp, log_softmax(copy.view(), 1).unwrap());
    let p = softmax(view.view(), 1).unwrap();
    assert_close(
        &p,
        &[4, 3],
        &[
            0.1527308330733833,
            0.7341233829259564,
            0.1131457840006603,
            0.1600250947336093,
            0.8086212566056165,
            0.031353648660774384,
            0.02636126200035471,
            0.9647756469202015,
            0.008863091079443813,
            0.10345064419155668,
            0.8705233924296318,
            0.026025963378811537,
        ],
    );
    assert_eq!(p, softmax(copy.view(), 1).unwrap());
}

// torch 2.13.0:
//   F.log_softmax(R.expand(3, 4), 1) -> each row [-2.321560678344187, -3.721560678344187, -0.2215606783441867, -2.571560678344187]
//   F.log_softmax(R.expand(3, 4), 0) -> all -1.0986122886681098
//   F.softmax(R.expand(3, 4), 0)     -> all 0.3333333333333333
#[test]
fn broadcast_view_matches_contiguous_copy() {
    let d = data();
    let view = d.r.broadcast(IxDyn(&[3, 4])).unwrap();
    assert_eq!(view.strides()[0], 0);
    let copy = contiguous(view.view());
    let row = [
        -2.321560678344187,
        -3.721560678344187,
        -0.2215606783441867,
        -2.571560678344187,
    ];
    let rows: Vec<f64> = row.iter().cycle().take(12).copied().collect();
    let along1 = log_softmax(view.view(), 1).unwrap();
    assert_close(&along1, &[3, 4], &rows);
    assert_eq!(along1, log_softmax(copy.view(), 1).unwrap());
    let along0 = log_softmax(view.view(), 0).unwrap();
    assert_close(&along0, &[3, 4], &[-1.0986122886681098; 12]);
    assert_eq!(along0, log_softmax(copy.view(), 0).unwrap());
    let p0 = softmax(view.view(), 0).unwrap();
    assert_close(&p0, &[3, 4], &[0.3333333333333333; 12]);
    assert_eq!(p0, softmax(copy.view(), 0).unwrap());
}

// ---------------------------------------------------------------------------------
// Errors: kind and message verbatim, plus a hint
// ---------------------------------------------------------------------------------

fn zeros64(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::zeros(IxDyn(shape))
}

fn zeros_i64(shape: &[usize]) -> ArrayD<i64> {
    ArrayD::zeros(IxDyn(shape))
}

/// The doc example's one sample with 5 classes.
fn five_classes() -> ArrayD<f64> {
    array![-1.2, -0.3, -2.0, -1.7, -2.5].into_dyn()
}

// torch 2.13.0: F.nll_loss(torch.tensor(1.0, dtype=D), torch.tensor(0))
//   -> ValueError: Expected 1 or more dimensions (got 0)
#[test]
fn zero_dim_input_is_rejected() {
    assert_err(
        nll64(
            &arr0(1.0).into_dyn(),
            &arr0(0i64).into_dyn(),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "Expected 1 or more dimensions (got 0)",
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.tensor([0, 1, 2])) -> ValueError: Expected input batch_size (2) to match target batch_size (3).
//   F.nll_loss(X[:2], torch.tensor(0))         -> ValueError: Expected input batch_size (2) to match target batch_size (0).
#[test]
fn batch_size_mismatch_is_rejected() {
    let x2 = zeros64(&[2, 3]);
    assert_err(
        nll64(
            &x2,
            &array![0i64, 1, 2].into_dyn(),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    );
    assert_err(
        nll64(&x2, &arr0(0i64).into_dyn(), &nll_opts(Reduction::Mean)),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (0).",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.tensor([-1.2, -0.3, -2.0, -1.7, -2.5], dtype=D), torch.tensor([1, 0, 0]))
//   -> ValueError: For 1D input, 1D target must have size 1, but got target size: 3
#[test]
fn one_d_input_with_a_multi_element_target_is_rejected() {
    let err = assert_err(
        nll64(
            &five_classes(),
            &array![1i64, 0, 0].into_dyn(),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "For 1D input, 1D target must have size 1, but got target size: 3",
    );
    assert!(
        err.hint().contains("one sample with 5 classes"),
        "hint: {}",
        err.hint()
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.zeros(2, 3, dtype=torch.long)) -> RuntimeError: 0D or 1D target tensor expected, multi-target not supported
//   F.nll_loss(torch.zeros(5, dtype=D), torch.zeros(3, 2, dtype=torch.long)) -> RuntimeError: (same)
#[test]
fn multi_target_is_rejected() {
    let msg = "0D or 1D target tensor expected, multi-target not supported";
    assert_err(
        nll64(
            &zeros64(&[2, 3]),
            &zeros_i64(&[2, 3]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    assert_err(
        nll64(
            &zeros64(&[5]),
            &zeros_i64(&[3, 2]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2].float(), torch.zeros(2))       -> RuntimeError: expected target dtype to be Long or Byte, but got Float
//   F.nll_loss(X[:2], torch.zeros(2, dtype=D))      -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.cross_entropy(Z.float(), torch.zeros(4))      -> RuntimeError: expected target dtype to be Long or Byte, but got Float
//   F.cross_entropy(torch.zeros(2, 3, dtype=D), torch.zeros(2, dtype=D)) -> RuntimeError: ... but got Double
#[test]
fn float_target_not_shaped_like_the_input_is_rejected() {
    let x32 = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t32 = ArrayD::<f32>::zeros(IxDyn(&[2]));
    assert_err(
        nll_loss(
            x32.view(),
            Target::probabilities(t32.view()),
            &NllLossOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    );
    let x64 = zeros64(&[2, 3]);
    let t64 = zeros64(&[2]);
    assert_err(
        nll_loss(
            x64.view(),
            Target::probabilities(t64.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
    let d = data();
    let z32 = d.z.mapv(|v| v as f32);
    let t4 = ArrayD::<f32>::zeros(IxDyn(&[4]));
    assert_err(
        cross_entropy(
            z32.view(),
            Target::probabilities(t4.view()),
            &CrossEntropyOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    );
    assert_err(
        ce_prob64(&x64, &t64, &ce_opts(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
}

// torch 2.13.0 (x = torch.zeros(2, 3, dtype=D), t = torch.tensor([0, 1])):
//   F.nll_loss(x, t, weight=torch.ones(2, dtype=D))    -> RuntimeError: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]
//   F.nll_loss(x, t, weight=torch.ones(1, 3, dtype=D)) -> RuntimeError: ... but got weight tensor of shape: [1, 3]
//   F.nll_loss(x, t, weight=torch.tensor(1.0, dtype=D)) -> RuntimeError: ... but got weight tensor of shape: []
//   F.cross_entropy(Z, T, weight=torch.ones(1, 3, dtype=D), label_smoothing=0.2) -> RuntimeError: ... of shape: [1, 3]
#[test]
fn weight_shape_is_checked() {
    let x = zeros64(&[2, 3]);
    let t = array![0i64, 1].into_dyn();
    let prefix = "weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: ";
    for (weight, shape) in [
        (zeros64(&[2]), "[2]"),
        (zeros64(&[1, 3]), "[1, 3]"),
        (arr0(1.0).into_dyn(), "[]"),
    ] {
        assert_err(
            nll64(&x, &t, &nll_opts(Reduction::Mean).weight(weight.view())),
            ErrorKind::RuntimeError,
            &format!("{prefix}{shape}"),
        );
    }
    let d = data();
    let w13 = zeros64(&[1, 3]);
    assert_err(
        ce64(
            &d.z,
            &d.t,
            &ce_opts(Reduction::Mean)
                .weight(w13.view())
                .label_smoothing(0.2),
        ),
        ErrorKind::RuntimeError,
        &format!("{prefix}[1, 3]"),
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], P[:2], weight=torch.ones(2, dtype=D))
//     -> RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]
//   F.cross_entropy(Z, P, weight=torch.ones(1, 3, dtype=D))
//     -> RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [1, 3]
#[test]
fn probability_target_weight_shape_is_checked() {
    let d = data();
    let z2 = d.z.slice(s![..2, ..]).to_owned().into_dyn();
    let p2 = d.p.slice(s![..2, ..]).to_owned().into_dyn();
    let w2 = zeros64(&[2]);
    assert_err(
        ce_prob64(&z2, &p2, &ce_opts(Reduction::Mean).weight(w2.view())),
        ErrorKind::RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]",
    );
    let w13 = zeros64(&[1, 3]);
    assert_err(
        ce_prob64(&d.z, &d.p, &ce_opts(Reduction::Mean).weight(w13.view())),
        ErrorKind::RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [1, 3]",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], torch.zeros(2, 3, dtype=torch.long))
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
#[test]
fn integer_target_of_the_input_shape_is_rejected() {
    assert_err(
        ce64(
            &zeros64(&[2, 3]),
            &zeros_i64(&[2, 3]),
            &ce_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], P[:2], ignore_index=1) -> RuntimeError: ignore_index is not supported for floating point target
//   F.cross_entropy(Z[:2], P[:2], ignore_index=0) -> RuntimeError: ignore_index is not supported for floating point target
#[test]
fn ignore_index_is_rejected_for_probability_targets() {
    let d = data();
    for ignore_index in [1, 0] {
        assert_err(
            ce_prob64(
                &d.z,
                &d.p,
                &ce_opts(Reduction::Mean).ignore_index(ignore_index),
            ),
            ErrorKind::RuntimeError,
            "ignore_index is not supported for floating point target",
        );
    }
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 5, dtype=D), torch.zeros(2, 4, dtype=torch.long))
//     -> RuntimeError: Expected target size [2, 5], got [2, 4]
#[test]
fn spatial_3d_target_size_must_match() {
    assert_err(
        nll64(
            &zeros64(&[2, 3, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Expected target size [2, 5], got [2, 4]",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 4, 5, dtype=D), torch.zeros(2, 4, 4, dtype=torch.long))
//     -> RuntimeError: size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]
#[test]
fn spatial_4d_size_mismatch_is_rejected() {
    assert_err(
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]",
    );
}

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.tensor([0, 3]))                    -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(X[:2], torch.tensor([-1, 0]))                   -> IndexError: Target -1 is out of bounds.
//   F.nll_loss(X[:2], torch.tensor([0, 3]), reduction='none')  -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(Z3, torch.tensor([[0, 3], [0, 0]]))             -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(X[1], torch.tensor(-2))                         -> IndexError: Target -2 is out of bounds.
//   F.cross_entropy(Z, torch.tensor([0, 1, 3, 0]), label_smoothing=0.1) -> IndexError: Target 3 is out of bounds.
//   F.nll_loss(torch.zeros(2, 0, dtype=D), torch.tensor([0, 0])) -> IndexError: Target 0 is out of bounds.
#[test]
fn out_of_bounds_targets_are_rejected() {
    let d = data();
    let x2 = d.x.slice(s![..2, ..]).to_owned().into_dyn();
    let cases = [
        (
            &x2,
            ai(&[2], &[0, 3]),
            Reduction::Mean,
            "Target 3 is out of bounds.",
        ),
        (
            &x2,
            ai(&[2], &[-1, 0]),
            Reduction::Mean,
            "Target -1 is out of bounds.",
        ),
        (
            &x2,
            ai(&[2], &[0, 3]),
            Reduction::None,
            "Target 3 is out of bounds.",
        ),
        (
            &d.z3,
            ai(&[2, 2], &[0, 3, 0, 0]),
            Reduction::Mean,
            "Target 3 is out of bounds.",
        ),
    ];
    for (input, target, reduction, msg) in cases {
        assert_err(
            nll64(input, &target, &nll_opts(reduction)),
            ErrorKind::IndexError,
            msg,
        );
    }
    let x1 = d.x.slice(s![1, ..]).to_owned().into_dyn();
    assert_err(
        nll64(&x1, &arr0(-2i64).into_dyn(), &nll_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Target -2 is out of bounds.",
    );
    assert_err(
        ce64(
            &d.z,
            &ai(&[4], &[0, 1, 3, 0]),
            &ce_opts(Reduction::Mean).label_smoothing(0.1),
        ),
        ErrorKind::IndexError,
        "Target 3 is out of bounds.",
    );
    assert_err(
        nll64(
            &zeros64(&[2, 0]),
            &ai(&[2], &[0, 0]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::IndexError,
        "Target 0 is out of bounds.",
    );
}

// torch 2.13.0:
//   F.log_softmax(X[:2], 2)  -> IndexError: Dimension out of range (expected to be in range of [-2, 1], but got 2)
//   F.softmax(X[:2], -3)     -> IndexError: Dimension out of range (expected to be in range of [-2, 1], but got -3)
//   F.log_softmax(torch.tensor(1.5, dtype=D), 1) -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
#[test]
fn dimension_out_of_range_is_rejected() {
    let x2 = zeros64(&[2, 3]);
    assert_err(
        log_softmax(x2.view(), 2),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    );
    assert_err(
        softmax(x2.view(), -3),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got -3)",
    );
    assert_err(
        log_softmax(arr0(1.5).view(), 1),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 4, 5, dtype=D), torch.zeros(2, 4, 5, dtype=torch.long), weight=torch.ones(2, dtype=D))
//     -> RuntimeError: weight tensor should be defined either for all or no classes
#[test]
fn spatial_weight_must_have_one_value_per_class() {
    let w2 = zeros64(&[2]);
    assert_err(
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 5]),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "weight tensor should be defined either for all or no classes",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 4, 5, dtype=D), torch.zeros(2, 4, dtype=torch.long))
//     -> RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 2
#[test]
fn four_d_input_needs_a_3d_target() {
    assert_err(
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2",
    );
}

// torch 2.13.0 (V = torch.tensor([-1.2, -0.3, -2.0, -1.7, -2.5], dtype=D)):
//   F.nll_loss(V, torch.tensor([1]), reduction='mean') -> 0.3
//   grad(lambda x: F.nll_loss(x, torch.tensor([1]), reduction='mean'), V, torch.tensor(1.0, dtype=D))
//     -> RuntimeError: size mismatch (got input: [5], target: [1])
//   F.cross_entropy(V, torch.tensor([1]), reduction='mean') -> 0.6661116448422787
//   grad(lambda x: F.cross_entropy(x, torch.tensor([1]), reduction='mean'), V, torch.tensor(1.0, dtype=D))
//     -> RuntimeError: size mismatch (got input: [5], target: [1])
//   F.cross_entropy(Z[2], torch.tensor([1]), label_smoothing=0.1)
//     -> RuntimeError: output with shape [] doesn't match the broadcast shape [1]
#[test]
fn one_element_target_on_1d_input_fails_only_in_backward() {
    let v = five_classes();
    let target = array![1i64].into_dyn();
    let forward = nll64(&v, &target, &nll_opts(Reduction::Mean)).unwrap();
    assert_close(&forward, &[], &[0.3]);
    let msg = "size mismatch (got input: [5], target: [1])";
    assert_err(
        nll_loss_backward(
            arr0(1.0).view(),
            v.view(),
            Target::indices(target.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    let ce = ce64(&v, &target, &ce_opts(Reduction::Mean)).unwrap();
    assert_close(&ce, &[], &[0.6661116448422787]);
    assert_err(
        cross_entropy_backward(
            arr0(1.0).view(),
            v.view(),
            Target::indices(target.view()),
            &ce_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        msg,
    );
    let d = data();
    let z2 = d.z.slice(s![2, ..]).to_owned().into_dyn();
    assert_err(
        ce64(&z2, &target, &ce_opts(Reduction::Mean).label_smoothing(0.1)),
        ErrorKind::RuntimeError,
        "output with shape [] doesn't match the broadcast shape [1]",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z3, T3, weight=torch.ones(1, 3, dtype=D))                      -> 0.7173559002118759
//   F.cross_entropy(Z3, T3, weight=torch.ones(1, 3, dtype=D), label_smoothing=0.2) -> RuntimeError: shape '[1, 1, 1]' is invalid for input of size 3
#[test]
fn label_smoothing_needs_a_1d_weight_on_spatial_input() {
    let d = data();
    let w13 = ArrayD::<f64>::ones(IxDyn(&[1, 3]));
    let plain = ce64(&d.z3, &d.t3, &ce_opts(Reduction::Mean).weight(w13.view())).unwrap();
    assert_close(&plain, &[], &[0.7173559002118759]);
    assert_err(
        ce64(
            &d.z3,
            &d.t3,
            &ce_opts(Reduction::Mean)
                .weight(w13.view())
                .label_smoothing(0.2),
        ),
        ErrorKind::RuntimeError,
        "shape '[1, 1, 1]' is invalid for input of size 3",
    );
}

// torch 2.13.0:
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor(0))
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor(0.5, dtype=D))
//     -> IndexError: Dimension specified as 1 but tensor has no dimensions
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor([0]))
//     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
#[test]
fn cross_entropy_on_a_0d_input() {
    let x = arr0(1.0).into_dyn();
    assert_err(
        ce64(&x, &arr0(0i64).into_dyn(), &ce_opts(Reduction::Mean)),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
    assert_err(
        ce_prob64(&x, &arr0(0.5).into_dyn(), &ce_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension specified as 1 but tensor has no dimensions",
    );
    assert_err(
        ce64(&x, &array![0i64].into_dyn(), &ce_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(0, 3, dtype=D), torch.tensor(0))
//     -> IndexError: Dimension specified as 0 but tensor has no dimensions
//   F.nll_loss(torch.zeros(0, 3, dtype=D), torch.tensor(0.0, dtype=D))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Double
#[test]
fn empty_batch_with_a_0d_target() {
    let x = zeros64(&[0, 3]);
    assert_err(
        nll64(&x, &arr0(0i64).into_dyn(), &nll_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Dimension specified as 0 but tensor has no dimensions",
    );
    let t = arr0(0.0).into_dyn();
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
}

// torch 2.13.0:
//   torch.autograd.grad(F.nll_loss(X.requires_grad_(), T, reduction='none'), X, grad_outputs=torch.ones(3, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).
//   torch.autograd.grad(F.nll_loss(X.requires_grad_(), T, reduction='mean'), X, grad_outputs=torch.ones(1, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).
//   torch.autograd.backward(F.log_softmax(torch.zeros(4, 3, dtype=D, requires_grad=True), 1), grad_tensors=torch.ones(3, 4, dtype=D))
//     -> RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([3, 4]) and output[0] has a shape of torch.Size([4, 3]).
#[test]
fn grad_output_shape_must_match_the_output() {
    let d = data();
    assert_err(
        nll_loss_backward(
            ArrayD::<f64>::ones(IxDyn(&[3])).view(),
            d.x.view(),
            Target::indices(d.t.view()),
            &nll_opts(Reduction::None),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and output[0] has a shape of torch.Size([4]).",
    );
    assert_err(
        nll_loss_backward(
            array![1.0].view(),
            d.x.view(),
            Target::indices(d.t.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and output[0] has a shape of torch.Size([]).",
    );
    let output = log_softmax(zeros64(&[4, 3]).view(), 1).unwrap();
    let g = ArrayD::<f64>::ones(IxDyn(&[3, 4]));
    assert_err(
        log_softmax_backward(g.view(), output.view(), 1),
        ErrorKind::RuntimeError,
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([3, 4]) and output[0] has a shape of torch.Size([4, 3]).",
    );
}

// ---------------------------------------------------------------------------------
// Errors: which check wins when several fail
// ---------------------------------------------------------------------------------

// torch 2.13.0: F.nll_loss(X[:2].float(), torch.zeros(3))
//   -> ValueError: Expected input batch_size (2) to match target batch_size (3).
#[test]
fn batch_mismatch_beats_float_target_dtype() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t = ArrayD::<f32>::zeros(IxDyn(&[3]));
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &NllLossOptions::default(),
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    );
}

// torch 2.13.0: F.nll_loss(X[:2].float(), torch.zeros(2), weight=torch.ones(2))
//   -> RuntimeError: expected target dtype to be Long or Byte, but got Float
#[test]
fn float_target_dtype_beats_weight_shape() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t = ArrayD::<f32>::zeros(IxDyn(&[2]));
    let w = ArrayD::<f32>::ones(IxDyn(&[2]));
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &NllLossOptions::default().weight(w.view()),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Float",
    );
}

// torch 2.13.0: F.nll_loss(X[:2].float(), torch.zeros(2, 4))
//   -> RuntimeError: 0D or 1D target tensor expected, multi-target not supported
#[test]
fn multi_target_beats_target_dtype() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let t = ArrayD::<f32>::zeros(IxDyn(&[2, 4]));
    assert_err(
        nll_loss(
            x.view(),
            Target::probabilities(t.view()),
            &NllLossOptions::default(),
        ),
        ErrorKind::RuntimeError,
        "0D or 1D target tensor expected, multi-target not supported",
    );
}

// torch 2.13.0: F.nll_loss(X[:2], torch.zeros(3, 4, dtype=torch.long))
//   -> ValueError: Expected input batch_size (2) to match target batch_size (3).
#[test]
fn batch_mismatch_beats_multi_target() {
    assert_err(
        nll64(
            &zeros64(&[2, 3]),
            &zeros_i64(&[3, 4]),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::ValueError,
        "Expected input batch_size (2) to match target batch_size (3).",
    );
}

// torch 2.13.0:
//   F.nll_loss(V, torch.tensor([1, 0, 0]), weight=torch.ones(2, dtype=D))
//     -> ValueError: For 1D input, 1D target must have size 1, but got target size: 3
//   F.nll_loss(torch.zeros(5, dtype=D), torch.zeros(3, dtype=D))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Double
#[test]
fn one_d_target_size_beats_weight_but_not_dtype() {
    let w2 = zeros64(&[2]);
    assert_err(
        nll64(
            &five_classes(),
            &array![1i64, 0, 0].into_dyn(),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::ValueError,
        "For 1D input, 1D target must have size 1, but got target size: 3",
    );
    let t = zeros64(&[3]);
    assert_err(
        nll_loss(
            zeros64(&[5]).view(),
            Target::probabilities(t.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
}

// torch 2.13.0: F.nll_loss(X[:2], torch.tensor([5, -1])) -> IndexError: Target 5 is out of bounds.
#[test]
fn first_out_of_bounds_target_is_reported() {
    let d = data();
    let x2 = d.x.slice(s![..2, ..]).to_owned().into_dyn();
    assert_err(
        nll64(&x2, &ai(&[2], &[5, -1]), &nll_opts(Reduction::Mean)),
        ErrorKind::IndexError,
        "Target 5 is out of bounds.",
    );
}

// torch 2.13.0:
//   F.nll_loss(torch.zeros(2, 3, 5, dtype=D), torch.zeros(2, 4, dtype=D))
//     -> RuntimeError: Expected target size [2, 5], got [2, 4]
//   F.nll_loss(torch.zeros(2, 3, 4, dtype=D), torch.zeros(2, 4, dtype=D), weight=torch.ones(2, dtype=D))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.nll_loss(torch.zeros(2, 3, 4, dtype=D), torch.zeros(2, 4, dtype=torch.uint8), weight=torch.ones(2, dtype=D))
//     -> RuntimeError: weight tensor should be defined either for all or no classes
#[test]
fn spatial_3d_check_order() {
    let t24 = zeros64(&[2, 4]);
    assert_err(
        nll_loss(
            zeros64(&[2, 3, 5]).view(),
            Target::probabilities(t24.view()),
            &nll_opts(Reduction::Mean),
        ),
        ErrorKind::RuntimeError,
        "Expected target size [2, 5], got [2, 4]",
    );
    let w2 = zeros64(&[2]);
    assert_err(
        nll_loss(
            zeros64(&[2, 3, 4]).view(),
            Target::probabilities(t24.view()),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Double",
    );
    let u = ArrayD::<u8>::zeros(IxDyn(&[2, 4]));
    assert_err(
        nll_loss(
            zeros64(&[2, 3, 4]).view(),
            Target::Bytes(u.view()),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "weight tensor should be defined either for all or no classes",
    );
}

// torch 2.13.0 (x = torch.zeros(2, 3, 4, 5, dtype=D), w = torch.ones(2, dtype=D)):
//   F.nll_loss(x, torch.zeros(2, 4, dtype=D))                    -> RuntimeError: only batches of spatial targets supported (3D tensors) but got targets of dimension: 2
//   F.nll_loss(x, torch.zeros(2, 4, 4, dtype=D))                 -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.nll_loss(x, torch.zeros(2, 4, 5, dtype=D), weight=w)       -> RuntimeError: expected target dtype to be Long or Byte, but got Double
//   F.nll_loss(x, torch.zeros(2, 4, 4, dtype=torch.long), weight=w) -> RuntimeError: weight tensor should be defined either for all or no classes
//   F.nll_loss(x, torch.zeros(2, 4, 4, dtype=torch.uint8))       -> RuntimeError: size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]
//   F.nll_loss(x, torch.zeros(2, 4, 5, dtype=torch.uint8), weight=w) -> RuntimeError: weight tensor should be defined either for all or no classes
#[test]
fn spatial_4d_check_order() {
    let x = zeros64(&[2, 3, 4, 5]);
    let w = ArrayD::<f64>::ones(IxDyn(&[2]));
    let mean = nll_opts(Reduction::Mean);
    let weighted = nll_opts(Reduction::Mean).weight(w.view());
    let (f24, f244, f245) = (zeros64(&[2, 4]), zeros64(&[2, 4, 4]), zeros64(&[2, 4, 5]));
    let (u244, u245) = (
        ArrayD::<u8>::zeros(IxDyn(&[2, 4, 4])),
        ArrayD::<u8>::zeros(IxDyn(&[2, 4, 5])),
    );
    let l244 = zeros_i64(&[2, 4, 4]);
    let dtype = "expected target dtype to be Long or Byte, but got Double";
    let weight = "weight tensor should be defined either for all or no classes";
    let cases: [(Target<'_, f64>, &NllLossOptions<'_, f64>, &str); 6] = [
        (
            Target::probabilities(f24.view()),
            &mean,
            "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2",
        ),
        (Target::probabilities(f244.view()), &mean, dtype),
        (Target::probabilities(f245.view()), &weighted, dtype),
        (Target::indices(l244.view()), &weighted, weight),
        (
            Target::Bytes(u244.view()),
            &mean,
            "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]",
        ),
        (Target::Bytes(u245.view()), &weighted, weight),
    ];
    for (target, options, msg) in cases {
        assert_err(
            nll_loss(x.view(), target, options),
            ErrorKind::RuntimeError,
            msg,
        );
    }
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], torch.zeros(2, 3, dtype=torch.long), ignore_index=1)
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
//   F.cross_entropy(Z[:2], P[:2], ignore_index=1, weight=torch.ones(2, dtype=D))
//     -> RuntimeError: ignore_index is not supported for floating point target
//   F.cross_entropy(Z[:2], P[:2], label_smoothing=1.5, weight=torch.ones(2, dtype=D))
//     -> RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]
//   F.cross_entropy(Z[:2], torch.tensor([0, 1, 2]), label_smoothing=1.5)
//     -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
#[test]
fn cross_entropy_check_order() {
    let d = data();
    let z2 = d.z.slice(s![..2, ..]).to_owned().into_dyn();
    let p2 = d.p.slice(s![..2, ..]).to_owned().into_dyn();
    let w2 = ArrayD::<f64>::ones(IxDyn(&[2]));
    assert_err(
        ce64(
            &z2,
            &zeros_i64(&[2, 3]),
            &ce_opts(Reduction::Mean).ignore_index(1),
        ),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
    assert_err(
        ce_prob64(
            &z2,
            &p2,
            &ce_opts(Reduction::Mean).ignore_index(1).weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "ignore_index is not supported for floating point target",
    );
    assert_err(
        ce_prob64(
            &z2,
            &p2,
            &ce_opts(Reduction::Mean)
                .label_smoothing(1.5)
                .weight(w2.view()),
        ),
        ErrorKind::RuntimeError,
        "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [2]",
    );
    assert_err(
        ce64(
            &z2,
            &ai(&[3], &[0, 1, 2]),
            &ce_opts(Reduction::Mean).label_smoothing(1.5),
        ),
        ErrorKind::RuntimeError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    );
}

// The errors of the tests above (torch messages quoted there), each with a hint.
#[test]
fn every_error_has_a_non_empty_hint() {
    let d = data();
    let x2 = zeros64(&[2, 3]);
    let w2 = zeros64(&[2]);
    let f2 = zeros64(&[2]);
    let p2 = d.p.slice(s![..2, ..]).to_owned().into_dyn();
    let errors: Vec<LossError> = vec![
        nll64(
            &arr0(1.0).into_dyn(),
            &arr0(0i64).into_dyn(),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(&x2, &ai(&[3], &[0, 1, 2]), &nll_opts(Reduction::Mean)).unwrap_err(),
        nll64(
            &five_classes(),
            &ai(&[3], &[1, 0, 0]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(&x2, &zeros_i64(&[2, 3]), &nll_opts(Reduction::Mean)).unwrap_err(),
        nll_loss(
            x2.view(),
            Target::probabilities(f2.view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &x2,
            &ai(&[2], &[0, 1]),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        )
        .unwrap_err(),
        ce_prob64(&x2, &p2, &ce_opts(Reduction::Mean).weight(w2.view())).unwrap_err(),
        ce64(&x2, &zeros_i64(&[2, 3]), &ce_opts(Reduction::Mean)).unwrap_err(),
        ce_prob64(&x2, &p2, &ce_opts(Reduction::Mean).ignore_index(1)).unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 4]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4]),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[2, 3, 4, 5]),
            &zeros_i64(&[2, 4, 5]),
            &nll_opts(Reduction::Mean).weight(w2.view()),
        )
        .unwrap_err(),
        nll64(&x2, &ai(&[2], &[0, 3]), &nll_opts(Reduction::Mean)).unwrap_err(),
        nll64(&x2, &ai(&[2], &[-1, 0]), &nll_opts(Reduction::Mean)).unwrap_err(),
        log_softmax(x2.view(), 2).unwrap_err(),
        softmax(arr0(1.0).view(), 1).unwrap_err(),
        ce64(&d.z, &d.t, &ce_opts(Reduction::Mean).label_smoothing(1.5)).unwrap_err(),
        nll_loss(
            d.x4.view(),
            Target::Bytes(d.t4.mapv(|v| v as u8).view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll_loss_backward(
            arr0(1.0).view(),
            five_classes().view(),
            Target::indices(array![1i64].view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll64(
            &zeros64(&[0, 3]),
            &arr0(0i64).into_dyn(),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
        ce_prob64(
            &arr0(1.0).into_dyn(),
            &arr0(0.5).into_dyn(),
            &ce_opts(Reduction::Mean),
        )
        .unwrap_err(),
        nll_loss_backward(
            array![1.0].view(),
            d.x.view(),
            Target::indices(d.t.view()),
            &nll_opts(Reduction::Mean),
        )
        .unwrap_err(),
    ];
    for err in &errors {
        assert!(!err.message().is_empty(), "{err:?}");
        assert!(!err.hint().trim().is_empty(), "no hint for {err}");
        assert_ne!(err.hint(), err.message(), "the hint repeats the message");
    }
}

/// `cross_entropy_with_grad` computes the loss in one sweep with the gradient; it uses
/// the forward's kernels and operations, so its loss is `cross_entropy`'s bit for bit,
/// and its gradient is log_softmax's backward of nll_loss's gradient, bit for bit.
/// Rows with -inf, +inf and NaN, ignored targets, weights of both signs, every reduction.
#[test]
fn the_one_sweep_loss_and_gradient_equal_the_separate_calls_bit_for_bit() {
    let inf = f32::INFINITY;
    let x = array![
        [1.5f32, -2.0, 0.25, 7.0],
        [f32::NEG_INFINITY, 0.0, 1.0, -1.0],
        [inf, 0.0, 1.0, 2.0],
        [f32::NAN, 0.0, 1.0, 2.0],
        [-1e4, 1e4, 3.0, -3.0],
        [0.0, 0.0, 0.0, 0.0],
    ];
    let t = array![3i64, 1, 0, 2, -100, 0];
    // The same rows as (2, 4, 3): sample n, position s is row 3n + s (the K-dim path).
    let xk = x
        .clone()
        .into_shape_with_order((2, 3, 4))
        .unwrap()
        .permuted_axes([0, 2, 1])
        .into_dyn();
    let tk = t.clone().into_shape_with_order((2, 3)).unwrap().into_dyn();
    let w = array![0.5f32, -1.0, 2.0, 0.0];
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let inputs = [(x.into_dyn(), t.into_dyn()), (xk, tk)];
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        for weighted in [false, true] {
            for (x, t) in &inputs {
                let mut opts = CrossEntropyOptions::default().reduction(reduction);
                if weighted {
                    opts = opts.weight(w.view());
                }
                let loss = cross_entropy(x.view(), Target::indices(t.view()), &opts).unwrap();
                let g = ArrayD::from_elem(loss.raw_dim(), 0.75f32);
                let (fused, grad) =
                    cross_entropy_with_grad(g.view(), x.view(), Target::indices(t.view()), &opts)
                        .unwrap();
                assert_eq!(
                    bits(&loss),
                    bits(&fused),
                    "{reduction:?} weighted {weighted}"
                );
                // The gradient is the composition's: log_softmax's backward of nll_loss's.
                let logp = log_softmax(x.view(), 1).unwrap();
                let nll = NllLossOptions {
                    weight: opts.weight.clone(),
                    ignore_index: -100,
                    reduction,
                };
                let composed_loss = nll_loss(logp.view(), Target::indices(t.view()), &nll).unwrap();
                assert_eq!(
                    bits(&fused),
                    bits(&composed_loss),
                    "{reduction:?} {weighted}"
                );
                let grad_logp =
                    nll_loss_backward(g.view(), logp.view(), Target::indices(t.view()), &nll)
                        .unwrap();
                let composed = log_softmax_backward(grad_logp.view(), logp.view(), 1).unwrap();
                assert_eq!(
                    bits(&grad),
                    bits(&composed),
                    "{reduction:?} weighted {weighted} {:?}",
                    x.shape()
                );
                // And the two-pass backward.
                let two_pass =
                    cross_entropy_backward(g.view(), x.view(), Target::indices(t.view()), &opts)
                        .unwrap();
                assert_eq!(
                    bits(&grad),
                    bits(&two_pass),
                    "{reduction:?} weighted {weighted}"
                );
            }
        }
    }
}

/// Rows longer than a parallel task's share (here 40,000 classes, so a task holds
/// less than one row's worth of 16K values) still split into whole tiles of rows, and
/// every path gives each row the one-row result, whatever the row count.
#[test]
fn long_rows_on_the_parallel_path_equal_one_row_at_a_time() {
    let (rows, classes) = (3, 40_000);
    let x = ArrayD::from_shape_vec(IxDyn(&[rows, classes]), gen32(rows * classes, 3)).unwrap();
    let t = array![0i64, 39_999, 17];
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let logp = log_softmax(x.view(), 1).unwrap();
    for r in 0..rows {
        let one = log_softmax(x.slice(s![r..r + 1, ..]), 1).unwrap();
        assert_eq!(
            bits(&one),
            bits(&logp.slice(s![r..r + 1, ..]).to_owned().into_dyn())
        );
    }
    let opts = CrossEntropyOptions::default().reduction(Reduction::None);
    let loss = cross_entropy(x.view(), Target::indices(t.view()), &opts).unwrap();
    let g = ArrayD::from_elem(loss.raw_dim(), 1.0f32);
    let (fused, grad) =
        cross_entropy_with_grad(g.view(), x.view(), Target::indices(t.view()), &opts).unwrap();
    assert_eq!(bits(&loss), bits(&fused));
    for r in 0..rows {
        assert_eq!(loss[[r]].to_bits(), (-logp[[r, t[r] as usize]]).to_bits());
        let row_grad = grad.slice(s![r, ..]);
        let sum: f64 = row_grad.iter().map(|&v| v as f64).sum();
        assert!(
            sum.abs() < 1e-5,
            "row {r}: the gradient of a row sums to 0, not {sum}"
        );
    }
}

// ---------------------------------------------------------------------------------
// The gathered, lane-wise nll_loss kernels against the serial loops they replaced
// ---------------------------------------------------------------------------------

/// `nll_loss` and its gradient as the plain serial loops libtorch runs (and this crate
/// ran before its kernels gathered positions in groups and summed segments side by
/// side): one position after the other, the flat index by division, an 8-level
/// cascade. `Err` carries the message of the first target out of bounds.
fn serial_nll<F: Float>(
    x: &ArrayD<F>,
    t: &[i64],
    w: Option<&[F]>,
    ii: i64,
    reduction: Reduction,
    g: &[F],
) -> Result<(Vec<F>, Vec<F>), String> {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    let map: usize = x.shape()[2..].iter().product();
    let xs: Vec<F> = x.iter().copied().collect();
    let index = |p: usize, class: usize| (p / map * c + class) * map + p % map;
    let class_of = |v: i64| -> Result<Option<usize>, String> {
        if v == ii {
            Ok(None)
        } else if v < 0 || v as usize >= c {
            Err(format!("Target {v} is out of bounds."))
        } else {
            Ok(Some(v as usize))
        }
    };
    let wt = |class: usize| w.map_or(F::one(), |w| w[class]);
    let mut grad = vec![F::zero(); xs.len()];
    if reduction == Reduction::None {
        let mut out = Vec::new();
        for (p, &v) in t.iter().enumerate() {
            out.push(match class_of(v)? {
                None => F::zero(),
                Some(k) => -xs[index(p, k)] * wt(k),
            });
        }
        for (p, &v) in t.iter().enumerate() {
            if let Some(k) = class_of(v)? {
                grad[index(p, k)] = -wt(k) * g[p];
            }
        }
        return Ok((out, grad));
    }
    let positions = n * map;
    let level_power = 4.max(
        if positions <= 2 {
            1
        } else {
            64 - (positions as u64 - 1).leading_zeros()
        } / 8,
    );
    let mask = (1u64 << level_power) - 1;
    let (mut loss, mut wsum, mut ignored) = ([F::zero(); 8], [F::zero(); 8], 0usize);
    for (p, &v) in t.iter().enumerate() {
        let Some(k) = class_of(v)? else {
            ignored += 1;
            continue;
        };
        match w {
            Some(w) => {
                loss[0] -= xs[index(p, k)] * w[k];
                wsum[0] += w[k];
            }
            None => loss[0] -= xs[index(p, k)],
        }
        for j in 0..7 {
            if (p as u64) & (mask << (j as u32 * level_power)) != 0 {
                break;
            }
            wsum[j + 1] += wsum[j];
            loss[j + 1] += loss[j];
            wsum[j] = F::zero();
            loss[j] = F::zero();
        }
    }
    let total_weight = match w {
        Some(_) => wsum.iter().fold(F::zero(), |a, &b| a + b),
        None => F::of_f64((positions - ignored) as f64),
    };
    let total = loss.iter().fold(F::zero(), |a, &b| a + b);
    let (value, step) = if t.is_empty() {
        let nan = if reduction == Reduction::Mean {
            F::nan()
        } else {
            F::zero()
        };
        (nan, F::zero())
    } else if reduction == Reduction::Mean {
        (total / total_weight, -(g[0] / total_weight))
    } else {
        (total, -g[0])
    };
    for (p, &v) in t.iter().enumerate() {
        if let Some(k) = class_of(v)? {
            grad[index(p, k)] = w.map_or(step, |w| w[k] * step);
        }
    }
    Ok((vec![value], grad))
}

fn same_bits<F: Float>(a: &[F], b: &[F]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(&a, &b)| {
            (a.is_nan() && b.is_nan())
                || a.to_f64().unwrap().to_bits() == b.to_f64().unwrap().to_bits()
        })
}

fn gathered_nll_equals_serial_loops<F: Float>() {
    let mut seed = 7u64;
    let mut next = move |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    // Batched and spatial, with groups of 128 positions that cross samples, runs that
    // end mid-group, and fewer positions than a group.
    let shapes: [&[usize]; 6] = [
        &[300, 7],
        &[3, 5, 97],
        &[2, 3, 4, 50],
        &[1, 4, 1000],
        &[5, 3],
        &[2, 6, 3, 1, 37],
    ];
    for shape in shapes {
        let (n, c) = (shape[0], shape[1]);
        let positions = n * shape[2..].iter().product::<usize>();
        let mut target_shape = vec![n];
        target_shape.extend_from_slice(&shape[2..]);
        let numel = positions * c;
        for special in [false, true] {
            let x: Vec<F> = (0..numel)
                .map(|i| match (special, next(40)) {
                    (true, 0) => F::nan(),
                    (true, 1) => F::infinity(),
                    (true, 2) => -F::zero(),
                    _ => F::of_f64(next(20001) as f64 / 1000.0 - 10.0 + i as f64 * 1e-7),
                })
                .collect();
            let x = ArrayD::from_shape_vec(IxDyn(shape), x).unwrap();
            // No ignored target; some at random positions; every multiple of 16 (the
            // flush positions); the flush before each group of 128, with some inside
            // segments; some flushes of some groups; most positions.
            for pattern in 0..6 {
                let t: Vec<i64> = (0..positions)
                    .map(|p| {
                        let ignored = match pattern {
                            0 => false,
                            1 => next(9) == 0,
                            2 => p % 16 == 0 || next(30) == 0,
                            3 => p % 128 == 0 || (p % 16 != 0 && next(9) == 0),
                            4 => p % 48 == 0,
                            _ => next(4) != 0,
                        };
                        if ignored {
                            -100
                        } else {
                            next(c as u64) as i64
                        }
                    })
                    .collect();
                let ta = ArrayD::from_shape_vec(IxDyn(&target_shape), t.clone()).unwrap();
                let weights: Vec<F> = (0..c)
                    .map(|k| match k % 4 {
                        0 => F::of_f64(0.5 + k as f64 / 3.0),
                        1 => -F::zero(),
                        2 => F::of_f64(-1.25),
                        _ => F::of_f64(3.0 + next(100) as f64 / 7.0),
                    })
                    .collect();
                let wa = Array1::from(weights.clone());
                for weighted in [false, true] {
                    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
                        let mut opts = NllLossOptions::default().reduction(reduction);
                        if weighted {
                            opts = opts.weight(wa.view());
                        }
                        let (go, g): (ArrayD<F>, Vec<F>) = if reduction == Reduction::None {
                            let g: Vec<F> = (0..positions)
                                .map(|p| F::of_f64(p as f64 * 0.013 - 1.7))
                                .collect();
                            (
                                ArrayD::from_shape_vec(IxDyn(&target_shape), g.clone()).unwrap(),
                                g,
                            )
                        } else {
                            (arr0(F::of_f64(0.7)).into_dyn(), vec![F::of_f64(0.7)])
                        };
                        let w = weighted.then_some(&weights[..]);
                        let (out, grad) = serial_nll(&x, &t, w, -100, reduction, &g).unwrap();
                        let got = nll_loss(x.view(), Target::indices(ta.view()), &opts).unwrap();
                        let got_grad = nll_loss_backward(
                            go.view(),
                            x.view(),
                            Target::indices(ta.view()),
                            &opts,
                        )
                        .unwrap();
                        let case = format!(
                            "{shape:?} special {special} pattern {pattern} weighted {weighted} {reduction:?}"
                        );
                        let got: Vec<F> = got.iter().copied().collect();
                        assert!(same_bits(&got, &out), "loss of {case}: {got:?} != {out:?}");
                        let got_grad: Vec<F> = got_grad.iter().copied().collect();
                        assert!(same_bits(&got_grad, &grad), "gradient of {case}");
                        // The pick-based sums that cross_entropy uses agree too.
                        if reduction != Reduction::None {
                            let plan = nll::nll_plan(shape, &target_shape, "Long", None).unwrap();
                            let xs: Vec<F> = x.iter().copied().collect();
                            let map = plan.map;
                            let pick = |p: usize, k: usize| xs[(p / map * c + k) * map + p % map];
                            let (total, _) = nll::nll_sums(&plan, &pick, &t, w, -100).unwrap();
                            let expect = if reduction == Reduction::Sum {
                                out[0]
                            } else {
                                total
                            };
                            assert!(same_bits(&[total], &[expect]), "nll_sums of {case}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn gathered_nll_kernels_equal_the_serial_loops_bit_for_bit() {
    gathered_nll_equals_serial_loops::<f32>();
    gathered_nll_equals_serial_loops::<f64>();
}

/// A target out of bounds is the forward's error, so `nll_loss_backward` raises it
/// before looking at `grad_output`, wherever it sits, for every reduction.
#[test]
fn nll_backward_raises_the_forwards_target_error_before_its_own() {
    let x = ArrayD::from_elem(IxDyn(&[2, 3, 40]), -0.5f64);
    for bad in [0usize, 17, 79] {
        let mut t = vec![1i64; 80];
        t[bad] = 3;
        t[(bad + 5) % 80] = -7;
        let t = ai(&[2, 40], &t);
        for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            for weighted in [false, true] {
                let w = array![1.0, 2.0, 0.5];
                let mut opts = nll_opts(reduction);
                if weighted {
                    opts = opts.weight(w.view());
                }
                let wrong = ArrayD::from_elem(IxDyn(&[7]), 1.0);
                let message = if (bad + 5) % 80 < bad {
                    "Target -7 is out of bounds."
                } else {
                    "Target 3 is out of bounds."
                };
                assert_err(
                    nll_loss_backward(wrong.view(), x.view(), Target::indices(t.view()), &opts),
                    ErrorKind::IndexError,
                    message,
                );
            }
        }
    }
    // uint8 targets of a (N, C) input: `none` prints the byte as a character, in the
    // forward's wording, before the gradient's shape is checked.
    let x = ArrayD::from_elem(IxDyn(&[3, 3]), -0.5f64);
    let t = ArrayD::from_shape_vec(IxDyn(&[3]), vec![0u8, 65, 1]).unwrap();
    let wrong = ArrayD::from_elem(IxDyn(&[2]), 1.0);
    for (reduction, message) in [
        (Reduction::None, "Target A is out of bounds."),
        (Reduction::Mean, "Target 65 is out of bounds."),
    ] {
        assert_err(
            nll_loss_backward(
                wrong.view(),
                x.view(),
                Target::Bytes(t.view()),
                &nll_opts(reduction),
            ),
            ErrorKind::IndexError,
            message,
        );
    }
}

/// The per-sample parallel paths of a large spatial `nll_loss` (forward sums and
/// gradient) give the serial paths' bits, weights of both signs and ignored targets
/// included, and report the first bad target in position order.
#[test]
fn spatial_nll_in_parallel_equals_one_thread_bit_for_bit() {
    let (n, c, h, w) = (3usize, 5usize, 48usize, 64usize);
    let x = ArrayD::from_shape_vec(IxDyn(&[n, c, h, w]), gen32(n * c * h * w, 9)).unwrap();
    let mut t: Vec<i64> = (0..n * h * w).map(|i| ((i * 7919) % c) as i64).collect();
    for i in (0..t.len()).step_by(13) {
        t[i] = -100;
    }
    let t = ArrayD::from_shape_vec(IxDyn(&[n, h, w]), t).unwrap();
    let weight = array![0.5f32, -1.0, 2.0, 0.0, 1.5].into_dyn();
    let run = |threads: usize, opts: &NllLossOptions<'_, f32>, t: &ArrayD<i64>| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let loss = nll_loss(x.view(), Target::indices(t.view()), opts);
            let g = ArrayD::from_elem(
                loss.as_ref().map(|l| l.raw_dim()).unwrap_or(IxDyn(&[])),
                0.75f32,
            );
            let grad = nll_loss_backward(g.view(), x.view(), Target::indices(t.view()), opts);
            (loss, grad)
        })
    };
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for reduction in [Reduction::Mean, Reduction::Sum, Reduction::None] {
        for weighted in [false, true] {
            let opts = NllLossOptions {
                weight: weighted.then(|| weight.view()),
                ignore_index: -100,
                reduction,
            };
            let (l1, g1) = run(1, &opts, &t);
            let (l2, g2) = run(2, &opts, &t);
            assert_eq!(
                bits(&l1.unwrap()),
                bits(&l2.unwrap()),
                "{reduction:?} {weighted}"
            );
            assert_eq!(
                bits(&g1.unwrap()),
                bits(&g2.unwrap()),
                "{reduction:?} {weighted}"
            );
        }
    }
    // Two bad targets, in the last and the first sample: the first in order is named.
    let mut bad = t.clone();
    bad[[2, 5, 5]] = 9;
    bad[[0, 40, 1]] = 7;
    let opts = NllLossOptions::default();
    let (l2, g2) = run(2, &opts, &bad);
    let (l1, _) = run(1, &opts, &bad);
    let (e1, e2) = (l1.unwrap_err(), l2.unwrap_err());
    assert_eq!(e1.message(), e2.message());
    assert!(e2.message().contains('7'), "{}", e2.message());
    assert_eq!(g2.unwrap_err().message(), e1.message());
}

/// The parallel reads of a large `(N, C)` `nll_loss` (rows far apart) give the serial
/// path's bits, with weights and ignored targets, and the first bad target in order.
#[test]
fn batched_nll_in_parallel_equals_one_thread_bit_for_bit() {
    let (n, c) = (2100usize, 1030usize);
    let x = ArrayD::from_shape_vec(IxDyn(&[n, c]), gen32(n * c, 4)).unwrap();
    let mut t: Vec<i64> = (0..n).map(|i| ((i * 7919) % c) as i64).collect();
    for i in (0..n).step_by(17) {
        t[i] = -100;
    }
    let t = Array1::from(t).into_dyn();
    let weight = Array1::from_iter((0..c).map(|k| (k % 7) as f32 - 2.5)).into_dyn();
    let run = |threads: usize, opts: &NllLossOptions<'_, f32>, t: &ArrayD<i64>| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| nll_loss(x.view(), Target::indices(t.view()), opts))
    };
    for reduction in [Reduction::Mean, Reduction::Sum] {
        for weighted in [false, true] {
            let opts = NllLossOptions {
                weight: weighted.then(|| weight.view()),
                ignore_index: -100,
                reduction,
            };
            let (one, two) = (run(1, &opts, &t).unwrap(), run(2, &opts, &t).unwrap());
            assert_eq!(
                one[[]].to_bits(),
                two[[]].to_bits(),
                "{reduction:?} {weighted}"
            );
            // And the plain serial loop's.
            let w = weight.as_slice().unwrap();
            let (want, _) = serial_nll(
                &x,
                t.as_slice().unwrap(),
                weighted.then_some(w),
                -100,
                reduction,
                &[1.0],
            )
            .unwrap();
            assert_eq!(
                one[[]].to_bits(),
                want[0].to_bits(),
                "{reduction:?} {weighted}"
            );
        }
    }
    let mut bad = t.clone();
    bad[[2000]] = 5000;
    bad[[3]] = 4000;
    let opts = NllLossOptions::default();
    let (e1, e2) = (
        run(1, &opts, &bad).unwrap_err(),
        run(2, &opts, &bad).unwrap_err(),
    );
    assert_eq!(e1.message(), e2.message());
    assert!(e2.message().contains("4000"), "{}", e2.message());
}

/// Zero classes on a spatial input large enough for the parallel paths: the forward's
/// target error (or NaN for a mean over only ignored targets), never a panic from a
/// zero-sized chunk. torch 2.13:
/// `F.nll_loss(torch.zeros(1, 0, 128, 256), torch.zeros(1, 128, 256, dtype=torch.long))`
/// raises `IndexError: Target 0 is out of bounds.`
#[test]
fn zero_classes_on_a_large_spatial_input_is_an_error_not_a_panic() {
    let x = ArrayD::<f32>::zeros(IxDyn(&[1, 0, 128, 256]));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let zeros = ArrayD::<i64>::zeros(IxDyn(&[1, 128, 256]));
        let err = nll_loss(
            x.view(),
            Target::indices(zeros.view()),
            &NllLossOptions::default(),
        )
        .unwrap_err();
        assert_eq!(err.message(), "Target 0 is out of bounds.");
        let ignored = ArrayD::<i64>::from_elem(IxDyn(&[1, 128, 256]), -100);
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let opts = NllLossOptions::default().reduction(reduction);
            let loss = nll_loss(x.view(), Target::indices(ignored.view()), &opts).unwrap();
            assert_eq!(
                loss[[]].is_nan(),
                reduction == Reduction::Mean,
                "{reduction:?}"
            );
            let g = arr0(1.0f32);
            let grad =
                nll_loss_backward(g.view(), x.view(), Target::indices(ignored.view()), &opts)
                    .unwrap();
            assert_eq!(grad.shape(), &[1, 0, 128, 256]);
        }
    });
}

/// `(N, C, 1)`: a position's classes are a contiguous row, which the forward sums as a
/// row (16 partial sums folded pairwise); the one-sweep loss and gradient do the same,
/// bit for bit. With 4 classes of 0, -17, -17, -17 the pairwise and the in-order sums
/// round differently in float32 (1 + 2^-23 against 1).
#[test]
fn a_map_of_one_goes_through_the_row_kernels_in_one_sweep_too() {
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 4, 1]), vec![0.0f32, -17.0, -17.0, -17.0]).unwrap();
    let t = ArrayD::from_shape_vec(IxDyn(&[1, 1]), vec![0i64]).unwrap();
    let opts = CrossEntropyOptions::default().reduction(Reduction::Sum);
    let loss = cross_entropy(x.view(), Target::indices(t.view()), &opts).unwrap();
    let g = arr0(1.0f32);
    let (fused, grad) =
        cross_entropy_with_grad(g.view(), x.view(), Target::indices(t.view()), &opts).unwrap();
    assert_eq!(loss[[]].to_bits(), fused[[]].to_bits());
    // ln(1 + 2^-23): the row sum, not the in-order sum (1, whose ln is 0).
    assert_eq!(loss[[]], (1.0 + f32::EPSILON as f64).ln() as f32);
    let two_pass =
        cross_entropy_backward(g.view(), x.view(), Target::indices(t.view()), &opts).unwrap();
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&grad), bits(&two_pass));
}
