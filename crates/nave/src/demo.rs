//! `nave demo`: a living demo company, so a newcomer sees Nave at work.
//!
//! Deterministic (no randomness between runs) and idempotent: run twice, it
//! loads once. Each feature adds its demo data here.

use nave_domain::account::AccountKind;
use nave_domain::address::{AccountAddress, PostalAddress};
use nave_domain::catalog::ProductKind;
use nave_domain::contact::{ConsentChange, Phone};
use nave_domain::email::Email;
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::tax::TaxTreatment;
use nave_store::Db;
use nave_store::accounts::{self, NewAccount};
use nave_store::audit::Actor;
use nave_store::auth::hash_password;
use nave_store::catalog::{self, ComponentInput, ProductInput, SupplierInput, WarehouseInput};
use nave_store::contacts::{self, NewContact};
use nave_store::price_lists::{self, ItemInput, PriceListInput};
use nave_store::stock::{self, StockLineInput};
use nave_store::taxes::{self, TaxInput};
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::users::{self, NewUser};
use nave_store::{StoreResult, teams};

/// The password of every demo user (printed by the demo).
pub const DEMO_PASSWORD: &str = "nave-demo-2026";

/// The demo users: (e-mail, name, role, team).
pub const DEMO_USERS: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin@demo.example", "Ada Admin", "admin", None),
    ("maria@demo.example", "Maria Manager", "sales_manager", Some("North")),
    ("rob@demo.example", "Rob Rep", "sales_rep", Some("North")),
    ("sara@demo.example", "Sara Seller", "sales_rep", Some("South")),
    ("olga@demo.example", "Olga Orders", "order_desk", None),
    ("will@demo.example", "Will Warehouse", "warehouse", None),
    ("alan@demo.example", "Alan Accounts", "accounting", None),
    ("sue@demo.example", "Sue Support", "support", None),
];

/// Product lines and their products: (SKU, name, kind, unit, list price, cost).
type DemoProduct = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

const DEMO_CATALOG: &[(&str, &[DemoProduct])] = &[
    (
        "Power tools",
        &[
            ("PT-DRL-18", "Cordless drill 18 V", "goods", "pc", "129.90", "71.25"),
            ("PT-IMP-18", "Impact driver 18 V", "goods", "pc", "149.00", "82.40"),
            ("PT-SAW-CIR", "Circular saw 1400 W", "goods", "pc", "189.00", "104.10"),
            ("PT-GRN-125", "Angle grinder 125 mm", "goods", "pc", "79.50", "41.30"),
            ("PT-BAT-50", "Battery pack 5.0 Ah", "goods", "pc", "69.00", "33.90"),
        ],
    ),
    (
        "Hand tools",
        &[
            ("HT-HAM-16", "Claw hammer 16 oz", "goods", "pc", "24.90", "9.80"),
            ("HT-SCR-SET", "Screwdriver set, 12 pieces", "goods", "set", "34.50", "14.20"),
            ("HT-WRN-SET", "Combination wrench set", "goods", "set", "59.00", "27.75"),
            ("HT-TAPE-8", "Tape measure 8 m", "goods", "pc", "12.75", "4.10"),
        ],
    ),
    (
        "Fasteners",
        &[
            ("FS-SCR-4x40", "Wood screws 4 x 40 mm, box of 200", "goods", "box", "8.95", "3.1200"),
            ("FS-ANC-8", "Wall anchors 8 mm, box of 100", "goods", "box", "6.50", "2.0450"),
            ("FS-BLT-M10", "Hex bolts M10, box of 50", "goods", "box", "14.20", "6.3300"),
        ],
    ),
    (
        "Safety",
        &[
            ("SF-GLV-L", "Work gloves, size L", "goods", "pair", "7.90", "2.65"),
            ("SF-GOG-01", "Safety goggles", "goods", "pc", "11.50", "3.95"),
            ("SF-HLM-01", "Hard hat", "goods", "pc", "19.90", "8.10"),
        ],
    ),
    (
        "Services",
        &[
            ("SV-INST-H", "Installation, per hour", "service", "h", "65.00", "38.00"),
            ("SV-REP-FLAT", "Tool repair, flat rate", "service", "pc", "45.00", "22.00"),
            ("SV-TRAIN-D", "Safety training day", "service", "day", "480.00", "260.00"),
        ],
    ),
];

/// A tiny deterministic generator (a linear congruential one): the same demo every time.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const FIRST: &[&str] = &[
    "Alder",
    "Birch",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Northwind",
    "Orchid",
    "Pioneer",
    "Quarry",
    "Redwood",
    "Summit",
    "Tidewater",
    "Upland",
    "Vantage",
    "Willow",
    "Yarrow",
    "Zenith",
];
const SECOND: &[&str] = &[
    "Tools",
    "Foods",
    "Logistics",
    "Medical",
    "Textiles",
    "Hardware",
    "Electric",
    "Packaging",
    "Farms",
    "Builders",
    "Optics",
    "Coffee",
    "Outdoor",
    "Print",
    "Labs",
];
const SUFFIX: &[&str] = &["Ltd", "GmbH", "Inc.", "S.A.", "& Co.", "LLC", "B.V.", "AB"];
const TAGS: &[&str] = &["wholesale", "retail", "export", "key account", "new", "seasonal"];
const INDUSTRIES: &[&str] = &[
    "Construction",
    "Manufacturing",
    "Retail",
    "Wholesale",
    "Hospitality",
    "Facilities management",
    "Agriculture",
    "Logistics",
    "Healthcare",
    "Education",
    "Public sector",
    "Energy",
];
/// Cities by currency: (city, region, postal code prefix, country).
const CITIES_USD: &[(&str, &str, &str, &str)] = &[
    ("Chicago", "IL", "606", "US"),
    ("Denver", "CO", "802", "US"),
    ("Austin", "TX", "787", "US"),
    ("Portland", "OR", "972", "US"),
    ("Columbus", "OH", "432", "US"),
    ("Raleigh", "NC", "276", "US"),
];
const CITIES_GBP: &[(&str, &str, &str, &str)] = &[
    ("Leeds", "West Yorkshire", "LS1", "GB"),
    ("Bristol", "", "BS1", "GB"),
    ("Glasgow", "", "G2", "GB"),
    ("Hull", "East Riding", "HU1", "GB"),
];
const CITIES_EUR: &[(&str, &str, &str, &str)] = &[
    ("Hamburg", "", "20", "DE"),
    ("Lyon", "", "690", "FR"),
    ("Utrecht", "", "35", "NL"),
    ("Valencia", "", "460", "ES"),
    ("Turin", "TO", "101", "IT"),
    ("Graz", "", "80", "AT"),
];
const STREETS: &[&str] = &[
    "Mill Lane",
    "Harbour Road",
    "Station Street",
    "Industrial Park",
    "Market Square",
    "Canal Side",
    "Commerce Drive",
    "Orchard Way",
];
const PEOPLE_FIRST: &[&str] = &[
    "Anna", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Liam", "Maya",
    "Nils", "Olivia", "Pedro", "Rosa", "Sam", "Tara", "Umar", "Vera", "Wei", "Yusuf", "Zoe",
];
const PEOPLE_LAST: &[&str] = &[
    "Andersen", "Baker", "Costa", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ivanova", "Jensen", "Kowalski",
    "Lambert", "Müller", "Nakamura", "O'Brien", "Patel", "Quinn", "Rossi", "Schmidt", "Thompson", "Varga", "Walsh",
];
const TITLES: &[&str] = &[
    "Purchasing manager",
    "Head of operations",
    "Accounts payable",
    "Managing director",
    "Site manager",
    "Buyer",
    "Office manager",
    "Warehouse lead",
];
const CONSENT_SOURCES: &[&str] = &["web form", "trade fair", "newsletter sign-up", "phone call"];

/// A demo phone number for a currency's country, in a range kept for fiction where there is one.
fn demo_phone(code: &str, n: u64) -> String {
    match code {
        "USD" => format!("+1 312 555 {:04}", 100 + n % 100),
        "GBP" => format!("+44 113 496 {:04}", n % 1000),
        _ => format!("+49 40 5550 {:04}", n % 10_000),
    }
}

