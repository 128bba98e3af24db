//! Service cases: a customer's question, problem or complaint, worked from
//! `new` to `closed`.
//!
//! The workflow is a state machine of explicit actions:
//!
//! | from \ action | open | wait | resolve | close | reopen |
//! |---|---|---|---|---|---|
//! | new       | open | waiting | resolved | – | – |
//! | open      | – | waiting | resolved | – | – |
//! | waiting   | open | – | resolved | – | – |
//! | resolved  | – | – | – | closed | open |
//! | closed    | – | – | – | – | open |
//!
//! Service times, kept on the case ([`CaseClock`]):
//! - **First response** is the first time someone acts on a case after it was
//!   logged: its first move out of `new` (open, wait or resolve) or the first
//!   time its assignee is changed to someone, whichever comes first. The
//!   assignee a case is created with does not count (that is routing, not a
//!   response). Once stamped it never changes. First-response time = that
//!   moment − creation.
//! - **Resolution** is the moment of the resolve action; resolution time =
//!   that moment − creation. Reopening clears it until the next resolve,
//!   which is measured from creation again.
//! - A resolution text is required to resolve. A satisfaction score (1–5) and
//!   comment can be given only once the case is resolved or closed.

use time::OffsetDateTime;

use crate::DomainError;
use crate::access::string_enum;
use crate::error::Validator;

string_enum! {
    /// Where a case stands.
    CaseStatus {
        New => "new",
        Open => "open",
        Waiting => "waiting",
        Resolved => "resolved",
        Closed => "closed",
    }
}

string_enum! {
    /// What can be done to a case's status.
    CaseAction {
        Open => "open",
        Wait => "wait",
        Resolve => "resolve",
        Close => "close",
        Reopen => "reopen",
    }
}

string_enum! {
    /// What the customer came with.
    CaseKind {
        Question => "question",
        Problem => "problem",
        Complaint => "complaint",
    }
}

string_enum! {
    /// How urgent a case is.
    CasePriority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
}

impl CaseStatus {
    /// The actions allowed from this status, in workflow order.
    pub fn allowed_actions(self) -> &'static [CaseAction] {
        use CaseAction as A;
        match self {
            CaseStatus::New => &[A::Open, A::Wait, A::Resolve],
            CaseStatus::Open => &[A::Wait, A::Resolve],
            CaseStatus::Waiting => &[A::Open, A::Resolve],
            CaseStatus::Resolved => &[A::Close, A::Reopen],
            CaseStatus::Closed => &[A::Reopen],
        }
    }

    /// Resolved or closed: the work is done (a rating may be given).
    pub fn is_done(self) -> bool {
        matches!(self, CaseStatus::Resolved | CaseStatus::Closed)
    }
}

impl CaseAction {
    /// The status the action leads to.
    pub fn target(self) -> CaseStatus {
        match self {
            CaseAction::Open | CaseAction::Reopen => CaseStatus::Open,
            CaseAction::Wait => CaseStatus::Waiting,
            CaseAction::Resolve => CaseStatus::Resolved,
            CaseAction::Close => CaseStatus::Closed,
        }
    }
}

/// The status after `action`, or a refusal naming the current status and the
/// allowed actions.
pub fn transition(status: CaseStatus, action: CaseAction) -> Result<CaseStatus, DomainError> {
    let allowed = status.allowed_actions();
    if allowed.contains(&action) {
        Ok(action.target())
    } else {
        Err(DomainError::InvalidTransition {
            record: "case",
            current: status.as_str().to_string(),
            action: action.as_str(),
            allowed: allowed.iter().map(|a| a.as_str()).collect(),
        })
    }
}

/// The service times of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseClock {
    pub created_at: OffsetDateTime,
    pub first_response_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
}

fn seconds_between(from: OffsetDateTime, to: OffsetDateTime) -> i64 {
    (to - from).whole_seconds().max(0)
}

