//! Private file spaces: one folder per user under `<data dir>/files/`, behind the
//! [`FileStorage`] interface so another backend can follow.
//!
//! Every path is resolved by the kernel *beneath* the user's folder with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` on every call, so
//! a symbolic link planted in a user's space (or swapped in between two calls) is never
//! followed, and no path can leave the space. Nothing here creates links or special files.
//! Writes go to a temporary file that is fsynced and then renamed over the target, so a crash
//! leaves the old content or the new one, never a mixture. Errors never show host paths.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Largest number of bytes one read returns (a ranged read can fetch the rest).
pub const MAX_READ_BYTES: u64 = 1024 * 1024;
const MAX_SEGMENT_BYTES: usize = 255;
const MAX_PATH_BYTES: usize = 1024;
const MAX_SEGMENTS: usize = 32;
/// Temporary files of unfinished writes carry this prefix; users cannot name such files.
const TEMP_PREFIX: &str = ".omnichat-tmp-";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("path refused: {0}")]
    BadPath(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("quota exceeded: this would use {needed} bytes of the {quota} allowed")]
    Quota { needed: u64, quota: u64 },
    #[error("the server could not complete the file operation")]
    Internal,
}

/// A path inside a user's file space: relative, `/`-separated, already normalised. The empty
/// path is the space's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPath(Vec<String>);

