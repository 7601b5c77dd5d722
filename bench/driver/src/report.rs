//! Turns the measurements of a run (JSON lines from `measure`) into the markdown table, with
//! medians over the rounds and ratios against direct HTTP, and the results JSON.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use crate::stats::median;

/// The targets mcp-valet is held to (issue: the benchmark harness).
const TARGET_COLD_MS: f64 = 15.0;
const TARGET_ADDED_P50_MS: f64 = 0.10;
const TARGET_THROUGHPUT: f64 = 0.85;
const TARGET_1M_RATIO: f64 = 1.2;
const TARGET_RSS_MIB: f64 = 12.0;
const TARGET_CPU_US: f64 = 100.0;

/// The figures of one tool, as medians over the rounds.
#[derive(Debug, Default, Clone)]
struct Figures {
    label: String,
    rounds: usize,
    cold: Option<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
    rps: Option<f64>,
    l256: Option<f64>,
    l1m: Option<f64>,
    rss_kib: Option<f64>,
    cpu_us: Option<f64>,
    cpu_pipe_us: Option<f64>,
    cpu_1m_us: Option<f64>,
    client_cpu_us: Option<f64>,
    /// Only cold starts were measured (no session).
    cold_only: bool,
}

fn num(v: &Value, path: &str) -> Option<f64> {
    v.pointer(path).and_then(Value::as_f64)
}

fn figures(runs: &[&Value]) -> Figures {
    let m = |path: &str| median(&runs.iter().filter_map(|r| num(r, path)).collect::<Vec<_>>());
    Figures {
        label: runs
            .first()
            .and_then(|r| r["label"].as_str())
            .unwrap_or("?")
            .to_string(),
        rounds: runs.len(),
        cold: m("/cold_start_ms/median"),
        p50: m("/seq/p50_ms"),
        p99: m("/seq/p99_ms"),
        rps: m("/pipe/req_per_s"),
        l256: m("/large_256k/median_ms"),
        l1m: m("/large_1m/median_ms"),
        rss_kib: m("/rss/peak_kib"),
        cpu_us: m("/seq/cpu_us_per_call"),
        cpu_pipe_us: m("/pipe/cpu_us_per_call"),
        cpu_1m_us: m("/large_1m/cpu_us_per_call"),
        client_cpu_us: m("/seq/client_cpu_us_per_call"),
        cold_only: !runs.is_empty() && runs.iter().all(|r| r["cold_only"].as_bool() == Some(true)),
    }
}

fn figures_json(f: &Figures, direct: Option<&Figures>) -> Value {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let d = direct.cloned().unwrap_or_default();
    json!({
        "label": f.label,
        "rounds_used": f.rounds,
        "cold_only": f.cold_only,
        "cold_start_ms": f.cold,
        "seq_p50_ms": f.p50,
        "seq_p99_ms": f.p99,
        "added_p50_ms": f.p50.zip(d.p50).map(|(a, b)| a - b),
        "added_p99_ms": f.p99.zip(d.p99).map(|(a, b)| a - b),
        "pipelined_req_per_s": f.rps,
        "throughput_ratio": ratio(f.rps, d.rps),
        "large_256k_ms": f.l256,
        "large_256k_ratio": ratio(f.l256, d.l256),
        "large_1m_ms": f.l1m,
        "large_1m_ratio": ratio(f.l1m, d.l1m),
        "peak_rss_mib": f.rss_kib.map(|k| k / 1024.0),
        "cpu_us_per_call_sequential": f.cpu_us,
        "cpu_us_per_call_pipelined": f.cpu_pipe_us,
        "cpu_us_per_call_1mib": f.cpu_1m_us,
        "client_cpu_us_per_call": f.client_cpu_us,
    })
}

fn fmt_ms(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v >= 100.0 => format!("{v:.0} ms"),
        Some(v) if v >= 10.0 => format!("{v:.1} ms"),
        Some(v) => format!("{v:.2} ms"),
    }
}

fn fmt_plus_ms(v: Option<f64>) -> String {
    match v {
        None => "n/a".into(),
        Some(v) if v.abs() >= 10.0 => format!("{v:+.1} ms"),
        Some(v) => format!("{v:+.2} ms"),
    }
}

