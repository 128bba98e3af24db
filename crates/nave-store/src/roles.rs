//! Roles: named sets of permissions and capabilities.
//!
//! Built-in roles take their grants from code ([`BuiltinRole::grants`]) and
//! cannot be changed; admins define custom roles, stored here.

use std::str::FromStr;

use nave_domain::DomainError;
use nave_domain::access::{Action, BuiltinRole, Capability, Grants, RecordType, RecordType as T, Scope};
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::{StoreResult, args, expect_version, on_unique};

/// One permission of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Permission {
    #[schema(value_type = String, example = "account")]
    pub record_type: RecordType,
    #[schema(value_type = String, example = "read")]
    pub action: Action,
    #[schema(value_type = String, example = "own")]
    pub scope: Scope,
}

/// A role as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Role {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub permissions: Vec<Permission>,
    #[schema(value_type = Vec<String>)]
    pub capabilities: Vec<Capability>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Role {
    pub fn grants(&self) -> Grants {
        let mut g = Grants::new();
        for p in &self.permissions {
            g.allow(p.record_type, p.action, p.scope);
        }
        for &c in &self.capabilities {
            g.give(c);
        }
        g
    }
}

fn to_permissions(g: &Grants) -> Vec<Permission> {
    g.permissions().map(|(record_type, action, scope)| Permission { record_type, action, scope }).collect()
}

const SELECT: &str = "SELECT id, public_id, name, description, builtin, version, created_at, updated_at FROM roles";

async fn hydrate(tx: &mut Tx, tenant_id: i64, r: RoleRow) -> StoreResult<Role> {
    let (key, id, name, description, builtin, version, created_at, updated_at) = r;
    let grants = match BuiltinRole::from_str(&name) {
        Ok(b) if builtin => b.grants(),
        _ => stored_grants(tx, tenant_id, key).await?,
    };
    Ok(Role {
        key,
        id,
        name,
        description,
        builtin,
        permissions: to_permissions(&grants),
        capabilities: grants.capabilities().collect(),
        version,
        created_at,
        updated_at,
    })
}

type RoleRow = (i64, PublicId, String, String, bool, i64, OffsetDateTime, OffsetDateTime);

fn decode(r: &dyn DbRow) -> StoreResult<RoleRow> {
    Ok((
        r.i64("id")?,
        PublicId::from_uuid(r.uuid("public_id")?),
        r.text("name")?,
        r.text("description")?,
        r.boolean("builtin")?,
        r.i64("version")?,
        r.ts("created_at")?,
        r.ts("updated_at")?,
    ))
}

async fn stored_grants(tx: &mut Tx, tenant_id: i64, role_id: i64) -> StoreResult<Grants> {
    let perms = tx
        .fetch_all(
            "SELECT record_type, action, scope FROM role_permissions WHERE tenant_id = $1 AND role_id = $2",
            args![tenant_id, role_id],
            |r| Ok((r.text("record_type")?, r.text("action")?, r.text("scope")?)),
        )
        .await?;
    let caps = tx
        .fetch_all(
            "SELECT capability FROM role_capabilities WHERE tenant_id = $1 AND role_id = $2",
            args![tenant_id, role_id],
            |r| r.text("capability"),
        )
        .await?;
    let mut g = Grants::new();
    for (t, a, s) in perms {
        // Names a newer release no longer knows are ignored rather than fatal.
        if let (Ok(t), Ok(a), Ok(s)) = (t.parse::<RecordType>(), a.parse::<Action>(), s.parse::<Scope>()) {
            g.allow(t, a, s);
        }
    }
    for c in caps {
        if let Ok(c) = c.parse::<Capability>() {
            g.give(c);
        }
    }
    Ok(g)
}

/// The grants of a role by its key, and the role's name and version.
pub async fn grants_of(tx: &mut Tx, tenant_id: i64, role_key: i64) -> StoreResult<Grants> {
    let row = tx
        .fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND id = $2"), args![tenant_id, role_key], decode)
        .await?
        .ok_or(DomainError::NotFound { record: "role" })?;
    Ok(hydrate(tx, tenant_id, row).await?.grants())
}

pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Role>> {
    let rows = tx
        .fetch_all(format!("{SELECT} WHERE tenant_id = $1 ORDER BY builtin DESC, name"), args![tenant_id], decode)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(hydrate(tx, tenant_id, r).await?);
    }
    Ok(out)
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Role>> {
    let row = tx
        .fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND public_id = $2"), args![tenant_id, id], decode)
        .await?;
    match row {
        Some(r) => Ok(Some(hydrate(tx, tenant_id, r).await?)),
        None => Ok(None),
    }
}

