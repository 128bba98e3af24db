-- What a kit is made of, and who supplies a product (SQLite twin of postgres/0006_product_parts.sql).
CREATE TABLE product_components (
    tenant_id     BIGINT NOT NULL,
    kit_id        BIGINT NOT NULL,
    component_id  BIGINT NOT NULL,
    quantity_e4   BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kit_id, component_id),
    FOREIGN KEY (tenant_id, kit_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, component_id) REFERENCES products (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX product_components_component_idx ON product_components (tenant_id, component_id);

CREATE TABLE product_suppliers (
    tenant_id       BIGINT NOT NULL,
    product_id      BIGINT NOT NULL,
    supplier_id     BIGINT NOT NULL,
    supplier_code   TEXT,
    cost_e4         BIGINT NOT NULL,
    lead_time_days  BIGINT NOT NULL,
    min_quantity_e4 BIGINT NOT NULL,
    preferred       BOOLEAN NOT NULL,
    position        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, product_id, supplier_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, supplier_id) REFERENCES accounts (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX product_suppliers_supplier_idx ON product_suppliers (tenant_id, supplier_id);
