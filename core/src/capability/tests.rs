use super::*;
use crate::subnet::SubnetId;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn gpu_node() -> CapabilitySet {
    CapabilitySet::new()
        .with_hardware(&Hardware {
            cpu_cores: Some(16),
            cpu_threads: Some(32),
            memory_gb: Some(64.0),
            gpu: Some(Gpu {
                vendor: Some("nvidia".into()),
                model: Some("RTX 4090".into()),
                vram_gb: Some(24.0),
                count: None,
            }),
        })
        .unwrap()
        .with_tag("inference")
        .unwrap()
}

#[test]
fn tags_keep_order_and_values() {
    let mut set = CapabilitySet::new();
    assert!(set.insert_tag("software.model=b").unwrap());
    assert!(set.insert_tag("software.model=a").unwrap());
    assert!(!set.insert_tag("software.model=a").unwrap());
    assert!(set.insert_tag("gpu").unwrap());
    assert_eq!(
        set.tags().collect::<Vec<_>>(),
        ["gpu", "software.model=a", "software.model=b"]
    );
    assert_eq!(set.tag_count(), 3);
    assert!(set.remove_tag("software.model=a"));
    assert!(!set.remove_tag("software.model=a"));
    assert_eq!(set.tag_count(), 2);
    for bad in ["", "=x", "a b", "k=", "k=\u{7}", "ключ"] {
        let err = set.insert_tag(bad).unwrap_err();
        assert_eq!(
            err.kind(),
            crate::ErrorKind::InvalidCapabilityTag,
            "{bad:?}"
        );
    }
    assert_eq!(set.tag_count(), 2, "a refused tag leaves the set as it was");
}

#[test]
fn typed_views_round_trip() {
    let set = gpu_node();
    let hw = set.hardware();
    assert_eq!(hw.cpu_cores, Some(16));
    assert_eq!(hw.memory_gb, Some(64.0));
    assert_eq!(hw.gpu.as_ref().unwrap().vram_gb, Some(24.0));
    assert!(set.has_tag("hardware.gpu.vram_gb=24"));
    let json = set.to_json();
    let back = CapabilitySet::from_json(&json).unwrap();
    assert_eq!(back, set);
    let from_sections = CapabilitySet::from_json(
        r#"{"tags":["inference"],"hardware":{"cpu_cores":16,"cpu_threads":32,"memory_gb":64,
            "gpu":{"vendor":"nvidia","model":"RTX 4090","vram_gb":24}}}"#,
    )
    .unwrap();
    assert_eq!(from_sections, set);
}

#[test]
fn set_json_errors() {
    for (json, kind) in [
        ("[]", ErrorKind::InvalidCapabilitySet),
        ("{\"tags\": \"gpu\"}", ErrorKind::InvalidCapabilitySet),
        ("{\"tag\": []}", ErrorKind::InvalidCapabilitySet),
        ("{\"tags\": [\"a b\"]}", ErrorKind::InvalidCapabilityTag),
        (
            "{\"hardware\": {\"cpu_cores\": -1}}",
            ErrorKind::InvalidCapabilitySet,
        ),
        (
            "{\"hardware\": {\"gpus\": 1}}",
            ErrorKind::InvalidCapabilitySet,
        ),
        (
            "{\"metadata\": {\"k\": 1}}",
            ErrorKind::InvalidCapabilitySet,
        ),
        ("not json", ErrorKind::InvalidCapabilitySet),
    ] {
        assert_eq!(
            CapabilitySet::from_json(json).unwrap_err().kind(),
            kind,
            "{json}"
        );
    }
    let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("\"t{i}\"")).collect();
    let json = format!("{{\"tags\": [{}]}}", many.join(","));
    assert_eq!(
        CapabilitySet::from_json(&json).unwrap_err().kind(),
        ErrorKind::InvalidCapabilitySet
    );
}

