//! The HTTP side shared by every command: the server URL and its checks, user headers, the
//! one `reqwest` client (connection pool, system proxy, OS trust store plus `--ca-file`), and
//! plain-language descriptions of network failures.

pub mod relay_client;
pub mod tls;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::cli::RemoteArgs;
use crate::failure::{Failure, FailureKind};

pub const USER_AGENT: &str = concat!("mcp-valet/", env!("CARGO_PKG_VERSION"));

/// Everything needed to talk HTTP to one MCP server.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub client: reqwest::Client,
    /// The bridge's own requests, when no proxy applies (`crate::http::relay_client`); else `client`.
    pub wire: Option<crate::http::relay_client::Wire>,
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
    pub fn from_args(args: &RemoteArgs) -> anyhow::Result<HttpConfig> {
        let url_text = args.url.clone().context("a server URL is required")?;
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
        let tls = tls_config(args.ca_file.as_deref())?;
        let wire = (loopback || !crate::http::relay_client::uses_a_proxy(&url))
            .then(|| crate::http::relay_client::Wire::new(tls.clone(), args.connect_timeout));
        let client = build_client(tls, args.connect_timeout, loopback)?;
        Ok(HttpConfig {
            client,
            wire,
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

/// Whether the URL points at this machine (127.0.0.0/8, ::1, localhost).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost") || d.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
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

fn redact_url_text(text: &str) -> String {
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
    let value = expand_env(value.trim(), |v| std::env::var(v).ok()).map_err(|var| {
        anyhow::anyhow!("{origin}: header `{name}` uses ${{{var}}}, which is not set in the environment")
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

fn build_client(
    tls: rustls::ClientConfig,
    connect_timeout: Duration,
    loopback: bool,
) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .redirect(redirect_policy())
        .tls_backend_preconfigured(tls);
    if loopback {
        b = b.no_proxy();
    }
    b.build().context("setting up the HTTP client")
}

/// TLS for both clients: the OS trust store plus the certificates in `ca_file`.
fn tls_config(ca_file: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = Vec::new();
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject;
        let pem = std::fs::read(path).with_context(|| format!("reading the CA file {}", path.display()))?;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots
                .push(cert.with_context(|| format!("{} holds a PEM block that is not a certificate", path.display()))?);
        }
        if roots.is_empty() {
            bail!("{} holds no PEM certificate", path.display());
        }
    }
    crate::http::tls::client_config(roots).context("setting up TLS")
}

/// Follows 307/308 only (they keep the method and body), under `redirect_refusal`.
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let status = attempt.status().as_u16();
        if !(status == 307 || status == 308) {
            return attempt.stop();
        }
        let refusal = attempt
            .previous()
            .first()
            .and_then(|first| redirect_refusal(first, attempt.url(), attempt.previous().len()));
        match refusal {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    })
}

/// The redirect rule of both HTTP clients (reqwest here, `crate::http::relay_client` for the relay): the
/// `n`th redirect of a request that started at `first` may go to `to` only on the same origin
/// (a redirect elsewhere would carry the user's headers and credentials to another host; the
/// same origin also rules out https → http), and at most 4 in a row. `Some(reason)` refuses.
pub fn redirect_refusal(first: &Url, to: &Url, n: usize) -> Option<String> {
    if n >= 5 {
        return Some("too many redirects".into());
    }
    (first.origin() != to.origin()).then(|| {
        format!(
            "the server redirects to another host ({}); credentials are not sent there. Use that URL directly if you trust it",
            to.host_str().unwrap_or("?")
        )
    })
}

/// What went wrong with an HTTP exchange, for people: a short cause and what to try.
pub fn describe_error(e: &reqwest::Error, url: &Url, timeout: Option<Duration>) -> Failure {
    let symptoms = Symptoms {
        timeout: e.is_timeout(),
        connect: e.is_connect(),
        redirect: e.is_redirect(),
        tls: is_tls_failure(e),
        cause: root_cause(e),
    };
    describe(&symptoms, url, timeout)
}

/// The same for the bridge's own requests (`crate::http::relay_client`).
pub fn describe_wire_error(e: &crate::http::relay_client::WireError, url: &Url) -> Failure {
    use crate::http::relay_client::WireError;
    let symptoms = Symptoms {
        timeout: has_io_kind(e, std::io::ErrorKind::TimedOut),
        connect: e.is_connect(),
        redirect: matches!(e, WireError::Redirect(_)),
        tls: is_tls_failure(e),
        cause: match e {
            WireError::Http(_) => root_cause(e),
            other => other.to_string(),
        },
    };
    describe(&symptoms, url, None)
}

/// What a failed exchange amounts to, whichever client saw it.
struct Symptoms {
    timeout: bool,
    connect: bool,
    redirect: bool,
    tls: bool,
    /// The innermost message.
    cause: String,
}

fn describe(f: &Symptoms, url: &Url, timeout: Option<Duration>) -> Failure {
    let host = url.host_str().unwrap_or("the server");
    let cause = &f.cause;
    let lower = cause.to_ascii_lowercase();
    if f.timeout {
        let after = timeout
            .map(|t| format!(" within {}", crate::util::human_duration(t)))
            .unwrap_or_default();
        return Failure::new(
            FailureKind::Timeout,
            format!(
                "{host} did not answer{after}. The server may be overloaded or unreachable; try again, or raise the timeout"
            ),
        );
    }
    if url.scheme() == "https"
        && (f.tls
            || ["certificate", "tls", "handshake", "ssl"]
                .iter()
                .any(|w| lower.contains(w)))
    {
        return Failure::new(
            FailureKind::Tls,
            format!(
                "the TLS connection to {host} failed ({cause}). If the server uses a private certificate authority, pass its certificate with --ca-file"
            ),
        );
    }
    if f.connect {
        if lower.contains("dns")
            || lower.contains("failed to lookup")
            || lower.contains("name or service")
            || lower.contains("resolve")
        {
            return Failure::new(
                FailureKind::Dns,
                format!("could not resolve {host} ({cause}). Check the host name and your network or VPN"),
            );
        }
        if lower.contains("refused") {
            return Failure::new(
                FailureKind::Connect,
                format!(
                    "could not connect to {} (connection refused). Is the server running, and is the URL right?",
                    hostport(url)
                ),
            );
        }
        return Failure::new(
            FailureKind::Connect,
            format!(
                "could not connect to {} ({cause}). Check the URL, your network and any proxy settings",
                hostport(url)
            ),
        );
    }
    if f.redirect {
        return Failure::new(
            FailureKind::Redirect,
            format!("{host} redirected in a way mcp-valet will not follow ({cause}). Use the final URL directly"),
        );
    }
    Failure::new(
        FailureKind::Network,
        format!(
            "the connection to {host} failed ({cause}). Try again; if it persists, check your network and proxy settings"
        ),
    )
}

/// rustls reports handshake failures as `io::Error`s of kind `InvalidData`.
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    has_io_kind(e, std::io::ErrorKind::InvalidData)
}

