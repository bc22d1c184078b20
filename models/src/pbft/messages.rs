//! PBFT messages and their modelled wire sizes.
//!
//! Sizes (bytes): every message has a 48-byte header (type, view, sequence number, sender) and
//! digests are 32 bytes. Authentication adds, with `Macs`, a 32-byte MAC per receiver of the
//! message (Castro–Liskov authenticators; a client request carries one per replica) and, with
//! `Signatures`, one 64-byte signature. A PRE-PREPARE carries its requests in full. The proofs inside
//! VIEW-CHANGE and NEW-VIEW are counted at the size of the messages they contain, with
//! PRE-PREPAREs there identifying their batch by digest only, as in Castro–Liskov.

use std::rc::Rc;

use simulator::rng::splitmix64;

use super::config::{Auth, PbftConfig, fault_threshold};
use super::conflict::{Access, ConflictGraph};
use simulator::SimDuration;

/// A view number; the primary of view v is replica v mod n.
pub type View = u64;
/// A sequence number assigned by a primary to a batch.
pub type Seq = u64;

/// A request: issued by client `client` (0-based among clients) as its `number`th request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    /// Client index.
    pub client: u32,
    /// The client's request counter.
    pub number: u64,
}

impl RequestId {
    /// A result that depends on the request alone: the outcome of an application whose requests
    /// do not interact (every correct replica computes the same).
    pub fn result(self) -> u64 {
        splitmix64(splitmix64(u64::from(self.client)) ^ self.number)
    }
}

/// A client request: its identity and what the application asks to be done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Who issued it, and its number.
    pub id: RequestId,
    /// What it carries and costs.
    pub payload: Payload,
}

/// What a request carries and costs, as the application defines it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    /// Application bytes on the wire (headers and authentication come on top).
    pub bytes: u64,
    /// CPU time to execute it at a replica.
    pub cost: SimDuration,
    /// The state keys it reads and writes: requests that conflict run one after the other.
    pub access: Access,
    /// What the request asks of the application, in the application's own encoding; the group
    /// never reads it.
    pub op: u64,
}

/// An ordered batch of requests, with what every replica derives from it.
#[derive(Debug)]
pub struct Batch {
    /// The requests, in execution order.
    pub requests: Vec<Rc<Request>>,
    /// Distinguishes batches with equal requests (an equivocating primary varies it).
    pub nonce: u64,
    /// Digest of the request ids and nonce.
    pub digest: u64,
    /// Which requests must wait for which.
    pub conflicts: ConflictGraph,
}

impl Batch {
    /// A batch of `requests`; conflicts follow from their accesses.
    pub fn new(requests: Vec<Rc<Request>>, nonce: u64) -> Self {
        let digest = requests.iter().fold(splitmix64(nonce ^ 0xB47C), |acc, r| {
            splitmix64(acc ^ splitmix64((u64::from(r.id.client) << 40) ^ r.id.number))
        });
        let touches_state = requests.iter().any(|r| r.payload.access != Access::default());
        let conflicts = if touches_state {
            ConflictGraph::build(requests.iter().map(|r| &r.payload.access))
        } else {
            ConflictGraph::independent(requests.len())
        };
        Batch { requests, nonce, digest, conflicts }
    }

    /// The null request a new primary proposes for a sequence number nobody prepared.
    pub fn null() -> Self {
        Batch::new(Vec::new(), 0)
    }

    /// Application bytes of its requests.
    pub fn payload_bytes(&self) -> u64 {
        self.requests.iter().map(|r| r.payload.bytes).sum()
    }
}

/// A prepared certificate carried in a VIEW-CHANGE: the batch was prepared at `seq` in `view`.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Sequence number.
    pub seq: Seq,
    /// View in which it prepared.
    pub view: View,
    /// The batch.
    pub batch: Rc<Batch>,
}

/// VIEW-CHANGE: a replica's stable checkpoint and its prepared certificates above it.
#[derive(Debug)]
pub struct ViewChange {
    /// The view being moved to.
    pub view: View,
    /// The sender.
    pub replica: u32,
    /// Its last stable checkpoint.
    pub stable: Seq,
    /// The state digest at that checkpoint.
    pub stable_digest: u64,
    /// Certificates for sequence numbers above `stable`, ascending.
    pub prepared: Vec<Prepared>,
}

