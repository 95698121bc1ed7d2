#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logscmd.h"
#include "commands.h"
#include "coreattrs.h"
#include "table.h"
#include "logs/logs_checkpoint.h"
#include "logs/logs_config.h"
#include "logs/logs_shipper.h"
#include "report/report_config.h"
#include "util/fileio.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/timeutil.h"

/* Rows from STATE/logs/status.json (the shipper's last word), with the lag in bytes read
 * again from the files now. */
static json_object *status_rows(const char *root, const char *logs_dir, const struct logs_config *cfg)
{
        char *path = path_join(logs_dir, LOGS_STATUS_FILE);
        json_object *st = NULL, *rows = json_object_new_array(), *src;
        struct error err = ERROR_INIT;

        if (!path || !rows) {
                free(path);
                json_object_put(rows);
                return NULL;
        }
        if (json_parse_file(path, true, &st, &err) < 0)
                st = NULL;
        src = st ? json_object_object_get(st, "sources") : NULL;
        for (size_t i = 0; i < cfg->n_src; i++) {
                const struct logs_source_config *s = &cfg->src[i];
                bool any = false;
                size_t n = json_object_is_type(src, json_type_array) ? json_object_array_length(src) : 0;

                for (size_t k = 0; k < n; k++) {
                        json_object *o = json_object_array_get_idx(src, k), *row;
                        const char *name = json_get_string(o, "source"), *p = json_get_string(o, "path");
                        json_object *ino = json_object_object_get(o, "ino");
                        struct stat sb;

                        if (!name || strcmp(name, s->name) != 0)
                                continue;
                        row = json_object_new_object();
                        if (!row || json_object_array_add(rows, row) < 0) {
                                json_object_put(row);
                                break;
                        }
                        any = true;
                        json_object_object_foreach(o, key, v)
                                if (strcmp(key, "dev") && strcmp(key, "ino") && strcmp(key, "cursor") &&
                                    strcmp(key, "buffered_file_bytes") && strcmp(key, "oldest_usec"))
                                        json_object_object_add(row, key, json_object_get(v));
                        /* The file may have grown since: its lag is what it holds past the
                         * checkpoint, plus what of it waits in the buffer. */
                        if (p && ino && strcmp(p, "journal") != 0) {
                                char *full = s->in_state ? strdup(p) : path_under_root(root, p);
                                uint64_t off = (uint64_t)json_object_get_int64(json_object_object_get(o, "offset"));
                                uint64_t buffered = json_object_get_uint64(json_object_object_get(o, "buffered_file_bytes"));

                                int64_t oldest = json_object_get_int64(json_object_object_get(o, "oldest_usec"));
                                uint64_t lag = 0;

                                if (full && stat(full, &sb) == 0 && (uint64_t)sb.st_ino == json_object_get_uint64(ino)) {
                                        lag = ((uint64_t)sb.st_size > off ? (uint64_t)sb.st_size - off : 0) + buffered;
                                        json_object_object_add(row, "lag_bytes", json_object_new_uint64(lag));
                                        /* the age of the oldest line not accepted, now (else: since the
                                         * file was last written) */
                                        if (lag > 0 && !oldest)
                                                oldest = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
                                        if (lag > 0 && oldest > 0 && now_realtime_usec() > oldest)
                                                json_object_object_add(row, "lag_seconds",
                                                                       json_object_new_double((now_realtime_usec() - oldest) / 1e6));
                                }
                                free(full);
                        }
                }
                if (!any) {
                        json_object *row = json_object_new_object();

                        if (!row || json_object_array_add(rows, row) < 0) {
                                json_object_put(row);
                                continue;
                        }
                        json_object_object_add(row, "source", json_object_new_string(s->name));
                        json_object_object_add(row, "path", json_object_new_string(s->journal ? "journal" : s->path));
                        json_object_object_add(row, "offset", json_object_new_int(0));
                        json_object_object_add(row, "lag_bytes", json_object_new_int(0));
                        json_object_object_add(row, "lag_seconds", json_object_new_double(0));
                        json_object_object_add(row, "buffered_bytes", json_object_new_int(0));
                        json_object_object_add(row, "dropped_events", json_object_new_int(0));
                        json_object_object_add(row, "last_error",
                                               json_object_new_string(st ? "not read yet" : "the shipper has not run yet"));
                }
        }
        json_object_put(st);
        free(path);
        return rows;
}

