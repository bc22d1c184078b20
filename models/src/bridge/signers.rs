//! Bridge validators, relayers and the attacks: signing confirmed transfers, gathering
//! signatures and submitting payouts, relaying headers and proofs (light client), resending,
//! the colluders' forged deposit and its drain, and the reorganisation attacker.

use simulator::{Context, NodeId, SimDuration, SimTime};

use super::config::{Direction, Trust};
use super::ledger::{Call, Notice};
use super::transfers::{MAIN, SIDE, Transfer};
use super::{ATTESTATION_BYTES, Body, Bridge, Job, Timer};
use crate::Wire;
use crate::chain::ChainId;

/// Bytes of a block header a light client verifies.
pub(super) const HEADER_BYTES: u64 = 600;

impl Bridge {
    /// Validator `node` signs every transfer whose source block is now confirmed in its view.
    pub(super) fn attest_confirmed(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if self.config.trust != Trust::Validators {
            return;
        }
        for chain in [MAIN, SIDE] {
            for t in self.newly_confirmed(node, chain) {
                if let Notice::Source(t) = t
                    && !self.transfers[t as usize].orphaned
                {
                    ctx.run_cpu(self.config.sign, Job::Sign(t));
                }
            }
        }
    }

    /// The notices of the blocks of `chain` that became confirmed for `node` since it last
    /// looked, in block order.
    fn newly_confirmed(&mut self, node: NodeId, chain: ChainId) -> Vec<Notice> {
        let head = self.chains.head(chain, node);
        let mut notices = Vec::new();
        let cursor = self.cursors[node as usize][chain as usize];
        let mut next = cursor;
        while next < head && self.confirmed(chain, next, head) {
            notices.extend_from_slice(&self.ledger.notices[chain as usize][next as usize]);
            next += 1;
        }
        self.cursors[node as usize][chain as usize] = next;
        notices
    }

    /// A validator (or colluder) has signed `t`: it sends the signature to the relayers (a
    /// forged deposit: to the lead colluder only).
    pub(super) fn signed(&mut self, node: NodeId, t: u32, ctx: &mut Context<'_, Self>) {
        let v = self.validator_of[node as usize].expect("only validators sign");
        self.transfers[t as usize].signers |= 1 << v;
        if self.transfers[t as usize].forged {
            let lead = self.validators[0];
            if node == lead {
                self.collect(node, t, v, ctx);
            } else {
                attest(ctx, lead, t, v);
            }
        } else {
            self.unpaid[v as usize].insert(t);
            for &relayer in &self.relayers {
                attest(ctx, relayer, t, v);
            }
        }
    }

    /// `node` verified `signer`'s signature on `t`; with enough of them it submits the payout
    /// (a colluder that cannot reach the threshold submits what the colluders have).
    pub(super) fn collect(&mut self, node: NodeId, t: u32, signer: u32, ctx: &mut Context<'_, Self>) {
        let signers = self.collected.entry((node, t)).or_insert(0);
        *signers |= 1 << signer;
        let signers = *signers;
        let transfer = &self.transfers[t as usize];
        let enough = signers.count_ones() >= self.config.threshold
            || transfer.forged && signers.count_ones() >= self.config.colluders;
        if !enough || transfer.completed.is_some() || !self.submitted.insert((node, t)) {
            return;
        }
        let count = u64::from(signers.count_ones());
        let call = self.call(
            Call::Attested { transfer: t, signers },
            ATTESTATION_BYTES * count + 100,
            self.config.contract_gas + count * self.config.signature_gas,
        );
        self.submit(transfer.destination_chain(), call, ctx);
    }

    /// A light-client relayer submits, for each source block now confirmed in its view, the
    /// header with an inclusion proof of each lock or burn to the other chain, and an
    /// acknowledgement of each receipt back to the source.
    pub(super) fn relay_confirmed(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        for chain in [MAIN, SIDE] {
            let header = self.chains.head(chain, node) - 1;
            for notice in self.newly_confirmed(node, chain) {
                let call = match notice {
                    Notice::Source(t) if !self.transfers[t as usize].orphaned => Call::Proven { transfer: t, header },
                    Notice::Paid(t) => Call::Acknowledge(t),
                    Notice::Source(_) => continue,
                };
                let calldata = HEADER_BYTES + self.config.proof_bytes;
                let gas = self.config.contract_gas + self.config.header_gas;
                let call = self.call(call, calldata, gas);
                self.submit(1 - chain, call, ctx);
            }
        }
    }

