// Finding the command inside a wrapper's argv, and splitting the last
// command of a shell -c script.
#include <algorithm>
#include <cctype>

#include "catalogue/catalogue.h"

namespace entrytrace {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// "NAME=VALUE" with a shell identifier as NAME.
bool is_assignment(std::string_view word) {
  const size_t equals = word.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return false;
  }
  if (std::isdigit(static_cast<unsigned char>(word[0]))) {
    return false;
  }
  return std::all_of(word.begin(), word.begin() + equals, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

// An option argument: what it is called and how many arguments it uses.
struct ParsedOption {
  std::string name;
  std::optional<std::string> value;
  int consumed = 1;
};

// Parses the option at argv[i]. "--name=value" and "-xVALUE" carry their
// value inline; "-x VALUE" and "--name VALUE" take the next argument.
ParsedOption parse_option(const CommandSyntax& syntax,
                          const std::vector<std::string>& argv, size_t i) {
  const std::string& arg = argv[i];
  ParsedOption option;
  const bool is_long = arg.rfind("--", 0) == 0;
  const size_t equals = arg.find('=');
  option.name = is_long ? arg.substr(0, equals) : arg;

  const bool takes_value = contains(syntax.options_with_value, option.name) ||
                           contains(syntax.script_options, option.name);
  if (is_long && equals != std::string::npos) {
    option.value = arg.substr(equals + 1);
    return option;
  }
  if (!is_long && arg.size() > 2) {
    const std::string prefix = arg.substr(0, 2);
    if (contains(syntax.options_with_value, prefix) ||
        contains(syntax.script_options, prefix)) {
      option.name = prefix;
      option.value = arg.substr(2);
    }
    return option;
  }
  if (takes_value && i + 1 < argv.size()) {
    option.value = argv[i + 1];
    option.consumed = 2;
  }
  return option;
}

bool looks_like_option(const std::string& arg) {
  return arg.size() > 1 && arg[0] == '-';
}

// Sets wrapped_argv from a script when the script is a simple command.
void use_script(const std::string& script, WrapperMatch& match) {
  match.script = script;
  if (auto command = parse_shell_script(script)) {
    match.wrapped_argv = command->argv;
  }
}

void find_shell_command(const CommandSyntax& syntax,
                        const std::vector<std::string>& argv,
                        WrapperMatch& match) {
  bool has_c = false;
  size_t i = 1;
  while (i < argv.size()) {
    const std::string& arg = argv[i];
    if (arg == "--" || arg == "-") {
      ++i;
      break;
    }
    if (arg.size() < 2 || (arg[0] != '-' && arg[0] != '+')) {
      break;
    }
    // -o/+o take an option name; bash's --rcfile/--init-file take a path.
    if (arg == "-o" || arg == "+o" || arg == "--rcfile" ||
        arg == "--init-file") {
      i += 2;
      continue;
    }
    if (arg[0] == '-' && arg[1] != '-' && arg.find('c') != std::string::npos) {
      has_c = true;
    }
    ++i;
  }
  if (!has_c || i >= argv.size()) {
    return;
  }

  match.script = argv[i];
  auto command = parse_shell_script(argv[i]);
  if (!command) {
    return;
  }
  match.wrapped_argv = command->argv;
  if (command->exec_prefixed ||
      (syntax.execs_last_command && !command->argv.empty())) {
    match.mode = WrapperMode::kExec;
  }
}

}  // namespace

void find_wrapped_command(const CommandSyntax& syntax,
                          const std::vector<std::string>& argv,
                          WrapperMatch& match) {
  if (syntax.shell) {
    find_shell_command(syntax, argv, match);
    return;
  }

  int positionals_left = syntax.positionals;
  size_t i = 1;
  bool after_separator = false;
  while (i < argv.size()) {
    const std::string& arg = argv[i];
    const bool options_allowed =
        syntax.options && !after_separator &&
        (syntax.permute || positionals_left == syntax.positionals);
    if (options_allowed && arg == "--") {
      after_separator = true;
      ++i;
      continue;
    }
    if (options_allowed && syntax.permute && arg == "-") {
      ++i;
      continue;
    }
    if (options_allowed && looks_like_option(arg)) {
      ParsedOption option = parse_option(syntax, argv, i);
      if (contains(syntax.script_options, option.name) && option.value) {
        use_script(*option.value, match);
        return;
      }
      if (contains(syntax.user_options, option.name) && option.value) {
        match.user = option.value;
      }
      i += option.consumed;
      continue;
    }
    if (syntax.assignments && positionals_left == 0 && is_assignment(arg)) {
      ++i;
      continue;
    }
    if (positionals_left > 0) {
      if (syntax.positionals - positionals_left + 1 == syntax.user_positional) {
        match.user = arg;
      }
      --positionals_left;
      ++i;
      continue;
    }
    break;
  }
  if (positionals_left == 0 && i < argv.size()) {
    match.wrapped_argv.assign(argv.begin() + i, argv.end());
  }
}

namespace {

// A word of a shell command and whether any part of it was quoted.
struct Word {
  std::string text;
  bool quoted = false;
  // Length of the text before the first quoted character.
  size_t unquoted_prefix = std::string::npos;

  void mark_quoted() {
    if (!quoted) {
      unquoted_prefix = text.size();
    }
    quoted = true;
  }

