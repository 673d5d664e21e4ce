//! The tolerance policy of `shared/DESIGN.md` and the verdict on two outcomes of one
//! case: exact for shapes, dtypes, errors and the NaN/Inf pattern; values within
//! `torch.testing.assert_close`'s per-dtype tolerances, or to the bit in exact mode.

use std::fmt;

use crate::backend::process::failure;
use crate::case::{CaseError, Computed, DType, Outcome, TensorData, Values};
use crate::losses::Float;

/// `|actual - expected| <= atol + rtol * |expected|`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
}

impl Tolerance {
    /// `torch.testing.assert_close`'s defaults for a dtype (exact for integers).
    pub fn for_dtype(dtype: DType) -> Tolerance {
        let (atol, rtol) = match dtype {
            DType::Float32 => (f32::ATOL, f32::RTOL),
            DType::Float64 => (f64::ATOL, f64::RTOL),
            DType::Float16 => (1e-5, 1e-3),
            DType::BFloat16 => (1e-5, 1.6e-2),
            DType::Int64 | DType::UInt8 => (0.0, 0.0),
        };
        Tolerance { atol, rtol }
    }

    /// Whether two finite values agree.
    pub fn accepts(&self, actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= self.atol + self.rtol * expected.abs()
    }
}

/// How values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The tolerance policy.
    Tolerant,
    /// Bit for bit (0 ULP; `-0.0` differs from `0.0`, any NaN equals any NaN).
    Exact,
}

impl Mode {
    /// The mode comparing `subject` with `oracle` on an op whose registry mode is
    /// `registered`: bit for bit is the Rust losses' promise against libtorch (they
    /// mirror its order of operations); any other pair is held to the tolerance policy.
    pub fn between(registered: Mode, oracle: &str, subject: &str) -> Mode {
        if (oracle, subject) == ("torch", "rust") {
            registered
        } else {
            Mode::Tolerant
        }
    }
}

/// Distance in units in the last place between two finite values of a float dtype.
pub fn ulp_distance(dtype: DType, a: f64, b: f64) -> u64 {
    fn ordered32(x: f32) -> i64 {
        let bits = x.to_bits() as i32;
        (if bits < 0 { i32::MIN - bits } else { bits }) as i64
    }
    fn ordered64(x: f64) -> i128 {
        let bits = x.to_bits() as i64;
        (if bits < 0 { i64::MIN - bits } else { bits }) as i128
    }
    match dtype {
        DType::Float64 => (ordered64(a) - ordered64(b)).unsigned_abs() as u64,
        _ => (ordered32(a as f32) - ordered32(b as f32)).unsigned_abs(),
    }
}

/// Which side of a comparison: libtorch (expected) or Rust (actual).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// libtorch, the oracle.
    Torch,
    /// The Rust losses.
    Rust,
}

/// Why two outcomes of a case differ.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// Both raised, with a different kind or message.
    Error {
        /// libtorch's error.
        torch: Box<CaseError>,
        /// The Rust error.
        rust: Box<CaseError>,
    },
    /// One side raised, the other computed (`part` is `output`, `grad` or a `grad_<name>`).
    OneSided {
        /// Which part of the outcome.
        part: String,
        /// The side that raised.
        raised: Side,
        /// Its error.
        error: CaseError,
    },
    /// Different dtypes.
    Dtype {
        /// Which part of the outcome.
        part: String,
        /// libtorch's dtype.
        torch: DType,
        /// The Rust dtype.
        rust: DType,
    },
    /// Different shapes.
    Shape {
        /// Which part of the outcome.
        part: String,
        /// libtorch's shape.
        torch: Vec<usize>,
        /// The Rust shape.
        rust: Vec<usize>,
    },
    /// A side failed the case instead of answering it: its process crashed, hung or
    /// wrote something that is not an outcome, or it panicked (the kinds of
    /// [`failure`]).
    Failed {
        /// The side that failed.
        side: Side,
        /// `Crash`, `Timeout`, `BadOutcome` or `Panic`.
        kind: String,
        /// What happened.
        message: String,
    },
    /// A value out of tolerance, or a NaN/Inf where the other side has something else.
    Value {
        /// Which part of the outcome.
        part: String,
        /// Flat index of the worst element.
        index: usize,
        /// libtorch's value.
        torch: f64,
        /// The Rust value.
        rust: f64,
        /// Element dtype.
        dtype: DType,
    },
}

