//! The Rust losses and libtorch side by side, on the same inputs.
//!
//! Benchmark ids are `{op}/{dtype}/{threads}` (group), `rust` / `libtorch` (function)
//! and the shape, e.g. `4096x32000` (parameter), so `scripts/bench_table.py` can pair
//! them. Throughput is the input's number of elements.
//!
//! Environment:
//! - `LOSSPARITY_BENCH_THREADS=1|all`: run only that thread mode (default: both, in
//!   this process). "1" is a one-thread rayon pool for Rust and
//!   `tch::set_num_threads(1)` for libtorch; "all" is one thread per core for both.
//! - `LOSSPARITY_BENCH_ONLY=linear_cross_entropy`: only `linear_cross_entropy` (input
//!   `(2048, 1024)`, weight `(32000, 1024)`, f32), forward and forward+backward.
//! - `LOSSPARITY_BENCH_ONLY=cross_entropy_options`: only `cross_entropy`'s options matrix
//!   (`benches/ce_options`: plain, weight, ignore_index, label smoothing, all three, and
//!   probability targets, on `(N, C)` and K-dimensional float32 shapes).
//! - `LOSSPARITY_BENCH_ONLY=margin`: only the margin, embedding and sequence losses
//!   (`benches/margin_losses`: the five margin losses, the two triplet losses and
//!   `ctc_loss`).
//! - `LOSSPARITY_BENCH_ONLY=op_options`: only the options matrix of the main bench's
//!   losses with options, but `cross_entropy` (`benches/op_options`: each op's defaults,
//!   then one row per option, e.g. `nll_loss`'s weight and ignore_index, `pos_weight`,
//!   `kl_div`'s `batchmean` and `log_target`, the per-element weights of `mse_loss`,
//!   `l1_loss` and `huber_loss`, `beta`, `delta`, `full`; float32, `(256, 1000)` and
//!   `(8, 21, 128, 128)`, about 35 minutes on 2 cores; no margin losses).
//! - `LOSSPARITY_BENCH_QUICK=1`: only the small shapes (64x10, 256x1000), with shorter
//!   warm-up and measurement times.
//!
//! Before anything is timed, every (op, dtype, shape) is computed once by both sides and
//! compared; a mismatch panics, so a wrong answer is never benchmarked.
//!
//! Run it with `scripts/bench.sh` (or `cargo bench --bench losses`).

mod ce_options;
mod margin_losses;
mod op_options;

use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use lossparity::losses::{
    binary_cross_entropy, binary_cross_entropy_backward, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_backward, cross_entropy, cross_entropy_with_grad,
    gaussian_nll_loss, gaussian_nll_loss_backward, huber_loss, huber_loss_backward, kl_div,
    kl_div_backward, l1_loss, l1_loss_backward, linear_cross_entropy,
    linear_cross_entropy_with_grad, log_softmax, mse_loss, mse_loss_backward,
    multilabel_soft_margin_loss, multilabel_soft_margin_loss_backward, nll_loss, nll_loss_backward,
    poisson_nll_loss, poisson_nll_loss_backward, smooth_l1_loss, smooth_l1_loss_backward,
    soft_margin_loss, soft_margin_loss_backward, BceWithLogitsOptions, BinaryCrossEntropyOptions,
    CrossEntropyOptions, Float, GaussianNllOptions, HuberOptions, KlDivOptions,
    LinearCrossEntropyOptions, MultilabelSoftMarginOptions, NllLossOptions, PointwiseOptions,
    PoissonNllOptions, SmoothL1Options, SoftMarginOptions, Target, Variance,
};
use ndarray::{arr0, ArrayD, IxDyn};
use tch::{Kind, Reduction, Tensor};

/// Relative tolerance of the sanity check (see [`assert_agree`]).
const RTOL: f64 = 1e-4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    LogSoftmax,
    NllLoss,
    NllLossFwdBwd,
    CrossEntropy,
    CrossEntropyFwdBwd,
    MseLoss,
    MseLossFwdBwd,
    L1Loss,
    L1LossFwdBwd,
    SmoothL1Loss,
    SmoothL1LossFwdBwd,
    HuberLoss,
    HuberLossFwdBwd,
    BinaryCrossEntropy,
    BinaryCrossEntropyFwdBwd,
    BceWithLogits,
    BceWithLogitsFwdBwd,
    SoftMarginLoss,
    SoftMarginLossFwdBwd,
    MultilabelSoftMarginLoss,
    MultilabelSoftMarginLossFwdBwd,
    KlDiv,
    KlDivFwdBwd,
    PoissonNllLoss,
    PoissonNllLossFwdBwd,
    GaussianNllLoss,
    GaussianNllLossFwdBwd,
}

