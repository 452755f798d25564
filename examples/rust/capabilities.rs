//! Capabilities in Rust: describe a node, ask questions of it, validate and
//! diff sets, derive subnets, and find a node over the mesh by what it can do.
//! Run: cargo run --release -p net-sdk --example capabilities

use net_sdk::capability::{validate, CapabilitySet, Gpu, Hardware, Predicate, ScopeFilter};
use net_sdk::mesh::{Mesh, NetworkKey};
use net_sdk::subnet::{SubnetId, SubnetPolicy, SubnetRule, Visibility};
use std::time::{Duration, Instant};

fn main() -> Result<(), net_sdk::SdkError> {
    // A GPU node: typed hardware becomes tags, beside free-form ones.
    let gpu_node = CapabilitySet::new()
        .with_hardware(&Hardware {
            cpu_cores: Some(16),
            memory_gb: Some(64.0),
            gpu: Some(Gpu {
                vendor: Some("nvidia".into()),
                vram_gb: Some(24.0),
                ..Gpu::default()
            }),
            ..Hardware::default()
        })?
        .with_tag("software.model=llama3-70b")?
        .with_tag("region:eu")?;
    println!("tags: {:?}", gpu_node.tags().collect::<Vec<_>>());
    println!("valid: {}", validate(&gpu_node).is_valid());

    // A question, evaluated in the engine (the same JSON in every language).
    let wants = Predicate::exists("hardware.gpu")
        & Predicate::at_least("hardware.gpu.vram_gb", 16.0)
        & Predicate::equals("software.model", "llama3-70b");
    println!("{} -> {}", wants.describe(), wants.matches(&gpu_node));

    // What changed when a model was added.
    let next = gpu_node.clone().with_tag("software.model=whisper")?;
    println!("diff added: {:?}", next.diff(&gpu_node).added);

    // Subnets: the policy every node shares turns tags into a subnet.
    let policy = SubnetPolicy::new().add_rule(SubnetRule::new("region:", 0).map("eu", 4))?;
    let subnet = policy.assign(&gpu_node);
    println!("subnet: {subnet}");
    let other = SubnetId::parse("5")?;
    println!(
        "subnet_local reaches 5.0.0.0: {}",
        Visibility::SubnetLocal.allows(subnet, other)
    );

    // Over the mesh: b announces, a finds it by what it can do.
    let key = NetworkKey::from_bytes([7; 32]);
    let local = "127.0.0.1:0".parse().expect("an address");
    let a = Mesh::builder(key.clone()).bind(local).build()?;
    let b = Mesh::builder(key).bind(local).build()?;
    a.connect(b.local_addr()?, &b.public_key())?;
    b.announce_capabilities(gpu_node)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.find_nodes(&wants).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let found = a.find_nodes(&wants);
    assert_eq!(found, [b.node_id()]);
    println!("a finds b: {}", found == [b.node_id()]);
    println!(
        "globally scoped: {}",
        a.find_nodes_scoped(&wants, &ScopeFilter::Global).len()
    );
    Ok(())
}
