// Dates and times: the proleptic Gregorian calendar, parsing, DATE_FORMAT, INTERVAL arithmetic
// (date + INTERVAL n unit, DATE_ADD and its kin).

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <standin/mysql/sql_execution.h>

namespace standin::mysql::execution {

// civil_from_days / days_from_civil (proleptic Gregorian, H. Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<Civil> parse_datetime(std::string_view t) {
    Civil c;
    int n = std::sscanf(std::string(t.substr(0, 32)).c_str(), "%d-%d-%d %d:%d:%d", &c.year,
                        &c.month, &c.day, &c.hour, &c.minute, &c.second);
    if (n < 3 || c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.year < 0 ||
        c.year > 9999 || c.hour < 0 || c.hour > 23 || c.minute < 0 || c.minute > 59 ||
        c.second < 0 || c.second > 59) {
        return std::nullopt;
    }
    return c;
}

std::int64_t epoch_of(const Civil& c) {
    return days_from_civil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) *
               86400 +
           c.hour * 3600 + c.minute * 60 + c.second;
}

Civil civil_of(std::int64_t secs) {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
}

Civil civil_from_days(std::int64_t days) {
    return civil_of(days * 86400);
}

int day_of_year(const Civil& d) {
    return static_cast<int>(
        days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day)) -
        days_from_civil(d.year, 1, 1) + 1);
}

int weekday_of(const Civil& d) {
    auto days =
        days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
    return static_cast<int>(((days % 7) + 11) % 7); // 0 Sunday
}

int days_in_month(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[(month + 11) % 12];
}

// week_of: WEEK(date, mode) for modes 0 (Sunday first, 0-53), 1 (Monday first, a week with
// four days or more is week 1, 0-53) and 3 (ISO 8601: Monday first, 1-53).
int week_of(const Civil& d, int mode) {
    bool monday_first = mode != 0;
    auto jan1 = Civil{d.year, 1, 1, 0, 0, 0};
    int w1 = weekday_of(jan1);                        // 0 Sunday
    int first_day = monday_first ? (w1 + 6) % 7 : w1; // days of week 1 before Jan 1
    int yday0 = day_of_year(d) - 1;
    if (mode == 0) {
        int offset = (7 - w1) % 7; // the first Sunday
        return yday0 < offset ? 0 : (yday0 - offset) / 7 + 1;
    }
    // mode 1 / 3: week 1 holds the year's first Thursday
    int week = (yday0 + first_day) / 7 + (first_day <= 3 ? 1 : 0);
    if (mode == 3) {
        if (week == 0) {
            return week_of(Civil{d.year - 1, 12, 31, 0, 0, 0}, 3);
        }
        int dec31_first = weekday_of(Civil{d.year, 12, 31, 0, 0, 0});
        if (week == 53 && (dec31_first + 6) % 7 < 3) {
            return 1;
        }
    }
    return week;
}

