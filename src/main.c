/* The falkorsync command line: parses argv and runs one command. */
#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bolt/bolt.h"
#include "config/config.h"
#include "log/log.h"
#include "service/ha.h"
#include "service/http.h"
#include "service/notify.h"
#include "service/state.h"
#include "sync/orchestrator.h"
#include "sync/verify.h"
#include "sync/full.h"
#include "sync/plan.h"
#include "sync/lease.h"
#include "sync/probe.h"
#include "sync/profile.h"
#include "version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: falkorsync [--help] [--version] <command> [--config FILE] [options]\n"
            "\n"
            "Keeps a FalkorDB graph cache in step with a Neo4j primary.\n"
            "\n"
            "Commands:\n"
            "  serve [FILE]    run continuously: full sync on startup or empty cache, then\n"
            "                  incremental every sync.interval_seconds (deletes checked\n"
            "                  beside it, on a thread of its own), a reconcile slice\n"
            "                  between runs (sync.reconcile_every, sync.reconcile_slice_ms);\n"
            "                  SIGTERM stops cleanly (exit 0)\n"
            "  full            copy every type of the profile into a shadow graph, index it, swap "
            "it in\n"
            "                  (resumes after a crash; prints a JSON summary)\n"
            "  incremental     apply what changed since the last run (watermarks from the data,\n"
            "                  with an overlap window); an empty cache gets a full sync\n"
            "  reconcile       compare item by item and fix: upsert what differs, delete what\n"
            "                  Neo4j no longer has (prints what it found, then a JSON summary)\n"
            "  verify [--json] compare Neo4j and FalkorDB item by item; exit 1 on any difference\n"
            "  plan [--json]   size estimate: per cache graph the items Neo4j holds and the\n"
            "                  FalkorDB memory they will take, the peak of a full sync (a shadow\n"
            "                  copy of the largest graph next to the live one) against\n"
            "                  maxmemory; exit 3 when it does not fit (read-only)\n"
            "  ping            connect to Neo4j and FalkorDB and report their versions\n"
            "  config          print the effective settings (secrets masked)\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE  YAML configuration; environment variables override it\n"
            "  --force            full, incremental, reconcile: take the cache's writer lease\n"
            "                     even while another falkorsync holds it (logged; its writes\n"
            "                     are then refused and a serve waits as standby)\n"
            "  -h, --help         show this help and exit\n"
            "  -V, --version      print the version and exit\n"
            "\n"
            "Environment (defaults in brackets; see 'falkorsync config' for all):\n"
            "  NEO4J_URI [bolt://127.0.0.1:7687]  NEO4J_USER [neo4j]  NEO4J_PASSWORD\n"
            "  NEO4J_DATABASE [neo4j]  FALKORDB_HOST [127.0.0.1]  FALKORDB_PORT [6379]\n"
            "  FALKORDB_PASSWORD  FALKORDB_DATABASE [graphiti_cache]  SYNC_BATCH_SIZE [1000]\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage or configuration error, 3 plan: the\n"
            "cache does not fit in FalkorDB's memory.\n");
}

struct cli {
    const char *config_path;
    bool json;
    bool force; /* --force: take the writer lease even from another holder */
    struct cfg cfg;
};

/* Parses the options after the command name and loads the configuration. */
static int cli_load(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cli->config_path = optarg;
            break;
        case 'j':
            cli->json = true;
            break;
        case 'f':
            cli->force = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            return 2;
        }
    }
    if (optind < argc && !cli->config_path)
        cli->config_path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "falkorsync: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    char err[512];
    if (cfg_load(&cli->cfg, cli->config_path, err, sizeof err)) {
        fprintf(stderr, "falkorsync: configuration error: %s\n", err);
        cfg_deinit(&cli->cfg);
        return 2;
    }
    return 0;
}

/* Says each configuration warning: one log line each once the log is set up
 * (serve), else one stderr line each (the one-shot commands). */
static void say_config_warnings(const struct cfg *c, bool to_log)
{
    for (const char *w = c->warnings; *w;) {
        const char *nl = strchr(w, '\n');
        int len = nl ? (int)(nl - w) : (int)strlen(w);
        if (to_log)
            log_fields(LOG_WARNING, "configuration warning",
                       json_pack("{s:s%}", "warning", w, (size_t)len));
        else
            fprintf(stderr, "falkorsync: configuration warning: %.*s\n", len, w);
        w += len + (nl ? 1 : 0);
    }
}