impl Op {
    const ALL: [Op; 27] = [
        Op::LogSoftmax,
        Op::NllLoss,
        Op::NllLossFwdBwd,
        Op::CrossEntropy,
        Op::CrossEntropyFwdBwd,
        Op::MseLoss,
        Op::MseLossFwdBwd,
        Op::L1Loss,
        Op::L1LossFwdBwd,
        Op::SmoothL1Loss,
        Op::SmoothL1LossFwdBwd,
        Op::HuberLoss,
        Op::HuberLossFwdBwd,
        Op::BinaryCrossEntropy,
        Op::BinaryCrossEntropyFwdBwd,
        Op::BceWithLogits,
        Op::BceWithLogitsFwdBwd,
        Op::SoftMarginLoss,
        Op::SoftMarginLossFwdBwd,
        Op::MultilabelSoftMarginLoss,
        Op::MultilabelSoftMarginLossFwdBwd,
        Op::KlDiv,
        Op::KlDivFwdBwd,
        Op::PoissonNllLoss,
        Op::PoissonNllLossFwdBwd,
        Op::GaussianNllLoss,
        Op::GaussianNllLossFwdBwd,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::LogSoftmax => "log_softmax",
            Op::NllLoss => "nll_loss",
            Op::NllLossFwdBwd => "nll_loss_fwd_bwd",
            Op::CrossEntropy => "cross_entropy",
            Op::CrossEntropyFwdBwd => "cross_entropy_fwd_bwd",
            Op::MseLoss => "mse_loss",
            Op::MseLossFwdBwd => "mse_loss_fwd_bwd",
            Op::L1Loss => "l1_loss",
            Op::L1LossFwdBwd => "l1_loss_fwd_bwd",
            Op::SmoothL1Loss => "smooth_l1_loss",
            Op::SmoothL1LossFwdBwd => "smooth_l1_loss_fwd_bwd",
            Op::HuberLoss => "huber_loss",
            Op::HuberLossFwdBwd => "huber_loss_fwd_bwd",
            Op::BinaryCrossEntropy => "binary_cross_entropy",
            Op::BinaryCrossEntropyFwdBwd => "binary_cross_entropy_fwd_bwd",
            Op::BceWithLogits => "binary_cross_entropy_with_logits",
            Op::BceWithLogitsFwdBwd => "binary_cross_entropy_with_logits_fwd_bwd",
            Op::SoftMarginLoss => "soft_margin_loss",
            Op::SoftMarginLossFwdBwd => "soft_margin_loss_fwd_bwd",
            Op::MultilabelSoftMarginLoss => "multilabel_soft_margin_loss",
            Op::MultilabelSoftMarginLossFwdBwd => "multilabel_soft_margin_loss_fwd_bwd",
            Op::KlDiv => "kl_div",
            Op::KlDivFwdBwd => "kl_div_fwd_bwd",
            Op::PoissonNllLoss => "poisson_nll_loss",
            Op::PoissonNllLossFwdBwd => "poisson_nll_loss_fwd_bwd",
            Op::GaussianNllLoss => "gaussian_nll_loss",
            Op::GaussianNllLossFwdBwd => "gaussian_nll_loss_fwd_bwd",
        }
    }

    /// The element-wise losses added after the first four ops take the extra inputs
    /// (probabilities, signs, variances), which the largest shape does not build: 131M
    /// elements times five more tensors on both sides.
    fn needs_extra(self) -> bool {
        !matches!(
            self,
            Op::LogSoftmax
                | Op::NllLoss
                | Op::NllLossFwdBwd
                | Op::CrossEntropy
                | Op::CrossEntropyFwdBwd
                | Op::MseLoss
                | Op::MseLossFwdBwd
                | Op::L1Loss
                | Op::L1LossFwdBwd
        )
    }
}

/// The shapes, smallest first. `(4096, 32000)` is float32 only (131M elements).
fn shapes(quick: bool, f64_dtype: bool) -> Vec<Vec<usize>> {
    let mut shapes = vec![vec![64, 10], vec![256, 1000]];
    if !quick {
        shapes.push(vec![8, 21, 128, 128]);
        if !f64_dtype {
            shapes.push(vec![4096, 32000]);
        }
    }
    shapes
}

fn shape_label(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

/// One thread mode: a rayon pool for the Rust calls, a thread count for libtorch.
struct ThreadMode {
    label: &'static str,
    threads: usize,
    pool: rayon::ThreadPool,
}

impl ThreadMode {
    fn new(label: &'static str, threads: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("bench-{label}-{i}"))
            .build()
            .expect("cannot build a rayon thread pool");
        ThreadMode {
            label,
            threads,
            pool,
        }
    }
}

fn thread_modes() -> Vec<ThreadMode> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = std::env::var("LOSSPARITY_BENCH_THREADS").unwrap_or_default();
    let mut modes = Vec::new();
    match wanted.as_str() {
        "1" => modes.push(ThreadMode::new("1-thread", 1)),
        "all" => modes.push(ThreadMode::new("all-threads", all)),
        "" => {
            modes.push(ThreadMode::new("1-thread", 1));
            modes.push(ThreadMode::new("all-threads", all));
        }
        other => panic!("LOSSPARITY_BENCH_THREADS must be 1 or all, not {other:?}"),
    }
    modes
}

/// SplitMix64: deterministic inputs without a `rand` dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    fn below(&mut self, n: usize) -> i64 {
        (self.next_u64() % n as u64) as i64
    }
}

