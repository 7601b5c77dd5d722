//! A Server-Sent Events parser fed with the chunks of an HTTP body (WHATWG HTML §9.2.6).
//!
//! It keeps the last event id and the `retry` value, which Streamable HTTP needs to resume a
//! broken stream, and bounds the size of one event.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event` field; empty means the default type, `message`.
    pub event: String,
    pub data: Bytes,
}

impl Event {
    pub fn is_message(&self) -> bool {
        self.event.is_empty() || self.event == "message"
    }
}

#[derive(Debug)]
pub struct EventTooLarge;

/// The longest reconnection time a server may ask for with `retry:`; more is taken as this.
pub const MAX_RETRY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Parser {
    line: BytesMut,
    /// The `data:` lines of the event being read, and their total length with separators.
    data: Vec<Bytes>,
    data_len: usize,
    event: String,
    last_id: Option<String>,
    pending_id: Option<String>,
    retry: Option<Duration>,
    skip_lf: bool,
    at_start: bool,
    max_event: usize,
}

impl Parser {
    pub fn new(max_event: usize) -> Parser {
        Parser {
            line: BytesMut::new(),
            data: Vec::new(),
            data_len: 0,
            event: String::new(),
            last_id: None,
            pending_id: None,
            retry: None,
            skip_lf: false,
            at_start: true,
            max_event,
        }
    }

    /// The id of the last dispatched event (what `Last-Event-ID` carries on reconnection).
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// The reconnection time the server asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Forgets a half-read event before reading a new connection; keeps the last event id
    /// and the retry delay.
    pub fn reset_stream(&mut self) {
        self.line.clear();
        self.data.clear();
        self.data_len = 0;
        self.event.clear();
        self.pending_id = None;
        self.skip_lf = false;
        self.at_start = true;
    }

    /// Feeds a chunk; complete events are appended to `out`. A line that lies whole in one
    /// chunk, and the data of an event with one `data:` line, are not copied.
    pub fn feed(&mut self, chunk: &Bytes, out: &mut Vec<Event>) -> Result<(), EventTooLarge> {
        let mut pos = 0;
        if self.at_start && !chunk.is_empty() {
            // A UTF-8 byte order mark may start the stream; it may arrive split, so only
            // strip it when whole (servers do not split three bytes in practice).
            if chunk.starts_with(b"\xEF\xBB\xBF") {
                pos = 3;
            }
            self.at_start = false;
        }
        while pos < chunk.len() {
            if self.skip_lf {
                self.skip_lf = false;
                if chunk[pos] == b'\n' {
                    pos += 1;
                    continue;
                }
            }
            match memchr::memchr2(b'\n', b'\r', &chunk[pos..]) {
                Some(i) => {
                    let end = pos + i;
                    self.skip_lf = chunk[end] == b'\r';
                    let line = if self.line.is_empty() {
                        chunk.slice(pos..end)
                    } else {
                        self.line.extend_from_slice(&chunk[pos..end]);
                        self.line.split().freeze()
                    };
                    pos = end + 1;
                    self.process_line(line, out);
                }
                None => {
                    self.line.extend_from_slice(&chunk[pos..]);
                    pos = chunk.len();
                }
            }
            if self.line.len() + self.data_len > self.max_event {
                return Err(EventTooLarge);
            }
        }
        Ok(())
    }

