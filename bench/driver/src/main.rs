//! bench-driver: plays the desktop MCP client for `bench/run`.
//!
//!   bench-driver measure --name NAME --mcp-url URL [options] --direct
//!   bench-driver measure --name NAME --mcp-url URL [options] -- BRIDGE-COMMAND ARGS…
//!       one measurement; prints one JSON line
//!   bench-driver report RESULTS.jsonl… [--meta key=value]… [--out results.json]
//!       the markdown table (medians over rounds, ratios against direct)

mod bridge;
mod direct;
mod jsonrpc;
mod measure;
mod procs;
mod report;
mod stats;

use std::time::Duration;

const USAGE: &str = "\
usage:
  bench-driver measure --name NAME --mcp-url URL [--label TEXT] [--scenario S] [--title TEXT] [--round N]
        [--admin-url BASE] [--server-pid PID] [--bearer TOKEN (direct only)]
        [--modern (direct only: speak 2026-07-28)] [--cold-only]
        [--cold N] [--warmup N] [--seq N] [--seq-max-secs S] [--pipe N] [--depth N]
        [--pipe-max-secs S] [--large-256k N] [--large-1m N] [--large-max-secs S]
        [--sample-ms MS] [--call-timeout-secs S] [--env KEY=VALUE]… [--fresh-dir-env KEY=DIR]
        [--stderr PATH]
        [--busy-before PCT --busy-max PCT (recorded: how busy the machine was)]
        (--direct | -- COMMAND ARGS…)
  bench-driver report FILE.jsonl… [--meta key=value]… [--out results.json]";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("measure") => measure_main(&args[1..]),
        Some("report") => report::main(&args[1..]),
        _ => Err(USAGE.to_string()),
    };
    if let Err(e) = res {
        eprintln!("bench-driver: {e}");
        std::process::exit(2);
    }
}

fn measure_main(args: &[String]) -> Result<(), String> {
    let mut cfg = measure::Config {
        name: String::new(),
        label: String::new(),
        scenario: "default".into(),
        title: String::new(),
        round: 1,
        mcp_url: String::new(),
        admin_url: None,
        bearer: None,
        modern: false,
        cold_only: false,
        bridge: None,
        cold: 5,
        warmup: 200,
        seq: 2000,
        seq_max: Duration::from_secs(20),
        pipe: 5000,
        depth: 64,
        pipe_max: Duration::from_secs(10),
        large_256k: 40,
        large_1m: 20,
        large_max: Duration::from_secs(10),
        sample_every: Duration::from_millis(5),
        call_timeout: Duration::from_secs(30),
        busy_before: None,
        busy_max: None,
        server_pid: None,
    };
    let mut env = Vec::new();
    let mut fresh_dir_env = None;
    let mut stderr = "/dev/null".to_string();
    let mut direct = false;
    let mut cmd: Option<Vec<String>> = None;
    let mut i = 0;
    let val = |i: &mut usize| -> Result<String, String> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| format!("{} needs a value", args[*i - 1]))
    };
    let n = |s: String| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let secs = |s: String| {
        s.parse::<f64>()
            .map(Duration::from_secs_f64)
            .map_err(|e| format!("{s}: {e}"))
    };
    while i < args.len() {
        match args[i].as_str() {
            "--name" => cfg.name = val(&mut i)?,
            "--label" => cfg.label = val(&mut i)?,
            "--scenario" => cfg.scenario = val(&mut i)?,
            "--title" => cfg.title = val(&mut i)?,
            "--round" => cfg.round = n(val(&mut i)?)? as u32,
            "--mcp-url" => cfg.mcp_url = val(&mut i)?,
            "--admin-url" => cfg.admin_url = Some(val(&mut i)?),
            "--bearer" => cfg.bearer = Some(val(&mut i)?),
            "--modern" => cfg.modern = true,
            "--cold-only" => cfg.cold_only = true,
            "--cold" => cfg.cold = n(val(&mut i)?)?,
            "--warmup" => cfg.warmup = n(val(&mut i)?)?,
            "--seq" => cfg.seq = n(val(&mut i)?)?,
            "--seq-max-secs" => cfg.seq_max = secs(val(&mut i)?)?,
            "--pipe" => cfg.pipe = n(val(&mut i)?)?,
            "--depth" => cfg.depth = n(val(&mut i)?)?.max(1),
            "--pipe-max-secs" => cfg.pipe_max = secs(val(&mut i)?)?,
            "--large-256k" => cfg.large_256k = n(val(&mut i)?)?,
            "--large-1m" => cfg.large_1m = n(val(&mut i)?)?,
            "--large-max-secs" => cfg.large_max = secs(val(&mut i)?)?,
            "--sample-ms" => cfg.sample_every = Duration::from_millis(n(val(&mut i)?)? as u64),
            "--call-timeout-secs" => cfg.call_timeout = secs(val(&mut i)?)?,
            "--busy-before" => cfg.busy_before = Some(n(val(&mut i)?)? as u32),
            "--busy-max" => cfg.busy_max = Some(n(val(&mut i)?)? as u32),
            "--server-pid" => cfg.server_pid = Some(n(val(&mut i)?)? as u32),
            "--env" => {
                let kv = val(&mut i)?;
                let (k, v) = kv.split_once('=').ok_or("--env needs KEY=VALUE")?;
                env.push((k.to_string(), v.to_string()));
            }
            "--fresh-dir-env" => {
                let kv = val(&mut i)?;
                let (k, v) = kv.split_once('=').ok_or("--fresh-dir-env needs KEY=DIR")?;
                fresh_dir_env = Some((k.to_string(), v.to_string()));
            }
            "--stderr" => stderr = val(&mut i)?,
            "--direct" => direct = true,
            "--" => {
                cmd = Some(args[i + 1..].to_vec());
                break;
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
        i += 1;
    }
    if cfg.name.is_empty() || cfg.mcp_url.is_empty() {
        return Err(format!("--name and --mcp-url are required\n{USAGE}"));
    }
    if cfg.label.is_empty() {
        cfg.label = cfg.name.clone();
    }
    match (direct, cmd) {
        (true, None) => {}
        (false, Some(cmd)) if !cmd.is_empty() => {
            cfg.bridge = Some(bridge::Spec {
                cmd,
                env,
                stderr,
                fresh_dir_env,
            })
        }
        _ => return Err(format!("give exactly one of --direct and -- COMMAND\n{USAGE}")),
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let out = rt.block_on(measure::run(cfg));
    eprintln!("{}", measure::one_line(&out));
    println!("{out}");
    Ok(())
}
