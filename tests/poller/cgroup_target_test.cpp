#include "poller/cgroup_target.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace entrytrace {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The ids that fixtures/cgroup/make_trees.py writes.
const std::string kDockerV1Id =
    "3eac94badc719411474938b3b43b7fd63de0e2e09969e323bc3dd9be72ccfc6d";
const std::string kDockerV2Id =
    "e2e1c3ec0565153be3f65126cbb4c40457a6e8eb82b5d6bf1e9f9d19db3eecf2";
const std::string kK8sPauseId =
    "b1012de14fa21db45e69ece6263f730c4ce2a48ad28cd9ed4644f2ef7709d74b";
const std::string kK8sAppId =
    "3026feb8a14a953362657c4609ddeb9af9d94c5ac6b04f0b0b5c1bb924e1d38a";
const std::string kK8sPodUid = "5f3c0a2e-8b1d-4c7e-9a6f-2d4b8e1c7a90";
const std::string kCrioAppId =
    "3ab2251e577c464a8e9944e285e038c2051c6845e9302f94817219c5abd10a73";
const std::string kPodmanId =
    "0aa851ae05b59a590a6a486a67dfcd1ae0e40bf3e1baf11cdd2ca9c203a75a8b";
const std::string kHybridDockerId =
    "8dd36e02b23fb47936e38db4119627491dd6740d889d15243c4db031080c769f";
const std::string kHybridK8sId =
    "2fcf769f76ba2d4ebb2278ef13960357a725960c6f7e513568d74e5e7f34450e";
const std::string kHybridPodUid = "c41d9e3a-2f7b-4a86-b5e0-93d8a1f6c72e";
const std::string kSharedFirstId =
    "3f9a1c2b7d4ea58f03721bb6bacf5c78cb235febe0e70b1b84cd99541461a08e";
const std::string kSharedSecondId =
    "3f9a1c2b7d4e4a017c8da8ab95682ccb390863780f7114dda0a0e0c55644c7c4";
const std::string kSpoofedBareId =
    "c059119e6df3f19d1c0d4b400f43a253fe4aee28f0d2e7826eec106d5e02f362";
const std::string kSpoofedScopeId =
    "db5a486a8ebb53b72ed9fe4d2f24777b2c57f41c5f1594f38f128296a2d6336a";

// Any 64-hex id for path tests that need no fixture.
const std::string kId =
    "4a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0";

std::string cgroup_tree(const std::string& layout) {
  return std::string(ENTRYTRACE_FIXTURES) + "/cgroup/" + layout;
}

// mountinfo lines recorded on Debian 12 (v2) and on a hybrid systemd host.
const std::string kMountinfoV2 =
    "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw\n"
    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - "
    "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
const std::string kMountinfoHybrid =
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs "
    "tmpfs ro,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime "
    "shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
    "33 31 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime "
    "shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
    "37 31 0:34 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime "
    "shared:17 - cgroup cgroup rw,cpu,cpuacct\n";

struct ParseCase {
  std::string name;
  std::string text;
  std::vector<CgroupEntry> expected;
};