fn fmt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "n/a".into(),
    }
}

fn fmt_opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "n/a".into())
}

/// `report FILE.jsonl… [--meta k=v]… [--out results.json]`
pub fn main(args: &[String]) -> Result<(), String> {
    let mut files = Vec::new();
    let mut meta = Map::new();
    let mut out_path = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--meta" => {
                let kv = it.next().ok_or("--meta needs key=value")?;
                let (k, v) = kv.split_once('=').ok_or("--meta needs key=value")?;
                meta.insert(k.to_string(), Value::String(v.to_string()));
            }
            "--out" => out_path = Some(it.next().ok_or("--out needs a path")?.clone()),
            f => files.push(f.to_string()),
        }
    }
    let mut runs: Vec<Value> = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            runs.push(serde_json::from_str(line).map_err(|e| format!("{f}:{}: {e}", i + 1))?);
        }
    }
    let machine = machine();
    let (md, summary) = render(&runs, &meta, &machine);
    print!("{md}");
    if let Some(p) = out_path {
        let doc = json!({ "meta": meta, "machine": machine, "summary": summary, "runs": runs });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(&p, text + "\n").map_err(|e| format!("{p}: {e}"))?;
    }
    Ok(())
}

fn ordered_unique<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in it {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

fn render(runs: &[Value], meta: &Map<String, Value>, machine: &Value) -> (String, Value) {
    let mut md = String::new();
    let get = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let _ = writeln!(md, "# mcp-valet benchmark, {}\n", get("date"));
    let modern = meta
        .get("sdk_v2")
        .and_then(Value::as_str)
        .filter(|_| runs.iter().any(|r| r["scenario"].as_str() == Some("modern")))
        .map(|v| format!(" (the modern scenario: tests/peers/modern.mjs, TypeScript SDK v2 server {v})"))
        .unwrap_or_default();
    let _ = writeln!(
        md,
        "Machine: {} ({} cores), Linux {}, {} GiB RAM; node {}, {}; server: tests/peers/server.mjs (TypeScript SDK {}){modern} on 127.0.0.1.",
        machine["cpu"].as_str().unwrap_or("?"),
        machine["cores"],
        machine["kernel"].as_str().unwrap_or("?"),
        machine["mem_gib"],
        get("node"),
        get("python"),
        get("sdk"),
    );
    let _ = writeln!(
        md,
        "Rounds: {} (tools interleaved in each round); every figure is the median over the rounds (leaving out rounds that other work on the machine overlapped, where the tool has a clean one). Ratios are against direct HTTP (lower is better, except throughput).\n",
        get("rounds")
    );

    let mut summary = Map::new();
    let scenarios = ordered_unique(runs.iter().filter_map(|r| r["scenario"].as_str()));
    for sc in scenarios {
        let in_sc: Vec<&Value> = runs.iter().filter(|r| r["scenario"].as_str() == Some(sc)).collect();
        let title = in_sc.iter().find_map(|r| r["scenario_title"].as_str()).unwrap_or(sc);
        let _ = writeln!(md, "## {title}\n");
        if let Some(skip) = in_sc.iter().find_map(|r| r["skipped"].as_str()) {
            let _ = writeln!(md, "Skipped: {skip}\n");
            summary.insert(sc.to_string(), json!({ "skipped": skip }));
            continue;
        }
        let measured: Vec<&Value> = in_sc.iter().copied().filter(|r| r.get("name").is_some()).collect();
        let tools = ordered_unique(measured.iter().filter_map(|r| r["name"].as_str()));
        let figs: Vec<(&str, Figures)> = tools
            .iter()
            .map(|t| {
                let rs: Vec<&Value> = measured
                    .iter()
                    .copied()
                    .filter(|r| r["name"].as_str() == Some(*t))
                    .collect();
                // Rounds that other work overlapped only count when there is no clean one.
                let clean: Vec<&Value> = rs.iter().copied().filter(|r| !is_busy(r)).collect();
                (*t, figures(if clean.is_empty() { &rs } else { &clean }))
            })
            .collect();
        let direct = figs.iter().find(|(t, _)| *t == "direct").map(|(_, f)| f.clone());
        let d = direct.clone().unwrap_or_default();

        let _ = writeln!(
            md,
            "| tool | cold start | added latency p50 (p99) | pipelined throughput, 64 in flight | 256 KiB result | 1 MiB result | peak RSS (tree) | CPU per call |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let mut sc_sum = Map::new();
        for (t, f) in &figs {
            sc_sum.insert(t.to_string(), figures_json(f, direct.as_ref()));
            if *t == "direct" {
                let _ = writeln!(
                    md,
                    "| {} | {} | p50 {} (p99 {}) | 1.00× ({}) | 1.00× ({}) | 1.00× ({}) | — | — (client {}) |",
                    f.label,
                    fmt_ms(f.cold),
                    fmt_ms(f.p50),
                    fmt_ms(f.p99),
                    fmt_opt(f.rps, |v| format!("{v:.0} req/s")),
                    fmt_ms(f.l256),
                    fmt_ms(f.l1m),
                    fmt_opt(f.client_cpu_us, |v| format!("{v:.0} µs")),
                );
            } else if f.cold_only {
                let _ = writeln!(md, "| {} | {} | — | — | — | — | — | — |", f.label, fmt_ms(f.cold));
            } else {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} ({}) | {} ({}) | {} ({}) | {} ({}) | {} | {} |",
                    f.label,
                    fmt_ms(f.cold),
                    fmt_plus_ms(f.p50.zip(d.p50).map(|(a, b)| a - b)),
                    fmt_plus_ms(f.p99.zip(d.p99).map(|(a, b)| a - b)),
                    fmt_ratio(f.rps, d.rps),
                    fmt_opt(f.rps, |v| format!("{v:.0} req/s")),
                    fmt_ratio(f.l256, d.l256),
                    fmt_ms(f.l256),
                    fmt_ratio(f.l1m, d.l1m),
                    fmt_ms(f.l1m),
                    fmt_opt(f.rss_kib, |k| format!("{:.1} MiB", k / 1024.0)),
                    fmt_opt(f.cpu_us, |v| format!("{v:.0} µs")),
                );
            }
        }
        let _ = writeln!(md);

        // Targets for mcp-valet.
        if let Some((_, v)) = figs.iter().find(|(t, _)| *t == "mcp-valet") {
            let _ = writeln!(md, "mcp-valet against its targets:\n");
            let _ = writeln!(md, "| target | measured | verdict |");
            let _ = writeln!(md, "|---|---:|---|");
            let added = v.p50.zip(d.p50).map(|(a, b)| a - b);
            let thr = v.rps.zip(d.rps).map(|(a, b)| a / b);
            let big = v.l1m.zip(d.l1m).map(|(a, b)| a / b);
            let rss = v.rss_kib.map(|k| k / 1024.0);
            let rows: [(&str, Option<f64>, f64, bool, &str); 6] = [
                ("cold start ≤ 15 ms", v.cold, TARGET_COLD_MS, true, " ms"),
                ("added latency p50 ≤ +0.10 ms", added, TARGET_ADDED_P50_MS, true, " ms"),
                (
                    "pipelined throughput ≥ 0.85× direct",
                    thr,
                    TARGET_THROUGHPUT,
                    false,
                    "×",
                ),
                ("1 MiB result ≤ 1.2× direct", big, TARGET_1M_RATIO, true, "×"),
                ("peak RSS ≤ 12 MiB", rss, TARGET_RSS_MIB, true, " MiB"),
                ("CPU per call ≤ 100 µs", v.cpu_us, TARGET_CPU_US, true, " µs"),
            ];
            for (name, val, target, at_most, unit) in rows {
                let verdict = match val {
                    None => "n/a".to_string(),
                    Some(x) if (at_most && x <= target) || (!at_most && x >= target) => "met".to_string(),
                    Some(x) if (x - target).abs() < 0.1 => format!("MISSED by {:.3}{unit}", (x - target).abs()),
                    Some(x) => format!("MISSED by {:.2}{unit}", (x - target).abs()),
                };
                let shown = match val {
                    None => "n/a".to_string(),
                    Some(x) if unit == " ms" && name.starts_with("added") => format!("{x:+.3} ms"),
                    Some(x) => format!("{x:.2}{unit}"),
                };
                let _ = writeln!(md, "| {name} | {shown} | {verdict} |");
            }
            let _ = writeln!(md);
            for (t, f) in figs.iter().filter(|(t, f)| f.cold_only && t.starts_with("mcp-valet")) {
                let _ = writeln!(md, "Not a target: {} cold start {} ({t}).\n", f.label, fmt_ms(f.cold));
            }
        }

        // mcp-valet against an earlier build of itself (--baseline-bin), round by round.
        if figs.iter().any(|(t, _)| *t == "mcp-valet-baseline") {
            baseline_table(&mut md, &measured);
        }

        // Round trips: what the server saw, against the tool calls sent (summed over rounds).
        let _ = writeln!(md, "Requests the server saw, summed over the rounds used above:\n");
        let _ = writeln!(
            md,
            "| tool | starts | tools/call sent | tools/call seen (per call sent) | other requests |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---|");
        for t in &tools {
            let rs: Vec<&Value> = measured
                .iter()
                .copied()
                .filter(|r| r["name"].as_str() == Some(*t))
                .collect();
            let clean: Vec<&Value> = rs.iter().copied().filter(|r| !is_busy(r)).collect();
            let rs = if clean.is_empty() { rs } else { clean };
            let _ = writeln!(md, "{}", requests_row(&rs));
        }
        let _ = writeln!(md);

        // Every round, for the spread.
        let _ = writeln!(md, "<details><summary>per round</summary>\n");
        let _ = writeln!(
            md,
            "| tool | round | cold start | p50 | p99 | req/s | 256 KiB | 1 MiB | peak RSS | CPU/call seq (pipelined) | other work before/during/after | errors |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for r in &measured {
            let errs = r["errors"].as_array().map(|a| a.len()).unwrap_or(0);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
                r["name"].as_str().unwrap_or("?"),
                r["round"],
                fmt_ms(num(r, "/cold_start_ms/median")),
                fmt_ms(num(r, "/seq/p50_ms")),
                fmt_ms(num(r, "/seq/p99_ms")),
                fmt_opt(num(r, "/pipe/req_per_s"), |v| format!("{v:.0}")),
                fmt_ms(num(r, "/large_256k/median_ms")),
                fmt_ms(num(r, "/large_1m/median_ms")),
                fmt_opt(num(r, "/rss/peak_kib"), |k| format!("{:.1} MiB", k / 1024.0)),
                fmt_opt(num(r, "/seq/cpu_us_per_call"), |v| format!("{v:.0} µs")),
                fmt_opt(num(r, "/pipe/cpu_us_per_call"), |v| format!("{v:.0} µs")),
                busy_cell(r),
                if errs == 0 { "".to_string() } else { errs.to_string() },
            );
        }
        let _ = writeln!(md, "\n</details>\n");
        let flagged: Vec<String> = measured
            .iter()
            .filter(|r| is_busy(r))
            .map(|r| format!("{} round {}", r["name"].as_str().unwrap_or("?"), r["round"]))
            .collect();
        if !flagged.is_empty() {
            let _ = writeln!(
                md,
                "Warning: other work overlapped {} measurement(s) ({}); the medians above leave them out where the same tool has a clean round.\n",
                flagged.len(),
                flagged.join(", ")
            );
        }
        for r in &measured {
            for e in r["errors"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    md,
                    "- error, {} round {}: {}",
                    r["name"].as_str().unwrap_or("?"),
                    r["round"],
                    e.as_str().unwrap_or("?")
                );
            }
        }
        summary.insert(sc.to_string(), Value::Object(sc_sum));
    }
    (md, Value::Object(summary))
}

