//! Values written for the signed-in user's locale.
//!
//! Every page request runs inside [`scope`], which holds the locale of the
//! request's user (set by the session lookup, `en-US` before it or without
//! one). Row builders call the functions here, and templates the filters in
//! [`filters`], so one place decides how an amount, a quantity or a date
//! looks; the values stay exact (see [`nave_domain::locale`]). Form inputs
//! and CSV exports keep the plain `1234.56` and ISO dates that the server
//! reads back.

use std::cell::RefCell;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use nave_domain::locale::Locale;
use nave_domain::money::{Currency, Money};
use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

tokio::task_local! {
    static LOCALE: RefCell<Arc<Locale>>;
}

/// Middleware for page routes: gives the request a locale slot.
pub async fn scope(req: Request, next: Next) -> Response {
    LOCALE.scope(RefCell::new(Arc::new(Locale::default())), next.run(req)).await
}

/// Sets the locale of the current page request (a no-op outside one).
pub fn set_locale(tag: &str) {
    let _ = LOCALE.try_with(|l| *l.borrow_mut() = Arc::new(Locale::parse(tag)));
}

/// The current request's locale (`en-US` outside a page request).
pub fn locale() -> Arc<Locale> {
    LOCALE.try_with(|l| l.borrow().clone()).unwrap_or_default()
}

/// An amount with its currency: `$1,234.56`, `1.234,56 €`.
pub fn money(m: &Money) -> String {
    locale().money(m)
}

/// An amount in minor units of `currency`.
pub fn minor(minor: i64, currency: Currency) -> String {
    money(&Money::from_minor(minor, currency))
}

/// An amount given as decimal text (as documents' JSON carries it).
pub fn amount(text: &str, currency: Currency) -> String {
    locale().amount_text(text, currency)
}

/// An amount whose currency is given by its code (as JSON carries it); an
/// unknown code is written after the number.
pub fn amount_in(text: &str, code: &str) -> String {
    match Currency::parse(code) {
        Ok(c) => amount(text, c),
        Err(_) => format!("{} {code}", number(text)),
    }
}

/// A quantity or rate given as decimal text: `1,250.5`.
pub fn number(text: &str) -> String {
    locale().number_text(text)
}

/// An exact decimal.
pub fn decimal(d: Decimal) -> String {
    locale().number(d)
}

/// A short date.
pub fn date(d: Date) -> String {
    locale().date(d)
}

/// A date given as ISO text (`2026-12-05`); other text is returned as is.
pub fn date_text(text: &str) -> String {
    let iso = time::macros::format_description!("[year]-[month]-[day]");
    match Date::parse(text.trim(), iso) {
        Ok(d) => date(d),
        Err(_) => text.to_string(),
    }
}

/// A date and time to the minute (UTC).
pub fn date_time(t: OffsetDateTime) -> String {
    locale().date_time(t)
}

/// Template filters: `{{ d.date|day }}`, `{{ qty|num }}`, `{{ total|money }}`.
/// Modules with templates bring them in with `use crate::pages::show::filters;`.
pub mod filters {
    use std::fmt::Display;

    use askama::Values;
    use nave_domain::money::{Currency, Money};
    use time::Date;

    /// What `|day` writes: a date, or nothing for `None`.
    pub trait ShowDate {
        fn show(&self) -> String;
    }
    impl ShowDate for Date {
        fn show(&self) -> String {
            super::date(*self)
        }
    }
    impl ShowDate for Option<Date> {
        fn show(&self) -> String {
            self.map(super::date).unwrap_or_default()
        }
    }
    impl<T: ShowDate + ?Sized> ShowDate for &T {
        fn show(&self) -> String {
            (**self).show()
        }
    }

    /// What `|money` writes.
    pub trait ShowMoney {
        fn show(&self) -> String;
    }
    impl ShowMoney for Money {
        fn show(&self) -> String {
            super::money(self)
        }
    }
    impl<T: ShowMoney + ?Sized> ShowMoney for &T {
        fn show(&self) -> String {
            (**self).show()
        }
    }

    /// A date in the user's locale.
    #[askama::filter_fn]
    pub fn day<T: ShowDate>(d: T, _: &dyn Values) -> askama::Result<String> {
        Ok(d.show())
    }

    /// A date given as ISO text.
    #[askama::filter_fn]
    pub fn iso_day<T: Display>(text: T, _: &dyn Values) -> askama::Result<String> {
        Ok(super::date_text(&text.to_string()))
    }

    /// A quantity, rate or any decimal text, with the locale's separators.
    #[askama::filter_fn]
    pub fn num<T: Display>(text: T, _: &dyn Values) -> askama::Result<String> {
        Ok(super::number(&text.to_string()))
    }

    /// An amount given as decimal text, with its currency: `{{ total|amt(d.currency) }}`.
    #[askama::filter_fn]
    pub fn amt<T: Display>(text: T, _: &dyn Values, currency: &Currency) -> askama::Result<String> {
        Ok(super::amount(&text.to_string(), *currency))
    }

    /// An amount with its currency.
    #[askama::filter_fn]
    pub fn money<T: ShowMoney>(m: T, _: &dyn Values) -> askama::Result<String> {
        Ok(m.show())
    }
}
