//! [`CtcDecoder`]: greedy CTC decoding of the recogniser's per-time-step probabilities.

use std::collections::BTreeMap;

use accelrt::Tensor;

/// Turns the recogniser's output `[N, T, C]` into strings.
///
/// PP-OCR's class layout: class 0 is the CTC blank, class `i` (1 ≤ i ≤ n) is the `i`-th
/// character of the model's `character` metadata, and class `n + 1` is a space that PaddleOCR
/// appends (`use_space_char`), so `C = n + 2`. The decoder checks that `C` before decoding.
#[derive(Debug, Clone)]
pub struct CtcDecoder {
    /// Index `i` is class `i + 1`: the metadata characters, then the space.
    classes: Vec<String>,
}

/// One decoded string and its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The text, repeats collapsed and blanks removed.
    pub text: String,
    /// Mean probability of the kept characters (0 for an empty string).
    pub score: f32,
    /// For each character of `text`, the time step where it was first emitted: where it sits
    /// along the line (PP-OCRv4: 8 input pixels per step). Gaps tell where words end even when
    /// the recogniser emits no space.
    pub steps: Vec<usize>,
}

impl CtcDecoder {
    /// A decoder for the characters of a PP-OCR recogniser's metadata (one per entry, in
    /// order), such as [`models::rec_characters`](accelrt_onnx::models::rec_characters) returns.
    pub fn new(characters: Vec<String>) -> Self {
        let mut classes = characters;
        classes.push(" ".to_string());
        CtcDecoder { classes }
    }

    /// A decoder from a model's metadata map (its `character` entry, one character per line),
    /// as [`OnnxBackend::metadata`](accelrt_onnx::OnnxBackend::metadata) gives it.
    pub fn from_metadata(metadata: &BTreeMap<String, String>) -> accelrt::Result<Self> {
        let text = metadata.get("character").ok_or_else(|| {
            accelrt::Error::Config(format!(
                "recogniser: expected a \"character\" metadata entry (a PP-OCR recogniser), got keys {:?}",
                metadata.keys().collect::<Vec<_>>()
            ))
        })?;
        Ok(Self::new(text.lines().map(str::to_string).collect()))
    }

    /// Number of classes the model must output: blank, characters, space.
    pub fn classes(&self) -> usize {
        self.classes.len() + 1
    }

    /// Decodes every row of `probs` (f32 `[N, T, C]`, probabilities or logits: only the arg max
    /// matters for the text, the score is the mean of the chosen values).
    pub fn decode(&self, probs: &Tensor) -> accelrt::Result<Vec<Decoded>> {
        let [n, t, c] = *probs.shape() else {
            return Err(self.shape_error(probs));
        };
        if c != self.classes() {
            return Err(self.shape_error(probs));
        }
        let p = probs.as_slice::<f32>()?;
        Ok((0..n)
            .map(|i| self.decode_row(&p[i * t * c..(i + 1) * t * c], c))
            .collect())
    }

    /// Decodes the first `steps` time steps of a single row, `probs` f32 `[1, T, C]` (`steps`
    /// capped at `T`): the steps that cover a padded input's content, see
    /// [`RecInput::steps`](crate::RecInput::steps).
    pub fn decode_steps(&self, probs: &Tensor, steps: usize) -> accelrt::Result<Decoded> {
        let [1, t, c] = *probs.shape() else {
            return Err(self.shape_error(probs));
        };
        if c != self.classes() {
            return Err(self.shape_error(probs));
        }
        let p = probs.as_slice::<f32>()?;
        Ok(self.decode_row(&p[..steps.min(t) * c], c))
    }

    /// Time steps in the recogniser's output `[N, T, C]`: `T`.
    pub fn time_steps(&self, probs: &Tensor) -> accelrt::Result<usize> {
        match *probs.shape() {
            [_, t, c] if c == self.classes() => Ok(t),
            _ => Err(self.shape_error(probs)),
        }
    }

