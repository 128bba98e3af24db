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

/// A column a list may be sorted by: its name in `?sort=`, its SQL (never
/// null, so that comparisons hold) and the value a row holds there, which
/// must equal what the SQL gives for that row.
pub struct SortColumn<T> {
    pub name: &'static str,
    pub sql: &'static str,
    pub value: fn(&T) -> SortValue,
}

impl<T> std::fmt::Debug for SortColumn<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The order a list is asked in: one of its [`SortColumn`]s and a direction,
/// ties broken by key; or, without a column, the list's own order by key.
pub struct Sort<T: 'static> {
    pub by: Option<&'static SortColumn<T>>,
    pub descending: bool,
}

impl<T> Clone for Sort<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Sort<T> {}

impl<T> std::fmt::Debug for Sort<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sort({:?})", self.name())
    }
}

impl<T> Default for Sort<T> {
    fn default() -> Self {
        Sort { by: None, descending: false }
    }
}

impl<T> Sort<T> {
    /// Reads `name` or `-name` (descending) among `columns`; empty is the
    /// list's own order; anything else is `None`.
    pub fn parse(columns: &'static [SortColumn<T>], s: &str) -> Option<Sort<T>> {
        let s = s.trim();
        if s.is_empty() {
            return Some(Sort::default());
        }
        let (descending, name) = match s.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, s),
        };
        columns.iter().find(|c| c.name == name).map(|c| Sort { by: Some(c), descending })
    }

    /// The text [`Sort::parse`] reads back ("" for the list's own order).
    pub fn name(&self) -> String {
        match self.by {
            None => String::new(),
            Some(c) if self.descending => format!("-{}", c.name),
            Some(c) => c.name.to_string(),
        }
    }

    /// The list's own order, by key.
    pub fn is_default(&self) -> bool {
        self.by.is_none()
    }

    /// The position `after` (a `next` cursor of this order) as the list
    /// query takes it: a key cursor in the list's own order, a sorted one
    /// otherwise. A cursor of the other kind is refused.
    pub fn position(&self, after: Option<&str>) -> Result<(Option<Cursor>, Option<SortCursor>), InvalidCursor> {
        match after.filter(|a| !a.is_empty()) {
            None => Ok((None, None)),
            Some(a) if self.is_default() => Ok((Some(Cursor::decode(a)?), None)),
            Some(a) => Ok((None, Some(SortCursor::decode(a)?))),
        }
    }

    /// Where the page after `page` begins in this order: after a key in the
    /// list's own order, after a sorted cursor otherwise; `None` at the end.
    fn after(&self, page: &Page<T>) -> Option<After> {
        match (self.by, page.next, page.items.last()) {
            (None, Some(c), _) => Some(After::Key(c)),
            (Some(col), Some(c), Some(last)) => Some(After::Sorted(SortCursor { value: (col.value)(last), key: c.0 })),
            _ => None,
        }
    }

    /// The `next` cursor of `page` listed in this order, encoded.
    pub fn next_of(&self, page: &Page<T>) -> Option<String> {
        self.after(page).map(|a| match a {
            After::Key(c) => c.encode(),
            After::Sorted(s) => s.encode(),
        })
    }

    /// Moves `cursor` and `sorted` past `page` for reading the next one;
    /// false when there is none.
    pub fn advance(&self, page: &Page<T>, cursor: &mut Option<Cursor>, sorted: &mut Option<SortCursor>) -> bool {
        match self.after(page) {
            Some(After::Key(c)) => *cursor = Some(c),
            Some(After::Sorted(s)) => *sorted = Some(s),
            None => return false,
        }
        true
    }
}

/// Where a page begins: after a key in a list's own order, or after a
/// sorted cursor.
enum After {
    Key(Cursor),
    Sorted(SortCursor),
}

