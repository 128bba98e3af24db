//! Public identifiers.
//!
//! Inside the database every row has a compact `i64` key; the API shows a
//! time-ordered UUID v7 instead, so keys never leak row counts and records can
//! be created on other systems without coordination.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The opaque public id of any record, shown to API clients as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicId(Uuid);

impl PublicId {
    /// A new, time-ordered id.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps a stored UUID.
    pub fn from_uuid(u: Uuid) -> Self {
        Self(u)
    }

    /// The UUID to store.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for PublicId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PublicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

/// The text is not a Nave id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid id")]
pub struct InvalidId;

impl FromStr for PublicId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s).map(PublicId).map_err(|_| InvalidId)
    }
}

impl Serialize for PublicId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|_| serde::de::Error::custom("is not a valid id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_text() {
        let id = PublicId::new();
        assert_eq!(id.to_string().parse::<PublicId>().unwrap(), id);
    }

    #[test]
    fn ids_created_later_sort_later() {
        let a = PublicId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = PublicId::new();
        assert!(a < b);
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert_eq!("acc-12".parse::<PublicId>(), Err(InvalidId));
    }
}
