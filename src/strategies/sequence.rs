//! Random cases of the triplet losses and of `ctc_loss`.
//!
//! Triplets: ranks 0 to 3 with empty sizes, the three tensors of one shape or
//! broadcasting (sizes of 1), now and then of another rank or a size that fits no
//! broadcast; every order `p` (exact special cases, general ones, 0, infinity,
//! negative), `eps` (0 included), `swap`, margins of both signs (0 and below are
//! refused), anchors identical to their positives, every reduction and `grad_wrt`.
//!
//! CTC: time-first `(T, N, C)` and unbatched `(T, C)` log-probabilities (mostly a
//! `log_softmax`, sometimes raw scores, now and then a `-inf`), padded and concatenated
//! targets with labels that repeat and sometimes equal the blank, input lengths down to
//! 0 and too short for their targets, `zero_infinity`, int64 and uint8 lengths, every
//! reduction; and, in a separate branch, each of libtorch's argument errors. Labels
//! within a target length are always classes in `[0, C)`: libtorch does not check them
//! and reads out of bounds (see the known divergence `ctc-label-out-of-range`).

use proptest::prelude::*;
use proptest::sample::select;

use super::margin::{fit_with, fitted};
use super::{float_dtype, float_tensor, grad, logits};
use crate::case::{Case, DType, Op, TensorData};
use crate::losses::{internals, Reduction};

fn reduction() -> impl Strategy<Value = Reduction> {
    select(vec![Reduction::None, Reduction::Mean, Reduction::Sum])
}

/// Cases of `triplet_margin_loss` (`with_distance` false) or of
/// `triplet_margin_with_distance_loss` (true, no `p` or `eps`).
pub fn triplet_case(with_distance: bool) -> impl Strategy<Value = Case> {
    let shape = prop_oneof![
        1 => Just(Vec::new()),
        2 => (0..6usize).prop_map(|d| vec![d]),
        5 => (0..5usize, 0..6usize).prop_map(|(n, d)| vec![n, d]),
        1 => (0..3usize, 0..3usize, 0..4usize).prop_map(|(n, m, d)| vec![n, m, d]),
    ];
    let p = prop_oneof![
        8 => Just(2.0),
        3 => Just(1.0),
        1 => Just(3.0),
        1 => Just(1.5),
        1 => Just(0.0),
        1 => Just(f64::INFINITY),
        1 => Just(-1.0),
    ];
    let margin = prop_oneof![
        10 => select(vec![1.0, 0.5, 2.0, 0.1]),
        1 => select(vec![0.0, -1.0]),
    ];
    (
        float_dtype(),
        shape,
        [fit_with(14), fit_with(14), fit_with(14)],
        prop::collection::vec(any::<bool>(), 9),
        (
            p,
            select(vec![1e-6, 1e-6, 0.0, 1e-3]),
            margin,
            any::<bool>(),
        ),
        prop::bool::weighted(0.15),
    )
        .prop_flat_map(move |(dtype, shape, fits, ones, options, same)| {
            let shapes: Vec<Vec<usize>> = (0..3)
                .map(|k| fitted(&shape, fits[k], &ones[3 * k..3 * k + 3]))
                .collect();
            let numel = |s: &[usize]| s.iter().product::<usize>();
            let wrt = prop_oneof![
                6 => Just(&[][..]),
                1 => Just(&["anchor"][..]),
                1 => Just(&["positive", "negative"][..]),
                1 => Just(&["negative"][..]),
            ];
            (
                (
                    logits(numel(&shapes[0])),
                    logits(numel(&shapes[1])),
                    logits(numel(&shapes[2])),
                ),
                (Just(options), reduction(), wrt, Just(same)),
                Just((dtype, shapes)),
            )
        })
        .prop_flat_map(move |(values, (options, reduction, wrt, same), layout)| {
            let (dtype, shapes) = layout.clone();
            let (p, _, margin, swap) = options;
            let p = if with_distance { 2.0 } else { p };
            let out = match reduction {
                Reduction::None => internals::check_triplet_margin_loss_shapes(
                    &shapes[0], &shapes[1], &shapes[2], 1.0, p, swap,
                )
                .unwrap_or_default(),
                _ => Vec::new(),
            };
            let _ = margin;
            (
                Just((values, options, reduction, wrt, same, layout)),
                grad(dtype, out),
            )
        })
        .prop_map(
            move |((values, options, reduction, wrt, same, layout), g)| {
                let (a, mut pos, n) = values;
                let (p, eps, margin, swap) = options;
                let (dtype, shapes) = layout;
                if same && shapes[0] == shapes[1] {
                    pos = a.clone();
                }
                let name = if with_distance {
                    "triplet_margin_with_distance_loss"
                } else {
                    "triplet_margin_loss"
                };
                let mut case = Case::new(
                    Op::named(name).expect("registered"),
                    float_tensor(dtype, shapes[0].clone(), a),
                );
                case.set_tensor(
                    "positive",
                    Some(float_tensor(dtype, shapes[1].clone(), pos)),
                );
                case.set_tensor("negative", Some(float_tensor(dtype, shapes[2].clone(), n)));
                case.set_arg("margin", margin);
                if !with_distance {
                    case.set_arg("p", p);
                    case.set_arg("eps", eps);
                }
                case.set_arg("swap", swap);
                case.set_arg("reduction", reduction);
                (case.grad, case.grad_output) = (g.0, g.1.filter(|_| g.0));
                if case.grad && !wrt.is_empty() {
                    case.grad_wrt = Some(wrt.to_vec());
                }
                case
            },
        )
}

