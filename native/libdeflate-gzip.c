// Node-API addon: whole gzip members by libdeflate, compressed on the libuv thread pool.
//
// Exports:
//   gzipMember(input: Uint8Array, level: number, output: Uint8Array): Promise<number>
//     Compresses `input` into one complete gzip member (header, DEFLATE at `level` 0-12, CRC-32
//     and length) written at the start of `output`, off the main thread. Resolves to the
//     member's length, or 0 when it does not fit in `output` (size `output` with gzipBound and it
//     always fits). The two views keep their objects alive until the promise settles, but not
//     the memory under them: until then the caller must not change `input`, read `output`, or
//     detach, transfer or resize the buffer under either (the thread reads and writes that
//     memory directly; a freed buffer would crash the process). Throws synchronously: a
//     TypeError for arguments of the wrong kind, a RangeError for a level that is not an
//     integer 0-12 or for views that overlap. Rejects when libdeflate cannot make a compressor
//     for the level (out of memory, or a library too old for it: level 0 needs libdeflate 1.7).
//   gzipBound(length: number): number
//     The most bytes a member of `length` input bytes can take at any level.
//   checkLevels(): boolean
//     Whether the libdeflate loaded here makes a compressor for every level 0-9, the levels
//     create uses (the library is found at load time and may be older than the headers this was
//     built with).
//   crc32(crc: number, data: Uint8Array): number
//     The CRC-32 (gzip's) of `data` continued from `crc` (0 to start; taken modulo 2^32, so
//     `crc | 0` serves too), computed on the calling thread by libdeflate, which uses the CPU's
//     carry-less multiply where it has one. Throws a TypeError for arguments of the wrong kind.
//   version: string
//     The libdeflate headers this addon was built with.
//
// Every thread that compresses keeps one compressor per level it has used (a few hundred KiB to
// a few MiB each), freed when the thread exits, so a block costs no allocation.
#include <libdeflate.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define MAX_LEVEL 12

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref input_ref;
  napi_ref output_ref;
  const uint8_t *input;
  size_t input_length;
  uint8_t *output;
  size_t output_capacity;
  size_t written;
  int level;
  int no_compressor;
} Job;

// The calling thread's compressors, one slot per level, in a thread-specific array that is
// freed (compressors included) when the thread exits.
static pthread_key_t compressors_key;
static pthread_once_t compressors_once = PTHREAD_ONCE_INIT;

static void free_compressors(void *p) {
  struct libdeflate_compressor **slots = p;
  for (int i = 0; i <= MAX_LEVEL; i++) libdeflate_free_compressor(slots[i]);
  free(slots);
}

static void make_key(void) { pthread_key_create(&compressors_key, free_compressors); }

static struct libdeflate_compressor *compressor_for(int level) {
  pthread_once(&compressors_once, make_key);
  struct libdeflate_compressor **slots = pthread_getspecific(compressors_key);
  if (slots == NULL) {
    slots = calloc(MAX_LEVEL + 1, sizeof *slots);
    if (slots == NULL || pthread_setspecific(compressors_key, slots) != 0) {
      free(slots);
      return NULL;
    }
  }
  if (slots[level] == NULL) slots[level] = libdeflate_alloc_compressor(level);
  return slots[level];
}

static void execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  struct libdeflate_compressor *c = compressor_for(job->level);
  if (c == NULL) {
    job->no_compressor = 1;
    return;
  }
  job->written =
      libdeflate_gzip_compress(c, job->input, job->input_length, job->output, job->output_capacity);
}

static void reject_with(napi_env env, napi_deferred deferred, const char *text) {
  napi_value message, error;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_reject_deferred(env, deferred, error);
}

