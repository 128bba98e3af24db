//! Nave's PDF rendering of commercial documents: quotes, sales orders,
//! invoices and credit notes, purchase orders, receipts, bills and bill
//! credits.
//!
//! The layout engine is [typst], run in-process through a small [`World`] of
//! our own: one fixed template (`document.typ`, compiled into the binary), the
//! fonts shipped by `typst-assets` (embedded in the binary, no system fonts),
//! no network and no packages.
//!
//! The caller hands over a [`PdfDocument`] whose every value is already
//! formatted (amounts come from the one pricing engine; this crate does no
//! arithmetic on money). That data reaches the template as JSON in a virtual
//! file `/data.json` and the logo as a virtual file `/logo`: user text is
//! only ever *data* to typst, never markup, so `#panic("x")`, `*bold*`, `$`,
//! `<label>` or `@ref` in a description print as they are.
//!
//! [`render`] is synchronous and CPU-bound (tens to hundreds of milliseconds):
//! call it from `tokio::task::spawn_blocking` in async code.

use std::sync::LazyLock;

use serde_json::{Value, json};
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Everything printed, already formatted by the caller (amounts come from the one pricing engine; this crate does no arithmetic on money).
#[derive(Debug, Clone, Default)]
pub struct PdfDocument {
    /// "Invoice", "Quote", "Sales order", "Credit note".
    pub title: String,
    /// "INV-2026-00042"; `None` for drafts.
    pub number: Option<String>,
    /// E.g. "DRAFT" / "VOID", printed large and light across each page.
    pub watermark: Option<String>,
    /// The issuing company, top-left.
    pub company: Party,
    /// PNG/JPEG (or GIF/WebP/SVG) bytes, shown top-left, at most 4 cm wide
    /// and 2.2 cm high (scaled down, never up; 72 dpi unless the image says
    /// otherwise).
    pub logo_png: Option<Vec<u8>>,
    /// The billing party (the supplier, on a purchase order).
    pub customer: Party,
    /// The heading over `customer`; empty prints "Bill to".
    pub customer_heading: String,
    /// The delivery party, printed beside the billing party when present.
    pub ship_to: Option<Party>,
    /// The heading over `ship_to`; empty prints "Ship to".
    pub ship_to_heading: String,
    /// The heading of the lines' `code` column (e.g. "Supplier code"); empty
    /// prints "Code". The column appears when at least one line has a code.
    pub code_heading: String,
    /// Label/value pairs shown under the title: Date, Valid until, Reference,
    /// Payment terms...
    pub facts: Vec<(String, String)>,
    /// The ISO code of the currency ("EUR"), printed under the totals.
    pub currency: String,
    /// The lines, in groups; a group with an empty name and no discount has
    /// no heading row.
    pub groups: Vec<PdfGroup>,
    /// In order: Subtotal, Discount, Net, Shipping, one per tax
    /// ("VAT 10 % on 53.48"), Total.
    pub totals: Vec<PdfTotal>,
    /// (date, amount) pairs.
    pub due_dates: Vec<(String, String)>,
    /// Free text under the totals; newlines are kept.
    pub notes: Option<String>,
    /// Bank details etc., on every page with "Page x of y"; newlines are kept.
    pub footer: Option<String>,
}

/// A company or a person, as printed in an address block.
#[derive(Debug, Clone, Default)]
pub struct Party {
    /// The first line, in bold.
    pub name: String,
    /// Address lines, one per line.
    pub lines: Vec<String>,
    /// E.g. "VAT ES B12345678", printed as given on a last, lighter line.
    pub tax_id: Option<String>,
}

/// A group of lines: a heading row, the lines, optionally a subtotal row.
#[derive(Debug, Clone, Default)]
pub struct PdfGroup {
    /// The heading, in bold; empty for no heading.
    pub name: String,
    /// Printed as given, right-aligned on the heading row (e.g. "Discount 10 %").
    pub discount: Option<String>,
    /// When present, a "Subtotal <name>" row closes the group.
    pub subtotal: Option<String>,
    /// The lines of the group, in order.
    pub lines: Vec<PdfLine>,
}

/// One row of the lines table.
#[derive(Debug, Clone, Default)]
pub struct PdfLine {
    /// A comment line prints only its description, spanning the row.
    pub comment: bool,
    /// A SKU column appears when at least one line has one.
    pub sku: Option<String>,
    /// A second code, e.g. the supplier's own code for the product on a
    /// purchase order (see [`PdfDocument::code_heading`]).
    pub code: Option<String>,
    /// The description; newlines are kept.
    pub description: String,
    /// The quantity, formatted.
    pub quantity: String,
    /// The unit ("h", "pcs").
    pub unit: String,
    /// The unit price, formatted.
    pub unit_price: String,
    /// The line discount, formatted; the column appears only when at least
    /// one line has a non-empty discount.
    pub discount: String,
    /// The taxes applied ("VAT 21 %").
    pub taxes: String,
    /// The net amount of the line, formatted.
    pub net: String,
}

