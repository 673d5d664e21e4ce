//! The reference of the margin losses, in double-double arithmetic.
//!
//! `hinge_embedding_loss` and `margin_ranking_loss` are element-wise: their element
//! losses go through [`elementwise`] with forward-mode derivatives. The clamp of both is
//! autograd's `clamp_min`, whose backward passes the gradient where its argument is
//! `>= 0` (the kink included) and multiplies the rest by an exact 0 (so a 0 against an
//! infinite factor is NaN, as in libtorch). `cosine_embedding_loss` is per pair: the
//! cosine and its derivative are written out along autograd's chain of steps (the same
//! formula, so non-finite values propagate as libtorch's do), each step exact.
//! `multi_margin_loss` and `multilabel_margin_loss` sum their hinges exactly and give
//! their kernels' gradients, which are the derivatives of those sums.

use super::Shape;
use super::{
    dd_numbers, elementwise, grad_output, sum, Dd, Dual, Mean, Reference, ReferenceTensor,
};
use crate::case::{Case, DType, Values};
use crate::losses::internals;

/// The margin as libtorch uses it: a Python float converted to the input's type.
fn margin(case: &Case) -> f64 {
    let m = case.float("margin").unwrap_or(match case.op.name() {
        "hinge_embedding_loss" | "multi_margin_loss" => 1.0,
        _ => 0.0,
    });
    if case.input().dtype == DType::Float32 {
        m as f32 as f64
    } else {
        m
    }
}

/// The reduction's divisor of `count` element losses, and whether it reduces.
fn divisor(case: &Case, count: usize) -> (bool, Dd) {
    match case.reduction_name() {
        "none" => (false, Dd::ONE),
        "sum" => (true, Dd::ONE),
        _ => (true, Dd::new(count as f64)),
    }
}

/// `losses` reduced as the case says: the output, and the gradient each loss receives.
fn reduced(
    case: &Case,
    losses: &[Dd],
    none_shape: Vec<usize>,
) -> Option<(ReferenceTensor, Vec<Dd>)> {
    let (reduces, d) = divisor(case, losses.len());
    let out_shape = if reduces { Vec::new() } else { none_shape };
    let output = if reduces {
        vec![sum(losses.iter().copied()) / d]
    } else {
        losses.to_vec()
    };
    let g = grad_output(case, &out_shape)?;
    let per_loss = (0..losses.len())
        .map(|i| if reduces { g[0] / d } else { g[i] })
        .collect();
    Some((ReferenceTensor::of(out_shape, &output), per_loss))
}

/// The gradient of a tensor the loss only compares (zeros of its shape), for each
/// such tensor of `grad_wrt`.
fn zero_grads(case: &Case, computed: &[&str]) -> Vec<(&'static str, ReferenceTensor)> {
    case.grad_wrt()
        .into_iter()
        .filter(|n| !computed.contains(n))
        .filter_map(|n| {
            let t = case.tensor(n)?;
            Some((
                n,
                ReferenceTensor::of(t.shape.clone(), &vec![Dd::ZERO; t.values.len()]),
            ))
        })
        .collect()
}

/// `hinge_embedding_loss`: `where(t != 1, clamp_min(margin - x, 0), 0) + where(t != -1,
/// x, 0)`.
pub(crate) fn hinge_op(case: &Case) -> Option<Reference> {
    let shape = |n| case.tensor(n).map(|t| t.shape.clone()).unwrap_or_default();
    internals::check_hinge_embedding_loss_shapes(&shape("input"), &shape("target")).ok()?;
    let m = margin(case);
    let layout = Shape {
        tensors: &["input", "target"],
        mean: Mean::Count,
        class_mean: false,
    };
    elementwise(case, layout, |a| {
        let (x, t) = (a[0]?, a[1]?.value());
        let zero = Dual::constant(0.0);
        let hinge = Dual::constant(m) - x;
        // clamp_min's backward is a `where`: the gradient where its argument is >= 0,
        // an exact 0 elsewhere (NaN included, whose value stays NaN).
        let margin_part = match hinge.value() {
            _ if t == 1.0 => zero,
            h if h >= 0.0 => hinge,
            h if h.is_nan() => Dual::constant(h),
            _ => zero,
        };
        let self_part = if t != -1.0 { x } else { zero };
        Some(margin_part + self_part)
    })
}

