/* Fuzz target: what the instance metadata service sends as JSON: the instance identity
 * document (agent/aws/facts.c, instance_facts_from_identity()) and the instance role's
 * credentials (agent/aws/credentials.c, credentials_parse_role_json()). The input is taken as
 * each of the two. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "aws/credentials.h"
#include "aws/facts.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = fuzz_strndup(data, size);
        struct aws_credentials c = { 0 };
        struct error err = ERROR_INIT;
        json_object *facts = json_object_new_object();

        if (!facts)
                abort();
        instance_facts_from_identity(text, facts, &err);
        json_object_to_json_string(facts);
        json_object_put(facts);
        if (credentials_parse_role_json(text, &c, &err) == 0) {
                credentials_source_name(c.source);
                credentials_clear(&c);
        }
        log_forget_secrets();   /* the parser registers every secret it reads */
        free(text);
        return 0;
}
