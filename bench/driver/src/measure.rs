//! One measurement of one tool (direct HTTP, or a bridge command) against a running server:
//! cold start, sequential latency, pipelined throughput, large results, peak RSS, CPU/call.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bridge::{Bridge, Spec};
use crate::direct::Direct;
use crate::jsonrpc::{self, Reply, Tool};
use crate::procs::{self, Cpu, RssSampler};
use crate::stats;

pub struct Config {
    pub name: String,
    pub label: String,
    pub scenario: String,
    /// The scenario's heading in the report.
    pub title: String,
    pub round: u32,
    pub mcp_url: String,
    pub admin_url: Option<String>,
    pub bearer: Option<String>,
    /// Direct HTTP speaks 2026-07-28 (no initialize, no session: `server/discover` first, the
    /// envelope on every request). Bridges are always spoken to in the older revisions.
    pub modern: bool,
    /// Only the cold starts (no session): a figure for one way of starting, not a full row.
    pub cold_only: bool,
    /// None: direct HTTP.
    pub bridge: Option<Spec>,
    pub cold: usize,
    pub warmup: usize,
    pub seq: usize,
    pub seq_max: Duration,
    pub pipe: usize,
    pub depth: usize,
    pub pipe_max: Duration,
    pub large_256k: usize,
    pub large_1m: usize,
    pub large_max: Duration,
    pub sample_every: Duration,
    pub call_timeout: Duration,
    /// How busy the machine's CPUs were just before (percent), as bench/run saw it.
    pub busy_before: Option<u32>,
    pub busy_max: Option<u32>,
    /// The server's pid: its RSS before and after is recorded (it must not balloon).
    pub server_pid: Option<u32>,
}

/// tools/call requests this measurement sent (one measurement per process), to compare with
/// what the server saw.
static CALLS_SENT: AtomicU64 = AtomicU64::new(0);
/// Starts: bridge spawns, or new direct clients.
static STARTS: AtomicU64 = AtomicU64::new(0);

fn sent_one() {
    CALLS_SENT.fetch_add(1, Ordering::Relaxed);
}

const KIB256: usize = 256 * 1024;
const MIB1: usize = 1024 * 1024;

/// A session with the server, through a bridge or directly.
enum Session {
    Bridge(Bridge),
    Direct(Direct),
}

impl Session {
    async fn call(&mut self, id: u64, tool: Tool) -> Result<Reply, String> {
        sent_one();
        let r = match self {
            Session::Bridge(b) => b.call(id, &tool.request(id)).await?,
            Session::Direct(d) => d.call(id, tool).await?,
        };
        if let Some(e) = r.error {
            return Err(format!("error reply to {id}: {e}"));
        }
        if r.tool_error {
            return Err(format!("tool error in the reply to {id}"));
        }
        Ok(r)
    }

    /// A call whose reply is checked in full: the text of the first content block.
    async fn checked_call(&mut self, id: u64, tool: Tool) -> Result<String, String> {
        sent_one();
        let raw = match self {
            Session::Bridge(b) => {
                b.call(id, &tool.request(id)).await?;
                b.last_line().to_vec()
            }
            Session::Direct(d) => d.call_raw(id, tool).await?.1,
        };
        jsonrpc::first_text(&raw).ok_or_else(|| {
            format!(
                "no text content in the reply: {}",
                String::from_utf8_lossy(&raw[..raw.len().min(300)])
            )
        })
    }

    fn pid(&self) -> Option<u32> {
        match self {
            Session::Bridge(b) => Some(b.pid),
            Session::Direct(_) => None,
        }
    }
}

struct Ids(u64);
impl Ids {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

async fn timed<T>(limit: Duration, what: &str, f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => r,
        Err(_) => Err(format!("{what}: no answer within {limit:?}")),
    }
}

