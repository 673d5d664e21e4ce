//! Subjects in another process: any program that speaks the subject protocol
//! (`docs/subjects.md`: case lines on its standard input, one outcome line per case on
//! its standard output, in order, flushed per line), and Python's PyTorch through the
//! project's own such program.
//!
//! The program is started once and the cases are streamed to it. A subject that exits
//! (`Crash`), takes longer than the per-case timeout (`Timeout`) or writes a line that is
//! not the case's outcome (`BadOutcome`) costs that case only: the case's outcome is an
//! error of that kind saying what happened, the process (its whole process group) is
//! killed, and the next case starts a new one.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::Backend;
use crate::case::{Case, CaseError, Outcome};

/// The outcome error kinds of a subject that failed a case rather than answering it:
/// they are not Python exceptions, and no oracle ever reports them.
pub mod failure {
    /// The subject's process ended (or could not start) before answering.
    pub const CRASH: &str = "Crash";
    /// The subject took longer than the per-case timeout.
    pub const TIMEOUT: &str = "Timeout";
    /// The subject answered with a line that is not the case's outcome.
    pub const BAD_OUTCOME: &str = "BadOutcome";
    /// The subject (an in-process framework) panicked.
    pub const PANIC: &str = "Panic";
    /// Every kind above.
    pub const ALL: [&str; 4] = [CRASH, TIMEOUT, BAD_OUTCOME, PANIC];

    /// The report's class of a failure kind: `crash`, `timeout`, `bad-outcome`, `panic`.
    pub fn class(kind: &str) -> &'static str {
        match kind {
            CRASH => "crash",
            TIMEOUT => "timeout",
            BAD_OUTCOME => "bad-outcome",
            _ => "panic",
        }
    }
}

/// How long a subject may take over one case, unless told otherwise.
pub const DEFAULT_CASE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a freshly started subject gets on top of the case timeout for its first case:
/// Python importing torch takes seconds, more on a cold disk.
const STARTUP_GRACE: Duration = Duration::from_secs(60);

/// After this many starts in a row that failed their first case, the subject is not
/// started again: the remaining cases are reported as crashes at once, instead of
/// starting a broken command once per case.
const MAX_FAILED_STARTS: u32 = 5;

/// The PyTorch version the project targets, whose virtual environment
/// `scripts/setup-libtorch.sh` creates.
const TORCH_VERSION: &str = "2.13.0";

/// The Python subject: `torch.nn.functional` called with the case's parameters.
const TORCH_SUBJECT: &str = include_str!("torch_subject.py");

/// A subject in another process.
pub struct ProcessBackend {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    timeout: Duration,
    state: Mutex<State>,
    sent: AtomicU64,
}

#[derive(Default)]
struct State {
    running: Option<Running>,
    /// Starts in a row whose first case failed.
    failed_starts: u32,
}

struct Running {
    child: Child,
    /// Lines for the writer thread (which may block on a subject that does not read).
    to_stdin: mpsc::Sender<String>,
    from_stdout: Receiver<String>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    answered: u64,
}

impl ProcessBackend {
    /// `exec:CMD`: the shell command `CMD` (run by `sh -c`), named `exec:CMD`.
    pub fn exec(command: &str, timeout: Duration) -> ProcessBackend {
        ProcessBackend::new(
            format!("exec:{command}"),
            PathBuf::from("sh"),
            vec!["-c".into(), command.into()],
            timeout,
        )
    }

    /// Python's PyTorch: the project's subject script run by the Python of the torch
    /// that `scripts/setup-libtorch.sh` installs (or `LOSSPARITY_PYTHON`).
    pub fn python(timeout: Duration) -> Result<ProcessBackend, String> {
        let python = torch_python()?;
        Ok(ProcessBackend::new(
            "python".into(),
            python,
            vec!["-u".into(), "-c".into(), TORCH_SUBJECT.into()],
            timeout,
        ))
    }

    /// Any program with its arguments, under a name for reports.
    pub fn new(
        name: String,
        program: PathBuf,
        args: Vec<String>,
        timeout: Duration,
    ) -> ProcessBackend {
        ProcessBackend {
            name,
            program,
            args,
            timeout,
            state: Mutex::new(State::default()),
            sent: AtomicU64::new(0),
        }
    }

