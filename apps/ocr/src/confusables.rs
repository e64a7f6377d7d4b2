//! Characters the recogniser cannot tell apart by shape, settled by the word around them.
//!
//! In most fonts capital O and zero are the same oval, and c, o, s, u, v, w, x, z differ from
//! their capitals only in size; a line crop scaled to height 48 loses most of that
//! difference. PP-OCRv4 then reads "GROSS" as "GR0SS", "05:48" as "O5:48" and "DISCOUNT" as
//! "DISCoUNT". Each ambiguous character is settled by its neighbours
//! within the word, and only when they agree:
//!
//! - O or 0 whose nearest non-O/0 neighbours in the same word (letters and digits only; any
//!   other character ends the word) are all digits becomes 0; all letters, O (o when every
//!   such neighbour is a lower-case letter and the character is not the word's first). With
//!   neighbours of both kinds ("13 0ct") or none (a lone "0"), it stays as read. A word
//!   that a decimal point or comma joins to a digit counts that digit as a neighbour
//!   ("pallet0.62" is "pallet 0.62" with the space dropped; a colon is not enough, as in
//!   "13:36:0range").
//! - A letter among c o s u v w x z (not the word's first) takes the case of the word's other
//!   letters when those are all upper case or all lower case; mixed-case words ("iPhone",
//!   "McDonald") stay as read.

/// Letters whose capital is the small letter, larger.
const SAME_SHAPE: &[char] = &['c', 'o', 's', 'u', 'v', 'w', 'x', 'z'];

fn same_shape(c: char) -> bool {
    SAME_SHAPE.contains(&c.to_ascii_lowercase())
}

fn o_or_zero(c: char) -> bool {
    c == 'O' || c == '0'
}

/// `text` with the ambiguous characters settled as described in the module docs.
pub fn settle_confusables(text: &str) -> String {
    settle(text, None)
}

/// [`settle_confusables`] with where each character sits along the line (the time steps of
/// [`Decoded::steps`](crate::Decoded::steps), one per character): an O or 0 between a digit
/// and a letter goes with the side it is closer to, since the recogniser often drops the
/// space there ("1991 0nly" read as "19910nly" becomes "1991Only").
pub fn settle_confusables_at(text: &str, steps: &[usize]) -> String {
    settle(text, Some(steps).filter(|s| s.len() == text.chars().count()))
}

fn settle(text: &str, steps: Option<&[usize]>) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        let end = (start..chars.len())
            .find(|&i| !chars[i].is_ascii_alphanumeric())
            .unwrap_or(chars.len());
        if end > start {
            // A number's separator joins the word to the digits beyond it: "pallet0.62" is
            // "pallet" and "0.62" run together, so its 0 has a digit on its right.
            let joined = |sep: Option<&char>, next: Option<&char>| {
                sep.is_some_and(|c| ".,".contains(*c)) && next.is_some_and(char::is_ascii_digit)
            };
            let digit_before = start >= 2 && joined(chars.get(start - 1), chars.get(start - 2));
            let digit_after = joined(chars.get(end), chars.get(end + 1)) || chars.get(end) == Some(&'%');
            let word = Word {
                digit_before,
                digit_after,
                steps: steps.map(|s| &s[start..end]),
            };
            word.settle(&mut chars[start..end]);
        }
        start = end + 1;
    }
    chars.into_iter().collect()
}

/// What is known around one word (ASCII letters and digits only).
struct Word<'a> {
    /// A number continues the word on the left across a separator.
    digit_before: bool,
    /// A number continues it on the right, or a percent sign follows.
    digit_after: bool,
    /// Each character's time step, when known.
    steps: Option<&'a [usize]>,
}

