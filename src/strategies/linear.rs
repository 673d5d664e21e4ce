//! `linear_cross_entropy` cases: one sample or a small batch of features, a
//! `(C, in_features)` or K-dimensional `(C, d1, .., in_features)` weight, a bias or
//! none, class-index targets (ignore_index unset, -100, a class or outside) or class
//! probabilities (ignore_index unset, or set: PyTorch's refusal), class weights, every
//! reduction, label smoothing, empty batches, empty features, and each error of the
//! checks written in Python, of `linear` (mixed and integer dtypes) and of
//! `cross_entropy`.
//!
//! Features and weights come mostly from a dyadic grid (`k / 8`, and ±512), whose
//! products and sums are exact in float32: both sides then have the same logits, and
//! the comparison tests `cross_entropy` on them; the other cases draw moderate values
//! (|logit| below about 20), where the two matrix products' roundings stay within the
//! tolerance policy.

use proptest::prelude::*;
use proptest::sample::select;

use super::{
    float_dtype, float_tensor, grad, index_target, label_smoothing, normalised, reduction,
    target_shape, uniform, weight, with_grad_wrt,
};
use crate::case::{Case, DType, Op, TensorData, Values};
use crate::losses::Reduction;

/// Values of the dyadic grid: exact products and sums in float32.
fn grid() -> impl Strategy<Value = f64> {
    prop_oneof![
        20 => (-24i32..=24).prop_map(|k| f64::from(k) / 8.0),
        1 => select(vec![512.0, -512.0, 64.0]),
    ]
}

/// `n` features or weights: dyadic, moderate, or with an infinity or NaN.
fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    let specials = select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
    prop_oneof![
        6 => prop::collection::vec(grid(), n),
        4 => prop::collection::vec(-1.5..1.5f64, n),
        1 => (prop::collection::vec(grid(), n), 0..n.max(1), specials).prop_map(move |(mut v, at, s)| {
            if n > 0 {
                v[at] = s;
            }
            v
        }),
    ]
}

/// A malformation of a valid call, to reach PyTorch's errors.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Malformation {
    None,
    Input3d,
    Input0d,
    Weight1d,
    TransposedWeight,
    BiasClassesPlusOne,
    BiasInFeatures,
    BiasColumn,
    WeightDtype,
    BiasDtype,
    InputDtype,
    IntegerOperands,
    ClassWeightLength,
    ClassWeightDtype,
    FloatIndexTarget,
    TargetBatch,
    TargetSize,
}

fn malformation() -> impl Strategy<Value = Malformation> {
    use Malformation::*;
    prop_oneof![
        42 => Just(None),
        1 => Just(Input3d),
        1 => Just(Input0d),
        1 => Just(Weight1d),
        2 => Just(TransposedWeight),
        1 => Just(BiasClassesPlusOne),
        1 => Just(BiasInFeatures),
        1 => Just(BiasColumn),
        1 => Just(WeightDtype),
        1 => Just(BiasDtype),
        1 => Just(InputDtype),
        1 => Just(IntegerOperands),
        1 => Just(ClassWeightLength),
        1 => Just(ClassWeightDtype),
        1 => Just(FloatIndexTarget),
        1 => Just(TargetBatch),
        1 => Just(TargetSize),
    ]
}

/// The shapes of a call: input, linear_weight (its extra dimensions included) and the
/// logits they make.
#[derive(Debug, Clone)]
struct Shapes {
    input: Vec<usize>,
    weight: Vec<usize>,
    logits: Vec<usize>,
}

fn shapes() -> impl Strategy<Value = Shapes> {
    let batch = prop_oneof![
        2 => Just(None),
        1 => Just(Some(0usize)),
        7 => (1..5usize).prop_map(Some),
    ];
    let in_features = prop_oneof![1 => Just(0usize), 9 => 1..5usize];
    let classes = prop_oneof![1 => Just(0usize), 1 => Just(1usize), 8 => 2..6usize];
    let extra = prop_oneof![
        6 => Just(Vec::new()),
        2 => prop::collection::vec(1..4usize, 1..=2),
        1 => Just(vec![0usize]),
    ];
    (batch, in_features, classes, extra).prop_map(|(batch, f, c, extra)| {
        // A K-dimensional weight needs a batch: its unbatched form is a malformation.
        let extra = if batch.is_some() { extra } else { Vec::new() };
        let input = match batch {
            Some(n) => vec![n, f],
            None => vec![f],
        };
        let mut weight = vec![c];
        weight.extend(&extra);
        weight.push(f);
        let mut logits: Vec<usize> = batch.into_iter().collect();
        logits.push(c);
        logits.extend(&extra);
        Shapes {
            input,
            weight,
            logits,
        }
    })
}

