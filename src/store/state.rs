//! The two versioned files: `state.json` (no secrets) and `secrets.json` (file back end only).
//!
//! ```json
//! {"version": 1,
//!  "entries": [{"key": {"resource": "…", "issuer": "…", "client_id": "…", "profile": "…"},
//!               "meta": {…EntryMeta…},
//!               "secrets": {"backend": "keyring", "account": "login-<id>-<generation>", "chunks": 1}}],
//!  "registrations": [{"profile": "…", "registration": {…Registration without client_secret…},
//!                     "secrets": {…}}]}
//! ```
//!
//! Compatibility rules:
//! * Fields this version does not know are kept, at every level (top, record, key, meta,
//!   registration, secret reference), and written back unchanged, so an older or a newer
//!   mcp-valet sharing the directory never loses what the other wrote.
//! * A record this version cannot parse at all (say, a back end it does not know) is kept as it
//!   is and skipped when reading.
//! * A newer mcp-valet adds fields without changing `version`; it raises `version` only for a
//!   change that older versions would misread. We read a file with a higher version as best we
//!   can but never write it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{Backend, EntryKey, EntryMeta, IssuerBinding, Registration};

/// The format version this code reads and writes.
pub(crate) const VERSION: u64 = 1;

/// Field names that hold secrets. They are removed from the free-form `extra` maps before
/// anything is written to `state.json`, whoever put them there.
const SECRET_FIELDS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "password",
    "token",
];

pub(crate) fn scrub_extra(extra: &mut Map<String, Value>) {
    extra.retain(|k, _| !SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()));
}

/// What a JSON parse error says, without the offending text (which could be a secret).
pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "unexpected structure",
        serde_json::error::Category::Eof => "truncated",
    };
    if e.line() > 0 {
        format!("{what} at line {} column {}", e.line(), e.column())
    } else {
        what.to_owned()
    }
}

/// A versioned JSON document.
pub(crate) trait Doc: Serialize + DeserializeOwned + Clone {
    fn empty() -> Self;
    fn version(&self) -> u64;
    fn set_version(&mut self, v: u64);

    fn empty_with_version(v: u64) -> Self {
        let mut d = Self::empty();
        d.set_version(v);
        d
    }

    /// Parses the file. `Err` (with a reason that quotes no content) means it is damaged.
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| describe_json_error(&e))?;
        if !v.is_object() {
            return Err("not a JSON object".into());
        }
        // A newer version may have changed the structure: read what we can, never call it
        // damaged (which would move it aside), and never write it (the caller checks).
        if let Some(newer) = v.get("version").and_then(Value::as_u64).filter(|n| *n > VERSION) {
            return Ok(serde_json::from_value(v).unwrap_or_else(|_| Self::empty_with_version(newer)));
        }
        let doc: Self = serde_json::from_value(v).map_err(|e| describe_json_error(&e))?;
        if doc.version() == 0 {
            return Err("format version 0".into());
        }
        Ok(doc)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a store document serializes");
        v.push(b'\n');
        v
    }
}

