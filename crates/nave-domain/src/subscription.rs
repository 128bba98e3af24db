//! Subscriptions: lines billed every period (month, quarter, year) from a
//! start date, until an optional end date.
//!
//! Rules:
//! - Period *k* (from 0) starts on the start date plus *k* periods, counted
//!   from the start date each time, so a subscription started on 31 January
//!   bills on 28/29 February, 31 March, 30 April… and never drifts to the 28th.
//! - A period is billed once: its start date is the key of the run, so running
//!   the generator twice (or twice at once) for the same period bills nothing
//!   new. A run bills every period that started on or before the run date and
//!   was not billed yet (catching up after a pause of the generator, not after
//!   a pause of the subscription: resuming skips the periods that started while
//!   paused).
//! - With an end date, no period starting after it is billed; the
//!   subscription then has no next run.
//! - Lifecycle: active → paused → active, and active or paused → cancelled
//!   (final).

use time::{Date, Month};

use crate::DomainError;
use crate::access::string_enum;

string_enum! {
    /// How often a subscription bills.
    Period {
        Month => "month",
        Quarter => "quarter",
        Year => "year",
    }
}

impl Period {
    pub fn months(self) -> i32 {
        match self {
            Period::Month => 1,
            Period::Quarter => 3,
            Period::Year => 12,
        }
    }
}

string_enum! {
    /// Where a subscription stands.
    SubscriptionStatus {
        Active => "active",
        Paused => "paused",
        Cancelled => "cancelled",
    }
}

string_enum! {
    /// What can be done to a subscription.
    SubscriptionAction {
        Pause => "pause",
        Resume => "resume",
        Cancel => "cancel",
    }
}

impl SubscriptionStatus {
    pub fn allowed_actions(self) -> &'static [SubscriptionAction] {
        match self {
            SubscriptionStatus::Active => &[SubscriptionAction::Pause, SubscriptionAction::Cancel],
            SubscriptionStatus::Paused => &[SubscriptionAction::Resume, SubscriptionAction::Cancel],
            SubscriptionStatus::Cancelled => &[],
        }
    }
}

/// The status after `action`, or a refusal naming the status and the allowed actions.
pub fn transition(status: SubscriptionStatus, action: SubscriptionAction) -> Result<SubscriptionStatus, DomainError> {
    let allowed = status.allowed_actions();
    if !allowed.contains(&action) {
        return Err(DomainError::InvalidTransition {
            record: "subscription",
            current: status.as_str().to_string(),
            action: action.as_str(),
            allowed: allowed.iter().map(|a| a.as_str()).collect(),
        });
    }
    Ok(match action {
        SubscriptionAction::Pause => SubscriptionStatus::Paused,
        SubscriptionAction::Resume => SubscriptionStatus::Active,
        SubscriptionAction::Cancel => SubscriptionStatus::Cancelled,
    })
}

/// `date` plus `months` calendar months, on the same day of the month or the
/// month's last day when it is shorter.
pub fn add_months(date: Date, months: i32) -> Option<Date> {
    let index = date.year() * 12 + (date.month() as i32 - 1) + months;
    let year = index.div_euclid(12);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, date.day().min(last)).ok()
}

/// The start of period `k` (from 0) of a subscription started on `start`.
pub fn period_start(start: Date, period: Period, k: i32) -> Option<Date> {
    add_months(start, period.months().checked_mul(k)?)
}

/// The index of the first period starting on or after `date` (0 when `date`
/// is on or before the start).
pub fn first_period_from(start: Date, period: Period, date: Date) -> i32 {
    let mut k = 0;
    while period_start(start, period, k).is_some_and(|d| d < date) {
        k += 1;
    }
    k
}

/// The next period start to bill after period `k`, unless it is past `end`.
pub fn next_run(start: Date, period: Period, k: i32, end: Option<Date>) -> Option<Date> {
    period_start(start, period, k).filter(|d| end.is_none_or(|e| *d <= e))
}

/// How the period starting at `start` is named on invoices: its first and last day.
pub fn period_label(start: Date, period: Period) -> String {
    let end = add_months(start, period.months()).and_then(|d| d.previous_day()).unwrap_or(start);
    format!("{start} – {end}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn a_month_after_the_31st_of_january_is_the_last_day_of_february() {
        assert_eq!(add_months(date!(2026 - 01 - 31), 1), Some(date!(2026 - 02 - 28)));
        assert_eq!(add_months(date!(2028 - 01 - 31), 1), Some(date!(2028 - 02 - 29)));
        assert_eq!(add_months(date!(2026 - 11 - 30), 3), Some(date!(2027 - 02 - 28)));
    }

    #[test]
    fn periods_are_counted_from_the_start_so_they_never_drift() {
        let s = date!(2026 - 01 - 31);
        assert_eq!(period_start(s, Period::Month, 2), Some(date!(2026 - 03 - 31)));
        assert_eq!(period_start(s, Period::Quarter, 1), Some(date!(2026 - 04 - 30)));
        assert_eq!(period_start(s, Period::Year, 1), Some(date!(2027 - 01 - 31)));
    }

    #[test]
    fn no_period_after_the_end_date_is_billed() {
        let s = date!(2026 - 01 - 01);
        assert_eq!(next_run(s, Period::Month, 2, Some(date!(2026 - 03 - 01))), Some(date!(2026 - 03 - 01)));
        assert_eq!(next_run(s, Period::Month, 3, Some(date!(2026 - 03 - 01))), None);
    }

    #[test]
    fn resuming_starts_from_the_first_period_not_yet_begun() {
        let s = date!(2026 - 01 - 15);
        assert_eq!(first_period_from(s, Period::Month, date!(2026 - 04 - 01)), 3);
        assert_eq!(first_period_from(s, Period::Month, date!(2026 - 01 - 15)), 0);
    }

    #[test]
    fn a_cancelled_subscription_takes_no_action() {
        let e = transition(SubscriptionStatus::Cancelled, SubscriptionAction::Resume).unwrap_err();
        assert_eq!(e.to_string(), "cannot resume the subscription: it is cancelled; allowed actions: none");
    }

    proptest! {
        /// Period starts strictly increase, each within the period's length
        /// (28 to 366 days per month-count) of the previous one.
        #[test]
        fn period_starts_strictly_increase(y in 2000i32..2100, m in 1u8..=12, d in 1u8..=31, k in 0i32..60) {
            let month = Month::try_from(m).unwrap();
            let day = d.min(time::util::days_in_month(month, y));
            let s = Date::from_calendar_date(y, month, day).unwrap();
            for p in [Period::Month, Period::Quarter, Period::Year] {
                let a = period_start(s, p, k).unwrap();
                let b = period_start(s, p, k + 1).unwrap();
                prop_assert!(b > a);
                let gap = (b - a).whole_days();
                prop_assert!(gap >= i64::from(28 * p.months()) - 3 && gap <= i64::from(31 * p.months()) + 1);
            }
        }
    }
}
