// taxon._taxon: the public API (include/taxon/taxon.hpp) for Python. Plain data crosses as Python
// lists, dicts and tuples; the engine runs with the GIL released. No LibTorch here: the Python
// layer (python/taxon/) reads the live model through torch and hands its names, shapes and types
// over as data, and tensor actions run in the same libtaxon_actions.so the CLI loads.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <tuple>

#include <taxon/taxon.hpp>

namespace py = pybind11;

namespace {

// taxon.TaxonError and taxon.CheckpointError are defined in Python (python/taxon/_errors.py);
// taxon::Error reaches Python as a CheckpointError (a file) carrying its code.
py::object python_error(const char* name) { return py::module_::import("taxon._errors").attr(name); }

[[noreturn]] void raise_error(const taxon::Error& error) {
  py::object type = python_error("CheckpointError");
  PyErr_SetObject(type.ptr(), type(py::str(error.what()), error.code()).ptr());
  throw py::error_already_set();
}

template <typename F>
auto translating(F&& body) {
  try {
    return body();
  } catch (const taxon::Error& error) {
    raise_error(error);
  }
}

py::dict finding_dict(const taxon::Finding& finding) {
  py::dict out;
  out["code"] = finding.code;
  out["level"] = finding.level == taxon::Level::error ? "error" : finding.level == taxon::Level::warning ? "warning" : "note";
  out["message"] = finding.message;
  out["hint"] = finding.hint;
  out["file"] = finding.file;
  out["line"] = finding.line;
  out["column"] = finding.column;
  out["rendered"] = finding.rendered;
  return out;
}

py::list finding_list(const std::vector<taxon::Finding>& findings) {
  py::list out;
  for (const auto& finding : findings) out.append(finding_dict(finding));
  return out;
}

py::list setting_list(const std::vector<taxon::Setting>& settings) {
  py::list out;
  for (const auto& setting : settings) out.append(py::make_tuple(setting.name, setting.value));
  return out;
}

std::string utf8(PyObject* text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (!data) throw py::error_already_set();
  return std::string(data, static_cast<std::size_t>(size));
}

std::vector<int64_t> int_list(PyObject* list) {
  if (!PyList_Check(list)) throw py::type_error("a shape is a list of ints");
  std::vector<int64_t> out(static_cast<std::size_t>(PyList_GET_SIZE(list)));
  for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); ++i) {
    out[static_cast<std::size_t>(i)] = PyLong_AsLongLong(PyList_GET_ITEM(list, i));
    if (PyErr_Occurred()) throw py::error_already_set();
  }
  return out;
}

PyObject* row_item(PyObject* row, Py_ssize_t index, Py_ssize_t width) {
  if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != width) throw py::type_error("malformed row");
  return PyTuple_GET_ITEM(row, index);
}

// (name, shape, dtype, kind, module, module_type, requires_grad, persistent, tied_to) per tensor,
// (path, type, ancestry, alias_of) per module: what taxon.describe() gathers from the model. Read with the
// C API: a 100k-tensor model crosses in tens of milliseconds.
taxon::Model model_from_rows(const py::list& tensors, const py::list& modules, const std::string& name) {
  std::vector<taxon::ModelTensor> rows(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    PyObject* row = PyList_GET_ITEM(tensors.ptr(), static_cast<Py_ssize_t>(i));
    taxon::ModelTensor& tensor = rows[i];
    tensor.name = utf8(row_item(row, 0, 9));
    tensor.shape = int_list(row_item(row, 1, 9));
    tensor.dtype = utf8(row_item(row, 2, 9));
    tensor.kind = utf8(row_item(row, 3, 9));
    tensor.module = utf8(row_item(row, 4, 9));
    tensor.module_type = utf8(row_item(row, 5, 9));
    tensor.requires_grad = PyObject_IsTrue(row_item(row, 6, 9)) == 1;
    tensor.persistent = PyObject_IsTrue(row_item(row, 7, 9)) == 1;
    if (PyObject* tied = row_item(row, 8, 9); tied != Py_None) tensor.tied_to = utf8(tied);
  }
  std::vector<taxon::ModelModule> module_rows(modules.size());
  for (std::size_t i = 0; i < modules.size(); ++i) {
    PyObject* row = PyList_GET_ITEM(modules.ptr(), static_cast<Py_ssize_t>(i));
    module_rows[i].path = utf8(row_item(row, 0, 4));
    module_rows[i].type = utf8(row_item(row, 1, 4));
    if (PyObject* first = row_item(row, 3, 4); first != Py_None) module_rows[i].alias_of = utf8(first);
    PyObject* ancestry = row_item(row, 2, 4);
    if (!PyList_Check(ancestry)) throw py::type_error("a module's ancestry is a list of class names");
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(ancestry); ++k) module_rows[i].ancestry.push_back(utf8(PyList_GET_ITEM(ancestry, k)));
  }
  return translating([&] {
    py::gil_scoped_release released;
    return taxon::Model(std::move(rows), name, std::move(module_rows));
  });
}

