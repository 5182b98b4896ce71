// Reliability end to end (docs/reliability.md): access control over real
// TLS (curl, with a CA made by openssl at test time), limits and slow
// clients, overload at many times capacity, draining on SIGTERM, reload
// under load, input rotation under continuous writes. Every test starts the
// real ml_exporter binary on 127.0.0.1.
#include <arpa/inet.h>
#include <crypt.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/e2e/exporter_process.h"

namespace ml_exporter::testing {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/ml_exporter_reliability_XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// Runs a shell command; returns its standard output, and its exit status in
// `status`.
std::string RunShell(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  if (status != nullptr) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string Record(int i) {
  return R"({"model":"asr","version":"v3","stage":"decoder","latency_seconds":0.01,"inputs":{"age":)" +
         std::to_string(20 + i % 50) + R"(,"country":")" +
         (i % 2 ? "DE" : "FR") + R"("},"outputs":{"score":0.5}})";
}

// A 256 x 256 grey PNG (a vertical gradient) of 512 bytes: cheap to send,
// costly to decode and measure (65,536 pixels; the image collector, on by
// default), so that a few clients can offer far more records than the
// exporter can take. (Until 29 Nov 2026 this was a truncated PNG that
// failed to decode at once, so these records were not heavy at all.)
const char kPngBase64[] =
    "iVBORw0KGgoAAAANSUhEUgAAAQAAAAEACAAAAAB5Gfe6AAABx0lEQVR42u3QA0IgAAAAwZ6T"
    "3XXZXbZt87Jt29Y3e8juPGECAuEC8AFBcAYEwxkQAmdAKJwBYXAGhMMZEAFnQCScAVFwBkTD"
    "GRADZ0AsnAFxcAb8gTMgHs6Av3AGJMAZkAhnQBKcAclwBqTAGZAKZ0AanAHpcAZkwBmQCWdA"
    "FpwB2XAG5MAZkAtnwD84A/LgDMiHM6AAzoBCOAOK4AwohjOgBM6AUjgDyuAMKIczoALOgEo4"
    "A6rgDKiGM6AGzoBaOAPq4AyohzOgAc6ARjgDmuAMaIYzoAXOgFY4A9rgDGiHM6ADzoBOOAO6"
    "4AzohjOgB86AXjgD+uAM6IczYADOgEE4A4bgDBiGM2AEzoBROAPG4AwYhzPgP5wBE3AGTMIZ"
    "MAVnwDScATNwBszCGTAHZ8A8nAELcAYswhmwBGfAMpwBK3AGrMIZsAZnwDqcARtwBmzCGbAF"
    "Z8A2nAE7cAbswhmwB2fAPpwBB3AGHMIZcARnwDGcASdwBpzCGXAGZ8A5nAEXcAZcwhlwBWfA"
    "NZwBN3AG3MIZcAdnwD2cAQ9wBjzCGfAEZ8AznAEvcAa8whnwBmfAO5wBH3AGfMIZ8AVnwDec"
    "AT9w+IBfUA+GCvZY4N8AAAAASUVORK5CYII=";

std::string HeavyRecord(int i) {
  return R"({"model":"asr","version":"v3","stage":"decoder","latency_seconds":0.01,"inputs":{"age":)" +
         std::to_string(20 + i % 50) + R"(},"blobs":{"image":")" + kPngBase64 +
         "\"}}";
}

std::string Batch(int first, int n, bool heavy = false) {
  std::string body;
  for (int i = 0; i < n; ++i) {
    body += (heavy ? HeavyRecord(first + i) : Record(first + i)) + "\n";
  }
  return body;
}

const char kHttpRecords[] =
    "ml_exporter_ingested_records_total{source=\"http\"}";
const char kThrottled[] = "ml_exporter_ingest_throttled_requests_total";

// A bcrypt hash made with libxcrypt, as htpasswd -B would.
std::string BcryptHash(const std::string& password, int cost) {
  crypt_data data;
  std::memset(&data, 0, sizeof data);
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, setting, sizeof setting) ==
      nullptr) {
    return "";
  }
  const char* h = crypt_rn(password.c_str(), setting, &data, sizeof data);
  std::string out = h ? h : "";
  if (out.size() == 60) out[2] = 'y';  // htpasswd's prefix, same algorithm
  return out;
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, and a
// second CA that signs an untrusted client certificate.
void MakeCertificates(const TempDir& dir) {
  WriteFile(dir.file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  WriteFile(
      dir.file("make_certificates.sh"),
      "set -e\n"
      "q() { \"$@\" >/dev/null 2>&1; }\n"
      "q openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca "
      "-keyout ca.key -out ca.pem\n"
      "q openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 "
      "-keyout server.key -out server.csr\n"
      "q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 1 -extfile san.ext -out server.pem\n"
      "q openssl req -newkey rsa:2048 -nodes -subj /CN=client "
      "-keyout client.key -out client.csr\n"
      "q openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 1 -out client.pem\n"
      "q openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other-ca "
      "-keyout other.key -out other.pem\n"
      "q openssl req -newkey rsa:2048 -nodes -subj /CN=intruder "
      "-keyout intruder.key -out intruder.csr\n"
      "q openssl x509 -req -in intruder.csr -CA other.pem -CAkey other.key "
      "-CAcreateserial -days 1 -out intruder.pem\n"
      "echo ok\n");
  int status = 0;
  ASSERT_EQ(
      RunShell("cd " + dir.file("") + " && sh make_certificates.sh", &status),
      "ok\n");
  ASSERT_EQ(status, 0);
}

struct CurlResult {
  int exit = 0;  // curl's exit status (0: the exchange happened)
  int code = 0;  // HTTP status
  std::string body;
  std::string headers;
};

// Runs the curl binary with `args` against `url`.
CurlResult Curl(const std::string& url, const std::string& args) {
  TempDir tmp;
  CurlResult r;
  const std::string out = RunShell(
      "curl -s --noproxy '*' --max-time 10 -o " + tmp.file("body") + " -D " +
          tmp.file("headers") + " -w '%{http_code}' " + args + " '" + url + "'",
      &r.exit);
  r.code = std::atoi(out.c_str());
  r.body = ReadFile(tmp.file("body"));
  r.headers = ReadFile(tmp.file("headers"));
  return r;
}

std::string HeaderValue(const std::string& headers, const std::string& name) {
  std::istringstream in(headers);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() + 1 &&
        strncasecmp(line.c_str(), (name + ":").c_str(), name.size() + 1) == 0) {
      std::string v = line.substr(name.size() + 1);
      while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
  }
  return "";
}

