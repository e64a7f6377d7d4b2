//! Characters the recogniser cannot tell apart by shape, settled by the text around them.
//!
//! In most fonts capital O and zero are the same oval (and a small o is one at digit height
//! after the crop is scaled), capital I and small l the same bar, and c, o, s, u, v, w, x, z
//! differ from their capitals only in size, which a line scaled to height 48 mostly loses.
//! PP-OCRv4 then reads "GROSS" as "GR0SS", "05:48" as "O5:48", "00:21" as "oo:21", "world"
//! as "worId" and "DISCOUNT" as "DISCoUNT". Each such character is settled by its context, and
//! only when the context is clear:
//!
//! - **Numbers.** A run of letters and digits made only of digits and O, o, I, l, with a digit
//!   from 1 to 9 in it or a `#` before it, is a number: "#Ol" is "#01", "17.1l.2015" is
//!   "17.11.2015". A 1 between a letter and a small letter is an l ("OCEAN1ibrary").
//! - **O, 0, o.** Its context on each side is the nearest character that is not one of the
//!   three: a letter, a digit, or nothing (a space, the line's end, other punctuation). A
//!   decimal point, comma or colon with a digit beyond it counts as a digit ("pallet0.62",
//!   "13:OO"), and so do a percent sign on the right and a `#` on the left. Digits on every
//!   side: 0. Letters on every side: O, or o inside a lower-case word (a small o stays a small
//!   o). A digit on one side and a letter on the other happens where the recogniser dropped a
//!   space ("1991 Only" read as "19910nly"): where each character sits along the line
//!   ([`settle_confusables_at`]) shows the widest gap between the two, where the space was,
//!   and each character goes with its side of it; without positions, or with no single widest
//!   gap, it stays as read. A lone one with a letter before it and a colon and a digit after
//!   it is a letter: a colon after a word ends a label ("OSLO: 62%" read as "OSL0:62%").
//!
//! The last two rules work word by word. A word is a run of letters, cut also where positions
//! show a space the recogniser dropped (a gap two time steps wider than the line's median and
//! than its neighbours): "MANAGERAIlSouth" is settled as "MANAGER", "AIl" and "South".
//!
//! - **I and l**: an I whose nearest letters that tell their case are small becomes l
//!   ("worId"), unless positions show it starts a word run on without a space ("courtInvoice":
//!   a gap before it wider by two time steps or more than the gap after it); two bars after a
//!   word's first letter, with a small letter or nothing after them, are "ll" ("AII"), unless
//!   the word is a Roman numeral; an l with capitals on both sides becomes I ("INVOlCE",
//!   "DlScoUNT").
//! - **Case**: when the letters whose shape tells their case (all but c o s u v w x z) are all
//!   capitals, the same-shape letters become capitals; when they are all small (the word's
//!   first letter aside, which may be a capital), small. Mixed-case words ("iPhone",
//!   "McDonald") and plurals of capitals ("GPUs") stay as read.

/// Letters whose capital is the small letter, larger.
const SAME_SHAPE: &[char] = &['c', 'o', 's', 'u', 'v', 'w', 'x', 'z'];

fn same_shape(c: char) -> bool {
    SAME_SHAPE.contains(&c.to_ascii_lowercase())
}

/// Round characters: O, 0 and o.
fn round(c: char) -> bool {
    matches!(c, 'O' | '0' | 'o')
}

/// `text` with the ambiguous characters settled as described in the module docs.
pub fn settle_confusables(text: &str) -> String {
    settle(text, None)
}

/// [`settle_confusables`] knowing where each character sits along the line (the time steps of
/// [`Decoded::steps`](crate::Decoded::steps), one per character), so that an O, 0 or o between
/// a digit and a letter goes with its side of the widest gap ("19910nly" becomes "1991Only").
/// Positions that do not match the text one to one are ignored.
pub fn settle_confusables_at(text: &str, steps: &[usize]) -> String {
    settle(text, Some(steps).filter(|s| s.len() == text.chars().count()))
}

/// What lies on one side of a round character.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Digit,
    Letter { lower: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    Left,
    Right,
}

