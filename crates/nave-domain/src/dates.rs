//! Calendar dates in JSON: `YYYY-MM-DD` strings, via `#[serde(with = …)]`.

use serde::{Deserialize, Deserializer, Serializer};
use time::Date;
use time::macros::format_description;

const FORMAT: &[time::format_description::FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Formats a date as `YYYY-MM-DD`.
pub fn format(d: Date) -> String {
    d.format(FORMAT).unwrap_or_default()
}

/// Parses `YYYY-MM-DD`.
pub fn parse(s: &str) -> Option<Date> {
    Date::parse(s.trim(), FORMAT).ok()
}

/// `#[serde(with = "nave_domain::dates::iso")]` for `Date`.
pub mod iso {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom("must be a date written YYYY-MM-DD"))
    }
}

/// `#[serde(with = "nave_domain::dates::iso_option")]` for `Option<Date>`.
pub mod iso_option {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_str(&format(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => parse(&s).map(Some).ok_or_else(|| serde::de::Error::custom("must be a date written YYYY-MM-DD")),
            None => Ok(None),
        }
    }
}
