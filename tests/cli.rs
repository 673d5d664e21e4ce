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
