/* Unit tests for service/front: whole requests only reach the backend, per-client eviction,
 * timeouts, size limits, and a WebSocket reader too slow for the feed is dropped. Loopback only,
 * against a small backend thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "service/front.h"

struct backend {
    int lfd, port;
    volatile int quit;
    pthread_t thread;
    volatile int requests; /* whole requests seen */
};

static void *backend_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    size_t n = 0;
    while (n < sizeof buf - 1) {
        ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[n] = '\0';
    if (strstr(buf, "Upgrade: websocket")) {
        const char *head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
        send(fd, head, strlen(head), MSG_NOSIGNAL);
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        while (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) > 0) /* until the front drops it */
            ;
    } else if (strstr(buf, "\r\n\r\n")) {
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        send(fd, ok, strlen(ok), MSG_NOSIGNAL);
    }
    close(fd);
    return NULL;
}

static void *backend_main(void *arg)
{
    struct backend *b = arg;
    while (!b->quit) {
        int fd = accept(b->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        b->requests++;
        pthread_t t;
        pthread_create(&t, NULL, backend_conn, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

static void backend_start(struct backend *b)
{
    memset(b, 0, sizeof *b);
    b->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(b->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(b->lfd, 64), 0);
    getsockname(b->lfd, (struct sockaddr *)&sa, &sl);
    b->port = ntohs(sa.sin_port);
    struct timeval tv = {0, 100000};
    setsockopt(b->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pthread_create(&b->thread, NULL, backend_main, b);
}

static void backend_stop(struct backend *b)
{
    b->quit = 1;
    pthread_join(b->thread, NULL);
    close(b->lfd);
}

static const struct front_limits defaults = {
    .max_connections = 64,
    .max_per_client = 8,
    .header_timeout_ms = 5000,
    .idle_timeout_ms = 5000,
    .max_request_bytes = 16 * 1024 + 64 * 1024,
    .max_pending_out = 256 * 1024,
};

static struct front *start(struct backend *b, const struct front_limits *lim, int *port)
{
    char err[256];
    for (int i = 0; i < 8; i++) {
        *port = front_free_loopback_port();
        struct front *f = front_start("127.0.0.1", *port, b->port, lim, err, sizeof err);
        if (f)
            return f;
    }
    fail_msg("front_start: %s", err);
    return NULL;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static void say(int fd, const char *s)
{
    assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Everything the peer sends until it closes (or 3 s of silence). */
static void hear(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = recv(fd, out + n, cap - 1 - n, 0)) > 0)
        n += (size_t)r;
    out[n] = '\0';
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_whole_request_in_pieces(void **state)
{
    struct backend b;
    backend_start(&b);
    int port;
    struct front *f = start(&b, &defaults, &port);
    int fd = connect_to(port);
    say(fd, "GET /health HTTP/1.1\r\n");
    sleep_ms(150);
    assert_int_equal(b.requests, 0); /* the backend sees nothing of an unfinished request */
    say(fd, "Host: x\r\n");
    sleep_ms(150);
    say(fd, "\r\n");
    char got[512];
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "200 OK"));
    assert_non_null(strstr(got, "\r\n\r\nok"));
    assert_int_equal(b.requests, 1);
    close(fd);
    front_stop(f);
    backend_stop(&b);
}

static void test_request_then_half_close(void **state)
{
    struct backend b;
    backend_start(&b);
    int port;
    struct front *f = start(&b, &defaults, &port);
    int fd = connect_to(port); /* like `printf 'GET ...' | nc -N`: send, then shut down writing */
    say(fd, "GET /health HTTP/1.0\r\n\r\n");
    shutdown(fd, SHUT_WR);
    char got[512];
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "200 OK"));
    close(fd);
    fd = connect_to(port); /* half a request, then a hang-up: nothing reaches the backend */
    say(fd, "GET /health HTTP/1.0\r\n");
    shutdown(fd, SHUT_WR);
    hear(fd, got, sizeof got);
    assert_string_equal(got, "");
    close(fd);
    assert_int_equal(b.requests, 1);
    front_stop(f);
    backend_stop(&b);
}

static void test_per_client_eviction(void **state)
{
    struct backend b;
    backend_start(&b);
    struct front_limits lim = defaults;
    lim.max_per_client = 4;
    int port;
    struct front *f = start(&b, &lim, &port);
    int idle[4];
    for (int i = 0; i < 4; i++) {
        idle[i] = connect_to(port);
        say(idle[i], "GET / HTTP/1.1\r\n"); /* never finished */
        sleep_ms(20);
    }
    int fd = connect_to(port); /* the fifth from the same address still gets in */
    say(fd, "GET /health HTTP/1.1\r\n\r\n");
    char got[512];
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "200 OK"));
    hear(idle[0], got, sizeof got); /* the oldest unfinished one made room */
    assert_non_null(strstr(got, "503"));
    struct front_stats st;
    front_stats(f, &st);
    assert_int_equal(st.evicted, 1);
    for (int i = 0; i < 4; i++)
        close(idle[i]);
    close(fd);
    front_stop(f);
    backend_stop(&b);
}

