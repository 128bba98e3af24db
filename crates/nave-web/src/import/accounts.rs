//! Accounts from CSV. A row whose `external_ids` name an existing account
//! updates it (empty cells keep its values; the ids listed are added to the
//! account's, replacing its id in a system listed); any other row creates an
//! account, unless it looks like an existing one (likely duplicates are
//! refused with their reasons; `--allow-duplicates` imports them anyway).
//! The `address_*` columns are the account's billing address: a new
//! account's one address, or the replacement of an existing account's
//! default billing address.
//!
//! A user imports only what the API would let them write: a row that names
//! an account they may not update is refused, `credit_limit` needs the
//! capability that shows it, and a likely duplicate names only the accounts
//! they may see.

use nave_domain::access::{Action, Capability, RecordType};
use nave_domain::account::AccountKind;
use nave_domain::address::AccountAddress;
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::tax::TaxTreatment;
use nave_store::accounts::{self, Account, AccountPatch, NewAccount};
use nave_store::{Tx, payment_terms};

use super::{Caller, ImportResult, Importer, Outcome, Owners, Row, RowError, RowResult, field_root, list, row_errors};

/// How the command line's refusal of a likely duplicate ends.
pub const CLI_DUPLICATES_HINT: &str = "use --allow-duplicates to import it anyway";

/// Imports accounts.
#[derive(Debug)]
pub struct Accounts {
    /// The company's currency, the default of new accounts.
    company: Currency,
    /// Import accounts that look like existing ones.
    allow_duplicates: bool,
    /// How a likely duplicate's refusal says to import it anyway.
    duplicates_hint: &'static str,
    /// The active payment terms, by name (read once).
    terms: Option<Vec<(String, PublicId)>>,
    owners: Owners,
}

impl Accounts {
    pub fn new(company: Currency, allow_duplicates: bool, duplicates_hint: &'static str) -> Self {
        Accounts { company, allow_duplicates, duplicates_hint, terms: None, owners: Owners::default() }
    }

    async fn cells(&mut self, tx: &mut Tx, t: i64, row: &Row) -> ImportResult<Result<Cells, Vec<RowError>>> {
        let kinds = match row.cell("kinds") {
            None => None,
            Some(_) => {
                let names = list(row.cell("kinds"));
                match names.iter().map(|k| AccountKind::parse(&k.to_ascii_lowercase())).collect::<Option<Vec<_>>>() {
                    Some(k) => Some(k),
                    None => {
                        return Ok(Err(
                            row.error("kinds", "must be customer, supplier, prospect or partner, separated by ;")
                        ));
                    }
                }
            }
        };
        let currency = match row.cell("currency").map(|c| Currency::parse(&c.to_ascii_uppercase())) {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => return Ok(Err(row.error("currency", e.to_string()))),
        };
        let treatment = match row.cell("tax_treatment").map(|s| TaxTreatment::parse(&s.to_ascii_lowercase())) {
            None => None,
            Some(Some(tt)) => Some(tt),
            Some(None) => return Ok(Err(row.error("tax_treatment", "must be standard, exempt or reverse_charge"))),
        };
        let terms = match row.cell("payment_terms") {
            None => None,
            Some(name) => {
                if self.terms.is_none() {
                    let all = payment_terms::list(tx, t, false).await?;
                    self.terms = Some(all.into_iter().map(|p| (p.name, p.id)).collect());
                }
                match self.terms.iter().flatten().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                    Some((_, id)) => Some(*id),
                    None => {
                        let reason = format!("there are no active payment terms named {name}");
                        return Ok(Err(row.error("payment_terms", reason)));
                    }
                }
            }
        };
        let owner = match self.owners.of(tx, t, row).await? {
            Ok(o) => o,
            Err(errs) => return Ok(Err(errs)),
        };
        let archived = match row.flag("archived") {
            Ok(a) => a,
            Err(errs) => return Ok(Err(errs)),
        };
        Ok(Ok(Cells { kinds, currency, treatment, terms, owner, archived }))
    }
}

fn column(field: &str) -> String {
    match field {
        "" => "name".to_string(),
        "payment_terms_id" => "payment_terms".to_string(),
        "owner_id" => "owner".to_string(),
        f if f.starts_with("addresses") => match f.rsplit_once('.') {
            Some((_, part)) if !part.starts_with("is_default") => format!("address_{part}"),
            _ => "address_line1".to_string(),
        },
        f => field_root(f).to_string(),
    }
}

/// The account that the row's external ids name, if any; ids naming two
/// different accounts are a row error.
pub async fn matching(
    tx: &mut Tx,
    tenant_id: i64,
    row: &Row,
    ids: &[ExternalId],
) -> ImportResult<Result<Option<Account>, Vec<RowError>>> {
    let mut found: Option<Account> = None;
    for e in ids {
        if let Some(a) = accounts::get_by_external_id(tx, tenant_id, e).await? {
            match &found {
                Some(f) if f.key != a.key => {
                    return Ok(Err(
                        row.error("external_ids", format!("the ids name two accounts, {} and {}", f.name, a.name))
                    ));
                }
                _ => found = Some(a),
            }
        }
    }
    Ok(Ok(found))
}

