//! burn as a subject (feature `burn`): what it expresses agrees with libtorch, what it
//! cannot express is declared, a panic costs one case, and the findings of
//! `docs/findings/burn.md` still hold (a finding that stops diverging fails here, so the
//! published table cannot rot when burn fixes one).
#![cfg(all(feature = "burn", feature = "torch"))]

use lossparity::backend::process::failure;
use lossparity::backend::{Backend, BurnBackend, TorchBackend};
use lossparity::case::{Case, Op, Outcome};
use lossparity::compare::{compare, Divergence, Mode};

fn case(json: &str) -> Case {
    Case::from_json(json).unwrap()
}

fn verdict(case: &Case) -> Result<(), Divergence> {
    assert_eq!(BurnBackend.supports(case), Ok(()), "{case:?}");
    compare(
        &TorchBackend.evaluate(case),
        &BurnBackend.evaluate(case),
        Mode::between(case.op.spec().mode, "torch", "burn"),
    )
}

/// The output's values.
fn output(o: &Outcome) -> Vec<f64> {
    match &o.result {
        Ok(c) => c.output.floats().unwrap().to_vec(),
        Err(e) => panic!("{}: {}", e.kind, e.message),
    }
}

/// The gradient with respect to `wrt`.
fn grad(o: &Outcome, wrt: &str) -> Vec<f64> {
    match &o.result {
        Ok(c) => c.grad(wrt).unwrap().floats().unwrap().to_vec(),
        Err(e) => panic!("{}: {}", e.kind, e.message),
    }
}

/// Asserts that burn panics on `json` with a message containing `needle`, and returns
/// libtorch's outcome of it.
fn burn_panics(json: &str, needle: &str) -> Outcome {
    let c = case(json);
    assert_eq!(BurnBackend.supports(&c), Ok(()), "{json}");
    match &BurnBackend.evaluate(&c).result {
        Err(e) => {
            assert_eq!(e.kind, failure::PANIC, "{json}");
            assert!(e.message.contains(needle), "{}", e.message);
        }
        Ok(_) => panic!("burn no longer panics on {json}: update docs/findings/burn.md"),
    }
    TorchBackend.evaluate(&c)
}

/// Both outcomes of a supported case.
fn both(json: &str) -> (Outcome, Outcome) {
    let c = case(json);
    assert_eq!(BurnBackend.supports(&c), Ok(()), "{json}");
    (TorchBackend.evaluate(&c), BurnBackend.evaluate(&c))
}

