// NLTK 3.8 sentence_bleu (uniform weights, method0, one reference) on tokens and on texts.
// Every float operation mirrors nltk/translate/bleu_score.py so results agree bit for bit.
#include "unlearn/bleu.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <map>

#include "unlearn/nltk_tokenize.h"

namespace unl::unlearn {
namespace {

/// Python's math.fsum: Shewchuk's exact partial sums, then the correctly rounded total
/// (round-half-even fix-up as in CPython's mathmodule.c). Inputs are finite here.
double fsum(const std::vector<double>& values) {
  std::vector<double> partials;
  for (double x : values) {
    size_t i = 0;
    for (double y : partials) {
      if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
      const double hi = x + y;
      const double lo = y - (hi - x);
      if (lo != 0.0) partials[i++] = lo;
      x = hi;
    }
    partials.resize(i);
    partials.push_back(x);
  }
  if (partials.empty()) return 0.0;
  size_t n = partials.size();
  double hi = partials[--n], lo = 0.0;
  while (n > 0) {
    const double x = hi, y = partials[--n];
    hi = x + y;
    const double yr = hi - x;
    lo = y - yr;
    if (lo != 0.0) break;
  }
  if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))) {
    const double y = lo * 2.0, x = hi + y;
    if (y == x - hi) hi = x;
  }
  return hi;
}

using Gram = std::vector<std::string>;

std::map<Gram, int64_t> ngram_counts(const std::vector<std::string>& words, size_t n) {
  std::map<Gram, int64_t> counts;
  for (size_t i = 0; i + n <= words.size(); ++i) ++counts[Gram(words.begin() + i, words.begin() + i + n)];
  return counts;
}

}  // namespace

double sentence_bleu4(const std::vector<std::string>& hypothesis,
                      const std::vector<std::string>& reference) {
  int64_t numerator[4], denominator[4];
  for (size_t n = 1; n <= 4; ++n) {  // modified_precision
    const auto hyp = ngram_counts(hypothesis, n), ref = ngram_counts(reference, n);
    int64_t clipped = 0, total = 0;
    for (const auto& [gram, count] : hyp) {
      const auto it = ref.find(gram);
      clipped += std::min(count, it == ref.end() ? int64_t{0} : it->second);
      total += count;
    }
    numerator[n - 1] = clipped;
    denominator[n - 1] = std::max<int64_t>(1, total);
  }
  if (numerator[0] == 0) return 0.0;  // NLTK returns 0 before smoothing
  const auto c = static_cast<int64_t>(hypothesis.size()), r = static_cast<int64_t>(reference.size());
  const double bp = c > r ? 1.0 : std::exp(1.0 - static_cast<double>(r) / static_cast<double>(c));
  std::vector<double> terms;
  for (int n = 0; n < 4; ++n) {
    // method0: a zero count becomes sys.float_info.min; the others stay fractions, which
    // math.log converts to the correctly rounded float numerator / denominator.
    const double p = numerator[n] == 0 ? DBL_MIN
                                       : static_cast<double>(numerator[n]) / static_cast<double>(denominator[n]);
    terms.push_back(0.25 * std::log(p));
  }
  return bp * std::exp(fsum(terms));
}

double nltk_bleu4(const std::string& hypothesis, const std::string& reference) {
  return sentence_bleu4(nltk_word_tokenize(python_lower(hypothesis)),
                        nltk_word_tokenize(python_lower(reference)));
}

}  // namespace unl::unlearn
