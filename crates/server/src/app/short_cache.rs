//! A small map whose entries live for a fixed, short time: for records read on nearly every
//! protocol request (tenants, clients) that change rarely. A change made through this node empties
//! the cache at once; one made through another node or the CLI is seen within the time to live,
//! which is the bound ARCHITECTURE.md allows for caches ("short-lived or invalidated").
//! Only records that exist are kept, so one created anywhere is found at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Above this many entries the cache starts over, so memory stays bounded.
const MAX_ENTRIES: usize = 10_000;

pub struct ShortCache<K, V> {
    ttl: Duration,
    entries: Arc<RwLock<HashMap<K, (Instant, V)>>>,
}

impl<K, V> Clone for ShortCache<K, V> {
    fn clone(&self) -> Self {
        ShortCache {
            ttl: self.ttl,
            entries: self.entries.clone(),
        }
    }
}

impl<K: Eq + Hash, V: Clone> ShortCache<K, V> {
    pub fn new(ttl: Duration) -> ShortCache<K, V> {
        ShortCache {
            ttl,
            entries: Arc::default(),
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// After this node changed or deleted a record.
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let c: ShortCache<String, u32> = ShortCache::new(Duration::from_millis(50));
        c.put("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        assert_eq!(c.get("b"), None);
        let shared = c.clone();
        shared.clear();
        assert_eq!(c.get("a"), None, "clones share one map");
        c.put("a".into(), 2);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("a"), None, "expired");
    }

    #[test]
    fn stays_bounded() {
        let c: ShortCache<usize, usize> = ShortCache::new(Duration::from_secs(60));
        for i in 0..MAX_ENTRIES + 10 {
            c.put(i, i);
        }
        assert!(c.entries.read().unwrap().len() <= MAX_ENTRIES);
        assert_eq!(c.get(&(MAX_ENTRIES + 9)), Some(MAX_ENTRIES + 9));
    }
}
