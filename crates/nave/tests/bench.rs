//! Smoke runs of every `nave bench` workload at a tiny size, on both
//! databases: each must succeed (its own end-state and invariant checks
//! pass) and print one well-formed JSON object per run. No timing is
//! asserted here; figures belong in BENCHMARKS.md.

use std::process::Command;

use nave_testkit::{Backend, TestDb, both_backends, pg_url};
use serde_json::Value;

/// Runs `nave bench ARGS` on the test's engine and returns its JSON lines.
fn bench(t: &TestDb, args: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nave"));
    cmd.arg("bench").args(args).env_remove("NAVE_DB");
    if t.backend == Backend::Postgres {
        cmd.args(["--db", &pg_url()]);
    }
    let out = cmd.output().expect("nave runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nave bench {args:?} failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn engine(t: &TestDb) -> &'static str {
    match t.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The common shape: workload, db, params, metrics, reference, ratio.
fn shape(v: &Value, workload: &str, t: &TestDb) {
    assert_eq!(v["workload"], workload, "{v}");
    assert_eq!(v["db"], engine(t), "{v}");
    assert!(v["params"].is_object() && v["metrics"].is_object(), "{v}");
    assert!(v["reference"].is_object(), "{v}");
    assert!(v["ratio"].as_f64().is_some_and(|r| r > 0.0), "{v}");
}

async fn o2c_runs_orders_to_cash_over_http_and_checks_the_end_state(t: TestDb) {
    let out = bench(&t, &["o2c", "--orders", "6", "--clients", "1,3", "--customers", "3", "--products", "8"]);
    assert_eq!(out.len(), 2, "one object per client count: {out:?}");
    for (v, clients) in out.iter().zip([1, 3]) {
        shape(v, "o2c", &t);
        assert_eq!(v["params"]["clients"], clients);
        assert_eq!(v["params"]["calls_per_order"], 8.0, "{v}");
        let m = &v["metrics"];
        assert!(m["orders_per_s"].as_f64().unwrap() > 0.0);
        assert_eq!(m["latency"]["issue_invoice"]["calls"], 6, "{v}");
        assert!(m["latency"]["record_payment"]["p99_ms"].as_f64().is_some());
        assert!(m["server_peak_rss_mb"].as_f64().is_some_and(|mb| mb > 1.0), "{v}");
        assert!(v["reference"]["orders_per_s"].as_f64().unwrap() > 0.0);
    }
}

async fn contention_keeps_its_invariants(t: TestDb) {
    let out = bench(&t, &["contention", "--orders", "12", "--clients", "4"]);
    assert_eq!(out.len(), 1);
    let v = &out[0];
    shape(v, "contention", &t);
    let m = &v["metrics"];
    let done = m["completed_orders"].as_u64().unwrap();
    let refused = m["refused_for_stock"].as_u64().unwrap();
    assert_eq!(done + refused, 12, "every order either completes or is refused for stock: {v}");
    assert!(done > 0, "{v}");
    assert_eq!(m["double_payments_refused"].as_u64().unwrap(), done, "{v}");
    assert_eq!(m["invariants"]["negative_stock"], 0);
}

async fn import_goes_through_nave_import_against_a_bulk_insert(t: TestDb) {
    let out = bench(&t, &["import", "--scale", "0.0003"]);
    assert_eq!(out.len(), 1);
    let v = &out[0];
    shape(v, "import", &t);
    assert_eq!(v["params"]["accounts"], 30);
    assert!(v["params"]["contacts"].as_u64().unwrap() >= 30);
    assert!(v["metrics"]["rows_per_s"].as_f64().unwrap() > 0.0);
}

async fn overview_agrees_with_hand_written_sql_on_generated_data(t: TestDb) {
    let out = bench(&t, &["overview", "--scale", "0.0005", "--requests", "25"]);
    assert_eq!(out.len(), 1);
    let v = &out[0];
    shape(v, "overview", &t);
    assert_eq!(v["params"]["accounts"], 50);
    assert!(v["params"]["invoice_lines"].as_u64().unwrap() >= 500 * 3, "about 5 lines per invoice: {v}");
    for k in ["p50_ms", "p99_ms", "biggest_accounts_p99_ms"] {
        assert!(v["metrics"][k].as_f64().is_some(), "{k}: {v}");
    }
}

/// The reports workload checks each report's figures against its SQL reference and fails when
/// they differ; here it runs once per report at a tiny size.
async fn reports_agree_with_hand_written_sql_on_generated_data(t: TestDb) {
    let out = bench(&t, &["reports", "--scale", "0.0005", "--runs", "1"]);
    assert_eq!(out.len(), 1);
    let v = &out[0];
    shape(v, "reports", &t);
    assert_eq!(v["params"]["accounts"], 50);
    let reports = v["metrics"]["reports"].as_object().expect("a figure per report");
    for name in ["sales_by_account", "sales_by_product_line", "receivables_aging", "payables_aging", "top_customers"] {
        let r = &reports[name];
        assert!(r["ms"].as_f64().is_some() && r["reference_ms"].as_f64().is_some(), "{name}: {v}");
    }
}

both_backends!(
    o2c_runs_orders_to_cash_over_http_and_checks_the_end_state,
    reports_agree_with_hand_written_sql_on_generated_data,
    contention_keeps_its_invariants,
    import_goes_through_nave_import_against_a_bulk_insert,
    overview_agrees_with_hand_written_sql_on_generated_data,
);

#[test]
fn bad_flags_get_one_sentence_and_a_failure() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_nave")).args(["bench", "o2c", "--orders", "0"]).output().expect("nave runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error: --orders must be at least 1"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_nave"))
        .args(["bench", "overview", "--db", "mysql://x"])
        .output()
        .expect("nave runs");
    assert!(!out.status.success());
}
