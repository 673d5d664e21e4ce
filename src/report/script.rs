//! The repro script of a divergent case: what `lossparity::repro::python_repro` writes,
//! preceded by the values lossparity recorded on both sides (and the reference), and
//! followed by how far PyTorch's own result is from each.

use std::fmt::Write as _;

use crate::case::{Case, Outcome, TensorData};
use crate::reference::{Reference, ReferenceTensor};
use crate::repro::{python_repro, python_tensor};

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

/// Python assignments of one side's recorded output and gradient (or `None` and the
/// error, printed).
fn recorded(s: &mut String, side: &str, outcome: &Outcome) {
    match &outcome.result {
        Err(e) => {
            let _ = writeln!(s, "{side}_output = None");
            let _ = writeln!(s, "{side}_grad = None");
            let _ = writeln!(
                s,
                "print('recorded {side}: raises', {})",
                python_string(&format!("{}: {}", e.kind, e.message))
            );
        }
        Ok(c) => {
            let _ = writeln!(s, "{side}_output = {}", python_tensor(&c.output));
            let _ = writeln!(s, "print('recorded {side} output:', {side}_output)");
            match &c.grad_input {
                Some(Ok(g)) => {
                    let _ = writeln!(s, "{side}_grad = {}", python_tensor(g));
                    let _ = writeln!(s, "print('recorded {side} grad_input:', {side}_grad)");
                }
                Some(Err(e)) => {
                    let _ = writeln!(s, "{side}_grad = None");
                    let _ = writeln!(
                        s,
                        "print('recorded {side} backward: raises', {})",
                        python_string(&format!("{}: {}", e.kind, e.message))
                    );
                }
                None => {
                    let _ = writeln!(s, "{side}_grad = None");
                }
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
    recorded(&mut s, "libtorch", torch);
    recorded(&mut s, "rust", rust);
    match reference {
        Some(r) => {
            let _ = writeln!(s, "reference_output = {}", reference_tensor(&r.output));
            s.push_str("print('reference output:', reference_output)\n");
            match &r.grad_input {
                Some(g) => {
                    let _ = writeln!(s, "reference_grad = {}", reference_tensor(g));
                    s.push_str("print('reference grad_input:', reference_grad)\n");
                }
                None => s.push_str("reference_grad = None\n"),
            }
        }
        None => s.push_str("reference_output = None\nreference_grad = None\n"),
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
    if case.grad {
        s.push_str(
            "for name, value in [('libtorch', libtorch_grad), ('rust', rust_grad), \
             ('reference', reference_grad)]:\n    \
                 if value is not None and value.shape == x.grad.shape:\n        \
                     print(f'max |PyTorch grad - recorded {name}|:', maxdiff(x.grad, value))\n",
        );
    }
    s
}
