/*
 * bench/log_write_cost.c -- the kernel's CPU cost of appending a log to a
 * file, per byte, for the ways a log could be written. Not part of
 * `make bench`; it backs the "everysec: what is left" section of
 * BENCHMARKS.md.
 *
 * usage: cc -O2 -o /tmp/lwc bench/log_write_cost.c
 *        /tmp/lwc FILE MODE CHUNK_BYTES TOTAL_MIB
 *
 * MODE: append    write(2) on an O_APPEND file (what the server does)
 *       truncate  ftruncate 64 MiB ahead, pwrite(2) below the size
 *       fallocate fallocate 64 MiB ahead (size grows), pwrite(2)
 *       keepsize  fallocate(KEEP_SIZE) 64 MiB ahead, write(2) appends
 *       direct    O_DIRECT pwrite(2) of aligned chunks into a
 *                 fallocated file (synchronous with the device)
 *       dontcache pwritev2(RWF_DONTCACHE) appends (Linux 6.14+: the kernel
 *                 starts the writeback at once and drops the pages when
 *                 it completes; no writeback or drop calls of our own)
 *
 * CHUNK_BYTES that is not a multiple of 4096 (e.g. 48500) makes every
 * write start inside a page the last one left partial, as the server's
 * writes do; page-multiple chunks are cheaper (larger page-cache folios).
 *
 * The buffered modes do what the server's everysec thread does as the
 * log grows: start the writeback of every 4 MiB (sync_file_range
 * WRITE), and every 100 MiB an fdatasync and a drop of the fsynced
 * pages but the last 8 MiB (posix_fadvise DONTNEED). Prints user+system
 * CPU per byte (getrusage, the whole process) and, for direct, the wall
 * time per write. FILE is removed at the end.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef RWF_DONTCACHE
#define RWF_DONTCACHE 0x00000080
#endif

static double cpu_seconds(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6 + r.ru_utime.tv_sec +
           r.ru_utime.tv_usec / 1e6;
}

static double wall_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s FILE MODE CHUNK_BYTES TOTAL_MIB\n", argv[0]);
        return 2;
    }
    const char *path = argv[1], *mode = argv[2];
    size_t chunk = strtoul(argv[3], NULL, 10);
    size_t total = strtoul(argv[4], NULL, 10) << 20;
    int dontcache = !strcmp(mode, "dontcache");
    int append = !strcmp(mode, "append") || !strcmp(mode, "keepsize") || dontcache;
    int direct = !strcmp(mode, "direct");
    if (!append && !direct && strcmp(mode, "truncate") && strcmp(mode, "fallocate")) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    if (chunk == 0 || (direct && chunk % 4096)) {
        fprintf(stderr, "CHUNK_BYTES must be > 0 (a multiple of 4096 for direct)\n");
        return 2;
    }
    unlink(path);
    int fd = open(path, O_CREAT | O_RDWR | (append ? O_APPEND : 0) | (direct ? O_DIRECT : 0), 0644);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    char *buf;
    if (posix_memalign((void **)&buf, 4096, chunk)) {
        perror("posix_memalign");
        return 1;
    }
    memset(buf, 'x', chunk);
    const size_t ahead = 64 << 20;
    size_t reserved = 0, off = 0, writeback_from = 0, dropped = 0;
    long writes = 0;
    if (direct && fallocate(fd, 0, 0, total)) {
        perror("fallocate");
        return 1;
    }
    double c0 = cpu_seconds(), w0 = wall_seconds();
    while (off < total) {
        if (!direct && !append && off + chunk > reserved) {
            int rc = !strcmp(mode, "truncate") ? ftruncate(fd, reserved + ahead)
                                               : fallocate(fd, 0, reserved, ahead);
            if (rc) {
                perror("reserve");
                return 1;
            }
            reserved += ahead;
        }
        if (!strcmp(mode, "keepsize") && off + chunk > reserved) {
            if (fallocate(fd, FALLOC_FL_KEEP_SIZE, reserved, ahead)) {
                perror("fallocate");
                return 1;
            }
            reserved += ahead;
        }
        struct iovec iov = {buf, chunk};
        ssize_t n = dontcache ? pwritev2(fd, &iov, 1, -1, RWF_DONTCACHE)
                    : append  ? write(fd, buf, chunk)
                              : pwrite(fd, buf, chunk, off);
        if (n != (ssize_t)chunk) {
            perror("write");
            return 1;
        }
        off += chunk;
        writes++;
        if (direct)
            continue;
        if (dontcache) {
            if (off % (100 << 20) < chunk)
                fdatasync(fd);
            continue;
        }
        if (off - writeback_from >= (4 << 20)) {
            sync_file_range(fd, writeback_from, off - writeback_from, SYNC_FILE_RANGE_WRITE);
            writeback_from = off;
        }
        if (off % (100 << 20) < chunk) {
            fdatasync(fd);
            if (off > (8u << 20) + dropped) {
                posix_fadvise(fd, dropped, off - (8 << 20) - dropped, POSIX_FADV_DONTNEED);
                dropped = off - (8 << 20);
            }
        }
    }
    double c = cpu_seconds() - c0, w = wall_seconds() - w0;
    printf("%-9s chunk %7zu: %.3f ns CPU per byte", mode, chunk, c * 1e9 / total);
    if (direct)
        printf(", %.1f us wall per write", w * 1e6 / writes);
    printf("\n");
    unlink(path);
    return 0;
}
