/* http.h: the HTTP server (libmicrohttpd): chat webhook, health, metrics, admin API. */
#ifndef FQ_HTTP_H
#define FQ_HTTP_H

#include "common/config_model.h"
#include "common/fq.h"

struct http;
struct core;

/* Starts listening on cfg->server_listen with cfg->server_threads threads. cfg is borrowed
 * (http_set_config swaps it). The core must outlive the server. */
enum fq_err http_start(const struct fq_config *cfg, struct core *core, struct http **out,
                       char **cause);
void http_set_config(struct http *h, const struct fq_config *cfg);
/* Stops accepting new connections; requests already in the core still get their answer. */
void http_quiesce(struct http *h);
/* Requests handed to the core and not yet answered. */
int http_inflight(struct http *h);
void http_stop(struct http *h);   /* NULL-safe */

/* ---- graceful shutdown --------------------------------------------------------------------- */
/* Requests begun (headers received) and not completed: in the core, or with a body still
 * arriving. A graceful stop waits for these (bounded), so a request whose body was on its way
 * when SIGTERM came is still answered. 0 for NULL. */
int http_active(struct http *h);

#endif
