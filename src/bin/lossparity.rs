//! The `lossparity` command line: evaluate case files with either backend, or run both
//! and print a verdict per case.

use std::io::{self, BufRead, BufReader, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use lossparity::backend::{Backend, RustBackend};
use lossparity::case::{Case, CaseError, Op, Outcome};
use lossparity::compare::{compare, Mode};

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
fn read_cases(file: &str) -> Result<Vec<(usize, Result<Case, String>)>> {
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
        let case = Case::from_json(&line).map_err(|e| format!("line {}: {e}", i + 1));
        cases.push((i + 1, case));
    }
    Ok(cases)
}

fn invalid(message: String) -> Outcome {
    Outcome {
        id: None,
        result: Err(CaseError::invalid_case(message)),
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
                    Err(message) => invalid(message),
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
                    Err(message) => {
                        invalid_lines += 1;
                        writeln!(out, "INVALID  {message}")?;
                        continue;
                    }
                };
                let name = case.id.clone().unwrap_or_else(|| format!("line {line}"));
                let expected = torch.evaluate(&case);
                let actual = rust.evaluate(&case);
                let mode = if case.op == Op::NllLoss {
                    Mode::Exact
                } else {
                    Mode::Tolerant
                };
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
    }
}
