//! Saved views of list pages (`nave_store::saved_views`): the bar every such
//! list shows (the user's views as links, and a form saving the current one)
//! and the two posts behind it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::ids::PublicId;
use nave_store::saved_views;

use super::{FormData, PageAuth, PageResult};
use crate::error::ApiError;
use crate::state::AppState;

/// One saved view as a link.
#[derive(Debug, Clone)]
pub struct ViewLink {
    pub id: String,
    pub name: String,
    pub href: String,
    /// The view is the one shown now.
    pub current: bool,
}

/// What a list page's views bar shows (`parts/views.html`).
#[derive(Debug, Clone)]
pub struct ViewsBar {
    /// The list's path without the slash.
    pub list: &'static str,
    /// The current view's query string, saved as it is.
    pub query: String,
    pub saved: Vec<ViewLink>,
}

/// The bar of `list` for the user, with `query` the page's query string now.
pub async fn bar(
    tx: &mut nave_store::Tx,
    auth: &PageAuth,
    list: &'static str,
    query: &str,
) -> Result<ViewsBar, super::PageError> {
    let p = &auth.principal;
    let saved = saved_views::list(tx, p.tenant_id, p.user_id, list)
        .await?
        .into_iter()
        .map(|v| ViewLink {
            id: v.id.to_string(),
            current: v.query == query,
            href: if v.query.is_empty() { format!("/{list}") } else { format!("/{list}?{}", v.query) },
            name: v.name,
        })
        .collect();
    Ok(ViewsBar { list, query: query.to_string(), saved })
}

/// `POST /saved-views`: saves the current view of a list under a name and shows it.
pub async fn save(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let f = FormData::parse(&body);
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let v = saved_views::save(&mut tx, p.tenant_id, p.user_id, &f.get("list"), &f.get("name"), &f.get("query")).await?;
    tx.commit().await?;
    let to = if v.query.is_empty() { format!("/{}", v.list) } else { format!("/{}?{}", v.list, v.query) };
    Ok(Redirect::to(&to).into_response())
}

/// `POST /saved-views/{id}/delete`: deletes one of the user's views and shows its list.
pub async fn delete(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("saved view"))?;
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let list = saved_views::delete(&mut tx, p.tenant_id, p.user_id, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/{list}")).into_response())
}

/// The columns of a list page: each `(key, heading)` offered, and whether it
/// is shown — those `chosen` (the page's repeated `col` parameter), or the
/// `defaults` until the user chooses.
pub fn columns(
    offered: &[(&'static str, &'static str)],
    defaults: &[&str],
    chosen: &[String],
) -> Vec<(&'static str, &'static str, bool)> {
    offered
        .iter()
        .map(|&(k, h)| {
            let on = if chosen.is_empty() { defaults.contains(&k) } else { chosen.iter().any(|c| c == k) };
            (k, h, on)
        })
        .collect()
}
