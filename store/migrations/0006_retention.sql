-- 0006_retention: indexes for removing operational rows past their keep time (store/retention.c):
-- delivered outbox rows by delivery time, finished timers by the time they finished. The inbox
-- has none on purpose: it is written by every message, an index would cost each one, and it only
-- holds retention.inbox of traffic, so its pruning reads it whole. The case history (cases,
-- case_events) and the ledger are never removed.
CREATE INDEX outbox_delivered ON outbox(delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX timers_finished ON timers(coalesce(fired_at, cancelled_at))
    WHERE fired_at IS NOT NULL OR cancelled_at IS NOT NULL;
