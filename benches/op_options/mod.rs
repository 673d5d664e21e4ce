//! The options matrix of the main bench's losses that have options, but `cross_entropy`
//! (which has its own, `benches/ce_options`) and `soft_margin_loss` (a reduction only),
//! side by side with libtorch: each op's default options (`plain`, the reference), then
//! one row per option a user turns on, forward and forward+backward, float32.
//!
//! Groups are `{op}[{variant}]/f32/{threads}` and `{op}_fwd_bwd[{variant}]/f32/{threads}`;
//! [`ROWS`] lists the variants. Forward+backward is the loss and the gradient of the
//! tensor the main bench's `_fwd_bwd` rows differentiate (the log-probabilities of
//! `nll_loss` and `kl_div`, the probabilities of `binary_cross_entropy` and of
//! `poisson_nll_loss` with `log_input=false`, the input of the others). A
//! `reduction='none'` row backpropagates `loss.sum()` on both sides: libtorch's
//! autograd starts from a scalar, and the Rust side sums the loss too and hands its
//! backward the ones that sum's backward passes on.
//!
//! The inputs are the main bench's ([`Inputs`]) with the options' tensors beside them.
//! Shapes are built one at a time and dropped before the next, and every row is
//! computed once by both sides and compared before it is timed.
//!
//! The margin family (`hinge_embedding_loss` .. `ctc_loss`) has no options rows: the
//! inputs and the TorchScript `multi_margin_loss` of `benches/margin_losses` are private
//! to that module, and its options would need inputs of their own (impossible CTC
//! alignments for `zero_infinity`).

use lossparity::losses::{KlDivReduction, LossError, Reduction};
use ndarray::ArrayViewD;

use super::*;

/// Every knob a row can turn; [`PLAIN`] is PyTorch's defaults. Each op reads the knobs
/// it has and ignores the others.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Row {
    op: Op,
    variant: &'static str,
    reduction: Reduction,
    /// The op's weight: per class `(C)` for `nll_loss`, per entry of the last dimension
    /// for `multilabel_soft_margin_loss`, per element (the input's shape) otherwise.
    weight: bool,
    /// `binary_cross_entropy_with_logits`' `pos_weight`, one per entry of the last
    /// dimension.
    pos_weight: bool,
    /// A fifth of `nll_loss`'s targets `ignore_index` (-100).
    ignore: bool,
    /// `kl_div`'s `reduction='batchmean'` (which [`Reduction`] has no name for).
    batchmean: bool,
    log_target: bool,
    /// `smooth_l1_loss`'s `beta`.
    beta: f64,
    /// `huber_loss`'s `delta`.
    delta: f64,
    log_input: bool,
    /// `poisson_nll_loss`'s and `gaussian_nll_loss`'s `full`.
    full: bool,
    /// `gaussian_nll_loss` with one variance per row of the last dimension (its size 1).
    var_broadcast: bool,
}

const PLAIN: Row = Row {
    op: Op::NllLoss,
    variant: "plain",
    reduction: Reduction::Mean,
    weight: false,
    pos_weight: false,
    ignore: false,
    batchmean: false,
    log_target: false,
    beta: 1.0,
    delta: 1.0,
    log_input: true,
    full: false,
    var_broadcast: false,
};

const fn plain(op: Op) -> Row {
    Row { op, ..PLAIN }
}