std::string date_format(const Civil& d, std::string_view fmt) {
    static constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                              "May",       "June",     "July",     "August",
                                              "September", "October",  "November", "December"};
    static constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};
    auto wday = static_cast<int>((
        (days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day)) % 7 +
         11) %
        7));
    std::string out;
    char buf[32];
    for (std::size_t k = 0; k < fmt.size() && out.size() < 4096; ++k) {
        if (fmt[k] != '%' || k + 1 == fmt.size()) {
            out.push_back(fmt[k]);
            continue;
        }
        char f = fmt[++k];
        buf[0] = 0;
        switch (f) {
        case 'Y':
            std::snprintf(buf, sizeof buf, "%04d", d.year);
            break;
        case 'y':
            std::snprintf(buf, sizeof buf, "%02d", d.year % 100);
            break;
        case 'm':
            std::snprintf(buf, sizeof buf, "%02d", d.month);
            break;
        case 'c':
            std::snprintf(buf, sizeof buf, "%d", d.month);
            break;
        case 'd':
            std::snprintf(buf, sizeof buf, "%02d", d.day);
            break;
        case 'e':
            std::snprintf(buf, sizeof buf, "%d", d.day);
            break;
        case 'H':
            std::snprintf(buf, sizeof buf, "%02d", d.hour);
            break;
        case 'k':
            std::snprintf(buf, sizeof buf, "%d", d.hour);
            break;
        case 'h':
        case 'I':
            std::snprintf(buf, sizeof buf, "%02d", (d.hour + 11) % 12 + 1);
            break;
        case 'l':
            std::snprintf(buf, sizeof buf, "%d", (d.hour + 11) % 12 + 1);
            break;
        case 'i':
            std::snprintf(buf, sizeof buf, "%02d", d.minute);
            break;
        case 's':
        case 'S':
            std::snprintf(buf, sizeof buf, "%02d", d.second);
            break;
        case 'f':
            std::snprintf(buf, sizeof buf, "000000");
            break;
        case 'p':
            std::snprintf(buf, sizeof buf, "%s", d.hour < 12 ? "AM" : "PM");
            break;
        case 'T':
            std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", d.hour, d.minute, d.second);
            break;
        case 'M':
            std::snprintf(buf, sizeof buf, "%s", kMonths[(d.month + 11) % 12]);
            break;
        case 'b':
            std::snprintf(buf, sizeof buf, "%.3s", kMonths[(d.month + 11) % 12]);
            break;
        case 'W':
            std::snprintf(buf, sizeof buf, "%s", kDays[wday]);
            break;
        case 'a':
            std::snprintf(buf, sizeof buf, "%.3s", kDays[wday]);
            break;
        case 'w':
            std::snprintf(buf, sizeof buf, "%d", wday);
            break;
        case 'j':
            std::snprintf(buf, sizeof buf, "%03d", day_of_year(d));
            break;
        case 'D': {
            const char* suffix = (d.day / 10 == 1) ? "th"
                                 : d.day % 10 == 1 ? "st"
                                 : d.day % 10 == 2 ? "nd"
                                 : d.day % 10 == 3 ? "rd"
                                                   : "th";
            std::snprintf(buf, sizeof buf, "%d%s", d.day, suffix);
            break;
        }
        case 'r':
            std::snprintf(buf, sizeof buf, "%02d:%02d:%02d %s", (d.hour + 11) % 12 + 1, d.minute,
                          d.second, d.hour < 12 ? "AM" : "PM");
            break;
        case 'U':
            std::snprintf(buf, sizeof buf, "%02d", week_of(d, 0));
            break;
        case 'u':
            std::snprintf(buf, sizeof buf, "%02d", week_of(d, 1));
            break;
        case 'v':
            std::snprintf(buf, sizeof buf, "%02d", week_of(d, 3));
            break;
        default:
            buf[0] = f;
            buf[1] = 0;
            break;
        }
        out += buf;
    }
    return out;
}

Val datetime_text(const Ctx& c, std::string text, ColumnType type) {
    Val v = datetime_val(c, 0);
    v.text = std::move(text);
    v.meta.type = type;
    v.meta.column_length = static_cast<std::uint32_t>(v.text.size());
    if (type == ColumnType::Time) {
        v.kind = Val::Kind::Time;
    }
    return v;
}

bool has_time_part(std::string_view text) {
    return text.find(':') != std::string_view::npos;
}

namespace {

// The numbers of a compound interval value ('1:30' for HOUR_MINUTE): its digit groups.
std::vector<std::int64_t> interval_fields(std::string_view text, bool& negative) {
    std::vector<std::int64_t> out;
    negative = false;
    std::size_t k = 0;
    while (k < text.size() && (text[k] == ' ' || text[k] == '-')) {
        negative = negative || text[k] == '-';
        ++k;
    }
    std::int64_t cur = 0;
    bool in_number = false;
    for (; k < text.size() && out.size() < 8; ++k) {
        char ch = text[k];
        if (ch >= '0' && ch <= '9') {
            cur = std::min<std::int64_t>(cur * 10 + (ch - '0'), 1'000'000'000'000LL);
            in_number = true;
        } else if (in_number) {
            out.push_back(cur);
            cur = 0;
            in_number = false;
        }
    }
    if (in_number) {
        out.push_back(cur);
    }
    return out;
}

} // namespace

