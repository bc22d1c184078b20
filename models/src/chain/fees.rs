//! The blob base fee (EIP-4844): it rises by a factor e for every `update_fraction` of blob gas
//! used above the target, accumulated as the chain's excess blob gas, and falls as blocks use less.

use super::config::{BLOB_BYTES, MIN_BLOB_BASE_FEE};

/// `factor · e^(numerator / denominator)` in integers, as the specification computes it (a Taylor
/// series), saturating at `u128::MAX` instead of overflowing.
pub fn fake_exponential(factor: u64, numerator: u64, denominator: u64) -> u128 {
    let denominator = u128::from(denominator);
    let numerator = u128::from(numerator);
    let mut output: u128 = 0;
    let mut accumulator = u128::from(factor) * denominator;
    let mut i: u128 = 1;
    while accumulator > 0 {
        output = match output.checked_add(accumulator) {
            Some(sum) => sum,
            None => return u128::MAX,
        };
        accumulator = match accumulator.checked_mul(numerator) {
            Some(product) => product / (denominator * i),
            None => return u128::MAX,
        };
        i += 1;
    }
    output / denominator
}

/// The blob base fee (wei per blob gas) at `excess` blob gas.
pub fn blob_base_fee(excess: u64, update_fraction: u64) -> u128 {
    fake_exponential(MIN_BLOB_BASE_FEE, excess, update_fraction)
}

/// The excess blob gas after a block that used `blobs` blobs, with `target` the blobs per block
/// the fee aims at.
pub fn next_excess(excess: u64, blobs: u32, target: u32) -> u64 {
    (excess + u64::from(blobs) * BLOB_BYTES).saturating_sub(u64::from(target) * BLOB_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_starts_at_the_minimum_and_grows_by_e_per_update_fraction() {
        assert_eq!(blob_base_fee(0, 3_338_477), 1);
        let fee = blob_base_fee(10 * 3_338_477, 3_338_477);
        // e^10 = 22026.47: the series truncates each term, so the result is within a few units.
        assert!((22_020..=22_027).contains(&fee), "{fee}");
        assert_eq!(fake_exponential(1, u64::MAX, 1), u128::MAX);
    }

    #[test]
    fn excess_follows_use_above_target() {
        assert_eq!(next_excess(0, 6, 3), 3 * BLOB_BYTES);
        assert_eq!(next_excess(3 * BLOB_BYTES, 0, 3), 0);
        assert_eq!(next_excess(BLOB_BYTES, 3, 3), BLOB_BYTES);
    }
}
