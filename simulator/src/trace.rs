//! Event traces: every event a run dispatches, as one JSON object per line, for seeing what
//! happened inside a run. A simulation built with a [`Tracer`] hands it a record of each event;
//! without one the engine checks one field per event and builds nothing. A trace only observes:
//! the digest and every result are the same with and without one.

use std::cell::RefCell;
use std::fmt::Debug;
use std::io::Write;
use std::rc::Rc;

use serde::Serialize;

use crate::time::{SimDuration, SimTime};
use crate::topology::NodeId;

/// Receives every dispatched event.
pub trait Tracer {
    /// Records one event.
    fn record(&mut self, event: &TracedEvent);
}

/// A tracer the caller keeps a handle to while the simulation owns the other, to read it after
/// the run.
impl<T: Tracer> Tracer for Rc<RefCell<T>> {
    fn record(&mut self, event: &TracedEvent) {
        self.borrow_mut().record(event);
    }
}

/// One dispatched event as a trace line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TracedEvent {
    /// Simulated time in nanoseconds.
    pub t_ns: u64,
    /// `start`, `deliver`, `arrive`, `uplink_done`, `downlink_done`, `timer`, `cpu`, `disk`,
    /// `crash`, `recover`, `partition_start` or `partition_end`.
    pub kind: &'static str,
    /// The node the event happens at: a delivery's receiver, the node whose link, timer, core or
    /// disk it is; for partition changes, the partition's index.
    pub node: NodeId,
    /// A delivery's sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<NodeId>,
    /// A delivery's message type (the first word of its `Debug` text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A delivery's size on the wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// A timer's, CPU job's or disk operation's tag, as its `Debug` text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Why the event did nothing: a delivery lost, cut by a partition or to a crashed node; a
    /// timer or job of a node that crashed since it was scheduled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void: Option<&'static str>,
}

/// Which events of a run a trace keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TraceFilter {
    /// Only events whose node or peer is one of these (all nodes when empty).
    pub nodes: Vec<NodeId>,
    /// Only events at or after this time.
    pub from: Option<SimDuration>,
    /// Only events at or before this time.
    pub until: Option<SimDuration>,
}

impl TraceFilter {
    fn keeps(&self, event: &TracedEvent) -> bool {
        let at = SimTime(event.t_ns);
        let involved = |node: NodeId| self.nodes.binary_search(&node).is_ok();
        self.from.is_none_or(|from| at >= SimTime::ZERO + from)
            && self.until.is_none_or(|until| at <= SimTime::ZERO + until)
            && (self.nodes.is_empty()
                || (event.kind != "partition_start"
                    && event.kind != "partition_end"
                    && (involved(event.node) || event.peer.is_some_and(involved))))
    }
}

/// Writes the events a filter keeps as JSON lines.
pub struct TraceWriter<W: Write> {
    out: W,
    filter: TraceFilter,
    written: u64,
    error: Option<std::io::Error>,
}

impl<W: Write> TraceWriter<W> {
    /// A writer of the events `filter` keeps to `out`.
    pub fn new(out: W, mut filter: TraceFilter) -> Self {
        filter.nodes.sort_unstable();
        TraceWriter { out, filter, written: 0, error: None }
    }

    /// Flushes the output; returns the number of lines written, or the first write error.
    pub fn finish(&mut self) -> std::io::Result<u64> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush().map(|()| self.written),
        }
    }
}

impl<W: Write> Tracer for TraceWriter<W> {
    fn record(&mut self, event: &TracedEvent) {
        if self.error.is_some() || !self.filter.keeps(event) {
            return;
        }
        let line = serde_json::to_writer(&mut self.out, event).map_err(std::io::Error::from);
        match line.and_then(|()| self.out.write_all(b"\n")) {
            Ok(()) => self.written += 1,
            Err(e) => self.error = Some(e),
        }
    }
}

/// The first word of a value's `Debug` text: the type or variant name of most messages.
pub fn type_name(value: &impl Debug) -> String {
    let text = format!("{value:?}");
    let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
    text[..end].to_string()
}

/// A tag's `Debug` text, shortened to `MAX_TAG` characters (a job may carry a whole message).
pub fn tag_text(value: &impl Debug) -> String {
    const MAX_TAG: usize = 160;
    let text = format!("{value:?}");
    match text.char_indices().nth(MAX_TAG) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_tags() {
        #[derive(Debug)]
        #[allow(dead_code)]
        enum Body {
            Inv(u32),
            Block { id: u32 },
        }
        assert_eq!(type_name(&Body::Inv(3)), "Inv");
        assert_eq!(type_name(&Body::Block { id: 1 }), "Block");
        assert_eq!(tag_text(&Body::Block { id: 1 }), "Block { id: 1 }");
        assert_eq!(tag_text(&vec![0u8; 100]).chars().count(), 161);
    }

    #[test]
    fn the_filter_keeps_events_of_the_listed_nodes_in_the_window() {
        let filter = TraceFilter {
            nodes: vec![2],
            from: Some(SimDuration::from_millis(1)),
            until: Some(SimDuration::from_millis(2)),
        };
        let mut writer = TraceWriter::new(Vec::new(), filter);
        let event = |t_ns, node, peer| TracedEvent { t_ns, kind: "deliver", node, peer, ..TracedEvent::default() };
        for e in [event(1_000_000, 2, None), event(1_500_000, 0, Some(2)), event(1_500_000, 0, Some(1))] {
            writer.record(&e);
        }
        writer.record(&event(2_000_001, 2, None));
        writer.record(&event(999_999, 2, None));
        let TraceWriter { out, .. } = writer;
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"t_ns\":1000000,\"kind\":\"deliver\",\"node\":2}\n{\"t_ns\":1500000,\"kind\":\"deliver\",\"node\":0,\"peer\":2}\n"
        );
    }
}
