//! The JSON API under `/api/v1`, and its OpenAPI document.
//!
//! Handlers are thin: extract → check permission → one store call in a
//! transaction → present. The conventions (auth, paging, idempotency,
//! versions, problem+json) live in `extract`, `write`, `present` and `error`.

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use nave_domain::error::ErrorCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

pub mod accounts;
pub mod activities;
pub mod attachments;
pub mod audit;
pub mod cases;
pub mod catalog;
pub mod company;
pub mod contacts;
pub mod documents;
pub mod events;
pub mod hooks;
pub mod leads;
pub mod me;
pub mod overview;
pub mod payment_terms;
pub mod payments;
pub mod pipeline;
pub mod price_lists;
pub mod purchase;
pub mod reports;
pub mod roles;
pub mod search;
pub mod sequences;
pub mod shipments;
pub mod stock;
pub mod subscriptions;
pub mod sync;
pub mod taxes;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod woocommerce;

/// Parses a record id from a path; an id that cannot exist is simply not found.
pub fn parse_id(record: &str, id: &str) -> Result<nave_domain::ids::PublicId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found(record))
}

/// The key of the user an optional filter names, or a validation error on `field`.
pub async fn user_key(
    tx: &mut nave_store::Tx,
    tenant_id: i64,
    id: Option<nave_domain::ids::PublicId>,
    field: &str,
) -> Result<Option<i64>, ApiError> {
    match id {
        Some(u) => Ok(Some(nave_store::users::resolve(tx, tenant_id, u, field).await?)),
        None => Ok(None),
    }
}

/// Deserialises a field that may be absent (keep), `null` (clear) or a value (set).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nave API",
        description = "The CRM with order management built in. Conventions: docs/API-DESIGN.md. \
            Money and quantities are decimal strings; ids are opaque strings; lists are cursor-paged \
            (`{\"data\": [...], \"next\": cursor|null}`); writes accept `Idempotency-Key`; updates \
            accept `If-Match: <version>`; errors are application/problem+json.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("nave_<tenant>_<secret>").build(),
            ),
        );
    }
}

