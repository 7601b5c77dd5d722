//! JSON-RPC messages as the relay sees them: the exact bytes that arrived, plus the few facts
//! routing needs (kind, id, method, progress token). Bodies are never re-serialised.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON-RPC id, normalised so that the server's echo of an id matches what was sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    Int(i64),
    Str(Box<str>),
    /// Any other number (fractions, huge integers), by its value's shortest text (`Id::number`).
    Other(Box<str>),
}

/// One write per id (the derived hash writes the variant too): ids are hashed several
/// times for every message, and equal ids still hash alike.
impl std::hash::Hash for Id {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Id::Int(n) => state.write_i64(*n),
            Id::Str(s) | Id::Other(s) => state.write(s.as_bytes()),
        }
    }
}

impl Id {
    /// The id of a raw JSON value, or `None` when it is not a string or a number.
    pub fn from_raw(raw: &RawValue) -> Option<Id> {
        let text = raw.get();
        match text.as_bytes().first()? {
            b'"' => serde_json::from_str::<String>(text).ok().map(|s| Id::Str(s.into())),
            b'-' | b'0'..=b'9' => Some(match text.parse::<i64>() {
                Ok(n) => Id::Int(n),
                Err(_) => Id::number(text),
            }),
            _ => None,
        }
    }

    /// A number id that is not a plain i64 (a fraction, an exponent, beyond i64), by its value
    /// as serde_json reads it, so that every spelling of one value is one id (a server that
    /// reads ids as numbers echoes `1.50` as `1.5`, `1.0` as `1`); beyond f64, by its text.
    fn number(text: &str) -> Id {
        match serde_json::from_str::<serde_json::Number>(text) {
            Ok(n) => Id::of_number(&n),
            Err(_) => Id::Other(text.into()),
        }
    }

    /// The id of a number as serde_json read it (see `Id::number`).
    pub(crate) fn of_number(n: &serde_json::Number) -> Id {
        const I64_END: f64 = 9_223_372_036_854_775_808.0; // 2^63
        if let Some(i) = n.as_i64() {
            return Id::Int(i);
        }
        match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && (-I64_END..I64_END).contains(&f) => Id::Int(f as i64),
            _ => Id::Other(n.to_string().into()),
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Int(n) => write!(f, "{n}"),
            Id::Str(s) => write!(f, "{s:?}"),
            Id::Other(s) => f.write_str(s),
        }
    }
}

/// What a message is, for routing.
#[derive(Clone, Debug)]
pub enum Kind {
    Request {
        id: Id,
        method: Box<str>,
    },
    Notification {
        method: Box<str>,
    },
    Response {
        id: Id,
    },
    /// Several messages sent to the server as one JSON-RPC batch (MCP 2025-03-26); built by
    /// the relay, never by the parser. `ids` are the requests in it.
    Batch {
        ids: Vec<Id>,
    },
}

/// One JSON-RPC message: its exact bytes and what routing needs to know about it.
#[derive(Clone, Debug)]
pub struct Message {
    pub raw: Bytes,
    pub kind: Kind,
    /// The id exactly as it was written (used to answer with the same bytes).
    pub raw_id: Option<Box<RawValue>>,
    /// `params._meta.progressToken` of a request, `params.progressToken` of a progress notification.
    pub progress_token: Option<Id>,
    /// `params.requestId` of `notifications/cancelled`.
    pub cancel_target: Option<Id>,
}

impl Message {
    pub fn request_id(&self) -> Option<&Id> {
        match &self.kind {
            Kind::Request { id, .. } => Some(id),
            _ => None,
        }
    }
    pub fn is_request(&self, name: &str) -> bool {
        matches!(&self.kind, Kind::Request { method, .. } if &**method == name)
    }
    pub fn is_notification(&self, name: &str) -> bool {
        matches!(&self.kind, Kind::Notification { method } if &**method == name)
    }
}

/// Why a line could not be accepted as a JSON-RPC message.
#[derive(Debug)]
pub enum Invalid {
    /// Not UTF-8 or not JSON: answered with -32700 and `id: null`.
    Parse(String),
    /// JSON, but not a JSON-RPC message: answered with -32600 and the id when there is one.
    Request { id: Option<Box<RawValue>>, reason: String },
}

/// The reason alone, for logs.
impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Parse(reason) | Invalid::Request { reason, .. } => f.write_str(reason),
        }
    }
}

/// A parsed line: one message or a batch of them.
#[derive(Debug)]
pub enum Parsed {
    Single(Message),
    /// The elements of a JSON array, each parsed on its own; `raw` is the whole array.
    Batch {
        raw: Bytes,
        items: Vec<Result<Message, Invalid>>,
    },
}

