//! The reference of the element-wise losses: each element's loss written once as a
//! function of its arguments in double-double arithmetic, differentiated forward (each
//! value carries its partial derivatives), then reduced the way the op reduces.
//!
//! Forward-mode derivatives keep the reference independent of the Rust losses'
//! hand-written backwards: a gradient formula written wrong there cannot be written
//! wrong the same way here.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::{broadcast_index, dd_numbers, grad_output, sum, Dd, Reference, ReferenceTensor};
use crate::case::Case;

/// At most this many tensors take part in one element's loss.
const ARGS: usize = 4;

/// A value and its partial derivatives with respect to the element's arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dual {
    v: Dd,
    d: [Dd; ARGS],
}

impl Dual {
    /// A constant: no derivative.
    pub(crate) fn constant(v: f64) -> Dual {
        Dual {
            v: Dd::new(v),
            d: [Dd::ZERO; ARGS],
        }
    }

    fn argument(v: Dd, k: usize) -> Dual {
        let mut d = [Dd::ZERO; ARGS];
        d[k] = Dd::ONE;
        Dual { v, d }
    }

    /// The value, rounded to f64.
    pub(crate) fn value(self) -> f64 {
        self.v.hi()
    }

    /// `f(self)` whose derivative is `df` at `self`.
    fn chain(self, v: Dd, df: Dd) -> Dual {
        Dual {
            v,
            d: self.d.map(|d| if d == Dd::ZERO { d } else { d * df }),
        }
    }

    /// The natural logarithm.
    pub(crate) fn ln(self) -> Dual {
        self.chain(self.v.ln(), Dd::ONE / self.v)
    }

    /// `ln(1 + self)`.
    pub(crate) fn ln_1p(self) -> Dual {
        self.chain(self.v.ln_1p(), Dd::ONE / (self.v + 1.0))
    }

    /// `e^self`.
    pub(crate) fn exp(self) -> Dual {
        let e = self.v.exp();
        self.chain(e, e)
    }

    /// `|self|`, with torch's `sgn` as the slope: 0 at 0 and at NaN.
    pub(crate) fn abs(self) -> Dual {
        let h = self.v.hi();
        let (v, s) = if h > 0.0 {
            (self.v, 1.0)
        } else if h < 0.0 {
            (-self.v, -1.0)
        } else {
            (self.v, 0.0)
        };
        let v = if h.is_nan() { Dd::new(f64::NAN) } else { v };
        self.chain(v, Dd::new(s))
    }

    /// `max(self, c)` in value with the derivative of `self` everywhere: a clamp made
    /// in place under `no_grad`, which autograd does not see (`gaussian_nll_loss`).
    pub(crate) fn at_least(self, c: f64) -> Dual {
        let v = if self.v.hi() < c { Dd::new(c) } else { self.v };
        Dual { v, d: self.d }
    }

    /// torch's `xlogy(a, b)`: `a * ln(b)`, 0 where `a` is 0 (unless `b` is NaN); its
    /// derivatives are autograd's, `ln(b)` where `a != 0` (else 0) and `a / b` (NaN
    /// at `a = b = 0`).
    pub(crate) fn xlogy(a: Dual, b: Dual) -> Dual {
        let zero = a.v.hi() == 0.0 && !b.v.hi().is_nan();
        let v = if zero { Dd::ZERO } else { a.v * b.v.ln() };
        let da = if a.v.hi() != 0.0 { b.v.ln() } else { Dd::ZERO };
        let db = a.v / b.v;
        let mut d = [Dd::ZERO; ARGS];
        for (k, slot) in d.iter_mut().enumerate() {
            let x = if a.d[k] == Dd::ZERO {
                Dd::ZERO
            } else {
                a.d[k] * da
            };
            let y = if b.d[k] == Dd::ZERO {
                Dd::ZERO
            } else {
                b.d[k] * db
            };
            *slot = x + y;
        }
        Dual { v, d }
    }

    /// `self`'s value with the derivative an op's own backward gives: the sum of each
    /// argument's partials times its coefficient (for ops whose backward is not the
    /// derivative of their forward, as `binary_cross_entropy`'s clamped logs).
    pub(crate) fn with_partials(self, parts: &[(Dual, Dual)]) -> Dual {
        let mut d = [Dd::ZERO; ARGS];
        for (arg, coefficient) in parts {
            for (slot, &p) in d.iter_mut().zip(&arg.d) {
                if p != Dd::ZERO {
                    *slot = *slot + p * coefficient.v;
                }
            }
        }
        Dual { v: self.v, d }
    }

