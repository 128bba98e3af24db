-- Sales summaries for the reports (issue 8; ADR 0019); the postgres twin of
-- sqlite/0027_sales_summaries.sql. The sales reports read these instead of
-- every invoice line of their period. All are kept by
-- `nave_store::sales_summary` in the transaction that issues or voids an
-- invoice or credit note (and changes a product's category), and can
-- be rebuilt from the documents at any time; a test proves both ways agree.
--
-- Figures are those of the reports: per invoice or credit note counted as a
-- sale (issued, part paid, paid, applied), its lines other than shipping and
-- comments, by document month: net (`taxable_base_minor`) and cost of goods
-- (`cost_minor`), invoices and credit notes apart.

-- Per month, account and currency, with how many invoices and credit notes.
CREATE TABLE sales_months (
    tenant_id            BIGINT NOT NULL,
    month                DATE NOT NULL,
    account_id           BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    invoiced_minor       BIGINT NOT NULL DEFAULT 0,
    credited_minor       BIGINT NOT NULL DEFAULT 0,
    cost_invoiced_minor  BIGINT NOT NULL DEFAULT 0,
    cost_returned_minor  BIGINT NOT NULL DEFAULT 0,
    invoices             BIGINT NOT NULL DEFAULT 0,
    credit_notes         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month, account_id, currency)
);
CREATE INDEX sales_months_account_idx ON sales_months (tenant_id, account_id, month);

-- Per month, account, currency and product category (0: lines without a
-- product or a category), with how many invoices and credit notes have lines
-- in the category.
CREATE TABLE sales_month_categories (
    tenant_id            BIGINT NOT NULL,
    month                DATE NOT NULL,
    account_id           BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    category_id          BIGINT NOT NULL,
    invoiced_minor       BIGINT NOT NULL DEFAULT 0,
    credited_minor       BIGINT NOT NULL DEFAULT 0,
    cost_invoiced_minor  BIGINT NOT NULL DEFAULT 0,
    cost_returned_minor  BIGINT NOT NULL DEFAULT 0,
    invoices             BIGINT NOT NULL DEFAULT 0,
    credit_notes         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month, account_id, currency, category_id)
);
CREATE INDEX sales_month_categories_account_idx ON sales_month_categories (tenant_id, account_id, month);

-- Per month, product (0: lines without one) and currency, with the quantity
-- (invoiced less credited) and how many invoices and credit notes.
CREATE TABLE sales_month_products (
    tenant_id            BIGINT NOT NULL,
    month                DATE NOT NULL,
    product_id           BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    invoiced_minor       BIGINT NOT NULL DEFAULT 0,
    credited_minor       BIGINT NOT NULL DEFAULT 0,
    cost_invoiced_minor  BIGINT NOT NULL DEFAULT 0,
    cost_returned_minor  BIGINT NOT NULL DEFAULT 0,
    quantity_e4          BIGINT NOT NULL DEFAULT 0,
    invoices             BIGINT NOT NULL DEFAULT 0,
    credit_notes         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, month, product_id, currency)
);

-- What is already there.
INSERT INTO sales_months (tenant_id, month, account_id, currency, invoiced_minor, credited_minor,
    cost_invoiced_minor, cost_returned_minor, invoices, credit_notes)
SELECT d.tenant_id, CAST(date_trunc('month', d.doc_date) AS DATE), d.account_id, d.currency,
    CAST(SUM(CASE WHEN d.doc_type = 'invoice' THEN l.taxable_base_minor ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN l.taxable_base_minor ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'invoice' THEN COALESCE(l.cost_minor, 0) ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN COALESCE(l.cost_minor, 0) ELSE 0 END) AS BIGINT),
    COUNT(DISTINCT CASE WHEN d.doc_type = 'invoice' THEN d.id END),
    COUNT(DISTINCT CASE WHEN d.doc_type = 'credit_note' THEN d.id END)
FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id
WHERE d.doc_type IN ('invoice', 'credit_note') AND d.status IN ('issued', 'part_paid', 'paid', 'applied')
    AND l.kind NOT IN ('shipping', 'comment')
GROUP BY d.tenant_id, date_trunc('month', d.doc_date), d.account_id, d.currency;

INSERT INTO sales_month_categories (tenant_id, month, account_id, currency, category_id, invoiced_minor,
    credited_minor, cost_invoiced_minor, cost_returned_minor, invoices, credit_notes)
SELECT d.tenant_id, CAST(date_trunc('month', d.doc_date) AS DATE), d.account_id, d.currency, COALESCE(p.category_id, 0),
    CAST(SUM(CASE WHEN d.doc_type = 'invoice' THEN l.taxable_base_minor ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN l.taxable_base_minor ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'invoice' THEN COALESCE(l.cost_minor, 0) ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN COALESCE(l.cost_minor, 0) ELSE 0 END) AS BIGINT),
    COUNT(DISTINCT CASE WHEN d.doc_type = 'invoice' THEN d.id END),
    COUNT(DISTINCT CASE WHEN d.doc_type = 'credit_note' THEN d.id END)
FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id
LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
WHERE d.doc_type IN ('invoice', 'credit_note') AND d.status IN ('issued', 'part_paid', 'paid', 'applied')
    AND l.kind NOT IN ('shipping', 'comment')
GROUP BY d.tenant_id, date_trunc('month', d.doc_date), d.account_id, d.currency, COALESCE(p.category_id, 0);

INSERT INTO sales_month_products (tenant_id, month, product_id, currency, invoiced_minor, credited_minor,
    cost_invoiced_minor, cost_returned_minor, quantity_e4, invoices, credit_notes)
SELECT d.tenant_id, CAST(date_trunc('month', d.doc_date) AS DATE), COALESCE(l.product_id, 0), d.currency,
    CAST(SUM(CASE WHEN d.doc_type = 'invoice' THEN l.taxable_base_minor ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN l.taxable_base_minor ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'invoice' THEN COALESCE(l.cost_minor, 0) ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN COALESCE(l.cost_minor, 0) ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN -l.quantity_e4 ELSE l.quantity_e4 END) AS BIGINT),
    COUNT(DISTINCT CASE WHEN d.doc_type = 'invoice' THEN d.id END),
    COUNT(DISTINCT CASE WHEN d.doc_type = 'credit_note' THEN d.id END)
FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id
WHERE d.doc_type IN ('invoice', 'credit_note') AND d.status IN ('issued', 'part_paid', 'paid', 'applied')
    AND l.kind NOT IN ('shipping', 'comment')
GROUP BY d.tenant_id, date_trunc('month', d.doc_date), COALESCE(l.product_id, 0), d.currency;
