//! Feature keys: (field, value) -> a stable 64-bit key.
//!
//! xxh3 with fixed seeds is specified byte-for-byte, so keys are identical
//! across runs, machines, thread counts and crate versions. The field enters
//! through its *name* (hashed into the seed), not its position, so adding or
//! dropping another column does not change a field's keys.

use std::hash::{BuildHasherDefault, Hasher};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The fixed seed of every field seed ("ctr-run\0" as bytes).
pub const KEY_SEED: u64 = 0x6374_722d_7275_6e00;

/// The per-field seed: a hash of the field's name.
#[inline]
pub fn field_seed(field_name: &str) -> u64 {
    xxh3_64_with_seed(field_name.as_bytes(), KEY_SEED)
}

/// The key of value bytes `value` in the field whose seed is `seed`.
#[inline]
pub fn key_with_seed(seed: u64, value: &[u8]) -> u64 {
    xxh3_64_with_seed(value, seed)
}

/// The key of `(field_name, value)`, as the encoder computes it.
pub fn feature_key(field_name: &str, value: &str) -> u64 {
    key_with_seed(field_seed(field_name), value.as_bytes())
}

/// The field's "rare" key (features below `min_count`). Its value bytes are
/// not valid UTF-8, and real values always are (the reader checks), so it
/// cannot collide with a real value's key except by a 64-bit hash accident.
pub fn rare_key(field_name: &str) -> u64 {
    key_with_seed(field_seed(field_name), b"\xff<rare>")
}

/// Fold a key into `buckets` buckets (the hashing trick).
#[inline]
pub fn fold_key(key: u64, buckets: u64) -> u64 {
    key % buckets
}

/// A hasher for maps keyed by feature keys, which are already uniform hashes:
/// one multiply is enough, and much faster than SipHash.
#[derive(Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    #[inline]
    fn write_u64(&mut self, k: u64) {
        // Keys are uniform already; the multiply spreads the low bits that
        // hashbrown uses for buckets and the high bits it uses for tags.
        self.0 = k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub type KeyBuild = BuildHasherDefault<KeyHasher>;
pub type KeySet = std::collections::HashSet<u64, KeyBuild>;
pub type KeyMap<V> = std::collections::HashMap<u64, V, KeyBuild>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pinned() {
        // Pinned against the C reference (Debian's libxxhash 0.8.1), called
        // from Python with ctypes:
        //   f = CDLL("libxxhash.so.0").XXH3_64bits_withSeed
        //   fs = f(b"site_id", 7, 0x6374722d72756e00)   -> 0xb446653d779f15a
        //   f(b"1fbe01fe", 8, fs)                      -> 16719356019315624763
        //   f(b"00", 2, f(b"hour", 4, SEED))           -> 10556758481509337125
        //   c1 = f(b"C1", 2, SEED); f(b"", 0, c1)      -> 1704282764998566346
        //   f(b"\xff<rare>", 7, c1)                    -> 9589483919186607589
        // A change here changes every key (caches, checkpoints, truth files).
        assert_eq!(field_seed("site_id"), 0x0b44_6653_d779_f15a);
        assert_eq!(feature_key("site_id", "1fbe01fe"), 16719356019315624763);
        assert_eq!(feature_key("hour", "00"), 10556758481509337125);
        assert_eq!(feature_key("C1", ""), 1704282764998566346);
        assert_eq!(rare_key("C1"), 9589483919186607589);
        assert_ne!(
            feature_key("site_id", "1fbe01fe"),
            feature_key("site_domain", "1fbe01fe")
        );
        assert_eq!(fold_key(10, 3), 1);
    }
}
