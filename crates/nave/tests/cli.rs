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

fn unique() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}-{nanos}", std::process::id())
}

both_backends!(
    users_and_tokens_are_made_from_the_command_line,
    bad_command_line_input_fails_with_one_sentence,
    serve_answers_on_its_address,
    products_import_from_csv_with_a_dry_run_and_a_row_report,
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
