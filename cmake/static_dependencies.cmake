# The C++ libraries taxon's code uses, as link-interface targets that choose per program:
#   taxon_fmt_link, taxon_yaml_cpp_link, taxon_re2_link
# A program (an executable target) with the property TAXON_STATIC_DEPENDENCIES set to ON links
# fmt from cmake/fmt_library.cpp and yaml-cpp and RE2 from their static archives, and libstdc++
# and libgcc statically: it loads glibc's shared libraries alone. Every other target, the Python
# module and programs built against the installed package link the shared libraries as before.
# Why: the dynamic loader's relocations and symbol lookups over libstdc++, yaml-cpp, RE2 and fmt
# were a third of a `taxon --version` (perf stat: 6.6 -> 4.6 ms of CPU without them), paid by
# every command. Where an archive is missing, no program links statically: one libstdc++ inside
# the program and another under a shared yaml-cpp would both hold the objects they pass between
# them.
find_library(TAXON_YAML_CPP_ARCHIVE NAMES libyaml-cpp.a)
find_library(TAXON_RE2_ARCHIVE NAMES libre2.a)

set(taxon_static_program "$<BOOL:$<TARGET_PROPERTY:TAXON_STATIC_DEPENDENCIES>>")

add_library(taxon_fmt STATIC ${CMAKE_CURRENT_LIST_DIR}/fmt_library.cpp)
set_target_properties(taxon_fmt PROPERTIES POSITION_INDEPENDENT_CODE ON UNITY_BUILD OFF)
target_include_directories(taxon_fmt PUBLIC $<TARGET_PROPERTY:fmt::fmt,INTERFACE_INCLUDE_DIRECTORIES>)

add_library(taxon_fmt_link INTERFACE)
target_link_libraries(taxon_fmt_link INTERFACE "$<IF:${taxon_static_program},taxon_fmt,fmt::fmt>")
add_library(taxon_yaml_cpp_link INTERFACE)
add_library(taxon_re2_link INTERFACE)
if(TAXON_YAML_CPP_ARCHIVE AND TAXON_RE2_ARCHIVE)
  target_link_libraries(taxon_yaml_cpp_link INTERFACE "$<IF:${taxon_static_program},${TAXON_YAML_CPP_ARCHIVE},yaml-cpp>")
  target_link_libraries(taxon_re2_link INTERFACE "$<IF:${taxon_static_program},${TAXON_RE2_ARCHIVE},PkgConfig::RE2>")
else()
  target_link_libraries(taxon_yaml_cpp_link INTERFACE yaml-cpp)
  target_link_libraries(taxon_re2_link INTERFACE PkgConfig::RE2)
endif()

# Links `program` as above, where both archives are there.
function(taxon_link_dependencies_statically program)
  if(NOT TAXON_YAML_CPP_ARCHIVE OR NOT TAXON_RE2_ARCHIVE)
    message(STATUS "${program} links the shared C++ libraries: libyaml-cpp.a or libre2.a was not found")
    return()
  endif()
  set_target_properties(${program} PROPERTIES TAXON_STATIC_DEPENDENCIES ON)
  target_link_options(${program} PRIVATE -static-libstdc++ -static-libgcc)
endfunction()
