//! Payment terms: when an invoice's money is due.
//!
//! DOMAIN.md "Payment terms": a term is a list of instalments, each a percent
//! of the total (or the remainder), a delay in days, optionally moved to the
//! end of that month, optionally moved to a day of the month. "Net 30",
//! "30 days end of month" and "50 % now, 50 % at 60 days" are all expressible.
//!
//! The due date of an instalment, from the invoice date:
//! 1. add `days`;
//! 2. with `end_of_month`, move to the last day of that month;
//! 3. with `day_of_month` (1–31), move forward to the next such day (the same
//!    day if it already is; a day the month lacks means its last day).
//!
//! Amounts: each percent instalment is the total × percent, rounded to the
//! currency's minor unit half away from zero; the remainder instalment (or,
//! when there is none, the last one) takes what is left, so the instalments
//! always add up to the total exactly.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month};

use crate::DomainError;
use crate::error::Validator;
use crate::money::{Money, round_half_away};

/// One instalment of a payment term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instalment {
    /// Percent of the total as a decimal string (`"50"`); `null` = the remainder.
    #[serde(default, with = "rust_decimal::serde::str_option")]
    pub percent: Option<Decimal>,
    /// Days after the invoice date.
    #[serde(default)]
    pub days: u32,
    /// Move to the last day of the month reached.
    #[serde(default)]
    pub end_of_month: bool,
    /// Move forward to this day of the month (1–31).
    #[serde(default)]
    pub day_of_month: Option<u8>,
}

impl Instalment {
    /// A short human description: "50 % at 0 days", "the rest at 30 days, end of month".
    pub fn describe(&self) -> String {
        let mut s = match self.percent {
            Some(p) => format!("{} % at {} days", p.normalize(), self.days),
            None => format!("the rest at {} days", self.days),
        };
        if self.end_of_month {
            s.push_str(", end of month");
        }
        if let Some(d) = self.day_of_month {
            s.push_str(&format!(", on day {d}"));
        }
        s
    }
}

/// A checked list of instalments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Terms {
    instalments: Vec<Instalment>,
}

/// One due date and the amount due then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDate {
    pub date: Date,
    pub amount: Money,
}

impl Terms {
    /// Checks the instalments: one to twelve of them; percents above 0 and at
    /// most 100 with up to 4 decimals; at most one remainder; the percents add
    /// up to 100 when there is no remainder and to less than 100 when there is.
    pub fn new(instalments: Vec<Instalment>) -> Result<Terms, DomainError> {
        let mut v = Validator::new();
        if instalments.is_empty() || instalments.len() > 12 {
            v.add("instalments", "must list 1 to 12 instalments");
        }
        let mut sum = Decimal::ZERO;
        let mut remainders = 0;
        for (i, inst) in instalments.iter().enumerate() {
            match inst.percent {
                None => remainders += 1,
                Some(p) if p <= Decimal::ZERO || p > Decimal::ONE_HUNDRED => {
                    v.add(format!("instalments[{i}].percent"), "must be above 0 and at most 100")
                }
                Some(p) if p.normalize().scale() > 4 => {
                    v.add(format!("instalments[{i}].percent"), "must have at most 4 decimal places")
                }
                Some(p) => sum += p,
            }
            if inst.days > 3660 {
                v.add(format!("instalments[{i}].days"), "must be at most 3660");
            }
            if inst.day_of_month.is_some_and(|d| !(1..=31).contains(&d)) {
                v.add(format!("instalments[{i}].day_of_month"), "must be between 1 and 31");
            }
        }
        if remainders > 1 {
            v.add("instalments", "may have only one remainder instalment (percent null)");
        } else if remainders == 1 && sum >= Decimal::ONE_HUNDRED {
            v.add("instalments", "leave something for the remainder instalment: the percents reach 100");
        } else if remainders == 0 && !instalments.is_empty() && sum != Decimal::ONE_HUNDRED {
            v.add(
                "instalments",
                format!("the percents add up to {sum}, not 100; add a remainder instalment or fix them"),
            );
        }
        v.finish()?;
        Ok(Terms { instalments })
    }