fn bits(dtype: DType, v: f64) -> String {
    match dtype {
        DType::Float64 => format!("0x{:016x}", v.to_bits()),
        _ => format!("0x{:08x}", (v as f32).to_bits()),
    }
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f, ["torch", "rust"])
    }
}

impl Divergence {
    /// The divergence in words, the two sides named `oracle` and `subject` (its
    /// `Display` names them `torch` and `rust`).
    pub fn describe_as(&self, oracle: &str, subject: &str) -> String {
        struct Named<'a>(&'a Divergence, [&'a str; 2]);
        impl fmt::Display for Named<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.describe(f, self.1)
            }
        }
        Named(self, [oracle, subject]).to_string()
    }

    /// The subject's failure kind (`Crash`, `Timeout`, ...), when it failed the case.
    pub fn subject_failure(&self) -> Option<&str> {
        match self {
            Divergence::Failed {
                side: Side::Rust,
                kind,
                ..
            } => Some(kind),
            _ => None,
        }
    }

    fn describe(
        &self,
        f: &mut fmt::Formatter<'_>,
        [torch_name, rust_name]: [&str; 2],
    ) -> fmt::Result {
        let name = |side: &Side| match side {
            Side::Torch => torch_name,
            Side::Rust => rust_name,
        };
        match self {
            Divergence::Failed {
                side,
                kind,
                message,
            } => write!(f, "{} failed the case ({kind}): {message}", name(side)),
            Divergence::Error { torch, rust } => write!(
                f,
                "errors differ: {torch_name} {}: {:?}, {rust_name} {}: {:?}",
                torch.kind, torch.message, rust.kind, rust.message
            ),
            Divergence::OneSided {
                part,
                raised,
                error,
            } => write!(
                f,
                "{part}: only {} raised {}: {:?}",
                name(raised),
                error.kind,
                error.message
            ),
            Divergence::Dtype { part, torch, rust } => {
                write!(
                    f,
                    "{part}: dtype {torch_name} {} vs {rust_name} {}",
                    torch.name(),
                    rust.name()
                )
            }
            Divergence::Shape { part, torch, rust } => {
                write!(
                    f,
                    "{part}: shape {torch_name} {torch:?} vs {rust_name} {rust:?}"
                )
            }
            Divergence::Value {
                part,
                index,
                torch,
                rust,
                dtype,
            } => {
                let abs = (rust - torch).abs();
                let rel = if *torch != 0.0 {
                    abs / torch.abs()
                } else {
                    f64::INFINITY
                };
                write!(
                    f,
                    "{part}[{index}]: {torch_name} {torch:e} ({}) vs {rust_name} {rust:e} ({}): abs {abs:.3e}, rel {rel:.3e}, {} ulp",
                    bits(*dtype, *torch),
                    bits(*dtype, *rust),
                    if torch.is_finite() && rust.is_finite() {
                        ulp_distance(*dtype, *rust, *torch).to_string()
                    } else {
                        "-".to_string()
                    }
                )
            }
        }
    }
}

/// Compares the Rust outcome of a case with libtorch's.
pub fn compare(torch: &Outcome, rust: &Outcome, mode: Mode) -> Result<(), Divergence> {
    let failed = |side: Side, outcome: &Outcome| match &outcome.result {
        Err(e) if failure::ALL.contains(&e.kind.as_str()) => Some(Divergence::Failed {
            side,
            kind: e.kind.clone(),
            message: e.message.clone(),
        }),
        _ => None,
    };
    if let Some(d) = failed(Side::Rust, rust).or_else(|| failed(Side::Torch, torch)) {
        return Err(d);
    }
    match (&torch.result, &rust.result) {
        (Err(t), Err(r)) => errors(t, r),
        (Err(t), Ok(_)) => Err(Divergence::OneSided {
            part: "output".into(),
            raised: Side::Torch,
            error: t.clone(),
        }),
        (Ok(_), Err(r)) => Err(Divergence::OneSided {
            part: "output".into(),
            raised: Side::Rust,
            error: r.clone(),
        }),
        (Ok(t), Ok(r)) => computed(t, r, mode),
    }
}

