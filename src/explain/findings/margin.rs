//! How PyTorch reads a call of the margin losses, and the mistakes their values show:
//! {0, 1} labels where `hinge_embedding_loss`, `margin_ranking_loss` and
//! `cosine_embedding_loss` compare with 1 and -1 (a 0 is neither, and each op does
//! something different and silent with it), one-hot rows where `multi_margin_loss`
//! takes class indices, a 0/1 mask where `multilabel_margin_loss` takes `-1`-ended
//! lists of classes.

use crate::case::{Arg, Case, TensorData, Values};
use crate::explain::{rounded, shape_str, Diagnostic};

fn described(name: &str, t: &TensorData) -> String {
    format!("{name} {} {}", shape_str(&t.shape), t.dtype.name())
}

/// How PyTorch reads the call: its tensors, options and reduction.
pub(crate) fn reading(case: &Case, raised: bool) -> String {
    let mut parts: Vec<String> = case
        .args()
        .filter_map(|(n, a)| match a {
            Arg::Tensor(t) => Some(described(n, t)),
            _ => None,
        })
        .collect();
    let op = case.op.name();
    let input = &case.input().shape;
    if matches!(op, "multi_margin_loss" | "multilabel_margin_loss") && input.len() <= 2 {
        let (n, c) = match input.as_slice() {
            [] => (1, 1),
            [c] => (1, *c),
            [n, c, ..] => (*n, *c),
        };
        parts.push(format!("{n} sample(s) of {c} class score(s)"));
    }
    if raised {
        return parts.join("; ");
    }
    let options: Vec<String> = case
        .args()
        .filter_map(|(n, a)| match a {
            Arg::Float(v) => Some(format!("{n}={v}")),
            Arg::Int(v) => Some(format!("{n}={v}")),
            _ => None,
        })
        .collect();
    if !options.is_empty() {
        parts.push(options.join(", "));
    }
    let per = match op {
        "cosine_embedding_loss" => "pair",
        "multi_margin_loss" | "multilabel_margin_loss" => "sample",
        _ => "element",
    };
    parts.push(match case.reduction_name() {
        "none" => format!("reduction='none': one loss per {per}"),
        "sum" => format!("reduction='sum': the plain sum of the {per} losses"),
        _ => format!("reduction='mean' divides the sum by the number of {per}s"),
    });
    parts.join("; ")
}

