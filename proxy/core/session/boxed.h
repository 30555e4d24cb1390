#pragma once

// Boxed<T>: an optional value kept on the heap. A session record holds one summary per protocol
// (LoginSummary, PostgresSummary, MysqlSummary: about 350 bytes each) and a session fills one
// of them at most; boxed, an idle session holds a pointer for each of the others. It reads like
// std::optional where the record uses it (has_value, emplace, *, ->, = value, = std::nullopt)
// and copies deeply.

#include <memory>
#include <optional>
#include <utility>

namespace proxy {

template <typename T> class Boxed {
  public:
    Boxed() = default;
    Boxed(std::nullopt_t) {} // NOLINT(google-explicit-constructor): reads like std::optional
    Boxed(T value)           // NOLINT(google-explicit-constructor)
        : value_(std::make_unique<T>(std::move(value))) {}
    Boxed(const Boxed& other)
        : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
    Boxed(Boxed&&) noexcept = default;
    Boxed& operator=(const Boxed& other) {
        if (this != &other) {
            value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
        }
        return *this;
    }
    Boxed& operator=(Boxed&&) noexcept = default;
    Boxed& operator=(std::nullopt_t) {
        value_.reset();
        return *this;
    }
    Boxed& operator=(T value) {
        value_ = std::make_unique<T>(std::move(value));
        return *this;
    }
    Boxed& operator=(const std::optional<T>& value) {
        value_ = value ? std::make_unique<T>(*value) : nullptr;
        return *this;
    }
    ~Boxed() = default;

    template <typename... Args> T& emplace(Args&&... args) {
        value_ = std::make_unique<T>(std::forward<Args>(args)...);
        return *value_;
    }
    bool has_value() const { return value_ != nullptr; }
    explicit operator bool() const { return has_value(); }
    T& operator*() { return *value_; }
    const T& operator*() const { return *value_; }
    T* operator->() { return value_.get(); }
    const T* operator->() const { return value_.get(); }

  private:
    std::unique_ptr<T> value_;
};

} // namespace proxy
