// DQL: the lexer, the recursive-descent parser, the SQL translator and the row shaper.
// Semantics (docs/QUERY.md): comparisons only hold between values of one JSON type (numbers,
// strings, booleans), else they are unknown, as SQL's NULL; strings compare by bytes; ORDER BY
// sorts missing < null < booleans < numbers < strings < arrays < objects, then by _id. Each
// backend's SQL spells out these rules with type tests, so SQLite and PostgreSQL agree.
#include "query/dql.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

#include "common/error.h"
#include "common/json.h"

namespace smallpeer::dql {

namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCode::invalid_argument, "query: " + message);
}

// ---- Lexer -------------------------------------------------------------------------------------

struct Token {
  enum class Kind { word, quoted_name, string, number, parameter, symbol, end };
  Kind kind = Kind::end;
  std::string text;  // the word, name, string contents, number text, parameter name or symbol
  size_t position = 0;
};

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string upper(std::string_view word) {
  std::string out(word);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::vector<Token> lex(std::string_view text) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const size_t start = i;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    Token token;
    token.position = start + 1;
    if (is_name_start(c)) {
      while (i < text.size() && is_name_char(text[i])) ++i;
      token.kind = Token::Kind::word;
      token.text = std::string(text.substr(start, i - start));
    } else if (c == ':') {
      ++i;
      while (i < text.size() && is_name_char(text[i])) ++i;
      if (i == start + 1 || is_digit(text[start + 1])) {
        fail(fmt::format("expected a parameter name after ':' at position {}", start + 1));
      }
      token.kind = Token::Kind::parameter;
      token.text = std::string(text.substr(start + 1, i - start - 1));
    } else if (c == '`' || c == '\'' || c == '"') {
      // Quotes inside are doubled, as in SQL: 'it''s', `odd``name`.
      ++i;
      std::string contents;
      for (;;) {
        if (i >= text.size()) fail(fmt::format("unterminated {} at position {}", c == '`' ? "name" : "string", start + 1));
        if (text[i] == c) {
          if (i + 1 < text.size() && text[i + 1] == c) {
            contents += c;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        contents += text[i++];
      }
      token.kind = c == '`' ? Token::Kind::quoted_name : Token::Kind::string;
      token.text = std::move(contents);
    } else if (is_digit(c) || (c == '.' && i + 1 < text.size() && is_digit(text[i + 1]))) {
      while (i < text.size() && is_digit(text[i])) ++i;
      if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && is_digit(text[i])) ++i;
      }
      if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
        if (i >= text.size() || !is_digit(text[i])) fail(fmt::format("malformed number at position {}", start + 1));
        while (i < text.size() && is_digit(text[i])) ++i;
      }
      if (i < text.size() && is_name_char(text[i])) fail(fmt::format("malformed number at position {}", start + 1));
      token.kind = Token::Kind::number;
      token.text = std::string(text.substr(start, i - start));
    } else {
      static constexpr std::string_view kTwoChar[] = {"!=", "<>", "<=", ">="};
      token.kind = Token::Kind::symbol;
      for (auto two : kTwoChar) {
        if (text.substr(i, 2) == two) token.text = std::string(two);
      }
      if (token.text.empty()) {
        if (std::string_view("*,.()=<>;-").find(c) == std::string_view::npos) {
          const auto byte = static_cast<unsigned char>(c);
          fail(byte >= 0x20 && byte < 0x7f ? fmt::format("unexpected character '{}' at position {}", c, start + 1)
                                           : fmt::format("unexpected byte 0x{:02x} at position {}", byte, start + 1));
        }
        token.text = std::string(1, c);
      }
      i += token.text.size();
    }
    tokens.push_back(std::move(token));
  }
  tokens.push_back(Token{Token::Kind::end, {}, text.size() + 1});
  return tokens;
}

// ---- Parser ------------------------------------------------------------------------------------

