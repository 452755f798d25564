//! Runs every golden fixture in tests/cross_lang/ through the public Rust SDK
//! and writes build/parity/rust.tsv (see tests/cross_lang/README.md).

use futures::StreamExt;
use net_sdk::{EventStream, Filter, Handler, Net, PollRequest, SdkError, SubscribeOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    // Every area folder: a new fixture file is run (or fails) without a list
    // to keep.
    let areas = std::fs::read_dir(root().join("tests/cross_lang")).expect("fixtures");
    for area in areas {
        let dir = area.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&dir).expect("fixture dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

struct Case {
    node: Net,
    cursor: Option<String>,
    stream: Option<EventStream>,
    handler: Option<Arc<Handler>>,
    /// Every event the handler was called with.
    seen: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// The fixture's handler (`on_event`): records each event, fails on
/// `fail_on` (a panic, the Rust way), emits `emit_on.text` from inside,
/// closes itself from inside after `close_after` calls.
fn on_event(case: &mut Case, step: &Value) -> Result<Value, SdkError> {
    let fail_on: Vec<Vec<u8>> = step
        .get("fail_on")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(Value::as_str)
                .map(|t| t.as_bytes().to_vec())
                .collect()
        })
        .unwrap_or_default();
    let emit_on = step.get("emit_on").map(|e| {
        (
            e["when"].as_str().unwrap_or_default().as_bytes().to_vec(),
            e["text"].as_str().unwrap_or_default().to_owned(),
        )
    });
    let close_after = step
        .get("close_after")
        .and_then(Value::as_u64)
        .map(|n| n as usize);
    let filter = match step.get("filter_text").and_then(Value::as_str) {
        Some(text) => Some(Filter::from_json(text)?),
        None => filter_of(step)?,
    };
    let options = SubscribeOptions {
        cursor: cursor_of(case, step),
        filter,
    };
    let me: Arc<OnceLock<Arc<Handler>>> = Arc::new(OnceLock::new());
    let slot = me.clone();
    let seen = case.seen.clone();
    let node = case.node.clone();
    let handler = case.node.on_event(options, move |event| {
        let n = {
            let mut seen = seen.lock().unwrap();
            seen.push(event.data.to_vec());
            seen.len()
        };
        if let Some((when, text)) = &emit_on {
            if event.data.as_ref() == when.as_slice() {
                node.emit_raw(text).unwrap();
            }
        }
        if close_after == Some(n) {
            let deadline = Instant::now() + Duration::from_secs(5);
            while slot.get().is_none() && Instant::now() < deadline {
                std::thread::yield_now();
            }
            if let Some(me) = slot.get() {
                me.close();
            }
        }
        if fail_on.iter().any(|f| f.as_slice() == event.data.as_ref()) {
            panic!("the fixture's handler fails on this event");
        }
    })?;
    let handler = Arc::new(handler);
    let _ = me.set(handler.clone());
    case.handler = Some(handler);
    Ok(json!({}))
}

fn bytes_of(v: &Value, text_key: &str, hex_key: &str) -> Vec<u8> {
    if let Some(t) = v.get(text_key).and_then(Value::as_str) {
        return t.as_bytes().to_vec();
    }
    let h = v.get(hex_key).and_then(Value::as_str).expect("text or hex");
    hex::decode(h).expect("valid hex")
}

fn list_bytes(step: &Value) -> Vec<Vec<u8>> {
    if let Some(texts) = step.get("texts").and_then(Value::as_array) {
        return texts
            .iter()
            .map(|t| t.as_str().expect("str").as_bytes().to_vec())
            .collect();
    }
    step["hexes"]
        .as_array()
        .expect("texts or hexes")
        .iter()
        .map(|h| hex::decode(h.as_str().expect("str")).expect("hex"))
        .collect()
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn event_matches(raw: &[u8], expected: &Value) -> bool {
    if let Some(j) = expected.get("json") {
        return serde_json::from_slice::<Value>(raw).is_ok_and(|v| json_eq(&v, j));
    }
    if let Some(t) = expected.get("text") {
        return t.as_str().is_some_and(|t| t.as_bytes() == raw);
    }
    let h = expected["hex"].as_str().unwrap_or_default();
    hex::decode(h).is_ok_and(|b| b == raw)
}

fn check_events(got: &[Vec<u8>], expect: &Value, unordered: bool) -> Result<(), String> {
    let Some(expected) = expect.get("events").and_then(Value::as_array) else {
        return Ok(());
    };
    if got.len() != expected.len() {
        return Err(format!(
            "expected {} events, got {}",
            expected.len(),
            got.len()
        ));
    }
    if unordered {
        let mut left: Vec<&Value> = expected.iter().collect();
        for raw in got {
            let i = left
                .iter()
                .position(|e| event_matches(raw, e))
                .ok_or_else(|| format!("unexpected event {}", String::from_utf8_lossy(raw)))?;
            left.remove(i);
        }
        return Ok(());
    }
    for (i, (raw, e)) in got.iter().zip(expected).enumerate() {
        if !event_matches(raw, e) {
            return Err(format!(
                "event {i}: got {:?}, want {e}",
                String::from_utf8_lossy(raw)
            ));
        }
    }
    Ok(())
}

fn check_subset(actual: &Value, expect: &Value) -> Result<(), String> {
    for (k, v) in expect.as_object().into_iter().flatten() {
        if !actual.get(k).is_some_and(|a| json_eq(a, v)) {
            return Err(format!("{k}: expected {v}, got {:?}", actual.get(k)));
        }
    }
    Ok(())
}

fn cursor_of(case: &Case, step: &Value) -> Option<String> {
    if let Some(text) = step.get("cursor_text").and_then(Value::as_str) {
        return Some(text.to_owned());
    }
    match step.get("cursor").and_then(Value::as_str) {
        Some("previous") => case.cursor.clone(),
        _ => None,
    }
}

fn filter_of(step: &Value) -> Result<Option<Filter>, SdkError> {
    step.get("filter")
        .map(|f| Filter::from_value(f).map_err(SdkError::from))
        .transpose()
}

/// Runs one step; `Ok(result)` is compared with `expect`, `Err` with `error`.
async fn run_step(case: &mut Case, step: &Value) -> Result<Value, SdkError> {
    let node = case.node.clone();
    let receipt = |r: net_sdk::Receipt| json!({"seq": r.seq, "shard": r.shard});
    Ok(match step["op"].as_str().expect("op") {
        "emit" => receipt(node.emit(&step["value"])?),
        "emit_str" => receipt(node.emit_str(step["json"].as_str().expect("json"))?),
        "emit_raw" => receipt(node.emit_raw(bytes_of(step, "text", "hex"))?),
        "emit_batch" => {
            let values = step["values"].as_array().expect("values");
            json!({"count": node.emit_batch(values)?})
        }
        "emit_str_batch" => {
            let texts: Vec<&str> = step["jsons"]
                .as_array()
                .expect("jsons")
                .iter()
                .map(|j| j.as_str().expect("str"))
                .collect();
            json!({"count": node.emit_str_batch(&texts)?})
        }
        "emit_raw_batch" => json!({"count": node.emit_raw_batch(list_bytes(step))?}),
        "poll" => {
            let request = PollRequest {
                limit: step["limit"].as_u64().expect("limit") as usize,
                cursor: cursor_of(case, step),
                filter: filter_of(step)?,
            };
            let resp = node.poll(request).await?;
            case.cursor = Some(resp.next_cursor.clone());
            let raws: Vec<Value> = resp
                .events
                .iter()
                .map(|e| json!(hex::encode(&e.data)))
                .collect();
            json!({"raws": raws, "count": resp.events.len(), "has_more": resp.has_more})
        }
        "subscribe" => {
            let options = SubscribeOptions {
                cursor: cursor_of(case, step),
                filter: filter_of(step)?,
            };
            case.stream = Some(node.try_subscribe(options)?);
            json!({})
        }
        "next" => {
            let stream = case.stream.as_mut().expect("a subscription");
            let deadline = Instant::now()
                + Duration::from_millis(step["timeout_ms"].as_u64().expect("timeout"));
            let expect = &step["expect"];
            let want = expect.get("events").and_then(Value::as_array).map(Vec::len);
            let mut raws = Vec::new();
            let mut done = false;
            while want.is_none_or(|n| raws.len() < n) {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, stream.next()).await {
                    Ok(Some(event)) => raws.push(json!(hex::encode(&event?.data))),
                    Ok(None) => {
                        done = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            if want == Some(0) {
                // Nothing may arrive within the timeout.
                if let Ok(Some(event)) = tokio::time::timeout(
                    deadline.saturating_duration_since(Instant::now()),
                    stream.next(),
                )
                .await
                {
                    raws.push(json!(hex::encode(&event?.data)));
                }
            }
            json!({"raws": raws, "done": done})
        }
        "leave" => {
            // Iterate the idiomatic way and stop early: the stream is
            // dropped after `take` events.
            let mut stream = case.stream.take().expect("a subscription");
            let take = step["take"].as_u64().expect("take") as usize;
            let mut raws = Vec::new();
            while let Some(event) = stream.next().await {
                raws.push(json!(hex::encode(&event?.data)));
                if raws.len() == take {
                    break;
                }
            }
            drop(stream);
            json!({"raws": raws})
        }
        "on_event" => on_event(case, step)?,
        "handler_wait" => {
            let handler = case.handler.clone().expect("a handler");
            let expect = &step["expect"];
            let want = expect
                .get("events")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let closed = expect.get("closed").and_then(Value::as_bool) == Some(true);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline
                && (case.seen.lock().unwrap().len() < want || (closed && !handler.is_closed()))
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let raws: Vec<Value> = case
                .seen
                .lock()
                .unwrap()
                .iter()
                .map(|d| json!(hex::encode(d)))
                .collect();
            let stats = handler.stats();
            json!({"raws": raws, "delivered": stats.delivered, "failed": stats.failed, "closed": handler.is_closed()})
        }
        "handler_close" => {
            case.handler.as_ref().expect("a handler").close();
            json!({})
        }
        "flush" => {
            node.flush().await?;
            json!({})
        }
        "stats" => serde_json::to_value(node.stats()).expect("stats"),
        "health" => serde_json::to_value(node.health()).expect("health"),
        "shutdown" => {
            node.shutdown().await?;
            json!({})
        }
        other => panic!("unknown op {other}"),
    })
}

fn decode_raws(result: &Value) -> Vec<Vec<u8>> {
    result
        .get("raws")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .map(|h| hex::decode(h.as_str().unwrap_or_default()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn compare(step: &Value, outcome: Result<Value, SdkError>) -> Result<(), String> {
    let op = step["op"].as_str().unwrap_or("?");
    match (step.get("error").and_then(Value::as_str), outcome) {
        (Some(kind), Err(e)) if e.kind() == kind => Ok(()),
        (Some(kind), Err(e)) => Err(format!("{op}: expected {kind}, got {e}")),
        (Some(kind), Ok(_)) => Err(format!("{op}: expected {kind}, got success")),
        (None, Err(e)) => Err(format!("{op}: unexpected error {e}")),
        (None, Ok(result)) => {
            let Some(expect) = step.get("expect") else {
                return Ok(());
            };
            let unordered = step
                .get("unordered")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match op {
                "poll" | "next" | "leave" | "handler_wait" => {
                    check_events(&decode_raws(&result), expect, unordered)
                        .map_err(|e| format!("{op}: {e}"))?;
                    let mut rest = expect.clone();
                    if let Some(o) = rest.as_object_mut() {
                        o.remove("events");
                    }
                    check_subset(&result, &rest).map_err(|e| format!("{op}: {e}"))
                }
                _ => check_subset(&result, expect).map_err(|e| format!("{op}: {e}")),
            }
        }
    }
}

async fn run_case(case: &Value) -> Result<(), String> {
    if case.get("model").is_some() {
        return run_model_case(case);
    }
    let config = match (case.get("config"), case.get("config_text")) {
        (Some(c), _) => c.to_string(),
        (None, Some(t)) => t.as_str().unwrap_or_default().to_owned(),
        (None, None) => String::new(),
    };
    let built = Net::builder().config_json(config).build().await;
    if let Some(kind) = case.get("open_error").and_then(Value::as_str) {
        return match built {
            Err(e) if e.kind() == kind => Ok(()),
            Err(e) => Err(format!("open: expected {kind}, got {e}")),
            Ok(_) => Err(format!("open: expected {kind}, got success")),
        };
    }
    let node = built.map_err(|e| format!("open: {e}"))?;
    let mut state = Case {
        node,
        cursor: None,
        stream: None,
        handler: None,
        seen: Arc::new(Mutex::new(Vec::new())),
    };
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let outcome = run_step(&mut state, step).await;
        compare(step, outcome).map_err(|e| format!("step {i}: {e}"))?;
    }
    state.node.shutdown().await.map_err(|e| e.to_string())
}

fn check_kinds(doc: &Value) -> Result<(), String> {
    let kinds = doc["kinds"].as_array().expect("kinds");
    let table: Vec<Value> = net_core::ErrorKind::ALL
        .iter()
        .map(|k| json!({"kind": k.as_str(), "area": k.area(), "reason": k.reason(), "code": k.code()}))
        .collect();
    if kinds != &table {
        return Err("errors/kinds.json differs from the engine's table".into());
    }
    for k in kinds {
        let kind = net_core::ErrorKind::from_str_kind(k["kind"].as_str().unwrap_or_default())
            .ok_or("unknown kind")?;
        let sdk = SdkError::from(net_core::Error::new(kind, "x"));
        if sdk.kind() != kind.as_str()
            || !sdk.to_string().starts_with(kind.as_str())
            || sdk.area() != k["area"]
            || sdk.reason() != k["reason"]
        {
            return Err(format!("SdkError does not carry {kind}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn golden_fixtures() {
    let mut report = String::new();
    let mut failures = Vec::new();
    for path in fixture_files() {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(
            doc["abi_version"],
            json!(net_sdk::ABI_VERSION),
            "{}",
            path.display()
        );
        let rel = path
            .strip_prefix(root().join("tests/cross_lang"))
            .expect("rel")
            .display()
            .to_string();
        let (mut passed, mut failed) = (0, 0);
        if doc.get("vectors").is_some() {
            tally(
                check_identity(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("configs").is_some() {
            tally(
                check_mesh_configs(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("transfers").is_some() {
            tally(
                check_bus_links(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("records").is_some() {
            tally(
                check_shared_records(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("headers").is_some() {
            tally(
                check_wire(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("heap").is_some() {
            tally(
                check_records(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("opens").is_some() {
            tally(
                check_opens(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("snapshots").is_some() {
            tally(
                check_snapshots(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("frames").is_some() {
            tally(
                check_frames(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("tokens").is_some() {
            tally(
                check_tokens(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("names").is_some() {
            tally(
                check_channel_names(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("channel_configs").is_some() {
            tally(
                check_channel_configs(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("local").is_some() {
            tally(
                check_local_channels(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("typed").is_some() {
            tally(
                check_typed_channels(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("capability").is_some() {
            tally(
                check_capability(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("subnet").is_some() {
            tally(
                check_subnets(&doc),
                &rel,
                &mut passed,
                &mut failed,
                &mut failures,
            );
        }
        if doc.get("kinds").is_some() {
            match check_kinds(&doc) {
                Ok(()) => passed += 1,
                Err(e) => {
                    failed += 1;
                    failures.push(format!("{rel}: {e}"));
                }
            }
        }
        for case in doc
            .get("cases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match run_case(case).await {
                Ok(()) => passed += 1,
                Err(e) => {
                    failed += 1;
                    failures.push(format!("{rel} / {}: {e}", case["name"]));
                }
            }
        }
        report.push_str(&format!("{rel}\t{passed}\t{failed}\n"));
    }
    let out = root().join("build/parity");
    std::fs::create_dir_all(&out).expect("parity dir");
    std::fs::write(out.join("rust.tsv"), report).expect("write parity");
    assert!(
        failures.is_empty(),
        "fixture failures:\n{}",
        failures.join("\n")
    );
}

fn tally(
    results: Vec<Result<(), String>>,
    rel: &str,
    passed: &mut usize,
    failed: &mut usize,
    failures: &mut Vec<String>,
) {
    for r in results {
        match r {
            Ok(()) => *passed += 1,
            Err(e) => {
                *failed += 1;
                failures.push(format!("{rel}: {e}"));
            }
        }
    }
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_default()).expect("hex")
}

fn expect_kind<T>(what: &str, r: Result<T, SdkError>, kind: &str) -> Result<(), String> {
    match r {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(format!("{what}: expected {kind}, got {e}")),
        Ok(_) => Err(format!("{what}: expected {kind}, got success")),
    }
}

/// mesh/config.json: each config binds on loopback or fails with its kind.
fn check_mesh_configs(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::mesh::Mesh;
    let mut out = Vec::new();
    for case in doc["configs"].as_array().expect("configs") {
        let name = case["name"].as_str().unwrap_or("?");
        let bound = Mesh::from_config_json(&case["config"].to_string());
        out.push(match case["error"].as_str() {
            Some(kind) => expect_kind(name, bound, kind),
            None => (|| {
                let mesh = bound.map_err(|e| format!("{name}: {e}"))?;
                if let Some(pk) = case["public_key"].as_str() {
                    if hex::encode(mesh.public_key().as_bytes()) != pk {
                        return Err(format!("{name}: public key differs"));
                    }
                }
                if let Some(id) = case["node_id"].as_str() {
                    if mesh.node_id().to_string() != id {
                        return Err(format!("{name}: node id differs"));
                    }
                }
                mesh.shutdown();
                Ok(())
            })(),
        });
    }
    out
}

/// mesh/records.json: the records' field names (their serde names; a
/// message's fields by name, which the compiler checks) and the stream defaults.
fn check_shared_records(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::mesh::{MeshStats, StreamConfig};
    let names = |v: Value| -> Vec<String> {
        let mut keys: Vec<String> = v
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    let want = |key: &str| -> Vec<String> {
        let mut n: Vec<String> = doc["records"][key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        n.sort();
        n
    };
    let (a, b, peer) = connected_pair();
    let fields = (|| {
        let got = names(serde_json::to_value(MeshStats::default()).map_err(|e| e.to_string())?);
        if got != want("mesh_stats") {
            return Err(format!("mesh_stats: {got:?}"));
        }
        let stream = a
            .open_stream(peer.node_id, 11, StreamConfig::default())
            .map_err(|e| e.to_string())?;
        let got = names(serde_json::to_value(stream.stats()).map_err(|e| e.to_string())?);
        if got != want("stream_stats") {
            return Err(format!("stream_stats: {got:?}"));
        }
        let mut message = vec!["from", "stream_id", "payload"];
        message.sort_unstable();
        if message != want("message") {
            return Err(format!("message: {message:?}"));
        }
        Ok(())
    })();
    let defaults = (|| {
        let d = &doc["stream_defaults"];
        let plain = a
            .open_stream(peer.node_id, 9, StreamConfig::default())
            .map_err(|e| e.to_string())?;
        let reliability =
            serde_json::to_value(plain.stats().reliability).map_err(|e| e.to_string())?;
        if reliability != d["reliability"] {
            return Err(format!("default reliability {reliability}"));
        }
        let reliable = a
            .open_stream(peer.node_id, 10, StreamConfig::reliable())
            .map_err(|e| e.to_string())?;
        if u64::from(reliable.stats().window) != d["reliable_window"].as_u64().unwrap_or(0) {
            return Err(format!("reliable window {}", reliable.stats().window));
        }
        plain.send(b"x").map_err(|e| e.to_string())?;
        let m = b
            .recv(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?
            .ok_or("no message")?;
        // The compiler pins the names; the values must be A's and the stream's.
        if (m.from, m.stream_id, m.payload.as_slice()) != (a.node_id(), 9, b"x".as_slice()) {
            return Err(format!("message {m:?}"));
        }
        Ok(())
    })();
    vec![fields, defaults]
}

/// Nodes A and B on 127.0.0.1 with the network key 07…07, A connected to B.
fn connected_pair() -> (
    net_sdk::mesh::Mesh,
    net_sdk::mesh::Mesh,
    net_sdk::mesh::PeerInfo,
) {
    use net_sdk::mesh::{Mesh, NetworkKey};
    let node = || {
        Mesh::builder(NetworkKey::from_bytes([7; 32]))
            .bind("127.0.0.1:0".parse().unwrap())
            .build()
            .expect("bind")
    };
    let (a, b) = (node(), node());
    let peer = a
        .connect(b.local_addr().expect("addr"), &b.public_key())
        .expect("connect");
    (a, b, peer)
}

/// mesh/bus_link.json: link options, then events carried from A's bus to B's.
fn check_bus_links(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::mesh::BusLinkOptions;
    let (a, b, _) = connected_pair();
    let bus = || Net::builder().memory().build_blocking().expect("bus");
    let mut out = Vec::new();
    for case in doc["options"].as_array().expect("options") {
        let name = case["name"].as_str().unwrap_or("?");
        let outbox = bus();
        let linked = BusLinkOptions::from_json(&case["options"].to_string())
            .map_err(SdkError::from)
            .and_then(|options| a.link_bus(&outbox, b.node_id(), options));
        out.push(match case["error"].as_str() {
            Some(kind) => expect_kind(name, linked, kind),
            None => linked
                .map(|link| link.close())
                .map_err(|e| format!("{name}: {e}")),
        });
    }
    for case in doc["transfers"].as_array().expect("transfers") {
        let name = case["name"].as_str().unwrap_or("?");
        let events: Vec<String> = case["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e.as_str().expect("text").to_owned())
            .collect();
        let with = |direction: &str| {
            let mut options = case["options"].clone();
            options["direction"] = direction.into();
            BusLinkOptions::from_json(&options.to_string()).expect("options")
        };
        let (outbox, inbox) = (bus(), bus());
        out.push((|| {
            let receiving = b
                .link_bus(&inbox, a.node_id(), with("receive"))
                .map_err(|e| format!("{name}: {e}"))?;
            let sending = a
                .link_bus(&outbox, b.node_id(), with("send"))
                .map_err(|e| format!("{name}: {e}"))?;
            for e in &events {
                outbox.emit_raw(e).map_err(|e| format!("{name}: {e}"))?;
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut got: Vec<String> = Vec::new();
            let mut cursor = None;
            while got.len() < events.len() && Instant::now() < deadline {
                let page = futures::executor::block_on(inbox.poll(PollRequest {
                    limit: 100,
                    cursor: cursor.take(),
                    filter: None,
                }))
                .map_err(|e| format!("{name}: {e}"))?;
                got.extend(page.events.iter().map(|e| e.raw_str().into_owned()));
                cursor = Some(page.next_cursor);
                std::thread::sleep(Duration::from_millis(2));
            }
            sending.close();
            receiving.close();
            if got != events {
                return Err(format!("{name}: got {got:?}"));
            }
            Ok(())
        })());
    }
    a.shutdown();
    b.shutdown();
    out
}

fn check_identity(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::identity::{Identity, PublicKey};
    let mut out = Vec::new();
    for v in doc["vectors"].as_array().expect("vectors") {
        out.push((|| {
            let id = Identity::from_seed_slice(&unhex(&v["seed"])).map_err(|e| e.to_string())?;
            let pk = id.public_key();
            if hex::encode(pk.as_bytes()) != v["public_key"] {
                return Err(format!("public key of seed {}", v["seed"]));
            }
            if v["node_id"].as_str() != Some(id.node_id().to_string().as_str())
                || v["origin_hash"].as_u64() != Some(u64::from(pk.origin_hash()))
            {
                return Err(format!("ids of {}", v["public_key"]));
            }
            let sig = id.sign(&unhex(&v["message"]));
            if hex::encode(sig) != v["signature"] {
                return Err(format!("signature by {}", v["public_key"]));
            }
            pk.verify(&unhex(&v["message"]), &sig)
                .map_err(|e| e.to_string())
        })());
    }
    for e in doc["errors"].as_array().expect("errors") {
        let kind = e["error"].as_str().unwrap_or_default();
        let r = match e["op"].as_str().unwrap_or_default() {
            "from_seed" => expect_kind(
                "from_seed",
                Identity::from_seed_slice(&unhex(&e["seed"])).map_err(SdkError::from),
                kind,
            ),
            "ids" => expect_kind(
                "ids",
                PublicKey::from_bytes(&unhex(&e["public_key"])).map_err(SdkError::from),
                kind,
            ),
            "verify" => expect_kind(
                "verify",
                PublicKey::from_bytes(&unhex(&e["public_key"]))
                    .and_then(|pk| pk.verify(&unhex(&e["message"]), &unhex(&e["signature"])))
                    .map_err(SdkError::from),
                kind,
            ),
            other => Err(format!("unknown op {other}")),
        };
        out.push(r);
    }
    out
}

fn check_wire(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::wire::{NetHeader, PacketFlags, RouteFlags, RoutingHeader};
    let num = |f: &Value, k: &str| {
        f[k].as_u64()
            .unwrap_or_else(|| f[k].as_str().and_then(|s| s.parse().ok()).expect("number"))
    };
    let mut out = Vec::new();
    for h in doc["headers"].as_array().expect("headers") {
        let f = &h["fields"];
        let header = NetHeader {
            version: num(f, "version") as u8,
            flags: PacketFlags(num(f, "flags") as u8),
            priority: num(f, "priority") as u8,
            hop_ttl: num(f, "hop_ttl") as u8,
            hop_count: num(f, "hop_count") as u8,
            frag_flags: num(f, "frag_flags") as u8,
            subprotocol_id: num(f, "subprotocol_id") as u16,
            channel_hash: num(f, "channel_hash") as u16,
            nonce: unhex(&f["nonce"]).try_into().expect("12-byte nonce"),
            session_id: num(f, "session_id"),
            stream_id: num(f, "stream_id"),
            sequence: num(f, "sequence"),
            subnet_id: num(f, "subnet_id") as u32,
            origin_hash: num(f, "origin_hash") as u32,
            fragment_id: num(f, "fragment_id") as u16,
            fragment_offset: num(f, "fragment_offset") as u16,
            payload_len: num(f, "payload_len") as u16,
            event_count: num(f, "event_count") as u16,
        };
        let bytes = header.encode();
        out.push(if hex::encode(bytes) != h["hex"] {
            Err(format!("encode gave {}", hex::encode(bytes)))
        } else if NetHeader::decode(&unhex(&h["hex"])).ok() != Some(header) {
            Err("decode differs".into())
        } else {
            Ok(())
        });
    }
    for r in doc["routing_headers"].as_array().expect("routing_headers") {
        let f = &r["fields"];
        let header = RoutingHeader {
            ttl: num(f, "ttl") as u8,
            hop_count: num(f, "hop_count") as u8,
            flags: RouteFlags(num(f, "flags") as u8),
            src_id: num(f, "src_id") as u32,
            dest_id: num(f, "dest_id"),
        };
        out.push(if hex::encode(header.encode()) != r["hex"] {
            Err(format!(
                "routing encode gave {}",
                hex::encode(header.encode())
            ))
        } else if RoutingHeader::decode(&unhex(&r["hex"])).ok() != Some(header) {
            Err("routing decode differs".into())
        } else {
            Ok(())
        });
    }
    for m in doc["malformed"].as_array().expect("malformed") {
        let bytes = unhex(&m["hex"]);
        let result = if m["decoder"] == "header" {
            NetHeader::decode(&bytes).map(|_| ())
        } else {
            RoutingHeader::decode(&bytes).map(|_| ())
        };
        let reason = m["reason"].as_str().unwrap_or_default();
        out.push(match result {
            Err(e) if e.kind().as_str() == m["error"] && e.detail().contains(reason) => Ok(()),
            Err(e) => Err(format!(
                "{}: expected {} ({reason}), got {e}",
                m["decoder"], m["error"]
            )),
            Ok(()) => Err(format!("{}: {} decoded", m["decoder"], m["hex"])),
        });
    }
    out
}

fn check_records(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::redex::record::Record;
    let mut out = Vec::new();
    for h in doc["heap"].as_array().expect("heap") {
        let seq: u64 = h["seq"].as_str().and_then(|s| s.parse().ok()).expect("seq");
        let r = Record::heap(
            seq,
            h["offset"].as_u64().expect("offset") as u32,
            &unhex(&h["payload_hex"]),
        );
        out.push(match r {
            Ok(r)
                if hex::encode(r.encode()) == h["hex"]
                    && Record::decode(&unhex(&h["hex"])).ok() == Some(r) =>
            {
                Ok(())
            }
            other => Err(format!("heap record {seq}: {other:?}")),
        });
    }
    for i in doc["inline"].as_array().expect("inline") {
        let seq: u64 = i["seq"].as_str().and_then(|s| s.parse().ok()).expect("seq");
        let payload: [u8; 8] = unhex(&i["payload_hex"]).try_into().expect("8 bytes");
        let r = Record::inline(seq, payload);
        let back = Record::decode(&unhex(&i["hex"])).ok();
        out.push(
            if hex::encode(r.encode()) == i["hex"]
                && back.is_some_and(|b| b.is_inline() && b.inline_payload() == payload)
            {
                Ok(())
            } else {
                Err(format!("inline record {seq}"))
            },
        );
    }
    for m in doc["malformed"].as_array().expect("malformed") {
        out.push(expect_kind(
            "record",
            Record::decode(&unhex(&m["hex"])).map_err(SdkError::from),
            m["error"].as_str().unwrap_or_default(),
        ));
    }
    out
}

fn check_frames(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::cortex::EventMeta;
    let mut out = Vec::new();
    for f in doc["frames"].as_array().expect("frames") {
        let seq_or_ts: u64 = f["seq_or_ts"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("seq_or_ts");
        let payload = unhex(&f["payload_hex"]);
        let meta = EventMeta::for_payload(
            f["dispatch"].as_u64().expect("dispatch") as u8,
            f["origin_hash"].as_u64().expect("origin") as u32,
            seq_or_ts,
            &payload,
        );
        let framed = meta.frame(&payload);
        let back = EventMeta::unframe(&unhex(&f["hex"]))
            .map(|(m, p)| (m, p.to_vec()))
            .ok();
        out.push(
            if hex::encode(&framed) == f["hex"] && back == Some((meta, payload)) {
                Ok(())
            } else {
                Err(format!("frame {}", f["hex"]))
            },
        );
    }
    for m in doc["malformed"].as_array().expect("malformed") {
        out.push(expect_kind(
            "frame",
            EventMeta::unframe(&unhex(&m["hex"]))
                .map(|_| ())
                .map_err(SdkError::from),
            m["error"].as_str().unwrap_or_default(),
        ));
    }
    out
}

/// A 64-bit fixture field: a number or a decimal string.
fn u64_of(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_default()
}

/// Integers as decimal strings, so numbers and decimal strings compare by value.
fn norm(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_u64() => Value::String(n.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

/// Runs a tasks/memories case: every write waits for its token before the next step.
fn run_model_case(case: &Value) -> Result<(), String> {
    use net_sdk::cortex::{MemoriesFilter, NetDb, TasksFilter};
    use net_sdk::redex::Redex;
    let db = NetDb::builder(Redex::new())
        .with_tasks()
        .with_memories()
        .build()
        .map_err(|e| e.to_string())?;
    let wait = Duration::from_secs(5);
    let tasks = db.tasks().map_err(|e| e.to_string())?;
    let memories = db.memories().map_err(|e| e.to_string())?;
    let is_tasks = case["model"] == "tasks";
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let fail = |e: String| format!("step {i} ({}): {e}", step["op"]);
        let id = u64_of(&step["id"]);
        let ts = u64_of(&step["ts"]);
        let text = |k: &str| step[k].as_str().unwrap_or_default().to_owned();
        let tags: Vec<String> = step["tags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let token = match step["op"].as_str().unwrap_or_default() {
            "create" => Some(tasks.create(id, &text("title"), ts)),
            "rename" => Some(tasks.rename(id, &text("title"), ts)),
            "complete" => Some(tasks.complete(id, ts)),
            "delete" if is_tasks => Some(tasks.delete(id)),
            "store" => Some(memories.store(id, &text("content"), &tag_refs, &text("source"), ts)),
            "retag" => Some(memories.retag(id, &tag_refs, ts)),
            "pin" => Some(memories.pin(id, ts)),
            "unpin" => Some(memories.unpin(id, ts)),
            "delete" => Some(memories.delete(id)),
            _ => None,
        };
        if let Some(token) = token {
            let token = token.map_err(|e| fail(e.to_string()))?;
            let waited = if is_tasks {
                tasks.wait_for_token(token, wait)
            } else {
                memories.wait_for_token(token, wait)
            };
            waited.map_err(|e| fail(e.to_string()))?;
            continue;
        }
        let expect = &step["expect"];
        let got = match step["op"].as_str().unwrap_or_default() {
            "find_unique" if is_tasks => json!({"task": tasks.find_unique(id)}),
            "find_unique" => json!({"memory": memories.find_unique(id)}),
            "fold_errors" => {
                json!({"errors": if is_tasks { tasks.adapter().status().errors } else { memories.adapter().status().errors }})
            }
            op => {
                let ids: Vec<u64>;
                let (count, exists);
                if is_tasks {
                    let f: TasksFilter = serde_json::from_value(step["filter"].clone())
                        .map_err(|e| fail(e.to_string()))?;
                    ids = tasks.find_many(&f).iter().map(|t| t.id).collect();
                    (count, exists) = (tasks.count_where(&f), tasks.exists_where(&f));
                } else {
                    let f: MemoriesFilter = serde_json::from_value(step["filter"].clone())
                        .map_err(|e| fail(e.to_string()))?;
                    ids = memories.find_many(&f).iter().map(|m| m.id).collect();
                    (count, exists) = (memories.count_where(&f), memories.exists_where(&f));
                }
                match op {
                    "find_many" => json!({"ids": ids}),
                    "count_where" => json!({"count": count}),
                    "exists_where" => json!({"exists": exists}),
                    other => return Err(fail(format!("unknown op {other}"))),
                }
            }
        };
        check_subset(&norm(&got), &norm(expect)).map_err(fail)?;
    }
    db.close().map_err(|e| e.to_string())
}

/// redex/open.json: two managers on one directory, one writer per log.
fn check_opens(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::redex::{Redex, RedexFileConfig};
    let mut out = Vec::new();
    for (i, case) in doc["opens"].as_array().expect("opens").iter().enumerate() {
        let dir = std::env::temp_dir().join(format!("net-fixture-open-{}-{i}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        let (first, second) = (
            Redex::with_persistent_dir(&dir),
            Redex::with_persistent_dir(&dir),
        );
        let name = |k: &str| case[k].as_str().unwrap_or_default().to_owned();
        let outcome = (|| -> Result<(), String> {
            first
                .open_file(&name("first"), RedexFileConfig::default())
                .map_err(|e| format!("first: {e}"))?;
            let opened = second.open_file(&name("second"), RedexFileConfig::default());
            match (case.get("error").and_then(Value::as_str), &opened) {
                (Some(kind), Err(e)) if e.kind().as_str() == kind => {}
                (None, Ok(_)) => {}
                (want, got) => return Err(format!("second: want {want:?}, got {got:?}")),
            }
            drop(opened);
            first.close().map_err(|e| e.to_string())?;
            second.close().map_err(|e| e.to_string())?;
            second
                .open_file(&name("second"), RedexFileConfig::default())
                .map(|_| ())
                .map_err(|e| format!("after close: {e}"))
        })();
        let _ = second.close();
        std::fs::remove_dir_all(&dir).ok();
        out.push(outcome.map_err(|e| format!("{}: {e}", case["name"])));
    }
    out
}

/// cortex/snapshot.json: restore another language's snapshot bytes, then query.
fn check_snapshots(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::cortex::{MemoriesFilter, NetDb, NetDbSnapshot, TasksFilter};
    use net_sdk::redex::Redex;
    let mut out = Vec::new();
    for snap in doc["snapshots"].as_array().expect("snapshots") {
        let restored = NetDbSnapshot::decode(&unhex(&snap["hex"])).and_then(|bundle| {
            NetDb::builder(Redex::new())
                .with_tasks()
                .with_memories()
                .build_from_snapshot(&bundle)
        });
        let db = match restored {
            Ok(db) => db,
            Err(e) => {
                out.push(Err(format!("restore: {e}")));
                continue;
            }
        };
        for q in snap["queries"].as_array().expect("queries") {
            let (tasks, memories) = (db.tasks().expect("tasks"), db.memories().expect("memories"));
            let op = q["op"].as_str().unwrap_or_default();
            let got = if q["model"] == "tasks" {
                let f: TasksFilter =
                    serde_json::from_value(q.get("filter").cloned().unwrap_or(json!({})))
                        .unwrap_or_default();
                match op {
                    "find_unique" => json!(tasks.find_unique(u64_of(&q["id"]))),
                    "find_many" => {
                        json!(tasks.find_many(&f).iter().map(|t| t.id).collect::<Vec<_>>())
                    }
                    "count_where" => json!(tasks.count_where(&f)),
                    _ => json!(tasks.exists_where(&f)),
                }
            } else {
                let f: MemoriesFilter =
                    serde_json::from_value(q.get("filter").cloned().unwrap_or(json!({})))
                        .unwrap_or_default();
                match op {
                    "find_unique" => {
                        json!(memories.find_unique(u64_of(&q["id"])))
                    }
                    "find_many" => json!(memories
                        .find_many(&f)
                        .iter()
                        .map(|m| m.id)
                        .collect::<Vec<_>>()),
                    "count_where" => json!(memories.count_where(&f)),
                    _ => json!(memories.exists_where(&f)),
                }
            };
            let want = q["expect"]
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or_default();
            out.push(if json_eq(&norm(&got), &norm(&want)) {
                Ok(())
            } else {
                Err(format!("{} {op}: got {got}, want {want}", q["model"]))
            });
        }
        let _ = db.close();
    }
    out
}

/// token/tokens.json: issue, delegate, verify, chains, covers, inspect.
fn check_tokens(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::channel::{ChannelName, ChannelPattern};
    use net_sdk::identity::{Identity, PublicKey};
    use net_sdk::token::{Access, PermissionToken, TokenCache, TokenId, TokenRequest, TokenScope};
    let identity = |name: &Value| -> Identity {
        Identity::from_seed_slice(&unhex(
            &doc["identities"][name.as_str().unwrap_or_default()],
        ))
        .expect("seed")
    };
    let scope_of = |v: &Value| -> Result<TokenScope, SdkError> {
        let names: Vec<String> = serde_json::from_value(v.clone()).unwrap_or_default();
        Ok(TokenScope::from_names(&names)?)
    };
    // The request as the Rust SDK is given one: typed fields, checked the
    // same way the JSON request is in every other language.
    let request_of = |v: &Value| -> Result<TokenRequest, SdkError> {
        let subject = hex::decode(v["subject"].as_str().unwrap_or_default()).unwrap_or_default();
        Ok(TokenRequest {
            subject: PublicKey::from_bytes(&subject)?,
            scope: scope_of(&v["scope"])?,
            channel: ChannelPattern::new(v["channel"].as_str().unwrap_or_default())?,
            ttl: std::time::Duration::from_millis(v["ttl_ms"].as_u64().unwrap_or(0)),
            depth: v["depth"].as_u64().unwrap_or(0) as u8,
            not_before: v["not_before"].as_u64(),
            now: v["now"].as_u64(),
            nonce: v["nonce"].as_str().map(|n| {
                hex::decode(n)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 16])
            }),
        })
    };
    let token_of = |v: &Value| PermissionToken::from_bytes(&unhex(v)).map_err(SdkError::from);
    let outcome = |case: &Value, got: Result<Value, SdkError>| -> Result<(), String> {
        let name = case["name"].as_str().unwrap_or_default();
        match (case.get("error").and_then(Value::as_str), got) {
            (Some(kind), got) => expect_kind(name, got, kind),
            (None, Err(e)) => Err(format!("{name}: {e}")),
            (None, Ok(got)) => {
                for (key, value) in got.as_object().into_iter().flatten() {
                    if !json_eq(&case[key], value) {
                        return Err(format!("{name}: {key} is {value}, expected {}", case[key]));
                    }
                }
                Ok(())
            }
        }
    };
    let minted =
        |t: PermissionToken| json!({"token": hex::encode(t.as_bytes()), "id": t.id().to_string()});
    let mut out = Vec::new();
    for case in doc["tokens"].as_array().expect("tokens") {
        let got: Result<Value, SdkError> = (|| match case["op"].as_str().unwrap_or_default() {
            "issue" => {
                let request = request_of(&case["request"])?;
                let issuer = identity(&case["issuer"]);
                let token = if case["strict"] == json!(true) {
                    issuer.try_issue_token(&request)?
                } else {
                    issuer.issue_token(&request)?
                };
                Ok(minted(token))
            }
            "delegate" => {
                let parent = token_of(&case["parent"])?;
                let request = request_of(&case["request"])?;
                Ok(minted(
                    identity(&case["delegator"]).delegate_token(&parent, &request)?,
                ))
            }
            "verify" => {
                token_of(&case["token"])?.verify(case["now"].as_u64().unwrap_or(0))?;
                Ok(json!({}))
            }
            "chain" => {
                let cache = TokenCache::new();
                for name in case["trust"].as_array().into_iter().flatten() {
                    cache.trust(&identity(name).public_key());
                }
                for id in case["revoked"].as_array().into_iter().flatten() {
                    cache.revoke(TokenId::from_hex(id.as_str().unwrap_or_default())?);
                }
                let chain = case["chain"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(token_of)
                    .collect::<Result<Vec<_>, _>>()?;
                let subject = *identity(&case["subject"]).public_key().as_bytes();
                let channel = ChannelName::new(case["channel"].as_str().unwrap_or_default())?;
                let access = Access {
                    subject: &subject,
                    scope: scope_of(&case["scope"])?,
                    channel: &channel,
                };
                let id = cache.install(&chain, &access, case["now"].as_u64().unwrap_or(0))?;
                cache.check(&access, case["now"].as_u64().unwrap_or(0))?;
                Ok(json!({"id": id.to_string()}))
            }
            "covers" => {
                let channel = ChannelName::new(case["channel"].as_str().unwrap_or_default())?;
                Ok(json!({"covers": token_of(&case["token"])?.covers(&channel)}))
            }
            "inspect" => Ok(json!({"json": token_of(&case["token"])?.to_json()})),
            other => Err(net_core::Error::new(
                net_core::ErrorKind::InvalidArgument,
                format!("unknown op {other}"),
            )
            .into()),
        })();
        out.push(outcome(case, got));
    }
    out
}

/// channel/configs.json: configs with their defaults filled in.
fn check_channel_configs(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::mesh::ChannelConfig;
    doc["channel_configs"]
        .as_array()
        .expect("channel_configs")
        .iter()
        .map(|case| {
            let got = ChannelConfig::from_json(&case["config"].to_string())
                .map(|c| c.to_json())
                .map_err(SdkError::from);
            let name = case["name"].as_str().unwrap_or_default();
            match (case.get("error").and_then(Value::as_str), got) {
                (Some(kind), got) => expect_kind(name, got, kind),
                (None, Err(e)) => Err(format!("{name}: {e}")),
                (None, Ok(got)) if got == case["normalized"] => Ok(()),
                (None, Ok(got)) => Err(format!(
                    "{name}: got {got}, expected {}",
                    case["normalized"]
                )),
            }
        })
        .collect()
}

/// channel/local.json: a node's local channels, step by step.
fn check_local_channels(doc: &Value) -> Vec<Result<(), String>> {
    use std::collections::HashMap;
    let mut out = Vec::new();
    for case in doc["local"].as_array().expect("local") {
        let name = case["name"].as_str().unwrap_or_default();
        let result = (|| -> Result<(), String> {
            let config = case.get("config").cloned().unwrap_or(json!({}));
            let net = Net::builder()
                .config_json(config.to_string())
                .build_blocking()
                .map_err(|e| e.to_string())?;
            let mut subs: HashMap<String, net_sdk::mesh::ChannelSubscription> = HashMap::new();
            for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
                let what = format!("step {i} ({})", step["op"]);
                let id = step["id"].as_str().unwrap_or_default().to_string();
                let got: Result<Value, SdkError> = match step["op"].as_str().unwrap_or_default() {
                    "subscribe" => net
                        .subscribe_channel(step["pattern"].as_str().unwrap_or_default())
                        .map(|sub| {
                            subs.insert(id, sub);
                            Value::Null
                        }),
                    "publish" => {
                        let payload = match step.get("hex").and_then(Value::as_str) {
                            Some(h) => hex::decode(h).map_err(|e| e.to_string())?,
                            None => step["text"]
                                .as_str()
                                .unwrap_or_default()
                                .as_bytes()
                                .to_vec(),
                        };
                        net.publish(step["channel"].as_str().unwrap_or_default(), &payload)
                            .map(|n| json!({"delivered": n}))
                    }
                    "next" => {
                        let sub = subs
                            .get(&id)
                            .ok_or(format!("{what}: no subscription {id}"))?;
                        sub.next_blocking(Some(Duration::from_millis(20))).map(|m| match m {
                            None => Value::Null,
                            Some(m) => {
                                let mut v = json!({"channel": &*m.channel, "publisher": m.publisher.to_string()});
                                match String::from_utf8(m.payload.clone()) {
                                    Ok(text) if step["expect"].get("hex").is_none() => v["text"] = json!(text),
                                    _ => v["hex"] = json!(hex::encode(&m.payload)),
                                }
                                v
                            }
                        })
                    }
                    "close" => {
                        if let Some(sub) = subs.get(&id) {
                            sub.close();
                        }
                        Ok(Value::Null)
                    }
                    "stats" => Ok(serde_json::to_value(net.channel_stats()).expect("stats")),
                    "shutdown" => {
                        net.bus().shutdown();
                        Ok(Value::Null)
                    }
                    other => return Err(format!("{what}: unknown op {other}")),
                };
                match (step.get("error").and_then(Value::as_str), got) {
                    (Some(kind), got) => expect_kind(&what, got, kind)?,
                    (None, Err(e)) => return Err(format!("{what}: {e}")),
                    (None, Ok(got)) => {
                        if let Some(want) = step.get("expect") {
                            if &got != want {
                                return Err(format!("{what}: got {got}, expected {want}"));
                            }
                        }
                    }
                }
            }
            Ok(())
        })();
        out.push(result.map_err(|e| format!("{name}: {e}")));
    }
    out
}

/// channel/typed.json: how payloads decode as the `Reading` type, and that
/// every decoded value encodes and decodes back to itself.
fn check_typed_channels(doc: &Value) -> Vec<Result<(), String>> {
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Reading {
        sensor_id: String,
        celsius: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }
    let net = Net::builder().build_blocking().expect("a node");
    let channel = net.channel::<Reading>("fixtures/typed").expect("a channel");
    let sub = channel.subscribe().expect("a subscription");
    let mut out = Vec::new();
    for case in doc["typed"].as_array().expect("typed") {
        let name = case["name"].as_str().unwrap_or_default();
        let payload = case["payload"].as_str().unwrap_or_default();
        let result = (|| -> Result<(), String> {
            net.publish("fixtures/typed", payload.as_bytes())
                .map_err(|e| e.to_string())?;
            let got = sub
                .next_blocking(Some(Duration::from_secs(1)))
                .and_then(|v| v.ok_or_else(|| SdkError::Timeout("no message".into())));
            if let Some(kind) = case.get("error").and_then(Value::as_str) {
                return expect_kind(name, got, kind);
            }
            let got = got.map_err(|e| e.to_string())?;
            let want: Reading =
                serde_json::from_value(case["value"].clone()).map_err(|e| e.to_string())?;
            if got != want {
                return Err(format!("decoded {got:?}, expected {want:?}"));
            }
            // And back: publish the value, receive it equal.
            channel.publish(&got).map_err(|e| e.to_string())?;
            let again = sub
                .next_blocking(Some(Duration::from_secs(1)))
                .map_err(|e| e.to_string())?;
            if again.as_ref() != Some(&want) {
                return Err(format!("round trip gave {again:?}"));
            }
            Ok(())
        })();
        out.push(result.map_err(|e| format!("{name}: {e}")));
    }
    out
}

/// channel/names.json: name validation and hashes, pattern matching.
fn check_channel_names(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::channel::{ChannelName, ChannelPattern};
    let mut out = Vec::new();
    for case in doc["names"].as_array().expect("names") {
        let name = case["name"].as_str().unwrap_or_default();
        let channel = case["channel"].as_str().unwrap_or_default();
        let got: Result<Value, SdkError> = (|| match case["op"].as_str().unwrap_or_default() {
            "name" => Ok(json!({"hash": ChannelName::new(channel)?.hash().to_string()})),
            _ => {
                let pattern = ChannelPattern::new(case["pattern"].as_str().unwrap_or_default())?;
                Ok(json!({"matches": pattern.matches(&ChannelName::new(channel)?)}))
            }
        })();
        out.push(match (case.get("error").and_then(Value::as_str), got) {
            (Some(kind), got) => expect_kind(name, got, kind),
            (None, Err(e)) => Err(format!("{name}: {e}")),
            (None, Ok(got)) => {
                let key = if case.get("hash").is_some() {
                    "hash"
                } else {
                    "matches"
                };
                if got[key] == case[key] {
                    Ok(())
                } else {
                    Err(format!(
                        "{name}: {key} is {}, expected {}",
                        got[key], case[key]
                    ))
                }
            }
        });
    }
    out
}

/// Compares a case's `got` fields with what it expects: `error`, or each of
/// `fields`.
fn expect_fields(
    case: &Value,
    got: Result<Value, SdkError>,
    fields: &[&str],
) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or_default();
    match (case.get("error").and_then(Value::as_str), got) {
        (Some(kind), got) => expect_kind(name, got, kind),
        (None, Err(e)) => Err(format!("{name}: {e}")),
        (None, Ok(got)) => {
            for field in fields {
                if got[field] != case[field] {
                    return Err(format!(
                        "{name}: {field} is {}, expected {}",
                        got[field], case[field]
                    ));
                }
            }
            Ok(())
        }
    }
}

/// capability/capability.json: sets, views, predicates, validation, diffs.
fn check_capability(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::capability::{validate, CapabilityDiff, CapabilitySet, Issue, Predicate};
    let set = |v: &Value| CapabilitySet::from_value(v).map_err(SdkError::from);
    let pairs =
        |issues: &[Issue]| -> Value { issues.iter().map(|i| json!([i.code, i.key])).collect() };
    let mut out = Vec::new();
    for case in doc["capability"].as_array().expect("capability") {
        let op = case["op"].as_str().unwrap_or_default();
        let got: Result<Value, SdkError> = (|| match op {
            "normalize" => Ok(json!({"result": set(&case["set"])?.to_value()})),
            "views" => Ok(json!({"result": set(&case["set"])?.views_value()})),
            "evaluate" => {
                let p = Predicate::from_value(&case["predicate"])?;
                Ok(json!({"matches": p.matches(&set(&case["set"])?)}))
            }
            "predicate" => {
                Ok(json!({"result": Predicate::from_value(&case["predicate"])?.to_value()}))
            }
            "validate" => {
                let report = validate(&set(&case["set"])?);
                Ok(
                    json!({"valid": report.is_valid(), "errors": pairs(&report.errors), "warnings": pairs(&report.warnings)}),
                )
            }
            "diff" => {
                let diff = set(&case["after"])?.diff(&set(&case["before"])?);
                Ok(json!({"result": serde_json::to_value(diff).unwrap_or_default()}))
            }
            "apply" => {
                let diff = CapabilityDiff::from_json(&case["diff"].to_string())?;
                Ok(json!({"result": set(&case["set"])?.apply(&diff)?.to_value()}))
            }
            other => panic!("unknown capability op {other}"),
        })();
        let fields: &[&str] = match op {
            "evaluate" => &["matches"],
            "validate" => &["valid", "errors", "warnings"],
            _ => &["result"],
        };
        out.push(expect_fields(case, got, fields));
    }
    out
}

/// subnet/subnets.json: ids, visibility, policies.
fn check_subnets(doc: &Value) -> Vec<Result<(), String>> {
    use net_sdk::subnet::{SubnetId, SubnetPolicy, Visibility};
    let mut out = Vec::new();
    for case in doc["subnet"].as_array().expect("subnet") {
        let op = case["op"].as_str().unwrap_or_default();
        let text = |k: &str| case[k].as_str().unwrap_or_default().to_string();
        let got: Result<Value, SdkError> = (|| match op {
            "parse" => {
                let id = SubnetId::parse(&text("text"))?;
                Ok(json!({"value": id.to_u32(), "result": id.to_string()}))
            }
            "levels" => {
                let levels: Vec<u8> = case["levels"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v.as_u64().unwrap_or(0) as u8)
                    .collect();
                let id = SubnetId::new(&levels)?;
                Ok(json!({"value": id.to_u32(), "result": id.to_string()}))
            }
            "value" => {
                let id = SubnetId::from_u32(case["value"].as_u64().unwrap_or(0) as u32)?;
                Ok(json!({"value": id.to_u32(), "result": id.to_string()}))
            }
            "visible" => {
                let vis = Visibility::parse(&text("visibility"))?;
                let allowed = vis.allows(
                    SubnetId::parse(&text("publisher"))?,
                    SubnetId::parse(&text("peer"))?,
                );
                Ok(json!({"allowed": allowed}))
            }
            "assign" => {
                let policy = SubnetPolicy::from_json(&case["policy"].to_string())?;
                let caps = net_sdk::capability::CapabilitySet::from_value(&case["set"])?;
                Ok(json!({"result": policy.assign(&caps).to_string()}))
            }
            other => panic!("unknown subnet op {other}"),
        })();
        let fields: &[&str] = match op {
            "visible" => &["allowed"],
            "assign" => &["result"],
            "value" => &["result"],
            _ => &["value", "result"],
        };
        out.push(expect_fields(case, got, fields));
    }
    out
}
