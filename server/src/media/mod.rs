//! The photo store for issue reports: recognises JPEG, PNG and WebP by their bytes, strips
//! location metadata unless the uploader chose to keep it, and keeps each photo on disk under
//! the SHA-256 of what is stored.
//!
//! Stripping walks the container itself rather than decoding the picture, so the image data is
//! copied byte for byte. img-parts was considered and not used: for WebP it drops or rewrites the
//! VP8X chunk on its own terms, for JPEG it keeps whatever follows the first image (a phone's
//! motion-photo video or an MPF secondary image, each of which can carry its own location), and
//! it knows nothing of XMP in PNG text chunks.

use sha2::{Digest, Sha256};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

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
    Io(#[from] io::Error),
}

/// Returns `bytes` without the metadata that can say where a photo was taken, the image data
/// untouched:
/// - JPEG: every APP1 segment (EXIF, where GPS coordinates live, and XMP), APP13 (Photoshop/IPTC,
///   which has city and country fields and can embed EXIF and XMP), the MPF index, and anything
///   after the end of the first image.
/// - PNG: `eXIf`, text chunks holding XMP or ImageMagick's raw EXIF/IPTC/XMP profiles, and
///   anything after `IEND`.
/// - WebP: `EXIF` and `XMP ` chunks, with their VP8X flags cleared, and anything after the RIFF
///   chunk.
///
/// A container that cannot be walked is [`MediaError::Malformed`].
pub fn strip_location(bytes: &[u8], kind: MediaType) -> Result<Vec<u8>, MediaError> {
    let walk = walk(bytes, kind)?;
    let mut out = Vec::with_capacity(walk.end);
    let mut at = 0;
    for cut in &walk.cut {
        out.extend_from_slice(bytes.get(at..cut.start).ok_or(MediaError::Malformed)?);
        at = cut.end;
    }
    out.extend_from_slice(bytes.get(at..walk.end).ok_or(MediaError::Malformed)?);

    if kind == MediaType::Webp {
        let riff_size = out
            .len()
            .checked_sub(8)
            .and_then(|size| u32::try_from(size).ok())
            .ok_or(MediaError::Malformed)?;
        out.get_mut(4..8)
            .ok_or(MediaError::Malformed)?
            .copy_from_slice(&riff_size.to_le_bytes());
        // Decoders may look for chunks the flags promise; VP8X is always the first chunk, so no
        // cut comes before its flags byte and its offset still holds.
        if let Some(flags) = walk.vp8x_flags.and_then(|at| out.get_mut(at)) {
            *flags &= !(WEBP_FLAG_EXIF | WEBP_FLAG_XMP);
        }
    }
    Ok(out)
}

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

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    hex
}

/// What a walk over a container found.
struct Walk {
    /// Where the container ends; anything after it is not part of the image.
    end: usize,
    /// The byte ranges stripping removes, in order and disjoint.
    cut: Vec<Range<usize>>,
    /// Offset of the WebP VP8X flags byte.
    vp8x_flags: Option<usize>,
}

fn walk(bytes: &[u8], kind: MediaType) -> Result<Walk, MediaError> {
    match kind {
        MediaType::Jpeg => walk_jpeg(bytes),
        MediaType::Png => walk_png(bytes),
        MediaType::Webp => walk_webp(bytes),
    }
}

fn byte(bytes: &[u8], at: usize) -> Result<u8, MediaError> {
    bytes.get(at).copied().ok_or(MediaError::Malformed)
}

fn four(bytes: &[u8], at: usize) -> Result<[u8; 4], MediaError> {
    bytes
        .get(at..at.checked_add(4).ok_or(MediaError::Malformed)?)
        .and_then(|b| b.try_into().ok())
        .ok_or(MediaError::Malformed)
}

const JPEG_SOI: u8 = 0xD8;
const JPEG_EOI: u8 = 0xD9;
const JPEG_SOS: u8 = 0xDA;
const JPEG_APP1: u8 = 0xE1;
const JPEG_APP2: u8 = 0xE2;
const JPEG_APP13: u8 = 0xED;