// A group as optimizers take it: (name, options, parts), each part (its per-tensor options, the
// row numbers of its tensors): one part per distinct set of per-tensor options, in order of first
// appearance. Selections: (name, freezes, row numbers).
py::dict evaluation_parts(const taxon::Rules& rules, const taxon::Model& model) {
  struct Part {
    std::vector<taxon::Setting> own;
    std::vector<int64_t> rows;
  };
  struct Group {
    std::string name;
    std::vector<taxon::Setting> options;
    std::vector<Part> parts;
  };
  std::vector<Group> groups;
  std::vector<std::tuple<std::string, bool, std::vector<int64_t>>> selections;
  translating([&] {
    py::gil_scoped_release released;
    taxon::Report report = taxon::evaluate(rules, model);
    for (auto& group : report.groups) {
      Group out{group.name, group.options, {}};
      std::map<std::vector<std::pair<std::string, std::string>>, std::size_t> part_of;
      for (std::size_t i = 0; i < group.tensors.size(); ++i) {
        std::vector<std::pair<std::string, std::string>> key;
        const std::vector<taxon::Setting>* own = group.per_tensor.empty() ? nullptr : &group.per_tensor[i];
        if (own)
          for (const auto& setting : *own) key.emplace_back(setting.name, setting.value);
        auto [at, added] = part_of.emplace(std::move(key), out.parts.size());
        if (added) out.parts.push_back({own ? *own : std::vector<taxon::Setting>{}, {}});
        out.parts[at->second].rows.push_back(static_cast<int64_t>(group.rows[i]));
      }
      groups.push_back(std::move(out));
    }
    for (const auto& selection : report.selections) {
      selections.emplace_back(selection.name, selection.freezes, std::vector<int64_t>(selection.rows.begin(), selection.rows.end()));
    }
    return 0;
  });
  py::list group_list;
  for (const auto& group : groups) {
    py::list parts;
    for (const auto& part : group.parts) parts.append(py::make_tuple(setting_list(part.own), py::cast(part.rows)));
    group_list.append(py::make_tuple(group.name, setting_list(group.options), parts));
  }
  py::list selection_list;
  for (const auto& [name, freezes, picked] : selections) selection_list.append(py::make_tuple(name, freezes, py::cast(picked)));
  py::dict out;
  out["groups"] = group_list;
  out["selections"] = selection_list;
  return out;
}

class PyApplication {
 public:
  explicit PyApplication(taxon::Application application) : application_(std::move(application)) {}

  bool ok() const { return application_.ok(); }
  bool load_fails() const { return application_.load_fails(); }
  std::vector<std::string> reasons() const { return application_.reasons(); }
  std::string hint() const { return application_.hint(); }
  py::list findings() const { return finding_list(application_.findings()); }
  std::string text() const { return application_.text(); }
  std::string json() const { return application_.json(); }

  // each(name, shape, dtype, bytes) for every tensor of the result; the bytes are a copy the
  // callback owns. The tensors are made with the GIL released.
  void for_each_tensor(const py::function& each) const {
    translating([&] {
      py::gil_scoped_release released;
      application_.for_each_tensor([&](const taxon::TensorView& view) {
        py::gil_scoped_acquire acquired;
        py::bytes data(reinterpret_cast<const char*>(view.data.data()), view.data.size());
        each(std::string(view.name), std::vector<int64_t>(view.shape.begin(), view.shape.end()), std::string(view.dtype), data);
      });
      return 0;
    });
  }

  std::vector<std::string> write(const std::string& output) {
    return translating([&] {
      py::gil_scoped_release released;
      return application_.write(output);
    });
  }

 private:
  taxon::Application application_;
};

}  // namespace

