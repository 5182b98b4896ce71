#include "mltool/simulate_command.h"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mltool/simulate/fault.h"
#include "mltool/simulate/http_sink.h"
#include "mltool/simulate/scenario.h"
#include "mltool/simulate/traffic_generator.h"

namespace ml_exporter::mltool {
namespace {

using simulate::Emission;
using simulate::Fault;
using simulate::FaultKind;

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

void PrintUsage(FILE* out) {
  std::fprintf(
      out,
      "usage: mltool simulate [--scenario NAME[,NAME...]|all] [--rate N]\n"
      "                       [--duration TIME] [--count N] [--seed N]\n"
      "                       (--url URL[,URL...] [--batch N] | --output "
      "FILE|-)\n"
      "                       [--fault KIND@START[+DURATION]]... [--fast]\n"
      "                       [--invalid_fraction F] [--start_time UNIX]\n"
      "\n"
      "Generates the prediction records and events of deployed models, at "
      "--rate\n"
      "requests per second of simulated time (each request: one record per "
      "stage\n"
      "plus the events it causes), and POSTs them to ml_exporter "
      "(/api/v1/records,\n"
      "NDJSON batches) or writes NDJSON. The same options and --seed give "
      "the same\n"
      "lines, apart from \"time\" (the start time, unless --start_time).\n"
      "\n"
      "  --scenario LIST      comma-separated scenarios, or all (default "
      "all);\n"
      "                       requests go to them in turn\n"
      "  --rate N             requests per second (default 50)\n"
      "  --duration TIME      stop after this much simulated time (90, 90s, "
      "2m, 1h)\n"
      "  --count N            stop after N requests\n"
      "  --url URL,...        POST to these exporters (http://HOST:PORT); "
      "with\n"
      "                       several, each session or request goes to one "
      "of them\n"
      "                       by a hash of its id, as a sticky load balancer "
      "would\n"
      "  --batch N            lines per POST (default 50; partial batches "
      "are sent\n"
      "                       every 0.5 s)\n"
      "  --output FILE|-      write NDJSON to FILE (appending) or stdout\n"
      "  --fast               do not wait: simulated time runs as fast as "
      "lines can\n"
      "                       be written (default: real time)\n"
      "  --seed N             random seed (default 1)\n"
      "  --fault SPEC         KIND@START[+DURATION] in simulated time, "
      "repeatable;\n"
      "                       without +DURATION until the end\n"
      "  --invalid_fraction F requests sent as a client bug would (no model; "
      "blobs\n"
      "                       that do not decode), default 0\n"
      "  --start_time UNIX    \"time\" of simulated second 0 (default: now)\n"
      "\n"
      "scenarios:\n");
  for (const std::string& name : simulate::ScenarioNames()) {
    std::fprintf(out, "  %-18s %s\n", name.c_str(),
                 std::string(simulate::ScenarioDescription(name)).c_str());
  }
  std::fprintf(out, "\nfault kinds:\n");
  for (FaultKind kind : simulate::AllFaultKinds()) {
    std::fprintf(out, "  %-15s %s\n",
                 std::string(simulate::FaultName(kind)).c_str(),
                 std::string(simulate::FaultDescription(kind)).c_str());
  }
  std::fprintf(out,
               "\nexample: mltool simulate --url http://127.0.0.1:9710 "
               "--rate 100 \\\n"
               "           --fault null_outputs@3m+5m --fault "
               "latency@10m+2m\n"
               "exit: 0 done, 1 output or POST failures, 2 usage error\n");
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "mltool simulate: %s\n(mltool simulate --help)\n",
               message.c_str());
  return 2;
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool ParseNumber(const std::string& s, double* out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || errno != 0 || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

bool ParseUnsigned(const std::string& s, uint64_t* out) {
  if (s.empty() || s[0] == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || errno != 0) return false;
  *out = v;
  return true;
}

struct Options {
  simulate::TrafficOptions traffic;
  double duration_seconds = 0;  // 0: unbounded
  uint64_t count = 0;           // 0: unbounded
  std::vector<std::string> urls;
  std::string output;
  bool has_output = false;
  uint64_t batch = 50;
  bool fast = false;
  bool start_time_given = false;
};

// 0 to run, 2 after a usage error, -1 after --help.
int ParseArgs(const std::vector<std::string>& args, Options* o) {
  o->traffic.scenarios = simulate::ScenarioNames();
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    if (flag == "--help" || flag == "-h") return -1;
    if (flag == "--fast") {
      o->fast = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) {
      return UsageError("unexpected argument \"" + args[i] + "\"");
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return UsageError(flag + " needs a value");
      value = args[++i];
    }
    if (flag == "--scenario") {
      o->traffic.scenarios.clear();
      for (const std::string& s : SplitCommas(value)) {
        if (s == "all") {
          for (const std::string& n : simulate::ScenarioNames()) {
            o->traffic.scenarios.push_back(n);
          }
        } else if (simulate::MakeScenario(s) == nullptr) {
          std::string names;
          for (const std::string& n : simulate::ScenarioNames()) {
            names += n + ", ";
          }
          return UsageError("--scenario: unknown scenario \"" + s +
                            "\" (scenarios: " + names + "all)");
        } else {
          o->traffic.scenarios.push_back(s);
        }
      }
      if (o->traffic.scenarios.empty()) {
        return UsageError("--scenario: give at least one scenario");
      }
    } else if (flag == "--rate") {
      if (!ParseNumber(value, &o->traffic.rate) || o->traffic.rate <= 0) {
        return UsageError("--rate \"" + value +
                          "\": expected a positive number of requests per "
                          "second");
      }
    } else if (flag == "--duration") {
      if (!simulate::ParseDurationSeconds(value, &o->duration_seconds) ||
          o->duration_seconds <= 0) {
        return UsageError("--duration \"" + value +
                          "\": expected a positive time like 120, 120s, 2m");
      }
    } else if (flag == "--count") {
      if (!ParseUnsigned(value, &o->count) || o->count == 0) {
        return UsageError("--count \"" + value +
                          "\": expected a positive whole number");
      }
    } else if (flag == "--url") {
      for (const std::string& u : SplitCommas(value)) o->urls.push_back(u);
    } else if (flag == "--output") {
      o->output = value;
      o->has_output = true;
    } else if (flag == "--batch") {
      if (!ParseUnsigned(value, &o->batch) || o->batch == 0) {
        return UsageError("--batch \"" + value +
                          "\": expected a positive whole number");
      }
    } else if (flag == "--seed") {
      if (!ParseUnsigned(value, &o->traffic.seed)) {
        return UsageError("--seed \"" + value +
                          "\": expected a non-negative whole number");
      }
    } else if (flag == "--fault") {
      Fault f;
      const Status s = simulate::ParseFault(value, &f);
      if (!s.ok()) return UsageError(s.message());
      o->traffic.faults.push_back(f);
    } else if (flag == "--invalid_fraction") {
      if (!ParseNumber(value, &o->traffic.invalid_fraction) ||
          o->traffic.invalid_fraction < 0 || o->traffic.invalid_fraction > 1) {
        return UsageError("--invalid_fraction \"" + value +
                          "\": expected a number from 0 to 1");
      }
    } else if (flag == "--start_time") {
      if (!ParseNumber(value, &o->traffic.start_unix_time) ||
          o->traffic.start_unix_time < 0) {
        return UsageError("--start_time \"" + value +
                          "\": expected Unix seconds");
      }
      o->start_time_given = true;
    } else {
      return UsageError("unknown flag " + flag);
    }
  }
  if (o->urls.empty() == !o->has_output) {
    return UsageError(o->urls.empty()
                          ? "give --url URL (POST to ml_exporter) or "
                            "--output FILE|- (NDJSON)"
                          : "give --url or --output, not both");
  }
  return 0;
}

double WallSeconds() {
  return std::chrono::duration<double>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes lines to a file or stdout; remembers the first error.
class FileOutput {
 public:
  bool Open(const std::string& path) {
    if (path == "-") {
      file_ = stdout;
      return true;
    }
    file_ = std::fopen(path.c_str(), "a");
    owned_ = file_ != nullptr;
    return file_ != nullptr;
  }
  ~FileOutput() {
    if (owned_) std::fclose(file_);
  }
  bool Write(const std::string& line) {
    if (failed_) return false;
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() ||
        std::fputc('\n', file_) == EOF) {
      failed_ = true;
      error_ = errno;
    }
    return !failed_;
  }
  bool Flush() {
    if (!failed_ && std::fflush(file_) != 0) {
      failed_ = true;
      error_ = errno;
    }
    return !failed_;
  }
  bool failed() const { return failed_; }
  int error() const { return error_; }

 private:
  FILE* file_ = nullptr;
  bool owned_ = false;
  bool failed_ = false;
  int error_ = 0;
};

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0fs", s);
  return buf;
}

}  // namespace

