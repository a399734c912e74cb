//! What to revoke: the selectors, the users file, and the pure test of one session against them.
//!
//! Different selectors combine with AND, repeats of one selector with OR. A selection with no
//! per-session filter (users or `--everyone` alone) is a *whole-user* selection, which the
//! planner turns into `reset` (one user) or `resetBulk` (several) calls; any per-session
//! filter (`team`, `ip`, `os`, `device`, `client_version_below`) makes it a *session*
//! selection, revoked session by session.

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sessions_client::{DeviceRef, SessionRef};
use sessions_wire::args::is_plausible_id;
use sessions_wire::{ActiveSession, ResetScope};

use crate::Error;

/// One entry naming a user: an id (`W0DEV`) or an email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum UserRef {
    /// A user id.
    Id(String),
    /// An email address (matched case-insensitively by Slack).
    Email(String),
}

impl UserRef {
    /// Classifies `text`: anything with an `@` is an email, anything else must look like an id.
    pub fn parse(text: &str) -> Result<UserRef, Error> {
        let t = text.trim();
        if t.contains('@') {
            let ok = t.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !t.contains(char::is_whitespace)
            });
            if ok {
                return Ok(UserRef::Email(t.to_owned()));
            }
        } else if is_plausible_id(t) {
            return Ok(UserRef::Id(t.to_owned()));
        }
        Err(Error::Selection(format!(
            "{t:?} is neither a user id (like W012ABC) nor an email address"
        )))
    }

    /// The entry as given.
    pub fn as_str(&self) -> &str {
        match self {
            UserRef::Id(s) | UserRef::Email(s) => s,
        }
    }
}

impl fmt::Display for UserRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dotted numeric version (`4.35.126`), compared component by component, missing
/// components counting as 0 (`4.35` == `4.35.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version(Vec<u64>);

impl Version {
    /// Parses `4.35.126`; each component's leading digits count (`4.36.140-beta` is
    /// `4.36.140`). `None` when a component has no leading digit or there is none at all.
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        for part in t.split('.') {
            let digits: &str = &part[..part.bytes().take_while(u8::is_ascii_digit).count()];
            parts.push(digits.parse::<u64>().ok()?);
        }
        Some(Version(parts))
    }

    /// `Version::parse(text).map(|v| v.cmp(self))`, without building the version: an org scan
    /// with `--client-version-below` compares every session's version, and the `Vec` each
    /// parse allocates was most of that comparison's cost.
    pub fn compare_text(&self, text: &str) -> Option<Ordering> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let mut order = Ordering::Equal;
        let mut seen = 0;
        for (i, part) in t.split('.').enumerate() {
            let digits: &str = &part[..part.bytes().take_while(u8::is_ascii_digit).count()];
            let a = digits.parse::<u64>().ok()?;
            if order.is_eq() {
                order = a.cmp(&self.0.get(i).copied().unwrap_or(0));
            }
            seen = i + 1;
        }
        if order.is_eq() {
            order = self
                .0
                .iter()
                .skip(seen)
                .map(|b| 0.cmp(b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal);
        }
        Some(order)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        (0..n)
            .map(|i| {
                let a = self.0.get(i).copied().unwrap_or(0);
                let b = other.0.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for Version {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Version::parse(&s).ok_or_else(|| format!("{s:?} is not a dotted numeric version"))
    }
}

impl From<Version> for String {
    fn from(v: Version) -> String {
        v.to_string()
    }
}

/// Parses `--ip`: a CIDR (`203.0.113.0/24`, `2001:db8::/32`) or a bare address (one host).
pub fn parse_cidr(text: &str) -> Result<IpNet, Error> {
    let t = text.trim();
    if let Ok(net) = t.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| Error::Selection(format!("{t:?} is not an IP address or CIDR range")))
}

/// Everything the admin asked for. Serialized into the journal so a resumed run shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// Users by id or email (`--user`, `--users-file`), in the order given, duplicates kept
    /// (the planner dedupes by resolved id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserRef>,
    /// Only sessions on these workspaces.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<String>,
    /// Only sessions whose `created` or `recent` ip lies in one of these ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<IpNet>,
    /// Only sessions whose `created` or `recent` OS is one of these (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os: Vec<String>,
    /// Only sessions whose `created` or `recent` device hardware contains one of these
    /// (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// Only sessions whose Slack client version is below this one (repeats: below any, so the
    /// highest counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version_below: Option<Version>,
    /// The whole org (required when no other selector is given).
    #[serde(default)]
    pub everyone: bool,
    /// Also the caller's own sessions.
    #[serde(default)]
    pub include_self: bool,
    /// Which sessions whole-user resets end (`mobile_only` / `web_only`).
    #[serde(default)]
    pub scope: ResetScope,
}

