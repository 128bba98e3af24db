//! Saved views of list pages (`nave_store::saved_views`): the bar every such
//! list shows (the user's views as links, and a form saving the current one)
//! and the two posts behind it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::ids::PublicId;
use nave_store::page::{Ordered, Sort, SortColumn};
use nave_store::saved_views;

use super::{FormData, PageAuth, PageResult};
use crate::error::ApiError;
use crate::state::AppState;

/// One saved view as a link.
#[derive(Debug, Clone)]
pub struct ViewLink {
    pub id: String,
    pub name: String,
    pub href: String,
    /// The view is the one shown now.
    pub current: bool,
}

/// What a list page's views bar shows (`parts/views.html`).
#[derive(Debug, Clone)]
pub struct ViewsBar {
    /// The list's path without the slash.
    pub list: &'static str,
    /// The current view's query string, saved as it is.
    pub query: String,
    pub saved: Vec<ViewLink>,
}

/// The bar of `list` for the user, with `query` the page's query string now.
pub async fn bar(
    tx: &mut nave_store::Tx,
    auth: &PageAuth,
    list: &'static str,
    query: &str,
) -> Result<ViewsBar, super::PageError> {
    let p = &auth.principal;
    let saved = saved_views::list(tx, p.tenant_id, p.user_id, list)
        .await?
        .into_iter()
        .map(|v| ViewLink {
            id: v.id.to_string(),
            current: v.query == query,
            href: if v.query.is_empty() { format!("/{list}") } else { format!("/{list}?{}", v.query) },
            name: v.name,
        })
        .collect();
    Ok(ViewsBar { list, query: query.to_string(), saved })
}

/// `POST /saved-views`: saves the current view of a list under a name and shows it.
pub async fn save(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let f = FormData::parse(&body);
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let v = saved_views::save(&mut tx, p.tenant_id, p.user_id, &f.get("list"), &f.get("name"), &f.get("query")).await?;
    tx.commit().await?;
    let to = if v.query.is_empty() { format!("/{}", v.list) } else { format!("/{}?{}", v.list, v.query) };
    Ok(Redirect::to(&to).into_response())
}

/// `POST /saved-views/{id}/delete`: deletes one of the user's views and shows its list.
pub async fn delete(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("saved view"))?;
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let list = saved_views::delete(&mut tx, p.tenant_id, p.user_id, id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/{list}")).into_response())
}

/// The columns of a list page: each `(key, heading)` offered, and whether it
/// is shown. Templates loop over it for the headings and the column chooser,
/// and ask [`Columns::shows`] for each cell.
#[derive(Debug, Clone)]
pub struct Columns(Vec<(&'static str, &'static str, bool)>);

impl Columns {
    /// Is `key` a column shown now?
    pub fn shows(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _, on)| *on && *k == key)
    }
}

impl<'a> IntoIterator for &'a Columns {
    type Item = &'a (&'static str, &'static str, bool);
    type IntoIter = std::slice::Iter<'a, (&'static str, &'static str, bool)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The columns of a list page: those `chosen` (the page's repeated `col`
/// parameter) among the `offered`, or the `defaults` until the user chooses.
pub fn columns(offered: &[(&'static str, &'static str)], defaults: &[&str], chosen: &[String]) -> Columns {
    Columns(
        offered
            .iter()
            .map(|&(k, h)| {
                let on = if chosen.is_empty() { defaults.contains(&k) } else { chosen.iter().any(|c| c == k) };
                (k, h, on)
            })
            .collect(),
    )
}

/// A list page's query string as the page reads it: its filters (the keys the
/// list knows, trimmed, empty ones dropped), the columns chosen (`col`,
/// repeated) and the page cursor (`after`). Saved views and paging links keep
/// [`ViewQuery::view_qs`]: everything but the cursor.
#[derive(Debug, Default, Clone)]
pub struct ViewQuery {
    filters: Vec<(&'static str, String)>,
    pub columns: Vec<String>,
    pub after: Option<String>,
}

impl ViewQuery {
    /// Reads `raw`, keeping the filters named in `known` (in that order).
    pub fn parse(raw: Option<&str>, known: &[&'static str]) -> Self {
        let mut q = ViewQuery::default();
        let mut found: Vec<(&'static str, String)> = vec![];
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "col" => q.columns.push(v),
                "after" => q.after = Some(v).filter(|a| !a.is_empty()),
                key => {
                    if let Some(&known) = known.iter().find(|&&n| n == key)
                        && !v.is_empty()
                    {
                        found.retain(|(n, _)| *n != known);
                        found.push((known, v));
                    }
                }
            }
        }
        q.filters = known.iter().filter_map(|&n| found.iter().find(|(f, _)| *f == n).cloned()).collect();
        q
    }

