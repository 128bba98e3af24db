//! Sales summaries (issue 8, ADR 0019): what the sales reports add up, kept
//! per month so a report reads a few rows per account and month instead of
//! every invoice line of its period.
//!
//! Three tables (migration 0027), each per tenant and document month,
//! holding the figures of [`crate::reports`]: the net
//! (`taxable_base_minor`) and the cost of goods (`cost_minor`) of the lines
//! other than shipping and comments of every invoice and credit note counted
//! as a sale (issued, part paid, paid, applied), invoices and credit notes
//! apart:
//!
//! - `sales_months` ([`Grain::Account`]) also counts the invoices and credit
//!   notes, so the profit reports can say how many documents are behind a
//!   figure;
//! - `sales_month_categories` ([`Grain::Category`]) splits the same figures
//!   and counts by product category (0: lines without a product or a
//!   category): a document counts once in each category it has lines of;
//! - `sales_month_products` ([`Grain::Product`]) has them per product (0:
//!   free-text lines) and currency, without the account, with the quantity
//!   sold less credited and the documents' counts: the product reports of
//!   the whole company read it (a report restricted to some accounts sums
//!   the lines of those accounts instead).
//!
//! They are kept in the transaction that changes what they sum:
//! [`record`] when an invoice or credit note is issued (+1) and when it is
//! voided (−1: nothing else takes a document out of the sales), and
//! [`move_product`] when a product changes category (the rows of the two
//! categories are summed again where the product sold). A settlement (part
//! paid, paid, applied) changes no figure. [`rebuild`] writes them again
//! from the documents (the bulk generator of `nave bench` uses it after
//! loading), and [`drift`] counts the rows where the kept summary and a
//! rebuild would differ: the tests use it after every kind of change.
//!
//! Reading: [`facts`] gives a report the rows of a period at a grain. Whole
//! months come from the summary; the days of a month the period covers only
//! in part (say, this month up to today) are summed from the documents, with
//! the same columns, so a report is exact for any period.

use time::{Date, Duration};

use crate::accounts::Visibility;
use crate::db::{Arg, Dialect, Tx};
use crate::reports::ReportFilter;
use crate::{StoreResult, and_where, args};

/// Invoices and credit notes counted as sales (`d`: the documents).
pub(crate) const SOLD: &str =
    "d.doc_type IN ('invoice', 'credit_note') AND d.status IN ('issued', 'part_paid', 'paid', 'applied')";

/// The lines whose net and cost count (`l`: the document lines).
const COUNTED_LINES: &str = "l.kind NOT IN ('shipping', 'comment')";

/// The figures both summaries hold, in this order.
const SUMS: [&str; 4] = ["invoiced_minor", "credited_minor", "cost_invoiced_minor", "cost_returned_minor"];

/// Which summary: per account, or per account and product category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    /// `sales_months`: per account, with the number of invoices and credit notes.
    Account,
    /// `sales_month_categories`: per account and category, with the number
    /// of invoices and credit notes that have lines in the category.
    Category,
    /// `sales_month_products`: per product, with the quantity and the
    /// number of invoices and credit notes.
    Product,
}

/// Every grain, in the order they are kept.
const GRAINS: [Grain; 3] = [Grain::Account, Grain::Category, Grain::Product];

impl Grain {
    /// The grain a report needs to honour `f`: its category filter needs the
    /// categories.
    pub fn for_filter(f: &ReportFilter) -> Grain {
        if f.category_key.is_some() { Grain::Category } else { Grain::Account }
    }

    fn table(self) -> &'static str {
        match self {
            Grain::Account => "sales_months",
            Grain::Category => "sales_month_categories",
            Grain::Product => "sales_month_products",
        }
    }

    /// The key columns after the tenant and the month.
    fn keys(self) -> &'static str {
        match self {
            Grain::Account => "account_id, currency",
            Grain::Category => "account_id, currency, category_id",
            Grain::Product => "product_id, currency",
        }
    }

    /// The columns after the four figures: counts (and a product's quantity).
    fn counts(self) -> &'static [&'static str] {
        match self {
            Grain::Account => &["invoices", "credit_notes"],
            Grain::Category => &["invoices", "credit_notes"],
            Grain::Product => &["quantity_e4", "invoices", "credit_notes"],
        }
    }

    /// A row whose documents are all gone.
    fn empty(self) -> &'static str {
        "invoices = 0 AND credit_notes = 0"
    }

    /// Whether the per-product summary can answer for this caller and
    /// filter: it knows no accounts, so not when the accounts are restricted.
    fn products_serve(vis: Visibility, f: &ReportFilter) -> bool {
        vis == Visibility::All && f.account_key.is_none() && f.owner_key.is_none() && f.team_key.is_none()
    }

    /// Every column, in the order of [`aggregate`]'s rows.
    fn columns(self) -> String {
        format!("tenant_id, month, {}, {}, {}", self.keys(), SUMS.join(", "), self.counts().join(", "))
    }
}