/// Parses one line (without its terminator) from the client or one body from the server.
pub fn parse(raw: Bytes) -> Result<Parsed, Invalid> {
    let text = std::str::from_utf8(&raw).map_err(|_| Invalid::Parse("the message is not valid UTF-8".into()))?;
    let first = text.trim_start().as_bytes().first().copied();
    if first == Some(b'[') {
        let elems: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| Invalid::Parse(json_error(&e)))?;
        if elems.is_empty() {
            return Err(Invalid::Request {
                id: None,
                reason: "an empty batch".into(),
            });
        }
        let items = elems
            .into_iter()
            .map(|e| parse_object(raw.slice_ref(e.get().as_bytes())))
            .collect();
        return Ok(Parsed::Batch { raw, items });
    }
    // -32700 only when the text is not JSON: when reading the envelope fails, a plain syntax
    // check decides. It also catches a syntax error after a type error (`"a": 1`), and it lets
    // a number beyond f64, which the envelope's reader refuses, be JSON of the wrong shape.
    let env: Envelope = match serde_json::from_str(text) {
        Ok(env) => env,
        Err(e) => {
            if let Err(syntax) = serde_json::from_str::<IgnoredAny>(text) {
                return Err(Invalid::Parse(json_error(&syntax)));
            }
            return Err(Invalid::Request {
                id: None,
                reason: json_error(&e),
            });
        }
    };
    if first != Some(b'{') {
        return Err(Invalid::Request {
            id: None,
            reason: "a JSON-RPC message must be an object".into(),
        });
    }
    classify(raw.clone(), env).map(Parsed::Single)
}

fn parse_object(raw: Bytes) -> Result<Message, Invalid> {
    if raw.first() != Some(&b'{') {
        return Err(Invalid::Request {
            id: None,
            reason: "a batch element must be an object".into(),
        });
    }
    // Already known to be valid JSON.
    let text = std::str::from_utf8(&raw).expect("validated as UTF-8 by the caller");
    let env: Envelope = serde_json::from_str(text).map_err(|e| Invalid::Request {
        id: None,
        reason: json_error(&e),
    })?;
    classify(raw.clone(), env)
}

fn classify(raw: Bytes, env: Envelope<'_>) -> Result<Message, Invalid> {
    let raw_id = env.id.map(|r| r.to_owned());
    // Only an id that is one (a string or a number) is echoed; anything else (an object, an
    // array, `null`) is answered with `id: null`, never sent back whole.
    let invalid = |reason: &str| Invalid::Request {
        id: raw_id.clone().filter(|r| Id::from_raw(r).is_some()),
        reason: reason.into(),
    };
    if env.jsonrpc.as_ref().map(|j| &*j.0) != Some("2.0") {
        return Err(invalid("`jsonrpc` must be \"2.0\""));
    }
    let id = match env.id {
        None => None,
        Some(r) if r.get() == "null" => None,
        Some(r) => Some(Id::from_raw(r).ok_or_else(|| invalid("`id` must be a string or a number"))?),
    };
    let params = env.params.unwrap_or_default();
    let kind = match (env.method, id) {
        (Some(method), Some(id)) => {
            if env.result.is_some() || env.error.is_some() {
                return Err(invalid("a request cannot carry `result` or `error`"));
            }
            Kind::Request {
                id,
                method: method.0.into(),
            }
        }
        (Some(method), None) => {
            if env.id.is_some() {
                return Err(invalid("`id` must not be null"));
            }
            Kind::Notification {
                method: method.0.into(),
            }
        }
        (None, id) => {
            if env.result.is_some() == env.error.is_some() {
                return Err(invalid(
                    "a message needs a `method`, or exactly one of `result` and `error`",
                ));
            }
            match id {
                Some(id) => Kind::Response { id },
                // An error response with `id: null` (the peer could not read the id).
                None if env.error.is_some() && env.id.is_some() => Kind::Response {
                    id: Id::Other("null".into()),
                },
                None => return Err(invalid("a response needs an `id`")),
            }
        }
    };
    let progress_token = match &kind {
        Kind::Request { .. } => params.meta_progress_token,
        Kind::Notification { method } if &**method == "notifications/progress" => params.progress_token,
        _ => None,
    };
    let cancel_target = match &kind {
        Kind::Notification { method } if &**method == "notifications/cancelled" => params.request_id,
        _ => None,
    };
    Ok(Message {
        raw,
        kind,
        raw_id,
        progress_token,
        cancel_target,
    })
}

