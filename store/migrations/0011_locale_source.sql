-- 0011_locale_source: where the conversation's language came from (docs/contract.md 6.3):
-- 0 the message's locale field or an earlier language, 1 read from the text of the message that
-- started the conversation, 2 chosen by the resident with a language word. A chosen language
-- wins over the other two; a read one is kept for the conversation.
ALTER TABLE conversations ADD COLUMN locale_source INTEGER NOT NULL DEFAULT 0;
-- Whether the place question showed its menu of villages and grids (after a failed answer), so
-- an ordinal (the first one) is read against that menu only when the resident saw it.
ALTER TABLE conversations ADD COLUMN place_menu INTEGER NOT NULL DEFAULT 0;
