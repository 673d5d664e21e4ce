//! What a report holds and how it is accumulated: counts, extremes and histograms per
//! op x dtype x reduction, and the worst cases of each divergence class. Every field
//! merges exactly (sums, maxima with ties broken by case index, top-k lists in a total
//! order), so the shards of a run merge into the report of the whole run.

use std::collections::BTreeMap;

use crate::case::{DType, Op};
use crate::compare::{ulp_distance, Tolerance};
use crate::losses::Reduction;

/// How many worst cases each divergence class keeps.
pub const WORST_PER_CLASS: usize = 5;

/// Which cases a run covers: those whose index is `index` modulo `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard's number, `0..count`.
    pub index: u64,
    /// How many shards the run is split into.
    pub count: u64,
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether case `i` belongs to the shard.
    pub fn contains(&self, i: u64) -> bool {
        i % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let err = || format!("shard {s:?} is not I/N with 0 <= I < N (0-based), e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: u64 = i.trim().parse().map_err(|_| err())?;
        let count: u64 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a run was asked to do; the same for every shard of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The seed.
    pub seed: u64,
    /// Number of cases of the whole run (all shards).
    pub cases: u64,
    /// The ops drawn from, in the registry's order.
    pub ops: Vec<Op>,
    /// The input dtypes kept.
    pub dtypes: Vec<DType>,
    /// The shard, or `None` for the whole run.
    pub shard: Option<Shard>,
    /// The backend under test (`rust` unless told otherwise).
    pub subject: String,
    /// The backend it is compared with (`torch`, libtorch, unless told otherwise).
    pub oracle: String,
}

impl RunInfo {
    /// How the report names a backend: `libtorch` for `torch`, else its name.
    pub fn label(backend: &str) -> &str {
        match backend {
            "torch" => "libtorch",
            other => other,
        }
    }

    /// Whether this is the project's own comparison, the Rust losses against
    /// libtorch, where the known-divergence table applies in full.
    pub fn is_default(&self) -> bool {
        self.subject == "rust" && self.oracle == "torch"
    }
}

/// The sort rank of an op, dtype or reduction, for a stable table order.
pub(crate) fn op_rank(op: Op) -> usize {
    op.rank()
}

pub(crate) fn dtype_rank(dtype: DType) -> usize {
    match dtype {
        DType::Float32 => 0,
        DType::Float64 => 1,
        DType::Float16 => 2,
        DType::BFloat16 => 3,
        DType::Int64 => 4,
        DType::UInt8 => 5,
    }
}

/// One row of the tables: an op, an input dtype and, for the losses, a reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupKey {
    /// The op.
    pub op: Op,
    /// The input's dtype.
    pub dtype: DType,
    /// The reduction (`None` for log_softmax and softmax).
    pub reduction: Option<Reduction>,
}

impl GroupKey {
    fn rank(&self) -> (usize, usize, usize) {
        let reduction = match self.reduction {
            None => 0,
            Some(Reduction::None) => 1,
            Some(Reduction::Mean) => 2,
            Some(Reduction::Sum) => 3,
        };
        (op_rank(self.op), dtype_rank(self.dtype), reduction)
    }

    /// The reduction's name, or `-`.
    pub fn reduction_name(&self) -> &'static str {
        self.reduction.map_or("-", Reduction::as_str)
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

/// The largest differences between two sets of values compared element by element,
/// and the case where the worst one (relative to the tolerance) occurred.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extremes {
    /// Elements compared.
    pub elements: u64,
    /// Elements where one side is NaN or infinite and the other is not the same.
    pub nonfinite: u64,
    /// Largest `|actual - expected|` over finite elements.
    pub max_abs: f64,
    /// Largest `|actual - expected| / |expected|` (infinite when expected is 0).
    pub max_rel: f64,
    /// Largest distance in ULPs of the dtype.
    pub max_ulp: u64,
    /// Largest `|actual - expected| / (atol + rtol |expected|)`; infinite with a
    /// non-finite mismatch. Above 1 is outside the tolerance policy.
    pub worst_ratio: f64,
    /// The case of `worst_ratio` (the lowest index among ties).
    pub worst_case: Option<u64>,
}

