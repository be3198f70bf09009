/* loadgen.c: a small HTTP/1.1 load generator for fengqiao's benchmark (`make bench`), loopback
 * only.
 *
 * Design: one thread, one epoll set, N keep-alive connections with exactly one request in flight
 * each (no pipelining), like N well-behaved chat gateways. The requests are signed BEFORE the
 * clock starts: `loadgen gen` writes a file of complete, signed HTTP requests (HMAC-SHA256 over
 * timestamp "." body, as docs/contract.md 3.1 says) and `loadgen run` maps it and only copies bytes
 * to sockets, so the HMAC cost of the client is not in the measured loop (the server's verify is).
 *
 * Two load shapes:
 *   rate 0  closed loop: every connection sends its next request as soon as the answer arrives;
 *           this finds the maximum throughput.
 *   rate R  open loop: request i is due at start + i/R whatever the server does; when every
 *           connection is busy the request waits, and its latency is counted from the time it
 *           was due (no coordinated omission), so a server that falls behind shows it in p99.
 *
 * Latencies are kept as a sample array (microseconds) and sorted at the end: exact percentiles,
 * bounded by the request file (at most a few hundred thousand samples).
 *
 * Subcommands (every one only talks to 127.0.0.0/8):
 *   loadgen gen  -s SECRET -a HOST:PORT -p PATH -n COUNT -x PREFIX -t TEXT [-t TEXT2 ...]
 *                [-u PER_USER] [-k USERS_AT_ONCE] -o FILE
 *   loadgen wgen -T TOKEN -K ENCODING_AES_KEY -C CORP_ID -A AGENT_ID -a HOST:PORT -n COUNT
 *                -x PREFIX -t TEXT [-t TEXT2 ...] [-u PER_USER] [-k USERS_AT_ONCE] -o FILE
 *                WeCom callbacks (docs/contract.md 3.2): POST /wecom/callback with a text
 *                message from an app member, AES-256-CBC encrypted and SHA-1 signed as WeCom
 *                does, built before the clock starts like `gen`'s (same users interleaving, same
 *                file)
 *   loadgen run  -a HOST:PORT (-f FILE | -p PATH) -c CONNS -d SECONDS [-r RATE] [-w WARMUP_S]
 *                [-W]   (-W: wrap around the request file instead of stopping at its end)
 *   loadgen get  -a HOST:PORT -p PATH [-t TIMEOUT_S]   body to stdout; exit 0 on 200, 1 else
 *   loadgen send -a HOST:PORT -f FILE [-i INDEX]        one request of FILE, body to stdout
 *   loadgen wait -a HOST:PORT [-p PATH] [-t TIMEOUT_S] until TCP accepts (or PATH answers 200),
 *                polling every 5 ms
 *   loadgen port                                        prints a free loopback TCP port
 *   loadgen cpu  [-n THREADS] [-d SECONDS]              how much CPU the machine really gives:
 *                THREADS spinning threads count the time they were not running (gaps over
 *                200 us between two clock reads); prints effective_cpus=... (a shared VM may
 *                give two vCPUs but much less than two CPUs of work under load)
 * `run` prints one line of key=value figures on stdout (run.sh parses it). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 1024
#define MAX_REQUESTS 2000000          /* bound on the request file */
#define MAX_SECONDS 120               /* bound on one run */
#define IN_BUF 16384
#define DRAIN_NS (5LL * 1000000000LL)  /* how long in-flight requests may finish after the end */
#define MAX_CONNECT_FAILS 2000

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s\n", what);
    exit(2);
}

/* "127.0.0.1:8080" into a sockaddr; anything outside 127.0.0.0/8 is refused. */
static void parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || (size_t)(colon - s) >= sizeof host)
        die("address must be HOST:PORT");
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (*end || port < 1 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        die("bad HOST:PORT");
    if ((ntohl(sa->sin_addr.s_addr) >> 24) != 127)
        die("only loopback (127.0.0.0/8) targets are allowed");
}

/* ---- gen: the signed request file ------------------------------------------------------------ */

/* Text goes into a JSON string as is, so it must need no escaping. */
static bool json_plain(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == '"' || *p == '\\')
            return false;
    return true;
}