    /// A validator's or relayer's periodic round: it sends again its transactions still pending;
    /// a validator also signs what became confirmed while it could not look (back from a crash)
    /// and sends again the signatures of transfers it has not seen paid.
    pub(super) fn resend(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(self.config.resend, Timer::Resend);
        self.resend_all_pending(node, ctx);
        let Some(v) = self.validator_of[node as usize] else { return };
        let v = v as usize;
        self.attest_confirmed(node, ctx);
        let unpaid = std::mem::take(&mut self.unpaid[v]);
        for &t in &unpaid {
            let transfer = &self.transfers[t as usize];
            let seen_paid = transfer
                .completed
                .is_some_and(|(_, block)| self.chains.head(transfer.destination_chain(), node) > block);
            if seen_paid {
                continue;
            }
            self.unpaid[v].insert(t);
            for &relayer in &self.relayers {
                attest(ctx, relayer, t, v as u32);
            }
        }
    }

    /// The lead colluder makes up a deposit (of `forge_value`, or everything locked) and asks
    /// the other colluders to sign it.
    pub(super) fn forge(&mut self, ctx: &mut Context<'_, Self>) {
        let amount = self.config.forge_value.unwrap_or(self.ledger.balances.locked);
        self.attacks.forged = Some(ctx.now());
        if amount == 0 {
            return;
        }
        let lead = self.validators[0];
        let mut transfer = Transfer::new(Direction::Deposit, lead, amount, ctx.now(), false);
        transfer.forged = true;
        let t = self.transfers.len() as u32;
        self.transfers.push(transfer);
        self.forgery = Some((t, None));
        ctx.run_cpu(self.config.sign, Job::Sign(t));
        for &colluder in &self.validators[1..self.config.colluders as usize] {
            ctx.send(colluder, Wire { bytes: ATTESTATION_BYTES, body: Body::Forge(t) });
        }
    }

    /// Once the lead colluder sees its forged deposit minted, it withdraws it: a real burn that
    /// every validator attests, releasing locked tokens of honest depositors.
    pub(super) fn drain_forgery(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        let Some((forged, None)) = self.forgery else { return };
        let transfer = &self.transfers[forged as usize];
        let minted_seen = transfer.completed.is_some_and(|(_, block)| self.chains.head(SIDE, node) > block);
        if node != self.validators[0] || !minted_seen {
            return;
        }
        let drain = Transfer::new(Direction::Withdrawal, node, transfer.amount, ctx.now(), false);
        let t = self.transfers.len() as u32;
        self.transfers.push(drain);
        self.forgery = Some((forged, Some(t)));
        self.submit_source(t, ctx);
    }

    /// The reorganisation attacker (the last user) deposits `reorg.value`.
    pub(super) fn attack_deposit(&mut self, ctx: &mut Context<'_, Self>) {
        let value = self.config.reorg.as_ref().expect("a reorganisation is configured").value;
        let mut transfer = Transfer::new(Direction::Deposit, ctx.node(), value, ctx.now(), false);
        transfer.attack = true;
        let t = self.transfers.len() as u32;
        self.transfers.push(transfer);
        self.attack_deposit = Some(t);
        self.submit_source(t, ctx);
    }

    /// Main-chain block `number` was just built: if it makes the attacker's lock `depth` blocks
    /// deep, the attacker publishes its branch just before the next slot, when every node has
    /// received the block.
    pub(super) fn time_the_branch(&mut self, number: u32, ctx: &mut Context<'_, Self>) {
        let Some(reorg) = &self.config.reorg else { return };
        let Some(attack) = self.attack_deposit.map(|t| &self.transfers[t as usize]) else { return };
        let Some((lock_block, _)) = attack.source.filter(|_| !attack.orphaned) else { return };
        if u64::from(lock_block) + u64::from(reorg.depth) - 1 == u64::from(number) {
            let slot = self.config.main_chain.slot.0;
            let next_slot = SimTime((ctx.now().0 / slot + 1) * slot);
            ctx.set_timer(SimDuration(next_slot.since(ctx.now()).0 - 1), Timer::AttackBranch(lock_block));
        }
    }

    /// The attacker publishes a branch of the blocks from `from` on in which its lock is
    /// replaced by a conflicting spend; every main-chain node adopts it.
    pub(super) fn publish_branch(&mut self, from: u32, ctx: &mut Context<'_, Self>) {
        self.attacks.branch = Some(ctx.now());
        let transfers = &self.transfers;
        let replaced = self.chains.main_mut().reorganise(from, |call| match *call {
            Call::Source(t) if transfers[t as usize].attack => Some(Call::Spend),
            _ => None,
        });
        for (_, old) in replaced {
            if let Call::Source(t) = old {
                self.ledger.orphan(t, &mut self.transfers, ctx.now());
            }
        }
    }
}

fn attest(ctx: &mut Context<'_, Bridge>, to: NodeId, transfer: u32, signer: u32) {
    ctx.send(to, Wire { bytes: ATTESTATION_BYTES, body: Body::Attest { transfer, signer } });
}
