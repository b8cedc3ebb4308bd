/* Kinds not written yet: they fail loudly rather than pass. */
#include "tests/vectors/vectors.h"
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
