//! Stock quantities and the moving-average cost of a product.
//!
//! Rules (DOMAIN.md "Stock and cost"): on hand is the sum of the movements;
//! shipping more than is on hand is refused unless the warehouse allows
//! negative stock ([`check_issue`]); product cost is a moving average over
//! receipts, and every outgoing movement records its cost at that moment
//! ([`Valuation::issue`]).
//!
//! Everything here is an integer at a fixed scale, so the arithmetic is exact
//! and costing never loses or creates value:
//!
//! - a **quantity** is an `i64` in 1/10,000 of a unit ([`QTY_SCALE`]);
//! - a **value** (stock value, cost of an issue) is an `i64` in minor units of
//!   the company currency × 10,000, i.e. four decimals more than the currency
//!   has, so rounding to it is immaterial to any amount shown in the currency;
//! - a **unit cost** is at the value scale, per whole unit.
//!
//! Products are computed exactly in `i128`; only the final division rounds,
//! half away from zero. A result too large for an `i64` is refused, never
//! wrapped or clamped, and an operation that fails leaves the valuation as it
//! was.

/// Decimal places of a stored quantity: 1 = 0.0001 unit.
pub const QTY_SCALE: u32 = 4;

/// 10^[`QTY_SCALE`]: one whole unit at the quantity scale.
const ONE_UNIT: i128 = 10_000;

/// Why a stock operation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("the quantity must be greater than zero")]
    InvalidQuantity,
    #[error("the unit cost must not be negative")]
    InvalidCost,
    #[error("the quantity or the value is too large")]
    TooLarge,
    /// An issue would take on hand below zero and the warehouse does not allow negative stock.
    #[error("only {} on hand, {} asked", format_quantity(*.on_hand), format_quantity(*.asked))]
    NotEnoughOnHand { on_hand: i64, asked: i64 },
    /// A stored valuation whose value does not have the sign of its quantity.
    #[error("the stock value must be zero when nothing is on hand and have the sign of the quantity otherwise")]
    InvalidValuation,
}

/// Parses a quantity: a decimal string such as `"2.5"` or `"-3"` with at most
/// 4 decimal places (trailing zeros are not precision), into its integer at
/// [`QTY_SCALE`].
///
/// Only plain decimals are accepted: no exponent (`"1e3"`), no `+`, no
/// thousands separators, at least one digit on each side of a decimal point.
pub fn parse_quantity(s: &str) -> Result<i64, String> {
    let not_a_number = || "must be a decimal number written as a string, e.g. \"2.5\"".to_string();
    let too_large = || "is too large".to_string();
    let s = s.trim();
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(not_a_number());
    }
    let fraction = fraction.unwrap_or("").trim_end_matches('0');
    if fraction.len() > QTY_SCALE as usize {
        return Err("must have at most 4 decimal places".into());
    }
    let mut scaled: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()).chain(std::iter::repeat_n(b'0', QTY_SCALE as usize - fraction.len()))
    {
        // i64 has 19 digits: once past i64::MAX the text is refused before i128 could overflow.
        scaled = scaled * 10 + i128::from(b - b'0');
        if scaled > i128::from(i64::MAX) + 1 {
            return Err(too_large());
        }
    }
    i64::try_from(if negative { -scaled } else { scaled }).map_err(|_| too_large())
}

/// Formats a quantity at [`QTY_SCALE`] with trailing zeros trimmed:
/// 2.5000 → `"2.5"`, 3 → `"3"`, −0.0100 → `"-0.01"`.
pub fn format_quantity(qty: i64) -> String {
    let sign = if qty < 0 { "-" } else { "" };
    let magnitude = qty.unsigned_abs();
    let (whole, fraction) = (magnitude / 10_000, magnitude % 10_000);
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:04}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// Refuses an issue of `qty` that would take `on_hand` below zero, unless the
/// warehouse allows negative stock. The error names both quantities
/// ("only 3 on hand, 5 asked"). A quantity of zero or less is refused either way.
pub fn check_issue(on_hand: i64, qty: i64, allow_negative: bool) -> Result<(), StockError> {
    if qty <= 0 {
        return Err(StockError::InvalidQuantity);
    }
    if !allow_negative && i128::from(on_hand) - i128::from(qty) < 0 {
        return Err(StockError::NotEnoughOnHand { on_hand, asked: qty });
    }
    Ok(())
}

