//! Payload types shared by several methods.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// A session id. Slack returns it as a JSON number; SDKs send it as text, so decoding accepts
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SessionId(pub u64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u64> for SessionId {
    fn from(v: u64) -> Self {
        SessionId(v)
    }
}

impl std::str::FromStr for SessionId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(SessionId)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SessionId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session id as a non-negative integer or a string of digits")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<SessionId, E> {
                Ok(SessionId(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<SessionId, E> {
                u64::try_from(v)
                    .map(SessionId)
                    .map_err(|_| E::custom("negative session id"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<SessionId, E> {
                if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
                    Ok(SessionId(v as u64))
                } else {
                    Err(E::custom("session id is not a whole number"))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SessionId, E> {
                crate::args::parse_u64(v)
                    .map(SessionId)
                    .ok_or_else(|| E::custom("session id string is not a number"))
            }
        }
        d.deserialize_any(V)
    }
}

/// Device details recorded when a session was created, or most recently seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Type of device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_hardware: Option<String>,
    /// Type of OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// Version of the OS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// Version of the Slack client, if available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_client_version: Option<String>,
    /// IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

/// One entry of `admin.users.session.list`'s `active_sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveSession {
    /// Encoded id of the user.
    pub user_id: String,
    /// Encoded id of the team.
    pub team_id: String,
    /// Id of the session.
    pub session_id: SessionId,
    /// Device details when the session was created.
    #[serde(default)]
    pub created: DeviceInfo,
    /// Device details most recently seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent: Option<DeviceInfo>,
}

/// One user's session settings, as `admin.users.session.getSettings` returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSetting {
    /// Encoded id of the user.
    pub user_id: String,
    /// End the session when the desktop app or browser quits; `null` when not set.
    #[serde(default)]
    pub desktop_app_browser_quit: Option<bool>,
    /// Session duration in seconds; `null` when not set.
    #[serde(default)]
    pub duration: Option<u64>,
}

/// Which of a user's sessions a reset wipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetScope {
    /// Every session.
    #[default]
    All,
    /// Only `ios` and `android` sessions.
    MobileOnly,
    /// Only `web` sessions.
    WebOnly,
}

impl ResetScope {
    /// From the `mobile_only` / `web_only` flags. Both set means nothing can match; we refuse it
    /// rather than silently wiping nothing (or everything).
    pub fn from_flags(mobile_only: bool, web_only: bool) -> Result<Self, crate::ArgError> {
        match (mobile_only, web_only) {
            (true, true) => Err(crate::ArgError::Conflict {
                a: "mobile_only",
                b: "web_only",
            }),
            (true, false) => Ok(ResetScope::MobileOnly),
            (false, true) => Ok(ResetScope::WebOnly),
            (false, false) => Ok(ResetScope::All),
        }
    }
}
