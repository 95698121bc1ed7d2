/* AWS credentials, first found wins: the recipe's own aws_key/aws_secret attributes, the
 * standard environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN),
 * the instance role from IMDS (refreshed before its Expiration; fetched once per process and
 * shared by its providers and the recipe children it forks). Every secret is registered with
 * the log scrubber as soon as it is read. */
#ifndef OPSAGENT_CREDENTIALS_H
#define OPSAGENT_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "util/error.h"

struct imds;

#define CREDENTIALS_REFRESH_BEFORE_S (5 * 60)   /* refresh role credentials this long before expiry */

enum credentials_source {
        CREDENTIALS_NONE,
        CREDENTIALS_RECIPE,     /* aws_key / aws_secret in the recipe's attributes */
        CREDENTIALS_ENV,
        CREDENTIALS_IMDS,       /* the instance role */
};

struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;    /* NULL when none */
        time_t expiration;      /* 0: does not expire */
        enum credentials_source source;
};

struct credentials_provider {
        json_object *recipe_attrs;      /* borrowed, may be NULL */
        struct imds *imds;              /* borrowed, may be NULL (metadata disabled) */
        const char *config_dir;         /* where Custom JSON lives (for the permission warning), may be NULL */
        time_t (*now)(void *userdata);  /* injectable clock (NULL: time()) */
        void *userdata;
        struct aws_credentials cur;
        char *role;                     /* the instance role's name once known */
        bool warned;
};

/* The current credentials (borrowed from P, valid until the next call), refreshing the role's
 * when they expire within CREDENTIALS_REFRESH_BEFORE_S. -ENOKEY when none are found (err says
 * where it looked), -EINVAL when only one of aws_key/aws_secret is set. */
int credentials_get(struct credentials_provider *p, const struct aws_credentials **ret, struct error *err);
/* Forgets the current credentials (after ExpiredToken) so that the next get fetches anew.
 * Returns false when refreshing cannot help (static keys). */
bool credentials_invalidate(struct credentials_provider *p);
void credentials_provider_done(struct credentials_provider *p);
/* Forgets the instance role's credentials that the providers of this process share (tests). */
void credentials_forget_shared(void);

/* Parses IMDS's role credentials document into *ret (caller clears with credentials_clear). */
int credentials_parse_role_json(const char *text, struct aws_credentials *ret, struct error *err);
void credentials_clear(struct aws_credentials *c);
const char *credentials_source_name(enum credentials_source s);

/* Warns (once per file) about Custom JSON files under CONFIG_DIR that contain SECRET and can be
 * read by group or others. Returns how many were found. */
int credentials_warn_exposed_key_files(const char *config_dir, const char *secret);

#endif
