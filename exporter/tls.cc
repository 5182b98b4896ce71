#include "exporter/tls.h"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <vector>

namespace ml_exporter::internal {
namespace {

std::string OpenSslError() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string ExecutableDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

}  // namespace

Status PrepareOpenSslForCivetweb() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    std::vector<std::string> dirs = {ExecutableDir()};
#ifdef ML_EXPORTER_SHIM_DIR
    dirs.push_back(ML_EXPORTER_SHIM_DIR);
#endif
    for (const char* name : {"libml_exporter_civetweb_crypto.so",
                             "libml_exporter_civetweb_ssl.so"}) {
      std::string tried;
      bool loaded = false;
      for (const std::string& dir : dirs) {
        const std::string path = dir + "/" + name;
        if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) != nullptr) {
          loaded = true;
          break;
        }
        tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
      }
      if (!loaded) {
        result = Status::InvalidArgument(
            std::string("TLS needs ") + name +
            " (installed beside ml_exporter): " + tried);
        return;
      }
    }
  });
  return result;
}

Status CreateServerTlsContext(const TlsSettings& tls, void** out) {
  *out = nullptr;
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    return Status::Internal("SSL_CTX_new: " + OpenSslError());
  }
  auto fail = [ctx](std::string message) {
    message += ": " + OpenSslError();
    SSL_CTX_free(ctx);
    return Status::InvalidArgument(std::move(message));
  };
  SSL_CTX_set_min_proto_version(
      ctx, tls.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    return fail("cert_file " + tls.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    return fail("key_file " + tls.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail("key_file " + tls.key_file + " does not match cert_file " +
                tls.cert_file);
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(),
                                      nullptr) != 1) {
      return fail("client_ca_file " + tls.client_ca_file);
    }
    STACK_OF(X509_NAME)* names =
        SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(
        ctx,
        SSL_VERIFY_PEER |
            (tls.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
    static const unsigned char kSessionContext[] = "ml_exporter";
    SSL_CTX_set_session_id_context(ctx, kSessionContext,
                                   sizeof kSessionContext - 1);
  }
  *out = ctx;
  return Status::Ok();
}

void FreeServerTlsContext(void* ssl_ctx) {
  if (ssl_ctx != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx));
}

}  // namespace ml_exporter::internal