static int cmd_gen(int argc, char **argv)
{
    const char *secret = NULL, *addr = NULL, *path = "/chat/v1/messages", *prefix = "b";
    const char *texts[8], *out = NULL;
    size_t n_texts = 0;
    long n = 0, per_user = 20, at_once = 64;
    int o;
    while ((o = getopt(argc, argv, "s:a:p:n:x:t:u:k:o:")) != -1) {
        switch (o) {
        case 's': secret = optarg; break;
        case 'a': addr = optarg; break;
        case 'p': path = optarg; break;
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'x': prefix = optarg; break;
        case 't':
            if (n_texts == sizeof texts / sizeof *texts)
                die("at most 8 texts");
            texts[n_texts++] = optarg;
            break;
        case 'u': per_user = strtol(optarg, NULL, 10); break;
        case 'k': at_once = strtol(optarg, NULL, 10); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    struct sockaddr_in sa;
    parse_addr(addr, &sa);
    if (!secret || !n_texts || !out || n < 1 || n > MAX_REQUESTS || per_user < 1 || per_user > 29 ||
        at_once < 1 || at_once > 100000)
        die("gen needs -s SECRET -t TEXT -o FILE -n 1..2000000, -u 1..29, -k >= 1");
    for (size_t k = 0; k < n_texts; k++)
        if (!json_plain(texts[k]) || strlen(texts[k]) > 4000)
            die("texts must need no JSON escaping and be short");
    if (!json_plain(prefix) || strlen(prefix) > 64)
        die("the prefix must need no JSON escaping and be short");
    FILE *f = fopen(out, "w");
    if (!f)
        die("cannot write the request file");
    long long ts = (long long)time(NULL);
    char body[8192], head[1024], tsbuf[32];
    snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
    size_t tslen = strlen(tsbuf);
    /* Users are interleaved: `at_once` users take turns, each sends `per_user` messages, then the
     * next `at_once` users start. Consecutive requests (which run concurrently on different
     * connections) come from different residents, and no resident exceeds the 30/min limit.
     * A resident's turns are `at_once` requests apart, so with at_once well above the number of
     * connections a turn is answered before the next one of the same resident is sent; turn j
     * says texts[j % n_texts] (e.g. a report, then "1" to submit it). */
    long block = per_user * at_once;
    for (long i = 0; i < n; i++) {
        long user = (i / block) * at_once + (i % block) % at_once;
        const char *text = texts[(size_t)((i % block) / at_once) % n_texts];
        int blen = snprintf(body, sizeof body,
                            "{\"channel\":\"web\",\"user\":\"bench-%s-%ld\",\"message_id\":"
                            "\"%s-%ld\",\"type\":\"text\",\"text\":\"%s\",\"locale\":\"zh-CN\"}",
                            prefix, user, prefix, i, text);
        if (blen < 0 || (size_t)blen >= sizeof body)
            die("body too long");
        unsigned char msg[8300];
        memcpy(msg, tsbuf, tslen);
        msg[tslen] = '.';
        memcpy(msg + tslen + 1, body, (size_t)blen);
        unsigned char mac[32];
        unsigned int maclen = 0;
        if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, tslen + 1 + (size_t)blen, mac,
                  &maclen) || maclen != 32)
            die("HMAC failed");
        char hex[65];
        for (int k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", mac[k]);
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
        int hlen = snprintf(head, sizeof head,
                            "POST %s HTTP/1.1\r\nHost: %s:%u\r\nContent-Type: application/json\r\n"
                            "X-FQ-Timestamp: %s\r\nX-FQ-Signature: sha256=%s\r\n"
                            "Content-Length: %d\r\n\r\n",
                            path, host, (unsigned)ntohs(sa.sin_port), tsbuf, hex, blen);
        if (hlen < 0 || (size_t)hlen >= sizeof head)
            die("path too long");
        fprintf(f, "%d\n", hlen + blen);
        fwrite(head, 1, (size_t)hlen, f);
        fwrite(body, 1, (size_t)blen, f);
    }
    if (fclose(f) != 0)
        die("cannot write the request file");
    return 0;
}

/* ---- wgen: encrypted, signed WeCom callbacks ------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* WeCom's encryption (the stub's and bot/sys/crypto.c's scheme): random16 + be32(len) + msg +
 * receiveid, PKCS#7-padded to 32 bytes, AES-256-CBC with iv = key[0..16), base64. Writes the
 * base64 text into out (NUL-terminated); returns its length, or -1. */
static int wecom_enc(const unsigned char key[32], const char *msg, size_t msg_len,
                     const char *receiveid, char *out, size_t out_cap)
{
    unsigned char raw[12288], ct[12288];
    size_t rid = strlen(receiveid), n = 16 + 4 + msg_len + rid;
    size_t pad = 32 - n % 32;
    if (n + pad > sizeof raw || (n + pad + 2) / 3 * 4 + 1 > out_cap)
        return -1;
    if (RAND_bytes(raw, 16) != 1)
        return -1;
    raw[16] = (unsigned char)(msg_len >> 24);
    raw[17] = (unsigned char)(msg_len >> 16);
    raw[18] = (unsigned char)(msg_len >> 8);
    raw[19] = (unsigned char)msg_len;
    memcpy(raw + 20, msg, msg_len);
    memcpy(raw + 20 + msg_len, receiveid, rid);
    memset(raw + n, (int)pad, pad);
    n += pad;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    bool ok = cx && EVP_EncryptInit_ex(cx, EVP_aes_256_cbc(), NULL, key, key) == 1 &&
              EVP_CIPHER_CTX_set_padding(cx, 0) == 1 &&
              EVP_EncryptUpdate(cx, ct, &l1, raw, (int)n) == 1 &&
              EVP_EncryptFinal_ex(cx, ct + l1, &l2) == 1 && (size_t)(l1 + l2) == n;
    EVP_CIPHER_CTX_free(cx);
    if (!ok)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, ct, (int)n);
}