impl Extremes {
    /// Takes in another set's extremes.
    pub fn absorb(&mut self, other: &Extremes) {
        self.elements += other.elements;
        self.nonfinite += other.nonfinite;
        self.max_abs = self.max_abs.max(other.max_abs);
        self.max_rel = self.max_rel.max(other.max_rel);
        self.max_ulp = self.max_ulp.max(other.max_ulp);
        let better = match (self.worst_case, other.worst_case) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(a), Some(b)) => {
                other.worst_ratio > self.worst_ratio
                    || (other.worst_ratio == self.worst_ratio && b < a)
            }
        };
        if better {
            self.worst_ratio = other.worst_ratio;
            self.worst_case = other.worst_case;
        }
    }
}

/// Lower edge of the first histogram bin, in log10 of the tolerance ratio.
pub const HISTOGRAM_LOW: f64 = -12.0;
/// Width of a histogram bin, in decades.
pub const HISTOGRAM_WIDTH: f64 = 0.5;
/// Number of histogram bins between the underflow and overflow bins.
pub const HISTOGRAM_BINS: usize = 32;

/// Value elements of one op and dtype by `log10(|rust - torch| / (atol + rtol
/// |torch|))`: 0 is the edge of the tolerance policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Elements equal on both sides (bit for bit, or both NaN, or the same infinity).
    pub exact: u64,
    /// Elements with a non-finite mismatch.
    pub nonfinite: u64,
    /// Below [`HISTOGRAM_LOW`].
    pub below: u64,
    /// Bin `k` covers `[LOW + k WIDTH, LOW + (k + 1) WIDTH)`.
    pub bins: Vec<u64>,
    /// At or above the last bin's upper edge.
    pub above: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            exact: 0,
            nonfinite: 0,
            below: 0,
            bins: vec![0; HISTOGRAM_BINS],
            above: 0,
        }
    }
}

impl Histogram {
    /// Counts one element by its tolerance ratio (finite, positive).
    pub fn add_ratio(&mut self, ratio: f64) {
        let x = (ratio.log10() - HISTOGRAM_LOW) / HISTOGRAM_WIDTH;
        if x < 0.0 {
            self.below += 1;
        } else if x >= HISTOGRAM_BINS as f64 {
            self.above += 1;
        } else {
            self.bins[x as usize] += 1;
        }
    }

    /// Takes in another histogram's counts.
    pub fn absorb(&mut self, other: &Histogram) {
        self.exact += other.exact;
        self.nonfinite += other.nonfinite;
        self.below += other.below;
        self.above += other.above;
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
    }

    /// Elements counted.
    pub fn total(&self) -> u64 {
        self.exact + self.nonfinite + self.below + self.above + self.bins.iter().sum::<u64>()
    }
}

/// Compares `actual` with `expected` (plus `residuals`, the part of an exact reference
/// that rounding to f64 dropped) element by element under a dtype's tolerance.
pub fn measure(
    dtype: DType,
    actual: &[f64],
    expected: &[f64],
    residuals: Option<&[f64]>,
    case: u64,
    mut histogram: Option<&mut Histogram>,
) -> Extremes {
    let tol = Tolerance::for_dtype(dtype);
    let mut ext = Extremes {
        worst_case: Some(case),
        ..Extremes::default()
    };
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        ext.elements += 1;
        let same_special = (a.is_nan() && e.is_nan()) || (a.is_infinite() && a == e);
        if same_special {
            if let Some(h) = histogram.as_deref_mut() {
                h.exact += 1;
            }
            continue;
        }
        if !a.is_finite() || !e.is_finite() {
            ext.nonfinite += 1;
            ext.worst_ratio = f64::INFINITY;
            if let Some(h) = histogram.as_deref_mut() {
                h.nonfinite += 1;
            }
            continue;
        }
        let residual = residuals.map_or(0.0, |r| r[i]);
        let abs = ((a - e) - residual).abs();
        let exact = e + residual;
        let rel = if abs == 0.0 {
            0.0
        } else if exact == 0.0 {
            f64::INFINITY
        } else {
            abs / exact.abs()
        };
        let ratio = abs / (tol.atol + tol.rtol * exact.abs());
        ext.max_abs = ext.max_abs.max(abs);
        ext.max_rel = ext.max_rel.max(rel);
        ext.max_ulp = ext.max_ulp.max(ulp_distance(dtype, a, e));
        ext.worst_ratio = ext.worst_ratio.max(ratio);
        if let Some(h) = histogram.as_deref_mut() {
            if abs == 0.0 {
                h.exact += 1;
            } else {
                h.add_ratio(ratio);
            }
        }
    }
    if ext.elements == 0 {
        ext.worst_case = None;
    }
    ext
}

