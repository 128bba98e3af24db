//! Contacts and the account fields that came with them, on SQLite and PostgreSQL.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::money::Currency;
use nave_store::accounts::{self, AccountPatch, NewAccount};
use nave_store::audit::{self, Actor, AuditQuery};
use nave_store::contacts::{self, Contact, ContactPatch, NewContact};
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::{StoreError, Tx, migrate};
use nave_testkit::{Backend, TestDb, both_backends};

fn system() -> Actor {
    Actor::system(DEFAULT_TENANT)
}

async fn account(tx: &mut Tx, name: &str) -> accounts::Account {
    accounts::create(tx, &system(), NewAccount::named(name, Currency::parse("EUR").unwrap())).await.unwrap()
}

async fn person(tx: &mut Tx, account: &accounts::Account, last: &str) -> Contact {
    let new = NewContact { account_id: Some(account.id), last_name: last.into(), ..Default::default() };
    contacts::create(tx, &system(), new).await.unwrap()
}

async fn reload(tx: &mut Tx, c: &Contact) -> Contact {
    contacts::get(tx, DEFAULT_TENANT, c.id).await.unwrap().unwrap()
}

/// Which of the contacts is primary, by last name.
async fn primaries(tx: &mut Tx, cs: &[&Contact]) -> Vec<String> {
    let mut out = Vec::new();
    for c in cs {
        let c = reload(tx, c).await;
        if c.is_primary {
            out.push(c.last_name);
        }
    }
    out
}

fn field_of(e: StoreError) -> String {
    match e {
        StoreError::Domain(DomainError::Validation(errs)) => errs[0].field.clone(),
        other => panic!("{other:?}"),
    }
}

