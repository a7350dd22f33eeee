//! The photo store for issue reports: recognises JPEG, PNG and WebP by their bytes, strips
//! location metadata unless the uploader chose to keep it, and keeps each photo on disk under
//! the SHA-256 of what is stored.
//!
//! Stripping walks the container itself rather than decoding the picture, so the image data is
//! copied byte for byte. img-parts was considered and not used: for WebP it drops or rewrites the
//! VP8X chunk on its own terms, for JPEG it keeps whatever follows the first image (a phone's
//! motion-photo video or an MPF secondary image, each of which can carry its own location), and
//! it knows nothing of XMP in PNG text chunks.

mod store;
mod strip;
#[cfg(test)]
mod tests;

pub use store::{MediaStore, StoredMedia};
pub use strip::strip_location;

/// An image format the store accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
}

const PNG_SIGNATURE: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

impl MediaType {
    /// The format the content's magic bytes announce. File names and client-sent content types
    /// are never consulted: both are whatever the client says.
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(PNG_SIGNATURE) {
            Some(Self::Png)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    /// The extension stored files get, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    /// The inverse of [`MediaType::extension`], for URLs such as `/media/<sha256>.jpg`.
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("only JPEG, PNG and WebP images are accepted")]
    UnsupportedType,
    #[error("the image is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the upload is empty")]
    Empty,
    #[error("the image file is damaged or truncated")]
    Malformed,
    #[error("media storage: {0}")]
    Io(#[from] std::io::Error),
}
