//! What the method table does not say about each method: its one-line summary, notes, its
//! arguments' schemas (limits taken from sessions-wire's constants) and the component schema of
//! its `ok:true` answer. The name, path, rate tier, scope and admin-only rule come from the
//! [`Method`] implementation; the tests check these arguments against the request types.

use serde_json::{json, Value};
use sessions_wire::{
    ArgError, Args, AuthRevoke, AuthTest, Method, Request, SessionClearSettings,
    SessionGetSettings, SessionInvalidate, SessionList, SessionReset, SessionResetBulk,
    SessionSetSettings, UsersInfo, UsersList, UsersLookupByEmail, DURATION_MAX, DURATION_MIN,
    EMAIL_MAX_LEN, LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX, USER_IDS_MAX,
};

/// One argument of a method.
pub(super) struct Arg {
    pub name: &'static str,
    pub required: bool,
    /// Its schema in form and multipart bodies.
    pub schema: Value,
    /// Its schema in JSON bodies, when JSON allows more (arrays, booleans).
    pub json: Option<Value>,
}

/// The description of one method beyond the table.
pub(super) struct Spec {
    pub name: &'static str,
    pub tier: sessions_wire::RateTier,
    pub scope: sessions_wire::Scope,
    pub admin_only: bool,
    pub summary: &'static str,
    /// Said before the tier and scope in the description (empty or ending in a space).
    pub notes: &'static str,
    pub args: Vec<Arg>,
    /// Component schema of the `ok:true` answer.
    pub ok: &'static str,
    /// Decodes and validates arguments as the server does, and gives the names of the
    /// arguments the request type writes back (so tests can hold `args` to the wire type).
    #[cfg_attr(not(test), allow(dead_code))]
    pub check: fn(&Args) -> Result<Vec<&'static str>, ArgError>,
    /// The `ok:true` payload of the method's response type, serialized (so tests can hold
    /// the `ok` schema to the wire type).
    #[cfg_attr(not(test), allow(dead_code))]
    pub ok_sample: fn() -> Value,
}