impl CaseClock {
    /// The clock of a case logged at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        CaseClock { created_at: at, first_response_at: None, resolved_at: None, closed_at: None }
    }

    /// Records `action` taken from status `from` at `at` (the action is allowed).
    pub fn act(&mut self, from: CaseStatus, action: CaseAction, at: OffsetDateTime) {
        if from == CaseStatus::New {
            self.responded(at);
        }
        match action {
            CaseAction::Resolve => self.resolved_at = Some(at),
            CaseAction::Close => self.closed_at = Some(at),
            CaseAction::Reopen => {
                self.resolved_at = None;
                self.closed_at = None;
            }
            CaseAction::Open | CaseAction::Wait => {}
        }
    }

    /// Records that the case was assigned to someone (after its creation) at `at`.
    pub fn assigned(&mut self, at: OffsetDateTime) {
        self.responded(at);
    }

    fn responded(&mut self, at: OffsetDateTime) {
        self.first_response_at.get_or_insert(at);
    }

    /// Seconds from creation to the first response, once there was one.
    pub fn first_response_seconds(&self) -> Option<i64> {
        self.first_response_at.map(|t| seconds_between(self.created_at, t))
    }

    /// Seconds from creation to the resolution, while the case is resolved or closed.
    pub fn resolution_seconds(&self) -> Option<i64> {
        self.resolved_at.map(|t| seconds_between(self.created_at, t))
    }
}

/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 200;
/// Longest description, resolution or comment, in characters.
pub const MAX_TEXT: usize = 10_000;

/// Checks a subject: trimmed, 1 to 200 characters.
pub fn check_subject(v: &mut Validator, subject: &str) -> String {
    let s = subject.trim().to_string();
    if s.is_empty() || s.chars().count() > MAX_SUBJECT {
        v.add("subject", format!("must be 1 to {MAX_SUBJECT} characters"));
    }
    s
}

/// Checks a long text field: at most 10,000 characters; blank = none.
pub fn check_text(v: &mut Validator, field: &str, text: Option<&str>) -> Option<String> {
    let t = text.map(str::trim).filter(|t| !t.is_empty())?;
    if t.chars().count() > MAX_TEXT {
        v.add(field, format!("must be at most {MAX_TEXT} characters"));
    }
    Some(t.to_string())
}

/// Checks a satisfaction score and comment against the case's status: a
/// score is 1 to 5, and either is accepted only once the case is resolved
/// or closed. `changed` says whether this write sets either of them.
pub fn check_satisfaction(v: &mut Validator, status: CaseStatus, score: Option<i64>, changed: bool) {
    if let Some(s) = score.filter(|s| !(1..=5).contains(s)) {
        v.add("satisfaction", format!("must be a whole score from 1 to 5, not {s}"));
    }
    if changed && !status.is_done() {
        v.add("satisfaction", format!("can be given only once the case is resolved or closed; it is {status}"));
    }
}