/// `margin_ranking_loss`: `clamp_min(-t (x1 - x2) + margin, 0)`, with autograd's
/// partials: `gq * -t` to both inputs (negated for input2) and `-(gq * (x1 - x2))` to
/// the target, `gq` 1 where the clamp passes, else an exact 0.
pub(crate) fn margin_ranking_op(case: &Case) -> Option<Reference> {
    let shape = |n| case.tensor(n).map(|t| t.shape.clone()).unwrap_or_default();
    internals::check_margin_ranking_loss_shapes(
        &shape("input1"),
        &shape("input2"),
        &shape("target"),
    )
    .ok()?;
    let m = margin(case);
    let layout = Shape {
        tensors: &["input1", "input2", "target"],
        mean: Mean::Count,
        class_mean: false,
    };
    elementwise(case, layout, |a| {
        let (x1, x2, t) = (a[0]?, a[1]?, a[2]?);
        let d = x1 - x2;
        let q = -t * d + m;
        let value = if q.value() < 0.0 {
            Dual::constant(0.0)
        } else {
            q
        };
        let gq = Dual::constant(if q.value() >= 0.0 { 1.0 } else { 0.0 });
        let minus_t = Dual::constant(-t.value());
        let to_input = gq * minus_t;
        Some(value.with_partials(&[
            (x1, to_input),
            (x2, -to_input),
            (t, -(gq * Dual::constant(d.value()))),
        ]))
    })
}

/// One input of `cosine_embedding_loss` as rows: its values, how many rows and columns
/// it has, and the squared norm of each of its own rows plus EPSILON.
struct Rows {
    x: Vec<Dd>,
    rows: usize,
    cols: usize,
    mag: Vec<Dd>,
}

impl Rows {
    fn new(values: Vec<Dd>, shape: &[usize], eps: Dd) -> Rows {
        let (rows, cols) = match shape {
            [d] => (1, *d),
            [n, d] => (*n, *d),
            _ => (1, 1),
        };
        let mag = (0..rows)
            .map(|r| sum((0..cols).map(|j| values[r * cols + j] * values[r * cols + j])) + eps)
            .collect();
        Rows {
            x: values,
            rows,
            cols,
            mag,
        }
    }

    /// The row and flat index this input reads at row `r`, column `j` of the
    /// broadcast product.
    fn at(&self, r: usize, j: usize) -> (usize, usize) {
        let r = if self.rows == 1 { 0 } else { r };
        let j = if self.cols == 1 { 0 } else { j };
        (r, r * self.cols + j)
    }
}

