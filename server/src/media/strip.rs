//! Location stripping: a walk over each container's own structure (JPEG segments, PNG chunks,
//! WebP RIFF chunks) finds the ranges that can say where a photo was taken, and only those are
//! cut; the image data is copied byte for byte.

use super::{MediaError, MediaType, PNG_SIGNATURE};
use std::ops::Range;

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

/// What a walk over a container found.
pub(super) struct Walk {
    /// Where the container ends; anything after it is not part of the image.
    end: usize,
    /// The byte ranges stripping removes, in order and disjoint.
    cut: Vec<Range<usize>>,
    /// Offset of the WebP VP8X flags byte.
    vp8x_flags: Option<usize>,
}

pub(super) fn walk(bytes: &[u8], kind: MediaType) -> Result<Walk, MediaError> {
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

pub(super) const WEBP_FLAG_EXIF: u8 = 0x08;
pub(super) const WEBP_FLAG_XMP: u8 = 0x04;

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
