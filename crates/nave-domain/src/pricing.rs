//! The pricing engine: one function, [`price`], that turns the lines of any
//! commercial document (quote, sales order, invoice, credit note, purchase
//! order, bill) into line amounts, itemized taxes and totals.
//!
//! The API, the UI, PDFs and reports all call this function, so a document
//! shows the same numbers everywhere. It is pure: no I/O, no clock, no
//! floating point.
//!
//! Rules (DOMAIN.md "Pricing a commercial document"), in the order applied:
//!
//! 1. **Line net** = round(quantity × unit price × (1 − discount %)) − discount
//!    amount, rounded to the currency's minor unit, half away from zero.
//! 2. **Group net** = Σ line nets − round(group discount % × Σ nets of the
//!    group's non-shipping lines). The group discount is spread over those
//!    lines pro rata to their nets by the largest remainder method, so each
//!    line has a known taxable base and the bases add up exactly.
//! 3. **Shipping** lines are charges: never reduced by the group discount,
//!    taxed only by the taxes they carry, reported apart in
//!    [`Totals::shipping`].
//! 4. **Tax**, per tax (grouped by tax id): base = Σ taxable bases of the lines
//!    that carry it; amount = round(base × rate) with [`TaxRounding::Document`]
//!    (the default) or Σ of per-line rounded amounts with [`TaxRounding::Line`].
//!    With tax-inclusive prices each line's discounted amount is split into
//!    net + taxes that add up to it exactly (see [`DocumentInput::prices_include_tax`]).
//! 5. **Totals**: subtotal, discount, net, shipping, taxes itemized per tax,
//!    tax and total, with Σ itemized amounts = tax and total = net + shipping
//!    + tax, exactly.
//!
//! Rules this module decides where DOMAIN.md is silent are written on the
//! types below; each is covered by a test.
//!
//! Internally every amount is an integer count of minor units, and quantities,
//! prices and percentages are integers scaled by 10⁴: the arithmetic is exact
//! at every magnitude and an amount too large to represent is refused, never
//! rounded. (`Decimal` multiplication silently drops digits past 28 places.)

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{DomainError, Validator};
use crate::money::{Currency, Money};

/// Decimal places allowed in quantities, unit prices, discount percentages and tax rates.
pub const INPUT_DECIMALS: u32 = 4;

/// 10⁴: the scale of quantities, prices and percentages inside the engine.
const SCALE: i128 = 10_000;
/// 100 % at [`SCALE`]: a percentage `p` is the fraction `p × SCALE / HUNDRED_PERCENT`.
const HUNDRED_PERCENT: i128 = 100 * SCALE;

/// How tax amounts are rounded when prices exclude tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxRounding {
    /// Per tax, round(Σ bases × rate) once for the whole document (the default).
    /// Each line's share of that amount is then assigned pro rata to the line
    /// bases by the largest remainder method, so line taxes add up to it.
    #[default]
    Document,
    /// Each line's tax is rounded on its own; the document amount is their sum.
    Line,
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A product or service from the catalogue.
    Product,
    /// A free-text line, priced exactly like a product line.
    Text,
    /// A comment between lines: it carries no amounts. A non-zero unit price or
    /// discount amount, or any tax, on a comment is refused rather than dropped;
    /// its quantity and discount percent have no effect.
    Comment,
    /// A shipping or handling charge: discounted only by its own line
    /// discounts (never by the group discount), taxed only by the taxes it
    /// carries, and reported in [`Totals::shipping`], not in the net.
    Shipping,
}

/// One tax applied to a line. Every tax on a line applies to the same base
/// (no tax on tax). Lines refer to the same tax by the same `id`, and must then
/// give it the same name and rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    /// Identifies the tax; taxes are itemized per id.
    pub id: String,
    /// The label shown on documents, e.g. `VAT 20 %`.
    pub name: String,
    /// The rate in percent, 0 to 100, at most 4 decimal places (`8.875`).
    pub rate_percent: Decimal,
}

/// One line of a document, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineInput {
    pub kind: LineKind,
    /// At most 4 decimal places, not negative: a refund is a credit note with
    /// positive quantities, not a negative line.
    pub quantity: Decimal,
    /// Price of one unit in the document currency, at most 4 decimal places,
    /// not negative. Tax included when the document's prices include tax.
    pub unit_price: Decimal,
    /// Line discount in percent, 0 to 100, at most 4 decimal places.
    #[serde(default)]
    pub discount_percent: Decimal,
    /// A fixed amount off the line, taken after the percent discount. An amount
    /// of the document currency (no more decimals than it has), not negative,
    /// and not more than the line's amount after its percent discount.
    #[serde(default)]
    pub discount_amount: Decimal,
    /// The taxes of the line, each at most once.
    #[serde(default)]
    pub taxes: Vec<TaxRate>,
}

/// A group (section) of lines that can carry a discount of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInput {
    /// Discount on the group's non-shipping lines, in percent, 0 to 100, at most
    /// 4 decimal places.
    #[serde(default)]
    pub discount_percent: Decimal,
    pub lines: Vec<LineInput>,
}

/// A document to price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInput {
    /// Every amount, in and out, is in this currency.
    pub currency: Currency,
    /// Whether unit prices and discount amounts include tax (web-shop prices).
    ///
    /// When they do, each line's discounted amount (after line and group
    /// discounts) is split: net = round(amount / (1 + Σ rates)), each tax =
    /// round(net × rate), and any difference left by rounding goes on the
    /// largest tax (if it is negative and larger than that tax, the rest comes
    /// off the next largest), so net + taxes equals the amount exactly. Per-tax
    /// bases and amounts are then the sums of the lines' splits, whatever
    /// `tax_rounding` says.
    #[serde(default)]
    pub prices_include_tax: bool,
    #[serde(default)]
    pub tax_rounding: TaxRounding,
    pub groups: Vec<GroupInput>,
}

/// A priced line. `gross`, `discount` and `net` are in the terms prices were
/// entered in (tax included when prices include tax); `taxable_base` and
/// `taxes` always exclude tax.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedLine {
    /// round(quantity × unit price), before any discount.
    #[serde(serialize_with = "money_string")]
    pub gross: Money,
    /// The line's own discounts (percent and amount): `gross − net`.
    #[serde(serialize_with = "money_string")]
    pub discount: Money,
    /// Rule 1: the line amount after its own discounts, before the group discount.
    #[serde(serialize_with = "money_string")]
    pub net: Money,
    /// The amount taxes are computed on: the net less the line's share of the
    /// group discount, tax excluded.
    #[serde(serialize_with = "money_string")]
    pub taxable_base: Money,
    /// The line's amount of each of its taxes, as `(tax id, amount)`, in the
    /// order the line lists them. Per tax id, the lines' amounts add up exactly
    /// to the itemized [`TaxLine::amount`].
    #[serde(serialize_with = "line_taxes")]
    pub taxes: Vec<(String, Money)>,
}