/// An element type on both sides.
trait Elem: Float + tch::kind::Element + Copy {
    const LABEL: &'static str;
}

impl Elem for f32 {
    const LABEL: &'static str = "f32";
}

impl Elem for f64 {
    const LABEL: &'static str = "f64";
}

/// One input shape, made once and shared by every op and thread mode.
struct Inputs<F: Elem> {
    shape: Vec<usize>,
    rust: RustInputs<F>,
    torch: TorchInputs,
}

/// The Rust side's arrays (`Sync`, so the timing loop can run in a rayon pool).
struct RustInputs<F> {
    /// Logits, shape `(N, C, ...)`.
    x: ArrayD<F>,
    /// `log_softmax(x, 1)` (computed by the Rust side): the input of `nll_loss`.
    logp: ArrayD<F>,
    /// Class indices, shape `(N, ...)`.
    target: ArrayD<i64>,
    /// The element-wise losses' other inputs, except on the largest shape.
    extra: Option<RustExtra<F>>,
}

/// Inputs of the binary, divergence and probabilistic losses, all of the logits' shape.
struct RustExtra<F> {
    /// `sigmoid(x)`, in (0, 1): binary_cross_entropy's input.
    p: ArrayD<F>,
    /// `exp(logp)`, in [0, 1]: the probability target (and kl_div's, Poisson's target).
    prob: ArrayD<F>,
    /// -1 or 1: soft_margin_loss's target.
    sign: ArrayD<F>,
    /// `prob + 0.5`: gaussian_nll_loss's variance.
    var: ArrayD<F>,
}

/// [`RustExtra`] as libtorch tensors.
struct TorchExtra {
    p: Tensor,
    p_grad: Tensor,
    prob: Tensor,
    sign: Tensor,
    var: Tensor,
}

/// The same values as libtorch tensors.
struct TorchInputs {
    x: Tensor,
    /// `x` as a leaf that requires grad (shares the data).
    x_grad: Tensor,
    logp: Tensor,
    /// `logp` as a leaf that requires grad (shares the data).
    logp_grad: Tensor,
    target: Tensor,
    extra: Option<TorchExtra>,
}

impl<F: Elem> Inputs<F> {
    fn new(shape: &[usize], seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let numel: usize = shape.iter().product();
        let classes = shape[1];
        let x: Vec<F> = (0..numel)
            .map(|_| F::of_f64(rng.uniform(-4.0, 4.0)))
            .collect();
        let x = ArrayD::from_shape_vec(IxDyn(shape), x).expect("input shape");
        let target_shape: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 1)
            .map(|(_, &d)| d)
            .collect();
        let target: Vec<i64> = (0..target_shape.iter().product::<usize>())
            .map(|_| rng.below(classes))
            .collect();
        let target = ArrayD::from_shape_vec(IxDyn(&target_shape), target).expect("target shape");
        let logp = log_softmax(x.view(), 1).expect("Rust log_softmax");
        let extra = (numel <= 1 << 24).then(|| {
            let p = x.mapv(|v| F::of_f64(1.0 / (1.0 + (-v.to_f64_exact()).exp())));
            let prob = logp.mapv(|v| F::of_f64(v.to_f64_exact().exp()));
            let sign = x.mapv(|_| F::of_f64(if rng.below(2) == 0 { -1.0 } else { 1.0 }));
            let var = prob.mapv(|v| F::of_f64(v.to_f64_exact() + 0.5));
            RustExtra { p, prob, sign, var }
        });
        let torch_extra = extra.as_ref().map(|e| {
            let p = to_tensor(&e.p);
            TorchExtra {
                p_grad: p.detach().set_requires_grad(true),
                p,
                prob: to_tensor(&e.prob),
                sign: to_tensor(&e.sign),
                var: to_tensor(&e.var),
            }
        });

        let tx = to_tensor(&x);
        let tlogp = to_tensor(&logp);
        // detach(): a new leaf sharing the data, so the forward-only tensors record no graph.
        let torch = TorchInputs {
            x_grad: tx.detach().set_requires_grad(true),
            logp_grad: tlogp.detach().set_requires_grad(true),
            x: tx,
            logp: tlogp,
            target: to_tensor(&target),
            extra: torch_extra,
        };
        Inputs {
            shape: shape.to_vec(),
            rust: RustInputs {
                x,
                logp,
                target,
                extra,
            },
            torch,
        }
    }

    fn numel(&self) -> u64 {
        self.rust.x.len() as u64
    }

    fn label(&self) -> String {
        shape_label(&self.shape)
    }
}

fn to_tensor<T: tch::kind::Element + Copy>(a: &ArrayD<T>) -> Tensor {
    let shape: Vec<i64> = a.shape().iter().map(|&d| d as i64).collect();
    let flat = a.as_standard_layout();
    let flat = flat.as_slice().expect("standard layout");
    Tensor::from_slice(flat).reshape(shape.as_slice())
}

