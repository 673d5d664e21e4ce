//! `report.json`: the report written with a fixed key order and deterministic number
//! formatting (shortest round-trip form; `"inf"`, `"-inf"`, `"nan"` as strings, as in
//! the case format), and read back for `lossparity merge`.

use std::fmt::Write as _;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::case::{Case, DType, Op};
use crate::compare::{Mode, Tolerance};
use crate::losses::Reduction;

use super::stats::{
    Accuracy, CaseEntry, ClassStats, DivergenceClass, Extremes, GroupKey, GroupStats, Histogram,
    Report, RunInfo, Shard, WhoCounts, WhoIsRight, WorstElement, HISTOGRAM_BINS, HISTOGRAM_LOW,
    HISTOGRAM_WIDTH,
};

/// The format tag at the top of `report.json`.
pub const FORMAT: &str = "lossparity-report/1";

/// A JSON value whose objects keep their key order.
enum Json {
    Null,
    Int(u64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
    /// Already JSON, one line (a case).
    Raw(String),
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
    v.map_or(Json::Null, f)
}

fn string(s: impl Into<String>) -> Json {
    Json::Str(s.into())
}

impl Json {
    fn is_scalar(&self) -> bool {
        !matches!(self, Json::Arr(_) | Json::Obj(_))
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
        match self {
            Json::Null => out.push_str("null"),
            Json::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Num(v) => write_number(out, *v),
            Json::Str(s) => out.push_str(&Value::String(s.clone()).to_string()),
            Json::Raw(s) => out.push_str(s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) if items.iter().all(Json::is_scalar) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write(out, indent);
                }
                out.push(']');
            }
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, indent + 2);
                    item.write(out, indent + 2);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push(']');
            }
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (key, value)) in fields.iter().enumerate() {
                    pad(out, indent + 2);
                    let _ = write!(out, "\"{key}\": ");
                    value.write(out, indent + 2);
                    out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
                }
                pad(out, indent);
                out.push('}');
            }
        }
    }
}

/// A float in its shortest round-trip form, or a string for the non-finite ones.
fn write_number(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("\"nan\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "\"inf\"" } else { "\"-inf\"" });
    } else {
        let _ = write!(out, "{v:?}");
    }
}

fn extremes(e: &Extremes) -> Json {
    Json::Obj(vec![
        ("elements", Json::Int(e.elements)),
        ("nonfinite", Json::Int(e.nonfinite)),
        ("max_abs", Json::Num(e.max_abs)),
        ("max_rel", Json::Num(e.max_rel)),
        ("max_ulp", Json::Int(e.max_ulp)),
        ("worst_ratio", Json::Num(e.worst_ratio)),
        (
            "worst_case",
            opt(e.worst_case, |i| string(format!("case-{i}"))),
        ),
    ])
}

fn accuracy(a: &Accuracy) -> Json {
    let Json::Obj(mut fields) = extremes(&a.error) else {
        unreachable!("extremes are an object")
    };
    fields.push(("outside_policy", Json::Int(a.outside_policy)));
    Json::Obj(fields)
}

fn stats_fields(g: &GroupStats) -> Vec<(&'static str, Json)> {
    vec![
        ("cases", Json::Int(g.cases)),
        ("agree", Json::Int(g.agree)),
        ("errors_agree", Json::Int(g.errors_agree)),
        ("known", Json::Int(g.known)),
        ("diverge", Json::Int(g.diverge)),
        ("unsupported", Json::Int(g.unsupported)),
        ("value_cases", Json::Int(g.value_cases)),
        ("sides", extremes(&g.sides)),
        (
            "who_is_right",
            Json::Obj(
                WhoIsRight::ALL
                    .iter()
                    .map(|&w| (w.name(), Json::Int(g.who.get(w))))
                    .collect(),
            ),
        ),
        ("reference_cases", Json::Int(g.reference_cases)),
        (
            "accuracy",
            Json::Obj(vec![
                ("rust", accuracy(&g.rust)),
                ("libtorch", accuracy(&g.torch)),
            ]),
        ),
    ]
}

fn group_key_fields(k: &GroupKey) -> Vec<(&'static str, Json)> {
    vec![
        ("op", string(k.op.name())),
        ("dtype", string(k.dtype.name())),
        ("reduction", string(k.reduction_name())),
    ]
}