static int cmd_wgen(int argc, char **argv)
{
    const char *token = NULL, *aeskey = NULL, *corp = NULL, *agent = NULL, *addr = NULL;
    const char *prefix = "w", *texts[8], *out = NULL;
    size_t n_texts = 0;
    long n = 0, per_user = 20, at_once = 64;
    int o;
    while ((o = getopt(argc, argv, "T:K:C:A:a:n:x:t:u:k:o:")) != -1) {
        switch (o) {
        case 'T': token = optarg; break;
        case 'K': aeskey = optarg; break;
        case 'C': corp = optarg; break;
        case 'A': agent = optarg; break;
        case 'a': addr = optarg; break;
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'x': prefix = optarg; break;
        case 't':
            if (n_texts == sizeof texts / sizeof *texts)
                die("at most 8 texts");
            texts[n_texts++] = optarg;
            break;
        case 'u': per_user = strtol(optarg, NULL, 10); break;
        case 'k': at_once = strtol(optarg, NULL, 10); break;
        case 'o': out = optarg; break;
        default: return 2;
        }
    }
    struct sockaddr_in sa;
    parse_addr(addr, &sa);
    if (!token || !aeskey || !corp || !agent || !n_texts || !out || n < 1 || n > MAX_REQUESTS ||
        per_user < 1 || per_user > 29 || at_once < 1 || at_once > 100000)
        die("wgen needs -T -K -C -A -a -t -o, -n 1..2000000, -u 1..29, -k >= 1");
    if (strlen(aeskey) != 43 || strlen(token) > 200 || strlen(corp) > 64 || strlen(agent) > 32 ||
        strlen(prefix) > 64 || strpbrk(prefix, "<>&]"))
        die("wgen: bad key, token, corp id, agent id or prefix");
    for (size_t k = 0; k < n_texts; k++)
        if (strlen(texts[k]) > 4000 || strstr(texts[k], "]]>"))
            die("texts must be short and hold no ]]>");
    char k64[48];
    unsigned char keybuf[36];
    snprintf(k64, sizeof k64, "%s=", aeskey);
    if (EVP_DecodeBlock(keybuf, (const unsigned char *)k64, 44) < 32)
        die("wgen: the EncodingAESKey is not base64");
    FILE *f = fopen(out, "w");
    if (!f)
        die("cannot write the request file");
    long long ts = (long long)time(NULL);
    char tsbuf[32], host[INET_ADDRSTRLEN];
    snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    static char plain[8192], enc[16384], body[17000], head[1024];
    long block = per_user * at_once;
    for (long i = 0; i < n; i++) {
        long user = (i / block) * at_once + (i % block) % at_once;
        const char *text = texts[(size_t)((i % block) / at_once) % n_texts];
        int plen = snprintf(plain, sizeof plain,
                            "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA["
                            "wb-%s-%ld]]></FromUserName><CreateTime>%s</CreateTime><MsgType>"
                            "<![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content><MsgId>"
                            "%lld%07ld</MsgId><AgentID>%s</AgentID></xml>",
                            corp, prefix, user, tsbuf, text, ts, i, agent);
        if (plen < 0 || (size_t)plen >= sizeof plain)
            die("message too long");
        int elen = wecom_enc(keybuf, plain, (size_t)plen, corp, enc, sizeof enc);
        if (elen < 0)
            die("encryption failed");
        char nonce[32];
        snprintf(nonce, sizeof nonce, "%ld", 100000000L + i);
        const char *parts[4] = {token, tsbuf, nonce, enc};
        qsort(parts, 4, sizeof *parts, cmp_str);
        unsigned char md[SHA_DIGEST_LENGTH];
        unsigned int mdlen = 0;
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        bool hok = mc && EVP_DigestInit_ex(mc, EVP_sha1(), NULL) == 1;
        for (int k = 0; k < 4 && hok; k++)
            hok = EVP_DigestUpdate(mc, parts[k], strlen(parts[k])) == 1;
        hok = hok && EVP_DigestFinal_ex(mc, md, &mdlen) == 1 && mdlen == SHA_DIGEST_LENGTH;
        EVP_MD_CTX_free(mc);
        if (!hok)
            die("SHA-1 failed");
        char sig[41];
        for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
            snprintf(sig + 2 * k, 3, "%02x", md[k]);
        int blen = snprintf(body, sizeof body,
                            "<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[%s]]>"
                            "</AgentID><Encrypt><![CDATA[%s]]></Encrypt></xml>", corp, agent, enc);
        if (blen < 0 || (size_t)blen >= sizeof body)
            die("body too long");
        int hlen = snprintf(head, sizeof head,
                            "POST /wecom/callback?msg_signature=%s&timestamp=%s&nonce=%s HTTP/1.1\r\n"
                            "Host: %s:%u\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n",
                            sig, tsbuf, nonce, host, (unsigned)ntohs(sa.sin_port), blen);
        if (hlen < 0 || (size_t)hlen >= sizeof head)
            die("head too long");
        fprintf(f, "%d\n", hlen + blen);
        fwrite(head, 1, (size_t)hlen, f);
        fwrite(body, 1, (size_t)blen, f);
    }
    if (fclose(f) != 0)
        die("cannot write the request file");
    return 0;
}

