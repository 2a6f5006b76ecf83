//! The working memory of argon2 runs (19 MiB each at the default parameters), kept and reused.
//!
//! Allocating it for every hash made the allocator keep freed blocks in its per-thread arenas:
//! after a sign-in peak, a server held about twenty of them (some 400 MiB) for good. Taking a
//! buffer from a small pool instead bounds what is kept to [`pool_size`] buffers, and saves the
//! allocation and the zeroing of 19 MiB per hash. argon2 writes every block before it reads it,
//! so a reused buffer needs no clearing between runs. Buffers idle for a while are released
//! ([`release_idle`]), so a server at rest holds none.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Block;

/// Buffers larger than this (in 1 KiB blocks) are used once and freed, not kept: an imported
/// hash with a large memory cost must not stay resident.
const MAX_KEPT_BLOCKS: usize = 32 * 1024;

/// Idle buffers, ready for the next run, each with when it was last used.
static POOL: Mutex<Vec<(Instant, Vec<Block>)>> = Mutex::new(Vec::new());

/// How many idle buffers are kept: one per core, as many hashes as the server runs at once by
/// default (`hash_concurrency`).
fn pool_size() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

/// Runs `f` with `blocks` blocks of working memory, from the pool when one is idle.
pub(crate) fn with_blocks<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let kept = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.iter()
            .position(|(_, b)| b.len() >= blocks)
            .map(|i| pool.swap_remove(i).1)
    };
    let mut buffer = kept.unwrap_or_else(|| new_buffer(blocks));
    let result = f(&mut buffer[..blocks]);
    if buffer.len() <= MAX_KEPT_BLOCKS {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < pool_size() {
            pool.push((Instant::now(), buffer));
        }
    }
    result
}

/// A buffer of `blocks` blocks. On Linux the kernel is asked to back it with 2 MiB pages before it
/// is first touched: argon2 reads its 19 MiB at places that depend on the data, which with 4 KiB
/// pages needs some 4,900 address translations, more than the processor caches, so every switch
/// to another thread on the core evicts them and the hash pays to load them again.
fn new_buffer(blocks: usize) -> Vec<Block> {
    let mut buffer: Vec<Block> = Vec::with_capacity(blocks);
    #[cfg(target_os = "linux")]
    advise_huge_pages(buffer.as_mut_ptr().cast(), blocks * Block::SIZE);
    buffer.resize(blocks, Block::default());
    buffer
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, len: usize) {
    const PAGE: usize = 4096;
    let begin = (start as usize).next_multiple_of(PAGE);
    let end = (start as usize + len) / PAGE * PAGE;
    if end > begin {
        // SAFETY: the range lies inside an allocation this function's caller owns and has not
        // handed out; MADV_HUGEPAGE changes only how the kernel backs it, not its contents. A
        // kernel without transparent huge pages refuses the advice, and that is fine.
        unsafe {
            libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
        }
    }
}

/// Frees the buffers no run has used for `idle`; returns how many bytes were let go. The server
/// calls it every few seconds (and then asks the allocator to return the memory to the system).
pub fn release_idle(idle: Duration) -> usize {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let before: usize = pool.iter().map(|(_, b)| b.len()).sum();
    pool.retain(|(at, _)| at.elapsed() < idle);
    let after: usize = pool.iter().map(|(_, b)| b.len()).sum();
    (before - after) * Block::SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_bounded() {
        for _ in 0..3 {
            with_blocks(64, |b| {
                assert_eq!(b.len(), 64);
            });
        }
        // A smaller run takes a prefix of a kept buffer.
        with_blocks(8, |b| assert_eq!(b.len(), 8));
        // Too large to keep.
        with_blocks(MAX_KEPT_BLOCKS + 1, |b| {
            assert_eq!(b.len(), MAX_KEPT_BLOCKS + 1)
        });
        {
            let pool = POOL.lock().unwrap();
            assert!(pool.len() <= pool_size());
            assert!(pool.iter().all(|(_, b)| b.len() <= MAX_KEPT_BLOCKS));
        }
        // Nothing has been idle for an hour; everything has been idle for no time at all.
        assert_eq!(release_idle(Duration::from_secs(3600)), 0);
        release_idle(Duration::ZERO);
    }
}
