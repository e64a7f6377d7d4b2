//! Scoring recognised lines against the lines known to be on a page ([`score_lines`]), or
//! against a transcript that may itself hold errors ([`score_transcript`]).

use std::ops::AddAssign;

/// How many of a page's known lines were read, by three standards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineScore {
    /// Lines known to be on the page.
    pub lines: usize,
    /// Read exactly, spaces ignored (PP-OCR drops or adds some spaces between words), case
    /// kept.
    pub exact: usize,
    /// Read exactly with spaces and case ignored.
    pub ignoring_case: usize,
    /// Of the lines not read even ignoring case, those that would be with capital O and zero
    /// taken as the same character: the O/0 confusion, measured on its own.
    pub o_zero_only: usize,
}

impl AddAssign for LineScore {
    fn add_assign(&mut self, o: LineScore) {
        self.lines += o.lines;
        self.exact += o.exact;
        self.ignoring_case += o.ignoring_case;
        self.o_zero_only += o.o_zero_only;
    }
}

impl LineScore {
    /// `exact` as a fraction of `lines` (1 when there are none).
    pub fn exact_rate(&self) -> f64 {
        ratio(self.exact, self.lines)
    }

    /// `ignoring_case` as a fraction of `lines` (1 when there are none).
    pub fn ignoring_case_rate(&self) -> f64 {
        ratio(self.ignoring_case, self.lines)
    }
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        1.0
    } else {
        n as f64 / d as f64
    }
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Counts the `expected` lines some line of `got` equals; each recognised line is used once.
fn matched(expected: &[String], got: &[String], key: impl Fn(&str) -> String) -> usize {
    let mut got: Vec<String> = got.iter().map(|g| key(g)).collect();
    expected
        .iter()
        .filter(|e| {
            let e = key(e);
            got.iter().position(|g| *g == e).map(|i| got.swap_remove(i)).is_some()
        })
        .count()
}

/// Scores one page: `expected` the lines drawn on it, `got` the lines read, in any order.
pub fn score_lines(expected: &[String], got: &[String]) -> LineScore {
    let upper = |s: &str| squash(s).to_uppercase();
    let ignoring_case = matched(expected, got, upper);
    let o_zero = matched(expected, got, |s| upper(s).replace('O', "0"));
    LineScore {
        lines: expected.len(),
        exact: matched(expected, got, squash),
        ignoring_case,
        o_zero_only: o_zero.saturating_sub(ignoring_case),
    }
}

/// How a page's reading compares with a transcript of it, letters and digits only, case
/// ignored ([`transcript_key`]); see [`score_transcript`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TranscriptScore {
    /// Transcript lines that hold a letter or digit.
    pub lines: usize,
    /// Of those, the lines some recognised line reproduces (each recognised line counts once).
    pub reproduced: usize,
    /// Letters and digits in the transcript.
    pub chars: usize,
    /// Edits (insertions, deletions, substitutions) between the reading and the transcript.
    pub char_errors: usize,
}

impl AddAssign for TranscriptScore {
    fn add_assign(&mut self, o: TranscriptScore) {
        self.lines += o.lines;
        self.reproduced += o.reproduced;
        self.chars += o.chars;
        self.char_errors += o.char_errors;
    }
}

impl TranscriptScore {
    /// `reproduced` as a fraction of `lines` (1 when there are none).
    pub fn reproduced_rate(&self) -> f64 {
        ratio(self.reproduced, self.lines)
    }

    /// The character error rate: `char_errors` per transcript character (0 when there are none;
    /// above 1 when the reading holds much that the transcript does not).
    pub fn char_error_rate(&self) -> f64 {
        if self.chars == 0 {
            0.0
        } else {
            self.char_errors as f64 / self.chars as f64
        }
    }
}

/// What [`score_transcript`] compares: the line's letters and digits, lower case, with the
/// typographic ligatures (`ﬁ`, `ﬂ`, …) spelled out. Spaces, punctuation and symbols are
/// dropped: readers differ most there, and so do transcripts made by OCR (bullets, dashes,
/// quotes).
pub fn transcript_key(line: &str) -> String {
    let mut key = String::with_capacity(line.len());
    for c in line.chars() {
        let spelled = match c {
            'ﬀ' => "ff",
            'ﬁ' => "fi",
            'ﬂ' => "fl",
            'ﬃ' => "ffi",
            'ﬄ' => "ffl",
            'ﬅ' | 'ﬆ' => "st",
            c if c.is_alphanumeric() => {
                key.extend(c.to_lowercase());
                continue;
            }
            _ => continue,
        };
        key.push_str(spelled);
    }
    key
}