/// What the Rust side returns: the output and, for fwd+bwd, the input's gradient.
type RustResult<F> = (ArrayD<F>, Option<ArrayD<F>>);

/// One Rust call. Only the public API of `lossparity::losses`.
fn run_rust<F: Elem>(op: Op, inp: &RustInputs<F>) -> RustResult<F> {
    let target = Target::indices(inp.target.view());
    let one = arr0(F::one());
    match op {
        Op::LogSoftmax => (log_softmax(inp.x.view(), 1).expect("log_softmax"), None),
        Op::NllLoss => (
            nll_loss(inp.logp.view(), target, &NllLossOptions::default()).expect("nll_loss"),
            None,
        ),
        Op::NllLossFwdBwd => {
            let options = NllLossOptions::default();
            let loss = nll_loss(inp.logp.view(), target.clone(), &options).expect("nll_loss");
            let grad = nll_loss_backward(one.view(), inp.logp.view(), target, &options)
                .expect("nll_loss_backward");
            (loss, Some(grad))
        }
        Op::CrossEntropy => (
            cross_entropy(inp.x.view(), target, &CrossEntropyOptions::default())
                .expect("cross_entropy"),
            None,
        ),
        Op::CrossEntropyFwdBwd => {
            let (loss, grad) = cross_entropy_with_grad(
                one.view(),
                inp.x.view(),
                target,
                &CrossEntropyOptions::default(),
            )
            .expect("cross_entropy_with_grad");
            (loss, Some(grad))
        }
        // The element-wise losses compare the logits with `logp`, a target of their shape.
        Op::MseLoss => (
            mse_loss(inp.x.view(), inp.logp.view(), &PointwiseOptions::default())
                .expect("mse_loss"),
            None,
        ),
        Op::MseLossFwdBwd => {
            let options = PointwiseOptions::default();
            let loss = mse_loss(inp.x.view(), inp.logp.view(), &options).expect("mse_loss");
            let grads = mse_loss_backward(one.view(), inp.x.view(), inp.logp.view(), &options)
                .expect("mse_loss_backward");
            (loss, Some(grads))
        }
        Op::L1Loss => (
            l1_loss(inp.x.view(), inp.logp.view(), &PointwiseOptions::default()).expect("l1_loss"),
            None,
        ),
        Op::L1LossFwdBwd => {
            let options = PointwiseOptions::default();
            let loss = l1_loss(inp.x.view(), inp.logp.view(), &options).expect("l1_loss");
            let grads = l1_loss_backward(one.view(), inp.x.view(), inp.logp.view(), &options)
                .expect("l1_loss_backward");
            (loss, Some(grads))
        }
        _ => run_rust_elementwise(op, inp),
    }
}

/// Forward, or forward and the input's gradient, of the losses that take
/// [`RustExtra`]. Each pairs an input with a target of its own shape, as a user calls it.
fn run_rust_elementwise<F: Elem>(op: Op, inp: &RustInputs<F>) -> RustResult<F> {
    let e = inp.extra.as_ref().expect("the extra inputs of this shape");
    let one = arr0(F::one());
    let (x, logp, p, prob, sign) = (&inp.x, &inp.logp, &e.p, &e.prob, &e.sign);
    // (forward, backward) of one loss with its default options.
    macro_rules! loss {
        ($fwd:ident, $bwd:ident, $opts:expr, $input:expr, $target:expr) => {{
            let options = $opts;
            let loss = $fwd($input.view(), $target.view(), &options).expect(stringify!($fwd));
            let grad = op.name().ends_with("_fwd_bwd").then(|| {
                $bwd(one.view(), $input.view(), $target.view(), &options).expect(stringify!($bwd))
            });
            (loss, grad)
        }};
    }
    match op {
        Op::SmoothL1Loss | Op::SmoothL1LossFwdBwd => loss!(
            smooth_l1_loss,
            smooth_l1_loss_backward,
            SmoothL1Options::default(),
            x,
            logp
        ),
        Op::HuberLoss | Op::HuberLossFwdBwd => loss!(
            huber_loss,
            huber_loss_backward,
            HuberOptions::default(),
            x,
            logp
        ),
        Op::BinaryCrossEntropy | Op::BinaryCrossEntropyFwdBwd => loss!(
            binary_cross_entropy,
            binary_cross_entropy_backward,
            BinaryCrossEntropyOptions::default(),
            p,
            prob
        ),
        Op::BceWithLogits | Op::BceWithLogitsFwdBwd => loss!(
            binary_cross_entropy_with_logits,
            binary_cross_entropy_with_logits_backward,
            BceWithLogitsOptions::default(),
            x,
            prob
        ),
        Op::SoftMarginLoss | Op::SoftMarginLossFwdBwd => loss!(
            soft_margin_loss,
            soft_margin_loss_backward,
            SoftMarginOptions::default(),
            x,
            sign
        ),
        Op::MultilabelSoftMarginLoss | Op::MultilabelSoftMarginLossFwdBwd => loss!(
            multilabel_soft_margin_loss,
            multilabel_soft_margin_loss_backward,
            MultilabelSoftMarginOptions::default(),
            x,
            prob
        ),
        Op::KlDiv | Op::KlDivFwdBwd => {
            loss!(kl_div, kl_div_backward, KlDivOptions::default(), logp, prob)
        }
        Op::PoissonNllLoss | Op::PoissonNllLossFwdBwd => loss!(
            poisson_nll_loss,
            poisson_nll_loss_backward,
            PoissonNllOptions::default(),
            x,
            prob
        ),
        Op::GaussianNllLoss | Op::GaussianNllLossFwdBwd => {
            let options = GaussianNllOptions::default();
            let var = || Variance::Tensor(e.var.view());
            let loss = gaussian_nll_loss(x.view(), logp.view(), var(), &options)
                .expect("gaussian_nll_loss");
            let grad = (op == Op::GaussianNllLossFwdBwd).then(|| {
                gaussian_nll_loss_backward(one.view(), x.view(), logp.view(), var(), &options)
                    .expect("gaussian_nll_loss_backward")
            });
            (loss, grad)
        }
        _ => unreachable!("{} has its own arm in run_rust", op.name()),
    }
}