/// NEW-VIEW: the view changes it is based on and the batches re-proposed in the new view.
#[derive(Debug)]
pub struct NewView {
    /// The new view.
    pub view: View,
    /// At least 2f + 1 VIEW-CHANGE messages for it, from distinct replicas.
    pub view_changes: Vec<Rc<ViewChange>>,
    /// The stable checkpoint the new view starts from, and its state digest.
    pub stable: Seq,
    /// State digest at `stable`.
    pub stable_digest: u64,
    /// A batch (possibly null) for every sequence number from `stable + 1` upward.
    pub proposals: Vec<(Seq, Rc<Batch>)>,
}

/// The requests one client has had executed: everything below `below`, plus `above`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutedSet {
    below: u64,
    above: std::collections::BTreeSet<u64>,
}

impl ExecutedSet {
    /// Whether request `number` has been executed.
    pub fn contains(&self, number: u64) -> bool {
        number < self.below || self.above.contains(&number)
    }

    /// Records request `number` as executed; false if it already was.
    pub fn insert(&mut self, number: u64) -> bool {
        if self.contains(number) {
            return false;
        }
        self.above.insert(number);
        while self.above.remove(&self.below) {
            self.below += 1;
        }
        true
    }
}

/// The state a replica hands over at a checkpoint (state transfer to a replica that fell behind).
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Sequence number of the checkpoint.
    pub seq: Seq,
    /// State digest.
    pub digest: u64,
    /// Executed requests per client (so replies and duplicates are handled after the transfer).
    pub executed: Vec<ExecutedSet>,
}

/// The body of a message.
#[derive(Clone, Debug)]
pub enum Body {
    /// A client request (also forwarded by backups to the primary), shared by every copy of it:
    /// a request carries its payload's key lists, and messages stay small in the event queue.
    Request(Rc<Request>),
    /// A replica's reply to a client.
    Reply {
        /// The replica's view, which tells the client the primary.
        view: View,
        /// The request answered.
        request: RequestId,
        /// The execution result.
        result: u64,
    },
    /// The primary assigns `seq` to `batch` in `view`.
    PrePrepare {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// The batch.
        batch: Rc<Batch>,
    },
    /// A backup accepted the PRE-PREPARE.
    Prepare {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// Batch digest.
        digest: u64,
    },
    /// The sender has prepared the batch.
    Commit {
        /// View.
        view: View,
        /// Sequence number.
        seq: Seq,
        /// Batch digest.
        digest: u64,
    },
    /// The sender's state digest after executing `seq`.
    Checkpoint {
        /// Sequence number.
        seq: Seq,
        /// State digest.
        digest: u64,
    },
    /// VIEW-CHANGE.
    ViewChange(Rc<ViewChange>),
    /// NEW-VIEW.
    NewView(Rc<NewView>),
    /// The sender cannot execute `executed + 1` in `view`: it asks the others to resend what they
    /// sent for the sequence numbers after `executed`.
    Status {
        /// The sender's view.
        view: View,
        /// The sender's last executed sequence number.
        executed: Seq,
    },
    /// A replica behind the stable checkpoint asks for the state at `seq`.
    StateRequest {
        /// The checkpoint wanted.
        seq: Seq,
    },
    /// The state at a checkpoint.
    StateReply(Rc<Snapshot>),
}

/// What kind of message a body is, for per-kind counters.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// REQUEST.
    Request,
    /// REPLY.
    Reply,
    /// PRE-PREPARE.
    PrePrepare,
    /// PREPARE.
    Prepare,
    /// COMMIT.
    Commit,
    /// CHECKPOINT.
    Checkpoint,
    /// VIEW-CHANGE.
    ViewChange,
    /// NEW-VIEW.
    NewView,
    /// State transfer (request and reply).
    StateTransfer,
    /// STATUS (a request for resends).
    Status,
}

/// Messages sent, per kind: a fixed array, since it is bumped for every message.
#[derive(Clone, Debug, Default)]
pub struct KindCounts([u64; Kind::ALL.len()]);

impl KindCounts {
    /// Adds `messages` of `kind`.
    pub fn add(&mut self, kind: Kind, messages: u64) {
        self.0[kind as usize] += messages;
    }

