//! Where a line's delimiters are, found eight bytes at a time.
//!
//! Why: a raw row is ~24 short cells (Avazu's average is ~6 bytes), and a
//! `memchr` call per cell paid its set-up for each: ~24% of a parse-only
//! pass (docs/performance.md item 16). One pass over the line's 64-bit
//! words finds every delimiter with a few integer operations per word.

/// The positions of `delim` in `line`, in increasing order: the same as
/// `memchr::memchr_iter(delim, line)`.
pub struct Delimiters<'a> {
    line: &'a [u8],
    splat: u64,
    /// Start of the next word to scan.
    next: usize,
    /// Start of the word `found` describes.
    base: usize,
    /// Bit 8i + 7 set: byte i of the word at `base` is the delimiter.
    found: u64,
}

const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

impl<'a> Delimiters<'a> {
    pub fn new(delim: u8, line: &'a [u8]) -> Self {
        Delimiters {
            line,
            splat: u64::from_le_bytes([delim; 8]),
            next: 0,
            base: 0,
            found: 0,
        }
    }

    /// The delimiter bits of the word at `at` (bytes past the line's end are
    /// taken as non-delimiters).
    #[inline(always)]
    fn word_at(&self, at: usize) -> u64 {
        let word = match self.line.get(at..at + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
            None => {
                let mut w = [!self.splat as u8; 8];
                w[..self.line.len() - at].copy_from_slice(&self.line[at..]);
                u64::from_le_bytes(w)
            }
        };
        // A byte of x is zero exactly where the word has the delimiter. Its
        // low 7 bits plus 0x7f carry into bit 7 unless they are all zero,
        // and no sum carries into the next byte, so the test is exact per
        // byte (the usual `(x - 0x01..) & !x` can flag a byte after a match).
        let x = word ^ self.splat;
        !(((x & LOW7) + LOW7) | x) & !LOW7
    }
}

impl Iterator for Delimiters<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            if self.next >= self.line.len() {
                return None;
            }
            self.base = self.next;
            self.found = self.word_at(self.next);
            self.next += 8;
        }
        let byte = (self.found.trailing_zeros() / 8) as usize;
        self.found &= self.found - 1;
        Some(self.base + byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Every byte value as delimiter and as content, lines of every length
    /// around the word size, runs of delimiters and delimiters at both ends:
    /// the positions are memchr's.
    #[test]
    fn positions_are_memchrs() {
        let mut r = SplitMix64::new(7);
        for len in 0..40 {
            for _ in 0..200 {
                let delim = (r.next_u64() % 256) as u8;
                let line: Vec<u8> = (0..len)
                    .map(|_| match r.next_u64() % 4 {
                        0 => delim,
                        1 => delim ^ 0x80,
                        2 => delim.wrapping_add(1),
                        _ => (r.next_u64() % 256) as u8,
                    })
                    .collect();
                let want: Vec<usize> = memchr::memchr_iter(delim, &line).collect();
                let got: Vec<usize> = Delimiters::new(delim, &line).collect();
                assert_eq!(got, want, "delim {delim:#x} in {line:?}");
            }
        }
        let csv = b"1000,1,14102100,,a,,";
        let got: Vec<usize> = Delimiters::new(b',', csv).collect();
        assert_eq!(got, vec![4, 6, 15, 16, 18, 19]);
    }
}
