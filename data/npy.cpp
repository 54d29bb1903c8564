// numpy .npy token arrays: an exact parser of the header dict (the Python literal numpy.save
// writes), little-endian integer decoding, and a format-1.0 writer.
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "data/data.h"

namespace unl::data {
namespace {

constexpr const char* kResave = "re-save it with numpy.save(path, numpy.ascontiguousarray(a, dtype='<u2'))";

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses "{'descr': '<u2', 'fortran_order': False, 'shape': (15000, 200), }" exactly: the
// three keys numpy writes, each once, nothing else; anything else is a header we do not trust.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      skip_ws();
      if (key == "descr" && !have_descr) {
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order" && !have_order) {
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape" && !have_shape) {
        h.shape = parse_shape();
        have_shape = true;
      } else {
        fail("unexpected or repeated key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',') ++pos_;
      else if (peek() != '}') fail("expected ',' or '}'");
    }
    ++pos_;
    for (; pos_ < s_.size(); ++pos_)
      if (s_[pos_] != ' ' && s_[pos_] != '\n') fail("bytes after the closing '}'");
    if (!have_descr || !have_order || !have_shape) fail("it lacks one of 'descr', 'fortran_order', 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    const size_t end = s_.find_last_not_of(" \n");
    UNL_THROW(path_ + ": malformed .npy header (" + why + " at byte " + std::to_string(pos_) + " of \"" +
                  s_.substr(0, end == std::string::npos ? 0 : end + 1) + "\")",
              std::string("the file was not written by numpy or is corrupt; ") + kResave);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string parse_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) return pos_ += 4, true;
    if (s_.compare(pos_, 5, "False") == 0) return pos_ += 5, false;
    fail("expected True or False");
  }
  std::vector<int64_t> parse_shape() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      skip_ws();
      if (peek() == ')') break;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      if (peek() == 'L') ++pos_;  // Python 2 longs
      dims.push_back(v);
      skip_ws();
      if (peek() == ',') ++pos_;
      else if (peek() != ')') fail("expected ',' or ')' in the shape");
    }
    ++pos_;
    return dims;
  }

  const std::string& s_;
  const std::string& path_;
  size_t pos_ = 0;
};

// Item size and signedness of the dtypes token ids come in; 0 for anything else.
int item_size(const std::string& descr, bool* is_signed) {
  *is_signed = descr[1] == 'i';
  if (descr == "|u1" || descr == "<u1" || descr == "|i1" || descr == "<i1") return 1;
  if (descr == "<u2" || descr == "<i2") return 2;
  if (descr == "<u4" || descr == "<i4") return 4;
  if (descr == "<i8") return 8;
  return 0;
}

int64_t decode(const unsigned char* p, int size, bool is_signed) {
  uint64_t u = 0;
  for (int i = 0; i < size; ++i) u |= static_cast<uint64_t>(p[i]) << (8 * i);
  if (is_signed && size < 8 && (u >> (8 * size - 1)) & 1) u |= ~uint64_t{0} << (8 * size);  // sign-extend
  return static_cast<int64_t>(u);
}

}  // namespace