/// The findings about a margin loss's values.
pub(crate) fn findings(case: &Case) -> Vec<Diagnostic> {
    match case.op.name() {
        "hinge_embedding_loss" | "margin_ranking_loss" | "cosine_embedding_loss" => {
            binary_for_signs(case).into_iter().collect()
        }
        "multi_margin_loss" => one_hot_classes(case).into_iter().collect(),
        "multilabel_margin_loss" => mask_for_class_list(case).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A tensor's values as numbers, integers included.
fn numbers(t: &TensorData) -> Vec<f64> {
    match &t.values {
        Values::Float(v) => v.clone(),
        Values::Int(v) => v.iter().map(|&x| x as f64).collect(),
    }
}

/// Labels in {0, 1} (some 0, no negative value) for an op comparing with 1 and -1.
fn binary_for_signs(case: &Case) -> Option<Diagnostic> {
    let target = case.target()?;
    let t = numbers(target);
    let zeros: Vec<usize> = (0..t.len()).filter(|&i| t[i] == 0.0).collect();
    if zeros.is_empty() || t.iter().any(|&v| v != 0.0 && v != 1.0) {
        return None;
    }
    let margin = case.float("margin").unwrap_or(0.0);
    let counted = format!("{} of {} target values are 0", zeros.len(), t.len());
    let dtype = case.input().dtype;
    let (consequence, evidence) = match case.op.name() {
        "hinge_embedding_loss" => {
            // An example from the values, where input and target line up one to one.
            let input = case.input();
            let example = input
                .floats()
                .filter(|_| input.shape == target.shape)
                .map(|x| x[zeros[0]])
                .filter(|x| x.is_finite())
                .map(|x| {
                    format!(
                        "; at element {}, input {} costs {} (as a positive pair {}, as a \
                         negative pair {})",
                        zeros[0],
                        rounded(dtype, x),
                        rounded(dtype, (margin - x).max(0.0) + x),
                        rounded(dtype, x),
                        rounded(dtype, (margin - x).max(0.0))
                    )
                })
                .unwrap_or_default();
            (
                format!(
                    "a 0 is neither class, so it pays both terms, max(0, margin - x) + x = \
                     max(margin, x) with margin {margin}: at least the margin whatever the \
                     input, and no gradient below it"
                ),
                format!("{counted}{example}"),
            )
        }
        "margin_ranking_loss" => (
            format!(
                "a 0 ranks neither input first: those elements cost max(0, margin) = {} \
                 whatever input1 - input2, and pass no gradient to the inputs",
                margin.max(0.0)
            ),
            counted,
        ),
        _ => (
            "a pair labelled 0 costs nothing and gets no gradient: the pairs meant as \
             dissimilar are never pushed apart"
                .to_string(),
            format!(
                "{} of {} pair labels are 0 (their pairs add 0 to the loss)",
                zeros.len(),
                t.len()
            ),
        ),
    };
    Some(Diagnostic {
        code: "binary-target-for-signs",
        summary: format!(
            "{} expects labels 1 and -1, and the target holds 0 and 1: labels in {{0, 1}} \
             give a silently different loss; {consequence}",
            case.op
        ),
        evidence,
        suggestion: "map {0, 1} labels to {-1, 1} with 2 * target - 1".to_string(),
    })
}

/// `multi_margin_loss` given one-hot rows `(N, C)` instead of `N` class indices.
fn one_hot_classes(case: &Case) -> Option<Diagnostic> {
    let target = case.target()?;
    let input = &case.input().shape;
    let [n, c] = target.shape[..] else {
        return None;
    };
    if input.len() != 2 || input[1] != c || c == 0 {
        return None;
    }
    let t = numbers(target);
    if t.iter().any(|&v| v != 0.0 && v != 1.0) {
        return None;
    }
    let classes: Vec<Option<usize>> = t
        .chunks(c)
        .map(|row| {
            let ones: Vec<usize> = (0..c).filter(|&j| row[j] == 1.0).collect();
            (ones.len() == 1).then(|| ones[0])
        })
        .collect();
    if classes.iter().any(Option::is_none) {
        return None;
    }
    let classes: Vec<String> = classes.iter().flatten().map(|k| k.to_string()).collect();
    Some(Diagnostic {
        code: "one-hot-target",
        summary: "a one-hot target: multi_margin_loss takes one class index per sample (an \
                  int64 tensor of shape (N)), not one-hot rows, and rejects it"
            .to_string(),
        evidence: format!(
            "the target {} holds only 0 and 1, one 1 per row: the classes [{}] of {n} \
             sample(s)",
            shape_str(&target.shape),
            classes.join(", ")
        ),
        suggestion: "pass the class indices target.argmax(dim=1)".to_string(),
    })
}

/// `multilabel_margin_loss` given a 0/1 mask: it reads each row as class indices up
/// to the first -1, so a mask's 0s and 1s are taken for classes 0 and 1.
fn mask_for_class_list(case: &Case) -> Option<Diagnostic> {
    let target = case.target()?;
    let t = numbers(target);
    let c = *case.input().shape.last()?;
    if c < 2
        || target.shape != case.input().shape
        || !t.contains(&0.0)
        || !t.contains(&1.0)
        || t.iter().any(|&v| v != 0.0 && v != 1.0)
    {
        return None;
    }
    let row = &t[..c];
    let meant: Vec<String> = (0..c)
        .filter(|&j| row[j] == 1.0)
        .map(|j| j.to_string())
        .collect();
    let mut read: Vec<usize> = row.iter().map(|&v| v as usize).collect();
    read.sort_unstable();
    read.dedup();
    let read: Vec<String> = read.iter().map(|k| k.to_string()).collect();
    let shown: Vec<String> = row.iter().map(|&v| (v as i64).to_string()).collect();
    Some(Diagnostic {
        code: "mask-for-class-list",
        summary: "multilabel_margin_loss takes each sample's classes as indices ended by -1, \
                  and the target looks like a 0/1 mask: its 0s and 1s are read as the classes \
                  0 and 1 (repeated), whatever classes the mask marks, and the loss is \
                  silently wrong"
            .to_string(),
        evidence: format!(
            "the target holds only 0 and 1 and no -1; its first row [{}] marks the classes \
             {{{}}} but is read as the classes {{{}}}",
            shown.join(", "),
            meant.join(", "),
            read.join(", ")
        ),
        suggestion: "pass F.multilabel_soft_margin_loss(input, mask.float()), which takes a \
                     0/1 mask, or turn the mask into class lists: \
                     torch.where(mask.bool(), torch.arange(C), -1).sort(dim=1, \
                     descending=True).values"
            .to_string(),
    })
}
