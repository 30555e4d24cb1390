#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <standin/postgres/decimal.h>

namespace standin::postgres {

namespace {

using Digits = std::vector<std::uint8_t>; // base 10, most significant first

// PostgreSQL's limits for a numeric literal's exponent and the display scale of a quotient.
constexpr int kMaxExponent = 1000;
constexpr int kMinSignificantDigits = 16;
constexpr int kMaxDisplayScale = 1000;

void strip_leading(Digits& d) {
    auto it = std::find_if(d.begin(), d.end(), [](std::uint8_t x) { return x != 0; });
    d.erase(d.begin(), it);
}

int compare_magnitude(const Digits& a, const Digits& b) {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i] != b[i]) {
            return a[i] < b[i] ? -1 : 1;
        }
    }
    return 0;
}

Digits add_magnitude(const Digits& a, const Digits& b) {
    Digits out(std::max(a.size(), b.size()) + 1, 0);
    int carry = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        int x = i < a.size() ? a[a.size() - 1 - i] : 0;
        int y = i < b.size() ? b[b.size() - 1 - i] : 0;
        int s = x + y + carry;
        out[out.size() - 1 - i] = static_cast<std::uint8_t>(s % 10);
        carry = s / 10;
    }
    strip_leading(out);
    return out;
}

// a - b for |a| >= |b|
Digits subtract_magnitude(const Digits& a, const Digits& b) {
    Digits out(a.size(), 0);
    int borrow = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        int x = a[a.size() - 1 - i];
        int y = i < b.size() ? b[b.size() - 1 - i] : 0;
        int d = x - y - borrow;
        borrow = d < 0 ? 1 : 0;
        out[out.size() - 1 - i] = static_cast<std::uint8_t>(d < 0 ? d + 10 : d);
    }
    strip_leading(out);
    return out;
}

Digits multiply_magnitude(const Digits& a, const Digits& b) {
    if (a.empty() || b.empty()) {
        return {};
    }
    std::vector<int> acc(a.size() + b.size(), 0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        for (std::size_t j = 0; j < b.size(); ++j) {
            acc[i + j + 1] += a[i] * b[j];
        }
    }
    for (std::size_t k = acc.size() - 1; k > 0; --k) {
        acc[k - 1] += acc[k] / 10;
        acc[k] %= 10;
    }
    Digits out(acc.begin(), acc.end());
    strip_leading(out);
    return out;
}

void shift_left(Digits& d, int places) {
    if (!d.empty()) {
        d.insert(d.end(), static_cast<std::size_t>(places), 0);
    }
}

// floor(n / d), d non-zero
Digits divide_magnitude(const Digits& n, const Digits& d, Digits* remainder = nullptr) {
    Digits quotient;
    Digits rem;
    for (auto digit : n) {
        rem.push_back(digit);
        strip_leading(rem);
        std::uint8_t q = 0;
        while (compare_magnitude(rem, d) >= 0) {
            rem = subtract_magnitude(rem, d);
            ++q;
        }
        quotient.push_back(q);
    }
    strip_leading(quotient);
    if (remainder != nullptr) {
        *remainder = rem;
    }
    return quotient;
}

// round_last: drops the last `count` digits, rounding half away from zero.
Digits round_off(const Digits& d, std::size_t count) {
    if (count == 0) {
        return d;
    }
    if (count > d.size()) {
        return {};
    }
    bool up = d[d.size() - count] >= 5;
    Digits kept(d.begin(), d.end() - static_cast<std::ptrdiff_t>(count));
    if (up) {
        kept = add_magnitude(kept, Digits{1});
    }
    strip_leading(kept);
    return kept;
}

} // namespace

Decimal Decimal::from_int(std::int64_t v) {
    Decimal d;
    d.negative_ = v < 0;
    auto magnitude =
        v < 0 ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v);
    for (auto s = std::to_string(magnitude); char c : s) {
        d.digits_.push_back(static_cast<std::uint8_t>(c - '0'));
    }
    d.normalize();
    return d;
}

void Decimal::normalize() {
    strip_leading(digits_);
    if (digits_.empty()) {
        negative_ = false;
    }
}