/// Who is right on a value divergence, judged against the higher-precision reference
/// by each side's worst error relative to the tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WhoIsRight {
    /// libtorch's value is closer to the reference.
    LibtorchCloser,
    /// No reference, or both equally far from it.
    Undecided,
    /// The Rust value is closer to the reference.
    RustCloser,
    /// Both are within the tolerance of the reference, just not of each other.
    BothWithinPolicy,
}

impl WhoIsRight {
    /// Every verdict, in report order.
    pub const ALL: [WhoIsRight; 4] = [
        WhoIsRight::LibtorchCloser,
        WhoIsRight::Undecided,
        WhoIsRight::RustCloser,
        WhoIsRight::BothWithinPolicy,
    ];

    /// The verdict from each side's worst tolerance ratio against the reference.
    pub fn judge(rust: f64, torch: f64) -> WhoIsRight {
        if rust <= 1.0 && torch <= 1.0 {
            WhoIsRight::BothWithinPolicy
        } else if rust < torch {
            WhoIsRight::RustCloser
        } else if torch < rust {
            WhoIsRight::LibtorchCloser
        } else {
            WhoIsRight::Undecided
        }
    }

    /// The report's name: `rust-closer`, `libtorch-closer`, ...
    pub fn name(self) -> &'static str {
        match self {
            WhoIsRight::RustCloser => "rust-closer",
            WhoIsRight::LibtorchCloser => "libtorch-closer",
            WhoIsRight::BothWithinPolicy => "both-within-policy",
            WhoIsRight::Undecided => "undecided",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<WhoIsRight> {
        WhoIsRight::ALL.into_iter().find(|w| w.name() == name)
    }
}

/// The who-is-right counts of a group's value divergences.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WhoCounts {
    /// Rust closer to the reference.
    pub rust_closer: u64,
    /// libtorch closer to the reference.
    pub libtorch_closer: u64,
    /// Both within the tolerance of the reference.
    pub both_within_policy: u64,
    /// No reference or a tie.
    pub undecided: u64,
}

impl WhoCounts {
    /// Counts one verdict.
    pub fn add(&mut self, who: WhoIsRight) {
        *self.get_mut(who) += 1;
    }

    fn get_mut(&mut self, who: WhoIsRight) -> &mut u64 {
        match who {
            WhoIsRight::RustCloser => &mut self.rust_closer,
            WhoIsRight::LibtorchCloser => &mut self.libtorch_closer,
            WhoIsRight::BothWithinPolicy => &mut self.both_within_policy,
            WhoIsRight::Undecided => &mut self.undecided,
        }
    }

    /// The count of one verdict.
    pub fn get(&self, who: WhoIsRight) -> u64 {
        match who {
            WhoIsRight::RustCloser => self.rust_closer,
            WhoIsRight::LibtorchCloser => self.libtorch_closer,
            WhoIsRight::BothWithinPolicy => self.both_within_policy,
            WhoIsRight::Undecided => self.undecided,
        }
    }

    /// Takes in another group's counts.
    pub fn absorb(&mut self, other: &WhoCounts) {
        for who in WhoIsRight::ALL {
            *self.get_mut(who) += other.get(who);
        }
    }

    /// All value divergences counted.
    pub fn total(&self) -> u64 {
        WhoIsRight::ALL.iter().map(|&w| self.get(w)).sum()
    }
}

/// One side's accuracy against the reference over a group's value cases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accuracy {
    /// Errors against the reference.
    pub error: Extremes,
    /// Cases where some element is outside the tolerance of the reference.
    pub outside_policy: u64,
}

