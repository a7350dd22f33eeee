//! Photos on disk, each named by the SHA-256 of what is stored, written whole or not at all.

use super::strip::walk;
use super::{MediaError, MediaType, strip_location};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// A photo as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMedia {
    /// Lowercase hex SHA-256 of the stored bytes, which names the file.
    pub sha256: String,
    pub media_type: MediaType,
    /// Size of the stored bytes, which is less than the upload's when metadata was stripped.
    pub size: usize,
}

/// Photos on disk at `<root>/<first 2 hex chars>/<sha256 hex>.<ext>`.
#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
    max_bytes: usize,
}

impl MediaStore {
    /// `max_bytes` bounds uploads as received, before any stripping.
    pub fn new(root: impl Into<PathBuf>, max_bytes: usize) -> Self {
        Self {
            root: root.into(),
            max_bytes,
        }
    }

    /// Checks, strips unless `keep_location`, and stores an uploaded photo. Storing content that
    /// is already there changes nothing. A container that cannot be walked is refused even when
    /// the location is kept, so nothing is ever served under an image content type that is not
    /// laid out as one.
    pub async fn put(&self, bytes: &[u8], keep_location: bool) -> Result<StoredMedia, MediaError> {
        if bytes.is_empty() {
            return Err(MediaError::Empty);
        }
        if bytes.len() > self.max_bytes {
            return Err(MediaError::TooLarge {
                limit: self.max_bytes,
            });
        }
        let media_type = MediaType::detect(bytes).ok_or(MediaError::UnsupportedType)?;

        // Walking and hashing megabytes is CPU work that would stall other connections on this
        // worker thread.
        let upload = bytes.to_vec();
        let (stored, sha256) = tokio::task::spawn_blocking(move || {
            let stored = if keep_location {
                walk(&upload, media_type)?;
                upload
            } else {
                strip_location(&upload, media_type)?
            };
            let sha256 = to_hex(&Sha256::digest(&stored));
            Ok::<_, MediaError>((stored, sha256))
        })
        .await
        .map_err(io::Error::other)??;

        let media = StoredMedia {
            size: stored.len(),
            sha256,
            media_type,
        };
        let Some((dir, path)) = self.locate(&media.sha256, media_type) else {
            return Err(io::Error::other("a computed hash is not 64 hex characters").into());
        };
        // A file of another length under this name can only be damage; rewriting it heals it.
        if let Ok(existing) = tokio::fs::metadata(&path).await
            && existing.is_file()
            && existing.len() == stored.len() as u64
        {
            return Ok(media);
        }
        tokio::fs::create_dir_all(&dir).await?;
        // A random name, so that two uploads of the same photo at once do not write one file.
        let temp = dir.join(format!(
            ".{}.{:016x}.tmp",
            media.sha256,
            rand::random::<u64>()
        ));
        let written = write_then_rename(&temp, &path, &stored).await;
        if written.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        written?;
        Ok(media)
    }

    /// The stored photo, or `None` when there is none or `sha256` is not exactly 64 lowercase
    /// hex characters (which keeps any client-given string from naming a path of its own).
    pub async fn get(
        &self,
        sha256: &str,
        media_type: MediaType,
    ) -> Result<Option<Vec<u8>>, MediaError> {
        let Some((_, path)) = self.locate(sha256, media_type) else {
            return Ok(None);
        };
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The directory and path for a hash, if it is a well-formed one.
    fn locate(&self, sha256: &str, media_type: MediaType) -> Option<(PathBuf, PathBuf)> {
        let well_formed = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return None;
        }
        let dir = self.root.join(sha256.get(..2)?);
        let path = dir.join(format!("{sha256}.{}", media_type.extension()));
        Some((dir, path))
    }
}

/// Writes the whole file under a temporary name and only then gives it its real one, so that a
/// crash leaves either no file or a complete one under the real name.
async fn write_then_rename(temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .await?;
    file.write_all(bytes).await?;
    file.flush().await?;
    // Without this a power cut after the rename can leave the name pointing at an empty file.
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(temp, path).await
}

pub(super) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    hex
}
