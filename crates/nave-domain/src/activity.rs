//! Activities: the touches with a customer — calls, meetings, emails, tasks,
//! notes and web chats — and what each kind must say.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::catalog::check_text;
use crate::error::Validator;

/// The kinds of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Call,
    Meeting,
    Email,
    Task,
    Note,
    Chat,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::Call,
        ActivityKind::Meeting,
        ActivityKind::Email,
        ActivityKind::Task,
        ActivityKind::Note,
        ActivityKind::Chat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Call => "call",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Email => "email",
            ActivityKind::Task => "task",
            ActivityKind::Note => "note",
            ActivityKind::Chat => "chat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A word for lists: "Call", "Web chat".
    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::Call => "Call",
            ActivityKind::Meeting => "Meeting",
            ActivityKind::Email => "Email",
            ActivityKind::Task => "Task",
            ActivityKind::Note => "Note",
            ActivityKind::Chat => "Web chat",
        }
    }
}

/// Which way a call or an email went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Direction::Inbound, Direction::Outbound].into_iter().find(|d| d.as_str() == s)
    }
}

/// The outcomes a call is logged with.
pub const CALL_OUTCOMES: &[&str] = &["connected", "left_voicemail", "no_answer", "busy", "wrong_number"];

/// An activity's kind-specific fields, as given.
#[derive(Debug, Clone, Default)]
pub struct Details {
    pub subject: String,
    pub body: String,
    pub occurred_at: Option<OffsetDateTime>,
    pub ends_at: Option<OffsetDateTime>,
    pub direction: Option<Direction>,
    pub duration_seconds: Option<i64>,
    pub outcome: Option<String>,
    pub attendees: Vec<String>,
    pub email_from: Option<String>,
    pub email_to: Vec<String>,
    pub due_date: Option<time::Date>,
    pub done: bool,
}

/// Checks an activity: what every kind needs (a subject, or a body for notes
/// and chats) and what each kind's own fields must be. Fields that do not
/// belong to the kind are refused rather than silently kept.
pub fn check(v: &mut Validator, kind: ActivityKind, d: &Details) {
    use ActivityKind::*;
    let needs_subject = !matches!(kind, Note | Chat);
    check_text(v, "subject", &d.subject, usize::from(needs_subject), 200);
    check_text(v, "body", &d.body, usize::from(matches!(kind, Note | Chat)), 100_000);
    let refuse = |v: &mut Validator, field: &str, present: bool| {
        if present {
            v.add(field, format!("does not apply to a {}", kind.as_str()));
        }
    };
    refuse(v, "direction", d.direction.is_some() && !matches!(kind, Call | Email));
    refuse(v, "duration_seconds", d.duration_seconds.is_some() && kind != Call);
    refuse(v, "outcome", d.outcome.is_some() && kind != Call);
    refuse(v, "ends_at", d.ends_at.is_some() && kind != Meeting);
    refuse(v, "attendees", !d.attendees.is_empty() && kind != Meeting);
    refuse(v, "email_from", d.email_from.is_some() && kind != Email);
    refuse(v, "email_to", !d.email_to.is_empty() && kind != Email);
    refuse(v, "due_date", d.due_date.is_some() && kind != Task);
    refuse(v, "done", d.done && kind != Task);
    match kind {
        Call => {
            if d.direction.is_none() {
                v.add("direction", "is required for a call: inbound or outbound");
            }
            if let Some(s) = d.duration_seconds
                && !(0..=86_400).contains(&s)
            {
                v.add("duration_seconds", "must be between 0 and 86400");
            }
            if let Some(o) = &d.outcome
                && !CALL_OUTCOMES.contains(&o.as_str())
            {
                v.add("outcome", format!("must be one of {}", CALL_OUTCOMES.join(", ")));
            }
        }
        Meeting => match (d.occurred_at, d.ends_at) {
            (None, _) => v.add("occurred_at", "is required for a meeting: when it starts"),
            (Some(start), Some(end)) if end < start => v.add("ends_at", "must not be before the start"),
            _ => {}
        },
        Email => {
            if d.direction.is_none() {
                v.add("direction", "is required for an email: inbound or outbound");
            }
            for (i, a) in d.email_to.iter().enumerate() {
                if crate::email::Email::parse(a).is_err() {
                    v.add(format!("email_to[{i}]"), "is not an email address");
                }
            }
            if let Some(f) = &d.email_from
                && crate::email::Email::parse(f).is_err()
            {
                v.add("email_from", "is not an email address");
            }
        }
        Task | Note | Chat => {}
    }
    if d.attendees.len() > 100 {
        v.add("attendees", "may list at most 100 people");
    }
    for (i, a) in d.attendees.iter().enumerate() {
        check_text(v, &format!("attendees[{i}]"), a, 1, 200);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn fields(kind: ActivityKind, d: &Details) -> Vec<String> {
        let mut v = Validator::new();
        check(&mut v, kind, d);
        match v.finish() {
            Ok(()) => vec![],
            Err(crate::DomainError::Validation(f)) => f.into_iter().map(|e| e.field).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_call_needs_a_subject_and_a_direction_and_takes_a_known_outcome() {
        let d = Details {
            subject: "Follow-up".into(),
            direction: Some(Direction::Outbound),
            duration_seconds: Some(300),
            outcome: Some("connected".into()),
            ..Default::default()
        };
        assert!(fields(ActivityKind::Call, &d).is_empty());
        let bad = Details {
            subject: String::new(),
            duration_seconds: Some(-1),
            outcome: Some("great".into()),
            ..Default::default()
        };
        assert_eq!(fields(ActivityKind::Call, &bad), vec!["subject", "direction", "duration_seconds", "outcome"]);
    }

    #[test]
    fn a_meeting_has_a_start_and_does_not_end_before_it() {
        let start = datetime!(2026-03-02 09:00 UTC);
        let ok = Details {
            subject: "Kick-off".into(),
            occurred_at: Some(start),
            ends_at: Some(start + time::Duration::hours(1)),
            attendees: vec!["Ann".into()],
            ..Default::default()
        };
        assert!(fields(ActivityKind::Meeting, &ok).is_empty());
        let bad = Details { ends_at: Some(start - time::Duration::minutes(1)), ..ok.clone() };
        assert_eq!(fields(ActivityKind::Meeting, &bad), vec!["ends_at"]);
        assert_eq!(
            fields(ActivityKind::Meeting, &Details { occurred_at: None, ends_at: None, ..ok }),
            vec!["occurred_at"]
        );
    }

    #[test]
    fn notes_need_a_body_and_fields_of_other_kinds_are_refused() {
        assert_eq!(fields(ActivityKind::Note, &Details::default()), vec!["body"]);
        let d = Details {
            body: "Prefers email".into(),
            due_date: Some(time::macros::date!(2026 - 01 - 01)),
            done: true,
            direction: Some(Direction::Inbound),
            ..Default::default()
        };
        assert_eq!(fields(ActivityKind::Note, &d), vec!["direction", "due_date", "done"]);
    }

    #[test]
    fn emails_check_their_addresses() {
        let d = Details {
            subject: "Offer".into(),
            direction: Some(Direction::Outbound),
            email_from: Some("me@nave.example".into()),
            email_to: vec!["buyer@acme.example".into(), "not an address".into()],
            ..Default::default()
        };
        assert_eq!(fields(ActivityKind::Email, &d), vec!["email_to[1]"]);
    }
}
