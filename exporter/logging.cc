#include "exporter/logging.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <string>

namespace ml_exporter::internal {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_mu;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") {
    *level = LogLevel::kDebug;
  } else if (text == "info") {
    *level = LogLevel::kInfo;
  } else if (text == "warn" || text == "warning") {
    *level = LogLevel::kWarning;
  } else if (text == "error") {
    *level = LogLevel::kError;
  } else {
    return false;
  }
  return true;
}

void Log(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) {
    return;
  }
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      now.time_since_epoch())
                      .count() %
                  1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "ts=%s.%03dZ level=%s msg=\"%.*s\"\n", stamp,
               static_cast<int>(ms), LevelName(level),
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

void LogRateLimited(LogLevel level, std::string_view key,
                    std::string_view message, int per_minute) {
  struct Window {
    std::chrono::steady_clock::time_point start;
    int logged = 0;
    int suppressed = 0;
  };
  static std::mutex mu;
  static std::map<std::string, Window, std::less<>> windows;
  const auto now = std::chrono::steady_clock::now();
  int suppressed = 0;
  bool log = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = windows.find(key);
    if (it == windows.end()) {
      if (windows.size() > 64) windows.clear();  // keys are few; stay bounded
      it = windows.emplace(std::string(key), Window{now}).first;
    }
    Window& w = it->second;
    if (now - w.start >= std::chrono::minutes(1)) {
      suppressed = w.suppressed;
      w = Window{now};
    }
    if (w.logged < per_minute) {
      ++w.logged;
      log = true;
    } else {
      ++w.suppressed;
    }
  }
  if (suppressed > 0) {
    Log(LogLevel::kWarning, "suppressed " + std::to_string(suppressed) +
                                " similar messages (" + std::string(key) +
                                ") in the last minute");
  }
  if (log) Log(level, message);
}

}  // namespace ml_exporter::internal
