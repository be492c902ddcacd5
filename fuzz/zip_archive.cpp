// The zip reader alone: the central directory, every record's offsets, and reading each record.
#include "fuzz_support.hpp"
#include "runtime/input_error.hpp"
#include "runtime/mapped_file.hpp"
#include "runtime/zip_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace taxon;
  auto file = MappedFile::open(fuzz::write_input(data, size, ".zip"));
  (void)ZipArchive::looks_like_zip(*file);
  try {
    ZipArchive archive(file);
    for (const auto& record : archive.records()) {
      if (archive.find(record.name) == nullptr) fuzz::fail("record \"" + record.name + "\" is listed but not found");
      try {
        std::string_view bytes = archive.read(record.name);
        const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data());
        if (bytes.size() > file->size() || begin < file->data() ||
            begin - file->data() > static_cast<std::ptrdiff_t>(file->size() - bytes.size()))
          fuzz::fail("record \"" + record.name + "\" read outside the file");
        unsigned sum = 0;
        for (char c : bytes) sum += static_cast<unsigned char>(c);  // touches every byte
        (void)sum;
      } catch (const InputError&) {
      }
    }
  } catch (const InputError&) {
  }
  return 0;
}