fn settle(text: &str, steps: Option<&[usize]>) -> String {
    let mut read: Vec<char> = text.chars().collect();
    settle_numbers(&mut read);
    // A 1 run into letters on both sides, with a small one after it, is an l ("OCEAN1ibrary").
    for i in 1..read.len().saturating_sub(1) {
        if read[i] == '1' && read[i - 1].is_ascii_alphabetic() && read[i + 1].is_ascii_lowercase() {
            read[i] = 'l';
        }
    }
    let mut out = read.clone();
    for (i, &c) in read.iter().enumerate() {
        if !round(c) {
            continue;
        }
        let (left, right) = (context(&read, i, Side::Left), context(&read, i, Side::Right));
        let kind = match (left, right) {
            (None, None) => continue,
            (Some(k), None) | (None, Some(k)) => k,
            (Some(Kind::Digit), Some(Kind::Digit)) => Kind::Digit,
            (Some(Kind::Letter { lower: a }), Some(Kind::Letter { lower: b })) => Kind::Letter { lower: a && b },
            // "OSLO:" before a number ("OSLO: 62%" read as "OSL0:62%"): a colon after a word
            // ends a label far more often than a letter runs into a time whose hour is a
            // single 0 (a run of two, "Forest00:48", is left to the positions).
            (Some(l @ Kind::Letter { .. }), Some(Kind::Digit)) if lone_before_colon_then_digit(&read, i) => l,
            (Some(l), Some(r)) => match steps.and_then(|s| closer(&read, s, i)) {
                Some(Side::Left) => l,
                Some(Side::Right) => r,
                None => continue,
            },
        };
        out[i] = match kind {
            Kind::Digit => '0',
            Kind::Letter { .. } if c == 'o' => 'o',
            Kind::Letter { lower } => {
                let first = !matches!(context(&read, i, Side::Left), Some(Kind::Letter { .. }))
                    || read[..i].last().is_some_and(|p| !p.is_ascii_alphanumeric());
                if lower && !first {
                    'o'
                } else {
                    'O'
                }
            }
        };
    }
    // Words are runs of letters, cut also where positions show a dropped space.
    let space = steps.map(dropped_spaces).unwrap_or_default();
    let mut i = 0;
    while i < out.len() {
        if !out[i].is_ascii_alphabetic() {
            i += 1;
            continue;
        }
        let end = (i + 1..out.len())
            .find(|&j| !out[j].is_ascii_alphabetic() || space.get(j).copied().unwrap_or(false))
            .unwrap_or(out.len());
        settle_bars(&mut out[i..end], steps.map(|s| &s[i..end]));
        settle_case(&mut out[i..end]);
        i = end;
    }
    out.into_iter().collect()
}

/// For each character, whether a space the recogniser dropped stands before it: the gap from
/// the previous character is wider, by two time steps or more, than the line's median gap and
/// than the gaps just before and after it (a space is about two steps, 16 px at height 48; a
/// wide capital next to narrow characters widens one gap by less, and its neighbours too).
fn dropped_spaces(steps: &[usize]) -> Vec<bool> {
    let gaps: Vec<usize> = steps.windows(2).map(|w| w[1].saturating_sub(w[0])).collect();
    if gaps.len() < 3 {
        return vec![false; steps.len()];
    }
    let mut sorted = gaps.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let wide = |k: usize| {
        let g = gaps[k];
        let clear = |other: Option<&usize>| other.is_none_or(|&o| g >= o + 2);
        g >= median + 2 && clear(k.checked_sub(1).and_then(|p| gaps.get(p))) && clear(gaps.get(k + 1))
    };
    std::iter::once(false).chain((0..gaps.len()).map(wide)).collect()
}

/// Runs of letters and digits made only of look-alikes of digits (O, o, I, l) and digits, with
/// a digit from 1 to 9 among them or a `#` before them, are numbers: their O and o become 0,
/// their I and l become 1 ("#Ol" is "#01", "17.1l.2015" is "17.11.2015").
fn settle_numbers(read: &mut [char]) {
    let digit_like = |c: &char| c.is_ascii_digit() || matches!(c, 'O' | 'o' | 'I' | 'l');
    let mut i = 0;
    while i < read.len() {
        let end = (i..read.len())
            .find(|&j| !read[j].is_ascii_alphanumeric())
            .unwrap_or(read.len());
        let hash_before = i > 0 && read[i - 1] == '#';
        let run = &mut read[i..end];
        let numbered = hash_before || run.iter().any(|c| matches!(c, '1'..='9'));
        if !run.is_empty() && numbered && run.iter().all(digit_like) {
            for c in run.iter_mut() {
                *c = match *c {
                    'O' | 'o' => '0',
                    'I' | 'l' => '1',
                    d => d,
                };
            }
        }
        i = end + 1;
    }
}

