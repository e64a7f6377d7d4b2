//! The text-line orientation classifier (`ch_ppocr_mobile_v2.0_cls`): is a crop upside down?
//!
//! It is given the recogniser's input ([`rec_input`](crate::rec_input)): the line at height 48
//! with its aspect kept, padded to its width bucket. The model takes any width (it pools over
//! the line), and PaddleOCR's fixed 48 × 192 input squeezes a long line up to eight-fold: on
//! 804 line crops of two development sets, upright and turned, the squeezed input turned 8
//! the wrong way (one in a hundred lines lost), the full-width one none. Sharing the input
//! also saves resizing each crop twice.

use accelrt::Tensor;

/// PaddleOCR's `cls_thresh`: a crop is turned only when the classifier is this sure.
pub const CLS_THRESHOLD: f32 = 0.9;

/// The classifier's verdict for one crop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orientation {
    /// True when the crop should be turned 180° before recognition.
    pub upside_down: bool,
    /// Probability of the winning class.
    pub score: f32,
}

/// Reads the classifier's output for one crop: f32 `[1, 2]`, probabilities of "0°" and "180°".
pub fn orientation(probs: &Tensor) -> accelrt::Result<Orientation> {
    let p = match (probs.shape(), probs.as_slice::<f32>()) {
        ([1, 2], Ok(p)) => p,
        _ => {
            return Err(accelrt::Error::invalid_named(
                "classifier output",
                "f32 [1, 2] (0°, 180°)",
                format!("{} {:?}", probs.dtype(), probs.shape()),
            ))
        }
    };
    let turned = p[1] > p[0];
    let score = p[0].max(p[1]);
    Ok(Orientation {
        upside_down: turned && score > CLS_THRESHOLD,
        score,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_only_when_sure() {
        let o = |a: f32, b: f32| orientation(&Tensor::new([1, 2], vec![a, b]).unwrap()).unwrap();
        assert!(o(0.02, 0.98).upside_down);
        assert!(!o(0.15, 0.85).upside_down);
        assert!(!o(0.99, 0.01).upside_down);
        assert_eq!(o(0.99, 0.01).score, 0.99);
        assert!(orientation(&Tensor::new([1, 3], vec![0f32; 3]).unwrap()).is_err());
    }
}
