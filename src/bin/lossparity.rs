//! The `lossparity` command line: evaluate case files with either backend, run both and
//! print a verdict per case, or write the divergence report of random cases.

use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use lossparity::backend::{Backend, RustBackend};
use lossparity::case::{Case, CaseError, DType, InvalidCase, Op, Outcome};
use lossparity::compare::compare;
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
        /// Which implementation runs the cases.
        #[arg(long, value_enum, default_value_t = Which::Rust)]
        backend: Which,
        /// Case file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Run every case through libtorch and the Rust losses and print a verdict per case;
    /// exit status 1 when any case diverges.
    Diff {
        /// Case file, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Run random cases through libtorch and the Rust losses and write the divergence
    /// report (report.md, report.json, divergences.jsonl, repro/, plots); exit status 1
    /// when a divergence may be a Rust bug.
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

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Rust,
    Torch,
}

fn backend(which: Which) -> Result<Box<dyn Backend>> {
    match which {
        Which::Rust => Ok(Box::new(RustBackend::default())),
        Which::Torch => torch_backend(),
    }
}

#[cfg(feature = "torch")]
fn torch_backend() -> Result<Box<dyn Backend>> {
    Ok(Box::new(lossparity::backend::TorchBackend))
}

#[cfg(not(feature = "torch"))]
fn torch_backend() -> Result<Box<dyn Backend>> {
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
            backend: which,
            file,
        } => {
            let backend = backend(which)?;
            for (_, case) in read_cases(&file)? {
                let outcome = match case {
                    Ok(case) => backend.evaluate(&case),
                    Err(e) => invalid(e),
                };
                writeln!(out, "{}", outcome.to_json())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { file } => {
            let torch = torch_backend()?;
            let rust = RustBackend::default();
            let (mut agree, mut diverge, mut invalid_lines) = (0, 0, 0);
            for (line, case) in read_cases(&file)? {
                let case = match case {
                    Ok(case) => case,
                    Err(e) => {
                        invalid_lines += 1;
                        writeln!(out, "INVALID  {}", e.message)?;
                        continue;
                    }
                };
                let name = case.id.clone().unwrap_or_else(|| format!("line {line}"));
                let expected = torch.evaluate(&case);
                let actual = rust.evaluate(&case);
                let mode = case.op.spec().mode;
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
                        writeln!(out, "DIVERGE  {name}: {d}")?;
                    }
                }
            }
            writeln!(
                out,
                "{agree} agree, {diverge} diverge, {invalid_lines} invalid line(s)"
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

#[cfg(feature = "torch")]
fn report_command(args: ReportArgs) -> Result<ExitCode> {
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
    let summary = lossparity::report::run_with_progress(&options, &progress::Bar::new())?;
    finish_report(&summary, &options.out)
}

#[cfg(not(feature = "torch"))]
fn report_command(_: ReportArgs) -> Result<ExitCode> {
    anyhow::bail!("`lossparity report` needs libtorch: rebuild with the default `torch` feature after scripts/setup-libtorch.sh")
}

fn merge_command(args: MergeArgs) -> Result<ExitCode> {
    let summary = lossparity::report::merge(&args.out, &args.shards)?;
    finish_report(&summary, &args.out)
}

/// The report's progress bar on standard error: cases done, cases per second, the time
/// left; hidden when standard error is not a terminal.
#[cfg(feature = "torch")]
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
