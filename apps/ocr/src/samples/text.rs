//! Invoice-like text for the evaluation sets: words (lower, capitalised and upper case), dates,
//! times, amounts, quantities, phone and reference numbers.
//!
//! The word list is split in two by position: development sets draw from the even entries,
//! the held-out set from the odd ones, so the held-out set's words were never seen while the
//! pipeline was tuned. Numbers, dates and codes are drawn fresh for every line.

use fastrand::Rng;

/// Words of invoices, letters and forms. Plenty of them hold a capital O or lower-case o, and
/// upper-case forms are drawn often, because "O" and "0" look alike in several fonts.
const WORDS: &[&str] = &[
    "invoice",
    "order",
    "total",
    "amount",
    "payment",
    "customer",
    "delivery",
    "address",
    "office",
    "account",
    "balance",
    "company",
    "product",
    "quantity",
    "discount",
    "shipping",
    "received",
    "date",
    "number",
    "service",
    "monthly",
    "contract",
    "period",
    "reference",
    "document",
    "request",
    "support",
    "station",
    "storage",
    "volume",
    "report",
    "control",
    "option",
    "position",
    "motor",
    "model",
    "pipeline",
    "latency",
    "throughput",
    "memory",
    "device",
    "engine",
    "batch",
    "queue",
    "worker",
    "thread",
    "window",
    "buffer",
    "stream",
    "kernel",
    "tensor",
    "vector",
    "matrix",
    "record",
    "column",
    "table",
    "north",
    "south",
    "harbour",
    "london",
    "boston",
    "toronto",
    "oslo",
    "porto",
    "golden",
    "wooden",
    "cotton",
    "copper",
    "bronze",
    "silver",
    "orange",
    "yellow",
    "violet",
    "brown",
    "coffee",
    "tomato",
    "potato",
    "onion",
    "lemon",
    "bottle",
    "carton",
    "box",
    "pallet",
    "dozen",
    "pound",
    "ounce",
    "meter",
    "litre",
    "hour",
    "minute",
    "second",
    "today",
    "tomorrow",
    "morning",
    "evening",
    "noon",
    "note",
    "notice",
    "overdue",
    "open",
    "closed",
    "approved",
    "pending",
    "signed",
    "sent",
    "due",
    "paid",
    "net",
    "gross",
    "tax",
    "fee",
    "rate",
    "price",
    "cost",
    "unit",
    "item",
    "code",
    "label",
    "charge",
    "credit",
    "debit",
    "bank",
    "routing",
    "swift",
    "branch",
    "phone",
    "email",
    "website",
    "contact",
    "manager",
    "director",
    "officer",
    "operator",
    "doctor",
    "room",
    "floor",
    "door",
    "road",
    "avenue",
    "boulevard",
    "court",
    "tower",
    "plaza",
    "ocean",
    "forest",
    "mountain",
    "river",
    "valley",
    "garden",
    "school",
    "hospital",
    "library",
    "museum",
    "quick",
    "grey",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "hello",
    "world",
    "welcome",
    "thank",
    "you",
    "for",
    "your",
    "business",
    "please",
    "pay",
    "within",
    "days",
    "of",
    "the",
    "and",
    "to",
    "from",
    "with",
    "on",
    "at",
    "by",
    "per",
    "only",
    "all",
    "more",
    "other",
    "work",
    "job",
];

/// Which half of [`WORDS`] a set draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vocabulary {
    /// The even entries: development sets.
    Development,
    /// The odd entries: the held-out set.
    HeldOut,
}

pub(crate) fn word(rng: &mut Rng, vocabulary: Vocabulary) -> String {
    let half = WORDS.len() / 2;
    let offset = match vocabulary {
        Vocabulary::Development => 0,
        Vocabulary::HeldOut => 1,
    };
    let w = WORDS[2 * rng.usize(..half) + offset];
    match rng.u8(..10) {
        0..=2 => w.to_uppercase(),
        3..=5 => {
            let mut c = w.chars();
            c.next()
                .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
        }
        _ => w.to_string(),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.u8(..10))).collect()
}

/// An amount with thousands separators, like "1,234.50" or "0.05".
fn amount(rng: &mut Rng) -> String {
    let whole = match rng.u8(..3) {
        0 => rng.u32(..10),
        1 => rng.u32(..1000),
        _ => rng.u32(..1_000_000),
    };
    let s = whole.to_string();
    let mut grouped = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", rng.u32(..100))
}

/// A token that is not a word: dates, times, amounts, codes.
pub(crate) fn token(rng: &mut Rng) -> String {
    let (d, m, y) = (rng.u32(1..29), rng.u32(1..13), rng.u32(1990..2031));
    match rng.u8(..12) {
        0 => format!("{y}-{m:02}-{d:02}"),
        1 => format!("{d:02}/{m:02}/{y}"),
        2 => format!("{d:02}.{m:02}.{y}"),
        3 => format!("{d} {} {y}", MONTHS[m as usize - 1]),
        4 => format!("{:02}:{:02}", rng.u32(..24), rng.u32(..60)),
        5 => amount(rng),
        6 => format!("${}", amount(rng)),
        7 => format!("{}%", rng.u32(..100)),
        8 => format!("INV-{}-{}", y, digits(rng, 4)),
        9 => format!("+1 {}-{}-{}", digits(rng, 3), digits(rng, 3), digits(rng, 4)),
        10 => {
            let n = rng.usize(2..7);
            format!("#{}", digits(rng, n))
        }
        _ => rng.u32(..10_000).to_string(),
    }
}

/// A line of about `target` characters (at least one token): words mostly, one in three tokens
/// a number, date or code, sometimes a label with a colon.
pub(crate) fn line(rng: &mut Rng, vocabulary: Vocabulary, target: usize) -> String {
    running(rng, vocabulary, target, 3, |rng| (rng.u8(..12) == 0).then_some(':'))
}

/// Words and tokens (one in `token_one_in` a token) up to about `target` characters, at least
/// one; after each, the mark `mark` draws, if any.
pub(crate) fn running(
    rng: &mut Rng,
    vocabulary: Vocabulary,
    target: usize,
    token_one_in: u8,
    mark: impl Fn(&mut Rng) -> Option<char>,
) -> String {
    let mut out = String::new();
    while out.is_empty() || out.len() < target {
        let t = if rng.u8(..token_one_in) == 0 {
            token(rng)
        } else {
            word(rng, vocabulary)
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t);
        if let Some(m) = mark(rng) {
            out.push(m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_do_not_share_words_and_lines_reach_their_length() {
        let mut rng = Rng::with_seed(1);
        let bare = |s: &str| s.to_lowercase().trim_end_matches(':').to_string();
        let dev: Vec<String> = (0..200)
            .map(|_| bare(&word(&mut rng, Vocabulary::Development)))
            .collect();
        let held: Vec<String> = (0..200).map(|_| bare(&word(&mut rng, Vocabulary::HeldOut))).collect();
        assert!(dev.iter().all(|w| !held.contains(w)));
        for target in [1, 10, 60] {
            let l = line(&mut rng, Vocabulary::HeldOut, target);
            assert!(l.len() >= target && l.len() < target + 30, "{l:?}");
        }
    }
}
