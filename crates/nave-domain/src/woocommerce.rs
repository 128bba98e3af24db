//! WooCommerce orders as the intake reads them, and how one becomes the
//! content of an invoice that reproduces the shop's totals to the cent
//! (ADR 0015).
//!
//! WooCommerce's REST (v3) order gives each line's `subtotal` (before
//! coupons) and `total` (after coupons), both without tax, and each line's
//! tax per rate. The invoice takes:
//!
//! - a product line per item: its quantity, a unit price of `subtotal ÷
//!   quantity` rounded *up* at 4 decimals (so quantity × price rounds back to
//!   at least the subtotal), and a fixed discount of that amount − `total`
//!   (the coupons' share of the line): the line's net is the shop's `total`
//!   exactly;
//! - a shipping line per shipping method and a text line per fee, at their
//!   totals (a negative fee is refused: it is not a charge);
//! - a comment per coupon, since coupons are already in the lines;
//! - on every line the Nave taxes the connection maps the line's shop rates
//!   to.
//!
//! Taxes are then computed by the one pricing engine. WooCommerce rounds tax
//! per line by default and at the subtotal when the shop says so, so
//! [`choose_rounding`] prices the content both ways and takes the first
//! whose total, total tax and per-tax amounts equal the shop's; when neither
//! does, nothing is stored and the reason says both results.

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::money::{Currency, Money, format_minor};
use crate::pricing::{self, DocumentInput, GroupInput, LineInput, LineKind, PricedDocument, TaxRate, TaxRounding};

/// A field the shop sends as a string, a number or null, read as text.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    })
}

/// Billing or shipping details of an order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Party {
    #[serde(deserialize_with = "text")]
    pub first_name: String,
    #[serde(deserialize_with = "text")]
    pub last_name: String,
    #[serde(deserialize_with = "text")]
    pub company: String,
    #[serde(deserialize_with = "text")]
    pub address_1: String,
    #[serde(deserialize_with = "text")]
    pub address_2: String,
    #[serde(deserialize_with = "text")]
    pub city: String,
    #[serde(deserialize_with = "text")]
    pub state: String,
    #[serde(deserialize_with = "text")]
    pub postcode: String,
    #[serde(deserialize_with = "text")]
    pub country: String,
    #[serde(deserialize_with = "text")]
    pub email: String,
    #[serde(deserialize_with = "text")]
    pub phone: String,
}

/// One rate's share of a line's tax.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LineTax {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(deserialize_with = "text")]
    pub total: String,
    #[serde(deserialize_with = "text")]
    pub subtotal: String,
}

/// A product line.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Item {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub sku: String,
    #[serde(deserialize_with = "text")]
    pub product_id: String,
    #[serde(deserialize_with = "text")]
    pub variation_id: String,
    #[serde(deserialize_with = "text")]
    pub quantity: String,
    #[serde(deserialize_with = "text")]
    pub subtotal: String,
    #[serde(deserialize_with = "text")]
    pub subtotal_tax: String,
    #[serde(deserialize_with = "text")]
    pub total: String,
    #[serde(deserialize_with = "text")]
    pub total_tax: String,
    pub taxes: Vec<LineTax>,
}

/// A shipping line or a fee.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Charge {
    /// Shipping lines.
    #[serde(deserialize_with = "text")]
    pub method_title: String,
    /// Fees.
    #[serde(deserialize_with = "text")]
    pub name: String,
    #[serde(deserialize_with = "text")]
    pub total: String,
    #[serde(deserialize_with = "text")]
    pub total_tax: String,
    pub taxes: Vec<LineTax>,
}

/// A coupon used on the order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Coupon {
    #[serde(deserialize_with = "text")]
    pub code: String,
    #[serde(deserialize_with = "text")]
    pub discount: String,
    #[serde(deserialize_with = "text")]
    pub discount_tax: String,
}

