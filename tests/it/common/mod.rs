pub mod auth;
pub mod era;
pub mod keyring;
pub mod peers;
pub mod pty;
pub mod stand_in;
pub mod valet;

/// Collects everything a child writes to a pipe (its stderr, say) on a thread of its own.
pub fn capture<R: std::io::Read + Send + 'static>(mut pipe: R) -> (Captured, std::thread::JoinHandle<()>) {
    let sink = Captured::default();
    let out = sink.clone();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (out, t)
}

pub type Captured = std::sync::Arc<std::sync::Mutex<Vec<u8>>>;
