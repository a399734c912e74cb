//! What one call is about, before it runs: the [`Plan`] of its audit entry (action, targets,
//! session, details), per method ([`Audited`]), built once per call by [`parse`] from the
//! arguments, or from whatever can be read of arguments that do not parse.

use std::collections::HashSet;

use serde_json::{Map, Value};
use sessions_store::{
    ACTION_BULK_RESET, ACTION_SESSION_INVALIDATED, ACTION_SESSION_RESET, ACTION_SETTINGS_CHANGED,
    ACTION_TOKEN_REVOKED,
};
use sessions_wire::{
    ArgError, Args, AuthRevoke, AuthTest, Method, Request as _, ResetScope, SessionClearSettings,
    SessionGetSettings, SessionInvalidate, SessionList, SessionReset, SessionResetBulk,
    SessionSetSettings, UsersInfo, UsersList, UsersLookupByEmail,
};

use super::origin::truncate;
use crate::service::unique;

/// Most target ids a refusal's entry keeps.
pub(crate) const REFUSED_TARGETS_MAX: usize = 100;
/// Longest id (or other text argument) a refusal's entry keeps; Slack ids are about 11 bytes.
pub(crate) const ID_MAX: usize = 32;

/// What one call is about, before it runs.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The method's name.
    pub(super) method: &'static str,
    /// The audit action.
    pub(super) action: &'static str,
    pub(super) targets: Vec<String>,
    pub(super) session_id: Option<u64>,
    pub(super) details: Map<String, Value>,
}

impl Plan {
    fn new<M: Method>(action: &'static str, targets: Vec<String>) -> Plan {
        Plan {
            method: M::NAME,
            action,
            targets,
            session_id: None,
            details: Map::new(),
        }
    }

    fn detail(mut self, key: &str, value: impl Into<Value>) -> Plan {
        self.details.insert(key.into(), value.into());
        self
    }

    /// The plan of a refusal, bounded in size whatever the request (see the module docs).
    pub(super) fn bounded(mut self) -> Plan {
        let total = self.targets.len();
        if total > REFUSED_TARGETS_MAX {
            self.targets.truncate(REFUSED_TARGETS_MAX);
            self.details.insert("target_count".into(), total.into());
            self.details.insert("targets_truncated".into(), true.into());
        }
        let mut seen = HashSet::new();
        self.targets = std::mem::take(&mut self.targets)
            .into_iter()
            .map(|t| truncate(t, ID_MAX))
            .filter(|t| seen.insert(t.clone()))
            .collect();
        for v in self.details.values_mut() {
            if let Value::String(text) = v {
                *text = truncate(std::mem::take(text), ID_MAX);
            }
        }
        self
    }
}

/// Which methods are recorded, and how their arguments become a [`Plan`].
pub(crate) trait Audited: Method {
    /// The audit action, `None` for reads.
    const ACTION: Option<&'static str>;
    /// Targets and details from parsed arguments (only called when [`Self::ACTION`] is set).
    fn plan(req: &Self::Request) -> Plan;
}

macro_rules! not_audited {
    ($($m:ty),*) => {$(
        impl Audited for $m {
            const ACTION: Option<&'static str> = None;
            fn plan(_: &Self::Request) -> Plan {
                Plan::new::<Self>("", Vec::new())
            }
        }
    )*};
}
not_audited!(
    SessionList,
    SessionGetSettings,
    AuthTest,
    UsersLookupByEmail,
    UsersInfo,
    UsersList
);

fn scope_name(scope: Result<ResetScope, ArgError>) -> &'static str {
    match scope {
        Ok(ResetScope::All) => "all",
        Ok(ResetScope::MobileOnly) => "mobile_only",
        Ok(ResetScope::WebOnly) => "web_only",
        Err(_) => "invalid",
    }
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The caller's own token: the target (the caller) is named by the service, once known.
impl Audited for AuthRevoke {
    const ACTION: Option<&'static str> = Some(ACTION_TOKEN_REVOKED);
    fn plan(_: &Self::Request) -> Plan {
        Plan::new::<Self>(ACTION_TOKEN_REVOKED, Vec::new())
    }
}

impl Audited for SessionInvalidate {
    const ACTION: Option<&'static str> = Some(ACTION_SESSION_INVALIDATED);
    fn plan(req: &Self::Request) -> Plan {
        let mut plan = Plan::new::<Self>(
            ACTION_SESSION_INVALIDATED,
            trimmed(&req.user_id).into_iter().collect(),
        );
        plan.session_id = req.session_id.map(|s| s.0);
        match trimmed(&req.team_id) {
            Some(t) => plan.detail("team_id", t),
            None => plan,
        }
    }
}

