/* serve.h: `fengqiao serve` (bot/cli/serve.c). */
#ifndef FQ_SERVE_H
#define FQ_SERVE_H

/* `fengqiao serve` (bot/main.c). conf: -c FILE or NULL for the default lookup. */
int cmd_serve(const char *conf);

#endif
