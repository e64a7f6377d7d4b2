//! What the OCR pipeline gives per image.

use crate::det::Quad;

/// One recognised text line.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrLine {
    /// The text (PP-OCR sometimes drops or adds spaces between words).
    pub text: String,
    /// Mean probability of the recognised characters.
    pub score: f32,
    /// Where the line is, in image pixels.
    pub quad: Quad,
    /// The detector's confidence in the box.
    pub box_score: f32,
    /// True when the orientation classifier found it upside down and it was turned 180°.
    pub turned: bool,
}

/// One image's result: its lines in reading order (top to bottom, left to right).
#[derive(Debug, Clone, PartialEq)]
pub struct OcrOutput {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Recognised lines scoring at least the settings' `min_text_score`.
    pub lines: Vec<OcrLine>,
}

impl OcrOutput {
    /// The lines' texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        self.lines.iter().map(|l| l.text.as_str()).collect()
    }
}
