//! Contacts: the people at an account. Their names, e-mail addresses, phone
//! numbers and marketing consent.
//!
//! Consent is recorded with where it came from and when: setting it needs a
//! source ("web form", "trade fair") and takes the time given or the current
//! time. Withdrawing it may say how ("unsubscribe link"); the times of every
//! change are also in the audit log.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::account::{check_optional, check_phone};
use crate::catalog::check_text;
use crate::email::Email;
use crate::error::Validator;

/// The most e-mail addresses and phone numbers a contact keeps.
pub const MAX_CHANNELS: usize = 10;

/// One phone number of a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    /// "mobile", "office", …; may be empty.
    #[serde(default)]
    pub label: String,
    pub number: String,
}

/// Checks a contact's names: each at most 100 characters, and at least one given.
pub fn check_names(v: &mut Validator, first: &str, last: &str) -> (String, String) {
    let first = check_text(v, "first_name", first, 0, 100);
    let last = check_text(v, "last_name", last, 0, 100);
    if first.is_empty() && last.is_empty() {
        v.add("last_name", "a contact needs a first or a last name");
    }
    (first, last)
}

/// Checks e-mail addresses (`emails[i]`); repeats (ignoring case) are dropped.
pub fn check_emails(v: &mut Validator, emails: &[String]) -> Vec<Email> {
    let mut out: Vec<Email> = Vec::new();
    for (i, e) in emails.iter().enumerate() {
        match Email::parse(e) {
            Ok(e) if !out.iter().any(|o| o.key() == e.key()) => out.push(e),
            Ok(_) => {}
            Err(err) => v.add(format!("emails[{i}]"), err.to_string()),
        }
    }
    if out.len() > MAX_CHANNELS {
        v.add("emails", format!("must be at most {MAX_CHANNELS} addresses"));
    }
    out
}

/// Checks phone numbers (`phones[i].number`, `phones[i].label`).
pub fn check_phones(v: &mut Validator, phones: &[Phone]) -> Vec<Phone> {
    if phones.len() > MAX_CHANNELS {
        v.add("phones", format!("must be at most {MAX_CHANNELS} numbers"));
    }
    phones
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let field = format!("phones[{i}].number");
            let number = check_phone(v, &field, Some(&p.number)).unwrap_or_else(|| {
                v.add(&field, "is required");
                String::new()
            });
            let label = check_optional(v, &format!("phones[{i}].label"), Some(&p.label), 30).unwrap_or_default();
            Phone { label, number }
        })
        .collect()
}

/// A contact's marketing consent as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consent {
    pub given: bool,
    /// When it was given (or withdrawn, when a source of the withdrawal was recorded).
    pub at: Option<OffsetDateTime>,
    /// Where it came from, e.g. "web form".
    pub source: Option<String>,
}

/// A change to the consent: `None` keeps, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct ConsentChange {
    pub given: Option<bool>,
    pub at: Option<Option<OffsetDateTime>>,
    pub source: Option<Option<String>>,
}

