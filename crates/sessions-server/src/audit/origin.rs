//! Where a call came from (address and user agent), as its audit entry names it.
//!
//! The address is the TCP peer's. `X-Forwarded-For` is honoured only when the server runs
//! with `trust_forwarded_for`, and then only its LAST entry (the one the nearest proxy
//! appended, which a client cannot forge). User agents are cut to [`UA_MAX`] bytes.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;

use crate::state::AppState;

/// Longest user agent kept (longer ones are cut at a character boundary).
const UA_MAX: usize = 512;

/// Where a call came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// The caller's address (see the module docs for `X-Forwarded-For`) and user agent.
    pub(crate) fn of(state: &AppState, parts: &http::request::Parts) -> Origin {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical());
        let forwarded = state
            .inner
            .settings
            .trust_forwarded_for
            .then(|| forwarded_for(&parts.headers))
            .flatten();
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .map(|ua| truncate(ua, UA_MAX));
        Origin {
            ip: forwarded.or(peer).map(|ip| ip.to_string()),
            user_agent,
        }
    }
}

/// The last well-formed address of the last `X-Forwarded-For` header.
fn forwarded_for(headers: &http::HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let text = last.to_str().ok()?;
    let entry = text.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub(super) fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_takes_the_last_entry() {
        let mut h = http::HeaderMap::new();
        h.append(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.5".parse().unwrap(),
        );
        assert_eq!(forwarded_for(&h), Some("203.0.113.5".parse().unwrap()));
        h.append("x-forwarded-for", "192.0.2.44:5555".parse().unwrap());
        assert_eq!(forwarded_for(&h), Some("192.0.2.44".parse().unwrap()));
        h.append("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(forwarded_for(&h), None);
    }

    #[test]
    fn user_agents_are_cut_at_char_boundaries() {
        let s = "é".repeat(400);
        let t = truncate(s, UA_MAX);
        assert!(t.len() <= UA_MAX && t.chars().all(|c| c == 'é'));
    }
}
