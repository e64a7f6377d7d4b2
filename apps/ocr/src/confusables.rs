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
            let digit_after = joined(chars.get(end), chars.get(end + 1));
            settle_word(&mut chars[start..end], digit_before, digit_after);
        }
        start = end + 1;
    }
    chars.into_iter().collect()
}

/// One word: ASCII letters and digits only; `digit_before` / `digit_after` when a number
/// continues it across a separator.
fn settle_word(w: &mut [char], digit_before: bool, digit_after: bool) {
    let read: Vec<char> = w.to_vec();
    for i in 0..read.len() {
        if !o_or_zero(read[i]) {
            continue;
        }
        let left = read[..i]
            .iter()
            .rev()
            .find(|c| !o_or_zero(**c))
            .copied()
            .or(digit_before.then_some('1'));
        let right = read[i + 1..]
            .iter()
            .find(|c| !o_or_zero(**c))
            .copied()
            .or(digit_after.then_some('1'));
        let near: Vec<char> = left.into_iter().chain(right).collect();
        if near.is_empty() {
            continue;
        }
        if near.iter().all(char::is_ascii_digit) {
            w[i] = '0';
        } else if near.iter().all(char::is_ascii_alphabetic) {
            w[i] = if i > 0 && near.iter().all(char::is_ascii_lowercase) {
                'o'
            } else {
                'O'
            };
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
    fn same_shape_letters_take_the_words_case() {
        assert_eq!(settle_confusables("DISCoUNT YoUR DEVIcE"), "DISCOUNT YOUR DEVICE");
        assert_eq!(settle_confusables("AVenue receiVed LaZy"), "Avenue received Lazy");
        assert_eq!(settle_confusables("9895TenSOr1822"), "9895Tensor1822");
        // Mixed case, or nothing telling: as read.
        assert_eq!(settle_confusables("iPhone McDonald X2c Sox"), "iPhone McDonald X2c Sox");
        assert_eq!(settle_confusables("Sox sOX ox"), "Sox sOX ox");
    }
}
