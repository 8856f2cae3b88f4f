/* Process statistics from /proc for /api/system/metrics and the process_* metrics. */
#ifndef FALKORSYNC_SYSINFO_H
#define FALKORSYNC_SYSINFO_H

#include <stdint.h>

struct sysinfo_proc {
    double cpu_user, cpu_system; /* seconds */
    uint64_t rss_bytes, vsize_bytes;
    int threads;
    int open_fds;
    uint64_t max_fds;
    double start_time; /* wall clock seconds since the epoch */
};

/* Fills p for this process; fields it cannot read stay 0. Thread-safe. */
void sysinfo_read(struct sysinfo_proc *p);

#endif
