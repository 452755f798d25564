//! Channel subscriptions for Python: messages come as `(publisher,
//! channel, payload)` tuples; waits release the GIL and honour Ctrl-C.

use crate::blocking::blocking_wait;
use crate::mesh::{mesh_deadline, slice_ms};
use net::facade::channel::on_mesh::SubscriptionHandle;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::sync::Arc;

/// A subscription to one publisher's channel or pattern of channels.
#[pyclass(module = "net._net", frozen)]
pub struct ChannelSubscription {
    inner: Arc<SubscriptionHandle>,
}

impl ChannelSubscription {
    pub(crate) fn new(inner: SubscriptionHandle) -> Self {
        ChannelSubscription {
            inner: Arc::new(inner),
        }
    }
}

type PyChannelMessage = (u64, String, Py<PyBytes>);

#[pymethods]
impl ChannelSubscription {
    /// The publisher's node id.
    fn publisher(&self) -> u64 {
        self.inner.publisher()
    }

    /// The channels the publisher admitted this node to, as JSON.
    fn accepted_json(&self) -> String {
        self.inner.accepted_json()
    }

    /// The next message, waiting up to `timeout_ms` (None: no limit);
    /// None on timeout.
    #[pyo3(signature = (timeout_ms=None, cancel=None))]
    fn next(
        &self,
        py: Python<'_>,
        timeout_ms: Option<f64>,
        cancel: Option<&crate::cancel::CancelToken>,
    ) -> PyResult<Option<PyChannelMessage>> {
        let handle = self.inner.clone();
        let deadline = mesh_deadline(timeout_ms)?;
        let token = cancel.map(|c| c.inner.clone());
        let message = blocking_wait(py, move |check| loop {
            let (slice, last) = slice_ms(deadline);
            let got = match &token {
                Some(token) => handle.next_cancellable(slice, token)?,
                None => handle.next(slice)?,
            };
            if let Some(message) = got {
                return Ok(Some(message));
            }
            if last {
                return Ok(None);
            }
            check()?;
        })?;
        Ok(message.map(|m| {
            (
                m.publisher,
                m.channel.to_string(),
                PyBytes::new(py, &m.payload).unbind(),
            )
        }))
    }

    /// Calls `handler((publisher, channel, payload))` for each message on
    /// the `net-callbacks` thread until the subscription closes (what was
    /// queued first) or the handler is closed. Returns the `Handler`.
    fn on_message(&self, py: Python<'_>, handler: Py<PyAny>) -> PyResult<crate::handler::Handler> {
        crate::handler::spawn(
            py,
            self.inner.source(),
            handler,
            "channel message handler",
            |py, m: net::facade::channel::on_mesh::ChannelMessage| {
                Ok((
                    m.publisher,
                    m.channel.to_string(),
                    PyBytes::new(py, &m.payload),
                )
                    .into_pyobject(py)?
                    .into_any()
                    .unbind())
            },
        )
    }

    /// Unsubscribes (idempotent).
    fn close(&self) {
        self.inner.close();
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ChannelSubscription>()?;
    Ok(())
}
