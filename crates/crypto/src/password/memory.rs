//! The working memory of argon2 runs (19 MiB each at the default parameters), kept and reused.
//!
//! Allocating it for every hash made the allocator keep freed blocks in its per-thread arenas:
//! after a sign-in peak, a server held about twenty of them (some 400 MiB) for good. Taking a
//! buffer from a small pool instead bounds what is kept to [`pool_size`] buffers, and saves the
//! allocation and the zeroing of 19 MiB per hash. argon2 writes every block before it reads it,
//! so a reused buffer needs no clearing between runs.

use std::sync::Mutex;

use argon2::Block;

/// Buffers larger than this (in 1 KiB blocks) are used once and freed, not kept: an imported
/// hash with a large memory cost must not stay resident.
const MAX_KEPT_BLOCKS: usize = 32 * 1024;

/// Idle buffers, ready for the next run.
static POOL: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

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
            .position(|b| b.len() >= blocks)
            .map(|i| pool.swap_remove(i))
    };
    let mut buffer = kept.unwrap_or_else(|| vec![Block::default(); blocks]);
    let result = f(&mut buffer[..blocks]);
    if buffer.len() <= MAX_KEPT_BLOCKS {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < pool_size() {
            pool.push(buffer);
        }
    }
    result
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
        let pool = POOL.lock().unwrap();
        assert!(pool.len() <= pool_size());
        assert!(pool.iter().all(|b| b.len() <= MAX_KEPT_BLOCKS));
    }
}
