//! Cursor pagination: `{"data": […], "next": "cursor-or-null"}`.
//!
//! A cursor is the opaque, URL-safe encoding of the last row's key. It stays
//! valid while rows are added, unlike an offset.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::db::Arg;

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

/// A value a list is sorted by, as a sorted cursor keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Int(i64),
    Text(String),
    Date(time::Date),
}

impl From<SortValue> for Arg {
    fn from(v: SortValue) -> Arg {
        match v {
            SortValue::Int(i) => i.into(),
            SortValue::Text(t) => t.into(),
            SortValue::Date(d) => d.into(),
        }
    }
}

/// A position in a list sorted by a column: the last row's value there and
/// its key, which breaks ties so that no row is skipped or shown twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortCursor {
    pub value: SortValue,
    pub key: i64,
}

impl SortCursor {
    pub fn encode(&self) -> String {
        let (kind, value) = match &self.value {
            SortValue::Int(i) => ('i', i.to_string()),
            SortValue::Text(t) => ('t', t.clone()),
            SortValue::Date(d) => ('d', d.to_string()),
        };
        URL_SAFE_NO_PAD.encode(format!("s1:{}:{kind}:{value}", self.key))
    }

    pub fn decode(s: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| InvalidCursor)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| InvalidCursor)?;
        let rest = text.strip_prefix("s1:").ok_or(InvalidCursor)?;
        let (key, rest) = rest.split_once(':').ok_or(InvalidCursor)?;
        let key = key.parse().map_err(|_| InvalidCursor)?;
        let (kind, value) = rest.split_once(':').ok_or(InvalidCursor)?;
        let value = match kind {
            "i" => SortValue::Int(value.parse().map_err(|_| InvalidCursor)?),
            "t" => SortValue::Text(value.to_string()),
            "d" => SortValue::Date(
                time::Date::parse(value, &time::format_description::well_known::Iso8601::DATE)
                    .map_err(|_| InvalidCursor)?,
            ),
            _ => return Err(InvalidCursor),
        };
        Ok(SortCursor { value, key })
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

/// The SQL of a list being assembled: conditions are added with their
/// values (numbered `$N` as they come), then one keyset page is asked for.
#[derive(Debug)]
pub struct ListSql {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl ListSql {
    /// `{select} WHERE {tenant_column} = $1`.
    pub fn new(select: &str, tenant_column: &str, tenant_id: i64) -> Self {
        ListSql { sql: format!("{select} WHERE {tenant_column} = $1"), args: vec![tenant_id.into()] }
    }

    /// Appends ` AND {condition}` with its value in place of the `?`, e.g.
    /// `and("a.archived = ?", false)`.
    pub fn and(&mut self, condition: &str, value: impl Into<Arg>) {
        self.and_all(condition, vec![value.into()]);
    }

    /// Appends ` AND {condition}` with one value for each `?`, in order.
    pub fn and_all(&mut self, condition: &str, values: Vec<Arg>) {
        self.sql.push_str(" AND ");
        let mut parts = condition.split('?');
        self.sql.push_str(parts.next().unwrap_or_default());
        for (part, value) in parts.zip(values) {
            self.args.push(value);
            self.sql.push_str(&format!("${}{part}", self.args.len()));
        }
    }

    /// [`ListSql::and`] when there is a value.
    pub fn and_some<T: Into<Arg>>(&mut self, condition: &str, value: Option<T>) {
        if let Some(v) = value {
            self.and(condition, v);
        }
    }

    /// Asks for the rows after `cursor` in the order of `key`, one more than
    /// the page holds (see [`Page::from_rows`]); returns the page size.
    pub fn page(&mut self, key: &str, cursor: Option<Cursor>, limit: i64) -> i64 {
        self.and_some(&format!("{key} > ?"), cursor.map(|c| c.0));
        let limit = limit.clamp(1, 200);
        self.sql.push_str(&format!(" ORDER BY {key} LIMIT {}", limit + 1));
        limit
    }
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
    fn a_sorted_cursor_round_trips_every_kind_of_value() {
        for value in [
            SortValue::Int(-12_345),
            SortValue::Text("Acme: the \"best\" Ltd".into()),
            SortValue::Text(String::new()),
            SortValue::Date(time::Date::from_calendar_date(2026, time::Month::February, 28).unwrap()),
        ] {
            let c = SortCursor { value, key: 77 };
            assert_eq!(SortCursor::decode(&c.encode()), Ok(c));
        }
        assert_eq!(SortCursor::decode(&Cursor(5).encode()), Err(InvalidCursor));
        assert_eq!(SortCursor::decode("garbage"), Err(InvalidCursor));
    }

    #[test]
    fn list_sql_numbers_its_values_in_order() {
        let mut q = ListSql::new("SELECT * FROM t", "t.tenant_id", 1);
        q.and("t.archived = ?", false);
        q.and_all("(t.owner_id = ? OR t.team_id = ?)", crate::args![7_i64, 8_i64]);
        q.and_some::<i64>("t.owner_id = ?", None);
        let limit = q.page("t.id", Some(Cursor(9)), 500);
        assert_eq!(limit, 200);
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE t.tenant_id = $1 AND t.archived = $2 AND (t.owner_id = $3 OR t.team_id = $4) \
             AND t.id > $5 ORDER BY t.id LIMIT 201"
        );
        assert_eq!(q.args.len(), 5);
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