fn check<M: Method>(args: &Args) -> Result<Vec<&'static str>, ArgError> {
    let request = M::Request::from_args(args)?;
    request.validate()?;
    Ok(request
        .to_form()
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

fn ok_sample<M: Method>() -> Value
where
    M::Response: Default,
{
    serde_json::to_value(M::Response::default()).unwrap_or_default()
}

fn spec<M: Method>(
    summary: &'static str,
    notes: &'static str,
    args: Vec<Arg>,
    ok: &'static str,
) -> Spec
where
    M::Response: Default,
{
    Spec {
        name: M::NAME,
        tier: M::TIER,
        scope: M::SCOPE,
        admin_only: M::ADMIN_ONLY,
        summary,
        notes,
        args,
        ok,
        check: check::<M>,
        ok_sample: ok_sample::<M>,
    }
}

fn arg(name: &'static str, schema: Value) -> Arg {
    Arg {
        name,
        required: false,
        schema,
        json: None,
    }
}

fn required(name: &'static str, schema: Value) -> Arg {
    Arg {
        required: true,
        ..arg(name, schema)
    }
}

fn string() -> Value {
    json!({"type": "string"})
}

/// A Slack boolean argument: `true`/`false`/`1`/`0` in forms, also a JSON boolean in JSON.
fn flag(name: &'static str) -> Arg {
    let form = json!({"type": "string", "enum": ["true", "false", "1", "0"]});
    Arg {
        json: Some(json!({"description": "true/false (forms also accept 1/0).",
            "oneOf": [{"type": "boolean"}, form]})),
        ..arg(name, form)
    }
}

/// `user_ids`: a comma-separated list in forms, also a JSON array in JSON.
fn user_ids() -> Arg {
    Arg {
        json: Some(json!({
            "description": "User ids: a JSON array in JSON bodies; a comma-separated list (or a \
                JSON array string) in forms.",
            "oneOf": [
                {"type": "array", "items": {"type": "string"}, "minItems": 1,
                    "maxItems": USER_IDS_MAX},
                {"type": "string"},
            ],
        })),
        ..required(
            "user_ids",
            json!({"type": "string", "description": "Comma-separated user ids."}),
        )
    }
}

fn include_locale() -> Arg {
    arg(
        "include_locale",
        json!({"type": "boolean", "description": "Accepted; no locale is stored."}),
    )
}

const PROFILE_EMAIL: &str = "`profile.email` only with `users:read.email`. ";

/// Every method of the table, in the order of [`sessions_wire::METHOD_NAMES`].
pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec::<SessionList>(
            "List active user sessions for an organization.",
            "",
            vec![
                arg("team_id", string()),
                arg("user_id", string()),
                arg("cursor", string()),
                arg(
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX,
                        "default": LIST_LIMIT_DEFAULT}),
                ),
            ],
            "ListOk",
        ),
        spec::<SessionInvalidate>(
            "Revoke a single session for a user.",
            "",
            vec![
                required("session_id", json!({"type": "integer", "minimum": 1})),
                arg("user_id", string()),
                arg("team_id", string()),
            ],
            "Ok",
        ),
        spec::<SessionReset>(
            "Wipes all valid sessions on all devices for a given user.",
            "",
            vec![
                required("user_id", string()),
                flag("mobile_only"),
                flag("web_only"),
            ],
            "Ok",
        ),
        spec::<SessionResetBulk>(
            "Enqueues an asynchronous job to wipe all valid sessions on all devices for a given \
             list of users.",
            "",
            vec![user_ids(), flag("mobile_only"), flag("web_only")],
            "Ok",
        ),
        spec::<SessionGetSettings>(
            "Get user-specific session settings (session duration and quit-on-close) for a \
             list of users.",
            "",
            vec![user_ids()],
            "GetSettingsOk",
        ),
        spec::<SessionSetSettings>(
            "Configure the user-level session settings (session duration and quit-on-close) \
             for one or more users.",
            "",
            vec![
                user_ids(),
                arg(
                    "duration",
                    json!({"type": "integer", "minimum": DURATION_MIN, "maximum": DURATION_MAX}),
                ),
                flag("desktop_app_browser_quit"),
            ],
            "Ok",
        ),
        spec::<SessionClearSettings>(
            "Clear user-specific session settings (session duration and quit-on-close) for a \
             list of users.",
            "",
            vec![user_ids()],
            "Ok",
        ),
        spec::<AuthTest>(
            "Checks authentication and tells you who you are.",
            "",
            vec![],
            "AuthTestOk",
        ),
        spec::<AuthRevoke>(
            "Revokes a token.",
            "Revokes the calling API token (user or bot); afterwards it answers `token_revoked`. \
             With `test` true nothing is revoked and the answer says `\"revoked\": false`. \
             Session tokens are refused (`not_allowed_token_type`): they end with their session. ",
            vec![flag("test")],
            "AuthRevokeOk",
        ),
        spec::<UsersLookupByEmail>(
            "Find a user with an email address.",
            "A deactivated user, or one of another org, is `users_not_found`. ",
            vec![required(
                "email",
                json!({"type": "string", "maxLength": EMAIL_MAX_LEN,
                    "description": format!("Matched case-insensitively, surrounding spaces \
                        ignored; at most {EMAIL_MAX_LEN} characters.")}),
            )],
            "UserOk",
        ),
        spec::<UsersInfo>(
            "Gets information about a user.",
            PROFILE_EMAIL,
            vec![required("user", string()), include_locale()],
            "UserOk",
        ),
        spec::<UsersList>(
            "Lists all users of the organization, or of one workspace.",
            "Pages in user id order, deactivated users included. `profile.email` only with \
             `users:read.email`. ",
            vec![
                arg("cursor", string()),
                arg(
                    "limit",
                    json!({"type": "integer", "minimum": 0, "description": format!(
                        "0 or absent: {} per page; more than {} is served as {}.",
                        sessions_wire::USERS_LIST_LIMIT_DEFAULT,
                        sessions_wire::USERS_LIST_LIMIT_MAX,
                        sessions_wire::USERS_LIST_LIMIT_MAX
                    )}),
                ),
                arg(
                    "team_id",
                    json!({"type": "string", "description": "Only members of this workspace."}),
                ),
                include_locale(),
            ],
            "UsersListOk",
        ),
    ]
}
