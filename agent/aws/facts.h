/* Instance facts from IMDS, for the attributes' `opsagent.instance`: id, region, availability
 * zone, account, type, hostname, block-device mapping; and the instance's user-data. */
#ifndef OPSAGENT_FACTS_H
#define OPSAGENT_FACTS_H

#include <json-c/json.h>

#include "util/error.h"

#define FACTS_MAX_USER_DATA (16 * 1024)   /* EC2's own limit on user-data */

/* *ret_facts: a new object {"id","region","availability_zone","account_id","instance_type",
 * "hostname","block_devices":{name: device}} (caller puts it); *ret_user_data: the user-data
 * (caller frees; NULL when there is none). ATTRS: the merged tree (aws.imds.allow_v1,
 * aws.region, aws.instance_id). With AWS_EC2_METADATA_DISABLED=true only what the environment
 * and attributes tell (region, id). Off EC2 it fails within about a second, err naming
 * AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_EC2_METADATA_DISABLED. */
int instance_facts_load(json_object *attrs, json_object **ret_facts, char **ret_user_data, struct error *err);

/* Adds what the identity document DOC (the text of /latest/dynamic/instance-identity/document)
 * tells to FACTS: "id", "region", "availability_zone", "account_id", "instance_type" (each only
 * when the document has it as a string). -EBADMSG (err set) when DOC is not a JSON object. */
int instance_facts_from_identity(const char *doc, json_object *facts, struct error *err);

#endif
