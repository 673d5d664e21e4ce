//! The reference of the triplet losses and of `ctc_loss`, in double-double arithmetic:
//! outputs and the gradients autograd gives, each step of PyTorch's composition (or
//! kernel) written out exactly, so that non-finite values and the masks of its
//! backwards come out as libtorch's do.
//!
//! Triplet: each distance `norm(x1 - x2 + eps, p, dim=-1)` over the broadcast of the
//! pair, for any order (`|u|^p` as `e^(p ln |u|)`; `p = 0` counts the non-zero
//! differences, `±inf` takes the largest or smallest `|u|`; a last dimension of size 1
//! is `|u|`, linalg_vector_norm's shortcut), `min(d(a, n), d(p, n))` under `swap`, then
//! `clamp_min((margin + d(a, p)) - d_neg, 0)` (NaN kept) and the reduction. `margin` and
//! `eps` are the scalars libtorch uses: rounded to the tensors' type. The gradients
//! follow autograd: `clamp_min` passes where its argument is `>= 0` (the kink included,
//! NaN not); `minimum` gives the smaller distance the gradient, half to each on a tie,
//! all to both where one is NaN; the norm's backward is aten's `norm_backward` order by
//! order (see [`norm_backward`]), and `p = 0` gives no gradient (zeros, as the case
//! format materialises them). Gradients of broadcast inputs are summed back.
//!
//! CTC: the alpha and beta recursions of each sample over its extended label sequence
//! (blanks between and around the labels), in log space with exact log-sum-exps, `-log`
//! of the last two states' total, `zero_infinity`, and the reductions (`mean` divides
//! each loss by its target length clamped to at least 1, then averages over the batch).
//! The gradient is libtorch's `ctc_loss_backward`, which is the gradient through a
//! log_softmax of the inputs rather than the derivative with respect to them (see
//! [`ctc_sample_grad`]).

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

fn is_nan(x: Dd) -> bool {
    x.hi().is_nan()
}

fn abs(x: Dd) -> Dd {
    if x.hi() < 0.0 {
        -x
    } else {
        x
    }
}

/// `torch.sgn` of a real: 0 at both zeros and at NaN.
fn sgn(x: Dd) -> Dd {
    if x.hi() > 0.0 {
        Dd::ONE
    } else if x.hi() < 0.0 {
        -Dd::ONE
    } else {
        Dd::ZERO
    }
}

/// `a < b`, false when either is NaN (a normalised pair compares by its high part
/// first).
fn less(a: Dd, b: Dd) -> bool {
    a.hi() < b.hi() || (a.hi() == b.hi() && a.lo() < b.lo())
}

/// `x^e` for `x >= 0` (or NaN), with IEEE `pow`'s values at 0, infinity and NaN.
fn powf(x: Dd, e: Dd) -> Dd {
    let (xh, eh) = (x.hi(), e.hi());
    if eh == 0.0 {
        return Dd::ONE;
    }
    if xh.is_nan() || eh.is_nan() {
        return Dd::new(f64::NAN);
    }
    if xh == 0.0 {
        return if eh > 0.0 {
            Dd::ZERO
        } else {
            Dd::new(f64::INFINITY)
        };
    }
    if xh == f64::INFINITY {
        return if eh > 0.0 {
            Dd::new(f64::INFINITY)
        } else {
            Dd::ZERO
        };
    }
    (x.ln() * e).exp()
}

