//! How numbers, money and dates are written for a user's locale.
//!
//! A user's `locale` is a language tag (`en-US`, `de-DE`, `fr-CH`). Pages
//! write every amount, quantity and date through one [`Locale`], so a German
//! accountant reads `1.234,56 €` and `05.12.2026` where an American reads
//! `$1,234.56` and `12/05/2026`. Only the presentation changes: values stay
//! exact decimals (formatting inserts separators into the decimal's own
//! digits, it never goes through floating point), forms and the API keep the
//! plain `1234.56` and ISO dates, and [`Locale::read_number`] turns a
//! formatted number back into exactly the decimal it came from.
//!
//! The conventions are those of CLDR for the languages Nave's customers use;
//! an unknown tag falls back to its language, then to `en-US`.

use rust_decimal::Decimal;
use time::{Date, OffsetDateTime};

use crate::money::{Currency, Money};

/// No-break space: keeps an amount and its currency on one line.
const NBSP: &str = "\u{a0}";
/// Narrow no-break space: the French and Swiss French digit group separator.
const NNBSP: &str = "\u{202f}";

/// The order of a short date's parts and their separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateOrder {
    /// 12/05/2026
    MonthDayYear,
    /// 05.12.2026, 05/12/2026, 05-12-2026
    DayMonthYear,
    /// 2026-12-05, 2026/12/05
    YearMonthDay,
}

/// Where a currency's symbol goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SymbolAt {
    /// `$1,234.56`, `€ 1.234,56` (with a space when the symbol is a code).
    Before { space: bool },
    /// `1.234,56 €`
    After,
}

/// The writing conventions of one locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    tag: String,
    decimal: char,
    group: &'static str,
    order: DateOrder,
    date_sep: char,
    symbol_at: SymbolAt,
    twelve_hour: bool,
    /// The currency written with a bare `$` (the locale's own dollar).
    home_dollar: Option<&'static str>,
}

/// The locales a user picks from: (tag, name in its own language).
pub const CHOICES: &[(&str, &str)] = &[
    ("en-US", "English (United States)"),
    ("en-GB", "English (United Kingdom)"),
    ("en-CA", "English (Canada)"),
    ("en-AU", "English (Australia)"),
    ("de-DE", "Deutsch (Deutschland)"),
    ("de-AT", "Deutsch (Österreich)"),
    ("de-CH", "Deutsch (Schweiz)"),
    ("fr-FR", "Français (France)"),
    ("fr-BE", "Français (Belgique)"),
    ("fr-CH", "Français (Suisse)"),
    ("fr-CA", "Français (Canada)"),
    ("es-ES", "Español (España)"),
    ("es-MX", "Español (México)"),
    ("it-IT", "Italiano (Italia)"),
    ("nl-NL", "Nederlands (Nederland)"),
    ("pt-PT", "Português (Portugal)"),
    ("pt-BR", "Português (Brasil)"),
    ("da-DK", "Dansk (Danmark)"),
    ("sv-SE", "Svenska (Sverige)"),
    ("nb-NO", "Norsk bokmål (Norge)"),
    ("fi-FI", "Suomi (Suomi)"),
    ("pl-PL", "Polski (Polska)"),
    ("cs-CZ", "Čeština (Česko)"),
    ("ja-JP", "日本語 (日本)"),
];

impl Default for Locale {
    fn default() -> Self {
        Locale::parse("en-US")
    }
}

