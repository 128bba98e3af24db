//! Postal addresses: an account's several addresses, kept in
//! `account_addresses` in their order, and the documented shapes of both
//! address kinds (the types and their rules are `nave_domain::address`).

use nave_domain::address::AccountAddress;

use crate::db::Tx;
use crate::{StoreResult, args};

/// The columns of one postal address in CSV exports and imports.
pub const ADDRESS_COLUMNS: [&str; 7] = [
    "address_label",
    "address_line1",
    "address_line2",
    "address_city",
    "address_region",
    "address_postal_code",
    "address_country",
];

/// Schema of a postal address (documentation only; the type is `nave_domain::address::PostalAddress`).
#[derive(utoipa::ToSchema)]
#[schema(as = PostalAddress)]
#[allow(dead_code)]
pub struct PostalAddressSchema {
    /// What the address is ("Head office"); may be empty.
    label: String,
    #[schema(example = "12 Harbour Road")]
    line1: String,
    line2: Option<String>,
    #[schema(example = "Hull")]
    city: String,
    region: Option<String>,
    #[schema(example = "HU1 2AB")]
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 code, e.g. `GB`.
    #[schema(example = "GB")]
    country: String,
}

/// Schema of an account's address (documentation only; the type is `nave_domain::address::AccountAddress`).
#[derive(utoipa::ToSchema)]
#[schema(as = AccountAddress)]
#[allow(dead_code)]
pub struct AccountAddressSchema {
    label: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 code, e.g. `GB`.
    country: String,
    /// At most one address of an account is the default billing address; with
    /// none marked, the first one is.
    is_default_billing: bool,
    /// At most one address of an account is the default shipping address; with
    /// none marked, the first one is.
    is_default_shipping: bool,
}

/// The addresses of some accounts (keys from the database), by account key, in order.
pub async fn load(tx: &mut Tx, tenant_id: i64, accounts: &[i64]) -> StoreResult<Vec<(i64, AccountAddress)>> {
    if accounts.is_empty() {
        return Ok(vec![]);
    }
    let list = accounts.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    tx.fetch_all(
        format!(
            "SELECT account_id, label, line1, line2, city, region, postal_code, country, is_default_billing, \
             is_default_shipping FROM account_addresses WHERE tenant_id = $1 AND account_id IN ({list}) \
             ORDER BY account_id, position"
        ),
        args![tenant_id],
        |r| {
            Ok((
                r.i64("account_id")?,
                AccountAddress {
                    label: r.text("label")?,
                    line1: r.text("line1")?,
                    line2: r.opt_text("line2")?,
                    city: r.text("city")?,
                    region: r.opt_text("region")?,
                    postal_code: r.opt_text("postal_code")?,
                    country: r.text("country")?,
                    is_default_billing: r.boolean("is_default_billing")?,
                    is_default_shipping: r.boolean("is_default_shipping")?,
                },
            ))
        },
    )
    .await
}

/// Replaces an account's addresses (already checked with
/// `nave_domain::address::check_account_addresses`).
pub async fn replace(tx: &mut Tx, tenant_id: i64, account: i64, list: &[AccountAddress]) -> StoreResult<()> {
    tx.execute("DELETE FROM account_addresses WHERE tenant_id = $1 AND account_id = $2", args![tenant_id, account])
        .await?;
    insert(tx, tenant_id, account, list).await
}

/// Writes the addresses of an account that has none yet.
pub async fn insert(tx: &mut Tx, tenant_id: i64, account: i64, list: &[AccountAddress]) -> StoreResult<()> {
    for (i, a) in list.iter().enumerate() {
        tx.execute(
            "INSERT INTO account_addresses (tenant_id, account_id, position, label, line1, line2, city, region, \
             postal_code, country, is_default_billing, is_default_shipping) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            args![
                tenant_id,
                account,
                i as i64,
                &a.label,
                &a.line1,
                a.line2.as_deref(),
                &a.city,
                a.region.as_deref(),
                a.postal_code.as_deref(),
                &a.country,
                a.is_default_billing,
                a.is_default_shipping
            ],
        )
        .await?;
    }
    Ok(())
}
