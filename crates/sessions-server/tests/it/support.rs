//! Spawning a real server (127.0.0.1:0) and talking to it.
//!
//! The backend comes from `SESSIONS_TEST_BACKEND`: `sqlite` (default; a file in a tempdir) or
//! `postgres` (a fresh database per server, [`sessions_test_support::pg::TempDb`] on
//! `SESSIONS_TEST_PG_URL`, dropped with its [`Data`]). With `postgres`
//! every test fails, never skips, when PostgreSQL is unreachable. Every test runs unchanged on
//! both: reopening a stopped server reopens the same database.

use serde_json::Value;
use sessions_client::{Client, RetryPolicy};
use sessions_server::emulator::Emulator;
use sessions_server::testing::TestServer;
use sessions_server::{AppState, ServerSettings};
use sessions_store::{DynStore, Fixture};
use sessions_test_support::pg::TempDb;

pub const ADMIN: &str = "xoxp-acme-admin";
pub const READ_ONLY: &str = "xoxp-acme-read";
pub const WRITE_ONLY: &str = "xoxp-acme-write";
pub const OWNER: &str = "xoxp-acme-owner";
pub const MEMBER: &str = "xoxp-acme-member";
pub const BOT: &str = "xoxb-acme-bot";
pub const REVOKED: &str = "xoxp-acme-revoked";
pub const OTHER_ADMIN: &str = "xoxp-globex-admin";
pub const CONTROL: &str = "ctl-test-token";

/// Two orgs: Acme (E1) with two teams and every role, and Globex (E2) to prove isolation.
pub const FIXTURE: &str = r#"{"orgs":[
 {"id":"E1","name":"Acme Corp","teams":[{"id":"T1","name":"Engineering"},{"id":"T2","name":"Ops"}],
  "users":[
   {"id":"WOWNER","name":"olivia","role":"primary_owner","teams":["T1","T2"]},
   {"id":"WADMIN","name":"adam","role":"admin","teams":["T1"]},
   {"id":"WDANA","name":"dana","role":"member","teams":["T1"]},
   {"id":"WSAM","name":"sam","role":"member","teams":["T1","T2"]},
   {"id":"WBOT","name":"deploybot","role":"member","is_bot":true,"teams":["T1"]}],
  "tokens":[
   {"token":"xoxp-acme-admin","user":"WADMIN","type":"user","scopes":["admin.users:read","admin.users:write"]},
   {"token":"xoxp-acme-read","user":"WADMIN","type":"user","scopes":["admin.users:read"]},
   {"token":"xoxp-acme-write","user":"WADMIN","type":"user","scopes":["admin.users:write"]},
   {"token":"xoxp-acme-owner","user":"WOWNER","type":"user","scopes":["admin.users:read","admin.users:write"]},
   {"token":"xoxp-acme-member","user":"WDANA","type":"user","scopes":["admin.users:read","admin.users:write"]},
   {"token":"xoxp-acme-revoked","user":"WADMIN","type":"user","scopes":["admin.users:read","admin.users:write"],"revoked":true},
   {"token":"xoxb-acme-bot","user":"WBOT","type":"bot","scopes":["admin.users:read","admin.users:write"]}],
  "sessions":[
   {"session_id":101,"user":"WDANA","team":"T1","client":"desktop","token":"xoxc-dana-desktop",
    "created":{"device_hardware":"MacBookPro18,3","os":"macOS","os_version":"14.1","slack_client_version":"4.35.126","ip":"203.0.113.7"},
    "recent":{"device_hardware":"MacBookPro18,3","os":"macOS","os_version":"14.2","slack_client_version":"4.36.140","ip":"203.0.113.9"}},
   {"session_id":102,"user":"WDANA","team":"T1","client":"ios","token":"xoxc-dana-ios",
    "created":{"device_hardware":"iPhone15,2","os":"iOS","os_version":"17.1","ip":"198.51.100.23"}},
   {"session_id":103,"user":"WDANA","team":"T1","client":"web","token":"xoxc-dana-web","created":{"os":"Windows"}},
   {"session_id":104,"user":"WSAM","team":"T2","client":"android","token":"xoxc-sam-android","created":{"os":"Android"}},
   {"session_id":105,"user":"WSAM","team":"T1","client":"web","created":{"os":"Linux"}},
   {"session_id":106,"user":"WOWNER","team":"T1","client":"desktop","token":"xoxc-owner-desktop","created":{"os":"macOS"}},
   {"session_id":107,"user":"WADMIN","team":"T1","client":"desktop","created":{"os":"macOS"}},
   {"session_id":108,"user":"WBOT","team":"T1","client":"web","created":{"os":"Linux"}}],
  "settings":[{"user":"WSAM","duration":86400,"desktop_app_browser_quit":true}]},
 {"id":"E2","name":"Globex","teams":[{"id":"T9","name":"Globex HQ"}],
  "users":[
   {"id":"W9ADMIN","name":"hank","role":"admin","teams":["T9"]},
   {"id":"W9MEM","name":"homer","role":"member","teams":["T9"]}],
  "tokens":[{"token":"xoxp-globex-admin","user":"W9ADMIN","type":"user","scopes":["admin.users:read","admin.users:write"]}],
  "sessions":[
   {"session_id":901,"user":"W9MEM","team":"T9","client":"web","token":"xoxc-homer-web","created":{"os":"Linux"}}],
  "settings":[{"user":"W9MEM","duration":28800}]}
]}"#;