/* ---- run: the measured loop ------------------------------------------------------------------ */

struct req {
    const char *p;
    size_t len;
};

enum cstate { C_DOWN = 0, C_CONNECTING, C_IDLE, C_SENDING, C_READING };

struct conn {
    int fd;
    enum cstate st;
    const struct req *rq;
    size_t sent;
    int64_t t0;                     /* when the request was due (open loop) or sent */
    char in[IN_BUF];
    size_t in_len;
    size_t head_len;                /* 0 until the header block is complete */
    long long body_left;            /* body bytes still to read (beyond what is in in[]) */
    int status;
    bool close_after;
};

struct samples {
    uint32_t *v;                    /* microseconds */
    size_t n, cap;
};

struct stats {
    struct samples lat;             /* due (or sent) to answered */
    struct samples late;            /* open loop: due to actually sent, our own lateness */
    long long status[600];
    long long conn_err, proto_err, timeouts, completed_window, completed_total, sent;
};

struct run {
    int ep;
    struct sockaddr_in sa;
    struct conn *c;
    int n;
    struct req *reqs;
    size_t n_reqs, next;
    bool wrap, exhausted;
    double rate;
    int64_t start, warm_end, end;
    long long due_idx;              /* open loop: requests due so far */
    long long connect_fails;
    long long backlog;              /* open loop: requests due but never sent (server too slow) */
    void *map;
    size_t map_len;
    struct stats s;
};

static void sample_add(struct samples *s, int64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        uint32_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            die("out of memory");
        s->v = v;
        s->cap = cap;
    }
    int64_t us = ns < 0 ? 0 : ns / 1000;
    s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void ep_set(struct run *r, struct conn *c, uint32_t events, int op)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(r->ep, op, c->fd, &ev) != 0)
        die("epoll_ctl failed");
}

static void conn_close(struct run *r, struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->st = C_DOWN;
    c->rq = NULL;
}

static void conn_open(struct run *r, struct conn *c)
{
    if (r->connect_fails > MAX_CONNECT_FAILS)
        die("too many connection failures");
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket failed");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(c->fd, (struct sockaddr *)&r->sa, sizeof r->sa);
    if (rc != 0 && errno != EINPROGRESS) {
        r->connect_fails++;
        r->s.conn_err++;
        close(c->fd);
        c->fd = -1;
        c->st = C_DOWN;
        return;
    }
    c->st = C_CONNECTING;
    ep_set(r, c, EPOLLOUT, EPOLL_CTL_ADD);
}

/* A request failed on this connection: count it, start over with a new connection. */
static void conn_fail(struct run *r, struct conn *c, bool proto)
{
    if (c->rq) {
        if (proto)
            r->s.proto_err++;
        else
            r->s.conn_err++;
    }
    conn_close(r, c);
    conn_open(r, c);
}

static const struct req *next_req(struct run *r)
{
    if (r->next >= r->n_reqs) {
        if (!r->wrap) {
            r->exhausted = true;
            return NULL;
        }
        r->next = 0;
    }
    return &r->reqs[r->next++];
}

static void try_send(struct run *r, struct conn *c)
{
    while (c->sent < c->rq->len) {
        ssize_t w = send(c->fd, c->rq->p + c->sent, c->rq->len - c->sent, MSG_NOSIGNAL);
        if (w > 0) {
            c->sent += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (c->st != C_SENDING) {
                c->st = C_SENDING;
                ep_set(r, c, EPOLLOUT, EPOLL_CTL_MOD);
            }
            return;
        }
        conn_fail(r, c, false);
        return;
    }
    bool was_sending = c->st == C_SENDING;
    c->st = C_READING;
    c->in_len = c->head_len = 0;
    c->body_left = 0;
    if (was_sending)
        ep_set(r, c, EPOLLIN, EPOLL_CTL_MOD);
}