TEST(ParseProcCgroup, Table) {
  const std::vector<ParseCase> cases = {
      {"v2 only", "0::/init.scope\n", {{0, {}, "/init.scope", false}}},
      {"v2 root", "0::/\n", {{0, {}, "/", false}}},
      {"v1 controllers",
       "9:cpu,cpuacct:/docker/x\n1:name=systemd:/docker/x\n",
       {{9, {"cpu", "cpuacct"}, "/docker/x", false},
        {1, {"name=systemd"}, "/docker/x", false}}},
      {"hybrid",
       "1:name=systemd:/init.scope\n0::/init.scope\n",
       {{1, {"name=systemd"}, "/init.scope", false},
        {0, {}, "/init.scope", false}}},
      {"no final newline", "0::/a", {{0, {}, "/a", false}}},
      {"colon in path", "0::/odd:name", {{0, {}, "/odd:name", false}}},
      {"deleted v2 cgroup", "0::/gone (deleted)\n", {{0, {}, "/gone", true}}},
      {"outside cgroup namespace",
       "0::/../../system.slice/x.scope\n",
       {{0, {}, "/../../system.slice/x.scope", false}}},
      {"empty text", "", {}},
  };
  for (const ParseCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::vector<CgroupEntry>> entries = parse_proc_cgroup(c.text);
    ASSERT_TRUE(entries.ok()) << entries.error().message;
    ASSERT_EQ(entries->size(), c.expected.size());
    for (size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_EQ((*entries)[i].hierarchy_id, c.expected[i].hierarchy_id);
      EXPECT_EQ((*entries)[i].controllers, c.expected[i].controllers);
      EXPECT_EQ((*entries)[i].path, c.expected[i].path);
      EXPECT_EQ((*entries)[i].deleted, c.expected[i].deleted);
    }
  }
}

TEST(ParseProcCgroup, InvalidLinesNameTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"one colon", "0:/init.scope\n"},
      {"no colon", "garbage\n"},
      {"id not a number", "x::/init.scope\n"},
      {"relative path", "0::init.scope\n"},
  };
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(name);
    Result<std::vector<CgroupEntry>> entries =
        parse_proc_cgroup("1:name=systemd:/\n" + text);
    ASSERT_FALSE(entries.ok());
    EXPECT_THAT(entries.error().message, HasSubstr("line 2"));
  }
}

TEST(ParseProcCgroup, DeletedOnlyStrippedOnV2) {
  Result<std::vector<CgroupEntry>> entries =
      parse_proc_cgroup("4:memory:/a (deleted)\n");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ((*entries)[0].path, "/a (deleted)");
  EXPECT_FALSE((*entries)[0].deleted);
}

struct PathCase {
  std::string name;
  std::string path;
  std::string id;  // Empty: no container.
  ContainerRuntime runtime;
  std::string pod_uid;
};

