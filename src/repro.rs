//! A standalone Python script that reproduces a case in PyTorch, for bug reports and
//! for failing tests: paste it into Python with torch 2.13 installed.

use std::fmt::Write as _;

use crate::case::{Case, DType, Op, TensorData, Values};

fn torch_dtype(dtype: DType) -> &'static str {
    match dtype {
        DType::Float32 => "torch.float32",
        DType::Float64 => "torch.float64",
        DType::Float16 => "torch.float16",
        DType::BFloat16 => "torch.bfloat16",
        DType::Int64 => "torch.int64",
        DType::UInt8 => "torch.uint8",
    }
}

fn python_float(dtype: DType, v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if dtype == DType::Float64 {
        format!("{v:?}")
    } else {
        format!("{:?}", v as f32)
    }
}

/// `torch.tensor([...], dtype=...).reshape(...)` for a case tensor.
pub fn python_tensor(t: &TensorData) -> String {
    let values: Vec<String> = match &t.values {
        Values::Float(v) => v.iter().map(|&x| python_float(t.dtype, x)).collect(),
        Values::Int(v) => v.iter().map(|x| x.to_string()).collect(),
    };
    let shape: Vec<String> = t.shape.iter().map(|d| d.to_string()).collect();
    format!(
        "torch.tensor([{}], dtype={}).reshape(({}{}))",
        values.join(", "),
        torch_dtype(t.dtype),
        shape.join(", "),
        if shape.len() == 1 { "," } else { "" }
    )
}

/// A Python script that runs the case through PyTorch and prints the output and, when
/// the case asks for it, the gradient.
pub fn python_repro(case: &Case) -> String {
    let mut s = String::new();
    s.push_str(
        "import torch\nimport torch.nn.functional as F\n\nnan, inf = float('nan'), float('inf')\n",
    );
    let _ = writeln!(s, "x = {}", python_tensor(&case.input));
    if case.grad {
        s.push_str("x.requires_grad_()\n");
    }
    let call = match case.op {
        Op::LogSoftmax | Op::Softmax => {
            format!("F.{}(x, dim={})", case.op.name(), case.dim.unwrap_or(0))
        }
        Op::NllLoss | Op::CrossEntropy => {
            if let Some(t) = &case.target {
                let _ = writeln!(s, "target = {}", python_tensor(t));
            }
            let weight = match &case.weight {
                Some(w) => {
                    let _ = writeln!(s, "weight = {}", python_tensor(w));
                    "weight"
                }
                None => "None",
            };
            let smoothing = if case.op == Op::CrossEntropy {
                format!(", label_smoothing={:?}", case.label_smoothing)
            } else {
                String::new()
            };
            format!(
                "F.{}(x, target, weight={weight}, ignore_index={}, reduction='{}'{smoothing})",
                case.op.name(),
                case.ignore_index,
                case.reduction.as_str()
            )
        }
    };
    let _ = writeln!(s, "out = {call}");
    s.push_str("torch.set_printoptions(precision=17)\nprint('output:', out)\n");
    if case.grad {
        match &case.grad_output {
            Some(g) => {
                let _ = writeln!(s, "grad_output = {}", python_tensor(g));
            }
            None => s.push_str("grad_output = torch.ones_like(out)\n"),
        }
        s.push_str("(out * grad_output).sum().backward()\nprint('grad_input:', x.grad)\n");
    }
    s
}
