//! Stripping and storing photos, on pictures built byte by byte and on random damage.

use super::store::to_hex;
use super::strip::{WEBP_FLAG_EXIF, WEBP_FLAG_XMP, walk};
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

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