/// A malformation of a valid `ctc_loss` call, to reach libtorch's argument errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CtcError {
    None,
    /// Float input lengths ("must be integral").
    FloatLengths,
    /// A 0-D, 1-D or 4-D input.
    InputRank,
    /// An empty input (T = 0).
    Empty,
    /// 3-D targets.
    TargetRank,
    /// blank = C.
    Blank,
    /// One input length too many.
    LengthCount,
    /// An input length above T.
    LongInput,
    /// A negative target length.
    NegativeLength,
    /// A target length past the padded targets' width.
    LongTarget,
    /// A batch-first input: `(N, T, C)` with the lengths of `(T, N, C)`.
    BatchFirst,
    /// An integer input.
    IntegerInput,
}

fn log_softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    row.iter().map(|v| v - lse).collect()
}

/// `ctc_loss` cases.
pub fn ctc_case() -> impl Strategy<Value = Case> {
    // Mostly valid calls; each error about once in 52 (a weighted choice by index, as
    // prop_oneof! with this many arms is not Send).
    let error = (0..52u32).prop_map(|k| match k {
        40 => CtcError::FloatLengths,
        41 => CtcError::InputRank,
        42 => CtcError::Empty,
        43 => CtcError::TargetRank,
        44 => CtcError::Blank,
        45 => CtcError::LengthCount,
        46 => CtcError::LongInput,
        47 => CtcError::NegativeLength,
        48 => CtcError::LongTarget,
        49 | 50 => CtcError::BatchFirst,
        51 => CtcError::IntegerInput,
        _ => CtcError::None,
    });
    (
        float_dtype(),
        (1..8usize, 1..4usize, 1..6usize, prop::bool::weighted(0.2)),
        error,
        (
            any::<bool>(),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.15),
        ),
    )
        .prop_flat_map(|(dtype, (t, n, c, unbatched), error, flags)| {
            let n = if unbatched { 1 } else { n };
            let sample = (
                0..=t,
                prop::collection::vec(0..c as i64, t),
                prop_oneof![4 => Just(None), 1 => (0..=t).prop_map(Some)],
            );
            (
                Just((dtype, t, n, c, unbatched, error, flags)),
                (
                    prop::collection::vec(-4.0..4.0f64, t * n * c),
                    prop::bool::weighted(0.1),
                    prop::bool::weighted(0.08),
                    0..(t * n * c),
                ),
                prop::collection::vec(sample, n),
                (
                    prop_oneof![4 => Just(0i64), 1 => Just(c as i64 - 1)],
                    reduction(),
                    any::<bool>(),
                    prop::bool::weighted(0.1),
                    prop::bool::weighted(0.1),
                ),
            )
        })
        .prop_flat_map(|(layout, values, samples, options)| {
            let (dtype, _, n, _, unbatched, error, _) = layout;
            let (_, reduction, ..) = options;
            let out = match (reduction, unbatched, error) {
                (_, _, CtcError::BatchFirst) | (Reduction::Mean | Reduction::Sum, _, _) => {
                    Vec::new()
                }
                (Reduction::None, true, _) => Vec::new(),
                (Reduction::None, false, _) => vec![n],
            };
            (Just((layout, values, samples, options)), grad(dtype, out))
        })
        .prop_map(|((layout, values, samples, options), g)| {
            let (dtype, t, n, c, unbatched, error, (padded, byte_lengths, raw)) = layout;
            let (mut x, with_inf, _, at) = values;
            let (blank, reduction, zero_infinity, blank_label, _) = options;
            // The labels: mostly not the blank (another class where there is one).
            let label = |v: i64| {
                if blank_label || c == 1 || v != blank {
                    v
                } else {
                    (v + 1) % c as i64
                }
            };
            let mut target_lengths = Vec::with_capacity(n);
            let mut input_lengths = Vec::with_capacity(n);
            let mut rows: Vec<Vec<i64>> = Vec::with_capacity(n);
            for (s, labels, short) in &samples {
                let s = (*s).min(t);
                let row: Vec<i64> = labels[..s].iter().map(|&v| label(v)).collect();
                let need = s + row.windows(2).filter(|w| w[0] == w[1]).count();
                let il = match short {
                    Some(l) => *l,
                    None => need.max(t.min(need + 2)).min(t),
                };
                target_lengths.push(s as i64);
                input_lengths.push(il as i64);
                rows.push(row);
            }
            if !raw {
                for row in x.chunks_mut(c) {
                    let l = log_softmax(row);
                    row.copy_from_slice(&l);
                }
            }
            if with_inf {
                x[at] = f64::NEG_INFINITY;
            }
            let width = rows.iter().map(Vec::len).max().unwrap_or(0);
            let (tshape, tvalues) = if padded || error == CtcError::LongTarget {
                let mut v = Vec::with_capacity(n * width);
                for row in &rows {
                    v.extend(row);
                    v.extend(std::iter::repeat_n(
                        blank.min(c as i64 - 1),
                        width - row.len(),
                    ));
                }
                (vec![n, width], v)
            } else {
                let v: Vec<i64> = rows.concat();
                (vec![v.len()], v)
            };
            let mut lp_shape = if unbatched { vec![t, c] } else { vec![t, n, c] };
            let mut tshape = tshape;
            let mut tvalues = tvalues;
            let mut blank = blank;
            let mut lp_dtype = dtype;
            let mut float_lengths = false;
            match error {
                CtcError::None => {}
                CtcError::FloatLengths => float_lengths = true,
                CtcError::InputRank => {
                    lp_shape = match x.len() % 3 {
                        0 => vec![],
                        1 => vec![x.len()],
                        _ => vec![1, t, n, c],
                    };
                    x.truncate(lp_shape.iter().product());
                }
                CtcError::Empty => {
                    lp_shape[0] = 0;
                    x.clear();
                }
                CtcError::TargetRank => tshape = vec![1, 1, tvalues.len()],
                CtcError::Blank => blank = c as i64,
                CtcError::LengthCount => input_lengths.push(t as i64),
                CtcError::LongInput => input_lengths[0] = t as i64 + 1,
                CtcError::NegativeLength => target_lengths[0] = -1,
                CtcError::LongTarget => target_lengths[0] = width as i64 + 1,
                CtcError::BatchFirst => {
                    // (N, T, C) values with (T, N, C) lengths: N input lengths of T each,
                    // read against dimension 1.
                    lp_shape = vec![n + 1, t, c];
                    x = (0..(n + 1) * t * c)
                        .map(|i| x[i % x.len().max(1)])
                        .collect();
                    input_lengths = vec![t as i64; n + 1];
                    target_lengths.push(0);
                    if padded {
                        tshape[0] += 1;
                        tvalues.extend(std::iter::repeat_n(0, width));
                    }
                }
                CtcError::IntegerInput => lp_dtype = DType::Int64,
            }
            let lp = if lp_dtype == DType::Int64 {
                TensorData::int(
                    DType::Int64,
                    lp_shape,
                    x.iter().map(|&v| v.max(-1e6) as i64).collect(),
                )
            } else {
                float_tensor(dtype, lp_shape, x)
            };
            // Each tensor its own count of values: 0-D for one unbatched sample.
            let lengths = |v: Vec<i64>| {
                let lengths_shape = if unbatched && v.len() == 1 {
                    vec![]
                } else {
                    vec![v.len()]
                };
                if float_lengths {
                    float_tensor(
                        DType::Float32,
                        lengths_shape,
                        v.iter().map(|&x| x as f64).collect(),
                    )
                } else if byte_lengths && v.iter().all(|x| (0..=255).contains(x)) {
                    TensorData::int(DType::UInt8, lengths_shape, v)
                } else {
                    TensorData::int(DType::Int64, lengths_shape, v)
                }
            };
            let mut case = Case::new(Op::named("ctc_loss").expect("registered"), lp);
            case.set_tensor(
                "targets",
                Some(TensorData::int(DType::Int64, tshape, tvalues)),
            );
            case.set_tensor("input_lengths", Some(lengths(input_lengths)));
            case.set_tensor("target_lengths", Some(lengths(target_lengths)));
            case.set_arg("blank", blank);
            case.set_arg("reduction", reduction);
            case.set_arg("zero_infinity", zero_infinity);
            (case.grad, case.grad_output) = (g.0, g.1.filter(|_| g.0));
            if lp_dtype == DType::Int64 {
                case.grad = false;
                case.grad_output = None;
            }
            case
        })
}
