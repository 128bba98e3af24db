//! The `nave` binary as a user runs it, on both databases.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nave_testkit::{Backend, TestDb, both_backends};

fn nave(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nave"));
    cmd.args(args)
        .env_remove("NAVE_PASSWORD")
        .env_remove("NAVE_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("nave runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

async fn users_and_tokens_are_made_from_the_command_line(t: TestDb) {
    let url = t.url.clone();
    let out = nave(&["migrate", "--db", &url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = nave(
        &["user", "add", "ann@example.com", "--role", "admin", "--db", &url],
        &[("NAVE_PASSWORD", "a long password 1")],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim().len(), 36, "stdout is the new user's id");

    let out = nave(
        &["user", "add", "bob@example.com", "--role", "sales_rep", "--db", &url],
        &[],
        Some("another long password\n"),
    );
    assert!(out.status.success(), "the password can come from standard input: {}", text(&out.stderr));

    let out = nave(&["token", "create", "ann@example.com", "--name", "script", "--db", &url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the token alone on stdout: {stdout:?}");
    assert!(lines[0].starts_with("nave_1_") && lines[0].len() > 40);
    assert!(text(&out.stderr).contains("shown only now"));
    // The printed token works against the server.
    let mut tx = t.db.read().await.unwrap();
    let (_, secret) = nave_store::auth::parse_bearer(lines[0]).unwrap();
    assert!(nave_store::tokens::authenticate(&mut tx, 1, secret).await.unwrap().is_some());
}

/// Arguments, environment, and what the error must say.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

async fn bad_command_line_input_fails_with_one_sentence(t: TestDb) {
    let url = t.url.clone();
    let cases: Vec<Case> = vec![
        (
            vec!["user", "add", "zed@example.com", "--role", "boss", "--db", &url],
            vec![("NAVE_PASSWORD", "long enough pass")],
            "not a role",
        ),
        (
            vec!["user", "add", "not-an-email", "--role", "admin", "--db", &url],
            vec![("NAVE_PASSWORD", "long enough pass")],
            "not a valid e-mail",
        ),
        (
            vec!["user", "add", "zed@example.com", "--role", "admin", "--db", &url],
            vec![("NAVE_PASSWORD", "short")],
            "at least 10",
        ),
        (vec!["token", "create", "nobody@example.com", "--name", "x", "--db", &url], vec![], "no user"),
        (
            vec!["token", "create", "nobody@example.com", "--name", "x", "--expires-in-days", "0", "--db", &url],
            vec![],
            "between 1 and 3650",
        ),
        (vec!["migrate", "--db", "mysql://localhost/x"], vec![], "unsupported database URL"),
        (vec!["migrate", "--config", "/nonexistent/nave.toml"], vec![], "does not exist"),
    ];
    for (args, env, expect) in cases {
        let out = nave(&args, &env, None);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("error: "));
        assert!(text(&out.stdout).is_empty());
    }
}

async fn serve_answers_on_its_address(t: TestDb) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_nave"))
        .args(["serve", "--db", &t.url, "--listen", &listen])
        .env("NAVE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("http://{listen}/ready")).send().await {
            ready = r.status() == 200;
            if ready {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login = client.get(format!("http://{listen}/login")).send().await.map(|r| r.status().as_u16());
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "nave serve became ready");
    assert_eq!(login.unwrap(), 200);
}

async fn products_import_from_csv_with_a_dry_run_and_a_row_report(t: TestDb) {
    let dir = std::env::temp_dir().join(format!("nave-import-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("products.csv");
    let mut csv = String::from("sku,name,category,list_price,cost,unit,kind\n");
    let mut bad = 0;
    for i in 0..300 {
        match i % 33 {
            5 => {
                csv.push_str(&format!("BAD-{i},Too precise,Tools,1.23456,1,pc,goods\n"));
                bad += 1;
            }
            6 => {
                csv.push_str(&format!("KIND-{i},Wrong kind,Tools,1,1,pc,gadget\n"));
                bad += 1;
            }
            7 => {
                csv.push_str("SKU-0,Duplicate of row 2,Tools,1,1,pc,goods\n");
                bad += 1;
            }
            _ => csv.push_str(&format!(
                "SKU-{i},Product {i},{},{}.50,{}.25,pc,goods\n",
                ["Tools", "Fasteners"][i % 2],
                i,
                i / 2
            )),
        }
    }
    std::fs::write(&file, csv).unwrap();
    let path = file.to_str().unwrap();
    let dry = nave(&["import", "products", path, "--dry-run", "--db", &t.url], &[], None);
    let err = text(&dry.stderr);
    assert!(!dry.status.success(), "refused rows make the exit status non-zero");
    assert!(err.contains(&format!("would import {} product(s)", 300 - bad)), "{err}");
    assert!(
        err.contains("column list_price") && err.contains("column kind") && err.contains("is also on row 2"),
        "{err}"
    );
    assert!(err.contains("Nothing was written."));
    let mut tx = t.db.read().await.unwrap();
    let page = nave_store::catalog::list_products(&mut tx, 1, &Default::default()).await.unwrap();
    assert!(page.items.is_empty(), "the dry run wrote nothing");
    drop(tx);

    let real = nave(&["import", "products", path, "--db", &t.url], &[], None);
    let err = text(&real.stderr);
    let expected = format!("Imported {} product(s): {} new, 0 updated, 2 new product line(s)", 300 - bad, 300 - bad);
    assert!(err.contains(&expected), "{err}");
    assert_eq!(err.matches("  row ").count(), bad as usize, "{err}");
    let mut tx = t.db.read().await.unwrap();
    let p = nave_store::catalog::get_product_by_sku(&mut tx, 1, "sku-10").await.unwrap().unwrap();
    assert_eq!((p.list_price.as_str(), p.cost.as_str()), ("10.50", "5.25"));
    drop(tx);

    // A second import of the same SKUs updates them; empty cells keep values.
    std::fs::write(&file, "sku,name,list_price\nSKU-10,,11.00\n").unwrap();
    let again = nave(&["import", "products", path, "--db", &t.url], &[], None);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("0 new, 1 updated"));
    let mut tx = t.db.read().await.unwrap();
    let p = nave_store::catalog::get_product_by_sku(&mut tx, 1, "SKU-10").await.unwrap().unwrap();
    assert_eq!((p.name.as_str(), p.list_price.as_str()), ("Product 10", "11.00"));
    drop(tx);
    std::fs::write(&file, "sku,colour\nX,red\n").unwrap();
    let out = nave(&["import", "products", path, "--db", &t.url], &[], None);
    assert!(text(&out.stderr).contains("unknown column \"colour\""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Counts rows of a table (tests only: the name is a literal).
async fn count(t: &TestDb, table: &str) -> i64 {
    let mut tx = t.db.read().await.unwrap();
    tx.scalar_i64(format!("SELECT COUNT(*) AS v FROM {table}"), vec![]).await.unwrap()
}

fn temp_file(name: &str, text: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("nave-import-{}", unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

async fn accounts_import_keeps_good_rows_and_reports_each_bad_one(t: TestDb) {
    // An account that exists before the import, for the duplicate check.
    let mut tx = t.db.write().await.unwrap();
    let seeded = nave_store::accounts::NewAccount {
        website: Some("https://www.seeded.example".into()),
        ..nave_store::accounts::NewAccount::named(
            "Seeded Holdings",
            nave_domain::money::Currency::parse("EUR").unwrap(),
        )
    };
    nave_store::accounts::create(&mut tx, &nave_store::audit::Actor::system(1), seeded).await.unwrap();
    tx.commit().await.unwrap();

    let mut csv = String::from(
        "name,kinds,currency,credit_limit,payment_terms,tax_id,industry,website,phone,tags,address_line1,address_city,address_country,external_ids\n",
    );
    let mut bad = Vec::new();
    for i in 0..5000 {
        let row = match (i % 100, (i / 10 + i / 100) % 6) {
            (10 | 30 | 50, kind) => {
                bad.push(i as u64 + 2);
                match kind {
                    0 => format!("Company {i},customer,EURO,,,,,,,,,,,erp:C-{i}\n"),
                    1 => format!("Company {i},customer,EUR,,,,,not a website,,,,,,erp:C-{i}\n"),
                    2 => format!("Company {i},customer,EUR,,,,,,,,{i} Main Street,Berlin,XX,erp:C-{i}\n"),
                    3 => format!("Company {i} bis,customer,EUR,,,,,,,,,,,erp:C-{}\n", i - 1),
                    4 => "SEEDED HOLDINGS GMBH,customer,EUR,,,,,,,,,,,\n".to_string(),
                    _ => format!("Company {i},alien,EUR,,,,,,,,,,,erp:C-{i}\n"),
                }
            }
            _ => format!(
                "Company {i},customer; prospect,EUR,{}.00,Net 30,DE{i:09},Retail,https://company{i}.example,+49 30 {:07},north; key account,{i} Main Street,Berlin,DE,erp:C-{i}\n",
                1000 + i,
                1_000_000 + i
            ),
        };
        csv.push_str(&row);
    }
    assert_eq!(bad.len(), 150, "3 % of the rows are bad");
    let (dir, file) = temp_file("accounts.csv", &csv);
    let path = file.to_str().unwrap();
    let (audit0, events0) = (count(&t, "audit_entries").await, count(&t, "events").await);

    // The dry run checks the first 1,000 rows (30 of them bad) and writes nothing.
    let head: String = csv.lines().take(1001).map(|l| format!("{l}\n")).collect();
    let head_file = dir.join("first-1000.csv");
    std::fs::write(&head_file, head).unwrap();
    let dry = nave(&["import", "accounts", head_file.to_str().unwrap(), "--dry-run", "--db", &t.url], &[], None);
    let err = text(&dry.stderr);
    assert!(!dry.status.success(), "refused rows make the exit status non-zero");
    assert!(err.contains("Dry run: would import 970 account(s): 970 new, 0 updated."), "{err}");
    assert_eq!(err.matches("  row ").count(), 30, "{err}");
    assert!(err.contains("Nothing was written."));
    assert_eq!(count(&t, "accounts").await, 1, "the dry run wrote nothing");
    assert_eq!((count(&t, "audit_entries").await, count(&t, "events").await), (audit0, events0));

    let started = std::time::Instant::now();
    let real = nave(&["import", "accounts", path, "--db", &t.url], &[], None);
    let elapsed = started.elapsed();
    let err = text(&real.stderr);
    assert!(!real.status.success());
    assert!(err.contains("Imported 4850 account(s): 4850 new, 0 updated."), "{err}");
    let reported: Vec<u64> =
        err.lines().filter_map(|l| l.trim().strip_prefix("row ")?.split(',').next()?.parse().ok()).collect();
    assert_eq!(reported, bad, "each bad row is reported once, in order");
    for expect in [
        "column currency:",
        "column website: must be a web address",
        "column address_country: must be an ISO 3166-1 alpha-2 country code",
        "is also on row",
        "column name: looks like an account that exists: Seeded Holdings (the same name)",
        "column kinds:",
    ] {
        assert!(err.contains(expect), "{expect}: {err}");
    }
    assert!(err.contains("150 row(s) were refused"));
    assert_eq!(count(&t, "accounts").await, 4851);
    assert_eq!(count(&t, "account_addresses").await, 4850, "each good row's address");
    let mut tx = t.db.read().await.unwrap();
    let e = nave_domain::external_id::ExternalId::new("erp", "C-4321");
    let a = nave_store::accounts::get_by_external_id(&mut tx, 1, &e).await.unwrap().unwrap();
    assert_eq!((a.name.as_str(), a.credit_limit.as_deref()), ("Company 4321", Some("5321.00")));
    assert_eq!(a.tags, ["north", "key account"]);
    assert!(a.payment_terms_id.is_some());
    assert!(a.addresses[0].is_default_billing && a.addresses[0].country == "DE");
    drop(tx);
    eprintln!("5,000-row accounts import on {:?}: {elapsed:?}", t.backend);
    assert!(elapsed < std::time::Duration::from_secs(120), "{elapsed:?}");

    // A second file updates by external id (empty cells keep values) and merges ids.
    std::fs::write(&file, "name,industry,phone,external_ids\n,Wholesale,,erp:C-4321; shop:77\n").unwrap();
    let again = nave(&["import", "accounts", path, "--db", &t.url], &[], None);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("0 new, 1 updated"));
    let mut tx = t.db.read().await.unwrap();
    let a = nave_store::accounts::get_by_external_id(&mut tx, 1, &e).await.unwrap().unwrap();
    assert_eq!((a.industry.as_deref(), a.phone.as_deref()), (Some("Wholesale"), Some("+49 30 1004321")));
    assert_eq!(a.external_ids.len(), 2);
    drop(tx);
    // A likely duplicate goes in when the command says so.
    std::fs::write(&file, "name\nSeeded Holdings Ltd\n").unwrap();
    assert!(!nave(&["import", "accounts", path, "--db", &t.url], &[], None).status.success());
    let anyway = nave(&["import", "accounts", path, "--allow-duplicates", "--db", &t.url], &[], None);
    assert!(anyway.status.success(), "{}", text(&anyway.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

async fn contacts_import_finds_their_accounts_by_external_id_or_name(t: TestDb) {
    let (dir, file) =
        temp_file("accounts.csv", "name,external_ids\nAcme,erp:A-1\nGlobex,\nTwin,erp:T-1\nTwin ,erp:T-2\n");
    let path = file.to_str().unwrap();
    let out = nave(&["import", "accounts", path, "--allow-duplicates", "--db", &t.url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let contacts = "account,first_name,last_name,title,emails,phones,marketing_consent,consent_source,is_primary,external_ids\n\
        erp:A-1,Ann,Lee,Buyer,ann@acme.example,office: +44 20 7946 0000; +44 7700 900123,yes,web form,,crm:1\n\
        Acme,Bob,Marr,,bob@acme.example,,,,yes,crm:2\n\
        Globex,Cy,Diaz,,cy@globex.example,,,,,crm:3\n\
        Twin,Dee,Eng,,,,,,,crm:4\n\
        Nowhere Inc,Eve,Fox,,,,,,,crm:5\n\
        Globex,Gil,Hay,,,,yes,,,crm:6\n\
        Globex,Ida,Jay,,not-an-email,,,,,crm:7\n\
        Acme,Kim,Lo,,,,,,,crm:1\n";
    std::fs::write(&file, contacts).unwrap();
    let dry = nave(&["import", "contacts", path, "--dry-run", "--db", &t.url], &[], None);
    let err = text(&dry.stderr);
    assert!(!dry.status.success());
    assert!(err.contains("would import 3 contact(s)"), "{err}");
    assert!(err.contains("row 5, column account: 2 accounts are named Twin"), "{err}");
    assert!(err.contains("row 6, column account: no account has the external id or the name Nowhere Inc"), "{err}");
    assert!(err.contains("row 7, column consent_source: is required"), "{err}");
    assert!(err.contains("row 8, column emails: is not a valid e-mail address"), "{err}");
    assert!(err.contains("row 9, column external_ids: crm:1 is also on row 2"), "{err}");
    assert_eq!(count(&t, "contacts").await, 0, "the dry run wrote nothing");
    let real = nave(&["import", "contacts", path, "--db", &t.url], &[], None);
    assert!(text(&real.stderr).contains("Imported 3 contact(s): 3 new, 0 updated."), "{}", text(&real.stderr));
    let mut tx = t.db.read().await.unwrap();
    let ann =
        nave_store::contacts::get_by_external_id(&mut tx, 1, &nave_domain::external_id::ExternalId::new("crm", "1"))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(ann.phones.len(), 2);
    assert_eq!((ann.phones[0].label.as_str(), ann.phones[0].number.as_str()), ("office", "+44 20 7946 0000"));
    assert!(ann.marketing_consent && ann.consent_at.is_some());
    assert!(!ann.is_primary, "Bob was imported as the primary contact after her");
    let bob =
        nave_store::contacts::get_by_external_id(&mut tx, 1, &nave_domain::external_id::ExternalId::new("crm", "2"))
            .await
            .unwrap()
            .unwrap();
    assert!(bob.is_primary);
    let _ = std::fs::remove_dir_all(&dir);
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{nanos}", std::process::id())
}

async fn sales_summaries_are_checked_and_rebuilt_from_the_command_line(t: TestDb) {
    let url = t.url.clone();
    let out = nave(&["summaries", "check", "--db", &url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("agree with the documents"), "{}", text(&out.stderr));
    // A row no document explains, as a change made past Nave would leave.
    let mut tx = t.db.write().await.unwrap();
    tx.execute(
        "INSERT INTO sales_months (tenant_id, month, account_id, currency, invoiced_minor, invoices) \
         VALUES (1, '2026-01-01', 999, 'EUR', 500, 1)",
        vec![],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let out = nave(&["summaries", "check", "--db", &url], &[], None);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("differ from the documents in 1 row(s)") && err.contains("nave summaries rebuild"), "{err}");
    let out = nave(&["summaries", "rebuild", "--db", &url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(count(&t, "sales_months").await, 0);
    let out = nave(&["summaries", "check", "--db", &url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

both_backends!(
    sales_summaries_are_checked_and_rebuilt_from_the_command_line,
    users_and_tokens_are_made_from_the_command_line,
    bad_command_line_input_fails_with_one_sentence,
    serve_answers_on_its_address,
    products_import_from_csv_with_a_dry_run_and_a_row_report,
    accounts_import_keeps_good_rows_and_reports_each_bad_one,
    contacts_import_finds_their_accounts_by_external_id_or_name,
);

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["import", "--help"],
        vec!["serve", "--help"],
        vec!["demo", "--help"],
        vec!["migrate", "--help"],
        vec!["user", "add", "--help"],
        vec!["token", "create", "--help"],
        vec!["summaries", "check", "--help"],
    ] {
        let out = nave(&args, &[], None);
        assert!(out.status.success(), "{args:?}");
        assert!(text(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_loads_once_and_logs_in() {
    let Some(t) = TestDb::empty(Backend::Sqlite).await else { return };
    let out = nave(&["demo", "--no-serve", "--db", &t.url], &[], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("admin@demo.example") && err.contains("nave-demo-2026"), "{err}");
    let again = nave(&["demo", "--no-serve", "--db", &t.url], &[], None);
    assert!(again.status.success());
    assert!(text(&again.stderr).contains("already loaded"));
}
