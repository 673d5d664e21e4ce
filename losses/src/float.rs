//! The floating-point element types the losses accept (f32, f64), with PyTorch's names.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, SubAssign};

/// A floating-point element type: `f32` (PyTorch's `Float`) or `f64` (`Double`).
///
/// Sealed: the kernels rely on methods of a private supertrait, so only this crate's
/// types implement it.
pub trait Float:
    sealed::Kernels
    + num_traits::Float
    + num_traits::FromPrimitive
    + AddAssign
    + SubAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// PyTorch's scalar type name, as in its dtype error messages (`Float`, `Double`).
    const TORCH_NAME: &'static str;

    /// `torch.testing.assert_close`'s default absolute tolerance for this type: where an
    /// op is not bit-exact with libtorch, its results agree within
    /// `ATOL + RTOL * |expected|`.
    const ATOL: f64;

    /// `torch.testing.assert_close`'s default relative tolerance for this type.
    const RTOL: f64;

    /// Converts an `f64` option (label smoothing, a count) to this type, rounding.
    fn of_f64(v: f64) -> Self;

    /// Widens to `f64` exactly.
    fn to_f64_exact(self) -> f64;
}

pub(crate) mod sealed {
    /// The vectorisable elementary functions of the kernels; private, so [`Float`]
    /// (its subtrait) is sealed.
    ///
    /// [`Float`]: super::Float
    pub trait Kernels: Copy {
        /// `exp(self)` for `self <= 0`, -inf or NaN, within two ulp (subnormal results
        /// included; -inf gives 0): Cody-Waite range reduction and a polynomial (fitted,
        /// degree 6, for `f32`; Taylor, degree 13, for `f64`) with fused multiply-adds,
        /// branch-free so that loops over it vectorise. Positive arguments are not
        /// supported. The kernels use it wherever an exponent is known not to exceed 0.
        fn exp_nonpositive(self) -> Self;

        /// `ln(self)` for `self >= 1` or NaN (NaN gives NaN), within one ulp: the log of a
        /// sum of exponentials one of which is `exp(0)`. Branch-free, so that loops over
        /// it vectorise; other arguments give unspecified finite values or NaN.
        fn ln_at_least_one(self) -> Self;
    }

    impl Kernels for f32 {
        #[inline(always)]
        fn exp_nonpositive(self) -> Self {
            crate::kernels::exp_nonpositive_f32(self)
        }
        #[inline(always)]
        fn ln_at_least_one(self) -> Self {
            // In f64 and rounded once: the result is within half an ulp plus f64's error.
            crate::kernels::ln_at_least_one_f64(self as f64) as f32
        }
    }

    impl Kernels for f64 {
        #[inline(always)]
        fn exp_nonpositive(self) -> Self {
            crate::kernels::exp_nonpositive_f64(self)
        }
        #[inline(always)]
        fn ln_at_least_one(self) -> Self {
            crate::kernels::ln_at_least_one_f64(self)
        }
    }
}

impl Float for f32 {
    const TORCH_NAME: &'static str = "Float";
    const ATOL: f64 = 1e-5;
    const RTOL: f64 = 1.3e-6;
    fn of_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64_exact(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const TORCH_NAME: &'static str = "Double";
    const ATOL: f64 = 1e-7;
    const RTOL: f64 = 1e-7;
    fn of_f64(v: f64) -> Self {
        v
    }
    fn to_f64_exact(self) -> f64 {
        self
    }
}
