/*
 * smallpeer.i — SWIG interface over smallpeer.h: the raw, internal JNI layer of the JVM binding.
 *
 * Everything in the headers is bound except sp_last_error_message and sp_free, whose work the
 * typemaps do. The typemaps make every Java type a plain one (no SWIGTYPE_p_* ever appears):
 *   - sp_status_t          -> void; a failed status throws NativeException(code, message), and so
 *                             does a refused argument (SP_ERR_INVALID_ARGUMENT: a NUL or an
 *                             unpaired surrogate in a string, a missing output array)
 *   - sp_ditto_t *, sp_token_t *  -> long (the handle's address)
 *   - const char *         -> String, as real UTF-8 (null allowed where C allows NULL)
 *   - T **out / T *out     -> a one-element array the call fills on success (String[], long[],
 *                             boolean[], int[]); owned strings are copied and freed with sp_free
 *   - (callback, userdata, userdata_free) -> NativeStoreObserver / NativeLogCallback
 */
%module(jniclassname = "SmallPeerNativeJNI") SmallPeerNative

%{
#include <stdint.h>
#include <stdlib.h>

#include "smallpeer/smallpeer.h"
#include "smallpeer/smallpeer_diagnostics.h"
#include "smallpeer_jni.h"
%}

%include <stdint.i>

/* The JNI class loads the native libraries before its first native call. */
%pragma(java) jniclasscode = %{
  static {
    NativeLoader.load();
  }
%}
%pragma(java) moduleclassmodifiers = "public final class"
%pragma(java) modulecode = %{
  private SmallPeerNative() {}
%}
/* Constants are compiled into Java (no native call to read them). */
%javaconst(1);

/* ---- Status ---------------------------------------------------------------------------------- */

%typemap(jni) sp_status_t "void"
%typemap(jtype) sp_status_t "void"
%typemap(jstype) sp_status_t "void"
%typemap(out) sp_status_t %{
  if ($1 != SP_OK) spj_throw_status(jenv, $1);
%}
%typemap(javaout) sp_status_t {
    $jnicall;
  }

/* ---- Handles --------------------------------------------------------------------------------- */

%define SPJ_HANDLE(TYPE)
%typemap(jni) TYPE * "jlong"
%typemap(jtype) TYPE * "long"
%typemap(jstype) TYPE * "long"
%typemap(javain) TYPE * "$javainput"
%typemap(in) TYPE * %{ $1 = (TYPE *)(intptr_t)$input; %}

%typemap(jni) TYPE ** "jlongArray"
%typemap(jtype) TYPE ** "long[]"
%typemap(jstype) TYPE ** "long[]"
%typemap(javain) TYPE ** "$javainput"
/* A new handle must reach Java, so the array is required here. */
%typemap(in) TYPE ** (TYPE *temp = NULL) %{
  if ($input == NULL) {
    spj_throw_invalid_argument(jenv, "the output array for a handle is null");
    return $null;
  }
  if (!spj_check_out_array(jenv, $input)) return $null;
  $1 = &temp;
%}
%typemap(argout) TYPE ** %{
  if (result == SP_OK) {
    jlong handle$argnum = (jlong)(intptr_t)temp$argnum;
    (*jenv)->SetLongArrayRegion(jenv, $input, 0, 1, &handle$argnum);
  }
%}
%enddef

SPJ_HANDLE(sp_ditto_t)
SPJ_HANDLE(sp_token_t)

/* ---- Strings --------------------------------------------------------------------------------- */

%typemap(in) const char * %{
  $1 = NULL;
  if ($input != NULL) {
    $1 = spj_utf8_from_string(jenv, $input);
    if ($1 == NULL) return $null;
  }
%}
%typemap(freearg) const char * %{ free((void *)$1); %}
/* Only sp_version returns a string directly: static storage, not freed. */
%typemap(out) const char * %{ $result = spj_string_from_utf8(jenv, $1); %}

