//! The case and outcome model of `docs/case-format.md` (format version 2): one call of
//! a `torch.nn.functional` op written down completely, every field a parameter under
//! its PyTorch name, and what a backend made of it. JSON Lines in, JSON Lines out;
//! floats round-trip exactly (shortest form, `-0.0` kept, `"nan"`, `"inf"`, `"-inf"`).

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

pub use crate::ops::Op;
use crate::ops::{Default, Kind, Param};

/// A parameter's value in a case.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A tensor.
    Tensor(TensorData),
    /// An integer (`ignore_index`, `dim`, ...).
    Int(i64),
    /// A number (`label_smoothing`, ...).
    Float(f64),
    /// A string (`reduction`).
    Str(String),
    /// A boolean (`log_target`, `full`, ...).
    Bool(bool),
}

/// Fields a case may hold besides its op's parameters.
const CASE_FIELDS: [&str; 5] = ["id", "op", "grad", "grad_wrt", "grad_output"];

/// One call of one op, completely written down: the op, each parameter given or
/// defaulted (PyTorch's names and defaults, from the op's registry entry), and what
/// to differentiate.
#[derive(Clone, PartialEq)]
pub struct Case {
    /// Free-form name, echoed in the outcome.
    pub id: Option<String>,
    /// The op.
    pub op: Op,
    args: Vec<(&'static str, Arg)>,
    /// Also compute gradients of `sum(output * grad_output)`.
    pub grad: bool,
    /// The tensors to differentiate, as written; `None` means the op's default
    /// (`["input"]` for the four classification ops).
    pub grad_wrt: Option<Vec<&'static str>>,
    /// Gradient of the output; ones when absent.
    pub grad_output: Option<TensorData>,
}

impl Case {
    /// A case with PyTorch's defaults for everything but the op and its main input.
    pub fn new(op: Op, input: TensorData) -> Self {
        let mut args = Vec::new();
        for (i, p) in op.spec().params.iter().enumerate() {
            let value = match p.default {
                _ if i == 0 => Some(Arg::Tensor(input.clone())),
                default => Arg::from_default(default),
            };
            if let Some(v) = value {
                args.push((p.name, v));
            }
        }
        Case {
            id: None,
            op,
            args,
            grad: false,
            grad_wrt: None,
            grad_output: None,
        }
    }

    /// Sets parameter `name`, or removes it with `None`; an error when the op has no
    /// such parameter or the value is of another kind.
    pub fn set(&mut self, name: &str, value: Option<Arg>) -> Result<(), String> {
        let op = self.op;
        let param = op
            .param(name)
            .ok_or_else(|| format!("{op} has no parameter `{name}`"))?;
        let fits = match (&value, param.kind) {
            (None, _) => param.default != Default::Required,
            (Some(Arg::Tensor(_)), Kind::Tensor | Kind::TensorOrFloat)
            | (Some(Arg::Int(_)), Kind::Int)
            | (Some(Arg::Float(_)), Kind::Float | Kind::TensorOrFloat)
            | (Some(Arg::Bool(_)), Kind::Bool) => true,
            (Some(Arg::Str(s)), Kind::Choice(choices)) => choices.contains(&s.as_str()),
            _ => false,
        };
        if !fits {
            return Err(format!("`{name}` of {op} cannot be {value:?}"));
        }
        self.args.retain(|(n, _)| *n != param.name);
        if let Some(value) = value {
            let rank = |n: &str| op.spec().params.iter().position(|p| p.name == n);
            let at = self
                .args
                .iter()
                .position(|(n, _)| rank(n) > rank(param.name))
                .unwrap_or(self.args.len());
            self.args.insert(at, (param.name, value));
        }
        Ok(())
    }

    /// Sets (or with `None` removes) the tensor parameter `name`, for building cases in
    /// code.
    ///
    /// # Panics
    /// When the op has no tensor parameter `name`.
    pub fn set_tensor(&mut self, name: &str, tensor: Option<TensorData>) {
        if let Err(e) = self.set(name, tensor.map(Arg::Tensor)) {
            panic!("{e}");
        }
    }

    /// Sets the parameter `name`, for building cases in code.
    ///
    /// # Panics
    /// When the op has no parameter `name` of the value's kind.
    pub fn set_arg(&mut self, name: &str, value: impl Into<Arg>) {
        if let Err(e) = self.set(name, Some(value.into())) {
            panic!("{e}");
        }
    }

