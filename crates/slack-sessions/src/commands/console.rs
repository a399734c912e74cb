//! `console`: the web console on loopback, until SIGINT or SIGTERM. All of it lives in the
//! `sessions-console` library; this only wires flags, prints the login URL and opens a browser.

use std::io::Write;

use anyhow::{Context, Result};
use sessions_console::{Console, ConsoleConfig};

use super::Outcome;
use crate::cli::{ConsoleArgs, Global};
use crate::errors::UsageError;

pub async fn run(g: &Global, a: ConsoleArgs) -> Result<Outcome> {
    let client = super::client(g, false)?;
    let listener = sessions_console::bind(a.listen)
        .await
        .map_err(|e| match e {
            sessions_console::Error::NotLoopback(_) => anyhow::Error::new(
                UsageError::new(format!("--listen {}: {e}", a.listen))
                    .hint("the console holds an admin token; use 127.0.0.1:PORT"),
            ),
            other => anyhow::Error::new(other).context(format!("listening on {}", a.listen)),
        })?;
    let addr = listener.local_addr()?;
    let mut config = ConsoleConfig::new(client, &a.data_dir);
    if let Some(per_minute) = a.max_rate {
        config = config.pacing(sessions_revoke::Pacing::max_rate(per_minute));
    }
    let console = Console::new(config, addr)?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Console URL: {}", console.login_url())?;
        out.flush()?;
    }
    if a.open {
        open_browser(console.login_url());
    }
    sessions_console::serve(listener, console, sessions_server::shutdown_signal())
        .await
        .context("the console stopped with an error")?;
    Ok(Outcome::Done)
}

/// Opens `url` with the desktop's opener. A failure is only a warning: the URL is printed.
/// (Three platform commands; not worth a dependency.)
fn open_browser(url: &str) {
    let mut cmd = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else {
        std::process::Command::new("xdg-open")
    };
    cmd.arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    match cmd.spawn() {
        // Reaped in the background so it leaves no zombie.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => tracing::warn!("could not open a browser ({e}); open the Console URL yourself"),
    }
}