int RunSimulateCommand(const std::vector<std::string>& args) {
  Options o;
  const int parsed = ParseArgs(args, &o);
  if (parsed == -1) {
    PrintUsage(stdout);
    return 0;
  }
  if (parsed != 0) return parsed;
  if (!o.start_time_given) o.traffic.start_unix_time = WallSeconds();

  std::unique_ptr<simulate::TrafficGenerator> generator;
  Status s = simulate::TrafficGenerator::Create(o.traffic, &generator);
  if (!s.ok()) return UsageError(s.message());

  std::unique_ptr<simulate::HttpSink> sink;
  FileOutput file;
  if (!o.urls.empty()) {
    s = simulate::HttpSink::Create(o.urls, o.batch, &sink);
    if (!s.ok()) return UsageError(s.message());
  } else if (!file.Open(o.output)) {
    std::fprintf(stderr, "mltool simulate: cannot open %s: %s\n",
                 o.output.c_str(), std::strerror(errno));
    return 1;
  }

  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string scenarios;
  for (const std::string& n : o.traffic.scenarios) {
    scenarios += (scenarios.empty() ? "" : ",") + n;
  }
  std::string targets = o.urls.empty() ? o.output : "";
  for (const std::string& u : o.urls) {
    targets += (targets.empty() ? "" : ",") + u;
  }
  std::fprintf(
      stderr, "mltool simulate: %s at %g requests/s, seed %llu, to %s\n",
      scenarios.c_str(), o.traffic.rate,
      static_cast<unsigned long long>(o.traffic.seed), targets.c_str());
  for (const Fault& f : o.traffic.faults) {
    std::fprintf(stderr, "mltool simulate: fault %s from %s%s%s\n",
                 std::string(simulate::FaultName(f.kind)).c_str(),
                 FormatSeconds(f.start_seconds).c_str(),
                 std::isinf(f.duration_seconds) ? "" : " to ",
                 std::isinf(f.duration_seconds)
                     ? ""
                     : FormatSeconds(f.end_seconds()).c_str());
  }

  const double wall_start = WallSeconds();
  double last_flush = wall_start;
  std::vector<bool> fault_on(o.traffic.faults.size(), false);
  std::vector<Emission> lines;
  uint64_t written = 0;
  auto deliver = [&](std::vector<Emission>* batch) {
    for (const Emission& e : *batch) {
      if (sink) {
        sink->Add(e.line, e.route);
      } else {
        file.Write(e.line);
      }
      ++written;
    }
    batch->clear();
  };

  while (!g_stop) {
    const double t = generator->next_time();
    if (o.count > 0 && generator->requests() >= o.count) break;
    if (o.duration_seconds > 0 && t >= o.duration_seconds) break;
    for (size_t i = 0; i < o.traffic.faults.size(); ++i) {
      const bool on = o.traffic.faults[i].ActiveAt(t);
      if (on != fault_on[i]) {
        fault_on[i] = on;
        std::fprintf(
            stderr, "mltool simulate: %s fault %s at %s\n",
            on ? "started" : "stopped",
            std::string(simulate::FaultName(o.traffic.faults[i].kind)).c_str(),
            FormatSeconds(t).c_str());
      }
    }
    if (!o.fast) {
      const double ahead = wall_start + t - WallSeconds();
      if (ahead > 0) {
        if (sink && WallSeconds() - last_flush >= 0.5) {
          sink->FlushAll();
          last_flush = WallSeconds();
          continue;  // the flush took time: look again
        }
        std::this_thread::sleep_for(
            std::chrono::duration<double>(std::min(ahead, 0.25)));
        continue;
      }
    }
    generator->Next(&lines);
    deliver(&lines);
    if (file.failed()) break;
  }
  generator->Flush(&lines);
  deliver(&lines);

  int code = 0;
  if (sink) {
    sink->FlushAll();
    const auto& st = sink->stats();
    std::fprintf(stderr,
                 "mltool simulate: %llu requests, %llu lines in %llu POSTs "
                 "to %zu exporter(s): %llu accepted, %llu rejected, %llu "
                 "failed POSTs\n",
                 static_cast<unsigned long long>(generator->requests()),
                 static_cast<unsigned long long>(written),
                 static_cast<unsigned long long>(st.posts), sink->replicas(),
                 static_cast<unsigned long long>(st.accepted),
                 static_cast<unsigned long long>(st.rejected),
                 static_cast<unsigned long long>(st.failed_posts));
    if (st.failed_posts > 0) {
      std::fprintf(stderr, "mltool simulate: last failure: %s\n",
                   st.last_error.c_str());
      code = 1;
    }
  } else {
    file.Flush();
    if (file.failed() && file.error() != EPIPE) {
      std::fprintf(stderr, "mltool simulate: writing %s: %s\n",
                   o.output.c_str(), std::strerror(file.error()));
      code = 1;
    } else {
      std::fprintf(stderr, "mltool simulate: %llu requests, %llu lines\n",
                   static_cast<unsigned long long>(generator->requests()),
                   static_cast<unsigned long long>(written));
    }
  }
  return code;
}

}  // namespace ml_exporter::mltool
