#pragma once

// NestingGuard: one level of a recursive-descent parser's nesting, counted for as long as the
// guard lives, so every way out of the level (a return, an error) gives it back. The stand-ins'
// SQL parsers recurse for parentheses, subqueries, blocks and unary operators; a hostile query
// must end in the server's own error, never in a stack overflow (fuzzing found both).

namespace standin {

class NestingGuard {
  public:
    NestingGuard(int& depth, int max) : depth_(depth), too_deep_(++depth_ > max) {}
    NestingGuard(const NestingGuard&) = delete;
    NestingGuard& operator=(const NestingGuard&) = delete;
    ~NestingGuard() { --depth_; }
    // too_deep: this level is beyond the parser's bound; answer with the server's error.
    bool too_deep() const { return too_deep_; }

  private:
    int& depth_;
    bool too_deep_;
};

} // namespace standin
