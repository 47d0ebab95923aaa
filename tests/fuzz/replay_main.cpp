// Runs a fuzz target over stored inputs (seed corpus, past crashes) with any
// compiler, so CI re-checks every one of them without libFuzzer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fs = std::filesystem;

namespace {
bool replay(const fs::path &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return false;
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    // A heap copy of exactly the input's size, so a sanitizer sees overreads.
    auto *copy = new uint8_t[bytes.size() ? bytes.size() : 1];
    std::copy(bytes.begin(), bytes.end(), copy);
    LLVMFuzzerTestOneInput(copy, bytes.size());
    delete[] copy;
    return true;
}
} // namespace

int main(int argc, char **argv) {
    size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        fs::path arg = argv[i];
        if (fs::is_directory(arg)) {
            std::vector<fs::path> files;
            for (const auto &e : fs::directory_iterator(arg))
                if (e.is_regular_file() && e.path().filename().string()[0] != '.')
                    files.push_back(e.path());
            std::sort(files.begin(), files.end());
            for (const auto &f : files)
                count += replay(f) ? 1 : 0;
        } else if (fs::exists(arg)) {
            if (!replay(arg)) {
                fprintf(stderr, "cannot read %s\n", argv[i]);
                return 1;
            }
            ++count;
        }
    }
    printf("replayed %zu inputs\n", count);
    // An empty corpus would make this test pass without checking anything.
    return count > 0 ? 0 : 1;
}