impl Accuracy {
    /// Takes in one case's errors, or another group's accuracy.
    pub fn absorb(&mut self, other: &Accuracy) {
        self.error.absorb(&other.error);
        self.outside_policy += other.outside_policy;
    }
}

/// Everything counted for one op x dtype x reduction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupStats {
    /// Cases run.
    pub cases: u64,
    /// Both sides computed values and they agree.
    pub agree: u64,
    /// Both sides raised the same error.
    pub errors_agree: u64,
    /// Divergences explained by the table of known divergences.
    pub known: u64,
    /// Divergences not explained.
    pub diverge: u64,
    /// Cases the subject cannot express (not compared; counted among `cases`).
    pub unsupported: u64,
    /// Cases where both sides computed values of the same shape.
    pub value_cases: u64,
    /// Rust against libtorch over the value cases.
    pub sides: Extremes,
    /// Who is right on the unexplained value divergences.
    pub who: WhoCounts,
    /// Value cases with a reference.
    pub reference_cases: u64,
    /// The Rust side against the reference.
    pub rust: Accuracy,
    /// libtorch against the reference.
    pub torch: Accuracy,
}

impl GroupStats {
    /// Takes in another group's stats.
    pub fn absorb(&mut self, o: &GroupStats) {
        self.cases += o.cases;
        self.agree += o.agree;
        self.errors_agree += o.errors_agree;
        self.known += o.known;
        self.diverge += o.diverge;
        self.unsupported += o.unsupported;
        self.value_cases += o.value_cases;
        self.sides.absorb(&o.sides);
        self.who.absorb(&o.who);
        self.reference_cases += o.reference_cases;
        self.rust.absorb(&o.rust);
        self.torch.absorb(&o.torch);
    }
}

/// A class of divergences, in the order the report lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DivergenceClass {
    /// A value divergence, by who is right.
    Value(WhoIsRight),
    /// Both raised, with another kind or message.
    ErrorMismatch,
    /// Only libtorch raised.
    OnlyTorchRaises,
    /// Only the Rust side raised.
    OnlyRustRaises,
    /// Different dtypes or shapes.
    DtypeOrShape,
    /// An entry of the known-divergence table, by name.
    Known(String),
    /// The subject failed the case (`crash`, `timeout`, `bad-outcome`, `panic`).
    Failed(String),
}

impl DivergenceClass {
    /// The report's name: `value/rust-closer`, `error-mismatch`, `known/<name>`, ...
    pub fn name(&self) -> String {
        match self {
            DivergenceClass::Value(who) => format!("value/{}", who.name()),
            DivergenceClass::ErrorMismatch => "error-mismatch".into(),
            DivergenceClass::OnlyTorchRaises => "only-libtorch-raises".into(),
            DivergenceClass::OnlyRustRaises => "only-rust-raises".into(),
            DivergenceClass::DtypeOrShape => "dtype-or-shape".into(),
            DivergenceClass::Known(name) => format!("known/{name}"),
            DivergenceClass::Failed(name) => name.clone(),
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<DivergenceClass> {
        if let Some(who) = name.strip_prefix("value/") {
            return WhoIsRight::parse(who).map(DivergenceClass::Value);
        }
        if let Some(known) = name.strip_prefix("known/") {
            return Some(DivergenceClass::Known(known.to_string()));
        }
        Some(match name {
            "error-mismatch" => DivergenceClass::ErrorMismatch,
            "only-libtorch-raises" => DivergenceClass::OnlyTorchRaises,
            "only-rust-raises" => DivergenceClass::OnlyRustRaises,
            "dtype-or-shape" => DivergenceClass::DtypeOrShape,
            "crash" | "timeout" | "bad-outcome" | "panic" => DivergenceClass::Failed(name.into()),
            _ => return None,
        })
    }

    /// What a reader should make of the class, in one sentence.
    pub fn meaning(&self) -> &'static str {
        match self {
            DivergenceClass::Value(WhoIsRight::LibtorchCloser) => {
                "libtorch's values are closer to the higher-precision reference: look for a \
                 Rust bug first."
            }
            DivergenceClass::Value(WhoIsRight::Undecided) => {
                "no reference could be computed, or both sides are equally far from it: \
                 decide by hand."
            }
            DivergenceClass::Value(WhoIsRight::RustCloser) => {
                "the Rust values are closer to the reference: a libtorch imprecision, not a \
                 Rust bug."
            }
            DivergenceClass::Value(WhoIsRight::BothWithinPolicy) => {
                "both sides are within the tolerance of the reference but not of each other \
                 (the exact value lies between them): rounding noise of two valid \
                 implementations."
            }
            DivergenceClass::ErrorMismatch => {
                "both sides raise, with a different kind or message: a conformance bug."
            }
            DivergenceClass::OnlyTorchRaises => {
                "libtorch raises where the Rust side computes: a missing check, or a \
                 libtorch inconsistency."
            }
            DivergenceClass::OnlyRustRaises => {
                "the Rust side raises where libtorch computes: a check too many."
            }
            DivergenceClass::DtypeOrShape => "the outputs differ in dtype or shape.",
            DivergenceClass::Known(_) => {
                "explained by the reviewed table of known divergences (src/known.rs)."
            }
            DivergenceClass::Failed(_) => {
                "the subject failed the case instead of answering it (its process crashed, \
                 hung or wrote something else, or it panicked): a bug of the subject."
            }
        }
    }
}

/// The worst element of a value divergence, with the reference where there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct WorstElement {
    /// `output` or `grad_input`.
    pub part: String,
    /// Flat index.
    pub index: u64,
    /// libtorch's value.
    pub torch: f64,
    /// The Rust value.
    pub rust: f64,
    /// The reference value rounded to f64.
    pub reference: Option<f64>,
}

