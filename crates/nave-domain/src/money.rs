//! Exact money.
//!
//! Rules (DOMAIN.md "Numbers and money"): no floating point; every amount
//! carries its ISO 4217 currency; amounts are whole numbers of the currency's
//! minor unit (USD cents, JPY yen, KWD fils); rounding is half away from zero
//! and happens only where a rule says so; JSON carries decimal strings.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An ISO 4217 currency that has a decimal minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

/// Why a text is not a usable currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not an ISO 4217 currency code with a minor unit (e.g. USD, EUR, JPY)")]
pub struct InvalidCurrency;

impl Currency {
    /// Parses a three-letter code such as `EUR` (upper case, as ISO writes it).
    pub fn parse(code: &str) -> Result<Self, InvalidCurrency> {
        let c = iso_currency::Currency::from_code(code).ok_or(InvalidCurrency)?;
        // Funds, metals and "no currency" codes have no minor unit: not for invoices.
        c.exponent().ok_or(InvalidCurrency)?;
        Ok(Currency(c))
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point of the minor unit (USD 2, JPY 0, KWD 3).
    pub fn minor_units(&self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = InvalidCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a text is not an amount of a currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidAmount {
    #[error("is not a decimal number (write it as a string such as \"12.50\")")]
    NotADecimal,
    #[error("has more decimal places than {currency} allows ({allowed})")]
    TooPrecise { currency: &'static str, allowed: u32 },
    #[error("is too large")]
    TooLarge,
    #[error("must not be negative")]
    Negative,
}

/// An exact amount: a whole number of minor units of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from minor units (e.g. 1250 USD cents = 12.50 USD).
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Zero of a currency.
    pub fn zero(currency: Currency) -> Self {
        Self::from_minor(0, currency)
    }

    /// Parses a decimal string exactly; more decimal places than the currency
    /// has is an error, never a silent rounding.
    pub fn parse(s: &str, currency: Currency) -> Result<Self, InvalidAmount> {
        let d = Decimal::from_str_exact(s.trim()).map_err(|_| InvalidAmount::NotADecimal)?;
        Self::from_decimal_exact(d, currency)
    }

    /// Converts an exact decimal, refusing one that needs rounding.
    pub fn from_decimal_exact(d: Decimal, currency: Currency) -> Result<Self, InvalidAmount> {
        let units = currency.minor_units();
        let d = d.normalize();
        if d.scale() > units {
            return Err(InvalidAmount::TooPrecise { currency: currency.code(), allowed: units });
        }
        let scaled = d.checked_mul(Decimal::from(10i64.pow(units))).ok_or(InvalidAmount::TooLarge)?;
        let minor = i64::try_from(scaled).map_err(|_| InvalidAmount::TooLarge)?;
        Ok(Self { minor, currency })
    }

    /// Rounds a decimal to the currency's minor unit, half away from zero.
    pub fn round(d: Decimal, currency: Currency) -> Result<Self, InvalidAmount> {
        let rounded = round_half_away(d, currency.minor_units());
        Self::from_decimal_exact(rounded, currency)
    }

    pub fn minor(&self) -> i64 {
        self.minor
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount as an exact decimal.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_units())
    }

    pub fn is_negative(&self) -> bool {
        self.minor < 0
    }
}

impl fmt::Display for Money {
    /// Always exactly the currency's decimal places: `12.50`, `1000`, `0.125`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_decimal())
    }
}

/// Rounds half away from zero ("commercial" rounding) to `dp` decimal places.
pub fn round_half_away(d: Decimal, dp: u32) -> Decimal {
    d.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Formats minor units of `currency` as its decimal string, without a `Money`.
pub fn format_minor(minor: i64, currency: Currency) -> String {
    Money::from_minor(minor, currency).to_string()
}

/// Decimal places a unit price (or unit cost) may carry.
pub const UNIT_PRICE_SCALE: u32 = 4;

/// Parses a unit price: a non-negative decimal string with at most 4 decimal
/// places, returned as an integer in 1/10,000 of the currency's major unit.
pub fn parse_unit_price(s: &str) -> Result<i64, String> {
    let d = Decimal::from_str_exact(s.trim())
        .map_err(|_| "must be a decimal number written as a string, e.g. \"12.50\"".to_string())?;
    if d.is_sign_negative() && !d.is_zero() {
        return Err("must not be negative".into());
    }
    if d.normalize().scale() > UNIT_PRICE_SCALE {
        return Err("must have at most 4 decimal places".into());
    }
    let scaled = d.checked_mul(Decimal::from(10i64.pow(UNIT_PRICE_SCALE))).ok_or("is too large")?;
    i64::try_from(scaled.trunc()).map_err(|_| "is too large".to_string())
}

/// Formats a unit price (1/10,000 of the major unit) with at least the
/// currency's decimals and at most 4: `12.50`, `0.1234`, `7` (JPY).
pub fn format_unit_price(e4: i64, currency: Currency) -> String {
    format_at_least_minor(Decimal::new(e4, UNIT_PRICE_SCALE), currency)
}

/// Formats an exact decimal with trailing zeros trimmed, but never fewer
/// decimals than the currency's minor unit: `12.50`, `0.1234`, `7` (JPY).
pub fn format_at_least_minor(d: Decimal, currency: Currency) -> String {
    let d = d.normalize();
    let min = currency.minor_units();
    if d.scale() >= min { d.to_string() } else { format!("{:.*}", min as usize, d) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn currencies_know_their_minor_units() {
        assert_eq!(Currency::parse("USD").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
    }

    #[test]
    fn unknown_or_unitless_currencies_are_refused() {
        for bad in ["usd", "XXX", "XAU", "EURO", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_amount_prints_with_the_currency_decimals() {
        assert_eq!(Money::parse("12.5", usd()).unwrap().to_string(), "12.50");
        assert_eq!(Money::parse("7", Currency::parse("JPY").unwrap()).unwrap().to_string(), "7");
        assert_eq!(Money::parse("0.1", Currency::parse("KWD").unwrap()).unwrap().to_string(), "0.100");
        assert_eq!(Money::parse("-3.05", usd()).unwrap().minor(), -305);
    }

    #[test]
    fn an_over_precise_amount_is_refused_not_rounded() {
        assert_eq!(Money::parse("12.505", usd()), Err(InvalidAmount::TooPrecise { currency: "USD", allowed: 2 }));
        assert!(Money::parse("1.5", Currency::parse("JPY").unwrap()).is_err());
        // Trailing zeros are not precision.
        assert_eq!(Money::parse("12.500", usd()).unwrap().minor(), 1250);
    }

    #[test]
    fn non_numbers_are_refused() {
        for bad in ["", "abc", "1e3", "1,50", "NaN"] {
            assert_eq!(Money::parse(bad, usd()), Err(InvalidAmount::NotADecimal), "{bad}");
        }
    }

    #[test]
    fn unit_prices_keep_up_to_four_decimals_and_print_at_least_the_currency_ones() {
        assert_eq!(parse_unit_price("12.5").unwrap(), 125_000);
        assert_eq!(format_unit_price(125_000, usd()), "12.50");
        assert_eq!(format_unit_price(1_234, usd()), "0.1234");
        assert_eq!(format_unit_price(70_000, Currency::parse("JPY").unwrap()), "7");
        assert!(parse_unit_price("1.23456").is_err());
        assert!(parse_unit_price("-1").is_err());
        assert!(parse_unit_price("abc").is_err());
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(Money::round(Decimal::new(125, 3), usd()).unwrap().minor(), 13);
        assert_eq!(Money::round(Decimal::new(-125, 3), usd()).unwrap().minor(), -13);
        assert_eq!(Money::round(Decimal::new(124, 3), usd()).unwrap().minor(), 12);
    }

    proptest! {
        #[test]
        fn any_amount_survives_a_round_trip_through_its_text(minor in -1_000_000_000_000i64..1_000_000_000_000, cur in prop::sample::select(vec!["USD", "JPY", "KWD", "EUR"])) {
            let c = Currency::parse(cur).unwrap();
            let m = Money::from_minor(minor, c);
            let text = m.to_string();
            prop_assert_eq!(Money::parse(&text, c).unwrap(), m);
            let decimals = text.split_once('.').map_or(0, |(_, f)| f.len() as u32);
            prop_assert_eq!(decimals, c.minor_units());
        }

        #[test]
        fn unit_prices_survive_a_round_trip(e4 in 0i64..100_000_000_000, cur in prop::sample::select(vec!["USD", "JPY", "KWD"])) {
            let c = Currency::parse(cur).unwrap();
            prop_assert_eq!(parse_unit_price(&format_unit_price(e4, c)).unwrap(), e4);
        }

        #[test]
        fn rounding_never_moves_more_than_half_a_minor_unit(units in -10_000_000i64..10_000_000, scale in 0u32..6) {
            let d = Decimal::new(units, scale);
            let m = Money::round(d, usd()).unwrap();
            let diff = (m.to_decimal() - d).abs();
            prop_assert!(diff <= Decimal::new(5, 3));
        }
    }
}
