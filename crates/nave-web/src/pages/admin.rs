//! One's own API tokens (the access admin pages are in `access`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_store::tokens::{self, NewToken};

use super::{Layout, PageAuth, PageResult, fmt_time, render};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

#[derive(Debug)]
struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    created: String,
    expires: String,
    last_used: String,
    state: &'static str,
    revocable: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    new_token: Option<String>,
    error: Option<String>,
}

async fn tokens_view(app: &AppState, auth: &PageAuth, new_token: Option<String>, error: Option<String>) -> PageResult {
    let mut tx = app.db.read().await?;
    let list = tokens::list(&mut tx, auth.principal.tenant_id, Some(auth.principal.user_id)).await?;
    tx.commit().await?;
    let now = nave_store::db::now();
    let rows = list
        .into_iter()
        .map(|t| {
            let state = if t.revoked_at.is_some() {
                "revoked"
            } else if t.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            };
            TokenRow {
                id: t.id.to_string(),
                name: t.name,
                prefix: t.prefix,
                created: fmt_time(t.created_at),
                expires: t.expires_at.map(fmt_time).unwrap_or_else(|| "never".into()),
                last_used: t.last_used_at.map(fmt_time).unwrap_or_else(|| "never".into()),
                state,
                revocable: state == "active",
            }
        })
        .collect();
    let page = TokensPage { layout: auth.layout("tokens"), tokens: rows, new_token, error };
    Ok(render(&page).into_response())
}

/// `GET /settings/tokens`.
pub async fn tokens_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    tokens_view(&app, &auth, None, None).await
}

/// `POST /settings/tokens`: creates a token and shows its secret once.
pub async fn create_token(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    if auth.principal.scope_for(RecordType::ApiToken, Action::Create).is_none() {
        return Err(ApiError::forbidden("your role may not create API tokens").into());
    }
    let mut name = String::new();
    let mut days = String::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "name" => name = v.into_owned(),
            "expires_in_days" => days = v.trim().to_string(),
            _ => {}
        }
    }
    let expires_at = if days.is_empty() {
        None
    } else {
        match days.parse::<i64>() {
            Ok(d) if (1..=3650).contains(&d) => Some(nave_store::db::now() + time::Duration::days(d)),
            _ => {
                return tokens_view(&app, &auth, None, Some("Expiry must be a number of days from 1 to 3650.".into()))
                    .await;
            }
        }
    };
    let mut tx = app.db.write().await?;
    let new = NewToken { user_key: auth.principal.user_id, name, source_system: None, expires_at };
    match tokens::create(&mut tx, &actor_of(&auth.principal), new).await {
        Ok((_, secret)) => {
            tx.commit().await?;
            tokens_view(&app, &auth, Some(secret), None).await
        }
        Err(e) => {
            drop(tx);
            let e: ApiError = e.into();
            tokens_view(&app, &auth, None, Some(e.detail)).await
        }
    }
}

/// `POST /settings/tokens/{id}/revoke`.
pub async fn revoke_token(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("api_token"))?;
    let mut tx = app.db.write().await?;
    let t =
        tokens::get(&mut tx, auth.principal.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("api_token"))?;
    if t.user_key != auth.principal.user_id {
        return Err(ApiError::not_found("api_token").into());
    }
    tokens::revoke(&mut tx, &actor_of(&auth.principal), id).await?;
    tx.commit().await?;
    Ok(Redirect::to("/settings/tokens").into_response())
}
