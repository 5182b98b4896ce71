/* Test plugins written against the bare C ABI, without the SDK. Built in
 * several variants (see CMakeLists.txt): a working one, and ones with the
 * wrong ABI major, a newer minor, a missing function and no descriptor. */
#include <stddef.h>
#include <string.h>

#include "ml_exporter/plugin_abi.h"

#ifndef RAW_ABI_MAJOR
#define RAW_ABI_MAJOR ML_EXPORTER_PLUGIN_ABI_MAJOR
#endif
#ifndef RAW_ABI_MINOR
#define RAW_ABI_MINOR ML_EXPORTER_PLUGIN_ABI_MINOR
#endif

extern "C" {

struct ml_exporter_collector {
  int unused;
};

static ml_exporter_collector the_collector;
static int live_collectors = 0;

static int32_t GetCollector(size_t index, ml_exporter_collector_info* out) {
  if (index != 0) return ML_EXPORTER_PLUGIN_NOT_FOUND;
  out->name = "raw";
  out->description = "A collector written in C.";
  return ML_EXPORTER_PLUGIN_OK;
}

static int32_t Create(const char* name, const uint8_t* config,
                      size_t config_size, const ml_exporter_host_info* host,
                      ml_exporter_collector** out, char* error,
                      size_t error_capacity) {
  (void)config;
  (void)config_size;
  if (strcmp(name, "raw") != 0 || host->abi_major != 1) {
    strncpy(error, "unexpected call", error_capacity - 1);
    return ML_EXPORTER_PLUGIN_INTERNAL;
  }
  ++live_collectors;
  *out = &the_collector;
  return ML_EXPORTER_PLUGIN_OK;
}

static int32_t Observe(ml_exporter_collector*, uint32_t, const uint8_t*,
                       size_t) {
  return ML_EXPORTER_PLUGIN_OK;
}

/* Writes an empty MetricFamilies (zero bytes is a valid empty message). */
static int32_t Collect(ml_exporter_collector*, const uint8_t*, size_t,
                       ml_exporter_write_fn write, void* sink, char*, size_t) {
  write(sink, (const uint8_t*)"", 0);
  return ML_EXPORTER_PLUGIN_OK;
}

static void Destroy(ml_exporter_collector*) { --live_collectors; }

__attribute__((visibility("default"))) const ml_exporter_plugin_descriptor*
ml_exporter_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor) {
  (void)host_abi_major;
  (void)host_abi_minor;
  static ml_exporter_plugin_descriptor d;
  d.struct_size = sizeof d;
  d.abi_major = RAW_ABI_MAJOR;
  d.abi_minor = RAW_ABI_MINOR;
  d.name = "raw";
  d.version = "0.0.1";
  d.collector_count = 1;
  d.get_collector = GetCollector;
  d.create = Create;
  d.observe = Observe;
  d.observe_event = Observe;
  d.collect = Collect;
  d.destroy = Destroy;
#ifdef RAW_MISSING_FUNCTION
  d.collect = NULL;
#endif
#ifdef RAW_NULL_DESCRIPTOR
  return NULL;
#endif
  return &d;
}

/* For the tests: how many collectors are alive. */
__attribute__((visibility("default"))) int raw_live_collectors(void) {
  return live_collectors;
}

}  // extern "C"
