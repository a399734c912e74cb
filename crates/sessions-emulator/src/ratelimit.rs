//! Slack-style rate limits: one token bucket per (caller, method).
//!
//! Slack states limits per minute per method per token ("Tier 2: 20+ per minute") and tolerates
//! bursts within that minute. We model that as a token bucket whose refill rate is the tier's
//! per-minute budget and whose capacity (the burst) defaults to the same budget: an idle caller
//! may spend a whole minute's calls back to back, then gets one call every `60 / per_minute`
//! seconds. Arithmetic is exact integers so `Retry-After` never drifts by a rounding error.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use sessions_wire::{
    AuthRevoke, AuthTest, Method, RateTier, SessionClearSettings, SessionGetSettings,
    SessionInvalidate, SessionList, SessionReset, SessionResetBulk, SessionSetSettings, UsersInfo,
    UsersList, UsersLookupByEmail, METHOD_NAMES,
};

use crate::EmulatorError;

/// Whether and how calls are rate limited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum RateLimitMode {
    /// No limits at all (the default).
    #[default]
    #[value(help = "No rate limits (unless a --rate-limit-file names some methods)")]
    Off,
    /// Every method limited by its Slack tier; overrides replace a method's tier limit.
    #[value(help = "Each method's Slack tier, per token and method")]
    Slack,
    /// Only methods with an override are limited (set by a rate-limit file, not a flag).
    #[value(skip)]
    Custom,
}

/// One method's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Sustained calls per minute (the refill rate). At least 1.
    pub per_minute: u32,
    /// Calls allowed back to back from a full bucket. At least 1; defaults to `per_minute`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl Limit {
    /// A limit of `per_minute` whose burst is the whole minute's budget.
    pub fn per_minute(per_minute: u32) -> Limit {
        Limit {
            per_minute,
            burst: None,
        }
    }

    /// The same limit with an explicit burst.
    pub fn with_burst(self, burst: u32) -> Limit {
        Limit {
            burst: Some(burst),
            ..self
        }
    }

    /// The bucket's capacity.
    pub fn capacity(&self) -> u32 {
        self.burst.unwrap_or(self.per_minute)
    }

    /// A method's Slack tier limit.
    pub fn for_tier(tier: RateTier) -> Limit {
        Limit::per_minute(tier.per_minute())
    }

    fn validate(&self, method: &str) -> Result<(), EmulatorError> {
        if self.per_minute == 0 {
            return Err(EmulatorError::Invalid(format!(
                "{method}: per_minute must be at least 1"
            )));
        }
        if self.burst == Some(0) {
            return Err(EmulatorError::Invalid(format!(
                "{method}: burst must be at least 1"
            )));
        }
        Ok(())
    }
}

/// The rate-limit settings: a mode plus per-method overrides. This is also the shape of the
/// control API's `/rate-limits` and of a rate-limit file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// The mode.
    #[serde(default)]
    pub mode: RateLimitMode,
    /// Per-method limits, keyed by method name.
    #[serde(default)]
    pub overrides: BTreeMap<String, Limit>,
}

impl RateLimitSettings {
    /// Checks every override names a known method and has sane numbers.
    pub fn validate(&self) -> Result<(), EmulatorError> {
        for (method, limit) in &self.overrides {
            if !METHOD_NAMES.contains(&method.as_str()) {
                return Err(EmulatorError::Invalid(format!(
                    "unknown method {method:?} in rate-limit overrides; known: {}",
                    METHOD_NAMES.join(", ")
                )));
            }
            limit.validate(method)?;
        }
        Ok(())
    }