/// Industry, website, phone and addresses of a demo account.
fn crm_details(rng: &mut Lcg, name: &str, code: &str) -> (String, String, String, Vec<AccountAddress>) {
    let slug: String = name
        .split_whitespace()
        .take(2)
        .map(|w| w.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>())
        .collect::<Vec<_>>()
        .join("-");
    let cities = match code {
        "USD" => CITIES_USD,
        "GBP" => CITIES_GBP,
        _ => CITIES_EUR,
    };
    let address = |rng: &mut Lcg, label: &str| {
        let (city, region, postal, country) = *rng.pick(cities);
        PostalAddress {
            label: label.to_string(),
            line1: format!("{} {}", 1 + rng.next() % 180, rng.pick(STREETS)),
            line2: None,
            city: city.into(),
            region: Some(region.to_string()).filter(|r| !r.is_empty()),
            postal_code: Some(format!("{postal}{:02}", rng.next() % 100)),
            country: country.into(),
        }
    };
    let mut addresses = vec![AccountAddress::of(address(rng, "Head office"), true, true)];
    if rng.chance(30) {
        addresses[0].is_default_shipping = false;
        addresses.push(AccountAddress::of(address(rng, "Warehouse"), false, true));
    }
    let phone = demo_phone(code, rng.next());
    (rng.pick(INDUSTRIES).to_string(), format!("https://www.{slug}.example"), phone, addresses)
}

/// One to four people at a demo account, some of whom agreed to marketing
/// (at some time in the last three years).
fn demo_contacts(rng: &mut Lcg, account: PublicId, website: &str, code: &str) -> Vec<NewContact> {
    let domain = website.trim_start_matches("https://www.");
    let mut out: Vec<NewContact> = Vec::new();
    for _ in 0..1 + rng.next() % 4 {
        let first = *rng.pick(PEOPLE_FIRST);
        let last = *rng.pick(PEOPLE_LAST);
        if out.iter().any(|c| c.first_name == first && c.last_name == last) {
            continue;
        }
        let local: String = format!("{first}.{last}")
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'á' | 'à' | 'ä' => 'a',
                'é' | 'è' => 'e',
                'í' => 'i',
                'ó' | 'ö' => 'o',
                'ú' | 'ü' => 'u',
                'ç' => 'c',
                'ñ' => 'n',
                c => c,
            })
            .filter(|c| c.is_ascii_alphabetic() || *c == '.')
            .collect();
        let consent = if rng.chance(35) {
            let days = (rng.next() % 1000) as i64;
            ConsentChange {
                given: Some(true),
                at: Some(Some(time::OffsetDateTime::now_utc() - time::Duration::days(days + 1))),
                source: Some(Some(rng.pick(CONSENT_SOURCES).to_string())),
            }
        } else {
            ConsentChange::default()
        };
        out.push(NewContact {
            account_id: Some(account),
            first_name: first.into(),
            last_name: last.into(),
            title: Some(rng.pick(TITLES).to_string()),
            emails: vec![format!("{local}@{domain}")],
            phones: vec![Phone { label: "mobile".into(), number: demo_phone(code, rng.next()) }],
            consent,
            ..Default::default()
        });
    }
    out
}

