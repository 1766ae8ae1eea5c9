//! Users' token pairs in files: one file per app and user in a directory of the user's own,
//! written whole under a new name and renamed into place, and a lock file whose advisory lock
//! lets one process at a time refresh.

use crate::token::TokenStoreError;
use crate::user::{UserKey, UserTokenLock, UserTokenPair, UserTokenStore};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind as IoKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest token file read: a pair is a few hundred bytes.
const FILE_MAX: u64 = 64 * 1024;

/// A [`UserTokenStore`] in a directory: for command-line and desktop tools, where every
/// process the user starts shares the same sign-in.
///
/// - Each pair is a file of its own, `user-<app_id>-<user>-<hash>.json`, created with mode
///   0600 in a directory created with mode 0700.
/// - A pair is written to a new file (never an existing one, never through a link) and
///   renamed over the old one, so a reader sees the old pair or the new one, never half.
/// - The lock is an advisory lock (`flock` on Unix, `LockFileEx` on Windows) on a `.lock` file
///   beside it. The operating system releases it when the holder exits, however it exits.
/// - On Unix, a token file that others can read is refused, as ssh refuses a private key that
///   others can read.
#[derive(Clone, Debug)]
pub struct FileUserTokenStore {
    dir: PathBuf,
    lock_wait: Duration,
}

/// How long a process waits for another's refresh by default: longer than a refresh call
/// takes with the default request timeout.
const LOCK_WAIT: Duration = Duration::from_secs(60);

fn part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect()
}

fn io_error(action: String, err: std::io::Error) -> TokenStoreError {
    TokenStoreError::new(action, err)
}

#[cfg(unix)]
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW)
}

#[cfg(not(unix))]
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

impl FileUserTokenStore {
    /// The store in `dir`, created when first written.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock_wait: LOCK_WAIT,
        }
    }

    /// Waits at most `wait` for another process's lock (60 s by default) before failing
    /// with an error that says so.
    #[must_use]
    pub fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds `key`'s pair.
    #[must_use]
    pub fn path_for(&self, key: &UserKey) -> PathBuf {
        let digest = Sha256::digest(key.to_key_string().as_bytes());
        let hash = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        self.dir.join(format!(
            "user-{}-{}-{hash:08x}.json",
            part(key.app_id.as_str()),
            part(&key.user)
        ))
    }

    fn lock_path(&self, key: &UserKey) -> PathBuf {
        let mut path = self.path_for(key).into_os_string();
        path.push(".lock");
        PathBuf::from(path)
    }

    fn make_dir(&self) -> Result<(), TokenStoreError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(0o700);
        }
        builder.create(&self.dir).map_err(|err| {
            io_error(
                format!("creating the token directory {}", self.dir.display()),
                err,
            )
        })
    }

    fn read(path: &Path) -> Result<Option<UserTokenPair>, TokenStoreError> {
        let file = match private(OpenOptions::new().read(true)).open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == IoKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(io_error(
                    format!(
                        "opening {} (a link is never followed there)",
                        path.display()
                    ),
                    err,
                ));
            }
        };
        let meta = file
            .metadata()
            .map_err(|err| io_error(format!("reading {}", path.display()), err))?;
        if !meta.is_file() {
            return Err(TokenStoreError::msg(format!(
                "{} is not a regular file; remove it and sign in again",
                path.display()
            )));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(TokenStoreError::msg(format!(
                    "{} can be read by other users; run `chmod 600` on it, or remove it and sign in again",
                    path.display()
                )));
            }
        }
        if meta.len() > FILE_MAX {
            return Err(TokenStoreError::msg(format!(
                "{} is {} bytes, more than a token pair ({FILE_MAX} at most); remove it and sign in again",
                path.display(),
                meta.len()
            )));
        }
        let mut text = String::new();
        file.take(FILE_MAX)
            .read_to_string(&mut text)
            .map_err(|err| io_error(format!("reading {}", path.display()), err))?;
        UserTokenPair::from_stored_json(&text).map(Some)
    }

    fn write(&self, path: &Path, pair: &UserTokenPair) -> Result<(), TokenStoreError> {
        self.make_dir()?;
        let text = pair.to_stored_json();
        let mut last = None;
        for _ in 0..8 {
            let temp = self
                .dir
                .join(format!(".user-token-{}.tmp", &crate::new_uuid()[..16]));
            let file = private(OpenOptions::new().write(true).create_new(true)).open(&temp);
            let mut file = match file {
                Ok(file) => file,
                Err(err) if err.kind() == IoKind::AlreadyExists => {
                    last = Some(err);
                    continue;
                }
                Err(err) => {
                    return Err(io_error(
                        format!("creating a file in {}", self.dir.display()),
                        err,
                    ));
                }
            };
            let written = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .and_then(|()| std::fs::rename(&temp, path));
            return written.map_err(|err| {
                let _ = std::fs::remove_file(&temp);
                io_error(format!("writing {}", path.display()), err)
            });
        }
        Err(io_error(
            format!("creating a file in {}", self.dir.display()),
            last.unwrap_or_else(|| IoKind::AlreadyExists.into()),
        ))
    }

    fn lock_blocking(path: &Path) -> Result<File, TokenStoreError> {
        let file = private(OpenOptions::new().read(true).write(true).create(true))
            .open(path)
            .map_err(|err| {
                io_error(
                    format!(
                        "opening the lock file {} (a link is never followed there)",
                        path.display()
                    ),
                    err,
                )
            })?;
        fs4::FileExt::lock(&file)
            .map_err(|err| io_error(format!("locking {}", path.display()), err))?;
        Ok(file)
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TokenStoreError> + Send + 'static,
) -> Result<T, TokenStoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| TokenStoreError::new("the file store's worker thread", err))?
}

