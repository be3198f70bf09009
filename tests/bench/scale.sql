-- scale.sql: fills a freshly migrated database holding tests/bench/scale_roster.py's roster
-- (20 towns x 10 villages x 9 grids) with @CASES@ cases of realistic shape over ten years, for
-- tests/bench/scale.sh. Per case: a place and handling node in one of the 1 800 grids (a fifth
-- handled by the village, a tenth by the town), seven events for finished cases, 1 % still open
-- (the newest first), 85 % closed, 10 % resolved, 4 % cancelled. No journal, no fsync: a cache.
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
PRAGMA temp_store = MEMORY;
BEGIN;
CREATE TEMP TABLE scale_n AS SELECT @CASES@ AS cases, @NOW@ AS now;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < (SELECT cases FROM scale_n))
INSERT INTO cases(id, case_no, channel, user, name, contact, category, severity, place_org,
                  place_text, description, people, org_id, mediator_id, status, tier, attempts,
                  escalations, close_reason, locale, parent_case, created_at, assigned_at,
                  accepted_at, resolved_at, closed_at, due_accept, due_resolve, updated_at)
SELECT i, printf('FQ%s-%07d', strftime('%Y%m%d', t, 'unixepoch'), i),
       CASE i % 3 WHEN 0 THEN 'wecom' ELSE 'web' END, printf('resident-%07d', i % 900000),
       '张先生', printf('138%08d', (i * 7919) % 100000000),
       CASE i % 7 WHEN 0 THEN 'neighbour' WHEN 1 THEN 'family' WHEN 2 THEN 'property'
                  WHEN 3 THEN 'labour' WHEN 4 THEN 'land' WHEN 5 THEN 'wage' ELSE 'other' END,
       i % 3, grid, '某小区' || (i % 40 + 1) || '号楼', '邻居在楼道堆放杂物，多次沟通无果。编号' || i,
       i % 5 + 1,
       CASE WHEN i % 10 = 0 THEN substr(grid, 1, 7) WHEN i % 5 = 0 THEN 'vil-' || substr(grid, 6, 5)
            ELSE grid END,
       CASE WHEN i % 10 = 0 THEN 'm-' || substr(grid, 1, 7)
            WHEN i % 5 = 0 THEN 'm-vil-' || substr(grid, 6, 5) ELSE 'm-' || grid END,
       CASE WHEN i > (SELECT cases FROM scale_n) * 99 / 100
            THEN (CASE i % 3 WHEN 0 THEN 'assigned' WHEN 1 THEN 'accepted' ELSE 'in_progress' END)
            WHEN i % 25 = 0 THEN 'cancelled' WHEN i % 10 = 1 THEN 'resolved' ELSE 'closed' END,
       3, 0, 0, NULL, 'zh-CN', 0,
       t, t + 60, t + 1800, t + 86400 * 3, t + 86400 * 4, t + 43200, t + 86400 * 7, t + 86400 * 4
FROM (SELECT i, (SELECT now FROM scale_n) - ((SELECT cases FROM scale_n) - i)
                 * (315360000 / (SELECT cases FROM scale_n)) AS t,
             printf('grid-%02d-%02d-%d', (i * 7) % 20, (i * 13) % 10, (i * 17) % 9) AS grid
      FROM s);
UPDATE cases SET resolved_at = 0, closed_at = 0, updated_at = accepted_at
WHERE status IN ('assigned', 'accepted', 'in_progress');
UPDATE cases SET closed_at = 0 WHERE status = 'resolved';
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 6)
INSERT INTO case_events(case_id, type, actor, note, data, at)
SELECT c.id,
       CASE k.j WHEN 0 THEN 'created' WHEN 1 THEN 'assigned' WHEN 2 THEN 'accepted'
                WHEN 3 THEN 'progress' WHEN 4 THEN 'progress' WHEN 5 THEN 'resolved'
                ELSE 'closed' END,
       CASE k.j WHEN 0 THEN 'resident' WHEN 1 THEN 'system' ELSE c.mediator_id END,
       CASE k.j WHEN 3 THEN '已电话联系双方' WHEN 4 THEN '现场调解' WHEN 5 THEN '双方签字确认调解协议'
                ELSE NULL END,
       NULL, c.created_at + k.j * 3600
FROM cases c, k
WHERE k.j < 3 OR c.status IN ('resolved', 'closed')
ORDER BY c.id, k.j;
DROP TABLE scale_n;
COMMIT;
