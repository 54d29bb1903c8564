// NLTK 3.8's word_tokenize() and Python's str.lower(), ported with ICU so BLEU sees the words the
// official ICU code sees. Sentence splitting is Punkt with empty learned parameters (see below).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unl::unlearn {

/// Python 3's str.lower() of UTF-8 text: full Unicode lower-casing (SpecialCasing's unconditional
/// mappings, "İ" -> "i̇", and Greek final sigma), via ICU's root-locale toLower. Ill-formed UTF-8
/// becomes U+FFFD first (as Python's decode(errors="replace") would).
std::string python_lower(const std::string& text);

/// nltk.word_tokenize(text) of NLTK 3.8: Punkt sentence splitting, then NLTKWordTokenizer (the
/// improved Treebank rules: quotes, clitics/contractions, punctuation, ellipsis, brackets, dashes)
/// on every sentence. Does not lower-case.
///
/// Deviation, deliberate and documented: NLTK splits sentences with its *trained* English Punkt
/// model (nltk_data), which Debian does not ship and which cannot be fetched at run time. This
/// port is Punkt with empty learned parameters, i.e. exactly NLTK's untrained
/// PunktSentenceTokenizer() (same algorithm and English language variables, no abbreviation list,
/// collocations, sentence starters or orthographic statistics). Results differ from the trained
/// model only at a period that ends a learned abbreviation mid-sentence ("mr.", "u.s.", "e.g."):
/// the trained model keeps "mr." as one token, this one yields "mr" and ".".
/// Regex classes follow Python's `re` on str (\w = str.isalnum() or "_", \s = str.isspace(),
/// \d = Nd), not ICU's own \w \s \b.
std::vector<std::string> nltk_word_tokenize(const std::string& text);

namespace detail {
/// Python's re \w, \s, \d and str.isupper() / str.islower() for one code point, as used by the
/// port (exposed so a test can compare them with Python's tables).
bool py_is_word(int32_t cp);
bool py_is_space(int32_t cp);
bool py_is_digit(int32_t cp);
bool py_is_upper(int32_t cp);
bool py_is_lower(int32_t cp);
/// The sentences the untrained Punkt tokenizer finds (PunktSentenceTokenizer().tokenize(text)).
std::vector<std::string> punkt_sentences(const std::string& text);
/// NLTKWordTokenizer().tokenize(sentence).
std::vector<std::string> treebank_tokenize(const std::string& sentence);
}  // namespace detail

}  // namespace unl::unlearn
