/* Typed EC2 calls over the Query client: what recipes need (see opsagent/aws.h for the types
 * and the errno mapping). Results are owned by the caller and freed with the matching *_free. */
#ifndef OPSAGENT_EC2_H
#define OPSAGENT_EC2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "xml.h"
#include "opsagent/aws.h"

#define EC2_MAX_PAGES 1000          /* a NextToken loop longer than this is a bug somewhere */
#define EC2_MAX_TAGS 50             /* AWS's limit per resource */
#define EC2_MAX_IDS 1000
#define EC2_CHECKED_ROUNDS 3        /* sends of a create or delete whose outcome stays unknown */
#define EC2_CHECK_LOOKS 2           /* DescribeSnapshots by the mark before "nothing was made" */
#define EC2_CHECK_DELAY_MS 1000     /* between two looks (DescribeSnapshots is eventually consistent) */
#define EC2_MARK_FILTER_MAX 160     /* "tag:" and a mark's key */

/* INSTANCE_ID NULL: the session's instance (aws.instance_id, opsagent.instance.id, IMDS). */
int ec2_describe_instance(struct aws_session *s, const char *instance_id, struct opsagent_ec2_instance **ret);
void ec2_instance_free(struct opsagent_ec2_instance *i);

int ec2_describe_volumes(struct aws_session *s, const char *const *volume_ids, struct opsagent_ec2_volume **ret,
                         size_t *ret_n);
void ec2_volumes_free(struct opsagent_ec2_volume *v, size_t n);

int ec2_describe_snapshots(struct aws_session *s, const struct opsagent_ec2_filter *filters,
                           struct opsagent_ec2_snapshot **ret, size_t *ret_n);
void ec2_snapshots_free(struct opsagent_ec2_snapshot *v, size_t n);
/* DescribeSnapshots streamed: EACH sees every snapshot, page after page, as a view into the
 * page (borrowed for the call only); only one page is held at a time, read as a stream into
 * its strings (struct ec2_snapshot_page), never into a tree. A negative return of
 * EACH stops the listing and is returned. */
int ec2_describe_snapshots_each(struct aws_session *s, const struct opsagent_ec2_filter *filters,
                                int (*each)(const struct opsagent_ec2_snapshot *snap, void *userdata),
                                void *userdata);

/* One DescribeSnapshots answer read as a stream (exposed for the tests, which feed a page in
 * pieces): no tree, only each snapshot's strings (id, volume, state, progress, description,
 * size, start time, tags) in one block. Caller frees with ec2_snapshot_page_free. */
struct ec2_snapshot_page;
int ec2_snapshot_page_new(struct ec2_snapshot_page **ret);
/* Feeds LEN bytes of the answer (FINAL: the last ones): 0, -EBADMSG for malformed XML (err says
 * where), -E2BIG, -ENOMEM; the page is usable once the final piece was fed with success. */
int ec2_snapshot_page_feed(struct ec2_snapshot_page *p, const char *data, size_t len, bool final, struct error *err);
void ec2_snapshot_page_free(struct ec2_snapshot_page *p);  /* NULL is fine */
size_t ec2_snapshot_page_count(const struct ec2_snapshot_page *p);
/* How many tags snapshot I has (the size TAGS needs for its view). */
size_t ec2_snapshot_page_tags(const struct ec2_snapshot_page *p, size_t i);
/* Snapshot I as a view: its strings and TAGS' point into P (borrowed while P lives); absent
 * fields are NULL, as parse_snapshot() leaves them. */
void ec2_snapshot_page_view(const struct ec2_snapshot_page *p, size_t i, struct opsagent_ec2_snapshot *v,
                            struct opsagent_ec2_tag *tags);
/* The answer's nextToken (borrowed), NULL when none. */
const char *ec2_snapshot_page_next_token(const struct ec2_snapshot_page *p);

/* CreateSnapshot and CreateSnapshots have no client token. MARK (may be NULL), a tag unique to
 * the caller's run ({"opsagent:run-id", ID}), is added to every snapshot at creation (unless the
 * request's tags have its key already); when an attempt's outcome is unknown (a 5xx, a timeout
 * or a reset after sending, an unreadable answer), the snapshots carrying MARK (and the volume)
 * are looked for: what exists is the result, and the request is sent again only when nothing
 * does, at most EC2_CHECKED_ROUNDS times. So one call makes at most one snapshot per volume
 * (or one set), whatever the faults; the check assumes the caller makes at most one per volume
 * (one set) with a given MARK. Without MARK an unknown outcome is a failure saying the snapshot
 * may have been made. */
int ec2_create_snapshots_each(struct aws_session *s, struct opsagent_ec2_create_snapshot *reqs, size_t n,
                              unsigned parallel, const struct opsagent_tag *mark);
void ec2_create_snapshot_clear(struct opsagent_ec2_create_snapshot *req);

int ec2_create_snapshots_multi(struct aws_session *s, const char *instance_id, bool exclude_boot,
                               const char *const *exclude_volume_ids, const char *description,
                               const struct opsagent_tag *tags, size_t n_tags, const struct opsagent_tag *mark,
                               struct opsagent_ec2_snapshot **ret, size_t *ret_n);

/* An attempt whose outcome is unknown is repeated; InvalidSnapshot.NotFound after one is
 * success (that attempt deleted it). */
int ec2_delete_snapshot(struct aws_session *s, const char *snapshot_id);

/* DescribeTags of one resource: the value of its tag KEY into *ret (caller frees); -ENOENT when
 * it has no such tag. */
int ec2_describe_tag(struct aws_session *s, const char *resource_id, const char *key, char **ret);
int ec2_create_tags(struct aws_session *s, const char *const *resource_ids, const struct opsagent_tag *tags,
                    size_t n_tags);

/* Parsers of the answers (exposed for tests with recorded responses). Each fills fresh
 * results owned by the caller; -ENOENT when DOC holds no instance; -ENOMEM. */
int ec2_parse_instance_response(const struct xml_node *doc, struct opsagent_ec2_instance **ret);
int ec2_parse_volumes_response(const struct xml_node *doc, struct opsagent_ec2_volume **ret, size_t *ret_n);
/* DescribeSnapshots and CreateSnapshots answers (<snapshotSet>). */
int ec2_parse_snapshots_response(const struct xml_node *doc, struct opsagent_ec2_snapshot **ret, size_t *ret_n);


/* OPERATION with DryRun=true and PARAMS (key, value, key, value, ..., NULL): AWS checks the
 * caller's permission and changes nothing. 0 when it answers DryRunOperation (allowed),
 * -EACCES for UnauthorizedOperation (missing), other errors as the call's; s->last_error has
 * AWS's code, message and request id. */
int ec2_dry_run(struct aws_session *s, const char *operation, const char *const *params);

/* The session's instance id: aws.instance_id / opsagent.instance.id, else IMDS. Borrowed. */
int ec2_self_instance_id(struct aws_session *s, const char **ret);

#endif
