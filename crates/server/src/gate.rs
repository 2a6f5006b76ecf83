//! The admission gate in front of password hashing. Argon2id is deliberately expensive in CPU and
//! memory, so at most `concurrency` hashes run at once and at most `queue` sign-ins wait (in FIFO
//! order: tokio's semaphore is fair). A sign-in peak turns into queueing and then into fast 503s,
//! never into memory exhaustion.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

pub struct HashGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    pinning: Option<Arc<Pinning>>,
}

/// `hash_pinning`: whether each running hash keeps to one CPU of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinningMode {
    /// Pinned when the process may use exactly as many CPUs as it is given to use
    /// (`available_parallelism`, which counts a cgroup CPU quota) and there are at least as many
    /// as hashes run at once: a dedicated machine or an exclusive CPU set, not a share of a
    /// larger host, where the pinned CPU might be another workload's.
    Auto,
    /// Pinned whenever there are at least as many CPUs as hashes run at once.
    On,
    Off,
}

impl PinningMode {
    pub fn parse(v: &str) -> Option<PinningMode> {
        match v {
            "auto" => Some(PinningMode::Auto),
            "on" => Some(PinningMode::On),
            "off" => Some(PinningMode::Off),
            _ => None,
        }
    }

    /// Whether to pin, given the CPUs of the affinity mask, the parallelism the process is given
    /// and the hashes run at once.
    fn applies(self, mask_cpus: usize, available: usize, concurrency: usize) -> bool {
        match self {
            PinningMode::Off => false,
            PinningMode::On => concurrency <= mask_cpus,
            PinningMode::Auto => mask_cpus == available && concurrency <= mask_cpus,
        }
    }
}

/// Each running hash on a CPU of its own (Linux only).
///
/// A hash is some 15–25 ms of work on a 19 MiB buffer. Left to the scheduler, a hashing thread
/// that another thread preempts may be resumed on the other core, away from the caches that hold
/// its recent blocks; pinned, it resumes where it was. Measured on a 2-core machine with SQLite
/// (whole sign-in flows in alternating runs, docs/performance.md): 4–8 % more flows a second,
/// and the server's share of the machine up from about 186 % to 194 % of a core; with
/// PostgreSQL on the same two cores, no gain. The thread's own CPU set is restored after the
/// hash, so the blocking pool's other work is not affected.
pub struct Pinning {
    /// The CPUs of the process's affinity mask when the server started.
    cpus: Vec<usize>,
    /// Which of `cpus` a running hash holds.
    busy: std::sync::Mutex<Vec<bool>>,
    #[cfg(target_os = "linux")]
    original: libc::cpu_set_t,
}

impl Pinning {
    #[cfg(target_os = "linux")]
    fn detect(mode: PinningMode, concurrency: usize) -> Option<Pinning> {
        // SAFETY: a zeroed cpu_set_t is a valid empty set, which sched_getaffinity fills for the
        // calling thread (0).
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let r =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        if r != 0 {
            return None;
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `c` is below CPU_SETSIZE, inside the set.
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
            .collect();
        let available = std::thread::available_parallelism().map_or(1, usize::from);
        if !mode.applies(cpus.len(), available, concurrency) {
            return None;
        }
        Some(Pinning {
            busy: std::sync::Mutex::new(vec![false; cpus.len()]),
            cpus,
            original: set,
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn detect(_mode: PinningMode, _concurrency: usize) -> Option<Pinning> {
        None
    }

    /// Pins the calling thread to a free CPU (the one it runs on when that one is free) and
    /// returns its index; `None` when none is free or the kernel refused.
    fn pin(&self) -> Option<usize> {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: no arguments; returns the CPU the calling thread runs on, or -1.
            let here = unsafe { libc::sched_getcpu() };
            let slot = {
                let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
                let here = self.cpus.iter().position(|&c| c as i32 == here);
                let slot = here
                    .filter(|&i| !busy[i])
                    .or_else(|| busy.iter().position(|b| !b))?;
                busy[slot] = true;
                slot
            };
            // SAFETY: an empty set gets one CPU below CPU_SETSIZE, then applies to this thread.
            let ok = unsafe {
                let mut one: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(self.cpus[slot], &mut one);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &one) == 0
            };
            if ok {
                Some(slot)
            } else {
                self.free(slot);
                None
            }
        }
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// Gives the calling thread its CPU set back and frees `slot`.
    fn unpin(&self, slot: usize) {
        #[cfg(target_os = "linux")]
        // SAFETY: `original` is the set read at start; applies to the calling thread.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.original);
        }
        self.free(slot);
    }

    fn free(&self, slot: usize) {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy[slot] = false;
    }
}

/// A CPU a running hash holds; given back when dropped.
struct Pinned<'a>(&'a Pinning, usize);

impl Drop for Pinned<'_> {
    fn drop(&mut self) {
        self.0.unpin(self.1);
    }
}

