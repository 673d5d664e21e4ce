//! The edge cases people trip on, pinned: every case of `cases/catalogue.jsonl` runs
//! through libtorch and through the Rust losses, must agree under the tolerance policy
//! (nll_loss bit for bit), and is written out as a readable text (the call in Python,
//! both outcomes, the verdict, the explanation) that must match its snapshot in
//! `snapshots/<id>.snap`. Floats are rounded for display, so a snapshot changes only
//! when behaviour does; agreement is asserted on the unrounded values.
//!
//! Regenerate with `scripts/regenerate-snapshots.sh`.
#![cfg(feature = "torch")]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use lossparity::backend::{Backend, RustBackend, TorchBackend};
use lossparity::case::{Arg, Case, CaseError, Computed, DType, Outcome, TensorData, Values};
use lossparity::compare::{compare, Divergence, Mode, Tolerance};
use lossparity::explain::{explain, rounded};
use lossparity::ops::Default;

const CATALOGUE: &str = include_str!("../cases/catalogue.jsonl");

/// The catalogue's cases with their ids, in file order.
fn catalogue() -> Vec<(String, Case)> {
    CATALOGUE
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let case = Case::from_json(line)
                .unwrap_or_else(|e| panic!("cases/catalogue.jsonl line {}: {e}", i + 1));
            let id = case
                .id
                .clone()
                .unwrap_or_else(|| panic!("cases/catalogue.jsonl line {} has no id", i + 1));
            (id, case)
        })
        .collect()
}

fn mode(case: &Case) -> Mode {
    case.op.spec().mode
}

// ---------------------------------------------------------------------------------
// The call, as a PyTorch user writes it.

fn python_float(dtype: DType, v: f64) -> String {
    if v.is_nan() {
        "float('nan')".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "float('inf')"
        } else {
            "-float('inf')"
        }
        .into()
    } else if dtype == DType::Float64 {
        format!("{v:?}")
    } else {
        format!("{:?}", v as f32)
    }
}

/// The `dtype=` argument, when the dtype is not what Python literals default to.
fn dtype_argument(dtype: DType, literal_default: DType) -> String {
    if dtype == literal_default {
        return String::new();
    }
    let name = match dtype {
        DType::Float32 => "float32",
        DType::Float64 => "float64",
        DType::Float16 => "float16",
        DType::BFloat16 => "bfloat16",
        DType::Int64 => "int64",
        DType::UInt8 => "uint8",
    };
    format!(", dtype=torch.{name}")
}

fn python_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    if parts.len() == 1 {
        format!("({},)", parts[0])
    } else {
        format!("({})", parts.join(", "))
    }
}

fn nested(shape: &[usize], items: &[String]) -> String {
    match shape.split_first() {
        None => items[0].clone(),
        Some((&n, rest)) => {
            let chunk = rest.iter().product::<usize>();
            let parts: Vec<String> = (0..n)
                .map(|i| nested(rest, &items[i * chunk..(i + 1) * chunk]))
                .collect();
            format!("[{}]", parts.join(", "))
        }
    }
}

/// A Python expression for a case tensor: `torch.tensor([[...]])`, `torch.full(...)`
/// for a large constant tensor, `torch.empty(...)` for an empty one.
fn python_tensor(t: &TensorData, requires_grad: bool) -> String {
    let grad = if requires_grad {
        ", requires_grad=True"
    } else {
        ""
    };
    let items: Vec<String> = match &t.values {
        Values::Float(v) => v.iter().map(|&x| python_float(t.dtype, x)).collect(),
        Values::Int(v) => v.iter().map(|x| x.to_string()).collect(),
    };
    let literal_default = if t.dtype.is_float() {
        DType::Float32
    } else {
        DType::Int64
    };
    if items.is_empty() {
        return format!(
            "torch.empty({}{}{grad})",
            python_shape(&t.shape),
            dtype_argument(t.dtype, DType::Float32)
        );
    }
    let dtype = dtype_argument(t.dtype, literal_default);
    if items.len() > 8 && items.iter().all(|x| *x == items[0]) {
        return format!(
            "torch.full({}, {}{dtype}{grad})",
            python_shape(&t.shape),
            items[0]
        );
    }
    format!("torch.tensor({}{dtype}{grad})", nested(&t.shape, &items))
}

