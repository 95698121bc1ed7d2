#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report_sender.h"
#include "aws/cloudwatch.h"
#include "aws/session.h"

struct cw_sender {
        json_object *attrs;            /* borrowed */
        struct aws_session *session;   /* made on first send */
};

static enum send_status cw_send(void *userdata, const struct metric_batch *b, struct error *err)
{
        struct cw_sender *cs = userdata;
        int r;

        if (!cs->session) {
                struct error e = ERROR_INIT;

                r = aws_session_new(cs->attrs, NULL, &cs->session, &e);
                if (r < 0) {
                        /* No region or credentials yet: keep the data for later. */
                        error_set(err, r, "PutMetricData: %s (a node that should not report: set "
                                  "cloudwatch.enabled to false)", e.msg);
                        return SEND_RETRY_LATER;
                }
        }
        r = cloudwatch_put_metric_data(cs->session, b, err);
        if (r >= 0)
                return SEND_OK;
        return report_error_is_transient(r) ? SEND_RETRY_LATER : SEND_REJECTED;
}

int report_cloudwatch_sender_new(json_object *attrs, struct report_sender *ret, struct error *err)
{
        struct cw_sender *cs = calloc(1, sizeof(*cs));

        if (!cs)
                return error_set(err, -ENOMEM, "out of memory");
        cs->attrs = attrs;
        *ret = (struct report_sender){ cw_send, cs };
        return 0;
}

void report_cloudwatch_sender_free(struct report_sender *s)
{
        struct cw_sender *cs;

        if (!s || !s->userdata)
                return;
        cs = s->userdata;
        aws_session_free(cs->session);
        free(cs);
        s->userdata = NULL;
}
