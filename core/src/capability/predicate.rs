//! The predicate AST: what a query asks of a capability set.
//!
//! A predicate reads the values of a key from a set's tags (every
//! `key=value`) and its metadata (the entry under `key`), and asks:
//!
//! | JSON | true when |
//! |---|---|
//! | `{"exists": "hardware.gpu"}` | the key is a tag (bare or with a value) or a metadata key |
//! | `{"equals": {"key": k, "value": "nvidia"}}` | a value of `k` is that text (a JSON number compares as a number) |
//! | `{"numeric_at_least": {"key": k, "value": 24}}` | a value of `k` reads as a number `>=` it |
//! | `{"numeric_at_most": {"key": k, "value": 8}}` | a value reads as a number `<=` it |
//! | `{"semver_compatible": {"key": k, "version": "3.10"}}` | a value is a version compatible with it (same major, not older; for `0.x`, same minor) |
//! | `{"in": {"key": k, "values": ["us", "eu"]}}` | a value of `k` is one of those |
//! | `{"and": [...]}` / `{"or": [...]}` | all / any of the parts (an empty `and` is true, an empty `or` false) |
//! | `{"not": {...}}` | the part is false |
//!
//! Versions may leave out the minor and patch numbers (`3`, `3.10`).
//! Parsing checks keys like tags do, and limits a predicate to
//! [`MAX_PREDICATE_DEPTH`] levels and [`MAX_PREDICATE_NODES`] parts;
//! anything else is `capability:invalid_predicate`.

use super::{check_key, format_number, num_value, parse_number, CapabilitySet};
use crate::error::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

/// The deepest a predicate may nest.
pub const MAX_PREDICATE_DEPTH: usize = 32;
/// The most parts (operators and leaves) a predicate may have.
pub const MAX_PREDICATE_NODES: usize = 256;

fn bad(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidPredicate, why)
}

/// A value `equals` compares with: text, or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// Equal to this text.
    Text(String),
    /// Reads as this number.
    Number(f64),
}

/// A predicate over a capability set (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// The key is there.
    Exists(String),
    /// A value of the key equals the operand.
    Equals(String, Operand),
    /// A value reads as a number at least this.
    AtLeast(String, f64),
    /// A value reads as a number at most this.
    AtMost(String, f64),
    /// A value is a version compatible with this one.
    SemverCompatible(String, semver::Version),
    /// A value is one of these.
    In(String, Vec<String>),
    /// Every part holds.
    And(Vec<Predicate>),
    /// Some part holds.
    Or(Vec<Predicate>),
    /// The part does not hold.
    Not(Box<Predicate>),
}

/// Reads a version leniently: `3`, `3.10` and `3.10.2-rc.1` are versions.
pub(crate) fn parse_version(text: &str) -> Option<semver::Version> {
    if let Ok(v) = semver::Version::parse(text) {
        return Some(v);
    }
    let (core, rest) = match text.find(['-', '+']) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let parts = core.split('.').count();
    let padded = match parts {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => return None,
    };
    semver::Version::parse(&padded).ok()
}

fn compatible(have: &semver::Version, want: &semver::Version) -> bool {
    let same_line = if want.major > 0 {
        have.major == want.major
    } else if want.minor > 0 {
        have.major == 0 && have.minor == want.minor
    } else {
        have.major == 0 && have.minor == 0 && have.patch == want.patch
    };
    same_line && have >= want
}

impl Predicate {
    /// `exists key`.
    pub fn exists(key: impl Into<String>) -> Self {
        Predicate::Exists(key.into())
    }

    /// `key == value` (as text).
    pub fn equals(key: impl Into<String>, value: impl Into<String>) -> Self {
        Predicate::Equals(key.into(), Operand::Text(value.into()))
    }

    /// `key == value` (as a number).
    pub fn equals_number(key: impl Into<String>, value: f64) -> Self {
        Predicate::Equals(key.into(), Operand::Number(value))
    }

