/* wecom_deliver.c: delivers committed outbox rows of channel "wecom" through the WeCom API, and
 * pulls 微信客服 messages with kf/sync_msg when a kf_msg_or_event doorbell rings.
 *
 * Design choices:
 * - One thread, its own read connection, its own curl handle (kept alive through the API
 *   client's pool): WeCom's volumes are people-sized, and a single sender keeps per-recipient
 *   order trivially. Nothing here runs on an HTTP or core thread.
 * - A row's topic is "<api path> <recipient>" (bot/chan/wecom/wecom_render.c). Each round reads the
 *   pending rows in id order; a recipient whose earlier row is waiting (backoff, held by a
 *   configuration error) is skipped for the rest of the round, so one person's messages never
 *   overtake each other while other people's still flow.
 * - Outcomes (bot/chan/wecom/wecom_api.c classifies): ok, or a message that can never go (81013, 95001,
 *   95018, ...) -> reported done through `delivered` (the core marks the row in its own
 *   transaction); retryable (-1, 45009, 45033, 5xx, transport, bad JSON) -> store_outbox_retry
 *   with exponential backoff and jitter (at least FQ_WECOM_RATE_BACKOFF_MS after 45009; -1 at
 *   most 3 times as docs/wecom.md 7.7 says); a configuration error (60020, 40056, 48002,
 *   95xxx of the config kind, ...) -> the row stays pending, the channel is marked failing
 *   (/readyz, /metrics), logged once per errcode, and rows of that API are held for
 *   FQ_WECOM_PROBE_MS before one probe: no retry storm, nothing lost when an operator fixes it.
 * - Rows reported but not yet marked by the core are remembered (`sent`) so the next round does
 *   not send them again; an id is forgotten once a listing shows it gone.
 * - Re-sends after a timeout could duplicate a message WeCom did apply; message/send carries
 *   enable_duplicate_check and kf/send_msg a stable msgid (the row's event id) for that.
 * - kf pull: the doorbell's token is persisted first (kv "wecom_kf_bell"), then pages are read
 *   from the persisted cursor; each page's customer messages are pushed into the core and the
 *   cursor is saved only after all of them were committed. A crash in between re-reads the
 *   page, and the inbox dedupe by msgid (scope "wecom:wecom_kf") makes that harmless; a restart
 *   with a bell younger than its 10-minute validity pulls again. So a restart neither loses nor
 *   repeats a message. */
#include "bot/chan/wecom/wecom_deliver.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "store/store.h"
#include "bot/core/core.h"
#include "bot/sys/log.h"
#include "bot/sys/metrics.h"
#include "bot/chan/chan.h"
#include "bot/chan/wecom/wecom_chan.h"
#include "bot/chan/wecom/wecom_callback.h"
#include "bot/chan/wecom/wecom_api.h"
#include "common/config_model.h"
#include "store/outbox_table.h"
#include "common/fq.h"

#define ROUND_MAX 256
#define SENT_MAX 4096
#define BELL_VALID_S 600
#define KF_PAGES_MAX 100
#define KF_COMMIT_WAIT_MS 10000

struct due {                         /* an in-memory retry time, more precise than next_at (s) */
    int64_t id, at_ms;
};

struct wecom_out {
    struct core *core;
    outbox_delivered_fn delivered;
    void *arg;
    struct store *store;
    struct wecom_api *api;
    char *open_kfid;                 /* configured default, may be NULL */

    long backoff_ms, max_backoff_ms, rate_backoff_ms, probe_ms;

    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked, stopping;
    char *bell_token, *bell_kfid;    /* the latest doorbell not yet pulled */

    /* kf pushes waiting for their commit */
    size_t kf_waiting;
    bool kf_failed;

    /* dispatcher thread only */
    int64_t *sent;
    size_t n_sent;
    struct due *dues;
    size_t n_dues, cap_dues;
    int64_t *done;
    size_t n_done, cap_done;
    int64_t hold_until[WECOM_CRED__COUNT];   /* fq_mono_ms: configuration error probe time */
    long logged_code;                         /* the config errcode logged last */
    int64_t kf_retry_at;                      /* fq_mono_ms: retry a failed pull */
};

