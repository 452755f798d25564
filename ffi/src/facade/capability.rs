//! Capabilities and subnets for the bindings: JSON in, JSON out (see
//! `net_core::capability` and `net_core::subnet` for every shape), subnet
//! ids as their 32-bit encoding.

use net_core::capability::{validate, CapabilityDiff, CapabilitySet, Predicate};
use net_core::subnet::{SubnetId, SubnetPolicy, Visibility};
use net_core::Result;

/// A set's canonical JSON (typed sections written out as tags).
pub fn capability_normalize(set: &str) -> Result<String> {
    Ok(CapabilitySet::from_json(set)?.to_json())
}

/// A set's typed views as JSON.
pub fn capability_views(set: &str) -> Result<String> {
    Ok(CapabilitySet::from_json(set)?.views_json())
}

/// A set's validation report as JSON.
pub fn capability_validate(set: &str) -> Result<String> {
    Ok(validate(&CapabilitySet::from_json(set)?)
        .to_value()
        .to_string())
}

/// What changed from `before` to `after`, as a diff's JSON.
pub fn capability_diff(before: &str, after: &str) -> Result<String> {
    let before = CapabilitySet::from_json(before)?;
    Ok(CapabilitySet::from_json(after)?.diff(&before).to_json())
}

/// `set` with `diff` applied, as canonical JSON.
pub fn capability_apply(set: &str, diff: &str) -> Result<String> {
    let diff = CapabilityDiff::from_json(diff)?;
    Ok(CapabilitySet::from_json(set)?.apply(&diff)?.to_json())
}

/// A predicate's canonical JSON.
pub fn predicate_normalize(predicate: &str) -> Result<String> {
    Ok(Predicate::from_json(predicate)?.to_json())
}

/// Whether `set` satisfies `predicate`.
pub fn predicate_evaluate(predicate: &str, set: &str) -> Result<bool> {
    let predicate = Predicate::from_json(predicate)?;
    Ok(predicate.matches(&CapabilitySet::from_json(set)?))
}

/// A subnet id from its text (`3.7`, `3.7.0.0`).
pub fn subnet_parse(text: &str) -> Result<u32> {
    Ok(SubnetId::parse(text)?.to_u32())
}

/// A subnet id from its levels, outermost first.
pub fn subnet_from_levels(levels: &[u8]) -> Result<u32> {
    Ok(SubnetId::new(levels)?.to_u32())
}

/// A subnet id's text (`3.7.0.0`); `subnet:invalid_id` for an encoding
/// that is not one.
pub fn subnet_format(value: u32) -> Result<String> {
    Ok(SubnetId::from_u32(value)?.to_string())
}

/// Whether a peer in `peer` takes part in a channel of `visibility`
/// (`global`, `subnet_local`, `parent_visible`) published from `publisher`.
pub fn subnet_visible(visibility: &str, publisher: u32, peer: u32) -> Result<bool> {
    let visibility = Visibility::parse(visibility)?;
    Ok(visibility.allows(SubnetId::from_u32(publisher)?, SubnetId::from_u32(peer)?))
}

/// The subnet a policy (JSON) puts a node with capability set `set` in.
pub fn subnet_assign(policy: &str, set: &str) -> Result<u32> {
    let policy = SubnetPolicy::from_json(policy)?;
    Ok(policy.assign(&CapabilitySet::from_json(set)?).to_u32())
}

/// Capabilities on a mesh node: announce, find, inspect.
pub mod on_mesh {
    use super::*;
    use crate::facade::mesh::MeshHandle;
    use net_core::capability::ScopeFilter;

    /// Announces the set (JSON) as this node's capabilities.
    pub fn announce(mesh: &MeshHandle, set: &str) -> Result<()> {
        mesh.node()
            .announce_capabilities(CapabilitySet::from_json(set)?)
    }

    /// The nodes whose announced sets satisfy `predicate` (JSON), by node
    /// id; with `scope` (`global`, `same_subnet`, `tenant:<id>`,
    /// `region:<name>`), only those whose scope admits this node.
    pub fn find_nodes(mesh: &MeshHandle, predicate: &str, scope: Option<&str>) -> Result<Vec<u64>> {
        let predicate = Predicate::from_json(predicate)?;
        Ok(match scope {
            None => mesh.node().find_nodes(&predicate),
            Some(scope) => mesh
                .node()
                .find_nodes_scoped(&predicate, &ScopeFilter::parse(scope)?),
        })
    }

    /// The set `node_id` announced, as canonical JSON (`None`: not known).
    pub fn capabilities_of(mesh: &MeshHandle, node_id: u64) -> Option<String> {
        mesh.node().capabilities_of(node_id).map(|c| c.to_json())
    }

    /// The subnet of `node_id` (`None`: a peer that has not announced).
    pub fn subnet_of(mesh: &MeshHandle, node_id: u64) -> Option<u32> {
        mesh.node().subnet_of(node_id).map(SubnetId::to_u32)
    }

    /// The capability layer's counters as JSON.
    pub fn stats_json(mesh: &MeshHandle) -> String {
        serde_json::to_string(&mesh.node().capability_stats()).unwrap_or_default()
    }
}
