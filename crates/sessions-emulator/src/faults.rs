//! Fault injection: rules that make chosen calls fail, slow down or lose their connection.
//!
//! Rules are checked in the order they were added. Every matching delay rule that fires adds
//! its delay; the first matching error/status/drop rule that fires ends the check (rules after
//! it are not consulted, so they neither spend a use nor draw a random number). Probabilistic
//! rules draw from one `StdRng` seeded with a fixed seed, so the same seed and the same call
//! sequence give the same faults.

use std::sync::{Arc, Mutex, PoisonError};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sessions_wire::METHOD_NAMES;

use crate::EmulatorError;

/// Longest delay a rule may inject (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;
/// Most rules held at once.
pub const MAX_RULES: usize = 1000;

/// What a fault does to a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer HTTP 200 `{"ok":false,"error":<error>}`.
    Error {
        /// The Slack error code.
        error: String,
    },
    /// Answer this HTTP status with `{"ok":false,"error":<error>}`.
    Status {
        /// The HTTP status (400..=599).
        status: u16,
        /// The body's error code.
        error: String,
        /// A `Retry-After` header to send, in seconds.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
    },
    /// Wait, then carry on normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Close the connection without an answer.
    Drop,
}

impl FaultAction {
    fn is_terminal(&self) -> bool {
        !matches!(self, FaultAction::Delay { .. })
    }

    /// A short description (`error invalid_auth`, `status 503`, `delay 250ms`, `drop`).
    pub fn describe(&self) -> String {
        match self {
            FaultAction::Error { error } => format!("error {error}"),
            FaultAction::Status { status, .. } => format!("status {status}"),
            FaultAction::Delay { ms } => format!("delay {ms}ms"),
            FaultAction::Drop => "drop".to_owned(),
        }
    }
}

/// When a rule fires.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Trigger {
    /// On each of the next matching calls, then the rule is removed.
    Times {
        /// Uses left.
        times: u32,
    },
    /// On each matching call with this probability (seeded).
    Probability {
        /// 0 < p <= 1.
        probability: f64,
    },
    /// On every matching call until removed.
    Always {},
}

/// A fault rule as listed by the control API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRule {
    /// Identifier, for `DELETE /faults/{id}`; never reused within a process.
    pub id: u64,
    /// The method it applies to, or `*` for all.
    pub method: String,
    /// What it does.
    #[serde(flatten)]
    pub action: FaultAction,
    /// When it fires.
    #[serde(flatten)]
    pub trigger: Trigger,
    /// Whether it strikes after the call was carried out (its answer is then discarded), rather
    /// than before.
    pub after: bool,
    /// How many times it fired so far.
    pub fired: u64,
}

/// A rule as written by a user (`POST /faults`). Exactly one of `times` / `probability` or
/// neither (every call). Fields that do not belong to the action are refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Method name or `*` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `error`, `status`, `delay` or `drop`.
    pub action: String,
    /// Error code (`error`: required; `status`: optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// HTTP status (`status` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Retry-After seconds (`status` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay in milliseconds (`delay` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
    /// Fire on the next N matching calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire with this probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Strike after the call ran.
    #[serde(default)]
    pub after: bool,
}

fn invalid(msg: impl Into<String>) -> EmulatorError {
    EmulatorError::Invalid(msg.into())
}

fn check_code(code: &str) -> Result<(), EmulatorError> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "error {code:?} is not a Slack-style code (lowercase letters, digits, _; at most 64)"
        )))
    }
}

