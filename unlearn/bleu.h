// BLEU-4 as the official ICU code scores a continuation: NLTK 3.8's
// sentence_bleu([word_tokenize(reference.lower())], word_tokenize(hypothesis.lower())).
#pragma once

#include <string>
#include <vector>

namespace unl::unlearn {

/// nltk.translate.bleu_score.sentence_bleu([reference], hypothesis) with NLTK 3.8's defaults:
/// uniform 4-gram weights, no smoothing (method0), one reference. Exactly NLTK's arithmetic:
/// clipped n-gram counts over max(1, #hypothesis n-grams); 0 when no unigram matches (this covers
/// an empty hypothesis or reference); a higher order with no match contributes
/// log(DBL_MIN) / 4 (NLTK warns and returns a tiny positive number, ~1e-77 per such order, not 0);
/// brevity penalty exp(1 - r / c) when c <= r; the log-sum as math.fsum (correctly rounded).
double sentence_bleu4(const std::vector<std::string>& hypothesis,
                      const std::vector<std::string>& reference);

/// The texts' BLEU-4 as the official ICU check computes it: both lower-cased as Python does
/// (python_lower), tokenized with nltk_word_tokenize (untrained Punkt sentence splitting, see
/// unlearn/nltk_tokenize.h), then sentence_bleu4. Thread-safe.
double nltk_bleu4(const std::string& hypothesis, const std::string& reference);

}  // namespace unl::unlearn