    /// `key >= value`.
    pub fn at_least(key: impl Into<String>, value: f64) -> Self {
        Predicate::AtLeast(key.into(), value)
    }

    /// `key <= value`.
    pub fn at_most(key: impl Into<String>, value: f64) -> Self {
        Predicate::AtMost(key.into(), value)
    }

    /// `key` holds a version compatible with `version`;
    /// `capability:invalid_predicate` when `version` is not a version.
    pub fn semver_compatible(key: impl Into<String>, version: &str) -> Result<Self> {
        let v =
            parse_version(version).ok_or_else(|| bad(format!("{version:?} is not a version")))?;
        Ok(Predicate::SemverCompatible(key.into(), v))
    }

    /// `key` is one of `values`.
    pub fn one_of<S: Into<String>>(
        key: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        Predicate::In(key.into(), values.into_iter().map(Into::into).collect())
    }

    /// Every part holds.
    pub fn all(parts: impl IntoIterator<Item = Predicate>) -> Self {
        Predicate::And(parts.into_iter().collect())
    }

    /// Some part holds.
    pub fn any(parts: impl IntoIterator<Item = Predicate>) -> Self {
        Predicate::Or(parts.into_iter().collect())
    }

    /// Evaluates the predicate against a set.
    pub fn matches(&self, set: &CapabilitySet) -> bool {
        match self {
            Predicate::Exists(key) => {
                set.key_values(key).is_some() || set.metadata().contains_key(key)
            }
            Predicate::Equals(key, Operand::Text(want)) => {
                any_value(set, key, |text, _| text == want)
            }
            Predicate::Equals(key, Operand::Number(want)) => {
                any_value(set, key, |_, n| n == Some(*want))
            }
            Predicate::AtLeast(key, min) => {
                any_value(set, key, |_, n| n.is_some_and(|n| n >= *min))
            }
            Predicate::AtMost(key, max) => any_value(set, key, |_, n| n.is_some_and(|n| n <= *max)),
            Predicate::SemverCompatible(key, want) => any_value(set, key, |text, _| {
                parse_version(text).is_some_and(|have| compatible(&have, want))
            }),
            Predicate::In(key, options) => {
                any_value(set, key, |text, _| options.iter().any(|o| o == text))
            }
            Predicate::And(parts) => parts.iter().all(|p| p.matches(set)),
            Predicate::Or(parts) => parts.iter().any(|p| p.matches(set)),
            Predicate::Not(part) => !part.matches(set),
        }
    }

