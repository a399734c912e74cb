//! A synthetic org for the load generators (`benches/load.rs`, `examples/soak.rs`): an admin
//! with a read/write token `{token_prefix}-{id}`, `users` members, and `sessions` sessions spread
//! over them and over every client kind, with ids from `first_id`.

use sessions_store::{Device, FixtureOrg, FixtureSession, FixtureTeam, FixtureToken, FixtureUser};

pub fn org(
    id: &str,
    token_prefix: &str,
    users: usize,
    sessions: usize,
    first_id: u64,
) -> FixtureOrg {
    let team = format!("T{id}");
    let member = |user_id: String, name: String, role: &str| FixtureUser {
        id: user_id,
        name,
        role: role.into(),
        is_bot: false,
        teams: vec![team.clone()],
        ..Default::default()
    };
    let mut o = FixtureOrg {
        id: id.into(),
        name: format!("Load {id}"),
        teams: vec![FixtureTeam {
            id: team.clone(),
            name: "Load".into(),
        }],
        ..FixtureOrg::default()
    };
    o.users
        .push(member(format!("W{id}ADMIN"), "admin".into(), "admin"));
    for u in 0..users {
        o.users
            .push(member(format!("W{id}U{u}"), format!("u{u}"), "member"));
    }
    o.tokens.push(FixtureToken {
        token: format!("{token_prefix}-{id}"),
        user: format!("W{id}ADMIN"),
        kind: "user".into(),
        scopes: vec!["admin.users:read".into(), "admin.users:write".into()],
        revoked: false,
    });
    let clients = ["desktop", "web", "ios", "android"];
    for i in 0..sessions {
        o.sessions.push(FixtureSession {
            session_id: first_id + i as u64,
            user: format!("W{id}U{}", i % users),
            team: team.clone(),
            client: clients[i % 4].into(),
            token: None,
            created_at: None,
            created: Device {
                device_hardware: Some("MacBookPro18,3".into()),
                os: Some("macOS".into()),
                os_version: Some("14.1".into()),
                slack_client_version: Some("4.35.126".into()),
                ip: Some("203.0.113.7".into()),
            },
            recent: None,
        });
    }
    o
}
