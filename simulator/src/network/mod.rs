//! The network model. A message of S bytes from `a` to `b` sent at `t` uses `a`'s uplink, travels
//! the link latency L (drawn per message), uses `b`'s downlink and is then delivered. Transfers are
//! pipelined: without contention the message is delivered at exactly
//! `t + S·8 / min(U_a, D_b) + L`, the bottleneck serialising the message once.
//!
//! How concurrent transfers share a link is the [`Contention`] policy: `fifo` serves one transfer
//! at a time per link, `fair_share` splits capacity equally between concurrent transfers.
//! Messages no larger than `unqueued_up_to` bytes skip both: they are always delivered at the
//! uncontended time and take nothing from other transfers, as a single packet interleaved with
//! other flows nearly does.

mod fair_share;
mod fifo;

use rand_chacha::ChaCha8Rng;

use crate::config::Contention;
use crate::latency::LatencyModel;
use crate::queue::EventKey;
use crate::rng::{NodeStreams, Purpose};
use crate::time::{SimDuration, SimTime};
use crate::topology::NodeId;
use crate::units::Bandwidth;

use fair_share::{FairShareLinks, Side};
pub use fifo::FifoArrival;
use fifo::FifoLinks;

/// What the network carries: the engine's in-flight message, moved along with the events so that
/// no side table is touched per message (the event loop is memory-bound).
pub trait Transit {
    /// The sending node.
    fn sender(&self) -> NodeId;
    /// The receiving node.
    fn receiver(&self) -> NodeId;
    /// Size on the wire in bytes.
    fn wire_bytes(&self) -> u64;
}

/// Network-internal progress events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent<T> {
    /// Fifo: the first bit of a transfer reaches the receiver's downlink.
    FifoArrive(FifoArrival<T>),
    /// FairShare: the first bit of a transfer reaches the downlink of its receiver `to`, which
    /// the event names so that the downlink can be prefetched before the transfer is read.
    Arrive {
        /// The transfer.
        transfer: u32,
        /// Its receiver.
        to: NodeId,
    },
    /// FairShare: the earliest transfers on this node's uplink have been fully sent.
    UplinkDone(NodeId),
    /// FairShare: the earliest transfers on this node's downlink have been fully received.
    DownlinkDone(NodeId),
}

impl<T: Transit> NetEvent<T> {
    /// The node the event happens at (for the run digest).
    pub fn node(&self) -> NodeId {
        match self {
            NetEvent::FifoArrive(arrival) => arrival.receiver(),
            NetEvent::Arrive { to, .. } => *to,
            NetEvent::UplinkDone(node) | NetEvent::DownlinkDone(node) => *node,
        }
    }
}

/// What the network needs from the engine: a way to schedule its own events and deliveries.
pub trait Scheduler<T> {
    /// Schedules a network-internal event that is never cancelled.
    fn schedule_net(&mut self, at: SimTime, event: NetEvent<T>);
    /// Schedules a network-internal event that may be cancelled with the key returned.
    fn schedule_cancellable_net(&mut self, at: SimTime, event: NetEvent<T>) -> EventKey;
    /// Cancels a network-internal event scheduled earlier.
    fn cancel_net(&mut self, key: EventKey);
    /// Schedules delivery of `payload` to its receiver's handler.
    fn schedule_delivery(&mut self, at: SimTime, payload: T);
}

/// Capacities of every node's access links. Nodes come in a few classes (a region's links, or
/// the default), so each node holds a 2-byte class and the capacities sit in a small table: the
/// receiver's downlink is read for every message sent, and a per-node table of 16-byte entries
/// would miss the cache on a large network where this one does not.
#[derive(Clone, Debug)]
pub struct LinkCapacities {
    class_of: Vec<u16>,
    /// (upload, download) of each class, in order of first appearance.
    classes: Vec<(Bandwidth, Bandwidth)>,
}

impl LinkCapacities {
    /// The capacities of nodes `0..`, given as (upload, download) per node.
    ///
    /// # Panics
    /// If more than 65,536 distinct pairs are given (a configuration yields one per region plus
    /// the default).
    pub fn new(links: impl IntoIterator<Item = (Bandwidth, Bandwidth)>) -> Self {
        let mut classes: Vec<(Bandwidth, Bandwidth)> = Vec::new();
        let class_of = links
            .into_iter()
            .map(|pair| {
                let class = classes.iter().position(|&known| known == pair).unwrap_or_else(|| {
                    classes.push(pair);
                    classes.len() - 1
                });
                u16::try_from(class).expect("at most 65,536 distinct link capacities")
            })
            .collect();
        LinkCapacities { class_of, classes }
    }

    /// Number of nodes.
    pub fn nodes(&self) -> usize {
        self.class_of.len()
    }

    /// Uplink capacity of `node`.
    #[inline]
    pub fn upload(&self, node: NodeId) -> Bandwidth {
        self.classes[usize::from(self.class_of[node as usize])].0
    }

    /// Downlink capacity of `node`.
    #[inline]
    pub fn download(&self, node: NodeId) -> Bandwidth {
        self.classes[usize::from(self.class_of[node as usize])].1
    }

