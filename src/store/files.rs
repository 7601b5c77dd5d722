//! Private directories and files, atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The most a state or secrets document may hold; a larger one (or a device such as
/// `/dev/zero` in its place) is refused, not read.
pub(crate) const MAX_DOCUMENT: u64 = 16 << 20;

/// Creates `dir` (and missing parents) with mode 0700. A directory that already exists must be
/// ours and not writable by others (another user could plant files or symlinks in it); one we
/// create is set to 0700 whatever the umask.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return check_ours(dir, &fs::metadata(dir)?);
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

/// Refuses what another user owns, or (a directory) others may write to. Always fine where
/// ownership is not a Unix uid.
fn check_ours(path: &Path, meta: &fs::Metadata) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} belongs to another user (uid {}); refusing to use it",
                    path.display(),
                    meta.uid()
                ),
            ));
        }
        if meta.is_dir() && meta.mode() & 0o022 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} may be written by other users (mode {:o}); refusing to use it (chmod 700 it)",
                    path.display(),
                    meta.mode() & 0o777
                ),
            ));
        }
    }
    let _ = (path, meta);
    Ok(())
}

/// Checks that an opened file is a regular file of ours (not a device, FIFO or another
/// user's file).
fn check_regular(path: &Path, f: &File) -> io::Result<fs::Metadata> {
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file; refusing to use it", path.display()),
        ));
    }
    check_ours(path, &meta)?;
    Ok(meta)
}

/// Opens (creating if needed) a file readable and writable by the owner only. The mode is
/// given at creation and set again after it, so a umask cannot widen or narrow it. A symlink
/// is not followed (another user's link could make us truncate and chmod a file of ours), and
/// what is opened must be a regular file of ours.
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
        o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let f = o.open(path).map_err(|e| refused_link(path, e))?;
    check_regular(path, &f)?;
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

/// O_NOFOLLOW's error for a symlink (ELOOP), said plainly.
fn refused_link(path: &Path, e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is a symbolic link; refusing to follow it", path.display()),
        );
    }
    let _ = path;
    e
}

/// The whole file, or `None` when there is none. Not through a symlink, only a regular file of
/// ours, and at most `MAX_DOCUMENT` bytes.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let mut o = OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = match o.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refused_link(path, e)),
    };
    check_regular(path, &f)?;
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(f, MAX_DOCUMENT + 1), &mut bytes)?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {} MiB; refusing to read it",
                path.display(),
                MAX_DOCUMENT >> 20
            ),
        ));
    }
    Ok(Some(bytes))
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
