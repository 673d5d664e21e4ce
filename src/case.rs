//! The case and outcome model of `shared/CASES.md`: one loss call written down
//! completely, and what a backend made of it. JSON Lines in, JSON Lines out; floats
//! round-trip exactly (shortest form, `-0.0` kept, `"nan"`, `"inf"`, `"-inf"`).

use serde_json::{Map, Value};
use std::fmt::Write as _;

use crate::losses::{ErrorKind, Reduction};

/// Largest number of elements a case tensor may declare: beyond this a case is
/// rejected before anything is allocated.
pub const MAX_ELEMENTS: usize = 1 << 27;

/// A tensor's element type, by PyTorch's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `float32` (`Float`).
    Float32,
    /// `float64` (`Double`).
    Float64,
    /// `float16` (`Half`).
    Float16,
    /// `bfloat16` (`BFloat16`).
    BFloat16,
    /// `int64` (`Long`).
    Int64,
    /// `uint8` (`Byte`).
    UInt8,
}

impl DType {
    /// The case format's name: `float32`, `int64`, ...
    pub fn name(self) -> &'static str {
        match self {
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Float16 => "float16",
            DType::BFloat16 => "bfloat16",
            DType::Int64 => "int64",
            DType::UInt8 => "uint8",
        }
    }

    /// PyTorch's scalar type name, as in its error messages: `Float`, `Long`, ...
    pub fn torch_name(self) -> &'static str {
        match self {
            DType::Float32 => "Float",
            DType::Float64 => "Double",
            DType::Float16 => "Half",
            DType::BFloat16 => "BFloat16",
            DType::Int64 => "Long",
            DType::UInt8 => "Byte",
        }
    }

    /// Parses a case-format name.
    pub fn parse(name: &str) -> Option<DType> {
        Some(match name {
            "float32" => DType::Float32,
            "float64" => DType::Float64,
            "float16" => DType::Float16,
            "bfloat16" => DType::BFloat16,
            "int64" => DType::Int64,
            "uint8" => DType::UInt8,
            _ => return None,
        })
    }

    /// Whether the type is floating point.
    pub fn is_float(self) -> bool {
        matches!(
            self,
            DType::Float32 | DType::Float64 | DType::Float16 | DType::BFloat16
        )
    }
}

