//! Likely duplicate accounts: the keys two accounts are compared by, and the
//! reasons two accounts look like the same company.
//!
//! Keys are normalised so that spelling differences do not hide a duplicate:
//! - the **name**, lower-cased, punctuation dropped and legal suffixes removed
//!   ("Acme, Inc." and "ACME" match; "Müller GmbH & Co. KG" and "Müller" match);
//! - the **domain** of the website (`https://www.acme.com/shop` → `acme.com`),
//!   also compared with the e-mail domains of the other account's contacts
//!   (free-mail domains such as gmail.com never count);
//! - the **tax id**, upper-cased without spaces or punctuation;
//! - the **phone number**: its last nine digits (numbers with fewer than seven
//!   digits are not compared), so `+44 20 7946 0958` and `020 7946 0958` match.

use serde::Serialize;

/// Legal-form words dropped from the end of a name (after punctuation is removed).
const LEGAL_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "llp",
    "lp",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "ohg",
    "ug",
    "ev",
    "sa",
    "sas",
    "sarl",
    "sl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "as",
    "asa",
    "oy",
    "oyj",
    "aps",
    "pty",
    "pte",
    "kk",
    "sro",
    "sp",
    "zoo",
];

/// Mail providers whose domain says nothing about the company.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "hotmail.com",
    "hotmail.co.uk",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "yandex.ru",
    "mail.ru",
    "qq.com",
    "163.com",
    "orange.fr",
    "free.fr",
    "t-online.de",
];

/// A company name reduced to what identifies it: lower-case words without
/// punctuation, legal suffixes removed from the end. A name made only of
/// such words keeps them.
pub fn normalise_name(name: &str) -> String {
    let mut cleaned = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            cleaned.extend(c.to_lowercase());
        } else if matches!(c, '.' | '\'' | '’') {
            // "S.A." is "sa", "O'Neil" is "oneil".
        } else {
            cleaned.push(' ');
        }
    }
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let mut end = words.len();
    while end > 1 && LEGAL_SUFFIXES.contains(&words[end - 1]) {
        end -= 1;
    }
    if end == 1 && LEGAL_SUFFIXES.contains(&words[0]) {
        end = words.len();
    }
    words[..end].join(" ")
}

/// The domain of a website (`https://www.Acme.com:8080/x` → `acme.com`), or
/// `None` when the text is not a web address.
pub fn website_domain(url: &str) -> Option<String> {
    let s = url.trim().to_lowercase();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(&s);
    let s = s.strip_prefix("//").unwrap_or(s);
    let host = s.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?;
    let host = host.split(':').next()?.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let ok = host.contains('.')
        && !host.starts_with('.')
        && !host.contains("..")
        && host.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    ok.then(|| host.to_string())
}

/// The domain of an e-mail address, unless it is a free-mail provider's.
pub fn email_domain(email: &str) -> Option<String> {
    let d = email.trim().rsplit_once('@')?.1.to_lowercase();
    (!d.is_empty() && !FREE_MAIL.contains(&d.as_str())).then_some(d)
}

/// A tax id without spaces or punctuation, upper-case.
pub fn tax_id_key(tax_id: &str) -> Option<String> {
    let k: String = tax_id.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect();
    (!k.is_empty()).then_some(k)
}

/// The last nine digits of a phone number; `None` below seven digits.
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return None;
    }
    Some(digits[digits.len().saturating_sub(9)..].iter().collect())
}

/// What an account is compared by.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchKeys {
    pub name: String,
    pub domain: Option<String>,
    pub tax_id: Option<String>,
    pub phone: Option<String>,
}

impl MatchKeys {
    /// The keys of an account's fields.
    pub fn of(name: &str, website: Option<&str>, tax_id: Option<&str>, phone: Option<&str>) -> Self {
        MatchKeys {
            name: normalise_name(name),
            domain: website.and_then(website_domain),
            tax_id: tax_id.and_then(tax_id_key),
            phone: phone.and_then(phone_key),
        }
    }
}

/// Why an account looks like a duplicate of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The names are the same once normalised.
    SameName,
    /// The website domain is the other's website domain or a domain its contacts' e-mails use.
    SameDomain,
    SameTaxId,
    SamePhone,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SameName => "same_name",
            Reason::SameDomain => "same_domain",
            Reason::SameTaxId => "same_tax_id",
            Reason::SamePhone => "same_phone",
        }
    }

    /// The reason of [`Reason::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Reason::SameName, Reason::SameDomain, Reason::SameTaxId, Reason::SamePhone]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// The reason in words, for messages and reports.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::SameName => "the same name",
            Reason::SameDomain => "the same web or e-mail domain",
            Reason::SameTaxId => "the same tax id",
            Reason::SamePhone => "the same phone number",
        }
    }
}

