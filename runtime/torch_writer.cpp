// torch.save's zip format, written without LibTorch: a protocol-2 pickle
// (data.pkl) whose tensors are _rebuild_tensor_v2 over persistent storage ids,
// one stored record per storage (data/<key>), and `version`. Storages shared
// by several tensors are written once, so views and ties survive.
#include <array>
#include <cstring>
#include <filesystem>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "engine/internal_error.hpp"
#include "runtime/atomic_file.hpp"
#include "runtime/checkpoint_writer.hpp"
#include "runtime/crc32.hpp"
#include "runtime/input_error.hpp"

namespace taxon {
namespace {

// The storage class a .pt records for the dtype; empty for those PyTorch 1.13 lacks (float8, wide
// unsigned), which this writer leaves to .safetensors so that every PyTorch loads what it writes.
std::string_view storage_class(DType dtype) { return in_torch_1_13(dtype) ? dtype_info(dtype).storage_class : ""; }

class Pickler {
 public:
  std::string out;
  std::vector<std::shared_ptr<StorageBlock>> storages;  // in key order

  void begin() { out += "\x80\x02"; }
  void end() { out += '.'; }

  void value(const PyRef& v) {
    if (auto found = memo_.find(v.get()); found != memo_.end()) {  // the same object again (a tie): a memo get
      get(found->second);
      return;
    }
    std::visit([&](const auto& x) { write(x, v); }, v->value);
  }

  void tensor(const TensorData& t) {
    global("torch._utils", "_rebuild_tensor_v2");
    out += '(';
    // persistent id: ('storage', torch.XStorage, key, 'cpu', numel)
    out += '(';
    text("storage");
    std::string_view cls = storage_class(t.dtype);
    if (cls.empty())
      throw InputError(code::unsupported_input,
                       fmt::format("{} tensors cannot be written as .pt by this taxon; write .safetensors", dtype_name(t.dtype)));
    global("torch", std::string(cls));
    text(storage_key(t.storage));
    text("cpu");
    integer(static_cast<int64_t>(t.storage->nbytes / dtype_size(t.dtype)));
    out += 't';
    out += 'Q';  // BINPERSID
    integer(t.storage_offset);
    ints(t.shape);
    ints(t.stride);
    out += t.requires_grad ? '\x88' : '\x89';
    global("collections", "OrderedDict");  // backward hooks: an empty OrderedDict
    out += ')';
    out += 'R';
    out += 't';
    out += 'R';
  }

  void ordered_dict_begin() {
    global("collections", "OrderedDict");
    out += ')';
    out += 'R';
  }