/// The case as the lines of Python a PyTorch user would write.
fn python_call(case: &Case) -> Vec<String> {
    let wrt = case.grad_wrt();
    let grad =
        |name: &str| wrt.contains(&name) && case.tensor(name).is_some_and(|t| t.dtype.is_float());
    // The main input is `x`; the two-input losses' first tensor keeps its name.
    let first = case.op.spec().params[0].name;
    let variable = if first == "input" { "x" } else { first };
    let mut lines = vec![format!(
        "{variable} = {}",
        python_tensor(case.input(), grad(first))
    )];
    let mut args = vec![variable.to_string()];
    let result = if case.op.is_loss() { "loss" } else { "out" };
    // The registry's parameters in PyTorch's order: tensors as variables (required
    // ones positional), other values only where they differ from the default (`dim`
    // always, since softmax without it is deprecated).
    for param in &case.op.spec().params[1..] {
        let Some(arg) = case.arg(param.name) else {
            continue;
        };
        let name = param.name;
        let value = match arg {
            Arg::Tensor(t) => {
                lines.push(format!("{name} = {}", python_tensor(t, grad(name))));
                if param.default == Default::Required {
                    args.push(name.to_string());
                    continue;
                }
                name.to_string()
            }
            _ if name != "dim" && Some(arg) == Arg::from_default(param.default).as_ref() => {
                continue
            }
            Arg::Int(v) => v.to_string(),
            Arg::Float(v) if v.is_infinite() => {
                format!("float('{}inf')", if *v < 0.0 { "-" } else { "" })
            }
            Arg::Float(v) if v.is_nan() => "float('nan')".to_string(),
            Arg::Float(v) => format!("{v:?}"),
            Arg::Str(v) => format!("'{v}'"),
            Arg::Bool(v) => if *v { "True" } else { "False" }.to_string(),
        };
        args.push(format!("{name}={value}"));
    }
    lines.push(format!(
        "{result} = F.{}({})",
        case.op.name(),
        args.join(", ")
    ));
    if case.grad {
        match &case.grad_output {
            Some(g) => {
                lines.push(format!("grad_output = {}", python_tensor(g, false)));
                lines.push(format!("({result} * grad_output).sum().backward()"));
            }
            None => lines.push(format!("{result}.sum().backward()")),
        }
    }
    lines
}

// ---------------------------------------------------------------------------------
// Outcomes, rounded for display.

fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn row(t: &TensorData, range: std::ops::Range<usize>) -> String {
    let items: Vec<String> = match &t.values {
        Values::Float(v) => v[range].iter().map(|&x| rounded(t.dtype, x)).collect(),
        Values::Int(v) => v[range].iter().map(|x| x.to_string()).collect(),
    };
    format!("[{}]", items.join(", "))
}

/// A labelled tensor: one line up to 1-D, else a header and one line per innermost
/// row, each led by its index (`[0, 1, :]`).
fn tensor_lines(out: &mut String, label: &str, t: &TensorData) {
    let head = format!("{label:<11} {} {}", t.dtype.name(), shape_str(&t.shape));
    let n = t.values.len();
    if t.shape.len() <= 1 || n == 0 {
        let body = if t.shape.is_empty() {
            row(t, 0..n).trim_matches(['[', ']']).to_string()
        } else {
            row(t, 0..n)
        };
        let _ = writeln!(out, "  {head}  {body}");
        return;
    }
    let _ = writeln!(out, "  {head}");
    let last = t.shape[t.shape.len() - 1];
    let lead = &t.shape[..t.shape.len() - 1];
    for r in 0..n / last {
        let mut index = Vec::with_capacity(lead.len());
        let mut rest = r;
        for &d in lead.iter().rev() {
            index.push((rest % d).to_string());
            rest /= d;
        }
        index.reverse();
        index.push(":".into());
        let _ = writeln!(
            out,
            "    [{}]  {}",
            index.join(", "),
            row(t, r * last..(r + 1) * last)
        );
    }
}

fn error_line(out: &mut String, label: &str, e: &CaseError) {
    let _ = writeln!(out, "  {label:<11} {}: {}", e.kind, e.message);
}

fn outcome_text(outcome: &Outcome) -> String {
    let mut out = String::new();
    match &outcome.result {
        Err(e) => error_line(&mut out, "error", e),
        Ok(Computed { output, grads }) => {
            tensor_lines(&mut out, "output", output);
            match grads {
                None => {}
                Some(Ok(grads)) => {
                    for g in grads {
                        tensor_lines(&mut out, &g.field(), &g.tensor);
                    }
                }
                Some(Err(e)) => error_line(&mut out, "grad_error", e),
            }
        }
    }
    out
}

fn verdict(case: &Case, torch: &Outcome, result: &Result<(), Divergence>) -> String {
    if let Err(d) = result {
        return format!("DIVERGE: {d}");
    }
    let Ok(computed) = &torch.result else {
        return "agree: same error, kind and message".into();
    };
    let values = match mode(case) {
        Mode::Exact => format!("bit for bit ({} is compared exactly)", case.op.name()),
        Mode::Tolerant => {
            let tol = Tolerance::for_dtype(computed.output.dtype);
            format!(
                "within torch.testing.assert_close's tolerances ({}: atol {:e}, rtol {:e})",
                computed.output.dtype.name(),
                tol.atol,
                tol.rtol
            )
        }
    };
    match &computed.grads {
        Some(Err(_)) => format!("agree: output {values}; the backward raises the same error"),
        _ => format!("agree: {values}"),
    }
}

