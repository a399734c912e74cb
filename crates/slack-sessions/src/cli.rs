//! The command line's shape (clap derive). Parsing only; behaviour lives in `commands`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::parse;

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  API error (Slack answered ok:false, or an HTTP/transport failure)
  2  usage error (bad flags or arguments caught before anything was sent)
  3  partial failure in bulk work (some users failed; see the summary)
  130 revoke interrupted by Ctrl-C (resumable)

Environment:
  SLACK_TOKEN    token to use when neither --token nor --token-file is given
  SLACK_API_URL  API base URL (default https://slack.com/api/)
  RUST_LOG       fine-grained log filter (overrides -v/-q)";

/// Administer Slack sessions (admin.users.session.*) and run a Slack-compatible server.
#[derive(Debug, Parser)]
#[command(name = "slack-sessions", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// API token (prefer SLACK_TOKEN or --token-file: flags are visible in `ps`).
    #[arg(long, global = true, env = "SLACK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file (surrounding whitespace ignored); wins over --token.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// API base URL.
    #[arg(
        long,
        global = true,
        env = "SLACK_API_URL",
        default_value = "https://slack.com/api/",
        value_name = "URL"
    )]
    pub api_url: String,
    /// Per-request timeout: `30s`, `2m`, `500ms` or plain seconds.
    #[arg(long, global = true, value_parser = parse::timeout, default_value = "30s")]
    pub timeout: Duration,
    /// More logging on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log format on stderr: `text`, or `json` (one JSON object per line). With `json` the
    /// default level is info, so `serve` writes one line per API call (never a token).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "SLACK_SESSIONS_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (tracing-subscriber's JSON format, event fields flattened).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show who the token belongs to (auth.test): org, team and user.
    Whoami(WhoamiArgs),
    /// List active sessions of the org, or of one user on one team.
    List(ListArgs),
    /// Invalidate one session.
    Invalidate(InvalidateArgs),
    /// Wipe all (or only mobile / only web) sessions of one user.
    Reset(ResetArgs),
    /// Wipe sessions of many users, in chunks of 1000.
    ResetBulk(ResetBulkArgs),
    /// Find users by email or id, select sessions by network, OS, device or app version, and
    /// end them: planned, paced, journaled and resumable.
    #[command(after_help = REVOKE_AFTER_HELP)]
    Revoke(RevokeArgs),
    /// Read, change or clear users' session settings.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Read the audit log of admin actions (needs the auditlogs:read scope), newest first.
    Audit(AuditArgs),
    /// Look people up in the org's directory by id or email (needs users:read, and
    /// users:read.email for emails).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Run the Slack-compatible server (session authority and offline emulator).
    Serve(ServeArgs),
    /// Start the web console (on loopback) over the API, with this token; prints its one-time
    /// login URL.
    Console(ConsoleArgs),
    /// Sign people out when their identity provider says so: a Shared Signals receiver
    /// (push and poll) and a Global Token Revocation endpoint. `bridge status` lists what
    /// it received and did.
    Bridge(BridgeArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header line.
    Csv,
}

/// Formats of commands that print one small document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmallFormat {
    /// Aligned columns for people.
    Table,
    /// One JSON document.
    Json,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = SmallFormat::Table)]
    pub format: SmallFormat,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Workspace of the user (requires --user).
    #[arg(long, requires = "user", value_name = "TEAM_ID")]
    pub team: Option<String>,
    /// User whose sessions to list, by id or email (requires --team).
    #[arg(long, requires = "team", value_name = "USER_ID_OR_EMAIL")]
    pub user: Option<String>,
    /// Page size, 1..=1000.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: Option<u32>,
    #[command(flatten)]
    pub pages: Pages,
}

/// How a listing command pages and prints: shared by `list` and `users list`.
#[derive(Debug, Args)]
pub struct Pages {
    /// Follow every page, printing rows as they arrive.
    #[arg(long, conflicts_with = "cursor")]
    pub all: bool,
    /// Start from this cursor (the `next_cursor` of a previous page).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("owner").required(true).multiple(true).args(["user", "team"]))]
pub struct InvalidateArgs {
    /// The session to invalidate.
    pub session_id: u64,
    /// Owner of the session, by id or email.
    #[arg(long, value_name = "USER_ID_OR_EMAIL")]
    pub user: Option<String>,
    /// Workspace of the session (older form of the call).
    #[arg(long, value_name = "TEAM_ID")]
    pub team: Option<String>,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// The user whose sessions to wipe, by id or email.
    #[arg(value_name = "USER_ID_OR_EMAIL")]
    pub user: String,
    /// Only mobile (iOS, Android) sessions.
    #[arg(long, conflicts_with = "web_only")]
    pub mobile_only: bool,
    /// Only web sessions.
    #[arg(long)]
    pub web_only: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["users", "file"]))]
