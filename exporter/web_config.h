// The --web_config file: TLS and authentication for the HTTP endpoint,
// after Prometheus exporter-toolkit's web configuration (docs/running.md,
// section Access). Endpoints fall into three groups:
//
//   scrape   GET /metrics, /, /drift, /api/v1/status
//   ingest   POST /api/v1/records, POST /-/reload
//   open     GET /-/healthy, /-/ready (liveness probes carry no secrets)
//
// A group without any credentials configured is open; otherwise a request
// needs valid basic-auth credentials (bcrypt) or a bearer token of that
// group. Every failure looks the same to the client (401), and checking
// takes the same work whichever part was wrong.
#ifndef ML_EXPORTER_EXPORTER_WEB_CONFIG_H_
#define ML_EXPORTER_EXPORTER_WEB_CONFIG_H_

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "ml_exporter/status.h"

namespace ml_exporter::internal {

enum class AuthScope { kOpen, kScrape, kIngest };

struct TlsSettings {
  bool enabled = false;
  std::string cert_file;  // absolute or relative to the working directory
  std::string key_file;
  std::string client_ca_file;  // empty: no client certificates asked for
  bool require_client_cert = false;
  bool tls13_only = false;  // min_version TLS13; otherwise TLS 1.2 and up
};

// Checks the Authorization header of a request. Thread-safe.
class Authenticator {
 public:
  using Digest = std::array<unsigned char, 32>;  // SHA-256
  struct User {
    std::string name;
    Digest name_digest;
    std::string hash;  // bcrypt
  };
  struct Credentials {
    std::vector<User> users;
    std::vector<Digest> tokens;  // SHA-256 of each bearer token
    bool open() const { return users.empty() && tokens.empty(); }
  };

  // `dummy_hash`: a bcrypt hash of a random secret at the cost of the real
  // ones, checked when a user name is unknown so that timing does not tell
  // unknown users from wrong passwords.
  Authenticator(Credentials scrape, Credentials ingest, std::string dummy_hash);

  // True when `scope` is open, or `authorization` (the header value, empty
  // when absent) carries valid credentials for it.
  bool Allowed(AuthScope scope, std::string_view authorization);
  bool open(AuthScope scope) const;
  // Value of the WWW-Authenticate header of a 401 for `scope`.
  std::string Challenge(AuthScope scope) const;
  // E.g. "scrape: open; ingest: 2 basic-auth users, 1 bearer token".
  std::string Describe() const;

 private:
  const Credentials* For(AuthScope scope) const;
  bool CheckBasic(const Credentials& c, AuthScope scope,
                  std::string_view encoded);
  bool CheckBearer(const Credentials& c, std::string_view token) const;

  const Credentials scrape_;
  const Credentials ingest_;
  const std::string dummy_hash_;
  // Digests of (scope, user, password, hash) that verified, so that a
  // client sending the same good credentials on every request pays for
  // bcrypt once. Bounded; cleared when full.
  std::mutex cache_mu_;
  std::unordered_set<std::string> verified_;
};

struct WebConfig {
  TlsSettings tls;
  std::shared_ptr<Authenticator> auth;  // never null after LoadWebConfig
};

// Reads and checks the file: unknown keys and wrong types (with line and
// column), unreadable or invalid certificate, key and CA files, malformed
// bcrypt hashes, empty or unreadable token files. Relative paths in the file
// are taken from the file's directory.
Status LoadWebConfig(const std::string& path, WebConfig* config);

// A config with no TLS and every scope open (no --web_config).
WebConfig OpenWebConfig();

// Whether a server started with `running` can switch to `next` on reload:
// certificate and key files, users and tokens can change; turning TLS on or
// off, the client CA, client_auth_type and min_version cannot (an error
// that names the setting).
Status CheckWebConfigReloadable(const TlsSettings& running,
                                const TlsSettings& next);

// SHA-256 of `data`.
Authenticator::Digest Sha256(std::string_view data);

// Standard base64 (RFC 4648, padding optional); false on other characters.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_WEB_CONFIG_H_
