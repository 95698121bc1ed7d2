/* logrotate recipe: one rotation set (logrotate.sets.NAME) parsed from its attributes into a
 * typed struct, and the small parsers it needs (sizes, signals, modes). */
#ifndef LR_CONFIG_H
#define LR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#define LR_MAX_ROTATE 10000          /* logrotate's own sanity bound is far above this */
#define LR_MAX_PATHS 256             /* globs per set */
#define LR_MAX_COMMAND_ARGS 64       /* reopen.command argv */
#define LR_DEFAULT_REOPEN_TIMEOUT 30 /* seconds to wait for a writer to reopen */
#define LR_DEFAULT_SETTLE_MS 300     /* the renamed file must stay this long unchanged */
#define LR_QUOTE_MAX 64              /* bytes of a wrong value that a message quotes */
#define LR_MAX_DATEFORMAT 64         /* bytes of a dateformat */
#define LR_MAX_MAXAGE 100000         /* days */

enum lr_frequency { LR_FREQ_NONE, LR_FREQ_HOURLY, LR_FREQ_DAILY, LR_FREQ_WEEKLY, LR_FREQ_MONTHLY,
                    LR_FREQ_YEARLY };
enum lr_method { LR_METHOD_REOPEN, LR_METHOD_CREATE, LR_METHOD_COPYTRUNCATE };
enum lr_compression { LR_COMP_NONE, LR_COMP_GZIP, LR_COMP_XZ, LR_COMP_ZSTD };

struct lr_set {
        char *name;                     /* the key under logrotate.sets */
        char **paths;                   /* NULL-terminated globs (absolute, before the root) */
        unsigned rotate;                /* rotated files kept */
        enum lr_frequency frequency;
        uint64_t size, minsize, maxsize;/* bytes; 0 = unset */
        unsigned maxage;                /* days; 0 = unset */
        enum lr_compression compress;
        int compress_level;             /* -1 = the method's default */
        bool delaycompress, dateext, missingok, notifempty;
        char *dateformat;               /* NULL = logrotate's default for the frequency */
        char *olddir;                   /* NULL = beside the log; relative to the log's dir */
        enum lr_method method;
        bool allowhardlink;             /* rotate a log with more than one hard link */
        char *su_user, *su_group;       /* rotate as this user and group (NULL: the directory's owner) */
        /* reopen */
        char *reopen_unit, *reopen_pidfile;
        char *reopen_exe;               /* the executable a pidfile's process must run (/proc/PID/exe) */
        char **reopen_command;          /* NULL-terminated argv or NULL */
        int reopen_signal;              /* default SIGHUP */
        unsigned reopen_timeout;        /* seconds */
        unsigned reopen_settle_ms;
        /* create */
        mode_t create_mode;             /* default 0640 */
        char *create_owner, *create_group; /* NULL = same as the rotated log */
};

/* Parses set NAME from OBJ (already schema-validated, but checked again here). On failure
 * (-EINVAL: a value is wrong) *ret_err gets a message naming the key, quoting at most
 * LR_QUOTE_MAX bytes of the value and saying what is expected (caller frees). *ret: caller
 * frees with lr_set_free(). */
int lr_set_parse(const char *name, json_object *obj, struct lr_set **ret, char **ret_err);
void lr_set_free(struct lr_set *s);   /* NULL is fine */

/* "100", "100k", "100M", "2G" (powers of 1024, as logrotate). -EINVAL otherwise. */
int lr_parse_size(const char *s, uint64_t *ret);
/* "SIGUSR2", "USR2", "12" -> signal number. -EINVAL otherwise. */
int lr_parse_signal(const char *s, int *ret);
/* "0640" -> mode. -EINVAL unless it is octal and at most 07777. */
int lr_parse_mode(const char *s, mode_t *ret);

const char *lr_compression_ext(enum lr_compression c);  /* ".gz", ".xz", ".zst", "" */
const char *lr_compression_name(enum lr_compression c);
/* V between double quotes, cut to LR_QUOTE_MAX bytes ("abc..." (5000 bytes)), into BUF. */
const char *lr_quote(const char *v, char *buf, size_t len);
#define LR_QUOTE_BUF (LR_QUOTE_MAX + 48)
/* The dateformat in force: the set's, or "-%Y%m%d%H" hourly, "-%Y%m%d" otherwise. */
const char *lr_set_dateformat(const struct lr_set *s);

#endif