static int cmd_ping(struct cli *cli)
{
    char neo[600], fdb[600];
    sync_probe_targets(&cli->cfg, neo, sizeof neo, fdb, sizeof fdb);
    struct probe_result pr;
    int rc = sync_probe(&cli->cfg, PROBE_VERSIONS, 0, &pr);
    if (pr.neo4j.ok)
        printf("neo4j: ok %s, %s\n", pr.neo4j.version, neo);
    else
        printf("neo4j: FAILED %s (%s)\n", pr.neo4j.error, neo);
    if (pr.falkordb.ok)
        printf("falkordb: ok %s with the graph module, %s\n", pr.falkordb.version, fdb);
    else
        printf("falkordb: FAILED %s (%s)\n", pr.falkordb.error, fdb);
    return rc ? 1 : 0;
}

/* A run's error as the CLI prints it: credentials masked. */
static void redact_report(struct sync_report *rep)
{
    char safe[sizeof rep->error];
    log_redact(rep->error, safe, sizeof safe);
    memcpy(rep->error, safe, sizeof safe);
}

static void print_setting(void *ud, const char *path, const char *env, const char *value,
                          const char *def, const char *doc)
{
    (void)ud;
    (void)def;
    (void)doc;
    char safe[1024];
    log_redact(value, safe, sizeof safe);
    printf("%-34s %-28s %s\n", path, env ? env : "-", safe);
}

static volatile sig_atomic_t stop_flag;
/* serve: the run in progress ends (set with stop_flag, and by POST /api/sync/stop) */
static volatile sig_atomic_t run_cancel_flag;

static volatile sig_atomic_t hup_flag;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        hup_flag = 1;
    else {
        stop_flag = 1;
        run_cancel_flag = 1;
    }
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The writing one-shot commands hold the cache's writer lease for their run (sync/lease.h):
 * refused with the holder's name while another falkorsync holds it, unless --force. On
 * success *run is cli's configuration fenced by the lease; free the lease after the run. */
static struct sync_lease *oneshot_lease(struct cli *cli, const char *cmd, struct cfg *run)
{
    struct sync_lease *l = sync_lease_new(&cli->cfg, cmd);
    struct sync_lease_info i;
    int rc = l ? sync_lease_try(l, cli->force, &i) : FS_ENOMEM;
    if (rc == 0) {
        char who[320];
        sync_lease_describe(&i, who, sizeof who);
        fprintf(stderr,
                "falkorsync: %s refused: the cache '%s' is being written by another falkorsync: "
                "%s. Stop it, wait for it, or run with --force to take the lease over (that "
                "one then stops writing; a serve waits as standby).\n",
                cmd, cli->cfg.falkordb.database, who);
    } else if (rc < 0) { /* reported like the run it stops, with its error code and side */
        struct sync_report rep;
        memset(&rep, 0, sizeof rep);
        snprintf(rep.error, sizeof rep.error, "%s", l ? i.error : fs_strerror(rc));
        sync_report_fail(&rep, l && i.code ? i.code : rc);
        redact_report(&rep);
        sync_report_json(&rep, cmd, stdout);
        fprintf(stderr, "falkorsync: %s failed: cannot take the cache's writer lease: %s\n", cmd,
                rep.error);
    }
    if (rc != 1 || sync_lease_keep(l, &stop_flag, &stop_flag)) {
        sync_lease_free(l);
        return NULL;
    }
    sync_lease_fence(l, &cli->cfg, run);
    return l;
}

/* Ends a one-shot command's hold on the lease; says so when the run failed because it was
 * lost (its connections were closed by the new holder, so the error alone reads like an
 * outage). */
static void oneshot_done(struct sync_lease *l, const char *cmd, int rc)
{
    if (rc && !sync_lease_active(l)) {
        struct sync_lease_info i;
        sync_lease_info(l, &i);
        fprintf(stderr,
                "falkorsync: %s lost the cache's writer lease (token %lld) while it ran: another "
                "falkorsync took it over, and this one wrote nothing after that\n",
                cmd, i.token);
    }
    sync_lease_free(l);
}

static int cmd_full(struct cli *cli)
{
    install_signals();
    struct sync_opts o = {.progress = isatty(STDERR_FILENO) != 0, .stop = &stop_flag};
    struct sync_report rep;
    struct cfg run;
    struct sync_lease *lease = oneshot_lease(cli, "full", &run);
    if (!lease)
        return 1;
    int rc = sync_full(&run, &o, &rep);
    oneshot_done(lease, "full", rc);
    if (rc)
        sync_report_fail(&rep, rc);
    redact_report(&rep);
    sync_report_json(&rep, "full", stdout);
    if (rc)
        fprintf(stderr, "falkorsync: full sync failed: %s\n", rep.error);
    return rc ? 1 : 0;
}