/// The `p`-norm of one row of differences. `zero_dim`: the difference is 0-D, which
/// linalg_vector_norm computes with its general kernel rather than as `|u|` (the same
/// value unless a power overflows).
fn norm(u: &[Dd], p: f64, zero_dim: bool) -> Dd {
    let nonzero = |x: &Dd| x.hi() != 0.0;
    if u.len() == 1 && !zero_dim {
        return if p == 0.0 {
            if nonzero(&u[0]) {
                Dd::ONE
            } else {
                Dd::ZERO
            }
        } else {
            abs(u[0])
        };
    }
    if p == 0.0 {
        // A NaN is not 0: counted, and the norm stays finite.
        return Dd::new(u.iter().filter(|x| nonzero(x)).count() as f64);
    }
    if p.is_infinite() {
        if u.iter().any(|&x| is_nan(x)) {
            return Dd::new(f64::NAN);
        }
        let start = if p > 0.0 {
            Dd::ZERO
        } else {
            Dd::new(f64::INFINITY)
        };
        return u.iter().map(|&x| abs(x)).fold(
            start,
            |m, x| {
                if (p > 0.0) == less(m, x) {
                    x
                } else {
                    m
                }
            },
        );
    }
    if p == 1.0 {
        return sum(u.iter().map(|&x| abs(x)));
    }
    if p == 2.0 {
        return sum(u.iter().map(|&x| x * x)).sqrt();
    }
    let pd = Dd::new(p);
    powf(sum(u.iter().map(|&x| powf(abs(x), pd))), Dd::ONE / pd)
}

/// aten's `norm_backward` for one row: the gradient of the differences `u` given the
/// gradient `g` of their norm, each order's formula in aten's order of operations
/// (which decides where a 0 meets an infinity):
///
/// - 1: `sgn(u) * g`;
/// - 2: `u * (g / norm)`, the quotient 0 where the norm is 0;
/// - ±inf: `sgn(u) * ((g / count) * mask)`, `mask` where `|u|` is the norm or NaN;
/// - below 1: `(sgn(u) * |u|^(p-1) * g) * norm^(1-p)`, the power 0 where `u` is 0;
/// - between 1 and 2: `(sgn(u) * |u|^(p-1)) * (g / norm^(p-1))`;
/// - above 2 (and NaN): `(u * |u|^(p-2)) * (g / norm^(p-1))`, the scale 0 where the
///   norm is 0 in both.
fn norm_backward(u: &[Dd], n: Dd, g: Dd, p: f64) -> Vec<Dd> {
    let pd = Dd::new(p);
    if p == 1.0 {
        return u.iter().map(|&x| sgn(x) * g).collect();
    }
    if p == 2.0 {
        let scale = if n.hi() == 0.0 { Dd::ZERO } else { g / n };
        return u.iter().map(|&x| x * scale).collect();
    }
    if p.is_infinite() {
        let hit = |x: Dd| abs(x) == n || is_nan(x);
        let count = u.iter().filter(|&&x| hit(x)).count() as f64;
        let share = g / count;
        return u
            .iter()
            .map(|&x| sgn(x) * (share * if hit(x) { 1.0 } else { 0.0 }))
            .collect();
    }
    if p < 1.0 {
        let scale = powf(n, Dd::ONE - pd);
        return u
            .iter()
            .map(|&x| {
                let power = if x.hi() == 0.0 {
                    Dd::ZERO
                } else {
                    powf(abs(x), pd - 1.0)
                };
                sgn(x) * power * g * scale
            })
            .collect();
    }
    let scale = if n.hi() == 0.0 {
        Dd::ZERO
    } else {
        g / powf(n, pd - 1.0)
    };
    u.iter()
        .map(|&x| {
            let scaled = if p < 2.0 {
                sgn(x) * powf(abs(x), pd - 1.0)
            } else {
                x * powf(abs(x), pd - 2.0)
            };
            scaled * scale
        })
        .collect()
}

/// One `pairwise_distance(x1, x2, p, eps)`: the exact differences `x1 - x2 + eps` over
/// the pair's broadcast, where each element of it reads `x1` and `x2`, and the norms of
/// its rows.
struct Distance {
    /// The difference's shape.
    shape: Vec<usize>,
    x1: Vec<usize>,
    x2: Vec<usize>,
    u: Vec<Dd>,
    /// Elements per row (1 for a 0-D difference).
    len: usize,
    norms: Vec<Dd>,
}