    /// Whether some node's downlink is unlimited.
    pub fn any_unlimited_download(&self) -> bool {
        self.classes.iter().any(|(_, download)| download.bits_per_sec().is_none())
    }
}

/// Everything that defines a network before it carries anything.
#[derive(Clone, Debug)]
pub struct NetworkSetup {
    /// Access-link capacities.
    pub capacities: LinkCapacities,
    /// Sharing policy of each link.
    pub contention: Contention,
    /// Messages of at most this many bytes do not queue (0: every message queues).
    pub unqueued_up_to: u64,
    /// Latency model.
    pub latency: LatencyModel,
    /// Master seed of the latency streams.
    pub seed: u64,
}

enum Links<T> {
    Fifo(FifoLinks),
    FairShare(FairShareLinks<T>),
}

/// The state of every link in the network, carrying payloads of type `T`.
pub struct Network<T> {
    capacities: LinkCapacities,
    unqueued_up_to: u64,
    latency: LatencyModel,
    latency_streams: NodeStreams,
    links: Links<T>,
}

impl<T: Transit> Network<T> {
    /// A network with idle links.
    pub fn new(setup: NetworkSetup) -> Self {
        let NetworkSetup { capacities, contention, unqueued_up_to, latency, seed } = setup;
        let nodes = capacities.nodes();
        let links = match contention {
            Contention::Fifo => Links::Fifo(FifoLinks::new(&capacities)),
            Contention::FairShare => Links::FairShare(FairShareLinks::new(&capacities)),
        };
        Network {
            capacities,
            unqueued_up_to,
            latency,
            latency_streams: NodeStreams::new(seed, Purpose::Latency, nodes),
            links,
        }
    }

    /// Draws the latency of one message; each sender has its own stream.
    fn sample_latency(&mut self, from: NodeId, to: NodeId) -> SimDuration {
        let rng: &mut ChaCha8Rng = self.latency_streams.get(from as usize);
        self.latency.sample(from, to, rng)
    }

    /// Starts moving `payload` from its sender to its receiver.
    pub fn send(&mut self, now: SimTime, payload: T, sched: &mut impl Scheduler<T>) {
        let (from, to, bytes) = (payload.sender(), payload.receiver(), payload.wire_bytes());
        let latency = self.sample_latency(from, to);
        if self.unqueued_up_to > 0 && bytes <= self.unqueued_up_to {
            let bottleneck = self.capacities.upload(from).min(self.capacities.download(to));
            sched.schedule_delivery(now + bottleneck.transfer_time(bytes) + latency, payload);
            return;
        }
        match &mut self.links {
            Links::Fifo(links) => links.send(now, payload, latency, &self.capacities, sched),
            Links::FairShare(links) => links.send(now, payload, latency, sched),
        }
    }

    /// Advances a network-internal event.
    pub fn handle(&mut self, now: SimTime, event: NetEvent<T>, sched: &mut impl Scheduler<T>) {
        match (&mut self.links, event) {
            (Links::Fifo(links), NetEvent::FifoArrive(arrival)) => links.arrive(now, arrival, &self.capacities, sched),
            (Links::FairShare(links), NetEvent::Arrive { transfer, to }) => links.arrive(now, transfer, to, sched),
            (Links::FairShare(links), NetEvent::UplinkDone(node)) => links.link_done(now, Side::Up(node), sched),
            (Links::FairShare(links), NetEvent::DownlinkDone(node)) => links.link_done(now, Side::Down(node), sched),
            (Links::Fifo(_), NetEvent::Arrive { .. } | NetEvent::UplinkDone(_) | NetEvent::DownlinkDone(_))
            | (Links::FairShare(_), NetEvent::FifoArrive(_)) => {
                unreachable!("network event of another contention policy")
            }
        }
    }

    /// Starts loading what a message sent by `node` reads first: its latency stream; changes
    /// nothing.
    pub fn prefetch_sender(&self, node: NodeId) {
        self.latency_streams.prefetch(node as usize);
    }

    /// Starts loading `node`'s uplink, which a message it sends that queues reads; changes
    /// nothing.
    pub fn prefetch_uplink(&self, node: NodeId) {
        if let Links::FairShare(links) = &self.links {
            links.prefetch_uplink(node);
        }
    }

    /// Starts loading what handling `event` will read first; changes nothing.
    pub fn prefetch(&self, event: &NetEvent<T>) {
        if let Links::FairShare(links) = &self.links {
            links.prefetch(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_keep_each_node_s_pair_in_a_shared_table() {
        let fast = (Bandwidth::BitsPerSec(100), Bandwidth::BitsPerSec(200));
        let slow = (Bandwidth::BitsPerSec(10), Bandwidth::Unlimited);
        let caps = LinkCapacities::new([fast, slow, fast, fast, slow]);
        assert_eq!(caps.nodes(), 5);
        assert_eq!(caps.classes.len(), 2);
        for (node, (up, down)) in [fast, slow, fast, fast, slow].into_iter().enumerate() {
            assert_eq!((caps.upload(node as NodeId), caps.download(node as NodeId)), (up, down));
        }
        assert!(caps.any_unlimited_download());
        assert!(!LinkCapacities::new([fast]).any_unlimited_download());
    }
}
