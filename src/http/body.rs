//! Reading answers: whole bodies under a size limit, the media type, and a short safe excerpt
//! of an error body for messages.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use url::Url;

use super::relay_client::{Answer, BoxError};
use crate::failure::{Failure, FailureKind};

/// Reads a whole body, refusing one larger than `max`.
pub async fn read_body(resp: Answer, max: usize) -> Result<Bytes, Failure> {
    use futures_util::StreamExt;
    let announced = resp.content_length().map(|n| n as usize);
    if announced.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let broke = |e: BoxError| Failure::new(FailureKind::Network, format!("the server's answer broke off ({e})"));
    let mut stream = resp.bytes_stream();
    // A body in one chunk (the usual case) is passed on as it is, without a copy.
    let Some(first) = stream.next().await.transpose().map_err(broke)? else {
        return Ok(Bytes::new());
    };
    let Some(second) = stream.next().await.transpose().map_err(broke)? else {
        return if first.len() > max {
            Err(too_large(max))
        } else {
            Ok(first)
        };
    };
    // Else one buffer of the announced size (no growing by doubling).
    let mut buf = bytes::BytesMut::with_capacity(announced.unwrap_or(0).max(first.len() + second.len()));
    buf.extend_from_slice(&first);
    buf.extend_from_slice(&second);
    drop((first, second));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(broke)?;
        if buf.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.len() > max {
        return Err(too_large(max));
    }
    Ok(buf.freeze())
}

/// The most mcp-valet reads of an OAuth or metadata document (resource and authorization
/// server metadata, registration, token, device authorization and revocation answers); they
/// are a few KiB.
pub const MAX_DOCUMENT: usize = 1 << 20;

/// Reads a whole OAuth or metadata document from `url`, at most [`MAX_DOCUMENT`] bytes: a
/// larger `Content-Length` is refused before anything is read, a longer body as soon as it
/// passes the limit.
pub async fn read_document(resp: reqwest::Response, url: &Url) -> Result<Bytes, Failure> {
    read_document_max(resp, url, MAX_DOCUMENT).await
}

async fn read_document_max(mut resp: reqwest::Response, url: &Url, max: usize) -> Result<Bytes, Failure> {
    let refuse = || {
        Failure::new(
            FailureKind::TooLarge,
            format!(
                "the answer of {} is larger than {} KiB, far more than an OAuth document needs; it was not read",
                url.host_str().unwrap_or("the server"),
                max / 1024
            ),
        )
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(refuse());
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| super::describe::describe_error(&e, url, None))?
    {
        if buf.len() + chunk.len() > max {
            return Err(refuse());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

pub fn too_large(max: usize) -> Failure {
    Failure::new(
        FailureKind::TooLarge,
        format!(
            "the server's message is larger than the limit of {max} bytes; raise --max-message-size if this is expected"
        ),
    )
}

/// The media type of a response, lower-case, without parameters.
pub fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// A short, safe excerpt of an error body: the JSON-RPC error message when there is one,
/// else the start of a text body. Never more than 300 characters.
pub fn body_detail(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct E {
        error: Option<Inner>,
        error_description: Option<String>,
        message: Option<String>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Inner {
        Rpc { message: String },
        Text(String),
    }
    let text = if let Ok(e) = serde_json::from_slice::<E>(body) {
        match (e.error, e.error_description, e.message) {
            (Some(Inner::Rpc { message }), _, _) => message,
            (Some(Inner::Text(code)), Some(desc), _) => format!("{code}: {desc}"),
            (Some(Inner::Text(code)), None, _) => code,
            (None, _, Some(m)) => m,
            _ => return None,
        }
    } else {
        let s = String::from_utf8_lossy(body);
        if s.trim_start().starts_with('<') {
            return None; // an HTML page says nothing useful in one line
        }
        s.into_owned()
    };
    let text: String = text.chars().filter(|c| !c.is_control()).take(300).collect();
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_details_are_short_and_plain() {
        assert_eq!(
            body_detail(
                br#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID"},"id":null}"#
            )
            .as_deref(),
            Some("Bad Request: No valid session ID")
        );
        assert_eq!(
            body_detail(br#"{"error":"invalid_token","error_description":"expired"}"#).as_deref(),
            Some("invalid_token: expired")
        );
        assert_eq!(body_detail(b"<html><body>502</body></html>"), None);
        assert_eq!(body_detail(&[b'x'; 1000]).unwrap().len(), 300);
        assert_eq!(body_detail(b""), None);
    }
}