static struct wecom_out *g_out;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static long env_ms(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < 0) ? def : n;
}

/* ---- small sets ------------------------------------------------------------------------------ */
static bool has_id(const int64_t *v, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id)
            return true;
    return false;
}

static bool push_id(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 32;
        int64_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return false;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = id;
    return true;
}

static int64_t due_of(struct wecom_out *w, int64_t id)
{
    for (size_t i = 0; i < w->n_dues; i++)
        if (w->dues[i].id == id)
            return w->dues[i].at_ms;
    return 0;
}

static void set_due(struct wecom_out *w, int64_t id, int64_t at_ms)
{
    for (size_t i = 0; i < w->n_dues; i++)
        if (w->dues[i].id == id) {
            w->dues[i].at_ms = at_ms;
            return;
        }
    if (w->n_dues == w->cap_dues) {
        size_t nc = w->cap_dues ? w->cap_dues * 2 : 32;
        struct due *nd = realloc(w->dues, nc * sizeof *nd);
        if (!nd)
            return;                  /* the store's next_at still holds it back */
        w->dues = nd;
        w->cap_dues = nc;
    }
    w->dues[w->n_dues++] = (struct due){id, at_ms};
}

static void drop_due(struct wecom_out *w, int64_t id)
{
    for (size_t i = 0; i < w->n_dues; i++)
        if (w->dues[i].id == id) {
            w->dues[i] = w->dues[--w->n_dues];
            return;
        }
}

/* ---- one round of deliveries ----------------------------------------------------------------- */
struct rowv {
    struct fq_outbox_row *v;
    size_t n;
    bool oom;
};

static void collect(const struct fq_outbox_row *r, void *arg)
{
    struct rowv *rv = arg;
    if (rv->oom)
        return;
    struct fq_outbox_row *nv = realloc(rv->v, (rv->n + 1) * sizeof *nv);
    if (!nv) {
        rv->oom = true;
        return;
    }
    rv->v = nv;
    struct fq_outbox_row *d = &rv->v[rv->n];
    memset(d, 0, sizeof *d);
    d->id = r->id;
    d->attempts = r->attempts;
    d->next_at = r->next_at;
    d->created_at = r->created_at;
    d->topic = fq_strdup(r->topic);
    d->payload = fq_strdup(r->payload);
    d->event_id = fq_strdup(r->event_id);
    rv->n++;
    if (!d->topic || !d->payload || !d->event_id)
        rv->oom = true;
}

static enum wecom_cred cred_of(const char *path)
{
    return strncmp(path, "kf/", 3) == 0 ? WECOM_CRED_KF : WECOM_CRED_APP;
}

static long backoff(struct wecom_out *w, int attempts, long errcode)
{
    long d = w->backoff_ms;
    for (int i = 0; i < attempts && d < w->max_backoff_ms; i++)
        d *= 2;
    if (d > w->max_backoff_ms)
        d = w->max_backoff_ms;
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned)fq_mono_ms();
    d = d / 2 + (long)(r % (unsigned long)(d / 2 + 1));      /* jitter: [d/2, d] */
    if (errcode == 45009 && d < w->rate_backoff_ms)
        d = w->rate_backoff_ms;
    return d;
}