/// One divergent case, as the report lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEntry {
    /// The case's index in the run.
    pub index: u64,
    /// Its group.
    pub group: GroupKey,
    /// How bad: the tolerance ratio of the worst element for a value divergence, 0
    /// otherwise.
    pub severity: f64,
    /// Number of input elements (smaller cases are listed first among equals).
    pub size: u64,
    /// The divergence, in words (as `lossparity diff` prints it).
    pub divergence: String,
    /// The worst element, for a value divergence.
    pub element: Option<WorstElement>,
    /// Worst tolerance ratio of the Rust side against the reference.
    pub rust_ratio: Option<f64>,
    /// Worst tolerance ratio of libtorch against the reference.
    pub torch_ratio: Option<f64>,
    /// The case, one line of JSON (`shared/CASES.md`).
    pub case_json: String,
    /// The repro script's contents; only in the run that found the case (not read
    /// back from `report.json`).
    pub script: Option<String>,
}

impl CaseEntry {
    /// The case id, `case-<index>`.
    pub fn id(&self) -> String {
        format!("case-{}", self.index)
    }

    /// Path of the repro script, relative to the report folder.
    pub fn repro_path(&self) -> String {
        format!("repro/{}.py", self.id())
    }

    /// Order of listing: most severe first, then smallest, then lowest index.
    fn listing_order(&self, other: &CaseEntry) -> std::cmp::Ordering {
        other
            .severity
            .total_cmp(&self.severity)
            .then(self.size.cmp(&other.size))
            .then(self.index.cmp(&other.index))
    }
}

/// A divergence class: how many cases, and the worst few.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassStats {
    /// Cases in the class.
    pub count: u64,
    /// The worst [`WORST_PER_CLASS`] cases, in listing order.
    pub worst: Vec<CaseEntry>,
}

impl ClassStats {
    /// Counts a case and keeps it if it is among the worst.
    pub fn add(&mut self, entry: CaseEntry) {
        self.count += 1;
        self.keep(entry);
    }

    fn keep(&mut self, entry: CaseEntry) {
        let at = self
            .worst
            .partition_point(|e| e.listing_order(&entry).is_lt());
        if at < WORST_PER_CLASS {
            self.worst.insert(at, entry);
            self.worst.truncate(WORST_PER_CLASS);
        }
    }

    /// Takes in another shard's class.
    pub fn absorb(&mut self, other: &ClassStats) {
        self.count += other.count;
        for e in &other.worst {
            self.keep(e.clone());
        }
    }
}

