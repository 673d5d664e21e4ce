// cross_entropy_with_grad's one sweep and the parallel row paths against the separate
// calls and against one row at a time, bit for bit.

use ndarray::{ArrayD, IxDyn, arr0, array, s};

use super::*;

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
