//! The margin, embedding and sequence losses side by side with libtorch: the five
//! margin losses, the two triplet losses (`(N, D)` embeddings) and `ctc_loss`
//! (`(T, N, C)` log-probabilities), forward and forward+backward (the gradient of the
//! first input only, on both sides), with their default options and `reduction='mean'`.
//!
//! Ids follow the other ops': group `{op}/{dtype}/{threads}`, function `rust` /
//! `libtorch`, parameter the shape (for `ctc_loss`, `TxNxC`). Every call is computed
//! once by both sides and compared before it is timed.

use lossparity::losses::{
    cosine_embedding_loss, cosine_embedding_loss_backward, ctc_loss, ctc_loss_with_grad,
    hinge_embedding_loss, hinge_embedding_loss_backward, margin_ranking_loss,
    margin_ranking_loss_backward, multi_margin_loss, multi_margin_loss_backward,
    multilabel_margin_loss, multilabel_margin_loss_backward, triplet_margin_loss,
    triplet_margin_loss_backward, triplet_margin_with_distance_loss,
    triplet_margin_with_distance_loss_backward, CosineEmbeddingOptions, CtcOptions,
    HingeEmbeddingOptions, MarginRankingOptions, MultiMarginOptions, MultilabelMarginOptions,
    TripletMarginOptions, TripletMarginWithDistanceOptions,
};
use tch::IValue;

use super::*;

/// The losses of this module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MarginOp {
    HingeEmbedding,
    MarginRanking,
    CosineEmbedding,
    MultiMargin,
    MultilabelMargin,
    TripletMargin,
    TripletMarginWithDistance,
    Ctc,
}

impl MarginOp {
    pub(crate) const ALL: [MarginOp; 8] = [
        MarginOp::HingeEmbedding,
        MarginOp::MarginRanking,
        MarginOp::CosineEmbedding,
        MarginOp::MultiMargin,
        MarginOp::MultilabelMargin,
        MarginOp::TripletMargin,
        MarginOp::TripletMarginWithDistance,
        MarginOp::Ctc,
    ];

    fn name(self) -> &'static str {
        match self {
            MarginOp::HingeEmbedding => "hinge_embedding_loss",
            MarginOp::MarginRanking => "margin_ranking_loss",
            MarginOp::CosineEmbedding => "cosine_embedding_loss",
            MarginOp::MultiMargin => "multi_margin_loss",
            MarginOp::MultilabelMargin => "multilabel_margin_loss",
            MarginOp::TripletMargin => "triplet_margin_loss",
            MarginOp::TripletMarginWithDistance => "triplet_margin_with_distance_loss",
            MarginOp::Ctc => "ctc_loss",
        }
    }
}

/// Labels per row of `multilabel_margin_loss`'s target (then -1).
const LABELS: usize = 4;

/// The `(N, D)` shapes: `(N, C)` for the class losses. float64 runs the smaller one.
fn embedding_shapes(quick: bool, f64_dtype: bool) -> Vec<(usize, usize)> {
    let mut shapes = vec![(256, 1000)];
    if !quick && !f64_dtype {
        shapes.push((2048, 4096));
    }
    shapes
}

/// `(T, N, C, S)`: time steps, batch, classes (blank 0 included), the longest target.
fn ctc_shapes(quick: bool) -> Vec<(usize, usize, usize, usize)> {
    let mut shapes = vec![(50, 16, 20, 10)];
    if !quick {
        shapes.push((200, 32, 64, 60));
    }
    shapes
}

/// The Rust side's arrays of one shape (`Sync`, for the rayon pool).
struct RustArrays<F> {
    /// Scores or embeddings, `(N, D)` (the anchor of the triplet losses).
    x: ArrayD<F>,
    /// A second input of `x`'s shape (input2, the positive).
    x2: ArrayD<F>,
    /// A third (the negative).
    x3: ArrayD<F>,
    /// -1 or 1 per element (hinge, ranking).
    sign: ArrayD<F>,
    /// -1 or 1 per row (cosine).
    row_sign: ArrayD<F>,
    /// A class per row, `(N)`.
    class: ArrayD<i64>,
    /// `LABELS` distinct classes per row then -1, `(N, C)`.
    labels: ArrayD<i64>,
}