/// Whether an `io::Error` of `kind` is among the causes of `e`.
fn has_io_kind(e: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(err) = cur {
        match err.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == kind => return true,
            // `io::Error::source` skips the wrapped error itself: descend into it.
            Some(io) => cur = io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => cur = err.source(),
        }
    }
    false
}

fn hostport(url: &Url) -> String {
    match url.port_or_known_default() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("?")),
        None => url.host_str().unwrap_or("?").to_owned(),
    }
}

/// The innermost error message (reqwest's own message names the URL, which may hold a key).
fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    let mut msg = String::new();
    while let Some(src) = cur.source() {
        msg = src.to_string();
        cur = src;
    }
    if msg.is_empty() {
        msg = "unknown error".into();
    }
    msg
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
    fn redirects_stay_on_the_origin_and_stop_after_four() {
        let u = |s: &str| Url::parse(s).unwrap();
        let first = u("https://h.example/old");
        assert_eq!(redirect_refusal(&first, &u("https://h.example/mcp"), 1), None);
        assert_eq!(redirect_refusal(&first, &u("https://h.example:443/x"), 4), None);
        assert!(redirect_refusal(&first, &u("https://h.example/mcp"), 5).is_some());
        let elsewhere = redirect_refusal(&first, &u("https://evil.example/mcp"), 1).unwrap();
        assert!(elsewhere.contains("evil.example"), "{elsewhere}");
        assert!(
            redirect_refusal(&first, &u("http://h.example/mcp"), 1).is_some(),
            "no https → http"
        );
        assert!(
            redirect_refusal(&first, &u("https://h.example:8443/mcp"), 1).is_some(),
            "another port"
        );
    }

    #[test]
    fn redaction_hides_queries() {
        let u = Url::parse("https://h.example:8443/mcp?key=secret").unwrap();
        assert_eq!(redact_url(&u), "https://h.example:8443/mcp?…");
        assert_eq!(redact_url_text("https://h/mcp?key=secret"), "https://h/mcp?…");
    }
}
