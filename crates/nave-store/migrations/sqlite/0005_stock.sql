-- The stock ledger (SQLite twin of postgres/0005_stock.sql): immutable movements, per-warehouse levels and per-product
-- valuation kept in the same transaction as the movements, and the
-- adjustment and transfer documents that post them.
-- Quantities: 1/10,000 of a unit (_e4). Values and unit costs: minor units
-- of the company currency at 1/10,000 (_e4m).
CREATE TABLE stock_levels (
    tenant_id     BIGINT NOT NULL,
    product_id    BIGINT NOT NULL,
    warehouse_id  BIGINT NOT NULL,
    on_hand_e4    BIGINT NOT NULL,
    reserved_e4   BIGINT NOT NULL,
    updated_at    DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, product_id, warehouse_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX stock_levels_warehouse_idx ON stock_levels (tenant_id, warehouse_id);

CREATE TABLE stock_valuations (
    tenant_id           BIGINT NOT NULL,
    product_id          BIGINT NOT NULL,
    quantity_e4         BIGINT NOT NULL,
    value_e4m           BIGINT NOT NULL,
    last_unit_cost_e4m  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT
);

CREATE TABLE stock_documents (
    tenant_id          BIGINT NOT NULL,
    id                 BIGINT NOT NULL,
    public_id          BLOB NOT NULL,
    kind               TEXT NOT NULL,
    warehouse_id       BIGINT NOT NULL,
    to_warehouse_id    BIGINT,
    reason             TEXT NOT NULL,
    created_at         DATETIME NOT NULL,
    created_by         BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT stock_documents_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, to_warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX stock_documents_warehouse_idx ON stock_documents (tenant_id, warehouse_id);
CREATE INDEX stock_documents_to_warehouse_idx ON stock_documents (tenant_id, to_warehouse_id);

CREATE TABLE stock_movements (
    tenant_id      BIGINT NOT NULL,
    id             BIGINT NOT NULL,
    public_id      BLOB NOT NULL,
    product_id     BIGINT NOT NULL,
    warehouse_id   BIGINT NOT NULL,
    quantity_e4    BIGINT NOT NULL,
    unit_cost_e4m  BIGINT NOT NULL,
    value_e4m      BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    document_id    BIGINT,
    occurred_at    DATETIME NOT NULL,
    created_by     BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT stock_movements_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, document_id) REFERENCES stock_documents (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX stock_movements_product_idx ON stock_movements (tenant_id, product_id, warehouse_id, occurred_at);
CREATE INDEX stock_movements_warehouse_idx ON stock_movements (tenant_id, warehouse_id);
CREATE INDEX stock_movements_document_idx ON stock_movements (tenant_id, document_id);