/* Starts a request on an idle connection; t0 is when it was due. */
static bool start_req(struct run *r, struct conn *c, int64_t t0)
{
    const struct req *rq = next_req(r);
    if (!rq)
        return false;
    c->rq = rq;
    c->sent = 0;
    c->t0 = t0;
    r->s.sent++;
    if (r->rate > 0 && t0 >= r->warm_end)
        sample_add(&r->s.late, now_ns() - t0);
    try_send(r, c);
    return true;
}

/* Parses the header block in c->in (NUL-free ASCII expected). */
static bool parse_head(struct conn *c, size_t head_len)
{
    if (head_len < 12 || memcmp(c->in, "HTTP/1.", 7) != 0)
        return false;
    c->status = atoi(c->in + 9);
    if (c->status < 100 || c->status > 599)
        return false;
    long long clen = -1;
    c->close_after = c->in[7] == '0';
    const char *p = memchr(c->in, '\n', head_len);
    const char *end = c->in + head_len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            break;
        size_t ll = (size_t)(nl - line);
        if (ll > 15 && strncasecmp(line, "Content-Length:", 15) == 0)
            clen = strtoll(line + 15, NULL, 10);
        else if (ll > 11 && strncasecmp(line, "Connection:", 11) == 0 &&
                 memmem(line, ll, "close", 5))
            c->close_after = true;
        else if (ll > 18 && strncasecmp(line, "Transfer-Encoding:", 18) == 0)
            return false;                      /* our servers always send Content-Length */
        p = nl;
    }
    if (clen < 0)
        clen = 0;
    c->head_len = head_len;
    c->body_left = clen - (long long)(c->in_len - head_len);
    return c->body_left >= 0;
}

static void on_complete(struct run *r, struct conn *c, int64_t t)
{
    struct stats *s = &r->s;
    s->completed_total++;
    if (t >= r->warm_end && t <= r->end)
        s->completed_window++;
    if (c->t0 >= r->warm_end && c->t0 <= r->end) {
        s->status[c->status]++;
        sample_add(&s->lat, t - c->t0);
    }
    c->rq = NULL;
    if (c->close_after) {
        conn_close(r, c);
        conn_open(r, c);
        return;
    }
    c->st = C_IDLE;
}

static void on_readable(struct run *r, struct conn *c, int64_t t)
{
    for (;;) {
        char *dst = c->in + c->in_len;
        size_t room = sizeof c->in - c->in_len;
        char scratch[IN_BUF];
        if (c->head_len) {               /* the body is only counted, not kept */
            dst = scratch;
            room = sizeof scratch;
        }
        if (room == 0) {
            conn_fail(r, c, true);       /* a header block larger than the buffer */
            return;
        }
        ssize_t n = recv(c->fd, dst, room, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            conn_fail(r, c, false);
            return;
        }
        if (c->st != C_READING) {        /* bytes nobody asked for */
            conn_fail(r, c, true);
            return;
        }
        if (c->head_len) {
            c->body_left -= n;
        } else {
            c->in_len += (size_t)n;
            char *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
            if (!e)
                continue;
            if (!parse_head(c, (size_t)(e + 4 - c->in))) {
                conn_fail(r, c, true);
                return;
            }
        }
        if (c->body_left < 0) {          /* more than one answer: pipelining is off */
            conn_fail(r, c, true);
            return;
        }
        if (c->body_left == 0) {
            on_complete(r, c, t);
            return;
        }
    }
}

static void on_event(struct run *r, struct conn *c, uint32_t ev, int64_t t)
{
    if (c->st == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) {
            r->connect_fails++;
            r->s.conn_err++;
            conn_close(r, c);
            conn_open(r, c);
            return;
        }
        c->st = C_IDLE;
        ep_set(r, c, EPOLLIN, EPOLL_CTL_MOD);
        return;
    }
    if (c->st == C_SENDING && (ev & EPOLLOUT)) {
        try_send(r, c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (c->st == C_IDLE) {           /* the server closed an idle keep-alive connection */
            conn_close(r, c);
            conn_open(r, c);
            return;
        }
        on_readable(r, c, t);
    }
}

/* epoll_wait with a nanosecond timeout (epoll_pwait2, Linux 5.11); where that is missing
 * (older kernels, valgrind) a millisecond timeout rounded up. */
