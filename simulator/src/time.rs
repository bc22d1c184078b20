//! Simulated time: integer nanoseconds, so that event order never depends on float rounding.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time no run reaches; used as "never".
    pub const NEVER: SimTime = SimTime(u64::MAX);
    /// The longest planned span a run may have (2^60 ns, about 36.5 years): times stay far from
    /// the end of the clock, where sums of delays would saturate.
    pub const HORIZON: SimTime = SimTime(1 << 60);

    /// Nanoseconds since the start of the run.
    pub fn as_nanos(self) -> u64 {
        self.0
    }

    /// Milliseconds since the start, as a float for reporting only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// Seconds since the start, as a float for reporting only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A duration of `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Self {
        SimDuration(n)
    }
    /// A duration of `n` microseconds.
    pub const fn from_micros(n: u64) -> Self {
        SimDuration(n * 1_000)
    }
    /// A duration of `n` milliseconds.
    pub const fn from_millis(n: u64) -> Self {
        SimDuration(n * 1_000_000)
    }
    /// A duration of `n` seconds.
    pub const fn from_secs(n: u64) -> Self {
        SimDuration(n * 1_000_000_000)
    }
    /// Converts seconds given as a float, rounding to the nearest nanosecond; negative and NaN
    /// inputs become zero. Only for values drawn from distributions, never for config values.
    #[inline]
    pub fn from_secs_f64_rounded(secs: f64) -> Self {
        let nanos = secs * 1e9;
        if nanos.is_nan() || nanos <= 0.0 {
            SimDuration(0)
        } else if nanos >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            // `f64::round` is a library call on baseline x86-64, made once per message. Below 2^53
            // the fraction is exact (a difference of floats within a factor of two), and above it
            // every float is whole: this is round-half-away-from-zero, bit for bit.
            let whole = nanos as u64;
            SimDuration(whole + u64::from(nanos - whole as f64 >= 0.5))
        }
    }
    /// Length in nanoseconds.
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    /// Length in milliseconds, as a float for reporting only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    /// Length in seconds, as a float for reporting and distribution parameters only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    /// Saturates at [`SimTime::NEVER`] instead of wrapping.
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    /// Saturates at zero.
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::units::format_duration(self.0))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", crate::units::format_duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conversion as first written, with the library's rounding.
    fn by_round(secs: f64) -> u64 {
        let nanos = (secs * 1e9).round();
        if nanos.is_nan() || nanos <= 0.0 {
            0
        } else if nanos >= u64::MAX as f64 {
            u64::MAX
        } else {
            nanos as u64
        }
    }

    #[test]
    fn rounding_matches_the_library_at_the_edges() {
        let edges = [
            0.0,
            -0.0,
            -1e-9,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.4999999999999999e-9,
            0.5e-9,
            1.5e-9,
            2.5e-9,
            0.1,
            0.3,
            1e-3,
            (1u64 << 52) as f64 * 1e-9,
            (1u64 << 53) as f64 * 1e-9,
            u64::MAX as f64 * 1e-9,
            (u64::MAX - 4095) as f64 * 1e-9,
            f64::MAX,
        ];
        for secs in edges {
            assert_eq!(SimDuration::from_secs_f64_rounded(secs).0, by_round(secs), "{secs:e} s");
        }
        // A half nanosecond rounds away from zero (2.5e-9 s × 1e9 is exactly 2.5).
        assert_eq!(2.5e-9 * 1e9, 2.5);
        assert_eq!(SimDuration::from_secs_f64_rounded(2.5e-9).0, 3);
    }

    proptest::proptest! {
        #[test]
        fn rounding_matches_the_library(bits in proptest::num::u64::ANY, small in 0.0f64..10.0) {
            let any = f64::from_bits(bits);
            proptest::prop_assert_eq!(SimDuration::from_secs_f64_rounded(any).0, by_round(any));
            proptest::prop_assert_eq!(SimDuration::from_secs_f64_rounded(small).0, by_round(small));
        }
    }
}
