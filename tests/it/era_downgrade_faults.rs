//! A 2026-07-28 host in front of a server of the older revisions whose own requests misbehave
//! (issue 10, "Bad input and faults", for the translation of server→client requests into
//! `input_required`): questions that never end, a question related to nothing, a host that
//! never retries, a retry the host cancels, a stale `requestState`, answers held beyond the
//! budget, progress for a request the host has retried. A stand-in Streamable HTTP
//! server of the 2025-11-25 revision asks; the host is the real binary's stdio, driven with
//! raw JSON-RPC lines.

use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::common::stand_in::serve_raw;
use crate::common::valet::Valet;
use serde_json::{Value, json};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Asking {
    /// tools/call: a question on the call's stream each time the last one was answered; on
    /// an error answer, the result "answered N: <error message>".
    Forever,
    /// tools/call: one question; then no answer at all (until cancelled).
    Hang,
    /// The GET stream carries a question related to no request.
    Unrelated,
    /// tools/call: two questions at once; when both are answered, the result "both".
    Two,
    /// tools/call: one question, then at once the result "gave up" and the end of the stream
    /// (the server did not wait for the answer).
    GiveUp,
    /// As `GiveUp`, but the question's id is `q-<call id>` and the result's text is `BIG`
    /// bytes long.
    Big,
    /// tools/call: progress 1 for the call's progressToken, a question, progress 2; once
    /// answered, progress 3 and the result "done".
    Progress,
}

/// The text of an `Asking::Big` result: nine of them are more than 16 MiB, eight are not.
const BIG: usize = 1_900_000;

#[derive(Default)]
struct Seen {
    /// (HTTP method, JSON body) of every request.
    requests: Mutex<Vec<(String, Value)>>,
    arrived: Condvar,
}

impl Seen {
    fn bodies(&self) -> Vec<Value> {
        self.requests.lock().unwrap().iter().map(|(_, b)| b.clone()).collect()
    }

    /// Waits until `pred` holds for a body the server received; that body.
    fn wait_for(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut r = self.requests.lock().unwrap();
        loop {
            if let Some((_, b)) = r.iter().find(|(_, b)| pred(b)) {
                return b.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the server never received {what}: {:?}", *r);
            r = self.arrived.wait_timeout(r, left).unwrap().0;
        }
    }
}

fn question(n: usize) -> Value {
    json!({"jsonrpc": "2.0", "id": format!("q{n}"), "method": "elicitation/create", "params": {
        "mode": "form", "message": format!("question {n}"),
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
    }})
}

fn event(w: &mut TcpStream, v: &Value) -> bool {
    use std::io::Write;
    w.write_all(format!("data: {v}\n\n").as_bytes()).is_ok() && w.flush().is_ok()
}

fn whole(w: &mut TcpStream, status: &str, headers: &str, body: &str) -> bool {
    use std::io::Write;
    let resp = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    w.write_all(resp.as_bytes()).is_ok()
}

const SSE_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";

/// The stand-in; its `/mcp` URL and what it received.
fn old_server(asking: Asking) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let log = seen.clone();
    let (port, _) = serve_raw(move |req, w| {
        use std::io::Write;
        let http = req.line.split(' ').next().unwrap_or_default().to_owned();
        let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
        log.requests.lock().unwrap().push((http.clone(), body.clone()));
        log.arrived.notify_all();
        let json = "Content-Type: application/json\r\n";
        match (http.as_str(), body["method"].as_str()) {
            ("GET", _) if asking == Asking::Unrelated => {
                let _ = w.write_all(SSE_HEAD);
                event(w, &question(1));
                std::thread::sleep(Duration::from_secs(20));
                false
            }
            ("GET", _) => whole(w, "405 Method Not Allowed", "", ""),
            ("DELETE", _) => whole(w, "200 OK", "", ""),
            (_, Some("server/discover")) => whole(w, "404 Not Found", "", "not found"),
            (_, Some("initialize")) => {
                let r = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                    "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                    "serverInfo": {"name": "old-stand-in", "version": "1"}}});
                whole(w, "200 OK", &format!("{json}Mcp-Session-Id: s1\r\n"), &r.to_string())
            }
            (_, Some("tools/call")) if asking == Asking::Big => {
                let _ = w.write_all(SSE_HEAD);
                let mut q = question(1);
                q["id"] = json!(format!("q-{}", body["id"]));
                event(w, &q);
                let r = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                    "content": [{"type": "text", "text": "b".repeat(BIG)}]}});
                event(w, &r);
                false
            }
            (_, Some("tools/call")) if asking == Asking::Progress => {
                let _ = w.write_all(SSE_HEAD);
                let token = &body["params"]["_meta"]["progressToken"];
                let progress = |w: &mut TcpStream, n: u32| {
                    let p = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                        "params": {"progressToken": token, "progress": n}});
                    event(w, &p)
                };
                progress(w, 1);
                event(w, &question(1));
                progress(w, 2);
                log.wait_for("an answer", |b| b["id"] == "q1" && b.get("method").is_none());
                progress(w, 3);
                let r = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                    "content": [{"type": "text", "text": "done"}]}});
                event(w, &r);
                false
            }
            (_, Some("tools/call")) => {
                let _ = w.write_all(SSE_HEAD);
                let mut n = 1;
                loop {
                    if !event(w, &question(n)) {
                        return false;
                    }
                    if asking == Asking::Two {
                        event(w, &question(2));
                        for q in ["q1", "q2"] {
                            log.wait_for("an answer", |b| b["id"] == q && b.get("result").is_some());
                        }
                        let r = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                            "content": [{"type": "text", "text": "both"}]}});
                        event(w, &r);
                        return false;
                    }
                    if asking == Asking::GiveUp {
                        let r = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                            "content": [{"type": "text", "text": "gave up"}]}});
                        event(w, &r);
                        return false;
                    }
                    let id = json!(format!("q{n}"));
                    let answer = log.wait_for("an answer", |b| b["id"] == id && b.get("method").is_none());
                    if asking == Asking::Hang {
                        log.wait_for("a cancellation", |b| b["method"] == "notifications/cancelled");
                        return false;
                    }
                    if answer.get("error").is_some() {
                        let text = format!("answered {}: {}", n - 1, answer["error"]["message"]);
                        let r = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                            "content": [{"type": "text", "text": text}]}});
                        event(w, &r);
                        return false;
                    }
                    n += 1;
                }
            }
            _ => whole(w, "202 Accepted", "", ""),
        }
    });
    (format!("http://127.0.0.1:{port}/mcp"), seen)
}

