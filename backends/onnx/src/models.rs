//! Real models, fetched from PyPI into the cache on first use.
//!
//! - [`ocr`]: the PP-OCRv4 text detector, orientation classifier and recogniser shipped in the
//!   `rapidocr-onnxruntime==1.4.4` wheel.
//! - [`datasets`]: the tiny test models shipped in the `onnxruntime==1.31.1` wheel.
//! - [`ocr_scans`]: real scanned pages with transcripts, from the source distribution of
//!   `ocrmypdf==17.13.0` (its test resources), to measure OCR on.

use std::path::PathBuf;

use crate::cache::cache_dir;
use crate::library::ORT_WHEEL;
use crate::wheel::{Format, Package};
use crate::{OnnxError, OnnxSession};

const RAPIDOCR_WHEEL: Package = Package {
    name: "rapidocr-onnxruntime",
    version: "1.4.4",
    format: Format::Wheel,
    members: &[
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
        "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
    ],
};

/// The `ocrmypdf` source distribution: two real scans from its test resources and a
/// transcript of each. Its wheels hold no tests.
const OCRMYPDF_SDIST: Package = Package {
    name: "ocrmypdf",
    version: "17.13.0",
    format: Format::Sdist,
    members: &[
        "tests/resources/linn.png",
        "tests/resources/linn.txt",
        "tests/resources/typewriter.png",
        // Tesseract's reading of 2400dpi.pdf (typewriter.png at 2400 dpi), recorded for the
        // package's tests.
        "tests/cache/v1/2400dpi-98cf83ef/__-l__eng__000001_ocr.png__000001_ocr_hocr__hocr__txt/txt.bin",
    ],
};

/// The three PP-OCR models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrModels {
    /// Text detection (DB): `x` f32 `[N, 3, H, W]` → probability map f32 `[N, 1, H, W]`.
    pub det: PathBuf,
    /// Text-line orientation (0° / 180°) classification.
    pub cls: PathBuf,
    /// Text recognition (CTC); its character list is in the model's metadata, see
    /// [`rec_characters`].
    pub rec: PathBuf,
}

/// The PP-OCR models, fetching `rapidocr-onnxruntime==1.4.4` from PyPI into the cache
/// (`python3 -m pip download`) the first time.
pub fn ocr() -> accelrt::Result<OcrModels> {
    let dir = RAPIDOCR_WHEEL.ensure(&cache_dir()?)?;
    Ok(OcrModels {
        det: dir.join("ch_PP-OCRv4_det_infer.onnx"),
        cls: dir.join("ch_ppocr_mobile_v2.0_cls_infer.onnx"),
        rec: dir.join("ch_PP-OCRv4_rec_infer.onnx"),
    })
}

/// Real scans with transcripts, from the test resources of `ocrmypdf==17.13.0` (licences in
/// its `REUSE.toml`). Both transcripts were made by OCR and hold a few errors of their own, so
/// they are references to compare readers by, not ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrScans {
    /// `linn.png`: a 300 dpi scan (2550 × 3300, 1 bit) of a LinnSequencer brochure page from
    /// Wikimedia: a heading, bullet lists and two columns of running text.
    pub linn: PathBuf,
    /// `linn.txt`: its transcript, one line per printed line (blank lines between some). Made
    /// by OCR: bullets are written `0`, `or` once as `0r`, some hyphens as em dashes.
    pub linn_transcript: PathBuf,
    /// `typewriter.png`: a scan (4000 × 2864, 1 bit) of a typewritten Dutch recipe from
    /// Wikimedia, 17 lines.
    pub typewriter: PathBuf,
    /// Tesseract 5.5's reading of the same image (in `ocrmypdf`'s recorded test cache): the
    /// recipe line by line, with a few misread letters and full stops read as commas.
    pub typewriter_transcript: PathBuf,
}

/// The real scans, fetching the `ocrmypdf==17.13.0` source distribution from PyPI into the
/// cache (`python3 -m pip download --no-binary=ocrmypdf`) the first time; pip also fetches its
/// build backend (hatchling) into a throwaway environment to read the package's metadata.
pub fn ocr_scans() -> accelrt::Result<OcrScans> {
    let dir = OCRMYPDF_SDIST.ensure(&cache_dir()?)?;
    Ok(OcrScans {
        linn: dir.join("linn.png"),
        linn_transcript: dir.join("linn.txt"),
        typewriter: dir.join("typewriter.png"),
        typewriter_transcript: dir.join("txt.bin"),
    })
}

/// The tiny models of the onnxruntime wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestModels {
    /// `mul_1.onnx`: `Y = X * [[1, 2], [3, 4], [5, 6]]` element-wise, X f32 `[3, 2]`.
    pub mul_1: PathBuf,
    /// `sigmoid.onnx`: `y = 1 / (1 + e^-x)`, x f32 `[3, 4, 5]`.
    pub sigmoid: PathBuf,
    /// `logreg_iris.onnx`: a scikit-learn logistic regression on the iris data set,
    /// `float_input` f32 `[N, 4]` → label i64 `[N]` and per-class probabilities.
    pub logreg_iris: PathBuf,
}

/// The onnxruntime wheel's test models, fetching `onnxruntime==1.31.1` into the cache the first
/// time (the same wheel that provides the library).
pub fn datasets() -> accelrt::Result<TestModels> {
    let dir = ORT_WHEEL.ensure(&cache_dir()?)?;
    Ok(TestModels {
        mul_1: dir.join("mul_1.onnx"),
        sigmoid: dir.join("sigmoid.onnx"),
        logreg_iris: dir.join("logreg_iris.onnx"),
    })
}

/// The recogniser's character list, from the `character` entry of the session's metadata (one
/// character per line). CTC class 0 is the blank and class `i` is `chars[i - 1]`; PP-OCR adds a
/// space as the last class, which this list does not include.
pub fn rec_characters(session: &OnnxSession) -> accelrt::Result<Vec<String>> {
    let text = session.metadata().get("character").ok_or_else(|| OnnxError::Model {
        path: session.path().to_path_buf(),
        reason: format!(
            "expected a \"character\" metadata entry (a PP-OCR recogniser), got keys {:?}",
            session.metadata().keys().collect::<Vec<_>>()
        ),
    })?;
    Ok(text.lines().map(str::to_string).collect())
}
