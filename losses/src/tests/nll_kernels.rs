// The gathered, lane-wise nll_loss kernels and their parallel paths against the plain
// serial loops libtorch runs (and this crate ran before), bit for bit.

use ndarray::{Array1, ArrayD, IxDyn, arr0, array};

use super::*;

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
                        if ignored { -100 } else { next(c as u64) as i64 }
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
