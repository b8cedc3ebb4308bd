/*
 * libFuzzer target: rule loading. The input is a rule file (YAML); it is compiled with a
 * small fixed base file in front (so overrides have something to override), and when it
 * compiles, a few events are evaluated against it. Any crash, leak or sanitizer report is
 * a bug; errors are expected.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/rules.h"

static const char *BASE = "- list: base_list\n  items: [a, b]\n"
                          "- macro: base_macro\n  condition: sender.is_admin\n"
                          "- rule: base_rule\n  on: [message]\n  condition: content.text contains \"x\"\n";

static const char *EVENTS[] = {
    ("{\"kind\":\"message\",\"id\":\"e\",\"ts\":1,\"group\":{\"id\":\"g\",\"name\":\"G\",\"member_count\":3},"
     "\"sender\":{\"inbox_id\":\"a\",\"is_admin\":false,\"joined_age\":5},\"content\":{\"text\":\"x a b\","
     "\"links\":[\"http://"
     "l\"],\"mentions\":[\"m\"]},\"message\":{\"id\":\"m\"},\"self\":{\"is_admin\":true}}"),
    ("{\"kind\":\"member_added\",\"ts\":2,\"group\":{\"id\":null},\"sender\":{\"inbox_id\":null}}"),
    ("{\"kind\":\"reaction\",\"ts\":3,\"content\":{\"text\":null,\"reference\":\"m\"},"
     "\"self\":{\"is_admin\":false}}"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rules_source src[2] = {{"base.yaml", BASE, strlen(BASE)}, {"fuzz.yaml", (const char *)data, size}};
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    if (rules_set_compile(src, 2, NULL, &s, &d) == 0 && s) {
        rules_engine *e = rules_engine_new(NULL);
        rules_engine_swap(e, s);
        for (size_t i = 0; i < sizeof EVENTS / sizeof EVENTS[0]; i++) {
            rules_event *ev = NULL;
            xw_errbuf eb;
            if (rules_event_parse_json(EVENTS[i], strlen(EVENTS[i]), NULL, &ev, &eb) == 0) {
                const rules_decision *dec;
                if (rules_engine_eval(e, ev, &dec, &eb) == 0) {
                    xw_buf b;
                    xw_buf_init(&b, 1 << 20);
                    rules_decision_to_json(dec, &b);
                    xw_buf_free(&b);
                }
                rules_event_free(ev);
            }
        }
        rules_engine_free(e);
    }
    rules_diags_free(&d);
    return 0;
}
