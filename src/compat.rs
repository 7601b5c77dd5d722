//! mcp-remote's command line, read with its meaning: what `clap` accepted in mcp-remote's
//! spelling is turned into mcp-valet's own options here, before anything runs. A mistake in
//! one of these options is a usage error (exit 2) named in one line; an option that changes
//! nothing here leaves a warning for the log. The table of options is docs/mcp-remote.md.

use serde_json::{Map, Value};
use url::Url;

use crate::cli::{AuthArgs, Cli, Command, LogArgs, RemoteArgs};

/// mcp-remote's path for the sign-in redirect.
const CALLBACK_PATH: &str = "/oauth/callback";

/// What is left to say once logging is set up.
#[derive(Debug, Default)]
pub struct Notes {
    pub warnings: Vec<String>,
    pub debug: Vec<String>,
}

/// Rewrites mcp-remote's options into mcp-valet's. `Err` is a usage error, one line.
pub fn resolve(cli: &mut Cli) -> Result<Notes, String> {
    let mut notes = Notes::default();
    log(&mut cli.log);
    let port = cli.port.filter(|&p| p != 0);
    let (remote, auth) = match &mut cli.command {
        None => (Some(&mut cli.bridge.remote), Some(&mut cli.bridge.auth)),
        Some(Command::Login(a)) => (Some(&mut a.remote), Some(&mut a.auth)),
        Some(
            Command::Tools(crate::cli::ToolsArgs { bridge, .. })
            | Command::Doctor(crate::cli::DoctorArgs { bridge, .. })
            | Command::Call(crate::cli::CallArgs { bridge, .. })
            | Command::Resources(crate::cli::ListArgs { bridge, .. })
            | Command::Prompts(crate::cli::ListArgs { bridge, .. })
            | Command::Read(crate::cli::ReadArgs { bridge, .. }),
        ) => (Some(&mut bridge.remote), Some(&mut bridge.auth)),
        _ => (None, None),
    };
    if let Some(remote) = remote.as_deref() {
        remote_notes(remote, &mut notes);
    }
    if let Some(auth) = auth {
        let allow_http = remote.as_deref().is_some_and(|r| r.allow_http);
        if let Some(p) = port {
            match auth.callback_port {
                Some(q) if q != p => {
                    return Err(format!(
                        "the port after the URL ({p}) and --callback-port ({q}) disagree; give one of them"
                    ));
                }
                _ => auth.callback_port = Some(p),
            }
        }
        resolve_auth(auth, port.is_some(), allow_http, &mut notes)?;
    }
    if cli.command.is_none() && cli.bridge.ping_interval.is_some() {
        cli.bridge.keep_alive = true;
    }
    Ok(notes)
}

/// `--debug` is `-vv` and wins over `--silent`, which is `-q`.
fn log(l: &mut LogArgs) {
    if l.debug {
        l.verbose = l.verbose.max(2);
        l.quiet = false;
    } else if l.silent {
        l.quiet = true;
        l.verbose = 0;
    }
}

fn remote_notes(r: &RemoteArgs, notes: &mut Notes) {
    let c = &r.compat;
    if c.enable_proxy {
        notes
            .debug
            .push("--enable-proxy: mcp-valet always uses the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY".into());
    }
    for (flag, given) in [
        ("--headers-timeout", &c.headers_timeout),
        ("--body-timeout", &c.body_timeout),
    ] {
        if given.is_some() {
            notes.warnings.push(format!(
                "{flag} has no equivalent in mcp-valet and is ignored: --request-timeout bounds each request \
                 (progress resets it) and --connect-timeout the connection"
            ));
        }
    }
}

