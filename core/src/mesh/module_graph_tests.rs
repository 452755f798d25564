//! The mesh's modules depend on each other in one direction only: the
//! node composes its parts (transport, sessions, streams, inbox, protocols)
//! and no part reaches back into the node. Checked here from the sources,
//! so a new `use super::node` in a part fails the build's tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The mesh module a source file belongs to, and the modules it uses.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mesh");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap() {
                files.push(inner.unwrap().path());
            }
        } else {
            files.push(path);
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let parent = path.parent().unwrap();
        let nested = parent != dir;
        let module = if nested {
            parent.file_name().unwrap().to_string_lossy().into_owned()
        } else {
            name.clone()
        };
        if module == "mod" || name.ends_with("tests") || name == "test_support" {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let deps = graph.entry(module.clone()).or_default();
        for line in source.lines() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            // From a folder's submodule, `super::` is the folder itself.
            let prefixes: &[&str] = if nested && name != "mod" {
                &["crate::mesh::"]
            } else {
                &["super::", "crate::mesh::"]
            };
            for prefix in prefixes {
                for (at, _) in line.match_indices(prefix) {
                    let rest = &line[at + prefix.len()..];
                    let used: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !used.is_empty() && used != module && rest[used.len()..].starts_with("::")
                        || rest[used.len()..].starts_with([';', ',', '}', ' ', ')'])
                            && !used.is_empty()
                            && used != module
                    {
                        deps.insert(used);
                    }
                }
            }
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_mesh_modules_have_no_import_cycle() {
    let graph = dependencies();
    // The reading itself works: these edges exist.
    assert!(graph["node"].contains("streaming"), "{graph:?}");
    assert!(graph["bus_link"].contains("protocol"), "{graph:?}");
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
}

#[test]
fn the_parts_know_nothing_of_the_node_or_the_layers_above() {
    let graph = dependencies();
    for part in [
        "transport",
        "peers",
        "streaming",
        "inbox",
        "protocol",
        "stream",
        "session",
    ] {
        let deps = &graph[part];
        for above in ["node", "relay", "lifetime", "bus_link"] {
            assert!(!deps.contains(above), "{part} uses {above}: {deps:?}");
        }
    }
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&graph),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}
