//! The fast paths on inputs big enough to run in parallel: results are bit-identical
//! for every thread count, and agree with libtorch under the tolerance policy.
#![cfg(feature = "torch")]

use lossparity::backend::{Backend, RustBackend, TorchBackend};
use lossparity::case::{Case, DType, Op, TensorData};
use lossparity::compare::{compare, Mode};
use lossparity::losses::Reduction;

fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0) * scale
        })
        .map(|v| v as f32 as f64)
        .collect()
}

fn big_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (shape, dtype) in [
        (vec![64usize, 1000], DType::Float32),
        (vec![40, 1000], DType::Float64),
        (vec![2, 21, 32, 32], DType::Float32),
        (vec![3, 7, 40, 50], DType::Float64),
        // 40,960 positions: nll_loss's parallel gather of a spatial input.
        (vec![2, 3, 128, 160], DType::Float32),
    ] {
        let n: usize = shape.iter().product();
        let classes = shape[1];
        let target_shape: Vec<usize> = std::iter::once(shape[0])
            .chain(shape[2..].iter().copied())
            .collect();
        let positions: usize = target_shape.iter().product();
        let targets: Vec<i64> = (0..positions)
            .map(|i| {
                if i % 11 == 0 {
                    -100
                } else {
                    ((i * 7919) % classes) as i64
                }
            })
            .collect();
        for op in [
            Op::LOG_SOFTMAX,
            Op::SOFTMAX,
            Op::NLL_LOSS,
            Op::CROSS_ENTROPY,
        ] {
            for (reduction, smoothing) in [
                (Reduction::Mean, 0.0),
                (Reduction::None, 0.0),
                (Reduction::Sum, 0.2),
            ] {
                let mut case = Case::new(
                    op,
                    TensorData::float(dtype, shape.clone(), values(n, n as u64, 12.0)),
                );
                case.grad = true;
                if op.is_loss() {
                    case.set_tensor(
                        "target",
                        Some(TensorData::int(
                            DType::Int64,
                            target_shape.clone(),
                            targets.clone(),
                        )),
                    );
                    case.set_arg("reduction", reduction);
                    if op == Op::CROSS_ENTROPY {
                        case.set_arg("label_smoothing", smoothing);
                    }
                    if reduction == Reduction::None {
                        case.grad_output = Some(TensorData::float(
                            dtype,
                            target_shape.clone(),
                            values(positions, 3, 1.0),
                        ));
                    }
                } else {
                    case.set_arg("dim", 1);
                }
                cases.push(case);
            }
        }
    }
    cases
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

#[test]
fn parallel_results_do_not_depend_on_the_thread_count_and_match_libtorch() {
    let rust = RustBackend::default();
    for case in big_cases() {
        let one = in_pool(1, || rust.evaluate(&case));
        let many = in_pool(4, || rust.evaluate(&case));
        if let Err(d) = compare(&one, &many, Mode::Exact) {
            panic!(
                "1 vs 4 threads differ on {} {:?}: {d}",
                case.op.name(),
                &case.input().shape
            );
        }
        assert!(one.result.is_ok(), "{:?}", one.result);
        let mode = case.op.spec().mode;
        if let Err(d) = compare(&TorchBackend.evaluate(&case), &one, mode) {
            panic!(
                "libtorch differs on {} {:?} {:?}: {d}",
                case.op.name(),
                &case.input().shape,
                case.reduction()
            );
        }
    }
}
