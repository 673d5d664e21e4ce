//! Random cases of the margin losses with two inputs (`margin_ranking_loss`,
//! `cosine_embedding_loss`) and of the hinge losses on class indices
//! (`multi_margin_loss`, `multilabel_margin_loss`); `hinge_embedding_loss` is drawn
//! from its element-wise description. Each reaches its layouts (unbatched, batched,
//! broadcasting where PyTorch broadcasts, empty), every option and reduction, every
//! error, and the mistakes people make: {0, 1} labels where {-1, 1} are meant, one-hot
//! rows for `multi_margin_loss`, 0/1 masks for `multilabel_margin_loss`.
//!
//! The two hinge losses on class indices reduce an empty batch into memory libtorch
//! never writes (`mean` and `sum` return whatever was there), so their empty inputs
//! are drawn with `reduction='none'` only.

use proptest::prelude::*;
use proptest::sample::select;

use super::{float_dtype, float_tensor, grad, logits};
use crate::case::{Case, DType, Op, TensorData};
use crate::losses::{internals, Reduction};

/// How a case's labels are written: the {-1, 1} the op wants, the {0, 1} of binary
/// classification, or any value (which PyTorch compares with 1 and -1 all the same).
fn labels(n: usize) -> BoxedStrategy<Vec<f64>> {
    prop_oneof![
        8 => prop::collection::vec(select(vec![-1.0, 1.0]), n),
        2 => prop::collection::vec(select(vec![0.0, 1.0]), n),
        1 => prop::collection::vec(prop_oneof![3 => select(vec![-1.0, 1.0]), 1 => -2.0..2.0f64], n),
    ]
    .boxed()
}

/// A label tensor: mostly of the input's float type, sometimes int64 (PyTorch
/// promotes it).
fn label_tensor(dtype: DType, shape: Vec<usize>, values: Vec<f64>, int: bool) -> TensorData {
    if int && values.iter().all(|v| v.fract() == 0.0) {
        TensorData::int(
            DType::Int64,
            shape,
            values.iter().map(|&v| v as i64).collect(),
        )
    } else {
        float_tensor(dtype, shape, values)
    }
}

fn reduction() -> impl Strategy<Value = Reduction> {
    select(vec![Reduction::None, Reduction::Mean, Reduction::Sum])
}

