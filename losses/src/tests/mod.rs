// Unit tests of the losses against PyTorch 2.13.0 (CPU). This module holds the data of
// the preamble below and the comparison helpers; the tests live in one file per op and
// concern (the `mod` lines below).
//
// Every expected number in these files was printed by the oracle interpreter
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
// bit (same algorithm as libtorch); other f32 results within the crate's float32
// tolerance, `<f32 as Float>::ATOL + <f32 as Float>::RTOL * |expected|`. Errors are the
// first line of the Python exception, with its class.

use ndarray::{Array1, ArrayD, ArrayView, Dimension, IxDyn, array};

use super::*;

mod backward;
mod binary;
mod check_order;
mod cross_entropy;
mod ctc;
mod divergence;
mod errors;
mod linear_cross_entropy;
mod log_softmax;
mod long_rows;
mod margin;
mod multi_margin;
mod nll_kernels;
mod nll_loss;
mod one_sweep;
mod pointwise;
mod probabilistic;
mod probability_grads;
mod triplet;
mod types;

#[cfg(feature = "unstable-public-internals")]
mod internals;

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

/// A reduction, and the shape and values of the loss PyTorch gives with it.
type ReductionCase<'a> = (Reduction, &'a [usize], &'a [f64]);

/// `nll_loss` of `input` and `target` with `options`, under each case's reduction.
#[track_caller]
fn assert_nll_cases(
    input: &ArrayD<f64>,
    target: Target<'_, f64>,
    options: &NllLossOptions<'_, f64>,
    cases: &[ReductionCase<'_>],
) {
    for &(reduction, shape, expected) in cases {
        let options = options.clone().reduction(reduction);
        let loss = nll_loss(input.view(), target.clone(), &options).unwrap();
        assert_close(&loss, shape, expected);
    }
}

/// `cross_entropy` of `input` and `target` with `options`, under each case's reduction.
#[track_caller]
fn assert_ce_cases(
    input: &ArrayD<f64>,
    target: Target<'_, f64>,
    options: &CrossEntropyOptions<'_, f64>,
    cases: &[ReductionCase<'_>],
) {
    for &(reduction, shape, expected) in cases {
        let options = options.clone().reduction(reduction);
        let loss = cross_entropy(input.view(), target.clone(), &options).unwrap();
        assert_close(&loss, shape, expected);
    }
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

/// Within the crate's float32 tolerance: `|a - e| <= ATOL + RTOL * |e|` (`Float`'s).
#[track_caller]
fn assert_close_f32(actual: &ArrayD<f32>, shape: &[usize], expected: &[f32]) {
    assert_eq!(actual.shape(), shape, "shape of {actual:?}");
    let got: Vec<f32> = actual.iter().copied().collect();
    assert_eq!(got.len(), expected.len(), "length of {got:?}");
    let (atol, rtol) = (<f32 as Float>::ATOL, <f32 as Float>::RTOL);
    for (i, (&a, &e)) in got.iter().zip(expected).enumerate() {
        let (a64, e64) = (f64::from(a), f64::from(e));
        assert!(
            (a64 - e64).abs() <= atol + rtol * e64.abs(),
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