/// The rows, in table order: each op's `plain`, then its options. `weight+sum` and the
/// `none` rows of `binary_cross_entropy_with_logits` are the reductions whose Rust paths
/// differ from `mean`'s beyond its division (no weight sum; an element map and a
/// per-element upstream gradient instead of a fused sum).
pub(crate) const ROWS: [Row; 35] = [
    plain(Op::NllLoss),
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::NllLoss)
    },
    Row {
        variant: "ignore",
        ignore: true,
        ..plain(Op::NllLoss)
    },
    Row {
        variant: "weight+ignore",
        weight: true,
        ignore: true,
        ..plain(Op::NllLoss)
    },
    plain(Op::BinaryCrossEntropy),
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::BinaryCrossEntropy)
    },
    plain(Op::BceWithLogits),
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::BceWithLogits)
    },
    Row {
        variant: "pos_weight",
        pos_weight: true,
        ..plain(Op::BceWithLogits)
    },
    Row {
        variant: "weight+pos_weight",
        weight: true,
        pos_weight: true,
        ..plain(Op::BceWithLogits)
    },
    Row {
        variant: "none",
        reduction: Reduction::None,
        ..plain(Op::BceWithLogits)
    },
    plain(Op::KlDiv),
    Row {
        variant: "batchmean",
        batchmean: true,
        ..plain(Op::KlDiv)
    },
    Row {
        variant: "log_target",
        log_target: true,
        ..plain(Op::KlDiv)
    },
    plain(Op::MseLoss),
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::MseLoss)
    },
    Row {
        variant: "none",
        reduction: Reduction::None,
        ..plain(Op::MseLoss)
    },
    Row {
        variant: "weight+sum",
        weight: true,
        reduction: Reduction::Sum,
        ..plain(Op::MseLoss)
    },
    plain(Op::L1Loss),
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::L1Loss)
    },
    Row {
        variant: "none",
        reduction: Reduction::None,
        ..plain(Op::L1Loss)
    },
    plain(Op::SmoothL1Loss),
    Row {
        variant: "beta=0",
        beta: 0.0,
        ..plain(Op::SmoothL1Loss)
    },
    Row {
        variant: "beta=0.5",
        beta: 0.5,
        ..plain(Op::SmoothL1Loss)
    },
    plain(Op::HuberLoss),
    Row {
        variant: "delta=0.5",
        delta: 0.5,
        ..plain(Op::HuberLoss)
    },
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::HuberLoss)
    },
    plain(Op::PoissonNllLoss),
    Row {
        variant: "log_input=false",
        log_input: false,
        ..plain(Op::PoissonNllLoss)
    },
    Row {
        variant: "full",
        full: true,
        ..plain(Op::PoissonNllLoss)
    },
    plain(Op::GaussianNllLoss),
    Row {
        variant: "var_broadcast",
        var_broadcast: true,
        ..plain(Op::GaussianNllLoss)
    },
    Row {
        variant: "full",
        full: true,
        ..plain(Op::GaussianNllLoss)
    },
    plain(Op::MultilabelSoftMarginLoss),
    Row {
        variant: "weight",
        weight: true,
        ..plain(Op::MultilabelSoftMarginLoss)
    },
];

/// The timed shapes: the main bench's `(N, C)` and K-dimensional shapes of the
/// element-wise losses.
fn shapes(quick: bool) -> Vec<Vec<usize>> {
    let mut shapes = vec![vec![256, 1000]];
    if !quick {
        shapes.push(vec![8, 21, 128, 128]);
    }
    shapes
}

/// Checked against libtorch in quick mode but not timed, so that a quick run also
/// covers the K-dimensional layouts (classes inside, weights along the last dimension
/// of a 4-D input, a `(.., 1)` variance) that only the full run times.
const QUICK_CHECK_SHAPE: [usize; 4] = [2, 21, 16, 16];

/// The Rust side's option arrays of one shape.
struct OptionArrays {
    /// In [0.5, 1.5), of the input's shape.
    weight: ArrayD<f32>,
    /// In [0.5, 1.5), one per entry of the last dimension: `pos_weight` and
    /// `multilabel_soft_margin_loss`'s class weight.
    last_weight: ArrayD<f32>,
    /// In [0.5, 1.5), `(C)`: `nll_loss`'s class weight.
    class_weight: ArrayD<f32>,
    /// The main bench's class indices with a fifth of them -100.
    ignored: ArrayD<i64>,
    /// Counts 0..8: `poisson_nll_loss`'s target (so that `full`'s Stirling term, zero
    /// for a count up to 1, is computed).
    counts: ArrayD<f32>,
    /// `log_softmax(scores, 1)` of other scores: `kl_div`'s target with `log_target`.
    log_q: ArrayD<f32>,
    /// `exp(log_q)`: `kl_div`'s target otherwise (the same distribution).
    q: ArrayD<f32>,
    /// In [0.5, 1.5), the input's shape with a last dimension of 1.
    row_var: ArrayD<f32>,
    /// The upstream gradient of a `none` loss.
    ones: ArrayD<f32>,
}

/// [`OptionArrays`] as libtorch tensors (but `ones`).
struct OptionTensors {
    weight: Tensor,
    last_weight: Tensor,
    class_weight: Tensor,
    ignored: Tensor,
    counts: Tensor,
    log_q: Tensor,
    q: Tensor,
    row_var: Tensor,
}

/// One shape's inputs on both sides.
struct OptionInputs {
    base: Inputs<f32>,
    arrays: OptionArrays,
    tensors: OptionTensors,
}

