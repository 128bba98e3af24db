//! The pipeline and service cases in the store, on both engines, with the
//! clock set through the data: every write takes the time it happens at.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::case::{CaseAction, CaseKind, CasePriority, CaseStatus};
use nave_domain::email::Email;
use nave_domain::forecast::YearMonth;
use nave_domain::money::Currency;
use nave_domain::pipeline::StageKind;
use nave_store::accounts::{self, NewAccount, Visibility};
use nave_store::audit::{self, Actor, AuditQuery};
use nave_store::cases::{self, CasePatch, NewCase};
use nave_store::pipeline::{self, ForecastQuery, NewOpportunity, OpportunityPatch, StageInput, StagePatch};
use nave_store::tenants::{self, DEFAULT_TENANT};
use nave_store::users::{self, NewUser};
use nave_store::{StoreError, Tx};
use nave_testkit::{TestDb, both_backends};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2025-06-02 09:00 UTC);

fn system() -> Actor {
    Actor::system(DEFAULT_TENANT)
}

fn as_user(key: i64) -> Actor {
    Actor { user_id: Some(key), ..system() }
}

async fn user(tx: &mut Tx, email: &str, role: &str) -> users::User {
    let new = NewUser {
        email: Email::parse(email).unwrap(),
        name: email.into(),
        password_hash: None,
        role: role.into(),
        team_id: None,
        locale: None,
    };
    users::create(tx, &system(), new).await.unwrap()
}

async fn account(tx: &mut Tx, name: &str) -> accounts::Account {
    let new = NewAccount::named(name, Currency::parse("EUR").unwrap());
    accounts::create(tx, &system(), new).await.unwrap()
}

fn opportunity(account: &accounts::Account, name: &str) -> NewOpportunity {
    NewOpportunity {
        account_id: account.id,
        name: name.into(),
        stage_id: None,
        probability: None,
        amount: Some("1000.00".into()),
        currency: None,
        expected_close: date!(2025 - 09 - 15),
        owner_id: None,
        team_id: None,
        source: None,
        description: String::new(),
        lost_reason: None,
        won_reason: None,
    }
}

