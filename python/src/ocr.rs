//! `accelrt.ocr.Reader`: the OCR pipeline of `accelrt-ocr` (PP-OCRv4 detection, orientation,
//! recognition) behind the same task API, with pages as `accelrt.ocr.Page` / `Line`.

use std::path::PathBuf;

use accelrt::{AsyncRuntime, Error};
use accelrt_ocr::image::RgbImage;
use accelrt_ocr::{ImageSource, OcrOutput, OcrPipeline, OcrSettings};
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::convert::tensor_from;
use crate::errors::py_result;
use crate::stats::pipeline_stats_to_py;
use crate::task::PyTask;

/// `accelrt.ocr`'s `Line` and `Page` classes, looked up once.
fn classes(py: Python<'_>) -> PyResult<&(Py<PyAny>, Py<PyAny>)> {
    static CLASSES: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    CLASSES.get_or_try_init(py, || {
        let m = py.import("accelrt.ocr")?;
        Ok((m.getattr("Line")?.unbind(), m.getattr("Page")?.unbind()))
    })
}

/// One page as an `accelrt.ocr.Page`.
pub(crate) fn page_to_py(py: Python<'_>, page: OcrOutput) -> PyResult<Py<PyAny>> {
    let (line_cls, page_cls) = classes(py)?;
    let lines = PyList::empty(py);
    for l in page.lines {
        let kw = PyDict::new(py);
        kw.set_item("text", l.text)?;
        kw.set_item("score", l.score)?;
        kw.set_item("box", l.quad.0.to_vec())?;
        kw.set_item("box_score", l.box_score)?;
        kw.set_item("turned", l.turned)?;
        lines.append(line_cls.call(py, (), Some(&kw))?)?;
    }
    let kw = PyDict::new(py);
    kw.set_item("width", page.width)?;
    kw.set_item("height", page.height)?;
    kw.set_item("lines", lines)?;
    page_cls.call(py, (), Some(&kw))
}

/// An image from Python: a path (str or os.PathLike), the bytes of a PNG or JPEG file, or a
/// uint8 array of shape (height, width, 3) in RGB order.
pub(crate) fn source_from(obj: &Bound<'_, PyAny>) -> accelrt::Result<ImageSource> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(ImageSource::Encoded(b.as_bytes().to_vec()));
    }
    if let Ok(a) = obj.cast::<PyUntypedArray>() {
        let shape = a.shape().to_vec();
        let t = tensor_from(obj, Some("image"))?;
        let expected = "a uint8 array of shape (height, width, 3), RGB";
        let pixels = t
            .to_vec::<u8>()
            .map_err(|_| Error::invalid_named("image", expected, format!("a {} array", t.dtype())))?;
        return match shape[..] {
            [h, w, 3] if h > 0 && w > 0 => RgbImage::from_raw(w as u32, h as u32, pixels)
                .map(ImageSource::Image)
                .ok_or_else(|| Error::invalid_named("image", expected, "an image too large for u32 sides")),
            _ => Err(Error::invalid_named("image", expected, format!("shape {shape:?}"))),
        };
    }
    match obj.extract::<PathBuf>() {
        Ok(p) => Ok(ImageSource::Path(p)),
        Err(_) => Err(Error::invalid_named(
            "image",
            "a path, the bytes of a PNG or JPEG file, or a uint8 (height, width, 3) array",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_else(|_| "an object".into()),
        )),
    }
}

/// Reads text in images with the PP-OCRv4 models (fetched from PyPI into the cache the first
/// time): detection, orientation and recognition as one pipeline, the lines of every image in
/// flight sharing the recogniser. ``run(image)`` returns a :class:`Task` for an
/// ``accelrt.ocr.Page``.
#[pyclass(module = "accelrt._native", name = "OcrReader", subclass, frozen, weakref)]
pub struct PyOcr {
    pipeline: OcrPipeline,
}

impl PyOcr {
    pub(crate) fn pipeline(&self) -> &OcrPipeline {
        &self.pipeline
    }
}

#[pymethods]
impl PyOcr {
    /// Settings left ``None`` take the pipeline's defaults for this machine. ``det_side``:
    /// longest side of the detector's input (px); ``min_text_score``: lines scoring below are
    /// dropped; ``settle_confusables``: settle O/0 and same-shape letters by the word around
    /// them; ``images_in_flight``: images inside the pipeline at once.
    #[new]
    #[pyo3(signature = (*, det_side=None, min_text_score=None, settle_confusables=None, images_in_flight=None))]
    fn new(
        py: Python<'_>,
        det_side: Option<u32>,
        min_text_score: Option<f32>,
        settle_confusables: Option<bool>,
        images_in_flight: Option<usize>,
    ) -> PyResult<Self> {
        let mut settings = OcrSettings::default();
        if let Some(v) = det_side {
            settings.det_side = v;
        }
        if let Some(v) = min_text_score {
            settings.min_text_score = v;
        }
        if let Some(v) = settle_confusables {
            settings.settle_confusables = v;
        }
        if let Some(v) = images_in_flight {
            settings.images_in_flight = v;
        }
        let pipeline = py.detach(|| {
            let models = accelrt_onnx::models::ocr()?;
            accelrt_ocr::pipeline(&models, &settings)
        });
        Ok(PyOcr {
            pipeline: py_result(py, pipeline)?,
        })
    }

    /// Queues one image (a path, PNG/JPEG bytes, or a uint8 (height, width, 3) RGB array)
    /// and returns its :class:`Task` at once.
    #[pyo3(signature = (image,))]
    fn run(&self, py: Python<'_>, image: &Bound<'_, PyAny>) -> PyResult<Py<PyTask>> {
        let task = match source_from(image) {
            Ok(s) => PyTask::new(Box::new(self.pipeline.run(s)), None),
            Err(e) => PyTask::failed(e),
        };
        Py::new(py, task)
    }

    /// Counters so far, as a dict (per stage: decode, detect, crop, recognize).
    fn _stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        pipeline_stats_to_py(py, &self.pipeline.stats())
    }

    /// Stops taking images, finishes those accepted, returns True (GIL released).
    fn close(&self, py: Python<'_>) -> PyResult<bool> {
        crate::pipeline::close(py, &self.pipeline)
    }

    /// ``close`` for asyncio.
    fn aclose(&self, py: Python<'_>) -> PyResult<Py<PyTask>> {
        Py::new(py, PyTask::new(crate::pipeline::shutdown(&self.pipeline), None))
    }
}
