//! Demo data for syncing: the ERP masters customers' credit limits and
//! payment terms, Nave masters contacts' e-mail addresses, and the web shop
//! has tried to raise a customer's credit limit — an open sync conflict.

use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_store::accounts::{self, AccountPatch};
use nave_store::audit::Actor;
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{StoreResult, Tx, sync};

/// Writes the rules and the conflict (on the first of `customers` with a
/// credit limit); returns how many rules.
pub async fn load(tx: &mut Tx, customers: &[PublicId]) -> StoreResult<usize> {
    let system = Actor::system(DEFAULT_TENANT);
    let rules =
        [("account", "credit_limit", "erp"), ("account", "payment_terms_id", "erp"), ("contact", "emails", "nave")];
    for (record, field, master) in rules {
        sync::put_rule(tx, &system, record, field, master, None).await?;
    }
    // The shop sends the customer with a limit of its own and a phone number:
    // the phone is taken, the limit waits for someone to accept or dismiss it.
    let mut found = None;
    for id in customers {
        if let Some(a) = accounts::get(tx, DEFAULT_TENANT, *id).await?
            && a.credit_limit.is_some()
        {
            found = Some(a);
            break;
        }
    }
    let Some(before) = found else { return Ok(rules.len()) };
    let shop = Actor { source: Some("shop".into()), ..Actor::system(DEFAULT_TENANT) };
    let mut ids = before.external_ids.clone();
    if !ids.iter().any(|e| e.system == "shop") {
        ids.push(ExternalId::new("shop", "woo-1187"));
    }
    let patch = AccountPatch {
        credit_limit: Some(Some("25000".into())),
        phone: Some(Some("+44 20 7946 0958".into())),
        external_ids: Some(ids),
        ..Default::default()
    };
    accounts::update(tx, &shop, &before, None, patch).await?;
    Ok(rules.len())
}
