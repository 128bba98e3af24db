//! Cursor pagination: `{"data": […], "next": "cursor-or-null"}`.
//!
//! A cursor is the opaque, URL-safe encoding of the last row's key. It stays
//! valid while rows are added, unlike an offset.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A position in a list: the key of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(pub i64);

/// The text is not a cursor this server made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid cursor (use the `next` value of the previous page)")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("c1:{}", self.0))
    }

    pub fn decode(s: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        text.strip_prefix("c1:").and_then(|n| n.parse().ok()).map(Cursor).ok_or(InvalidCursor)
    }
}

/// One page of a list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row, if present,
    /// proves there is a next page.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next = if more { rows.last().map(|r| Cursor(key(r))) } else { None };
        Page { items: rows, next }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}

/// Runs a list query (`sql` with its filters and `args`) in `order` and
/// returns a page of at most `limit` rows (clamped to 1–200) keyed by `key`.
pub(crate) async fn fetch_page<T>(
    tx: &mut crate::Tx,
    mut sql: String,
    args: Vec<crate::Arg>,
    order: &str,
    limit: i64,
    decode: impl Fn(&dyn crate::DbRow) -> crate::StoreResult<T>,
    key: impl Fn(&T) -> i64,
) -> crate::StoreResult<Page<T>> {
    let limit = limit.clamp(1, 200);
    sql.push_str(&format!(" ORDER BY {order} LIMIT {}", limit + 1));
    let rows = tx.fetch_all(sql, args, decode).await?;
    Ok(Page::from_rows(rows, limit, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        assert_eq!(Cursor::decode(&Cursor(42).encode()), Ok(Cursor(42)));
        assert_eq!(Cursor::decode("nope"), Err(InvalidCursor));
        assert_eq!(Cursor::decode(""), Err(InvalidCursor));
    }

    #[test]
    fn the_extra_row_means_a_next_page() {
        let p = Page::from_rows(vec![1, 2, 3], 2, |x| *x);
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next, Some(Cursor(2)));
        let p = Page::from_rows(vec![1, 2], 2, |x| *x);
        assert_eq!(p.next, None);
    }
}