pub async fn get_by_name(tx: &mut Tx, tenant_id: i64, name: &str) -> StoreResult<Option<Role>> {
    let row = tx
        .fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND name = $2"), args![tenant_id, name], decode)
        .await?;
    match row {
        Some(r) => Ok(Some(hydrate(tx, tenant_id, r).await?)),
        None => Ok(None),
    }
}

/// A role to define.
#[derive(Debug, Clone)]
pub struct NewRole {
    pub name: String,
    pub description: String,
    pub grants: Grants,
}

fn check_name(name: &str) -> Result<(), DomainError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(DomainError::invalid("name", "must be 1 to 64 characters of a-z, 0-9 and _"));
    }
    if BuiltinRole::from_str(name).is_ok() {
        return Err(DomainError::invalid("name", "is the name of a built-in role"));
    }
    Ok(())
}

async fn write_grants(tx: &mut Tx, tenant_id: i64, role_key: i64, g: &Grants) -> StoreResult<()> {
    tx.execute("DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2", args![tenant_id, role_key])
        .await?;
    tx.execute("DELETE FROM role_capabilities WHERE tenant_id = $1 AND role_id = $2", args![tenant_id, role_key])
        .await?;
    for (t, a, s) in g.permissions() {
        tx.execute(
            "INSERT INTO role_permissions (tenant_id, role_id, record_type, action, scope) VALUES ($1, $2, $3, $4, $5)",
            args![tenant_id, role_key, t.as_str(), a.as_str(), s.as_str()],
        )
        .await?;
    }
    for c in g.capabilities() {
        tx.execute(
            "INSERT INTO role_capabilities (tenant_id, role_id, capability) VALUES ($1, $2, $3)",
            args![tenant_id, role_key, c.as_str()],
        )
        .await?;
    }
    Ok(())
}

pub async fn create(tx: &mut Tx, actor: &Actor, new: NewRole) -> StoreResult<Role> {
    check_name(&new.name)?;
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO roles (tenant_id, id, public_id, name, description, builtin, version, created_at, updated_at, \
         created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, 1, $6, $6, $7, $7) RETURNING id",
        tx.new_id_expr("roles", "$1")
    );
    let r = tx
        .fetch_one(sql, args![actor.tenant_id, id, &new.name, &new.description, false, at, actor.user_id], |r| {
            r.i64("id")
        })
        .await;
    let key = on_unique(r, "roles_name_key", "roles.name", || {
        DomainError::Conflict(format!("a role named {} already exists", new.name))
    })?;
    write_grants(tx, actor.tenant_id, key, &new.grants).await?;
    let role = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "role" })?;
    audit::created(tx, actor, T::Role, id, &role).await?;
    Ok(role)
}

/// Changes to a custom role; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct RolePatch {
    pub description: Option<String>,
    pub grants: Option<Grants>,
}

fn refuse_builtin(role: &Role) -> StoreResult<()> {
    if role.builtin {
        return Err(DomainError::Forbidden(format!(
            "{} is a built-in role and cannot be changed; define a custom role instead",
            role.name
        ))
        .into());
    }
    Ok(())
}

pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: PublicId,
    if_version: Option<i64>,
    patch: RolePatch,
) -> StoreResult<Role> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "role" })?;
    refuse_builtin(&before)?;
    expect_version("role", before.version, if_version)?;
    let n = tx
        .execute(
            "UPDATE roles SET description = $4, version = version + 1, updated_at = $5, updated_by = $6 \
             WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                actor.tenant_id,
                before.key,
                before.version,
                patch.description.clone().unwrap_or_else(|| before.description.clone()),
                now(),
                actor.user_id
            ],
        )
        .await?;
    if n == 0 {
        return Err(DomainError::VersionMismatch { record: "role", current: before.version }.into());
    }
    if let Some(g) = &patch.grants {
        write_grants(tx, actor.tenant_id, before.key, g).await?;
    }
    let after = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "role" })?;
    audit::updated(tx, actor, T::Role, id, after.version, &before, &after).await?;
    Ok(after)
}

pub async fn delete(tx: &mut Tx, actor: &Actor, id: PublicId, if_version: Option<i64>) -> StoreResult<()> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "role" })?;
    refuse_builtin(&before)?;
    expect_version("role", before.version, if_version)?;
    let users = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM users WHERE tenant_id = $1 AND role_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    if users > 0 {
        return Err(DomainError::Conflict(format!(
            "the role {} is still given to {users} user(s); give them another role first",
            before.name
        ))
        .into());
    }
    tx.execute("DELETE FROM roles WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, T::Role, id, before.version + 1, &before).await
}