impl Locale {
    /// The conventions for a language tag (`de-DE`, `de_ch`, `fr`); an unknown
    /// tag gets its language's conventions, an unknown language `en-US`'s.
    pub fn parse(tag: &str) -> Locale {
        let tag = tag.trim().replace('_', "-");
        let mut parts = tag.split('-');
        let lang = parts.next().unwrap_or("").to_ascii_lowercase();
        let region = parts.find(|p| p.len() == 2 || p.len() == 3).unwrap_or("").to_ascii_uppercase();
        use DateOrder::*;
        let base = |decimal, group, order, date_sep, symbol_at| Locale {
            tag: String::new(),
            decimal,
            group,
            order,
            date_sep,
            symbol_at,
            twelve_hour: false,
            home_dollar: None,
        };
        let before = SymbolAt::Before { space: false };
        let before_space = SymbolAt::Before { space: true };
        let after = SymbolAt::After;
        let mut l = match (lang.as_str(), region.as_str()) {
            ("en", "GB" | "IE" | "NZ" | "AU" | "ZA") => base('.', ",", DayMonthYear, '/', before),
            ("en", "CA") => base('.', ",", YearMonthDay, '-', before),
            ("en", "US" | "") => Locale { twelve_hour: true, ..base('.', ",", MonthDayYear, '/', before) },
            ("en", _) => base('.', ",", DayMonthYear, '/', before),
            ("de" | "fr" | "it", "CH" | "LI") => base('.', "\u{2019}", DayMonthYear, '.', before_space),
            ("de", _) => base(',', ".", DayMonthYear, '.', after),
            ("fr", "CA") => base(',', NBSP, YearMonthDay, '-', after),
            ("fr", _) => base(',', NNBSP, DayMonthYear, '/', after),
            ("es", "MX" | "US") => base('.', ",", DayMonthYear, '/', before),
            ("es" | "it" | "pt", _) if region != "BR" => base(',', ".", DayMonthYear, '/', after),
            ("pt", _) => base(',', ".", DayMonthYear, '/', before_space),
            ("nl", _) => base(',', ".", DayMonthYear, '-', before_space),
            ("da", _) => base(',', ".", DayMonthYear, '.', after),
            ("sv", _) => base(',', NBSP, YearMonthDay, '-', after),
            ("nb" | "no" | "nn" | "fi" | "pl" | "cs" | "sk", _) => base(',', NBSP, DayMonthYear, '.', after),
            ("ja" | "zh" | "ko", _) => base('.', ",", YearMonthDay, '/', before),
            _ => return Locale::parse("en-US"),
        };
        l.home_dollar = match (lang.as_str(), region.as_str()) {
            ("en" | "es", "US" | "") => Some("USD"),
            ("en" | "fr", "CA") => Some("CAD"),
            ("en", "AU") => Some("AUD"),
            ("en", "NZ") => Some("NZD"),
            ("es", "MX") => Some("MXN"),
            _ => None,
        };
        l.tag = if region.is_empty() { lang } else { format!("{lang}-{region}") };
        l
    }