/// The consent after `change` (to `before`, or to none for a new contact).
/// Giving consent needs a source (`consent_source`) and records the time
/// (`now` unless one is given). When the consent changes, what is not said
/// about the new state is not carried over from the old one.
pub fn check_consent(
    v: &mut Validator,
    before: Option<&Consent>,
    change: &ConsentChange,
    now: OffsetDateTime,
) -> Consent {
    let none = Consent::default();
    let before = before.unwrap_or(&none);
    let given = change.given.unwrap_or(before.given);
    let flipped = given != before.given;
    let source = match &change.source {
        Some(s) => check_optional(v, "consent_source", s.as_deref(), 200),
        None if flipped => None,
        None => before.source.clone(),
    };
    // Saying the same source again (a form sends it back) is no new consent.
    let new_source = change.source.is_some() && source != before.source;
    let at = match change.at {
        Some(t) => t,
        None if flipped || new_source => None,
        None => before.at,
    };
    if given && source.is_none() {
        v.add("consent_source", "is required when marketing_consent is true (e.g. \"web form\")");
    }
    if at.is_some_and(|t| t > now + time::Duration::minutes(5)) {
        v.add("consent_at", "must not be in the future");
    }
    let at = if source.is_some() || given { at.or(Some(now)) } else { at };
    Consent { given, at, source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    fn fields(v: Validator) -> Vec<String> {
        match v.finish() {
            Ok(()) => vec![],
            Err(crate::DomainError::Validation(e)) => e.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    fn give(source: Option<&str>) -> ConsentChange {
        ConsentChange { given: Some(true), at: None, source: source.map(|s| Some(s.to_string())) }
    }

    #[test]
    fn consent_needs_a_source_and_records_the_time() {
        let mut v = Validator::new();
        check_consent(&mut v, None, &give(None), NOW);
        assert_eq!(fields(v), ["consent_source"]);
        let mut v = Validator::new();
        let c = check_consent(&mut v, None, &give(Some("web form")), NOW);
        assert!(fields(v).is_empty());
        assert_eq!(c, Consent { given: true, at: Some(NOW), source: Some("web form".into()) });
    }

    #[test]
    fn a_given_time_is_kept_and_a_future_one_refused() {
        let earlier = datetime!(2025-11-02 09:30 UTC);
        let mut v = Validator::new();
        let change = ConsentChange { at: Some(Some(earlier)), ..give(Some("trade fair")) };
        assert_eq!(check_consent(&mut v, None, &change, NOW).at, Some(earlier));
        let mut v = Validator::new();
        let change = ConsentChange { at: Some(Some(NOW + time::Duration::days(1))), ..give(Some("x")) };
        check_consent(&mut v, None, &change, NOW);
        assert_eq!(fields(v), ["consent_at"]);
    }

    #[test]
    fn unrelated_changes_keep_the_consent_and_withdrawal_forgets_the_old_source() {
        let before = Consent { given: true, at: Some(datetime!(2025-01-01 0:00 UTC)), source: Some("web form".into()) };
        let mut v = Validator::new();
        assert_eq!(check_consent(&mut v, Some(&before), &ConsentChange::default(), NOW), before);
        let same = ConsentChange { given: Some(true), source: Some(Some(" web form ".into())), at: None };
        assert_eq!(check_consent(&mut v, Some(&before), &same, NOW), before, "the same source again keeps the time");
        let withdraw = ConsentChange { given: Some(false), ..Default::default() };
        let c = check_consent(&mut v, Some(&before), &withdraw, NOW);
        assert_eq!(c, Consent::default());
        let by_link = ConsentChange { source: Some(Some("unsubscribe link".into())), ..withdraw };
        let c = check_consent(&mut v, Some(&before), &by_link, NOW);
        assert_eq!((c.given, c.at, c.source.as_deref()), (false, Some(NOW), Some("unsubscribe link")));
        assert!(fields(v).is_empty());
        // Consent given again without a source is refused: the old one is not reused.
        let mut v = Validator::new();
        check_consent(&mut v, Some(&Consent::default()), &give(None), NOW);
        assert_eq!(fields(v), ["consent_source"]);
    }

    #[test]
    fn emails_are_checked_one_by_one_and_repeats_dropped() {
        let mut v = Validator::new();
        let out = check_emails(&mut v, &["Ann@Acme.com".into(), "ann@acme.COM".into(), "nope".into()]);
        assert_eq!(fields(v), ["emails[2]"]);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_contact_needs_a_name_and_phones_need_numbers() {
        let mut v = Validator::new();
        check_names(&mut v, " ", "");
        check_phones(&mut v, &[Phone { label: "mobile".into(), number: "".into() }]);
        assert_eq!(fields(v), ["last_name", "phones[0].number"]);
    }
}