/// The same call in libtorch; gradients fresh each call (`torch.autograd.grad`).
fn run_torch(op: Op, inp: &TorchInputs) -> (Tensor, Option<Tensor>) {
    let none = None::<Tensor>;
    let grad_of = |loss: Tensor, leaf: &Tensor| {
        let mut grads = Tensor::run_backward(&[&loss], &[leaf], false, false);
        (loss, Some(grads.remove(0)))
    };
    match op {
        Op::LogSoftmax => (inp.x.log_softmax(1, None::<Kind>), None),
        Op::NllLoss => (
            inp.logp
                .nll_loss_nd(&inp.target, none, Reduction::Mean, -100),
            None,
        ),
        Op::NllLossFwdBwd => grad_of(
            inp.logp_grad
                .nll_loss_nd(&inp.target, none, Reduction::Mean, -100),
            &inp.logp_grad,
        ),
        Op::CrossEntropy => (
            inp.x
                .cross_entropy_loss(&inp.target, none, Reduction::Mean, -100, 0.0),
            None,
        ),
        Op::CrossEntropyFwdBwd => grad_of(
            inp.x_grad
                .cross_entropy_loss(&inp.target, none, Reduction::Mean, -100, 0.0),
            &inp.x_grad,
        ),
        Op::MseLoss => (inp.x.mse_loss(&inp.logp, Reduction::Mean), None),
        Op::MseLossFwdBwd => grad_of(inp.x_grad.mse_loss(&inp.logp, Reduction::Mean), &inp.x_grad),
        Op::L1Loss => (inp.x.l1_loss(&inp.logp, Reduction::Mean), None),
        Op::L1LossFwdBwd => grad_of(inp.x_grad.l1_loss(&inp.logp, Reduction::Mean), &inp.x_grad),
        _ => run_torch_elementwise(op, inp),
    }
}

/// libtorch's side of [`run_rust_elementwise`]. The losses that PyTorch writes in Python
/// (`multilabel_soft_margin_loss`, `gaussian_nll_loss`) are its aten ops in
/// `torch/nn/functional.py`'s order, the variance check included.
fn run_torch_elementwise(op: Op, inp: &TorchInputs) -> (Tensor, Option<Tensor>) {
    let e = inp.extra.as_ref().expect("the extra inputs of this shape");
    let backward = op.name().ends_with("_fwd_bwd");
    let run = |leaf: &Tensor, plain: &Tensor, f: &dyn Fn(&Tensor) -> Tensor| {
        if backward {
            let loss = f(leaf);
            let mut grads = Tensor::run_backward(&[&loss], &[leaf], false, false);
            (loss, Some(grads.remove(0)))
        } else {
            (f(plain), None)
        }
    };
    let mean = Reduction::Mean;
    match op {
        Op::SmoothL1Loss | Op::SmoothL1LossFwdBwd => run(&inp.x_grad, &inp.x, &|x| {
            x.smooth_l1_loss(&inp.logp, mean, 1.0)
        }),
        Op::HuberLoss | Op::HuberLossFwdBwd => {
            run(&inp.x_grad, &inp.x, &|x| x.huber_loss(&inp.logp, mean, 1.0))
        }
        Op::BinaryCrossEntropy | Op::BinaryCrossEntropyFwdBwd => run(&e.p_grad, &e.p, &|p| {
            p.binary_cross_entropy(&e.prob, None::<Tensor>, mean)
        }),
        Op::BceWithLogits | Op::BceWithLogitsFwdBwd => run(&inp.x_grad, &inp.x, &|x| {
            x.binary_cross_entropy_with_logits(&e.prob, None::<Tensor>, None::<Tensor>, mean)
        }),
        Op::SoftMarginLoss | Op::SoftMarginLossFwdBwd => {
            run(&inp.x_grad, &inp.x, &|x| x.soft_margin_loss(&e.sign, mean))
        }
        Op::MultilabelSoftMarginLoss | Op::MultilabelSoftMarginLossFwdBwd => {
            run(&inp.x_grad, &inp.x, &|x| {
                let t = &e.prob;
                let loss = -(t * x.log_sigmoid() + (-t + 1.0) * (-x).log_sigmoid());
                let class_dim = x.dim() as i64 - 1;
                let classes = x.size()[class_dim as usize];
                (loss.sum_dim_intlist(class_dim, false, None::<Kind>) / classes).mean(None::<Kind>)
            })
        }
        Op::KlDiv | Op::KlDivFwdBwd => run(&inp.logp_grad, &inp.logp, &|l| {
            l.kl_div(&e.prob, mean, false)
        }),
        Op::PoissonNllLoss | Op::PoissonNllLossFwdBwd => run(&inp.x_grad, &inp.x, &|x| {
            x.poisson_nll_loss(&e.prob, true, false, 1e-8, mean)
        }),
        Op::GaussianNllLoss | Op::GaussianNllLossFwdBwd => run(&inp.x_grad, &inp.x, &|x| {
            // Python: the sign check (a host sync), then a copy clamped under no_grad.
            assert!(!bool::try_from(e.var.lt(0.0).any()).expect("var check"));
            let var = e.var.copy();
            tch::no_grad(|| {
                let _ = var.shallow_clone().clamp_min_(1e-6);
            });
            ((var.log() + (x - &inp.logp).square() / &var) * 0.5).mean(None::<Kind>)
        }),
        _ => unreachable!("{} has its own arm in run_torch", op.name()),
    }
}

