//! A higher-precision reference for the divergence report's "who is right": the four
//! ops, forward and gradient, in double-double arithmetic (about 106 significant bits),
//! following the semantics of `shared/PYTORCH_SEMANTICS.md` for calls that succeed.
//!
//! It answers "what is the exact result for these inputs" to far below an f64 ULP, so
//! that either side's error can be measured; it makes no error checks beyond what it
//! needs to stay in bounds, and returns `None` for a call PyTorch would reject.
//! Non-finite values propagate as IEEE arithmetic on the same formula would.

mod elementwise;
mod margin;
mod sequence;

use std::ops::{Add, Div, Mul, Neg, Sub};

pub(crate) use elementwise::{elementwise, Dual, Mean, Shape};
pub(crate) use margin::{
    cosine_embedding_op, hinge_op, margin_ranking_op, multi_margin_op, multilabel_margin_op,
};
pub(crate) use sequence::{ctc_op, triplet_op};

use crate::backend::{Backend, RustBackend};
use crate::case::{Case, DType, Op, TensorData, Values};
use crate::losses::internals::{
    check_cross_entropy_shapes, check_nll_loss_shapes, wrap_dim_checked,
};
use crate::losses::Reduction;

/// An unevaluated sum `hi + lo` of two f64 with `|lo| <= ulp(hi) / 2`: about 106
/// significant bits. A non-finite value has `lo == 0` and follows IEEE arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DoubleDouble {
    hi: f64,
    lo: f64,
}

const LN_2: DoubleDouble = DoubleDouble {
    hi: std::f64::consts::LN_2,
    lo: 2.319_046_813_846_299_6e-17,
};

fn two_sum(a: f64, b: f64) -> DoubleDouble {
    let s = a + b;
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    DoubleDouble { hi: s, lo: err }
}

fn quick_two_sum(a: f64, b: f64) -> DoubleDouble {
    let s = a + b;
    DoubleDouble {
        hi: s,
        lo: b - (s - a),
    }
}

