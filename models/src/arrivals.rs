//! A Poisson process of arrivals at one node, drawn from that node's workload stream: the
//! users behind a rollup client or a bridge user.

use rand_chacha::ChaCha8Rng;
use simulator::rng::{Purpose, stream};
use simulator::sampling::standard_exponential;
use simulator::{NodeId, SimDuration, SimTime};

/// Arrivals at `rate` per second.
pub struct Arrivals {
    /// Arrivals per second (0: none).
    pub rate: f64,
    /// When the next one comes.
    pub next: SimTime,
    /// The node's workload stream, also for whatever else its arrivals draw.
    pub rng: ChaCha8Rng,
}

impl Arrivals {
    /// Arrivals at `node`, from the workload stream of `seed`; the first comes one gap after
    /// time zero.
    pub fn new(node: NodeId, rate: f64, seed: u64) -> Self {
        let mut arrivals =
            Arrivals { rate, next: SimTime::ZERO, rng: stream(seed, Purpose::Workload, u64::from(node)) };
        if rate > 0.0 {
            arrivals.next = SimTime::ZERO + arrivals.gap();
        }
        arrivals
    }

    /// The time to the next arrival.
    fn gap(&mut self) -> SimDuration {
        SimDuration::from_secs_f64_rounded(standard_exponential(&mut self.rng) / self.rate)
    }

    /// Moves on to the arrival after the current one.
    pub fn advance(&mut self) {
        let gap = self.gap();
        self.next += gap;
    }

    /// Drops the arrivals before `now` (users who came while the node was down went elsewhere).
    pub fn skip_to(&mut self, now: SimTime) {
        while self.next < now {
            self.advance();
        }
    }
}