pub struct ResetBulkArgs {
    /// User ids or emails (comma-separated or separate); `-` reads them from stdin.
    #[arg(value_name = "USER_ID_OR_EMAIL")]
    pub users: Vec<String>,
    /// Read user ids or emails from this file: one per line or comma-separated; blank lines
    /// and `#` comments ignored. `-` is stdin. Emails are resolved (users.lookupByEmail)
    /// before anything is changed.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Only mobile (iOS, Android) sessions.
    #[arg(long, conflicts_with = "web_only")]
    pub mobile_only: bool,
    /// Only web sessions.
    #[arg(long)]
    pub web_only: bool,
    /// Check the users and print the plan; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not pace requests to Slack's rate tier (for a local emulator).
    #[arg(long)]
    pub no_throttle: bool,
}

const REVOKE_AFTER_HELP: &str = "\
Selectors combine with AND; repeats of one selector with OR. Users or --everyone alone reset
whole users (one user: reset, which ends the sessions before it answers; more: resetBulk, 1000
users a call, a job that ends them shortly after); any session filter (--team, --ip, --os,
--device, --client-version-below) ends only the matching sessions (one invalidate each). Your
own sessions are left alone unless --include-self.

Examples:
  slack-sessions revoke --user dana@acme.example --device MacBook --plan
  slack-sessions revoke --users-file leavers.csv --yes --report leavers-report.csv
  slack-sessions revoke --ip 203.0.113.0/24 --ip 2001:db8::/32 --yes
  slack-sessions revoke --client-version-below 4.36 --os macOS --yes
  slack-sessions revoke --resume ~/.local/state/slack-sessions/journals/revoke-1733212345-4242.jsonl --yes

Exit codes: 0 everything planned is done; 1 stopped on an API or transport failure (resume
with --resume FILE --yes); 2 usage error, or a run refused (no --yes off a terminal, journal
in use); 3 some entries did not resolve or some actions failed (each named); 130 interrupted
(Ctrl-C; resumable).";

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// A user id or email address (repeatable).
    #[arg(long = "user", value_name = "ID_OR_EMAIL")]
    pub users: Vec<String>,
    /// Users from a file: one id or email per line (`#` comments), or a CSV whose header has
    /// an `email` or `user_id` column. `-` is stdin.
    #[arg(long, value_name = "FILE")]
    pub users_file: Option<PathBuf>,
    /// Only sessions on this workspace (repeatable).
    #[arg(long = "team", value_name = "TEAM_ID")]
    pub teams: Vec<String>,
    /// Only sessions whose created or recent IP is in this range: `203.0.113.0/24`,
    /// `2001:db8::/32` or one address (repeatable).
    #[arg(long = "ip", value_name = "CIDR", value_parser = parse::cidr)]
    pub ips: Vec<sessions_revoke::IpNet>,
    /// Only sessions on this OS, e.g. macOS, Windows, iOS, Android (case-insensitive;
    /// repeatable).
    #[arg(long = "os", value_name = "NAME")]
    pub os: Vec<String>,
    /// Only sessions whose device hardware contains this text, e.g. MacBook (repeatable).
    #[arg(long = "device", value_name = "TEXT")]
    pub devices: Vec<String>,
    /// Only sessions whose Slack app version is below this one (dotted numbers: 4.36.140).
    #[arg(long, value_name = "VERSION", value_parser = parse::version)]
    pub client_version_below: Vec<sessions_revoke::Version>,
    /// The whole org (needed when no other selector is given).
    #[arg(long)]
    pub everyone: bool,
    /// Also your own sessions (left alone by default).
    #[arg(long)]
    pub include_self: bool,
    /// Whole-user selections: only mobile (iOS, Android) sessions.
    #[arg(long, conflicts_with = "web_only")]
    pub mobile_only: bool,
    /// Whole-user selections: only web sessions.
    #[arg(long)]
    pub web_only: bool,
    /// Print the plan (users, sessions, calls, estimated duration) and change nothing.
    #[arg(long, conflicts_with_all = ["yes", "resume", "journal"])]
    pub plan: bool,
    /// Run without asking (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Journal file to create (default: a new file under ~/.local/state/slack-sessions/journals).
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub journal: Option<PathBuf>,
    /// Continue the run recorded in this journal.
    #[arg(long, value_name = "FILE", conflicts_with_all = [
        "users", "users_file", "teams", "ips", "os", "devices", "client_version_below",
        "everyone", "include_self", "mobile_only", "web_only"
    ])]
    pub resume: Option<PathBuf>,
    /// Pace every call at this rate instead of each method's Slack tier: `20/min`, `2/s`.
    #[arg(long, value_name = "RATE", value_parser = parse::rate)]
    pub max_rate: Option<f64>,
    /// Write each action and its result to this file: CSV or JSON by its extension.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show users' session settings.
    Get(SettingsGetArgs),
    /// Change users' session settings.
    Set(SettingsSetArgs),
    /// Clear users' session settings (back to the org defaults).
    Clear(SettingsClearArgs),
}

