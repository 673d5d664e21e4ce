//! Conformance tests for your own implementation, from your own `cargo test`.
//!
//! Implement [`Backend`] for your losses (turn a [`Case`] into an [`Outcome`]; say in
//! [`Backend::supports`] which cases it can express), then let [`Conformance`] draw the
//! project's random cases of the ops you choose, run each through your backend and an
//! oracle (libtorch by default), and compare them under the tolerance policy. A
//! divergence is shrunk by proptest to a minimal case, persisted (so the next run tries
//! it first), and reported with the case as JSON, both outcomes, and a Python script
//! that reproduces it in PyTorch.
//!
//! ```no_run
//! use lossparity::backend::{Backend, RustBackend};
//! use lossparity::case::Op;
//! use lossparity::conformance::Conformance;
//!
//! # #[cfg(feature = "torch")]
//! #[test]
//! fn my_losses_match_pytorch() {
//!     let mine = RustBackend::default(); // your Backend here
//!     Conformance::new([Op::named("log_softmax").unwrap()])
//!         .cases(500)
//!         .assert_matches_libtorch(&mine);
//! }
//! ```
//!
//! `examples/conformance.rs` is a complete one: a deliberately naive `log_softmax`, the
//! test that catches its bug, and what the failure prints.
//!
//! A value divergence that the who-is-right reference explains as rounding (your value
//! within the tolerance of the exact result, or no more than twice as far off as the
//! oracle's) is accepted, as it is for the Rust losses; the rest of the known-divergence
//! table is about the Rust losses and does not apply to other subjects.

use std::cell::Cell;
use std::fmt;
use std::path::PathBuf;

use proptest::test_runner::{
    Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

use crate::backend::Backend;
use crate::case::{Case, Op, Outcome};
use crate::compare::{compare, Mode};
use crate::known::explained_by_rounding;
use crate::repro::python_repro;

/// A conformance run: which ops, how many cases, where failures are kept.
#[derive(Debug, Clone)]
pub struct Conformance {
    ops: Vec<Op>,
    cases: u32,
    seed: u64,
    regressions: Option<PathBuf>,
}

/// What a run found for one op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// The op.
    pub op: Op,
    /// Cases on which both sides agree (an explained rounding difference included).
    pub agreed: u32,
    /// Of those, cases whose values differ by rounding that the reference explains.
    pub rounding: u32,
    /// Cases the subject declared it cannot express ([`Backend::supports`]).
    pub unsupported: u32,
}

/// A divergence, shrunk to a minimal case.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The op whose cases diverged.
    pub op: Op,
    /// The minimal diverging case.
    pub case: Case,
    /// The divergence, in words.
    pub divergence: String,
    /// The oracle's outcome of the case.
    pub oracle: Outcome,
    /// The subject's outcome of the case.
    pub subject: Outcome,
    /// The subject's and the oracle's names.
    pub names: (String, String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (subject, oracle) = &self.names;
        writeln!(
            f,
            "{}: `{subject}` diverges from `{oracle}` on this case (shrunk to a minimal one):",
            self.op.name()
        )?;
        writeln!(f, "  {}", self.divergence)?;
        writeln!(f, "case:    {}", self.case.to_json())?;
        writeln!(f, "{oracle:<8} {}", self.oracle.to_json())?;
        writeln!(f, "{subject:<8} {}", self.subject.to_json())?;
        write!(f, "reproduce in PyTorch:\n{}", python_repro(&self.case))
    }
}