/// `x * 2^k`, exact unless the result is subnormal or overflows.
fn scale(x: f64, k: i32) -> f64 {
    let pow = |e: i32| f64::from_bits(((e + 1023) as u64) << 52);
    let mut x = x;
    let mut k = k;
    while k > 1000 {
        x *= pow(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= pow(-1000);
        k += 1000;
    }
    x * pow(k)
}

impl DoubleDouble {
    /// Zero.
    pub const ZERO: DoubleDouble = DoubleDouble { hi: 0.0, lo: 0.0 };
    /// One.
    pub const ONE: DoubleDouble = DoubleDouble { hi: 1.0, lo: 0.0 };

    /// The exact value of an f64.
    pub fn new(x: f64) -> Self {
        DoubleDouble { hi: x, lo: 0.0 }
    }

    /// The value rounded to f64 (to nearest).
    pub fn hi(self) -> f64 {
        self.hi
    }

    /// What rounding to f64 left out: `self - self.hi()`.
    pub fn lo(self) -> f64 {
        self.lo
    }

    /// Whether the value is finite.
    pub fn is_finite(self) -> bool {
        self.hi.is_finite()
    }

    fn renormalised(hi: f64, lo: f64) -> Self {
        let r = quick_two_sum(hi, lo);
        if r.hi.is_finite() {
            r
        } else {
            DoubleDouble::new(r.hi)
        }
    }

    /// `self * 2^k`.
    fn scaled(self, k: i32) -> Self {
        DoubleDouble::renormalised(scale(self.hi, k), scale(self.lo, k))
    }

    /// `e^self`, relative error about 1e-30 (the f64 range limits the result).
    pub fn exp(self) -> Self {
        let x = self.hi;
        if x.is_nan() {
            return DoubleDouble::new(f64::NAN);
        }
        if x > 709.79 {
            return DoubleDouble::new(f64::INFINITY);
        }
        if x < -745.2 {
            return DoubleDouble::ZERO;
        }
        // self = k ln 2 + r, |r| <= ln 2 / 2; e^r = (e^(r / 512))^512, with the Taylor
        // series of e^s - 1 for |s| < 7e-4 and squarings in the e^s - 1 form, which
        // keeps the small part exact.
        let k = (x / std::f64::consts::LN_2).round();
        let r = self - LN_2 * k;
        let s = r.scaled(-9);
        let mut term = s;
        let mut sum = s;
        for n in 2..=12 {
            term = term * s / n as f64;
            sum = sum + term;
        }
        for _ in 0..9 {
            sum = sum * (sum + 2.0);
        }
        (sum + 1.0).scaled(k as i32)
    }

    /// `ln(1 + self)`, accurate relative to the result even when `self` is tiny.
    pub fn ln_1p(self) -> Self {
        let t = self;
        if t.hi.is_nan() || t.hi < -1.0 {
            return DoubleDouble::new(f64::NAN);
        }
        if t.hi == -1.0 && t.lo <= 0.0 {
            return DoubleDouble::new(f64::NEG_INFINITY);
        }
        if t.hi == f64::INFINITY {
            return t;
        }
        if t.hi.abs() < 1.0 / 1024.0 {
            // ln(1 + t) = 2 atanh(z), z = t / (2 + t): an odd series in z, |z| < 5e-4.
            let z = t / (t + 2.0);
            let z2 = z * z;
            let mut power = z;
            let mut sum = z;
            for n in 1..=6 {
                power = power * z2;
                sum = sum + power / (2 * n + 1) as f64;
            }
            return sum * 2.0;
        }
        (t + 1.0).ln()
    }

    /// The square root, relative error about 1e-31: one Newton step from the f64
    /// root (0, negative values, NaN and infinity as f64's).
    pub fn sqrt(self) -> Self {
        if self.hi.is_nan() || self.hi <= 0.0 || self.hi.is_infinite() {
            return DoubleDouble::new(self.hi.sqrt());
        }
        let y = DoubleDouble::new(self.hi.sqrt());
        y + (self - y * y) / (y * 2.0)
    }

    /// The natural logarithm, relative error about 1e-30.
    pub fn ln(self) -> Self {
        let x = self;
        if x.hi.is_nan() || x.hi < 0.0 {
            return DoubleDouble::new(f64::NAN);
        }
        if x.hi == 0.0 {
            return DoubleDouble::new(f64::NEG_INFINITY);
        }
        if x.hi == f64::INFINITY {
            return x;
        }
        // x = m 2^e with m in [sqrt(1/2), sqrt(2)): ln x = ln m + e ln 2.
        let mut x = x;
        let mut e = 0i32;
        if x.hi < 1e-300 {
            x = x.scaled(600);
            e -= 600;
        }
        let mut exponent = ((x.hi.to_bits() >> 52) & 0x7ff) as i32 - 1023;
        let mut m = x.scaled(-exponent);
        if m.hi > std::f64::consts::SQRT_2 {
            m = m.scaled(-1);
            exponent += 1;
        }
        e += exponent;
        let t = m - 1.0;
        let ln_m = if t.hi.abs() < 1.0 / 1024.0 {
            t.ln_1p()
        } else {
            // Newton on e^y = m from the f64 logarithm: each step doubles the bits.
            let mut y = DoubleDouble::new(m.hi.ln());
            for _ in 0..2 {
                y = y + m * (-y).exp() - 1.0;
            }
            y
        };
        ln_m + LN_2 * e as f64
    }
}

impl From<f64> for DoubleDouble {
    fn from(x: f64) -> Self {
        DoubleDouble::new(x)
    }
}

impl Neg for DoubleDouble {
    type Output = DoubleDouble;
    fn neg(self) -> DoubleDouble {
        DoubleDouble {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Add for DoubleDouble {
    type Output = DoubleDouble;
    fn add(self, o: DoubleDouble) -> DoubleDouble {
        if !(self.hi.is_finite() && o.hi.is_finite()) {
            return DoubleDouble::new(self.hi + o.hi);
        }
        let s = two_sum(self.hi, o.hi);
        let t = two_sum(self.lo, o.lo);
        let v = quick_two_sum(s.hi, s.lo + t.hi);
        DoubleDouble::renormalised(v.hi, v.lo + t.lo)
    }
}

impl Sub for DoubleDouble {
    type Output = DoubleDouble;
    fn sub(self, o: DoubleDouble) -> DoubleDouble {
        self + -o
    }
}

impl Mul for DoubleDouble {
    type Output = DoubleDouble;
    fn mul(self, o: DoubleDouble) -> DoubleDouble {
        let p = self.hi * o.hi;
        if !p.is_finite() {
            return DoubleDouble::new(p);
        }
        let err = self.hi.mul_add(o.hi, -p);
        DoubleDouble::renormalised(p, err + (self.hi * o.lo + self.lo * o.hi))
    }
}

impl Div for DoubleDouble {
    type Output = DoubleDouble;
    fn div(self, o: DoubleDouble) -> DoubleDouble {
        let q1 = self.hi / o.hi;
        if !q1.is_finite() || !self.hi.is_finite() || o.hi == 0.0 || !o.hi.is_finite() {
            return DoubleDouble::new(q1);
        }
        let r = self - o * DoubleDouble::new(q1);
        let q2 = r.hi / o.hi;
        let r = r - o * DoubleDouble::new(q2);
        let q3 = r.hi / o.hi;
        let q = quick_two_sum(q1, q2);
        q + DoubleDouble::new(q3)
    }
}

macro_rules! with_f64 {
    ($($trait:ident $method:ident),*) => {$(
        impl $trait<f64> for DoubleDouble {
            type Output = DoubleDouble;
            fn $method(self, o: f64) -> DoubleDouble {
                <DoubleDouble as $trait<DoubleDouble>>::$method(self, DoubleDouble::new(o))
            }
        }
    )*};
}
with_f64!(Add add, Sub sub, Mul mul, Div div);

type Dd = DoubleDouble;

/// One reference tensor: each value rounded to f64, and the residual rounding dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceTensor {
    /// Shape, as the op's output (or gradient) has it.
    pub shape: Vec<usize>,
    /// Values rounded to f64, row-major.
    pub values: Vec<f64>,
    /// `exact - values[i]`, as an f64 (0 for non-finite values).
    pub residuals: Vec<f64>,
}

impl ReferenceTensor {
    fn of(shape: Vec<usize>, values: &[Dd]) -> Self {
        ReferenceTensor {
            shape,
            values: values.iter().map(|v| v.hi).collect(),
            residuals: values
                .iter()
                .map(|v| if v.is_finite() { v.lo } else { 0.0 })
                .collect(),
        }
    }

    /// A tensor of f64 values taken as exact (no residuals).
    pub fn from_f64(data: &TensorData) -> Option<Self> {
        let values = data.floats()?.to_vec();
        Some(ReferenceTensor {
            shape: data.shape.clone(),
            residuals: vec![0.0; values.len()],
            values,
        })
    }

    /// `actual - exact` for element `i`, rounded once.
    pub fn error(&self, i: usize, actual: f64) -> f64 {
        (actual - self.values[i]) - self.residuals[i]
    }
}

/// The exact result of a case: output and, when the case asks for them and its
/// `grad_output` fits, the gradients it can compute (those with respect to the
/// input, and more where the op's reference knows them).
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The op's output.
    pub output: ReferenceTensor,
    /// Gradients by parameter name (`input`, ...).
    pub grads: Vec<(&'static str, ReferenceTensor)>,
}

impl Reference {
    /// The gradient with respect to `wrt`, when computed.
    pub fn grad(&self, wrt: &str) -> Option<&ReferenceTensor> {
        self.grads.iter().find(|(n, _)| *n == wrt).map(|(_, t)| t)
    }

    /// An outcome part by its name: `output`, or `grad_<name>`.
    pub fn part(&self, part: &str) -> Option<&ReferenceTensor> {
        match part {
            "output" => Some(&self.output),
            _ => self.grad(part.strip_prefix("grad_")?),
        }
    }
}

/// Computes a case in double-double arithmetic from its values as written (a float32
/// case's values are exact in f64). `None` when the call is one PyTorch rejects.
///
/// ```
/// use lossparity::case::{Case, DType, Op, TensorData};
/// use lossparity::reference::evaluate;
///
/// let mut case = Case::new(Op::LOG_SOFTMAX, TensorData::float(DType::Float64, vec![2], vec![0.0, -40.0]));
/// case.set_arg("dim", 0);
/// let exact = evaluate(&case).unwrap();
/// // -log(1 + e^-40), which f64 arithmetic rounds to -0.0.
/// assert_eq!(exact.output.values[0], -4.248354255291589e-18);
/// ```
pub fn evaluate(case: &Case) -> Option<Reference> {
    (case.op.spec().reference)(case)
}

fn dd_values(t: &TensorData) -> Option<Vec<Dd>> {
    Some(t.floats()?.iter().map(|&v| Dd::new(v)).collect())
}

fn grad_output(case: &Case, output_shape: &[usize]) -> Option<Vec<Dd>> {
    match &case.grad_output {
        None => Some(vec![Dd::ONE; output_shape.iter().product()]),
        Some(g) if g.shape == output_shape => dd_values(g),
        Some(_) => None,
    }
}

/// A row-major tensor seen as `outer x len x inner` around one axis.
#[derive(Clone, Copy)]
struct Lanes {
    outer: usize,
    len: usize,
    inner: usize,
}

impl Lanes {
    fn new(shape: &[usize], axis: usize) -> Self {
        if shape.is_empty() {
            return Lanes {
                outer: 1,
                len: 1,
                inner: 1,
            };
        }
        Lanes {
            outer: shape[..axis].iter().product(),
            len: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        }
    }

    fn index(&self, o: usize, k: usize, i: usize) -> usize {
        (o * self.len + k) * self.inner + i
    }

    fn for_each(&self, mut f: impl FnMut(&dyn Fn(usize) -> usize)) {
        for o in 0..self.outer {
            for i in 0..self.inner {
                f(&|k| self.index(o, k, i));
            }
        }
    }
}

/// log_softmax and softmax of every lane: `(x - max) - ln(sum)` and `e^(x - max) / sum`.
fn log_softmax_lanes(x: &[Dd], lanes: Lanes) -> (Vec<Dd>, Vec<Dd>) {
    let mut logp = vec![Dd::ZERO; x.len()];
    let mut p = vec![Dd::ZERO; x.len()];
    lanes.for_each(|at| {
        // NaN when any value is NaN, as libtorch's vectorised max.
        let mut max = f64::NEG_INFINITY;
        for k in 0..lanes.len {
            let v = x[at(k)].hi;
            if v.is_nan() {
                max = v;
                break;
            }
            max = max.max(v);
        }
        let shifted: Vec<Dd> = (0..lanes.len).map(|k| x[at(k)] - max).collect();
        let exps: Vec<Dd> = shifted.iter().map(|s| s.exp()).collect();
        let sum = exps.iter().fold(Dd::ZERO, |acc, &e| acc + e);
        let log_sum = sum.ln();
        for k in 0..lanes.len {
            logp[at(k)] = shifted[k] - log_sum;
            p[at(k)] = exps[k] / sum;
        }
    });
    (logp, p)
}

/// The gradient through log_softmax: `g - p * sum(g)` per lane.
fn log_softmax_backward(g: &[Dd], p: &[Dd], lanes: Lanes) -> Vec<Dd> {
    let mut out = vec![Dd::ZERO; g.len()];
    lanes.for_each(|at| {
        let total = (0..lanes.len).fold(Dd::ZERO, |acc, k| acc + g[at(k)]);
        for k in 0..lanes.len {
            out[at(k)] = g[at(k)] - p[at(k)] * total;
        }
    });
    out
}

/// The reference of a case of this op (its registry entry names it).
pub(crate) fn softmax_op(case: &Case) -> Option<Reference> {
    let x = &dd_values(case.input())?;
    let shape = &case.input().shape;
    let axis = wrap_dim_checked(case.dim()?, shape.len()).ok()?;
    let lanes = Lanes::new(shape, axis);
    let (logp, p) = log_softmax_lanes(x, lanes);
    let output = if case.op == Op::LOG_SOFTMAX {
        &logp
    } else {
        &p
    };
    let grad_input = if case.grad {
        grad_output(case, shape).map(|g| {
            let grad = if case.op == Op::LOG_SOFTMAX {
                log_softmax_backward(&g, &p, lanes)
            } else {
                let mut out = vec![Dd::ZERO; g.len()];
                lanes.for_each(|at| {
                    let dot = (0..lanes.len).fold(Dd::ZERO, |acc, k| acc + g[at(k)] * p[at(k)]);
                    for k in 0..lanes.len {
                        out[at(k)] = p[at(k)] * (g[at(k)] - dot);
                    }
                });
                out
            };
            ReferenceTensor::of(shape.clone(), &grad)
        })
    } else {
        None
    };
    Some(Reference {
        output: ReferenceTensor::of(shape.clone(), output),
        grads: grad_input.map(|g| vec![("input", g)]).unwrap_or_default(),
    })
}

/// The class-index layout of a loss input: positions `p = b * map + s`.
struct IndexLayout {
    batch: usize,
    classes: usize,
    map: usize,
    none_shape: Vec<usize>,
}

impl IndexLayout {
    fn new(shape: &[usize]) -> Self {
        if shape.len() == 1 {
            return IndexLayout {
                batch: 1,
                classes: shape[0],
                map: 1,
                none_shape: Vec::new(),
            };
        }
        let mut none_shape = vec![shape[0]];
        none_shape.extend_from_slice(&shape[2..]);
        IndexLayout {
            batch: shape[0],
            classes: shape[1],
            map: shape[2..].iter().product(),
            none_shape,
        }
    }

    fn at(&self, p: usize, c: usize) -> usize {
        (p / self.map * self.classes + c) * self.map + p % self.map
    }

    fn positions(&self) -> usize {
        self.batch * self.map
    }

    fn output_shape(&self, reduction: Reduction) -> Vec<usize> {
        match reduction {
            Reduction::None => self.none_shape.clone(),
            _ => Vec::new(),
        }
    }
}

/// Class-index targets, each checked against the class count (ignored ones excepted).
fn index_targets(case: &Case, layout: &IndexLayout) -> Option<Vec<i64>> {
    let Values::Int(targets) = &case.target()?.values else {
        return None;
    };
    let valid = targets.len() == layout.positions()
        && targets
            .iter()
            .all(|&t| t == case.ignore_index() || (0..layout.classes as i64).contains(&t));
    valid.then(|| targets.clone())
}

fn weights(case: &Case, classes: usize) -> Option<Vec<Dd>> {
    match case.weight() {
        None => Some(vec![Dd::ONE; classes]),
        Some(w) => dd_values(w).filter(|w| w.len() == classes),
    }
}

fn sum(values: impl IntoIterator<Item = Dd>) -> Dd {
    values.into_iter().fold(Dd::ZERO, |acc, v| acc + v)
}

/// The per-position terms of `nll_loss` and the weight a `mean` divides by.
struct Nll {
    /// `-w[t] * logp[t]` per position, 0 where ignored.
    terms: Vec<Dd>,
    /// Sum of `w[t]` over counted positions.
    total_weight: Dd,
}

fn nll_terms(logp: &[Dd], layout: &IndexLayout, targets: &[i64], w: &[Dd], ignore: i64) -> Nll {
    let mut terms = Vec::with_capacity(targets.len());
    let mut total_weight = Dd::ZERO;
    for (p, &t) in targets.iter().enumerate() {
        if t == ignore {
            terms.push(Dd::ZERO);
            continue;
        }
        let wt = w[t as usize];
        terms.push(-(wt * logp[layout.at(p, t as usize)]));
        total_weight = total_weight + wt;
    }
    Nll {
        terms,
        total_weight,
    }
}

fn reduce(terms: &[Dd], reduction: Reduction, divisor: Dd) -> Vec<Dd> {
    match reduction {
        Reduction::None => terms.to_vec(),
        Reduction::Sum => vec![sum(terms.iter().copied())],
        Reduction::Mean => vec![sum(terms.iter().copied()) / divisor],
    }
}

/// The upstream gradient reaching position `p` of a reduced loss.
fn position_grad(g: &[Dd], p: usize, reduction: Reduction, divisor: Dd) -> Dd {
    match reduction {
        Reduction::None => g[p],
        Reduction::Sum => g[0],
        Reduction::Mean => g[0] / divisor,
    }
}

/// The gradient of `nll_loss` with respect to its input, for upstream gradient `g`:
/// `w[t] * -(g')` at the target class, as libtorch composes it.
fn nll_backward(
    g: &[Dd],
    layout: &IndexLayout,
    targets: &[i64],
    w: &[Dd],
    ignore: i64,
    reduction: Reduction,
    total_weight: Dd,
) -> Vec<Dd> {
    let mut grad = vec![Dd::ZERO; layout.positions() * layout.classes];
    for (p, &t) in targets.iter().enumerate() {
        if t == ignore {
            continue;
        }
        let gp = position_grad(g, p, reduction, total_weight);
        grad[layout.at(p, t as usize)] = w[t as usize] * -gp;
    }
    grad
}

/// The reference of a case of this op (its registry entry names it).
pub(crate) fn nll_op(case: &Case) -> Option<Reference> {
    let x = &dd_values(case.input())?;
    let target = case.target()?;
    check_nll_loss_shapes(
        &case.input().shape,
        &target.shape,
        target.dtype.torch_name(),
        case.weight().map(|w| w.shape.as_slice()),
    )
    .ok()?;
    let layout = IndexLayout::new(&case.input().shape);
    let targets = index_targets(case, &layout)?;
    let w = weights(case, layout.classes)?;
    let nll = nll_terms(x, &layout, &targets, &w, case.ignore_index());
    let out_shape = layout.output_shape(case.reduction());
    let output = reduce(&nll.terms, case.reduction(), nll.total_weight);
    let grad_input = if case.grad {
        grad_output(case, &out_shape).map(|g| {
            let grad = nll_backward(
                &g,
                &layout,
                &targets,
                &w,
                case.ignore_index(),
                case.reduction(),
                nll.total_weight,
            );
            ReferenceTensor::of(case.input().shape.clone(), &grad)
        })
    } else {
        None
    };
    Some(Reference {
        output: ReferenceTensor::of(out_shape, &output),
        grads: grad_input.map(|g| vec![("input", g)]).unwrap_or_default(),
    })
}

/// The reference of a case of this op (its registry entry names it).
pub(crate) fn cross_entropy_op(case: &Case) -> Option<Reference> {
    let x = dd_values(case.input())?;
    let (output, grads) = cross_entropy_on(case, &x, &case.input().shape)?;
    Some(Reference {
        output,
        grads: grads
            .into_iter()
            .map(|(wrt, shape, g)| (wrt, ReferenceTensor::of(shape, &g)))
            .collect(),
    })
}

/// A gradient of the exact reference before rounding: its tensor's name and shape.
type ExactGrad = (&'static str, Vec<usize>, Vec<Dd>);

/// `cross_entropy` of exact logits `x` of `shape`, with the case's target, class weight
/// and options: the output, and the gradients the case asks for (`input` meaning the
/// logits; `target` and `weight` with class probabilities).
fn cross_entropy_on(
    case: &Case,
    x: &[Dd],
    shape: &[usize],
) -> Option<(ReferenceTensor, Vec<ExactGrad>)> {
    let target = case.target()?;
    check_cross_entropy_shapes(
        shape,
        &target.shape,
        target.dtype.torch_name(),
        target.dtype.is_float(),
        case.weight().map(|w| w.shape.as_slice()),
        case.ignore_index(),
        case.label_smoothing(),
    )
    .ok()?;
    let class_dim = usize::from(shape.len() > 1);
    let lanes = Lanes::new(shape, class_dim);
    let (logp, p) = log_softmax_lanes(x, lanes);
    let classes = shape[class_dim];
    let w = weights(case, classes)?;
    let ls = case.label_smoothing().max(0.0);
    let probabilities = target.shape == shape;
    let (output, out_shape, grad_logp): LossParts = if probabilities {
        probability_loss(case, shape, &logp, lanes, &w, ls)?
    } else {
        index_loss(case, shape, &logp, &w, ls)?
    };
    let mut grads = Vec::new();
    if let Some(g) = grad_output(case, &out_shape).filter(|_| case.grad) {
        let mut logits_grad = None;
        for wrt in case.grad_wrt() {
            match wrt {
                "target" | "weight" if probabilities => {
                    let (t, w) = probability_grads(case, &logp, lanes, &w, ls, &g)?;
                    grads.push(if wrt == "target" {
                        (wrt, shape.to_vec(), t)
                    } else {
                        (wrt, vec![classes], w)
                    });
                }
                "target" | "weight" => {}
                _ if logits_grad.is_none() => {
                    let grad = log_softmax_backward(&grad_logp(&g), &p, lanes);
                    logits_grad = Some(());
                    grads.push(("input", shape.to_vec(), grad));
                }
                _ => {}
            }
        }
    }
    Some((ReferenceTensor::of(out_shape, &output), grads))
}

/// The reference of a case of this op (its registry entry names it): the logits
/// `x W^T + b` exactly (each a double-double sum of exact products), `cross_entropy`'s
/// reference on them, and the linear layer's gradients from the logits' exact
/// gradient `G`: `G W`, `G^T x` and the column sums of `G`.
pub(crate) fn linear_cross_entropy_op(case: &Case) -> Option<Reference> {
    let logits_shape = crate::ops::linear_cross_entropy_logits(case).ok()?;
    // Integer or mixed-dtype operands are rejected by `linear`.
    let dtypes = [
        Some(case.input()),
        case.tensor("linear_weight"),
        case.tensor("linear_bias"),
    ];
    if dtypes
        .iter()
        .flatten()
        .any(|t| t.dtype != case.input().dtype)
    {
        return None;
    }
    let x = dd_values(case.input())?;
    let lw = case.tensor("linear_weight")?;
    let w = dd_values(lw)?;
    let in_features = *case.input().shape.last()?;
    let rows = if case.input().shape.len() == 2 {
        case.input().shape[0]
    } else {
        1
    };
    let vocab: usize = lw.shape[..lw.shape.len() - 1].iter().product();
    let bias = match case.tensor("linear_bias") {
        Some(b) => Some(dd_values(b)?),
        None => None,
    };
    let mut logits = Vec::with_capacity(rows * vocab);
    for r in 0..rows {
        for v in 0..vocab {
            let dot =
                sum((0..in_features).map(|k| x[r * in_features + k] * w[v * in_features + k]));
            logits.push(match &bias {
                Some(b) => b[v] + dot,
                None => dot,
            });
        }
    }
    let dims = LinearDims {
        rows,
        vocab,
        in_features,
        logits_shape,
    };
    linear_cross_entropy_on(case, &logits, &x, &w, &dims)
}

/// The shapes of a `linear_cross_entropy` case's linear layer.
struct LinearDims {
    rows: usize,
    vocab: usize,
    in_features: usize,
    logits_shape: Vec<usize>,
}

/// How far from the exact result the float rounding of the logits alone can move each
/// value of a `linear_cross_entropy` case, to first order: the sum over the logits of
/// `|d value / d logit|` times the logit's forward error bound in the case's dtype,
/// `gamma_(K+1) * (|b| + sum_k |x_k w_k|)` with `gamma_n = n u / (1 - n u)` (the bound
/// of a dot product of `K` terms plus the bias in any order, with or without FMA; what
/// libtorch's BLAS and the Rust side's `gemm` both only promise). The derivatives are
/// central differences in double-double arithmetic (steps of 1e-10 of the logit, far
/// above its 1e-32 rounding and far below its curvature). Same layout as
/// [`evaluate`]'s result; `None` where the reference has none.
pub(crate) fn linear_cross_entropy_logit_bound(case: &Case) -> Option<Reference> {
    if case.op.name() != "linear_cross_entropy" {
        return None;
    }
    let exact = linear_cross_entropy_op(case)?;
    let logits_shape = crate::ops::linear_cross_entropy_logits(case).ok()?;
    let x = dd_values(case.input())?;
    let lw = case.tensor("linear_weight")?;
    let w = dd_values(lw)?;
    let in_features = *case.input().shape.last()?;
    let rows = if case.input().shape.len() == 2 {
        case.input().shape[0]
    } else {
        1
    };
    let vocab: usize = lw.shape[..lw.shape.len() - 1].iter().product();
    let bias = match case.tensor("linear_bias") {
        Some(b) => Some(dd_values(b)?),
        None => None,
    };
    let u = match case.input().dtype {
        DType::Float32 => f64::powi(2.0, -24),
        _ => f64::powi(2.0, -53),
    };
    let n = (in_features + 1) as f64;
    let gamma = n * u / (1.0 - n * u);
    let mut logits = Vec::with_capacity(rows * vocab);
    let mut bounds = Vec::with_capacity(rows * vocab);
    for r in 0..rows {
        for v in 0..vocab {
            let terms = (0..in_features).map(|k| x[r * in_features + k] * w[v * in_features + k]);
            let dot = sum(terms.clone());
            let magnitude: f64 = terms.map(|t| t.hi.abs()).sum::<f64>()
                + bias.as_ref().map_or(0.0, |b| b[v].hi.abs());
            logits.push(match &bias {
                Some(b) => b[v] + dot,
                None => dot,
            });
            bounds.push(gamma * magnitude);
        }
    }
    let dims = LinearDims {
        rows,
        vocab,
        in_features,
        logits_shape,
    };
    // Double-double values: an f64 difference of two values 1e-10 apart would keep
    // only six digits of the slope.
    let flat = |r: &Reference| -> Vec<Vec<Dd>> {
        std::iter::once(&r.output)
            .chain(r.grads.iter().map(|(_, t)| t))
            .map(|t| {
                t.values
                    .iter()
                    .zip(&t.residuals)
                    .map(|(&v, &l)| Dd::new(v) + l)
                    .collect()
            })
            .collect()
    };
    let mut total: Vec<Vec<f64>> = flat(&exact).iter().map(|p| vec![0.0; p.len()]).collect();
    for (d, &bound) in bounds.iter().enumerate() {
        let step = 1e-10 * logits[d].hi.abs().max(1.0);
        let mut moved = logits.clone();
        moved[d] = logits[d] + step;
        let up = linear_cross_entropy_on(case, &moved, &x, &w, &dims)?;
        moved[d] = logits[d] - step;
        let down = linear_cross_entropy_on(case, &moved, &x, &w, &dims)?;
        let (up, down) = (flat(&up), flat(&down));
        for ((t, u), dn) in total.iter_mut().zip(&up).zip(&down) {
            for ((t, u), dn) in t.iter_mut().zip(u).zip(dn) {
                let slope = (*u - *dn).hi / (2.0 * step);
                if slope.is_finite() {
                    *t += slope.abs() * bound;
                }
            }
        }
    }
    let names: Vec<&str> = exact.grads.iter().map(|(n, _)| *n).collect();
    add_backward_rounding(case, &logits, &x, &w, &dims, u, &names, &mut total[1..])?;
    let of = |t: &ReferenceTensor, values: &[f64]| ReferenceTensor {
        shape: t.shape.clone(),
        values: values.to_vec(),
        residuals: vec![0.0; values.len()],
    };
    Some(Reference {
        output: of(&exact.output, &total[0]),
        grads: exact
            .grads
            .iter()
            .zip(&total[1..])
            .map(|((n, t), v)| (*n, of(t, v)))
            .collect(),
    })
}

/// Adds to the bounds of the linear layer's gradients (`names`, in `bounds`' order) the
/// first-order effect of the backward's own rounding: each logit's gradient `g_c =
/// -c_c + p_c T` (with `c_c` the loss's coefficient of `-logp_c` and `T = sum c`) is
/// off, in any float evaluation, by at most `u (2|c_c| + |g_c| + p_c A (C + 3 + |logp_c|
/// + |lse|))` with `A = sum |c|` (the products, the exponential of a rounded
/// log-probability, a sum of `C` terms in any order, the product and the difference),
/// and the matrix products `g W`, `g^T x` and `sum g` add their own `gamma_n sum |terms|`.
/// A gradient of the input is a sum over the vocabulary of those errors times the
/// weights: with large weights it carries them far past the tolerance, on either side.
/// The coefficients come from the reference itself, probing each softmax row with one
/// class raised far above the others (where `p` is one-hot and `g_c = -c_c`).
#[allow(clippy::too_many_arguments)]
fn add_backward_rounding(
    case: &Case,
    logits: &[Dd],
    x: &[Dd],
    w: &[Dd],
    dims: &LinearDims,
    u: f64,
    names: &[&str],
    bounds: &mut [Vec<f64>],
) -> Option<()> {
    let linear = |n: &&str| matches!(*n, "input" | "linear_weight" | "linear_bias");
    if !names.iter().any(linear) {
        return Some(());
    }
    let shape = dims.logits_shape.as_slice();
    let (classes, inner) = match shape {
        [] => (1, 1),
        [c] => (*c, 1),
        [_, c, rest @ ..] => (*c, rest.iter().product()),
    };
    if classes == 0 || logits.iter().any(|l| !l.hi.is_finite()) {
        return Some(());
    }
    let at = |row: usize, c: usize| (row / inner * classes + c) * inner + row % inner;
    let softmax_rows = logits.len() / classes;
    let grad_of = |l: &[Dd]| -> Option<Vec<Dd>> {
        let (_, grads) = cross_entropy_on(case, l, shape)?;
        grads
            .into_iter()
            .find(|(n, _, _)| *n == "input")
            .map(|(_, _, g)| g)
    };
    let g = grad_of(logits)?;
    let mut err = vec![0.0; logits.len()];
    // One class alone: its gradient is exactly 0 on every side.
    if classes >= 2 {
        let shift = 2.0 * logits.iter().map(|l| l.hi.abs()).fold(0.0, f64::max) + 1e3;
        let probe = |k: usize| -> Option<Vec<Dd>> {
            let mut moved = logits.to_vec();
            for r in 0..softmax_rows {
                moved[at(r, k)] = moved[at(r, k)] + shift;
            }
            grad_of(&moved)
        };
        let (g0, g1) = (probe(0)?, probe(1)?);
        for r in 0..softmax_rows {
            let coef = |c: usize| {
                if c == 0 {
                    g1[at(r, 0)].hi.abs()
                } else {
                    g0[at(r, c)].hi.abs()
                }
            };
            let a: f64 = (0..classes).map(coef).sum();
            let max = (0..classes)
                .map(|c| logits[at(r, c)].hi)
                .fold(f64::NEG_INFINITY, f64::max);
            let lse = max
                + (0..classes)
                    .map(|c| (logits[at(r, c)].hi - max).exp())
                    .sum::<f64>()
                    .ln();
            for c in 0..classes {
                let i = at(r, c);
                let logp = logits[i].hi - lse;
                err[i] = u
                    * (2.0 * coef(c)
                        + g[i].hi.abs()
                        + logp.exp() * a * (classes as f64 + 3.0 + logp.abs() + lse.abs()));
            }
        }
    }
    let gamma = |n: usize| n as f64 * u / (1.0 - n as f64 * u);
    let LinearDims {
        rows,
        vocab,
        in_features,
        ..
    } = *dims;
    for (name, bound) in names.iter().zip(bounds) {
        match *name {
            "input" => {
                for (i, b) in bound.iter_mut().enumerate() {
                    let (r, k) = (i / in_features, i % in_features);
                    let (mut carried, mut terms) = (0.0, 0.0);
                    for v in 0..vocab {
                        let wk = w[v * in_features + k].hi.abs();
                        carried += wk * err[r * vocab + v];
                        terms += wk * g[r * vocab + v].hi.abs();
                    }
                    *b += carried + gamma(vocab) * terms;
                }
            }
            "linear_weight" => {
                for (i, b) in bound.iter_mut().enumerate() {
                    let (v, k) = (i / in_features, i % in_features);
                    let (mut carried, mut terms) = (0.0, 0.0);
                    for r in 0..rows {
                        let xk = x[r * in_features + k].hi.abs();
                        carried += xk * err[r * vocab + v];
                        terms += xk * g[r * vocab + v].hi.abs();
                    }
                    *b += carried + gamma(rows) * terms;
                }
            }
            "linear_bias" => {
                for (v, b) in bound.iter_mut().enumerate() {
                    let carried: f64 = (0..rows).map(|r| err[r * vocab + v]).sum();
                    let terms: f64 = (0..rows).map(|r| g[r * vocab + v].hi.abs()).sum();
                    *b += carried + gamma(rows) * terms;
                }
            }
            _ => {}
        }
    }
    Some(())
}

/// `cross_entropy`'s reference on the exact `logits` of `x W^T + b`, and the linear
/// layer's gradients from the logits' gradient.
fn linear_cross_entropy_on(
    case: &Case,
    logits: &[Dd],
    x: &[Dd],
    w: &[Dd],
    dims: &LinearDims,
) -> Option<Reference> {
    let LinearDims {
        rows,
        vocab,
        in_features,
        ref logits_shape,
    } = *dims;
    let lw = case.tensor("linear_weight")?;
    let (output, ce_grads) = cross_entropy_on(case, logits, logits_shape)?;
    let mut grads = Vec::new();
    let logits_grad = ce_grads
        .iter()
        .find(|(n, _, _)| *n == "input")
        .map(|(_, _, g)| g);
    for wrt in case.grad_wrt() {
        let grad = match wrt {
            "target" | "weight" => {
                let (_, shape, g) = ce_grads.iter().find(|(n, _, _)| *n == wrt)?;
                ReferenceTensor::of(shape.clone(), g)
            }
            "input" => {
                let g = logits_grad?;
                let values: Vec<Dd> = (0..rows * in_features)
                    .map(|i| {
                        let (r, k) = (i / in_features, i % in_features);
                        sum((0..vocab).map(|v| g[r * vocab + v] * w[v * in_features + k]))
                    })
                    .collect();
                ReferenceTensor::of(case.input().shape.clone(), &values)
            }
            "linear_weight" => {
                let g = logits_grad?;
                let values: Vec<Dd> = (0..vocab * in_features)
                    .map(|i| {
                        let (v, k) = (i / in_features, i % in_features);
                        sum((0..rows).map(|r| g[r * vocab + v] * x[r * in_features + k]))
                    })
                    .collect();
                ReferenceTensor::of(lw.shape.clone(), &values)
            }
            "linear_bias" => {
                let g = logits_grad?;
                let values: Vec<Dd> = (0..vocab)
                    .map(|v| sum((0..rows).map(|r| g[r * vocab + v])))
                    .collect();
                ReferenceTensor::of(case.tensor("linear_bias")?.shape.clone(), &values)
            }
            _ => continue,
        };
        grads.push((wrt, grad));
    }
    Some(Reference { output, grads })
}

/// The gradients of the probability path with respect to the target and the weight:
/// `-g_p * w_c * logp_c * (1 - ls)` per element, and `-sum_p g_p * t'_c * logp_c` per
/// class, with `g_p` the gradient of the position's loss.
fn probability_grads(
    case: &Case,
    logp: &[Dd],
    lanes: Lanes,
    w: &[Dd],
    ls: f64,
    g: &[Dd],
) -> Option<(Vec<Dd>, Vec<Dd>)> {
    let t = dd_values(case.target()?)?;
    let classes = lanes.len;
    let keep = if ls > 0.0 { Dd::ONE - ls } else { Dd::ONE };
    let spread = if ls > 0.0 {
        Dd::new(ls) / classes as f64
    } else {
        Dd::ZERO
    };
    let positions = Dd::new((lanes.outer * lanes.inner) as f64);
    let mut target_grad = vec![Dd::ZERO; t.len()];
    let mut weight_terms: Vec<Vec<Dd>> = vec![Vec::new(); classes];
    let mut p = 0;
    lanes.for_each(|at| {
        let gp = position_grad(g, p, case.reduction(), positions);
        for k in 0..classes {
            let i = at(k);
            target_grad[i] = -gp * w[k] * logp[i] * keep;
            weight_terms[k].push(-gp * (t[i] * keep + spread) * logp[i]);
        }
        p += 1;
    });
    Some((target_grad, weight_terms.into_iter().map(sum).collect()))
}

/// The loss's output and shape, and its gradient with respect to log-probabilities.
type LossParts<'a> = (Vec<Dd>, Vec<usize>, Box<dyn Fn(&[Dd]) -> Vec<Dd> + 'a>);

/// Class probabilities: `-sum_c logp_c * t'_c * w_c` with `t' = t (1 - ls) + ls / C`;
/// the mean divides by the number of positions.
fn probability_loss<'a>(
    case: &Case,
    shape: &[usize],
    logp: &[Dd],
    lanes: Lanes,
    w: &'a [Dd],
    ls: f64,
) -> Option<LossParts<'a>> {
    let t = dd_values(case.target()?)?;
    let classes = lanes.len;
    let soft: Vec<Dd> = if ls > 0.0 {
        let keep = Dd::ONE - ls;
        let spread = Dd::new(ls) / classes as f64;
        t.iter().map(|&v| v * keep + spread).collect()
    } else {
        t
    };
    let mut terms = Vec::with_capacity(lanes.outer * lanes.inner);
    lanes.for_each(|at| {
        terms.push(-sum((0..classes).map(|k| logp[at(k)] * soft[at(k)] * w[k])));
    });
    let positions = terms.len();
    let mut out_shape = shape.to_vec();
    out_shape.remove(usize::from(out_shape.len() > 1));
    let reduction = case.reduction();
    let output = match reduction {
        Reduction::Mean if logp.is_empty() => vec![Dd::new(f64::NAN)],
        _ => reduce(&terms, reduction, Dd::new(positions as f64)),
    };
    let out_shape = if reduction == Reduction::None {
        out_shape
    } else {
        Vec::new()
    };
    let grad = move |g: &[Dd]| {
        let mut grad = vec![Dd::ZERO; soft.len()];
        let mut p = 0;
        lanes.for_each(|at| {
            let gp = position_grad(g, p, reduction, Dd::new(positions as f64));
            for k in 0..classes {
                grad[at(k)] = -gp * w[k] * soft[at(k)];
            }
            p += 1;
        });
        grad
    };
    Some((output, out_shape, Box::new(grad)))
}

/// Class indices: `nll_loss(logp)`, and with label smoothing `(1 - ls) nll + (ls / C)
/// smooth`, `smooth = -sum_c w_c logp_c` at counted positions; the smoothing term's
/// mean divides by the summed target weights, like the `nll_loss` part.
fn index_loss<'a>(
    case: &Case,
    shape: &[usize],
    logp: &[Dd],
    w: &'a [Dd],
    ls: f64,
) -> Option<LossParts<'a>> {
    let layout = IndexLayout::new(shape);
    let targets = index_targets(case, &layout)?;
    let ignore = case.ignore_index();
    let reduction = case.reduction();
    let nll = nll_terms(logp, &layout, &targets, w, ignore);
    let out_shape = layout.output_shape(reduction);
    let total_weight = nll.total_weight;
    if ls <= 0.0 {
        let output = reduce(&nll.terms, reduction, total_weight);
        let grad =
            move |g: &[Dd]| nll_backward(g, &layout, &targets, w, ignore, reduction, total_weight);
        return Some((output, out_shape, Box::new(grad)));
    }
    let keep = Dd::ONE - ls;
    let spread = Dd::new(ls) / layout.classes as f64;
    let smooth: Vec<Dd> = targets
        .iter()
        .enumerate()
        .map(|(p, &t)| {
            if t == ignore {
                Dd::ZERO
            } else {
                -sum((0..layout.classes).map(|c| w[c] * logp[layout.at(p, c)]))
            }
        })
        .collect();
    let nll_out = reduce(&nll.terms, reduction, total_weight);
    let smooth_out = reduce(&smooth, reduction, total_weight);
    let output = nll_out
        .iter()
        .zip(&smooth_out)
        .map(|(&n, &s)| keep * n + spread * s)
        .collect();
    let grad = move |g: &[Dd]| {
        let kept: Vec<Dd> = g.iter().map(|&v| v * keep).collect();
        let mut grad = nll_backward(&kept, &layout, &targets, w, ignore, reduction, total_weight);
        for (p, &t) in targets.iter().enumerate() {
            if t == ignore {
                continue;
            }
            let gs = position_grad(g, p, reduction, Dd::ONE) * spread;
            let gs = if reduction == Reduction::Mean {
                gs / total_weight
            } else {
                gs
            };
            for (c, &wc) in w.iter().enumerate() {
                let at = layout.at(p, c);
                grad[at] = grad[at] + -(gs * wc);
            }
        }
        grad
    };
    Some((output, out_shape, Box::new(grad)))
}

