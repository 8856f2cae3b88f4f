/* Reads this process' CPU, memory, threads and descriptors from /proc and getrusage. */
#include "service/sysinfo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

void sysinfo_read(struct sysinfo_proc *p)
{
    memset(p, 0, sizeof *p);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        p->cpu_user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
        p->cpu_system = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    }
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            p->rss_bytes = strtoull(line + 6, NULL, 10) * 1024;
        else if (!strncmp(line, "VmSize:", 7))
            p->vsize_bytes = strtoull(line + 7, NULL, 10) * 1024;
        else if (!strncmp(line, "Threads:", 8))
            p->threads = (int)strtol(line + 8, NULL, 10);
    }
    if (f)
        fclose(f);
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            p->open_fds++;
    if (d) {
        closedir(d);
        p->open_fds--; /* the directory stream itself */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        p->max_fds = rl.rlim_cur;
    /* start time: field 22 of /proc/self/stat, in clock ticks since boot */
    f = fopen("/proc/self/stat", "r");
    char buf[1024];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    if (rp) {
        unsigned long long start = 0;
        char *s = rp + 2;
        for (int field = 3; field < 22 && s; field++) {
            s = strchr(s, ' ');
            if (s)
                s++;
        }
        if (s)
            start = strtoull(s, NULL, 10);
        FILE *u = fopen("/proc/uptime", "r");
        double up = 0;
        if (u) {
            if (fscanf(u, "%lf", &up) != 1)
                up = 0;
            fclose(u);
        }
        long hz = sysconf(_SC_CLK_TCK);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (hz > 0 && up > 0)
            p->start_time = (double)now.tv_sec - up + (double)start / (double)hz;
    }
}