#[test]
fn burn_agrees_with_libtorch_on_ordinary_cases() {
    for json in [
        r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"dim":1,"grad":true}"#,
        r#"{"op":"softmax","input":{"dtype":"float64","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"dim":-2,"grad":true}"#,
        r#"{"op":"log_softmax","input":{"dtype":"bfloat16","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"dim":1,"grad":true}"#,
        r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"target":{"dtype":"int64","shape":[2],"data":[2,0]},"grad":true}"#,
        r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[3,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5,1.0,1.5,-0.5]},"target":{"dtype":"int64","shape":[3],"data":[2,0,1]},"weight":{"dtype":"float32","shape":[3],"data":[1.0,2.0,0.5]},"label_smoothing":0.25,"ignore_index":1,"grad":true}"#,
        r#"{"op":"cross_entropy","input":{"dtype":"float64","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"target":{"dtype":"float64","shape":[2,3],"data":[0.5,0.25,0.25,0.0,1.0,0.0]},"grad":true,"grad_wrt":["input","target"]}"#,
        r#"{"op":"binary_cross_entropy","input":{"dtype":"float32","shape":[2,2],"data":[0.5,0.125,0.25,0.875]},"target":{"dtype":"float32","shape":[2,2],"data":[0.0,1.0,1.0,0.0]},"weight":{"dtype":"float32","shape":[2],"data":[0.5,2.0]},"grad":true}"#,
        r#"{"op":"binary_cross_entropy_with_logits","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,1.0]},"grad":true}"#,
        r#"{"op":"mse_loss","input":{"dtype":"float64","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float64","shape":[3],"data":[0.0,1.0,2.5]},"reduction":"none","grad":true,"grad_wrt":["input","target"]}"#,
        r#"{"op":"mse_loss","input":{"dtype":"float16","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float16","shape":[3],"data":[0.0,1.0,2.5]},"grad":true}"#,
        r#"{"op":"l1_loss","input":{"dtype":"float32","shape":[2,2],"data":[0.5,-1.0,2.0,3.0]},"target":{"dtype":"float32","shape":[2,2],"data":[0.0,1.0,2.5,2.0]},"reduction":"sum","grad":true}"#,
        r#"{"op":"smooth_l1_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,2.25]},"beta":0.5,"grad":true}"#,
        r#"{"op":"huber_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,2.5]},"delta":0.75,"reduction":"none","grad":true}"#,
        r#"{"op":"soft_margin_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[1.0,-1.0,-1.0]},"grad":true}"#,
        r#"{"op":"kl_div","input":{"dtype":"float64","shape":[2,2],"data":[-0.5,-1.0,-2.0,-0.25]},"target":{"dtype":"float64","shape":[2,2],"data":[0.25,0.75,0.5,0.5]},"reduction":"batchmean","grad":true}"#,
        r#"{"op":"kl_div","input":{"dtype":"float32","shape":[2],"data":[-0.5,-1.0]},"target":{"dtype":"float32","shape":[2],"data":[-1.5,-0.25]},"log_target":true,"reduction":"sum","grad":true,"grad_wrt":["input","target"]}"#,
        r#"{"op":"poisson_nll_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,3.0]},"grad":true}"#,
        r#"{"op":"poisson_nll_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,3.0]},"log_input":false,"full":true,"reduction":"sum","grad":true}"#,
        r#"{"op":"gaussian_nll_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[0.0,1.0,3.0]},"var":{"dtype":"float32","shape":[3],"data":[0.5,1.0,2.0]},"full":true,"grad":true,"grad_wrt":["input","var"]}"#,
        r#"{"op":"hinge_embedding_loss","input":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"target":{"dtype":"float32","shape":[3],"data":[1.0,-1.0,-1.0]},"margin":1.5,"grad":true}"#,
        r#"{"op":"margin_ranking_loss","input1":{"dtype":"float32","shape":[3],"data":[0.5,-1.0,2.0]},"input2":{"dtype":"float32","shape":[3],"data":[0.25,1.0,-2.0]},"target":{"dtype":"float32","shape":[3],"data":[1.0,-1.0,-1.0]},"margin":0.5,"grad":true}"#,
        r#"{"op":"cosine_embedding_loss","input1":{"dtype":"float32","shape":[2,2],"data":[0.5,-1.0,2.0,3.0]},"input2":{"dtype":"float32","shape":[2,2],"data":[1.0,1.0,-2.0,0.5]},"target":{"dtype":"int64","shape":[2],"data":[1,-1]},"margin":-0.25,"reduction":"none","grad":true}"#,
        r#"{"op":"multi_margin_loss","input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"target":{"dtype":"int64","shape":[2],"data":[2,1]},"p":2,"margin":1.5,"grad":true}"#,
        r#"{"op":"triplet_margin_loss","anchor":{"dtype":"float32","shape":[2,2],"data":[0.5,-1.0,2.0,3.0]},"positive":{"dtype":"float32","shape":[2,2],"data":[1.0,1.0,-2.0,0.5]},"negative":{"dtype":"float32","shape":[2,2],"data":[0.0,-1.0,2.5,3.0]},"eps":0.0,"p":1.0,"margin":2.0,"grad":true}"#,
        r#"{"op":"triplet_margin_with_distance_loss","anchor":{"dtype":"float32","shape":[2,2],"data":[0.5,-1.0,2.0,3.0]},"positive":{"dtype":"float32","shape":[2,2],"data":[1.0,1.0,-2.0,0.5]},"negative":{"dtype":"float32","shape":[2,2],"data":[0.0,-1.0,2.5,3.0]},"margin":2.0,"reduction":"sum"}"#,
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[3,1,3],"data":[-0.5,-1.5,-1.5,-1.0,-0.75,-1.75,-2.0,-1.0,-0.5]},"targets":{"dtype":"int64","shape":[1,2],"data":[1,2]},"input_lengths":{"dtype":"int64","shape":[1],"data":[3]},"target_lengths":{"dtype":"int64","shape":[1],"data":[2]}}"#,
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float64","shape":[2,1,2],"data":[-0.5,-0.9,-0.7,-0.7]},"targets":{"dtype":"int64","shape":[1,1],"data":[1]},"input_lengths":{"dtype":"int64","shape":[1],"data":[2]},"target_lengths":{"dtype":"int64","shape":[1],"data":[1]},"reduction":"sum"}"#,
    ] {
        let c = case(json);
        assert_eq!(verdict(&c), Ok(()), "{json}");
    }
}