/// The first day of the month of the date in `col`, as SQL.
fn month_of(dialect: Dialect, col: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("SUBSTR({col}, 1, 7) || '-01'"),
        Dialect::Postgres => format!("CAST(date_trunc('month', {col}) AS DATE)"),
    }
}

/// The summary rows computed from the documents: a `SELECT` of
/// [`Grain::columns`] over the sold documents of tenant `$1` and their
/// counted lines, where `cond` holds, each figure multiplied by `sign` (SQL,
/// e.g. `$3 * `; empty for 1).
fn aggregate(dialect: Dialect, grain: Grain, sign: &str, cond: &str) -> String {
    let month = month_of(dialect, "d.doc_date");
    let (join, keys, group) = match grain {
        Grain::Account => ("", "d.account_id, d.currency", "d.account_id, d.currency"),
        Grain::Category => (
            " LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id",
            "d.account_id, d.currency, COALESCE(p.category_id, 0) AS category_id",
            "d.account_id, d.currency, COALESCE(p.category_id, 0)",
        ),
        Grain::Product => {
            ("", "COALESCE(l.product_id, 0) AS product_id, d.currency", "COALESCE(l.product_id, 0), d.currency")
        }
    };
    let sum = |doc_type: &str, v: &str, name: &str| {
        format!("{sign}CAST(SUM(CASE WHEN d.doc_type = '{doc_type}' THEN {v} ELSE 0 END) AS BIGINT) AS {name}")
    };
    let documents = format!(
        "{sign}COUNT(DISTINCT CASE WHEN d.doc_type = 'invoice' THEN d.id END) AS invoices, \
         {sign}COUNT(DISTINCT CASE WHEN d.doc_type = 'credit_note' THEN d.id END) AS credit_notes"
    );
    let counts = match grain {
        Grain::Account | Grain::Category => documents,
        Grain::Product => format!(
            "{sign}CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN -l.quantity_e4 ELSE l.quantity_e4 END) AS BIGINT) \
             AS quantity_e4, {documents}"
        ),
    };
    format!(
        "SELECT d.tenant_id, {month} AS month, {keys}, {}, {}, {}, {}, {counts} \
         FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id{join} \
         WHERE d.tenant_id = $1 AND {SOLD} AND {COUNTED_LINES}{cond} \
         GROUP BY d.tenant_id, {month}, {group}",
        sum("invoice", "l.taxable_base_minor", SUMS[0]),
        sum("credit_note", "l.taxable_base_minor", SUMS[1]),
        sum("invoice", "COALESCE(l.cost_minor, 0)", SUMS[2]),
        sum("credit_note", "COALESCE(l.cost_minor, 0)", SUMS[3]),
    )
}

/// Adds the rows of `select` (an [`aggregate`]) to the summary of `grain`.
fn upsert(grain: Grain, select: &str) -> String {
    let table = grain.table();
    let set = SUMS
        .iter()
        .chain(grain.counts())
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({}) SELECT * FROM ({select}) x WHERE TRUE \
         ON CONFLICT (tenant_id, month, {}) DO UPDATE SET {set}",
        grain.columns(),
        grain.keys()
    )
}

/// Counts an invoice or credit note into the summaries (`sign` 1, when it is
/// issued) or out of them (−1, before it is voided), as its lines stand.
/// Rows left without documents (or lines) are removed. The caller holds the
/// document's lock and gives its account and date; a document not counted
/// as a sale adds nothing.
pub(crate) async fn record(
    tx: &mut Tx,
    tenant_id: i64,
    doc_key: i64,
    account_key: i64,
    date: Date,
    sign: i64,
) -> StoreResult<()> {
    let dialect = tx.dialect();
    for grain in GRAINS {
        let select = aggregate(dialect, grain, "$3 * ", " AND d.id = $2");
        tx.execute(upsert(grain, &select), args![tenant_id, doc_key, sign]).await?;
        if sign < 0 {
            let mut sql =
                format!("DELETE FROM {} WHERE tenant_id = $1 AND month = $2 AND {}", grain.table(), grain.empty());
            let mut a = args![tenant_id, month_start(date)];
            if grain != Grain::Product {
                and_where(&mut sql, &mut a, "account_id = $?", account_key);
            }
            tx.execute(sql, a).await?;
        }
    }
    Ok(())
}

