//! Tool filters (`--allow-tool`, `--deny-tool`): hidden tools leave `tools/list` answers, and a
//! call to one is refused here, since a client may call a tool it never saw listed. Deny wins
//! over allow; with no `--allow-tool` every tool not denied is allowed.

use bytes::Bytes;
use serde_json::Value;

use super::message::{Kind, Message};
use crate::cli::ToolFilterArgs;
use crate::failure::{Failure, FailureKind, code};

#[derive(Debug, Default)]
pub struct ToolFilter {
    allow: Vec<String>,
    deny: Vec<String>,
    /// `--ignore-tool` (mcp-remote's): deny globs matched without regard to case, lower-cased.
    ignore: Vec<String>,
}

impl ToolFilter {
    pub fn new(args: &ToolFilterArgs) -> anyhow::Result<ToolFilter> {
        for g in args.allow.iter().chain(&args.deny).chain(&args.ignore) {
            if g.is_empty() {
                anyhow::bail!("a tool filter cannot be empty (use `*` for every tool)");
            }
        }
        Ok(ToolFilter {
            allow: args.allow.clone(),
            deny: args.deny.clone(),
            ignore: args.ignore.iter().map(|g| g.to_lowercase()).collect(),
        })
    }

    /// Whether any filter was given (else the relay does not look at tools at all).
    pub fn is_active(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty() || !self.ignore.is_empty()
    }

    pub fn allows(&self, tool: &str) -> bool {
        if self.deny.iter().any(|g| glob(g, tool)) {
            return false;
        }
        if !self.ignore.is_empty() {
            let lower = tool.to_lowercase();
            if self.ignore.iter().any(|g| glob(g, &lower)) {
                return false;
            }
        }
        self.allow.is_empty() || self.allow.iter().any(|g| glob(g, tool))
    }

    /// The answer to a `tools/call` of a hidden tool, which then never reaches the server.
    pub fn refuse(&self, msg: &Message) -> Option<Bytes> {
        if !self.is_active() || !matches!(&msg.kind, Kind::Request { method, .. } if &**method == "tools/call") {
            return None;
        }
        let v: Value = serde_json::from_slice(&msg.raw).ok()?;
        let name = v.pointer("/params/name").and_then(Value::as_str)?;
        if self.allows(name) {
            return None;
        }
        tracing::info!(tool = name, "refusing a call to a tool the filters hide");
        let failure = Failure::new(
            FailureKind::ToolDenied,
            format!("the tool `{name}` is not available: it is hidden by --allow-tool/--deny-tool/--ignore-tool"),
        )
        .with_code(code::INVALID_PARAMS);
        Some(failure.response(msg.raw_id.as_deref()))
    }

    /// A `tools/list` answer without the hidden tools (unchanged when nothing is hidden or it
    /// is not a result).
    pub fn list(&self, raw: Bytes) -> Bytes {
        if !self.is_active() {
            return raw;
        }
        let Ok(mut v) = serde_json::from_slice::<Value>(&raw) else {
            return raw;
        };
        let Some(tools) = v.pointer_mut("/result/tools").and_then(Value::as_array_mut) else {
            return raw;
        };
        let before = tools.len();
        tools.retain(|t| t.get("name").and_then(Value::as_str).is_some_and(|n| self.allows(n)));
        if tools.len() == before {
            return raw;
        }
        tracing::debug!(hidden = before - tools.len(), "tools hidden from tools/list");
        Bytes::from(serde_json::to_vec(&v).expect("a parsed value serialises"))
    }
}

/// Shell-style glob: `*` any run of characters, `?` one character, everything else literal.
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(allow: &[&str], deny: &[&str]) -> ToolFilter {
        ToolFilter::new(&ToolFilterArgs {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            deny: deny.iter().map(|s| s.to_string()).collect(),
            ignore: vec![],
        })
        .unwrap()
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("get_*", "get_issue"));
        assert!(!glob("get_*", "list_issues"));
        assert!(glob("*_issue?", "list_issues"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
        assert!(glob("echo", "echo") && !glob("echo", "echoes"));
    }

    #[test]
    fn deny_wins_and_allow_narrows() {
        let f = filter(&["get_*", "echo"], &["get_secret*"]);
        assert!(f.allows("get_issue") && f.allows("echo"));
        assert!(!f.allows("get_secret_key") && !f.allows("delete_repo"));
        let f = filter(&[], &["delete_*"]);
        assert!(f.allows("echo") && !f.allows("delete_repo"));
        assert!(!filter(&[], &[]).is_active());
    }

    #[test]
    fn ignore_tool_is_a_deny_without_case() {
        let f = ToolFilter::new(&ToolFilterArgs {
            ignore: vec!["Delete*".into()],
            ..ToolFilterArgs::default()
        })
        .unwrap();
        assert!(!f.allows("deleteTask") && !f.allows("DELETE_ALL") && f.allows("echo"));
        assert!(f.is_active());
    }

    #[test]
    fn lists_lose_hidden_tools_and_calls_to_them_are_refused() {
        let f = filter(&[], &["large"]);
        let raw =
            Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"large"}]}}"#);
        let v: Value = serde_json::from_slice(&f.list(raw)).unwrap();
        assert_eq!(v["result"]["tools"], serde_json::json!([{"name": "echo"}]));
        let parse = |s: &'static str| match super::super::message::parse(Bytes::from_static(s.as_bytes())).unwrap() {
            super::super::message::Parsed::Single(m) => m,
            _ => unreachable!(),
        };
        let m = parse(r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"large","arguments":{}}}"#);
        let v: Value = serde_json::from_slice(&f.refuse(&m).unwrap()).unwrap();
        assert_eq!(v["id"], "x");
        assert_eq!(v["error"]["code"], -32602);
        assert_eq!(v["error"]["data"]["kind"], "tool_denied");
        let m = parse(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo"}}"#);
        assert!(f.refuse(&m).is_none());
    }
}