static int cmd_verify(struct cli *cli)
{
    struct verify_report rep;
    int rc = sync_verify(&cli->cfg, &rep);
    char safe[sizeof rep.error];
    log_redact(rep.error, safe, sizeof safe);
    memcpy(rep.error, safe, sizeof safe);
    verify_print(&rep, cli->json, stdout);
    if (rc)
        return 1;
    return verify_differences(&rep) ? 1 : 0;
}

/* Logging as configured. A log file that cannot be opened (even after creating
 * its folder) is not fatal: the log goes to stderr, with one warning. */
static void setup_logging(const struct cfg *c)
{
    char why[256] = "";
    if (log_setup(c->logging.level, c->logging.format == CFG_LOG_JSON, c->logging.file_path,
                  (size_t)c->logging.max_file_size_mb << 20, c->logging.backup_count, why,
                  sizeof why))
        log_fields(LOG_WARNING, "cannot open the log file, logging to stderr instead",
                   json_pack("{s:s,s:s}", "file_path", c->logging.file_path, "error", why));
}

static int cmd_serve(struct cli *cli)
{
    setup_logging(&cli->cfg);
    say_config_warnings(&cli->cfg, true);
    install_signals();
    /* every HTTP client costs a descriptor (two while a request is handed over): use all the
     * hard limit allows */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    const struct cfg *c = &cli->cfg;
    char neo[600], fdb[600];
    sync_probe_targets(c, neo, sizeof neo, fdb, sizeof fdb);
    log_fields(LOG_INFO, "falkorsync starting",
               json_pack("{s:s,s:i,s:s,s:i,s:i,s:s,s:s,s:s}", "version", FALKORSYNC_VERSION,
                         "interval_seconds", c->sync.interval_seconds, "layout",
                         c->falkordb.layout == CFG_LAYOUT_SINGLE ? "single" : "per_group",
                         "health_port", c->monitoring.health_port, "metrics_port",
                         c->monitoring.metrics_enabled ? c->monitoring.metrics_port : 0,
                         "bind_address", c->monitoring.bind_address, "neo4j", neo, "falkordb",
                         fdb));
    int rc;
    struct svc_state st;
    /* POST /api/sync/stop and /start outlive a restart: what they stored in FalkorDB wins
     * over sync.enable_continuous; without it (or FalkorDB) the configuration decides */
    bool continuous = c->sync.enable_continuous;
    char cerr[512] = "";
    int crc = sync_continuous_get(c, 5000, &continuous, cerr, sizeof cerr);
    if (crc < 0)
        log_fields(LOG_WARNING,
                   "cannot read the stored continuous switch; the configuration decides",
                   json_pack("{s:s,s:b}", "error", cerr, "continuous", c->sync.enable_continuous));
    else if (crc > 0)
        log_fields(LOG_INFO, "continuous switch restored",
                   json_pack("{s:b,s:b}", "continuous", continuous, "configured",
                             c->sync.enable_continuous));
    svc_state_init(&st, continuous, c->sync.interval_seconds);
    st.cancel_run = &run_cancel_flag;
    st.max_retries = c->sync.max_retries;
    st.types = sync_profile_of(c)->types;
    st.ntypes = sync_profile_of(c)->ntypes;
    char err[512];
    struct http_server *http = http_start(c, &st, &hup_flag, err, sizeof err);
    if (!http) {
        log_fields(LOG_ERROR, "cannot start the HTTP service", json_pack("{s:s}", "error", err));
        fprintf(stderr, "falkorsync: %s\n", err);
        svc_state_deinit(&st);
        return 1;
    }
    svc_notify("READY=1"); /* systemd Type=notify: the ports are open */
    struct orch_hooks hooks = svc_hooks(&st);
    struct orch_ctl ctl = svc_ctl(&st);
    ctl.shutdown = &stop_flag;
    /* one writer per cache: standby while another falkorsync holds the lease (service/ha.h) */
    struct sync_lease *lease = sync_lease_new(c, "serve");
    st.lease = lease;
    rc = lease ? svc_ha_loop(c, &stop_flag, &st, lease, &hooks, &ctl)
               : orch_loop(c, &stop_flag, &hooks, &ctl);
    svc_notify("STOPPING=1");
    pthread_mutex_lock(&st.mu);
    st.stopping = true; /* no more triggers */
    pthread_mutex_unlock(&st.mu);
    http_stop(http);
    sync_lease_free(lease);
    svc_state_deinit(&st);
    return rc;
}

