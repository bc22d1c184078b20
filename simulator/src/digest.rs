//! A 64-bit digest folded over every dispatched event, so two runs can be compared by one number.

use crate::rng::splitmix64;

/// Order-sensitive running digest of `(time, kind, node)` triples.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0x6368_6169_6E73_696D) // "chainsim"
    }
}

impl Digest {
    /// Folds one dispatched event into the digest.
    #[inline]
    pub fn fold(&mut self, time: u64, kind: u8, node: u32) {
        let word = (u64::from(kind) << 32) | u64::from(node);
        self.0 = splitmix64(self.0 ^ splitmix64(time ^ splitmix64(word)));
    }

    /// The digest value.
    pub fn value(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depends_on_order_and_content() {
        let mut a = Digest::default();
        a.fold(1, 0, 2);
        a.fold(3, 1, 4);
        let mut b = Digest::default();
        b.fold(3, 1, 4);
        b.fold(1, 0, 2);
        assert_ne!(a, b);
        let mut c = Digest::default();
        c.fold(1, 0, 2);
        c.fold(3, 1, 4);
        assert_eq!(a, c);
    }
}
