//! Credit exposure of an account (DOMAIN.md "Credit limit"): open
//! receivables plus the value of open sales orders not yet invoiced.

use crate::db::Tx;
use crate::{StoreResult, args};

/// Exposure in minor units: Σ balance of the account's issued and part-paid
/// invoices, plus for each open sales order its total less the totals of its
/// invoices that are not void (never below 0 per order, so an order invoiced
/// beyond its total does not lower the exposure).
pub async fn exposure(tx: &mut Tx, tenant_id: i64, account_key: i64) -> StoreResult<i64> {
    let receivables = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS v FROM documents \
             WHERE tenant_id = $1 AND account_id = $2 AND doc_type = 'invoice' AND status IN ('issued', 'part_paid')",
            args![tenant_id, account_key],
        )
        .await?;
    let orders = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(CASE WHEN o.total_minor - COALESCE(i.invoiced, 0) > 0 \
             THEN o.total_minor - COALESCE(i.invoiced, 0) ELSE 0 END), 0) AS BIGINT) AS v \
             FROM documents o LEFT JOIN (SELECT origin_id, SUM(total_minor) AS invoiced FROM documents \
             WHERE tenant_id = $1 AND doc_type = 'invoice' AND status <> 'void' AND origin_id IS NOT NULL \
             GROUP BY origin_id) i ON i.origin_id = o.id \
             WHERE o.tenant_id = $1 AND o.account_id = $2 AND o.doc_type = 'sales_order' AND o.status = 'open'",
            args![tenant_id, account_key],
        )
        .await?;
    Ok(receivables + orders)
}
