//! The stdio side: newline-delimited JSON-RPC in on stdin, out on stdout.
//!
//! When stdin and stdout are pipes or sockets (as a desktop client starts us), they are read and
//! written by tasks on the runtime's own thread, non-blocking: no thread hop per message. Their
//! flags are restored on the way out. Anything else (a file, a terminal) gets a thread each, so
//! the runtime never blocks on them.

use std::io::{self, BufRead, Write};

use bytes::Bytes;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};

/// What the reader delivers.
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

/// Cuts a byte stream into lines. Blank lines are skipped; a trailing `\r` is dropped; a line
/// over `max` bytes is discarded as it streams past, keeping only its top-level id.
pub struct Framer {
    max: usize,
    line: Vec<u8>,
    skipping: Option<(IdScanner, usize)>,
}

impl Framer {
    pub fn new(max: usize) -> Framer {
        Framer {
            max,
            line: Vec::new(),
            skipping: None,
        }
    }

    pub fn feed(&mut self, mut buf: &[u8], out: &mut Vec<Input>) {
        while !buf.is_empty() {
            let (chunk, end) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            match &mut self.skipping {
                Some((scan, len)) => {
                    scan.feed(chunk);
                    *len += chunk.len();
                }
                None if self.line.len() + chunk.len() > self.max => {
                    let mut scan = IdScanner::default();
                    scan.feed(&self.line);
                    scan.feed(chunk);
                    self.skipping = Some((scan, self.line.len() + chunk.len()));
                    self.line = Vec::new();
                }
                None if self.line.is_empty() && end.is_some() => {
                    // The common case: a whole line in the buffer, copied once.
                    push_line(chunk.to_vec(), out);
                }
                None => self.line.extend_from_slice(chunk),
            }
            match end {
                Some(n) => {
                    self.end_line(out);
                    buf = &buf[n..];
                }
                None => buf = &[],
            }
        }
    }

    fn end_line(&mut self, out: &mut Vec<Input>) {
        if let Some((scan, len)) = self.skipping.take() {
            out.push(Input::TooLong { id: scan.id(), len });
        } else if !self.line.is_empty() {
            push_line(std::mem::take(&mut self.line), out);
        }
    }

    /// End of input: a last line without a newline still counts.
    pub fn finish(&mut self, out: &mut Vec<Input>) {
        self.end_line(out);
    }
}

fn push_line(mut line: Vec<u8>, out: &mut Vec<Input>) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if !line.iter().all(u8::is_ascii_whitespace) {
        out.push(Input::Line(Bytes::from(line)));
    }
}

/// Reads `reader` on a thread of its own.
pub fn spawn_reader<R: io::Read + Send + 'static>(
    reader: R,
    max: usize,
    tx: mpsc::Sender<Input>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut r = io::BufReader::with_capacity(64 * 1024, reader);
            let mut framer = Framer::new(max);
            let mut out = Vec::new();
            let last = loop {
                let buf = match r.fill_buf() {
                    Ok(b) => b,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Input::Failed(e),
                };
                if buf.is_empty() {
                    framer.finish(&mut out);
                    break Input::Eof;
                }
                let n = buf.len();
                framer.feed(buf, &mut out);
                r.consume(n);
                for i in out.drain(..) {
                    if tx.blocking_send(i).is_err() {
                        return; // the bridge stopped listening
                    }
                }
            };
            for i in out.drain(..).chain(std::iter::once(last)) {
                let _ = tx.blocking_send(i);
            }
        })
        .expect("spawning the stdin thread")
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

/// stdin and stdout as non-blocking pipes served on the runtime's thread.
#[cfg(unix)]
pub mod pipes {
    use std::io;
    use std::os::fd::{AsRawFd, RawFd};

    use std::collections::VecDeque;

    use bytes::{Buf, Bytes};
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;
    use tokio::sync::{mpsc, oneshot};

    use super::{Framer, Input};

    struct Fd(RawFd);

    impl AsRawFd for Fd {
        fn as_raw_fd(&self) -> RawFd {
            self.0
        }
    }

    /// Puts fds 0 and 1 in non-blocking mode, and back as they were when dropped.
    pub struct Restore(Vec<(RawFd, libc::c_int)>);

    impl Drop for Restore {
        fn drop(&mut self) {
            for &(fd, flags) in &self.0 {
                // SAFETY: fcntl on our own standard descriptors, with flags read from them.
                unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
            }
        }
    }