/// Whether `i` is a lone round character (not two, as the hours of a time are) followed by a
/// colon with a digit after it.
fn lone_before_colon_then_digit(read: &[char], i: usize) -> bool {
    let lone = i == 0 || !round(read[i - 1]);
    lone && read.get(i + 1) == Some(&':') && read.get(i + 2).is_some_and(char::is_ascii_digit)
}

/// Capital I and small l in one word: an I whose nearest case-telling letters are small is an
/// l ("worId"), unless it starts a word the recogniser ran on without a space ("courtInvoice":
/// a gap before it wider by two steps, by positions); an l between capitals on both sides is
/// an I ("INVOlCE"), not with a capital on one side only ("Oslo" read as "OSlO" has none that
/// tells); two bars after the first letter before a small letter or the end are "ll" ("AII").
fn settle_bars(w: &mut [char], steps: Option<&[usize]>) {
    let read: Vec<char> = w.to_vec();
    let telling = |j: &usize| read[*j] != 'I' && read[*j] != 'l' && !same_shape(read[*j]);
    for i in 0..read.len() {
        // For an I, the first letter may be a capital starting a small word ("PIaza"): not
        // telling. For an l, a capital there counts ("DlScoUNT").
        let from = if read[i] == 'I' { 1 } else { 0 };
        let left = (from..i).rev().find(telling).map(|j| read[j]);
        let right = (i + 1..read.len()).find(telling).map(|j| read[j]);
        let near: Vec<char> = left.into_iter().chain(right).collect();
        match read[i] {
            'I' if !near.is_empty() && near.iter().all(char::is_ascii_lowercase) => {
                // A dropped space widens the gap by about two time steps (16 px at height
                // 48); a narrow I next to a round letter skews the gaps by one ("GoIden").
                let starts_word = steps.is_some_and(|s| {
                    i > 0 && i + 1 < s.len() && s[i].saturating_sub(s[i - 1]) >= s[i + 1].saturating_sub(s[i]) + 2
                });
                if i > 0 && !starts_word {
                    w[i] = 'l';
                }
            }
            'l' if near.len() == 2 && near.iter().all(char::is_ascii_uppercase) => w[i] = 'I',
            _ => {}
        }
    }
    // Two bars (exactly) after a word's first letter, with a small letter or nothing after
    // them, are "ll" ("AII" is "All"); not before a capital ("SKIING", or "emailINV" run on),
    // nor in Roman numerals ("XII"); a word may start with "Il" or "Ill".
    let bar = |c: char| c == 'I' || c == 'l';
    if read.iter().all(|c| "IVXLCDM".contains(*c)) {
        return;
    }
    for i in 1..read.len().saturating_sub(1) {
        let pair = bar(read[i]) && bar(read[i + 1]) && !bar(read[i - 1]) && !read.get(i + 2).is_some_and(|&c| bar(c));
        if !pair {
            continue;
        }
        let right = (i + 2..read.len()).find(|&j| !bar(read[j])).map(|j| read[j]);
        // A capital after the pair may start the next word, run on ("emailINV"): as read.
        if right.is_none_or(|c| c.is_ascii_lowercase()) {
            w[i] = 'l';
            w[i + 1] = 'l';
        }
    }
}

/// The nearest non-round character on `side` of `i`, as a digit or a letter.
fn context(read: &[char], i: usize, side: Side) -> Option<Kind> {
    let at = |j: usize| read.get(j).copied();
    let step = |j: usize| match side {
        Side::Left => j.checked_sub(1),
        Side::Right => Some(j + 1),
    };
    let mut j = step(i)?;
    while round(at(j)?) {
        j = step(j)?;
    }
    let c = at(j)?;
    if c.is_ascii_digit() {
        Some(Kind::Digit)
    } else if c.is_ascii_alphabetic() {
        Some(Kind::Letter {
            lower: c.is_ascii_lowercase(),
        })
    } else if (side == Side::Right && c == '%')
        || (side == Side::Left && c == '#')
        || (".,:".contains(c) && step(j).and_then(at).is_some_and(|d| d.is_ascii_digit()))
    {
        Some(Kind::Digit)
    } else {
        None
    }
}

