# cmake -DLIB=path/to/liblstmae.so -P CheckNoIfunc.cmake
# Fails when the library holds an ifunc (nm type i): in a sanitizer build,
# GCC's target_clones resolvers run while the dynamic loader relocates,
# before the sanitizer runtime is initialised, and instrumented they crash
# the program at load (GCC -fsanitize=thread). LSTMAE_SANITIZE therefore
# turns target_clones off (LSTMAE_NO_CLONES); this checks that it did.
find_program(NM nm REQUIRED)
execute_process(COMMAND ${NM} "${LIB}" OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${LIB}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(ifuncs "")
set(code 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-fA-F]+ i (.+)$")
    list(APPEND ifuncs "${CMAKE_MATCH_1}")
  elseif(line MATCHES "^[0-9a-fA-F]+ [Tt] ")
    math(EXPR code "${code} + 1")
  endif()
endforeach()
if(code EQUAL 0)
  message(FATAL_ERROR "no code symbols in ${LIB}: is it stripped?")
endif()
if(ifuncs)
  message(FATAL_ERROR "ifunc symbols in a sanitizer build of ${LIB}: ${ifuncs}")
endif()
message(STATUS "${code} code symbols, no ifunc")