impl FaultSpec {
    /// Checks the spec and turns it into an action, trigger and method.
    fn build(self) -> Result<(String, FaultAction, Trigger, bool), EmulatorError> {
        let method = self.method.unwrap_or_else(|| "*".to_owned());
        if method != "*" && !METHOD_NAMES.contains(&method.as_str()) {
            return Err(invalid(format!(
                "unknown method {method:?}; use \"*\" or one of: {}",
                METHOD_NAMES.join(", ")
            )));
        }
        let refuse = |field: &str, present: bool| -> Result<(), EmulatorError> {
            if present {
                Err(invalid(format!(
                    "field `{field}` does not apply to action {:?}",
                    self.action
                )))
            } else {
                Ok(())
            }
        };
        let action = match self.action.as_str() {
            "error" => {
                refuse("status", self.status.is_some())?;
                refuse("retry_after", self.retry_after.is_some())?;
                refuse("ms", self.ms.is_some())?;
                let error = self
                    .error
                    .clone()
                    .ok_or_else(|| invalid("action error needs `error`"))?;
                check_code(&error)?;
                FaultAction::Error { error }
            }
            "status" => {
                refuse("ms", self.ms.is_some())?;
                let status = self
                    .status
                    .ok_or_else(|| invalid("action status needs `status`"))?;
                if !(400..=599).contains(&status) {
                    return Err(invalid(format!("status {status} is not in 400..=599")));
                }
                let error = match &self.error {
                    Some(e) => {
                        check_code(e)?;
                        e.clone()
                    }
                    None => match status {
                        429 => "ratelimited",
                        503 => "service_unavailable",
                        _ => "internal_error",
                    }
                    .to_owned(),
                };
                FaultAction::Status {
                    status,
                    error,
                    retry_after: self.retry_after,
                }
            }
            "delay" => {
                refuse("error", self.error.is_some())?;
                refuse("status", self.status.is_some())?;
                refuse("retry_after", self.retry_after.is_some())?;
                let ms = self.ms.ok_or_else(|| invalid("action delay needs `ms`"))?;
                if ms > MAX_DELAY_MS {
                    return Err(invalid(format!("ms {ms} exceeds {MAX_DELAY_MS}")));
                }
                FaultAction::Delay { ms }
            }
            "drop" => {
                refuse("error", self.error.is_some())?;
                refuse("status", self.status.is_some())?;
                refuse("retry_after", self.retry_after.is_some())?;
                refuse("ms", self.ms.is_some())?;
                FaultAction::Drop
            }
            other => {
                return Err(invalid(format!(
                    "unknown action {other:?}; use error, status, delay or drop"
                )))
            }
        };
        let trigger = match (self.times, self.probability) {
            (Some(_), Some(_)) => return Err(invalid("give `times` or `probability`, not both")),
            (Some(0), None) => return Err(invalid("times must be at least 1")),
            (Some(times), None) => Trigger::Times { times },
            (None, Some(p)) if p.is_finite() && p > 0.0 && p <= 1.0 => {
                Trigger::Probability { probability: p }
            }
            (None, Some(p)) => return Err(invalid(format!("probability {p} is not in (0, 1]"))),
            (None, None) => Trigger::Always {},
        };
        Ok((method, action, trigger, self.after))
    }
}

/// A fault chosen for one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Strike {
    /// The rule's id.
    pub rule: u64,
    /// What to do.
    pub action: FaultAction,
    /// Whether to do it after the call ran.
    pub after: bool,
}

#[derive(Debug)]
struct Inner {
    rules: Vec<FaultRule>,
    next_id: u64,
    seed: u64,
    rng: StdRng,
}

/// The fault rules and their random source. Cloning shares the state.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
}

