//! Commercial documents as PDF: the stored document (amounts from the one
//! pricing engine, never recomputed here) laid out by `nave-pdf`, under the
//! company's letterhead (its settings: legal name, address, tax id, email,
//! phone, logo). A purchase order prints the supplier, the delivery address
//! (its warehouse's) and the supplier's codes on its lines.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use nave_domain::document::{DocStatus, DocType};
use nave_pdf::{Party, PdfDocument, PdfGroup, PdfLine, PdfTotal};
use nave_store::documents::Document;

use crate::error::{ApiError, ApiResult};

/// Whether a decimal string is anything but zero.
fn nonzero(amount: &str) -> bool {
    amount.chars().any(|c| c.is_ascii_digit() && c != '0')
}

fn title(t: DocType) -> &'static str {
    match t {
        DocType::Quote => "Quote",
        DocType::SalesOrder => "Sales order",
        DocType::Invoice => "Invoice",
        DocType::CreditNote => "Credit note",
        DocType::PurchaseOrder => "Purchase order",
        DocType::Receipt => "Goods receipt",
        DocType::Bill => "Bill",
        DocType::BillCredit => "Bill credit",
    }
}

pub(crate) fn party(name: &str, address: Option<&serde_json::Value>) -> Party {
    let mut lines = Vec::new();
    if let Some(a) = address {
        let get = |k: &str| a.get(k).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty());
        lines.extend(get("line1").map(str::to_string));
        lines.extend(get("line2").map(str::to_string));
        let city: Vec<&str> = [get("postal_code"), get("city"), get("region")].into_iter().flatten().collect();
        if !city.is_empty() {
            lines.push(city.join(" "));
        }
        lines.extend(get("country").map(str::to_string));
    }
    Party { name: name.to_string(), lines, tax_id: None }
}

/// What heads every document: the company and its logo.
#[derive(Debug, Clone, Default)]
pub struct Letterhead {
    pub company: Party,
    pub logo: Option<Vec<u8>>,
}

/// The letterhead of the tenant, from its company settings.
pub async fn letterhead(tx: &mut nave_store::Tx, tenant_id: i64) -> ApiResult<Letterhead> {
    let s = nave_store::company::get(tx, tenant_id).await?;
    let logo = match s.logo_key {
        Some(k) => nave_store::files::get(tx, tenant_id, k).await?.map(|(_, data)| data),
        None => None,
    };
    let mut lines = s.address_lines();
    let contact: Vec<&str> = [s.email.as_deref(), s.phone.as_deref()].into_iter().flatten().collect();
    if !contact.is_empty() {
        lines.push(contact.join(" · "));
    }
    Ok(Letterhead { company: Party { name: s.legal_name, lines, tax_id: s.tax_id }, logo })
}

/// The PDF of `doc` under the tenant's letterhead; a purchase order is
/// delivered to its warehouse's address, a drop-ship one to the customer's.
pub async fn document_pdf(tx: &mut nave_store::Tx, tenant_id: i64, doc: &Document) -> ApiResult<PdfDocument> {
    let head = letterhead(tx, tenant_id).await?;
    let delivery = match (doc.doc_type, doc.warehouse_id) {
        // A drop-ship order goes straight to the customer.
        (DocType::PurchaseOrder, _) if doc.drop_ship_for.is_some() => {
            doc.drop_ship_for.as_ref().map(|f| party(&f.customer_name, doc.shipping_address.as_ref()))
        }
        (DocType::PurchaseOrder, Some(w)) => nave_store::catalog::get_warehouse(tx, tenant_id, w).await?.map(|w| {
            let lines = w.address.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
            Party { name: format!("{} – {}", head.company.name, w.name), lines, tax_id: None }
        }),
        _ => None,
    };
    Ok(printable(doc, &head, delivery))
}