impl OptionInputs {
    fn new(shape: &[usize], seed: u64) -> Self {
        let base = Inputs::<f32>::new(shape, seed);
        let mut rng = SplitMix64(seed ^ 0x5EED);
        let uniform = |rng: &mut SplitMix64, shape: &[usize], lo: f64, hi: f64| {
            let len = shape.iter().product();
            let v = (0..len).map(|_| rng.uniform(lo, hi) as f32).collect();
            ArrayD::from_shape_vec(IxDyn(shape), v).expect("shape")
        };
        let last = shape[shape.len() - 1];
        let mut row_shape = shape.to_vec();
        row_shape[shape.len() - 1] = 1;
        let log_q =
            log_softmax(uniform(&mut rng, shape, -4.0, 4.0).view(), 1).expect("log_softmax");
        let arrays = OptionArrays {
            weight: uniform(&mut rng, shape, 0.5, 1.5),
            last_weight: uniform(&mut rng, &[last], 0.5, 1.5),
            class_weight: uniform(&mut rng, &[shape[1]], 0.5, 1.5),
            ignored: base
                .rust
                .target
                .mapv(|t| if rng.below(5) == 0 { -100 } else { t }),
            counts: base.rust.x.mapv(|_| rng.below(8) as f32),
            q: log_q.mapv(f32::exp),
            log_q,
            row_var: uniform(&mut rng, &row_shape, 0.5, 1.5),
            ones: ArrayD::ones(IxDyn(shape)),
        };
        let tensors = OptionTensors {
            weight: to_tensor(&arrays.weight),
            last_weight: to_tensor(&arrays.last_weight),
            class_weight: to_tensor(&arrays.class_weight),
            ignored: to_tensor(&arrays.ignored),
            counts: to_tensor(&arrays.counts),
            log_q: to_tensor(&arrays.log_q),
            q: to_tensor(&arrays.q),
            row_var: to_tensor(&arrays.row_var),
        };
        OptionInputs {
            base,
            arrays,
            tensors,
        }
    }
}

/// The Rust arrays of [`OptionInputs`] (`Sync`, for the rayon pool).
struct RustSide<'a> {
    base: &'a RustInputs<f32>,
    extra: &'a RustExtra<f32>,
    arrays: &'a OptionArrays,
}

impl<'a> RustSide<'a> {
    fn of(inp: &'a OptionInputs) -> Self {
        let base = &inp.base.rust;
        RustSide {
            base,
            extra: base.extra.as_ref().expect("the extra inputs of this shape"),
            arrays: &inp.arrays,
        }
    }
}

/// What every Rust call of one row shares.
struct Call<'a> {
    name: &'static str,
    reduction: Reduction,
    ones: &'a ArrayD<f32>,
    grad: bool,
}

impl Call<'_> {
    /// The loss of `forward()` and, with `grad`, `backward(upstream)`: 1 for a reduced
    /// loss; for `none`, after summing the loss as libtorch's side does, ones of its
    /// shape.
    fn run(
        &self,
        forward: impl FnOnce() -> Result<ArrayD<f32>, LossError>,
        backward: impl FnOnce(ArrayViewD<'_, f32>) -> Result<ArrayD<f32>, LossError>,
    ) -> RustResult<f32> {
        let loss = forward().expect(self.name);
        if !self.grad {
            return (loss, None);
        }
        let one = arr0(1.0f32).into_dyn();
        let upstream = if self.reduction == Reduction::None {
            std::hint::black_box(loss.sum());
            self.ones.view()
        } else {
            one.view()
        };
        let g = backward(upstream).expect(self.name);
        (loss, Some(g))
    }
}