/// Loads the demo company unless it is already there.
pub async fn load(db: &Db) -> StoreResult<()> {
    let system = Actor::system(DEFAULT_TENANT);
    let mut tx = db.write().await?;
    let admin = Email::parse(DEMO_USERS[0].0).expect("demo e-mail");
    if users::get_by_email(&mut tx, DEFAULT_TENANT, &admin).await?.is_some() {
        eprintln!("The demo company is already loaded.");
        return tx.rollback().await;
    }
    eprintln!("Loading the demo company…");
    let north = teams::create(&mut tx, &system, "North").await?;
    let south = teams::create(&mut tx, &system, "South").await?;
    let hash = hash_password(DEMO_PASSWORD);
    let mut sellers: Vec<PublicId> = Vec::new();
    let mut support = None;
    for (email, name, role, team) in DEMO_USERS {
        let team_id = match team {
            Some("North") => Some(north.id),
            Some(_) => Some(south.id),
            None => None,
        };
        let u = users::create(
            &mut tx,
            &system,
            NewUser {
                email: Email::parse(email).expect("demo e-mail"),
                name: (*name).into(),
                password_hash: Some(hash.clone()),
                role: (*role).into(),
                team_id,
                // Two of the team read their own formats: 1.234,56 € and 05/12/2026.
                locale: match *email {
                    "sara@demo.example" => Some("de-DE".into()),
                    "alan@demo.example" => Some("en-GB".into()),
                    _ => None,
                },
            },
        )
        .await?;
        if matches!(*role, "sales_rep" | "sales_manager") {
            sellers.push(u.id);
        }
        if *role == "support" {
            support = Some((u.id, u.key));
        }
    }

    let mut rng = Lcg(2026);
    // The CRM details draw from their own sequence, so the accounts stay the ones earlier demos had.
    let mut crm = Lcg(4711);
    let terms = nave_store::payment_terms::list(&mut tx, DEFAULT_TENANT, false).await?;
    let term = |name: &str| terms.iter().find(|t| t.name == name).map(|t| t.id);
    let mut contacts_made = 0;
    let currencies = [("USD", 60), ("EUR", 30), ("GBP", 10)];
    let mut groups: Vec<PublicId> = Vec::new();
    let mut supplier_ids: Vec<PublicId> = Vec::new();
    let mut wholesale_accounts: Vec<PublicId> = Vec::new();
    let mut customers: Vec<CrmAccount> = Vec::new();
    for i in 0..150 {
        let name = format!("{} {} {}", rng.pick(FIRST), rng.pick(SECOND), rng.pick(SUFFIX));
        let name = if i % 25 == 0 { format!("{name} Group") } else { name };
        let roll = rng.next() % 100;
        let mut acc = 0;
        let mut code = "USD";
        for (c, w) in currencies {
            acc += w;
            if roll < acc {
                code = c;
                break;
            }
        }
        let kind_roll = rng.next() % 100;
        let kinds = match kind_roll {
            0..=64 => vec![AccountKind::Customer],
            65..=79 => vec![AccountKind::Prospect],
            80..=89 => vec![AccountKind::Supplier],
            90..=94 => vec![AccountKind::Customer, AccountKind::Supplier],
            _ => vec![AccountKind::Partner],
        };
        let limit = if kinds.contains(&AccountKind::Customer) {
            Some(format!("{}.00", [5_000, 10_000, 25_000, 50_000, 100_000][(rng.next() % 5) as usize]))
        } else {
            None
        };
        let mut tags: Vec<String> = Vec::new();
        if rng.chance(40) {
            tags.push((*rng.pick(TAGS)).to_string());
        }
        if rng.chance(15) {
            tags.push((*rng.pick(TAGS)).to_string());
        }
        let parent_id =
            if i % 25 != 0 && !groups.is_empty() && rng.chance(10) { Some(*rng.pick(&groups)) } else { None };
        let is_customer = kinds.contains(&AccountKind::Customer);
        let (industry, website, phone, addresses) = crm_details(&mut crm, &name, code);
        let new = NewAccount {
            kinds,
            parent_id,
            owner_id: Some(*rng.pick(&sellers)),
            credit_limit: limit,
            tax_id: rng.chance(70).then(|| format!("{}{:09}", &code[..2], rng.next() % 1_000_000_000)),
            // Some European customers buy under the reverse charge.
            tax_treatment: if code == "EUR" && i % 3 == 0 {
                TaxTreatment::ReverseCharge
            } else {
                TaxTreatment::Standard
            },
            tags,
            industry: Some(industry),
            website: Some(website.clone()),
            phone: Some(phone),
            payment_terms_id: if is_customer {
                term(["Net 30", "Net 30", "Net 14", "30 days end of month"][(crm.next() % 4) as usize])
            } else {
                None
            },
            addresses,
            // Customers are also kept in the accounting package, by its customer number.
            external_ids: if is_customer { vec![ExternalId::new("erp", format!("C-{}", 10_000 + i))] } else { vec![] },
            ..NewAccount::named(name, Currency::parse(code).expect("demo currency"))
        };
        let a = accounts::create(&mut tx, &system, new).await?;
        for c in demo_contacts(&mut crm, a.id, &website, code) {
            contacts::create(&mut tx, &system, c).await?;
            contacts_made += 1;
        }
        if a.tags.iter().any(|t| t == "wholesale") && a.currency.code() == "USD" {
            wholesale_accounts.push(a.id);
        }
        if a.kinds.contains(&AccountKind::Supplier) && !a.archived {
            supplier_ids.push(a.id);
        }
        if i % 25 == 0 {
            groups.push(a.id);
        }
        if rng.chance(5) {
            let patch = accounts::AccountPatch { archived: Some(true), ..Default::default() };
            accounts::update(&mut tx, &system, &a, None, patch).await?;
        } else if let (true, Some(key), Some(id)) = (
            a.kinds.iter().any(|k| matches!(k, AccountKind::Customer | AccountKind::Prospect)),
            a.ownership.owner_id,
            a.owner_id,
        ) {
            let prospect = !a.kinds.contains(&AccountKind::Customer);
            customers.push(CrmAccount { id: a.id, owner: (id, key), prospect });
        }
    }
    let mut tax_ids = Vec::new();
    for (name, rate, from) in [
        ("VAT 20 %", 20, None),
        ("Reduced VAT 5 %", 5, None),
        ("Zero rate", 0, None),
        ("NY sales tax 8.875 %", 0, Some(time::macros::date!(2025 - 01 - 01))),
    ] {
        let rate = if rate == 0 && from.is_some() {
            rust_decimal::Decimal::new(8875, 3)
        } else {
            rust_decimal::Decimal::from(rate)
        };
        let input = TaxInput { name: name.into(), rate, valid_from: from, valid_to: None, active: true };
        tax_ids.push(taxes::create_tax(&mut tx, &system, input).await?.id);
    }
    for (name, ids) in [
        ("Standard goods", vec![tax_ids[0]]),
        ("Food and books", vec![tax_ids[1]]),
        ("Exports", vec![tax_ids[2]]),
        ("New York sales", vec![tax_ids[3]]),
    ] {
        taxes::create_category(&mut tx, &system, name, &ids).await?;
    }
    let standard =
        taxes::list_categories(&mut tx, DEFAULT_TENANT).await?.into_iter().find(|c| c.name == "Standard goods");
    let mut products = 0;
    let mut kit_parts = Vec::new();
    let mut first_line = None;
    for (line, items) in DEMO_CATALOG {
        let cat = catalog::create_category(&mut tx, &system, line, None).await?;
        first_line.get_or_insert(cat.id);
        for (sku, name, kind, unit, price, cost) in *items {
            let input = ProductInput {
                sku: (*sku).into(),
                name: (*name).into(),
                description: String::new(),
                kind: ProductKind::parse(kind).expect("demo kind"),
                unit: (*unit).into(),
                category_id: Some(cat.id),
                currency: Currency::parse("USD").expect("USD"),
                list_price: (*price).into(),
                cost: (*cost).into(),
                tax_category_id: standard.as_ref().map(|c| c.id),
                weight_kg: None,
                barcode: None,
                notes: String::new(),
                active: true,
                components: None,
                suppliers: (*kind == "goods" && !supplier_ids.is_empty()).then(|| {
                    vec![SupplierInput {
                        supplier_id: supplier_ids[products % supplier_ids.len()],
                        supplier_code: Some(format!("S-{}", sku.replace('-', ""))),
                        cost: (*cost).into(),
                        lead_time_days: 7 + (products as i64 % 4) * 7,
                        min_quantity: "10".into(),
                        preferred: true,
                    }]
                }),
                // The web shop knows the goods by its own numbers.
                external_ids: (*kind == "goods")
                    .then(|| vec![ExternalId::new("webshop", format!("WS-{}", 4100 + products))]),
            };
            let created = catalog::create_product(&mut tx, &system, input).await?;
            kit_parts.push(created.id);
            products += 1;
        }
    }
    // A kit: the drill with a spare battery and goggles, sold as one item.
    let kit = ProductInput {
        sku: "KIT-DRL-START".into(),
        name: "Drill starter kit".into(),
        description: "Cordless drill, spare battery and safety goggles".into(),
        kind: ProductKind::Kit,
        unit: "kit".into(),
        category_id: first_line,
        currency: Currency::parse("USD").expect("USD"),
        list_price: "199.00".into(),
        cost: "0".into(),
        tax_category_id: standard.as_ref().map(|c| c.id),
        weight_kg: None,
        barcode: None,
        notes: String::new(),
        active: true,
        components: Some(
            [(0, "1"), (4, "1"), (13, "1")]
                .iter()
                .map(|(i, q)| ComponentInput { product_id: kit_parts[*i], quantity: (*q).into() })
                .collect(),
        ),
        suppliers: None,
        external_ids: None,
    };
    catalog::create_product(&mut tx, &system, kit).await?;
    products += 1;
    // Pictures for the goods, so the list shows thumbnails: one colour per product line.
    let mut line_of = Vec::new();
    for (i, (_, items)) in DEMO_CATALOG.iter().enumerate() {
        line_of.extend(items.iter().map(|_| i));
    }
    for (n, id) in kit_parts.iter().enumerate() {
        let Some(p) = catalog::get_product(&mut tx, DEFAULT_TENANT, *id).await? else { continue };
        if p.kind != ProductKind::Goods {
            continue;
        }
        let picture = nave_web::pictures::prepare(demo_picture(line_of[n], n)).expect("the demo picture is a PNG");
        catalog::set_picture(&mut tx, &system, &p, None, Some(picture)).await?;
    }
    // A wholesale price list for the bigger customers: 8 % off, 12 % from 10 units.
    let goods_for_list: Vec<_> =
        catalog::list_products(&mut tx, DEFAULT_TENANT, &catalog::ProductQuery { limit: 200, ..Default::default() })
            .await?
            .items
            .into_iter()
            .filter(|p| p.kind == ProductKind::Goods)
            .collect();
    let discounted = |price: &str, pct: i64| {
        let e4 = nave_domain::money::parse_unit_price(price).unwrap_or(0);
        let cents = (e4 * (100 - pct) / 100 + 50) / 100;
        format!("{}.{:02}", cents / 100, cents % 100)
    };
    let mut items = Vec::new();
    for p in &goods_for_list {
        items.push(ItemInput { product_id: p.id, min_quantity: "0".into(), price: discounted(&p.list_price, 8) });
        items.push(ItemInput { product_id: p.id, min_quantity: "10".into(), price: discounted(&p.list_price, 12) });
    }
    let wholesale = PriceListInput {
        name: "Wholesale 2026".into(),
        currency: Currency::parse("USD").expect("USD"),
        valid_from: Some(time::macros::date!(2026 - 01 - 01)),
        valid_to: Some(time::macros::date!(2026 - 12 - 31)),
        active: true,
        items: Some(items),
        account_ids: Some(wholesale_accounts.clone()),
    };
    price_lists::create(&mut tx, &system, wholesale).await?;
    let mut warehouses = Vec::new();
    for (name, address, negative) in [
        ("Main warehouse", "12 Harbour Road\nHull HU1 2AB\nUnited Kingdom", false),
        ("Rotterdam hub", "Havenstraat 8\n3011 Rotterdam\nNetherlands", false),
        ("Drop-ship virtual", "", true),
    ] {
        let input =
            WarehouseInput { name: name.into(), address: address.into(), allow_negative_stock: negative, active: true };
        warehouses.push(catalog::create_warehouse(&mut tx, &system, input).await?.id);
    }
    // Opening stock of every stocked product in the two real warehouses, at its cost.
    let goods: Vec<_> =
        catalog::list_products(&mut tx, DEFAULT_TENANT, &catalog::ProductQuery { limit: 200, ..Default::default() })
            .await?
            .items
            .into_iter()
            .filter(|p| p.kind == ProductKind::Goods)
            .collect();
    for (i, wh) in warehouses.iter().take(2).enumerate() {
        let lines: Vec<StockLineInput> = goods
            .iter()
            .enumerate()
            .map(|(j, p)| StockLineInput {
                product_id: p.id,
                quantity: ((j as i64 * 7 + 5) % 40 + 10 * (2 - i as i64)) * 10_000,
                unit_cost: None,
            })
            .collect();
        stock::adjust(&mut tx, &system, *wh, "opening balance", &lines).await?;
    }
    let today = nave_store::db::now();
    let opportunities = demo_pipeline(&mut tx, &mut rng, &customers, today).await?;
    let support = support.expect("the demo has a support user");
    let cases = demo_cases(&mut tx, &mut rng, &customers, &goods, support, today).await?;
    let activities = demo_activities(&mut tx, &mut rng, &customers, today).await?;
    let leads = demo_leads(&mut tx, &mut rng, &customers, today).await?;
    let (quotes, invoices, payments) = demo_sales(&mut tx, &mut rng, &customers, &goods, warehouses[0], today).await?;
    let purchases = demo_purchases(&mut tx, &goods, &supplier_ids, warehouses[0], today).await?
        + demo_company_and_reorder(&mut tx, &goods, &supplier_ids, warehouses[0], today).await?
        + demo_drop_ship(&mut tx, &customers, &goods, warehouses[0], today).await?;
    demo_webhook(&mut tx, &admin).await?;
    crate::demo_sync::load(&mut tx, &customers.iter().map(|c| c.id).collect::<Vec<_>>()).await?;
    crate::demo_sync::load_shop(&mut tx, warehouses[0]).await?;
    tx.commit().await?;
    eprintln!(
        "Loaded 2 teams, {} users, 150 accounts with {contacts_made} contacts, 4 taxes, {} product lines with \
         {products} products, 3 warehouses, {opportunities} opportunities, {cases} cases, {activities} activities, \
         {leads} leads, {quotes} quotes, {invoices} invoices, {payments} payments and {purchases} purchase orders.",
        DEMO_USERS.len(),
        DEMO_CATALOG.len()
    );
    Ok(())
}