fn entry(e: &CaseEntry) -> Json {
    let mut fields = vec![("id", string(e.id())), ("index", Json::Int(e.index))];
    fields.extend(group_key_fields(&e.group));
    fields.extend([
        ("severity", Json::Num(e.severity)),
        ("size", Json::Int(e.size)),
        ("divergence", string(e.divergence.clone())),
        (
            "element",
            opt(e.element.as_ref(), |el| {
                Json::Obj(vec![
                    ("part", string(el.part.clone())),
                    ("index", Json::Int(el.index)),
                    ("libtorch", Json::Num(el.torch)),
                    ("rust", Json::Num(el.rust)),
                    ("reference", opt(el.reference, Json::Num)),
                ])
            }),
        ),
        ("rust_ratio", opt(e.rust_ratio, Json::Num)),
        ("libtorch_ratio", opt(e.torch_ratio, Json::Num)),
        ("repro", string(e.repro_path())),
        ("case", Json::Raw(e.case_json.clone())),
    ]);
    Json::Obj(fields)
}

fn histogram(op: Op, dtype: DType, h: &Histogram) -> Json {
    Json::Obj(vec![
        ("op", string(op.name())),
        ("dtype", string(dtype.name())),
        ("log10_low", Json::Num(HISTOGRAM_LOW)),
        ("log10_width", Json::Num(HISTOGRAM_WIDTH)),
        ("exact", Json::Int(h.exact)),
        ("nonfinite", Json::Int(h.nonfinite)),
        ("below", Json::Int(h.below)),
        (
            "bins",
            Json::Arr(h.bins.iter().map(|&c| Json::Int(c)).collect()),
        ),
        ("above", Json::Int(h.above)),
    ])
}