/// `cosine_embedding_loss`: per row of the broadcast inputs, `cos = sum(x1 x2) /
/// sqrt((sum(x1 x1) + EPSILON) (sum(x2 x2) + EPSILON))` (each input's squared norm
/// from its own elements), then `where(t == 1, 1 - cos, 0) + where(t == -1,
/// clamp_min(cos - margin, 0), 0)` per pair.
pub(crate) fn cosine_embedding_op(case: &Case) -> Option<Reference> {
    let (i1, i2, t) = (
        case.tensor("input1")?,
        case.tensor("input2")?,
        case.tensor("target")?,
    );
    let out_shape =
        internals::check_cosine_embedding_loss_shapes(&i1.shape, &i2.shape, &t.shape).ok()?;
    let eps = Dd::new(f64::from(1e-12f32));
    let a = Rows::new(dd_numbers(i1)?, &i1.shape, eps);
    let b = Rows::new(dd_numbers(i2)?, &i2.shape, eps);
    let labels = dd_numbers(t)?;
    let (rows, cols) = (a.rows.max(b.rows), a.cols.max(b.cols));
    let rows = if a.rows == 0 || b.rows == 0 { 0 } else { rows };
    let cols = if a.cols == 0 || b.cols == 0 { 0 } else { cols };
    let mags = |r: usize| (a.mag[a.at(r, 0).0], b.mag[b.at(r, 0).0]);
    let (mut cos, mut denom) = (Vec::new(), Vec::new());
    for r in 0..rows {
        let dot = sum((0..cols).map(|j| a.x[a.at(r, j).1] * b.x[b.at(r, j).1]));
        let (m1, m2) = mags(r);
        let den = (m1 * m2).sqrt();
        cos.push(dot / den);
        denom.push(den);
    }
    let m = margin(case);
    let n: usize = out_shape.iter().product();
    let pick = |count: usize, o: usize| if count == 1 { 0 } else { o };
    let losses: Vec<Dd> = (0..n)
        .map(|o| {
            let (c, y) = (cos[pick(rows, o)], labels[pick(labels.len(), o)].hi());
            let pos = if y == 1.0 { Dd::ONE - c } else { Dd::ZERO };
            let neg = if y == -1.0 {
                let h = c - m;
                if h.hi() < 0.0 {
                    Dd::ZERO
                } else {
                    h
                }
            } else {
                Dd::ZERO
            };
            pos + neg
        })
        .collect();
    let (output, g) = reduced(case, &losses, out_shape)?;
    let mut grads = Vec::new();
    if case.grad {
        // The loss's gradient with respect to each row's cosine.
        let mut gcos = vec![Dd::ZERO; rows];
        for (o, &go) in g.iter().enumerate() {
            let r = pick(rows, o);
            let y = labels[pick(labels.len(), o)].hi();
            if y == 1.0 {
                gcos[r] = gcos[r] - go;
            }
            if y == -1.0 && (cos[r] - m).hi() >= 0.0 {
                gcos[r] = gcos[r] + go;
            }
        }
        for wrt in case.grad_wrt() {
            let (own, other, tensor) = match wrt {
                "input1" => (&a, &b, i1),
                "input2" => (&b, &a, i2),
                _ => continue,
            };
            let mut grad = vec![Dd::ZERO; own.x.len()];
            let mut dmag = vec![Dd::ZERO; own.rows];
            for r in 0..rows {
                let dprod = gcos[r] / denom[r];
                let ddenom = -(gcos[r] * (cos[r] / denom[r]));
                let dsq = ddenom / (denom[r] + denom[r]);
                let (own_row, _) = own.at(r, 0);
                dmag[own_row] = dmag[own_row] + dsq * other.mag[other.at(r, 0).0];
                for j in 0..cols {
                    let (_, i) = own.at(r, j);
                    grad[i] = grad[i] + dprod * other.x[other.at(r, j).1];
                }
            }
            for (r, &dm) in dmag.iter().enumerate() {
                for j in 0..own.cols {
                    let i = r * own.cols + j;
                    let s = dm * own.x[i];
                    grad[i] = grad[i] + (s + s);
                }
            }
            grads.push((wrt, ReferenceTensor::of(tensor.shape.clone(), &grad)));
        }
        grads.extend(zero_grads(case, &["input1", "input2"]));
    }
    Some(Reference { output, grads })
}

/// The input's rows (`N x C`) and the class-index target of the two hinge losses on
/// class indices, when the call is one PyTorch computes.
fn class_rows(case: &Case) -> Option<(Vec<Dd>, usize, usize, Vec<i64>)> {
    let input = case.input();
    let x = dd_numbers(input)?;
    let (n, c) = match input.shape.as_slice() {
        [] => (1, 1),
        [c] => (1, *c),
        [n, c] => (*n, *c),
        _ => return None,
    };
    let t = match &case.target()?.values {
        Values::Int(v) => v.clone(),
        Values::Float(v) if x.is_empty() => v.iter().map(|&k| k as i64).collect(),
        Values::Float(_) => return None,
    };
    Some((x, n, c, t))
}