/// Moves what a product's lines sold from its old category to its new one
/// (`None`: none) in the per-category summary: the rows of both categories
/// are summed again from the lines for every month, account and currency
/// where the product sold (a document's count in a category depends on its
/// other lines, so the figures cannot simply be moved). The caller has
/// changed the product in the same transaction.
pub(crate) async fn move_product(
    tx: &mut Tx,
    tenant_id: i64,
    product_key: i64,
    from: Option<i64>,
    to: Option<i64>,
) -> StoreResult<()> {
    if from == to {
        return Ok(());
    }
    let dialect = tx.dialect();
    let month = month_of(dialect, "d.doc_date");
    let sold = format!(
        "SELECT {month}, d.account_id, d.currency FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id \
         AND l.document_id = d.id WHERE d.tenant_id = $1 AND {SOLD} AND {COUNTED_LINES} AND l.product_id = $2"
    );
    let a = || args![tenant_id, product_key, from.unwrap_or(0), to.unwrap_or(0)];
    tx.execute(
        format!(
            "DELETE FROM sales_month_categories WHERE tenant_id = $1 AND category_id IN ($3, $4) \
             AND (month, account_id, currency) IN ({sold})"
        ),
        a(),
    )
    .await?;
    let cond =
        format!(" AND COALESCE(p.category_id, 0) IN ($3, $4) AND ({month}, d.account_id, d.currency) IN ({sold})");
    let select = aggregate(dialect, Grain::Category, "", &cond);
    tx.execute(format!("INSERT INTO sales_month_categories ({}) {select}", Grain::Category.columns()), a()).await?;
    Ok(())
}

/// Writes every summary of a tenant again from its documents.
pub async fn rebuild(tx: &mut Tx, tenant_id: i64) -> StoreResult<()> {
    let dialect = tx.dialect();
    for grain in GRAINS {
        tx.execute(format!("DELETE FROM {} WHERE tenant_id = $1", grain.table()), args![tenant_id]).await?;
        let select = aggregate(dialect, grain, "", "");
        tx.execute(format!("INSERT INTO {} ({}) {select}", grain.table(), grain.columns()), args![tenant_id]).await?;
    }
    Ok(())
}

/// How many rows of a tenant's summaries differ from a rebuild from its
/// documents (missing, extra or with other figures, counted on both sides):
/// 0 when the kept summaries are right.
pub async fn drift(tx: &mut Tx, tenant_id: i64) -> StoreResult<i64> {
    let dialect = tx.dialect();
    let mut n = 0;
    for grain in GRAINS {
        let want = aggregate(dialect, grain, "", "");
        let have = format!("SELECT {} FROM {} WHERE tenant_id = $1", grain.columns(), grain.table());
        for (a, b) in [(&want, &have), (&have, &want)] {
            n += tx.scalar_i64(format!("SELECT COUNT(*) AS v FROM ({a} EXCEPT {b}) x"), args![tenant_id]).await?;
        }
    }
    Ok(n)
}

/// A range of days, both included.
type Days = (Date, Date);

