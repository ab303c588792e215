//! A rate shared by threads (`-L` records/s, `-N` MiB/s and TPS): whoever takes units
//! waits until the rate allows them, so the whole run, whatever its threads, stays at or
//! under the rate.
//!
//! A virtual schedule (GCRA): each take moves the time at which the rate is caught up by
//! `units / rate`; a taker waits for the part of it beyond a short burst allowance. Idle
//! time is not saved up past that allowance, so a stall is not followed by a burst.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How far ahead of the rate takers may run before they wait.
const BURST: Duration = Duration::from_millis(20);
/// Waits are cut into slices this long, so a stop request is seen within one.
const SLICE: Duration = Duration::from_millis(20);

#[derive(Debug)]
pub struct Pace {
    per_second: f64,
    /// When the rate is caught up with everything taken so far.
    caught_up: Mutex<Instant>,
}

impl Pace {
    /// None for a rate of 0 (no limit).
    pub fn new(per_second: u64) -> Option<Pace> {
        (per_second > 0).then(|| Pace {
            per_second: per_second as f64,
            caught_up: Mutex::new(Instant::now()),
        })
    }

    pub fn per_second(&self) -> u64 {
        self.per_second as u64
    }

    /// Takes `units`; how long the taker must wait before using them.
    pub fn take(&self, units: u64) -> Duration {
        let now = Instant::now();
        let mut caught_up = self.caught_up.lock().unwrap_or_else(|p| p.into_inner());
        let from = (*caught_up).max(now);
        *caught_up = from + Duration::from_secs_f64(units as f64 / self.per_second);
        caught_up
            .saturating_duration_since(now)
            .saturating_sub(BURST)
    }

    /// Takes `units` and waits as long as the rate asks, in short slices; returns early
    /// (false) once `stop()` says so.
    pub fn wait(&self, units: u64, stop: impl Fn() -> bool) -> bool {
        let wait = self.take(units);
        if wait.is_zero() {
            return true;
        }
        let until = Instant::now() + wait;
        loop {
            if stop() {
                return false;
            }
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(SLICE));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn zero_is_no_limit() {
        assert!(Pace::new(0).is_none());
    }

    #[test]
    fn threads_together_keep_the_rate() {
        // 4 threads taking 100 units each at 1,000/s: about 0.4 s in all, not 0.1 s.
        let pace = Arc::new(Pace::new(1_000).unwrap());
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let pace = pace.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        pace.wait(1, || false);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(400) - BURST, "{took:?}");
    }

    #[test]
    fn idle_time_is_not_saved_up() {
        let pace = Pace::new(100).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        // 30 units after 0.3 s idle: at most the burst allowance is free.
        let mut waited = Duration::ZERO;
        for _ in 0..30 {
            waited += pace.take(1);
        }
        assert!(waited > Duration::from_millis(500), "{waited:?}");
    }

    #[test]
    fn a_stop_ends_the_wait() {
        let pace = Pace::new(1).unwrap();
        let stop = AtomicBool::new(false);
        pace.take(10); // ten seconds ahead
        let start = Instant::now();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(50));
                stop.store(true, Ordering::Relaxed);
            });
            assert!(!pace.wait(1, || stop.load(Ordering::Relaxed)));
        });
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