/// The case with every float32 tensor widened to float64 (values unchanged).
fn widened(case: &Case) -> Case {
    let widen = |t: &mut TensorData| {
        if t.dtype == DType::Float32 {
            t.dtype = DType::Float64;
        }
    };
    let mut wide = case.clone();
    wide.tensors_mut().for_each(|(_, t)| widen(t));
    if let Some(g) = wide.grad_output.as_mut() {
        widen(g);
    }
    wide
}

/// The higher-precision result of a case whose sides both computed values: the Rust
/// losses in f64 for a float32 case, double-double arithmetic for a float64 case.
pub fn higher_precision(case: &Case) -> Option<Reference> {
    match case.input().dtype {
        DType::Float32 => {
            let Ok(c) = RustBackend::default().evaluate(&widened(case)).result else {
                return None;
            };
            Some(Reference {
                output: ReferenceTensor::from_f64(&c.output)?,
                grads: match &c.grads {
                    Some(Ok(grads)) => grads
                        .iter()
                        .map(|g| Some((g.wrt, ReferenceTensor::from_f64(&g.tensor)?)))
                        .collect::<Option<Vec<_>>>()?,
                    _ => Vec::new(),
                },
            })
        }
        DType::Float64 => evaluate(case),
        _ => None,
    }
}

