//! The token never shows in Debug output or logs.

use crate::support::TOKEN;
use sessions_client::*;

#[test]
fn debug_output_redacts_token() {
    let b = Client::builder(TOKEN).base_url("http://127.0.0.1:1/api");
    let shown = format!("{b:?}");
    assert!(
        !shown.contains(TOKEN) && !shown.contains("secret"),
        "{shown}"
    );
    assert!(shown.contains("redacted"));
    let c = b.build().unwrap();
    let shown = format!("{c:?} {:#?} {:?}", c, c.with_token("xoxp-second-secret"));
    assert!(
        !shown.contains(TOKEN) && !shown.contains("secret"),
        "{shown}"
    );
    assert!(shown.contains("http://127.0.0.1:1/api/"));
}
