//! Each call's jitter seed, drawn from one sequence per client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::call::jitter::splitmix64;

/// Hands every call of a client its own backoff-jitter seed.
///
/// From the builder's seed if one was given (so retry timing is reproducible), else from the
/// wall-clock time the transport passes with each call; mixed with a per-client counter either
/// way, so concurrent calls that failed together do not back off in lockstep. An atomic
/// counter, no lock: it is on every call's path.
#[derive(Debug)]
pub struct SeedSequence {
    fixed: Option<u64>,
    calls: AtomicU64,
}

impl SeedSequence {
    /// A sequence from `fixed`, or from the wall clock when `None`.
    pub fn new(fixed: Option<u64>) -> Self {
        SeedSequence {
            fixed,
            calls: AtomicU64::new(0),
        }
    }

    /// The seed of the next call, started at wall-clock time `wall_clock`.
    pub fn next(&self, wall_clock: SystemTime) -> u64 {
        let count = self.calls.fetch_add(1, Ordering::Relaxed);
        let base = self.fixed.unwrap_or_else(|| {
            wall_clock
                .duration_since(UNIX_EPOCH)
                .map(|since| since.as_nanos() as u64)
                .unwrap_or(0)
        });
        splitmix64(base ^ splitmix64(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_per_call_and_repeat_per_fixed_seed() {
        let epoch = UNIX_EPOCH;
        let seeds = SeedSequence::new(Some(7));
        let (a, b) = (seeds.next(epoch), seeds.next(epoch));
        assert_ne!(a, b);
        assert_eq!(SeedSequence::new(Some(7)).next(epoch), a);
        // Without a fixed seed the clock decides.
        let later = epoch + std::time::Duration::from_nanos(1);
        let unseeded = SeedSequence::new(None);
        assert_ne!(unseeded.next(epoch), SeedSequence::new(None).next(later));
    }
}
