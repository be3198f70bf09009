-- 0002_wecom: state of the WeCom channel (issue 3).
-- The customer-service (微信客服) window per external user: WeCom lets the account send at most
-- 5 messages within 48 h of the customer's last message (PROTOCOL.md 7.6). last_in is the time
-- of the customer's last message, sent_since the messages we queued since; blocked_* records
-- why a message was not sent. Written by the core in the same transaction as the messages'
-- effects. The kf/sync_msg cursor and a pending doorbell token live in kv
-- ("wecom_kf_cursor:<open_kfid>", "wecom_kf_bell"); dedupe keys in inbox (scope "wecom:...").
CREATE TABLE wecom_kf_users (
    external_userid  TEXT PRIMARY KEY,
    last_in          INTEGER NOT NULL DEFAULT 0,
    sent_since       INTEGER NOT NULL DEFAULT 0,
    blocked_reason   TEXT,
    blocked_at       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