/// The reasons `new` looks like a duplicate of `existing`, whose contacts
/// write from `email_domains`; empty when it does not.
pub fn reasons(new: &MatchKeys, existing: &MatchKeys, email_domains: &[String]) -> Vec<Reason> {
    let same = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
    let mut out = Vec::new();
    if !new.name.is_empty() && new.name == existing.name {
        out.push(Reason::SameName);
    }
    if same(&new.domain, &existing.domain) || new.domain.as_ref().is_some_and(|d| email_domains.contains(d)) {
        out.push(Reason::SameDomain);
    }
    if same(&new.tax_id, &existing.tax_id) {
        out.push(Reason::SameTaxId);
    }
    if same(&new.phone, &existing.phone) {
        out.push(Reason::SamePhone);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_lose_case_punctuation_and_legal_suffixes() {
        for (a, b) in [
            ("Acme, Inc.", "ACME"),
            ("Acme Ltd", "acme limited"),
            ("Müller GmbH & Co. KG", "MÜLLER"),
            ("Delta Foods S.A.", "Delta Foods"),
            ("Zenith Optics B.V.", "Zenith-Optics"),
            ("Harbor Logistics LLC", "Harbor  Logistics"),
        ] {
            assert_eq!(normalise_name(a), normalise_name(b), "{a} ~ {b}");
        }
        assert_eq!(normalise_name("  O'Neil & Sons, Ltd. "), "oneil sons");
        assert_ne!(normalise_name("Acme Tools"), normalise_name("Acme Foods"));
    }

    #[test]
    fn a_name_of_only_legal_words_keeps_them() {
        assert_eq!(normalise_name("The Company Ltd"), "the");
        assert_eq!(normalise_name("Co."), "co");
        assert_eq!(normalise_name("Ltd"), "ltd");
    }

    #[test]
    fn websites_reduce_to_their_domain() {
        assert_eq!(website_domain("https://www.Acme.com/shop?x=1").as_deref(), Some("acme.com"));
        assert_eq!(website_domain("acme.co.uk").as_deref(), Some("acme.co.uk"));
        assert_eq!(website_domain("http://shop.acme.com:8080").as_deref(), Some("shop.acme.com"));
        assert_eq!(website_domain("not a website"), None);
        assert_eq!(website_domain("localhost"), None);
    }

    #[test]
    fn free_mail_domains_say_nothing_about_a_company() {
        assert_eq!(email_domain("Ann@Acme.com").as_deref(), Some("acme.com"));
        assert_eq!(email_domain("ann@gmail.com"), None);
    }

    #[test]
    fn phones_compare_by_their_last_nine_digits() {
        assert_eq!(phone_key("+44 20 7946 0958"), phone_key("020 7946 0958"));
        assert_eq!(phone_key("(555) 123-4567").as_deref(), Some("551234567"));
        assert_eq!(phone_key("123-45"), None);
    }

    #[test]
    fn tax_ids_ignore_spaces_and_case() {
        assert_eq!(tax_id_key("gb 123 456 789"), tax_id_key("GB123456789"));
        assert_eq!(tax_id_key(" - "), None);
    }

    #[test]
    fn each_shared_key_is_a_reason() {
        let a = MatchKeys::of("Acme Inc.", Some("acme.com"), Some("GB1"), Some("+1 555 123 4567"));
        let b = MatchKeys::of("ACME", Some("https://www.acme.com"), Some("gb-1"), Some("555-123-4567"));
        assert_eq!(reasons(&a, &b, &[]), [Reason::SameName, Reason::SameDomain, Reason::SameTaxId, Reason::SamePhone]);
        let c = MatchKeys::of("Other", None, None, None);
        assert!(reasons(&a, &c, &[]).is_empty(), "nothing shared, no reason");
        assert_eq!(reasons(&a, &c, &["acme.com".to_string()]), [Reason::SameDomain], "a contact's e-mail domain");
        let blank = MatchKeys::default();
        assert!(reasons(&blank, &blank, &[]).is_empty(), "missing keys never match");
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing(name in "[A-Za-z0-9 .,&'-]{0,40}") {
            let once = normalise_name(&name);
            prop_assert_eq!(normalise_name(&once), once);
        }

        #[test]
        fn a_legal_suffix_never_makes_a_difference(name in "Q[a-z]{2,10}( [A-Z][a-z]{2,10})?", i in 0usize..LEGAL_SUFFIXES.len()) {
            let with = format!("{name} {}.", LEGAL_SUFFIXES[i].to_uppercase());
            prop_assert_eq!(normalise_name(&with), normalise_name(&name));
        }
    }
}