/// One tax rate's total on the order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaxTotal {
    #[serde(deserialize_with = "text")]
    pub rate_id: String,
    #[serde(deserialize_with = "text")]
    pub rate_code: String,
    #[serde(deserialize_with = "text")]
    pub label: String,
    #[serde(deserialize_with = "text")]
    pub rate_percent: String,
    #[serde(deserialize_with = "text")]
    pub tax_total: String,
    #[serde(deserialize_with = "text")]
    pub shipping_tax_total: String,
}

/// A refund of the order (its `total` is negative).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Refund {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(deserialize_with = "text")]
    pub total: String,
    #[serde(deserialize_with = "text")]
    pub reason: String,
}

/// A WooCommerce order (REST v3), with the fields the intake reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Order {
    #[serde(deserialize_with = "text")]
    pub id: String,
    #[serde(deserialize_with = "text")]
    pub number: String,
    #[serde(deserialize_with = "text")]
    pub status: String,
    #[serde(deserialize_with = "text")]
    pub currency: String,
    pub date_created: Option<String>,
    pub date_created_gmt: Option<String>,
    pub date_modified: Option<String>,
    pub date_modified_gmt: Option<String>,
    pub date_paid: Option<String>,
    pub date_paid_gmt: Option<String>,
    pub prices_include_tax: bool,
    #[serde(deserialize_with = "text")]
    pub customer_id: String,
    pub billing: Party,
    pub shipping: Party,
    pub line_items: Vec<Item>,
    pub shipping_lines: Vec<Charge>,
    pub fee_lines: Vec<Charge>,
    pub coupon_lines: Vec<Coupon>,
    pub tax_lines: Vec<TaxTotal>,
    pub refunds: Vec<Refund>,
    #[serde(deserialize_with = "text")]
    pub total: String,
    #[serde(deserialize_with = "text")]
    pub total_tax: String,
    #[serde(deserialize_with = "text")]
    pub discount_total: String,
    #[serde(deserialize_with = "text")]
    pub shipping_total: String,
    #[serde(deserialize_with = "text")]
    pub payment_method: String,
    #[serde(deserialize_with = "text")]
    pub transaction_id: String,
}

/// Reads a WooCommerce date: the `_gmt` twin when there is one (WooCommerce
/// writes dates without a zone: the plain one is the shop's local time),
/// else the plain one as UTC. A date with a zone is read as written.
pub fn date(local: Option<&str>, gmt: Option<&str>) -> Option<OffsetDateTime> {
    let parse = |s: &str| -> Option<OffsetDateTime> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Some(t);
        }
        let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let s = s.split('.').next().unwrap_or(s);
        PrimitiveDateTime::parse(s, &f).ok().map(PrimitiveDateTime::assume_utc)
    };
    gmt.and_then(parse).or_else(|| local.and_then(parse))
}

impl Order {
    pub fn created_at(&self) -> Option<OffsetDateTime> {
        date(self.date_created.as_deref(), self.date_created_gmt.as_deref())
    }

    pub fn modified_at(&self) -> Option<OffsetDateTime> {
        date(self.date_modified.as_deref(), self.date_modified_gmt.as_deref())
    }

    pub fn paid_at(&self) -> Option<OffsetDateTime> {
        date(self.date_paid.as_deref(), self.date_paid_gmt.as_deref())
    }

    /// The shop's customer id, when the buyer has an account there (0 is a guest).
    pub fn customer(&self) -> Option<&str> {
        let c = self.customer_id.trim();
        (!c.is_empty() && c != "0").then_some(c)
    }

    /// Is the order invoiced: taken (processing, on hold), done, or refunded?
    pub fn wants_invoice(&self) -> bool {
        matches!(self.status.as_str(), "processing" | "on-hold" | "completed" | "refunded")
    }

    /// Has the buyer paid: a payment date, or a status only paid orders reach.
    pub fn is_paid(&self) -> bool {
        self.paid_at().is_some() || matches!(self.status.as_str(), "processing" | "completed" | "refunded")
    }

