//! The stdio side: newline-delimited JSON-RPC read from stdin on one thread and written to
//! stdout on another, so the async runtime never blocks on the pipes.

use std::io::{self, BufRead, Write};

use bytes::Bytes;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

/// What the reader thread delivers.
#[derive(Debug)]
pub enum Input {
    Line(Bytes),
    /// A line longer than the limit was skipped; `id` is its top-level id when one was seen.
    TooLong {
        id: Option<Box<RawValue>>,
        len: usize,
    },
    Eof,
    Failed(io::Error),
}

/// Reads `reader` line by line on a thread of its own. Blank lines are skipped; a trailing
/// `\r` is dropped; a line over `max` bytes is discarded without being held in memory.
pub fn spawn_reader<R: io::Read + Send + 'static>(
    reader: R,
    max: usize,
    tx: mpsc::Sender<Input>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let last = match read_lines(reader, max, &tx) {
                Ok(()) => Input::Eof,
                Err(e) => Input::Failed(e),
            };
            let _ = tx.blocking_send(last);
        })
        .expect("spawning the stdin thread")
}

fn read_lines<R: io::Read>(reader: R, max: usize, tx: &mpsc::Sender<Input>) -> io::Result<()> {
    let mut r = io::BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    // Set while skipping an oversized line.
    let mut skipping: Option<(IdScanner, usize)> = None;
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            // EOF: a last line without a newline still counts.
            if let Some((scan, len)) = skipping.take() {
                send(tx, Input::TooLong { id: scan.id(), len })?;
            } else if !line.is_empty() {
                send_line(tx, std::mem::take(&mut line))?;
            }
            return Ok(());
        }
        let (chunk, end) = match memchr::memchr(b'\n', buf) {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let consumed = end.unwrap_or(buf.len());
        match &mut skipping {
            Some((scan, len)) => {
                scan.feed(chunk);
                *len += chunk.len();
            }
            None if line.len() + chunk.len() > max => {
                let mut scan = IdScanner::default();
                scan.feed(&line);
                scan.feed(chunk);
                skipping = Some((scan, line.len() + chunk.len()));
                line = Vec::new();
            }
            None => line.extend_from_slice(chunk),
        }
        r.consume(consumed);
        if end.is_some() {
            if let Some((scan, len)) = skipping.take() {
                send(tx, Input::TooLong { id: scan.id(), len })?;
            } else {
                send_line(tx, std::mem::take(&mut line))?;
            }
        }
    }
}

fn send_line(tx: &mpsc::Sender<Input>, mut line: Vec<u8>) -> io::Result<()> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    send(tx, Input::Line(Bytes::from(line)))
}

fn send(tx: &mpsc::Sender<Input>, input: Input) -> io::Result<()> {
    // The bridge has stopped listening: nothing more to read for.
    tx.blocking_send(input)
        .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "bridge stopped"))
}

/// Writes each message as one line on a thread of its own, flushing when the queue is empty.
/// `broken` fires when stdout can no longer be written (the client went away).
pub fn spawn_writer<W: Write + Send + 'static>(
    writer: W,
    mut rx: mpsc::Receiver<Bytes>,
    broken: oneshot::Sender<io::Error>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("stdout".into())
        .spawn(move || {
            let mut w = io::BufWriter::with_capacity(64 * 1024, writer);
            let result = (|| -> io::Result<()> {
                while let Some(msg) = rx.blocking_recv() {
                    write_line(&mut w, &msg)?;
                    while let Ok(more) = rx.try_recv() {
                        write_line(&mut w, &more)?;
                    }
                    w.flush()?;
                }
                w.flush()
            })();
            if let Err(e) = result {
                let _ = broken.send(e);
            }
        })
        .expect("spawning the stdout thread")
}

fn write_line<W: Write>(w: &mut W, msg: &[u8]) -> io::Result<()> {
    w.write_all(msg)?;
    w.write_all(b"\n")
}

/// Finds the top-level `"id"` of a JSON object as it streams past, so that an oversized
/// request can still be answered with its own id.
#[derive(Default)]
struct IdScanner {
    depth: u32,
    in_str: bool,
    esc: bool,
    /// At depth 1 and before a `:`: the string being read is a key.
    key_pos: bool,
    key: Vec<u8>,
    key_is_id: bool,
    capture: Option<Vec<u8>>,
    found: Option<Vec<u8>>,
    overflow: bool,
}

