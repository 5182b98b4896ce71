#include "exporter/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/yaml_to_proto.h"
#include "exporter/tls.h"
#include "web_config.pb.h"

namespace ml_exporter::internal {
namespace {

constexpr size_t kMaxCachedCredentials = 1024;

std::string Resolve(const std::filesystem::path& dir, const std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return p;
  return (dir / p).string();
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// bcrypt through libxcrypt's crypt_rn; "" when `setting` is not a hash it
// can check. crypt_data is large (32 KiB), so it lives on the heap.
std::string Bcrypt(std::string_view password, const std::string& setting) {
  thread_local std::unique_ptr<crypt_data> data;
  if (!data) data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string pw(password);
  const char* out = crypt_rn(pw.c_str(), setting.c_str(), data.get(),
                             static_cast<int>(sizeof(crypt_data)));
  if (out == nullptr || out[0] == '*') return "";
  return out;
}

bool IsBcryptHash(const std::string& hash) {
  return hash.size() == 60 &&
         (hash.rfind("$2a$", 0) == 0 || hash.rfind("$2b$", 0) == 0 ||
          hash.rfind("$2y$", 0) == 0) &&
         Bcrypt("probe", hash).size() == 60;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status AddUsers(const google::protobuf::Map<std::string, std::string>& users,
                const std::string& where, Authenticator::Credentials* out) {
  for (const auto& [name, hash] : users) {
    if (name.empty() || name.find(':') != std::string::npos) {
      return Status::InvalidArgument(where + ": user name \"" + name +
                                     "\" is empty or contains ':'");
    }
    if (!IsBcryptHash(hash)) {
      return Status::InvalidArgument(
          where + ": the password of user \"" + name +
          "\" is not a bcrypt hash ($2y$..., 60 characters; make one with "
          "htpasswd -nBC 10 \"\" | tr -d ':\\n')");
    }
    bool replaced = false;
    for (auto& u : out->users) {
      if (u.name == name) {
        u.hash = hash;
        replaced = true;
      }
    }
    if (!replaced) out->users.push_back({name, Sha256(name), hash});
  }
  return Status::Ok();
}

Status ReadTokens(const std::string& path, const std::string& where,
                  Authenticator::Credentials* out) {
  std::ifstream in(path);
  if (!in) {
    return Status::InvalidArgument(where + ": cannot read bearer_token_file " +
                                   path + ": " + std::strerror(errno));
  }
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.back())))
      line.pop_back();
    size_t start = 0;
    while (start < line.size() &&
           std::isspace(static_cast<unsigned char>(line[start])))
      ++start;
    line.erase(0, start);
    if (line.empty() || line[0] == '#') continue;
    for (const char c : line) {
      if (c <= ' ' || c > '~') {
        return Status::InvalidArgument(
            where + ": " + path +
            ": a token may hold only visible ASCII characters");
      }
    }
    out->tokens.push_back(Sha256(line));
    ++n;
  }
  if (n == 0) {
    return Status::InvalidArgument(where + ": bearer_token_file " + path +
                                   " holds no token");
  }
  return Status::Ok();
}

std::string DescribeCredentials(const Authenticator::Credentials& c) {
  if (c.open()) return "open (no credentials configured)";
  std::string out;
  if (!c.users.empty()) {
    out += std::to_string(c.users.size()) + " basic-auth user" +
           (c.users.size() == 1 ? "" : "s");
  }
  if (!c.tokens.empty()) {
    out += std::string(out.empty() ? "" : ", ") +
           std::to_string(c.tokens.size()) + " bearer token" +
           (c.tokens.size() == 1 ? "" : "s");
  }
  return out;
}

}  // namespace

Authenticator::Digest Sha256(std::string_view data) {
  Authenticator::Digest d{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const char c = in[i];
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=') return false;
  }
  return true;
}

Authenticator::Authenticator(Credentials scrape, Credentials ingest,
                             std::string dummy_hash)
    : scrape_(std::move(scrape)),
      ingest_(std::move(ingest)),
      dummy_hash_(std::move(dummy_hash)) {}

const Authenticator::Credentials* Authenticator::For(AuthScope scope) const {
  switch (scope) {
    case AuthScope::kScrape:
      return &scrape_;
    case AuthScope::kIngest:
      return &ingest_;
    case AuthScope::kOpen:
      break;
  }
  return nullptr;
}

bool Authenticator::open(AuthScope scope) const {
  const Credentials* c = For(scope);
  return c == nullptr || c->open();
}