fn resolve_auth(a: &mut AuthArgs, port_given: bool, allow_http: bool, notes: &mut Notes) -> Result<(), String> {
    // `--resource ""` is how mcp-remote's users switched the parameter off.
    if a.resource.as_deref().is_some_and(|r| r.trim().is_empty()) {
        a.resource = None;
        a.no_resource = true;
    }
    if a.no_resource && a.resource.is_some() {
        notes
            .warnings
            .push("--no-resource (--disable-resource-parameter) wins over --resource: no resource is sent".into());
        a.resource = None;
    }
    if let Some(r) = &a.resource {
        let ok = Url::parse(r.trim()).is_ok_and(|u| u.has_host() || u.scheme() == "urn");
        if !ok {
            return Err(format!(
                "--resource `{}` is not an absolute URI (RFC 8707); give one such as https://tenant.example.com/",
                crate::util::for_terminal(r, 200)
            ));
        }
        a.resource = Some(r.trim().to_owned());
    }
    if let Some(spec) = a.compat.static_oauth_client_info.clone() {
        let (id, secret) = client_info(&spec)?;
        a.client_id = Some(id);
        a.client_secret = secret;
    }
    if let Some(spec) = a.compat.static_oauth_client_metadata.clone() {
        let mut m = client_metadata(&spec)?;
        if let Some(scope) = m.remove("scope") {
            let Value::String(scope) = scope else {
                return Err(format!(
                    "--static-oauth-client-metadata: `scope` must be a string of space-separated scopes; {}",
                    JSON_FIX
                ));
            };
            if a.scopes.is_empty() {
                a.scopes.push(scope);
            }
        }
        if let Some(m) = m.get("token_endpoint_auth_method") {
            match m.as_str() {
                Some("none" | "client_secret_basic" | "client_secret_post") => {}
                _ => {
                    return Err(
                        "--static-oauth-client-metadata: `token_endpoint_auth_method` must be \"none\", \
                         \"client_secret_basic\" or \"client_secret_post\" (the methods mcp-valet can use)"
                            .into(),
                    );
                }
            }
        }
        for k in ["redirect_uris", "client_id", "client_secret"] {
            if m.remove(k).is_some() {
                notes.warnings.push(format!(
                    "--static-oauth-client-metadata: `{k}` is ignored (mcp-valet sets it itself; a pre-registered \
                     client goes in --static-oauth-client-info)"
                ));
            }
        }
        a.compat.client_metadata = m;
    }
    redirect(a, port_given, notes)?;
    if let Some(u) = &a.auth_success_url {
        // As parsed: the browser's Location header gets the normalised URL (no line breaks).
        a.auth_success_url = Some(check_success_url(u, allow_http)?);
    }
    if let Some(u) = &a.token_endpoint {
        let url = Url::parse(u).map_err(|_| format!("--token-endpoint is not a URL; {TOKEN_ENDPOINT_FIX}"))?;
        let http_ok = url.scheme() == "http" && (crate::http::is_loopback(&url) || allow_http);
        if !(url.scheme() == "https" || http_ok)
            || !url.username().is_empty()
            || url.password().is_some()
            || url.fragment().is_some()
        {
            return Err(format!(
                "--token-endpoint must be an https URL without credentials or fragment; {TOKEN_ENDPOINT_FIX}"
            ));
        }
    }
    Ok(())
}

const TOKEN_ENDPOINT_FIX: &str =
    "give the endpoint as https://auth.example.com/oauth/token (http only on this machine)";

/// `--host`, `--callback-path` and a port after the URL (or a pre-registered client) make the
/// redirect URI mcp-remote's: http://localhost:PORT/oauth/callback.
fn redirect(a: &mut AuthArgs, port_given: bool, notes: &mut Notes) -> Result<(), String> {
    let c = &a.compat;
    if a.redirect_uri.is_some()
        || !(c.host.is_some() || c.callback_path.is_some() || port_given || c.static_oauth_client_info.is_some())
    {
        return Ok(());
    }
    let default_host = if cfg!(windows) { "127.0.0.1" } else { "localhost" };
    let mut host = c.host.clone().unwrap_or_else(|| default_host.into());
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1" | "[::1]");
    if !loopback {
        notes.warnings.push(format!(
            "--host {}: mcp-valet receives the sign-in redirect on this machine only, so the redirect URI \
             names {default_host}",
            crate::util::for_terminal(&host, 100)
        ));
        host = default_host.into();
    }
    if host == "::1" {
        host = "[::1]".into();
    }
    let path = c.callback_path.clone().unwrap_or_else(|| CALLBACK_PATH.into());
    if !path.starts_with('/') || path.contains(['?', '#']) {
        return Err(format!(
            "--callback-path `{}` must be a path starting with `/`, such as /oauth/callback",
            crate::util::for_terminal(&path, 100)
        ));
    }
    let port = a.callback_port.map(|p| format!(":{p}")).unwrap_or_default();
    a.redirect_uri = Some(format!("http://{host}{port}{path}"));
    Ok(())
}

/// `--auth-success-url`: where the browser goes after the sign-in. Not a place a secret could
/// leak to, and not a local file or script.
fn check_success_url(u: &str, allow_http: bool) -> Result<String, String> {
    let fix = "give a page such as https://app.example.com/connected (http only on this machine or with --allow-http; \
               no credentials, query or fragment)";
    let Ok(url) = Url::parse(u) else {
        return Err(format!("--auth-success-url is not an absolute URL; {fix}"));
    };
    let scheme_ok = url.scheme() == "https" || url.scheme() == "http" && (crate::http::is_loopback(&url) || allow_http);
    if !scheme_ok
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.has_host()
    {
        return Err(format!("--auth-success-url is not usable; {fix}"));
    }
    Ok(url.to_string())
}