static int print_status(const struct cli *c, const char *root, const char *logs_dir, const struct logs_config *cfg)
{
        static const char *const headers[] = { "SOURCE", "PATH", "OFFSET", "LAG_BYTES", "LAG_S", "BUFFERED",
                                               "DROPPED", "LAST_ERROR" };
        static const char *const keys[] = { "source", "path", "offset", "lag_bytes", "lag_seconds", "buffered_bytes",
                                            "dropped_events", "last_error" };
        json_object *rows = status_rows(root, logs_dir, cfg);
        struct table *t = NULL;
        size_t n;

        if (!rows) {
                log_error("logs --status: out of memory");
                return EXIT_RECIPE_FAILED;
        }
        if (c->json) {
                printf("%s\n", json_object_to_json_string_ext(rows, JSON_C_TO_STRING_PLAIN));
                json_object_put(rows);
                return EXIT_OK;
        }
        if (table_new(8, headers, &t) < 0) {
                json_object_put(rows);
                return EXIT_RECIPE_FAILED;
        }
        n = json_object_array_length(rows);
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(rows, i);
                char cells[8][256];
                const char *cp[8];

                for (size_t k = 0; k < 8; k++) {
                        json_object *v = json_object_object_get(o, keys[k]);

                        if (!v)
                                snprintf(cells[k], sizeof(cells[k]), "-");
                        else if (json_object_is_type(v, json_type_double))
                                snprintf(cells[k], sizeof(cells[k]), "%.1f", json_object_get_double(v));
                        else
                                snprintf(cells[k], sizeof(cells[k]), "%s", json_object_get_string(v));
                        cp[k] = cells[k];
                }
                (void)table_add(t, cp);
        }
        table_print(t, true, isatty(STDOUT_FILENO) ? 200 : 0, stdout);
        table_free(t);
        json_object_put(rows);
        return EXIT_OK;
}

