#include "exporter/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "ml_exporter/metric_builder.h"

namespace ml_exporter::internal {
namespace {

double BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

void Gauge(const char* name, const char* help, double value,
           std::vector<prometheus::MetricFamily>* out) {
  auto f = NewFamily(name, help, prometheus::MetricType::Gauge);
  AddGauge(&f, {}, value);
  out->push_back(std::move(f));
}

}  // namespace

void AppendProcessMetrics(std::vector<prometheus::MetricFamily>* out) {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold
  // spaces: start at the last ')'.
  const size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::string f[23];
    for (auto& s : f) fields >> s;
    // f[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23,
    // rss=24 in proc(5) numbering.
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    const double utime = std::strtod(f[11].c_str(), nullptr);
    const double stime = std::strtod(f[12].c_str(), nullptr);
    const double start = std::strtod(f[19].c_str(), nullptr);
    const double vsize = std::strtod(f[20].c_str(), nullptr);
    const double rss = std::strtod(f[21].c_str(), nullptr);
    auto cpu = NewFamily("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.",
                         prometheus::MetricType::Counter);
    AddCounter(&cpu, {}, (utime + stime) / ticks);
    out->push_back(std::move(cpu));
    Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
          rss * page, out);
    Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
          vsize, out);
    Gauge("process_start_time_seconds",
          "Start time of the process since unix epoch in seconds.",
          BootTimeSeconds() + start / ticks, out);
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    double n = 0;
    while (readdir(dir) != nullptr) ++n;
    closedir(dir);
    Gauge("process_open_fds", "Number of open file descriptors.", n - 3,
          out);  // ".", ".." and the directory's own descriptor
  }
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    Gauge("process_max_fds", "Maximum number of open file descriptors.",
          static_cast<double>(limit.rlim_cur), out);
  }
}

}  // namespace ml_exporter::internal
