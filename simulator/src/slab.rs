//! A minimal slab: stable `u32` indices into a vector with a free list, so records of in-flight
//! work are reused instead of allocated per event.

/// Storage with reusable `u32` keys.
#[derive(Clone, Debug)]
pub struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { entries: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Stores `value` and returns its key.
    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(key) => {
                self.entries[key as usize] = Some(value);
                key
            }
            None => {
                self.entries.push(Some(value));
                u32::try_from(self.entries.len() - 1).expect("more than 2^32 live slab entries")
            }
        }
    }

    /// Removes and returns the value at `key`.
    ///
    /// # Panics
    /// If `key` is not live: the engine only removes what it inserted, so this is a logic error.
    pub fn remove(&mut self, key: u32) -> T {
        let value = self.entries[key as usize].take().expect("slab key is not live");
        self.free.push(key);
        value
    }

    /// The value at `key`.
    ///
    /// # Panics
    /// If `key` is not live.
    pub fn get(&self, key: u32) -> &T {
        self.entries[key as usize].as_ref().expect("slab key is not live")
    }

    /// Starts loading the entry at `key` into the cache, live or not.
    pub fn prefetch(&self, key: u32) {
        if let Some(entry) = self.entries.get(key as usize) {
            crate::prefetch::prefetch(entry);
        }
    }

    /// The value at `key`, mutably.
    ///
    /// # Panics
    /// If `key` is not live.
    pub fn get_mut(&mut self, key: u32) -> &mut T {
        self.entries[key as usize].as_mut().expect("slab key is not live")
    }
}
