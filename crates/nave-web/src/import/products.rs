//! Products from CSV, matched by SKU (case-insensitive): a known SKU updates
//! the product (empty cells keep its values), a new one creates it. A
//! product line (`category`) that does not exist yet is created.
//!
//! A user needs the permission to create products for new SKUs and to
//! update them for known ones, to create product lines for a new one, and
//! the capability that shows costs to write `cost`.

use nave_domain::access::{Action, Capability, RecordType};
use nave_domain::catalog::ProductKind;
use nave_domain::money::Currency;
use nave_store::catalog::{self, ProductInput};
use nave_store::{Tx, taxes};

use super::{Caller, ImportResult, Importer, Outcome, Row, RowResult, field_root, row_errors};

/// Imports products; counts the product lines it creates.
#[derive(Debug)]
pub struct Products {
    /// The company's currency, the default of prices.
    pub company: Currency,
    pub categories_created: usize,
}

fn column(field: &str) -> String {
    match field {
        "category_id" => "category".to_string(),
        "tax_category_id" => "tax_category".to_string(),
        "" => "sku".to_string(),
        f => field_root(f).to_string(),
    }
}

impl Importer for Products {
    const NOUN: &'static str = "product";
    const RECORD: RecordType = RecordType::Product;
    const COLUMNS: &'static [&'static str] = &[
        "sku",
        "name",
        "description",
        "kind",
        "unit",
        "category",
        "currency",
        "list_price",
        "cost",
        "tax_category",
        "weight_kg",
        "barcode",
        "notes",
        "active",
        "external_ids",
    ];
    const REQUIRED: &'static str = "sku";

    fn keys(&self, row: &Row) -> Vec<(&'static str, String, String)> {
        row.cell("sku").map(|s| ("sku", s.to_lowercase(), s.to_string())).into_iter().collect()
    }

    async fn import(&mut self, tx: &mut Tx, caller: &Caller, row: &Row) -> ImportResult<RowResult> {
        let actor = &caller.actor;
        let Some(sku) = row.cell("sku") else { return Ok(row.refuse("sku", "is required")) };
        let existing = catalog::get_product_by_sku(tx, actor.tenant_id, sku).await?;
        let e = existing.as_ref();
        let action = if e.is_some() { Action::Update } else { Action::Create };
        if !caller.may_any(RecordType::Product, action) {
            let what = if e.is_some() { "change products" } else { "create products" };
            return Ok(row.refuse("sku", format!("your role may not {what}")));
        }
        if row.cell("cost").is_some() && !caller.has(Capability::ViewCost) {
            return Ok(Err(Caller::field_refused(row, "cost")));
        }
        let kind = match row.cell("kind") {
            Some(k) => match ProductKind::parse(&k.to_ascii_lowercase()) {
                Some(k) => k,
                None => return Ok(row.refuse("kind", "must be goods, service or kit")),
            },
            None => e.map_or(ProductKind::Goods, |p| p.kind),
        };
        if kind == ProductKind::Kit && e.is_none_or(|p| p.kind != ProductKind::Kit) {
            return Ok(row.refuse("kind", "kits need their components; create them through the API or the page"));
        }
        let currency = match row.cell("currency") {
            Some(c) => match Currency::parse(&c.to_ascii_uppercase()) {
                Ok(c) => c,
                Err(err) => return Ok(row.refuse("currency", err.to_string())),
            },
            None => e.map_or(self.company, |p| p.currency),
        };
        let active = match row.flag("active") {
            Ok(a) => a.unwrap_or_else(|| e.is_none_or(|p| p.active)),
            Err(errs) => return Ok(Err(errs)),
        };
        let external_ids = match row.external_ids() {
            Ok(ids) => ids,
            Err(errs) => return Ok(Err(errs)),
        };
        let mut new_category = false;
        let category_id = match row.cell("category") {
            Some(name) => match catalog::get_category_by_name(tx, actor.tenant_id, name).await? {
                Some(c) => Some(c.id),
                None if !caller.may_any(RecordType::ProductCategory, Action::Create) => {
                    let reason = format!("there is no product line named {name}, and your role may not create one");
                    return Ok(row.refuse("category", reason));
                }
                None => match catalog::create_category(tx, actor, name, None).await {
                    Ok(c) => {
                        new_category = true;
                        Some(c.id)
                    }
                    Err(err) => return Ok(Err(row_errors(row, err, |_| "category".to_string())?)),
                },
            },
            None => e.and_then(|p| p.category_id),
        };
        let tax_category_id = match row.cell("tax_category") {
            Some(name) => match taxes::get_category_by_name(tx, actor.tenant_id, name).await? {
                Some(c) => Some(c.id),
                None => return Ok(row.refuse("tax_category", format!("there is no tax category named {name}"))),
            },
            None => e.and_then(|p| p.tax_category_id),
        };
        let text = |col: &str, old: Option<&String>, default: &str| {
            row.cell(col).map(str::to_string).or_else(|| old.cloned()).unwrap_or_else(|| default.to_string())
        };
        let Some(name) = row.cell("name").map(str::to_string).or_else(|| e.map(|p| p.name.clone())) else {
            return Ok(row.refuse("name", "is required"));
        };
        let input = ProductInput {
            sku: sku.to_string(),
            name,
            description: text("description", e.map(|p| &p.description), ""),
            kind,
            unit: text("unit", e.map(|p| &p.unit), "pc"),
            category_id,
            currency,
            list_price: text("list_price", e.map(|p| &p.list_price), "0"),
            cost: text("cost", e.map(|p| &p.cost), "0"),
            tax_category_id,
            weight_kg: row.cell("weight_kg").map(str::to_string).or_else(|| e.and_then(|p| p.weight_kg.clone())),
            barcode: row.cell("barcode").map(str::to_string).or_else(|| e.and_then(|p| p.barcode.clone())),
            notes: text("notes", e.map(|p| &p.notes), ""),
            active,
            components: None,
            suppliers: None,
            external_ids,
        };
        let r = match &existing {
            Some(before) => catalog::update_product(tx, actor, before, None, input)
                .await
                .map(|after| Outcome::of_update(before, &after)),
            None => catalog::create_product(tx, actor, input).await.map(|_| Outcome::Created),
        };
        match r {
            Ok(outcome) => {
                self.categories_created += usize::from(new_category);
                Ok(Ok(outcome))
            }
            Err(err) => Ok(Err(row_errors(row, err, column)?)),
        }
    }

    fn extra(&self) -> String {
        format!(", {} new product line(s)", self.categories_created)
    }
}
