//! Subnets: a four-level hierarchy (region / fleet / vehicle / subsystem)
//! that channel visibility is decided against.
//!
//! A [`SubnetId`] is four bytes, one per level, most significant first:
//! `3.7.0.0` is fleet 7 of region 3. A level is 1 to 255; 0 means "not
//! set", and a level may only be set when the ones above it are (`0.7.0.0`
//! is not a subnet). `0.0.0.0` is [`SubnetId::GLOBAL`], the root that every
//! subnet lies under. The text form is always four dotted numbers; parsing
//! also takes fewer (`3.7` is `3.7.0.0`).
//!
//! A node is in one subnet. Which one a *peer* is in, each node derives the
//! same way from the peer's announced capability tags with a shared
//! [`SubnetPolicy`], so the mesh agrees on its geometry without a
//! directory.
//!
//! A channel's [`Visibility`] then says who may take part:
//!
//! | visibility | publisher in `a`, peer in `b` take part when |
//! |---|---|
//! | `global` | always |
//! | `subnet_local` | `a == b` |
//! | `parent_visible` | `a == b`, or one contains the other |

use crate::capability::CapabilitySet;
use crate::error::{Error, ErrorKind, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// The levels of a subnet id.
pub const SUBNET_LEVELS: usize = 4;

fn bad_id(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidSubnet, why)
}

fn bad_policy(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidSubnetPolicy, why)
}

/// A subnet (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SubnetId(u32);

impl SubnetId {
    /// The root: no level set.
    pub const GLOBAL: SubnetId = SubnetId(0);

    /// A subnet from its levels, outermost first (at most four, each 1 to
    /// 255); `subnet:invalid_id` otherwise.
    pub fn new(levels: &[u8]) -> Result<SubnetId> {
        if levels.len() > SUBNET_LEVELS {
            return Err(bad_id(format!(
                "a subnet has at most {SUBNET_LEVELS} levels, got {}",
                levels.len()
            )));
        }
        if let Some(at) = levels.iter().position(|l| *l == 0) {
            return Err(bad_id(format!(
                "level {at} is 0; levels are 1 to 255 (leave deeper levels out instead)"
            )));
        }
        let mut bytes = [0u8; SUBNET_LEVELS];
        bytes[..levels.len()].copy_from_slice(levels);
        Ok(SubnetId(u32::from_be_bytes(bytes)))
    }

    /// A subnet from its 32-bit encoding; `subnet:invalid_id` when a level
    /// is set below an unset one.
    pub fn from_u32(value: u32) -> Result<SubnetId> {
        let bytes = value.to_be_bytes();
        let depth = bytes.iter().take_while(|b| **b != 0).count();
        if bytes[depth..].iter().any(|b| *b != 0) {
            return Err(bad_id(format!(
                "{} sets a level below an unset one",
                SubnetId(value)
            )));
        }
        Ok(SubnetId(value))
    }

    /// The 32-bit encoding (the four levels, big-endian).
    pub fn to_u32(self) -> u32 {
        self.0
    }

    /// The four bytes, outermost first.
    pub fn to_bytes(self) -> [u8; SUBNET_LEVELS] {
        self.0.to_be_bytes()
    }

    /// The set levels.
    pub fn levels(self) -> Vec<u8> {
        self.to_bytes()[..self.depth()].to_vec()
    }

    /// How many levels are set (0 for [`GLOBAL`](Self::GLOBAL)).
    pub fn depth(self) -> usize {
        self.to_bytes().iter().take_while(|b| **b != 0).count()
    }

    /// The subnet one level up (`None` for the root).
    pub fn parent(self) -> Option<SubnetId> {
        let depth = self.depth();
        (depth > 0).then(|| {
            let mut bytes = self.to_bytes();
            bytes[depth - 1] = 0;
            SubnetId(u32::from_be_bytes(bytes))
        })
    }

    /// Whether `self` is `other` or lies above it.
    pub fn contains(self, other: SubnetId) -> bool {
        let depth = self.depth();
        self.to_bytes()[..depth] == other.to_bytes()[..depth]
    }

    /// Whether `self` lies strictly above `other`.
    pub fn is_ancestor_of(self, other: SubnetId) -> bool {
        self != other && self.contains(other)
    }