/// A priced group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedGroup {
    /// Rule 2: Σ line nets − the group discount (shipping included, in the
    /// terms prices were entered in). Equals Σ of its lines' taxable bases, plus
    /// their taxes when prices include tax.
    #[serde(serialize_with = "money_string")]
    pub net: Money,
    pub lines: Vec<PricedLine>,
}

/// One tax, itemized on the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxLine {
    pub tax_id: String,
    pub name: String,
    /// The rate in percent, as given on the lines (`10` is 10 %).
    pub rate: Decimal,
    /// Σ taxable bases of the lines that carry this tax.
    #[serde(serialize_with = "money_string")]
    pub base: Money,
    #[serde(serialize_with = "money_string")]
    pub amount: Money,
}

/// The document's totals.
///
/// `subtotal` and `discount` are in the terms prices were entered in, so with
/// tax-exclusive prices `subtotal − discount = net`, and with tax-inclusive
/// prices `subtotal − discount` = net + the tax of the non-shipping lines.
/// `net`, `shipping`, `tax` and `total` always split the total exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Σ gross of the non-shipping lines, before any discount.
    #[serde(serialize_with = "money_string")]
    pub subtotal: Money,
    /// Line discounts of the non-shipping lines + group discounts. (A discount
    /// on a shipping line shows in `shipping` instead.)
    #[serde(serialize_with = "money_string")]
    pub discount: Money,
    /// Σ taxable bases of the non-shipping lines.
    #[serde(serialize_with = "money_string")]
    pub net: Money,
    /// Σ taxable bases of the shipping lines (their nets, tax excluded).
    #[serde(serialize_with = "money_string")]
    pub shipping: Money,
    /// One entry per tax id, in the order the taxes first appear on the lines.
    pub taxes: Vec<TaxLine>,
    /// Σ of the itemized tax amounts.
    #[serde(serialize_with = "money_string")]
    pub tax: Money,
    /// net + shipping + tax.
    #[serde(serialize_with = "money_string")]
    pub total: Money,
}

/// A priced document: every amount is in `currency`, and serialises as a decimal string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PricedDocument {
    pub currency: Currency,
    pub groups: Vec<PricedGroup>,
    pub totals: Totals,
}

/// Prices a document: validates every field (reporting all invalid fields at
/// once, by path, e.g. `groups[0].lines[2].quantity`), then applies the rules
/// of this module.
pub fn price(doc: &DocumentInput) -> Result<PricedDocument, DomainError> {
    let checked = check(doc)?;
    compute(doc, checked)
}

// ---------------------------------------------------------------------------
// Validation: every input becomes exact integers, or a field error.

/// A tax as the document knows it, at its first appearance.
struct Tax {
    id: String,
    name: String,
    rate: Decimal,
    /// The rate at [`SCALE`] (10 % is 100 000).
    rate_scaled: i128,
}

/// A line after validation: minor units and indices into the tax list.
struct CheckedLine {
    shipping: bool,
    gross: i128,
    net: i128,
    taxes: Vec<usize>,
}

struct CheckedGroup {
    discount_scaled: i128,
    lines: Vec<CheckedLine>,
}

struct Checked {
    taxes: Vec<Tax>,
    groups: Vec<CheckedGroup>,
}

fn check(doc: &DocumentInput) -> Result<Checked, DomainError> {
    let mut v = Validator::new();
    let currency = doc.currency;
    let minor_scale = 10i128.pow(currency.minor_units());
    let mut taxes: Vec<Tax> = Vec::new();
    let mut tax_index: HashMap<&str, usize> = HashMap::new();
    let mut groups = Vec::with_capacity(doc.groups.len());
    let mut document_gross: i128 = 0;

    for (g, group) in doc.groups.iter().enumerate() {
        let discount_scaled = percent(&mut v, &format!("groups[{g}].discount_percent"), group.discount_percent);
        let mut lines = Vec::with_capacity(group.lines.len());
        let mut group_gross: i128 = 0;
        for (l, line) in group.lines.iter().enumerate() {
            let path = format!("groups[{g}].lines[{l}]");
            let comment = line.kind == LineKind::Comment;
            let quantity = non_negative_scaled(&mut v, &format!("{path}.quantity"), line.quantity);
            let unit_price = non_negative_scaled(&mut v, &format!("{path}.unit_price"), line.unit_price);
            let discount = percent(&mut v, &format!("{path}.discount_percent"), line.discount_percent);
            let discount_amount = amount(&mut v, &format!("{path}.discount_amount"), line.discount_amount, currency);
            // Only a well-formed value earns the comment-specific message.
            if comment && unit_price.is_some_and(|p| p != 0) {
                v.add(format!("{path}.unit_price"), "must be 0 on a comment line");
            }
            if comment && discount_amount.is_some_and(|a| a != 0) {
                v.add(format!("{path}.discount_amount"), "must be 0 on a comment line");
            }
            if comment && !line.taxes.is_empty() {
                v.add(format!("{path}.taxes"), "must be empty on a comment line");
            }

            let mut line_taxes = Vec::with_capacity(line.taxes.len());
            for (t, tax) in line.taxes.iter().enumerate() {
                let tpath = format!("{path}.taxes[{t}]");
                if tax.id.trim().is_empty() {
                    v.add(format!("{tpath}.id"), "must not be empty");
                    continue;
                }
                let Some(rate_scaled) = percent(&mut v, &format!("{tpath}.rate_percent"), tax.rate_percent) else {
                    continue;
                };
                let index = match tax_index.get(tax.id.as_str()) {
                    Some(&i) => {
                        let known = &taxes[i];
                        if known.rate_scaled != rate_scaled {
                            v.add(
                                format!("{tpath}.rate_percent"),
                                format!("must be {} like tax \"{}\" on an earlier line", known.rate, known.id),
                            );
                        }
                        if known.name != tax.name {
                            v.add(
                                format!("{tpath}.name"),
                                format!("must be \"{}\" like tax \"{}\" on an earlier line", known.name, known.id),
                            );
                        }
                        i
                    }
                    None => {
                        tax_index.insert(tax.id.as_str(), taxes.len());
                        taxes.push(Tax {
                            id: tax.id.clone(),
                            name: tax.name.clone(),
                            rate: tax.rate_percent.normalize(),
                            rate_scaled,
                        });
                        taxes.len() - 1
                    }
                };
                if line_taxes.contains(&index) {
                    v.add(format!("{tpath}.id"), format!("tax \"{}\" is already on this line", tax.id));
                } else {
                    line_taxes.push(index);
                }
            }

            let (Some(quantity), Some(unit_price), Some(discount), Some(discount_amount)) =
                (quantity, unit_price, discount, discount_amount)
            else {
                continue;
            };
            if comment {
                lines.push(CheckedLine { shipping: false, gross: 0, net: 0, taxes: Vec::new() });
                continue;
            }
            // quantity × price is at SCALE², the percentage factor at HUNDRED_PERCENT.
            let extended = quantity.checked_mul(unit_price).and_then(|x| x.checked_mul(minor_scale));
            let gross = extended.map(|x| div_round(x, SCALE * SCALE));
            let after_percent = extended
                .and_then(|x| x.checked_mul(HUNDRED_PERCENT - discount))
                .map(|x| div_round(x, SCALE * SCALE * HUNDRED_PERCENT));
            let (Some(gross), Some(after_percent)) = (gross.filter(fits_i64), after_percent) else {
                v.add(path, "the line amount is too large");
                continue;
            };
            if discount_amount > after_percent {
                v.add(
                    format!("{path}.discount_amount"),
                    format!(
                        "must not be more than the line amount after its percent discount ({})",
                        minor_to_string(after_percent, currency)
                    ),
                );
                continue;
            }
            group_gross += gross;
            lines.push(CheckedLine {
                shipping: line.kind == LineKind::Shipping,
                gross,
                net: after_percent - discount_amount,
                taxes: line_taxes,
            });
        }
        // Bounding the sums here keeps every later product inside i128.
        if !fits_i64(&group_gross) {
            v.add(format!("groups[{g}]"), "the group amount is too large");
        }
        document_gross += group_gross;
        groups.push(CheckedGroup { discount_scaled: discount_scaled.unwrap_or(0), lines });
    }
    if !fits_i64(&document_gross) {
        v.add("groups", "the document amount is too large");
    }
    v.finish()?;
    Ok(Checked { taxes, groups })
}

