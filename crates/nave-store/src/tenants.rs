//! Tenants: the companies one Nave server hosts, fully isolated.
//!
//! A single-company install has one tenant, number 1, created with its
//! built-in roles on first start.

use nave_domain::access::BuiltinRole;
use nave_domain::ids::PublicId;

use crate::db::{Db, now};
use crate::{StoreResult, args, payment_terms, pipeline};

/// The tenant of a single-company install.
pub const DEFAULT_TENANT: i64 = 1;

/// Creates tenant `id` with its counters and built-in roles if it does not
/// exist yet. Safe to call at every start.
pub async fn ensure(db: &Db, id: i64, name: &str) -> StoreResult<()> {
    let mut tx = db.write().await?;
    let exists = tx.fetch_optional("SELECT id FROM tenants WHERE id = $1", args![id], |r| r.i64("id")).await?.is_some();
    if !exists {
        tx.execute(
            "INSERT INTO tenants (id, public_id, name, created_at) VALUES ($1, $2, $3, $4)",
            args![id, PublicId::new(), name, now()],
        )
        .await?;
        tx.execute("INSERT INTO tenant_counters (tenant_id, event_position) VALUES ($1, 0)", args![id]).await?;
        // A new company starts with the usual payment terms (seeded once, so
        // terms an admin deletes stay deleted).
        for (name, instalments) in payment_terms::defaults() {
            let sql = format!(
                "INSERT INTO payment_terms (tenant_id, id, public_id, name, name_key, instalments, active, version, \
                 created_at, updated_at) VALUES ($1, {}, $2, $3, $4, $5, $6, 1, $7, $7)",
                tx.new_id_expr("payment_terms", "$1")
            );
            let json = serde_json::to_string(&instalments).map_err(|e| crate::StoreError::Decode(e.to_string()))?;
            tx.execute(sql, args![id, PublicId::new(), name, name.to_lowercase(), json, true, now()]).await?;
        }
    }
    // Every company has a sales pipeline (also one that existed before pipelines did).
    pipeline::seed_default_pipeline(&mut tx, id).await?;
    for &role in BuiltinRole::ALL {
        let sql = format!(
            "INSERT INTO roles (tenant_id, id, public_id, name, description, builtin, version, created_at, updated_at) \
             VALUES ($1, {}, $2, $3, $4, $5, 1, $6, $6) ON CONFLICT DO NOTHING",
            tx.new_id_expr("roles", "$1")
        );
        tx.execute(sql, args![id, PublicId::new(), role.as_str(), role.description(), true, now()]).await?;
    }
    tx.commit().await
}

/// The tenants of this server: (id, name).
pub async fn list(db: &Db) -> StoreResult<Vec<(i64, String)>> {
    let mut tx = db.read().await?;
    tx.fetch_all("SELECT id, name FROM tenants ORDER BY id", vec![], |r| Ok((r.i64("id")?, r.text("name")?))).await
}

/// The company's own currency (set on the tenant; USD unless changed).
pub async fn currency(tx: &mut crate::Tx, tenant_id: i64) -> StoreResult<nave_domain::money::Currency> {
    let code =
        tx.fetch_one("SELECT currency FROM tenants WHERE id = $1", args![tenant_id], |r| r.text("currency")).await?;
    nave_domain::money::Currency::parse(&code).map_err(|e| crate::StoreError::Decode(e.to_string()))
}