impl Distance {
    fn new(x: &TensorData, y: &TensorData, p: f64, eps: f64) -> Option<Self> {
        let shape = broadcast(&x.shape, &y.shape)?;
        let (x1, x2) = (
            broadcast_index(&x.shape, &shape)?,
            broadcast_index(&y.shape, &shape)?,
        );
        let (xv, yv) = (x.floats()?, y.floats()?);
        let u: Vec<Dd> = (0..x1.len())
            .map(|i| Dd::new(xv[x1[i]]) - yv[x2[i]] + eps)
            .collect();
        let len = shape.last().copied().unwrap_or(1);
        let rows: usize = shape[..shape.len().saturating_sub(1)].iter().product();
        let norms = (0..rows)
            .map(|r| norm(&u[r * len..(r + 1) * len], p, shape.is_empty()))
            .collect();
        Some(Distance {
            shape,
            x1,
            x2,
            u,
            len,
            norms,
        })
    }

    /// The distances' shape: the difference's without its last dimension.
    fn dist_shape(&self) -> Vec<usize> {
        self.shape[..self.shape.len().saturating_sub(1)].to_vec()
    }

    /// Adds to `x1`'s gradient the differences' gradient from `g` (one per distance),
    /// and to `x2`'s its opposite, summed over what broadcasting repeated.
    fn backward(&self, g: &[Dd], p: f64, x1: &mut [Dd], x2: &mut [Dd]) {
        for (r, &gr) in g.iter().enumerate() {
            let at = r * self.len;
            let rows = norm_backward(&self.u[at..at + self.len], self.norms[r], gr, p);
            for (k, d) in rows.into_iter().enumerate() {
                let (i1, i2) = (self.x1[at + k], self.x2[at + k]);
                x1[i1] = x1[i1] + d;
                x2[i2] = x2[i2] - d;
            }
        }
    }
}

/// `torch.minimum`: NaN when either is.
fn nan_min(a: Dd, b: Dd) -> Dd {
    if is_nan(a) || is_nan(b) {
        Dd::new(f64::NAN)
    } else if less(b, a) {
        b
    } else {
        a
    }
}

/// `minimum(x, y)`'s backward for gradient `g`: `where(x == y, g / 2, g)`, masked to 0
/// for `x` where `x > y` and for `y` where `x < y` (so a NaN gives both all of it).
fn min_backward(x: Dd, y: Dd, g: Dd) -> (Dd, Dd) {
    let base = if x == y { g / 2.0 } else { g };
    (
        if less(y, x) { Dd::ZERO } else { base },
        if less(x, y) { Dd::ZERO } else { base },
    )
}

