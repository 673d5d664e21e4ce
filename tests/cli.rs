//! The command line on real files: outcomes in order, broken lines reported by line
//! number while the rest of the file is still evaluated.

use std::process::Command;

fn lossparity(args: &[&str], file: &str) -> (String, i32) {
    let dir = std::env::temp_dir().join(format!("lossparity-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name: String = args
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(100)
        .collect();
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, file).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lossparity"))
        .args(args)
        .arg(&path)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

const GOOD: &str = r#"{"id":"a","op":"nll_loss","input":{"dtype":"float32","shape":[2,3],"data":[-0.5,-1.0,-2.0,-1.5,-0.2,-3.0]},"target":{"dtype":"int64","shape":[2],"data":[0,2]},"grad":true}"#;

#[test]
fn eval_reports_broken_lines_by_number_and_evaluates_the_rest() {
    let file = [
        GOOD,
        r#"{"op":"nll_loss","input":{"dtype":"float32","shape":[2,3],"data":[1.0]},"target":{"dtype":"int64","shape":[2],"data":[0,1]}}"#,
        "not json",
        r#"{"op":"hinge","input":{"dtype":"float32","shape":[1],"data":[1.0]}}"#,
        r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[-1],"data":[]},"dim":0}"#,
        r#"{"op":"log_softmax","input":{"dtype":"float32","shape":[100000,100000,100000],"data":[]},"dim":0}"#,
        r#"{"id":"b","op":"nll_loss","input":{"dtype":"float32","shape":[2,3],"data":[0,0,0,0,0,0]},"target":{"dtype":"int64","shape":[2],"data":[0,3]}}"#,
    ]
    .join("\n");
    let (stdout, code) = lossparity(&["eval", "--backend", "rust"], &file);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 7, "{stdout}");
    assert!(
        lines[0].starts_with(r#"{"id":"a","output":{"dtype":"float32","shape":[],"data":[1.75]}"#),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(
            r#""grad_input":{"dtype":"float32","shape":[2,3],"data":[-0.5,0.0,0.0,0.0,0.0,-0.5]}"#
        ),
        "{}",
        lines[0]
    );
    for (i, needle) in [
        (
            1,
            "line 2: `input.data` has 1 values but shape [2, 3] needs 6",
        ),
        (2, "line 3: not valid JSON"),
        (3, "line 4: unknown op \\\"hinge\\\""),
        (4, "line 5: `input.shape[0]` is -1"),
        (5, "line 6: `input.shape` [100000, 100000, 100000] declares"),
    ] {
        assert!(
            lines[i].contains("\"kind\":\"InvalidCase\""),
            "{}",
            lines[i]
        );
        assert!(lines[i].contains(needle), "{} lacks {needle}", lines[i]);
    }
    assert_eq!(
        lines[6],
        r#"{"id":"b","error":{"kind":"IndexError","message":"Target 3 is out of bounds."}}"#
    );
}

#[cfg(feature = "torch")]
#[test]
fn diff_prints_a_verdict_per_case_and_fails_on_invalid_lines() {
    let (stdout, code) = lossparity(&["diff"], &format!("{GOOD}\n{{\"op\":1}}\n"));
    assert!(stdout.contains("AGREE    a: values agree"), "{stdout}");
    assert!(stdout.contains("INVALID  line 2"), "{stdout}");
    assert!(
        stdout.contains("1 agree, 0 diverge, 1 invalid line(s)"),
        "{stdout}"
    );
    assert_eq!(code, 1);
}

#[cfg(feature = "torch")]
#[test]
fn eval_with_torch_backend_writes_libtorch_outcomes() {
    let (stdout, code) = lossparity(&["eval", "--backend", "torch"], GOOD);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(r#"{"id":"a","output":{"dtype":"float32","shape":[],"data":[1.75]}"#),
        "{stdout}"
    );
}

