/* The C boundary between ml_exporter and a collector plugin (a shared
 * library listed under `plugins:` in the configuration).
 *
 * Plugin authors normally never touch this layer: ml_exporter/plugin_sdk.h
 * implements it on top of the C++ Collector interface. It is public so that
 * the contract is explicit and so that a plugin can be written in any
 * language that can export a C function.
 *
 * Rules of the boundary:
 *  - Plain C: fixed-width integers, opaque handles, POD structs whose first
 *    member is their size, function pointers. No C++ type and no exception
 *    crosses it; a plugin must catch everything before returning.
 *  - Structured data crosses as serialized protobuf bytes, described by
 *    proto/plugin_wire.proto (records, events, collector configuration, the
 *    model label table, metric families). Host and plugin parse them with
 *    their own generated code, so they need not share a protobuf build.
 *  - Ownership: the host owns every buffer it passes (valid only during the
 *    call) and every error buffer; the plugin owns its collector handles and
 *    the descriptor. Output bytes are handed to a host callback that copies
 *    them.
 *  - Versioning: the host loads a plugin only when the ABI majors are equal
 *    and the host's minor is at least the plugin's. A minor version only
 *    appends members to the end of structs (struct_size tells which are
 *    present); a major version may change anything after the first three
 *    members of ml_exporter_plugin_descriptor, which never move.
 */
#ifndef ML_EXPORTER_PLUGIN_ABI_H_
#define ML_EXPORTER_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ML_EXPORTER_PLUGIN_ABI_MAJOR 1
#define ML_EXPORTER_PLUGIN_ABI_MINOR 0

/* The one symbol a plugin exports. */
#define ML_EXPORTER_PLUGIN_ENTRY_SYMBOL "ml_exporter_plugin_entry"

/* Return codes of the plugin's functions. */
#define ML_EXPORTER_PLUGIN_OK 0
#define ML_EXPORTER_PLUGIN_INVALID_ARGUMENT 1 /* bad configuration or input */
#define ML_EXPORTER_PLUGIN_NOT_FOUND 2        /* e.g. unknown collector name */
#define ML_EXPORTER_PLUGIN_INTERNAL 3         /* the plugin failed */

/* Model id the host passes with events that name no model. */
#define ML_EXPORTER_PLUGIN_NO_MODEL UINT32_MAX

/* One collector instance, created and owned by the plugin. */
typedef struct ml_exporter_collector ml_exporter_collector;

/* What the host tells a plugin about itself at create time. */
typedef struct ml_exporter_host_info {
  uint32_t struct_size; /* sizeof(ml_exporter_host_info) in the host */
  uint32_t abi_major;   /* the host's ML_EXPORTER_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor;
  uint32_t reserved;        /* zero */
  const char* host_version; /* ml_exporter's version, NUL-terminated */
} ml_exporter_host_info;

/* One collector a plugin provides. The strings are owned by the plugin and
 * live as long as the library is loaded. */
typedef struct ml_exporter_collector_info {
  uint32_t struct_size; /* set by the host before the call */
  uint32_t reserved;
  const char* name;        /* unique in the process; [a-z0-9_]+ advised */
  const char* description; /* one line, may be empty */
} ml_exporter_collector_info;

/* Receives output bytes; may be called several times per call, appending.
 * The host copies the bytes before returning. */
typedef void (*ml_exporter_write_fn)(void* sink, const uint8_t* data,
                                     size_t size);

/* Everything the host needs to drive a plugin. Returned by the entry point;
 * must stay valid until the library is unloaded. Unless stated otherwise,
 * `error` is a host-owned buffer of `error_capacity` bytes into which the
 * plugin writes a NUL-terminated message (truncated to fit) when it returns
 * anything but ML_EXPORTER_PLUGIN_OK. */
typedef struct ml_exporter_plugin_descriptor {
  /* These three members keep their place in every ABI version. */
  uint32_t struct_size; /* sizeof(ml_exporter_plugin_descriptor) as built */
  uint32_t abi_major;   /* ML_EXPORTER_PLUGIN_ABI_MAJOR as built */
  uint32_t abi_minor;
  uint32_t reserved; /* zero */

  const char* name;    /* plugin name, shown in ml_exporter_plugin_info */
  const char* version; /* plugin version, same */

  /* Collectors provided, index in [0, collector_count). */
  size_t collector_count;
  int32_t (*get_collector)(size_t index, ml_exporter_collector_info* out);

  /* Creates one collector instance. `config` is a serialized
   * ml_exporter.plugin.v1.CollectorConfig (limits, include/exclude, params).
   * On success stores a non-null handle in *out. May be called several
   * times for the same name (one instance per configured use, and again on
   * reload). */
  int32_t (*create)(const char* collector_name, const uint8_t* config,
                    size_t config_size, const ml_exporter_host_info* host,
                    ml_exporter_collector** out, char* error,
                    size_t error_capacity);

  /* Observes one record, a serialized ml_exporter.plugin.v1.Record, of the
   * host's dense model id `model_id`. Called concurrently from many threads
   * on the ingest hot path: must be thread-safe and fast. No error buffer:
   * a failure is returned as a code, counted by the host, and should be
   * explained at the next collect. */
  int32_t (*observe)(ml_exporter_collector* collector, uint32_t model_id,
                     const uint8_t* record, size_t record_size);

  /* Same for an event (ml_exporter.plugin.v1.Event); `model_id` is
   * ML_EXPORTER_PLUGIN_NO_MODEL when the event names no model. */
  int32_t (*observe_event)(ml_exporter_collector* collector, uint32_t model_id,
                           const uint8_t* event, size_t event_size);

  /* Writes the collector's metrics as one serialized
   * ml_exporter.plugin.v1.MetricFamilies through `write`. `models` is a
   * serialized ml_exporter.plugin.v1.ModelTable: the label values of every
   * model id [0, n), already capped and sanitised by the host. Called
   * concurrently with observe, never concurrently with itself on one
   * collector. Families written are exported even when the return code is
   * an error (the collector is then reported as failed for this scrape). */
  int32_t (*collect)(ml_exporter_collector* collector, const uint8_t* models,
                     size_t models_size, ml_exporter_write_fn write, void* sink,
                     char* error, size_t error_capacity);

  /* Destroys a collector. No other call on it is running or will run. */
  void (*destroy)(ml_exporter_collector* collector);
} ml_exporter_plugin_descriptor;

/* The entry point, exported as ML_EXPORTER_PLUGIN_ENTRY_SYMBOL. The host
 * passes its own ABI version so that a plugin may support several; it
 * returns null only if it cannot serve this host at all. */
typedef const ml_exporter_plugin_descriptor* (*ml_exporter_plugin_entry_fn)(
    uint32_t host_abi_major, uint32_t host_abi_minor);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ML_EXPORTER_PLUGIN_ABI_H_ */
