//! The store's conformance suite: every test runs on SQLite and on PostgreSQL.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::account::AccountKind;
use nave_domain::email::Email;
use nave_domain::money::Currency;
use nave_store::accounts::{self, AccountPatch, AccountQuery, NewAccount, Visibility};
use nave_store::audit::{self, Actor};
use nave_store::events::{self, EventQuery};
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::users::{self, NewUser};
use nave_store::{StoreError, migrate, schema, teams};
use nave_testkit::{Backend, TestDb, both_backends};

fn system() -> Actor {
    Actor::system(DEFAULT_TENANT)
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn new_account(name: &str) -> NewAccount {
    NewAccount {
        kinds: vec![AccountKind::Customer],
        credit_limit: Some("1000.00".into()),
        ..NewAccount::named(name, eur())
    }
}

async fn counts(t: &TestDb) -> (i64, i64) {
    let mut tx = t.db.read().await.unwrap();
    (audit::count(&mut tx, DEFAULT_TENANT).await.unwrap(), events::count(&mut tx, DEFAULT_TENANT).await.unwrap())
}

async fn migrations_are_idempotent(t: TestDb) {
    assert_eq!(migrate::migrate(&t.db).await.unwrap(), 0, "a second run applies nothing");
}

async fn every_business_table_follows_the_schema_rules(t: TestDb) {
    let mut tx = t.db.read().await.unwrap();
    let s = schema::read(&mut tx).await.unwrap();
    assert!(s.contains_key("accounts") && s.contains_key("users"), "{:?}", s.keys());
    let global = ["tenants", "schema_migrations"];
    for (name, table) in &s {
        for c in &table.columns {
            let ty = c.ty.as_str();
            assert!(
                !["real", "float", "double", "double precision", "numeric", "decimal"].contains(&ty),
                "{name}.{} has inexact type {ty}",
                c.name
            );
            if c.name.ends_with("_minor") || c.name == "amount" {
                assert_eq!(ty, "bigint", "money column {name}.{} must be integer minor units", c.name);
            }
        }
        if global.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(
            table.primary_key.first().map(String::as_str),
            Some("tenant_id"),
            "{name}: primary key leads with tenant_id"
        );
        for u in &table.uniques {
            assert_eq!(
                u.first().map(String::as_str),
                Some("tenant_id"),
                "{name}: unique key {u:?} leads with tenant_id"
            );
        }
        for fk in &table.foreign_keys {
            assert_eq!(fk.columns.first().map(String::as_str), Some("tenant_id"), "{name}: {fk:?}");
            assert_eq!(fk.ref_columns.first().map(String::as_str), Some("tenant_id"), "{name}: {fk:?}");
            assert_ne!(fk.on_delete, "no action", "{name}: {fk:?} must say what happens on delete");
            let indexed =
                table.indexes.iter().any(|ix| ix.len() >= fk.columns.len() && ix[..fk.columns.len()] == fk.columns[..]);
            assert!(indexed, "{name}: foreign key {:?} has no index", fk.columns);
        }
    }
}

async fn every_write_leaves_one_audit_entry_and_one_event(t: TestDb) {
    let (a0, e0) = counts(&t).await;
    let mut tx = t.db.write().await.unwrap();
    let acc = accounts::create(&mut tx, &system(), new_account("Acme")).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(counts(&t).await, (a0 + 1, e0 + 1));

    let mut tx = t.db.write().await.unwrap();
    let patch = AccountPatch { name: Some("Acme Ltd".into()), ..Default::default() };
    let acc = accounts::update(&mut tx, &system(), &acc, Some(1), patch).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(acc.version, 2);
    assert_eq!(counts(&t).await, (a0 + 2, e0 + 2));

    let mut tx = t.db.write().await.unwrap();
    accounts::delete(&mut tx, &system(), &acc, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(counts(&t).await, (a0 + 3, e0 + 3));

    let mut tx = t.db.read().await.unwrap();
    let evs = events::list(&mut tx, DEFAULT_TENANT, &EventQuery { after: e0, limit: 10, ..Default::default() })
        .await
        .unwrap();
    let types: Vec<&str> = evs.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["account.created", "account.updated", "account.deleted"]);
    assert_eq!(evs[2].payload["deleted"], true, "a delete leaves a tombstone");
    let positions: Vec<i64> = evs.iter().map(|e| e.position).collect();
    assert_eq!(positions, [e0 + 1, e0 + 2, e0 + 3]);
    let log = audit::list(
        &mut tx,
        DEFAULT_TENANT,
        &audit::AuditQuery { record_id: Some(acc.id), limit: 10, ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(log.items.len(), 3);
    assert_eq!(log.items[1].changes["name"]["before"], "Acme");
    assert_eq!(log.items[1].changes["name"]["after"], "Acme Ltd");
}

async fn a_rolled_back_write_leaves_nothing(t: TestDb) {
    let before = counts(&t).await;
    let mut tx = t.db.write().await.unwrap();
    accounts::create(&mut tx, &system(), new_account("Ghost")).await.unwrap();
    tx.rollback().await.unwrap();
    let tx = t.db.write().await.unwrap();
    drop(tx);
    assert_eq!(counts(&t).await, before);
    let mut tx = t.db.read().await.unwrap();
    let page = accounts::list(&mut tx, DEFAULT_TENANT, &AccountQuery::default()).await.unwrap();
    assert!(page.items.is_empty());
}

async fn concurrent_writers_get_gapless_event_positions(t: TestDb) {
    let mut handles = Vec::new();
    for i in 0..24 {
        let db = t.db.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.write().await.unwrap();
            accounts::create(&mut tx, &system(), new_account(&format!("Parallel {i}"))).await.unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut tx = t.db.read().await.unwrap();
    let evs = events::list(&mut tx, DEFAULT_TENANT, &EventQuery { after: 0, limit: 100, ..Default::default() })
        .await
        .unwrap();
    let positions: Vec<i64> = evs.iter().map(|e| e.position).collect();
    assert_eq!(positions, (1..=24).collect::<Vec<_>>());
}

async fn an_account_cannot_become_its_own_ancestor(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let a = accounts::create(&mut tx, &system(), new_account("Group")).await.unwrap();
    let b = accounts::create(&mut tx, &system(), NewAccount { parent_id: Some(a.id), ..new_account("Branch") })
        .await
        .unwrap();
    let err = accounts::update(
        &mut tx,
        &system(),
        &a,
        None,
        AccountPatch { parent_id: Some(Some(b.id)), ..Default::default() },
    )
    .await
    .unwrap_err();
    match err {
        StoreError::Domain(DomainError::Validation(e)) => assert_eq!(e[0].field, "parent_id"),
        other => panic!("{other:?}"),
    }
    let err = accounts::delete(&mut tx, &system(), &a, None).await.unwrap_err();
    assert!(err.to_string().contains("parent of 1 account"), "{err}");
}

async fn a_stale_version_changes_nothing(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let a = accounts::create(&mut tx, &system(), new_account("Versioned")).await.unwrap();
    let err = accounts::update(
        &mut tx,
        &system(),
        &a,
        Some(7),
        AccountPatch { name: Some("X".into()), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Domain(DomainError::VersionMismatch { current: 1, .. })), "{err:?}");
    assert_eq!(accounts::get(&mut tx, DEFAULT_TENANT, a.id).await.unwrap().unwrap().name, "Versioned");
}

async fn user_emails_are_unique_case_insensitively(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let new = |email: &str| NewUser {
        email: Email::parse(email).unwrap(),
        name: "Ann".into(),
        password_hash: None,
        role: "sales_rep".into(),
        team_id: None,
        locale: None,
    };
    users::create(&mut tx, &system(), new("ann@example.com")).await.unwrap();
    let err = users::create(&mut tx, &system(), new("ANN@Example.com")).await.unwrap_err();
    assert!(matches!(err, StoreError::Domain(DomainError::Conflict(_))), "{err:?}");
}

async fn visibility_limits_the_account_list(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let team = teams::create(&mut tx, &system(), "North").await.unwrap();
    let mk = |email: &str, team_id| NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        password_hash: None,
        role: "sales_rep".into(),
        team_id,
        locale: None,
    };
    let ann = users::create(&mut tx, &system(), mk("ann@example.com", Some(team.id))).await.unwrap();
    let bob = users::create(&mut tx, &system(), mk("bob@example.com", Some(team.id))).await.unwrap();
    let cy = users::create(&mut tx, &system(), mk("cy@example.com", None)).await.unwrap();
    for (u, n) in [(&ann, "A1"), (&bob, "B1"), (&cy, "C1")] {
        accounts::create(&mut tx, &system(), NewAccount { owner_id: Some(u.id), ..new_account(n) }).await.unwrap();
    }
    let names = |p: nave_store::page::Page<accounts::Account>| p.items.into_iter().map(|a| a.name).collect::<Vec<_>>();
    let own = AccountQuery { visibility: Visibility::Owner(ann.key), ..Default::default() };
    assert_eq!(names(accounts::list(&mut tx, DEFAULT_TENANT, &own).await.unwrap()), ["A1"]);
    let team_q =
        AccountQuery { visibility: Visibility::Team { user: ann.key, team: ann.team_key }, ..Default::default() };
    assert_eq!(names(accounts::list(&mut tx, DEFAULT_TENANT, &team_q).await.unwrap()), ["A1", "B1"]);
    let all = AccountQuery { visibility: Visibility::All, limit: 2, ..Default::default() };
    let first = accounts::list(&mut tx, DEFAULT_TENANT, &all).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = accounts::list(&mut tx, DEFAULT_TENANT, &AccountQuery { cursor: first.next, ..all }).await.unwrap();
    assert_eq!(names(rest), ["C1"]);
}

async fn audit_entries_name_the_record_type(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    teams::create(&mut tx, &system(), "South").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = t.db.read().await.unwrap();
    let q = audit::AuditQuery { record_types: vec![RecordType::Team], limit: 5, ..Default::default() };
    let page = audit::list(&mut tx, DEFAULT_TENANT, &q).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].record_type, "team");
    assert_eq!(page.items[0].action, "created");
}

both_backends!(
    migrations_are_idempotent,
    every_business_table_follows_the_schema_rules,
    every_write_leaves_one_audit_entry_and_one_event,
    a_rolled_back_write_leaves_nothing,
    concurrent_writers_get_gapless_event_positions,
    an_account_cannot_become_its_own_ancestor,
    a_stale_version_changes_nothing,
    user_emails_are_unique_case_insensitively,
    visibility_limits_the_account_list,
    audit_entries_name_the_record_type,
);

/// A new SQLite database plans by the statistics the migrations write
/// (`nave_store::planner`): lookups by a document, an origin, a payment or an
/// order line use that column's index, never a walk over a whole tenant's
/// primary key, which would make every such lookup grow with the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sqlite_database_plans_lookups_by_their_index() {
    let t = TestDb::new(Backend::Sqlite).await.unwrap();
    let queries = [
        "SELECT id FROM documents WHERE tenant_id = 1 AND origin_id = 2 AND doc_type = 'sales_order' \
         AND status <> 'void' ORDER BY id LIMIT 1",
        "SELECT lt.line_id, lt.name FROM document_line_taxes lt JOIN document_lines l ON l.tenant_id = lt.tenant_id \
         AND l.id = lt.line_id WHERE lt.tenant_id = 1 AND l.document_id = 2 ORDER BY lt.line_id, lt.position",
        "SELECT d.number, al.amount_minor FROM allocations al JOIN documents d ON d.tenant_id = al.tenant_id \
         AND d.id = al.invoice_id WHERE al.tenant_id = 1 AND al.payment_id = 2 ORDER BY al.id",
        "SELECT sl.id, m.product_id, SUM(m.quantity_e4) FROM shipment_lines sl JOIN shipments s \
         ON s.tenant_id = sl.tenant_id AND s.id = sl.shipment_id JOIN stock_movements m ON m.tenant_id = s.tenant_id \
         AND m.document_id = s.stock_document_id WHERE sl.tenant_id = 1 AND sl.order_line_id = 2 AND s.status = 'done' \
         GROUP BY sl.id, sl.quantity_e4, m.product_id",
    ];
    let mut tx = t.db.read().await.unwrap();
    for q in queries {
        let plan: Vec<String> =
            tx.fetch_all(format!("EXPLAIN QUERY PLAN {q}"), vec![], |r| r.text("detail")).await.unwrap();
        assert!(!plan.iter().any(|step| step.ends_with("(tenant_id=?)")), "a whole tenant is walked by {q}: {plan:#?}");
    }
}

/// The same migrations give the same tables, columns and keys on both engines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_are_the_same() {
    let Some(pg) = TestDb::new(Backend::Postgres).await else { return };
    let lite = TestDb::new(Backend::Sqlite).await.unwrap();
    let mut a = lite.db.read().await.unwrap();
    let mut b = pg.db.read().await.unwrap();
    let sa = schema::read(&mut a).await.unwrap();
    let sb = schema::read(&mut b).await.unwrap();
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>(), "tables differ");
    for (name, ta) in &sa {
        let tb = &sb[name];
        assert_eq!(ta.columns, tb.columns, "columns of {name}");
        assert_eq!(ta.primary_key, tb.primary_key, "primary key of {name}");
        assert_eq!(ta.uniques, tb.uniques, "unique keys of {name}");
        assert_eq!(ta.foreign_keys, tb.foreign_keys, "foreign keys of {name}");
        assert_eq!(ta.indexes, tb.indexes, "indexes of {name}");
    }
}
