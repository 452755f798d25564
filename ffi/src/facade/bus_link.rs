//! The bus over the mesh for the bindings: a link between a bus and a peer
//! of a mesh node, configured from JSON (`net_core::mesh::BusLinkOptions`).

use super::mesh::MeshHandle;
use net_core::bus::Bus;
use net_core::mesh::{BusLink, BusLinkOptions};
use net_core::Result;

/// A running link behind a handle.
pub struct BusLinkHandle {
    link: BusLink,
}

impl MeshHandle {
    /// Starts a link between `bus` and the peer `node_id`; `options_json`
    /// is `{"direction": "send" | "receive", "stream_id", "max_batch",
    /// "message_bytes"}` (only `direction` required).
    pub fn link_bus(&self, bus: &Bus, node_id: u64, options_json: &str) -> Result<BusLinkHandle> {
        let options = BusLinkOptions::from_json(options_json)?;
        Ok(BusLinkHandle {
            link: BusLink::open(bus, self.node(), node_id, options)?,
        })
    }
}

impl BusLinkHandle {
    /// The link's counters as a JSON object (`peer` and `stream_id` as
    /// decimal strings).
    pub fn stats_json(&self) -> String {
        let stats = self.link.stats();
        let Ok(mut value) = serde_json::to_value(&stats) else {
            return "{}".into();
        };
        value["peer"] = stats.peer.to_string().into();
        value["stream_id"] = stats.stream_id.to_string().into();
        value.to_string()
    }

    /// Stops the link (idempotent); see `BusLink::close`.
    pub fn close(&self) {
        self.link.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use net_core::ErrorKind;

    const KEY: &str = "0707070707070707070707070707070707070707070707070707070707070707";

    fn mesh() -> MeshHandle {
        MeshHandle::bind(&format!(
            r#"{{"network_key": "{KEY}", "bind": "127.0.0.1:0"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_link_carries_events_and_reports_ids_as_strings() {
        let (a, b) = (mesh(), mesh());
        let id = a
            .connect(&b.local_addr().unwrap(), &b.public_key())
            .unwrap();
        let (outbox, inbox) = (Bus::from_json("").unwrap(), Bus::from_json("").unwrap());
        let receiving = b
            .link_bus(&inbox, a.node_id(), r#"{"direction":"receive"}"#)
            .unwrap();
        let sending = a.link_bus(&outbox, id, r#"{"direction":"send"}"#).unwrap();
        outbox.emit_str(r#"{"n":1}"#).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let page = super::super::bus::poll(&inbox, 10, None, None).unwrap();
            if let Some(event) = page.events.first() {
                assert_eq!(&event.data[..], br#"{"n":1}"#);
                break;
            }
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let stats: serde_json::Value = serde_json::from_str(&receiving.stats_json()).unwrap();
        assert_eq!(stats["peer"], a.node_id().to_string());
        assert_eq!(stats["direction"], "receive");
        assert_eq!(stats["events"], 1);
        sending.close();
        assert!(sending.stats_json().contains("\"running\":false"));
        let e = a
            .link_bus(&outbox, id, r#"{"direction":"up"}"#)
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidMeshConfig);
    }
}
