/*
 * libFuzzer target: the rules engine's other decoders, an event in JSON and saved window
 * state. The first byte chooses which one gets the rest of the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *RULES = "- rule: r\n  on: [message, reaction, member_added]\n"
                               "  condition: rate(sender.inbox_id, 10s) > 1 or first_message(group.id)"
                               " or content.words intersects (a, b) or lower(content.text) glob \"*x*\"\n"
                               "  cooldown: 5s\n  actions: [delete_message, {reply: \"{{content.text}}\"}]\n";
    rules_source src = {"r.yaml", RULES, strlen(RULES)};
    rules_diags d;
    rules_diags_init(&d);
    rules_set *s = NULL;
    if (rules_set_compile(&src, 1, NULL, &s, &d) != 0)
        __builtin_trap();
    rules_diags_free(&d);
    rules_engine *e = rules_engine_new(NULL);
    rules_engine_swap(e, s);
    xw_errbuf eb;
    if (data[0] & 1) {
        rules_engine_state_import(e, data + 1, size - 1, &eb);
    } else {
        rules_event *ev = NULL;
        if (rules_event_parse_json((const char *)data + 1, size - 1, NULL, &ev, &eb) == 0) {
            const rules_decision *dec;
            rules_engine_eval(e, ev, &dec, &eb);
            rules_engine_eval(e, ev, &dec, &eb);
            rules_event_free(ev);
        }
    }
    rules_engine_free(e);
    return 0;
}
