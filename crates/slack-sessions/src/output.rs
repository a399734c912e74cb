//! Output formatting: tables for people, JSON / NDJSON / CSV for programs.
//!
//! Sessions are written one at a time so `list --all` never holds more than the page the
//! client is decoding. Slack's `list` carries no timestamps, so there is no age column: we show
//! ages only where the wire has a time, and it has none.

use std::io::{self, Write};

use sessions_wire::{ActiveSession, AuthTestResponse, DeviceInfo, GetSettingsResponse};

use crate::cli::Format;
use crate::parse::human_seconds;

/// Column titles of the session table and CSV.
const HEADERS: [&str; 7] = ["SESSION", "USER", "TEAM", "DEVICE", "OS", "CLIENT", "IP"];
/// Widths of the streaming table (`list --all`), where rows print before later rows are known.
/// The last column is not padded.
const FIXED_WIDTHS: [usize; 6] = [12, 12, 11, 18, 16, 12];

fn or_dash(v: &Option<String>) -> &str {
    match v.as_deref() {
        Some(s) if !s.is_empty() => s,
        _ => "-",
    }
}

fn os_of(d: &DeviceInfo) -> String {
    match (d.os.as_deref(), d.os_version.as_deref()) {
        (Some(os), Some(v)) if !v.is_empty() => format!("{os} {v}"),
        (Some(os), _) if !os.is_empty() => os.to_owned(),
        _ => "-".to_owned(),
    }
}

/// One session's table/CSV cells. The device columns describe the session as created; the
/// JSON formats carry `recent` too.
fn cells(s: &ActiveSession) -> [String; 7] {
    let d = &s.created;
    [
        s.session_id.to_string(),
        s.user_id.clone(),
        s.team_id.clone(),
        or_dash(&d.device_hardware).to_owned(),
        os_of(d),
        or_dash(&d.slack_client_version).to_owned(),
        or_dash(&d.ip).to_owned(),
    ]
}

