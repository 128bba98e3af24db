//! A record's ids in the systems Nave syncs with (a web shop, the accounting
//! package): `{system, id}` pairs, one id per system on a record, and an id
//! belongs to one record per system.

use serde::{Deserialize, Serialize};

use crate::error::Validator;

/// One id of a record in another system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalId {
    /// The other system's name: 1 to 40 of `a-z 0-9 . _ -` (stored lower-case), e.g. `shopify`.
    pub system: String,
    /// The record's id there: 1 to 200 characters, kept as given (trimmed).
    pub id: String,
}

impl ExternalId {
    pub fn new(system: impl Into<String>, id: impl Into<String>) -> Self {
        Self { system: system.into(), id: id.into() }
    }
}

impl std::fmt::Display for ExternalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.system, self.id)
    }
}

/// Checks and normalises a record's external ids, reporting each bad entry as
/// `field[i].system` or `field[i].id`.
pub fn check_external_ids(v: &mut Validator, field: &str, ids: &[ExternalId]) -> Vec<ExternalId> {
    let mut out: Vec<ExternalId> = Vec::with_capacity(ids.len());
    for (i, e) in ids.iter().enumerate() {
        let system = e.system.trim().to_lowercase();
        let id = e.id.trim().to_string();
        let system_ok = (1..=40).contains(&system.len())
            && system.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if !system_ok {
            v.add(format!("{field}[{i}].system"), "must be 1 to 40 of the characters a-z 0-9 . _ -");
        } else if out.iter().any(|o| o.system == system) {
            v.add(format!("{field}[{i}].system"), format!("{system} is listed twice; a record has one id per system"));
        }
        if id.is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) {
            v.add(format!("{field}[{i}].id"), "must be 1 to 200 characters");
        }
        out.push(ExternalId { system, id });
    }
    out
}

/// Reads `system:id` (the form pages and the CSV importer use); the id may
/// itself contain colons.
pub fn parse_pair(s: &str) -> Option<ExternalId> {
    let (system, id) = s.split_once(':')?;
    Some(ExternalId::new(system.trim(), id.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ids: &[ExternalId]) -> (Vec<ExternalId>, Vec<String>) {
        let mut v = Validator::new();
        let out = check_external_ids(&mut v, "external_ids", ids);
        let errs = match v.finish() {
            Ok(()) => vec![],
            Err(crate::DomainError::Validation(fields)) => fields.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e}"),
        };
        (out, errs)
    }

    #[test]
    fn systems_are_normalised_and_ids_kept() {
        let (out, errs) = check(&[ExternalId::new(" Shopify ", " gid://shopify/Product/1 ")]);
        assert!(errs.is_empty());
        assert_eq!(out, vec![ExternalId::new("shopify", "gid://shopify/Product/1")]);
    }

    #[test]
    fn bad_systems_ids_and_repeats_name_the_entry() {
        let long = "x".repeat(201);
        let (_, errs) = check(&[
            ExternalId::new("web shop", "1"),
            ExternalId::new("erp", ""),
            ExternalId::new("erp2", &long),
            ExternalId::new("ERP2", "7"),
        ]);
        assert_eq!(
            errs,
            vec!["external_ids[0].system", "external_ids[1].id", "external_ids[2].id", "external_ids[3].system"]
        );
    }

    #[test]
    fn pairs_split_at_the_first_colon() {
        assert_eq!(parse_pair("shop:gid://x/1"), Some(ExternalId::new("shop", "gid://x/1")));
        assert_eq!(parse_pair("no-colon"), None);
    }
}
