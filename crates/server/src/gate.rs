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
}

/// The queue is full; the caller answers 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overloaded;

impl HashGate {
    pub fn new(concurrency: usize, max_waiting: usize) -> HashGate {
        HashGate {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
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
        let result = tokio::task::spawn_blocking(move || {
            let r = work();
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
        let gate = Arc::new(HashGate::new(1, 2));
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
        let gate = HashGate::new(1, 4);
        let panicked = gate.run(|| -> u32 { panic!("a bug inside a hash") }).await;
        assert_eq!(panicked, Err(Overloaded));
        assert_eq!(gate.run(|| 7).await, Ok(7));
        assert_eq!(gate.queue_depth(), 0);
        assert!(!gate.is_full());
    }

    // One runtime thread: each task has registered as a waiter by the time the next is spawned.
    #[tokio::test(flavor = "current_thread")]
    async fn waiting_sign_ins_are_served_in_the_order_they_came() {
        let gate = Arc::new(HashGate::new(1, 16));
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