async fn an_account_has_exactly_one_primary_contact_through_every_change(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let acme = account(&mut tx, "Acme").await;
    let a = person(&mut tx, &acme, "Abel").await;
    assert!(a.is_primary, "the first contact becomes primary");
    let b = person(&mut tx, &acme, "Baker").await;
    let new = NewContact {
        account_id: Some(acme.id),
        last_name: "Cole".into(),
        is_primary: Some(true),
        ..Default::default()
    };
    let c = contacts::create(&mut tx, &system(), new).await.unwrap();
    assert_eq!(primaries(&mut tx, &[&a, &b, &c]).await, ["Cole"], "a new primary un-marks the old one");
    let a_now = reload(&mut tx, &a).await;
    assert_eq!(a_now.version, a.version + 1, "the old primary's change is a version of its own");
    let log =
        audit::list(&mut tx, DEFAULT_TENANT, &AuditQuery { record_id: Some(a.id), limit: 10, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(log.items.len(), 2, "and is audited");
    assert_eq!(log.items[0].record_type, RecordType::Contact.as_str());

    // Making B primary by update; un-marking the primary directly is refused.
    let b2 = reload(&mut tx, &b).await;
    contacts::update(&mut tx, &system(), &b2, None, ContactPatch { is_primary: Some(true), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(primaries(&mut tx, &[&a, &b, &c]).await, ["Baker"]);
    let b3 = reload(&mut tx, &b).await;
    let err =
        contacts::update(&mut tx, &system(), &b3, None, ContactPatch { is_primary: Some(false), ..Default::default() })
            .await
            .unwrap_err();
    assert_eq!(field_of(err), "is_primary");

    // Deleting the primary promotes the oldest remaining contact.
    contacts::delete(&mut tx, &system(), &b3, None).await.unwrap();
    assert_eq!(primaries(&mut tx, &[&a, &c]).await, ["Abel"]);
    // Archiving the primary promotes the next one; an archived contact is never primary.
    let a4 = reload(&mut tx, &a).await;
    let archived =
        contacts::update(&mut tx, &system(), &a4, None, ContactPatch { archived: Some(true), ..Default::default() })
            .await
            .unwrap();
    assert!(!archived.is_primary);
    assert_eq!(primaries(&mut tx, &[&a, &c]).await, ["Cole"]);
    // Moving the primary to another account: the old account promotes, the
    // moved contact is primary in the new account only when it is the first there.
    let globex = account(&mut tx, "Globex").await;
    let d = person(&mut tx, &acme, "Dunn").await;
    let c5 = reload(&mut tx, &c).await;
    let moved = contacts::update(
        &mut tx,
        &system(),
        &c5,
        None,
        ContactPatch { account_id: Some(globex.id), ..Default::default() },
    )
    .await
    .unwrap();
    assert!(moved.is_primary, "the first contact of Globex");
    assert_eq!(primaries(&mut tx, &[&a, &d]).await, ["Dunn"]);
}

async fn contacts_cannot_go_to_archived_or_unknown_accounts_and_consent_needs_a_source(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let acme = account(&mut tx, "Acme").await;
    let old = account(&mut tx, "Old Co").await;
    accounts::update(&mut tx, &system(), &old, None, AccountPatch { archived: Some(true), ..Default::default() })
        .await
        .unwrap();
    let c = person(&mut tx, &acme, "Abel").await;
    let err =
        contacts::update(&mut tx, &system(), &c, None, ContactPatch { account_id: Some(old.id), ..Default::default() })
            .await
            .unwrap_err();
    assert!(err.to_string().contains("archived"), "{err}");
    assert_eq!(field_of(err), "account_id");
    let new =
        NewContact { account_id: Some(nave_domain::ids::PublicId::new()), last_name: "X".into(), ..Default::default() };
    assert_eq!(field_of(contacts::create(&mut tx, &system(), new).await.unwrap_err()), "account_id");
    let consent = nave_domain::contact::ConsentChange { given: Some(true), ..Default::default() };
    let patch = ContactPatch { consent: consent.clone(), ..Default::default() };
    assert_eq!(field_of(contacts::update(&mut tx, &system(), &c, None, patch).await.unwrap_err()), "consent_source");
    let with_source = nave_domain::contact::ConsentChange { source: Some(Some("web form".into())), ..consent };
    let c = contacts::update(&mut tx, &system(), &c, None, ContactPatch { consent: with_source, ..Default::default() })
        .await
        .unwrap();
    assert!(c.marketing_consent && c.consent_at.is_some());
    assert_eq!(c.consent_source.as_deref(), Some("web form"));

    // An account with contacts cannot be deleted; the message says why and what to do.
    let err = accounts::delete(&mut tx, &system(), &acme, None).await.unwrap_err();
    assert!(err.to_string().contains("has 1 contact(s)") && err.to_string().contains("archive it instead"), "{err}");
}

/// Accounts written before migration 0010 keep their rows and references
/// (SQLite rebuilds the table) and get their duplicate-detection keys.
async fn accounts_written_before_the_contacts_migration_survive_it(backend: Backend) {
    let Some(t) = TestDb::empty(backend).await else { return };
    migrate::migrate_to(&t.db, 9).await.unwrap();
    // The tenant as the schema of version 9 holds it (later set-up steps need later tables).
    let mut tx = t.db.write().await.unwrap();
    tx.execute(
        "INSERT INTO tenants (id, public_id, name, created_at) VALUES ($1, $2, $3, $4)",
        nave_store::args![DEFAULT_TENANT, uuid::Uuid::now_v7(), "Old Co", nave_store::db::now()],
    )
    .await
    .unwrap();
    for (id, name, parent) in [(1, "Acme, Inc.", None), (2, "Acme Europe GmbH", Some(1))] {
        tx.execute(
            "INSERT INTO accounts (tenant_id, id, public_id, name, kinds, parent_id, currency, tags, archived, version, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, '[\"customer\"]', $5, 'EUR', '[]', $6, 1, $7, $7)",
            nave_store::args![DEFAULT_TENANT, id as i64, uuid::Uuid::now_v7(), name, parent.map(|p: i64| p), false, nave_store::db::now()],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert!(migrate::migrate(&t.db).await.unwrap() >= 1);
    let mut tx = t.db.write().await.unwrap();
    let keys = tx.fetch_all("SELECT name_key FROM accounts ORDER BY id", vec![], |r| r.text("name_key")).await.unwrap();
    assert_eq!(keys, ["acme", "acme europe"]);
    let parent = accounts::list(&mut tx, DEFAULT_TENANT, &Default::default()).await.unwrap().items;
    assert_eq!(parent[1].parent_id, Some(parent[0].id), "references survive");
    let err = accounts::delete(&mut tx, &system(), &parent[0], None).await.unwrap_err();
    assert!(err.to_string().contains("parent of 1 account"), "{err}");
    let dupes = accounts::likely_duplicates(
        &mut tx,
        DEFAULT_TENANT,
        &NewAccount::named("ACME Inc", parent[0].currency).match_keys(),
    )
    .await
    .unwrap();
    assert_eq!(dupes.len(), 1);
}

both_backends!(
    an_account_has_exactly_one_primary_contact_through_every_change,
    contacts_cannot_go_to_archived_or_unknown_accounts_and_consent_needs_a_source,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_written_before_the_contacts_migration_survive_it_on_sqlite() {
    accounts_written_before_the_contacts_migration_survive_it(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_written_before_the_contacts_migration_survive_it_on_postgres() {
    accounts_written_before_the_contacts_migration_survive_it(Backend::Postgres).await;
}
