/* Logger (process-wide): output settings, the custom callback and the export of every open instance's logs;
 * an instance's engine log: log, send. */
#include <stdlib.h>

#include "addon.h"
#include "async.h"
#include "callbacks.h"
#include "convert.h"
#include "errors.h"
#include "handles.h"

static napi_value js_logger_set_enabled(napi_env env, napi_callback_info info) {
  args_t a;
  bool on;
  if (!get_args(env, info, &a, 1) || !get_bool(env, a.argv[0], "enabled", &on)) return NULL;
  return failed(env, sp_logger_set_enabled(on)) ? NULL : undefined(env);
}

static napi_value js_logger_get_enabled(napi_env env, napi_callback_info info) {
  (void)info;
  bool on = false;
  return failed(env, sp_logger_get_enabled(&on)) ? NULL : make_bool(env, on);
}

static napi_value js_logger_set_minimum_level(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t level;
  if (!get_args(env, info, &a, 1) || !get_int32(env, a.argv[0], "level", &level)) return NULL;
  return failed(env, sp_logger_set_minimum_level(level)) ? NULL : undefined(env);
}

static napi_value js_logger_get_minimum_level(napi_env env, napi_callback_info info) {
  (void)info;
  sp_log_level_t level = 0;
  return failed(env, sp_logger_get_minimum_level(&level)) ? NULL : make_int(env, level);
}

static napi_value js_logger_set_log_file(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  char* path = NULL;
  if (!is_nullish(env, a.argv[0]) && !(path = get_string(env, a.argv[0], "path"))) return NULL;
  sp_status_t st = sp_logger_set_log_file(path);
  free(path);
  return failed(env, st) ? NULL : undefined(env);
}

static napi_value js_logger_set_console_enabled(napi_env env, napi_callback_info info) {
  args_t a;
  bool on;
  if (!get_args(env, info, &a, 1) || !get_bool(env, a.argv[0], "enabled", &on)) return NULL;
  return failed(env, sp_logger_set_console_enabled(on)) ? NULL : undefined(env);
}

/* ---- The custom log callback (the callback lifecycle is callbacks.h's) ------------------------ */

typedef struct {
  sp_log_level_t level;
  char* message;
} log_event;

static void free_log_event(void* data) {
  log_event* ev = data;
  free(ev->message);
  free(ev);
}

/* JS thread: callback(level, message). */
static napi_status deliver_log(napi_env env, napi_value fn, void* data) {
  log_event* ev = data;
  napi_value argv[2], global, result;
  argv[0] = make_int(env, ev->level);
  argv[1] = make_str(env, ev->message);
  napi_get_global(env, &global);
  return napi_call_function(env, global, fn, 2, argv, &result);
}

static const callback_kind kLogCallbackKind = {"log callback", "smallpeer log callback", &kLogCallbackTag, deliver_log,
                                               free_log_event};

/* Engine thread: queue the message; never blocks. */
static void on_log(void* userdata, sp_log_level_t level, const char* message) {
  log_event* ev = malloc(sizeof *ev);
  if (!ev) return;
  ev->level = level;
  ev->message = dup_or_null(message ? message : "");
  js_callback_post(userdata, ev);
}

static sp_status_t register_log_callback(void* arg, js_callback* cb, sp_userdata_free_fn userdata_free, sp_token_t** out_token) {
  (void)arg;
  return sp_logger_add_callback(on_log, cb, userdata_free, out_token);
}

/* loggerAddCallback(fn(level, message)) -> log callback handle. It never keeps the process alive. */
static napi_value js_logger_add_callback(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  if (!is_function(env, a.argv[0])) {
    throw_invalid_argument(env, "the log callback must be a function");
    return NULL;
  }
  return js_callback_create(env, &kLogCallbackKind, a.argv[0], register_log_callback, NULL, &get_state(env)->loggers, NULL);
}

static napi_value js_logger_remove_callback(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  js_callback* l = unwrap_tagged(env, a.argv[0], &kLogCallbackTag, "log callback");
  if (!l) return NULL;
  js_callback_cancel(env, l, false);
  return undefined(env);
}

/* ---- An instance's engine log ------------------------------------------------------------------ */

/* log(h, level, message): writes to this instance's engine log. */
static napi_value js_log(napi_env env, napi_callback_info info) {
  args_t a;
  int32_t level;
  if (!get_args(env, info, &a, 3)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h || !get_int32(env, a.argv[1], "level", &level)) return NULL;
  char* msg = get_string(env, a.argv[2], "message");
  if (!msg) return NULL;
  sp_status_t st = sp_ditto_log(h->d, level, msg);
  free(msg);
  return failed(env, st) ? NULL : undefined(env);
}

static sp_status_t export_to_file_execute(async_call* c) {
  uint64_t bytes = 0;
  sp_status_t st = sp_logger_export_to_file(c->s1, c->s2, &bytes);
  c->out_int = (int64_t)bytes;
  return st;
}
static const async_op kExportToFile = {export_to_file_execute, async_resolve_int};

/* loggerExportToFile(path, optionsJSON | null) -> Promise<bytes written>: every open instance's engine logs. */
static napi_value js_logger_export_to_file(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  char* path = get_string(env, a.argv[0], "path");
  if (!path) return NULL;
  char* options = NULL;
  if (!is_nullish(env, a.argv[1]) && !(options = get_string(env, a.argv[1], "options"))) {
    free(path);
    return NULL;
  }
  return async_queue(env, NULL, NULL, &kExportToFile, path, options, 0);
}

static sp_status_t send_logs_execute(async_call* c) {
  return sp_ditto_send_logs(c->d, c->s1, &c->out_str);
}
static const async_op kSendLogs = {send_logs_execute, async_resolve_string};

/* sendLogs(h, optionsJSON | null) -> Promise<log request id>. */
static napi_value js_send_logs(napi_env env, napi_callback_info info) {
  args_t a;
  if (!get_args(env, info, &a, 1)) return NULL;
  ditto_handle* h = get_ditto(env, a.argv[0]);
  if (!h) return NULL;
  char* options = NULL;
  if (!is_nullish(env, a.argv[1]) && !(options = get_string(env, a.argv[1], "options"))) return NULL;
  return async_queue(env, a.argv[0], h, &kSendLogs, options, NULL, 0);
}

const addon_export kLoggerExports[] = {
    {"loggerSetEnabled", js_logger_set_enabled},
    {"loggerGetEnabled", js_logger_get_enabled},
    {"loggerSetMinimumLevel", js_logger_set_minimum_level},
    {"loggerGetMinimumLevel", js_logger_get_minimum_level},
    {"loggerSetLogFile", js_logger_set_log_file},
    {"loggerSetConsoleEnabled", js_logger_set_console_enabled},
    {"loggerAddCallback", js_logger_add_callback},
    {"loggerRemoveCallback", js_logger_remove_callback},
    {"log", js_log},
    {"loggerExportToFile", js_logger_export_to_file},
    {"sendLogs", js_send_logs},
    {NULL, NULL},
};
