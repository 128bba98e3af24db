//! Teams: groups of users; the "team" record scope reaches a team's records.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::{StoreResult, args, expect_version, on_unique};

/// A team as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Team {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT id, public_id, name, version, created_at, updated_at FROM teams";

fn decode(r: &dyn DbRow) -> StoreResult<Team> {
    Ok(Team {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Team>> {
    tx.fetch_all(format!("{SELECT} WHERE tenant_id = $1 ORDER BY name_key"), args![tenant_id], decode).await
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Team>> {
    tx.fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND public_id = $2"), args![tenant_id, id], decode).await
}

pub async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Option<Team>> {
    tx.fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND id = $2"), args![tenant_id, key], decode).await
}

/// The key of a team by public id, or a validation error naming `field`.
pub async fn resolve(tx: &mut Tx, tenant_id: i64, id: PublicId, field: &str) -> StoreResult<i64> {
    get(tx, tenant_id, id)
        .await?
        .map(|t| t.key)
        .ok_or_else(|| DomainError::invalid(field, "is not the id of a team").into())
}

fn duplicate(name: &str) -> DomainError {
    DomainError::Conflict(format!("a team named {name} already exists"))
}

pub async fn create(tx: &mut Tx, actor: &Actor, name: &str) -> StoreResult<Team> {
    let name = crate::clean_name(name, 100)?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO teams (tenant_id, id, public_id, name, name_key, version, created_at, updated_at, created_by, \
         updated_by) VALUES ($1, {}, $2, $3, $4, 1, $5, $5, $6, $6)",
        tx.new_id_expr("teams", "$1")
    );
    let r = tx.execute(sql, args![actor.tenant_id, id, &name, name.to_lowercase(), now(), actor.user_id]).await;
    on_unique(r, "teams_name_key", "teams.name_key", || duplicate(&name))?;
    let team = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "team" })?;
    audit::created(tx, actor, RecordType::Team, id, &team).await?;
    Ok(team)
}

pub async fn rename(
    tx: &mut Tx,
    actor: &Actor,
    id: PublicId,
    if_version: Option<i64>,
    name: &str,
) -> StoreResult<Team> {
    let name = crate::clean_name(name, 100)?;
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "team" })?;
    expect_version("team", before.version, if_version)?;
    let r = tx
        .execute(
            "UPDATE teams SET name = $3, name_key = $4, version = version + 1, updated_at = $5, updated_by = $6 \
             WHERE tenant_id = $1 AND id = $2",
            args![actor.tenant_id, before.key, &name, name.to_lowercase(), now(), actor.user_id],
        )
        .await;
    on_unique(r, "teams_name_key", "teams.name_key", || duplicate(&name))?;
    let after = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "team" })?;
    audit::updated(tx, actor, RecordType::Team, id, after.version, &before, &after).await?;
    Ok(after)
}

pub async fn delete(tx: &mut Tx, actor: &Actor, id: PublicId, if_version: Option<i64>) -> StoreResult<()> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "team" })?;
    expect_version("team", before.version, if_version)?;
    let users = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM users WHERE tenant_id = $1 AND team_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    let accounts = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM accounts WHERE tenant_id = $1 AND team_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    if users + accounts > 0 {
        return Err(DomainError::Conflict(format!(
            "the team {} is still referred to by {users} user(s) and {accounts} account(s)",
            before.name
        ))
        .into());
    }
    tx.execute("DELETE FROM teams WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Team, id, before.version + 1, &before).await
}