pub struct Server {
    pub base: String,
    pub api: String,
    pub store: DynStore,
    /// The data (`None` on a second node sharing another server's database).
    pub data: Option<Data>,
    /// The database URL this node opened.
    pub url: String,
    server: Option<TestServer>,
}

pub fn options() -> ServerSettings {
    ServerSettings {
        control_token: Some(CONTROL.into()),
        node_id: Some("test-node".into()),
        ..ServerSettings::default()
    }
}

/// A server on the standard two-org fixture.
pub async fn start() -> Server {
    start_with(options(), Some(FIXTURE)).await
}

pub async fn start_with(opts: ServerSettings, fixture: Option<&str>) -> Server {
    start_emulated(opts, None, fixture).await
}

/// [`start_with`], with these emulator controls mounted (when `Some`).
pub async fn start_emulated(
    opts: ServerSettings,
    emulator: Option<Emulator>,
    fixture: Option<&str>,
) -> Server {
    let data = Data::new();
    let store = sessions_server::store::open(&data.url).await.unwrap();
    if let Some(f) = fixture {
        let now = opts.clock.now();
        store
            .load_fixture(&Fixture::from_json(f).unwrap(), now)
            .await
            .unwrap();
    }
    let url = data.url.clone();
    launch_on(Some(data), url, store, opts, emulator).await
}

/// Reopens the database of a stopped server.
pub async fn reopen(data: Data, opts: ServerSettings) -> Server {
    let store = sessions_server::store::open(&data.url).await.unwrap();
    launch(data, store, opts).await
}

async fn launch(data: Data, store: DynStore, opts: ServerSettings) -> Server {
    let url = data.url.clone();
    launch_on(Some(data), url, store, opts, None).await
}

pub async fn launch_on(
    data: Option<Data>,
    url: String,
    store: DynStore,
    opts: ServerSettings,
    emulator: Option<Emulator>,
) -> Server {
    let state = AppState::with_emulator(store.clone(), opts, emulator)
        .await
        .unwrap();
    let server = TestServer::serve(state).await.unwrap();
    Server {
        base: server.base(),
        api: server.api(),
        store,
        data,
        url,
        server: Some(server),
    }
}

impl Server {
    pub fn client(&self, token: &str) -> Client {
        Client::builder(token)
            .base_url(&self.api)
            .retry(RetryPolicy::disabled())
            .build()
            .unwrap()
    }

    /// Another node on the same database, with its own store handle.
    pub async fn second_node(&self, opts: ServerSettings) -> Server {
        let store = sessions_server::store::open(&self.url).await.unwrap();
        launch_on(None, self.url.clone(), store, opts, None).await
    }

    /// Stops gracefully and hands back the data.
    pub async fn stop(self) -> Data {
        self.halt().await.expect("the first node owns the data")
    }

    /// Stops gracefully; the data if this node owns it.
    pub async fn halt(mut self) -> Option<Data> {
        self.server.take().unwrap().stop().await.unwrap();
        drop(self.store);
        self.data.take()
    }

    /// Raw form POST with a bearer token; returns (status, headers, JSON body).
    pub async fn post_form(
        &self,
        method: &str,
        token: Option<&str>,
        form: &[(&str, &str)],
    ) -> Resp {
        let mut rb = http().post(format!("{}{}", self.api, method)).form(form);
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Resp::from(rb.send().await.unwrap()).await
    }

