//! The keys a `Pbft` client's request touches: a pure function of the run seed and the request
//! id, drawn when the client makes the request and carried in its payload.

use simulator::rng::splitmix64;

use super::config::ExecutionConfig;
use super::conflict::Access;
use super::messages::RequestId;

/// Draws the read and write keys of requests.
#[derive(Clone, Debug)]
pub struct KeyGenerator {
    seed: u64,
    config: ExecutionConfig,
}

impl KeyGenerator {
    /// Keys for the run with `seed`.
    pub fn new(config: ExecutionConfig, seed: u64) -> Self {
        KeyGenerator { seed: splitmix64(seed ^ 0x6B65_7973), config }
    }

    /// A uniform draw in [0, 1) from the `slot`th hash of `request`.
    fn unit(&self, request: RequestId, slot: u64) -> f64 {
        let h = splitmix64(self.seed ^ splitmix64((u64::from(request.client) << 32) ^ request.number) ^ slot);
        (h >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The `slot`th key of `request`: a hot key with probability `hot_share`, else uniform.
    fn key(&self, request: RequestId, slot: u64) -> u64 {
        let c = &self.config;
        let pick = |u: f64, range: u64| ((u * range as f64) as u64).min(range - 1);
        if c.hot_share > 0.0 && self.unit(request, 2 * slot) < c.hot_share {
            pick(self.unit(request, 2 * slot + 1), c.hot_keys)
        } else {
            pick(self.unit(request, 2 * slot + 1), c.keys)
        }
    }

    /// The keys `request` reads and writes.
    pub fn access(&self, request: RequestId) -> Access {
        let reads = u64::from(self.config.reads);
        let writes = u64::from(self.config.writes);
        Access {
            reads: (0..reads).map(|s| self.key(request, s)).collect(),
            writes: (reads..reads + writes).map(|s| self.key(request, s)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simulator::units::ByteSize;

    fn config(hot_keys: u64, hot_share: f64) -> ExecutionConfig {
        ExecutionConfig { keys: 1000, reads: 3, writes: 2, hot_keys, hot_share, cache: 10, value_size: ByteSize(8) }
    }

    #[test]
    fn accesses_are_a_function_of_seed_and_request() {
        let r = RequestId { client: 2, number: 7 };
        let a = KeyGenerator::new(config(0, 0.0), 1);
        assert_eq!(a.access(r), KeyGenerator::new(config(0, 0.0), 1).access(r));
        assert_ne!(a.access(r), KeyGenerator::new(config(0, 0.0), 2).access(r));
        let access = a.access(r);
        assert_eq!((access.reads.len(), access.writes.len()), (3, 2));
        assert!(access.reads.iter().chain(&access.writes).all(|&k| k < 1000));
    }

    #[test]
    fn hot_share_concentrates_accesses() {
        let keys = KeyGenerator::new(config(10, 0.9), 3);
        let (mut hot, mut total) = (0, 0);
        for number in 0..2_000 {
            let access = keys.access(RequestId { client: 0, number });
            for &k in access.reads.iter().chain(&access.writes) {
                total += 1;
                hot += usize::from(k < 10);
            }
        }
        let share = hot as f64 / total as f64;
        // 90 % hot by choice, plus the 1 % of uniform draws that land on a hot key.
        assert!((share - 0.901).abs() < 0.02, "hot share {share}");
    }
}
