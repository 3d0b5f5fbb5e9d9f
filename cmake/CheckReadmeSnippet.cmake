# cmake -DREADME=README.md -DSNIPPET=examples/quickstart.c -P CheckReadmeSnippet.cmake
#
# Fails unless README holds SNIPPET verbatim as the fenced C block between
# the lines "<!-- BEGIN name -->" and "<!-- END name -->", where name is
# SNIPPET's file name. Reports the first line that differs.

cmake_minimum_required(VERSION 3.16...3.28)

foreach(_var README SNIPPET)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "usage: cmake -DREADME=... -DSNIPPET=... -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
endforeach()

get_filename_component(_name "${SNIPPET}" NAME)
set(_begin "<!-- BEGIN ${_name} -->\n```c\n")
set(_end "```\n<!-- END ${_name} -->")

file(READ "${README}" _readme)
file(READ "${SNIPPET}" _snippet)
string(REPLACE "\r\n" "\n" _readme "${_readme}")
string(REPLACE "\r\n" "\n" _snippet "${_snippet}")

string(FIND "${_readme}" "${_begin}" _at)
if(_at EQUAL -1)
  message(FATAL_ERROR "${README}: no \"<!-- BEGIN ${_name} -->\" line followed by a ```c fence")
endif()
string(LENGTH "${_begin}" _len)
math(EXPR _at "${_at} + ${_len}")
string(SUBSTRING "${_readme}" ${_at} -1 _rest)
string(FIND "${_rest}" "${_end}" _stop)
if(_stop EQUAL -1)
  message(FATAL_ERROR "${README}: the ${_name} block has no closing fence followed by \"<!-- END ${_name} -->\"")
endif()
string(SUBSTRING "${_rest}" 0 ${_stop} _block)

if(_block STREQUAL _snippet)
  message(STATUS "${README} quotes ${_name} verbatim")
  return()
endif()

# Walk both texts line by line (no CMake lists: C code holds ';' and '[').
set(_line 1)
while(TRUE)
  string(FIND "${_block}" "\n" _nb)
  string(FIND "${_snippet}" "\n" _ns)
  if(_nb EQUAL -1 OR _ns EQUAL -1)
    break()
  endif()
  string(SUBSTRING "${_block}" 0 ${_nb} _lb)
  string(SUBSTRING "${_snippet}" 0 ${_ns} _ls)
  if(NOT _lb STREQUAL _ls)
    break()
  endif()
  math(EXPR _nb "${_nb} + 1")
  math(EXPR _ns "${_ns} + 1")
  string(SUBSTRING "${_block}" ${_nb} -1 _block)
  string(SUBSTRING "${_snippet}" ${_ns} -1 _snippet)
  math(EXPR _line "${_line} + 1")
endwhile()
string(REGEX REPLACE "\n.*" "" _lb "${_block}")
string(REGEX REPLACE "\n.*" "" _ls "${_snippet}")
message(FATAL_ERROR "${README} is out of date: its copy of ${_name} differs at line ${_line}:\n"
                    "  README:  ${_lb}\n"
                    "  ${_name}: ${_ls}\n"
                    "Copy ${SNIPPET} into the README's block.")
