//! Entry points for the fuzz targets in `fuzz/` (`cargo +nightly fuzz run <target>`).
//!
//! Each takes arbitrary bytes, runs one parser the way the bridge does, and checks what must
//! hold whatever the input: no panic, the same result however the input is cut into chunks,
//! and agreement with a plain reference reading of the format where one is short enough to
//! write here. A failed check panics, which the fuzzer reports as a crash. The unit tests
//! below run every input kept in `fuzz/corpus/` through them.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, WWW_AUTHENTICATE};
use serde_json::value::RawValue;
use url::Url;

use crate::auth::challenge::{Challenge, split_scopes};
use crate::auth::discovery::{ResourceMetadata, ServerMetadata, is_entra, resource_matches};
use crate::bridge::message::{self, Id, Invalid, Kind, Parsed};
use crate::bridge::remote::sse;
use crate::bridge::stdio::{Framer, Input};

/// Cuts `data` into chunks whose lengths (1..=16) follow a small generator seeded with `seed`,
/// so that one input is also read in pieces that end anywhere.
fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut state = u32::from(seed) | 1;
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let n = (1 + (state >> 16) as usize % 16).min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

// --- The stdio framer ------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Framed {
    Line(Vec<u8>),
    TooLong { id: Option<String>, len: usize },
}

fn framed(out: Vec<Input>) -> Vec<Framed> {
    out.into_iter()
        .map(|i| match i {
            Input::Line(b) => Framed::Line(b.to_vec()),
            Input::TooLong { id, len } => Framed::TooLong {
                id: id.map(|r| r.get().to_owned()),
                len,
            },
            Input::Eof | Input::Failed(_) => unreachable!("the framer does not report the end itself"),
        })
        .collect()
}

/// The stdio framer: the first byte picks the line limit (1..=1021 bytes) and the chunking.
pub fn stdio_framer(data: &[u8]) {
    let Some((&knob, data)) = data.split_first() else {
        return;
    };
    let max = 1 + usize::from(knob) * 4;

    let mut whole = Vec::new();
    let mut f = Framer::new(max);
    f.feed(data, &mut whole);
    f.finish(&mut whole);

    let mut pieces = Vec::new();
    let mut f = Framer::new(max);
    for c in chunks(data, knob) {
        f.feed(c, &mut pieces);
    }
    f.finish(&mut pieces);

    let whole = framed(whole);
    assert_eq!(
        whole,
        framed(pieces),
        "the framer's result depends on how the input is cut"
    );

    // Reference: split at `\n`; a line over the limit (counted before a trailing `\r` is
    // dropped) is skipped; a blank one is ignored.
    let mut expected = Vec::new();
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for line in lines {
        if line.len() > max {
            expected.push(line.len());
            continue;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            expected.push(usize::MAX - line.len());
        }
    }
    let got: Vec<usize> = whole
        .iter()
        .map(|f| match f {
            Framed::Line(l) => {
                assert!(!l.contains(&b'\n'), "a framed line holds a new line");
                usize::MAX - l.len()
            }
            Framed::TooLong { len, .. } => *len,
        })
        .collect();
    assert_eq!(got, expected, "the framer does not cut lines as `\\n` does");

    // An oversized line keeps only a top-level id that is one (string or number), the same
    // id a full parse of that line finds.
    let long_lines = data
        .split(|&b| b == b'\n')
        .filter(|l| l.len() > max)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let long_ids = whole.iter().filter_map(|f| match f {
        Framed::TooLong { id, .. } => Some(id),
        Framed::Line(_) => None,
    });
    for (line, id) in long_lines.zip(long_ids) {
        if let Some(id) = id {
            let raw = RawValue::from_string(id.clone()).expect("the kept id is JSON");
            assert!(
                Id::from_raw(&raw).is_some(),
                "kept an id that is not a string or a number"
            );
        }
        if let Ok(Parsed::Single(m)) = message::parse(Bytes::copy_from_slice(line)) {
            let parsed = m.raw_id.as_ref().filter(|r| Id::from_raw(r).is_some()).map(|r| r.get());
            assert_eq!(
                id.as_deref(),
                parsed,
                "the id kept from an oversized line is not its id"
            );
        }
    }
}

// --- The SSE parser --------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq, Eq)]
struct SseResult {
    events: Vec<(String, Vec<u8>)>,
    last_id: Option<String>,
    retry: Option<u64>,
}

