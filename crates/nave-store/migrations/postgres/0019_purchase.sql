-- The purchase side (PostgreSQL; SQLite twin in sqlite/0019_purchase.sql). Purchase orders, receipts, bills and bill
-- credits are new doc_type values of the documents table (ADR 0011), with
-- the same groups, lines, taxes and per-line quantity ledger; payments sent
-- are payments with direction 'sent', allocated to bills like payments
-- received to invoices. Only what has no home yet is added here.

-- Receipts: company-currency units per unit of the document currency, at
-- 1/100,000,000 (null when the document is in the company currency).
ALTER TABLE documents ADD COLUMN exchange_rate_e8 BIGINT;

-- Purchase-order lines: the supplier's own code for the product (a snapshot
-- from the product's supplier list).
ALTER TABLE document_lines ADD COLUMN supplier_code TEXT;

-- Invoice lines: the cost of goods sold recorded when the invoice is issued,
-- in minor units of the company currency (null before issue and on lines
-- without a product).
ALTER TABLE document_lines ADD COLUMN cost_minor BIGINT;

-- A supplier's invoice (or credit) number, kept in reference, is used once
-- per supplier; a void one frees it.
CREATE UNIQUE INDEX documents_supplier_number_key ON documents (tenant_id, account_id, doc_type, reference)
    WHERE doc_type IN ('bill', 'bill_credit') AND status <> 'void';

-- Reorder points: below this available quantity in the warehouse, the
-- product is suggested for a purchase order.
CREATE TABLE stock_minimums (
    tenant_id         BIGINT NOT NULL,
    product_id        BIGINT NOT NULL,
    warehouse_id      BIGINT NOT NULL,
    min_quantity_e4   BIGINT NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, product_id, warehouse_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX stock_minimums_warehouse_idx ON stock_minimums (tenant_id, warehouse_id);