impl Selection {
    /// Whether any per-session filter is set (then sessions are revoked one by one).
    pub fn has_session_filter(&self) -> bool {
        !self.teams.is_empty()
            || !self.ips.is_empty()
            || !self.os.is_empty()
            || !self.devices.is_empty()
            || self.client_version_below.is_some()
    }

    /// Whether users or `everyone` are selected with no per-session filter.
    pub fn is_whole_user(&self) -> bool {
        !self.has_session_filter()
    }

    /// Checks the combination. No selector at all, `everyone` with users, and
    /// `mobile_only`/`web_only` with per-session filters are refused.
    pub fn validate(&self) -> Result<(), Error> {
        if self.users.is_empty() && !self.everyone && !self.has_session_filter() {
            return Err(Error::Selection(
                "nothing selected: name users (--user, --users-file), filter sessions \
                 (--team, --ip, --os, --device, --client-version-below), or pass --everyone \
                 for the whole org"
                    .into(),
            ));
        }
        if self.everyone && !self.users.is_empty() {
            return Err(Error::Selection(
                "--everyone selects the whole org; it cannot be combined with --user or \
                 --users-file"
                    .into(),
            ));
        }
        if self.scope != ResetScope::All && self.has_session_filter() {
            return Err(Error::Selection(
                "--mobile-only and --web-only apply to whole-user selections; they cannot be \
                 combined with --team, --ip, --os, --device or --client-version-below"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Whether one session passes every per-session filter (users and self are the planner's).
    pub fn matches(&self, s: &ActiveSession) -> bool {
        self.matches_ref(SessionRef::from(s))
    }

    /// [`Selection::matches`] for a session of a compact page (the org scan's form).
    pub fn matches_ref(&self, s: SessionRef<'_>) -> bool {
        let sides = || std::iter::once(s.created).chain(s.recent);
        if !self.teams.is_empty() && !self.teams.iter().any(|t| t == s.team_id) {
            return false;
        }
        if !self.ips.is_empty() && !sides().any(|d| ip_in(d, &self.ips)) {
            return false;
        }
        if !self.os.is_empty()
            && !sides().any(|d| {
                d.os.is_some_and(|os| self.os.iter().any(|w| w.eq_ignore_ascii_case(os.trim())))
            })
        {
            return false;
        }
        if !self.devices.is_empty()
            && !sides().any(|d| {
                d.device_hardware
                    .is_some_and(|hw| self.devices.iter().any(|w| contains_ignoring_case(hw, w)))
            })
        {
            return false;
        }
        if let Some(below) = &self.client_version_below {
            let text = s
                .recent
                .and_then(|r| r.slack_client_version)
                .or(s.created.slack_client_version);
            if text.and_then(|t| below.compare_text(t)) != Some(Ordering::Less) {
                return false;
            }
        }
        true
    }
}

/// Whether `haystack` contains `needle`, both lowercased (Unicode lowercasing, as
/// `str::to_lowercase`). ASCII text, nearly all device names, is compared in place; the
/// allocation of two lowercased copies per session was the device match's whole cost.
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        haystack
            .to_lowercase()
            .contains(needle.to_lowercase().as_str())
    }
}

fn ip_in(d: DeviceRef<'_>, nets: &[IpNet]) -> bool {
    d.ip.and_then(|ip| crate::ip::parse_ip(ip.trim()))
        .is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
}

/// The session's Slack client version: the most recently seen one, else the one at creation.
/// A session with no parsable version never matches `--client-version-below`.
pub fn session_version(s: &ActiveSession) -> Option<Version> {
    session_version_ref(SessionRef::from(s))
}

fn session_version_ref(s: SessionRef<'_>) -> Option<Version> {
    s.recent
        .and_then(|r| r.slack_client_version)
        .or(s.created.slack_client_version)
        .and_then(Version::parse)
}

/// Reads a users file: one id or email per line (blank lines and `#` comments ignored), or a
/// CSV whose header row has an `email` or `user_id` column (case-insensitive; with both, a
/// row's `user_id` wins when not empty). Any bad entry fails the whole file, naming its line.
pub fn parse_users_file(text: &str) -> Result<Vec<UserRef>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(first) = first else {
        return Ok(Vec::new());
    };
    let header: Vec<String> = csv_fields(first)?
        .into_iter()
        .map(|f| f.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    match (col("user_id"), col("email")) {
        (None, None) if first.contains(',') => Err(Error::Selection(
            "users file: a CSV needs a header row with an `email` or `user_id` column".into(),
        )),
        (None, None) => parse_lines(text),
        (id_col, email_col) => parse_csv(text, id_col, email_col),
    }
}

fn csv_fields(line: &str) -> Result<Vec<String>, Error> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match r.records().next() {
        Some(Ok(rec)) => Ok(rec.iter().map(str::to_owned).collect()),
        Some(Err(e)) => Err(Error::Selection(format!("users file: {e}"))),
        None => Ok(Vec::new()),
    }
}

fn parse_lines(text: &str) -> Result<Vec<UserRef>, Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            continue;
        }
        out.push(UserRef::parse(entry).map_err(|e| at_line(n + 1, e))?);
    }
    Ok(out)
}

