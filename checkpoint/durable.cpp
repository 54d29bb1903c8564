// Internal: fsync / rename / directory fsync for crash-safe commits, with errno in every error.
#include "checkpoint/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace unl::checkpoint::durable {
namespace {

[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int err) {
  UNL_THROW(what + " '" + path + "' failed: " + std::strerror(err),
            "check the checkpoint directory exists, is writable and its filesystem is not full");
}

void fsync_fd_of(const std::string& path, int flags, const char* what) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) throw_errno(std::string("open for ") + what, path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some filesystems cannot fsync a directory (EINVAL); the rename is then as durable as it gets.
  if (rc != 0 && !(err == EINVAL && (flags & O_DIRECTORY))) throw_errno(what, path, err);
}

}  // namespace

std::string temp_name(const std::string& path) {
  return path + ".tmp-" + std::to_string(static_cast<long long>(::getpid()));
}

bool is_temp_name(const std::string& file_name) {
  return file_name.find(".tmp-") != std::string::npos;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void fsync_file(const std::string& path) { fsync_fd_of(path, O_RDONLY, "fsync"); }

void fsync_dir(const std::string& dir) { fsync_fd_of(dir, O_RDONLY | O_DIRECTORY, "fsync of directory"); }

void rename_durably(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) throw_errno("rename to", to, errno);
  fsync_dir(parent_dir(to));
}

void write_text_atomic(const std::string& path, const std::string& text) {
  std::string tmp = temp_name(path);
  try {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw_errno("create", tmp, errno);
    std::size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        throw_errno("write", tmp, err);
      }
      done += static_cast<std::size_t>(n);
    }
    int rc = ::fsync(fd);
    int err = errno;
    if (::close(fd) != 0 && rc == 0) {
      rc = -1;
      err = errno;
    }
    if (rc != 0) throw_errno("fsync", tmp, err);
    rename_durably(tmp, path);
  } catch (...) {
    remove_quietly(tmp);
    throw;
  }
}

void remove_quietly(const std::string& path) noexcept { ::unlink(path.c_str()); }

}  // namespace unl::checkpoint::durable