/// Why a run did not pass.
#[derive(Debug, Clone)]
pub enum Error {
    /// A case diverged; the failure holds it, shrunk.
    Diverged(Box<Failure>),
    /// proptest gave up (too many rejected draws), with its reason.
    Aborted(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Diverged(failure) => failure.fmt(f),
            Error::Aborted(why) => write!(f, "the conformance run was aborted: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl Conformance {
    /// A run over `ops`: 256 cases per op (or `PROPTEST_CASES`), the same cases every
    /// run, failures kept in `proptest-regressions/lossparity-conformance.txt` of the
    /// current directory (your crate's root under `cargo test`).
    pub fn new(ops: impl IntoIterator<Item = Op>) -> Conformance {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256);
        Conformance {
            ops: ops.into_iter().collect(),
            cases,
            seed: 0x1055_9a71,
            regressions: Some(PathBuf::from(
                "proptest-regressions/lossparity-conformance.txt",
            )),
        }
    }

    /// Every op of the registry.
    pub fn all_ops() -> Conformance {
        Conformance::new(Op::all())
    }

    /// Random cases per op.
    pub fn cases(mut self, cases: u32) -> Conformance {
        self.cases = cases;
        self
    }

    /// Another seed draws other cases.
    pub fn seed(mut self, seed: u64) -> Conformance {
        self.seed = seed;
        self
    }

    /// Where failing cases are kept and replayed first (`None`: nowhere).
    pub fn regressions(mut self, path: Option<PathBuf>) -> Conformance {
        self.regressions = path;
        self
    }

    /// Runs every op's cases through `subject` and `oracle`: the tally per op, or the
    /// first divergence, shrunk.
    pub fn run(&self, subject: &dyn Backend, oracle: &dyn Backend) -> Result<Vec<Tally>, Error> {
        self.ops
            .iter()
            .map(|&op| self.run_op(op, subject, oracle))
            .collect()
    }

    /// [`run`](Self::run) against libtorch, for a test: panics with the [`Failure`].
    #[cfg(feature = "torch")]
    pub fn assert_matches_libtorch(&self, subject: &dyn Backend) -> Vec<Tally> {
        match self.run(subject, &crate::backend::TorchBackend) {
            Ok(tallies) => tallies,
            Err(e) => panic!("{e}"),
        }
    }

    fn run_op(&self, op: Op, subject: &dyn Backend, oracle: &dyn Backend) -> Result<Tally, Error> {
        let config = Config {
            cases: self.cases,
            rng_seed: RngSeed::Fixed(op_seed(self.seed, op.name())),
            failure_persistence: self.regressions.as_ref().map(|p| {
                let path: &'static str = Box::leak(p.to_string_lossy().into_owned().into());
                Box::new(FileFailurePersistence::Direct(path)) as _
            }),
            max_shrink_iters: 4096,
            ..Config::default()
        };
        let tally = Cell::new(Tally {
            op,
            agreed: 0,
            rounding: 0,
            unsupported: 0,
        });
        let mut runner = TestRunner::new(config);
        let mode = Mode::between(op.spec().mode, oracle.name(), subject.name());
        let strategy = (op.spec().strategy)();
        let result = runner.run(&strategy, |case| {
            let mut t = tally.get();
            if subject.supports(&case).is_err() {
                t.unsupported += 1;
                tally.set(t);
                return Ok(());
            }
            let expected = oracle.evaluate(&case);
            let actual = subject.evaluate(&case);
            match compare(&expected, &actual, mode) {
                Ok(()) => t.agreed += 1,
                Err(d) if explained_by_rounding(&case, &d) => {
                    t.agreed += 1;
                    t.rounding += 1;
                }
                Err(d) => return Err(TestCaseError::fail(d.to_string())),
            }
            tally.set(t);
            Ok(())
        });
        match result {
            Ok(()) => Ok(tally.get()),
            Err(TestError::Fail(_, case)) => {
                let oracle_outcome = oracle.evaluate(&case);
                let subject_outcome = subject.evaluate(&case);
                let divergence = match compare(&oracle_outcome, &subject_outcome, mode) {
                    Err(d) => d.describe_as(oracle.name(), subject.name()),
                    Ok(()) => "diverged while shrinking, agrees when run again (a subject \
                               whose result changes from run to run)"
                        .into(),
                };
                Err(Error::Diverged(Box::new(Failure {
                    op,
                    case,
                    divergence,
                    oracle: oracle_outcome,
                    subject: subject_outcome,
                    names: (subject.name().to_string(), oracle.name().to_string()),
                })))
            }
            Err(TestError::Abort(why)) => Err(Error::Aborted(format!("{}: {why}", op.name()))),
        }
    }
}

/// Each op's own cases: splitmix64 over the seed and the op's name.
fn op_seed(seed: u64, name: &str) -> u64 {
    let mix = |h: u64, word: u64| {
        let mut z = (h ^ word).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    name.bytes().fold(mix(0, seed), |h, b| mix(h, u64::from(b)))
}