    /// [`Case::set`] for building cases in code.
    ///
    /// # Panics
    /// When the op has no parameter `name` of the value's kind.
    pub fn with(mut self, name: &str, value: impl Into<Arg>) -> Self {
        if let Err(e) = self.set(name, Some(value.into())) {
            panic!("{e}");
        }
        self
    }

    /// The parameters present (given or defaulted), in PyTorch's order.
    pub fn args(&self) -> impl Iterator<Item = (&'static str, &Arg)> {
        self.args.iter().map(|(n, v)| (*n, v))
    }

    /// Parameter `name`'s value, if present.
    pub fn arg(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The tensor parameter `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorData> {
        match self.arg(name)? {
            Arg::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// The tensor parameter `name`, mutably, if present.
    pub fn tensor_mut(&mut self, name: &str) -> Option<&mut TensorData> {
        self.args.iter_mut().find_map(|(n, v)| match v {
            Arg::Tensor(t) if *n == name => Some(t),
            _ => None,
        })
    }

    /// Every tensor parameter present, mutably.
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = (&'static str, &mut TensorData)> {
        self.args.iter_mut().filter_map(|(n, v)| match v {
            Arg::Tensor(t) => Some((*n, t)),
            _ => None,
        })
    }

    /// The integer parameter `name`, if present.
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.arg(name)? {
            Arg::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The number parameter `name`, if present.
    pub fn float(&self, name: &str) -> Option<f64> {
        match self.arg(name)? {
            Arg::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The boolean parameter `name`, if present.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.arg(name)? {
            Arg::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// `reduction` as written (`"mean"` where the op has none), for the ops whose
    /// reductions go beyond [`Reduction`] (`kl_div`'s `batchmean`).
    pub fn reduction_name(&self) -> &str {
        match self.arg("reduction") {
            Some(Arg::Str(s)) => s,
            _ => "mean",
        }
    }

    /// The op's main input (its first parameter).
    pub fn input(&self) -> &TensorData {
        match self.args.first() {
            Some((_, Arg::Tensor(t))) => t,
            _ => unreachable!("a case's first parameter is its input tensor"),
        }
    }

    /// The main input, mutably.
    pub fn input_mut(&mut self) -> &mut TensorData {
        match self.args.first_mut() {
            Some((_, Arg::Tensor(t))) => t,
            _ => unreachable!("a case's first parameter is its input tensor"),
        }
    }

    /// `target`, when the op has one and the case gives it.
    pub fn target(&self) -> Option<&TensorData> {
        self.tensor("target")
    }

    /// `weight`, when given.
    pub fn weight(&self) -> Option<&TensorData> {
        self.tensor("weight")
    }

    /// `ignore_index` (PyTorch's default -100 where the op has none).
    pub fn ignore_index(&self) -> i64 {
        self.int("ignore_index").unwrap_or(-100)
    }

    /// `reduction` (`mean` where the op has none).
    pub fn reduction(&self) -> Reduction {
        match self.arg("reduction") {
            Some(Arg::Str(s)) if s == "none" => Reduction::None,
            Some(Arg::Str(s)) if s == "sum" => Reduction::Sum,
            _ => Reduction::Mean,
        }
    }

    /// `label_smoothing` (0 where the op has none).
    pub fn label_smoothing(&self) -> f64 {
        self.float("label_smoothing").unwrap_or(0.0)
    }

    /// `dim`, when the op has one.
    pub fn dim(&self) -> Option<i64> {
        self.int("dim")
    }

    /// The tensors to differentiate: `grad_wrt`, or the op's default; none without
    /// `grad`.
    pub fn grad_wrt(&self) -> Vec<&'static str> {
        if !self.grad {
            return Vec::new();
        }
        match &self.grad_wrt {
            Some(names) => names.clone(),
            None => self.op.spec().default_grad_wrt.to_vec(),
        }
    }

    /// Parses one line of a case file; the error says what is wrong, in words, and
    /// carries the case's `id` when it could be read.
    pub fn from_json(line: &str) -> Result<Case, InvalidCase> {
        let value: Value = serde_json::from_str(line).map_err(|e| InvalidCase {
            id: None,
            message: format!("not valid JSON: {e}"),
        })?;
        let obj = value.as_object().ok_or_else(|| InvalidCase {
            id: None,
            message: "a case must be a JSON object".to_string(),
        })?;
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        Case::from_object(obj, id.clone()).map_err(|message| InvalidCase { id, message })
    }

    fn from_object(obj: &Map<String, Value>, id: Option<String>) -> Result<Case, String> {
        let op_name = obj
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("missing `op` (one of {})", Op::names()))?;
        let op = match Op::named(op_name) {
            Some(op) => op,
            None => {
                return Err(format!(
                    "unknown op {op_name:?}; expected one of {}",
                    Op::names()
                ))
            }
        };
        let spec = op.spec();
        for key in obj.keys() {
            if CASE_FIELDS.contains(&key.as_str()) || op.param(key).is_some() {
                continue;
            }
            if key == "size_average" || key == "reduce" {
                return Err(format!(
                    "`{key}` is deprecated in PyTorch and not part of the case format; \
                     write `reduction` (\"none\", \"mean\" or \"sum\") instead"
                ));
            }
            let fields: Vec<&str> = ["id", "op"]
                .into_iter()
                .chain(spec.params.iter().map(|p| p.name))
                .chain(["grad", "grad_wrt", "grad_output"])
                .collect();
            return Err(format!(
                "unknown field `{key}`; the fields of {op} are {}",
                fields.join(", ")
            ));
        }
        let mut args = Vec::new();
        for param in spec.params {
            let value = match obj.get(param.name) {
                None | Some(Value::Null) => None,
                Some(v) => Some(parse_arg(param, v)?),
            };
            let value = match (value, param.default) {
                (Some(v), _) => v,
                (None, Default::Required) => {
                    return Err(format!("missing `{}`, required by {op}", param.name))
                }
                (None, default) => match Arg::from_default(default) {
                    Some(v) => v,
                    None => continue,
                },
            };
            args.push((param.name, value));
        }
        let grad = match obj.get("grad") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| format!("`grad` is {v}; it must be true or false"))?,
        };
        let grad_output = match obj.get("grad_output") {
            None | Some(Value::Null) => None,
            Some(v) => Some(TensorData::parse(v, "grad_output")?),
        };
        let mut case = Case {
            id,
            op,
            args,
            grad,
            grad_wrt: None,
            grad_output,
        };
        if let Some(v) = obj.get("grad_wrt") {
            case.grad_wrt = Some(case.parse_grad_wrt(v)?);
        }
        Ok(case)
    }

    fn parse_grad_wrt(&self, value: &Value) -> Result<Vec<&'static str>, String> {
        let items = value
            .as_array()
            .ok_or_else(|| format!("`grad_wrt` is {value}; it must be a list of tensor names"))?;
        if !self.grad {
            return Err(
                "`grad_wrt` names tensors to differentiate, which needs `\"grad\": true`".into(),
            );
        }
        if items.is_empty() {
            return Err("`grad_wrt` is empty; name at least one tensor".into());
        }
        let mut names: Vec<&'static str> = Vec::new();
        for item in items {
            let name = item
                .as_str()
                .ok_or_else(|| format!("`grad_wrt` holds {item}; its items are tensor names"))?;
            let param = self
                .op
                .param(name)
                .filter(|p| matches!(p.kind, Kind::Tensor | Kind::TensorOrFloat))
                .ok_or_else(|| {
                    format!(
                        "`grad_wrt` names `{name}`, which is not a tensor parameter of {}",
                        self.op
                    )
                })?;
            let tensor = self.tensor(name).ok_or_else(|| {
                format!("`grad_wrt` names `{name}`, which the case does not give")
            })?;
            if !tensor.dtype.is_float() {
                return Err(format!(
                    "`grad_wrt` names `{name}`, a tensor of dtype {}; only floating-point tensors have \
                     gradients",
                    tensor.dtype.name()
                ));
            }
            if names.contains(&param.name) {
                return Err(format!("`grad_wrt` names `{name}` twice"));
            }
            names.push(param.name);
        }
        Ok(names)
    }

    /// The case as one line of JSON: its parameters in PyTorch's order, every one
    /// with a default written out.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        if let Some(id) = &self.id {
            let _ = write!(out, "\"id\":{},", Value::String(id.clone()));
        }
        let _ = write!(out, "\"op\":\"{}\"", self.op.name());
        for (name, value) in &self.args {
            let _ = write!(out, ",\"{name}\":");
            match value {
                Arg::Tensor(t) => t.write_json(&mut out),
                Arg::Int(v) => {
                    let _ = write!(out, "{v}");
                }
                Arg::Float(v) => write_float(&mut out, DType::Float64, *v),
                Arg::Str(s) => {
                    let _ = write!(out, "{}", Value::String(s.clone()));
                }
                Arg::Bool(v) => {
                    let _ = write!(out, "{v}");
                }
            }
        }
        let _ = write!(out, ",\"grad\":{}", self.grad);
        if let Some(names) = &self.grad_wrt {
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            let _ = write!(out, ",\"grad_wrt\":[{}]", quoted.join(","));
        }
        if let Some(g) = &self.grad_output {
            out.push_str(",\"grad_output\":");
            g.write_json(&mut out);
        }
        out.push('}');
        out
    }
}