static int wait_events(int ep, struct epoll_event *evs, int n, int64_t wait_ns)
{
    static bool no_pwait2;
    if (!no_pwait2) {
        struct timespec tmo = {.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
        int k = epoll_pwait2(ep, evs, n, &tmo, NULL);
        if (k >= 0 || errno != ENOSYS)
            return k;
        no_pwait2 = true;
    }
    return epoll_wait(ep, evs, n, (int)((wait_ns + 999999) / 1000000));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* q-quantile of sorted samples in ms (nearest rank); 0 when empty. */
static double pct_ms(const struct samples *s, double q)
{
    if (!s->n)
        return 0;
    size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
    return s->v[i] / 1000.0;
}

/* Maps FILE ("<len>\n<bytes>" records) and indexes it. */
static void load_requests(struct run *r, const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0)
        die("cannot read the request file");
    const char *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
                            0);
    close(fd);
    if (base == MAP_FAILED)
        die("cannot map the request file");
    r->map = (void *)base;
    r->map_len = (size_t)st.st_size;
    const char *p = base, *end = base + st.st_size;
    size_t cap = 0;
    while (p < end) {
        char *nl;
        long len = strtol(p, &nl, 10);
        if (nl >= end || *nl != '\n' || len <= 0 || len > end - nl - 1)
            die("request file is corrupt");
        if (r->n_reqs == cap) {
            cap = cap ? cap * 2 : 4096;
            if (cap > MAX_REQUESTS)
                die("request file too large");
            r->reqs = realloc(r->reqs, cap * sizeof *r->reqs);
            if (!r->reqs)
                die("out of memory");
        }
        r->reqs[r->n_reqs++] = (struct req){.p = nl + 1, .len = (size_t)len};
        p = nl + 1 + len;
    }
}

static int cmd_run(int argc, char **argv)
{
    const char *addr = NULL, *file = NULL, *path = NULL;
    long conns = 64;
    double secs = 10, rate = 0, warm = 0;
    bool wrap = false;
    int o;
    while ((o = getopt(argc, argv, "a:f:p:c:d:r:w:W")) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'f': file = optarg; break;
        case 'p': path = optarg; break;
        case 'c': conns = strtol(optarg, NULL, 10); break;
        case 'd': secs = strtod(optarg, NULL); break;
        case 'r': rate = strtod(optarg, NULL); break;
        case 'w': warm = strtod(optarg, NULL); break;
        case 'W': wrap = true; break;
        default: return 2;
        }
    }
    static struct run r;
    parse_addr(addr, &r.sa);
    if (conns < 1 || conns > MAX_CONNS || secs <= 0 || secs > MAX_SECONDS || rate < 0 ||
        rate > 1e6 || warm < 0 || warm >= secs || (!file && !path))
        die("run needs -a HOST:PORT, -f FILE or -p PATH, -c 1..1024, -d 0..120, -w < -d");
    static char get_req[1024];
    if (file) {
        load_requests(&r, file);
    } else {
        char host[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &r.sa.sin_addr, host, sizeof host);
        int n = snprintf(get_req, sizeof get_req, "GET %s HTTP/1.1\r\nHost: %s:%u\r\n\r\n", path,
                         host, (unsigned)ntohs(r.sa.sin_port));
        if (n < 0 || (size_t)n >= sizeof get_req)
            die("path too long");
        r.reqs = malloc(sizeof *r.reqs);
        if (!r.reqs)
            die("out of memory");
        r.reqs[0] = (struct req){.p = get_req, .len = (size_t)n};
        r.n_reqs = 1;
        wrap = true;
    }
    r.wrap = wrap;
    r.rate = rate;
    r.n = (int)conns;
    r.c = calloc((size_t)conns, sizeof *r.c);
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r.c || r.ep < 0)
        die("cannot set up");
    signal(SIGPIPE, SIG_IGN);

    /* connect everything before the clock starts */
    for (int i = 0; i < r.n; i++) {
        r.c[i].fd = -1;
        conn_open(&r, &r.c[i]);
    }
    struct epoll_event evs[256];
    int64_t setup_end = now_ns() + 5000000000LL;
    for (;;) {
        int idle = 0;
        for (int i = 0; i < r.n; i++)
            idle += r.c[i].st == C_IDLE;
        if (idle == r.n)
            break;
        if (now_ns() > setup_end)
            die("could not connect every connection within 5 s");
        int k = epoll_wait(r.ep, evs, 256, 100);
        for (int i = 0; i < k; i++)
            on_event(&r, evs[i].data.ptr, evs[i].events, now_ns());
    }

    r.start = now_ns();
    r.warm_end = r.start + (int64_t)(warm * 1e9);
    r.end = r.start + (int64_t)(secs * 1e9);
    int64_t hard_end = r.end + DRAIN_NS;
    double interval = rate > 0 ? 1e9 / rate : 0;
    int64_t t = r.start;
    for (;;) {
        t = now_ns();
        bool sending = t < r.end && !r.exhausted;
        /* hand out work to idle connections */
        if (sending) {
            if (rate > 0) {
                long long due_now = (long long)((double)(t - r.start) / interval) + 1;
                for (int i = 0; i < r.n && r.due_idx < due_now && !r.exhausted; i++) {
                    struct conn *c = &r.c[i];
                    if (c->st != C_IDLE)
                        continue;
                    int64_t due = r.start + (int64_t)((double)r.due_idx * interval);
                    if (start_req(&r, c, due))
                        r.due_idx++;
                }
            } else {
                for (int i = 0; i < r.n && !r.exhausted; i++)
                    if (r.c[i].st == C_IDLE)
                        start_req(&r, &r.c[i], t);
            }
            if (r.exhausted && t < r.end)
                r.end = t;                  /* the file ran out: the window ends here */
        }
        int busy = 0;
        for (int i = 0; i < r.n; i++)
            busy += r.c[i].st == C_SENDING || r.c[i].st == C_READING ||
                    (r.c[i].rq && r.c[i].st == C_CONNECTING);
        if (!(t < r.end && !r.exhausted) && busy == 0)
            break;
        if (t >= hard_end)
            break;
        /* sleep until an event or, in the open loop, the next due time (ns precision: a
         * millisecond timer would add up to 1 ms of our own lateness to every latency) */
        int64_t wait = 100000000;
        if (rate > 0 && t < r.end) {
            int64_t next_due = r.start + (int64_t)((double)r.due_idx * interval);
            wait = next_due - t;
            if (wait < 0)
                wait = 0;
            if (wait > 100000000)
                wait = 100000000;
        }
        int k = wait_events(r.ep, evs, 256, wait);
        if (k < 0 && errno != EINTR)
            die("epoll_wait failed");
        int64_t te = now_ns();
        for (int i = 0; i < k; i++)
            on_event(&r, evs[i].data.ptr, evs[i].events, te);
    }
    for (int i = 0; i < r.n; i++)
        if (r.c[i].rq && r.c[i].st != C_IDLE)
            r.s.timeouts++;
    if (rate > 0 && !r.exhausted) {
        long long due_end = (long long)((double)(r.end - r.start) / interval);
        r.backlog = due_end > r.due_idx ? due_end - r.due_idx : 0;
    }

    struct stats *s = &r.s;
    qsort(s->lat.v, s->lat.n, sizeof *s->lat.v, cmp_u32);
    qsort(s->late.v, s->late.n, sizeof *s->late.v, cmp_u32);
    double window = (double)(r.end - r.warm_end) / 1e9;
    long long errors = s->conn_err + s->proto_err + s->timeouts;
    for (int i = 0; i < 600; i++)
        if (i < 200 || i > 299)
            errors += s->status[i];
    printf("rps=%.1f window_s=%.2f completed=%lld sent=%lld p50_ms=%.3f p90_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f errors=%lld conn_errors=%lld proto_errors=%lld timeouts=%lld "
           "exhausted=%d backlog=%lld target_rps=%.1f send_late_p99_ms=%.3f",
           window > 0 ? (double)s->completed_window / window : 0, window, s->completed_window,
           s->sent, pct_ms(&s->lat, 0.50), pct_ms(&s->lat, 0.90), pct_ms(&s->lat, 0.99),
           pct_ms(&s->lat, 1.0), errors, s->conn_err, s->proto_err, s->timeouts,
           r.exhausted ? 1 : 0, r.backlog, rate, pct_ms(&s->late, 0.99));
    for (int i = 100; i < 600; i++)
        if (s->status[i])
            printf(" status_%d=%lld", i, s->status[i]);
    printf("\n");
    for (int i = 0; i < r.n; i++)
        conn_close(&r, &r.c[i]);
    close(r.ep);
    free(r.c);
    free(s->lat.v);
    free(s->late.v);
    if (r.map)
        munmap(r.map, r.map_len);
    free(r.reqs);
    return 0;
}

