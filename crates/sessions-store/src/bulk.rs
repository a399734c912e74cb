//! The business rules of a resetBulk job, above the backends: which listed users a job resets
//! and which it skips, and why. Both backends complete a job by planning it here and then
//! applying the plan in their own transaction.

use std::collections::HashMap;

/// Result code of a listed user the org does not have.
pub const USER_NOT_FOUND: &str = "user_not_found";
/// Result code of a listed user that is a bot: bots' sessions are not reset.
pub const CANNOT_RESET_BOT: &str = "cannot_reset_bot";

/// Whether a job resets one listed user: `is_bot` is `None` when the org has no such user.
/// `Err` carries the code recorded in the job's results and its audit entry.
pub fn decide(is_bot: Option<bool>) -> Result<(), &'static str> {
    match is_bot {
        None => Err(USER_NOT_FOUND),
        Some(true) => Err(CANNOT_RESET_BOT),
        Some(false) => Ok(()),
    }
}

/// What completing a job does: the users whose sessions it revokes, and one result per listed
/// user in the job's order (`None` for reset, or the code it was skipped with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPlan {
    /// Users whose matching sessions are revoked.
    pub targets: Vec<String>,
    /// `(user, outcome)` per listed user, in the job's order.
    pub results: Vec<(String, Option<String>)>,
}

/// Plans a job over `user_ids` given what the org has: `is_bot` by user id for the users that
/// exist (see [`decide`]).
pub fn plan(user_ids: &[String], is_bot: &HashMap<String, bool>) -> BulkPlan {
    let mut targets = Vec::new();
    let mut results = Vec::with_capacity(user_ids.len());
    for u in user_ids {
        let outcome = match decide(is_bot.get(u).copied()) {
            Ok(()) => {
                targets.push(u.clone());
                None
            }
            Err(code) => Some(code.to_owned()),
        };
        results.push((u.clone(), outcome));
    }
    BulkPlan { targets, results }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_users_and_bots_are_skipped_with_their_codes_in_order() {
        let kinds = HashMap::from([("W1".to_owned(), false), ("B1".to_owned(), true)]);
        let users: Vec<String> = ["W404", "W1", "B1", "W1"].map(String::from).to_vec();
        let p = plan(&users, &kinds);
        assert_eq!(p.targets, vec!["W1".to_owned(), "W1".to_owned()]);
        assert_eq!(
            p.results,
            vec![
                ("W404".to_owned(), Some(USER_NOT_FOUND.to_owned())),
                ("W1".to_owned(), None),
                ("B1".to_owned(), Some(CANNOT_RESET_BOT.to_owned())),
                ("W1".to_owned(), None),
            ]
        );
        assert_eq!(decide(Some(false)), Ok(()));
    }
}