/// The report as `report.json` text.
pub fn to_json(report: &Report) -> String {
    let info = &report.info;
    let policy = |d: DType| {
        let t = Tolerance::for_dtype(d);
        Json::Obj(vec![
            ("atol", Json::Num(t.atol)),
            ("rtol", Json::Num(t.rtol)),
        ])
    };
    let doc = Json::Obj(vec![
        ("format", string(FORMAT)),
        (
            "run",
            Json::Obj(vec![
                ("seed", Json::Int(info.seed)),
                ("cases", Json::Int(info.cases)),
                (
                    "ops",
                    Json::Arr(info.ops.iter().map(|o| string(o.name())).collect()),
                ),
                (
                    "dtypes",
                    Json::Arr(info.dtypes.iter().map(|d| string(d.name())).collect()),
                ),
                ("shard", opt(info.shard, |s| string(s.to_string()))),
                ("subject", string(info.subject.clone())),
                ("oracle", string(info.oracle.clone())),
            ]),
        ),
        (
            "policy",
            Json::Obj(vec![
                ("float32", policy(DType::Float32)),
                ("float64", policy(DType::Float64)),
                (
                    "exact_ops",
                    Json::Arr(
                        Op::all()
                            .filter(|op| op.spec().mode == Mode::Exact)
                            .map(|op| string(op.name()))
                            .collect(),
                    ),
                ),
            ]),
        ),
        ("totals", Json::Obj(stats_fields(&report.totals()))),
        (
            "groups",
            Json::Arr(
                report
                    .groups
                    .iter()
                    .map(|(k, g)| {
                        let mut fields = group_key_fields(k);
                        fields.extend(stats_fields(g));
                        Json::Obj(fields)
                    })
                    .collect(),
            ),
        ),
        (
            "classes",
            Json::Arr(
                report
                    .classes
                    .iter()
                    .map(|(class, c)| {
                        Json::Obj(vec![
                            ("class", string(class.name())),
                            ("meaning", string(class.meaning())),
                            ("count", Json::Int(c.count)),
                            ("worst", Json::Arr(c.worst.iter().map(entry).collect())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "histograms",
            Json::Arr(
                report
                    .histograms
                    .values()
                    .map(|(op, dtype, h)| histogram(*op, *dtype, h))
                    .collect(),
            ),
        ),
    ]);
    let mut out = String::new();
    doc.write(&mut out, 0);
    out.push('\n');
    out
}

/// Reading `report.json` back.
struct Reader<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Reader<'a> {
    fn field(&self, key: &str) -> Result<Reader<'a>> {
        let value = self
            .value
            .get(key)
            .ok_or_else(|| anyhow!("missing `{}.{key}`", self.path))?;
        Ok(Reader {
            value,
            path: format!("{}.{key}", self.path),
        })
    }

    fn u64(&self, key: &str) -> Result<u64> {
        let f = self.field(key)?;
        f.value
            .as_u64()
            .ok_or_else(|| anyhow!("`{}` is not a count", f.path))
    }

    fn f64_of(&self) -> Result<f64> {
        match self.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.as_str() {
                "inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                "nan" => Some(f64::NAN),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| anyhow!("`{}` is not a number", self.path))
    }

    fn f64(&self, key: &str) -> Result<f64> {
        self.field(key)?.f64_of()
    }

    fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        let f = self.field(key)?;
        if f.value.is_null() {
            Ok(None)
        } else {
            f.f64_of().map(Some)
        }
    }

    fn str(&self, key: &str) -> Result<&'a str> {
        let f = self.field(key)?;
        f.value
            .as_str()
            .ok_or_else(|| anyhow!("`{}` is not a string", f.path))
    }

    fn items(&self, key: &str) -> Result<Vec<Reader<'a>>> {
        let f = self.field(key)?;
        let items = f
            .value
            .as_array()
            .ok_or_else(|| anyhow!("`{}` is not an array", f.path))?;
        Ok(items
            .iter()
            .enumerate()
            .map(|(i, value)| Reader {
                value,
                path: format!("{}[{i}]", f.path),
            })
            .collect())
    }
}

fn parse_op(name: &str) -> Result<Op> {
    Op::named(name).ok_or_else(|| anyhow!("unknown op {name:?}"))
}

fn parse_dtype(name: &str) -> Result<DType> {
    DType::parse(name).ok_or_else(|| anyhow!("unknown dtype {name:?}"))
}

fn parse_case_id(id: &str) -> Result<u64> {
    id.strip_prefix("case-")
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| anyhow!("case id {id:?} is not case-<index>"))
}

fn read_group_key(r: &Reader) -> Result<GroupKey> {
    let reduction = match r.str("reduction")? {
        "-" => None,
        "none" => Some(Reduction::None),
        "mean" => Some(Reduction::Mean),
        "sum" => Some(Reduction::Sum),
        other => bail!("unknown reduction {other:?} in {}", r.path),
    };
    Ok(GroupKey {
        op: parse_op(r.str("op")?)?,
        dtype: parse_dtype(r.str("dtype")?)?,
        reduction,
    })
}

fn read_extremes(r: &Reader) -> Result<Extremes> {
    let worst = r.field("worst_case")?;
    Ok(Extremes {
        elements: r.u64("elements")?,
        nonfinite: r.u64("nonfinite")?,
        max_abs: r.f64("max_abs")?,
        max_rel: r.f64("max_rel")?,
        max_ulp: r.u64("max_ulp")?,
        worst_ratio: r.f64("worst_ratio")?,
        worst_case: match worst.value.as_str() {
            None => None,
            Some(id) => Some(parse_case_id(id)?),
        },
    })
}

fn read_accuracy(r: &Reader) -> Result<Accuracy> {
    Ok(Accuracy {
        error: read_extremes(r)?,
        outside_policy: r.u64("outside_policy")?,
    })
}

fn read_stats(r: &Reader) -> Result<GroupStats> {
    let who = r.field("who_is_right")?;
    let accuracy = r.field("accuracy")?;
    Ok(GroupStats {
        cases: r.u64("cases")?,
        agree: r.u64("agree")?,
        errors_agree: r.u64("errors_agree")?,
        known: r.u64("known")?,
        diverge: r.u64("diverge")?,
        unsupported: r
            .value
            .get("unsupported")
            .and_then(|v| v.as_u64())
            .unwrap_or(0),
        value_cases: r.u64("value_cases")?,
        sides: read_extremes(&r.field("sides")?)?,
        who: WhoCounts {
            rust_closer: who.u64(WhoIsRight::RustCloser.name())?,
            libtorch_closer: who.u64(WhoIsRight::LibtorchCloser.name())?,
            both_within_policy: who.u64(WhoIsRight::BothWithinPolicy.name())?,
            undecided: who.u64(WhoIsRight::Undecided.name())?,
        },
        reference_cases: r.u64("reference_cases")?,
        rust: read_accuracy(&accuracy.field("rust")?)?,
        torch: read_accuracy(&accuracy.field("libtorch")?)?,
    })
}

fn read_entry(r: &Reader) -> Result<CaseEntry> {
    let element = r.field("element")?;
    let element = if element.value.is_null() {
        None
    } else {
        Some(WorstElement {
            part: element.str("part")?.to_string(),
            index: element.u64("index")?,
            torch: element.f64("libtorch")?,
            rust: element.f64("rust")?,
            reference: element.opt_f64("reference")?,
        })
    };
    let case = r.field("case")?;
    let case = Case::from_json(&case.value.to_string())
        .map_err(|e| anyhow!("`{}` is not a case: {e}", case.path))?;
    Ok(CaseEntry {
        index: r.u64("index")?,
        group: read_group_key(r)?,
        severity: r.f64("severity")?,
        size: r.u64("size")?,
        divergence: r.str("divergence")?.to_string(),
        element,
        rust_ratio: r.opt_f64("rust_ratio")?,
        torch_ratio: r.opt_f64("libtorch_ratio")?,
        case_json: case.to_json(),
        script: None,
    })
}

fn read_histogram(r: &Reader) -> Result<(Op, DType, Histogram)> {
    if r.f64("log10_low")? != HISTOGRAM_LOW || r.f64("log10_width")? != HISTOGRAM_WIDTH {
        bail!("{} has other histogram bins than this version", r.path);
    }
    let bins = r
        .items("bins")?
        .iter()
        .map(|b| {
            b.value
                .as_u64()
                .ok_or_else(|| anyhow!("`{}` is not a count", b.path))
        })
        .collect::<Result<Vec<u64>>>()?;
    if bins.len() != HISTOGRAM_BINS {
        bail!(
            "{}.bins has {} bins, not {HISTOGRAM_BINS}",
            r.path,
            bins.len()
        );
    }
    Ok((
        parse_op(r.str("op")?)?,
        parse_dtype(r.str("dtype")?)?,
        Histogram {
            exact: r.u64("exact")?,
            nonfinite: r.u64("nonfinite")?,
            below: r.u64("below")?,
            bins,
            above: r.u64("above")?,
        },
    ))
}

/// Reads `report.json` text back into a report.
pub fn from_json(text: &str) -> Result<Report> {
    let value: Value = serde_json::from_str(text).context("not valid JSON")?;
    let root = Reader {
        value: &value,
        path: "report".into(),
    };
    if root.str("format")? != FORMAT {
        bail!("not a {FORMAT} file");
    }
    let run = root.field("run")?;
    let shard = run.field("shard")?;
    let info = RunInfo {
        seed: run.u64("seed")?,
        cases: run.u64("cases")?,
        ops: run
            .items("ops")?
            .iter()
            .map(|o| parse_op(o.value.as_str().unwrap_or_default()))
            .collect::<Result<_>>()?,
        dtypes: run
            .items("dtypes")?
            .iter()
            .map(|d| parse_dtype(d.value.as_str().unwrap_or_default()))
            .collect::<Result<_>>()?,
        shard: match shard.value.as_str() {
            None => None,
            Some(s) => Some(s.parse::<Shard>().map_err(|e| anyhow!(e))?),
        },
        // Reports written before subjects were named compared these two.
        subject: run
            .value
            .get("subject")
            .and_then(|v| v.as_str())
            .unwrap_or("rust")
            .to_string(),
        oracle: run
            .value
            .get("oracle")
            .and_then(|v| v.as_str())
            .unwrap_or("torch")
            .to_string(),
    };
    let mut report = Report::new(info);
    for g in root.items("groups")? {
        report.groups.insert(read_group_key(&g)?, read_stats(&g)?);
    }
    for c in root.items("classes")? {
        let name = c.str("class")?;
        let class =
            DivergenceClass::parse(name).ok_or_else(|| anyhow!("unknown class {name:?}"))?;
        let worst = c
            .items("worst")?
            .iter()
            .map(read_entry)
            .collect::<Result<Vec<_>>>()?;
        report.classes.insert(
            class,
            ClassStats {
                count: c.u64("count")?,
                worst,
            },
        );
    }
    for h in root.items("histograms")? {
        let (op, dtype, histogram) = read_histogram(&h)?;
        *report.histogram_mut(op, dtype) = histogram;
    }
    Ok(report)
}
