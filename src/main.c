/* The falkorsync command line: parses argv and runs one command. */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: falkorsync [--help] [--version] <command> [options]\n"
            "\n"
            "Keeps a FalkorDB graph cache in step with a Neo4j primary.\n"
            "\n"
            "Options:\n"
            "  -h, --help      show this help and exit\n"
            "  -V, --version   print the version and exit\n"
            "\n"
            "Environment:\n"
            "  NEO4J_URI (bolt://127.0.0.1:7687), NEO4J_USER (neo4j), NEO4J_PASSWORD,\n"
            "  NEO4J_DATABASE, FALKORDB_HOST (127.0.0.1), FALKORDB_PORT (6379),\n"
            "  FALKORDB_PASSWORD\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
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
    fprintf(stderr, "falkorsync: unknown command '%s' (try --help)\n", cmd);
    return 2;
}
