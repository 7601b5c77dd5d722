//! The browser step: a loopback listener for the redirect (bound to 127.0.0.1 and [::1], listening
//! before the browser opens), and opening the browser without a shell.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use super::AuthError;

/// What arrived at the redirect URI.
#[derive(Debug)]
pub struct Callback {
    pub params: HashMap<String, String>,
    /// With `--auth-success-url`: the browser's connection, answered by `finish` once the code
    /// has been exchanged.
    pub browser: Option<TcpStream>,
}

/// Connections the listener serves at once; a new one closes the oldest.
const MAX_CONNECTIONS: usize = 16;
/// How long a connection has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(3);

pub struct Listener {
    /// 127.0.0.1, and [::1] on the same port when this machine has IPv6 loopback: a
    /// `localhost` redirect URI may reach either, and browsers try `::1` first, so neither may
    /// be left to another local user.
    v4: TcpListener,
    v6: Option<TcpListener>,
    path: std::sync::Arc<str>,
    /// `--auth-success-url`: where a browser that brought a code is sent on to.
    success: Option<std::sync::Arc<str>>,
}

impl Listener {
    /// Binds 127.0.0.1 and [::1] on the first port of `ports` free on both (0 means any free
    /// port).
    pub async fn bind(ports: &[u16], path: &str, success: Option<&str>) -> Result<(Listener, u16), AuthError> {
        let success: Option<std::sync::Arc<str>> = success.map(Into::into);
        let mut last = None;
        let path: std::sync::Arc<str> = if path.is_empty() { "/".into() } else { path.into() };
        for &port in ports {
            // A port chosen by the system may be taken on [::1]: try a few.
            for _ in 0..if port == 0 { 8 } else { 1 } {
                match bind_both(port).await {
                    Ok((v4, v6, port)) => {
                        let path = path.clone();
                        let success = success.clone();
                        return Ok((Listener { v4, v6, path, success }, port));
                    }
                    Err((addr, e)) => {
                        tracing::debug!(%addr, "callback port unavailable: {e}");
                        last = Some((addr, e));
                    }
                }
            }
        }
        let (addr, e) = last.expect("at least one port is tried");
        Err(AuthError::new(format!(
            "could not listen for the sign-in redirect on {addr} ({e}); choose another port with --callback-port"
        )))
    }

    /// Waits for the browser's redirect carrying `state`. Requests for another path or with
    /// another state are answered and ignored. Connections are served concurrently (at most
    /// `MAX_CONNECTIONS`, the oldest closed to make room, each with `HEAD_TIMEOUT` for its
    /// request head), and the deadline is
    /// checked on every turn, so idle connections can neither stall the listener nor stretch
    /// `--auth-timeout`.
    pub async fn wait(&self, state: &str, timeout: Duration) -> Result<Callback, AuthError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut serving = tokio::task::JoinSet::new();
        // Oldest first: at the cap the oldest connection still being served makes room.
        let mut oldest = std::collections::VecDeque::new();
        let accept_v6 = || async {
            match &self.v6 {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        loop {
            let accepted = tokio::select! {
                biased;
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(AuthError::new(format!(
                        "gave up waiting for the sign-in after {} (--auth-timeout)",
                        crate::util::human_duration(timeout)
                    )));
                }
                Some(done) = serving.join_next(), if !serving.is_empty() => {
                    if let Ok(Some(cb)) = done {
                        return Ok(cb);
                    }
                    continue;
                }
                a = self.v4.accept() => a,
                a = accept_v6() => a,
            };
            match accepted {
                Ok((stream, _)) => {
                    oldest.retain(|h: &tokio::task::AbortHandle| !h.is_finished());
                    if oldest.len() >= MAX_CONNECTIONS
                        && let Some(h) = oldest.pop_front()
                    {
                        h.abort();
                    }
                    let (path, state, success) = (self.path.clone(), state.to_owned(), self.success.clone());
                    oldest.push_back(
                        serving.spawn(async move { handle(stream, &path, &state, success.as_deref()).await }),
                    );
                }
                Err(e) => tracing::debug!("accepting a callback connection failed: {e}"),
            }
        }
    }
}

/// Binds 127.0.0.1:`port` and, when this machine has IPv6 loopback, [::1] on the same port.
/// On failure answers the address that could not be bound.
async fn bind_both(port: u16) -> Result<(TcpListener, Option<TcpListener>, u16), (String, std::io::Error)> {
    let v4 = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| (format!("127.0.0.1:{port}"), e))?;
    let port = v4.local_addr().map(|a| a.port()).unwrap_or(port);
    match TcpListener::bind(("::1", port)).await {
        Ok(v6) => Ok((v4, Some(v6), port)),
        // Taken on [::1]: by another user, perhaps, who would receive the redirect.
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err((format!("[::1]:{port}"), e)),
        // No IPv6 loopback here: nobody can listen there either.
        Err(e) => {
            tracing::debug!("no IPv6 loopback for the callback: {e}");
            Ok((v4, None, port))
        }
    }
}

