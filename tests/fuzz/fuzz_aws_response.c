/* libFuzzer target for what an AWS endpoint (or anything pretending to be one) can send the
 * agent: the XML answer, parsed by agent/aws/xml.c, read as an error envelope and as every typed
 * EC2 answer; and the same bytes as a query string for the signer's canonicalization.
 * Built and run by tests/fuzz/run (README.md); seeds: corpus/aws_response (tests/data/aws). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/ec2.h"
#include "aws/query.h"
#include "aws/sigv4.h"
#include "aws/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct error err = ERROR_INIT;
        struct xml_node *doc = NULL;
        char *text;

        if (xml_parse((const char *)data, size, &doc, &err) == 0) {
                struct opsagent_aws_error e = { 0 };
                struct opsagent_ec2_instance *in = NULL;
                struct opsagent_ec2_volume *v = NULL;
                struct opsagent_ec2_snapshot *sn = NULL;
                size_t n = 0;

                query_parse_error(doc, &e);
                if (ec2_parse_instance_response(doc, &in) == 0)
                        ec2_instance_free(in);
                if (ec2_parse_volumes_response(doc, &v, &n) == 0)
                        ec2_volumes_free(v, n);
                if (ec2_parse_snapshots_response(doc, &sn, &n) == 0)
                        ec2_snapshots_free(sn, n);
                xml_free(doc);
        }
        text = malloc(size + 1);
        if (text) {
                struct buf b = BUF_INIT(1 << 20);

                memcpy(text, data, size);
                text[size] = '\0';
                sigv4_canonical_query(&b, text);
                buf_reset(&b);
                sigv4_canonical_path(&b, text, true);
                buf_free(&b);
                free(text);
        }
        return 0;
}
