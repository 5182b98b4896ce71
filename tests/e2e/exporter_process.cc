#include "tests/e2e/exporter_process.h"

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace ml_exporter::testing {
namespace {

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpReply Perform(CURL* curl) {
  HttpReply reply;
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.code);
  }
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace

TempConfigFile::TempConfigFile() {
  char t[] = "/tmp/ml_exporter_cfg_XXXXXX";
  dir_ = mkdtemp(t);
  path_ = dir_ + "/config.yaml";
}

TempConfigFile::~TempConfigFile() { std::filesystem::remove_all(dir_); }

void TempConfigFile::Write(const std::string& text) const {
  std::ofstream out(path_ + ".tmp");
  out << text;
  out.close();
  std::filesystem::rename(path_ + ".tmp", path_);
}

int RunCommand(const std::string& command, std::string* output) {
  char out[] = "/tmp/ml_exporter_cmd_out_XXXXXX";
  const int fd = mkstemp(out);
  close(fd);
  const int status = std::system((command + " > " + out + " 2>&1").c_str());
  std::ifstream in(out);
  output->assign(std::istreambuf_iterator<char>(in), {});
  unlink(out);
  return WEXITSTATUS(status);
}

HttpReply HttpGet(const std::string& url) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  return Perform(curl);
}

HttpReply HttpPost(const std::string& url, const std::string& content_type,
                   const std::string& body) {
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  struct curl_slist* headers = nullptr;
  headers =
      curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  HttpReply reply = Perform(curl);
  curl_slist_free_all(headers);
  return reply;
}

HttpReply HttpPostChunked(const std::string& url,
                          const std::string& content_type,
                          const std::string& body, size_t piece) {
  struct Source {
    const std::string* body;
    size_t offset;
    size_t piece;
  } source{&body, 0, piece};
  const auto read = +[](char* out, size_t size, size_t n, void* data) {
    auto* s = static_cast<Source*>(data);
    const size_t count =
        std::min({size * n, s->piece, s->body->size() - s->offset});
    std::memcpy(out, s->body->data() + s->offset, count);
    s->offset += count;
    return count;
  };
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, read);
  curl_easy_setopt(curl, CURLOPT_READDATA, &source);
  struct curl_slist* headers = nullptr;
  headers =
      curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  HttpReply reply = Perform(curl);
  curl_slist_free_all(headers);
  return reply;
}

std::map<std::string, double> ParseExposition(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    const std::string value = line.substr(space + 1);
    double v;
    if (value == "+Inf") {
      v = INFINITY;
    } else if (value == "-Inf") {
      v = -INFINITY;
    } else if (value == "NaN") {
      v = NAN;
    } else {
      v = std::strtod(value.c_str(), nullptr);
    }
    out[line.substr(0, space)] = v;
  }
  return out;
}

ExporterProcess::ExporterProcess(const std::vector<std::string>& args,
                                 bool stdin_pipe) {
  char log_template[] = "/tmp/ml_exporter_e2e_XXXXXX";
  const int log_fd = mkstemp(log_template);
  log_path_ = log_template;
  int pipe_fds[2] = {-1, -1};
  if (stdin_pipe && pipe(pipe_fds) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, STDERR_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    if (stdin_pipe) {
      dup2(pipe_fds[0], STDIN_FILENO);
      close(pipe_fds[1]);
    }
    std::vector<std::string> all = {ML_EXPORTER_BINARY,
                                    "--listen_address=127.0.0.1:0"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  if (stdin_pipe) {
    close(pipe_fds[0]);
    stdin_fd_ = pipe_fds[1];
  }
  const std::regex port_re("port=([0-9]+)");
  for (int i = 0; i < 200 && port_ == 0 && running(); ++i) {
    std::smatch m;
    const std::string text = log();
    if (std::regex_search(text, m, port_re)) {
      port_ = std::atoi(m[1].str().c_str());
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

ExporterProcess::~ExporterProcess() {
  Stop();
  unlink(log_path_.c_str());
}

std::string ExporterProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::string ExporterProcess::log() const {
  std::ifstream in(log_path_);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

void ExporterProcess::WriteStdin(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(stdin_fd_, data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

void ExporterProcess::CloseStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

std::map<std::string, double> ExporterProcess::Scrape() const {
  return ParseExposition(HttpGet(url("/metrics")).body);
}

double ExporterProcess::WaitFor(const std::string& series, double value,
                                int timeout_ms) const {
  double last = NAN;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto metrics = Scrape();
    auto it = metrics.find(series);
    last = it == metrics.end() ? NAN : it->second;
    if (last == value) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return last;
}

void ExporterProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

bool ExporterProcess::running() const {
  if (pid_ <= 0 || exited_) return false;
  if (waitpid(pid_, &exit_status_, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

int ExporterProcess::Stop() {
  CloseStdin();
  if (pid_ <= 0) return -1;
  if (!running()) {
    pid_ = -1;
    return exit_status_;
  }
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (!running()) {
      pid_ = -1;
      return exit_status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

}  // namespace ml_exporter::testing
