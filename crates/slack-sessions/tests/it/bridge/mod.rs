//! `slack-sessions bridge` end to end: the built binary, between a transmitter written here
//! (its own RSA and P-256 key pairs, made at test time, and a JWKS endpoint on 127.0.0.1:0)
//! and a real `slack-sessions serve` process. Effects are checked through the server's API
//! (`auth.test` with the people's session tokens, `admin.users.session.list`, the audit log).

mod gtr;
mod poll;
mod push;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sessions_test_support::wait;

use crate::harness::{fixture, ADMIN_TOKEN};
use crate::procs::{serve, spawn_until_line, ServeClient, ServeProcess};

pub const ISSUER: &str = "https://idp.test.example";
pub const AUDIENCE: &str = "https://slack-bridge.test.example";
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/// Dana (W0DEV) and her three session tokens; everybody else's tokens.
pub const DANA_TOKENS: [&str; 3] = ["xoxc-dana-laptop", "xoxc-dana-phone", "xoxc-dana-web"];
pub const OTHER_TOKENS: [&str; 2] = ["xoxc-omar-phone", "xoxc-adam-laptop"];

/// The standard fixture with emails, and an admin token that may look people up by email
/// and read the audit log.
pub fn bridge_fixture() -> String {
    let mut f = fixture(0);
    for u in f["orgs"][0]["users"].as_array_mut().unwrap() {
        let name = u["name"].as_str().unwrap().to_owned();
        u["email"] = json!(format!("{name}@acme.example"));
    }
    for t in f["orgs"][0]["tokens"].as_array_mut().unwrap() {
        if t["token"] == ADMIN_TOKEN {
            let scopes = t["scopes"].as_array_mut().unwrap();
            for s in ["users:read", "users:read.email", "auditlogs:read"] {
                scopes.push(s.into());
            }
        }
    }
    f.to_string()
}

/// A server process on a fresh SQLite file with [`bridge_fixture`].
pub async fn server(dir: &Path) -> ServeProcess {
    let url = format!("sqlite://{}", dir.join("sessions.db").display());
    serve(&url, Some(&bridge_fixture()), &[]).await
}

/// What every bridge test starts with: a temporary dir, a server on it, a transmitter.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub serve: ServeProcess,
    pub tx: Transmitter,
}

pub async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let serve = server(dir.path()).await;
    let tx = Transmitter::start().await;
    Setup { dir, serve, tx }
}

/// Adds an emulator fault rule (`POST /control/emulator/faults`).
pub async fn fault(serve: &ServeProcess, rule: Value) {
    serve
        .control_send(reqwest::Method::POST, "/emulator/faults", &rule)
        .await;
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A fresh `jti`.
pub fn jti() -> String {
    format!("jti-{:016x}", rand::random::<u64>())
}

/// One signing key with its public JWK.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    pub jwk: Value,
}

impl SigningKey {
    /// An RSA 2048 key pair made now.
    pub fn rsa(kid: &str) -> SigningKey {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let b64 = |b: Vec<u8>| URL_SAFE_NO_PAD.encode(b);
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            key: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
                "n": b64(private.n().to_bytes_be()), "e": b64(private.e().to_bytes_be())}),
        }
    }

    /// A P-256 key pair made now.
    pub fn p256(kid: &str) -> SigningKey {
        use p256::pkcs8::EncodePrivateKey;
        let secret = p256::SecretKey::random(&mut rand::thread_rng());
        let der = secret.to_pkcs8_der().unwrap();
        let mut jwk: Value = serde_json::from_str(&secret.public_key().to_jwk_string()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!("ES256");
        SigningKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_der(der.as_bytes()),
            jwk,
        }
    }

    /// A JWS of `claims` with header `typ`.
    pub fn sign(&self, claims: &Value, typ: &str) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.into());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// The transmitter: two keys in a JWKS served on 127.0.0.1:0.
pub struct Transmitter {
    pub rsa: SigningKey,
    pub ec: SigningKey,
    pub jwks_uri: String,
}

