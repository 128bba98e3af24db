//! Tax rates and tax categories.
//!
//! A rate is a percent with up to 4 decimals (`"10"`, `"7.7"`, `"8.875"`),
//! from 0 to 100, optionally valid only between two dates (inclusive) and
//! switched on or off. A tax category (e.g. "Standard goods", "Reduced
//! food", "Exempt services") maps products to the rates that apply to them.
//! Rates are stored as integers at a scale of 1/10,000 percent.

use rust_decimal::Decimal;
use time::Date;

use crate::error::Validator;

/// Scale of stored rates: 1 = 0.0001 %.
pub const RATE_SCALE: u32 = 4;

/// Parses a rate percent: a decimal string from 0 to 100 with at most 4 decimals.
pub fn parse_rate(s: &str) -> Result<Decimal, String> {
    let d = Decimal::from_str_exact(s.trim())
        .map_err(|_| "must be a decimal number written as a string, e.g. \"10\"".to_string())?;
    if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED {
        return Err("must be between 0 and 100".into());
    }
    if d.normalize().scale() > RATE_SCALE {
        return Err("must have at most 4 decimal places".into());
    }
    Ok(d.normalize())
}

/// The stored integer of a rate (`10` % → 100000).
pub fn rate_to_stored(rate: Decimal) -> i64 {
    let scaled = rate * Decimal::from(10i64.pow(RATE_SCALE));
    i64::try_from(scaled.trunc()).unwrap_or(i64::MAX)
}

/// A rate from its stored integer.
pub fn rate_from_stored(v: i64) -> Decimal {
    Decimal::new(v, RATE_SCALE).normalize()
}

/// Checks a validity window: `from` must not be after `to`.
pub fn check_validity(v: &mut Validator, from: Option<Date>, to: Option<Date>) {
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        v.add("valid_to", "must not be before valid_from");
    }
}

/// Does a rate valid from `from` to `to` (inclusive, open when absent) and
/// `active` apply on `day`?
pub fn applies_on(active: bool, from: Option<Date>, to: Option<Date>, day: Date) -> bool {
    active && from.is_none_or(|f| f <= day) && to.is_none_or(|t| day <= t)
}

/// How an account is taxed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxTreatment {
    /// The rates of the product's tax category apply.
    Standard,
    /// No tax is charged (e.g. a charity or an exempt public body).
    Exempt,
    /// No tax is charged; the buyer accounts for it (EU B2B cross-border).
    /// Documents must say so.
    ReverseCharge,
}

impl TaxTreatment {
    pub fn as_str(self) -> &'static str {
        match self {
            TaxTreatment::Standard => "standard",
            TaxTreatment::Exempt => "exempt",
            TaxTreatment::ReverseCharge => "reverse_charge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [TaxTreatment::Standard, TaxTreatment::Exempt, TaxTreatment::ReverseCharge]
            .into_iter()
            .find(|t| t.as_str() == s)
    }

    /// The legal mention a document for such an account carries, if any.
    pub fn mention(self) -> Option<&'static str> {
        match self {
            TaxTreatment::Standard => None,
            TaxTreatment::Exempt => Some("Tax exempt"),
            TaxTreatment::ReverseCharge => Some("Reverse charge: the customer accounts for the tax"),
        }
    }
}

/// A rate of a product's tax category, as resolution needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRate<'a> {
    pub id: &'a str,
    pub active: bool,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
}

/// The ids of the rates that apply on `day` to a product whose category has
/// `rates`, sold to an account with `treatment`: none for exempt and
/// reverse-charge accounts; otherwise the category's rates that apply that day.
pub fn applicable_rates<'a>(rates: &[CategoryRate<'a>], treatment: TaxTreatment, day: Date) -> Vec<&'a str> {
    match treatment {
        TaxTreatment::Exempt | TaxTreatment::ReverseCharge => vec![],
        TaxTreatment::Standard => {
            rates.iter().filter(|r| applies_on(r.active, r.valid_from, r.valid_to, day)).map(|r| r.id).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn rates_are_percents_with_up_to_four_decimals() {
        assert_eq!(parse_rate("10").unwrap(), Decimal::from(10));
        assert_eq!(parse_rate("8.875").unwrap(), Decimal::new(8875, 3));
        assert_eq!(parse_rate("7.70").unwrap().to_string(), "7.7");
        assert!(parse_rate("7.12345").is_err());
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("100.5").is_err());
        assert!(parse_rate("ten").is_err());
    }

    #[test]
    fn a_rate_applies_inside_its_window_only_when_active() {
        let (f, t) = (Some(date!(2026 - 01 - 01)), Some(date!(2026 - 12 - 31)));
        assert!(applies_on(true, f, t, date!(2026 - 01 - 01)));
        assert!(applies_on(true, f, t, date!(2026 - 12 - 31)));
        assert!(!applies_on(true, f, t, date!(2027 - 01 - 01)));
        assert!(!applies_on(false, f, t, date!(2026 - 06 - 01)));
        assert!(applies_on(true, None, None, date!(1999 - 06 - 01)));
    }

    #[test]
    fn a_window_may_not_end_before_it_starts() {
        let mut v = Validator::new();
        check_validity(&mut v, Some(date!(2026 - 02 - 01)), Some(date!(2026 - 01 - 01)));
        assert!(v.finish().is_err());
    }

    #[test]
    fn exempt_and_reverse_charge_accounts_pay_no_tax() {
        let rates = [
            CategoryRate { id: "vat", active: true, valid_from: None, valid_to: None },
            CategoryRate { id: "old", active: true, valid_from: None, valid_to: Some(date!(2025 - 12 - 31)) },
        ];
        let day = date!(2026 - 03 - 01);
        assert_eq!(applicable_rates(&rates, TaxTreatment::Standard, day), vec!["vat"]);
        assert!(applicable_rates(&rates, TaxTreatment::Exempt, day).is_empty());
        assert!(applicable_rates(&rates, TaxTreatment::ReverseCharge, day).is_empty());
        assert!(TaxTreatment::ReverseCharge.mention().unwrap().contains("Reverse charge"));
    }

    proptest! {
        #[test]
        fn stored_rates_round_trip(units in 0i64..=1_000_000) {
            let r = rate_from_stored(units);
            prop_assert_eq!(rate_to_stored(r), units);
            prop_assert_eq!(parse_rate(&r.to_string()).unwrap(), r);
        }
    }
}
