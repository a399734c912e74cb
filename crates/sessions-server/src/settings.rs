//! Every server setting, declared once: its flag, environment variable, default and help.
//!
//! [`ServerSettings`] derives [`clap::Args`]: `slack-sessions serve` flattens it into its
//! command line, [`run`](crate::run) and [`AppState::new`](crate::AppState::new) take it as it
//! is, and the running state keeps it whole. Options that no flag sets (the clock, the node
//! name, the worker's poll period, test knobs) are `#[arg(skip = ...)]` fields of the same
//! struct, so their default is written in one place too. [`ServerSettings::default`] is what
//! parsing an empty command line gives (without reading the environment): the defaults on the
//! attributes are the only ones.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::{Args, FromArgMatches};

use crate::clock::Clock;
use crate::net::Limits;
use crate::ServerError;

/// How the server is set up; see the module docs. Build it with `..ServerSettings::default()`.
#[derive(Clone, Args)]
pub struct ServerSettings {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the SQLite database (`sessions.db` inside; created if absent).
    #[arg(
        long,
        value_name = "DIR",
        default_value = ".slack-sessions",
        conflicts_with = "database_url"
    )]
    pub data_dir: PathBuf,
    /// Database URL instead of a data dir: `sqlite://PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Load this fixture file on start (all or nothing).
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
    /// Seed a demo org into an empty database and print how to use it.
    #[arg(long)]
    pub demo: bool,
    /// Bearer token of the control API; giving one turns the control API on (with --control
    /// or --demo and no token, one is generated and printed).
    #[arg(
        long,
        env = "SLACK_SESSIONS_CONTROL_TOKEN",
        hide_env_values = true,
        value_parser = control_token
    )]
    pub control_token: Option<String>,
    /// Turn the control API on. It is off unless --control, --control-token or --demo is
    /// given, and answers loopback clients only unless --control-allow-remote.
    #[arg(long)]
    pub control: bool,
    /// Let non-loopback clients use the control API (they still need the control token).
    #[arg(long)]
    pub control_allow_remote: bool,
    /// Largest API request body in bytes (HTTP 413 `request_too_large` above it).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Connection, header and slow-client limits.
    #[command(flatten)]
    pub limits: Limits,
    /// Seconds a resetBulk job claimed by this node stays leased to it; if the node dies, another
    /// node takes the job over once the lease lapses.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=86400))]
    pub bulk_lease_secs: i64,
    /// Test knob: hold each claimed resetBulk job this many milliseconds before completing it.
    #[arg(
        long = "bulk-hold-ms",
        value_name = "MS",
        default_value = "0",
        hide = true,
        value_parser = clap::value_parser!(u64).map(Duration::from_millis)
    )]
    pub bulk_hold: Duration,
    /// The emulator's start settings (rate limits, fault seed).
    #[command(flatten)]
    pub emulator: sessions_emulator::EmulatorConfig,
    /// Delete audit log entries older than this many days (checked at start and hourly).
    /// Without it the audit log is kept forever.
    #[arg(
        long = "audit-retention-days",
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(1..=36500).map(|d| Duration::from_secs(u64::from(d) * 86_400))
    )]
    pub audit_retention: Option<Duration>,
    /// Take the caller address of audit log entries from the last X-Forwarded-For entry
    /// instead of the TCP peer. Only behind a proxy that sets the header: otherwise clients
    /// could write any address into the audit log. Off by default.
    #[arg(long)]
    pub trust_forwarded_for: bool,

    // Settings no flag sets.
    /// Mount the emulator controls (rate limits, faults, request log) when something can use
    /// them: the control API, or rate limits asked for at start. `false` leaves them out, and
    /// with them all rate limiting. See [`crate::emulation`].
    #[arg(skip = true)]
    pub emulation: bool,
    /// The server's clock (system time by default; see [`Clock::from_fn`] to plug in an
    /// emulator's, or move it in tests).
    #[arg(skip = Clock::system())]
    pub clock: Clock,
    /// Node name for job leases; random when `None`.
    #[arg(skip)]
    pub node_id: Option<String>,
    /// Run the resetBulk worker on this node. Tests turn it off to hold a recorded job
    /// unfinished.
    #[arg(skip = true)]
    pub bulk_worker: bool,
    /// How often the worker polls for jobs recorded by other nodes.
    #[arg(skip = Duration::from_millis(200))]
    pub bulk_poll: Duration,
    /// How often audit retention runs.
    #[arg(skip = Duration::from_secs(3600))]
    pub audit_prune_every: Duration,
}

impl Default for ServerSettings {
    /// The defaults of the attributes above.
    fn default() -> Self {
        flag_defaults()
    }
}

/// What an empty command line gives for `T`'s flags, the environment unread: the one way a
/// settings struct's [`Default`] is written, so defaults live only on the attributes.
pub(crate) fn flag_defaults<T: Args + FromArgMatches>() -> T {
    let cmd = T::augment_args(clap::Command::new("defaults")).mut_args(|a| a.env(None));
    let matches = cmd
        .try_get_matches_from(["defaults"])
        .expect("an empty command line is valid");
    T::from_arg_matches(&matches).expect("the defaults parse")
}

impl ServerSettings {
    /// The store URL: `database_url`, or the SQLite file in `data_dir` (created if absent).
    pub fn store_url(&self) -> Result<String, ServerError> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir).map_err(|e| {
                    ServerError::Config(format!(
                        "creating data dir {}: {e}",
                        self.data_dir.display()
                    ))
                })?;
                Ok(format!(
                    "sqlite://{}",
                    self.data_dir.join("sessions.db").display()
                ))
            }
        }
    }

    /// Whether the control API answers: `control`, `demo` or a control token.
    pub fn control_enabled(&self) -> bool {
        self.control || self.demo || self.control_token.is_some()
    }
}

