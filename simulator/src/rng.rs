//! Random-number streams derived from one master seed.
//!
//! Every consumer of randomness draws from its own ChaCha8 stream, identified by a *purpose* (a
//! fixed code that never changes meaning) and a *node* (or [`GLOBAL`] for run-wide draws). The
//! derivation is:
//!
//! ```text
//! key word i (i = 0..4) = splitmix64(master ^ splitmix64(purpose * 0x9E3779B97F4A7C15 + i))
//! rng = ChaCha8Rng::from_seed(key words, little-endian) with stream number = node
//! ```
//!
//! so adding a node, or a new purpose, leaves every existing stream's draws unchanged.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The stream number used for run-wide (not per-node) draws.
pub const GLOBAL: u64 = u64::MAX;

/// What a stream is used for. The numeric codes are part of the determinism contract: never
/// renumber a purpose, only add new ones.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Purpose {
    /// Random topology generation.
    Topology,
    /// Per-message link latency draws (stream per sending node).
    Latency,
    /// Per-message loss decisions (stream per sending node).
    Loss,
    /// Assignment of nodes to regions.
    Placement,
    /// A protocol's own per-node decisions.
    Protocol,
    /// Workload generation (item creation, transactions, client requests).
    Workload,
}

impl Purpose {
    /// The stable code folded into the stream key.
    pub const fn code(self) -> u64 {
        match self {
            Purpose::Topology => 1,
            Purpose::Latency => 2,
            Purpose::Loss => 3,
            Purpose::Placement => 4,
            Purpose::Protocol => 5,
            Purpose::Workload => 6,
        }
    }
}

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
pub const fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The stream for `(master, purpose, node)`; `node` is a node id or [`GLOBAL`].
pub fn stream(master: u64, purpose: Purpose, node: u64) -> ChaCha8Rng {
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_exact_mut(8).enumerate() {
        let tweak = splitmix64(purpose.code().wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u64));
        chunk.copy_from_slice(&splitmix64(master ^ tweak).to_le_bytes());
    }
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(node);
    rng
}

/// One purpose's streams for every node. All of them share one key (the nonce tells them apart),
/// so a node's stream is kept as its position alone, 8 bytes, and a single generator is moved to
/// whichever node draws. Keeping a generator per node instead (over 300 bytes each, with its
/// output buffer) put a cache miss or two on most messages of a large network. Draws are exactly
/// those of [`stream`]`(master, purpose, node)`.
#[derive(Clone, Debug)]
pub struct NodeStreams {
    /// The next word (32 bits) each node's stream yields; a node's entry is stale while it holds
    /// the cursor.
    positions: Vec<u64>,
    /// The generator, positioned in the stream of `holder`.
    cursor: ChaCha8Rng,
    holder: Option<usize>,
}

impl NodeStreams {
    /// Streams of `purpose` for nodes `0..nodes`.
    pub fn new(master: u64, purpose: Purpose, nodes: usize) -> Self {
        NodeStreams { positions: vec![0; nodes], cursor: stream(master, purpose, 0), holder: None }
    }

    /// The stream of `node`.
    #[inline]
    pub fn get(&mut self, node: usize) -> &mut ChaCha8Rng {
        if self.holder != Some(node) {
            self.move_cursor(node);
        }
        &mut self.cursor
    }

    /// Starts loading where `node`'s stream stands: a node about to draw (to send a message) whose
    /// entry has left the cache would otherwise wait for it.
    pub fn prefetch(&self, node: usize) {
        if let Some(position) = self.positions.get(node) {
            crate::prefetch::prefetch(position);
        }
    }

    fn move_cursor(&mut self, node: usize) {
        if let Some(previous) = self.holder {
            self.positions[previous] = u64::try_from(self.cursor.get_word_pos()).expect("fewer than 2^64 draws");
        }
        // Rewinding to a buffer boundary first makes the stream switch regenerate nothing; the
        // final seek then fills the buffer once.
        self.cursor.set_word_pos(0);
        self.cursor.set_stream(node as u64);
        self.cursor.set_word_pos(u128::from(self.positions[node]));
        self.holder = Some(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_independent_and_stable() {
        let a: u64 = stream(7, Purpose::Latency, 3).random();
        assert_eq!(a, stream(7, Purpose::Latency, 3).random::<u64>());
        assert_ne!(a, stream(7, Purpose::Latency, 4).random::<u64>());
        assert_ne!(a, stream(7, Purpose::Loss, 3).random::<u64>());
        assert_ne!(a, stream(8, Purpose::Latency, 3).random::<u64>());
    }

    #[test]
    fn node_streams_match_direct_ones_however_draws_interleave() {
        let mut table = NodeStreams::new(11, Purpose::Protocol, 10);
        let mut direct: Vec<ChaCha8Rng> = (0..10).map(|node| stream(11, Purpose::Protocol, node)).collect();
        // Runs of draws per node, of 32-bit and 64-bit words, crossing the 64-word buffer.
        for step in 0..2_000usize {
            let node = (step * 7 + step / 13) % 10;
            for _ in 0..step % 5 {
                if step % 3 == 0 {
                    assert_eq!(table.get(node).random::<u32>(), direct[node].random::<u32>());
                } else {
                    assert_eq!(table.get(node).random::<u64>(), direct[node].random::<u64>());
                }
            }
        }
        // Growing the network does not change an existing node's stream.
        let mut bigger = NodeStreams::new(11, Purpose::Protocol, 1000);
        assert_eq!(bigger.get(9).random::<u64>(), stream(11, Purpose::Protocol, 9).random::<u64>());
    }

    #[test]
    fn known_answer_pins_the_derivation() {
        // A change here changes every published result: it must be deliberate.
        let v: u64 = stream(42, Purpose::Topology, GLOBAL).random();
        assert_eq!(v, KNOWN_TOPOLOGY_DRAW);
    }

    const KNOWN_TOPOLOGY_DRAW: u64 = 5_713_571_877_748_810_215;
}
