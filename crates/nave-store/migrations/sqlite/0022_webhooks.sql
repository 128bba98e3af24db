-- SQLite twin of postgres/0022_webhooks.sql.
-- Webhooks (Standard Webhooks): subscriptions, and one delivery row per event
-- sent to a subscription. The delivery worker reads the event log after each
-- subscription's `cursor`, writes deliveries, and sends them in order per record
-- (ADR 0013). Everything the worker knows is here, so a restart loses nothing.
CREATE TABLE webhook_subscriptions (
    tenant_id             BIGINT NOT NULL,
    id                    BIGINT NOT NULL,
    public_id             BLOB NOT NULL,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL,
    -- Comma-separated event types or record types (`invoice.created,account`); empty = every event.
    event_types           TEXT NOT NULL,
    -- `whsec_` + base64; the previous secret signs too until `previous_secret_until`.
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until DATETIME,
    active                BOOLEAN NOT NULL,
    -- The connector's system: events whose source is this system are not sent back to it.
    source_system         TEXT,
    owner_id              BIGINT NOT NULL,
    -- The last event position turned into deliveries (or skipped by the filters).
    event_cursor          BIGINT NOT NULL,
    consecutive_failures  BIGINT NOT NULL,
    failing_since         DATETIME,
    last_success_at       DATETIME,
    disabled_at           DATETIME,
    disabled_reason       TEXT,
    version               BIGINT NOT NULL,
    created_at            DATETIME NOT NULL,
    updated_at            DATETIME NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_subscriptions_public_id_key UNIQUE (tenant_id, public_id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX webhook_subscriptions_owner_idx ON webhook_subscriptions (tenant_id, owner_id);

CREATE TABLE webhook_deliveries (
    tenant_id        BIGINT NOT NULL,
    id               BIGINT NOT NULL,
    public_id        BLOB NOT NULL,
    subscription_id  BIGINT NOT NULL,
    event_position   BIGINT NOT NULL,
    -- The event's id: the `webhook-id` of every attempt.
    event_id         BLOB NOT NULL,
    event_type       TEXT NOT NULL,
    record_id        BLOB NOT NULL,
    occurred_at      DATETIME NOT NULL,
    -- pending | succeeded | failed
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    -- When a pending delivery is due (also a lease while it is being sent).
    next_attempt_at  DATETIME,
    last_attempt_at  DATETIME,
    response_status  BIGINT,
    last_error       TEXT,
    created_at       DATETIME NOT NULL,
    completed_at     DATETIME,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT webhook_deliveries_public_id_key UNIQUE (tenant_id, public_id),
    CONSTRAINT webhook_deliveries_event_key UNIQUE (tenant_id, subscription_id, event_position),
    FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE
);
-- The worker's scan: a subscription's pending deliveries in event order.
CREATE INDEX webhook_deliveries_status_idx ON webhook_deliveries (tenant_id, subscription_id, status, event_position);
-- Replay of a period, and the change feed's `since`/`until`.
CREATE INDEX webhook_deliveries_time_idx ON webhook_deliveries (tenant_id, subscription_id, occurred_at);
CREATE INDEX events_time_idx ON events (tenant_id, occurred_at);
