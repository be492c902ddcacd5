// Embedding taxon through its public header alone: optimizer groups for a model dump, then a
// checkpoint adapted to it. Build: see CMakeLists.txt next to this file.
//   embed RULES.tx MODEL.json [CHECKPOINT OUT.safetensors]
#include <iostream>

#include <taxon/taxon.hpp>

int main(int argc, char** argv) try {
  if (argc != 3 && argc != 5) return std::cerr << "usage: embed RULES.tx MODEL.json [CHECKPOINT OUT]\n", 2;
  taxon::Rules rules = taxon::Rules::load(argv[1]);
  if (!rules.ok()) return std::cerr << taxon::render_findings(rules.findings()), 2;
  taxon::Model model = taxon::Model::from_dump(argv[2]);

  taxon::Report report = taxon::evaluate(rules, model);
  for (const auto& group : report.groups) {
    std::cout << group.name << ": " << group.tensors.size() << " tensors";
    for (const auto& option : group.options) std::cout << ", " << option.name << " = " << option.value;
    std::cout << "\n";
  }
  if (argc == 3) return report.has_errors() ? 1 : 0;

  taxon::ApplyOptions options;
  options.checkpoints = {argv[3]};
  options.target = model;
  taxon::Application application = taxon::plan_application(rules, options);
  std::cout << application.text();
  if (!application.ok() || application.load_fails()) return 1;
  for (const auto& file : application.write(argv[4])) std::cout << "wrote " << file << "\n";
  return 0;
} catch (const taxon::Error& error) {
  std::cerr << "error[" << error.code() << "]: " << error.what() << "\n";
  return 2;
}
