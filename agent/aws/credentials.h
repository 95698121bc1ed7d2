/* AWS credentials, first found wins, in the order of the AWS SDKs and Tools Reference Guide
 * (botocore's create_credential_resolver), after the recipe's own keys as opsagent always did:
 *
 *   1. the recipe's aws_key / aws_secret attributes
 *   2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); skipped when the
 *      attribute aws.profile names the profile (as when code names one to an SDK)
 *   3. the profile's role_arn: STS AssumeRole with the credentials of source_profile (role
 *      chains followed, cycles refused) or of credential_source (Environment,
 *      Ec2InstanceMetadata, EcsContainer); external_id, role_session_name, duration_seconds
 *   4. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), or
 *      the profile's web_identity_token_file + role_arn: STS AssumeRoleWithWebIdentity
 *   5. IAM Identity Center (sso_* keys): recognised and refused, opsagent does not do SSO
 *   6. the credentials file's [profile] aws_access_key_id / aws_secret_access_key
 *   7. the profile's credential_process (agent/aws/credprocess.h)
 *   8. the config file's profile aws_access_key_id / aws_secret_access_key
 *   9. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI
 *      (agent/aws/containercreds.h)
 *  10. the instance role from IMDS
 *
 * Credentials that expire are kept until CREDENTIALS_REFRESH_BEFORE_S before they do, then
 * resolved again; what was resolved is shared by every provider of the process and by the
 * recipe children it forks (one AssumeRole, one IMDS fetch per run). Every secret is
 * registered with the log scrubber as soon as it is read. Each resolution leaves a trace:
 * the source chosen, and why each one before it was skipped (for `opsagent doctor`). */
#ifndef OPSAGENT_CREDENTIALS_H
#define OPSAGENT_CREDENTIALS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "util/error.h"

struct imds;
struct aws_config;

#define CREDENTIALS_REFRESH_BEFORE_S (5 * 60)   /* refresh expiring credentials this long before */
#define CREDENTIALS_MAX_CHAIN 16                /* role_arn hops through source_profile */
#define CREDENTIALS_TRACE_MAX 24
#define CREDENTIALS_TRACE_TEXT 384
#define CREDENTIALS_TOKEN_FILE_MAX (64 * 1024)  /* a web identity or container authorization token */
#define CREDENTIALS_SHARED_MAX 8                /* resolutions the process keeps */

enum credentials_source {
        CREDENTIALS_NONE,
        CREDENTIALS_RECIPE,             /* aws_key / aws_secret in the recipe's attributes */
        CREDENTIALS_ENV,
        CREDENTIALS_ASSUME_ROLE,        /* role_arn: STS AssumeRole */
        CREDENTIALS_WEB_IDENTITY,       /* STS AssumeRoleWithWebIdentity */
        CREDENTIALS_SSO,                /* recognised, refused */
        CREDENTIALS_SHARED_FILE,        /* the credentials file */
        CREDENTIALS_PROCESS,            /* credential_process */
        CREDENTIALS_CONFIG_FILE,        /* keys in the config file */
        CREDENTIALS_CONTAINER,          /* ECS / EKS container credentials */
        CREDENTIALS_IMDS,               /* the instance role */
};

struct aws_credentials {
        char *access_key_id;
        char *secret_access_key;
        char *session_token;    /* NULL when none */
        time_t expiration;      /* 0: does not expire */
        enum credentials_source source;
};

/* One line of a resolution's trace. */
struct credentials_step {
        enum credentials_source source;
        bool chosen;
        char text[CREDENTIALS_TRACE_TEXT];     /* why skipped, or what was used (never a secret) */
};

struct credentials_trace {
        struct credentials_step steps[CREDENTIALS_TRACE_MAX];
        size_t n;
        bool cached;            /* the last get took what the process had resolved earlier */
};

/* What STS is asked, for roles (the session makes the call: agent/aws/sts.h). */
struct credentials_sts_request {
        bool web_identity;                      /* AssumeRoleWithWebIdentity (unsigned) */
        const char *role_arn;
        const char *session_name;
        const char *external_id;                /* may be NULL */
        int duration_seconds;                   /* 0: STS's default */
        const char *web_identity_token;         /* web identity only */
        const struct aws_credentials *source;   /* AssumeRole only: sign with these */
};
typedef int (*credentials_sts_fn)(void *userdata, const struct credentials_sts_request *rq,
                                  struct aws_credentials *ret, struct error *err);

struct credentials_provider {
        json_object *recipe_attrs;      /* borrowed, may be NULL */
        struct imds *imds;              /* borrowed, may be NULL (metadata disabled) */
        const struct aws_config *config; /* borrowed, may be NULL: no shared config, "default" profile */
        credentials_sts_fn sts;         /* may be NULL: roles cannot be assumed */
        void *sts_userdata;
        const char *config_dir;         /* where Custom JSON lives (for the permission warning), may be NULL */
        time_t (*now)(void *userdata);  /* injectable clock (NULL: time()) */
        void *userdata;
        struct aws_credentials cur;
        char *role;                     /* the instance role's name once known */
        bool warned;
        struct credentials_trace trace;
};

/* The current credentials (borrowed from P, valid until the next call), resolving them again
 * when they expire within CREDENTIALS_REFRESH_BEFORE_S. -ENOKEY when none are found (err says
 * where it looked), -EINVAL for a configuration the SDKs refuse too (half a key pair, a
 * role_arn without a source, a source_profile cycle, SSO), other errors of the source chosen
 * (err names it). */
int credentials_get(struct credentials_provider *p, const struct aws_credentials **ret, struct error *err);
/* Forgets the current credentials (after ExpiredToken) so that the next get fetches anew.
 * Returns false when refreshing cannot help (keys that do not expire). */
bool credentials_invalidate(struct credentials_provider *p);
void credentials_provider_done(struct credentials_provider *p);
/* Forgets the credentials the providers of this process share (tests). */
void credentials_forget_shared(void);

/* Parses IMDS's role credentials document into *ret (caller clears with credentials_clear). */
int credentials_parse_role_json(const char *text, struct aws_credentials *ret, struct error *err);
/* The same document (AccessKeyId, SecretAccessKey, Token, Expiration, optional Code) from WHAT
 * ("container credentials at URL"), as SOURCE. */
int credentials_parse_document(const char *text, const char *what, enum credentials_source source,
                               struct aws_credentials *ret, struct error *err);
/* Copies SRC into *ret with SOURCE (caller clears). */
int credentials_copy(const struct aws_credentials *src, enum credentials_source source, struct aws_credentials *ret);
void credentials_clear(struct aws_credentials *c);
const char *credentials_source_name(enum credentials_source s);
/* A short stable name for machine-readable output: "environment", "assume-role", ... */
const char *credentials_source_id(enum credentials_source s);
/* "****************ABCD", as `aws configure list` shows a key id. */
void credentials_mask_key_id(const char *key_id, char *buf, size_t size);

/* Warns (once per file) about Custom JSON files under CONFIG_DIR that contain SECRET and can be
 * read by group or others. Returns how many were found. */
int credentials_warn_exposed_key_files(const char *config_dir, const char *secret);

#endif