impl UserPath {
    /// Refuses (rather than "fixes") anything ambiguous: absolute paths, `..`, `.`, empty
    /// segments, backslashes, NUL and control characters, over-long names.
    pub fn parse(text: &str) -> Result<Self, FileError> {
        let bad = |why: &str| Err(FileError::BadPath(why.to_string()));
        if text.is_empty() {
            return Ok(Self(Vec::new()));
        }
        if text.len() > MAX_PATH_BYTES {
            return bad("the path is too long");
        }
        if text.starts_with('/') {
            return bad("paths are relative to your file space; remove the leading /");
        }
        if text.contains('\\') {
            return bad("use / to separate folders, not \\");
        }
        if text.chars().any(char::is_control) {
            return bad("the path contains control characters");
        }
        // One trailing slash on a folder name is harmless; anything else empty is not.
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        let segments: Vec<String> = trimmed.split('/').map(str::to_string).collect();
        if segments.len() > MAX_SEGMENTS {
            return bad("the path has too many folders");
        }
        for segment in &segments {
            match segment.as_str() {
                "" => return bad("the path has an empty segment (//)"),
                "." | ".." => return bad("the path may not contain . or .."),
                s if s.len() > MAX_SEGMENT_BYTES => {
                    return bad("a name in the path is longer than 255 bytes");
                }
                s if s.starts_with(TEMP_PREFIX) => {
                    return bad("names starting with .omnichat-tmp- are reserved");
                }
                _ => {}
            }
        }
        Ok(Self(segments))
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_relative(&self) -> String {
        self.0.join("/")
    }

    fn split_last(&self) -> Option<(&[String], &String)> {
        self.0.split_last().map(|(last, parents)| (parents, last))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Folder,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub modified: i64,
}

#[derive(Debug, Clone)]
pub struct ReadResult {
    pub bytes: Vec<u8>,
    pub size: u64,
    pub offset: u64,
    pub eof: bool,
}

#[derive(Debug, Clone)]
pub struct WriteResult {
    pub size: u64,
    pub created: bool,
}

/// Where users' files live. Methods are synchronous-looking async calls; the local backend
/// does its blocking work off the async runtime.
#[async_trait]
pub trait FileStorage: Send + Sync {
    async fn list(&self, user_id: &str, path: &UserPath) -> Result<Vec<Entry>, FileError>;
    async fn read(
        &self,
        user_id: &str,
        path: &UserPath,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ReadResult, FileError>;
    async fn write(
        &self,
        user_id: &str,
        path: &UserPath,
        content: Vec<u8>,
    ) -> Result<WriteResult, FileError>;
    async fn delete(&self, user_id: &str, path: &UserPath) -> Result<EntryKind, FileError>;
}

/// Files on the local disk, one folder per user.
pub struct LocalFiles {
    root: PathBuf,
    max_file_bytes: u64,
    quota_bytes: u64,
    /// Writes of one user are serialised so the quota holds under concurrent writers.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn resolve_flags() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

/// Maps a system error to what the user may see (never a host path).
fn map_errno(errno: Errno) -> FileError {
    match errno {
        Errno::NOENT => FileError::NotFound,
        Errno::LOOP | Errno::XDEV => {
            FileError::BadPath("the path goes through a symbolic link".into())
        }
        Errno::NOTDIR => FileError::Conflict("a part of the path is a file, not a folder".into()),
        Errno::ISDIR => FileError::Conflict("the path is a folder".into()),
        Errno::NOTEMPTY => FileError::Conflict("the folder is not empty".into()),
        Errno::EXIST => FileError::Conflict("something with that name already exists".into()),
        Errno::NAMETOOLONG => FileError::BadPath("the path is too long".into()),
        other => {
            tracing::error!(errno = %other, "file operation failed");
            FileError::Internal
        }
    }
}

fn io_error(error: std::io::Error) -> FileError {
    match error.raw_os_error() {
        Some(code) => map_errno(Errno::from_raw_os_error(code)),
        None => {
            tracing::error!(error = %error, "file operation failed");
            FileError::Internal
        }
    }
}

/// Opens `relative` (a file or folder) beneath `base` without following any link.
fn open_beneath(base: &OwnedFd, relative: &str, flags: OFlags) -> Result<OwnedFd, FileError> {
    let path = if relative.is_empty() { "." } else { relative };
    rustix::fs::openat2(
        base,
        path,
        flags | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        resolve_flags(),
    )
    .map_err(map_errno)
}

fn open_dir_beneath(base: &OwnedFd, segments: &[String]) -> Result<OwnedFd, FileError> {
    open_beneath(
        base,
        &segments.join("/"),
        OFlags::RDONLY | OFlags::DIRECTORY,
    )
}

fn stat_kind(dir: &OwnedFd, name: &str) -> Result<Option<(FileType, u64)>, FileError> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some((
            FileType::from_raw_mode(stat.st_mode),
            stat.st_size as u64,
        ))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(map_errno(e)),
    }
}

/// Bytes of regular files in a folder tree (links and special files are not followed).
fn usage(dir: &OwnedFd) -> Result<u64, FileError> {
    let mut total = 0u64;
    let entries = rustix::fs::Dir::read_from(dir).map_err(map_errno)?;
    for entry in entries {
        let entry = entry.map_err(map_errno)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        match stat_kind(dir, &name)? {
            Some((FileType::RegularFile, size)) => total += size,
            Some((FileType::Directory, _)) => {
                let sub = open_beneath(dir, &name, OFlags::RDONLY | OFlags::DIRECTORY)?;
                total += usage(&sub)?;
            }
            _ => {}
        }
    }
    Ok(total)
}

/// A write whose content is on disk (fsynced) under a temporary name, not yet renamed into
/// place. Dropping it without [`StagedWrite::commit`] is what a crash at that point does.
pub struct StagedWrite {
    dir: OwnedFd,
    temp_name: String,
    final_name: String,
    size: u64,
    created: bool,
}

impl StagedWrite {
    pub fn commit(self) -> Result<WriteResult, FileError> {
        rustix::fs::renameat(
            &self.dir,
            self.temp_name.as_str(),
            &self.dir,
            self.final_name.as_str(),
        )
        .map_err(map_errno)?;
        // The rename itself must survive a crash: sync the folder.
        rustix::fs::fsync(&self.dir).map_err(map_errno)?;
        Ok(WriteResult {
            size: self.size,
            created: self.created,
        })
    }
}

impl LocalFiles {
    pub fn new(root: impl Into<PathBuf>, max_file_bytes: u64, quota_bytes: u64) -> Self {
        Self {
            root: root.into(),
            max_file_bytes,
            quota_bytes,
            locks: Mutex::new(HashMap::new()),
        }
    }

    fn user_lock(&self, user_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.locks.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks.entry(user_id.to_string()).or_default().clone()
    }

    /// The user's folder (created on first use), opened without following links.
    fn user_root(root: &Path, user_id: &str) -> Result<OwnedFd, FileError> {
        // User ids are our own UUIDs; anything else cannot name a folder.
        if user_id.is_empty() || !user_id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(FileError::Internal);
        }
        std::fs::create_dir_all(root).map_err(io_error)?;
        let base = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(map_errno)?;
        match rustix::fs::mkdirat(&base, user_id, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(map_errno(e)),
        }
        open_beneath(&base, user_id, OFlags::RDONLY | OFlags::DIRECTORY)
    }

    /// Checks size and quota and writes the content under a temporary name (see
    /// [`StagedWrite`]). The caller must hold the user's write lock.
    pub fn stage_write(
        &self,
        user_id: &str,
        path: &UserPath,
        content: &[u8],
    ) -> Result<StagedWrite, FileError> {
        let size = content.len() as u64;
        if size > self.max_file_bytes {
            return Err(FileError::TooLarge(self.max_file_bytes));
        }
        let Some((parents, name)) = path.split_last() else {
            return Err(FileError::BadPath(
                "give a file name, not the root folder".into(),
            ));
        };
        let root = Self::user_root(&self.root, user_id)?;
        // Create the parent folders one by one, each opened without following links.
        let mut dir = open_beneath(&root, "", OFlags::RDONLY | OFlags::DIRECTORY)?;
        for segment in parents {
            match rustix::fs::mkdirat(&dir, segment.as_str(), Mode::from_raw_mode(0o700)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(map_errno(e)),
            }
            dir = open_beneath(&dir, segment, OFlags::RDONLY | OFlags::DIRECTORY)?;
        }
        let existing = stat_kind(&dir, name)?;
        let old_size = match existing {
            None => 0,
            Some((FileType::RegularFile, size)) => size,
            Some((FileType::Directory, _)) => {
                return Err(FileError::Conflict("the path is a folder".into()));
            }
            Some(_) => return Err(FileError::BadPath("the path is not a regular file".into())),
        };
        let needed = usage(&root)?.saturating_sub(old_size) + size;
        if needed > self.quota_bytes {
            return Err(FileError::Quota {
                needed,
                quota: self.quota_bytes,
            });
        }
        let temp_name = format!(
            "{TEMP_PREFIX}{}",
            crate::crypto::b64url(&crate::crypto::random_bytes::<12>())
        );
        let fd = rustix::fs::openat(
            &dir,
            temp_name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(map_errno)?;
        let mut file = File::from(fd);
        let written = file.write_all(content).and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = rustix::fs::unlinkat(&dir, temp_name.as_str(), AtFlags::empty());
            return Err(io_error(e));
        }
        Ok(StagedWrite {
            dir,
            temp_name,
            final_name: name.clone(),
            size,
            created: existing.is_none(),
        })
    }
}

#[async_trait]
impl FileStorage for LocalFiles {
    async fn list(&self, user_id: &str, path: &UserPath) -> Result<Vec<Entry>, FileError> {
        let (root, user_id, path) = (self.root.clone(), user_id.to_string(), path.clone());
        blocking(move || {
            let base = Self::user_root(&root, &user_id)?;
            let dir = open_dir_beneath(&base, &path.0)?;
            let mut entries = Vec::new();
            for entry in rustix::fs::Dir::read_from(&dir).map_err(map_errno)? {
                let entry = entry.map_err(map_errno)?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name == "." || name == ".." || name.starts_with(TEMP_PREFIX) {
                    continue;
                }
                let stat = match rustix::fs::statat(&dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW)
                {
                    Ok(stat) => stat,
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(map_errno(e)),
                };
                let kind = match FileType::from_raw_mode(stat.st_mode) {
                    FileType::RegularFile => EntryKind::File,
                    FileType::Directory => EntryKind::Folder,
                    // Links and special files are not part of a file space.
                    _ => continue,
                };
                entries.push(Entry {
                    name,
                    size: if kind == EntryKind::File {
                        stat.st_size as u64
                    } else {
                        0
                    },
                    kind,
                    modified: stat.st_mtime,
                });
            }
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(entries)
        })
        .await
    }