    /// 0, as `masked_fill` writes it, with the derivative autograd gives through it:
    /// each partial times 0 (NaN where the masked value's derivative is not finite).
    pub(crate) fn masked(self) -> Dual {
        Dual {
            v: Dd::ZERO,
            d: self.d.map(|d| if d == Dd::ZERO { d } else { d * 0.0 }),
        }
    }
}

macro_rules! dual_ops {
    ($($trait:ident $method:ident),*) => {$(
        impl $trait<f64> for Dual {
            type Output = Dual;
            fn $method(self, o: f64) -> Dual {
                <Dual as $trait<Dual>>::$method(self, Dual::constant(o))
            }
        }
    )*};
}
dual_ops!(Add add, Sub sub, Mul mul, Div div);

impl Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        let mut d = self.d;
        for (a, b) in d.iter_mut().zip(o.d) {
            *a = *a + b;
        }
        Dual { v: self.v + o.v, d }
    }
}

impl Sub for Dual {
    type Output = Dual;
    fn sub(self, o: Dual) -> Dual {
        self + -o
    }
}

impl Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual {
            v: -self.v,
            d: self.d.map(|d| -d),
        }
    }
}

impl Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        let mut d = [Dd::ZERO; ARGS];
        for (k, slot) in d.iter_mut().enumerate() {
            // A zero partial contributes nothing, even against an infinite value.
            let a = if self.d[k] == Dd::ZERO {
                Dd::ZERO
            } else {
                self.d[k] * o.v
            };
            let b = if o.d[k] == Dd::ZERO {
                Dd::ZERO
            } else {
                o.d[k] * self.v
            };
            *slot = a + b;
        }
        Dual { v: self.v * o.v, d }
    }
}

impl Div for Dual {
    type Output = Dual;
    fn div(self, o: Dual) -> Dual {
        let q = self.v / o.v;
        let mut d = [Dd::ZERO; ARGS];
        for (k, slot) in d.iter_mut().enumerate() {
            let a = if self.d[k] == Dd::ZERO {
                Dd::ZERO
            } else {
                self.d[k] / o.v
            };
            let b = if o.d[k] == Dd::ZERO {
                Dd::ZERO
            } else {
                o.d[k] * q / o.v
            };
            *slot = a - b;
        }
        Dual { v: q, d }
    }
}

/// What an element-wise loss's `mean` divides by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mean {
    /// The number of elements of the broadcast shape.
    Count,
    /// The sum of the named tensor's own elements (the weighted means written in
    /// Python, which sum the weight before it is broadcast).
    SumOf(&'static str),
}

/// How an element-wise loss is laid out and reduced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// The tensors that broadcast together, the element function's arguments in order.
    pub tensors: &'static [&'static str],
    /// The `mean` reduction's divisor.
    pub mean: Mean,
    /// Averaged over the classes before the reduction (`multilabel_soft_margin_loss`).
    pub class_mean: bool,
}

