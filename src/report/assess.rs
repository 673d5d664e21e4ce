//! One case's contribution to the report, from the two sides' outcomes: the verdict
//! under the tolerance policy, the known-divergence table, the element-wise
//! differences, and each side's error against the higher-precision reference (the
//! Rust f64 path for float32 cases, double-double arithmetic for float64 cases).

use crate::backend::process::failure;
use crate::case::{Case, Computed, Op, Outcome, TensorData, Values};
use crate::compare::{compare, Divergence, Mode, Side, Tolerance};
use crate::known::explain;
use crate::reference::{higher_precision, Reference, ReferenceTensor};

use super::script::repro_script;
use super::stats::{
    measure, Accuracy, CaseEntry, DivergenceClass, Extremes, GroupKey, GroupStats, Histogram,
    WhoIsRight, WorstElement,
};

/// One case's share of the report.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The case's index in the run.
    pub index: u64,
    /// Its group.
    pub group: GroupKey,
    /// Its counts and extremes, as a group of one case.
    pub stats: GroupStats,
    /// Its value elements, Rust against libtorch.
    pub histogram: Histogram,
    /// For a divergent case: its class, and its entry (the case's JSON included).
    pub divergence: Option<(DivergenceClass, CaseEntry)>,
}

/// Tolerance mode of an op, from its registry entry.
pub fn mode_of(op: Op) -> Mode {
    op.spec().mode
}

fn float_pair<'a>(t: &'a TensorData, r: &'a TensorData) -> Option<(&'a [f64], &'a [f64])> {
    if t.dtype != r.dtype || t.shape != r.shape {
        return None;
    }
    match (&t.values, &r.values) {
        (Values::Float(a), Values::Float(b)) => Some((a, b)),
        _ => None,
    }
}

/// The parts both sides computed with matching dtype and shape: `(part, torch, rust)`.
fn value_parts<'a>(t: &'a Computed, r: &'a Computed) -> Vec<(String, &'a [f64], &'a [f64])> {
    let mut parts = Vec::new();
    if let Some((a, b)) = float_pair(&t.output, &r.output) {
        parts.push(("output".to_string(), a, b));
        if let (Some(Ok(tg)), Some(Ok(rg))) = (&t.grads, &r.grads) {
            for (tg, rg) in tg.iter().zip(rg).filter(|(t, r)| t.wrt == r.wrt) {
                if let Some((a, b)) = float_pair(&tg.tensor, &rg.tensor) {
                    parts.push((tg.field(), a, b));
                }
            }
        }
    }
    parts
}

fn reference_part<'a>(reference: &'a Reference, part: &str) -> Option<&'a ReferenceTensor> {
    reference.part(part)
}

fn class_of(d: &Divergence, who: WhoIsRight) -> DivergenceClass {
    match d {
        Divergence::Value { .. } => DivergenceClass::Value(who),
        Divergence::Error { .. } => DivergenceClass::ErrorMismatch,
        Divergence::OneSided {
            raised: Side::Torch,
            ..
        } => DivergenceClass::OnlyTorchRaises,
        Divergence::OneSided {
            raised: Side::Rust, ..
        } => DivergenceClass::OnlyRustRaises,
        Divergence::Dtype { .. } | Divergence::Shape { .. } => DivergenceClass::DtypeOrShape,
        Divergence::Failed { kind, .. } => DivergenceClass::Failed(failure::class(kind).into()),
    }
}

fn group_of(case: &Case) -> GroupKey {
    GroupKey {
        op: case.op,
        dtype: case.input().dtype,
        reduction: case.op.is_loss().then_some(case.reduction()),
    }
}

/// A case the subject cannot express: counted, not compared.
pub fn unsupported(index: u64, case: &Case) -> Assessment {
    Assessment {
        index,
        group: group_of(case),
        stats: GroupStats {
            cases: 1,
            unsupported: 1,
            ..GroupStats::default()
        },
        histogram: Histogram::default(),
        divergence: None,
    }
}

/// Assesses case `index` from libtorch's and the Rust outcome.
pub fn assess(index: u64, case: &Case, torch: &Outcome, rust: &Outcome) -> Assessment {
    assess_between(index, case, torch, rust, ("torch", "rust"))
}

