-- Connectors and CSV sync (postgres twin of sqlite/0026_document_external_ids.sql).
--
-- Invoices (any commercial document) and payments get ids in other systems,
-- exactly like products, accounts and contacts: one row per system, and a
-- tenant-leading unique key so an id names one record.
CREATE TABLE document_external_ids (
    tenant_id    BIGINT NOT NULL,
    document_id  BIGINT NOT NULL,
    system       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, document_id, system),
    CONSTRAINT document_external_ids_system_key UNIQUE (tenant_id, system, external_id),
    FOREIGN KEY (tenant_id, document_id) REFERENCES documents (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE payment_external_ids (
    tenant_id    BIGINT NOT NULL,
    payment_id   BIGINT NOT NULL,
    system       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, payment_id, system),
    CONSTRAINT payment_external_ids_system_key UNIQUE (tenant_id, system, external_id),
    FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, id) ON DELETE CASCADE
);

-- Connector-platform REST hooks (ADR 0016) are webhook subscriptions of kind
-- 'rest_hook': same worker, retries and delivery log; the body is the record
-- as a flat object, and a 410 Gone deletes the subscription. 'webhook' is a
-- Standard Webhooks subscription as before.
ALTER TABLE webhook_subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
