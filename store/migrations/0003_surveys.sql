-- 0003_surveys: the follow-up surveys (回访) and relapse checks of CONTRACT 8.
-- One row per question asked after a resolution: kind 'satisfaction' (answers 1-4 and an
-- optional comment) or 'relapse' (1 yes / 2 no). UNIQUE (case_id, kind, resolved_at) makes
-- "one survey per resolution" a constraint: a reopened case that is resolved again has a new
-- resolved_at and so gets a new survey.
CREATE TABLE surveys (
    id             INTEGER PRIMARY KEY,
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    kind           TEXT NOT NULL,                -- satisfaction relapse
    resolved_at    INTEGER NOT NULL,             -- the resolution this survey follows
    via            TEXT NOT NULL,                -- chat mqtt wecom_kf task
    status         TEXT NOT NULL,                -- scheduled sent asked comment answered no_response cancelled
    answer         INTEGER NOT NULL DEFAULT 0,   -- satisfaction 1..4; relapse 1 yes, 2 no; 0 none
    comment        TEXT,
    answered_by    TEXT,                         -- 'resident' or a mediator id
    task_mediator  TEXT,                         -- the grid worker given the 回访 task
    new_case       INTEGER NOT NULL DEFAULT 0,   -- relapse: id of the case opened
    reminded       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    sent_at        INTEGER NOT NULL DEFAULT 0,
    answered_at    INTEGER NOT NULL DEFAULT 0,
    closed_at      INTEGER NOT NULL DEFAULT 0,   -- when it became answered, no_response or cancelled
    UNIQUE (case_id, kind, resolved_at)
);
CREATE INDEX surveys_closed ON surveys(closed_at) WHERE closed_at > 0;

-- How each resident can be reached for a survey: the kind of channel their last report came
-- through ('chat' webhook, 'mqtt' gateway, 'wecom_kf'). Written once per submitted report.
CREATE TABLE resident_reach (
    channel     TEXT NOT NULL,
    user        TEXT NOT NULL,
    via         TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (channel, user)
) WITHOUT ROWID;

