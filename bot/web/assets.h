/* assets.h: the workbench's static files, compiled in from web/static/ by
 * scripts/embed-assets.sh (build/gen/web_assets.c). */
#ifndef FQ_WEB_ASSETS_H
#define FQ_WEB_ASSETS_H

#include <stddef.h>

struct web_asset {
    const char *name, *type, *etag;  /* etag: quoted, as the header carries it */
    const unsigned char *data;
    size_t len;
};
extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

/* The asset of that file name, or NULL. */
const struct web_asset *web_asset_find(const char *name);

#endif