/// Cuts `s` to `width` characters, marking the cut with `…`.
fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::with_capacity(128);
    for (i, cell) in cells.iter().enumerate() {
        match widths.get(i) {
            Some(&w) => {
                let text = fit(cell, w);
                line.push_str(&text);
                // Two spaces between columns.
                let pad = w - text.chars().count() + 2;
                line.push_str(&" ".repeat(pad));
            }
            None => line.push_str(cell),
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// Writes a table whose column widths fit its content.
pub fn write_table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    widths.pop(); // the last column is never padded
    let head: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    write_row(out, &head, &widths)?;
    for row in rows {
        write_row(out, row, &widths)?;
    }
    Ok(())
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

pub fn write_csv_row(out: &mut (impl Write + ?Sized), cells: &[String]) -> io::Result<()> {
    let mut line = String::with_capacity(128);
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        // A dash stands for "absent" in tables only; CSV leaves the field empty.
        if c != "-" {
            line.push_str(&csv_field(c));
        }
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// Writes sessions as they arrive in one of the formats.
///
/// - `json`: `{"active_sessions":[...],"next_cursor":"..."}`, Slack's own page shape, also
///   for `--all` (streamed, with an empty `next_cursor` at the end).
/// - `ndjson`: one session object per line.
/// - `csv`: a header, then one row per session.
/// - `table`: fitted columns for one page; fixed columns when streaming.
#[derive(Debug)]
pub struct SessionWriter<W: Write> {
    out: W,
    format: Format,
    streaming: bool,
    count: u64,
    page: Vec<Vec<String>>,
}

impl<W: Write> SessionWriter<W> {
    /// Starts the output (headers, opening brackets).
    pub fn begin(mut out: W, format: Format, streaming: bool) -> io::Result<Self> {
        match format {
            Format::Json => out.write_all(b"{\"active_sessions\":[")?,
            Format::Csv => {
                let head: Vec<String> = HEADERS.iter().map(|h| h.to_lowercase()).collect();
                write_csv_row(&mut out, &head)?;
            }
            Format::Table if streaming => {
                let head: Vec<String> = HEADERS.iter().map(|h| (*h).to_owned()).collect();
                write_row(&mut out, &head, &FIXED_WIDTHS)?;
            }
            Format::Table | Format::Ndjson => {}
        }
        Ok(SessionWriter {
            out,
            format,
            streaming,
            count: 0,
            page: Vec::new(),
        })
    }

    /// Writes one session.
    pub fn session(&mut self, s: &ActiveSession) -> io::Result<()> {
        match self.format {
            Format::Json => {
                self.out
                    .write_all(if self.count == 0 { b"\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, s)?;
            }
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, s)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => write_csv_row(&mut self.out, &cells(s))?,
            Format::Table if self.streaming => write_row(&mut self.out, &cells(s), &FIXED_WIDTHS)?,
            Format::Table => self.page.push(cells(s).to_vec()),
        }
        self.count += 1;
        Ok(())
    }

    /// Pushes buffered output out, so a slow stream still shows progress.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the output; `next_cursor` is `""` on the last page. Returns how many were written.
    pub fn finish(mut self, next_cursor: &str) -> io::Result<u64> {
        match self.format {
            Format::Json => {
                if self.count > 0 {
                    self.out.write_all(b"\n")?;
                }
                self.out.write_all(b"],\"next_cursor\":")?;
                serde_json::to_writer(&mut self.out, next_cursor)?;
                self.out.write_all(b"}\n")?;
            }
            Format::Table if !self.streaming => write_table(&mut self.out, &HEADERS, &self.page)?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.count)
    }
}

/// `whoami` as a two-column table.
pub fn write_whoami(out: &mut impl Write, who: &AuthTestResponse) -> io::Result<()> {
    let named = |name: Option<&str>, id: &str| match name {
        Some(n) if !n.is_empty() && n != id => format!("{n} ({id})"),
        _ => id.to_owned(),
    };
    let mut rows = vec![
        vec!["org".to_owned(), or_dash(&who.enterprise_id).to_owned()],
        vec!["team".to_owned(), named(Some(&who.team), &who.team_id)],
        vec!["user".to_owned(), named(who.user.as_deref(), &who.user_id)],
        vec![
            "url".to_owned(),
            if who.url.is_empty() {
                "-".into()
            } else {
                who.url.clone()
            },
        ],
    ];
    if let Some(bot) = &who.bot_id {
        rows.push(vec!["bot".to_owned(), bot.clone()]);
    }
    if who.is_enterprise_install {
        rows.push(vec!["install".to_owned(), "org-wide".to_owned()]);
    }
    let widths = [rows.iter().map(|r| r[0].len()).max().unwrap_or(0)];
    for row in &rows {
        write_row(out, row, &widths)?;
    }
    Ok(())
}

/// `settings get` as a table: one row per requested user, in the order Slack answered.
pub fn write_settings_table(out: &mut impl Write, s: &GetSettingsResponse) -> io::Result<()> {
    let mut rows = Vec::with_capacity(s.session_settings.len() + s.no_settings_applied.len());
    for set in &s.session_settings {
        rows.push(vec![
            set.user_id.clone(),
            match set.duration {
                Some(d) => format!("{} ({d} s)", human_seconds(d)),
                None => "(default)".to_owned(),
            },
            match set.desktop_app_browser_quit {
                Some(q) => q.to_string(),
                None => "(default)".to_owned(),
            },
        ]);
    }
    for user in &s.no_settings_applied {
        rows.push(vec![
            user.clone(),
            "(default)".to_owned(),
            "(default)".to_owned(),
        ]);
    }
    write_table(out, &["USER", "DURATION", "QUIT_ON_CLOSE"], &rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_wire::{SessionId, SessionSetting};

    fn session(id: u64, device: Option<&str>) -> ActiveSession {
        ActiveSession {
            user_id: "W1".into(),
            team_id: "T1".into(),
            session_id: SessionId(id),
            created: DeviceInfo {
                device_hardware: device.map(str::to_owned),
                os: Some("macOS".into()),
                os_version: Some("14.1".into()),
                slack_client_version: None,
                ip: Some("203.0.113.7".into()),
            },
            recent: None,
        }
    }

    fn render(format: Format, streaming: bool, sessions: &[ActiveSession], cursor: &str) -> String {
        let mut buf = Vec::new();
        let mut w = SessionWriter::begin(&mut buf, format, streaming).unwrap();
        for s in sessions {
            w.session(s).unwrap();
        }
        assert_eq!(w.finish(cursor).unwrap(), sessions.len() as u64);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn json_is_a_valid_page_even_when_empty() {
        let two = render(
            Format::Json,
            true,
            &[session(1, None), session(2, None)],
            "",
        );
        let v: serde_json::Value = serde_json::from_str(&two).unwrap();
        assert_eq!(v["active_sessions"].as_array().unwrap().len(), 2);
        assert_eq!(v["next_cursor"], "");
        let none = render(Format::Json, false, &[], "abc");
        let v: serde_json::Value = serde_json::from_str(&none).unwrap();
        assert_eq!(v["active_sessions"].as_array().unwrap().len(), 0);
        assert_eq!(v["next_cursor"], "abc");
    }

    #[test]
    fn ndjson_is_one_object_per_line() {
        let out = render(
            Format::Ndjson,
            true,
            &[session(1, None), session(2, None)],
            "",
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        for (i, line) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["session_id"], i as u64 + 1);
        }
    }

    #[test]
    fn csv_quotes_and_leaves_absent_fields_empty() {
        let out = render(Format::Csv, false, &[session(7, Some("Pixel, \"8\""))], "");
        assert_eq!(
            out,
            "session,user,team,device,os,client,ip\n\
             7,W1,T1,\"Pixel, \"\"8\"\"\",macOS 14.1,,203.0.113.7\n"
        );
    }

    #[test]
    fn tables_fit_or_truncate() {
        let long = "A".repeat(40);
        let fitted = render(Format::Table, false, &[session(7, Some(&long))], "");
        assert!(fitted.contains(&long), "{fitted}");
        let fixed = render(Format::Table, true, &[session(7, Some(&long))], "");
        assert!(!fixed.contains(&long));
        assert!(fixed.contains(&format!("{}…", "A".repeat(17))), "{fixed}");
        // Every streamed row starts its columns at the same offsets.
        let offsets: Vec<usize> = fixed.lines().map(|l| l.find("W1").unwrap_or(0)).collect();
        assert_eq!(offsets[1], 14);
        assert_eq!(fixed.lines().next().unwrap().find("USER"), Some(14));
    }

    #[test]
    fn settings_table_shows_defaults() {
        let s = GetSettingsResponse {
            session_settings: vec![SessionSetting {
                user_id: "W1".into(),
                desktop_app_browser_quit: Some(true),
                duration: Some(86_400),
            }],
            no_settings_applied: vec!["W2".into()],
        };
        let mut buf = Vec::new();
        write_settings_table(&mut buf, &s).unwrap();
        let out = String::from_utf8(buf).unwrap();
        assert!(out.contains("W1    1 day (86400 s)  true"), "{out}");
        assert!(out.contains("W2    (default)        (default)"), "{out}");
    }
}
