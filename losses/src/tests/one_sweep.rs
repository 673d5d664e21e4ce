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

/// The label-smoothed loss and gradient of `F.cross_entropy(x, t, weight=w,
/// ignore_index=-100, label_smoothing=ls, reduction='none')`, per position, written
/// out in f64 from the definition: `-(1 - ls) * w[t] * logp[t] - (ls / C) * sum_c w[c]
/// * logp[c]`, 0 where ignored; the gradient `d_c - softmax_c * sum(d)` of the
/// log-probabilities' gradient `d`.
fn smoothed_by_definition(
    x: &[Vec<f64>],
    t: &[i64],
    w: &[f64],
    ls: f64,
    g: &[f64],
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let c = w.len() as f64;
    let mut loss = Vec::new();
    let mut grad = Vec::new();
    for ((row, &t), &g) in x.iter().zip(t).zip(g) {
        if t == -100 {
            loss.push(0.0);
            grad.push(vec![0.0; row.len()]);
            continue;
        }
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
        let logp: Vec<f64> = row.iter().map(|v| v - lse).collect();
        let t = t as usize;
        let smooth: f64 = -logp.iter().zip(w).map(|(l, w)| l * w).sum::<f64>();
        loss.push(-(1.0 - ls) * w[t] * logp[t] + ls / c * smooth);
        let mut d: Vec<f64> = w.iter().map(|w| -g * ls / c * w).collect();
        d[t] -= g * (1.0 - ls) * w[t];
        let total: f64 = d.iter().sum();
        grad.push(
            d.iter()
                .zip(&logp)
                .map(|(d, l)| d - l.exp() * total)
                .collect(),
        );
    }
    (loss, grad)
}

/// The label-smoothed paths (one sweep per row, and per strip for `(N, C, d1..dK)`)
/// against the definition in f64: rows with large offsets (where rounding each
/// log-probability to float32 first loses digits), weights of both signs, an ignored
/// target, in both layouts; the float32 results within a few ulp of the f64 values.
/// The loss of `cross_entropy_with_grad` is `cross_entropy`'s bit for bit.
#[test]
fn label_smoothing_in_one_sweep_agrees_with_its_definition() {
    let classes = 37;
    let rows: Vec<Vec<f64>> = (0..6)
        .map(|r| {
            let offset = [0.0, 1e4, -3e3, 50.0, 0.5, 2e2][r];
            (0..classes)
                .map(|c| offset + ((r * 31 + c * 17) % 23) as f64 * 0.37 - 4.0)
                .map(|v| v as f32 as f64)
                .collect()
        })
        .collect();
    let t = [3i64, 36, -100, 0, 17, 5];
    let w: Vec<f64> = (0..classes)
        .map(|c| (((c * 7) % 11) as f64 - 3.0) / 4.0)
        .collect();
    let g: Vec<f64> = (0..6)
        .map(|r| [1.0, -0.5, 2.0, 0.25, 1.5, -1.0][r])
        .collect();
    let ls = 0.15;
    let flat: Vec<f32> = rows.iter().flatten().map(|&v| v as f32).collect();
    let x = ArrayD::from_shape_vec(IxDyn(&[6, classes]), flat).unwrap();
    // The same rows as (2, C, 3): sample n, position s is row 3n + s.
    let xk = x
        .clone()
        .into_shape_with_order((2, 3, classes))
        .unwrap()
        .permuted_axes([0, 2, 1])
        .as_standard_layout()
        .into_owned()
        .into_dyn();
    let tk = ArrayD::from_shape_vec(IxDyn(&[2, 3]), t.to_vec()).unwrap();
    let tn = ArrayD::from_shape_vec(IxDyn(&[6]), t.to_vec()).unwrap();
    let wf: Array1<f32> = w.iter().map(|&v| v as f32).collect();
    let (loss_e, grad_e) = smoothed_by_definition(&rows, &t, &w, ls, &g);
    let close = |a: f32, e: f64, scale: f64| {
        let err = (a as f64 - e).abs();
        assert!(
            err <= 4.0 * f32::EPSILON as f64 * scale,
            "{a} vs {e} (scale {scale})"
        );
    };
    for (x, t, k) in [(x.clone(), tn.clone(), false), (xk, tk, true)] {
        let opts = CrossEntropyOptions::default()
            .reduction(Reduction::None)
            .weight(wf.view())
            .label_smoothing(ls);
        let gout = ArrayD::from_shape_vec(IxDyn(t.shape()), g.iter().map(|&v| v as f32).collect())
            .unwrap();
        let loss = cross_entropy(x.view(), Target::indices(t.view()), &opts).unwrap();
        let (fused, grad) =
            cross_entropy_with_grad(gout.view(), x.view(), Target::indices(t.view()), &opts)
                .unwrap();
        let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&loss), bits(&fused), "K-dim: {k}");
        for (p, (&l, &e)) in loss.iter().zip(&loss_e).enumerate() {
            // The terms' magnitude: |w| * |logp| summed.
            let scale = e.abs().max(1.0) * 8.0;
            let _ = p;
            close(l, e, scale);
        }
        for p in 0..6 {
            for c in 0..classes {
                let a = if k {
                    grad[[p / 3, c, p % 3]]
                } else {
                    grad[[p, c]]
                };
                close(a, grad_e[p][c], 4.0);
            }
        }
    }
    // Reduced: the mean divides the smoothing term by the targets' total weight.
    for reduction in [Reduction::Sum, Reduction::Mean] {
        let opts = CrossEntropyOptions::default()
            .reduction(reduction)
            .weight(wf.view())
            .label_smoothing(ls);
        let loss = cross_entropy(x.view(), Target::indices(tn.view()), &opts).unwrap();
        let (fused, _) = cross_entropy_with_grad(
            arr0(1.0f32).view(),
            x.view(),
            Target::indices(tn.view()),
            &opts,
        )
        .unwrap();
        assert_eq!(loss[[]].to_bits(), fused[[]].to_bits());
        let counted: Vec<usize> = (0..6).filter(|&p| t[p] != -100).collect();
        let wsum: f64 = counted.iter().map(|&p| w[t[p] as usize]).sum();
        let ones = vec![1.0; 6];
        let (per, _) = smoothed_by_definition(&rows, &t, &w, 0.0, &ones);
        let (both, _) = smoothed_by_definition(&rows, &t, &w, ls, &ones);
        // Split each position's loss into its nll and smoothing parts.
        let nll: f64 = per.iter().sum::<f64>();
        let smooth: f64 = both.iter().zip(&per).map(|(b, n)| b - (1.0 - ls) * n).sum();
        let e = match reduction {
            Reduction::Sum => (1.0 - ls) * nll + smooth,
            _ => ((1.0 - ls) * nll + smooth) / wsum,
        };
        close(loss[[]], e, e.abs().max(1.0) * 8.0);
    }
}