#[test]
fn burn_declares_what_it_cannot_express() {
    let logits = r#""input":{"dtype":"float32","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]}"#;
    let classes = r#""target":{"dtype":"int64","shape":[2],"data":[2,0]}"#;
    for (json, why) in [
        (
            format!(r#"{{"op":"cross_entropy",{logits},{classes},"reduction":"sum"}}"#),
            "no reduction",
        ),
        (
            format!(
                r#"{{"op":"cross_entropy",{logits},"target":{{"dtype":"int64","shape":[2],"data":[2,-100]}}}}"#
            ),
            "pad_tokens",
        ),
        (
            format!(
                r#"{{"op":"cross_entropy",{logits},{classes},"weight":{{"dtype":"float32","shape":[3],"data":[1.0,2.0,3.0]}},"grad":true,"grad_wrt":["weight"]}}"#
            ),
            "Vec<f32>",
        ),
        (
            format!(r#"{{"op":"nll_loss",{logits},{classes}}}"#),
            "no nll_loss",
        ),
        (
            r#"{"op":"mse_loss","input":{"dtype":"float32","shape":[],"data":[0.5]},"target":{"dtype":"float32","shape":[],"data":[1.0]}}"#.to_string(),
            "0-d",
        ),
        (
            r#"{"op":"mse_loss","input":{"dtype":"float32","shape":[2],"data":[0.5,1.0]},"target":{"dtype":"float32","shape":[1],"data":[1.0]}}"#.to_string(),
            "no broadcasting",
        ),
        (
            r#"{"op":"mse_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float64","shape":[1],"data":[1.0]}}"#.to_string(),
            "does not promote",
        ),
        (
            r#"{"op":"binary_cross_entropy","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[0.25]}}"#.to_string(),
            "Int tensor",
        ),
        (
            r#"{"op":"binary_cross_entropy_with_logits","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[1.0]},"pos_weight":{"dtype":"float32","shape":[1],"data":[2.0]}}"#.to_string(),
            "pos_weight",
        ),
        (
            r#"{"op":"gaussian_nll_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[1.0]},"var":2.0}"#.to_string(),
            "var as a tensor",
        ),
        (
            r#"{"op":"triplet_margin_loss","anchor":{"dtype":"float32","shape":[1,1],"data":[0.5]},"positive":{"dtype":"float32","shape":[1,1],"data":[1.0]},"negative":{"dtype":"float32","shape":[1,1],"data":[2.0]},"swap":true}"#.to_string(),
            "swap",
        ),
        (
            r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[1,2],"data":[-0.5,-0.9]},"targets":{"dtype":"int64","shape":[1],"data":[1]},"input_lengths":{"dtype":"int64","shape":[],"data":[1]},"target_lengths":{"dtype":"int64","shape":[],"data":[1]}}"#.to_string(),
            "3-d log_probs",
        ),
    ] {
        let c = case(&json);
        let answer = BurnBackend.supports(&c);
        assert!(
            matches!(&answer, Err(e) if e.contains(why)),
            "{json}: {answer:?}"
        );
    }
    for name in [
        "linear_cross_entropy",
        "multilabel_soft_margin_loss",
        "multilabel_margin_loss",
    ] {
        let op = Op::named(name).unwrap();
        let c = Case::new(
            op,
            lossparity::case::TensorData::float(
                lossparity::case::DType::Float32,
                vec![1, 1],
                vec![0.5],
            ),
        );
        assert!(BurnBackend.supports(&c).is_err(), "{name}");
    }
}

