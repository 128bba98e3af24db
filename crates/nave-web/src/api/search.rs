//! `GET /api/v1/search`: one search box across the CRM's records, each kind
//! searched with the caller's record scope, so a hit is always a record the
//! caller may open.

use axum::Json;
use axum::extract::State;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::search::query_words;
use nave_store::Tx;
use nave_store::accounts::{self, AccountQuery, Visibility};
use nave_store::cases::{self, CaseQuery};
use nave_store::contacts::{self, ContactQuery};
use nave_store::leads::{self, LeadQuery};
use nave_store::pipeline::{self, OpportunityQuery};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiAuth, Query};
use crate::state::AppState;

/// What to look for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words; each must begin a word of the record (name, email, phone digits, tax id, external id).
    pub q: String,
    /// Hits per kind of record, 1 to 50 (default 10).
    pub limit: Option<i64>,
}

/// One record found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    #[schema(example = "account")]
    pub record_type: &'static str,
    pub id: String,
    pub title: String,
    pub subtitle: String,
    /// The record in the API.
    pub url: String,
    /// The record's page.
    pub page: String,
}

/// Schema of the search answer (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SearchResult {
    data: Vec<SearchHit>,
}

/// The records matching `q` that `p` may see, by kind, at most `limit` of each.
pub async fn search(tx: &mut Tx, p: &Principal, q: &str, limit: i64) -> ApiResult<Vec<SearchHit>> {
    let words = query_words(q);
    if words.is_empty() {
        return Ok(vec![]);
    }
    let mut hits = Vec::new();
    if let Some(scope) = p.scope_for(RecordType::Account, Action::Read) {
        let query = AccountQuery {
            visibility: Visibility::of(p, scope),
            archived: None,
            words: words.clone(),
            limit,
            ..Default::default()
        };
        for a in accounts::list(tx, p.tenant_id, &query).await?.items {
            let mut subtitle = a.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
            if let Some(t) = &a.tax_id {
                subtitle.push_str(&format!(" · tax id {t}"));
            }
            if a.archived {
                subtitle.push_str(" · archived");
            }
            hits.push(SearchHit {
                record_type: "account",
                id: a.id.to_string(),
                title: a.name.clone(),
                subtitle,
                url: format!("/api/v1/accounts/{}", a.id),
                page: format!("/accounts/{}", a.id),
            });
        }
    }
    if let Some(scope) = p.scope_for(RecordType::Contact, Action::Read) {
        let query =
            ContactQuery { visibility: Visibility::of(p, scope), words: words.clone(), limit, ..Default::default() };
        for c in contacts::list(tx, p.tenant_id, &query).await?.items {
            let mut subtitle = c.account_name.clone();
            if let Some(e) = &c.email {
                subtitle.push_str(&format!(" · {e}"));
            }
            hits.push(SearchHit {
                record_type: "contact",
                id: c.id.to_string(),
                title: format!("{} {}", c.first_name, c.last_name).trim().to_string(),
                subtitle,
                url: format!("/api/v1/contacts/{}", c.id),
                page: format!("/contacts/{}", c.id),
            });
        }
    }
    if let Some(scope) = p.scope_for(RecordType::Lead, Action::Read) {
        let query =
            LeadQuery { visibility: Visibility::of(p, scope), words: words.clone(), limit, ..Default::default() };
        for l in leads::list(tx, p.tenant_id, &query).await?.items {
            hits.push(SearchHit {
                record_type: "lead",
                id: l.id.to_string(),
                title: l.display_name(),
                subtitle: format!("lead · {}", l.status.as_str()),
                url: format!("/api/v1/leads/{}", l.id),
                page: format!("/leads/{}", l.id),
            });
        }
    }
    if let Some(scope) = p.scope_for(RecordType::Opportunity, Action::Read) {
        let query = OpportunityQuery {
            visibility: Visibility::of(p, scope),
            words: words.clone(),
            limit,
            ..Default::default()
        };
        for o in pipeline::list(tx, p.tenant_id, &query).await?.items {
            hits.push(SearchHit {
                record_type: "opportunity",
                id: o.id.to_string(),
                title: o.name.clone(),
                subtitle: format!("{} · {} {}", o.account_name, o.amount, o.currency.code()),
                url: format!("/api/v1/opportunities/{}", o.id),
                page: format!("/opportunities/{}", o.id),
            });
        }
    }
    if let Some(scope) = p.scope_for(RecordType::Case, Action::Read) {
        let query =
            CaseQuery { visibility: Visibility::of(p, scope), words: words.clone(), limit, ..Default::default() };
        for c in cases::list(tx, p.tenant_id, &query).await?.items {
            hits.push(SearchHit {
                record_type: "case",
                id: c.id.to_string(),
                title: c.subject.clone(),
                subtitle: c.account_name.clone(),
                url: format!("/api/v1/cases/{}", c.id),
                page: format!("/cases/{}", c.id),
            });
        }
    }
    Ok(hits)
}

#[utoipa::path(get, path = "/search", tag = "search", params(SearchQuery),
    responses((status = 200, description = "Records matching every word, that the caller may see", body = inline(SearchResult))))]
pub async fn search_records(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(q): Query<SearchQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let limit = q.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 50"));
    }
    if q.q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "must be at most 200 characters"));
    }
    let mut tx = app.db.read().await?;
    let hits = search(&mut tx, &auth.0, &q.q, limit).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({ "data": hits })))
}
