//! Bulk actions of list pages (assign the ticked cases to a user, the ticked
//! opportunities or leads to an owner): the form they post, and why a batch
//! was refused. Each list's handler changes its records in one transaction,
//! checking each one with the helpers its single-record update uses; the
//! first record that may not be changed — gone, out of the user's scope, or
//! changed by someone else since the list was shown — refuses the whole
//! batch, and the list is shown again with the reason and nothing changed.

use axum::http::StatusCode;
use nave_domain::access::{Action, Ownership, Principal, RecordType};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;

use axum::response::{IntoResponse, Redirect};

use super::{FormData, PageAuth, PageResult};
use crate::error::ApiError;
use crate::present::may_act;
use crate::state::AppState;

/// Most records one bulk action changes.
pub const MAX: usize = 200;

/// A bulk action's form: the ticked rows, the action and its value, and the
/// view of the list to go back to.
#[derive(Debug)]
pub struct Batch {
    pub form: FormData,
}

impl Batch {
    pub fn parse(body: &[u8]) -> Self {
        Batch { form: FormData::parse(body) }
    }

    /// The list's view the form was posted from (its query string).
    pub fn back(&self) -> String {
        self.form.get("back")
    }

    /// Where to go once the batch is done: the list with its view.
    pub fn back_to(&self, list: &str) -> String {
        match self.back() {
            b if b.is_empty() => format!("/{list}"),
            b => format!("/{list}?{b}"),
        }
    }

    /// The ticked records, each with the version its row was shown with.
    /// A row's checkbox holds `id:version`; a bare `id` (from a script)
    /// changes the record whatever its version.
    pub fn items(&self, plural: &str) -> Result<Vec<(PublicId, Option<i64>)>, Refusal> {
        let ticked = self.form.all("ids");
        if ticked.is_empty() {
            return Err(Refusal::invalid(format!("Nothing was changed: tick at least one of the {plural}.")));
        }
        if ticked.len() > MAX {
            return Err(Refusal::invalid(format!("Nothing was changed: at most {MAX} {plural} at once.")));
        }
        ticked
            .iter()
            .map(|t| {
                let (id, version) = match t.split_once(':') {
                    Some((id, v)) => (id, Some(v.trim().parse::<i64>().ok()?)),
                    None => (t.as_str(), None),
                };
                Some((id.trim().parse::<PublicId>().ok()?, version))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Refusal::invalid(format!("Nothing was changed: the ticked {plural} are not a list of ids.")))
    }

    /// The ticked records, when the form asks for `op` (the list's action).
    pub fn items_for(&self, op: &str, plural: &str) -> Result<Vec<(PublicId, Option<i64>)>, Refusal> {
        let items = self.items(plural)?;
        if self.form.get("op") != op {
            return Err(Refusal::invalid(format!("Nothing was changed: choose what to do with the ticked {plural}.")));
        }
        Ok(items)
    }

    /// Like [`Batch::user`], and the user must exist in the tenant.
    pub async fn existing_user(
        &self,
        tx: &mut nave_store::Tx,
        tenant_id: i64,
        field: &str,
        nobody: Option<&str>,
        ask: &str,
    ) -> Result<Option<PublicId>, BulkError> {
        let user = self.user(field, nobody, ask)?;
        if crate::api::user_key(tx, tenant_id, user, field).await.is_err() {
            return Err(Refusal::invalid(format!("Nothing was changed: {ask}.")).into());
        }
        Ok(user)
    }

    /// The user chosen in the select `field`: `None` for `nobody` when
    /// `nobody` is offered, refused with `ask` when nothing is chosen.
    pub fn user(&self, field: &str, nobody: Option<&str>, ask: &str) -> Result<Option<PublicId>, Refusal> {
        match self.form.get(field).trim() {
            "" => Err(Refusal::invalid(format!("Nothing was changed: {ask}."))),
            v if Some(v) == nobody => Ok(None),
            v => v.parse().map(Some).map_err(|_| Refusal::invalid(format!("Nothing was changed: {ask}."))),
        }
    }
}

/// Why a batch changed nothing, shown above the list.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    /// The form itself was wrong (nothing ticked, no user chosen): 422.
    pub fn invalid(message: impl Into<String>) -> Self {
        Refusal { status: StatusCode::UNPROCESSABLE_ENTITY, message: message.into() }
    }

    /// One ticked record is gone or out of the user's sight: 404, without
    /// saying which (the user may not know it exists).
    pub fn not_found(plural: &str) -> Self {
        Refusal {
            status: StatusCode::NOT_FOUND,
            message: format!(
                "Nothing was changed: one of the ticked {plural} no longer exists or is not one you may see."
            ),
        }
    }