fn walk_jpeg(b: &[u8]) -> Result<Walk, MediaError> {
    if !b.starts_with(&[0xFF, JPEG_SOI]) {
        return Err(MediaError::Malformed);
    }
    let mut cut = Vec::new();
    let mut scanned = false;
    let mut pos = 2;
    loop {
        let start = pos;
        if byte(b, pos)? != 0xFF {
            return Err(MediaError::Malformed);
        }
        // Any number of 0xFF fill bytes may precede a marker code.
        while byte(b, pos)? == 0xFF {
            pos += 1;
        }
        let code = byte(b, pos)?;
        pos += 1;
        match code {
            // Without a scan there is no picture to show.
            JPEG_EOI if scanned => {
                return Ok(Walk {
                    end: pos,
                    cut,
                    vp8x_flags: None,
                });
            }
            JPEG_EOI | JPEG_SOI | 0x00 => return Err(MediaError::Malformed),
            // TEM and the restart markers stand alone, without a length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let length = usize::from(u16::from_be_bytes([byte(b, pos)?, byte(b, pos + 1)?]));
        if length < 2 {
            return Err(MediaError::Malformed);
        }
        let end = pos + length;
        let payload = b.get(pos + 2..end).ok_or(MediaError::Malformed)?;
        if jpeg_strips(code, payload) {
            cut.push(start..end);
        }
        pos = end;
        if code == JPEG_SOS {
            scanned = true;
            pos = skip_entropy(b, pos)?;
        }
    }
}

/// Whether stripping drops a JPEG segment. APP1 holds EXIF and XMP (extended XMP included);
/// APP13 holds IPTC location fields and can embed both again; the MPF index only points at the
/// images after the first one, which stripping cuts.
fn jpeg_strips(code: u8, payload: &[u8]) -> bool {
    match code {
        JPEG_APP1 | JPEG_APP13 => true,
        JPEG_APP2 => payload.starts_with(b"MPF\0"),
        _ => false,
    }
}

/// Returns where the marker after a scan's entropy-coded data starts. In that data 0xFF is only
/// ever followed by a stuffed 0x00 or a restart marker, so any other pair is the next marker.
fn skip_entropy(b: &[u8], mut pos: usize) -> Result<usize, MediaError> {
    loop {
        let ff = pos
            + b.get(pos..)
                .and_then(|rest| rest.iter().position(|&x| x == 0xFF))
                .ok_or(MediaError::Malformed)?;
        let mut next = ff + 1;
        while byte(b, next)? == 0xFF {
            next += 1;
        }
        match byte(b, next)? {
            0x00 | 0xD0..=0xD7 => pos = next + 1,
            _ => return Ok(ff),
        }
    }
}

fn walk_png(b: &[u8]) -> Result<Walk, MediaError> {
    if !b.starts_with(PNG_SIGNATURE) {
        return Err(MediaError::Malformed);
    }
    let mut cut = Vec::new();
    let mut pos = PNG_SIGNATURE.len();
    let mut seen_idat = false;
    loop {
        let length = u32::from_be_bytes(four(b, pos)?);
        let kind = four(b, pos + 4)?;
        // The PNG spec caps chunk lengths at 2^31 - 1.
        if length > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(MediaError::Malformed);
        }
        if pos == PNG_SIGNATURE.len() && &kind != b"IHDR" {
            return Err(MediaError::Malformed);
        }
        let data_start = pos + 8;
        let data_end = usize::try_from(length)
            .ok()
            .and_then(|length| data_start.checked_add(length))
            .ok_or(MediaError::Malformed)?;
        let data = b.get(data_start..data_end).ok_or(MediaError::Malformed)?;
        let crc = u32::from_be_bytes(four(b, data_end)?);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&kind);
        hasher.update(data);
        if hasher.finalize() != crc {
            return Err(MediaError::Malformed);
        }
        let end = data_end + 4;
        if png_strips(&kind, data) {
            cut.push(pos..end);
        }
        match &kind {
            b"IDAT" => seen_idat = true,
            b"IEND" if seen_idat => {
                return Ok(Walk {
                    end,
                    cut,
                    vp8x_flags: None,
                });
            }
            b"IEND" => return Err(MediaError::Malformed),
            _ => {}
        }
        pos = end;
    }
}

