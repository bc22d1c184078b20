//! Human units in config files: durations ("10ms", "1.5s", "7d"), bandwidths ("25Mbps"), sizes ("1MB",
//! "1MiB") and throughputs ("200MB/s").
//!
//! Conventions: bandwidth prefixes are decimal (1 Mbps = 10^6 bits/s); sizes with `KB`, `MB`, `GB`
//! are decimal (10^3, 10^6, 10^9 bytes) and `KiB`, `MiB`, `GiB` binary (2^10, 2^20, 2^30). Values
//! are parsed exactly from their decimal text, never through a float: "1.5s" is 1,500,000,000 ns.
//! A value finer than the base unit (e.g. "0.5ns", "1.5B") is rejected rather than rounded.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::time::SimDuration;

const DURATION_UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("min", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];
const BANDWIDTH_UNITS: &[(&str, u128)] = &[
    ("bps", 1),
    ("kbps", 1_000),
    ("Kbps", 1_000),
    ("Mbps", 1_000_000),
    ("Gbps", 1_000_000_000),
    ("Tbps", 1_000_000_000_000),
];
const SIZE_UNITS: &[(&str, u128)] = &[
    ("B", 1),
    ("KB", 1_000),
    ("kB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Parses `"<decimal><unit>"` exactly into a count of base units.
fn parse_quantity(text: &str, units: &[(&str, u128)], what: &str, example: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let unit_names = || units.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
    if number.is_empty() {
        return Err(format!("`{text}` is not a {what}: expected a number and a unit, like \"{example}\""));
    }
    let Some(&(_, scale)) = units.iter().find(|(u, _)| *u == unit) else {
        return Err(if unit.is_empty() {
            format!("`{text}` has no unit: write a {what} like \"{example}\" (units: {})", unit_names())
        } else {
            format!("`{text}`: unknown {what} unit `{unit}` (units: {})", unit_names())
        });
    };
    let number: String = number.chars().filter(|&c| c != '_').collect();
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number.as_str(), ""),
    };
    if int_part.is_empty() && frac_part.is_empty() || frac_part.contains('.') {
        return Err(format!("`{text}` is not a valid number"));
    }
    let overflow = || format!("`{text}` is too large");
    let int_value: u128 = if int_part.is_empty() { 0 } else { int_part.parse().map_err(|_| overflow())? };
    let frac_digits = frac_part.len() as u32;
    if frac_digits > 30 {
        return Err(format!("`{text}` has too many decimal places"));
    }
    let frac_value: u128 = if frac_part.is_empty() { 0 } else { frac_part.parse().map_err(|_| overflow())? };
    let denominator = 10u128.pow(frac_digits);
    let frac_scaled = frac_value.checked_mul(scale).ok_or_else(overflow)?;
    if frac_scaled % denominator != 0 {
        return Err(format!("`{text}` is finer than the smallest representable {what} (1 {})", units[0].0));
    }
    let total =
        int_value.checked_mul(scale).and_then(|v| v.checked_add(frac_scaled / denominator)).ok_or_else(overflow)?;
    u64::try_from(total).map_err(|_| overflow())
}

/// Formats a count of base units with the largest unit that represents it exactly.
fn format_quantity(value: u64, units: &[(&str, u128)]) -> String {
    let value = u128::from(value);
    let mut best = units[0];
    for &(name, scale) in units {
        if value != 0 && value % scale == 0 && scale > best.1 {
            best = (name, scale);
        }
    }
    format!("{}{}", value / best.1, best.0)
}

/// Parses a duration such as `"10ms"` or `"1.5s"` into nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    parse_quantity(text, DURATION_UNITS, "duration", "10ms")
}

/// Formats nanoseconds as the shortest exact duration text (e.g. `1500ms`).
pub fn format_duration(nanos: u64) -> String {
    // Skip "µs" (same scale as "us") so the output stays ASCII.
    let units: Vec<(&str, u128)> = DURATION_UNITS.iter().copied().filter(|(u, _)| *u != "µs").collect();
    format_quantity(nanos, &units)
}

/// Parses a size such as `"1MB"` or `"1MiB"` into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    parse_quantity(text, SIZE_UNITS, "size", "1MB")
}

/// Parses a bandwidth such as `"25Mbps"` into bits per second.
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    parse_quantity(text, BANDWIDTH_UNITS, "bandwidth", "25Mbps")
}

