// Text-level metrics (torch-free): SQuAD answer normalisation and unigram F1 (the official ICU
// valid.py's dialogue score), and the zlib-compressed size behind the zlib MIA score.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace unl::eval {

/// SQuAD normalize_answer as ICU valid.py has it: lower-case (ASCII), drop ASCII punctuation
/// (Python's string.punctuation), replace the words a/an/the by spaces, collapse whitespace,
/// then remove "<extra_id_0>" / "<extra_id_1>".
std::string squad_normalize(const std::string& text);

/// Whitespace tokens of squad_normalize(text).
std::vector<std::string> normalized_tokens(const std::string& text);

/// Unigram F1 of prediction vs ground truth over normalized tokens (multiset overlap);
/// 0 when there is no common token (also when either side is empty).
double unigram_f1(const std::string& prediction, const std::string& ground_truth);

/// ROUGE-L recall (TOFU's rougeL_recall) = LCS(prediction, reference) / |reference| over
/// rouge_score's default tokens: lower-cased, every run of characters other than [a-z0-9]
/// a separator. No Porter stemming (TOFU passes use_stemmer=True; words that differ only by a
/// suffix count as different here). 0 for an empty reference.
double rouge_l_recall(const std::string& prediction, const std::string& reference);

/// Length of zlib.compress(text) (zlib format, default level), as Python's zlib gives it.
size_t zlib_size(const std::string& text);

}  // namespace unl::eval
