/* pages.h: the workbench's pages of statistics, 督办 and roster, and the report downloads
 * (bot/web/web_stats.c), served from the page table of bot/web/web.c. Each is for office and
 * supervisor accounts (a mediator gets 403) and shows the user's node and below only (属地): an
 * org outside it answers 404. */
#ifndef FQ_WEB_PAGES_H
#define FQ_WEB_PAGES_H

#include "bot/web/web_internal.h"

/* GET /app/stats[?month=YYYY-MM][&org=ID]: figures, charts (Chart.js, web/static/stats.js reads
 * the tables the page carries) and the download links. */
enum web_step web_stats_page(struct web_call *c, struct web_res *res);
/* GET /app/api/stats: the same as JSON (docs/contract.md 3.4 GET /api/v1/stats). */
enum web_step web_stats_api(struct web_call *c, struct web_res *res);
/* GET /app/reports/{monthly.xlsx,monthly.csv,ledger.xlsx,ledger.csv}?month=&org=: the monthly
 * report and the ledger of the month, as `fengqiao report` writes them. */
enum web_step web_report_file(struct web_call *c, struct web_res *res);
/* GET /app/supervision[?org=][&within=H]: the 督办 list; POST (case_no, note): a 督办 note to
 * the case's mediator, through the core; then back to the list. */
enum web_step web_supervision_page(struct web_call *c, struct web_res *res);
/* GET /app/api/supervision: the list as JSON (GET /api/v1/supervision). */
enum web_step web_supervision_api(struct web_call *c, struct web_res *res);
/* GET /app/roster: the user's part of the roster; POST (roster: the file's text): checked as
 * `fengqiao roster import` checks it, the first problem shown, else imported through the core.
 * Only an account of a root node may replace the roster (it is the whole territory's). */
enum web_step web_roster_page(struct web_call *c, struct web_res *res);

#endif