    /// Messages of `kind`.
    pub fn get(&self, kind: Kind) -> u64 {
        self.0[kind as usize]
    }
}

impl Kind {
    /// Every kind, in counter order (the order of the variants).
    pub const ALL: [Kind; 10] = [
        Kind::Request,
        Kind::Reply,
        Kind::PrePrepare,
        Kind::Prepare,
        Kind::Commit,
        Kind::Checkpoint,
        Kind::ViewChange,
        Kind::NewView,
        Kind::StateTransfer,
        Kind::Status,
    ];

    /// Name in result files.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Reply => "reply",
            Kind::PrePrepare => "pre_prepare",
            Kind::Prepare => "prepare",
            Kind::Commit => "commit",
            Kind::Checkpoint => "checkpoint",
            Kind::ViewChange => "view_change",
            Kind::NewView => "new_view",
            Kind::StateTransfer => "state_transfer",
            Kind::Status => "status",
        }
    }
}

impl Body {
    /// The view of a normal-case message; such messages wait until the replica enters that view.
    pub fn view(&self) -> Option<View> {
        match self {
            Body::PrePrepare { view, .. } | Body::Prepare { view, .. } | Body::Commit { view, .. } => Some(*view),
            _ => None,
        }
    }

    /// The message's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Body::Request(_) => Kind::Request,
            Body::Reply { .. } => Kind::Reply,
            Body::PrePrepare { .. } => Kind::PrePrepare,
            Body::Prepare { .. } => Kind::Prepare,
            Body::Commit { .. } => Kind::Commit,
            Body::Checkpoint { .. } => Kind::Checkpoint,
            Body::ViewChange(_) => Kind::ViewChange,
            Body::NewView(_) => Kind::NewView,
            Body::StateRequest { .. } | Body::StateReply(_) => Kind::StateTransfer,
            Body::Status { .. } => Kind::Status,
        }
    }
}

/// A message with its size on the wire.
pub type Wire = crate::Wire<Body>;

const HEADER: u64 = 48;
const DIGEST: u64 = 32;
const MAC: u64 = 32;
const SIGNATURE: u64 = 64;
/// Bytes per client in a state snapshot (client id and executed-request watermark).
const SNAPSHOT_PER_CLIENT: u64 = 16;

/// Computes wire sizes from the configuration.
#[derive(Clone, Debug)]
pub struct Sizes {
    auth: Auth,
    replicas: u64,
    f: u64,
    clients: u64,
    reply: u64,
}

impl Sizes {
    /// Sizes for `config` with `replicas` replicas and `clients` clients.
    pub fn new(config: &PbftConfig, replicas: u32, clients: u32) -> Self {
        Sizes {
            auth: config.auth,
            replicas: u64::from(replicas),
            f: u64::from(fault_threshold(replicas)),
            clients: u64::from(clients),
            reply: config.reply_size.bytes(),
        }
    }

    /// Authentication bytes of a message addressed to `receivers` nodes.
    fn auth(&self, receivers: u64) -> u64 {
        match self.auth {
            Auth::Macs => MAC * receivers,
            Auth::Signatures => SIGNATURE,
        }
    }

    /// A replica multicast carries an authenticator for every other replica.
    fn multicast(&self) -> u64 {
        self.auth(self.replicas - 1)
    }

    /// A request whose payload is `payload` bytes.
    fn request(&self, payload: u64) -> u64 {
        HEADER + payload + self.auth(self.replicas)
    }

    /// A PRE-PREPARE of `requests` requests whose payloads add up to `payload` bytes.
    pub fn pre_prepare(&self, requests: usize, payload: u64) -> u64 {
        HEADER + DIGEST + requests as u64 * self.request(0) + payload + self.multicast()
    }

    /// A PREPARE or COMMIT.
    pub fn prepare(&self) -> u64 {
        HEADER + DIGEST + self.multicast()
    }

    fn checkpoint(&self) -> u64 {
        HEADER + DIGEST + self.multicast()
    }