TEST(FindContainerInCgroupPath, Layouts) {
  const std::string k8s_slice =
      "/kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod5f3c0a2e_8b1d_4c7e_9a6f_2d4b8e1c7a90.slice/";
  const std::string user = "/user.slice/user-1000.slice/user@1000.service/";
  const std::vector<PathCase> cases = {
      {"docker cgroupfs", "/docker/" + kId, kId, ContainerRuntime::kDocker, ""},
      {"docker systemd", "/system.slice/docker-" + kId + ".scope", kId,
       ContainerRuntime::kDocker, ""},
      {"kubernetes cgroupfs",
       "/kubepods/burstable/pod5f3c0a2e-8b1d-4c7e-9a6f-2d4b8e1c7a90/" + kId,
       kId, ContainerRuntime::kUnknown, kK8sPodUid},
      {"kubernetes besteffort cgroupfs",
       "/kubepods/besteffort/pod5f3c0a2e-8b1d-4c7e-9a6f-2d4b8e1c7a90/" + kId,
       kId, ContainerRuntime::kUnknown, kK8sPodUid},
      {"containerd systemd", k8s_slice + "cri-containerd-" + kId + ".scope",
       kId, ContainerRuntime::kContainerd, kK8sPodUid},
      {"cri-o systemd", k8s_slice + "crio-" + kId + ".scope", kId,
       ContainerRuntime::kCrio, kK8sPodUid},
      {"cri-o cgroupfs",
       "/kubepods/pod5f3c0a2e-8b1d-4c7e-9a6f-2d4b8e1c7a90/crio-" + kId, kId,
       ContainerRuntime::kCrio, kK8sPodUid},
      {"cri-o conmon", k8s_slice + "crio-conmon-" + kId + ".scope", "",
       ContainerRuntime::kUnknown, ""},
      {"podman root", "/machine.slice/libpod-" + kId + ".scope", kId,
       ContainerRuntime::kPodman, ""},
      {"podman conmon", "/machine.slice/libpod-conmon-" + kId + ".scope", "",
       ContainerRuntime::kUnknown, ""},
      {"podman rootless", user + "user.slice/libpod-" + kId + ".scope", kId,
       ContainerRuntime::kPodman, ""},
      {"podman child cgroup",
       user + "user.slice/libpod-" + kId + ".scope/container", kId,
       ContainerRuntime::kPodman, ""},
      {"podman cgroupfs", "/libpod_parent/libpod-" + kId, kId,
       ContainerRuntime::kPodman, ""},
      {"unknown runtime scope", "/system.slice/nerdctl-" + kId + ".scope", kId,
       ContainerRuntime::kUnknown, ""},
      {"outside cgroup namespace",
       "/../../system.slice/docker-" + kId + ".scope", kId,
       ContainerRuntime::kDocker, ""},
      {"docker daemon", "/system.slice/docker.service", "",
       ContainerRuntime::kUnknown, ""},
      {"host init", "/init.scope", "", ContainerRuntime::kUnknown, ""},
      {"root", "/", "", ContainerRuntime::kUnknown, ""},
      {"id too short", "/docker/" + kId.substr(1), "",
       ContainerRuntime::kUnknown, ""},
      {"uppercase id", "/docker/4A1B" + kId.substr(4), "",
       ContainerRuntime::kUnknown, ""},
      {"bare id in a user's subtree", user + kId, "",
       ContainerRuntime::kUnknown, ""},
      {"bare id at the root", "/" + kId, "", ContainerRuntime::kUnknown, ""},
      {"bare id below a service", "/system.slice/foo.service/" + kId, "",
       ContainerRuntime::kUnknown, ""},
      {"bare id scope in a user's subtree", user + kId + ".scope", "",
       ContainerRuntime::kUnknown, ""},
  };
  for (const PathCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::optional<ContainerRef> container =
        find_container_in_cgroup_path(c.path);
    if (c.id.empty()) {
      EXPECT_FALSE(container.has_value());
      continue;
    }
    ASSERT_TRUE(container.has_value());
    EXPECT_EQ(container->id, c.id);
    EXPECT_EQ(runtime_name(container->runtime), runtime_name(c.runtime));
    EXPECT_EQ(container->pod_uid, c.pod_uid);
  }
}

TEST(FindContainerInCgroupPath, InnermostContainerWins) {
  std::string outer(64, 'a');
  std::optional<ContainerRef> container =
      find_container_in_cgroup_path("/docker/" + outer + "/docker/" + kId);
  ASSERT_TRUE(container.has_value());
  EXPECT_EQ(container->id, kId);
}

TEST(FindContainerInCgroupPath, BareIdBelowContainerIsNotInnermost) {
  std::string outer(64, 'a');
  std::optional<ContainerRef> container = find_container_in_cgroup_path(
      "/system.slice/docker-" + outer + ".scope/" + kId);
  ASSERT_TRUE(container.has_value());
  EXPECT_EQ(container->id, outer);
}

TEST(FindContainerInCgroupPath, CgroupEndsAtIdComponent) {
  std::optional<ContainerRef> container = find_container_in_cgroup_path(
      "/system.slice/docker-" + kId + ".scope/worker/inner");
  ASSERT_TRUE(container.has_value());
  EXPECT_EQ(container->cgroup, "/system.slice/docker-" + kId + ".scope");
  std::optional<ContainerRef> outside =
      find_container_in_cgroup_path("/../../docker/" + kId);
  ASSERT_TRUE(outside.has_value());
  EXPECT_EQ(outside->cgroup, "/../../docker/" + kId);
}

