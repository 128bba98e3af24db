//! Master rules inside the store, on both engines: the trial of a held-back
//! write runs in a savepoint nested in the caller's own (the CSV import keeps
//! each row in one), leaves exactly one event and audit entry for the record
//! plus the conflict's, and rolling the caller's savepoint back leaves nothing.

use nave_domain::money::Currency;
use nave_store::accounts::{self, AccountPatch, NewAccount};
use nave_store::audit::{self, Actor};
use nave_store::events::{self, EventQuery};
use nave_store::sync::{self, ConflictQuery};
use nave_store::tenants::DEFAULT_TENANT;
use nave_testkit::{TestDb, both_backends};

fn shop() -> Actor {
    Actor { source: Some("shop".into()), ..Actor::system(DEFAULT_TENANT) }
}

async fn a_held_back_write_inside_a_savepoint_keeps_the_field_and_one_conflict(t: TestDb) {
    let system = Actor::system(DEFAULT_TENANT);
    let mut tx = t.db.write().await.unwrap();
    sync::put_rule(&mut tx, &system, "account", "credit_limit", "erp", None).await.unwrap();
    let new =
        NewAccount { credit_limit: Some("100".into()), ..NewAccount::named("Hooli", Currency::parse("EUR").unwrap()) };
    let acc = accounts::create(&mut tx, &system, new).await.unwrap();
    tx.commit().await.unwrap();

    let patch = || AccountPatch {
        credit_limit: Some(Some("900".into())),
        industry: Some(Some("Search".into())),
        ..Default::default()
    };
    let mut tx = t.db.write().await.unwrap();
    let (audits, evs) =
        (audit::count(&mut tx, DEFAULT_TENANT).await.unwrap(), events::count(&mut tx, DEFAULT_TENANT).await.unwrap());
    // Rolled back with the caller's savepoint: nothing stays.
    let sp = tx.savepoint().await.unwrap();
    accounts::update(&mut tx, &shop(), &acc, None, patch()).await.unwrap();
    tx.rollback_to(sp).await.unwrap();
    let q = ConflictQuery { limit: 50, ..Default::default() };
    assert!(sync::list_conflicts(&mut tx, DEFAULT_TENANT, &q).await.unwrap().items.is_empty());
    // Kept with it: the other field changes, the mastered one stays, one conflict.
    let sp = tx.savepoint().await.unwrap();
    let after = accounts::update(&mut tx, &shop(), &acc, None, patch()).await.unwrap();
    tx.release(sp).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((after.industry.as_deref(), after.credit_limit.as_deref()), (Some("Search"), Some("100.00")));
    assert_eq!(after.version, 2, "one update of the record");

    let mut tx = t.db.read().await.unwrap();
    let list = sync::list_conflicts(&mut tx, DEFAULT_TENANT, &q).await.unwrap().items;
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].our_value.clone(), list[0].their_value.clone()), ("100.00".into(), "900.00".into()));
    assert_eq!(audit::count(&mut tx, DEFAULT_TENANT).await.unwrap(), audits + 2, "the account's and the conflict's");
    let fresh = events::list(&mut tx, DEFAULT_TENANT, &EventQuery { after: evs, limit: 100, ..Default::default() })
        .await
        .unwrap();
    let kinds: Vec<(&str, Option<&str>)> = fresh.iter().map(|e| (e.event_type.as_str(), e.source.as_deref())).collect();
    assert_eq!(kinds, [("sync_conflict.created", Some("shop")), ("account.updated", Some("shop"))]);
    assert!(
        fresh[0].payload.get("their_value").is_none(),
        "a credit limit stays out of the event: {}",
        fresh[0].payload
    );
}

both_backends!(a_held_back_write_inside_a_savepoint_keeps_the_field_and_one_conflict);