Value number_value(const std::string& text, size_t position) {
  Value v;
  v.type = Value::Type::number;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (text.find_first_of(".eE") == std::string::npos) {
    int64_t n = 0;
    if (std::from_chars(first, last, n).ec == std::errc{}) {
      v.integer = n;
      v.number = static_cast<double>(n);
      return v;
    }
  }
  const auto [ptr, ec] = std::from_chars(first, last, v.number);
  if (ec != std::errc{} || ptr != last) fail(fmt::format("number {} at position {} is out of range", text, position));
  return v;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(lex(text)) {}

  Statement statement() {
    Statement s;
    const Token& first = peek();
    if (!is_keyword(first, "SELECT")) {
      if (first.kind == Token::Kind::word) {
        fail(fmt::format("only SELECT statements can run here (read-only); found {} at position {}", upper(first.text),
                         first.position));
      }
      expected("SELECT");
    }
    next();
    projections(s);
    expect_keyword("FROM");
    const Token& name = next();
    if ((name.kind == Token::Kind::word && !is_reserved(name.text)) || name.kind == Token::Kind::quoted_name) {
      s.collection = name.text;
    } else {
      expected_at(name, "a collection name");
    }
    if (s.collection.empty() || s.collection.size() > 256 || s.collection.find('\0') != std::string::npos) {
      fail(fmt::format("collection name at position {} must be 1 to 256 bytes with no NUL", name.position));
    }
    if (accept_keyword("WHERE")) s.where = or_expression(0);
    if (accept_keyword("GROUP")) {
      expect_keyword("BY");
      do {
        s.group_by.push_back(path());
      } while (accept_symbol(","));
    }
    if (accept_keyword("ORDER")) {
      expect_keyword("BY");
      do {
        OrderKey key;
        if (is_keyword(peek(), "COUNT")) {
          count_star();
          key.count = true;
        } else {
          key.path = path();
        }
        if (accept_keyword("DESC")) {
          key.descending = true;
        } else {
          accept_keyword("ASC");
        }
        s.order_by.push_back(std::move(key));
      } while (accept_symbol(","));
    }
    if (accept_keyword("LIMIT")) s.limit = count_value("LIMIT");
    if (accept_keyword("OFFSET")) s.offset = count_value("OFFSET");
    accept_symbol(";");
    if (peek().kind != Token::Kind::end) expected("the end of the query");
    check_shape(s);
    return s;
  }

 private:
  static bool is_reserved(const std::string& word) {
    static constexpr std::string_view kReserved[] = {"SELECT", "FROM",  "WHERE",   "GROUP", "ORDER", "BY",   "ASC",
                                                     "DESC",   "LIMIT", "OFFSET",  "AND",   "OR",    "NOT",  "IN",
                                                     "IS",     "NULL",  "MISSING", "LIKE",  "AS",    "TRUE", "FALSE"};
    const std::string u = upper(word);
    return std::find(std::begin(kReserved), std::end(kReserved), u) != std::end(kReserved);
  }
  static bool is_keyword(const Token& t, std::string_view keyword) {
    return t.kind == Token::Kind::word && upper(t.text) == keyword;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::end:
        return "the end of the query";
      case Token::Kind::string:
        return fmt::format("the string '{}'", t.text);
      case Token::Kind::parameter:
        return ":" + t.text;
      case Token::Kind::quoted_name:
        return "`" + t.text + "`";
      default:
        return "'" + t.text + "'";
    }
  }
  [[noreturn]] static void expected_at(const Token& t, std::string_view what) {
    fail(fmt::format("expected {} at position {}, found {}", what, t.position, describe(t)));
  }
  [[noreturn]] void expected(std::string_view what) const { expected_at(peek(), what); }

  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (index_ < tokens_.size() - 1) ++index_;
    return t;
  }
  bool accept_keyword(std::string_view keyword) {
    if (!is_keyword(peek(), keyword)) return false;
    next();
    return true;
  }
  void expect_keyword(std::string_view keyword) {
    if (!accept_keyword(keyword)) expected(keyword);
  }
  bool accept_symbol(std::string_view symbol) {
    if (peek().kind != Token::Kind::symbol || peek().text != symbol) return false;
    next();
    return true;
  }
  void expect_symbol(std::string_view symbol) {
    if (!accept_symbol(symbol)) expected(fmt::format("'{}'", symbol));
  }

  void count_star() {
    next();  // COUNT
    expect_symbol("(");
    expect_symbol("*");
    expect_symbol(")");
  }

  /// A field name segment: a word (reserved words only after a dot) or a `quoted` name.
  std::string segment(bool first) {
    const Token& t = next();
    if (t.kind == Token::Kind::quoted_name) {
      if (t.text.empty()) fail(fmt::format("empty field name at position {}", t.position));
      // SQLite's JSON paths cannot quote these, and an all-digit name would index arrays in PostgreSQL.
      if (t.text.find_first_of("\"\\") != std::string::npos || t.text.find('\0') != std::string::npos ||
          std::all_of(t.text.begin(), t.text.end(), is_digit)) {
        fail(fmt::format("field name `{}` at position {} may not contain \", \\ or NUL, nor be all digits", t.text, t.position));
      }
      return t.text;
    }
    if (t.kind == Token::Kind::word && (!first || !is_reserved(t.text))) return t.text;
    expected_at(t, "a field name");
  }

  Path path() {
    Path p;
    const size_t start = peek().position;
    p.segments.push_back(segment(true));
    p.text = p.segments.back();
    while (accept_symbol(".")) {
      p.segments.push_back(segment(false));
      p.text += "." + p.segments.back();
    }
    if (p.segments.size() > kMaxNesting) fail(fmt::format("field path at position {} is deeper than {}", start, kMaxNesting));
    return p;
  }

  void projections(Statement& s) {
    if (accept_symbol("*")) {
      s.select_all = true;
      return;
    }
    do {
      Projection p;
      if (is_keyword(peek(), "COUNT") && peek(1).kind == Token::Kind::symbol && peek(1).text == "(") {
        count_star();
        p.count = true;
        p.name = "count";
      } else {
        p.path = path();
        p.name = p.path.segments.back();
      }
      if (accept_keyword("AS")) p.name = segment(false);
      for (const auto& other : s.projections) {
        if (other.name == p.name) fail(fmt::format("two result fields are named {}; rename one with AS", p.name));
      }
      s.projections.push_back(std::move(p));
    } while (accept_symbol(","));
  }

  Count count_value(std::string_view clause) {
    Count c;
    const Token& t = next();
    c.position = t.position;
    if (t.kind == Token::Kind::parameter) {
      c.parameter = t.text;
      return c;
    }
    if (t.kind == Token::Kind::number) {
      const Value v = number_value(t.text, t.position);
      if (v.integer && *v.integer >= 0) {
        c.literal = *v.integer;
        return c;
      }
    }
    fail(fmt::format("{} at position {} needs a whole number of 0 or more, found {}", clause, t.position, describe(t)));
  }

  void check_depth(size_t depth) const {
    if (depth > kMaxNesting) fail(fmt::format("conditions nest deeper than {} at position {}", kMaxNesting, peek().position));
  }

  ExprPtr node(Expr::Kind kind, size_t position) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->position = position;
    return e;
  }

  ExprPtr or_expression(size_t depth) {
    check_depth(depth);
    auto left = and_expression(depth);
    if (!is_keyword(peek(), "OR")) return left;
    auto any = node(Expr::Kind::any_of, left->position);
    any->children.push_back(std::move(left));
    while (accept_keyword("OR")) any->children.push_back(and_expression(depth));
    return any;
  }

  ExprPtr and_expression(size_t depth) {
    auto left = not_expression(depth);
    if (!is_keyword(peek(), "AND")) return left;
    auto all = node(Expr::Kind::all_of, left->position);
    all->children.push_back(std::move(left));
    while (accept_keyword("AND")) all->children.push_back(not_expression(depth));
    return all;
  }

  ExprPtr not_expression(size_t depth) {
    check_depth(depth);
    if (is_keyword(peek(), "NOT")) {
      auto e = node(Expr::Kind::negation, next().position);
      e->children.push_back(not_expression(depth + 1));
      return e;
    }
    return predicate(depth);
  }

  ExprPtr predicate(size_t depth) {
    if (peek().kind == Token::Kind::symbol && peek().text == "(") {
      next();
      auto inner = or_expression(depth + 1);
      expect_symbol(")");
      return inner;
    }
    auto left = operand();
    const Token& t = peek();
    static constexpr std::string_view kComparisons[] = {"=", "!=", "<>", "<", "<=", ">", ">="};
    if (t.kind == Token::Kind::symbol &&
        std::find(std::begin(kComparisons), std::end(kComparisons), t.text) != std::end(kComparisons)) {
      auto e = node(Expr::Kind::compare, next().position);
      e->name = t.text == "<>" ? "!=" : t.text;
      e->children.push_back(std::move(left));
      e->children.push_back(operand());
      return e;
    }
    if (is_keyword(t, "IS")) {
      const size_t position = next().position;
      const bool negated = accept_keyword("NOT");
      ExprPtr e;
      if (accept_keyword("NULL")) {
        e = node(Expr::Kind::is_null, position);
      } else if (accept_keyword("MISSING")) {
        e = node(Expr::Kind::is_missing, position);
      } else {
        expected("NULL or MISSING");
      }
      e->negated = negated;
      e->children.push_back(std::move(left));
      return e;
    }
    const bool negated = is_keyword(t, "NOT") && (is_keyword(peek(1), "IN") || is_keyword(peek(1), "LIKE"));
    if (negated) next();
    if (is_keyword(peek(), "IN")) {
      auto e = node(Expr::Kind::in_list, next().position);
      e->negated = negated;
      e->children.push_back(std::move(left));
      expect_symbol("(");
      do {
        if (e->children.size() > kMaxInValues) fail(fmt::format("IN lists hold at most {} values", kMaxInValues));
        auto value = operand();
        if (value->kind == Expr::Kind::path) {
          fail(fmt::format("IN lists hold values, not fields ({} at position {})", value->path.text, value->position));
        }
        e->children.push_back(std::move(value));
      } while (accept_symbol(","));
      expect_symbol(")");
      return e;
    }
    if (is_keyword(peek(), "LIKE")) {
      auto e = node(Expr::Kind::like, next().position);
      e->negated = negated;
      e->children.push_back(std::move(left));
      auto pattern = operand();
      if (pattern->kind == Expr::Kind::path) {
        fail(fmt::format("LIKE at position {} needs a string pattern, not a field", e->position));
      }
      e->children.push_back(std::move(pattern));
      return e;
    }
    expected("a comparison (=, !=, <, <=, >, >=, IN, IS, LIKE)");
  }

  ExprPtr operand() {
    const Token& t = peek();
    switch (t.kind) {
      case Token::Kind::parameter: {
        auto e = node(Expr::Kind::parameter, next().position);
        e->name = t.text;
        return e;
      }
      case Token::Kind::string: {
        auto e = node(Expr::Kind::literal, next().position);
        e->value.type = Value::Type::string;
        e->value.string = t.text;
        return e;
      }
      case Token::Kind::number: {
        auto e = node(Expr::Kind::literal, next().position);
        e->value = number_value(t.text, t.position);
        return e;
      }
      case Token::Kind::symbol:
        if (t.text == "-" && peek(1).kind == Token::Kind::number) {
          const size_t position = next().position;
          auto e = node(Expr::Kind::literal, position);
          e->value = number_value("-" + next().text, position);
          return e;
        }
        break;
      case Token::Kind::word: {
        const std::string u = upper(t.text);
        if (u == "TRUE" || u == "FALSE" || u == "NULL") {
          auto e = node(Expr::Kind::literal, next().position);
          e->value.type = u == "NULL" ? Value::Type::null : Value::Type::boolean;
          e->value.boolean = u == "TRUE";
          return e;
        }
        break;
      }
      default:
        break;
    }
    if (t.kind == Token::Kind::word || t.kind == Token::Kind::quoted_name) {
      auto e = node(Expr::Kind::path, t.position);
      e->path = path();
      return e;
    }
    expected("a field, a value or a :parameter");
  }

  static void check_shape(const Statement& s) {
    if (!s.aggregate()) {
      for (const auto& key : s.order_by) {
        if (key.count) fail("ORDER BY COUNT(*) needs COUNT(*) in the SELECT list");
      }
      return;
    }
    if (s.select_all) fail("SELECT * cannot be grouped; name the GROUP BY fields and COUNT(*)");
    auto grouped = [&](const Path& p) { return std::find(s.group_by.begin(), s.group_by.end(), p) != s.group_by.end(); };
    for (const auto& p : s.projections) {
      if (!p.count && !grouped(p.path)) fail(fmt::format("{} is selected but not in GROUP BY", p.path.text));
    }
    for (const auto& key : s.order_by) {
      if (key.count || grouped(key.path)) continue;
      const bool is_count_alias = key.path.segments.size() == 1 &&
                                  std::any_of(s.projections.begin(), s.projections.end(),
                                              [&](const Projection& p) { return p.count && p.name == key.path.segments[0]; });
      if (!is_count_alias) {
        fail(fmt::format("ORDER BY {} in a grouped query must name a GROUP BY field or COUNT(*)", key.path.text));
      }
    }
  }

  std::vector<Token> tokens_;
  size_t index_ = 0;
};

