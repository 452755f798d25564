//! Trust policies: which peers' static keys a node accepts, and at which
//! addresses.
//!
//! A handshake proves that a peer holds the key it presents; the policy
//! decides whether that key is welcome:
//! * `Open`: any key that completes the handshake (the network key is still
//!   required, so this means "anyone in the realm").
//! * `Tofu`: trust on first use, as SSH's known_hosts: the first key seen at
//!   an address is pinned, and a different key there later is refused.
//! * `Allowlist`: only the listed keys.
//!
//! Pinned keys (address → key) hold under every policy. Each decision is
//! counted and, when the node has an audit log, written to it.

use crate::identity::PublicKey;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

/// How a node decides which peers to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustPolicy {
    /// Every key that completes the handshake.
    #[default]
    Open,
    /// The first key seen at an address is pinned there.
    Tofu,
    /// Only keys on the allowlist.
    Allowlist,
}

impl TrustPolicy {
    /// The policy's name in configs and audit lines.
    pub fn as_str(self) -> &'static str {
        match self {
            TrustPolicy::Open => "open",
            TrustPolicy::Tofu => "tofu",
            TrustPolicy::Allowlist => "allowlist",
        }
    }
}

/// A node's trust settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrustConfig {
    /// The policy.
    pub policy: TrustPolicy,
    /// Keys accepted under `Allowlist` (ignored by the other policies).
    pub allow: Vec<PublicKey>,
    /// Keys required at given addresses, under every policy.
    pub pinned: Vec<(SocketAddr, PublicKey)>,
}

/// The outcome of a check, with the reason recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Welcome.
    Accept(&'static str),
    /// Refused.
    Reject(&'static str),
}

/// The live policy: its configuration and the keys pinned so far.
#[derive(Debug)]
pub(crate) struct Trust {
    policy: TrustPolicy,
    allow: HashSet<PublicKey>,
    pinned: HashMap<SocketAddr, PublicKey>,
    learned: Mutex<HashMap<SocketAddr, PublicKey>>,
}

impl Trust {
    pub(crate) fn new(config: &TrustConfig) -> Trust {
        Trust {
            policy: config.policy,
            allow: config.allow.iter().copied().collect(),
            pinned: config.pinned.iter().copied().collect(),
            learned: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn policy(&self) -> TrustPolicy {
        self.policy
    }

    /// Pins a key seen at an address before this run (from the peer store).
    pub(crate) fn remember(&self, addr: SocketAddr, key: PublicKey) {
        if self.policy == TrustPolicy::Tofu {
            self.learned.lock().entry(addr).or_insert(key);
        }
    }

    /// Decides about `key` at `addr` (`None`: reached through relays, so
    /// there is no address of its own to check) without changing anything.
    pub(crate) fn evaluate(&self, addr: Option<SocketAddr>, key: &PublicKey) -> Decision {
        if let Some(pinned) = addr.and_then(|a| self.pinned.get(&a)) {
            return if pinned == key {
                Decision::Accept("pinned key")
            } else {
                Decision::Reject("another key is pinned at this address")
            };
        }
        match self.policy {
            TrustPolicy::Open => Decision::Accept("open policy"),
            TrustPolicy::Allowlist if self.allow.contains(key) => {
                Decision::Accept("on the allowlist")
            }
            TrustPolicy::Allowlist => Decision::Reject("not on the allowlist"),
            TrustPolicy::Tofu => match addr.and_then(|a| self.learned.lock().get(&a).copied()) {
                Some(known) if known == *key => Decision::Accept("key known at this address"),
                Some(_) => Decision::Reject("a different key was first seen at this address"),
                None if addr.is_none() => Decision::Accept("routed: no address to pin"),
                None => Decision::Accept("first use"),
            },
        }
    }

    /// Records an accepted key (TOFU pins it at its address).
    pub(crate) fn learn(&self, addr: SocketAddr, key: PublicKey) {
        self.remember(addr, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn key(seed: u8) -> PublicKey {
        Identity::from_seed(&[seed; 32]).public_key()
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn tofu_pins_the_first_key_per_address() {
        let trust = Trust::new(&TrustConfig {
            policy: TrustPolicy::Tofu,
            ..TrustConfig::default()
        });
        assert_eq!(
            trust.evaluate(Some(addr(1)), &key(1)),
            Decision::Accept("first use")
        );
        trust.learn(addr(1), key(1));
        assert!(matches!(
            trust.evaluate(Some(addr(1)), &key(1)),
            Decision::Accept(_)
        ));
        assert!(matches!(
            trust.evaluate(Some(addr(1)), &key(2)),
            Decision::Reject(_)
        ));
        assert!(matches!(
            trust.evaluate(Some(addr(2)), &key(2)),
            Decision::Accept(_)
        ));
    }

    #[test]
    fn allowlist_and_pins() {
        let trust = Trust::new(&TrustConfig {
            policy: TrustPolicy::Allowlist,
            allow: vec![key(1)],
            pinned: vec![(addr(9), key(3))],
        });
        assert!(matches!(
            trust.evaluate(Some(addr(1)), &key(1)),
            Decision::Accept(_)
        ));
        assert!(matches!(
            trust.evaluate(Some(addr(1)), &key(2)),
            Decision::Reject(_)
        ));
        // A pin overrides the policy both ways.
        assert!(matches!(
            trust.evaluate(Some(addr(9)), &key(3)),
            Decision::Accept(_)
        ));
        assert!(matches!(
            trust.evaluate(Some(addr(9)), &key(1)),
            Decision::Reject(_)
        ));
        let open = Trust::new(&TrustConfig::default());
        assert_eq!(
            open.evaluate(Some(addr(1)), &key(5)),
            Decision::Accept("open policy")
        );
    }
}
