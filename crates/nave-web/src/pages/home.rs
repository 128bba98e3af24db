//! The start page.

use askama::Template;
use axum::extract::State;
use axum::response::IntoResponse;
use nave_domain::access::{Action, RecordType};
use nave_store::accounts::{self, AccountQuery, Visibility};

use super::accounts::{AccountRow, row_of};
use super::{Layout, PageAuth, PageResult, render};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    first_name: String,
    account_count: String,
    recent: Vec<AccountRow>,
    /// The signed-in user's open tasks, with the page of what each hangs from.
    tasks: Vec<(super::activities::Entry, Option<String>)>,
}

/// `GET /`.
pub async fn home(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    let (count, recent) = match p.scope_for(RecordType::Account, Action::Read) {
        Some(scope) => {
            let mut tx = app.db.read().await?;
            let q = AccountQuery { visibility: Visibility::of(p, scope), limit: 200, ..Default::default() };
            let page = accounts::list(&mut tx, p.tenant_id, &q).await?;
            tx.commit().await?;
            let count = if page.next.is_some() { "200+".to_string() } else { page.items.len().to_string() };
            let mut items = page.items;
            items.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
            items.truncate(8);
            (count, items.iter().map(|a| row_of(p, a)).collect())
        }
        None => ("0".to_string(), vec![]),
    };
    let tasks = super::activities::my_open_tasks(&app, p).await?;
    let page = HomePage {
        tasks,
        layout: auth.layout("home"),
        first_name: auth.user.name.split_whitespace().next().unwrap_or("").to_string(),
        account_count: count,
        recent,
    };
    Ok(render(&page).into_response())
}