    /// A VIEW-CHANGE: its checkpoint proof (2f + 1 CHECKPOINTs) and, per prepared batch, the
    /// PRE-PREPARE without the requests plus 2f PREPAREs (the requests themselves are not resent).
    fn view_change(&self, vc: &ViewChange) -> u64 {
        let certificate = self.pre_prepare(0, 0) + 2 * self.f * self.prepare();
        HEADER
            + DIGEST
            + (2 * self.f + 1) * self.checkpoint()
            + vc.prepared.len() as u64 * certificate
            + self.multicast()
    }

    /// Bytes of `body` on the wire.
    pub fn of(&self, body: &Body) -> u64 {
        match body {
            Body::Request(request) => self.request(request.payload.bytes),
            Body::Reply { .. } => HEADER + self.reply + self.auth(1),
            Body::PrePrepare { batch, .. } => self.pre_prepare(batch.requests.len(), batch.payload_bytes()),
            Body::Prepare { .. } | Body::Commit { .. } => self.prepare(),
            Body::Checkpoint { .. } => self.checkpoint(),
            Body::ViewChange(vc) => self.view_change(vc),
            Body::NewView(nv) => {
                HEADER
                    + nv.view_changes.iter().map(|vc| self.view_change(vc)).sum::<u64>()
                    + nv.proposals.len() as u64 * (HEADER + DIGEST)
                    + self.multicast()
            }
            Body::StateRequest { .. } => HEADER + self.auth(1),
            Body::Status { .. } => HEADER + self.multicast(),
            Body::StateReply(_) => HEADER + DIGEST + self.clients * SNAPSHOT_PER_CLIENT + self.auth(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_count_in_their_own_slots() {
        let mut counts = KindCounts::default();
        for (i, kind) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "Kind::ALL follows the variant order");
            counts.add(kind, i as u64 + 1);
        }
        assert!(Kind::ALL.into_iter().enumerate().all(|(i, kind)| counts.get(kind) == i as u64 + 1));
    }

    #[test]
    fn executed_set_compacts_contiguous_numbers() {
        let mut set = ExecutedSet::default();
        assert!(set.insert(1));
        assert!(!set.contains(0) && set.contains(1));
        assert!(set.insert(0));
        assert!(!set.insert(1));
        assert_eq!(set.below, 2);
        assert!(set.above.is_empty());
        assert!(set.insert(5) && set.contains(5) && !set.contains(4));
    }

    fn request(number: u64, bytes: u64) -> Rc<Request> {
        Rc::new(Request { id: RequestId { client: 0, number }, payload: Payload { bytes, ..Payload::default() } })
    }

    #[test]
    fn batch_digest_depends_on_content_and_nonce() {
        let r = |n| request(n, 128);
        let a = Batch::new(vec![r(1), r(2)], 0);
        assert_eq!(a.digest, Batch::new(vec![r(1), r(2)], 0).digest);
        assert_ne!(a.digest, Batch::new(vec![r(2), r(1)], 0).digest);
        assert_ne!(a.digest, Batch::new(vec![r(1), r(2)], 1).digest);
        assert_ne!(a.digest, Batch::null().digest);
    }

    #[test]
    fn wire_sizes() {
        let config = PbftConfig::default();
        let sizes = Sizes::new(&config, 4, 1);
        // Header, digest and 3 MACs.
        assert_eq!(sizes.of(&Body::Prepare { view: 0, seq: 1, digest: 0 }), 48 + 32 + 96);
        // A request: header, 128-byte payload, 4 MACs; a pre-prepare of two of them, and of
        // requests with payloads of their own.
        let batch = Rc::new(Batch::new(vec![request(0, 128); 2], 0));
        assert_eq!(sizes.of(&Body::Request(request(0, 128))), 48 + 128 + 128);
        assert_eq!(sizes.of(&Body::PrePrepare { view: 0, seq: 1, batch }), 48 + 32 + 2 * 304 + 96);
        let mixed = Rc::new(Batch::new(vec![request(0, 10), request(1, 1000)], 0));
        assert_eq!(sizes.of(&Body::PrePrepare { view: 0, seq: 1, batch: mixed }), 48 + 32 + 2 * 176 + 1010 + 96);
        let signed = Sizes::new(&PbftConfig { auth: Auth::Signatures, ..config }, 4, 1);
        assert_eq!(signed.of(&Body::Commit { view: 0, seq: 1, digest: 0 }), 48 + 32 + 64);
    }
}
