//! The demo organization seeded by `serve --demo`.

use std::time::{SystemTime, UNIX_EPOCH};

use sessions_store::{
    Device, Fixture, FixtureOrg, FixtureSession, FixtureSettings, FixtureTeam, FixtureToken,
    FixtureUser,
};

/// What the demo org contains, for printing at start-up.
#[derive(Clone, PartialEq, Eq)]
pub struct DemoInfo {
    /// `xoxp-demo-admin`: an admin with `admin.users:read`, `admin.users:write`,
    /// `auditlogs:read`, `users:read` and `users:read.email`.
    pub admin_token: String,
    /// `E0DEMO`.
    pub org_id: String,
    /// Every user id (members, admin, primary owner, bot).
    pub users: Vec<String>,
    /// Every email address (`dana@demo.example`, ...), for `users.lookupByEmail`.
    pub emails: Vec<String>,
    /// Every session id.
    pub session_ids: Vec<u64>,
    /// Session tokens (`xoxc-...`), in `session_ids` order.
    pub session_tokens: Vec<String>,
}

impl std::fmt::Debug for DemoInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoInfo")
            .field("admin_token", &"<redacted>")
            .field("org_id", &self.org_id)
            .field("users", &self.users)
            .field("emails", &self.emails)
            .field("session_ids", &self.session_ids)
            .field(
                "session_tokens",
                &format_args!("<{} redacted>", self.session_tokens.len()),
            )
            .finish()
    }
}

/// Demo org id.
pub const DEMO_ORG: &str = "E0DEMO";
/// Demo admin token (read + write).
pub const DEMO_ADMIN_TOKEN: &str = "xoxp-demo-admin";
/// Demo read-only admin token.
pub const DEMO_READONLY_TOKEN: &str = "xoxp-demo-readonly";
/// Demo primary-owner token (read + write).
pub const DEMO_OWNER_TOKEN: &str = "xoxp-demo-owner";
/// Demo bot token.
pub const DEMO_BOT_TOKEN: &str = "xoxb-demo-bot";

fn dev(hw: &str, os: &str, ver: &str, client: &str, ip: &str) -> Device {
    Device {
        device_hardware: Some(hw.into()),
        os: Some(os.into()),
        os_version: Some(ver.into()),
        slack_client_version: Some(client.into()),
        ip: Some(ip.into()),
    }
}

/// id, user, team, client, age in days, created, recent.
type SessionSpec<'a> = (u64, &'a str, &'a str, &'a str, i64, Device, Option<Device>);

