//! Contacts from CSV. A row whose `external_ids` name an existing contact
//! updates it (empty cells keep its values); any other row creates a contact
//! at the account in the `account` column, named by one of the account's
//! external ids (`erp:C-1001`) or by its exact name.

use nave_domain::contact::{ConsentChange, Phone};
use nave_domain::external_id::parse_pair;
use nave_domain::ids::PublicId;
use nave_store::Tx;
use nave_store::accounts;
use nave_store::audit::Actor;
use nave_store::contacts::{self, ContactPatch, NewContact};

use super::{Importer, Outcome, Owners, Row, RowError, RowResult, actor, field_root, list, row_errors};

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

/// The account named in the `account` cell: by external id first, then by exact name.
pub(crate) async fn account_of(tx: &mut Tx, row: &Row, cell: &str) -> anyhow::Result<Result<PublicId, Vec<RowError>>> {
    let t = actor().tenant_id;
    if let Some(e) = parse_pair(cell)
        && let Some(a) = accounts::get_by_external_id(tx, t, &e).await?
    {
        return Ok(Ok(a.id));
    }
    let named = accounts::find_by_name(tx, t, cell).await?;
    Ok(match named.as_slice() {
        [one] => Ok(one.id),
        [] => Err(row.error("account", format!("no account has the external id or the name {cell}"))),
        many => Err(row.error(
            "account",
            format!("{} accounts are named {cell}; name the account by its external id", many.len()),
        )),
    })
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
    const COLUMNS: &'static [&'static str] = &contacts::CSV_COLUMNS;
    const REQUIRED: &'static str = "account";

    fn keys(&self, row: &Row) -> Vec<(&'static str, String, String)> {
        let ids = row.external_ids().ok().flatten().unwrap_or_default();
        ids.iter().map(|e| ("external_ids", e.to_string().to_lowercase(), e.to_string())).collect()
    }

    async fn import(&mut self, tx: &mut Tx, actor: &Actor, row: &Row) -> anyhow::Result<RowResult> {
        let t = actor.tenant_id;
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
        let account = match row.cell("account") {
            Some(cell) => match account_of(tx, row, cell).await? {
                Ok(id) => Some(id),
                Err(errs) => return Ok(Err(errs)),
            },
            None if existing.is_some() => None,
            None => return Ok(row.refuse("account", "is required")),
        };
        let owner = match self.owners.of(tx, row).await? {
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
                contacts::update(tx, actor, &before, None, patch).await.map(|_| Outcome::Updated)
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
