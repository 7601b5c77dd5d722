//! Adding one server to a client's JSON configuration without re-serialising the file: a
//! small parser that records where each object and member is (byte offsets), then an edit
//! that replaces or inserts exactly one member. Everything else stays byte for byte.
//!
//! `comments` allows what JSON-with-comments files have (`//` and `/* */` comments, trailing
//! commas): Zed's and VS Code's settings, Gemini CLI's. Without it the grammar is strict JSON.

use serde_json::Value;

/// Deeper nesting than this is refused (the parser recurses).
const MAX_DEPTH: usize = 128;

/// An object: where its braces are, and its members in order.
#[derive(Debug)]
pub struct Obj {
    pub open: usize,
    pub close: usize,
    pub members: Vec<Member>,
}

#[derive(Debug)]
pub struct Member {
    pub key: String,
    pub key_start: usize,
    pub value_start: usize,
    pub value_end: usize,
    /// The value, when it is an object.
    pub obj: Option<Obj>,
}

impl Obj {
    pub fn member(&self, key: &str) -> Option<&Member> {
        // The last one wins, as in most JSON readers.
        self.members.iter().rev().find(|m| m.key == key)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    comments: bool,
}

/// Why a document is not (strict or commented) JSON, with the line it happened on.
pub fn parse(text: &str, comments: bool) -> Result<Option<Obj>, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
        comments,
    };
    if text.starts_with('\u{feff}') {
        p.i = 3;
    }
    p.ws()?;
    let root = p.value(0)?;
    p.ws()?;
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the document"));
    }
    Ok(root)
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        let line = self.s[..self.i.min(self.s.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("{what} on line {line}")
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips white space and, where allowed, comments.
    fn ws(&mut self) -> Result<(), String> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.i += 1,
                Some(b'/') if self.comments => match self.s.get(self.i + 1) {
                    Some(b'/') => {
                        while self.peek().is_some_and(|b| b != b'\n') {
                            self.i += 1;
                        }
                    }
                    Some(b'*') => {
                        let rest = &self.s[self.i + 2..];
                        let end = rest
                            .windows(2)
                            .position(|w| w == b"*/")
                            .ok_or_else(|| self.err("a comment that does not end"))?;
                        self.i += 2 + end + 2;
                    }
                    _ => return Err(self.err("unexpected `/`")),
                },
                _ => return Ok(()),
            }
        }
    }

    /// One value; `Some` when it is an object.
    fn value(&mut self, depth: usize) -> Result<Option<Obj>, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth).map(Some),
            Some(b'[') => {
                self.i += 1;
                self.ws()?;
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(None);
                }
                loop {
                    self.value(depth + 1)?;
                    self.ws()?;
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            self.ws()?;
                            if self.comments && self.peek() == Some(b']') {
                                self.i += 1;
                                return Ok(None);
                            }
                        }
                        Some(b']') => {
                            self.i += 1;
                            return Ok(None);
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(b'"') => self.string().map(|_| None),
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of the file")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Obj, String> {
        let open = self.i;
        self.i += 1;
        let mut members = Vec::new();
        self.ws()?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Obj {
                open,
                close: self.i - 1,
                members,
            });
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a member name in double quotes"));
            }
            let key_start = self.i;
            let key = self.string()?;
            self.ws()?;
            if self.peek() != Some(b':') {
                return Err(self.err("expected `:`"));
            }
            self.i += 1;
            self.ws()?;
            let value_start = self.i;
            let obj = self.value(depth + 1)?;
            members.push(Member {
                key,
                key_start,
                value_start,
                value_end: self.i,
                obj,
            });
            self.ws()?;
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    self.ws()?;
                    if self.comments && self.peek() == Some(b'}') {
                        self.i += 1;
                        break;
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
        Ok(Obj {
            open,
            close: self.i - 1,
            members,
        })
    }

    /// A string, decoded.
    fn string(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err(self.err("a string that does not end")),
                Some(b'"') => break,
                Some(b'\\') => self.i += 2,
                Some(b) if b < 0x20 => return Err(self.err("a control character in a string")),
                Some(_) => self.i += 1,
            }
        }
        self.i += 1;
        let raw = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.err("text that is not UTF-8"))?;
        serde_json::from_str::<String>(raw).map_err(|_| self.err("a string with a bad escape"))
    }

    fn word(&mut self, w: &str) -> Result<Option<Obj>, String> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(None)
        } else {
            Err(self.err("unexpected word"))
        }
    }

    fn number(&mut self) -> Result<Option<Obj>, String> {
        let digits = |p: &mut Parser| {
            let s = p.i;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.i += 1;
            }
            p.i > s
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(self.err("a malformed number"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("a malformed number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("a malformed number"));
            }
        }
        Ok(None)
    }
}

