//! The company's own details — legal name, address, tax id, email, phone and
//! an optional logo — printed at the head of every document, and the purchase
//! receiving tolerance. One row per tenant, made on the first save; until
//! then the details are the tenant's name and nothing else, the tolerance 0.
//!
//! The tolerance (a percent with one decimal, 0 to 100) lets a purchase-order
//! line be received, and billed, beyond what was ordered by up to that share
//! of the ordered quantity ([`allowance`]); above it the receipt or bill is
//! refused naming the line's quantity field and the limit.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::files::{self, StoredFile};
use crate::{StoreResult, args};

/// The largest tolerance, in percent.
pub const MAX_TOLERANCE_PERCENT: i64 = 100;

/// The logo as the API shows it (the bytes are at `/settings/company/logo`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LogoView {
    pub content_type: String,
    pub byte_size: i64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// The company settings as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CompanySettings {
    #[serde(skip)]
    pub logo_key: Option<i64>,
    #[serde(skip)]
    pub receiving_tolerance_e1: i64,
    /// The stable id of the settings record (audit entries and events name it).
    #[schema(value_type = String)]
    pub id: PublicId,
    /// The name printed at the head of documents.
    pub legal_name: String,
    /// The postal address, one line per line.
    pub address: String,
    /// E.g. "VAT GB 123 4567 89", printed as given.
    pub tax_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub logo: Option<LogoView>,
    /// Percent of the ordered quantity a purchase-order line may be received
    /// and billed beyond what was ordered (one decimal; default "0.0").
    #[schema(example = "5.0")]
    pub receiving_tolerance_percent: String,
    /// 0 until the settings are first saved.
    pub version: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<OffsetDateTime>,
}

impl CompanySettings {
    /// The address as lines, blank lines left out.
    pub fn address_lines(&self) -> Vec<String> {
        self.address.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    }
}

/// What a save gives.
#[derive(Debug, Clone, Default)]
pub struct CompanyInput {
    pub legal_name: String,
    pub address: String,
    pub tax_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Percent, at most one decimal, 0 to 100.
    pub receiving_tolerance_percent: Decimal,
}

/// A tolerance in tenths of a percent as a percent with one decimal.
pub fn format_tolerance(e1: i64) -> String {
    format!("{:.1}", Decimal::new(e1, 1))
}

/// What may be received or billed beyond `ordered_e4` under a tolerance of
/// `tolerance_e1` tenths of a percent (rounded down to 1/10,000).
pub fn allowance(ordered_e4: i64, tolerance_e1: i64) -> i64 {
    if ordered_e4 <= 0 || tolerance_e1 <= 0 {
        return 0;
    }
    i64::try_from(i128::from(ordered_e4) * i128::from(tolerance_e1) / 1000).unwrap_or(i64::MAX)
}

const SELECT: &str = "SELECT c.public_id, c.legal_name, c.address, c.tax_id, c.email, c.phone, c.logo_file_id, \
    c.receiving_tolerance_e1, c.version, c.updated_at, f.content_type, f.byte_size, f.sha256 \
    FROM company_settings c LEFT JOIN stored_files f ON f.tenant_id = c.tenant_id AND f.id = c.logo_file_id \
    WHERE c.tenant_id = $1";

fn decode(r: &dyn DbRow) -> StoreResult<CompanySettings> {
    let logo = match r.opt_text("content_type")? {
        Some(content_type) => Some(LogoView {
            content_type,
            byte_size: r.opt_i64("byte_size")?.unwrap_or(0),
            sha256: r.opt_text("sha256")?.unwrap_or_default(),
        }),
        None => None,
    };
    let e1 = r.i64("receiving_tolerance_e1")?;
    Ok(CompanySettings {
        logo_key: r.opt_i64("logo_file_id")?,
        receiving_tolerance_e1: e1,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        legal_name: r.text("legal_name")?,
        address: r.text("address")?,
        tax_id: r.opt_text("tax_id")?,
        email: r.opt_text("email")?,
        phone: r.opt_text("phone")?,
        logo,
        receiving_tolerance_percent: format_tolerance(e1),
        version: r.i64("version")?,
        updated_at: Some(r.ts("updated_at")?),
    })
}