/// Which tensors to differentiate, before [`with_grad_wrt`] keeps those the case has.
fn grad_wrt() -> impl Strategy<Value = &'static [&'static str]> {
    prop_oneof![
        5 => Just(&[][..]),
        2 => Just(&["input", "linear_weight", "linear_bias"][..]),
        1 => Just(&["linear_weight"][..]),
        1 => Just(&["linear_bias", "input"][..]),
        1 => Just(&["input", "linear_weight", "target", "weight"][..]),
        1 => Just(&["target"][..]),
        1 => Just(&["weight", "linear_bias"][..]),
    ]
}

/// `linear_cross_entropy` cases.
pub fn linear_cross_entropy_case() -> impl Strategy<Value = Case> {
    (float_dtype(), shapes(), prop::bool::weighted(0.3)).prop_flat_map(
        |(dtype, shapes, probabilities)| {
            let classes = shapes.weight[0];
            let ii = if probabilities {
                prop_oneof![9 => Just(None), 1 => select(vec![-100i64, 0]).prop_map(Some)].boxed()
            } else {
                prop_oneof![
                    5 => Just(None),
                    2 => Just(Some(-100i64)),
                    2 => (0..classes.max(1) as i64).prop_map(Some),
                    1 => Just(Some(classes as i64 + 1)),
                ]
                .boxed()
            };
            let nx: usize = shapes.input.iter().product();
            let nw: usize = shapes.weight.iter().product();
            let outputs: usize = shapes.weight[..shapes.weight.len() - 1].iter().product();
            (
                ii,
                values(nx),
                values(nw),
                prop::option::weighted(0.5, values(outputs)),
                weight(dtype, classes),
                reduction(),
                label_smoothing(),
                malformation(),
                prop::bool::ANY,
            )
                .prop_flat_map(
                    move |(ii, x, w, bias, class_weight, reduction, ls, how, normalise)| {
                        let shapes = shapes.clone();
                        let tshape = target_shape(&shapes.logits);
                        let out_shape = if reduction == Reduction::None {
                            tshape.clone()
                        } else {
                            vec![]
                        };
                        let target = if probabilities {
                            uniform(dtype, shapes.logits.clone(), 0.0, 1.0)
                                .prop_map(
                                    move |t| if normalise { normalised(t, classes) } else { t },
                                )
                                .boxed()
                        } else {
                            index_target(tshape, classes, ii.unwrap_or(-100)).boxed()
                        };
                        (target, grad(dtype, out_shape), grad_wrt()).prop_map(
                            move |(target, (grad, grad_output), wrt)| {
                                let mut case = Case::new(
                                    Op::LINEAR_CROSS_ENTROPY,
                                    float_tensor(dtype, shapes.input.clone(), x.clone()),
                                );
                                case.set_tensor(
                                    "linear_weight",
                                    Some(float_tensor(dtype, shapes.weight.clone(), w.clone())),
                                );
                                case.set_tensor("target", Some(target));
                                let bias_shape = &shapes.weight[..shapes.weight.len() - 1];
                                case.set_tensor(
                                    "linear_bias",
                                    bias.as_ref().map(|b| {
                                        float_tensor(dtype, bias_shape.to_vec(), b.clone())
                                    }),
                                );
                                case.set_tensor("weight", class_weight.clone());
                                if let Some(ii) = ii {
                                    case.set_arg("ignore_index", ii);
                                }
                                case.set_arg("reduction", reduction);
                                case.set_arg("label_smoothing", ls);
                                case.grad = grad;
                                case.grad_output = grad_output.filter(|_| grad);
                                with_grad_wrt(malform(case, how, probabilities), wrt)
                            },
                        )
                    },
                )
        },
    )
}

fn values_of(t: &TensorData, n: usize) -> Vec<f64> {
    let v: Vec<f64> = match &t.values {
        Values::Float(v) => v.clone(),
        Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
    };
    (0..n).map(|i| v.get(i).copied().unwrap_or(0.5)).collect()
}

fn logits_have_elements(x: &TensorData, w: &TensorData) -> bool {
    let batch = &x.shape[..x.shape.len().saturating_sub(1)];
    let outputs = &w.shape[..w.shape.len().saturating_sub(1)];
    batch.iter().chain(outputs).all(|&d| d > 0)
}

fn other_float(dtype: DType) -> DType {
    if dtype == DType::Float32 {
        DType::Float64
    } else {
        DType::Float32
    }
}

