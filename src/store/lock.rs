//! Cross-process locks: an OS advisory lock (`flock` on Unix, `LockFileEx` on Windows, through
//! `std::fs::File::try_lock`) on a file under `<home>/locks/`. The OS drops it when the holder
//! closes the file or dies, so a crashed or killed process never leaves a stale lock. Waiting is
//! done by polling `try_lock`, so every wait is bounded by the caller's timeout.
//!
//! Lock files are never deleted: removing a file another process is about to lock would let two
//! processes "hold" two different files of the same name.

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::io::{self, Seek, Write};
use std::path::Path;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::files;

/// How often a waiter tries again.
pub(crate) const POLL: Duration = Duration::from_millis(25);

/// Takes the lock on `path`, waiting at most `timeout`. `Ok(None)` when the time ran out.
pub(crate) fn lock_file(path: &Path, timeout: Duration) -> io::Result<Option<File>> {
    let file = files::open_private(path, false)?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL.min(deadline - now));
    }
}

/// Notes who holds a lock, for diagnostics (`status`, or a human with `cat`). Best effort.
pub(crate) fn note_holder(file: &mut File, scope: &str) {
    let _ = (|| -> io::Result<()> {
        file.set_len(0)?;
        file.rewind()?;
        writeln!(
            file,
            "pid {}\nscope {scope}\nsince {}",
            std::process::id(),
            // Seconds since the Unix epoch (lock.rs reads nothing from the store's mod.rs).
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        )
    })();
}

/// Who holds the lock on `path`, as `note_holder` wrote it: the process id and since when
/// (seconds since the Unix epoch). Best effort.
pub(crate) fn read_holder(path: &Path) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some((u32::try_from(field("pid")?).ok()?, field("since")?))
}

/// Locks within this process only, for the memory back end (which has nothing to share with
/// other processes).
static LOCAL: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static LOCAL_FREED: Condvar = Condvar::new();

pub(crate) struct LocalLock(String);

impl Drop for LocalLock {
    fn drop(&mut self) {
        let mut held = LOCAL.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(set) = held.as_mut() {
            set.remove(&self.0);
        }
        LOCAL_FREED.notify_all();
    }
}

pub(crate) fn lock_local(scope: &str, timeout: Duration) -> Option<LocalLock> {
    let deadline = Instant::now() + timeout;
    let mut held = LOCAL.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let set = held.get_or_insert_with(HashSet::new);
        if set.insert(scope.to_owned()) {
            return Some(LocalLock(scope.to_owned()));
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        held = LOCAL_FREED
            .wait_timeout(held, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn threads_exclude_each_other() {
        let d = tempfile::tempdir().unwrap();
        let path = Arc::new(d.path().join("x.lock"));
        let inside = Arc::new(AtomicUsize::new(0));
        let entered = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (path, inside, entered) = (path.clone(), inside.clone(), entered.clone());
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let f = lock_file(&path, Duration::from_secs(30)).unwrap().expect("lock");
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                        std::thread::sleep(Duration::from_millis(2));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        entered.fetch_add(1, Ordering::SeqCst);
                        drop(f);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(entered.load(Ordering::SeqCst), 30);
    }

    #[test]
    fn a_wait_is_bounded_by_the_timeout() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.lock");
        let held = lock_file(&path, Duration::ZERO).unwrap().expect("free");
        let t = Instant::now();
        assert!(lock_file(&path, Duration::from_millis(120)).unwrap().is_none());
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(120), "{waited:?}");
        assert!(waited < Duration::from_secs(2), "{waited:?}");
        drop(held);
        assert!(lock_file(&path, Duration::ZERO).unwrap().is_some());
    }

    #[test]
    fn a_waiter_gets_the_lock_when_it_is_released() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.lock");
        let held = lock_file(&path, Duration::ZERO).unwrap().expect("free");
        let p2 = path.clone();
        let waiter = std::thread::spawn(move || lock_file(&p2, Duration::from_secs(10)).unwrap().is_some());
        std::thread::sleep(Duration::from_millis(100));
        drop(held);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn local_locks() {
        let a = lock_local("scope-a", Duration::ZERO).expect("free");
        assert!(lock_local("scope-a", Duration::from_millis(30)).is_none());
        let b = lock_local("scope-b", Duration::ZERO);
        assert!(b.is_some());
        let waiter = std::thread::spawn(|| lock_local("scope-a", Duration::from_secs(10)).is_some());
        std::thread::sleep(Duration::from_millis(50));
        drop(a);
        assert!(waiter.join().unwrap());
    }

    /// The child half of `lock_is_freed_when_the_holder_is_killed`: takes the lock, says so,
    /// and sleeps until it is killed. Does nothing in a normal test run.
    #[test]
    fn lock_holder_child() {
        let Ok(path) = std::env::var("MCP_VALET_TEST_LOCK_CHILD") else {
            return;
        };
        let _f = lock_file(Path::new(&path), Duration::ZERO)
            .unwrap()
            .expect("child got the lock");
        println!("\nCHILD-HOLDS-THE-LOCK");
        io::stdout().flush().unwrap();
        std::thread::sleep(Duration::from_secs(600));
    }

    #[cfg(unix)]
    #[test]
    fn lock_is_freed_when_the_holder_is_killed() {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("x.lock");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::lock::tests::lock_holder_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MCP_VALET_TEST_LOCK_CHILD", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert_ne!(out.read_line(&mut line).unwrap(), 0, "the child ended before locking");
            if line.trim() == "CHILD-HOLDS-THE-LOCK" {
                break;
            }
        }
        assert!(
            lock_file(&path, Duration::from_millis(100)).unwrap().is_none(),
            "the child holds it"
        );
        child.kill().unwrap(); // SIGKILL: no destructor runs in the child
        child.wait().unwrap();
        assert!(
            lock_file(&path, Duration::from_secs(5)).unwrap().is_some(),
            "the OS released the dead child's lock"
        );
    }
}