// ---- Translator --------------------------------------------------------------------------------

/// A value's JSON type class, as comparisons see it.
enum class Class { number, string, boolean };

/// The SQL that reads one field of the document, per dialect.
struct FieldSql {
  std::string type;  // the field's JSON type name, NULL when missing
  std::string raw;   // SQLite: json_extract (typed SQL value); PostgreSQL: #>> (text)
  std::string json;  // the field's JSON text, NULL when missing
  // Set for a field the store keeps in a column of its own (the top-level _id): always present,
  // always of this class, compared and sorted as the column itself, so the column's index serves.
  std::optional<Class> column;
};

class Translator {
 public:
  Translator(const Statement& s, std::string_view args_json, Dialect dialect) : s_(s), dialect_(dialect) {
    if (!args_json.empty() && args_json != "null") {
      if (parser_.parse(args_json.data(), args_json.size()).get(args_document_)) fail("the arguments are not valid JSON");
      if (args_document_.get_object().get(args_)) fail("the arguments must be a JSON object of :name values");
      has_args_ = true;
    }
  }

  SqlQuery translate(size_t row_cap, std::string_view own_table) {
    const bool system = s_.collection.starts_with("__");
    const std::string table = !own_table.empty() ? std::string(own_table) : system ? "system_documents" : "user_documents";
    std::string where = pg() ? "NOT deleted" : "deleted=0";
    if (own_table.empty()) where = fmt::format("collection={} AND {}", bind_text(s_.collection), where);
    if (s_.where) where += " AND " + condition(*s_.where);

    std::string sql;
    std::vector<std::string> order;
    if (s_.aggregate()) {
      std::vector<std::string> columns;
      std::vector<std::string> group_keys;
      for (const auto& p : s_.group_by) {
        const FieldSql f = field(p);
        columns.push_back(fmt::format("MIN({})", f.json));
        for (auto& key : sort_keys(p)) group_keys.push_back(std::move(key));
        group_keys.push_back(fmt::format("CASE WHEN {} IN ('array','object') THEN {} END", f.type, f.json));
      }
      columns.emplace_back("COUNT(*)");
      sql = fmt::format("SELECT {} FROM {} WHERE {}", fmt::join(columns, ", "), table, where);
      if (!group_keys.empty()) sql += fmt::format(" GROUP BY {}", fmt::join(group_keys, ", "));
      for (const auto& key : s_.order_by) {
        if (key.count || !(std::find(s_.group_by.begin(), s_.group_by.end(), key.path) != s_.group_by.end())) {
          order.push_back(key.descending ? "COUNT(*) DESC" : "COUNT(*)");
        } else {
          for (auto& k : sort_keys(key.path)) order.push_back(k + (key.descending ? " DESC" : ""));
        }
      }
      for (auto& key : group_keys) order.push_back(std::move(key));
    } else {
      sql = fmt::format("SELECT body FROM {} WHERE {}", table, where);
      for (const auto& key : s_.order_by) {
        for (auto& k : sort_keys(key.path)) order.push_back(k + (key.descending ? " DESC" : ""));
      }
      order.emplace_back("id");
    }
    if (!order.empty()) sql += fmt::format(" ORDER BY {}", fmt::join(order, ", "));

    std::optional<int64_t> limit = s_.limit ? std::optional(count(*s_.limit, "LIMIT")) : std::nullopt;
    if (row_cap > 0 && (!limit || *limit > static_cast<int64_t>(row_cap))) limit = static_cast<int64_t>(row_cap) + 1;
    const int64_t offset = s_.offset ? count(*s_.offset, "OFFSET") : 0;
    if (limit) {
      sql += fmt::format(" LIMIT {}", bind_integer(*limit));
    } else if (offset > 0 && !pg()) {
      sql += " LIMIT -1";
    }
    if (offset > 0) sql += fmt::format(" OFFSET {}", bind_integer(offset));
    return SqlQuery{std::move(sql), std::move(params_)};
  }

