//! Block relay messages and their wire sizes.
//!
//! Sizes follow the Bitcoin P2P protocol: a 24-byte message header; inventory entries of 36 bytes
//! (type and hash); a block of `block_size` bytes; a BIP 152 compact block of an 80-byte header,
//! an 8-byte nonce, a 6-byte short id per transaction except the coinbase, and the coinbase as a
//! prefilled transaction (1-byte index plus the transaction); `getblocktxn` carries the block hash
//! and 2 bytes per missing index; `blocktxn` the block hash and the missing transactions.

use std::sync::Arc;

use super::config::BitcoinConfig;

/// Transaction ids shared by the copies of a message. A thin pointer (not `Arc<[u32]>`) keeps a
/// message at 16 bytes, and with it every queued event, of which millions are pending at once.
pub type TxIds = Arc<Vec<u32>>;

/// What travels between peers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Announces a block.
    Inv(u32),
    /// Asks for a block, whole or compact.
    GetData {
        /// The block.
        block: u32,
        /// Whether a compact block is wanted.
        compact: bool,
    },
    /// A whole block.
    Block(u32),
    /// A compact block.
    CmpctBlock(u32),
    /// Asks for the transactions of a compact block that the sender could not find.
    GetBlockTxn {
        /// The block.
        block: u32,
        /// How many transactions are missing.
        missing: u32,
    },
    /// The missing transactions.
    BlockTxn {
        /// The block.
        block: u32,
        /// How many transactions it carries.
        missing: u32,
    },
    /// BIP 152 `sendcmpct`: whether the receiver should push new blocks to the sender unasked.
    SendCmpct {
        /// High-bandwidth mode on or off.
        high_bandwidth: bool,
    },
    /// Announces transactions (gossip mempool).
    TxInv(TxIds),
    /// Asks for transactions by id.
    GetTx(TxIds),
    /// One transaction.
    Tx(u32),
}

impl Body {
    /// The block a message is about, if any.
    pub fn block(&self) -> Option<u32> {
        match *self {
            Body::Inv(b) | Body::Block(b) | Body::CmpctBlock(b) => Some(b),
            Body::GetData { block, .. } | Body::GetBlockTxn { block, .. } | Body::BlockTxn { block, .. } => Some(block),
            Body::SendCmpct { .. } | Body::TxInv(_) | Body::GetTx(_) | Body::Tx(_) => None,
        }
    }
}

/// A message with its size on the wire.
pub type Wire = crate::Wire<Body>;

const HEADER: u64 = 24;
const INV_ENTRY: u64 = 36;
const HASH: u64 = 32;
const BLOCK_HEADER: u64 = 80;
const NONCE: u64 = 8;
const SHORT_ID: u64 = 6;
const INDEX: u64 = 2;

/// Computes wire sizes from the configuration.
#[derive(Clone, Debug)]
pub struct Sizes {
    block: u64,
    tx: u64,
    txs: u64,
}

impl Sizes {
    /// Sizes for `config`.
    pub fn new(config: &BitcoinConfig) -> Self {
        Sizes { block: config.block_size.bytes(), tx: config.tx_size.bytes(), txs: config.txs_per_block() }
    }

    /// Bytes of `body` on the wire, for a block of `txs` transactions (the coinbase included; a
    /// block with fewer than a full block's transactions is smaller by the ones it lacks).
    pub fn of(&self, body: &Body, txs: u64) -> u64 {
        let inventory = |n: usize| 3 + INV_ENTRY * n as u64;
        HEADER
            + match body {
                Body::Inv(_) | Body::GetData { .. } => 1 + INV_ENTRY,
                Body::Block(_) => self.block - (self.txs - txs.min(self.txs)) * self.tx,
                Body::CmpctBlock(_) => BLOCK_HEADER + NONCE + 3 + SHORT_ID * (txs.max(1) - 1) + 1 + 1 + self.tx,
                Body::GetBlockTxn { missing, .. } => HASH + 3 + INDEX * u64::from(*missing),
                Body::BlockTxn { missing, .. } => HASH + 3 + self.tx * u64::from(*missing),
                Body::SendCmpct { .. } => 9,
                Body::TxInv(ids) | Body::GetTx(ids) => inventory(ids.len()),
                Body::Tx(_) => self.tx,
            }
    }

    /// Transactions in a full block.
    pub fn full_block_txs(&self) -> u64 {
        self.txs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simulator::units::ByteSize;

    #[test]
    fn compact_blocks_are_a_few_percent_of_the_block() {
        let config =
            BitcoinConfig { block_size: ByteSize(535_000), tx_size: ByteSize(250), ..BitcoinConfig::default() };
        let sizes = Sizes::new(&config);
        let full = sizes.full_block_txs();
        assert_eq!(full, 2_140);
        assert_eq!(sizes.of(&Body::Block(0), full), 24 + 535_000);
        assert_eq!(sizes.of(&Body::Block(0), full - 10), 24 + 535_000 - 2_500);
        // 2,140 transactions: 2,139 short ids and the coinbase.
        assert_eq!(sizes.of(&Body::CmpctBlock(0), full), 24 + 80 + 8 + 3 + 6 * 2_139 + 2 + 250);
        assert_eq!(sizes.of(&Body::Inv(0), full), 61);
        assert_eq!(sizes.of(&Body::BlockTxn { block: 0, missing: 3 }, full), 24 + 35 + 750);
        assert_eq!(sizes.of(&Body::TxInv(Arc::new(vec![1, 2])), 0), 24 + 3 + 72);
    }
}