TEST(FindContainers, V1HierarchiesGiveOneContainer) {
  Result<std::vector<CgroupEntry>> entries =
      parse_proc_cgroup("9:cpu,cpuacct:/docker/" + kId + "\n7:memory:/docker/" +
                        kId + "\n1:name=systemd:/docker/" + kId + "\n");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  std::vector<ContainerRef> containers = find_containers(*entries);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].id, kId);
}

TEST(FindContainers, HybridV1LineNamesContainerWhenV2DoesNot) {
  Result<std::vector<CgroupEntry>> entries = parse_proc_cgroup(
      "4:memory:/docker/" + kId + "\n0::/system.slice/containerd.service\n");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  std::vector<ContainerRef> containers = find_containers(*entries);
  ASSERT_EQ(containers.size(), 1u);
  EXPECT_EQ(containers[0].id, kId);
}

TEST(NormalizeContainerId, AcceptedForms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"3eac", "3eac"},
      {"3EAC94BA", "3eac94ba"},
      {"containerd://" + kId, kId},
      {"cri-o://3eac94", "3eac94"},
      {"docker://3eac94", "3eac94"},
      {" 3eac94\n", "3eac94"},
  };
  for (const auto& [input, expected] : cases) {
    SCOPED_TRACE(input);
    Result<std::string> id = normalize_container_id(input);
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(*id, expected);
  }
}

TEST(NormalizeContainerId, RejectsNonHex) {
  Result<std::string> id = normalize_container_id("web-1");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.error().message, HasSubstr("\"web-1\""));
  EXPECT_THAT(id.error().message, HasSubstr("'w' is not a hexadecimal digit"));
}

TEST(NormalizeContainerId, RejectsShortPrefix) {
  Result<std::string> id = normalize_container_id("3ea");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.error().message, HasSubstr("at least 4"));
}

TEST(NormalizeContainerId, RejectsEmpty) {
  Result<std::string> id = normalize_container_id("");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.error().message, HasSubstr("at least 4"));
}

TEST(NormalizeContainerId, RejectsTooLong) {
  Result<std::string> id = normalize_container_id(kId + "0");
  ASSERT_FALSE(id.ok());
  EXPECT_THAT(id.error().message, HasSubstr("at most 64"));
}

struct LayoutCase {
  std::string layout;
  std::string id;
  std::vector<int32_t> pids;
  ContainerRuntime runtime;
  std::string pod_uid;
};

TEST(FindContainerProcesses, EachLayoutByFullId) {
  const std::vector<LayoutCase> cases = {
      {"docker-v1", kDockerV1Id, {2120, 2150}, ContainerRuntime::kDocker, ""},
      {"docker-v2",
       kDockerV2Id,
       {3000, 3010, 3050},
       ContainerRuntime::kDocker,
       ""},
      {"containerd-k8s-v2",
       kK8sAppId,
       {4050, 4060},
       ContainerRuntime::kContainerd,
       kK8sPodUid},
      {"containerd-k8s-v2",
       kK8sPauseId,
       {4010},
       ContainerRuntime::kContainerd,
       kK8sPodUid},
      {"crio-v1",
       kCrioAppId,
       {5010, 5020},
       ContainerRuntime::kCrio,
       "0b7e4d21-6c3a-4f58-8e92-1a5d7c3b9f04"},
      {"podman-v2-rootless",
       kPodmanId,
       {6010, 6020},
       ContainerRuntime::kPodman,
       ""},
      {"hybrid", kHybridDockerId, {7000, 7010}, ContainerRuntime::kDocker, ""},
      {"hybrid",
       kHybridK8sId,
       {7100},
       ContainerRuntime::kUnknown,
       kHybridPodUid},
  };
  for (const LayoutCase& c : cases) {
    SCOPED_TRACE(c.layout + " " + c.id);
    Result<ContainerProcesses> found =
        find_container_processes(cgroup_tree(c.layout), c.id);
    ASSERT_TRUE(found.ok()) << found.error().message;
    EXPECT_EQ(found->container.id, c.id);
    EXPECT_EQ(found->pids, c.pids);
    EXPECT_EQ(runtime_name(found->container.runtime), runtime_name(c.runtime));
    EXPECT_EQ(found->container.pod_uid, c.pod_uid);
  }
}