/// mcp-valet against `--baseline-bin`: for each figure, the ratio of the two builds measured
/// in the same round (adjacent in time, so drift of the machine between rounds cancels out),
/// and the median of those ratios over the rounds where both are clean.
fn baseline_table(md: &mut String, measured: &[&Value]) {
    let clean = |name: &str, round: &Value| {
        measured
            .iter()
            .copied()
            .find(|r| r["name"].as_str() == Some(name) && &r["round"] == round && !is_busy(r))
    };
    let pairs: Vec<(Figures, Figures)> = measured
        .iter()
        .filter(|r| r["name"].as_str() == Some("mcp-valet") && !is_busy(r))
        .filter_map(|new| Some((figures(&[new]), figures(&[clean("mcp-valet-baseline", &new["round"])?]))))
        .collect();
    let old_label = measured
        .iter()
        .find(|r| r["name"].as_str() == Some("mcp-valet-baseline"))
        .and_then(|r| r["label"].as_str())
        .unwrap_or("the baseline");
    let _ = writeln!(
        md,
        "mcp-valet against {old_label}, round by round (median of the per-round ratios over {} round(s) where both are clean; above 1.00 is slower or larger, except throughput):\n",
        pairs.len()
    );
    let _ = writeln!(md, "| figure | ratio | per round |");
    let _ = writeln!(md, "|---|---:|---|");
    type Pick = fn(&Figures) -> Option<f64>;
    let rows: [(&str, Pick); 7] = [
        ("cold start", |f| f.cold),
        ("latency p50", |f| f.p50),
        ("pipelined throughput", |f| f.rps),
        ("256 KiB result", |f| f.l256),
        ("1 MiB result", |f| f.l1m),
        ("peak RSS", |f| f.rss_kib),
        ("CPU per call", |f| f.cpu_us),
    ];
    for (name, pick) in rows {
        let ratios: Vec<f64> = pairs
            .iter()
            .filter_map(|(n, o)| pick(n).zip(pick(o)).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b))
            .collect();
        let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        let _ = writeln!(
            md,
            "| {name} | {} | {} |",
            fmt_opt(median(&ratios), |r| format!("{r:.2}×")),
            each.join(", ")
        );
    }
    let _ = writeln!(md);
}