    /// Is the order off: cancelled, failed or in the bin? Its unpaid invoice is voided.
    pub fn is_off(&self) -> bool {
        matches!(self.status.as_str(), "cancelled" | "failed" | "trash")
    }
}

/// The Nave payment method of a WooCommerce payment gateway.
pub fn payment_method(gateway: &str) -> &'static str {
    let g = gateway.to_ascii_lowercase();
    match g.as_str() {
        "bacs" => "bank_transfer",
        "cheque" => "cheque",
        "cod" => "cash",
        _ if ["stripe", "paypal", "ppcp", "square", "woocommerce_payments", "braintree", "card"]
            .iter()
            .any(|p| g.starts_with(p)) =>
        {
            "card"
        }
        _ => "other",
    }
}

/// An amount the shop sent, in minor units of `c`; `what` names it in the refusal.
pub fn amount(s: &str, c: Currency, what: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0);
    }
    let d = Decimal::from_str_exact(s).map_err(|_| format!("{what} \"{s}\" is not a number"))?;
    Money::from_decimal_exact(d.normalize(), c)
        .map(|m| m.minor())
        .map_err(|_| format!("{what} {s} has more decimals than {} has", c.code()))
}

fn minor_decimal(m: i64, c: Currency) -> Decimal {
    Decimal::new(m, c.minor_units())
}

/// One line of the invoice to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLine {
    pub kind: LineKind,
    /// Product lines: the shop's product (or variation) id and SKU.
    pub woo_product_id: Option<String>,
    pub sku: Option<String>,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub discount_amount: Decimal,
    /// The shop's tax rate ids on the line.
    pub rates: Vec<String>,
}

/// The invoice content an order gives, with the shop's totals to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub currency: Currency,
    pub lines: Vec<PlannedLine>,
    /// The shop's total and total tax, in minor units.
    pub total_minor: i64,
    pub tax_minor: i64,
    /// The shop's tax per rate id (items, fees and shipping).
    pub rate_totals: Vec<(String, i64)>,
}

fn rates_of(taxes: &[LineTax]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in taxes {
        let id = t.id.trim();
        if !id.is_empty() && !t.total.trim().is_empty() && !out.iter().any(|o| o == id) {
            out.push(id.to_string());
        }
    }
    out
}