/// What `set` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    Added,
    Replaced,
}

/// `text` with `root[section][name] = value`, everything else untouched. `Err`: the document
/// cannot take it (not JSON, not an object, `section` not an object).
pub fn set(text: &str, comments: bool, section: &str, name: &str, value: &Value) -> Result<(String, Edit), String> {
    if text.trim_start_matches('\u{feff}').trim().is_empty() {
        return Ok((document(section, name, value), Edit::Added));
    }
    let root = parse(text, comments)?.ok_or("the file is not a JSON object")?;
    let (out, edit) = match root.member(section) {
        None => (
            insert_member(text, &root, section, &section_text(name, value)),
            Edit::Added,
        ),
        Some(m) => {
            let obj = m
                .obj
                .as_ref()
                .ok_or_else(|| format!("`{section}` in the file is not an object"))?;
            match obj.member(name) {
                Some(old) => {
                    let indent = line_indent(text, old.key_start);
                    let mut out = String::with_capacity(text.len() + 256);
                    out.push_str(&text[..old.value_start]);
                    out.push_str(&pretty(value, &indent));
                    out.push_str(&text[old.value_end..]);
                    (out, Edit::Replaced)
                }
                None => {
                    let key_json = serde_json::to_string(name).expect("a string serialises");
                    let member = |indent: &str| format!("{key_json}: {}", pretty(value, indent));
                    (insert(text, obj, &member), Edit::Added)
                }
            }
        }
    };
    // The result must read back, with the new member where it belongs.
    let check = parse(&out, comments).map_err(|e| format!("the edit would not be valid JSON ({e})"))?;
    let ok = check
        .and_then(|r| {
            let s = r.member(section)?;
            let n = s.obj.as_ref()?.member(name)?;
            serde_json::from_str::<Value>(&out[n.value_start..n.value_end]).ok()
        })
        .is_some_and(|v| &v == value);
    if !ok {
        return Err("the edit did not read back as expected".into());
    }
    Ok((out, edit))
}

/// A whole document holding the one server: `{"section": {"name": value}}`.
pub fn document(section: &str, name: &str, value: &Value) -> String {
    let key = serde_json::to_string(section).expect("a string serialises");
    format!("{{\n  {key}: {}\n}}\n", indent_lines(&section_text(name, value), "  "))
}

/// `{"name": value}`, pretty, unindented.
fn section_text(name: &str, value: &Value) -> String {
    let key = serde_json::to_string(name).expect("a string serialises");
    format!("{{\n  {key}: {}\n}}", pretty(value, "  "))
}

/// Inserts `"key": <pretty text>` as the last member of `obj`.
fn insert_member(text: &str, obj: &Obj, key: &str, pretty_text: &str) -> String {
    let key_json = serde_json::to_string(key).expect("a string serialises");
    insert(text, obj, &|indent: &str| {
        format!("{key_json}: {}", indent_lines(pretty_text, indent))
    })
}

/// Inserts the member `member(indent)` makes as the last member of `obj`.
fn insert(text: &str, obj: &Obj, member: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    match obj.members.last() {
        None => {
            let outer = line_indent(text, obj.open);
            let indent = format!("{outer}  ");
            out.push_str(&text[..=obj.open]);
            out.push_str(&format!("\n{indent}{}\n{outer}", member(&indent)));
            // What was between the braces (white space, comments) is dropped only when it is
            // white space.
            let between = &text[obj.open + 1..obj.close];
            if !between.trim().is_empty() {
                out.push_str(between);
            }
            out.push_str(&text[obj.close..]);
        }
        Some(last) => {
            let indent = line_indent(text, last.key_start);
            // A trailing comma after the last member (commented JSON): the new member goes
            // after it and keeps one of its own.
            let after = next_significant(text, last.value_end);
            if text.as_bytes().get(after) == Some(&b',') {
                out.push_str(&text[..=after]);
                out.push_str(&format!("\n{indent}{},", member(&indent)));
                out.push_str(&text[after + 1..]);
            } else {
                out.push_str(&text[..last.value_end]);
                out.push_str(&format!(",\n{indent}{}", member(&indent)));
                out.push_str(&text[last.value_end..]);
            }
        }
    }
    out
}

