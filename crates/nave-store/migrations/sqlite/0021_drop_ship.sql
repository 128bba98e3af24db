-- Drop shipping (SQLite twin of postgres/0021_drop_ship.sql).
-- A quote or sales-order line marked drop_ship is not shipped from a
-- warehouse: confirming the order makes purchase orders to the product's
-- supplier, delivered to the customer, and receiving them ships the line.

ALTER TABLE document_lines ADD COLUMN drop_ship BOOLEAN NOT NULL DEFAULT FALSE;

-- Which sales-order line each drop-ship purchase-order line delivers. A
-- sales-order line may have several (an order cancelled and made again);
-- a purchase-order line serves one.
CREATE TABLE drop_ship_lines (
    tenant_id          BIGINT NOT NULL,
    purchase_line_id   BIGINT NOT NULL,
    sales_line_id      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, purchase_line_id),
    FOREIGN KEY (tenant_id, purchase_line_id) REFERENCES document_lines (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sales_line_id) REFERENCES document_lines (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX drop_ship_lines_sales_idx ON drop_ship_lines (tenant_id, sales_line_id);