/// `F.cross_entropy(x, q, weight=w, label_smoothing=ls, reduction='none')` for class
/// probabilities, per position, in f64 from the definition: `-sum_c w[c] * q'[c] *
/// logp[c]` with `q' = q * (1 - ls) + ls / C`; the gradient `d - softmax * sum(d)` of
/// `d = -g * w * q'`.
fn probabilities_by_definition(
    x: &[Vec<f64>],
    q: &[Vec<f64>],
    w: &[f64],
    ls: f64,
    g: &[f64],
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let c = w.len() as f64;
    let mut loss = Vec::new();
    let mut grad = Vec::new();
    for ((row, q), &g) in x.iter().zip(q).zip(g) {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
        let soft: Vec<f64> = q.iter().map(|q| q * (1.0 - ls) + ls / c).collect();
        let d: Vec<f64> = soft.iter().zip(w).map(|(q, w)| -g * w * q).collect();
        loss.push(
            -row.iter()
                .zip(&soft)
                .zip(w)
                .map(|((v, q), w)| w * q * (v - lse))
                .sum::<f64>(),
        );
        let total: f64 = d.iter().sum();
        grad.push(
            d.iter()
                .zip(row)
                .map(|(d, v)| d - (v - lse).exp() * total)
                .collect(),
        );
    }
    (loss, grad)
}