pub async fn run(cfg: Config) -> Value {
    let machine0 = procs::machine_cpu(cfg.server_pid);
    let mut errors: Vec<String> = Vec::new();
    let mut out = json!({
        "name": cfg.name,
        "label": cfg.label,
        "scenario": cfg.scenario,
        "scenario_title": if cfg.title.is_empty() { &cfg.scenario } else { &cfg.title },
        "round": cfg.round,
        "kind": if cfg.bridge.is_some() { "bridge" } else { "direct" },
        "direct_revision": (cfg.bridge.is_none()).then_some(if cfg.modern { jsonrpc::MODERN_VERSION } else { jsonrpc::PROTOCOL_VERSION }),
        "cold_only": cfg.cold_only,
        "started": now_unix(),
        "busy_before_pct": cfg.busy_before,
        "busy_max_pct": cfg.busy_max,
    });

    if let Some(pid) = cfg.server_pid {
        out["server_rss_kib_before"] = json!(procs::rss_kib(pid).map(|(rss, _)| rss));
    }
    if let Some(admin) = &cfg.admin_url {
        // Same server state for every tool: the reference server logs every request.
        if let Ok(c) = reqwest::Client::builder().no_proxy().build() {
            let _ = c.delete(format!("{admin}/admin/log")).send().await;
        }
    }

    // ---- cold start: spawn → the reply to initialize (one unmeasured run first, so every
    // tool starts with a warm page cache).
    let mut cold = Vec::new();
    for i in 0..=cfg.cold {
        match timed(cfg.call_timeout, "cold start", cold_start(&cfg)).await {
            Ok(d) if i > 0 => cold.push(ms(d)),
            Ok(_) => {}
            Err(e) => {
                errors.push(format!("cold start: {e}"));
                break;
            }
        }
    }
    out["cold_start_ms"] = json!({ "samples": cold, "median": stats::median(&cold) });

    // ---- one long session for everything else.
    if !cfg.cold_only {
        match session(&cfg, &mut out).await {
            Ok(()) => {}
            Err(e) => errors.push(e),
        }
    }
    // What the server saw meanwhile, by method: a bridge that adds a round trip per request
    // (or per start) shows here.
    if let Some(admin) = &cfg.admin_url {
        out["server_requests"] = server_requests(admin).await;
    }
    out["tool_calls_sent"] = json!(CALLS_SENT.load(Ordering::Relaxed));
    out["starts"] = json!(STARTS.load(Ordering::Relaxed));
    out["errors"] = json!(errors);
    out["finished"] = json!(now_unix());
    // Other work on the machine meanwhile: everything busy minus the driver, the bridges it ran
    // (all reaped by now) and the server. Kernel threads working for us count as "other", so
    // a quiet machine shows a few percent.
    out["foreign_cpu_pct"] = json!(procs::foreign_pct(&machine0, &procs::machine_cpu(cfg.server_pid)));
    out
}

async fn cold_start(cfg: &Config) -> Result<Duration, String> {
    STARTS.fetch_add(1, Ordering::Relaxed);
    match &cfg.bridge {
        None => {
            let t0 = Instant::now();
            let d = Direct::new(&cfg.mcp_url, cfg.bearer.as_deref(), cfg.modern)?;
            if cfg.modern {
                let r = d.discover(0).await?;
                let t = t0.elapsed();
                if let Some(e) = r.error {
                    return Err(format!("server/discover failed: {e}"));
                }
                return Ok(t);
            }
            let (r, sid) = d.initialize_only(0).await?;
            let t = t0.elapsed();
            d.end_session(sid).await;
            if let Some(e) = r.error {
                return Err(format!("initialize failed: {e}"));
            }
            Ok(t)
        }
        Some(spec) => {
            let t0 = Instant::now();
            let mut b = Bridge::spawn(spec)?;
            let res = b.call(0, &jsonrpc::initialize(0)).await;
            let t = t0.elapsed();
            let how = b.shutdown(Duration::from_secs(3)).await;
            let r = res.map_err(|e| format!("{e} (the bridge {how})"))?;
            if let Some(e) = r.error {
                return Err(format!("initialize failed: {e}"));
            }
            Ok(t)
        }
    }
}

async fn session(cfg: &Config, out: &mut Value) -> Result<(), String> {
    let limit = cfg.call_timeout;
    let mut ids = Ids(0);
    STARTS.fetch_add(1, Ordering::Relaxed);
    let (mut s, sampler) = match &cfg.bridge {
        Some(spec) => {
            let b = Bridge::spawn(spec)?;
            let sampler = RssSampler::start(b.pid, cfg.sample_every);
            (Session::Bridge(b), Some(sampler))
        }
        None => (
            Session::Direct(Direct::new(&cfg.mcp_url, cfg.bearer.as_deref(), cfg.modern)?),
            None,
        ),
    };

    let result = phases(cfg, &mut s, &mut ids, out, limit).await;

    // Peak RSS: the sampled peak of the tree's summed VmRSS, and the sum of each process's own
    // high-water mark (exact for one process; an upper bound for several).
    if let (Some(sampler), Some(pid)) = (sampler, s.pid()) {
        let (_, hwm, n) = procs::tree_rss_kib(pid);
        let peak = sampler.finish();
        out["rss"] = json!({
            "peak_sampled_kib": peak.peak_kib,
            "hwm_sum_kib": hwm,
            "peak_kib": peak.peak_kib.max(hwm),
            "samples": peak.samples,
            "max_procs": peak.max_procs.max(n),
        });
    }
    match s {
        Session::Bridge(b) => out["exit"] = json!(b.shutdown(Duration::from_secs(3)).await),
        Session::Direct(d) => d.end_session(None).await,
    }
    if let Some(pid) = cfg.server_pid {
        out["server_rss_kib_after"] = json!(procs::rss_kib(pid).map(|(rss, _)| rss));
    }
    result
}

