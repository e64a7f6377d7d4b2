//! [`ImageSource`]: what the OCR pipeline takes, and decoding it.

use std::path::{Path, PathBuf};

use image::RgbImage;

/// One image to read: a file, encoded bytes (PNG or JPEG), or pixels already decoded.
#[derive(Debug, Clone)]
pub enum ImageSource {
    /// A PNG or JPEG file.
    Path(PathBuf),
    /// The bytes of a PNG or JPEG file.
    Encoded(Vec<u8>),
    /// Decoded pixels.
    Image(RgbImage),
}

impl From<PathBuf> for ImageSource {
    fn from(p: PathBuf) -> Self {
        ImageSource::Path(p)
    }
}

impl From<&std::path::Path> for ImageSource {
    fn from(p: &std::path::Path) -> Self {
        ImageSource::Path(p.to_path_buf())
    }
}

impl From<Vec<u8>> for ImageSource {
    fn from(bytes: Vec<u8>) -> Self {
        ImageSource::Encoded(bytes)
    }
}

impl From<RgbImage> for ImageSource {
    fn from(img: RgbImage) -> Self {
        ImageSource::Image(img)
    }
}

impl ImageSource {
    /// The pixels, decoding when needed; a file that cannot be read or bytes that are no PNG or
    /// JPEG give [`accelrt::Error::InvalidInput`].
    pub fn decode(self) -> accelrt::Result<RgbImage> {
        match self {
            ImageSource::Path(p) => crate::detect::load_image(&p),
            ImageSource::Encoded(bytes) => image::load_from_memory(&bytes).map(|i| i.to_rgb8()).map_err(|e| {
                accelrt::Error::invalid_input(
                    "a PNG or JPEG image",
                    format!("{} bytes that do not decode ({e})", bytes.len()),
                )
            }),
            ImageSource::Image(img) => Ok(img),
        }
    }
}

/// The PNG and JPEG files in `dir`, sorted by name, at most `limit` of them: a folder of images to read.
pub fn image_files(dir: &Path, limit: usize) -> accelrt::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        accelrt::Error::invalid_input("a readable folder of images", format!("{} ({e})", dir.display()))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        })
        .collect();
    paths.sort();
    paths.truncate(limit);
    Ok(paths)
}