/// Assesses case `index` from the oracle's outcome (`torch`) and the subject's
/// (`rust`), the two named `(oracle, subject)` in the divergence's description. Every
/// entry of the known-divergence table applies to the Rust losses against libtorch; to
/// any other pair only its rounding entries do (the report's who-is-right judges
/// those).
pub fn assess_between(
    index: u64,
    case: &Case,
    torch: &Outcome,
    rust: &Outcome,
    names: (&str, &str),
) -> Assessment {
    let whole_table = names == ("torch", "rust");
    let dtype = case.input().dtype;
    let group = group_of(case);
    let mut stats = GroupStats {
        cases: 1,
        ..GroupStats::default()
    };
    let mut histogram = Histogram::default();
    let verdict = compare(
        torch,
        rust,
        Mode::between(mode_of(case.op), names.0, names.1),
    );

    // Element-wise: the sides against each other, and each against the reference.
    let mut reference = None;
    let (mut rust_worst, mut torch_worst) = (None, None);
    if let (Ok(t), Ok(r)) = (&torch.result, &rust.result) {
        let parts = value_parts(t, r);
        if !parts.is_empty() {
            stats.value_cases = 1;
            reference = higher_precision(case);
        }
        let (mut rust_acc, mut torch_acc) = (Extremes::default(), Extremes::default());
        let mut with_reference = reference.is_some();
        for (part, tv, rv) in &parts {
            let (part, tv, rv) = (part.as_str(), *tv, *rv);
            let sides = measure(dtype, rv, tv, None, index, Some(&mut histogram));
            stats.sides.absorb(&sides);
            let exact = reference
                .as_ref()
                .and_then(|re| reference_part(re, part))
                .filter(|e| e.values.len() == tv.len());
            match exact {
                Some(e) => {
                    let res = Some(e.residuals.as_slice());
                    rust_acc.absorb(&measure(dtype, rv, &e.values, res, index, None));
                    torch_acc.absorb(&measure(dtype, tv, &e.values, res, index, None));
                }
                None => with_reference = false,
            }
        }
        if with_reference {
            stats.reference_cases = 1;
            rust_worst = Some(rust_acc.worst_ratio);
            torch_worst = Some(torch_acc.worst_ratio);
            stats.rust = Accuracy {
                outside_policy: u64::from(rust_acc.worst_ratio > 1.0),
                error: rust_acc,
            };
            stats.torch = Accuracy {
                outside_policy: u64::from(torch_acc.worst_ratio > 1.0),
                error: torch_acc,
            };
        } else {
            reference = None;
        }
    }

    let divergence = match verdict {
        Ok(()) => {
            if torch.result.is_err() {
                stats.errors_agree = 1;
            } else {
                stats.agree = 1;
            }
            None
        }
        Err(d) => {
            let who = match (rust_worst, torch_worst) {
                (Some(r), Some(t)) => WhoIsRight::judge(r, t),
                _ => WhoIsRight::Undecided,
            };
            // Value divergences are the report's own business: it says who is right
            // from the reference, which is finer than the known table's rounding entry.
            let known = match d {
                Divergence::Value { .. } => None,
                _ if !whole_table => None,
                _ => explain(case, &d),
            };
            let class = match known {
                Some(known) => {
                    stats.known = 1;
                    DivergenceClass::Known(known.name.to_string())
                }
                None => {
                    stats.diverge = 1;
                    if matches!(d, Divergence::Value { .. }) {
                        stats.who.add(who);
                    }
                    class_of(&d, who)
                }
            };
            let entry = entry(
                index,
                case,
                group,
                (&d, names),
                reference.as_ref(),
                (rust_worst, torch_worst),
                torch,
                rust,
            );
            Some((class, entry))
        }
    };
    Assessment {
        index,
        group,
        stats,
        histogram,
        divergence,
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    index: u64,
    case: &Case,
    group: GroupKey,
    (d, (oracle, subject)): (&Divergence, (&str, &str)),
    reference: Option<&Reference>,
    (rust_ratio, torch_ratio): (Option<f64>, Option<f64>),
    torch: &Outcome,
    rust: &Outcome,
) -> CaseEntry {
    let (severity, element) = match d {
        Divergence::Value {
            part,
            index: at,
            torch: t,
            rust: r,
            dtype,
        } => {
            let tol = Tolerance::for_dtype(*dtype);
            let severity = if t.is_finite() && r.is_finite() {
                (r - t).abs() / (tol.atol + tol.rtol * t.abs())
            } else {
                f64::INFINITY
            };
            let reference = reference
                .and_then(|re| reference_part(re, part))
                .and_then(|e| e.values.get(*at).copied());
            let element = WorstElement {
                part: part.to_string(),
                index: *at as u64,
                torch: *t,
                rust: *r,
                reference,
            };
            (severity, Some(element))
        }
        _ => (0.0, None),
    };
    let description = d.describe_as(oracle, subject);
    let title = format!("case-{index}: {description}").replace(['\n', '\r'], " ");
    CaseEntry {
        index,
        group,
        severity,
        size: case.input().values.len() as u64,
        divergence: description,
        element,
        rust_ratio,
        torch_ratio,
        case_json: case.to_json(),
        script: Some(repro_script(case, &title, torch, rust, reference)),
    }
}