/// Implements string (de)serialisation for a unit newtype through its parse and format functions.
macro_rules! string_unit_serde {
    ($ty:ty, $expecting:literal, $parse:expr, $format:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&$format(self))
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct UnitVisitor;
                impl serde::de::Visitor<'_> for UnitVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        $parse(v).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(UnitVisitor)
            }
        }
    };
}

string_unit_serde!(
    SimDuration,
    "a duration string such as \"10ms\" or \"1.5s\"",
    |v: &str| parse_duration(v).map(SimDuration),
    |d: &SimDuration| format_duration(d.0)
);

/// A size in bytes, written like `"535KB"` or `"1MiB"`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_quantity(self.0, SIZE_UNITS))
    }
}

string_unit_serde!(
    ByteSize,
    "a size string such as \"1MB\" or \"1MiB\"",
    |v: &str| parse_size(v).map(ByteSize),
    |s: &ByteSize| s.to_string()
);

/// A link capacity in bits per second, written like `"25Mbps"`, or `"unlimited"`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bandwidth {
    /// A finite capacity in bits per second.
    BitsPerSec(u64),
    /// Transfers take no time; only latency applies.
    Unlimited,
}

impl Bandwidth {
    /// Bits per second, or `None` when unlimited.
    pub fn bits_per_sec(self) -> Option<u64> {
        match self {
            Bandwidth::BitsPerSec(b) => Some(b),
            Bandwidth::Unlimited => None,
        }
    }

    /// Time to push `bytes` through this capacity, rounded up to the next nanosecond.
    pub fn transfer_time(self, bytes: u64) -> SimDuration {
        match self {
            Bandwidth::Unlimited => SimDuration::ZERO,
            Bandwidth::BitsPerSec(bps) => {
                SimDuration(div_ceil_u128(u128::from(bytes) * 8_000_000_000, u128::from(bps)))
            }
        }
    }

    /// The smaller of two capacities.
    pub fn min(self, other: Bandwidth) -> Bandwidth {
        match (self, other) {
            (Bandwidth::Unlimited, b) | (b, Bandwidth::Unlimited) => b,
            (Bandwidth::BitsPerSec(a), Bandwidth::BitsPerSec(b)) => Bandwidth::BitsPerSec(a.min(b)),
        }
    }
}

/// `ceil(a / b)` saturated to `u64`; `b` must be non-zero. Divides in 64 bits when both fit,
/// the common case on every message, because a 128-bit division is a slow library call.
pub(crate) fn div_ceil_u128(a: u128, b: u128) -> u64 {
    match (u64::try_from(a), u64::try_from(b)) {
        (Ok(a), Ok(b)) => a.div_ceil(b),
        _ => u64::try_from(a.div_ceil(b)).unwrap_or(u64::MAX),
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bandwidth::Unlimited => f.write_str("unlimited"),
            Bandwidth::BitsPerSec(b) => f.write_str(&format_quantity(*b, BANDWIDTH_UNITS)),
        }
    }
}

fn parse_bandwidth_or_unlimited(text: &str) -> Result<Bandwidth, String> {
    if text.trim() == "unlimited" { Ok(Bandwidth::Unlimited) } else { parse_bandwidth(text).map(Bandwidth::BitsPerSec) }
}

string_unit_serde!(
    Bandwidth,
    "a bandwidth string such as \"25Mbps\" or \"unlimited\"",
    parse_bandwidth_or_unlimited,
    |b: &Bandwidth| b.to_string()
);

/// A storage throughput in bytes per second, written like `"200MB/s"`, or `"unlimited"`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Throughput {
    /// A finite rate in bytes per second.
    BytesPerSec(u64),
    /// Transfers take no time; only per-operation latency applies.
    Unlimited,
}

impl Throughput {
    /// Time to move `bytes` at this rate, rounded up to the next nanosecond.
    pub fn transfer_time(self, bytes: u64) -> SimDuration {
        match self {
            Throughput::Unlimited => SimDuration::ZERO,
            Throughput::BytesPerSec(r) => SimDuration(div_ceil_u128(u128::from(bytes) * 1_000_000_000, u128::from(r))),
        }
    }
}

impl fmt::Display for Throughput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Throughput::Unlimited => f.write_str("unlimited"),
            Throughput::BytesPerSec(r) => write!(f, "{}/s", format_quantity(*r, SIZE_UNITS)),
        }
    }
}

