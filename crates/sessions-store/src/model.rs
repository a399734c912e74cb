//! Storage rows. These are domain records, not wire types: the server maps them to responses.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Unix time in seconds. Every call that depends on time takes `now` explicitly, so the server
/// can run on a controllable clock and several nodes agree on what "expired" means.
pub type UnixTime = i64;

/// A user's role in an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The one primary owner.
    PrimaryOwner,
    /// An org owner.
    Owner,
    /// An org admin.
    Admin,
    /// Everyone else.
    Member,
}

impl Role {
    /// As stored and as in fixtures.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PrimaryOwner => "primary_owner",
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "primary_owner" => Role::PrimaryOwner,
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "member" => Role::Member,
            _ => return None,
        })
    }
    /// Owners and admins may call admin methods.
    pub fn is_admin(self) -> bool {
        !matches!(self, Role::Member)
    }
}

/// The client a session was created from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Desktop app.
    Desktop,
    /// Browser.
    Web,
    /// iOS app (mobile).
    Ios,
    /// Android app (mobile).
    Android,
}

impl ClientKind {
    /// As stored and as in fixtures.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Desktop => "desktop",
            ClientKind::Web => "web",
            ClientKind::Ios => "ios",
            ClientKind::Android => "android",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<ClientKind> {
        Some(match s {
            "desktop" => ClientKind::Desktop,
            "web" => ClientKind::Web,
            "ios" => ClientKind::Ios,
            "android" => ClientKind::Android,
            _ => return None,
        })
    }
    /// `ios` and `android`.
    pub fn is_mobile(self) -> bool {
        matches!(self, ClientKind::Ios | ClientKind::Android)
    }
}

/// Which of a user's sessions a reset ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetFilter {
    /// Every session.
    #[default]
    All,
    /// `ios` and `android` only.
    MobileOnly,
    /// `web` only.
    WebOnly,
}

impl ResetFilter {
    /// Whether a session of this client kind is in scope.
    pub fn matches(self, client: ClientKind) -> bool {
        match self {
            ResetFilter::All => true,
            ResetFilter::MobileOnly => client.is_mobile(),
            ResetFilter::WebOnly => client == ClientKind::Web,
        }
    }
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ResetFilter::All => "all",
            ResetFilter::MobileOnly => "mobile_only",
            ResetFilter::WebOnly => "web_only",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<ResetFilter> {
        Some(match s {
            "all" => ResetFilter::All,
            "mobile_only" => ResetFilter::MobileOnly,
            "web_only" => ResetFilter::WebOnly,
            _ => return None,
        })
    }
}

/// SHA-256 of a token. Clear tokens never reach storage; API and session tokens are long random
/// strings, so an unsalted fast hash is enough to make a leaked database useless for auth.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes a clear token.
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }
    /// Lower-case hex, as stored.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// Device details of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Hardware model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hardware: Option<String>,
    /// OS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// OS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Slack client version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_client_version: Option<String>,
    /// IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// An org (Enterprise Grid organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRow {
    /// `E...` id.
    pub org_id: String,
    /// Display name.
    pub name: String,
}

/// A user of an org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Org the user belongs to.
    pub org_id: String,
    /// `W...` / `U...` id.
    pub user_id: String,
    /// Handle.
    pub name: String,
    /// Role in the org.
    pub role: Role,
    /// Bot user.
    pub is_bot: bool,
    /// Workspaces the user is a member of, in fixture order.
    pub teams: Vec<String>,
}

/// A user with the profile fields the `users.*` methods report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The user.
    pub user: UserRow,
    /// Email address as given (unique within the org, compared by [`email_key`]).
    pub email: Option<String>,
    /// Full name.
    pub real_name: Option<String>,
    /// Deactivated.
    pub deleted: bool,
}

/// The form emails are compared in: surrounding spaces dropped, lower-cased (Unicode-aware, the
/// same in every backend since it is computed here, not by the database).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Who a token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's org.
    pub org: OrgRow,
    /// The token's user.
    pub user: UserRow,
    /// What kind of token it is.
    pub kind: PrincipalKind,
    /// Granted scopes (API tokens; empty for session tokens).
    pub scopes: Vec<String>,
    /// First team of the user, with its name, for `auth.test`.
    pub team: Option<(String, String)>,
}

/// What kind of token authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    /// `xoxp`-style user API token.
    UserToken,
    /// `xoxb`-style bot token.
    BotToken,
    /// A signed-in session's own token (`xoxc`), with its session id.
    Session(u64),
}

/// Outcome of looking a token up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLookup {
    /// Valid and active. Shared, so a remembered lookup is handed out without copying it.
    Active(std::sync::Arc<Principal>),
    /// An API token that was revoked.
    Revoked,
    /// A token (API or session) of a deactivated user (`deleted` in the directory): Slack
    /// answers `account_inactive` for it.
    Inactive,
    /// A session token whose session ended (invalidated, reset or expired).
    SessionEnded,
    /// Unknown token.
    Unknown,
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Unique within the server.
    pub session_id: u64,
    /// Org.
    pub org_id: String,
    /// Owner.
    pub user_id: String,
    /// Workspace.
    pub team_id: String,
    /// Client kind.
    pub client: ClientKind,
    /// Creation time.
    pub created_at: UnixTime,
    /// When it expires by its user's duration setting, if one applies.
    pub expires_at: Option<UnixTime>,
    /// When it was revoked (invalidate or reset), if it was.
    pub revoked_at: Option<UnixTime>,
    /// Device at creation.
    pub created: Device,
    /// Device most recently seen.
    pub recent: Option<Device>,
}

impl SessionRow {
    /// Not revoked and not expired at `now`.
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A session to create (control API sign-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Org.
    pub org_id: String,
    /// Owner.
    pub user_id: String,
    /// Workspace; must be one of the user's.
    pub team_id: String,
    /// Client kind.
    pub client: ClientKind,
    /// Hash of the session's own token.
    pub token_hash: TokenHash,
    /// Device details.
    pub created: Device,
    /// Creation time.
    pub created_at: UnixTime,
}

/// One user's settings. `None` fields are unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRow {
    /// User.
    pub user_id: String,
    /// Session duration in seconds.
    pub duration: Option<u64>,
    /// End sessions when the client quits.
    pub desktop_app_browser_quit: Option<bool>,
}

/// A settings change: `Some` fields are set, `None` fields are left as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// New duration.
    pub duration: Option<u64>,
    /// New quit flag.
    pub desktop_app_browser_quit: Option<bool>,
}

/// State of a resetBulk job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Recorded, not yet finished (possibly claimed by a worker whose lease may lapse).
    Pending,
    /// Every user processed.
    Done,
}

/// A resetBulk job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkJob {
    /// Id.
    pub job_id: i64,
    /// Org.
    pub org_id: String,
    /// Admin who asked.
    pub actor_user_id: String,
    /// Users to reset.
    pub user_ids: Vec<String>,
    /// Which sessions.
    pub filter: ResetFilter,
    /// State.
    pub state: JobState,
    /// When recorded.
    pub created_at: UnixTime,
    /// Not before this time may a worker run it (emulator control of job speed).
    pub run_after: UnixTime,
    /// When finished.
    pub finished_at: Option<UnixTime>,
    /// Per-user outcome once done: `None` for success, `Some(code)` for a failure.
    pub results: Vec<(String, Option<String>)>,
    /// How many times a worker claimed it (more than one means a worker died mid-job).
    pub attempts: u32,
}

/// A claimed job: only the holder of the lease may finish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    /// The job.
    pub job: BulkJob,
    /// Opaque lease token.
    pub lease: String,
}