fn conflict(e: StoreError) -> String {
    match e {
        StoreError::Domain(DomainError::Conflict(m)) => m,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

async fn every_company_gets_the_default_pipeline_once(t: TestDb) {
    let mut tx = t.db.read().await.unwrap();
    let stages = pipeline::list_stages(&mut tx, DEFAULT_TENANT).await.unwrap();
    tx.commit().await.unwrap();
    let got: Vec<_> = stages.iter().map(|s| (s.name.as_str(), s.probability, s.kind)).collect();
    assert_eq!(
        got,
        [
            ("Prospecting", 10, StageKind::Open),
            ("Qualification", 25, StageKind::Open),
            ("Proposal", 50, StageKind::Open),
            ("Negotiation", 75, StageKind::Open),
            ("Won", 100, StageKind::Won),
            ("Lost", 0, StageKind::Lost),
        ]
    );
    // Starting again (every server start ensures its tenant) seeds nothing new.
    tenants::ensure(&t.db, DEFAULT_TENANT, "Test Company").await.unwrap();
    let mut tx = t.db.read().await.unwrap();
    assert_eq!(pipeline::list_stages(&mut tx, DEFAULT_TENANT).await.unwrap().len(), 6);
}

async fn the_pipeline_keeps_one_won_and_a_lost_stage_and_used_stages_stay(t: TestDb) {
    let sys = system();
    let mut tx = t.db.write().await.unwrap();
    let stages = pipeline::list_stages(&mut tx, DEFAULT_TENANT).await.unwrap();
    let (won, lost, proposal) = (&stages[4], &stages[5], &stages[2]);

    let e = pipeline::delete_stage(&mut tx, &sys, won, None).await.unwrap_err();
    assert!(conflict(e).contains("exactly one won stage"));
    let e = pipeline::delete_stage(&mut tx, &sys, lost, None).await.unwrap_err();
    assert!(conflict(e).contains("0 lost stage"));
    let e = pipeline::update_stage(
        &mut tx,
        &sys,
        won,
        None,
        StagePatch { kind: Some(StageKind::Open), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert!(conflict(e).contains("0 won"));
    let second_won = StageInput { name: "Won again".into(), position: None, probability: 100, kind: StageKind::Won };
    let e = pipeline::create_stage(&mut tx, &sys, second_won).await.unwrap_err();
    assert!(conflict(e).contains("2 won"));

    // A second lost stage can come and go.
    let no_budget = StageInput { name: "No budget".into(), position: None, probability: 0, kind: StageKind::Lost };
    let nb = pipeline::create_stage(&mut tx, &sys, no_budget).await.unwrap();
    assert!(nb.position > won.position, "a new stage goes to the end");
    pipeline::delete_stage(&mut tx, &sys, lost, None).await.unwrap();

    // A stage in use cannot go, and says how many use it.
    let acc = account(&mut tx, "Acme").await;
    for n in 0..2 {
        let mut new = opportunity(&acc, &format!("Deal {n}"));
        new.stage_id = Some(proposal.id);
        pipeline::create(&mut tx, &sys, new, T0).await.unwrap();
    }
    let e = pipeline::delete_stage(&mut tx, &sys, proposal, None).await.unwrap_err();
    assert!(conflict(e).contains("used by 2 opportunities"));
    let e = pipeline::update_stage(
        &mut tx,
        &sys,
        proposal,
        None,
        StagePatch { kind: Some(StageKind::Lost), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert!(conflict(e).contains("holds 2 opportunities"));
    // A rename is fine, and history keeps the name the stage had.
    let renamed = pipeline::update_stage(
        &mut tx,
        &sys,
        proposal,
        Some(1),
        StagePatch { name: Some("Offer".into()), ..Default::default() },
    )
    .await
    .unwrap();
    assert_eq!(renamed.name, "Offer");
    tx.commit().await.unwrap();
    // (A refused write aborts its transaction on PostgreSQL: this one is dropped.)
    let mut tx = t.db.write().await.unwrap();
    let e = pipeline::update_stage(
        &mut tx,
        &sys,
        &renamed,
        None,
        StagePatch { name: Some("won".into()), ..Default::default() },
    )
    .await
    .unwrap_err();
    assert!(conflict(e).contains("already exists"), "names are unique regardless of case");
}

async fn stage_moves_write_one_history_row_each_and_close_and_reopen(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let rep = user(&mut tx, "rep@example.com", "sales_rep").await;
    let actor = as_user(rep.key);
    let stages = pipeline::list_stages(&mut tx, DEFAULT_TENANT).await.unwrap();
    let acc = account(&mut tx, "Globex").await;
    let opp = pipeline::create(&mut tx, &actor, opportunity(&acc, "Roof"), T0).await.unwrap();
    assert_eq!((opp.stage.as_str(), opp.probability, opp.currency.code()), ("Prospecting", 10, "EUR"));
    assert_eq!(opp.owner_id, Some(rep.id), "the creator owns it");

    let t1 = T0 + Duration::days(3);
    let to = |i: usize| OpportunityPatch { stage_id: Some(stages[i].id), ..Default::default() };
    let opp = pipeline::update(&mut tx, &actor, &opp, None, to(3), t1).await.unwrap();
    assert_eq!(opp.probability, 75);
    let opp = pipeline::update(
        &mut tx,
        &actor,
        &opp,
        None,
        OpportunityPatch { probability: Some(60), ..Default::default() },
        t1,
    )
    .await
    .unwrap();
    let opp = pipeline::update(&mut tx, &actor, &opp, None, to(3), t1).await.unwrap();
    assert_eq!(opp.probability, 60, "naming the stage it is in is no move");
    let t2 = T0 + Duration::days(9);
    let won = OpportunityPatch { won_reason: Some(Some("Fast delivery".into())), ..to(4) };
    let opp = pipeline::update(&mut tx, &actor, &opp, None, won, t2).await.unwrap();
    assert_eq!((opp.status, opp.probability, opp.closed_at), (StageKind::Won, 100, Some(t2)));
    let opp = pipeline::update(&mut tx, &actor, &opp, None, to(2), t2 + Duration::hours(1)).await.unwrap();
    assert_eq!((opp.status, opp.closed_at, opp.won_reason.as_deref()), (StageKind::Open, None, None));

    let h = pipeline::history(&mut tx, DEFAULT_TENANT, opp.key).await.unwrap();
    let steps: Vec<_> = h.iter().map(|c| (c.from_stage.as_deref(), c.to_stage.as_str(), c.probability)).collect();
    assert_eq!(
        steps,
        [
            (None, "Prospecting", 10),
            (Some("Prospecting"), "Negotiation", 75),
            (Some("Negotiation"), "Won", 100),
            (Some("Won"), "Proposal", 50)
        ]
    );
    assert_eq!((h[0].changed_at, h[2].changed_at), (T0, t2));
    assert_eq!(h[1].changed_by, Some(rep.id));
    let log =
        audit::list(&mut tx, DEFAULT_TENANT, &AuditQuery { record_id: Some(opp.id), limit: 50, ..Default::default() })
            .await
            .unwrap();
    assert_eq!(log.items.len(), 6, "one audit entry per write");
    assert!(log.items.iter().all(|e| e.record_type == RecordType::Opportunity.as_str()));

    // Deleting the opportunity takes its history along.
    let key = opp.key;
    pipeline::delete(&mut tx, &actor, &opp, None).await.unwrap();
    assert!(pipeline::history(&mut tx, DEFAULT_TENANT, key).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

async fn the_forecast_reads_open_opportunities_in_range_within_scope(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let rob = user(&mut tx, "rob@example.com", "sales_rep").await;
    let sara = user(&mut tx, "sara@example.com", "sales_rep").await;
    let stages = pipeline::list_stages(&mut tx, DEFAULT_TENANT).await.unwrap();
    let acc = account(&mut tx, "Initech").await;
    for (who, close, stage, amount) in [
        (&rob, date!(2025 - 07 - 01), 2, "100.01"),
        (&rob, date!(2025 - 08 - 31), 1, "200.00"),
        (&rob, date!(2025 - 09 - 01), 1, "999.00"),
        (&rob, date!(2025 - 07 - 10), 4, "500.00"),
        (&sara, date!(2025 - 07 - 20), 0, "300.00"),
    ] {
        let mut new = opportunity(&acc, "Deal");
        new.stage_id = Some(stages[stage].id);
        new.expected_close = close;
        new.amount = Some(amount.into());
        pipeline::create(&mut tx, &as_user(who.key), new, T0).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = t.db.read().await.unwrap();
    let q = |visibility| ForecastQuery {
        visibility,
        from: "2025-07".parse::<YearMonth>().unwrap(),
        to: "2025-08".parse::<YearMonth>().unwrap(),
        owner_key: None,
        currency: None,
    };
    let (all, owners) = pipeline::forecast_items(&mut tx, DEFAULT_TENANT, &q(Visibility::All)).await.unwrap();
    let mut got: Vec<_> = all.iter().map(|i| (i.month.to_string(), i.owner, i.amount_minor, i.probability)).collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("2025-07".into(), Some(rob.key), 10_001, 50),
            ("2025-07".into(), Some(sara.key), 30_000, 10),
            ("2025-08".into(), Some(rob.key), 20_000, 25),
        ],
        "open only, from the first day of the first month to the last day of the last"
    );
    assert!(owners.iter().any(|(k, id, _)| *k == sara.key && *id == sara.id));
    let (robs, _) = pipeline::forecast_items(&mut tx, DEFAULT_TENANT, &q(Visibility::Owner(rob.key))).await.unwrap();
    assert_eq!(robs.len(), 2);
    assert!(robs.iter().all(|i| i.owner == Some(rob.key)), "a rep never sees another rep's opportunity");
}

async fn case_service_times_follow_the_clock_of_the_changes(t: TestDb) {
    let mut tx = t.db.write().await.unwrap();
    let sue = user(&mut tx, "sue@example.com", "support").await;
    let tom = user(&mut tx, "tom@example.com", "support").await;
    let acc = account(&mut tx, "Umbrella").await;
    let actor = as_user(sue.key);
    let new = NewCase {
        account_id: acc.id,
        subject: "Drill stops after a minute".into(),
        description: String::new(),
        kind: CaseKind::Problem,
        priority: CasePriority::High,
        assignee_id: None,
        team_id: None,
        product_id: None,
        document: None,
        resolution: None,
    };
    let c = cases::create(&mut tx, &actor, new, T0).await.unwrap();
    assert_eq!((c.status, c.assignee_id, c.first_response_seconds), (CaseStatus::New, Some(sue.id), None));
    assert_eq!(c.created_at, T0);

    // Handing it to a colleague 90 seconds later is the first response.
    let hand_over = CasePatch { assignee_id: Some(Some(tom.id)), ..Default::default() };
    let c = cases::update(&mut tx, &actor, &c, None, hand_over, T0 + Duration::seconds(90)).await.unwrap();
    assert_eq!(c.first_response_seconds, Some(90));
    let c = cases::act(&mut tx, &actor, &c, None, CaseAction::Open, None, T0 + Duration::hours(1)).await.unwrap();
    assert_eq!(c.first_response_seconds, Some(90), "the first response never moves");

    // Resolving needs a resolution; then it is timed from creation.
    let e =
        cases::act(&mut tx, &actor, &c, None, CaseAction::Resolve, None, T0 + Duration::hours(3)).await.unwrap_err();
    assert!(matches!(e, StoreError::Domain(DomainError::Validation(ref f)) if f[0].field == "resolution"), "{e:?}");
    let c = cases::act(
        &mut tx,
        &actor,
        &c,
        None,
        CaseAction::Resolve,
        Some("Replaced the battery".into()),
        T0 + Duration::hours(3),
    )
    .await
    .unwrap();
    assert_eq!(
        (c.status, c.resolution_seconds, c.resolved_at),
        (CaseStatus::Resolved, Some(3 * 3600), Some(T0 + Duration::hours(3)))
    );
    let c = cases::act(&mut tx, &actor, &c, None, CaseAction::Close, None, T0 + Duration::days(2)).await.unwrap();
    assert_eq!(c.closed_at, Some(T0 + Duration::days(2)));
    let c = cases::act(&mut tx, &actor, &c, None, CaseAction::Reopen, None, T0 + Duration::days(3)).await.unwrap();
    assert_eq!((c.status, c.resolution_seconds, c.resolved_at, c.closed_at), (CaseStatus::Open, None, None, None));
    let c = cases::act(&mut tx, &actor, &c, None, CaseAction::Resolve, None, T0 + Duration::days(4)).await.unwrap();
    assert_eq!(c.resolution_seconds, Some(4 * 86_400), "the earlier resolution text still stands");
    assert_eq!(c.first_response_seconds, Some(90));

    // A case opened first (no hand-over) is first answered by that move.
    let new = NewCase {
        account_id: acc.id,
        subject: "Invoice question".into(),
        description: String::new(),
        kind: CaseKind::Question,
        priority: CasePriority::Low,
        assignee_id: Some(Some(tom.id)),
        team_id: None,
        product_id: None,
        document: None,
        resolution: None,
    };
    let q = cases::create(&mut tx, &actor, new, T0).await.unwrap();
    let q = cases::act(&mut tx, &actor, &q, None, CaseAction::Wait, None, T0 + Duration::minutes(42)).await.unwrap();
    assert_eq!(q.first_response_seconds, Some(42 * 60));
    tx.commit().await.unwrap();
}

both_backends!(
    every_company_gets_the_default_pipeline_once,
    the_pipeline_keeps_one_won_and_a_lost_stage_and_used_stages_stay,
    stage_moves_write_one_history_row_each_and_close_and_reopen,
    the_forecast_reads_open_opportunities_in_range_within_scope,
    case_service_times_follow_the_clock_of_the_changes,
);