    fn start(&self) -> Result<Running, String> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group, so that a kill reaches whatever the command started
        // (the shell's children, a Python worker) and nothing of ours.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let (stdin, stdout, stderr) = (
            child.stdin.take().expect("piped stdin"),
            child.stdout.take().expect("piped stdout"),
            child.stderr.take().expect("piped stderr"),
        );
        let (to_stdin, lines_in) = mpsc::channel::<String>();
        thread::spawn(move || write_lines(stdin, lines_in));
        let (lines_out, from_stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines_out.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        thread::spawn(move || keep_tail(stderr, &tail));
        Ok(Running {
            child,
            to_stdin,
            from_stdout,
            stderr_tail,
            answered: 0,
        })
    }

    /// Sends one case and waits for its outcome line.
    fn exchange(&self, state: &mut State, case: &Case) -> Result<Outcome, CaseError> {
        if state.running.is_none() {
            if state.failed_starts >= MAX_FAILED_STARTS {
                return Err(CaseError::new(
                    failure::CRASH,
                    format!(
                        "not started again: the subject failed the first case after each of \
                         its last {MAX_FAILED_STARTS} starts"
                    ),
                ));
            }
            state.running = Some(self.start().map_err(|e| {
                state.failed_starts += 1;
                CaseError::new(failure::CRASH, e)
            })?);
        }
        let running = state.running.as_mut().expect("started above");
        // An id the subject must echo, so that an answer to another case is caught.
        let sent = self.sent.fetch_add(1, Ordering::Relaxed);
        let id = case
            .id
            .clone()
            .unwrap_or_else(|| format!("lossparity-{sent}"));
        let mut line = subject_case(case, &id);
        line.push('\n');
        let wait = if running.answered == 0 {
            self.timeout + STARTUP_GRACE
        } else {
            self.timeout
        };
        let mut stopped = false;
        let answer = match running.to_stdin.send(line) {
            Ok(()) => running.from_stdout.recv_timeout(wait),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        let result = match answer {
            Ok(text) => parse_outcome(&text, case, &id),
            Err(RecvTimeoutError::Timeout) => Err(CaseError::new(
                failure::TIMEOUT,
                format!(
                    "the subject wrote no outcome within {:.1} s; it was killed and is restarted \
                     for the next case",
                    wait.as_secs_f64()
                ),
            )),
            Err(RecvTimeoutError::Disconnected) => {
                let status = stop(running);
                stopped = true;
                Err(CaseError::new(
                    failure::CRASH,
                    format!(
                        "the subject exited ({status}) before writing an outcome{}",
                        stderr_excerpt(&running.stderr_tail)
                    ),
                ))
            }
        };
        match &result {
            Ok(_) => {
                running.answered += 1;
                state.failed_starts = 0;
            }
            Err(_) => {
                if running.answered == 0 {
                    state.failed_starts += 1;
                }
                // A process already reaped is not signalled again: its pid may be reused.
                if let (Some(mut gone), false) = (state.running.take(), stopped) {
                    stop(&mut gone);
                }
            }
        }
        result
    }
}

impl Backend for ProcessBackend {
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate(&self, case: &Case) -> Outcome {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match self.exchange(&mut state, case) {
            Ok(outcome) => outcome,
            Err(e) => Outcome {
                id: case.id.clone(),
                result: Err(e),
            },
        }
    }
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(mut running) = state.running.take() {
            stop(&mut running);
        }
    }
}

/// The case line a subject receives: the case with `id` set and, when it asks for
/// gradients, `grad_wrt` written out, so that a subject needs no table of defaults.
fn subject_case(case: &Case, id: &str) -> String {
    let mut sent = case.clone();
    sent.id = Some(id.to_string());
    if sent.grad && sent.grad_wrt.is_none() {
        sent.grad_wrt = Some(case.grad_wrt());
    }
    sent.to_json()
}

fn parse_outcome(text: &str, case: &Case, id: &str) -> Result<Outcome, CaseError> {
    let bad = |why: String| {
        let mut shown: String = text.chars().take(200).collect();
        if shown.len() < text.len() {
            shown.push_str("...");
        }
        CaseError::new(
            failure::BAD_OUTCOME,
            format!("the subject's line is not this case's outcome ({why}): {shown}"),
        )
    };
    let outcome = Outcome::from_json(text, case).map_err(bad)?;
    if outcome.id.as_deref() != Some(id) {
        let got = outcome
            .id
            .as_deref()
            .map_or_else(|| "missing".to_string(), |i| format!("{i:?}"));
        return Err(bad(format!("its id is {got}, expected {id:?}")));
    }
    Ok(Outcome {
        id: case.id.clone(),
        ..outcome
    })
}

fn write_lines(mut stdin: ChildStdin, lines: Receiver<String>) {
    for line in lines {
        if stdin.write_all(line.as_bytes()).is_err() || stdin.flush().is_err() {
            break;
        }
    }
}

/// Keeps the last lines a subject wrote to standard error, for crash reports (reading
/// them also keeps a chatty subject from blocking on a full pipe).
fn keep_tail(stderr: impl Read, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        if tail.len() == 5 {
            tail.pop_front();
        }
        tail.push_back(line.chars().take(300).collect());
    }
}

fn stderr_excerpt(tail: &Mutex<VecDeque<String>>) -> String {
    // The stderr reader may still be draining what the process wrote last.
    thread::sleep(Duration::from_millis(50));
    let tail = tail.lock().unwrap_or_else(|p| p.into_inner());
    if tail.is_empty() {
        String::new()
    } else {
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("; its standard error ended: {}", lines.join(" | "))
    }
}

/// Kills the subject's process group and reaps it; its exit status, in words.
fn stop(running: &mut Running) -> String {
    #[cfg(unix)]
    {
        let pid = running.child.id() as i32;
        // SAFETY: kill(2) with a negative pid signals that process group; the group is
        // the child's own (process_group(0) above), so only the subject is reached.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = running.child.kill();
    match running.child.wait() {
        Ok(status) => describe(status),
        Err(e) => format!("status unknown: {e}"),
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "no exit status".into(),
    }
}

/// The Python interpreter of the project's torch: `LOSSPARITY_PYTHON`, else the one in
/// the cache that `scripts/setup-libtorch.sh` fills.
pub fn torch_python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("LOSSPARITY_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let cache = std::env::var_os("LOSSPARITY_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("lossparity")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("lossparity"))
        })
        .ok_or("neither LOSSPARITY_CACHE nor HOME is set")?;
    let python = cache
        .join(format!("torch-{TORCH_VERSION}"))
        .join("bin")
        .join("python");
    if python.exists() {
        Ok(python)
    } else {
        Err(format!(
            "no Python torch at {}: run scripts/setup-libtorch.sh first (or set LOSSPARITY_PYTHON)",
            python.display()
        ))
    }
}