    /// Reads `a.b.c.d` (one to four levels; `0.0.0.0` is the root).
    pub fn parse(text: &str) -> Result<SubnetId> {
        let parts: Vec<&str> = text.split('.').collect();
        if parts.len() > SUBNET_LEVELS || text.is_empty() {
            return Err(bad_id(format!(
                "{text:?} is not a subnet (one to four dotted numbers, like 3.7)"
            )));
        }
        let mut bytes = [0u8; SUBNET_LEVELS];
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || part.len() > 3 {
                return Err(bad_id(format!(
                    "{text:?} is not a subnet: {part:?} is not a number from 0 to 255"
                )));
            }
            bytes[i] = part.parse::<u8>().map_err(|_| {
                bad_id(format!(
                    "{text:?} is not a subnet: {part:?} is not a number from 0 to 255"
                ))
            })?;
        }
        SubnetId::from_u32(u32::from_be_bytes(bytes))
    }
}

impl fmt::Display for SubnetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// Who takes part in a channel, by subnet (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Visibility {
    /// Everyone.
    #[default]
    Global,
    /// The publisher's subnet only.
    SubnetLocal,
    /// The publisher's subnet, those above it and those below it.
    ParentVisible,
}

impl Visibility {
    /// The name (`global`, `subnet_local`, `parent_visible`).
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Global => "global",
            Visibility::SubnetLocal => "subnet_local",
            Visibility::ParentVisible => "parent_visible",
        }
    }

    /// Reads a name; `subnet:invalid_policy` otherwise.
    pub fn parse(text: &str) -> Result<Visibility> {
        Ok(match text {
            "global" => Visibility::Global,
            "subnet_local" => Visibility::SubnetLocal,
            "parent_visible" => Visibility::ParentVisible,
            _ => {
                return Err(bad_policy(format!(
                    "{text:?} is not a visibility (global, subnet_local, parent_visible)"
                )))
            }
        })
    }

    /// Whether a peer in `peer` takes part in a channel of a publisher in
    /// `publisher`.
    pub fn allows(self, publisher: SubnetId, peer: SubnetId) -> bool {
        match self {
            Visibility::Global => true,
            Visibility::SubnetLocal => publisher == peer,
            Visibility::ParentVisible => publisher.contains(peer) || peer.contains(publisher),
        }
    }
}

/// One rule of a [`SubnetPolicy`]: a tag prefix whose remainder names the
/// byte of one level.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetRule {
    /// The tag prefix (`region:`); the rest of a tag that starts with it is
    /// looked up in `values`.
    pub prefix: String,
    /// The level it sets: 0 (region) to 3 (subsystem).
    pub level: u8,
    /// Remainder → level byte (1 to 255).
    pub values: BTreeMap<String, u8>,
}

impl SubnetRule {
    /// A rule for `prefix` at `level`, with no values yet.
    pub fn new(prefix: impl Into<String>, level: u8) -> Self {
        SubnetRule {
            prefix: prefix.into(),
            level,
            values: BTreeMap::new(),
        }
    }

    /// Maps the tag `<prefix><remainder>` to `byte`.
    pub fn map(mut self, remainder: impl Into<String>, byte: u8) -> Self {
        self.values.insert(remainder.into(), byte);
        self
    }

    fn check(&self) -> Result<()> {
        if self.prefix.is_empty() {
            return Err(bad_policy("a rule's prefix is empty"));
        }
        if usize::from(self.level) >= SUBNET_LEVELS {
            return Err(bad_policy(format!(
                "rule {:?}: level {} is not 0 to 3",
                self.prefix, self.level
            )));
        }
        if let Some((k, _)) = self.values.iter().find(|(_, b)| **b == 0) {
            return Err(bad_policy(format!(
                "rule {:?}: {k:?} maps to 0, which means unset (use 1 to 255)",
                self.prefix
            )));
        }
        Ok(())
    }
}

/// Derives a node's subnet from its capability tags (see the module docs).
///
/// Each rule looks for a tag starting with its prefix whose remainder it
/// maps, and sets its level to that byte (the first such tag in tag order
/// wins). The subnet is the levels set, up to the first unset one.
///
/// JSON: `{"rules": [{"prefix": "region:", "level": 0, "values": {"us": 3}}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetPolicy {
    /// The rules, applied in order (a later rule for the same level wins).
    #[serde(default)]
    pub rules: Vec<SubnetRule>,
}

