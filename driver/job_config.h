// The job configuration: one TOML file, every key declared once in a table (type, default,
// meaning, whether resuming may change it), overridable with --set key=value, validated all at
// once before any work starts. The same table generates docs/config-reference.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace unl::driver {

using ConfigValue = std::variant<int64_t, double, bool, std::string>;

struct ConfigKey {
  std::string key;        // "section.name"
  ConfigValue default_value;
  std::string help;
  /// Changing it between a checkpoint and a resume would make the resumed run a different run
  /// (model, data, method, optimiser, seed, ...): resume refuses and names the key.
  bool resume_sensitive = false;
};

/// Every configuration key, in documentation order.
const std::vector<ConfigKey>& config_keys();

class JobConfig {
 public:
  /// Defaults only.
  JobConfig();
  /// Parse TOML text (file name for messages) then apply --set overrides ("key=value").
  /// Unknown keys, wrong types and impossible values are all collected and thrown together as
  /// one unl::UsageError.
  static JobConfig from_toml(const std::string& text, const std::string& source,
                             const std::vector<std::string>& overrides = {});
  static JobConfig from_file(const std::string& path, const std::vector<std::string>& overrides = {});

  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  void set(const std::string& key, const ConfigValue& value);

  /// The resolved configuration as TOML (every key, grouped by section).
  std::string to_toml() const;
  /// Hash of the resume-sensitive keys.
  std::string resume_hash() const;
  /// Keys whose values differ and that resumption cannot tolerate (resume-sensitive only).
  std::vector<std::string> resume_conflicts(const JobConfig& saved) const;
  /// Directory the config file was read from ("" for defaults); relative paths resolve there.
  const std::string& base_dir() const { return base_dir_; }
  /// A path-valued key resolved against base_dir() (empty stays empty).
  std::string path(const std::string& key) const;
  /// Make every path-valued key absolute, so the saved config means the same files anywhere.
  void resolve_paths();

 private:
  void validate(std::vector<std::string>& errors) const;
  std::map<std::string, ConfigValue> values_;
  std::string base_dir_;
};

/// Keys holding file or directory paths.
const std::vector<std::string>& path_keys();

/// The configuration reference as Markdown (docs/config-reference.md is this text).
std::string config_reference_markdown();

}  // namespace unl::driver