/// The moving-average valuation of one product, company-wide.
///
/// Invariants, kept by every operation: `value` is zero when `quantity` is
/// zero and has the sign of `quantity` otherwise; the sum of the amounts
/// returned by [`receive`](Self::receive) minus the costs returned by
/// [`issue`](Self::issue) is exactly `value`.
///
/// **Negative stock** (only when the warehouse allows it) is valued at the
/// last known average unit cost: an issue beyond what is on hand costs the
/// shortfall at that average, so the stock value goes negative by exactly what
/// was costed. The next receipt *revalues* the shortfall at its own unit cost,
/// because the goods shipped before they arrived are the goods now received:
/// see [`receive`](Self::receive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Valuation {
    /// At [`QTY_SCALE`].
    quantity: i64,
    /// Total stock value, minor units × 10,000.
    value: i64,
    /// The average unit cost (value scale, per unit) the last time stock was
    /// positive, or the unit cost of a receipt that left stock at or below
    /// zero. While stock is positive it is always `round(value / quantity)`.
    last_unit_cost: i64,
}

impl Valuation {
    /// No stock, no value and no known cost: until a first receipt, an issue
    /// (negative stock) costs zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a stored valuation. While `quantity` is positive the average
    /// is recomputed from `value` and `last_unit_cost` is ignored; otherwise
    /// `last_unit_cost` is the cost negative stock is valued at. Refused when
    /// the value does not have the sign of the quantity (zero for zero) or the
    /// cost is negative.
    pub fn restore(quantity: i64, value: i64, last_unit_cost: i64) -> Result<Self, StockError> {
        if value != 0 && value.signum() != quantity.signum() {
            return Err(StockError::InvalidValuation);
        }
        if last_unit_cost < 0 {
            return Err(StockError::InvalidCost);
        }
        let last_unit_cost = if quantity > 0 { average(value, quantity)? } else { last_unit_cost };
        Ok(Self { quantity, value, last_unit_cost })
    }

    /// Quantity on hand, at [`QTY_SCALE`].
    pub fn quantity(&self) -> i64 {
        self.quantity
    }

    /// Total stock value, minor units × 10,000.
    pub fn value(&self) -> i64 {
        self.value
    }

    /// Average unit cost (minor units × 10,000 per unit): round(value /
    /// quantity) half away from zero while stock is positive; the last known
    /// one (see [`Valuation`]) when stock is zero or negative.
    pub fn average_unit_cost(&self) -> i64 {
        self.last_unit_cost
    }

    /// Receives `qty` (at [`QTY_SCALE`]) at `unit_cost` (minor units × 10,000
    /// per unit) and returns the change in stock value.
    ///
    /// - **Stock positive before**: value += round(qty × unit_cost), half away
    ///   from zero; the new average follows from value / quantity.
    /// - **Stock zero or negative before**: the incoming cost sets the
    ///   average, and the whole new quantity, including the negative part
    ///   already shipped, is valued at it: value = round(new quantity ×
    ///   unit_cost). From empty stock the change is exactly round(qty ×
    ///   unit_cost). From negative stock it is that less the *revaluation* of
    ///   the shortfall, shortfall × (incoming cost − cost it was issued at):
    ///   what the earlier issues were under-costed (over-costed when
    ///   negative). That difference is a cost variance of goods already
    ///   shipped, not stock; a caller that posts it computes it as
    ///   round(qty × unit_cost) − the change returned.
    pub fn receive(&mut self, qty: i64, unit_cost: i64) -> Result<i64, StockError> {
        if qty <= 0 {
            return Err(StockError::InvalidQuantity);
        }
        if unit_cost < 0 {
            return Err(StockError::InvalidCost);
        }
        let quantity = to_i64(i128::from(self.quantity) + i128::from(qty))?;
        let value = if self.quantity > 0 {
            i128::from(self.value) + extend(qty, unit_cost)
        } else {
            extend(quantity, unit_cost)
        };
        let value = to_i64(value)?;
        let added = to_i64(i128::from(value) - i128::from(self.value))?;
        let last_unit_cost = if quantity > 0 { average(value, quantity)? } else { unit_cost };
        *self = Self { quantity, value, last_unit_cost };
        Ok(added)
    }