/* ---- small helpers for run.sh ---------------------------------------------------------------- */

/* One blocking exchange with a deadline: sends raw request bytes, reads one answer (to its
 * Content-Length, or until the server closes; at most 1 MiB) and writes the body to out (may be
 * NULL). Returns the status, or -1. */
static int http_exchange(const struct sockaddr_in *sa, const char *req, size_t req_len,
                         int timeout_ms, FILE *out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int status = -1;
    char *buf = NULL;
    if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 ||
        send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len)
        goto out;
    size_t cap = 1 << 20, len = 0;
    buf = malloc(cap + 1);
    if (!buf)
        goto out;
    long long want = -1;                  /* total bytes of the answer, once known */
    const char *body = NULL;
    while (len < cap && (want < 0 || (long long)len < want)) {
        ssize_t k = recv(fd, buf + len, cap - len, 0);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        if (!body && (body = strstr(buf, "\r\n\r\n"))) {
            body += 4;
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            if (cl && cl < body)
                want = (long long)(body - buf) + strtoll(cl + 17, NULL, 10);
        }
    }
    buf[len] = '\0';
    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || !body)
        goto out;
    status = atoi(buf + 9);
    if (out)
        fwrite(body, 1, len - (size_t)(body - buf), out);
out:
    free(buf);
    close(fd);
    return status;
}

static int http_get(const struct sockaddr_in *sa, const char *path, int timeout_ms, FILE *out)
{
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (n < 0 || (size_t)n >= sizeof req)
        return -1;
    return http_exchange(sa, req, (size_t)n, timeout_ms, out);
}