/// One row of the requests table: starts, tool calls sent and seen, and the other requests by
/// method (initialize, server/discover, DELETE, …).
fn requests_row(rs: &[&Value]) -> String {
    let sum = |p: &str| {
        rs.iter()
            .filter_map(|r| r.pointer(p).and_then(Value::as_u64))
            .sum::<u64>()
    };
    let label = rs.first().and_then(|r| r["label"].as_str()).unwrap_or("?");
    let (starts, sent) = (sum("/starts"), sum("/tool_calls_sent"));
    let mut others: Vec<(String, u64)> = Vec::new();
    let mut seen = 0;
    let mut known = false;
    for r in rs {
        let Some(by) = r.pointer("/server_requests/by_method").and_then(Value::as_object) else {
            continue;
        };
        known = true;
        for (m, n) in by {
            let n = n.as_u64().unwrap_or(0);
            if m == "tools/call" {
                seen += n;
            } else if let Some(o) = others.iter_mut().find(|(k, _)| k == m) {
                o.1 += n;
            } else {
                others.push((m.clone(), n));
            }
        }
    }
    if !known {
        return format!("| {label} | {starts} | {sent} | n/a | n/a |");
    }
    others.sort();
    let others = if others.is_empty() {
        "none".to_string()
    } else {
        others
            .iter()
            .map(|(m, n)| format!("{m} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let per = if sent > 0 {
        format!(" ({:.2})", seen as f64 / sent as f64)
    } else {
        String::new()
    };
    format!("| {label} | {starts} | {sent} | {seen}{per} | {others} |")
}

/// Whether other work kept the machine busy just before, during or right after a measurement.
fn is_busy(r: &Value) -> bool {
    let max = num(r, "/busy_max_pct").unwrap_or(f64::INFINITY);
    [
        num(r, "/busy_before_pct"),
        num(r, "/foreign_cpu_pct"),
        num(r, "/busy_after_pct"),
    ]
    .into_iter()
    .flatten()
    .any(|b| b > max)
}

fn busy_cell(r: &Value) -> String {
    let p = |v: Option<f64>| v.map_or("?".to_string(), |b| format!("{b:.0}%"));
    let mark = if is_busy(r) { " (!)" } else { "" };
    format!(
        "{}/{}/{}{mark}",
        p(num(r, "/busy_before_pct")),
        p(num(r, "/foreign_cpu_pct")),
        p(num(r, "/busy_after_pct"))
    )
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")
                .and_then(|v| v.split_ascii_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0.0);
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": kernel,
        "mem_gib": (mem_kib / 1024.0 / 1024.0).round(),
    })
}
