// Tensor element types for the runtime's readers and writers. The table itself lives in
// engine/dtype.hpp, the one place dtypes are listed, so that the language, the tensor actions and
// the actions library (runtime/aten_dtype.hpp) derive from it too.
#pragma once

#include "engine/dtype.hpp"
