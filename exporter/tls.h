// TLS for the HTTP endpoint: the server's OpenSSL context, and getting
// Debian's civetweb to use OpenSSL 3.
//
// Debian 12's libcivetweb 1.15 is built with TLS support, but it loads
// OpenSSL at run time (dlopen of "libssl.so" and "libcrypto.so") and was
// compiled against the OpenSSL 1.1 API: it looks up SSL_get_peer_certificate,
// which OpenSSL 3 renamed to SSL_get1_peer_certificate, and calls a null
// pointer on the first TLS connection. ml_exporter therefore ships two tiny
// shim libraries whose SONAMEs are "libssl.so" and "libcrypto.so" (the first
// adds the old name, both depend on the real libssl.so.3 / libcrypto.so.3).
// Loading them before civetweb starts makes civetweb's dlopen find them by
// SONAME; it also means the libssl-dev symlinks are not needed at run time.
#ifndef ML_EXPORTER_EXPORTER_TLS_H_
#define ML_EXPORTER_EXPORTER_TLS_H_

#include <string>

#include "exporter/web_config.h"
#include "ml_exporter/status.h"

namespace ml_exporter::internal {

// Loads the shims from the directory of the running executable, or from
// ML_EXPORTER_SHIM_DIR (the install location). Idempotent. Fails with what
// was looked for when they are missing.
Status PrepareOpenSslForCivetweb();

// A new SSL_CTX (as void*, to keep OpenSSL out of this header) for a server
// with `tls`: certificate chain and key (checked to match), client
// certificate verification, minimum version. Errors name the file and
// OpenSSL's reason.
// The context presents the certificate in force at each handshake, so
// ReplaceServerCertificate can rotate it while serving.
Status CreateServerTlsContext(const TlsSettings& tls, void** ssl_ctx);
void FreeServerTlsContext(void* ssl_ctx);

// Reads the certificate chain and key of `tls` (checked to match) and makes
// them what `ssl_ctx` (from CreateServerTlsContext) presents from the next
// handshake on; connections already open keep theirs. On error the
// certificate in force stays. Thread-safe against handshakes in progress.
Status ReplaceServerCertificate(void* ssl_ctx, const TlsSettings& tls);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_TLS_H_