/// One Rust call, through the public API as a user makes it.
fn run_rust(row: &Row, s: &RustSide<'_>, grad: bool) -> RustResult<f32> {
    let (a, e) = (s.arrays, s.extra);
    let (x, logp) = (&s.base.x, &s.base.logp);
    let r = row.reduction;
    let call = Call {
        name: row.op.name(),
        reduction: r,
        ones: &a.ones,
        grad,
    };
    match row.op {
        Op::NllLoss => {
            let mut o = NllLossOptions::default().reduction(r);
            if row.weight {
                o = o.weight(a.class_weight.view());
            }
            let target = if row.ignore {
                &a.ignored
            } else {
                &s.base.target
            };
            let target = || Target::indices(target.view());
            call.run(
                || nll_loss(logp.view(), target(), &o),
                |g| nll_loss_backward(g, logp.view(), target(), &o),
            )
        }
        Op::BinaryCrossEntropy => {
            let mut o = BinaryCrossEntropyOptions::default().reduction(r);
            if row.weight {
                o = o.weight(a.weight.view());
            }
            let (p, t) = (&e.p, &e.prob);
            call.run(
                || binary_cross_entropy(p.view(), t.view(), &o),
                |g| binary_cross_entropy_backward(g, p.view(), t.view(), &o),
            )
        }
        Op::BceWithLogits => {
            let mut o = BceWithLogitsOptions::default().reduction(r);
            if row.weight {
                o = o.weight(a.weight.view());
            }
            if row.pos_weight {
                o = o.pos_weight(a.last_weight.view());
            }
            let t = &e.prob;
            call.run(
                || binary_cross_entropy_with_logits(x.view(), t.view(), &o),
                |g| binary_cross_entropy_with_logits_backward(g, x.view(), t.view(), &o),
            )
        }
        Op::KlDiv => {
            let reduction = match r {
                _ if row.batchmean => KlDivReduction::BatchMean,
                Reduction::None => KlDivReduction::None,
                Reduction::Mean => KlDivReduction::Mean,
                Reduction::Sum => KlDivReduction::Sum,
            };
            let o = KlDivOptions::default()
                .reduction(reduction)
                .log_target(row.log_target);
            let t = if row.log_target { &a.log_q } else { &a.q };
            call.run(
                || kl_div(logp.view(), t.view(), &o),
                |g| kl_div_backward(g, logp.view(), t.view(), &o),
            )
        }
        Op::MseLoss | Op::L1Loss => {
            let mut o = PointwiseOptions::default().reduction(r);
            if row.weight {
                o = o.weight(a.weight.view());
            }
            if row.op == Op::MseLoss {
                call.run(
                    || mse_loss(x.view(), logp.view(), &o),
                    |g| mse_loss_backward(g, x.view(), logp.view(), &o),
                )
            } else {
                call.run(
                    || l1_loss(x.view(), logp.view(), &o),
                    |g| l1_loss_backward(g, x.view(), logp.view(), &o),
                )
            }
        }
        Op::SmoothL1Loss => {
            let o = SmoothL1Options::default().reduction(r).beta(row.beta);
            call.run(
                || smooth_l1_loss(x.view(), logp.view(), &o),
                |g| smooth_l1_loss_backward(g, x.view(), logp.view(), &o),
            )
        }
        Op::HuberLoss => {
            let mut o = HuberOptions::default().reduction(r).delta(row.delta);
            if row.weight {
                o = o.weight(a.weight.view());
            }
            call.run(
                || huber_loss(x.view(), logp.view(), &o),
                |g| huber_loss_backward(g, x.view(), logp.view(), &o),
            )
        }
        Op::PoissonNllLoss => {
            let o = PoissonNllOptions::default()
                .reduction(r)
                .log_input(row.log_input)
                .full(row.full);
            // With `log_input=false` the input is a rate: the probabilities, in (0, 1).
            let input = if row.log_input { x } else { &e.p };
            let t = &a.counts;
            call.run(
                || poisson_nll_loss(input.view(), t.view(), &o),
                |g| poisson_nll_loss_backward(g, input.view(), t.view(), &o),
            )
        }
        Op::GaussianNllLoss => {
            let o = GaussianNllOptions::default().reduction(r).full(row.full);
            let var = if row.var_broadcast {
                &a.row_var
            } else {
                &e.var
            };
            let var = || Variance::tensor(var.view());
            call.run(
                || gaussian_nll_loss(x.view(), logp.view(), var(), &o),
                |g| gaussian_nll_loss_backward(g, x.view(), logp.view(), var(), &o),
            )
        }
        Op::MultilabelSoftMarginLoss => {
            let mut o = MultilabelSoftMarginOptions::default().reduction(r);
            if row.weight {
                o = o.weight(a.last_weight.view());
            }
            let t = &e.prob;
            call.run(
                || multilabel_soft_margin_loss(x.view(), t.view(), &o),
                |g| multilabel_soft_margin_loss_backward(g, x.view(), t.view(), &o),
            )
        }
        other => unreachable!("{} has no options rows", other.name()),
    }
}

fn torch_reduction(r: Reduction) -> tch::Reduction {
    match r {
        Reduction::None => tch::Reduction::None,
        Reduction::Mean => tch::Reduction::Mean,
        Reduction::Sum => tch::Reduction::Sum,
    }
}

