// Times the checkpoint writers on many small tensors: what a large MoE checkpoint looks like to
// the header and the zip's central directory, without gigabytes of data.
//   taxon_writer_bench [LAYERS] [EXPERTS] [RUNS] [DIR] [both|safetensors|pt]
// Builds a synthetic state dict of LAYERS decoder layers, each with EXPERTS experts
// (`model.layers.{l}.mlp.experts.{e}.{gate,up,down}_proj.weight`) plus attention, norms and the
// router, and the embeddings, final norm and head: 64 layers x 512 experts is 98,819 tensors
// (1,544 a layer). Every tensor owns its own small storage (4 x 4 float32), as in a real state
// dict. Then it writes that state dict, and the one with 4x the experts (4x the tensors), with
// write_safetensors and with write_torch(state_dict_value(...)) into DIR (default: the system's
// temporary directory), RUNS times each (default 5), each run in a fresh process, and prints the
// minimum and median seconds and the ratios the issue sets targets for. Writes are fsynced, as
// taxon always writes. Never a timed test.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include "runtime/checkpoint_writer.hpp"

using namespace taxon;

namespace {

struct Synthetic {
  std::vector<std::string> names;
  std::vector<TensorData> data;
  std::shared_ptr<std::vector<uint8_t>> bytes;

  std::vector<OutputTensor> outputs() const {
    std::vector<OutputTensor> out;
    out.reserve(names.size());
    for (std::size_t i = 0; i < names.size(); ++i) out.push_back({names[i], &data[i]});
    return out;
  }
};

Synthetic make_moe(int layers, int experts) {
  Synthetic s;
  auto add = [&](std::string name) { s.names.push_back(std::move(name)); };
  add("model.embed_tokens.weight");
  for (int l = 0; l < layers; ++l) {
    for (const char* p : {"q_proj", "k_proj", "v_proj", "o_proj"}) add(fmt::format("model.layers.{}.self_attn.{}.weight", l, p));
    add(fmt::format("model.layers.{}.input_layernorm.weight", l));
    add(fmt::format("model.layers.{}.post_attention_layernorm.weight", l));
    add(fmt::format("model.layers.{}.mlp.gate.weight", l));
    add(fmt::format("model.layers.{}.mlp.shared_expert_gate.weight", l));
    for (int e = 0; e < experts; ++e)
      for (const char* p : {"gate_proj", "up_proj", "down_proj"})
        add(fmt::format("model.layers.{}.mlp.experts.{}.{}.weight", l, e, p));
  }
  add("model.norm.weight");
  add("lm_head.weight");
  constexpr std::size_t kElements = 16, kBytes = kElements * 4;
  s.bytes = std::make_shared<std::vector<uint8_t>>(s.names.size() * kBytes);
  for (std::size_t i = 0; i < s.bytes->size(); ++i) (*s.bytes)[i] = static_cast<uint8_t>(i * 131 + 7);
  s.data.resize(s.names.size());
  for (std::size_t i = 0; i < s.names.size(); ++i) {
    auto storage = std::make_shared<StorageBlock>();
    storage->key = std::to_string(i);
    storage->dtype = DType::float32;
    storage->data = s.bytes->data() + i * kBytes;
    storage->nbytes = kBytes;
    storage->owner = s.bytes;
    TensorData& t = s.data[i];
    t.dtype = DType::float32;
    t.shape = {4, 4};
    t.stride = contiguous_strides(t.shape);
    t.storage = std::move(storage);
  }
  return s;
}

// Wall-clock seconds of each run: the minimum (the least disturbed by other processes, and what
// the ratios use) and the median.
struct Timing {
  double min = 0, median = 0;
};

// Each run in a fresh process (fork), as `taxon apply` writes once a process: in one process,
// repeated writes reuse heap pages that glibc keeps below its 32 MiB mmap threshold while bigger
// buffers are mapped and faulted in afresh each time, which makes the small size look faster than
// a single write of it is. The state dict is built before the clock starts.
Timing time_runs(int runs, int layers, int experts, const std::function<void(const std::vector<OutputTensor>&)>& write) {
  std::vector<double> samples;
  for (int i = 0; i < runs; ++i) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) std::abort();
    pid_t child = ::fork();
    if (child == 0) {
      ::close(pipe_fds[0]);
      Synthetic s = make_moe(layers, experts);
      std::vector<OutputTensor> out = s.outputs();
      auto start = std::chrono::steady_clock::now();
      write(out);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      (void)!::write(pipe_fds[1], &seconds, sizeof seconds);
      std::_Exit(0);
    }
    ::close(pipe_fds[1]);
    double seconds = -1;
    if (::read(pipe_fds[0], &seconds, sizeof seconds) != sizeof seconds) seconds = -1;
    ::close(pipe_fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (seconds < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "a benchmark run failed\n";
      std::exit(1);
    }
    samples.push_back(seconds);
  }
  std::sort(samples.begin(), samples.end());
  return {samples.front(), samples[samples.size() / 2]};
}