    /// Reads a predicate from its JSON (see the module docs).
    pub fn from_json(json: &str) -> Result<Predicate> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| bad(format!("a predicate must be JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// [`from_json`](Self::from_json) from a parsed value.
    pub fn from_value(value: &Value) -> Result<Predicate> {
        let mut nodes = 0;
        parse(value, 1, &mut nodes)
    }

    /// The predicate's JSON value.
    pub fn to_value(&self) -> Value {
        let keyed = |op: &str, key: &str, name: &str, v: Value| {
            let mut inner = Map::new();
            inner.insert("key".into(), Value::from(key));
            inner.insert(name.into(), v);
            let mut outer = Map::new();
            outer.insert(op.into(), Value::Object(inner));
            Value::Object(outer)
        };
        let number = num_value;
        match self {
            Predicate::Exists(key) => serde_json::json!({ "exists": key }),
            Predicate::Equals(key, Operand::Text(t)) => {
                keyed("equals", key, "value", Value::from(t.as_str()))
            }
            Predicate::Equals(key, Operand::Number(n)) => keyed("equals", key, "value", number(*n)),
            Predicate::AtLeast(key, n) => keyed("numeric_at_least", key, "value", number(*n)),
            Predicate::AtMost(key, n) => keyed("numeric_at_most", key, "value", number(*n)),
            Predicate::SemverCompatible(key, v) => keyed(
                "semver_compatible",
                key,
                "version",
                Value::from(v.to_string()),
            ),
            Predicate::In(key, values) => keyed("in", key, "values", Value::from(values.clone())),
            Predicate::And(parts) => {
                serde_json::json!({ "and": parts.iter().map(Predicate::to_value).collect::<Vec<_>>() })
            }
            Predicate::Or(parts) => {
                serde_json::json!({ "or": parts.iter().map(Predicate::to_value).collect::<Vec<_>>() })
            }
            Predicate::Not(part) => serde_json::json!({ "not": part.to_value() }),
        }
    }

    /// The predicate's canonical JSON text.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// A readable rendering (`hardware.memory_gb >= 64 and exists gpu`),
    /// for logs and error messages.
    pub fn describe(&self) -> String {
        match self {
            Predicate::Exists(k) => format!("exists {k}"),
            Predicate::Equals(k, Operand::Text(t)) => format!("{k} == {t:?}"),
            Predicate::Equals(k, Operand::Number(n)) => format!("{k} == {}", format_number(*n)),
            Predicate::AtLeast(k, n) => format!("{k} >= {}", format_number(*n)),
            Predicate::AtMost(k, n) => format!("{k} <= {}", format_number(*n)),
            Predicate::SemverCompatible(k, v) => format!("{k} ~ ^{v}"),
            Predicate::In(k, vs) => format!("{k} in {vs:?}"),
            Predicate::And(ps) if ps.is_empty() => "true".into(),
            Predicate::Or(ps) if ps.is_empty() => "false".into(),
            Predicate::And(ps) => join(ps, " and "),
            Predicate::Or(ps) => join(ps, " or "),
            Predicate::Not(p) => format!("not ({})", p.describe()),
        }
    }
}

fn join(parts: &[Predicate], sep: &str) -> String {
    let texts: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Predicate::And(_) | Predicate::Or(_) => format!("({})", p.describe()),
            _ => p.describe(),
        })
        .collect();
    texts.join(sep)
}

/// Whether any value of `key` (tag values, then the metadata entry)
/// satisfies `test(text, number)`.
fn any_value(set: &CapabilitySet, key: &str, test: impl Fn(&str, Option<f64>) -> bool) -> bool {
    if let Some(kv) = set.key_values(key) {
        if kv.values.iter().any(|v| test(&v.text, v.number)) {
            return true;
        }
    }
    set.metadata()
        .get(key)
        .is_some_and(|v| test(v, parse_number(v)))
}

impl std::ops::BitAnd for Predicate {
    type Output = Predicate;
    fn bitand(self, rhs: Predicate) -> Predicate {
        match self {
            Predicate::And(mut parts) => {
                parts.push(rhs);
                Predicate::And(parts)
            }
            other => Predicate::And(vec![other, rhs]),
        }
    }
}

impl std::ops::BitOr for Predicate {
    type Output = Predicate;
    fn bitor(self, rhs: Predicate) -> Predicate {
        match self {
            Predicate::Or(mut parts) => {
                parts.push(rhs);
                Predicate::Or(parts)
            }
            other => Predicate::Or(vec![other, rhs]),
        }
    }
}

impl std::ops::Not for Predicate {
    type Output = Predicate;
    fn not(self) -> Predicate {
        Predicate::Not(Box::new(self))
    }
}

fn key_of(op: &str, inner: &Map<String, Value>) -> Result<String> {
    let key = inner
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{op:?} needs a string \"key\"")))?;
    check_key(key, key).map_err(|e| bad(format!("in {op:?}: {}", e.detail())))?;
    Ok(key.to_string())
}

fn operands<'a>(op: &str, arg: &'a Value, names: &[&str]) -> Result<&'a Map<String, Value>> {
    let inner = arg.as_object().ok_or_else(|| {
        bad(format!(
            "{op:?} takes an object with {}",
            names.join(" and ")
        ))
    })?;
    if let Some(k) = inner.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown field {k:?} in {op:?} (it takes {})",
            names.join(" and ")
        )));
    }
    Ok(inner)
}