/// `multi_margin_loss`: per sample with class `y`, `sum over i != y of
/// max(0, margin - x[y] + x[i])^p * weight[y] / C` (a NaN hinge counts as inactive).
pub(crate) fn multi_margin_op(case: &Case) -> Option<Reference> {
    let p = case.int("p").unwrap_or(1);
    let target = case.target()?;
    let none_shape = internals::check_multi_margin_loss_shapes(
        &case.input().shape,
        &target.shape,
        "Long",
        case.weight().map(|w| w.shape.as_slice()),
        p,
    )
    .ok()?;
    let (x, _, c, t) = class_rows(case)?;
    let w = match case.weight() {
        Some(w) => Some(dd_numbers(w)?),
        None => None,
    };
    let m = margin(case);
    let classes = if x.is_empty() { Vec::new() } else { t.clone() };
    if classes.iter().any(|&y| y < 0 || y as usize >= c) {
        return None;
    }
    let hinge = |s: usize, y: usize, i: usize| Dd::new(m) - x[s * c + y] + x[s * c + i];
    let losses: Vec<Dd> = (0..classes.len())
        .map(|s| {
            let y = classes[s] as usize;
            let wy = w.as_ref().map_or(Dd::ONE, |w| w[y]);
            let terms = (0..c).filter(|&i| i != y).map(|i| {
                let z = hinge(s, y, i);
                if z.hi() > 0.0 {
                    (if p == 2 { z * z } else { z }) * wy
                } else {
                    Dd::ZERO
                }
            });
            sum(terms) / c as f64
        })
        .collect();
    let (output, g) = reduced(case, &losses, none_shape)?;
    let mut grads = Vec::new();
    if case.grad_wrt().contains(&"input") {
        let mut grad = vec![Dd::ZERO; x.len()];
        for s in 0..classes.len() {
            let y = classes[s] as usize;
            let wy = w.as_ref().map_or(Dd::ONE, |w| w[y]);
            for i in (0..c).filter(|&i| i != y) {
                let z = hinge(s, y, i);
                if z.hi() > 0.0 {
                    let slope = if p == 2 { z + z } else { Dd::ONE };
                    let d = slope * wy / c as f64 * g[s];
                    grad[s * c + i] = grad[s * c + i] + d;
                    grad[s * c + y] = grad[s * c + y] - d;
                }
            }
        }
        grads.push((
            "input",
            ReferenceTensor::of(case.input().shape.clone(), &grad),
        ));
    }
    grads.extend(zero_grads(case, &["input"]));
    Some(Reference { output, grads })
}

/// `multilabel_margin_loss`: per sample, `sum over listed classes j (its target row up
/// to the first -1, repeats counted), over unlisted classes i, of max(0, 1 - x[j] +
/// x[i]) / C`.
pub(crate) fn multilabel_margin_op(case: &Case) -> Option<Reference> {
    let target = case.target()?;
    let none_shape =
        internals::check_multilabel_margin_loss_shapes(&case.input().shape, &target.shape, "Long")
            .ok()?;
    let (x, n, c, t) = class_rows(case)?;
    if !x.is_empty() && t.iter().any(|&k| k < -1 || k >= c as i64) {
        return None;
    }
    let samples = if x.is_empty() { 0 } else { n };
    let listed = |s: usize| -> Vec<usize> {
        t[s * c..(s + 1) * c]
            .iter()
            .map_while(|&k| usize::try_from(k).ok())
            .collect()
    };
    let unlisted = |s: usize| -> Vec<usize> {
        let l = listed(s);
        (0..c).filter(|i| !l.contains(i)).collect()
    };
    let hinge = |s: usize, j: usize, i: usize| Dd::ONE - x[s * c + j] + x[s * c + i];
    let losses: Vec<Dd> = (0..samples)
        .map(|s| {
            let (l, u) = (listed(s), unlisted(s));
            let terms = l.iter().flat_map(|&j| u.iter().map(move |&i| (j, i)));
            sum(terms.map(|(j, i)| {
                let z = hinge(s, j, i);
                if z.hi() > 0.0 {
                    z
                } else {
                    Dd::ZERO
                }
            })) / c as f64
        })
        .collect();
    let (output, g) = reduced(case, &losses, none_shape)?;
    let mut grads = Vec::new();
    if case.grad_wrt().contains(&"input") {
        let mut grad = vec![Dd::ZERO; x.len()];
        for s in 0..samples {
            let unit = g[s] / c as f64;
            for &j in &listed(s) {
                for &i in &unlisted(s) {
                    if hinge(s, j, i).hi() > 0.0 {
                        grad[s * c + i] = grad[s * c + i] + unit;
                        grad[s * c + j] = grad[s * c + j] - unit;
                    }
                }
            }
        }
        grads.push((
            "input",
            ReferenceTensor::of(case.input().shape.clone(), &grad),
        ));
    }
    grads.extend(zero_grads(case, &["input"]));
    Some(Reference { output, grads })
}
