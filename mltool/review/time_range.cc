#include "mltool/review/time_range.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace ml_exporter::mltool::review {

Status ParseDuration(std::string_view text, double* seconds) {
  const std::string s(text);
  if (s.empty()) return Status::InvalidArgument("empty duration");
  char* end = nullptr;
  const double plain = std::strtod(s.c_str(), &end);
  if (*end == '\0' && std::isfinite(plain) && plain > 0) {
    *seconds = plain;
    return Status::Ok();
  }
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() &&
           (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) {
      ++j;
    }
    if (j == i) {
      return Status::InvalidArgument("bad duration \"" + s +
                                     "\": expected a number at \"" +
                                     s.substr(i) + "\" (e.g. 14d, 1h30m)");
    }
    const double n = std::strtod(s.substr(i, j - i).c_str(), nullptr);
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    const std::string unit = s.substr(j, k - j);
    double factor = 0;
    if (unit == "ms")
      factor = 0.001;
    else if (unit == "s")
      factor = 1;
    else if (unit == "m")
      factor = 60;
    else if (unit == "h")
      factor = 3600;
    else if (unit == "d")
      factor = 86400;
    else if (unit == "w")
      factor = 7 * 86400;
    else if (unit == "y")
      factor = 365 * 86400;
    else {
      return Status::InvalidArgument("bad duration \"" + s +
                                     "\": unknown unit \"" + unit +
                                     "\" (use ms, s, m, h, d, w, y)");
    }
    total += n * factor;
    i = k;
  }
  if (!(total > 0)) {
    return Status::InvalidArgument("duration \"" + s + "\" must be positive");
  }
  *seconds = total;
  return Status::Ok();
}

Status ParseTime(std::string_view text, double* unix_seconds) {
  const std::string s(text);
  char* end = nullptr;
  const double plain = std::strtod(s.c_str(), &end);
  if (!s.empty() && *end == '\0' && std::isfinite(plain)) {
    *unix_seconds = plain;
    return Status::Ok();
  }
  int year, month, day, hour, minute;
  double second;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%n", &year, &month, &day,
                  &hour, &minute, &second, &consumed) != 6 &&
      std::sscanf(s.c_str(), "%4d-%2d-%2dt%2d:%2d:%lf%n", &year, &month, &day,
                  &hour, &minute, &second, &consumed) != 6) {
    return Status::InvalidArgument(
        "bad time \"" + s +
        "\": use Unix seconds or RFC 3339 (2026-11-28T10:00:00Z)");
  }
  // %lf may have eaten a trailing 'Z'-less offset sign: re-find the zone.
  size_t zone = s.find_first_of("Zz+-", 19);
  double offset = 0;
  if (zone == std::string::npos) {
    return Status::InvalidArgument("bad time \"" + s +
                                   "\": no time zone (Z or +HH:MM)");
  }
  if (s[zone] == '+' || s[zone] == '-') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + zone + 1, "%2d:%2d", &oh, &om) != 2) {
      return Status::InvalidArgument("bad time zone in \"" + s + "\"");
    }
    offset = (s[zone] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  // Seconds with a fraction: parse the part between the minutes and zone.
  second = std::strtod(s.substr(17, zone - 17).c_str(), nullptr);
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = 0;
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1) || month < 1 || month > 12 || day < 1 ||
      day > 31 || hour > 23 || minute > 59 || second >= 61) {
    return Status::InvalidArgument("bad time \"" + s + "\"");
  }
  *unix_seconds = static_cast<double>(t) + second - offset;
  return Status::Ok();
}

std::string FormatTime(double unix_seconds) {
  const time_t t = static_cast<time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double ChooseStep(double range_seconds, int max_points) {
  const double raw = range_seconds / std::max(1, max_points - 1);
  return std::max(60.0, std::ceil(raw / 60.0) * 60.0);
}

std::string FormatDuration(double seconds) {
  const long s = std::lround(seconds);
  if (std::fabs(seconds - static_cast<double>(s)) > 1e-6 || s <= 0) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%gs", seconds);
    return buf;
  }
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace ml_exporter::mltool::review