/// The same values as libtorch tensors, the first input also as a leaf that requires
/// grad.
struct TorchArrays {
    x: Tensor,
    x_grad: Tensor,
    x2: Tensor,
    x3: Tensor,
    sign: Tensor,
    row_sign: Tensor,
    class: Tensor,
    labels: Tensor,
}

/// The embedding-shaped inputs on both sides.
pub(crate) struct EmbeddingInputs<F> {
    shape: (usize, usize),
    rust: RustArrays<F>,
    torch: TorchArrays,
}

impl<F: Elem> EmbeddingInputs<F> {
    fn new((n, d): (usize, usize), seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let mut floats = |shape: &[usize], f: &mut dyn FnMut(&mut SplitMix64) -> f64| {
            let len = shape.iter().product();
            let values = (0..len).map(|_| F::of_f64(f(&mut rng))).collect();
            ArrayD::from_shape_vec(IxDyn(shape), values).expect("shape")
        };
        let x = floats(&[n, d], &mut |r| r.uniform(-2.0, 2.0));
        let x2 = floats(&[n, d], &mut |r| r.uniform(-2.0, 2.0));
        let x3 = floats(&[n, d], &mut |r| r.uniform(-2.0, 2.0));
        let pm = |r: &mut SplitMix64| if r.below(2) == 0 { -1.0 } else { 1.0 };
        let sign = floats(&[n, d], &mut |r| pm(r));
        let row_sign = floats(&[n], &mut |r| pm(r));
        let class = (0..n).map(|_| rng.below(d)).collect();
        let class = ArrayD::from_shape_vec(IxDyn(&[n]), class).expect("class shape");
        let mut labels = vec![-1i64; n * d];
        for row in labels.chunks_mut(d) {
            let mut taken = 0;
            while taken < LABELS.min(d) {
                let c = rng.below(d);
                if !row[..taken].contains(&c) {
                    row[taken] = c;
                    taken += 1;
                }
            }
        }
        let labels = ArrayD::from_shape_vec(IxDyn(&[n, d]), labels).expect("labels shape");
        let tx = to_tensor(&x);
        let torch = TorchArrays {
            x_grad: tx.detach().set_requires_grad(true),
            x: tx,
            x2: to_tensor(&x2),
            x3: to_tensor(&x3),
            sign: to_tensor(&sign),
            row_sign: to_tensor(&row_sign),
            class: to_tensor(&class),
            labels: to_tensor(&labels),
        };
        EmbeddingInputs {
            shape: (n, d),
            rust: RustArrays {
                x,
                x2,
                x3,
                sign,
                row_sign,
                class,
                labels,
            },
            torch,
        }
    }

    fn label(&self) -> String {
        format!("{}x{}", self.shape.0, self.shape.1)
    }

    fn numel(&self) -> u64 {
        (self.shape.0 * self.shape.1) as u64
    }
}

