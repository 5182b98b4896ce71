// Test support: runs the real ml_exporter binary as a child process and
// talks HTTP to it with libcurl.
#ifndef ML_EXPORTER_TESTS_E2E_EXPORTER_PROCESS_H_
#define ML_EXPORTER_TESTS_E2E_EXPORTER_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace ml_exporter::testing {

struct HttpReply {
  long code = 0;  // 0 when the request failed (connection refused, ...)
  std::string body;
};

HttpReply HttpGet(const std::string& url);
HttpReply HttpPost(const std::string& url, const std::string& content_type,
                   const std::string& body);
// The same with "Transfer-Encoding: chunked" (no Content-Length), the body
// sent in pieces of at most `piece` bytes.
HttpReply HttpPostChunked(const std::string& url,
                          const std::string& content_type,
                          const std::string& body, size_t piece);

// A file in a new temporary directory; both are removed on destruction.
class TempConfigFile {
 public:
  TempConfigFile();
  ~TempConfigFile();
  TempConfigFile(const TempConfigFile&) = delete;
  TempConfigFile& operator=(const TempConfigFile&) = delete;

  // Replaces the contents at once (write, then rename), as a deployment
  // tool would, so a reload never reads half a file.
  void Write(const std::string& text) const;
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

// Runs `command` with /bin/sh, stdout and stderr into `output`; returns the
// exit code.
int RunCommand(const std::string& command, std::string* output);

// Series text (name{labels} as printed) to value, from an exposition.
std::map<std::string, double> ParseExposition(const std::string& text);

class ExporterProcess {
 public:
  // Starts `binary` with `args` plus --listen_address=127.0.0.1:0 and waits
  // (up to 10 s) for it to log its port. With `stdin_pipe`, the child's
  // standard input is a pipe written by WriteStdin.
  ExporterProcess(const std::vector<std::string>& args,
                  bool stdin_pipe = false);
  ~ExporterProcess();  // Stop()

  bool started() const { return port_ > 0; }
  int port() const { return port_; }
  std::string url(const std::string& path) const;
  // The child's stderr so far.
  std::string log() const;

  void WriteStdin(const std::string& data);
  void CloseStdin();

  // The metrics, parsed.
  std::map<std::string, double> Scrape() const;
  // Polls /metrics until `series` equals `value` or `timeout_ms` passes;
  // returns the last value seen (NaN when absent).
  double WaitFor(const std::string& series, double value,
                 int timeout_ms = 10000) const;

  // SIGTERM, then waits up to 10 s (SIGKILL after). Returns the exit status
  // as from waitpid, or -1 if it had to be killed.
  int Stop();
  bool running() const;
  // Sends `signal` to the child.
  void Signal(int signal);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stdin_fd_ = -1;
  mutable bool exited_ = false;
  mutable int exit_status_ = 0;
  std::string log_path_;
};

}  // namespace ml_exporter::testing

#endif  // ML_EXPORTER_TESTS_E2E_EXPORTER_PROCESS_H_
