//! `nave bench markdown RESULTS.jsonl`: BENCHMARKS.md from the JSON lines the
//! workloads printed, each figure beside its PERFORMANCE.md target and
//! whether it is met.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct MarkdownArgs {
    /// The workloads' JSON lines (other lines are ignored).
    results: PathBuf,
    /// The machine, as it should be described (default: read from /proc).
    #[arg(long)]
    machine: Option<String>,
    /// The commands that made the results, one per line, to quote.
    #[arg(long)]
    commands: Option<PathBuf>,
}

/// A figure and its target: (label, value, target text, met).
type Check = (String, String, String, Option<bool>);

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn fmt(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| if x >= 100.0 { format!("{x:.0}") } else { format!("{x}") })
}

/// The targets of PERFORMANCE.md for one result.
fn checks(r: &Value) -> Vec<Check> {
    let m = &r["metrics"];
    let db = r["db"].as_str().unwrap_or_default();
    let clients = r["params"]["clients"].as_u64().unwrap_or(1);
    let ratio = num(&r["ratio"]);
    let mut out = Vec::new();
    let mut push = |label: &str, v: Option<f64>, target: String, met: Option<bool>| {
        out.push((label.to_string(), fmt(v), target, met));
    };
    match r["workload"].as_str().unwrap_or_default() {
        "o2c" => {
            let ops = num(&m["orders_per_s"]);
            let (goal, applies) = match (db, clients) {
                ("sqlite", 1) => (300.0, true),
                ("postgres", 8) => (500.0, true),
                _ => (0.0, false),
            };
            push(
                "orders/s",
                ops,
                if applies { format!("≥ {goal}") } else { "—".into() },
                applies.then(|| ops.unwrap_or(0.0) >= goal),
            );
            let rss = num(&m["server_peak_rss_mb"]);
            push("server peak RSS (MB)", rss, "≤ 150".into(), rss.map(|x| x <= 150.0));
            push("ratio to the HTTP floor", ratio, "—".into(), None);
        }
        "overview" => {
            let p99 = num(&m["p99_ms"]);
            push("p99 (ms)", p99, "≤ 50".into(), p99.map(|x| x <= 50.0));
            push(
                "biggest accounts p99 (ms)",
                num(&m["biggest_accounts_p99_ms"]),
                "≤ 50".into(),
                num(&m["biggest_accounts_p99_ms"]).map(|x| x <= 50.0),
            );
            push("p99 / SQL reference p99", ratio, "≤ 2".into(), ratio.map(|x| x <= 2.0));
        }
        "import" => {
            let rps = num(&m["rows_per_s"]);
            push("rows/s", rps, "≥ 20000".into(), rps.map(|x| x >= 20_000.0));
            push("ratio to bulk insert", ratio, "≥ 0.3".into(), ratio.map(|x| x >= 0.3));
        }
        "contention" => {
            push("orders/s", num(&m["orders_per_s"]), "—".into(), None);
            let ok = m["invariants"].as_object().is_some_and(|o| o.values().all(|v| v == 0));
            out.push((
                "invariants".into(),
                if ok { "all hold".into() } else { "BROKEN".into() },
                "all hold".into(),
                Some(ok),
            ));
        }
        "reports" => {
            if let Some(reports) = m["reports"].as_object() {
                for (name, x) in reports {
                    let ms = num(&x["ms"]);
                    let ratio = num(&x["ratio"]);
                    out.push((format!("{name} (ms)"), fmt(ms), "≤ 1000".into(), ms.map(|v| v <= 1000.0)));
                    out.push((format!("{name} / SQL"), fmt(ratio), "≤ 1.5".into(), ratio.map(|v| v <= 1.5)));
                }
            }
        }
        _ => {}
    }
    out
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or("unknown memory".into(), |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{cpus} cores ({model}), {mem}")
}

pub fn run(a: MarkdownArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.results)?;
    let results: Vec<Value> =
        text.lines().filter(|l| l.starts_with('{')).filter_map(|l| serde_json::from_str(l).ok()).collect();
    anyhow::ensure!(!results.is_empty(), "{} holds no benchmark results", a.results.display());
    let mut md = String::new();
    writeln!(md, "# Benchmarks\n")?;
    writeln!(
        md,
        "Made by `nave bench` (see PERFORMANCE.md and the user guide) with a release build, on {}. \
         Each workload runs on a fresh database and measures its reference in the same run; the machine \
         is shared, so compare ratios more than absolute times.\n",
        a.machine.clone().unwrap_or_else(machine)
    )?;
    if let Some(c) = &a.commands {
        writeln!(md, "Commands:\n\n```sh\n{}```\n", std::fs::read_to_string(c)?)?;
    }
    writeln!(md, "| workload | db | params | figure | value | target | met |\n|---|---|---|---|---|---|---|")?;
    for r in &results {
        let params = r["params"]
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "seed" | "lines_per_order" | "calls_per_order"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        for (label, value, target, met) in checks(r) {
            let met = match met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            writeln!(
                md,
                "| {} | {} | {} | {label} | {value} | {target} | {met} |",
                r["workload"].as_str().unwrap_or_default(),
                r["db"].as_str().unwrap_or_default(),
                params
            )?;
        }
    }
    writeln!(md, "\n## Raw results\n\n```json")?;
    for r in &results {
        writeln!(md, "{}", serde_json::to_string(r)?)?;
    }
    writeln!(md, "```")?;
    print!("{md}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_are_judged_per_workload_and_engine() {
        let o2c = json!({"workload": "o2c", "db": "sqlite", "params": {"clients": 1},
            "metrics": {"orders_per_s": 250.0, "server_peak_rss_mb": 60.0}, "ratio": 0.5});
        let c = checks(&o2c);
        assert_eq!(c[0].3, Some(false), "250 < 300 orders/s");
        assert_eq!(c[1].3, Some(true), "60 MB ≤ 150");
        let pg8 = json!({"workload": "o2c", "db": "postgres", "params": {"clients": 8},
            "metrics": {"orders_per_s": 600.0}, "ratio": 0.5});
        assert_eq!(checks(&pg8)[0].3, Some(true));
        let pg1 = json!({"workload": "o2c", "db": "postgres", "params": {"clients": 1},
            "metrics": {"orders_per_s": 600.0}, "ratio": 0.5});
        assert_eq!(checks(&pg1)[0].3, None, "no target for one client on PostgreSQL");
        let ov = json!({"workload": "overview", "db": "sqlite", "params": {},
            "metrics": {"p99_ms": 40.0, "biggest_accounts_p99_ms": 60.0}, "ratio": 2.5});
        let c = checks(&ov);
        assert_eq!((c[0].3, c[1].3, c[2].3), (Some(true), Some(false), Some(false)));
        let bad = json!({"workload": "contention", "db": "sqlite", "params": {},
            "metrics": {"invariants": {"negative_stock": 1}}, "ratio": 1.0});
        assert_eq!(checks(&bad)[1].3, Some(false));
    }
}
