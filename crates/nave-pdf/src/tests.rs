use super::*;

/// Counts the page objects of a PDF: every `/Type /Page` dictionary entry
/// (with or without the space, as writers differ) *not* followed by `s`, so
/// the `/Type /Pages` tree nodes are not counted. typst writes page
/// dictionaries uncompressed, which `every_page_object_is_visible` checks.
fn page_count(pdf: &[u8]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while let Some(at) = find(&pdf[i..], b"/Type") {
        let mut j = i + at + b"/Type".len();
        while pdf.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
            j += 1;
        }
        if pdf[j..].starts_with(b"/Page") && pdf.get(j + 5) != Some(&b's') {
            count += 1;
        }
        i = j;
    }
    count
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `/Count N` of the page tree's root, to cross-check [`page_count`].
fn page_tree_count(pdf: &[u8]) -> Option<usize> {
    let at = find(pdf, b"/Count ")? + b"/Count ".len();
    let digits: String = pdf[at..].iter().take_while(|b| b.is_ascii_digit()).map(|&b| char::from(b)).collect();
    digits.parse().ok()
}

fn party(name: &str) -> Party {
    Party {
        name: name.into(),
        lines: vec!["Calle Mayor 1".into(), "28001 Madrid".into(), "Spain".into()],
        tax_id: Some("VAT ES B12345678".into()),
    }
}

fn line(i: usize) -> PdfLine {
    PdfLine {
        comment: false,
        sku: Some(format!("SKU-{i:04}")),
        code: None,
        description: format!("Consulting hours, item {i}"),
        quantity: "2.00".into(),
        unit: "h".into(),
        unit_price: "50.00".into(),
        discount: if i.is_multiple_of(3) { "10 %".into() } else { String::new() },
        taxes: "VAT 21 %".into(),
        net: "100.00".into(),
    }
}

fn invoice(groups: Vec<PdfGroup>) -> PdfDocument {
    PdfDocument {
        title: "Invoice".into(),
        number: Some("INV-2026-00042".into()),
        watermark: None,
        company: party("Nave Test S.L."),
        logo_png: None,
        customer: party("Customer Ltd"),
        customer_heading: String::new(),
        ship_to: None,
        ship_to_heading: String::new(),
        code_heading: String::new(),
        facts: vec![("Date".into(), "2026-12-01".into()), ("Payment terms".into(), "30 days".into())],
        currency: "EUR".into(),
        groups,
        totals: vec![
            PdfTotal { label: "Subtotal".into(), amount: "300.00".into(), strong: false },
            PdfTotal { label: "VAT 21 % on 300.00".into(), amount: "63.00".into(), strong: false },
            PdfTotal { label: "Total".into(), amount: "363.00".into(), strong: true },
        ],
        due_dates: vec![("2026-12-31".into(), "363.00".into())],
        notes: Some("Thank you for your business.".into()),
        footer: Some("IBAN ES00 0000 0000 0000 0000 0000".into()),
    }
}

fn three_line_invoice() -> PdfDocument {
    invoice(vec![PdfGroup { name: String::new(), discount: None, subtotal: None, lines: (1..=3).map(line).collect() }])
}

fn long_invoice() -> PdfDocument {
    let groups = (0..3)
        .map(|g| {
            let count = if g == 2 { 84 } else { 83 };
            PdfGroup {
                name: format!("Group {g}"),
                discount: Some("Discount 5 %".into()),
                subtotal: Some("1234.56".into()),
                lines: (0..count).map(|i| line(g * 100 + i)).collect(),
            }
        })
        .collect();
    invoice(groups)
}

fn assert_pdf(pdf: &[u8]) {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF: {:?}", &pdf[..pdf.len().min(16)]);
    assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"), "PDF not terminated");
}

#[test]
fn a_three_line_invoice_is_one_page() {
    let pdf = render(&three_line_invoice()).unwrap();
    assert_pdf(&pdf);
    assert_eq!(page_count(&pdf), 1);
    assert_eq!(page_tree_count(&pdf), Some(1));
}

#[test]
fn every_page_object_is_visible() {
    // The page counter only works because page dictionaries are not hidden in
    // compressed object streams; if a typst upgrade changes that, this fails
    // rather than the page counts silently reading 0.
    let pdf = render(&long_invoice()).unwrap();
    assert_eq!(Some(page_count(&pdf)), page_tree_count(&pdf));
}

#[test]
fn two_hundred_fifty_lines_break_across_pages() {
    let doc = long_invoice();
    assert_eq!(doc.groups.iter().map(|g| g.lines.len()).sum::<usize>(), 250);
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
    assert!(page_count(&pdf) > 1, "{} page(s)", page_count(&pdf));
}

#[test]
fn hostile_text_is_printed_not_evaluated() {
    let hostile = r#"#panic("x") ] [ $x^2$ *bold* _it_ <label> @ref \ \\ `raw` // c /* c = - + #let a = 1 {} é ß 中文 🙂 ' " ~ --- ..."#;
    let mut doc = three_line_invoice();
    doc.title = hostile.into();
    doc.number = Some(hostile.into());
    doc.watermark = Some(hostile.into());
    doc.company = party(hostile);
    doc.customer.lines.push(hostile.into());
    doc.customer.tax_id = Some(hostile.into());
    doc.ship_to = Some(party(hostile));
    doc.facts.push((hostile.into(), hostile.into()));
    doc.currency = hostile.into();
    doc.groups[0].name = hostile.into();
    doc.groups[0].discount = Some(hostile.into());
    doc.groups[0].subtotal = Some(hostile.into());
    doc.customer_heading = hostile.into();
    doc.ship_to_heading = hostile.into();
    doc.code_heading = hostile.into();
    for l in &mut doc.groups[0].lines {
        l.sku = Some(hostile.into());
        l.code = Some(hostile.into());
        l.description = format!("{hostile}\nsecond line");
        l.quantity = hostile.into();
        l.unit = hostile.into();
        l.unit_price = hostile.into();
        l.discount = hostile.into();
        l.taxes = hostile.into();
        l.net = hostile.into();
    }
    doc.groups[0].lines.push(PdfLine { comment: true, description: hostile.into(), ..PdfLine::default() });
    doc.totals.push(PdfTotal { label: hostile.into(), amount: hostile.into(), strong: true });
    doc.due_dates.push((hostile.into(), hostile.into()));
    doc.notes = Some(hostile.into());
    doc.footer = Some(hostile.into());
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
}