impl Transmitter {
    pub async fn start() -> Transmitter {
        let rsa = SigningKey::rsa("rsa-1");
        let ec = SigningKey::p256("ec-1");
        let jwks = json!({"keys": [rsa.jwk, ec.jwk]}).to_string();
        let app = axum::Router::new().route(
            "/jwks.json",
            get(move || {
                let jwks = jwks.clone();
                async move { ([("content-type", "application/jwk-set+json")], jwks) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Transmitter {
            rsa,
            ec,
            jwks_uri: format!("http://{addr}/jwks.json"),
        }
    }

    /// The claims of a SET: one event about `subject` (as SSF 1.0's top-level `sub_id`).
    pub fn set_claims(jti: &str, event_type: &str, subject: Value) -> Value {
        json!({
            "iss": ISSUER, "aud": AUDIENCE, "iat": now(), "jti": jti,
            "sub_id": subject,
            "events": {event_type: {"event_timestamp": now(), "initiating_entity": "policy"}}
        })
    }

    /// A session-revoked SET about an email, signed RS256.
    pub fn session_revoked(&self, jti: &str, email: &str) -> String {
        let claims = Self::set_claims(
            jti,
            SESSION_REVOKED,
            json!({"format": "email", "email": email}),
        );
        self.rsa.sign(&claims, "secevent+jwt")
    }

    /// A Global Token Revocation client assertion.
    pub fn assertion(&self, jti: &str) -> String {
        let claims = json!({"iss": ISSUER, "sub": ISSUER, "aud": AUDIENCE, "jti": jti,
            "iat": now(), "exp": now() + 120});
        self.ec.sign(&claims, "JWT")
    }
}

/// A running `slack-sessions bridge`; SIGKILLed when dropped.
pub struct BridgeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
    pub data_dir: PathBuf,
    log: PathBuf,
}

impl BridgeProcess {
    /// Starts the bridge on `data_dir` against `serve`, trusting `tx`'s keys, with `extra`
    /// flags, and waits for its `Bridge URL:` line.
    pub async fn start(
        serve: &ServeProcess,
        tx: &Transmitter,
        data_dir: &Path,
        extra: &[&str],
    ) -> BridgeProcess {
        let log = data_dir.with_extension(format!("{:08x}.log", rand::random::<u32>()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slack-sessions"));
        cmd.args(["bridge", "--listen", "127.0.0.1:0", "--max-rate", "100/s"])
            .args(["--issuer", ISSUER, "--audience", AUDIENCE])
            .args(["--jwks-uri", &tx.jwks_uri])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--log-format", "json"])
            .args(extra)
            .env("SLACK_API_URL", &serve.api)
            .env("SLACK_TOKEN", ADMIN_TOKEN)
            .env_remove("RUST_LOG")
            .env_remove("SLACK_SESSIONS_POLL_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let (mut child, url) = spawn_until_line(cmd, "Bridge URL:").await;
        let Some(url) = url else {
            let status = child.wait().unwrap();
            panic!(
                "bridge printed no Bridge URL and exited with {status}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        BridgeProcess {
            child,
            url,
            data_dir: data_dir.to_owned(),
            log,
        }
    }

    /// POSTs a SET to the push endpoint; returns the status and body.
    pub async fn push(&self, set: &str) -> (u16, Value) {
        self.push_as(set, "application/secevent+jwt").await
    }

    pub async fn push_as(&self, body: &str, content_type: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}ssf/events", self.url))
            .header("content-type", content_type)
            .header("accept", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// `GET /metrics`.
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}metrics", self.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The bridge's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, and the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        self.child.wait().unwrap()
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bridge status --format json` on a data dir.
pub fn status_json(data_dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_slack-sessions"))
        .args(["bridge", "status", "--format", "json", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether `auth.test` accepts a session token.
pub async fn token_works(serve: &ServeProcess, token: &str) -> bool {
    serve.client(token).auth_test().await.is_ok()
}

/// Session ids of a user, through `admin.users.session.list` for the whole org.
pub async fn sessions_of(serve: &ServeProcess, user: &str) -> Vec<u64> {
    use futures::TryStreamExt;
    let all: Vec<_> = serve
        .client(ADMIN_TOKEN)
        .admin_users_session_list_all(sessions_client::ListRequest::org().limit(1000))
        .try_collect()
        .await
        .unwrap();
    all.iter()
        .filter(|s| s.user_id == user)
        .map(|s| s.session_id.0)
        .collect()
}

/// The server's request log for one method (`GET /control/emulator/requests?method=`), oldest
/// first.
pub async fn requests_of(serve: &ServeProcess, method: &str) -> Vec<Value> {
    let log = serve
        .control_get(&format!("/emulator/requests?method={method}"))
        .await;
    log["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("request log answer: {log}"))
        .clone()
}

/// Audit log entries of `action` on `user`.
pub async fn audit_count(serve: &ServeProcess, action: &str, user: &str) -> usize {
    let url = format!(
        "{}audit/v1/logs?action={action}&user={user}&limit=100",
        serve.api.strip_suffix("api/").unwrap()
    );
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let doc: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    doc["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("audit log answer: {doc}"))
        .len()
}

/// Polls `check` until true ([`wait::until_true_or`]); on a timeout, the failure shows the
/// bridge's log.
pub async fn eventually<F, Fut>(what: &str, bridge: &BridgeProcess, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    wait::until_true_or(what, check, || format!("bridge log:\n{}", bridge.log())).await;
}

/// Proof that the bridge's worker has moved past everything received so far, for tests that
/// check nothing happened: a session-revoked SET for omar (W0OPS), pushed now, is acted on.
/// The worker takes due actions in the order they fell due, so an action wrongly made from an
/// earlier signal would have been taken in that round or before.
pub async fn worker_caught_up(bridge: &BridgeProcess, serve: &ServeProcess, tx: &Transmitter) {
    let (status, body) = bridge
        .push(&tx.session_revoked(&jti(), "omar@acme.example"))
        .await;
    assert_eq!(status, 202, "{body}");
    eventually("the worker to sign omar out", bridge, || async {
        sessions_of(serve, "W0OPS").await.is_empty()
    })
    .await;
}

/// A shared list the test servers append to.
pub type Recorded<T> = Arc<Mutex<Vec<T>>>;