std::optional<Decimal> Decimal::parse(std::string_view text) {
    std::size_t i = 0;
    auto space = [](char c) {
        return std::isspace(static_cast<unsigned char>(c)) != 0;
    };
    while (i < text.size() && space(text[i])) {
        ++i;
    }
    std::size_t end = text.size();
    while (end > i && space(text[end - 1])) {
        --end;
    }
    std::string body(text.substr(i, end - i));
    std::string low;
    for (char c : body) {
        low.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    Decimal d;
    if (low == "nan") {
        d.special_ = Special::NaN;
        return d;
    }
    if (low == "infinity" || low == "+infinity" || low == "inf" || low == "+inf") {
        d.special_ = Special::PositiveInfinity;
        return d;
    }
    if (low == "-infinity" || low == "-inf") {
        d.special_ = Special::NegativeInfinity;
        return d;
    }
    std::size_t p = 0;
    if (p < body.size() && (body[p] == '+' || body[p] == '-')) {
        d.negative_ = body[p] == '-';
        ++p;
    }
    bool any = false;
    bool point = false;
    int fraction = 0;
    for (; p < body.size(); ++p) {
        char c = body[p];
        if (c >= '0' && c <= '9') {
            d.digits_.push_back(static_cast<std::uint8_t>(c - '0'));
            any = true;
            if (point) {
                ++fraction;
            }
        } else if (c == '.' && !point) {
            point = true;
        } else if (c == '_' && any && p + 1 < body.size() &&
                   std::isdigit(static_cast<unsigned char>(body[p + 1]))) {
            continue; // PostgreSQL 16 accepts underscores between digits
        } else {
            break;
        }
    }
    if (!any) {
        return std::nullopt;
    }
    int exponent = 0;
    if (p < body.size() && (body[p] == 'e' || body[p] == 'E')) {
        ++p;
        bool neg = false;
        if (p < body.size() && (body[p] == '+' || body[p] == '-')) {
            neg = body[p] == '-';
            ++p;
        }
        std::size_t start = p;
        long e = 0;
        while (p < body.size() && std::isdigit(static_cast<unsigned char>(body[p]))) {
            e = e * 10 + (body[p] - '0');
            if (e > kMaxExponent) {
                return std::nullopt;
            }
            ++p;
        }
        if (p == start) {
            return std::nullopt;
        }
        exponent = static_cast<int>(neg ? -e : e);
    }
    if (p != body.size()) {
        return std::nullopt;
    }
    int scale = fraction - exponent;
    if (scale < 0) {
        shift_left(d.digits_, -scale);
        scale = 0;
    }
    d.scale_ = scale;
    d.normalize();
    return d;
}

std::string Decimal::to_string() const {
    switch (special_) {
    case Special::NaN:
        return "NaN";
    case Special::PositiveInfinity:
        return "Infinity";
    case Special::NegativeInfinity:
        return "-Infinity";
    case Special::None:
        break;
    }
    std::string digits;
    for (auto x : digits_) {
        digits.push_back(static_cast<char>('0' + x));
    }
    auto scale = static_cast<std::size_t>(scale_);
    if (digits.size() <= scale) {
        digits.insert(0, scale - digits.size() + 1, '0');
    }
    std::string out = negative_ ? "-" : "";
    out += digits.substr(0, digits.size() - scale);
    if (scale > 0) {
        out += "." + digits.substr(digits.size() - scale);
    }
    return out;
}

Decimal Decimal::round_to(int scale) const {
    if (special_ != Special::None) {
        return *this;
    }
    Decimal out = *this;
    if (scale >= scale_) {
        shift_left(out.digits_, scale - scale_);
    } else {
        out.digits_ = round_off(digits_, static_cast<std::size_t>(scale_ - scale));
    }
    out.scale_ = scale;
    out.normalize();
    return out;
}

Decimal Decimal::truncate_to(int scale) const {
    if (special_ != Special::None || scale >= scale_) {
        return round_to(scale);
    }
    Decimal out = *this;
    auto drop = static_cast<std::size_t>(scale_ - scale);
    if (drop >= out.digits_.size()) {
        out.digits_.clear();
    } else {
        out.digits_.resize(out.digits_.size() - drop);
    }
    out.scale_ = scale;
    out.normalize();
    return out;
}

std::optional<std::int64_t> Decimal::to_int64() const {
    if (special_ != Special::None) {
        return std::nullopt;
    }
    auto r = round_to(0);
    if (r.digits_.size() > 19) {
        return std::nullopt;
    }
    std::uint64_t v = 0;
    for (auto x : r.digits_) {
        if (__builtin_mul_overflow(v, std::uint64_t{10}, &v) ||
            __builtin_add_overflow(v, std::uint64_t{x}, &v)) {
            return std::nullopt;
        }
    }
    constexpr auto kMax = static_cast<std::uint64_t>(INT64_MAX);
    if (!r.negative_) {
        if (v > kMax) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(v);
    }
    if (v > kMax + 1) {
        return std::nullopt;
    }
    return v == kMax + 1 ? INT64_MIN : -static_cast<std::int64_t>(v);
}

double Decimal::to_double() const {
    switch (special_) {
    case Special::NaN:
        return std::strtod("nan", nullptr);
    case Special::PositiveInfinity:
        return std::strtod("inf", nullptr);
    case Special::NegativeInfinity:
        return std::strtod("-inf", nullptr);
    case Special::None:
        break;
    }
    return std::strtod(to_string().c_str(), nullptr);
}

Decimal Decimal::aligned_add(const Decimal& a, const Decimal& b, bool subtract) {
    int scale = std::max(a.scale_, b.scale_);
    Digits x = a.digits_;
    Digits y = b.digits_;
    shift_left(x, scale - a.scale_);
    shift_left(y, scale - b.scale_);
    bool xneg = a.negative_;
    bool yneg = subtract ? !b.negative_ : b.negative_;
    Decimal out;
    out.scale_ = scale;
    if (xneg == yneg) {
        out.digits_ = add_magnitude(x, y);
        out.negative_ = xneg;
    } else if (compare_magnitude(x, y) >= 0) {
        out.digits_ = subtract_magnitude(x, y);
        out.negative_ = xneg;
    } else {
        out.digits_ = subtract_magnitude(y, x);
        out.negative_ = yneg;
    }
    out.normalize();
    return out;
}

namespace {

Decimal nan_decimal() {
    return *Decimal::parse("NaN");
}

bool infinite(Decimal::Special s) {
    return s == Decimal::Special::PositiveInfinity || s == Decimal::Special::NegativeInfinity;
}

} // namespace

Decimal Decimal::operator+(const Decimal& o) const {
    if (special_ == Special::NaN || o.special_ == Special::NaN) {
        return nan_decimal();
    }
    if (infinite(special_) || infinite(o.special_)) {
        if (infinite(special_) && infinite(o.special_) && special_ != o.special_) {
            return nan_decimal();
        }
        return infinite(special_) ? *this : o;
    }
    return aligned_add(*this, o, false);
}

Decimal Decimal::operator-(const Decimal& o) const {
    return *this + o.negated();
}

Decimal Decimal::negated() const {
    Decimal out = *this;
    switch (special_) {
    case Special::PositiveInfinity:
        out.special_ = Special::NegativeInfinity;
        return out;
    case Special::NegativeInfinity:
        out.special_ = Special::PositiveInfinity;
        return out;
    case Special::NaN:
        return out;
    case Special::None:
        break;
    }
    out.negative_ = !negative_;
    out.normalize();
    return out;
}

Decimal Decimal::operator*(const Decimal& o) const {
    if (special_ != Special::None || o.special_ != Special::None) {
        if (special_ == Special::NaN || o.special_ == Special::NaN || is_zero() || o.is_zero()) {
            return nan_decimal();
        }
        bool neg =
            (special_ == Special::NegativeInfinity || (special_ == Special::None && negative_)) !=
            (o.special_ == Special::NegativeInfinity ||
             (o.special_ == Special::None && o.negative_));
        Decimal out;
        out.special_ = neg ? Special::NegativeInfinity : Special::PositiveInfinity;
        return out;
    }
    Decimal out;
    out.digits_ = multiply_magnitude(digits_, o.digits_);
    out.scale_ = scale_ + o.scale_;
    out.negative_ = negative_ != o.negative_;
    out.normalize();
    return out;
}

int Decimal::compare(const Decimal& o) const {
    // NaN sorts above everything, as in PostgreSQL; infinities at the ends.
    auto rank = [](const Decimal& d) {
        switch (d.special_) {
        case Special::NegativeInfinity:
            return -1;
        case Special::None:
            return 0;
        case Special::PositiveInfinity:
            return 1;
        case Special::NaN:
            return 2;
        }
        return 0;
    };
    if (rank(*this) != rank(o)) {
        return rank(*this) < rank(o) ? -1 : 1;
    }
    if (special_ != Special::None) {
        return 0;
    }
    auto diff = aligned_add(*this, o, true);
    if (diff.digits_.empty()) {
        return 0;
    }
    return diff.negative_ ? -1 : 1;
}

std::optional<Decimal> Decimal::divide(const Decimal& o) const {
    if (special_ == Special::NaN || o.special_ == Special::NaN) {
        return nan_decimal();
    }
    if (o.is_zero()) {
        return std::nullopt;
    }
    if (infinite(special_)) {
        if (infinite(o.special_)) {
            return nan_decimal();
        }
        return o.negative_ ? negated() : *this;
    }
    if (infinite(o.special_)) {
        return Decimal{};
    }
    // select_div_scale, with weights and first digits in base 10000
    auto base10000 = [](const Decimal& d, int& weight, int& first) {
        if (d.digits_.empty()) {
            weight = 0;
            first = 0;
            return;
        }
        // digits before the decimal point (may be <= 0)
        int int_digits = static_cast<int>(d.digits_.size()) - d.scale_;
        // weight: index of the base-10000 group holding the first non-zero digit
        int group_pos = int_digits > 0 ? (int_digits - 1) / 4 : -((-int_digits) / 4) - 1;
        weight = group_pos;
        // digits of that group: positions (group_pos*4 .. group_pos*4+3) counting from the point
        int group_start_int_digits = group_pos * 4 + 4;    // the group covers int digit positions
        int leading = group_start_int_digits - int_digits; // zeros before the first digit
        first = 0;
        for (int k = 0; k < 4; ++k) {
            int idx = k - leading;
            int digit = (idx >= 0 && idx < static_cast<int>(d.digits_.size())) ? d.digits_[idx] : 0;
            first = first * 10 + digit;
        }
    };
    int w1 = 0;
    int f1 = 0;
    int w2 = 0;
    int f2 = 0;
    base10000(*this, w1, f1);
    base10000(o, w2, f2);
    int qweight = w1 - w2;
    if (f1 <= f2) {
        --qweight;
    }
    int rscale = kMinSignificantDigits - qweight * 4;
    rscale = std::max({rscale, scale_, o.scale_, 0});
    rscale = std::min(rscale, kMaxDisplayScale);

    Digits n = digits_;
    Digits d = o.digits_;
    int e = o.scale_ - scale_ + rscale + 1;
    if (e >= 0) {
        shift_left(n, e);
    } else {
        shift_left(d, -e);
    }
    Digits q = n.empty() ? Digits{} : divide_magnitude(n, d);
    Decimal out;
    out.digits_ = round_off(q, 1);
    out.scale_ = rscale;
    out.negative_ = negative_ != o.negative_;
    out.normalize();
    return out;
}

std::optional<Decimal> Decimal::modulo(const Decimal& o) const {
    if (special_ != Special::None || o.special_ != Special::None) {
        return nan_decimal();
    }
    if (o.is_zero()) {
        return std::nullopt;
    }
    int scale = std::max(scale_, o.scale_);
    Digits n = digits_;
    Digits d = o.digits_;
    shift_left(n, scale - scale_);
    shift_left(d, scale - o.scale_);
    Digits rem;
    divide_magnitude(n, d, &rem);
    Decimal out;
    out.digits_ = rem;
    out.scale_ = scale;
    out.negative_ = negative_;
    out.normalize();
    return out;
}

std::vector<std::uint8_t> Decimal::to_binary() const {
    auto put16 = [](std::vector<std::uint8_t>& b, std::uint16_t v) {
        b.push_back(static_cast<std::uint8_t>(v >> 8));
        b.push_back(static_cast<std::uint8_t>(v & 0xFF));
    };
    std::vector<std::uint8_t> out;
    std::uint16_t sign = negative_ ? 0x4000 : 0x0000;
    switch (special_) {
    case Special::NaN:
        sign = 0xC000;
        break;
    case Special::PositiveInfinity:
        sign = 0xD000;
        break;
    case Special::NegativeInfinity:
        sign = 0xF000;
        break;
    case Special::None:
        break;
    }
    if (special_ != Special::None || digits_.empty()) {
        put16(out, 0);
        put16(out, 0);
        put16(out, sign);
        put16(out, static_cast<std::uint16_t>(special_ == Special::None ? scale_ : 0));
        return out;
    }
    // split into integer and fraction digit strings, pad to groups of four
    std::vector<std::uint8_t> all = digits_;
    auto scale = static_cast<std::size_t>(scale_);
    if (all.size() <= scale) {
        all.insert(all.begin(), scale - all.size() + 1, 0);
    }
    std::vector<std::uint8_t> integer(all.begin(), all.end() - static_cast<std::ptrdiff_t>(scale));
    std::vector<std::uint8_t> fraction(all.end() - static_cast<std::ptrdiff_t>(scale), all.end());
    while (integer.size() % 4 != 0) {
        integer.insert(integer.begin(), 0);
    }
    while (fraction.size() % 4 != 0) {
        fraction.push_back(0);
    }
    std::vector<std::uint16_t> groups;
    for (std::size_t i = 0; i < integer.size(); i += 4) {
        groups.push_back(static_cast<std::uint16_t>(integer[i] * 1000 + integer[i + 1] * 100 +
                                                    integer[i + 2] * 10 + integer[i + 3]));
    }
    int weight = static_cast<int>(groups.size()) - 1;
    for (std::size_t i = 0; i < fraction.size(); i += 4) {
        groups.push_back(static_cast<std::uint16_t>(fraction[i] * 1000 + fraction[i + 1] * 100 +
                                                    fraction[i + 2] * 10 + fraction[i + 3]));
    }
    std::size_t lead = 0;
    while (lead < groups.size() && groups[lead] == 0) {
        ++lead;
        --weight;
    }
    groups.erase(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(lead));
    while (!groups.empty() && groups.back() == 0) {
        groups.pop_back();
    }
    put16(out, static_cast<std::uint16_t>(groups.size()));
    put16(out, static_cast<std::uint16_t>(static_cast<std::int16_t>(weight)));
    put16(out, sign);
    put16(out, static_cast<std::uint16_t>(scale_));
    for (auto g : groups) {
        put16(out, g);
    }
    return out;
}

std::optional<Decimal> Decimal::from_binary(const std::vector<std::uint8_t>& b) {
    if (b.size() < 8) {
        return std::nullopt;
    }
    auto get16 = [&](std::size_t at) {
        return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
    };
    std::size_t ndigits = get16(0);
    auto weight = static_cast<std::int16_t>(get16(2));
    std::uint16_t sign = get16(4);
    std::uint16_t dscale = get16(6);
    if (b.size() != 8 + 2 * ndigits || dscale > 0x3FFF) {
        return std::nullopt;
    }
    Decimal d;
    if (sign == 0xC000) {
        d.special_ = Special::NaN;
        return d;
    }
    if (sign == 0xD000) {
        d.special_ = Special::PositiveInfinity;
        return d;
    }
    if (sign == 0xF000) {
        d.special_ = Special::NegativeInfinity;
        return d;
    }
    if (sign != 0 && sign != 0x4000) {
        return std::nullopt;
    }
    if (weight > 1000 || weight < -1000) {
        return std::nullopt;
    }
    // value = sum(group[i] * 10000^(weight - i)); build digits with the point after the
    // integer groups.
    std::vector<std::uint8_t> all;
    std::size_t int_groups = weight >= 0 ? static_cast<std::size_t>(weight) + 1 : 0;
    std::vector<std::uint16_t> groups;
    for (std::size_t i = 0; i < ndigits; ++i) {
        std::uint16_t g = get16(8 + 2 * i);
        if (g >= 10000) {
            return std::nullopt;
        }
        groups.push_back(g);
    }
    // leading fractional zero groups when weight < -1
    std::vector<std::uint16_t> full;
    if (weight < 0) {
        full.assign(static_cast<std::size_t>(-weight - 1), 0);
    }
    full.insert(full.end(), groups.begin(), groups.end());
    while (full.size() < int_groups) {
        full.push_back(0);
    }
    for (auto g : full) {
        all.push_back(static_cast<std::uint8_t>(g / 1000));
        all.push_back(static_cast<std::uint8_t>(g / 100 % 10));
        all.push_back(static_cast<std::uint8_t>(g / 10 % 10));
        all.push_back(static_cast<std::uint8_t>(g % 10));
    }
    std::size_t int_digits = int_groups * 4;
    std::size_t frac_digits = all.size() - int_digits;
    // adjust to dscale: pad or round
    d.digits_ = all;
    d.scale_ = static_cast<int>(frac_digits);
    d.negative_ = sign == 0x4000;
    d.normalize();
    return d.truncate_to(dscale);
}

} // namespace standin::postgres