static int take_lock(const char *logs_dir, int *ret_fd)
{
        char *path = path_join(logs_dir, LOGSCMD_LOCK_FILE);
        int fd, r;

        if (!path)
                return -ENOMEM;
        r = mkdir_p(logs_dir, 0700);
        if (r < 0) {
                free(path);
                return r;
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        free(path);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* When a shipper first ran here: STATE/logs/since, written once (a file of a glob rotated
 * away after it and never read is read from its start; rotated files older than it are the
 * history from before the shipper and are not shipped). */
static int64_t first_start(const char *logs_dir)
{
        char *path = path_join(logs_dir, LOGSCMD_SINCE_FILE), *text = NULL, buf[32];
        int64_t since = 0;

        if (!path)
                return 0;
        if (read_file_capped(path, 64, &text, NULL) >= 0) {
                since = strtoll(text, NULL, 10);
                free(text);
        }
        if (since <= 0) {
                since = now_realtime_usec();
                snprintf(buf, sizeof(buf), "%" PRId64 "\n", since);
                (void)write_file_atomic(path, buf, strlen(buf), 0600);
        }
        free(path);
        return since;
}

int cmd_logs(const struct cli *c)
{
        const struct plugin *none[1] = { NULL };
        struct error err = ERROR_INIT;
        struct logs_config cfg = { 0 };
        struct report_config rc;
        struct logs_shipper *sh = NULL;
        struct logs_shipper_params p;
        char *logs_dir = NULL, *runs = NULL, host[256] = "";
        bool have_rc = false;
        int64_t since;
        int lock = -1, r, code = EXIT_RECIPE_FAILED;
        struct node n;

        if (c->once && c->status) {
                log_error("logs: --once and --status go alone");
                return EXIT_USAGE;
        }
        if (c->json && !c->status) {
                log_error("logs: --json goes with --status");
                return EXIT_USAGE;
        }
        if (c->json)
                log_say_to_stderr(true);
        if (node_load(c, NODE_USER_DATA | NODE_NO_PLUGINS, &n) < 0)
                return EXIT_USAGE;
        r = layers_validate(n.attrs, core_attr_sections, NULL, none, 0, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                code = EXIT_USAGE;
                goto out;
        }
        logs_dir = path_join(n.paths.state_dir, "logs");
        runs = logs_dir ? path_join(logs_dir, LOGS_RUNS_FILE) : NULL;
        if (!runs) {
                log_error("logs: out of memory");
                goto out;
        }
        r = logs_config_from_attrs(n.attrs, runs, &cfg, &err);
        if (r < 0) {
                log_error("%s", err.msg);
                code = EXIT_USAGE;
                goto out;
        }
        if (c->status) {
                code = print_status(c, n.paths.root, logs_dir, &cfg);
                goto out;
        }
        if (cfg.n_src == 0) {
                log_say("no log sources (cloudwatch_logs.sources is empty and opsagent.logs.run_log_group is not "
                        "set): nothing to ship");
                code = EXIT_OK;
                goto out;
        }
        r = take_lock(logs_dir, &lock);
        if (r == -EWOULDBLOCK) {
                log_error("logs: another shipper (opsagent-logs.service?) holds %s/%s; it ships these logs already",
                          logs_dir, LOGSCMD_LOCK_FILE);
                code = EXIT_LOCKED;
                goto out;
        }
        if (r < 0) {
                log_error("logs: %s/%s: cannot lock: %s", logs_dir, LOGSCMD_LOCK_FILE, strerror(-r));
                goto out;
        }
        since = first_start(logs_dir);
        if (!attrs_get(n.attrs, "aws.instance_id") ||
            json_object_is_type(attrs_get(n.attrs, "aws.instance_id"), json_type_null))
                (void)node_load_instance(&n, INSTANCE_QUIET);
        if (report_config_from_attrs(attrs_tree(n.attrs), n.paths.state_dir, &rc, &err) >= 0)
                have_rc = true;
        else
                log_warning("logs: %s (LogEventsDropped will not be reported)", err.msg);
        (void)gethostname(host, sizeof(host) - 1);
        p = (struct logs_shipper_params){
                .cfg = &cfg,
                .root = n.paths.root,
                .logs_dir = logs_dir,
                .instance_id = have_rc ? rc.instance_id : host,
                .hostname = host,
                .attrs = attrs_tree(n.attrs),
                .report = have_rc ? &rc : NULL,
                .once = c->once,
                .since_usec = since,
        };
        error_clear(&err);
        r = logs_shipper_new(&p, &sh, &err);
        if (r < 0) {
                log_error("logs: %s", err.msg);
                code = r == -EINVAL ? EXIT_USAGE : EXIT_RECIPE_FAILED;
                goto out;
        }
        if (c->once) {
                r = logs_shipper_once(sh, &err);
                if (r < 0)
                        log_error("logs: %s", err.msg);
                else if (r > 0)
                        log_warning("logs: some events could not be sent; they wait in %s/buffer", logs_dir);
                code = r == 0 ? EXIT_OK : EXIT_RECIPE_FAILED;
        } else {
                r = logs_shipper_run(sh, &err);
                if (r < 0)
                        log_error("logs: %s", err.msg);
                code = r < 0 ? EXIT_RECIPE_FAILED : EXIT_OK;
        }
out:
        logs_shipper_free(sh);
        if (lock >= 0)
                close(lock);
        if (have_rc)
                report_config_free(&rc);
        logs_config_free(&cfg);
        free(runs);
        free(logs_dir);
        node_free(&n);
        return code;
}
