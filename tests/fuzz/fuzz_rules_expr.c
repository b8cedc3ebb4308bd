/*
 * libFuzzer target: condition expressions. The input is parsed on its own, then compiled as
 * the condition of a rule (with a list and a macro defined) through a YAML literal block,
 * and evaluated on one event when it compiles.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    xw_errbuf eb;
    rules_expr_check((const char *)data, size, &eb);
    if (size > 4096 || memchr(data, '\n', size) || memchr(data, '\r', size) || memchr(data, 0, size))
        return 0;
    xw_buf y;
    xw_buf_init(&y, 1 << 16);
    xw_buf_append_str(&y, "- list: words\n  items: [spam, scam]\n- macro: adm\n  condition: sender.is_admin\n"
                          "- rule: r\n  on: [message, reply]\n  condition: |\n    ");
    xw_buf_append(&y, data, size);
    xw_buf_append_str(&y, "\n  actions: [alert]\n");
    rules_source src = {"fuzz.yaml", (const char *)y.data, y.len};
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    if (rules_set_compile(&src, 1, NULL, &s, &d) == 0 && s) {
        rules_engine *e = rules_engine_new(NULL);
        rules_engine_swap(e, s);
        rules_event *ev = rules_event_new(RULES_KIND_MESSAGE, 1000000000);
        rules_event_set_str(ev, RULES_F_CONTENT_TEXT, "a spam text", 11);
        rules_event_set_str(ev, RULES_F_SENDER_INBOX_ID, "u", 1);
        rules_event_set_unknown(ev, RULES_F_SENDER_IS_ADMIN);
        rules_event_list_add(ev, RULES_F_CONTENT_LINKS, "http://x", 8);
        const rules_decision *dec;
        rules_engine_eval(e, ev, &dec, &eb);
        rules_event_free(ev);
        rules_engine_free(e);
    }
    rules_diags_free(&d);
    xw_buf_free(&y);
    return 0;
}
