// Word expansion, [ ] / [[ ]] tests and $((...)) arithmetic of the static
// shell interpreter.
#include <algorithm>
#include <cctype>

#include "detectors/static_glob.h"
#include "detectors/static_shell_interpreter.h"

namespace entrytrace::shell {
namespace {

constexpr const char* kDefaultIfs = " \t\n";

// The first reason among the inputs of a computed value.
std::optional<std::string> first_unknown(
    std::initializer_list<const Text*> inputs) {
  for (const Text* input : inputs) {
    if (input->unknown) {
      return input->unknown;
    }
  }
  return std::nullopt;
}

std::optional<long long> parse_integer(const std::string& text) {
  std::string trimmed = text;
  trimmed.erase(0, trimmed.find_first_not_of(" \t\n"));
  trimmed.erase(trimmed.find_last_not_of(" \t\n") + 1);
  if (trimmed.empty()) {
    return std::nullopt;
  }
  size_t used = 0;
  try {
    const long long value = std::stoll(trimmed, &used, 0);
    if (used != trimmed.size()) {
      return std::nullopt;
    }
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string basename_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  const size_t slash = path.rfind('/');
  return slash == std::string::npos || path == "/" ? path
                                                   : path.substr(slash + 1);
}

std::string dirname_of(std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

// Recursive descent over the arguments of [ ] and [[ ]], lowest precedence
// first: -o and ||, -a and &&, !, then primaries.
class TestParser {
 public:
  TestParser(Interpreter& shell, const std::vector<TestArgument>& args)
      : shell_(shell), args_(args) {}

  Truth parse(std::string& unknown) {
    if (args_.empty()) {
      return Truth::kFalse;
    }
    Truth truth = parse_or();
    if (pos_ != args_.size()) {
      unknown_ = "a test expression it does not parse";
      truth = Truth::kUnknown;
    }
    unknown = unknown_;
    return truth;
  }

 private:
  bool is_operator_at(size_t i, std::initializer_list<const char*> names) {
    if (i >= args_.size() || !args_[i].can_be_operator ||
        !args_[i].value.known()) {
      return false;
    }
    return std::any_of(names.begin(), names.end(), [&](const char* name) {
      return args_[i].value.text == name;
    });
  }

  Truth combine(Truth left, Truth right, bool conjunction) {
    const Truth absorbing = conjunction ? Truth::kFalse : Truth::kTrue;
    if (left == absorbing || right == absorbing) {
      return absorbing;
    }
    if (left == Truth::kUnknown || right == Truth::kUnknown) {
      return Truth::kUnknown;
    }
    return conjunction ? Truth::kTrue : Truth::kFalse;
  }

  Truth parse_or() {
    Truth truth = parse_and();
    while (is_operator_at(pos_, {"-o", "||"})) {
      ++pos_;
      truth = combine(truth, parse_and(), false);
    }
    return truth;
  }

  Truth parse_and() {
    Truth truth = parse_not();
    while (is_operator_at(pos_, {"-a", "&&"})) {
      ++pos_;
      truth = combine(truth, parse_not(), true);
    }
    return truth;
  }

  Truth parse_not() {
    if (is_operator_at(pos_, {"!"}) && pos_ + 1 < args_.size()) {
      ++pos_;
      const Truth inner = parse_not();
      if (inner == Truth::kUnknown) {
        return inner;
      }
      return inner == Truth::kTrue ? Truth::kFalse : Truth::kTrue;
    }
    return parse_primary();
  }

  Truth unknown(const std::string& why) {
    if (unknown_.empty()) {
      unknown_ = why;
    }
    return Truth::kUnknown;
  }

  Truth parse_primary() {
    if (pos_ >= args_.size()) {
      return unknown("a test expression that ends early");
    }
    if (is_operator_at(pos_ + 1,
                       {"=", "==", "!=", "<", ">", "-eq", "-ne", "-lt", "-le",
                        "-gt", "-ge", "-nt", "-ot", "-ef", "=~"}) &&
        pos_ + 2 < args_.size()) {
      const TestArgument& left = args_[pos_];
      const std::string op = args_[pos_ + 1].value.text;
      const TestArgument& right = args_[pos_ + 2];
      pos_ += 3;
      return binary(left, op, right);
    }
    if (is_operator_at(pos_, {"("})) {
      ++pos_;
      const Truth inner = parse_or();
      if (!is_operator_at(pos_, {")"})) {
        return unknown("a test expression with an unclosed '('");
      }
      ++pos_;
      return inner;
    }
    if (args_[pos_].value.known() && args_[pos_].value.text.size() == 2 &&
        args_[pos_].value.text[0] == '-' && args_[pos_].can_be_operator &&
        pos_ + 1 < args_.size()) {
      const std::string op = args_[pos_].value.text;
      const TestArgument& operand = args_[pos_ + 1];
      pos_ += 2;
      return unary(op, operand);
    }
    const TestArgument& single = args_[pos_++];
    if (!single.value.known()) {
      return unknown(*single.value.unknown);
    }
    return single.value.text.empty() ? Truth::kFalse : Truth::kTrue;
  }

  static Truth truth_of(bool value) {
    return value ? Truth::kTrue : Truth::kFalse;
  }

  Truth unary(const std::string& op, const TestArgument& operand) {
    if (!operand.value.known()) {
      return unknown(*operand.value.unknown);
    }
    const std::string& text = operand.value.text;
    if (op == "-n") {
      return truth_of(!text.empty());
    }
    if (op == "-z") {
      return truth_of(text.empty());
    }
    std::string why;
    const Truth truth = shell_.file_test(op, text, why);
    return truth == Truth::kUnknown ? unknown(why) : truth;
  }

  Truth binary(const TestArgument& left, const std::string& op,
               const TestArgument& right) {
    if (auto why = first_unknown({&left.value, &right.value})) {
      return unknown(*why);
    }
    const std::string& a = left.value.text;
    const std::string& b = right.value.text;
    if (op == "=" || op == "==" || op == "!=") {
      // The pattern of [ ] arguments matches only their own text.
      const bool equal =
          right.pattern.known() ? glob_match(right.pattern.text, a) : a == b;
      return truth_of(op == "!=" ? !equal : equal);
    }
    if (op == "<") {
      return truth_of(a < b);
    }
    if (op == ">") {
      return truth_of(a > b);
    }
    if (op == "=~") {
      return unknown("a bash regular expression match (=~)");
    }
    if (op == "-nt" || op == "-ot" || op == "-ef") {
      return unknown("a file time or identity comparison (" + op + ")");
    }
    const auto x = parse_integer(a);
    const auto y = parse_integer(b);
    if (!x || !y) {
      // test reports "integer expression expected" with status 2.
      return Truth::kFalse;
    }
    if (op == "-eq") {
      return truth_of(*x == *y);
    }
    if (op == "-ne") {
      return truth_of(*x != *y);
    }
    if (op == "-lt") {
      return truth_of(*x < *y);
    }
    if (op == "-le") {
      return truth_of(*x <= *y);
    }
    if (op == "-gt") {
      return truth_of(*x > *y);
    }
    return truth_of(*x >= *y);
  }

  Interpreter& shell_;
  const std::vector<TestArgument>& args_;
  size_t pos_ = 0;
  std::string unknown_;
};

// Integer arithmetic of $((...)): + - * / % comparisons, && || ! and
// parentheses, on decimal, octal and hexadecimal numbers and variables.
class ArithmeticParser {
 public:
  ArithmeticParser(Interpreter& shell, std::string text)
      : shell_(shell), text_(std::move(text)) {}

  Text evaluate() {
    auto value = parse_binary(0);
    skip_spaces();
    if (!unknown_ && pos_ != text_.size()) {
      unknown_ = "arithmetic it does not parse: $((" + text_ + "))";
    }
    if (unknown_ || !value) {
      return unknown_text(unknown_.value_or("arithmetic: $((" + text_ + "))"));
    }
    return known_text(std::to_string(*value));
  }

 private:
  void skip_spaces() {
    while (pos_ < text_.size() &&
           std::isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  // Binary operators and their precedence, longest spelling first.
  static int precedence(std::string_view op) {
    if (op == "||") {
      return 1;
    }
    if (op == "&&") {
      return 2;
    }
    if (op == "==" || op == "!=") {
      return 3;
    }
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      return 4;
    }
    if (op == "+" || op == "-") {
      return 5;
    }
    if (op == "*" || op == "/" || op == "%") {
      return 6;
    }
    return 0;
  }

  std::string peek_operator() {
    skip_spaces();
    for (std::string_view op : {"||", "&&", "==", "!=", "<=", ">=", "<", ">",
                                "+", "-", "*", "/", "%"}) {
      if (text_.compare(pos_, op.size(), op) == 0) {
        return std::string(op);
      }
    }
    return "";
  }

  std::optional<long long> apply(const std::string& op, long long a,
                                 long long b) {
    if ((op == "/" || op == "%") && b == 0) {
      unknown_ = "a division by zero in $((" + text_ + "))";
      return std::nullopt;
    }
    if (op == "||") {
      return (a || b) ? 1 : 0;
    }
    if (op == "&&") {
      return (a && b) ? 1 : 0;
    }
    if (op == "==") {
      return a == b;
    }
    if (op == "!=") {
      return a != b;
    }
    if (op == "<=") {
      return a <= b;
    }
    if (op == ">=") {
      return a >= b;
    }
    if (op == "<") {
      return a < b;
    }
    if (op == ">") {
      return a > b;
    }
    if (op == "+") {
      return a + b;
    }
    if (op == "-") {
      return a - b;
    }
    if (op == "*") {
      return a * b;
    }
    if (op == "/") {
      return a / b;
    }
    return a % b;
  }

  std::optional<long long> parse_binary(int min_precedence) {
    auto left = parse_unary();
    while (left) {
      const std::string op = peek_operator();
      const int level = precedence(op);
      if (op.empty() || level <= min_precedence) {
        break;
      }
      if (text_.compare(pos_, op.size() + 1, op + "=") == 0 && op != "<" &&
          op != ">" && op != "=" && op != "!") {
        unknown_ = "an assignment in arithmetic: $((" + text_ + "))";
        return std::nullopt;
      }
      pos_ += op.size();
      auto right = parse_binary(level);
      if (!right) {
        return std::nullopt;
      }
      left = apply(op, *left, *right);
    }
    return left;
  }

  std::optional<long long> parse_unary() {
    skip_spaces();
    if (pos_ >= text_.size()) {
      unknown_ = "arithmetic that ends early: $((" + text_ + "))";
      return std::nullopt;
    }
    const char c = text_[pos_];
    if (c == '-' || c == '+' || c == '!') {
      ++pos_;
      auto value = parse_unary();
      if (!value) {
        return std::nullopt;
      }
      if (c == '-') {
        return -*value;
      }
      if (c == '!') {
        return *value == 0 ? 1 : 0;
      }
      return *value;
    }
    if (c == '(') {
      ++pos_;
      auto value = parse_binary(0);
      skip_spaces();
      if (pos_ >= text_.size() || text_[pos_] != ')') {
        unknown_ = "arithmetic with an unclosed '(': $((" + text_ + "))";
        return std::nullopt;
      }
      ++pos_;
      return value;
    }
    return parse_operand();
  }

  std::optional<long long> parse_operand() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
            text_[pos_] == '_')) {
      ++pos_;
    }
    const std::string word = text_.substr(start, pos_ - start);
    if (word.empty()) {
      unknown_ = "arithmetic it does not parse: $((" + text_ + "))";
      return std::nullopt;
    }
    if (std::isdigit(static_cast<unsigned char>(word[0]))) {
      auto value = parse_integer(word);
      if (!value) {
        unknown_ = "an invalid number in $((" + text_ + "))";
      }
      return value;
    }
    auto value = shell_.integer_value(word, unknown_);
    return value;
  }

  Interpreter& shell_;
  std::string text_;
  size_t pos_ = 0;
  std::optional<std::string> unknown_;
};

std::string Interpreter::ifs() const {
  auto it = variables_.find("IFS");
  if (it == variables_.end() || !it->second.value.known()) {
    return kDefaultIfs;
  }
  return it->second.value.text;
}

void Interpreter::set_variable(const std::string& name, Text value) {
  Variable& variable = variables_[name];
  variable.value = std::move(value);
}

std::optional<Text> Interpreter::lookup(const std::string& name) const {
  if (name == "0") {
    return known_text(arg0_);
  }
  if (std::isdigit(static_cast<unsigned char>(name[0]))) {
    const size_t index = std::stoul(name);
    if (index == 0 || index > positional_.size()) {
      return std::nullopt;
    }
    return positional_[index - 1];
  }
  if (name == "#") {
    return known_text(std::to_string(positional_.size()));
  }
  if (name == "?") {
    if (status_) {
      return known_text(std::to_string(*status_));
    }
    return unknown_text(status_unknown_);
  }
  if (name == "$" || name == "!") {
    return unknown_text("the process id in $" + name);
  }
  if (name == "-") {
    return known_text(errexit_ ? "e" : "");
  }
  if (name == "@" || name == "*") {
    Text joined = known_text("");
    for (size_t i = 0; i < positional_.size(); ++i) {
      if (!positional_[i].known()) {
        return positional_[i];
      }
      joined.text += (i ? " " : "") + positional_[i].text;
    }
    return joined;
  }
  auto it = variables_.find(name);
  if (it == variables_.end()) {
    return std::nullopt;
  }
  return it->second.value;
}

std::optional<long long> Interpreter::integer_value(
    const std::string& name, std::optional<std::string>& unknown) {
  auto value = lookup(name);
  if (!value || (value->known() && value->text.empty())) {
    return 0;
  }
  if (!value->known()) {
    unknown = value->unknown;
    return std::nullopt;
  }
  auto number = parse_integer(value->text);
  if (!number) {
    unknown = "a variable that is not a number in arithmetic: " + name;
  }
  return number;
}

Text Interpreter::arithmetic(const std::string& text) {
  auto word = parse_quoted_text(text);
  if (!word) {
    return unknown_text("arithmetic it does not parse: $((" + text + "))");
  }
  Text expanded = expand_single(word->parts);
  if (!expanded.known()) {
    return expanded;
  }
  return ArithmeticParser(*this, expanded.text).evaluate();
}

Text Interpreter::replace_pattern(const WordPart& part, const Text& value) {
  Text pattern = expand_pattern(part.argument);
  Text replacement = expand_single(part.second);
  if (auto why = first_unknown({&value, &pattern, &replacement})) {
    return unknown_text(*why);
  }
  std::string text = pattern.text;
  const bool anchor_start = !text.empty() && text[0] == '#';
  const bool anchor_end = !text.empty() && text[0] == '%';
  if (anchor_start || anchor_end) {
    text.erase(0, 1);
  }
  const std::string& subject = value.text;
  std::string out;
  size_t i = 0;
  bool replaced = false;
  while (i <= subject.size()) {
    size_t matched = std::string::npos;
    const bool may_match = (!anchor_start || i == 0) &&
                           !(replaced && part.op != "//") && !text.empty();
    for (size_t length = subject.size() - i; may_match; --length) {
      if ((!anchor_end || i + length == subject.size()) &&
          glob_match(text, std::string_view(subject).substr(i, length))) {
        matched = length;
        break;
      }
      if (length == 0) {
        break;
      }
    }
    if (matched != std::string::npos && matched > 0) {
      out += replacement.text;
      i += matched;
      replaced = true;
      continue;
    }
    if (i < subject.size()) {
      out.push_back(subject[i]);
    }
    ++i;
  }
  return known_text(out);
}

Text Interpreter::substring(const WordPart& part, const Text& value) {
  Text offset = arithmetic(expand_single(part.argument).text);
  Text length = part.has_second ? arithmetic(expand_single(part.second).text)
                                : known_text("");
  if (auto why = first_unknown({&value, &offset, &length})) {
    return unknown_text(*why);
  }
  const long long size = static_cast<long long>(value.text.size());
  long long start = std::stoll(offset.text);
  if (start < 0) {
    start = std::max(0LL, size + start);
  }
  start = std::min(start, size);
  long long count = size - start;
  if (part.has_second) {
    count = std::stoll(length.text);
    if (count < 0) {
      count = std::max(0LL, size - start + count);
    }
  }
  return known_text(value.text.substr(start, count));
}

Text Interpreter::apply_parameter_operator(const WordPart& part,
                                           const std::optional<Text>& value) {
  const std::string& op = part.op;
  const bool set = value.has_value();
  const bool colon = !op.empty() && op[0] == ':' && op != ":";
  if (colon && set && !value->known() &&
      (op == ":-" || op == ":=" || op == ":+" || op == ":?")) {
    return *value;
  }
  const bool empty_or_unset = !set || (colon && value->text.empty());
  if (op == "-" || op == ":-") {
    return empty_or_unset ? expand_single(part.argument) : *value;
  }
  if (op == "=" || op == ":=") {
    if (!empty_or_unset) {
      return *value;
    }
    Text assigned = expand_single(part.argument);
    set_variable(part.text, assigned);
    return assigned;
  }
  if (op == "+" || op == ":+") {
    return empty_or_unset ? known_text("") : expand_single(part.argument);
  }
  if (op == "?" || op == ":?") {
    if (empty_or_unset) {
      Text message = expand_single(part.argument);
      expansion_error_ =
          part.text + ": " +
          (message.text.empty() ? "parameter null or not set" : message.text);
    }
    return set ? *value : known_text("");
  }
  const Text current = value.value_or(known_text(""));
  if (op == "#" || op == "##" || op == "%" || op == "%%") {
    Text pattern = expand_pattern(part.argument);
    if (auto why = first_unknown({&current, &pattern})) {
      return unknown_text(*why);
    }
    const bool longest = op.size() == 2;
    return known_text(op[0] == '#'
                          ? remove_prefix(current.text, pattern.text, longest)
                          : remove_suffix(current.text, pattern.text, longest));
  }
  if (op == "/" || op == "//") {
    return replace_pattern(part, current);
  }
  if (op == ":") {
    return substring(part, current);
  }
  if (!current.known()) {
    return current;
  }
  std::string text = current.text;
  if (op == "^^" || op == "^" || op == ",," || op == ",") {
    const bool upper = op[0] == '^';
    const size_t end =
        op.size() == 2 ? text.size() : std::min<size_t>(1, text.size());
    for (size_t i = 0; i < end; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      text[i] = static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
    }
  }
  return known_text(text);
}

Text Interpreter::parameter_value(const WordPart& part) {
  std::optional<Text> value = lookup(part.text);
  if (part.op.empty()) {
    return value.value_or(known_text(""));
  }
  if (part.op == "length") {
    if (value && !value->known()) {
      return *value;
    }
    if (part.text == "@" || part.text == "*") {
      return known_text(std::to_string(positional_.size()));
    }
    return known_text(std::to_string(value ? value->text.size() : 0));
  }
  if (part.op == "indirect") {
    if (!part.argument.empty()) {
      return unknown_text("the bash expansion ${!" + part.text + "...}");
    }
    if (!value) {
      return known_text("");
    }
    if (!value->known()) {
      return *value;
    }
    return lookup(value->text).value_or(known_text(""));
  }
  return apply_parameter_operator(part, value);
}

Text Interpreter::evaluate_substituted(const std::vector<Field>& argv) {
  const std::string& name = argv[0].text;
  std::vector<std::string> args;
  for (size_t i = 1; i < argv.size(); ++i) {
    args.push_back(argv[i].text);
  }
  if (name == "id") {
    const bool by_name =
        std::find(args.begin(), args.end(), "-n") != args.end() ||
        std::find(args.begin(), args.end(), "-un") != args.end() ||
        std::find(args.begin(), args.end(), "-nu") != args.end();
    const bool group = !args.empty() && (args[0] == "-g" || args[0] == "-gn" ||
                                         args[0] == "-ng");
    if (by_name && !group) {
      return start_.user_name ? known_text(*start_.user_name)
                              : unknown_text("the name of uid " +
                                             std::to_string(start_.uid));
    }
    if (!by_name && group) {
      return known_text(std::to_string(start_.gid));
    }
    if (!by_name && !args.empty() && args[0] == "-u") {
      return known_text(std::to_string(start_.uid));
    }
  }
  if (name == "whoami") {
    return evaluate_substituted({make_field("id"), make_field("-un")});
  }
  if (name == "pwd" && args.empty()) {
    return known_text(cwd_);
  }
  if (name == "basename" && !args.empty()) {
    std::string base = basename_of(args[0]);
    if (args.size() > 1 && base.size() > args[1].size() &&
        base.ends_with(args[1])) {
      base.resize(base.size() - args[1].size());
    }
    return known_text(base);
  }
  if (name == "dirname" && args.size() == 1) {
    return known_text(dirname_of(args[0]));
  }
  if (name == "echo") {
    std::string out;
    size_t first = !args.empty() && args[0] == "-n" ? 1 : 0;
    for (size_t i = first; i < args.size(); ++i) {
      out += (i > first ? " " : "") + args[i];
    }
    return known_text(out);
  }
  if (name == "command" && args.size() == 2 && args[0] == "-v") {
    auto found = lookup_command(args[1]);
    return found ? known_text(*found) : known_text("");
  }
  std::string text = name;
  for (const std::string& arg : args) {
    text += " " + arg;
  }
  return unknown_text("the output of $(" + text + ")");
}

Text Interpreter::command_substitution(const std::string& text) {
  const Text fallback = unknown_text("the output of $(" + text + ")");
  auto script = parse_script(text);
  if (!script || script->body.items.size() != 1) {
    return fallback;
  }
  const AndOr& item = script->body.items.front();
  if (item.pipelines.size() != 1 || item.pipelines[0].commands.size() != 1 ||
      item.background) {
    return fallback;
  }
  const auto* simple =
      std::get_if<SimpleCommand>(&item.pipelines[0].commands[0]->node);
  if (simple == nullptr || simple->words.empty() ||
      !simple->assignments.empty()) {
    return fallback;
  }
  std::vector<Field> argv = expand_fields(simple->words);
  for (const Field& field : argv) {
    if (field.unknown) {
      return unknown_text(*field.unknown);
    }
  }
  if (argv.empty()) {
    return known_text("");
  }
  Text value = evaluate_substituted(argv);
  if (value.known()) {
    while (!value.text.empty() && value.text.back() == '\n') {
      value.text.pop_back();
    }
  }
  return value;
}

void Interpreter::append_part_chunks(const WordPart& part,
                                     std::vector<Chunk>& chunks) {
  switch (part.kind) {
    case WordPart::Kind::kLiteral:
      chunks.push_back(Chunk{part.text, part.quoted, false, std::nullopt});
      return;
    case WordPart::Kind::kParameter:
      if ((part.text == "@" || (part.text == "*" && !part.quoted)) &&
          part.op.empty()) {
        for (size_t i = 0; i < positional_.size(); ++i) {
          if (i > 0) {
            chunks.push_back(Chunk{"", false, false, std::nullopt, true});
          }
          chunks.push_back(Chunk{positional_[i].text, part.quoted, !part.quoted,
                                 positional_[i].unknown});
        }
        return;
      }
      break;
    default:
      break;
  }
  Text value = part.kind == WordPart::Kind::kParameter ? parameter_value(part)
               : part.kind == WordPart::Kind::kCommand
                   ? command_substitution(part.text)
                   : arithmetic(part.text);
  chunks.push_back(Chunk{value.text, part.quoted, !part.quoted, value.unknown});
}

std::vector<Chunk> Interpreter::chunks_of(const std::vector<WordPart>& parts) {
  std::vector<Chunk> chunks;
  for (const WordPart& part : parts) {
    append_part_chunks(part, chunks);
  }
  return chunks;
}

std::vector<Field> Interpreter::split_chunks(const std::vector<Chunk>& chunks) {
  const std::string separators = ifs();
  std::vector<Field> fields;
  Field current;
  bool has_content = false;
  auto finish = [&] {
    if (has_content) {
      fields.push_back(std::move(current));
    }
    current = Field{};
    has_content = false;
  };
  for (const Chunk& chunk : chunks) {
    if (chunk.field_break) {
      finish();
      continue;
    }
    if (chunk.unknown) {
      current.unknown = chunk.unknown;
      has_content = true;
      continue;
    }
    if (chunk.quoted || !chunk.split) {
      current.text += chunk.text;
      if (chunk.quoted) {
        current.pattern += escape_glob(chunk.text);
        has_content = true;
      } else {
        current.pattern += chunk.text;
        current.wildcard = current.wildcard || has_wildcard(chunk.text);
        has_content = has_content || !chunk.text.empty();
      }
      continue;
    }
    for (char c : chunk.text) {
      if (separators.find(c) != std::string::npos) {
        finish();
        continue;
      }
      current.text.push_back(c);
      current.pattern.push_back(c);
      current.wildcard = current.wildcard || c == '*' || c == '?' || c == '[';
      has_content = true;
    }
  }
  finish();
  return fields;
}

std::vector<Field> Interpreter::expand_word(const Word& word, bool glob) {
  std::vector<Field> fields = split_chunks(chunks_of(word.parts));
  if (!glob) {
    return fields;
  }
  std::vector<Field> expanded;
  for (Field& field : fields) {
    if (!field.wildcard || field.unknown) {
      expanded.push_back(std::move(field));
      continue;
    }
    std::vector<std::string> matches =
        expand_pathname(field.pattern, cwd_, files_);
    if (matches.empty()) {
      expanded.push_back(std::move(field));
      continue;
    }
    for (std::string& match : matches) {
      expanded.push_back(Field{match, escape_glob(match), false, std::nullopt});
    }
  }
  return expanded;
}

std::vector<Field> Interpreter::expand_fields(const std::vector<Word>& words) {
  std::vector<Field> fields;
  for (const Word& word : words) {
    std::vector<Field> expanded = expand_word(word, true);
    fields.insert(fields.end(), expanded.begin(), expanded.end());
  }
  return fields;
}

Text Interpreter::expand_single(const std::vector<WordPart>& parts) {
  Text text = known_text("");
  for (const Chunk& chunk : chunks_of(parts)) {
    if (chunk.unknown && !text.unknown) {
      text.unknown = chunk.unknown;
    }
    text.text += chunk.field_break ? " " : chunk.text;
  }
  return text;
}

Text Interpreter::expand_pattern(const std::vector<WordPart>& parts) {
  Text pattern = known_text("");
  for (const Chunk& chunk : chunks_of(parts)) {
    if (chunk.unknown && !pattern.unknown) {
      pattern.unknown = chunk.unknown;
    }
    if (chunk.field_break) {
      pattern.text += " ";
    } else {
      pattern.text += chunk.quoted ? escape_glob(chunk.text) : chunk.text;
    }
  }
  return pattern;
}

std::vector<TestArgument> Interpreter::conditional_arguments(
    const ConditionalExpression& expression) {
  std::vector<TestArgument> args;
  for (const Word& word : expression.words) {
    TestArgument arg;
    arg.value = expand_single(word.parts);
    arg.pattern = expand_pattern(word.parts);
    arg.can_be_operator =
        literal_text(word).has_value() &&
        std::none_of(word.parts.begin(), word.parts.end(),
                     [](const WordPart& part) { return part.quoted; });
    args.push_back(std::move(arg));
  }
  return args;
}

Truth Interpreter::evaluate_test(const std::vector<TestArgument>& args,
                                 std::string& unknown) {
  return TestParser(*this, args).parse(unknown);
}

std::string Interpreter::absolute_path(const std::string& path) const {
  if (!path.empty() && path[0] == '/') {
    return path;
  }
  return cwd_ == "/" ? "/" + path : cwd_ + "/" + path;
}

Truth Interpreter::file_test(const std::string& op, const std::string& path,
                             std::string& unknown) const {
  const std::string absolute = absolute_path(path);
  if (op == "-L" || op == "-h") {
    return files_.read_link(absolute) ? Truth::kTrue : Truth::kFalse;
  }
  if (op == "-t") {
    unknown = "whether a terminal is attached (test -t)";
    return Truth::kUnknown;
  }
  auto info = files_.info(absolute);
  if (op == "-e" || op == "-a") {
    return info ? Truth::kTrue : Truth::kFalse;
  }
  if (!info) {
    return Truth::kFalse;
  }
  if (op == "-f") {
    return info->regular ? Truth::kTrue : Truth::kFalse;
  }
  if (op == "-d") {
    return info->directory ? Truth::kTrue : Truth::kFalse;
  }
  if (op == "-x") {
    return info->executable || info->directory ? Truth::kTrue : Truth::kFalse;
  }
  if (op == "-s") {
    return info->size > 0 ? Truth::kTrue : Truth::kFalse;
  }
  if (op == "-p" || op == "-S" || op == "-b" || op == "-c") {
    return Truth::kFalse;
  }
  if ((op == "-r" || op == "-w") && start_.uid == 0) {
    return Truth::kTrue;
  }
  unknown = "the file test " + op + " " + path +
            ", which depends on ownership or permissions";
  return Truth::kUnknown;
}

}  // namespace entrytrace::shell