static int cmd_incremental(struct cli *cli)
{
    install_signals();
    struct sync_opts o = {.progress = false, .stop = &stop_flag};
    struct sync_report rep;
    double lag = 0;
    struct cfg run;
    struct sync_lease *lease = oneshot_lease(cli, "incremental", &run);
    if (!lease)
        return 1;
    int rc = sync_incremental(&run, &o, &rep, &lag);
    oneshot_done(lease, "incremental", rc);
    if (rc)
        sync_report_fail(&rep, rc);
    redact_report(&rep);
    sync_report_json(&rep, rep.did_full ? "full" : "incremental", stdout);
    if (rc)
        fprintf(stderr, "falkorsync: incremental sync failed: %s\n", rep.error);
    else if (lag > 0)
        fprintf(stderr, "falkorsync: lag %.3f s (age of the oldest change applied)\n", lag);
    return rc ? 1 : 0;
}

static int cmd_reconcile(struct cli *cli)
{
    struct verify_report found;
    struct sync_report done;
    struct cfg run;
    struct sync_lease *lease = oneshot_lease(cli, "reconcile", &run);
    if (!lease)
        return 1;
    int rc = sync_reconcile(&run, &found, &done);
    oneshot_done(lease, "reconcile", rc);
    if (rc)
        sync_report_fail(&done, rc);
    redact_report(&done);
    char safe[sizeof found.error];
    log_redact(found.error, safe, sizeof safe);
    memcpy(found.error, safe, sizeof safe);
    if (!cli->json)
        verify_print(&found, false, stderr);
    sync_report_json(&done, "reconcile", stdout);
    if (rc)
        fprintf(stderr, "falkorsync: reconcile failed: %s\n", found.error);
    return rc ? 1 : 0;
}

/* Exit 0 fits (or the limit is unknown), 3 does not fit, 1 a database could not be read. */
static int cmd_plan(struct cli *cli)
{
    struct plan_report rep;
    int rc = sync_plan(&cli->cfg, &rep);
    if (rc) {
        char safe[sizeof rep.error];
        log_redact(rep.error, safe, sizeof safe);
        if (cli->json) {
            json_t *o =
                json_pack("{s:b,s:s,s:s}", "ok", 0, "error", safe, "error_code", fs_errname(rc));
            char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
            printf("%s\n", text ? text : "{\"ok\":false}");
            free(text);
            json_decref(o);
        }
        fprintf(stderr, "falkorsync: plan failed: %s\n", safe);
        sync_plan_free(&rep);
        return 1;
    }
    if (cli->json)
        sync_plan_json(&rep, &cli->cfg, stdout);
    else
        sync_plan_text(&rep, &cli->cfg, stdout);
    int exit_code = rep.verdict == PLAN_NO_FIT ? 3 : 0;
    sync_plan_free(&rep);
    return exit_code;
}

static int cmd_config(struct cli *cli)
{
    cfg_visit(&cli->cfg, print_setting, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    /* No glibc fastbins: a FalkorDB reply page is tens of thousands of small hiredis
     * objects, freed together; with fastbins, each large allocation after that walks and
     * merges all of them (malloc_consolidate was 27% of verify's CPU; off: verify's own CPU
     * 1.75 -> 1.0 s on 20k entities). */
    mallopt(M_MXFAST, 0);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("falkorsync %s\n", FALKORSYNC_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*run)(struct cli *);
    } commands[] = {
        {"full", cmd_full},
        {"serve", cmd_serve},
        {"verify", cmd_verify},
        {"reconcile", cmd_reconcile},
        {"incremental", cmd_incremental},
        {"plan", cmd_plan},
        {"ping", cmd_ping},
        {"config", cmd_config},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name))
            continue;
        struct cli cli = {0};
        int rc = cli_load(&cli, argc - 1, argv + 1);
        if (rc)
            return rc;
        if (cli.force && commands[i].run != cmd_full && commands[i].run != cmd_incremental &&
            commands[i].run != cmd_reconcile) {
            fprintf(stderr, "falkorsync: --force applies to full, incremental and reconcile\n");
            cfg_deinit(&cli.cfg);
            return 2;
        }
        if (commands[i].run != cmd_serve) { /* serve sets up its own after its checks */
            say_config_warnings(&cli.cfg, false);
            setup_logging(&cli.cfg); /* LOG_LEVEL, LOG_FILE, LOG_FORMAT apply to every command */
        }
        /* one Neo4j routing table for the whole process: a dead seed fails no run while
         * the members it listed answer */
        struct bolt_route_cache routes;
        bolt_route_cache_init(&routes);
        cli.cfg.neo4j_routes = &routes;
        rc = commands[i].run(&cli);
        bolt_route_cache_deinit(&routes);
        cfg_deinit(&cli.cfg);
        return rc;
    }
    fprintf(stderr, "falkorsync: unknown command '%s' (try --help)\n", cmd);
    return 2;
}
