//! 64-bit integers in the boundary JSON.
//!
//! JavaScript reads JSON numbers as doubles, exact only up to 2^53, so every
//! 64-bit id, sequence and nanosecond timestamp leaves the engine as a
//! decimal string. Going in, such a field takes either form: a number (what
//! Python, Go and C write naturally) or a decimal string (what TypeScript
//! writes for a `bigint`).

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// A `u64` read from a JSON number or a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct U64(pub u64);

impl<'de> Deserialize<'de> for U64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<U64, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = U64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned 64-bit integer (a number or a decimal string)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<U64, E> {
                Ok(U64(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<U64, E> {
                u64::try_from(v)
                    .map(U64)
                    .map_err(|_| E::custom(format!("{v} is negative")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<U64, E> {
                Err(E::custom(format!("{v} is not a whole number")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<U64, E> {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!("{v:?} is not a decimal u64")));
                }
                v.parse()
                    .map(U64)
                    .map_err(|_| E::custom(format!("{v:?} does not fit in 64 bits")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Turns every integer inside JSON objects (records) into a decimal string;
/// top-level numbers (counts) and other values stay as they are.
pub fn u64s_as_strings(value: Value) -> Value {
    fn record(value: Value) -> Value {
        match value {
            Value::Number(n) if n.is_u64() || n.is_i64() => Value::String(n.to_string()),
            Value::Array(items) => Value::Array(items.into_iter().map(record).collect()),
            Value::Object(fields) => {
                Value::Object(fields.into_iter().map(|(k, v)| (k, record(v))).collect())
            }
            other => other,
        }
    }
    match value {
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|v| if v.is_object() { record(v) } else { v })
                .collect(),
        ),
        Value::Object(_) => record(value),
        other => other,
    }
}

/// Node ids as a JSON array of decimal strings (64-bit ids do not fit a
/// JavaScript number).
pub fn ids_as_strings(ids: &[u64]) -> String {
    Value::from(ids.iter().map(u64::to_string).collect::<Vec<_>>()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_takes_numbers_and_decimal_strings_and_refuses_the_rest() {
        let parse = |s: &str| serde_json::from_str::<U64>(s);
        assert_eq!(parse("7").unwrap(), U64(7));
        assert_eq!(parse("\"18446744073709551615\"").unwrap(), U64(u64::MAX));
        assert_eq!(parse("18446744073709551615").unwrap(), U64(u64::MAX));
        for bad in [
            "-1",
            "1.5",
            "\"\"",
            "\"-1\"",
            "\"1e3\"",
            "\"18446744073709551616\"",
            "null",
            "true",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn records_carry_u64s_as_strings_and_counts_stay_numbers() {
        let v = serde_json::json!([{"id": 9007199254740993u64, "tags": ["a"], "pinned": true}]);
        assert_eq!(
            u64s_as_strings(v),
            serde_json::json!([{"id": "9007199254740993", "tags": ["a"], "pinned": true}])
        );
        assert_eq!(u64s_as_strings(serde_json::json!(3)), serde_json::json!(3));
        assert_eq!(u64s_as_strings(Value::Null), Value::Null);
    }
}
