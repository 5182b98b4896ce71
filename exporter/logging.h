// Minimal leveled logging to stderr, with a rate limit for messages caused
// by bad input so that a flood of bad lines cannot flood the log.
#ifndef ML_EXPORTER_EXPORTER_LOGGING_H_
#define ML_EXPORTER_EXPORTER_LOGGING_H_

#include <string_view>

namespace ml_exporter::internal {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetLogLevel(LogLevel level);
// Parses "debug", "info", "warn", "error"; false if none of those.
bool ParseLogLevel(std::string_view text, LogLevel* level);

void Log(LogLevel level, std::string_view message);

// Logs at most `per_minute` messages per minute for this `key`, then one
// line saying how many were suppressed.
void LogRateLimited(LogLevel level, std::string_view key,
                    std::string_view message, int per_minute = 20);

}  // namespace ml_exporter::internal

#define ML_LOG_INFO(msg) \
  ::ml_exporter::internal::Log(::ml_exporter::internal::LogLevel::kInfo, msg)
#define ML_LOG_WARNING(msg) \
  ::ml_exporter::internal::Log(::ml_exporter::internal::LogLevel::kWarning, msg)
#define ML_LOG_ERROR(msg) \
  ::ml_exporter::internal::Log(::ml_exporter::internal::LogLevel::kError, msg)

#endif  // ML_EXPORTER_EXPORTER_LOGGING_H_
