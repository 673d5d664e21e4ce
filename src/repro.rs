//! A standalone Python script that reproduces a case in PyTorch, for bug reports and
//! for failing tests: paste it into Python with torch 2.13 installed.

use std::fmt::Write as _;

use crate::case::{Arg, Case, DType, TensorData, Values};
use crate::ops::{Default, Kind};

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

/// The Python variable holding a case's tensor parameter: `x` for the input, else the
/// parameter's name.
pub fn python_variable(param: &str) -> &str {
    if param == "input" {
        "x"
    } else {
        param
    }
}

/// A Python script that runs the case through PyTorch and prints the output and, when
/// the case asks for them, the gradients.
pub fn python_repro(case: &Case) -> String {
    let mut s = String::new();
    s.push_str(
        "import torch\nimport torch.nn.functional as F\n\nnan, inf = float('nan'), float('inf')\n",
    );
    let wrt = case.grad_wrt();
    let mut args = Vec::new();
    for param in case.op.spec().params {
        let name = param.name;
        let value = match case.arg(name) {
            None => "None".to_string(),
            Some(Arg::Tensor(t)) => {
                let var = python_variable(name);
                let _ = writeln!(s, "{var} = {}", python_tensor(t));
                if wrt.contains(&name) {
                    let _ = writeln!(s, "{var}.requires_grad_()");
                }
                var.to_string()
            }
            Some(Arg::Int(v)) => v.to_string(),
            Some(Arg::Float(v)) => python_float(DType::Float64, *v),
            Some(Arg::Str(v)) => format!("'{v}'"),
            Some(Arg::Bool(v)) => if *v { "True" } else { "False" }.to_string(),
        };
        args.push(
            if param.default == Default::Required && param.kind == Kind::Tensor {
                value
            } else {
                format!("{name}={value}")
            },
        );
    }
    let _ = writeln!(s, "out = F.{}({})", case.op.name(), args.join(", "));
    s.push_str("torch.set_printoptions(precision=17)\nprint('output:', out)\n");
    if case.grad {
        match &case.grad_output {
            Some(g) => {
                let _ = writeln!(s, "grad_output = {}", python_tensor(g));
            }
            None => s.push_str("grad_output = torch.ones_like(out)\n"),
        }
        s.push_str("(out * grad_output).sum().backward()\n");
        for name in wrt {
            let _ = writeln!(s, "print('grad_{name}:', {}.grad)", python_variable(name));
        }
    }
    s
}
