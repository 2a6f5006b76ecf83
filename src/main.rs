//! The `tessera` command: runs the server and administers the configured deployment directly
//! (works on the database itself, also while servers are running).

mod cli;

use std::process::ExitCode;

/// mimalloc instead of the C library's allocator: the server allocates and frees many small
/// buffers per request on every worker thread, where glibc's malloc spent about 7 % of the
/// server's samples (`_int_malloc`, `_int_free`, `malloc_consolidate`) under client-credentials
/// load; see docs/performance-history.md. Built without transparent huge pages (`no_thp`): with them,
/// mimalloc's eagerly committed arenas were backed by 2 MiB pages and the idle server kept
/// 80–93 MiB resident instead of 55.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