/// The probability path's one sweep (rows, and strips for `(N, C, d1..dK)`) against the
/// definition in f64: offsets where float32 log-probabilities lose digits, targets that
/// are not normalised (of both signs), weights of both signs, with and without label
/// smoothing; float32 results within a few ulp of the terms. Its loss with the gradient
/// is the forward's bit for bit.
#[test]
fn probability_targets_in_one_sweep_agree_with_their_definition() {
    let classes = 29;
    let rows: Vec<Vec<f64>> = (0..6)
        .map(|r| {
            let offset = [0.0, 1e4, -3e3, 50.0, 0.5, 2e2][r];
            (0..classes)
                .map(|c| (offset + ((r * 13 + c * 19) % 23) as f64 * 0.41 - 4.0) as f32 as f64)
                .collect()
        })
        .collect();
    let q: Vec<Vec<f64>> = (0..6)
        .map(|r| {
            (0..classes)
                .map(|c| ((((r * 5 + c * 3) % 17) as f64 - 2.0) / 16.0) as f32 as f64)
                .collect()
        })
        .collect();
    let w: Vec<f64> = (0..classes)
        .map(|c| ((((c * 7) % 11) as f64 - 3.0) / 4.0) as f32 as f64)
        .collect();
    let g = [1.0, -0.5, 2.0, 0.25, 1.5, -1.0];
    let to32 = |v: &[Vec<f64>]| -> ArrayD<f32> {
        let flat: Vec<f32> = v.iter().flatten().map(|&v| v as f32).collect();
        ArrayD::from_shape_vec(IxDyn(&[6, classes]), flat).unwrap()
    };
    // The same rows as (2, C, 3): sample n, position s is row 3n + s.
    let kdim = |a: &ArrayD<f32>| {
        a.clone()
            .into_shape_with_order((2, 3, classes))
            .unwrap()
            .permuted_axes([0, 2, 1])
            .as_standard_layout()
            .into_owned()
            .into_dyn()
    };
    let (x, qa) = (to32(&rows), to32(&q));
    let wf: Array1<f32> = w.iter().map(|&v| v as f32).collect();
    let bits = |a: &ArrayD<f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    for ls in [0.0, 0.2] {
        // Rounded to float32 as the loss rounds its factors: (1 - ls) and ls / C.
        let (loss_e, grad_e) = probabilities_by_definition(&rows, &q, &w, ls, &g);
        for k in [false, true] {
            let (x, qa) = if k {
                (kdim(&x), kdim(&qa))
            } else {
                (x.clone(), qa.clone())
            };
            let opts = CrossEntropyOptions::default()
                .reduction(Reduction::None)
                .weight(wf.view())
                .label_smoothing(ls);
            let gshape = if k { vec![2, 3] } else { vec![6] };
            let gout =
                ArrayD::from_shape_vec(IxDyn(&gshape), g.map(|v| v as f32).to_vec()).unwrap();
            let target = || Target::Probabilities(qa.view());
            let loss = cross_entropy(x.view(), target(), &opts).unwrap();
            let (fused, grad) =
                cross_entropy_with_grad(gout.view(), x.view(), target(), &opts).unwrap();
            assert_eq!(bits(&loss), bits(&fused), "ls {ls} K-dim {k}");
            for (p, &e) in loss_e.iter().enumerate() {
                let a = if k { loss[[p / 3, p % 3]] } else { loss[[p]] };
                // The terms' size: |w q' logp| summed, up to about 30 * 1e4 / 16 here.
                let scale = rows[p].iter().map(|v| v.abs()).fold(1.0, f64::max) * 2.0;
                // ls / C and 1 - ls are float32 in the loss: a relative 6e-8 of the term.
                let err = (a as f64 - e).abs();
                assert!(
                    err <= 8.0 * f32::EPSILON as f64 * scale,
                    "ls {ls} K-dim {k} p {p}: {a} vs {e}"
                );
            }
            for p in 0..6 {
                for c in 0..classes {
                    let a = if k {
                        grad[[p / 3, c, p % 3]]
                    } else {
                        grad[[p, c]]
                    };
                    let e = grad_e[p][c];
                    assert!(
                        (a as f64 - e).abs() <= 8.0 * f32::EPSILON as f64 * 4.0,
                        "ls {ls} K-dim {k} p {p} c {c}: {a} vs {e}"
                    );
                }
            }
        }
    }
    // Reduced: the mean divides by the positions, not by any weight.
    let opts = CrossEntropyOptions::default()
        .reduction(Reduction::Mean)
        .weight(wf.view());
    let loss = cross_entropy(x.view(), Target::Probabilities(qa.view()), &opts).unwrap();
    let (per, _) = probabilities_by_definition(&rows, &q, &w, 0.0, &g);
    let e = per.iter().sum::<f64>() / 6.0;
    assert!(
        (loss[[]] as f64 - e).abs() <= 8.0 * f32::EPSILON as f64 * 2e4,
        "{} vs {e}",
        loss[[]]
    );
}

/// A row whose log-probability gradient is all in one class (weights zero elsewhere),
/// where that class's probability rounds to 1: the score's gradient is `d - 1 * d`,
/// exactly 0, as libtorch's (torch 2.13, float32: `grad(lambda x: F.cross_entropy(x,
/// T, weight=W, label_smoothing=0.9, reduction='sum'), X)` with X = [[0, -200, -200,
/// -200]], W = [0.787, 0, 0, 0] -> [[0, 0, 0, 0]] for T = [0] and for T =
/// zeros(1, 4)). The sum the backward subtracts is the sum of the very gradients it is
/// subtracted from (formed from sum(w) instead it was off by an ulp, and an input of
/// 512 behind the scores made that 1.5e-5 in linear_cross_entropy's weight gradient).
#[test]
fn a_gradient_in_one_class_with_probability_one_is_exactly_zero() {
    let x = array![[0.0f32, -200.0, -200.0, -200.0]].into_dyn();
    let w = array![0.78685963f32, 0.0, 0.0, 0.0];
    let opts = CrossEntropyOptions::default()
        .reduction(Reduction::Sum)
        .weight(w.view())
        .label_smoothing(0.9885452672404219);
    let g = arr0(1.7072365f32);
    let index = array![0i64].into_dyn();
    let probabilities = ArrayD::<f32>::zeros(IxDyn(&[1, 4]));
    for target in [
        Target::indices(index.view()),
        Target::Probabilities(probabilities.view()),
    ] {
        let (_, grad) = cross_entropy_with_grad(g.view(), x.view(), target, &opts).unwrap();
        assert_eq!(grad[[0, 0]], 0.0, "{grad}");
        assert!(grad.iter().all(|v| v.abs() < 1e-30), "{grad}");
    }
}