/// Finding 1. A float64 loss that makes a tensor of its own (the class weights,
/// `targets.float()` of the binary cross entropy, `target_lengths.float()` of the CTC
/// mean) makes it in the device's default float dtype, float32, and the next binary op
/// panics. The same calls in float32 agree with PyTorch.
#[test]
fn finding_float64_losses_mix_in_float32_tensors() {
    for json in [
        r#"{"op":"binary_cross_entropy_with_logits","input":{"dtype":"float64","shape":[2],"data":[0.5,-1.0]},"target":{"dtype":"float64","shape":[2],"data":[0.0,1.0]}}"#,
        r#"{"op":"cross_entropy","input":{"dtype":"float64","shape":[2,3],"data":[0.5,-1.0,2.0,3.0,0.0,-2.5]},"target":{"dtype":"int64","shape":[2],"data":[2,0]},"weight":{"dtype":"float64","shape":[3],"data":[1.0,2.0,3.0]}}"#,
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float64","shape":[2,1,2],"data":[-0.5,-0.9,-0.7,-0.7]},"targets":{"dtype":"int64","shape":[1,1],"data":[1]},"input_lengths":{"dtype":"int64","shape":[1],"data":[2]},"target_lengths":{"dtype":"int64","shape":[1],"data":[1]}}"#,
    ] {
        let torch = burn_panics(json, "binary_op: dtype mismatch");
        assert!(torch.result.is_ok(), "{json}");
        let single = case(&json.replace("float64", "float32"));
        assert_eq!(verdict(&single), Ok(()), "{json}");
    }
}

/// Finding 2. `softmax` and `log_softmax` over a dimension of size 0 panic in burn's
/// max reduction; PyTorch returns an empty tensor.
#[test]
fn finding_empty_inputs_panic() {
    for json in [
        r#"{"op":"softmax","input":{"dtype":"float32","shape":[0],"data":[]},"dim":0}"#,
        r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[2,0],"data":[]},"dim":1}"#,
    ] {
        let torch = burn_panics(json, "has size 0");
        assert!(output(&torch).is_empty());
    }
    // The panic is caught and the next case runs.
    let next = case(
        r#"{"op":"softmax","input":{"dtype":"float32","shape":[2],"data":[0.0,1.0]},"dim":0}"#,
    );
    assert_eq!(verdict(&next), Ok(()));
}