/// The tree's memory now, for the per-phase record (bridges only).
fn rss_mark(s: &Session, phase: &str, out: &mut Value) {
    let Some(pid) = s.pid() else { return };
    let (rss, anon, file) = procs::tree_rss_detail_kib(pid);
    let mark = json!({ "phase": phase, "rss_kib": rss, "anon_kib": anon, "file_kib": file });
    match out.get_mut("rss_phases").and_then(Value::as_array_mut) {
        Some(a) => a.push(mark),
        None => out["rss_phases"] = json!([mark]),
    }
}

async fn phases(cfg: &Config, s: &mut Session, ids: &mut Ids, out: &mut Value, limit: Duration) -> Result<(), String> {
    // initialize + initialized.
    let id = ids.next();
    match s {
        Session::Bridge(b) => {
            let r = timed(limit, "initialize", b.call(id, &jsonrpc::initialize(id))).await?;
            if let Some(e) = r.error {
                return Err(format!("initialize failed: {e}"));
            }
            b.send(&jsonrpc::initialized()).await?;
        }
        Session::Direct(d) if d.is_modern() => {
            let r = timed(limit, "server/discover", d.discover(id)).await?;
            if let Some(e) = r.error {
                return Err(format!("server/discover failed: {e}"));
            }
        }
        Session::Direct(d) => {
            let r = timed(limit, "initialize", d.initialize(id)).await?;
            if let Some(e) = r.error {
                return Err(format!("initialize failed: {e}"));
            }
            d.notify(jsonrpc::initialized(), "notifications/initialized").await?;
        }
    }

    rss_mark(s, "initialized", out);

    // Correctness first: an echo and a large result checked in full.
    let id = ids.next();
    let text = timed(limit, "echo check", s.checked_call(id, Tool::Echo)).await?;
    if text != jsonrpc::ECHO_TEXT {
        return Err(format!("echo returned {text:?}"));
    }
    let id = ids.next();
    let text = timed(limit, "large check", s.checked_call(id, Tool::Large(KIB256))).await?;
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if text.len() != KIB256 || !text.bytes().enumerate().all(|(i, c)| c == alphabet[i % 62]) {
        return Err(format!(
            "large returned {} bytes, not the expected {KIB256}",
            text.len()
        ));
    }

    // Warm-up.
    for _ in 0..cfg.warmup {
        let id = ids.next();
        timed(limit, "warm-up", s.call(id, Tool::Echo)).await?;
    }

    rss_mark(s, "checked+warm-up", out);

    // ---- sequential latency (and CPU per call of the tree over it).
    let mut lat = Vec::with_capacity(cfg.seq);
    let deadline = Instant::now() + cfg.seq_max;
    let (cpu0, self0) = snapshot(s);
    let t0 = Instant::now();
    while lat.len() < cfg.seq && Instant::now() < deadline {
        let id = ids.next();
        let t = Instant::now();
        timed(limit, "sequential call", s.call(id, Tool::Echo)).await?;
        lat.push(ms(t.elapsed()));
    }
    let wall = t0.elapsed();
    let (cpu1, self1) = snapshot(s);
    let n = lat.len();
    lat.sort_by(|a, b| a.total_cmp(b));
    out["seq"] = json!({
        "calls": n,
        "secs": wall.as_secs_f64(),
        "p50_ms": stats::percentile_sorted(&lat, 50.0),
        "p90_ms": stats::percentile_sorted(&lat, 90.0),
        "p99_ms": stats::percentile_sorted(&lat, 99.0),
        "max_ms": lat.last().copied(),
        "mean_ms": stats::mean(&lat),
        "cpu_us_per_call": cpu_per_call(s, &cpu0, &cpu1, n),
        "cpu_ticks_us_per_call": ticks_per_call(s, &cpu0, &cpu1, n),
        "wakeups_per_call": wakeups_per_call(&cpu0, &cpu1, n),
        "client_cpu_us_per_call": per_call_us(self1.saturating_sub(self0), n),
    });

    rss_mark(s, "sequential", out);

    // ---- pipelined throughput: `depth` requests in flight, replies matched by id.
    let (cpu0, self0) = snapshot(s);
    let (done, wall) = timed(
        cfg.pipe_max + limit,
        "pipelined calls",
        pipelined(s, ids, cfg.pipe, cfg.depth, Instant::now() + cfg.pipe_max),
    )
    .await?;
    let (cpu1, self1) = snapshot(s);
    out["pipe"] = json!({
        "depth": cfg.depth,
        "calls": done,
        "secs": wall.as_secs_f64(),
        "req_per_s": done as f64 / wall.as_secs_f64(),
        "cpu_us_per_call": cpu_per_call(s, &cpu0, &cpu1, done),
        "wakeups_per_call": wakeups_per_call(&cpu0, &cpu1, done),
        "client_cpu_us_per_call": per_call_us(self1.saturating_sub(self0), done),
    });
    rss_mark(s, "pipelined", out);

    // ---- large results.
    for (key, bytes, count) in [("large_256k", KIB256, cfg.large_256k), ("large_1m", MIB1, cfg.large_1m)] {
        for _ in 0..2 {
            let id = ids.next();
            timed(limit, key, s.call(id, Tool::Large(bytes))).await?;
        }
        let mut times = Vec::with_capacity(count);
        let deadline = Instant::now() + cfg.large_max;
        let (cpu0, _) = snapshot(s);
        while times.len() < count && Instant::now() < deadline {
            let id = ids.next();
            let t = Instant::now();
            let r = timed(limit, key, s.call(id, Tool::Large(bytes))).await?;
            times.push(ms(t.elapsed()));
            if r.result_len < bytes {
                return Err(format!(
                    "{key}: the result has {} bytes, fewer than {bytes}",
                    r.result_len
                ));
            }
        }
        let (cpu1, _) = snapshot(s);
        let n = times.len();
        times.sort_by(|a, b| a.total_cmp(b));
        out[key] = json!({
            "bytes": bytes,
            "calls": n,
            "median_ms": stats::percentile_sorted(&times, 50.0),
            "p90_ms": stats::percentile_sorted(&times, 90.0),
            "min_ms": times.first().copied(),
            "cpu_us_per_call": cpu_per_call(s, &cpu0, &cpu1, n),
        });
        rss_mark(s, key, out);
    }
    Ok(())
}