static void complete(napi_env env, napi_status status, void *data) {
  Job *job = data;
  if (status != napi_ok) {
    reject_with(env, job->deferred, "libdeflate: the compression did not run");
  } else if (job->no_compressor) {
    reject_with(env, job->deferred,
                "libdeflate: no compressor for this level (out of memory, or a libdeflate older "
                "than the level needs)");
  } else {
    napi_value result;
    napi_create_double(env, (double)job->written, &result);
    napi_resolve_deferred(env, job->deferred, result);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_reference(env, job->output_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

// The bytes of a Uint8Array argument, or NULL (with a TypeError thrown) when it is not one.
static uint8_t *bytes_of(napi_env env, napi_value value, size_t *length, const char *what) {
  bool is_typedarray = false;
  napi_typedarray_type type;
  void *data = NULL;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, length, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  // A zero-length view may have no backing store; any non-null pointer will do for it.
  static uint8_t empty;
  return data != NULL ? data : &empty;
}

static napi_value gzip_member(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "gzipMember(input, level, output) takes three arguments");
    return NULL;
  }
  size_t input_length, output_capacity;
  uint8_t *input = bytes_of(env, argv[0], &input_length, "input must be a Uint8Array");
  if (input == NULL) return NULL;
  double level;
  if (napi_get_value_double(env, argv[1], &level) != napi_ok) {
    napi_throw_type_error(env, NULL, "level must be a number");
    return NULL;
  }
  // NaN fails both comparisons; a fraction fails the last.
  if (!(level >= 0 && level <= MAX_LEVEL) || level != (double)(int)level) {
    napi_throw_range_error(env, NULL, "level must be an integer 0 to 12");
    return NULL;
  }
  uint8_t *output = bytes_of(env, argv[2], &output_capacity, "output must be a Uint8Array");
  if (output == NULL) return NULL;
  if (input_length > 0 && output_capacity > 0 && input < output + output_capacity &&
      output < input + input_length) {
    napi_throw_range_error(env, NULL, "input and output must not overlap");
    return NULL;
  }

  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  job->input = input;
  job->input_length = input_length;
  job->output = output;
  job->output_capacity = output_capacity;
  job->level = (int)level;

  napi_value promise, name;
  if (napi_create_reference(env, argv[0], 1, &job->input_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &job->output_ref) != napi_ok ||
      napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "raftsnap:gzipMember", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    // Only reachable when the engine itself is failing; what was made is released.
    if (job->input_ref) napi_delete_reference(env, job->input_ref);
    if (job->output_ref) napi_delete_reference(env, job->output_ref);
    if (job->work) napi_delete_async_work(env, job->work);
    free(job);
    napi_throw_error(env, NULL, "could not queue the compression");
    return NULL;
  }
  return promise;
}

static napi_value gzip_bound(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_double(env, argv[0], &length) != napi_ok || !(length >= 0) ||
      length > 9007199254740991.0) {
    napi_throw_type_error(env, NULL, "length must be a non-negative number");
    return NULL;
  }
  // A NULL compressor asks for the bound over every level.
  size_t bound = libdeflate_gzip_compress_bound(NULL, (size_t)length);
  napi_value result;
  napi_create_double(env, (double)bound, &result);
  return result;
}

static napi_value crc32_of(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  uint32_t crc;
  napi_valuetype type = napi_undefined;
  if (argc < 2 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_number ||
      napi_get_value_uint32(env, argv[0], &crc) != napi_ok) {
    napi_throw_type_error(env, NULL, "crc32(crc, data) takes a number and a Uint8Array");
    return NULL;
  }
  size_t length;
  uint8_t *data = bytes_of(env, argv[1], &length, "data must be a Uint8Array");
  if (data == NULL) return NULL;
  napi_value result;
  napi_create_uint32(env, libdeflate_crc32(crc, data, length), &result);
  return result;
}

static napi_value check_levels(napi_env env, napi_callback_info info) {
  (void)info;
  bool ok = true;
  for (int level = 0; level <= 9 && ok; level++) {
    struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
    ok = c != NULL;
    libdeflate_free_compressor(c);
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn, version;
  napi_create_function(env, "gzipMember", NAPI_AUTO_LENGTH, gzip_member, NULL, &fn);
  napi_set_named_property(env, exports, "gzipMember", fn);
  napi_create_function(env, "gzipBound", NAPI_AUTO_LENGTH, gzip_bound, NULL, &fn);
  napi_set_named_property(env, exports, "gzipBound", fn);
  napi_create_function(env, "checkLevels", NAPI_AUTO_LENGTH, check_levels, NULL, &fn);
  napi_set_named_property(env, exports, "checkLevels", fn);
  napi_create_function(env, "crc32", NAPI_AUTO_LENGTH, crc32_of, NULL, &fn);
  napi_set_named_property(env, exports, "crc32", fn);
  napi_create_string_utf8(env, LIBDEFLATE_VERSION_STRING, NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "version", version);
  return exports;
}
