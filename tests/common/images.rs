//! Image files for the tests of images on posts: real PNGs (the channels read what a file
//! is from its bytes), small or hard to compress, or padded to an exact size.

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

/// A PNG of `width` × `height` pixels of one colour: a few hundred bytes.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(RgbImage::from_pixel(width, height, Rgb([200, 120, 40])))
}

/// A PNG of `width` × `height` pixels of noise drawn from `seed`: about 3 bytes a pixel, as
/// noise does not compress.
pub fn noisy_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.max(1);
    encode(RgbImage::from_fn(width, height, |_, _| {
        // xorshift: cheap and deterministic.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let [r, g, b, _] = state.to_le_bytes();
        Rgb([r, g, b])
    }))
}

/// A small PNG followed by zeros up to exactly `size` bytes: decoders stop at its end, so it
/// reads as the small image while weighing `size`.
pub fn padded_png(size: usize) -> Vec<u8> {
    let mut bytes = png(4, 3);
    assert!(bytes.len() <= size, "a PNG needs {} bytes", bytes.len());
    bytes.resize(size, 0);
    bytes
}

fn encode(picture: RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    picture
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .expect("a PNG encodes into memory");
    bytes
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    /// The field name.
    pub name: String,
    /// The file name, for a file.
    pub file_name: Option<String>,
    /// The part's own Content-Type, for a file.
    pub content_type: Option<String>,
    /// The value.
    pub body: Vec<u8>,
}

impl FormPart {
    /// The value as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The parts of a `multipart/form-data` request, read as RFC 7578 lays them out, so that a
/// mock checks fields the way a platform's parser would; panics on another body.
pub fn multipart(request: &wiremock::Request) -> Vec<FormPart> {
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .expect("a Content-Type");
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .unwrap_or_else(|| panic!("not multipart: {content_type}"))
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let body = &request.body;
    let mut parts = Vec::new();
    let mut starts = find_all(body, delimiter.as_bytes());
    starts.push(body.len());
    for pair in starts.windows(2) {
        let chunk = &body[pair[0] + delimiter.len()..pair[1]];
        if chunk.starts_with(b"--") {
            break;
        }
        let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
        let Some(split) = find_all(chunk, b"\r\n\r\n").first().copied() else {
            continue;
        };
        let head = String::from_utf8_lossy(&chunk[..split]).into_owned();
        let mut value = chunk[split + 4..].to_vec();
        if value.ends_with(b"\r\n") {
            value.truncate(value.len() - 2);
        }
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        let param = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_owned())
            })
        };
        let content_type = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("content-type:")
                .then(|| l["content-type:".len()..].trim().to_owned())
        });
        parts.push(FormPart {
            name: param("name").expect("a part name"),
            file_name: param("filename"),
            content_type,
            body: value,
        });
    }
    parts
}

/// The part named `name`, which must be there.
pub fn part<'a>(parts: &'a [FormPart], name: &str) -> &'a FormPart {
    parts
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no part {name:?} among {:?}", names(parts)))
}

fn names(parts: &[FormPart]) -> Vec<&str> {
    parts.iter().map(|p| p.name.as_str()).collect()
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    (0..haystack.len().saturating_sub(needle.len() - 1))
        .filter(|&i| haystack[i..].starts_with(needle))
        .collect()
}
