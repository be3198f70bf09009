/* test_http.c: the HTTP server's routing (bot/net/http.c) over real loopback sockets, with the
 * core replaced at link time (tests/unit/fakes/fake_core.c): one route table decides 404 and
 * 405 (with Allow), ambiguous framing is refused before routing, a chat request reaches the core
 * only with a good signature, and the core's answer is what the client gets. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bot/net/http.h"
#include "bot/sys/config.h"
#include "bot/sys/crypto.h"
#include "common/config_model.h"
#include "common/fq.h"
#include "tests/unit/fakes/fake_core.h"

static struct fq_config *cfg;
static struct http *srv;
static int port;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* Sends raw bytes, returns what came back until the server closed or 64 KiB (caller frees). */
static char *exchange(const char *req, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    cr_assert_eq(send(fd, req, len, 0), (ssize_t)len);
    char *buf = calloc(1, 65536);
    size_t got = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + got, 65535 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got >= 65535)
            break;
    }
    close(fd);
    return buf;
}

static char *request(const char *method, const char *path, const char *extra, const char *body)
{
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, extra ? extra : "", body ? strlen(body) : 0,
                     body ? body : "");
    return exchange(req, (size_t)n);
}

static int status_of(const char *resp)
{
    int st = 0;
    return sscanf(resp, "HTTP/1.1 %d", &st) == 1 ? st : -1;
}

static void signed_headers(const char *body, char *out, size_t size)
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)fq_now());
    struct fq_buf b;
    buf_init(&b);
    buf_printf(&b, "%s.%s", ts, body);
    unsigned char mac[32];
    char hex[65];
    crypto_hmac_sha256(cfg->chat_secret, strlen(cfg->chat_secret), b.s, b.len, mac);
    crypto_hex(mac, 32, hex);
    buf_cleanup(&b);
    snprintf(out, size,
             "Content-Type: application/json\r\nX-FQ-Timestamp: %s\r\nX-FQ-Signature: sha256=%s\r\n",
             ts, hex);
}

static void answer_chat(struct fq_msg *m)
{
    free(m->answer);
    m->status = 200;
    m->answer = fq_strdup("{\"replies\":[\"from the fake core\"]}");
}

static void setup(void)
{
    cfg = config_new_defaults();
    cr_assert_not_null(cfg);
    port = free_port();
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    free(cfg->server_listen);
    cfg->server_listen = fq_strdup(listen);
    free(cfg->chat_secret);
    cfg->chat_secret = fq_strdup("unit-test-secret");
    fake_core_reset();
    fake_core_async(true);
    fake_core_answer = answer_chat;
    char *cause = NULL;
    cr_assert_eq(http_start(cfg, NULL, &srv, &cause), FQ_OK, "http_start: %s",
                 cause ? cause : "?");
}

static void teardown(void)
{
    http_stop(srv);
    srv = NULL;
    config_free(cfg);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);

Test(http, unknown_paths_are_404_and_known_ones_answer)
{
    char *r = request("GET", "/healthz", NULL, NULL);
    cr_expect_eq(status_of(r), 200, "%s", r);
    free(r);
    const char *missing[] = {"/", "/healthz/x", "/chat/v1/message", "/api/v1/casesx", "/nope"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        r = request("GET", missing[i], NULL, NULL);
        cr_expect_eq(status_of(r), 404, "%s: %s", missing[i], r);
        free(r);
    }
}

Test(http, a_method_not_in_the_table_is_405_with_allow)
{
    struct { const char *method, *path, *allow; } cases[] = {
        {"GET", "/chat/v1/messages", "Allow: POST\r\n"},
        {"DELETE", "/healthz", "Allow: GET, HEAD\r\n"},
        {"PUT", "/api/v1/roster", "Allow: POST\r\n"},
        {"POST", "/metrics", "Allow: GET, HEAD\r\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = request(cases[i].method, cases[i].path, NULL, NULL);
        cr_expect_eq(status_of(r), 405, "%s %s: %s", cases[i].method, cases[i].path, r);
        cr_expect(strstr(r, cases[i].allow) != NULL, "%s %s: no %s in %s", cases[i].method,
                  cases[i].path, cases[i].allow, r);
        free(r);
    }
    struct fake_pushed p[4];
    cr_expect_eq(fake_core_pushed(p, 4), 0, "a refused request reached the core");
}

Test(http, ambiguous_framing_is_refused_before_routing)
{
    const char *req = "POST /chat/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n";
    char *r = exchange(req, strlen(req));
    cr_expect_eq(status_of(r), 400, "%s", r);
    free(r);
    const char *req2 = "GET /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n"
                       "Connection: close\r\n\r\nab";
    r = exchange(req2, strlen(req2));
    cr_expect_eq(status_of(r), 400, "framing is checked before the 404: %s", r);
    free(r);
    struct fake_pushed p[4];
    cr_expect_eq(fake_core_pushed(p, 4), 0);
}

Test(http, chat_reaches_the_core_only_when_signed)
{
    const char *body = "{\"channel\":\"web\",\"user\":\"u-1\",\"message_id\":\"m-1\","
                       "\"type\":\"text\",\"text\":\"hello core\"}";
    char *r = request("POST", "/chat/v1/messages",
                      "Content-Type: application/json\r\nX-FQ-Timestamp: 1\r\n"
                      "X-FQ-Signature: sha256=00\r\n", body);
    cr_expect_eq(status_of(r), 401, "%s", r);
    free(r);
    struct fake_pushed p[4];
    cr_expect_eq(fake_core_pushed(p, 4), 0, "an unsigned message reached the core");

    char hdrs[512];
    signed_headers(body, hdrs, sizeof hdrs);
    r = request("POST", "/chat/v1/messages", hdrs, body);
    cr_expect_eq(status_of(r), 200, "%s", r);
    cr_expect(strstr(r, "from the fake core") != NULL, "the core's answer is not the body: %s", r);
    free(r);
    cr_assert_eq(fake_core_pushed(p, 4), 1);
    cr_expect_eq(p[0].kind, FQ_MSG_CHAT);
    cr_expect_str_eq(p[0].text, "hello core");
}
