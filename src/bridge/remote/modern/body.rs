//! A host request as the server gets it, written from the host's own bytes: the members of
//! its `params` verbatim, the `_meta` envelope, and a retry's `inputResponses` and
//! `requestState`. No tree is built for the request and nothing the host wrote is
//! serialised again.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::bridge::message::Key;
use crate::bridge::remote::era::{self, Envelope};

/// An object's members, borrowed from the message. Sorted by key, and the last of a key
/// written twice, as a `serde_json::Map` reads them.
type Members<'a> = BTreeMap<Key<'a>, &'a RawValue>;

/// The `_meta` members the envelope writes; the host's own are dropped for them.
const OURS: [&str; 4] = [
    era::META_VERSION,
    era::META_CAPABILITIES,
    era::META_CLIENT_INFO,
    era::META_LOG_LEVEL,
];

/// The parts of a host request that the translation reads or writes again.
pub(super) struct HostRequest<'a> {
    /// `params`, when it is an object (anything else is sent as `{}`).
    params: Members<'a>,
    /// `params._meta`, when it is an object (anything else is replaced by the envelope).
    meta: Option<Members<'a>>,
}

impl<'a> HostRequest<'a> {
    pub(super) fn parse(raw: &'a [u8]) -> Result<HostRequest<'a>, serde_json::Error> {
        #[derive(serde::Deserialize)]
        struct Request<'a> {
            #[serde(borrow, default)]
            params: Option<&'a RawValue>,
        }
        let request: Request<'a> = serde_json::from_slice(raw)?;
        let params: Members<'a> = request
            .params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let meta = params.get("_meta").and_then(|m| serde_json::from_str(m.get()).ok());
        Ok(HostRequest { params, meta })
    }

    /// The revision a 2026-07-28 host names in its `_meta` (a handshake-era host names none).
    pub(super) fn host_version(&self) -> Option<String> {
        let v = self.meta.as_ref()?.get(era::META_VERSION)?;
        serde_json::from_str(v.get()).ok()
    }

