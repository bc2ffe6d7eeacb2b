//! The shared store's pure parts that need a clock: how its health rests and recovers.

use std::time::{Duration, Instant};

use onellm_core::store::{StoreHealth, RETRY_AFTER_FAILURE};
use onellm_core::{Error, ErrorKind};

#[test]
fn health_rests_after_a_failure_and_recovers() {
    let start = Instant::now();
    let mut health = StoreHealth::default();
    assert!(health.usable(start));
    health.failed(&Error::new(ErrorKind::Connection, "refused"), start);
    assert!(!health.usable(start + Duration::from_millis(10)));
    assert!(health.usable(start + RETRY_AFTER_FAILURE));
    health.failed(&Error::new(ErrorKind::Connection, "refused"), start);
    health.answered();
    assert!(health.usable(start));
}
