//! The stock ledger under a long random sequence of adjustments and transfers,
//! on both engines: on hand always equals the sum of movements, the valuation
//! always equals the sum over warehouses, and nothing goes below zero where
//! the warehouse forbids it.

use nave_domain::catalog::ProductKind;
use nave_domain::money::Currency;
use nave_store::StoreError;
use nave_store::audit::Actor;
use nave_store::catalog::{self, ProductInput, WarehouseInput};
use nave_store::stock::{self, LevelQuery, StockLineInput};
use nave_store::tenants::DEFAULT_TENANT;
use nave_testkit::{TestDb, both_backends};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

async fn random_postings_keep_the_ledger_consistent(t: TestDb) {
    let sys = Actor::system(DEFAULT_TENANT);
    let mut tx = t.db.write().await.unwrap();
    let mut products = Vec::new();
    for i in 0..3 {
        let input = ProductInput {
            sku: format!("P-{i}"),
            name: format!("Product {i}"),
            description: String::new(),
            kind: ProductKind::Goods,
            unit: "pc".into(),
            category_id: None,
            currency: Currency::parse("USD").unwrap(),
            list_price: "10".into(),
            cost: "1".into(),
            tax_category_id: None,
            weight_kg: None,
            barcode: None,
            notes: String::new(),
            active: true,
            components: None,
            suppliers: None,
            external_ids: None,
        };
        products.push(catalog::create_product(&mut tx, &sys, input).await.unwrap().id);
    }
    let mut warehouses = Vec::new();
    for (name, neg) in [("A", false), ("B", false), ("C", true)] {
        let input =
            WarehouseInput { name: name.into(), address: String::new(), allow_negative_stock: neg, active: true };
        warehouses.push(catalog::create_warehouse(&mut tx, &sys, input).await.unwrap().id);
    }
    tx.commit().await.unwrap();

    let mut rng = Lcg(7);
    let (mut ok, mut refused) = (0, 0);
    for step in 0..150 {
        let p = products[rng.next(3) as usize];
        let w = warehouses[rng.next(3) as usize];
        let qty = (rng.next(40) as i64 + 1) * 2_500; // 0.25 to 10 units
        let mut tx = t.db.write().await.unwrap();
        let r = match rng.next(3) {
            0 => {
                let cost = Some((rng.next(1_000) as i64 + 1) * 1_000);
                stock::adjust(
                    &mut tx,
                    &sys,
                    w,
                    "in",
                    &[StockLineInput { product_id: p, quantity: qty, unit_cost: cost }],
                )
                .await
            }
            1 => {
                stock::adjust(
                    &mut tx,
                    &sys,
                    w,
                    "out",
                    &[StockLineInput { product_id: p, quantity: -qty, unit_cost: None }],
                )
                .await
            }
            _ => {
                let to = warehouses[(rng.next(2) as usize + 1 + warehouses.iter().position(|x| *x == w).unwrap()) % 3];
                stock::transfer(
                    &mut tx,
                    &sys,
                    w,
                    to,
                    "move",
                    &[StockLineInput { product_id: p, quantity: qty, unit_cost: None }],
                )
                .await
            }
        };
        match r {
            Ok(_) => {
                tx.commit().await.unwrap();
                ok += 1;
            }
            Err(StoreError::Domain(_)) => {
                tx.rollback().await.unwrap();
                refused += 1;
            }
            Err(e) => panic!("step {step}: {e}"),
        }
        let mut rtx = t.db.read().await.unwrap();
        let bad = stock::ledger_mismatches(&mut rtx, DEFAULT_TENANT).await.unwrap();
        assert!(bad.is_empty(), "step {step}: {bad:?}");
        for wh in &warehouses[..2] {
            let wk = catalog::get_warehouse(&mut rtx, DEFAULT_TENANT, *wh).await.unwrap().unwrap().key;
            let levels = stock::list_levels(
                &mut rtx,
                DEFAULT_TENANT,
                &LevelQuery { warehouse_key: Some(wk), ..Default::default() },
            )
            .await
            .unwrap();
            assert!(levels.iter().all(|l| !l.on_hand.starts_with('-')), "step {step}: {levels:?}");
        }
    }
    assert!(ok > 50 && refused > 5, "the sequence exercised both paths ({ok} posted, {refused} refused)");
}

both_backends!(random_postings_keep_the_ledger_consistent);