/// WHATWG HTML §9.2.6, read plainly: lines end at CRLF, CR or LF; a blank line dispatches.
fn sse_reference(data: &[u8]) -> SseResult {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut r = SseResult::default();
    let (mut buf, mut event, mut id_buf) = (Vec::<u8>::new(), String::new(), None::<String>);
    let mut any_data = false;
    let mut i = 0;
    let mut start = 0;
    while i < data.len() {
        let b = data[i];
        if b != b'\n' && b != b'\r' {
            i += 1;
            continue;
        }
        let line = &data[start..i];
        i += if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        start = i;
        if line.is_empty() {
            if let Some(id) = id_buf.clone() {
                r.last_id = (!id.is_empty()).then_some(id);
            }
            id_buf = None;
            if any_data && buf.len() > 1 {
                buf.pop(); // the last data line's LF
                r.events.push((std::mem::take(&mut event), std::mem::take(&mut buf)));
            }
            buf.clear();
            event.clear();
            any_data = false;
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (field, mut value) = match line.iter().position(|&c| c == b':') {
            Some(p) => (&line[..p], &line[p + 1..]),
            None => (line, &[][..]),
        };
        if value.first() == Some(&b' ') {
            value = &value[1..];
        }
        match field {
            b"data" => {
                buf.extend_from_slice(value);
                buf.push(b'\n');
                any_data = true;
            }
            b"event" => event = String::from_utf8_lossy(value).into_owned(),
            b"id" if !value.contains(&0) => id_buf = Some(String::from_utf8_lossy(value).into_owned()),
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // The parser clamps what a server asks for to sse::MAX_RETRY; a value beyond
                // u64 is read as that much too.
                let max = u64::try_from(sse::MAX_RETRY.as_millis()).expect("a minute fits");
                let ms = std::str::from_utf8(value)
                    .unwrap_or("")
                    .parse::<u64>()
                    .unwrap_or(u64::MAX);
                r.retry = Some(ms.min(max));
            }
            _ => {}
        }
    }
    r
}

fn sse_run(data: &[u8], cuts: &[&[u8]], max: usize) -> Result<SseResult, sse::EventTooLarge> {
    debug_assert_eq!(cuts.concat(), data);
    let mut p = sse::Parser::new(max);
    let mut out = Vec::new();
    for c in cuts {
        p.feed(&Bytes::copy_from_slice(c), &mut out)?;
    }
    for e in &out {
        assert!(!e.data.is_empty(), "dispatched an event without data");
    }
    Ok(SseResult {
        events: out.into_iter().map(|e| (e.event, e.data.to_vec())).collect(),
        last_id: p.last_event_id().map(str::to_owned),
        retry: p.retry().map(|d| u64::try_from(d.as_millis()).expect("retry fits")),
    })
}

/// The SSE parser: whole, in chunks (the first holds the byte order mark whole, as the parser
/// requires), against the reference; then with a small event limit, which must stop it.
pub fn sse_parser(data: &[u8]) {
    let Some((&knob, data)) = data.split_first() else {
        return;
    };
    let head = data.len().min(3);
    let mut cuts = vec![&data[..head]];
    cuts.extend(chunks(&data[head..], knob));
    let whole = sse_run(data, &[data], usize::MAX).expect("no limit");
    let pieces = sse_run(data, &cuts, usize::MAX).expect("no limit");
    assert_eq!(whole, pieces, "the SSE parser's result depends on how the input is cut");
    assert_eq!(
        whole,
        sse_reference(data),
        "the SSE parser disagrees with the reference"
    );

    // With a limit, no event larger than it comes out, and the error ends the stream.
    let max = 1 + usize::from(knob);
    if let Ok(small) = sse_run(data, &cuts, max) {
        for (_, d) in &small.events {
            assert!(d.len() <= max, "an event over the limit came out");
        }
    }
}

// --- WWW-Authenticate ------------------------------------------------------------------------

