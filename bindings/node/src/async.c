/* Async work behind Promises (see async.h). */
#include "async.h"

#include <stdlib.h>

#include "convert.h"
#include "errors.h"

static void async_execute(napi_env env, void* data) {
  (void)env;
  async_call* c = data;
  c->status = c->op->execute(c);
  if (c->status != SP_OK) c->message = dup_or_null(sp_last_error_message()); /* thread-local: read it here */
}

static void async_complete(napi_env env, napi_status work_status, void* data) {
  async_call* c = data;
  if (work_status == napi_cancelled) {
    c->status = SP_ERR_INTERNAL;
    free(c->message);
    c->message = dup_or_null("the call was cancelled");
  }
  if (c->status != SP_OK)
    napi_reject_deferred(env, c->deferred, make_sp_error(env, c->status, c->message));
  else
    napi_resolve_deferred(env, c->deferred, c->op->resolve ? c->op->resolve(env, c) : undefined(env));
  sp_free(c->out_str);
  if (c->h) {
    ditto_call_finished(c->h);
    napi_delete_reference(env, c->handle_ref);
  }
  napi_delete_async_work(env, c->work);
  free(c->s1);
  free(c->s2);
  free(c->message);
  free(c);
}

napi_value async_queue(napi_env env, napi_value handle_obj, ditto_handle* h, const async_op* op, char* s1, char* s2, int32_t i1) {
  async_call* c = calloc(1, sizeof *c);
  if (!c) {
    free(s1);
    free(s2);
    throw_out_of_memory(env);
    return NULL;
  }
  c->op = op;
  c->s1 = s1;
  c->s2 = s2;
  c->i1 = i1;
  c->h = h;
  c->d = h ? h->d : NULL;
  napi_value promise, name;
  napi_create_string_utf8(env, "smallpeer", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &c->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, async_execute, async_complete, c, &c->work) != napi_ok) {
    free(c->s1);
    free(c->s2);
    free(c);
    return NULL;
  }
  if (h) {
    napi_create_reference(env, handle_obj, 1, &c->handle_ref);
    ditto_call_started(h);
  }
  napi_queue_async_work(env, c->work);
  return promise;
}

napi_value async_resolve_string(napi_env env, async_call* c) {
  return make_str(env, c->out_str);
}

napi_value async_resolve_bool(napi_env env, async_call* c) {
  return make_bool(env, c->out_bool);
}

napi_value async_resolve_int(napi_env env, async_call* c) {
  return make_int(env, c->out_int);
}
