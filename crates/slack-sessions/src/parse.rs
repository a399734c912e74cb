//! Parsers for human-friendly values: durations, booleans and lists of user ids.

use std::collections::HashSet;

use sessions_wire::{DURATION_MAX, DURATION_MIN};

/// `revoke --ip`: a CIDR range or one address.
pub fn cidr(text: &str) -> Result<sessions_revoke::IpNet, String> {
    sessions_revoke::parse_cidr(text).map_err(|e| e.to_string())
}

/// `revoke --client-version-below`: a dotted numeric version.
pub fn version(text: &str) -> Result<sessions_revoke::Version, String> {
    sessions_revoke::Version::parse(text)
        .ok_or_else(|| format!("{text:?} is not a dotted numeric version like 4.36.140"))
}

/// `revoke --max-rate`: calls per minute.
pub fn rate(text: &str) -> Result<f64, String> {
    sessions_revoke::parse_rate(text).map_err(|e| e.to_string())
}

use sessions_server::settings::millis;
/// `--timeout` and every other duration flag: the server's parser, so `serve` flags and
/// client flags read durations the same way.
pub use sessions_server::settings::timeout;

/// `--duration` of session settings: whole seconds within Slack's bounds.
pub fn session_duration(text: &str) -> Result<u64, String> {
    let ms = millis(text)?;
    if ms % 1000 != 0 {
        return Err(format!("{text:?}: session durations are whole seconds"));
    }
    let secs = u64::try_from(ms / 1000).map_err(|_| format!("{text:?} is too large"))?;
    if !(DURATION_MIN..=DURATION_MAX).contains(&secs) {
        return Err(format!(
            "{text:?} is {secs} seconds; it must be between {DURATION_MIN} (8 hours) and \
             {DURATION_MAX} (10 years)"
        ));
    }
    Ok(secs)
}

/// `true`/`false` and the usual spellings people type.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Ok(true),
        "false" | "0" | "no" | "n" | "off" => Ok(false),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

/// Reads user ids from text: one per line or comma-separated, blank lines and `#` comments
/// ignored. Appends to `out`.
pub fn user_ids_from_text(text: &str, out: &mut Vec<String>) {
    for line in text.lines() {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        split_ids(line, out);
    }
}

/// Splits one argument on commas and whitespace, dropping empty pieces.
pub fn split_ids(text: &str, out: &mut Vec<String>) {
    out.extend(
        text.split(|c: char| c == ',' || c.is_whitespace())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    );
}

/// Removes repeats, keeping the first occurrence's position.
pub fn dedupe(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// A duration in seconds as people say it: `8 hours`, `1 day 12 hours`, `10 years`.
pub fn human_seconds(secs: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (31_556_952, "year"),
        (86_400, "day"),
        (3_600, "hour"),
        (60, "minute"),
        (1, "second"),
    ];
    if secs == 0 {
        return "0 seconds".into();
    }
    let mut rest = secs;
    let mut parts = Vec::new();
    for (size, name) in UNITS {
        let n = rest / size;
        if n > 0 {
            rest %= size;
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
        }
        // Two units are plenty for reading; the exact seconds are shown beside it.
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_spelling() {
        assert_eq!(session_duration("86400"), Ok(86_400));
        assert_eq!(session_duration("8h"), Ok(28_800));
        assert_eq!(session_duration("1d"), Ok(86_400));
        assert!(session_duration("1h30m").unwrap_err().contains("28800"));
        assert_eq!(session_duration("8h30m"), Ok(30_600));
        assert_eq!(session_duration("2w"), Ok(1_209_600));
        assert_eq!(session_duration(" 12H "), Ok(43_200));
    }

    #[test]
    fn durations_out_of_bounds_or_malformed_are_refused() {
        assert!(session_duration("7h")
            .unwrap_err()
            .contains("between 28800"));
        assert!(session_duration("3653d").is_err());
        assert!(session_duration("8x").unwrap_err().contains("unknown unit"));
        assert!(session_duration("h").is_err());
        assert!(session_duration("8").is_err());
        assert!(session_duration("").is_err());
        assert!(session_duration("28800500ms")
            .unwrap_err()
            .contains("whole seconds"));
        assert!(session_duration("99999999999999999999999999999999999999999w").is_err());
    }

    #[test]
    fn booleans() {
        assert_eq!(boolean("TRUE"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert_eq!(boolean("off"), Ok(false));
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn user_files_skip_comments_and_blanks_and_dedupe() {
        let mut ids = Vec::new();
        user_ids_from_text(
            "# header\nW1\n\n  W2 , W3\nW1 # again\n,,\r\nW4\r\n",
            &mut ids,
        );
        assert_eq!(ids, ["W1", "W2", "W3", "W1", "W4"]);
        assert_eq!(dedupe(ids), ["W1", "W2", "W3", "W4"]);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_seconds(28_800), "8 hours");
        assert_eq!(human_seconds(86_400), "1 day");
        assert_eq!(human_seconds(129_600), "1 day 12 hours");
        assert_eq!(human_seconds(315_569_520), "10 years");
        assert_eq!(human_seconds(61), "1 minute 1 second");
        assert_eq!(human_seconds(0), "0 seconds");
    }
}
