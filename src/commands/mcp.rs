//! `tools`, `call`, `resources`, `read`, `prompts`: mcp-valet as an MCP client on the command
//! line, through the bridge's own remote side (`crate::client`), with the bridge's connection,
//! sign-in and tool-filter options.

use std::io::{Read, Write};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use super::console::Console;
use crate::cli::{BridgeArgs, CallArgs, ListArgs, ReadArgs, ToolsArgs};
use crate::client::{self, Client};

async fn connect(args: &BridgeArgs, console: &Arc<Console>) -> anyhow::Result<Client> {
    Client::connect(args, client::interaction(console.clone())).await
}

/// Connects, lists every page of `method` (the items under `key`), and closes the session.
async fn listed(args: &BridgeArgs, console: &Arc<Console>, method: &str, key: &str) -> anyhow::Result<Vec<Value>> {
    let mut c = connect(args, console).await?;
    let items = c.list(method, key).await;
    c.close().await;
    items
}

pub async fn tools(args: &ToolsArgs, console: Arc<Console>) -> anyhow::Result<()> {
    let tools = listed(&args.bridge, &console, "tools/list", "tools").await?;
    let mut out = console.result();
    if args.json {
        return print_json(&mut out, &Value::Array(tools));
    }
    if tools.is_empty() {
        console.say("The server offers no tools.");
    }
    for t in &tools {
        let name = str_of(t, "name");
        let title = t
            .get("title")
            .or_else(|| t.pointer("/annotations/title"))
            .and_then(Value::as_str);
        match title {
            Some(title) if title != name => write!(out, "{name} ({title})")?,
            _ => write!(out, "{name}")?,
        }
        match one_line(t.get("description")) {
            Some(d) => writeln!(out, ": {d}")?,
            None => writeln!(out)?,
        }
        let required = required_args(t.get("inputSchema"));
        if !required.is_empty() {
            writeln!(out, "  required: {}", required.join(", "))?;
        }
    }
    Ok(())
}

pub async fn call(args: &CallArgs, console: Arc<Console>) -> anyhow::Result<()> {
    // Check what the command line says before connecting.
    let mut arguments = match args.args.as_deref() {
        None => Map::new(),
        Some(text) => {
            let text = if text == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .lock()
                    .take(args.bridge.max_message_size as u64)
                    .read_to_string(&mut s)
                    .context("reading the arguments from stdin")?;
                s
            } else {
                text.to_owned()
            };
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => usage("ARGS_JSON must be a JSON object, such as '{\"text\": \"hi\"}'"),
                Err(e) => usage(&format!("ARGS_JSON is not JSON: {e}")),
            }
        }
    };
    let mut pairs = Vec::new();
    for a in &args.arg {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => pairs.push((k.to_owned(), v.to_owned())),
            _ => usage(&format!("--arg `{a}` is not key=value")),
        }
    }

    let mut c = connect(&args.bridge, &console).await?;
    let result = async {
        if !pairs.is_empty() {
            let tools = c.list("tools/list", "tools").await?;
            let schema = tools
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some(&args.tool))
                .and_then(|t| t.get("inputSchema"));
            if schema.is_none() {
                tracing::info!(
                    tool = args.tool,
                    "the tool is not listed; --arg values are read as JSON, else as strings"
                );
            }
            for (k, v) in &pairs {
                arguments.insert(k.clone(), typed(schema, k, v)?);
            }
        }
        let params = serde_json::json!({"name": args.tool, "arguments": arguments});
        c.request("tools/call", params).await
    }
    .await;
    c.close().await;
    let result = result?;
    let mut out = console.result();
    if args.json {
        print_json(&mut out, &result)?;
    } else {
        print_content(&mut out, &result)?;
    }
    out.flush()?;
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        bail!("the tool `{}` reported an error", args.tool);
    }
    Ok(())
}

pub async fn resources(args: &ListArgs, console: Arc<Console>) -> anyhow::Result<()> {
    let items = listed(&args.bridge, &console, "resources/list", "resources").await?;
    let mut out = console.result();
    if args.json {
        return print_json(&mut out, &Value::Array(items));
    }
    if items.is_empty() {
        console.say("The server offers no resources.");
    }
    for r in &items {
        write!(out, "{}", str_of(r, "uri"))?;
        let name = r.get("title").or_else(|| r.get("name")).and_then(Value::as_str);
        if let Some(n) = name {
            write!(out, "  {n}")?;
        }
        if let Some(m) = r.get("mimeType").and_then(Value::as_str) {
            write!(out, "  [{m}]")?;
        }
        match one_line(r.get("description")) {
            Some(d) => writeln!(out, ": {d}")?,
            None => writeln!(out)?,
        }
    }
    Ok(())
}

pub async fn read(args: &ReadArgs, console: Arc<Console>) -> anyhow::Result<()> {
    let mut c = connect(&args.bridge, &console).await?;
    let result = c.request("resources/read", serde_json::json!({"uri": args.uri})).await;
    c.close().await;
    let result = result?;
    let mut out = console.result();
    if args.json {
        return print_json(&mut out, &result);
    }
    for item in result.get("contents").and_then(Value::as_array).into_iter().flatten() {
        match (
            item.get("text").and_then(Value::as_str),
            item.get("blob").and_then(Value::as_str),
        ) {
            (Some(t), _) => write_text(&mut out, t)?,
            (None, Some(b)) => writeln!(
                out,
                "[binary {}, {} bytes in base64; use --json to get it]",
                item.get("mimeType").and_then(Value::as_str).unwrap_or("content"),
                b.len()
            )?,
            _ => {}
        }
    }
    Ok(())
}

