//! Transparent huge pages for the store's random-access arrays: the row
//! chunks, the key index and the per-row step stamps. Each lookup or row update touches one random
//! place in memory that is far larger than the TLB covers with 4 KiB
//! pages; with 2 MiB pages a page walk per access becomes rare
//! (docs/performance.md, items 5 and 14).

/// Ask the kernel to back the whole-2-MiB-page part of `v`'s allocation
/// (its capacity, so before first touch too) with transparent huge pages.
/// Advice only: on kernels or systems without them, nothing changes.
#[allow(clippy::ptr_arg)] // the capacity, not only the length, is advised
pub fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 1 << 21;
        let start = v.as_ptr() as usize;
        let aligned = (start + HUGE - 1) & !(HUGE - 1);
        let end = (start + v.capacity() * std::mem::size_of::<T>()) & !(HUGE - 1);
        if end > aligned {
            // SAFETY: advice on a range inside our own allocation; it
            // changes no memory contents.
            unsafe {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                )
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// `n` zeros on advised pages. Zeroed by calloc: fresh memory is not
/// touched until written, so the advice applies before the first touch
/// and unused pages cost nothing.
pub(super) fn zeroed<T: Clone + Default>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    advise_huge_pages(&v);
    v
}

/// `n` copies of `fill` in a vector whose pages are advised huge before
/// they are first written (advice given after the fill would apply only to
/// pages faulted in later).
pub(super) fn filled<T: Clone>(n: usize, fill: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    advise_huge_pages(&v);
    v.resize(n, fill);
    v
}

/// A copy of `src` on advised pages.
pub(super) fn copied<T: Clone>(src: &[T]) -> Vec<T> {
    let mut v = Vec::with_capacity(src.len());
    advise_huge_pages(&v);
    v.extend_from_slice(src);
    v
}

/// `v.push(x)`, growing as `Vec` does (capacity doubling, from 4 up: the
/// memory estimate's formula) into a new advised allocation.
pub(super) fn push<T: Clone>(v: &mut Vec<T>, x: T) {
    if v.len() == v.capacity() {
        let mut grown = Vec::with_capacity((2 * v.capacity()).max(4));
        advise_huge_pages(&grown);
        grown.extend_from_slice(v);
        *v = grown;
    }
    v.push(x);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `push` grows like `Vec::push` (what `StoreMemory::projected` assumes)
    /// and keeps every value.
    #[test]
    fn push_grows_like_vec_push_and_keeps_values() {
        let (mut ours, mut std) = (Vec::new(), Vec::new());
        for i in 0..5000u32 {
            push(&mut ours, i);
            std.push(i);
            assert_eq!(ours.capacity(), std.capacity(), "at {i}");
        }
        assert_eq!(ours, std);
        assert_eq!(copied(&ours), std);
        assert_eq!(filled(3, 7u32), vec![7, 7, 7]);
        assert_eq!(zeroed::<u64>(3), vec![0, 0, 0]);
    }
}