/// One Rust call: the loss, and with `grad` the first input's gradient.
fn rust_embedding<F: Elem>(op: MarginOp, a: &RustArrays<F>, grad: bool) -> RustResult<F> {
    let one = arr0(F::one());
    let x = || a.x.view();
    macro_rules! three {
        ($fwd:ident, $bwd:ident, $opts:expr, $second:expr, $third:expr) => {{
            let options = $opts;
            let loss = $fwd(x(), $second.view(), $third.view(), &options).expect(stringify!($fwd));
            let g = grad.then(|| {
                $bwd(one.view(), x(), $second.view(), $third.view(), &options)
                    .expect(stringify!($bwd))
            });
            (loss, g)
        }};
    }
    match op {
        MarginOp::HingeEmbedding => {
            let options = HingeEmbeddingOptions::default();
            let loss = hinge_embedding_loss(x(), a.sign.view(), &options).expect("hinge");
            let g = grad.then(|| {
                hinge_embedding_loss_backward(one.view(), x(), a.sign.view(), &options)
                    .expect("hinge backward")
            });
            (loss, g)
        }
        MarginOp::MarginRanking => three!(
            margin_ranking_loss,
            margin_ranking_loss_backward,
            MarginRankingOptions::default(),
            a.x2,
            a.sign
        ),
        MarginOp::CosineEmbedding => three!(
            cosine_embedding_loss,
            cosine_embedding_loss_backward,
            CosineEmbeddingOptions::default(),
            a.x2,
            a.row_sign
        ),
        MarginOp::MultiMargin => {
            let options = MultiMarginOptions::default();
            let loss = multi_margin_loss(x(), a.class.view(), &options).expect("multi_margin");
            let g = grad.then(|| {
                multi_margin_loss_backward(one.view(), x(), a.class.view(), &options)
                    .expect("multi_margin backward")
            });
            (loss, g)
        }
        MarginOp::MultilabelMargin => {
            let options = MultilabelMarginOptions::default();
            let loss =
                multilabel_margin_loss(x(), a.labels.view(), &options).expect("multilabel_margin");
            let g = grad.then(|| {
                multilabel_margin_loss_backward(one.view(), x(), a.labels.view(), &options)
                    .expect("multilabel_margin backward")
            });
            (loss, g)
        }
        MarginOp::TripletMargin => three!(
            triplet_margin_loss,
            triplet_margin_loss_backward,
            TripletMarginOptions::default(),
            a.x2,
            a.x3
        ),
        MarginOp::TripletMarginWithDistance => three!(
            triplet_margin_with_distance_loss,
            triplet_margin_with_distance_loss_backward,
            TripletMarginWithDistanceOptions::default(),
            a.x2,
            a.x3
        ),
        MarginOp::Ctc => unreachable!("ctc_loss has its own inputs"),
    }
}

/// `multi_margin_loss` through the harness's TorchScript function (tch binds no
/// forward), loaded once.
fn multi_margin_module() -> &'static tch::CModule {
    static MODULE: std::sync::OnceLock<tch::CModule> = std::sync::OnceLock::new();
    MODULE.get_or_init(|| {
        let bytes: &[u8] = include_bytes!("../../src/ops/multi_margin_loss.pt");
        tch::CModule::load_data(&mut std::io::Cursor::new(bytes)).expect("multi_margin_loss.pt")
    })
}

/// libtorch's side of [`rust_embedding`], as `torch.nn.functional` calls it; with `grad`
/// `torch.autograd.grad` to the first input's leaf.
fn torch_embedding(op: MarginOp, t: &TorchArrays, grad: bool) -> (Tensor, Option<Tensor>) {
    let mean = Reduction::Mean;
    let x = if grad { &t.x_grad } else { &t.x };
    let loss = match op {
        MarginOp::HingeEmbedding => x.hinge_embedding_loss(&t.sign, 1.0, mean),
        MarginOp::MarginRanking => Tensor::margin_ranking_loss(x, &t.x2, &t.sign, 0.0, mean),
        MarginOp::CosineEmbedding => {
            Tensor::cosine_embedding_loss(x, &t.x2, &t.row_sign, 0.0, mean)
        }
        MarginOp::MultiMargin => {
            let args = [
                IValue::Tensor(x.shallow_clone()),
                IValue::Tensor(t.class.shallow_clone()),
                IValue::Int(1),
                IValue::Double(1.0),
                IValue::None,
                IValue::Int(mean.to_int()),
            ];
            match multi_margin_module()
                .forward_is(&args)
                .expect("multi_margin_loss.pt")
            {
                IValue::Tensor(out) => out,
                other => panic!("multi_margin_loss.pt returned {other:?}"),
            }
        }
        MarginOp::MultilabelMargin => x.multilabel_margin_loss(&t.labels, mean),
        MarginOp::TripletMargin => {
            Tensor::triplet_margin_loss(x, &t.x2, &t.x3, 1.0, 2.0, 1e-6, false, mean)
        }
        MarginOp::TripletMarginWithDistance => {
            // F.triplet_margin_with_distance_loss with the default distance, as
            // torch/nn/functional.py composes it.
            let dist = |a: &Tensor, b: &Tensor| Tensor::pairwise_distance(a, b, 2.0, 1e-6, false);
            (dist(x, &t.x2) - dist(x, &t.x3) + 1.0)
                .clamp_min(0.0)
                .mean(None::<Kind>)
        }
        MarginOp::Ctc => unreachable!("ctc_loss has its own inputs"),
    };
    if !grad {
        return (loss, None);
    }
    let mut grads = Tensor::run_backward(&[&loss], &[x], false, false);
    (loss, Some(grads.remove(0)))
}

