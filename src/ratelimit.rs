//! Per-client-address rate limits (GCRA from `governor`) and the client address itself.
//!
//! Limiter state is per process: it is a brake on abuse, not data that must survive a restart
//! or be shared (DESIGN.md allows caches in memory). Behind a load balancer each instance
//! brakes on its own, so the effective limit is N times the configured one.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

/// Past this many tracked addresses, idle ones are dropped so memory stays bounded.
const PRUNE_ABOVE: usize = 10_000;

pub struct AddressRateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl AddressRateLimiter {
    /// `per_minute` requests per address per minute, all of which may come at once.
    pub fn per_minute(per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            limiter: RateLimiter::keyed(quota),
        }
    }

    /// `Ok` when the address may go on; otherwise the whole seconds to wait (for `Retry-After`).
    pub fn check(&self, address: IpAddr) -> Result<(), u64> {
        if self.limiter.len() > PRUNE_ABOVE {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&address).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The address of the client: the TCP peer, unless the peer is a trusted proxy, in which case
/// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries further
/// left were written by the client and cannot be believed.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let peer_ip = peer.ip().to_canonical();
    if !trusted(&peer_ip) {
        return peer_ip;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    // Walk from the nearest hop outwards; stop at the first address no trusted proxy vouches
    // for, or at anything unparsable (then the last address we could trust is used).
    let mut client = peer_ip;
    for entry in entries.iter().rev() {
        let Ok(ip) = entry.trim().parse::<IpAddr>() else {
            return client;
        };
        client = ip.to_canonical();
        if !trusted(&client) {
            return client;
        }
    }
    client
}

/// Failed-login throttling for one kind of key (an account name or a client address): after
/// `slow_after` recent failures each further failure is answered more slowly, and after
/// `lock_after` the key is refused with 429 until `window` has passed since the last failure.
pub struct FailureThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
    slow_after: u32,
    lock_after: u32,
    window: std::time::Duration,
}

impl FailureThrottle {
    pub fn new(slow_after: u32, lock_after: u32, window: std::time::Duration) -> Self {
        Self {
            failures: std::sync::Mutex::new(std::collections::HashMap::new()),
            slow_after,
            lock_after,
            window,
        }
    }

    fn with_map<T>(
        &self,
        f: impl FnOnce(&mut std::collections::HashMap<String, (u32, std::time::Instant)>) -> T,
    ) -> T {
        let mut guard = match self.failures.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Recent failures of `key` (those older than the window are forgotten).
    fn recent(&self, key: &str) -> u32 {
        self.with_map(|map| match map.get(key) {
            Some((count, last)) if last.elapsed() < self.window => *count,
            _ => 0,
        })
    }

    /// `Err(seconds)` while the key is locked out.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.with_map(|map| match map.get(key) {
            Some((count, last)) if *count >= self.lock_after && last.elapsed() < self.window => {
                Err(self.window.saturating_sub(last.elapsed()).as_secs().max(1))
            }
            _ => Ok(()),
        })
    }

    /// Records a failure and returns how long to wait before answering it.
    pub fn fail(&self, key: &str) -> std::time::Duration {
        let count = self.recent(key) + 1;
        self.with_map(|map| {
            if map.len() > PRUNE_ABOVE {
                map.retain(|_, (_, last)| last.elapsed() < self.window);
            }
            map.insert(key.to_string(), (count, std::time::Instant::now()));
        });
        let over = count.saturating_sub(self.slow_after);
        std::time::Duration::from_millis(u64::from(over.min(8)) * 250)
    }

    pub fn succeed(&self, key: &str) {
        self.with_map(|map| map.remove(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let nets: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers("6.6.6.6, 1.2.3.4, 10.0.0.2");
        assert_eq!(
            client_address(proxy, &h, &nets),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_address(proxy, &h, &[]),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        let direct: SocketAddr = "9.9.9.9:1".parse().unwrap();
        assert_eq!(
            client_address(direct, &h, &nets),
            "9.9.9.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_address(proxy, &headers("garbage"), &nets),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_address(proxy, &headers("6.6.6.6, garbage, 1.2.3.4"), &nets),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn failure_throttle_slows_then_locks() {
        let t = FailureThrottle::new(2, 4, std::time::Duration::from_secs(60));
        assert_eq!(t.fail("a"), std::time::Duration::ZERO);
        assert_eq!(t.fail("a"), std::time::Duration::ZERO);
        assert!(t.fail("a") > std::time::Duration::ZERO);
        assert!(t.check("a").is_ok());
        t.fail("a");
        assert!(t.check("a").is_err());
        assert!(t.check("b").is_ok());
        t.succeed("a");
        assert!(t.check("a").is_ok());
    }

    #[test]
    fn limiter_allows_the_quota_then_says_when() {
        let limiter = AddressRateLimiter::per_minute(3);
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        for _ in 0..3 {
            assert!(limiter.check(ip).is_ok());
        }
        let wait = limiter.check(ip).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(limiter.check("1.2.3.5".parse().unwrap()).is_ok());
    }
}
