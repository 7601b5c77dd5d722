//! The HTTP layer shared by every command: the server URL and its checks, user headers, the
//! `reqwest` client (connection pool, system proxy, OS trust store plus `--ca-file`) and the
//! relay's client (`relay_client`), both under the rules in `policy`; plain-language
//! descriptions of failures (`describe`) and reading answers (`body`).

mod body;
mod describe;
mod guard;
mod policy;
mod relay_client;
mod tls;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

pub use body::{body_detail, content_type, read_body, read_document, too_large};
pub use describe::describe_error;
pub use guard::{is_loopback, is_private_host};
pub use policy::retry_delay;
pub use relay_client::{Answer, BodyStream, Outgoing, RelayClient};
pub use tls::config as tls_config;

/// How to reach one MCP server, as the user asked (resolved from the command line by
/// `crate::settings`).
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// The server URL exactly as the user wrote it.
    pub url: String,
    /// `Name: value` headers (`-H`), `${VAR}` not yet expanded.
    pub headers: Vec<String>,
    /// A file of such headers, one a line.
    pub header_file: Option<PathBuf>,
    pub allow_http: bool,
    /// CA certificates to trust besides the system's.
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// `--ipv4`: connect to IPv4 addresses only.
    pub ipv4: bool,
    /// Keep the MCP server's cookies (not `--disable-cookies`).
    pub cookies: bool,
}

/// Everything needed to talk HTTP to one MCP server.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Discovery, sign-in and token requests.
    pub client: reqwest::Client,
    /// The bridge's own requests.
    pub relay: RelayClient,
    /// The server URL as parsed.
    pub url: Url,
    /// The server URL exactly as the user wrote it (an RFC 8707 resource must not gain a `/`).
    pub url_text: String,
    /// `--allow-http`: plain http to hosts other than loopback is allowed.
    pub allow_http: bool,
    /// User headers from `-H` and `--header-file`; values are marked sensitive.
    pub headers: HeaderMap,
    /// The user supplied an `Authorization` header: OAuth stays off for this run.
    pub explicit_authorization: bool,
}

/// Headers the transport sets itself; a user value would break the protocol.
const MANAGED: &[&str] = &[
    "accept",
    "connection",
    "content-length",
    "content-type",
    "host",
    "last-event-id",
    "mcp-protocol-version",
    "mcp-session-id",
    "transfer-encoding",
];

impl HttpConfig {
    pub fn new(args: &HttpSettings) -> anyhow::Result<HttpConfig> {
        let url_text = args.url.clone();
        let url = check_url(&url_text, args.allow_http)?;
        let mut headers = HeaderMap::new();
        for h in &args.headers {
            add_header(&mut headers, h, "--header")?;
        }
        if let Some(path) = &args.header_file {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("reading the header file {}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                add_header(&mut headers, line, &format!("{} line {}", path.display(), n + 1))?;
            }
        }
        let explicit_authorization = headers.contains_key(reqwest::header::AUTHORIZATION);
        // A server on this machine is never reached through a proxy from the environment.
        let loopback = is_loopback(&url);
        let tls = tls::config(args.ca_file.as_deref())?;
        let client = build_client(tls.clone(), args.connect_timeout, &url, args.ipv4)?;
        let relay = RelayClient::new(
            &url,
            loopback,
            tls,
            args.connect_timeout,
            args.ipv4,
            args.cookies,
            client.clone(),
        );
        Ok(HttpConfig {
            client,
            relay,
            url,
            url_text,
            allow_http: args.allow_http,
            headers,
            explicit_authorization,
        })
    }
}

/// Parses the server URL and refuses plain HTTP to anything but loopback unless allowed.
pub fn check_url(text: &str, allow_http: bool) -> anyhow::Result<Url> {
    let url = Url::parse(text).with_context(|| format!("`{}` is not a valid URL", redact_url_text(text)))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_http || is_loopback(&url) => {}
        "http" => bail!(
            "refusing plain http:// to {}: tokens and messages would travel unencrypted. \
             Use https://, or pass --allow-http if you really mean it",
            url.host_str().unwrap_or("?")
        ),
        other => bail!("unsupported URL scheme `{other}:` (use https://)"),
    }
    if url.host_str().is_none_or(str::is_empty) {
        bail!("the URL has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("credentials in the URL are not supported; use --header or sign in with OAuth");
    }
    Ok(url)
}

/// A URL for logs and error messages: no query, no fragment, no credentials (they may hold keys).
pub fn redact_url(url: &Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(url.path());
    if url.query().is_some() {
        s.push_str("?…");
    }
    s
}

/// [`redact_url`] for a URL as text (one that may not even parse).
pub fn redact_url_text(text: &str) -> String {
    match text.find(['?', '#']) {
        Some(i) => format!("{}?…", &text[..i]),
        None => text.to_owned(),
    }
}

