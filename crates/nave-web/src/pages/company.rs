//! The admin's company page (`/settings/company`): the details printed at
//! the head of every document, the logo (uploaded as a multipart form, kept
//! in the database) and the purchase receiving tolerance. The same store
//! functions as `PUT /api/v1/settings/company`, one transaction each.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use base64::Engine;
use nave_domain::access::{Action, RecordType};
use nave_store::company::{self, CompanyInput, CompanySettings};
use rust_decimal::Decimal;

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, render, require};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::CompanySettings;

/// The form as typed.
#[derive(Debug, Clone, Default)]
struct CompanyForm {
    legal_name: String,
    address: String,
    tax_id: String,
    email: String,
    phone: String,
    receiving_tolerance_percent: String,
    version: String,
}

impl CompanyForm {
    fn of(s: &CompanySettings) -> Self {
        CompanyForm {
            legal_name: s.legal_name.clone(),
            address: s.address.clone(),
            tax_id: s.tax_id.clone().unwrap_or_default(),
            email: s.email.clone().unwrap_or_default(),
            phone: s.phone.clone().unwrap_or_default(),
            receiving_tolerance_percent: s.receiving_tolerance_percent.clone(),
            version: s.version.to_string(),
        }
    }

    fn parse(f: &FormData) -> Self {
        CompanyForm {
            legal_name: f.get("legal_name"),
            address: f.get("address"),
            tax_id: f.get("tax_id"),
            email: f.get("email"),
            phone: f.get("phone"),
            receiving_tolerance_percent: f.get("receiving_tolerance_percent"),
            version: f.get("version"),
        }
    }
}

#[derive(Template)]
#[template(path = "company.html")]
struct CompanyPage {
    layout: Layout,
    form: CompanyForm,
    errors: FormErrors,
    /// The logo as a `data:` URL, for the preview.
    logo: Option<String>,
    /// The stored version (the logo forms carry it).
    version: i64,
    /// The details were saved once (a logo needs them).
    saved: bool,
    logo_error: Option<String>,
}

async fn shown(
    app: &AppState,
    auth: &PageAuth,
    form: Option<CompanyForm>,
    errors: FormErrors,
    logo_error: Option<(StatusCode, String)>,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let s = company::get(&mut tx, p.tenant_id).await?;
    let logo = company::logo(&mut tx, p.tenant_id).await?.map(|(f, data)| {
        format!("data:{};base64,{}", f.content_type, base64::engine::general_purpose::STANDARD.encode(data))
    });
    tx.commit().await?;
    let status = match (&logo_error, errors.is_empty()) {
        (Some((st, _)), _) => *st,
        (None, true) => StatusCode::OK,
        (None, false) => errors.status(),
    };
    let page = CompanyPage {
        layout: auth.layout("company"),
        form: form.unwrap_or_else(|| CompanyForm::of(&s)),
        errors,
        logo,
        version: s.version,
        saved: s.version > 0,
        logo_error: logo_error.map(|e| e.1),
    };
    Ok((status, render(&page)).into_response())
}

fn may_change(auth: &PageAuth) -> Result<(), super::PageError> {
    require(&auth.principal, T, Action::Update, "change the company settings")
}

/// `GET /settings/company`.
pub async fn company_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    may_change(&auth)?;
    shown(&app, &auth, None, FormErrors::default(), None).await
}

/// `POST /settings/company`: saves the details, or shows them again with
/// each error next to its field and the input kept.
pub async fn save(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    may_change(&auth)?;
    let p = &auth.principal;
    let data = FormData::parse(&body);
    let form = CompanyForm::parse(&data);
    let mut errors = FormErrors::default();
    let pct = match form.receiving_tolerance_percent.trim() {
        "" => Some(Decimal::ZERO),
        s => s
            .parse::<Decimal>()
            .map_err(|_| errors.add("receiving_tolerance_percent", "must be a percent between 0 and 100, like 5.0"))
            .ok(),
    };
    let Some(pct) = pct else { return shown(&app, &auth, Some(form), errors, None).await };
    let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let input = CompanyInput {
        legal_name: form.legal_name.clone(),
        address: form.address.clone(),
        tax_id: blank(&form.tax_id),
        email: blank(&form.email),
        phone: blank(&form.phone),
        receiving_tolerance_percent: pct,
    };
    let version = form.version.trim().parse::<i64>().ok();
    let mut tx = app.db.write().await?;
    let saved = company::update(&mut tx, &actor_of(p), version, input)
        .await
        .map(|_| "/settings/company".to_string())
        .map_err(ApiError::from);
    match super::finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => shown(&app, &auth, Some(form), errors, None).await,
    }
}

/// `POST /settings/company/logo`: a multipart form with the image in `logo`.
pub async fn upload_logo(State(app): State<AppState>, auth: PageAuth, mut form: Multipart) -> PageResult {
    may_change(&auth)?;
    let p = &auth.principal;
    let mut bytes = None;
    let mut version = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("logo") => match field.bytes().await {
                Ok(b) => bytes = Some(b.to_vec()),
                Err(e) => {
                    return shown(&app, &auth, None, FormErrors::default(), Some((e.status(), e.body_text()))).await;
                }
            },
            Ok(Some(field)) if field.name() == Some("version") => {
                version = field.text().await.ok().and_then(|v| v.trim().parse::<i64>().ok());
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return shown(&app, &auth, None, FormErrors::default(), Some((e.status(), e.body_text()))).await,
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        let e = (StatusCode::UNPROCESSABLE_ENTITY, "Choose an image file to upload.".to_string());
        return shown(&app, &auth, None, FormErrors::default(), Some(e)).await;
    };
    let (content_type, data) = match crate::api::company::check_logo(bytes).await {
        Ok(x) => x,
        Err(e) => {
            let msg = e.errors.first().map(|f| format!("The logo {}.", f.message)).unwrap_or(e.detail.clone());
            return shown(&app, &auth, None, FormErrors::default(), Some((e.status(), msg))).await;
        }
    };
    let mut tx = app.db.write().await?;
    match company::set_logo(&mut tx, &actor_of(p), version, Some((&content_type, &data))).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/settings/company").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let e = ApiError::from(e);
            let msg = e.errors.first().map(|f| format!("{}: {}", f.field.replace('_', " "), f.message));
            shown(&app, &auth, None, FormErrors::default(), Some((e.status(), msg.unwrap_or(e.detail)))).await
        }
    }
}

/// `POST /settings/company/logo/delete`: documents print no logo.
pub async fn delete_logo(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    may_change(&auth)?;
    let version = Some(FormData::parse(&body).version()).filter(|v| *v > 0);
    let mut tx = app.db.write().await?;
    match company::set_logo(&mut tx, &actor_of(&auth.principal), version, None).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/settings/company").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let e = ApiError::from(e);
            shown(&app, &auth, None, FormErrors::default(), Some((e.status(), e.detail))).await
        }
    }
}
