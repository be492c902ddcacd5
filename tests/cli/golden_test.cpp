// Runs one CLI golden file (tests/golden/**/*.golden) and compares the
// command's exit code, stdout and stderr with what the file records.
//
// A golden file:
//   # command: taxon eval tests/data/rules/x.yaml --dump tests/data/dumps/vit_tiny.json
//   # what: one line or more saying what this case shows
//   # exit: 0
//   ## stdout
//   ...
//   ## stderr
//   ...
// The command runs under /bin/sh in the source directory, with the freshly
// built `taxon` first on PATH. TAXON_UPDATE_GOLDEN=1 rewrites the expectations
// from the actual output (review the diff before committing it).
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct Golden {
  std::string header;  // every "# " line, kept verbatim
  std::string command;
  int exit_code = 0;
  std::string out;
  std::string err;
};

Golden parse(const std::string& text) {
  Golden golden;
  std::size_t stdout_at = text.find("\n## stdout\n");
  std::size_t stderr_at = text.find("\n## stderr\n");
  golden.header = text.substr(0, stdout_at == std::string::npos ? text.size() : stdout_at + 1);
  std::istringstream lines(golden.header);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# command: ", 0) == 0) golden.command = line.substr(11);
    if (line.rfind("# exit: ", 0) == 0) golden.exit_code = std::atoi(line.c_str() + 8);
  }
  if (stdout_at != std::string::npos && stderr_at != std::string::npos && stderr_at > stdout_at) {
    golden.out = text.substr(stdout_at + 11, stderr_at + 1 - (stdout_at + 11));
    golden.err = text.substr(stderr_at + 11);
  }
  return golden;
}

std::string without_exit_line(const std::string& header) {
  std::istringstream lines(header);
  std::string out;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("# exit: ", 0) != 0) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("CLI golden file") {
  const char* file = std::getenv("TAXON_GOLDEN_FILE");
  const char* bin_dir = std::getenv("TAXON_BIN_DIR");
  REQUIRE_MESSAGE(file, "TAXON_GOLDEN_FILE names the golden file to run");
  REQUIRE_MESSAGE(bin_dir, "TAXON_BIN_DIR names the directory of the taxon binary");
  Golden golden = parse(read_all(file));
  REQUIRE_MESSAGE(!golden.command.empty(), "the golden file has no '# command: ' line");

  std::string scratch = (std::filesystem::temp_directory_path() / ("taxon-golden-" + std::to_string(::getpid()))).string();
  std::string out_path = scratch + ".out", err_path = scratch + ".err";
  std::string shell = "PATH='" + std::string(bin_dir) + "':\"$PATH\"; export PATH; (" + golden.command + ") >" + out_path +
                      " 2>" + err_path + " </dev/null";
  int status = std::system(shell.c_str());
  REQUIRE(WIFEXITED(status));
  int exit_code = WEXITSTATUS(status);
  std::string out = read_all(out_path), err = read_all(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());

  if (const char* update = std::getenv("TAXON_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(file, std::ios::binary) << without_exit_line(golden.header) << "# exit: " << exit_code << "\n## stdout\n"
                                          << out << "## stderr\n" << err;
    MESSAGE("updated " << file);
    return;
  }
  INFO("golden file: " << file);
  INFO("command: " << golden.command);
  CHECK(exit_code == golden.exit_code);
  CHECK(out == golden.out);
  CHECK(err == golden.err);
}
