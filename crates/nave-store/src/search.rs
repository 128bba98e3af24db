//! The search index: for each record, the normalised words it is found by
//! (`nave_domain::search`), rewritten in the same transaction as the record.
//! A query matches a record when each query word begins one of its terms.

use nave_domain::access::RecordType;
use nave_domain::search::{self, Field};

use crate::db::{Arg, Tx};
use crate::{StoreResult, args};

/// Replaces the terms of one record.
pub async fn index(tx: &mut Tx, tenant_id: i64, rt: RecordType, key: i64, fields: &[Field<'_>]) -> StoreResult<()> {
    remove(tx, tenant_id, rt, key).await?;
    let terms = search::terms(fields);
    if terms.is_empty() {
        return Ok(());
    }
    // One statement for all terms: ($1, $2, $3, $4), ($1, $2, $3, $5), …
    let mut a: Vec<Arg> = args![tenant_id, rt.as_str(), key];
    let mut values = Vec::with_capacity(terms.len());
    for t in terms {
        a.push(t.into());
        values.push(format!("($1, $2, $3, ${})", a.len()));
    }
    tx.execute(
        format!("INSERT INTO search_terms (tenant_id, record_type, record_id, term) VALUES {}", values.join(", ")),
        a,
    )
    .await?;
    Ok(())
}

/// Forgets a record.
pub async fn remove(tx: &mut Tx, tenant_id: i64, rt: RecordType, key: i64) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM search_terms WHERE tenant_id = $1 AND record_type = $2 AND record_id = $3",
        args![tenant_id, rt.as_str(), key],
    )
    .await?;
    Ok(())
}

/// A condition `<column> IN (…)` selecting the keys of records of type `rt`
/// that match every word, with its arguments appended to `a` (`$1` must be
/// the tenant). `None` when there are no words.
pub fn matching_keys(column: &str, rt: RecordType, words: &[String], a: &mut Vec<Arg>) -> Option<String> {
    if words.is_empty() {
        return None;
    }
    a.push(rt.as_str().into());
    let rt_arg = a.len();
    let mut parts = Vec::with_capacity(words.len());
    for w in words {
        a.push(w.as_str().into());
        a.push(search::upper(w).into());
        parts.push(format!(
            "SELECT record_id FROM search_terms WHERE tenant_id = $1 AND record_type = ${rt_arg} \
             AND term >= ${} AND term < ${}",
            a.len() - 1,
            a.len()
        ));
    }
    Some(format!("{column} IN ({})", parts.join(" INTERSECT ")))
}