#[async_trait]
impl UserTokenStore for FileUserTokenStore {
    async fn load(&self, key: &UserKey) -> Result<Option<UserTokenPair>, TokenStoreError> {
        let path = self.path_for(key);
        blocking(move || Self::read(&path)).await
    }

    async fn save(&self, key: &UserKey, pair: &UserTokenPair) -> Result<(), TokenStoreError> {
        let store = self.clone();
        let path = self.path_for(key);
        let pair = pair.clone();
        blocking(move || store.write(&path, &pair)).await
    }

    async fn remove(&self, key: &UserKey) -> Result<(), TokenStoreError> {
        let path = self.path_for(key);
        blocking(move || match std::fs::remove_file(&path) {
            Err(err) if err.kind() != IoKind::NotFound => {
                Err(io_error(format!("removing {}", path.display()), err))
            }
            _ => Ok(()),
        })
        .await
    }

    /// Waits for the lock file's advisory lock on a worker thread, at most the lock wait. A
    /// caller that gives up waiting leaves the worker to take the lock and release it at once.
    async fn lock(&self, key: &UserKey) -> Result<UserTokenLock, TokenStoreError> {
        self.make_dir()?;
        let path = self.lock_path(key);
        let shown = path.display().to_string();
        let file =
            tokio::time::timeout(self.lock_wait, blocking(move || Self::lock_blocking(&path)))
                .await
                .map_err(|_| {
                    TokenStoreError::msg(format!(
                        "another process has held {shown} for more than {} s; try again",
                        self.lock_wait.as_secs()
                    ))
                })??;
        Ok(UserTokenLock::new(file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lark_api::BaseUrl;
    use lark_content::AppId;

    fn pair(token: &str) -> UserTokenPair {
        UserTokenPair::from_stored_json(&format!(
            "{{\"version\":1,\"access_token\":\"{token}\",\"expires_at\":4000000000,\"refresh_token\":\"r-1\",\"scope\":\"offline_access\"}}"
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn pairs_are_private_files_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileUserTokenStore::new(dir.path().join("lark"));
        let key = UserKey::new(&BaseUrl::feishu(), &AppId::new("cli_1"), "default");
        assert_eq!(store.load(&key).await.unwrap(), None);
        store.save(&key, &pair("u-1")).await.unwrap();
        store.save(&key, &pair("u-2")).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), Some(pair("u-2")));
        let path = store.path_for(&key);
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("user-cli_1-default-")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
            assert_eq!(dir_mode & 0o777, 0o700);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = store.load(&key).await.unwrap_err();
            assert!(err.to_string().contains("chmod 600"), "{err}");
            assert!(!format!("{err:?}").contains("u-2"));
        }
        // Only the store's own files are left: no temporary file stays behind.
        let names: Vec<String> = std::fs::read_dir(store.dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        store.remove(&key).await.unwrap();
        store.remove(&key).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), None);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_link_planted_as_the_token_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileUserTokenStore::new(dir.path());
        let key = UserKey::new(&BaseUrl::feishu(), &AppId::new("cli_1"), "default");
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, pair("u-planted").to_stored_json()).unwrap();
        std::os::unix::fs::symlink(&elsewhere, store.path_for(&key)).unwrap();
        assert!(store.load(&key).await.is_err());
        // Saving replaces the link itself; the file it pointed at is untouched.
        store.save(&key, &pair("u-mine")).await.unwrap();
        assert_eq!(store.load(&key).await.unwrap(), Some(pair("u-mine")));
        let untouched = std::fs::read_to_string(&elsewhere).unwrap();
        assert!(untouched.contains("u-planted"));
    }

    #[tokio::test]
    async fn the_lock_excludes_a_second_holder_until_it_is_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileUserTokenStore::new(dir.path());
        let key = UserKey::new(&BaseUrl::feishu(), &AppId::new("cli_1"), "default");
        let first = store.lock(&key).await.unwrap();
        // A second open file description on the same lock file cannot take it meanwhile.
        let path = store.lock_path(&key);
        let other = File::open(&path).unwrap();
        assert!(
            fs4::FileExt::try_lock(&other).is_err(),
            "the lock was taken twice"
        );
        // A second holder waits, and gives up at its bound while the first still holds it.
        let impatient = store.clone().with_lock_wait(Duration::ZERO);
        let err = impatient.lock(&key).await.unwrap_err();
        assert!(err.to_string().contains("another process"), "{err}");
        store.unlock(&key, first).await;
        let second = store.lock(&key).await.unwrap();
        drop(second);
    }
}