impl SubnetPolicy {
    /// A policy with no rules (every node is in the root subnet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule; `subnet:invalid_policy` when it is not valid.
    pub fn add_rule(mut self, rule: SubnetRule) -> Result<Self> {
        rule.check()?;
        self.rules.push(rule);
        Ok(self)
    }

    /// Reads a policy from its JSON.
    pub fn from_json(json: &str) -> Result<SubnetPolicy> {
        let policy: SubnetPolicy = serde_json::from_str(json)
            .map_err(|e| bad_policy(format!("not a subnet policy: {e}")))?;
        for rule in &policy.rules {
            rule.check()?;
        }
        Ok(policy)
    }

    /// The subnet `caps` puts a node in.
    pub fn assign(&self, caps: &CapabilitySet) -> SubnetId {
        let mut bytes = [0u8; SUBNET_LEVELS];
        for rule in &self.rules {
            let found = caps.tags().find_map(|tag| {
                let rest = tag.strip_prefix(rule.prefix.as_str())?;
                rule.values.get(rest).copied()
            });
            if let Some(byte) = found {
                bytes[usize::from(rule.level)] = byte;
            }
        }
        let depth = bytes.iter().take_while(|b| **b != 0).count();
        bytes[depth..].fill(0);
        SubnetId(u32::from_be_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_encode_parse_and_nest() {
        let fleet = SubnetId::new(&[3, 7]).unwrap();
        assert_eq!(fleet.to_u32(), 0x0307_0000);
        assert_eq!(fleet.to_string(), "3.7.0.0");
        assert_eq!(SubnetId::parse("3.7").unwrap(), fleet);
        assert_eq!(SubnetId::parse("3.7.0.0").unwrap(), fleet);
        assert_eq!(fleet.depth(), 2);
        assert_eq!(fleet.parent(), Some(SubnetId::new(&[3]).unwrap()));
        assert_eq!(SubnetId::GLOBAL.parent(), None);
        let vehicle = SubnetId::new(&[3, 7, 1]).unwrap();
        assert!(fleet.is_ancestor_of(vehicle));
        assert!(!vehicle.is_ancestor_of(fleet));
        assert!(SubnetId::GLOBAL.contains(vehicle));
        assert!(!fleet.is_ancestor_of(fleet));
        for bad in ["", "1.2.3.4.5", "256", "0.7", "a.b", "1..2", "-1", "1.0.3"] {
            let err = SubnetId::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSubnet, "{bad}");
        }
        assert!(SubnetId::new(&[1, 0]).is_err());
        assert!(SubnetId::from_u32(0x0001_0000).is_err());
    }

    #[test]
    fn visibility_rules() {
        let a = SubnetId::new(&[3, 7]).unwrap();
        let child = SubnetId::new(&[3, 7, 2]).unwrap();
        let sibling = SubnetId::new(&[3, 8]).unwrap();
        assert!(Visibility::Global.allows(a, sibling));
        assert!(Visibility::SubnetLocal.allows(a, a));
        assert!(!Visibility::SubnetLocal.allows(a, child));
        assert!(Visibility::ParentVisible.allows(a, child));
        assert!(Visibility::ParentVisible.allows(child, a));
        assert!(!Visibility::ParentVisible.allows(a, sibling));
    }

    #[test]
    fn policy_assigns_from_tags() {
        let policy = SubnetPolicy::new()
            .add_rule(SubnetRule::new("region:", 0).map("us", 3).map("eu", 4))
            .unwrap()
            .add_rule(SubnetRule::new("fleet:", 1).map("blue", 7))
            .unwrap();
        let caps = CapabilitySet::new()
            .with_tag("region:us")
            .unwrap()
            .with_tag("fleet:blue")
            .unwrap();
        assert_eq!(policy.assign(&caps), SubnetId::new(&[3, 7]).unwrap());
        let orphan = CapabilitySet::new().with_tag("fleet:blue").unwrap();
        assert_eq!(policy.assign(&orphan), SubnetId::GLOBAL);
        assert!(SubnetPolicy::new()
            .add_rule(SubnetRule::new("x:", 4))
            .is_err());
        assert!(SubnetPolicy::from_json(
            r#"{"rules":[{"prefix":"a:","level":0,"values":{"b":0}}]}"#
        )
        .is_err());
    }
}