/// The settings, or the defaults (the tenant's name) before the first save.
pub async fn get(tx: &mut Tx, tenant_id: i64) -> StoreResult<CompanySettings> {
    if let Some(s) = tx.fetch_optional(SELECT, args![tenant_id], decode).await? {
        return Ok(s);
    }
    let name = tx
        .fetch_optional("SELECT name FROM tenants WHERE id = $1", args![tenant_id], |r| r.text("name"))
        .await?
        .unwrap_or_default();
    Ok(CompanySettings {
        logo_key: None,
        receiving_tolerance_e1: 0,
        id: PublicId::from_uuid(uuid::Uuid::nil()),
        legal_name: name,
        address: String::new(),
        tax_id: None,
        email: None,
        phone: None,
        logo: None,
        receiving_tolerance_percent: format_tolerance(0),
        version: 0,
        updated_at: None,
    })
}

/// The receiving tolerance in tenths of a percent (0 before the first save).
pub async fn receiving_tolerance_e1(tx: &mut Tx, tenant_id: i64) -> StoreResult<i64> {
    Ok(tx
        .fetch_optional(
            "SELECT receiving_tolerance_e1 FROM company_settings WHERE tenant_id = $1",
            args![tenant_id],
            |r| r.i64("receiving_tolerance_e1"),
        )
        .await?
        .unwrap_or(0))
}

/// The logo with its bytes, if there is one.
pub async fn logo(tx: &mut Tx, tenant_id: i64) -> StoreResult<Option<(StoredFile, Vec<u8>)>> {
    match get(tx, tenant_id).await?.logo_key {
        Some(k) => files::get(tx, tenant_id, k).await,
        None => Ok(None),
    }
}

fn optional(v: &mut Validator, field: &str, s: &Option<String>, max: usize) -> Option<String> {
    let t = s.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    if t.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    Some(t.to_string())
}

/// Checks a save: a name, short texts, a valid email, the tolerance in range.
fn checked(input: &CompanyInput) -> Result<(CompanyInput, i64), DomainError> {
    let mut v = Validator::new();
    let legal_name = nave_domain::catalog::check_text(&mut v, "legal_name", &input.legal_name, 1, 200);
    let address = nave_domain::catalog::check_text(&mut v, "address", &input.address, 0, 1000);
    let tax_id = optional(&mut v, "tax_id", &input.tax_id, 64);
    let email = optional(&mut v, "email", &input.email, 254);
    if let Some(e) = &email
        && let Err(err) = nave_domain::email::Email::parse(e)
    {
        v.add("email", err.to_string());
    }
    let phone = optional(&mut v, "phone", &input.phone, 50);
    let pct = input.receiving_tolerance_percent;
    let e1 = pct * Decimal::from(10);
    let max = Decimal::from(MAX_TOLERANCE_PERCENT);
    if pct.is_sign_negative() || pct > max || !e1.fract().is_zero() {
        v.add(
            "receiving_tolerance_percent",
            format!("must be between 0 and {MAX_TOLERANCE_PERCENT} with at most one decimal, like 5.0"),
        );
    }
    v.finish()?;
    let e1 = rust_decimal::prelude::ToPrimitive::to_i64(&e1).unwrap_or(0);
    Ok((
        CompanyInput {
            legal_name,
            address,
            tax_id,
            email,
            phone,
            receiving_tolerance_percent: input.receiving_tolerance_percent,
        },
        e1,
    ))
}

