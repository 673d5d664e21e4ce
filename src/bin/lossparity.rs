//! The `lossparity` command line: evaluate case files with either backend, run both and
//! print a verdict per case, or write the divergence report of random cases.

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use lossparity::backend::process::failure;
use lossparity::backend::{Backend, ProcessBackend, RustBackend};
use lossparity::case::{Case, CaseError, DType, InvalidCase, Op, Outcome};
use lossparity::compare::{compare, Mode};
use lossparity::report::{Shard, Summary};

#[derive(Parser)]
#[command(
    name = "lossparity",
    version,
    about = "PyTorch-exact losses in Rust, checked against libtorch"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate cases (JSON Lines) and print one outcome per line, in order.
    Eval {
        /// Which implementation runs the cases: rust, torch (libtorch through tch),
        /// python (Python's torch.nn.functional), candle (feature `candle`), burn (feature
        /// `burn`) or exec:CMD (any program speaking the subject protocol of
        /// docs/subjects.md, run by `sh -c CMD`).
        #[arg(long, default_value = "rust", value_parser = parse_backend)]
        backend: BackendName,
        #[command(flatten)]
        subjects: SubjectArgs,
        /// Case file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Run every case through the oracle and the subject (by default libtorch and the
    /// Rust losses) and print a verdict per case; exit status 1 when any case diverges.
    Diff {
        /// The implementation under test (rust, torch, python, candle, burn, exec:CMD).
        #[arg(long, default_value = "rust", value_parser = parse_backend)]
        subject: BackendName,
        /// The implementation it is compared with.
        #[arg(long, default_value = "torch", value_parser = parse_backend)]
        oracle: BackendName,
        #[command(flatten)]
        subjects: SubjectArgs,
        /// Case file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Run random cases through the oracle and the subject (by default libtorch and the
    /// Rust losses) and write the divergence report (report.md, report.json,
    /// divergences.jsonl, repro/, plots); exit status 1 when a divergence may be a bug
    /// of the subject.
    Report(ReportArgs),
    /// Merge the report folders of a sharded run into the report of the whole run.
    Merge(MergeArgs),
    /// Say in plain words what PyTorch will do with each case and what is probably
    /// wrong with it (a 1-D input with a batch of targets, log_softmax over the wrong
    /// dimension, one-hot targets, ...), with the evidence.
    Explain {
        /// Case file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
}

/// Options of the backends that run in another process.
#[derive(clap::Args, Clone, Copy)]
struct SubjectArgs {
    /// Seconds a python or exec subject may take over one case before it is killed,
    /// the case reported as a timeout and the subject restarted (its first case after a
    /// start gets a minute more).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    case_timeout: f64,
}

/// A backend named on the command line.
#[derive(Clone)]
enum BackendName {
    Rust,
    Torch,
    Python,
    Candle,
    Burn,
    Exec(String),
}

fn parse_backend(name: &str) -> Result<BackendName, String> {
    match name {
        "rust" => Ok(BackendName::Rust),
        "torch" => Ok(BackendName::Torch),
        "python" => Ok(BackendName::Python),
        "candle" => Ok(BackendName::Candle),
        "burn" => Ok(BackendName::Burn),
        _ => match name.strip_prefix("exec:") {
            Some(command) if !command.trim().is_empty() => {
                Ok(BackendName::Exec(command.to_string()))
            }
            Some(_) => Err("exec: needs a command, as in exec:'python3 my_subject.py'".into()),
            None => Err(format!(
                "unknown backend {name:?}; expected rust, torch, python, candle, burn or exec:CMD"
            )),
        },
    }
}

fn backend(name: &BackendName, options: SubjectArgs) -> Result<Box<dyn Backend + Sync>> {
    let timeout = Duration::try_from_secs_f64(options.case_timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .context("--case-timeout must be a positive number of seconds")?;
    Ok(match name {
        BackendName::Rust => Box::new(RustBackend::default()),
        BackendName::Torch => torch_backend()?,
        BackendName::Python => {
            Box::new(ProcessBackend::python(timeout).map_err(anyhow::Error::msg)?)
        }
        BackendName::Exec(command) => Box::new(ProcessBackend::exec(command, timeout)),
        BackendName::Candle => candle_backend()?,
        BackendName::Burn => burn_backend()?,
    })
}

#[cfg(feature = "candle")]
fn candle_backend() -> Result<Box<dyn Backend + Sync>> {
    Ok(Box::new(lossparity::backend::CandleBackend))
}

#[cfg(not(feature = "candle"))]
fn candle_backend() -> Result<Box<dyn Backend + Sync>> {
    anyhow::bail!("this build has no candle subject: rebuild with `--features candle`")
}

#[cfg(feature = "burn")]
fn burn_backend() -> Result<Box<dyn Backend + Sync>> {
    Ok(Box::new(lossparity::backend::BurnBackend))
}

#[cfg(not(feature = "burn"))]
fn burn_backend() -> Result<Box<dyn Backend + Sync>> {
    anyhow::bail!("this build has no burn subject: rebuild with `--features burn`")
}

#[cfg(feature = "torch")]
fn torch_backend() -> Result<Box<dyn Backend + Sync>> {
    Ok(Box::new(lossparity::backend::TorchBackend))
}

#[cfg(not(feature = "torch"))]
fn torch_backend() -> Result<Box<dyn Backend + Sync>> {
    anyhow::bail!("this build has no libtorch backend: rebuild with the default `torch` feature after scripts/setup-libtorch.sh")
}

/// Reads a case file line by line; blank lines are skipped, a broken line becomes an
/// error naming its line number.
fn read_cases(file: &str) -> Result<Vec<(usize, Result<Case, InvalidCase>)>> {
    let reader: Box<dyn BufRead> = if file == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        Box::new(BufReader::new(
            std::fs::File::open(file).with_context(|| format!("cannot open case file {file}"))?,
        ))
    };
    let mut cases = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| format!("cannot read line {} of {file}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let case = Case::from_json(&line).map_err(|e| InvalidCase {
            message: format!("line {}: {}", i + 1, e.message),
            ..e
        });
        cases.push((i + 1, case));
    }
    Ok(cases)
}

