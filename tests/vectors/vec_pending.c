/* Kinds not written yet: they fail loudly rather than pass. */
#include "tests/vectors/vectors.h"
int vt_secret_tree(vt_case *c, json_t *e)
{
    (void)e;
    return vt_fail(c, "secret-tree is not implemented yet");
}
int vt_key_schedule(vt_case *c, json_t *e)
{
    (void)e;
    return vt_fail(c, "key-schedule is not implemented yet");
}
int vt_psk_secret(vt_case *c, json_t *e)
{
    (void)e;
    return vt_fail(c, "psk_secret is not implemented yet");
}
int vt_transcript_hashes(vt_case *c, json_t *e)
{
    (void)e;
    return vt_fail(c, "transcript-hashes is not implemented yet");
}
int vt_message_protection(vt_case *c, json_t *e)
{
    (void)e;
    return vt_fail(c, "message-protection is not implemented yet");
}
int vt_messages(vt_case *c, json_t *e)
{
    (void)e;
    return vt_fail(c, "messages is not implemented yet");
}
