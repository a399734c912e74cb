//! The stylesheet, script and icon, compiled into the binary: the console loads nothing from
//! anywhere else and works offline.

use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};

pub(crate) const CSS_PATH: &str = "/assets/console.css";
pub(crate) const JS_PATH: &str = "/assets/console.js";
pub(crate) const ICON_PATH: &str = "/assets/icon.svg";

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");
const ICON: &str = include_str!("../assets/icon.svg");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

pub(crate) async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

pub(crate) async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

pub(crate) async fn icon() -> Response {
    asset(ICON, "image/svg+xml")
}