/// Serves one connection to the listener: the callback when it is the redirect for `state`.
async fn handle(mut stream: TcpStream, path: &str, state: &str, success: Option<&str>) -> Option<Callback> {
    let target = match tokio::time::timeout(HEAD_TIMEOUT, read_request_target(&mut stream)).await {
        Ok(Some(t)) => t,
        _ => return None,
    };
    let url = Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    if url.path() != path {
        let _ = respond(&mut stream, 404, "Not found", "This is mcp-valet's sign-in listener.").await;
        return None;
    }
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    if params.get("state").map(String::as_str) != Some(state) {
        tracing::debug!("ignoring a redirect whose state does not match");
        let _ = respond(
            &mut stream,
            400,
            "Unexpected request",
            "This sign-in response does not belong to the sign-in mcp-valet is waiting for, and was ignored.",
        )
        .await;
        return None;
    }
    let (status, title, text) = if let Some(err) = params.get("error") {
        let desc = params
            .get("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        (
            400,
            "Sign-in failed",
            format!("The authorization server answered `{err}`{desc}. See mcp-valet's messages for what to do."),
        )
    } else if params.contains_key("code") {
        if success.is_some() {
            return Some(Callback {
                params,
                browser: Some(stream),
            });
        }
        (
            200,
            "Signed in",
            "You are signed in. You can close this tab and go back to your application.".to_owned(),
        )
    } else {
        (
            400,
            "Sign-in failed",
            "The redirect carried neither a code nor an error.".to_owned(),
        )
    };
    let _ = respond(&mut stream, status, title, &text).await;
    Some(Callback { params, browser: None })
}

/// Reads an HTTP/1.x request head and returns its request target.
async fn read_request_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() > 16 * 1024 {
            return None;
        }
    }
    let head = std::str::from_utf8(&buf).ok()?;
    let mut parts = head.lines().next()?.split_ascii_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    (method == "GET" && target.starts_with('/')).then(|| target.to_owned())
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        502 => "Bad Gateway",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mcp-valet: {t}</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em}}</style></head>\
         <body><h1>{t}</h1><p>{x}</p></body></html>",
        t = html_escape(title),
        x = html_escape(text)
    );
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

/// Answers the browser held for `--auth-success-url`: on to that page once the sign-in
/// succeeded (303), else a page saying it failed (502).
pub async fn finish(mut stream: TcpStream, success: Option<&str>, signed_in: bool) {
    let _ = match success {
        Some(to) if signed_in => redirect(&mut stream, to).await,
        _ => {
            respond(
                &mut stream,
                502,
                "Sign-in failed",
                "mcp-valet could not complete the sign-in. See its messages for what to do.",
            )
            .await
        }
    };
}

/// Sends the browser on to `to` (checked when the command line was read: http(s), no query).
async fn redirect(stream: &mut TcpStream, to: &str) -> std::io::Result<()> {
    let resp = format!(
        "HTTP/1.1 303 See Other\r\nLocation: {to}\r\nContent-Length: 0\r\nCache-Control: no-store\r\n\
         Referrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Opens `url` in the user's browser: `$BROWSER` when set (a `:`-separated list of commands,
/// `%s` standing for the URL), else the platform's opener. Never through a shell, and only
/// http(s) URLs. The error says why no browser could be opened.
pub fn open(url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("refusing to open a `{}:` URL", url.scheme()));
    }
    if let Ok(browsers) = std::env::var("BROWSER")
        && !browsers.trim().is_empty()
    {
        let mut last = String::new();
        for cmd in browsers.split(':').filter(|c| !c.trim().is_empty()) {
            let mut words: Vec<String> = cmd.split_ascii_whitespace().map(str::to_owned).collect();
            if words.iter().any(|w| w.contains("%s")) {
                for w in &mut words {
                    *w = w.replace("%s", url.as_str());
                }
            } else {
                words.push(url.as_str().to_owned());
            }
            match spawn(&words) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        return Err(format!("$BROWSER could not be started ({last})"));
    }
    platform_open(url)
}

#[cfg(target_os = "macos")]
fn platform_open(url: &Url) -> Result<(), String> {
    spawn(&["open".into(), url.as_str().into()])
}

#[cfg(windows)]
fn platform_open(url: &Url) -> Result<(), String> {
    spawn(&[
        "rundll32.exe".into(),
        "url.dll,FileProtocolHandler".into(),
        url.as_str().into(),
    ])
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_open(url: &Url) -> Result<(), String> {
    let display = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !display {
        let ssh = std::env::var_os("SSH_CONNECTION").is_some() || std::env::var_os("SSH_TTY").is_some();
        return Err(if ssh {
            "this is an SSH session with no display".into()
        } else {
            "there is no graphical display (neither DISPLAY nor WAYLAND_DISPLAY is set)".into()
        });
    }
    spawn(&["xdg-open".into(), url.as_str().into()])
}

fn spawn(words: &[String]) -> Result<(), String> {
    let (prog, args) = words.split_first().ok_or("an empty command")?;
    let mut cmd = Command::new(prog);
    // The browser gets none of the secrets this process was given through its environment.
    for var in crate::util::secret_vars() {
        cmd.env_remove(var);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{prog}: {e}"))?;
    // Reap it whenever it exits, without holding anything up.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}
