//! Double-double arithmetic (an unevaluated sum `hi + lo` of two f64, about 106 bits)
//! for the few results whose terms cancel past f64: where float64 inputs' gradient is
//! a difference of two nearly equal terms, f64 itself is the narrow type.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `hi + lo`, `|lo| <= ulp(hi) / 2`. Finite values only: an infinity or NaN among the
/// inputs makes the parts NaN, which [`Dd::to_f64`] passes on (callers fall back to
/// plain f64 there).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dd {
    hi: f64,
    lo: f64,
}

/// `a + b = s + e` exactly (Knuth's two-sum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// `a + b = s + e` exactly, for `|a| >= |b|`.
fn quick_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// `a * b = p + e` exactly (the fused multiply-add is correctly rounded on every
/// target, so `e` is exact).
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}

impl Dd {
    pub(crate) const ZERO: Dd = Dd { hi: 0.0, lo: 0.0 };

    pub(crate) fn new(v: f64) -> Self {
        Dd { hi: v, lo: 0.0 }
    }

    /// Rounded to the nearest f64 (within one rounding).
    pub(crate) fn to_f64(self) -> f64 {
        self.hi + self.lo
    }
}

impl Add for Dd {
    type Output = Dd;
    fn add(self, o: Dd) -> Dd {
        let (s, e) = two_sum(self.hi, o.hi);
        let (t, f) = two_sum(self.lo, o.lo);
        let (s, e) = quick_two_sum(s, e + t);
        let (hi, lo) = quick_two_sum(s, e + f);
        Dd { hi, lo }
    }
}

impl Neg for Dd {
    type Output = Dd;
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Sub for Dd {
    type Output = Dd;
    fn sub(self, o: Dd) -> Dd {
        self + (-o)
    }
}

impl Mul for Dd {
    type Output = Dd;
    fn mul(self, o: Dd) -> Dd {
        let (p, e) = two_prod(self.hi, o.hi);
        let e = e + (self.hi * o.lo + self.lo * o.hi);
        let (hi, lo) = quick_two_sum(p, e);
        Dd { hi, lo }
    }
}

impl Div for Dd {
    type Output = Dd;
    fn div(self, o: Dd) -> Dd {
        // One Newton step on the f64 quotient: q1 + (self - q1 * o) / o.
        let q1 = self.hi / o.hi;
        let r = self - o * Dd::new(q1);
        let q2 = r.hi / o.hi;
        let r = r - o * Dd::new(q2);
        let q3 = r.hi / o.hi;
        let (hi, lo) = quick_two_sum(q1, q2);
        Dd { hi, lo } + Dd::new(q3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each operation keeps what f64 loses: 1 + 2^-80 survives a sum, a product's
    /// low half is exact, and 1/3 * 3 - 1 is far below f64's epsilon.
    #[test]
    fn double_double_keeps_the_digits_f64_drops() {
        let tiny = 2f64.powi(-80);
        let s = Dd::new(1.0) + Dd::new(tiny);
        assert_eq!((s - Dd::new(1.0)).to_f64(), tiny);
        let a = 1.0 + 2f64.powi(-30);
        let p = Dd::new(a) * Dd::new(a);
        // a^2 = 1 + 2^-29 + 2^-60 exactly.
        assert_eq!((p - Dd::new(1.0 + 2f64.powi(-29))).to_f64(), 2f64.powi(-60));
        let third = Dd::new(1.0) / Dd::new(3.0);
        let err = (third * Dd::new(3.0) - Dd::new(1.0)).to_f64();
        assert!(err.abs() < 1e-30, "{err}");
        assert_eq!(Dd::ZERO.to_f64(), 0.0);
    }
}
