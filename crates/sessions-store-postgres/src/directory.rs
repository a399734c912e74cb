//! The user directory behind `users.info`, `users.lookupByEmail` and `users.list`: the profile
//! fields fixtures may give users (`email`, `real_name`, `deleted`), kept in their own table
//! so the identity path (authentication, admin methods) never reads them.

use std::collections::HashMap;

use tokio_postgres::Row;

use crate::engine::TxError;
use crate::queries::{user_from_row, USER_COLS};
use sessions_store::*;

/// `SELECT` list of a record: the user columns plus the profile (`users u LEFT JOIN p`).
pub(crate) fn select() -> String {
    format!(
        "SELECT {USER_COLS}, p.email AS p_email, p.real_name AS p_real_name, \
         COALESCE(p.deleted, FALSE) AS p_deleted"
    )
}

/// Joins the profile onto `users u`.
pub(crate) const JOIN: &str =
    "LEFT JOIN user_profiles p ON p.org_id = u.org_id AND p.user_id = u.user_id";

pub(crate) fn record_from_row(row: &Row) -> Result<UserRecord, TxError> {
    Ok(UserRecord {
        user: user_from_row(row)?,
        email: row.try_get("p_email")?,
        real_name: row.try_get("p_real_name")?,
        deleted: row.try_get("p_deleted")?,
    })
}

/// At most one record: `<select> FROM <from> <JOIN> WHERE <filter>` with `params`, the one
/// query shape of the single-user reads (`user_record`, `user_by_email`).
pub(crate) async fn one(
    c: &deadpool_postgres::Client,
    from: &str,
    filter: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<UserRecord>, TxError> {
    let sql = format!("{} FROM {from} {JOIN} WHERE {filter}", select());
    let stmt = c.prepare_cached(&sql).await?;
    c.query_opt(&stmt, params)
        .await?
        .as_ref()
        .map(record_from_row)
        .transpose()
}

/// Stores the profile of every fixture user that has one (inside the load's transaction,
/// after the users are written).
pub(crate) async fn insert(
    tx: &tokio_postgres::Transaction<'_>,
    fixture: &Fixture,
) -> Result<(), TxError> {
    let (mut orgs, mut ids, mut emails) = (Vec::<&str>::new(), Vec::<&str>::new(), Vec::new());
    let (mut keys, mut real_names, mut deleted) = (Vec::new(), Vec::new(), Vec::new());
    for org in &fixture.orgs {
        for u in org.users.iter().filter(|u| u.has_profile()) {
            orgs.push(&org.id);
            ids.push(&u.id);
            emails.push(u.email.as_deref());
            keys.push(u.email.as_deref().map(email_key));
            real_names.push(u.real_name.as_deref());
            deleted.push(u.deleted);
        }
    }
    if orgs.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO user_profiles (org_id, user_id, email, email_key, real_name, deleted)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::bool[])",
        &[&orgs, &ids, &emails, &keys, &real_names, &deleted],
    )
    .await?;
    Ok(())
}

/// Adds the stored profiles to the users of a dump taken in the same snapshot.
pub(crate) async fn fill(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: Option<&str>,
    fixture: &mut Fixture,
) -> Result<(), TxError> {
    let mut profiles = HashMap::new();
    for r in tx
        .query(
            "SELECT org_id, user_id, email, real_name, deleted FROM user_profiles
             WHERE $1::text IS NULL OR org_id = $1",
            &[&org_id],
        )
        .await?
    {
        let key: (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let value: (Option<String>, Option<String>, bool) =
            (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
        profiles.insert(key, value);
    }
    for org in &mut fixture.orgs {
        for u in &mut org.users {
            if let Some((email, real_name, deleted)) =
                profiles.remove(&(org.id.clone(), u.id.clone()))
            {
                u.email = email;
                u.real_name = real_name;
                u.deleted = deleted;
            }
        }
    }
    Ok(())
}
