#include "exporter/tls.h"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
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

// A certificate chain and its key, as loaded from the files.
struct CertificateAndKey {
  X509* leaf = nullptr;
  STACK_OF(X509) * chain = nullptr;  // the certificates after the leaf
  EVP_PKEY* key = nullptr;
  ~CertificateAndKey() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

// What a context presents: null until the first replacement, when the
// context's own certificate (loaded at creation) is used.
struct CertificateSlot {
  std::mutex mu;
  std::shared_ptr<const CertificateAndKey> current;
};

// The SSL_CTX ex_data index of the CertificateSlot; freed with the context.
int SlotIndex() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<CertificateSlot*>(ptr);
      });
  return index;
}

// Runs at every handshake, before the certificate is sent.
int UseCurrentCertificate(SSL* ssl, void* arg) {
  auto* slot = static_cast<CertificateSlot*>(arg);
  std::shared_ptr<const CertificateAndKey> pair;
  {
    std::lock_guard<std::mutex> lock(slot->mu);
    pair = slot->current;
  }
  if (!pair) return 1;
  // Takes its own references; 1: replaces what the context gave the SSL.
  return SSL_use_cert_and_key(ssl, pair->leaf, pair->key, pair->chain, 1) == 1
             ? 1
             : 0;
}

Status LoadCertificateAndKey(const TlsSettings& tls,
                             std::shared_ptr<const CertificateAndKey>* out) {
  ERR_clear_error();
  auto pair = std::make_shared<CertificateAndKey>();
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_file(tls.cert_file.c_str(), "r"), &BIO_free);
  if (!cert_bio) {
    return Status::InvalidArgument("cert_file " + tls.cert_file + ": " +
                                   OpenSslError());
  }
  pair->leaf = PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, nullptr, nullptr);
  if (pair->leaf == nullptr) {
    return Status::InvalidArgument("cert_file " + tls.cert_file +
                                   ": no PEM certificate: " + OpenSslError());
  }
  pair->chain = sk_X509_new_null();
  while (X509* extra =
             PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(pair->chain, extra);
  }
  ERR_clear_error();  // the end of the file reads as an error
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_file(tls.key_file.c_str(), "r"), &BIO_free);
  if (key_bio) {
    pair->key =
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  }
  if (pair->key == nullptr) {
    return Status::InvalidArgument("key_file " + tls.key_file + ": " +
                                   OpenSslError());
  }
  if (X509_check_private_key(pair->leaf, pair->key) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("key_file " + tls.key_file +
                                   " does not match cert_file " +
                                   tls.cert_file);
  }
  *out = std::move(pair);
  return Status::Ok();
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
  auto* slot = new CertificateSlot;
  if (SSL_CTX_set_ex_data(ctx, SlotIndex(), slot) != 1) {
    delete slot;
    return fail("SSL_CTX_set_ex_data");
  }
  SSL_CTX_set_cert_cb(ctx, &UseCurrentCertificate, slot);
  *out = ctx;
  return Status::Ok();
}

void FreeServerTlsContext(void* ssl_ctx) {
  if (ssl_ctx != nullptr) SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx));
}

Status ReplaceServerCertificate(void* ssl_ctx, const TlsSettings& tls) {
  auto* slot = static_cast<CertificateSlot*>(
      SSL_CTX_get_ex_data(static_cast<SSL_CTX*>(ssl_ctx), SlotIndex()));
  if (slot == nullptr) {
    return Status::Internal("the TLS context has no certificate slot");
  }
  std::shared_ptr<const CertificateAndKey> pair;
  if (Status s = LoadCertificateAndKey(tls, &pair); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(slot->mu);
  slot->current = std::move(pair);
  return Status::Ok();
}

}  // namespace ml_exporter::internal
