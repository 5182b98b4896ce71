#include "mltool/simulate/fault.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ml_exporter::simulate {
namespace {

TEST(ParseFaultTest, KindStartAndDuration) {
  Fault f;
  ASSERT_TRUE(ParseFault("null_outputs@3m+2m", &f).ok());
  EXPECT_EQ(f.kind, FaultKind::kNullOutputs);
  EXPECT_DOUBLE_EQ(f.start_seconds, 180);
  EXPECT_DOUBLE_EQ(f.duration_seconds, 120);
  EXPECT_DOUBLE_EQ(f.end_seconds(), 300);

  ASSERT_TRUE(ParseFault("latency@90", &f).ok());
  EXPECT_EQ(f.kind, FaultKind::kLatency);
  EXPECT_DOUBLE_EQ(f.start_seconds, 90);
  EXPECT_TRUE(std::isinf(f.duration_seconds));

  ASSERT_TRUE(ParseFault("shift@1.5m+30s", &f).ok());
  EXPECT_EQ(f.kind, FaultKind::kShift);
  EXPECT_DOUBLE_EQ(f.start_seconds, 90);
  EXPECT_DOUBLE_EQ(f.duration_seconds, 30);

  ASSERT_TRUE(ParseFault("empty_feature@0+1h", &f).ok());
  EXPECT_DOUBLE_EQ(f.duration_seconds, 3600);
}

TEST(ParseFaultTest, EveryKindByName) {
  for (FaultKind kind : AllFaultKinds()) {
    Fault f;
    const std::string spec = std::string(FaultName(kind)) + "@10";
    ASSERT_TRUE(ParseFault(spec, &f).ok()) << spec;
    EXPECT_EQ(f.kind, kind);
    EXPECT_FALSE(FaultDescription(kind).empty());
  }
  EXPECT_EQ(AllFaultKinds().size(), 7u);
}

TEST(ParseFaultTest, ErrorsSayWhatIsWrong) {
  Fault f;
  Status s = ParseFault("null_outputs", &f);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("KIND@START"), std::string::npos) << s.message();

  s = ParseFault("louder_audio@10", &f);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown kind \"louder_audio\""),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("quieter_audio"), std::string::npos)
      << "lists the kinds: " << s.message();

  s = ParseFault("latency@soon", &f);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("start \"soon\""), std::string::npos)
      << s.message();

  s = ParseFault("latency@10+0", &f);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("duration \"0\""), std::string::npos)
      << s.message();

  EXPECT_FALSE(ParseFault("latency@-5", &f).ok());
  EXPECT_FALSE(ParseFault("latency@10+", &f).ok());
  EXPECT_FALSE(ParseFault("latency@10+2d", &f).ok());
}

TEST(ParseDurationTest, Units) {
  double s = -1;
  EXPECT_TRUE(ParseDurationSeconds("120", &s));
  EXPECT_DOUBLE_EQ(s, 120);
  EXPECT_TRUE(ParseDurationSeconds("2.5s", &s));
  EXPECT_DOUBLE_EQ(s, 2.5);
  EXPECT_TRUE(ParseDurationSeconds("2m", &s));
  EXPECT_DOUBLE_EQ(s, 120);
  EXPECT_TRUE(ParseDurationSeconds("1h", &s));
  EXPECT_DOUBLE_EQ(s, 3600);
  EXPECT_FALSE(ParseDurationSeconds("", &s));
  EXPECT_FALSE(ParseDurationSeconds("m", &s));
  EXPECT_FALSE(ParseDurationSeconds("1x", &s));
  EXPECT_FALSE(ParseDurationSeconds("inf", &s));
}

TEST(FaultScheduleTest, ActiveOnlyInItsSpan) {
  Fault a;
  ASSERT_TRUE(ParseFault("latency@10+5", &a).ok());
  Fault b;
  ASSERT_TRUE(ParseFault("shift@12", &b).ok());
  FaultSchedule schedule({a, b});
  EXPECT_FALSE(schedule.Active(FaultKind::kLatency, 9.99));
  EXPECT_TRUE(schedule.Active(FaultKind::kLatency, 10));
  EXPECT_TRUE(schedule.Active(FaultKind::kLatency, 14.9));
  EXPECT_FALSE(schedule.Active(FaultKind::kLatency, 15));
  EXPECT_FALSE(schedule.Active(FaultKind::kShift, 11));
  EXPECT_TRUE(schedule.Active(FaultKind::kShift, 1e9));
  EXPECT_FALSE(schedule.Active(FaultKind::kNullOutputs, 12));
}

}  // namespace
}  // namespace ml_exporter::simulate