    /// The filter `key` as given, or "".
    pub fn get(&self, key: &str) -> &str {
        self.filters.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// A ticked filter (`true` or `1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), "true" | "1")
    }

    /// The view without its page cursor: the filters, then the columns.
    pub fn view_qs(&self) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.filters {
            s.append_pair(k, v);
        }
        for c in &self.columns {
            s.append_pair("col", c);
        }
        s.finish()
    }

    /// The view with the filter `key` made canonical by `f` in its place (a
    /// kind spelt as the list spells it, a flag as `true`), or dropped when
    /// `f` finds nothing in it: the view a page saves and pages through is
    /// then the one it shows.
    pub fn normalized(mut self, key: &str, f: impl FnOnce(&str) -> Option<String>) -> ViewQuery {
        if let Some(i) = self.filters.iter().position(|(k, _)| *k == key) {
            match f(&self.filters[i].1) {
                Some(v) if !v.is_empty() => self.filters[i].1 = v,
                _ => {
                    self.filters.remove(i);
                }
            }
        }
        self
    }

    /// The view's query string with `key` set to `value` (or removed when empty).
    pub fn with(&self, key: &'static str, value: &str) -> ViewQuery {
        let mut q = self.clone();
        q.filters.retain(|(k, _)| *k != key);
        if !value.is_empty() {
            q.filters.push((key, value.to_string()));
        }
        q
    }
}

/// The order of a list page: read from its view's `sort` filter (and the
/// page cursor `after`), and offered as links on its column headings, each
/// sorting by its column, or the other way when it is the order now.
#[derive(Debug, Clone)]
pub struct Sorting {
    /// The list's path without the slash.
    path: &'static str,
    /// The order now, as `?sort=` spells it ("" for the list's own).
    now: String,
    /// The view's query string without the order.
    filter_qs: String,
    columns: Vec<&'static str>,
}

/// The order of the view `f` of a list sorted by one of `columns`, and the
/// page's position in it: an order the list does not offer is refused; a
/// cursor of another order starts the list from its beginning.
pub fn read_sort<T>(columns: &'static [SortColumn<T>], f: &ViewQuery) -> Result<Ordered<T>, ApiError> {
    let sort = crate::extract::parse_sort(columns, f.get("sort"))?;
    let (cursor, sorted) = sort.position(f.after.as_deref()).unwrap_or_default();
    Ok((sort, cursor, sorted))
}

impl Sorting {
    /// The headings' links of the list at `path` showing `sort`, its view `f`.
    pub fn new<T>(path: &'static str, columns: &'static [SortColumn<T>], sort: Sort<T>, f: &ViewQuery) -> Sorting {
        Sorting {
            path,
            now: sort.name(),
            filter_qs: f.with("sort", "").view_qs(),
            columns: columns.iter().map(|c| c.name).collect(),
        }
    }

    /// The order now ("" for the list's own), for the filter form to keep.
    pub fn now(&self) -> &str {
        &self.now
    }

    /// Can the list be sorted by `key`?
    pub fn offers(&self, key: &str) -> bool {
        self.columns.contains(&key)
    }

    /// The link of the heading of `key`.
    pub fn href(&self, key: &str) -> String {
        let next = if self.now == key { format!("-{key}") } else { key.to_string() };
        let sep = if self.filter_qs.is_empty() { "" } else { "&" };
        format!("/{}?{}{sep}sort={next}", self.path, self.filter_qs)
    }

    /// `ascending`, `descending` or `none`, for the heading's `aria-sort`.
    pub fn aria(&self, key: &str) -> &'static str {
        if self.now == key {
            "ascending"
        } else if self.now.strip_prefix('-') == Some(key) {
            "descending"
        } else {
            "none"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_query_keeps_known_filters_in_order_columns_and_the_cursor_apart() {
        let q = ViewQuery::parse(Some("b=2&x=9&a=%20one%20&col=c1&after=CUR&col=c2&a=&b=3"), &["a", "b"]);
        assert_eq!((q.get("a"), q.get("b"), q.get("x")), ("one", "3", ""));
        assert_eq!(q.after.as_deref(), Some("CUR"));
        assert_eq!(q.view_qs(), "a=one&b=3&col=c1&col=c2");
        assert_eq!(ViewQuery::parse(None, &["a"]).view_qs(), "");
        assert!(ViewQuery::parse(Some("archived=1"), &["archived"]).flag("archived"));
        assert_eq!(q.with("b", "").view_qs(), "a=one&col=c1&col=c2");
        let n = q.clone().normalized("a", |v| Some(v.to_uppercase())).normalized("b", |_| None);
        assert_eq!(n.view_qs(), "a=ONE&col=c1&col=c2", "made canonical in place, or dropped");
        assert_eq!(q.clone().normalized("x", |_| Some("y".into())).view_qs(), q.view_qs(), "absent stays absent");
    }
}
