-- bigdb.sql: fills a freshly migrated fengqiao database (made by `fengqiao roster import` with
-- tests/bench/roster.json) with about 1 GB of realistic history, for the start-up benchmark of
-- tests/bench/run.sh (which caches the result under build/bench/db1g/).
--
-- Design: plain SQL run by the sqlite3 command-line tool, one transaction, rows made by recursive
-- CTEs, no journal and no fsync while building (the file is a throwaway cache; the daemon turns
-- WAL back on when it opens it). Shape, per case: a closed or resolved case of the demo roster
-- (case numbers FQYYYYMMDD-NNNNNN, unique by id) with a Chinese description and place, a masked-looking contact, seven events (created,
-- assigned, accepted, two progress notes, resolved, closed) with a JSON data column, and the
-- delivered outbox rows its events produced (kept as history). A recent tail of cases is still
-- open (assigned / accepted). The counts below are what makes about 1 GB; run.sh reports the
-- real size. Only day-sequence numbers and ids are synthetic.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
BEGIN;
CREATE TEMP TABLE bench_n AS SELECT 350000 AS cases;
-- cases: ids 1..N, created over the last ~N/700 days (about 700 a day), newest still open
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < (SELECT cases FROM bench_n))
INSERT INTO cases(id, case_no, channel, user, name, contact, category, severity, place_org,
                  place_text, description, people, org_id, mediator_id, status, tier, attempts,
                  escalations, close_reason, locale, parent_case, created_at, assigned_at,
                  accepted_at, resolved_at, closed_at, due_accept, due_resolve, updated_at)
SELECT i,
       printf('FQ%s-%06d', strftime('%Y%m%d', t, 'unixepoch'), i),
       CASE i % 3 WHEN 0 THEN 'wecom' ELSE 'web' END,
       printf('resident-%07d', i % 180000),
       CASE i % 4 WHEN 0 THEN '张先生' WHEN 1 THEN '李阿姨' WHEN 2 THEN NULL ELSE '王女士' END,
       printf('138%08d', (i * 7919) % 100000000),
       CASE i % 6 WHEN 0 THEN 'neighbour' WHEN 1 THEN 'family' WHEN 2 THEN 'property'
                  WHEN 3 THEN 'labour' WHEN 4 THEN 'land' ELSE 'other' END,
       i % 3,
       CASE i % 2 WHEN 0 THEN 'grid-fy-01' ELSE 'vil-fy' END,
       '枫源村第一网格' || (i % 40 + 1) || '号楼' || (i % 6 + 1) || '单元',
       '邻居在楼道堆放杂物，多次沟通无果，楼上漏水影响到我家的天花板，物业说不归他们管，'
           || '希望调解员上门看一看，双方都在家的时间是晚上七点以后。编号' || i,
       i % 5 + 1,
       CASE i % 2 WHEN 0 THEN 'grid-fy-01' ELSE 'vil-fy' END,
       CASE i % 3 WHEN 0 THEN 'm-wang' WHEN 1 THEN 'm-chen' ELSE 'm-li' END,
       CASE WHEN i > (SELECT cases FROM bench_n) - 2000
            THEN (CASE i % 2 WHEN 0 THEN 'assigned' ELSE 'accepted' END)
            WHEN i % 10 = 0 THEN 'resolved' ELSE 'closed' END,
       3 - i % 3, 0, i % 20 = 0, CASE WHEN i % 10 = 0 THEN NULL ELSE 'resolved' END, 'zh-CN', 0,
       t, t + 60, t + 1800, t + 86400 * 3, t + 86400 * 4, t + 43200, t + 86400 * 7, t + 86400 * 4
FROM (SELECT i, CAST(strftime('%s', 'now') AS INTEGER) - ((SELECT cases FROM bench_n) - i) * 123 AS t
      FROM s);
-- seven events per case
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 6)
INSERT INTO case_events(case_id, type, actor, note, data, at)
SELECT c.id,
       CASE k.j WHEN 0 THEN 'created' WHEN 1 THEN 'assigned' WHEN 2 THEN 'accepted'
                WHEN 3 THEN 'progress' WHEN 4 THEN 'progress' WHEN 5 THEN 'resolved'
                ELSE 'closed' END,
       CASE k.j WHEN 0 THEN 'resident' WHEN 1 THEN 'system' ELSE c.mediator_id END,
       CASE k.j WHEN 3 THEN '已电话联系双方，约定周六上午到现场查看'
                WHEN 4 THEN '现场调解，双方同意各让一步，杂物本周内清理'
                WHEN 5 THEN '双方签字确认调解协议' ELSE NULL END,
       json_object('case_no', c.case_no, 'status', c.status, 'org', c.org_id,
                   'mediator', c.mediator_id, 'tier', c.tier, 'step', k.j),
       c.created_at + k.j * 3600
FROM cases c, k
WHERE k.j < 2 OR c.status IN ('resolved', 'closed') OR (k.j = 2 AND c.status = 'accepted')
ORDER BY c.id, k.j;
-- the delivered outbox rows of those events (history the daemon keeps)
INSERT INTO outbox(event_id, channel, topic, payload, retain, case_no, attempts, created_at,
                   next_at, delivered_at)
SELECT printf('%08x-bench-%012d', e.id, e.id), 'mqtt',
       'fq/v1/cases/' || c.case_no || '/events',
       json_object('event_id', printf('%08x-bench-%012d', e.id, e.id), 'case', c.case_no,
                   'type', e.type, 'actor', e.actor, 'at', e.at, 'category', c.category,
                   'severity', c.severity, 'org', c.org_id, 'mediator', c.mediator_id),
       0, c.case_no, 1, e.at, e.at, e.at + 1
FROM case_events e JOIN cases c ON c.id = e.case_id
WHERE e.id % 2 = 0;
INSERT OR REPLACE INTO residents(channel, user, name, contact, locale, first_seen, last_seen)
SELECT channel, user, name, contact, 0, min(created_at), max(created_at)
FROM cases GROUP BY channel, user;
DROP TABLE bench_n;
COMMIT;
