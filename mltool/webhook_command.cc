#include "mltool/webhook_command.h"

#include <civetweb.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mltool/command_flags.h"
#include "simdjson.h"

extern char** environ;

namespace {

constexpr char kUsage[] =
    "usage: mltool webhook --listen HOST:PORT [--log FILE] [--command CMD]\n"
    "                      [--command_alerts NAME,...] [--cooldown SECONDS]\n"
    "\n"
    "Receives Alertmanager webhook notifications (any path) and writes one "
    "JSON\n"
    "line per alert to --log (default stdout). With --command, runs\n"
    "`/bin/sh -c CMD` for each firing alert named in --command_alerts, "
    "with\n"
    "ALERT_NAME, ALERT_STATUS, ALERT_FINGERPRINT, ALERT_RECEIVER, ALERT_JSON "
    "and\n"
    "ALERT_LABEL_<LABEL> (ALERT_LABEL_MODEL, ALERT_LABEL_FEATURE, ...) in its\n"
    "environment; never for the same alert while it runs or within "
    "--cooldown.\n"
    "Without --command alerts are only logged, for manual review.\n"
    "\n"
    "  --listen HOST:PORT        address to listen on (port 0: any free "
    "port)\n"
    "  --log FILE                append the JSON lines to FILE\n"
    "  --command CMD             command to run for firing alerts\n"
    "  --command_alerts A,B      alert names that run it "
    "(MLFeatureDrift,MLOutputDrift;\n"
    "                            * for every alert)\n"
    "  --cooldown SECONDS        least time between two runs for one alert "
    "(3600)\n";

constexpr size_t kMaxBody = 8 << 20;

std::string Json(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now.time_since_epoch())
                      .count() %
                  1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// A string member of a JSON object, or "".
std::string Member(simdjson::dom::element object, const char* key) {
  std::string_view v;
  if (object[key].get_string().get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

// A JSON object of strings (labels, annotations), in key order.
std::map<std::string, std::string> StringMap(simdjson::dom::element object,
                                             const char* key) {
  std::map<std::string, std::string> out;
  simdjson::dom::object o;
  if (object[key].get_object().get(o) != simdjson::SUCCESS) return out;
  for (auto field : o) {
    std::string_view v;
    if (field.value.get_string().get(v) == simdjson::SUCCESS) {
      out.emplace(std::string(field.key), std::string(v));
    }
  }
  return out;
}

std::string JsonObject(const std::map<std::string, std::string>& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ",";
    out += Json(k) + ":" + Json(v);
  }
  return out + "}";
}

struct Settings {
  std::string listen;
  std::string log_path;
  std::string command;
  std::set<std::string> command_alerts = {"MLFeatureDrift", "MLOutputDrift"};
  bool all_alerts = false;
  double cooldown_seconds = 3600;
};

class Receiver {
 public:
  explicit Receiver(Settings settings) : settings_(std::move(settings)) {}

  bool OpenLog() {
    if (settings_.log_path.empty()) return true;
    log_ = std::fopen(settings_.log_path.c_str(), "a");
    return log_ != nullptr;
  }

  // Handles one notification; returns the HTTP status and sets `reply`.
  int Handle(std::string_view path, const std::string& body,
             std::string* reply) {
    // civetweb's worker threads have small fixed stacks, which simdjson's
    // parser overflows under AddressSanitizer: parse on a thread with the
    // default stack (notifications are rare, the thread is cheap).
    int code = 500;
    std::thread([&] {
      simdjson::dom::parser parser;
      code = HandleParsed(parser, path, body, reply);
    }).join();
    return code;
  }

  void Log(const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    FILE* out = log_ != nullptr ? log_ : stdout;
    std::fputs(line.c_str(), out);
    std::fputc('\n', out);
    std::fflush(out);
  }

 private:
  int HandleParsed(simdjson::dom::parser& parser, std::string_view path,
                   const std::string& body, std::string* reply) {
    simdjson::dom::element doc;
    if (auto error = parser.parse(body).get(doc); error) {
      *reply = std::string("invalid JSON: ") + simdjson::error_message(error);
      return 400;
    }
    simdjson::dom::array alerts;
    if (doc["alerts"].get_array().get(alerts) != simdjson::SUCCESS) {
      *reply = "not an Alertmanager notification: no \"alerts\" array";
      return 400;
    }
    const std::string receiver = Member(doc, "receiver");
    size_t n = 0;
    for (simdjson::dom::element alert : alerts) {
      if (alert.type() != simdjson::dom::element_type::OBJECT) continue;
      ++n;
      HandleAlert(path, receiver, alert);
    }
    *reply = "{\"status\":\"ok\",\"alerts\":" + std::to_string(n) + "}";
    return 200;
  }

  void HandleAlert(std::string_view path, const std::string& receiver,
                   simdjson::dom::element alert) {
    const std::string status = Member(alert, "status");
    const auto labels = StringMap(alert, "labels");
    const auto annotations = StringMap(alert, "annotations");
    std::string fingerprint = Member(alert, "fingerprint");
    if (fingerprint.empty()) fingerprint = JsonObject(labels);
    const auto name_it = labels.find("alertname");
    const std::string name = name_it == labels.end() ? "" : name_it->second;
    const std::string alert_json =
        "{\"status\":" + Json(status) + ",\"labels\":" + JsonObject(labels) +
        ",\"annotations\":" + JsonObject(annotations) +
        ",\"startsAt\":" + Json(Member(alert, "startsAt")) +
        ",\"endsAt\":" + Json(Member(alert, "endsAt")) +
        ",\"fingerprint\":" + Json(fingerprint) + "}";

    std::string action = "logged";
    const bool selected =
        settings_.all_alerts || settings_.command_alerts.count(name) > 0;
    if (status == "firing" && selected) {
      action = settings_.command.empty()
                   ? "manual review (no --command)"
                   : MaybeRun(name, status, fingerprint, receiver, labels,
                              alert_json);
    }
    Log("{\"time\":" + Json(Now()) + ",\"path\":" + Json(path) +
        ",\"receiver\":" + Json(receiver) + ",\"alertname\":" + Json(name) +
        ",\"alert\":" + alert_json + ",\"action\":" + Json(action) + "}");
  }

  std::string MaybeRun(const std::string& name, const std::string& status,
                       const std::string& fingerprint,
                       const std::string& receiver,
                       const std::map<std::string, std::string>& labels,
                       const std::string& alert_json) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(runs_mutex_);
      if (running_.count(fingerprint) > 0) {
        return "command skipped: still running for this alert";
      }
      const auto last = last_start_.find(fingerprint);
      if (last != last_start_.end() &&
          std::chrono::duration<double>(now - last->second).count() <
              settings_.cooldown_seconds) {
        return "command skipped: cooldown";
      }
      for (auto it = last_start_.begin(); it != last_start_.end();) {
        const bool old =
            std::chrono::duration<double>(now - it->second).count() >=
            settings_.cooldown_seconds;
        it = old ? last_start_.erase(it) : std::next(it);
      }
      running_.insert(fingerprint);
      last_start_[fingerprint] = now;
    }
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "ALERT_", 6) != 0) env.emplace_back(*e);
    }
    env.push_back("ALERT_NAME=" + name);
    env.push_back("ALERT_STATUS=" + status);
    env.push_back("ALERT_FINGERPRINT=" + fingerprint);
    env.push_back("ALERT_RECEIVER=" + receiver);
    env.push_back("ALERT_JSON=" + alert_json);
    for (const auto& [k, v] : labels) {
      std::string key = "ALERT_LABEL_";
      for (char c : k) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_';
        key +=
            ok ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
      }
      env.push_back(key + "=" + v);
    }
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string shell = "/bin/sh", dash_c = "-c", command = settings_.command;
    char* argv[] = {shell.data(), dash_c.data(), command.data(), nullptr};

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    // Its own process group: stopping the receiver does not stop a
    // retraining run it started.
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    pid_t pid = 0;
    const int error =
        posix_spawn(&pid, "/bin/sh", nullptr, &attr, argv, envp.data());
    posix_spawnattr_destroy(&attr);
    if (error != 0) {
      std::lock_guard<std::mutex> lock(runs_mutex_);
      running_.erase(fingerprint);
      return std::string("command failed to start: ") + std::strerror(error);
    }
    std::thread([this, pid, name, fingerprint] {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      const int code =
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      {
        std::lock_guard<std::mutex> lock(runs_mutex_);
        running_.erase(fingerprint);
      }
      Log("{\"time\":" + Json(Now()) + ",\"alertname\":" + Json(name) +
          ",\"fingerprint\":" + Json(fingerprint) +
          ",\"action\":\"command finished\",\"pid\":" + std::to_string(pid) +
          ",\"exit_code\":" + std::to_string(code) + "}");
    }).detach();
    return "command started (pid " + std::to_string(pid) + ")";
  }

  Settings settings_;
  FILE* log_ = nullptr;
  std::mutex log_mutex_;
  std::mutex runs_mutex_;
  std::set<std::string> running_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_start_;
};

