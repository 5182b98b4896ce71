# ml_exporter_add_plugin(<target> <source>...)
#
# Builds an ml_exporter collector plugin, lib<target>.so, from sources that
# use ml_exporter/plugin_sdk.h: a MODULE library with hidden symbols (only
# the entry point is exported, so plugins loaded together cannot interpose
# one another), the plugin's own copy of the wire protocol
# (plugin_wire.proto, compiled here for the protobuf lite runtime) and the
# SDK's link dependencies (libml_exporter for ModelTable, Status and the
# metric builders; libprotobuf). It never compiles ml_exporter.proto: the
# host process has registered that file already.
#
# Available after find_package(ml_exporter) (or inside the ml_exporter
# build tree). See docs/plugins.md.

include_guard(GLOBAL)

# The generated plugin_wire.pb.{h,cc}, compiled once per build tree.
function(_ml_exporter_plugin_wire_library)
  if(TARGET ml_exporter_plugin_wire)
    return()
  endif()
  get_property(proto GLOBAL PROPERTY ML_EXPORTER_PLUGIN_WIRE_PROTO)
  if(NOT proto OR NOT EXISTS "${proto}")
    message(FATAL_ERROR "ml_exporter_add_plugin: plugin_wire.proto not found "
                        "(\"${proto}\"); use find_package(ml_exporter)")
  endif()
  if(NOT TARGET protobuf::libprotobuf)
    find_package(Protobuf REQUIRED)
  endif()
  if(TARGET protobuf::protoc)
    set(protoc $<TARGET_FILE:protobuf::protoc>)
  else()
    set(protoc ${Protobuf_PROTOC_EXECUTABLE})
  endif()
  get_filename_component(proto_dir "${proto}" DIRECTORY)
  set(out_dir ${CMAKE_BINARY_DIR}/ml_exporter_plugin_wire)
  file(MAKE_DIRECTORY ${out_dir})
  add_custom_command(
    OUTPUT ${out_dir}/plugin_wire.pb.cc ${out_dir}/plugin_wire.pb.h
    COMMAND ${protoc} --cpp_out=${out_dir} -I ${proto_dir} ${proto}
    DEPENDS ${proto}
    COMMENT "Generating the plugin wire protocol (plugin_wire.proto)"
    VERBATIM)
  add_library(ml_exporter_plugin_wire OBJECT
    ${out_dir}/plugin_wire.pb.cc ${out_dir}/plugin_wire.pb.h)
  set_target_properties(ml_exporter_plugin_wire PROPERTIES
    POSITION_INDEPENDENT_CODE ON
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_include_directories(ml_exporter_plugin_wire PUBLIC ${out_dir})
  target_link_libraries(ml_exporter_plugin_wire PUBLIC protobuf::libprotobuf)
  target_compile_options(ml_exporter_plugin_wire PRIVATE -w)
endfunction()

function(ml_exporter_add_plugin target)
  if(NOT ARGN)
    message(FATAL_ERROR "ml_exporter_add_plugin(${target}): no sources")
  endif()
  _ml_exporter_plugin_wire_library()
  add_library(${target} MODULE ${ARGN})
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_compile_features(${target} PRIVATE cxx_std_20)
  target_link_libraries(${target} PRIVATE
    ml_exporter::plugin_sdk ml_exporter_plugin_wire)
  # Record only the libraries the plugin really uses (not, for example,
  # libml_exporter_proto through libml_exporter's interface).
  target_link_options(${target} PRIVATE "LINKER:--as-needed")
endfunction()