impl Arg {
    /// The value a parameter takes when the case does not give it, if any.
    pub fn from_default(default: Default) -> Option<Arg> {
        match default {
            Default::Required | Default::Absent => None,
            Default::Int(v) => Some(Arg::Int(v)),
            Default::Float(v) => Some(Arg::Float(v)),
            Default::Str(v) => Some(Arg::Str(v.to_string())),
            Default::Bool(v) => Some(Arg::Bool(v)),
        }
    }
}

fn parse_arg(param: &Param, v: &Value) -> Result<Arg, String> {
    let name = param.name;
    Ok(match param.kind {
        Kind::Tensor => Arg::Tensor(TensorData::parse(v, name)?),
        Kind::Int => Arg::Int(
            v.as_i64()
                .ok_or_else(|| format!("`{name}` is {v}; it must be an integer"))?,
        ),
        Kind::Float => Arg::Float(
            parse_float(v).ok_or_else(|| format!("`{name}` is {v}; it must be a number"))?,
        ),
        Kind::Bool => Arg::Bool(
            v.as_bool()
                .ok_or_else(|| format!("`{name}` is {v}; it must be true or false"))?,
        ),
        Kind::TensorOrFloat if v.is_object() => Arg::Tensor(TensorData::parse(v, name)?),
        Kind::TensorOrFloat => Arg::Float(
            parse_float(v)
                .ok_or_else(|| format!("`{name}` is {v}; it must be a tensor or a number"))?,
        ),
        Kind::Choice(choices) => match v.as_str() {
            Some(s) if choices.contains(&s) => Arg::Str(s.to_string()),
            _ => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
                let list = match quoted.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    _ => quoted.join(""),
                };
                return Err(format!("`{name}` is {v}; expected {list}"));
            }
        },
    })
}