/// A tensor's values, integers included (PyTorch promotes them exactly).
fn dd_numbers(t: &TensorData) -> Option<Vec<Dd>> {
    Some(match &t.values {
        Values::Float(v) => v.iter().map(|&x| Dd::new(x)).collect(),
        Values::Int(v) => v.iter().map(|&x| Dd::new(x as f64)).collect(),
    })
}

/// For each element of the broadcast `shape` (row-major), the flat index of the
/// element of a tensor of shape `from` it reads; `None` when `from` does not broadcast.
fn broadcast_index(from: &[usize], shape: &[usize]) -> Option<Vec<usize>> {
    let lead = shape.len().checked_sub(from.len())?;
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    for flat in 0..n {
        let (mut rest, mut index, mut stride) = (flat, 0, 1);
        for axis in (0..shape.len()).rev() {
            let i = rest % shape[axis];
            rest /= shape[axis];
            if axis >= lead {
                let size = from[axis - lead];
                if size != 1 && size != shape[axis] {
                    return None;
                }
                index += if size == 1 { 0 } else { i * stride };
                stride *= size;
            }
        }
        out.push(index);
    }
    Some(out)
}

/// `mse_loss` (`squared`) or `l1_loss`, with the weighted path of
/// `torch.nn.functional` (its `mean` divides by the weight's own sum): output and the
/// gradients with respect to the input, the target and the weight.
pub(crate) fn pointwise_op(case: &Case, squared: bool) -> Option<Reference> {
    if let (Some(w), true) = (case.weight(), case.target().is_some()) {
        if w.shape != case.input().shape {
            return None;
        }
    }
    let shape = Shape {
        tensors: &["input", "target", "weight"],
        mean: Mean::SumOf("weight"),
        class_mean: false,
    };
    elementwise(case, shape, |a| {
        let d = a[0]? - a[1]?;
        let e = if squared { d * d } else { d.abs() };
        Some(match a[2] {
            Some(w) => e * w,
            None => e,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_ln_invert_each_other_to_double_double_precision() {
        for &x in &[
            1e-300,
            1e-20,
            0.001,
            0.3,
            1.0 + 1e-15,
            1.5,
            2.0,
            10.0,
            1e10,
            1e300,
        ] {
            let back = Dd::new(x).ln().exp();
            let err = ((back - x) / x).hi.abs();
            assert!(
                err < 1e-28,
                "ln/exp round trip of {x}: relative error {err:e}"
            );
        }
    }

    #[test]
    fn sqrt_squares_back_to_double_double_precision() {
        // Not near the subnormals, where the low part of a double-double loses its bits.
        for &x in &[1e-280, 1e-24, 0.5, 2.0, 3.0, 1e10, 1e300] {
            let r = Dd::new(x).sqrt();
            let err = ((r * r - x) / x).hi.abs();
            assert!(err < 1e-30, "sqrt({x}): relative error {err:e}");
        }
        assert_eq!(Dd::new(0.0).sqrt().hi, 0.0);
        assert!(Dd::new(-1.0).sqrt().hi.is_nan());
    }

    #[test]
    fn ln_of_two_is_the_double_double_constant() {
        let l = Dd::new(2.0).ln();
        assert_eq!((l.hi, l.lo), (LN_2.hi, LN_2.lo));
    }

    #[test]
    fn ln_1p_keeps_tiny_arguments_exact() {
        let t = Dd::new(1e-20).ln_1p();
        assert_eq!(t.hi, 1e-20);
        assert!((t.lo - -5e-41).abs() < 1e-55);
    }

    #[test]
    fn nll_mean_divides_by_the_summed_target_weights() {
        let mut case = Case::new(
            Op::NLL_LOSS,
            TensorData::float(DType::Float64, vec![2, 2], vec![-1.0, -2.0, -3.0, -4.0]),
        );
        case.set_tensor(
            "target",
            Some(TensorData::int(DType::Int64, vec![2], vec![1, 0])),
        );
        case.set_tensor(
            "weight",
            Some(TensorData::float(DType::Float64, vec![2], vec![1.0, 3.0])),
        );
        let r = evaluate(&case).unwrap();
        // (3 * 2 + 1 * 3) / (3 + 1)
        assert_eq!(r.output.values, vec![2.25]);
    }

    /// Logits `[2, 6]` of one feature: the loss is `softplus(z1 - z0)`, whose
    /// derivatives are `-p1` and `p1`, so the bound is `p1 * gamma_2 * (|2| + |6|)`; the
    /// gradient with respect to the input, `p1 * (3 - 1)`, moves by `2 p1 (1 - p1)` per
    /// logit, and by the backward's own rounding on top.
    #[test]
    fn the_logit_bound_is_the_derivative_times_the_dot_products_error_bound() {
        let case = Case::from_json(
            r#"{"op":"linear_cross_entropy","input":{"dtype":"float64","shape":[1],"data":[2.0]},"linear_weight":{"dtype":"float64","shape":[2,1],"data":[1.0,3.0]},"target":{"dtype":"int64","shape":[],"data":[0]},"reduction":"none","grad":true}"#,
        )
        .unwrap();
        let bound = linear_cross_entropy_logit_bound(&case).unwrap();
        let p1 = 1.0 / (1.0 + (-4.0f64).exp());
        let u = f64::powi(2.0, -53);
        let gamma = 2.0 * u / (1.0 - 2.0 * u);
        let expected = p1 * gamma * 8.0;
        let got = bound.output.values[0];
        assert!(
            (got - expected).abs() <= 1e-6 * expected,
            "{got} vs {expected}"
        );
        let logits_term = 2.0 * p1 * (1.0 - p1) * gamma * 8.0;
        // The backward's own rounding: the loss is -logp_0 (coefficients [1, 0], A = 1),
        // the logits' gradient [-p1, p1], each off by u (2|c| + |g| + p A (C + 3 +
        // |logp| + |lse|)), times the weights [1, 3], plus the product's gamma_2 sum |g w|.
        let (p0, lse) = (1.0 - p1, 6.0 + (-4.0f64).exp().ln_1p());
        let err0 = u * (2.0 + p1 + p0 * (5.0 + (2.0 - lse).abs() + lse));
        let err1 = u * (p1 + p1 * (5.0 + (6.0 - lse).abs() + lse));
        let backward_term = err0 + 3.0 * err1 + gamma * (p1 + 3.0 * p1);
        let expected = logits_term + backward_term;
        let got = bound.grad("input").unwrap().values[0];
        assert!(
            (got - expected).abs() <= 1e-6 * expected,
            "{got} vs {expected}"
        );
    }
}
