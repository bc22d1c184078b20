//! What a chain is made of and says: transactions, blocks, gossip messages and timers.

use simulator::{Message, NodeId, SimTime};

use super::{BLOB_BYTES, BLOB_SIDECAR_BYTES, TX_ENVELOPE_BYTES, TxId};

/// An L1 transaction carrying the outer protocol's `payload`.
#[derive(Clone, Debug)]
pub struct L1Tx<T> {
    /// The node that signed it.
    pub sender: NodeId,
    /// Its place among the sender's transactions: a block takes them in this order.
    pub nonce: u64,
    /// Priority fee per gas (wei) offered to the proposer.
    pub tip: u64,
    /// The most it pays per blob gas (wei): a block whose blob base fee is higher leaves it out.
    pub max_blob_fee: u128,
    /// Blobs it carries.
    pub blobs: u32,
    /// Bytes of calldata.
    pub calldata: u64,
    /// Gas it uses.
    pub gas: u64,
    /// When it was signed.
    pub submitted: SimTime,
    /// The block that included it.
    pub block: Option<u32>,
    /// What it does; `None` for another L1 user's transaction.
    pub payload: Option<T>,
}

/// A transaction to sign and send ([`Chain::submit`]).
#[derive(Clone, Debug)]
pub struct Outgoing<T> {
    /// What it does.
    pub payload: T,
    /// Priority fee per gas (wei).
    pub tip: u64,
    /// The most it pays per blob gas (wei); `None`: whatever it takes.
    pub max_blob_fee: Option<u64>,
    /// Blobs it carries.
    pub blobs: u32,
    /// Bytes of calldata.
    pub calldata: u64,
    /// Execution gas beyond the base gas and the calldata's.
    pub exec_gas: u64,
}

impl<T> L1Tx<T> {
    /// Bytes on the wire, blobs and their commitments included.
    pub fn wire_bytes(&self) -> u64 {
        TX_ENVELOPE_BYTES + self.calldata + u64::from(self.blobs) * (BLOB_BYTES + BLOB_SIDECAR_BYTES)
    }
}

/// A block of the chain.
#[derive(Clone, Debug)]
pub struct Block {
    /// Its slot.
    pub slot: u64,
    /// Its slot's start: the time its transactions see.
    pub time: SimTime,
    /// Who proposed it.
    pub proposer: NodeId,
    /// Its transactions, in execution order.
    pub txs: Vec<TxId>,
    /// Blobs it carries.
    pub blobs: u32,
    /// Gas its transactions use.
    pub gas_used: u64,
    /// Blob base fee (wei per blob gas) its blobs paid.
    pub blob_base_fee: u128,
    /// Bytes on the wire.
    pub bytes: u64,
}

/// Which of a protocol's chains a message or timer belongs to (a protocol running one chain
/// uses 0; [`Chain::with_id`] sets another).
pub type ChainId = u8;

/// A message of a chain's gossip.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ChainMsg {
    /// The chain.
    pub chain: ChainId,
    /// What it says.
    pub gossip: Gossip,
}

/// What a chain's gossip says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Gossip {
    /// A transaction, with its size.
    Tx(TxId, u64),
    /// A block by number, with its size.
    Block(u32, u64),
    /// Asks for the blocks from this number on that the peer holds (a node that missed some).
    Request(u32),
}

impl Message for ChainMsg {
    fn wire_bytes(&self) -> u64 {
        match self.gossip {
            Gossip::Tx(_, bytes) | Gossip::Block(_, bytes) => bytes,
            Gossip::Request(_) => 80,
        }
    }
}

/// Chain gossip inside a protocol's own message body, at the gossip's size.
impl<B: From<ChainMsg>> From<ChainMsg> for crate::Wire<B> {
    fn from(msg: ChainMsg) -> Self {
        crate::Wire { bytes: msg.wire_bytes(), body: B::from(msg) }
    }
}

/// Timers of a chain.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChainTimer {
    /// A validator's slot starts: it proposes.
    Propose(ChainId, u64),
    /// Another L1 user's blob transaction arrives at a validator.
    Others(ChainId),
}

impl ChainTimer {
    /// The chain it belongs to.
    pub fn chain(self) -> ChainId {
        match self {
            ChainTimer::Propose(chain, _) | ChainTimer::Others(chain) => chain,
        }
    }
}