    fn decode_row(&self, row: &[f32], c: usize) -> Decoded {
        let mut text = String::new();
        let mut steps = Vec::new();
        let (mut sum, mut kept) = (0f32, 0usize);
        let mut prev = 0usize;
        for (t, step) in row.chunks_exact(c).enumerate() {
            // First maximum wins on ties, as numpy's argmax does.
            let (best, p) =
                step.iter().copied().enumerate().fold(
                    (0, f32::NEG_INFINITY),
                    |acc, (k, v)| if v > acc.1 { (k, v) } else { acc },
                );
            if best != 0 && best != prev {
                let class = &self.classes[best - 1];
                text.push_str(class);
                steps.extend(class.chars().map(|_| t));
                sum += p;
                kept += 1;
            }
            prev = best;
        }
        Decoded {
            text,
            score: if kept == 0 { 0.0 } else { sum / kept as f32 },
            steps,
        }
    }

    fn shape_error(&self, probs: &Tensor) -> accelrt::Error {
        accelrt::Error::invalid_named(
            "recogniser output",
            format!(
                "f32 [N, T, {}] (blank, {} characters, space)",
                self.classes(),
                self.classes.len() - 1
            ),
            format!("{} {:?}", probs.dtype(), probs.shape()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(classes: usize, seq: &[usize]) -> Vec<f32> {
        seq.iter()
            .flat_map(|&k| (0..classes).map(move |j| if j == k { 0.9 } else { 0.1 / (classes - 1) as f32 }))
            .collect()
    }

    #[test]
    fn collapses_repeats_drops_blanks_and_maps_the_space() {
        let d = CtcDecoder::new(vec!["a".into(), "b".into(), "l".into()]);
        assert_eq!(d.classes(), 5);
        // "a a _ b _ b l l _ ␠ a": repeats merge unless a blank separates them.
        let seq = [1, 1, 0, 2, 0, 2, 3, 3, 0, 4, 1];
        let probs = Tensor::new([1, seq.len(), 5], one_hot(5, &seq)).unwrap();
        let out = d.decode(&probs).unwrap();
        assert_eq!(out[0].text, "abbl a");
        assert_eq!(out[0].steps, [0, 3, 5, 6, 9, 10]);
        assert!((out[0].score - 0.9).abs() < 1e-6);
    }

    #[test]
    fn rows_decode_independently_and_empty_rows_score_zero() {
        let d = CtcDecoder::new(vec!["x".into()]);
        let mut v = one_hot(3, &[1, 0]);
        v.extend(one_hot(3, &[0, 0]));
        let out = d.decode(&Tensor::new([2, 2, 3], v).unwrap()).unwrap();
        assert_eq!(out[0].text, "x");
        assert_eq!(
            out[1],
            Decoded {
                text: String::new(),
                score: 0.0,
                steps: vec![]
            }
        );
    }

    #[test]
    fn steps_beyond_the_content_are_ignored() {
        let d = CtcDecoder::new(vec!["a".into(), "b".into()]);
        let probs = Tensor::new([1, 4, 4], one_hot(4, &[1, 0, 2, 2])).unwrap();
        assert_eq!(d.decode_steps(&probs, 2).unwrap().text, "a");
        assert_eq!(d.decode_steps(&probs, 9).unwrap().text, "ab");
        assert_eq!(d.time_steps(&probs).unwrap(), 4);
        let two = Tensor::new([2, 1, 4], one_hot(4, &[1, 2])).unwrap();
        assert!(d.decode_steps(&two, 1).is_err());
    }

    #[test]
    fn wrong_class_count_is_an_error() {
        let d = CtcDecoder::new(vec!["x".into()]);
        let err = d.decode(&Tensor::new([1, 2, 4], vec![0f32; 8]).unwrap()).unwrap_err();
        assert!(err.to_string().contains("expected f32 [N, T, 3]"), "{err}");
        let mut meta = BTreeMap::new();
        assert!(CtcDecoder::from_metadata(&meta).is_err());
        meta.insert("character".to_string(), "a\nb".to_string());
        assert_eq!(CtcDecoder::from_metadata(&meta).unwrap().classes(), 4);
    }
}
