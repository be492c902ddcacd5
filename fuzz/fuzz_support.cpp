#include "fuzz_support.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "eval_summary.hpp"  // tests/runtime: one comparable text of an evaluation
#include "runtime/tensor_data.hpp"

namespace taxon::fuzz {

std::string write_input(const uint8_t* data, std::size_t size, std::string_view suffix) {
  static const std::string directory = [] {
    std::error_code ignored;
    std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ignored) ? "/dev/shm" : std::filesystem::temp_directory_path();
    return (base / ("taxon-fuzz-" + std::to_string(::getpid()))).string();
  }();
  std::filesystem::create_directories(directory);
  std::string path = directory + "/input" + std::string(suffix);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot write the scratch input " + path);
  for (std::size_t written = 0; written < size;) {
    ssize_t n = ::write(fd, data + written, size - written);
    if (n <= 0) fail("cannot write the scratch input " + path);
    written += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

void check_checkpoint(const Checkpoint& checkpoint) {
  for (const auto& [name, tensor] : checkpoint.tensors) {
    if (!check_view(tensor).empty()) fail("\"" + name + "\" accepted with a view outside its storage: " + check_view(tensor));
    const StorageBlock* storage = tensor.storage.get();
    if (!storage) fail("\"" + name + "\" accepted without a storage");
    if (storage->nbytes == 0) continue;
    bool inside = false;
    for (const auto& file : checkpoint.files)
      inside |= storage->data >= file->data() && storage->nbytes <= file->size() &&
                storage->data - file->data() <= static_cast<std::ptrdiff_t>(file->size() - storage->nbytes);
    if (!inside) fail("\"" + name + "\" accepted with a storage outside every file read");
    if (tensor.nbytes() <= (1u << 16)) (void)tensor.contiguous_bytes();  // walks the strides over real bytes
  }
  TensorTable table = checkpoint_table(checkpoint);
  if (table.tensors.size() != checkpoint.tensors.size()) fail("the table lost tensors");
}

const TensorTable& sample_table() {
  static const TensorTable table = [] {
    TensorTable t;
    t.model = "fuzz";
    t.has_module_types = true;
    auto add = [&](std::string name, std::vector<int64_t> shape, std::string dtype, std::string module, std::string type,
                   TensorKind kind = TensorKind::parameter) {
      TensorRecord record;
      record.name = t.text(name);
      record.shape = t.dims(shape);
      record.dtype = t.text(dtype);
      record.module = t.text(module);
      record.module_type = t.text(type);
      record.kind = kind;
      t.tensors.push_back(std::move(record));
    };
    add("embed.weight", {1000, 64}, "float32", "embed", "Embedding");
    for (std::string layer : {"0", "1", "11"}) {
      std::string block = "blocks." + layer;
      add(block + ".norm1.weight", {64}, "float32", block + ".norm1", "LayerNorm");
      add(block + ".norm1.bias", {64}, "float32", block + ".norm1", "LayerNorm");
      add(block + ".attn.qkv.weight", {192, 64}, "bfloat16", block + ".attn.qkv", "Linear");
      add(block + ".attn.relative_position_bias_table", {169, 4}, "float32", block + ".attn", "WindowAttention");
      add(block + ".mlp.fc1.weight", {256, 64}, "float16", block + ".mlp.fc1", "Linear");
      add(block + ".mlp.fc1.bias", {256}, "float16", block + ".mlp.fc1", "Linear");
      add(block + ".attn.relative_position_index", {49, 49}, "int64", block + ".attn", "WindowAttention", TensorKind::buffer);
    }
    add("head.weight", {1000, 64}, "float32", "head", "Linear");
    t.tensors.back().tied_to = 0;
    add("pos_embed", {1, 197, 64}, "float32", "", "VisionTransformer");
    add("héad.ünicode", {3}, "float32", "", "VisionTransformer");
    for (const auto& record : t.tensors)
      if (std::find(t.modules.begin(), t.modules.end(), std::pair(record.module, record.module_type)) == t.modules.end())
        t.modules.emplace_back(record.module, record.module_type);
    return t;
  }();
  return table;
}

void evaluate_both_ways(const Program& program) {
  (void)lint_program(program);
  const TensorTable& table = sample_table();
  EvalOptions optimized, as_written;
  as_written.optimize = false;
  EvalResult fast = evaluate(program, table, optimized);
  EvalResult slow = evaluate(program, table, as_written);
  std::string fast_text = testing::summary(fast, table), slow_text = testing::summary(slow, table);
  if (fast_text != slow_text) fail("the optimized evaluation differs:\n" + fast_text + "---- as written:\n" + slow_text);
  if (testing::diagnostics_summary(fast) != testing::diagnostics_summary(slow))
    fail("the optimized evaluation reports other diagnostics:\n" + testing::diagnostics_summary(fast) + "---- as written:\n" +
         testing::diagnostics_summary(slow));
}

}  // namespace taxon::fuzz
