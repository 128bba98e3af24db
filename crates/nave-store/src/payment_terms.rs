//! Payment terms: named instalment lists (see `nave_domain::terms`).

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;
use nave_domain::terms::{Instalment, Terms};
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::{StoreError, StoreResult, args, expect_version, on_unique};

const T: RecordType = RecordType::PaymentTerms;

/// Payment terms as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentTerms {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// `[{percent ("50" or null = the remainder), days, end_of_month, day_of_month}]`.
    #[schema(value_type = Vec<Object>)]
    pub instalments: Vec<Instalment>,
    pub active: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl PaymentTerms {
    /// The checked instalments (stored terms were checked when saved).
    pub fn terms(&self) -> Result<Terms, DomainError> {
        Terms::new(self.instalments.clone())
    }
}

const SELECT: &str =
    "SELECT id, public_id, name, instalments, active, version, created_at, updated_at FROM payment_terms";

fn decode(r: &dyn DbRow) -> StoreResult<PaymentTerms> {
    Ok(PaymentTerms {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        instalments: serde_json::from_str(&r.text("instalments")?).map_err(|e| StoreError::Decode(e.to_string()))?,
        active: r.boolean("active")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

fn duplicate(name: &str) -> DomainError {
    DomainError::Conflict(format!("payment terms named {name} already exist"))
}

/// Payment terms, by name; inactive ones only when asked.
pub async fn list(tx: &mut Tx, tenant_id: i64, include_inactive: bool) -> StoreResult<Vec<PaymentTerms>> {
    let sql = if include_inactive {
        format!("{SELECT} WHERE tenant_id = $1 ORDER BY name_key")
    } else {
        format!("{SELECT} WHERE tenant_id = $1 AND active = $2 ORDER BY name_key")
    };
    let a = if include_inactive { args![tenant_id] } else { args![tenant_id, true] };
    tx.fetch_all(sql, a, decode).await
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<PaymentTerms>> {
    tx.fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND public_id = $2"), args![tenant_id, id], decode).await
}

/// Creates payment terms; the instalments are checked first.
pub async fn create(tx: &mut Tx, actor: &Actor, name: &str, terms: &Terms) -> StoreResult<PaymentTerms> {
    let name = crate::clean_name(name, 100)?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO payment_terms (tenant_id, id, public_id, name, name_key, instalments, active, version, \
         created_at, updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, 1, $7, $7, $8, $8)",
        tx.new_id_expr("payment_terms", "$1")
    );
    let json = serde_json::to_string(terms.instalments()).map_err(|e| StoreError::Decode(e.to_string()))?;
    let r =
        tx.execute(sql, args![actor.tenant_id, id, &name, name.to_lowercase(), json, true, now(), actor.user_id]).await;
    on_unique(r, "payment_terms_name_key", "payment_terms.name_key", || duplicate(&name))?;
    let created = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "payment_terms" })?;
    audit::created(tx, actor, T, id, &created).await?;
    Ok(created)
}

/// Changes to payment terms; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct PaymentTermsPatch {
    pub name: Option<String>,
    pub terms: Option<Terms>,
    pub active: Option<bool>,
}

pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: PublicId,
    if_version: Option<i64>,
    patch: PaymentTermsPatch,
) -> StoreResult<PaymentTerms> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "payment_terms" })?;
    expect_version("payment_terms", before.version, if_version)?;
    let name = match &patch.name {
        Some(n) => crate::clean_name(n, 100)?,
        None => before.name.clone(),
    };
    let instalments = patch.terms.as_ref().map_or(&before.instalments[..], |t| t.instalments());
    let json = serde_json::to_string(instalments).map_err(|e| StoreError::Decode(e.to_string()))?;
    let r = tx
        .execute(
            "UPDATE payment_terms SET name = $3, name_key = $4, instalments = $5, active = $6, version = version + 1, \
             updated_at = $7, updated_by = $8 WHERE tenant_id = $1 AND id = $2",
            args![
                actor.tenant_id,
                before.key,
                &name,
                name.to_lowercase(),
                json,
                patch.active.unwrap_or(before.active),
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "payment_terms_name_key", "payment_terms.name_key", || duplicate(&name))?;
    let after = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "payment_terms" })?;
    audit::updated(tx, actor, T, id, after.version, &before, &after).await?;
    Ok(after)
}

/// Deletes payment terms no account uses (invoices will be added to the
/// check); otherwise says how many use them: deactivate them instead.
pub async fn delete(tx: &mut Tx, actor: &Actor, id: PublicId, if_version: Option<i64>) -> StoreResult<()> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "payment_terms" })?;
    expect_version("payment_terms", before.version, if_version)?;
    let used = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM accounts WHERE tenant_id = $1 AND payment_terms_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    if used > 0 {
        return Err(DomainError::Conflict(format!(
            "{} cannot be deleted: {used} account(s) use them; deactivate them instead",
            before.name
        ))
        .into());
    }
    tx.execute("DELETE FROM payment_terms WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key])
        .await?;
    audit::deleted(tx, actor, T, id, before.version + 1, &before).await
}

/// The terms every new company starts with.
pub fn defaults() -> Vec<(&'static str, Vec<Instalment>)> {
    let net = |days| Instalment { percent: None, days, end_of_month: false, day_of_month: None };
    vec![
        ("Due on receipt", vec![net(0)]),
        ("Net 14", vec![net(14)]),
        ("Net 30", vec![net(30)]),
        ("30 days end of month", vec![Instalment { end_of_month: true, ..net(30) }]),
        (
            "50 % now, 50 % at 60 days",
            vec![Instalment { percent: Some(rust_decimal::Decimal::from(50)), ..net(0) }, net(60)],
        ),
    ]
}