/// Panics unless `|rust - torch| <= RTOL * |torch| + RTOL * 0.1 * max|torch|` everywhere
/// (the second term keeps near-zero elements of a large-valued tensor from failing on
/// rounding alone), and the shapes agree.
fn assert_agree<F: Elem>(what: &str, rust: &ArrayD<F>, torch: &Tensor) {
    let torch_shape: Vec<usize> = torch.size().iter().map(|&d| d as usize).collect();
    assert_eq!(
        rust.shape(),
        torch_shape.as_slice(),
        "{what}: Rust and libtorch results have different shapes"
    );
    let torch_values =
        Vec::<F>::try_from(&torch.detach().reshape([-1])).expect("libtorch result as a Vec");
    let scale = torch_values
        .iter()
        .map(|v| v.to_f64_exact().abs())
        .fold(0.0, f64::max);
    let mut worst: Option<(usize, f64, f64, f64)> = None; // (index, rust, torch, excess)
    for (i, (r, t)) in rust.iter().zip(&torch_values).enumerate() {
        let (r, t) = (r.to_f64_exact(), t.to_f64_exact());
        let allowed = RTOL * t.abs() + RTOL * 0.1 * scale;
        let diff = (r - t).abs();
        if diff.is_nan() || diff > allowed {
            let excess = if diff.is_nan() {
                f64::INFINITY
            } else {
                diff / allowed.max(f64::MIN_POSITIVE)
            };
            if worst.is_none_or(|w| excess > w.3) {
                worst = Some((i, r, t, excess));
            }
        }
    }
    if let Some((i, r, t, _)) = worst {
        panic!(
            "sanity check failed for {what}: Rust and libtorch disagree beyond relative \
             {RTOL:e}; worst at flat index {i}: Rust {r:e}, libtorch {t:e} (|diff| {:e}); \
             refusing to benchmark a wrong answer",
            (r - t).abs()
        );
    }
}

/// Computes `op` once on both sides and compares output (and gradient).
fn sanity_check<F: Elem>(op: Op, inp: &Inputs<F>) {
    let what = format!("{} {} {}", op.name(), F::LABEL, inp.label());
    let (rust_out, rust_grad) = run_rust(op, &inp.rust);
    let (torch_out, torch_grad) = run_torch(op, &inp.torch);
    assert_agree(&format!("{what} (output)"), &rust_out, &torch_out);
    match (rust_grad, torch_grad) {
        (Some(r), Some(t)) => assert_agree(&format!("{what} (gradient)"), &r, &t),
        (None, None) => {}
        _ => panic!("{what}: only one side computed a gradient"),
    }
}

/// Warm-up, measurement time and sampling mode by size.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, numel: u64, quick: bool) {
    let (warm_up, measure, flat) = if quick {
        (0.5, 1.0, false)
    } else if numel <= 1 << 20 {
        (1.0, 2.0, false)
    } else if numel <= 1 << 24 {
        (1.0, 3.0, false)
    } else {
        // Seconds per iteration: ten plain samples, not criterion's 1+2+..+10 ramp.
        (1.0, 3.0, true)
    };
    group.warm_up_time(Duration::from_secs_f64(warm_up));
    group.measurement_time(Duration::from_secs_f64(measure));
    group.sampling_mode(if flat {
        SamplingMode::Flat
    } else {
        SamplingMode::Auto
    });
    group.throughput(Throughput::Elements(numel));
}

