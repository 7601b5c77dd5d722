//! Private directories and files, atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Creates `dir` (and missing parents) with mode 0700. A directory that already exists is left
/// as it is; one we create is set to 0700 whatever the umask.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Opens (creating if needed) a file readable and writable by the owner only. The mode is
/// given at creation and set again after it, so a umask cannot widen or narrow it.
pub(crate) fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true);
    if create_new {
        o.create_new(true);
    } else {
        o.create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let f = o.open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f.metadata()?.permissions().mode() & 0o777;
        if mode != 0o600 {
            f.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(f)
}

/// The whole file, or `None` when there is none.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `data` so that a reader (or a crash) sees either the old or the new
/// content, never a mix: write a 0600 temporary file in the same directory, fsync it, rename
/// it over `path`, fsync the directory (so the rename itself survives a power cut).
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = open_private(&tmp, true)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Windows: MoveFileEx (behind fs::rename) has no directory handle to flush.
    Ok(())
}

/// Removes temporary files of `path` left by a writer that died before its rename. Call it only
/// under the lock that every writer of `path` holds (so none of them is live). Best effort.
pub(crate) fn remove_stale_temps(path: &Path) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// Moves an unreadable file aside as `<name>.corrupt-<unix seconds>` and returns the new path.
pub(crate) fn move_aside(path: &Path, now: i64) -> io::Result<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut target = dir.join(format!("{name}.corrupt-{now}"));
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{name}.corrupt-{now}-{n}"));
        n += 1;
    }
    fs::rename(path, &target)?;
    sync_dir(dir)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["state.json".to_owned()]);
        #[cfg(unix)]
        assert_eq!(mode(&p), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn modes_hold_under_a_loose_file_mode_and_a_replaced_wide_file() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("a/b/home");
        ensure_dir(&home).unwrap();
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&d.path().join("a/b")), 0o700);
        // A file someone made world-readable is replaced by a 0600 one.
        let p = home.join("secrets.json");
        fs::write(&p, b"{}").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&p, b"{\"version\":1}").unwrap();
        assert_eq!(mode(&p), 0o600);
        // A lock file created by us is 0600 too.
        let l = home.join("x.lock");
        open_private(&l, false).unwrap();
        assert_eq!(mode(&l), 0o600);
    }

    #[test]
    fn move_aside_picks_a_free_name() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state.json");
        fs::write(&p, b"garbage").unwrap();
        let a = move_aside(&p, 42).unwrap();
        assert!(a.ends_with("state.json.corrupt-42"));
        fs::write(&p, b"garbage 2").unwrap();
        let b = move_aside(&p, 42).unwrap();
        assert!(b.ends_with("state.json.corrupt-42-1"));
        assert!(!p.exists());
        assert_eq!(fs::read(b).unwrap(), b"garbage 2");
    }
}