#[derive(Debug, Args)]
pub struct SettingsGetArgs {
    /// User ids or emails (1..=1000; comma-separated or separate).
    #[arg(required = true, value_name = "USER_ID_OR_EMAIL")]
    pub users: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SmallFormat::Table)]
    pub format: SmallFormat,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("setting").required(true).multiple(true).args(["duration", "quit_on_close"]))]
pub struct SettingsSetArgs {
    /// User ids or emails (1..=1000; comma-separated or separate).
    #[arg(required = true, value_name = "USER_ID_OR_EMAIL")]
    pub users: Vec<String>,
    /// Session duration: `8h`, `7d`, `1h30m` or plain seconds (8h..10 years).
    #[arg(long, value_parser = parse::session_duration)]
    pub duration: Option<u64>,
    /// End sessions when the desktop app or browser quits.
    #[arg(long, value_name = "BOOL", value_parser = parse::boolean)]
    pub quit_on_close: Option<bool>,
}

#[derive(Debug, Args)]
pub struct SettingsClearArgs {
    /// User ids or emails (1..=1000; comma-separated or separate).
    #[arg(required = true, value_name = "USER_ID_OR_EMAIL")]
    pub users: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Show users by id (users.info) or email address (users.lookupByEmail).
    Get(UsersGetArgs),
    /// List the org's users, or one workspace's (users.list), deactivated ones included.
    List(UsersListArgs),
}

#[derive(Debug, Args)]
pub struct UsersGetArgs {
    /// User ids or email addresses (comma-separated or separate).
    #[arg(required = true, value_name = "ID_OR_EMAIL")]
    pub users: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SmallFormat::Table)]
    pub format: SmallFormat,
}

#[derive(Debug, Args)]
pub struct UsersListArgs {
    /// Only members of this workspace.
    #[arg(long, value_name = "TEAM_ID")]
    pub team: Option<String>,
    /// Page size (the server serves at most 1000).
    #[arg(long)]
    pub limit: Option<u32>,
    #[command(flatten)]
    pub pages: Pages,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this action: user_session_invalidated, user_session_reset_by_admin,
    /// bulk_session_reset_by_admin or user_session_settings_changed.
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    /// Only actions by this admin (id or email).
    #[arg(long, value_name = "USER_ID_OR_EMAIL")]
    pub actor: Option<String>,
    /// Only actions on this user (id or email).
    #[arg(long, value_name = "USER_ID_OR_EMAIL")]
    pub user: Option<String>,
    /// Only entries from this long ago until now: `1h`, `7d`, `30m` or seconds.
    #[arg(long, value_name = "DURATION", value_parser = parse::timeout, conflicts_with = "oldest")]
    pub since: Option<Duration>,
    /// Only entries at or after this unix time.
    #[arg(long, value_name = "UNIX_TIME")]
    pub oldest: Option<u64>,
    /// Only entries at or before this unix time.
    #[arg(long, value_name = "UNIX_TIME")]
    pub latest: Option<u64>,
    /// Page size, 1..=9999 (server default 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=9999))]
    pub limit: Option<u32>,
    /// Follow every page (older and older).
    #[arg(long)]
    pub all: bool,
    /// Continue from this cursor (the `next_cursor` of a previous page, same filters).
    #[arg(long)]
    pub cursor: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
    /// Audit log endpoint, when it is not next to the API root
    /// (`http://host/api/` -> `http://host/audit/v1/logs`).
    #[arg(long, value_name = "URL")]
    pub audit_url: Option<String>,
}