    /// A member of `params` that is a string (`name`, `uri`), borrowed unless it has escapes.
    pub(super) fn text(&self, key: &str) -> Option<Cow<'a, str>> {
        let raw: &'a RawValue = self.params.get(key)?;
        serde_json::from_str::<Key<'a>>(raw.get()).ok().map(|k| k.0)
    }

    /// A member of `params` as a tree (the arguments of a call that mirrors some into headers).
    pub(super) fn value(&self, key: &str) -> Option<Value> {
        serde_json::from_str(self.params.get(key)?.get()).ok()
    }

    /// The body of one round of the request, with our `id`. `envelope` is the `_meta`
    /// members a handshake-era host's requests get (see [`envelope_members`]); a 2026-07-28
    /// host's `_meta` is its own and goes as it wrote it.
    pub(super) fn body(
        &self,
        id: u64,
        method: &str,
        envelope: Option<&str>,
        inputs: Option<&Value>,
        request_state: Option<&Value>,
    ) -> Vec<u8> {
        let size: usize = self.params.values().map(|v| v.get().len() + 16).sum();
        let mut out = Vec::with_capacity(size + envelope.map_or(0, str::len) + method.len() + 64);
        write!(out, r#"{{"jsonrpc":"2.0","id":{id},"method":"#).expect("writing to a Vec cannot fail");
        string(&mut out, method);
        out.extend_from_slice(br#","params":{"#);
        let replaced = |k: &str| match k {
            "_meta" => envelope.is_some(),
            "inputResponses" => inputs.is_some(),
            "requestState" => request_state.is_some(),
            _ => false,
        };
        let mut first = true;
        for (k, v) in self.params.iter().filter(|(k, _)| !replaced(&k.0)) {
            member(&mut out, &mut first, &k.0, v.get().as_bytes());
        }
        if let Some(env) = envelope {
            name(&mut out, &mut first, "_meta");
            out.push(b'{');
            let mut inner = true;
            for (k, v) in self.meta.iter().flatten().filter(|(k, _)| !OURS.contains(&&*k.0)) {
                member(&mut out, &mut inner, &k.0, v.get().as_bytes());
            }
            if !inner {
                out.push(b',');
            }
            out.extend_from_slice(env.as_bytes());
            out.push(b'}');
        }
        for (key, value) in [("inputResponses", inputs), ("requestState", request_state)] {
            if let Some(v) = value {
                name(&mut out, &mut first, key);
                serde_json::to_writer(&mut out, v).expect("serialising JSON cannot fail");
            }
        }
        out.extend_from_slice(b"}}");
        out
    }
}

/// The envelope's members of `_meta` as JSON text (without braces): written once for every
/// change of what they say, copied into each request.
pub(super) fn envelope_members(env: &Envelope<'_>) -> String {
    let mut out = Vec::with_capacity(256);
    member(&mut out, &mut true, era::META_VERSION, br#""2026-07-28""#);
    name(&mut out, &mut false, era::META_CAPABILITIES);
    serde_json::to_writer(&mut out, env.capabilities).expect("serialising JSON cannot fail");
    name(&mut out, &mut false, era::META_CLIENT_INFO);
    serde_json::to_writer(&mut out, env.client_info).expect("serialising JSON cannot fail");
    if let Some(level) = env.log_level {
        name(&mut out, &mut false, era::META_LOG_LEVEL);
        string(&mut out, level);
    }
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

fn string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("serialising JSON cannot fail");
}

/// `"key":`, after a comma unless it is the object's first member.
fn name(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    string(out, key);
    out.push(b':');
}

fn member(out: &mut Vec<u8>, first: &mut bool, key: &str, raw: &[u8]) {
    name(out, first, key);
    out.extend_from_slice(raw);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(level: Option<&str>) -> String {
        let caps = json!({"elicitation": {}});
        let info = json!({"name": "host", "version": "1"});
        envelope_members(&Envelope {
            capabilities: &caps,
            client_info: &info,
            log_level: level,
        })
    }

    fn body(raw: &str, envelope: Option<&str>, inputs: Option<&Value>, state: Option<&Value>) -> Value {
        let req = HostRequest::parse(raw.as_bytes()).unwrap();
        let out = req.body(7, "tools/call", envelope, inputs, state);
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
    }

    #[test]
    fn a_handshake_era_request_gets_the_envelope_and_keeps_the_rest_as_written() {
        let raw = r#"{"jsonrpc":"2.0","id":"h1","method":"tools/call","params":{"name":"echo","arguments":{"text":"a\u00e9\"b","n":1.50},"_meta":{"progressToken":"p","io.modelcontextprotocol/logLevel":"debug"},"weird\"key":[1]}}"#;
        let env = envelope(Some("info"));
        let req = HostRequest::parse(raw.as_bytes()).unwrap();
        let out = String::from_utf8(req.body(7, "tools/call", Some(&env), None, None)).unwrap();
        // The host's values go byte for byte (the escapes and the number's spelling included).
        assert!(out.contains(r#""arguments":{"text":"a\u00e9\"b","n":1.50}"#), "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["method"], "tools/call");
        assert_eq!(v["params"]["name"], "echo");
        assert_eq!(v["params"]["weird\"key"], json!([1]));
        let meta = &v["params"]["_meta"];
        assert_eq!(meta["progressToken"], "p");
        assert_eq!(meta[era::META_VERSION], era::MODERN);
        assert_eq!(
            meta[era::META_LOG_LEVEL],
            "info",
            "the envelope's level, not the host's: {out}"
        );
        assert_eq!(meta[era::META_CAPABILITIES], json!({"elicitation": {}}));
        assert_eq!(meta[era::META_CLIENT_INFO]["name"], "host");
        assert_eq!(req.host_version(), None);
        assert_eq!(req.text("name").as_deref(), Some("echo"));
        assert_eq!(req.value("arguments").unwrap()["n"], 1.5);
    }

    #[test]
    fn odd_params_and_meta_are_replaced_and_a_retry_carries_its_answers() {
        let env = envelope(None);
        for raw in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1,2]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":"x"}}"#,
        ] {
            let v = body(raw, Some(&env), None, None);
            assert_eq!(v["params"]["_meta"][era::META_VERSION], era::MODERN, "{raw}: {v}");
            assert!(v["params"]["_meta"].get(era::META_LOG_LEVEL).is_none(), "{v}");
            assert_eq!(v["params"].as_object().unwrap().len(), 1, "{raw}: {v}");
        }
        let raw = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","inputResponses":{"old":1},"requestState":"old"}}"#;
        let inputs = json!({"k": {"action": "accept"}});
        let state = json!("s2");
        let v = body(raw, Some(&env), Some(&inputs), Some(&state));
        assert_eq!(v["params"]["inputResponses"], inputs);
        assert_eq!(v["params"]["requestState"], "s2");
        assert_eq!(v["params"]["name"], "a");
    }

    #[test]
    fn a_2026_host_keeps_its_own_meta() {
        let raw = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"modern"}}}}"#;
        let req = HostRequest::parse(raw.as_bytes()).unwrap();
        assert_eq!(req.host_version().as_deref(), Some(era::MODERN));
        let v = body(raw, None, None, None);
        assert_eq!(v["params"]["_meta"][era::META_CLIENT_INFO]["name"], "modern");
        assert!(v["params"]["_meta"].get(era::META_CAPABILITIES).is_none(), "{v}");
    }

    #[test]
    fn a_request_that_is_not_json_is_refused() {
        assert!(HostRequest::parse(b"{\"params\":").is_err());
    }
}