/// `grad_wrt` as the case can take it: the names it has as float tensors, or the
/// default when that leaves nothing.
fn set_grad_wrt(case: &mut Case, names: &[&'static str]) {
    let names: Vec<&'static str> = names
        .iter()
        .copied()
        .filter(|n| case.tensor(n).is_some_and(|t| t.dtype.is_float()))
        .collect();
    if case.grad && !names.is_empty() {
        case.grad_wrt = Some(names);
    }
}

/// How one tensor of a two-input loss (or of a triplet) is shaped against the common
/// shape.
#[derive(Debug, Clone, Copy)]
pub(super) enum Fit {
    Same,
    /// Some sizes collapsed to 1 (broadcast).
    Ones,
    /// One dimension fewer (or one more, for 0-D): Python's dimension check.
    Rank,
    /// A last size that fits neither the others nor 1.
    Misfit,
}

/// A [`Fit`], `Same` with weight `same` against 5 for the others together.
pub(super) fn fit_with(same: u32) -> impl Strategy<Value = Fit> {
    prop_oneof![
        same => Just(Fit::Same),
        3 => Just(Fit::Ones),
        1 => Just(Fit::Rank),
        1 => Just(Fit::Misfit),
    ]
}

/// `shape` reshaped as `fit` says (`ones` picks the sizes `Ones` collapses).
pub(super) fn fitted(shape: &[usize], fit: Fit, ones: &[bool]) -> Vec<usize> {
    let mut s = shape.to_vec();
    match fit {
        Fit::Same => {}
        Fit::Ones => s
            .iter_mut()
            .zip(ones)
            .filter(|(_, &one)| one)
            .for_each(|(d, _)| *d = 1),
        Fit::Rank if s.is_empty() => s.push(1),
        Fit::Rank => {
            s.remove(0);
        }
        Fit::Misfit => match s.last_mut() {
            Some(last) => *last += 2,
            None => s.push(2),
        },
    }
    s
}

/// `margin_ranking_loss` cases: ranks 0 to 3 with empty sizes, the three tensors of
/// one shape or broadcasting (sizes of 1), now and then of another rank or a size that
/// does not fit; labels {-1, 1}, sometimes {0, 1} or int64; every margin sign.
pub fn margin_ranking_case() -> impl Strategy<Value = Case> {
    let shape = prop::collection::vec(0..5usize, 0..=3);
    (
        float_dtype(),
        shape,
        [fit_with(10), fit_with(10), fit_with(10)],
        prop::collection::vec(any::<bool>(), 9),
    )
        .prop_flat_map(|(dtype, shape, fits, ones)| {
            let shapes: Vec<Vec<usize>> = (0..3)
                .map(|k| fitted(&shape, fits[k], &ones[3 * k..3 * k + 3]))
                .collect();
            let numel = |s: &[usize]| s.iter().product::<usize>();
            let wrt = prop_oneof![
                6 => Just(&[][..]),
                2 => Just(&["input1", "input2", "target"][..]),
                1 => Just(&["input1"][..]),
                1 => Just(&["input2", "target"][..]),
                1 => Just(&["target"][..]),
            ];
            (
                (
                    logits(numel(&shapes[0])),
                    logits(numel(&shapes[1])),
                    labels(numel(&shapes[2])),
                    prop::bool::weighted(0.1),
                ),
                (
                    select(vec![0.0, 0.5, 1.0, -0.5]),
                    reduction(),
                    wrt,
                    Just(dtype),
                    Just(shapes),
                ),
            )
        })
        .prop_flat_map(|(values, (margin, reduction, wrt, dtype, shapes))| {
            let out = match reduction {
                Reduction::None => {
                    internals::check_margin_ranking_loss_shapes(&shapes[0], &shapes[1], &shapes[2])
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            };
            (
                Just((values, margin, reduction, wrt, dtype, shapes)),
                grad(dtype, out),
            )
        })
        .prop_map(|((values, margin, reduction, wrt, dtype, shapes), g)| {
            let (a, b, y, int_target) = values;
            let mut case = Case::new(
                Op::named("margin_ranking_loss").expect("registered"),
                float_tensor(dtype, shapes[0].clone(), a),
            );
            case.set_tensor("input2", Some(float_tensor(dtype, shapes[1].clone(), b)));
            case.set_tensor(
                "target",
                Some(label_tensor(dtype, shapes[2].clone(), y, int_target)),
            );
            case.set_arg("margin", margin);
            case.set_arg("reduction", reduction);
            (case.grad, case.grad_output) = (g.0, g.1.filter(|_| g.0));
            set_grad_wrt(&mut case, wrt);
            case
        })
}

/// How a `cosine_embedding_loss` case is laid out.
#[derive(Debug, Clone, Copy)]
enum CosineLayout {
    /// `(N, D)` inputs, an `(N)` target; either input sometimes `(1, D)` and the
    /// target sometimes `(1)` (both broadcast).
    Batched,
    /// `(D)` inputs, a 0-D target: one pair.
    Unbatched,
    /// `(N, D, 2)` inputs.
    ThreeD,
    /// `(D)` inputs with an `(N)` target.
    BatchOfTargets,
    /// An `(N, 1)` target.
    TwoDTarget,
    /// `(N, D)` inputs with a 0-D target.
    ScalarTarget,
    /// The inputs' last sizes differ.
    Columns,
    /// The inputs' batches differ (neither is 1).
    Rows,
}

/// `cosine_embedding_loss` cases: batched and unbatched pairs, broadcasting inputs and
/// targets, empty batches and zero-length vectors, zero rows and parallel inputs (the
/// loss's minimum, where the gradient is rounding noise), every shape error.
pub fn cosine_embedding_case() -> impl Strategy<Value = Case> {
    let layout = prop_oneof![
        12 => Just(CosineLayout::Batched),
        4 => Just(CosineLayout::Unbatched),
        1 => Just(CosineLayout::ThreeD),
        1 => Just(CosineLayout::BatchOfTargets),
        1 => Just(CosineLayout::TwoDTarget),
        1 => Just(CosineLayout::ScalarTarget),
        1 => Just(CosineLayout::Columns),
        1 => Just(CosineLayout::Rows),
    ];
    (
        float_dtype(),
        layout,
        0..5usize,
        prop_oneof![1 => Just(0usize), 8 => 1..6usize],
        [
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
            prop::bool::weighted(0.15),
        ],
    )
        .prop_flat_map(|(dtype, layout, n, d, ones)| {
            let rows = |one: bool| if one { 1 } else { n };
            let (s1, s2, st): (Vec<usize>, Vec<usize>, Vec<usize>) = match layout {
                CosineLayout::Batched => (
                    vec![rows(ones[0]), d],
                    vec![rows(ones[1]), d],
                    vec![rows(ones[2])],
                ),
                CosineLayout::Unbatched => (vec![d], vec![d], vec![]),
                CosineLayout::ThreeD => (vec![n, d, 2], vec![n, d, 2], vec![n]),
                CosineLayout::BatchOfTargets => (vec![d], vec![d], vec![n]),
                CosineLayout::TwoDTarget => (vec![n, d], vec![n, d], vec![n, 1]),
                CosineLayout::ScalarTarget => (vec![n, d], vec![n, d], vec![]),
                CosineLayout::Columns => (vec![n, d], vec![n, d + 1], vec![n]),
                CosineLayout::Rows => (vec![n + 2, d], vec![n + 3, d], vec![n + 2]),
            };
            let out =
                internals::check_cosine_embedding_loss_shapes(&s1, &s2, &st).unwrap_or_default();
            let numel = |s: &[usize]| s.iter().product::<usize>();
            let wrt = prop_oneof![
                6 => Just(&[][..]),
                2 => Just(&["input1", "input2", "target"][..]),
                1 => Just(&["input1"][..]),
                1 => Just(&["input2"][..]),
                1 => Just(&["target"][..]),
            ];
            // How input2 relates to input1 when they have one shape: drawn on its own,
            // parallel (a multiple), or with zero rows.
            let relation = prop_oneof![6 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
            (
                (
                    logits(numel(&s1)),
                    logits(numel(&s2)),
                    labels(numel(&st)),
                    prop::bool::weighted(0.1),
                    relation,
                    prop_oneof![Just(2.0f64), Just(-0.5), Just(1.0)],
                ),
                (
                    select(vec![0.0, 0.5, -0.5, 1.0]),
                    reduction(),
                    wrt,
                    Just(dtype),
                    Just((s1, s2, st)),
                ),
                Just(out),
            )
        })
        .prop_flat_map(|(values, options, out)| {
            let (dtype, reduction) = (options.3, options.1);
            let out = if reduction == Reduction::None {
                out
            } else {
                Vec::new()
            };
            (Just((values, options)), grad(dtype, out))
        })
        .prop_map(|((values, options), g)| {
            let (a, mut b, y, int_target, relation, k) = values;
            let (margin, reduction, wrt, dtype, (s1, s2, st)) = options;
            if s1 == s2 {
                match relation {
                    1 => b = a.iter().map(|v| v * k).collect(),
                    2 => {
                        let d = s1.last().copied().unwrap_or(1).max(1);
                        b.iter_mut().take(d).for_each(|v| *v = 0.0);
                    }
                    _ => {}
                }
            }
            let mut case = Case::new(
                Op::named("cosine_embedding_loss").expect("registered"),
                float_tensor(dtype, s1, a),
            );
            case.set_tensor("input2", Some(float_tensor(dtype, s2, b)));
            case.set_tensor("target", Some(label_tensor(dtype, st, y, int_target)));
            case.set_arg("margin", margin);
            case.set_arg("reduction", reduction);
            (case.grad, case.grad_output) = (g.0, g.1.filter(|_| g.0));
            set_grad_wrt(&mut case, wrt);
            case
        })
}

/// Input layouts of the hinge losses on class indices: 0-D (one sample, one class),
/// `(C)`, `(N, C)` with empty batches, and the shapes their kernels refuse.
fn class_scores_layout() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        1 => Just(vec![]),
        3 => (1..6usize).prop_map(|c| vec![c]),
        8 => (prop_oneof![1 => Just(0usize), 6 => 1..5usize], 1..6usize).prop_map(|(n, c)| vec![n, c]),
        1 => (0..3usize).prop_map(|n| vec![n, 0]),
        1 => Just(vec![0]),
        1 => (1..3usize, 1..4usize).prop_map(|(n, c)| vec![n, c, 2]),
    ]
}

/// Samples and classes of a scores layout, as the kernels count them.
fn frames(shape: &[usize]) -> (usize, usize) {
    match shape.len() {
        0 => (1, 1),
        1 => (1, shape[0]),
        _ => (shape[0], shape[1]),
    }
}

/// The reduction, `none` for an empty input (see the module's docs).
fn reduction_for(shape: &[usize], r: Reduction) -> Reduction {
    let valid = shape.len() <= 2 && shape.last() != Some(&0);
    if valid && shape.iter().product::<usize>() == 0 {
        Reduction::None
    } else {
        r
    }
}

/// How a `multi_margin_loss` target is written.
#[derive(Debug, Clone, Copy)]
enum ClassTarget {
    Indices,
    OutOfRange,
    Negative,
    OneHot,
    Float,
    Bytes,
    WrongSize,
}

/// `multi_margin_loss` cases: every layout, class indices in range and out of it,
/// one-hot rows, float and uint8 targets, p 1 and 2 (and invalid ones), every margin
/// sign (and one float32 cannot hold), class weights positive, zero, negative, of the
/// wrong size, dimensions or dtype, and a weight that requires grad.
pub fn multi_margin_case() -> impl Strategy<Value = Case> {
    let target = prop_oneof![
        20 => Just(ClassTarget::Indices),
        2 => Just(ClassTarget::OutOfRange),
        1 => Just(ClassTarget::Negative),
        2 => Just(ClassTarget::OneHot),
        1 => Just(ClassTarget::Float),
        1 => Just(ClassTarget::Bytes),
        1 => Just(ClassTarget::WrongSize),
    ];
    let weight = prop_oneof![
        8 => Just(0u8),
        4 => Just(1u8),
        2 => Just(2u8),
        1 => Just(3u8),
        1 => Just(4u8),
        1 => Just(5u8),
    ];
    (
        float_dtype(),
        class_scores_layout(),
        target,
        weight,
        prop::bool::ANY,
    )
        .prop_flat_map(|(dtype, shape, target, weight, scalar_target)| {
            let (n, c) = frames(&shape);
            let numel = shape.iter().product::<usize>();
            let p = prop_oneof![8 => Just(1i64), 6 => Just(2i64), 1 => select(vec![0i64, 3, -1])];
            let margin = prop_oneof![
                20 => select(vec![1.0, 0.0, 0.5, 2.0, -1.0]),
                1 => Just(1e39),
            ];
            let wrt = prop_oneof![
                10 => Just(&[][..]),
                1 => Just(&["input", "weight"][..]),
                1 => Just(&["weight"][..]),
                1 => Just(&["input", "target"][..]),
            ];
            (
                (
                    logits(numel),
                    prop::collection::vec(0..c.max(1) as i64, n),
                    0..n.max(1),
                    prop::collection::vec(
                        prop_oneof![4 => 0.1..3.0f64, 1 => Just(0.0), 1 => -1.0..0.0f64],
                        c + 1,
                    ),
                ),
                (p, margin, reduction(), wrt),
                Just((dtype, shape, target, weight, scalar_target)),
            )
        })
        .prop_flat_map(|(values, options, layout)| {
            let (dtype, shape, target, _, scalar_target) = layout.clone();
            let reduction = reduction_for(&shape, options.2);
            let (n, _) = frames(&shape);
            let unbatched = shape.len() <= 1;
            let none = if unbatched && scalar_target && !matches!(target, ClassTarget::OneHot) {
                vec![]
            } else {
                vec![n]
            };
            let out = if reduction == Reduction::None {
                none
            } else {
                vec![]
            };
            (Just((values, options, layout, reduction)), grad(dtype, out))
        })
        .prop_map(|((values, options, layout, reduction), g)| {
            let (x, mut classes, at, w) = values;
            let (p, margin, _, wrt) = options;
            let (dtype, shape, target, weight, scalar_target) = layout;
            let (n, c) = frames(&shape);
            let unbatched = shape.len() <= 1;
            let mut tshape = if unbatched && scalar_target {
                vec![]
            } else {
                vec![n]
            };
            if !classes.is_empty() {
                match target {
                    ClassTarget::OutOfRange => classes[at] = (c + at % 2) as i64,
                    ClassTarget::Negative => classes[at] = -1,
                    _ => {}
                }
            }
            let t = match target {
                ClassTarget::OneHot if c > 0 => {
                    let mut hot = vec![0i64; n * c];
                    for (r, &k) in classes.iter().enumerate() {
                        hot[r * c + k as usize] = 1;
                    }
                    TensorData::int(DType::Int64, vec![n, c], hot)
                }
                ClassTarget::Float => {
                    float_tensor(dtype, tshape, classes.iter().map(|&k| k as f64).collect())
                }
                ClassTarget::Bytes => TensorData::int(DType::UInt8, tshape, classes),
                ClassTarget::WrongSize => {
                    tshape = vec![n + 1];
                    classes.push(0);
                    TensorData::int(DType::Int64, tshape, classes)
                }
                _ => TensorData::int(DType::Int64, tshape, classes),
            };
            let mut case = Case::new(
                Op::named("multi_margin_loss").expect("registered"),
                float_tensor(dtype, shape, x),
            );
            case.set_tensor("target", Some(t));
            let other = if dtype == DType::Float32 {
                DType::Float64
            } else {
                DType::Float32
            };
            let weight = match weight {
                1 => Some(float_tensor(
                    dtype,
                    vec![c],
                    w[..c].iter().map(|v| v.abs() + 0.1).collect(),
                )),
                2 => Some(float_tensor(dtype, vec![c], w[..c].to_vec())),
                3 => Some(float_tensor(dtype, vec![c + 1], w)),
                4 => Some(float_tensor(dtype, vec![1, c], w[..c].to_vec())),
                5 => Some(float_tensor(other, vec![c], w[..c].to_vec())),
                _ => None,
            };
            case.set_tensor("weight", weight);
            case.set_arg("p", p);
            case.set_arg("margin", margin);
            case.set_arg("reduction", reduction);
            (case.grad, case.grad_output) = (g.0, g.1.filter(|_| g.0));
            set_grad_wrt(&mut case, wrt);
            case
        })
}

/// How a `multilabel_margin_loss` target is written.
#[derive(Debug, Clone, Copy)]
enum LabelTarget {
    /// Each row: classes, then -1, then anything in [-1, C).
    Lists,
    /// Rows listing a class twice.
    Repeated,
    /// A 0/1 mask of the input's shape (the mistake).
    Mask,
    /// One entry C or -2, even past the first -1.
    OutOfRange,
    Float,
    WrongShape,
}

/// `multilabel_margin_loss` cases: every layout, label lists of every length (none,
/// all classes, unterminated rows), repeated labels, entries past the first -1, 0/1
/// masks, out-of-range entries, float targets and wrong shapes.
pub fn multilabel_margin_case() -> impl Strategy<Value = Case> {
    let target = prop_oneof![
        16 => Just(LabelTarget::Lists),
        2 => Just(LabelTarget::Repeated),
        3 => Just(LabelTarget::Mask),
        2 => Just(LabelTarget::OutOfRange),
        1 => Just(LabelTarget::Float),
        1 => Just(LabelTarget::WrongShape),
    ];
    (
        float_dtype(),
        class_scores_layout(),
        target,
        prop::bool::ANY,
    )
        .prop_flat_map(|(dtype, shape, target, one_element)| {
            let (n, c) = frames(&shape);
            let numel = shape.iter().product::<usize>();
            let rows = if shape.len() == 2 { n } else { 1 };
            let row = (
                prop::collection::vec(0.0..1.0f64, c),
                0..=c,
                prop::collection::vec(-1..c.max(1) as i64, c),
                prop::collection::vec(0..2i64, c),
            );
            let wrt = prop_oneof![8 => Just(&[][..]), 1 => Just(&["input", "target"][..])];
            (
                (logits(numel), prop::collection::vec(row, rows), 0..c.max(1)),
                (reduction(), wrt),
                Just((dtype, shape, target, one_element)),
            )
                .prop_flat_map(|(values, options, layout)| {
                    let (dtype, shape, ..) = layout.clone();
                    let reduction = reduction_for(&shape, options.0);
                    let out = if reduction == Reduction::None && shape.len() == 2 {
                        vec![shape[0]]
                    } else {
                        vec![]
                    };
                    (Just((values, options, layout, reduction)), grad(dtype, out))
                })
        })
        .prop_map(|((values, options, layout, reduction), g)| {
            let (x, rows, at) = values;
            let (_, wrt) = options;
            let (dtype, shape, target, one_element) = layout;
            let (_, c) = frames(&shape);
            let mut t: Vec<i64> = Vec::new();
            for (keys, k, junk, mask) in &rows {
                let mut classes: Vec<i64> = (0..c as i64).collect();
                classes.sort_by(|&a, &b| keys[a as usize].total_cmp(&keys[b as usize]));
                let mut r: Vec<i64> = match target {
                    LabelTarget::Mask => mask.clone(),
                    _ => {
                        let mut r = classes[..*k].to_vec();
                        if *k < c {
                            r.push(-1);
                            r.extend(&junk[..c - *k - 1]);
                        }
                        r
                    }
                };
                if matches!(target, LabelTarget::Repeated) && *k >= 2 {
                    r[1] = r[0];
                }
                t.extend(r);
            }
            let mut tshape = if shape.is_empty() && !one_element {
                vec![]
            } else if shape.is_empty() {
                vec![1]
            } else {
                shape.clone()
            };
            if shape.is_empty() {
                // One class: the target lists it or ends at once.
                t = vec![if at % 2 == 0 { 0 } else { -1 }];
            }
            if let (LabelTarget::OutOfRange, false) = (target, t.is_empty()) {
                let i = at % t.len();
                t[i] = if at % 2 == 0 { c as i64 } else { -2 };
            }
            // Layouts the kernel refuses (3-D inputs) still get a target of their shape.
            t.resize(tshape.iter().product(), -1);
            let t = match target {
                LabelTarget::Float => {
                    float_tensor(dtype, tshape, t.iter().map(|&v| v as f64).collect())
                }
                LabelTarget::WrongShape => {
                    tshape = match shape.len() {
                        2 => vec![shape[0]],
                        _ => vec![c + 1],
                    };
                    let n = tshape.iter().product::<usize>();
                    TensorData::int(DType::Int64, tshape, vec![-1; n])
                }
                _ => TensorData::int(DType::Int64, tshape, t),
            };
            let mut case = Case::new(
                Op::named("multilabel_margin_loss").expect("registered"),
                float_tensor(dtype, shape, x),
            );
            case.set_tensor("target", Some(t));
            case.set_arg("reduction", reduction);
            (case.grad, case.grad_output) = (g.0, g.1.filter(|_| g.0));
            set_grad_wrt(&mut case, wrt);
            case
        })
}