/// The API router and its OpenAPI document.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(me::get_me))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::get_user, users::update_user, users::delete_user))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(roles::get_role, roles::update_role, roles::delete_role))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(teams::get_team, teams::update_team, teams::delete_team))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::get_token, tokens::revoke_token))
        .routes(routes!(audit::list_audit_log))
        .routes(routes!(events::list_events))
        .routes(routes!(accounts::list_accounts, accounts::create_account))
        .routes(routes!(accounts::get_account, accounts::update_account, accounts::delete_account))
        .routes(routes!(overview::account_overview))
        .routes(routes!(accounts::merge_account))
        .routes(routes!(contacts::list_account_contacts))
        .routes(routes!(contacts::list_contacts, contacts::create_contact))
        .routes(routes!(contacts::get_contact, contacts::update_contact, contacts::delete_contact))
        .routes(routes!(payment_terms::list_payment_terms, payment_terms::create_payment_terms))
        .routes(routes!(payment_terms::preview_unsaved_terms))
        .routes(routes!(
            payment_terms::get_payment_terms,
            payment_terms::update_payment_terms,
            payment_terms::delete_payment_terms
        ))
        .routes(routes!(payment_terms::preview_payment_terms))
        .routes(routes!(taxes::list_taxes, taxes::create_tax))
        .routes(routes!(taxes::get_tax, taxes::update_tax, taxes::delete_tax))
        .routes(routes!(taxes::list_tax_categories, taxes::create_tax_category))
        .routes(routes!(taxes::get_tax_category, taxes::update_tax_category, taxes::delete_tax_category))
        .routes(routes!(catalog::list_product_categories, catalog::create_product_category))
        .routes(routes!(
            catalog::get_product_category,
            catalog::update_product_category,
            catalog::delete_product_category
        ))
        .routes(routes!(catalog::list_products, catalog::create_product))
        .routes(routes!(catalog::get_product, catalog::update_product, catalog::delete_product))
        .routes(routes!(catalog::get_product_picture, catalog::put_product_picture, catalog::delete_product_picture))
        .routes(routes!(catalog::list_warehouses, catalog::create_warehouse))
        .routes(routes!(catalog::get_warehouse, catalog::update_warehouse, catalog::delete_warehouse))
        .routes(routes!(price_lists::list_price_lists, price_lists::create_price_list))
        .routes(routes!(price_lists::get_price_list, price_lists::update_price_list, price_lists::delete_price_list))
        .routes(routes!(price_lists::get_product_price))
        .routes(routes!(taxes::get_product_taxes))
        .routes(routes!(attachments::list_attachments, attachments::create_attachment))
        .routes(routes!(attachments::get_attachment, attachments::delete_attachment))
        .routes(routes!(attachments::get_attachment_content))
        .routes(routes!(search::search_records))
        .routes(routes!(activities::list_activities, activities::create_activity))
        .routes(routes!(activities::get_activity, activities::update_activity, activities::delete_activity))
        .routes(routes!(activities::account_timeline))
        .routes(routes!(leads::list_leads, leads::create_lead))
        .routes(routes!(leads::get_lead, leads::update_lead, leads::delete_lead))
        .routes(routes!(leads::convert_lead))
        .routes(routes!(stock::list_stock))
        .routes(routes!(stock::list_stock_movements))
        .routes(routes!(stock::create_stock_adjustment))
        .routes(routes!(stock::get_stock_adjustment))
        .routes(routes!(stock::create_stock_transfer))
        .routes(routes!(stock::get_stock_transfer))
        .routes(routes!(pipeline::list_pipeline_stages, pipeline::create_pipeline_stage))
        .routes(routes!(pipeline::get_pipeline_stage, pipeline::update_pipeline_stage, pipeline::delete_pipeline_stage))
        .routes(routes!(pipeline::list_opportunities, pipeline::create_opportunity))
        .routes(routes!(pipeline::get_opportunity, pipeline::update_opportunity, pipeline::delete_opportunity))
        .routes(routes!(pipeline::get_opportunity_history))
        .routes(routes!(pipeline::list_account_opportunities))
        .routes(routes!(pipeline::get_pipeline_forecast))
        .routes(routes!(reports::get_report))
        .routes(routes!(cases::list_cases, cases::create_case))
        .routes(routes!(cases::get_case, cases::update_case, cases::delete_case))
        .routes(routes!(cases::act_on_case))
        .routes(routes!(cases::list_account_cases))
        .routes(routes!(documents::list_quotes, documents::create_quote))
        .routes(routes!(documents::get_quote, documents::update_quote, documents::delete_quote))
        .routes(routes!(documents::act_on_quote))
        .routes(routes!(documents::list_account_quotes))
        .routes(routes!(documents::quote_pdf))
        .routes(routes!(documents::get_quote_revision))
        .routes(routes!(documents::list_sales_orders, documents::create_sales_order))
        .routes(routes!(documents::get_sales_order, documents::update_sales_order, documents::delete_sales_order))
        .routes(routes!(documents::act_on_sales_order))
        .routes(routes!(documents::list_account_sales_orders))
        .routes(routes!(documents::sales_order_pdf))
        .routes(routes!(documents::list_invoices, documents::create_invoice))
        .routes(routes!(documents::get_invoice, documents::update_invoice, documents::delete_invoice))
        .routes(routes!(documents::act_on_invoice))
        .routes(routes!(documents::list_account_invoices))
        .routes(routes!(documents::invoice_pdf))
        .routes(routes!(documents::list_credit_notes, documents::create_credit_note))
        .routes(routes!(documents::get_credit_note, documents::update_credit_note, documents::delete_credit_note))
        .routes(routes!(documents::act_on_credit_note))
        .routes(routes!(documents::list_account_credit_notes))
        .routes(routes!(documents::credit_note_pdf))
        // The purchase side.
        .routes(routes!(documents::list_purchase_orders, documents::create_purchase_order))
        .routes(routes!(
            documents::get_purchase_order,
            documents::update_purchase_order,
            documents::delete_purchase_order
        ))
        .routes(routes!(documents::act_on_purchase_order))
        .routes(routes!(documents::list_account_purchase_orders))
        .routes(routes!(documents::purchase_order_pdf))
        .routes(routes!(documents::list_receipts, documents::create_receipt))
        .routes(routes!(documents::get_receipt, documents::update_receipt, documents::delete_receipt))
        .routes(routes!(documents::act_on_receipt))
        .routes(routes!(documents::list_account_receipts))
        .routes(routes!(documents::receipt_pdf))
        .routes(routes!(documents::list_bills, documents::create_bill))
        .routes(routes!(documents::get_bill, documents::update_bill, documents::delete_bill))
        .routes(routes!(documents::act_on_bill))
        .routes(routes!(documents::list_account_bills))
        .routes(routes!(documents::bill_pdf))
        .routes(routes!(documents::list_bill_credits, documents::create_bill_credit))
        .routes(routes!(documents::get_bill_credit, documents::update_bill_credit, documents::delete_bill_credit))
        .routes(routes!(documents::act_on_bill_credit))
        .routes(routes!(documents::list_account_bill_credits))
        .routes(routes!(documents::bill_credit_pdf))
        .routes(routes!(payments::list_payments_sent, payments::create_payment_sent))
        .routes(routes!(payments::get_payment_sent))
        .routes(routes!(payments::allocate_payment_sent))
        .routes(routes!(payments::list_account_payments_sent))
        .routes(routes!(purchase::reorder_suggestions, purchase::order_suggestions))
        .routes(routes!(purchase::make_drop_ship_orders))
        .routes(routes!(purchase::set_minimum))
        .routes(routes!(subscriptions::list_subscriptions, subscriptions::create_subscription))
        .routes(routes!(subscriptions::get_subscription, subscriptions::update_subscription))
        .routes(routes!(subscriptions::act_on_subscription))
        .routes(routes!(subscriptions::list_subscription_invoices))
        .routes(routes!(subscriptions::run_subscriptions))
        .routes(routes!(shipments::list_shipments, shipments::create_shipment))
        .routes(routes!(shipments::get_shipment, shipments::update_shipment, shipments::delete_shipment))
        .routes(routes!(shipments::act_on_shipment))
        .routes(routes!(shipments::list_order_shipments))
        .routes(routes!(shipments::get_order_left))
        .routes(routes!(shipments::order_desk))
        .routes(routes!(payments::apply_credit_note))
        .routes(routes!(payments::refund_credit_note))
        .routes(routes!(payments::list_payments, payments::create_payment))
        .routes(routes!(payments::get_payment))
        .routes(routes!(payments::allocate_payment))
        .routes(routes!(payments::list_account_payments))
        .routes(routes!(sequences::list_sequences))
        .routes(routes!(sequences::get_sequence, sequences::update_sequence))
        .routes(routes!(company::get_company, company::put_company))
        .routes(routes!(company::get_company_logo, company::put_company_logo, company::delete_company_logo))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(webhooks::get_webhook, webhooks::update_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::list_webhook_deliveries))
        .routes(routes!(webhooks::replay_webhook_delivery))
        .routes(routes!(webhooks::replay_webhook_period))
        .routes(routes!(woocommerce::list_woo_connections, woocommerce::create_woo_connection))
        .routes(routes!(
            woocommerce::get_woo_connection,
            woocommerce::update_woo_connection,
            woocommerce::delete_woo_connection
        ))
        .routes(routes!(woocommerce::list_woo_intake))
        .routes(routes!(woocommerce::retry_woo_intake))
        .routes(routes!(woocommerce::get_woo_order))
        .routes(routes!(woocommerce::woo_webhook))
        .routes(routes!(hooks::subscribe_hook))
        .routes(routes!(hooks::unsubscribe_hook))
        .routes(routes!(hooks::hook_sample))
        .routes(routes!(hooks::poll_trigger));
    let v1 = sync::routes(v1);
    let (v1, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).split_for_parts();
    let api = v1
        .route("/api/problems", axum::routing::get(problem_catalogue))
        .route("/api/problems/{code}", axum::routing::get(problem_catalogue))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .method_not_allowed_fallback(method_not_allowed);
    (api, spec)
}

async fn api_not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such API endpoint; see /api/docs")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this endpoint does not support that method; see /api/docs")
}

#[derive(Serialize)]
struct CatalogueEntry {
    code: &'static str,
    status: u16,
    title: &'static str,
}

/// Every error code, its status and title.
async fn problem_catalogue() -> impl IntoResponse {
    let list: Vec<CatalogueEntry> = ErrorCode::ALL
        .iter()
        .map(|&c| CatalogueEntry { code: c.as_str(), status: crate::error::status_of(c).as_u16(), title: c.title() })
        .collect();
    (StatusCode::OK, Json(list))
}
