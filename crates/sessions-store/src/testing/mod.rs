//! The conformance suite every backend runs (feature `testing`).
//!
//! Each `pub async fn` takes a fresh, empty store and asserts the behaviour documented on the
//! [`Store`] trait. A backend crate runs the whole suite from its tests with
//! `sessions_store::conformance_tests!(make().await);`, where `make` returns the store and a
//! guard (a temporary directory, a throwaway database) that must outlive it; the macro expands
//! to one `#[tokio::test]` per body.

use crate::*;

mod audit;
mod directory;
mod finality;
mod jobs;
mod plain;
mod reads;
mod writes;

pub use audit::*;
pub use directory::*;
pub use finality::*;
pub use jobs::*;
pub use plain::*;
pub use reads::*;
pub use writes::*;

/// The time every test runs at (the store never reads a clock for these semantics).
pub const NOW: UnixTime = 1_700_000_000;
pub(crate) const DAY: i64 = 86_400;

/// Org E1 "Acme":
/// - teams T1 Eng, T2 Ops
/// - W0 primary owner (T2, T1), W1 admin (T1), W2 member dana (T1), W3 bot (T1), W4 member (T2)
/// - tokens: xoxp-admin (W1, user), xoxb-bot (W3, bot), xoxp-dana (W2, user)
/// - sessions: 1001 W2 desktop (token xoxc-1001), 1002 W2 web, 1003 W2 ios, 1004 W2 android,
///   1005 W3 (bot) desktop (token xoxc-bot), 1006 W4 T2 web, 1007 W0 T2 desktop,
///   1008 W0 T1 web created two days ago (token xoxc-1008)
/// - settings: none
///
/// Org E2 "Other": team T9, user W9 admin, token xoxp-other, session 2001 (token xoxc-2001).
pub fn base_fixture() -> Fixture {
    Fixture::from_json(&format!(
        r#"{{"orgs":[
        {{"id":"E1","name":"Acme",
          "teams":[{{"id":"T1","name":"Eng"}},{{"id":"T2","name":"Ops"}}],
          "users":[
            {{"id":"W0","name":"olivia","role":"primary_owner","teams":["T2","T1"]}},
            {{"id":"W1","name":"adam","role":"admin","teams":["T1"]}},
            {{"id":"W2","name":"dana","role":"member","teams":["T1"]}},
            {{"id":"W3","name":"deploybot","role":"member","is_bot":true,"teams":["T1"]}},
            {{"id":"W4","name":"otto","role":"member","teams":["T2"]}}],
          "tokens":[
            {{"token":"xoxp-admin","user":"W1","type":"user",
              "scopes":["admin.users:read","admin.users:write"]}},
            {{"token":"xoxb-bot","user":"W3","type":"bot","scopes":["chat:write"]}},
            {{"token":"xoxp-dana","user":"W2","type":"user","scopes":[]}}],
          "sessions":[
            {{"session_id":1001,"user":"W2","team":"T1","client":"desktop","token":"xoxc-1001",
              "created":{{"device_hardware":"MacBookPro18,3","os":"macOS","ip":"203.0.113.7"}},
              "recent":{{"os":"macOS","os_version":"14.2"}}}},
            {{"session_id":1002,"user":"W2","team":"T1","client":"web"}},
            {{"session_id":1003,"user":"W2","team":"T1","client":"ios"}},
            {{"session_id":1004,"user":"W2","team":"T1","client":"android"}},
            {{"session_id":1005,"user":"W3","team":"T1","client":"desktop","token":"xoxc-bot"}},
            {{"session_id":1006,"user":"W4","team":"T2","client":"web"}},
            {{"session_id":1007,"user":"W0","team":"T2","client":"desktop"}},
            {{"session_id":1008,"user":"W0","team":"T1","client":"web","token":"xoxc-1008",
              "created_at":{two_days_ago}}}]
        }},
        {{"id":"E2","name":"Other",
          "teams":[{{"id":"T9","name":"Nine"}}],
          "users":[{{"id":"W9","name":"nina","role":"admin","teams":["T9"]}}],
          "tokens":[{{"token":"xoxp-other","user":"W9","type":"user",
                      "scopes":["admin.users:read"]}}],
          "sessions":[{{"session_id":2001,"user":"W9","team":"T9","client":"web",
                        "token":"xoxc-2001"}}]
        }}]}}"#,
        two_days_ago = NOW - 2 * DAY
    ))
    .expect("the base fixture is valid")
}