fn snapshot(s: &Session) -> (Option<Cpu>, u64) {
    (s.pid().map(procs::tree_cpu), procs::self_thread_ns())
}

fn cpu_per_call(s: &Session, a: &Option<Cpu>, b: &Option<Cpu>, n: usize) -> Option<f64> {
    let (Some(a), Some(b), true) = (a, b, s.pid().is_some()) else {
        return None;
    };
    per_call_us(b.since(a), n)
}

fn ticks_per_call(s: &Session, a: &Option<Cpu>, b: &Option<Cpu>, n: usize) -> Option<f64> {
    let (Some(a), Some(b), true) = (a, b, s.pid().is_some()) else {
        return None;
    };
    per_call_us(b.ticks.saturating_sub(a.ticks) * procs::tick_ns(), n)
}

fn wakeups_per_call(a: &Option<Cpu>, b: &Option<Cpu>, n: usize) -> Option<f64> {
    let (Some(a), Some(b)) = (a, b) else { return None };
    (n > 0).then(|| b.slices.saturating_sub(a.slices) as f64 / n as f64)
}

fn per_call_us(ns: u64, n: usize) -> Option<f64> {
    (n > 0).then(|| ns as f64 / 1000.0 / n as f64)
}

async fn pipelined(
    s: &mut Session,
    ids: &mut Ids,
    total: usize,
    depth: usize,
    deadline: Instant,
) -> Result<(usize, Duration), String> {
    match s {
        Session::Bridge(b) => {
            let mut in_flight: HashSet<u64> = HashSet::with_capacity(depth * 2);
            let t0 = Instant::now();
            let mut sent = 0;
            let mut done = 0;
            while sent < total.min(depth) {
                let id = ids.next();
                sent_one();
                b.send(&Tool::Echo.request(id)).await?;
                in_flight.insert(id);
                sent += 1;
            }
            while !in_flight.is_empty() {
                let r = b.recv_reply().await?;
                if !in_flight.remove(&r.id) {
                    return Err(format!("a reply to {}, which is not in flight", r.id));
                }
                if let Some(e) = r.error {
                    return Err(format!("error reply to {}: {e}", r.id));
                }
                done += 1;
                if sent < total && Instant::now() < deadline {
                    let id = ids.next();
                    sent_one();
                    b.send(&Tool::Echo.request(id)).await?;
                    in_flight.insert(id);
                    sent += 1;
                }
            }
            Ok((done, t0.elapsed()))
        }
        Session::Direct(d) => {
            let base = ids.0;
            let next = Arc::new(AtomicU64::new(0));
            let mut set = tokio::task::JoinSet::new();
            let t0 = Instant::now();
            for _ in 0..depth {
                let d = d.clone();
                let next = next.clone();
                set.spawn(async move {
                    let mut n = 0usize;
                    loop {
                        if Instant::now() >= deadline {
                            return Ok::<usize, String>(n);
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total as u64 {
                            return Ok(n);
                        }
                        let id = base + 1 + i;
                        sent_one();
                        let r = d.call(id, Tool::Echo).await?;
                        if let Some(e) = r.error {
                            return Err(format!("error reply to {id}: {e}"));
                        }
                        n += 1;
                    }
                });
            }
            let mut done = 0;
            while let Some(r) = set.join_next().await {
                done += r.map_err(|e| format!("pipelined worker: {e}"))??;
            }
            let wall = t0.elapsed();
            ids.0 = base + next.load(Ordering::Relaxed).min(total as u64) + 1;
            Ok((done, wall))
        }
    }
}

/// The server's request log (`GET /admin/log`, cleared before the measurement), counted by
/// JSON-RPC method (HTTP method for the rest: DELETE, GET).
async fn server_requests(admin: &str) -> Value {
    let Ok(c) = reqwest::Client::builder().no_proxy().build() else {
        return Value::Null;
    };
    let Ok(resp) = c.get(format!("{admin}/admin/log")).send().await else {
        return Value::Null;
    };
    let Ok(body) = resp.bytes().await else {
        return Value::Null;
    };
    let Ok(log) = serde_json::from_slice::<Vec<Value>>(&body) else {
        return Value::Null;
    };
    let mut by = serde_json::Map::new();
    for e in &log {
        let key = match e.pointer("/body/method").and_then(Value::as_str) {
            Some(m) => m.to_string(),
            None => e["method"].as_str().unwrap_or("?").to_string(),
        };
        let n = by.get(&key).and_then(Value::as_u64).unwrap_or(0);
        by.insert(key, json!(n + 1));
    }
    json!({ "total": log.len(), "by_method": by })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A short progress line for the terminal.
pub fn one_line(v: &Value) -> String {
    let f = |p: &str| v.pointer(p).and_then(Value::as_f64);
    let mut s = format!(
        "{} [{} r{}]: cold {}, p50 {}, p99 {}, {} req/s, 256K {}, 1M {}",
        v["name"].as_str().unwrap_or("?"),
        v["scenario"].as_str().unwrap_or("?"),
        v["round"],
        f("/cold_start_ms/median").map_or("n/a".into(), |x| format!("{x:.1} ms")),
        f("/seq/p50_ms").map_or("n/a".into(), |x| format!("{x:.3} ms")),
        f("/seq/p99_ms").map_or("n/a".into(), |x| format!("{x:.2} ms")),
        f("/pipe/req_per_s").map_or("n/a".into(), |x| format!("{x:.0}")),
        f("/large_256k/median_ms").map_or("n/a".into(), |x| format!("{x:.2} ms")),
        f("/large_1m/median_ms").map_or("n/a".into(), |x| format!("{x:.2} ms")),
    );
    if let Some(r) = f("/rss/peak_kib") {
        s += &format!(", RSS {:.1} MiB", r / 1024.0);
    }
    if let Some(c) = f("/seq/cpu_us_per_call") {
        s += &format!(", CPU {c:.0} µs/call");
    }
    if let Some(e) = v["errors"].as_array().filter(|a| !a.is_empty()) {
        s += &format!(
            ", ERRORS: {}",
            e.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
        );
    }
    s
}