/// `triplet_margin_loss` or `triplet_margin_with_distance_loss` (default distance):
/// the output and the gradients of the anchor, positive and negative the case asks for.
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
    let eps = in_type(eps, dtype);
    let margin = in_type(margin, dtype);
    let ap = Distance::new(a, pos, p, eps)?;
    let an = Distance::new(a, n, p, eps)?;
    let pn = if swap {
        Some(Distance::new(pos, n, p, eps)?)
    } else {
        None
    };
    let an_shape = an.dist_shape();
    // The negative distance over its shape, and under `swap` where it reads d(a, n)
    // and d(p, n).
    let (neg_shape, neg, swap_index) = match &pn {
        Some(pn) => {
            let pn_shape = pn.dist_shape();
            let shape = broadcast(&an_shape, &pn_shape)?;
            let (ai, si) = (
                broadcast_index(&an_shape, &shape)?,
                broadcast_index(&pn_shape, &shape)?,
            );
            let neg = (0..ai.len())
                .map(|j| nan_min(an.norms[ai[j]], pn.norms[si[j]]))
                .collect();
            (shape, neg, Some((ai, si)))
        }
        None => (an_shape.clone(), an.norms.clone(), None),
    };
    let ap_shape = ap.dist_shape();
    let out = broadcast(&ap_shape, &neg_shape)?;
    let (pi, ni) = (
        broadcast_index(&ap_shape, &out)?,
        broadcast_index(&neg_shape, &out)?,
    );
    let args: Vec<Dd> = (0..pi.len())
        .map(|i| Dd::new(margin) + ap.norms[pi[i]] - neg[ni[i]])
        .collect();
    let losses: Vec<Dd> = args
        .iter()
        .map(|&v| if less(v, Dd::ZERO) { Dd::ZERO } else { v })
        .collect();
    let (output, per_loss) = reduce(case, &losses, out, |_| Dd::ONE)?;
    let wanted: Vec<&'static str> = case
        .grad_wrt()
        .into_iter()
        .filter(|w| matches!(*w, "anchor" | "positive" | "negative"))
        .collect();
    let mut grads = Vec::new();
    let Some(g) = per_loss.filter(|_| !wanted.is_empty()) else {
        return Some(Reference { output, grads });
    };
    let zeros = |t: &TensorData| vec![Dd::ZERO; t.values.len()];
    let (mut ga, mut gp, mut gn) = (zeros(a), zeros(pos), zeros(n));
    // With p = 0 the norm's backward returns no gradient at all: zeros.
    if p != 0.0 {
        let mut g_pos = vec![Dd::ZERO; ap.norms.len()];
        let mut g_neg = vec![Dd::ZERO; neg.len()];
        for (i, arg) in args.iter().enumerate() {
            // where(arg >= 0, g, 0): a NaN argument passes nothing.
            let gq = if arg.hi() >= 0.0 { g[i] } else { Dd::ZERO };
            g_pos[pi[i]] = g_pos[pi[i]] + gq;
            g_neg[ni[i]] = g_neg[ni[i]] - gq;
        }
        ap.backward(&g_pos, p, &mut ga, &mut gp);
        match (&pn, &swap_index) {
            (Some(pn), Some((ai, si))) => {
                let mut g_an = vec![Dd::ZERO; an.norms.len()];
                let mut g_pn = vec![Dd::ZERO; pn.norms.len()];
                for (j, &gj) in g_neg.iter().enumerate() {
                    let (to_an, to_pn) = min_backward(an.norms[ai[j]], pn.norms[si[j]], gj);
                    g_an[ai[j]] = g_an[ai[j]] + to_an;
                    g_pn[si[j]] = g_pn[si[j]] + to_pn;
                }
                an.backward(&g_an, p, &mut ga, &mut gn);
                pn.backward(&g_pn, p, &mut gp, &mut gn);
            }
            _ => an.backward(&g_neg, p, &mut ga, &mut gn),
        }
    }
    for wrt in wanted {
        let (t, values) = match wrt {
            "anchor" => (a, &ga),
            "positive" => (pos, &gp),
            _ => (n, &gn),
        };
        grads.push((wrt, ReferenceTensor::of(t.shape.clone(), values)));
    }
    Some(Reference { output, grads })
}

/// The losses reduced as the case says (`mean` divides each by `scale(i)` first), and,
/// when the case asks for gradients, the gradient each loss receives from
/// `grad_output` (`None` for the whole call when `grad_output`'s shape is one PyTorch
/// rejects).
fn reduce(
    case: &Case,
    losses: &[Dd],
    none_shape: Vec<usize>,
    scale: impl Fn(usize) -> Dd,
) -> Option<(ReferenceTensor, Option<Vec<Dd>>)> {
    let reduction = case.reduction_name();
    let shape = match reduction {
        "none" => none_shape.clone(),
        _ => Vec::new(),
    };
    let g = if case.grad {
        Some(grad_output(case, &shape)?)
    } else {
        None
    };
    let count = Dd::new(losses.len() as f64);
    let output = match reduction {
        "none" => ReferenceTensor::of(none_shape, losses),
        "sum" => ReferenceTensor::of(shape, &[sum(losses.iter().copied())]),
        _ => {
            let total = sum(losses.iter().enumerate().map(|(i, &l)| l / scale(i)));
            ReferenceTensor::of(shape, &[total / count])
        }
    };
    let per_loss = g.map(|g| {
        (0..losses.len())
            .map(|i| match reduction {
                "none" => g[i],
                "sum" => g[0],
                // mean's backward (g / N), then the division's (/ scale).
                _ => g[0] / count / scale(i),
            })
            .collect()
    });
    Some((output, per_loss))
}