std::optional<IntervalAmount> interval_amount(std::string_view unit, const Val& amount) {
    IntervalAmount r;
    auto simple = [&](std::int64_t seconds_per, std::int64_t months_per) {
        auto n = to_int(amount);
        if (n > 4'000'000'000'000LL || n < -4'000'000'000'000LL) {
            return false;
        }
        r.seconds = n * seconds_per;
        r.months = n * months_per;
        return true;
    };
    bool ok = true;
    if (unit == "MICROSECOND") {
        r.seconds = to_int(amount) / 1000000;
    } else if (unit == "SECOND") {
        ok = simple(1, 0);
    } else if (unit == "MINUTE") {
        ok = simple(60, 0);
    } else if (unit == "HOUR") {
        ok = simple(3600, 0);
    } else if (unit == "DAY") {
        ok = simple(86400, 0);
    } else if (unit == "WEEK") {
        ok = simple(604800, 0);
    } else if (unit == "MONTH") {
        ok = simple(0, 1);
    } else if (unit == "QUARTER") {
        ok = simple(0, 3);
    } else if (unit == "YEAR") {
        ok = simple(0, 12);
    } else {
        // compound units: the value's numbers fill the unit's fields from the right
        bool negative = false;
        auto f = interval_fields(amount.text, negative);
        struct Unit {
            std::string_view name;
            std::vector<std::int64_t> scale; // seconds per field, largest first (0: months)
        };
        static const Unit kUnits[] = {{"SECOND_MICROSECOND", {1, 0}},
                                      {"MINUTE_MICROSECOND", {60, 1, 0}},
                                      {"MINUTE_SECOND", {60, 1}},
                                      {"HOUR_MICROSECOND", {3600, 60, 1, 0}},
                                      {"HOUR_SECOND", {3600, 60, 1}},
                                      {"HOUR_MINUTE", {3600, 60}},
                                      {"DAY_MICROSECOND", {86400, 3600, 60, 1, 0}},
                                      {"DAY_SECOND", {86400, 3600, 60, 1}},
                                      {"DAY_MINUTE", {86400, 3600, 60}},
                                      {"DAY_HOUR", {86400, 3600}},
                                      {"YEAR_MONTH", {-12, -1}}};
        const Unit* u = nullptr;
        for (const auto& x : kUnits) {
            if (x.name == unit) {
                u = &x;
            }
        }
        if (u == nullptr || f.empty() || f.size() > u->scale.size()) {
            return std::nullopt;
        }
        std::size_t skip = u->scale.size() - f.size();
        for (std::size_t k = 0; k < f.size(); ++k) {
            auto s = u->scale[skip + k];
            if (s < 0) {
                r.months += f[k] * -s;
            } else {
                r.seconds += f[k] * s;
            }
        }
        if (negative) {
            r.months = -r.months;
            r.seconds = -r.seconds;
        }
    }
    if (!ok) {
        return std::nullopt;
    }
    return r;
}

bool date_unit(std::string_view unit) {
    return unit == "DAY" || unit == "WEEK" || unit == "MONTH" || unit == "QUARTER" ||
           unit == "YEAR" || unit == "YEAR_MONTH";
}

EvalResult date_add(Ctx& c, const Val& date, const Val& amount, std::string_view unit, int sign) {
    if (date.is_null() || amount.is_null()) {
        return null_val();
    }
    auto d = parse_datetime(date.text);
    auto a = interval_amount(unit, amount);
    if (!d || !a) {
        if (!d) {
            warn(c, 1292, "Incorrect datetime value: '" + date.text + "'");
        }
        return null_val();
    }
    if (a->months != 0) {
        auto total = static_cast<std::int64_t>(d->year) * 12 + (d->month - 1) + sign * a->months;
        if (total < 0 || total >= 10000 * 12) {
            return null_val();
        }
        d->year = static_cast<int>(total / 12);
        d->month = static_cast<int>(total % 12) + 1;
        d->day = std::min(d->day, days_in_month(d->year, d->month));
    }
    auto secs = epoch_of(*d) + sign * a->seconds;
    if (secs < -62167219200LL || secs > 253402300799LL) {
        return null_val();
    }
    auto out = civil_of(secs);
    bool as_date =
        date_unit(unit) && !has_time_part(date.text) && date.meta.type != ColumnType::DateTime;
    char buf[40];
    if (as_date) {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", out.year, out.month, out.day);
    } else {
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", out.year, out.month,
                      out.day, out.hour, out.minute, out.second);
    }
    // a DATE / DATETIME argument keeps its type (a DATE with a time unit becomes a DATETIME);
    // a string argument gives a string, as the servers answer
    if (date.kind == Val::Kind::DateTime) {
        return datetime_text(c, buf, as_date ? ColumnType::Date : ColumnType::DateTime);
    }
    Val v = string_val(c, buf, false, 29);
    v.meta.type = ColumnType::String;
    return v;
}

} // namespace standin::mysql::execution