struct Figures {
  std::size_t tensors = 0;
  Timing safetensors, torch;
};

Figures measure(int layers, int experts, int runs, const std::filesystem::path& dir, const std::string& which) {
  std::string st = (dir / "bench.safetensors").string(), pt = (dir / "bench.pt").string();
  Figures f;
  f.tensors = make_moe(layers, experts).names.size();
  std::string line = fmt::format("{:>9} tensors", f.tensors);
  if (which != "pt") {
    f.safetensors = time_runs(runs, layers, experts, [&](const auto& out) { write_safetensors(st, out, {{"format", "pt"}}); });
    line += fmt::format("  safetensors min {:.3f} s, median {:.3f} s ({:.1f} MB)", f.safetensors.min, f.safetensors.median,
                        std::filesystem::file_size(st) / 1e6);
    std::filesystem::remove(st);
  }
  if (which != "safetensors") {
    f.torch = time_runs(runs, layers, experts, [&](const auto& out) { write_torch(pt, state_dict_value(out)); });
    line += fmt::format("  .pt min {:.3f} s, median {:.3f} s ({:.1f} MB)", f.torch.min, f.torch.median,
                        std::filesystem::file_size(pt) / 1e6);
    std::filesystem::remove(pt);
  }
  std::cout << line << "\n" << std::flush;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int layers = argc > 1 ? std::atoi(argv[1]) : 64;
  int experts = argc > 2 ? std::atoi(argv[2]) : 512;
  int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  std::filesystem::path dir = argc > 4 ? std::filesystem::path(argv[4]) : std::filesystem::temp_directory_path();
  std::string which = argc > 5 ? argv[5] : "both";
  if (layers <= 0 || experts <= 0 || runs <= 0 || (which != "both" && which != "safetensors" && which != "pt")) {
    std::cerr << "usage: taxon_writer_bench [LAYERS] [EXPERTS] [RUNS] [DIR] [both|safetensors|pt]\n";
    return 2;
  }
  std::cout << fmt::format("{} layers, {} and {} experts a layer, {} runs each, into {}\n", layers, experts, 4 * experts,
                           runs, dir.string());
  Figures n = measure(layers, experts, runs, dir, which);
  Figures n4 = measure(layers, 4 * experts, runs, dir, which);
  double tensors = static_cast<double>(n4.tensors) / static_cast<double>(n.tensors);
  if (which == "both")
    std::cout << fmt::format("safetensors at {} tensors: {:.2f}x the .pt time (min; median {:.2f}x; target <= 1.5)\n",
                             n.tensors, n.safetensors.min / n.torch.min, n.safetensors.median / n.torch.median);
  std::cout << fmt::format("{:.2f}x the tensors:", tensors);
  if (which != "pt")
    std::cout << fmt::format(" safetensors {:.2f}x the time (min; median {:.2f}x)", n4.safetensors.min / n.safetensors.min,
                             n4.safetensors.median / n.safetensors.median);
  if (which != "safetensors")
    std::cout << fmt::format(" .pt {:.2f}x (min; median {:.2f}x)", n4.torch.min / n.torch.min, n4.torch.median / n.torch.median);
  std::cout << " (target <= 5)\n";
  return 0;
}