fn bench_op<F: Elem>(
    c: &mut Criterion,
    op: Op,
    mode: &ThreadMode,
    inputs: &[Inputs<F>],
    quick: bool,
) {
    let mut group = c.benchmark_group(format!("{}/{}/{}", op.name(), F::LABEL, mode.label));
    group.sample_size(10);
    for inp in inputs {
        if op.needs_extra() && inp.rust.extra.is_none() {
            continue;
        }
        configure(&mut group, inp.numel(), quick);
        let label = inp.label();
        let (rust, torch) = (&inp.rust, &inp.torch);
        // The whole timing loop runs inside the pool, so a rayon call in the kernels
        // uses `mode.threads` threads and no per-call cross-thread hop is timed.
        group.bench_function(BenchmarkId::new("rust", &label), |b| {
            mode.pool.install(|| b.iter(|| run_rust(op, rust)))
        });
        tch::set_num_threads(mode.threads as i32);
        assert_eq!(
            tch::get_num_threads(),
            mode.threads as i32,
            "libtorch threads"
        );
        group.bench_function(BenchmarkId::new("libtorch", &label), |b| {
            b.iter(|| run_torch(op, torch))
        });
    }
    group.finish();
}

fn make_inputs<F: Elem>(quick: bool, seed: u64) -> Vec<Inputs<F>> {
    shapes(quick, F::LABEL == "f64")
        .iter()
        .enumerate()
        .map(|(i, shape)| {
            let start = Instant::now();
            let inp = Inputs::<F>::new(shape, seed + i as u64);
            for op in Op::ALL {
                if !op.needs_extra() || inp.rust.extra.is_some() {
                    sanity_check(op, &inp);
                }
            }
            eprintln!(
                "inputs {} {}: made and checked against libtorch in {:.1} s",
                F::LABEL,
                inp.label(),
                start.elapsed().as_secs_f64()
            );
            inp
        })
        .collect()
}

/// `linear_cross_entropy`'s benchmark shape, a language model's last layer: `input
/// (2048, 1024)`, `linear_weight (32000, 1024)`, a bias, float32 (the `(N, V)` logits
/// alone are 262 MB).
const LCE_SHAPE: (usize, usize, usize) = (2048, 1024, 32000);

/// Inputs of `linear_cross_entropy` on both sides.
struct LceInputs {
    x: ArrayD<f32>,
    w: ArrayD<f32>,
    b: ArrayD<f32>,
    target: ArrayD<i64>,
    tx: Tensor,
    tw: Tensor,
    tb: Tensor,
    ttarget: Tensor,
}

impl LceInputs {
    fn new(seed: u64) -> Self {
        let (n, i, v) = LCE_SHAPE;
        let mut rng = SplitMix64(seed);
        let mut make = |shape: &[usize], scale: f64| {
            let len = shape.iter().product();
            let values = (0..len)
                .map(|_| rng.uniform(-scale, scale) as f32)
                .collect();
            ArrayD::from_shape_vec(IxDyn(shape), values).expect("shape")
        };
        // Unit-variance features against weights of nn.Linear's initial scale.
        let x = make(&[n, i], 1.7);
        let w = make(&[v, i], 1.0 / (i as f64).sqrt());
        let b = make(&[v], 1.0 / (i as f64).sqrt());
        let target = (0..n).map(|_| rng.below(v)).collect();
        let target = ArrayD::from_shape_vec(IxDyn(&[n]), target).expect("target shape");
        LceInputs {
            tx: to_tensor(&x),
            tw: to_tensor(&w),
            tb: to_tensor(&b),
            ttarget: to_tensor(&target),
            x,
            w,
            b,
            target,
        }
    }

    fn label(&self) -> String {
        let (n, i, v) = LCE_SHAPE;
        format!("{n}x{i}x{v}")
    }

    /// The Rust side: the loss, and with `grad` the gradients of input, weight, bias.
    fn rust(&self, grad: bool) -> (ArrayD<f32>, Vec<ArrayD<f32>>) {
        lce_rust([&self.x, &self.w, &self.b], &self.target, grad)
    }

    /// libtorch's plain path, `cross_entropy(linear(input, W, b), target)`; with `grad`
    /// its `backward()` to fresh leaves of the three tensors.
    fn torch(&self, grad: bool) -> (Tensor, Vec<Tensor>) {
        let ce = |x: &Tensor, w: &Tensor, b: &Tensor| {
            x.linear(w, Some(b)).cross_entropy_loss(
                &self.ttarget,
                None::<Tensor>,
                Reduction::Mean,
                -100,
                0.0,
            )
        };
        if !grad {
            return (ce(&self.tx, &self.tw, &self.tb), Vec::new());
        }
        let leaves: Vec<Tensor> = [&self.tx, &self.tw, &self.tb]
            .iter()
            .map(|t| t.detach().set_requires_grad(true))
            .collect();
        let loss = ce(&leaves[0], &leaves[1], &leaves[2]);
        loss.backward();
        let grads = leaves.iter().map(|l| l.grad()).collect();
        (loss.detach(), grads)
    }

