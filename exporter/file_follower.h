// FileFollower: reads NDJSON records from a file the way `tail -F` does, or
// from standard input, and feeds them to a pipeline.
#ifndef ML_EXPORTER_EXPORTER_FILE_FOLLOWER_H_
#define ML_EXPORTER_EXPORTER_FILE_FOLLOWER_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "exporter/ingest_limiter.h"
#include "ml_exporter/pipeline.h"

namespace ml_exporter::internal {

struct FileFollowerOptions {
  // A path, or "-" for standard input.
  std::string path;
  // Start at the beginning of the file that exists at start; by default
  // only lines appended after start are read. Files that appear later
  // (after rotation) are always read from their beginning.
  bool from_start = false;
  std::chrono::milliseconds poll_interval{200};
  size_t max_line_bytes = 16 << 20;
  // The shared ingest budget: each chunk of lines waits for a slot, so a
  // busy exporter reads more slowly instead of dropping lines. Null: no
  // limit.
  std::shared_ptr<IngestLimiter> limiter;
  // Standard input only: stop the follower (not the process) at EOF.
};

class FileFollower {
 public:
  FileFollower(const FileFollowerOptions& options, Pipeline* pipeline);
  ~FileFollower();  // Stop()

  void Start();
  // Asks the reader to stop and waits for it; lines read so far are
  // observed first.
  void Stop();
  // True once standard input reached EOF (never for files).
  bool finished() const { return finished_; }

 private:
  void Run();
  void RunStdin();
  void RunFile();
  // Reads up to one chunk from `fd` straight after the buffered bytes (no
  // second copy); returns read()'s result.
  ssize_t ReadMore(int fd);
  // Feeds complete lines in buffer_, keeping a trailing partial line.
  void Drain(bool flush_partial);
  // Drops the first `n` buffered bytes.
  void Consume(size_t n);
  void ClearBuffer();

  const FileFollowerOptions options_;
  Pipeline* const pipeline_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::thread thread_;
  // Bytes [0, buffered_) are read and not yet fed; the rest is room for
  // the next read. Grows only for a partial line longer than a chunk.
  std::vector<char> buffer_;
  size_t buffered_ = 0;
  size_t next_line_ = 1;
  bool skipping_long_line_ = false;
};

}  // namespace ml_exporter::internal

#endif  // ML_EXPORTER_EXPORTER_FILE_FOLLOWER_H_