    async fn read(
        &self,
        user_id: &str,
        path: &UserPath,
        offset: u64,
        length: Option<u64>,
    ) -> Result<ReadResult, FileError> {
        let (root, user_id, path) = (self.root.clone(), user_id.to_string(), path.clone());
        blocking(move || {
            if path.is_root() {
                return Err(FileError::Conflict("the path is a folder".into()));
            }
            let base = Self::user_root(&root, &user_id)?;
            // NONBLOCK: opening a planted FIFO must not hang; its type is refused below.
            let fd = open_beneath(
                &base,
                &path.as_relative(),
                OFlags::RDONLY | OFlags::NONBLOCK,
            )?;
            let stat = rustix::fs::fstat(&fd).map_err(map_errno)?;
            match FileType::from_raw_mode(stat.st_mode) {
                FileType::RegularFile => {}
                FileType::Directory => {
                    return Err(FileError::Conflict("the path is a folder".into()));
                }
                _ => return Err(FileError::BadPath("the path is not a regular file".into())),
            }
            let size = stat.st_size as u64;
            if offset > size {
                return Err(FileError::Conflict(format!(
                    "offset {offset} is past the end of the file ({size} bytes)"
                )));
            }
            let wanted = length
                .unwrap_or(MAX_READ_BYTES)
                .min(MAX_READ_BYTES)
                .min(size - offset);
            let mut bytes = vec![0u8; wanted as usize];
            let file = File::from(fd);
            let mut filled = 0usize;
            while filled < bytes.len() {
                let n = file
                    .read_at(&mut bytes[filled..], offset + filled as u64)
                    .map_err(io_error)?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            bytes.truncate(filled);
            Ok(ReadResult {
                eof: offset + filled as u64 >= size,
                bytes,
                size,
                offset,
            })
        })
        .await
    }

    async fn write(
        &self,
        user_id: &str,
        path: &UserPath,
        content: Vec<u8>,
    ) -> Result<WriteResult, FileError> {
        let lock = self.user_lock(user_id);
        let _guard = lock.lock().await;
        let (user_id, path) = (user_id.to_string(), path.clone());
        // The blocking task needs its own handle to the settings; the lock stays held here.
        let this = LocalFiles::new(self.root.clone(), self.max_file_bytes, self.quota_bytes);
        blocking(move || this.stage_write(&user_id, &path, &content)?.commit()).await
    }

    async fn delete(&self, user_id: &str, path: &UserPath) -> Result<EntryKind, FileError> {
        let lock = self.user_lock(user_id);
        let _guard = lock.lock().await;
        let (root, user_id, path) = (self.root.clone(), user_id.to_string(), path.clone());
        blocking(move || {
            let Some((parents, name)) = path.split_last() else {
                return Err(FileError::BadPath(
                    "the root folder cannot be deleted".into(),
                ));
            };
            let base = Self::user_root(&root, &user_id)?;
            let dir = open_dir_beneath(&base, parents)?;
            let kind = match stat_kind(&dir, name)? {
                None => return Err(FileError::NotFound),
                Some((FileType::RegularFile, _)) => EntryKind::File,
                Some((FileType::Directory, _)) => EntryKind::Folder,
                Some(_) => {
                    return Err(FileError::BadPath(
                        "the path is not a regular file or folder".into(),
                    ));
                }
            };
            let flags = if kind == EntryKind::Folder {
                AtFlags::REMOVEDIR
            } else {
                AtFlags::empty()
            };
            rustix::fs::unlinkat(&dir, name.as_str(), flags).map_err(map_errno)?;
            rustix::fs::fsync(dir.as_fd()).map_err(map_errno)?;
            Ok(kind)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, FileError> + Send + 'static,
) -> Result<T, FileError> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "file task failed");
        Err(FileError::Internal)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_refused_not_repaired() {
        assert!(UserPath::parse("").unwrap().is_root());
        assert_eq!(UserPath::parse("a/b.txt").unwrap().as_relative(), "a/b.txt");
        assert_eq!(UserPath::parse("docs/").unwrap().as_relative(), "docs");
        let long = "x".repeat(300);
        for bad in [
            "../x",
            "/etc/passwd",
            "a//b",
            "a\\b",
            "a\0b",
            "a/./b",
            "a/..",
            ".",
            "a\nb",
            long.as_str(),
            ".omnichat-tmp-x",
            "a//",
        ] {
            assert!(
                matches!(UserPath::parse(bad), Err(FileError::BadPath(_))),
                "{bad:?} accepted"
            );
        }
    }
}
