//! Sorting a slot's sort words. Most events of a large run sit in slots of several hundred, where
//! a comparison sort spends about ten comparisons per word; a stable radix sort on the words'
//! time bits spends a few passes over them instead. Stability is what makes sorting on time
//! alone enough: the words come in index order, so equal times stay in index order.

use super::{INDEX_BITS, SLOT_BITS};

/// Digits of 7 bits: three passes cover the time bits, and the bucket counts, cleared and summed
/// for every slot, stay small.
const DIGIT_BITS: u32 = 7;
const PASSES: usize = SLOT_BITS.div_ceil(DIGIT_BITS) as usize;
const BUCKETS: usize = 1 << DIGIT_BITS;
/// Below this many words, clearing and summing the bucket counts costs more than comparing.
const SMALL: usize = 128;

/// A radix sorter with its buffers, kept between slots.
#[derive(Default)]
pub(super) struct Sorter {
    scratch: Vec<u64>,
}

/// Digit `pass` (0: lowest) of the time bits of `word`.
fn digit(word: u64, pass: usize) -> usize {
    ((word >> (INDEX_BITS as usize + pass * DIGIT_BITS as usize)) as usize) & (BUCKETS - 1)
}

impl Sorter {
    /// Sorts sort words that are in increasing index order into increasing order.
    pub(super) fn sort(&mut self, words: &mut Vec<u64>) {
        if words.len() < SMALL {
            words.sort_unstable();
            return;
        }
        debug_assert!(u32::try_from(words.len()).is_ok(), "fewer than 2^32 events in one slot");
        let mut starts = [[0u32; BUCKETS]; PASSES];
        for &word in words.iter() {
            for (pass, counts) in starts.iter_mut().enumerate() {
                counts[digit(word, pass)] += 1;
            }
        }
        for counts in &mut starts {
            let mut start = 0;
            for bucket in counts.iter_mut() {
                let n = *bucket;
                *bucket = start;
                start += n;
            }
        }
        self.scratch.resize(words.len(), 0);
        for (pass, next) in starts.iter_mut().enumerate() {
            for &word in words.iter() {
                let at = &mut next[digit(word, pass)];
                self.scratch[*at as usize] = word;
                *at += 1;
            }
            std::mem::swap(words, &mut self.scratch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sort words of entries with these times, in index order.
    fn words<'a>(times: impl Iterator<Item = &'a u64>) -> Vec<u64> {
        times.enumerate().map(|(index, &time)| (time << INDEX_BITS) | index as u64).collect()
    }

    proptest::proptest! {
        /// Words with few distinct times (many ties), in index order, sort as a comparison sort
        /// sorts them, on both sides of the size where the radix sort takes over, and again when
        /// the sorter is reused for another slot.
        #[test]
        fn sorts_like_a_comparison_sort(
            times in proptest::collection::vec(proptest::prop_oneof![0u64..4, 0u64..(1 << SLOT_BITS)], 0..600),
        ) {
            let mut sorter = Sorter::default();
            for mut slot in [words(times.iter()), words(times.iter().rev())] {
                let mut expected = slot.clone();
                expected.sort_unstable();
                sorter.sort(&mut slot);
                proptest::prop_assert_eq!(slot, expected);
            }
        }
    }
}