bool Authenticator::Allowed(AuthScope scope, std::string_view authorization) {
  const Credentials* c = For(scope);
  if (c == nullptr || c->open()) return true;
  bool ok = false;
  if (StartsWithNoCase(authorization, "Basic ")) {
    std::string_view rest = authorization.substr(6);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    ok = CheckBasic(*c, scope, rest);
  } else if (StartsWithNoCase(authorization, "Bearer ")) {
    std::string_view rest = authorization.substr(7);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
    ok = CheckBearer(*c, rest);
  }
  return ok;
}

bool Authenticator::CheckBasic(const Credentials& c, AuthScope scope,
                               std::string_view encoded) {
  if (c.users.empty()) return false;
  std::string decoded;
  if (!DecodeBase64(encoded, &decoded)) return false;
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string_view user(decoded.data(), colon);
  const std::string_view password(decoded.data() + colon + 1,
                                  decoded.size() - colon - 1);
  // Look at every user, without stopping at a match, and check a hash even
  // when none matched.
  const Digest wanted = Sha256(user);
  const std::string* hash = &dummy_hash_;
  int found = 0;
  for (const User& u : c.users) {
    const int match =
        CRYPTO_memcmp(u.name_digest.data(), wanted.data(), wanted.size()) == 0;
    if (match) hash = &u.hash;
    found |= match;
  }
  std::string key(1, static_cast<char>(scope));
  key.append(user).push_back('\0');
  key.append(password).push_back('\0');
  key.append(*hash);
  const Digest d = Sha256(key);
  const std::string cache_key(reinterpret_cast<const char*>(d.data()),
                              d.size());
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (found && verified_.count(cache_key) > 0) return true;
  }
  const bool good = ConstantTimeEqual(Bcrypt(password, *hash), *hash);
  if (!(good && found)) return false;
  std::lock_guard<std::mutex> lock(cache_mu_);
  if (verified_.size() >= kMaxCachedCredentials) verified_.clear();
  verified_.insert(cache_key);
  return true;
}

bool Authenticator::CheckBearer(const Credentials& c,
                                std::string_view token) const {
  if (token.empty()) return false;
  const Digest d = Sha256(token);
  int found = 0;
  for (const Digest& t : c.tokens) {
    found |= CRYPTO_memcmp(t.data(), d.data(), d.size()) == 0;
  }
  return found != 0;
}

std::string Authenticator::Challenge(AuthScope scope) const {
  const Credentials* c = For(scope);
  if (c != nullptr && c->users.empty() && !c->tokens.empty()) {
    return "Bearer realm=\"ml_exporter\"";
  }
  return "Basic realm=\"ml_exporter\"";
}

std::string Authenticator::Describe() const {
  return "scrape endpoints: " + DescribeCredentials(scrape_) +
         "; ingest endpoints: " + DescribeCredentials(ingest_);
}

Status CheckWebConfigReloadable(const TlsSettings& running,
                                const TlsSettings& next) {
  auto needs_restart = [](const std::string& what) {
    return Status::InvalidArgument(
        "changing " + what +
        " needs a restart (certificate and key files, users and tokens "
        "reload; the running web config is kept)");
  };
  if (running.enabled != next.enabled) {
    return needs_restart("whether TLS is on (tls_server_config)");
  }
  if (!running.enabled) return Status::Ok();
  if (running.client_ca_file != next.client_ca_file) {
    return needs_restart("tls_server_config.client_ca_file");
  }
  if (running.require_client_cert != next.require_client_cert) {
    return needs_restart("tls_server_config.client_auth_type");
  }
  if (running.tls13_only != next.tls13_only) {
    return needs_restart("tls_server_config.min_version");
  }
  return Status::Ok();
}

WebConfig OpenWebConfig() {
  WebConfig config;
  config.auth = std::make_shared<Authenticator>(
      Authenticator::Credentials{}, Authenticator::Credentials{}, "");
  return config;
}

