//! An account's credit exposure (DOMAIN.md "Credit limit"): what it owes now
//! plus what it has ordered and not yet been invoiced for.
//!
//! Exposure = open receivables + open orders not yet invoiced, where
//! - open receivables = Σ balance of the account's invoices that are issued
//!   or part paid (the balance already nets payments and applied credits);
//! - an open order's uninvoiced value = its total less the totals of the
//!   issued (issued, part paid or paid) invoices made from it, never below 0.
//!   Draft invoices are not receivables yet, so the order still counts in
//!   full until they are issued; then the invoice counts instead of it.
//!
//! Amounts are in minor units of the account currency: documents are assumed
//! to be in the account's currency (the default when they are created), and
//! are summed as they are.

use crate::db::Tx;
use crate::{StoreResult, args};

/// The account's exposure now, in minor units of its currency.
pub async fn exposure(tx: &mut Tx, tenant_id: i64, account_key: i64) -> StoreResult<i64> {
    let receivables = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS v FROM documents WHERE tenant_id = $1 \
             AND account_id = $2 AND doc_type = 'invoice' AND status IN ('issued', 'part_paid')",
            args![tenant_id, account_key],
        )
        .await?;
    let orders = tx
        .fetch_all(
            "SELECT d.total_minor, CAST(COALESCE((SELECT SUM(i.total_minor) FROM documents i \
             WHERE i.tenant_id = d.tenant_id AND i.origin_id = d.id AND i.doc_type = 'invoice' \
             AND i.status IN ('issued', 'part_paid', 'paid')), 0) AS BIGINT) AS invoiced \
             FROM documents d WHERE d.tenant_id = $1 AND d.account_id = $2 AND d.doc_type = 'sales_order' \
             AND d.status = 'open'",
            args![tenant_id, account_key],
            |r| Ok((r.i64("total_minor")? - r.i64("invoiced")?).max(0)),
        )
        .await?;
    Ok(receivables.saturating_add(orders.into_iter().sum::<i64>()))
}

/// The account's credit limit in minor units of its currency (`None`: no limit).
pub async fn limit(tx: &mut Tx, tenant_id: i64, account_key: i64) -> StoreResult<Option<i64>> {
    Ok(tx
        .fetch_optional(
            "SELECT credit_limit_minor FROM accounts WHERE tenant_id = $1 AND id = $2",
            args![tenant_id, account_key],
            |r| r.opt_i64("credit_limit_minor"),
        )
        .await?
        .flatten())
}