impl From<TensorData> for Arg {
    fn from(t: TensorData) -> Arg {
        Arg::Tensor(t)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Arg {
        Arg::Int(v)
    }
}

impl From<f64> for Arg {
    fn from(v: f64) -> Arg {
        Arg::Float(v)
    }
}

impl From<bool> for Arg {
    fn from(v: bool) -> Arg {
        Arg::Bool(v)
    }
}

impl From<Reduction> for Arg {
    fn from(r: Reduction) -> Arg {
        Arg::Str(r.as_str().to_string())
    }
}

/// Shown as its JSON line, so a failing property prints a case ready to replay.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// A line that is not a valid case: what is wrong, and the case's `id` when the line
/// had a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCase {
    /// The line's `id`, when it could be read.
    pub id: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

impl std::fmt::Display for InvalidCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl InvalidCase {
    /// The outcome of the line: an `InvalidCase` error carrying the id. `context`
    /// (such as `line 4`) leads the message.
    pub fn outcome(&self, context: &str) -> Outcome {
        Outcome {
            id: self.id.clone(),
            result: Err(CaseError::invalid_case(format!(
                "{context}: {}",
                self.message
            ))),
        }
    }
}

/// A rejected call, as PyTorch reports it, with the Rust side's hint when it has one.
///
/// Two errors are equal when their kind and message are: the hint is an explanation,
/// not part of the outcome (it is not written to JSON).
#[derive(Debug, Clone, Eq)]
pub struct CaseError {
    /// Python exception class, or `InvalidCase` for a line that is not a valid case.
    pub kind: String,
    /// First line of the message.
    pub message: String,
    /// What probably went wrong, in plain words; empty when unknown.
    pub hint: String,
}

impl PartialEq for CaseError {
    fn eq(&self, other: &CaseError) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl CaseError {
    /// An error from a kind and a message.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        CaseError {
            kind: kind.into(),
            message: message.into(),
            hint: String::new(),
        }
    }

