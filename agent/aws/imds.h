/* Instance metadata (IMDSv2): a session token from PUT /latest/api/token, renewed before it
 * expires, sent with every GET. Short timeouts and few attempts so that a machine that is not
 * on EC2 learns it fast (timeout and attempts are the SDKs' settings: agent/aws/session.h).
 * Never through a proxy. IMDSv1 only when allowed. The token, and the
 * memory that nothing answered, are shared by every client of the process (and inherited by
 * the recipe children it forks): one token and at most one wait per run. */
#ifndef OPSAGENT_IMDS_H
#define OPSAGENT_IMDS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_IPV6 "http://[fd00:ec2::254]"   /* AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6 */
#define IMDS_TOKEN_TTL_S 21600
#define IMDS_TIMEOUT_MS 1000
#define IMDS_ATTEMPTS 2
#define IMDS_MAX_VALUE (64 * 1024)
#define IMDS_UNREACHABLE_MEMO_S 60      /* after nothing answered, fail at once for this long */
#define IMDS_LOOKUP_DEADLINE_MS 3000    /* all the requests of one lookup (the instance facts) */

struct imds_config {
        const char *endpoint;   /* NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT or the link-local address */
        const char *endpoint_mode; /* "IPv4", "IPv6"; NULL: AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE */
        bool allow_v1;          /* fall back to IMDSv1 when the token is refused (or lost: see below) */
        bool v1_disabled;       /* never IMDSv1 (ec2_metadata_v1_disabled; the variable counts too) */
        long timeout_ms;        /* per request; 0: IMDS_TIMEOUT_MS */
        unsigned attempts;      /* 0: IMDS_ATTEMPTS */
};

struct imds;

/* Caller frees with imds_free(). Reads no environment but AWS_EC2_METADATA_SERVICE_ENDPOINT
 * and AWS_EC2_METADATA_V1_DISABLED. */
int imds_new(const struct imds_config *cfg, struct imds **ret);
void imds_free(struct imds *m);

/* Reads PATH ("/latest/meta-data/instance-id") into *ret (NUL-terminated, caller frees).
 * -ENOENT for a 404, -ETIMEDOUT / -ECONNREFUSED / -EHOSTUNREACH when nothing answers (err names
 * AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_EC2_METADATA_DISABLED), -EACCES when the token is
 * refused and IMDSv1 is not allowed. */
int imds_get(struct imds *m, const char *path, char **ret, struct error *err);

/* Gets a session token if there is none (the v2 handshake), for opsagent doctor: 0 with
 * *ret_v1 false when IMDSv2 works, true when IMDSv1 is used as aws.imds.allow_v1 permits.
 * When the token request is never answered but a GET is, the answer was lost on its way: the
 * instance's HttpPutResponseHopLimit is 1 and we are in a container; err says so and how to
 * raise it (and with aws.imds.allow_v1, IMDSv1 is used with a warning instead). */
int imds_check_token(struct imds *m, bool *ret_v1, struct error *err);
/* The endpoint M talks to. Borrowed. */
const char *imds_endpoint(const struct imds *m);
/* From now on M's requests share one deadline, MS milliseconds away (0: none): a lookup made of
 * several requests waits at most that long in all, however slowly the service answers; past
 * it, the service counts as not answering (-ETIMEDOUT), for every client of the process. */
void imds_set_deadline(struct imds *m, long ms);

/* Forgets the token and the reachability every client of this process shares (tests). */
void imds_forget_shared(void);

/* True when AWS_EC2_METADATA_DISABLED is "true" (any case). */
bool imds_disabled_by_env(void);

#endif