#[test]
fn predicates_evaluate() {
    let set = gpu_node()
        .with_tag("software.runtime.python=3.11.4")
        .unwrap()
        .with_metadata("intent", "ml-training")
        .unwrap();
    let yes = [
        Predicate::exists("hardware.gpu"),
        Predicate::exists("intent"),
        Predicate::equals("hardware.gpu.vendor", "nvidia"),
        Predicate::equals_number("hardware.gpu.vram_gb", 24.0),
        Predicate::at_least("hardware.memory_gb", 64.0),
        Predicate::at_most("hardware.cpu.cores", 16.0),
        Predicate::semver_compatible("software.runtime.python", "3.10").unwrap(),
        Predicate::one_of("intent", ["ml-training", "batch"]),
        Predicate::exists("gpu-less") | Predicate::exists("inference"),
        !Predicate::exists("gpu-less"),
        Predicate::all([]),
    ];
    for p in &yes {
        assert!(p.matches(&set), "{}", p.describe());
    }
    let no = [
        Predicate::exists("tpu"),
        Predicate::at_least("hardware.memory_gb", 64.5),
        Predicate::at_least("hardware.gpu.vendor", 1.0),
        Predicate::semver_compatible("software.runtime.python", "3.12").unwrap(),
        Predicate::semver_compatible("software.runtime.python", "2").unwrap(),
        Predicate::exists("inference") & Predicate::exists("tpu"),
        Predicate::any([]),
    ];
    for p in &no {
        assert!(!p.matches(&set), "{}", p.describe());
    }
}

#[test]
fn predicate_json_round_trips_and_refuses() {
    let p = Predicate::exists("hardware.gpu")
        & Predicate::at_least("hardware.gpu.vram_gb", 16.0)
        & !Predicate::one_of("region", ["cn"]);
    let json = p.to_json();
    assert_eq!(Predicate::from_json(&json).unwrap(), p);
    let deep = (0..40).fold("{\"exists\":\"a\"}".to_string(), |acc, _| {
        format!("{{\"not\":{acc}}}")
    });
    for bad in [
        "{}",
        "{\"exists\": 1}",
        "{\"exist\": \"a\"}",
        "{\"exists\": \"a\", \"and\": []}",
        "{\"numeric_at_least\": {\"key\": \"a\"}}",
        "{\"numeric_at_least\": {\"key\": \"a\", \"value\": \"1\"}}",
        "{\"semver_compatible\": {\"key\": \"a\", \"version\": \"x.y\"}}",
        "{\"equals\": {\"key\": \"a b\", \"value\": \"1\"}}",
        "{\"in\": {\"key\": \"a\", \"values\": [1]}}",
        "{\"and\": {}}",
        deep.as_str(),
    ] {
        assert_eq!(
            Predicate::from_json(bad).unwrap_err().kind(),
            ErrorKind::InvalidPredicate,
            "{bad}"
        );
    }
}

#[test]
fn validation_reports_errors_and_warnings() {
    let set = CapabilitySet::from_json(
        r#"{"tags":["hardware.memory_gb=lots","hardware.cpu.cores=1.5","hardware.gpu.vram_gb=8",
            "scope:tenant:","scope:subnet-local","scope:region:eu","hardware.fpga","software.runtime.python=three"],
            "metadata":{"hardware.fpga":"x"}}"#,
    )
    .unwrap();
    let report = validate(&set);
    let codes = |issues: &[Issue]| issues.iter().map(|i| i.code).collect::<Vec<_>>();
    assert!(!report.is_valid());
    let errors = codes(&report.errors);
    for code in [
        "not_a_number",
        "out_of_range",
        "unknown_scope",
        "not_a_version",
    ] {
        assert!(errors.contains(&code), "{code} in {errors:?}");
    }
    let warnings = codes(&report.warnings);
    for code in [
        "unknown_key",
        "gpu_detail_without_gpu",
        "scope_conflict",
        "metadata_shadows_tag",
    ] {
        assert!(warnings.contains(&code), "{code} in {warnings:?}");
    }
    assert!(validate(&gpu_node()).is_valid());
    assert!(validate(&gpu_node()).warnings.is_empty());
}

#[test]
fn diff_applies_and_detects_staleness() {
    let before = gpu_node().with_metadata("owner", "a").unwrap();
    let after = gpu_node()
        .with_tag("software.model=llama3-70b")
        .unwrap()
        .with_metadata("note", "new")
        .unwrap();
    let mut after = after;
    assert!(after.remove_tag("inference"));
    let diff = after.diff(&before);
    assert_eq!(diff.added, ["software.model=llama3-70b"]);
    assert_eq!(diff.removed, ["inference"]);
    assert_eq!(diff.metadata_removed, ["owner"]);
    assert_eq!(before.apply(&diff).unwrap(), after);
    assert!(after.diff(&after).is_empty());
    let err = after.apply(&diff).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidCapabilityDiff);
    let back = CapabilityDiff::from_json(&diff.to_json()).unwrap();
    assert_eq!(back, diff);
}

