//! candle as a subject (feature `candle`): what it expresses agrees with libtorch,
//! what it cannot express is declared, a panic costs one case, and the findings of
//! `docs/findings/candle.md` still hold (a finding that stops diverging fails here, so
//! the published table cannot rot when candle fixes one).
#![cfg(all(feature = "candle", feature = "torch"))]

use lossparity::backend::process::failure;
use lossparity::backend::{Backend, CandleBackend, TorchBackend};
use lossparity::case::{Case, Op, Outcome};
use lossparity::compare::{compare, Divergence, Mode};

fn case(json: &str) -> Case {
    Case::from_json(json).unwrap()
}

fn verdict(case: &Case) -> Result<(), Divergence> {
    assert_eq!(CandleBackend.supports(case), Ok(()), "{case:?}");
    compare(
        &TorchBackend.evaluate(case),
        &CandleBackend.evaluate(case),
        Mode::between(case.op.spec().mode, "torch", "candle"),
    )
}

#[test]
fn candle_agrees_with_libtorch_on_ordinary_cases() {
    for json in [
        r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"dim":1,"grad":true}"#,
        r#"{"op":"softmax","input":{"dtype":"float64","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"dim":0,"grad":true}"#,
        r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"target":{"dtype":"int64","shape":[2],"data":[2,0]},"grad":true}"#,
        r#"{"op":"nll_loss","input":{"dtype":"float64","shape":[2,3],"data":[-0.5,-1.0,-2.0,-3.0,-0.1,-2.5]},"target":{"dtype":"int64","shape":[2],"data":[1,1]},"grad":true}"#,
        r#"{"op":"mse_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,2.5]},"grad":true,"grad_wrt":["input","target"]}"#,
        r#"{"op":"huber_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,2.5]},"delta":0.75,"grad":true}"#,
        r#"{"op":"binary_cross_entropy_with_logits","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,0.25]},"grad":true}"#,
    ] {
        let c = case(json);
        assert_eq!(verdict(&c), Ok(()), "{json}");
    }
}

