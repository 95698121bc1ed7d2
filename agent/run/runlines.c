#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "runlines.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/timeutil.h"

static json_object *line_of(const struct run_record *rec)
{
        json_object *o = json_object_new_object();
        char when[64], *msg = NULL;
        const char *text;

        if (!o)
                return NULL;
        if (rec->error) {
                msg = log_scrub(rec->error);
                if (!msg)
                        goto fail;
                if (strlen(msg) > RUNLINES_MESSAGE_MAX)
                        msg[RUNLINES_MESSAGE_MAX] = '\0';
        }
        text = msg ? msg : (rec->outcome == RUN_SUCCESS ? "succeeded" : run_outcome_to_string(rec->outcome));
        format_utc(rec->end_usec, when, sizeof(when));
        if (json_object_object_add(o, "time", json_object_new_string(when)) < 0 ||
            json_object_object_add(o, "RECIPE", json_object_new_string(rec->recipe)) < 0 ||
            json_object_object_add(o, "RUN_ID", json_object_new_string(rec->run_id)) < 0 ||
            json_object_object_add(o, "outcome", json_object_new_string(run_outcome_to_string(rec->outcome))) < 0 ||
            json_object_object_add(o, "message", json_object_new_string(text)) < 0 ||
            json_object_object_add(o, "duration_sec",
                                   json_object_new_double((double)(rec->end_usec - rec->start_usec) / 1e6)) < 0)
                goto fail;
        free(msg);
        return o;
fail:
        free(msg);
        json_object_put(o);
        return NULL;
}

int runlines_append(const char *state_dir, const struct run_record *rec)
{
        char *dir = path_join(state_dir, RUNLINES_DIR), *path = dir ? path_join(dir, RUNLINES_FILE) : NULL;
        char *old = path ? malloc(strlen(path) + 3) : NULL;
        json_object *o = NULL;
        const char *text;
        struct stat st;
        char *line = NULL;
        size_t len;
        ssize_t n;
        int fd = -1, r;

        if (!old) {
                r = -ENOMEM;
                goto out;
        }
        sprintf(old, "%s.1", path);
        r = mkdir_p(dir, 0700);
        if (r < 0)
                goto out;
        if (stat(path, &st) == 0 && st.st_size > RUNLINES_MAX_BYTES && rename(path, old) < 0) {
                r = -errno;
                goto out;
        }
        o = line_of(rec);
        text = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) : NULL;
        if (!text) {
                r = -ENOMEM;
                goto out;
        }
        len = strlen(text);
        line = malloc(len + 2);
        if (!line) {
                r = -ENOMEM;
                goto out;
        }
        memcpy(line, text, len);
        line[len++] = '\n';
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        n = write(fd, line, len);
        if (n < 0)
                r = -errno;
        else
                r = (size_t)n == len ? 0 : -EIO;
out:
        if (fd >= 0)
                close(fd);
        free(line);
        json_object_put(o);
        free(old);
        free(path);
        free(dir);
        return r;
}
