-- 0007_case_indexes: indexes that match the case list's filters and the report's period, so a
-- page of the list and a month's report cost what they return, not the whole history
-- (store/case_table.c builds the list's WHERE from the filters given; store/report_query.c
-- selects a period's cases as a union of index ranges). The single-column status and org
-- indexes are replaced by ones that also order by creation.
DROP INDEX cases_status;
DROP INDEX cases_org;
DROP INDEX cases_place_org;
CREATE INDEX cases_status_created ON cases(status, created_at);
CREATE INDEX cases_org_created ON cases(org_id, created_at);
CREATE INDEX cases_place_created ON cases(place_org, created_at);
CREATE INDEX cases_open_created ON cases(created_at)
    WHERE status NOT IN ('resolved', 'closed', 'cancelled');
CREATE INDEX cases_updated ON cases(updated_at);
CREATE INDEX cases_resolved ON cases(resolved_at) WHERE resolved_at > 0;
CREATE INDEX cases_closed ON cases(closed_at) WHERE closed_at > 0;