 private:
  [[nodiscard]] bool pg() const { return dialect_ == Dialect::postgres; }
  [[nodiscard]] std::string unknown() const { return pg() ? "CAST(NULL AS BOOLEAN)" : "NULL"; }
  [[nodiscard]] std::string truth(bool value) const {
    if (pg()) return value ? "TRUE" : "FALSE";
    return value ? "1" : "0";
  }

  std::string placeholder() const { return fmt::format("{}{}", pg() ? "$" : "?", params_.size()); }
  std::string bind_text(std::string text) {
    params_.push_back(SqlParam{SqlParam::Type::text, std::move(text)});
    return pg() ? placeholder() + "::text" : placeholder();
  }
  std::string bind_integer(int64_t value) {
    params_.push_back(SqlParam{SqlParam::Type::integer, std::to_string(value), value});
    return pg() ? placeholder() + "::bigint" : placeholder();
  }

  /// The SQL for a literal of class `c`.
  std::string bind_value(const Value& v) {
    SqlParam p;
    switch (v.type) {
      case Value::Type::number:
        if (v.integer) {
          p = SqlParam{SqlParam::Type::integer, std::to_string(*v.integer), *v.integer};
        } else {
          p = SqlParam{SqlParam::Type::real, fmt::format("{}", v.number), 0, v.number};
        }
        params_.push_back(std::move(p));
        return pg() ? placeholder() + "::numeric" : placeholder();
      case Value::Type::boolean:
        params_.push_back(SqlParam{SqlParam::Type::integer, v.boolean ? "true" : "false", v.boolean ? 1 : 0});
        return pg() ? placeholder() + "::boolean" : placeholder();
      case Value::Type::string:
        params_.push_back(SqlParam{SqlParam::Type::text, v.string});
        return pg() ? placeholder() + "::text COLLATE \"C\"" : placeholder();
      default:
        throw Error(ErrorCode::internal, "query: only numbers, strings and booleans are bound");
    }
  }

