//! The product catalog's field rules.

use serde::{Deserialize, Serialize};

use crate::error::Validator;

/// What a product is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// Stocked goods: shipping moves stock.
    Goods,
    /// A service: never stocked.
    Service,
    /// A named set of components, added in one step; shipping it moves the components' stock.
    Kit,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Goods => "goods",
            ProductKind::Service => "service",
            ProductKind::Kit => "kit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ProductKind::Goods, ProductKind::Service, ProductKind::Kit].into_iter().find(|k| k.as_str() == s)
    }
}

/// Checks a SKU: 1 to 64 visible characters without spaces. Unique per
/// company regardless of case (the store keeps a lower-cased key).
pub fn check_sku(v: &mut Validator, sku: &str) -> String {
    let s = sku.trim().to_string();
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        v.add("sku", "must be 1 to 64 characters without spaces");
    }
    s
}

/// Checks a trimmed text field of `min..=max` characters.
pub fn check_text(v: &mut Validator, field: &str, text: &str, min: usize, max: usize) -> String {
    let t = text.trim().to_string();
    let n = t.chars().count();
    if n < min || n > max {
        if min == 0 {
            v.add(field, format!("must be at most {max} characters"));
        } else {
            v.add(field, format!("must be {min} to {max} characters"));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_have_no_spaces() {
        let mut v = Validator::new();
        assert_eq!(check_sku(&mut v, " AB-12 "), "AB-12");
        assert!(v.finish().is_ok());
        let mut v = Validator::new();
        check_sku(&mut v, "AB 12");
        assert!(v.finish().is_err());
    }

    #[test]
    fn kinds_parse_from_their_names() {
        assert_eq!(ProductKind::parse("kit"), Some(ProductKind::Kit));
        assert_eq!(ProductKind::parse("gadget"), None);
    }
}