PYBIND11_MODULE(_taxon, m) {
  m.doc() = "taxon's engine; use the `taxon` package, not this module";

  py::class_<taxon::Rules>(m, "Rules")
      .def_static(
          "load",
          [](const std::string& path, const taxon::RuleParameters& parameters) {
            return translating([&] {
              py::gil_scoped_release released;
              return taxon::Rules::load(path, parameters);
            });
          },
          py::arg("path"), py::arg("parameters"))
      .def_static(
          "parse",
          [](const std::string& text, const std::string& name, const taxon::RuleParameters& parameters) {
            return translating([&] {
              py::gil_scoped_release released;
              return taxon::Rules::parse(text, name, parameters);
            });
          },
          py::arg("text"), py::arg("name"), py::arg("parameters"))
      .def_property_readonly("ok", &taxon::Rules::ok)
      .def("findings", [](const taxon::Rules& rules) { return finding_list(rules.findings()); })
      .def("plans", &taxon::Rules::plans);

  py::class_<taxon::Model>(m, "Model")
      .def_static("from_rows", &model_from_rows, py::arg("tensors"), py::arg("modules"), py::arg("name"))
      .def_static("from_dump", [](const std::string& path) { return translating([&] { return taxon::Model::from_dump(path); }); })
      .def_static("from_checkpoint",
                  [](const std::string& path, const std::string& source) {
                    return translating([&] {
                      py::gil_scoped_release released;
                      return taxon::Model::from_checkpoint(path, {source});
                    });
                  })
      .def("dump_json", &taxon::Model::dump_json)
      .def("__len__", &taxon::Model::size);

  m.def("evaluation_parts", &evaluation_parts);

  m.def("evaluate_json", [](const taxon::Rules& rules, const taxon::Model& model) {
    return translating([&] {
      py::gil_scoped_release released;
      return taxon::evaluate(rules, model).json();
    });
  });
  m.def("explain", [](const taxon::Rules& rules, const taxon::Model& model, const std::string& tensor) {
    taxon::Explanation why = translating([&] {
      py::gil_scoped_release released;
      return taxon::explain(rules, model, tensor);
    });
    py::dict out;
    out["tensor"] = why.tensor.name;
    out["rules_see"] = why.rules_see;
    out["trainable"] = why.trainable;
    out["joined"] = why.joined;
    out["group_mode"] = why.group_mode;
    out["text"] = why.text();
    py::list groups;
    for (const auto& group : why.groups) {
      py::dict g;
      g["name"] = group.name;
      g["considered"] = group.considered;
      g["matched"] = group.matched;
      g["joined"] = group.joined;
      g["per_tensor"] = setting_list(group.per_tensor);
      groups.append(g);
    }
    out["groups"] = groups;
    return out;
  });
  m.def("lint", [](const taxon::Rules& rules, const std::vector<taxon::Model>& models) {
    taxon::LintReport report = translating([&] {
      py::gil_scoped_release released;
      return taxon::lint(rules, models);
    });
    return finding_list(report.findings);
  });

  py::class_<PyApplication>(m, "Application")
      .def_property_readonly("ok", &PyApplication::ok)
      .def_property_readonly("load_fails", &PyApplication::load_fails)
      .def("reasons", &PyApplication::reasons)
      .def("hint", &PyApplication::hint)
      .def("findings", &PyApplication::findings)
      .def("text", &PyApplication::text)
      .def("json", &PyApplication::json)
      .def("for_each_tensor", &PyApplication::for_each_tensor)
      .def("write", &PyApplication::write);

  m.def(
      "plan_application",
      [](const taxon::Rules& rules, const std::string& plan, const std::vector<std::string>& checkpoints,
         std::optional<taxon::Model> target, const std::string& target_name, const std::string& source,
         const std::string& output, bool overwrite) {
        taxon::ApplyOptions options;
        options.plan = plan;
        options.checkpoints = checkpoints;
        options.target = std::move(target);
        options.target_name = target_name;
        options.source = source;
        options.output = output;
        options.overwrite = overwrite;
        return translating([&] {
          py::gil_scoped_release released;
          return PyApplication(taxon::plan_application(rules, options));
        });
      },
      py::arg("rules"), py::arg("plan"), py::arg("checkpoints"), py::arg("target"), py::arg("target_name"), py::arg("source"),
      py::arg("output"), py::arg("overwrite"));
}