fn invalid(e: InvalidCase) -> Outcome {
    Outcome {
        id: e.id,
        result: Err(CaseError::invalid_case(e.message)),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lossparity: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Eval {
            backend: name,
            subjects,
            file,
        } => {
            let backend = backend(&name, subjects)?;
            for (_, case) in read_cases(&file)? {
                let outcome = match case {
                    Ok(case) => backend.evaluate(&case),
                    Err(e) => invalid(e),
                };
                writeln!(out, "{}", outcome.to_json())?;
                out.flush()?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff {
            subject,
            oracle,
            subjects,
            file,
        } => {
            let cases = read_cases(&file)?;
            let oracle = backend(&oracle, subjects)?;
            let subject = backend(&subject, subjects)?;
            let (mut agree, mut diverge, mut unsupported, mut invalid_lines) = (0, 0, 0, 0);
            for (line, case) in cases {
                let case = match case {
                    Ok(case) => case,
                    Err(e) => {
                        invalid_lines += 1;
                        writeln!(out, "INVALID  {}", e.message)?;
                        continue;
                    }
                };
                let name = case.id.clone().unwrap_or_else(|| format!("line {line}"));
                if let Err(why) = subject.supports(&case) {
                    unsupported += 1;
                    writeln!(
                        out,
                        "UNSUPPORTED {name}: {} cannot express it: {why}",
                        subject.name()
                    )?;
                    continue;
                }
                let expected = oracle.evaluate(&case);
                let actual = subject.evaluate(&case);
                let mode = Mode::between(case.op.spec().mode, oracle.name(), subject.name());
                match compare(&expected, &actual, mode) {
                    Ok(()) => {
                        agree += 1;
                        let what = match &expected.result {
                            Err(e) => format!("both raise {}: {}", e.kind, e.message),
                            Ok(_) => "values agree".to_string(),
                        };
                        writeln!(out, "AGREE    {name}: {what}")?;
                    }
                    Err(d) => {
                        diverge += 1;
                        let verdict = match d.subject_failure() {
                            Some(kind) => failure::class(kind).to_uppercase(),
                            None => "DIVERGE".into(),
                        };
                        let what = d.describe_as(oracle.name(), subject.name());
                        writeln!(out, "{verdict:<8} {name}: {what}")?;
                    }
                }
                out.flush()?;
            }
            let unsupported = if unsupported > 0 {
                format!(", {unsupported} unsupported")
            } else {
                String::new()
            };
            writeln!(
                out,
                "{agree} agree, {diverge} diverge{unsupported}, {invalid_lines} invalid line(s)"
            )?;
            Ok(if diverge > 0 || invalid_lines > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Report(args) => report_command(args),
        Command::Merge(args) => merge_command(args),
        Command::Explain { file } => {
            for (line, case) in read_cases(&file)? {
                match case {
                    Ok(case) => {
                        let name = case.id.clone().unwrap_or_else(|| format!("line {line}"));
                        writeln!(out, "== {name}\n{}", lossparity::explain::explain(&case))?;
                    }
                    Err(e) => writeln!(out, "== INVALID {}\n", e.message)?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Arguments of `lossparity report`.
#[derive(clap::Args)]
struct ReportArgs {
    /// Number of random cases of the whole run (all shards together).
    #[arg(long)]
    cases: u64,
    /// Seed: the same seed and options give the same report.json, byte for byte.
    #[arg(long)]
    seed: u64,
    /// Ops to draw cases of, comma-separated [default: every op].
    #[arg(long, value_delimiter = ',', value_parser = parse_op)]
    ops: Vec<Op>,
    /// Input dtypes to keep, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_dtype, default_value = "float32,float64")]
    dtypes: Vec<DType>,
    /// Run only the cases whose index is I modulo N (I is 0-based: 0/2 and 1/2 split a
    /// run in two); merge the shards' folders with `lossparity merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// The implementation under test (rust, torch, python, candle, burn, exec:CMD).
    #[arg(long, default_value = "rust", value_parser = parse_backend)]
    subject: BackendName,
    /// The implementation it is compared with.
    #[arg(long, default_value = "torch", value_parser = parse_backend)]
    oracle: BackendName,
    #[command(flatten)]
    subjects: SubjectArgs,
}

/// Arguments of `lossparity merge`.
#[derive(clap::Args)]
struct MergeArgs {
    /// Output folder for the merged report.
    #[arg(long)]
    out: PathBuf,
    /// The shards' report folders, every shard of one run.
    #[arg(required = true)]
    shards: Vec<PathBuf>,
}

fn parse_op(name: &str) -> Result<Op, String> {
    Op::named(name).ok_or_else(|| format!("unknown op {name:?}; expected one of {}", Op::names()))
}

fn parse_dtype(name: &str) -> Result<DType, String> {
    match DType::parse(name) {
        Some(d @ (DType::Float32 | DType::Float64)) => Ok(d),
        _ => Err(format!(
            "dtype {name:?} is not generated; expected float32 or float64"
        )),
    }
}

/// Prints a report's summary and where it went; exit status 1 when a divergence may be
/// a Rust bug.
fn finish_report(summary: &Summary, out: &std::path::Path) -> Result<ExitCode> {
    println!("{summary}");
    println!(
        "wrote {0}/report.md, {0}/report.json, {0}/divergences.jsonl, {0}/repro/",
        out.display()
    );
    Ok(if summary.suspect() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn report_command(args: ReportArgs) -> Result<ExitCode> {
    let subject = backend(&args.subject, args.subjects)?;
    let oracle = backend(&args.oracle, args.subjects)?;
    let options = lossparity::report::ReportOptions {
        seed: args.seed,
        cases: args.cases,
        ops: if args.ops.is_empty() {
            Op::all().collect()
        } else {
            args.ops
        },
        dtypes: args.dtypes,
        shard: args.shard,
        out: args.out,
    };
    let summary = lossparity::report::run_between(
        &options,
        subject.as_ref(),
        oracle.as_ref(),
        &progress::Bar::new(),
    )?;
    finish_report(&summary, &options.out)
}

fn merge_command(args: MergeArgs) -> Result<ExitCode> {
    let summary = lossparity::report::merge(&args.out, &args.shards)?;
    finish_report(&summary, &args.out)
}

/// The report's progress bar on standard error: cases done, cases per second, the time
/// left; hidden when standard error is not a terminal.
mod progress {
    use std::io::IsTerminal;

    use indicatif::{ProgressBar, ProgressStyle};

    pub struct Bar(ProgressBar);

    impl Bar {
        pub fn new() -> Self {
            Bar(if std::io::stderr().is_terminal() {
                ProgressBar::new(0)
            } else {
                ProgressBar::hidden()
            })
        }
    }

    impl lossparity::report::Progress for Bar {
        fn start(&self, total: u64) {
            self.0.set_length(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{elapsed_precise} {wide_bar} {pos}/{len} cases  {per_sec}  ETA {eta}  {msg}",
            ) {
                self.0.set_style(style);
            }
        }
        fn advance(&self, cases: u64) {
            self.0.inc(cases);
        }
        fn status(&self, message: &str) {
            self.0.set_message(message.to_string());
        }
        fn finish(&self) {
            self.0.finish_and_clear();
        }
    }
}
