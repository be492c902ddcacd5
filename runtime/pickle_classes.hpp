// What taxon makes of each global a pickle names, and of each object it
// builds: data (decoded and checked, written back as it came), hostile (the
// file is refused) or opaque (kept as a record, never imported or called).
// The tables are in pickle_classes.cpp; docs/checkpoints.md lists them.
#pragma once

#include <string>
#include <string_view>

#include "runtime/pickle.hpp"

namespace taxon {

enum class GlobalRole {
  hostile,  // runs code when unpickled: the whole file is refused
  refused,  // a form taxon does not read (quantized or sparse tensors, TorchScript classes)
  // torch.save's own building blocks, built into plain values
  ordered_dict,
  rebuild_tensor_v2,
  rebuild_tensor,
  rebuild_parameter,
  rebuild_from_type_v2,
  torch_size,
  codecs_encode,
  builtins_bytes,  // bytes() and bytes(text, encoding): numpy's empty arrays hold their data so
  getattr_,        // getattr(cls, "Inner"): how protocols 0-3 name a nested class; anything else is refused
  data,    // a class, function or constant taxon knows
  opaque,  // anything else
};

struct GlobalClass {
  GlobalRole role;
  std::string reason;  // why it is hostile or refused
};

// Classifies `module.name` as it appears in the pickle (Python 2 spellings
// such as __builtin__ and copy_reg, and numpy 2's numpy._core, included).
GlobalClass classify_global(std::string_view module, std::string_view name);

// Fills in `object.type` and `object.opaque` for an object just built from
// its callable and arguments, and checks the arguments of a data class.
// Returns "" or what is wrong ("a datetime.date is built from 4 bytes, not 3").
std::string recognise_object(PyObject& object);

// Checks the state BUILD gives a data object. Returns "" or what is wrong.
std::string check_object_state(const PyObject& object);

}  // namespace taxon