int Reply(mg_connection* conn, int code, std::string_view content_type,
          std::string_view body) {
  const char* text = code == 200   ? "OK"
                     : code == 400 ? "Bad Request"
                     : code == 404 ? "Not Found"
                     : code == 405 ? "Method Not Allowed"
                     : code == 413 ? "Payload Too Large"
                                   : "Error";
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + text +
                    "\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n";
  out.append(body);
  mg_write(conn, out.data(), out.size());
  return code;
}

int Dispatch(mg_connection* conn, void* self) {
  auto* receiver = static_cast<Receiver*>(self);
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string_view method = info->request_method;
  const std::string_view uri = info->local_uri ? info->local_uri : "/";
  if (method == "GET") {
    if (uri == "/-/healthy" || uri == "/-/ready" || uri == "/") {
      return Reply(conn, 200, "text/plain; charset=utf-8",
                   "mltool webhook: POST Alertmanager notifications here\n");
    }
    return Reply(conn, 404, "text/plain; charset=utf-8", "not found\n");
  }
  if (method != "POST") {
    return Reply(conn, 405, "text/plain; charset=utf-8", "use POST\n");
  }
  if (info->content_length > 0 &&
      static_cast<uint64_t>(info->content_length) > kMaxBody) {
    return Reply(conn, 413, "text/plain; charset=utf-8", "body too large\n");
  }
  std::string body;
  char buf[64 * 1024];
  for (;;) {
    const int n = mg_read(conn, buf, sizeof buf);
    if (n <= 0) break;
    if (body.size() + static_cast<size_t>(n) > kMaxBody) {
      return Reply(conn, 413, "text/plain; charset=utf-8", "body too large\n");
    }
    body.append(buf, static_cast<size_t>(n));
  }
  std::string reply;
  const int code = receiver->Handle(uri, body, &reply);
  if (code != 200) {
    receiver->Log("{\"time\":" + Json(Now()) + ",\"path\":" + Json(uri) +
                  ",\"action\":\"rejected\",\"error\":" + Json(reply) + "}");
    return Reply(conn, code, "text/plain; charset=utf-8", reply + "\n");
  }
  return Reply(conn, 200, "application/json", reply);
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "mltool webhook: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int RunWebhookCommand(const std::vector<std::string>& args) {
  Settings settings;
  ml_exporter::mltool::CommandFlags flags(
      args,
      {"--listen", "--log", "--command", "--command_alerts", "--cooldown"});
  while (flags.Next()) {
    const std::string& flag = flags.flag();
    std::string value = flags.value();
    if (flag == "--listen") {
      settings.listen = value;
    } else if (flag == "--log") {
      settings.log_path = value;
    } else if (flag == "--command") {
      settings.command = value;
    } else if (flag == "--command_alerts") {
      settings.command_alerts.clear();
      settings.all_alerts = false;
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        const std::string name = value.substr(start, end - start);
        if (name == "*") settings.all_alerts = true;
        if (!name.empty()) settings.command_alerts.insert(name);
        start = end + 1;
      }
      if (settings.command_alerts.empty()) {
        return UsageError("--command_alerts needs at least one alert name");
      }
    } else {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(v >= 0)) {
        return UsageError(
            "--cooldown must be a number of seconds >= 0, got \"" + value +
            "\"");
      }
      settings.cooldown_seconds = v;
    }
  }
  if (flags.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!flags.error().empty()) return UsageError(flags.error());
  if (settings.listen.empty()) return UsageError("--listen is required");

  // Signals are taken with sigwait below; threads started from here on
  // (civetweb's) inherit the mask.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  // Never freed: the threads that wait for commands may outlive main.
  // A static root, so LeakSanitizer knows it is kept on purpose.
  static Receiver* const receiver = new Receiver(settings);
  if (!receiver->OpenLog()) {
    std::fprintf(stderr, "mltool webhook: cannot open %s: %s\n",
                 settings.log_path.c_str(), std::strerror(errno));
    return 1;
  }
  const char* options[] = {"listening_ports",
                           settings.listen.c_str(),
                           "num_threads",
                           "4",
                           "request_timeout_ms",
                           "30000",
                           nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  mg_init_data init;
  std::memset(&init, 0, sizeof init);
  init.callbacks = &callbacks;
  init.configuration_options = options;
  char error_text[512] = "";
  unsigned error_code = 0;
  mg_error_data error;
  error.code = &error_code;
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  mg_context* context = mg_start2(&init, &error);
  if (context == nullptr) {
    std::fprintf(stderr, "mltool webhook: cannot listen on \"%s\": %s\n",
                 settings.listen.c_str(), error_text);
    return 1;
  }
  mg_set_request_handler(context, "/", &Dispatch, receiver);
  mg_server_port ports[4];
  const int n = mg_get_server_ports(context, 4, ports);
  const std::string host =
      settings.listen.substr(0, settings.listen.rfind(':'));
  std::string command_text = "none: alerts are logged for manual review";
  if (!settings.command.empty()) {
    std::string names;
    for (const auto& a : settings.command_alerts) {
      names += (names.empty() ? "" : ",") + a;
    }
    command_text = "\"" + settings.command + "\" for firing " + names;
  }
  std::fprintf(stderr, "mltool webhook: listening on %s:%d; command: %s\n",
               host.c_str(), n > 0 ? ports[0].port : 0, command_text.c_str());
  std::fflush(stderr);

  int sig = 0;
  sigwait(&stop, &sig);
  mg_stop(context);
  std::fprintf(stderr, "mltool webhook: stopped\n");
  return 0;
}
