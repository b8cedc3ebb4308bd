/*
 * process-setup-check: checks tools_exporter_process_setup() (tools/process_setup.c) on the
 * real C library (a release build: the sanitizers replace malloc and ignore mallopt). Small blocks freed
 * beyond the thread cache go to glibc's fastbins by default (mallinfo2's fsmblks > 0, which shows the probe
 * sees them); after the setup, none may. Ends with "process-setup-check: P passed, F failed".
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "tools/process_setup.h"

#define BLOCKS 256

/* Bytes held in fastbins after freeing BLOCKS small blocks (more than the thread cache's 7
 * per size), each of them written so that the allocations are real. */
static size_t fastbin_bytes_after_frees(void)
{
    void *p[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        p[i] = malloc(48);
        if (!p[i]) {
            fprintf(stderr, "process-setup-check: out of memory\n");
            exit(1);
        }
        ((volatile char *)p[i])[0] = (char)i;
    }
    for (int i = 0; i < BLOCKS; i++)
        free(p[i]);
    return mallinfo2().fsmblks;
}

int main(void)
{
    int pass = 0, fail = 0;
    size_t before = fastbin_bytes_after_frees();
    if (before > 0) {
        pass++;
        printf("ok:   by default, %d freed 48-byte blocks leave %zu bytes in fastbins\n", BLOCKS, before);
    } else {
        fail++;
        printf("FAIL: by default, freed small blocks should reach the fastbins (the probe sees nothing)\n");
    }
    int rc = tools_exporter_process_setup();
    if (rc == XW_OK) {
        pass++;
        printf("ok:   tools_exporter_process_setup returns XW_OK\n");
    } else {
        fail++;
        printf("FAIL: tools_exporter_process_setup returned %s\n", xw_strerror(rc));
    }
    size_t after = fastbin_bytes_after_frees();
    if (after == 0) {
        pass++;
        printf("ok:   after the setup, the same frees leave nothing in fastbins\n");
    } else {
        fail++;
        printf("FAIL: after the setup, %zu bytes are still in fastbins\n", after);
    }
    printf("process-setup-check: %d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}