/// The invoice content of `order`, or why it cannot be made.
pub fn plan(order: &Order) -> Result<Plan, String> {
    let currency =
        Currency::parse(order.currency.trim()).map_err(|_| format!("currency \"{}\" is not known", order.currency))?;
    let dp = currency.minor_units();
    let mut lines = Vec::new();
    for (i, it) in order.line_items.iter().enumerate() {
        let what = format!("line_items[{i}]");
        let qty = Decimal::from_str_exact(it.quantity.trim())
            .map_err(|_| format!("{what}.quantity \"{}\" is not a number", it.quantity))?
            .normalize();
        let subtotal = amount(&it.subtotal, currency, &format!("{what}.subtotal"))?;
        let total = amount(&it.total, currency, &format!("{what}.total"))?;
        if qty <= Decimal::ZERO {
            if total == 0 {
                continue;
            }
            return Err(format!("{what} has quantity {qty} but a total"));
        }
        if qty.scale() > 4 {
            return Err(format!("{what}.quantity {qty} has more than 4 decimals"));
        }
        if total < 0 || subtotal < 0 {
            return Err(format!("{what} has a negative amount"));
        }
        if total > subtotal {
            return Err(format!("{what}: total {} is above subtotal {}", it.total, it.subtotal));
        }
        let unit_price = (minor_decimal(subtotal, currency) / qty)
            .round_dp_with_strategy(4, RoundingStrategy::ToPositiveInfinity)
            .normalize();
        let gross = (qty * unit_price).round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero);
        let discount = gross - minor_decimal(total, currency);
        let product = [it.variation_id.trim(), it.product_id.trim()]
            .into_iter()
            .find(|p| !p.is_empty() && *p != "0")
            .map(str::to_string);
        let sku = Some(it.sku.trim().to_string()).filter(|s| !s.is_empty());
        let name = if it.name.trim().is_empty() { format!("Item {}", i + 1) } else { it.name.trim().to_string() };
        let kind = if product.is_some() || sku.is_some() { LineKind::Product } else { LineKind::Text };
        lines.push(PlannedLine {
            kind,
            woo_product_id: product,
            sku,
            description: name,
            quantity: qty,
            unit_price,
            discount_amount: discount.normalize(),
            rates: rates_of(&it.taxes),
        });
    }
    for (i, f) in order.fee_lines.iter().enumerate() {
        let total = amount(&f.total, currency, &format!("fee_lines[{i}].total"))?;
        if total < 0 {
            return Err(format!(
                "fee_lines[{i}] ({}) is negative: a discount given as a fee is not a charge Nave can invoice",
                f.name
            ));
        }
        lines.push(PlannedLine {
            kind: LineKind::Text,
            woo_product_id: None,
            sku: None,
            description: if f.name.trim().is_empty() { "Fee".into() } else { f.name.trim().to_string() },
            quantity: Decimal::ONE,
            unit_price: minor_decimal(total, currency),
            discount_amount: Decimal::ZERO,
            rates: rates_of(&f.taxes),
        });
    }
    for (i, s) in order.shipping_lines.iter().enumerate() {
        let total = amount(&s.total, currency, &format!("shipping_lines[{i}].total"))?;
        if total < 0 {
            return Err(format!("shipping_lines[{i}] is negative"));
        }
        lines.push(PlannedLine {
            kind: LineKind::Shipping,
            woo_product_id: None,
            sku: None,
            description: if s.method_title.trim().is_empty() {
                "Shipping".into()
            } else {
                s.method_title.trim().to_string()
            },
            quantity: Decimal::ONE,
            unit_price: minor_decimal(total, currency),
            discount_amount: Decimal::ZERO,
            rates: rates_of(&s.taxes),
        });
    }
    for c in &order.coupon_lines {
        let d = amount(&c.discount, currency, "coupon_lines.discount")?;
        lines.push(PlannedLine {
            kind: LineKind::Comment,
            woo_product_id: None,
            sku: None,
            description: format!("Coupon {}: −{} {}", c.code.trim(), format_minor(d, currency), currency.code()),
            quantity: Decimal::ZERO,
            unit_price: Decimal::ZERO,
            discount_amount: Decimal::ZERO,
            rates: vec![],
        });
    }
    if !lines.iter().any(|l| l.kind != LineKind::Comment) {
        return Err("the order has no lines to invoice".into());
    }
    let mut rate_totals: Vec<(String, i64)> = Vec::new();
    for t in &order.tax_lines {
        let a = amount(&t.tax_total, currency, "tax_lines.tax_total")?
            + amount(&t.shipping_tax_total, currency, "tax_lines.shipping_tax_total")?;
        match rate_totals.iter_mut().find(|(id, _)| *id == t.rate_id) {
            Some((_, sum)) => *sum += a,
            None => rate_totals.push((t.rate_id.clone(), a)),
        }
    }
    Ok(Plan {
        currency,
        lines,
        total_minor: amount(&order.total, currency, "total")?,
        tax_minor: amount(&order.total_tax, currency, "total_tax")?,
        rate_totals,
    })
}

/// The Nave tax a shop rate maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappedTax {
    /// The Nave tax's id (what the pricing engine itemizes by).
    pub tax_id: String,
    pub name: String,
    pub rate_percent: Decimal,
}