/// The first day of `d`'s month.
fn month_start(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

/// The first day of the month after `d`'s.
fn next_month(d: Date) -> Date {
    month_start(month_start(d) + Duration::days(32))
}

/// How a period is read: the first days of its first and last whole months
/// (from the summary), and the day ranges of the months it covers in part
/// (from the documents), each both days included. Together they cover every
/// day from `from` to `to` once.
pub(crate) fn split(from: Date, to: Date) -> (Option<Days>, Vec<Days>) {
    if from > to {
        return (None, vec![]);
    }
    let first = if from.day() == 1 { from } else { next_month(from) };
    let last = if next_month(to) - Duration::days(1) == to {
        month_start(to)
    } else {
        month_start(month_start(to) - Duration::days(1))
    };
    if first > last {
        return (None, vec![(from, to)]);
    }
    let mut parts = vec![];
    if from < first {
        parts.push((from, first - Duration::days(1)));
    }
    let end = next_month(last) - Duration::days(1);
    if end < to {
        parts.push((end + Duration::days(1), to));
    }
    (Some((first, last)), parts)
}

/// The summary rows of the period `from`..=`to` at `grain` (the columns of
/// [`Grain::columns`]: `tenant_id, month`, the grain's keys, the four
/// figures and the counts), restricted to the filter's currency, to the
/// caller's scope and the filter's account, owner and team, and at the
/// category grain to its category: a subquery for `FROM (…)`, with its
/// arguments, the tenant first (`$1`). Whole months are read from the
/// summary, the rest from the documents; at the product grain, whose
/// summary knows no accounts, a caller whose accounts are restricted gets
/// the whole period from the documents (of those accounts).
pub(crate) fn facts(
    dialect: Dialect,
    grain: Grain,
    tenant_id: i64,
    vis: Visibility,
    f: &ReportFilter,
    from: Date,
    to: Date,
) -> (String, Vec<Arg>) {
    debug_assert!(grain != Grain::Account || f.category_key.is_none(), "a category filter needs the categories");
    let by_account = grain != Grain::Product || Grain::products_serve(vis, f);
    let (whole, partial) = match by_account {
        true => split(from, to),
        false if from <= to => (None, vec![(from, to)]),
        false => (None, vec![]),
    };
    let mut a = args![tenant_id];
    let mut parts = vec![];
    // `accounts`: the rows have an account to restrict (every grain's
    // documents do; the product summary does not).
    let restrict = |sql: &mut String, a: &mut Vec<Arg>, prefix: &str, category: &str, accounts: bool| {
        if let Some(c) = f.currency {
            and_where(sql, a, &format!("{prefix}.currency = $?"), c.code());
        }
        if let (Grain::Category, Some(k)) = (grain, f.category_key) {
            and_where(sql, a, &format!("{category} = $?"), k);
        }
        if accounts {
            crate::reports::push_accounts(sql, a, &format!("{prefix}.account_id"), vis, f);
        }
    };
    if let Some((first, last)) = whole {
        let mut s = format!("SELECT {} FROM {} s WHERE s.tenant_id = $1", grain.columns(), grain.table());
        and_where(&mut s, &mut a, "s.month >= $?", first);
        and_where(&mut s, &mut a, "s.month <= $?", last);
        restrict(&mut s, &mut a, "s", "s.category_id", grain != Grain::Product);
        parts.push(s);
    }
    if !partial.is_empty() {
        let mut cond = String::new();
        for (i, (d0, d1)) in partial.iter().enumerate() {
            a.push((*d0).into());
            a.push((*d1).into());
            cond.push_str(if i == 0 { " AND ((" } else { " OR (" });
            cond.push_str(&format!("d.doc_date >= ${} AND d.doc_date <= ${})", a.len() - 1, a.len()));
        }
        cond.push(')');
        restrict(&mut cond, &mut a, "d", "p.category_id", true);
        parts.push(aggregate(dialect, grain, "", &cond));
    }
    if parts.is_empty() {
        parts.push(format!("SELECT {} FROM {} s WHERE s.tenant_id = $1 AND 1 = 0", grain.columns(), grain.table()));
    }
    (parts.join(" UNION ALL "), a)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::Month;

    use super::*;

    fn day(n: i64) -> Date {
        Date::from_calendar_date(2023, Month::January, 1).unwrap() + Duration::days(n)
    }

    proptest! {
        /// Whole months and partial ranges cover every day of the period
        /// once, and nothing outside it.
        #[test]
        fn a_period_is_read_once_per_day(a in 0i64..1500, len in 0i64..800) {
            let (from, to) = (day(a), day(a + len));
            let (whole, parts) = split(from, to);
            let mut d = from - Duration::days(40);
            while d <= to + Duration::days(40) {
                let in_whole = whole.is_some_and(|(f, l)| month_start(d) >= f && month_start(d) <= l);
                let in_parts = parts.iter().filter(|(x, y)| d >= *x && d <= *y).count();
                let times = usize::from(in_whole) + in_parts;
                prop_assert_eq!(times, usize::from(d >= from && d <= to), "day {} of {}..={}", d, from, to);
                d += Duration::days(1);
            }
            if let Some((f, l)) = whole {
                prop_assert!(f.day() == 1 && l.day() == 1 && f <= l);
            }
        }
    }

    #[test]
    fn whole_years_need_no_documents() {
        let (jan1, dec31) = (day(0), day(364));
        assert_eq!(split(jan1, dec31), (Some((jan1, day(334))), vec![]));
        // This year up to the 10th of March: January and February whole.
        let mar10 = day(31 + 28 + 9);
        assert_eq!(split(jan1, mar10), (Some((jan1, day(31))), vec![(day(31 + 28), mar10)]));
        // Within one month: all from the documents.
        assert_eq!(split(day(3), day(20)), (None, vec![(day(3), day(20))]));
        assert_eq!(split(day(5), day(4)), (None, vec![]));
    }
}