/// Finding 3. burn's configs assert option values PyTorch computes with: `beta = 0`
/// (PyTorch's L1 loss), a negative margin, `eps = 0` (which `log_input=True` never
/// uses), a class weight of 0.
#[test]
fn finding_options_pytorch_takes_panic() {
    for (json, needle) in [
        (
            r#"{"op":"smooth_l1_loss","input":{"dtype":"float32","shape":[2],"data":[0.5,-1.0]},"target":{"dtype":"float32","shape":[2],"data":[0.0,1.0]},"beta":0.0}"#,
            "beta must be positive",
        ),
        (
            r#"{"op":"margin_ranking_loss","input1":{"dtype":"float32","shape":[1],"data":[0.5]},"input2":{"dtype":"float32","shape":[1],"data":[0.25]},"target":{"dtype":"float32","shape":[1],"data":[1.0]},"margin":-0.5}"#,
            "non-negative",
        ),
        (
            r#"{"op":"multi_margin_loss","input":{"dtype":"float32","shape":[1,2],"data":[0.5,-1.0]},"target":{"dtype":"int64","shape":[1],"data":[1]},"margin":-0.5}"#,
            "non-negative",
        ),
        (
            r#"{"op":"poisson_nll_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[2.0]},"eps":0.0}"#,
            "eps for PoissonNllLoss",
        ),
        (
            r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[2,2],"data":[0.5,-1.0,2.0,3.0]},"target":{"dtype":"int64","shape":[2],"data":[1,0]},"weight":{"dtype":"float32","shape":[2],"data":[0.0,1.0]}}"#,
            "have to be positive",
        ),
    ] {
        let torch = burn_panics(json, needle);
        assert!(output(&torch)[0].is_finite(), "{json}");
    }
}

/// Finding 4. burn asserts input values PyTorch computes with: a negative Poisson
/// target, and a CTC input shorter than its target (PyTorch: an infinite loss).
#[test]
fn finding_values_pytorch_takes_panic() {
    let torch = burn_panics(
        r#"{"op":"poisson_nll_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[-0.75]}}"#,
        "must be non-negative",
    );
    assert!(output(&torch)[0].is_finite());
    let torch = burn_panics(
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[2,1,2],"data":[-0.5,-0.9,-0.7,-0.7]},"targets":{"dtype":"int64","shape":[1,2],"data":[1,1]},"input_lengths":{"dtype":"int64","shape":[1],"data":[1]},"target_lengths":{"dtype":"int64","shape":[1],"data":[2]},"reduction":"sum"}"#,
        "must be >= target_lengths",
    );
    assert_eq!(output(&torch), vec![f64::INFINITY]);
}

/// Finding 5. Where both refuse, burn panics and PyTorch raises.
#[test]
fn finding_panics_where_pytorch_raises() {
    for (json, needle) in [
        (
            r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[2],"data":[0.5,1.0]},"dim":1}"#,
            "BoundsError",
        ),
        (
            r#"{"op":"huber_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[0.0]},"delta":-1.0}"#,
            "Delta for Huber loss",
        ),
        (
            r#"{"op":"gaussian_nll_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[0.0]},"var":{"dtype":"float32","shape":[1],"data":[-1.0]}}"#,
            "non-negative variance",
        ),
        (
            r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[1,2],"data":[0.5,-1.0]},"target":{"dtype":"int64","shape":[1],"data":[2]}}"#,
            "out of bounds",
        ),
    ] {
        let torch = burn_panics(json, needle);
        assert!(torch.result.is_err(), "{json}");
    }
}

/// Finding 6. burn computes calls PyTorch refuses: a Huber `delta` of 0.
#[test]
fn finding_accepts_what_pytorch_refuses() {
    let (torch, burn) = both(
        r#"{"op":"huber_loss","input":{"dtype":"float32","shape":[1],"data":[0.5]},"target":{"dtype":"float32","shape":[1],"data":[0.0]},"delta":0.0}"#,
    );
    assert!(torch.result.is_err());
    assert_eq!(output(&burn), vec![0.0]);
}

/// Finding 7. `hinge_embedding_loss` with a target other than 1 or -1: PyTorch adds
/// both branches (`x + max(0, margin - x)`), burn takes the negative one.
#[test]
fn finding_hinge_targets_other_than_plus_minus_one() {
    let (torch, burn) = both(
        r#"{"op":"hinge_embedding_loss","input":{"dtype":"float32","shape":[1],"data":[-1.5]},"target":{"dtype":"float32","shape":[1],"data":[0.0]},"margin":0.5,"reduction":"sum"}"#,
    );
    assert_eq!(output(&torch), vec![0.5]);
    assert_eq!(output(&burn), vec![2.0]);
}

