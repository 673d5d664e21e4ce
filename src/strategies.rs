//! Random cases for the conformance tests and the divergence report, built from shapes
//! down (`prop_flat_map`, no rejection): every op, float32 and float64, `(C)`, `(N, C)`
//! and K-dimensional layouts up to 5-D with empty and one-class sizes, targets in range
//! and out of it, ignore_index inside and outside the class range, weights positive,
//! zero, negative or absent, every reduction, label smoothing in and out of [0, 1],
//! probability targets, logits from tiny to +-1e4 with occasional infinities and NaN,
//! random `grad_output`, and deliberately malformed calls (wrong dtypes and shapes).

mod elementwise;
mod linear;
mod margin;
mod sequence;

use proptest::prelude::*;
use proptest::sample::select;

pub use elementwise::{elementwise_case, Draw, ElementwiseCases, Extra, ExtraShape};
pub use linear::linear_cross_entropy_case;
pub use margin::{
    cosine_embedding_case, margin_ranking_case, multi_margin_case, multilabel_margin_case,
};
pub use sequence::{ctc_case, triplet_case};

use crate::case::{Case, DType, Op, TensorData, Values};
use crate::losses::Reduction;

/// float32 or float64.
pub fn float_dtype() -> impl Strategy<Value = DType> {
    select(vec![DType::Float32, DType::Float64])
}

/// One logit: mostly moderate, sometimes tiny, sometimes huge.
fn logit() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => -10.0..10.0f64,
        2 => -1e-6..1e-6f64,
        2 => select(vec![1e4, -1e4, 3e3, -3e3]),
        1 => -1e4..1e4f64,
    ]
}

/// Values for a tensor of `n` elements; a few cases carry infinities or NaN.
fn logits(n: usize) -> impl Strategy<Value = Vec<f64>> {
    let specials = select(vec![f64::INFINITY, f64::NEG_INFINITY, f64::NAN]);
    (
        prop::collection::vec(logit(), n),
        prop::bool::weighted(0.08),
        prop::collection::vec((0..n.max(1), specials), 1..3),
    )
        .prop_map(move |(mut v, special, picks)| {
            if special && n > 0 {
                for (i, s) in picks {
                    v[i % n] = s;
                }
            }
            v
        })
}

fn float_tensor(dtype: DType, shape: Vec<usize>, values: Vec<f64>) -> TensorData {
    let values = if dtype == DType::Float32 {
        values.into_iter().map(|v| v as f32 as f64).collect()
    } else {
        values
    };
    TensorData::float(dtype, shape, values)
}

/// A tensor of the given shape with values in `lo..hi`.
fn uniform(dtype: DType, shape: Vec<usize>, lo: f64, hi: f64) -> impl Strategy<Value = TensorData> {
    let n: usize = shape.iter().product();
    prop::collection::vec(lo..hi, n).prop_map(move |v| float_tensor(dtype, shape.clone(), v))
}

/// Input layouts of a loss: `(C)`, `(N, C)`, `(N, C, d1..dK)` for K = 1..3.
pub fn loss_layout() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        1 => (0..7usize).prop_map(|c| vec![c]),
        3 => (0..6usize, prop_oneof![1 => Just(0usize), 12 => 1..8usize]).prop_map(|(n, c)| vec![n, c]),
        3 => (0..4usize, 1..5usize, prop::collection::vec(0..4usize, 1..=3)).prop_map(|(n, c, rest)| {
            let mut s = vec![n, c];
            s.extend(rest);
            s
        }),
    ]
}

/// The target shape that fits a loss input.
pub fn target_shape(input: &[usize]) -> Vec<usize> {
    match input.len() {
        0 | 1 => Vec::new(),
        _ => std::iter::once(input[0])
            .chain(input[2..].iter().copied())
            .collect(),
    }
}

fn classes_of(input: &[usize]) -> usize {
    match input.len() {
        0 => 0,
        1 => input[0],
        _ => input[1],
    }
}

/// How targets are written: every value a class or ignored, or one value corrupted.
#[derive(Debug, Clone, Copy)]
enum Corruption {
    None,
    OutOfBounds,
    Negative,
}

