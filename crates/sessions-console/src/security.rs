//! Who may see and change anything: the one-time login link, the session cookie, CSRF tokens,
//! the same-origin and Host checks, and the security headers every answer carries.
//!
//! The console acts with an admin's Slack token, so any page that can reach it is an admin.
//! Rules, all enforced here in one middleware rather than per handler:
//! * `GET /login?secret=` with the secret printed at start sets an HttpOnly, SameSite=Strict
//!   cookie and redirects to the clean URL; the secret works once.
//! * Without a known cookie every route except `/login` and the static assets answers 401 and
//!   shows nothing.
//! * The `Host` header must name the address the console listens on (`127.0.0.1:PORT` or
//!   `localhost:PORT`): a DNS-rebinding page cannot talk to it under another name.
//! * A request that is not `GET`/`HEAD` must carry `Origin` equal to the console's own origin and
//!   the login's CSRF token (form field `csrf`, query parameter `csrf` for file uploads, or the
//!   `X-CSRF-Token` header for scripts).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::layout::{self, Notice};
use crate::AppState;

/// Name of the login cookie.
pub const COOKIE: &str = "slack_sessions_console";
/// Largest form body the CSRF check reads (uploads use multipart, checked by query parameter).
const FORM_LIMIT: usize = 1 << 20;

/// The Content-Security-Policy of every answer: our own scripts, styles and images only, no
/// inline code, no framing, forms and fetches to ourselves only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// A random 256-bit token, hex.
pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// One signed-in browser.
#[derive(Debug, Default)]
struct LoginState {
    csrf: String,
    flash: Vec<Notice>,
}

/// Login secret, signed-in browsers and the names the console answers to.
#[derive(Debug)]
pub(crate) struct Auth {
    secret: Mutex<Option<String>>,
    logins: Mutex<HashMap<String, LoginState>>,
    hosts: Vec<String>,
}

impl Auth {
    pub(crate) fn new(addr: SocketAddr, secret: String) -> Self {
        let port = addr.port();
        let mut hosts = vec![addr.to_string(), format!("localhost:{port}")];
        if addr.ip().is_ipv6() {
            hosts.push(format!("[::1]:{port}"));
        }
        Auth {
            secret: Mutex::new(Some(secret)),
            logins: Mutex::new(HashMap::new()),
            hosts,
        }
    }

    /// Uses up the login secret if `given` is it; returns the new login's cookie value.
    fn redeem(&self, given: &str) -> Option<String> {
        let mut secret = self.secret.lock().unwrap();
        if !secret.as_deref().is_some_and(|s| same(s, given)) {
            return None;
        }
        *secret = None;
        let id = random_token();
        let state = LoginState {
            csrf: random_token(),
            flash: Vec::new(),
        };
        self.logins.lock().unwrap().insert(id.clone(), state);
        Some(id)
    }

    fn login(&self, cookie: &str) -> Option<Login> {
        let logins = self.logins.lock().unwrap();
        // Constant-time over every entry: the map lookup alone would compare bytes.
        logins
            .iter()
            .find(|(id, _)| same(id, cookie))
            .map(|(id, s)| Login {
                id: id.clone(),
                csrf: s.csrf.clone(),
            })
    }

    /// Queues a message for the login's next page.
    pub(crate) fn flash(&self, login: &Login, notice: Notice) {
        if let Some(s) = self.logins.lock().unwrap().get_mut(&login.id) {
            s.flash.push(notice);
        }
    }

    fn take_flash(&self, login: &Login) -> Vec<Notice> {
        self.logins
            .lock()
            .unwrap()
            .get_mut(&login.id)
            .map(|s| std::mem::take(&mut s.flash))
            .unwrap_or_default()
    }

    fn host_ok(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// The signed-in browser making a request (put there by [`guard`]).
#[derive(Debug, Clone)]
pub(crate) struct Login {
    id: String,
    /// The CSRF token every form of this login carries.
    pub csrf: String,
}

/// What a page handler gets: the app, the login and its pending messages.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub app: Arc<AppState>,
    pub login: Login,
    pub flash: Vec<Notice>,
}

impl Ctx {
    /// Queues a message for the next page (after a redirect).
    pub(crate) fn flash(&self, notice: Notice) {
        self.app.auth.flash(&self.login, notice);
    }
}

impl FromRequestParts<Arc<AppState>> for Ctx {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let login = parts
            .extensions
            .get::<Login>()
            .cloned()
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, NOT_SIGNED_IN))?;
        let flash = if parts.method == Method::GET {
            app.auth.take_flash(&login)
        } else {
            Vec::new()
        };
        Ok(Ctx {
            app: app.clone(),
            login,
            flash,
        })
    }
}

const NOT_SIGNED_IN: &str = "You are not signed in to this console. Open the Console URL that \
                             `slack-sessions console` printed when it started.";

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, layout::bare_page("Not allowed", message)).into_response()
}

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    #[serde(default)]
    secret: String,
}

/// `GET /login?secret=`: trades the one-time secret for the login cookie.
pub(crate) async fn login(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Some(id) = app.auth.redeem(&q.secret) {
        let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/");
        let mut resp = Redirect::to("/people").into_response();
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().insert(header::SET_COOKIE, v);
        }
        return resp;
    }
    // Already signed in (the link opened twice): just go on.
    if cookie(&headers).and_then(|c| app.auth.login(c)).is_some() {
        return Redirect::to("/people").into_response();
    }
    refuse(
        StatusCode::FORBIDDEN,
        "This login link is not valid: each link works once. Restart `slack-sessions console` \
         for a new one.",
    )
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

fn csrf_from_query(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v)
}

/// Every request passes here: Host, login cookie, and for changes Origin and CSRF.
pub(crate) async fn guard(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if !app.auth.host_ok(&host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "This console answers only at the address it printed (127.0.0.1 or localhost).",
        );
    }
    let path = req.uri().path();
    if path == "/login" || path.starts_with("/assets/") {
        return next.run(req).await;
    }
    let Some(login) = cookie(req.headers()).and_then(|c| app.auth.login(c)) else {
        return refuse(StatusCode::UNAUTHORIZED, NOT_SIGNED_IN);
    };
    let mut req = req;
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok());
        if origin != Some(format!("http://{host}").as_str()) {
            return refuse(
                StatusCode::FORBIDDEN,
                "Changes are accepted only from the console's own pages (the request's Origin \
                 was missing or another site's).",
            );
        }
        let (token, rebuilt) = match csrf_of(req).await {
            Ok(v) => v,
            Err(resp) => return resp,
        };
        if !token.is_some_and(|t| same(&t, &login.csrf)) {
            return refuse(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from the console (CSRF token missing or \
                 wrong). Go back, reload the page and try again.",
            );
        }
        req = rebuilt;
    }
    req.extensions_mut().insert(login);
    next.run(req).await
}

/// The CSRF token of a state-changing request, and the request to pass on (a form body read to
/// find the token is put back).
async fn csrf_of(req: Request) -> Result<(Option<String>, Request), Response> {
    if let Some(t) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        let t = t.to_owned();
        return Ok((Some(t), req));
    }
    if let Some(t) = csrf_from_query(req.uri().query()) {
        return Ok((Some(t), req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The form was too large to accept.",
        )
    })?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v));
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

/// Adds the security headers to every answer.
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: with it browsers send `Origin: null` on the console's own form posts,
    // which the same-origin check must refuse.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
