//! Random cases of the element-wise losses, from one description per op: what values
//! its input and target hold (logits, probabilities, signs, ...), which other tensors
//! it takes and how they broadcast, its flags and numbers, its reductions. Shapes run
//! over ranks 0 to 4 with empty sizes and `(N, 1)` columns; targets broadcast or not;
//! values reach the edges of their domain and, now and then, the mistakes people make
//! (logits where probabilities belong, {0, 1} where {-1, 1} does).

use proptest::prelude::*;
use proptest::sample::select;

use super::{float_tensor, logits, pointwise_target_shape, uniform};
use crate::case::{Arg, Case, Op};
use crate::ops::Kind;

/// What a tensor's values are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Draw {
    /// Scores of any size, with tiny, huge and non-finite ones.
    Logits,
    /// Probabilities in [0, 1], the ends included; sometimes values outside.
    Probabilities,
    /// Log-probabilities (at most 0), sometimes -inf.
    LogProbabilities,
    /// Positive values (rates, variances), sometimes 0 or negative.
    Positive,
    /// Labels -1 and 1, sometimes 0 and 1.
    Signs,
    /// Labels 0 and 1, sometimes probabilities or -1.
    Binary,
}

/// How an extra tensor's shape relates to the input's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraShape {
    /// The input's shape; sometimes its trailing part (which broadcasts), sometimes one
    /// that does not fit.
    Input,
    /// The input's last size (`pos_weight`, a per-class weight); sometimes another.
    LastDim,
}

/// A tensor parameter beyond `input` and `target`.
#[derive(Debug, Clone, Copy)]
pub struct Extra {
    /// Its parameter name.
    pub name: &'static str,
    /// Its shape.
    pub shape: ExtraShape,
    /// Its values.
    pub draw: Draw,
    /// How often a case has it.
    pub present: f64,
}

/// The description of an element-wise loss's random cases.
#[derive(Debug, Clone, Copy)]
pub struct ElementwiseCases {
    /// The op.
    pub op: Op,
    /// The input's values.
    pub input: Draw,
    /// The target's values.
    pub target: Draw,
    /// The other tensors.
    pub extras: &'static [Extra],
    /// Boolean parameters, each drawn at random.
    pub bools: &'static [&'static str],
    /// Number parameters and the values drawn for them (edge cases included).
    pub numbers: &'static [(&'static str, &'static [f64])],
    /// The reductions drawn.
    pub reductions: &'static [&'static str],
    /// The input's rank ranges over `0..=max_rank`.
    pub max_rank: usize,
    /// The output of `none` drops dimension `input.dim() - 1` (a mean over classes).
    pub class_mean: bool,
}

fn draw(kind: Draw, n: usize) -> BoxedStrategy<Vec<f64>> {
    let v = |s: BoxedStrategy<f64>| prop::collection::vec(s, n).boxed();
    match kind {
        Draw::Logits => logits(n).boxed(),
        Draw::Probabilities => v(prop_oneof![
            12 => 0.0..=1.0f64,
            2 => select(vec![0.0, 1.0]),
            1 => select(vec![1e-12, 1.0 - 1e-12]),
            1 => -3.0..3.0f64,
        ]
        .boxed()),
        Draw::LogProbabilities => v(prop_oneof![
            12 => -8.0..=0.0f64,
            1 => Just(0.0),
            1 => Just(f64::NEG_INFINITY),
            1 => 0.0..2.0f64,
        ]
        .boxed()),
        Draw::Positive => v(prop_oneof![
            12 => 1e-3..10.0f64,
            1 => Just(0.0),
            1 => select(vec![1e-9, 1e4]),
            1 => -2.0..0.0f64,
        ]
        .boxed()),
        Draw::Signs => v(prop_oneof![
            10 => select(vec![-1.0, 1.0]),
            2 => select(vec![0.0, 1.0]),
            1 => -2.0..2.0f64,
        ]
        .boxed()),
        Draw::Binary => v(prop_oneof![
            10 => select(vec![0.0, 1.0]),
            2 => 0.0..=1.0f64,
            1 => Just(-1.0),
        ]
        .boxed()),
    }
}

/// The broadcast shape of two shapes (PyTorch's rule), if they broadcast.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let at = |s: &[usize], i: usize| (i + s.len()).checked_sub(rank).map_or(1, |j| s[j]);
    (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y || y == 1 => Some(x),
            (1, y) => Some(y),
            _ => None,
        })
        .collect()
}

fn extra_shape(rule: ExtraShape, input: &[usize]) -> BoxedStrategy<Vec<usize>> {
    let input = input.to_vec();
    match rule {
        ExtraShape::Input => {
            let (trailing, wrong) = (input.clone(), input.clone());
            prop_oneof![
                10 => Just(input),
                2 => Just(trailing.iter().skip(1).copied().collect::<Vec<_>>()),
                1 => Just(wrong).prop_map(|mut s| {
                    match s.last_mut() {
                        Some(last) => *last += 2,
                        None => s.push(3),
                    }
                    s
                }),
            ]
            .boxed()
        }
        ExtraShape::LastDim => {
            let last = input.last().copied().unwrap_or(1);
            prop_oneof![
                10 => Just(vec![last]),
                1 => Just(vec![1]),
                1 => Just(vec![last + 2]),
            ]
            .boxed()
        }
    }
}