fn parse_csv(
    text: &str,
    id_col: Option<usize>,
    email_col: Option<usize>,
) -> Result<Vec<UserRef>, Error> {
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body.as_bytes());
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::Selection(format!("users file: {e}")))?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).filter(|v| !v.is_empty());
        let entry = match (get(id_col), get(email_col)) {
            (Some(id), _) => UserRef::parse(id),
            (None, Some(email)) if email.contains('@') => UserRef::parse(email),
            (None, Some(email)) => Err(Error::Selection(format!(
                "{email:?} in the email column is not an email address"
            ))),
            (None, None) => continue,
        };
        out.push(entry.map_err(|e| at_line(line, e))?);
    }
    Ok(out)
}

fn at_line(n: usize, e: Error) -> Error {
    match e {
        Error::Selection(m) => Error::Selection(format!("users file line {n}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_wire::DeviceInfo;

    fn session(team: &str, created: DeviceInfo, recent: Option<DeviceInfo>) -> ActiveSession {
        ActiveSession {
            user_id: "W1".into(),
            team_id: team.into(),
            session_id: 1.into(),
            created,
            recent,
        }
    }

    fn dev(ip: &str, os: &str, hw: &str, ver: &str) -> DeviceInfo {
        let o = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        DeviceInfo {
            device_hardware: o(hw),
            os: o(os),
            os_version: None,
            slack_client_version: o(ver),
            ip: o(ip),
        }
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn versions_compare_numerically_with_missing_parts_as_zero() {
        assert!(v("4.9") < v("4.10"));
        assert!(v("4.35.126") < v("4.36"));
        assert_eq!(v("4.35").cmp(&v("4.35.0")), Ordering::Equal);
        assert!(v("23.11.20.0") > v("23.10.10"));
        assert_eq!(v("4.36.140-beta"), v("4.36.140"));
        assert_eq!(Version::parse("beta"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(Version::parse("4..1"), None);
        assert_eq!(v("4.035").to_string(), "4.35");
    }

    #[test]
    fn cidrs_and_bare_addresses() {
        assert_eq!(
            parse_cidr("203.0.113.7/24").unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            parse_cidr("203.0.113.7").unwrap().to_string(),
            "203.0.113.7/32"
        );
        assert_eq!(
            parse_cidr(" 2001:db8::/32 ").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(parse_cidr("203.0.113.0/33").is_err());
        assert!(parse_cidr("example.com").is_err());
    }

    #[test]
    fn filters_and_within_or_across_created_and_recent() {
        let s = session(
            "T1",
            dev("203.0.113.7", "macOS", "MacBookPro18,3", "4.35.126"),
            Some(dev("198.51.100.9", "macOS", "MacBookPro18,3", "4.36.140")),
        );
        let sel = |f: &dyn Fn(&mut Selection)| {
            let mut s = Selection::default();
            f(&mut s);
            s
        };
        // ip: created or recent, any of the ranges.
        assert!(sel(&|s| s.ips = vec![parse_cidr("203.0.113.0/24").unwrap()]).matches(&s));
        assert!(sel(&|s| s.ips = vec![parse_cidr("198.51.100.0/24").unwrap()]).matches(&s));
        assert!(!sel(&|s| s.ips = vec![parse_cidr("192.0.2.0/24").unwrap()]).matches(&s));
        assert!(sel(&|s| s.ips = vec![
            parse_cidr("192.0.2.0/24").unwrap(),
            parse_cidr("203.0.113.7").unwrap()
        ])
        .matches(&s));
        // version: the recent one counts.
        assert!(!sel(&|s| s.client_version_below = Some(v("4.36"))).matches(&s));
        assert!(sel(&|s| s.client_version_below = Some(v("4.36.141"))).matches(&s));
        // os exact (case-insensitive), device substring.
        assert!(sel(&|s| s.os = vec!["MACOS".into()]).matches(&s));
        assert!(!sel(&|s| s.os = vec!["os".into()]).matches(&s));
        assert!(sel(&|s| s.devices = vec!["macbook".into()]).matches(&s));
        // team, and AND across selectors.
        assert!(!sel(&|s| s.teams = vec!["T2".into()]).matches(&s));
        assert!(!sel(&|s| {
            s.teams = vec!["T1".into()];
            s.os = vec!["Windows".into()];
        })
        .matches(&s));
        assert!(sel(&|s| {
            s.teams = vec!["T2".into(), "T1".into()];
            s.os = vec!["Windows".into(), "macOS".into()];
        })
        .matches(&s));
        // No version at all never matches a version filter.
        let bare = session("T1", dev("10.0.0.1", "", "", ""), None);
        assert!(!sel(&|s| s.client_version_below = Some(v("99"))).matches(&bare));
        // Unparsable ip never matches.
        let junk = session("T1", dev("not-an-ip", "", "", ""), None);
        assert!(!sel(&|s| s.ips = vec![parse_cidr("0.0.0.0/0").unwrap()]).matches(&junk));
    }

    #[test]
    fn validation_of_combinations() {
        assert!(Selection::default().validate().is_err());
        let everyone = Selection {
            everyone: true,
            ..Default::default()
        };
        assert!(everyone.validate().is_ok());
        assert!(everyone.is_whole_user());
        let both = Selection {
            users: vec![UserRef::Id("W1".into())],
            ..everyone.clone()
        };
        assert!(both.validate().is_err());
        let mobile_ip = Selection {
            ips: vec![parse_cidr("10.0.0.0/8").unwrap()],
            scope: ResetScope::MobileOnly,
            ..Default::default()
        };
        assert!(mobile_ip.validate().is_err());
        let ip = Selection {
            scope: ResetScope::All,
            ..mobile_ip
        };
        assert!(ip.validate().is_ok());
        assert!(!ip.is_whole_user());
    }

    #[test]
    fn users_file_lines_with_comments() {
        let got = parse_users_file("# leavers\nW0DEV\n\n  dana@acme.example  # laptop\n").unwrap();
        assert_eq!(
            got,
            vec![
                UserRef::Id("W0DEV".into()),
                UserRef::Email("dana@acme.example".into())
            ]
        );
        let err = parse_users_file("W0DEV\nnot an id\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(parse_users_file("# nothing\n\n").unwrap().is_empty());
    }

    #[test]
    fn users_file_csv_by_header() {
        let text = "\u{feff}Name,Email,Department\n\"Scully, Dana\",dana@acme.example,FBI\n\
                    Omar,  omar@acme.example ,Ops\nNo Mail,,Ops\n";
        assert_eq!(
            parse_users_file(text).unwrap(),
            vec![
                UserRef::Email("dana@acme.example".into()),
                UserRef::Email("omar@acme.example".into())
            ]
        );
        let both = "user_id,email\nW0DEV,dana@acme.example\n,omar@acme.example\n";
        assert_eq!(
            parse_users_file(both).unwrap(),
            vec![
                UserRef::Id("W0DEV".into()),
                UserRef::Email("omar@acme.example".into())
            ]
        );
        let only_id = "USER_ID\nW0DEV\n";
        assert_eq!(
            parse_users_file(only_id).unwrap(),
            vec![UserRef::Id("W0DEV".into())]
        );
        let err = parse_users_file("name,dept\nx,y\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("header"), "{err}");
        let err = parse_users_file("email\nnot-an-email\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn compare_text_agrees_with_parse_and_cmp(
            text in "[0-9a-z. -]{0,14}|[0-9]{1,3}(\\.[0-9]{1,3}){0,4}",
            below in "[0-9]{1,3}(\\.[0-9]{1,3}){0,4}",
        ) {
            let below = Version::parse(&below).unwrap();
            proptest::prop_assert_eq!(
                below.compare_text(&text),
                Version::parse(&text).map(|v| v.cmp(&below))
            );
        }

        #[test]
        fn contains_ignoring_case_agrees_with_lowercasing(
            hay in "[a-zA-Z0-9 ]{0,12}|.{0,8}",
            needle in "[a-zA-Z0-9 ]{0,3}|.{0,2}",
        ) {
            proptest::prop_assert_eq!(
                contains_ignoring_case(&hay, &needle),
                hay.to_lowercase().contains(needle.to_lowercase().as_str())
            );
        }
    }
}
