# Helpers shared by every folder: libraries that reuse the torch precompiled header, and the
# three kinds of tests (unit, mpi, e2e) with their ctest labels.
include(GoogleTest)

# One object library compiles <torch/torch.h> once; every torch target reuses that PCH.
function(unl_add_torch_pch)
  add_library(unl_torch_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_stub.cpp)
  target_link_libraries(unl_torch_pch PUBLIC torch)
  target_precompile_headers(unl_torch_pch PRIVATE ${PROJECT_SOURCE_DIR}/cmake/torch_pch.h)
endfunction()

# unl_use_torch(target): link LibTorch and reuse the shared precompiled header.
function(unl_use_torch target)
  target_link_libraries(${target} PUBLIC torch)
  target_precompile_headers(${target} REUSE_FROM unl_torch_pch)
endfunction()

# unl_module_include_dir(module out_var): a directory holding only <module> (a link to the
# source folder), so `#include "<module>/x.h"` resolves for the targets that link the module and
# for no others: a header of a module you do not depend on is a compile error, not a silent
# dependency.
function(unl_module_include_dir module out_var)
  set(dir ${PROJECT_BINARY_DIR}/include/${module})
  if(NOT EXISTS ${dir}/${module})
    file(MAKE_DIRECTORY ${dir})
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${module} ${dir}/${module} SYMBOLIC)
  endif()
  set(${out_var} ${dir} PARENT_SCOPE)
endfunction()

# unl_add_library(name SOURCES ... DEPS ... [TORCH]): a library of the module (folder) it is
# declared in; its public include directory exposes that module only.
function(unl_add_library name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  if(NOT A_SOURCES)
    # A module whose sources are still being written: keep the tree configurable.
    set(A_SOURCES ${PROJECT_SOURCE_DIR}/cmake/pch_stub.cpp)
  endif()
  add_library(${name} STATIC ${A_SOURCES})
  get_filename_component(module ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  if(UNL_STRICT_MODULE_INCLUDES)
    unl_module_include_dir(${module} include_dir)
  else()
    set(include_dir ${PROJECT_SOURCE_DIR})
  endif()
  target_include_directories(${name} PUBLIC ${include_dir})
  if(module STREQUAL "common")
    target_include_directories(${name} PUBLIC ${PROJECT_BINARY_DIR}/generated)
  endif()
  target_link_libraries(${name} PUBLIC ${A_DEPS})
  if(A_TORCH)
    unl_use_torch(${name})
  endif()
endfunction()

# unl_add_unit_test(name SOURCES ... DEPS ... [TORCH]): gtest binary, cases labelled `unit`.
function(unl_add_unit_test name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE UNL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(A_TORCH)
    unl_use_torch(${name})
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES LABELS unit TIMEOUT 300
                       ENVIRONMENT "OMP_NUM_THREADS=1")
endfunction()

# unl_add_mpi_test(name SOURCES ... DEPS ... [TORCH] [NP 2 3]): one gtest binary run under
# mpiexec for each rank count, labelled `mpi`. tests/mpi/mpi_main.cpp agrees pass/fail across ranks.
function(unl_add_mpi_test name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS;NP" ${ARGN})
  if(NOT A_NP)
    set(A_NP 2 3)
  endif()
  add_executable(${name} ${A_SOURCES} ${PROJECT_SOURCE_DIR}/tests/mpi/mpi_main.cpp)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gtest MPI::MPI_CXX)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE UNL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(A_TORCH)
    unl_use_torch(${name})
  endif()
  foreach(np IN LISTS A_NP)
    add_test(NAME ${name}.np${np}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} ${UNL_MPIEXEC_PREFLAGS}
                     $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${name}.np${np} PROPERTIES LABELS mpi TIMEOUT 300
      ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMP_NUM_THREADS=1;OMPI_MCA_rmaps_base_oversubscribe=1")
  endforeach()
endfunction()

# unl_add_e2e_test(name SCRIPT file [TIMEOUT s]): a bash script driving the real binary. It gets
# the launcher as MPIEXEC, MPIEXEC_NUMPROC_FLAG and MPIEXEC_PREFLAGS (tests/e2e/lib.sh: mpi_n).
string(REPLACE ";" " " UNL_MPIEXEC_PREFLAGS_TEXT "${UNL_MPIEXEC_PREFLAGS}")
function(unl_add_e2e_test name)
  cmake_parse_arguments(A "" "SCRIPT;TIMEOUT" "" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 600)
  endif()
  add_test(NAME ${name} COMMAND bash ${A_SCRIPT} $<TARGET_FILE:unlearn> ${PROJECT_SOURCE_DIR}
           WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS e2e TIMEOUT ${A_TIMEOUT} SKIP_RETURN_CODE 77
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;MPIEXEC=${MPIEXEC_EXECUTABLE};MPIEXEC_NUMPROC_FLAG=${MPIEXEC_NUMPROC_FLAG};MPIEXEC_PREFLAGS=${UNL_MPIEXEC_PREFLAGS_TEXT}")
endfunction()
