//! Sliding windows: how many failures, and how many distinct accounts, per key within the last
//! N seconds. Each window keeps at most [`MAX_ENTRIES`] timestamps (counts saturate long before),
//! and a map of windows sheds expired keys, then its least recently used ones, past a key limit.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use crate::Timestamp;

/// Entries kept per window; every default ramp is full far below this.
pub const MAX_ENTRIES: usize = 2048;

/// Event times within a window, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Counter {
    times: VecDeque<Timestamp>,
}

impl Counter {
    fn prune(&mut self, cutoff: Timestamp) {
        while self.times.front().is_some_and(|t| *t <= cutoff) {
            self.times.pop_front();
        }
    }

    /// Adds an event; one older than the newest (counted by another node and learned late) takes
    /// its place in time order, so the window still slides correctly.
    pub fn add(&mut self, at: Timestamp) {
        if self.times.back().is_some_and(|t| *t > at) {
            let pos = self.times.partition_point(|t| *t <= at);
            self.times.insert(pos, at);
        } else {
            self.times.push_back(at);
        }
        if self.times.len() > MAX_ENTRIES {
            self.times.pop_front();
        }
    }

    /// Events after `cutoff`.
    pub fn count(&mut self, cutoff: Timestamp) -> usize {
        self.prune(cutoff);
        self.times.len()
    }

    fn newest(&self) -> Option<Timestamp> {
        self.times.back().copied()
    }
}

/// Distinct members (e.g. accounts, by a 64-bit hash) within a window.
#[derive(Clone, Debug, Default)]
pub struct Distinct {
    entries: VecDeque<(Timestamp, u64)>,
    counts: HashMap<u64, u32>,
}

impl Distinct {
    fn pop(&mut self) {
        if let Some((_, m)) = self.entries.pop_front()
            && let Some(c) = self.counts.get_mut(&m)
        {
            *c -= 1;
            if *c == 0 {
                self.counts.remove(&m);
            }
        }
    }

    fn prune(&mut self, cutoff: Timestamp) {
        while self.entries.front().is_some_and(|(t, _)| *t <= cutoff) {
            self.pop();
        }
    }

    /// Adds an event (in time order, like [`Counter::add`]).
    pub fn add(&mut self, at: Timestamp, member: u64) {
        if self.entries.back().is_some_and(|(t, _)| *t > at) {
            let pos = self.entries.partition_point(|(t, _)| *t <= at);
            self.entries.insert(pos, (at, member));
        } else {
            self.entries.push_back((at, member));
        }
        *self.counts.entry(member).or_default() += 1;
        if self.entries.len() > MAX_ENTRIES {
            self.pop();
        }
    }

    /// Distinct members after `cutoff`, not counting `except`.
    pub fn count(&mut self, cutoff: Timestamp, except: Option<u64>) -> usize {
        self.prune(cutoff);
        let n = self.counts.len();
        match except {
            Some(e) if self.counts.contains_key(&e) => n - 1,
            _ => n,
        }
    }

    fn newest(&self) -> Option<Timestamp> {
        self.entries.back().map(|(t, _)| *t)
    }
}

/// The time of a window's newest entry (for shedding idle keys).
pub trait Newest {
    fn newest_at(&self) -> Option<Timestamp>;
}
impl Newest for Counter {
    fn newest_at(&self) -> Option<Timestamp> {
        self.newest()
    }
}
impl Newest for Distinct {
    fn newest_at(&self) -> Option<Timestamp> {
        self.newest()
    }
}

/// Windows by key, bounded in keys.
#[derive(Clone, Debug)]
pub struct Windows<K, W> {
    map: HashMap<K, W>,
    max_keys: usize,
}

impl<K: Eq + Hash + Clone, W: Default> Windows<K, W> {
    pub fn new(max_keys: usize) -> Self {
        Windows {
            map: HashMap::new(),
            max_keys: max_keys.max(1),
        }
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut W> {
        self.map.get_mut(k)
    }

    pub fn remove(&mut self, k: &K) {
        self.map.remove(k);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl<K: Eq + Hash + Clone, W: Default + Newest> Windows<K, W> {
    /// The window of `k`, created when missing (shedding keys first when the map is full).
    pub fn entry(&mut self, k: K, cutoff: Timestamp) -> &mut W {
        if !self.map.contains_key(&k) && self.map.len() >= self.max_keys {
            self.shed(cutoff);
        }
        self.map.entry(k).or_default()
    }

    /// Drops windows whose newest entry is past `cutoff`; if still at least 90% full, drops the
    /// least recently used half.
    fn shed(&mut self, cutoff: Timestamp) {
        self.map
            .retain(|_, w| w.newest_at().is_some_and(|t| t > cutoff));
        if self.map.len() * 10 >= self.max_keys * 9 {
            let mut newest: Vec<(Timestamp, K)> = self
                .map
                .iter()
                .filter_map(|(k, w)| w.newest_at().map(|t| (t, k.clone())))
                .collect();
            newest.sort_by_key(|(t, _)| *t);
            for (_, k) in newest.iter().take(newest.len() / 2) {
                self.map.remove(k);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    #[test]
    fn counters_slide() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut c = Counter::default();
        for i in 0..5 {
            c.add(t0 + Duration::minutes(i * 10));
        }
        // At 0:45 with a 30-minute window: the events at 0:20, 0:30 and 0:40.
        assert_eq!(c.count(t0 + Duration::minutes(15)), 3);
        assert_eq!(c.count(t0 + Duration::minutes(41)), 0);
    }

    #[test]
    fn distinct_members_slide() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut d = Distinct::default();
        d.add(t0, 1);
        d.add(t0 + Duration::minutes(1), 2);
        d.add(t0 + Duration::minutes(2), 1);
        d.add(t0 + Duration::minutes(3), 3);
        assert_eq!(d.count(t0 - Duration::minutes(1), None), 3);
        assert_eq!(d.count(t0 - Duration::minutes(1), Some(2)), 2);
        assert_eq!(d.count(t0 - Duration::minutes(1), Some(9)), 3);
        // After 0:01:30 only accounts 1 (again at 0:02) and 3 remain.
        assert_eq!(d.count(t0 + Duration::seconds(90), None), 2);
    }

    #[test]
    fn late_events_take_their_place_in_time() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut c = Counter::default();
        c.add(t0 + Duration::minutes(10));
        c.add(t0);
        c.add(t0 + Duration::minutes(5));
        assert_eq!(c.count(t0 + Duration::minutes(1)), 2);
        assert_eq!(c.count(t0 + Duration::minutes(6)), 1);
        let mut d = Distinct::default();
        d.add(t0 + Duration::minutes(10), 1);
        d.add(t0, 2);
        assert_eq!(d.count(t0 + Duration::minutes(1), None), 1);
    }

    #[test]
    fn windows_are_bounded() {
        let t0 = datetime!(2026-01-01 0:00 UTC);
        let mut w: Windows<u32, Counter> = Windows::new(100);
        for i in 0..1000u32 {
            let now = t0 + Duration::seconds(i64::from(i));
            w.entry(i, now - Duration::hours(1)).add(now);
        }
        assert!(w.len() <= 100, "{}", w.len());
        // The newest keys survive.
        assert!(w.get_mut(&999).is_some());
        let mut c = Counter::default();
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            c.add(t0 + Duration::milliseconds(i));
        }
        assert_eq!(c.count(t0 - Duration::hours(1)), MAX_ENTRIES);
    }
}