    /// Issues `qty` (at [`QTY_SCALE`]) and returns its cost (minor units ×
    /// 10,000), which the outgoing movement records.
    ///
    /// - **Up to what is on hand**: cost = round(value × qty / quantity), half
    ///   away from zero. Issuing everything takes exactly the remaining value,
    ///   and the value left is never negative.
    /// - **Beyond what is on hand** (negative stock, when allowed — see
    ///   [`check_issue`]): whatever is on hand takes the remaining value as
    ///   above, and the shortfall costs round(shortfall × last known average
    ///   unit cost). The stock value goes negative by that amount.
    ///
    /// This function does not check the warehouse setting: call
    /// [`check_issue`] first.
    pub fn issue(&mut self, qty: i64) -> Result<i64, StockError> {
        if qty <= 0 {
            return Err(StockError::InvalidQuantity);
        }
        let quantity = to_i64(i128::from(self.quantity) - i128::from(qty))?;
        let on_hand = i128::from(self.quantity.max(0));
        let from_stock = i128::from(qty).min(on_hand);
        let shortfall = i128::from(qty) - from_stock;
        let mut cost = if from_stock > 0 { div_round(i128::from(self.value) * from_stock, on_hand) } else { 0 };
        if shortfall > 0 {
            cost += div_round(shortfall * i128::from(self.last_unit_cost), ONE_UNIT);
        }
        let value = to_i64(i128::from(self.value) - cost)?;
        let cost = to_i64(cost)?;
        let last_unit_cost = if quantity > 0 { average(value, quantity)? } else { self.last_unit_cost };
        *self = Self { quantity, value, last_unit_cost };
        Ok(cost)
    }
}

/// qty × unit cost at the value scale, rounded half away from zero.
/// The value of `qty` (at [`QTY_SCALE`]) at `unit_cost` (minor units ×
/// 10,000 per unit): round(qty × unit_cost), half away from zero — what a
/// receipt into empty stock adds.
pub fn movement_value(qty: i64, unit_cost: i64) -> Result<i64, StockError> {
    to_i64(extend(qty, unit_cost))
}

fn extend(qty: i64, unit_cost: i64) -> i128 {
    div_round(i128::from(qty) * i128::from(unit_cost), ONE_UNIT)
}

/// round(value / quantity) per whole unit, for a positive quantity.
fn average(value: i64, quantity: i64) -> Result<i64, StockError> {
    to_i64(div_round(i128::from(value) * ONE_UNIT, i128::from(quantity)))
}

/// num / den rounded half away from zero, for a positive `den`.
fn div_round(num: i128, den: i128) -> i128 {
    debug_assert!(den > 0);
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den { q + num.signum() } else { q }
}

