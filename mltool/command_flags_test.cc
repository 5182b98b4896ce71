#include "mltool/command_flags.h"

#include <gtest/gtest.h>

namespace ml_exporter::mltool {
namespace {

std::vector<std::pair<std::string, std::string>> All(CommandFlags& flags) {
  std::vector<std::pair<std::string, std::string>> out;
  while (flags.Next()) out.emplace_back(flags.flag(), flags.value());
  return out;
}

TEST(CommandFlagsTest, SeparateAndJoinedValuesAndAliases) {
  const std::vector<std::string> args = {"--config", "a.yaml",  "--job=x=y",
                                         "-o",       "out.yml", "--job="};
  CommandFlags flags(args, {"--config", "--job", "--output"},
                     {{"-o", "--output"}});
  EXPECT_EQ(All(flags), (std::vector<std::pair<std::string, std::string>>{
                            {"--config", "a.yaml"},
                            {"--job", "x=y"},
                            {"--output", "out.yml"},
                            {"--job", ""}}));
  EXPECT_FALSE(flags.help());
  EXPECT_EQ(flags.error(), "");
}

TEST(CommandFlagsTest, HelpStopsAndErrorsSayWhat) {
  const std::vector<std::string> help = {"--config", "a", "-h", "--bogus"};
  CommandFlags h(help, {"--config"});
  EXPECT_EQ(All(h).size(), 1u);
  EXPECT_TRUE(h.help());
  EXPECT_EQ(h.error(), "");

  const std::vector<std::string> unknown = {"--confg", "a"};
  CommandFlags u(unknown, {"--config"});
  EXPECT_TRUE(All(u).empty());
  EXPECT_EQ(u.error(), "unknown argument \"--confg\"");

  const std::vector<std::string> missing = {"--config"};
  CommandFlags m(missing, {"--config"});
  EXPECT_TRUE(All(m).empty());
  EXPECT_EQ(m.error(), "--config needs a value");
  EXPECT_FALSE(m.Next());  // stays stopped
}

}  // namespace
}  // namespace ml_exporter::mltool
