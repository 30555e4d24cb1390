# Generates builtin_errors.cc: knowledge/errors.json as one string literal, so the single tlslab
# binary carries its knowledge base wherever it is copied. Run by proxy/app/explain/CMakeLists.txt
# with -DINPUT=<errors.json> -DOUTPUT=<builtin_errors.cc>.
file(READ "${INPUT}" content)
string(FIND "${content}" ")tlslab_json\"" clash)
if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )tlslab_json\"")
endif()
file(WRITE "${OUTPUT}.tmp"
"// Generated from knowledge/errors.json by embed_errors.cmake. Do not edit.
#include <proxy/app/explain/builtin_errors.h>

namespace proxy::app::explain {
namespace {
constexpr char kErrorsJson[] = R\"tlslab_json(${content})tlslab_json\";
} // namespace

std::string_view builtin_errors_json() { return {kErrorsJson, sizeof(kErrorsJson) - 1}; }

} // namespace proxy::app::explain
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