TEST(PidsInContainer, UniquePrefix) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("docker-v1"), "3eac94ba");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(2120, 2150));
}

TEST(PidsInContainer, KubernetesContainerIdForm) {
  Result<std::vector<int32_t>> pids = pids_in_container(
      cgroup_tree("containerd-k8s-v2"), "containerd://" + kK8sAppId);
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(4050, 4060));
}

TEST(PidsInContainer, PrefixLongerThanCommonPartIsUnique) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("shared-prefix"), "3f9a1c2b7d4ea5");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(8000, 8001));
}

TEST(PidsInContainer, AmbiguousPrefixListsBothIds) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("shared-prefix"), "3f9a1c2b7d4e");
  ASSERT_FALSE(pids.ok());
  const std::string& message = pids.error().message;
  EXPECT_THAT(message, HasSubstr("\"3f9a1c2b7d4e\" matches 2 containers"));
  // Sorted: 3f9a1c2b7d4e4a... before 3f9a1c2b7d4ea5...
  EXPECT_THAT(message, HasSubstr(kSharedSecondId + ", " + kSharedFirstId));
  EXPECT_THAT(message, HasSubstr("give more digits"));
}

TEST(PidsInContainer, UnknownIdNamesIt) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("docker-v2"), "deadbeef");
  ASSERT_FALSE(pids.ok());
  EXPECT_THAT(pids.error().message, HasSubstr("\"deadbeef\""));
  EXPECT_THAT(pids.error().message, HasSubstr("docker ps --no-trunc"));
}

TEST(PidsInContainer, UnknownFullIdNamesIt) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("docker-v2"), kId);
  ASSERT_FALSE(pids.ok());
  EXPECT_THAT(pids.error().message, HasSubstr("whose id is " + kId));
}

TEST(PidsInContainer, ConmonIsNotTheContainer) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("podman-v2-rootless"), kPodmanId);
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, Not(::testing::Contains(6000)));
  Result<std::vector<int32_t>> crio =
      pids_in_container(cgroup_tree("crio-v1"), kCrioAppId);
  ASSERT_TRUE(crio.ok()) << crio.error().message;
  EXPECT_THAT(*crio, Not(::testing::Contains(5000)));
}

TEST(PidsInContainer, BareIdInUserSubtreeIsLeftOut) {
  // spoofed-id: 9100 is a user's process in
  // user@1000.service/<kSpoofedBareId>, outside the container.
  Result<ContainerProcesses> found =
      find_container_processes(cgroup_tree("spoofed-id"), kSpoofedBareId);
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_THAT(found->pids, ElementsAre(9000, 9010));
  EXPECT_EQ(found->container.cgroup,
            "/system.slice/docker-" + kSpoofedBareId + ".scope");
}

TEST(PidsInContainer, IdInUnrelatedCgroupsListsThem) {
  // spoofed-id: 9300 is a user's process in
  // user@1000.service/docker-<kSpoofedScopeId>.scope.
  Result<ContainerProcesses> found = find_container_processes(
      cgroup_tree("spoofed-id"), kSpoofedScopeId.substr(0, 12));
  ASSERT_FALSE(found.ok());
  const std::string& message = found.error().message;
  EXPECT_THAT(message, HasSubstr(kSpoofedScopeId + " names 2 unrelated"));
  EXPECT_THAT(message, HasSubstr("/system.slice/docker-" + kSpoofedScopeId +
                                 ".scope (pid 9200)"));
  EXPECT_THAT(message,
              HasSubstr("/user.slice/user-1000.slice/user@1000.service/"
                        "docker-" +
                        kSpoofedScopeId + ".scope (pid 9300)"));
  EXPECT_THAT(message, HasSubstr("--cgroup PATH"));
}

