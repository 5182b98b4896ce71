// The flags of an mltool subcommand: `--name VALUE` or `--name=VALUE`, each
// from the command's list, and -h / --help.
//
//   CommandFlags flags(args, {"--config", "--output"}, {{"-o", "--output"}});
//   while (flags.Next()) {
//     if (flags.flag() == "--config") config = flags.value();
//     ...
//   }
//   if (flags.help()) { std::fputs(kUsage, stdout); return 0; }
//   if (!flags.error().empty()) return UsageError(flags.error());
#ifndef ML_EXPORTER_MLTOOL_COMMAND_FLAGS_H_
#define ML_EXPORTER_MLTOOL_COMMAND_FLAGS_H_

#include <map>
#include <string>
#include <vector>

namespace ml_exporter::mltool {

class CommandFlags {
 public:
  // `known`: the accepted flags, with their leading dashes; `aliases` maps
  // short forms to one of them.
  CommandFlags(const std::vector<std::string>& args,
               std::vector<std::string> known,
               std::map<std::string, std::string> aliases = {});

  // Moves to the next flag and its value. False at the end, at -h/--help
  // (help() is then true) and on an error (error() then says what: an
  // unknown argument, or a flag without its value).
  bool Next();

  const std::string& flag() const { return flag_; }
  const std::string& value() const { return value_; }
  bool help() const { return help_; }
  const std::string& error() const { return error_; }

 private:
  const std::vector<std::string>& args_;
  const std::vector<std::string> known_;
  const std::map<std::string, std::string> aliases_;
  size_t next_ = 0;
  std::string flag_, value_, error_;
  bool help_ = false;
};

}  // namespace ml_exporter::mltool

#endif  // ML_EXPORTER_MLTOOL_COMMAND_FLAGS_H_