/// The cells that are the same for a new and an existing account.
struct Cells {
    kinds: Option<Vec<AccountKind>>,
    currency: Option<Currency>,
    treatment: Option<TaxTreatment>,
    terms: Option<PublicId>,
    owner: Option<PublicId>,
    archived: Option<bool>,
}

/// A likely duplicate as a row error naming the accounts it looks like that
/// the caller may see (the others are only counted, as on the API).
fn duplicate_error(row: &Row, caller: &Caller, found: &[accounts::DuplicateCandidate], hint: &str) -> Vec<RowError> {
    let (seen, hidden): (Vec<_>, Vec<_>) =
        found.iter().partition(|c| caller.may(RecordType::Account, Action::Read, c.ownership));
    let mut names: Vec<String> = seen
        .iter()
        .map(|c| {
            let why: Vec<&str> = c.reasons.iter().map(|r| r.describe()).collect();
            format!("{} ({})", c.name, why.join(", "))
        })
        .collect();
    if !hidden.is_empty() {
        names.push(format!("{} account(s) you may not see", hidden.len()));
    }
    row.error("name", format!("looks like an account that exists: {}; {hint}", names.join("; ")))
}

impl Importer for Accounts {
    const NOUN: &'static str = "account";
    const RECORD: RecordType = RecordType::Account;
    const COLUMNS: &'static [&'static str] = &accounts::CSV_COLUMNS;
    const REQUIRED: &'static str = "name";

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
        let existing = match matching(tx, t, row, &ids).await? {
            Ok(found) => found,
            Err(errs) => return Ok(Err(errs)),
        };
        if let Some(a) = &existing
            && !caller.may(RecordType::Account, Action::Update, a.ownership)
        {
            return Ok(row.refuse("external_ids", "names an account your role may not change"));
        }
        if existing.is_none() && !caller.may_any(RecordType::Account, Action::Create) {
            return Ok(row.refuse("name", "your role may not create accounts"));
        }
        if row.cell("credit_limit").is_some() && !caller.has(Capability::ViewCreditLimit) {
            return Ok(Err(Caller::field_refused(row, "credit_limit")));
        }
        let c = match self.cells(tx, t, row).await? {
            Ok(c) => c,
            Err(errs) => return Ok(Err(errs)),
        };
        let text = |col: &str| row.cell(col).map(str::to_string);
        let r = match existing {
            Some(before) => {
                let mut external_ids = before.external_ids.clone();
                for e in ids {
                    external_ids.retain(|x| !x.system.eq_ignore_ascii_case(e.system.trim()));
                    external_ids.push(e);
                }
                let addresses = row.address().map(|a| {
                    let mut list = before.addresses.clone();
                    match list.iter().position(|x| x.is_default_billing) {
                        Some(i) => list[i] = AccountAddress::of(a, true, list[i].is_default_shipping),
                        None => list.push(AccountAddress::of(a, true, false)),
                    }
                    list
                });
                let patch = AccountPatch {
                    name: text("name"),
                    kinds: c.kinds,
                    owner_id: c.owner.map(Some),
                    currency: c.currency,
                    credit_limit: text("credit_limit").map(Some),
                    tax_id: text("tax_id").map(Some),
                    tax_treatment: c.treatment,
                    tags: row.cell("tags").map(|_| list(row.cell("tags"))),
                    industry: text("industry").map(Some),
                    website: text("website").map(Some),
                    phone: text("phone").map(Some),
                    payment_terms_id: c.terms.map(Some),
                    notes: text("notes"),
                    addresses,
                    external_ids: Some(external_ids),
                    archived: c.archived,
                    ..Default::default()
                };
                accounts::update(tx, actor, &before, None, patch).await.map(|after| Outcome::of_update(&before, &after))
            }
            None => {
                let Some(name) = text("name") else { return Ok(row.refuse("name", "is required")) };
                let new = NewAccount {
                    kinds: c.kinds.unwrap_or_else(|| vec![AccountKind::Customer]),
                    owner_id: c.owner,
                    credit_limit: text("credit_limit"),
                    tax_id: text("tax_id"),
                    tax_treatment: c.treatment.unwrap_or(TaxTreatment::Standard),
                    tags: list(row.cell("tags")),
                    industry: text("industry"),
                    website: text("website"),
                    phone: text("phone"),
                    payment_terms_id: c.terms,
                    notes: text("notes").unwrap_or_default(),
                    addresses: row.address().map(|a| AccountAddress::of(a, true, true)).into_iter().collect(),
                    external_ids: ids,
                    archived: c.archived.unwrap_or(false),
                    ..NewAccount::named(name, c.currency.unwrap_or(self.company))
                };
                if let Err(e) = accounts::validate(&new) {
                    return Ok(Err(row_errors(row, e.into(), column)?));
                }
                if !self.allow_duplicates {
                    let found = accounts::likely_duplicates(tx, t, &new.match_keys()).await?;
                    if !found.is_empty() {
                        return Ok(Err(duplicate_error(row, caller, &found, self.duplicates_hint)));
                    }
                }
                accounts::create(tx, actor, new).await.map(|_| Outcome::Created)
            }
        };
        match r {
            Ok(o) => Ok(Ok(o)),
            Err(e) => Ok(Err(row_errors(row, e, column)?)),
        }
    }
}
