-- WooCommerce intake (SQLite twin of postgres/0025_woocommerce.sql; ADR 0015).
-- A connection per store with its signing secret and tax mapping; one mapping
-- row per shop order (the invoice and payment made for it, the last
-- `date_modified_gmt` applied, so older deliveries change nothing); one row per
-- refund turned into a credit note; and the intake log, every signed delivery
-- with its raw body, status and reason, so a failed one can be retried.
CREATE TABLE woo_connections (
    tenant_id     BIGINT NOT NULL,
    id            BIGINT NOT NULL,
    public_id     BLOB NOT NULL,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    url           TEXT NOT NULL,
    -- The external-id system of the shop's customers and products (`woo.{name}`),
    -- and the source of every write the intake makes.
    system        TEXT NOT NULL,
    -- The webhook secret WooCommerce signs with; never shown back.
    secret        TEXT NOT NULL,
    warehouse_id  BIGINT,
    version       BIGINT NOT NULL,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT woo_connections_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT woo_connections_name_key UNIQUE (tenant_id, name_key),
    CONSTRAINT woo_connections_system_key UNIQUE (tenant_id, system),
    FOREIGN KEY (tenant_id, warehouse_id) REFERENCES warehouses (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX woo_connections_warehouse_idx ON woo_connections (tenant_id, warehouse_id);
-- The webhook URL names the connection alone (WooCommerce sends no tenant).
CREATE INDEX woo_connections_public_idx ON woo_connections (public_id);

-- A shop tax rate (its rate id or rate code) → a Nave tax.
CREATE TABLE woo_tax_map (
    tenant_id      BIGINT NOT NULL,
    connection_id  BIGINT NOT NULL,
    position       BIGINT NOT NULL,
    woo_rate       TEXT NOT NULL,
    tax_id         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, connection_id, position),
    CONSTRAINT woo_tax_map_rate_key UNIQUE (tenant_id, connection_id, woo_rate),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES woo_connections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tax_id) REFERENCES taxes (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX woo_tax_map_tax_idx ON woo_tax_map (tenant_id, tax_id);

CREATE TABLE woo_orders (
    tenant_id      BIGINT NOT NULL,
    id             BIGINT NOT NULL,
    connection_id  BIGINT NOT NULL,
    woo_order_id   TEXT NOT NULL,
    invoice_id     BIGINT,
    payment_id     BIGINT,
    -- The shop's status and `date_modified_gmt` of the last state applied.
    woo_status     TEXT NOT NULL,
    modified_at    DATETIME,
    deleted        BOOLEAN NOT NULL,
    updated_at     DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT woo_orders_order_key UNIQUE (tenant_id, connection_id, woo_order_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES woo_connections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT,
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX woo_orders_invoice_idx ON woo_orders (tenant_id, invoice_id);
CREATE INDEX woo_orders_payment_idx ON woo_orders (tenant_id, payment_id);

CREATE TABLE woo_refunds (
    tenant_id       BIGINT NOT NULL,
    order_id        BIGINT NOT NULL,
    woo_refund_id   TEXT NOT NULL,
    credit_note_id  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, woo_refund_id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES woo_orders (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, credit_note_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX woo_refunds_credit_note_idx ON woo_refunds (tenant_id, credit_note_id);

CREATE TABLE woo_intake (
    tenant_id      BIGINT NOT NULL,
    id             BIGINT NOT NULL,
    public_id      BLOB NOT NULL,
    connection_id  BIGINT NOT NULL,
    delivery_id    TEXT,
    topic          TEXT NOT NULL,
    woo_order_id   TEXT,
    body           TEXT NOT NULL,
    -- ok | failed | duplicate | ignored
    status         TEXT NOT NULL,
    reason         TEXT,
    attempts       BIGINT NOT NULL,
    invoice_id     BIGINT,
    received_at    DATETIME NOT NULL,
    processed_at   DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT woo_intake_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, connection_id) REFERENCES woo_connections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES documents (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX woo_intake_connection_idx ON woo_intake (tenant_id, connection_id, id);
CREATE INDEX woo_intake_invoice_idx ON woo_intake (tenant_id, invoice_id);
