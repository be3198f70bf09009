-- 0004_mediator_open: each mediator's number of open cases, kept by triggers.
-- Routing asks it for every candidate mediator of every new case (store_mediator_load); counting
-- the cases_mediator_open index made that cost grow with the mediator's open load (thousands of
-- index steps for a busy town office). Open is any status but resolved, closed and cancelled.
CREATE TABLE mediator_open (
    mediator_id TEXT PRIMARY KEY,
    open_cases  INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT INTO mediator_open (mediator_id, open_cases)
SELECT mediator_id, count(*) FROM cases
WHERE mediator_id IS NOT NULL AND status NOT IN ('resolved', 'closed', 'cancelled')
GROUP BY mediator_id;

CREATE TRIGGER cases_open_insert AFTER INSERT ON cases
WHEN NEW.mediator_id IS NOT NULL AND NEW.status NOT IN ('resolved', 'closed', 'cancelled')
BEGIN
    INSERT INTO mediator_open (mediator_id, open_cases) VALUES (NEW.mediator_id, 1)
    ON CONFLICT (mediator_id) DO UPDATE SET open_cases = open_cases + 1;
END;

-- An update that leaves the mediator and the case's openness as they were changes nothing here.
CREATE TRIGGER cases_open_leave AFTER UPDATE OF mediator_id, status ON cases
WHEN OLD.mediator_id IS NOT NULL AND OLD.status NOT IN ('resolved', 'closed', 'cancelled')
     AND (NEW.mediator_id IS NOT OLD.mediator_id
          OR NEW.status IN ('resolved', 'closed', 'cancelled'))
BEGIN
    UPDATE mediator_open SET open_cases = open_cases - 1 WHERE mediator_id = OLD.mediator_id;
END;

CREATE TRIGGER cases_open_enter AFTER UPDATE OF mediator_id, status ON cases
WHEN NEW.mediator_id IS NOT NULL AND NEW.status NOT IN ('resolved', 'closed', 'cancelled')
     AND (NEW.mediator_id IS NOT OLD.mediator_id
          OR OLD.status IN ('resolved', 'closed', 'cancelled'))
BEGIN
    INSERT INTO mediator_open (mediator_id, open_cases) VALUES (NEW.mediator_id, 1)
    ON CONFLICT (mediator_id) DO UPDATE SET open_cases = open_cases + 1;
END;

CREATE TRIGGER cases_open_delete AFTER DELETE ON cases
WHEN OLD.mediator_id IS NOT NULL AND OLD.status NOT IN ('resolved', 'closed', 'cancelled')
BEGIN
    UPDATE mediator_open SET open_cases = open_cases - 1 WHERE mediator_id = OLD.mediator_id;
END;
