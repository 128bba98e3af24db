//! The weighted pipeline forecast: what the open opportunities are worth,
//! month by month.
//!
//! Rules:
//! - An opportunity counts in the month of its expected close date.
//! - Its weighted amount is amount × probability ÷ 100, rounded half away
//!   from zero to the currency's minor unit — per opportunity, in integers,
//!   so that every sum over months, owners or the whole range is the sum of
//!   the same whole numbers and adds up exactly.
//! - Amounts of different currencies are never added together: every line
//!   and every total is for one currency.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::{Date, Month};

use crate::money::Currency;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    year: i32,
    month: u8,
}

/// Why a text is not a month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a month written YYYY-MM, e.g. 2026-04")]
pub struct InvalidMonth;

impl YearMonth {
    pub fn new(year: i32, month: u8) -> Result<Self, InvalidMonth> {
        if (1..=12).contains(&month) && (1..=9999).contains(&year) {
            Ok(YearMonth { year, month })
        } else {
            Err(InvalidMonth)
        }
    }

    /// The month a date falls in.
    pub fn of(d: Date) -> Self {
        YearMonth { year: d.year(), month: u8::from(d.month()) }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    /// Months since year 0: consecutive months are consecutive numbers.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(i: i64) -> Self {
        YearMonth { year: i.div_euclid(12) as i32, month: (i.rem_euclid(12) + 1) as u8 }
    }

    /// This month moved by `n` months (negative: back).
    pub fn plus(self, n: i64) -> Self {
        Self::from_index(self.index() + n)
    }

    /// How many months from `self` to `other`, both included (0 when `other` is earlier).
    pub fn months_through(self, other: YearMonth) -> i64 {
        (other.index() - self.index() + 1).max(0)
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        let m = Month::try_from(self.month).expect("a checked month");
        Date::from_calendar_date(self.year, m, 1).expect("a checked month has a first day")
    }

    /// The last day of the month.
    pub fn last_day(self) -> Date {
        self.plus(1).first_day().previous_day().expect("not the first day ever")
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for YearMonth {
    type Err = InvalidMonth;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (y, m) = s.trim().split_once('-').ok_or(InvalidMonth)?;
        if y.len() != 4 || m.len() != 2 || !y.chars().chain(m.chars()).all(|c| c.is_ascii_digit()) {
            return Err(InvalidMonth);
        }
        YearMonth::new(y.parse().map_err(|_| InvalidMonth)?, m.parse().map_err(|_| InvalidMonth)?)
    }
}

/// The weighted amount of one opportunity, in minor units: amount ×
/// probability ÷ 100, rounded half away from zero.
pub fn weighted_minor(amount_minor: i64, probability: i64) -> i64 {
    let n = i128::from(amount_minor) * i128::from(probability);
    let (q, r) = (n / 100, n % 100);
    let q = if r.abs() * 2 >= 100 { q + r.signum() } else { q };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// One open opportunity as the forecast sees it; `K` names its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastItem<K> {
    pub month: YearMonth,
    pub owner: K,
    pub currency: Currency,
    pub amount_minor: i64,
    /// Integer percent, 0–100.
    pub probability: i64,
}

/// Count and sums of a group of opportunities, in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sums {
    pub count: i64,
    pub total_minor: i64,
    pub weighted_minor: i64,
}

impl Sums {
    fn add(&mut self, amount_minor: i64, weighted: i64) {
        self.count += 1;
        self.total_minor = self.total_minor.saturating_add(amount_minor);
        self.weighted_minor = self.weighted_minor.saturating_add(weighted);
    }
}

/// One line of the forecast: a month, an owner, a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastLine<K> {
    pub month: YearMonth,
    pub owner: K,
    pub currency: Currency,
    pub sums: Sums,
}

/// The forecast over a range of months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast<K> {
    /// By month, then owner, then currency code.
    pub lines: Vec<ForecastLine<K>>,
    /// Per month and currency (all owners), by month then currency code.
    pub months: Vec<(YearMonth, Currency, Sums)>,
    /// Per currency over the whole range, by currency code.
    pub totals: Vec<(Currency, Sums)>,
}

