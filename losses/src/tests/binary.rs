// binary_cross_entropy, binary_cross_entropy_with_logits, soft_margin_loss and
// multilabel_soft_margin_loss, forward and gradients.

use ndarray::{arr0, ArrayD, IxDyn};

use super::*;

/// Forward and forward+backward timings on the benchmark shapes, f32, 1 and 2 threads
/// (run with `cargo test -p lossparity-losses --release binary_timings -- --ignored
/// --nocapture`; asserts nothing).
#[test]
#[ignore]
fn binary_timings() {
    use std::time::Instant;
    fn best(reps: usize, mut f: impl FnMut()) -> f64 {
        f();
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        }
        best * 1e6
    }
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            for (rows, cols) in [(64usize, 10usize), (256, 1000)] {
                let n = rows * cols;
                let reps = if n < 10_000 { 2000 } else { 50 };
                let x: Vec<f32> = (0..n).map(|i| ((i * 7919 % 1000) as f32 / 125.0) - 4.0).collect();
                let x = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), x).unwrap();
                let p = x.mapv(|v| 1.0 / (1.0 + (-v).exp()));
                let t = ArrayD::from_shape_vec(IxDyn(&[rows, cols]), (0..n).map(|i| ((i * 31 % 7) % 2) as f32).collect()).unwrap();
                let y = t.mapv(|v| 2.0 * v - 1.0);
                let g = arr0(1.0f32).into_dyn();
                let bo = BinaryCrossEntropyOptions::default();
                let lo = BceWithLogitsOptions::default();
                let so = SoftMarginOptions::default();
                let mo = MultilabelSoftMarginOptions::default();
                let po = PointwiseOptions::default();
                let r = [
                    ("mse (reference)", best(reps, || { mse_loss(x.view(), t.view(), &po).unwrap(); }), 0.0),
                    ("bce", best(reps, || { binary_cross_entropy(p.view(), t.view(), &bo).unwrap(); }),
                     best(reps, || { binary_cross_entropy(p.view(), t.view(), &bo).unwrap(); binary_cross_entropy_backward(g.view(), p.view(), t.view(), &bo).unwrap(); })),
                    ("bce_logits", best(reps, || { binary_cross_entropy_with_logits(x.view(), t.view(), &lo).unwrap(); }),
                     best(reps, || { binary_cross_entropy_with_logits(x.view(), t.view(), &lo).unwrap(); binary_cross_entropy_with_logits_backward(g.view(), x.view(), t.view(), &lo).unwrap(); })),
                    ("soft_margin", best(reps, || { soft_margin_loss(x.view(), y.view(), &so).unwrap(); }),
                     best(reps, || { soft_margin_loss(x.view(), y.view(), &so).unwrap(); soft_margin_loss_backward(g.view(), x.view(), y.view(), &so).unwrap(); })),
                    ("multilabel", best(reps, || { multilabel_soft_margin_loss(x.view(), t.view(), &mo).unwrap(); }),
                     best(reps, || { multilabel_soft_margin_loss(x.view(), t.view(), &mo).unwrap(); multilabel_soft_margin_loss_backward(g.view(), x.view(), t.view(), &mo).unwrap(); })),
                ];
                for (name, f, fb) in r {
                    println!("threads={threads} ({rows}, {cols}) {name}: fwd {f:.1} us, fwd+bwd {fb:.1} us");
                }
            }
        });
    }
}