/// The queue is full; the caller answers 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl HashGate {
    pub fn new(concurrency: usize, max_waiting: usize, pinning: PinningMode) -> HashGate {
        let pinning = Pinning::detect(pinning, concurrency.max(1)).map(Arc::new);
        if let Some(p) = &pinning {
            tracing::info!(
                cpus = p.cpus.len(),
                hashes_at_once = concurrency,
                "each password hash runs on a CPU of its own (hash_pinning)"
            );
        }
        HashGate {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            pinning,
        }
    }

    /// Whether running hashes are pinned to CPUs of their own.
    pub fn pins(&self) -> bool {
        self.pinning.is_some()
    }

    /// Number of callers waiting for a slot (exported as a metric).
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Whether a sign-in arriving now would be turned away: every slot busy and the queue full.
    /// Callers check it before their other work (database reads, the risk engine), so that in a
    /// storm a refusal costs next to nothing and the cores stay with the hashes. [`HashGate::run`]
    /// still decides.
    pub fn is_full(&self) -> bool {
        self.permits.available_permits() == 0
            && self.waiting.load(Ordering::SeqCst) >= self.max_waiting
    }

    /// Runs `work` on the blocking pool once a slot is free.
    pub async fn run<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Overloaded> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                let before = self.waiting.fetch_add(1, Ordering::SeqCst);
                if before >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Overloaded);
                }
                metrics::gauge!("tessera_hash_queue_depth").set((before + 1) as f64);
                let acquired = self.permits.clone().acquire_owned().await;
                let after = self.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
                metrics::gauge!("tessera_hash_queue_depth").set(after as f64);
                // The semaphore is never closed, so acquisition only fails if that invariant breaks.
                acquired.map_err(|_| Overloaded)?
            }
        };
        let pinning = self.pinning.clone();
        let result = tokio::task::spawn_blocking(move || {
            // Unpinned when dropped, after the work or during a panic's unwinding.
            let pinned = pinning
                .as_deref()
                .and_then(|p| p.pin().map(|slot| Pinned(p, slot)));
            let started = std::time::Instant::now();
            let r = work();
            // The hash's own time in its slot, without the wait for the slot.
            metrics::histogram!("tessera_password_hash_seconds")
                .record(started.elapsed().as_secs_f64());
            drop(pinned);
            drop(permit);
            r
        })
        .await;
        // A panic inside a hash computation is a bug; surface it as overload rather than crash the request task.
        result.map_err(|_| Overloaded)
    }
}

/// Sign-ins the gate turned away, counted per tenant for the audit trail. The first refusal of
/// a tenant after each flush is audited in full as it happens (`signin.failed`, reason
/// `overloaded`, with its IP and user agent); the ones after it are only counted, and every
/// second [`RefusalTally::take`] hands their number to one entry per tenant (detail `refused`).
/// In a storm five times the sign-in capacity, an entry for each refusal cost the hashes about a
/// tenth of the machine (docs/performance.md); the metric `tessera_signins_total` still counts
/// each one.
#[derive(Default)]
pub struct RefusalTally {
    /// Per tenant with a refusal since the last flush: how many came after its first.
    counts: std::sync::Mutex<std::collections::HashMap<tessera_core::TenantId, u64>>,
}