fn envelope() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-host", "version": "1"},
    })
}

/// The bridge, with a 2026-07-28 host's server/discover answered.
fn modern_host(args: &[&str]) -> Valet {
    let mut v = Valet::spawn(args);
    let d = v.call(0, "server/discover", json!({"_meta": envelope()}));
    assert_eq!(
        d["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "old-stand-in",
        "{d}"
    );
    v
}

fn call(v: &mut Valet, id: i64, extra: Value) -> Value {
    let mut params = json!({"name": "ask", "arguments": {}, "_meta": envelope()});
    for (k, x) in extra.as_object().unwrap() {
        params[k] = x.clone();
    }
    v.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
    v.response_to(&json!(id)).0
}

/// The one question of an input_required result: (its key, the requestState).
fn asked(resp: &Value) -> (String, String) {
    let r = &resp["result"];
    assert_eq!(r["resultType"], "input_required", "{resp}");
    let reqs = r["inputRequests"].as_object().unwrap();
    assert_eq!(reqs.len(), 1, "{resp}");
    let (key, q) = reqs.iter().next().unwrap();
    assert_eq!(q["method"], "elicitation/create", "{resp}");
    (key.clone(), r["requestState"].as_str().unwrap().to_owned())
}

fn answered(key: &str, state: &str) -> Value {
    json!({"inputResponses": {key: {"action": "accept", "content": {"name": "n"}}}, "requestState": state})
}

#[test]
fn questions_that_never_end_stop_after_ten_rounds_and_a_stale_state_is_refused() {
    let (url, seen) = old_server(Asking::Forever);
    let mut v = modern_host(&[&url]);
    let first = call(&mut v, 1, json!({}));
    let (mut key, mut state) = asked(&first);
    let first_state = state.clone();
    for id in 2..=10 {
        let r = call(&mut v, id, answered(&key, &state));
        (key, state) = asked(&r);
        assert_ne!(state, first_state, "each round has its own state");
    }
    // The 11th question gets an error from the bridge; the server's answer, which says so,
    // is the answer to the last retry.
    let last = call(&mut v, 11, answered(&key, &state));
    let text = last["result"]["content"][0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("answered 10: "), "{last}");
    assert!(text.contains("more than 10 rounds"), "{last}");
    // A state of an earlier round (or of a finished request) is refused, clearly.
    let stale = call(&mut v, 12, answered(&key, &first_state));
    assert_eq!(stale["error"]["code"], -32602, "{stale}");
    assert_eq!(stale["error"]["data"]["source"], "mcp-valet", "{stale}");
    // The server saw one call; the retries stayed in the bridge.
    let calls = seen.bodies().iter().filter(|b| b["method"] == "tools/call").count();
    assert_eq!(calls, 1);
    let d = v.call(13, "server/discover", json!({"_meta": envelope()}));
    assert!(d["result"].is_object(), "the bridge keeps serving: {d}");
}

#[test]
fn a_question_related_to_no_request_gets_an_error_and_the_host_never_sees_it() {
    let (url, seen) = old_server(Asking::Unrelated);
    let mut v = modern_host(&[&url]);
    let refused = seen.wait_for("the bridge's error for q1", |b| {
        b["id"] == "q1" && b.get("error").is_some()
    });
    let msg = refused["error"]["message"].as_str().unwrap();
    assert!(msg.contains("not related to a client request"), "{refused}");
    // The next thing on stdout is the answer to the host's next request.
    v.send(&json!({"jsonrpc": "2.0", "id": 7, "method": "server/discover", "params": {"_meta": envelope()}}));
    let next = v.recv();
    assert_eq!(next["id"], 7, "{next}");
}

#[test]
fn a_host_that_never_retries_lets_the_server_go_after_the_request_timeout() {
    let (url, seen) = old_server(Asking::Hang);
    let mut v = modern_host(&["--request-timeout", "1s", &url]);
    let started = Instant::now();
    asked(&call(&mut v, 1, json!({})));
    seen.wait_for("an error for q1", |b| b["id"] == "q1" && b.get("error").is_some());
    let cancel = seen.wait_for("notifications/cancelled", |b| b["method"] == "notifications/cancelled");
    assert_eq!(cancel["params"]["requestId"], 1, "{cancel}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let d = v.call(2, "server/discover", json!({"_meta": envelope()}));
    assert!(d["result"].is_object(), "the bridge keeps serving: {d}");
}

#[test]
fn a_cancelled_retry_cancels_the_request_the_server_knows() {
    let (url, seen) = old_server(Asking::Hang);
    let mut v = modern_host(&[&url]);
    let (key, state) = asked(&call(&mut v, 1, json!({})));
    let mut params = json!({"name": "ask", "arguments": {}, "_meta": envelope()});
    for (k, x) in answered(&key, &state).as_object().unwrap() {
        params[k] = x.clone();
    }
    v.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}));
    seen.wait_for("the answer to q1", |b| b["id"] == "q1" && b.get("result").is_some());
    v.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}}));
    let cancel = seen.wait_for("notifications/cancelled", |b| b["method"] == "notifications/cancelled");
    assert_eq!(cancel["params"]["requestId"], 1, "the server's own id for it: {cancel}");
    let d = v.call(3, "server/discover", json!({"_meta": envelope()}));
    assert!(d["result"].is_object(), "the bridge keeps serving: {d}");
    let cancels: Vec<Value> = seen
        .bodies()
        .into_iter()
        .filter(|b| b["method"] == "notifications/cancelled")
        .collect();
    assert_eq!(cancels.len(), 1, "{cancels:?}");
}