/// The reference of an element-wise loss: `element` gets, for each element of the
/// broadcast shape, the values of `shape.tensors` there (`None` for an absent one).
/// `reduction` may also be `batchmean` (the sum divided by the input's first size).
/// `None` when the tensors do not broadcast or `element` has no value (a required
/// tensor is absent).
pub(crate) fn elementwise(
    case: &Case,
    shape: Shape,
    element: impl Fn(&[Option<Dual>]) -> Option<Dual>,
) -> Option<Reference> {
    let present: Vec<(usize, &'static str)> = shape
        .tensors
        .iter()
        .enumerate()
        .filter(|(_, n)| case.tensor(n).is_some())
        .map(|(k, &n)| (k, n))
        .collect();
    let rank = present
        .iter()
        .filter_map(|(_, n)| Some(case.tensor(n)?.shape.len()))
        .max()?;
    let mut full = vec![1usize; rank];
    for (_, n) in &present {
        let s = &case.tensor(n)?.shape;
        for (i, &size) in s.iter().enumerate() {
            let at = rank - s.len() + i;
            match (full[at], size) {
                (a, b) if a == b || b == 1 => {}
                (1, b) => full[at] = b,
                _ => return None,
            }
        }
    }
    let indices: Vec<Option<Vec<usize>>> = shape
        .tensors
        .iter()
        .map(|n| match case.tensor(n) {
            Some(t) => broadcast_index(&t.shape, &full),
            None => None,
        })
        .collect();
    let values: Vec<Option<Vec<Dd>>> = shape
        .tensors
        .iter()
        .map(|n| case.tensor(n).and_then(dd_numbers))
        .collect();
    let n: usize = full.iter().product();
    let losses: Vec<Dual> = (0..n)
        .map(|i| {
            let args: Vec<Option<Dual>> = (0..shape.tensors.len())
                .map(|k| {
                    let (ix, v) = (indices[k].as_ref()?, values[k].as_ref()?);
                    Some(Dual::argument(v[ix[i]], k))
                })
                .collect();
            element(&args)
        })
        .collect::<Option<_>>()?;
    // The class mean (multilabel_soft_margin_loss's Python): the loss summed over
    // dimension `input.dim() - 1` of the broadcast shape, divided by the input's last
    // size (which is not that dimension's size when the target adds dimensions).
    let class_axis = match case.input().shape.len() {
        r if shape.class_mean && r > 0 => Some(r - 1),
        _ => None,
    };
    // Element `i` belongs to row `row_of(i)`: its index with the class axis removed
    // (without one, every element is its own row).
    let (len, inner) = class_axis.map_or((1, 1), |a| (full[a], full[a + 1..].iter().product()));
    let row_of = |i: usize| (i / (len * inner)) * inner + i % inner;
    let mut row_shape = full.clone();
    let classes = match class_axis {
        Some(a) => {
            row_shape.remove(a);
            *case.input().shape.last()? as f64
        }
        None => 1.0,
    };
    let rows: usize = row_shape.iter().product();
    let mut row_losses = vec![Dual::constant(0.0); rows];
    for (i, l) in losses.iter().enumerate() {
        row_losses[row_of(i)] = row_losses[row_of(i)] + *l;
    }
    if class_axis.is_some() {
        row_losses.iter_mut().for_each(|l| *l = *l / classes);
    }
    let reduction = case.reduction_name();
    let divisor = match (reduction, shape.mean) {
        ("mean", Mean::Count) => Some(Dd::new(rows as f64)),
        ("mean", Mean::SumOf(name)) => match case.tensor(name) {
            Some(t) => Some(sum(dd_numbers(t)?)),
            None => Some(Dd::new(rows as f64)),
        },
        ("batchmean", _) => Some(Dd::new(
            case.input().shape.first().copied().unwrap_or(1) as f64
        )),
        _ => None,
    };
    let total = || sum(row_losses.iter().map(|l| l.v));
    let (output, out_shape) = match (reduction, divisor) {
        ("none", _) => (row_losses.iter().map(|l| l.v).collect(), row_shape.clone()),
        (_, Some(d)) => (vec![total() / d], Vec::new()),
        _ => (vec![total()], Vec::new()),
    };
    let mut grads = Vec::new();
    if let Some(g) = grad_output(case, &out_shape).filter(|_| case.grad) {
        let g_at = |r: usize| {
            let g = if reduction == "none" { g[r] } else { g[0] };
            let g = match divisor {
                Some(d) => g / d,
                None => g,
            };
            if class_axis.is_some() {
                g / classes
            } else {
                g
            }
        };
        for wrt in case.grad_wrt() {
            let Some(k) = shape.tensors.iter().position(|n| *n == wrt) else {
                continue;
            };
            let (Some(t), Some(ix)) = (case.tensor(wrt), indices[k].as_ref()) else {
                continue;
            };
            let mut grad = vec![Dd::ZERO; t.values.len()];
            for (i, l) in losses.iter().enumerate() {
                grad[ix[i]] = grad[ix[i]] + g_at(row_of(i)) * l.d[k];
            }
            if let (Mean::SumOf(name), "mean", Some(d)) = (shape.mean, reduction, divisor) {
                if name == wrt {
                    // The divisor is this tensor's sum: each element also moves it.
                    let through = -(g[0] * total() / (d * d));
                    grad.iter_mut().for_each(|v| *v = *v + through);
                }
            }
            grads.push((wrt, ReferenceTensor::of(t.shape.clone(), &grad)));
        }
    }
    Some(Reference {
        output: ReferenceTensor::of(out_shape, &output),
        grads,
    })
}
