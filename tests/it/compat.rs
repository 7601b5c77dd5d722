//! mcp-remote's command line: a configuration written for mcp-remote runs mcp-valet unchanged
//! (only the package name differs), against the real sign-in peers (oidc-provider and the TS
//! SDK's protected MCP server; the scripted user as the browser).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::auth::{Stack, grants};
use crate::common::free_port;
use crate::common::stand_in::{Out, Req, serve};
use crate::common::valet::{run, temp_home, text};

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_realistic_mcp_remote_argument_list_gives_a_working_bridge() {
    let stack = Stack::start(&[], &[]);
    let port = free_port().to_string();
    let success = "http://localhost:9/connected";
    let metadata = r#"{"scope": "openid offline_access mcp:basic mcp:tools", "token_endpoint_auth_method": "client_secret_post", "client_name": "Claude via mcp-valet"}"#;
    // What an mcp-remote user has after `"args": ["-y", "mcp-remote", …]` (npx takes the -y).
    let args = [
        port.as_str(),
        "--transport",
        "http-first",
        "--protocol",
        "auto",
        "--debug",
        "--silent",
        "--host",
        "localhost",
        "--callback-path",
        "/oauth/callback",
        "--static-oauth-client-metadata",
        metadata,
        "--resource",
        &stack.mcp,
        "--ignore-tool",
        "ADMIN*",
        "--auth-timeout",
        "60",
        "--auth-success-url",
        success,
        "--header",
        "X-Tenant:${TENANT_NAME}",
        "--enable-proxy",
        "--ipv4",
        "--keep-alive",
        "--ping-interval",
        "1",
        "--body-timeout",
        "0",
        "--allow-http",
    ];
    let (mut v, browser_log) = stack.bridge(&args, &[("TENANT_NAME", "acme")]);
    v.handshake();
    let list = v.call(1, "tools/list", json!({}));
    let names = tool_names(&list);
    assert!(names.contains(&"echo".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"admin_op".to_owned()),
        "--ignore-tool matches regardless of case: {names:?}"
    );
    assert_eq!(text(&v.tool(2, "echo", json!({"text": "drop-in"}))), "drop-in");
    let refused = v.tool(3, "admin_op", json!({}));
    assert!(
        refused["error"]["message"].as_str().unwrap().contains("hidden"),
        "{refused}"
    );

    let st = stack.as_stats();
    let auth = &st["authorizationRequestLog"][0];
    assert_eq!(
        auth["redirect_uri"],
        json!(format!("http://localhost:{port}/oauth/callback")),
        "the port after the URL, --host and --callback-path make mcp-remote's redirect URI: {st}"
    );
    let scope = auth["scope"].as_str().unwrap();
    for s in ["openid", "offline_access", "mcp:basic", "mcp:tools"] {
        assert!(scope.split(' ').any(|x| x == s), "{scope}");
    }
    assert_eq!(auth["resource"], json!([stack.mcp]));
    let reg = &st["registrationLog"][0];
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_post", "{reg}");
    let tok = st["tokenRequestLog"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["grant_type"] == "authorization_code")
        .unwrap();
    assert_eq!(tok["client_auth"], "client_secret_post", "{tok}");
    // --auth-success-url: the browser was sent on (303) instead of being shown a page.
    let browser = std::fs::read_to_string(&browser_log).unwrap_or_default();
    assert!(
        browser.contains("/oauth/callback") && browser.contains("→ 303"),
        "{browser}"
    );

    // --keep-alive/--ping-interval 1: pings reach the server, and their answers never the client.
    let deadline = Instant::now() + Duration::from_secs(20);
    while stack.mcp_stats()["byRpcMethod"]["ping"].as_u64().unwrap_or(0) < 2 {
        assert!(Instant::now() < deadline, "no keep-alive pings: {}", stack.mcp_stats());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(text(&v.tool(4, "echo", json!({"text": "still"}))), "still");
    v.close_stdin();
    let (status, extra) = v.wait_within(Duration::from_secs(15));
    assert!(status.success(), "{}", v.stderr());
    assert!(extra.is_empty(), "nothing but answers on stdout: {extra:?}");
    let err = v.stderr();
    assert!(err.contains("DEBUG"), "--debug wins over --silent:\n{err}");
    assert!(err.contains("--body-timeout has no equivalent"), "{err}");
    assert!(!err.contains("acme"), "header values are never logged");
}

#[test]
fn static_oauth_client_info_from_a_file_and_inline() {
    let stack = Stack::start(&[], &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("oauth_client_info.json");
    std::fs::write(
        &file,
        r#"{"client_id": "valet-service", "client_secret": "${VALET_TEST_SECRET}"}"#,
    )
    .unwrap();
    let at = format!("@{}", file.display());
    let (mut v, log) = stack.bridge(
        &["--client-credentials", "--static-oauth-client-info", &at],
        &[("VALET_TEST_SECRET", "valet-service-secret")],
    );
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "from a file"}))), "from a file");
    assert!(!log.exists(), "no browser");
    assert!(!v.stderr().contains("valet-service-secret"));
    drop(v);
    let metadata_before = stack.as_stats()["metadataRequests"].clone();

    // Inline, with the client authentication method from --static-oauth-client-metadata (from a
    // file), and
    // mcp-remote's --token-endpoint (no discovery at all).
    let info = r#"{"client_id": "valet-service", "client_secret": "valet-service-secret"}"#;
    let token_endpoint = format!("{}/token", stack.issuer);
    let metadata = dir.path().join("oauth_client_metadata.json");
    std::fs::write(&metadata, r#"{"token_endpoint_auth_method": "client_secret_post"}"#).unwrap();
    let metadata = format!("@{}", metadata.display());
    let (mut v, _) = stack.bridge(
        &[
            "--client-credentials",
            "--static-oauth-client-info",
            info,
            "--static-oauth-client-metadata",
            &metadata,
            "--token-endpoint",
            &token_endpoint,
        ],
        &[],
    );
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "inline"}))), "inline");
    let st = stack.as_stats();
    assert_eq!(grants(&st, "client_credentials"), 2, "{st}");
    assert_eq!(st["registrations"], 0, "a pre-registered client: {st}");
    // The secret went in the body (client_secret_post) the second time only, not in a header.
    let in_body: Vec<bool> = st["tokenRequestLog"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["grant_type"] == "client_credentials")
        .map(|t| {
            t["secrets"]
                .as_array()
                .unwrap()
                .contains(&json!("valet-service-secret"))
        })
        .collect();
    assert_eq!(in_body, [false, true], "{st}");
    assert_eq!(
        st["metadataRequests"], metadata_before,
        "--token-endpoint: no discovery at all"
    );
    assert!(!v.stderr().contains("valet-service-secret"));
}

