//! The repro script of a divergent case: what `lossparity::repro::python_repro` writes,
//! preceded by the values lossparity recorded on both sides (and the reference), and
//! followed by how far PyTorch's own result is from each.

use std::fmt::Write as _;

use crate::case::{Case, Computed, Outcome, TensorData};
use crate::reference::{Reference, ReferenceTensor};
use crate::repro::{python_repro, python_tensor, python_variable};

fn reference_tensor(t: &ReferenceTensor) -> String {
    python_tensor(&TensorData::float(
        crate::case::DType::Float64,
        t.shape.clone(),
        t.values.clone(),
    ))
}

/// A Python string literal (JSON's escapes are Python's too, `\u0000` included).
fn python_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// Python assignments of one side's recorded output and gradients (`None` where it
/// raised, and the error, printed).
fn recorded(s: &mut String, side: &str, outcome: &Outcome, wrt: &[&str]) {
    let grads = |s: &mut String, computed: Option<&Computed>| {
        for name in wrt {
            match computed.and_then(|c| c.grad(name)) {
                Some(g) => {
                    let _ = writeln!(s, "{side}_grad_{name} = {}", python_tensor(g));
                    let _ = writeln!(
                        s,
                        "print('recorded {side} grad_{name}:', {side}_grad_{name})"
                    );
                }
                None => {
                    let _ = writeln!(s, "{side}_grad_{name} = None");
                }
            }
        }
    };
    match &outcome.result {
        Err(e) => {
            let _ = writeln!(s, "{side}_output = None");
            grads(s, None);
            let _ = writeln!(
                s,
                "print('recorded {side}: raises', {})",
                python_string(&format!("{}: {}", e.kind, e.message))
            );
        }
        Ok(c) => {
            let _ = writeln!(s, "{side}_output = {}", python_tensor(&c.output));
            let _ = writeln!(s, "print('recorded {side} output:', {side}_output)");
            grads(s, Some(c));
            if let Some(Err(e)) = &c.grads {
                let _ = writeln!(
                    s,
                    "print('recorded {side} backward: raises', {})",
                    python_string(&format!("{}: {}", e.kind, e.message))
                );
            }
        }
    }
}

/// The script for a case; `title` goes into its header comment.
pub fn repro_script(
    case: &Case,
    title: &str,
    torch: &Outcome,
    rust: &Outcome,
    reference: Option<&Reference>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# lossparity report: {title}");
    s.push_str(
        "# Prints what lossparity recorded (libtorch through tch, the Rust losses and the\n\
         # higher-precision reference), then runs the call in PyTorch and compares.\n",
    );
    s.push_str("import torch\n\nnan, inf = float('nan'), float('inf')\n");
    s.push_str("torch.set_printoptions(precision=17)\n\n");
    let wrt = case.grad_wrt();
    recorded(&mut s, "libtorch", torch, &wrt);
    recorded(&mut s, "rust", rust, &wrt);
    match reference {
        Some(r) => {
            let _ = writeln!(s, "reference_output = {}", reference_tensor(&r.output));
            s.push_str("print('reference output:', reference_output)\n");
        }
        None => s.push_str("reference_output = None\n"),
    }
    for name in &wrt {
        match reference.and_then(|r| r.grad(name)) {
            Some(g) => {
                let _ = writeln!(s, "reference_grad_{name} = {}", reference_tensor(g));
                let _ = writeln!(s, "print('reference grad_{name}:', reference_grad_{name})");
            }
            None => {
                let _ = writeln!(s, "reference_grad_{name} = None");
            }
        }
    }
    s.push_str("\n# The call in PyTorch.\n");
    s.push_str(&python_repro(case));
    s.push_str(
        "\n\ndef maxdiff(a, b):\n    \
             d = (a.detach().double() - b.double()).abs()\n    \
             return d.max().item() if d.numel() else 0.0\n\n\
         for name, value in [('libtorch', libtorch_output), ('rust', rust_output), \
         ('reference', reference_output)]:\n    \
             if value is not None and value.shape == out.shape:\n        \
                 print(f'max |PyTorch output - recorded {name}|:', maxdiff(out, value))\n",
    );
    for name in &wrt {
        let var = python_variable(name);
        let _ = writeln!(
            s,
            "for name, value in [('libtorch', libtorch_grad_{name}), ('rust', rust_grad_{name}), \
             ('reference', reference_grad_{name})]:\n    \
                 if value is not None and value.shape == {var}.grad.shape:\n        \
                     print(f'max |PyTorch grad_{name} - recorded {{name}}|:', maxdiff({var}.grad, value))"
        );
    }
    s
}
