-- Indexes for the reports (nave_store::reports, issue 8): each report is one
-- aggregation that these let the engine answer from an index alone, instead
-- of summary tables that would have to be kept in step with the documents.

-- Net sales by account and year, top customers: the sold documents of a
-- period with everything the sums need.
CREATE INDEX documents_sales_idx ON documents (tenant_id, doc_type, doc_date, status, account_id, currency, net_minor);

-- Sales by category and by product: a document's lines with their product,
-- kind and stored amounts.
CREATE INDEX document_lines_sales_idx ON document_lines (tenant_id, document_id, kind, product_id, taxable_base_minor, quantity_e4);

-- Receivables aging at a date and days to pay: an invoice's allocations by date.
CREATE INDEX allocations_invoice_date_idx ON allocations (tenant_id, invoice_id, allocated_on, amount_minor);
-- Invoices paid after a date (aging in the past).
CREATE INDEX allocations_date_idx ON allocations (tenant_id, allocated_on, invoice_id);

-- Service: cases opened or closed in a period.
CREATE INDEX cases_created_idx ON cases (tenant_id, created_at);
CREATE INDEX cases_closed_idx ON cases (tenant_id, closed_at);

-- Pipeline against won: opportunities closed in a period.
CREATE INDEX opportunities_closed_idx ON opportunities (tenant_id, closed_at);
