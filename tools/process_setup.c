/*
 * Process-wide settings chosen by programs (tools/process_setup.h). Each is one call into the
 * C library, kept here so that the libraries, which run inside other people's processes too,
 * never make it.
 */
#include "tools/process_setup.h"

#include <malloc.h>

#include "common/err.h"

int tools_exporter_process_setup(void)
{
#ifdef M_MXFAST
    return mallopt(M_MXFAST, 0) == 1 ? XW_OK : XW_EUNSUPPORTED;
#else
    return XW_EUNSUPPORTED;
#endif
}