#[test]
fn an_answer_the_server_gives_before_the_retry_is_the_answer_to_the_retry() {
    // The server answers (and ends its stream) while the host holds an input_required answer:
    // the retry gets that result. (The stream's end after the answer once replaced it with an
    // error.)
    let (url, seen) = old_server(Asking::GiveUp);
    let mut v = modern_host(&[&url]);
    let (key, state) = asked(&call(&mut v, 1, json!({})));
    std::thread::sleep(Duration::from_millis(300)); // the stream has ended by now
    let r = call(&mut v, 2, answered(&key, &state));
    assert_eq!(r["result"]["content"][0]["text"], "gave up", "{r}");
    seen.wait_for("the answer to q1", |b| b["id"] == "q1" && b.get("result").is_some());
    let cancels = seen
        .bodies()
        .into_iter()
        .filter(|b| b["method"] == "notifications/cancelled")
        .count();
    assert_eq!(cancels, 0);
}

#[test]
fn a_second_question_asked_at_once_is_the_next_round() {
    // The second question comes while the host holds the first round: it waits for the
    // host's retry and is asked then, with a state of its own.
    let (url, _seen) = old_server(Asking::Two);
    let mut v = modern_host(&[&url]);
    let (key, state) = asked(&call(&mut v, 1, json!({})));
    let second = call(&mut v, 2, answered(&key, &state));
    let (key2, state2) = asked(&second);
    assert_eq!(
        second["result"]["inputRequests"][&key2]["params"]["message"], "question 2",
        "{second}"
    );
    assert_ne!(state2, state);
    let r = call(&mut v, 3, answered(&key2, &state2));
    assert_eq!(r["result"]["content"][0]["text"], "both", "{r}");
}

