//! Postal addresses: the shape accounts and contacts share, and the rules of
//! an account's several addresses (at most one default billing and one
//! default shipping address).

use serde::{Deserialize, Serialize};

use crate::catalog::check_text;
use crate::error::Validator;

/// A postal address. `country` is an ISO 3166-1 alpha-2 code, stored upper-case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostalAddress {
    /// What the address is to its owner ("Head office", "Warehouse"); may be empty.
    #[serde(default)]
    pub label: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    pub country: String,
}

/// One of an account's addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountAddress {
    #[serde(default)]
    pub label: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: Option<String>,
    pub country: String,
    #[serde(default)]
    pub is_default_billing: bool,
    #[serde(default)]
    pub is_default_shipping: bool,
}

impl AccountAddress {
    /// The postal part, without the default flags.
    pub fn postal(&self) -> PostalAddress {
        PostalAddress {
            label: self.label.clone(),
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
        }
    }

    /// An account address of a postal address and its flags.
    pub fn of(a: PostalAddress, is_default_billing: bool, is_default_shipping: bool) -> Self {
        AccountAddress {
            label: a.label,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            is_default_billing,
            is_default_shipping,
        }
    }
}

/// The officially assigned ISO 3166-1 alpha-2 country codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
    DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR \
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
    ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
    LA LB LC LI LK LR LS LT LU LV LY \
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
    RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
    VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Is `code` (upper-case) an assigned ISO 3166-1 alpha-2 country code?
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_ascii_whitespace().any(|c| c == code)
}

/// An optional text: trimmed, blank = none, at most `max` characters.
fn optional(v: &mut Validator, field: &str, text: Option<&str>, max: usize) -> Option<String> {
    let t = check_text(v, field, text.unwrap_or(""), 0, max);
    Some(t).filter(|t| !t.is_empty())
}

/// Checks a postal address, naming fields `{field}.line1` and so on.
pub fn check_postal(v: &mut Validator, field: &str, a: &PostalAddress) -> PostalAddress {
    let f = |name: &str| format!("{field}.{name}");
    let country = a.country.trim().to_ascii_uppercase();
    if !is_country(&country) {
        v.add(f("country"), "must be an ISO 3166-1 alpha-2 country code, e.g. GB, US, DE");
    }
    PostalAddress {
        label: check_text(v, &f("label"), &a.label, 0, 50),
        line1: check_text(v, &f("line1"), &a.line1, 1, 200),
        line2: optional(v, &f("line2"), a.line2.as_deref(), 200),
        city: check_text(v, &f("city"), &a.city, 1, 100),
        region: optional(v, &f("region"), a.region.as_deref(), 100),
        postal_code: optional(v, &f("postal_code"), a.postal_code.as_deref(), 20),
        country,
    }
}

/// The most addresses an account keeps.
pub const MAX_ADDRESSES: usize = 20;

/// Checks an account's addresses (fields `{field}[i].city`, …). At most one
/// may be the default billing address and at most one the default shipping
/// address; when none is marked for a kind, the first address is that
/// default, so an account with one address has it as both.
pub fn check_account_addresses(v: &mut Validator, field: &str, list: &[AccountAddress]) -> Vec<AccountAddress> {
    if list.len() > MAX_ADDRESSES {
        v.add(field, format!("must be at most {MAX_ADDRESSES} addresses"));
    }
    let mut out: Vec<AccountAddress> = Vec::with_capacity(list.len());
    for (i, a) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if a.is_default_billing && out.iter().any(|o| o.is_default_billing) {
            v.add(format!("{at}.is_default_billing"), "another address is already the default billing address");
        }
        if a.is_default_shipping && out.iter().any(|o| o.is_default_shipping) {
            v.add(format!("{at}.is_default_shipping"), "another address is already the default shipping address");
        }
        out.push(AccountAddress::of(check_postal(v, &at, &a.postal()), a.is_default_billing, a.is_default_shipping));
    }
    if let Some(first) = out.first().map(|_| 0) {
        if !out.iter().any(|a| a.is_default_billing) {
            out[first].is_default_billing = true;
        }
        if !out.iter().any(|a| a.is_default_shipping) {
            out[first].is_default_shipping = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(city: &str, billing: bool, shipping: bool) -> AccountAddress {
        AccountAddress {
            line1: "1 Main Street".into(),
            city: city.into(),
            country: "gb".into(),
            is_default_billing: billing,
            is_default_shipping: shipping,
            ..Default::default()
        }
    }

    fn fields(v: Validator) -> Vec<String> {
        match v.finish() {
            Ok(()) => vec![],
            Err(crate::DomainError::Validation(e)) => e.into_iter().map(|f| f.field).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_single_address_is_the_default_for_billing_and_shipping() {
        let mut v = Validator::new();
        let out = check_account_addresses(&mut v, "addresses", &[addr("Leeds", false, false)]);
        assert!(fields(v).is_empty());
        assert!(out[0].is_default_billing && out[0].is_default_shipping);
        assert_eq!(out[0].country, "GB", "country codes are stored upper-case");
    }

    #[test]
    fn the_first_address_stands_in_for_a_missing_default_but_not_over_a_marked_one() {
        let mut v = Validator::new();
        let out =
            check_account_addresses(&mut v, "addresses", &[addr("Leeds", false, false), addr("York", false, true)]);
        assert!(fields(v).is_empty());
        assert!(out[0].is_default_billing && !out[0].is_default_shipping);
        assert!(!out[1].is_default_billing && out[1].is_default_shipping);
    }

    #[test]
    fn two_defaults_of_one_kind_are_refused_naming_the_second() {
        let mut v = Validator::new();
        check_account_addresses(
            &mut v,
            "addresses",
            &[addr("Leeds", true, true), addr("York", true, false), addr("Hull", false, true)],
        );
        assert_eq!(fields(v), ["addresses[1].is_default_billing", "addresses[2].is_default_shipping"]);
    }

    #[test]
    fn countries_are_iso_codes_and_required_parts_are_named() {
        let mut v = Validator::new();
        let bad =
            PostalAddress { line1: " ".into(), city: "Paris".into(), country: "FRA".into(), ..Default::default() };
        check_postal(&mut v, "address", &bad);
        assert_eq!(fields(v), ["address.country", "address.line1"]);
        assert!(is_country("DE") && is_country("US") && !is_country("UK") && !is_country("XX"));
        assert_eq!(COUNTRIES.split_ascii_whitespace().count(), 249);
    }
}
