//! Tallies of matching messages from distinct replicas (quorum certificates).

/// Distinct replicas, as a bit set.
#[derive(Clone, Debug, Default)]
struct Voters {
    bits: Vec<u64>,
    count: usize,
}

impl Voters {
    /// Adds `replica`; false if it had voted already.
    fn insert(&mut self, replica: u32) -> bool {
        let (word, bit) = (replica as usize / 64, 1u64 << (replica % 64));
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        if self.bits[word] & bit != 0 {
            return false;
        }
        self.bits[word] |= bit;
        self.count += 1;
        true
    }
}

/// Votes for digests: how many distinct replicas sent each value.
#[derive(Clone, Debug, Default)]
pub struct Votes {
    tallies: Vec<(u64, Voters)>,
}

impl Votes {
    /// Records `replica`'s vote for `digest`; returns the number of distinct voters for it.
    pub fn add(&mut self, digest: u64, replica: u32) -> usize {
        let index = match self.tallies.iter().position(|(d, _)| *d == digest) {
            Some(i) => i,
            None => {
                self.tallies.push((digest, Voters::default()));
                self.tallies.len() - 1
            }
        };
        let voters = &mut self.tallies[index].1;
        voters.insert(replica);
        voters.count
    }

    /// Distinct voters for `digest`.
    pub fn count(&self, digest: u64) -> usize {
        self.tallies.iter().find(|(d, _)| *d == digest).map_or(0, |(_, v)| v.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_voters_per_digest() {
        let mut votes = Votes::default();
        assert_eq!(votes.add(7, 1), 1);
        assert_eq!(votes.add(7, 1), 1);
        assert_eq!(votes.add(7, 70), 2);
        assert_eq!(votes.add(8, 2), 1);
        assert_eq!((votes.count(7), votes.count(8), votes.count(9)), (2, 1, 0));
    }
}