/// The snapshot text of one case.
fn render(case: &Case, torch: &Outcome, rust: &Outcome, result: &Result<(), Divergence>) -> String {
    let mut s = String::from("call:\n");
    for line in python_call(case) {
        let _ = writeln!(s, "  {line}");
    }
    let torch_text = outcome_text(torch);
    let rust_text = outcome_text(rust);
    let _ = write!(s, "libtorch:\n{torch_text}");
    if rust_text == torch_text {
        s.push_str("rust: the same, to the digits shown\n");
    } else {
        let _ = write!(s, "rust:\n{rust_text}");
    }
    let _ = writeln!(s, "verdict: {}", verdict(case, torch, result));
    s.push_str("explanation:\n");
    for line in explain(case).to_string().lines() {
        let _ = writeln!(s, "  {line}");
    }
    s
}

#[test]
fn every_catalogue_case_agrees_with_libtorch_and_matches_its_snapshot() {
    let cases = catalogue();
    let (torch_backend, rust_backend) = (TorchBackend, RustBackend::default());
    let mut base = insta::Settings::clone_current();
    base.set_snapshot_path("../snapshots");
    base.set_prepend_module_to_snapshot(false);
    base.set_omit_expression(true);
    let mut divergences = Vec::new();
    let mut mismatches = Vec::new();
    for (id, case) in &cases {
        let torch = torch_backend.evaluate(case);
        let rust = rust_backend.evaluate(case);
        let result = compare(&torch, &rust, mode(case));
        if let Err(d) = &result {
            divergences.push(format!(
                "{id}: {d}\n  case:  {}\n  torch: {}\n  rust:  {}",
                case.to_json(),
                torch.to_json(),
                rust.to_json()
            ));
        }
        let text = render(case, &torch, &rust, &result);
        let mut settings = base.clone();
        settings.set_description(case.to_json());
        let snapshot = catch_unwind(AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(id.as_str(), text));
        }));
        if snapshot.is_err() {
            mismatches.push(id.clone());
        }
    }
    let mut report = String::new();
    if !divergences.is_empty() {
        let _ = writeln!(
            report,
            "{} of {} catalogue cases diverge from libtorch:\n{}",
            divergences.len(),
            cases.len(),
            divergences.join("\n")
        );
    }
    if !mismatches.is_empty() {
        let _ = writeln!(
            report,
            "{} of {} snapshots differ or are missing: {}\nreview them with \
             scripts/regenerate-snapshots.sh",
            mismatches.len(),
            cases.len(),
            mismatches.join(", ")
        );
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn catalogue_ids_are_unique_and_every_snapshot_belongs_to_one() {
    let cases = catalogue();
    let ids: BTreeSet<&str> = cases.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids.len(),
        cases.len(),
        "duplicate ids in cases/catalogue.jsonl"
    );
    assert!(cases.len() >= 60, "only {} catalogue cases", cases.len());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let orphans: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let id = name.strip_suffix(".snap")?;
            (!ids.contains(id)).then(|| name.clone())
        })
        .collect();
    assert!(
        orphans.is_empty(),
        "snapshots without a catalogue case (delete them): {orphans:?}"
    );
}

#[test]
fn the_catalogue_covers_every_error_of_the_semantics_notes() {
    let messages: Vec<String> = catalogue()
        .iter()
        .filter_map(|(_, case)| match TorchBackend.evaluate(case).result {
            Err(e) => Some(format!("{}: {}", e.kind, e.message)),
            Ok(Computed {
                grads: Some(Err(e)),
                ..
            }) => Some(format!("{}: {}", e.kind, e.message)),
            Ok(_) => None,
        })
        .collect();
    for expected in [
        "ValueError: Expected 1 or more dimensions (got 0)",
        "ValueError: Expected input batch_size (2) to match target batch_size (3).",
        "ValueError: For 1D input, 1D target must have size 1, but got target size: 3",
        "RuntimeError: 0D or 1D target tensor expected, multi-target not supported",
        "RuntimeError: expected target dtype to be Long or Byte, but got Float",
        "RuntimeError: weight tensor should be defined either for all 3 classes or no classes",
        "RuntimeError: cross_entropy: weight tensor should be defined either for all 3 classes",
        "RuntimeError: Expected floating point type for target with class probabilities, got Long",
        "RuntimeError: ignore_index is not supported for floating point target",
        "RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5",
        "RuntimeError: Expected target size [2, 5], got [2, 4]",
        "RuntimeError: size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 4]",
        "RuntimeError: expected scalar type Float but found Double",
        "RuntimeError: expected scalar type Long but found Byte",
        "IndexError: Target 3 is out of bounds.",
        "IndexError: Target -1 is out of bounds.",
        "IndexError: Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(expected)),
            "no catalogue case raises {expected:?}"
        );
    }
}
