/*
 * libFuzzer target: the worker's configuration loader (worker/config.h). The input is a
 * YAML file, optionally followed by a line "%%ENV" and environment entries, one NAME=VALUE
 * per line (at most 32). It is loaded (file, environment, resolution; no other file is
 * read), and when it loads, shown and loaded again from what was shown. Any crash, leak or
 * sanitizer report is a bug; errors are expected. A loaded configuration must show again
 * without a secret: the wallet key never appears in what is shown.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "worker/config.h"

#define MAX_ENV 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xw_malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t ylen = size;
    const char *envp[MAX_ENV + 1] = {NULL};
    char *mark = memmem(text, size, "\n%%ENV\n", 7);
    if (mark) {
        ylen = (size_t)(mark - text) + 1;
        char *p = mark + 7;
        mark[1] = '\0';
        size_t n = 0;
        while (n < MAX_ENV && p < text + size) {
            char *nl = memchr(p, '\n', (size_t)(text + size - p));
            if (nl)
                *nl = '\0';
            if (strlen(p) == (size_t)((nl ? nl : text + size) - p)) /* no NUL inside */
                envp[n++] = p;
            if (!nl)
                break;
            p = nl + 1;
        }
    }
    wk_diags d;
    wk_diags_init(&d);
    wk_config *c = NULL;
    if (wk_config_load_mem("fuzz.yaml", text, ylen, envp, &c, &d) == XW_OK) {
        xw_buf b;
        xw_buf_init(&b, 4u << 20);
        if (wk_config_show(c, &b) == XW_OK && xw_buf_append_u8(&b, 0) == XW_OK) {
            if (c->xmtp.wallet_key && strlen(c->xmtp.wallet_key) >= 8 &&
                strstr((char *)b.data, c->xmtp.wallet_key))
                abort();
            wk_diags d2;
            wk_diags_init(&d2);
            wk_config *c2 = NULL;
            wk_config_load_mem("shown.yaml", (char *)b.data, b.len - 1, NULL, &c2, &d2);
            wk_config_free(c2);
            wk_diags_free(&d2);
        }
        xw_buf_free(&b);
    }
    wk_config_free(c);
    wk_diags_free(&d);
    xw_free(text);
    return 0;
}
