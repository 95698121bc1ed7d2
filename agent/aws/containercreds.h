/* Container credentials, as the SDKs fetch them on ECS and EKS (Pod Identity):
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (a path on http://169.254.170.2), or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI, which must be https, or http to a loopback address or
 * to one of the ECS/EKS agent addresses (169.254.170.2, 169.254.170.23, fd00:ec2::23,
 * localhost): credentials are never sent for to anything else. The Authorization header is
 * the contents of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else AWS_CONTAINER_AUTHORIZATION_TOKEN
 * (a token with a line break is refused). Never through a proxy. */
#ifndef OPSAGENT_CONTAINERCREDS_H
#define OPSAGENT_CONTAINERCREDS_H

#include <stdbool.h>
#include <stddef.h>

#include "credentials.h"
#include "util/error.h"

#define CONTAINERCREDS_ECS_ADDRESS "169.254.170.2"
#define CONTAINERCREDS_TIMEOUT_MS 2000          /* per attempt, as botocore */
#define CONTAINERCREDS_ATTEMPTS 3
#define CONTAINERCREDS_PAUSE_MS 1000            /* between attempts */
#define CONTAINERCREDS_MAX_RESPONSE (64 * 1024)

/* Whether the environment names a container credentials endpoint. */
bool containercreds_configured(void);
/* The URL the environment names, into *ret (caller frees), and which variable did in
 * *ret_var. -ENOENT when none. */
int containercreds_url(char **ret, const char **ret_var);
/* 0 when credentials may be asked of URL (see above); -EACCES (err says why) otherwise. */
int containercreds_check_url(const char *url, struct error *err);
/* Fetches the credentials (source CREDENTIALS_CONTAINER) into *ret (caller clears). */
int containercreds_fetch(struct aws_credentials *ret, struct error *err);

#endif
