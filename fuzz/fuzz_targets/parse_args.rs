//! Argument parsing across every content type and list encoding, then every method's
//! `Request::from_args` + `validate`. Nothing may panic; every refusal must carry a Slack code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sessions_wire::{
    Args, AuthTestRequest, ClearSettingsRequest, GetSettingsRequest, InvalidateRequest,
    ListRequest, Request, ResetBulkRequest, ResetRequest, SetSettingsRequest, UsersInfoRequest,
    UsersListRequest, UsersLookupByEmailRequest,
};

const CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("multipart/form-data; boundary=X"),
    Some("multipart/form-data"),
    Some("text/plain"),
    Some("text/plain; charset=latin1"),
];

fn check<R: Request>(args: &Args) {
    if let Ok(req) = R::from_args(args) {
        if req.validate().is_ok() {
            // What validates must survive the client's own encoding.
            let form = req.to_form();
            let mut again = Args::new();
            for (k, v) in form {
                again.push(k.to_owned(), v);
            }
            let back = R::from_args(&again).expect("a valid request re-decodes");
            back.validate().expect("a valid request re-validates");
        }
    } else if let Err(e) = R::from_args(args) {
        let _ = (e.to_string(), e.slack_message(), e.code());
    }
}

fuzz_target!(|data: &[u8]| {
    // Layout: [selector][query len][query bytes][body...]; the selector picks the content type
    // (or, past the table, a content type taken from the input).
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((&qlen, rest)) = rest.split_first() else {
        return;
    };
    let qlen = (qlen as usize).min(rest.len());
    let (query, body) = rest.split_at(qlen);
    let query = std::str::from_utf8(query).ok().filter(|q| !q.is_empty());
    let (ct, body): (Option<&str>, &[u8]) = match CONTENT_TYPES.get(sel as usize % 10) {
        Some(ct) => (*ct, body),
        None => {
            // Custom content type: first line of the body.
            let nl = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
            (
                std::str::from_utf8(&body[..nl]).ok(),
                body.get(nl + 1..).unwrap_or(&[]),
            )
        }
    };
    match sessions_server::extract::parse_args(ct, query, body) {
        Ok(call) => {
            let a = &call.args;
            check::<ListRequest>(a);
            check::<InvalidateRequest>(a);
            check::<ResetRequest>(a);
            check::<ResetBulkRequest>(a);
            check::<GetSettingsRequest>(a);
            check::<SetSettingsRequest>(a);
            check::<ClearSettingsRequest>(a);
            check::<AuthTestRequest>(a);
            check::<UsersLookupByEmailRequest>(a);
            check::<UsersInfoRequest>(a);
            check::<UsersListRequest>(a);
        }
        Err(e) => {
            assert!(e.message.starts_with("[ERROR] "), "{e:?}");
        }
    }
});
