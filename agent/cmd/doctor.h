/* `opsagent doctor`: what an operator runs first on a node that does not work. One line per
 * check, each with a verdict (ok, warn, FAIL, skip): the attributes, the AWS shared config
 * files and profile, IMDS (the v2 handshake, with the hop-limit diagnosis), the instance's
 * identity, the region and where it came from, the credentials chosen and why each source
 * before them was skipped (never a secret), who AWS says we are and how far our clock is
 * from AWS's, the retry settings, each endpoint with the proxy it goes through, and for
 * every enabled recipe the IAM permissions it needs, checked without side effects (EC2
 * DryRun, Describe calls; what cannot be checked so is said, with why). Exit 0 when nothing
 * needed is missing, 1 otherwise, 2 for attributes that cannot be read.
 *
 * What each recipe needs is DOCTOR_NEEDS below (by recipe name; "reporting" is the agent's
 * own metrics): the action, how it is checked, and the statements (Sid) of
 * packaging/iam-policy.json that grant it. */
#ifndef OPSAGENT_DOCTOR_H
#define OPSAGENT_DOCTOR_H

#include "cli.h"

#define DOCTOR_POLICY_PATH "/usr/share/doc/opsagent/iam-policy.json"
#define DOCTOR_SKEW_WARN_S 60           /* a clock this far from AWS's is worth fixing */
#define DOCTOR_SKEW_FAIL_S 300          /* AWS refuses requests signed further off */

enum doctor_how {
        DOCTOR_BY_CALL,                 /* a read-only call, made */
        DOCTOR_BY_DRY_RUN,              /* EC2 DryRun=true */
        DOCTOR_NOT_CHECKED,             /* no side-effect-free way: said why */
};

struct doctor_need {
        const char *recipe;             /* "ebs_snapshots", or "reporting" */
        const char *action;             /* "ec2:CreateSnapshots" */
        enum doctor_how how;
        const char *sids;               /* the policy statements that grant it */
        const char *when;               /* when the recipe needs it (NULL: always) */
};

extern const struct doctor_need doctor_needs[];

int cmd_doctor(const struct cli *c);

#define DOCTOR_COMMAND                                                                                   \
        {                                                                                                \
                .name = "doctor",                                                                        \
                .summary = "check what this node needs: metadata, region, credentials, clock, permissions", \
                .usage = "doctor [--json] [-j FILE]...",                                                 \
                .help = "Checks, one line each with a verdict (ok, warn, FAIL, skip): the attributes, the\n"  \
                        "AWS shared config files and the profile, the instance metadata service (IMDSv2;\n"   \
                        "a token request that is never answered from a container is the instance's\n"        \
                        "HttpPutResponseHopLimit), the instance's identity, the region and its source, the\n" \
                        "credentials chosen and why the sources before them were skipped (never a secret),\n" \
                        "who AWS says this is and the clock's skew against AWS's Date, the retry settings,\n" \
                        "each endpoint and the proxy it goes through, and for each enabled recipe the IAM\n"  \
                        "permissions it needs, checked without side effects: EC2 DryRun on CreateSnapshot(s),\n" \
                        "CreateTags and DeleteSnapshot, DescribeInstances and DescribeSnapshots by calling\n"  \
                        "them; CloudWatch's PutMetricData has no dry run and is not checked (why is said).\n"  \
                        "A missing permission names the statement of " DOCTOR_POLICY_PATH "\n"               \
                        "that grants it.\n\n"                                                                   \
                        "Exit status: 0 when nothing needed is missing, 1 otherwise.\n\n"                     \
                        "  --json                machine-readable output\n"                                   \
                        "  -j, --extra-json FILE extra attributes, highest precedence (repeatable)\n",        \
                .options = OPT_JSON | OPT_EXTRA_JSON,                                                    \
                .run = cmd_doctor,                                                                       \
        }

#endif
