// `mltool simulate` as a user runs it: usage errors and exit codes, NDJSON
// on stdout, the same lines for the same seed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// Runs mltool with `args` (shell words), stderr folded into the output
// unless `stdout_only`.
Result Mltool(const std::string& args, bool stdout_only = false) {
  const std::string cmd = std::string(MLTOOL_BINARY) + " " + args +
                          (stdout_only ? " 2>/dev/null" : " 2>&1");
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(SimulateCommandTest, HelpListsScenariosAndFaults) {
  const Result r = Mltool("simulate --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word :
       {"speech_recognizer", "visual_inspection", "structured_data",
        "web_search", "pipeline", "empty_feature", "quieter_audio",
        "darker_images", "null_outputs", "repeat_queries", "latency", "shift",
        "KIND@START[+DURATION]"}) {
    EXPECT_NE(r.out.find(word), std::string::npos) << word;
  }
}

TEST(SimulateCommandTest, UsageErrorsExitTwoWithAMessage) {
  struct Case {
    const char* args;
    const char* message;
  };
  for (const Case& c : {
           Case{"simulate --count 5", "give --url URL"},
           Case{"simulate --output - --url http://127.0.0.1:1", "not both"},
           Case{"simulate --output - --rate 0", "--rate \"0\""},
           Case{"simulate --output - --rate fast", "--rate \"fast\""},
           Case{"simulate --output - --scenario speech", "unknown scenario"},
           Case{"simulate --output - --fault null_outputs", "KIND@START"},
           Case{"simulate --output - --fault louder@3", "unknown kind"},
           Case{"simulate --output - --scenario structured_data --fault "
                "darker_images@5",
                "changes none of the scenarios"},
           Case{"simulate --output - --duration -3", "--duration"},
           Case{"simulate --output - --bogus 1", "unknown flag --bogus"},
           Case{"simulate --output - --url", "--url needs a value"},
           Case{"simulate --url ftp://x --count 1", "expected http://"},
       }) {
    const Result r = Mltool(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.message), std::string::npos) << c.args << " said:\n"
                                                        << r.out;
  }
}

TEST(SimulateCommandTest, SameSeedSameOutput) {
  const std::string args =
      "simulate --output - --fast --count 200 --seed 5 --start_time "
      "1800000000 --fault latency@1+1";
  const Result a = Mltool(args, true);
  const Result b = Mltool(args, true);
  const Result c = Mltool(
      "simulate --output - --fast --count 200 --seed 6 --start_time "
      "1800000000 --fault latency@1+1",
      true);
  ASSERT_EQ(a.exit_code, 0) << a.out;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.out, c.out);
  size_t lines = 0;
  for (char ch : a.out) lines += ch == '\n';
  EXPECT_GT(lines, 200u);
}

TEST(SimulateCommandTest, DurationBoundsSimulatedTime) {
  // 2 simulated seconds at 100 requests/s, as fast as possible.
  const Result r = Mltool(
      "simulate --output - --fast --duration 2 --rate 100 --scenario "
      "structured_data");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("200 requests"), std::string::npos) << r.out;
}

TEST(SimulateCommandTest, UnreachableExporterExitsOne) {
  // Port 1 on 127.0.0.1: connection refused.
  const Result r =
      Mltool("simulate --url http://127.0.0.1:1 --fast --count 20 --batch 10");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("failed POSTs"), std::string::npos) << r.out;
}

}  // namespace
