//! Images on posts: where the bytes of an entry's image come from, and how they are fitted to
//! a network's size and type limits.
//!
//! The bytes come from the local file the source found for the image (a directory source
//! sets [`Image::path`]), else from the image's URL over the channels' HTTP client (its
//! timeout and redirect limit), read up to [`READ_LIMIT`]. An image a network would refuse
//! (too large, of a type it does not take, larger than it shows) is decoded, scaled down and
//! re-encoded as JPEG until it fits; one that cannot be made to fit, or is no image at all,
//! is left off the post with a warning: a post never fails because of its image.

use std::io::Cursor;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use image::{GenericImageView, ImageFormat, ImageReader};
use reqwest::header::CONTENT_LENGTH;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

use super::Post;
use crate::entry::Image;

/// The largest image file crier reads or downloads before fitting it: larger ones are left
/// off the post (a photo straight from a camera is below this; decoding far larger ones would
/// only cost memory).
pub const READ_LIMIT: usize = 25 * 1024 * 1024;

/// The quality of a re-encoded JPEG: visually close to the original at a fraction of its size.
const JPEG_QUALITY: u8 = 85;

/// How many times a re-encoded image is scaled down by a quarter before it is given up.
const SHRINK_ROUNDS: usize = 8;

/// How a channel shows an entry's image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageMode {
    /// Uploaded and attached to the post, with its alt text.
    Attach,
    /// Shown in the post's link card (Bluesky's card thumbnail, Facebook's Open Graph image).
    Card,
    /// Left off.
    None,
}

impl ImageMode {
    /// The name the config uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageMode::Attach => "attach",
            ImageMode::Card => "card",
            ImageMode::None => "none",
        }
    }
}

/// What a network takes as an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Media types taken as they are; any other image is re-encoded as JPEG.
    pub types: &'static [&'static str],
    /// Longest side, in pixels, the network keeps: a larger image is scaled down to it.
    pub max_side: u32,
}

/// An image ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its media type (`image/jpeg`).
    pub mime: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ImageFile {
    /// A file name for multipart uploads, with the extension of its type.
    pub fn file_name(&self) -> &'static str {
        match self.mime {
            "image/png" => "image.png",
            "image/gif" => "image.gif",
            "image/webp" => "image.webp",
            _ => "image.jpg",
        }
    }
}

/// An image uploaded to a network apart from the post, kept with the delivery so that a later
/// attempt attaches it instead of uploading it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The network's reference to it: a media id (Mastodon, X) or a blob (Bluesky's JSON).
    pub id: String,
    /// Until when a post may attach it: the network forgets it when no post uses it.
    pub expires_at: DateTime<Utc>,
    /// Its width and height in pixels, as uploaded (Bluesky shows an image in its aspect
    /// ratio when the post gives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
}