/// The pricing engine's input for a plan, with `rates` giving each shop rate id's Nave tax.
pub fn engine_input(plan: &Plan, rates: &HashMap<String, MappedTax>, rounding: TaxRounding) -> DocumentInput {
    let lines = plan
        .lines
        .iter()
        .map(|l| {
            let mut taxes: Vec<TaxRate> = Vec::new();
            for r in &l.rates {
                if let Some(m) = rates.get(r)
                    && !taxes.iter().any(|t| t.id == m.tax_id)
                {
                    taxes.push(TaxRate { id: m.tax_id.clone(), name: m.name.clone(), rate_percent: m.rate_percent });
                }
            }
            LineInput {
                kind: l.kind,
                quantity: l.quantity,
                unit_price: l.unit_price,
                discount_percent: Decimal::ZERO,
                discount_amount: l.discount_amount,
                taxes,
            }
        })
        .collect();
    DocumentInput {
        currency: plan.currency,
        prices_include_tax: false,
        tax_rounding: rounding,
        groups: vec![GroupInput { discount_percent: Decimal::ZERO, lines }],
    }
}

fn matches_shop(plan: &Plan, rates: &HashMap<String, MappedTax>, priced: &PricedDocument) -> bool {
    if priced.totals.total.minor() != plan.total_minor || priced.totals.tax.minor() != plan.tax_minor {
        return false;
    }
    // Per Nave tax: the shop's amounts of the rates mapped to it.
    let mut shop: HashMap<&str, i64> = HashMap::new();
    for (rate, a) in &plan.rate_totals {
        if let Some(m) = rates.get(rate) {
            *shop.entry(m.tax_id.as_str()).or_default() += a;
        }
    }
    priced.totals.taxes.iter().all(|t| shop.get(t.tax_id.as_str()).copied().unwrap_or(0) == t.amount.minor())
        && shop.iter().all(|(id, a)| *a == 0 || priced.totals.taxes.iter().any(|t| t.tax_id == *id))
}

