//! The audit log: what is recorded about admin actions, and `GET /audit/v1/logs` to read it.
//!
//! Recording:
//! - Every call of `invalidate`, `reset`, `resetBulk`, `setSettings` and `clearSettings` by an
//!   authenticated caller is recorded under Slack's audit action names
//!   (`user_session_invalidated`, `user_session_reset_by_admin`, `bulk_session_reset_by_admin`,
//!   `user_session_settings_changed`), with the actor (the token's user), the targets, the
//!   caller's address and user agent, the server clock's time, and the result: `ok` or the
//!   error code the caller got (`not_an_admin`, `missing_scope`, `user_not_found`,
//!   `invalid_arguments`, ...). Reads (`list`, `getSettings`, `auth.test`) are not recorded.
//! - `auth.revoke` is recorded the same way, as `user_token_revoked` (our name: Slack's audit
//!   reference has none for it) with the caller as actor and target, in the revocation's own
//!   transaction (the store's `revoke_token_audited`); a `test` call revokes nothing and
//!   records nothing; its refusals are recorded like any other.
//! - Calls without a valid token (`not_authed`, `invalid_auth`, `token_revoked`) are not
//!   recorded: anyone could fill the log with them, and there is no actor to name.
//!   Authorization ([`crate::service::authorize`]) hands back the principal of a refused
//!   valid token, so a refusal is recorded without looking the token up again.
//! - Each call's [`Plan`] (action, targets, details) is built once, from its arguments, when
//!   they are parsed, and travels with the call ([`crate::service::Ctx`]): a successful
//!   action's entry is made from it by the service ([`ok_entry`]) and written in the action's
//!   own transaction (the store's `*_audited` writes), so the action is applied if and only if
//!   its entry exists; a refusal's entry is made from it by [`refused`] and appended on its
//!   own before the answer is sent (a failed append is logged at `error` and does not change
//!   the answer).
//! - `resetBulk` records `bulk_session_reset_by_admin` in the same transaction as the job, and
//!   the store appends one `user_session_reset_by_admin` per user (with that user's outcome and
//!   the original caller's address and user agent) in the transaction that completes the job:
//!   no window there, a recorded job always has its entries.
//! - A refusal's entry is bounded whatever the request: at most [`REFUSED_TARGETS_MAX`](plan::REFUSED_TARGETS_MAX) (100)
//!   target ids, each cut to [`ID_MAX`](plan::ID_MAX) (32) bytes, with `details.target_count` (the number of
//!   distinct ids asked for) and `details.targets_truncated: true` when some were left out;
//!   text in details cut to `ID_MAX` bytes too; the user agent to 512 bytes. A refused call
//!   therefore adds at most about 8 KB to the store (entry plus target index rows), however
//!   large its body. Successful calls keep every target: validation already bounds them
//!   (at most 1,000 existing users).
//! - The caller's address is the TCP peer's. `X-Forwarded-For` is honoured only when the
//!   server runs with `trust_forwarded_for` (`--trust-forwarded-for`), and then its LAST entry
//!   is used: the one the nearest proxy appended, which a client cannot forge.
//!
//! Reading: `GET /audit/v1/logs` ([`http`]), in the shape of Slack's Audit Logs API.
//!
//! Modules: [`origin`] (where a call came from), [`plan`] (what a call is about, per method),
//! [`record`] (entries from plans, appending refusals), [`http`] (the read endpoint).

mod http;
mod origin;
mod plan;
mod record;

pub(crate) use http::logs;
pub(crate) use origin::Origin;
pub(crate) use plan::{parse, plan, Audited, Plan};
pub(crate) use record::{ok_entry, refused};