impl Audited for SessionReset {
    const ACTION: Option<&'static str> = Some(ACTION_SESSION_RESET);
    fn plan(req: &Self::Request) -> Plan {
        Plan::new::<Self>(ACTION_SESSION_RESET, vec![req.user_id.trim().to_owned()])
            .detail("scope", scope_name(req.scope()))
    }
}

impl Audited for SessionResetBulk {
    const ACTION: Option<&'static str> = Some(ACTION_BULK_RESET);
    fn plan(req: &Self::Request) -> Plan {
        Plan::new::<Self>(ACTION_BULK_RESET, unique(&req.user_ids))
            .detail("scope", scope_name(req.scope()))
    }
}

impl Audited for SessionSetSettings {
    const ACTION: Option<&'static str> = Some(ACTION_SETTINGS_CHANGED);
    fn plan(req: &Self::Request) -> Plan {
        let mut plan = Plan::new::<Self>(ACTION_SETTINGS_CHANGED, unique(&req.user_ids));
        if let Some(d) = req.duration {
            plan = plan.detail("duration", d);
        }
        if let Some(q) = req.desktop_app_browser_quit {
            plan = plan.detail("desktop_app_browser_quit", q);
        }
        plan
    }
}

impl Audited for SessionClearSettings {
    const ACTION: Option<&'static str> = Some(ACTION_SETTINGS_CHANGED);
    fn plan(req: &Self::Request) -> Plan {
        Plan::new::<Self>(ACTION_SETTINGS_CHANGED, unique(&req.user_ids)).detail("cleared", true)
    }
}

/// A best-effort plan from arguments that did not parse (so the refusal names whom the
/// caller was after, when it can be read).
fn plan_from_args<M: Audited>(action: &'static str, args: &Args) -> Plan {
    let mut targets: Vec<String> = Vec::new();
    if let Some(u) = args.get("user_id").map(str::trim).filter(|u| !u.is_empty()) {
        targets.push(u.to_owned());
    }
    if let Ok(Some(list)) = args.list("user_ids") {
        targets.extend(list);
    }
    let mut plan = Plan::new::<M>(action, unique(&targets));
    plan.session_id = args
        .get("session_id")
        .and_then(sessions_wire::args::parse_u64);
    plan
}

/// Parses a call's arguments (not yet validated) and builds its plan: the one place a call's
/// plan is made. The plan is `None` for methods that are not recorded.
pub(crate) fn parse<M: Audited>(args: &Args) -> (Result<M::Request, ArgError>, Option<Plan>) {
    let parsed = M::Request::from_args(args);
    let plan = M::ACTION.map(|action| match &parsed {
        Ok(req) => M::plan(req),
        Err(_) => plan_from_args::<M>(action, args),
    });
    (parsed, plan)
}

/// The plan alone, for a call refused before its arguments were needed; `None` for methods
/// that are not recorded (their arguments are then not even parsed).
pub(crate) fn plan<M: Audited>(args: &Args) -> Option<Plan> {
    M::ACTION?;
    parse::<M>(args).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_plans_are_bounded() {
        let ids: Vec<String> = (0..150)
            .map(|i| format!("W{i:03}{}", "x".repeat(40)))
            .collect();
        let plan = Plan::new::<SessionResetBulk>(ACTION_BULK_RESET, ids)
            .detail("scope", "x".repeat(100))
            .bounded();
        assert_eq!(plan.targets.len(), REFUSED_TARGETS_MAX);
        assert!(plan.targets.iter().all(|t| t.len() == ID_MAX));
        assert_eq!(plan.details["target_count"], 150);
        assert_eq!(plan.details["targets_truncated"], true);
        assert_eq!(plan.details["scope"].as_str().unwrap().len(), ID_MAX);
    }

    #[test]
    fn unparsable_arguments_still_name_their_targets() {
        let mut args = Args::default();
        args.push("user_ids", "WA,WB,WA");
        args.push("session_id", "12");
        args.push("duration", "not a number");
        let (parsed, plan) = parse::<SessionSetSettings>(&args);
        assert!(parsed.is_err());
        let p = plan.unwrap();
        assert_eq!(p.targets, ["WA", "WB"]);
        assert_eq!(p.session_id, Some(12));
        assert_eq!(p.method, SessionSetSettings::NAME);
        assert!(super::plan::<SessionList>(&args).is_none());
    }
}
