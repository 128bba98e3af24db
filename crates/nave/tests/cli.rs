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

both_backends!(
    users_and_tokens_are_made_from_the_command_line,
    bad_command_line_input_fails_with_one_sentence,
    serve_answers_on_its_address
);

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
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