TEST(PidsInContainer, ChildCgroupsAreNotUnrelated) {
  // docker-v2: 3050 is in <scope>/worker, podman-v2-rootless: 6020 in
  // <scope>/container.
  Result<ContainerProcesses> docker =
      find_container_processes(cgroup_tree("docker-v2"), kDockerV2Id);
  ASSERT_TRUE(docker.ok()) << docker.error().message;
  EXPECT_THAT(docker->pids, ElementsAre(3000, 3010, 3050));
  Result<ContainerProcesses> podman =
      find_container_processes(cgroup_tree("podman-v2-rootless"), kPodmanId);
  ASSERT_TRUE(podman.ok()) << podman.error().message;
  EXPECT_THAT(podman->pids, ElementsAre(6010, 6020));
}

TEST(PidsInContainer, NonHexInputIsRejected) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("docker-v2"), "nginx");
  ASSERT_FALSE(pids.ok());
  EXPECT_THAT(pids.error().message, HasSubstr("invalid container id"));
}

TEST(PidsInContainer, MissingProcRootIsAnError) {
  Result<std::vector<int32_t>> pids =
      pids_in_container(cgroup_tree("no-such-layout"), "3eac");
  ASSERT_FALSE(pids.ok());
  EXPECT_THAT(pids.error().message, HasSubstr("no-such-layout"));
}

TEST(ParseCgroupMounts, HybridHost) {
  std::vector<CgroupMount> mounts = parse_cgroup_mounts(kMountinfoHybrid);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/unified");
  EXPECT_TRUE(mounts[0].unified);
  EXPECT_EQ(mounts[1].mount_point, "/sys/fs/cgroup/systemd");
  EXPECT_FALSE(mounts[1].unified);
  EXPECT_THAT(mounts[1].options, ElementsAre("rw", "xattr", "name=systemd"));
  EXPECT_EQ(mounts[2].root, "/");
}

TEST(ParseCgroupMounts, EscapedPathsAndSubtreeRoot) {
  std::vector<CgroupMount> mounts = parse_cgroup_mounts(
      "40 30 0:30 /docker/abc /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 "
      "rw\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/my cgroup");
  EXPECT_EQ(mounts[0].root, "/docker/abc");
}

struct ResolveCase {
  std::string name;
  std::string path;
  std::string mountinfo;
  std::vector<std::pair<CgroupQuery::Hierarchy, std::string>> expected;
};

TEST(ResolveCgroupPath, Table) {
  using Hierarchy = CgroupQuery::Hierarchy;
  const std::vector<ResolveCase> cases = {
      {"relative to cgroup root",
       "/system.slice/x.scope",
       "",
       {{Hierarchy::kAny, "/system.slice/x.scope"}}},
      {"extra slashes and trailing slash",
       "//system.slice/./x.scope/",
       "",
       {{Hierarchy::kAny, "/system.slice/x.scope"}}},
      {"v2 mount",
       "/sys/fs/cgroup/system.slice/x.scope",
       kMountinfoV2,
       {{Hierarchy::kUnified, "/system.slice/x.scope"}}},
      {"v2 mount point itself",
       "/sys/fs/cgroup",
       kMountinfoV2,
       {{Hierarchy::kUnified, "/"}}},
      {"hybrid unified mount",
       "/sys/fs/cgroup/unified/system.slice/x.scope",
       kMountinfoHybrid,
       {{Hierarchy::kUnified, "/system.slice/x.scope"}}},
      {"hybrid v1 mount",
       "/sys/fs/cgroup/cpu,cpuacct/docker/x",
       kMountinfoHybrid,
       {{Hierarchy::kControllers, "/docker/x"}}},
      {"no mount listed",
       "/sys/fs/cgroup/memory/docker/x",
       "",
       {{Hierarchy::kUnified, "/memory/docker/x"},
        {Hierarchy::kControllers, "/docker/x"}}},
      {"subtree mounted",
       "/sys/fs/cgroup/child",
       "40 30 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
       {{Hierarchy::kUnified, "/docker/abc/child"}}},
  };
  for (const ResolveCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<std::vector<CgroupQuery>> queries =
        resolve_cgroup_path(c.path, c.mountinfo);
    ASSERT_TRUE(queries.ok()) << queries.error().message;
    ASSERT_EQ(queries->size(), c.expected.size());
    for (size_t i = 0; i < c.expected.size(); ++i) {
      EXPECT_EQ((*queries)[i].hierarchy, c.expected[i].first);
      EXPECT_EQ((*queries)[i].path, c.expected[i].second);
    }
  }
}

