//! "Your preferences": every signed-in user changes their own display name,
//! locale (how dates, numbers and money are written for them) and password.
//! Role, team, e-mail and activity stay with the admin pages.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::email::Email;
use nave_domain::locale::{CHOICES, Locale};
use nave_domain::money::{Currency, Money};
use nave_store::auth::{check_password, hash_password, verify_password};
use nave_store::users::{self, UserPatch};

use super::{Choices, FormData, FormErrors, Layout, PageAuth, PageResult, form_again};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

#[derive(Debug, Default)]
struct MeForm {
    version: i64,
    display_name: String,
    locale: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    layout: Layout,
    email: String,
    role: String,
    form: MeForm,
    locales: Choices,
    /// (tag, how an amount and a date look there), for the choice.
    samples: Vec<(String, String)>,
    errors: FormErrors,
    saved: bool,
}

/// The locales offered in a form, with `current` first when it is a tag
/// set through the API that the list does not offer.
pub fn locale_choices(current: &str) -> Choices {
    let mut locales: Choices = CHOICES.iter().map(|(t, n)| (t.to_string(), format!("{n} — {t}"))).collect();
    if !current.is_empty() && !CHOICES.iter().any(|(t, _)| *t == current) {
        locales.insert(0, (current.to_string(), current.to_string()));
    }
    locales
}

fn page(auth: &PageAuth, form: MeForm, errors: FormErrors, saved: bool) -> PageResult {
    let locales = locale_choices(&form.locale);
    let eur = Currency::parse("EUR").expect("EUR is a currency");
    let amount = Money::from_minor(123_456_789, eur);
    let day = nave_store::db::now().date();
    let samples = CHOICES
        .iter()
        .map(|(t, _)| {
            let l = Locale::parse(t);
            (t.to_string(), format!("{} · {}", l.money(&amount), l.date(day)))
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { errors.status() };
    let p = MePage {
        layout: auth.layout(""),
        email: auth.user.email.clone(),
        role: auth.user.role.clone(),
        form,
        locales,
        samples,
        errors,
        saved,
    };
    form_again(status, &p)
}

/// `GET /settings/me`.
pub async fn show(auth: PageAuth, RawQuery(q): RawQuery) -> PageResult {
    let u = &auth.user;
    let form = MeForm { version: u.version, display_name: u.name.clone(), locale: u.locale.clone() };
    let saved = q.as_deref() == Some("saved");
    page(&auth, form, FormErrors::default(), saved)
}

/// `POST /settings/me`: saves the name and locale, and the password when a
/// new one is given with the current one.
pub async fn save(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let f = FormData::parse(&body);
    let form = MeForm {
        version: f.get("version").trim().parse().unwrap_or(0),
        display_name: f.get("display_name").trim().to_string(),
        locale: f.get("locale").trim().to_string(),
    };
    let mut errors = FormErrors::default();
    if form.display_name.is_empty() {
        errors.add("display_name", "is required");
    }
    if !CHOICES.iter().any(|(t, _)| *t == form.locale) && form.locale != auth.user.locale {
        errors.add("locale", "choose one of the listed locales");
    }
    let (current, new) = (f.get("current_password"), f.get("new_password"));
    let mut hash = None;
    if !new.is_empty() {
        if let Err(e) = check_password(&new) {
            errors.add("new_password", e);
        }
        let p = &auth.principal;
        let mut tx = app.db.read().await?;
        let email = Email::parse(&auth.user.email).map_err(|_| ApiError::internal(&"stored e-mail"))?;
        let stored = users::get_for_login(&mut tx, p.tenant_id, &email).await?.and_then(|(_, h)| h);
        tx.commit().await?;
        if !stored.is_some_and(|h| verify_password(&current, &h)) {
            errors.add("current_password", "is not your current password");
        }
        hash = Some(hash_password(&new));
    }
    if !errors.is_empty() {
        return page(&auth, form, errors, false);
    }
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let patch = UserPatch {
        name: Some(form.display_name.clone()),
        locale: Some(form.locale.clone()),
        password_hash: hash.clone(),
        ..Default::default()
    };
    match users::update(&mut tx, &actor_of(p), auth.user.id, Some(form.version), patch).await {
        Ok(_) => {
            tx.commit().await?;
            // A new password ends every session, this one too: sign in again.
            let to = if hash.is_some() { "/login" } else { "/settings/me?saved" };
            Ok(Redirect::to(to).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            errors.absorb(e)?;
            page(&auth, form, errors, false)
        }
    }
}