#[test]
fn answers_held_for_retries_stay_within_a_byte_budget() {
    // Each call's server asks, then answers at once with ~1.9 MB while the host holds the
    // input_required answer: the bridge keeps each answer for the host's retry. With
    // --max-message-size 2MiB the budget is 16 MiB: eight fit, the ninth does not, and its
    // retry gets a clear error while its question is still answered. Without the budget all
    // nine are kept (up to 256 × --max-message-size in all) and every retry succeeds.
    let (url, seen) = old_server(Asking::Big);
    let mut v = modern_host(&["--max-message-size", "2MiB", &url]);
    let mut rounds = Vec::new();
    for id in 1..=9 {
        rounds.push((id, asked(&call(&mut v, id, json!({})))));
    }
    // The ninth answer to come is refused when eight are held (8 × BIG fit, 9 × BIG do not):
    // once stderr says so, every answer has come, whatever their order.
    refused_once(&v, 1);
    let mut refused = retries(&mut v, &rounds);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let e = &refused[0]["error"];
    assert_eq!(e["data"]["source"], "mcp-valet", "{e}");
    assert_eq!(e["data"]["kind"], "too_large", "{e}");
    assert!(e["message"].as_str().unwrap().contains("exceed 16 MiB"), "{e}");
    // Every question got the host's answer, the refused one's too.
    for id in 1..=9 {
        let q = json!(format!("q-{id}"));
        seen.wait_for("the answer to a question", |b| {
            b["id"] == q && b["result"]["action"] == "accept"
        });
    }
    // The budget is free again (a leak would refuse all of these): once more, eight fit.
    let rounds: Vec<_> = (11..=19).map(|id| (id, asked(&call(&mut v, id, json!({}))))).collect();
    refused_once(&v, 2);
    refused = retries(&mut v, &rounds);
    assert_eq!(refused.len(), 1, "{refused:?}");
}

/// Waits until the bridge has said `n` times that it refused to hold an answer: the ninth of
/// a batch to come is refused when the eight others are held (8 × BIG fit, 9 × BIG do not),
/// so then every answer of the batch has come, whatever their order.
fn refused_once(v: &Valet, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while v.stderr().matches("the retry gets an error").count() < n {
        assert!(Instant::now() < deadline, "no answer was refused: {}", v.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Retries every `(id, (key, state))` round; the error answers (the others must be `BIG`).
fn retries(v: &mut Valet, rounds: &[(i64, (String, String))]) -> Vec<Value> {
    let mut refused = Vec::new();
    for (id, (key, state)) in rounds {
        let r = call(v, 100 + id, answered(key, state));
        if r.get("error").is_some() {
            refused.push(r);
        } else {
            let text = r["result"]["content"][0]["text"].as_str().unwrap_or_default();
            assert_eq!(text.len(), BIG, "{}", &r.to_string()[..200]);
        }
    }
    refused
}

#[test]
fn progress_for_a_retried_request_goes_with_the_retrys_token() {
    // Progress may name only a token of an active request: the first call's (t1) while it
    // waits; none while the host holds the input_required answer (progress 2 is dropped);
    // the retry's (t2) once it came (progress 3, sent by the server for t1). Without the
    // mapping the host gets 2 and 3 for t1, a request that is over.
    let (url, _seen) = old_server(Asking::Progress);
    let mut v = modern_host(&[&url]);
    let progress = |v: &mut Valet, id: i64, token: &str, extra: Value| {
        let mut params = json!({"name": "ask", "arguments": {}, "_meta": envelope()});
        params["_meta"]["progressToken"] = json!(token);
        for (k, x) in extra.as_object().unwrap() {
            params[k] = x.clone();
        }
        v.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params}));
        let (r, before) = v.response_to(&json!(id));
        let seen: Vec<Value> = before
            .iter()
            .filter(|m| m["method"] == "notifications/progress")
            .map(|m| json!([m["params"]["progressToken"], m["params"]["progress"]]))
            .collect();
        (r, seen)
    };
    let (first, seen) = progress(&mut v, 1, "t1", json!({}));
    let (key, state) = asked(&first);
    assert_eq!(seen, [json!(["t1", 1])]);
    let (last, seen) = progress(&mut v, 2, "t2", answered(&key, &state));
    assert_eq!(last["result"]["content"][0]["text"], "done", "{last}");
    assert_eq!(seen, [json!(["t2", 3])]);
    // Nothing else arrived for t1 (progress 2 was dropped, not delayed).
    v.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "server/discover", "params": {"_meta": envelope()}}));
    let (d, before) = v.response_to(&json!(3));
    assert!(d["result"].is_object(), "{d}");
    assert!(before.is_empty(), "{before:?}");
}