/// `torch/nn/functional.py`'s reduction of a composed loss.
fn reduce(loss: Tensor, r: Reduction) -> Tensor {
    match r {
        Reduction::None => loss,
        Reduction::Mean => loss.mean(None::<Kind>),
        Reduction::Sum => loss.sum(None::<Kind>),
    }
}

/// The same call in libtorch, as `torch.nn.functional` makes it: its aten op, or the
/// aten ops of its Python composition in its order (the weighted `mse_loss`,
/// `l1_loss` and `huber_loss`, `gaussian_nll_loss`, `multilabel_soft_margin_loss`,
/// `kl_div`'s `batchmean`); with `grad`, `torch.autograd.grad` to the leaf.
fn run_torch(row: &Row, inp: &OptionInputs, grad: bool) -> (Tensor, Option<Tensor>) {
    let (b, o) = (&inp.base.torch, &inp.tensors);
    let e = b.extra.as_ref().expect("the extra inputs of this shape");
    let r = torch_reduction(row.reduction);
    let none = row.reduction == Reduction::None;
    let run = |leaf: &Tensor, plain: &Tensor, f: &dyn Fn(&Tensor) -> Tensor| {
        if !grad {
            return (f(plain), None);
        }
        let loss = f(leaf);
        let mut grads = if none {
            Tensor::run_backward(&[&loss.sum(None::<Kind>)], &[leaf], false, false)
        } else {
            Tensor::run_backward(&[&loss], &[leaf], false, false)
        };
        (loss, Some(grads.remove(0)))
    };
    let weight = row.weight.then_some(&o.weight);
    // F.mse_loss and F.l1_loss with a weight: `sum(loss * w) / sum(w)` for mean.
    let weighted = |loss: Tensor| {
        let loss = loss * &o.weight;
        match row.reduction {
            Reduction::Mean => loss.sum(None::<Kind>) / o.weight.sum(None::<Kind>),
            other => reduce(loss, other),
        }
    };
    match row.op {
        Op::NllLoss => {
            let target = if row.ignore { &o.ignored } else { &b.target };
            let class_weight = row.weight.then_some(&o.class_weight);
            run(&b.logp_grad, &b.logp, &|l| {
                l.nll_loss_nd(target, class_weight, r, -100)
            })
        }
        Op::BinaryCrossEntropy => run(&e.p_grad, &e.p, &|p| {
            p.binary_cross_entropy(&e.prob, weight, r)
        }),
        Op::BceWithLogits => {
            let pos_weight = row.pos_weight.then_some(&o.last_weight);
            run(&b.x_grad, &b.x, &|x| {
                x.binary_cross_entropy_with_logits(&e.prob, weight, pos_weight, r)
            })
        }
        Op::KlDiv => {
            let t = if row.log_target { &o.log_q } else { &o.q };
            run(&b.logp_grad, &b.logp, &|l| {
                if row.batchmean {
                    l.kl_div(t, tch::Reduction::Sum, row.log_target) / l.size()[0]
                } else {
                    l.kl_div(t, r, row.log_target)
                }
            })
        }
        Op::MseLoss => run(&b.x_grad, &b.x, &|x| {
            if row.weight {
                weighted((x - &b.logp).pow_tensor_scalar(2))
            } else {
                x.mse_loss(&b.logp, r)
            }
        }),
        Op::L1Loss => run(&b.x_grad, &b.x, &|x| {
            if row.weight {
                weighted((x - &b.logp).abs())
            } else {
                x.l1_loss(&b.logp, r)
            }
        }),
        // F.smooth_l1_loss takes the l1_loss op for beta == 0.
        Op::SmoothL1Loss => run(&b.x_grad, &b.x, &|x| {
            if row.beta == 0.0 {
                x.l1_loss(&b.logp, r)
            } else {
                x.smooth_l1_loss(&b.logp, r, row.beta)
            }
        }),
        // F.huber_loss with a weight: the `none` op times the weight, then `.mean()`.
        Op::HuberLoss => run(&b.x_grad, &b.x, &|x| {
            if row.weight {
                let loss = x.huber_loss(&b.logp, tch::Reduction::None, row.delta);
                reduce(loss * &o.weight, row.reduction)
            } else {
                x.huber_loss(&b.logp, r, row.delta)
            }
        }),
        Op::PoissonNllLoss => {
            let (leaf, plain) = if row.log_input {
                (&b.x_grad, &b.x)
            } else {
                (&e.p_grad, &e.p)
            };
            run(leaf, plain, &|x| {
                x.poisson_nll_loss(&o.counts, row.log_input, row.full, 1e-8, r)
            })
        }
        Op::GaussianNllLoss => {
            let var = if row.var_broadcast {
                &o.row_var
            } else {
                &e.var
            };
            run(&b.x_grad, &b.x, &|x| {
                // Python: the sign check (a host sync), then a copy clamped under no_grad.
                assert!(!bool::try_from(var.lt(0.0).any()).expect("var check"));
                let var = var.copy();
                tch::no_grad(|| {
                    let _ = var.shallow_clone().clamp_min_(1e-6);
                });
                let mut loss = (var.log() + (x - &b.logp).square() / &var) * 0.5;
                if row.full {
                    loss += 0.5 * (2.0 * std::f64::consts::PI).ln();
                }
                reduce(loss, row.reduction)
            })
        }
        Op::MultilabelSoftMarginLoss => run(&b.x_grad, &b.x, &|x| {
            let t = &e.prob;
            let loss = -(t * x.log_sigmoid() + (-t + 1.0) * (-x).log_sigmoid());
            // Out of place, as Python's `loss = loss * weight`.
            let loss = if row.weight {
                loss * &o.last_weight
            } else {
                loss
            };
            let class_dim = x.dim() as i64 - 1;
            let classes = x.size()[class_dim as usize];
            reduce(
                loss.sum_dim_intlist(class_dim, false, None::<Kind>) / classes,
                row.reduction,
            )
        }),
        other => unreachable!("{} has no options rows", other.name()),
    }
}

