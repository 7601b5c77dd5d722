//! The network around the server: proxies from the environment and private certificate
//! authorities. A proxy and a TLS endpoint with a private CA are parts of the user's network,
//! not MCP peers, so small stand-ins play them here.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::common::peers::{Peer, PeerKind};
use crate::common::valet::{Valet, init_params, text, valet_error};
use serde_json::json;

const CANNED: &str = r#"{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"canned","version":"0"}}}"#;

pub(crate) use crate::common::stand_in::Seen;
use crate::common::stand_in::{Out, serve};

/// A keep-alive HTTP/1.1 stand-in on 127.0.0.1: answers each request with `respond(request)`
/// (a whole response) and records the requests it saw.
pub(crate) fn stand_in(respond: impl Fn(&Seen) -> String + Send + Sync + 'static) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    serve(move |req| Out::Whole(respond(req)))
}

/// An answer carrying the canned initialize result.
fn canned_answer() -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{CANNED}",
        CANNED.len()
    )
}

/// An HTTP proxy that answers every request itself with a canned initialize result.
fn canned_proxy() -> (u16, Arc<Mutex<Vec<Seen>>>) {
    stand_in(|_| canned_answer())
}

#[test]
fn proxies_from_the_environment_are_used_but_never_for_loopback() {
    let (port, seen) = canned_proxy();
    let proxy = format!("http://127.0.0.1:{port}");
    let mut v = Valet::spawn_env(
        &["http://mcp.example.test/mcp", "--allow-http"],
        &[
            ("HTTP_PROXY", proxy.as_str()),
            ("http_proxy", proxy.as_str()),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
        ],
    );
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    assert_eq!(r["result"]["serverInfo"]["name"], "canned", "{r}");
    assert_eq!(
        seen.lock().unwrap()[0].line,
        "POST http://mcp.example.test/mcp HTTP/1.1"
    );

    // A server on this machine is reached directly, even with a (dead) proxy configured.
    let peer = Peer::start(PeerKind::StatefulJson);
    let dead = "http://127.0.0.1:9";
    let mut v = Valet::spawn_env(
        &[&peer.url],
        &[("HTTP_PROXY", dead), ("http_proxy", dead), ("NO_PROXY", "")],
    );
    v.handshake();
    assert_eq!(text(&v.tool(1, "echo", json!({"text": "direct"}))), "direct");
}

#[test]
fn a_private_certificate_authority_is_trusted_with_ca_file_and_http2_is_offered() {
    assert!(
        Command::new("openssl").arg("version").output().is_ok(),
        "openssl is needed to make test certificates (.ci/run installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_owned();
    let (ca, ca_key, cert, key, csr, ext) = (
        p("ca.pem"),
        p("ca.key"),
        p("cert.pem"),
        p("key.pem"),
        p("leaf.csr"),
        p("leaf.ext"),
    );
    std::fs::write(
        &ext,
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // A private CA, and a server certificate it signed.
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=mcp-valet test CA",
        "-keyout",
        &ca_key,
        "-out",
        &ca,
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    let server = format!(
        r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        body = '{canned}'.encode()
        self.send_response(200); self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain({cert:?}, {key:?})
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"#,
        canned = CANNED,
        cert = cert,
        key = key
    );
    let (_server, url) = https_on_localhost("python3", &server);

    let mut v = Valet::spawn(&[&url]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["kind"], "tls", "{r}");
    assert!(e["message"].as_str().unwrap().contains("--ca-file"));

    let mut v = Valet::spawn(&[&url, "--ca-file", &ca]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    assert_eq!(r["result"]["serverInfo"]["name"], "canned", "{r}");

    // A server that offers HTTP/2 by ALPN (Node's http2, HTTP/1.1 allowed too) is spoken to in
    // HTTP/2: it names the version it was asked in as the server's name.
    let h2 = format!(
        r#"
const http2 = require('node:http2'), fs = require('node:fs');
const s = http2.createSecureServer({{ cert: fs.readFileSync({cert:?}), key: fs.readFileSync({key:?}), allowHTTP1: true }},
  (req, res) => {{
    req.resume();
    req.on('end', () => {{
      const body = JSON.stringify({{ jsonrpc: '2.0', id: 0, result: {{ protocolVersion: '2025-11-25', capabilities: {{}},
        serverInfo: {{ name: 'http/' + req.httpVersion, version: '0' }} }} }});
      res.writeHead(200, {{ 'content-type': 'application/json' }});
      res.end(body);
    }});
  }});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
"#
    );
    let (_h2_server, url) = https_on_localhost("node", &h2);
    let mut v = Valet::spawn(&[&url, "--ca-file", &ca]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    assert_eq!(r["result"]["serverInfo"]["name"], "http/2.0", "{r}");
}

/// Runs `program -c|-e script`, which prints the port it serves HTTPS on; the process lives as
/// long as the returned guard. Answers the guard and `https://localhost:<port>/mcp`.
fn https_on_localhost(program: &str, script: &str) -> (Kill, String) {
    let flag = if program == "node" { "-e" } else { "-c" };
    let mut child = Kill(
        Command::new(program)
            .args([flag, script])
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, format!("https://localhost:{}/mcp", line.trim()))
}

/// Kills the child process when dropped, even when the test fails.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_redirect_to_another_host_is_not_followed_with_the_credentials() {
    // The place the redirect points at: counts what reaches it.
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    let elsewhere_port = elsewhere.local_addr().unwrap().port();
    let hits = Arc::new(Mutex::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in elsewhere.incoming().flatten() {
            *h.lock().unwrap() += 1;
            drop(s);
        }
    });
    // The server: answers every POST with a 307 to the other place.
    let (port, _) = stand_in(move |_| {
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{elsewhere_port}/mcp\r\nContent-Length: 0\r\n\r\n"
        )
    });
    let url = format!("http://127.0.0.1:{port}/mcp");
    let mut v = Valet::spawn(&[&url, "-H", "X-Api-Key: do-not-leak"]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    let e = valet_error(&r);
    assert_eq!(e["data"]["kind"], "redirect", "{r}");
    assert!(e["message"].as_str().unwrap().contains("another host"), "{r}");
    assert_eq!(*hits.lock().unwrap(), 0, "nothing reached the other host");
}

#[test]
fn a_redirect_on_the_same_origin_is_followed_with_method_body_and_headers() {
    // The server: POST /old → 307 to /mcp on the same origin; POST /mcp → an initialize result.
    let (port, seen) = stand_in(|req| {
        if req.line.starts_with("POST /old ") {
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: /mcp\r\nContent-Length: 0\r\n\r\n".to_owned()
        } else {
            canned_answer()
        }
    });
    let url = format!("http://127.0.0.1:{port}/old");
    // --protocol legacy: no era probe, so that the stand-in sees the initialize only.
    let mut v = Valet::spawn(&[&url, "-H", "X-Api-Key: same-origin", "--protocol", "legacy"]);
    let r = v.call(0, "initialize", init_params("2025-11-25"));
    assert_eq!(r["result"]["serverInfo"]["name"], "canned", "{r}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].line, "POST /old HTTP/1.1");
    assert_eq!(seen[1].line, "POST /mcp HTTP/1.1");
    let keyed = |r: &Seen| r.header("x-api-key") == Some("same-origin");
    assert!(keyed(&seen[0]) && keyed(&seen[1]), "the header went to both: {seen:?}");
    assert!(
        seen[1].body.contains("\"initialize\"") && seen[1].body == seen[0].body,
        "the same body: {seen:?}"
    );
}
