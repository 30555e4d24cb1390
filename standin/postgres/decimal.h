#pragma once

// Decimal is PostgreSQL's numeric as the stand-in needs it: exact decimal values with a display
// scale (dscale), parsed and printed the way numeric_in / numeric_out do, with +, -, *, / and
// comparison following numeric.c's result-scale rules (the quotient's scale comes from
// select_div_scale: at least 16 significant digits). NaN and the infinities are kept as flags.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace standin::postgres {

class Decimal {
  public:
    enum class Special : std::uint8_t { None, NaN, PositiveInfinity, NegativeInfinity };

    Decimal() = default;
    static Decimal from_int(std::int64_t v);
    // parse: numeric_in's syntax ("12.50", "-1e3", " 7 ", "NaN", "Infinity"); nullopt if invalid.
    static std::optional<Decimal> parse(std::string_view text);

    std::string to_string() const; // numeric_out
    bool is_zero() const { return special_ == Special::None && digits_.empty(); }
    bool negative() const { return negative_; }
    Special special() const { return special_; }
    int scale() const { return scale_; }

    // round_to: rounds half away from zero to `scale` decimal places (numeric(p,s), ::int).
    Decimal round_to(int scale) const;
    // truncate_to: drops digits beyond `scale` (numeric_recv applies the sent dscale this way)
    Decimal truncate_to(int scale) const;
    // to_int64: rounded to an integer; nullopt when out of range or not finite.
    std::optional<std::int64_t> to_int64() const;
    double to_double() const;

    Decimal operator+(const Decimal& o) const;
    Decimal operator-(const Decimal& o) const;
    Decimal operator*(const Decimal& o) const;
    // divide: nullopt for a zero divisor.
    std::optional<Decimal> divide(const Decimal& o) const;
    std::optional<Decimal> modulo(const Decimal& o) const;
    Decimal negated() const;
    int compare(const Decimal& o) const;

    // The binary (numeric_send) form: ndigits, weight, sign, dscale, base-10000 digits.
    std::vector<std::uint8_t> to_binary() const;
    static std::optional<Decimal> from_binary(const std::vector<std::uint8_t>& bytes);

  private:
    // value = (-1)^negative * digits_ * 10^-scale_, digits_ most significant first, no leading
    // zeros (empty = zero).
    bool negative_ = false;
    std::vector<std::uint8_t> digits_;
    int scale_ = 0;
    Special special_ = Special::None;

    void normalize();
    static Decimal aligned_add(const Decimal& a, const Decimal& b, bool subtract);
};

} // namespace standin::postgres