impl Faults {
    /// No rules; probabilities drawn from `seed`.
    pub fn new(seed: u64) -> Faults {
        Faults {
            inner: Arc::new(Mutex::new(Inner {
                rules: Vec::new(),
                next_id: 1,
                seed,
                rng: StdRng::seed_from_u64(seed),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a rule (validated; nothing changes on error) and returns it.
    pub fn add(&self, spec: FaultSpec) -> Result<FaultRule, EmulatorError> {
        let mut rules = self.add_all(vec![spec])?;
        Ok(rules.remove(0))
    }

    /// Adds several rules in order, all or none: if one is invalid nothing is added and the
    /// error names it.
    pub fn add_all(&self, specs: Vec<FaultSpec>) -> Result<Vec<FaultRule>, EmulatorError> {
        let several = specs.len() > 1;
        let built = specs
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.build().map_err(|e| match e {
                    EmulatorError::Invalid(m) if several => invalid(format!("rule {i}: {m}")),
                    other => other,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut inner = self.lock();
        if inner.rules.len() + built.len() > MAX_RULES {
            return Err(invalid(format!(
                "at most {MAX_RULES} fault rules; clear some first"
            )));
        }
        let mut added = Vec::with_capacity(built.len());
        for (method, action, trigger, after) in built {
            let id = inner.next_id;
            inner.next_id += 1;
            let rule = FaultRule {
                id,
                method,
                action,
                trigger,
                after,
                fired: 0,
            };
            inner.rules.push(rule.clone());
            added.push(rule);
        }
        Ok(added)
    }

    /// The active rules, oldest first.
    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().rules.clone()
    }

    /// Removes one rule; whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|r| r.id != id);
        inner.rules.len() != before
    }

    /// Removes every rule and restarts the random sequence from the seed, so a test run that
    /// starts with a clear is repeatable.
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.rules.clear();
        inner.rng = StdRng::seed_from_u64(inner.seed);
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.lock().seed
    }

    /// Sets the seed and restarts the random sequence from it.
    pub fn reseed(&self, seed: u64) {
        let mut inner = self.lock();
        inner.seed = seed;
        inner.rng = StdRng::seed_from_u64(seed);
    }

    /// Picks the faults for one call to `method`: the delays that fire, then at most one
    /// error/status/drop. Spends uses of `times` rules and removes exhausted ones.
    pub fn decide(&self, method: &str) -> Vec<Strike> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut strikes = Vec::new();
        for rule in inner.rules.iter_mut() {
            if rule.method != "*" && rule.method != method {
                continue;
            }
            let fires = match &mut rule.trigger {
                Trigger::Times { times } => {
                    *times = times.saturating_sub(1);
                    true
                }
                Trigger::Probability { probability } => inner.rng.gen_bool(*probability),
                Trigger::Always {} => true,
            };
            if !fires {
                continue;
            }
            rule.fired += 1;
            strikes.push(Strike {
                rule: rule.id,
                action: rule.action.clone(),
                after: rule.after,
            });
            if rule.action.is_terminal() {
                break;
            }
        }
        inner
            .rules
            .retain(|r| r.trigger != Trigger::Times { times: 0 });
        strikes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn times_rules_fire_n_times_then_vanish() {
        let f = Faults::new(1);
        f.add(spec(
            r#"{"method":"auth.test","action":"error","error":"invalid_auth","times":2}"#,
        ))
        .unwrap();
        assert!(f.decide("admin.users.session.list").is_empty());
        assert_eq!(f.decide("auth.test").len(), 1);
        assert_eq!(f.list()[0].trigger, Trigger::Times { times: 1 });
        assert_eq!(
            f.decide("auth.test")[0].action,
            FaultAction::Error {
                error: "invalid_auth".into()
            }
        );
        assert!(f.decide("auth.test").is_empty());
        assert!(f.list().is_empty());
    }

    #[test]
    fn delays_accumulate_and_first_terminal_wins() {
        let f = Faults::new(1);
        f.add(spec(r#"{"action":"delay","ms":5}"#)).unwrap();
        f.add(spec(r#"{"action":"status","status":503,"times":1}"#))
            .unwrap();
        f.add(spec(r#"{"action":"drop","times":1}"#)).unwrap();
        let s = f.decide("auth.test");
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[1].action,
            FaultAction::Status {
                status: 503,
                error: "service_unavailable".into(),
                retry_after: None
            }
        );
        // The drop rule was not consulted, so it is still whole.
        let s = f.decide("auth.test");
        assert_eq!(s[1].action, FaultAction::Drop);
        assert_eq!(f.decide("auth.test").len(), 1);
    }

    #[test]
    fn same_seed_same_faults() {
        let run = |seed| {
            let f = Faults::new(seed);
            f.add(spec(
                r#"{"action":"error","error":"internal_error","probability":0.3}"#,
            ))
            .unwrap();
            (0..200)
                .map(|_| !f.decide("auth.test").is_empty())
                .collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        assert_ne!(a, run(43));
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..=90).contains(&hits), "{hits}");
    }

    #[test]
    fn clear_restarts_the_sequence() {
        let f = Faults::new(7);
        let add = || {
            f.add(spec(r#"{"action":"drop","probability":0.5}"#))
                .unwrap();
        };
        add();
        let a: Vec<bool> = (0..50).map(|_| f.decide("x").is_empty()).collect();
        f.clear();
        add();
        let b: Vec<bool> = (0..50).map(|_| f.decide("x").is_empty()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_specs_are_refused_with_reasons() {
        let f = Faults::new(0);
        for (json, needle) in [
            (r#"{"action":"explode"}"#, "unknown action"),
            (r#"{"action":"error"}"#, "needs `error`"),
            (r#"{"action":"error","error":"Bad Code"}"#, "Slack-style"),
            (r#"{"action":"status","status":200}"#, "400..=599"),
            (r#"{"action":"delay","ms":600001}"#, "exceeds"),
            (r#"{"action":"delay","ms":1,"error":"x"}"#, "`error`"),
            (r#"{"action":"drop","times":0}"#, "at least 1"),
            (r#"{"action":"drop","probability":1.5}"#, "probability"),
            (
                r#"{"action":"drop","times":1,"probability":0.5}"#,
                "not both",
            ),
            (
                r#"{"action":"drop","method":"chat.postMessage"}"#,
                "unknown method",
            ),
        ] {
            let err = f.add(spec(json)).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
        assert!(f.list().is_empty());
    }
}
