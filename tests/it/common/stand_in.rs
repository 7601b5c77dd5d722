//! A keep-alive HTTP/1.1 stand-in server on 127.0.0.1, for what a real peer cannot be made to
//! do (a proxy, a garbage answer, a stream cut half-way). Its threads end with the test process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request as a stand-in saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request line, trimmed.
    pub line: String,
    /// Header lines, trimmed, as they came (see [`Seen::header`]).
    pub headers: Vec<String>,
    pub body: String,
}

impl Seen {
    /// The value of the first header called `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|h| {
            let (n, v) = h.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The path of the request line.
    pub fn path(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or_default()
    }
}

/// A request as the JSON-RPC scenarios read it: its HTTP method and its JSON body (`null`
/// when it has none or it is not JSON).
#[derive(Clone, Debug)]
pub struct Req {
    pub http: String,
    pub body: serde_json::Value,
}

impl Req {
    /// The JSON-RPC method, or "" for an answer or a body that is not a request.
    pub fn method(&self) -> &str {
        self.body["method"].as_str().unwrap_or_default()
    }
}

impl From<&Seen> for Req {
    fn from(s: &Seen) -> Req {
        Req {
            http: s.line.split(' ').next().unwrap_or_default().to_owned(),
            body: serde_json::from_str(&s.body).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// What a stand-in does with one request.
pub enum Out {
    /// Writes this whole HTTP response and keeps the connection.
    Whole(String),
    /// Writes this (partial) response and closes the connection.
    Cut(String),
}

/// Starts a stand-in that answers each request with `respond(request)` and records the
/// requests it saw; returns its port and that record.
pub fn serve(respond: impl Fn(&Seen) -> Out + Send + Sync + 'static) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    serve_raw(move |req, w| match respond(req) {
        Out::Whole(resp) => w.write_all(resp.as_bytes()).is_ok(),
        Out::Cut(resp) => {
            let _ = w.write_all(resp.as_bytes());
            let _ = w.flush();
            let _ = w.shutdown(std::net::Shutdown::Both);
            false
        }
    })
}

/// A stand-in that hands each request (read whole, recorded first) and its connection to
/// `serve`, which writes what it likes; `true` keeps the connection for the next request,
/// `false` closes it. Returns the port and the requests seen, in order.
pub fn serve_raw(
    serve: impl Fn(&Seen, &mut TcpStream) -> bool + Send + Sync + 'static,
) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (log, serve) = (log.clone(), serve.clone());
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut w = stream;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut headers = Vec::new();
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        if h.trim().is_empty() {
                            break;
                        }
                        headers.push(h.trim().to_owned());
                    }
                    let mut req = Seen {
                        line: line.trim().to_owned(),
                        headers,
                        body: String::new(),
                    };
                    let len = req.header("content-length").map_or(0, |v| v.parse().unwrap());
                    let mut body = vec![0; len];
                    if r.read_exact(&mut body).is_err() {
                        return;
                    }
                    req.body = String::from_utf8_lossy(&body).into_owned();
                    log.lock().unwrap().push(req.clone());
                    if !serve(&req, &mut w) {
                        return;
                    }
                }
            });
        }
    });
    (port, seen)
}