fn malform(mut case: Case, how: Malformation, probabilities: bool) -> Case {
    let dtype = case.input().dtype;
    let x = case.input().clone();
    let Some(w) = case.tensor("linear_weight").cloned() else {
        return case;
    };
    let in_features = *x.shape.last().unwrap_or(&0);
    let classes = w.shape[0];
    let set = |case: &mut Case, name: &str, dtype: DType, shape: Vec<usize>, from: &TensorData| {
        let n = shape.iter().product();
        let v = values_of(from, n);
        case.set_tensor(name, Some(float_tensor(dtype, shape, v)));
    };
    match how {
        Malformation::None => {}
        Malformation::Input3d => {
            let mut shape = vec![2];
            shape.extend(&x.shape);
            set(&mut case, "input", dtype, shape, &x);
        }
        Malformation::Input0d => set(&mut case, "input", dtype, vec![], &x),
        Malformation::Weight1d => set(&mut case, "linear_weight", dtype, vec![in_features], &w),
        Malformation::TransposedWeight if w.shape.len() == 2 => {
            // nn.Linear's math layout: the (in_features, C) matrix of input @ W.
            let v = values_of(&w, classes * in_features);
            let t: Vec<f64> = (0..in_features * classes)
                .map(|i| v[(i % classes) * in_features + i / classes])
                .collect();
            case.set_tensor(
                "linear_weight",
                Some(float_tensor(dtype, vec![in_features, classes], t)),
            );
        }
        Malformation::TransposedWeight => {
            // A K-dimensional weight with one unbatched sample.
            let one = x.shape.last().map_or(vec![], |&f| vec![f]);
            set(&mut case, "input", dtype, one, &x);
        }
        Malformation::BiasClassesPlusOne => {
            set(&mut case, "linear_bias", dtype, vec![classes + 1], &w)
        }
        Malformation::BiasInFeatures if in_features != classes => {
            set(&mut case, "linear_bias", dtype, vec![in_features], &w)
        }
        Malformation::BiasInFeatures | Malformation::BiasColumn => {
            set(&mut case, "linear_bias", dtype, vec![classes, 1], &w)
        }
        Malformation::WeightDtype => set(
            &mut case,
            "linear_weight",
            other_float(dtype),
            w.shape.clone(),
            &w,
        ),
        Malformation::BiasDtype => {
            let shape = w.shape[..w.shape.len() - 1].to_vec();
            let from = case.tensor("linear_bias").cloned().unwrap_or(w);
            set(&mut case, "linear_bias", other_float(dtype), shape, &from);
        }
        // Only with logits that have elements: `log_softmax` of an empty integer
        // tensor succeeds and the call reaches `nll_loss`'s integer paths, which the
        // harness's `cross_entropy` side does not model either (a gap of both ops).
        Malformation::InputDtype => {
            set(&mut case, "input", other_float(dtype), x.shape.clone(), &x)
        }
        Malformation::IntegerOperands if logits_have_elements(&x, &w) => {
            let ints = |t: &TensorData| {
                let v = values_of(t, t.shape.iter().product())
                    .iter()
                    .map(|v| {
                        if v.is_finite() {
                            (v * 2.0).round() as i64 % 5
                        } else {
                            1
                        }
                    })
                    .collect();
                TensorData::int(DType::Int64, t.shape.clone(), v)
            };
            case.set_tensor("input", Some(ints(&x)));
            case.set_tensor("linear_weight", Some(ints(&w)));
            case.set_tensor("linear_bias", None);
            case.grad_wrt = None;
            case.grad = false;
        }
        Malformation::IntegerOperands => {}
        Malformation::ClassWeightLength => {
            let n = classes + 1;
            case.set_tensor("weight", Some(float_tensor(dtype, vec![n], vec![1.0; n])));
        }
        // libtorch promotes a class weight of another type with probabilities.
        Malformation::ClassWeightDtype if !probabilities => {
            let other = other_float(dtype);
            case.set_tensor(
                "weight",
                Some(float_tensor(other, vec![classes], vec![0.5; classes])),
            );
        }
        Malformation::ClassWeightDtype => {}
        Malformation::FloatIndexTarget if !probabilities => {
            let t = case.target().cloned().expect("target");
            set(&mut case, "target", dtype, t.shape.clone(), &t);
        }
        Malformation::FloatIndexTarget => {}
        Malformation::TargetBatch | Malformation::TargetSize => {
            let t = case.target().cloned().expect("target");
            let mut shape = t.shape.clone();
            let at = if how == Malformation::TargetSize {
                shape.last_mut()
            } else {
                shape.first_mut()
            };
            match at {
                Some(first) => *first += 1,
                None => shape.push(2),
            }
            let n: usize = shape.iter().product();
            let v = values_of(&t, n);
            let target = match t.values {
                Values::Int(_) => {
                    TensorData::int(t.dtype, shape, v.iter().map(|&x| x as i64).collect())
                }
                Values::Float(_) => float_tensor(t.dtype, shape, v),
            };
            case.set_tensor("target", Some(target));
        }
    }
    case
}