/// The first byte at or after `i` that is neither white space nor part of a comment.
fn next_significant(text: &str, mut i: usize) -> usize {
    let s = text.as_bytes();
    while i < s.len() {
        match s[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'/' if s.get(i + 1) == Some(&b'/') => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(s.len(), |p| i + 2 + p + 2);
            }
            _ => return i,
        }
    }
    i
}

/// The white space the line holding byte `at` starts with.
fn line_indent(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |p| p + 1);
    text[start..at]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// A server entry pretty-printed (two spaces) with its members in the order clients document
/// them (`type`, `command`, `args`, then the rest), its lines after the first indented by
/// `indent`.
pub fn pretty(value: &Value, indent: &str) -> String {
    let s = match value.as_object() {
        Some(map) => {
            let order = ["type", "command", "args"];
            let mut keys: Vec<&String> = order
                .iter()
                .filter_map(|k| map.get_key_value(*k).map(|(k, _)| k))
                .collect();
            keys.extend(map.keys().filter(|k| !order.contains(&k.as_str())));
            if keys.is_empty() {
                "{}".to_owned()
            } else {
                let members: Vec<String> = keys
                    .iter()
                    .map(|k| {
                        let v = serde_json::to_string_pretty(&map[k.as_str()]).expect("JSON serialises");
                        format!(
                            "  {}: {}",
                            serde_json::to_string(k).expect("a string serialises"),
                            indent_lines(&v, "  ")
                        )
                    })
                    .collect();
                format!("{{\n{}\n}}", members.join(",\n"))
            }
        }
        None => serde_json::to_string_pretty(value).expect("JSON serialises"),
    };
    indent_lines(&s, indent)
}

fn indent_lines(s: &str, indent: &str) -> String {
    if indent.is_empty() {
        return s.to_owned();
    }
    s.replace('\n', &format!("\n{indent}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server() -> Value {
        json!({"command": "/bin/mcp-valet", "args": ["https://h.example/mcp"]})
    }

    #[test]
    fn adds_a_member_and_keeps_the_rest() {
        let text =
            "{\n    \"theme\": \"dark\",\n    \"mcpServers\": {\n        \"other\": {\"command\": \"x\"}\n    }\n}\n";
        let (out, edit) = set(text, false, "mcpServers", "h", &server()).unwrap();
        assert_eq!(edit, Edit::Added);
        assert!(out.starts_with("{\n    \"theme\": \"dark\",\n    \"mcpServers\": {\n        \"other\": {\"command\": \"x\"},\n        \"h\": {\n"), "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["mcpServers"]["h"], server());
        assert_eq!(v["mcpServers"]["other"]["command"], "x");
        assert!(out.ends_with("\n    }\n}\n"));
    }

    #[test]
    fn adds_the_section_and_replaces_a_member() {
        let text = "{\"a\": 1}";
        let (out, _) = set(text, false, "servers", "h", &server()).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["a"], 1);
        assert_eq!(v["servers"]["h"], server());
        let (again, edit) = set(&out, false, "servers", "h", &json!({"command": "y"})).unwrap();
        assert_eq!(edit, Edit::Replaced);
        let v: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(v["servers"]["h"], json!({"command": "y"}));
        let (empty, _) = set("{}", false, "servers", "h", &server()).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&empty).unwrap()["servers"]["h"], server());
        assert!(set("", false, "s", "h", &server()).is_ok());
    }

    #[test]
    fn comments_and_trailing_commas_where_allowed() {
        let text = "// Zed settings\n{\n  /* the theme */ \"theme\": \"One\",\n  \"context_servers\": {\n    \"a\": {}, // first\n  },\n}\n";
        assert!(parse(text, false).is_err());
        let (out, _) = set(text, true, "context_servers", "h", &server()).unwrap();
        assert!(out.starts_with("// Zed settings\n{\n  /* the theme */ \"theme\": \"One\",\n  \"context_servers\": {\n    \"a\": {},\n    \"h\": {"), "{out}");
        assert!(out.contains("// first\n  },\n}\n"), "{out}");
        assert!(parse(&out, true).is_ok());
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "{",
            "{\"a\": }",
            "[1, 2]",
            "{\"a\": 1,}",
            "{'a': 1}",
            "{\"a\": 01}",
            "{} x",
            "\"s\"",
        ] {
            assert!(set(bad, false, "s", "h", &server()).is_err(), "{bad}");
        }
        assert!(set("{\"s\": [1]}", false, "s", "h", &server()).is_err());
        assert!(set("{\"a\": /* unterminated }", true, "s", "h", &server()).is_err());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep, false).is_err());
    }
}
