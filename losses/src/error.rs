//! The one error type of the losses: PyTorch's exception kind and message, to the
//! letter, plus a hint in plain words about what probably went wrong.

use std::fmt;

/// The Python exception class PyTorch raises for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `ValueError`: an argument has the right type but an unusable value (shapes).
    ValueError,
    /// `IndexError`: a class index or a dimension is out of range.
    IndexError,
    /// `RuntimeError`: PyTorch's generic error (`c10::Error`), most shape and dtype checks.
    RuntimeError,
    /// `TypeError`: an argument of the wrong type.
    TypeError,
    /// `NotImplementedError`: the op has no kernel for the dtype it was given.
    NotImplementedError,
}

impl ErrorKind {
    /// The Python class name, as PyTorch users see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ValueError => "ValueError",
            ErrorKind::IndexError => "IndexError",
            ErrorKind::RuntimeError => "RuntimeError",
            ErrorKind::TypeError => "TypeError",
            ErrorKind::NotImplementedError => "NotImplementedError",
        }
    }

    /// Parses a Python class name back into a kind.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        Some(match name {
            "ValueError" => ErrorKind::ValueError,
            "IndexError" => ErrorKind::IndexError,
            "RuntimeError" => ErrorKind::RuntimeError,
            "TypeError" => ErrorKind::TypeError,
            "NotImplementedError" => ErrorKind::NotImplementedError,
            _ => return None,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected call: what PyTorch would raise for the same input, and why.
///
/// `kind` and `message` are PyTorch's, to the letter (the first line of its message);
/// `hint` is ours, a sentence or two for the person who made the call.
///
/// ```
/// use lossparity_losses::{nll_loss, ErrorKind, NllLossOptions, Target};
/// use ndarray::{array, ArrayD};
///
/// // The classic mistake: a 1-D input is ONE sample with 5 classes, not a batch.
/// let input = array![-1.2f32, -0.3, -2.0, -1.7, -2.5].into_dyn();
/// let target: ArrayD<i64> = array![1i64, 0, 0].into_dyn();
/// let err = nll_loss(input.view(), Target::Indices(target.view()), &NllLossOptions::default())
///     .unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ValueError);
/// assert_eq!(err.message(), "For 1D input, 1D target must have size 1, but got target size: 3");
/// assert!(err.hint().contains("one sample with 5 classes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossError {
    kind: ErrorKind,
    message: String,
    hint: String,
}

impl LossError {
    /// An error with PyTorch's kind and message and our hint.
    pub(crate) fn new(
        kind: ErrorKind,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        LossError {
            kind,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub(crate) fn value(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::ValueError, message, hint)
    }

    pub(crate) fn index(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::IndexError, message, hint)
    }

    pub(crate) fn runtime(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorKind::RuntimeError, message, hint)
    }

    /// The Python exception class PyTorch raises.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// PyTorch's message, first line, verbatim.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What probably went wrong, in plain words.
    pub fn hint(&self) -> &str {
        &self.hint
    }
}

impl fmt::Display for LossError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if !self.hint.is_empty() {
            write!(f, "\nhint: {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for LossError {}

/// PyTorch's way of printing a shape: `[2, 3]`, `[]` for a scalar.
pub(crate) fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Wraps a possibly negative `dim` for a tensor of `ndim` dimensions, as PyTorch does: a
/// 0-D tensor accepts `dim` in `[-1, 0]`.
pub(crate) fn wrap_dim(dim: i64, ndim: usize) -> Result<usize, LossError> {
    let n = ndim.max(1) as i64;
    if dim < -n || dim >= n {
        return Err(LossError::index(
            format!(
                "Dimension out of range (expected to be in range of [{}, {}], but got {dim})",
                -n,
                n - 1
            ),
            format!(
                "the tensor has {ndim} dimension(s), so `dim` must be between {} and {}; \
                 for (N, C) scores the class dimension is dim=1 (or -1)",
                -n,
                n - 1
            ),
        ));
    }
    Ok(if dim < 0 {
        (dim + n) as usize
    } else {
        dim as usize
    })
}
