// FUZZ_CHECK: the fuzz targets' assertion. Says which property failed, then
// aborts, which libFuzzer and the replay tests report as a crash.
#ifndef ML_EXPORTER_TESTS_FUZZ_FUZZ_CHECK_H_
#define ML_EXPORTER_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition)                                          \
  do {                                                                 \
    if (!(condition)) {                                                \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #condition);                              \
      std::abort();                                                    \
    }                                                                  \
  } while (false)

#endif  // ML_EXPORTER_TESTS_FUZZ_FUZZ_CHECK_H_
