//! The state cache in front of a replica's disk: the hot part of the state stays in memory, and
//! least recently used keys are evicted first. Entries live in a vector linked as a recency list; the key index is a hash map
//! that is only ever looked up, never iterated, so results do not depend on hashing.

use std::collections::HashMap;

const NONE: u32 = u32::MAX;

#[derive(Clone, Debug)]
struct Entry {
    key: u64,
    newer: u32,
    older: u32,
}

/// An LRU set of keys with hit statistics.
#[derive(Clone, Debug, Default)]
pub struct LruCache {
    capacity: usize,
    index: HashMap<u64, u32>,
    entries: Vec<Entry>,
    newest: u32,
    oldest: u32,
    hits: u64,
    misses: u64,
}

impl LruCache {
    /// A cache holding at most `capacity` keys (0 disables it: every lookup misses).
    pub fn new(capacity: usize) -> Self {
        LruCache { capacity, newest: NONE, oldest: NONE, ..LruCache::default() }
    }

    /// Looks `key` up for a read and makes it the most recent; true on a hit. A miss inserts it
    /// (the caller reads it from disk), evicting the least recently used key when full.
    pub fn read(&mut self, key: u64) -> bool {
        let hit = self.touch(key);
        if hit {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        hit
    }

    /// Records a write of `key`: it becomes the most recent entry without a disk read and without
    /// counting as a hit or a miss.
    pub fn write(&mut self, key: u64) {
        self.touch(key);
    }

    /// Reads served from the cache.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Reads that went to disk.
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Moves or inserts `key` at the front; true if it was present.
    fn touch(&mut self, key: u64) -> bool {
        if self.capacity == 0 {
            return false;
        }
        if let Some(&slot) = self.index.get(&key) {
            self.unlink(slot);
            self.push_front(slot);
            return true;
        }
        let slot = if self.entries.len() < self.capacity {
            self.entries.push(Entry { key, newer: NONE, older: NONE });
            (self.entries.len() - 1) as u32
        } else {
            let victim = self.oldest;
            self.unlink(victim);
            self.index.remove(&self.entries[victim as usize].key);
            self.entries[victim as usize].key = key;
            victim
        };
        self.index.insert(key, slot);
        self.push_front(slot);
        false
    }

    fn unlink(&mut self, slot: u32) {
        let Entry { newer, older, .. } = self.entries[slot as usize];
        match newer {
            NONE => self.newest = older,
            n => self.entries[n as usize].older = older,
        }
        match older {
            NONE => self.oldest = newer,
            o => self.entries[o as usize].newer = newer,
        }
    }

    fn push_front(&mut self, slot: u32) {
        let entry = &mut self.entries[slot as usize];
        entry.newer = NONE;
        entry.older = self.newest;
        if self.newest != NONE {
            self.entries[self.newest as usize].newer = slot;
        }
        self.newest = slot;
        if self.oldest == NONE {
            self.oldest = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used() {
        let mut cache = LruCache::new(2);
        assert!(!cache.read(1));
        assert!(!cache.read(2));
        assert!(cache.read(1)); // 1 is now newer than 2
        assert!(!cache.read(3)); // evicts 2
        assert!(cache.read(1));
        assert!(!cache.read(2));
        assert!(!cache.read(3)); // 3 was evicted by 2
        assert_eq!((cache.hits(), cache.misses()), (2, 5));
    }

    #[test]
    fn writes_refresh_without_counting() {
        let mut cache = LruCache::new(2);
        cache.write(1);
        cache.write(2);
        cache.write(1);
        cache.write(3); // evicts 2
        assert!(cache.read(1));
        assert!(!cache.read(2));
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
    }

    #[test]
    fn zero_capacity_always_misses() {
        let mut cache = LruCache::new(0);
        assert!(!cache.read(1));
        assert!(!cache.read(1));
        assert_eq!(cache.misses(), 2);
    }

    #[test]
    fn matches_a_reference_model() {
        // A naive list-based LRU as the oracle, on a deterministic access pattern.
        let mut cache = LruCache::new(5);
        let mut reference: Vec<u64> = Vec::new();
        let mut x = 17u64;
        for _ in 0..2_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let key = (x >> 33) % 12;
            let expected = reference.contains(&key);
            reference.retain(|&k| k != key);
            reference.insert(0, key);
            reference.truncate(5);
            assert_eq!(cache.read(key), expected, "key {key}");
        }
    }
}