  void text(std::string_view s) {
    out += 'X';
    uint32_t n = static_cast<uint32_t>(s.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    out += s;
  }

  void integer(int64_t value) {
    if (value >= 0 && value < 256) {
      out += 'K';
      out += static_cast<char>(value);
    } else if (value >= INT32_MIN && value <= INT32_MAX) {
      out += 'J';
      int32_t v = static_cast<int32_t>(value);
      out.append(reinterpret_cast<const char*>(&v), 4);
    } else {
      out += '\x8a';
      out += '\x08';
      out.append(reinterpret_cast<const char*>(&value), 8);
    }
  }

 private:
  // A dotted name (a nested class) as protocol 2 must spell it: getattr(Outer, "Inner").
  void global(std::string_view module, std::string_view name) {
    std::size_t dot = name.rfind('.');
    if (dot != std::string_view::npos) {
      global("builtins", "getattr");
      out += '(';
      global(module, name.substr(0, dot));
      text(name.substr(dot + 1));
      out += 't';
      out += 'R';
      return;
    }
    out += 'c';
    out += module;
    out += '\n';
    out += name;
    out += '\n';
  }
  void ints(const std::vector<int64_t>& values) {
    out += '(';
    for (int64_t v : values) integer(v);
    out += 't';
  }
  void put(const PyValue* v) {
    uint32_t index = static_cast<uint32_t>(memo_.size());
    memo_.emplace(v, index);
    out += 'r';  // LONG_BINPUT
    out.append(reinterpret_cast<const char*>(&index), 4);
  }
  void get(uint32_t index) {
    out += 'j';  // LONG_BINGET
    out.append(reinterpret_cast<const char*>(&index), 4);
  }
  std::string storage_key(const std::shared_ptr<StorageBlock>& storage) {
    auto [it, inserted] = keys_.emplace(storage.get(), keys_.size());
    if (inserted) storages.push_back(storage);
    return std::to_string(it->second);
  }

  void write(const PyNone&, const PyRef&) { out += 'N'; }
  void write(bool b, const PyRef&) { out += b ? '\x88' : '\x89'; }
  void write(int64_t i, const PyRef&) { integer(i); }
  void write(const PyBigInt& b, const PyRef&) {
    out += '\x8a';
    out += static_cast<char>(b.bytes.size());
    out += b.bytes;
  }
  void write(double d, const PyRef&) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    out += 'G';
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((bits >> shift) & 0xFF);  // big-endian
  }
  void write(const std::string& s, const PyRef&) { text(s); }
  void write(const PyBytes& b, const PyRef&) {  // protocol 2 spells bytes as _codecs.encode(latin-1 text)
    global("_codecs", "encode");
    std::string utf8;
    for (unsigned char c : b.data) {
      if (c < 0x80) utf8 += static_cast<char>(c);
      else {
        utf8 += static_cast<char>(0xC0 | (c >> 6));
        utf8 += static_cast<char>(0x80 | (c & 0x3F));
      }
    }
    out += '(';
    text(utf8);
    text("latin1");
    out += 't';
    out += 'R';
  }
  void write(const PyList& list, const PyRef& self) {
    out += ']';
    put(self.get());
    if (list.items.empty()) return;
    out += '(';
    for (const auto& item : list.items) value(item);
    out += 'e';
  }
  void write(const PyTuple& tuple, const PyRef&) {
    out += '(';
    for (const auto& item : tuple.items) value(item);
    out += 't';
  }
  void write(const PyDict& dict, const PyRef& self) {
    if (dict.ordered) ordered_dict_begin();
    else out += '}';
    put(self.get());
    if (!dict.items.empty()) {
      out += '(';
      for (const auto& [key, item] : dict.items) {
        value(key);
        value(item);
      }
      out += 'u';
    }
    if (dict.state) {
      value(dict.state);
      out += 'b';
    }
  }
  void write(const PyGlobal& g, const PyRef&) { global(g.module, g.name); }
  void write(const PyTensor& t, const PyRef& self) {
    tensor(t.tensor);
    put(self.get());
  }
  void write(const PyStorage&, const PyRef&) {
    throw InputError(code::unsupported_input, "a bare storage outside a tensor cannot be written");
  }
  // Replays what built it: the callable, its arguments, NEWOBJ or REDUCE, then what filled it.
  void write(const PyObject& object, const PyRef& self) {
    global(object.callable.module, object.callable.name);
    out += '(';
    for (const auto& item : object.args) value(item);
    out += 't';
    out += object.newobj ? '\x81' : 'R';
    put(self.get());
    if (!object.items.empty()) {
      out += '(';
      for (const auto& item : object.items) value(item);
      out += 'e';
    }
    if (!object.entries.empty()) {
      out += '(';
      for (const auto& [key, item] : object.entries) {
        value(key);
        value(item);
      }
      out += 'u';
    }
    if (object.state) {
      value(object.state);
      out += 'b';
    }
  }
  void write(const PyBackRef& reference, const PyRef&) {
    PyRef target = reference.target.lock();
    auto found = target ? memo_.find(target.get()) : memo_.end();
    if (found == memo_.end())
      throw InputError(code::unsupported_input,
                       "an object that holds itself through its own constructor's arguments cannot be written back");
    get(found->second);
  }

  std::unordered_map<const PyValue*, uint32_t> memo_;
  std::unordered_map<const StorageBlock*, std::size_t> keys_;
};

// Zip records, stored, 64-byte aligned as torch aligns them (readers that
// mmap can then view tensors in place), sizes in the central directory.
class ZipWriter {
 public:
  explicit ZipWriter(AtomicFile& file, std::string prefix) : file_(file), prefix_(std::move(prefix)) {}

  void add(const std::string& name, const std::function<void(const std::function<void(const uint8_t*, std::size_t)>&)>& produce,
           uint64_t size) {
    std::string full = prefix_ + "/" + name;
    uint64_t offset = file_.written();
    std::size_t header = 30 + full.size() + 4;
    std::size_t padding = (64 - (offset + header) % 64) % 64;
    uint16_t extra = static_cast<uint16_t>(4 + padding);
    // Local header: version 4.5 (ZIP64-aware), flag 0x08 (a data descriptor follows), stored.
    put32(0x04034b50);
    put16(45);
    put16(0x08);
    put16(0);
    put16(0);
    put16(0x21);  // date/time: fixed, so outputs are reproducible
    put32(0);
    put32(0);
    put32(0);
    put16(static_cast<uint16_t>(full.size()));
    put16(extra);
    file_.write(full);
    put16(0x4246);  // "FB": padding to the next 64-byte boundary
    put16(static_cast<uint16_t>(padding));
    file_.write(std::string(padding, 'Z'));
    uint32_t crc = 0;
    uint64_t written = 0;
    produce([&](const uint8_t* data, std::size_t n) {
      crc = crc32(crc, data, n);
      file_.write(data, n);
      written += n;
    });
    check_invariant(written == size, "a zip record's bytes differ from the size computed for it");
    // ZIP64 data descriptor: crc, 8-byte sizes.
    put32(0x08074b50);
    put32(crc);
    put64(size);
    put64(size);
    entries_.push_back({full, offset, size, crc});
  }

