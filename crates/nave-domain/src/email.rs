//! E-mail addresses, parsed once at the edge and stored normalised.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A syntactically plausible e-mail address, trimmed, with its domain lower-cased.
///
/// The check is deliberately modest (one `@`, a non-empty local part, a dotted
/// domain without spaces): the only real proof of an address is a delivered mail.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid e-mail address")]
pub struct InvalidEmail;

impl Email {
    pub fn parse(s: &str) -> Result<Self, InvalidEmail> {
        let s = s.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEmail);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(InvalidEmail)?;
        let domain_ok = !domain.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err(InvalidEmail);
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address lower-cased, for case-insensitive matching and uniqueness.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_keeps_its_local_part_and_lowercases_its_domain() {
        assert_eq!(Email::parse(" Ann.Lee@Example.COM ").unwrap().as_str(), "Ann.Lee@example.com");
    }

    #[test]
    fn the_key_is_case_insensitive() {
        assert_eq!(Email::parse("A@b.io").unwrap().key(), Email::parse("a@B.io").unwrap().key());
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in ["", "ann", "ann@", "@example.com", "ann@example", "a b@example.com", "ann@ex..com", "a@b@c.com"] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }
}
