//! [`OcrSettings`]: workers, model instances and batching of the OCR pipeline.

use std::time::Duration;

use crate::det::DetParams;
use crate::rec::RecWidths;

/// How one of the three models runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSettings {
    /// Sessions (runtime instances), each on its own thread.
    pub instances: usize,
    /// Intra-op threads per session.
    pub threads: usize,
    /// Most requests per batch; 1 runs requests one by one.
    pub max_batch: usize,
}

/// Settings of [`pipeline`](super::pipeline) and [`SequentialOcr`](super::SequentialOcr) (which
/// uses only the image-processing ones: `det_side`, `rec_widths`, `det_params`, `min_text_score`).
///
/// The defaults ([`OcrSettings::for_cores`] with the cores this process may use) are the fastest
/// found on a 2-core CPU (`examples/ocr`, development pages): every session single-threaded, so
/// each computes on one core and decoding and cropping slot in between; one detector session
/// per two cores and one recogniser session per core, so whichever model has work fills the
/// cores; and the recogniser running one line at a time. On a CPU a batch of recogniser inputs
/// costs more per line than single lines (with ONNX Runtime 1.31, one thread, per line: 25 ms
/// at 640 px alone or in pairs, 28 ms in fours, 40 ms in eights; the activations of a bigger
/// batch no longer fit the caches), so batching lines there only adds waiting. On a GPU the
/// opposite holds: raise `rec.max_batch` and the batches fill with lines of one width bucket
/// from all images in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrSettings {
    /// Longer side of the detector's input in pixels (rounded to multiples of 32; smaller
    /// images are not enlarged).
    pub det_side: u32,
    /// The widths recogniser inputs are padded to (height 48, aspect kept): each line goes to
    /// the next bucket up, so lines are not squeezed and lines of similar length, from any
    /// image in flight, share a batch.
    pub rec_widths: RecWidths,
    /// Threads decoding and resizing images.
    pub decoders: usize,
    /// Threads post-processing detections and cutting out lines.
    pub croppers: usize,
    /// Images in flight in the detection and recognition stages (and each stage queue's size).
    pub images_in_flight: usize,
    /// The detector.
    pub det: ModelSettings,
    /// The orientation classifier.
    pub cls: ModelSettings,
    /// The recogniser.
    pub rec: ModelSettings,
    /// How long a batch of the classifier or recogniser waits for more crops after its oldest
    /// one arrived (a crop never waits while a session is idle).
    pub batch_timeout: Duration,
    /// Detection post-processing.
    pub det_params: DetParams,
    /// Settle the characters the recogniser cannot tell apart by shape (capital O and zero;
    /// c, o, s, u, v, w, x, z and their capitals) by the word around them
    /// ([`settle_confusables`](crate::settle_confusables)). On by default; off gives the
    /// recogniser's raw reading.
    pub settle_confusables: bool,
    /// Lines whose recognition score is below this are dropped (PaddleOCR's `drop_score`, 0.5).
    pub min_text_score: f32,
}

impl Default for OcrSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        OcrSettings::for_cores(cores)
    }
}

impl OcrSettings {
    /// The defaults for a CPU with `cores` cores (at least 1): single-threaded sessions, one
    /// detector per two cores, one recogniser per core, four images in flight per core (at
    /// least 8), the recogniser one line at a time and the classifier batching up to 16.
    pub fn for_cores(cores: usize) -> Self {
        let cores = cores.max(1);
        let single = |instances: usize, max_batch: usize| ModelSettings {
            instances,
            threads: 1,
            max_batch,
        };
        OcrSettings {
            det_side: 960,
            rec_widths: RecWidths::default(),
            decoders: 1.max(cores / 4),
            croppers: 1.max(cores / 4),
            images_in_flight: (4 * cores).max(8),
            det: single((cores / 2).max(1), 1),
            cls: single(1.max(cores / 4), 16),
            rec: single(cores, 1),
            batch_timeout: Duration::from_millis(2),
            det_params: DetParams::default(),
            min_text_score: 0.5,
            settle_confusables: true,
        }
    }

    /// Checks every setting; the pipeline builder calls it.
    pub fn validate(&self) -> accelrt::Result<()> {
        let bad = |what: String| Err(accelrt::Error::Config(format!("OCR settings: {what}")));
        if self.det_side < 32 {
            return bad(format!("det_side is {}; expected at least 32", self.det_side));
        }
        if let Err(e) = self.rec_widths.validate() {
            return bad(e);
        }
        for (name, n) in [
            ("decoders", self.decoders),
            ("croppers", self.croppers),
            ("images_in_flight", self.images_in_flight),
        ] {
            if n == 0 {
                return bad(format!("{name} is 0; expected at least 1"));
            }
        }
        for (name, m) in [("det", self.det), ("cls", self.cls), ("rec", self.rec)] {
            if m.instances == 0 || m.threads == 0 || m.max_batch == 0 {
                return bad(format!(
                    "{name}: {m:?}; expected instances, threads and max_batch of at least 1"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.min_text_score) {
            return bad(format!("min_text_score is {}; expected 0 to 1", self.min_text_score));
        }
        Ok(())
    }
}