/// Where a login's (or a registration's) secrets are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SecretRef {
    pub backend: Backend,
    /// The keyring account (or `secrets.json` key) of the first item.
    pub account: String,
    /// How many keyring items the secrets were split into (Windows limits one to 2560 bytes).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub chunks: u32,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// An `EntryKey` that keeps the fields a newer version may add to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StoredKey {
    pub resource: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl StoredKey {
    pub(crate) fn from_key(k: &EntryKey) -> StoredKey {
        StoredKey {
            resource: k.resource.clone(),
            issuer: k.issuer.clone(),
            client_id: k.client_id.clone(),
            profile: k.profile.clone(),
            tenant: k.tenant.clone(),
            extra: Map::new(),
        }
    }

    pub(crate) fn to_key(&self) -> EntryKey {
        EntryKey {
            resource: self.resource.clone(),
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            profile: self.profile.clone(),
            tenant: self.tenant.clone(),
        }
    }

    pub(crate) fn is(&self, k: &EntryKey) -> bool {
        self.resource == k.resource
            && self.issuer == k.issuer
            && self.client_id == k.client_id
            && self.profile == k.profile
            && self.tenant == k.tenant
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct EntryRecord {
    pub key: StoredKey,
    pub meta: EntryMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretRef>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EntryRecord {
    /// The meta data as callers see it: `backend` says where the secrets really are.
    pub(crate) fn public_meta(&self) -> EntryMeta {
        let mut m = self.meta.clone();
        if let Some(r) = &self.secrets {
            m.backend = Some(r.backend);
        }
        m
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RegistrationRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    pub registration: Registration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<SecretRef>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RegistrationRecord {
    fn is(&self, issuer: &str, profile: Option<&str>) -> bool {
        self.registration.issuer == issuer && self.profile.as_deref() == profile
    }
}

/// `state.json`. Records are kept as JSON values and parsed when used, so that one this version
/// cannot parse survives untouched.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct StateFile {
    pub version: u64,
    #[serde(default)]
    pub entries: Vec<Value>,
    #[serde(default)]
    pub registrations: Vec<Value>,
    /// The issuers pre-registered clients are bound to (`IssuerBinding`); written only once
    /// there is one, so that older files read and write back unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuers: Vec<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Doc for StateFile {
    fn empty() -> StateFile {
        StateFile {
            version: VERSION,
            entries: Vec::new(),
            registrations: Vec::new(),
            issuers: Vec::new(),
            extra: Map::new(),
        }
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
}

fn parse<T: DeserializeOwned>(v: &Value) -> Option<T> {
    match serde_json::from_value(v.clone()) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::debug!(
                "skipping a stored record this version cannot read ({})",
                describe_json_error(&e)
            );
            None
        }
    }
}

fn to_value<T: Serialize>(r: &T) -> Value {
    serde_json::to_value(r).expect("a store record serializes")
}

impl StateFile {
    pub(crate) fn entry_records(&self) -> impl Iterator<Item = EntryRecord> + '_ {
        self.entries.iter().filter_map(parse)
    }

    pub(crate) fn find_entry(&self, key: &EntryKey) -> Option<EntryRecord> {
        self.entry_records().find(|r| r.key.is(key))
    }

    /// Puts `rec` in place of the record with the same key (keeping the old record's unknown
    /// fields and merging its `meta.extra` under the new one), or appends it. Returns the old
    /// record.
    pub(crate) fn put_entry(&mut self, mut rec: EntryRecord) -> Option<EntryRecord> {
        scrub_extra(&mut rec.meta.extra);
        for slot in self.entries.iter_mut() {
            let Some(old) = parse::<EntryRecord>(slot) else {
                continue;
            };
            if !old.key.is(&rec.key.to_key()) {
                continue;
            }
            let mut merged = old.meta.extra.clone();
            merged.extend(std::mem::take(&mut rec.meta.extra));
            scrub_extra(&mut merged);
            rec.meta.extra = merged;
            rec.key.extra = old.key.extra.clone();
            rec.extra = old.extra.clone();
            *slot = to_value(&rec);
            return Some(old);
        }
        self.entries.push(to_value(&rec));
        None
    }

    /// Removes every record with this key; returns them.
    pub(crate) fn remove_entry(&mut self, key: &EntryKey) -> Vec<EntryRecord> {
        let mut removed = Vec::new();
        self.entries.retain(|v| match parse::<EntryRecord>(v) {
            Some(r) if r.key.is(key) => {
                removed.push(r);
                false
            }
            _ => true,
        });
        removed
    }

    /// Every item name a record points at, including records this version cannot parse.
    pub(crate) fn referenced_accounts(&self) -> std::collections::HashSet<&str> {
        self.entries
            .iter()
            .chain(&self.registrations)
            .filter_map(|r| r.get("secrets")?.get("account")?.as_str())
            .collect()
    }

    pub(crate) fn registration_records(&self) -> impl Iterator<Item = RegistrationRecord> + '_ {
        self.registrations.iter().filter_map(parse)
    }

    pub(crate) fn find_registration(&self, issuer: &str, profile: Option<&str>) -> Option<RegistrationRecord> {
        self.registration_records().find(|r| r.is(issuer, profile))
    }

    pub(crate) fn put_registration(&mut self, mut rec: RegistrationRecord) -> Option<RegistrationRecord> {
        scrub_extra(&mut rec.registration.extra);
        rec.registration.client_secret = None;
        for slot in self.registrations.iter_mut() {
            let Some(old) = parse::<RegistrationRecord>(slot) else {
                continue;
            };
            if !old.is(&rec.registration.issuer, rec.profile.as_deref()) {
                continue;
            }
            if old.registration.client_id == rec.registration.client_id {
                let mut merged = old.registration.extra.clone();
                merged.extend(std::mem::take(&mut rec.registration.extra));
                scrub_extra(&mut merged);
                rec.registration.extra = merged;
            }
            rec.extra = old.extra.clone();
            *slot = to_value(&rec);
            return Some(old);
        }
        self.registrations.push(to_value(&rec));
        None
    }

    pub(crate) fn find_issuer(
        &self,
        resource: &str,
        profile: Option<&str>,
        tenant: Option<&str>,
    ) -> Option<IssuerBinding> {
        self.issuers
            .iter()
            .filter_map(parse::<IssuerBinding>)
            .find(|b| b.resource == resource && b.profile.as_deref() == profile && b.tenant.as_deref() == tenant)
    }

    /// Puts `b` in place of the binding for the same server, profile and tenant (keeping the
    /// old one's unknown fields), or appends it.
    pub(crate) fn put_issuer(&mut self, mut b: IssuerBinding) {
        for slot in self.issuers.iter_mut() {
            let Some(old) = parse::<IssuerBinding>(slot) else {
                continue;
            };
            if old.resource == b.resource && old.profile == b.profile && old.tenant == b.tenant {
                let mut merged = old.extra;
                merged.extend(std::mem::take(&mut b.extra));
                b.extra = merged;
                *slot = to_value(&b);
                return;
            }
        }
        self.issuers.push(to_value(&b));
    }

    pub(crate) fn remove_registration(&mut self, issuer: &str, profile: Option<&str>) -> Vec<RegistrationRecord> {
        let mut removed = Vec::new();
        self.registrations.retain(|v| match parse::<RegistrationRecord>(v) {
            Some(r) if r.is(issuer, profile) => {
                removed.push(r);
                false
            }
            _ => true,
        });
        removed
    }
}

/// `secrets.json` (file back end): item name → `{"written_at": <unix seconds>, "secrets":
/// {"access_token": "…", …}}`.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SecretsFile {
    pub version: u64,
    #[serde(default)]
    pub secrets: Map<String, Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Doc for SecretsFile {
    fn empty() -> SecretsFile {
        SecretsFile {
            version: VERSION,
            secrets: Map::new(),
            extra: Map::new(),
        }
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn set_version(&mut self, v: u64) {
        self.version = v;
    }
}

// No Debug for SecretsFile: it holds tokens.

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> EntryKey {
        EntryKey {
            resource: "https://mcp.example.com/mcp".into(),
            issuer: "https://auth.example.com".into(),
            client_id: "c1".into(),
            profile: None,
            tenant: None,
        }
    }

    #[test]
    fn unknown_fields_survive_a_round_trip_at_every_level() {
        let original = json!({
            "version": 1,
            "written_by": "mcp-valet 9.0",
            "entries": [{
                "key": {"resource": "https://mcp.example.com/mcp", "issuer": "https://auth.example.com",
                        "client_id": "c1", "realm": "t"},
                "meta": {"scopes": ["a"], "updated_at": 5, "backend": "keyring", "dpop": {"alg": "ES256"}},
                "secrets": {"backend": "keyring", "account": "login-x-y", "chunks": 2, "sealed": true},
                "pinned": true
            }, {
                "key": {"resource": "https://other", "issuer": "i", "client_id": "c"},
                "meta": {"backend": "tpm"},
                "secrets": {"backend": "tpm", "account": "z"}
            }],
            "registrations": [{
                "registration": {"issuer": "https://auth.example.com", "client_id": "c1", "kind": "dynamic",
                                 "software_statement": "s"},
                "secrets": {"backend": "file", "account": "client-a-b"},
                "note": 1
            }],
            "sync": {"enabled": false}
        });
        let bytes = serde_json::to_vec(&original).unwrap();
        let st = StateFile::parse(&bytes).unwrap();
        // The record with an unknown back end is skipped when reading…
        assert_eq!(st.entry_records().count(), 1);
        let mut st2 = st.clone();
        // …and a save of the known login keeps everything around it.
        let mut rec = st.find_entry(&key()).unwrap();
        assert_eq!(rec.secrets.as_ref().unwrap().chunks, 2);
        assert_eq!(rec.meta.extra["dpop"], json!({"alg": "ES256"}));
        rec.meta = EntryMeta {
            scopes: vec!["b".into()],
            updated_at: 6,
            ..Default::default()
        };
        st2.put_entry(StoredKey::from_key(&key()).into_record(rec.meta.clone(), rec.secrets.clone()));
        let back: Value = serde_json::from_slice(&st2.to_bytes()).unwrap();
        assert_eq!(back["written_by"], "mcp-valet 9.0");
        assert_eq!(back["sync"], json!({"enabled": false}));
        assert_eq!(back["entries"][0]["key"]["realm"], "t");
        assert_eq!(back["entries"][0]["pinned"], true);
        assert_eq!(back["entries"][0]["meta"]["dpop"], json!({"alg": "ES256"}));
        assert_eq!(back["entries"][0]["meta"]["scopes"], json!(["b"]));
        assert_eq!(back["entries"][0]["secrets"]["sealed"], true);
        assert_eq!(back["entries"][1], original["entries"][1]);
        assert_eq!(back["registrations"], original["registrations"]);
        // Unchanged records come back byte-for-byte equal as values.
        let again = StateFile::parse(&StateFile::parse(&bytes).unwrap().to_bytes()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), original);
    }

    #[test]
    fn secret_fields_never_reach_the_state_file() {
        let mut st = StateFile::empty();
        let mut meta = EntryMeta::default();
        meta.extra.insert("refresh_token".into(), json!("rt-SECRET"));
        meta.extra.insert("Access_Token".into(), json!("at-SECRET"));
        meta.extra.insert("harmless".into(), json!(1));
        st.put_entry(StoredKey::from_key(&key()).into_record(meta, None));
        let mut reg = Registration {
            issuer: "i".into(),
            client_id: "c".into(),
            kind: "dynamic".into(),
            redirect_uris: vec![],
            token_endpoint_auth_method: None,
            client_secret: Some(super::super::Secret::new("cs-SECRET")),
            created_at: 0,
            extra: Map::new(),
        };
        reg.extra.insert("client_secret".into(), json!("cs2-SECRET"));
        st.put_registration(RegistrationRecord {
            profile: None,
            registration: reg,
            secrets: None,
            extra: Map::new(),
        });
        let text = String::from_utf8(st.to_bytes()).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.contains("harmless"));
    }

    #[test]
    fn issuer_bindings_are_kept_per_server_profile_and_tenant() {
        let mut st = StateFile::empty();
        // A file without bindings writes none (older files round-trip unchanged).
        assert!(!String::from_utf8(st.to_bytes()).unwrap().contains("issuers"));
        let binding = |profile: Option<&str>, issuer: &str| IssuerBinding {
            resource: "https://mcp.example.com/mcp".into(),
            profile: profile.map(str::to_owned),
            tenant: None,
            issuer: issuer.into(),
            client_id: "c1".into(),
            pinned: false,
            bound_at: 1,
            extra: Map::new(),
        };
        st.put_issuer(binding(None, "https://a.example"));
        st.put_issuer(binding(Some("work"), "https://b.example"));
        st.issuers[0]["note"] = json!("from a newer version");
        st.put_issuer(binding(None, "https://c.example"));
        let back = StateFile::parse(&st.to_bytes()).unwrap();
        let mcp = "https://mcp.example.com/mcp";
        assert_eq!(back.find_issuer(mcp, None, None).unwrap().issuer, "https://c.example");
        assert_eq!(
            back.find_issuer(mcp, Some("work"), None).unwrap().issuer,
            "https://b.example"
        );
        assert!(back.find_issuer(mcp, None, Some("tenant")).is_none());
        assert_eq!(back.issuers[0]["note"], "from a newer version");
        assert_eq!(back.issuers.len(), 2);
    }

    #[test]
    fn damaged_files_are_told_apart_from_newer_ones() {
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"{\"entries\": []}",
            b"{\"version\": 0}",
            b"{\"version\": \"x\"}",
        ] {
            assert!(StateFile::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let newer = StateFile::parse(br#"{"version": 7, "entries": [], "whatever": {}}"#).unwrap();
        assert_eq!(newer.version, 7);
        // A newer file whose structure changed is not "damaged": it reads as empty (and the
        // store refuses to write it).
        let newer = StateFile::parse(br#"{"version": 2, "entries": {"by_id": {}}}"#).unwrap();
        assert_eq!((newer.version, newer.entries.len()), (2, 0));
        assert!(SecretsFile::parse(br#"{"version": 3, "secrets": []}"#).is_ok());
        // A damaged entries list is damage too (not something to drop silently).
        assert!(StateFile::parse(br#"{"version": 1, "entries": {}}"#).is_err());
    }

    #[test]
    fn parse_errors_do_not_quote_the_file() {
        let e = SecretsFile::parse(br#"{"version": "rt-SECRET-VALUE"}"#).err().unwrap();
        assert!(!e.contains("SECRET"), "{e}");
        let e = SecretsFile::parse(br#"{"version": 1, "secrets": "rt-SECRET-VALUE"}"#)
            .err()
            .unwrap();
        assert!(!e.contains("SECRET"), "{e}");
    }

    impl StoredKey {
        fn into_record(self, meta: EntryMeta, secrets: Option<SecretRef>) -> EntryRecord {
            EntryRecord {
                key: self,
                meta,
                secrets,
                extra: Map::new(),
            }
        }
    }
}