/// A non-negative decimal with at most [`INPUT_DECIMALS`] places, at [`SCALE`].
fn non_negative_scaled(v: &mut Validator, field: &str, d: Decimal) -> Option<i128> {
    if d.is_sign_negative() && !d.is_zero() {
        v.add(field, "must not be negative");
        return None;
    }
    match scaled(d, INPUT_DECIMALS) {
        Some(x) => Some(x),
        None => {
            v.add(field, format!("must have at most {INPUT_DECIMALS} decimal places"));
            None
        }
    }
}

/// A percentage from 0 to 100 with at most [`INPUT_DECIMALS`] places, at [`SCALE`].
fn percent(v: &mut Validator, field: &str, d: Decimal) -> Option<i128> {
    let x = non_negative_scaled(v, field, d)?;
    if x > HUNDRED_PERCENT {
        v.add(field, "must be between 0 and 100");
        return None;
    }
    Some(x)
}

/// A non-negative amount of `currency`, in minor units.
fn amount(v: &mut Validator, field: &str, d: Decimal, currency: Currency) -> Option<i128> {
    if d.is_sign_negative() && !d.is_zero() {
        v.add(field, "must not be negative");
        return None;
    }
    let units = currency.minor_units();
    match scaled(d, units).filter(fits_i64) {
        Some(x) => Some(x),
        None if d.normalize().scale() > units => {
            v.add(field, format!("must have at most {units} decimal places ({currency})"));
            None
        }
        None => {
            v.add(field, "is too large");
            None
        }
    }
}

/// `d` as an integer count of 10^-`dp`, if it has at most `dp` decimal places.
fn scaled(d: Decimal, dp: u32) -> Option<i128> {
    let d = d.normalize();
    if d.scale() > dp {
        return None;
    }
    d.mantissa().checked_mul(10i128.checked_pow(dp - d.scale())?)
}

fn fits_i64(x: &i128) -> bool {
    i64::try_from(*x).is_ok()
}

fn minor_to_string(minor: i128, currency: Currency) -> String {
    i64::try_from(minor).map_or_else(|_| minor.to_string(), |m| Money::from_minor(m, currency).to_string())
}

// ---------------------------------------------------------------------------
// Computation, in minor units.

/// `num / den` rounded half away from zero ("commercial" rounding); `den > 0`.
fn div_round(num: i128, den: i128) -> i128 {
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den { q + num.signum() } else { q }
}

/// round(`base` × rate), for a rate at [`SCALE`].
fn tax_on(base: i128, rate_scaled: i128) -> i128 {
    div_round(base * rate_scaled, HUNDRED_PERCENT)
}