    /// The tag these conventions were chosen for (`de-DE`).
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A decimal written with the locale's separators, its digits unchanged:
    /// `1234567.5` → `1,234,567.5` (en-US) or `1.234.567,5` (de-DE). A text
    /// that is not a plain decimal is returned as it is.
    pub fn number_text(&self, text: &str) -> String {
        let t = text.trim();
        let (sign, digits) = match t.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", t),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !plain(int) || !plain(frac) || (digits.contains('.') && frac.is_empty()) {
            return text.to_string();
        }
        let mut out = String::with_capacity(t.len() + int.len() / 3 * 3);
        out.push_str(sign);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push_str(self.group);
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(self.decimal);
            out.push_str(frac);
        }
        out
    }

    /// An exact decimal (quantities, rates), trailing zeros kept as given.
    pub fn number(&self, d: Decimal) -> String {
        self.number_text(&d.to_string())
    }

    /// An amount with its currency: `$1,234.56`, `1.234,56 €`, `CHF 1’234.50`.
    pub fn money(&self, m: &Money) -> String {
        self.amount_text(&m.to_string(), m.currency())
    }

    /// An amount given as decimal text (as JSON carries it) with its currency.
    pub fn amount_text(&self, text: &str, currency: Currency) -> String {
        let n = self.number_text(text);
        let (sign, n) = match n.strip_prefix('-') {
            Some(rest) => ("-", rest.to_string()),
            None => ("", n),
        };
        let (symbol, is_code) = self.symbol(currency);
        match (self.symbol_at, is_code) {
            (SymbolAt::After, _) => format!("{sign}{n}{NBSP}{symbol}"),
            (SymbolAt::Before { space }, _) if space || is_code => format!("{sign}{symbol}{NBSP}{n}"),
            (SymbolAt::Before { .. }, _) => format!("{sign}{symbol}{n}"),
        }
    }

    /// The currency's sign in this locale, and whether it is the ISO code.
    fn symbol(&self, c: Currency) -> (&'static str, bool) {
        match c.code() {
            "EUR" => ("€", false),
            "GBP" => ("£", false),
            "JPY" => ("¥", false),
            "INR" => ("₹", false),
            "BRL" => ("R$", false),
            code @ ("USD" | "CAD" | "AUD" | "NZD" | "MXN") if self.home_dollar == Some(code) => ("$", false),
            "USD" => ("US$", false),
            code => (code, true),
        }
    }

    /// A short date: `12/05/2026`, `05.12.2026`, `2026-12-05`.
    pub fn date(&self, d: Date) -> String {
        let (y, m, day) = (d.year(), u8::from(d.month()), d.day());
        let s = self.date_sep;
        match self.order {
            DateOrder::MonthDayYear => format!("{m:02}{s}{day:02}{s}{y:04}"),
            DateOrder::DayMonthYear => format!("{day:02}{s}{m:02}{s}{y:04}"),
            DateOrder::YearMonthDay => format!("{y:04}{s}{m:02}{s}{day:02}"),
        }
    }

    /// A date and time to the minute (in UTC, as stored): `12/05/2026 2:30 PM`,
    /// `05.12.2026 14:30`.
    pub fn date_time(&self, t: OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        let (h, min) = (t.hour(), t.minute());
        if self.twelve_hour {
            let (h12, half) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            format!("{} {h12}:{min:02}{NBSP}{half}", self.date(t.date()))
        } else {
            format!("{} {h:02}:{min:02}", self.date(t.date()))
        }
    }

    /// Reads a number written by [`Locale::number_text`] back into its
    /// decimal (what a test or a pasted figure needs); `None` if it is not one.
    pub fn read_number(&self, written: &str) -> Option<Decimal> {
        let plain: String =
            written.trim().replace(self.group, "").chars().map(|c| if c == self.decimal { '.' } else { c }).collect();
        Decimal::from_str_exact(&plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    fn cur(c: &str) -> Currency {
        Currency::parse(c).unwrap()
    }

    fn money(text: &str, c: &str) -> Money {
        Money::parse(text, cur(c)).unwrap()
    }

    #[test]
    fn amounts_follow_each_locales_separators_and_symbol_place() {
        let cases = [
            ("en-US", "1234567.89", "USD", "$1,234,567.89"),
            ("en-US", "1234.5", "EUR", "€1,234.50"),
            ("en-US", "-1234.50", "CHF", "-CHF\u{a0}1,234.50"),
            ("en-GB", "999.99", "GBP", "£999.99"),
            ("en-GB", "1000", "USD", "US$1,000.00"),
            ("de-DE", "1234.56", "EUR", "1.234,56\u{a0}€"),
            ("de-DE", "-0.5", "EUR", "-0,50\u{a0}€"),
            ("de-CH", "1234.5", "CHF", "CHF\u{a0}1\u{2019}234.50"),
            ("fr-FR", "1234567.8", "EUR", "1\u{202f}234\u{202f}567,80\u{a0}€"),
            ("nl-NL", "1234.56", "EUR", "€\u{a0}1.234,56"),
            ("ja-JP", "1234567", "JPY", "¥1,234,567"),
            ("en-CA", "12", "CAD", "$12.00"),
            ("en-US", "12", "CAD", "CAD\u{a0}12.00"),
        ];
        for (tag, amount, c, want) in cases {
            assert_eq!(Locale::parse(tag).money(&money(amount, c)), want, "{tag} {amount} {c}");
        }
    }

    #[test]
    fn dates_follow_each_locales_order_and_separator() {
        let d = date!(2026 - 12 - 05);
        let cases = [
            ("en-US", "12/05/2026"),
            ("en-GB", "05/12/2026"),
            ("de-DE", "05.12.2026"),
            ("fr-FR", "05/12/2026"),
            ("nl-NL", "05-12-2026"),
            ("sv-SE", "2026-12-05"),
            ("ja-JP", "2026/12/05"),
        ];
        for (tag, want) in cases {
            assert_eq!(Locale::parse(tag).date(d), want, "{tag}");
        }
        let t = datetime!(2026-12-05 14:07 UTC);
        assert_eq!(Locale::parse("en-US").date_time(t), "12/05/2026 2:07\u{a0}PM");
        assert_eq!(Locale::parse("en-US").date_time(datetime!(2026-12-05 00:30 UTC)), "12/05/2026 12:30\u{a0}AM");
        assert_eq!(Locale::parse("de-DE").date_time(t), "05.12.2026 14:07");
    }

    #[test]
    fn unknown_tags_fall_back_to_their_language_then_to_us_english() {
        assert_eq!(Locale::parse("de-LU").tag(), "de-LU");
        assert_eq!(Locale::parse("de-LU").date(date!(2026 - 01 - 02)), "02.01.2026");
        assert_eq!(Locale::parse("de_at").tag(), "de-AT");
        assert_eq!(Locale::parse("xx-YY"), Locale::parse("en-US"));
        assert_eq!(Locale::parse(""), Locale::default());
    }

    #[test]
    fn every_offered_locale_has_conventions_of_its_own_language() {
        for (tag, _) in CHOICES {
            let l = Locale::parse(tag);
            assert_eq!(l.tag(), *tag, "{tag} is not read back as itself");
            let lang = tag.split('-').next().unwrap();
            assert!(lang == "en" || l != Locale::parse("en-US"), "{tag} fell back to en-US");
        }
    }

    #[test]
    fn text_that_is_not_a_decimal_is_left_alone() {
        let l = Locale::parse("de-DE");
        for t in ["", "—", "12a", "1.2.3", "1.", ".5", "-", "n/a"] {
            assert_eq!(l.number_text(t), t);
        }
    }

    const TAGS: &[&str] = &[
        "en-US", "en-GB", "en-CA", "de-DE", "de-CH", "fr-FR", "fr-CA", "es-ES", "es-MX", "it-IT", "pt-BR", "pt-PT",
        "nl-NL", "da-DK", "sv-SE", "nb-NO", "pl-PL", "ja-JP",
    ];

    proptest! {
        /// Formatting never changes a value: the written number reads back to
        /// exactly the decimal, in every locale, at any size and scale.
        #[test]
        fn a_written_number_reads_back_to_the_same_decimal(
            units in any::<i64>(), scale in 0u32..6, tag in proptest::sample::select(TAGS)
        ) {
            let d = Decimal::new(units, scale);
            let l = Locale::parse(tag);
            prop_assert_eq!(l.read_number(&l.number(d)), Some(d));
        }

        /// The digits of a written amount are the digits of the amount, in order.
        #[test]
        fn a_written_amount_keeps_every_digit(minor in any::<i64>(), tag in proptest::sample::select(TAGS)) {
            let m = Money::from_minor(minor, cur("EUR"));
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            prop_assert_eq!(digits(&Locale::parse(tag).money(&m)), digits(&m.to_string()));
            prop_assert_eq!(Locale::parse(tag).money(&m).starts_with('-'), minor < 0);
        }
    }
}
