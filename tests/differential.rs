//! The first differential test: fixed cases covering every layout, option and error of
//! the losses, run through libtorch and through the Rust losses, compared under the
//! tolerance policy (nll_loss bit for bit). The fuzzing harness builds on this.
#![cfg(feature = "torch")]

use lossparity::backend::{Backend, RustBackend, TorchBackend};
use lossparity::case::{Case, DType, Op, TensorData};
use lossparity::compare::compare;
use lossparity::losses::Reduction;

/// A small deterministic generator (SplitMix64), so every run sees the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn floats(rng: &mut Rng, dtype: DType, shape: &[usize], lo: f64, hi: f64) -> TensorData {
    let n = shape.iter().product();
    let mut v: Vec<f64> = (0..n).map(|_| rng.uniform(lo, hi)).collect();
    if dtype == DType::Float32 {
        v.iter_mut().for_each(|x| *x = *x as f32 as f64);
    }
    TensorData::float(dtype, shape.to_vec(), v)
}

fn targets(rng: &mut Rng, shape: &[usize], classes: usize, ignore: Option<i64>) -> TensorData {
    let n = shape.iter().product();
    let v = (0..n)
        .map(|_| match ignore {
            Some(ii) if rng.below(4) == 0 => ii,
            _ => rng.below(classes.max(1) as u64) as i64,
        })
        .collect();
    TensorData::int(DType::Int64, shape.to_vec(), v)
}

/// Input layouts: `(C)`, `(N, C)`, and K-dimensional up to 5-D, plus empty ones.
const LAYOUTS: &[&[usize]] = &[
    &[5],
    &[4, 3],
    &[7, 1],
    &[3, 4, 2],
    &[2, 3, 2, 3],
    &[2, 3, 2, 1, 2],
    &[0, 3],
    &[2, 3, 0],
];

fn target_shape(input: &[usize]) -> Vec<usize> {
    match input.len() {
        1 => vec![],
        _ => std::iter::once(input[0])
            .chain(input[2..].iter().copied())
            .collect(),
    }
}

fn value_cases() -> Vec<Case> {
    let mut rng = Rng(2013);
    let mut cases = Vec::new();
    for dtype in [DType::Float32, DType::Float64] {
        for layout in LAYOUTS {
            let classes = if layout.len() == 1 {
                layout[0]
            } else {
                layout[1]
            };
            for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
                for (weighted, ignore, smoothing) in [
                    (false, None, 0.0),
                    (true, Some(-100), 0.0),
                    (true, Some(1), 0.25),
                    (false, Some(-1), 1.0),
                    (true, None, -0.5),
                ] {
                    for op in [Op::NLL_LOSS, Op::CROSS_ENTROPY] {
                        if op == Op::NLL_LOSS && smoothing != 0.0 {
                            continue;
                        }
                        let input = if op == Op::NLL_LOSS {
                            floats(&mut rng, dtype, layout, -6.0, 0.0)
                        } else {
                            floats(&mut rng, dtype, layout, -8.0, 8.0)
                        };
                        let mut case = Case::new(op, input);
                        case.set_tensor(
                            "target",
                            Some(targets(&mut rng, &target_shape(layout), classes, ignore)),
                        );
                        case.set_arg("ignore_index", ignore.unwrap_or(-100));
                        if weighted {
                            case.set_tensor(
                                "weight",
                                Some(floats(&mut rng, dtype, &[classes], -0.5, 2.0)),
                            );
                        }
                        case.set_arg("reduction", reduction);
                        if op == Op::CROSS_ENTROPY {
                            case.set_arg("label_smoothing", smoothing);
                        }
                        case.grad = true;
                        if reduction == Reduction::None {
                            let out_shape = target_shape(layout);
                            case.grad_output = Some(floats(&mut rng, dtype, &out_shape, -1.0, 1.0));
                        }
                        cases.push(case);
                    }
                }
            }
            // Probability targets of the input's shape, normalised or not.
            for (reduction, smoothing, weighted) in [
                (Reduction::Mean, 0.0, false),
                (Reduction::Sum, 0.3, true),
                (Reduction::None, 0.0, true),
            ] {
                let mut case = Case::new(
                    Op::CROSS_ENTROPY,
                    floats(&mut rng, dtype, layout, -5.0, 5.0),
                );
                case.set_tensor("target", Some(floats(&mut rng, dtype, layout, 0.0, 1.0)));
                case.set_arg("reduction", reduction);
                case.set_arg("label_smoothing", smoothing);
                if weighted {
                    case.set_tensor(
                        "weight",
                        Some(floats(&mut rng, dtype, &[classes], 0.0, 2.0)),
                    );
                }
                case.grad = true;
                if reduction == Reduction::None {
                    let out_shape = target_shape(layout);
                    case.grad_output = Some(floats(&mut rng, dtype, &out_shape, -1.0, 1.0));
                }
                cases.push(case);
            }
            for op in [Op::LOG_SOFTMAX, Op::SOFTMAX] {
                for dim in [0i64, -1, 1] {
                    let mut case = Case::new(op, floats(&mut rng, dtype, layout, -20.0, 20.0));
                    case.set_arg("dim", dim);
                    case.grad = true;
                    case.grad_output = Some(floats(&mut rng, dtype, layout, -1.0, 1.0));
                    cases.push(case);
                }
            }
        }
    }
    cases
}