/// A store holding [`base_fixture`].
pub async fn loaded(s: &DynStore) {
    s.load_fixture(&base_fixture(), NOW)
        .await
        .expect("base fixture loads");
}

pub(crate) fn ids(rows: &[SessionRow]) -> Vec<u64> {
    rows.iter().map(|r| r.session_id).collect()
}

pub(crate) fn all() -> SessionFilter {
    SessionFilter::default()
}

pub(crate) fn user_team(u: &str, t: &str) -> SessionFilter {
    SessionFilter {
        user_team: Some((u.into(), t.into())),
    }
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(crate) async fn list_all(s: &DynStore, org: &str, now: UnixTime) -> Vec<u64> {
    ids(&s.list_sessions(org, &all(), None, 1000, now).await.unwrap())
}

pub(crate) fn new_session(user: &str, team: &str, token: &str, created_at: UnixTime) -> NewSession {
    NewSession {
        org_id: "E1".into(),
        user_id: user.into(),
        team_id: team.into(),
        client: ClientKind::Web,
        token_hash: TokenHash::of(token),
        created: Device {
            os: Some("Linux".into()),
            ..Device::default()
        },
        created_at,
    }
}

pub(crate) async fn active(s: &DynStore, token: &str, now: UnixTime) -> std::sync::Arc<Principal> {
    match s.authenticate(&TokenHash::of(token), now).await.unwrap() {
        TokenLookup::Active(p) => p,
        other => panic!("{token}: expected Active, got {other:?}"),
    }
}

/// Expands to one `#[tokio::test]` per conformance body; `$make` builds a fresh, empty store
/// and returns it with a guard that is dropped after it (`(DynStore, G)`).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            fixture_loads_every_entity,
            fixture_with_a_clash_changes_nothing,
            fixture_replaces_orgs_with_the_same_id,
            fixture_may_move_ids_between_replaced_orgs,
            fixture_sessions_older_than_duration_load_expired,
            authenticate_every_outcome,
            list_pages_in_order,
            list_rows_carry_every_field,
            list_is_stable_while_sessions_change,
            invalidate_is_true_only_once,
            reset_honours_client_filters,
            create_session_allocates_fresh_ids,
            create_session_follows_duration_and_refuses_bad_refs,
            settings_set_partially_and_clear,
            settings_rederive_session_expiry,
            bulk_jobs_claim_lease_and_complete,
            bulk_job_claims_are_exclusive_under_contention,
            dump_leaves_tokens_out,
            reset_all_keeps_only_the_secret,
            server_secret_is_created_once,
            concurrent_writes_are_all_applied,
            audit_entries_round_trip_newest_first,
            audit_filters_match_every_field,
            audit_pages_cover_each_entry_once,
            audit_survives_fixture_reloads_not_reset_all,
            audit_concurrent_appends_get_distinct_ids,
            audit_bulk_jobs_record_their_entries_atomically,
            audit_writes_record_their_entry_iff_applied,
            audit_prune_deletes_old_entries_oldest_first,
            expired_sessions_never_come_back,
            expire_sessions_works_in_batches,
            users_with_sessions_are_those_with_active_ones,
            audit_and_job_ids_are_numbered_per_org,
            directory_reads_profiles,
            directory_deactivated_users_do_not_authenticate,
            directory_email_lookup_folds_case_and_isolates_orgs,
            directory_lists_in_id_order_by_page_and_team,
            directory_survives_dump_and_reload,
            directory_duplicate_email_is_refused_and_changes_nothing,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, _guard): ($crate::DynStore, _) = $make;
                $crate::testing::$name(store).await;
            }
        )*
    };
}