fn parse_throughput(text: &str) -> Result<Throughput, String> {
    let text = text.trim();
    if text == "unlimited" {
        return Ok(Throughput::Unlimited);
    }
    let Some(size) = text.strip_suffix("/s") else {
        return Err(format!("`{text}` is not a throughput: write a size per second like \"200MB/s\""));
    };
    parse_size(size).map(Throughput::BytesPerSec)
}

string_unit_serde!(
    Throughput,
    "a throughput string such as \"200MB/s\" or \"unlimited\"",
    parse_throughput,
    |t: &Throughput| t.to_string()
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_division_is_the_same_in_64_and_128_bits() {
        for (a, b) in [(0u128, 7u128), (7, 7), (8, 7), (u128::from(u64::MAX), 3), (u128::from(u64::MAX) + 1, 2)] {
            assert_eq!(u128::from(div_ceil_u128(a, b)), a.div_ceil(b).min(u128::from(u64::MAX)), "{a} / {b}");
        }
        assert_eq!(div_ceil_u128(u128::MAX, 1), u64::MAX, "saturates");
    }
    use proptest::prelude::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("3.5d"), Ok(302_400_000_000_000));
        assert_eq!(format_duration(7 * 86_400_000_000_000), "7d");
        assert_eq!(parse_duration("10ms"), Ok(10_000_000));
        assert_eq!(parse_duration("250us"), Ok(250_000));
        assert_eq!(parse_duration("0.000000001s"), Ok(1));
        assert_eq!(parse_bandwidth("25Mbps"), Ok(25_000_000));
        assert_eq!(parse_bandwidth("1.5Gbps"), Ok(1_500_000_000));
        assert_eq!(parse_size("1MB"), Ok(1_000_000));
        assert_eq!(parse_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_size("535KB"), Ok(535_000));
        assert_eq!(parse_size("1_000B"), Ok(1_000));
    }

    #[test]
    fn rejects_bad_text_with_a_hint() {
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs").unwrap_err().contains("unknown duration unit"));
        assert!(parse_duration("0.5ns").unwrap_err().contains("finer"));
        assert!(parse_size("1.5B").unwrap_err().contains("finer"));
        assert!(parse_bandwidth("fast").unwrap_err().contains("not a bandwidth"));
        assert!(parse_duration("1.2.3s").is_err());
        assert!(parse_duration("99999999999999999999999h").unwrap_err().contains("too large"));
        assert!(parse_throughput("200MB").is_err());
    }

    #[test]
    fn transfer_time_rounds_up() {
        assert_eq!(Bandwidth::BitsPerSec(8_000_000).transfer_time(1_000), SimDuration(1_000_000));
        assert_eq!(Bandwidth::BitsPerSec(3).transfer_time(1), SimDuration(2_666_666_667));
        assert_eq!(Bandwidth::Unlimited.transfer_time(1 << 30), SimDuration::ZERO);
        // Past 2^64 nano-bits the 128-bit path gives the same rounding.
        assert_eq!(Bandwidth::BitsPerSec(8_000_000_000).transfer_time(1 << 34), SimDuration(1 << 34));
        assert_eq!(Bandwidth::BitsPerSec(3).transfer_time(3_000_000_000), SimDuration(8_000_000_000_000_000_000));
        assert_eq!(Throughput::BytesPerSec(1_000).transfer_time(1), SimDuration(1_000_000));
    }

    proptest! {
        #[test]
        fn duration_format_round_trips(nanos in 0u64..u64::MAX / 4) {
            prop_assert_eq!(parse_duration(&format_duration(nanos)), Ok(nanos));
        }

        #[test]
        fn size_and_bandwidth_round_trip(v in 0u64..u64::MAX / 4) {
            prop_assert_eq!(parse_size(&ByteSize(v).to_string()), Ok(v));
            prop_assert_eq!(parse_bandwidth(&Bandwidth::BitsPerSec(v).to_string()), Ok(v));
            prop_assert_eq!(parse_throughput(&Throughput::BytesPerSec(v).to_string()), Ok(Throughput::BytesPerSec(v)));
        }

        #[test]
        fn decimal_text_parses_exactly(int in 0u64..1_000_000, frac in 0u64..1000) {
            let text = format!("{int}.{frac:03}ms");
            prop_assert_eq!(parse_duration(&text), Ok(int * 1_000_000 + frac * 1_000));
        }
    }
}