/* Sends request number INDEX of a request file once and prints the answer's body (a sanity
 * check of what the measured requests do). Exit 0 on 200. */
static int cmd_send(int argc, char **argv)
{
    const char *addr = NULL, *file = NULL;
    long index = 0;
    int o;
    while ((o = getopt(argc, argv, "a:f:i:")) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'f': file = optarg; break;
        case 'i': index = strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    static struct run r;
    parse_addr(addr, &r.sa);
    if (!file || index < 0)
        die("send needs -a HOST:PORT -f FILE [-i INDEX]");
    load_requests(&r, file);
    if ((size_t)index >= r.n_reqs)
        die("no such request in the file");
    int st = http_exchange(&r.sa, r.reqs[index].p, r.reqs[index].len, 5000, stdout);
    printf("\n");
    munmap(r.map, r.map_len);
    free(r.reqs);
    return st == 200 ? 0 : 1;
}

static int cmd_get(int argc, char **argv)
{
    const char *addr = NULL, *path = "/";
    double timeout = 5;
    int o;
    while ((o = getopt(argc, argv, "a:p:t:")) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'p': path = optarg; break;
        case 't': timeout = strtod(optarg, NULL); break;
        default: return 2;
        }
    }
    struct sockaddr_in sa;
    parse_addr(addr, &sa);
    if (timeout <= 0 || timeout > 60)
        die("timeout must be in 0..60 s");
    return http_get(&sa, path, (int)(timeout * 1000), stdout) == 200 ? 0 : 1;
}

static int cmd_wait(int argc, char **argv)
{
    const char *addr = NULL, *path = NULL;
    double timeout = 10;
    int o;
    while ((o = getopt(argc, argv, "a:p:t:")) != -1) {
        switch (o) {
        case 'a': addr = optarg; break;
        case 'p': path = optarg; break;
        case 't': timeout = strtod(optarg, NULL); break;
        default: return 2;
        }
    }
    struct sockaddr_in sa;
    parse_addr(addr, &sa);
    if (timeout <= 0 || timeout > 120)
        die("timeout must be in 0..120 s");
    int64_t end = now_ns() + (int64_t)(timeout * 1e9);
    while (now_ns() < end) {
        if (path) {
            if (http_get(&sa, path, 1000, NULL) == 200)
                return 0;
        } else {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
            if (fd >= 0)
                close(fd);
            if (ok)
                return 0;
        }
        usleep(5000);   /* 5 ms: `wait` also times start-up */
    }
    return 1;
}

struct spin {
    int64_t end, ran;
};

static void *spin_main(void *arg)
{
    struct spin *s = arg;
    int64_t last = now_ns(), ran = 0;
    for (;;) {
        int64_t t = now_ns();
        if (t - last < 200000)
            ran += t - last;
        last = t;
        if (t >= s->end)
            break;
    }
    s->ran = ran;
    return NULL;
}

static int cmd_cpu(int argc, char **argv)
{
    long n = 2;
    double secs = 2;
    int o;
    while ((o = getopt(argc, argv, "n:d:")) != -1) {
        switch (o) {
        case 'n': n = strtol(optarg, NULL, 10); break;
        case 'd': secs = strtod(optarg, NULL); break;
        default: return 2;
        }
    }
    if (n < 1 || n > 64 || secs <= 0 || secs > 10)
        die("cpu needs -n 1..64 and -d in (0, 10]");
    pthread_t th[64];
    struct spin sp[64];
    int64_t start = now_ns(), end = start + (int64_t)(secs * 1e9);
    for (long i = 0; i < n; i++) {
        sp[i] = (struct spin){.end = end};
        if (pthread_create(&th[i], NULL, spin_main, &sp[i]) != 0)
            die("pthread_create failed");
    }
    double ran = 0;
    for (long i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ran += (double)sp[i].ran;
    }
    printf("effective_cpus=%.2f threads=%ld\n", ran / (double)(now_ns() - start), n);
    return 0;
}

static int cmd_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        die("cannot find a free port");
    printf("%u\n", (unsigned)ntohs(sa.sin_port));
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: loadgen gen|wgen|run|get|send|wait|port|cpu [options] (see loadgen.c)\n");
        return 2;
    }
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc, argv);
    if (strcmp(cmd, "wgen") == 0)
        return cmd_wgen(argc, argv);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc, argv);
    if (strcmp(cmd, "get") == 0)
        return cmd_get(argc, argv);
    if (strcmp(cmd, "send") == 0)
        return cmd_send(argc, argv);
    if (strcmp(cmd, "wait") == 0)
        return cmd_wait(argc, argv);
    if (strcmp(cmd, "port") == 0)
        return cmd_port();
    if (strcmp(cmd, "cpu") == 0)
        return cmd_cpu(argc, argv);
    fprintf(stderr, "loadgen: unknown command %s\n", cmd);
    return 2;
}
