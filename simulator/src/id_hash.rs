//! A hasher for keys that are already unique integers (sequence numbers, timer ids): one
//! multiplication instead of SipHash. Only for maps and sets that are looked up, never iterated,
//! so their order cannot reach results.

use std::hash::{BuildHasherDefault, Hasher};

/// Mixes each written integer into the state with one multiplication by a 64-bit odd constant.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Builds [`IdHasher`]s for `HashMap` and `HashSet`.
pub type BuildIdHasher = BuildHasherDefault<IdHasher>;
