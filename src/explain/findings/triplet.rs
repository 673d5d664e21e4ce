//! How PyTorch reads a call of the triplet losses, and the mistakes their values show:
//! a margin of 0 or less (refused by both, in Python), and triplets whose anchor is its
//! own positive (the positive distance is then only `eps` per feature, so those
//! triplets only push the negative away: usually a sampling bug).

use crate::case::{Arg, Case, TensorData};
use crate::explain::{shape_str, Diagnostic};

fn described(name: &str, t: &TensorData) -> String {
    format!("{name} {} {}", shape_str(&t.shape), t.dtype.name())
}

/// How PyTorch reads the call: the three embeddings, the options, the reduction.
pub(crate) fn reading(case: &Case, raised: bool) -> String {
    let mut parts: Vec<String> = case
        .args()
        .filter_map(|(n, a)| match a {
            Arg::Tensor(t) => Some(described(n, t)),
            _ => None,
        })
        .collect();
    let a = &case.input().shape;
    if let Some(d) = a.last() {
        parts.push(format!(
            "embeddings of {d} feature(s) in the last dimension, {} triplet(s)",
            a[..a.len() - 1].iter().product::<usize>()
        ));
    } else {
        parts.push("0-D embeddings: one triplet of one feature".to_string());
    }
    if raised {
        return parts.join("; ");
    }
    let options: Vec<String> = case
        .args()
        .filter_map(|(n, a)| match a {
            Arg::Float(v) => Some(format!("{n}={v}")),
            Arg::Bool(v) => Some(format!("{n}={v}")),
            _ => None,
        })
        .collect();
    parts.push(options.join(", "));
    parts.push(match case.reduction_name() {
        "none" => "reduction='none': one loss per triplet".to_string(),
        "sum" => "reduction='sum': the plain sum of the triplet losses".to_string(),
        _ => "reduction='mean' divides the sum by the number of triplets".to_string(),
    });
    parts.join("; ")
}

/// The findings about a triplet loss's values.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    [non_positive_margin(case), anchor_is_positive(case)]
        .into_iter()
        .flatten()
        .collect()
}

/// A margin of 0 or less, which both functions refuse in Python.
fn non_positive_margin(case: &Case) -> Option<Diagnostic> {
    let m = case.float("margin")?;
    if m > 0.0 || m.is_nan() {
        return None;
    }
    Some(Diagnostic {
        code: "non-positive-margin",
        summary: format!(
            "{} needs a margin greater than 0 (the gap it asks between the negative and the \
             positive distances); a margin of 0 or less is refused with a ValueError",
            case.op
        ),
        evidence: format!("margin={m}"),
        suggestion: "use a positive margin (the default is 1.0); to weaken the loss, scale \
                     it instead"
            .to_string(),
    })
}

/// Triplets whose anchor equals its positive, row for row (same shape).
fn anchor_is_positive(case: &Case) -> Option<Diagnostic> {
    let (a, p) = (case.tensor("anchor")?, case.tensor("positive")?);
    if a.shape != p.shape || a.shape.is_empty() {
        return None;
    }
    let d = *a.shape.last()?;
    if d == 0 {
        return None;
    }
    let (av, pv) = (a.floats()?, p.floats()?);
    let rows: Vec<usize> = (0..av.len() / d)
        .filter(|&r| av[r * d..(r + 1) * d] == pv[r * d..(r + 1) * d])
        .collect();
    if rows.is_empty() {
        return None;
    }
    let total = av.len() / d;
    let eps = if case.op.name() == "triplet_margin_loss" {
        case.float("eps").unwrap_or(1e-6)
    } else {
        1e-6
    };
    let shown: Vec<String> = rows.iter().take(5).map(|r| r.to_string()).collect();
    Some(Diagnostic {
        code: "anchor-is-positive",
        summary: "some triplets use their anchor as their own positive: their positive \
                  distance is only eps per feature (pairwise_distance adds eps to every \
                  difference), so those triplets only push the negative away, and their \
                  positives learn nothing"
            .to_string(),
        evidence: format!(
            "{} of {total} triplet(s) have anchor == positive (rows {}{}); their positive \
             distance is about {:e} (eps={eps} times sqrt({d}) for p=2)",
            rows.len(),
            shown.join(", "),
            if rows.len() > 5 { ", ..." } else { "" },
            eps * (d as f64).sqrt()
        ),
        suggestion: "check the triplet sampling: a positive should be another example of \
                     the anchor's class, not the anchor itself"
            .to_string(),
    })
}