std::vector<std::vector<int64_t>> read_npy_tokens(const std::string& path, int64_t max_rows) {
  std::ifstream in(path, std::ios::binary);
  UNL_CHECK(in.good(), "cannot open '" + path + "'", "check the path and permissions");
  in.seekg(0, std::ios::end);
  const int64_t file_size = in.tellg();
  in.seekg(0);
  unsigned char pre[12] = {0};
  in.read(reinterpret_cast<char*>(pre), 8);
  UNL_CHECK(in.gcount() == 8 && std::memcmp(pre, "\x93NUMPY", 6) == 0, path + ": not a .npy file (bad magic)",
            "write token arrays with numpy.save(path, array)");
  const int major = pre[6], minor = pre[7];
  UNL_CHECK((major >= 1 && major <= 3) && minor == 0,
            path + ": unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor),
            "versions 1.0, 2.0 and 3.0 are read; re-save with a current numpy.save");
  const int len_bytes = major == 1 ? 2 : 4;
  in.read(reinterpret_cast<char*>(pre + 8), len_bytes);
  UNL_CHECK(in.gcount() == len_bytes, path + ": truncated .npy header", "the file is incomplete; copy it again");
  uint64_t header_len = pre[8] | (pre[9] << 8);
  if (major > 1) header_len |= (static_cast<uint64_t>(pre[10]) << 16) | (static_cast<uint64_t>(pre[11]) << 24);
  const int64_t data_start = 8 + len_bytes + static_cast<int64_t>(header_len);
  UNL_CHECK(data_start <= file_size,
            path + ": .npy header length " + std::to_string(header_len) + " runs past the end of the " +
                std::to_string(file_size) + "-byte file",
            "the file is truncated or not a .npy file; copy or re-save it");
  std::string text(header_len, '\0');
  in.read(text.data(), static_cast<std::streamsize>(header_len));
  const NpyHeader h = HeaderParser(text, path).parse();

  UNL_CHECK(!h.fortran_order, path + ": Fortran-ordered (column-major) arrays are not supported",
            "save a C-ordered array: numpy.save(path, numpy.ascontiguousarray(a))");
  UNL_CHECK(h.descr.size() == 3 && h.descr[0] != '>',
            path + ": dtype '" + h.descr + "' is big-endian or not a plain integer type",
            "convert to little-endian: numpy.save(path, a.astype('<u2')) (or '<i4' / '<i8')");
  bool is_signed = false;
  const int size = item_size(h.descr, &is_signed);
  UNL_CHECK(size > 0, path + ": dtype '" + h.descr + "' is not a supported token type",
            "token ids must be uint8/uint16/int16/uint32/int32/int64: numpy.save(path, a.astype('<i8'))");
  UNL_CHECK(h.shape.size() == 2,
            path + ": a " + std::to_string(h.shape.size()) + "-D array; token arrays must be 2-D [rows, tokens]",
            "reshape to [num_sequences, tokens_per_sequence], e.g. a.reshape(1, -1) for one sequence");
  const int64_t rows = h.shape[0], cols = h.shape[1];
  UNL_CHECK(cols == 0 || rows <= (std::numeric_limits<int64_t>::max() / size) / cols,
            path + ": shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") overflows",
            std::string("the header is corrupt; ") + kResave);
  const int64_t expected = data_start + rows * cols * size;
  UNL_CHECK(expected == file_size,
            path + ": shape (" + std::to_string(rows) + ", " + std::to_string(cols) + ") of " + h.descr + " needs " +
                std::to_string(expected - data_start) + " data bytes but the file holds " +
                std::to_string(file_size - data_start),
            "the file is truncated or has trailing bytes; copy it again or " + std::string(kResave));

  // Zero-width rows take no file bytes, so the byte check above cannot bound their count: a
  // 100-byte file claiming (10**18, 0) would otherwise allocate 10**18 empty rows.
  UNL_CHECK(cols > 0 || rows == 0,
            path + ": shape (" + std::to_string(rows) + ", 0) claims rows of zero tokens",
            "every sequence needs at least 2 tokens; the header is corrupt or the array is empty");
  const int64_t n_rows = max_rows >= 0 ? std::min(rows, max_rows) : rows;
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(n_rows), std::vector<int64_t>(static_cast<size_t>(cols)));
  std::vector<unsigned char> buf(static_cast<size_t>(cols * size));
  for (int64_t r = 0; r < n_rows; ++r) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    UNL_CHECK(in.gcount() == static_cast<std::streamsize>(buf.size()), path + ": read failed at row " + std::to_string(r),
              "the file changed while being read, or the disk has an I/O error");
    for (int64_t c = 0; c < cols; ++c) out[r][c] = decode(buf.data() + c * size, size, is_signed);
  }
  return out;
}

void write_npy(const std::string& path, const std::vector<std::vector<int64_t>>& rows, const std::string& dtype) {
  std::string descr = dtype == "uint16" ? "<u2" : dtype == "int32" ? "<i4" : dtype == "int64" ? "<i8" : dtype;
  const int size = descr == "<u2" ? 2 : descr == "<i4" ? 4 : descr == "<i8" ? 8 : 0;
  UNL_CHECK(size > 0, "cannot write '" + path + "': unsupported .npy dtype '" + dtype + "'",
            "use <u2 (uint16), <i4 (int32) or <i8 (int64)");
  const int64_t lo = descr == "<u2" ? 0 : descr == "<i4" ? std::numeric_limits<int32_t>::min()
                                                          : std::numeric_limits<int64_t>::min();
  const int64_t hi = descr == "<u2" ? 65535 : descr == "<i4" ? std::numeric_limits<int32_t>::max()
                                                              : std::numeric_limits<int64_t>::max();
  const size_t cols = rows.empty() ? 0 : rows[0].size();
  for (size_t r = 0; r < rows.size(); ++r) {
    UNL_CHECK(rows[r].size() == cols,
              "cannot write '" + path + "': row " + std::to_string(r) + " has " + std::to_string(rows[r].size()) +
                  " tokens, row 0 has " + std::to_string(cols) + " (ragged)",
              "pad or truncate the rows to one length first");
    for (int64_t v : rows[r])
      UNL_CHECK(v >= lo && v <= hi,
                "cannot write '" + path + "': row " + std::to_string(r) + " holds " + std::to_string(v) +
                    ", outside " + descr,
                "use a wider dtype (<i4 or <i8)");
  }
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(rows.size()) +
                       ", " + std::to_string(cols) + "), }";
  // numpy pads the header with spaces and a newline so the data starts 64-byte aligned.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  UNL_CHECK(header.size() < 65536, "cannot write '" + path + "': .npy header too long", "");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  UNL_CHECK(out.good(), "cannot write '" + path + "'", "check the directory exists and is writable");
  out.write("\x93NUMPY\x01\x00", 8);
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  out.write(len, 2);
  out << header;
  std::vector<unsigned char> buf(cols * size);
  for (const auto& r : rows) {
    for (size_t c = 0; c < cols; ++c)
      for (int i = 0; i < size; ++i)
        buf[c * size + i] = static_cast<unsigned char>((static_cast<uint64_t>(r[c]) >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  }
  out.close();
  UNL_CHECK(!out.fail(), "write to '" + path + "' failed", "the disk may be full");
}

}  // namespace unl::data
