#pragma once

namespace proxy {

// overloaded: one visitor from several lambdas, for exhaustive std::visit over events and
// actions (a variant alternative without a matching lambda does not compile).
template <class... Ts> struct overloaded : Ts... { using Ts::operator()...; };

} // namespace proxy
