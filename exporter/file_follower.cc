#include "exporter/file_follower.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "exporter/logging.h"
#include "ml_exporter/ingest.h"

namespace ml_exporter::internal {

namespace {
// Read straight into the line buffer, a chunk at a time: small enough
// that the chunk and the pipeline's cells stay in the core's cache while
// its lines are scanned, large enough that read() is rare (one call per
// ~150 records of 450 bytes).
constexpr size_t kReadChunk = 64 << 10;
// A buffer grown past this for a long line is given back once it is empty.
constexpr size_t kKeptBufferBytes = 4 * kReadChunk;
}  // namespace

FileFollower::FileFollower(const FileFollowerOptions& options,
                           Pipeline* pipeline)
    : options_(options), pipeline_(pipeline) {}

FileFollower::~FileFollower() { Stop(); }

void FileFollower::Start() {
  thread_ = std::thread([this] { Run(); });
}

void FileFollower::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FileFollower::Run() {
  if (options_.path == "-") {
    RunStdin();
  } else {
    RunFile();
  }
}

ssize_t FileFollower::ReadMore(int fd) {
  if (buffer_.size() < buffered_ + kReadChunk) {
    buffer_.resize(buffered_ + kReadChunk);
  }
  const ssize_t n = read(fd, buffer_.data() + buffered_, kReadChunk);
  if (n > 0) buffered_ += static_cast<size_t>(n);
  return n;
}

void FileFollower::Consume(size_t n) {
  n = std::min(n, buffered_);
  std::memmove(buffer_.data(), buffer_.data() + n, buffered_ - n);
  buffered_ -= n;
}

void FileFollower::ClearBuffer() {
  buffered_ = 0;
  if (buffer_.size() > kKeptBufferBytes) {
    buffer_.resize(kReadChunk);
    buffer_.shrink_to_fit();
  }
}

void FileFollower::Drain(bool flush_partial) {
  thread_local std::unique_ptr<Ingestor> ingestor;
  if (!ingestor) {
    ingestor = std::make_unique<Ingestor>(pipeline_, options_.path == "-"
                                                         ? IngestSource::kStdin
                                                         : IngestSource::kFile);
    ingestor->set_max_line_bytes(options_.max_line_bytes);
  }
  const std::string_view buffered(buffer_.data(), buffered_);
  size_t start = 0;
  if (skipping_long_line_) {
    const size_t nl = buffered.find('\n');
    if (nl == std::string_view::npos) {
      ClearBuffer();
      return;
    }
    start = nl + 1;
    ++next_line_;
    skipping_long_line_ = false;
  }
  size_t end = buffered.rfind('\n');
  if (flush_partial && buffered.size() > start) end = buffered.size();
  if (end != std::string_view::npos && end >= start) {
    const std::string_view lines = buffered.substr(start, end - start);
    // Back-pressure: wait for the budget. When stopping, what was read is
    // still observed, budget or not.
    IngestLimiter::Slot slot;
    if (options_.limiter) slot = options_.limiter->Acquire(stop_);
    const IngestResult result = ingestor->IngestNdjson(lines, next_line_);
    for (const IngestError& e : result.errors) {
      LogRateLimited(
          LogLevel::kWarning, "input_line",
          options_.path + ":" + std::to_string(e.line) + ": " + e.message);
    }
    // Counted by the ingestor as it split them (a count of the newlines
    // here cost as much as a sixth of the ingest itself). `lines` ends
    // before a newline, so one more line follows the last one counted
    // when it is empty or ends with one (only when flushing).
    next_line_ +=
        result.lines + (lines.empty() || lines.back() == '\n' ? size_t{1} : 0);
    Consume(end + 1);
  } else if (start > 0) {
    Consume(start);
  }
  if (buffered_ > options_.max_line_bytes) {
    // A line longer than the limit: reject it and skip to its end, without
    // holding it in memory.
    pipeline_->ingest_stats().AddRejected(
        options_.path == "-" ? IngestSource::kStdin : IngestSource::kFile,
        RejectReason::kBodyTooLarge, 1);
    LogRateLimited(LogLevel::kWarning, "input_line",
                   options_.path + ":" + std::to_string(next_line_) +
                       ": line longer than " +
                       std::to_string(options_.max_line_bytes) +
                       " bytes, skipped");
    ClearBuffer();
    skipping_long_line_ = true;
  }
}

void FileFollower::RunStdin() {
  while (!stop_) {
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&p, 1, 200);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ReadMore(STDIN_FILENO);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    Drain(false);
  }
  Drain(true);
  finished_ = true;
  Log(LogLevel::kInfo, "standard input closed; " +
                           std::to_string(next_line_ - 1) + " lines read");
}

void FileFollower::RunFile() {
  const std::string& path = options_.path;
  int fd = -1;
  struct stat current {};
  bool first_open = true;
  bool warned_missing = false;
  off_t offset = 0;
  while (!stop_) {
    if (fd < 0) {
      fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        if (!warned_missing) {
          Log(LogLevel::kWarning, "input " + path + ": " +
                                      std::strerror(errno) +
                                      "; waiting for it to appear");
          warned_missing = true;
        }
        first_open = false;  // a file that appears later is read whole
        std::this_thread::sleep_for(options_.poll_interval);
        continue;
      }
      warned_missing = false;
      fstat(fd, &current);
      offset = 0;
      next_line_ = 1;
      ClearBuffer();
      skipping_long_line_ = false;
      if (first_open && !options_.from_start) {
        // Skip what is there, counting its lines so that error messages
        // name real line numbers.
        char last = '\n';
        while (ReadMore(fd) > 0) {
          offset += static_cast<off_t>(buffered_);
          next_line_ += static_cast<size_t>(
              std::count(buffer_.data(), buffer_.data() + buffered_, '\n'));
          last = buffer_[buffered_ - 1];
          buffered_ = 0;
        }
        // A line being written as we start: skip its rest too.
        skipping_long_line_ = last != '\n';
      }
      first_open = false;
      Log(LogLevel::kInfo, "following input " + path);
    }
    const ssize_t n = ReadMore(fd);
    if (n > 0) {
      offset += n;
      Drain(false);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // At the end: was the file truncated, rotated or deleted?
    struct stat now {};
    if (fstat(fd, &now) == 0 && now.st_size < offset) {
      Log(LogLevel::kInfo, "input " + path +
                               " was truncated; reading from "
                               "its start");
      lseek(fd, 0, SEEK_SET);
      offset = 0;
      ClearBuffer();
      next_line_ = 1;
      continue;
    }
    struct stat named {};
    const bool exists = stat(path.c_str(), &named) == 0;
    if (!exists || named.st_ino != current.st_ino ||
        named.st_dev != current.st_dev) {
      // Rotated or deleted: the old file is complete, so a last line
      // without its newline is still a line. Lines written between our
      // last read and the rename are read first.
      while (ReadMore(fd) > 0) Drain(false);
      Drain(true);
      close(fd);
      fd = -1;
      Log(LogLevel::kInfo, "input " + path +
                               (exists ? " was rotated" : " was removed") +
                               "; reopening");
      continue;
    }
    std::this_thread::sleep_for(options_.poll_interval);
  }
  if (fd >= 0) {
    Drain(false);
    close(fd);
  }
}

}  // namespace ml_exporter::internal
