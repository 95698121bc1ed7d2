/* The AWS shared configuration files, as the AWS CLI and SDKs read them: where they are
 * (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials
 * under HOME; under systemd HOME is root's, /root), which profile is in use (the aws.profile
 * attribute, AWS_DEFAULT_PROFILE, AWS_PROFILE, else "default"), and what a profile says:
 *
 *   config file:       [default] or [profile NAME], [sso-session NAME], [services NAME]
 *   credentials file:  [NAME]; its keys override the config file's for the same profile
 *
 * Each value comes with where it came from ("/root/.aws/config [profile ops] line 4"), for
 * `opsagent doctor` and for errors. The files' text goes through agent/aws/inifile.h. */
#ifndef OPSAGENT_AWSCONFIG_H
#define OPSAGENT_AWSCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "inifile.h"
#include "util/error.h"

#define AWS_CONFIG_ORIGIN_MAX 512       /* "where it came from" strings */
#define AWS_CONFIG_PATH_MAX 4096

struct aws_config {
        char *config_path;              /* the config file, whether or not it exists */
        char *credentials_path;
        struct ini_file *config;        /* NULL when the file does not exist */
        struct ini_file *credentials;
        char *profile;                  /* the profile in use */
        char profile_origin[AWS_CONFIG_ORIGIN_MAX]; /* "AWS_PROFILE", "the attribute aws.profile", "default" */
        bool profile_explicit;          /* named by aws.profile: the SDKs then skip environment keys */
};

/* Finds and reads both files and settles the profile. PROFILE_ATTR: the aws.profile attribute
 * (NULL when unset). -EBADMSG / -EFBIG (err names file and line) for a file the CLI would
 * refuse too, -ENOENT (err names the profile, where it came from and both files) for a
 * profile other than "default" that neither file has. Caller frees with aws_config_free(). */
int aws_config_load(const char *profile_attr, struct aws_config **ret, struct error *err);
void aws_config_free(struct aws_config *c);     /* NULL is fine */

/* Whether either file has profile NAME. */
bool aws_config_has_profile(const struct aws_config *c, const char *name);
/* The value of KEY in profile NAME (the credentials file first, then the config file), or
 * NULL; a key holding a nested block has no value. ORIGIN (may be NULL) gets where it is. */
const char *aws_config_get(const struct aws_config *c, const char *name, const char *key, char *origin,
                           size_t origin_size);
/* The first key of profile NAME that starts with PREFIX ("sso_"), or NULL. */
const char *aws_config_find_prefix(const struct aws_config *c, const char *name, const char *prefix);

/* KEY under SERVICE_KEY ("ec2", "cloudwatch") in the [services X] section that profile NAME
 * names with its `services` key: *ret NULL when the profile names none or the section has no
 * such key; -ENOENT (err says so) when the section it names does not exist. */
int aws_config_service_get(const struct aws_config *c, const char *name, const char *service_key, const char *key,
                           const char **ret, char *origin, size_t origin_size, struct error *err);

/* A path as the CLI expands AWS_CONFIG_FILE: a leading ~ is HOME, $VAR and ${VAR} are the
 * environment's (unknown ones stay as written). Caller frees; NULL on ENOMEM. */
char *aws_config_expand_path(const char *path);

#endif