%typemap(jni) char ** "jobjectArray"
%typemap(jtype) char ** "String[]"
%typemap(jstype) char ** "String[]"
%typemap(javain) char ** "$javainput"
%typemap(in) char ** (char *temp = NULL) %{
  if (!spj_check_out_array(jenv, $input)) return $null;
  $1 = $input != NULL ? &temp : NULL;
%}
%typemap(argout) char ** %{
  if (temp$argnum != NULL) {
    if (result == SP_OK) {
      jstring value$argnum = spj_string_from_utf8(jenv, temp$argnum);
      if (value$argnum != NULL) (*jenv)->SetObjectArrayElement(jenv, $input, 0, value$argnum);
    }
    sp_free(temp$argnum);
  }
%}

/* ---- Scalar outputs -------------------------------------------------------------------------- */

%define SPJ_SCALAR_OUT(CTYPE, JNIARRAY, JARRAY, JELEM, SETREGION)
%typemap(jni) CTYPE * "JNIARRAY"
%typemap(jtype) CTYPE * "JARRAY"
%typemap(jstype) CTYPE * "JARRAY"
%typemap(javain) CTYPE * "$javainput"
%typemap(in) CTYPE * (CTYPE temp = 0) %{
  if (!spj_check_out_array(jenv, $input)) return $null;
  $1 = $input != NULL ? &temp : NULL;
%}
%typemap(argout) CTYPE * %{
  if (result == SP_OK && $input != NULL) {
    JELEM value$argnum = (JELEM)temp$argnum;
    (*jenv)->SETREGION(jenv, $input, 0, 1, &value$argnum);
  }
%}
%enddef

SPJ_SCALAR_OUT(bool, jbooleanArray, boolean[], jboolean, SetBooleanArrayRegion)
SPJ_SCALAR_OUT(int32_t, jintArray, int[], jint, SetIntArrayRegion)
SPJ_SCALAR_OUT(int64_t, jlongArray, long[], jlong, SetLongArrayRegion)
/* Line counts fit a Java long; the JVM has no unsigned 64-bit type. */
SPJ_SCALAR_OUT(uint64_t, jlongArray, long[], jlong, SetLongArrayRegion)

/* ---- Callbacks ------------------------------------------------------------------------------- */

%define SPJ_CALLBACK(FN_TYPE, JAVA_TYPE, KIND, TRAMPOLINE)
%typemap(jni) (FN_TYPE callback, void *userdata, sp_userdata_free_fn userdata_free) "jobject"
%typemap(jtype) (FN_TYPE callback, void *userdata, sp_userdata_free_fn userdata_free) "JAVA_TYPE"
%typemap(jstype) (FN_TYPE callback, void *userdata, sp_userdata_free_fn userdata_free) "JAVA_TYPE"
%typemap(javain) (FN_TYPE callback, void *userdata, sp_userdata_free_fn userdata_free) "$javainput"
%typemap(in) (FN_TYPE callback, void *userdata, sp_userdata_free_fn userdata_free) (spj_callback *registration = NULL) %{
  registration = spj_callback_new(jenv, $input, KIND);
  if (registration == NULL) return $null;
  $1 = TRAMPOLINE;
  $2 = registration;
  $3 = spj_callback_release;
%}
%typemap(freearg) (FN_TYPE callback, void *userdata, sp_userdata_free_fn userdata_free) %{
  spj_callback_registered(registration$argnum);
%}
%enddef

SPJ_CALLBACK(sp_store_observer_fn, NativeStoreObserver, SPJ_STORE_OBSERVER, spj_store_observer_trampoline)
SPJ_CALLBACK(sp_log_callback_fn, NativeLogCallback, SPJ_LOG_CALLBACK, spj_log_trampoline)

/* ---- The header -------------------------------------------------------------------------------- */

/* Done inside the typemaps: the status typemap reads the message, the output typemaps free. */
%ignore sp_last_error_message;
%ignore sp_free;

/* SP_API expands to a GCC visibility attribute, which SWIG does not parse. */
#define __attribute__(x)
%include "smallpeer/smallpeer.h"
/* Test helpers outside the stable ABI (sp_ditto_live_handles); this layer is internal, so the JVM
   suites reach them here and the public Kotlin/Java API never exposes them. */
%include "smallpeer/smallpeer_diagnostics.h"