#[test]
fn candle_declares_what_it_cannot_express() {
    let base = r#""input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"target":{"dtype":"int64","shape":[2],"data":[2,0]}"#;
    for (extra, why) in [
        (r#","reduction":"sum""#, "mean only"),
        (
            r#","weight":{"dtype":"float32","shape":[3],"data":[1.0,2.0,3.0]}"#,
            "class weights",
        ),
        (r#","label_smoothing":0.1"#, "label smoothing"),
        (r#","ignore_index":2"#, "ignore_index"),
    ] {
        let c = case(&format!(r#"{{"op":"cross_entropy",{base}{extra}}}"#));
        let answer = CandleBackend.supports(&c);
        assert!(
            matches!(&answer, Err(e) if e.contains(why)),
            "{extra}: {answer:?}"
        );
    }
    let c = case(
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[1,1,2],"data":[-0.5,-0.9]},"targets":{"dtype":"int64","shape":[1,1],"data":[1]},"input_lengths":{"dtype":"int64","shape":[1],"data":[1]},"target_lengths":{"dtype":"int64","shape":[1],"data":[1]}}"#,
    );
    assert!(CandleBackend.supports(&c).is_err());
    // A target equal to the default ignore_index is one PyTorch skips.
    let c = case(&format!(
        r#"{{"op":"nll_loss",{}}}"#,
        base.replace("[2,0]", "[2,-100]")
    ));
    assert!(CandleBackend.supports(&c).is_err());
}

/// `softmax` of an empty input: candle's `softmax_last_dim` panics ("chunk_size must not
/// be zero"), PyTorch returns an empty tensor. The panic is caught and reported, and the
/// next case runs.
#[test]
fn finding_softmax_last_dim_panics_on_an_empty_input() {
    let empty =
        case(r#"{"op":"softmax","input":{"dtype":"float32","shape":[0],"data":[]},"dim":0}"#);
    let outcome = CandleBackend.evaluate(&empty);
    match &outcome.result {
        Err(e) => {
            assert_eq!(e.kind, failure::PANIC);
            assert!(
                e.message.contains("chunk_size must not be zero"),
                "{}",
                e.message
            );
        }
        Ok(_) => panic!("candle no longer panics: update docs/findings/candle.md"),
    }
    let d = verdict(&empty).unwrap_err();
    assert_eq!(d.subject_failure(), Some(failure::PANIC));
    let next = case(
        r#"{"op":"softmax","input":{"dtype":"float32","shape":[2],"data":[0.0,1.0]},"dim":0}"#,
    );
    assert_eq!(verdict(&next), Ok(()));
}

/// `log_softmax` / `softmax` of an input with a zero-size dimension: candle raises
/// "empty tensor for reduce", PyTorch returns an empty tensor.
#[test]
fn finding_empty_inputs_raise() {
    let c =
        case(r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[0,3],"data":[]},"dim":1}"#);
    let d = verdict(&c).unwrap_err();
    assert!(d.to_string().contains("empty tensor for reduce"), "{d}");
}

/// candle's `binary_cross_entropy_with_logit` takes the log of the sigmoid: a logit of
/// -3000 with target 1 gives an infinite loss where PyTorch's stable form gives 3000.
#[test]
fn finding_bce_with_logits_overflows_on_large_logits() {
    let c = case(
        r#"{"op":"binary_cross_entropy_with_logits","input":{"dtype":"float32","shape":[],"data":[-3000.0]},"target":{"dtype":"float32","shape":[],"data":[1.0]}}"#,
    );
    let torch = TorchBackend.evaluate(&c);
    let candle = CandleBackend.evaluate(&c);
    let value = |o: &Outcome| o.result.as_ref().unwrap().output.floats().unwrap()[0];
    assert_eq!(value(&torch), 3000.0);
    assert!(value(&candle).is_infinite(), "{}", candle.to_json());
}

/// `softmax_last_dim` has no backward (candle's `apply_op1_no_bwd`): the gradient of a
/// softmax over the last dimension is silently zero.
#[test]
fn finding_softmax_last_dim_has_no_gradient() {
    let c = case(
        r#"{"op":"softmax","input":{"dtype":"float32","shape":[2],"data":[6.0,0.25]},"dim":0,"grad":true,"grad_output":{"dtype":"float32","shape":[2],"data":[0.5,1.5]}}"#,
    );
    let candle = CandleBackend.evaluate(&c);
    let grad = candle.result.as_ref().unwrap().grad("input").unwrap();
    assert_eq!(grad.floats().unwrap(), &[0.0, 0.0]);
    assert!(matches!(verdict(&c), Err(Divergence::Value { .. })));
    // Over another dimension candle's softmax is differentiable and agrees.
    let c = case(
        r#"{"op":"softmax","input":{"dtype":"float32","shape":[2,1],"data":[6.0,0.25]},"dim":0,"grad":true}"#,
    );
    assert_eq!(verdict(&c), Ok(()));
}

/// `huber_loss` with a non-positive `delta`: PyTorch refuses it, candle computes.
#[test]
fn finding_huber_accepts_a_non_positive_delta() {
    let c = case(
        r#"{"op":"huber_loss","input":{"dtype":"float32","shape":[2],"data":[0.5,-1.0]},"target":{"dtype":"float32","shape":[2],"data":[0.0,1.0]},"delta":-1.0}"#,
    );
    let d = verdict(&c).unwrap_err();
    assert!(d.to_string().contains("only torch raised"), "{d}");
}

#[test]
fn every_op_candle_names_is_an_op_of_the_registry() {
    for name in [
        "log_softmax",
        "softmax",
        "cross_entropy",
        "nll_loss",
        "binary_cross_entropy_with_logits",
        "mse_loss",
        "huber_loss",
    ] {
        assert!(Op::named(name).is_some(), "{name}");
    }
}