  // NAME=VALUE with NAME unquoted, as the shell requires.
  bool is_assignment_word() const {
    const size_t equals = text.find('=');
    return equals != std::string::npos &&
           (unquoted_prefix == std::string::npos || equals < unquoted_prefix) &&
           is_assignment(text);
  }
};

class ScriptSplitter {
 public:
  explicit ScriptSplitter(std::string_view script) : script_(script) {}

  // Returns the commands of the script, or nullopt on unsupported syntax.
  std::optional<std::vector<std::vector<Word>>> split() {
    while (pos_ < script_.size()) {
      if (!step()) {
        return std::nullopt;
      }
    }
    if (in_word_) {
      end_word();
    }
    end_command();
    return commands_;
  }

 private:
  bool step() {
    const char c = script_[pos_];
    if (c == ' ' || c == '\t') {
      end_word();
      ++pos_;
      return true;
    }
    if (c == '\n' || c == ';' || c == '&' || c == '|') {
      end_word();
      end_command();
      ++pos_;
      return true;
    }
    if (c == '#' && !in_word_) {
      while (pos_ < script_.size() && script_[pos_] != '\n') {
        ++pos_;
      }
      return true;
    }
    if (c == '<' || c == '>') {
      return skip_redirection();
    }
    if (c == '$' || c == '`' || c == '(' || c == ')' || c == '{' || c == '}' ||
        c == '*' || c == '?' || c == '[' || c == '~') {
      return false;
    }
    return read_word_part();
  }

  bool read_word_part() {
    const char c = script_[pos_];
    in_word_ = true;
    if (c == '\'') {
      const size_t close = script_.find('\'', pos_ + 1);
      if (close == std::string_view::npos) {
        return false;
      }
      word_.mark_quoted();
      word_.text.append(script_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      return true;
    }
    if (c == '"') {
      return read_double_quoted();
    }
    if (c == '\\' && pos_ + 1 < script_.size()) {
      word_.mark_quoted();
      if (script_[pos_ + 1] != '\n') {
        word_.text.push_back(script_[pos_ + 1]);
      }
      pos_ += 2;
      return true;
    }
    word_.text.push_back(c);
    ++pos_;
    return true;
  }

  bool read_double_quoted() {
    word_.mark_quoted();
    ++pos_;
    while (pos_ < script_.size()) {
      const char c = script_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '$' || c == '`') {
        return false;
      }
      if (c == '\\' && pos_ + 1 < script_.size() &&
          std::string_view("$`\"\\\n").find(script_[pos_ + 1]) !=
              std::string_view::npos) {
        word_.text.push_back(script_[pos_ + 1]);
        pos_ += 2;
        continue;
      }
      word_.text.push_back(c);
      ++pos_;
    }
    return false;
  }

  // Drops "2>&1", "> file", "<in" and the like: a redirection is not part
  // of the argv.
  bool skip_redirection() {
    const bool digits_only =
        in_word_ && !word_.quoted && !word_.text.empty() &&
        std::all_of(word_.text.begin(), word_.text.end(),
                    [](char c) { return std::isdigit(c) != 0; });
    if (in_word_ && !digits_only) {
      end_word();
    }
    word_ = Word{};
    in_word_ = false;

    while (pos_ < script_.size() &&
           (script_[pos_] == '<' || script_[pos_] == '>')) {
      ++pos_;
    }
    if (pos_ < script_.size() && script_[pos_] == '&') {
      ++pos_;
    }
    while (pos_ < script_.size() &&
           (script_[pos_] == ' ' || script_[pos_] == '\t')) {
      ++pos_;
    }
    // The target word: consumed with the usual rules, then discarded.
    while (pos_ < script_.size() &&
           std::string_view(" \t\n;&|<>").find(script_[pos_]) ==
               std::string_view::npos) {
      if (!read_word_part()) {
        return false;
      }
    }
    word_ = Word{};
    in_word_ = false;
    return true;
  }

  void end_word() {
    if (in_word_) {
      current_.push_back(std::move(word_));
    }
    word_ = Word{};
    in_word_ = false;
  }

  void end_command() {
    if (!current_.empty()) {
      commands_.push_back(std::move(current_));
    }
    current_.clear();
  }

  std::string_view script_;
  size_t pos_ = 0;
  Word word_;
  bool in_word_ = false;
  std::vector<Word> current_;
  std::vector<std::vector<Word>> commands_;
};

bool is_compound_keyword(const Word& word) {
  static const char* const kKeywords[] = {
      "if",    "then",     "else",   "elif", "fi",    "for", "while",
      "until", "do",       "done",   "case", "esac",  "!",   "[[",
      "]]",    "function", "select", "time", "coproc"};
  if (word.quoted) {
    return false;
  }
  return std::any_of(std::begin(kKeywords), std::end(kKeywords),
                     [&](const char* k) { return word.text == k; });
}

}  // namespace

std::optional<ShellCommand> parse_shell_script(std::string_view script) {
  auto commands = ScriptSplitter(script).split();
  if (!commands || commands->empty()) {
    return std::nullopt;
  }
  for (const auto& command : *commands) {
    if (is_compound_keyword(command.front())) {
      return std::nullopt;
    }
  }

  ShellCommand result;
  result.command_count = static_cast<int>(commands->size());
  const std::vector<Word>& last = commands->back();
  size_t i = 0;
  while (i < last.size() && last[i].is_assignment_word()) {
    ++i;
  }
  if (i < last.size() && !last[i].quoted && last[i].text == "exec") {
    result.exec_prefixed = true;
    ++i;
  }
  for (; i < last.size(); ++i) {
    result.argv.push_back(last[i].text);
  }
  return result;
}

}  // namespace entrytrace
