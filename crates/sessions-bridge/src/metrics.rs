//! `/metrics` (OpenMetrics text, prometheus-client): what arrived, what was done, how long it
//! took from the identity provider's `iat` to the sign-out.
//!
//! Label values are bounded: event types are reduced to the known short names or `other`
//! ([`crate::events::label`]), results are fixed words or RFC 8935 error codes.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of `bridge_events_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// `session-revoked`, …, `verification`, `other`, `gtr`, or `unverified` for refused tokens.
    pub event_type: String,
    /// `accepted`, `duplicate`, or the error code it was refused with.
    pub result: String,
}

/// Labels of `bridge_actions_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// `signed_out`, `not_found`, `not_mapped`, `failed` or `retry`.
    pub result: String,
}

/// Labels of `bridge_engine_rounds_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoundLabels {
    /// `completed`, `nothing_to_run`, `plan_failed`, `journal_failed` or `run_stopped`.
    pub result: String,
}

/// The bridge's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    events: Family<EventLabels, Counter>,
    actions: Family<ActionLabels, Counter>,
    rounds: Family<RoundLabels, Counter>,
    lag: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("bridge");
        let events = Family::<EventLabels, Counter>::default();
        registry.register(
            "events",
            "Security events and revocation requests received, by event type and result",
            events.clone(),
        );
        let actions = Family::<ActionLabels, Counter>::default();
        registry.register(
            "actions",
            "Sign-out actions finished (or retried), by result",
            actions.clone(),
        );
        let rounds = Family::<RoundLabels, Counter>::default();
        registry.register(
            "engine_rounds",
            "Worker rounds run through the revocation engine (plan, journal, run), by result",
            rounds.clone(),
        );
        let lag = Histogram::new(exponential_buckets(0.25, 2.0, 14));
        registry.register(
            "signout_lag_seconds",
            "Time from a signal's iat (or a revocation request's arrival) to the sign-out",
            lag.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            events,
            actions,
            rounds,
            lag,
        }
    }

    /// Counts a received signal.
    pub fn event(&self, event_type: &str, result: &str) {
        self.events
            .get_or_create(&EventLabels {
                event_type: event_type.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts a finished (or retried) action.
    pub fn action(&self, result: &str) {
        self.actions
            .get_or_create(&ActionLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts a worker round.
    pub fn round(&self, result: &str) {
        self.rounds
            .get_or_create(&RoundLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Observes the lag of a sign-out, in seconds.
    pub fn lag(&self, seconds: f64) {
        self.lag.observe(seconds.max(0.0));
    }

    /// The OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_and_the_lag_histogram() {
        let m = Metrics::new();
        m.event("session-revoked", "accepted");
        m.event("unverified", "invalid_key");
        m.action("signed_out");
        m.lag(1.5);
        let text = m.encode();
        assert!(
            text.contains(
                r#"bridge_events_total{event_type="session-revoked",result="accepted"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"bridge_actions_total{result="signed_out"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("bridge_signout_lag_seconds_count 1"),
            "{text}"
        );
    }
}
