/* Unit tests for net's stop flag: a read waiting for a silent peer ends soon after the flag is
 * set (FS_ECANCELLED), while the read timeout alone still decides without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A loopback listener that accepts and never writes: *port set. */
static int listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static volatile sig_atomic_t flag;

static void *set_flag_later(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    flag = 1;
    return NULL;
}

static void test_stop_wakes_a_waiting_read(void **state)
{
    (void)state;
    int port;
    int lfd = listener(&port);
    flag = 0;
    struct net_opts o = {.read_timeout_ms = 30000, .stop = &flag};
    struct net_conn c;
    net_init(&c);
    assert_int_equal(net_connect(&c, "127.0.0.1", port, &o), 0);
    pthread_t th;
    pthread_create(&th, NULL, set_flag_later, NULL);
    char b[16];
    size_t got = 0;
    double t0 = mono();
    int rc = net_read_some(&c, b, sizeof b, &got);
    double took = mono() - t0;
    pthread_join(th, NULL);
    assert_int_equal(rc, FS_ECANCELLED);
    assert_true(took < 5); /* not the 30 s read timeout */
    assert_non_null(strstr(c.errstr, "stopped"));
    net_close(&c);
    close(lfd);
}

static void test_timeout_still_counts_with_a_flag(void **state)
{
    (void)state;
    int port;
    int lfd = listener(&port);
    flag = 0;
    struct net_opts o = {.read_timeout_ms = 250, .stop = &flag};
    struct net_conn c;
    net_init(&c);
    assert_int_equal(net_connect(&c, "127.0.0.1", port, &o), 0);
    char b[16];
    size_t got = 0;
    int rc = net_read_some(&c, b, sizeof b, &got);
    assert_int_equal(rc, FS_ETIMEOUT);
    assert_non_null(strstr(c.errstr, "timed out after 250 ms"));
    net_close(&c);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_wakes_a_waiting_read),
        cmocka_unit_test(test_timeout_still_counts_with_a_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
