//! The sales pipeline: the stages an opportunity moves through, and what a
//! move to a stage does to the opportunity.
//!
//! Rules (written down here and in the user guide):
//! - A stage is `open`, `won` or `lost`. A tenant's pipeline always has
//!   exactly one won stage and at least one lost stage; a change or delete
//!   that would break that is refused.
//! - A stage's default probability is an integer percent, 0–100. A won stage
//!   has 100 and a lost stage 0.
//! - An opportunity's status is its stage's kind. Its probability takes the
//!   new stage's default when the stage changes, unless the change names a
//!   probability; an open opportunity may carry any probability, a won one
//!   100 and a lost one 0.
//! - Moving to a won or lost stage closes the opportunity (`closed_at` is the
//!   time of the move); moving back to an open stage reopens it
//!   (`closed_at` cleared). Moving between two stages of the same closed kind
//!   keeps the original closing time.
//! - A lost opportunity needs a lost reason; a won one may carry a won reason.
//!   Each reason belongs to its status only and is cleared when the
//!   opportunity leaves it.

use time::OffsetDateTime;

use crate::DomainError;
use crate::access::string_enum;
use crate::error::Validator;

string_enum! {
    /// What reaching a stage means: still in play, won, or lost.
    StageKind {
        Open => "open",
        Won => "won",
        Lost => "lost",
    }
}

impl StageKind {
    /// The probability every stage of a closed kind has (`None` for open).
    pub fn fixed_probability(self) -> Option<i64> {
        match self {
            StageKind::Open => None,
            StageKind::Won => Some(100),
            StageKind::Lost => Some(0),
        }
    }
}

/// The pipeline every company starts with: (name, default probability, kind).
pub const DEFAULT_PIPELINE: &[(&str, i64, StageKind)] = &[
    ("Prospecting", 10, StageKind::Open),
    ("Qualification", 25, StageKind::Open),
    ("Proposal", 50, StageKind::Open),
    ("Negotiation", 75, StageKind::Open),
    ("Won", 100, StageKind::Won),
    ("Lost", 0, StageKind::Lost),
];

/// Longest lost or won reason, in characters.
pub const MAX_REASON: usize = 500;

/// Checks a probability: an integer percent from 0 to 100.
pub fn check_probability(v: &mut Validator, field: &str, p: i64) {
    if !(0..=100).contains(&p) {
        v.add(field, "must be a whole percent from 0 to 100");
    }
}

/// Checks a stage's default probability against its kind.
pub fn check_stage_probability(v: &mut Validator, kind: StageKind, p: i64) {
    check_probability(v, "probability", p);
    if let Some(fixed) = kind.fixed_probability().filter(|f| *f != p) {
        v.add("probability", format!("a {kind} stage has probability {fixed}"));
    }
}

/// Refuses a pipeline that lacks its one won stage or any lost stage; `kinds`
/// are the kinds of every stage the pipeline would have after the change.
pub fn check_pipeline(kinds: impl IntoIterator<Item = StageKind>) -> Result<(), DomainError> {
    let (mut won, mut lost) = (0, 0);
    for k in kinds {
        match k {
            StageKind::Won => won += 1,
            StageKind::Lost => lost += 1,
            StageKind::Open => {}
        }
    }
    if won == 1 && lost >= 1 {
        return Ok(());
    }
    Err(DomainError::Conflict(format!(
        "the pipeline must keep exactly one won stage and at least one lost stage; this change would leave \
         {won} won and {lost} lost stage(s)"
    )))
}

/// What an opportunity's stage decides: its status, probability, closing
/// time and reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub kind: StageKind,
    pub probability: i64,
    pub closed_at: Option<OffsetDateTime>,
    pub lost_reason: Option<String>,
    pub won_reason: Option<String>,
}

/// A change to an opportunity's standing. `None` fields stay as they are;
/// `Some(None)` (or a blank text) clears a reason.
#[derive(Debug, Clone, Default)]
pub struct StandingChange<'a> {
    /// The stage moved to: its kind and default probability (`None` = the
    /// stage stays).
    pub stage: Option<(StageKind, i64)>,
    pub probability: Option<i64>,
    pub lost_reason: Option<Option<&'a str>>,
    pub won_reason: Option<Option<&'a str>>,
}

fn clean_reason(r: Option<&str>) -> Option<String> {
    r.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string)
}

/// One reason under its status's rule: kept while the status stays, cleared
/// when it leaves, refused when given for another status.
fn settle_reason(
    v: &mut Validator,
    field: &str,
    owner: StageKind,
    to: StageKind,
    before: Option<&Standing>,
    given: Option<Option<&str>>,
    kept: impl Fn(&Standing) -> Option<String>,
) -> Option<String> {
    let given = given.map(clean_reason);
    if to != owner {
        if let Some(Some(_)) = given {
            v.add(field, format!("only a {owner} opportunity has a {owner} reason"));
        }
        return None;
    }
    let reason = match given {
        Some(r) => r,
        None => before.filter(|b| b.kind == owner).and_then(kept),
    };
    if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON) {
        v.add(field, format!("must be at most {MAX_REASON} characters"));
    }
    reason
}