    fn pipe_or_socket(fd: RawFd) -> bool {
        // SAFETY: fstat writes into a zeroed stat buffer we own.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut st) } != 0 {
            return false;
        }
        let kind = st.st_mode & libc::S_IFMT;
        kind == libc::S_IFIFO || kind == libc::S_IFSOCK
    }

    /// Only when both are pipes or sockets: a terminal or a file may be shared with other
    /// processes that would not expect non-blocking mode.
    pub fn take() -> Option<Restore> {
        if !(pipe_or_socket(0) && pipe_or_socket(1)) {
            return None;
        }
        let mut restore = Restore(Vec::new());
        for fd in [0, 1] {
            // SAFETY: fcntl on fds 0 and 1, which exist (fstat succeeded).
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
                return None; // `restore` puts back what was changed
            }
            restore.0.push((fd, flags));
        }
        Some(restore)
    }

    fn io_read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: reading into a buffer we own, at most its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    fn register(fd: RawFd, interest: Interest) -> io::Result<AsyncFd<Fd>> {
        // SAFETY: fds 0 and 1 stay open for the life of the process; nothing closes them.
        unsafe { AsyncFd::register_with_interest(Fd(fd), interest) }.map_err(io::Error::from)
    }

    /// Serves stdin and stdout on the runtime's thread; fails, changing nothing, when either
    /// cannot be polled.
    #[allow(clippy::type_complexity)]
    pub fn start(
        max: usize,
        tx: mpsc::Sender<Input>,
        rx: mpsc::Receiver<Bytes>,
        broken: oneshot::Sender<io::Error>,
    ) -> Result<tokio::task::JoinHandle<()>, (io::Error, mpsc::Receiver<Bytes>, oneshot::Sender<io::Error>)> {
        let fds = register(0, Interest::READABLE).and_then(|i| Ok((i, register(1, Interest::WRITABLE)?)));
        match fds {
            Ok((input, output)) => {
                tokio::spawn(read(input, max, tx));
                Ok(tokio::spawn(write(output, rx, broken)))
            }
            Err(e) => Err((e, rx, broken)),
        }
    }

    async fn read(afd: AsyncFd<Fd>, max: usize, tx: mpsc::Sender<Input>) {
        let mut framer = Framer::new(max);
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = Vec::new();
        let last = loop {
            let mut guard = match afd.readable().await {
                Ok(g) => g,
                Err(e) => break Input::Failed(e),
            };
            match guard.try_io(|fd| io_read(fd.get_ref().0, &mut buf)) {
                Err(_would_block) => continue,
                Ok(Ok(0)) => {
                    framer.finish(&mut out);
                    break Input::Eof;
                }
                Ok(Ok(n)) => {
                    framer.feed(&buf[..n], &mut out);
                    // A short read emptied the pipe: wait for the poller instead of reading
                    // again only to hear "would block".
                    if n < buf.len() {
                        guard.clear_ready();
                    }
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => break Input::Failed(e),
            }
            for i in out.drain(..) {
                if tx.send(i).await.is_err() {
                    return;
                }
            }
        };
        for i in out.drain(..).chain(std::iter::once(last)) {
            let _ = tx.send(i).await;
        }
    }

    /// Writes the queued messages, gathering what is waiting into one `writev` (the messages
    /// themselves are not copied).
    async fn write(afd: AsyncFd<Fd>, mut rx: mpsc::Receiver<Bytes>, broken: oneshot::Sender<io::Error>) {
        const NEWLINE: Bytes = Bytes::from_static(b"\n");
        let mut queue: VecDeque<Bytes> = VecDeque::new();
        while let Some(msg) = rx.recv().await {
            queue.push_back(msg);
            queue.push_back(NEWLINE);
            while queue.len() < 512
                && let Ok(more) = rx.try_recv()
            {
                queue.push_back(more);
                queue.push_back(NEWLINE);
            }
            while !queue.is_empty() {
                let mut guard = match afd.writable().await {
                    Ok(g) => g,
                    Err(e) => {
                        let _ = broken.send(e);
                        return;
                    }
                };
                match guard.try_io(|fd| io_writev(fd.get_ref().0, &queue)) {
                    Err(_would_block) => continue,
                    Ok(Ok(mut n)) => {
                        while n > 0 {
                            let front = queue.front_mut().expect("written bytes were queued");
                            if n >= front.len() {
                                n -= front.len();
                                queue.pop_front();
                            } else {
                                front.advance(n);
                                n = 0;
                            }
                        }
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Ok(Err(e)) => {
                        let _ = broken.send(e);
                        return;
                    }
                }
            }
        }
    }

    fn io_writev(fd: RawFd, queue: &VecDeque<Bytes>) -> io::Result<usize> {
        let iov: Vec<libc::iovec> = queue
            .iter()
            .take(1024)
            .map(|b| libc::iovec {
                iov_base: b.as_ptr() as *mut libc::c_void,
                iov_len: b.len(),
            })
            .collect();
        // SAFETY: the iovecs point into buffers the queue keeps alive for the call.
        let n = unsafe { libc::writev(fd, iov.as_ptr(), iov.len() as libc::c_int) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
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