/* Delivers one row; returns true when the recipient must wait (retry or hold). */
static bool deliver(struct wecom_out *w, const struct fq_outbox_row *r, const char *path)
{
    struct wecom_result res;
    enum wecom_outcome oc = wecom_api_post(w->api, cred_of(path), path, r->payload, &res);
    if (oc == WECOM_RES_RETRY && res.errcode == -1 && r->attempts >= 3)
        oc = WECOM_RES_DROP;         /* -1: at most 3 retries */
    bool wait = false;
    switch (oc) {
    case WECOM_RES_OK:
        if (metrics_wecom_failing_code()) {
            log_info("wecom deliveries work again");
            metrics_wecom_failing(0);
            w->logged_code = 0;
        }
        metrics_delivered("wecom");
        push_id(&w->done, &w->n_done, &w->cap_done, r->id);
        drop_due(w, r->id);
        break;
    case WECOM_RES_DROP:
        log_warn("wecom message dropped id=%lld path=%s errcode=%ld http=%ld",
                 (long long)r->id, path, res.errcode, res.http_status);
        metrics_delivery_failed("wecom");
        push_id(&w->done, &w->n_done, &w->cap_done, r->id);
        drop_due(w, r->id);
        break;
    case WECOM_RES_RETRY: {
        long d = backoff(w, r->attempts, res.errcode);
        metrics_delivery_failed("wecom");
        log_warn("wecom delivery failed id=%lld path=%s errcode=%ld http=%ld attempt=%d; "
                 "retry in %ld ms", (long long)r->id, path, res.errcode, res.http_status,
                 r->attempts + 1, d);
        int64_t at = fq_mono_ms() + d;
        set_due(w, r->id, at);
        enum fq_err e = store_outbox_retry(w->store, r->id, fq_now() + (d + 999) / 1000);
        if (e && e != FQ_ENOTFOUND)
            log_warn("wecom cannot record the retry id=%lld err=\"%s\"", (long long)r->id,
                     fq_strerror(e));
        wait = true;
        break;
    }
    case WECOM_RES_CONFIG:
        metrics_delivery_failed("wecom");
        if (w->logged_code != res.errcode || !metrics_wecom_failing_code()) {
            log_error("wecom configuration error errcode=%ld http=%ld path=%s: deliveries of "
                      "this API held; fix the configuration (wecom.*) or the WeCom console",
                      res.errcode, res.http_status, path);
            w->logged_code = res.errcode;
        }
        metrics_wecom_failing(res.errcode ? res.errcode : res.http_status ? res.http_status : 1);
        w->hold_until[cred_of(path)] = fq_mono_ms() + w->probe_ms;
        wait = true;
        break;
    }
    wecom_result_cleanup(&res);
    return wait;
}

static bool stopping(struct wecom_out *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* Returns the fq_mono_ms of the earliest row waiting in memory (0: none). */
static int64_t round_once(struct wecom_out *w)
{
    struct rowv rv = {0};
    enum fq_err err = store_outbox_pending(w->store, "wecom", 0, ROUND_MAX, collect, &rv);
    int64_t next = 0;
    if (err || rv.oom) {
        log_warn("wecom cannot read pending rows err=\"%s\"", fq_strerror(err ? err : FQ_ENOMEM));
        goto out;
    }
    /* forget sent ids the core has marked (absent from a listing that covers them) */
    int64_t max_seen = rv.n ? rv.v[rv.n - 1].id : 0;
    size_t k = 0;
    for (size_t i = 0; i < w->n_sent; i++) {
        int64_t id = w->sent[i];
        bool listed = false;
        for (size_t j = 0; j < rv.n && !listed; j++)
            listed = rv.v[j].id == id;
        if (listed || (rv.n == ROUND_MAX && id > max_seen))
            w->sent[k++] = id;
    }
    w->n_sent = k;

    char **blocked = calloc(rv.n + 1, sizeof *blocked);
    size_t n_blocked = 0;
    if (!blocked)
        goto out;
    int64_t now_ms = fq_mono_ms(), now_s = fq_now();
    for (size_t i = 0; i < rv.n && !stopping(w); i++) {
        struct fq_outbox_row *r = &rv.v[i];
        if (has_id(w->sent, w->n_sent, r->id))
            continue;
        char *sp = strchr(r->topic, ' ');
        const char *who = sp ? sp + 1 : "";
        if (sp)
            *sp = '\0';
        const char *path = r->topic;
        bool skip = false;
        for (size_t b = 0; b < n_blocked && !skip; b++)
            skip = strcmp(blocked[b], who) == 0;
        if (skip)
            continue;
        int64_t due = due_of(w, r->id), hold = w->hold_until[cred_of(path)];
        bool wait = false;
        if (hold > now_ms) {
            wait = true;
            if (!next || hold < next)
                next = hold;
        } else if (due > now_ms || (!due && r->next_at > now_s)) {
            int64_t at = due ? due : now_ms + (r->next_at - now_s) * 1000;
            wait = true;
            if (!next || at < next)
                next = at;
        } else {
            wait = deliver(w, r, path);
            if (!wait) {
                if (w->n_sent < SENT_MAX)
                    w->sent[w->n_sent++] = r->id;
            } else {
                int64_t at = due_of(w, r->id);
                int64_t h = w->hold_until[cred_of(path)];
                int64_t t = h > fq_mono_ms() ? h : at;
                if (t && (!next || t < next))
                    next = t;
            }
        }
        if (wait)
            blocked[n_blocked++] = (char *)who;
        now_ms = fq_mono_ms();
    }
    free(blocked);
out:
    for (size_t i = 0; i < rv.n; i++)
        outbox_row_cleanup(&rv.v[i]);
    free(rv.v);
    return next;
}

static void report(struct wecom_out *w)
{
    if (!w->n_done)
        return;
    int64_t *ids = w->done;
    size_t n = w->n_done;
    w->done = NULL;
    w->n_done = w->cap_done = 0;
    if (w->delivered) {
        w->delivered(ids, n, w->arg);
        return;
    }
    enum fq_err err = store_outbox_done(w->store, ids, n, fq_now());
    if (err)
        log_error("wecom cannot mark rows done n=%zu err=\"%s\"", n, fq_strerror(err));
    free(ids);
}

/* ---- kf pull --------------------------------------------------------------------------------- */
static void on_kf_done(struct fq_msg *m, void *arg)
{
    struct wecom_out *w = arg;
    pthread_mutex_lock(&w->mu);
    if (m->status != 200)
        w->kf_failed = true;
    w->kf_waiting--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    fq_msg_free(m);
}

static char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? fq_strdup(v) : NULL;
}

