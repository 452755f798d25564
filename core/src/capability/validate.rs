//! Validation: is a capability set well-formed beyond its syntax?
//!
//! Parsing already refuses what is not a tag. [`validate`] reads the set
//! against the schema of its typed views and reserved tags and returns a
//! [`ValidationReport`]: **errors** an operator must fix (a typed key that
//! is not a number, two values where one belongs, an unknown `scope:` form)
//! and **warnings** that are hygiene or forward compatibility (a key under
//! `hardware.` this version does not know, GPU details without
//! `hardware.gpu`, metadata that shadows a tag, conflicting scopes).
//!
//! | code | level | when |
//! |---|---|---|
//! | `missing_value` | error | a typed key, `software.model` or `software.tool` as a bare tag |
//! | `not_a_number` | error | a numeric key whose value is not a number |
//! | `out_of_range` | error | a negative number, or a fraction where a count belongs |
//! | `multiple_values` | error | a one-value key (`hardware.memory_gb`, a runtime, ...) with several |
//! | `not_a_version` | error | a `software.runtime.<name>` value that is not a version |
//! | `unexpected_value` | error | `hardware.gpu` or a `scope:` tag with a value |
//! | `unknown_scope` | error | a `scope:` tag other than `scope:subnet-local`, `scope:tenant:<id>`, `scope:region:<name>` |
//! | `empty_name` | error | `nrpc:` with no service name |
//! | `unknown_key` | warning | a `hardware.`, `software.` or `limits.` key outside the schema |
//! | `gpu_detail_without_gpu` | warning | `hardware.gpu.*` without `hardware.gpu` |
//! | `scope_conflict` | warning | `scope:subnet-local` beside tenant or region scopes (the strictest wins) |
//! | `metadata_shadows_tag` | warning | a metadata key that is also a tag key |

use super::predicate::parse_version;
use super::CapabilitySet;
use serde_json::Value;

/// One finding of [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// A stable code (see the module docs).
    pub code: &'static str,
    /// The key (or tag) it is about.
    pub key: String,
    /// A sentence for people.
    pub message: String,
}

/// What [`validate`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationReport {
    /// Problems an operator must fix.
    pub errors: Vec<Issue>,
    /// Hygiene and forward-compatibility notes.
    pub warnings: Vec<Issue>,
}

impl ValidationReport {
    /// Whether there are no errors (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// The report as JSON: `{"valid": bool, "errors": [{"code", "key",
    /// "message"}], "warnings": [...]}`.
    pub fn to_value(&self) -> Value {
        let list = |issues: &[Issue]| -> Value {
            issues
                .iter()
                .map(|i| serde_json::json!({"code": i.code, "key": i.key, "message": i.message}))
                .collect()
        };
        serde_json::json!({
            "valid": self.is_valid(),
            "errors": list(&self.errors),
            "warnings": list(&self.warnings),
        })
    }

    fn error(&mut self, code: &'static str, key: &str, message: String) {
        self.errors.push(Issue {
            code,
            key: key.to_string(),
            message,
        });
    }

    fn warn(&mut self, code: &'static str, key: &str, message: String) {
        self.warnings.push(Issue {
            code,
            key: key.to_string(),
            message,
        });
    }
}

#[derive(Clone, Copy)]
enum Kind {
    /// A whole number of at least 0, one value.
    Count,
    /// A number of at least 0, one value.
    Amount,
    /// Text, one value.
    Text,
    /// Present, no value.
    Flag,
    /// Text, any number of values.
    Many,
}

const SCHEMA: &[(&str, Kind)] = &[
    ("hardware.cpu.cores", Kind::Count),
    ("hardware.cpu.threads", Kind::Count),
    ("hardware.memory_gb", Kind::Amount),
    ("hardware.gpu", Kind::Flag),
    ("hardware.gpu.vendor", Kind::Text),
    ("hardware.gpu.model", Kind::Text),
    ("hardware.gpu.vram_gb", Kind::Amount),
    ("hardware.gpu.count", Kind::Count),
    ("software.model", Kind::Many),
    ("software.tool", Kind::Many),
    ("limits.max_concurrent", Kind::Count),
    ("limits.max_payload_bytes", Kind::Count),
    ("limits.max_rate_per_sec", Kind::Amount),
];