impl Word<'_> {
    fn settle(&self, w: &mut [char]) {
        let read: Vec<char> = w.to_vec();
        for i in 0..read.len() {
            if !o_or_zero(read[i]) {
                continue;
            }
            let li = (0..i).rev().find(|&j| !o_or_zero(read[j]));
            let ri = (i + 1..read.len()).find(|&j| !o_or_zero(read[j]));
            let left = li.map(|j| read[j]).or(self.digit_before.then_some('1'));
            let right = ri.map(|j| read[j]).or(self.digit_after.then_some('1'));
            let near: Vec<char> = left.into_iter().chain(right).collect();
            let side = if near.is_empty() {
                continue;
            } else if near.iter().all(char::is_ascii_digit) {
                Some(true)
            } else if near.iter().all(char::is_ascii_alphabetic) {
                Some(false)
            } else {
                // A digit on one side, a letter on the other: the run goes with the closer one.
                self.closer(li, ri).map(|j| read[j].is_ascii_digit())
            };
            match side {
                Some(true) => w[i] = '0',
                Some(false) => {
                    // First letter of its word: O; inside a lower-case word: o.
                    let first = li.is_none_or(|j| !read[j].is_ascii_alphabetic());
                    let lower = near
                        .iter()
                        .filter(|c| c.is_ascii_alphabetic())
                        .all(char::is_ascii_lowercase);
                    w[i] = if !first && lower { 'o' } else { 'O' };
                }
                None => {}
            }
        }
        // Then each run of letters (digits run into words when spaces are dropped: "9895TenSOr").
        let mut i = 0;
        while i < w.len() {
            let end = (i..w.len()).find(|&j| !w[j].is_ascii_alphabetic()).unwrap_or(w.len());
            settle_case(&mut w[i..end]);
            i = end + 1;
        }
    }

    /// Of the neighbours `li` and `ri` around a run of O and 0, the one the run sits closer to
    /// along the line, by at least two time steps (a dropped space is about three); `None` when
    /// positions are unknown or about even.
    fn closer(&self, li: Option<usize>, ri: Option<usize>) -> Option<usize> {
        let (s, li, ri) = (self.steps?, li?, ri?);
        let gap_left = s[li + 1].saturating_sub(s[li]);
        let gap_right = s[ri].saturating_sub(s[ri - 1]);
        if gap_left >= gap_right + 2 {
            Some(ri)
        } else if gap_right >= gap_left + 2 {
            Some(li)
        } else {
            None
        }
    }
}

/// Letters only: the same-shape ones take the case of the others, the first letter aside (it
/// may be a capital).
fn settle_case(w: &mut [char]) {
    let telling: Vec<char> = w.iter().skip(1).copied().filter(|c| !same_shape(*c)).collect();
    if telling.is_empty() {
        return;
    }
    let upper = telling.iter().all(char::is_ascii_uppercase);
    let lower = telling.iter().all(char::is_ascii_lowercase);
    for (i, c) in w.iter_mut().enumerate() {
        if !same_shape(*c) {
            continue;
        }
        if upper {
            *c = c.to_ascii_uppercase();
        } else if lower && i > 0 {
            *c = c.to_ascii_lowercase();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o_and_zero_follow_their_neighbours() {
        assert_eq!(settle_confusables("GR0SS B0ST0N R0OM 0NLY"), "GROSS BOSTON ROOM ONLY");
        assert_eq!(settle_confusables("0perator c0lumn"), "Operator column");
        assert_eq!(settle_confusables("O5:48 2O24-1O-0O"), "05:48 2024-10-0O");
        // Ambiguous, lone, or only O and 0: as read.
        assert_eq!(
            settle_confusables("130ct 0 O 20290n pallet0.62"),
            "130ct 0 O 20290n pallet0.62"
        );
        assert_eq!(settle_confusables("O.5 5,O 13:36:0range"), "0.5 5,0 13:36:Orange");
        assert_eq!(settle_confusables("OSLO Oslo room 100"), "OSLO Oslo room 100");
    }

    #[test]
    fn between_a_digit_and_a_letter_the_closer_side_wins() {
        // "1991 0nly": a wide gap after the 1, then the 0 tight against the n.
        let steps = [0, 3, 6, 9, 14, 17, 20, 23];
        assert_eq!(settle_confusables_at("19910nly", &steps), "1991Only");
        // "13 0ct" vs "130 ct": the gap decides.
        assert_eq!(settle_confusables_at("130ct", &[0, 3, 8, 11, 14]), "13Oct");
        assert_eq!(settle_confusables_at("130ct", &[0, 3, 6, 11, 14]), "130ct");
        // Even gaps, or steps that do not fit the text: as read.
        assert_eq!(settle_confusables_at("130ct", &[0, 3, 6, 9, 12]), "130ct");
        assert_eq!(settle_confusables_at("130ct", &[0, 3]), "130ct");
        assert_eq!(settle_confusables("door0% 0%"), "door0% 0%");
    }

    #[test]
    fn same_shape_letters_take_the_words_case() {
        assert_eq!(settle_confusables("DISCoUNT YoUR DEVIcE"), "DISCOUNT YOUR DEVICE");
        assert_eq!(settle_confusables("AVenue receiVed LaZy"), "Avenue received Lazy");
        assert_eq!(settle_confusables("9895TenSOr1822"), "9895Tensor1822");
        // Mixed case, or nothing telling: as read.
        assert_eq!(settle_confusables("iPhone McDonald X2c Sox"), "iPhone McDonald X2c Sox");
        assert_eq!(settle_confusables("Sox sOX ox"), "Sox sOX ox");
    }
}