/// `ctc_loss`'s inputs on both sides: `log_softmax` of random scores over the classes,
/// padded `(N, S)` targets of labels in `[1, C)`, every input length `T`, target
/// lengths between `S / 2` and `S`.
pub(crate) struct CtcInputs<F> {
    shape: (usize, usize, usize, usize),
    log_probs: ArrayD<F>,
    targets: ArrayD<i64>,
    input_lengths: Vec<i64>,
    target_lengths: Vec<i64>,
    t_log_probs: Tensor,
    t_log_probs_grad: Tensor,
    t_targets: Tensor,
    t_input_lengths: Tensor,
    t_target_lengths: Tensor,
}

impl<F: Elem> CtcInputs<F> {
    fn new((t, n, c, s): (usize, usize, usize, usize), seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let scores: Vec<F> = (0..t * n * c)
            .map(|_| F::of_f64(rng.uniform(-3.0, 3.0)))
            .collect();
        let scores = ArrayD::from_shape_vec(IxDyn(&[t, n, c]), scores).expect("scores");
        let log_probs = log_softmax(scores.view(), 2).expect("log_softmax");
        let targets: Vec<i64> = (0..n * s).map(|_| 1 + rng.below(c - 1)).collect();
        let targets = ArrayD::from_shape_vec(IxDyn(&[n, s]), targets).expect("targets");
        let input_lengths = vec![t as i64; n];
        let target_lengths: Vec<i64> = (0..n)
            .map(|_| (s / 2) as i64 + rng.below(s - s / 2 + 1))
            .collect();
        let tl = to_tensor(&log_probs);
        let lengths = |v: &[i64]| Tensor::from_slice(v);
        CtcInputs {
            shape: (t, n, c, s),
            t_log_probs_grad: tl.detach().set_requires_grad(true),
            t_log_probs: tl,
            t_targets: to_tensor(&targets),
            t_input_lengths: lengths(&input_lengths),
            t_target_lengths: lengths(&target_lengths),
            log_probs,
            targets,
            input_lengths,
            target_lengths,
        }
    }

    fn label(&self) -> String {
        let (t, n, c, _) = self.shape;
        format!("{t}x{n}x{c}")
    }

    fn numel(&self) -> u64 {
        self.log_probs.len() as u64
    }

    fn torch(&self, grad: bool) -> (Tensor, Option<Tensor>) {
        let lp = if grad {
            &self.t_log_probs_grad
        } else {
            &self.t_log_probs
        };
        let loss = Tensor::ctc_loss_tensor(
            lp,
            &self.t_targets,
            &self.t_input_lengths,
            &self.t_target_lengths,
            0,
            Reduction::Mean,
            false,
        );
        if !grad {
            return (loss, None);
        }
        let mut grads = Tensor::run_backward(&[&loss], &[lp], false, false);
        (loss, Some(grads.remove(0)))
    }
}

/// The Rust `ctc_loss` on the arrays alone (the tensors are not `Sync`); forward and
/// backward through `ctc_loss_with_grad`, one alpha recursion per sample as libtorch's
/// autograd (which keeps the forward's).
fn rust_ctc<F: Elem>(
    log_probs: &ArrayD<F>,
    targets: &ArrayD<i64>,
    (input_lengths, target_lengths): (&[i64], &[i64]),
    grad: bool,
) -> RustResult<F> {
    let options = CtcOptions::default();
    if grad {
        let (loss, g) = ctc_loss_with_grad(
            arr0(F::one()).view(),
            log_probs.view(),
            targets.view(),
            input_lengths,
            target_lengths,
            &options,
        )
        .expect("ctc_loss_with_grad");
        return (loss, Some(g));
    }
    let loss = ctc_loss(
        log_probs.view(),
        targets.view(),
        input_lengths,
        target_lengths,
        &options,
    )
    .expect("ctc_loss");
    (loss, None)
}