/// Whether stripping drops a PNG chunk: `eXIf`, and text chunks whose keyword marks XMP or one of
/// the raw profiles ImageMagick copies EXIF, IPTC and XMP into.
fn png_strips(kind: &[u8; 4], data: &[u8]) -> bool {
    match kind {
        b"eXIf" => true,
        b"tEXt" | b"zTXt" | b"iTXt" => {
            let keyword = data.split(|&c| c == 0).next().unwrap_or_default();
            if keyword == b"XML:com.adobe.xmp" {
                return true;
            }
            let Some(profile) = keyword.strip_prefix(b"Raw profile type ") else {
                return false;
            };
            ["exif", "app1", "iptc", "xmp", "8bim"]
                .iter()
                .any(|name| profile.eq_ignore_ascii_case(name.as_bytes()))
        }
        _ => false,
    }
}

const WEBP_FLAG_EXIF: u8 = 0x08;
const WEBP_FLAG_XMP: u8 = 0x04;

fn walk_webp(b: &[u8]) -> Result<Walk, MediaError> {
    if four(b, 0)? != *b"RIFF" || four(b, 8)? != *b"WEBP" {
        return Err(MediaError::Malformed);
    }
    let riff_size =
        usize::try_from(u32::from_le_bytes(four(b, 4)?)).map_err(|_| MediaError::Malformed)?;
    let riff_end = riff_size.checked_add(8).ok_or(MediaError::Malformed)?;
    if riff_end > b.len() {
        return Err(MediaError::Malformed);
    }
    let mut cut = Vec::new();
    let mut vp8x_flags = None;
    let mut has_image = false;
    let mut pos = 12;
    while pos < riff_end {
        let id = four(b, pos)?;
        let length = usize::try_from(u32::from_le_bytes(four(b, pos + 4)?))
            .map_err(|_| MediaError::Malformed)?;
        // Chunks of odd length are followed by one padding byte.
        let end = (pos + 8)
            .checked_add(length)
            .and_then(|end| end.checked_add(length % 2))
            .ok_or(MediaError::Malformed)?;
        if end > riff_end {
            return Err(MediaError::Malformed);
        }
        match &id {
            b"VP8X" if pos == 12 && length >= 10 => vp8x_flags = Some(pos + 8),
            b"VP8 " | b"VP8L" => has_image = true,
            b"ANMF" if vp8x_flags.is_some() => has_image = true,
            b"EXIF" | b"XMP " if pos != 12 => cut.push(pos..end),
            _ if pos == 12 => return Err(MediaError::Malformed),
            b"VP8X" | b"ANMF" => return Err(MediaError::Malformed),
            _ => {}
        }
        pos = end;
    }
    if !has_image {
        return Err(MediaError::Malformed);
    }
    Ok(Walk {
        end: riff_end,
        cut,
        vp8x_flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A big-endian TIFF/EXIF block whose IFD0 points at a GPS IFD (tag 0x8825) holding a
    /// latitude, as a camera writes it.
    fn exif_tiff() -> Vec<u8> {
        let mut t = b"MM\0\x2A\0\0\0\x08".to_vec();
        // IFD0: one entry, GPSInfo -> offset 26.
        t.extend_from_slice(&[0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
        // GPS IFD: GPSLatitudeRef "N", GPSLatitude -> three rationals at offset 56.
        t.extend_from_slice(&[0, 2]);
        t.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
        t.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 56]);
        t.extend_from_slice(&[0, 0, 0, 0]);
        for (num, den) in [(52u32, 1u32), (22, 1), (3141, 100)] {
            t.extend_from_slice(&num.to_be_bytes());
            t.extend_from_slice(&den.to_be_bytes());
        }
        t
    }

    const XMP: &[u8] = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:Description \
        exif:GPSLatitude='52,22.5N' exif:GPSLongitude='4,53.9E'/></x:xmpmeta>";
    const XMP_NS: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn assert_no_location(bytes: &[u8]) {
        assert!(!contains(bytes, b"Exif\0\0"));
        assert!(!contains(bytes, b"GPS"));
        assert!(!contains(bytes, &exif_tiff()));
        assert!(!contains(bytes, &[0x88, 0x25]));
    }

    fn jpeg_segment(code: u8, payload: &[u8]) -> Vec<u8> {
        let length = u16::try_from(payload.len() + 2).unwrap();
        let mut s = vec![0xFF, code];
        s.extend_from_slice(&length.to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    struct JpegParts {
        jfif: Vec<u8>,
        exif: Vec<u8>,
        xmp: Vec<u8>,
        icc: Vec<u8>,
        tables_and_scan: Vec<u8>,
    }

    fn jpeg_parts() -> JpegParts {
        let dqt = jpeg_segment(0xDB, &[[0u8].as_slice(), &[1u8; 64]].concat());
        let sof = jpeg_segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        let dht = jpeg_segment(
            0xC4,
            &[0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        );
        let sos = jpeg_segment(0xDA, &[1, 1, 0x00, 0, 63, 0]);
        // Entropy-coded data with a stuffed 0xFF and a restart marker, both of which are data.
        let entropy = [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56];
        JpegParts {
            jfif: jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
            exif: jpeg_segment(0xE1, &[b"Exif\0\0".as_slice(), &exif_tiff()].concat()),
            xmp: jpeg_segment(0xE1, &[XMP_NS, XMP].concat()),
            icc: jpeg_segment(0xE2, b"ICC_PROFILE\0\x01\x01not-really-a-profile"),
            tables_and_scan: [dqt, sof, dht, sos, entropy.to_vec()].concat(),
        }
    }

    fn sample_jpeg() -> Vec<u8> {
        let p = jpeg_parts();
        [
            vec![0xFF, 0xD8],
            p.jfif,
            p.exif,
            p.xmp,
            p.icc,
            p.tables_and_scan,
            vec![0xFF, 0xD9],
        ]
        .concat()
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(kind);
        hasher.update(data);
        c.extend_from_slice(&hasher.finalize().to_be_bytes());
        c
    }

    struct PngParts {
        ihdr: Vec<u8>,
        exif: Vec<u8>,
        xmp: Vec<u8>,
        comment: Vec<u8>,
        idat: Vec<u8>,
        iend: Vec<u8>,
    }

    fn png_parts() -> PngParts {
        PngParts {
            ihdr: png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]),
            exif: png_chunk(b"eXIf", &exif_tiff()),
            xmp: png_chunk(
                b"iTXt",
                &[b"XML:com.adobe.xmp\0\0\0\0\0".as_slice(), XMP].concat(),
            ),
            comment: png_chunk(b"tEXt", b"Comment\0the roof above flat 3"),
            // A zlib stream of one grey pixel: filter byte 0, value 0.
            idat: png_chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0, 0, 0, 0x02, 0, 0x01]),
            iend: png_chunk(b"IEND", &[]),
        }
    }

    fn sample_png() -> Vec<u8> {
        let p = png_parts();
        [
            PNG_SIGNATURE.to_vec(),
            p.ihdr,
            p.exif,
            p.xmp,
            p.comment,
            p.idat,
            p.iend,
        ]
        .concat()
    }

    fn riff_chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = id.to_vec();
        c.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        c.extend_from_slice(data);
        if data.len() % 2 == 1 {
            c.push(0);
        }
        c
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body = chunks.concat();
        let mut r = b"RIFF".to_vec();
        r.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
        r.extend_from_slice(b"WEBP");
        r.extend_from_slice(&body);
        r
    }

    const VP8X_FLAGS: u8 = 0x10 | WEBP_FLAG_EXIF | WEBP_FLAG_XMP;

    fn vp8x(flags: u8) -> Vec<u8> {
        // A 1x1 canvas: width and height minus one, 24 bits each.
        riff_chunk(b"VP8X", &[flags, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    fn vp8l() -> Vec<u8> {
        // Odd length, so that the padding byte is exercised.
        riff_chunk(b"VP8L", &[0x2F, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11])
    }

    fn sample_webp() -> Vec<u8> {
        riff(&[
            vp8x(VP8X_FLAGS),
            vp8l(),
            riff_chunk(
                b"EXIF",
                &[b"Exif\0\0".as_slice(), &exif_tiff(), &[0]].concat(),
            ),
            riff_chunk(b"XMP ", XMP),
        ])
    }

    fn samples() -> [(MediaType, Vec<u8>); 3] {
        [
            (MediaType::Jpeg, sample_jpeg()),
            (MediaType::Png, sample_png()),
            (MediaType::Webp, sample_webp()),
        ]
    }

    #[test]
    fn detects_by_magic_bytes_only() {
        for (kind, sample) in samples() {
            assert_eq!(MediaType::detect(&sample), Some(kind));
            assert_eq!(MediaType::from_extension(kind.extension()), Some(kind));
        }
        assert_eq!(MediaType::Jpeg.content_type(), "image/jpeg");
        assert_eq!(MediaType::Png.content_type(), "image/png");
        assert_eq!(MediaType::Webp.content_type(), "image/webp");
        for refused in [
            &b""[..],
            b"GIF89a\x01\0\x01\0\0\0\0;",
            b"GIF87a",
            b"<html>not a photo</html>",
            b"\xFF\xD8",
            b"\x89PNG\r\n\x1a",
            b"RIFF\x04\0\0\0WAVE",
            b"RIFF\x04\0\0\0WEB",
            b"%PDF-1.7",
        ] {
            assert_eq!(MediaType::detect(refused), None, "{refused:?}");
        }
        assert_eq!(MediaType::from_extension("JPG"), None);
        assert_eq!(MediaType::from_extension("gif"), None);
    }

    #[test]
    fn jpeg_loses_exif_and_xmp_and_keeps_the_rest_byte_identical() {
        let p = jpeg_parts();
        let stripped = strip_location(&sample_jpeg(), MediaType::Jpeg).unwrap();
        assert_no_location(&stripped);
        let expected = [
            vec![0xFF, 0xD8],
            p.jfif,
            p.icc,
            p.tables_and_scan,
            vec![0xFF, 0xD9],
        ]
        .concat();
        assert_eq!(stripped, expected);
        assert_eq!(
            strip_location(&stripped, MediaType::Jpeg).unwrap(),
            expected
        );
    }

    #[test]
    fn jpeg_loses_metadata_between_scans_and_what_follows_the_image() {
        let p = jpeg_parts();
        let mpf = jpeg_segment(0xE2, b"MPF\0MM\0\x2A\0\0\0\x08");
        let second_scan = [
            jpeg_segment(
                0xC4,
                &[0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            jpeg_segment(0xDA, &[1, 1, 0x00, 1, 63, 0]),
            vec![0x77, 0xFF, 0x00],
        ]
        .concat();
        // A secondary image, with its own location, as phones append for MPF or motion photos.
        let trailer = [vec![0xFF, 0xD8], p.exif.clone(), vec![0xFF, 0xD9]].concat();
        let progressive = [
            vec![0xFF, 0xD8],
            p.jfif.clone(),
            mpf,
            p.tables_and_scan.clone(),
            p.xmp.clone(),
            second_scan.clone(),
            vec![0xFF, 0xFF, 0xD9],
            trailer,
        ]
        .concat();
        let stripped = strip_location(&progressive, MediaType::Jpeg).unwrap();
        assert_no_location(&stripped);
        let expected = [
            vec![0xFF, 0xD8],
            p.jfif,
            p.tables_and_scan,
            second_scan,
            vec![0xFF, 0xFF, 0xD9],
        ]
        .concat();
        assert_eq!(stripped, expected);
    }

    #[test]
    fn png_loses_exif_and_xmp_and_keeps_the_rest_byte_identical() {
        let p = png_parts();
        let stripped = strip_location(&sample_png(), MediaType::Png).unwrap();
        assert_no_location(&stripped);
        let expected = [PNG_SIGNATURE.to_vec(), p.ihdr, p.comment, p.idat, p.iend].concat();
        assert_eq!(stripped, expected);
    }

    #[test]
    fn png_loses_raw_exif_profiles_and_what_follows_iend() {
        let p = png_parts();
        let with_trailer = [
            PNG_SIGNATURE.to_vec(),
            p.ihdr.clone(),
            png_chunk(b"zTXt", b"Raw profile type exif\0\0compressed"),
            p.idat.clone(),
            p.iend.clone(),
            b"after the end".to_vec(),
        ]
        .concat();
        let stripped = strip_location(&with_trailer, MediaType::Png).unwrap();
        assert_eq!(
            stripped,
            [PNG_SIGNATURE.to_vec(), p.ihdr, p.idat, p.iend].concat()
        );
    }

    #[test]
    fn png_must_open_with_ihdr_and_hold_image_data() {
        let p = png_parts();
        for png in [
            [
                PNG_SIGNATURE.to_vec(),
                p.exif.clone(),
                p.ihdr.clone(),
                p.idat.clone(),
                p.iend.clone(),
            ],
            [
                PNG_SIGNATURE.to_vec(),
                p.ihdr.clone(),
                p.comment.clone(),
                p.iend.clone(),
                p.idat.clone(),
            ],
        ] {
            assert!(matches!(
                strip_location(&png.concat(), MediaType::Png),
                Err(MediaError::Malformed)
            ));
        }
    }

    #[test]
    fn png_with_a_bad_crc_is_malformed() {
        let mut png = sample_png();
        let last = png.len() - 1;
        png[last] ^= 0x01;
        assert!(matches!(
            strip_location(&png, MediaType::Png),
            Err(MediaError::Malformed)
        ));
    }

    #[test]
    fn webp_loses_exif_and_xmp_chunks_and_flags() {
        let stripped = strip_location(&sample_webp(), MediaType::Webp).unwrap();
        assert_no_location(&stripped);
        assert!(!contains(&stripped, b"XMP "));
        assert_eq!(stripped, riff(&[vp8x(0x10), vp8l()]));
        assert_eq!(
            strip_location(&stripped, MediaType::Webp).unwrap(),
            stripped
        );
    }

    #[test]
    fn webp_without_vp8x_cannot_carry_metadata_chunks() {
        let simple = riff(&[vp8l()]);
        assert_eq!(strip_location(&simple, MediaType::Webp).unwrap(), simple);
        let exif_first = riff(&[riff_chunk(b"EXIF", b"Exif\0\0"), vp8l()]);
        assert!(matches!(
            strip_location(&exif_first, MediaType::Webp),
            Err(MediaError::Malformed)
        ));
    }

    #[test]
    fn a_type_that_does_not_match_the_content_is_malformed() {
        for (kind, _) in samples() {
            for (other, sample) in samples() {
                if kind != other {
                    assert!(matches!(
                        strip_location(&sample, kind),
                        Err(MediaError::Malformed)
                    ));
                }
            }
        }
    }

    #[test]
    fn every_truncation_is_malformed_and_none_panics() {
        for (kind, sample) in samples() {
            for len in 0..sample.len() {
                let prefix = &sample[..len];
                assert!(
                    matches!(strip_location(prefix, kind), Err(MediaError::Malformed)),
                    "{kind:?} cut to {len} bytes"
                );
                assert!(walk(prefix, kind).is_err());
            }
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = StdRng::seed_from_u64(0x4845_4845);
        let samples = samples();
        let mut survivors = 0;
        for round in 0..3000 {
            let mut bytes = vec![0u8; rng.random_range(0..300)];
            rng.fill(bytes.as_mut_slice());
            // Behind a real signature, so that the walkers get past their first check.
            let (kind, sample) = &samples[round % samples.len()];
            let magic_len = if *kind == MediaType::Png { 8 } else { 12 };
            let prefixed = [&sample[..magic_len], bytes.as_slice()].concat();
            for candidate in [&bytes, &prefixed] {
                for kind in [MediaType::Jpeg, MediaType::Png, MediaType::Webp] {
                    let _ = strip_location(candidate, kind);
                }
            }

            let mut mutated = sample.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..mutated.len());
                mutated[at] = rng.random();
            }
            if rng.random_bool(0.3) {
                mutated.truncate(rng.random_range(0..mutated.len()));
            }
            if let Ok(stripped) = strip_location(&mutated, *kind) {
                // What stripping leaves is itself a valid container with nothing left to strip.
                assert_eq!(strip_location(&stripped, *kind).unwrap(), stripped);
                survivors += 1;
            }
        }
        assert!(
            survivors > 100,
            "only {survivors} mutated samples were still valid"
        );
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        to_hex(&Sha256::digest(bytes))
    }

    #[tokio::test]
    async fn put_strips_and_stores_content_addressed() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::new(dir.path(), 1 << 20);
        for (kind, sample) in samples() {
            let stored = store.put(&sample, false).await.unwrap();
            let expected = strip_location(&sample, kind).unwrap();
            assert_eq!(stored.media_type, kind);
            assert_eq!(stored.size, expected.len());
            assert_eq!(stored.sha256, sha256_hex(&expected));

            let path = dir.path().join(&stored.sha256[..2]).join(format!(
                "{}.{}",
                stored.sha256,
                kind.extension()
            ));
            let on_disk = std::fs::read(&path).unwrap();
            assert_eq!(on_disk, expected);
            assert_eq!(sha256_hex(&on_disk), stored.sha256);
            assert_eq!(
                store.get(&stored.sha256, kind).await.unwrap(),
                Some(expected)
            );

            assert_eq!(store.put(&sample, false).await.unwrap(), stored);
            let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect();
            assert_eq!(
                names,
                [path.file_name().unwrap()],
                "no temporary files are left"
            );
        }
    }

    #[tokio::test]
    async fn keep_location_stores_the_upload_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::new(dir.path(), 1 << 20);
        for (kind, sample) in samples() {
            let kept = store.put(&sample, true).await.unwrap();
            assert_eq!(kept.sha256, sha256_hex(&sample));
            assert_eq!(kept.size, sample.len());
            assert_eq!(
                store.get(&kept.sha256, kind).await.unwrap(),
                Some(sample.clone())
            );

            let stripped = store.put(&sample, false).await.unwrap();
            assert_ne!(stripped.sha256, kept.sha256);
        }
        let truncated = &sample_png()[..40];
        assert!(matches!(
            store.put(truncated, true).await,
            Err(MediaError::Malformed)
        ));
    }

    #[tokio::test]
    async fn put_refuses_empty_oversized_and_unsupported_uploads_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let jpeg = sample_jpeg();
        let store = MediaStore::new(dir.path(), jpeg.len());
        assert!(matches!(
            store.put(&[], false).await,
            Err(MediaError::Empty)
        ));
        let too_big = [jpeg.as_slice(), &[0]].concat();
        assert!(matches!(
            store.put(&too_big, true).await,
            Err(MediaError::TooLarge { limit }) if limit == jpeg.len()
        ));
        assert!(matches!(
            store.put(b"GIF89a\x01\0\x01\0\0\0\0;", false).await,
            Err(MediaError::UnsupportedType)
        ));
        assert!(matches!(
            store.put(b"#!/bin/sh\nrm -rf /\n", true).await,
            Err(MediaError::UnsupportedType)
        ));
        assert!(matches!(
            store.put(&jpeg[..jpeg.len() - 2], false).await,
            Err(MediaError::Malformed)
        ));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        // The limit applies to the upload, so an upload of exactly the limit is accepted.
        assert!(store.put(&jpeg, false).await.is_ok());
    }

    #[tokio::test]
    async fn get_refuses_anything_but_a_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.jpg"), b"not for you").unwrap();
        let store = MediaStore::new(dir.path().join("media"), 1 << 20);
        let stored = store.put(&sample_jpeg(), false).await.unwrap();

        let unknown = "0".repeat(64);
        assert_eq!(store.get(&unknown, MediaType::Jpeg).await.unwrap(), None);
        assert_eq!(
            store.get(&stored.sha256, MediaType::Png).await.unwrap(),
            None
        );
        let upper = stored.sha256.to_uppercase();
        let short = &stored.sha256[..63];
        let long = format!("{}0", stored.sha256);
        let traversal = format!("../../{}", &stored.sha256[6..]);
        for bad in [
            "../etc/passwd",
            "../secret",
            "",
            upper.as_str(),
            short,
            long.as_str(),
            traversal.as_str(),
            "/etc/passwd",
            "é".repeat(32).as_str(),
        ] {
            assert_eq!(
                store.get(bad, MediaType::Jpeg).await.unwrap(),
                None,
                "{bad:?}"
            );
        }
    }
}
