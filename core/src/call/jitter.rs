//! The seeded random source for backoff jitter.
//!
//! The core draws no global randomness: the caller passes a seed to
//! [`Call::new`](super::Call::new), so the same seed gives the same waits (tests, replays) and
//! transports seed from whatever they like. SplitMix64 is small, fast and statistically good
//! enough for spreading retries; it is not for anything secret.

use std::time::Duration;

/// SplitMix64's increment: the state advances by it each draw.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// One SplitMix64 step from `x`: spreads nearby inputs (consecutive counters, close
/// timestamps) over all 64 bits. Also derives each call's seed in
/// [`SeedSequence`](crate::client::SeedSequence).
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Jitter { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let value = splitmix64(self.state);
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        value
    }

    /// A uniformly random duration in `[0, max]`, both ends included, at nanosecond
    /// resolution. Ceilings beyond `u64::MAX` nanoseconds (584 years) are cut to that.
    pub(crate) fn up_to(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        // Multiply-shift maps 64 random bits onto [0, nanos] without modulo bias worth the
        // name; the product of two values below 2^64 fits in u128.
        let span = u128::from(nanos) + 1;
        let scaled = (u128::from(self.next_u64()) * span) >> 64;
        Duration::from_nanos(u64::try_from(scaled).unwrap_or(nanos))
    }
}
