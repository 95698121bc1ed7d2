#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "imds.h"
#include "session.h"
#include "util/jsonutil.h"
#include "util/log.h"

static void chomp(char *s)
{
        size_t l = strlen(s);

        while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == '\r'))
                s[--l] = '\0';
}

static int load_disabled(json_object *attrs, json_object *facts)
{
        const char *region = getenv("AWS_REGION");
        int r;

        if (!region || !*region)
                region = json_get_nonempty_string(attrs, "aws.region");
        r = json_add_string(facts, "region", region);
        if (r >= 0)
                r = json_add_string(facts, "id", json_get_nonempty_string(attrs, "aws.instance_id"));
        return r;
}

static int load_block_devices(struct imds *m, json_object *facts, struct error *err)
{
        json_object *bd = json_object_new_object();
        char *list = NULL;
        int r;

        if (!bd)
                return -ENOMEM;
        r = imds_get(m, "/latest/meta-data/block-device-mapping/", &list, err);
        if (r == -ENOENT) {
                r = 0;
                goto add;
        }
        if (r < 0)
                goto out;
        for (char *save = NULL, *name = strtok_r(list, "\r\n", &save); name; name = strtok_r(NULL, "\r\n", &save)) {
                char path[256], *dev = NULL;

                if (!*name || strchr(name, '/') || strlen(name) > 64)
                        continue;
                snprintf(path, sizeof(path), "/latest/meta-data/block-device-mapping/%s", name);
                r = imds_get(m, path, &dev, err);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        goto out;
                chomp(dev);
                r = json_add_string(bd, name, dev);
                free(dev);
                if (r < 0)
                        goto out;
        }
add:
        if (json_object_object_add(facts, "block_devices", bd) < 0) {
                r = -ENOMEM;
                goto out;
        }
        bd = NULL;
        r = 0;
out:
        json_object_put(bd);
        free(list);
        return r;
}

int instance_facts_from_identity(const char *doc, json_object *facts, struct error *err)
{
        json_object *ident = json_tokener_parse(doc);
        int r;

        if (!ident || !json_object_is_type(ident, json_type_object)) {
                r = error_set(err, -EBADMSG, "instance metadata: the identity document is not a JSON object");
                goto out;
        }
        r = json_add_string(facts, "id", json_get_string(ident, "instanceId"));
        if (r >= 0)
                r = json_add_string(facts, "region", json_get_string(ident, "region"));
        if (r >= 0)
                r = json_add_string(facts, "availability_zone", json_get_string(ident, "availabilityZone"));
        if (r >= 0)
                r = json_add_string(facts, "account_id", json_get_string(ident, "accountId"));
        if (r >= 0)
                r = json_add_string(facts, "instance_type", json_get_string(ident, "instanceType"));
out:
        json_object_put(ident);
        return r;
}

int instance_facts_load(json_object *attrs, json_object **ret_facts, char **ret_user_data, struct error *err)
{
        struct imds_config ic = { 0 };
        struct aws_config *cfg = NULL;
        struct imds *m = NULL;
        json_object *facts = NULL;
        char *doc = NULL, *hostname = NULL, *user_data = NULL;
        int r;

        facts = json_object_new_object();
        if (!facts)
                return -ENOMEM;
        if (imds_disabled_by_env()) {
                r = load_disabled(attrs, facts);
                if (r < 0)
                        goto out;
                goto done;
        }
        /* The SDKs' IMDS settings (timeout, attempts, endpoint) from the environment and the
         * profile; a shared config file the session would refuse is its to report. */
        if (aws_config_load(json_get_nonempty_string(attrs, "aws.profile"), &cfg, NULL) < 0)
                cfg = NULL;
        r = aws_imds_config_resolve(attrs, cfg, &ic, NULL, 0, err);
        if (r >= 0)
                r = imds_new(&ic, &m);
        if (r < 0)
                goto out;
        /* Some ten requests: one deadline for them all, however slowly each is answered. */
        imds_set_deadline(m, IMDS_LOOKUP_DEADLINE_MS);
        r = imds_get(m, "/latest/dynamic/instance-identity/document", &doc, err);
        if (r < 0) {
                if (r == -ENOENT)
                        r = error_set(err, -EIO, "instance metadata has no identity document");
                goto out;
        }
        r = instance_facts_from_identity(doc, facts, err);
        if (r < 0)
                goto out;
        r = imds_get(m, "/latest/meta-data/hostname", &hostname, err);
        if (r >= 0) {
                chomp(hostname);
                r = json_add_string(facts, "hostname", hostname);
        } else if (r == -ENOENT) {
                r = 0;
        }
        if (r < 0)
                goto out;
        r = load_block_devices(m, facts, err);
        if (r < 0)
                goto out;
        r = imds_get(m, "/latest/user-data", &user_data, err);
        if (r == -ENOENT) {
                r = 0;
        } else if (r < 0) {
                goto out;
        } else if (!*user_data) {
                free(user_data);
                user_data = NULL;
        } else if (strlen(user_data) > FACTS_MAX_USER_DATA) {
                log_warning("instance user-data is larger than %d bytes; ignored", FACTS_MAX_USER_DATA);
                free(user_data);
                user_data = NULL;
        }
done:
        *ret_facts = facts;
        facts = NULL;
        if (ret_user_data) {
                *ret_user_data = user_data;
                user_data = NULL;
        }
        r = 0;
out:
        json_object_put(facts);
        free(doc);
        free(hostname);
        free(user_data);
        imds_free(m);
        aws_config_free(cfg);
        return r;
}