fn add_header(headers: &mut HeaderMap, spec: &str, origin: &str) -> anyhow::Result<()> {
    let Some((name, value)) = spec.split_once(':') else {
        bail!(
            "{origin}: `{}` is not `Name: value`",
            spec.split_whitespace().next().unwrap_or("")
        );
    };
    let name = name.trim();
    let hname = HeaderName::from_bytes(name.as_bytes())
        .with_context(|| format!("{origin}: `{name}` is not a valid header name"))?;
    if MANAGED.contains(&hname.as_str()) {
        bail!("{origin}: mcp-valet sets the `{name}` header itself; it cannot be overridden");
    }
    // An empty variable is refused like an unset one: `Bearer ` is never what was meant.
    let value = expand_env(value.trim(), |v| {
        crate::util::mark_secret_var(v);
        std::env::var(v).ok().filter(|v| !v.is_empty())
    })
    .map_err(|var| {
        anyhow::anyhow!("{origin}: header `{name}` uses ${{{var}}}, which is not set in the environment (or empty)")
    })?;
    let mut hvalue = HeaderValue::from_str(&value)
        // Never echo the value: it is often a secret.
        .map_err(|_| {
            anyhow::anyhow!("{origin}: the value of header `{name}` contains characters not allowed in HTTP headers")
        })?;
    hvalue.set_sensitive(true);
    headers.append(hname, hvalue);
    Ok(())
}

/// Replaces `${VAR}` with the variable's value; `$${` stands for a literal `${`.
/// Returns the name of the first variable that is not set.
pub fn expand_env(s: &str, get: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                out.push('$');
                rest = after;
                continue;
            };
            let var = &tail[..end];
            out.push_str(&get(var).ok_or_else(|| var.to_owned())?);
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The client for everything but the relay's direct requests. Its proxy and the addresses it
/// may connect to are decided per request by `guard` (not once for the MCP server's host: a
/// server on this machine may still send sign-in to an authorization server behind a proxy).
fn build_client(
    tls: rustls::ClientConfig,
    connect_timeout: Duration,
    server: &Url,
    ipv4: bool,
) -> anyhow::Result<reqwest::Client> {
    let guard = guard::Guard::new(server);
    // A local IPv4 address and none for IPv6: the connector tries the IPv4 addresses only.
    let local = ipv4.then_some(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    reqwest::Client::builder()
        .local_address(local)
        .user_agent(policy::USER_AGENT)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(policy::POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .redirect(redirect_policy())
        .tls_backend_preconfigured(tls)
        .proxy(guard.proxy())
        .dns_resolver(guard::Resolver(guard))
        .build()
        .context("setting up the HTTP client")
}

/// Follows 307/308 only (they keep the method and body), under `policy::redirect_refusal`.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let status = attempt.status().as_u16();
        if !(status == 307 || status == 308) {
            return attempt.stop();
        }
        let refusal = attempt
            .previous()
            .first()
            .and_then(|first| policy::redirect_refusal(first, attempt.url(), attempt.previous().len()));
        match refusal {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        assert!(check_url("http://127.0.0.1:8080/mcp", false).is_ok());
        assert!(check_url("http://localhost/mcp", false).is_ok());
        assert!(check_url("http://[::1]:9/mcp", false).is_ok());
        assert!(check_url("http://example.com/mcp", false).is_err());
        assert!(check_url("http://example.com/mcp", true).is_ok());
        assert!(check_url("https://example.com/mcp", false).is_ok());
        assert!(check_url("ftp://example.com/", false).is_err());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("not a url", false).is_err());
    }

    #[test]
    fn env_expansion() {
        let get = |v: &str| (v == "TOKEN").then(|| "s3cret".to_owned());
        assert_eq!(expand_env("Bearer ${TOKEN}", get).unwrap(), "Bearer s3cret");
        assert_eq!(expand_env("a $${TOKEN} $x ${", get).unwrap(), "a ${TOKEN} $x ${");
        assert_eq!(expand_env("${MISSING}", get).unwrap_err(), "MISSING");
    }

    #[test]
    fn headers_are_checked_and_secret() {
        let mut h = HeaderMap::new();
        add_header(&mut h, "X-Api-Key: abc", "-H").unwrap();
        assert!(h["x-api-key"].is_sensitive());
        assert!(add_header(&mut h, "no colon", "-H").is_err());
        assert!(add_header(&mut h, "Mcp-Session-Id: x", "-H").is_err());
        let err = add_header(&mut h, "X-Bad: a\u{7}b", "-H").unwrap_err().to_string();
        assert!(!err.contains("a\u{7}b"), "the value must not be echoed: {err}");
    }

    #[test]
    fn redaction_hides_queries() {
        let u = Url::parse("https://h.example:8443/mcp?key=secret").unwrap();
        assert_eq!(redact_url(&u), "https://h.example:8443/mcp?…");
        assert_eq!(redact_url_text("https://h/mcp?key=secret"), "https://h/mcp?…");
    }
}
