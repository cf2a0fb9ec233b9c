//! Uploaded profile images: JPEG or PNG, recognised by their content, at most 5 MB and 4,096
//! pixels a side. Each is decoded whole (within memory bounds) and written again, so what is
//! stored and served is pixels Roster encoded: no metadata (EXIF, text chunks), nothing hidden
//! after the image, nothing a browser could read as HTML.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, codecs::jpeg::JpegEncoder};

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
}

impl ImageType {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
        }
    }

    pub fn from_content_type(value: &str) -> Option<Self> {
        match value {
            "image/png" => Some(Self::Png),
            "image/jpeg" => Some(Self::Jpeg),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct ProfileImage {
    pub kind: ImageType,
    pub data: Vec<u8>,
    /// Hex prefix of the SHA-256 of `data`: a new image gets a new URL.
    pub digest: String,
}

impl std::fmt::Debug for ProfileImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileImage").field("kind", &self.kind).field("bytes", &self.data.len()).finish()
    }
}

impl ProfileImage {
    pub const MAX_BYTES: usize = 5 * 1024 * 1024;

    pub fn parse(data: Vec<u8>) -> Result<Self, ValidationError> {
        if data.len() > Self::MAX_BYTES {
            return Err(ValidationError::TooLong { field: "profile_file", max: Self::MAX_BYTES });
        }
        let kind = if data.starts_with(b"\x89PNG\r\n\x1a\n") {
            ImageType::Png
        } else if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
            ImageType::Jpeg
        } else {
            return Err(ValidationError::Invalid { field: "profile_file", reason: "must be a JPEG or PNG image" });
        };
        let data = reencode(&data, kind)?;
        let digest = platform::secret::hash_secret_bytes(&data)[..16].to_owned();
        Ok(Self { kind, data, digest })
    }

    /// Largest width and height, in pixels.
    pub const MAX_DIMENSION: u32 = 4096;
    /// The most a decode may allocate (a 4,096-pixel square of 16-bit RGBA is 128 MB: such an
    /// image is refused rather than decoded).
    const MAX_DECODE_BYTES: u64 = 80 * 1024 * 1024;
}

/// Decodes `data` as `kind` within the bounds above and encodes it again in the same format.
/// CPU-bound: callers run it off the async threads.
fn reencode(data: &[u8], kind: ImageType) -> Result<Vec<u8>, ValidationError> {
    const UNREADABLE: ValidationError =
        ValidationError::Invalid { field: "profile_file", reason: "must be a JPEG or PNG image that decodes" };
    let format = match kind {
        ImageType::Png => ImageFormat::Png,
        ImageType::Jpeg => ImageFormat::Jpeg,
    };
    let (width, height) =
        ImageReader::with_format(Cursor::new(data), format).into_dimensions().map_err(|_| UNREADABLE)?;
    if width > ProfileImage::MAX_DIMENSION || height > ProfileImage::MAX_DIMENSION {
        return Err(ValidationError::Invalid { field: "profile_file", reason: "must be at most 4096 x 4096 pixels" });
    }
    let mut reader = ImageReader::with_format(Cursor::new(data), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(ProfileImage::MAX_DIMENSION);
    limits.max_image_height = Some(ProfileImage::MAX_DIMENSION);
    limits.max_alloc = Some(ProfileImage::MAX_DECODE_BYTES);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|_| UNREADABLE)?;
    let mut out = Cursor::new(Vec::new());
    let written = match kind {
        ImageType::Png => decoded.write_to(&mut out, ImageFormat::Png),
        ImageType::Jpeg => JpegEncoder::new_with_quality(&mut out, 90).encode_image(&decoded.to_rgb8()),
    };
    written.map_err(|_| UNREADABLE)?;
    Ok(out.into_inner())
}

impl ProfileImage {
    /// The path the gateway serves the image at; it becomes the user's `profile_url`.
    pub fn path(&self, app_id: &str, id: &str) -> String {
        format!("/profile_images/{app_id}/{id}/{}.{}", self.digest, self.kind.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/images/");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{name}")).unwrap()
    }

    #[test]
    fn images_are_recognised_by_content_decoded_and_written_again_without_metadata() {
        let png = ProfileImage::parse(fixture("face.png")).expect("png");
        assert_eq!(png.kind, ImageType::Png);
        assert_eq!(png.digest.len(), 16);
        assert!(png.data.starts_with(b"\x89PNG\r\n\x1a\n"));
        let text = String::from_utf8_lossy(&png.data);
        assert!(fixture("face.png").windows(24).any(|w| w == b"private-note-in-metadata"), "the fixture has it");
        assert!(!text.contains("private-note"), "text chunks are not kept");
        let jpeg = ProfileImage::parse(fixture("face.jpg")).expect("jpeg");
        assert_eq!(jpeg.kind, ImageType::Jpeg);
        assert!(!String::from_utf8_lossy(&jpeg.data).contains("private-note"), "EXIF is not kept");
        assert_ne!(ProfileImage::parse(fixture("other.png")).unwrap().digest, png.digest);
    }

    #[test]
    fn what_does_not_decode_or_is_too_large_is_refused() {
        let unreadable =
            Err(ValidationError::Invalid { field: "profile_file", reason: "must be a JPEG or PNG image that decodes" });
        let mut noise = b"\x89PNG\r\n\x1a\n".to_vec();
        noise.extend((0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        assert_eq!(ProfileImage::parse(noise), unreadable);
        assert_eq!(
            ProfileImage::parse(b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>".to_vec()),
            unreadable
        );
        assert_eq!(ProfileImage::parse(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2]), unreadable);
        assert_eq!(
            ProfileImage::parse(fixture("huge.png")),
            Err(ValidationError::Invalid { field: "profile_file", reason: "must be at most 4096 x 4096 pixels" })
        );
        assert!(ProfileImage::parse(b"GIF89a".to_vec()).is_err());
        assert!(ProfileImage::parse(Vec::new()).is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(ProfileImage::MAX_BYTES + 1, 0);
        assert!(matches!(ProfileImage::parse(big), Err(ValidationError::TooLong { .. })));
    }
}
