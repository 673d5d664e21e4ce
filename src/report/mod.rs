//! The divergence report (`lossparity report`, `lossparity merge`): random cases from
//! the conformance strategies, run through libtorch and the Rust losses, with a verdict
//! per case, who is right on every value divergence (against a higher-precision
//! reference), and the outputs `report.md`, `report.json`, `divergences.jsonl`,
//! `repro/` and the histogram SVGs.
//!
//! Deterministic: case `i` is drawn from its own stream keyed by `(seed, i)`, cases are
//! accumulated in index order, and `report.json` has no timings, so a seed gives the
//! same `report.json` byte for byte, and the shards of a run merge into it.

mod assess;
mod generate;
mod json;
mod markdown;
mod script;
mod stats;
mod svg;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

pub use assess::{assess, assess_between, mode_of, unsupported, Assessment};
pub use generate::{case_key, CaseGenerator};
pub use json::{from_json, to_json, FORMAT};
pub use markdown::to_markdown;
pub use script::repro_script;
pub use stats::{
    measure, Accuracy, CaseEntry, ClassStats, DivergenceClass, Extremes, GroupKey, GroupStats,
    Histogram, Report, RunInfo, Shard, WhoCounts, WhoIsRight, WorstElement, HISTOGRAM_BINS,
    HISTOGRAM_LOW, HISTOGRAM_WIDTH, WORST_PER_CLASS,
};
pub use svg::histogram_svg;

use crate::backend::Backend;
use crate::case::{Case, DType, Op};

/// What `lossparity report` is asked to do.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The seed.
    pub seed: u64,
    /// Number of cases of the whole run.
    pub cases: u64,
    /// The ops to draw from.
    pub ops: Vec<Op>,
    /// The input dtypes to keep (float32, float64).
    pub dtypes: Vec<DType>,
    /// Run only this shard's cases.
    pub shard: Option<Shard>,
    /// The output folder.
    pub out: PathBuf,
}

/// Where a long run says how far it is: the command line draws a progress bar; the
/// library itself prints nothing. Every method does nothing by default.
pub trait Progress: Sync {
    /// The run starts with `total` cases to do.
    fn start(&self, total: u64) {
        let _ = total;
    }
    /// `cases` more cases are done (called from any thread).
    fn advance(&self, cases: u64) {
        let _ = cases;
    }
    /// A short status, such as the divergences found so far.
    fn status(&self, message: &str) {
        let _ = message;
    }
    /// The run is over.
    fn finish(&self) {}
}

/// No progress shown.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}

/// The headline numbers of a report, for the command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The totals over every group.
    pub totals: GroupStats,
}

impl Summary {
    fn of(report: &Report) -> Self {
        Summary {
            totals: report.totals(),
        }
    }

    /// Divergences that may be Rust bugs: every unexplained divergence except value
    /// divergences where the Rust side is closer to the reference or both sides are
    /// within tolerance of it.
    pub fn suspect(&self) -> u64 {
        let t = &self.totals;
        t.diverge - t.who.rust_closer - t.who.both_within_policy
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.totals;
        write!(
            f,
            "{} cases: {} agree, {} errors agree, {} known, {} diverge",
            t.cases, t.agree, t.errors_agree, t.known, t.diverge
        )?;
        if t.unsupported > 0 {
            write!(f, ", {} unsupported", t.unsupported)?;
        }
        if t.who.total() > 0 {
            let parts: Vec<String> = WhoIsRight::ALL
                .iter()
                .filter(|&&w| t.who.get(w) > 0)
                .map(|&w| format!("{} {}", t.who.get(w), w.name()))
                .collect();
            write!(f, " (value divergences: {})", parts.join(", "))?;
        }
        write!(f, "; {} unexplained", self.suspect())
    }
}