// ---------------------------------------------------------------- Access

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MakeCertificates(dir_);
    WriteFile(dir_.file("ingest.tokens"),
              "# model servers\n" + kIngestToken + "\n\n");
    WriteFile(dir_.file("scrape.tokens"), kScrapeToken + "\n");
  }
  std::string BaseConfig(const std::string& tls_extra = "") {
    return "tls_server_config:\n"
           "  cert_file: server.pem\n"
           "  key_file: server.key\n" +
           tls_extra +
           "basic_auth_users:\n"
           "  admin: " +
           BcryptHash("admin-secret", 5) +
           "\n"
           "scrape:\n"
           "  basic_auth_users:\n"
           "    prometheus: " +
           BcryptHash("scrape-secret", 5) +
           "\n"
           "  bearer_token_file: scrape.tokens\n"
           "ingest:\n"
           "  bearer_token_file: ingest.tokens\n";
  }
  std::string Https(const ExporterProcess& e, const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(e.port()) + path;
  }
  std::string Ca() { return " --cacert " + dir_.file("ca.pem"); }

  TempDir dir_;
  const std::string kIngestToken = "ingest-token-0123456789abcdef";
  const std::string kScrapeToken = "scrape-token-fedcba9876543210";
};

TEST_F(AccessTest, TlsAndCredentialsPerEndpointGroup) {
  WriteFile(dir_.file("web.yml"), BaseConfig());
  ExporterProcess exporter({"--web_config=" + dir_.file("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string ca = Ca();
  const std::string metrics = Https(exporter, "/metrics");
  const std::string ingest = Https(exporter, "/api/v1/records");
  const std::string post =
      " -H 'Content-Type: application/x-ndjson' "
      "--data-binary '" +
      Record(1) + "'";

  // Scrape: the scrape user, a scrape token, or the all-endpoints admin.
  EXPECT_EQ(Curl(metrics, ca + " -u prometheus:scrape-secret").code, 200);
  EXPECT_EQ(
      Curl(metrics, ca + " -H 'Authorization: Bearer " + kScrapeToken + "'")
          .code,
      200);
  EXPECT_EQ(Curl(metrics, ca + " -u admin:admin-secret").code, 200);
  // Ingest: an ingest token or the admin; never the scrape credentials.
  CurlResult ok = Curl(
      ingest, ca + post + " -H 'Authorization: Bearer " + kIngestToken + "'");
  EXPECT_EQ(ok.code, 200) << ok.body;
  EXPECT_EQ(ok.body, "{\"accepted\":1,\"rejected\":0,\"errors\":[]}\n");
  EXPECT_EQ(Curl(ingest, ca + post + " -u admin:admin-secret").code, 200);

  // Every failure looks the same: 401, same body, same challenge.
  const std::vector<std::pair<std::string, std::string>> denied = {
      {metrics, ""},
      {metrics, " -u prometheus:wrong"},
      {metrics, " -u nobody:scrape-secret"},
      {metrics, " -u prometheus:"},
      {metrics, " -H 'Authorization: Bearer " + kIngestToken + "'"},
      {metrics, " -H 'Authorization: Bearer '"},
      {metrics, " -H 'Authorization: Basic !!notbase64'"},
      {metrics, " -H 'Authorization: Digest x'"},
      {Https(exporter, "/api/v1/status"), " -u nobody:x"},
      {Https(exporter, "/drift"), ""},
      {Https(exporter, "/"), ""},
  };
  std::string first_body, first_challenge;
  for (const auto& [url, args] : denied) {
    CurlResult r = Curl(url, ca + args);
    EXPECT_EQ(r.code, 401) << url << args;
    if (first_body.empty()) {
      first_body = r.body;
      first_challenge = HeaderValue(r.headers, "WWW-Authenticate");
    }
    EXPECT_EQ(r.body, first_body) << args;
    EXPECT_EQ(HeaderValue(r.headers, "WWW-Authenticate"), first_challenge);
  }
  EXPECT_EQ(first_challenge, "Basic realm=\"ml_exporter\"");
  const std::vector<std::string> denied_ingest = {
      "", " -u prometheus:scrape-secret",
      " -H 'Authorization: Bearer " + kScrapeToken + "'",
      " -H 'Authorization: Bearer " + kIngestToken + "x'",
      " -u admin:admin-secreT"};
  for (const std::string& args : denied_ingest) {
    CurlResult r = Curl(ingest, ca + post + args);
    EXPECT_EQ(r.code, 401) << args;
    EXPECT_EQ(r.body, first_body);
  }
  CurlResult reload = Curl(Https(exporter, "/-/reload"), ca + " -X POST");
  EXPECT_EQ(reload.code, 401);

  // Liveness and readiness need no credentials; unknown paths are 404 and
  // wrong methods 405 for anyone.
  EXPECT_EQ(Curl(Https(exporter, "/-/healthy"), ca).code, 200);
  EXPECT_EQ(Curl(Https(exporter, "/-/ready"), ca).code, 200);
  EXPECT_EQ(Curl(Https(exporter, "/secret"), ca).code, 404);
  // Path tricks name the same endpoint and need the same credentials.
  EXPECT_EQ(Curl(Https(exporter, "/x/../metrics"), ca + " --path-as-is").code,
            401);
  EXPECT_EQ(Curl(metrics, ca + " -X DELETE").code, 405);

  // Only TLS is spoken, and the certificate is checked against the CA.
  EXPECT_NE(
      Curl("http://127.0.0.1:" + std::to_string(exporter.port()) + "/-/healthy",
           "")
          .code,
      200);
  EXPECT_EQ(Curl(Https(exporter, "/-/healthy"), "").exit, 60);  // untrusted

  // The two accepted records and the 401s are counted.
  CurlResult scrape = Curl(metrics, ca + " -u admin:admin-secret");
  auto m = ParseExposition(scrape.body);
  EXPECT_EQ(m[kHttpRecords], 2);
  EXPECT_EQ(m["ml_exporter_http_unauthorized_requests_total{scope=\"scrape\"}"],
            static_cast<double>(denied.size() + 1));
  EXPECT_EQ(m["ml_exporter_http_unauthorized_requests_total{scope=\"ingest\"}"],
            static_cast<double>(denied_ingest.size() + 1));
}

TEST_F(AccessTest, UnknownUserCostsAsMuchAsWrongPassword) {
  // With bcrypt cost 10 a check takes tens of milliseconds; answering an
  // unknown user at once would tell user names apart by timing.
  WriteFile(dir_.file("web.yml"), "basic_auth_users:\n  prometheus: " +
                                      BcryptHash("right", 10) + "\n");
  ExporterProcess exporter({"--web_config=" + dir_.file("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  auto median_seconds = [&](const std::string& user_password) {
    std::vector<double> t;
    for (int i = 0; i < 5; ++i) {
      const auto start = Clock::now();
      EXPECT_EQ(Curl(exporter.url("/metrics"), "-u " + user_password).code,
                401);
      t.push_back(SecondsSince(start));
    }
    std::sort(t.begin(), t.end());
    return t[2];
  };
  const double wrong_password = median_seconds("prometheus:wrong");
  const double unknown_user = median_seconds("nobody:wrong");
  const double right = [&] {
    const auto start = Clock::now();
    EXPECT_EQ(Curl(exporter.url("/metrics"), "-u prometheus:right").code, 200);
    return SecondsSince(start);
  }();
  std::printf(
      "401 wrong password %.1f ms, unknown user %.1f ms, first good "
      "%.1f ms\n",
      wrong_password * 1e3, unknown_user * 1e3, right * 1e3);
  EXPECT_GT(wrong_password, 0.01);  // bcrypt really ran
  EXPECT_GT(unknown_user, 0.5 * wrong_password);
  EXPECT_LT(unknown_user, 2.0 * wrong_password);
}

TEST_F(AccessTest, ClientCertificatesRequired) {
  WriteFile(dir_.file("web.yml"),
            "tls_server_config:\n"
            "  cert_file: server.pem\n"
            "  key_file: server.key\n"
            "  client_auth_type: RequireAndVerifyClientCert\n"
            "  client_ca_file: ca.pem\n"
            "  min_version: TLS13\n");
  ExporterProcess exporter({"--web_config=" + dir_.file("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string url = Https(exporter, "/metrics");
  const std::string ca = Ca();
  EXPECT_EQ(Curl(url, ca + " --cert " + dir_.file("client.pem") + " --key " +
                          dir_.file("client.key"))
                .code,
            200);
  CurlResult none = Curl(url, ca);
  EXPECT_NE(none.code, 200);
  EXPECT_NE(none.exit, 0);
  CurlResult intruder = Curl(url, ca + " --cert " + dir_.file("intruder.pem") +
                                      " --key " + dir_.file("intruder.key"));
  EXPECT_NE(intruder.code, 200);
  EXPECT_NE(intruder.exit, 0);
  CurlResult tls12 =
      Curl(url, ca + " --tls-max 1.2 --cert " + dir_.file("client.pem") +
                    " --key " + dir_.file("client.key"));
  EXPECT_NE(tls12.code, 200);  // min_version TLS13
  EXPECT_TRUE(exporter.running());
}

TEST_F(AccessTest, InvalidWebConfigsAreRefusedWithTheReason) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"basic_auth_user:\n  a: b\n", "web.yml:1:1: unknown key"},
      {"basic_auth_users:\n  a: plain-text\n", "not a bcrypt hash"},
      {"tls_server_config:\n  cert_file: server.pem\n", "needs both"},
      {"tls_server_config:\n  cert_file: server.pem\n  key_file: "
       "client.key\n",
       "mismatch"},
      {"tls_server_config:\n  cert_file: missing.pem\n  key_file: "
       "server.key\n",
       "cert_file"},
      {"tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n"
       "  client_ca_file: ca.pem\n",
       "client_auth_type"},
      {"ingest:\n  bearer_token_file: none.tokens\n", "cannot read"},
  };
  for (const Case& c : cases) {
    WriteFile(dir_.file("web.yml"), c.yaml);
    int status = 0;
    const std::string out =
        RunShell(std::string(ML_EXPORTER_BINARY) +
                     " --listen_address=127.0.0.1:0 --web_config=" +
                     dir_.file("web.yml") + " 2>&1",
                 &status);
    EXPECT_EQ(status, 2) << c.yaml << out;
    EXPECT_NE(out.find(c.expected), std::string::npos) << c.yaml << out;
  }
}

// The subject of the certificate the server at `port` presents now.
std::string ServedCertificateSubject(int port) {
  int status = 0;
  return RunShell(
      "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
          " </dev/null 2>/dev/null | openssl x509 -noout -subject",
      &status);
}

TEST_F(AccessTest, WebConfigReloadsUsersTokensAndCertificate) {
  // A second server certificate from the same CA, as a rotation brings.
  int status = 0;
  ASSERT_EQ(
      RunShell("cd " + dir_.file("") +
                   " && openssl req -newkey rsa:2048 -nodes "
                   "-subj /CN=rotated -keyout server2.key -out server2.csr "
                   ">/dev/null 2>&1 && openssl x509 -req -in server2.csr -CA "
                   "ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile "
                   "san.ext -out server2.pem >/dev/null 2>&1 && echo ok",
               &status),
      "ok\n");
  WriteFile(dir_.file("web.yml"), BaseConfig());
  ExporterProcess exporter({"--web_config=" + dir_.file("web.yml")});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string ca = Ca();
  const std::string metrics = Https(exporter, "/metrics");
  const std::string reload = Https(exporter, "/-/reload");
  const std::string old_token =
      " -H 'Authorization: Bearer " + kIngestToken + "'";
  const std::string new_token = " -H 'Authorization: Bearer new-ingest-token'";
  const std::string ndjson =
      " -H 'Content-Type: application/x-ndjson' --data-binary '" + Record(1) +
      "'";
  EXPECT_EQ(Curl(metrics, ca + " -u admin:admin-secret").code, 200);
  EXPECT_NE(ServedCertificateSubject(exporter.port()).find("CN = 127.0.0.1"),
            std::string::npos);

  // New certificate, new admin password, new ingest token: POST /-/reload
  // (with the ingest credentials in force) applies all three.
  WriteFile(dir_.file("ingest.tokens"), "new-ingest-token\n");
  std::string rotated = BaseConfig();
  rotated.replace(rotated.find("server.pem"), 10, "server2.pem");
  rotated.replace(rotated.find("server.key"), 10, "server2.key");
  const size_t admin = rotated.find("admin: ") + 7;
  rotated.replace(admin, rotated.find('\n', admin) - admin,
                  BcryptHash("admin-rotated", 5));
  WriteFile(dir_.file("web.yml"), rotated);
  CurlResult r = Curl(reload, ca + " -X POST" + old_token);
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(Curl(metrics, ca + " -u admin:admin-secret").code, 401);
  EXPECT_EQ(Curl(metrics, ca + " -u admin:admin-rotated").code, 200);
  EXPECT_EQ(
      Curl(Https(exporter, "/api/v1/records"), ca + ndjson + old_token).code,
      401);
  EXPECT_EQ(
      Curl(Https(exporter, "/api/v1/records"), ca + ndjson + new_token).code,
      200);
  EXPECT_NE(ServedCertificateSubject(exporter.port()).find("CN = rotated"),
            std::string::npos);
  // Still trusted through the same CA, by name.
  EXPECT_EQ(Curl(Https(exporter, "/-/healthy"), ca).code, 200);

  // Refused reloads keep everything in force and say why: a change that
  // needs a restart, a syntax error (with line and column), a key that
  // does not match the certificate. SIGHUP does the same as POST.
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"basic_auth_users:\n  admin: " + BcryptHash("x", 5) + "\n",
       "needs a restart"},
      {rotated + "bogus_key: 1\n", "web.yml:"},
      {[&] {
         std::string y = rotated;
         y.replace(y.find("server2.key"), 11, "server.key");
         return y;
       }(),
       "mismatch"},
  };
  for (const auto& [yaml, reason] : refused) {
    WriteFile(dir_.file("web.yml"), yaml);
    CurlResult bad = Curl(reload, ca + " -X POST" + new_token);
    EXPECT_EQ(bad.code, 400) << yaml;
    EXPECT_NE(bad.body.find(reason), std::string::npos) << bad.body;
    EXPECT_EQ(Curl(metrics, ca + " -u admin:admin-rotated").code, 200);
    EXPECT_NE(ServedCertificateSubject(exporter.port()).find("CN = rotated"),
              std::string::npos);
  }
  CurlResult scrape = Curl(metrics, ca + " -u admin:admin-rotated");
  auto m = ParseExposition(scrape.body);
  EXPECT_EQ(m["ml_exporter_web_config_last_reload_successful"], 0);
  // Counters live across reloads: the two 401s of this test are counted.
  EXPECT_EQ(m["ml_exporter_http_unauthorized_requests_total{scope=\"scrape\"}"],
            1);
  EXPECT_EQ(m["ml_exporter_http_unauthorized_requests_total{scope=\"ingest\"}"],
            1);

  // SIGHUP with a valid file again: the original certificate and admin.
  WriteFile(dir_.file("web.yml"), BaseConfig());
  exporter.Signal(SIGHUP);
  bool applied = false;
  for (int i = 0; i < 100 && !applied; ++i) {
    applied = Curl(metrics, ca + " -u admin:admin-secret").code == 200;
    if (!applied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(applied) << exporter.log();
  EXPECT_NE(ServedCertificateSubject(exporter.port()).find("CN = 127.0.0.1"),
            std::string::npos);
  m = ParseExposition(Curl(metrics, ca + " -u admin:admin-secret").body);
  EXPECT_EQ(m["ml_exporter_web_config_last_reload_successful"], 1);
  EXPECT_NE(exporter.log().find("not reloaded, the running one is kept"),
            std::string::npos);
}

// ---------------------------------------------------------------- Limits

// A raw TCP connection to the exporter.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on a new connection and returns what comes back until
// the server closes or 5 s pass.
std::string RawExchange(int port, const std::string& request) {
  const int fd = Connect(port);
  if (fd < 0) return "";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)!send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
    reply.append(buf, static_cast<size_t>(n));
    if (reply.find("\r\n\r\n") != std::string::npos &&
        reply.find("Content-Length") != std::string::npos) {
      break;
    }
  }
  close(fd);
  return reply;
}

TEST(LimitsTest, OversizedRequestsAndUnknownEndpointsAreRefused) {
  ExporterProcess exporter(
      {"--max_header_bytes=4096", "--max_body_bytes=1000"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const int port = exporter.port();
  // Headers larger than --max_header_bytes: no 2xx, and the server lives.
  const std::string big_header =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(8000, 'a') +
      "\r\n\r\n";
  const std::string reply = RawExchange(port, big_header);
  EXPECT_EQ(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
  // Bodies larger than --max_body_bytes: 413, counted, nothing accepted.
  HttpReply big = HttpPost(exporter.url("/api/v1/records"),
                           "application/x-ndjson", Batch(0, 20));
  EXPECT_EQ(big.code, 413);
  // Nothing outside the documented endpoints.
  for (const char* path : {"/metricsx", "/api/v1/records/", "/index.html",
                           "/-/quit", "/.env", "/api/v2/records"}) {
    EXPECT_EQ(HttpGet(exporter.url(path)).code, 404) << path;
  }
  for (const std::string method : {"PUT", "DELETE", "OPTIONS", "TRACE"}) {
    const std::string r = RawExchange(
        port, method +
                  " /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: "
                  "0\r\nConnection: close\r\n\r\n");
    // 405 from ml_exporter; civetweb itself refuses TRACE with 400.
    EXPECT_TRUE(r.rfind("HTTP/1.1 405", 0) == 0 ||
                (method == "TRACE" && r.rfind("HTTP/1.1 400", 0) == 0))
        << method << ": " << r;
  }
  EXPECT_EQ(HttpGet(exporter.url("/-/healthy")).code, 200);
  auto m = exporter.Scrape();
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"http\",reason="
              "\"too_large\"}"],
            1);
  EXPECT_EQ(m[kHttpRecords], 0);
}

// Opens `n` connections that send a request header one byte at a time,
// every `interval`, until stopped; records when the server cut each one.
class Slowloris {
 public:
  Slowloris(int port, int n, std::chrono::milliseconds interval) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, port, interval] {
        const std::string header =
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " +
            std::string(4000, 'z');
        while (!stop_) {
          const int fd = Connect(port);
          if (fd < 0) {
            std::this_thread::sleep_for(interval);
            continue;
          }
          const auto start = Clock::now();
          size_t i = 0;
          bool cut = false;
          while (!stop_ && !cut) {
            if (send(fd, header.data() + (i++ % header.size()), 1,
                     MSG_NOSIGNAL) != 1) {
              cut = true;
              break;
            }
            char c;
            const ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
              cut = true;
              break;
            }
            if (r > 0) {  // an answer (408 or similar) then close
              cut = true;
              break;
            }
            std::this_thread::sleep_for(interval);
          }
          close(fd);
          if (cut) {
            std::lock_guard<std::mutex> lock(mu_);
            cut_after_.push_back(SecondsSince(start));
          }
        }
      });
    }
  }
  ~Slowloris() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<double> cut_after() {
    std::lock_guard<std::mutex> lock(mu_);
    return cut_after_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<double> cut_after_;
};

