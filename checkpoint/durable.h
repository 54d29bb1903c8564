// Internal: the POSIX steps of a crash-safe commit (fsync a file, rename, fsync its directory) and
// the temp-file naming that lets a reader tell a finished checkpoint from a half-written one.
#pragma once

#include <string>

namespace unl::checkpoint::durable {

/// "<path>.tmp-<pid>": same directory as `path` (so rename is atomic), unique per writer.
std::string temp_name(const std::string& path);
/// Whether a file name is such a temp name.
bool is_temp_name(const std::string& file_name);
/// The directory holding `path` ("." for a bare name).
std::string parent_dir(const std::string& path);

/// open + fsync + close; throws unl::Error naming the path and errno.
void fsync_file(const std::string& path);
/// fsync a directory so a rename inside it survives a power loss.
void fsync_dir(const std::string& dir);
/// rename(from, to) then fsync of to's directory.
void rename_durably(const std::string& from, const std::string& to);
/// Write a small text file via temp + fsync + rename + directory fsync.
void write_text_atomic(const std::string& path, const std::string& text);
/// Best-effort unlink that never throws (cleanup paths).
void remove_quietly(const std::string& path) noexcept;

}  // namespace unl::checkpoint::durable