/// `log(sum(exp(terms)))`, exact; `-inf` when every term is (or there is none).
fn log_sum_exp(terms: &[Dd]) -> Dd {
    if terms.iter().any(|&t| is_nan(t)) {
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

/// One sample of a `ctc_loss` call: its extended labels (blank, l1, blank, ..., blank)
/// and its log-probabilities at time `t`, class `c`.
struct CtcSample<'a> {
    ext: Vec<usize>,
    input_len: usize,
    lp: Box<dyn Fn(usize, usize) -> Dd + 'a>,
}

impl CtcSample<'_> {
    /// Whether the recursion may skip from state `s` to `s + 2` (or back): wherever the
    /// extended labels two apart differ, as libtorch's recursions test it, so a label
    /// equal to the blank (a mistake, but computed) may be skipped to.
    fn skips(&self, s: usize) -> bool {
        s + 2 < self.ext.len() && self.ext[s] != self.ext[s + 2]
    }

    /// The log-space alpha of every time step below the input length.
    fn alpha(&self) -> Vec<Vec<Dd>> {
        let w = self.ext.len();
        let mut alpha: Vec<Vec<Dd>> = Vec::with_capacity(self.input_len);
        if self.input_len == 0 {
            return alpha;
        }
        let mut first = vec![Dd::new(f64::NEG_INFINITY); w];
        first[0] = (self.lp)(0, self.ext[0]);
        if w > 1 {
            first[1] = (self.lp)(0, self.ext[1]);
        }
        alpha.push(first);
        for t in 1..self.input_len {
            let prev = &alpha[t - 1];
            let row = (0..w)
                .map(|s| {
                    let mut terms = vec![prev[s]];
                    if s >= 1 {
                        terms.push(prev[s - 1]);
                    }
                    if s >= 2 && self.skips(s - 2) {
                        terms.push(prev[s - 2]);
                    }
                    log_sum_exp(&terms) + (self.lp)(t, self.ext[s])
                })
                .collect();
            alpha.push(row);
        }
        alpha
    }

    /// The log-space beta of every time step below the input length.
    fn beta(&self) -> Vec<Vec<Dd>> {
        let (w, il) = (self.ext.len(), self.input_len);
        let mut beta = vec![vec![Dd::new(f64::NEG_INFINITY); w]; il];
        if il == 0 {
            return beta;
        }
        let last = il - 1;
        beta[last][w - 1] = (self.lp)(last, self.ext[w - 1]);
        if w > 1 {
            beta[last][w - 2] = (self.lp)(last, self.ext[w - 2]);
        }
        for t in (0..last).rev() {
            for s in 0..w {
                let next = &beta[t + 1];
                let mut terms = vec![next[s]];
                if s + 1 < w {
                    terms.push(next[s + 1]);
                }
                if self.skips(s) {
                    terms.push(next[s + 2]);
                }
                beta[t][s] = log_sum_exp(&terms) + (self.lp)(t, self.ext[s]);
            }
        }
        beta
    }

    /// The negative log-likelihood: `-log` of the last two states' alpha at the last
    /// step; 0 or infinity for an empty input, as the target is empty or not.
    fn nll(&self, alpha: &[Vec<Dd>]) -> Dd {
        let Some(last) = alpha.last() else {
            return if self.ext.len() == 1 {
                Dd::ZERO
            } else {
                Dd::new(f64::INFINITY)
            };
        };
        let w = last.len();
        let ends: Vec<Dd> = last[w.saturating_sub(2)..].to_vec();
        -log_sum_exp(&ends)
    }
}

