//! Your own loss implementation under test, from your own `cargo test`: a deliberately
//! naive `log_softmax` (the textbook `x - ln(sum(exp(x)))`, with no shift by the
//! maximum), the test a user writes, and what its failure looks like.
//!
//!     cargo run --example conformance      # prints the shrunk failure
//!     cargo test --example conformance     # the test that catches the bug
//!
//! The naive formula agrees with PyTorch on ordinary inputs; the conformance run finds
//! where it does not (`exp` overflows to infinity above 88.7 in float32, and every
//! element of that row becomes `-inf` or NaN) and shrinks the case to a minimal one.

use lossparity::backend::Backend;
use lossparity::case::{Case, Computed, DType, Op, Outcome, TensorData};
use lossparity::conformance::{Conformance, Error};

/// `log_softmax` the textbook way, in the input's precision.
struct NaiveLogSoftmax;

impl Backend for NaiveLogSoftmax {
    fn name(&self) -> &str {
        "naive"
    }

    /// Only what this backend implements: `log_softmax` of float32 or float64 inputs
    /// with at least one dimension, a `dim` in range, no gradients.
    fn supports(&self, case: &Case) -> Result<(), String> {
        let input = case.input();
        let rank = input.shape.len() as i64;
        let dim = case.dim().unwrap_or(0);
        if case.op.name() != "log_softmax" {
            Err("only log_softmax".into())
        } else if !matches!(input.dtype, DType::Float32 | DType::Float64) {
            Err("only float32 and float64".into())
        } else if rank == 0 || dim < -rank || dim >= rank {
            Err("only a dim of the input's dimensions".into())
        } else if case.grad {
            Err("no gradients".into())
        } else {
            Ok(())
        }
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        let input = case.input();
        let rank = input.shape.len();
        let dim = case.dim().unwrap_or(0).rem_euclid(rank as i64) as usize;
        let (outer, len, inner) = (
            input.shape[..dim].iter().product::<usize>(),
            input.shape[dim],
            input.shape[dim + 1..].iter().product::<usize>(),
        );
        let x = input.floats().expect("a float input");
        let f32_case = input.dtype == DType::Float32;
        let mut out = vec![0.0; x.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * len + k) * inner + i;
                if f32_case {
                    let sum: f32 = (0..len).map(|k| (x[at(k)] as f32).exp()).sum();
                    for k in 0..len {
                        out[at(k)] = f64::from(x[at(k)] as f32 - sum.ln());
                    }
                } else {
                    let sum: f64 = (0..len).map(|k| x[at(k)].exp()).sum();
                    for k in 0..len {
                        out[at(k)] = x[at(k)] - sum.ln();
                    }
                }
            }
        }
        Outcome {
            id: case.id.clone(),
            result: Ok(Computed {
                output: TensorData::float(input.dtype, input.shape.clone(), out),
                grads: None,
            }),
        }
    }
}

fn log_softmax() -> Op {
    Op::named("log_softmax").expect("a registered op")
}

/// The conformance run of this example: 500 random `log_softmax` cases against
/// libtorch, failures not persisted (a real crate keeps them: leave the default).
fn run() -> Result<(), Error> {
    Conformance::new([log_softmax()])
        .cases(500)
        .regressions(None)
        .run(&NaiveLogSoftmax, &lossparity::backend::TorchBackend)
        .map(|_| ())
}

fn main() {
    match run() {
        Ok(()) => println!("the naive log_softmax agrees with libtorch"),
        Err(e) => println!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a user's test looks like: it fails while the bug is there. Here the bug is
    /// the point, so the test checks that it is caught and shrunk.
    #[test]
    fn the_naive_log_softmax_is_caught_and_shrunk() {
        let Err(Error::Diverged(failure)) = run() else {
            panic!("the naive log_softmax was not caught");
        };
        assert_eq!(failure.op, log_softmax());
        // Shrunk: a handful of elements at most, one of them large enough to overflow
        // exp (or small enough to underflow it everywhere), and the naive output is not
        // finite where libtorch's is.
        let input = failure.case.input();
        assert!(input.floats().unwrap().len() <= 4, "{failure}");
        let (Ok(oracle), Ok(naive)) = (&failure.oracle.result, &failure.subject.result) else {
            panic!("both sides compute: {failure}");
        };
        let finite = |t: &TensorData| t.floats().unwrap().iter().all(|v| v.is_finite());
        assert!(
            finite(&oracle.output) && !finite(&naive.output),
            "{failure}"
        );
        let report = failure.to_string();
        assert!(report.contains("reproduce in PyTorch:"), "{report}");
        assert!(report.contains("F.log_softmax("), "{report}");
    }

    /// Outside the bug's reach the naive formula is fine: the supported cases of
    /// moderate inputs agree (the same comparison as the run's).
    #[test]
    fn the_naive_log_softmax_agrees_on_moderate_inputs() {
        let case = Case::new(
            log_softmax(),
            TensorData::float(
                DType::Float32,
                vec![2, 3],
                vec![0.5, -1.0, 2.0, 3.0, 0.0, -2.5],
            ),
        )
        .with("dim", 1i64);
        let torch = lossparity::backend::TorchBackend.evaluate(&case);
        let naive = NaiveLogSoftmax.evaluate(&case);
        let verdict = lossparity::compare::compare(&torch, &naive, log_softmax().spec().mode);
        assert!(verdict.is_ok(), "{verdict:?}");
    }
}