fn group_name(row: &Row, grad: bool) -> String {
    let suffix = if grad { "_fwd_bwd" } else { "" };
    format!("{}{suffix}[{}]", row.op.name(), row.variant)
}

/// Every row, both directions, computed once by both sides and compared.
fn check_shape(inp: &OptionInputs) {
    let label = inp.base.label();
    let rust = RustSide::of(inp);
    for row in &ROWS {
        for grad in [false, true] {
            let what = format!("{} f32 {label}", group_name(row, grad));
            let (r, t) = (run_rust(row, &rust, grad), run_torch(row, inp, grad));
            assert_agree(&format!("{what} (output)"), &r.0, &t.0);
            match (&r.1, &t.1) {
                (Some(r), Some(t)) => assert_agree(&format!("{what} (gradient)"), r, t),
                (None, None) => {}
                _ => panic!("{what}: only one side computed a gradient"),
            }
        }
    }
}

/// Every `(row, direction)` of one shape in every thread mode.
fn bench_shape(c: &mut Criterion, modes: &[ThreadMode], inp: &OptionInputs, quick: bool) {
    let label = inp.base.label();
    let rust = RustSide::of(inp);
    for mode in modes {
        for row in &ROWS {
            for grad in [false, true] {
                let name = format!("{}/f32/{}", group_name(row, grad), mode.label);
                let mut group = c.benchmark_group(name);
                group.sample_size(10);
                configure(&mut group, inp.base.numel(), quick);
                group.bench_function(BenchmarkId::new("rust", &label), |b| {
                    mode.pool.install(|| b.iter(|| run_rust(row, &rust, grad)))
                });
                tch::set_num_threads(mode.threads as i32);
                group.bench_function(BenchmarkId::new("libtorch", &label), |b| {
                    b.iter(|| run_torch(row, inp, grad))
                });
                group.finish();
            }
        }
    }
}

/// The whole matrix, shape by shape (`LOSSPARITY_BENCH_ONLY=op_options`).
pub(crate) fn bench_options(c: &mut Criterion, modes: &[ThreadMode], quick: bool) {
    if quick {
        let inp = OptionInputs::new(&QUICK_CHECK_SHAPE, 700);
        check_shape(&inp);
        eprintln!(
            "op options {}: checked against libtorch (not timed)",
            inp.base.label()
        );
    }
    for (i, shape) in shapes(quick).iter().enumerate() {
        let start = Instant::now();
        let inp = OptionInputs::new(shape, 701 + i as u64);
        check_shape(&inp);
        eprintln!(
            "op options {}: inputs made and checked against libtorch in {:.1} s",
            inp.base.label(),
            start.elapsed().as_secs_f64()
        );
        bench_shape(c, modes, &inp, quick);
    }
}