/// An image's width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Media {
    /// Media `id` that the network keeps for `lifetime` from `now`. It is counted usable up
    /// to a tenth of that (at most ten minutes) before its end, since a request takes time
    /// and this host's clock is not the network's.
    pub fn new(id: String, now: DateTime<Utc>, lifetime: TimeDelta) -> Media {
        let margin = (lifetime / 10).min(TimeDelta::minutes(10));
        Media {
            id,
            expires_at: now + lifetime - margin,
            size: None,
        }
    }

    /// The same media, of `file`'s size.
    pub fn of(mut self, file: &ImageFile) -> Media {
        self.size = Some(Size {
            width: file.width,
            height: file.height,
        });
        self
    }

    /// Whether a post sent at `now` can still attach it.
    pub fn usable(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// The image of `post` fitted to `limits`, or why it is left off.
pub async fn load(
    http: &reqwest::Client,
    image: &Image,
    limits: &Limits,
) -> Result<ImageFile, String> {
    let bytes = match &image.path {
        Some(path) => read_file(path).await?,
        None => download(http, &image.url).await?,
    };
    // Decoding and re-encoding take a while for a large photo: off the async threads.
    let limits = *limits;
    tokio::task::spawn_blocking(move || fit(bytes, &limits))
        .await
        .map_err(|e| format!("fitting it failed: {e}"))?
}

/// [`load`], or `None` once [`left_off`] has said why the image goes without.
pub async fn load_or_leave_off(
    http: &reqwest::Client,
    channel: &str,
    post: &Post,
    image: &Image,
    limits: &Limits,
) -> Option<ImageFile> {
    match load(http, image, limits).await {
        Ok(file) => Some(file),
        Err(why) => {
            left_off(channel, post, &why);
            None
        }
    }
}

/// Logs that the image of `post` is left off the post on `channel`, and why.
pub fn left_off(channel: &str, post: &Post, why: &str) {
    let image = post
        .image
        .as_ref()
        .map(|i| {
            i.path
                .as_ref()
                .map_or(i.url.clone(), |p| p.display().to_string())
        })
        .unwrap_or_default();
    tracing::warn!(channel = %channel, entry_id = %post.entry_id, image = %image, "posting without the image: {why}");
}

async fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let too_large = || format!("{} is larger than {READ_LIMIT} bytes", path.display());
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > READ_LIMIT as u64 {
        return Err(too_large());
    }
    tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Downloads `url`, at most [`READ_LIMIT`] bytes of it.
async fn download(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot download {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "downloading {url} answered HTTP {}",
            response.status()
        ));
    }
    let too_large = || format!("{url} is larger than {READ_LIMIT} bytes");
    let announced = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > READ_LIMIT as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("cannot download {url}: {e}"))?
    {
        if bytes.len() + chunk.len() > READ_LIMIT {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `bytes` as a file the network takes: as they are when they fit, else scaled down and
/// re-encoded as JPEG.
pub fn fit(bytes: Vec<u8>, limits: &Limits) -> Result<ImageFile, String> {
    // The content, not a file name or a Content-Type, says what the file is.
    let format = image::guess_format(&bytes)
        .map_err(|_| "not an image crier reads (JPEG, PNG, GIF or WebP)".to_owned())?;
    let mime = match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::Gif => "image/gif",
        ImageFormat::WebP => "image/webp",
        _ => return Err("not an image crier reads (JPEG, PNG, GIF or WebP)".into()),
    };
    let reader = ImageReader::with_format(Cursor::new(&bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| format!("unreadable {mime} image: {e}"))?;
    if limits.types.contains(&mime)
        && bytes.len() <= limits.max_bytes
        && width.max(height) <= limits.max_side
    {
        return Ok(ImageFile {
            bytes,
            mime,
            width,
            height,
        });
    }
    let decoded = image::load_from_memory_with_format(&bytes, format)
        .map_err(|e| format!("unreadable {mime} image: {e}"))?;
    // JPEG has no transparency: flatten onto RGB.
    let mut picture = image::DynamicImage::ImageRgb8(decoded.to_rgb8());
    let mut side = width.max(height).min(limits.max_side);
    for _ in 0..SHRINK_ROUNDS {
        if picture.width().max(picture.height()) > side {
            picture = picture.resize(side, side, image::imageops::FilterType::Lanczos3);
        }
        let mut encoded = Vec::new();
        let encoder =
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, JPEG_QUALITY);
        picture
            .write_with_encoder(encoder)
            .map_err(|e| format!("cannot re-encode the image as JPEG: {e}"))?;
        if encoded.len() <= limits.max_bytes {
            let (width, height) = picture.dimensions();
            return Ok(ImageFile {
                bytes: encoded,
                mime: "image/jpeg",
                width,
                height,
            });
        }
        side = side * 3 / 4;
    }
    Err(format!(
        "still larger than {} bytes after scaling it down",
        limits.max_bytes
    ))
}

/// `alt` cut to `max` characters (graphemes kept whole), with `…` where it was cut.
pub fn alt_text(alt: &str, max: usize) -> String {
    let alt = alt.trim();
    if alt.chars().count() <= max {
        return alt.to_owned();
    }
    let mut out = String::new();
    for grapheme in alt.graphemes(true) {
        if out.chars().count() + grapheme.chars().count() + 1 > max {
            break;
        }
        out.push_str(grapheme);
    }
    out.push('…');
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG of `width` × `height` pixels of noise, hard to compress (seeded, so the same
    /// every run).
    pub(crate) fn noisy_png(width: u32, height: u32, seed: u32) -> Vec<u8> {
        let mut state = seed.max(1);
        let picture = image::RgbImage::from_fn(width, height, |_, _| {
            // xorshift: cheap and deterministic.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [r, g, b, _] = state.to_le_bytes();
            image::Rgb([r, g, b])
        });
        let mut bytes = Vec::new();
        picture
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    const SMALL: Limits = Limits {
        max_bytes: 20_000,
        types: &["image/jpeg", "image/png"],
        max_side: 4096,
    };

    #[test]
    fn an_image_that_fits_is_sent_as_it_is() {
        let png = noisy_png(8, 4, 1);
        let file = fit(png.clone(), &SMALL).unwrap();
        assert_eq!(file.bytes, png);
        assert_eq!((file.mime, file.width, file.height), ("image/png", 8, 4));
        assert_eq!(file.file_name(), "image.png");
    }

    #[test]
    fn an_oversize_image_is_scaled_down_to_a_jpeg_that_fits() {
        let png = noisy_png(300, 200, 7);
        assert!(png.len() > SMALL.max_bytes);
        let file = fit(png, &SMALL).unwrap();
        assert_eq!(file.mime, "image/jpeg");
        assert!(file.bytes.len() <= SMALL.max_bytes, "{}", file.bytes.len());
        assert_eq!(image::guess_format(&file.bytes).unwrap(), ImageFormat::Jpeg);
        // The aspect ratio is kept.
        assert_eq!(file.width * 2, file.height * 3);
    }

    #[test]
    fn a_type_the_network_does_not_take_is_re_encoded() {
        let limits = Limits {
            types: &["image/jpeg"],
            ..SMALL
        };
        let file = fit(noisy_png(8, 8, 3), &limits).unwrap();
        assert_eq!((file.mime, file.width), ("image/jpeg", 8));
    }

    #[test]
    fn a_larger_side_than_the_network_shows_is_scaled_down() {
        let limits = Limits {
            max_side: 10,
            max_bytes: 1_000_000,
            ..SMALL
        };
        let file = fit(noisy_png(40, 20, 3), &limits).unwrap();
        assert_eq!((file.width, file.height), (10, 5));
    }

    #[test]
    fn what_is_no_image_is_refused_with_a_reason() {
        let why = fit(
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            &SMALL,
        )
        .unwrap_err();
        assert!(why.contains("not an image"), "{why}");
        let limits = Limits {
            max_bytes: 10,
            ..SMALL
        };
        let why = fit(noisy_png(50, 50, 9), &limits).unwrap_err();
        assert!(why.contains("still larger than 10 bytes"), "{why}");
    }

    #[test]
    fn media_is_reused_until_close_to_its_expiry() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let media = Media::new("1".into(), now, TimeDelta::hours(24));
        assert!(media.usable(now + TimeDelta::hours(23)));
        assert!(!media.usable(now + TimeDelta::minutes(23 * 60 + 55)));
        let short = Media::new("b".into(), now, TimeDelta::minutes(10));
        assert!(short.usable(now + TimeDelta::minutes(8)));
        assert!(!short.usable(now + TimeDelta::minutes(9)));
    }

    #[test]
    fn alt_text_is_cut_on_a_grapheme_with_an_ellipsis() {
        assert_eq!(alt_text("  a plate ", 10), "a plate");
        assert_eq!(alt_text("abcdef", 4), "abc…");
        assert_eq!(alt_text("ééééé", 3), "éé…");
    }
}
