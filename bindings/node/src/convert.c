/* Argument and result conversion (see convert.h). */
#include "convert.h"

#include <math.h>
#include <smallpeer/smallpeer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

bool get_args(napi_env env, napi_callback_info info, args_t* a, size_t required) {
  a->argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return false;
  if (a->argc < required) {
    char buf[96];
    snprintf(buf, sizeof buf, "expected %zu argument(s), got %zu", required, a->argc);
    throw_invalid_argument(env, buf);
    return false;
  }
  for (size_t i = a->argc; i < MAX_ARGS; ++i) napi_get_undefined(env, &a->argv[i]);
  return true;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

bool is_function(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_function;
}

char* get_string(napi_env env, napi_value v, const char* what) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s must be a string", what);
    throw_invalid_argument(env, buf);
    return NULL;
  }
  char* s = malloc(len + 1);
  if (!s) {
    throw_out_of_memory(env);
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) { /* C would cut the string at its first NUL */
    free(s);
    char buf[128];
    snprintf(buf, sizeof buf, "%s must not contain NUL characters", what);
    throw_invalid_argument(env, buf);
    return NULL;
  }
  return s;
}

bool get_bool(napi_env env, napi_value v, const char* what, bool* out) {
  if (napi_get_value_bool(env, v, out) == napi_ok) return true;
  char buf[128];
  snprintf(buf, sizeof buf, "%s must be a boolean", what);
  throw_invalid_argument(env, buf);
  return false;
}

bool get_int64(napi_env env, napi_value v, const char* what, int64_t* out) {
  double d;
  /* Range first: converting NaN or a double beyond int64's range is undefined behaviour in C. */
  if (napi_get_value_double(env, v, &d) == napi_ok && isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
      d == (double)(int64_t)d) {
    *out = (int64_t)d;
    return true;
  }
  char buf[128];
  snprintf(buf, sizeof buf, "%s must be an integer", what);
  throw_invalid_argument(env, buf);
  return false;
}

bool get_int32(napi_env env, napi_value v, const char* what, int32_t* out) {
  int64_t x;
  if (!get_int64(env, v, what, &x)) return false;
  if (x < INT32_MIN || x > INT32_MAX) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s is out of range", what);
    throw_invalid_argument(env, buf);
    return false;
  }
  *out = (int32_t)x;
  return true;
}

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value make_bool(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

napi_value make_int(napi_env env, int64_t x) {
  napi_value v;
  napi_create_int64(env, x, &v);
  return v;
}

napi_value make_str(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value take_str(napi_env env, char* s) {
  napi_value v = make_str(env, s);
  sp_free(s);
  return v;
}

char* dup_or_null(const char* s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char* c = malloc(n);
  if (c) memcpy(c, s, n);
  return c;
}