/// The demo fixture: org `E0DEMO` "Demo Corp" with two teams, a primary owner, an admin,
/// members and a bot, tokens ([`DEMO_ADMIN_TOKEN`], [`DEMO_READONLY_TOKEN`],
/// [`DEMO_OWNER_TOKEN`], [`DEMO_BOT_TOKEN`]) and twelve sessions across desktop, web, iOS and
/// Android created over the past weeks (relative to the system clock when called).
pub fn demo_fixture() -> (Fixture, DemoInfo) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let day = 86_400;
    let user = |id: &str, name: &str, role: &str, bot: bool, teams: &[&str]| FixtureUser {
        id: id.into(),
        name: name.into(),
        role: role.into(),
        is_bot: bot,
        teams: teams.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    let users = vec![
        user(
            "W0DEMOOWNER",
            "olivia",
            "primary_owner",
            false,
            &["T0DEMOENG", "T0DEMOSALES"],
        ),
        user(
            "W0DEMOADMIN",
            "adam",
            "admin",
            false,
            &["T0DEMOENG", "T0DEMOSALES"],
        ),
        user("W0DEMODANA", "dana", "member", false, &["T0DEMOENG"]),
        user("W0DEMOSAM", "sam", "member", false, &["T0DEMOSALES"]),
        user(
            "W0DEMOLEE",
            "lee",
            "member",
            false,
            &["T0DEMOENG", "T0DEMOSALES"],
        ),
        user("W0DEMOBOT", "deploybot", "member", true, &["T0DEMOENG"]),
    ];
    // People have an address `<name>@demo.example` and a full name; the bot has neither.
    let users: Vec<FixtureUser> = users
        .into_iter()
        .map(|mut u| {
            let full = match u.name.as_str() {
                "olivia" => "Olivia Owens",
                "adam" => "Adam Admin",
                "dana" => "Dana Scully",
                "sam" => "Sam Carter",
                "lee" => "Lee Adama",
                _ => return u,
            };
            u.email = Some(format!("{}@demo.example", u.name));
            u.real_name = Some(full.into());
            u
        })
        .collect();
    let token = |t: &str, u: &str, kind: &str, scopes: &[&str]| FixtureToken {
        token: t.into(),
        user: u.into(),
        kind: kind.into(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        revoked: false,
    };
    // The admins may also read the audit log and the directory (users.*, emails included).
    let rw = [
        "admin.users:read",
        "admin.users:write",
        "auditlogs:read",
        "users:read",
        "users:read.email",
    ];
    let tokens = vec![
        token(DEMO_ADMIN_TOKEN, "W0DEMOADMIN", "user", &rw),
        token(
            DEMO_READONLY_TOKEN,
            "W0DEMOADMIN",
            "user",
            &["admin.users:read"],
        ),
        token(DEMO_OWNER_TOKEN, "W0DEMOOWNER", "user", &rw),
        token(DEMO_BOT_TOKEN, "W0DEMOBOT", "bot", &["chat:write"]),
    ];
    let mac = |v: &str, c: &str, ip: &str| dev("MacBookPro18,3", "macOS", v, c, ip);
    let specs: Vec<SessionSpec<'_>> = vec![
        (
            1001,
            "W0DEMODANA",
            "T0DEMOENG",
            "desktop",
            30,
            mac("14.1", "4.35.126", "203.0.113.7"),
            Some(mac("14.2", "4.36.140", "203.0.113.9")),
        ),
        (
            1002,
            "W0DEMODANA",
            "T0DEMOENG",
            "ios",
            21,
            dev("iPhone15,2", "iOS", "17.1", "23.11.10", "198.51.100.23"),
            None,
        ),
        (
            1003,
            "W0DEMODANA",
            "T0DEMOENG",
            "web",
            2,
            dev("Chrome", "Windows", "11", "web", "203.0.113.40"),
            None,
        ),
        (
            1004,
            "W0DEMOSAM",
            "T0DEMOSALES",
            "desktop",
            45,
            dev(
                "Dell XPS 13 9310",
                "Windows",
                "11",
                "4.35.126",
                "192.0.2.15",
            ),
            Some(dev(
                "Dell XPS 13 9310",
                "Windows",
                "11",
                "4.36.140",
                "192.0.2.16",
            )),
        ),
        (
            1005,
            "W0DEMOSAM",
            "T0DEMOSALES",
            "android",
            12,
            dev("Pixel 8", "Android", "14", "23.10.20.0", "198.51.100.77"),
            None,
        ),
        (
            1006,
            "W0DEMOLEE",
            "T0DEMOENG",
            "web",
            7,
            dev("Firefox", "Linux", "6.5", "web", "203.0.113.101"),
            None,
        ),
        (
            1007,
            "W0DEMOLEE",
            "T0DEMOSALES",
            "ios",
            3,
            dev("iPad13,4", "iPadOS", "17.0", "23.10.30", "198.51.100.12"),
            None,
        ),
        (
            1008,
            "W0DEMOLEE",
            "T0DEMOENG",
            "desktop",
            60,
            dev(
                "ThinkPad X1 Carbon",
                "Linux",
                "Ubuntu 22.04",
                "4.34.121",
                "192.0.2.88",
            ),
            None,
        ),
        (
            1009,
            "W0DEMOADMIN",
            "T0DEMOENG",
            "desktop",
            90,
            mac("13.6", "4.33.90", "203.0.113.2"),
            Some(mac("14.1", "4.35.126", "203.0.113.3")),
        ),
        (
            1010,
            "W0DEMOADMIN",
            "T0DEMOSALES",
            "android",
            5,
            dev("SM-S918B", "Android", "14", "23.11.10.0", "198.51.100.5"),
            None,
        ),
        (
            1011,
            "W0DEMOOWNER",
            "T0DEMOENG",
            "desktop",
            120,
            mac("14.0", "4.35.126", "203.0.113.1"),
            None,
        ),
        (
            1012,
            "W0DEMOOWNER",
            "T0DEMOSALES",
            "web",
            1,
            dev("Safari", "macOS", "14.1", "web", "203.0.113.1"),
            None,
        ),
    ];
    let sessions: Vec<FixtureSession> = specs
        .into_iter()
        .map(|(id, u, t, c, age_days, created, recent)| FixtureSession {
            session_id: id,
            user: u.into(),
            team: t.into(),
            client: c.into(),
            token: Some(format!("xoxc-demo-{id}")),
            created_at: Some(now - age_days * day),
            created,
            recent,
        })
        .collect();
    let info = DemoInfo {
        admin_token: DEMO_ADMIN_TOKEN.into(),
        org_id: DEMO_ORG.into(),
        users: users.iter().map(|u| u.id.clone()).collect(),
        emails: users.iter().filter_map(|u| u.email.clone()).collect(),
        session_ids: sessions.iter().map(|s| s.session_id).collect(),
        session_tokens: sessions.iter().filter_map(|s| s.token.clone()).collect(),
    };
    let org = FixtureOrg {
        id: DEMO_ORG.into(),
        name: "Demo Corp".into(),
        teams: vec![
            FixtureTeam {
                id: "T0DEMOENG".into(),
                name: "Engineering".into(),
            },
            FixtureTeam {
                id: "T0DEMOSALES".into(),
                name: "Sales".into(),
            },
        ],
        users,
        tokens,
        sessions,
        settings: vec![FixtureSettings {
            user: "W0DEMOSAM".into(),
            duration: Some(90 * day as u64),
            desktop_app_browser_quit: Some(false),
        }],
    };
    (Fixture { orgs: vec![org] }, info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_fixture_is_valid_and_complete() {
        let (f, info) = demo_fixture();
        f.check().unwrap();
        assert_eq!(info.session_ids.len(), 12);
        assert_eq!(info.session_tokens.len(), 12);
        let clients: std::collections::HashSet<_> = f.orgs[0]
            .sessions
            .iter()
            .map(|s| s.client.as_str())
            .collect();
        assert_eq!(clients.len(), 4);
        assert!(!format!("{info:?}").contains("xoxp-demo-admin"));
        assert_eq!(
            info.emails.len(),
            5,
            "every person has an email, the bot none"
        );
        assert!(info.emails.contains(&"dana@demo.example".to_owned()));
        let admin = &f.orgs[0].tokens[0];
        assert_eq!(admin.token, DEMO_ADMIN_TOKEN);
        for scope in ["users:read", "users:read.email"] {
            assert!(admin.scopes.iter().any(|s| s == scope), "{scope}");
        }
    }
}