/// An order of a list and a page's position in it: after a key in the
/// list's own order, or after a sorted cursor (see [`Sort::position`]).
pub type Ordered<T> = (Sort<T>, Option<Cursor>, Option<SortCursor>);

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

    /// Asks for one page in `sort`: after `cursor` in the list's own order by
    /// `key` (descending when `key_descending`), or after `sorted` in the
    /// sort column's order, ties by `key` in the same direction. Returns the
    /// page size (see [`Page::from_rows`]).
    pub fn sorted_page<T>(
        &mut self,
        key: &str,
        key_descending: bool,
        sort: Sort<T>,
        cursor: Option<Cursor>,
        sorted: Option<&SortCursor>,
        limit: i64,
    ) -> i64 {
        let limit = limit.clamp(1, 200);
        let dir = |desc: bool| if desc { ("<", "DESC") } else { (">", "ASC") };
        let order = match sort.by {
            None => {
                let (cmp, dir) = dir(key_descending);
                self.and_some(&format!("{key} {cmp} ?"), cursor.map(|c| c.0));
                format!("{key} {dir}")
            }
            Some(col) => {
                let (cmp, dir) = dir(sort.descending);
                if let Some(c) = sorted {
                    let sql = col.sql;
                    self.and_all(
                        &format!("({sql} {cmp} ? OR ({sql} = ? AND {key} {cmp} ?))"),
                        vec![c.value.clone().into(), c.value.clone().into(), c.key.into()],
                    );
                }
                format!("{} {dir}, {key} {dir}", col.sql)
            }
        };
        self.sql.push_str(&format!(" ORDER BY {order} LIMIT {}", limit + 1));
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

    struct Row {
        key: i64,
        name: String,
    }

    static COLUMNS: &[SortColumn<Row>] =
        &[SortColumn { name: "name", sql: "r.name", value: |r| SortValue::Text(r.name.clone()) }];

    #[test]
    fn a_sort_reads_back_its_name_and_pages_with_the_cursor_of_its_order() {
        assert!(Sort::parse(COLUMNS, "").unwrap().is_default());
        assert_eq!(Sort::parse(COLUMNS, " -name ").unwrap().name(), "-name");
        assert_eq!(Sort::parse(COLUMNS, "name").unwrap().name(), "name");
        assert!(Sort::parse(COLUMNS, "colour").is_none() && Sort::parse(COLUMNS, "--name").is_none());

        let page = Page::from_rows(
            vec![
                Row { key: 3, name: "Ann".into() },
                Row { key: 9, name: "Bob".into() },
                Row { key: 1, name: "C".into() },
            ],
            2,
            |r| r.key,
        );
        let by_name = Sort::parse(COLUMNS, "name").unwrap();
        let next = by_name.next_of(&page).unwrap();
        assert_eq!(SortCursor::decode(&next), Ok(SortCursor { value: SortValue::Text("Bob".into()), key: 9 }));
        assert_eq!(by_name.position(Some(&next)), Ok((None, Some(SortCursor::decode(&next).unwrap()))));
        let own: Sort<Row> = Sort::default();
        assert_eq!(own.next_of(&page), Some(Cursor(9).encode()));
        // A cursor of one order is no position in another.
        assert_eq!(own.position(Some(&next)), Err(InvalidCursor));
        assert_eq!(by_name.position(Some(&Cursor(9).encode())), Err(InvalidCursor));
        assert_eq!(by_name.position(None), Ok((None, None)));

        let (mut cursor, mut sorted) = (None, None);
        assert!(by_name.advance(&page, &mut cursor, &mut sorted));
        assert_eq!((cursor, sorted.as_ref().map(|s| s.key)), (None, Some(9)));
        let last = Page { items: vec![Row { key: 4, name: "D".into() }], next: None };
        assert!(!by_name.advance(&last, &mut cursor, &mut sorted));
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
        let limit = q.sorted_page("t.id", false, Sort::<Row>::default(), Some(Cursor(9)), None, 500);
        assert_eq!(limit, 200);
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE t.tenant_id = $1 AND t.archived = $2 AND (t.owner_id = $3 OR t.team_id = $4) \
             AND t.id > $5 ORDER BY t.id ASC LIMIT 201"
        );
        assert_eq!(q.args.len(), 5);

        // Sorted by a column, descending: after the last row's value, ties by key.
        let mut q = ListSql::new("SELECT * FROM t", "t.tenant_id", 1);
        let after = SortCursor { value: SortValue::Text("Bob".into()), key: 9 };
        let by_name = Sort::parse(COLUMNS, "-name").unwrap();
        assert_eq!(q.sorted_page("t.id", false, by_name, None, Some(&after), 20), 20);
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE t.tenant_id = $1 AND (r.name < $2 OR (r.name = $3 AND t.id < $4)) \
             ORDER BY r.name DESC, t.id DESC LIMIT 21"
        );
        assert_eq!(q.args.len(), 4);
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