fn number_of(op: &str, inner: &Map<String, Value>) -> Result<f64> {
    inner
        .get("value")
        .and_then(Value::as_f64)
        .filter(|n| n.is_finite())
        .ok_or_else(|| bad(format!("{op:?} needs a number \"value\"")))
}

fn parse(value: &Value, depth: usize, nodes: &mut usize) -> Result<Predicate> {
    if depth > MAX_PREDICATE_DEPTH {
        return Err(bad(format!(
            "a predicate nests at most {MAX_PREDICATE_DEPTH} levels"
        )));
    }
    *nodes += 1;
    if *nodes > MAX_PREDICATE_NODES {
        return Err(bad(format!(
            "a predicate has at most {MAX_PREDICATE_NODES} parts"
        )));
    }
    let object = value
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| bad("a predicate is an object with exactly one operator"))?;
    let (op, arg) = object
        .iter()
        .next()
        .ok_or_else(|| bad("a predicate is an object with exactly one operator"))?;
    let list = |arg: &Value, nodes: &mut usize| -> Result<Vec<Predicate>> {
        arg.as_array()
            .ok_or_else(|| bad(format!("{op:?} takes an array of predicates")))?
            .iter()
            .map(|p| parse(p, depth + 1, nodes))
            .collect()
    };
    Ok(match op.as_str() {
        "exists" => {
            let key = arg
                .as_str()
                .ok_or_else(|| bad("\"exists\" takes a key string"))?;
            check_key(key, key).map_err(|e| bad(format!("in \"exists\": {}", e.detail())))?;
            Predicate::Exists(key.to_string())
        }
        "equals" => {
            let inner = operands(op, arg, &["key", "value"])?;
            let key = key_of(op, inner)?;
            match inner.get("value") {
                Some(Value::String(t)) => Predicate::Equals(key, Operand::Text(t.clone())),
                Some(v) if v.as_f64().is_some_and(f64::is_finite) => {
                    Predicate::Equals(key, Operand::Number(v.as_f64().unwrap_or_default()))
                }
                _ => return Err(bad("\"equals\" needs a string or number \"value\"")),
            }
        }
        "numeric_at_least" => {
            let inner = operands(op, arg, &["key", "value"])?;
            Predicate::AtLeast(key_of(op, inner)?, number_of(op, inner)?)
        }
        "numeric_at_most" => {
            let inner = operands(op, arg, &["key", "value"])?;
            Predicate::AtMost(key_of(op, inner)?, number_of(op, inner)?)
        }
        "semver_compatible" => {
            let inner = operands(op, arg, &["key", "version"])?;
            let key = key_of(op, inner)?;
            let text = inner
                .get("version")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("\"semver_compatible\" needs a string \"version\""))?;
            Predicate::semver_compatible(key, text)?
        }
        "in" => {
            let inner = operands(op, arg, &["key", "values"])?;
            let key = key_of(op, inner)?;
            let values = inner
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("\"in\" needs an array of strings \"values\""))?;
            *nodes += values.len();
            if *nodes > MAX_PREDICATE_NODES {
                return Err(bad(format!(
                    "a predicate has at most {MAX_PREDICATE_NODES} parts"
                )));
            }
            let values = values
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("\"in\" needs an array of strings \"values\""))
                })
                .collect::<Result<_>>()?;
            Predicate::In(key, values)
        }
        "and" => Predicate::And(list(arg, nodes)?),
        "or" => Predicate::Or(list(arg, nodes)?),
        "not" => Predicate::Not(Box::new(parse(arg, depth + 1, nodes)?)),
        other => {
            return Err(bad(format!(
                "unknown operator {other:?} (exists, equals, numeric_at_least, numeric_at_most, semver_compatible, in, and, or, not)"
            )))
        }
    })
}
