//! Writing a download to disk: into a temporary file created new beside the target, then
//! placed under its name without following a link or replacing anything that is not meant to
//! be replaced. Nothing is left behind on failure.

use crate::error::Error;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};

/// What a download may do to a file already at its target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Existing {
    /// Refuse: the download fails and the file stays as it was. The default.
    #[default]
    Refuse,
    /// Replace it, when it is a regular file. A link, a directory or a device is never
    /// replaced or written through.
    Replace,
}

/// Where a download went.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Saved {
    /// The file written.
    pub path: PathBuf,
    /// How many bytes it holds.
    pub bytes: u64,
    /// What the platform said of it.
    pub meta: crate::transfer::DownloadMeta,
}

fn refused(path: &Path, kind: IoKind, why: &str) -> Error {
    Error::io(
        format!("{}", path.display()),
        std::io::Error::new(kind, why.to_owned()),
    )
}

/// Checks that `path` can take a download: missing, or a regular file that may be replaced.
pub(crate) fn check_target(path: &Path, existing: Existing) -> Result<(), Error> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == IoKind::NotFound => return Ok(()),
        Err(err) => return Err(Error::io(format!("checking {}", path.display()), err)),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(refused(
            path,
            IoKind::InvalidInput,
            "is a symbolic link, and a download never writes through one; name the file itself, or remove the link",
        ));
    }
    if kind.is_dir() {
        return Err(refused(
            path,
            IoKind::InvalidInput,
            "is a directory; name a file inside it, or let the download name itself there",
        ));
    }
    if !kind.is_file() {
        return Err(refused(
            path,
            IoKind::InvalidInput,
            "is not a regular file (a device, pipe or socket); a download writes regular files only",
        ));
    }
    match existing {
        Existing::Replace => Ok(()),
        Existing::Refuse => Err(refused(
            path,
            IoKind::AlreadyExists,
            "already exists; choose another name, or ask for it to be replaced",
        )),
    }
}

/// A temporary file beside the target, removed unless it was placed.
pub(crate) struct Partial {
    path: PathBuf,
    placed: bool,
}

impl Partial {
    /// Creates a new, empty temporary file in `dir`: created new (`O_EXCL`), so it can never
    /// be an existing file or a planted link.
    pub(crate) async fn create(dir: &Path) -> Result<(Self, tokio::fs::File), Error> {
        let mut last = None;
        for _ in 0..8 {
            let path = dir.join(format!(".lark-download-{}.part", &crate::new_uuid()[..16]));
            match tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .await
            {
                Ok(file) => {
                    return Ok((
                        Self {
                            path,
                            placed: false,
                        },
                        file,
                    ));
                }
                Err(err) if err.kind() == IoKind::AlreadyExists => last = Some(err),
                Err(err) => {
                    return Err(Error::io(
                        format!("creating a temporary file in {}", dir.display()),
                        err,
                    ));
                }
            }
        }
        Err(Error::io(
            format!("creating a temporary file in {}", dir.display()),
            last.unwrap_or_else(|| IoKind::AlreadyExists.into()),
        ))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the finished file the name `target`. On failure it stays a temporary file, to be
    /// placed elsewhere or removed when dropped.
    pub(crate) fn place(&mut self, target: &Path, existing: Existing) -> Result<(), Error> {
        match existing {
            Existing::Replace => {
                // A rename replaces the name itself: even a link put there since the check is
                // replaced, never followed.
                check_target(target, existing)?;
                std::fs::rename(&self.path, target).map_err(|err| {
                    Error::io(format!("moving the download to {}", target.display()), err)
                })?;
            }
            Existing::Refuse => place_new(&self.path, target)?,
        }
        self.placed = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Names `partial` `target` only if nothing has that name: a hard link fails when the name
/// exists (a dangling link included), atomically. Where hard links are not supported, the name
/// is checked and the file renamed.
fn place_new(partial: &Path, target: &Path) -> Result<(), Error> {
    match std::fs::hard_link(partial, target) {
        Ok(()) => {
            let _ = std::fs::remove_file(partial);
            Ok(())
        }
        Err(err) if err.kind() == IoKind::AlreadyExists => Err(refused(
            target,
            IoKind::AlreadyExists,
            "already exists; choose another name, or ask for it to be replaced",
        )),
        Err(_) => {
            check_target(target, Existing::Refuse)?;
            std::fs::rename(partial, target).map_err(|err| {
                Error::io(format!("moving the download to {}", target.display()), err)
            })
        }
    }
}

/// The longest file name kept from the platform, in bytes.
const MAX_NAME_BYTES: usize = 200;

/// Makes a name chosen by the server safe as one file name: its last path component, without
/// control characters, characters other systems reserve, or leading dots (no hidden files),
/// and at most 200 bytes with its extension kept. `None` when nothing usable is left.
#[must_use]
pub fn sanitize_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' ']);
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '_') {
        return None;
    }
    Some(truncate_keeping_extension(trimmed, MAX_NAME_BYTES))
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, Some(ext)),
        _ => (name, None),
    };
    let room = max - ext.map_or(0, |e| e.len() + 1);
    let mut end = room.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    match ext {
        Some(ext) => format!("{}.{ext}", &stem[..end]),
        None => stem[..end].to_owned(),
    }
}

/// `name`, then `name (1)`, `name (2)`, … with the extension kept last.
pub(crate) fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_owned();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({n}).{ext}"),
        _ => format!("{name} ({n})"),
    }
}

/// The directory a target lives in: its parent, or the current directory.
pub(crate) fn parent_dir(target: &Path) -> PathBuf {
    match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// How many numbered names are tried before giving up.
pub(crate) const MAX_NUMBERED: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_become_one_plain_file_name() {
        for (given, kept) in [
            ("report.pdf", Some("report.pdf")),
            ("../../etc/passwd", Some("passwd")),
            ("..\\..\\boot.ini", Some("boot.ini")),
            (".bashrc", Some("bashrc")),
            ("季度报告.pdf", Some("季度报告.pdf")),
            ("a\u{1b}[2Jb\n.txt", Some("a_[2Jb_.txt")),
            ("con:aux?.txt", Some("con_aux_.txt")),
            ("..", None),
            ("/", None),
            ("", None),
            ("\u{7}", None),
        ] {
            assert_eq!(sanitize_file_name(given).as_deref(), kept, "{given:?}");
        }
        let long = format!("{}.pdf", "名".repeat(100));
        let kept = sanitize_file_name(&long).unwrap();
        assert!(
            kept.len() <= MAX_NAME_BYTES
                && Path::new(&kept).extension() == Some(std::ffi::OsStr::new("pdf")),
            "{kept}"
        );
    }

    #[test]
    fn numbered_names_keep_the_extension_last() {
        assert_eq!(numbered("a.pdf", 0), "a.pdf");
        assert_eq!(numbered("a.pdf", 2), "a (2).pdf");
        assert_eq!(numbered("README", 1), "README (1)");
    }
}