    /// The user may read `what` but not change it: 403.
    pub fn forbidden(what: &str) -> Self {
        Refusal { status: StatusCode::FORBIDDEN, message: format!("Nothing was changed: you may not change {what}.") }
    }
}

/// May `p` change the record `what` (`the case “Broken pump”`) of
/// `plural`? Asked with `may_act`, as the single-record update asks: a record
/// out of the user's sight is not named.
pub fn may_change(p: &Principal, rt: RecordType, own: Ownership, plural: &str, what: &str) -> Result<(), Refusal> {
    match may_act(p, rt, Action::Update, own) {
        Ok(()) => Ok(()),
        Err(e) if e.code == ErrorCode::NotFound => Err(Refusal::not_found(plural)),
        Err(_) => Err(Refusal::forbidden(what)),
    }
}

/// Why a bulk action failed: a refusal the list shows, or an error the
/// user cannot act on (shown as an error page).
#[derive(Debug)]
pub enum BulkError {
    Refused(Refusal),
    Failed(ApiError),
}

impl From<Refusal> for BulkError {
    fn from(r: Refusal) -> Self {
        BulkError::Refused(r)
    }
}

impl<E: Into<ApiError>> From<E> for BulkError {
    fn from(e: E) -> Self {
        BulkError::Failed(e.into())
    }
}

/// What the store's refusal to change `what` (`the case “Broken pump”`)
/// means for the batch: a stale row (409), a rule of the record (409 or
/// 422), a forbidden change (403); anything else is an error page.
pub fn refused(e: impl Into<ApiError>, what: &str) -> BulkError {
    let e: ApiError = e.into();
    let (status, message) = match e.code {
        ErrorCode::VersionMismatch => (
            StatusCode::CONFLICT,
            format!(
                "Nothing was changed: someone else changed {what} after the list was shown. \
                 Reload the list to see the current values, then try again."
            ),
        ),
        ErrorCode::ValidationFailed => {
            let why = match e.errors.first() {
                Some(f) => format!("{} {}", f.field.replace('_', " "), f.message),
                None => e.detail.clone(),
            };
            (StatusCode::UNPROCESSABLE_ENTITY, format!("Nothing was changed: {what}: {why}."))
        }
        ErrorCode::Conflict | ErrorCode::InvalidTransition => {
            (StatusCode::CONFLICT, format!("Nothing was changed: {what}: {}.", e.detail))
        }
        ErrorCode::Forbidden => (StatusCode::FORBIDDEN, format!("Nothing was changed: {}.", e.detail)),
        _ => return BulkError::Failed(e),
    };
    BulkError::Refused(Refusal { status, message })
}

/// Runs a list's bulk action: `change` applies the batch posted in `body` in
/// one write transaction; done, the user goes back to the `list`'s view;
/// refused, nothing is kept and `again` shows the list's view with the reason.
pub async fn run(
    app: &AppState,
    auth: &PageAuth,
    body: &[u8],
    list: &str,
    change: impl AsyncFnOnce(&mut nave_store::Tx, &Principal, &Batch) -> Result<(), BulkError>,
    again: impl AsyncFnOnce(&AppState, &PageAuth, &str, Refusal) -> PageResult,
) -> PageResult {
    let b = Batch::parse(body);
    let mut tx = app.db.write().await?;
    match change(&mut tx, &auth.principal, &b).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&b.back_to(list)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            match e {
                BulkError::Refused(r) => again(app, auth, &b.back(), r).await,
                BulkError::Failed(e) => Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticked_rows_carry_their_version_and_a_bad_one_refuses_the_batch() {
        let id = PublicId::new();
        let b = Batch::parse(format!("ids={id}%3A3&ids={id}&back=q%3Dx").as_bytes());
        assert_eq!(b.items("cases").unwrap(), vec![(id, Some(3)), (id, None)]);
        assert_eq!(b.back_to("cases"), "/cases?q=x");
        let r = Batch::parse(b"ids=nope").items("cases").unwrap_err();
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(Batch::parse(format!("ids={id}%3Ax").as_bytes()).items("cases").is_err());
        assert!(Batch::parse(b"").items("cases").unwrap_err().message.contains("tick at least one"));
        assert_eq!(Batch::parse(b"").back_to("leads"), "/leads");
    }

    #[test]
    fn a_user_is_chosen_or_nobody_when_offered() {
        let id = PublicId::new();
        let b = Batch::parse(format!("to={id}&q=queue").as_bytes());
        assert_eq!(b.user("to", None, "choose").unwrap(), Some(id));
        assert_eq!(b.user("q", Some("queue"), "choose").unwrap(), None);
        assert!(b.user("q", None, "choose").is_err());
        assert!(b.user("missing", Some("queue"), "choose who").unwrap_err().message.contains("choose who"));
    }
}
