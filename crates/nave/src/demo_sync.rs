//! Demo data for syncing: the ERP masters customers' credit limits and
//! payment terms, Nave masters contacts' e-mail addresses, and the web shop
//! has tried to raise a customer's credit limit — an open sync conflict.

use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_store::accounts::{self, AccountPatch};
use nave_store::audit::Actor;
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{StoreResult, Tx, sync};

/// Writes the rules and the conflict (on the first of `customers` with a
/// credit limit); returns how many rules.
pub async fn load(tx: &mut Tx, customers: &[PublicId]) -> StoreResult<usize> {
    let system = Actor::system(DEFAULT_TENANT);
    let rules =
        [("account", "credit_limit", "erp"), ("account", "payment_terms_id", "erp"), ("contact", "emails", "nave")];
    for (record, field, master) in rules {
        sync::put_rule(tx, &system, record, field, master, None).await?;
    }
    // The shop sends the customer with a limit of its own and a phone number:
    // the phone is taken, the limit waits for someone to accept or dismiss it.
    let mut found = None;
    for id in customers {
        if let Some(a) = accounts::get(tx, DEFAULT_TENANT, *id).await?
            && a.credit_limit.is_some()
        {
            found = Some(a);
            break;
        }
    }
    let Some(before) = found else { return Ok(rules.len()) };
    let shop = Actor { source: Some("shop".into()), ..Actor::system(DEFAULT_TENANT) };
    let mut ids = before.external_ids.clone();
    if !ids.iter().any(|e| e.system == "shop") {
        ids.push(ExternalId::new("shop", "woo-1187"));
    }
    let patch = AccountPatch {
        credit_limit: Some(Some("25000".into())),
        phone: Some(Some("+44 20 7946 0958".into())),
        external_ids: Some(ids),
        ..Default::default()
    };
    accounts::update(tx, &shop, &before, None, patch).await?;
    Ok(rules.len())
}

/// A WooCommerce connection ("Web shop", rate 1 = VAT 20 %) and three
/// deliveries run through the intake itself: a paid order (a customer, an
/// invoice and its payment), an order for a product Nave does not have (kept
/// as failed, to retry once it exists) and a topic the intake does not take.
pub async fn load_shop(tx: &mut Tx, warehouse: PublicId) -> StoreResult<()> {
    use nave_store::{taxes, woocommerce};
    let system = Actor::system(DEFAULT_TENANT);
    let Some(vat) = taxes::list_taxes(tx, DEFAULT_TENANT).await?.into_iter().find(|t| t.name == "VAT 20 %") else {
        return Ok(());
    };
    let new = woocommerce::NewConnection {
        name: "Web shop".into(),
        url: "https://shop.example.com".into(),
        secret: "demo-shop-secret".into(),
        warehouse_id: Some(warehouse),
        tax_map: vec![("1".into(), vat.id)],
    };
    let c = woocommerce::create(tx, &system, new).await?;
    let order = |id: u32, sku: &str, name: &str, email: &str| {
        serde_json::json!({
            "id": id, "number": id.to_string(), "status": "processing", "currency": "USD",
            "date_created_gmt": "2026-03-02T09:14:00", "date_modified_gmt": "2026-03-02T09:15:00",
            "date_paid_gmt": "2026-03-02T09:15:00", "customer_id": 0,
            "billing": {"first_name": "Robin", "last_name": "Hale", "address_1": "12 Orchard Lane", "city": "Leeds",
                        "postcode": "LS1 4AP", "country": "GB", "email": email, "phone": ""},
            "line_items": [{"id": 1, "name": name, "sku": sku, "product_id": 900 + id, "quantity": 2,
                            "subtotal": "49.80", "total": "49.80", "total_tax": "9.96",
                            "taxes": [{"id": 1, "total": "9.96", "subtotal": "9.96"}]}],
            "shipping_lines": [{"method_title": "Standard delivery", "total": "4.95", "total_tax": "0.99",
                                "taxes": [{"id": 1, "total": "0.99", "subtotal": ""}]}],
            "tax_lines": [{"rate_id": 1, "rate_code": "GB-VAT-1", "label": "VAT", "rate_percent": 20,
                           "tax_total": "9.96", "shipping_tax_total": "0.99"}],
            "total": "65.70", "total_tax": "10.95", "payment_method": "stripe", "transaction_id": format!("ch_demo_{id}")
        })
        .to_string()
    };
    woocommerce::receive(
        tx,
        &c,
        Some("1001"),
        "order.created",
        &order(5001, "HT-HAM-16", "Claw hammer 16 oz", "robin.hale@example.com"),
    )
    .await?;
    woocommerce::receive(
        tx,
        &c,
        Some("1002"),
        "order.created",
        &order(5002, "HT-HAM-20", "Claw hammer 20 oz", "sam.ode@example.com"),
    )
    .await?;
    woocommerce::receive(tx, &c, Some("1003"), "product.updated", r#"{"id": 901, "sku": "HT-HAM-16"}"#).await?;
    Ok(())
}