const JSON_FIX: &str = "give a JSON object, or @/absolute/path/to/file.json";

/// The JSON of `--static-oauth-client-…`: inline, or `@FILE`. Errors never quote the text (it
/// may hold a client secret).
fn read_json(flag: &str, spec: &str) -> Result<Map<String, Value>, String> {
    let (text, from) = match spec.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "{flag}: cannot read {} ({}); give the path of a readable JSON file after the @",
                    crate::util::for_terminal(path, 300),
                    io_reason(&e)
                )
            })?;
            (text, format!(" in {}", crate::util::for_terminal(path, 300)))
        }
        None => (spec.to_owned(), String::new()),
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{flag}: the JSON{from} is not valid ({} at line {}, column {}); {JSON_FIX}",
            match e.classify() {
                serde_json::error::Category::Eof => "it ends too early",
                _ => "a syntax error",
            },
            e.line(),
            e.column()
        )
    })?;
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(format!("{flag}: the JSON{from} is not an object; {JSON_FIX}")),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `--static-oauth-client-info`: the client id, and its secret if any. `${VAR}` in either is
/// read from the environment, as mcp-remote does.
fn client_info(spec: &str) -> Result<(String, Option<String>), String> {
    const FLAG: &str = "--static-oauth-client-info";
    let m = read_json(FLAG, spec)?;
    let field = |k: &str| -> Result<Option<String>, String> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = crate::http::expand_env(s, |v| {
                    crate::util::mark_secret_var(v);
                    std::env::var(v).ok().filter(|v| !v.is_empty())
                })
                .map_err(|var| {
                    format!(
                        "{FLAG}: `{k}` uses ${{{var}}}, which is not set in the environment (or empty); give {var} \
                         in the client's `env`, or the value itself"
                    )
                })?;
                Ok(Some(s))
            }
            Some(_) => Err(format!("{FLAG}: `{k}` must be a string")),
        }
    };
    let id = field("client_id")?.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        format!("{FLAG}: the JSON has no `client_id`; give {{\"client_id\": \"…\", \"client_secret\": \"…\"}} (the secret if the client has one)")
    })?;
    let secret = field("client_secret")?.filter(|s| !s.is_empty());
    Ok((id, secret))
}

