// Loaded as "libssl.so" by civetweb (see exporter/tls.h): Debian's civetweb
// 1.15 looks up this OpenSSL 1.1 name, which OpenSSL 3 calls
// SSL_get1_peer_certificate. Everything else civetweb looks up is found in
// libssl.so.3, which this library depends on. OpenSSL's headers are not
// included: they #define the old name to the new one.
extern "C" {

typedef struct ssl_st SSL;
typedef struct x509_st X509;

X509* SSL_get1_peer_certificate(const SSL* ssl);

X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

}  // extern "C"
