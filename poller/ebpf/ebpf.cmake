# The eBPF backend, included from poller/CMakeLists.txt when
# ENTRYTRACE_WITH_EBPF is on. entrytrace.bpf.c is compiled with clang for
# the BPF target against the committed vmlinux.h (so the build host's BTF is
# not needed), and bpftool turns the object into a skeleton header that
# ebpf_backend.cpp includes.
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
find_program(ENTRYTRACE_BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(ENTRYTRACE_BPFTOOL NAMES bpftool
             PATHS /usr/sbin /usr/local/sbin REQUIRED)

# NOTE: vmlinux.h was dumped on x86_64; other architectures need their own.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(ENTRYTRACE_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(ENTRYTRACE_BPF_ARCH arm64)
else()
  message(FATAL_ERROR
    "ENTRYTRACE_WITH_EBPF: no BPF target for ${CMAKE_SYSTEM_PROCESSOR}")
endif()

set(ebpf_dir ${CMAKE_CURRENT_SOURCE_DIR}/ebpf)
set(ebpf_out ${CMAKE_CURRENT_BINARY_DIR}/ebpf)
set(ebpf_object ${ebpf_out}/entrytrace.bpf.o)
set(ebpf_skeleton ${ebpf_out}/entrytrace.skel.h)

set(ebpf_includes)
foreach(dir IN LISTS LIBBPF_INCLUDE_DIRS)
  list(APPEND ebpf_includes -I${dir})
endforeach()

add_custom_command(
  OUTPUT ${ebpf_object}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${ebpf_out}
  COMMAND ${ENTRYTRACE_BPF_CLANG} -g -O2 -target bpf
          -D__TARGET_ARCH_${ENTRYTRACE_BPF_ARCH} -I${ebpf_dir} ${ebpf_includes}
          -c ${ebpf_dir}/entrytrace.bpf.c -o ${ebpf_object}
  DEPENDS ${ebpf_dir}/entrytrace.bpf.c ${ebpf_dir}/entrytrace_events.h
          ${ebpf_dir}/vmlinux.h
  COMMENT "Compiling the BPF program entrytrace.bpf.c"
  VERBATIM)

add_custom_command(
  OUTPUT ${ebpf_skeleton}
  COMMAND ${ENTRYTRACE_BPFTOOL} gen skeleton ${ebpf_object}
          name entrytrace_bpf > ${ebpf_skeleton}
  DEPENDS ${ebpf_object}
  COMMENT "Generating the BPF skeleton entrytrace.skel.h"
  VERBATIM)

target_sources(entrytrace_poller PRIVATE ebpf/ebpf_backend.cpp
                                         ${ebpf_skeleton})
target_include_directories(entrytrace_poller PRIVATE ${ebpf_out})
target_compile_definitions(entrytrace_poller PUBLIC ENTRYTRACE_WITH_EBPF=1)
target_link_libraries(entrytrace_poller PUBLIC PkgConfig::LIBBPF)
