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
/// The defaults ([`OcrSettings::adaptive`] with the cores this process may use) size the
/// pipeline to the machine and let the work decide where the cores go: every stage (decoding,
/// detection, cropping, recognition) has enough single-threaded sessions or threads to fill
/// every core by itself, so whichever stage the pages make the bottleneck gets the cores (the
/// operating system runs whichever threads have work). Big pages that make decoding and
/// detection the bottleneck and pages full of lines that make recognition the bottleneck both
/// keep every core busy, with no split of cores chosen in advance. [`shared_cores`](Self::shared_cores)
/// caps how many steps compute at once, for a pipeline that must leave cores to other work.
///
/// On a CPU the recogniser runs one line at a time: a batch of recogniser inputs costs more
/// per line than single lines (with ONNX Runtime 1.31, one thread, per line: 25 ms at 640 px
/// alone or in pairs, 28 ms in fours, 40 ms in eights; the activations of a bigger batch no
/// longer fit the caches), so batching lines there only adds waiting. On a GPU the opposite
/// holds: raise `rec.max_batch` and the batches fill with lines of one width bucket from all
/// images in flight, as many as are waiting (the runtime forms a batch from its queue).
///
/// [`OcrSettings::for_cores`] is the fixed layout that was the default before (a split of
/// sessions measured on invoice pages). Explicit settings override either:
/// set any field after calling the constructor.
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
    /// `Some(n)`: decoding, cropping and every session run take their cores from one pool of
    /// `n` ([`Cores`](crate::Cores)), first come, first served, so that at most `n` cores
    /// compute at once (a session takes as many as it has threads). `None` (the default): no
    /// cap; each thread computes whenever it has work and the operating system shares the
    /// cores out. On a shared 2-core machine the cap cost 4 to 18% of throughput (fewer
    /// runnable threads get a smaller share of a machine others load too), so it is for
    /// budgeting cores, not for speed.
    pub shared_cores: Option<usize>,
}

impl Default for OcrSettings {
    /// [`OcrSettings::adaptive`] for the cores this process may use.
    fn default() -> Self {
        OcrSettings::adaptive(available_cores())
    }
}

/// The cores this process may use (`std::thread::available_parallelism`; 2 if unknown).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The most sessions a stage gets: beyond it, sessions get more threads instead (each session
/// keeps its own activation memory, which for the detector is tens of MB).
const MAX_SESSIONS: usize = 8;

impl OcrSettings {
    /// The defaults for a CPU with `cores` cores (at least 1), sized so that the cores follow
    /// the work: detector and recogniser `min(cores, 8)` sessions each, with enough threads each
    /// to fill the cores by themselves (one each up to 8 cores); the classifier half as many,
    /// batching up to 16; as many decoding and cropping threads; four images in flight per core
    /// (at least 8); the recogniser one line at a time; no cap on the cores
    /// ([`shared_cores`](Self::shared_cores) `None`).
    pub fn adaptive(cores: usize) -> Self {
        let cores = cores.max(1);
        let sessions = cores.min(MAX_SESSIONS);
        let threads = cores.div_ceil(sessions);
        let model = |instances: usize, max_batch: usize| ModelSettings {
            instances,
            threads,
            max_batch,
        };
        OcrSettings {
            decoders: sessions,
            croppers: sessions,
            det: model(sessions, 1),
            cls: model((sessions / 2).max(1), 16),
            rec: model(sessions, 1),
            ..OcrSettings::for_cores(cores)
        }
    }

    /// The fixed layout that was the default before [`OcrSettings::adaptive`], for a CPU with
    /// `cores` cores (at least 1): single-threaded sessions, one detector per two cores, one
    /// recogniser per core, four images in flight per core (at least 8), the recogniser one
    /// line at a time and the classifier batching up to 16, no cap on the cores. It was
    /// the fastest split found on invoice pages on 2 cores; pages that move the work to
    /// detection leave cores idle with it.
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
            shared_cores: None,
        }
    }

    /// The layout in one line: sessions × threads (and batch) per model, workers, images in
    /// flight and how the cores are shared.
    pub fn layout(&self) -> String {
        let m = |name: &str, m: ModelSettings| {
            let batch = if m.max_batch > 1 {
                format!(" batch {}", m.max_batch)
            } else {
                String::new()
            };
            format!("{name} {}x{}{batch}", m.instances, m.threads)
        };
        let sharing = match self.shared_cores {
            Some(n) => format!("at most {n} cores at once"),
            None => "no cap on cores".into(),
        };
        format!(
            "{}, {}, {}, {} decode + {} crop threads, {} in flight, {sharing}",
            m("det", self.det),
            m("cls", self.cls),
            m("rec", self.rec),
            self.decoders,
            self.croppers,
            self.images_in_flight
        )
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
        if self.shared_cores == Some(0) {
            return bad("shared_cores is Some(0); expected at least 1 core, or None".into());
        }
        if !(0.0..=1.0).contains(&self.min_text_score) {
            return bad(format!("min_text_score is {}; expected 0 to 1", self.min_text_score));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adaptive_layout_lets_every_stage_fill_every_core() {
        for cores in [1, 2, 3, 8, 12, 64] {
            let s = OcrSettings::adaptive(cores);
            s.validate().unwrap();
            for m in [s.det, s.rec] {
                assert!(m.instances * m.threads >= cores, "{cores}: {m:?}");
                assert!(m.instances <= MAX_SESSIONS && m.threads <= cores.div_ceil(m.instances));
            }
            assert_eq!(s.decoders, cores.min(MAX_SESSIONS));
            assert_eq!(s.croppers, cores.min(MAX_SESSIONS));
            assert_eq!(s.rec.max_batch, 1);
            assert_eq!(s.shared_cores, None);
            // The image processing is the fixed layout's: the two read alike.
            let fixed = OcrSettings::for_cores(cores);
            assert_eq!(
                (s.det_side, s.rec_widths, s.det_params),
                (fixed.det_side, fixed.rec_widths, fixed.det_params)
            );
        }
        assert_eq!(OcrSettings::adaptive(0), OcrSettings::adaptive(1));
        let layout = OcrSettings::adaptive(2).layout();
        assert_eq!(
            layout,
            "det 2x1, cls 1x1 batch 16, rec 2x1, 2 decode + 2 crop threads, 8 in flight, no cap on cores"
        );
    }

    #[test]
    fn a_pool_of_no_cores_is_refused() {
        let s = OcrSettings {
            shared_cores: Some(0),
            ..OcrSettings::default()
        };
        assert!(matches!(s.validate(), Err(accelrt::Error::Config(_))));
    }
}
