//! Users: the people who log in, each with one role and at most one team.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::email::Email;
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor, Change, ChangeKind, record_change};
use crate::db::{DbRow, Tx, now};
use crate::{StoreResult, args, expect_version, on_unique, roles, teams, to_json};

/// A user as the API shows it. The password hash never leaves the store.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub team_key: Option<i64>,
    #[serde(skip)]
    pub role_key: i64,
    /// The role's version, so cached grants are refreshed when it changes.
    #[serde(skip)]
    pub role_version: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub email: String,
    pub name: String,
    /// The role's name, e.g. `sales_rep`.
    pub role: String,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    pub active: bool,
    /// Locale for dates, numbers and money on pages, e.g. `en-US`.
    pub locale: String,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT u.id, u.public_id, u.email, u.name, u.role_id, u.team_id, u.active, u.locale, u.version, \
    u.created_at, u.updated_at, r.name AS role_name, r.version AS role_version, t.public_id AS team_public_id, u.password_hash \
    FROM users u JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id \
    LEFT JOIN teams t ON t.tenant_id = u.tenant_id AND t.id = u.team_id";

fn decode(r: &dyn DbRow) -> StoreResult<User> {
    Ok(User {
        key: r.i64("id")?,
        team_key: r.opt_i64("team_id")?,
        role_key: r.i64("role_id")?,
        role_version: r.i64("role_version")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        email: r.text("email")?,
        name: r.text("name")?,
        role: r.text("role_name")?,
        team_id: r.opt_uuid("team_public_id")?.map(PublicId::from_uuid),
        active: r.boolean("active")?,
        locale: r.text("locale")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<User>> {
    tx.fetch_optional(format!("{SELECT} WHERE u.tenant_id = $1 AND u.public_id = $2"), args![tenant_id, id], decode)
        .await
}

pub async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Option<User>> {
    tx.fetch_optional(format!("{SELECT} WHERE u.tenant_id = $1 AND u.id = $2"), args![tenant_id, key], decode).await
}

pub async fn get_by_email(tx: &mut Tx, tenant_id: i64, email: &Email) -> StoreResult<Option<User>> {
    tx.fetch_optional(
        format!("{SELECT} WHERE u.tenant_id = $1 AND u.email_key = $2"),
        args![tenant_id, email.key()],
        decode,
    )
    .await
}

/// The user and their password hash, for a login attempt.
pub async fn get_for_login(tx: &mut Tx, tenant_id: i64, email: &Email) -> StoreResult<Option<(User, Option<String>)>> {
    tx.fetch_optional(
        format!("{SELECT} WHERE u.tenant_id = $1 AND u.email_key = $2"),
        args![tenant_id, email.key()],
        |r| Ok((decode(r)?, r.opt_text("password_hash")?)),
    )
    .await
}

/// Every user, ordered by name.
pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<User>> {
    tx.fetch_all(format!("{SELECT} WHERE u.tenant_id = $1 ORDER BY u.name, u.id"), args![tenant_id], decode).await
}

/// The key of a user by public id, or a validation error naming `field`.
pub async fn resolve(tx: &mut Tx, tenant_id: i64, id: PublicId, field: &str) -> StoreResult<i64> {
    tx.fetch_optional("SELECT id FROM users WHERE tenant_id = $1 AND public_id = $2", args![tenant_id, id], |r| {
        r.i64("id")
    })
    .await?
    .ok_or_else(|| DomainError::invalid(field, "is not the id of a user").into())
}

async fn resolve_role(tx: &mut Tx, tenant_id: i64, name: &str) -> StoreResult<i64> {
    roles::get_by_name(tx, tenant_id, name)
        .await?
        .map(|r| r.key)
        .ok_or_else(|| DomainError::invalid("role", format!("{name} is not a role")).into())
}

async fn resolve_team(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<i64> {
    teams::get(tx, tenant_id, id)
        .await?
        .map(|t| t.key)
        .ok_or_else(|| DomainError::invalid("team_id", "is not the id of a team").into())
}

/// A user to create. The password is already hashed (see [`crate::auth`]).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub team_id: Option<PublicId>,
    pub locale: Option<String>,
}

fn clean_locale(l: &str) -> Result<String, DomainError> {
    let ok = (2..=16).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err(DomainError::invalid("locale", "must be a language tag such as en-US or de-DE"));
    }
    Ok(l.to_string())
}

fn duplicate_email(email: &Email) -> DomainError {
    DomainError::Conflict(format!("a user with the e-mail {email} already exists"))
}

pub async fn create(tx: &mut Tx, actor: &Actor, new: NewUser) -> StoreResult<User> {
    let name = crate::clean_name(&new.name, 200)?;
    let locale = clean_locale(new.locale.as_deref().unwrap_or("en-US"))?;
    let role_key = resolve_role(tx, actor.tenant_id, &new.role).await?;
    let team_key = match new.team_id {
        Some(t) => Some(resolve_team(tx, actor.tenant_id, t).await?),
        None => None,
    };
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO users (tenant_id, id, public_id, email, email_key, name, password_hash, role_id, team_id, active, \
         locale, version, created_at, updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $11, $12, $12)",
        tx.new_id_expr("users", "$1")
    );
    let r = tx
        .execute(
            sql,
            args![
                actor.tenant_id,
                id,
                new.email.as_str(),
                new.email.key(),
                &name,
                new.password_hash,
                role_key,
                team_key,
                true,
                &locale,
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "users_email_key", "users.email_key", || duplicate_email(&new.email))?;
    let user = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "user" })?;
    audit::created(tx, actor, RecordType::User, id, &user).await?;
    Ok(user)
}