impl RefusalTally {
    /// Counts a refusal; `true` when it is the tenant's first since the last flush, which the
    /// caller audits in full.
    pub fn count(&self, tenant: tessera_core::TenantId) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        match counts.get_mut(&tenant) {
            Some(after_first) => {
                *after_first += 1;
                false
            }
            None => {
                counts.insert(tenant, 0);
                true
            }
        }
    }

    /// The refusals counted after each tenant's first, since the last call (tenants with none
    /// left out); the next refusal of every tenant is a first again.
    pub fn take(&self) -> Vec<(tessera_core::TenantId, u64)> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.drain().filter(|(_, n)| *n > 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bounded_concurrency_and_queue() {
        let gate = Arc::new(HashGate::new(1, 2, PinningMode::Off));
        let running = Arc::new(AtomicUsize::new(0));
        let max_seen = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (g, r, m, rx) = (
                gate.clone(),
                running.clone(),
                max_seen.clone(),
                release_rx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                g.run(move || {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    let _ = rx.lock().map(|rx| rx.recv_timeout(Duration::from_secs(5)));
                    r.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        // Wait until one runs and two wait; a fourth caller must be refused at once.
        for _ in 0..500 {
            if gate.queue_depth() == 2 {
                break;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(gate.queue_depth(), 2);
        assert!(gate.is_full());
        assert_eq!(gate.run(|| ()).await, Err(Overloaded));
        for _ in 0..3 {
            release_tx.send(()).unwrap();
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(max_seen.load(Ordering::SeqCst), 1);
        assert_eq!(gate.queue_depth(), 0);
        assert!(!gate.is_full());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_is_refused_and_the_gate_goes_on() {
        let gate = HashGate::new(1, 4, PinningMode::Off);
        let panicked = gate.run(|| -> u32 { panic!("a bug inside a hash") }).await;
        assert_eq!(panicked, Err(Overloaded));
        assert_eq!(gate.run(|| 7).await, Ok(7));
        assert_eq!(gate.queue_depth(), 0);
        assert!(!gate.is_full());
    }

    // One runtime thread: each task has registered as a waiter by the time the next is spawned.
    #[tokio::test(flavor = "current_thread")]
    async fn waiting_sign_ins_are_served_in_the_order_they_came() {
        let gate = Arc::new(HashGate::new(1, 16, PinningMode::Off));
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        // Hold the only slot until the others wait behind it.
        let first = {
            let g = gate.clone();
            tokio::spawn(async move {
                g.run(move || {
                    let _ = release_rx.recv_timeout(Duration::from_secs(5));
                })
                .await
            })
        };
        while gate.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let mut rest = Vec::new();
        for i in 0..8 {
            let (g, o) = (gate.clone(), order.clone());
            rest.push(tokio::spawn(async move {
                g.run(move || o.lock().unwrap().push(i)).await
            }));
            while gate.queue_depth() < i + 1 {
                tokio::task::yield_now().await;
            }
        }
        release_tx.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        for t in rest {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn pinning_applies_only_where_the_cpus_are_the_process_own() {
        use PinningMode::*;
        // A dedicated 2-core machine: pinned.
        assert!(Auto.applies(2, 2, 2));
        // A quota of 2 CPUs on a 64-CPU host: the pinned CPU could be another workload's.
        assert!(!Auto.applies(64, 2, 2));
        assert!(On.applies(64, 2, 2));
        // More hashes at once than CPUs: never.
        assert!(!Auto.applies(2, 2, 3));
        assert!(!On.applies(2, 2, 3));
        assert!(!Off.applies(2, 2, 2));
        assert_eq!(PinningMode::parse("auto"), Some(Auto));
        assert_eq!(PinningMode::parse("sometimes"), None);
    }

    #[cfg(target_os = "linux")]
    fn cpus_of_this_thread() -> usize {
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let r =
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        assert_eq!(r, 0);
        unsafe { libc::CPU_COUNT(&set) as usize }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_hash_runs_on_one_cpu_and_gives_the_thread_back() {
        let before = cpus_of_this_thread();
        let pinning = Pinning::detect(PinningMode::On, 1).expect("one CPU at least");
        let slot = pinning.pin().expect("a free CPU");
        assert_eq!(cpus_of_this_thread(), 1, "pinned to one CPU");
        if before >= 2 {
            // A second hash at the same time gets another CPU.
            let other = std::thread::scope(|s| {
                s.spawn(|| {
                    let slot = pinning.pin().expect("a second free CPU");
                    let cpu = pinning.cpus[slot];
                    pinning.unpin(slot);
                    cpu
                })
                .join()
                .unwrap()
            });
            assert_ne!(other, pinning.cpus[slot], "two hashes, two CPUs");
        }
        pinning.unpin(slot);
        assert_eq!(
            cpus_of_this_thread(),
            before,
            "the thread's CPU set is restored"
        );
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_gate_runs_pinned_jobs() {
        let gate = HashGate::new(1, 4, PinningMode::On);
        assert!(gate.pins());
        assert_eq!(gate.run(cpus_of_this_thread).await, Ok(1));
        // A job that panics gives its CPU back: the next ones are pinned again.
        let panicked = gate
            .run(|| -> usize { panic!("a bug inside a hash") })
            .await;
        assert_eq!(panicked, Err(Overloaded));
        for _ in 0..3 {
            assert_eq!(gate.run(cpus_of_this_thread).await, Ok(1));
        }
        let p = gate.pinning.as_ref().expect("pinning");
        assert!(p.busy.lock().unwrap().iter().all(|b| !b), "every CPU free");
        assert_eq!(gate.queue_depth(), 0);
        let unpinned = HashGate::new(1, 4, PinningMode::Off);
        assert!(!unpinned.pins());
    }

    #[test]
    fn refusals_after_the_first_are_counted_until_taken() {
        let tally = RefusalTally::default();
        let (a, b) = (tessera_core::TenantId::new(), tessera_core::TenantId::new());
        assert!(
            tally.count(a),
            "the first refusal of a tenant is audited in full"
        );
        assert!(!tally.count(a));
        assert!(!tally.count(a));
        assert!(tally.count(b));
        // b had only its first: nothing left to report for it.
        assert_eq!(tally.take(), vec![(a, 2)]);
        assert!(tally.take().is_empty());
        assert!(
            tally.count(a),
            "after a flush the next refusal is a first again"
        );
    }
}
