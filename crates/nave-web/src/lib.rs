//! Nave's HTTP edge: the JSON API under `/api/v1` with its OpenAPI document,
//! the web pages, and the conventions and protections they share.
//!
//! A request travels: `security::request_context` (request id, headers, log)
//! → for pages `security::csp` and `security::csrf` → an extractor that
//! authenticates (`extract::ApiAuth` or `pages::PageAuth`) → the handler,
//! which checks the permission, calls the store in one transaction
//! (`write::Writer` for API writes) and presents the result through field
//! security (`present`).
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware::from_fn;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_swagger_ui::SwaggerUi;

pub mod api;
pub mod assets;
pub mod chart;
pub mod connectors;
pub mod csv_export;
pub mod error;
pub mod extract;
pub mod import;
pub mod jobs;
pub mod pages;
pub mod pdf;
pub mod pictures;
pub mod present;
pub mod security;
pub mod state;
pub mod uploads;
pub mod webhooks;
pub mod write;

pub use state::{AppState, WebConfig};

use crate::error::ApiError;

/// The largest request body accepted (JSON and forms).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The OpenAPI document of the API, as JSON.
pub fn openapi_json() -> String {
    api::router().1.to_pretty_json().expect("the OpenAPI document serialises")
}

/// The whole application: API, docs, pages and assets.
pub fn app(state: AppState) -> Router {
    let (api, spec) = api::router();
    let pages = Router::new()
        .route("/", get(pages::home::home))
        .route("/login", get(pages::auth::login_form).post(pages::auth::login))
        .route("/logout", post(pages::auth::logout))
        .route("/accounts", get(pages::accounts::list).post(pages::accounts::create))
        .route("/accounts/new", get(pages::accounts::new_form))
        .route("/accounts/{id}", get(pages::accounts::show).post(pages::accounts::update))
        .route("/accounts/{id}/edit", get(pages::accounts::edit_form))
        .route("/accounts/export.csv", get(pages::exports::accounts))
        .route("/contacts", get(pages::contacts::list))
        .route("/contacts/export.csv", get(pages::exports::contacts))
        .route("/products/export.csv", get(pages::exports::products))
        .route("/payments/export.csv", get(pages::exports::payments))
        .route("/cases/export.csv", get(pages::exports::cases))
        .route("/leads/export.csv", get(pages::exports::leads))
        .route("/opportunities/export.csv", get(pages::exports::opportunities))
        .route("/exports/{list}", post(pages::exports::start))
        .route(
            "/imports",
            get(pages::imports::import_page)
                .post(pages::imports::start)
                .layer(DefaultBodyLimit::max(extract::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/jobs/{id}", get(pages::jobs::job_page))
        .route("/jobs/{id}/progress", get(pages::jobs::progress))
        .route("/jobs/{id}/download", get(pages::jobs::download))
        .route("/accounts/bulk", post(pages::accounts::bulk))
        .route("/cases/bulk", post(pages::cases::bulk))
        .route("/opportunities/bulk", post(pages::pipeline::bulk))
        .route("/leads/bulk", post(pages::leads::bulk))
        .route("/saved-views", post(pages::views::save))
        .route("/saved-views/{id}/delete", post(pages::views::delete))
        .route("/accounts/{id}/merge", post(pages::accounts::merge))
        .route("/accounts/{id}/contacts", post(pages::contacts::create))
        .route("/accounts/{id}/contacts/new", get(pages::contacts::new_form))
        .route("/contacts/{id}", get(pages::contacts::show).post(pages::contacts::update))
        .route("/contacts/{id}/edit", get(pages::contacts::edit_form))
        .route("/opportunities", get(pages::pipeline::list).post(pages::pipeline::create))
        .route("/opportunities/new", get(pages::pipeline::new_form))
        .route("/opportunities/{id}", get(pages::pipeline::show).post(pages::pipeline::update))
        .route("/opportunities/{id}/edit", get(pages::pipeline::edit_form))
        .route("/reports/pipeline-forecast", get(pages::pipeline::forecast))
        .route("/reports", get(pages::reports::index))
        .route("/reports/{name}", get(pages::reports::show))
        .route("/cases", get(pages::cases::list).post(pages::cases::create))
        .route("/cases/new", get(pages::cases::new_form))
        .route("/cases/{id}", get(pages::cases::show).post(pages::cases::update))
        .route("/cases/{id}/edit", get(pages::cases::edit_form))
        .route("/cases/{id}/actions/{action}", post(pages::cases::act))
        .route("/admin/users", get(pages::access::users_page).post(pages::access::create_user))
        .route("/admin/users/new", get(pages::access::new_user))
        .route("/admin/users/{id}", get(pages::access::edit_user).post(pages::access::update_user))
        .route("/admin/roles", get(pages::access::roles_page).post(pages::access::create_role))
        .route("/admin/roles/new", get(pages::access::new_role))
        .route("/admin/roles/{id}", get(pages::access::show_role).post(pages::access::update_role))
        .route("/admin/roles/{id}/delete", post(pages::access::delete_role))
        .route("/admin/teams", get(pages::access::teams_page).post(pages::access::create_team))
        .route("/admin/teams/{id}", post(pages::access::rename_team))
        .route("/admin/teams/{id}/delete", post(pages::access::delete_team))
        .route("/search", get(pages::search::search_page))
        .route("/activities", post(pages::activities::log))
        .route("/activities/{id}/done", post(pages::activities::done))
        .route("/leads", get(pages::leads::list).post(pages::leads::create))
        .route("/leads/new", get(pages::leads::new_form))
        .route("/leads/{id}", get(pages::leads::show).post(pages::leads::update))
        .route("/leads/{id}/edit", get(pages::leads::edit_form))
        .route("/leads/{id}/convert", post(pages::leads::convert))
        .route("/payment-terms", get(pages::settings::payment_terms_page).post(pages::terms::create))
        .route("/payment-terms/new", get(pages::terms::new_form))
        .route("/payment-terms/{id}", post(pages::terms::update))
        .route("/payment-terms/{id}/edit", get(pages::terms::edit_form))
        .route("/taxes", get(pages::settings::taxes_page).post(pages::settings::create_tax))
        .route("/taxes/new", get(pages::settings::new_tax))
        .route("/taxes/{id}", post(pages::settings::update_tax))
        .route("/taxes/{id}/edit", get(pages::settings::edit_tax))
        .route("/tax-categories", post(pages::settings::create_category))
        .route("/tax-categories/new", get(pages::settings::new_category))
        .route("/tax-categories/{id}", post(pages::settings::update_category))
        .route("/tax-categories/{id}/edit", get(pages::settings::edit_category))
        .route("/stock", get(pages::stock::levels_page))
        .route("/stock/movements", get(pages::stock::movements_page))
        .route("/stock/adjustments", post(pages::stock::create_adjustment))
        .route("/stock/adjustments/new", get(pages::stock::new_adjustment))
        .route("/stock/adjustments/{id}", get(pages::stock::show_adjustment))
        .route("/stock/transfers", post(pages::stock::create_transfer))
        .route("/stock/transfers/new", get(pages::stock::new_transfer))
        .route("/stock/transfers/{id}", get(pages::stock::show_transfer))
        .route("/warehouses", get(pages::stock::warehouses_page).post(pages::stock::create_warehouse))
        .route("/warehouses/new", get(pages::stock::new_warehouse))
        .route("/warehouses/{id}", post(pages::stock::update_warehouse))
        .route("/warehouses/{id}/edit", get(pages::stock::edit_warehouse))
        .route("/price-lists", get(pages::price_lists::list_page).post(pages::price_lists::create))
        .route("/price-lists/new", get(pages::price_lists::new_form))
        .route("/price-lists/{id}", get(pages::price_lists::show_page).post(pages::price_lists::update))
        .route("/price-lists/{id}/edit", get(pages::price_lists::edit_form))
        .route("/products", get(pages::catalog::products_page).post(pages::catalog::create))
        .route("/products/new", get(pages::catalog::new_form))
        .route("/product-categories", get(pages::categories::list).post(pages::categories::create))
        .route("/product-categories/new", get(pages::categories::new_form))
        .route("/product-categories/{id}", post(pages::categories::update))
        .route("/product-categories/{id}/edit", get(pages::categories::edit_form))
        .route("/product-categories/{id}/delete", post(pages::categories::delete))
        .route("/products/{id}", get(pages::catalog::show).post(pages::catalog::update))
        .route("/products/{id}/edit", get(pages::catalog::edit_form))
        .route(
            "/products/{id}/picture",
            get(pages::catalog::picture)
                .post(pages::catalog::upload_picture)
                .layer(DefaultBodyLimit::max(extract::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/products/{id}/picture/delete", post(pages::catalog::delete_picture))
        .route(
            "/attachments",
            post(pages::attachments::upload).layer(DefaultBodyLimit::max(extract::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/attachments/{id}/download", get(pages::attachments::download))
        .route("/attachments/{id}/delete", post(pages::attachments::remove))
        .route("/settings/me", get(pages::me::show).post(pages::me::save))
        .route("/settings/company", get(pages::company::company_page).post(pages::company::save))
        .route(
            "/settings/company/logo",
            post(pages::company::upload_logo).layer(DefaultBodyLimit::max(extract::MAX_UPLOAD_BYTES + 64 * 1024)),
        )
        .route("/settings/company/logo/delete", post(pages::company::delete_logo))
        .route("/settings/tokens", get(pages::admin::tokens_page).post(pages::admin::create_token))
        .route("/settings/tokens/{id}/revoke", post(pages::admin::revoke_token))
        .merge(pages::documents::routes())
        .merge(pages::fulfilment::routes())
        .merge(pages::payments::routes())
        .merge(pages::purchase::routes())
        .merge(pages::subscriptions::routes())
        .merge(pages::sequences::routes())
        .merge(pages::webhooks::routes())
        .merge(pages::woocommerce::routes())
        .merge(pages::sync::routes())
        .fallback(pages::not_found)
        .layer(from_fn(security::csrf))
        .layer(from_fn(security::csp))
        .layer(from_fn(pages::show::scope));
    Router::new()
        .merge(pages)
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", spec))
        .route("/assets/{*path}", get(assets::serve))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal(&"a handler panicked").into_response()))
        .layer(from_fn(security::request_context))
        .with_state(state)
}

/// `GET /health`: the process is up.
async fn health() -> Response {
    (StatusCode::OK, axum::Json(serde_json::json!({"status": "ok"}))).into_response()
}

/// `GET /ready`: the database answers and the schema is current.
async fn ready(State(app): State<AppState>) -> Response {
    let check = async {
        let mut tx = app.db.read().await?;
        let v = tx.scalar_i64("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations", vec![]).await?;
        tx.commit().await?;
        Ok::<i64, nave_store::StoreError>(v)
    }
    .await;
    match check {
        Ok(v) if v == nave_store::migrate::latest_version() => {
            (StatusCode::OK, axum::Json(serde_json::json!({"status": "ready", "schema_version": v}))).into_response()
        }
        Ok(v) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "migrations pending", "schema_version": v})),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({"status": "database unavailable"})))
                .into_response()
        }
    }
}

/// Removes expired sessions and idempotency keys older than a day, every hour.
pub async fn janitor(db: nave_store::Db) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        let r = async {
            let mut tx = db.write().await?;
            let s = nave_store::sessions::purge_expired(&mut tx).await?;
            let k = nave_store::idempotency::purge_older_than(&mut tx, time::Duration::hours(24)).await?;
            tx.commit().await?;
            Ok::<_, nave_store::StoreError>((s, k))
        }
        .await;
        match r {
            Ok((s, k)) => tracing::debug!(sessions = s, idempotency_keys = k, "janitor done"),
            Err(e) => tracing::warn!(error = %e, "janitor failed"),
        }
    }
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let janitor = tokio::spawn(janitor(state.db.clone()));
    if let Ok(addr) = listener.local_addr() {
        let _ = state.listen_addr.set(addr);
    }
    let worker = state.config.webhook_worker.then(|| webhooks::spawn_worker(&state));
    let r = axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await;
    janitor.abort();
    if let Some(w) = worker {
        w.abort();
    }
    r
}
