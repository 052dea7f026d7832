// Policy files: TOML (toml++) read into an ExecutionPolicyBuilder.
//
// Every top-level key is one ExecutionPolicy field (policy_fields.h); anything else is refused,
// so a misspelt key can never be silently ignored. Keys are applied in the
// order they appear in the file (toml++ keeps tables sorted by key, so the
// order is recovered from each key's source position), which makes the first
// error reported the first one in the file and `[env]` merge in file order.
#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "policy/policy_fields.h"
#include "snakecage/policy.h"

namespace snakecage {
namespace {

namespace fs = std::filesystem;

// The TOML type of a node as an error message says it.
std::string_view TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "table";
    case toml::node_type::array:
      return "array";
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
  }
  return "unknown";
}

// The entries of a table in the order they appear in the file.
std::vector<std::pair<const toml::key*, const toml::node*>> InFileOrder(const toml::table& t) {
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (const auto& [k, v] : t) entries.emplace_back(&k, &v);
  // Keys are unique, so (line, column, key) is a total order. (std::sort:
  // std::stable_sort trips a deprecation warning in libstdc++ 12 + clang 19.)
  auto position = [](const std::pair<const toml::key*, const toml::node*>& e) {
    const toml::source_position& p = e.first->source().begin;
    return std::tuple<uint32_t, uint32_t, std::string_view>(p.line, p.column, e.first->str());
  };
  std::sort(entries.begin(), entries.end(),
            [&](const auto& a, const auto& b) { return position(a) < position(b); });
  return entries;
}

// Reads one policy file, mapping each TOML value onto the builder.
class PolicyFileReader {
 public:
  PolicyFileReader(const fs::path& file, const fs::path& base_dir)
      : file_(file.string()), base_dir_(base_dir) {}

  Status Apply(const toml::table& root, ExecutionPolicyBuilder& b) const {
    for (const auto& [key_ptr, node_ptr] : InFileOrder(root)) {
      const std::string key(key_ptr->str());
      const toml::node& v = *node_ptr;
      Status s = ApplyKey(key, v, b);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  using Builder = ExecutionPolicyBuilder;

  // The field named `key` (policy_fields.h), read as its kind says.
  Status ApplyKey(const std::string& key, const toml::node& v, Builder& b) const {
#define SNAKECAGE_FIELD_FROM_TOML(name, Kind, flag, help) \
  if (key == #name) return Apply(policy_kinds::Kind{}, key, v, b, &Builder::name);
    SNAKECAGE_POLICY_FIELDS(SNAKECAGE_FIELD_FROM_TOML)
#undef SNAKECAGE_FIELD_FROM_TOML
    return InvalidArgument(file_ + ": unknown key \"" + key + "\"");
  }

  template <typename Set>
  Status Apply(policy_kinds::Operators, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    return WithUnsigned(key, v, [&](uint64_t x) { (b.*set)(x); });
  }
  template <typename Set>
  Status Apply(policy_kinds::Bytes, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    return WithUnsigned(key, v, [&](uint64_t x) { (b.*set)(x); });
  }
  template <typename Set>
  Status Apply(policy_kinds::HostDir, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    return WithString(key, v, [&](std::string s) { (b.*set)(HostPath(s)); });
  }
  template <typename Set>
  Status Apply(policy_kinds::OptionalHostDir, const std::string& key, const toml::node& v,
               Builder& b, Set set) const {
    return WithString(key, v, [&](std::string s) { (b.*set)(HostPath(s)); });
  }
  template <typename Set>
  Status Apply(policy_kinds::GuestPath, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    return WithString(key, v, [&](std::string s) { (b.*set)(std::move(s)); });
  }
  template <typename Set>
  Status Apply(policy_kinds::OptionalGuestPath, const std::string& key, const toml::node& v,
               Builder& b, Set set) const {
    return WithString(key, v, [&](std::string s) { (b.*set)(std::move(s)); });
  }
  template <typename Set>
  Status Apply(policy_kinds::OptionalSeconds, const std::string& key, const toml::node& v,
               Builder& b, Set set) const {
    if (const auto* i = v.as_integer()) {
      (b.*set)(static_cast<double>(i->get()));
      return Status::Ok();
    }
    if (const auto* f = v.as_floating_point()) {
      (b.*set)(f->get());
      return Status::Ok();
    }
    return WrongType(key, "a number of seconds (integer or float)", v);
  }
  template <typename Set>
  Status Apply(policy_kinds::Flag, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    if (const auto* x = v.as_boolean()) {
      (b.*set)(x->get());
      return Status::Ok();
    }
    return WrongType(key, "a boolean", v);
  }

  template <typename Set>
  Status Apply(policy_kinds::Argv, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    const toml::array* a = v.as_array();
    if (a == nullptr) return WrongType(key, "an array of strings", v);
    std::vector<std::string> args;
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      const auto* s = e.as_string();
      if (s == nullptr) return WrongType(key + "[" + std::to_string(i) + "]", "a string", e);
      args.push_back(s->get());
    }
    (b.*set)(std::move(args));
    return Status::Ok();
  }

  // [env] is merged over what the builder already has (the default env),
  // one variable at a time, never replaced whole.
  template <typename Set>
  Status Apply(policy_kinds::Env, const std::string& key, const toml::node& v, Builder& b,
               Set) const {
    const toml::table* t = v.as_table();
    if (t == nullptr) return WrongType(key, "a table of strings", v);
    for (const auto& [key_ptr, node_ptr] : InFileOrder(*t)) {
      const std::string name(key_ptr->str());
      const auto* s = node_ptr->as_string();
      if (s == nullptr) return WrongType(key + "." + name, "a string", *node_ptr);
      b.set_env(name, s->get());
    }
    return Status::Ok();
  }

  template <typename Set>
  Status Apply(policy_kinds::Mounts, const std::string& key, const toml::node& v, Builder& b,
               Set set) const {
    const toml::array* a = v.as_array();
    if (a == nullptr) return WrongType(key, "an array of [host, guest] pairs", v);
    std::vector<ReadOnlyMount> mounts;
    for (size_t i = 0; i < a->size(); ++i) {
      const std::string field = key + "[" + std::to_string(i) + "]";
      const toml::node& e = *a->get(i);
      const toml::array* pair = e.as_array();
      if (pair == nullptr) return WrongType(field, "a [host, guest] pair of strings", e);
      if (pair->size() != 2) {
        return InvalidArgument(file_ + ": " + field +
                               ": must be a [host, guest] pair of strings (got an array of " +
                               std::to_string(pair->size()) + ")");
      }
      const auto* host = pair->get(0)->as_string();
      if (host == nullptr)
        return WrongType(field + "[0]", "a string (the host directory)", *pair->get(0));
      const auto* guest = pair->get(1)->as_string();
      if (guest == nullptr)
        return WrongType(field + "[1]", "a string (the guest path)", *pair->get(1));
      mounts.push_back(ReadOnlyMount{HostPath(host->get()), guest->get()});
    }
    (b.*set)(std::move(mounts));
    return Status::Ok();
  }

  // A TOML integer for a uint64 field: negative values are refused here,
  // never wrapped around; the range is the builder's to check.
  template <typename Set>
  Status WithUnsigned(const std::string& key, const toml::node& v, Set set) const {
    const auto* i = v.as_integer();
    if (i == nullptr) return WrongType(key, "an integer", v);
    const int64_t x = i->get();
    if (x < 0) {
      return InvalidArgument(file_ + ": " + key + ": must not be negative (got " +
                             std::to_string(x) + ")");
    }
    set(static_cast<uint64_t>(x));
    return Status::Ok();
  }

  template <typename Set>
  Status WithString(const std::string& key, const toml::node& v, Set set) const {
    const auto* s = v.as_string();
    if (s == nullptr) return WrongType(key, "a string", v);
    set(s->get());
    return Status::Ok();
  }

  Status WrongType(const std::string& field, std::string_view expected,
                   const toml::node& got) const {
    return InvalidArgument(file_ + ": " + field + ": must be " + std::string(expected) + " (got " +
                           std::string(TypeName(got)) + ")");
  }

  // Relative host paths are relative to the policy file's directory. An
  // empty path is passed on unchanged so the builder refuses it by name.
  fs::path HostPath(const std::string& text) const {
    fs::path p(text);
    if (p.empty() || p.is_absolute()) return p;
    return base_dir_ / p;
  }

  std::string file_;
  fs::path base_dir_;
};

// The whole file, or NotFound / PermissionDenied / InvalidArgument naming it.
StatusOr<std::string> ReadPolicyFile(const fs::path& path) {
  const std::string name = path.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound(name + ": policy file not found");
    }
    if (err == EACCES || err == EPERM) {
      return Status(StatusCode::kPermissionDenied,
                    name + ": cannot read policy file: " + std::strerror(err));
    }
    return InvalidArgument(name + ": cannot open policy file: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return InvalidArgument(name + ": cannot stat policy file: " + std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(name + ": is a directory, not a policy file");
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return InvalidArgument(name + ": cannot read policy file: " + std::strerror(err));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// Parses TOML; a syntax error is "PATH:LINE:COLUMN: description".
StatusOr<toml::table> ParseToml(const std::string& text, const std::string& name) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    return InvalidArgument(name + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                           ": " + std::string(e.description()));
  }
#else
  toml::parse_result r = toml::parse(text, name);
  if (!r) {
    const toml::parse_error& e = r.error();
    const toml::source_position& at = e.source().begin;
    return InvalidArgument(name + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                           ": " + std::string(e.description()));
  }
  return std::move(r).table();
#endif
}

}  // namespace

