//! Where calls go: the Web API root every `POST` method hangs off, and the server root beside
//! it for endpoints outside the Web API (the audit log). Checked once, when the client is built.

use sessions_wire::audit::AUDIT_LOGS_PATH;

use super::{Inner, DEFAULT_BASE_URL};
use crate::error::Error;

/// The Web API root: an http(s) URL without query or fragment, ending with `/`.
pub(super) fn normalize_base(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    let url = url::Url::parse(trimmed)
        .map_err(|e| Error::Config(format!("invalid base URL {trimmed:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "base URL must be http(s): {trimmed:?}"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL must not have a query: {trimmed:?}"
        )));
    }
    let mut s = String::from(url);
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// The server root next to a Web API root (ends with `/`): `http://host:8080/api/` →
/// `http://host:8080/`, and Slack's `https://api.slack.com/` for the default
/// `https://slack.com/api/`.
fn server_root(base: &str) -> String {
    if base == DEFAULT_BASE_URL {
        return "https://api.slack.com/".to_owned();
    }
    let root = base.strip_suffix("api/").unwrap_or(base);
    if root.ends_with('/') {
        root.to_owned()
    } else {
        format!("{root}/")
    }
}

/// Where the audit log lives for a Web API base URL: next to `/api/` on the same server
/// (`http://host:8080/api/` → `http://host:8080/audit/v1/logs`), and Slack's
/// `https://api.slack.com/audit/v1/logs` for the default `https://slack.com/api/`.
pub fn audit_url_for(base: &str) -> String {
    let mut url = server_root(base);
    url.push_str(AUDIT_LOGS_PATH);
    url
}

/// An audit log endpoint given in full: http(s), no query.
pub(super) fn check_url(raw: &str) -> Result<String, Error> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("invalid audit URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(Error::Config(format!(
            "audit URL must be http(s) without a query: {raw:?}"
        )));
    }
    Ok(url.into())
}

impl Inner {
    /// The URL of `path`, relative to the server root: the audit log where the builder put it
    /// (see [`super::ClientBuilder::audit_url`]), anything else next to the Web API root.
    pub(super) fn root_url(&self, path: &str) -> String {
        if path == AUDIT_LOGS_PATH {
            self.audit.clone()
        } else {
            let mut url = server_root(&self.base);
            url.push_str(path);
            url
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_normalized() {
        assert_eq!(
            normalize_base("http://127.0.0.1:9/api").unwrap(),
            "http://127.0.0.1:9/api/"
        );
        assert_eq!(
            normalize_base("http://127.0.0.1:9/api/").unwrap(),
            "http://127.0.0.1:9/api/"
        );
        assert_eq!(normalize_base("http://h").unwrap(), "http://h/");
        assert!(matches!(normalize_base("ftp://h/"), Err(Error::Config(_))));
        assert!(matches!(normalize_base("not a url"), Err(Error::Config(_))));
    }

    #[test]
    fn audit_urls_sit_next_to_the_api_root() {
        assert_eq!(
            audit_url_for("http://127.0.0.1:8080/api/"),
            "http://127.0.0.1:8080/audit/v1/logs"
        );
        assert_eq!(
            audit_url_for("http://h/prefix/"),
            "http://h/prefix/audit/v1/logs"
        );
        assert_eq!(
            audit_url_for(DEFAULT_BASE_URL),
            "https://api.slack.com/audit/v1/logs"
        );
        assert!(check_url("ftp://x/").is_err());
        assert!(check_url("http://x/logs?a=1").is_err());
    }
}
