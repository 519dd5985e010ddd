//! Attempt limits for what costs us a password hash or could guess one:
//! signing in, signing up, changing a password. An attempt is counted the
//! moment it starts, in the same lock as the check, so a burst of concurrent
//! guesses cannot all pass the check before the first failure is recorded; a
//! success gives its attempt back. Memory is bounded, and IPv6 clients are
//! counted per /64, the block one household or host usually gets.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A sliding-window limit of `limit` attempts per key per `window`.
pub struct Throttle {
    window: Duration,
    limit: usize,
    max_keys: usize,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// One counted attempt; give it back with [`Throttle::refund`] when it succeeded.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    keys: Vec<(String, Instant)>,
}

/// The key a client address is counted under.
pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "ip:unknown".to_owned(),
    }
}

impl Throttle {
    /// Keys kept at most: enough for a busy day, small enough to never matter (a few MB).
    pub const DEFAULT_MAX_KEYS: usize = 100_000;

    pub fn new(window: Duration, limit: usize) -> Self {
        Self::with_capacity(window, limit, Self::DEFAULT_MAX_KEYS)
    }

    pub fn with_capacity(window: Duration, limit: usize, max_keys: usize) -> Self {
        Self { window, limit: limit.max(1), max_keys: max_keys.max(1), attempts: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt under every key, or, if any key is at its limit, counts
    /// nothing and says how many seconds until that key has room again.
    pub fn try_attempt(&self, keys: &[&str]) -> Result<Attempt, u64> {
        let now = Instant::now();
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None::<Duration>;
        for key in keys {
            if let Some(times) = map.get_mut(*key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    times.pop_front();
                }
                if times.len() >= self.limit {
                    let oldest = times.front().copied().unwrap_or(now);
                    let left = self.window.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(left, |w| w.max(left)));
                }
            }
        }
        if let Some(wait) = wait {
            return Err(wait.as_secs().max(1));
        }
        if map.len() + keys.len() > self.max_keys {
            self.make_room(&mut map, now);
        }
        for key in keys {
            map.entry((*key).to_owned()).or_default().push_back(now);
        }
        Ok(Attempt { keys: keys.iter().map(|k| ((*k).to_owned(), now)).collect() })
    }

    /// Gives back an attempt that succeeded: it no longer counts against its keys.
    pub fn refund(&self, attempt: Attempt) {
        let mut map = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        for (key, at) in attempt.keys {
            if let Some(times) = map.get_mut(&key) {
                if let Some(i) = times.iter().rposition(|t| *t == at) {
                    times.remove(i);
                }
                if times.is_empty() {
                    map.remove(&key);
                }
            }
        }
    }

    /// Drops keys whose attempts all left the window; if that is not enough
    /// (a flood of new addresses), drops the keys idle longest. Forgetting a
    /// key lets its client try again sooner, which beats refusing everyone.
    fn make_room(&self, map: &mut HashMap<String, VecDeque<Instant>>, now: Instant) {
        map.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        if map.len() >= self.max_keys {
            let mut by_age: Vec<(Instant, String)> =
                map.iter().map(|(k, times)| (times.back().copied().unwrap_or(now), k.clone())).collect();
            by_age.sort_unstable();
            let excess = map.len() + 1 - self.max_keys / 2;
            for (_, key) in by_age.into_iter().take(excess) {
                map.remove(&key);
            }
        }
    }

    pub fn tracked_keys(&self) -> usize {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_key_is_refused_at_its_limit_and_a_refund_gives_room_back() {
        let t = Throttle::new(Duration::from_secs(60), 3);
        let mut last = None;
        for _ in 0..3 {
            last = Some(t.try_attempt(&["account:a"]).unwrap());
        }
        assert!(t.try_attempt(&["account:a"]).is_err());
        assert!(t.try_attempt(&["account:b"]).is_ok(), "other keys are unaffected");
        t.refund(last.unwrap());
        assert!(t.try_attempt(&["account:a"]).is_ok());
    }

    #[test]
    fn a_refused_attempt_counts_under_none_of_its_keys() {
        let t = Throttle::new(Duration::from_secs(60), 1);
        let _ = t.try_attempt(&["ip:1"]).unwrap();
        assert!(t.try_attempt(&["ip:1", "account:x"]).is_err());
        assert!(t.try_attempt(&["account:x"]).is_ok(), "the refused attempt did not use up account:x");
    }

    #[test]
    fn concurrent_attempts_never_pass_the_limit_together() {
        let t = Arc::new(Throttle::new(Duration::from_secs(60), 10));
        let passed: usize = (0..8)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || (0..50).filter(|_| t.try_attempt(&["account:a"]).is_ok()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(passed, 10);
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(Some(a)), address_key(Some(b)));
        assert_ne!(address_key(Some(a)), address_key(Some(c)));
        assert_eq!(address_key(Some("::ffff:10.0.0.1".parse().unwrap())), "ip:10.0.0.1");
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_keys() {
        let t = Throttle::with_capacity(Duration::from_secs(60), 5, 1000);
        for n in 0..10_000 {
            let _ = t.try_attempt(&[&format!("ip:{n}")]).unwrap();
        }
        assert!(t.tracked_keys() <= 1000, "{} keys", t.tracked_keys());
        assert!(t.try_attempt(&["ip:9999"]).is_ok(), "recent keys are kept");
    }
}