    /// The same error with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
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

/// A successful forward, and the gradients when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    /// The op's output.
    pub output: TensorData,
    /// The gradient with respect to each tensor of the case's `grad_wrt`, in its
    /// order, or the backward's error; `None` when the case did not ask for them.
    pub grads: Option<Result<Vec<Grad>, CaseError>>,
}

/// The gradient with respect to one tensor of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct Grad {
    /// The tensor's parameter name (`input`, `target`, ...).
    pub wrt: &'static str,
    /// The gradient, of that tensor's shape.
    pub tensor: TensorData,
}

impl Grad {
    /// The outcome's field name: `grad_input`, `grad_target`, ...
    pub fn field(&self) -> String {
        format!("grad_{}", self.wrt)
    }
}

impl Computed {
    /// The gradient with respect to `wrt`, when computed.
    pub fn grad(&self, wrt: &str) -> Option<&TensorData> {
        match &self.grads {
            Some(Ok(grads)) => grads.iter().find(|g| g.wrt == wrt).map(|g| &g.tensor),
            _ => None,
        }
    }
}

impl CaseError {
    fn parse(value: &Value, field: &str) -> Result<CaseError, String> {
        let text = |key: &str| {
            value
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| format!("`{field}.{key}` must be a string"))
        };
        Ok(CaseError::new(text("kind")?, text("message")?))
    }
}

impl Outcome {
    /// Reads the outcome line that a subject wrote for `case` (the format of
    /// `docs/case-format.md`): an `error`, or an `output` with, when the case asks for
    /// gradients, a `grad_<name>` tensor for each of its `grad_wrt` or a `grad_error`.
    /// Any other field, or a missing one, is an error saying which.
    pub fn from_json(line: &str, case: &Case) -> Result<Outcome, String> {
        let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let obj = value.as_object().ok_or("not a JSON object")?;
        let wrt = case.grad_wrt();
        let fields: Vec<String> = wrt.iter().map(|w| format!("grad_{w}")).collect();
        for key in obj.keys() {
            let known = matches!(key.as_str(), "id" | "error" | "output")
                || (case.grad && (key == "grad_error" || fields.contains(key)));
            if !known {
                return Err(format!("unexpected field `{key}`"));
            }
        }
        let id = match obj.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(format!("`id` is {other}, not a string")),
        };
        if let Some(e) = obj.get("error") {
            if obj.len() > 1 + usize::from(id.is_some()) {
                return Err("an `error` beside other results".into());
            }
            return Ok(Outcome {
                id,
                result: Err(CaseError::parse(e, "error")?),
            });
        }
        let output = TensorData::parse(
            obj.get("output").ok_or("neither `output` nor `error`")?,
            "output",
        )?;
        let grads = if !case.grad {
            None
        } else if let Some(e) = obj.get("grad_error") {
            Some(Err(CaseError::parse(e, "grad_error")?))
        } else {
            let mut grads = Vec::with_capacity(wrt.len());
            for (&name, field) in wrt.iter().zip(&fields) {
                let tensor = obj
                    .get(field)
                    .ok_or_else(|| format!("no `{field}` (the case asks for it)"))?;
                grads.push(Grad {
                    wrt: name,
                    tensor: TensorData::parse(tensor, field)?,
                });
            }
            Some(Ok(grads))
        };
        Ok(Outcome {
            id,
            result: Ok(Computed { output, grads }),
        })
    }

    /// The outcome as one line of JSON, in the format of `docs/case-format.md`.
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
                match &c.grads {
                    None => {}
                    Some(Ok(grads)) => {
                        for g in grads {
                            let _ = write!(out, ",\"{}\":", g.field());
                            g.tensor.write_json(&mut out);
                        }
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
