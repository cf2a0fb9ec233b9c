//! Uploaded profile images: JPEG or PNG, recognised by their content, at most 5 MB.

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
        let digest = platform::secret::hash_secret_bytes(&data)[..16].to_owned();
        Ok(Self { kind, data, digest })
    }

    /// The path the gateway serves the image at; it becomes the user's `profile_url`.
    pub fn path(&self, app_id: &str, id: &str) -> String {
        format!("/profile_images/{app_id}/{id}/{}.{}", self.digest, self.kind.extension())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content_not_name() {
        let png = ProfileImage::parse(b"\x89PNG\r\n\x1a\nrest".to_vec()).expect("png");
        assert_eq!(png.kind, ImageType::Png);
        assert_eq!(png.digest.len(), 16);
        assert_eq!(ProfileImage::parse(vec![0xFF, 0xD8, 0xFF, 0xE0]).expect("jpeg").kind, ImageType::Jpeg);
        assert!(ProfileImage::parse(b"GIF89a".to_vec()).is_err());
        assert!(ProfileImage::parse(Vec::new()).is_err());
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(ProfileImage::MAX_BYTES + 1, 0);
        assert!(matches!(ProfileImage::parse(big), Err(ValidationError::TooLong { .. })));
    }
}