#[test]
fn an_empty_document_renders() {
    let pdf = render(&PdfDocument::default()).unwrap();
    assert_pdf(&pdf);
    assert_eq!(page_count(&pdf), 1);
}

#[test]
fn a_draft_with_comments_subtotals_and_ship_to_renders() {
    let mut doc = long_invoice();
    doc.number = None;
    doc.watermark = Some("DRAFT".into());
    doc.ship_to = Some(party("Warehouse"));
    for g in &mut doc.groups {
        g.lines.truncate(3);
        g.lines.push(PdfLine { comment: true, description: "Delivered in two parts".into(), ..PdfLine::default() });
    }
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
    assert_eq!(page_count(&pdf), 1);
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40) as u8, (y * 40) as u8, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn a_logo_renders_small_or_large() {
    for (w, h) in [(6, 3), (1200, 300)] {
        let mut doc = three_line_invoice();
        doc.logo_png = Some(png(w, h));
        let pdf = render(&doc).unwrap();
        assert_pdf(&pdf);
        assert_eq!(page_count(&pdf), 1);
        assert!(find(&pdf, b"/Subtype /Image").is_some() || find(&pdf, b"/Subtype/Image").is_some());
    }
}

#[test]
fn a_logo_that_is_not_an_image_is_a_layout_error() {
    let mut doc = three_line_invoice();
    doc.logo_png = Some(b"not an image".to_vec());
    assert!(matches!(render(&doc), Err(PdfError::Layout(_))));
}

#[test]
fn rendering_twice_gives_a_pdf_both_times() {
    let doc = three_line_invoice();
    let first = render(&doc).unwrap();
    let second = render(&doc).unwrap();
    assert_pdf(&first);
    assert_pdf(&second);
    assert_eq!(page_count(&second), 1);
}

#[test]
fn renders_from_several_threads_at_once() {
    let handles: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let mut doc = three_line_invoice();
                doc.number = Some(format!("INV-{i}"));
                render(&doc).unwrap()
            })
        })
        .collect();
    for h in handles {
        let pdf = h.join().unwrap();
        assert_pdf(&pdf);
        assert_eq!(page_count(&pdf), 1);
    }
}

#[test]
fn a_purchase_order_with_supplier_codes_and_a_delivery_address_renders() {
    let mut doc = three_line_invoice();
    doc.title = "Purchase order".into();
    doc.customer_heading = "Supplier".into();
    doc.ship_to = Some(party("Main warehouse"));
    doc.ship_to_heading = "Deliver to".into();
    doc.code_heading = "Supplier code".into();
    for (i, l) in doc.groups[0].lines.iter_mut().enumerate() {
        l.code = (i != 1).then(|| format!("GX-{i}"));
    }
    doc.logo_png = Some(png(300, 120));
    let pdf = render(&doc).unwrap();
    assert_pdf(&pdf);
    assert_eq!(page_count(&pdf), 1);
}

#[test]
fn text_is_extractable() {
    // Each embedded font carries a ToUnicode map, which is what PDF readers
    // use to copy and search text.
    let pdf = render(&three_line_invoice()).unwrap();
    assert!(find(&pdf, b"/ToUnicode").is_some());
}

#[test]
fn package_imports_are_not_found() {
    let world = DocWorld { data: Bytes::new(b"{}".to_vec()), logo: None };
    let spec: typst::syntax::package::PackageSpec = "@preview/example:0.1.0".parse().unwrap();
    let id = RootedPath::new(VirtualRoot::Package(spec), VirtualPath::new("/lib.typ").unwrap()).intern();
    assert!(matches!(world.file(id), Err(FileError::NotFound(_))));
    assert!(matches!(world.source(id), Err(FileError::NotFound(_))));
    assert!(world.today(None).is_none());
}

/// Prints render times; run with
/// `cargo nextest run -p nave-pdf --run-ignored only --no-capture` (best with `--release`).
#[test]
#[ignore = "timing report, not a check"]
fn render_times() {
    for (name, doc) in [("1 page", three_line_invoice()), ("250 lines", long_invoice())] {
        for run in 1..=3 {
            // A different number each run: typst memoizes, and an identical
            // document would come straight from its cache.
            let mut doc = doc.clone();
            doc.number = Some(format!("INV-2026-{run:05}"));
            let start = std::time::Instant::now();
            let pdf = render(&doc).unwrap();
            println!("{name}, run {run}: {:?}, {} pages, {} bytes", start.elapsed(), page_count(&pdf), pdf.len());
            if run == 3 {
                let path = std::env::temp_dir().join(format!("nave-pdf-{}.pdf", name.replace(' ', "-")));
                std::fs::write(&path, &pdf).unwrap();
                println!("written to {}", path.display());
            }
        }
    }
}