#[test]
fn invalid_lines_of_format_version_2_carry_their_id_and_say_why() {
    let file = [
        r#"{"id":"sa","op":"nll_loss","input":{"dtype":"float32","shape":[1,2],"data":[-0.5,-1.0]},"target":{"dtype":"int64","shape":[1],"data":[0]},"size_average":true}"#,
        r#"{"id":"int","op":"nll_loss","input":{"dtype":"float32","shape":[1,2],"data":[-0.5,-1.0]},"target":{"dtype":"int64","shape":[1],"data":[0]},"grad":true,"grad_wrt":["target"]}"#,
        r#"{"id":"nograd","op":"softmax","input":{"dtype":"float32","shape":[2],"data":[0.5,1.0]},"dim":0,"grad_wrt":["input"]}"#,
        r#"{"id":"field","op":"softmax","input":{"dtype":"float32","shape":[2],"data":[0.5,1.0]},"dim":0,"reduction":"sum"}"#,
        r#"{"id":"soft","op":"cross_entropy","input":{"dtype":"float32","shape":[1,2],"data":[0.0,0.0]},"target":{"dtype":"float32","shape":[1,2],"data":[0.25,0.75]},"grad":true,"grad_wrt":["target","input"]}"#,
        r#"{"id":"lce","op":"linear_cross_entropy","input":{"dtype":"float32","shape":[2],"data":[1.0,0.0]},"linear_weight":{"dtype":"float32","shape":[2,2],"data":[0.0,0.0,0.0,0.0]},"target":{"dtype":"int64","shape":[],"data":[0]},"grad":true,"grad_wrt":["input","linear_weight"]}"#,
    ]
    .join("\n");
    let (stdout, code) = lossparity(&["eval", "--backend", "rust"], &file);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 6, "{stdout}");
    for (line, id, needle) in [
        (lines[0], "sa", "line 1: `size_average` is deprecated"),
        (lines[1], "int", "line 2: `grad_wrt` names `target`, a tensor of dtype int64"),
        (lines[2], "nograd", "line 3: `grad_wrt` names tensors to differentiate, which needs"),
        (lines[3], "field", "line 4: unknown field `reduction`; the fields of softmax are id, op, input, dim, grad, grad_wrt, grad_output"),
    ] {
        assert!(
            line.starts_with(&format!(r#"{{"id":"{id}","error":{{"kind":"InvalidCase""#)),
            "{line}"
        );
        assert!(line.contains(needle), "{line} lacks {needle}");
    }
    assert_eq!(
        lines[4],
        r#"{"id":"soft","output":{"dtype":"float32","shape":[],"data":[0.6931472]},"grad_target":{"dtype":"float32","shape":[1,2],"data":[0.6931472,0.6931472]},"grad_input":{"dtype":"float32","shape":[1,2],"data":[0.25,-0.25]}}"#
    );
    // Zero logits: softmax [0.5, 0.5], so the logits' gradient is [-0.5, 0.5] and
    // linear_weight's is its outer product with the input [1, 0].
    assert_eq!(
        lines[5],
        r#"{"id":"lce","output":{"dtype":"float32","shape":[],"data":[0.6931472]},"grad_input":{"dtype":"float32","shape":[2],"data":[0.0,0.0]},"grad_linear_weight":{"dtype":"float32","shape":[2,2],"data":[-0.5,-0.0,0.5,0.0]}}"#
    );
}

/// `GOOD` under another id.
fn good(id: &str) -> String {
    GOOD.replacen(r#""id":"a""#, &format!(r#""id":"{id}""#), 1)
}

fn misbehaving_subject() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/subjects/misbehaving.py");
    format!("exec:python3 {script}")
}

const MISBEHAVING_CASES: [&str; 10] = [
    "ok-1",
    "crash-1",
    "ok-2",
    "ok-3",
    "hang-1",
    "ok-4",
    "garbage-1",
    "ok-5",
    "wrong-id-1",
    "ok-6",
];

#[test]
fn an_exec_subject_that_crashes_hangs_or_babbles_costs_one_case_each() {
    let file: Vec<String> = MISBEHAVING_CASES.iter().map(|id| good(id)).collect();
    let started = std::time::Instant::now();
    let (stdout, code) = lossparity(
        &[
            "diff",
            "--oracle",
            "rust",
            "--subject",
            &misbehaving_subject(),
            "--case-timeout",
            "1",
        ],
        &file.join("\n"),
    );
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), MISBEHAVING_CASES.len() + 1, "{stdout}");
    for (line, id) in lines.iter().zip(MISBEHAVING_CASES) {
        let verdict = match id.split('-').next().unwrap() {
            "ok" => "DIVERGE",
            "crash" => "CRASH",
            "hang" => "TIMEOUT",
            _ => "BAD-OUTCOME",
        };
        assert!(
            line.starts_with(&format!("{verdict:<8} {id}: ")),
            "{id}: {line}"
        );
    }
    // The honest answers reach the verdict, the failures say what happened.
    assert!(lines[0].contains("not implemented here"), "{}", lines[0]);
    assert!(
        lines[1].contains("exit status 3") && lines[1].contains("crashing on purpose"),
        "{}",
        lines[1]
    );
    assert!(lines[4].contains("within 1.0 s"), "{}", lines[4]);
    assert!(lines[6].contains("not JSON"), "{}", lines[6]);
    assert!(lines[8].contains("someone-else"), "{}", lines[8]);
    assert!(lines[10].contains("0 agree, 10 diverge"), "{}", lines[10]);
    // One timeout of one second, not the hour the subject sleeps.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
}