pub async fn prompts(args: &ListArgs, console: Arc<Console>) -> anyhow::Result<()> {
    let items = listed(&args.bridge, &console, "prompts/list", "prompts").await?;
    let mut out = console.result();
    if args.json {
        return print_json(&mut out, &Value::Array(items));
    }
    if items.is_empty() {
        console.say("The server offers no prompts.");
    }
    for p in &items {
        let name = str_of(p, "name");
        match p.get("title").and_then(Value::as_str) {
            Some(t) if t != name => write!(out, "{name} ({t})")?,
            _ => write!(out, "{name}")?,
        }
        match one_line(p.get("description")) {
            Some(d) => writeln!(out, ": {d}")?,
            None => writeln!(out)?,
        }
        let args: Vec<String> = p
            .get("arguments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|a| {
                let n = str_of(a, "name");
                if a.get("required").and_then(Value::as_bool) == Some(true) {
                    format!("{n} (required)")
                } else {
                    n.to_owned()
                }
            })
            .collect();
        if !args.is_empty() {
            writeln!(out, "  arguments: {}", args.join(", "))?;
        }
    }
    Ok(())
}

/// A command-line mistake found after clap: said as clap says it, exit status 2.
fn usage(msg: &str) -> ! {
    use clap::CommandFactory;
    crate::cli::Cli::command()
        .error(clap::error::ErrorKind::ValueValidation, msg)
        .exit()
}

/// An `--arg` value as the tool's input schema types it.
fn typed(schema: Option<&Value>, key: &str, raw: &str) -> anyhow::Result<Value> {
    let ty = schema
        .and_then(|s| s.get("properties"))
        .and_then(|p| p.get(key))
        .and_then(|p| p.get("type"));
    // `["integer", "null"]` and the like: the first type that is not null.
    let ty = match ty {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    };
    let json = || serde_json::from_str::<Value>(raw).ok();
    let wrong = |what: &str| anyhow::anyhow!("--arg {key}: the tool takes {what}, and `{raw}` is not one");
    Ok(match ty {
        Some("string") => Value::String(raw.to_owned()),
        Some("number") => json().filter(Value::is_number).ok_or_else(|| wrong("a number"))?,
        Some("integer") => json()
            .filter(|v| v.is_i64() || v.is_u64())
            .ok_or_else(|| wrong("an integer"))?,
        Some("boolean") => json().filter(Value::is_boolean).ok_or_else(|| wrong("true or false"))?,
        Some("object") => json().filter(Value::is_object).ok_or_else(|| wrong("a JSON object"))?,
        Some("array") => json().filter(Value::is_array).ok_or_else(|| wrong("a JSON array"))?,
        Some("null") => json().filter(Value::is_null).ok_or_else(|| wrong("null"))?,
        // No type known: JSON when it reads as JSON, else the text.
        _ => json().unwrap_or_else(|| Value::String(raw.to_owned())),
    })
}

fn required_args(schema: Option<&Value>) -> Vec<&str> {
    schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// The first line of a description.
fn one_line(d: Option<&Value>) -> Option<&str> {
    let d = d?.as_str()?.trim();
    d.lines().next().filter(|l| !l.is_empty())
}

fn print_json(out: &mut impl Write, v: &Value) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

fn write_text(out: &mut impl Write, t: &str) -> anyhow::Result<()> {
    out.write_all(t.as_bytes())?;
    if !t.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}

/// The text of a tool result; other content is named, with a pointer to `--json`.
fn print_content(out: &mut impl Write, result: &Value) -> anyhow::Result<()> {
    let content = result
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if content.is_empty()
        && let Some(s) = result.get("structuredContent")
    {
        return print_json(out, s);
    }
    for item in content {
        let kind = str_of(item, "type");
        match kind {
            "text" => write_text(out, str_of(item, "text"))?,
            "resource" => match item.pointer("/resource/text").and_then(Value::as_str) {
                Some(t) => write_text(out, t)?,
                None => writeln!(
                    out,
                    "[resource {}; use --json to get it]",
                    str_of(&item["resource"], "uri")
                )?,
            },
            "resource_link" => writeln!(out, "{}", str_of(item, "uri"))?,
            _ => writeln!(
                out,
                "[{kind} content ({}); use --json to get it]",
                item.get("mimeType").and_then(Value::as_str).unwrap_or("no type given")
            )?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_take_the_schema_type() {
        let s = json!({"properties": {"n": {"type": "number"}, "i": {"type": ["integer", "null"]},
            "s": {"type": "string"}, "b": {"type": "boolean"}, "o": {"type": "object"}}});
        let s = Some(&s);
        assert_eq!(typed(s, "n", "3").unwrap(), json!(3));
        assert_eq!(typed(s, "n", "2.5").unwrap(), json!(2.5));
        assert!(typed(s, "n", "three").is_err());
        assert_eq!(typed(s, "i", "7").unwrap(), json!(7));
        assert!(typed(s, "i", "7.5").is_err());
        assert_eq!(typed(s, "s", "3").unwrap(), json!("3"));
        assert_eq!(typed(s, "b", "true").unwrap(), json!(true));
        assert_eq!(typed(s, "o", r#"{"a":1}"#).unwrap(), json!({"a": 1}));
        assert_eq!(typed(s, "unknown", "4").unwrap(), json!(4));
        assert_eq!(typed(None, "x", "hello").unwrap(), json!("hello"));
    }
}