fn client_metadata(spec: &str) -> Result<Map<String, Value>, String> {
    read_json("--static-oauth-client-metadata", spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<(Cli, Notes), String> {
        let mut cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        let notes = resolve(&mut cli)?;
        Ok((cli, notes))
    }

    #[test]
    fn a_port_after_the_url_is_the_callback_port() {
        let (cli, _) = parse(&["mcp-valet", "https://h.example/mcp", "3334"]).unwrap();
        assert_eq!(cli.bridge.auth.callback_port, Some(3334));
        assert_eq!(
            cli.bridge.auth.redirect_uri.as_deref(),
            Some(if cfg!(windows) {
                "http://127.0.0.1:3334/oauth/callback"
            } else {
                "http://localhost:3334/oauth/callback"
            })
        );
        let e = parse(&["mcp-valet", "https://h.example/mcp", "3334", "--callback-port", "4000"]).unwrap_err();
        assert!(e.contains("disagree"), "{e}");
    }

    #[test]
    fn host_and_path_make_the_redirect_uri() {
        let (cli, _) = parse(&[
            "mcp-valet",
            "https://h.example/mcp",
            "--host",
            "127.0.0.1",
            "--callback-path",
            "/cb",
        ])
        .unwrap();
        assert_eq!(cli.bridge.auth.redirect_uri.as_deref(), Some("http://127.0.0.1/cb"));
        let (cli, notes) = parse(&["mcp-valet", "https://h.example/mcp", "--host", "box.lan"]).unwrap();
        assert!(cli.bridge.auth.redirect_uri.unwrap().ends_with("/oauth/callback"));
        assert_eq!(notes.warnings.len(), 1);
        assert!(parse(&["mcp-valet", "https://h.example/mcp", "--callback-path", "cb"]).is_err());
    }

    #[test]
    fn static_client_info_inline_and_from_a_file() {
        let (cli, _) = parse(&[
            "mcp-valet",
            "https://h.example/mcp",
            "--static-oauth-client-info",
            r#"{"client_id":"abc","client_secret":"s3cret"}"#,
        ])
        .unwrap();
        assert_eq!(cli.bridge.auth.client_id.as_deref(), Some("abc"));
        assert_eq!(cli.bridge.auth.client_secret.as_deref(), Some("s3cret"));

        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("info.json");
        std::fs::write(&f, r#"{"client_id":"from-file"}"#).unwrap();
        let at = format!("@{}", f.display());
        let (cli, _) = parse(&["mcp-valet", "https://h.example/mcp", "--static-oauth-client-info", &at]).unwrap();
        assert_eq!(cli.bridge.auth.client_id.as_deref(), Some("from-file"));
        assert_eq!(cli.bridge.auth.client_secret, None);
    }

    #[test]
    fn bad_static_client_info_is_named_without_its_content() {
        for (arg, want) in [
            (r#"{"client_id": "abc", "client_secret": "hunter2""#, "not valid"),
            (r#"{"client_secret": "hunter2"}"#, "no `client_id`"),
            (r#"["hunter2"]"#, "not an object"),
            ("@/nonexistent/hunter2.json", "cannot read"),
            (r#"{"client_id": 7}"#, "must be a string"),
        ] {
            let e = parse(&["mcp-valet", "https://h.example/mcp", "--static-oauth-client-info", arg]).unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(!e.contains("hunter2") || arg.starts_with('@'), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn static_client_metadata() {
        let (cli, _) = parse(&[
            "mcp-valet",
            "https://h.example/mcp",
            "--static-oauth-client-metadata",
            r#"{"scope":"read write","token_endpoint_auth_method":"client_secret_post","client_name":"Mine"}"#,
        ])
        .unwrap();
        let a = &cli.bridge.auth;
        assert_eq!(a.scopes, vec!["read write".to_owned()]);
        assert_eq!(a.compat.client_metadata["client_name"], "Mine");
        assert!(a.compat.client_metadata.get("scope").is_none());
        let e = parse(&[
            "mcp-valet",
            "https://h.example/mcp",
            "--static-oauth-client-metadata",
            r#"{"token_endpoint_auth_method":"private_key_jwt"}"#,
        ])
        .unwrap_err();
        assert!(e.contains("token_endpoint_auth_method"), "{e}");
    }

    #[test]
    fn mcp_remote_spellings() {
        let (cli, notes) = parse(&[
            "mcp-valet",
            "https://h.example/mcp",
            "--transport",
            "sse-only",
            "--debug",
            "--silent",
            "--device-code",
            "--disable-resource-parameter",
            "--resource",
            "https://t.example/",
            "--enable-proxy",
            "--ping-interval",
            "60",
        ])
        .unwrap();
        assert_eq!(cli.bridge.remote.transport, crate::cli::TransportChoice::Sse);
        assert_eq!(cli.log.verbose, 2);
        assert!(!cli.log.quiet);
        assert!(cli.bridge.auth.device);
        assert!(cli.bridge.auth.no_resource && cli.bridge.auth.resource.is_none());
        assert!(cli.bridge.keep_alive);
        assert_eq!(notes.warnings.len(), 1, "{:?}", notes.warnings);
        let (cli, _) = parse(&["mcp-valet", "https://h.example/mcp", "--silent", "--resource", ""]).unwrap();
        assert!(cli.log.quiet && cli.bridge.auth.no_resource);
        for (t, want) in [
            ("http-first", crate::cli::TransportChoice::Auto),
            ("sse-first", crate::cli::TransportChoice::Auto),
            ("http-only", crate::cli::TransportChoice::StreamableHttp),
        ] {
            let (cli, _) = parse(&["mcp-valet", "https://h.example/mcp", "--transport", t]).unwrap();
            assert_eq!(cli.bridge.remote.transport, want);
        }
    }

    #[test]
    fn success_url_and_token_endpoint_are_checked() {
        for ok in ["https://app.example.com/done", "http://localhost:3000/done"] {
            parse(&["mcp-valet", "https://h.example/mcp", "--auth-success-url", ok]).unwrap();
        }
        for bad in [
            "javascript:alert(1)",
            "/done",
            "http://app.example.com/done",
            "https://app.example.com/done?token=x",
            "https://u:p@app.example.com/",
        ] {
            assert!(
                parse(&["mcp-valet", "https://h.example/mcp", "--auth-success-url", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(
            parse(&[
                "mcp-valet",
                "https://h.example/mcp",
                "--client-credentials",
                "--client-id",
                "x",
                "--token-endpoint",
                "http://auth.example.com/token"
            ])
            .is_err()
        );
    }
}