/// Finding 8. `soft_margin_loss` of a large margin violation: PyTorch's
/// `log(1 + exp(-y x))` overflows to inf, burn's softplus returns the exact 3000.
#[test]
fn finding_soft_margin_pytorch_overflows_burn_does_not() {
    let (torch, burn) = both(
        r#"{"op":"soft_margin_loss","input":{"dtype":"float32","shape":[1],"data":[3000.0]},"target":{"dtype":"float32","shape":[1],"data":[-1.0]}}"#,
    );
    assert_eq!(output(&torch), vec![f64::INFINITY]);
    assert_eq!(output(&burn), vec![3000.0]);
}

/// Finding 9. `kl_div` clamps the target into `[min_positive, 1]` before its log: a
/// target above 1 loses its `t log t`, a negative one gives a number where PyTorch
/// gives NaN.
#[test]
fn finding_kl_div_clamps_the_target() {
    let (torch, burn) = both(
        r#"{"op":"kl_div","input":{"dtype":"float32","shape":[2],"data":[-1.25,-4.5]},"target":{"dtype":"float32","shape":[2],"data":[1.75,0.25]},"reduction":"sum"}"#,
    );
    let (t, b) = (output(&torch)[0], output(&burn)[0]);
    assert!((t - 3.945254).abs() < 1e-5, "{t}");
    assert!((b - 2.9659264).abs() < 1e-5, "{b}");
    let (torch, burn) = both(
        r#"{"op":"kl_div","input":{"dtype":"float32","shape":[1],"data":[-4.5]},"target":{"dtype":"float32","shape":[1],"data":[-1.25]},"reduction":"sum"}"#,
    );
    assert!(output(&torch)[0].is_nan());
    assert!(output(&burn)[0].is_finite());
}

/// Finding 10. An infinite residual gives `smooth_l1_loss` and `huber_loss` a NaN
/// gradient (the unselected branch of `mask_where` is `inf * 0`); PyTorch's is ±1 or
/// ±delta.
#[test]
fn finding_infinite_residuals_give_nan_gradients() {
    for (json, expected) in [
        (
            r#"{"op":"smooth_l1_loss","input":{"dtype":"float32","shape":[1],"data":[-1.5]},"target":{"dtype":"float32","shape":[1],"data":["inf"]},"reduction":"none","grad":true}"#,
            -1.0,
        ),
        (
            r#"{"op":"huber_loss","input":{"dtype":"float32","shape":[1],"data":[-1.5]},"target":{"dtype":"float32","shape":[1],"data":["inf"]},"delta":0.5,"reduction":"none","grad":true}"#,
            -0.5,
        ),
    ] {
        let (torch, burn) = both(json);
        assert_eq!(grad(&torch, "input"), vec![expected]);
        assert!(grad(&burn, "input")[0].is_nan(), "{json}");
    }
}

/// Finding 11. A zero vector (`cosine_embedding_loss`) or a zero distance (a triplet
/// whose anchor is its positive) gives NaN gradients; PyTorch's are finite.
#[test]
fn finding_zero_norms_give_nan_gradients() {
    let (torch, burn) = both(
        r#"{"op":"cosine_embedding_loss","input1":{"dtype":"float32","shape":[1,2],"data":[5.5,-1.25]},"input2":{"dtype":"float32","shape":[1,2],"data":[0.0,0.0]},"target":{"dtype":"int64","shape":[1],"data":[1]},"grad":true}"#,
    );
    assert!(grad(&torch, "input2").iter().all(|g| g.is_finite()));
    assert!(grad(&burn, "input2").iter().all(|g| g.is_nan()));
    let (torch, burn) = both(
        r#"{"op":"triplet_margin_loss","anchor":{"dtype":"float32","shape":[1,2],"data":[0.5,-1.0]},"positive":{"dtype":"float32","shape":[1,2],"data":[0.5,-1.0]},"negative":{"dtype":"float32","shape":[1,2],"data":[4.0,3.0]},"grad":true}"#,
    );
    assert_eq!(output(&burn), vec![0.0]);
    assert_eq!(grad(&torch, "anchor"), vec![0.0, 0.0]);
    assert!(grad(&burn, "anchor").iter().all(|g| g.is_nan()));
}