#[test]
fn eval_gives_every_case_an_outcome_line_when_the_subject_fails() {
    let file: Vec<String> = MISBEHAVING_CASES.iter().map(|id| good(id)).collect();
    let (stdout, code) = lossparity(
        &[
            "eval",
            "--backend",
            &misbehaving_subject(),
            "--case-timeout",
            "1",
        ],
        &file.join("\n"),
    );
    assert_eq!(code, 0);
    let kinds: Vec<String> = stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["error"]["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "NotImplementedError",
            "Crash",
            "NotImplementedError",
            "NotImplementedError",
            "Timeout",
            "NotImplementedError",
            "BadOutcome",
            "NotImplementedError",
            "BadOutcome",
            "NotImplementedError"
        ]
    );
}

#[test]
fn a_subject_that_cannot_start_fails_every_case_and_ends() {
    let file: Vec<String> = (0..20).map(|i| good(&format!("c{i}"))).collect();
    let (stdout, code) = lossparity(
        &["eval", "--backend", "exec:/nonexistent/subject"],
        &file.join("\n"),
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 20, "{stdout}");
    assert!(lines[0].contains(r#""kind":"Crash""#), "{}", lines[0]);
    assert!(lines[0].contains("not found"), "{}", lines[0]);
    assert!(lines[19].contains("not started again"), "{}", lines[19]);
}

/// The catalogue's text and its number of cases.
#[cfg(feature = "torch")]
fn catalogue() -> (String, usize) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/cases/catalogue.jsonl"
    ))
    .unwrap();
    let cases = text.lines().filter(|l| !l.trim().is_empty()).count();
    (text, cases)
}

/// Python's torch.nn.functional and libtorch agree on the whole catalogue.
#[cfg(feature = "torch")]
#[test]
fn python_torch_agrees_with_libtorch_on_the_catalogue() {
    let (catalogue, cases) = catalogue();
    let (stdout, code) = lossparity(
        &["diff", "--subject", "python", "--oracle", "torch"],
        &catalogue,
    );
    assert!(
        stdout.ends_with(&format!("{cases} agree, 0 diverge, 0 invalid line(s)\n")),
        "{stdout}"
    );
    assert_eq!(code, 0);
}

/// The project's Python subject run as any program over a pipe (`exec:`) agrees with
/// the built-in `python` backend on the whole catalogue: the protocol carries every
/// case and outcome intact.
#[cfg(feature = "torch")]
#[test]
fn an_exec_subject_runs_the_catalogue() {
    let (catalogue, cases) = catalogue();
    let python = lossparity::backend::process::torch_python().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/backend/torch_subject.py");
    let subject = format!("exec:{} {script}", python.display());
    let (stdout, code) = lossparity(
        &["diff", "--subject", &subject, "--oracle", "python"],
        &catalogue,
    );
    assert!(
        stdout.ends_with(&format!("{cases} agree, 0 diverge, 0 invalid line(s)\n")),
        "{stdout}"
    );
    assert_eq!(code, 0);
}
