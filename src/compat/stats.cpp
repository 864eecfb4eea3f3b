// Flat JSON parsing and formatting for raft_print_stats (stats.hpp).
#include "compat/stats.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

namespace raft::compat {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  std::optional<std::vector<std::pair<std::string, std::string>>> object() {
    std::vector<std::pair<std::string, std::string>> out;
    if (!eat('{')) return std::nullopt;
    if (eat('}')) return end() ? std::optional(out) : std::nullopt;
    do {
      auto key = string();
      if (!key || !eat(':')) return std::nullopt;
      auto value = peek() == '"' ? string() : scalar();
      if (!value) return std::nullopt;
      out.emplace_back(std::move(*key), std::move(*value));
    } while (eat(','));
    if (!eat('}') || !end()) return std::nullopt;
    return out;
  }

 private:
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  char peek() {
    skip_space();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  bool end() {
    skip_space();
    return pos_ == s_.size();
  }
  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::optional<std::string> string() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return std::nullopt;
      char e = s_[pos_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (pos_ + 4 > s_.size()) return std::nullopt;
          uint32_t cp = 0;
          for (int i = 0; i < 4; ++i) {
            int h = hex(s_[pos_++]);
            if (h < 0) return std::nullopt;
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          put_utf8(out, cp);  // a lone surrogate half prints as is; stats never hold one
          break;
        }
        default: return std::nullopt;
      }
    }
    return std::nullopt;
  }
  // A number, true, false or null, kept as written.
  std::optional<std::string> scalar() {
    skip_space();
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && !std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
    if (pos_ == start) return std::nullopt;
    std::string v(s_.substr(start, pos_ - start));
    bool number = std::all_of(v.begin(), v.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
    });
    if (!number && v != "true" && v != "false" && v != "null") return std::nullopt;
    return v;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> parse_flat_json(std::string_view json) {
  return Parser(json).object();
}

std::string format_stats(std::string_view json) {
  auto members = parse_flat_json(json);
  if (!members) return "Raft stats (not a flat JSON object, shown as is):\n" + std::string(json) + "\n";
  std::sort(members->begin(), members->end());
  size_t width = 0;
  for (const auto& [name, value] : *members) width = std::max(width, name.size());
  std::string out = "Raft stats:\n";
  for (const auto& [name, value] : *members) {
    out += "  " + name + std::string(width - name.size() + 2, ' ') + value + "\n";
  }
  return out;
}

}  // namespace raft::compat