/// Finding 12. `cosine_embedding_loss` of a tiny vector: PyTorch adds 1e-12 to each
/// squared norm, which dominates a norm below 1e-6; burn clamps the norms at the
/// dtype's smallest normal and returns the exact cosine.
#[test]
fn finding_cosine_epsilon_differs() {
    let (torch, burn) = both(
        r#"{"op":"cosine_embedding_loss","input1":{"dtype":"float64","shape":[1,1],"data":[-6.25e-7]},"input2":{"dtype":"float64","shape":[1,1],"data":[-10000.0]},"target":{"dtype":"int64","shape":[1],"data":[1]},"reduction":"none"}"#,
    );
    assert!((output(&torch)[0] - 0.47000105923537416).abs() < 1e-12);
    assert_eq!(output(&burn), vec![0.0]);
}

/// Finding 13. The triplet losses have no `eps`: PyTorch's default distance is
/// `||a - p + 1e-6||`, burn's `||a - p||`.
#[test]
fn finding_triplet_has_no_eps() {
    let json = r#"{"op":"triplet_margin_loss","anchor":{"dtype":"float64","shape":[2,1],"data":[-7.75,-8.25]},"positive":{"dtype":"float64","shape":[2,1],"data":[-2.5,1.5]},"negative":{"dtype":"float64","shape":[2,1],"data":[-10000.0,-9.0]}}"#;
    let (torch, burn) = both(json);
    assert_eq!(output(&burn), vec![5.0]);
    assert!((output(&torch)[0] - 4.999999).abs() < 1e-12);
    // With PyTorch's eps set to 0 the two agree.
    let without_eps = json.replace("-9.0]}}", r#"-9.0]},"eps":0.0}"#);
    assert_eq!(verdict(&case(&without_eps)), Ok(()));
}

/// Finding 14. `gaussian_nll_loss` with `var` below `eps`: PyTorch clamps under
/// `no_grad`, so the gradient still reaches `var`; burn's `clamp_min` blocks it.
#[test]
fn finding_gaussian_var_gradient_is_blocked_below_eps() {
    let (torch, burn) = both(
        r#"{"op":"gaussian_nll_loss","input":{"dtype":"float32","shape":[1],"data":[0.0]},"target":{"dtype":"float32","shape":[1],"data":[3.25]},"var":{"dtype":"float32","shape":[1],"data":[0.0]},"eps":0.1,"reduction":"sum","grad":true,"grad_wrt":["var"]}"#,
    );
    assert_eq!(output(&torch), output(&burn));
    assert_eq!(grad(&torch, "var"), vec![-523.125]);
    assert_eq!(grad(&burn, "var"), vec![0.0]);
}

/// Finding 15. `ctc_loss`: the gradient is the derivative with respect to `log_probs`
/// (`-posterior`) where PyTorch's is `exp(log_probs) - posterior`; the mean divides by
/// a target length of 0 (PyTorch clamps it to 1); a target containing the blank
/// gives another loss.
#[test]
fn finding_ctc_differs_from_pytorch() {
    let (torch, burn) = both(
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[2,1,2],"data":[-0.5,-0.9,-0.7,-0.7]},"targets":{"dtype":"int64","shape":[1,1],"data":[1]},"input_lengths":{"dtype":"int64","shape":[1],"data":[2]},"target_lengths":{"dtype":"int64","shape":[1],"data":[1]},"grad":true}"#,
    );
    assert_eq!(output(&torch), output(&burn));
    let exp_lp = [-0.5f64, -0.9, -0.7, -0.7].map(|x| x.exp());
    for ((t, b), e) in grad(&torch, "log_probs")
        .iter()
        .zip(grad(&burn, "log_probs"))
        .zip(exp_lp)
    {
        assert!((t - (b + e)).abs() < 1e-6, "{t} {b} {e}");
    }
    let (torch, burn) = both(
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[1,1,2],"data":[-0.5,-0.9]},"targets":{"dtype":"int64","shape":[1,1],"data":[1]},"input_lengths":{"dtype":"int64","shape":[1],"data":[1]},"target_lengths":{"dtype":"int64","shape":[1],"data":[0]}}"#,
    );
    assert_eq!(output(&torch), vec![0.5]);
    assert_eq!(output(&burn), vec![f64::INFINITY]);
    let d = verdict(&case(
        r#"{"op":"ctc_loss","log_probs":{"dtype":"float32","shape":[3,1,2],"data":[-0.5,-0.9,-0.7,-0.7,-1.0,-0.5]},"targets":{"dtype":"int64","shape":[1,2],"data":[1,0]},"input_lengths":{"dtype":"int64","shape":[1],"data":[3]},"target_lengths":{"dtype":"int64","shape":[1],"data":[2]},"reduction":"none"}"#,
    ));
    assert!(matches!(d, Err(Divergence::Value { .. })), "{d:?}");
}

