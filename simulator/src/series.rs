//! Time series a model records during a run: one value per fixed-width bucket of simulated time,
//! for seeing a quantity change over the run (throughput falling and recovering around a view
//! change, a chain growing). Run files hold them, `series.csv` collects them across a study.

use serde::Serialize;

use crate::time::{SimDuration, SimTime};

/// How a bucket's value comes from what is recorded in it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Amounts added in the bucket, divided by the bucket's width in seconds: a rate per second.
    RatePerSecond,
    /// The last value set at or before the bucket's end (a level: a height, a count so far).
    Last,
}

/// A series of one quantity, for one group of nodes (`"all"` for the whole network).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeSeries {
    /// What it measures, with its unit (`throughput_rps`, `chain_height`).
    pub name: String,
    /// Which nodes or which consensus group it covers.
    pub group: String,
    /// How bucket values are formed.
    pub aggregate: Aggregate,
    /// Width of a bucket; bucket `i` covers `[i·bucket, (i+1)·bucket)`.
    #[serde(rename = "bucket_ns", serialize_with = "nanoseconds")]
    pub bucket: SimDuration,
    /// One value per bucket from time zero.
    pub values: Vec<f64>,
}

fn nanoseconds<S: serde::Serializer>(duration: &SimDuration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.0)
}

impl TimeSeries {
    /// An empty series with buckets of `bucket` (at least 1 ns).
    pub fn new(name: &str, group: &str, aggregate: Aggregate, bucket: SimDuration) -> Self {
        TimeSeries {
            name: name.to_string(),
            group: group.to_string(),
            aggregate,
            bucket: SimDuration(bucket.0.max(1)),
            values: Vec::new(),
        }
    }

    fn index(&self, at: SimTime) -> usize {
        usize::try_from(at.0 / self.bucket.0).unwrap_or(usize::MAX)
    }

    /// Makes room up to bucket `index`; a level carries over into the new buckets.
    fn reach(&mut self, index: usize) {
        if self.values.len() <= index {
            let fill = match self.aggregate {
                Aggregate::RatePerSecond => 0.0,
                Aggregate::Last => self.values.last().copied().unwrap_or(0.0),
            };
            self.values.resize(index + 1, fill);
        }
    }

    /// Adds `amount` to the bucket holding `at` (a rate series).
    pub fn add(&mut self, at: SimTime, amount: f64) {
        let index = self.index(at);
        self.reach(index);
        self.values[index] += amount;
    }

    /// Sets the level from `at` on (a level series).
    pub fn set(&mut self, at: SimTime, value: f64) {
        let index = self.index(at);
        self.reach(index);
        self.values[index] = value;
    }

    /// The finished series of a run that ended at `end`: the buckets that cover `[0, end)`, rates
    /// converted to per second (a last, partial bucket over the part of it the run lasted).
    /// Anything recorded at `end` itself counts in the last bucket.
    pub fn finish(mut self, end: SimTime) -> Self {
        let buckets = usize::try_from(end.0.div_ceil(self.bucket.0)).unwrap_or(usize::MAX).max(1);
        self.reach(buckets - 1);
        if self.values.len() > buckets {
            let overflow: f64 = self.values.drain(buckets..).sum();
            if self.aggregate == Aggregate::RatePerSecond {
                self.values[buckets - 1] += overflow;
            }
        }
        if self.aggregate == Aggregate::RatePerSecond {
            let last_start = self.bucket_start(buckets - 1);
            for (i, value) in self.values.iter_mut().enumerate() {
                let width = if i + 1 == buckets && end > last_start { end.since(last_start) } else { self.bucket };
                *value /= width.as_secs_f64();
            }
        }
        self
    }

    /// The start of bucket `index`.
    pub fn bucket_start(&self, index: usize) -> SimTime {
        SimTime(self.bucket.0.saturating_mul(index as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_and_levels_carry_over() {
        let ms = |v: u64| SimTime(v * 1_000_000);
        let mut rate =
            TimeSeries::new("throughput_rps", "all", Aggregate::RatePerSecond, SimDuration::from_millis(100));
        for t in [10, 20, 150, 350] {
            rate.add(ms(t), 1.0);
        }
        // The last bucket lasted 20 ms of the run.
        rate.add(ms(410), 1.0);
        assert_eq!(rate.clone().finish(ms(420)).values, [20.0, 10.0, 0.0, 10.0, 50.0]);
        // A run ending on a bucket boundary has no bucket after it.
        assert_eq!(rate.finish(ms(500)).values, [20.0, 10.0, 0.0, 10.0, 10.0]);

        let mut level = TimeSeries::new("height", "all", Aggregate::Last, SimDuration::from_millis(100));
        level.set(ms(50), 1.0);
        level.set(ms(60), 2.0);
        level.set(ms(250), 3.0);
        let level = level.finish(ms(499));
        assert_eq!(level.values, [2.0, 2.0, 3.0, 3.0, 3.0]);
        let json = serde_json::to_value(&level).unwrap();
        assert_eq!((json["bucket_ns"].as_u64(), json["aggregate"].as_str()), (Some(100_000_000), Some("last")));
        assert_eq!(level.bucket_start(3), ms(300));
    }
}
