//! Capabilities: predicate evaluation against one set, and `find_nodes`
//! over an index of 10 000 nodes — a selective query (a rare GPU class), a
//! broad one (half the nodes), one that must scan (`not` at the top), and a
//! scoped one.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use net_core::capability::{CapabilityIndex, CapabilitySet, Gpu, Hardware, Predicate, ScopeFilter};
use net_core::subnet::SubnetId;
use std::sync::Arc;

fn node(n: u64) -> CapabilitySet {
    let gpu = (n.is_multiple_of(100)).then(|| Gpu {
        vendor: Some(
            if n.is_multiple_of(200) {
                "nvidia"
            } else {
                "amd"
            }
            .into(),
        ),
        model: Some("X".into()),
        vram_gb: Some(if n.is_multiple_of(300) { 48.0 } else { 24.0 }),
        count: None,
    });
    let mut set = CapabilitySet::new()
        .with_hardware(&Hardware {
            cpu_cores: Some(4 + (n % 8) as u32 * 4),
            cpu_threads: None,
            memory_gb: Some(8.0 * (1 + n % 16) as f64),
            gpu,
        })
        .expect("hardware");
    set.insert_tag(if n.is_multiple_of(2) {
        "region:eu"
    } else {
        "region:us"
    })
    .expect("tag");
    set.insert_tag(&format!("software.model=m{}", n % 50))
        .expect("tag");
    if n.is_multiple_of(10) {
        set.insert_tag("scope:tenant:t1").expect("tag");
    }
    set
}

fn capability(c: &mut Criterion) {
    let mut g = c.benchmark_group("capability");
    let set = node(300);
    let simple = Predicate::exists("hardware.gpu");
    let compound = Predicate::exists("hardware.gpu")
        & Predicate::at_least("hardware.gpu.vram_gb", 24.0)
        & Predicate::equals("hardware.gpu.vendor", "nvidia")
        & !Predicate::one_of("region", ["cn"]);
    let semver_set = set
        .clone()
        .with_tag("software.runtime.python=3.11.4")
        .expect("tag");
    let semver = Predicate::semver_compatible("software.runtime.python", "3.10").expect("version");
    g.bench_function("predicate/exists", |b| {
        b.iter(|| black_box(&simple).matches(black_box(&set)))
    });
    g.bench_function("predicate/compound_4", |b| {
        b.iter(|| black_box(&compound).matches(black_box(&set)))
    });
    g.bench_function("predicate/semver", |b| {
        b.iter(|| black_box(&semver).matches(black_box(&semver_set)))
    });

    let mut index = CapabilityIndex::new(SubnetId::GLOBAL);
    for n in 0..10_000u64 {
        index.upsert(n, Arc::new(node(n)), SubnetId::GLOBAL, 1, None);
    }
    let rare = Predicate::exists("hardware.gpu")
        & Predicate::at_least("hardware.gpu.vram_gb", 48.0)
        & Predicate::equals("hardware.gpu.vendor", "nvidia");
    assert_eq!(index.find_nodes(&rare).len(), 17);
    let broad = Predicate::equals("region", "eu") | Predicate::exists("region:eu");
    assert_eq!(index.find_nodes(&broad).len(), 5_000);
    let scan = !Predicate::exists("hardware.gpu");
    assert_eq!(index.find_nodes(&scan).len(), 9_900);
    g.bench_function("find_nodes_10k/selective_17_hits", |b| {
        b.iter(|| index.find_nodes(black_box(&rare)))
    });
    g.bench_function("find_nodes_10k/model_200_hits", |b| {
        let p = Predicate::equals("software.model", "m7");
        b.iter(|| index.find_nodes(black_box(&p)))
    });
    g.bench_function("find_nodes_10k/broad_5000_hits", |b| {
        b.iter(|| index.find_nodes(black_box(&broad)))
    });
    g.bench_function("find_nodes_10k/scan_not_9900_hits", |b| {
        b.iter(|| index.find_nodes(black_box(&scan)))
    });
    let tenant = ScopeFilter::Tenant("t1".into());
    g.bench_function("find_nodes_scoped_10k/tenant_selective", |b| {
        b.iter(|| index.find_nodes_scoped(black_box(&rare), &tenant))
    });
    g.finish();
}

criterion_group!(benches, capability);
criterion_main!(benches);
