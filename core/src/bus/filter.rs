//! Poll filters: field equality on nested JSON paths, combined with and/or/not.
//!
//! The grammar (one JSON object per node):
//! `{"field": "user.id", "eq": 42}`, `{"and": [..]}`, `{"or": [..]}`, `{"not": {..}}`.
//! A path walks objects by key and arrays by index. Events that are not JSON, or
//! lack the field, do not match an equality. Numbers compare by value (1 == 1.0).

use crate::error::{Error, ErrorKind, Result};
use serde_json::Value;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// The value at `path` equals `value`.
    Eq {
        /// Dot-separated path segments.
        path: Vec<String>,
        /// The expected value.
        value: Value,
    },
    /// Every sub-filter matches (an empty list matches everything).
    And(Vec<Filter>),
    /// At least one sub-filter matches (an empty list matches nothing).
    Or(Vec<Filter>),
    /// The sub-filter does not match.
    Not(Box<Filter>),
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidFilter, detail)
}

impl Filter {
    /// Parses a filter from JSON text.
    pub fn from_json(json: &str) -> Result<Filter> {
        let value: Value = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        Filter::from_value(&value)
    }

    /// Parses a filter from an already decoded JSON value.
    pub fn from_value(value: &Value) -> Result<Filter> {
        let obj = value
            .as_object()
            .ok_or_else(|| invalid("a filter must be a JSON object"))?;
        if let Some(field) = obj.get("field") {
            if obj.len() != 2 || !obj.contains_key("eq") {
                return Err(invalid(
                    "a field filter has exactly the keys \"field\" and \"eq\"",
                ));
            }
            let path = field
                .as_str()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| invalid("\"field\" must be a non-empty string"))?;
            return Ok(Filter::Eq {
                path: path.split('.').map(str::to_owned).collect(),
                value: obj["eq"].clone(),
            });
        }
        if obj.len() != 1 {
            return Err(invalid(
                "a filter is one of {\"field\",\"eq\"}, {\"and\"}, {\"or\"}, {\"not\"}",
            ));
        }
        let (key, inner) = obj.iter().next().ok_or_else(|| invalid("empty filter"))?;
        match key.as_str() {
            "and" | "or" => {
                let items = inner
                    .as_array()
                    .ok_or_else(|| invalid(format!("\"{key}\" takes an array of filters")))?;
                let parsed = items
                    .iter()
                    .map(Filter::from_value)
                    .collect::<Result<_>>()?;
                Ok(if key == "and" {
                    Filter::And(parsed)
                } else {
                    Filter::Or(parsed)
                })
            }
            "not" => Ok(Filter::Not(Box::new(Filter::from_value(inner)?))),
            other => Err(invalid(format!("unknown filter key \"{other}\""))),
        }
    }

    /// Whether the JSON payload `data` matches. Non-JSON payloads are treated as
    /// having no fields.
    pub fn matches_bytes(&self, data: &[u8]) -> bool {
        let doc = serde_json::from_slice::<Value>(data).unwrap_or(Value::Null);
        self.matches(&doc)
    }

    /// Whether a decoded document matches.
    pub fn matches(&self, doc: &Value) -> bool {
        match self {
            Filter::Eq { path, value } => lookup(doc, path).is_some_and(|v| json_eq(v, value)),
            Filter::And(items) => items.iter().all(|f| f.matches(doc)),
            Filter::Or(items) => items.iter().any(|f| f.matches(doc)),
            Filter::Not(inner) => !inner.matches(doc),
        }
    }
}

fn lookup<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, segment| match node {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(filter: &str, doc: &str) -> bool {
        Filter::from_json(filter)
            .unwrap()
            .matches_bytes(doc.as_bytes())
    }

    #[test]
    fn equality_on_nested_paths() {
        assert!(m(r#"{"field":"a.b","eq":1}"#, r#"{"a":{"b":1.0}}"#));
        assert!(!m(r#"{"field":"a.b","eq":1}"#, r#"{"a":{"b":2}}"#));
        assert!(m(r#"{"field":"xs.1","eq":"y"}"#, r#"{"xs":["x","y"]}"#));
        assert!(!m(r#"{"field":"a","eq":1}"#, "not json"));
    }

    #[test]
    fn combinators() {
        let doc = r#"{"k":"a","n":3}"#;
        assert!(m(
            r#"{"and":[{"field":"k","eq":"a"},{"field":"n","eq":3}]}"#,
            doc
        ));
        assert!(m(
            r#"{"or":[{"field":"k","eq":"b"},{"field":"n","eq":3}]}"#,
            doc
        ));
        assert!(m(r#"{"not":{"field":"k","eq":"b"}}"#, doc));
        assert!(m(r#"{"and":[]}"#, doc));
        assert!(!m(r#"{"or":[]}"#, doc));
    }

    #[test]
    fn rejects_malformed_filters() {
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"field":"a"}"#,
            r#"{"field":"","eq":1}"#,
            r#"{"field":1,"eq":1}"#,
            r#"{"and":{}}"#,
            r#"{"xor":[]}"#,
            r#"{"not":[]}"#,
            r#"{"field":"a","eq":1,"x":2}"#,
        ] {
            assert_eq!(
                Filter::from_json(bad).unwrap_err().kind(),
                ErrorKind::InvalidFilter,
                "{bad}"
            );
        }
    }
}
