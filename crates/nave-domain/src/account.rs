//! Accounts: the customer, supplier, prospect or partner at the hub of Nave.

use serde::{Deserialize, Serialize};

use crate::error::Validator;

/// What an account is to us; an account may be several at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Customer,
    Supplier,
    Prospect,
    Partner,
}

impl AccountKind {
    pub const ALL: [AccountKind; 4] =
        [AccountKind::Customer, AccountKind::Supplier, AccountKind::Prospect, AccountKind::Partner];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Customer => "customer",
            AccountKind::Supplier => "supplier",
            AccountKind::Prospect => "prospect",
            AccountKind::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Checks an account name: trimmed, 1 to 200 characters.
pub fn check_name(v: &mut Validator, name: &str) -> String {
    let n = name.trim().to_string();
    if n.is_empty() || n.chars().count() > 200 {
        v.add("name", "must be 1 to 200 characters");
    }
    n
}

/// Checks kinds: at least one, duplicates removed, in a stable order.
pub fn check_kinds(v: &mut Validator, kinds: &[AccountKind]) -> Vec<AccountKind> {
    let mut k = kinds.to_vec();
    k.sort();
    k.dedup();
    if k.is_empty() {
        v.add("kinds", "must name at least one of customer, supplier, prospect, partner");
    }
    k
}

/// Checks tags: each 1 to 50 characters, at most 20, duplicates removed.
pub fn check_tags(v: &mut Validator, tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let t = t.trim();
        if t.is_empty() || t.chars().count() > 50 {
            v.add(format!("tags[{i}]"), "must be 1 to 50 characters");
        } else if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
            out.push(t.to_string());
        }
    }
    if out.len() > 20 {
        v.add("tags", "must be at most 20 tags");
    }
    out
}

/// Checks an optional tax id: trimmed, at most 50 characters, blank = none.
pub fn check_tax_id(v: &mut Validator, tax_id: Option<&str>) -> Option<String> {
    let t = tax_id.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > 50 {
        v.add("tax_id", "must be at most 50 characters");
    }
    Some(t.to_string())
}

/// Checks an optional website: blank = none, at most 200 characters, and it
/// must name a domain (`acme.com`, `https://www.acme.com/shop`).
pub fn check_website(v: &mut Validator, field: &str, website: Option<&str>) -> Option<String> {
    let w = website.map(str::trim).filter(|w| !w.is_empty())?;
    if w.chars().count() > 200 || crate::duplicates::website_domain(w).is_none() {
        v.add(field, "must be a web address, e.g. https://example.com");
    }
    Some(w.to_string())
}

/// Checks an optional phone number: blank = none, at most 40 characters of
/// digits, spaces and `+ - ( ) . /`, with at least 5 digits.
pub fn check_phone(v: &mut Validator, field: &str, phone: Option<&str>) -> Option<String> {
    let p = phone.map(str::trim).filter(|p| !p.is_empty())?;
    let allowed = p.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c));
    if !allowed || p.chars().count() > 40 || p.chars().filter(char::is_ascii_digit).count() < 5 {
        v.add(field, "must be a phone number: digits, spaces and + - ( ) . /");
    }
    Some(p.to_string())
}

/// Checks an optional one-line text: blank = none, at most `max` characters.
pub fn check_optional(v: &mut Validator, field: &str, text: Option<&str>, max: usize) -> Option<String> {
    let t = text.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    Some(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_deduplicated_and_ordered() {
        let mut v = Validator::new();
        let k = check_kinds(&mut v, &[AccountKind::Supplier, AccountKind::Customer, AccountKind::Supplier]);
        assert_eq!(k, vec![AccountKind::Customer, AccountKind::Supplier]);
        assert!(v.finish().is_ok());
    }

    #[test]
    fn an_account_needs_a_kind_and_a_name() {
        let mut v = Validator::new();
        check_kinds(&mut v, &[]);
        check_name(&mut v, "   ");
        let crate::DomainError::Validation(errs) = v.finish().unwrap_err() else { panic!() };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["kinds", "name"]);
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated_case_insensitively() {
        let mut v = Validator::new();
        let t = check_tags(&mut v, &[" vip ".into(), "VIP".into(), "north".into()]);
        assert_eq!(t, vec!["vip", "north"]);
    }

    #[test]
    fn websites_and_phones_are_checked_and_blank_means_none() {
        let mut v = Validator::new();
        assert_eq!(check_website(&mut v, "website", Some(" acme.com ")).as_deref(), Some("acme.com"));
        assert_eq!(check_website(&mut v, "website", Some("  ")), None);
        assert_eq!(check_phone(&mut v, "phone", Some("+44 (20) 7946-0958")).as_deref(), Some("+44 (20) 7946-0958"));
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        check_website(&mut v, "website", Some("acme"));
        check_phone(&mut v, "phone", Some("call me"));
        check_phone(&mut v, "phone", Some("123"));
        let crate::DomainError::Validation(errs) = v.finish().unwrap_err() else { panic!() };
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["website", "phone", "phone"]);
    }
}
