//! Every transfer's record: who moves what which way, and how far it got on each chain.

use simulator::{NodeId, SimTime};

use super::config::Direction;
use crate::chain::{ChainId, TxId};

/// The main chain's id in the bridge's messages and timers.
pub const MAIN: ChainId = 0;
/// The side chain's id.
pub const SIDE: ChainId = 1;

/// One transfer across the bridge.
#[derive(Clone, Debug)]
pub struct Transfer {
    /// Deposit (main → side) or withdrawal (side → main).
    pub kind: Direction,
    /// Who sends and receives it.
    pub user: NodeId,
    /// Tokens.
    pub amount: u64,
    /// When the user signed its lock or burn (for a forgery: when the colluders made it up).
    pub issued: SimTime,
    /// Issued in the measuring window by an honest user.
    pub measured: bool,
    /// Made up by colluding validators: no lock exists.
    pub forged: bool,
    /// The reorganisation attacker's deposit.
    pub attack: bool,
    /// Its lock or burn transaction on the source chain (none for a forgery).
    pub tx: Option<TxId>,
    /// The source-chain block that executed its lock or burn, and that block's time.
    pub source: Option<(u32, SimTime)>,
    /// Its lock was replaced by a conflicting spend in a reorganisation.
    pub orphaned: bool,
    /// The source refused its burn (the user did not hold the tokens).
    pub refused: bool,
    /// Bridge validators that signed it (bit i: validator i).
    pub signers: u64,
    /// When the destination chain minted or released it, and in which block.
    pub completed: Option<(SimTime, u32)>,
    /// Accepted by the main chain and waiting for the withdrawal limit to release it.
    pub held_back: bool,
    /// Times the destination released or minted it (more than once is a breach).
    pub payouts: u32,
    /// Light client: when the source refunded it after its packet timed out.
    pub refunded: Option<SimTime>,
    /// Light client: the source holds the destination's acknowledgement.
    pub acknowledged: bool,
}

impl Transfer {
    /// A transfer of `amount` by `user`, issued now.
    pub fn new(kind: Direction, user: NodeId, amount: u64, issued: SimTime, measured: bool) -> Self {
        Transfer {
            kind,
            user,
            amount,
            issued,
            measured,
            forged: false,
            attack: false,
            tx: None,
            source: None,
            orphaned: false,
            refused: false,
            signers: 0,
            completed: None,
            held_back: false,
            payouts: 0,
            refunded: None,
            acknowledged: false,
        }
    }

    /// The chain its lock or burn is on.
    pub fn source_chain(&self) -> ChainId {
        match self.kind {
            Direction::Deposit => MAIN,
            Direction::Withdrawal => SIDE,
        }
    }

    /// The chain that mints or releases it.
    pub fn destination_chain(&self) -> ChainId {
        1 - self.source_chain()
    }

    /// Between its chains: its lock or burn executed (and stands), not yet paid out or
    /// refunded.
    pub fn in_flight(&self) -> bool {
        self.source.is_some() && !self.orphaned && !self.settled()
    }

    /// Finished: paid out at the destination or refunded at the source.
    pub fn settled(&self) -> bool {
        self.completed.is_some() || self.refunded.is_some()
    }
}