StatusOr<ExecutionPolicyBuilder> LoadPolicyBuilder(const fs::path& path, ExecutionPolicyBuilder base) {
  StatusOr<std::string> text = ReadPolicyFile(path);
  if (!text.ok()) return text.status();
  StatusOr<toml::table> root = ParseToml(*text, path.string());
  if (!root.ok()) return root.status();

  std::error_code ec;
  fs::path absolute_file = fs::absolute(path, ec);
  if (ec) {
    return InvalidArgument(path.string() + ": cannot make the path absolute: " + ec.message());
  }
  PolicyFileReader reader(path, absolute_file.lexically_normal().parent_path());
  ExecutionPolicyBuilder builder = std::move(base);
  Status s = reader.Apply(*root, builder);
  if (!s.ok()) return s;
  return builder;
}

StatusOr<ExecutionPolicy> LoadPolicy(const fs::path& path) {
  StatusOr<ExecutionPolicyBuilder> builder = LoadPolicyBuilder(path);
  if (!builder.ok()) return builder.status();
  StatusOr<ExecutionPolicy> policy = builder->Build();
  if (!policy.ok()) {
    return Status(policy.status().code(), path.string() + ": " + policy.status().message());
  }
  return policy;
}

StatusOr<ExecutionPolicy> LoadDefaultPolicy() {
  const fs::path path(kDefaultPolicyPath);
  std::error_code ec;
  // symlink_status: a dangling symlink is a file that exists but cannot be
  // read, so it is an error rather than a reason to fall back to defaults.
  const fs::file_status st = fs::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    return InvalidArgument(path.string() + ": cannot check for a policy file: " + ec.message());
  }
  if (!fs::exists(st)) return ExecutionPolicyBuilder().Build();
  return LoadPolicy(path);
}

}  // namespace snakecage
