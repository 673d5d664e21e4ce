//! The divergence report: a seed gives the same `report.json` byte for byte, the shards
//! of a run merge into the whole run's report, `divergences.jsonl` replays as cases, and
//! the higher-precision reference agrees with libtorch and beats f64 where f64 is off.
#![cfg(feature = "torch")]

use std::path::{Path, PathBuf};

use lossparity::backend::{Backend, RustBackend, TorchBackend};
use lossparity::case::{Case, Computed, DType, Op, Outcome, TensorData, Values};
use lossparity::compare::Tolerance;
use lossparity::losses::Reduction;
use lossparity::reference;
use lossparity::report::{self, assess, DivergenceClass, ReportOptions, Shard, WhoIsRight};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lossparity-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(seed: u64, cases: u64, ops: &[Op], shard: Option<Shard>, out: &Path) -> ReportOptions {
    ReportOptions {
        seed,
        cases,
        ops: ops.to_vec(),
        dtypes: vec![DType::Float32, DType::Float64],
        shard,
        out: out.to_path_buf(),
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn the_same_seed_gives_a_byte_identical_report_json() {
    let (a, b) = (scratch("same-a"), scratch("same-b"));
    report::run(&options(3, 300, &Op::all().collect::<Vec<_>>(), None, &a)).unwrap();
    report::run(&options(3, 300, &Op::all().collect::<Vec<_>>(), None, &b)).unwrap();
    assert_eq!(read(&a, "report.json"), read(&b, "report.json"));
    assert!(read(&a, "report.json").contains("\"cases\": 300"));
    let c = scratch("same-c");
    report::run(&options(4, 300, &Op::all().collect::<Vec<_>>(), None, &c)).unwrap();
    assert_ne!(read(&a, "report.json"), read(&c, "report.json"));
    for dir in [a, b, c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Seed 16 draws, among its first 300 loss cases, one that diverges (a known
/// divergence), so the merge of divergences and repro scripts is exercised too.
const LOSS_OPS: [Op; 2] = [Op::NLL_LOSS, Op::CROSS_ENTROPY];

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let whole = scratch("whole");
    let summary = report::run(&options(16, 300, &LOSS_OPS, None, &whole)).unwrap();
    assert!(
        summary.totals.known + summary.totals.diverge > 0,
        "seed 16 no longer draws a divergence in 300 cases; pick a seed that does"
    );
    let shards: Vec<PathBuf> = (0..2)
        .map(|i| {
            let dir = scratch(&format!("shard{i}"));
            let shard = Shard { index: i, count: 2 };
            report::run(&options(16, 300, &LOSS_OPS, Some(shard), &dir)).unwrap();
            dir
        })
        .collect();
    assert_ne!(read(&shards[0], "report.json"), read(&whole, "report.json"));
    let merged = scratch("merged");
    let merged_summary = report::merge(&merged, &[shards[1].clone(), shards[0].clone()]).unwrap();
    assert_eq!(merged_summary, summary);
    for file in ["report.json", "divergences.jsonl"] {
        assert_eq!(read(&merged, file), read(&whole, file), "{file} differs");
    }
    let scripts = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("repro"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert!(!scripts(&whole).is_empty());
    assert_eq!(scripts(&merged), scripts(&whole));
    for name in scripts(&whole) {
        let file = format!("repro/{name}");
        assert_eq!(read(&merged, &file), read(&whole, &file));
    }
    assert!(report::merge(&scratch("partial"), &shards[..1]).is_err());
    for dir in shards.into_iter().chain([whole, merged]) {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn divergences_jsonl_lines_are_cases_that_still_diverge() {
    let dir = scratch("jsonl");
    report::run(&options(16, 300, &LOSS_OPS, None, &dir)).unwrap();
    let text = read(&dir, "divergences.jsonl");
    assert!(text.lines().count() > 0);
    for line in text.lines() {
        let case = Case::from_json(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let index: u64 = case.id.as_deref().unwrap()["case-".len()..]
            .parse()
            .unwrap();
        let torch = TorchBackend.evaluate(&case);
        let rust = RustBackend::default().evaluate(&case);
        let a = assess(index, &case, &torch, &rust);
        assert!(a.divergence.is_some(), "{line} no longer diverges");
        let script = read(&dir, &format!("repro/case-{index}.py"));
        assert!(script.contains("import torch") && script.contains("recorded"));
    }
    let _ = std::fs::remove_dir_all(dir);
}

fn f64_case(op: Op, shape: Vec<usize>, values: Vec<f64>) -> Case {
    Case::new(op, TensorData::float(DType::Float64, shape, values))
}

fn hand_cases() -> Vec<Case> {
    let logits = vec![
        1.0, -2.5, 0.25, 3.0, 7.5, -1.0, 0.0, 2.0, -3.0, 1.5, 0.5, -0.75,
    ];
    let mut cases = Vec::new();
    for op in [Op::LOG_SOFTMAX, Op::SOFTMAX] {
        let mut c = f64_case(op, vec![3, 4], logits.clone());
        c.set_arg("dim", 1);
        c.grad = true;
        c.grad_output = Some(TensorData::float(
            DType::Float64,
            vec![3, 4],
            (0..12).map(|i| i as f64 / 7.0 - 0.8).collect(),
        ));
        cases.push(c);
    }
    for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
        let mut c = f64_case(Op::NLL_LOSS, vec![3, 4], logits.clone());
        c.set_tensor(
            "target",
            Some(TensorData::int(DType::Int64, vec![3], vec![2, -100, 0])),
        );
        c.set_tensor(
            "weight",
            Some(TensorData::float(
                DType::Float64,
                vec![4],
                vec![0.5, 2.0, 1.5, 1.0],
            )),
        );
        c.set_arg("reduction", reduction);
        c.grad = true;
        cases.push(c);

        let mut c = f64_case(Op::CROSS_ENTROPY, vec![2, 3, 2], logits.clone());
        c.set_tensor(
            "target",
            Some(TensorData::int(DType::Int64, vec![2, 2], vec![0, 2, 1, 1])),
        );
        c.set_tensor(
            "weight",
            Some(TensorData::float(
                DType::Float64,
                vec![3],
                vec![0.3, 1.0, 2.5],
            )),
        );
        c.set_arg("label_smoothing", 0.2);
        c.set_arg("reduction", reduction);
        c.grad = true;
        cases.push(c);

        let mut c = f64_case(Op::CROSS_ENTROPY, vec![3, 4], logits.clone());
        let probs: Vec<f64> = (0..12).map(|i| ((i * 5) % 7) as f64 / 10.0).collect();
        c.set_tensor(
            "target",
            Some(TensorData::float(DType::Float64, vec![3, 4], probs)),
        );
        c.set_arg("label_smoothing", 0.1);
        c.set_arg("reduction", reduction);
        c.set_tensor(
            "weight",
            Some(TensorData::float(
                DType::Float64,
                vec![4],
                vec![0.3, 1.0, 2.5, -0.5],
            )),
        );
        c.grad = true;
        c.grad_wrt = Some(vec!["input", "target", "weight"]);
        cases.push(c);
    }
    cases
}

fn floats(t: &TensorData) -> &[f64] {
    match &t.values {
        Values::Float(v) => v,
        Values::Int(_) => panic!("not a float tensor"),
    }
}

#[test]
fn the_reference_agrees_with_libtorch_within_policy_on_hand_cases() {
    let tol = Tolerance::for_dtype(DType::Float64);
    for case in hand_cases() {
        let exact = reference::evaluate(&case).expect("a valid case has a reference");
        let Ok(torch) = TorchBackend.evaluate(&case).result else {
            panic!("libtorch rejects {}", case.to_json());
        };
        let mut pairs = vec![(floats(&torch.output), &exact.output.values)];
        for wrt in case.grad_wrt() {
            let computed = torch.grad(wrt).expect("libtorch's gradient");
            let reference = exact.grad(wrt).expect("the reference's gradient");
            pairs.push((floats(computed), &reference.values));
        }
        assert_eq!(pairs.len(), 1 + case.grad_wrt().len());
        for (t, e) in pairs {
            assert_eq!(t.len(), e.len(), "{}", case.to_json());
            for (&t, &e) in t.iter().zip(e.iter()) {
                assert!(
                    tol.accepts(t, e),
                    "torch {t} vs reference {e}: {}",
                    case.to_json()
                );
            }
        }
    }
}

#[test]
fn the_reference_is_exact_where_f64_arithmetic_is_not() {
    // log_softmax([0, -40])[0] = -log(1 + e^-40) = -4.2483542552915889863e-18 (mpmath);
    // f64 arithmetic gives 1 + e^-40 == 1, hence 0.
    let exact = -4.248_354_255_291_589e-18;
    let mut case = f64_case(Op::LOG_SOFTMAX, vec![2], vec![0.0, -40.0]);
    case.set_arg("dim", 0);
    let reference = reference::evaluate(&case).unwrap().output.values[0];
    let value = |o: Outcome| floats(&o.result.unwrap().output)[0];
    let rust = value(RustBackend::default().evaluate(&case));
    let torch = value(TorchBackend.evaluate(&case));
    assert_eq!(reference, exact);
    assert!((reference - exact).abs() <= (rust - exact).abs());
    assert!((reference - exact).abs() <= (torch - exact).abs());

    // softmax([1, 2, 3]), correctly rounded (mpmath); libtorch is off by an ULP here.
    let mut case = f64_case(Op::SOFTMAX, vec![3], vec![1.0, 2.0, 3.0]);
    case.set_arg("dim", 0);
    let reference = reference::evaluate(&case).unwrap().output.values;
    assert_eq!(
        reference,
        vec![0.09003057317038046, 0.24472847105479764, 0.6652409557748219]
    );
}

/// An outcome with the output's element `at` moved by `by`.
fn nudged(outcome: &Outcome, at: usize, by: f64) -> Outcome {
    let mut o = outcome.clone();
    if let Ok(Computed { output, .. }) = &mut o.result {
        if let Values::Float(v) = &mut output.values {
            v[at] += by;
        }
    }
    o
}

#[test]
fn a_value_divergence_is_blamed_on_the_side_farther_from_the_reference() {
    let mut case = f64_case(Op::SOFTMAX, vec![4], vec![0.5, -1.0, 2.0, 0.0]);
    case.set_arg("dim", 0);
    let torch = TorchBackend.evaluate(&case);
    let off = nudged(&torch, 2, 1e-4);
    let class = |t: &Outcome, r: &Outcome| assess(0, &case, t, r).divergence.map(|(c, _)| c);
    assert_eq!(
        class(&torch, &off),
        Some(DivergenceClass::Value(WhoIsRight::LibtorchCloser))
    );
    assert_eq!(
        class(&off, &torch),
        Some(DivergenceClass::Value(WhoIsRight::RustCloser))
    );
    let (up, down) = (nudged(&torch, 2, 1e-7), nudged(&torch, 2, -1e-7));
    assert_eq!(
        class(&up, &down),
        Some(DivergenceClass::Value(WhoIsRight::BothWithinPolicy))
    );
    assert_eq!(class(&torch, &torch), None);
}

/// Draws `n` cases of `op`'s strategy whose tensors are all float64 (the reference's
/// own precision is then what is compared).
fn float64_cases(op: Op, n: usize) -> Vec<Case> {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = (op.spec().strategy)();
    let mut cases = Vec::new();
    for _ in 0..n * 20 {
        let case = strategy.new_tree(&mut runner).expect("strategy").current();
        let all_f64 = case.args().all(|(_, a)| match a {
            lossparity::case::Arg::Tensor(t) => t.dtype == DType::Float64 || !t.dtype.is_float(),
            _ => true,
        });
        if all_f64 && case.input().dtype == DType::Float64 {
            cases.push(case);
        }
        if cases.len() == n {
            break;
        }
    }
    cases
}

/// Every op's reference, on its own random cases: wherever libtorch computes a
/// value, the reference has one of the same shape, and each element is within the
/// float64 tolerance of libtorch's or of the Rust losses' (an element both miss means
/// the reference's formula is wrong; one side alone missing is that side's rounding).
#[test]
fn every_ops_reference_agrees_with_libtorch_or_rust_on_random_float64_cases() {
    let tol = Tolerance::for_dtype(DType::Float64);
    let close = |a: f64, e: f64| a == e || (a.is_nan() && e.is_nan()) || tol.accepts(a, e);
    for op in Op::all() {
        let mut checked = 0;
        for case in float64_cases(op, 150) {
            let Ok(torch) = TorchBackend.evaluate(&case).result else {
                continue;
            };
            let Ok(rust) = RustBackend::default().evaluate(&case).result else {
                continue;
            };
            let exact = reference::evaluate(&case)
                .unwrap_or_else(|| panic!("no reference for {}", case.to_json()));
            let mut parts = vec![("output", &torch.output, &rust.output, &exact.output)];
            if let (Some(Ok(_)), Some(Ok(_))) = (&torch.grads, &rust.grads) {
                for wrt in case.grad_wrt() {
                    let e = exact
                        .grad(wrt)
                        .unwrap_or_else(|| panic!("no reference grad_{wrt}: {}", case.to_json()));
                    parts.push((wrt, torch.grad(wrt).unwrap(), rust.grad(wrt).unwrap(), e));
                }
            }
            for (part, t, r, e) in parts {
                assert_eq!(t.shape, e.shape, "{op} {part}: {}", case.to_json());
                for ((&t, &r), &e) in floats(t).iter().zip(floats(r)).zip(&e.values) {
                    assert!(
                        close(t, e) || close(r, e),
                        "{op} {part}: torch {t}, rust {r}, reference {e}: {}",
                        case.to_json()
                    );
                }
            }
            checked += 1;
        }
        assert!(checked >= 20, "{op}: only {checked} float64 cases computed");
    }
}

/// A float64 `triplet_margin_loss` case with `eps = 0` (so that differences are the
/// values' own), summed, with gradients.
fn triplet_case(shapes: [Vec<usize>; 3], values: [Vec<f64>; 3], p: f64, margin: f64) -> Case {
    let [a, pos, n] = values;
    let [sa, sp, sn] = shapes;
    let mut c = Case::new(
        Op::named("triplet_margin_loss").unwrap(),
        TensorData::float(DType::Float64, sa, a),
    );
    c.set_tensor("positive", Some(TensorData::float(DType::Float64, sp, pos)));
    c.set_tensor("negative", Some(TensorData::float(DType::Float64, sn, n)));
    c.set_arg("p", p);
    c.set_arg("eps", 0.0);
    c.set_arg("margin", margin);
    c.set_arg("reduction", Reduction::Sum);
    c.grad = true;
    c
}

/// A float64 `ctc_loss` case of `T x N x C` log-probabilities (`T x C`, unbatched, for
/// `N = 0`), with gradients.
fn ctc_case(
    (t, n, c): (usize, usize, usize),
    targets: TensorData,
    lengths: (Vec<i64>, Vec<i64>),
    reduction: Reduction,
    zero_infinity: bool,
) -> Case {
    // Unnormalised values: libtorch's gradient is not the derivative then.
    let values: Vec<f64> = (0..t * n.max(1) * c)
        .map(|i| ((i * 37) % 17) as f64 / 4.0 - 3.0)
        .collect();
    let shape = if n == 0 { vec![t, c] } else { vec![t, n, c] };
    let mut case = Case::new(
        Op::named("ctc_loss").unwrap(),
        TensorData::float(DType::Float64, shape, values),
    );
    let lengths_shape = |v: &[i64]| if n == 0 { vec![] } else { vec![v.len()] };
    let (il, tl) = lengths;
    case.set_tensor("targets", Some(targets));
    case.set_tensor(
        "input_lengths",
        Some(TensorData::int(DType::Int64, lengths_shape(&il), il)),
    );
    case.set_tensor(
        "target_lengths",
        Some(TensorData::int(DType::Int64, lengths_shape(&tl), tl)),
    );
    case.set_arg("reduction", reduction);
    case.set_arg("zero_infinity", zero_infinity);
    case.grad = true;
    case
}

/// The cases where the triplet losses' and ctc_loss's backwards have a rule of their
/// own, each checked by hand against torch 2.13 first: clamp_min's kink (passes),
/// minimum's tie (halves), the norms' zeros (p = 2 at a zero norm, sgn(0) = 0 for p = 1,
/// the masked power for p < 1 and p < 0), the ±inf norms' ties, p = 0 (no gradient),
/// NaN, broadcasting; ctc's overwrite of the last step for a label equal to the blank,
/// an infinite loss (NaN gradient, zeros with zero_infinity), `mean`'s scaling with an
/// empty target, short inputs, unbatched and concatenated targets, a -inf log-prob.
fn sequence_edge_cases() -> Vec<Case> {
    let nan = f64::NAN;
    let row = |v: &[f64]| v.to_vec();
    let one = || [vec![1, 2], vec![1, 2], vec![1, 2]];
    let mut cases = vec![
        triplet_case(
            one(),
            [row(&[0., 0.]), row(&[1., 0.]), row(&[2., 0.])],
            1.0,
            1.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[1., 2.]), row(&[0., 0.])],
            2.0,
            1.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[1., 3.]), row(&[0., 0.])],
            1.0,
            10.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[1., 3.]), row(&[0., 0.])],
            0.5,
            10.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[1., 3.]), row(&[0., 5.])],
            -1.0,
            10.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[1.5, 3.]), row(&[0., 5.])],
            -1.0,
            10.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[2., 3.]), row(&[0., 0.])],
            f64::INFINITY,
            3.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[2., 3.]), row(&[0., 0.5])],
            f64::NEG_INFINITY,
            3.0,
        ),
        triplet_case(
            one(),
            [row(&[1., 2.]), row(&[2., 3.]), row(&[0., 0.])],
            0.0,
            3.0,
        ),
        triplet_case(
            one(),
            [row(&[0., nan]), row(&[1., 0.]), row(&[2., 1.])],
            2.0,
            5.0,
        ),
        triplet_case(
            one(),
            [row(&[0., nan]), row(&[1., 0.]), row(&[2., 1.])],
            1.0,
            5.0,
        ),
        triplet_case(
            [vec![], vec![], vec![]],
            [row(&[0.5]), row(&[-1.25]), row(&[2.0])],
            1.5,
            4.0,
        ),
    ];
    let mut tie = triplet_case(
        one(),
        [row(&[0., 0.]), row(&[0., 0.]), row(&[2., 1.])],
        2.0,
        5.0,
    );
    tie.set_arg("swap", true);
    cases.push(tie);
    for (p, swap) in [(3.0, false), (3.0, true), (1.5, true), (2.0, true)] {
        let mut c = triplet_case(
            [vec![1, 3], vec![2, 3], vec![2, 1]],
            [
                row(&[0.5, -1.0, 2.0]),
                row(&[1.0, 0.25, -0.5, 2.0, 2.0, 1.0]),
                row(&[3.0, -0.75]),
            ],
            p,
            2.0,
        );
        c.set_arg("eps", 1e-3);
        c.set_arg("swap", swap);
        c.set_arg("reduction", Reduction::Mean);
        c.grad_output = Some(TensorData::float(DType::Float64, vec![], vec![0.7]));
        cases.push(c);
    }
    let padded = |n: usize, v: Vec<i64>| TensorData::int(DType::Int64, vec![n, v.len() / n], v);
    cases.push(ctc_case(
        (3, 1, 3),
        padded(1, vec![0]),
        (vec![3], vec![1]),
        Reduction::Sum,
        false,
    ));
    for zero_infinity in [false, true] {
        cases.push(ctc_case(
            (2, 2, 3),
            padded(2, vec![1, 2, 1, 1]),
            (vec![1, 2], vec![2, 1]),
            Reduction::None,
            zero_infinity,
        ));
    }
    cases.push(ctc_case(
        (4, 3, 3),
        padded(3, vec![1, 2, 1, 2, 0, 0, 1, 1, 0]),
        (vec![4, 4, 3], vec![3, 0, 2]),
        Reduction::Mean,
        false,
    ));
    cases.push(ctc_case(
        (4, 2, 3),
        TensorData::int(DType::Int64, vec![3], vec![1, 2, 2]),
        (vec![4, 3], vec![2, 1]),
        Reduction::Sum,
        false,
    ));
    let mut unbatched = ctc_case(
        (3, 0, 3),
        TensorData::int(DType::Int64, vec![2], vec![1, 2]),
        (vec![3], vec![2]),
        Reduction::None,
        false,
    );
    unbatched.grad_output = Some(TensorData::float(DType::Float64, vec![], vec![-1.5]));
    cases.push(unbatched);
    let mut neg_inf = ctc_case(
        (2, 2, 3),
        padded(2, vec![1, 2, 1, 1]),
        (vec![2, 2], vec![1, 1]),
        Reduction::None,
        false,
    );
    if let Values::Float(v) = &mut neg_inf.input_mut().values {
        v[3] = f64::NEG_INFINITY;
    }
    cases.push(neg_inf);
    cases
}