fn json_error(e: &serde_json::Error) -> String {
    // serde_json's messages name a position, never content: safe to show.
    format!("invalid JSON: {e}")
}

#[derive(Deserialize)]
struct Envelope<'a> {
    // `Key`, not `Cow<str>`: serde's `borrow` does not reach into an `Option`, so a
    // `Cow` here would be an allocated `String` for every message.
    #[serde(default, borrow)]
    jsonrpc: Option<Key<'a>>,
    #[serde(default, borrow, deserialize_with = "present_raw")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Key<'a>>,
    #[serde(default)]
    params: Option<Params>,
    #[serde(default, deserialize_with = "present")]
    result: Option<()>,
    #[serde(default, deserialize_with = "present")]
    error: Option<()>,
}

/// `Some` whenever the key is there, even when its value is `null`.
fn present_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<()>, D::Error> {
    IgnoredAny::deserialize(d).map(|_| Some(()))
}

/// The only parts of `params` the relay looks at, read in the same pass as the envelope.
#[derive(Default)]
struct Params {
    meta_progress_token: Option<Id>,
    progress_token: Option<Id>,
    request_id: Option<Id>,
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ParamsVisitor)
    }
}

struct ParamsVisitor;

impl<'de> Visitor<'de> for ParamsVisitor {
    type Value = Params;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("params")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params, A::Error> {
        let mut p = Params::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "_meta" => p.meta_progress_token = map.next_value::<MetaToken>()?.0,
                "progressToken" => p.progress_token = map.next_value::<AnyId>()?.0,
                "requestId" => p.request_id = map.next_value::<AnyId>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(p)
    }
    // Positional or odd params: nothing the relay needs.
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Params, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Params::default())
    }
    fn visit_unit<E>(self) -> Result<Params, E> {
        Ok(Params::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Params, E> {
        Ok(Params::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Params, E> {
        Ok(Params::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Params, E> {
        Ok(Params::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Params, E> {
        Ok(Params::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Params, E> {
        Ok(Params::default())
    }
}

/// An object's key, borrowed from the message unless it has escapes (serde's own `Cow<str>`
/// always allocates).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl std::borrow::Borrow<str> for Key<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// An id-like value (string or number); anything else reads as `None`.
struct AnyId(Option<Id>);

impl<'de> Deserialize<'de> for AnyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&RawValue>::deserialize(d)?;
        Ok(AnyId(Id::from_raw(raw)))
    }
}

/// `_meta.progressToken`, when `_meta` is an object.
struct MetaToken(Option<Id>);

impl<'de> Deserialize<'de> for MetaToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = d.deserialize_any(ParamsVisitor)?;
        Ok(MetaToken(p.progress_token))
    }
}

/// Removes whitespace outside strings so that a pretty-printed message fits on one line.
/// Everything else (key order, number spelling, escapes) stays byte for byte.
pub fn one_line(raw: Bytes) -> Bytes {
    if memchr::memchr2(b'\n', b'\r', &raw).is_none() {
        return raw;
    }
    let mut out = Vec::with_capacity(raw.len());
    let (mut in_str, mut esc) = (false, false);
    for &b in raw.iter() {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'"' => {
                    in_str = true;
                    out.push(b);
                }
                _ => out.push(b),
            }
        }
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Message {
        match parse(Bytes::from(s.to_owned())) {
            Ok(Parsed::Single(m)) => m,
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn classifies_requests_notifications_responses() {
        let m = one(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":"p1"}}}"#,
        );
        assert!(matches!(&m.kind, Kind::Request { id: Id::Int(7), method } if &**method == "tools/call"));
        assert_eq!(m.progress_token, Some(Id::Str("p1".into())));
        assert_eq!(m.raw_id.as_ref().unwrap().get(), "7");

        let m = one(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a","reason":"x"}}"#);
        assert!(m.is_notification("notifications/cancelled"));
        assert_eq!(m.cancel_target, Some(Id::Str("a".into())));

        let m = one(r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":3,"progress":1}}"#);
        assert_eq!(m.progress_token, Some(Id::Int(3)));

        let m = one(r#"{"jsonrpc":"2.0","id":"s-1","result":{}}"#);
        assert!(matches!(&m.kind, Kind::Response { id: Id::Str(s) } if &**s == "s-1"));

        let m = one(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad"}}"#);
        assert!(matches!(m.kind, Kind::Response { .. }));
    }

    #[test]
    fn keeps_bytes_and_unknown_fields() {
        let text = r#"{"jsonrpc":"2.0","id":1,"method":"x/unknown","params":{"a":[1,2,{"b":null}],"_meta":{"vendor/key":1.50}},"extra":true}"#;
        let m = one(text);
        assert_eq!(&m.raw[..], text.as_bytes());
    }

    #[test]
    fn rejects_what_is_not_json_rpc() {
        assert!(matches!(parse(Bytes::from_static(b"{nope")), Err(Invalid::Parse(_))));
        assert!(matches!(parse(Bytes::from_static(b"\xff\xfe")), Err(Invalid::Parse(_))));
        assert!(matches!(parse(Bytes::from_static(b"[]")), Err(Invalid::Request { .. })));
        assert!(matches!(parse(Bytes::from_static(b"42")), Err(Invalid::Request { .. })));
        match parse(Bytes::from_static(br#"{"jsonrpc":"2.0","id":5}"#)) {
            Err(Invalid::Request { id: Some(id), .. }) => assert_eq!(id.get(), "5"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(Bytes::from_static(br#"{"jsonrpc":"1.0","id":5,"method":"m"}"#)),
            Err(Invalid::Request { .. })
        ));
        assert!(matches!(
            parse(Bytes::from_static(br#"{"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#)),
            Err(Invalid::Request { .. })
        ));
    }

    /// Found by the `jsonrpc` fuzz target (fuzz/regressions/jsonrpc/number-beyond-f64): JSON
    /// whose only fault is a number beyond what serde_json reads (RFC 8259 §9 lets a reader limit
    /// them) is still JSON, so it is -32600 like any other wrong shape, never -32700.
    #[test]
    fn a_number_beyond_f64_is_an_invalid_request_not_a_parse_error() {
        for text in ["2E0222222222222222222222", r#"{"jsonrpc":1e999,"id":1,"method":"m"}"#] {
            assert!(
                matches!(parse(Bytes::from(text)), Err(Invalid::Request { .. })),
                "{text}"
            );
        }
        // A real syntax error after a number beyond range is still one.
        assert!(matches!(
            parse(Bytes::from_static(b"{\"jsonrpc\":1e999,")),
            Err(Invalid::Parse(_))
        ));
    }

    #[test]
    fn batches_keep_element_bytes() {
        let text = r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","method":"n"}]"#;
        match parse(Bytes::from(text)).unwrap() {
            Parsed::Batch { items, .. } => {
                assert_eq!(items.len(), 3);
                assert_eq!(
                    &items[0].as_ref().unwrap().raw[..],
                    br#"{"jsonrpc":"2.0","id":1,"method":"a"}"#
                );
                assert!(items[1].is_err());
                assert!(items[2].as_ref().unwrap().is_notification("n"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ids_match_across_spellings() {
        let a = Id::from_raw(&RawValue::from_string("\"x\\u0041\"".into()).unwrap());
        assert_eq!(a, Some(Id::Str("xA".into())));
        let b = Id::from_raw(&RawValue::from_string("18446744073709551615".into()).unwrap());
        assert!(matches!(b, Some(Id::Other(_))));
    }

    /// Found by the `jsonrpc` fuzz target (fuzz/regressions/jsonrpc/fraction-id-spelling): a
    /// server that reads ids as numbers echoes `444.444444444440` as `444.44444444444` and
    /// `1.0` as `1`; the answer must still reach the request it answers, not time out.
    #[test]
    fn number_ids_match_by_value_whatever_their_spelling() {
        let id = |s: &str| Id::from_raw(&RawValue::from_string(s.into()).unwrap()).unwrap();
        assert_eq!(id("444.444444444440"), id("444.44444444444"));
        assert_eq!(id("1.50"), id("15e-1"));
        assert_eq!(id("1.0"), Id::Int(1));
        assert_eq!(id("-2E2"), Id::Int(-200));
        assert_ne!(id("1.5"), id("1.25"));
        // Beyond i64, exactly as serde_json reads them; beyond f64, by their text.
        assert_ne!(id("18446744073709551615"), id("18446744073709551614"));
        assert_eq!(id("1e999"), Id::Other("1e999".into()));
    }

    #[test]
    fn one_line_strips_only_structural_whitespace() {
        let pretty = "{\n  \"a\": \"x\\n y\",\r\n  \"b\": [1, 2]\n}";
        assert_eq!(&one_line(Bytes::from(pretty))[..], br#"{"a":"x\n y","b":[1,2]}"#);
        let flat = Bytes::from_static(br#"{"a": 1}"#);
        assert_eq!(one_line(flat.clone()), flat);
    }
}