fn index_target(
    shape: Vec<usize>,
    classes: usize,
    ignore_index: i64,
) -> impl Strategy<Value = TensorData> {
    let n: usize = shape.iter().product();
    let corruption = prop_oneof![
        17 => Just(Corruption::None),
        2 => Just(Corruption::OutOfBounds),
        1 => Just(Corruption::Negative),
    ];
    (
        prop::collection::vec((0..classes.max(1) as i64, 0.0..1.0f64), n),
        select(vec![0.0, 0.0, 0.2, 0.5, 1.0]),
        corruption,
        0..n.max(1),
        prop::bool::weighted(0.12),
    )
        .prop_map(move |(raw, ignore_share, corruption, at, as_bytes)| {
            let mut values: Vec<i64> = raw
                .into_iter()
                .map(|(c, u)| if u < ignore_share { ignore_index } else { c })
                .collect();
            if n > 0 {
                match corruption {
                    Corruption::None => {}
                    Corruption::OutOfBounds => values[at] = classes as i64 + (at % 3) as i64,
                    Corruption::Negative => values[at] = -1 - (at % 2) as i64,
                }
            }
            let fits_byte = values.iter().all(|v| (0..=255).contains(v));
            let dtype = if as_bytes && fits_byte {
                DType::UInt8
            } else {
                DType::Int64
            };
            TensorData::int(dtype, shape.clone(), values)
        })
}

fn ignore_index(classes: usize) -> impl Strategy<Value = i64> {
    prop_oneof![
        6 => Just(-100i64),
        2 => 0..classes.max(1) as i64,
        1 => (classes as i64 + 1)..(classes as i64 + 5),
        1 => Just(-1i64),
    ]
}

fn weight(dtype: DType, classes: usize) -> impl Strategy<Value = Option<TensorData>> {
    prop_oneof![
        4 => Just(None),
        3 => uniform(dtype, vec![classes], 0.1, 3.0).prop_map(Some),
        2 => prop::collection::vec(prop_oneof![Just(0.0), -1.0..2.0f64], classes)
            .prop_map(move |v| Some(float_tensor(dtype, vec![classes], v))),
    ]
}

fn reduction() -> impl Strategy<Value = Reduction> {
    select(vec![Reduction::None, Reduction::Mean, Reduction::Sum])
}

fn label_smoothing() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => Just(0.0),
        6 => 0.0..1.0f64,
        1 => Just(1.0),
        1 => 1.0001..3.0f64,
        2 => -1.0..-0.0001f64,
    ]
}

/// `grad` and `grad_output` for an output shape.
fn grad(
    dtype: DType,
    output_shape: Vec<usize>,
) -> impl Strategy<Value = (bool, Option<TensorData>)> {
    (
        prop::bool::weighted(0.75),
        prop::option::weighted(0.6, uniform(dtype, output_shape, -2.0, 2.0)),
    )
}

/// Which tensors a loss case differentiates (`grad_wrt`), before [`with_grad_wrt`]
/// keeps only those the case has as floating-point tensors: mostly the default, then
/// the target and weight of class probabilities, or a weight PyTorch refuses.
fn grad_wrt() -> impl Strategy<Value = &'static [&'static str]> {
    prop_oneof![
        6 => Just(&[][..]),
        2 => Just(&["input", "target"][..]),
        1 => Just(&["input", "target", "weight"][..]),
        1 => Just(&["weight"][..]),
        1 => Just(&["input", "weight"][..]),
    ]
}

