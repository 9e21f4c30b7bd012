/*
 * smallpeer_jni.h — hand-written JNI support for the SWIG layer (smallpeer.i): UTF-8 strings,
 * status exceptions and the callback trampolines that carry engine-thread calls into the JVM.
 */
#ifndef SMALLPEER_JNI_H
#define SMALLPEER_JNI_H

#include <jni.h>

#include "smallpeer/smallpeer.h"

/** A Java callback object registered with the engine; the engine owns one reference (see spj_callback_new). */
typedef struct spj_callback spj_callback;

/** Which Java interface a callback object implements. */
typedef enum { SPJ_STORE_OBSERVER, SPJ_LOG_CALLBACK } spj_callback_kind;

/** Throws io.smallpeer.internal.NativeException(status, sp_last_error_message()). */
void spj_throw_status(JNIEnv* env, sp_status_t status);
/** Throws io.smallpeer.internal.NativeException(SP_ERR_INVALID_ARGUMENT, message): a refused argument, never a bare JDK
 * exception. */
void spj_throw_invalid_argument(JNIEnv* env, const char* message);
/** A malloc'ed NUL-terminated UTF-8 copy of `s` (free it with free), or NULL with an exception pending (an embedded NUL or an
 * unpaired surrogate: SP_ERR_INVALID_ARGUMENT). */
char* spj_utf8_from_string(JNIEnv* env, jstring s);
/** A Java String decoded from UTF-8 (NULL for NULL, or with an exception pending). */
jstring spj_string_from_utf8(JNIEnv* env, const char* utf8);
/** Checks an output array: NULL is allowed (the C call gets NULL), otherwise it needs room for one value. */
int spj_check_out_array(JNIEnv* env, jarray out);

/** Wraps a Java callback object in a global reference; NULL with an exception pending on failure. */
spj_callback* spj_callback_new(JNIEnv* env, jobject target, spj_callback_kind kind);
/** The userdata free function handed to the engine: drops the engine's reference. */
void spj_callback_release(void* userdata);
/** Called after the registering C call, whatever its status: drops the caller's reference (the engine drops its own). */
void spj_callback_registered(spj_callback* callback);
/** sp_store_observer_fn: attaches the engine thread, calls onChange, detaches. */
void spj_store_observer_trampoline(void* userdata, const char* collection, const char* id, sp_change_kind_t kind,
                                   const char* document_json);
/** sp_log_callback_fn: attaches the engine thread, calls onLog, detaches. */
void spj_log_trampoline(void* userdata, sp_log_level_t level, const char* message);

#endif /* SMALLPEER_JNI_H */