/// Changes to a user; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub name: Option<String>,
    pub role: Option<String>,
    /// `Some(None)` removes the user from their team.
    pub team_id: Option<Option<PublicId>>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub password_hash: Option<String>,
}

pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: PublicId,
    if_version: Option<i64>,
    patch: UserPatch,
) -> StoreResult<User> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "user" })?;
    expect_version("user", before.version, if_version)?;
    let name = match &patch.name {
        Some(n) => crate::clean_name(n, 200)?,
        None => before.name.clone(),
    };
    let locale = match &patch.locale {
        Some(l) => clean_locale(l)?,
        None => before.locale.clone(),
    };
    let role_key = match &patch.role {
        Some(r) => resolve_role(tx, actor.tenant_id, r).await?,
        None => before.role_key,
    };
    let team_key = match patch.team_id {
        Some(Some(t)) => Some(resolve_team(tx, actor.tenant_id, t).await?),
        Some(None) => None,
        None => before.team_key,
    };
    let email = patch.email.clone().unwrap_or_else(|| Email::parse(&before.email).expect("stored e-mails are valid"));
    let r = tx
        .execute(
            "UPDATE users SET email = $3, email_key = $4, name = $5, role_id = $6, team_id = $7, active = $8, \
             locale = $9, password_hash = COALESCE($10, password_hash), version = version + 1, updated_at = $11, \
             updated_by = $12 WHERE tenant_id = $1 AND id = $2",
            args![
                actor.tenant_id,
                before.key,
                email.as_str(),
                email.key(),
                &name,
                role_key,
                team_key,
                patch.active.unwrap_or(before.active),
                &locale,
                patch.password_hash.clone(),
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "users_email_key", "users.email_key", || duplicate_email(&email))?;
    if patch.active == Some(false) || patch.password_hash.is_some() {
        // A deactivated user or a new password ends every open session.
        tx.execute("DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2", args![actor.tenant_id, before.key])
            .await?;
    }
    let after = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "user" })?;
    let mut after_json = to_json(&after)?;
    if patch.password_hash.is_some() {
        // The audit shows that the password changed, never the hash.
        after_json["password_changed"] = serde_json::Value::Bool(true);
    }
    record_change(
        tx,
        actor,
        Change {
            record_type: RecordType::User,
            record_id: id,
            version: after.version,
            kind: ChangeKind::Updated,
            before: Some(to_json(&before)?),
            after: Some(after_json),
        },
    )
    .await?;
    Ok(after)
}

/// Deletes a user who owns nothing; otherwise deactivate them.
pub async fn delete(tx: &mut Tx, actor: &Actor, id: PublicId, if_version: Option<i64>) -> StoreResult<()> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "user" })?;
    expect_version("user", before.version, if_version)?;
    if actor.user_id == Some(before.key) {
        return Err(DomainError::Conflict("you cannot delete yourself".into()).into());
    }
    let accounts = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM accounts WHERE tenant_id = $1 AND owner_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    if accounts > 0 {
        return Err(DomainError::Conflict(format!(
            "{} still owns {accounts} account(s); reassign them or deactivate the user instead",
            before.name
        ))
        .into());
    }
    tx.execute("DELETE FROM users WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::User, id, before.version + 1, &before).await
}

/// How many users a tenant has (the CLI and the demo check for a first admin).
pub async fn count(tx: &mut Tx, tenant_id: i64) -> StoreResult<i64> {
    tx.scalar_i64("SELECT COUNT(*) AS v FROM users WHERE tenant_id = $1", args![tenant_id]).await
}