/// Groups the items whose month lies in `from..=to` by month and owner, per
/// currency. Items outside the range are left out.
pub fn forecast<K: Ord + Clone>(items: &[ForecastItem<K>], from: YearMonth, to: YearMonth) -> Forecast<K> {
    let mut lines: BTreeMap<(YearMonth, K, &'static str), (Currency, Sums)> = BTreeMap::new();
    let mut months: BTreeMap<(YearMonth, &'static str), (Currency, Sums)> = BTreeMap::new();
    let mut totals: BTreeMap<&'static str, (Currency, Sums)> = BTreeMap::new();
    for it in items.iter().filter(|it| it.month >= from && it.month <= to) {
        let w = weighted_minor(it.amount_minor, it.probability);
        let code = it.currency.code();
        let blank = (it.currency, Sums::default());
        lines.entry((it.month, it.owner.clone(), code)).or_insert(blank).1.add(it.amount_minor, w);
        months.entry((it.month, code)).or_insert(blank).1.add(it.amount_minor, w);
        totals.entry(code).or_insert(blank).1.add(it.amount_minor, w);
    }
    Forecast {
        lines: lines
            .into_iter()
            .map(|((month, owner, _), (currency, sums))| ForecastLine { month, owner, currency, sums })
            .collect(),
        months: months.into_iter().map(|((m, _), (c, s))| (m, c, s)).collect(),
        totals: totals.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn ym(s: &str) -> YearMonth {
        s.parse().unwrap()
    }

    fn item(month: &str, owner: u8, c: &str, amount_minor: i64, probability: i64) -> ForecastItem<u8> {
        ForecastItem { month: ym(month), owner, currency: cur(c), amount_minor, probability }
    }

    #[test]
    fn months_parse_print_and_count() {
        assert_eq!(ym("2026-04").to_string(), "2026-04");
        for bad in ["2026-13", "2026-4", "26-04", "2026/04", "", "2026-00", "abcd-ef"] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
        assert_eq!(ym("2026-11").plus(3), ym("2027-02"));
        assert_eq!(ym("2026-01").plus(-1), ym("2025-12"));
        assert_eq!(ym("2025-11").months_through(ym("2026-02")), 4);
        assert_eq!(ym("2026-02").months_through(ym("2025-11")), 0);
        assert_eq!(ym("2024-02").last_day(), time::macros::date!(2024 - 02 - 29));
        assert_eq!(YearMonth::of(time::macros::date!(2026 - 07 - 31)), ym("2026-07"));
    }

    #[test]
    fn weighting_rounds_half_away_from_zero_to_the_minor_unit() {
        assert_eq!(weighted_minor(1001, 50), 501, "500.5 cents round up");
        assert_eq!(weighted_minor(1003, 25), 251, "250.75 cents round up");
        assert_eq!(weighted_minor(1001, 10), 100, "100.1 cents round down");
        assert_eq!(weighted_minor(-1001, 50), -501, "away from zero below zero too");
        assert_eq!(weighted_minor(12_345, 100), 12_345);
        assert_eq!(weighted_minor(12_345, 0), 0);
        assert_eq!(weighted_minor(i64::MAX, 100), i64::MAX, "no overflow on the way");
    }

    #[test]
    fn the_forecast_groups_by_month_and_owner_and_never_mixes_currencies() {
        let items = [
            item("2026-03", 1, "USD", 1001, 50),
            item("2026-03", 1, "USD", 1001, 50),
            item("2026-03", 1, "EUR", 5000, 10),
            item("2026-03", 2, "USD", 3333, 75),
            item("2026-04", 1, "USD", 10_000, 25),
            item("2026-05", 1, "USD", 99_999, 90),
            item("2026-02", 1, "USD", 99_999, 90),
        ];
        let f = forecast(&items, ym("2026-03"), ym("2026-04"));
        let lines: Vec<_> = f
            .lines
            .iter()
            .map(|l| {
                (
                    l.month.to_string(),
                    l.owner,
                    l.currency.code(),
                    l.sums.count,
                    l.sums.total_minor,
                    l.sums.weighted_minor,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("2026-03".to_string(), 1, "EUR", 1, 5000, 500),
                ("2026-03".to_string(), 1, "USD", 2, 2002, 1002),
                ("2026-03".to_string(), 2, "USD", 1, 3333, 2500),
                ("2026-04".to_string(), 1, "USD", 1, 10_000, 2500),
            ]
        );
        // 2 × 500.5 rounded per opportunity is 1002, not round(1001) = 1001.
        let totals: Vec<_> =
            f.totals.iter().map(|(c, s)| (c.code(), s.count, s.total_minor, s.weighted_minor)).collect();
        assert_eq!(totals, [("EUR", 1, 5000, 500), ("USD", 4, 15_335, 6002)]);
        assert_eq!(f.months.len(), 3);
    }

    fn arb_items() -> impl Strategy<Value = Vec<ForecastItem<u8>>> {
        let one = (
            0i64..24,
            0u8..4,
            prop::sample::select(vec!["USD", "EUR", "JPY", "KWD"]),
            0i64..10_000_000_000,
            0i64..=100,
        )
            .prop_map(|(m, owner, c, amount_minor, probability)| ForecastItem {
                month: YearMonth::new(2025, 1).unwrap().plus(m),
                owner,
                currency: Currency::parse(c).unwrap(),
                amount_minor,
                probability,
            });
        prop::collection::vec(one, 0..60)
    }

    proptest! {
        #[test]
        fn weighted_never_exceeds_the_total(items in arb_items()) {
            let f = forecast(&items, ym("2025-01"), ym("2026-12"));
            for l in &f.lines {
                prop_assert!(0 <= l.sums.weighted_minor && l.sums.weighted_minor <= l.sums.total_minor);
            }
            for (_, s) in &f.totals {
                prop_assert!(s.weighted_minor <= s.total_minor);
            }
        }

        #[test]
        fn the_months_add_up_exactly_to_the_total_over_the_range(items in arb_items(), a in 0i64..24, len in 0i64..24) {
            let (from, to) = (ym("2025-01").plus(a), ym("2025-01").plus(a + len));
            let f = forecast(&items, from, to);
            for (c, total) in &f.totals {
                let mut months = Sums::default();
                for (_, mc, s) in f.months.iter().filter(|(_, mc, _)| mc == c) {
                    prop_assert_eq!(mc, c);
                    months.count += s.count;
                    months.total_minor += s.total_minor;
                    months.weighted_minor += s.weighted_minor;
                }
                let mut lines = Sums::default();
                for l in f.lines.iter().filter(|l| l.currency == *c) {
                    lines.count += l.sums.count;
                    lines.total_minor += l.sums.total_minor;
                    lines.weighted_minor += l.sums.weighted_minor;
                }
                prop_assert_eq!(months, *total);
                prop_assert_eq!(lines, *total);
                // And the total is what the items in range add up to, one by one.
                let direct: i64 = items.iter().filter(|i| i.currency == *c && i.month >= from && i.month <= to)
                    .map(|i| weighted_minor(i.amount_minor, i.probability)).sum();
                prop_assert_eq!(total.weighted_minor, direct);
            }
        }
    }
}
