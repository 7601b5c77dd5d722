//! The commands that act as an MCP client (`tools`, `call`, `resources`, `read`, `prompts`)
//! and the tool filters, run as the real binary against the real SDK servers and the real
//! authorization server.

use std::process::Output;

use serde_json::{Value, json};

use crate::common::auth::{Stack, fake_browser};
use crate::common::peers::{Peer, PeerKind};
use crate::common::valet::{Valet, run, run_with_input, temp_home, valet_error};

/// `mcp-valet <args>` with a private home and the in-memory store.
fn valet(args: &[&str]) -> Output {
    let home = temp_home();
    run(
        args,
        &[
            ("MCP_VALET_HOME", home.path().to_str().unwrap()),
            ("MCP_VALET_TOKEN_STORE", "memory"),
        ],
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

#[test]
fn tools_and_call_on_every_transport() {
    for kind in [PeerKind::StatefulJson, PeerKind::LegacySse, PeerKind::Python] {
        let peer = Peer::start(kind);
        let url = peer.url.as_str();
        let listed = ok(&valet(&["tools", url]));
        assert!(
            listed.contains("echo: Echo the text back\n  required: text\n"),
            "{kind:?}: {listed}"
        );
        let tools: Value = serde_json::from_str(&ok(&valet(&["tools", url, "--json"]))).unwrap();
        let echo = tools.as_array().unwrap().iter().find(|t| t["name"] == "echo").unwrap();
        assert_eq!(echo["inputSchema"]["required"], json!(["text"]), "{kind:?}");

        assert_eq!(
            ok(&valet(&["call", url, "echo", r#"{"text": "hi there"}"#])),
            "hi there\n"
        );
        // `bytes` is a number in the schema: sent as the string "7", the SDK would refuse it.
        let large = ok(&valet(&["call", url, "large", "--arg", "bytes=7"]));
        assert_eq!(large.trim_end().len(), 7, "{kind:?}: {large:?}");
        let o = run_with_input(
            &["call", url, "echo", "-", "--json"],
            &[("MCP_VALET_TOKEN_STORE", "memory")],
            br#"{"text": "from stdin"}"#,
        );
        let whole: Value = serde_json::from_str(&ok(&o)).unwrap();
        assert_eq!(
            whole["content"][0],
            json!({"type": "text", "text": "from stdin"}),
            "{kind:?}"
        );
        // --arg wins over the JSON object; a string stays a string.
        let o = valet(&["call", url, "echo", r#"{"text": "x"}"#, "--arg", "text=42"]);
        assert_eq!(ok(&o), "42\n");
    }
}

#[test]
fn a_tool_error_exits_1_and_bad_arguments_exit_2() {
    let peer = Peer::start(PeerKind::Python);
    let o = valet(&["call", &peer.url, "large", "--arg", "bytes=-1"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("the tool `large` reported an error"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).is_empty(), "the error text is printed");
    let o = valet(&["call", &peer.url, "large", "--arg", "bytes=many"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("--arg bytes: the tool takes an integer"),
        "{}",
        stderr(&o)
    );
    let o = valet(&["call", &peer.url, "echo", "[1]"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = valet(&["call", &peer.url, "echo", "--arg", "novalue"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // An unknown tool: the server's own error, exit 1.
    let o = valet(&["call", &peer.url, "no_such_tool"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn resources_read_and_prompts() {
    for kind in [PeerKind::StatefulSse, PeerKind::Python] {
        let peer = Peer::start(kind);
        let url = peer.url.as_str();
        let r = ok(&valet(&["resources", url]));
        assert!(
            r.contains("peer://readme  Peer readme  [text/plain]: A static text resource"),
            "{kind:?}: {r}"
        );
        assert_eq!(
            ok(&valet(&["read", url, "peer://readme"])),
            "hello from the peer resource\n"
        );
        let whole: Value = serde_json::from_str(&ok(&valet(&["read", url, "peer://readme", "--json"]))).unwrap();
        assert_eq!(whole["contents"][0]["uri"], "peer://readme");
        let p = ok(&valet(&["prompts", url]));
        assert!(
            p.contains("greet (Greet): A greeting prompt\n  arguments: name (required)"),
            "{kind:?}: {p}"
        );
        let list: Value = serde_json::from_str(&ok(&valet(&["prompts", url, "--json"]))).unwrap();
        assert_eq!(list[0]["name"], "greet");
    }
}

#[test]
fn a_required_login_exits_4_without_prompting_and_works_after_login() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let env = [
        ("MCP_VALET_HOME", home.path().to_str().unwrap().to_owned()),
        ("MCP_VALET_TOKEN_STORE", "file".into()),
        ("BROWSER", fake_browser()),
    ];
    // Not a terminal: no sign-in, although a browser would be at hand.
    let o = run(&["tools", &stack.mcp], &env);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("mcp-valet login").count(),
        1,
        "said once: {}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    assert_eq!(stack.as_stats()["authorizationRequests"], 0);
    let o = run(&["call", &stack.mcp, "echo", "--arg", "text=x"], &env);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));

    assert!(run(&["login", &stack.mcp], &env).status.success());
    assert!(ok(&run(&["tools", &stack.mcp], &env)).contains("whoami"));
    assert!(ok(&run(&["call", &stack.mcp, "whoami"], &env)).contains("ada"));
    assert_eq!(stack.as_stats()["authorizationRequests"], 1, "no second sign-in");
}

#[test]
fn tool_filters_hide_tools_and_refuse_calls_in_commands_and_in_the_bridge() {
    let peer = Peer::start(PeerKind::StatefulJson);
    let url = peer.url.as_str();
    let listed = ok(&valet(&["tools", url, "--deny-tool", "l*", "--deny-tool", "slow"]));
    assert!(
        listed.contains("echo") && !listed.contains("large") && !listed.contains("slow"),
        "{listed}"
    );
    let listed = ok(&valet(&["tools", url, "--allow-tool", "*o*", "--ignore-tool", "slow"]));
    let names: Vec<&str> = listed.lines().filter(|l| !l.starts_with(' ')).collect();
    assert!(
        names.iter().all(|l| l.contains('o')) && names.iter().any(|l| l.starts_with("echo")),
        "{listed}"
    );
    assert!(!listed.contains("slow"), "deny wins over allow: {listed}");
    let o = valet(&["call", url, "--deny-tool", "large", "large", "--arg", "bytes=3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("the tool `large` is not available"),
        "{}",
        stderr(&o)
    );

    let mut v = Valet::spawn(&[url, "--allow-tool", "echo"]);
    v.handshake();
    let list = v.call(1, "tools/list", json!({}));
    let names: Vec<&Value> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    assert_eq!(names, [&json!("echo")]);
    // Never listed, called anyway: refused without reaching the server, so the one failure
    // the server has in store goes to the next request that does reach it.
    peer.fail_next(500, None, 1);
    let r = v.tool(2, "large", json!({"bytes": 3}));
    let e = valet_error(&r);
    assert_eq!(e["code"], -32602);
    assert_eq!(e["data"]["kind"], "tool_denied");
    assert_eq!(
        valet_error(&v.tool(3, "echo", json!({"text": "x"})))["data"]["status"],
        500
    );
    assert_eq!(
        crate::common::valet::text(&v.tool(4, "echo", json!({"text": "ok"}))),
        "ok"
    );
}

/// `doctor --json`: its steps by name.
fn doctor(args: &[&str], env: &[(&str, String)]) -> (Option<i32>, Value, String) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = run(&all, env);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&o), stderr(&o)));
    (o.status.code(), v, stderr(&o))
}

fn step<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {report:#}"))
}

fn memory_env() -> (tempfile::TempDir, Vec<(&'static str, String)>) {
    let home = temp_home();
    let env = vec![
        ("MCP_VALET_HOME", home.path().to_str().unwrap().to_owned()),
        ("MCP_VALET_TOKEN_STORE", "memory".to_owned()),
    ];
    (home, env)
}

#[test]
fn doctor_walks_an_open_server_an_api_key_server_and_unreachable_ones() {
    let (_home, env) = memory_env();
    let peer = Peer::start(PeerKind::StatefulSse);
    let (code, r, err) = doctor(&[&peer.url], &env);
    assert_eq!(code, Some(0), "{r:#}\n{err}");
    assert_eq!(r["usable"], true);
    for s in ["url", "proxy", "dns", "tcp", "transport", "server"] {
        assert_eq!(step(&r, s)["status"], "ok", "{r:#}");
    }
    assert!(
        step(&r, "transport")["detail"]
            .as_str()
            .unwrap()
            .contains("Streamable HTTP")
    );
    assert!(
        step(&r, "server")["detail"]
            .as_str()
            .unwrap()
            .contains("MCP 2025-11-25"),
        "{r:#}"
    );
    assert_eq!(step(&r, "resource_metadata")["status"], "skipped");
    let text = run(&["doctor", &peer.url], &env);
    let text = stdout(&text);
    assert!(
        text.contains("✓ DNS") && text.contains("The server is usable."),
        "{text}"
    );

    let legacy = Peer::start(PeerKind::LegacySse);
    let (code, r, _) = doctor(&[&legacy.url], &env);
    assert_eq!(code, Some(0), "{r:#}");
    assert!(
        step(&r, "transport")["detail"].as_str().unwrap().contains("HTTP+SSE"),
        "{r:#}"
    );
    assert!(
        step(&r, "server")["detail"].as_str().unwrap().contains("speaks MCP 20"),
        "{r:#}"
    );

    // 401 and no OAuth metadata anywhere: an API key is wanted.
    let keyed = Peer::start_with(PeerKind::StatefulJson, &["--require-bearer", "k3y"]);
    let (code, r, _) = doctor(&[&keyed.url], &env);
    assert_eq!(code, Some(4), "a key to keep is a login: {r:#}");
    assert!(
        step(&r, "server")["hint"].as_str().unwrap().contains("--with-token"),
        "{r:#}"
    );
    let a = step(&r, "authorization_server");
    assert_eq!(a["status"], "failed");
    assert!(a["detail"].as_str().unwrap().contains("API key"), "{a}");
    let hint = a["hint"].as_str().unwrap();
    assert!(
        hint.contains("-H 'Authorization: Bearer …'") && hint.contains("--with-token"),
        "{hint}"
    );
    let (code, r, _) = doctor(&[&keyed.url, "-H", "Authorization: Bearer k3y"], &env);
    assert_eq!(code, Some(0), "{r:#}");

    // Nothing listens; https to a plain-http server; a name that does not resolve.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, r, _) = doctor(&[&format!("http://127.0.0.1:{closed}/mcp")], &env);
    assert_eq!(code, Some(1));
    assert_eq!(step(&r, "tcp")["status"], "failed", "{r:#}");
    let https = peer.url.replace("http://", "https://");
    let (code, r, _) = doctor(&[&https], &env);
    assert_eq!(code, Some(1));
    let tls = step(&r, "tls");
    assert_eq!(tls["status"], "failed", "{r:#}");
    assert!(tls["hint"].is_string());
    let (code, r, _) = doctor(&["https://no-such-host.invalid/mcp"], &env);
    assert_eq!(code, Some(1));
    assert_eq!(step(&r, "dns")["status"], "failed", "{r:#}");
}

#[test]
fn doctor_shows_the_sign_in_path_and_the_stored_login() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let env = vec![
        ("MCP_VALET_HOME", home.path().to_str().unwrap().to_owned()),
        ("MCP_VALET_TOKEN_STORE", "file".to_owned()),
        ("BROWSER", fake_browser()),
    ];
    let (code, r, _) = doctor(&[&stack.mcp], &env);
    assert_eq!(code, Some(4), "{r:#}");
    assert_eq!(step(&r, "resource_metadata")["status"], "ok");
    let a = step(&r, "authorization_server");
    assert_eq!(a["status"], "ok", "{r:#}");
    let detail = a["detail"].as_str().unwrap();
    assert!(detail.starts_with(&stack.issuer), "{detail}");
    assert!(
        detail.contains("/.well-known/") && detail.contains("PKCE S256: yes"),
        "{detail}"
    );
    assert!(detail.contains("dynamic registration"), "{detail}");
    let login = step(&r, "stored_login");
    assert_eq!(login["status"], "failed");
    assert!(login["hint"].as_str().unwrap().contains("mcp-valet login"));
    assert_eq!(stack.as_stats()["authorizationRequests"], 0, "doctor never signs in");

    assert!(run(&["login", &stack.mcp], &env).status.success());
    let (code, r, _) = doctor(&[&stack.mcp], &env);
    assert_eq!(code, Some(0), "{r:#}");
    let login = step(&r, "stored_login")["detail"].as_str().unwrap().to_owned();
    assert!(
        login.contains("ada at") && login.contains("expires in") && login.contains("file store"),
        "{login}"
    );
    assert_eq!(step(&r, "server")["status"], "ok");
}

#[test]
fn on_a_terminal_the_commands_sign_in_by_themselves() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let bin = crate::common::valet::bin().to_str().unwrap().to_owned();
    // util-linux `script` gives the command a terminal for stdin, stdout and stderr.
    let o = std::process::Command::new("script")
        .args(["-qec", &format!("{bin} call {} whoami", stack.mcp), "/dev/null"])
        .env("MCP_VALET_HOME", home.path())
        .env("MCP_VALET_TOKEN_STORE", "file")
        .env("BROWSER", fake_browser())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running script(1)");
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("ada"), "{}", stdout(&o));
    assert_eq!(stack.as_stats()["authorizationRequests"], 1);
}
