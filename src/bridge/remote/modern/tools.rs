//! The tools cache: which tools' arguments are mirrored into headers (`x-mcp-header`).

use std::sync::atomic::Ordering;
use std::time::Instant;

use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use crate::bridge::remote::era;
use crate::failure::Failure;

use super::shared::{Forward, MAX_PAGES, MAX_TOOLS, Modern};

impl Modern {
    /// Drops tools whose `x-mcp-header` annotations are invalid, and remembers the others'.
    pub(super) fn filter_tools(&self, answer: &mut Value) {
        let Some(tools) = answer.pointer_mut("/result/tools").and_then(Value::as_array_mut) else {
            return;
        };
        let mut st = self.state();
        tools.retain(|tool| {
            let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
            let schema = tool.get("inputSchema").cloned().unwrap_or_else(|| json!({}));
            match era::param_headers(&schema) {
                Ok(h) => {
                    if h.is_empty() {
                        st.tools.remove(name);
                    } else if st.tools.len() < MAX_TOOLS || st.tools.contains_key(name) {
                        st.tools.insert(name.to_owned(), h);
                    }
                    true
                }
                Err(why) => {
                    tracing::warn!(tool = name, "leaving out a tool the server lists: {why}");
                    st.tools.remove(name);
                    false
                }
            }
        });
    }

    /// Lists the server's tools again (after a header mismatch) to learn their annotations.
    pub(super) async fn relist(&self, version: &str, host_modern: bool, deadline: Instant) -> Result<(), Failure> {
        let mut cursor: Option<Value> = None;
        for _ in 0..MAX_PAGES {
            let mut p = Map::new();
            if let Some(c) = &cursor {
                p.insert("cursor".into(), c.clone());
            }
            self.envelope_params(&mut p);
            if host_modern {
                p.get_mut("_meta")
                    .and_then(Value::as_object_mut)
                    .map(|m| m.insert(era::META_VERSION.into(), Value::String(version.into())));
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": p});
            let reply = self
                .exchange(
                    serde_json::to_vec(&body).expect("serialising JSON cannot fail"),
                    id,
                    ("tools/list", None, HeaderMap::new(), version),
                    Forward::Yes,
                    deadline,
                )
                .await?;
            if reply.error().is_some() {
                return Ok(());
            }
            let mut answer = reply.value();
            self.filter_tools(&mut answer);
            cursor = answer.pointer("/result/nextCursor").filter(|c| c.is_string()).cloned();
            if cursor.is_none() {
                break;
            }
        }
        Ok(())
    }
}