/// Checks a reference to a related document, `{type, id}`: the type a short
/// lower-case word (`invoice`, `sales_order`), the id 1 to 100 characters.
pub fn check_document(v: &mut Validator, kind: &str, id: &str) -> (String, String) {
    let k = kind.trim().to_string();
    let i = id.trim().to_string();
    if k.is_empty() || k.len() > 50 || !k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        v.add("document.type", "must be a lower-case word such as invoice or sales_order");
    }
    if i.is_empty() || i.chars().count() > 100 {
        v.add("document.id", "must be 1 to 100 characters");
    }
    (k, i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-02-02 08:00 UTC);

    #[test]
    fn every_allowed_transition_leads_where_the_workflow_says() {
        use CaseAction as A;
        use CaseStatus as S;
        let expected = [
            (S::New, A::Open, S::Open),
            (S::New, A::Wait, S::Waiting),
            (S::New, A::Resolve, S::Resolved),
            (S::Open, A::Wait, S::Waiting),
            (S::Open, A::Resolve, S::Resolved),
            (S::Waiting, A::Open, S::Open),
            (S::Waiting, A::Resolve, S::Resolved),
            (S::Resolved, A::Close, S::Closed),
            (S::Resolved, A::Reopen, S::Open),
            (S::Closed, A::Reopen, S::Open),
        ];
        for (from, action, to) in expected {
            assert_eq!(transition(from, action).unwrap(), to, "{from} --{action}-->");
        }
        // Every other pair is refused: the table above is the whole workflow.
        let mut allowed = 0;
        for &from in S::ALL {
            for &action in A::ALL {
                let ok = transition(from, action).is_ok();
                assert_eq!(ok, expected.iter().any(|(f, a, _)| *f == from && *a == action), "{from} {action}");
                allowed += usize::from(ok);
            }
        }
        assert_eq!(allowed, expected.len());
    }

    #[test]
    fn a_refused_action_names_the_status_and_the_allowed_actions() {
        let e = transition(CaseStatus::Closed, CaseAction::Resolve).unwrap_err();
        assert_eq!(e.code(), crate::error::ErrorCode::InvalidTransition);
        assert_eq!(e.to_string(), "cannot resolve the case: it is closed; allowed actions: reopen");
        let DomainError::InvalidTransition { allowed, .. } =
            transition(CaseStatus::Open, CaseAction::Open).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(allowed, ["wait", "resolve"]);
    }

    #[test]
    fn the_first_response_is_the_first_move_out_of_new_and_never_moves_again() {
        let mut c = CaseClock::new(T0);
        assert_eq!(c.first_response_seconds(), None);
        c.act(CaseStatus::New, CaseAction::Wait, T0 + Duration::minutes(42));
        assert_eq!(c.first_response_seconds(), Some(42 * 60));
        c.act(CaseStatus::Waiting, CaseAction::Open, T0 + Duration::hours(5));
        c.assigned(T0 + Duration::hours(6));
        assert_eq!(c.first_response_seconds(), Some(42 * 60));
    }

    #[test]
    fn an_assignment_after_creation_is_a_first_response() {
        let mut c = CaseClock::new(T0);
        c.assigned(T0 + Duration::seconds(90));
        c.act(CaseStatus::New, CaseAction::Open, T0 + Duration::hours(1));
        assert_eq!(c.first_response_seconds(), Some(90));
    }

    #[test]
    fn resolution_time_runs_from_creation_and_reopening_clears_it_until_the_next_resolve() {
        let mut c = CaseClock::new(T0);
        c.act(CaseStatus::New, CaseAction::Open, T0 + Duration::minutes(10));
        c.act(CaseStatus::Open, CaseAction::Resolve, T0 + Duration::hours(3));
        assert_eq!(c.resolution_seconds(), Some(3 * 3600));
        c.act(CaseStatus::Resolved, CaseAction::Close, T0 + Duration::days(2));
        assert_eq!(c.closed_at, Some(T0 + Duration::days(2)));
        c.act(CaseStatus::Closed, CaseAction::Reopen, T0 + Duration::days(3));
        assert_eq!((c.resolution_seconds(), c.closed_at), (None, None));
        c.act(CaseStatus::Open, CaseAction::Resolve, T0 + Duration::days(4));
        assert_eq!(c.resolution_seconds(), Some(4 * 86_400));
        assert_eq!(c.first_response_seconds(), Some(600), "reopening leaves the first response alone");
    }

    #[test]
    fn a_rating_waits_for_the_resolution_and_is_one_to_five() {
        let fields = |status, score, changed| {
            let mut v = Validator::new();
            check_satisfaction(&mut v, status, score, changed);
            match v.finish() {
                Ok(()) => 0,
                Err(DomainError::Validation(e)) => e.len(),
                Err(_) => 99,
            }
        };
        assert_eq!(fields(CaseStatus::Open, Some(4), true), 1);
        assert_eq!(fields(CaseStatus::Open, None, false), 0, "an open case without a rating is fine");
        assert_eq!(fields(CaseStatus::Resolved, Some(5), true), 0);
        assert_eq!(fields(CaseStatus::Closed, Some(1), true), 0);
        assert_eq!(fields(CaseStatus::Closed, Some(6), true), 1);
        assert_eq!(fields(CaseStatus::Resolved, Some(0), true), 1);
    }

    #[test]
    fn a_document_reference_is_a_lower_case_type_and_an_id() {
        let mut v = Validator::new();
        assert_eq!(check_document(&mut v, " invoice ", " INV-2026-7 "), ("invoice".into(), "INV-2026-7".into()));
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        check_document(&mut v, "Sales Order", "");
        let DomainError::Validation(e) = v.finish().unwrap_err() else { panic!() };
        let f: Vec<_> = e.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(f, ["document.type", "document.id"]);
    }
}