  /// The field's SQL, binding its path once per query (so GROUP BY and ORDER BY repeat identical
  /// expressions, which PostgreSQL requires).
  const FieldSql& field(const Path& p) {
    auto it = fields_.find(p.segments);
    if (it != fields_.end()) return it->second;
    FieldSql f;
    if (p.segments.size() == 1 && p.segments.front() == "_id") {
      // The store keeps _id in its own column (the key, with the collection), equal to the body's
      // _id and always a string; its collation is byte order on both backends (BINARY, "C").
      f.type = pg() ? "'string'" : "'text'";
      f.raw = "id";
      f.json = pg() ? "to_jsonb(id)::text" : "json_quote(id)";
      f.column = Class::string;
    } else if (pg()) {
      std::vector<std::string> segments;
      for (const auto& s : p.segments) segments.push_back(bind_text(s));
      const std::string array = fmt::format("ARRAY[{}]", fmt::join(segments, ","));
      f.type = fmt::format("jsonb_typeof(body::jsonb #> {})", array);
      f.raw = fmt::format("(body::jsonb #>> {})", array);
      f.json = fmt::format("(body::jsonb #> {})::text", array);
    } else {
      std::string json_path = "$";
      for (const auto& s : p.segments) json_path += fmt::format(".\"{}\"", s);
      const std::string param = bind_text(std::move(json_path));
      f.type = fmt::format("json_type(body, {})", param);
      f.raw = fmt::format("json_extract(body, {})", param);
      f.json = fmt::format("(body -> {})", param);
    }
    return fields_.emplace(p.segments, std::move(f)).first->second;
  }

  [[nodiscard]] std::string is_class(const FieldSql& f, Class c) const {
    if (f.column) return truth(*f.column == c);
    switch (c) {
      case Class::number:
        return pg() ? f.type + " = 'number'" : f.type + " IN ('integer','real')";
      case Class::string:
        return pg() ? f.type + " = 'string'" : f.type + " = 'text'";
      case Class::boolean:
        return pg() ? f.type + " = 'boolean'" : f.type + " IN ('true','false')";
    }
    return {};
  }
  [[nodiscard]] std::string as_class(const FieldSql& f, Class c) const {
    if (!pg()) return f.raw;
    switch (c) {
      case Class::number:
        return f.raw + "::numeric";
      case Class::string:
        return f.raw + " COLLATE \"C\"";
      case Class::boolean:
        return f.raw + "::boolean";
    }
    return {};
  }