    /// Reads a rate-limit file: JSON, either a bare map of overrides
    /// (`{"admin.users.session.list": {"per_minute": 5, "burst": 1}}`) or the full settings
    /// shape (`{"mode": "slack", "overrides": {...}}`). A bare map leaves the mode unset
    /// (`None`) so the caller's configured mode stands.
    pub fn from_file(
        path: &Path,
    ) -> Result<(Option<RateLimitMode>, BTreeMap<String, Limit>), EmulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| EmulatorError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse_file(&text).map_err(|message| EmulatorError::File {
            path: path.to_owned(),
            message,
        })
    }

    fn parse_file(text: &str) -> Result<(Option<RateLimitMode>, BTreeMap<String, Limit>), String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let full_shape = value
            .as_object()
            .is_some_and(|o| o.contains_key("mode") || o.contains_key("overrides"));
        let (mode, overrides) = if full_shape {
            let s: RateLimitSettings = serde_json::from_value(value).map_err(|e| e.to_string())?;
            (Some(s.mode), s.overrides)
        } else {
            let o: BTreeMap<String, Limit> =
                serde_json::from_value(value).map_err(|e| e.to_string())?;
            (None, o)
        };
        RateLimitSettings {
            mode: RateLimitMode::Off,
            overrides: overrides.clone(),
        }
        .validate()
        .map_err(|e| e.to_string())?;
        Ok((mode, overrides))
    }
}

/// A method's Slack tier, for the methods this project implements.
pub fn tier_of(method: &str) -> Option<RateTier> {
    macro_rules! tiers {
        ($($m:ty),*) => {
            match method {
                $(<$m as Method>::NAME => Some(<$m as Method>::TIER),)*
                _ => None,
            }
        };
    }
    tiers!(
        SessionList,
        SessionInvalidate,
        SessionReset,
        SessionResetBulk,
        SessionGetSettings,
        SessionSetSettings,
        SessionClearSettings,
        AuthTest,
        AuthRevoke,
        UsersLookupByEmail,
        UsersInfo,
        UsersList
    )
}

// One token is this many units; refilling adds `per_minute` units per elapsed nanosecond, so a
// minute's refill is exactly `per_minute` tokens with no fractions.
const UNITS_PER_TOKEN: u128 = 60_000_000_000;
// Past this many buckets, full ones are dropped (they carry no state a fresh bucket lacks).
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    units: u128,
    last: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    settings: RateLimitSettings,
    buckets: HashMap<(String, String), Bucket>,
}

/// Token buckets keyed by (caller key, method). Cloning shares the state.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    inner: Arc<Mutex<Inner>>,
}