/// Which side of its run of round characters `i` belongs to: the run (with one neighbour on
/// each side) is cut at its widest gap, where the dropped space was, and `i` goes with the
/// side of the cut it is on. `None` when no gap is the single widest.
fn closer(read: &[char], steps: &[usize], i: usize) -> Option<Side> {
    let start = (0..=i).rev().take_while(|&j| round(read[j])).last()?;
    let end = (i..read.len()).take_while(|&j| round(read[j])).last()?;
    // Gap k lies between characters k and k + 1: from the left neighbour to the right one.
    let gaps: Vec<(usize, usize)> = (start.checked_sub(1)?..=end)
        .filter(|&k| k + 1 < read.len())
        .map(|k| (k, steps[k + 1].saturating_sub(steps[k])))
        .collect();
    let &(cut, widest) = gaps.iter().max_by_key(|(_, g)| *g)?;
    if gaps.iter().filter(|(_, g)| *g == widest).count() > 1 {
        return None;
    }
    Some(if i <= cut { Side::Left } else { Side::Right })
}

/// Letters only: the same-shape ones take the case of the others (the first letter aside when
/// small, as it may be a capital).
fn settle_case(w: &mut [char]) {
    let telling: Vec<char> = w.iter().skip(1).copied().filter(|&c| !same_shape(c)).collect();
    if telling.is_empty() {
        return;
    }
    let upper = telling.iter().all(char::is_ascii_uppercase);
    let lower = telling.iter().all(char::is_ascii_lowercase);
    let last = w.len() - 1;
    for (i, c) in w.iter_mut().enumerate() {
        if !same_shape(*c) {
            continue;
        }
        // A final small s after capitals is a plural ("GPUs", "IDs"), not a misread S.
        if upper && !(i == last && *c == 's') {
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
        assert_eq!(settle_confusables("O5:48 2O24-1O-0O oo:21"), "05:48 2024-10-0O 00:21");
        assert_eq!(
            settle_confusables("pallet0.62 13:OO 5,O door0%"),
            "pallet0.62 13:00 5,0 door0%"
        );
        // Mixed and no positions, lone, or only round characters: as read.
        assert_eq!(
            settle_confusables("130ct 0 O 20290n 13:36:0range"),
            "130ct 0 O 20290n 13:36:0range"
        );
        assert_eq!(settle_confusables("OSLO Oslo room 100 too"), "OSLO Oslo room 100 too");
    }

    #[test]
    fn between_a_digit_and_a_letter_the_closer_side_wins() {
        // "1991 0nly": a wide gap after the 1, then the 0 tight against the n.
        let steps = [0, 3, 6, 9, 14, 17, 20, 23];
        assert_eq!(settle_confusables_at("19910nly", &steps), "1991Only");
        // "13 0ct" and "130 ct": the gap decides.
        assert_eq!(settle_confusables_at("130ct", &[0, 3, 8, 11, 14]), "13Oct");
        assert_eq!(settle_confusables_at("130ct", &[0, 3, 6, 11, 14]), "130ct");
        // "OSLO 07:20" read as "OSL007:20": each 0 goes its own way.
        let steps = [0, 3, 6, 9, 15, 18, 21, 24, 27];
        assert_eq!(settle_confusables_at("OSL007:20", &steps), "OSLO07:20");
        // "2000 INV" read as "2000INV": the widest gap is after the zeros.
        let steps = [0, 3, 5, 8, 11, 15, 17, 20];
        assert_eq!(settle_confusables_at("2000INV", &steps), "2000INV");
        // "13:00 PAID" read as "13:OOPAID": the run is tight on the left.
        let steps = [0, 3, 5, 7, 10, 16, 19, 21, 24];
        assert_eq!(settle_confusables_at("13:OOPAID", &steps), "13:00PAID");
        // Even gaps, or steps that do not fit the text: as read.
        assert_eq!(settle_confusables_at("130ct", &[0, 3, 6, 9, 12]), "130ct");
        assert_eq!(settle_confusables_at("130ct", &[0, 3]), "130ct");
    }

    #[test]
    fn same_shape_letters_take_the_words_case() {
        assert_eq!(
            settle_confusables("DISCoUNT YoUR DEVIcE GPUs"),
            "DISCOUNT YOUR DEVICE GPUs"
        );
        assert_eq!(
            settle_confusables("AVenue receiVed LaZy 0Sl0"),
            "Avenue received Lazy Oslo"
        );
        assert_eq!(settle_confusables("9895TenSOr1822"), "9895Tensor1822");
        // Mixed case, or nothing telling: as read.
        assert_eq!(settle_confusables("iPhone McDonald X2c Sox"), "iPhone McDonald X2c Sox");
        assert_eq!(settle_confusables("Sox sOX ox OSlOMORE"), "Sox sOX ox OSlOMORE");
    }

    #[test]
    fn bars_follow_the_letters_around_them() {
        assert_eq!(
            settle_confusables("worId INVOlCE DlScoUNT PIaza"),
            "world INVOICE DISCOUNT Plaza"
        );
        assert_eq!(
            settle_confusables("Item I Il iPhone Plaza OSlOMORE"),
            "Item I Il iPhone Plaza OSlOMORE"
        );
        // "court Invoice" run together: the wider gap before the I keeps it a capital.
        let steps = [0, 3, 6, 9, 12, 17, 19, 22, 25, 28, 31, 34];
        assert_eq!(settle_confusables_at("courtInvoice", &steps), "courtInvoice");
        assert_eq!(settle_confusables("courtInvoice"), "courtlnvoice");
        // "Golden": the gap before the I is wider by one step only, as a narrow I makes it.
        let steps = [2, 6, 10, 13, 17, 21];
        assert_eq!(settle_confusables_at("GoIden", &steps), "Golden");
        assert_eq!(
            settle_confusables("AII AIl WIlI OCEAN1ibrary"),
            "All All WIlI OCEANlibrary"
        );
        assert_eq!(
            settle_confusables("SKIING XII Illinois Il III A1B 1st emailINV"),
            "SKIING XII Illinois Il III A1B 1st emailINV"
        );
    }

    #[test]
    fn look_alikes_among_digits_are_digits() {
        assert_eq!(
            settle_confusables("#Ol #OO 17.1l.2015 1O:3O Il9"),
            "#01 #00 17.11.2015 10:30 119"
        );
        // No digit from 1 to 9 and no #, or other letters in the run: as read.
        assert_eq!(settle_confusables("Ol oil IO 0O Il l9x"), "Ol oil IO 0O Il l9x");
    }

    #[test]
    fn words_run_together_are_cut_where_the_space_was() {
        // "All JOB" read as "AIIJOB": a gap of 6 steps before the J, 3 elsewhere.
        let steps = [0, 3, 5, 11, 14, 17];
        assert_eq!(settle_confusables_at("AIIJOB", &steps), "AllJOB");
        // "MANAGER All South" read as "MANAGERAIlSouth".
        let steps = [0, 4, 8, 12, 16, 20, 24, 30, 33, 35, 41, 44, 47, 50, 53];
        assert_eq!(settle_confusables_at("MANAGERAIlSouth", &steps), "MANAGERAllSouth");
        // Even gaps: one word.
        assert_eq!(settle_confusables_at("AIIJOB", &[0, 3, 5, 8, 11, 14]), "AIIJOB");
        // A wide capital after narrow letters is no space: "OPTION" read as "OPTlON".
        let steps = [88, 92, 96, 98, 101, 106, 112, 116];
        assert_eq!(settle_confusables_at("OPTlON15", &steps), "OPTION15");
    }

    #[test]
    fn a_colon_after_a_word_ends_a_label() {
        assert_eq!(
            settle_confusables("OSL0:62% ThroughputOSLO:62%"),
            "OSLO:62% ThroughputOSLO:62%"
        );
        // A time is still a time; two round characters before the colon are left to positions.
        assert_eq!(settle_confusables("O5:48 13:OO"), "05:48 13:00");
        let steps = [0, 3, 6, 9, 12, 15, 21, 24, 27, 29, 32];
        assert_eq!(settle_confusables_at("ForestOO:48", &steps), "Forest00:48");
    }
}