/// A webhook to the accounting system, paused (its URL is an example), so the
/// webhook pages show what one looks like.
async fn demo_webhook(tx: &mut nave_store::Tx, admin: &Email) -> StoreResult<()> {
    use nave_store::webhooks::{self, NewSubscription};
    let owner = users::get_by_email(tx, DEFAULT_TENANT, admin).await?.expect("the demo admin exists");
    let new = NewSubscription {
        kind: nave_store::webhooks::Kind::Webhook,
        url: "https://accounting.example.com/hooks/nave".into(),
        description: Some("Accounting sync (example)".into()),
        event_types: vec!["account".into(), "invoice".into(), "credit_note".into(), "payment".into()],
        active: false,
        system: Some("accounting".into()),
        secret: None,
        owner_key: owner.key,
    };
    webhooks::create(tx, &Actor::system(DEFAULT_TENANT), new).await?;
    Ok(())
}

/// Prints the demo logins.
pub fn print_logins() {
    eprintln!("\nDemo logins (password for all: {DEMO_PASSWORD}):");
    for (email, name, role, _) in DEMO_USERS {
        eprintln!("  {email:<22} {name:<16} {role}");
    }
    eprintln!();
}

/// A simple product shot for the demo: a box of the product line's colour on
/// a soft backdrop, varied a little per product.
fn demo_picture(line: usize, n: usize) -> Vec<u8> {
    const COLOURS: [[u8; 3]; 6] =
        [[214, 92, 40], [40, 112, 190], [60, 150, 90], [150, 80, 170], [200, 160, 40], [90, 100, 110]];
    let [r, g, b] = COLOURS[line % COLOURS.len()];
    let (w, h) = (480u32, 360u32);
    let inset = 60 + (n as u32 % 4) * 15;
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let inside = x > inset && x < w - inset && y > inset / 2 + 40 && y < h - inset / 2;
        if inside {
            let shade = 1.0 - (y as f32 / h as f32) * 0.35;
            image::Rgb([(r as f32 * shade) as u8, (g as f32 * shade) as u8, (b as f32 * shade) as u8])
        } else {
            let v = 245 - (y * 25 / h) as u8;
            image::Rgb([v, v, v.saturating_add(4)])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("a PNG encodes into memory");
    out.into_inner()
}

/// An active customer or prospect account, for the demo's CRM records.
struct CrmAccount {
    id: PublicId,
    /// The account owner: (public id, key).
    owner: (PublicId, i64),
    prospect: bool,
}

fn as_user(key: i64) -> Actor {
    Actor { user_id: Some(key), ..Actor::system(DEFAULT_TENANT) }
}

const DEAL_NAMES: &[&str] = &[
    "Workshop fit-out",
    "Power tool fleet renewal",
    "Safety gear framework contract",
    "Fastener supply agreement",
    "Annual service contract",
    "Site safety training",
    "Cordless platform switch",
    "New branch opening",
    "Replacement hand tools",
    "Maintenance crew equipment",
];
const SOURCES: &[&str] = &["referral", "web", "trade fair", "cold call", "partner", "existing customer"];
const WON_REASONS: &[&str] = &[
    "Best price for the volume",
    "Existing relationship and good service",
    "Fastest delivery promise",
    "Strong product demonstration",
    "Bundled with a service contract",
];
const LOST_REASONS: &[&str] = &[
    "Price too high",
    "Chose a competitor",
    "No budget this year",
    "Project cancelled",
    "No decision made",
    "Lead time too long",
];

/// 2½ years of opportunities: older ones mostly won or lost, recent ones open
/// at every stage, each with the stage history of its way through the pipeline.
async fn demo_pipeline(
    tx: &mut nave_store::Tx,
    rng: &mut Lcg,
    customers: &[CrmAccount],
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_store::pipeline::{self, NewOpportunity, OpportunityPatch};
    use time::Duration;
    let stages = pipeline::list_stages(tx, DEFAULT_TENANT).await?;
    let (open, won, lost) = (&stages[..4], &stages[4], &stages[5]);
    let count = 320;
    for n in 0..count {
        let acc = rng.pick(customers);
        let actor = as_user(acc.owner.1);
        let age_days = (rng.next() % 900) as i64;
        let mut at = today - Duration::days(age_days) - Duration::minutes((rng.next() % 600) as i64);
        let amount = (15 + rng.next() % 1585) as i64 * 50; // 750 to 80,000
        let amount = if acc.prospect { amount / 2 } else { amount };
        let mut close = (at + Duration::days(30 + (rng.next() % 120) as i64)).date();
        if close < today.date() {
            // Still open deals are expected to close in the future.
            close = today.date() + Duration::days(7 + (rng.next() % 200) as i64);
        }
        let new = NewOpportunity {
            account_id: acc.id,
            name: format!("{} {}", rng.pick(DEAL_NAMES), at.year()),
            stage_id: Some(open[0].id),
            probability: None,
            amount: Some(format!("{amount}")),
            currency: None,
            expected_close: close,
            owner_id: None,
            team_id: None,
            source: Some((*rng.pick(SOURCES)).to_string()),
            description: String::new(),
            lost_reason: None,
            won_reason: None,
        };
        let mut opp = pipeline::create(tx, &actor, new, at).await?;
        // How far it gets: older deals have had time to finish.
        let roll = rng.next() % 100;
        let (reach, outcome) = match (age_days > 120, roll) {
            (true, 0..=34) => (1 + (rng.next() % 3) as usize, Some(true)),
            (true, 35..=79) => ((rng.next() % 4) as usize, Some(false)),
            (_, _) => ((rng.next() % 4) as usize, None),
        };
        let mut moved = |at: &mut time::OffsetDateTime| {
            *at += Duration::days(3 + (rng.next() % 25) as i64) + Duration::minutes((rng.next() % 480) as i64);
            *at < today
        };
        for stage in &open[1..=reach.min(3)] {
            if !moved(&mut at) {
                break;
            }
            let probability = (n % 9 == 0).then_some(stage.probability + 5);
            let patch = OpportunityPatch { stage_id: Some(stage.id), probability, ..Default::default() };
            opp = pipeline::update(tx, &actor, &opp, None, patch, at).await?;
        }
        if let Some(win) = outcome.filter(|_| moved(&mut at)) {
            let (stage, reasons) = if win { (won, WON_REASONS) } else { (lost, LOST_REASONS) };
            let reason = Some(Some((*rng.pick(reasons)).to_string()));
            let patch = OpportunityPatch {
                stage_id: Some(stage.id),
                expected_close: Some(at.date()),
                won_reason: if win { reason.clone() } else { None },
                lost_reason: if win { None } else { reason },
                ..Default::default()
            };
            pipeline::update(tx, &actor, &opp, None, patch, at).await?;
        }
    }
    Ok(count)
}

const CASE_SUBJECTS: &[(&str, &str)] = &[
    ("question", "How do I register the warranty?"),
    ("question", "Which battery fits the older drill?"),
    ("question", "Can we get a copy of the invoice?"),
    ("question", "Is there a volume discount for gloves?"),
    ("question", "When is the next safety training?"),
    ("problem", "Drill stops after a minute under load"),
    ("problem", "Charger light blinks red"),
    ("problem", "Delivery arrived with a damaged box"),
    ("problem", "Wrong size of wall anchors delivered"),
    ("problem", "Grinder disc guard does not lock"),
    ("complaint", "Invoice total does not match the quote"),
    ("complaint", "Delivery was a week late"),
    ("complaint", "Technician did not show up"),
    ("complaint", "Rude answer on the phone"),
];
const RESOLUTIONS: &[&str] = &[
    "Explained the steps by phone and sent the guide.",
    "Sent a replacement part free of charge.",
    "Credit note issued for the difference.",
    "Replaced the unit under warranty.",
    "Re-delivered the correct items; the wrong ones were collected.",
    "Apologised and booked a new appointment.",
];
const COMMENTS: &[&str] = &["Quick and friendly", "Took too long", "Solved at the first call", "Fine", "Very helpful"];

/// 2½ years of service cases: a spread of kinds, priorities and statuses,
/// first responses and resolutions as fast as priority and luck allow, and
/// customers' ratings on most resolved ones.
async fn demo_cases(
    tx: &mut nave_store::Tx,
    rng: &mut Lcg,
    customers: &[CrmAccount],
    goods: &[catalog::Product],
    support: (PublicId, i64),
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_domain::case::{CaseAction, CaseKind, CasePriority};
    use nave_store::cases::{self, CasePatch, DocumentRef, NewCase};
    use time::Duration;
    let sue = as_user(support.1);
    let count = 240;
    for n in 0..count {
        let acc = rng.pick(customers);
        let (kind, subject) = *rng.pick(CASE_SUBJECTS);
        let priority = match rng.next() % 100 {
            0..=19 => CasePriority::Low,
            20..=69 => CasePriority::Normal,
            70..=91 => CasePriority::High,
            _ => CasePriority::Urgent,
        };
        // Recent cases are more likely to be still in the works.
        let recent = n % 4 == 0;
        let age_minutes = match (n >= count - 8, recent) {
            (true, _) => (rng.next() % 240) as i64, // logged this morning: some are still new
            (_, true) => (rng.next() % (21 * 1440)) as i64,
            _ => (rng.next() % (900 * 1440)) as i64,
        };
        let mut at = today - Duration::minutes(age_minutes);
        let queued = rng.chance(35);
        let new = NewCase {
            account_id: acc.id,
            subject: subject.into(),
            description: String::new(),
            kind: kind.parse::<CaseKind>().expect("demo case kind"),
            priority,
            assignee_id: if queued { Some(None) } else { None },
            team_id: None,
            product_id: (kind == "problem" && !goods.is_empty()).then(|| rng.pick(goods).id),
            document: (kind == "complaint" || rng.chance(15)).then(|| DocumentRef {
                kind: "invoice".into(),
                id: format!("INV-{}-{:05}", at.year(), 1 + rng.next() % 4000),
            }),
            resolution: None,
        };
        let mut case = cases::create(tx, &sue, new, at).await?;
        let respond_minutes = match priority {
            CasePriority::Urgent => 5 + rng.next() % 55,
            CasePriority::High => 15 + rng.next() % 225,
            CasePriority::Normal => 60 + rng.next() % 660,
            CasePriority::Low => 240 + rng.next() % 2640,
        };
        let step = |at: &mut time::OffsetDateTime, minutes: u64| {
            *at += Duration::minutes(minutes as i64);
            *at < today
        };
        if !step(&mut at, respond_minutes) {
            continue;
        }
        if queued {
            // Picked from the queue: mostly by support, sometimes by the account's owner.
            let who = if rng.chance(80) { support.0 } else { acc.owner.0 };
            let patch = CasePatch { assignee_id: Some(Some(who)), ..Default::default() };
            case = cases::update(tx, &sue, &case, None, patch, at).await?;
        }
        let first = if rng.chance(20) { CaseAction::Wait } else { CaseAction::Open };
        case = cases::act(tx, &sue, &case, None, first, None, at).await?;
        if recent && rng.chance(50) {
            continue; // still being worked on, or waiting for the customer
        }
        if first == CaseAction::Wait {
            if !step(&mut at, 60 + rng.next() % 4000) {
                continue;
            }
            case = cases::act(tx, &sue, &case, None, CaseAction::Open, None, at).await?;
        }
        if !step(&mut at, 30 + rng.next() % (6 * 1440)) {
            continue;
        }
        let resolution = Some((*rng.pick(RESOLUTIONS)).to_string());
        case = cases::act(tx, &sue, &case, None, CaseAction::Resolve, resolution, at).await?;
        if rng.chance(5) && step(&mut at, 600 + rng.next() % 4000) {
            case = cases::act(tx, &sue, &case, None, CaseAction::Reopen, None, at).await?;
            if !step(&mut at, 120 + rng.next() % 3000) {
                continue;
            }
            case = cases::act(tx, &sue, &case, None, CaseAction::Resolve, None, at).await?;
        }
        if rng.chance(65) {
            let score = match rng.next() % 100 {
                0..=4 => 1,
                5..=12 => 2,
                13..=29 => 3,
                30..=64 => 4,
                _ => 5,
            };
            let comment = rng.chance(40).then(|| (*rng.pick(COMMENTS)).to_string());
            let patch = CasePatch {
                satisfaction: Some(Some(score)),
                satisfaction_comment: Some(comment),
                ..Default::default()
            };
            case = cases::update(tx, &sue, &case, None, patch, at).await?;
        }
        if rng.chance(80) && step(&mut at, 1440 + rng.next() % (6 * 1440)) {
            cases::act(tx, &sue, &case, None, CaseAction::Close, None, at).await?;
        }
    }
    Ok(count)
}

const CALL_SUBJECTS: &[&str] =
    &["Follow-up on the offer", "Delivery dates", "Price question", "Intro call", "Reorder", "Payment reminder"];
const MEETING_SUBJECTS: &[&str] = &["Quarterly review", "Product demo", "Site visit", "Contract negotiation"];
const EMAIL_SUBJECTS: &[&str] = &["Your quote", "Order confirmation questions", "New catalogue", "Invoice copy"];
const TASK_SUBJECTS: &[&str] = &["Send samples", "Prepare the offer", "Call back about the delivery", "Check credit"];
const NOTES: &[&str] = &[
    "Prefers email over phone calls.",
    "Budget is decided in Q1; follow up in January.",
    "Buyer changed: talk to purchasing from now on.",
    "Asked for a volume discount above 50 units.",
];

/// Three years of calls, meetings, emails, tasks, notes and chats on the customers.
async fn demo_activities(
    tx: &mut nave_store::Tx,
    rng: &mut Lcg,
    customers: &[CrmAccount],
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_domain::activity::{ActivityKind, Details, Direction};
    use nave_store::activities::{self, ActivityInput, Links};
    use time::Duration;
    let mut count = 0;
    for _ in 0..900 {
        let acc = rng.pick(customers);
        let key = accounts::get(tx, DEFAULT_TENANT, acc.id).await?.map(|a| a.key);
        let actor = as_user(acc.owner.1);
        let at = today - Duration::days((rng.next() % 1095) as i64) - Duration::minutes((rng.next() % 480) as i64);
        let kind = *rng.pick(&ActivityKind::ALL);
        let mut d = Details { occurred_at: Some(at), ..Default::default() };
        match kind {
            ActivityKind::Call => {
                d.subject = rng.pick(CALL_SUBJECTS).to_string();
                d.direction = Some(if rng.chance(60) { Direction::Outbound } else { Direction::Inbound });
                d.duration_seconds = Some((30 + rng.next() % 1500) as i64);
                d.outcome = Some(rng.pick(nave_domain::activity::CALL_OUTCOMES).to_string());
            }
            ActivityKind::Meeting => {
                d.subject = rng.pick(MEETING_SUBJECTS).to_string();
                d.ends_at = Some(at + Duration::minutes(30 + (rng.next() % 4) as i64 * 30));
                d.attendees = vec![rng.pick(FIRST).to_string(), rng.pick(FIRST).to_string()];
            }
            ActivityKind::Email => {
                d.subject = rng.pick(EMAIL_SUBJECTS).to_string();
                d.direction = Some(if rng.chance(50) { Direction::Outbound } else { Direction::Inbound });
                d.body = "Thank you for your message. Please find the details below.".into();
            }
            ActivityKind::Task => {
                d.subject = rng.pick(TASK_SUBJECTS).to_string();
                d.due_date = Some((at + Duration::days((rng.next() % 14) as i64)).date());
                // Old tasks are done; recent ones may still be open.
                d.done = at < today - Duration::days(20) || rng.chance(50);
            }
            ActivityKind::Note => d.body = rng.pick(NOTES).to_string(),
            ActivityKind::Chat => {
                d.body = "Visitor: Do you have this in stock?\nAgent: Yes, it ships tomorrow.".into();
            }
        }
        let links = Links { account: key, ..Default::default() };
        activities::create(tx, &actor, ActivityInput { kind, links, document_ref: None, details: d, owner_id: None })
            .await?;
        count += 1;
    }
    Ok(count)
}

const LEAD_SOURCES: &[&str] = &["web form", "trade fair", "referral", "cold call", "webinar"];

/// Leads in every state; a few converted into the existing customers' contacts.
async fn demo_leads(
    tx: &mut nave_store::Tx,
    rng: &mut Lcg,
    customers: &[CrmAccount],
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_store::leads::{self, Conversion, LeadInput, LeadStatus, NewDeal};
    let statuses = [LeadStatus::New, LeadStatus::Working, LeadStatus::Qualified, LeadStatus::Unqualified];
    let count = 60;
    for n in 0..count {
        let owner = rng.pick(customers).owner.1;
        let actor = as_user(owner);
        let company = format!("{} {}", rng.pick(FIRST), rng.pick(&["Labs", "Supply", "Bau", "Logistics", "Works"]));
        let first = rng.pick(&["Mia", "Leo", "Ava", "Noah", "Ella", "Finn", "Ida", "Jon"]).to_string();
        let input = LeadInput {
            email: Some(format!("{}@{}.example", first.to_lowercase(), company.to_lowercase().replace(' ', "-"))),
            company,
            first_name: first,
            last_name: rng.pick(&["Berg", "Novak", "Silva", "Okafor", "Lindqvist", "Moreau"]).to_string(),
            title: rng.pick(&["Buyer", "Owner", "Operations lead", "Purchasing manager"]).to_string(),
            phone: Some(format!("+1 555 {:04}", rng.next() % 10_000)),
            website: None,
            source: rng.pick(LEAD_SOURCES).to_string(),
            status: statuses[n % statuses.len()],
            notes: String::new(),
            estimated_amount: Some(format!("{}", (2 + rng.next() % 60) * 500)),
            currency: Currency::parse("USD").expect("USD"),
            owner_id: None,
            team_id: None,
        };
        let lead = leads::create(tx, &actor, input).await?;
        if n % 10 == 2 {
            let deal = NewDeal {
                name: None,
                amount: None,
                expected_close: today.date() + time::Duration::days(45),
                stage_id: None,
            };
            leads::convert(tx, &actor, &lead, None, Conversion { account_id: None, opportunity: Some(deal) }).await?;
        }
    }
    Ok(count)
}

/// Three years of sales: quotes (some rejected or still open), orders made
/// from the accepted ones, shipped, invoiced and mostly paid, the recent ones
/// still in progress. Each order runs in a savepoint, so one refused step
/// (stock short, say) leaves that order where it stopped, as in real life.
async fn demo_sales(
    tx: &mut nave_store::Tx,
    rng: &mut Lcg,
    customers: &[CrmAccount],
    goods: &[catalog::Product],
    warehouse: PublicId,
    today: time::OffsetDateTime,
) -> StoreResult<(usize, usize, usize)> {
    use nave_domain::document::{DocAction, DocType};
    use nave_store::documents::{self, GroupInput, HeaderInput, LineInput, NewDocument};
    use nave_store::{billing, orders, payments, shipments};
    use rust_decimal::Decimal;
    use time::Duration;
    // Replenish enough stock for three years of deliveries.
    let lines: Vec<StockLineInput> =
        goods.iter().map(|p| StockLineInput { product_id: p.id, quantity: 400 * 10_000, unit_cost: None }).collect();
    stock::adjust(tx, &Actor::system(DEFAULT_TENANT), warehouse, "purchases received", &lines).await?;
    let buyers: Vec<&CrmAccount> = customers.iter().filter(|c| !c.prospect).collect();
    let usd = Currency::parse("USD").expect("USD");
    let (mut quotes, mut invoices, mut payments_made) = (0, 0, 0);
    let count = 360;
    for n in 0..count {
        let acc = *rng.pick(&buyers);
        let actor = as_user(acc.owner.1);
        // Spread over three years, more in recent months.
        let age = if n % 3 == 0 { rng.next() % 60 } else { rng.next() % 1095 } as i64;
        let date = (today - Duration::days(age)).date();
        let mut lines = Vec::new();
        for _ in 0..(1 + rng.next() % 4) {
            let p = rng.pick(goods);
            lines.push(LineInput {
                product_id: Some(p.id),
                quantity: Some(Decimal::from(1 + rng.next() % 6)),
                discount_percent: rng.chance(20).then(|| Decimal::from(5 * (1 + rng.next() % 3))),
                ..Default::default()
            });
        }
        if rng.chance(30) {
            lines.push(LineInput {
                kind: Some(nave_domain::pricing::LineKind::Shipping),
                description: Some("Carriage".into()),
                quantity: Some(Decimal::ONE),
                unit_price: Some(Decimal::new(1500, 2)),
                ..Default::default()
            });
        }
        let sp = tx.savepoint().await?;
        let step = async {
            let header = HeaderInput {
                currency: Some(usd),
                date: Some(date),
                valid_until: Some(date.checked_add(Duration::days(30))),
                ..Default::default()
            };
            let new = NewDocument {
                doc_type: DocType::Quote,
                account_id: acc.id,
                header,
                groups: vec![GroupInput { lines, ..Default::default() }],
                origin_key: None,
            };
            let q = documents::create(tx, &actor, new).await?;
            quotes += 1;
            let fate = rng.next() % 100;
            if age < 20 && fate < 30 {
                return Ok(()); // still being discussed
            }
            let q = documents::quote_action(tx, &actor, &q, None, DocAction::Send).await?;
            if fate >= 85 {
                let action = if fate >= 95 { DocAction::Expire } else { DocAction::Reject };
                documents::quote_action(tx, &actor, &q, None, action).await?;
                return Ok(());
            }
            let q = documents::quote_action(tx, &actor, &q, None, DocAction::Accept).await?;
            let reason = Some("Approved by finance for a long-standing customer".to_string());
            let (_, order) = orders::convert_quote(tx, &actor, &q, None, DocType::SalesOrder, reason.clone()).await?;
            if age < 3 {
                return Ok(()); // waiting for the warehouse
            }
            let ship = shipments::NewShipment {
                warehouse_id: None,
                lines: None,
                carrier: Some(["DHL", "UPS", "DPD", "Own van"][(n % 4) as usize].into()),
                tracking_number: Some(format!("TRK{:08}", rng.next() % 100_000_000)),
                ship_date: Some(date.checked_add(Duration::days(2)).unwrap_or(date)),
                notes: None,
            };
            let s = shipments::create(tx, &actor, &order, ship).await?;
            shipments::ship(tx, &actor, &s, None).await?;
            if age < 5 {
                return Ok(()); // shipped, not yet invoiced
            }
            // Every fifth invoice is also kept in the accounting package, under its own number there.
            let inv_header = HeaderInput {
                date: Some(date.checked_add(Duration::days(3)).unwrap_or(date)),
                external_ids: (n % 5 == 0).then(|| {
                    vec![nave_domain::external_id::ExternalId::new("acct", format!("AC-INV-{:05}", 1000 + n))]
                }),
                ..Default::default()
            };
            let acc_key = order.account_key;
            let inv = billing::invoice_from_order(tx, &actor, acc_key, order.id, inv_header, None).await?;
            let mut inv = billing::issue(tx, &Actor::system(DEFAULT_TENANT), &inv, None, reason).await?;
            invoices += 1;
            // Now and then a unit comes back damaged: credited, and returned to stock.
            let returned = inv.lines().find(|l| l.product_key.is_some() && l.quantity_e4 >= 10_000).map(|l| l.id);
            if n % 40 == 11
                && let Some(line_id) = returned
            {
                let chosen = std::collections::HashMap::from([(line_id, 10_000i64)]);
                if let Some(groups) = billing::chosen_lines(&inv, &chosen) {
                    let h = HeaderInput {
                        date: Some(date.checked_add(Duration::days(12)).unwrap_or(date)),
                        warehouse_id: Some(Some(warehouse)),
                        notes: Some("Returned: damaged in transit".into()),
                        ..Default::default()
                    };
                    let cn = billing::credit_from_invoice(tx, &actor, acc_key, inv.id, h, Some(groups)).await?;
                    billing::issue(tx, &Actor::system(DEFAULT_TENANT), &cn, None, None).await?;
                    inv = documents::get(tx, DEFAULT_TENANT, DocType::Invoice, inv.id).await?.unwrap_or(inv);
                }
            }
            // Older invoices are paid, a few late or in part.
            if age > 45 && rng.chance(92) {
                let full = rng.chance(90);
                let amount: Decimal = inv.balance.parse().unwrap_or_default();
                let amount = if full { amount } else { (amount / Decimal::from(2)).round_dp(2) };
                let pay = payments::NewPayment {
                    sent: false,
                    account_id: acc.id,
                    amount,
                    currency: Some(usd),
                    date: Some(date.checked_add(Duration::days(25 + (rng.next() % 30) as i64)).unwrap_or(date)),
                    method: "bank_transfer".into(),
                    reference: inv.number.clone(),
                    notes: String::new(),
                    allocations: vec![payments::AllocationInput { invoice_id: inv.id, amount }],
                    // The bank feed's transaction id, for the payments that came through it.
                    external_ids: if n % 5 == 0 {
                        vec![nave_domain::external_id::ExternalId::new("bank", format!("TX-{:06}", 40_000 + n))]
                    } else {
                        vec![]
                    },
                };
                payments::create(tx, &Actor::system(DEFAULT_TENANT), pay).await?;
                payments_made += 1;
            }
            Ok::<(), nave_store::StoreError>(())
        }
        .await;
        match step {
            Ok(()) => tx.release(sp).await?,
            Err(nave_store::StoreError::Domain(_)) => tx.rollback_to(sp).await?,
            Err(e) => return Err(e),
        }
    }
    // Two customers on a monthly support plan, one of them paused.
    for (i, acc) in buyers.iter().take(2).enumerate() {
        let input = nave_store::subscriptions::SubscriptionInput {
            account_id: Some(acc.id),
            name: Some(["Support plan", "Spare parts service"][i].into()),
            period: Some(nave_domain::subscription::Period::Month),
            start_date: Some((today - Duration::days(200)).date()),
            currency: Some(usd),
            lines: Some(vec![nave_store::subscriptions::SubscriptionLine {
                product_id: None,
                description: Some(["Support plan, business hours", "Spare parts on call"][i].into()),
                quantity: Decimal::ONE,
                unit_price: Some(Decimal::new([4900, 12900][i], 2)),
                discount_percent: None,
            }]),
            ..Default::default()
        };
        let sp = tx.savepoint().await?;
        match nave_store::subscriptions::create(tx, &as_user(acc.owner.1), input).await {
            Ok(_) => tx.release(sp).await?,
            Err(nave_store::StoreError::Domain(_)) => tx.rollback_to(sp).await?,
            Err(e) => return Err(e),
        }
    }
    Ok((quotes, invoices, payments_made))
}

/// A few suppliers' purchase orders over the last four months: confirmed,
/// half received (at a rate when the supplier sells in another currency),
/// billed on what was received, and the latest bill paid (the older ones are
/// open, for the payables aging). Returns how many purchase orders were made.
async fn demo_purchases(
    tx: &mut nave_store::Tx,
    goods: &[catalog::Product],
    suppliers: &[PublicId],
    warehouse: PublicId,
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_domain::document::{DocAction, DocType};
    use nave_store::documents::{self, GroupInput, HeaderInput, LineInput, NewDocument};
    use nave_store::{billing, payments, purchase};
    use rust_decimal::Decimal;
    let system = Actor::system(DEFAULT_TENANT);
    let company = nave_store::tenants::currency(tx, DEFAULT_TENANT).await?;
    // Units of USD per unit of each currency.
    let in_usd = |c: Currency| match c.code() {
        "EUR" => Decimal::new(108, 2),
        "GBP" => Decimal::new(127, 2),
        _ => Decimal::ONE,
    };
    let mut made = 0;
    for (n, supplier) in suppliers.iter().take(4).enumerate() {
        let theirs: Vec<&catalog::Product> =
            goods.iter().filter(|p| p.suppliers.iter().any(|s| s.supplier_id == *supplier)).take(3).collect();
        if theirs.is_empty() {
            continue;
        }
        // Spread over four months, so the payables aging fills several buckets.
        let date = (today - time::Duration::days(15 + 35 * n as i64)).date();
        let lines = theirs
            .iter()
            .map(|p| LineInput { product_id: Some(p.id), quantity: Some(Decimal::from(20)), ..Default::default() })
            .collect();
        let new = NewDocument {
            doc_type: DocType::PurchaseOrder,
            account_id: *supplier,
            header: HeaderInput { date: Some(date), warehouse_id: Some(Some(warehouse)), ..Default::default() },
            groups: vec![GroupInput { lines, ..Default::default() }],
            origin_key: None,
        };
        let sp = tx.savepoint().await?;
        let step = async {
            let po = documents::create(tx, &system, new).await?;
            let po = purchase::order_action(tx, &system, &po, None, DocAction::Confirm).await?;
            let half: Vec<GroupInput> = vec![GroupInput {
                lines: po
                    .lines()
                    .map(|l| LineInput {
                        product_id: l.product_id,
                        quantity: Some(Decimal::from(10)),
                        origin_line_id: Some(l.id),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }];
            let rate = (po.currency != company).then(|| (in_usd(po.currency) / in_usd(company)).round_dp(6));
            let header = HeaderInput { date: Some(date), exchange_rate: Some(rate), ..Default::default() };
            let receipt = purchase::receipt_from_order(tx, &system, po.account_key, po.id, header, Some(half)).await?;
            purchase::receive(tx, &system, &receipt, None).await?;
            let header = HeaderInput {
                date: Some(date),
                reference: Some(Some(format!("SUP-{}", 4100 + n))),
                ..Default::default()
            };
            let bill = purchase::bill_from_order(
                tx,
                &system,
                po.account_key,
                po.id,
                purchase::BillBasis::Received,
                header,
                None,
            )
            .await?;
            let bill = billing::issue(tx, &system, &bill, None, None).await?;
            if n == 0 {
                let pay = payments::NewPayment {
                    sent: true,
                    account_id: *supplier,
                    amount: bill.totals.total.parse().unwrap_or_default(),
                    currency: Some(bill.currency),
                    date: Some(date),
                    method: "bank_transfer".into(),
                    reference: bill.reference.clone(),
                    notes: String::new(),
                    allocations: vec![payments::AllocationInput {
                        invoice_id: bill.id,
                        amount: bill.totals.total.parse().unwrap_or_default(),
                    }],
                    external_ids: vec![],
                };
                payments::create(tx, &system, pay).await?;
            }
            Ok::<(), nave_store::StoreError>(())
        }
        .await;
        match step {
            Ok(()) => {
                tx.release(sp).await?;
                made += 1;
            }
            // A supplier without a cost in its own currency is skipped.
            Err(nave_store::StoreError::Domain(_)) => tx.rollback_to(sp).await?,
            Err(e) => return Err(e),
        }
    }
    Ok(made)
}

/// Two drop-shipped orders of goods whose preferred supplier sells in the
/// company currency: one the supplier has delivered (its purchase order
/// received, so the order line shipped and invoiced at the supplier's cost),
/// one still with the supplier (purchase order sent). Returns how many
/// purchase orders were made.
async fn demo_drop_ship(
    tx: &mut nave_store::Tx,
    customers: &[CrmAccount],
    goods: &[catalog::Product],
    warehouse: PublicId,
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_domain::document::{DocAction, DocType};
    use nave_store::documents::{self, GroupInput, HeaderInput, LineInput, NewDocument};
    use nave_store::{billing, orders, purchase};
    use rust_decimal::Decimal;
    let system = Actor::system(DEFAULT_TENANT);
    let company = nave_store::tenants::currency(tx, DEFAULT_TENANT).await?;
    let picks: Vec<&catalog::Product> = goods
        .iter()
        .filter(|p| p.suppliers.iter().any(|s| s.preferred && s.currency == company.code()))
        .take(2)
        .collect();
    // Customers in turn until two orders go through (one over its credit limit, say, is passed over).
    let buyers: Vec<&CrmAccount> = customers.iter().filter(|c| !c.prospect).skip(3).take(12).collect();
    let (mut made, mut n) = (0, 0);
    for (i, buyer) in buyers.into_iter().enumerate() {
        if n >= 2 {
            break;
        }
        let Some(product) = picks.get(i % picks.len().max(1)) else { break };
        let date = (today - time::Duration::days(20 - 12 * n as i64)).date();
        let new = NewDocument {
            doc_type: DocType::SalesOrder,
            account_id: buyer.id,
            header: HeaderInput { date: Some(date), warehouse_id: Some(Some(warehouse)), ..Default::default() },
            groups: vec![GroupInput {
                name: "Delivered by the manufacturer".into(),
                lines: vec![LineInput {
                    product_id: Some(product.id),
                    quantity: Some(Decimal::from(40 + 20 * n as i64)),
                    drop_ship: Some(true),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            origin_key: None,
        };
        let sp = tx.savepoint().await?;
        let step = async {
            let actor = as_user(buyer.owner.1);
            let so = documents::create(tx, &actor, new).await?;
            let so = orders::confirm(tx, &actor, &so, None, None).await?;
            for o in &so.drop_ship_orders {
                let po = documents::get(tx, DEFAULT_TENANT, DocType::PurchaseOrder, o.id)
                    .await?
                    .ok_or(nave_domain::DomainError::NotFound { record: "purchase order" })?;
                let po = purchase::order_action(tx, &system, &po, None, DocAction::Send).await?;
                if n > 0 {
                    continue;
                }
                let po = purchase::order_action(tx, &system, &po, None, DocAction::Confirm).await?;
                let header = HeaderInput { date: Some(date), ..Default::default() };
                let receipt = purchase::receipt_from_order(tx, &system, po.account_key, po.id, header, None).await?;
                purchase::receive(tx, &system, &receipt, None).await?;
                let inv = billing::invoice_from_order(tx, &actor, so.account_key, so.id, HeaderInput::default(), None)
                    .await?;
                billing::issue(tx, &actor, &inv, None, None).await?;
            }
            Ok::<usize, nave_store::StoreError>(so.drop_ship_orders.len())
        }
        .await;
        match step {
            Ok(k) => {
                tx.release(sp).await?;
                made += k;
                n += 1;
            }
            Err(nave_store::StoreError::Domain(_)) => tx.rollback_to(sp).await?,
            Err(e) => return Err(e),
        }
    }
    Ok(made)
}

/// The company's letterhead (no logo) with a 2.0 % receiving tolerance, a
/// draft and a sent purchase order beside the confirmed ones, and minimums
/// above the stock of a few products so the reorder page suggests them.
/// Returns how many purchase orders were made.
async fn demo_company_and_reorder(
    tx: &mut nave_store::Tx,
    goods: &[catalog::Product],
    suppliers: &[PublicId],
    warehouse: PublicId,
    today: time::OffsetDateTime,
) -> StoreResult<usize> {
    use nave_domain::document::{DocAction, DocType};
    use nave_store::company::{self, CompanyInput};
    use nave_store::documents::{self, GroupInput, HeaderInput, LineInput, NewDocument};
    use rust_decimal::Decimal;
    let system = Actor::system(DEFAULT_TENANT);
    let input = CompanyInput {
        legal_name: "Nave Demo Trading Ltd".into(),
        address: "Unit 4, Harbour Park\nAvonmouth\nBristol BS11 9XX\nUnited Kingdom".into(),
        tax_id: Some("VAT GB 284 1193 07".into()),
        email: Some("accounts@nave-demo.example".into()),
        phone: Some("+44 117 496 0321".into()),
        receiving_tolerance_percent: Decimal::new(20, 1),
    };
    company::update(tx, &system, Some(0), input).await?;
    let mut made = 0;
    // A draft still being written and one sent, waiting for the supplier's confirmation.
    for (n, supplier) in suppliers.iter().skip(4).take(2).enumerate() {
        let theirs: Vec<&catalog::Product> =
            goods.iter().filter(|p| p.suppliers.iter().any(|s| s.supplier_id == *supplier)).take(2).collect();
        if theirs.is_empty() {
            continue;
        }
        let lines = theirs
            .iter()
            .map(|p| LineInput {
                product_id: Some(p.id),
                quantity: Some(Decimal::from(12 + 6 * n as i64)),
                ..Default::default()
            })
            .collect();
        let new = NewDocument {
            doc_type: DocType::PurchaseOrder,
            account_id: *supplier,
            header: HeaderInput {
                date: Some((today - time::Duration::days(2 - n as i64)).date()),
                warehouse_id: Some(Some(warehouse)),
                reference: Some(Some(format!("Q-{}", 880 + n))),
                ..Default::default()
            },
            groups: vec![GroupInput { lines, ..Default::default() }],
            origin_key: None,
        };
        let sp = tx.savepoint().await?;
        let step = async {
            let po = documents::create(tx, &system, new).await?;
            if n == 1 {
                nave_store::purchase::order_action(tx, &system, &po, None, DocAction::Send).await?;
            }
            Ok::<(), nave_store::StoreError>(())
        }
        .await;
        match step {
            Ok(()) => {
                tx.release(sp).await?;
                made += 1;
            }
            Err(nave_store::StoreError::Domain(_)) => tx.rollback_to(sp).await?,
            Err(e) => return Err(e),
        }
    }
    // Reorder points: a few supplied products want more than the main warehouse holds.
    let wh = catalog::get_warehouse(tx, DEFAULT_TENANT, warehouse)
        .await?
        .ok_or(nave_domain::DomainError::NotFound { record: "warehouse" })?;
    for p in goods.iter().filter(|p| !p.suppliers.is_empty()).take(5) {
        nave_store::purchase::set_minimum(tx, &system, p, &wh, 60 * 10_000).await?;
    }
    Ok(made)
}
