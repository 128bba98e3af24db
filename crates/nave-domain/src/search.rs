//! The words a record is found by, and the words a query asks for.
//!
//! Search is a prefix match on normalised words kept beside the records (the
//! store's `search_terms`): a query matches a record when every query word is
//! the beginning of one of the record's words. Words are lower-cased and cut
//! at anything that is not a letter or a digit; an email also gives its whole
//! address and its domain, a phone number its digits.

/// The longest word kept; longer words are cut (a prefix search still finds them).
pub const MAX_TERM: usize = 64;
/// How many words of a query count.
pub const MAX_QUERY_WORDS: usize = 6;

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase())
}

fn cut(mut s: String) -> String {
    if s.len() > MAX_TERM {
        let mut end = MAX_TERM;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// What a record gives to the index.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// Names, titles, subjects: each word.
    Text(&'a str),
    /// An email address: the whole address, its domain and each word.
    Email(&'a str),
    /// A phone number: its digits as one word (so `+1 (555) 010-2000` is found by `1555`), and
    /// its last 10 and 7 digits (found by `555010` and `0102000`).
    Phone(&'a str),
    /// A code (tax id, external id, SKU): the code without punctuation, and each word.
    Code(&'a str),
}

/// The distinct terms of a record's fields, in a stable order.
pub fn terms(fields: &[Field<'_>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |t: String| {
        let t = cut(t);
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    };
    for f in fields {
        match *f {
            Field::Text(s) => words(s).for_each(&mut add),
            Field::Email(s) => {
                let s = s.trim().to_lowercase();
                if let Some((_, domain)) = s.split_once('@') {
                    add(domain.to_string());
                }
                words(&s).for_each(&mut add);
                add(s);
            }
            Field::Phone(s) => {
                // The whole number, and its last 10 and 7 digits: people search without
                // the country or area code.
                let digits: String = s.chars().filter(char::is_ascii_digit).collect();
                for tail in [10, 7] {
                    if digits.len() > tail {
                        add(digits[digits.len() - tail..].to_string());
                    }
                }
                add(digits);
            }
            Field::Code(s) => {
                add(s.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase());
                words(s).for_each(&mut add);
            }
        }
    }
    out
}

/// The words of a query, normalised like the index (at most [`MAX_QUERY_WORDS`]).
/// A query word made of digits and phone punctuation becomes its digits.
pub fn query_words(q: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in q.split_whitespace() {
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        let phone_like = !digits.is_empty() && raw.chars().all(|c| c.is_ascii_digit() || "+-()./".contains(c));
        let found: Vec<String> = if raw.contains('@') {
            vec![raw.to_lowercase()]
        } else if phone_like {
            vec![digits]
        } else {
            words(raw).collect()
        };
        for w in found {
            let w = cut(w);
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out.truncate(MAX_QUERY_WORDS);
    out
}

/// The end of the range of terms that start with `prefix`: every term `t`
/// with `prefix <= t < upper(prefix)` starts with it (an index range scan on
/// both engines, unlike `LIKE`).
pub fn upper(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_emails_phones_and_codes_give_their_words() {
        let t = terms(&[
            Field::Text("Müller & Söhne GmbH"),
            Field::Email("Info@Mueller-Soehne.de"),
            Field::Phone("+49 (30) 123-456"),
            Field::Code("DE 123.456.789"),
        ]);
        for w in [
            "müller",
            "söhne",
            "gmbh",
            "mueller-soehne.de",
            "info@mueller-soehne.de",
            "info",
            "4930123456",
            "de123456789",
        ] {
            assert!(t.contains(&w.to_string()), "{w} in {t:?}");
        }
        assert_eq!(t.len(), t.iter().collect::<std::collections::HashSet<_>>().len(), "no repeats");
    }

    #[test]
    fn queries_are_normalised_like_the_index() {
        assert_eq!(query_words("  ACME corp "), vec!["acme", "corp"]);
        assert_eq!(query_words("+49 (30) 123"), vec!["49", "30", "123"]);
        assert_eq!(query_words("030/123-456"), vec!["030123456"]);
        assert_eq!(query_words("jo@acme.com"), vec!["jo@acme.com"]);
        assert_eq!(query_words("a b c d e f g h").len(), MAX_QUERY_WORDS);
        assert!(query_words("  ").is_empty());
    }

    #[test]
    fn the_upper_bound_covers_every_continuation() {
        let u = upper("acm");
        for t in ["acm", "acme", "acmé", "acm\u{FFFF}x"] {
            assert!(t >= "acm" && t < u.as_str(), "{t}");
        }
        assert!("acn" >= u.as_str() || "acn" < "acm");
        assert!(!("acn" < u.as_str() && "acn" >= "acm"));
    }

    #[test]
    fn long_words_are_cut_on_a_character_boundary() {
        let long = "é".repeat(50);
        let t = terms(&[Field::Text(&long)]);
        assert!(t[0].len() <= MAX_TERM && t[0].chars().all(|c| c == 'é'));
    }
}