/// A whole report: what was run, the tables, the classes and the histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// What was run.
    pub info: RunInfo,
    /// Per op x dtype x reduction.
    pub groups: BTreeMap<GroupKey, GroupStats>,
    /// Per divergence class.
    pub classes: BTreeMap<DivergenceClass, ClassStats>,
    /// Per op and dtype: Rust against libtorch, element by element.
    pub histograms: BTreeMap<(usize, usize), (Op, DType, Histogram)>,
}

impl Report {
    /// An empty report of a run.
    pub fn new(info: RunInfo) -> Self {
        Report {
            info,
            groups: BTreeMap::new(),
            classes: BTreeMap::new(),
            histograms: BTreeMap::new(),
        }
    }

    /// The histogram of an op and dtype, created empty when missing.
    pub fn histogram_mut(&mut self, op: Op, dtype: DType) -> &mut Histogram {
        &mut self
            .histograms
            .entry((op_rank(op), dtype_rank(dtype)))
            .or_insert_with(|| (op, dtype, Histogram::default()))
            .2
    }

    /// The sum of every group.
    pub fn totals(&self) -> GroupStats {
        let mut total = GroupStats::default();
        for g in self.groups.values() {
            total.absorb(g);
        }
        total
    }

    /// Takes in another shard's report (its run info is not checked here).
    pub fn absorb(&mut self, other: &Report) {
        for (k, g) in &other.groups {
            self.groups.entry(*k).or_default().absorb(g);
        }
        for (k, c) in &other.classes {
            self.classes.entry(k.clone()).or_default().absorb(c);
        }
        for (op, dtype, h) in other.histograms.values() {
            self.histogram_mut(*op, *dtype).absorb(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_zero_based() {
        assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn extremes_keep_the_lowest_case_among_equal_ratios() {
        let mut a = Extremes {
            worst_ratio: 2.0,
            worst_case: Some(9),
            ..Extremes::default()
        };
        let b = Extremes {
            worst_ratio: 2.0,
            worst_case: Some(4),
            ..Extremes::default()
        };
        a.absorb(&b);
        assert_eq!(a.worst_case, Some(4));
    }

    #[test]
    fn measure_counts_ulps_and_ratios_against_the_tolerance() {
        let one_ulp = f32::from_bits(1.0f32.to_bits() + 1) as f64;
        let ext = measure(DType::Float32, &[one_ulp, 0.5], &[1.0, 0.5], None, 3, None);
        assert_eq!(ext.max_ulp, 1);
        assert_eq!(ext.elements, 2);
        assert!(ext.worst_ratio > 0.0 && ext.worst_ratio < 1.0);
        assert_eq!(ext.worst_case, Some(3));
    }

    #[test]
    fn judging_prefers_the_side_closer_to_the_reference() {
        assert_eq!(WhoIsRight::judge(0.5, 3.0), WhoIsRight::RustCloser);
        assert_eq!(WhoIsRight::judge(4.0, 3.0), WhoIsRight::LibtorchCloser);
        assert_eq!(WhoIsRight::judge(0.9, 0.2), WhoIsRight::BothWithinPolicy);
        assert_eq!(
            WhoIsRight::judge(f64::INFINITY, f64::INFINITY),
            WhoIsRight::Undecided
        );
    }

    #[test]
    fn a_class_keeps_the_worst_cases_whatever_the_order_they_come_in() {
        let entry = |index: u64, severity: f64| CaseEntry {
            index,
            group: GroupKey {
                op: Op::SOFTMAX,
                dtype: DType::Float32,
                reduction: None,
            },
            severity,
            size: 1,
            divergence: String::new(),
            element: None,
            rust_ratio: None,
            torch_ratio: None,
            case_json: String::new(),
            script: None,
        };
        let mut forward = ClassStats::default();
        let mut backward = ClassStats::default();
        for i in 0..20 {
            forward.add(entry(i, (i % 7) as f64));
            backward.add(entry(19 - i, ((19 - i) % 7) as f64));
        }
        assert_eq!(forward, backward);
        let order: Vec<u64> = forward.worst.iter().map(|e| e.index).collect();
        assert_eq!(order, vec![6, 13, 5, 12, 19]);
    }
}
