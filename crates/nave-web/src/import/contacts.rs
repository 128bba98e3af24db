//! Contacts from CSV. A row whose `external_ids` name an existing contact
//! updates it (empty cells keep its values); any other row creates a contact
//! at the account in the `account` column, named by one of the account's
//! external ids (`erp:C-1001`) or by its exact name.
//!
//! A contact's scope is its account's: a user adds contacts to the accounts
//! their role lets them add contacts to, changes the contacts they may
//! change, and moves a contact only to an account they may change contacts of.

use nave_domain::access::{Action, RecordType};
use nave_domain::contact::{ConsentChange, Phone};
use nave_store::Tx;
use nave_store::contacts::{self, ContactPatch, NewContact};

use super::{
    Caller, ImportResult, Importer, Outcome, Owners, Row, RowResult, account_of, field_root, list, row_errors,
};

/// Imports contacts.
#[derive(Debug, Default)]
pub struct Contacts {
    owners: Owners,
}

fn column(field: &str) -> String {
    match field {
        "" => "last_name".to_string(),
        "account_id" => "account".to_string(),
        "owner_id" => "owner".to_string(),
        f if f.starts_with("address.") => format!("address_{}", &f["address.".len()..]),
        f => field_root(f).to_string(),
    }
}

/// `label: number; number` → phones.
fn phones(cell: Option<&str>) -> Option<Vec<Phone>> {
    cell?;
    Some(
        list(cell)
            .into_iter()
            .map(|p| match p.split_once(':') {
                Some((label, number)) => Phone { label: label.trim().to_string(), number: number.trim().to_string() },
                None => Phone { label: String::new(), number: p },
            })
            .collect(),
    )
}

impl Importer for Contacts {
    const NOUN: &'static str = "contact";
    const RECORD: RecordType = RecordType::Contact;
    const COLUMNS: &'static [&'static str] = &contacts::CSV_COLUMNS;
    const REQUIRED: &'static str = "account";

    fn keys(&self, row: &Row) -> Vec<(&'static str, String, String)> {
        let ids = row.external_ids().ok().flatten().unwrap_or_default();
        ids.iter().map(|e| ("external_ids", e.to_string().to_lowercase(), e.to_string())).collect()
    }

    async fn import(&mut self, tx: &mut Tx, caller: &Caller, row: &Row) -> ImportResult<RowResult> {
        let (t, actor) = (caller.tenant_id(), &caller.actor);
        let ids = match row.external_ids() {
            Ok(ids) => ids.unwrap_or_default(),
            Err(errs) => return Ok(Err(errs)),
        };
        let mut existing = None;
        for e in &ids {
            if let Some(c) = contacts::get_by_external_id(tx, t, e).await? {
                existing = Some(c);
                break;
            }
        }
        if let Some(c) = &existing
            && !caller.may(RecordType::Contact, Action::Update, c.ownership)
        {
            return Ok(row.refuse("external_ids", "names a contact your role may not change"));
        }
        let permission = match &existing {
            Some(_) => (RecordType::Contact, Action::Update, "change contacts of"),
            None => (RecordType::Contact, Action::Create, "add contacts to"),
        };
        let account = match row.cell("account") {
            Some(cell) => match account_of(tx, caller, row, cell, permission).await? {
                Ok(a) => Some(a.id),
                Err(errs) => return Ok(Err(errs)),
            },
            None if existing.is_some() => None,
            None => return Ok(row.refuse("account", "is required")),
        };
        let owner = match self.owners.of(tx, t, row).await? {
            Ok(o) => o,
            Err(errs) => return Ok(Err(errs)),
        };
        let consent_at = match row.cell("consent_at") {
            None => None,
            Some(s) => match time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
                Ok(at) => Some(Some(at)),
                Err(_) => return Ok(row.refuse("consent_at", "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z")),
            },
        };
        let (is_primary, given, archived) =
            match (row.flag("is_primary"), row.flag("marketing_consent"), row.flag("archived")) {
                (Ok(p), Ok(g), Ok(a)) => (p, g, a),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return Ok(Err(e)),
            };
        let consent =
            ConsentChange { given, at: consent_at, source: row.cell("consent_source").map(|s| Some(s.to_string())) };
        let text = |col: &str| row.cell(col).map(str::to_string);
        let emails = row.cell("emails").map(|_| list(row.cell("emails")));
        let r = match existing {
            Some(before) => {
                let patch = ContactPatch {
                    account_id: account,
                    first_name: text("first_name"),
                    last_name: text("last_name"),
                    title: text("title").map(Some),
                    emails,
                    phones: phones(row.cell("phones")),
                    address: row.address().map(Some),
                    is_primary: is_primary.filter(|p| *p),
                    consent,
                    owner_id: owner.map(Some),
                    external_ids: Some(ids),
                    archived,
                };
                contacts::update(tx, actor, &before, None, patch).await.map(|after| Outcome::of_update(&before, &after))
            }
            None => {
                let new = NewContact {
                    account_id: account,
                    first_name: text("first_name").unwrap_or_default(),
                    last_name: text("last_name").unwrap_or_default(),
                    title: text("title"),
                    emails: emails.unwrap_or_default(),
                    phones: phones(row.cell("phones")).unwrap_or_default(),
                    address: row.address(),
                    is_primary,
                    consent,
                    owner_id: owner,
                    external_ids: ids,
                    archived: archived.unwrap_or(false),
                };
                contacts::create(tx, actor, new).await.map(|_| Outcome::Created)
            }
        };
        match r {
            Ok(o) => Ok(Ok(o)),
            Err(e) => Ok(Err(row_errors(row, e, column)?)),
        }
    }
}