/// Checks a set against the schema (see the module docs).
pub fn validate(set: &CapabilitySet) -> ValidationReport {
    let mut report = ValidationReport::default();
    let mut subnet_local = false;
    let mut narrowed = false;
    for key in set.keys() {
        let Some(kv) = set.key_values(key) else {
            continue;
        };
        if let Some(rest) = key.strip_prefix("scope:") {
            if !kv.values.is_empty() {
                report.error(
                    "unexpected_value",
                    key,
                    format!("the scope tag {key:?} takes no value"),
                );
            }
            match rest {
                "subnet-local" => subnet_local = true,
                _ => match rest.split_once(':') {
                    Some(("tenant" | "region", name)) if !name.is_empty() => narrowed = true,
                    _ => report.error(
                        "unknown_scope",
                        key,
                        format!(
                            "{key:?} is not a scope (scope:subnet-local, scope:tenant:<id>, scope:region:<name>)"
                        ),
                    ),
                },
            }
            continue;
        }
        if key == "nrpc:" {
            report.error("empty_name", key, "\"nrpc:\" names no service".to_string());
            continue;
        }
        if let Some(name) = key.strip_prefix("software.runtime.") {
            if name.is_empty() || kv.present || kv.values.is_empty() {
                report.error(
                    "missing_value",
                    key,
                    format!("{key:?} needs a version (software.runtime.<name>=<version>)"),
                );
            }
            if kv.values.len() > 1 {
                report.error(
                    "multiple_values",
                    key,
                    format!("{key:?} has {} versions; it takes one", kv.values.len()),
                );
            }
            for v in &kv.values {
                if parse_version(&v.text).is_none() {
                    report.error(
                        "not_a_version",
                        key,
                        format!("{:?} is not a version", &*v.text),
                    );
                }
            }
            continue;
        }
        let typed = SCHEMA
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, kind)| *kind);
        let Some(kind) = typed else {
            if ["hardware.", "software.", "limits."]
                .iter()
                .any(|p| key.starts_with(p))
            {
                report.warn(
                    "unknown_key",
                    key,
                    format!("{key:?} is not a key this version knows"),
                );
            }
            continue;
        };
        if key.starts_with("hardware.gpu.") && !set.has_tag("hardware.gpu") {
            report.warn(
                "gpu_detail_without_gpu",
                key,
                format!("{key:?} without the tag \"hardware.gpu\""),
            );
        }
        match kind {
            Kind::Flag => {
                if !kv.values.is_empty() {
                    report.error(
                        "unexpected_value",
                        key,
                        format!("{key:?} is a bare tag and takes no value"),
                    );
                }
            }
            Kind::Many => {
                if kv.present {
                    report.error(
                        "missing_value",
                        key,
                        format!("{key:?} needs a value ({key}=<name>)"),
                    );
                }
            }
            Kind::Count | Kind::Amount | Kind::Text => {
                if kv.present {
                    report.error(
                        "missing_value",
                        key,
                        format!("{key:?} needs a value ({key}=<value>)"),
                    );
                }
                if kv.values.len() > 1 {
                    report.error(
                        "multiple_values",
                        key,
                        format!("{key:?} has {} values; it takes one", kv.values.len()),
                    );
                }
                if matches!(kind, Kind::Text) {
                    continue;
                }
                for v in &kv.values {
                    match v.number {
                        None => report.error(
                            "not_a_number",
                            key,
                            format!("{key:?} must be a number, not {:?}", &*v.text),
                        ),
                        Some(n) if n < 0.0 => {
                            report.error("out_of_range", key, format!("{key:?} must be at least 0"))
                        }
                        Some(n) if matches!(kind, Kind::Count) && n.fract() != 0.0 => report.error(
                            "out_of_range",
                            key,
                            format!("{key:?} must be a whole number"),
                        ),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    if subnet_local && narrowed {
        report.warn(
            "scope_conflict",
            "scope:subnet-local",
            "scope:subnet-local beside tenant or region scopes: the strictest (subnet-local) wins"
                .to_string(),
        );
    }
    for key in set.metadata().keys() {
        if set.key_values(key).is_some() {
            report.warn(
                "metadata_shadows_tag",
                key,
                format!("the metadata key {key:?} is also a tag key; predicates read both"),
            );
        }
    }
    report
}
