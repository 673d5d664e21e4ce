//! What the framework subjects (candle, burn) share: a panic caught and reported as a
//! `Panic` failure of the case, a framework's error as a `RuntimeError` with its first
//! line, and the check that a case has one float dtype (neither framework promotes).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::process::failure;
use crate::case::{Arg, Case, CaseError};

/// Runs `f`, turning a panic into the case's `Panic` failure: the payload's text on
/// one line (burn's shape checks and `assert_eq!` write several), after `panicked: `.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, CaseError>) -> Result<T, CaseError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        let words: Vec<&str> = text.split_whitespace().collect();
        Err(CaseError::new(
            failure::PANIC,
            format!("panicked: {}", words.join(" ")),
        ))
    })
}

/// A framework's error: `RuntimeError`, its first line (the text never reads like
/// PyTorch's).
pub(crate) fn framework_error(e: impl std::fmt::Display) -> CaseError {
    let text = e.to_string();
    CaseError::new(
        "RuntimeError",
        text.lines().next().unwrap_or_default().to_string(),
    )
}

/// A floating-point input, and every float tensor of the case of its dtype: what a
/// framework that does not promote can express.
pub(crate) fn one_float_dtype(case: &Case, framework: &str) -> Result<(), String> {
    let input = case.input();
    if !input.dtype.is_float() {
        return Err(format!("{framework}'s losses take floating-point inputs"));
    }
    for (name, arg) in case.args() {
        if let Arg::Tensor(t) = arg {
            if t.dtype.is_float() && t.dtype != input.dtype {
                return Err(format!(
                    "{name} is {}: {framework} does not promote",
                    t.dtype.name()
                ));
            }
        }
    }
    Ok(())
}