/// Writes every output file of a report into `out`. Stale repro scripts and plots of
/// an earlier report in the same folder are removed first. A repro script comes from
/// its entry (a run) or, when the entry has none (a merge), from the shard folders.
fn write_outputs(
    out: &Path,
    report: &Report,
    divergences: &[String],
    notes: Option<&str>,
    shard_dirs: &[PathBuf],
) -> Result<()> {
    let repro = out.join("repro");
    fs::create_dir_all(&repro).with_context(|| format!("cannot create {}", repro.display()))?;
    for dir in [out, repro.as_path()] {
        for file in fs::read_dir(dir)? {
            let path = file?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let stale = (dir == repro && name.starts_with("case-") && name.ends_with(".py"))
                || (dir == out && name.starts_with("histogram-") && name.ends_with(".svg"));
            if stale {
                fs::remove_file(&path)?;
            }
        }
    }
    let write = |name: &str, text: &str| -> Result<()> {
        let path = out.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("report.json", &to_json(report))?;
    write("report.md", &to_markdown(report, notes))?;
    let mut lines = String::new();
    for line in divergences {
        lines.push_str(line);
        lines.push('\n');
    }
    write("divergences.jsonl", &lines)?;
    let mut ops: Vec<Op> = Vec::new();
    for (op, _, _) in report.histograms.values() {
        if !ops.contains(op) {
            ops.push(*op);
        }
    }
    for op in ops {
        let series: Vec<(DType, &Histogram)> = report
            .histograms
            .values()
            .filter(|(o, _, _)| *o == op)
            .map(|(_, d, h)| (*d, h))
            .collect();
        write(
            &format!("histogram-{}.svg", op.name()),
            &histogram_svg(op, &series),
        )?;
    }
    for stats in report.classes.values() {
        for e in &stats.worst {
            let target = out.join(e.repro_path());
            if let Some(text) = &e.script {
                fs::write(&target, text)?;
                continue;
            }
            let source = shard_dirs
                .iter()
                .map(|d| d.join(e.repro_path()))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    anyhow!(
                        "no shard folder has {}; was it written by `lossparity report`?",
                        e.repro_path()
                    )
                })?;
            fs::copy(&source, &target)
                .with_context(|| format!("cannot copy {}", source.display()))?;
        }
    }
    Ok(())
}

/// Runs a report: generates the cases (or this shard's), evaluates them on both
/// sides, and writes the outputs into `options.out`.
#[cfg(feature = "torch")]
pub fn run(options: &ReportOptions) -> Result<Summary> {
    run_with_progress(options, &Silent)
}

/// [`run`], telling `progress` how far it is.
#[cfg(feature = "torch")]
pub fn run_with_progress(options: &ReportOptions, progress: &dyn Progress) -> Result<Summary> {
    use crate::backend::{RustBackend, TorchBackend};
    run_between(options, &RustBackend::default(), &TorchBackend, progress)
}

/// The report of `subject` against `oracle` (any backends: the Rust losses and
/// libtorch in [`run`]). A case the subject cannot express
/// ([`Backend::supports`]) is counted as unsupported,
/// not compared. The known-divergence table applies in full to the Rust losses against
/// libtorch only; for other pairs only its reference-judged rounding entries do.
pub fn run_between(
    options: &ReportOptions,
    subject: &(dyn Backend + Sync),
    oracle: &(dyn Backend + Sync),
    progress: &dyn Progress,
) -> Result<Summary> {
    use std::time::Instant;

    use rayon::prelude::*;

    let generator = CaseGenerator::new(options.seed, &options.ops, &options.dtypes)?;
    let shard = options.shard.unwrap_or(Shard::WHOLE);
    let indices: Vec<u64> = (0..options.cases).filter(|&i| shard.contains(i)).collect();
    let mut ops = options.ops.clone();
    ops.sort_by_key(|&op| stats::op_rank(op));
    ops.dedup();
    let mut dtypes = options.dtypes.clone();
    dtypes.sort_by_key(|&d| stats::dtype_rank(d));
    dtypes.dedup();
    let info = RunInfo {
        seed: options.seed,
        cases: options.cases,
        ops,
        dtypes,
        shard: options.shard,
        subject: subject.name().to_string(),
        oracle: oracle.name().to_string(),
    };
    let mut report = Report::new(info);
    fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;

    let names = (oracle.name(), subject.name());
    progress.start(indices.len() as u64);
    let started = Instant::now();
    let mut divergences = Vec::new();
    let mut diverging = 0u64;
    for chunk in indices.chunks(256) {
        let assessed: Vec<(Assessment, Case)> = chunk
            .par_iter()
            .map(|&i| {
                let case = generator.case(i);
                let a = match subject.supports(&case) {
                    Err(_) => assess::unsupported(i, &case),
                    Ok(()) => {
                        let expected = oracle.evaluate(&case);
                        let actual = subject.evaluate(&case);
                        assess::assess_between(i, &case, &expected, &actual, names)
                    }
                };
                progress.advance(1);
                (a, case)
            })
            .collect();
        for (a, case) in assessed {
            if a.divergence.is_some() {
                divergences.push(case.to_json());
                diverging +=
                    a.stats.diverge - a.stats.who.rust_closer - a.stats.who.both_within_policy;
            }
            add(&mut report, a);
        }
        progress.status(&format!("{diverging} unexplained"));
    }
    progress.finish();
    let seconds = started.elapsed().as_secs_f64();
    let notes = format!(
        "Wall time {seconds:.1} s for {} cases ({:.0} cases/s) on {} threads. Timings \
         appear only here, never in `report.json`.",
        indices.len(),
        indices.len() as f64 / seconds.max(1e-9),
        rayon::current_num_threads()
    );
    write_outputs(&options.out, &report, &divergences, Some(&notes), &[])?;
    Ok(Summary::of(&report))
}