fn quoted(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// `WWW-Authenticate`: the raw bytes as a header value (no panic, and the result is the same
/// with another challenge in a header before it); then values taken from the input, quoted
/// into a Bearer challenge after a Basic one, must come back exactly.
pub fn www_authenticate(data: &[u8]) {
    if let Ok(v) = HeaderValue::from_bytes(data) {
        let mut h = HeaderMap::new();
        h.append(WWW_AUTHENTICATE, v.clone());
        let c = Challenge::from_headers(&h);
        let _ = (c.scopes(), c.is_insufficient_scope());
        if let Some(s) = &c.scope {
            assert_eq!(c.scopes(), split_scopes(s));
        }
        let mut h2 = HeaderMap::new();
        h2.append(WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"x\""));
        h2.append(WWW_AUTHENTICATE, v);
        if Challenge::from_headers(&h2) != c {
            // Only a Bearer challenge counts; the Basic one before it must change nothing.
            panic!("a Basic challenge in an earlier header changed the Bearer one");
        }
    }

    // Round trip: printable ASCII values, split at `|`.
    let text: String = data
        .iter()
        .map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { ' ' })
        .collect();
    let mut parts = text.splitn(4, '|');
    let (error, scope, rm, desc) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let header = format!(
        "Basic realm={}, Bearer error={}, scope={},resource_metadata={} , error_description={}",
        quoted(desc),
        quoted(error),
        quoted(scope),
        quoted(rm),
        quoted(desc)
    );
    let mut h = HeaderMap::new();
    h.append(
        WWW_AUTHENTICATE,
        HeaderValue::from_str(&header).expect("printable ASCII"),
    );
    let c = Challenge::from_headers(&h);
    let want = Challenge {
        resource_metadata: Some(rm.to_owned()),
        scope: Some(scope.to_owned()),
        error: Some(error.to_owned()),
        error_description: Some(desc.to_owned()),
    };
    assert_eq!(c, want, "a quoted challenge did not round-trip: {header}");
}

// --- JSON-RPC classification -----------------------------------------------------------------

/// The id serde_json's reading gives. A number is taken as read, not printed and read again:
/// serde_json's float reading does not round-trip a long mantissa (`444…888` with 130 digits).
fn id_of(v: &serde_json::Value) -> Option<Id> {
    match v {
        serde_json::Value::Number(n) => Some(Id::of_number(n)),
        serde_json::Value::String(s) => Some(Id::Str(s.as_str().into())),
        _ => None,
    }
}

/// JSON-RPC classification: a message keeps its exact bytes, its kind agrees with a plain
/// reading of the JSON, invalid ids are never echoed, and `one_line` keeps the value.
pub fn jsonrpc(data: &[u8]) {
    let raw = Bytes::copy_from_slice(data);
    let valid_json = serde_json::from_slice::<&RawValue>(data).is_ok();
    let value = serde_json::from_slice::<serde_json::Value>(data).ok();
    match message::parse(raw.clone()) {
        Err(Invalid::Parse(_)) => assert!(!valid_json, "valid JSON answered as a parse error"),
        Err(Invalid::Request { id, .. }) => {
            assert!(valid_json, "invalid JSON answered as an invalid request");
            if let Some(id) = id {
                assert!(Id::from_raw(&id).is_some(), "an invalid id would be echoed");
            }
        }
        Ok(Parsed::Single(m)) => {
            assert_eq!(m.raw, raw, "a message lost its exact bytes");
            if let Some(v) = &value {
                check_message(&m, v);
            }
        }
        Ok(Parsed::Batch { raw: whole, items }) => {
            assert_eq!(whole, raw);
            let Some(serde_json::Value::Array(elems)) = &value else {
                assert!(valid_json);
                return;
            };
            assert_eq!(elems.len(), items.len(), "a batch lost or gained elements");
            for (item, v) in items.iter().zip(elems) {
                match item {
                    Ok(m) => check_message(m, v),
                    Err(Invalid::Request { id: Some(id), .. }) => assert!(Id::from_raw(id).is_some()),
                    Err(_) => {}
                }
            }
        }
    }
    if valid_json {
        let flat = message::one_line(raw);
        assert!(
            !flat.contains(&b'\n') && !flat.contains(&b'\r'),
            "one_line left a line break"
        );
        let again = serde_json::from_slice::<serde_json::Value>(&flat).ok();
        if value.is_some() {
            assert_eq!(again, value, "one_line changed the value");
        }
    }
}

fn check_message(m: &message::Message, v: &serde_json::Value) {
    let obj = v.as_object().expect("a message is an object");
    assert_eq!(obj.get("jsonrpc").and_then(|j| j.as_str()), Some("2.0"));
    let id = obj.get("id").and_then(id_of);
    let method = obj.get("method").and_then(|m| m.as_str());
    match &m.kind {
        Kind::Request { id: i, method: me } => {
            assert_eq!(Some(i), id.as_ref(), "a request's id");
            assert_eq!(Some(&**me), method, "a request's method");
        }
        Kind::Notification { method: me } => {
            assert!(!obj.contains_key("id"), "a notification with an id");
            assert_eq!(Some(&**me), method);
        }
        Kind::Response { id: i } => {
            assert!(method.is_none());
            assert!(obj.contains_key("result") != obj.contains_key("error"));
            match id {
                Some(id) => assert_eq!(i, &id),
                None => assert_eq!(obj.get("id"), Some(&serde_json::Value::Null)),
            }
        }
        Kind::Batch { .. } => panic!("the parser built a batch kind"),
    }
    if let Some(raw_id) = &m.raw_id {
        let parsed: serde_json::Value = serde_json::from_str(raw_id.get()).expect("a raw id is JSON");
        assert_eq!(Some(&parsed), obj.get("id"), "raw_id is not the message's id");
    }
}