  /// ORDER BY keys for a field: its type rank, then its value within the type (a column field has
  /// one type: just its value).
  std::vector<std::string> sort_keys(const Path& p) {
    const FieldSql f = field(p);
    if (f.column) return {f.raw};
    if (pg()) {
      return {fmt::format("CASE {} WHEN 'null' THEN 1 WHEN 'boolean' THEN 2 WHEN 'number' THEN 3 WHEN 'string' THEN 4 "
                          "WHEN 'array' THEN 5 WHEN 'object' THEN 6 ELSE 0 END",
                          f.type),
              fmt::format("CASE WHEN {} THEN {} END", is_class(f, Class::boolean), as_class(f, Class::boolean)),
              fmt::format("CASE WHEN {} THEN {} END", is_class(f, Class::number), as_class(f, Class::number)),
              fmt::format("CASE WHEN {} THEN {} END", is_class(f, Class::string), as_class(f, Class::string))};
    }
    return {fmt::format("CASE {} WHEN 'null' THEN 1 WHEN 'false' THEN 2 WHEN 'true' THEN 2 WHEN 'integer' THEN 3 "
                        "WHEN 'real' THEN 3 WHEN 'text' THEN 4 WHEN 'array' THEN 5 WHEN 'object' THEN 6 ELSE 0 END",
                        f.type),
            fmt::format("CASE WHEN {} IN ('array','object') THEN NULL ELSE {} END", f.type, f.raw)};
  }

  /// The value of a :name argument.
  Value argument(const Expr& e) {
    simdjson::dom::element element;
    if (!has_args_ || args_[e.name].get(element)) {
      fail(fmt::format("argument :{} (position {}) is not given", e.name, e.position));
    }
    return from_json(element, e);
  }
  static Value from_json(simdjson::dom::element element, const Expr& e) {
    Value v;
    switch (element.type()) {
      case simdjson::dom::element_type::NULL_VALUE:
        break;
      case simdjson::dom::element_type::BOOL:
        v.type = Value::Type::boolean;
        v.boolean = element.get_bool().value_unsafe();
        break;
      case simdjson::dom::element_type::INT64:
        v.type = Value::Type::number;
        v.integer = element.get_int64().value_unsafe();
        v.number = static_cast<double>(*v.integer);
        break;
      case simdjson::dom::element_type::UINT64:
      case simdjson::dom::element_type::DOUBLE:
        v.type = Value::Type::number;
        v.number = element.get_double().value_unsafe();
        break;
      case simdjson::dom::element_type::STRING:
        v.type = Value::Type::string;
        v.string = std::string(element.get_string().value_unsafe());
        break;
      case simdjson::dom::element_type::ARRAY: {
        v.type = Value::Type::array;
        const simdjson::dom::array items = element.get_array().value_unsafe();
        for (auto item : items) {
          if (item.type() == simdjson::dom::element_type::ARRAY || item.type() == simdjson::dom::element_type::OBJECT) {
            fail(fmt::format("argument :{} holds a list or object inside its list", e.name));
          }
          v.items.push_back(from_json(item, e));
        }
        break;
      }
      case simdjson::dom::element_type::OBJECT:
        fail(fmt::format("argument :{} is an object; only numbers, strings, booleans, null and lists can be compared", e.name));
    }
    return v;
  }

  /// A literal or argument operand's value.
  Value value_of(const Expr& e) {
    Value v = e.kind == Expr::Kind::parameter ? argument(e) : e.value;
    return v;
  }
  static std::optional<Class> class_of(const Value& v) {
    switch (v.type) {
      case Value::Type::number:
        return Class::number;
      case Value::Type::string:
        return Class::string;
      case Value::Type::boolean:
        return Class::boolean;
      default:
        return std::nullopt;
    }
  }

  int64_t count(const Count& c, std::string_view clause) {
    if (c.literal) return *c.literal;
    Expr e;
    e.kind = Expr::Kind::parameter;
    e.name = c.parameter;
    e.position = c.position;
    const Value v = argument(e);
    if (v.type != Value::Type::number || !v.integer || *v.integer < 0) {
      fail(fmt::format("{} argument :{} must be a whole number of 0 or more", clause, c.parameter));
    }
    return *v.integer;
  }