    fn process_line(&mut self, line: Bytes, out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment, e.g. a keep-alive
        }
        let (field, value) = match memchr::memchr(b':', &line) {
            Some(i) => {
                let start = if line.get(i + 1) == Some(&b' ') { i + 2 } else { i + 1 };
                (line.slice(..i), line.slice(start..))
            }
            None => (line.clone(), Bytes::new()),
        };
        match &field[..] {
            b"data" => {
                self.data_len += value.len() + 1;
                self.data.push(value);
            }
            b"event" => self.event = String::from_utf8_lossy(&value).into_owned(),
            b"id" if !value.contains(&0) => {
                self.pending_id = Some(String::from_utf8_lossy(&value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Only digits: a parse can fail only by overflow, which is more than the most.
                let ms = std::str::from_utf8(&value)
                    .unwrap_or("")
                    .parse::<u64>()
                    .unwrap_or(u64::MAX);
                self.retry = Some(Duration::from_millis(ms).min(MAX_RETRY));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if let Some(id) = self.pending_id.take() {
            self.last_id = if id.is_empty() { None } else { Some(id) };
        }
        let event = std::mem::take(&mut self.event);
        self.data_len = 0;
        let data = match self.data.len() {
            0 => return, // e.g. a priming event that only carries an id
            1 => self.data.pop().expect("one data line"),
            _ => {
                let mut joined = BytesMut::with_capacity(self.data.iter().map(|d| d.len() + 1).sum());
                for (n, d) in self.data.drain(..).enumerate() {
                    if n > 0 {
                        joined.extend_from_slice(b"\n");
                    }
                    joined.extend_from_slice(&d);
                }
                joined.freeze()
            }
        };
        if data.is_empty() {
            return; // nothing a JSON-RPC peer could use
        }
        out.push(Event { event, data });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> (Vec<Event>, Parser) {
        let mut p = Parser::new(1 << 20);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(&Bytes::copy_from_slice(c), &mut out).unwrap();
        }
        (out, p)
    }

    #[test]
    fn events_across_chunks_and_line_endings() {
        let (ev, p) = parse_all(&[
            b"\xEF\xBB\xBF: keep-alive\r\n",
            b"id: e1\r",
            b"\nretry: 500\n\nevent: message\ndata: {\"a\":",
            b"1}\r\n\r\nid: e2\ndata: line1\ndata: line2\n",
            b"\n",
        ]);
        assert_eq!(ev.len(), 2);
        assert_eq!(&ev[0].data[..], br#"{"a":1}"#);
        assert!(ev[0].is_message());
        assert_eq!(&ev[1].data[..], b"line1\nline2");
        assert_eq!(p.last_event_id(), Some("e2"));
        assert_eq!(p.retry(), Some(Duration::from_millis(500)));
    }

    #[test]
    fn a_huge_retry_is_clamped() {
        let (_, p) = parse_all(&[b"retry: 99999999999999\n\n"]);
        assert_eq!(p.retry(), Some(MAX_RETRY));
        // Beyond u64 too (it was ignored, found by the sse_parser fuzz target's reference).
        let (_, p) = parse_all(&[b"retry: 99999999999999999999999\n\n"]);
        assert_eq!(p.retry(), Some(MAX_RETRY));
    }

    #[test]
    fn priming_event_sets_id_without_dispatch() {
        let (ev, p) = parse_all(&[b"id: 0\ndata:\n\n"]);
        assert!(ev.is_empty());
        assert_eq!(p.last_event_id(), Some("0"));
    }

    #[test]
    fn named_events_and_field_without_colon() {
        let (ev, _) = parse_all(&[b"event: endpoint\ndata: /messages?sessionId=abc\n\ndata\n\n"]);
        assert_eq!(ev[0].event, "endpoint");
        assert!(!ev[0].is_message());
        assert_eq!(&ev[0].data[..], b"/messages?sessionId=abc");
        assert_eq!(ev.len(), 1, "an event whose data is empty is not passed on");
    }

    #[test]
    fn incomplete_event_is_not_dispatched() {
        let (ev, _) = parse_all(&[b"data: {\"partial\":true}\n"]);
        assert!(ev.is_empty());
    }

    #[test]
    fn a_data_line_within_one_chunk_is_not_copied() {
        let chunk = Bytes::from_static(b"event: message\ndata: {\"a\":1}\n\n");
        let mut p = Parser::new(1 << 20);
        let mut out = Vec::new();
        p.feed(&chunk, &mut out).unwrap();
        assert_eq!(&out[0].data[..], br#"{"a":1}"#);
        assert!(chunk.as_ptr_range().contains(&out[0].data.as_ptr()));
    }

    #[test]
    fn oversized_event_is_refused() {
        let mut p = Parser::new(16);
        let mut out = Vec::new();
        assert!(
            p.feed(&Bytes::from_static(b"data: 0123456789abcdef0123\n"), &mut out)
                .is_err()
        );
    }
}