/// The printable form of `doc` (cost and margin stay off PDFs), headed by
/// `head`; `delivery` is where a purchase order's goods go.
pub fn printable(doc: &Document, head: &Letterhead, delivery: Option<Party>) -> PdfDocument {
    let purchase_order = doc.doc_type == DocType::PurchaseOrder;
    let mut facts = vec![("Date".to_string(), nave_domain::dates::format(doc.date))];
    if let Some(v) = doc.valid_until.filter(|_| doc.doc_type == DocType::Quote) {
        facts.push(("Valid until".into(), nave_domain::dates::format(v)));
    }
    if let Some(r) = &doc.reference {
        facts.push(("Your reference".into(), r.clone()));
    }
    if let (Some(n), Some(t)) = (&doc.origin_number, doc.origin_type) {
        facts.push((format!("From {}", t.label()), n.clone()));
    }
    if let Some(t) = &doc.payment_terms_name {
        facts.push(("Payment terms".into(), t.clone()));
    }
    let groups = doc
        .groups
        .iter()
        .map(|g| PdfGroup {
            name: g.name.clone(),
            discount: (g.discount_percent != "0").then(|| format!("−{} %", g.discount_percent)),
            subtotal: g.show_subtotal.then(|| g.net.clone()),
            lines: g
                .lines
                .iter()
                .map(|l| {
                    let comment = l.kind == nave_domain::pricing::LineKind::Comment;
                    let mut discount = Vec::new();
                    if l.discount_percent != "0" {
                        discount.push(format!("{} %", l.discount_percent));
                    }
                    if l.discount != "0.00" && l.discount_percent == "0" {
                        discount.push(l.discount.clone());
                    }
                    PdfLine {
                        comment,
                        sku: l.sku.clone(),
                        code: if purchase_order { l.supplier_code.clone() } else { None },
                        description: l.description.clone(),
                        quantity: if comment { String::new() } else { l.quantity.clone() },
                        unit: if comment { String::new() } else { l.unit.clone() },
                        unit_price: if comment { String::new() } else { l.unit_price.clone() },
                        discount: discount.join(" + "),
                        taxes: l.taxes.iter().map(|t| t.name.clone()).collect::<Vec<_>>().join(", "),
                        net: if comment { String::new() } else { l.net.clone() },
                    }
                })
                .collect(),
        })
        .collect();
    let t = &doc.totals;
    let mut totals = vec![PdfTotal { label: "Subtotal".into(), amount: t.subtotal.clone(), strong: false }];
    if nonzero(&t.discount) {
        totals.push(PdfTotal { label: "Discount".into(), amount: format!("−{}", t.discount), strong: false });
    }
    totals.push(PdfTotal { label: "Net".into(), amount: t.net.clone(), strong: false });
    if nonzero(&t.shipping) {
        totals.push(PdfTotal { label: "Shipping".into(), amount: t.shipping.clone(), strong: false });
    }
    for x in &t.taxes {
        totals.push(PdfTotal { label: format!("{} on {}", x.name, x.base), amount: x.amount.clone(), strong: false });
    }
    totals.push(PdfTotal { label: "Total".into(), amount: t.total.clone(), strong: true });
    if doc.doc_type == DocType::Invoice && doc.settled_minor != 0 {
        totals.push(PdfTotal { label: "Paid and credited".into(), amount: doc.settled.clone(), strong: false });
        totals.push(PdfTotal { label: "Balance due".into(), amount: doc.balance.clone(), strong: true });
    }
    PdfDocument {
        title: title(doc.doc_type).into(),
        number: doc.number.clone(),
        watermark: match doc.status {
            DocStatus::Draft => Some("DRAFT".into()),
            DocStatus::Void => Some("VOID".into()),
            DocStatus::Cancelled => Some("CANCELLED".into()),
            _ => None,
        },
        company: head.company.clone(),
        logo_png: head.logo.clone(),
        customer: party(&doc.account_name, doc.billing_address.as_ref()),
        customer_heading: match doc.doc_type {
            DocType::PurchaseOrder | DocType::Receipt | DocType::Bill | DocType::BillCredit => "Supplier".into(),
            _ => String::new(),
        },
        ship_to: match (&doc.shipping_address, doc.doc_type) {
            (_, DocType::PurchaseOrder) => delivery,
            (Some(a), DocType::SalesOrder | DocType::Invoice) if Some(a) != doc.billing_address.as_ref() => {
                Some(party(&doc.account_name, Some(a)))
            }
            _ => None,
        },
        ship_to_heading: if purchase_order { "Deliver to".into() } else { String::new() },
        code_heading: if purchase_order { "Supplier code".into() } else { String::new() },
        facts,
        currency: doc.currency.code().to_string(),
        groups,
        totals,
        due_dates: doc.due_dates.iter().map(|d| (nave_domain::dates::format(d.date), d.amount.clone())).collect(),
        notes: Some(doc.notes.clone()).filter(|n| !n.trim().is_empty()),
        footer: None,
    }
}

/// Renders on a blocking thread (layout is CPU work) and answers with the PDF.
pub async fn respond(pdf: PdfDocument, filename: String) -> ApiResult<Response> {
    let bytes = tokio::task::spawn_blocking(move || nave_pdf::render(&pdf))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))?;
    let disposition = format!("inline; filename=\"{}\"", filename.replace(['"', '\\', '\r', '\n'], "_"));
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

/// The file name of a document's PDF: its number, or "quote-draft".
pub fn filename(doc: &Document) -> String {
    match &doc.number {
        Some(n) => format!("{n}.pdf"),
        None => format!("{}-draft.pdf", doc.doc_type.as_str().replace('_', "-")),
    }
}