  std::string compare(const Expr& left, const std::string& op, const Expr& right) {
    const std::string sql_op = op == "!=" ? "<>" : op;
    const bool left_field = left.kind == Expr::Kind::path;
    const bool right_field = right.kind == Expr::Kind::path;
    if (left_field && right_field) {
      const FieldSql a = field(left.path);
      const FieldSql b = field(right.path);
      std::string sql = "(CASE";
      for (Class c : {Class::number, Class::string, Class::boolean}) {
        sql +=
            fmt::format(" WHEN {} AND {} THEN {} {} {}", is_class(a, c), is_class(b, c), as_class(a, c), sql_op, as_class(b, c));
      }
      return sql + " END)";
    }
    if (!left_field && !right_field) {
      const Value a = value_of(left);
      const Value b = value_of(right);
      check_comparable(a, left);
      check_comparable(b, right);
      const auto ca = class_of(a);
      if (!ca || ca != class_of(b)) return unknown();
      return fmt::format("({} {} {})", bind_value(a), sql_op, bind_value(b));
    }
    const Expr& field_side = left_field ? left : right;
    const Expr& value_side = left_field ? right : left;
    const Value v = value_of(value_side);
    check_comparable(v, value_side);
    const auto c = class_of(v);
    if (!c) return unknown();  // = NULL is unknown, as in SQL: IS NULL asks
    const FieldSql f = field(field_side.path);
    if (f.column) {
      // No CASE around it, so the column's index can serve the comparison.
      if (*f.column != *c) return unknown();
      const std::string value = bind_value(v);
      return left_field ? fmt::format("({} {} {})", f.raw, sql_op, value) : fmt::format("({} {} {})", value, sql_op, f.raw);
    }
    const std::string value = bind_value(v);
    const std::string field_value = as_class(f, *c);
    return fmt::format("(CASE WHEN {} THEN {} {} {} END)", is_class(f, *c), left_field ? field_value : value, sql_op,
                       left_field ? value : field_value);
  }
  static void check_comparable(const Value& v, const Expr& e) {
    if (v.type == Value::Type::array) {
      fail(fmt::format("argument :{} (position {}) is a list; only IN takes a list", e.name, e.position));
    }
  }

  std::string condition(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::compare:
        return compare(*e.children[0], e.name, *e.children[1]);
      case Expr::Kind::all_of:
      case Expr::Kind::any_of: {
        std::vector<std::string> parts;
        for (const auto& child : e.children) parts.push_back(condition(*child));
        return fmt::format("({})", fmt::join(parts, e.kind == Expr::Kind::all_of ? " AND " : " OR "));
      }
      case Expr::Kind::negation:
        return fmt::format("(NOT {})", condition(*e.children[0]));
      case Expr::Kind::in_list: {
        std::vector<Expr> values;
        for (size_t i = 1; i < e.children.size(); ++i) {
          const Expr& item = *e.children[i];
          Value v = value_of(item);
          std::vector<Value> expanded;
          if (v.type == Value::Type::array) {
            expanded = std::move(v.items);
          } else {
            expanded.push_back(std::move(v));
          }
          for (auto& x : expanded) {
            Expr literal;
            literal.kind = Expr::Kind::literal;
            literal.position = item.position;
            literal.value = std::move(x);
            values.push_back(std::move(literal));
          }
        }
        if (values.size() > kMaxInValues) fail(fmt::format("IN lists hold at most {} values", kMaxInValues));
        if (values.empty()) return truth(e.negated);
        std::vector<std::string> parts;
        parts.reserve(values.size());
        for (const auto& v : values) parts.push_back(compare(*e.children[0], "=", v));
        const std::string any = fmt::format("({})", fmt::join(parts, " OR "));
        return e.negated ? fmt::format("(NOT {})", any) : any;
      }
      case Expr::Kind::is_null:
      case Expr::Kind::is_missing: {
        const Expr& operand = *e.children[0];
        bool holds = false;
        if (operand.kind == Expr::Kind::path) {
          const FieldSql f = field(operand.path);
          const std::string test = e.kind == Expr::Kind::is_null ? fmt::format("COALESCE({} = 'null', {})", f.type, truth(false))
                                                                 : fmt::format("({} IS NULL)", f.type);
          return e.negated ? fmt::format("(NOT {})", test) : test;
        }
        holds = e.kind == Expr::Kind::is_null && value_of(operand).type == Value::Type::null;
        return truth(holds != e.negated);
      }
      case Expr::Kind::like: {
        const Value pattern = value_of(*e.children[1]);
        if (pattern.type != Value::Type::string) {
          fail(fmt::format("LIKE at position {} needs a string pattern", e.position));
        }
        const Expr& subject = *e.children[0];
        std::string test;
        if (subject.kind != Expr::Kind::path) {
          const Value v = value_of(subject);
          test = v.type == Value::Type::string ? truth(like_matches(v.string, pattern.string, e.position)) : unknown();
        } else {
          const FieldSql f = field(subject.path);
          test = pg() ? fmt::format("(CASE WHEN {} THEN {} LIKE {} END)", is_class(f, Class::string), f.raw,
                                    bind_text(checked_like(pattern.string, e.position)))
                      : fmt::format("(CASE WHEN {} THEN {} GLOB {} END)", is_class(f, Class::string), f.raw,
                                    bind_text(glob_of(pattern.string, e.position)));
        }
        return e.negated ? fmt::format("(NOT {})", test) : test;
      }
      default:
        fail(fmt::format("expected a condition at position {}", e.position));
    }
  }

  /// A LIKE pattern as it is, after checking that it does not end inside an escape.
  static std::string checked_like(const std::string& pattern, size_t position) {
    size_t i = 0;
    while (i < pattern.size()) {
      if (pattern[i] == '\\') {
        if (i + 1 == pattern.size()) fail(fmt::format("LIKE pattern at position {} ends with the escape character \\", position));
        ++i;
      }
      ++i;
    }
    return pattern;
  }
  /// LIKE's pattern (% any run, _ one character, \ escapes) as SQLite's case-sensitive GLOB.
  static std::string glob_of(const std::string& pattern, size_t position) {
    checked_like(pattern, position);
    std::string glob;
    for (size_t i = 0; i < pattern.size(); ++i) {
      const char c = pattern[i];
      if (c == '\\') {
        const char literal = pattern[++i];
        if (literal == '*' || literal == '?' || literal == '[') {
          glob += fmt::format("[{}]", literal);
        } else {
          glob += literal;
        }
      } else if (c == '%') {
        glob += '*';
      } else if (c == '_') {
        glob += '?';
      } else if (c == '*' || c == '?' || c == '[') {
        glob += fmt::format("[{}]", c);
      } else {
        glob += c;
      }
    }
    return glob;
  }
  /// LIKE between two known strings, evaluated here (a character is one UTF-8 sequence).
  static bool like_matches(std::string_view text, const std::string& pattern, size_t position) {
    checked_like(pattern, position);
    auto char_length = [](std::string_view s, size_t at) {
      size_t n = 1;
      while (at + n < s.size() && (static_cast<unsigned char>(s[at + n]) & 0xC0) == 0x80) ++n;
      return n;
    };
    // Iterative matcher with one backtrack point for the last %.
    size_t t = 0;
    size_t p = 0;
    std::optional<std::pair<size_t, size_t>> star;
    while (t < text.size()) {
      if (p < pattern.size() && pattern[p] == '%') {
        star = {++p, t};
        continue;
      }
      if (p < pattern.size()) {
        if (pattern[p] == '_') {
          t += char_length(text, t);
          ++p;
          continue;
        }
        const size_t literal = pattern[p] == '\\' ? p + 1 : p;
        if (text[t] == pattern[literal]) {
          ++t;
          p = literal + 1;
          continue;
        }
      }
      if (!star) return false;
      p = star->first;
      t = star->second + char_length(text, star->second);
      star->second = t;
    }
    while (p < pattern.size() && pattern[p] == '%') ++p;
    return p == pattern.size();
  }

  const Statement& s_;
  Dialect dialect_;
  simdjson::dom::parser parser_;
  simdjson::dom::element args_document_;
  simdjson::dom::object args_;
  bool has_args_ = false;
  std::vector<SqlParam> params_;
  std::map<std::vector<std::string>, FieldSql> fields_;
};