// --- OAuth metadata documents ----------------------------------------------------------------

/// Protected-resource and authorization-server metadata: the documents parse or not without
/// panicking; the resource check agrees with a segment-by-segment reading; endpoint addresses
/// on loopback always count as private; issuers reach the terminal without controls.
/// An input may start with a server URL on its own line (else a default one is used).
pub fn oauth_metadata(data: &[u8]) {
    let (server, doc) = match data.iter().position(|&b| b == b'\n') {
        Some(p) => match std::str::from_utf8(&data[..p]).ok().and_then(|s| Url::parse(s).ok()) {
            Some(u) => (u, &data[p + 1..]),
            None => (default_server(), data),
        },
        None => (default_server(), data),
    };
    if let Ok(m) = serde_json::from_slice::<ResourceMetadata>(doc) {
        let got = resource_matches(&m.resource, &server);
        assert_eq!(
            got,
            resource_reference(&m.resource, &server),
            "resource check: {:?}",
            m.resource
        );
        for a in &m.authorization_servers {
            endpoint_checks(a);
            let shown = crate::util::for_terminal(a, 200);
            assert!(
                !shown.chars().any(char::is_control),
                "a control character reaches the terminal"
            );
            assert!(shown.chars().count() <= 201);
        }
    }
    if let Ok(m) = serde_json::from_slice::<ServerMetadata>(doc) {
        let _ = is_entra(&m.issuer);
        endpoint_checks(&m.issuer);
        for e in [
            &m.authorization_endpoint,
            &m.token_endpoint,
            &m.registration_endpoint,
            &m.device_authorization_endpoint,
            &m.revocation_endpoint,
        ]
        .into_iter()
        .flatten()
        {
            endpoint_checks(e);
        }
        let shown = crate::util::terminal_lines(&m.issuer);
        assert!(!shown.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    }
}

fn default_server() -> Url {
    Url::parse("https://mcp.example.com/tenant/mcp").expect("a URL")
}

/// The same origin, and the resource's path segments (trailing empty ones dropped) a prefix
/// of the server's.
fn resource_reference(resource: &str, server: &Url) -> bool {
    let Ok(r) = Url::parse(resource) else { return false };
    if r.origin() != server.origin() {
        return false;
    }
    let segs = |u: &Url| -> Vec<String> {
        let mut v: Vec<String> = u
            .path_segments()
            .map(|s| s.map(str::to_owned).collect())
            .unwrap_or_default();
        while v.last().is_some_and(String::is_empty) {
            v.pop();
        }
        v
    };
    let (rs, ss) = (segs(&r), segs(server));
    if r.cannot_be_a_base() || server.cannot_be_a_base() {
        return r.path().trim_end_matches('/') == server.path().trim_end_matches('/')
            || server
                .path()
                .starts_with(&format!("{}/", r.path().trim_end_matches('/')));
    }
    ss.starts_with(&rs)
}

fn endpoint_checks(text: &str) {
    let Ok(u) = Url::parse(text) else { return };
    let (loopback, private) = (crate::http::is_loopback(&u), crate::http::is_private_host(&u));
    assert!(!loopback || private, "a loopback endpoint not counted as private: {u}");
    let _ = crate::http::redact_url(&u);
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every input kept in `fuzz/corpus/<target>/` (and `fuzz/regressions/<target>/`, the
    /// inputs that once failed) passes its target's checks.
    fn replay(target: &str, run: fn(&[u8])) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut n = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for e in entries {
                let path = e.expect("a directory entry").path();
                let data = std::fs::read(&path).expect("a corpus file");
                run(&data);
                n += 1;
            }
        }
        assert!(n > 0, "no corpus for {target}");
    }

    #[test]
    fn the_fuzz_corpus_of_the_stdio_framer_passes() {
        replay("stdio_framer", super::stdio_framer);
    }

    #[test]
    fn the_fuzz_corpus_of_the_sse_parser_passes() {
        replay("sse_parser", super::sse_parser);
    }

    #[test]
    fn the_fuzz_corpus_of_www_authenticate_passes() {
        replay("www_authenticate", super::www_authenticate);
    }

    #[test]
    fn the_fuzz_corpus_of_jsonrpc_passes() {
        replay("jsonrpc", super::jsonrpc);
    }

    #[test]
    fn the_fuzz_corpus_of_oauth_metadata_passes() {
        replay("oauth_metadata", super::oauth_metadata);
    }
}