/// The op's tensor parameters, in order.
fn tensor_params(op: Op) -> impl Iterator<Item = &'static str> {
    op.spec()
        .params
        .iter()
        .filter(|p| matches!(p.kind, Kind::Tensor | Kind::TensorOrFloat))
        .map(|p| p.name)
}

/// Random cases of the element-wise loss `spec` describes.
pub fn elementwise_case(spec: &'static ElementwiseCases) -> impl Strategy<Value = Case> {
    let shape = prop_oneof![
        6 => prop::collection::vec(0..5usize, 0..=spec.max_rank),
        2 => (1..6usize).prop_map(|n| vec![n, 1]),
    ]
    .prop_map(move |mut s| {
        s.truncate(spec.max_rank);
        s
    });
    (super::float_dtype(), shape)
        .prop_flat_map(move |(dtype, shape)| {
            let extras: Vec<_> = spec
                .extras
                .iter()
                .map(|e| prop::option::weighted(e.present, extra_shape(e.shape, &shape)).boxed())
                .collect();
            (
                Just(dtype),
                Just(shape.clone()),
                pointwise_target_shape(shape),
                extras,
            )
        })
        .prop_flat_map(move |(dtype, shape, tshape, eshapes)| {
            let n: usize = shape.iter().product();
            let tn: usize = tshape.iter().product();
            let extras: Vec<_> = spec
                .extras
                .iter()
                .zip(&eshapes)
                .map(|(e, s)| match s {
                    Some(s) => draw(e.draw, s.iter().product()).prop_map(Some).boxed(),
                    None => Just(None).boxed(),
                })
                .collect();
            let bools = prop::collection::vec(any::<bool>(), spec.bools.len());
            let numbers: Vec<_> = spec
                .numbers
                .iter()
                .map(|(_, values)| select(values.to_vec()))
                .collect();
            // Every tensor parameter: the input mostly, the others autograd
            // differentiates often, those PyTorch refuses now and then.
            let op = spec.op.spec();
            let wrt: Vec<_> = tensor_params(spec.op)
                .map(|n| {
                    prop::bool::weighted(match n {
                        "input" => 0.8,
                        n if op.differentiable.contains(&n) => 0.4,
                        _ => 0.05,
                    })
                })
                .collect();
            (
                (draw(spec.input, n), draw(spec.target, tn), extras),
                (bools, numbers, select(spec.reductions.to_vec())),
                (prop::bool::weighted(0.75), wrt),
                (Just(dtype), Just(shape), Just(tshape), Just(eshapes)),
            )
        })
        .prop_flat_map(move |(values, options, grads, shapes)| {
            let (dtype, shape, tshape, eshapes) = shapes.clone();
            let mut out = broadcast(&shape, &tshape).unwrap_or_else(|| shape.clone());
            // The extras of the input's shape broadcast into the loss, and with the class
            // mean (`loss * weight`, then the mean) a per-class weight does too.
            for (e, s) in spec.extras.iter().zip(&eshapes) {
                let joins = matches!(e.shape, ExtraShape::Input) || spec.class_mean;
                if let (true, Some(s)) = (joins, s) {
                    out = broadcast(&out, s).unwrap_or(out);
                }
            }
            // The class mean sums dimension `input.dim() - 1` of the broadcast shape.
            if spec.class_mean && !shape.is_empty() && shape.len() <= out.len() {
                out.remove(shape.len() - 1);
            }
            let reduction = options.2;
            let out = if reduction == "none" { out } else { Vec::new() };
            let grad_output = prop::option::weighted(0.5, uniform(dtype, out, -2.0, 2.0));
            (Just((values, options, grads, shapes)), grad_output)
        })
        .prop_map(move |((values, options, grads, shapes), grad_output)| {
            let ((x, t, extras), (bools, numbers, reduction)) = (values, options);
            let (dtype, shape, tshape, eshapes) = shapes;
            let mut case = Case::new(spec.op, float_tensor(dtype, shape, x));
            case.set_tensor("target", Some(float_tensor(dtype, tshape, t)));
            for ((e, s), v) in spec.extras.iter().zip(eshapes).zip(extras) {
                if let (Some(s), Some(v)) = (s, v) {
                    case.set_tensor(e.name, Some(float_tensor(dtype, s, v)));
                }
            }
            for (name, b) in spec.bools.iter().zip(bools) {
                case.set_arg(name, b);
            }
            for ((name, _), v) in spec.numbers.iter().zip(numbers) {
                case.set_arg(name, v);
            }
            case.set_arg("reduction", Arg::Str(reduction.to_string()));
            let (grad, wrt) = grads;
            case.grad = grad;
            case.grad_output = grad_output.filter(|_| grad);
            let names: Vec<&'static str> = tensor_params(spec.op)
                .zip(wrt)
                .filter(|(n, w)| *w && case.tensor(n).is_some_and(|t| t.dtype.is_float()))
                .map(|(n, _)| n)
                .collect();
            if grad && !names.is_empty() && names != ["input"] {
                case.grad_wrt = Some(names);
            }
            case
        })
}
