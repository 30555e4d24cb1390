// replay_main: runs every file of the directories (or the files) given through the fuzz target
// it is linked with, so ctest replays each seed corpus (fuzz/corpus/<target>) in the normal and
// the ASan + UBSan builds without libFuzzer. A crash, a sanitizer report or a broken invariant
// aborts with the file's name printed first.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) {
            for (const auto& e : std::filesystem::directory_iterator(p)) {
                if (e.is_regular_file()) {
                    files.push_back(e.path());
                }
            }
        } else if (std::filesystem::is_regular_file(p, ec)) {
            files.push_back(p);
        } else {
            std::fprintf(stderr, "%s: no such file or directory\n", argv[i]);
            return 2;
        }
    }
    if (files.empty()) {
        std::fprintf(stderr, "no inputs in the corpus\n");
        return 2;
    }
    std::sort(files.begin(), files.end());
    std::size_t bytes = 0;
    for (const auto& f : files) {
        std::vector<std::uint8_t> data = read_all(f);
        std::fprintf(stderr, "replaying %s\n", f.c_str());
        // An empty vector's data() may be null; libFuzzer passes a valid pointer.
        static const std::uint8_t empty = 0;
        LLVMFuzzerTestOneInput(data.empty() ? &empty : data.data(), data.size());
        bytes += data.size();
    }
    std::printf("replayed %zu inputs (%zu bytes)\n", files.size(), bytes);
    return 0;
}
