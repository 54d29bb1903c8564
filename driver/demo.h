// `unlearn demo`: a privacy scenario at toy scale. A small GPT-Neo with a vocabulary made for the
// demo corpus learns public text (Debian's fortunes) mixed with synthetic personal records until it
// regurgitates them; ICU then makes it
// forget 32 of the records on several ranks; the report shows what was forgotten and kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unl::driver {

struct DemoArgs {
  std::string out = "demo-out";
  int ranks = 2;
  bool rebuild_base = false;
  bool data_only = false;  // write data/*.jsonl and stop (input of scripts/make-demo-tokenizer.py)
  int64_t base_epochs = 30;
};

int cmd_demo(const DemoArgs& args, const char* argv0);

/// A deterministic synthetic personal record (name, e-mail, phone, address), index i.
std::string synthetic_record(int64_t i);
/// Fortunes from /usr/share/games/fortunes (the `fortunes` package), in a fixed order.
std::vector<std::string> read_fortunes(size_t max_count, size_t max_chars);

}  // namespace unl::driver