/// `audit --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// Time, actor, action, target, ip, result.
    Table,
    /// One JSON document: `{"entries": [...], "next_cursor": "..."}`.
    Json,
    /// One entry per line.
    Ndjson,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

/// Shells we print completions for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// `serve`: every flag is a [`ServerSettings`] field, declared there once.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: sessions_server::ServerSettings,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Loopback address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// Open the console in the default browser.
    #[arg(long)]
    pub open: bool,
    /// Directory for revocation run journals and reports (created if absent); a console
    /// restarted on the same directory offers to resume an unfinished run.
    #[arg(long, value_name = "DIR", default_value = ".slack-sessions/console")]
    pub data_dir: PathBuf,
    /// Pace revocation runs at this rate instead of each method's Slack tier: `20/min`, `2/s`.
    #[arg(long, value_name = "RATE", value_parser = parse::rate)]
    pub max_rate: Option<f64>,
}

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    group = clap::ArgGroup::new("keys").required(true).args(["jwks_uri", "jwks_file"])
)]
pub struct BridgeArgs {
    #[command(subcommand)]
    pub command: Option<BridgeCommand>,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8091")]
    pub listen: SocketAddr,
    /// The transmitter's issuer: the `iss` its SETs and client assertions must carry.
    #[arg(long, value_name = "ISS", required = true)]
    pub issuer: Option<String>,
    /// The transmitter's JWK Set URL (fetched at start, and again when an unknown `kid`
    /// arrives).
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,
    /// The transmitter's JWK Set as a file (read again when an unknown `kid` arrives).
    #[arg(long, value_name = "FILE")]
    pub jwks_file: Option<PathBuf>,
    /// What `aud` must be (this receiver's name at the transmitter, often its URL).
    #[arg(long, value_name = "AUD", required = true)]
    pub audience: Option<String>,
    /// Directory of the bridge's SQLite inbox (`bridge.db`: received SETs, seen jtis, the
    /// sign-outs and their outcome; created if absent).
    #[arg(long, value_name = "DIR", default_value = ".slack-sessions-bridge")]
    pub data_dir: PathBuf,
    /// Poll delivery (RFC 8936): the transmitter's poll endpoint.
    #[arg(long, value_name = "URL", requires = "poll_token")]
    pub poll_url: Option<String>,
    /// Bearer token for the poll endpoint (prefer the environment variable: flags are
    /// visible in `ps`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SLACK_SESSIONS_POLL_TOKEN",
        hide_env_values = true,
        requires = "poll_url"
    )]
    pub poll_token: Option<String>,
    /// Pause after a poll answer without SETs: `2s`, `500ms`, `1m`.
    #[arg(long, value_name = "DURATION", value_parser = parse::timeout, default_value = "2s")]
    pub poll_interval: Duration,
    /// CSV of `sub,email_or_user_id` lines mapping `iss_sub` subjects to Slack people.
    #[arg(long, value_name = "FILE")]
    pub subject_map: Option<PathBuf>,
    /// How far in the future a SET's `iat` may be (clock skew): `60s`, `2m`.
    #[arg(long, value_name = "DURATION", value_parser = parse::timeout, default_value = "60s")]
    pub iat_skew: Duration,
    /// Pace every call to Slack at this rate instead of each method's Slack tier: `20/min`,
    /// `2/s` (as `revoke --max-rate`).
    #[arg(long, value_name = "RATE", value_parser = parse::rate)]
    pub max_rate: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum BridgeCommand {
    /// List the most recent signals the bridge received and what became of them.
    Status(BridgeStatusArgs),
}

#[derive(Debug, Args)]
pub struct BridgeStatusArgs {
    /// The bridge's data dir.
    #[arg(long, value_name = "DIR", default_value = ".slack-sessions-bridge")]
    pub data_dir: PathBuf,
    /// How many signals to list, newest first.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SmallFormat::Table)]
    pub format: SmallFormat,
}
