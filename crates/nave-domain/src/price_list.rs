//! Price resolution: the one place that decides the unit price a new
//! document line gets, and says why.
//!
//! Rule: when the account has a price list that is active, valid on the
//! document date (inclusive window) and has a price for the product, the price
//! of the largest quantity break not above the line's quantity applies
//! ("price list Wholesale 2026, break ≥ 10"); otherwise the product's list
//! price ("list price"). Quantities and prices are integers at 1/10,000.

use time::Date;

/// A price list as resolution needs it.
#[derive(Debug, Clone)]
pub struct PriceListView<'a> {
    pub name: &'a str,
    pub active: bool,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    /// (minimum quantity, unit price) of the product, any order.
    pub breaks: &'a [(i64, i64)],
}

/// The resolved unit price and its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPrice {
    /// Unit price at 1/10,000 of the currency's major unit.
    pub price: i64,
    /// `true` when a price list gave the price.
    pub from_price_list: bool,
    pub explanation: String,
}

/// Resolves the unit price of `quantity` of a product with `list_price` on `date`.
pub fn resolve(list_price: i64, list: Option<&PriceListView<'_>>, quantity: i64, date: Date) -> ResolvedPrice {
    if let Some(l) = list {
        let valid = l.active && l.valid_from.is_none_or(|f| f <= date) && l.valid_to.is_none_or(|t| date <= t);
        let best = l.breaks.iter().filter(|(min, _)| *min <= quantity.max(0)).max_by_key(|(min, _)| *min);
        if let (true, Some((min, price))) = (valid, best) {
            let explanation = if *min > 10_000 {
                format!("price list {}, break ≥ {}", l.name, crate::stock::format_quantity(*min))
            } else {
                format!("price list {}", l.name)
            };
            return ResolvedPrice { price: *price, from_price_list: true, explanation };
        }
    }
    ResolvedPrice { price: list_price, from_price_list: false, explanation: "list price".into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const BREAKS: &[(i64, i64)] = &[(0, 100_000), (100_000, 90_000), (500_000, 80_000)];

    fn wholesale() -> PriceListView<'static> {
        PriceListView {
            name: "Wholesale 2026",
            active: true,
            valid_from: Some(date!(2026 - 01 - 01)),
            valid_to: Some(date!(2026 - 12 - 31)),
            breaks: BREAKS,
        }
    }

    #[test]
    fn the_largest_break_not_above_the_quantity_applies_and_is_explained() {
        let r = resolve(120_000, Some(&wholesale()), 120_000, date!(2026 - 03 - 01));
        assert_eq!(
            r,
            ResolvedPrice {
                price: 90_000,
                from_price_list: true,
                explanation: "price list Wholesale 2026, break ≥ 10".into()
            }
        );
        let r = resolve(120_000, Some(&wholesale()), 10_000, date!(2026 - 03 - 01));
        assert_eq!(r.price, 100_000);
        assert_eq!(r.explanation, "price list Wholesale 2026");
        assert_eq!(resolve(120_000, Some(&wholesale()), 700_000, date!(2026 - 03 - 01)).price, 80_000);
    }

    #[test]
    fn outside_its_window_or_inactive_the_list_price_applies() {
        let r = resolve(120_000, Some(&wholesale()), 120_000, date!(2027 - 01 - 01));
        assert_eq!(r, ResolvedPrice { price: 120_000, from_price_list: false, explanation: "list price".into() });
        let off = PriceListView { active: false, ..wholesale() };
        assert_eq!(resolve(120_000, Some(&off), 120_000, date!(2026 - 03 - 01)).price, 120_000);
    }

    #[test]
    fn a_product_missing_from_the_list_keeps_its_list_price() {
        let empty = PriceListView { breaks: &[], ..wholesale() };
        assert!(!resolve(5, Some(&empty), 10_000, date!(2026 - 03 - 01)).from_price_list);
        let high = PriceListView { breaks: &[(100_000, 1)], ..wholesale() };
        assert_eq!(resolve(5, Some(&high), 10_000, date!(2026 - 03 - 01)).price, 5, "below the first break");
    }
}
