//! `cross_entropy`'s options matrix side by side with libtorch: every option a training
//! recipe turns on, on `(N, C)` and K-dimensional shapes, forward and forward+backward,
//! float32, `reduction='mean'`.
//!
//! Groups are `cross_entropy[{variant}]/f32/{threads}` and
//! `cross_entropy_fwd_bwd[{variant}]/f32/{threads}`, the variants:
//! - `plain`: class indices, no option (the reference the others are held to);
//! - `weight`: a class weight in [0.5, 1.5);
//! - `ignore`: a fifth of the targets `ignore_index` (-100);
//! - `smoothing`: `label_smoothing=0.1`;
//! - `smoothing+weight+ignore`: all three;
//! - `probabilities`: a target of class probabilities (a softmax of other scores).
//!
//! Shapes are built one at a time and dropped before the next (the largest, with its
//! probability target and both sides' gradients, takes about 3 GB), and every variant
//! is computed once by both sides and compared before it is timed.

use lossparity::losses::softmax;

use super::*;

/// The variants of the matrix, in table order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    Plain,
    Weight,
    Ignore,
    Smoothing,
    SmoothingWeightIgnore,
    Probabilities,
}

impl Variant {
    pub(crate) const ALL: [Variant; 6] = [
        Variant::Plain,
        Variant::Weight,
        Variant::Ignore,
        Variant::Smoothing,
        Variant::SmoothingWeightIgnore,
        Variant::Probabilities,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Plain => "plain",
            Variant::Weight => "weight",
            Variant::Ignore => "ignore",
            Variant::Smoothing => "smoothing",
            Variant::SmoothingWeightIgnore => "smoothing+weight+ignore",
            Variant::Probabilities => "probabilities",
        }
    }

    fn weighted(self) -> bool {
        matches!(self, Variant::Weight | Variant::SmoothingWeightIgnore)
    }

    fn ignoring(self) -> bool {
        matches!(self, Variant::Ignore | Variant::SmoothingWeightIgnore)
    }

    fn smoothing(self) -> f64 {
        match self {
            Variant::Smoothing | Variant::SmoothingWeightIgnore => 0.1,
            _ => 0.0,
        }
    }
}

/// The shapes: the main bench's float32 shapes and the two of the issue that asked for
/// this matrix (a `(2048, 50257)` vocabulary and `(32, 100, 512)`), smallest first.
fn shapes(quick: bool) -> Vec<Vec<usize>> {
    let mut shapes = vec![vec![64, 10], vec![256, 1000]];
    if !quick {
        shapes.extend([
            vec![32, 100, 512],
            vec![8, 21, 128, 128],
            vec![2048, 50257],
            vec![4096, 32000],
        ]);
    }
    shapes
}

/// One shape's inputs on both sides.
struct OptionInputs {
    shape: Vec<usize>,
    x: ArrayD<f32>,
    target: ArrayD<i64>,
    /// `target` with a fifth of its entries -100.
    ignored: ArrayD<i64>,
    weight: ArrayD<f32>,
    probabilities: ArrayD<f32>,
    tx: Tensor,
    tx_grad: Tensor,
    ttarget: Tensor,
    tignored: Tensor,
    tweight: Tensor,
    tprobabilities: Tensor,
}

impl OptionInputs {
    fn new(shape: &[usize], seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let numel: usize = shape.iter().product();
        let classes = shape[1];
        let scores = |rng: &mut SplitMix64| {
            let v = (0..numel).map(|_| rng.uniform(-4.0, 4.0) as f32).collect();
            ArrayD::from_shape_vec(IxDyn(shape), v).expect("input shape")
        };
        let x = scores(&mut rng);
        let probabilities = softmax(scores(&mut rng).view(), 1).expect("softmax");
        let target_shape: Vec<usize> = [shape[0]]
            .into_iter()
            .chain(shape[2..].iter().copied())
            .collect();
        let len = target_shape.iter().product();
        let t: Vec<i64> = (0..len).map(|_| rng.below(classes)).collect();
        let ignored: Vec<i64> = t
            .iter()
            .map(|&t| if rng.below(5) == 0 { -100 } else { t })
            .collect();
        let weight: Vec<f32> = (0..classes).map(|_| rng.uniform(0.5, 1.5) as f32).collect();
        let target = ArrayD::from_shape_vec(IxDyn(&target_shape), t).expect("target shape");
        let ignored = ArrayD::from_shape_vec(IxDyn(&target_shape), ignored).expect("target shape");
        let weight = ArrayD::from_shape_vec(IxDyn(&[classes]), weight).expect("weight shape");
        let tx = to_tensor(&x);
        OptionInputs {
            shape: shape.to_vec(),
            tx_grad: tx.detach().set_requires_grad(true),
            tx,
            ttarget: to_tensor(&target),
            tignored: to_tensor(&ignored),
            tweight: to_tensor(&weight),
            tprobabilities: to_tensor(&probabilities),
            x,
            target,
            ignored,
            weight,
            probabilities,
        }
    }