    /// Raw POST with an explicit content type and body.
    pub async fn post_raw(
        &self,
        method: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Resp {
        let mut rb = http().post(format!("{}{}", self.api, method)).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        Resp::from(rb.send().await.unwrap()).await
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = http()
            .request(method, format!("{}/control/{path}", self.base))
            .bearer_auth(CONTROL);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        Resp::from(rb.send().await.unwrap()).await
    }

    /// Records a resetBulk of `user_ids` (comma-separated) as the admin; returns the job's id.
    pub async fn reset_bulk(&self, user_ids: &str) -> String {
        let r = self
            .post_form(
                "admin.users.session.resetBulk",
                Some(ADMIN),
                &[("user_ids", user_ids)],
            )
            .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
        r.header("x-sessions-job-id").unwrap().to_owned()
    }

    /// Waits until job `id` of `org`, read through this node's control API, is done; returns
    /// its record.
    pub async fn job_done(&self, org: &str, id: &str) -> Value {
        sessions_test_support::wait::until(&format!("job {id} to be done"), || async {
            let r = self
                .control(reqwest::Method::GET, &format!("jobs/{org}/{id}"), None)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            (r.body["state"] == "done").then_some(r.body)
        })
        .await
    }

    /// The `/metrics` exposition text.
    pub async fn metrics(&self) -> String {
        http()
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Signs a user in through the control API; returns (session_id, token).
    pub async fn sign_in(&self, org: &str, user: &str, team: &str, client: &str) -> (u64, String) {
        let r = self
            .control(
                reqwest::Method::POST,
                "sessions",
                Some(serde_json::json!({"org_id": org, "user_id": user, "team_id": team, "client": client, "os": "macOS"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        (
            r.body["session_id"].as_u64().unwrap(),
            r.body["token"].as_str().unwrap().to_owned(),
        )
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub async fn from(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
    pub fn messages(&self) -> Vec<String> {
        self.body["response_metadata"]["messages"]
            .as_array()
            .map(|a| a.iter().map(|m| m.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts a well-formed Slack answer: HTTP 200, JSON content type, `ok` present.
    pub fn slack(&self) -> &Self {
        assert_eq!(self.status, 200, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert!(self.body["ok"].is_boolean(), "{}", self.text);
        self
    }
}

/// The API error code of a client error.
pub fn code(e: sessions_client::Error) -> String {
    match e {
        sessions_client::Error::Api { code, .. } => code.to_string(),
        other => panic!("expected an API error, got {other:?}"),
    }
}

pub async fn session_ids(store: &DynStore, org: &str) -> Vec<u64> {
    let now = sessions_server::Clock::system().now();
    store
        .list_sessions(org, &Default::default(), None, 1000, now)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.session_id)
        .collect()
}

/// The storage backend of this test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `SESSIONS_TEST_BACKEND` (`sqlite` when unset); anything else is a mistake worth failing on.
pub fn backend() -> Backend {
    match std::env::var("SESSIONS_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") | Ok("postgresql") => Backend::Postgres,
        Ok(other) => panic!("SESSIONS_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    }
}

/// A server's storage: a tempdir (holding the SQLite file) or a PostgreSQL database of its own
/// ([`TempDb`]), either dropped with this value. The tempdir exists on both backends, for the
/// files a test writes next to its data (fixtures).
pub struct Data {
    dir: tempfile::TempDir,
    pub url: String,
    _pg: Option<TempDb>,
}

impl Data {
    /// Fresh, empty storage on the selected backend.
    pub fn new() -> Data {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match backend() {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("state.db").display()),
                None,
            ),
            Backend::Postgres => {
                let db = TempDb::fresh_blocking("srvit");
                (db.url.clone(), Some(db))
            }
        };
        Data { dir, url, _pg: pg }
    }

    /// A directory that lives as long as the data.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

#[tokio::test]
async fn servers_run_on_the_backend_asked_for() {
    let s = start().await;
    let store = format!("{:?}", s.store);
    match backend() {
        Backend::Sqlite => assert!(s.url.starts_with("sqlite://"), "{}", s.url),
        Backend::Postgres => {
            assert!(s.url.starts_with("postgres://"), "{}", s.url);
            assert!(store.starts_with("PgStore"), "{store}");
        }
    }
    let second = s.second_node(options()).await;
    assert_eq!(second.url, s.url);
    assert!(second.halt().await.is_none());
    let data = s.stop().await;
    let again = reopen(data, options()).await;
    assert_eq!(session_ids(&again.store, "E1").await.len(), 7);
}
