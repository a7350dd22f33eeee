//! What is measured and how it adds up: latency histograms, per-second counts, and the exact
//! accounting of which published event reached which subscriber.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch. Every process of a run is on one machine, so a send time
/// written into a payload by one process can be compared with the receive time in another.
pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A histogram of microseconds, from 1 µs to one hour, at three significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// A histogram as (value, count) pairs: how workers send theirs to the coordinator.
pub fn to_pairs(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect()
}

/// Adds pairs from [`to_pairs`] into `h`.
pub fn add_pairs(h: &mut Histogram<u64>, pairs: &[(u64, u64)]) {
    for &(value, count) in pairs {
        // Values come from a histogram of the same bounds, so they fit.
        let _ = h.record_n(value.max(1), count);
    }
}

/// Percentiles of a histogram of microseconds, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// Counts per Unix second (deliveries, connects), summed across workers for the charts.
pub type PerSecond = BTreeMap<u64, u64>;

pub fn add_per_second(into: &mut PerSecond, from: &PerSecond) {
    for (second, n) in from {
        *into.entry(*second).or_default() += n;
    }
}

/// Errors or closes by kind.
pub type Tally = BTreeMap<String, u64>;

pub fn add_tally(into: &mut Tally, from: &Tally) {
    for (key, n) in from {
        *into.entry(key.clone()).or_default() += n;
    }
}

/// The accounting of one run (or one subscriber): every event a publisher had acknowledged
/// must reach every subscriber exactly once, in the order it was published.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Acknowledged events × subscribers that should have received them.
    pub expected: u64,
    /// Of those, received (at least once).
    pub received: u64,
    /// Of those, never received.
    pub lost: u64,
    /// Receptions of an event already received.
    pub duplicated: u64,
    /// Receptions of an event older than one already received from the same publisher.
    pub out_of_order: u64,
    /// Events of this run received that no publisher had acknowledged (its reply was lost);
    /// not an error: such an event may or may not have been applied.
    pub unacknowledged: u64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.expected += other.expected;
        self.received += other.received;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.out_of_order += other.out_of_order;
        self.unacknowledged += other.unacknowledged;
    }
}

/// What one subscriber received of each publisher's numbered events.
#[derive(Debug, Clone, Default)]
pub struct Received {
    /// Per publisher, a bit per event number.
    seen: Vec<Vec<u64>>,
    /// Per publisher, the highest event number received.
    last: Vec<u32>,
    duplicated: u64,
    out_of_order: u64,
    /// Distinct events received, to tell quickly whether everything is in.
    distinct: u64,
}

impl Received {
    /// Notes event `seq` of `publisher`; returns false when it is a duplicate.
    pub fn note(&mut self, publisher: usize, seq: u32) -> bool {
        if self.seen.len() <= publisher {
            self.seen.resize(publisher + 1, Vec::new());
            self.last.resize(publisher + 1, 0);
        }
        let bits = &mut self.seen[publisher];
        let (word, bit) = (seq as usize / 64, seq % 64);
        if bits.len() <= word {
            bits.resize(word + 1, 0);
        }
        if bits[word] & (1 << bit) != 0 {
            self.duplicated += 1;
            return false;
        }
        bits[word] |= 1 << bit;
        self.distinct += 1;
        if seq < self.last[publisher] {
            self.out_of_order += 1;
        } else {
            self.last[publisher] = seq;
        }
        true
    }

    pub fn has(&self, publisher: usize, seq: u32) -> bool {
        self.seen
            .get(publisher)
            .and_then(|bits| bits.get(seq as usize / 64))
            .is_some_and(|word| word & (1 << (seq % 64)) != 0)
    }

    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    /// Whether every acknowledged event (`acked[publisher]` lists event numbers) is in.
    pub fn complete(&self, acked: &[Vec<u32>]) -> bool {
        let total: usize = acked.iter().map(Vec::len).sum();
        self.distinct >= total as u64
            && acked
                .iter()
                .enumerate()
                .all(|(p, seqs)| seqs.iter().all(|&s| self.has(p, s)))
    }

    /// This subscriber's accounting against the acknowledged events.
    pub fn counts(&self, acked: &[Vec<u32>]) -> Counts {
        let mut counts = Counts {
            duplicated: self.duplicated,
            out_of_order: self.out_of_order,
            ..Counts::default()
        };
        for (p, seqs) in acked.iter().enumerate() {
            for &s in seqs {
                counts.expected += 1;
                if self.has(p, s) {
                    counts.received += 1;
                } else {
                    counts.lost += 1;
                }
            }
        }
        counts.unacknowledged = self.distinct.saturating_sub(counts.received);
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_counts_loss_duplicates_and_disorder() {
        let mut r = Received::default();
        assert!(r.note(0, 1));
        assert!(r.note(0, 3));
        assert!(!r.note(0, 3));
        assert!(r.note(0, 2)); // late
        assert!(r.note(1, 70));
        assert!(r.note(0, 9)); // never acknowledged
        let acked = vec![vec![1, 2, 3, 4], vec![70]];
        let c = r.counts(&acked);
        assert_eq!(
            c,
            Counts {
                expected: 5,
                received: 4,
                lost: 1,
                duplicated: 1,
                out_of_order: 1,
                unacknowledged: 1,
            }
        );
        assert!(!r.complete(&acked));
        r.note(0, 4);
        assert!(r.complete(&acked));
    }

    #[test]
    fn histogram_pairs_round_trip() {
        let mut h = histogram();
        for v in [5, 100, 100, 2_000, 1_000_000] {
            h.record(v).unwrap();
        }
        let mut back = histogram();
        add_pairs(&mut back, &to_pairs(&h));
        assert_eq!(Percentiles::of(&back), Percentiles::of(&h));
        assert_eq!(Percentiles::of(&back).count, 5);
    }
}
