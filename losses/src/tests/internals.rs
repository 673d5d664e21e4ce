// The checks `internals` exposes to the harness (feature `unstable-public-internals`),
// each against PyTorch's error for a call the typed API cannot express.

use super::*;
use crate::internals::{
    check_cross_entropy_before_log_softmax, check_cross_entropy_shapes, check_ctc_loss_args,
    check_nll_loss_shapes, weight_grad_refusal, wrap_dim_checked,
};

// torch 2.13.0:
//   F.nll_loss(X[:2], torch.zeros(2, dtype=torch.long))  -> tensor(...) (no error)
//   F.nll_loss(X[:2], torch.zeros(2, dtype=torch.int32)) -> RuntimeError: expected target dtype to be Long or Byte, but got Int
#[test]
fn nll_loss_shape_checks_name_the_target_dtype() {
    assert!(check_nll_loss_shapes(&[2, 3], &[2], "Long", None).is_ok());
    assert_err(
        check_nll_loss_shapes(&[2, 3], &[2], "Int", None),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Int",
    );
}

// torch 2.13.0 (Wr = torch.ones(3, dtype=D, requires_grad=True)):
//   F.nll_loss(X, T, weight=Wr)
//     -> RuntimeError: The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   F.nll_loss(torch.zeros(2, 3, 4, dtype=D), torch.zeros(2, 4, dtype=torch.long), weight=Wr)
//     -> RuntimeError: The function 'nll_loss2d_forward' is not differentiable with respect to argument 'weight'. This input cannot have requires_grad True.
//   F.nll_loss(X[:2], torch.zeros(4, dtype=torch.long), weight=Wr)
//     -> ValueError: Expected input batch_size (2) to match target batch_size (4).
#[test]
fn weight_grad_refusal_names_the_kernel_after_nll_loss_nds_checks() {
    let refusal = |function: &str| {
        format!(
            "The function '{function}' is not differentiable with respect to argument \
             'weight'. This input cannot have requires_grad True."
        )
    };
    let cases = [
        (
            [4, 3].as_slice(),
            [4].as_slice(),
            ErrorKind::RuntimeError,
            refusal("nll_loss_forward"),
        ),
        (
            &[2, 3, 4],
            &[2, 4],
            ErrorKind::RuntimeError,
            refusal("nll_loss2d_forward"),
        ),
        (
            &[2, 3],
            &[4],
            ErrorKind::ValueError,
            "Expected input batch_size (2) to match target batch_size (4).".to_string(),
        ),
    ];
    for (input, target, kind, message) in cases {
        let err = weight_grad_refusal(input, target);
        assert_err(Err::<(), _>(err), kind, &message);
    }
}

// torch 2.13.0:
//   F.cross_entropy(Z, T, label_smoothing=0.2) -> tensor(...) (no error)
//   F.cross_entropy(Z, T, label_smoothing=1.5) -> RuntimeError: label_smoothing must be between 0.0 and 1.0. Got: 1.5
//   F.cross_entropy(torch.tensor(1.0, dtype=D), torch.tensor([0]))
//     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
#[test]
fn cross_entropy_checks_before_log_softmax_are_smoothing_then_the_class_dim() {
    assert!(check_cross_entropy_before_log_softmax(&[4, 3], 0.2).is_ok());
    assert_err(
        check_cross_entropy_before_log_softmax(&[4, 3], 1.5),
        ErrorKind::RuntimeError,
        "label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    );
    assert_err(
        check_cross_entropy_before_log_softmax(&[], 0.0),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
    );
}

// torch 2.13.0:
//   F.cross_entropy(Z[:2], torch.zeros(2, 3, dtype=torch.half)) -> tensor(...) (no error)
//   F.cross_entropy(Z[:2], torch.zeros(2, 3, dtype=torch.long))
//     -> RuntimeError: Expected floating point type for target with class probabilities, got Long
//   F.cross_entropy(Z[:2], torch.zeros(2, dtype=torch.int32))
//     -> RuntimeError: expected target dtype to be Long or Byte, but got Int
#[test]
fn cross_entropy_shape_checks_name_the_target_dtype() {
    let check = |target: &[usize], dtype: &str, is_float: bool| {
        check_cross_entropy_shapes(&[2, 3], target, dtype, is_float, None, -100, 0.0)
    };
    assert!(check(&[2, 3], "Half", true).is_ok());
    assert_err(
        check(&[2, 3], "Long", false),
        ErrorKind::RuntimeError,
        "Expected floating point type for target with class probabilities, got Long",
    );
    assert_err(
        check(&[2], "Int", false),
        ErrorKind::RuntimeError,
        "expected target dtype to be Long or Byte, but got Int",
    );
}

// torch 2.13.0:
//   torch.equal(F.log_softmax(Z, -1), F.log_softmax(Z, 1)) -> True
//   torch.equal(F.log_softmax(Z, -2), F.log_softmax(Z, 0)) -> True
//   F.log_softmax(torch.tensor(1.5, dtype=D), -1) -> tensor(0.) (no error)
//   F.log_softmax(torch.zeros(2, 3, dtype=D), 2)
//     -> IndexError: Dimension out of range (expected to be in range of [-2, 1], but got 2)
//   F.log_softmax(torch.tensor(1.5, dtype=D), -2)
//     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got -2)
#[test]
fn dims_wrap_from_the_end_and_out_of_range_is_pytorchs_index_error() {
    assert_eq!(wrap_dim_checked(-1, 2).unwrap(), 1);
    assert_eq!(wrap_dim_checked(-2, 2).unwrap(), 0);
    assert_eq!(wrap_dim_checked(-1, 0).unwrap(), 0);
    assert_err(
        wrap_dim_checked(2, 2),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-2, 1], but got 2)",
    );
    assert_err(
        wrap_dim_checked(-2, 0),
        ErrorKind::IndexError,
        "Dimension out of range (expected to be in range of [-1, 0], but got -2)",
    );
}