/// The gradient rows (`t < input_length`, `classes` each) of one sample, for the
/// gradient `gr` of its loss, as libtorch's `ctc_loss_backward` defines them:
/// `(exp(lp) - exp((lcab + nll) - lp)) * gr`, `lcab = log(sum over s with l'(s) = c of
/// alpha_t(s) beta_t(s))`. That is the gradient with respect to the logits of a
/// log_softmax whose output `lp` is, not the derivative with respect to `lp` (the two
/// agree only after the softmax's backward); libtorch returns it as `log_probs`'s
/// gradient. An infinite loss makes it NaN (`-inf + inf`).
fn ctc_sample_grad(
    x: &CtcSample<'_>,
    alpha: &[Vec<Dd>],
    nll: Dd,
    gr: Dd,
    classes: usize,
) -> Vec<Dd> {
    let il = x.input_len;
    if il == 0 {
        return Vec::new();
    }
    let beta = x.beta();
    let w = x.ext.len();
    let mut out = Vec::with_capacity(il * classes);
    for t in 0..il {
        let mut lcab = vec![Dd::new(f64::NEG_INFINITY); classes];
        if t == il - 1 {
            // libtorch assigns the last step's two states rather than log-adding them
            // (the blank's first): a last label equal to the blank overwrites it. The
            // other states' beta is -inf there.
            lcab[x.ext[w - 1]] = alpha[t][w - 1] + beta[t][w - 1];
            if w > 1 {
                lcab[x.ext[w - 2]] = alpha[t][w - 2] + beta[t][w - 2];
            }
        } else {
            for (c, slot) in lcab.iter_mut().enumerate() {
                let terms: Vec<Dd> = (0..w)
                    .filter(|&s| x.ext[s] == c)
                    .map(|s| alpha[t][s] + beta[t][s])
                    .collect();
                *slot = log_sum_exp(&terms);
            }
        }
        for (c, &l) in lcab.iter().enumerate() {
            let lp = (x.lp)(t, c);
            out.push((lp.exp() - (l + nll - lp).exp()) * gr);
        }
    }
    out
}

/// `ctc_loss`, for a call PyTorch accepts with every label a class: the output, and
/// the gradient with respect to `log_probs` when the case asks for it (0 at
/// `t >= input_length`, and for a sample whose loss `zero_infinity` zeroes).
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
    let (batch, classes) = match lp.shape.as_slice() {
        [_, n, c] => (*n, *c),
        [_, c] => (1, *c),
        _ => return None,
    };
    let padded = targets.shape.len() == 2;
    let zero_infinity = case.bool("zero_infinity").unwrap_or(false);
    let mut offset = 0usize;
    let mut samples = Vec::with_capacity(batch);
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
        let ext = (0..2 * target_len + 1)
            .map(|s| {
                if s % 2 == 0 {
                    blank as usize
                } else {
                    sample[s / 2] as usize
                }
            })
            .collect();
        samples.push(CtcSample {
            ext,
            input_len,
            lp: Box::new(move |t, c| Dd::new(values[(t * batch + b) * classes + c])),
        });
    }
    let alphas: Vec<Vec<Vec<Dd>>> = samples.iter().map(CtcSample::alpha).collect();
    let nlls: Vec<Dd> = samples.iter().zip(&alphas).map(|(x, a)| x.nll(a)).collect();
    let zeroed = |nll: Dd| zero_infinity && nll.hi() == f64::INFINITY;
    let losses: Vec<Dd> = nlls
        .iter()
        .map(|&nll| if zeroed(nll) { Dd::ZERO } else { nll })
        .collect();
    let (output, per_loss) = reduce(case, &losses, none_shape, |i| Dd::new(tl[i].max(1) as f64))?;
    let mut grads = Vec::new();
    if let Some(g) = per_loss.filter(|_| case.grad_wrt().contains(&"log_probs")) {
        let mut grad = vec![Dd::ZERO; values.len()];
        for (b, x) in samples.iter().enumerate() {
            if zeroed(nlls[b]) {
                continue;
            }
            let rows = ctc_sample_grad(x, &alphas[b], nlls[b], g[b], classes);
            for (k, v) in rows.into_iter().enumerate() {
                let (t, c) = (k / classes, k % classes);
                grad[(t * batch + b) * classes + c] = v;
            }
        }
        grads.push(("log_probs", ReferenceTensor::of(lp.shape.clone(), &grad)));
    }
    Some(Reference { output, grads })
}