impl RateLimiter {
    /// A limiter with the given settings (validated).
    pub fn new(settings: RateLimitSettings) -> Result<RateLimiter, EmulatorError> {
        settings.validate()?;
        Ok(RateLimiter {
            inner: Arc::new(Mutex::new(Inner {
                settings,
                buckets: HashMap::new(),
            })),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data; keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current settings.
    pub fn settings(&self) -> RateLimitSettings {
        self.lock().settings.clone()
    }

    /// Replaces the settings (validated first; nothing changes on error) and empties every
    /// bucket, so a new limit starts from a full bucket.
    pub fn set_settings(&self, settings: RateLimitSettings) -> Result<(), EmulatorError> {
        settings.validate()?;
        let mut inner = self.lock();
        inner.settings = settings;
        inner.buckets.clear();
        Ok(())
    }

    /// Forgets every bucket (all callers start full).
    pub fn reset(&self) {
        self.lock().buckets.clear();
    }

    /// The limit that applies to `method` now, if any.
    pub fn limit_for(&self, method: &str) -> Option<Limit> {
        Self::effective(&self.lock().settings, method)
    }

    fn effective(settings: &RateLimitSettings, method: &str) -> Option<Limit> {
        match settings.mode {
            RateLimitMode::Off => None,
            RateLimitMode::Custom => settings.overrides.get(method).copied(),
            RateLimitMode::Slack => settings
                .overrides
                .get(method)
                .copied()
                .or_else(|| tier_of(method).map(Limit::for_tier)),
        }
    }

    /// Every limited method's effective limit under the current settings, burst spelled out.
    pub fn effective_limits(&self) -> BTreeMap<String, Limit> {
        let inner = self.lock();
        METHOD_NAMES
            .iter()
            .filter_map(|m| {
                let l = Self::effective(&inner.settings, m)?;
                Some((m.to_string(), l.with_burst(l.capacity())))
            })
            .collect()
    }

    /// Takes one call from `key`'s bucket for `method` at time `now`. On refusal returns how
    /// long to wait, in whole seconds rounded up and at least one (what `Retry-After` carries).
    /// A refused call takes nothing from the bucket.
    ///
    /// `now` is injectable so tests (and the emulator's adjustable [`crate::Clock`]) decide
    /// what time it is; a `now` earlier than the bucket's last look counts as no time passing.
    pub fn check(&self, key: &str, method: &str, now: Instant) -> Result<(), Duration> {
        let mut inner = self.lock();
        let Some(limit) = Self::effective(&inner.settings, method) else {
            return Ok(());
        };
        let capacity = u128::from(limit.capacity()) * UNITS_PER_TOKEN;
        let rate = u128::from(limit.per_minute);
        if inner.buckets.len() >= PRUNE_AT {
            Self::prune(&mut inner, now);
        }
        let bucket = inner
            .buckets
            .entry((key.to_owned(), method.to_owned()))
            .or_insert(Bucket {
                units: capacity,
                last: now,
            });
        let elapsed = now.saturating_duration_since(bucket.last).as_nanos();
        bucket.units = bucket
            .units
            .saturating_add(elapsed.saturating_mul(rate))
            .min(capacity);
        // Always move the reference, also backwards: after the clock is set back, refills count
        // from the new time instead of freezing until real time catches up.
        bucket.last = now;
        if bucket.units >= UNITS_PER_TOKEN {
            bucket.units -= UNITS_PER_TOKEN;
            return Ok(());
        }
        let missing = UNITS_PER_TOKEN - bucket.units;
        let wait_ns = missing.div_ceil(rate);
        let secs = wait_ns.div_ceil(1_000_000_000).max(1);
        Err(Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX)))
    }

    fn prune(inner: &mut Inner, now: Instant) {
        let settings = inner.settings.clone();
        inner.buckets.retain(|(_, method), b| {
            let Some(limit) = Self::effective(&settings, method) else {
                return false;
            };
            let capacity = u128::from(limit.capacity()) * UNITS_PER_TOKEN;
            let elapsed = now.saturating_duration_since(b.last).as_nanos();
            b.units
                .saturating_add(elapsed.saturating_mul(u128::from(limit.per_minute)))
                < capacity
        });
    }
}

/// The answer Slack gives a rate-limited call: HTTP 429, `Retry-After: <seconds>` and
/// `{"ok":false,"error":"ratelimited"}`.
pub fn ratelimited_response(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut resp = (
        StatusCode::TOO_MANY_REQUESTS,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        r#"{"ok":false,"error":"ratelimited"}"#,
    )
        .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slack() -> RateLimiter {
        RateLimiter::new(RateLimitSettings {
            mode: RateLimitMode::Slack,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn tier2_allows_a_minute_of_calls_then_one_every_three_seconds() {
        let rl = slack();
        let t0 = Instant::now();
        for _ in 0..20 {
            rl.check("k", "admin.users.session.list", t0).unwrap();
        }
        assert_eq!(
            rl.check("k", "admin.users.session.list", t0),
            Err(Duration::from_secs(3))
        );
        // 1 s later two seconds are still missing.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            rl.check("k", "admin.users.session.list", t1),
            Err(Duration::from_secs(2))
        );
        let t3 = t0 + Duration::from_secs(3);
        rl.check("k", "admin.users.session.list", t3).unwrap();
        assert!(rl.check("k", "admin.users.session.list", t3).is_err());
    }

    #[test]
    fn buckets_are_per_key_and_method() {
        let rl = slack();
        let t = Instant::now();
        for _ in 0..20 {
            rl.check("a", "admin.users.session.reset", t).unwrap();
        }
        assert!(rl.check("a", "admin.users.session.reset", t).is_err());
        rl.check("b", "admin.users.session.reset", t).unwrap();
        rl.check("a", "admin.users.session.list", t).unwrap();
    }

    #[test]
    fn off_mode_and_unknown_methods_are_unlimited() {
        let rl = RateLimiter::default();
        let t = Instant::now();
        for _ in 0..1000 {
            rl.check("k", "admin.users.session.list", t).unwrap();
        }
        let rl = slack();
        for _ in 0..1000 {
            rl.check("k", "chat.postMessage", t).unwrap();
        }
    }

    #[test]
    fn custom_mode_limits_only_overridden_methods() {
        let mut overrides = BTreeMap::new();
        overrides.insert("auth.test".to_owned(), Limit::per_minute(1));
        let rl = RateLimiter::new(RateLimitSettings {
            mode: RateLimitMode::Custom,
            overrides,
        })
        .unwrap();
        let t = Instant::now();
        rl.check("k", "auth.test", t).unwrap();
        assert_eq!(rl.check("k", "auth.test", t), Err(Duration::from_secs(60)));
        for _ in 0..100 {
            rl.check("k", "admin.users.session.list", t).unwrap();
        }
    }

    #[test]
    fn earlier_now_counts_as_no_time() {
        let rl = RateLimiter::new(RateLimitSettings {
            mode: RateLimitMode::Custom,
            overrides: [("auth.test".to_owned(), Limit::per_minute(60).with_burst(1))].into(),
        })
        .unwrap();
        let t = Instant::now() + Duration::from_secs(100);
        rl.check("k", "auth.test", t).unwrap();
        assert!(rl
            .check("k", "auth.test", t - Duration::from_secs(50))
            .is_err());
        // Time went back 50 s: the reference moved, so one more second refills a call.
        rl.check("k", "auth.test", t - Duration::from_secs(49))
            .unwrap();
        assert!(rl
            .check("k", "auth.test", t - Duration::from_secs(49))
            .is_err());
    }

    #[test]
    fn file_accepts_both_shapes_and_rejects_typos() {
        let (mode, o) = RateLimitSettings::parse_file(
            r#"{"admin.users.session.list": {"per_minute": 5, "burst": 1}}"#,
        )
        .unwrap();
        assert_eq!(mode, None);
        assert_eq!(
            o["admin.users.session.list"],
            Limit::per_minute(5).with_burst(1)
        );
        let (mode, o) = RateLimitSettings::parse_file(
            r#"{"mode": "custom", "overrides": {"auth.test": {"per_minute": 2}}}"#,
        )
        .unwrap();
        assert_eq!(mode, Some(RateLimitMode::Custom));
        assert_eq!(o["auth.test"].capacity(), 2);
        let err =
            RateLimitSettings::parse_file(r#"{"admin.users.session.lst": {"per_minute": 5}}"#)
                .unwrap_err();
        assert!(err.contains("admin.users.session.lst"), "{err}");
        let err = RateLimitSettings::parse_file(r#"{"auth.test": {"per_minute": 0}}"#).unwrap_err();
        assert!(err.contains("per_minute"), "{err}");
        let err = RateLimitSettings::parse_file(r#"{"auth.test": {"per_min": 3}}"#).unwrap_err();
        assert!(err.contains("per_min"), "{err}");
    }

    #[test]
    fn tiers_match_the_wire_crate() {
        assert_eq!(tier_of("admin.users.session.list"), Some(RateTier::Tier2));
        assert_eq!(
            tier_of("admin.users.session.getSettings"),
            Some(RateTier::Tier4)
        );
        assert_eq!(tier_of("auth.test"), Some(RateTier::AuthTest));
        assert_eq!(tier_of("users.lookupByEmail"), Some(RateTier::Tier3));
        assert_eq!(tier_of("users.info"), Some(RateTier::Tier4));
        assert_eq!(tier_of("users.list"), Some(RateTier::Tier2));
        assert_eq!(tier_of("auth.revoke"), Some(RateTier::Tier3));
        assert_eq!(tier_of("nope"), None);
        assert!(METHOD_NAMES.iter().all(|m| tier_of(m).is_some()));
    }
}
