//! Peak memory of `linear_cross_entropy` beyond its inputs and outputs, the Rust
//! losses (fused) against libtorch's `cross_entropy(linear(input, W, b), target)`, in
//! one process on the same inputs: input `(2048, 1024)`, `linear_weight (32000, 1024)`,
//! a bias, float32; forward, then forward+backward.
//!
//! Linux only: before each call the peak resident set (`VmHWM` of `/proc/self/status`)
//! is reset by writing `5` to `/proc/self/clear_refs`; the figure is the peak during
//! the call minus the resident set before it, minus the bytes of what the call returns.
//!
//!     cargo run --release --example lce_memory [-- THREADS]
//!
//! `THREADS` (default: all cores) is both sides' thread count.

use std::fs;

use lossparity::losses::{
    linear_cross_entropy, linear_cross_entropy_with_grad, LinearCrossEntropyOptions, Target,
};
use ndarray::{arr0, ArrayD, IxDyn};
use tch::{Reduction, Tensor};

const MB: f64 = 1e6;

/// `VmHWM` and `VmRSS` in bytes.
fn status() -> (u64, u64) {
    let text = fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux only)");
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Runs `f` and returns its result with the peak resident bytes it added beyond the
/// resident set before it and beyond the `output_bytes` of what it returns.
/// Also the call's wall time in seconds (one call: a rough figure beside criterion's).
fn extra_peak<T>(f: impl FnOnce() -> T, output_bytes: impl Fn(&T) -> u64) -> (T, f64, f64) {
    fs::write("/proc/self/clear_refs", "5").expect("cannot reset the peak RSS");
    let (_, before) = status();
    let start = std::time::Instant::now();
    let out = f();
    let seconds = start.elapsed().as_secs_f64();
    let (peak, _) = status();
    let extra = peak
        .saturating_sub(before)
        .saturating_sub(output_bytes(&out));
    (out, extra as f64 / MB, seconds)
}

fn main() {
    let threads: usize = std::env::args()
        .nth(1)
        .map(|t| t.parse().expect("THREADS must be a number"))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    tch::set_num_threads(threads as i32);

    let (n, i, v) = (2048usize, 1024usize, 32000usize);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = |scale: f32| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    };
    let mut make = |shape: &[usize], scale: f32| {
        let len: usize = shape.iter().product();
        ArrayD::from_shape_vec(IxDyn(shape), (0..len).map(|_| uniform(scale)).collect())
            .expect("shape")
    };
    let x = make(&[n, i], 1.7);
    let w = make(&[v, i], 1.0 / (i as f32).sqrt());
    let b = make(&[v], 1.0 / (i as f32).sqrt());
    let target = ArrayD::from_shape_vec(
        IxDyn(&[n]),
        (0..n).map(|r| ((r * 7919) % v) as i64).collect(),
    )
    .expect("target");
    let tensor = |a: &ArrayD<f32>| {
        let shape: Vec<i64> = a.shape().iter().map(|&d| d as i64).collect();
        Tensor::from_slice(a.as_slice().expect("contiguous")).reshape(shape.as_slice())
    };
    let (tx, tw, tb) = (tensor(&x), tensor(&w), tensor(&b));
    let ttarget = Tensor::from_slice(target.as_slice().expect("contiguous"));
    let options = LinearCrossEntropyOptions::default().linear_bias(b.view());
    let grads_bytes = ((n * i + v * i + v) * 4) as u64;

    println!("linear_cross_entropy, input ({n}, {i}), linear_weight ({v}, {i}), bias, f32, {threads} thread(s)");
    println!(
        "peak memory beyond inputs and outputs (MB; the (N, V) logits are {:.0} MB):",
        (n * v * 4) as f64 / MB
    );
    for grad in [false, true] {
        let ((rust_loss, _), rust_mb, rust_s) = extra_peak(
            || {
                pool.install(|| {
                    let t = Target::indices(target.view());
                    if grad {
                        let (loss, g) = linear_cross_entropy_with_grad(
                            arr0(1.0f32).view(),
                            x.view(),
                            w.view(),
                            t,
                            &options,
                        )
                        .expect("linear_cross_entropy_with_grad");
                        (loss, Some(g))
                    } else {
                        (
                            linear_cross_entropy(x.view(), w.view(), t, &options)
                                .expect("linear_cross_entropy"),
                            None,
                        )
                    }
                })
            },
            |(_, g)| if g.is_some() { grads_bytes } else { 0 },
        );
        let ((torch_loss, _), torch_mb, torch_s) = extra_peak(
            || {
                let leaves: Vec<Tensor> = [&tx, &tw, &tb]
                    .iter()
                    .map(|t| {
                        if grad {
                            t.detach().set_requires_grad(true)
                        } else {
                            t.shallow_clone()
                        }
                    })
                    .collect();
                let loss = leaves[0]
                    .linear(&leaves[1], Some(&leaves[2]))
                    .cross_entropy_loss(&ttarget, None::<Tensor>, Reduction::Mean, -100, 0.0);
                if grad {
                    loss.backward();
                    let grads: Vec<Tensor> = leaves.iter().map(|l| l.grad()).collect();
                    (loss.detach(), grads)
                } else {
                    (loss, Vec::new())
                }
            },
            |(_, g)| if g.is_empty() { 0 } else { grads_bytes },
        );
        let torch_loss = torch_loss.double_value(&[]);
        let rust_loss = f64::from(rust_loss.sum());
        assert!(
            (rust_loss - torch_loss).abs() <= 1e-4 * torch_loss.abs(),
            "losses differ: Rust {rust_loss}, libtorch {torch_loss}"
        );
        println!(
            "  {:<16} Rust {rust_mb:8.1} MB {rust_s:6.2} s   libtorch {torch_mb:8.1} MB {torch_s:6.2} s   memory ratio {:.3} (loss {rust_loss:.6} / {torch_loss:.6})",
            if grad { "forward+backward" } else { "forward" },
            rust_mb / torch_mb.max(f64::MIN_POSITIVE),
        );
    }
}