    fn label(&self) -> String {
        shape_label(&self.shape)
    }
}

/// The Rust arrays of [`OptionInputs`] (`Sync`, for the rayon pool).
struct RustSide<'a> {
    x: &'a ArrayD<f32>,
    target: &'a ArrayD<i64>,
    ignored: &'a ArrayD<i64>,
    weight: &'a ArrayD<f32>,
    probabilities: &'a ArrayD<f32>,
}

impl<'a> RustSide<'a> {
    fn of(inp: &'a OptionInputs) -> Self {
        RustSide {
            x: &inp.x,
            target: &inp.target,
            ignored: &inp.ignored,
            weight: &inp.weight,
            probabilities: &inp.probabilities,
        }
    }
}

/// One Rust call, through the public API as a user makes it.
fn run_rust(variant: Variant, inp: &RustSide<'_>, grad: bool) -> RustResult<f32> {
    let mut options = CrossEntropyOptions::default().label_smoothing(variant.smoothing());
    if variant.weighted() {
        options = options.weight(inp.weight.view());
    }
    let target = match variant {
        Variant::Probabilities => Target::Probabilities(inp.probabilities.view()),
        _ if variant.ignoring() => Target::indices(inp.ignored.view()),
        _ => Target::indices(inp.target.view()),
    };
    if grad {
        let (loss, g) =
            cross_entropy_with_grad(arr0(1.0f32).view(), inp.x.view(), target, &options)
                .expect("cross_entropy_with_grad");
        (loss, Some(g))
    } else {
        (
            cross_entropy(inp.x.view(), target, &options).expect("cross_entropy"),
            None,
        )
    }
}

/// The same call in libtorch: `F.cross_entropy`'s aten op and, for the gradient,
/// `backward()` to the input.
fn run_torch(variant: Variant, inp: &OptionInputs, grad: bool) -> (Tensor, Option<Tensor>) {
    let target = match variant {
        Variant::Probabilities => &inp.tprobabilities,
        _ if variant.ignoring() => &inp.tignored,
        _ => &inp.ttarget,
    };
    let weight = variant.weighted().then(|| inp.tweight.shallow_clone());
    let call = |x: &Tensor| {
        x.cross_entropy_loss(
            target,
            weight.as_ref(),
            Reduction::Mean,
            -100,
            variant.smoothing(),
        )
    };
    if grad {
        let loss = call(&inp.tx_grad);
        let mut grads = Tensor::run_backward(&[&loss], &[&inp.tx_grad], false, false);
        (loss, Some(grads.remove(0)))
    } else {
        (call(&inp.tx), None)
    }
}

fn group_name(variant: Variant, grad: bool) -> String {
    let op = if grad {
        "cross_entropy_fwd_bwd"
    } else {
        "cross_entropy"
    };
    format!("{op}[{}]", variant.name())
}

/// Every `(variant, direction)` of one shape in one thread mode, after checking each
/// against libtorch once.
fn bench_shape(c: &mut Criterion, modes: &[ThreadMode], inp: &OptionInputs, quick: bool) {
    let label = inp.label();
    let rust = RustSide::of(inp);
    for grad in [false, true] {
        for variant in Variant::ALL {
            let (r, t) = (
                run_rust(variant, &rust, grad),
                run_torch(variant, inp, grad),
            );
            let what = format!("{} f32 {label}", group_name(variant, grad));
            assert_agree(&format!("{what} (output)"), &r.0, &t.0);
            if let (Some(r), Some(t)) = (&r.1, &t.1) {
                assert_agree(&format!("{what} (gradient)"), r, t);
            }
        }
    }
    for mode in modes {
        for grad in [false, true] {
            for variant in Variant::ALL {
                let name = format!("{}/f32/{}", group_name(variant, grad), mode.label);
                let mut group = c.benchmark_group(name);
                group.sample_size(10);
                configure(&mut group, inp.x.len() as u64, quick);
                group.bench_function(BenchmarkId::new("rust", &label), |b| {
                    mode.pool
                        .install(|| b.iter(|| run_rust(variant, &rust, grad)))
                });
                tch::set_num_threads(mode.threads as i32);
                group.bench_function(BenchmarkId::new("libtorch", &label), |b| {
                    b.iter(|| run_torch(variant, inp, grad))
                });
                group.finish();
            }
        }
    }
}

/// The whole matrix, shape by shape (`LOSSPARITY_BENCH_ONLY=cross_entropy_options`).
pub(crate) fn bench_options(c: &mut Criterion, modes: &[ThreadMode], quick: bool) {
    for (i, shape) in shapes(quick).iter().enumerate() {
        let start = Instant::now();
        let inp = OptionInputs::new(shape, 501 + i as u64);
        eprintln!(
            "cross_entropy options {}: inputs made in {:.1} s",
            inp.label(),
            start.elapsed().as_secs_f64()
        );
        bench_shape(c, modes, &inp, quick);
    }
}
