//! Saved list views: a user's named filters of a list page, kept as the
//! page's query string (filters, search words and the columns chosen), so a
//! view opens as a plain link and needs no knowledge of each list here.
//!
//! They are the user's own preferences, not business records: only their
//! owner sees or deletes them, and they are neither audited nor sent out as
//! events (like sessions).

use nave_domain::DomainError;
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;

use crate::db::{Tx, now};
use crate::{StoreResult, args};

/// The list pages views can be saved for (their paths without the slash).
pub const LISTS: &[&str] = &[
    "accounts",
    "contacts",
    "leads",
    "products",
    "payments",
    "payments-sent",
    "cases",
    "opportunities",
    "shipments",
    "subscriptions",
    "quotes",
    "sales-orders",
    "invoices",
    "credit-notes",
    "purchase-orders",
    "receipts",
    "bills",
    "bill-credits",
];

/// A saved view.
#[derive(Debug, Clone)]
pub struct SavedView {
    pub id: PublicId,
    pub list: String,
    pub name: String,
    /// The query string, without `?`.
    pub query: String,
}

/// The user's views of one list, by name.
pub async fn list(tx: &mut Tx, tenant_id: i64, user_id: i64, list: &str) -> StoreResult<Vec<SavedView>> {
    tx.fetch_all(
        "SELECT public_id, list, name, query FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND list = $3 \
         ORDER BY name",
        args![tenant_id, user_id, list],
        |r| {
            Ok(SavedView {
                id: PublicId::from_uuid(r.uuid("public_id")?),
                list: r.text("list")?,
                name: r.text("name")?,
                query: r.text("query")?,
            })
        },
    )
    .await
}

/// Saves the view `name` of `list` for the user, replacing one of the same name.
pub async fn save(
    tx: &mut Tx,
    tenant_id: i64,
    user_id: i64,
    list: &str,
    name: &str,
    query: &str,
) -> StoreResult<SavedView> {
    let mut v = Validator::new();
    if !LISTS.contains(&list) {
        v.add("list", format!("views are saved for {}", LISTS.join(", ")));
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        v.add("name", "must be 1 to 80 characters");
    }
    let query = query.trim().trim_start_matches('?');
    if query.len() > 2000 || query.chars().any(|c| c.is_control()) {
        v.add("query", "must be a query string of at most 2000 characters");
    }
    // The cursor of a page is not part of a view.
    let query: String =
        query.split('&').filter(|p| !p.is_empty() && !p.starts_with("after=")).collect::<Vec<_>>().join("&");
    v.finish()?;
    tx.execute(
        "DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND list = $3 AND name = $4",
        args![tenant_id, user_id, list, name],
    )
    .await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO saved_views (tenant_id, id, public_id, user_id, list, name, query, created_at) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7)",
        tx.new_id_expr("saved_views", "$1")
    );
    tx.execute(sql, args![tenant_id, id, user_id, list, name, query.as_str(), now()]).await?;
    Ok(SavedView { id, list: list.to_string(), name: name.to_string(), query })
}

/// Deletes one of the user's views; returns the list it belonged to.
pub async fn delete(tx: &mut Tx, tenant_id: i64, user_id: i64, id: PublicId) -> StoreResult<String> {
    let list = tx
        .fetch_optional(
            "SELECT list FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND public_id = $3",
            args![tenant_id, user_id, id],
            |r| r.text("list"),
        )
        .await?
        .ok_or(DomainError::NotFound { record: "saved view" })?;
    tx.execute(
        "DELETE FROM saved_views WHERE tenant_id = $1 AND user_id = $2 AND public_id = $3",
        args![tenant_id, user_id, id],
    )
    .await?;
    Ok(list)
}
