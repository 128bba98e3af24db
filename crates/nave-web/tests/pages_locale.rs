//! Pages write dates, numbers and money in the signed-in user's locale, on
//! both databases: a user picks a locale on "Your preferences" and the same
//! invoice reads `$1,234.50` for one user and `1.234,50 €`-style for another,
//! while the API and the CSV keep the plain values; the preferences form
//! refuses a locale it does not offer, a wrong current password and a stale
//! version, with the input kept.

mod support;

use nave_domain::locale::Locale;
use nave_domain::money::Currency;
use nave_testkit::{TestDb, both_backends};
use serde_json::json;
use support::{PASSWORD, TestApp, created, form, get_ok, page, session};

/// An issued invoice of 1,234.50 (net, no tax) to an account in `currency`.
async fn invoice(app: &TestApp, who: &support::TestUser, currency: &str) -> serde_json::Value {
    let acc = created(app, who, "/api/v1/accounts", json!({"name": "Lindqvist AB", "currency": currency})).await;
    let inv = created(
        app,
        who,
        "/api/v1/invoices",
        json!({"account_id": acc["id"], "date": "2026-03-09", "groups": [{"lines": [
            {"description": "Consulting", "quantity": "1", "unit_price": "1234.50", "tax_ids": []}
        ]}]}),
    )
    .await;
    let (s, v) = support::act(app, who, &format!("/api/v1/invoices/{}/issue", inv["id"].as_str().unwrap())).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The version of the user as the API reads it.
async fn version_of(app: &TestApp, admin: &support::TestUser, id: &str) -> String {
    get_ok(app, admin, &format!("/api/v1/users/{id}")).await["version"].to_string()
}

async fn each_user_reads_amounts_and_dates_in_their_locale(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let greta = app.user("greta@example.com", "admin").await;
    let inv = invoice(&app, &admin, "EUR").await;
    let path = format!("/invoices/{}", inv["id"].as_str().unwrap());
    assert_eq!(inv["totals"]["total"], "1234.50", "the API keeps the plain decimal: {inv}");

    // The admin keeps the default, en-US.
    let us = session(&app, "admin@example.com").await;
    let (_, html) = page(&app, &us, &path).await;
    assert!(html.contains("€1,234.50") && html.contains("03/09/2026"), "en-US: {html}");
    let (_, list) = page(&app, &us, "/invoices").await;
    assert!(list.contains("€1,234.50"), "the list too: {list}");

    // Greta picks German on her preferences page; her pages follow.
    let de = session(&app, "greta@example.com").await;
    let (status, html) = page(&app, &de, "/settings/me").await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"de-DE\"") && html.contains("1.234.567,89\u{a0}€"), "choices with samples: {html}");
    let v = version_of(&app, &admin, &greta.user.id.to_string()).await;
    let (status, to, body) =
        form(&app, &de, "/settings/me", &[("version", &v), ("display_name", "Greta Lind"), ("locale", "de-DE")]).await;
    assert_eq!((status, to.as_str()), (303, "/settings/me?saved"), "{body}");
    let (_, html) = page(&app, &de, &path).await;
    let eur = Currency::parse("EUR").unwrap();
    let german = Locale::parse("de-DE").amount_text("1234.50", eur);
    assert_eq!(german, "1.234,50\u{a0}€");
    assert!(html.contains(&german) && html.contains("09.03.2026"), "de-DE: {html}");
    assert!(!html.contains("€1,234.50"), "no US format left on the German page");
    assert!(html.contains("Greta Lind"), "the new name is shown as the signed-in user");
    let (_, list) = page(&app, &de, "/invoices").await;
    assert!(list.contains(&german), "{list}");
    // The CSV export keeps plain values whatever the locale.
    let (_, csv) = page(&app, &de, "/invoices/export.csv").await;
    assert!(csv.contains("1234.50") && !csv.contains("1.234,50"), "{csv}");
    let me = get_ok(&app, &admin, &format!("/api/v1/users/{}", greta.user.id)).await;
    assert_eq!((me["locale"].as_str(), me["name"].as_str()), (Some("de-DE"), Some("Greta Lind")));
}

async fn the_preferences_form_refuses_bad_input_and_changes_the_password(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rita@example.com", "sales_rep").await;
    let cookie = session(&app, "rita@example.com").await;
    let id = rep.user.id.to_string();
    let v = version_of(&app, &admin, &id).await;

    // A locale the list does not offer, and an empty name: both named, input kept.
    let (status, _, html) =
        form(&app, &cookie, "/settings/me", &[("version", &v), ("display_name", ""), ("locale", "xx-YY")]).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"locale-err\"") && html.contains("id=\"display_name-err\""), "{html}");
    assert!(html.contains("value=\"xx-YY\""), "the typed locale is kept: {html}");

    // A new password needs the current one.
    let (status, _, html) = form(
        &app,
        &cookie,
        "/settings/me",
        &[
            ("version", &v),
            ("display_name", "Rita"),
            ("locale", "en-GB"),
            ("current_password", "not my password"),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"current_password-err\""), "{html}");
    assert_eq!(get_ok(&app, &admin, &format!("/api/v1/users/{id}")).await["locale"], "en-US", "nothing saved");

    // With it, the password changes and every session ends.
    let (status, to, _) = form(
        &app,
        &cookie,
        "/settings/me",
        &[
            ("version", &v),
            ("display_name", "Rita"),
            ("locale", "en-GB"),
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase"),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/login"));
    let (status, _) = page(&app, &cookie, "/settings/me").await;
    assert_eq!(status, 303, "the old session has ended");
    assert_eq!(app.login("rita@example.com", PASSWORD).await.status(), 401, "the old password no longer works");
    assert_eq!(app.login("rita@example.com", "a brand new passphrase").await.status(), 303);

    // A form shown before that save is stale now.
    let fresh = {
        let r = app.login("rita@example.com", "a brand new passphrase").await;
        support::cookie_pair(r.headers().get("set-cookie").unwrap().to_str().unwrap())
    };
    let (status, _, html) =
        form(&app, &fresh, "/settings/me", &[("version", &v), ("display_name", "Rita R"), ("locale", "fr-FR")]).await;
    assert_eq!(status, 409, "{html}");
    assert_eq!(get_ok(&app, &admin, &format!("/api/v1/users/{id}")).await["locale"], "en-GB");
}

both_backends!(
    each_user_reads_amounts_and_dates_in_their_locale,
    the_preferences_form_refuses_bad_input_and_changes_the_password
);