fn json_cases(lines: &str) -> Vec<Case> {
    lines
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Case::from_json(l).unwrap_or_else(|e| panic!("bad fixture {l}: {e}")))
        .collect()
}

/// Edge and error cases, one per rule of PYTORCH_SEMANTICS.md.
fn edge_cases() -> Vec<Case> {
    let f =
        |shape: &str, data: &str| format!(r#"{{"dtype":"float32","shape":{shape},"data":{data}}}"#);
    let l =
        |shape: &str, data: &str| format!(r#"{{"dtype":"int64","shape":{shape},"data":{data}}}"#);
    let x23 = f("[2,3]", "[0.5,-1.0,2.0,0.0,1.5,-0.5]");
    let x2345 = f("[2,3,4,5]", &format!("[{}]", vec!["0.25"; 120].join(",")));
    let lines = [
        // 0-D input, batch mismatch, 1-D input with a batch of targets.
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{}}}"#,
            f("[]", "[1.0]"),
            l("[]", "[0]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{}}}"#,
            l("[3]", "[0,1,2]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{}}}"#,
            f("[5]", "[1,2,3,4,5]"),
            l("[3]", "[1,0,0]")
        ),
        // 1-D input, (1) target: forward works, backward raises.
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{},"grad":true}}"#,
            f("[5]", "[1,2,3,4,5]"),
            l("[1]", "[1]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{},"label_smoothing":0.1}}"#,
            f("[5]", "[1,2,3,4,5]"),
            l("[1]", "[1]")
        ),
        // multi-target, float target, wrong weight shapes.
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{}}}"#,
            l("[2,3]", "[1,0,0,0,1,0]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{}}}"#,
            f("[2]", "[0.0,1.0]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{},"weight":{}}}"#,
            l("[2]", "[0,1]"),
            f("[2]", "[1,1]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"weight":{}}}"#,
            f("[2,3]", "[1,0,0,0,1,0]"),
            f("[2]", "[1,1]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{}}}"#,
            l("[2,3]", "[1,0,0,0,1,0]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"ignore_index":1}}"#,
            f("[2,3]", "[1,0,0,0,1,0]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"label_smoothing":1.5}}"#,
            l("[2]", "[0,1]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"label_smoothing":1.5}}"#,
            f("[2,3]", "[1,0,0,0,1,0]")
        ),
        // K-dimensional shape errors.
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{}}}"#,
            f("[2,3,5]", &format!("[{}]", vec!["0.5"; 30].join(","))),
            l("[2,4]", "[0,0,0,0,0,0,0,0]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x2345},"target":{}}}"#,
            l("[2,4,4]", &format!("[{}]", vec!["0"; 32].join(",")))
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x2345},"target":{}}}"#,
            l("[2,4]", "[0,0,0,0,0,0,0,0]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x2345},"target":{},"weight":{}}}"#,
            l("[2,4,5]", &format!("[{}]", vec!["0"; 40].join(","))),
            f("[2]", "[1,1]")
        ),
        // uint8 targets: accepted on 2-D, rejected on the spatial path unless empty and reduced.
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{{"dtype":"uint8","shape":[2],"data":[2,0]}},"grad":true}}"#
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x2345},"target":{{"dtype":"uint8","shape":[2,4,5],"data":[{}]}}}}"#,
            vec!["1"; 40].join(",")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{{"dtype":"uint8","shape":[0,4,5],"data":[]}}}}"#,
            f("[0,3,4,5]", "[]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{{"dtype":"uint8","shape":[0,4,5],"data":[]}},"reduction":"none"}}"#,
            f("[0,3,4,5]", "[]")
        ),
        // out of bounds, negative, ignored out-of-range index.
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{}}}"#,
            l("[2]", "[0,3]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"reduction":"none"}}"#,
            l("[2]", "[-1,0]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{},"ignore_index":7,"grad":true}}"#,
            l("[2]", "[7,7]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"label_smoothing":0.2}}"#,
            l("[2]", "[0,5]")
        ),
        // dtype mismatch of the weight; integer input.
        format!(
            r#"{{"op":"nll_loss","input":{x23},"target":{},"weight":{{"dtype":"float64","shape":[3],"data":[1,1,1]}}}}"#,
            l("[2]", "[0,1]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{x23},"target":{},"weight":{{"dtype":"float64","shape":[3],"data":[1,1,1]}},"label_smoothing":0.3}}"#,
            l("[2]", "[0,1]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{}}}"#,
            l("[1,2]", "[1,2]"),
            l("[1]", "[0]")
        ),
        format!(
            r#"{{"op":"log_softmax","input":{},"dim":0}}"#,
            l("[2]", "[1,2]")
        ),
        // dims.
        format!(r#"{{"op":"log_softmax","input":{x23},"dim":2}}"#),
        format!(r#"{{"op":"softmax","input":{},"dim":1}}"#, f("[]", "[2.0]")),
        format!(
            r#"{{"op":"log_softmax","input":{},"dim":-1,"grad":true}}"#,
            f("[]", "[2.0]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{}}}"#,
            f("[]", "[2.0]"),
            l("[1]", "[0]")
        ),
        // non-finite logits.
        format!(
            r#"{{"op":"log_softmax","input":{},"dim":1,"grad":true}}"#,
            f(
                "[3,3]",
                r#"[1.0,"inf",2.0,"-inf","-inf","-inf","nan",0.0,1.0]"#
            )
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{},"reduction":"none","grad":true}}"#,
            f("[2,3]", r#"[1e4,-1e4,0.0,"-inf",0.0,1.0]"#),
            l("[2]", "[1,0]")
        ),
        // empty batches and zero-class inputs.
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{},"grad":true}}"#,
            f("[0,3]", "[]"),
            f("[0,3]", "[]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{},"label_smoothing":0.1,"grad":true}}"#,
            f("[0,3]", "[]"),
            l("[0]", "[]")
        ),
        format!(
            r#"{{"op":"nll_loss","input":{},"target":{}}}"#,
            f("[2,0]", "[]"),
            l("[2]", "[0,0]")
        ),
        format!(
            r#"{{"op":"cross_entropy","input":{},"target":{},"grad":true}}"#,
            f("[2,0]", "[]"),
            l("[2]", "[-100,-100]")
        ),
    ];
    json_cases(&lines.join("\n"))
}

fn check_all(cases: &[Case]) -> usize {
    let (torch, rust) = (TorchBackend, RustBackend::default());
    let mut failures = Vec::new();
    for case in cases {
        let expected = torch.evaluate(case);
        let actual = rust.evaluate(case);
        let mode = case.op.spec().mode;
        if let Err(d) = compare(&expected, &actual, mode) {
            failures.push(format!(
                "{d}\n  case:  {}\n  torch: {}\n  rust:  {}",
                case.to_json(),
                expected.to_json(),
                actual.to_json()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases diverge:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn every_layout_reduction_and_option_matches_libtorch() {
    let n = check_all(&value_cases());
    assert!(n > 300, "only {n} cases");
}

#[test]
fn edge_cases_and_errors_match_libtorch() {
    check_all(&edge_cases());
}

#[test]
fn the_shipped_example_cases_match_libtorch() {
    let text = include_str!("../cases/examples.jsonl");
    let cases: Vec<Case> = text
        .lines()
        .filter_map(|l| Case::from_json(l).ok())
        .collect();
    assert!(cases.len() >= 10);
    check_all(&cases);
}