/// The tax rounding with which the engine gives the shop's totals: per line
/// (WooCommerce's default) or per document; or why neither does.
pub fn choose_rounding(plan: &Plan, rates: &HashMap<String, MappedTax>) -> Result<TaxRounding, String> {
    let c = plan.currency;
    let mut tried = Vec::new();
    for rounding in [TaxRounding::Line, TaxRounding::Document] {
        let priced = pricing::price(&engine_input(plan, rates, rounding)).map_err(|e| e.to_string())?;
        if matches_shop(plan, rates, &priced) {
            return Ok(rounding);
        }
        let per: Vec<String> =
            priced.totals.taxes.iter().map(|t| format!("{} {}", t.name, format_minor(t.amount.minor(), c))).collect();
        tried.push(format!(
            "{} (tax {}{}) with tax rounded per {}",
            format_minor(priced.totals.total.minor(), c),
            format_minor(priced.totals.tax.minor(), c),
            if per.is_empty() { String::new() } else { format!(": {}", per.join(", ")) },
            if rounding == TaxRounding::Line { "line" } else { "document" }
        ));
    }
    Err(format!(
        "the shop's total is {} {} (tax {}) but the invoice would be {}: check the tax mapping; nothing was stored",
        format_minor(plan.total_minor, c),
        c.code(),
        format_minor(plan.tax_minor, c),
        tried.join(", or ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order(v: Value) -> Order {
        serde_json::from_value(v).unwrap()
    }

    fn vat(rate: &str) -> HashMap<String, MappedTax> {
        HashMap::from([(
            "1".to_string(),
            MappedTax { tax_id: "vat".into(), name: "VAT".into(), rate_percent: rate.parse().unwrap() },
        )])
    }

    #[test]
    fn dates_without_a_zone_are_read_from_their_gmt_twins() {
        let t = date(Some("2026-03-01T12:00:00"), Some("2026-03-01T10:00:00")).unwrap();
        assert_eq!(t, time::macros::datetime!(2026-03-01 10:00 UTC));
        assert_eq!(date(Some("2026-03-01T12:00:00"), None).unwrap(), time::macros::datetime!(2026-03-01 12:00 UTC));
        assert_eq!(date(None, Some("")), None);
    }

    #[test]
    fn a_coupon_becomes_each_lines_discount_and_the_line_net_is_the_shops_total() {
        let o = order(json!({
            "currency": "EUR", "total": "35.70", "total_tax": "5.70",
            "line_items": [{"id": 1, "sku": "A", "product_id": 5, "name": "Mug", "quantity": 3,
                "subtotal": "30.00", "total": "27.00", "total_tax": "5.13", "taxes": [{"id": 1, "total": "5.13", "subtotal": "5.70"}]},
                {"id": 2, "sku": "B", "product_id": 6, "name": "Pen", "quantity": 3,
                "subtotal": "10.00", "total": "3.00", "total_tax": "0.57", "taxes": [{"id": 1, "total": "0.57", "subtotal": "1.90"}]}],
            "coupon_lines": [{"code": "TEN", "discount": "10.00"}],
            "tax_lines": [{"rate_id": 1, "rate_code": "DE-VAT-1", "rate_percent": 19, "tax_total": "5.70", "shipping_tax_total": "0.00"}]
        }));
        let p = plan(&o).unwrap();
        assert_eq!(p.lines[0].unit_price, Decimal::from(10));
        assert_eq!(p.lines[0].discount_amount, Decimal::from(3));
        // 10.00 / 3 rounds up to 3.3334; 3 × 3.3334 = 10.0002 → 10.00; discount 7.00.
        assert_eq!(p.lines[1].unit_price.to_string(), "3.3334");
        assert_eq!(p.lines[1].discount_amount, Decimal::from(7));
        assert_eq!(p.lines[2].kind, LineKind::Comment);
        assert_eq!(choose_rounding(&p, &vat("19")), Ok(TaxRounding::Line));
    }

    #[test]
    fn a_tax_the_engine_cannot_reproduce_is_refused_with_both_results() {
        let o = order(json!({
            "currency": "USD", "total": "11.00", "total_tax": "1.00",
            "line_items": [{"sku": "A", "quantity": 1, "subtotal": "10.00", "total": "10.00",
                "taxes": [{"id": 1, "total": "1.00"}]}],
            "tax_lines": [{"rate_id": 1, "tax_total": "1.00"}]
        }));
        let err = choose_rounding(&plan(&o).unwrap(), &vat("20")).unwrap_err();
        assert!(err.contains("12.00 (tax 2.00") && err.contains("per document"), "{err}");
    }

    #[test]
    fn per_line_and_per_document_rounding_are_both_tried() {
        // Three lines of 0.05 at 10 %: per line 0.01 each (0.03); per document round(0.015) = 0.02.
        let line = json!({"sku": "A", "quantity": 1, "subtotal": "0.05", "total": "0.05", "taxes": [{"id": 1, "total": "0.01"}]});
        let o = |tax: &str, total: &str| {
            order(json!({"currency": "USD", "total": total, "total_tax": tax,
                "line_items": [line.clone(), line.clone(), line.clone()],
                "tax_lines": [{"rate_id": 1, "tax_total": tax}]}))
        };
        assert_eq!(choose_rounding(&plan(&o("0.03", "0.18")).unwrap(), &vat("10")), Ok(TaxRounding::Line));
        assert_eq!(choose_rounding(&plan(&o("0.02", "0.17")).unwrap(), &vat("10")), Ok(TaxRounding::Document));
    }

    #[test]
    fn negative_fees_and_unknown_currencies_are_refused() {
        let o = order(json!({"currency": "EUR", "fee_lines": [{"name": "Loyalty", "total": "-5.00"}]}));
        assert!(plan(&o).unwrap_err().contains("negative"));
        let o = order(json!({"currency": "XYZ"}));
        assert!(plan(&o).unwrap_err().contains("currency"));
    }

    #[test]
    fn gateways_map_to_payment_methods() {
        assert_eq!(payment_method("bacs"), "bank_transfer");
        assert_eq!(payment_method("stripe_cc"), "card");
        assert_eq!(payment_method("cod"), "cash");
        assert_eq!(payment_method("klarna"), "other");
    }
}