/// Splits `total` over `weights` pro rata by the largest remainder method.
///
/// Each share starts as ⌊total × weight / Σ weights⌋; the units still missing
/// go one each to the shares with the largest remainders, the earlier one
/// first on a tie. The shares add up to `total` exactly, and with
/// `0 ≤ total ≤ Σ weights` no share exceeds its weight and a zero weight gets
/// nothing. All inputs are non-negative and at most `i64::MAX`.
fn spread(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().sum();
    if sum == 0 {
        debug_assert_eq!(total, 0, "nothing to spread {total} over");
        return vec![0; weights.len()];
    }
    let mut shares: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let mut left = total - shares.iter().sum::<i128>();
    let mut by_remainder: Vec<(usize, i128)> =
        weights.iter().enumerate().map(|(i, w)| (i, total * w % sum)).filter(|&(_, r)| r > 0).collect();
    // Stable sort: ties keep line order.
    by_remainder.sort_by_key(|&(_, remainder)| std::cmp::Reverse(remainder));
    for (i, _) in by_remainder {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    debug_assert_eq!(left, 0, "largest remainder left units over");
    shares
}

/// Splits a tax-included `amount` into (net, taxes), net + Σ taxes = amount.
fn split_inclusive(amount: i128, rates_scaled: &[i128]) -> (i128, Vec<i128>) {
    if rates_scaled.is_empty() {
        return (amount, Vec::new());
    }
    let rates_sum: i128 = rates_scaled.iter().sum();
    let net = div_round(amount * HUNDRED_PERCENT, HUNDRED_PERCENT + rates_sum);
    let mut taxes: Vec<i128> = rates_scaled.iter().map(|&r| tax_on(net, r)).collect();
    let mut difference = amount - net - taxes.iter().sum::<i128>();
    // The largest tax absorbs the rounding difference; the earlier one on a tie.
    let mut order: Vec<usize> = (0..taxes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(taxes[i]));
    if difference > 0 {
        taxes[order[0]] += difference;
    } else {
        // net ≤ amount, so Σ taxes can always absorb a shortfall without going negative.
        for i in order {
            let taken = taxes[i].min(-difference);
            taxes[i] -= taken;
            difference += taken;
        }
    }
    debug_assert_eq!(net + taxes.iter().sum::<i128>(), amount);
    (net, taxes)
}

/// A line on its way out: minor units, taxes in the order the line lists them.
struct LineResult {
    shipping: bool,
    gross: i128,
    net: i128,
    base: i128,
    taxes: Vec<(usize, i128)>,
}

fn compute(doc: &DocumentInput, checked: Checked) -> Result<PricedDocument, DomainError> {
    let Checked { taxes, groups } = checked;
    let inclusive = doc.prices_include_tax;
    let by_line = !inclusive && doc.tax_rounding == TaxRounding::Line;

    let mut group_discounts: Vec<i128> = Vec::with_capacity(groups.len());
    let mut group_nets: Vec<i128> = Vec::with_capacity(groups.len());
    let mut results: Vec<Vec<LineResult>> = Vec::with_capacity(groups.len());
    for group in &groups {
        // Rule 2: the group discount, spread over the non-shipping lines.
        let weights: Vec<i128> = group.lines.iter().map(|l| if l.shipping { 0 } else { l.net }).collect();
        let discounted: i128 = weights.iter().sum();
        let group_discount = div_round(discounted * group.discount_scaled, HUNDRED_PERCENT);
        let shares = spread(group_discount, &weights);
        group_discounts.push(group_discount);
        group_nets.push(group.lines.iter().map(|l| l.net).sum::<i128>() - group_discount);

        let lines = group.lines.iter().zip(shares).map(|(line, share)| {
            let after_group = line.net - share;
            let (base, line_taxes) = if inclusive {
                let rates: Vec<i128> = line.taxes.iter().map(|&t| taxes[t].rate_scaled).collect();
                split_inclusive(after_group, &rates)
            } else if by_line {
                (after_group, line.taxes.iter().map(|&t| tax_on(after_group, taxes[t].rate_scaled)).collect())
            } else {
                // Document-level rounding: filled in below, once all bases are known.
                (after_group, vec![0; line.taxes.len()])
            };
            let taxes = line.taxes.iter().copied().zip(line_taxes).collect();
            LineResult { shipping: line.shipping, gross: line.gross, net: line.net, base, taxes }
        });
        results.push(lines.collect());
    }

    if !inclusive && !by_line {
        // Rule 4, document-level: round once per tax, then give each line its share.
        for (t, tax) in taxes.iter().enumerate() {
            let mut slots: Vec<(usize, usize, usize)> = Vec::new();
            let mut bases: Vec<i128> = Vec::new();
            for (g, lines) in results.iter().enumerate() {
                for (l, line) in lines.iter().enumerate() {
                    if let Some(p) = line.taxes.iter().position(|&(id, _)| id == t) {
                        slots.push((g, l, p));
                        bases.push(line.base);
                    }
                }
            }
            let amount = tax_on(bases.iter().sum(), tax.rate_scaled);
            for ((g, l, p), share) in slots.into_iter().zip(spread(amount, &bases)) {
                results[g][l].taxes[p].1 = share;
            }
        }
    }

    // Rule 5: totals.
    let currency = doc.currency;
    let money = |minor: i128| -> Result<Money, DomainError> {
        i64::try_from(minor)
            .map(|m| Money::from_minor(m, currency))
            .map_err(|_| DomainError::invalid("groups", "the document amount is too large"))
    };
    let mut tax_bases = vec![0i128; taxes.len()];
    let mut tax_amounts = vec![0i128; taxes.len()];
    let (mut subtotal, mut discount, mut net, mut shipping) = (0i128, 0i128, 0i128, 0i128);
    let mut priced_groups = Vec::with_capacity(results.len());
    for ((lines, group_discount), group_net) in results.into_iter().zip(group_discounts).zip(group_nets) {
        discount += group_discount;
        let mut priced_lines = Vec::with_capacity(lines.len());
        for line in lines {
            if line.shipping {
                shipping += line.base;
            } else {
                subtotal += line.gross;
                discount += line.gross - line.net;
                net += line.base;
            }
            let mut line_taxes = Vec::with_capacity(line.taxes.len());
            for (t, amount) in line.taxes {
                tax_bases[t] += line.base;
                tax_amounts[t] += amount;
                line_taxes.push((taxes[t].id.clone(), money(amount)?));
            }
            priced_lines.push(PricedLine {
                gross: money(line.gross)?,
                discount: money(line.gross - line.net)?,
                net: money(line.net)?,
                taxable_base: money(line.base)?,
                taxes: line_taxes,
            });
        }
        priced_groups.push(PricedGroup { net: money(group_net)?, lines: priced_lines });
    }
    let tax: i128 = tax_amounts.iter().sum();
    let tax_lines = taxes
        .into_iter()
        .zip(tax_bases.into_iter().zip(tax_amounts))
        .map(|(t, (base, amount))| {
            Ok(TaxLine { tax_id: t.id, name: t.name, rate: t.rate, base: money(base)?, amount: money(amount)? })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    Ok(PricedDocument {
        currency,
        groups: priced_groups,
        totals: Totals {
            subtotal: money(subtotal)?,
            discount: money(discount)?,
            net: money(net)?,
            shipping: money(shipping)?,
            taxes: tax_lines,
            tax: money(tax)?,
            total: money(net + shipping + tax)?,
        },
    })
}

// ---------------------------------------------------------------------------
// JSON: money as decimal strings, never floats.

fn money_string<S: Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(m)
}

/// Line taxes as `[{"tax_id": "vat", "amount": "1.00"}]`.
fn line_taxes<S: Serializer>(taxes: &[(String, Money)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct LineTax<'a> {
        tax_id: &'a str,
        #[serde(serialize_with = "money_string")]
        amount: Money,
    }
    s.collect_seq(taxes.iter().map(|(tax_id, amount)| LineTax { tax_id, amount: *amount }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::round_half_away;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn tax(id: &str, rate: &str) -> TaxRate {
        TaxRate { id: id.into(), name: format!("{id} {rate} %"), rate_percent: d(rate) }
    }

    fn vat10() -> TaxRate {
        tax("vat", "10")
    }

    fn line(kind: LineKind, quantity: &str, unit_price: &str, taxes: Vec<TaxRate>) -> LineInput {
        LineInput {
            kind,
            quantity: d(quantity),
            unit_price: d(unit_price),
            discount_percent: Decimal::ZERO,
            discount_amount: Decimal::ZERO,
            taxes,
        }
    }

    fn product(quantity: &str, unit_price: &str) -> LineInput {
        line(LineKind::Product, quantity, unit_price, vec![vat10()])
    }

    fn doc(currency: &str, lines: Vec<LineInput>) -> DocumentInput {
        DocumentInput {
            currency: cur(currency),
            prices_include_tax: false,
            tax_rounding: TaxRounding::Document,
            groups: vec![GroupInput { discount_percent: Decimal::ZERO, lines }],
        }
    }

    fn usd(lines: Vec<LineInput>) -> DocumentInput {
        doc("USD", lines)
    }

    fn s(m: Money) -> String {
        m.to_string()
    }

    /// (net, tax, total) as strings.
    fn totals(doc: &DocumentInput) -> (String, String, String) {
        let t = price(doc).unwrap().totals;
        (s(t.net), s(t.tax), s(t.total))
    }

    fn fields(err: DomainError) -> Vec<String> {
        match err {
            DomainError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_quote_of_two_products_at_ten_percent_totals_58_83() {
        let priced = price(&usd(vec![product("3", "12.50"), product("2", "7.99")])).unwrap();
        let t = &priced.totals;
        assert_eq!((s(t.subtotal), s(t.discount), s(t.net)), ("53.48".into(), "0.00".into(), "53.48".into()));
        assert_eq!((s(t.tax), s(t.total)), ("5.35".into(), "58.83".into()));
        assert_eq!(t.taxes.len(), 1);
        assert_eq!((s(t.taxes[0].base), s(t.taxes[0].amount)), ("53.48".into(), "5.35".into()));
        assert_eq!(s(priced.groups[0].lines[0].net), "37.50");
        assert_eq!(s(priced.groups[0].lines[1].net), "15.98");
    }

    #[test]
    fn document_level_rounding_rounds_the_tax_once_per_rate() {
        let lines = vec![product("1", "0.15"), product("1", "0.15"), product("1", "0.15")];
        assert_eq!(totals(&usd(lines)).1, "0.05");
    }

    #[test]
    fn line_level_rounding_adds_up_the_rounded_tax_of_each_line() {
        let mut input = usd(vec![product("1", "0.15"), product("1", "0.15"), product("1", "0.15")]);
        input.tax_rounding = TaxRounding::Line;
        let priced = price(&input).unwrap();
        assert_eq!(s(priced.totals.tax), "0.06");
        for l in &priced.groups[0].lines {
            assert_eq!(s(l.taxes[0].1), "0.02");
        }
    }

    #[test]
    fn with_document_level_rounding_line_taxes_are_shares_of_the_rounded_amount() {
        let priced = price(&usd(vec![product("1", "0.15"), product("1", "0.15"), product("1", "0.15")])).unwrap();
        let shares: Vec<String> = priced.groups[0].lines.iter().map(|l| s(l.taxes[0].1)).collect();
        assert_eq!(shares, ["0.02", "0.02", "0.01"]);
    }

    #[test]
    fn a_half_cent_of_tax_rounds_away_from_zero() {
        assert_eq!(totals(&usd(vec![product("1", "0.25")])).1, "0.03");
    }

    #[test]
    fn an_invoice_of_two_products_totals_45_08() {
        let t = totals(&usd(vec![product("2", "12.50"), product("2", "7.99")]));
        assert_eq!(t, ("40.98".into(), "4.10".into(), "45.08".into()));
    }

    #[test]
    fn a_single_line_of_12_50_totals_13_75() {
        assert_eq!(totals(&usd(vec![product("1", "12.50")])), ("12.50".into(), "1.25".into(), "13.75".into()));
    }

    #[test]
    fn yen_amounts_have_no_decimals() {
        let priced = price(&doc("JPY", vec![product("3", "333"), product("1", "0.6")])).unwrap();
        let t = &priced.totals;
        // 999 + round(0.6) = 1000; 10 % = 100.
        assert_eq!((s(t.net), s(t.tax), s(t.total)), ("1000".into(), "100".into(), "1100".into()));
        let json = serde_json::to_value(&priced).unwrap();
        assert_eq!(json["totals"]["total"], "1100");
        assert_eq!(json["currency"], "JPY");
    }

    #[test]
    fn dinar_amounts_have_three_decimals() {
        let t = totals(&doc("KWD", vec![product("1", "1.2345")]));
        assert_eq!(t, ("1.235".into(), "0.124".into(), "1.359".into()));
    }

    #[test]
    fn a_tax_inclusive_price_of_11_at_ten_percent_splits_into_10_plus_1() {
        let mut input = usd(vec![product("1", "11.00")]);
        input.prices_include_tax = true;
        let priced = price(&input).unwrap();
        let l = &priced.groups[0].lines[0];
        assert_eq!((s(l.gross), s(l.net), s(l.taxable_base)), ("11.00".into(), "11.00".into(), "10.00".into()));
        assert_eq!(s(l.taxes[0].1), "1.00");
        let t = &priced.totals;
        assert_eq!((s(t.net), s(t.tax), s(t.total)), ("10.00".into(), "1.00".into(), "11.00".into()));
    }

    #[test]
    fn a_tax_inclusive_line_with_two_taxes_puts_the_rounding_cent_on_the_larger_tax() {
        let mut input = usd(vec![line(LineKind::Product, "1", "10.00", vec![tax("a", "5"), tax("b", "10")])]);
        input.prices_include_tax = true;
        let priced = price(&input).unwrap();
        let l = &priced.groups[0].lines[0];
        // net = round(10 / 1.15) = 8.70; 5 % → 0.44, 10 % → 0.87, one cent too many.
        assert_eq!(s(l.taxable_base), "8.70");
        assert_eq!((s(l.taxes[0].1), s(l.taxes[1].1)), ("0.44".into(), "0.86".into()));
        assert_eq!(s(priced.totals.total), "10.00");
    }

    #[test]
    fn a_tax_inclusive_shortfall_larger_than_the_largest_tax_never_makes_a_tax_negative() {
        let taxes = vec![tax("a", "19"), tax("b", "20"), tax("c", "21")];
        let mut input = usd(vec![line(LineKind::Product, "1", "0.04", taxes)]);
        input.prices_include_tax = true;
        let priced = price(&input).unwrap();
        let l = &priced.groups[0].lines[0];
        // net = round(0.04 / 1.6) = 0.03; each tax rounds to 0.01, two cents too many.
        assert_eq!(s(l.taxable_base), "0.03");
        let amounts: Vec<String> = l.taxes.iter().map(|t| s(t.1)).collect();
        assert_eq!(amounts, ["0.00", "0.00", "0.01"]);
        assert_eq!(s(priced.totals.total), "0.04");
    }

    #[test]
    fn tax_inclusive_prices_ignore_the_tax_rounding_setting() {
        let lines = vec![product("1", "0.17"), product("1", "0.17"), product("1", "0.17")];
        let mut by_document = usd(lines);
        by_document.prices_include_tax = true;
        let mut by_line = by_document.clone();
        by_line.tax_rounding = TaxRounding::Line;
        assert_eq!(price(&by_document).unwrap(), price(&by_line).unwrap());
        // Each 0.17 splits into 0.15 + 0.02.
        assert_eq!(totals(&by_document), ("0.45".into(), "0.06".into(), "0.51".into()));
    }

    #[test]
    fn line_discounts_take_the_percent_first_then_the_amount() {
        let mut l = product("2", "10.00");
        l.discount_percent = d("15");
        l.discount_amount = d("1");
        let priced = price(&usd(vec![l])).unwrap();
        let pl = &priced.groups[0].lines[0];
        assert_eq!((s(pl.gross), s(pl.discount), s(pl.net)), ("20.00".into(), "4.00".into(), "16.00".into()));
        let t = &priced.totals;
        assert_eq!((s(t.subtotal), s(t.discount), s(t.net)), ("20.00".into(), "4.00".into(), "16.00".into()));
    }

    #[test]
    fn the_line_net_is_rounded_once_after_the_percent_discount() {
        // 3 × 0.3333 = 0.9999; less 10 % = 0.89991 → 0.90 (gross 1.00).
        let mut l = product("3", "0.3333");
        l.discount_percent = d("10");
        let pl = &price(&usd(vec![l])).unwrap().groups[0].lines[0];
        assert_eq!((s(pl.gross), s(pl.net), s(pl.discount)), ("1.00".into(), "0.90".into(), "0.10".into()));
    }

    #[test]
    fn the_group_discount_is_spread_by_largest_remainder_so_bases_add_up_to_the_group_net() {
        let mut input = usd(vec![product("1", "10.00"), product("1", "10.00"), product("1", "10.00")]);
        input.groups[0].discount_percent = d("33.3333");
        let priced = price(&input).unwrap();
        let g = &priced.groups[0];
        // 30.00 × 33.3333 % = 9.99999 → 10.00, i.e. 3.33⅓ a line: the first line takes the odd cent.
        assert_eq!(s(g.net), "20.00");
        let bases: Vec<String> = g.lines.iter().map(|l| s(l.taxable_base)).collect();
        assert_eq!(bases, ["6.66", "6.67", "6.67"]);
        assert_eq!(s(priced.totals.discount), "10.00");
        assert_eq!(s(priced.totals.net), "20.00");
    }

    #[test]
    fn the_group_discount_spreads_pro_rata_to_the_line_nets() {
        let mut input = usd(vec![product("1", "75.00"), product("1", "25.00")]);
        input.groups[0].discount_percent = d("10");
        let g = &price(&input).unwrap().groups[0];
        assert_eq!((s(g.lines[0].taxable_base), s(g.lines[1].taxable_base)), ("67.50".into(), "22.50".into()));
    }

    #[test]
    fn shipping_is_not_reduced_by_the_group_discount_and_is_reported_apart() {
        let shipping = line(LineKind::Shipping, "1", "10.00", vec![]);
        let mut input = usd(vec![product("1", "100.00"), shipping]);
        input.groups[0].discount_percent = d("10");
        let priced = price(&input).unwrap();
        let t = &priced.totals;
        assert_eq!((s(t.subtotal), s(t.discount), s(t.net)), ("100.00".into(), "10.00".into(), "90.00".into()));
        assert_eq!((s(t.shipping), s(t.tax), s(t.total)), ("10.00".into(), "9.00".into(), "109.00".into()));
        assert_eq!(s(priced.groups[0].net), "100.00");
        assert_eq!(s(priced.groups[0].lines[1].taxable_base), "10.00");
        assert!(priced.groups[0].lines[1].taxes.is_empty());
    }

    #[test]
    fn shipping_is_taxed_when_it_carries_a_tax() {
        let shipping = line(LineKind::Shipping, "1", "5.00", vec![vat10()]);
        let t = price(&usd(vec![product("1", "20.00"), shipping])).unwrap().totals;
        assert_eq!((s(t.net), s(t.shipping)), ("20.00".into(), "5.00".into()));
        assert_eq!((s(t.taxes[0].base), s(t.tax), s(t.total)), ("25.00".into(), "2.50".into(), "27.50".into()));
    }

    #[test]
    fn a_shipping_line_can_carry_its_own_discount() {
        let mut shipping = line(LineKind::Shipping, "1", "8.00", vec![]);
        shipping.discount_percent = d("100");
        let t = price(&usd(vec![product("1", "20.00"), shipping])).unwrap().totals;
        assert_eq!((s(t.subtotal), s(t.discount), s(t.shipping)), ("20.00".into(), "0.00".into(), "0.00".into()));
    }

    #[test]
    fn text_lines_are_priced_like_products() {
        let text = line(LineKind::Text, "2", "5.00", vec![vat10()]);
        assert_eq!(totals(&usd(vec![text])), ("10.00".into(), "1.00".into(), "11.00".into()));
    }

    #[test]
    fn comment_lines_carry_no_amounts() {
        let comment = line(LineKind::Comment, "1", "0", vec![]);
        let priced = price(&usd(vec![product("1", "12.50"), comment])).unwrap();
        let c = &priced.groups[0].lines[1];
        assert!([c.gross, c.discount, c.net, c.taxable_base].iter().all(|m| m.minor() == 0));
        assert_eq!(s(priced.totals.total), "13.75");
    }

    #[test]
    fn a_comment_line_with_a_price_or_a_tax_is_refused() {
        let comment = line(LineKind::Comment, "1", "3", vec![vat10()]);
        let err = price(&usd(vec![comment])).unwrap_err();
        assert_eq!(fields(err), ["groups[0].lines[0].unit_price", "groups[0].lines[0].taxes"]);
    }

    #[test]
    fn taxes_are_itemized_per_tax_in_first_seen_order_across_groups() {
        let mut input = usd(vec![line(LineKind::Product, "1", "100", vec![tax("reduced", "5.5")])]);
        input.groups.push(GroupInput {
            discount_percent: Decimal::ZERO,
            lines: vec![
                line(LineKind::Product, "1", "10", vec![tax("standard", "20"), tax("reduced", "5.5")]),
                line(LineKind::Product, "1", "1", vec![tax("exempt", "0")]),
            ],
        });
        let t = price(&input).unwrap().totals;
        let itemized: Vec<(&str, String, String)> =
            t.taxes.iter().map(|x| (x.tax_id.as_str(), s(x.base), s(x.amount))).collect();
        assert_eq!(
            itemized,
            [
                ("reduced", "110.00".into(), "6.05".into()),
                ("standard", "10.00".into(), "2.00".into()),
                ("exempt", "1.00".into(), "0.00".into())
            ]
        );
        assert_eq!((s(t.tax), s(t.total)), ("8.05".into(), "119.05".into()));
    }

    #[test]
    fn an_empty_document_totals_zero() {
        let t = price(&DocumentInput {
            currency: cur("EUR"),
            prices_include_tax: false,
            tax_rounding: TaxRounding::Document,
            groups: vec![],
        })
        .unwrap()
        .totals;
        assert_eq!(s(t.total), "0.00");
        assert!(t.taxes.is_empty());
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_path() {
        let mut bad = product("1.00001", "-1");
        bad.discount_percent = d("101");
        bad.discount_amount = d("0.001");
        bad.taxes = vec![tax("vat", "100.5"), tax("fine", "1.00001")];
        let mut input = usd(vec![product("1", "1"), bad]);
        input.groups[0].discount_percent = d("-5");
        let err = price(&input).unwrap_err();
        assert_eq!(
            fields(err),
            [
                "groups[0].discount_percent",
                "groups[0].lines[1].quantity",
                "groups[0].lines[1].unit_price",
                "groups[0].lines[1].discount_percent",
                "groups[0].lines[1].discount_amount",
                "groups[0].lines[1].taxes[0].rate_percent",
                "groups[0].lines[1].taxes[1].rate_percent",
            ]
        );
    }

    #[test]
    fn quantities_and_prices_may_carry_four_decimals_and_trailing_zeros_are_not_precision() {
        assert!(price(&usd(vec![product("1.2345", "9.8765")])).is_ok());
        assert!(price(&usd(vec![product("1.234500", "9.876500")])).is_ok());
    }

    #[test]
    fn a_negative_quantity_is_refused() {
        let err = price(&usd(vec![product("-1", "10")])).unwrap_err();
        assert_eq!(fields(err), ["groups[0].lines[0].quantity"]);
    }

    #[test]
    fn a_discount_amount_above_the_discounted_line_is_refused() {
        let mut l = product("1", "10.00");
        l.discount_percent = d("50");
        l.discount_amount = d("5.01");
        let err = price(&usd(vec![l.clone()])).unwrap_err();
        assert!(err.to_string().contains("(5.00)"), "{err}");
        assert_eq!(fields(err), ["groups[0].lines[0].discount_amount"]);
        l.discount_amount = d("5.00");
        assert_eq!(totals(&usd(vec![l])).2, "0.00");
    }

    #[test]
    fn one_tax_id_with_two_rates_is_refused() {
        let lines = vec![
            line(LineKind::Product, "1", "1", vec![tax("vat", "10")]),
            line(LineKind::Product, "1", "1", vec![TaxRate { rate_percent: d("20"), ..tax("vat", "10") }]),
        ];
        let err = price(&usd(lines)).unwrap_err();
        assert_eq!(fields(err), ["groups[0].lines[1].taxes[0].rate_percent"]);
    }

    #[test]
    fn the_same_tax_twice_on_a_line_is_refused() {
        let err = price(&usd(vec![line(LineKind::Product, "1", "1", vec![vat10(), vat10()])])).unwrap_err();
        assert_eq!(fields(err), ["groups[0].lines[0].taxes[1].id"]);
    }

    #[test]
    fn an_amount_too_large_for_money_is_refused_not_wrapped() {
        let err = price(&usd(vec![product("99999999999999", "99999999999999")])).unwrap_err();
        assert_eq!(fields(err), ["groups[0].lines[0]"]);
        // Each line fits (5 × 10^18 cents), their sum does not.
        let huge = product("50000000", "1000000000");
        let err = price(&usd(vec![huge.clone(), huge])).unwrap_err();
        assert_eq!(fields(err), ["groups[0]", "groups"]);
    }

    #[test]
    fn money_serialises_as_decimal_strings() {
        let priced = price(&usd(vec![product("3", "12.50"), product("2", "7.99")])).unwrap();
        let json = serde_json::to_value(&priced).unwrap();
        assert_eq!(json["currency"], "USD");
        assert_eq!(json["totals"]["total"], "58.83");
        assert_eq!(json["totals"]["taxes"][0]["rate"], "10");
        assert_eq!(json["totals"]["taxes"][0]["base"], "53.48");
        assert_eq!(json["groups"][0]["lines"][0]["gross"], "37.50");
        assert_eq!(json["groups"][0]["lines"][0]["taxes"][0], serde_json::json!({"tax_id": "vat", "amount": "3.75"}));
    }

    #[test]
    fn a_document_reads_from_json_with_defaults() {
        let input: DocumentInput = serde_json::from_str(
            r#"{"currency": "USD", "groups": [{"lines": [
                {"kind": "product", "quantity": "1", "unit_price": "12.50",
                 "taxes": [{"id": "vat", "name": "VAT", "rate_percent": "10"}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(input.tax_rounding, TaxRounding::Document);
        assert_eq!(totals(&input).2, "13.75");
    }

    // -----------------------------------------------------------------------
    // Properties over random documents.

    const RATES: [(&str, &str); 5] = [("std", "20"), ("vat", "10"), ("red", "5.5"), ("zero", "0"), ("city", "8.875")];

    fn arb_decimal(max_units: i64) -> impl Strategy<Value = Decimal> {
        (0..=max_units, 0u32..=4).prop_map(|(units, scale)| Decimal::new(units, scale))
    }

    fn arb_line(currency: Currency) -> impl Strategy<Value = LineInput> {
        let kind = prop::sample::select(vec![
            LineKind::Product,
            LineKind::Product,
            LineKind::Text,
            LineKind::Comment,
            LineKind::Shipping,
        ]);
        let taxes = prop::sample::subsequence(RATES.to_vec(), 0..=3);
        let discount_percent = prop_oneof![
            Just(Decimal::ZERO),
            (0i64..=10_000).prop_map(|p| Decimal::new(p, 2)),
            Just(Decimal::ONE_HUNDRED)
        ];
        (kind, arb_decimal(100_000), arb_decimal(10_000_000), discount_percent, 0u32..=100, taxes).prop_map(
            move |(kind, quantity, unit_price, discount_percent, amount_share, taxes)| {
                if kind == LineKind::Comment {
                    return LineInput {
                        kind,
                        quantity,
                        unit_price: Decimal::ZERO,
                        discount_percent,
                        discount_amount: Decimal::ZERO,
                        taxes: vec![],
                    };
                }
                // A fixed discount of up to the whole line after its percent discount.
                let after_percent = expected_after_percent(currency, quantity, unit_price, discount_percent);
                let discount_amount = (after_percent * Decimal::from(amount_share) / Decimal::ONE_HUNDRED)
                    .round_dp_with_strategy(currency.minor_units(), rust_decimal::RoundingStrategy::ToZero);
                let taxes = taxes.into_iter().map(|(id, rate)| tax(id, rate)).collect();
                LineInput { kind, quantity, unit_price, discount_percent, discount_amount, taxes }
            },
        )
    }

    fn arb_document() -> impl Strategy<Value = DocumentInput> {
        let currency = prop::sample::select(vec!["USD", "USD", "JPY", "KWD"]).prop_map(cur);
        (currency, any::<bool>(), any::<bool>()).prop_flat_map(|(currency, inclusive, by_line)| {
            let group = (
                prop_oneof![Just(Decimal::ZERO), (0i64..=10_000).prop_map(|p| Decimal::new(p, 2))],
                prop::collection::vec(arb_line(currency), 1..=6),
            )
                .prop_map(|(discount_percent, lines)| GroupInput { discount_percent, lines });
            prop::collection::vec(group, 1..=3).prop_map(move |groups| DocumentInput {
                currency,
                prices_include_tax: inclusive,
                tax_rounding: if by_line { TaxRounding::Line } else { TaxRounding::Document },
                groups,
            })
        })
    }

    /// Rule 1 before the fixed discount, recomputed independently with `Decimal`.
    fn expected_after_percent(c: Currency, quantity: Decimal, unit_price: Decimal, percent: Decimal) -> Decimal {
        let factor = Decimal::ONE - percent / Decimal::ONE_HUNDRED;
        round_half_away(quantity * unit_price * factor, c.minor_units())
    }

    /// Rules 1 and 2 recomputed independently: the group's discounted amount.
    fn expected_group_net(c: Currency, g: &GroupInput) -> Decimal {
        let net =
            |l: &LineInput| expected_after_percent(c, l.quantity, l.unit_price, l.discount_percent) - l.discount_amount;
        let all: Decimal = g.lines.iter().map(net).sum();
        let discountable: Decimal = g.lines.iter().filter(|l| l.kind != LineKind::Shipping).map(net).sum();
        all - round_half_away(discountable * g.discount_percent / Decimal::ONE_HUNDRED, c.minor_units())
    }

    fn sum(ms: impl IntoIterator<Item = Money>) -> i64 {
        ms.into_iter().map(|m| m.minor()).sum()
    }

    proptest! {
        #[test]
        fn itemized_taxes_add_up_exactly_to_the_tax_total(input in arb_document()) {
            let t = price(&input).unwrap().totals;
            prop_assert_eq!(sum(t.taxes.iter().map(|x| x.amount)), t.tax.minor());
        }

        #[test]
        fn the_total_is_net_plus_shipping_plus_tax(input in arb_document()) {
            let t = price(&input).unwrap().totals;
            prop_assert_eq!(t.total.minor(), t.net.minor() + t.shipping.minor() + t.tax.minor());
        }

        #[test]
        fn the_group_discount_spread_makes_line_bases_add_up_to_the_group_net(input in arb_document()) {
            let priced = price(&input).unwrap();
            for (g, group) in priced.groups.iter().enumerate() {
                let expected = expected_group_net(input.currency, &input.groups[g]);
                prop_assert_eq!(group.net.to_decimal(), expected);
                let mut bases = sum(group.lines.iter().map(|l| l.taxable_base));
                if input.prices_include_tax {
                    bases += sum(group.lines.iter().flat_map(|l| l.taxes.iter().map(|t| t.1)));
                }
                prop_assert_eq!(bases, group.net.minor());
                for (l, line) in group.lines.iter().enumerate() {
                    if input.groups[g].lines[l].kind == LineKind::Shipping && !input.prices_include_tax {
                        prop_assert_eq!(line.taxable_base, line.net);
                    }
                }
            }
        }

        #[test]
        fn no_base_or_amount_is_negative(input in arb_document()) {
            let priced = price(&input).unwrap();
            for line in priced.groups.iter().flat_map(|g| &g.lines) {
                for m in [line.gross, line.discount, line.net, line.taxable_base] {
                    prop_assert!(!m.is_negative(), "{:?}", line);
                }
                prop_assert!(line.taxable_base.minor() <= line.net.minor());
                prop_assert!(line.taxes.iter().all(|t| !t.1.is_negative()), "{:?}", line);
            }
            let t = &priced.totals;
            for m in [t.subtotal, t.discount, t.net, t.shipping, t.tax, t.total] {
                prop_assert!(!m.is_negative(), "{:?}", t);
            }
            prop_assert!(t.taxes.iter().all(|x| !x.base.is_negative() && !x.amount.is_negative()));
        }

        #[test]
        fn tax_inclusive_prices_split_into_net_and_tax_that_add_up_to_the_discounted_gross(mut input in arb_document()) {
            input.prices_include_tax = true;
            let t = price(&input).unwrap().totals;
            let discounted: Decimal = input.groups.iter().map(|g| expected_group_net(input.currency, g)).sum();
            let split = Money::from_minor(t.net.minor() + t.shipping.minor() + t.tax.minor(), input.currency);
            prop_assert_eq!(split.to_decimal(), discounted);
            prop_assert_eq!(t.total, split);
        }

        #[test]
        fn line_taxes_and_bases_add_up_to_each_itemized_tax(input in arb_document()) {
            let priced = price(&input).unwrap();
            for item in &priced.totals.taxes {
                let (mut base, mut amount) = (0i64, 0i64);
                for line in priced.groups.iter().flat_map(|g| &g.lines) {
                    if let Some((_, a)) = line.taxes.iter().find(|(id, _)| *id == item.tax_id) {
                        base += line.taxable_base.minor();
                        amount += a.minor();
                    }
                }
                prop_assert_eq!(base, item.base.minor());
                prop_assert_eq!(amount, item.amount.minor());
                let exact = item.base.to_decimal() * item.rate / Decimal::ONE_HUNDRED;
                let once = round_half_away(exact, input.currency.minor_units());
                if !input.prices_include_tax && input.tax_rounding == TaxRounding::Document {
                    prop_assert_eq!(item.amount.to_decimal(), once);
                }
            }
        }

        #[test]
        fn with_tax_exclusive_prices_subtotal_less_discount_is_the_net(mut input in arb_document()) {
            input.prices_include_tax = false;
            let t = price(&input).unwrap().totals;
            prop_assert_eq!(t.subtotal.minor() - t.discount.minor(), t.net.minor());
        }
    }
}