fn to_i64(x: i128) -> Result<i64, StockError> {
    i64::try_from(x).map_err(|_| StockError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::{Decimal, RoundingStrategy};

    /// Whole units at the quantity scale.
    fn units(n: i64) -> i64 {
        n * 10_000
    }

    /// A currency amount with 2 decimals (e.g. 4.00) at the value scale.
    fn cents(minor: i64) -> i64 {
        minor * 10_000
    }

    #[test]
    fn a_worked_example_averages_two_receipts_and_costs_an_issue_at_the_average() {
        let mut v = Valuation::new();
        assert_eq!(v.receive(units(10), cents(400)), Ok(cents(4000)));
        assert_eq!(v.receive(units(10), cents(600)), Ok(cents(6000)));
        assert_eq!(v.average_unit_cost(), cents(500));
        assert_eq!(v.issue(units(5)), Ok(cents(2500)));
        assert_eq!(v.average_unit_cost(), cents(500));
        assert_eq!(v.value(), cents(7500));
        assert_eq!(v.quantity(), units(15));
    }

    #[test]
    fn an_issue_is_costed_half_away_from_zero_and_the_last_one_takes_what_is_left() {
        // 3 units worth 10 (value scale): a third each is 3.33…
        let mut v = Valuation::restore(units(3), 10, 0).unwrap();
        assert_eq!(v.issue(units(1)), Ok(3));
        assert_eq!(v.issue(units(1)), Ok(4)); // 7 × 1/2 = 3.5 → 4
        assert_eq!(v.issue(units(1)), Ok(3));
        assert_eq!((v.quantity(), v.value()), (0, 0));
    }

    #[test]
    fn a_receipt_value_is_quantity_times_cost_rounded_half_away_from_zero() {
        let mut v = Valuation::new();
        // 1.5 units at 0.0003 minor units each = 0.00045 → 0.0005.
        assert_eq!(v.receive(15_000, 3), Ok(5));
        assert_eq!(v.receive(14_999, 3), Ok(4)); // 0.00044997 → 0.0004
    }

    #[test]
    fn a_receipt_into_empty_stock_sets_the_average_to_its_cost() {
        let mut v = Valuation::new();
        v.receive(units(4), cents(250)).unwrap();
        v.issue(units(4)).unwrap();
        assert_eq!(v.average_unit_cost(), cents(250), "the last known cost survives empty stock");
        assert_eq!(v.receive(units(2), cents(900)), Ok(cents(1800)));
        assert_eq!(v.average_unit_cost(), cents(900));
    }

    #[test]
    fn an_issue_from_empty_stock_costs_the_last_known_average() {
        let mut v = Valuation::new();
        v.receive(units(2), cents(300)).unwrap();
        v.issue(units(2)).unwrap();
        assert_eq!(v.issue(units(3)), Ok(cents(900)));
        assert_eq!((v.quantity(), v.value()), (units(-3), cents(-900)));
        assert_eq!(v.average_unit_cost(), cents(300));
    }

    #[test]
    fn an_issue_past_zero_takes_the_remaining_value_and_costs_the_shortfall_at_the_average() {
        let mut v = Valuation::new();
        v.receive(units(2), cents(300)).unwrap();
        v.receive(units(1), cents(600)).unwrap(); // 3 units worth 12.00, average 4.00
        assert_eq!(v.issue(units(5)), Ok(cents(1200 + 800)));
        assert_eq!((v.quantity(), v.value()), (units(-2), cents(-800)));
        assert_eq!(v.average_unit_cost(), cents(400));
    }

    #[test]
    fn a_receipt_into_negative_stock_revalues_the_shortfall_at_the_incoming_cost() {
        let mut v = Valuation::new();
        v.receive(units(1), cents(400)).unwrap();
        v.issue(units(3)).unwrap(); // −2 units costed at 4.00: value −8.00
        // 5 units at 5.00 = 25.00, less 2 × (5.00 − 4.00): the 2 shipped were under-costed.
        assert_eq!(v.receive(units(5), cents(500)), Ok(cents(2300)));
        assert_eq!((v.quantity(), v.value(), v.average_unit_cost()), (units(3), cents(1500), cents(500)));
    }

    #[test]
    fn a_receipt_that_leaves_stock_negative_values_it_at_the_incoming_cost() {
        let mut v = Valuation::new();
        v.receive(units(1), cents(400)).unwrap();
        v.issue(units(6)).unwrap(); // −5 at 4.00 = −20.00
        assert_eq!(v.receive(units(2), cents(100)), Ok(cents(1700)));
        assert_eq!((v.quantity(), v.value(), v.average_unit_cost()), (units(-3), cents(-300), cents(100)));
        assert_eq!(v.receive(units(3), cents(700)), Ok(cents(300)));
        assert_eq!((v.quantity(), v.value(), v.average_unit_cost()), (0, 0, cents(700)));
    }

    #[test]
    fn a_fresh_valuation_issues_at_zero_cost_until_a_cost_is_known() {
        let mut v = Valuation::new();
        assert_eq!(v.issue(units(2)), Ok(0));
        assert_eq!((v.quantity(), v.value()), (units(-2), 0));
    }

    #[test]
    fn zero_or_negative_quantities_and_negative_costs_are_refused() {
        let mut v = Valuation::new();
        assert_eq!(v.receive(0, 1), Err(StockError::InvalidQuantity));
        assert_eq!(v.receive(-1, 1), Err(StockError::InvalidQuantity));
        assert_eq!(v.issue(0), Err(StockError::InvalidQuantity));
        assert_eq!(v.issue(-5), Err(StockError::InvalidQuantity));
        assert_eq!(v.receive(1, -1), Err(StockError::InvalidCost));
        assert_eq!(v, Valuation::new());
        assert_eq!(v.receive(units(1), 0), Ok(0), "a free receipt is allowed");
    }

    #[test]
    fn an_overflow_is_refused_and_leaves_the_valuation_unchanged() {
        let mut v = Valuation::new();
        v.receive(units(1), cents(100)).unwrap();
        let before = v;
        assert_eq!(v.receive(i64::MAX, 1), Err(StockError::TooLarge));
        assert_eq!(v.receive(units(1_000_000), i64::MAX), Err(StockError::TooLarge));
        assert_eq!(v, before);
        let mut low = Valuation::restore(i64::MIN + 1, 0, 0).unwrap();
        assert_eq!(low.issue(2), Err(StockError::TooLarge));
    }

    #[test]
    fn a_stored_valuation_is_restored_only_when_its_value_has_the_sign_of_its_quantity() {
        let v = Valuation::restore(units(15), cents(7500), 0).unwrap();
        assert_eq!(v.average_unit_cost(), cents(500), "recomputed from the value");
        assert_eq!(Valuation::restore(units(-2), cents(-800), cents(400)).unwrap().average_unit_cost(), cents(400));
        assert_eq!(Valuation::restore(0, 0, cents(400)).unwrap().average_unit_cost(), cents(400));
        assert_eq!(Valuation::restore(units(1), -1, 0), Err(StockError::InvalidValuation));
        assert_eq!(Valuation::restore(units(-1), 1, 0), Err(StockError::InvalidValuation));
        assert_eq!(Valuation::restore(0, 1, 0), Err(StockError::InvalidValuation));
        assert_eq!(Valuation::restore(0, 0, -1), Err(StockError::InvalidCost));
    }

    #[test]
    fn an_issue_below_zero_is_refused_naming_on_hand_and_the_quantity_asked() {
        let err = check_issue(units(3), units(5), false).unwrap_err();
        assert_eq!(err.to_string(), "only 3 on hand, 5 asked");
        let err = check_issue(25_000, 32_500, false).unwrap_err();
        assert_eq!(err, StockError::NotEnoughOnHand { on_hand: 25_000, asked: 32_500 });
        assert_eq!(err.to_string(), "only 2.5 on hand, 3.25 asked");
        assert_eq!(check_issue(units(-1), 1, false).unwrap_err().to_string(), "only -1 on hand, 0.0001 asked");
    }

    #[test]
    fn an_issue_of_everything_on_hand_or_into_allowed_negative_stock_passes() {
        assert_eq!(check_issue(units(3), units(3), false), Ok(()));
        assert_eq!(check_issue(units(3), units(5), true), Ok(()));
        assert_eq!(check_issue(units(-3), units(5), true), Ok(()));
        assert_eq!(check_issue(i64::MIN, i64::MAX, true), Ok(()));
        assert_eq!(check_issue(units(3), 0, true), Err(StockError::InvalidQuantity));
    }

    #[test]
    fn quantities_are_decimals_with_up_to_four_places() {
        assert_eq!(parse_quantity("2.5"), Ok(25_000));
        assert_eq!(parse_quantity(" 3 "), Ok(units(3)));
        assert_eq!(parse_quantity("0.0001"), Ok(1));
        assert_eq!(parse_quantity("-1.25"), Ok(-12_500));
        assert_eq!(parse_quantity("1.234500"), Ok(12_345), "trailing zeros are not precision");
        assert_eq!(parse_quantity("007"), Ok(units(7)));
        assert_eq!(parse_quantity("1.23456"), Err("must have at most 4 decimal places".to_string()));
    }

    #[test]
    fn floats_as_text_and_other_non_decimals_are_refused() {
        for bad in
            ["", "-", "abc", "1e3", "1E3", "1,5", "1_000", "+1", ".5", "5.", "1.2.3", "NaN", "inf", "--1", "1 000"]
        {
            assert!(parse_quantity(bad).unwrap_err().starts_with("must be a decimal number"), "{bad:?}");
        }
    }

    #[test]
    fn a_quantity_too_large_for_the_scale_is_refused_not_wrapped() {
        assert_eq!(parse_quantity("922337203685477.5807"), Ok(i64::MAX));
        assert_eq!(parse_quantity("-922337203685477.5808"), Ok(i64::MIN));
        assert_eq!(parse_quantity("922337203685477.5808"), Err("is too large".to_string()));
        assert_eq!(parse_quantity(&"9".repeat(60)), Err("is too large".to_string()));
    }

    #[test]
    fn quantities_print_with_trailing_zeros_trimmed() {
        assert_eq!(format_quantity(25_000), "2.5");
        assert_eq!(format_quantity(units(3)), "3");
        assert_eq!(format_quantity(0), "0");
        assert_eq!(format_quantity(1), "0.0001");
        assert_eq!(format_quantity(-100), "-0.01");
        assert_eq!(format_quantity(i64::MIN), "-922337203685477.5808");
    }

    #[test]
    fn the_average_can_differ_from_the_exact_one_by_more_than_half_a_unit_because_receipts_round() {
        // 1.5 units at 0.0001 minor unit = 0.00015 → 0.0002; 1 unit at 0.0002.
        // Exact average 0.00035 / 2.5 = 0.00014; stored 0.0004 / 2.5 = 0.00016.
        let mut v = Valuation::new();
        v.receive(15_000, 1).unwrap();
        v.receive(units(1), 2).unwrap();
        assert_eq!(v.average_unit_cost(), 2);
    }

    // -----------------------------------------------------------------------
    // Properties over random sequences of receipts and issues.

    #[derive(Debug, Clone, Copy)]
    enum Move {
        Receive { qty: i64, unit_cost: i64 },
        Issue { qty: i64 },
    }

    /// 1 to 1,000 units with 0 to 4 decimals.
    fn arb_qty() -> impl Strategy<Value = i64> {
        (units(1)..=units(1_000), 0u32..=4).prop_map(|(q, decimals)| {
            let step = 10i64.pow(QTY_SCALE - decimals);
            q / step * step
        })
    }

    /// 0 to 10,000.0000 at the value scale, a free receipt now and then.
    fn arb_cost() -> impl Strategy<Value = i64> {
        prop_oneof![1 => Just(0i64), 9 => 0i64..=100_000_000]
    }

    fn arb_moves() -> impl Strategy<Value = Vec<Move>> {
        let mv = prop_oneof![
            (arb_qty(), arb_cost()).prop_map(|(qty, unit_cost)| Move::Receive { qty, unit_cost }),
            arb_qty().prop_map(|qty| Move::Issue { qty }),
        ];
        prop::collection::vec(mv, 1..=40)
    }

    /// round(qty × unit cost) recomputed with `Decimal`, in value-scale units.
    fn reference_receipt_value(qty: i64, unit_cost: i64) -> i64 {
        let exact = Decimal::new(qty, QTY_SCALE) * Decimal::from(unit_cost);
        i64::try_from(exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)).unwrap()
    }

    proptest! {
        #[test]
        fn quantity_on_hand_is_receipts_less_issues_and_value_is_what_was_added_less_what_was_costed(moves in arb_moves()) {
            // Negative stock allowed: every issue goes through.
            let mut v = Valuation::new();
            let (mut quantity, mut value) = (0i64, 0i64);
            for m in moves {
                match m {
                    Move::Receive { qty, unit_cost } => {
                        quantity += qty;
                        value += v.receive(qty, unit_cost).unwrap();
                    }
                    Move::Issue { qty } => {
                        quantity -= qty;
                        let cost = v.issue(qty).unwrap();
                        prop_assert!(cost >= 0);
                        value -= cost;
                    }
                }
                prop_assert_eq!(v.quantity(), quantity);
                prop_assert_eq!(v.value(), value);
                prop_assert!(v.value().signum() == v.quantity().signum() || v.value() == 0, "{:?}", v);
                prop_assert!(v.quantity() != 0 || v.value() == 0, "{:?}", v);
            }
        }

        #[test]
        fn costing_neither_loses_nor_creates_value_while_stock_stays_positive(moves in arb_moves()) {
            let mut v = Valuation::new();
            let (mut received, mut costed) = (0i64, 0i64);
            for m in moves {
                match m {
                    Move::Receive { qty, unit_cost } => {
                        let added = v.receive(qty, unit_cost).unwrap();
                        prop_assert_eq!(added, reference_receipt_value(qty, unit_cost));
                        received += added;
                    }
                    Move::Issue { qty } => {
                        let qty = qty.min(v.quantity());
                        if qty == 0 {
                            prop_assert_eq!(check_issue(v.quantity(), 1, false).is_err(), true);
                            continue;
                        }
                        check_issue(v.quantity(), qty, false).unwrap();
                        let before = v.value();
                        let cost = v.issue(qty).unwrap();
                        prop_assert!((0..=before).contains(&cost));
                        costed += cost;
                    }
                }
                prop_assert!(v.quantity() >= 0 && v.value() >= 0);
                prop_assert_eq!(costed + v.value(), received);
            }
        }

        #[test]
        fn after_receipts_only_the_average_is_the_exact_weighted_average_within_rounding(
            receipts in prop::collection::vec((arb_qty(), arb_cost()), 1..=20),
        ) {
            let mut v = Valuation::new();
            for &(qty, unit_cost) in &receipts {
                v.receive(qty, unit_cost).unwrap();
            }
            let total_qty: Decimal = receipts.iter().map(|&(q, _)| Decimal::new(q, QTY_SCALE)).sum();
            let total_value: Decimal =
                receipts.iter().map(|&(q, c)| Decimal::new(q, QTY_SCALE) * Decimal::from(c)).sum();
            let exact = total_value / total_qty;
            // Half a unit for rounding the average, plus each receipt's value
            // rounding (at most half a value unit) spread over the quantity.
            let n = Decimal::from(receipts.len());
            let bound = Decimal::new(5, 1) + Decimal::new(5, 1) * n / total_qty;
            let diff = (Decimal::from(v.average_unit_cost()) - exact).abs();
            prop_assert!(diff <= bound, "average {} exact {} diff {} bound {}", v.average_unit_cost(), exact, diff, bound);
            prop_assert!(diff < Decimal::ONE);
            if receipts.len() == 1 {
                prop_assert_eq!(v.average_unit_cost(), receipts[0].1, "one receipt: its cost is the average");
            }
        }

        #[test]
        fn issuing_everything_leaves_no_value(moves in arb_moves()) {
            let mut v = Valuation::new();
            for m in moves {
                match m {
                    Move::Receive { qty, unit_cost } => { v.receive(qty, unit_cost).unwrap(); }
                    Move::Issue { qty } if qty < v.quantity() => { v.issue(qty).unwrap(); }
                    Move::Issue { .. } => {}
                }
            }
            if v.quantity() > 0 {
                let value = v.value();
                prop_assert_eq!(v.issue(v.quantity()), Ok(value));
            }
            prop_assert_eq!((v.quantity(), v.value()), (0, 0));
        }

        #[test]
        fn any_quantity_survives_a_round_trip_through_its_text(qty in any::<i64>()) {
            let text = format_quantity(qty);
            prop_assert_eq!(parse_quantity(&text), Ok(qty));
            prop_assert!(!text.contains('.') || !text.ends_with('0'), "{}", text);
        }

        #[test]
        fn parsing_a_decimal_string_agrees_with_decimal(units in -1_000_000_000_000i64..1_000_000_000_000, scale in 0u32..=4) {
            let d = Decimal::new(units, scale);
            let qty = parse_quantity(&d.to_string()).unwrap();
            prop_assert_eq!(Decimal::new(qty, QTY_SCALE), d);
            prop_assert_eq!(format_quantity(qty), d.normalize().to_string());
        }
    }
}