TEST(ResolveCgroupPath, RejectsRelativePath) {
  Result<std::vector<CgroupQuery>> queries =
      resolve_cgroup_path("system.slice", "");
  ASSERT_FALSE(queries.ok());
  EXPECT_THAT(queries.error().message, HasSubstr("\"system.slice\""));
  EXPECT_THAT(queries.error().message, HasSubstr("absolute path"));
}

TEST(ResolveCgroupPath, RejectsDotDot) {
  Result<std::vector<CgroupQuery>> queries =
      resolve_cgroup_path("/system.slice/../etc", "");
  ASSERT_FALSE(queries.ok());
  EXPECT_THAT(queries.error().message, HasSubstr("\"..\""));
}

TEST(CgroupMatches, PrefixMustEndAtComponent) {
  Result<std::vector<CgroupEntry>> entries =
      parse_proc_cgroup("0::/system.slice/docker-abc.scope\n");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  CgroupQuery query{CgroupQuery::Hierarchy::kAny, {}, "/system.slice/docker"};
  EXPECT_FALSE(cgroup_matches(*entries, query));
  query.path = "/system.slice";
  EXPECT_TRUE(cgroup_matches(*entries, query));
}

TEST(CgroupMatches, ControllersSelectHierarchy) {
  Result<std::vector<CgroupEntry>> entries =
      parse_proc_cgroup("9:cpu,cpuacct:/docker/x\n7:memory:/\n");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  CgroupQuery cpu{
      CgroupQuery::Hierarchy::kControllers, {"rw", "cpu"}, "/docker/x"};
  EXPECT_TRUE(cgroup_matches(*entries, cpu));
  CgroupQuery memory{
      CgroupQuery::Hierarchy::kControllers, {"rw", "memory"}, "/docker/x"};
  EXPECT_FALSE(cgroup_matches(*entries, memory));
}

TEST(PidsInCgroup, ExactScope) {
  Result<std::vector<int32_t>> pids =
      pids_in_cgroup(cgroup_tree("docker-v2"),
                     "/system.slice/docker-" + kDockerV2Id + ".scope", "");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  // 3050 is in a child cgroup of the scope.
  EXPECT_THAT(*pids, ElementsAre(3000, 3010, 3050));
}

TEST(PidsInCgroup, ChildCgroupOnly) {
  Result<std::vector<int32_t>> pids = pids_in_cgroup(
      cgroup_tree("docker-v2"),
      "/system.slice/docker-" + kDockerV2Id + ".scope/worker", "");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(3050));
}

TEST(PidsInCgroup, SysFsCgroupPrefixOnV2) {
  Result<std::vector<int32_t>> pids = pids_in_cgroup(
      cgroup_tree("containerd-k8s-v2"),
      "/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice", kMountinfoV2);
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(4010, 4050, 4060));
}

TEST(PidsInCgroup, SysFsCgroupPrefixOnV1WithoutMountinfo) {
  Result<std::vector<int32_t>> pids =
      pids_in_cgroup(cgroup_tree("docker-v1"),
                     "/sys/fs/cgroup/memory/docker/" + kDockerV1Id, "");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(2120, 2150));
}

