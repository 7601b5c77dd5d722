//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

/// The Bearer challenge of a 401 or 403, as far as the client needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `resource_metadata`: where the protected resource metadata is (RFC 9728).
    pub resource_metadata: Option<String>,
    /// `scope`: what the operation needs, space-separated.
    pub scope: Option<String>,
    /// `error`, e.g. `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Challenge {
    /// The Bearer challenge among the response's `WWW-Authenticate` headers (an empty one when
    /// there is none: a server may leave the header out).
    pub fn from_headers(headers: &HeaderMap) -> Challenge {
        for value in headers.get_all(WWW_AUTHENTICATE) {
            let Ok(text) = value.to_str() else { continue };
            for (scheme, params) in parse(text) {
                if scheme.eq_ignore_ascii_case("bearer") {
                    let mut c = Challenge::default();
                    for (k, v) in params {
                        match k.to_ascii_lowercase().as_str() {
                            "resource_metadata" => c.resource_metadata = Some(v),
                            "scope" => c.scope = Some(v),
                            "error" => c.error = Some(v),
                            "error_description" => c.error_description = Some(v),
                            _ => {}
                        }
                    }
                    return c;
                }
            }
        }
        Challenge::default()
    }

    pub fn scopes(&self) -> Vec<String> {
        split_scopes(self.scope.as_deref().unwrap_or(""))
    }

    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

pub fn split_scopes(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

/// Splits a header value into challenges: `(scheme, [(name, value)])`. Tolerates the token68
/// form and stray commas.
fn parse(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && (b[*i] == b' ' || b[*i] == b'\t' || b[*i] == b',') {
            *i += 1;
        }
    };
    let is_tchar = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&c);
    while i < b.len() {
        skip_ws(&mut i);
        let start = i;
        while i < b.len() && is_tchar(b[i]) {
            i += 1;
        }
        if i == start {
            i += 1; // not a token: skip the byte
            continue;
        }
        let token = &text[start..i];
        // Whitespace after the token, then `=`: a parameter of the current challenge.
        let mut j = i;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        if j < b.len() && b[j] == b'=' && !out.is_empty() && !(j + 1 < b.len() && b[j + 1] == b'=') {
            j += 1;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            let value = if j < b.len() && b[j] == b'"' {
                let mut v = String::new();
                j += 1;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' && j + 1 < b.len() {
                        j += 1;
                    }
                    // Push whole UTF-8 sequences.
                    let ch = text[j..].chars().next().unwrap_or('\u{fffd}');
                    v.push(ch);
                    j += ch.len_utf8();
                }
                j += 1;
                v
            } else {
                let vs = j;
                while j < b.len() && b[j] != b',' && b[j] != b' ' && b[j] != b'\t' {
                    j += 1;
                }
                text[vs..j].to_owned()
            };
            if let Some(last) = out.last_mut() {
                last.1.push((token.to_owned(), value));
            }
            i = j;
        } else {
            // A new challenge. (A token68 credential after it reads as a harmless extra
            // parameter or scheme; no Bearer challenge of interest has one.)
            out.push((token.to_owned(), Vec::new()));
            i = j;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn challenge(v: &str) -> Challenge {
        let mut h = HeaderMap::new();
        h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        Challenge::from_headers(&h)
    }

    #[test]
    fn bearer_params() {
        let c = challenge(
            r#"Bearer realm="mcp", error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#,
        );
        assert_eq!(c.scope.as_deref(), Some("mcp:basic mcp:write"));
        assert_eq!(c.scopes(), vec!["mcp:basic", "mcp:write"]);
        assert!(c.is_insufficient_scope());
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://h/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn several_challenges_and_odd_spacing() {
        let c = challenge(r#"Basic realm="x", Bearer   error=invalid_token ,error_description="bad \"token\"""#);
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.error_description.as_deref(), Some(r#"bad "token""#));
        let c = challenge("DPoP algs=\"ES256\", bearer resource_metadata=\"https://h/prm\"");
        assert_eq!(c.resource_metadata.as_deref(), Some("https://h/prm"));
    }

    #[test]
    fn bare_bearer_and_absent() {
        assert_eq!(challenge("Bearer"), Challenge::default());
        assert_eq!(Challenge::from_headers(&HeaderMap::new()), Challenge::default());
        assert_eq!(challenge("Negotiate abc=="), Challenge::default());
    }
}
