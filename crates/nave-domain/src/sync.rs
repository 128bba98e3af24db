//! Per-field master rules: which system owns a field of a synced record.
//!
//! An admin declares, per record type and field, the system that masters it
//! (`nave` for Nave itself, or another system's name such as `erp`). A write
//! whose source is not the field's master does not change that field; the
//! refused change becomes a sync conflict that a person accepts or dismisses.
//! A write's source is its token's system, or `nave` for a person working in
//! Nave (a session, a token without system, the command line).

use serde_json::{Map, Value};

use crate::access::RecordType;
use crate::error::Validator;

/// The source of writes made in Nave itself.
pub const NAVE: &str = "nave";

/// The source of a write: the token's system, or [`NAVE`].
pub fn source_of(system: Option<&str>) -> &str {
    system.filter(|s| !s.is_empty()).unwrap_or(NAVE)
}

/// The record types that take master rules.
pub const RECORD_TYPES: [RecordType; 3] = [RecordType::Account, RecordType::Contact, RecordType::Product];

/// The fields of a record type that a rule may name: the fields of its write
/// body whose value the record's JSON shows in the same form (so a refused
/// value can be shown, compared and written back). A record's external ids
/// are never mastered: they are how systems find the record.
pub fn fields(record_type: RecordType) -> &'static [&'static str] {
    match record_type {
        RecordType::Account => &[
            "name",
            "kinds",
            "parent_id",
            "owner_id",
            "team_id",
            "currency",
            "credit_limit",
            "tax_id",
            "tax_treatment",
            "tags",
            "industry",
            "website",
            "phone",
            "payment_terms_id",
            "notes",
            "addresses",
            "archived",
        ],
        RecordType::Contact => &[
            "account_id",
            "first_name",
            "last_name",
            "title",
            "emails",
            "phones",
            "address",
            "is_primary",
            "marketing_consent",
            "owner_id",
            "archived",
        ],
        RecordType::Product => &[
            "sku",
            "name",
            "description",
            "kind",
            "unit",
            "category_id",
            "currency",
            "list_price",
            "cost",
            "tax_category_id",
            "weight_kg",
            "barcode",
            "notes",
            "active",
        ],
        _ => &[],
    }
}

/// The keys of the record's JSON that make up a field's value: the field
/// itself, except a contact's marketing consent, which is given with its time
/// and source.
pub fn value_keys(record_type: RecordType, field: &str) -> Vec<&str> {
    match (record_type, field) {
        (RecordType::Contact, "marketing_consent") => vec!["marketing_consent", "consent_at", "consent_source"],
        _ => vec![field],
    }
}

/// A field's value in a record's JSON: the value of its one key, or an
/// object of its keys (absent keys are null).
pub fn value_of(record_type: RecordType, field: &str, record: &Value) -> Value {
    let keys = value_keys(record_type, field);
    if let [one] = keys.as_slice() {
        return record.get(*one).cloned().unwrap_or(Value::Null);
    }
    let mut m = Map::new();
    for k in keys {
        m.insert(k.to_string(), record.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(m)
}

/// The body of a write that sets a field to `value` (the inverse of
/// [`value_of`]), e.g. `{"credit_limit": "5000.00"}`.
pub fn write_body(record_type: RecordType, field: &str, value: &Value) -> Value {
    let keys = value_keys(record_type, field);
    if keys.len() > 1
        && let Value::Object(m) = value
    {
        return Value::Object(m.clone());
    }
    let mut m = Map::new();
    m.insert(field.to_string(), value.clone());
    Value::Object(m)
}

/// Checks a rule: the record type takes rules, the field is one of its
/// fields, and the system is a system name (normalised lower-case).
pub fn check_rule(v: &mut Validator, record_type: &str, field: &str, system: &str) -> Option<(RecordType, String)> {
    let rt = match record_type.parse::<RecordType>() {
        Ok(rt) if RECORD_TYPES.contains(&rt) => Some(rt),
        _ => {
            v.add("record_type", "must be account, contact or product");
            None
        }
    };
    if let Some(rt) = rt
        && !fields(rt).contains(&field)
    {
        v.add("field", format!("is not a field of {} that a rule may name; allowed: {}", rt, fields(rt).join(", ")));
    }
    let system = check_system(v, "system", system);
    rt.map(|rt| (rt, system))
}

/// Checks a system name: 1 to 40 of `a-z 0-9 . _ -`, trimmed and lower-cased.
pub fn check_system(v: &mut Validator, field: &str, system: &str) -> String {
    let s = system.trim().to_lowercase();
    let ok = (1..=40).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !ok {
        v.add(field, "must be nave or a system name: 1 to 40 of the characters a-z 0-9 . _ -");
    }
    s
}

/// Does a write from `source` leave a field mastered by `master` alone?
pub fn refuses(master: &str, source: &str) -> bool {
    master != source
}

crate::access::string_enum! {
    /// Where a sync conflict stands.
    ConflictStatus {
        /// Waiting for a person.
        Open => "open",
        /// Their value was written to the record.
        Accepted => "accepted",
        /// Our value stays.
        Dismissed => "dismissed",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_write_without_system_comes_from_nave() {
        assert_eq!(source_of(None), "nave");
        assert_eq!(source_of(Some("")), "nave");
        assert_eq!(source_of(Some("erp")), "erp");
    }

    #[test]
    fn only_the_master_writes_a_mastered_field() {
        assert!(refuses("erp", "shop"));
        assert!(refuses("erp", "nave"));
        assert!(!refuses("erp", "erp"));
        assert!(!refuses("nave", "nave"));
    }

    #[test]
    fn rules_name_known_types_fields_and_systems() {
        let mut v = Validator::new();
        assert_eq!(check_rule(&mut v, "account", "credit_limit", " ERP "), Some((RecordType::Account, "erp".into())));
        assert!(v.finish().is_ok());
        let errs = |t: &str, f: &str, s: &str| {
            let mut v = Validator::new();
            check_rule(&mut v, t, f, s);
            match v.finish() {
                Ok(()) => vec![],
                Err(crate::DomainError::Validation(e)) => e.into_iter().map(|e| e.field).collect::<Vec<_>>(),
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(errs("invoice", "x", "erp"), ["record_type"]);
        assert_eq!(errs("account", "external_ids", "erp"), ["field"]);
        assert_eq!(errs("contact", "emails", "web shop"), ["system"]);
    }

    #[test]
    fn a_value_is_its_key_or_an_object_of_its_keys() {
        let c = json!({"marketing_consent": true, "consent_at": "2026-01-01T00:00:00Z", "consent_source": "form", "emails": ["a@b.c"]});
        assert_eq!(value_of(RecordType::Contact, "emails", &c), json!(["a@b.c"]));
        let consent = value_of(RecordType::Contact, "marketing_consent", &c);
        assert_eq!(
            consent,
            json!({"marketing_consent": true, "consent_at": "2026-01-01T00:00:00Z", "consent_source": "form"})
        );
        assert_eq!(write_body(RecordType::Contact, "marketing_consent", &consent), consent);
        assert_eq!(write_body(RecordType::Account, "credit_limit", &json!("10.00")), json!({"credit_limit": "10.00"}));
        assert_eq!(value_of(RecordType::Account, "credit_limit", &json!({})), Value::Null);
    }
}