/* One customer message of sync_msg as core input, or NULL (not a customer message, or not a
 * kind the conversation takes). */
static struct fq_msg *kf_msg(json_t *it)
{
    if (json_integer_value(json_object_get(it, "origin")) != 3)
        return NULL;
    const char *type = json_string_value(json_object_get(it, "msgtype"));
    const char *id = json_string_value(json_object_get(it, "msgid"));
    const char *user = json_string_value(json_object_get(it, "external_userid"));
    if (!type || !id || !*id || strlen(id) > 128 || !user || !*user || strlen(user) > 128)
        return NULL;
    struct fq_msg *m = fq_msg_new(FQ_MSG_CHAT);
    if (!m)
        return NULL;
    chan_stamp(m, &chan_wecom_kf, FQ_IDENT_NONE, FQ_REACH_WINDOW);
    json_int_t st = json_integer_value(json_object_get(it, "send_time"));
    m->at = st > 0 ? (int64_t)st : fq_now();
    m->channel = fq_strdup("wecom_kf");
    m->user = fq_strdup(user);
    m->message_id = fq_strdup(id);
    bool ok = m->channel && m->user && m->message_id;
    json_t *body = json_object_get(it, type);
    if (ok && strcmp(type, "text") == 0) {
        /* a tap on a msgmenu item arrives as text with menu_id = the option's key */
        const char *menu = json_string_value(json_object_get(body, "menu_id"));
        const char *t = menu && *menu ? menu : json_string_value(json_object_get(body, "content"));
        ok = t && *t && strlen(t) <= WECOM_MAX_BODY && (m->type = fq_strdup("text")) &&
             (m->text = fq_strdup(t));
    } else if (ok && (strcmp(type, "image") == 0 || strcmp(type, "voice") == 0)) {
        const char *media = json_string_value(json_object_get(body, "media_id"));
        struct fq_buf b;
        buf_init(&b);
        if (media && *media && strlen(media) < 1024)
            buf_printf(&b, "wecom-media:%s", media);
        ok = b.len && (m->type = fq_strdup(type)) && (m->media_url = buf_take(&b));
        buf_cleanup(&b);
    } else if (ok && strcmp(type, "location") == 0) {
        json_t *la = json_object_get(body, "latitude"), *lo = json_object_get(body, "longitude");
        ok = json_is_number(la) && json_is_number(lo) && (m->type = fq_strdup("location"));
        if (ok) {
            m->latitude = json_number_value(la);
            m->longitude = json_number_value(lo);
            m->has_location = m->latitude >= -90 && m->latitude <= 90 && m->longitude >= -180 &&
                              m->longitude <= 180;
            ok = m->has_location;
            m->label = jstr(body, "name");
        }
    } else {
        ok = false;
    }
    if (!ok) {
        fq_msg_free(m);
        return NULL;
    }
    return m;
}