  void finish() {
    uint64_t directory = file_.written();
    for (const auto& e : entries_) {
      bool zip64 = e.size >= 0xFFFFFFFFu || e.offset >= 0xFFFFFFFFu;
      put32(0x02014b50);
      put16(45);
      put16(45);
      put16(0x08);
      put16(0);
      put16(0);
      put16(0x21);
      put32(e.crc);
      put32(zip64 ? 0xFFFFFFFFu : static_cast<uint32_t>(e.size));
      put32(zip64 ? 0xFFFFFFFFu : static_cast<uint32_t>(e.size));
      put16(static_cast<uint16_t>(e.name.size()));
      put16(zip64 ? 28 : 0);
      put16(0);
      put16(0);
      put16(0);
      put32(0);
      put32(zip64 ? 0xFFFFFFFFu : static_cast<uint32_t>(e.offset));
      file_.write(e.name);
      if (zip64) {
        put16(0x0001);
        put16(24);
        put64(e.size);
        put64(e.size);
        put64(e.offset);
      }
    }
    uint64_t directory_size = file_.written() - directory;
    uint64_t zip64_end = file_.written();
    put32(0x06064b50);  // ZIP64 end of central directory, as torch always writes
    put64(44);
    put16(45);
    put16(45);
    put32(0);
    put32(0);
    put64(entries_.size());
    put64(entries_.size());
    put64(directory_size);
    put64(directory);
    put32(0x07064b50);  // its locator
    put32(0);
    put64(zip64_end);
    put32(1);
    put32(0x06054b50);  // end of central directory
    put16(0);
    put16(0);
    put16(static_cast<uint16_t>(std::min<std::size_t>(entries_.size(), 0xFFFF)));
    put16(static_cast<uint16_t>(std::min<std::size_t>(entries_.size(), 0xFFFF)));
    put32(directory_size >= 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(directory_size));
    put32(directory >= 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(directory));
    put16(0);
  }

 private:
  struct Entry {
    std::string name;
    uint64_t offset, size;
    uint32_t crc;
  };
  void put16(uint16_t v) { file_.write(&v, 2); }
  void put32(uint32_t v) { file_.write(&v, 4); }
  void put64(uint64_t v) { file_.write(&v, 8); }
  AtomicFile& file_;
  std::string prefix_;
  std::vector<Entry> entries_;
};

}  // namespace

void write_torch(const std::string& path, const PyRef& root, const WriteProgress& progress) {
  Pickler pickler;
  pickler.begin();
  pickler.value(root);
  pickler.end();
  uint64_t total = 0;
  for (const auto& storage : pickler.storages) total += storage->nbytes;

  AtomicFile file(path);
  std::string stem = std::filesystem::path(path).stem().string();
  ZipWriter zip(file, stem.empty() ? "archive" : stem);
  auto bytes_of = [](const std::string& text) {
    return [&text](const std::function<void(const uint8_t*, std::size_t)>& sink) {
      sink(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    };
  };
  zip.add("data.pkl", bytes_of(pickler.out), pickler.out.size());
  uint64_t done = 0;
  for (std::size_t key = 0; key < pickler.storages.size(); ++key) {
    const auto& storage = pickler.storages[key];
    zip.add("data/" + std::to_string(key),
            [&](const std::function<void(const uint8_t*, std::size_t)>& sink) { sink(storage->data, storage->nbytes); },
            storage->nbytes);
    storage->release();
    done += storage->nbytes;
    if (progress) progress(done, total);
  }
  static const std::string kVersion = "3\n";
  zip.add("version", bytes_of(kVersion), kVersion.size());
  zip.finish();
  file.commit();
}

PyRef state_dict_value(const std::vector<OutputTensor>& tensors) {
  PyDict dict;
  dict.ordered = true;
  for (const auto& tensor : tensors)
    dict.items.emplace_back(std::make_shared<PyValue>(PyValue{tensor.name, 1}),
                            std::make_shared<PyValue>(PyValue{PyTensor{*tensor.data}, 1}));
  return std::make_shared<PyValue>(PyValue{std::move(dict), 2});
}

}  // namespace taxon