Status LoadWebConfig(const std::string& path, WebConfig* config) {
  std::ifstream in(path);
  if (!in) {
    return Status::InvalidArgument("cannot read --web_config " + path + ": " +
                                   std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  web::v1::WebConfig file;
  config::YamlConversion conversion;
  if (!config::YamlToProto(text.str(), path, &file, &conversion)) {
    std::string message;
    for (const std::string& e : conversion.errors) {
      message += (message.empty() ? "" : "\n") + e;
    }
    return Status::InvalidArgument(message);
  }
  const std::filesystem::path dir =
      std::filesystem::path(path).parent_path().empty()
          ? std::filesystem::path(".")
          : std::filesystem::path(path).parent_path();
  WebConfig out;
  if (file.has_tls_server_config()) {
    const auto& t = file.tls_server_config();
    const std::string where = conversion.Where("tls_server_config");
    if (t.cert_file().empty() || t.key_file().empty()) {
      return Status::InvalidArgument(
          where + "tls_server_config needs both cert_file and key_file");
    }
    out.tls.enabled = true;
    out.tls.cert_file = Resolve(dir, t.cert_file());
    out.tls.key_file = Resolve(dir, t.key_file());
    out.tls.client_ca_file = Resolve(dir, t.client_ca_file());
    const std::string& auth_type = t.client_auth_type();
    if (auth_type.empty() || auth_type == "NoClientCert") {
      if (!t.client_ca_file().empty()) {
        return Status::InvalidArgument(
            where +
            "client_ca_file is set but client_auth_type is NoClientCert; "
            "set client_auth_type to RequireAndVerifyClientCert or "
            "VerifyClientCertIfGiven");
      }
    } else if (auth_type == "RequireAndVerifyClientCert" ||
               auth_type == "VerifyClientCertIfGiven") {
      if (t.client_ca_file().empty()) {
        return Status::InvalidArgument(where + "client_auth_type " + auth_type +
                                       " needs client_ca_file");
      }
      out.tls.require_client_cert = auth_type == "RequireAndVerifyClientCert";
    } else {
      return Status::InvalidArgument(
          where + "client_auth_type \"" + auth_type +
          "\" is not one of NoClientCert, VerifyClientCertIfGiven, "
          "RequireAndVerifyClientCert");
    }
    if (t.min_version() == "TLS13") {
      out.tls.tls13_only = true;
    } else if (!t.min_version().empty() && t.min_version() != "TLS12") {
      return Status::InvalidArgument(where + "min_version \"" +
                                     t.min_version() +
                                     "\" is not TLS12 or TLS13");
    }
    void* ctx = nullptr;
    if (Status s = CreateServerTlsContext(out.tls, &ctx); !s.ok()) {
      return Status::InvalidArgument(where + s.message());
    }
    FreeServerTlsContext(ctx);
  }
  Authenticator::Credentials scrape, ingest;
  const std::string top = conversion.Where("basic_auth_users");
  if (Status s =
          AddUsers(file.basic_auth_users(), top + "basic_auth_users", &scrape);
      !s.ok()) {
    return s;
  }
  (void)AddUsers(file.basic_auth_users(), top, &ingest);
  struct Scope {
    const web::v1::AuthScope& spec;
    const char* name;
    Authenticator::Credentials* out;
  };
  for (const Scope& s : {Scope{file.scrape(), "scrape", &scrape},
                         Scope{file.ingest(), "ingest", &ingest}}) {
    const std::string where = conversion.Where(s.name);
    if (Status st = AddUsers(s.spec.basic_auth_users(),
                             where + s.name + ".basic_auth_users", s.out);
        !st.ok()) {
      return st;
    }
    if (!s.spec.bearer_token_file().empty()) {
      if (Status st = ReadTokens(Resolve(dir, s.spec.bearer_token_file()),
                                 where + s.name + ".bearer_token_file", s.out);
          !st.ok()) {
        return st;
      }
    }
  }
  // A hash of a random secret at the cost of the first real hash, for
  // unknown user names.
  std::string dummy;
  const Authenticator::Credentials* with_users =
      !scrape.users.empty() ? &scrape
                            : (!ingest.users.empty() ? &ingest : nullptr);
  if (with_users != nullptr) {
    const std::string& model = with_users->users.front().hash;
    const int cost = std::atoi(model.substr(4, 2).c_str());
    unsigned char random[16];
    RAND_bytes(random, sizeof random);
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost),
                         reinterpret_cast<const char*>(random), sizeof random,
                         setting, sizeof setting) == nullptr) {
      return Status::Internal("cannot make a bcrypt salt (libxcrypt)");
    }
    RAND_bytes(random, sizeof random);
    dummy = Bcrypt(
        std::string(reinterpret_cast<const char*>(random), sizeof random),
        setting);
    if (dummy.size() != 60) {
      return Status::Internal("libxcrypt cannot compute bcrypt hashes");
    }
  }
  out.auth = std::make_shared<Authenticator>(std::move(scrape),
                                             std::move(ingest), dummy);
  *config = std::move(out);
  return Status::Ok();
}

}  // namespace ml_exporter::internal
