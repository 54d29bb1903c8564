// Strict JSON parsing: nlohmann keeps the last of two equal keys; we refuse them instead, since a
// repeated tensor name or vocabulary entry means the file is corrupt or hand-edited wrongly.
#include "model/json_strict.h"

#include "common/error.h"

#include <set>
#include <vector>

namespace unl::model {

nlohmann::json parse_json_strict(std::string_view text, const std::string& where,
                                 const std::string& hint) {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;
  auto callback = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) {
      open_objects.emplace_back();
    } else if (event == E::object_end) {
      if (!open_objects.empty()) open_objects.pop_back();
    } else if (event == E::key && duplicate.empty() && !open_objects.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second) duplicate = key;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::exception& e) {
    UNL_THROW(where + "not valid JSON (" + e.what() + ")", hint);
  }
  UNL_CHECK(duplicate.empty(), where + "key '" + duplicate + "' appears twice", hint);
  return j;
}

}  // namespace unl::model
