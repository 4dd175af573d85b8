#include "dns/zone_generate.hpp"

#include <charconv>

namespace vrdns::dns {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// A decimal number that fills `text` exactly.
template <class T>
std::optional<T> number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// `value` in nibble form as BIND writes it: least significant nibble first, a dot between
// nibbles, and as many more zero nibbles as `width` (counted in characters, dots included)
// asks for.
void append_nibbles(std::string& out, uint64_t value, unsigned width, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  do {
    out += digits[value & 0x0F];
    value >>= 4;
    if (width > 0) --width;
    if (width > 0 || value != 0) {
      out += '.';
      if (width > 0) --width;
    }
  } while (value != 0 || width > 0);
}

void append_number(std::string& out, uint64_t value, unsigned width, char base) {
  char buf[32];
  const int radix = base == 'o' ? 8 : (base == 'x' || base == 'X') ? 16 : 10;
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, radix);
  std::string digits(buf, end);
  if (base == 'X')
    for (char& c : digits)
      if (c >= 'a' && c <= 'f') c = char(c - 'a' + 'A');
  if (digits.size() < width) out.append(width - digits.size(), '0');
  out += digits;
}

}  // namespace

std::optional<GenerateDirective> parse_generate(std::string_view line, std::string& error) {
  constexpr std::string_view keyword = "$GENERATE";
  std::size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  if (line.substr(i, keyword.size()) != keyword || i + keyword.size() >= line.size() ||
      !is_blank(line[i + keyword.size()])) {
    error = "$GENERATE without a range";
    return std::nullopt;
  }
  i += keyword.size();
  while (i < line.size() && is_blank(line[i])) ++i;
  std::size_t range_end = i;
  while (range_end < line.size() && !is_blank(line[range_end])) ++range_end;
  const std::string_view range = line.substr(i, range_end - i);
  GenerateDirective d;
  const std::size_t dash = range.find('-');
  const std::size_t slash = range.find('/');
  if (dash == std::string_view::npos || (slash != std::string_view::npos && slash < dash)) {
    error = "$GENERATE: range '" + std::string(range) + "' is not <start>-<stop>[/<step>]";
    return std::nullopt;
  }
  const auto start = number<uint32_t>(range.substr(0, dash));
  const auto stop = number<uint32_t>(range.substr(dash + 1, slash == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : slash - dash - 1));
  const auto step = slash == std::string_view::npos ? std::optional<uint32_t>(1)
                                                    : number<uint32_t>(range.substr(slash + 1));
  if (!start || !stop || !step || *start > 0x7FFFFFFFu || *stop > 0x7FFFFFFFu) {
    error = "$GENERATE: range '" + std::string(range) +
            "' is not <start>-<stop>[/<step>] with numbers up to 2147483647";
    return std::nullopt;
  }
  if (*start > *stop || *step == 0) {
    error = "$GENERATE: range '" + std::string(range) + "' is empty (start above stop, or step 0)";
    return std::nullopt;
  }
  if ((uint64_t(*stop) - *start) / *step + 1 > max_generated_records) {
    error = "$GENERATE: range '" + std::string(range) + "' makes more than " +
            std::to_string(max_generated_records) + " records";
    return std::nullopt;
  }
  d.start = *start;
  d.stop = *stop;
  d.step = *step;
  // The template: up to an unquoted, unescaped ';' (a comment), blanks trimmed.
  std::size_t from = range_end;
  while (from < line.size() && is_blank(line[from])) ++from;
  std::size_t to = from;
  bool quoted = false;
  for (; to < line.size(); ++to) {
    const char c = line[to];
    if (c == '\\' && to + 1 < line.size()) {
      ++to;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ';' && !quoted) {
      break;
    }
  }
  while (to > from && is_blank(line[to - 1])) --to;
  d.record_template.assign(line.substr(from, to - from));
  // At least "<lhs> <type> <rhs>": three words.
  int words = 0;
  for (std::size_t k = 0; k < d.record_template.size(); ++k)
    if (!is_blank(d.record_template[k]) && (k == 0 || is_blank(d.record_template[k - 1])))
      ++words;
  if (words < 3) {
    error = "$GENERATE: no record template after the range (<lhs> [<ttl>] [<class>] <type> <rhs>)";
    return std::nullopt;
  }
  return d;
}

std::optional<std::string> expand_generate(std::string_view t, uint32_t value,
                                           std::string& error) {
  std::string out;
  out.reserve(t.size() + 16);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '\\' && i + 1 < t.size() && t[i + 1] == '$') {
      out += "\\$";   // the name and text parsers read "\$" as a '$'
      ++i;
      continue;
    }
    if (c == '\\' && i + 1 < t.size()) {   // any other escape goes through untouched
      out += c;
      out += t[++i];
      continue;
    }
    if (c != '$') {
      out += c;
      continue;
    }
    if (i + 1 < t.size() && t[i + 1] == '$') {   // "$$": older BIND's literal '$'
      out += "\\$";
      ++i;
      continue;
    }
    int64_t offset = 0;
    unsigned width = 0;
    char base = 'd';
    if (i + 1 < t.size() && t[i + 1] == '{') {
      const std::size_t close = t.find('}', i + 2);
      if (close == std::string_view::npos) {
        error = "$GENERATE: '${' without '}'";
        return std::nullopt;
      }
      const std::string_view spec = t.substr(i + 2, close - i - 2);
      const std::size_t c1 = spec.find(',');
      const std::size_t c2 = c1 == std::string_view::npos ? c1 : spec.find(',', c1 + 1);
      const std::string_view offset_text = spec.substr(0, c1);
      const std::string_view width_text =
          c1 == std::string_view::npos ? std::string_view()
                                       : spec.substr(c1 + 1, c2 == std::string_view::npos
                                                                 ? std::string_view::npos
                                                                 : c2 - c1 - 1);
      const std::string_view base_text =
          c2 == std::string_view::npos ? std::string_view() : spec.substr(c2 + 1);
      const auto o = number<int64_t>(offset_text.size() > 1 && offset_text[0] == '+'
                                         ? offset_text.substr(1)
                                         : offset_text);
      const auto w = width_text.empty() ? std::optional<unsigned>(0) : number<unsigned>(width_text);
      if (!o || !w || *w > 255 || *o < -int64_t(0x7FFFFFFF) || *o > int64_t(0x7FFFFFFF) ||
          (base_text.size() > 1) ||
          (base_text.size() == 1 &&
           std::string_view("doxXnN").find(base_text[0]) == std::string_view::npos)) {
        error = "$GENERATE: '${" + std::string(spec) +
                "}' is not ${offset[,width[,base]]} (base d, o, x, X, n or N; width up to 255)";
        return std::nullopt;
      }
      offset = *o;
      width = *w;
      if (base_text.size() == 1) base = base_text[0];
      i = close;
    }
    const int64_t v = int64_t(value) + offset;
    if (v < 0 || v > int64_t(0x7FFFFFFF)) {
      error = "$GENERATE: " + std::to_string(value) + " + " + std::to_string(offset) +
              " is out of range";
      return std::nullopt;
    }
    if (base == 'n' || base == 'N')
      append_nibbles(out, uint64_t(v), width, base == 'N');
    else
      append_number(out, uint64_t(v), width, base);
  }
  return out;
}

}  // namespace vrdns::dns