/// Minifies JSON text from a backend (PostgreSQL's jsonb text has spaces) through `parser`.
std::string minified(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element element;
  if (parser.parse(json).get(element)) throw Error(ErrorCode::internal, "query: the store returned a value that is not JSON");
  return simdjson::minify(element);
}

}  // namespace

bool Statement::aggregate() const {
  return !group_by.empty() || std::any_of(projections.begin(), projections.end(), [](const Projection& p) { return p.count; });
}

Statement parse(std::string_view text) {
  if (text.size() > kMaxQueryBytes) {
    throw Error(ErrorCode::validation, fmt::format("query: {} bytes is over the {} byte limit", text.size(), kMaxQueryBytes));
  }
  return Parser(text).statement();
}

Plan translate(const Statement& statement, std::string_view args_json, Dialect dialect, size_t row_cap,
               std::string_view own_table) {
  Translator translator(statement, args_json, dialect);
  return Plan{translator.translate(row_cap, own_table), &statement, row_cap};
}

std::string shape_row(const Plan& plan, const SqlRow& row) {
  thread_local simdjson::dom::parser parser;
  const Statement& s = *plan.statement;
  if (s.aggregate()) {
    JsonWriter w;
    w.begin_object();
    for (const auto& p : s.projections) {
      if (p.count) {
        w.key(p.name).raw(row.back().value_or("0"));
        continue;
      }
      const auto at = static_cast<size_t>(std::find(s.group_by.begin(), s.group_by.end(), p.path) - s.group_by.begin());
      if (row[at]) w.key(p.name).raw(minified(parser, *row[at]));
    }
    return w.end_object().take();
  }
  const std::string& body = row.front().value_or("{}");
  if (s.select_all) return body;
  simdjson::dom::element document;
  if (parser.parse(body).get(document)) throw Error(ErrorCode::internal, "query: a stored document is not JSON");
  JsonWriter w;
  w.begin_object();
  for (const auto& p : s.projections) {
    simdjson::dom::element at = document;
    bool found = true;
    for (const auto& segment : p.path.segments) {
      simdjson::dom::object object;
      if (at.get_object().get(object) || object[segment].get(at)) {
        found = false;
        break;
      }
    }
    if (found) w.key(p.name).raw(simdjson::minify(at));
  }
  return w.end_object().take();
}

}  // namespace smallpeer::dql
