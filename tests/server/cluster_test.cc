// Several `snakecage serve` nodes behind nginx, configured by the example
// the README shows (examples/nginx/snakecage.conf, with this test's ports):
// 50 sessions made, written to and run in through nginx each live on
// exactly one node; with one node stopped, its sessions get an error that
// names the cause and every other session keeps working, its files whole.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "session/session_test_util.h"
#include "snakecage/session.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr int kNodes = 3;
constexpr int kSessions = 50;

// A loopback port nothing listens on now.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// The example configuration with `lines` between `begin` and `end`.
std::string ReplaceBlock(const std::string& text, const std::string& begin,
                         const std::string& end, const std::string& lines) {
  const size_t b = text.find(begin);
  const size_t e = text.find(end);
  if (b == std::string::npos || e == std::string::npos) return "";
  const size_t after_begin = text.find('\n', b) + 1;
  const size_t end_line = text.rfind('\n', e) + 1;
  return text.substr(0, after_begin) + lines + text.substr(end_line);
}

class ClusterTest : public ::testing::Test {
 protected:
  ~ClusterTest() override {
    for (pid_t pid : pids_) {
      if (pid <= 0) continue;
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }

  // Starts node `i` on a free loopback port; returns it, or 0.
  int StartNode(int i) {
    const fs::path dir = dir_.path() / ("node" + std::to_string(i));
    fs::create_directories(dir / "root");
    const fs::path err = dir / "stderr.txt";
    const pid_t pid = fork();
    if (pid == 0) {
      const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || dup2(fd, 2) < 0) _exit(126);
      const std::string root = (dir / "root").string();
      const std::string log = (dir / "log.jsonl").string();
      execl(SNAKECAGE_CLI, SNAKECAGE_CLI, "serve", "--listen", "127.0.0.1:0", "--workspace-root",
            root.c_str(), "--log-file", log.c_str(), "--rate-limit", "0", "--idle-expiry", "0",
            "--max-sessions", "100", static_cast<char*>(nullptr));
      _exit(127);
    }
    pids_.push_back(pid);
    const std::regex listening("listening on http://127\\.0\\.0\\.1:(\\d+)");
    for (int n = 0; n < 500; ++n) {
      const std::string text = ReadAll(err);
      std::smatch m;
      if (std::regex_search(text, m, listening)) return std::stoi(m[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "node " << i << " did not start: " << ReadAll(err);
    return 0;
  }

  // Starts nginx with the example configuration routing to `ports`;
  // returns its port, or 0.
  int StartNginx(const std::vector<int>& ports) {
    const fs::path dir = dir_.path() / "nginx";
    fs::create_directories(dir / "logs");
    std::string nodes, addresses;
    for (size_t i = 0; i < ports.size(); ++i) {
      nodes += "    server 127.0.0.1:" + std::to_string(ports[i]) + " max_fails=0;\n";
      addresses += "    " + std::to_string(i + 1) + " 127.0.0.1:" + std::to_string(ports[i]) + ";\n";
    }
    std::string conf = ReadAll(SNAKECAGE_NGINX_EXAMPLE);
    conf = ReplaceBlock(conf, "# NODES BEGIN", "# NODES END", nodes);
    conf = ReplaceBlock(conf, "# NODE ADDRESSES BEGIN", "# NODE ADDRESSES END", addresses);
    const int port = FreePort();
    const std::string listen = "    listen 127.0.0.1:8080;";
    const size_t at = conf.find(listen);
    if (conf.empty() || at == std::string::npos || port == 0) {
      ADD_FAILURE() << "the example configuration lost its markers";
      return 0;
    }
    conf.replace(at, listen.size(), "    listen 127.0.0.1:" + std::to_string(port) + ";");
    const fs::path conf_path = dir / "nginx.conf";
    std::ofstream(conf_path) << conf;
    const std::string globals = "daemon off; master_process off; pid " + (dir / "nginx.pid").string() +
                                "; error_log " + (dir / "logs/error.log").string() + ";";
    const pid_t pid = fork();
    if (pid == 0) {
      const int fd = ::open((dir / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0 || dup2(fd, 2) < 0) _exit(126);
      execl(SNAKECAGE_NGINX, SNAKECAGE_NGINX, "-p", dir.c_str(), "-c", conf_path.c_str(), "-g",
            globals.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pids_.push_back(pid);
    for (int n = 0; n < 500; ++n) {
      httplib::Client c("127.0.0.1", port);
      if (auto res = c.Get("/nodes/1/healthz"); res && res->status == 200) return port;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "nginx did not start: " << ReadAll(dir / "stderr.txt")
                  << ReadAll(dir / "logs/error.log");
    return 0;
  }

  // The node (0-based) whose root holds the session, or -1; -2 when more
  // than one does.
  int NodeOf(const std::string& id) const {
    int found = -1;
    for (int i = 0; i < kNodes; ++i) {
      if (fs::exists(dir_.path() / ("node" + std::to_string(i)) / "root" / id)) {
        found = found == -1 ? i : -2;
      }
    }
    return found;
  }

  snakecage::testing::TempDir dir_;
  std::vector<pid_t> pids_;  // nodes, then nginx
};

std::string Code(const std::string& id) {
  return "open('/app/ran.txt', 'w').write('ran in " + id + "')\nprint(open('/app/in.txt').read())";
}

TEST_F(ClusterTest, SessionsLiveOnOneNodeAndOutliveAnotherNodesStop) {
  std::vector<int> ports;
  for (int i = 0; i < kNodes; ++i) ports.push_back(StartNode(i));
  for (int p : ports) ASSERT_NE(p, 0);
  const int proxy = StartNginx(ports);
  ASSERT_NE(proxy, 0);
  httplib::Client c("127.0.0.1", proxy);
  c.set_read_timeout(std::chrono::seconds(30));

  std::vector<std::string> ids;
  for (int i = 0; i < kSessions; ++i) {
    const std::string id = snakecage::NewSessionId();
    ids.push_back(id);
    auto made = c.Put("/v1/sessions/" + id, "", "application/json");
    ASSERT_TRUE(made) << httplib::to_string(made.error());
    ASSERT_EQ(made->status, 201) << made->body;
    auto again = c.Put("/v1/sessions/" + id, "", "application/json");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200) << again->body;  // it exists: the same node answered
    auto put = c.Put("/v1/sessions/" + id + "/files/in.txt",
                     Json{{"content", "input of " + id}}.dump(), "application/json");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 200) << put->body;
    auto ran = c.Post("/v1/sessions/" + id + "/execute", Json{{"code", Code(id)}}.dump(),
                      "application/json");
    ASSERT_TRUE(ran);
    ASSERT_EQ(ran->status, 200) << ran->body;
    EXPECT_EQ(Json::parse(ran->body)["stdout"], "input of " + id + "\n") << ran->body;
    auto got = c.Get("/v1/sessions/" + id + "/files/ran.txt?encoding=text");
    ASSERT_TRUE(got);
    ASSERT_EQ(got->status, 200) << got->body;
    EXPECT_EQ(Json::parse(got->body)["content"], "ran in " + id);
  }

  // Each session lives on exactly one node; every node holds some.
  std::map<int, std::vector<std::string>> by_node;
  for (const std::string& id : ids) {
    const int node = NodeOf(id);
    ASSERT_GE(node, 0) << id << (node == -2 ? " is on several nodes" : " is on no node");
    by_node[node].push_back(id);
  }
  ASSERT_EQ(by_node.size(), static_cast<size_t>(kNodes));

  // Each node's health and metrics, through the proxy.
  for (int i = 1; i <= kNodes; ++i) {
    auto health = c.Get("/nodes/" + std::to_string(i) + "/healthz");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    auto metrics = c.Get("/nodes/" + std::to_string(i) + "/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);
    EXPECT_NE(metrics->body.find("snakecage_active_sessions " +
                                 std::to_string(by_node[i - 1].size())),
              std::string::npos)
        << metrics->body.substr(0, 2000);
  }
  auto no_node = c.Get("/nodes/9/healthz");
  ASSERT_TRUE(no_node);
  EXPECT_EQ(no_node->status, 404);
  // A node-chosen id would hash elsewhere: refused, saying what to use.
  auto post = c.Post("/v1/sessions", "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 400);
  EXPECT_NE(post->body.find("PUT /v1/sessions/ID"), std::string::npos) << post->body;

  // Node 2 stops.
  const int stopped = 1;
  ::kill(pids_[stopped], SIGTERM);
  waitpid(pids_[stopped], nullptr, 0);
  pids_[stopped] = -1;
  for (const auto& [node, sessions] : by_node) {
    for (const std::string& id : sessions) {
      auto ran = c.Post("/v1/sessions/" + id + "/execute", Json{{"code", Code(id)}}.dump(),
                        "application/json");
      ASSERT_TRUE(ran);
      auto got = c.Get("/v1/sessions/" + id + "/files/in.txt?encoding=text");
      ASSERT_TRUE(got);
      if (node == stopped) {
        EXPECT_EQ(ran->status, 502) << ran->body;
        EXPECT_EQ(got->status, 502) << got->body;
        const std::string message = Json::parse(ran->body)["error"]["message"];
        EXPECT_NE(message.find("the node that holds session '" + id + "' is unreachable"),
                  std::string::npos)
            << message;
        // Nothing of it went to another node.
        EXPECT_EQ(NodeOf(id), stopped);
      } else {
        EXPECT_EQ(ran->status, 200) << ran->body;
        EXPECT_EQ(Json::parse(ran->body)["stdout"], "input of " + id + "\n") << ran->body;
        ASSERT_EQ(got->status, 200) << got->body;
        EXPECT_EQ(Json::parse(got->body)["content"], "input of " + id);
      }
    }
  }
  // The stopped node's sessions are whole on its disk, for when it is back.
  for (const std::string& id : by_node[stopped]) {
    const fs::path ws = dir_.path() / "node1" / "root" / id / "workspace";
    EXPECT_EQ(ReadAll(ws / "in.txt"), "input of " + id);
    EXPECT_EQ(ReadAll(ws / "ran.txt"), "ran in " + id);
  }
}

}  // namespace