/// The case with `grad_wrt` set to the names it can differentiate (floating-point
/// tensors it has); the default when that leaves nothing or only the input.
fn with_grad_wrt(mut case: Case, names: &[&'static str]) -> Case {
    let names: Vec<&'static str> = names
        .iter()
        .copied()
        .filter(|n| case.tensor(n).is_some_and(|t| t.dtype.is_float()))
        .collect();
    if case.grad && !names.is_empty() && names != ["input"] {
        case.grad_wrt = Some(names);
    }
    case
}

/// A malformation applied to a valid loss case, to exercise PyTorch's errors.
#[derive(Debug, Clone, Copy)]
enum Malformation {
    None,
    FloatTarget,
    TargetDropDim,
    TargetExtraDim,
    TargetBatch,
    TargetSize,
    WeightLength,
    WeightDtype,
    ScalarInput,
}

fn malformation() -> impl Strategy<Value = Malformation> {
    prop_oneof![
        40 => Just(Malformation::None),
        1 => Just(Malformation::FloatTarget),
        1 => Just(Malformation::TargetDropDim),
        1 => Just(Malformation::TargetExtraDim),
        1 => Just(Malformation::TargetBatch),
        1 => Just(Malformation::TargetSize),
        1 => Just(Malformation::WeightLength),
        1 => Just(Malformation::WeightDtype),
        1 => Just(Malformation::ScalarInput),
    ]
}

fn reshape_target(t: &TensorData, shape: Vec<usize>) -> TensorData {
    let n: usize = shape.iter().product();
    let values = match &t.values {
        Values::Int(v) => Values::Int((0..n).map(|i| v.get(i).copied().unwrap_or(0)).collect()),
        Values::Float(v) => {
            Values::Float((0..n).map(|i| v.get(i).copied().unwrap_or(0.0)).collect())
        }
    };
    TensorData {
        dtype: t.dtype,
        shape,
        values,
    }
}

fn malform(mut case: Case, how: Malformation) -> Case {
    let Some(target) = case.target().cloned() else {
        return case;
    };
    let classes = classes_of(&case.input().shape);
    match how {
        Malformation::None => {}
        Malformation::FloatTarget => {
            let values = match &target.values {
                Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
                Values::Float(v) => v.clone(),
            };
            case.set_tensor(
                "target",
                Some(float_tensor(
                    case.input().dtype,
                    target.shape.clone(),
                    values,
                )),
            );
        }
        Malformation::TargetDropDim => {
            let mut s = target.shape.clone();
            s.pop();
            case.set_tensor("target", Some(reshape_target(&target, s)));
        }
        Malformation::TargetExtraDim => {
            let mut s = target.shape.clone();
            s.push(classes.max(1));
            case.set_tensor("target", Some(reshape_target(&target, s)));
        }
        Malformation::TargetBatch => {
            let mut s = target.shape.clone();
            match s.first_mut() {
                Some(first) => *first += 1,
                None => s.push(3),
            }
            case.set_tensor("target", Some(reshape_target(&target, s)));
        }
        Malformation::TargetSize => {
            let mut s = target.shape.clone();
            if let Some(last) = s.last_mut() {
                *last += 1;
            }
            case.set_tensor("target", Some(reshape_target(&target, s)));
        }
        Malformation::WeightLength => {
            let n = classes + 1;
            case.set_tensor(
                "weight",
                Some(float_tensor(case.input().dtype, vec![n], vec![1.0; n])),
            );
        }
        Malformation::WeightDtype => {
            let other = if case.input().dtype == DType::Float32 {
                DType::Float64
            } else {
                DType::Float32
            };
            case.set_tensor(
                "weight",
                Some(float_tensor(other, vec![classes], vec![0.5; classes])),
            );
        }
        Malformation::ScalarInput => {
            *case.input_mut() = float_tensor(case.input().dtype, vec![], vec![0.25]);
            case.set_tensor(
                "target",
                Some(TensorData::int(DType::Int64, vec![], vec![0])),
            );
        }
    }
    case
}

/// `nll_loss` cases: log-probability-like inputs (or any logits), index targets.
pub fn nll_loss_case() -> impl Strategy<Value = Case> {
    (float_dtype(), loss_layout()).prop_flat_map(|(dtype, shape)| {
        let classes = classes_of(&shape);
        let n: usize = shape.iter().product();
        let tshape = target_shape(&shape);
        (
            ignore_index(classes),
            logits(n),
            weight(dtype, classes),
            reduction(),
            malformation(),
        )
            .prop_flat_map(move |(ii, values, weight, reduction, how)| {
                let shape = shape.clone();
                let out_shape = if reduction == Reduction::None {
                    tshape.clone()
                } else {
                    vec![]
                };
                (
                    index_target(tshape.clone(), classes, ii),
                    grad(dtype, out_shape),
                    grad_wrt(),
                )
                    .prop_map(move |(target, (grad, grad_output), wrt)| {
                        let mut case = Case::new(
                            Op::NLL_LOSS,
                            float_tensor(dtype, shape.clone(), values.clone()),
                        );
                        case.set_tensor("target", Some(target));
                        case.set_tensor("weight", weight.clone());
                        case.set_arg("ignore_index", ii);
                        case.set_arg("reduction", reduction);
                        case.grad = grad;
                        case.grad_output = grad_output.filter(|_| grad);
                        with_grad_wrt(malform(case, how), wrt)
                    })
            })
    })
}

/// `cross_entropy` cases: logits with class-index or class-probability targets.
pub fn cross_entropy_case() -> impl Strategy<Value = Case> {
    (float_dtype(), loss_layout(), prop::bool::weighted(0.3)).prop_flat_map(
        |(dtype, shape, probabilities)| {
            let classes = classes_of(&shape);
            let n: usize = shape.iter().product();
            let tshape = target_shape(&shape);
            let ii = if probabilities {
                prop_oneof![9 => Just(-100i64), 1 => 0..3i64].boxed()
            } else {
                ignore_index(classes).boxed()
            };
            (
                ii,
                logits(n),
                weight(dtype, classes),
                reduction(),
                label_smoothing(),
                malformation(),
                prop::bool::ANY,
            )
                .prop_flat_map(
                    move |(ii, values, weight, reduction, ls, how, normalise)| {
                        let shape = shape.clone();
                        let out_shape = if reduction == Reduction::None {
                            tshape.clone()
                        } else {
                            vec![]
                        };
                        let target = if probabilities {
                            uniform(dtype, shape.clone(), 0.0, 1.0)
                                .prop_map(
                                    move |t| if normalise { normalised(t, classes) } else { t },
                                )
                                .boxed()
                        } else {
                            index_target(tshape.clone(), classes, ii).boxed()
                        };
                        (target, grad(dtype, out_shape), grad_wrt()).prop_map(
                            move |(target, (grad, grad_output), wrt)| {
                                let mut case = Case::new(
                                    Op::CROSS_ENTROPY,
                                    float_tensor(dtype, shape.clone(), values.clone()),
                                );
                                case.set_tensor("target", Some(target));
                                case.set_tensor("weight", weight.clone());
                                case.set_arg("ignore_index", ii);
                                case.set_arg("reduction", reduction);
                                case.set_arg("label_smoothing", ls);
                                case.grad = grad;
                                case.grad_output = grad_output.filter(|_| grad);
                                if probabilities && matches!(how, Malformation::WeightDtype) {
                                    // libtorch promotes instead of raising: not a malformation here.
                                    return with_grad_wrt(case, wrt);
                                }
                                with_grad_wrt(malform(case, how), wrt)
                            },
                        )
                    },
                )
        },
    )
}

/// Divides each class-dimension slice by its sum, so rows are distributions.
fn normalised(t: TensorData, classes: usize) -> TensorData {
    let Values::Float(v) = &t.values else {
        return t;
    };
    if classes == 0 || t.shape.is_empty() {
        return t;
    }
    let map: usize = if t.shape.len() > 2 {
        t.shape[2..].iter().product()
    } else {
        1
    };
    let mut out = v.clone();
    let batch = v.len() / (classes * map).max(1);
    for b in 0..batch {
        for s in 0..map {
            let idx = |c: usize| (b * classes + c) * map + s;
            let total: f64 = (0..classes).map(|c| v[idx(c)]).sum();
            if total > 0.0 {
                (0..classes).for_each(|c| out[idx(c)] = v[idx(c)] / total);
            }
        }
    }
    float_tensor(t.dtype, t.shape.clone(), out)
}

/// `log_softmax` / `softmax` cases: any rank 0..=5, `dim` in and out of range.
pub fn softmax_case(op: Op) -> impl Strategy<Value = Case> {
    (float_dtype(), prop::collection::vec(0..5usize, 0..=5)).prop_flat_map(move |(dtype, shape)| {
        let n: usize = shape.iter().product();
        let r = shape.len().max(1) as i64;
        (
            logits(n),
            prop_oneof![12 => -r..r, 1 => select(vec![-r - 1, r])],
            grad(dtype, shape.clone()),
        )
            .prop_map(move |(values, dim, (grad, grad_output))| {
                let mut case = Case::new(op, float_tensor(dtype, shape.clone(), values));
                case.set_arg("dim", dim);
                case.grad = grad;
                case.grad_output = grad_output.filter(|_| grad);
                case
            })
    })
}

/// Cases of every element-wise loss of the registry that draws its cases from an
/// [`ElementwiseCases`] description, each op equally often.
pub fn elementwise_ops_case() -> impl Strategy<Value = Case> {
    let strategies: Vec<_> = Op::all()
        .filter(|op| op.spec().cases.is_some())
        .map(|op| (op.spec().strategy)())
        .collect();
    proptest::strategy::Union::new(strategies)
}

/// Any case: every op of the registry, each equally often.
pub fn any_case() -> impl Strategy<Value = Case> {
    proptest::strategy::Union::new(Op::all().map(|op| (op.spec().strategy)()))
}

/// Target shapes for an element-wise loss of an input of `shape`: mostly the same,
/// sometimes one that broadcasts (the classic `(N, 1)` input against an `(N)` target
/// among them), sometimes one that does not.
fn pointwise_target_shape(shape: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let trailing = shape.clone();
    let bigger = shape.clone();
    let wrong = shape.clone();
    let squeezed = shape.clone();
    prop_oneof![
        12 => Just(shape),
        2 => Just(trailing).prop_map(|s| s.iter().skip(1).copied().collect()),
        2 => Just(squeezed).prop_map(|s| {
            if s.last() == Some(&1) {
                vec![s[0]]
            } else {
                s
            }
        }),
        1 => (1..4usize).prop_map(move |k| {
            let mut s = vec![k];
            s.extend(&bigger);
            s
        }),
        1 => Just(wrong).prop_map(|mut s| {
            if let Some(last) = s.last_mut() {
                *last += 2;
            } else {
                s.push(2);
            }
            s
        }),
    ]
}

/// `mse_loss` / `l1_loss` cases: any rank 0..=4 with empty sizes and `(N, 1)` columns,
/// targets that broadcast or not (sometimes of integers, which PyTorch promotes),
/// weights of the input's shape or not, with zeros and negative values, every
/// reduction, and gradients with respect to the input, the target and the weight.
pub fn pointwise_case(op: Op) -> impl Strategy<Value = Case> {
    let shape = prop_oneof![
        6 => prop::collection::vec(0..5usize, 0..=4),
        2 => (1..6usize).prop_map(|n| vec![n, 1]),
    ];
    (float_dtype(), shape)
        .prop_flat_map(|(dtype, shape)| (Just(dtype), Just(shape.clone()), pointwise_target_shape(shape)))
        .prop_flat_map(move |(dtype, shape, tshape)| {
            let n: usize = shape.iter().product();
            let tn: usize = tshape.iter().product();
            let weight = prop_oneof![
                6 => Just(None),
                3 => prop::collection::vec(prop_oneof![4 => 0.0..2.0f64, 1 => Just(0.0), 1 => -1.0..0.0f64], n)
                    .prop_map(Some),
                1 => Just(Some(vec![1.0; n + 1])),
            ];
            (
                logits(n),
                logits(tn),
                prop::bool::weighted(0.1),
                weight,
                reduction(),
                prop::bool::weighted(0.75),
                grad_wrt(),
            )
                .prop_flat_map(move |(x, t, int_target, w, reduction, grad, wrt)| {
                    let shape = shape.clone();
                    let tshape = tshape.clone();
                    let out: Vec<usize> = if reduction == Reduction::None {
                        let rank = shape.len().max(tshape.len());
                        let at = |s: &[usize], i: usize| {
                            (i + s.len()).checked_sub(rank).map_or(1, |j| s[j])
                        };
                        (0..rank)
                            .map(|i| match at(&shape, i) {
                                1 => at(&tshape, i),
                                size => size,
                            })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let grad_output = prop::option::weighted(0.5, uniform(dtype, out, -2.0, 2.0));
                    grad_output.prop_map(move |grad_output| {
                        let mut case = Case::new(op, float_tensor(dtype, shape.clone(), x.clone()));
                        let target = if int_target {
                            let v = t.iter().map(|v| if v.is_finite() { v.round() as i64 % 7 } else { 0 }).collect();
                            TensorData::int(DType::Int64, tshape.clone(), v)
                        } else {
                            float_tensor(dtype, tshape.clone(), t.clone())
                        };
                        case.set_tensor("target", Some(target));
                        if let Some(w) = &w {
                            let wshape = if w.len() == n { shape.clone() } else { vec![w.len()] };
                            case.set_tensor("weight", Some(float_tensor(dtype, wshape, w.clone())));
                        }
                        case.set_arg("reduction", reduction);
                        case.grad = grad;
                        case.grad_output = grad_output.filter(|_| grad);
                        with_grad_wrt(case, wrt)
                    })
                })
        })
}