// torch 2.13.0 (the ctc tests' LP (5, 3, 4), TP (3, 3), IL, TL):
//   F.ctc_loss(LP, TP.float(), IL.int(), TL.to(torch.uint8), reduction='none') -> tensor([3.8622, 4.0376, inf]) (no error)
//   F.ctc_loss(LP.half(), TP, IL, TL) -> NotImplementedError: "ctc_loss_cpu" not implemented for 'Half'
//   F.ctc_loss(LP.long(), TP, IL, TL, blank=9) -> NotImplementedError: "ctc_loss_cpu" not implemented for 'Long'
//   F.ctc_loss(LP, TP, IL.double(), TL) -> RuntimeError: input_lengths must be integral
//   F.ctc_loss(LP, TP, IL, TL.bool()) -> RuntimeError: target_lengths must be integral
//   F.ctc_loss(LP.half(), TP, IL.float(), TL.bool()) -> RuntimeError: input_lengths must be integral
//   F.ctc_loss(torch.tensor(0.5).half(), TP, IL, TL)
//     -> IndexError: Dimension out of range (expected to be in range of [-1, 0], but got 1)
//   F.ctc_loss(torch.zeros(0, 3, 4).half(), TP, IL, TL) -> NotImplementedError: "ctc_loss_cpu" not implemented for 'Half'
//   F.ctc_loss(LP[None].half(), TP, IL, TL) -> NotImplementedError: "ctc_loss_cpu" not implemented for 'Half'
#[test]
fn ctc_loss_checks_the_lengths_dtypes_then_the_input_dtype() {
    let check = |lp: &[usize], dtype: &str, lengths: (&str, &str), blank: i64| {
        check_ctc_loss_args(lp, dtype, &[3, 3], &[5, 4, 4], &[3, 2, 3], lengths, blank)
    };
    assert_eq!(
        check(&[5, 3, 4], "Double", ("Int", "Byte"), 0).unwrap(),
        vec![3]
    );
    assert_eq!(
        check_ctc_loss_args(&[5, 4], "Float", &[3], &[5], &[3], ("Long", "Long"), 0).unwrap(),
        Vec::<usize>::new()
    );
    let half = "\"ctc_loss_cpu\" not implemented for 'Half'";
    #[allow(clippy::type_complexity)]
    let cases: &[(&[usize], &str, (&str, &str), i64, ErrorKind, &str)] = &[
        (
            &[5, 3, 4],
            "Half",
            ("Long", "Long"),
            0,
            ErrorKind::NotImplementedError,
            half,
        ),
        (
            &[5, 3, 4],
            "Long",
            ("Long", "Long"),
            9,
            ErrorKind::NotImplementedError,
            "\"ctc_loss_cpu\" not implemented for 'Long'",
        ),
        (
            &[5, 3, 4],
            "Double",
            ("Double", "Long"),
            0,
            ErrorKind::RuntimeError,
            "input_lengths must be integral",
        ),
        (
            &[5, 3, 4],
            "Double",
            ("Long", "Bool"),
            0,
            ErrorKind::RuntimeError,
            "target_lengths must be integral",
        ),
        (
            &[5, 3, 4],
            "Half",
            ("Float", "Bool"),
            0,
            ErrorKind::RuntimeError,
            "input_lengths must be integral",
        ),
        (
            &[],
            "Half",
            ("Long", "Long"),
            0,
            ErrorKind::IndexError,
            "Dimension out of range (expected to be in range of [-1, 0], but got 1)",
        ),
        (
            &[0, 3, 4],
            "Half",
            ("Long", "Long"),
            0,
            ErrorKind::NotImplementedError,
            half,
        ),
        (
            &[1, 5, 3, 4],
            "Half",
            ("Long", "Long"),
            0,
            ErrorKind::NotImplementedError,
            half,
        ),
    ];
    for &(lp, dtype, lengths, blank, kind, message) in cases {
        assert_err(check(lp, dtype, lengths, blank), kind, message);
    }
}