/// Adds one case's assessment to a report.
pub fn add(report: &mut Report, a: Assessment) {
    report.groups.entry(a.group).or_default().absorb(&a.stats);
    report
        .histogram_mut(a.group.op, a.group.dtype)
        .absorb(&a.histogram);
    if let Some((class, entry)) = a.divergence {
        report.classes.entry(class).or_default().add(entry);
    }
}

/// Reads a report folder's `report.json`.
pub fn read_report(dir: &Path) -> Result<Report> {
    let path = dir.join("report.json");
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    from_json(&text).with_context(|| format!("{} is not a lossparity report", path.display()))
}

/// Merges the reports of a run's shards (folders written by `lossparity report
/// --shard I/N`) into the report of the whole run, written into `out`. The shards must
/// come from one run (same seed, cases, ops and dtypes) and cover it exactly once.
pub fn merge(out: &Path, shards: &[PathBuf]) -> Result<Summary> {
    let Some(first) = shards.first() else {
        bail!("no shard folders given");
    };
    let reports = shards
        .iter()
        .map(|d| read_report(d))
        .collect::<Result<Vec<_>>>()?;
    let whole = |r: &Report| RunInfo {
        shard: None,
        ..r.info.clone()
    };
    let info = whole(&reports[0]);
    let count = reports[0].info.shard.unwrap_or(Shard::WHOLE).count;
    let mut seen = vec![false; count as usize];
    for (dir, r) in shards.iter().zip(&reports) {
        if whole(r) != info {
            bail!(
                "{} is from another run than {} (seed, cases, ops, dtypes, subject or oracle differ)",
                dir.display(),
                first.display()
            );
        }
        let shard = r.info.shard.unwrap_or(Shard::WHOLE);
        if shard.count != count {
            bail!(
                "{} is shard {shard} but {} is one of {count}",
                dir.display(),
                first.display()
            );
        }
        if std::mem::replace(&mut seen[shard.index as usize], true) {
            bail!("shard {shard} is given twice ({})", dir.display());
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        bail!("shard {missing}/{count} is missing; merging needs every shard of the run");
    }
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if shards.iter().any(|d| canonical(d) == canonical(out)) {
        bail!(
            "the output folder {} is one of the shards; merge into a new folder",
            out.display()
        );
    }
    let mut merged = Report::new(info);
    for r in &reports {
        merged.absorb(r);
    }
    let mut divergences: Vec<(u64, String)> = Vec::new();
    for dir in shards {
        let path = dir.join("divergences.jsonl");
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let case = Case::from_json(line)
                .map_err(|e| anyhow!("{} line {}: {e}", path.display(), n + 1))?;
            let index = case
                .id
                .as_deref()
                .and_then(|id| id.strip_prefix("case-"))
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| {
                    anyhow!("{} line {}: id is not case-<index>", path.display(), n + 1)
                })?;
            divergences.push((index, line.to_string()));
        }
    }
    divergences.sort_by_key(|(i, _)| *i);
    let lines: Vec<String> = divergences.into_iter().map(|(_, l)| l).collect();
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let notes = format!(
        "Merged from {} shard folders: {}.",
        shards.len(),
        shards
            .iter()
            .map(|d| format!("`{}`", d.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    write_outputs(out, &merged, &lines, Some(&notes), shards)?;
    Ok(Summary::of(&merged))
}
