//! Real scans with transcripts, from a package on PyPI (the test resources of
//! `ocrmypdf==17.13.0`, fetched by [`accelrt_onnx::models::ocr_scans`]): the one distribution
//! here that was not drawn by this crate.
//!
//! Both transcripts were made by OCR (`linn.txt` by its authors, the typewriter's by Tesseract
//! 5.5 in the package's recorded test cache) and hold errors of their own, so they are a
//! reference to compare readers by, not ground truth: score them with
//! [`score_transcript`](crate::score_transcript), which compares letters and digits only. There
//! is no held-out split: two pages are all there is, so nothing may be tuned on them.

use std::path::{Path, PathBuf};

use accelrt_onnx::models;

/// A real scan and its transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealScan {
    /// A short name: `linn` or `typewriter`.
    pub name: &'static str,
    /// The image file in the cache: an 8-bit grey PNG copy of the package's palette PNG (see
    /// [`real_scans`]).
    pub path: PathBuf,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The transcript's non-empty lines, as printed on the page (see [`real_scans`] for the
    /// one correction made).
    pub transcript: Vec<String>,
}

fn lines(path: &PathBuf) -> accelrt::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| accelrt::Error::Config(format!("cannot read the transcript {}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// An 8-bit grey copy of `path` beside it (`NAME-grey.png`), made once. Both scans are palette
/// PNGs, which rapidocr 1.4.4 (the benchmark's peer) takes as an array of palette indices and
/// reads nothing from; this crate reads either. Every reader is given the grey copy.
fn grey_copy(name: &str, path: &Path) -> accelrt::Result<PathBuf> {
    let grey = path.with_file_name(format!("{name}-grey.png"));
    if grey.is_file() {
        return Ok(grey);
    }
    let failed = |e: &dyn std::fmt::Display| accelrt::Error::Config(format!("cannot make {}: {e}", grey.display()));
    let image = image::open(path).map_err(|e| failed(&e))?.to_luma8();
    let tmp = path.with_file_name(format!(".{name}-grey.{}.png", std::process::id()));
    image.save(&tmp).map_err(|e| failed(&e))?;
    std::fs::rename(&tmp, &grey).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed(&e)
    })?;
    Ok(grey)
}

fn scan(name: &'static str, original: PathBuf, transcript: Vec<String>) -> accelrt::Result<RealScan> {
    let path = grey_copy(name, &original)?;
    let (width, height) = image::image_dimensions(&path)
        .map_err(|e| accelrt::Error::Config(format!("cannot read {}: {e}", path.display())))?;
    Ok(RealScan {
        name,
        path,
        width,
        height,
        transcript,
    })
}

/// The real scans, fetching them from PyPI into the cache the first time and converting each
/// palette PNG to an 8-bit grey one (rapidocr 1.4.4 reads nothing from the palette files):
/// - `linn`: a 300 dpi scan (2550 × 3300) of a LinnSequencer brochure page: a two-line heading,
///   a bullet list across the page, two columns of running text, a second list, an address;
///   82 transcript lines. Its transcript writes each bullet `•` as `0 `; that prefix is
///   removed, as the scoring drops the bullet a reader reads. Its other errors are kept.
/// - `typewriter`: a typewritten Dutch recipe (4000 × 2864), 17 lines.
pub fn real_scans() -> accelrt::Result<Vec<RealScan>> {
    let files = models::ocr_scans()?;
    let linn = lines(&files.linn_transcript)?
        .into_iter()
        .map(|l| match l.strip_prefix("0 ") {
            Some(rest) => rest.to_string(),
            None => l,
        })
        .collect();
    Ok(vec![
        scan("linn", files.linn, linn)?,
        scan("typewriter", files.typewriter, lines(&files.typewriter_transcript)?)?,
    ])
}
