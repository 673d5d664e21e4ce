//! The command line on real files: outcomes in order, broken lines reported by line
//! number while the rest of the file is still evaluated.

use std::process::Command;

fn lossparity(args: &[&str], file: &str) -> (String, i32) {
    let dir = std::env::temp_dir().join(format!("lossparity-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.jsonl", args.join("-")));
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
