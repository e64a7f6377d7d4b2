//! Scoring recognised lines against the lines known to be on a page.

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
}