fn errors(torch: &CaseError, rust: &CaseError) -> Result<(), Divergence> {
    if torch == rust {
        Ok(())
    } else {
        Err(Divergence::Error {
            torch: Box::new(torch.clone()),
            rust: Box::new(rust.clone()),
        })
    }
}

fn computed(torch: &Computed, rust: &Computed, mode: Mode) -> Result<(), Divergence> {
    tensors("output", &torch.output, &rust.output, mode)?;
    let missing = |part: String| Divergence::OneSided {
        part,
        raised: Side::Rust,
        error: CaseError::new("Missing", "one side computed no gradient"),
    };
    match (&torch.grads, &rust.grads) {
        (None, None) => Ok(()),
        (Some(Err(t)), Some(Err(r))) => errors(t, r),
        (Some(Ok(t)), Some(Ok(r))) => {
            for (tg, rg) in t.iter().zip(r) {
                if tg.wrt != rg.wrt {
                    return Err(missing(tg.field()));
                }
                tensors(&tg.field(), &tg.tensor, &rg.tensor, mode)?;
            }
            match (t.get(r.len()), r.get(t.len())) {
                (Some(g), _) | (_, Some(g)) => Err(missing(g.field())),
                _ => Ok(()),
            }
        }
        (Some(Err(t)), _) => Err(Divergence::OneSided {
            part: "grad".into(),
            raised: Side::Torch,
            error: t.clone(),
        }),
        (_, Some(Err(r))) => Err(Divergence::OneSided {
            part: "grad".into(),
            raised: Side::Rust,
            error: r.clone(),
        }),
        (Some(Ok(g)), None) | (None, Some(Ok(g))) => Err(missing(
            g.first().map_or_else(|| "grad".to_string(), |g| g.field()),
        )),
    }
}

/// Compares two tensors under the policy; the worst element is reported.
pub fn tensors(
    part: &str,
    torch: &TensorData,
    rust: &TensorData,
    mode: Mode,
) -> Result<(), Divergence> {
    if torch.dtype != rust.dtype {
        return Err(Divergence::Dtype {
            part: part.into(),
            torch: torch.dtype,
            rust: rust.dtype,
        });
    }
    if torch.shape != rust.shape {
        return Err(Divergence::Shape {
            part: part.into(),
            torch: torch.shape.clone(),
            rust: rust.shape.clone(),
        });
    }
    let (t, r) = match (&torch.values, &rust.values) {
        (Values::Float(t), Values::Float(r)) => (t, r),
        (Values::Int(t), Values::Int(r)) if t == r => return Ok(()),
        _ => {
            return Err(Divergence::Shape {
                part: part.into(),
                torch: torch.shape.clone(),
                rust: rust.shape.clone(),
            })
        }
    };
    let tol = Tolerance::for_dtype(torch.dtype);
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&e, &a)) in t.iter().zip(r.iter()).enumerate() {
        let badness = if e.is_nan() || a.is_nan() {
            if e.is_nan() && a.is_nan() {
                continue;
            }
            f64::INFINITY
        } else if e.is_infinite() || a.is_infinite() {
            if e == a {
                continue;
            }
            f64::INFINITY
        } else {
            let ok = match mode {
                Mode::Exact => e.to_bits() == a.to_bits(),
                Mode::Tolerant => tol.accepts(a, e),
            };
            if ok {
                continue;
            }
            // How far past the allowance, so the worst element is reported.
            (a - e).abs() / (tol.atol + tol.rtol * e.abs()).max(f64::MIN_POSITIVE)
        };
        if worst.is_none_or(|(_, w)| badness > w) {
            worst = Some((i, badness));
        }
    }
    match worst {
        None => Ok(()),
        Some((index, _)) => Err(Divergence::Value {
            part: part.into(),
            index,
            torch: t[index],
            rust: r[index],
            dtype: torch.dtype,
        }),
    }
}
