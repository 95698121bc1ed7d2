/* The agent's side of the recipe context (struct opsagent_ctx in the SDK). One per recipe run,
 * living in the forked child that runs the recipe. */
#ifndef OPSAGENT_CTX_H
#define OPSAGENT_CTX_H

#include <json-c/json.h>

#include "opsagent/aws.h"
#include "opsagent/recipe.h"

struct aws_session;   /* agent/aws/session.h: credentials, signing, the Query client */
struct ctx_core;

struct ctx_core {
        struct opsagent_ctx pub;
        const struct opsagent_recipe *recipe;
        json_object *attrs;         /* the whole merged tree (borrowed from the runner) */
        json_object *recipe_attrs;  /* subtree at recipe->attr_root (borrowed), never NULL */
        json_object *facts;         /* attrs' opsagent.instance (borrowed), may be NULL */
        int events_fd;              /* pipe to the parent: metrics, failure reason */
        uint64_t deadline_usec;     /* CLOCK_MONOTONIC; 0 = no budget */
        char *fail_reason;          /* first failure recorded with ctx_fail() */
        bool config_error;          /* ctx_fail_config() was called */
        struct aws_session *aws;    /* the AWS half's session (agent/run/ctx_aws.h), may be NULL */
        struct opsagent_aws_error aws_error; /* last AWS failure (ctx->aws->last_error) */
        void (*on_done)(struct ctx_core *core); /* set by a half attached to the context; may be NULL */
};

static inline struct ctx_core *ctx_core_of(struct opsagent_ctx *c)
{
        return (struct ctx_core *)c->core;
}

/* Fills CORE (caller-allocated) for one run of RECIPE. ATTRS is the whole merged tree; every
 * string must outlive the run. ctx->aws stays NULL until an AWS half is attached
 * (ctx_aws_attach() in agent/run/ctx_aws.h). */
void ctx_setup(struct ctx_core *core, const struct opsagent_recipe *recipe, json_object *attrs, const char *run_id,
               const char *root, const char *state_dir, const char *agent_state_dir, bool dry_run,
               uint64_t deadline_usec, int events_fd);
/* The reasons recorded with ctx_fail(), joined ("; "), or NULL. Owned by CORE. */
const char *ctx_fail_reason(struct ctx_core *core);
/* Frees what the context (and any half attached to it) allocated during the run. */
void ctx_done(struct ctx_core *core);

#endif
