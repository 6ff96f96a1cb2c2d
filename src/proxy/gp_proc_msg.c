/* Per-message procedures: import the exported context, operate, re-export it (it carries the
 * sequence state). The interposer converts contexts to local ones and never sends these. */
#include "config.h"
#include "proxy/gp_proc.h"

#include <errno.h>
#include <string.h>

static gssx_ctx *reexport(struct gp_call *gc, gss_ctx_id_t *ctx, uint32_t *maj, OM_uint32 *min)
{
    gssx_ctx *out = talloc_zero(gc->mem, gssx_ctx);
    uint32_t emin;

    if (out == NULL || gp_ctx_to_gssx(&emin, gc, GP_EXPORT_DEFAULT, ctx, out) !=
                           GSS_S_COMPLETE) {
        *maj = GSS_S_FAILURE;
        *min = out == NULL ? ENOMEM : emin;
        return NULL;
    }
    return out;
}

int gp_proc_get_mic(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_get_mic *arg = argp;
    gssx_res_get_mic *res = resp;
    gss_ctx_id_t ctx;
    gss_buffer_desc msg, tok = GSS_C_EMPTY_BUFFER;
    OM_uint32 min = 0, tmp;
    uint32_t maj;

    maj = gp_ctx_from_gssx(&min, &arg->context_handle, &ctx);
    if (maj == GSS_S_COMPLETE) {
        gp_buf_view(&msg, &arg->message_buffer);
        maj = gss_get_mic(&min, ctx, (gss_qop_t)arg->qop_req, &msg, &tok);
        if (maj == GSS_S_COMPLETE) {
            gp_buf_set(gc->mem, &res->token_buffer, tok.value, tok.length);
            res->context_handle = reexport(gc, &ctx, &maj, &min);
        }
    }
    gp_status_set(gc->mem, &res->status, maj, min, gss_mech_krb5);
    gss_release_buffer(&tmp, &tok);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}

int gp_proc_verify(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_verify_mic *arg = argp;
    gssx_res_verify_mic *res = resp;
    gss_ctx_id_t ctx;
    gss_buffer_desc msg, tok;
    gss_qop_t qop = 0;
    OM_uint32 min = 0, tmp;
    uint32_t maj;

    maj = gp_ctx_from_gssx(&min, &arg->context_handle, &ctx);
    if (maj == GSS_S_COMPLETE) {
        gp_buf_view(&msg, &arg->message_buffer);
        gp_buf_view(&tok, &arg->token_buffer);
        maj = gss_verify_mic(&min, ctx, &msg, &tok, &qop);
        if (maj == GSS_S_COMPLETE) {
            res->qop_state = talloc(gc->mem, gssx_qop);
            *res->qop_state = qop;
            res->context_handle = reexport(gc, &ctx, &maj, &min);
        }
    }
    gp_status_set(gc->mem, &res->status, maj, min, gss_mech_krb5);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}

int gp_proc_wrap(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_wrap *arg = argp;
    gssx_res_wrap *res = resp;
    gss_ctx_id_t ctx;
    gss_buffer_desc msg, tok = GSS_C_EMPTY_BUFFER;
    int conf = 0;
    OM_uint32 min = 0, tmp;
    uint32_t maj;

    maj = gp_ctx_from_gssx(&min, &arg->context_handle, &ctx);
    if (maj == GSS_S_COMPLETE && arg->message_buffer.message_buffer_len != 1) {
        maj = GSS_S_FAILURE; /* one buffer, as the reference server */
        min = EINVAL;
    }
    if (maj == GSS_S_COMPLETE) {
        gp_buf_view(&msg, &arg->message_buffer.message_buffer_val[0]);
        maj = gss_wrap(&min, ctx, arg->conf_req, (gss_qop_t)arg->qop_state, &msg, &conf, &tok);
        if (maj == GSS_S_COMPLETE) {
            res->token_buffer.token_buffer_val = talloc_zero(gc->mem, gssx_buffer);
            res->token_buffer.token_buffer_len = 1;
            gp_buf_set(gc->mem, res->token_buffer.token_buffer_val, tok.value, tok.length);
            res->conf_state = talloc(gc->mem, bool_t);
            *res->conf_state = conf;
            res->context_handle = reexport(gc, &ctx, &maj, &min);
        }
    }
    gp_status_set(gc->mem, &res->status, maj, min, gss_mech_krb5);
    gss_release_buffer(&tmp, &tok);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}

int gp_proc_unwrap(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_unwrap *arg = argp;
    gssx_res_unwrap *res = resp;
    gss_ctx_id_t ctx;
    gss_buffer_desc tok, msg = GSS_C_EMPTY_BUFFER;
    int conf = 0;
    gss_qop_t qop = 0;
    OM_uint32 min = 0, tmp;
    uint32_t maj;

    maj = gp_ctx_from_gssx(&min, &arg->context_handle, &ctx);
    if (maj == GSS_S_COMPLETE && arg->token_buffer.token_buffer_len != 1) {
        maj = GSS_S_FAILURE;
        min = EINVAL;
    }
    if (maj == GSS_S_COMPLETE) {
        gp_buf_view(&tok, &arg->token_buffer.token_buffer_val[0]);
        maj = gss_unwrap(&min, ctx, &tok, &msg, &conf, &qop);
        if (maj == GSS_S_COMPLETE) {
            res->message_buffer.message_buffer_val = talloc_zero(gc->mem, gssx_buffer);
            res->message_buffer.message_buffer_len = 1;
            gp_buf_set(gc->mem, res->message_buffer.message_buffer_val, msg.value, msg.length);
            res->conf_state = talloc(gc->mem, bool_t);
            *res->conf_state = conf;
            res->qop_state = talloc(gc->mem, gssx_qop);
            *res->qop_state = qop;
            res->context_handle = reexport(gc, &ctx, &maj, &min);
        }
    }
    gp_status_set(gc->mem, &res->status, maj, min, gss_mech_krb5);
    if (msg.value != NULL) {
        explicit_bzero(msg.value, msg.length);
    }
    gss_release_buffer(&tmp, &msg);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}

int gp_proc_wrap_size_limit(struct gp_call *gc, void *argp, void *resp)
{
    gssx_arg_wrap_size_limit *arg = argp;
    gssx_res_wrap_size_limit *res = resp;
    gss_ctx_id_t ctx;
    OM_uint32 min = 0, tmp, max = 0;
    uint32_t maj;

    maj = gp_ctx_from_gssx(&min, &arg->context_handle, &ctx);
    if (maj == GSS_S_COMPLETE) {
        maj = gss_wrap_size_limit(&min, ctx, arg->conf_req, (gss_qop_t)arg->qop_state,
                                  (OM_uint32)arg->req_output_size, &max);
        res->max_input_size = max;
    }
    gp_status_set(gc->mem, &res->status, maj, min, gss_mech_krb5);
    gss_delete_sec_context(&tmp, &ctx, GSS_C_NO_BUFFER);
    return 0;
}