TEST(PidsInCgroup, NamedHierarchyDirectory) {
  Result<std::vector<int32_t>> pids = pids_in_cgroup(
      cgroup_tree("hybrid"), "/sys/fs/cgroup/systemd/kubepods", "");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(7100));
}

TEST(PidsInCgroup, HybridUnifiedMount) {
  Result<std::vector<int32_t>> pids =
      pids_in_cgroup(cgroup_tree("hybrid"),
                     "/sys/fs/cgroup/unified/system.slice/docker-" +
                         kHybridDockerId + ".scope",
                     kMountinfoHybrid);
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  EXPECT_THAT(*pids, ElementsAre(7000, 7010));
}

TEST(PidsInCgroup, PodSliceHoldsEveryContainer) {
  Result<std::vector<int32_t>> pids = pids_in_cgroup(
      cgroup_tree("crio-v1"),
      "/kubepods.slice/kubepods-besteffort.slice/"
      "kubepods-besteffort-pod0b7e4d21_6c3a_4f58_8e92_1a5d7c3b9f04.slice",
      "");
  ASSERT_TRUE(pids.ok()) << pids.error().message;
  // conmon (5000) is in the pod slice too, in its own scope.
  EXPECT_THAT(*pids, ElementsAre(5000, 5010, 5020));
}

TEST(PidsInCgroup, NothingMatchesIsAnError) {
  Result<std::vector<int32_t>> pids =
      pids_in_cgroup(cgroup_tree("docker-v2"), "/machine.slice", "");
  ASSERT_FALSE(pids.ok());
  EXPECT_THAT(pids.error().message, HasSubstr("\"/machine.slice\""));
}

TEST(PickRepresentative, ContainerInitWins) {
  // docker-v2: 3000 is pid 1 of the container, 3010 pid 5, 3050 pid 9.
  Result<Representative> chosen =
      pick_representative(cgroup_tree("docker-v2"), {3050, 3010, 3000});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(chosen->host_pid, 3000);
  EXPECT_EQ(chosen->ns_pid, 1);
  EXPECT_EQ(chosen->ns_depth, 1);
  EXPECT_EQ(chosen->start_ticks, 50010u);
}

TEST(PickRepresentative, ShallowerNamespaceWins) {
  // 1 is in the initial namespace; 3000 is pid 1 one level down.
  Result<Representative> chosen =
      pick_representative(cgroup_tree("docker-v2"), {3000, 1});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(chosen->host_pid, 1);
  EXPECT_EQ(chosen->ns_depth, 0);
}

TEST(PickRepresentative, EarlierStartBreaksTie) {
  // containerd-k8s-v2: pause (4010) and the app (4050) are both pid 1 of
  // their own namespaces; pause started first.
  Result<Representative> chosen =
      pick_representative(cgroup_tree("containerd-k8s-v2"), {4050, 4010});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(chosen->host_pid, 4010);
}

TEST(PickRepresentative, VanishedPidsAreSkipped) {
  Result<Representative> chosen =
      pick_representative(cgroup_tree("docker-v2"), {99999, 3010});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(chosen->host_pid, 3010);
}

TEST(PickRepresentative, NoneReadableIsAnError) {
  Result<Representative> chosen =
      pick_representative(cgroup_tree("docker-v2"), {99998, 99999});
  ASSERT_FALSE(chosen.ok());
  EXPECT_THAT(chosen.error().message, HasSubstr("99998, 99999"));
}

TEST(PickRepresentative, EmptyListIsAnError) {
  Result<Representative> chosen =
      pick_representative(cgroup_tree("docker-v2"), {});
  ASSERT_FALSE(chosen.ok());
  EXPECT_THAT(chosen.error().message, HasSubstr("empty"));
}

}  // namespace
}  // namespace entrytrace
