//! `GET /search?q=`: the search box's results page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{Layout, PageAuth, PageResult, render};
use crate::api::search::{SearchHit, search};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    hits: Vec<SearchHit>,
}

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    q: Option<String>,
}

/// `GET /search`.
pub async fn search_page(
    State(app): State<AppState>,
    auth: PageAuth,
    Query(params): Query<SearchParams>,
) -> PageResult {
    let q: String = params.q.unwrap_or_default().chars().take(200).collect();
    let mut tx = app.db.read().await?;
    let hits = search(&mut tx, &auth.principal, &q, 25).await?;
    tx.commit().await?;
    Ok(render(&SearchPage { layout: auth.layout("search"), q, hits }).into_response())
}