/// Finding 16. At the hinge (`-y (x1 - x2) + margin = 0`) PyTorch's `clamp_min` passes
/// the gradient and burn's `relu` does not.
#[test]
fn finding_subgradient_at_the_hinge() {
    let (torch, burn) = both(
        r#"{"op":"margin_ranking_loss","input1":{"dtype":"float32","shape":[1],"data":[-8.875]},"input2":{"dtype":"float32","shape":[1],"data":[0.0]},"target":{"dtype":"float32","shape":[1],"data":[0.0]},"reduction":"none","grad":true,"grad_wrt":["target"]}"#,
    );
    assert_eq!(grad(&torch, "target"), vec![8.875]);
    assert_eq!(grad(&burn, "target"), vec![0.0]);
}

/// Finding 17. A target equal to an `ignore_index` outside the classes: PyTorch ignores
/// it, burn's `pad_tokens` mask it but its `gather` still reads it and panics.
#[test]
fn finding_pad_token_outside_the_classes_panics() {
    let torch = burn_panics(
        r#"{"op":"cross_entropy","input":{"dtype":"float32","shape":[2,2],"data":[0.5,-1.0,2.0,3.0]},"target":{"dtype":"int64","shape":[2],"data":[0,3]},"ignore_index":3}"#,
        "index 3 out of bounds",
    );
    assert!(output(&torch)[0].is_finite());
}

/// Finding 18. `multi_margin_loss` sums over every class and subtracts the target's
/// `margin^p` instead of skipping it: an infinite score at the target class gives NaN
/// (`inf - inf`) where PyTorch gives 0.
#[test]
fn finding_multi_margin_subtracts_the_target_term() {
    let (torch, burn) = both(
        r#"{"op":"multi_margin_loss","input":{"dtype":"float32","shape":[1,2],"data":["inf",-5.5]},"target":{"dtype":"int64","shape":[1],"data":[0]},"margin":0.0}"#,
    );
    assert_eq!(output(&torch), vec![0.0]);
    assert!(output(&burn)[0].is_nan());
}

#[test]
fn every_op_burn_names_is_an_op_of_the_registry() {
    for name in [
        "log_softmax",
        "softmax",
        "cross_entropy",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "mse_loss",
        "l1_loss",
        "smooth_l1_loss",
        "huber_loss",
        "soft_margin_loss",
        "kl_div",
        "poisson_nll_loss",
        "gaussian_nll_loss",
        "hinge_embedding_loss",
        "margin_ranking_loss",
        "cosine_embedding_loss",
        "multi_margin_loss",
        "triplet_margin_loss",
        "triplet_margin_with_distance_loss",
        "ctc_loss",
    ] {
        assert!(Op::named(name).is_some(), "{name}");
    }
}