/// A tensor's values: floats (held as `f64`, exact for every narrower float) or integers.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Values of a floating-point tensor.
    Float(Vec<f64>),
    /// Values of an integer tensor.
    Int(Vec<i64>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Float(v) => v.len(),
            Values::Int(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A tensor written out: dtype, shape, values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorData {
    /// Element type.
    pub dtype: DType,
    /// Shape; `[]` is a scalar.
    pub shape: Vec<usize>,
    /// Values, row-major; their count is the product of `shape`.
    pub values: Values,
}

impl TensorData {
    /// A float tensor of the given dtype (values already rounded to it).
    pub fn float(dtype: DType, shape: Vec<usize>, values: Vec<f64>) -> Self {
        TensorData {
            dtype,
            shape,
            values: Values::Float(values),
        }
    }

    /// An integer tensor.
    pub fn int(dtype: DType, shape: Vec<usize>, values: Vec<i64>) -> Self {
        TensorData {
            dtype,
            shape,
            values: Values::Int(values),
        }
    }

    /// The float values, or `None` for an integer tensor.
    pub fn floats(&self) -> Option<&[f64]> {
        match &self.values {
            Values::Float(v) => Some(v),
            Values::Int(_) => None,
        }
    }

    fn parse(value: &Value, field: &str) -> Result<TensorData, String> {
        let obj = value
            .as_object()
            .ok_or_else(|| format!("`{field}` must be a tensor object {{dtype, shape, data}}"))?;
        let dtype_name = obj
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{field}.dtype` must be a string"))?;
        let dtype = DType::parse(dtype_name).ok_or_else(|| {
            format!("`{field}.dtype` is {dtype_name:?}; expected one of float32, float64, float16, bfloat16, int64, uint8")
        })?;
        let shape_value = obj
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("`{field}.shape` must be an array of sizes"))?;
        let mut shape = Vec::with_capacity(shape_value.len().min(64));
        let mut numel: usize = 1;
        for (i, d) in shape_value.iter().enumerate() {
            let size = d
                .as_u64()
                .ok_or_else(|| format!("`{field}.shape[{i}]` is {d}; sizes are integers >= 0"))?;
            let size =
                usize::try_from(size).map_err(|_| format!("`{field}.shape[{i}]` is too large"))?;
            numel = numel.saturating_mul(size);
            shape.push(size);
        }
        if shape.len() > 16 {
            return Err(format!(
                "`{field}.shape` has {} dimensions; at most 16 are supported",
                shape.len()
            ));
        }
        if numel > MAX_ELEMENTS {
            return Err(format!(
                "`{field}.shape` {shape:?} declares {numel} elements; at most {MAX_ELEMENTS} are supported"
            ));
        }
        let data = obj
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("`{field}.data` must be an array of values"))?;
        if data.len() != numel {
            return Err(format!(
                "`{field}.data` has {} values but shape {shape:?} needs {numel}",
                data.len()
            ));
        }
        let values = if dtype.is_float() {
            let mut out = Vec::with_capacity(numel);
            for (i, v) in data.iter().enumerate() {
                out.push(parse_float(v).ok_or_else(|| {
                    format!("`{field}.data[{i}]` is {v}; floats are numbers or \"nan\", \"inf\", \"-inf\"")
                })?);
            }
            Values::Float(round_to(dtype, out))
        } else {
            let mut out = Vec::with_capacity(numel);
            for (i, v) in data.iter().enumerate() {
                let x = v.as_i64().ok_or_else(|| {
                    format!("`{field}.data[{i}]` is {v}; {dtype_name} values are integers")
                })?;
                if dtype == DType::UInt8 && !(0..=255).contains(&x) {
                    return Err(format!(
                        "`{field}.data[{i}]` is {x}, outside uint8's 0..=255"
                    ));
                }
                out.push(x);
            }
            Values::Int(out)
        };
        Ok(TensorData {
            dtype,
            shape,
            values,
        })
    }

    fn write_json(&self, out: &mut String) {
        let _ = write!(out, "{{\"dtype\":\"{}\",\"shape\":[", self.dtype.name());
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{d}");
        }
        out.push_str("],\"data\":[");
        match &self.values {
            Values::Float(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_float(out, self.dtype, *x);
                }
            }
            Values::Int(v) => {
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{x}");
                }
            }
        }
        out.push_str("]}");
    }
}

fn parse_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "nan" => Some(f64::NAN),
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Rounds values to a float dtype, so a `float32` tensor holds only `f32` values.
fn round_to(dtype: DType, mut values: Vec<f64>) -> Vec<f64> {
    if dtype == DType::Float32 {
        values.iter_mut().for_each(|v| *v = *v as f32 as f64);
    }
    values
}

/// Writes a float in its shortest round-trip form for its dtype.
fn write_float(out: &mut String, dtype: DType, x: f64) {
    if x.is_nan() {
        out.push_str("\"nan\"");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "\"inf\"" } else { "\"-inf\"" });
    } else if dtype == DType::Float64 {
        let _ = write!(out, "{x:?}");
    } else {
        let _ = write!(out, "{:?}", x as f32);
    }
}

/// The ops a case can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `log_softmax(input, dim)`.
    LogSoftmax,
    /// `softmax(input, dim)`.
    Softmax,
    /// `nll_loss(input, target, ...)`.
    NllLoss,
    /// `cross_entropy(input, target, ...)`.
    CrossEntropy,
}

impl Op {
    /// The case format's name.
    pub fn name(self) -> &'static str {
        match self {
            Op::LogSoftmax => "log_softmax",
            Op::Softmax => "softmax",
            Op::NllLoss => "nll_loss",
            Op::CrossEntropy => "cross_entropy",
        }
    }

    /// Every op, in a fixed order.
    pub const ALL: [Op; 4] = [Op::LogSoftmax, Op::Softmax, Op::NllLoss, Op::CrossEntropy];

    fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the op takes a target.
    pub fn is_loss(self) -> bool {
        matches!(self, Op::NllLoss | Op::CrossEntropy)
    }
}

/// One call of one op, completely written down.
#[derive(Clone, PartialEq)]
pub struct Case {
    /// Free-form name, echoed in the outcome.
    pub id: Option<String>,
    /// The op.
    pub op: Op,
    /// The input.
    pub input: TensorData,
    /// The target (losses only).
    pub target: Option<TensorData>,
    /// Per-class weight.
    pub weight: Option<TensorData>,
    /// `ignore_index` (default -100).
    pub ignore_index: i64,
    /// Reduction (default mean).
    pub reduction: Reduction,
    /// Label smoothing (cross_entropy; default 0).
    pub label_smoothing: f64,
    /// Dimension (log_softmax, softmax).
    pub dim: Option<i64>,
    /// Also compute the gradient with respect to the input.
    pub grad: bool,
    /// Gradient of the output; ones when absent.
    pub grad_output: Option<TensorData>,
}

impl Case {
    /// A case with defaults for everything but the op and the input.
    pub fn new(op: Op, input: TensorData) -> Self {
        Case {
            id: None,
            op,
            input,
            target: None,
            weight: None,
            ignore_index: -100,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
            dim: None,
            grad: false,
            grad_output: None,
        }
    }

    /// Parses one line of a case file; the error says what is wrong, in words.
    pub fn from_json(line: &str) -> Result<Case, String> {
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
        let obj = value
            .as_object()
            .ok_or_else(|| "a case must be a JSON object".to_string())?;
        Case::from_object(obj)
    }

    fn from_object(obj: &Map<String, Value>) -> Result<Case, String> {
        const FIELDS: [&str; 11] = [
            "id",
            "op",
            "input",
            "target",
            "weight",
            "ignore_index",
            "reduction",
            "label_smoothing",
            "dim",
            "grad",
            "grad_output",
        ];
        if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(format!(
                "unknown field `{unknown}`; fields are {}",
                FIELDS.join(", ")
            ));
        }
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let op_name = obj
            .get("op")
            .and_then(Value::as_str)
            .ok_or("missing `op` (log_softmax, softmax, nll_loss or cross_entropy)")?;
        let op = Op::parse(op_name).ok_or_else(|| {
            format!(
                "unknown op {op_name:?}; expected log_softmax, softmax, nll_loss or cross_entropy"
            )
        })?;
        let input = TensorData::parse(obj.get("input").ok_or("missing `input`")?, "input")?;
        let tensor = |name: &str| -> Result<Option<TensorData>, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => TensorData::parse(v, name).map(Some),
            }
        };
        let target = tensor("target")?;
        if op.is_loss() && target.is_none() {
            return Err(format!("missing `target`, required by {op_name}"));
        }
        let ignore_index = match obj.get("ignore_index") {
            None => -100,
            Some(v) => v
                .as_i64()
                .ok_or_else(|| format!("`ignore_index` is {v}; it must be an integer"))?,
        };
        let reduction = match obj.get("reduction") {
            None => Reduction::Mean,
            Some(v) => match v.as_str() {
                Some("none") => Reduction::None,
                Some("mean") => Reduction::Mean,
                Some("sum") => Reduction::Sum,
                _ => {
                    return Err(format!(
                        "`reduction` is {v}; expected \"none\", \"mean\" or \"sum\""
                    ))
                }
            },
        };
        let label_smoothing = match obj.get("label_smoothing") {
            None => 0.0,
            Some(v) => parse_float(v)
                .ok_or_else(|| format!("`label_smoothing` is {v}; it must be a number"))?,
        };
        let dim = match obj.get("dim") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_i64()
                    .ok_or_else(|| format!("`dim` is {v}; it must be an integer"))?,
            ),
        };
        if matches!(op, Op::LogSoftmax | Op::Softmax) && dim.is_none() {
            return Err(format!("missing `dim`, required by {op_name}"));
        }
        let grad = match obj.get("grad") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| format!("`grad` is {v}; it must be true or false"))?,
        };
        Ok(Case {
            id,
            op,
            input,
            target,
            weight: tensor("weight")?,
            ignore_index,
            reduction,
            label_smoothing,
            dim,
            grad,
            grad_output: tensor("grad_output")?,
        })
    }

    /// The case as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        if let Some(id) = &self.id {
            let _ = write!(out, "\"id\":{},", Value::String(id.clone()));
        }
        let _ = write!(out, "\"op\":\"{}\",\"input\":", self.op.name());
        self.input.write_json(&mut out);
        for (name, t) in [("target", &self.target), ("weight", &self.weight)] {
            if let Some(t) = t {
                let _ = write!(out, ",\"{name}\":");
                t.write_json(&mut out);
            }
        }
        if self.op.is_loss() {
            let _ = write!(
                out,
                ",\"ignore_index\":{},\"reduction\":\"{}\"",
                self.ignore_index,
                self.reduction.as_str()
            );
        }
        if self.op == Op::CrossEntropy {
            out.push_str(",\"label_smoothing\":");
            write_float(&mut out, DType::Float64, self.label_smoothing);
        }
        if let Some(dim) = self.dim {
            let _ = write!(out, ",\"dim\":{dim}");
        }
        let _ = write!(out, ",\"grad\":{}", self.grad);
        if let Some(g) = &self.grad_output {
            out.push_str(",\"grad_output\":");
            g.write_json(&mut out);
        }
        out.push('}');
        out
    }
}

/// Shown as its JSON line, so a failing property prints a case ready to replay.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// A rejected call, as PyTorch reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseError {
    /// Python exception class, or `InvalidCase` for a line that is not a valid case.
    pub kind: String,
    /// First line of the message.
    pub message: String,
}

impl CaseError {
    /// An error from a kind and a message.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        CaseError {
            kind: kind.into(),
            message: message.into(),
        }
    }

    /// The outcome error of a line that is not a valid case.
    pub fn invalid_case(message: impl Into<String>) -> Self {
        CaseError::new("InvalidCase", message)
    }

    /// The Python kind, when it is one.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        ErrorKind::from_name(&self.kind)
    }

    fn write_json(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"kind\":{},\"message\":{}}}",
            Value::String(self.kind.clone()),
            Value::String(self.message.clone())
        );
    }
}

/// What a backend made of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The case's id.
    pub id: Option<String>,
    /// The output, or the forward's error.
    pub result: Result<Computed, CaseError>,
}

/// A successful forward, and the gradient when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// The op's output.
    pub output: TensorData,
    /// The gradient with respect to the input, or the backward's error; `None` when
    /// the case did not ask for it.
    pub grad_input: Option<Result<TensorData, CaseError>>,
}

impl Outcome {
    /// The outcome as one line of JSON, in the format of `shared/CASES.md`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        if let Some(id) = &self.id {
            let _ = write!(out, "\"id\":{},", Value::String(id.clone()));
        }
        match &self.result {
            Err(e) => {
                out.push_str("\"error\":");
                e.write_json(&mut out);
            }
            Ok(c) => {
                out.push_str("\"output\":");
                c.output.write_json(&mut out);
                match &c.grad_input {
                    None => {}
                    Some(Ok(g)) => {
                        out.push_str(",\"grad_input\":");
                        g.write_json(&mut out);
                    }
                    Some(Err(e)) => {
                        out.push_str(",\"grad_error\":");
                        e.write_json(&mut out);
                    }
                }
            }
        }
        out.push('}');
        out
    }
}