/// Saves the settings (the first save makes the row); `if_version` is the
/// version the caller saw (0 before the first save).
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    if_version: Option<i64>,
    input: CompanyInput,
) -> StoreResult<CompanySettings> {
    let t = actor.tenant_id;
    let (c, e1) = checked(&input)?;
    let before = get(tx, t).await?;
    crate::expect_version("company settings", before.version, if_version)?;
    if before.version == 0 {
        tx.execute(
            "INSERT INTO company_settings (tenant_id, public_id, legal_name, address, tax_id, email, phone, \
             logo_file_id, receiving_tolerance_e1, version, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, 1, $9, $10)",
            args![t, PublicId::new(), c.legal_name, c.address, c.tax_id, c.email, c.phone, e1, now(), actor.user_id],
        )
        .await?;
    } else {
        let n = tx
            .execute(
                "UPDATE company_settings SET legal_name = $3, address = $4, tax_id = $5, email = $6, phone = $7, \
                 receiving_tolerance_e1 = $8, version = version + 1, updated_at = $9, updated_by = $10 \
                 WHERE tenant_id = $1 AND version = $2",
                args![t, before.version, c.legal_name, c.address, c.tax_id, c.email, c.phone, e1, now(), actor.user_id],
            )
            .await?;
        if n == 0 {
            return Err(DomainError::VersionMismatch { record: "company settings", current: before.version }.into());
        }
    }
    let after = get(tx, t).await?;
    if before.version == 0 {
        audit::created(tx, actor, RecordType::CompanySettings, after.id, &after).await?;
    } else {
        audit::updated(tx, actor, RecordType::CompanySettings, after.id, after.version, &before, &after).await?;
    }
    Ok(after)
}

/// Replaces (or, with `None`, removes) the logo. The caller has checked that
/// the bytes are an image of `content_type`. The settings must exist (a
/// first save names the company).
pub async fn set_logo(
    tx: &mut Tx,
    actor: &Actor,
    if_version: Option<i64>,
    logo: Option<(&str, &[u8])>,
) -> StoreResult<CompanySettings> {
    let t = actor.tenant_id;
    let before = get(tx, t).await?;
    if before.version == 0 {
        return Err(
            DomainError::invalid("legal_name", "is required: save the company's details before its logo").into()
        );
    }
    crate::expect_version("company settings", before.version, if_version)?;
    let new_key = match logo {
        Some((content_type, data)) => Some(files::insert(tx, t, actor.user_id, content_type, data).await?),
        None => None,
    };
    let n = tx
        .execute(
            "UPDATE company_settings SET logo_file_id = $3, version = version + 1, updated_at = $4, updated_by = $5 \
             WHERE tenant_id = $1 AND version = $2",
            args![t, before.version, new_key, now(), actor.user_id],
        )
        .await?;
    if n == 0 {
        return Err(DomainError::VersionMismatch { record: "company settings", current: before.version }.into());
    }
    if let Some(old) = before.logo_key {
        files::delete(tx, t, &[old]).await?;
    }
    let after = get(tx, t).await?;
    audit::updated(tx, actor, RecordType::CompanySettings, after.id, after.version, &before, &after).await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_is_the_tolerance_share_of_the_ordered_quantity_rounded_down() {
        // 10 ordered at 5.0 %: 0.5 more.
        assert_eq!(allowance(100_000, 50), 5_000);
        assert_eq!(allowance(100_000, 0), 0);
        // 3 ordered at 2.5 %: 0.075.
        assert_eq!(allowance(30_000, 25), 750);
        assert_eq!(allowance(1, 1), 0);
        assert_eq!(format_tolerance(50), "5.0");
        assert_eq!(format_tolerance(0), "0.0");
    }

    #[test]
    fn a_tolerance_outside_0_to_100_or_with_two_decimals_is_refused_naming_the_field() {
        let ok = |p: &str| {
            checked(&CompanyInput {
                legal_name: "X".into(),
                receiving_tolerance_percent: p.parse().unwrap(),
                ..Default::default()
            })
        };
        assert_eq!(ok("5").unwrap().1, 50);
        assert_eq!(ok("2.5").unwrap().1, 25);
        assert_eq!(ok("100").unwrap().1, 1000);
        for bad in ["-1", "100.1", "2.55"] {
            let e = ok(bad).unwrap_err();
            assert!(format!("{e:?}").contains("receiving_tolerance_percent"), "{bad}: {e:?}");
        }
    }
}
