// Loaded as "libcrypto.so" by civetweb (see exporter/tls.h), so that the
// libssl-dev symlink is not needed at run time: civetweb's lookups in this
// library search its dependency, libcrypto.so.3.
extern "C" {
extern const int ml_exporter_civetweb_libcrypto_shim;
const int ml_exporter_civetweb_libcrypto_shim = 1;
}