#[test]
fn malformed_static_oauth_client_info_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let unreadable = dir.path().join("missing.json");
    let not_json = dir.path().join("bad.json");
    std::fs::write(&not_json, "{\"client_id\": \"x\", \"client_secret\": \"hunter2\"").unwrap();
    let cases = [
        (
            r#"{"client_id": "x", "client_secret": "hunter2""#.to_owned(),
            "is not valid",
        ),
        (r#"{"client_secret": "hunter2"}"#.to_owned(), "no `client_id`"),
        (format!("@{}", unreadable.display()), "cannot read"),
        (format!("@{}", not_json.display()), "is not valid"),
        (
            r#"{"client_id": "${VALET_TEST_UNSET_VAR}"}"#.to_owned(),
            "VALET_TEST_UNSET_VAR",
        ),
    ];
    for (arg, want) in cases {
        let out = run(
            &["https://mcp.example.com/mcp", "--static-oauth-client-info", &arg],
            &[("VALET_TEST_UNSET_VAR", "")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "{err}");
        assert!(err.contains("give "), "says how to fix it: {err}");
        assert!(!err.contains("hunter2") && !err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_port_after_the_url_is_read_as_the_callback_port() {
    // Before, clap called it an unknown subcommand. Now it is the port: `--help` shows it, and
    // a port that disagrees with --callback-port is a usage error naming both.
    let out = run(
        &["https://mcp.example.com/mcp", "3334", "--callback-port", "4000"],
        &[("MCP_VALET_HOME", "/nonexistent")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(3334)") && err.contains("(4000)"), "{err}");
    assert!(!err.contains("subcommand"), "{err}");
}

/// Signs in to the stack's server as `user`, with `extra` arguments, into the store in `home`.
fn login(stack: &Stack, home: &std::path::Path, user: &str, extra: &[&str]) {
    let mut args = vec!["login", stack.mcp.as_str(), "--token-store", "file"];
    args.extend_from_slice(extra);
    let out = run(
        &args,
        &[
            ("MCP_VALET_HOME", home.to_str().unwrap()),
            ("BROWSER", &crate::common::auth::fake_browser()),
            ("FAKE_BROWSER_USER", user),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}\n{}", stack.stderr());
    assert!(err.contains(&format!("as {user}")), "{err}");
}

/// The claims of a JWT (no signature check: the authorization server made it).
fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.trim().split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn two_resource_logins_stay_apart_and_older_logins_keep_working() {
    let stack = Stack::start(&[], &[]);
    let home = temp_home();
    let tenant1 = stack.mcp.clone(); // the resource this server accepts tokens for
    let tenant2 = stack.mcp.replace("127.0.0.1", "localhost").replace("/mcp", "/tenant2");
    // A login from before (no --resource), then one per tenant, each as another user.
    login(&stack, home.path(), "ada", &[]);
    login(&stack, home.path(), "grace", &["--resource", &tenant1]);
    login(&stack, home.path(), "linus", &["--resource", &tenant2]);
    let env = [
        ("MCP_VALET_HOME", home.path().to_str().unwrap()),
        ("MCP_VALET_TOKEN_STORE", "file"),
    ];

    let out = run(&["status", "--json"], &env);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "three logins kept: {rows:?}");
    let by = |r: Option<&str>| {
        rows.iter()
            .find(|x| x["resource"].as_str() == r)
            .unwrap_or_else(|| panic!("{r:?} in {rows:?}"))["account"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(by(None).contains("ada"));
    assert!(by(Some(&tenant1)).contains("grace"));
    assert!(by(Some(&tenant2)).contains("linus"));

    // Each tenant's token is its own: its subject, and the resource it was issued for.
    for (resource, who) in [(tenant1.as_str(), "grace"), (tenant2.as_str(), "linus")] {
        let out = run(&["token", &stack.mcp, "--resource", resource], &env);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let c = claims(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(c["sub"], who, "{c}");
        assert_eq!(c["aud"], resource, "{c}");
    }

    // Bridges: the one with --resource uses grace's login, the one without ada's (the older
    // login), and neither signs in again.
    let spawn = |extra: &[&str]| {
        let mut args = vec![stack.mcp.as_str()];
        args.extend_from_slice(extra);
        crate::common::valet::Valet::spawn_env(&args, &env)
    };
    for (extra, who) in [(vec!["--resource", tenant1.as_str()], "grace"), (vec![], "ada")] {
        let mut v = spawn(&extra);
        v.handshake();
        let me = v.tool(1, "whoami", json!({}));
        assert!(text(&me).contains(who), "{extra:?}: {me}");
    }
    assert_eq!(
        stack.as_stats()["authorizationRequests"],
        3,
        "no sign-in beyond the three logins"
    );

    // `logout --resource` signs out of one tenant only.
    let out = run(&["logout", &stack.mcp, "--resource", &tenant2], &env);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["status", "--json"], &env);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
}

#[test]
fn use_id_token_sends_the_id_token_as_the_bearer() {
    // The test server takes access tokens only (`typ: at+jwt`), so the ID token mcp-valet sends
    // is refused, and the server's log says it was an ID token (`typ: JWT`, the client as
    // audience).
    let stack = Stack::start(&["--auto-approve"], &["-v"]);
    let home = temp_home();
    let env = [("MCP_VALET_HOME", home.path().to_str().unwrap())];
    let (mut v, _) = stack.bridge(&["--use-id-token", "--scope", "openid mcp:basic mcp:tools"], &[]);
    let init = v.call(0, "initialize", crate::common::valet::init_params("2025-06-18"));
    assert!(init.get("error").is_some(), "the server refuses ID tokens: {init}");
    drop(v);
    let mcp = stack.mcp_stats();
    assert!(mcp["invalidToken"].as_u64().unwrap() >= 1, "{mcp}");
    assert_eq!(mcp["accepted"], 0, "{mcp}");
    let log = stack.stderr();
    assert!(log.contains("rejected token") && log.contains("typ"), "{log}");

    // Without `openid` there is no ID token to send: said so, with the fix.
    let out = run(
        &[
            "login",
            &stack.mcp,
            "--use-id-token",
            "--device-code",
            "--token-store",
            "memory",
        ],
        &env,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("no ID token") && err.contains("openid"), "{err}");
}

#[test]
fn ipv4_never_connects_to_an_ipv6_address() {
    let Ok(listener) = std::net::TcpListener::bind(("::1", 0)) else {
        eprintln!("skipped: no IPv6 loopback on this machine");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://[::1]:{port}/mcp");
    let accepted = |l: &std::net::TcpListener| {
        let mut n = 0;
        while let Ok((s, _)) = l.accept() {
            drop(s);
            n += 1;
        }
        n
    };
    // The control: without --ipv4 the bridge's request reaches the IPv6 listener.
    let args = [
        "tools",
        url.as_str(),
        "--connect-timeout",
        "3s",
        "--request-timeout",
        "5s",
    ];
    let server = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut n = 0;
        while n == 0 && Instant::now() < deadline {
            n = accepted(&listener);
            std::thread::sleep(Duration::from_millis(20));
        }
        (listener, n)
    });
    let out = run(&args, crate::common::valet::NO_ENV);
    assert!(!out.status.success());
    let (listener, n) = server.join().unwrap();
    assert!(n >= 1, "no connection without --ipv4");
    let out = run(&[&args[..], &["--ipv4"]].concat(), crate::common::valet::NO_ENV);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(accepted(&listener), 0, "--ipv4 connected to [::1]: {err}");
}

/// A minimal Streamable HTTP MCP server behind a "load balancer" that pins the session with a
/// cookie (and closes every connection, so only the cookie can carry the pin): returns its URL
/// and the (HTTP and JSON-RPC method, Cookie header) of every request it got, in order.
fn sticky_server() -> (String, impl Fn() -> Vec<(String, Option<String>)>) {
    let (port, seen) = serve(|s| {
        let req = Req::from(s);
        let id = &req.body["id"];
        let (status, extra, body) = match (req.http.as_str(), req.method()) {
            ("POST", "initialize") => (
                "200 OK",
                "Set-Cookie: AWSALB=node-7; Path=/; Max-Age=600; HttpOnly\r\nMcp-Session-Id: s1\r\n",
                json!({"jsonrpc": "2.0", "id": id, "result": {"protocolVersion": "2025-06-18",
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "sticky", "version": "1"}}})
                .to_string(),
            ),
            ("POST", "tools/list") => (
                "200 OK",
                "",
                json!({"jsonrpc": "2.0", "id": id, "result": {"tools": [{"name": "pinned",
                    "inputSchema": {"type": "object"}}]}})
                .to_string(),
            ),
            ("POST", _) => ("202 Accepted", "", String::new()),
            ("DELETE", _) => ("200 OK", "", String::new()),
            _ => ("405 Method Not Allowed", "", String::new()),
        };
        Out::Cut(format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
            body.len()
        ))
    });
    let record = move || {
        let seen = seen.lock().unwrap();
        seen.iter()
            .map(|s| {
                let req = Req::from(s);
                (
                    format!("{} {}", req.http, req.method()),
                    s.header("cookie").map(str::to_owned),
                )
            })
            .collect()
    };
    (format!("http://127.0.0.1:{port}/mcp"), record)
}

#[test]
fn the_servers_cookies_are_sent_back_for_load_balancer_stickiness() {
    for disabled in [false, true] {
        let (url, seen) = sticky_server();
        let mut args = vec![
            "tools",
            url.as_str(),
            "--protocol",
            "legacy",
            "--transport",
            "http-only",
        ];
        if disabled {
            args.push("--disable-cookies");
        }
        let out = run(
            &args,
            &[("MCP_VALET_HOME", "/nonexistent"), ("MCP_VALET_TOKEN_STORE", "memory")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("pinned"));
        let seen = seen();
        assert_eq!(seen[0], ("POST initialize".to_owned(), None), "{seen:?}");
        assert!(seen.len() >= 3, "{seen:?}");
        for (what, cookie) in &seen[1..] {
            let want = (!disabled).then(|| "AWSALB=node-7".to_owned());
            assert_eq!(cookie, &want, "{what} (--disable-cookies: {disabled}): {seen:?}");
        }
        assert!(!err.contains("node-7"), "cookie values are never logged: {err}");
    }
}