static void kv_put(struct wecom_out *w, const char *k, const char *v)
{
    enum fq_err e = store_kv_put(w->store, k, v);
    if (e)
        log_warn("wecom cannot save %s err=\"%s\"", k, fq_strerror(e));
}

/* Pulls every page the token gives. Returns false when it must be tried again later. */
static bool kf_pull(struct wecom_out *w, const char *token, const char *kfid_in)
{
    const char *kfid = kfid_in && *kfid_in ? kfid_in : w->open_kfid;
    if (!kfid) {
        log_warn("wecom kf doorbell without OpenKfId and no wecom.open_kfid configured");
        return true;
    }
    struct fq_buf ck;
    buf_init(&ck);
    buf_printf(&ck, "wecom_kf_cursor:%s", kfid);
    char *cursor = NULL;
    if (ck.oom || store_kv_get(w->store, ck.s, &cursor) == FQ_ESTORE) {
        buf_cleanup(&ck);
        return false;
    }
    bool ok = true;
    for (int page = 0; page < KF_PAGES_MAX && !stopping(w); page++) {
        struct fq_buf rb;
        buf_init(&rb);
        struct fq_jobj req = jobj_begin(&rb);
        jobj_str(&req, "cursor", cursor ? cursor : "");
        jobj_str(&req, "token", token);
        jobj_int(&req, "limit", 1000);
        jobj_int(&req, "voice_format", 0);
        jobj_str(&req, "open_kfid", kfid);
        jobj_end(&req);
        char *body = buf_take(&rb);
        if (!body) {
            ok = false;
            break;
        }
        struct wecom_result res;
        enum wecom_outcome oc = wecom_api_post(w->api, WECOM_CRED_KF, "kf/sync_msg", body, &res);
        free(body);
        if (oc != WECOM_RES_OK) {
            log_warn("wecom kf/sync_msg failed errcode=%ld http=%ld", res.errcode,
                     res.http_status);
            if (oc == WECOM_RES_CONFIG)
                metrics_wecom_failing(res.errcode ? res.errcode : 1);
            ok = oc != WECOM_RES_RETRY;     /* a bad token (95007, ...) will not get better */
            wecom_result_cleanup(&res);
            break;
        }
        json_t *o = json_loads(res.body, 0, NULL);
        wecom_result_cleanup(&res);
        json_t *list = json_object_get(o, "msg_list");
        const char *next = json_string_value(json_object_get(o, "next_cursor"));
        bool more = json_integer_value(json_object_get(o, "has_more")) == 1;
        size_t i, pushed = 0;
        json_t *it;
        pthread_mutex_lock(&w->mu);
        w->kf_failed = false;
        pthread_mutex_unlock(&w->mu);
        json_array_foreach(list, i, it) {
            struct fq_msg *m = kf_msg(it);
            if (!m)
                continue;
            m->done = on_kf_done;
            m->done_arg = w;
            pthread_mutex_lock(&w->mu);
            w->kf_waiting++;
            pthread_mutex_unlock(&w->mu);
            metrics_message_in("wecom");
            if (core_push(w->core, m) != FQ_OK) {
                pthread_mutex_lock(&w->mu);
                w->kf_waiting--;
                w->kf_failed = true;
                pthread_mutex_unlock(&w->mu);
                fq_msg_free(m);
                break;
            }
            pushed++;
        }
        /* the cursor moves only after every message of the page is committed */
        int64_t until = fq_mono_ms() + KF_COMMIT_WAIT_MS;
        pthread_mutex_lock(&w->mu);
        while (w->kf_waiting > 0 && fq_mono_ms() < until) {
            struct timespec ts;
            fq_deadline(&ts, CLOCK_MONOTONIC, 50);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        bool failed = w->kf_failed || w->kf_waiting > 0;
        pthread_mutex_unlock(&w->mu);
        if (failed) {
            log_warn("wecom kf messages not committed; the page will be read again");
            json_decref(o);
            ok = false;
            break;
        }
        if (next && *next && strlen(next) <= 256) {
            kv_put(w, ck.s, next);
            free(cursor);
            cursor = fq_strdup(next);
        }
        log_debug("wecom kf page pulled messages=%zu more=%d", pushed, more);
        json_decref(o);
        if (!more)
            break;
    }
    free(cursor);
    buf_cleanup(&ck);
    return ok;
}

/* The persisted doorbell: "<unix time>\n<open_kfid>\n<token>". */
static void bell_save(struct wecom_out *w, const char *token, const char *kfid)
{
    struct fq_buf b;
    buf_init(&b);
    if (token)
        buf_printf(&b, "%lld\n%s\n%s", (long long)fq_now(), kfid ? kfid : "", token);
    else
        buf_puts(&b, "");
    if (!b.oom)
        kv_put(w, "wecom_kf_bell", b.s);
    buf_cleanup(&b);
}

static void bell_restore(struct wecom_out *w)
{
    char *v = NULL;
    if (store_kv_get(w->store, "wecom_kf_bell", &v) != FQ_OK || !v || !*v) {
        free(v);
        return;
    }
    char *nl1 = strchr(v, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (nl2) {
        *nl1 = *nl2 = '\0';
        long long t = strtoll(v, NULL, 10);
        if (fq_now() - t < BELL_VALID_S) {
            log_info("wecom kf doorbell from before the restart: pulling");
            w->bell_token = fq_strdup(nl2 + 1);
            w->bell_kfid = *(nl1 + 1) ? fq_strdup(nl1 + 1) : NULL;
        }
    }
    free(v);
}

/* ---- the thread ------------------------------------------------------------------------------ */
static void *wecom_main(void *arg)
{
    struct wecom_out *w = arg;
    log_thread_name("fq-wecom");
    int64_t next = 0, last_round = 0;
    pthread_mutex_lock(&w->mu);
    w->kicked = true;
    for (;;) {
        if (w->stopping)
            break;
        int64_t now = fq_mono_ms();
        if (w->bell_token && now >= w->kf_retry_at) {
            char *tok = w->bell_token, *kfid = w->bell_kfid;
            w->bell_token = w->bell_kfid = NULL;
            pthread_mutex_unlock(&w->mu);
            bell_save(w, tok, kfid);
            bool ok = kf_pull(w, tok, kfid);
            pthread_mutex_lock(&w->mu);
            if (!ok && !w->bell_token && !w->stopping) {   /* try this one again later */
                w->bell_token = tok;
                w->bell_kfid = kfid;
                w->kf_retry_at = fq_mono_ms() + w->backoff_ms;
            } else {
                /* pulled: forget the persisted bell (kept when stopping mid-pull, so the next
                 * start pulls again) */
                if (ok && !w->bell_token) {
                    pthread_mutex_unlock(&w->mu);
                    bell_save(w, NULL, NULL);
                    pthread_mutex_lock(&w->mu);
                }
                free(tok);
                free(kfid);
            }
            continue;
        }
        if (w->kicked || (next && now >= next) || now - last_round >= 1000) {
            w->kicked = false;
            pthread_mutex_unlock(&w->mu);
            next = round_once(w);
            report(w);
            last_round = fq_mono_ms();
            pthread_mutex_lock(&w->mu);
            continue;
        }
        int64_t wait = 1000 - (now - last_round);
        if (next && next - now < wait)
            wait = next - now;
        if (w->bell_token && w->kf_retry_at - now < wait)
            wait = w->kf_retry_at - now;
        if (wait < 1)
            wait = 1;
        struct timespec ts;
        fq_deadline(&ts, CLOCK_MONOTONIC, wait);
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void wecom_out_free(struct wecom_out *w)
{
    if (!w)
        return;
    store_close(w->store);
    wecom_api_free(w->api);
    free(w->open_kfid);
    free(w->bell_token);
    free(w->bell_kfid);
    free(w->sent);
    free(w->dues);
    free(w->done);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

enum fq_err wecom_out_start(const struct fq_config *cfg, struct core *core,
                            outbox_delivered_fn delivered, void *arg, struct wecom_out **out,
                            char **cause)
{
    *out = NULL;
    if (cause)
        *cause = NULL;
    struct wecom_out *w = calloc(1, sizeof *w);
    if (!w)
        return FQ_ENOMEM;
    w->core = core;
    w->delivered = delivered;
    w->arg = arg;
    w->backoff_ms = env_ms("FQ_WECOM_BACKOFF_MS", 1000);
    w->max_backoff_ms = env_ms("FQ_WECOM_MAX_BACKOFF_MS", 300000);
    w->rate_backoff_ms = env_ms("FQ_WECOM_RATE_BACKOFF_MS", 60000);
    w->probe_ms = env_ms("FQ_WECOM_PROBE_MS", 300000);
    if (w->backoff_ms < 1)
        w->backoff_ms = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->sent = calloc(SENT_MAX, sizeof *w->sent);
    w->open_kfid = fq_strdup(cfg->wecom_open_kfid);
    struct wecom_api_opts o = {
        .api_base = cfg->wecom_api_base,
        .corp_id = cfg->wecom_corp_id,
        .secret = {cfg->wecom_secret, cfg->wecom_kf_secret},
        .timeout_ms = env_ms("FQ_WECOM_TIMEOUT_MS", 10000),
    };
    enum fq_err err = !w->sent ? FQ_ENOMEM : wecom_api_new(&o, &w->api, cause);
    if (!err)
        err = store_open(cfg->store_path, &w->store, cause);
    if (err)
        goto fail;
    bell_restore(w);
    if (pthread_create(&w->thread, NULL, wecom_main, w) != 0) {
        err = FQ_ENOMEM;
        goto fail;
    }
    w->started = true;
    pthread_mutex_lock(&g_mu);
    g_out = w;
    pthread_mutex_unlock(&g_mu);
    *out = w;
    return FQ_OK;
fail:
    if (cause && !*cause)
        *cause = fq_strdup("wecom: cannot start the delivery thread");
    wecom_out_free(w);
    return err;
}

void wecom_out_kick(struct wecom_out *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->kicked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

bool wecom_out_bell(const char *token, const char *open_kfid)
{
    pthread_mutex_lock(&g_mu);
    struct wecom_out *w = g_out;
    bool ok = false;
    if (w) {
        char *t = fq_strdup(token), *k = fq_strdup(open_kfid);
        pthread_mutex_lock(&w->mu);
        if (t && !w->stopping) {
            free(w->bell_token);
            free(w->bell_kfid);
            w->bell_token = t;
            w->bell_kfid = k;
            w->kf_retry_at = 0;
            t = k = NULL;
            ok = true;
            pthread_cond_signal(&w->cv);
        }
        pthread_mutex_unlock(&w->mu);
        free(t);
        free(k);
    }
    pthread_mutex_unlock(&g_mu);
    return ok;
}

void wecom_out_stop(struct wecom_out *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&g_mu);
    if (g_out == w)
        g_out = NULL;
    pthread_mutex_unlock(&g_mu);
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    wecom_api_cancel(w->api);
    if (w->started)
        pthread_join(w->thread, NULL);
    /* kf messages handed to the core call on_kf_done later: wait for them (the core is still
     * running and answers every message it took) before freeing w */
    pthread_mutex_lock(&w->mu);
    while (w->kf_waiting > 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    report(w);
    wecom_out_free(w);
}
