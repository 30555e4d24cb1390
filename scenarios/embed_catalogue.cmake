# Generates builtin_catalogue.cc: every scenarios/catalogue/*.toml as a string literal, so the
# single tlslab binary carries its catalogue wherever it is copied.
file(GLOB files "${CATALOGUE_DIR}/*.toml")
list(SORT files)
set(body "")
set(entries "")
set(i 0)
foreach(f IN LISTS files)
    file(READ "${f}" content)
    get_filename_component(name "${f}" NAME)
    string(APPEND body "constexpr char kFile${i}[] = R\"tlslab_toml(${content})tlslab_toml\";\n")
    string(APPEND entries "    {\"${name}\", kFile${i}},\n")
    math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp"
"// Generated from scenarios/catalogue/*.toml by embed_catalogue.cmake. Do not edit.
#include <scenarios/builtin_catalogue.h>

namespace scenarios {
namespace {
${body}
constexpr BuiltinFile kFiles[] = {
${entries}};
} // namespace

std::span<const BuiltinFile> builtin_catalogue_files() { return kFiles; }

} // namespace scenarios
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUTPUT}.tmp" "${OUTPUT}")