    pub fn instalments(&self) -> &[Instalment] {
        &self.instalments
    }

    /// The due dates and amounts of `total` for an invoice dated `date`,
    /// in date order (instalments due the same day stay separate).
    pub fn schedule(&self, total: Money, date: Date) -> Vec<DueDate> {
        let currency = total.currency();
        let whole = total.to_decimal();
        let mut amounts: Vec<Option<Money>> = self
            .instalments
            .iter()
            .map(|i| {
                i.percent.map(|p| {
                    let d = round_half_away(whole * p / Decimal::ONE_HUNDRED, currency.minor_units());
                    Money::from_decimal_exact(d, currency).unwrap_or(Money::zero(currency))
                })
            })
            .collect();
        let taken: i64 = amounts.iter().flatten().map(Money::minor).sum();
        let rest = total.minor() - taken;
        let slot = amounts.iter().position(Option::is_none).unwrap_or(amounts.len() - 1);
        let base = amounts[slot].map_or(0, |m| m.minor());
        amounts[slot] = Some(Money::from_minor(base + rest, currency));
        let mut out: Vec<DueDate> = self
            .instalments
            .iter()
            .zip(amounts)
            .map(|(i, a)| DueDate { date: due_date(i, date), amount: a.unwrap_or(Money::zero(currency)) })
            .collect();
        out.sort_by_key(|d| d.date);
        out
    }
}

fn last_day(year: i32, month: Month) -> u8 {
    time::util::days_in_month(month, year)
}