#[test]
fn index_finds_by_predicate_and_scope() {
    let home = SubnetId::new(&[1]).unwrap();
    let away = SubnetId::new(&[2]).unwrap();
    let mut index = CapabilityIndex::new(home);
    let gpu = Arc::new(gpu_node());
    let plain = Arc::new(CapabilitySet::new().with_tag("inference").unwrap());
    let tenant = Arc::new(gpu_node().with_tag("scope:tenant:oem").unwrap());
    let local_home = Arc::new(gpu_node().with_tag("scope:subnet-local").unwrap());
    let local_away = Arc::new(gpu_node().with_tag("scope:subnet-local").unwrap());
    assert!(index.upsert(1, gpu.clone(), home, 1, None));
    assert!(index.upsert(2, plain, home, 1, None));
    assert!(index.upsert(3, tenant, away, 1, None));
    assert!(index.upsert(4, local_home, home, 1, None));
    assert!(index.upsert(5, local_away, away, 1, None));
    let want =
        Predicate::exists("hardware.gpu") & Predicate::at_least("hardware.gpu.vram_gb", 16.0);
    assert_eq!(index.find_nodes(&want), [1, 3, 4, 5]);
    assert_eq!(index.find_nodes_scoped(&want, &ScopeFilter::Global), [1]);
    assert_eq!(
        index.find_nodes_scoped(&want, &ScopeFilter::Tenant("oem".into())),
        [1, 3]
    );
    assert_eq!(
        index.find_nodes_scoped(&want, &ScopeFilter::SameSubnet),
        [1, 4]
    );
    assert_eq!(
        index.find_nodes(&Predicate::equals("inference", "x")),
        Vec::<u64>::new()
    );
    assert_eq!(index.find_nodes(&!Predicate::exists("hardware.gpu")), [2]);
    assert_eq!(
        index.find_nodes(
            &(Predicate::exists("scope:tenant:oem") | Predicate::exists("scope:subnet-local"))
        ),
        [3, 4, 5]
    );
    // Older announcements do not replace newer ones; equal ones refresh.
    assert!(!index.upsert(1, Arc::new(CapabilitySet::new()), home, 0, None));
    assert!(index.upsert(1, Arc::new(CapabilitySet::new()), home, 2, None));
    assert_eq!(index.find_nodes(&want), [3, 4, 5]);
    // Expiry.
    let now = Instant::now();
    assert!(index.upsert(6, gpu, home, 1, Some(now + Duration::from_secs(5))));
    assert_eq!(index.find_nodes(&want), [3, 4, 5, 6]);
    assert!(index.gc(now + Duration::from_secs(4)).is_empty());
    assert_eq!(index.gc(now + Duration::from_secs(5)), [6]);
    assert_eq!(index.find_nodes(&want), [3, 4, 5]);
    assert!(index.remove(3));
    assert!(!index.remove(3));
    assert_eq!(index.len(), 4);
}

#[test]
fn index_agrees_with_a_scan() {
    // Every planned query returns what evaluating every entry returns.
    let mut index = CapabilityIndex::new(SubnetId::GLOBAL);
    for n in 0..300u64 {
        let mut set = CapabilitySet::new();
        set.insert_tag(&format!("hardware.memory_gb={}", n % 7 * 16))
            .unwrap();
        if n % 3 == 0 {
            set.insert_tag("hardware.gpu").unwrap();
        }
        if n % 5 == 0 {
            set.set_metadata("zone", if n % 2 == 0 { "a" } else { "b" })
                .unwrap();
        }
        index.upsert(n, Arc::new(set), SubnetId::GLOBAL, 1, None);
    }
    let queries = [
        Predicate::exists("hardware.gpu"),
        Predicate::equals("zone", "a"),
        Predicate::exists("hardware.gpu") & Predicate::at_least("hardware.memory_gb", 48.0),
        Predicate::equals("zone", "b") | Predicate::exists("hardware.gpu"),
        !Predicate::equals("zone", "a"),
        Predicate::exists("hardware.gpu") & Predicate::equals("zone", "b"),
        !(Predicate::exists("hardware.gpu") & Predicate::equals("zone", "b")),
        !Predicate::at_least("hardware.memory_gb", 32.0),
        Predicate::one_of("zone", ["a", "c"]) | Predicate::exists("hardware.gpu"),
        Predicate::equals("hardware.memory_gb", "16") & !Predicate::exists("hardware.gpu"),
        Predicate::all([Predicate::exists("hardware.gpu")]),
        Predicate::all([]),
        Predicate::any([]),
    ];
    for q in &queries {
        let scan: Vec<u64> = index
            .entries()
            .filter(|e| q.matches(&e.caps))
            .map(|e| e.node_id)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(index.find_nodes(q), scan, "{}", q.describe());
    }
}