double TimedGet(const std::string& url, long* code) {
  const auto start = Clock::now();
  *code = HttpGet(url).code;
  return SecondsSince(start);
}

TEST(LimitsTest, SlowClientsAreCutOffAndCannotExhaustConnections) {
  // 16 workers; headers must arrive within 1.5 s.
  ExporterProcess exporter({"--http_threads=16", "--ingest_concurrency=2",
                            "--ingest_queue=2",
                            "--http_request_timeout_ms=1500"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string health = exporter.url("/-/healthy");
  {
    // Fewer slow clients than workers: others are served at once.
    Slowloris slow(exporter.port(), 10, std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    double worst = 0;
    for (int i = 0; i < 20; ++i) {
      long code = 0;
      worst = std::max(worst, TimedGet(health, &code));
      EXPECT_EQ(code, 200);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::printf("10 slow clients, 16 workers: worst /-/healthy %.1f ms\n",
                worst * 1e3);
    EXPECT_LT(worst, 0.5);
  }
  {
    // Three times as many slow clients as workers, reconnecting as soon as
    // they are cut: each is cut after the header deadline, so workers
    // free up and every health check is answered, later but boundedly.
    Slowloris slow(exporter.port(), 48, std::chrono::milliseconds(100));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    double worst = 0;
    for (int i = 0; i < 5; ++i) {
      long code = 0;
      worst = std::max(worst, TimedGet(health, &code));
      EXPECT_EQ(code, 200);
    }
    slow.Stop();
    const auto cut = slow.cut_after();
    ASSERT_FALSE(cut.empty());
    const double longest = *std::max_element(cut.begin(), cut.end());
    std::printf(
        "48 slow clients, 16 workers: worst /-/healthy %.2f s; "
        "%zu slow connections cut, the longest after %.2f s\n",
        worst, cut.size(), longest);
    // Queued behind at most 48/16 = 3 waves of 1.5 s deadlines.
    EXPECT_LT(worst, 3 * 1.5 + 2.0);
  }
  long code = 0;
  EXPECT_LT(TimedGet(health, &code), 0.5);
  EXPECT_EQ(code, 200);
  EXPECT_TRUE(exporter.running());
}

// -------------------------------------------------------------- Overload

// One keep-alive client posting batches back to back.
struct LoadStats {
  uint64_t requests = 0, records_sent = 0, accepted = 0, rejected = 0;
  uint64_t throttled_requests = 0, throttled_records = 0;
  uint64_t other_status = 0, transport_errors = 0;
  bool retry_after_seen = false;
  void Add(const LoadStats& o) {
    requests += o.requests;
    records_sent += o.records_sent;
    accepted += o.accepted;
    rejected += o.rejected;
    throttled_requests += o.throttled_requests;
    throttled_records += o.throttled_records;
    other_status += o.other_status;
    transport_errors += o.transport_errors;
    retry_after_seen |= o.retry_after_seen;
  }
};

size_t AppendTo(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

uint64_t JsonNumber(const std::string& body, const char* key) {
  const std::string needle = std::string("\"") + key + "\":";
  const size_t at = body.find(needle);
  return at == std::string::npos
             ? 0
             : std::strtoull(body.c_str() + at + needle.size(), nullptr, 10);
}

// Posts batches of `batch` records until `stop` (or, with `until_error`,
// until a request gets no answer).
void LoadClient(const std::string& url, int batch,
                const std::atomic<bool>& stop, LoadStats* stats,
                std::chrono::milliseconds pause = {}, bool until_error = false,
                bool heavy = false) {
  CURL* curl = curl_easy_init();
  std::string reply, headers;
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/x-ndjson");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendTo);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &AppendTo);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &headers);
  int first = 0;
  while (!stop) {
    const std::string body = Batch(first, batch, heavy);
    first += batch;
    reply.clear();
    headers.clear();
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
    ++stats->requests;
    stats->records_sent += static_cast<uint64_t>(batch);
    if (curl_easy_perform(curl) != CURLE_OK) {
      ++stats->transport_errors;
      if (until_error) break;
      continue;
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if (code == 200 || code == 400) {
      stats->accepted += JsonNumber(reply, "accepted");
      stats->rejected += JsonNumber(reply, "rejected");
    } else if (code == 429) {
      ++stats->throttled_requests;
      stats->throttled_records += static_cast<uint64_t>(batch);
      stats->retry_after_seen |= HeaderValue(headers, "Retry-After") == "1";
    } else {
      ++stats->other_status;
    }
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(curl);
}

// Latency of GET requests to one URL, every 100 ms, on its own connection.
class Prober {
 public:
  explicit Prober(std::string url) : url_(std::move(url)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        long code = 0;
        const double t = TimedGet(url_, &code);
        {
          std::lock_guard<std::mutex> lock(mu_);
          latencies_.push_back(t);
          if (code != 200) ++failures_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~Prober() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  double Quantile(double q) {
    std::lock_guard<std::mutex> lock(mu_);
    if (latencies_.empty()) return 0;
    std::vector<double> v = latencies_;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return latencies_.size();
  }
  int failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  std::string url_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<double> latencies_;
  int failures_ = 0;
};

double ScrapedRss(const ExporterProcess& e) {
  return e.Scrape()["process_resident_memory_bytes"];
}

// How much an exporter under overload may grow. Under AddressSanitizer
// (scripts/test --sanitize) freed memory waits in a quarantine of up to
// 256 MB before it is reused, so RSS says little there.
#ifdef __SANITIZE_ADDRESS__
constexpr double kRssGrowthBound = 512e6;
#else
constexpr double kRssGrowthBound = 64e6;
#endif

// One overload experiment: the capacity one client reaches alone, back to
// back, for 2 s; then `clients` clients for 6 s, with /-/healthy and
// /metrics probed and RSS sampled meanwhile.
struct OverloadRun {
  LoadStats alone, overload, total;  // total: alone + overload
  double capacity = 0;               // records/s accepted, one client
  double seconds = 0;                // of the overload
  double offered = 0, accepted = 0;  // records/s during the overload
  double rss_before = 0, rss_peak = 0;
  double health_p50 = 0, health_p99 = 0, scrape_p50 = 0, scrape_p99 = 0;
  int health_failures = 0, scrape_failures = 0;
};

OverloadRun RunOverload(const ExporterProcess& exporter, int batch, int clients,
                        bool heavy) {
  OverloadRun run;
  const std::string url = exporter.url("/api/v1/records");
  {
    std::atomic<bool> stop{false};
    std::thread t(
        [&] { LoadClient(url, batch, stop, &run.alone, {}, false, heavy); });
    std::this_thread::sleep_for(std::chrono::seconds(2));
    stop = true;
    t.join();
  }
  run.capacity = run.alone.accepted / 2.0;
  run.rss_before = ScrapedRss(exporter);
  Prober health(exporter.url("/-/healthy"));
  Prober scrape(exporter.url("/metrics"));
  std::vector<LoadStats> stats(static_cast<size_t>(clients));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      LoadClient(url, batch, stop, &stats[static_cast<size_t>(i)], {}, false,
                 heavy);
    });
  }
  while (SecondsSince(start) < 6) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    run.rss_peak = std::max(run.rss_peak, ScrapedRss(exporter));
  }
  stop = true;
  for (auto& t : threads) t.join();
  run.seconds = SecondsSince(start);
  health.Stop();
  scrape.Stop();
  for (const auto& s : stats) run.overload.Add(s);
  run.total = run.alone;
  run.total.Add(run.overload);
  run.offered = run.overload.records_sent / run.seconds;
  run.accepted = run.overload.accepted / run.seconds;
  run.health_p50 = health.Quantile(0.5);
  run.health_p99 = health.Quantile(0.99);
  run.scrape_p50 = scrape.Quantile(0.5);
  run.scrape_p99 = scrape.Quantile(0.99);
  run.health_failures = health.failures();
  run.scrape_failures = scrape.failures();
  std::printf(
      "capacity %.0f records/s (1 client); %d clients offered %.0f "
      "records/s, %.1fx capacity, %.1fx the %.0f/s accepted meanwhile; %llu "
      "of %llu requests got 429; /-/healthy p50 %.1f ms p99 %.1f ms; "
      "/metrics p50 %.1f ms p99 %.1f ms; RSS %.1f MB before, %.1f MB peak\n",
      run.capacity, clients, run.offered, run.offered / run.capacity,
      run.offered / run.accepted, run.accepted,
      static_cast<unsigned long long>(run.overload.throttled_requests),
      static_cast<unsigned long long>(run.overload.requests),
      run.health_p50 * 1e3, run.health_p99 * 1e3, run.scrape_p50 * 1e3,
      run.scrape_p99 * 1e3, run.rss_before / 1e6, run.rss_peak / 1e6);
  return run;
}

// What every overload must show: turned away with 429 and Retry-After,
// nothing accepted and dropped (sent = accepted + rejected + in 429
// bodies, and the exporter's counters say the same), health and scrapes
// answered quickly, memory bounded.
void ExpectOverloadHeld(const ExporterProcess& exporter,
                        const OverloadRun& run) {
  EXPECT_EQ(run.alone.throttled_requests, 0u);
  EXPECT_GT(run.overload.throttled_requests, 0u);
  EXPECT_TRUE(run.overload.retry_after_seen);
  EXPECT_EQ(run.overload.transport_errors, 0u);
  EXPECT_EQ(run.overload.other_status, 0u);
  EXPECT_EQ(run.total.records_sent, run.total.accepted + run.total.rejected +
                                        run.total.throttled_records);
  auto m = exporter.Scrape();
  EXPECT_EQ(m[kHttpRecords], static_cast<double>(run.total.accepted));
  EXPECT_EQ(
      m["ml_records_total{model=\"asr\",version=\"v3\",stage=\"decoder\"}"],
      static_cast<double>(run.total.accepted));
  EXPECT_EQ(m[kThrottled], static_cast<double>(run.total.throttled_requests));
  EXPECT_EQ(run.health_failures, 0);
  EXPECT_EQ(run.scrape_failures, 0);
  EXPECT_LT(run.health_p99, 0.25);
  EXPECT_LT(run.scrape_p99, 0.5);
  EXPECT_LT(run.rss_peak, run.rss_before + kRssGrowthBound);
}

TEST(OverloadTest, FarAboveCapacityIsTurnedAwayAndCountedExactly) {
  ExporterProcess exporter({"--ingest_concurrency=1", "--ingest_queue=1",
                            "--ingest_queue_timeout_ms=20"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  // Heavy records (a 256 x 256 image each), 32 clients.
  const OverloadRun run = RunOverload(exporter, 50, 32, /*heavy=*/true);
  ASSERT_GT(run.capacity, 0);
  // Offered far more than the exporter got through under that load: most
  // requests were turned away. Each record carries an image that costs the
  // exporter more to decode than a client to send, but the clients share
  // the machine's CPUs with the exporter, so the ratio offered / accepted
  // depends on the machine (3.4 - 16 times on the 2-core test VM,
  // docs/reliability.md): it is printed, not asserted; the next test shows
  // ten times on any machine.
  EXPECT_GT(run.offered, run.accepted);
  EXPECT_GE(2 * run.overload.throttled_requests, run.overload.requests);
  ExpectOverloadHeld(exporter, run);
}

// Ten times capacity, shown on any machine: the capacity is set by a
// collector plugin that waits 2 ms a record without using the CPU (as one
// doing I/O would), so the exporter takes about 500 records/s through its
// one ingest slot however the CPUs are shared with the clients.
TEST(OverloadTest, TenTimesCapacityIsTurnedAwayAndCountedExactly) {
  TempDir dir;
  const std::string config = dir.file("config.yaml");
  WriteFile(config, std::string("plugins:\n  - path: ") +
                        TEST_SLOW_PLUGIN_PATH +
                        "\nmodels:\n  - model: asr\n    collectors:\n"
                        "      - name: software\n      - name: slow\n"
                        "        params: {observe_micros: 2000}\n");
  ExporterProcess exporter({"--config=" + config, "--ingest_concurrency=1",
                            "--ingest_queue=1",
                            "--ingest_queue_timeout_ms=20"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const OverloadRun run = RunOverload(exporter, 10, 16, /*heavy=*/false);
  ASSERT_GT(run.capacity, 0);
  EXPECT_GE(run.offered, 10 * run.capacity);
  // Throughput holds up under overload and nothing extra gets in.
  EXPECT_GE(run.accepted, 0.5 * run.capacity);
  EXPECT_LE(run.accepted, 1.5 * run.capacity);
  ExpectOverloadHeld(exporter, run);
}

TEST(OverloadTest, FileInputWaitsForTheBudgetAndLosesNothing) {
  TempDir dir;
  const std::string path = dir.file("records.ndjson");
  WriteFile(path, "");
  ExporterProcess exporter({"--input=" + path, "--ingest_concurrency=1",
                            "--ingest_queue=1", "--ingest_queue_timeout_ms=5"});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::atomic<bool> stop{false};
  std::vector<LoadStats> stats(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      LoadClient(exporter.url("/api/v1/records"), 200, stop, &stats[i]);
    });
  }
  const int lines = 20000;
  for (int i = 0; i < lines; i += 500) {
    std::ofstream(path, std::ios::app) << Batch(i, 500);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double file_records = exporter.WaitFor(
      "ml_exporter_ingested_records_total{source=\"file\"}", lines, 30000);
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(file_records, lines);
  auto m = exporter.Scrape();
  std::printf("file reader waited for the budget %.0f times\n",
              m["ml_exporter_ingest_reader_waits_total"]);
  EXPECT_GT(m["ml_exporter_ingest_reader_waits_total"], 0);
  EXPECT_EQ(m["ml_exporter_rejected_records_total{source=\"file\",reason="
              "\"too_large\"}"],
            0);
}

// ---------------------------------------------------------------- Faults

TEST(FaultsTest, SigtermDrainsEveryAcknowledgedRecord) {
  TempDir dir;
  const std::string final_file = dir.file("final.prom");
  ExporterProcess exporter({"--final_metrics_file=" + final_file});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  const std::string url = exporter.url("/api/v1/records");
  std::atomic<bool> stop{false};
  const int clients = 6;
  std::vector<LoadStats> stats(clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i) {
    // Each client posts until its first failed request (the exporter is
    // gone).
    threads.emplace_back([&, i] {
      LoadClient(url, 50, stop, &stats[i], {}, /*until_error=*/true);
    });
  }
  // A slow client holding a connection must not hold up the exit either.
  const int slow = Connect(exporter.port());
  ASSERT_GE(slow, 0);
  (void)!send(slow, "GET /metrics HTTP/1.1\r\n", 24, MSG_NOSIGNAL);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const auto sigterm = Clock::now();
  exporter.Signal(SIGTERM);
  while (exporter.running() && SecondsSince(sigterm) < 20) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double shutdown = SecondsSince(sigterm);
  stop = true;
  for (auto& t : threads) t.join();
  close(slow);
  LoadStats total;
  for (const auto& s : stats) total.Add(s);
  ASSERT_FALSE(exporter.running());
  EXPECT_EQ(exporter.Stop(), 0) << exporter.log();
  auto m = ParseExposition(ReadFile(final_file));
  std::printf(
      "SIGTERM under load: exit after %.0f ms; %llu records "
      "acknowledged, %.0f in the final metrics; %llu requests "
      "without an answer\n",
      shutdown * 1e3, static_cast<unsigned long long>(total.accepted),
      m[kHttpRecords], static_cast<unsigned long long>(total.transport_errors));
  EXPECT_GT(total.accepted, 0u);
  // Every acknowledged record is in the final metrics. A request processed
  // while the connection was being torn down may be counted but not
  // acknowledged: at most one per client.
  EXPECT_GE(m[kHttpRecords], static_cast<double>(total.accepted));
  EXPECT_LE(m[kHttpRecords],
            static_cast<double>(total.accepted + clients * 50));
  EXPECT_EQ(
      m["ml_records_total{model=\"asr\",version=\"v3\",stage=\"decoder\"}"],
      m[kHttpRecords]);
  EXPECT_LT(shutdown, 12.0);  // bounded by the request timeout (10 s)
  EXPECT_NE(exporter.log().find("stopped after draining"), std::string::npos);
}

TEST(FaultsTest, ReloadUnderLoadLosesNothing) {
  TempDir dir;
  const std::string config = dir.file("config.yaml");
  // Two configurations the reloads alternate between: the software
  // collector (ml_records_total) is the same in both and keeps its counts.
  const std::string a =
      "models:\n  - model: asr\n    collectors:\n      - name: software\n"
      "      - name: inputs\n";
  const std::string b = a + "      - name: outputs\n";
  WriteFile(config, a);
  ExporterProcess exporter({"--config=" + config});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::atomic<bool> stop{false};
  std::vector<LoadStats> stats(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      LoadClient(exporter.url("/api/v1/records"), 100, stop, &stats[i]);
    });
  }
  int reloads_ok = 0;
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    WriteFile(config, i % 2 == 0 ? b : a);
    if (i % 2 == 0) {
      reloads_ok +=
          HttpPost(exporter.url("/-/reload"), "text/plain", "").code == 200;
    } else {
      exporter.Signal(SIGHUP);
      ++reloads_ok;
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  LoadStats total;
  for (const auto& s : stats) total.Add(s);
  EXPECT_EQ(reloads_ok, 10);
  EXPECT_EQ(total.transport_errors, 0u);
  EXPECT_EQ(total.other_status, 0u);
  EXPECT_EQ(total.records_sent,
            total.accepted + total.rejected + total.throttled_records);
  auto m = exporter.Scrape();
  EXPECT_EQ(m[kHttpRecords], static_cast<double>(total.accepted));
  EXPECT_EQ(
      m["ml_records_total{model=\"asr\",version=\"v3\",stage=\"decoder\"}"],
      static_cast<double>(total.accepted));
  EXPECT_TRUE(exporter.running());
}

TEST(FaultsTest, PluginFailuresUnderLoadLoseNothing) {
  // A plugin collector that throws from Observe on some records and from
  // every Collect, and one whose Collect returns an error, while clients
  // post and Prometheus-like scrapes run: every request is answered, the
  // built-in collectors count every accepted record, the failures are
  // reported per collector, and the process keeps serving.
  TempDir dir;
  const std::string config = dir.file("config.yaml");
  WriteFile(config, std::string("plugins:\n  - path: ") +
                        TEST_THROWING_PLUGIN_PATH +
                        "\n  - path: " + TEST_FAILING_PLUGIN_PATH +
                        "\nmodels:\n  - model: asr\n    collectors:\n"
                        "      - name: software\n      - name: thrower\n"
                        "        params: {throw_in_collect: true}\n"
                        "      - name: failing\n");
  ExporterProcess exporter({"--config=" + config});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::atomic<bool> stop{false};
  std::vector<LoadStats> stats(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      LoadClient(exporter.url("/api/v1/records"), 100, stop, &stats[i]);
    });
  }
  // Records whose "boom" output makes the plugin's Observe throw, and
  // scrapes, whose Collect throws, interleaved with the load.
  const std::string boom =
      R"({"model":"asr","version":"v3","stage":"decoder","request_id":"b",)"
      R"("outputs":{"boom":1}})"
      "\n";
  int boom_sent = 0, boom_accepted = 0, scrapes_ok = 0;
  for (int i = 0; i < 40; ++i) {
    HttpReply r =
        HttpPost(exporter.url("/api/v1/records"), "application/x-ndjson", boom);
    ++boom_sent;
    boom_accepted += r.code == 200;
    scrapes_ok += HttpGet(exporter.url("/metrics")).code == 200;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  for (auto& t : threads) t.join();
  LoadStats total;
  for (const auto& s : stats) total.Add(s);
  EXPECT_EQ(boom_accepted, boom_sent);
  EXPECT_EQ(scrapes_ok, 40);
  EXPECT_EQ(total.transport_errors, 0u);
  EXPECT_EQ(total.other_status, 0u);
  EXPECT_EQ(total.records_sent,
            total.accepted + total.rejected + total.throttled_records);
  auto m = exporter.Scrape();
  const double accepted = static_cast<double>(total.accepted + boom_accepted);
  EXPECT_EQ(m[kHttpRecords], accepted);
  EXPECT_EQ(
      m["ml_records_total{model=\"asr\",version=\"v3\",stage=\"decoder\"}"],
      accepted);
  // The plugin's own count is of the records it observed without throwing.
  EXPECT_EQ(m["ml_test_survivor_records_total"],
            static_cast<double>(total.accepted));
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"thrower\"}"], 0);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"failing\"}"], 0);
  EXPECT_EQ(m["ml_exporter_collector_success{collector=\"software\"}"], 1);
  EXPECT_EQ(HttpGet(exporter.url("/-/healthy")).code, 200);
  EXPECT_TRUE(exporter.running());
  EXPECT_NE(exporter.log().find("observe exploded on request b"),
            std::string::npos)
      << exporter.log();
}

TEST(FaultsTest, RotationAndDeletionUnderContinuousWritesLoseNoLine) {
  TempDir dir;
  const std::string path = dir.file("records.ndjson");
  WriteFile(path, "");
  ExporterProcess exporter({"--input=" + path});
  ASSERT_TRUE(exporter.started()) << exporter.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // A writer appending steadily; every 500 lines (about a second) the file
  // is rotated by rename (like logrotate without copytruncate) or deleted,
  // and the writer continues in a new file at the same path. (A file that
  // is rotated away before the follower's next poll, 200 ms, is never
  // opened: rotation must be slower than that.)
  const int lines = 3000;
  std::ofstream out(path, std::ios::app);
  for (int i = 0; i < lines; ++i) {
    out << Record(i) << "\n";
    if (i % 50 == 49) {
      out.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (i % 500 == 499) {
      out.close();
      if ((i / 500) % 2 == 0) {
        std::filesystem::rename(path, path + "." + std::to_string(i));
      } else {
        std::filesystem::remove(path);
      }
      out.open(path, std::ios::app);
    }
  }
  out.close();
  EXPECT_EQ(
      exporter.WaitFor("ml_exporter_ingested_records_total{source=\"file\"}",
                       lines, 20000),
      lines)
      << exporter.log();
}

}  // namespace
}  // namespace ml_exporter::testing
