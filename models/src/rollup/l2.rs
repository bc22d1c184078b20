//! L2 transactions: when each was issued and what happened to it since. Kept as columns, since a
//! long run issues millions.

use simulator::SimTime;

/// Not (yet) happened.
pub const NEVER: SimTime = SimTime(u64::MAX);

/// Every L2 transaction of the run, by id.
#[derive(Clone, Debug, Default)]
pub struct L2Txs {
    /// When its user issued it.
    pub issued: Vec<SimTime>,
    /// Bytes before compression.
    pub size: Vec<u32>,
    /// The client it came through.
    pub client: Vec<u32>,
    /// Whether it withdraws to L1.
    pub withdrawal: Vec<bool>,
    /// When its client received the sequencer's receipt.
    pub soft: Vec<SimTime>,
    /// When its data first reached L1 (in a batch or in the inbox).
    pub data_at: Vec<SimTime>,
    /// When the contract included it by force.
    pub forced_at: Vec<SimTime>,
    /// Whether the sequencer has it (received, or seen in the inbox).
    pub sequenced: Vec<bool>,
    /// Whether an accepted batch carried it (then it is not included by force).
    pub asserted: Vec<bool>,
}

impl L2Txs {
    /// Records a new transaction; returns its id.
    pub fn issue(&mut self, at: SimTime, size: u32, client: u32, withdrawal: bool) -> u32 {
        let id = self.issued.len() as u32;
        self.issued.push(at);
        self.size.push(size);
        self.client.push(client);
        self.withdrawal.push(withdrawal);
        self.soft.push(NEVER);
        self.data_at.push(NEVER);
        self.forced_at.push(NEVER);
        self.sequenced.push(false);
        self.asserted.push(false);
        id
    }

    /// Transactions issued.
    pub fn len(&self) -> usize {
        self.issued.len()
    }

    /// The client received the receipt of `tx` at `now` (the first receipt counts).
    pub fn receipt(&mut self, tx: u32, now: SimTime) {
        let soft = &mut self.soft[tx as usize];
        if *soft == NEVER {
            *soft = now;
        }
    }

    /// The data of `tx` reached L1 at `at` (the first time counts).
    pub fn data_landed(&mut self, tx: u32, at: SimTime) {
        let data = &mut self.data_at[tx as usize];
        if *data == NEVER {
            *data = at;
        }
    }
}
