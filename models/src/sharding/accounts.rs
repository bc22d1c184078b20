//! Accounts, the shard each belongs to, and the transfers clients draw: a payer and receivers,
//! uniformly or by Zipf popularity, with the cross-shard fraction left to chance or forced.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use smallvec::SmallVec;

use simulator::math;
use simulator::rng::splitmix64;

use super::config::{Assignment, ShardingConfig};

/// A shard's id, which is also its replica group's id.
pub type ShardId = u16;

/// The accounts a transfer touches: the payer first, then the receivers.
pub type Parties = SmallVec<[u32; 4]>;

/// Draws accounts by popularity: uniformly, or by cumulative Zipf weights over a list.
#[derive(Clone, Debug)]
enum Popularity {
    Uniform,
    /// Cumulative weights of the listed accounts, in list order.
    Zipf(Vec<f64>),
}

impl Popularity {
    /// Popularity over `accounts`, in that order: account a weighs 1 / (a + 1)^skew.
    fn new(accounts: impl IntoIterator<Item = u32>, skew: f64) -> Self {
        if skew == 0.0 {
            return Popularity::Uniform;
        }
        let mut total = 0.0;
        Popularity::Zipf(
            accounts
                .into_iter()
                .map(|a| {
                    total += 1.0 / math::pow(f64::from(a) + 1.0, skew);
                    total
                })
                .collect(),
        )
    }

    /// An index into the list of `len` accounts.
    fn pick(&self, len: usize, rng: &mut ChaCha8Rng) -> usize {
        match self {
            Popularity::Uniform => rng.random_range(0..len),
            Popularity::Zipf(cumulative) => {
                let target = rng.random::<f64>() * cumulative[len - 1];
                cumulative.partition_point(|&c| c <= target).min(len - 1)
            }
        }
    }
}

/// The accounts, their shards and the transfer workload.
#[derive(Clone, Debug)]
pub struct Accounts {
    shard_of: Vec<ShardId>,
    /// Popularity over all accounts (account `a` at position `a`).
    popularity: Popularity,
    /// Each shard's accounts and their popularity, for transfers forced to stay in one shard.
    within: Vec<(Vec<u32>, Popularity)>,
    parties: u32,
    amount: u64,
    cross_shard_ratio: Option<f64>,
}

impl Accounts {
    /// The accounts of a validated config.
    pub fn new(config: &ShardingConfig) -> Self {
        let k = config.shards;
        let shard_of: Vec<ShardId> = (0..config.accounts)
            .map(|a| match config.assignment {
                Assignment::Hash => (splitmix64(u64::from(a)) % u64::from(k)) as ShardId,
                Assignment::Range => (u64::from(a) * u64::from(k) / u64::from(config.accounts)) as ShardId,
            })
            .collect();
        let all: Vec<u32> = (0..config.accounts).collect();
        let within = if config.cross_shard_ratio.is_some() {
            (0..k)
                .map(|s| {
                    let members: Vec<u32> =
                        all.iter().copied().filter(|&a| shard_of[a as usize] == s as ShardId).collect();
                    let popularity = Popularity::new(members.iter().copied(), config.skew);
                    (members, popularity)
                })
                .collect()
        } else {
            Vec::new()
        };
        Accounts {
            popularity: Popularity::new(0..config.accounts, config.skew),
            shard_of,
            within,
            parties: config.accounts_per_tx,
            amount: config.amount,
            cross_shard_ratio: config.cross_shard_ratio,
        }
    }

    /// The shard holding `account`.
    #[inline]
    pub fn shard_of(&self, account: u32) -> ShardId {
        self.shard_of[account as usize]
    }

    /// Accounts held by each of `shards` shards.
    pub fn counts(&self, shards: u32) -> Vec<u32> {
        let mut counts = vec![0; shards as usize];
        for &s in &self.shard_of {
            counts[usize::from(s)] += 1;
        }
        counts
    }

    /// A transfer: distinct accounts (payer first) and the amount each receiver gets.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> (Parties, u64) {
        let mut parties = Parties::new();
        let all = self.shard_of.len();
        let payer = self.popularity.pick(all, rng) as u32;
        parties.push(payer);
        let home = self.shard_of(payer);
        let forced = self.cross_shard_ratio.map(|ratio| rng.random::<f64>() < ratio);
        while parties.len() < self.parties as usize {
            let account = match forced {
                // Kept in the payer's shard: drawn by popularity among that shard's accounts.
                Some(false) => {
                    let (members, popularity) = &self.within[usize::from(home)];
                    members[popularity.pick(members.len(), rng)]
                }
                _ => self.popularity.pick(all, rng) as u32,
            };
            // A forced cross-shard transfer sends its first receiver to another shard.
            let must_leave = forced == Some(true) && parties.len() == 1;
            if parties.contains(&account) || (must_leave && self.shard_of(account) == home) {
                continue;
            }
            parties.push(account);
        }
        let amount = rng.random_range(1..=self.amount);
        (parties, amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn fraction_cross(config: &ShardingConfig, draws: u32) -> f64 {
        let accounts = Accounts::new(config);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let cross = (0..draws)
            .filter(|_| {
                let (parties, _) = accounts.draw(&mut rng);
                parties.iter().any(|&a| accounts.shard_of(a) != accounts.shard_of(parties[0]))
            })
            .count();
        cross as f64 / f64::from(draws)
    }

    #[test]
    fn uniform_pairs_cross_shards_as_often_as_one_minus_one_over_k() {
        for shards in [2, 4, 16] {
            let config = ShardingConfig { shards, ..ShardingConfig::default() };
            let expected = 1.0 - 1.0 / f64::from(shards);
            let seen = fraction_cross(&config, 20_000);
            assert!((seen - expected).abs() < 0.02, "k = {shards}: {seen} vs {expected}");
        }
    }

    #[test]
    fn a_forced_ratio_overrides_the_accounts_drawn() {
        for ratio in [0.0, 0.3, 1.0] {
            let config =
                ShardingConfig { shards: 8, skew: 1.2, cross_shard_ratio: Some(ratio), ..ShardingConfig::default() };
            let seen = fraction_cross(&config, 10_000);
            assert!((seen - ratio).abs() < 0.02, "ratio {ratio}: {seen}");
        }
    }

    #[test]
    fn skew_concentrates_transfers_on_popular_accounts() {
        let accounts = Accounts::new(&ShardingConfig { skew: 1.5, ..ShardingConfig::default() });
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let payers_of_account_0 = (0..10_000).filter(|_| accounts.draw(&mut rng).0[0] == 0).count();
        // Zipf(1.5) over 10,000 accounts gives account 0 a share of 1 / ζ(1.5) ≈ 0.38.
        assert!((3_500..4_100).contains(&payers_of_account_0), "{payers_of_account_0}");
    }

    #[test]
    fn range_assignment_gives_contiguous_equal_shards() {
        let config =
            ShardingConfig { shards: 4, accounts: 100, assignment: Assignment::Range, ..ShardingConfig::default() };
        let accounts = Accounts::new(&config);
        assert_eq!(accounts.counts(4), vec![25; 4]);
        assert_eq!((accounts.shard_of(24), accounts.shard_of(25)), (0, 1));
    }
}