    fn sanity_check(&self) {
        for grad in [false, true] {
            let what = format!("linear_cross_entropy (grad: {grad}) {}", self.label());
            let (loss, grads) = self.rust(grad);
            let (tloss, tgrads) = self.torch(grad);
            assert_agree(&format!("{what} (output)"), &loss, &tloss);
            for (k, (r, t)) in grads.iter().zip(&tgrads).enumerate() {
                assert_agree(&format!("{what} (gradient {k})"), r, t);
            }
            assert_eq!(grads.len(), tgrads.len(), "{what}: gradient counts");
        }
    }
}

/// [`LceInputs::rust`] on the Rust arrays alone (the tensors beside them are not
/// `Sync`, and the Rust side runs inside a rayon pool).
fn lce_rust(
    [x, w, b]: [&ArrayD<f32>; 3],
    target: &ArrayD<i64>,
    grad: bool,
) -> (ArrayD<f32>, Vec<ArrayD<f32>>) {
    let options = LinearCrossEntropyOptions::default().linear_bias(b.view());
    let target = Target::indices(target.view());
    if !grad {
        let loss = linear_cross_entropy(x.view(), w.view(), target, &options)
            .expect("linear_cross_entropy");
        return (loss, Vec::new());
    }
    let (loss, g) =
        linear_cross_entropy_with_grad(arr0(1.0f32).view(), x.view(), w.view(), target, &options)
            .expect("linear_cross_entropy_with_grad");
    let bias = g.linear_bias.expect("bias gradient");
    (loss, vec![g.input, g.linear_weight, bias])
}

/// `linear_cross_entropy` forward and forward+backward, Rust (fused) and libtorch
/// (`cross_entropy(linear(..))`), in one thread mode.
fn bench_linear_cross_entropy(c: &mut Criterion, mode: &ThreadMode, inp: &LceInputs) {
    for grad in [false, true] {
        let op = if grad {
            "linear_cross_entropy_fwd_bwd"
        } else {
            "linear_cross_entropy"
        };
        let mut group = c.benchmark_group(format!("{op}/f32/{}", mode.label));
        group.sample_size(10);
        let (n, i, v) = LCE_SHAPE;
        configure(&mut group, (n * i + v * i) as u64, false);
        group.throughput(Throughput::Elements((n * v) as u64));
        let label = inp.label();
        group.bench_function(BenchmarkId::new("rust", &label), |b| {
            let (arrays, target) = ([&inp.x, &inp.w, &inp.b], &inp.target);
            mode.pool
                .install(|| b.iter(|| lce_rust(arrays, target, grad)))
        });
        tch::set_num_threads(mode.threads as i32);
        group.bench_function(BenchmarkId::new("libtorch", &label), |b| {
            b.iter(|| inp.torch(grad))
        });
        group.finish();
    }
}

fn benches(c: &mut Criterion) {
    let quick = std::env::var("LOSSPARITY_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let modes = thread_modes();
    // LOSSPARITY_BENCH_ONLY=linear_cross_entropy runs that op alone (it needs neither
    // the other ops' inputs nor their checks).
    if std::env::var("LOSSPARITY_BENCH_ONLY").is_ok_and(|v| v == "linear_cross_entropy") {
        let lce = LceInputs::new(7);
        lce.sanity_check();
        for mode in &modes {
            bench_linear_cross_entropy(c, mode, &lce);
        }
        return;
    }
    let only = std::env::var("LOSSPARITY_BENCH_ONLY").unwrap_or_default();
    if only == "op_options" {
        op_options::bench_options(c, &modes, quick);
        return;
    }
    let f32_margin = margin_losses::make_margin_inputs::<f32>(quick, 201);
    let f64_margin = margin_losses::make_margin_inputs::<f64>(quick, 301);
    let bench_margin = |c: &mut Criterion, mode: &ThreadMode| {
        for op in margin_losses::MarginOp::ALL {
            margin_losses::bench_margin_op(c, op, mode, &f32_margin, quick);
            margin_losses::bench_margin_op(c, op, mode, &f64_margin, quick);
        }
    };
    if only == "margin" {
        for mode in &modes {
            bench_margin(c, mode);
        }
        return;
    }
    if only == "cross_entropy_options" {
        ce_options::bench_options(c, &modes, quick);
        return;
    }
    let lce = (!quick).then(|| {
        let lce = LceInputs::new(7);
        lce.sanity_check();
        lce
    });
    let f32_inputs = make_inputs::<f32>(quick, 1);
    let f64_inputs = make_inputs::<f64>(quick, 101);
    for mode in &modes {
        for op in Op::ALL {
            bench_op(c, op, mode, &f32_inputs, quick);
            bench_op(c, op, mode, &f64_inputs, quick);
        }
        bench_margin(c, mode);
        if let Some(lce) = &lce {
            bench_linear_cross_entropy(c, mode, lce);
        }
    }
    // Last, shape by shape: their inputs are made and dropped one shape at a time.
    ce_options::bench_options(c, &modes, quick);
    op_options::bench_options(c, &modes, quick);
}

criterion::criterion_group!(losses, benches);
criterion::criterion_main!(losses);
