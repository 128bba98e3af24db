-- Order to cash (SQLite twin of postgres/0016_order_to_cash.sql).
CREATE TABLE sequences (
    tenant_id   BIGINT NOT NULL,
    doc_type    TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    padding     BIGINT NOT NULL,
    yearly      BOOLEAN NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, doc_type)
);

CREATE TABLE sequence_counters (
    tenant_id   BIGINT NOT NULL,
    doc_type    TEXT NOT NULL,
    year        BIGINT NOT NULL,
    next_value  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, doc_type, year),
    FOREIGN KEY (tenant_id, doc_type) REFERENCES sequences (tenant_id, doc_type) ON DELETE CASCADE
);

CREATE TABLE documents (
    tenant_id               BIGINT NOT NULL,
    id                      BIGINT NOT NULL,
    public_id               BLOB NOT NULL,
    doc_type                TEXT NOT NULL,
    status                  TEXT NOT NULL,
    number                  TEXT,
    revision                BIGINT NOT NULL,
    account_id              BIGINT NOT NULL,
    account_name            TEXT NOT NULL,
    billing_address         TEXT,
    shipping_address        TEXT,
    currency                TEXT NOT NULL,
    doc_date                DATE NOT NULL,
    valid_until             DATE,
    due_date                DATE,
    payment_terms_id        BIGINT,
    price_list_id           BIGINT,
    warehouse_id            BIGINT,
    invoice_policy          TEXT,
    prices_include_tax      BOOLEAN NOT NULL,
    tax_rounding            TEXT NOT NULL,
    reference               TEXT,
    notes                   TEXT NOT NULL,
    origin_id               BIGINT,
    subtotal_minor          BIGINT NOT NULL,
    discount_minor          BIGINT NOT NULL,
    net_minor               BIGINT NOT NULL,
    shipping_minor          BIGINT NOT NULL,
    tax_minor               BIGINT NOT NULL,
    total_minor             BIGINT NOT NULL,
    settled_minor           BIGINT NOT NULL,
    balance_minor           BIGINT NOT NULL,
    credit_override_reason  TEXT,
    credit_override_by      BIGINT,
    issued_at               DATETIME,
    version                 BIGINT NOT NULL,
    created_at              DATETIME NOT NULL,
    updated_at              DATETIME NOT NULL,
    created_by              BIGINT,
    updated_by              BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT documents_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT documents_number_key UNIQUE (tenant_id, doc_type, number),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, payment_terms_id) REFERENCES payment_terms (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, price_list_id) REFERENCES price_lists (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, origin_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, credit_override_by) REFERENCES users (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX documents_account_idx ON documents (tenant_id, account_id, doc_type, id);
CREATE INDEX documents_type_status_idx ON documents (tenant_id, doc_type, status, id);
CREATE INDEX documents_type_date_idx ON documents (tenant_id, doc_type, doc_date);
CREATE INDEX documents_due_idx ON documents (tenant_id, doc_type, due_date);
CREATE INDEX documents_origin_idx ON documents (tenant_id, origin_id);
CREATE INDEX documents_payment_terms_idx ON documents (tenant_id, payment_terms_id);
CREATE INDEX documents_price_list_idx ON documents (tenant_id, price_list_id);
CREATE INDEX documents_warehouse_idx ON documents (tenant_id, warehouse_id);
CREATE INDEX documents_override_idx ON documents (tenant_id, credit_override_by);

CREATE TABLE document_revisions (
    tenant_id    BIGINT NOT NULL,
    document_id  BIGINT NOT NULL,
    revision     BIGINT NOT NULL,
    snapshot     TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    created_by   BIGINT,
    PRIMARY KEY (tenant_id, document_id, revision),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE document_groups (
    tenant_id            BIGINT NOT NULL,
    id                   BIGINT NOT NULL,
    public_id            BLOB NOT NULL,
    document_id          BIGINT NOT NULL,
    position             BIGINT NOT NULL,
    name                 TEXT NOT NULL,
    discount_percent_e4  BIGINT NOT NULL,
    show_subtotal        BOOLEAN NOT NULL,
    net_minor            BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT document_groups_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX document_groups_document_idx ON document_groups (tenant_id, document_id, position);

CREATE TABLE document_lines (
    tenant_id              BIGINT NOT NULL,
    id                     BIGINT NOT NULL,
    public_id              BLOB NOT NULL,
    document_id            BIGINT NOT NULL,
    group_id               BIGINT NOT NULL,
    position               BIGINT NOT NULL,
    kind                   TEXT NOT NULL,
    product_id             BIGINT,
    sku                    TEXT,
    description            TEXT NOT NULL,
    unit                   TEXT NOT NULL,
    quantity_e4            BIGINT NOT NULL,
    unit_price_e4          BIGINT NOT NULL,
    discount_percent_e4    BIGINT NOT NULL,
    discount_amount_minor  BIGINT NOT NULL,
    gross_minor            BIGINT NOT NULL,
    discount_minor         BIGINT NOT NULL,
    net_minor              BIGINT NOT NULL,
    taxable_base_minor     BIGINT NOT NULL,
    tax_minor              BIGINT NOT NULL,
    origin_line_id         BIGINT,
    qty_reserved_e4        BIGINT NOT NULL,
    qty_shipped_e4         BIGINT NOT NULL,
    qty_invoiced_e4        BIGINT NOT NULL,
    qty_credited_e4        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT document_lines_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES document_groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, origin_line_id) REFERENCES document_lines (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX document_lines_document_idx ON document_lines (tenant_id, document_id, position);
CREATE INDEX document_lines_group_idx ON document_lines (tenant_id, group_id);
CREATE INDEX document_lines_product_idx ON document_lines (tenant_id, product_id);
CREATE INDEX document_lines_origin_idx ON document_lines (tenant_id, origin_line_id);

CREATE TABLE document_line_taxes (
    tenant_id     BIGINT NOT NULL,
    line_id       BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    tax_id        BIGINT NOT NULL,
    name          TEXT NOT NULL,
    rate_e4       BIGINT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, line_id, position),
    FOREIGN KEY (tenant_id, line_id) REFERENCES document_lines (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tax_id) REFERENCES taxes (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX document_line_taxes_tax_idx ON document_line_taxes (tenant_id, tax_id);

CREATE TABLE document_taxes (
    tenant_id     BIGINT NOT NULL,
    document_id   BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    tax_id        BIGINT NOT NULL,
    name          TEXT NOT NULL,
    rate_e4       BIGINT NOT NULL,
    base_minor    BIGINT NOT NULL,
    amount_minor  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, document_id, position),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tax_id) REFERENCES taxes (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX document_taxes_tax_idx ON document_taxes (tenant_id, tax_id);

CREATE TABLE document_due_dates (
    tenant_id     BIGINT NOT NULL,
    document_id   BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    due_date      DATE NOT NULL,
    amount_minor  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, document_id, position),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE stock_reservations (
    tenant_id     BIGINT NOT NULL,
    line_id       BIGINT NOT NULL,
    product_id    BIGINT NOT NULL,
    warehouse_id  BIGINT NOT NULL,
    quantity_e4   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, line_id, product_id),
    FOREIGN KEY (tenant_id, line_id) REFERENCES document_lines (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX stock_reservations_product_idx ON stock_reservations (tenant_id, product_id, warehouse_id);
CREATE INDEX stock_reservations_warehouse_idx ON stock_reservations (tenant_id, warehouse_id);

CREATE TABLE shipments (
    tenant_id          BIGINT NOT NULL,
    id                 BIGINT NOT NULL,
    public_id          BLOB NOT NULL,
    number             TEXT,
    sales_order_id     BIGINT NOT NULL,
    warehouse_id       BIGINT NOT NULL,
    status             TEXT NOT NULL,
    carrier            TEXT,
    tracking_number    TEXT,
    ship_date          DATE,
    stock_document_id  BIGINT,
    notes              TEXT NOT NULL,
    version            BIGINT NOT NULL,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL,
    created_by         BIGINT,
    updated_by         BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT shipments_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT shipments_number_key UNIQUE (tenant_id, number),
    FOREIGN KEY (tenant_id, sales_order_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, stock_document_id) REFERENCES stock_documents (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX shipments_order_idx ON shipments (tenant_id, sales_order_id);
CREATE INDEX shipments_warehouse_idx ON shipments (tenant_id, warehouse_id, status, id);
CREATE INDEX shipments_stock_document_idx ON shipments (tenant_id, stock_document_id);
CREATE INDEX shipments_status_idx ON shipments (tenant_id, status, id);

CREATE TABLE shipment_lines (
    tenant_id      BIGINT NOT NULL,
    id             BIGINT NOT NULL,
    shipment_id    BIGINT NOT NULL,
    position       BIGINT NOT NULL,
    order_line_id  BIGINT NOT NULL,
    product_id     BIGINT NOT NULL,
    quantity_e4    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, shipment_id) REFERENCES shipments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, order_line_id) REFERENCES document_lines (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX shipment_lines_shipment_idx ON shipment_lines (tenant_id, shipment_id, position);
CREATE INDEX shipment_lines_order_line_idx ON shipment_lines (tenant_id, order_line_id);
CREATE INDEX shipment_lines_product_idx ON shipment_lines (tenant_id, product_id);

CREATE TABLE payments (
    tenant_id        BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    public_id        BLOB NOT NULL,
    direction        TEXT NOT NULL,
    account_id       BIGINT NOT NULL,
    amount_minor     BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    payment_date     DATE NOT NULL,
    method           TEXT NOT NULL,
    reference        TEXT,
    notes            TEXT NOT NULL,
    allocated_minor  BIGINT NOT NULL,
    status           TEXT NOT NULL,
    version          BIGINT NOT NULL,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL,
    created_by       BIGINT,
    updated_by       BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT payments_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX payments_account_idx ON payments (tenant_id, account_id, id);
CREATE INDEX payments_date_idx ON payments (tenant_id, direction, payment_date);

CREATE TABLE allocations (
    tenant_id       BIGINT NOT NULL,
    id              BIGINT NOT NULL,
    payment_id      BIGINT,
    credit_note_id  BIGINT,
    invoice_id      BIGINT NOT NULL,
    amount_minor    BIGINT NOT NULL,
    allocated_on    DATE NOT NULL,
    created_at      DATETIME NOT NULL,
    created_by      BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX allocations_payment_idx ON allocations (tenant_id, payment_id);
CREATE INDEX allocations_credit_note_idx ON allocations (tenant_id, credit_note_id);
CREATE INDEX allocations_invoice_idx ON allocations (tenant_id, invoice_id);

CREATE TABLE subscriptions (
    tenant_id           BIGINT NOT NULL,
    id                  BIGINT NOT NULL,
    public_id           BLOB NOT NULL,
    account_id          BIGINT NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL,
    period              TEXT NOT NULL,
    start_date          DATE NOT NULL,
    end_date            DATE,
    next_run            DATE,
    currency            TEXT NOT NULL,
    payment_terms_id    BIGINT,
    prices_include_tax  BOOLEAN NOT NULL,
    notes               TEXT NOT NULL,
    version             BIGINT NOT NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
    created_by          BIGINT,
    updated_by          BIGINT,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT subscriptions_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, payment_terms_id) REFERENCES payment_terms (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX subscriptions_account_idx ON subscriptions (tenant_id, account_id, id);
CREATE INDEX subscriptions_due_idx ON subscriptions (tenant_id, status, next_run);
CREATE INDEX subscriptions_payment_terms_idx ON subscriptions (tenant_id, payment_terms_id);

CREATE TABLE subscription_lines (
    tenant_id            BIGINT NOT NULL,
    id                   BIGINT NOT NULL,
    subscription_id      BIGINT NOT NULL,
    position             BIGINT NOT NULL,
    product_id           BIGINT,
    description          TEXT NOT NULL,
    quantity_e4          BIGINT NOT NULL,
    unit_price_e4        BIGINT NOT NULL,
    discount_percent_e4  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX subscription_lines_subscription_idx ON subscription_lines (tenant_id, subscription_id, position);
CREATE INDEX subscription_lines_product_idx ON subscription_lines (tenant_id, product_id);

CREATE TABLE subscription_runs (
    tenant_id        BIGINT NOT NULL,
    subscription_id  BIGINT NOT NULL,
    period_start     DATE NOT NULL,
    invoice_id       BIGINT NOT NULL,
    created_at       DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, subscription_id, period_start),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX subscription_runs_invoice_idx ON subscription_runs (tenant_id, invoice_id);