/// The standing after `change`, at time `at`. `before` is `None` for a new
/// opportunity, whose change must name its stage. Every refusal is recorded
/// in `v` under the field it concerns.
pub fn settle(
    v: &mut Validator,
    before: Option<&Standing>,
    change: &StandingChange<'_>,
    at: OffsetDateTime,
) -> Option<Standing> {
    let (kind, moved_default) = match (change.stage, before) {
        (Some((k, p)), _) => (k, Some(p)),
        (None, Some(b)) => (b.kind, None),
        (None, None) => {
            v.add("stage_id", "is required");
            return None;
        }
    };
    let probability = match change.probability {
        Some(p) => {
            check_probability(v, "probability", p);
            if let Some(fixed) = kind.fixed_probability().filter(|f| *f != p) {
                v.add("probability", format!("a {kind} opportunity has probability {fixed}"));
            }
            p
        }
        None => match (moved_default, before) {
            (Some(p), _) => kind.fixed_probability().unwrap_or(p),
            (None, Some(b)) => b.probability,
            (None, None) => 0,
        },
    };
    let closed_at = match (kind, before) {
        (StageKind::Open, _) => None,
        (_, Some(b)) if b.kind == kind => b.closed_at.or(Some(at)),
        _ => Some(at),
    };
    let lost_reason =
        settle_reason(v, "lost_reason", StageKind::Lost, kind, before, change.lost_reason, |b| b.lost_reason.clone());
    if kind == StageKind::Lost && lost_reason.is_none() {
        v.add("lost_reason", "is required when the opportunity is lost");
    }
    let won_reason =
        settle_reason(v, "won_reason", StageKind::Won, kind, before, change.won_reason, |b| b.won_reason.clone());
    Some(Standing { kind, probability, closed_at, lost_reason, won_reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);
    const T1: OffsetDateTime = datetime!(2026-03-05 16:30 UTC);

    fn fields(v: Validator) -> Vec<String> {
        match v.finish() {
            Ok(()) => vec![],
            Err(DomainError::Validation(e)) => e.into_iter().map(|e| e.field).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    fn open(p: i64) -> Standing {
        Standing { kind: StageKind::Open, probability: p, closed_at: None, lost_reason: None, won_reason: None }
    }

    #[test]
    fn the_default_pipeline_is_whole_and_its_closed_stages_have_fixed_probabilities() {
        assert!(check_pipeline(DEFAULT_PIPELINE.iter().map(|s| s.2)).is_ok());
        for (_, p, k) in DEFAULT_PIPELINE {
            let mut v = Validator::new();
            check_stage_probability(&mut v, *k, *p);
            assert!(v.finish().is_ok());
        }
    }

    #[test]
    fn a_pipeline_needs_exactly_one_won_and_at_least_one_lost_stage() {
        use StageKind::*;
        assert!(check_pipeline([Open, Won, Lost, Lost]).is_ok());
        let e = check_pipeline([Open, Lost]).unwrap_err().to_string();
        assert!(e.contains("0 won and 1 lost"), "{e}");
        assert!(check_pipeline([Won, Won, Lost]).is_err());
        assert!(check_pipeline([Open, Won]).is_err());
    }

    #[test]
    fn a_won_stage_has_probability_100_and_a_lost_one_0() {
        let mut v = Validator::new();
        check_stage_probability(&mut v, StageKind::Won, 90);
        check_stage_probability(&mut v, StageKind::Open, 101);
        assert_eq!(fields(v), ["probability", "probability"]);
    }

    #[test]
    fn a_new_opportunity_takes_its_stage_default_unless_it_names_a_probability() {
        let mut v = Validator::new();
        let s = settle(&mut v, None, &StandingChange { stage: Some((StageKind::Open, 25)), ..Default::default() }, T0)
            .unwrap();
        assert_eq!((s.kind, s.probability, s.closed_at), (StageKind::Open, 25, None));
        let change = StandingChange { stage: Some((StageKind::Open, 25)), probability: Some(40), ..Default::default() };
        assert_eq!(settle(&mut v, None, &change, T0).unwrap().probability, 40);
        assert!(fields(v).is_empty());
        let mut v = Validator::new();
        settle(&mut v, None, &StandingChange::default(), T0);
        assert_eq!(fields(v), ["stage_id"]);
    }

    #[test]
    fn a_stage_change_resets_the_probability_and_keeping_the_stage_keeps_an_override() {
        let mut v = Validator::new();
        let before = open(33);
        let moved = StandingChange { stage: Some((StageKind::Open, 75)), ..Default::default() };
        assert_eq!(settle(&mut v, Some(&before), &moved, T1).unwrap().probability, 75);
        assert_eq!(settle(&mut v, Some(&before), &StandingChange::default(), T1).unwrap().probability, 33);
        let overridden = StandingChange { stage: Some((StageKind::Open, 75)), probability: Some(60), ..moved };
        assert_eq!(settle(&mut v, Some(&before), &overridden, T1).unwrap().probability, 60);
        assert!(fields(v).is_empty());
    }

    #[test]
    fn losing_needs_a_reason_and_closes_the_opportunity() {
        let mut v = Validator::new();
        let lose = StandingChange { stage: Some((StageKind::Lost, 0)), ..Default::default() };
        settle(&mut v, Some(&open(50)), &lose, T1);
        assert_eq!(fields(v), ["lost_reason"]);
        let mut v = Validator::new();
        let blank = StandingChange { lost_reason: Some(Some("  ")), ..lose.clone() };
        settle(&mut v, Some(&open(50)), &blank, T1);
        assert_eq!(fields(v), ["lost_reason"], "a blank reason is no reason");
        let mut v = Validator::new();
        let lose = StandingChange { lost_reason: Some(Some(" Price too high ")), ..lose };
        let s = settle(&mut v, Some(&open(50)), &lose, T1).unwrap();
        assert!(fields(v).is_empty());
        assert_eq!(s.kind, StageKind::Lost);
        assert_eq!(s.probability, 0);
        assert_eq!(s.closed_at, Some(T1));
        assert_eq!(s.lost_reason.as_deref(), Some("Price too high"));
    }

    #[test]
    fn a_lost_opportunity_keeps_its_reason_and_closing_time_on_later_edits() {
        let lost = Standing {
            kind: StageKind::Lost,
            probability: 0,
            closed_at: Some(T0),
            lost_reason: Some("Budget".into()),
            won_reason: None,
        };
        let mut v = Validator::new();
        let s = settle(&mut v, Some(&lost), &StandingChange::default(), T1).unwrap();
        assert_eq!((s.closed_at, s.lost_reason.as_deref()), (Some(T0), Some("Budget")));
        let other_lost = StandingChange { stage: Some((StageKind::Lost, 0)), ..Default::default() };
        assert_eq!(settle(&mut v, Some(&lost), &other_lost, T1).unwrap().closed_at, Some(T0));
        assert!(fields(v).is_empty());
        let mut v = Validator::new();
        let cleared = StandingChange { lost_reason: Some(None), ..Default::default() };
        settle(&mut v, Some(&lost), &cleared, T1);
        assert_eq!(fields(v), ["lost_reason"], "the reason of a lost opportunity cannot be removed");
    }

    #[test]
    fn moving_out_of_won_or_lost_reopens_and_drops_the_reasons() {
        let won = Standing {
            kind: StageKind::Won,
            probability: 100,
            closed_at: Some(T0),
            lost_reason: None,
            won_reason: Some("Best fit".into()),
        };
        let mut v = Validator::new();
        let back = StandingChange { stage: Some((StageKind::Open, 75)), ..Default::default() };
        let s = settle(&mut v, Some(&won), &back, T1).unwrap();
        assert_eq!(s, open(75));
        let to_lost = StandingChange {
            stage: Some((StageKind::Lost, 0)),
            lost_reason: Some(Some("Cancelled")),
            ..Default::default()
        };
        let s = settle(&mut v, Some(&won), &to_lost, T1).unwrap();
        assert_eq!((s.closed_at, s.won_reason), (Some(T1), None), "won then lost: closed again at the move");
        assert!(fields(v).is_empty());
    }

    #[test]
    fn reasons_and_probabilities_belong_to_their_status() {
        let mut v = Validator::new();
        let change =
            StandingChange { lost_reason: Some(Some("Nope")), won_reason: Some(Some("Yes")), ..Default::default() };
        settle(&mut v, Some(&open(10)), &change, T1);
        assert_eq!(fields(v), ["lost_reason", "won_reason"]);
        let mut v = Validator::new();
        let win = StandingChange { stage: Some((StageKind::Won, 100)), probability: Some(80), ..Default::default() };
        settle(&mut v, Some(&open(10)), &win, T1);
        assert_eq!(fields(v), ["probability"]);
        let mut v = Validator::new();
        let too_long = "x".repeat(MAX_REASON + 1);
        let win = StandingChange {
            stage: Some((StageKind::Won, 100)),
            won_reason: Some(Some(&too_long)),
            ..Default::default()
        };
        settle(&mut v, Some(&open(10)), &win, T1);
        assert_eq!(fields(v), ["won_reason"]);
    }
}