/// One row of the totals block.
#[derive(Debug, Clone, Default)]
pub struct PdfTotal {
    /// "Subtotal", "VAT 10 % on 53.48", "Total"...
    pub label: String,
    /// The amount, formatted.
    pub amount: String,
    /// Printed larger and bold (the grand total).
    pub strong: bool,
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// Typst could not lay the document out (e.g. the logo bytes are not an image).
    #[error("the PDF could not be laid out: {0}")]
    Layout(String),
    /// The laid-out document could not be written as PDF.
    #[error("the PDF could not be written: {0}")]
    Export(String),
}

/// Renders `doc` as a PDF file (A4, fonts embedded, text extractable).
///
/// # Errors
/// [`PdfError::Layout`] when typst fails to lay the document out (in practice:
/// logo bytes that are not a supported image), [`PdfError::Export`] when the
/// PDF writer fails.
pub fn render(doc: &PdfDocument) -> Result<Vec<u8>, PdfError> {
    let world = DocWorld { data: Bytes::new(to_json(doc).into_bytes()), logo: doc.logo_png.clone().map(Bytes::new) };
    let result = typst::compile(&world).output;
    let output = match result {
        Ok(document) => typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
            .map_err(|errors| PdfError::Export(describe(&errors))),
        Err(errors) => Err(PdfError::Layout(describe(&errors))),
    };
    // typst memoizes across compilations; drop what the last few renders did
    // not reuse so a long-running server does not grow without bound.
    typst::comemo::evict(5);
    output
}

/// The data the template reads from `/data.json`.
fn to_json(doc: &PdfDocument) -> String {
    fn party(p: &Party) -> Value {
        json!({ "name": p.name, "lines": p.lines, "tax_id": p.tax_id })
    }
    let groups: Vec<Value> = doc
        .groups
        .iter()
        .map(|g| {
            let lines: Vec<Value> = g
                .lines
                .iter()
                .map(|l| {
                    json!({
                        "comment": l.comment,
                        "sku": l.sku,
                        "code": l.code,
                        "description": l.description,
                        "quantity": l.quantity,
                        "unit": l.unit,
                        "unit_price": l.unit_price,
                        "discount": l.discount,
                        "taxes": l.taxes,
                        "net": l.net,
                    })
                })
                .collect();
            json!({ "name": g.name, "discount": g.discount, "subtotal": g.subtotal, "lines": lines })
        })
        .collect();
    let totals: Vec<Value> =
        doc.totals.iter().map(|t| json!({ "label": t.label, "amount": t.amount, "strong": t.strong })).collect();
    json!({
        "title": doc.title,
        "number": doc.number,
        "watermark": doc.watermark,
        "company": party(&doc.company),
        "has_logo": doc.logo_png.is_some(),
        "customer": party(&doc.customer),
        "customer_heading": if doc.customer_heading.is_empty() { "Bill to" } else { doc.customer_heading.as_str() },
        "ship_to": doc.ship_to.as_ref().map(party),
        "ship_to_heading": if doc.ship_to_heading.is_empty() { "Ship to" } else { doc.ship_to_heading.as_str() },
        "code_heading": if doc.code_heading.is_empty() { "Code" } else { doc.code_heading.as_str() },
        "facts": doc.facts,
        "currency": doc.currency,
        "groups": groups,
        "totals": totals,
        "due_dates": doc.due_dates,
        "notes": doc.notes,
        "footer": doc.footer,
    })
    .to_string()
}

/// The diagnostics' messages (with their hints), one per line.
fn describe(errors: &[SourceDiagnostic]) -> String {
    errors
        .iter()
        .map(|e| {
            let mut s = e.message.to_string();
            for hint in &e.hints {
                s.push_str(" (hint: ");
                s.push_str(&hint.v);
                s.push(')');
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The template, compiled into the binary.
const TEMPLATE: &str = include_str!("document.typ");

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("a valid virtual path");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

static MAIN_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/main.typ"));
static DATA_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/data.json"));
static LOGO_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/logo"));
static MAIN: LazyLock<Source> = LazyLock::new(|| Source::new(*MAIN_ID, TEMPLATE.to_owned()));
static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// The embedded fonts and their book, parsed once per process.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

/// One render's world: the fixed template and fonts, this document's data.
struct DocWorld {
    data: Bytes,
    logo: Option<Bytes>,
}

impl World for DocWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }

    fn main(&self) -> FileId {
        *MAIN_ID
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == *MAIN_ID {
            Ok(MAIN.clone())
        } else if id == *DATA_ID || id == *LOGO_ID {
            Err(FileError::NotSource)
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == *MAIN_ID {
            Ok(Bytes::from_string(TEMPLATE))
        } else if id == *DATA_ID {
            Ok(self.data.clone())
        } else if id == *LOGO_ID {
            self.logo.clone().ok_or_else(|| not_found(id))
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

/// Every other file, packages (`@preview/...`) included, does not exist.
fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}

#[cfg(test)]
mod tests;