/// Scores one page's reading, `got` (recognised lines in any order), against a transcript of
/// it, `transcript` (one printed line per entry), both through [`transcript_key`]; lines with
/// no letter or digit are left out.
///
/// - `reproduced`: the transcript lines some recognised line equals (each recognised line
///   used once).
/// - `char_errors`: the edit distance between the whole transcript and the whole reading,
///   once each recognised line is put where it matches the transcript best (the transcript
///   line it matches with the fewest edits, and its place within that line; of equally good
///   places, the first after the line read before it). So the order in
///   which a reader lists the lines (two columns side by side, say) does not count against
///   it; misread, missed and invented text does.
pub fn score_transcript(transcript: &[String], got: &[String]) -> TranscriptScore {
    let want: Vec<Vec<char>> = transcript
        .iter()
        .map(|l| transcript_key(l).chars().collect::<Vec<char>>())
        .filter(|k| !k.is_empty())
        .collect();
    let read: Vec<Vec<char>> = got
        .iter()
        .map(|l| transcript_key(l).chars().collect::<Vec<char>>())
        .filter(|k| !k.is_empty())
        .collect();
    let as_strings = |v: &[Vec<char>]| v.iter().map(|k| k.iter().collect()).collect::<Vec<String>>();
    let reproduced = matched(&as_strings(&want), &as_strings(&read), str::to_string);

    // Each recognised line's place: (transcript line, where in it the match ends, own index).
    // Of equally good places (a short piece of a line may fit several), the first after the
    // place of the line read before it, as readers list a line's pieces one after another.
    let mut placed: Vec<(usize, usize, usize)> = Vec::with_capacity(read.len());
    let mut previous = (0, 0);
    for (i, r) in read.iter().enumerate() {
        let places: Vec<(usize, (usize, usize))> = want
            .iter()
            .enumerate()
            .map(|(t, w)| {
                let (cost, end) = infix_distance(r, w);
                (cost, (t, end))
            })
            .collect();
        let best = places.iter().map(|p| p.0).min().unwrap_or(0);
        let place = places
            .into_iter()
            .filter(|p| p.0 == best)
            .map(|p| p.1)
            .min_by_key(|&p| (p <= previous, p))
            .unwrap_or((0, 0));
        placed.push((place.0, place.1, i));
        previous = place;
    }
    placed.sort_unstable();
    let reading: Vec<char> = placed.iter().flat_map(|&(_, _, i)| read[i].iter().copied()).collect();
    let whole: Vec<char> = want.concat();
    TranscriptScore {
        lines: want.len(),
        reproduced,
        chars: whole.len(),
        char_errors: edit_distance(&reading, &whole),
    }
}

/// The Levenshtein distance between `a` and `b`.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The fewest edits that turn `needle` into some stretch of `hay`, and where in `hay` the
/// cheapest such stretch ends (the first, on ties).
fn infix_distance(needle: &[char], hay: &[char]) -> (usize, usize) {
    // row[j]: the fewest edits turning the needle so far into a stretch ending at hay[..j];
    // a stretch may start anywhere, so the first row costs nothing.
    let mut row = vec![0usize; hay.len() + 1];
    for (i, cn) in needle.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, ch) in hay.iter().enumerate() {
            let next = (diagonal + usize::from(cn != ch)).min(row[j] + 1).min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row.iter()
        .enumerate()
        .map(|(j, &cost)| (cost, j))
        .min()
        .unwrap_or((needle.len(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn spaces_case_and_o_zero_are_counted_apart() {
        let want = v(&["TOTAL due 100", "Order No 5", "Room 12", "Room 12"]);
        let got = v(&["T0TAL due 100", "order  No5", "Room12"]);
        let s = score_lines(&want, &got);
        assert_eq!(
            s,
            LineScore {
                lines: 4,
                exact: 1,
                ignoring_case: 2,
                o_zero_only: 1
            }
        );
        assert_eq!(s.exact_rate(), 0.25);
        assert_eq!(LineScore::default().exact_rate(), 1.0);
    }

    #[test]
    fn transcript_keys_keep_letters_and_digits_only() {
        assert_eq!(transcript_key("The ﬁrst—track, “chain” (3½)!"), "thefirsttrackchain3½");
        assert_eq!(transcript_key(" • - "), "");
    }

    #[test]
    fn transcript_scores_ignore_the_order_of_lines_and_count_every_edit() {
        let transcript = v(&["Left one", "", "Left two", "Right one", "Right two three"]);
        // Two columns read across, one line misread by a letter, one split in two.
        let got = v(&["Left one", "Right one", "Left tvo", "Right two", "three", "-"]);
        let s = score_transcript(&transcript, &got);
        assert_eq!(s.lines, 4);
        assert_eq!(s.reproduced, 2);
        assert_eq!(s.chars, "leftonelefttworightonerighttwothree".len());
        assert_eq!(s.char_errors, 1);
        // A piece that fits two lines goes after the line read before it.
        let got = v(&["Left one", "Left two", "Right one", "Right", "two three"]);
        assert_eq!(score_transcript(&transcript, &got).char_errors, 0);
        // Missing text and invented text both count.
        let s = score_transcript(&transcript, &v(&["Left one", "Right one", "Right two three", "xyz"]));
        assert_eq!(s.char_errors, "lefttwo".len() + 3);
        assert_eq!(score_transcript(&transcript, &[]).char_error_rate(), 1.0);
        assert_eq!(TranscriptScore::default().reproduced_rate(), 1.0);
    }

    #[test]
    fn edit_distances() {
        let c = |s: &str| s.chars().collect::<Vec<char>>();
        assert_eq!(edit_distance(&c("kitten"), &c("sitting")), 3);
        assert_eq!(edit_distance(&c(""), &c("abc")), 3);
        assert_eq!(infix_distance(&c("two"), &c("lefttwo")), (0, 7));
        assert_eq!(infix_distance(&c("tvo"), &c("lefttwo")), (1, 7));
        assert_eq!(infix_distance(&c("abc"), &c("")), (3, 0));
    }
}