impl fmt::Debug for ServerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSettings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("fixtures", &self.fixtures)
            .field("demo", &self.demo)
            .field(
                "control_token",
                &self.control_token.as_ref().map(|_| "<redacted>"),
            )
            .field("control", &self.control)
            .field("control_allow_remote", &self.control_allow_remote)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("limits", &self.limits)
            .field("bulk_lease_secs", &self.bulk_lease_secs)
            .field("bulk_hold", &self.bulk_hold)
            .field("emulator", &self.emulator)
            .field("audit_retention", &self.audit_retention)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("emulation", &self.emulation)
            .field("clock", &self.clock)
            .field("node_id", &self.node_id)
            .field("bulk_worker", &self.bulk_worker)
            .field("bulk_poll", &self.bulk_poll)
            .field("audit_prune_every", &self.audit_prune_every)
            .finish()
    }
}

/// Hides a password in `postgres://user:password@host/db`.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:<redacted>{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// `--control-token`: any text but an empty (or blank) one, which would turn on a control
/// API that no request could use.
pub fn control_token(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(
            "the control token must not be empty (leave the flag out, or use \
                    --control for a generated one)"
                .into(),
        );
    }
    Ok(text.to_owned())
}

/// Parses `90`, `90s`, `15m`, `8h`, `7d`, `2w`, `1h30m`, `500ms` into milliseconds.
/// A bare number means seconds, as Slack's `duration` argument does.
pub fn millis(text: &str) -> Result<u128, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u128 = s.parse().map_err(|_| format!("{s:?} is too large"))?;
        return Ok(secs * 1000);
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration (try 8h, 30m, 7d or seconds)"
            ));
        }
        let n: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?} is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let per: u128 = match unit.to_ascii_lowercase().as_str() {
            "ms" => 1,
            "s" | "sec" | "secs" => 1000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "w" | "wk" | "wks" => 604_800_000,
            "" => {
                return Err(format!(
                    "{text:?}: a unit is needed after {n} (s, m, h, d, w)"
                ))
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (use s, m, h, d or w)"
                ))
            }
        };
        total = n
            .checked_mul(per)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("{text:?} is too large"))?;
    }
    Ok(total)
}

/// A timeout flag (`30s`, `2m`, `500ms` or plain seconds): any duration above zero.
pub fn timeout(text: &str) -> Result<Duration, String> {
    let ms = millis(text)?;
    if ms == 0 {
        return Err("the timeout must be above zero".into());
    }
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        settings: ServerSettings,
    }

    #[test]
    fn defaults_are_the_flags_defaults() {
        let d = ServerSettings::default();
        assert_eq!(d.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(d.data_dir, PathBuf::from(".slack-sessions"));
        assert_eq!(d.max_body_bytes, 1 << 20);
        assert_eq!(d.limits.max_connections, 1024);
        assert_eq!(d.limits.max_header_bytes, 64 << 10);
        assert_eq!(d.limits.header_timeout, Duration::from_secs(30));
        assert_eq!(d.bulk_lease_secs, 30);
        assert_eq!(d.bulk_hold, Duration::ZERO);
        assert_eq!(d.emulator, sessions_emulator::EmulatorConfig::default());
        assert_eq!(d.audit_retention, None);
        assert!(d.emulation && d.bulk_worker && !d.control && !d.demo);
        assert_eq!(d.bulk_poll, Duration::from_millis(200));
        assert_eq!(d.audit_prune_every, Duration::from_secs(3600));
        assert!(!d.control_enabled());
    }

    #[test]
    fn flags_reach_the_settings_with_their_units() {
        let s = Cli::try_parse_from([
            "serve",
            "--bulk-hold-ms",
            "250",
            "--audit-retention-days",
            "2",
            "--max-connections",
            "7",
            "--body-timeout",
            "500ms",
            "--rate-limits",
            "slack",
            "--fault-seed",
            "9",
            "--control-token",
            "ctl",
        ])
        .unwrap()
        .settings;
        assert_eq!(s.bulk_hold, Duration::from_millis(250));
        assert_eq!(s.audit_retention, Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(s.limits.max_connections, 7);
        assert_eq!(s.limits.body_timeout, Duration::from_millis(500));
        assert_eq!(
            s.emulator.rate_limits,
            sessions_emulator::RateLimitMode::Slack
        );
        assert_eq!(s.emulator.seed, 9);
        assert!(s.control_enabled());
        for bad in [
            &["serve", "--audit-retention-days", "0"][..],
            &["serve", "--max-connections", "0"],
            &["serve", "--control-token", " "],
            &["serve", "--rate-limits", "custom"],
            &["serve", "--data-dir", "d", "--database-url", "sqlite://x"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = ServerSettings {
            control_token: Some("ctl-secret".into()),
            database_url: Some("postgres://app:hunter2@db/sessions".into()),
            ..ServerSettings::default()
        };
        let s = format!("{c:?}");
        assert!(!s.contains("ctl-secret") && !s.contains("hunter2"), "{s}");
        assert!(s.contains("postgres://app:<redacted>@db/sessions"), "{s}");
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(timeout("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(timeout("2m"), Ok(Duration::from_secs(120)));
        assert!(timeout("0s").is_err());
        assert!(timeout("soon").is_err());
    }
}
