/* The INI dialect of the AWS CLI's ~/.aws/config and ~/.aws/credentials, read as botocore reads
 * them (Python's configparser.RawConfigParser, then botocore's nested blocks):
 *
 *   [section name]          a header: what lies between the first '[' and the last ']'
 *   key = value             or key: value; the key is lower-cased, both sides trimmed
 *     more of the value     a line indented deeper than its key continues the value
 *   ec2 =                   a key with an empty first line and an indented block is a
 *     endpoint_url = URL    nested block of its own keys (services sections, s3 = ...)
 *   # or ; comment          a whole line only: "key = a # b" keeps "a # b" as the value
 *
 * A key outside any section, a line that is neither, a section or a key given twice are
 * errors naming the file and the line, as the CLI refuses such a file too. A [DEFAULT]
 * section's keys are inherited by every section. Text must be UTF-8 without NUL bytes.
 * Nothing here knows what the keys mean (see agent/aws/awsconfig.h). */
#ifndef OPSAGENT_INIFILE_H
#define OPSAGENT_INIFILE_H

#include <stddef.h>

#include "util/error.h"

#define INI_MAX_BYTES (1024 * 1024)   /* a file larger than this is not an AWS config file */
#define INI_MAX_SECTIONS 4096
#define INI_MAX_ENTRIES 65536         /* keys in one file, nested ones and inherited ones included */

struct ini_entry {
        char *key;                      /* lower-cased, except in nested blocks (as the CLI) */
        char *value;                    /* NULL for a nested block */
        struct ini_entry *sub;          /* the nested block's keys, n_sub of them */
        size_t n_sub;
        unsigned line;                  /* where the key is */
};

struct ini_section {
        char *name;                     /* between the brackets, as written */
        struct ini_entry *entries;
        size_t n;
        unsigned line;
};

struct ini_file {
        struct ini_section *sections;   /* in file order, [DEFAULT] left out */
        size_t n;
};

/* Parses TEXT (LEN bytes) into *ret (caller frees with ini_free). NAME is the file named in
 * errors ("/root/.aws/config"). -EBADMSG with err "NAME:LINE: why" for text the CLI refuses,
 * -EFBIG / -E2BIG past the limits above, -ENOMEM. */
int ini_parse(const char *text, size_t len, const char *name, struct ini_file **ret, struct error *err);
/* Reads and parses PATH. -ENOENT (err untouched) when there is no such file. */
int ini_load(const char *path, struct ini_file **ret, struct error *err);
void ini_free(struct ini_file *f);      /* NULL is fine */

/* The section named NAME (exactly), or NULL. */
const struct ini_section *ini_section_find(const struct ini_file *f, const char *name);
/* The entry KEY among ENTRIES (N of them), or NULL. */
const struct ini_entry *ini_entry_find(const struct ini_entry *entries, size_t n, const char *key);

#endif
