-- 0006_retention: indexes for removing operational rows past their keep time (store/retention.c):
-- inbox answers by age, delivered outbox rows by delivery time, finished timers by the time they
-- finished. The case history (cases, case_events) and the ledger are never removed.
CREATE INDEX inbox_at ON inbox(at);
CREATE INDEX outbox_delivered ON outbox(delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX timers_finished ON timers(coalesce(fired_at, cancelled_at))
    WHERE fired_at IS NOT NULL OR cancelled_at IS NOT NULL;
