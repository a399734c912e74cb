//! A test app: dummy Web API handler + emulator layer + control router on 127.0.0.1:0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use sessions_emulator::{Emulator, EmulatorConfig};

pub struct TestApp {
    pub base: String,
    pub emu: Emulator,
    pub http: reqwest::Client,
    /// Calls that reached the dummy handler.
    pub handled: Arc<AtomicUsize>,
}

/// The dummy Web API: `{"ok":true,"method":...,"body_len":...}`, or `{"ok":false,"error":X}`
/// when a `fail=X` argument is present.
async fn api(
    State(handled): State<Arc<AtomicUsize>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ([(http::HeaderName, &'static str); 1], String) {
    handled.fetch_add(1, Ordering::SeqCst);
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    pairs.extend(serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).unwrap_or_default());
    let json = [(http::header::CONTENT_TYPE, "application/json")];
    if let Some((_, code)) = pairs.iter().find(|(k, _)| k == "fail") {
        return (
            json,
            serde_json::json!({"ok": false, "error": code}).to_string(),
        );
    }
    let body = serde_json::json!({"ok": true, "method": method, "body_len": body.len()});
    (json, body.to_string())
}

pub async fn start(config: EmulatorConfig) -> TestApp {
    start_with(Emulator::new(config).unwrap()).await
}

pub async fn start_with(emu: Emulator) -> TestApp {
    let handled = Arc::new(AtomicUsize::new(0));
    let app: Router = Router::new()
        .route("/api/{method}", get(api).post(api))
        .route_layer(sessions_emulator::layer(emu.clone()))
        .with_state(handled.clone())
        .nest("/control/emulator", emu.control_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp {
        base: format!("http://{addr}"),
        emu,
        http: reqwest::Client::new(),
        handled,
    }
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        headers,
        text,
    }
}

impl TestApp {
    pub fn handled(&self) -> usize {
        self.handled.load(Ordering::SeqCst)
    }

    /// POSTs a form to `/api/<method>` with a bearer token.
    pub async fn call(&self, method: &str, token: &str, form: &str) -> Answer {
        self.try_call(method, token, form).await.unwrap()
    }

    pub async fn try_call(
        &self,
        method: &str,
        token: &str,
        form: &str,
    ) -> Result<Answer, reqwest::Error> {
        let resp = self
            .http
            .post(format!("{}/api/{method}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        Ok(Answer {
            status,
            headers,
            text,
        })
    }

    /// Sends a control request with an optional JSON body.
    pub async fn control(&self, verb: &str, path: &str, body: Option<&str>) -> Answer {
        let url = format!("{}/control/emulator{path}", self.base);
        let mut req = self.http.request(verb.parse().unwrap(), url);
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        answer(req.send().await.unwrap()).await
    }

    /// A control request that must succeed with `"ok": true`.
    pub async fn control_ok(&self, verb: &str, path: &str, body: Option<&str>) -> Value {
        let a = self.control(verb, path, body).await;
        assert!(
            a.status == 200 || a.status == 201,
            "{verb} {path}: {} {}",
            a.status,
            a.text
        );
        let v = a.json();
        assert_eq!(v["ok"], true, "{}", a.text);
        v
    }

    /// The request log via the control API.
    pub async fn requests(&self, query: &str) -> Vec<Value> {
        let v = self
            .control_ok("GET", &format!("/requests{query}"), None)
            .await;
        v["requests"].as_array().unwrap().clone()
    }
}