const ID_MAX: usize = 512;

impl IdScanner {
    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        if let Some(c) = &mut self.capture {
            if c.len() < ID_MAX {
                c.push(b);
            } else {
                self.overflow = true;
            }
        }
        if self.in_str {
            if self.esc {
                self.esc = false;
            } else if b == b'\\' {
                self.esc = true;
            } else if b == b'"' {
                self.in_str = false;
                if self.depth == 1 && self.key_pos {
                    self.key_is_id = self.key == b"id";
                }
                return;
            }
            if self.depth == 1 && self.key_pos && self.key.len() <= 2 {
                self.key.push(b);
            }
            return;
        }
        match b {
            b'"' => {
                self.in_str = true;
                if self.depth == 1 && self.key_pos {
                    self.key.clear();
                }
            }
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth == 1 {
                    self.key_pos = b == b'{';
                }
            }
            b'}' | b']' => {
                if self.depth == 1 {
                    self.end_capture(true);
                }
                self.depth = self.depth.saturating_sub(1);
            }
            b':' if self.depth == 1 => {
                self.key_pos = false;
                if self.key_is_id && self.found.is_none() {
                    self.capture = Some(Vec::new());
                }
            }
            b',' if self.depth == 1 => {
                self.end_capture(true);
                self.key_pos = true;
                self.key_is_id = false;
            }
            _ => {}
        }
    }

    fn end_capture(&mut self, drop_last: bool) {
        if let Some(mut c) = self.capture.take() {
            if drop_last {
                c.pop(); // the `,` or `}` that ended the value
            }
            if !self.overflow {
                self.found = Some(c);
            }
        }
    }

    fn id(&self) -> Option<Box<RawValue>> {
        let raw = std::str::from_utf8(self.found.as_deref()?).ok()?.trim();
        let v = RawValue::from_string(raw.to_owned()).ok()?;
        crate::bridge::message::Id::from_raw(&v).map(|_| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Option<String> {
        let mut sc = IdScanner::default();
        sc.feed(s.as_bytes());
        sc.id().map(|r| r.get().to_owned())
    }

    #[test]
    fn scanner_finds_top_level_id_only() {
        assert_eq!(
            scan(r#"{"jsonrpc":"2.0","id":42,"method":"x","params":{"id":7}}"#).as_deref(),
            Some("42")
        );
        assert_eq!(
            scan(r#"{"params":{"id":7,"s":"\"id\":9"},"id" : "a\"b" }"#).as_deref(),
            Some(r#""a\"b""#)
        );
        assert_eq!(scan(r#"{"params":{"id":7}}"#), None);
        assert_eq!(scan(r#"{"id":{"nested":1}}"#), None);
        assert_eq!(scan(r#"{"method":"x","params":{"big":"...."#), None);
        assert_eq!(scan(r#"{"id":5,"params":{"big":"...."#).as_deref(), Some("5"));
    }

    fn run(input: &[u8], max: usize) -> Vec<Input> {
        let (tx, mut rx) = mpsc::channel(64);
        spawn_reader(io::Cursor::new(input.to_vec()), max, tx).join().unwrap();
        let mut v = Vec::new();
        while let Ok(i) = rx.try_recv() {
            v.push(i);
        }
        v
    }

    #[test]
    fn reader_frames_lines() {
        let got = run(b"{\"a\":1}\r\n\n   \n{\"b\":2}", 1024);
        assert!(matches!(&got[0], Input::Line(l) if &l[..] == b"{\"a\":1}"));
        assert!(matches!(&got[1], Input::Line(l) if &l[..] == b"{\"b\":2}"));
        assert!(matches!(got[2], Input::Eof));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn reader_skips_oversized_lines_and_keeps_going() {
        let big = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"m\",\"params\":{{\"x\":\"{}\"}}}}\n{{\"ok\":1}}\n",
            "y".repeat(5000)
        );
        let got = run(big.as_bytes(), 2048);
        match &got[0] {
            Input::TooLong { id, len } => {
                assert_eq!(id.as_ref().unwrap().get(), "9");
                assert!(*len > 5000);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&got[1], Input::Line(l) if &l[..] == b"{\"ok\":1}"));
    }
}