static void test_total_cap_eviction(void **state)
{
    struct backend b;
    backend_start(&b);
    struct front_limits lim = defaults;
    lim.max_connections = 3;
    lim.max_per_client = 100;
    int port;
    struct front *f = start(&b, &lim, &port);
    int idle[3];
    for (int i = 0; i < 3; i++) {
        idle[i] = connect_to(port);
        sleep_ms(20);
    }
    int fd = connect_to(port); /* past the total: the oldest unfinished connection goes */
    say(fd, "GET /health HTTP/1.1\r\n\r\n");
    char got[512];
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "200 OK"));
    hear(idle[0], got, sizeof got);
    assert_non_null(strstr(got, "503"));
    struct front_stats st;
    front_stats(f, &st);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.refused, 0);
    for (int i = 0; i < 3; i++)
        close(idle[i]);
    close(fd);
    front_stop(f);
    backend_stop(&b);
}

static void test_request_timeout(void **state)
{
    struct backend b;
    backend_start(&b);
    struct front_limits lim = defaults;
    lim.header_timeout_ms = 300;
    int port;
    struct front *f = start(&b, &lim, &port);
    int fd = connect_to(port);
    say(fd, "GET / HTTP/1.1\r\nHost: x\r\n");
    char got[512];
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "408"));
    struct front_stats st;
    front_stats(f, &st);
    assert_int_equal(st.timeouts, 1);
    assert_int_equal(b.requests, 0);
    close(fd);
    front_stop(f);
    backend_stop(&b);
}

static void test_size_limits(void **state)
{
    struct backend b;
    backend_start(&b);
    int port;
    struct front *f = start(&b, &defaults, &port);
    char got[512];
    int fd = connect_to(port);
    say(fd, "POST /api/sync/full HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "413"));
    close(fd);
    fd = connect_to(port);
    say(fd, "POST /api/sync/full HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "411"));
    close(fd);
    fd = connect_to(port); /* a head that never ends, past the size limit */
    static char junk[100 * 1024];
    memset(junk, 'a', sizeof junk);
    memcpy(junk, "GET /", 5);
    send(fd, junk, sizeof junk, MSG_NOSIGNAL);
    hear(fd, got, sizeof got);
    assert_non_null(strstr(got, "431"));
    close(fd);
    assert_int_equal(b.requests, 0);
    front_stop(f);
    backend_stop(&b);
}

static void test_slow_websocket_reader_dropped(void **state)
{
    struct backend b;
    backend_start(&b);
    int port;
    struct front *f = start(&b, &defaults, &port);
    int fd = connect_to(port);
    int small = 4096; /* a small receive buffer: the front's queue fills sooner */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    say(fd, "GET /ws/updates HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    struct front_stats st = {0};
    for (int i = 0; i < 100 && !st.slow_dropped; i++) { /* never reads; up to 10 s */
        sleep_ms(100);
        front_stats(f, &st);
    }
    assert_int_equal(st.slow_dropped, 1);
    assert_int_equal(st.open, 0);
    close(fd);
    front_stop(f);
    backend_stop(&b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_request_in_pieces),
        cmocka_unit_test(test_request_then_half_close),
        cmocka_unit_test(test_per_client_eviction),
        cmocka_unit_test(test_total_cap_eviction),
        cmocka_unit_test(test_request_timeout),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_slow_websocket_reader_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