/// Every input of this module, made once and checked against libtorch.
pub(crate) struct MarginInputs<F> {
    embeddings: Vec<EmbeddingInputs<F>>,
    ctc: Vec<CtcInputs<F>>,
}

fn check<F: Elem>(what: &str, rust: RustResult<F>, torch: (Tensor, Option<Tensor>)) {
    assert_agree(&format!("{what} (output)"), &rust.0, &torch.0);
    match (rust.1, torch.1) {
        (Some(r), Some(t)) => assert_agree(&format!("{what} (gradient)"), &r, &t),
        (None, None) => {}
        _ => panic!("{what}: only one side computed a gradient"),
    }
}

pub(crate) fn make_margin_inputs<F: Elem>(quick: bool, seed: u64) -> MarginInputs<F> {
    let start = Instant::now();
    let embeddings: Vec<EmbeddingInputs<F>> = embedding_shapes(quick, F::LABEL == "f64")
        .into_iter()
        .enumerate()
        .map(|(i, shape)| EmbeddingInputs::new(shape, seed + i as u64))
        .collect();
    let ctc: Vec<CtcInputs<F>> = ctc_shapes(quick)
        .into_iter()
        .enumerate()
        .map(|(i, shape)| CtcInputs::new(shape, seed + 50 + i as u64))
        .collect();
    for grad in [false, true] {
        for inp in &embeddings {
            for op in MarginOp::ALL.into_iter().filter(|&o| o != MarginOp::Ctc) {
                let what = format!("{} {} {} (grad: {grad})", op.name(), F::LABEL, inp.label());
                check(
                    &what,
                    rust_embedding(op, &inp.rust, grad),
                    torch_embedding(op, &inp.torch, grad),
                );
            }
        }
        for inp in &ctc {
            let what = format!("ctc_loss {} {} (grad: {grad})", F::LABEL, inp.label());
            let lengths = (&inp.input_lengths[..], &inp.target_lengths[..]);
            check(
                &what,
                rust_ctc(&inp.log_probs, &inp.targets, lengths, grad),
                inp.torch(grad),
            );
        }
    }
    eprintln!(
        "margin and sequence inputs {}: made and checked against libtorch in {:.1} s",
        F::LABEL,
        start.elapsed().as_secs_f64()
    );
    MarginInputs { embeddings, ctc }
}

/// One op, forward and forward+backward, every shape, in one thread mode.
pub(crate) fn bench_margin_op<F: Elem>(
    c: &mut Criterion,
    op: MarginOp,
    mode: &ThreadMode,
    inputs: &MarginInputs<F>,
    quick: bool,
) {
    for grad in [false, true] {
        let suffix = if grad { "_fwd_bwd" } else { "" };
        let mut group =
            c.benchmark_group(format!("{}{suffix}/{}/{}", op.name(), F::LABEL, mode.label));
        group.sample_size(10);
        if op == MarginOp::Ctc {
            for inp in &inputs.ctc {
                configure(&mut group, inp.numel(), quick);
                let label = inp.label();
                let (lp, targets) = (&inp.log_probs, &inp.targets);
                let lengths = (&inp.input_lengths[..], &inp.target_lengths[..]);
                group.bench_function(BenchmarkId::new("rust", &label), |b| {
                    mode.pool
                        .install(|| b.iter(|| rust_ctc(lp, targets, lengths, grad)))
                });
                tch::set_num_threads(mode.threads as i32);
                group.bench_function(BenchmarkId::new("libtorch", &label), |b| {
                    b.iter(|| inp.torch(grad))
                });
            }
        } else {
            for inp in &inputs.embeddings {
                configure(&mut group, inp.numel(), quick);
                let label = inp.label();
                let rust = &inp.rust;
                group.bench_function(BenchmarkId::new("rust", &label), |b| {
                    mode.pool
                        .install(|| b.iter(|| rust_embedding(op, rust, grad)))
                });
                tch::set_num_threads(mode.threads as i32);
                group.bench_function(BenchmarkId::new("libtorch", &label), |b| {
                    b.iter(|| torch_embedding(op, &inp.torch, grad))
                });
            }
        }
        group.finish();
    }
}
