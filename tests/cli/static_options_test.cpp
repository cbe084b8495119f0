#include <gtest/gtest.h>

#include <vector>

#include "cli/options.h"

namespace entrytrace {
namespace {

ParsedOptions parse(std::vector<const char*> args) {
  args.insert(args.begin(), "entrytrace");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(StaticOptions, StaticTakesImageAndArguments) {
  auto parsed = parse({"static", "--image-config", "c.json", "--rootfs", "r",
                       "--entrypoint", "[\"/bin/sh\"]", "--", "-c", "x"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->command, Command::kStatic);
  EXPECT_EQ(parsed.options->image_config, "c.json");
  EXPECT_EQ(parsed.options->rootfs, "r");
  EXPECT_EQ(parsed.options->entrypoint, "[\"/bin/sh\"]");
  EXPECT_EQ(parsed.options->image_args, (std::vector<std::string>{"-c", "x"}));
}

TEST(StaticOptions, EmptyEntrypointIsKept) {
  auto parsed = parse({"static", "--image-config", "c.json", "--rootfs", "r",
                       "--entrypoint", ""});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->entrypoint, "");
}

TEST(StaticOptions, StaticNeedsConfigAndRootfs) {
  EXPECT_EQ(parse({"static"}).exit_status, 2);
  EXPECT_EQ(parse({"static", "--image-config", "c.json"}).exit_status, 2);
  EXPECT_EQ(parse({"static", "--rootfs", "r"}).exit_status, 2);
  EXPECT_EQ(
      parse({"static", "--image-config", "", "--rootfs", "r"}).exit_status, 2);
}

TEST(StaticOptions, StaticHasNoCaptureOptions) {
  EXPECT_EQ(parse({"static", "--image-config", "c", "--rootfs", "r", "--window",
                   "1s"})
                .exit_status,
            2);
}

TEST(StaticOptions, RunTakesImageOptions) {
  auto parsed = parse({"run", "--image-config", "c.json", "--rootfs", "r", "--",
                       "/entry.sh", "server"});
  ASSERT_TRUE(parsed.options);
  EXPECT_EQ(parsed.options->image_config, "c.json");
  EXPECT_EQ(parsed.options->command_argv,
            (std::vector<std::string>{"/entry.sh", "server"}));
  EXPECT_TRUE(parsed.options->image_args.empty());
  // run's command is given after "--", so it has no --entrypoint, and its
  // static side needs the files.
  EXPECT_EQ(parse({"run", "--image-config", "c", "--rootfs", "r",
                   "--entrypoint", "x", "--", "sh"})
                .exit_status,
            2);
  EXPECT_EQ(parse({"run", "--image-config", "c", "--", "sh"}).exit_status, 2);
}

TEST(StaticOptions, ObserveRootfsIsOptional) {
  auto parsed = parse({"observe", "--pid", "42", "--image-config", "c.json",
                       "--", "--maxmemory", "1mb"});
  ASSERT_TRUE(parsed.options);
  EXPECT_TRUE(parsed.options->rootfs.empty());
  EXPECT_EQ(parsed.options->image_args,
            (std::vector<std::string>{"--maxmemory", "1mb"}));
}

TEST(StaticOptions, ImageOptionsNeedConfig) {
  EXPECT_EQ(parse({"observe", "--rootfs", "r"}).exit_status, 2);
  EXPECT_EQ(parse({"observe", "--entrypoint", "sh"}).exit_status, 2);
  EXPECT_EQ(parse({"observe", "--", "x"}).exit_status, 2);
}

TEST(StaticOptions, HelpListsImageOptions) {
  EXPECT_EQ(parse({"static", "--help"}).exit_status, 0);
  EXPECT_FALSE(parse({"static", "--help"}).options);
}

}  // namespace
}  // namespace entrytrace
