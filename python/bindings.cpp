// taxon._taxon: the public API (include/taxon/taxon.hpp) for Python. Plain data crosses as Python
// lists, dicts and tuples; the engine runs with the GIL released. No LibTorch here: the Python
// layer (python/taxon/) reads the live model through torch and hands its names, shapes and types
// over as data, and tensor actions run in the same libtaxon_actions.so the CLI loads.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

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

// (name, shape, dtype, kind, module, module_type, requires_grad, persistent, tied_to) per tensor,
// (path, type, ancestry) per module: what taxon.describe() gathers from the model.
taxon::Model model_from_rows(const py::list& tensors, const py::list& modules, const std::string& name) {
  std::vector<taxon::ModelTensor> rows;
  rows.reserve(tensors.size());
  for (const auto& item : tensors) {
    auto row = item.cast<py::tuple>();
    taxon::ModelTensor tensor;
    tensor.name = row[0].cast<std::string>();
    tensor.shape = row[1].cast<std::vector<int64_t>>();
    tensor.dtype = row[2].cast<std::string>();
    tensor.kind = row[3].cast<std::string>();
    tensor.module = row[4].cast<std::string>();
    tensor.module_type = row[5].cast<std::string>();
    tensor.requires_grad = row[6].cast<bool>();
    tensor.persistent = row[7].cast<bool>();
    if (!row[8].is_none()) tensor.tied_to = row[8].cast<std::string>();
    rows.push_back(std::move(tensor));
  }
  std::vector<taxon::ModelModule> module_rows;
  module_rows.reserve(modules.size());
  for (const auto& item : modules) {
    auto row = item.cast<py::tuple>();
    module_rows.push_back({row[0].cast<std::string>(), row[1].cast<std::string>(), row[2].cast<std::vector<std::string>>()});
  }
  return translating([&] { return taxon::Model(std::move(rows), name, std::move(module_rows)); });
}

// What param_groups, freeze and select need from an evaluation, as plain data.
py::dict report_data(const taxon::Report& report) {
  py::list groups;
  for (const auto& group : report.groups) {
    py::dict g;
    g["name"] = group.name;
    g["is_default"] = group.is_default;
    g["options"] = setting_list(group.options);
    g["tensors"] = group.tensors;
    py::list per_tensor;
    for (const auto& settings : group.per_tensor) per_tensor.append(setting_list(settings));
    g["per_tensor"] = per_tensor;
    g["frozen"] = group.frozen;
    groups.append(g);
  }
  py::list selections;
  for (const auto& selection : report.selections) {
    py::dict s;
    s["name"] = selection.name;
    s["tensors"] = selection.tensors;
    s["freezes"] = selection.freezes;
    selections.append(s);
  }
  py::dict out;
  out["groups"] = groups;
  out["selections"] = selections;
  out["findings"] = finding_list(report.findings);
  out["has_errors"] = report.has_errors();
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

  m.def("evaluate", [](const taxon::Rules& rules, const taxon::Model& model) {
    return report_data(translating([&] {
      py::gil_scoped_release released;
      return taxon::evaluate(rules, model);
    }));
  });
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