#[test]
fn the_sequence_references_agree_with_libtorch_at_their_gradients_edges() {
    let tol = Tolerance::for_dtype(DType::Float64);
    let close = |a: f64, e: f64| a == e || (a.is_nan() && e.is_nan()) || tol.accepts(a, e);
    for case in sequence_edge_cases() {
        let json = case.to_json();
        let exact = reference::evaluate(&case).unwrap_or_else(|| panic!("no reference: {json}"));
        let torch = TorchBackend
            .evaluate(&case)
            .result
            .unwrap_or_else(|e| panic!("libtorch rejects {json}: {e:?}"));
        let mut parts = vec![(&torch.output, &exact.output)];
        for wrt in case.grad_wrt() {
            let t = torch
                .grad(wrt)
                .unwrap_or_else(|| panic!("torch grad_{wrt}: {json}"));
            let e = exact
                .grad(wrt)
                .unwrap_or_else(|| panic!("grad_{wrt}: {json}"));
            parts.push((t, e));
        }
        assert_eq!(parts.len(), 1 + case.grad_wrt().len());
        for (t, e) in parts {
            assert_eq!(t.shape, e.shape, "{json}");
            for (&t, &e) in floats(t).iter().zip(&e.values) {
                assert!(close(t, e), "torch {t} vs reference {e}: {json}");
            }
        }
    }
}
