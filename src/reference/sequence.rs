//! The reference of the triplet losses and of `ctc_loss`, in double-double arithmetic:
//! their outputs (the gradients are not computed here, so a gradient divergence of these
//! ops is not explained by the reference).
//!
//! Triplet: each distance `norm(x1 - x2 + eps, p, dim=-1)` over the broadcast of the
//! pair, exact for `p = 1` and `p = 2` (other orders give no reference), then
//! `clamp_min(margin + d(a, p) - d_neg, 0)` (NaN kept) and the reduction. `margin` and
//! `eps` are the scalars libtorch uses: rounded to the tensors' type.
//!
//! CTC: the alpha recursion of each sample over its extended label sequence (blanks
//! between and around the labels), in log space with exact log-sum-exps, `-log` of the
//! last two states' total, `zero_infinity`, and the reductions (`mean` divides each
//! loss by its target length clamped to at least 1, then averages over the batch).

use super::{broadcast_index, grad_output, sum, Dd, Reference, ReferenceTensor};
use crate::case::{Case, DType, TensorData};
use crate::losses::internals;

/// The broadcast of two shapes, right-aligned; `None` when they do not broadcast.
fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let at = |s: &[usize], i: usize| {
        let lead = n - s.len();
        if i < lead {
            1
        } else {
            s[i - lead]
        }
    };
    (0..n)
        .map(|i| match (at(a, i), at(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// A scalar as libtorch applies it to tensors of `dtype`.
fn in_type(v: f64, dtype: DType) -> f64 {
    if dtype == DType::Float32 {
        v as f32 as f64
    } else {
        v
    }
}

/// `pairwise_distance(x, y, p, eps)`: the distances (row-major over the difference's
/// shape without its last dimension) and their shape.
fn distances(x: &TensorData, y: &TensorData, p: f64, eps: f64) -> Option<(Vec<usize>, Vec<Dd>)> {
    let shape = broadcast(&x.shape, &y.shape)?;
    let (xi, yi) = (
        broadcast_index(&x.shape, &shape)?,
        broadcast_index(&y.shape, &shape)?,
    );
    let (xv, yv) = (x.floats()?, y.floats()?);
    let len = shape.last().copied().unwrap_or(1);
    let out_shape = shape[..shape.len().saturating_sub(1)].to_vec();
    let rows: usize = out_shape.iter().product();
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        let terms = (0..len).map(|k| {
            let i = r * len + k;
            let u = Dd::new(xv[xi[i]]) - yv[yi[i]] + eps;
            if p == 1.0 {
                if u.hi() < 0.0 {
                    -u
                } else {
                    u
                }
            } else {
                u * u
            }
        });
        let total = sum(terms);
        out.push(if p == 1.0 { total } else { total.sqrt() });
    }
    Some((out_shape, out))
}

fn nan_min(a: Dd, b: Dd) -> Dd {
    if a.hi().is_nan() || b.hi().is_nan() {
        Dd::new(f64::NAN)
    } else if b.hi() < a.hi() || (b.hi() == a.hi() && b.lo() < a.lo()) {
        b
    } else {
        a
    }
}

/// The output of `triplet_margin_loss` or `triplet_margin_with_distance_loss` (default
/// distance), for `p` 1 or 2.
pub(crate) fn triplet_op(case: &Case) -> Option<Reference> {
    let with_distance = case.op.name() == "triplet_margin_with_distance_loss";
    let (a, pos, n) = (
        case.tensor("anchor")?,
        case.tensor("positive")?,
        case.tensor("negative")?,
    );
    let dtype = a.dtype;
    if pos.dtype != dtype || n.dtype != dtype || !dtype.is_float() {
        return None;
    }
    let margin = case.float("margin").unwrap_or(1.0);
    let swap = case.bool("swap").unwrap_or(false);
    let (p, eps) = if with_distance {
        internals::check_triplet_margin_with_distance_loss_shapes(
            &a.shape, &pos.shape, &n.shape, margin, swap,
        )
        .ok()?;
        (2.0, 1e-6)
    } else {
        let p = case.float("p").unwrap_or(2.0);
        internals::check_triplet_margin_loss_shapes(
            &a.shape, &pos.shape, &n.shape, margin, p, swap,
        )
        .ok()?;
        (p, case.float("eps").unwrap_or(1e-6))
    };
    if p != 1.0 && p != 2.0 {
        return None;
    }
    let eps = in_type(eps, dtype);
    let margin = in_type(margin, dtype);
    let (ps, dpos) = distances(a, pos, p, eps)?;
    let (mut ns, mut dneg) = distances(a, n, p, eps)?;
    if swap {
        let (ss, dswap) = distances(pos, n, p, eps)?;
        let shape = broadcast(&ns, &ss)?;
        let (ni, si) = (broadcast_index(&ns, &shape)?, broadcast_index(&ss, &shape)?);
        dneg = (0..ni.len())
            .map(|i| nan_min(dneg[ni[i]], dswap[si[i]]))
            .collect();
        ns = shape;
    }
    let out = broadcast(&ps, &ns)?;
    let (pi, ni) = (broadcast_index(&ps, &out)?, broadcast_index(&ns, &out)?);
    let losses: Vec<Dd> = (0..pi.len())
        .map(|i| {
            let v = Dd::new(margin) + dpos[pi[i]] - dneg[ni[i]];
            if v.hi().is_nan() || v.hi() >= 0.0 {
                v
            } else {
                Dd::ZERO
            }
        })
        .collect();
    Some(Reference {
        output: reduce(case, &losses, out, |_| Dd::ONE)?,
        grads: Vec::new(),
    })
}

/// The losses reduced as the case says; `mean` divides each by `scale(i)` first.
fn reduce(
    case: &Case,
    losses: &[Dd],
    none_shape: Vec<usize>,
    scale: impl Fn(usize) -> Dd,
) -> Option<ReferenceTensor> {
    // The reference covers outputs only, but a grad_output of the wrong shape is a
    // call PyTorch rejects.
    let shape = match case.reduction_name() {
        "none" => none_shape.clone(),
        _ => Vec::new(),
    };
    if case.grad {
        grad_output(case, &shape)?;
    }
    Some(match case.reduction_name() {
        "none" => ReferenceTensor::of(none_shape, losses),
        "sum" => ReferenceTensor::of(shape, &[sum(losses.iter().copied())]),
        _ => {
            let total = sum(losses.iter().enumerate().map(|(i, &l)| l / scale(i)));
            ReferenceTensor::of(shape, &[total / Dd::new(losses.len() as f64)])
        }
    })
}

/// `log(sum(exp(terms)))`, exact; `-inf` when every term is.
fn log_sum_exp(terms: &[Dd]) -> Dd {
    if terms.iter().any(|t| t.hi().is_nan()) {
        return Dd::new(f64::NAN);
    }
    let m = terms
        .iter()
        .map(|t| t.hi())
        .fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return Dd::new(f64::NEG_INFINITY);
    }
    if m == f64::INFINITY {
        return Dd::new(f64::INFINITY);
    }
    let total = sum(terms.iter().map(|&t| {
        if t.hi() == f64::NEG_INFINITY {
            Dd::ZERO
        } else {
            (t - m).exp()
        }
    }));
    total.ln() + m
}

/// The output of `ctc_loss`, for a call PyTorch accepts with every label a class.
pub(crate) fn ctc_op(case: &Case) -> Option<Reference> {
    let lp = case.input();
    let targets = case.tensor("targets")?;
    let il_t = case.tensor("input_lengths")?;
    let tl_t = case.tensor("target_lengths")?;
    let (il, tl) = (crate::ops::ctc_as_long(il_t), crate::ops::ctc_as_long(tl_t));
    let blank = case.int("blank").unwrap_or(0);
    let none_shape = internals::check_ctc_loss_args(
        &lp.shape,
        lp.dtype.torch_name(),
        &targets.shape,
        &il,
        &tl,
        (il_t.dtype.torch_name(), tl_t.dtype.torch_name()),
        blank,
    )
    .ok()?;
    let values = lp.floats()?;
    let labels = crate::ops::ctc_as_long(targets);
    let (steps, batch, classes) = match lp.shape.as_slice() {
        [t, n, c] => (*t, *n, *c),
        [t, c] => (*t, 1, *c),
        _ => return None,
    };
    let _ = steps;
    let padded = targets.shape.len() == 2;
    let at = |t: usize, b: usize, c: usize| Dd::new(values[(t * batch + b) * classes + c]);
    let mut offset = 0usize;
    let mut losses = Vec::with_capacity(batch);
    for b in 0..batch {
        let (input_len, target_len) = (il[b] as usize, tl[b] as usize);
        let start = if padded {
            b * targets.shape[1]
        } else {
            let s = offset;
            offset += target_len;
            s
        };
        let sample = labels.get(start..start + target_len)?;
        if sample.iter().any(|&l| l < 0 || l as usize >= classes) {
            return None;
        }
        // The extended labels: blank, l1, blank, l2, ..., blank.
        let ext: Vec<usize> = (0..2 * target_len + 1)
            .map(|s| {
                if s % 2 == 0 {
                    blank as usize
                } else {
                    sample[s / 2] as usize
                }
            })
            .collect();
        let nll = if input_len == 0 {
            if target_len == 0 {
                Dd::ZERO
            } else {
                Dd::new(f64::INFINITY)
            }
        } else {
            let neg_inf = Dd::new(f64::NEG_INFINITY);
            let mut alpha = vec![neg_inf; ext.len()];
            alpha[0] = at(0, b, ext[0]);
            if ext.len() > 1 {
                alpha[1] = at(0, b, ext[1]);
            }
            for t in 1..input_len {
                let prev = alpha.clone();
                for s in 0..ext.len() {
                    let mut terms = vec![prev[s]];
                    if s >= 1 {
                        terms.push(prev[s - 1]);
                    }
                    // The skip over a blank is allowed wherever the extended labels
                    // two apart differ, as libtorch's recursion tests it: a label equal
                    // to the blank (a mistake, but computed) may be skipped to.
                    if s >= 2 && ext[s] != ext[s - 2] {
                        terms.push(prev[s - 2]);
                    }
                    let lse = log_sum_exp(&terms);
                    alpha[s] = if lse.hi() == f64::NEG_INFINITY {
                        neg_inf
                    } else {
                        lse + at(t, b, ext[s])
                    };
                }
            }
            let last = ext.len() - 1;
            let mut ends = vec![alpha[last]];
            if last >= 1 {
                ends.push(alpha[last - 1]);
            }
            -log_sum_exp(&ends)
        };
        let zero_infinity = case.bool("zero_infinity").unwrap_or(false);
        losses.push(if zero_infinity && nll.hi() == f64::INFINITY {
            Dd::ZERO
        } else {
            nll
        });
    }
    Some(Reference {
        output: reduce(case, &losses, none_shape, |i| Dd::new(tl[i].max(1) as f64))?,
        grads: Vec::new(),
    })
}
