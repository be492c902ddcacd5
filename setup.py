"""Builds the `taxon` Python package's extension with the project's CMake build.

`python3 -m pip install --no-build-isolation .` configures and builds the `taxon_python` target in
build/python-package/ (Release; reused by the next install), then puts the extension, the tensor
actions' library and the stdlib presets into the package. TAXON_BUILD_DIR=DIR uses an existing
build tree instead (the test suite installs from its own)."""
import os
import pathlib
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
(ROOT / "build").mkdir(exist_ok=True)  # setuptools writes its scratch files there, never into the source


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(os.environ.get("TAXON_BUILD_DIR") or ROOT / "build" / "python-package").resolve()
        if not (build / "CMakeCache.txt").exists():
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), *generator, "-DCMAKE_BUILD_TYPE=Release",
                            "-DTAXON_BUILD_TESTS=OFF"], check=True)
        subprocess.run(["cmake", "--build", str(build), "--target", "taxon_python", "taxon_actions"], check=True)
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        package = target.parent
        package.mkdir(parents=True, exist_ok=True)
        shutil.copy2(build / "python" / "taxon" / target.name, target)
        shutil.copy2(build / "stdlib" / "libtaxon_actions.so", package / "libtaxon_actions.so")
        shutil.rmtree(package / "stdlib", ignore_errors=True)
        shutil.copytree(ROOT / "stdlib", package / "stdlib", ignore=shutil.ignore_patterns("*.cpp", "*.txt", "actions"))


setup(ext_modules=[Extension("taxon._taxon", sources=[])], cmdclass={"build_ext": CMakeBuild},
      options={"build": {"build_base": str(ROOT / "build" / "setuptools")}, "egg_info": {"egg_base": str(ROOT / "build")}})