/// The due date of one instalment for an invoice dated `date`.
pub fn due_date(i: &Instalment, date: Date) -> Date {
    let mut d = date.checked_add(Duration::days(i64::from(i.days))).unwrap_or(Date::MAX);
    if i.end_of_month {
        d = d.replace_day(last_day(d.year(), d.month())).unwrap_or(d);
    }
    if let Some(day) = i.day_of_month {
        let in_month = |y: i32, m: Month| {
            let day = day.min(last_day(y, m));
            Date::from_calendar_date(y, m, day).expect("a clamped day exists")
        };
        let candidate = in_month(d.year(), d.month());
        d = if candidate >= d {
            candidate
        } else {
            let (y, m) = if d.month() == Month::December {
                (d.year() + 1, Month::January)
            } else {
                (d.year(), d.month().next())
            };
            in_month(y, m)
        };
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;
    use time::macros::date;

    fn net(days: u32) -> Instalment {
        Instalment { percent: None, days, end_of_month: false, day_of_month: None }
    }

    fn usd(s: &str) -> Money {
        Money::parse(s, Currency::parse("USD").unwrap()).unwrap()
    }

    #[test]
    fn net_30_counts_calendar_days() {
        assert_eq!(due_date(&net(30), date!(2025 - 01 - 31)), date!(2025 - 03 - 02));
        assert_eq!(due_date(&net(30), date!(2024 - 01 - 31)), date!(2024 - 03 - 01));
        assert_eq!(due_date(&net(30), date!(2025 - 12 - 15)), date!(2026 - 01 - 14));
    }

    #[test]
    fn thirty_days_end_of_month_lands_on_the_last_day() {
        let i = Instalment { end_of_month: true, ..net(30) };
        assert_eq!(due_date(&i, date!(2025 - 01 - 15)), date!(2025 - 02 - 28));
        assert_eq!(due_date(&i, date!(2024 - 01 - 15)), date!(2024 - 02 - 29));
    }

    #[test]
    fn a_day_of_month_moves_forward_and_clamps_to_short_months() {
        let i = Instalment { day_of_month: Some(10), ..net(0) };
        assert_eq!(due_date(&i, date!(2025 - 03 - 05)), date!(2025 - 03 - 10));
        assert_eq!(due_date(&i, date!(2025 - 03 - 10)), date!(2025 - 03 - 10));
        assert_eq!(due_date(&i, date!(2025 - 12 - 11)), date!(2026 - 01 - 10));
        let i31 = Instalment { day_of_month: Some(31), ..net(0) };
        assert_eq!(due_date(&i31, date!(2025 - 02 - 03)), date!(2025 - 02 - 28));
    }

    #[test]
    fn half_now_half_at_sixty_days_splits_the_total_exactly() {
        let t = Terms::new(vec![
            Instalment { percent: Some(Decimal::from(50)), ..net(0) },
            Instalment { percent: None, ..net(60) },
        ])
        .unwrap();
        let s = t.schedule(usd("100.01"), date!(2026 - 01 - 10));
        assert_eq!(s[0], DueDate { date: date!(2026 - 01 - 10), amount: usd("50.01") });
        assert_eq!(s[1], DueDate { date: date!(2026 - 03 - 11), amount: usd("50.00") });
    }

    #[test]
    fn without_a_remainder_the_last_instalment_takes_the_rounding() {
        let third = Decimal::new(333333, 4);
        let t = Terms::new(vec![
            Instalment { percent: Some(third), ..net(0) },
            Instalment { percent: Some(third), ..net(30) },
            Instalment { percent: Some(Decimal::new(333334, 4)), ..net(60) },
        ])
        .unwrap();
        let s = t.schedule(usd("100.00"), date!(2026 - 01 - 01));
        let amounts: Vec<String> = s.iter().map(|d| d.amount.to_string()).collect();
        assert_eq!(amounts, ["33.33", "33.33", "33.34"]);
    }

    #[test]
    fn inconsistent_terms_are_refused_with_the_reason() {
        let bad = |insts: Vec<Instalment>| Terms::new(insts).unwrap_err().to_string();
        assert!(bad(vec![]).contains("1 to 12"));
        assert!(bad(vec![net(0), net(30)]).contains("only one remainder"));
        assert!(bad(vec![Instalment { percent: Some(Decimal::from(60)), ..net(0) }]).contains("not 100"));
        assert!(bad(vec![Instalment { percent: Some(Decimal::from(100)), ..net(0) }, net(30)]).contains("remainder"));
        assert!(bad(vec![Instalment { day_of_month: Some(32), ..net(0) }]).contains("day_of_month"));
        assert!(bad(vec![Instalment { percent: Some(Decimal::from(-5)), ..net(0) }, net(3)]).contains("percent"));
    }

    #[test]
    fn instalments_describe_themselves() {
        let i =
            Instalment { percent: Some(Decimal::new(500, 1)), end_of_month: true, day_of_month: Some(10), ..net(30) };
        assert_eq!(i.describe(), "50 % at 30 days, end of month, on day 10");
        assert_eq!(net(0).describe(), "the rest at 0 days");
    }

    #[test]
    fn instalments_read_from_json_with_decimal_string_percents() {
        let i: Instalment = serde_json::from_str(r#"{"percent": "50", "days": 30, "end_of_month": true}"#).unwrap();
        assert_eq!(i.percent, Some(Decimal::from(50)));
        let r: Instalment = serde_json::from_str(r#"{"percent": null, "days": 60}"#).unwrap();
        assert_eq!(r.percent, None);
        assert!(serde_json::from_str::<Instalment>(r#"{"percent": 50.5}"#).is_err(), "a JSON number is refused");
    }

    proptest! {
        #[test]
        fn the_schedule_always_adds_up_to_the_total(
            minor in -10_000_000i64..10_000_000,
            pcts in prop::collection::vec(1u32..40, 0..4),
            days in prop::collection::vec(0u32..400, 5),
            y in 2000i32..2100, doy in 1u16..365,
        ) {
            let mut insts: Vec<Instalment> = pcts.iter().zip(&days).map(|(p, d)| Instalment { percent: Some(Decimal::from(*p)), ..net(*d) }).collect();
            insts.push(net(days[4]));
            prop_assume!(pcts.iter().sum::<u32>() < 100);
            let t = Terms::new(insts).unwrap();
            let total = Money::from_minor(minor, Currency::parse("EUR").unwrap());
            let date = Date::from_ordinal_date(y, doy).unwrap();
            let s = t.schedule(total, date);
            prop_assert_eq!(s.iter().map(|d| d.amount.minor()).sum::<i64>(), minor);
            prop_assert!(s.iter().all(|d| d.date >= date));
            prop_assert!(s.windows(2).all(|w| w[0].date <= w[1].date));
        }
    }
}
