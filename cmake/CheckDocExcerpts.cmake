# cmake -DDOC=docs/anomaly.md -DSNIPPET=examples/anomaly.c -P CheckDocExcerpts.cmake
#
# Fails unless every fenced C block of DOC (from a "```c" line to the next
# "```" line) appears verbatim, as consecutive lines, in SNIPPET; and fails
# when DOC has no C block at all. For a page that quotes parts of an
# example rather than the whole file (CheckReadmeSnippet.cmake does that).

cmake_minimum_required(VERSION 3.16...3.28)

foreach(_var DOC SNIPPET)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "usage: cmake -DDOC=... -DSNIPPET=... -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
endforeach()

file(READ "${DOC}" _doc)
file(READ "${SNIPPET}" _snippet)
string(REPLACE "\r\n" "\n" _doc "${_doc}")
string(REPLACE "\r\n" "\n" _snippet "${_snippet}")
set(_snippet "\n${_snippet}")

set(_count 0)
while(TRUE)
  string(FIND "${_doc}" "\n```c\n" _at)
  if(_at EQUAL -1)
    break()
  endif()
  math(EXPR _at "${_at} + 6")
  string(SUBSTRING "${_doc}" ${_at} -1 _doc)
  string(FIND "${_doc}" "\n```\n" _stop)
  if(_stop EQUAL -1)
    message(FATAL_ERROR "${DOC}: a ```c block has no closing fence")
  endif()
  math(EXPR _stop "${_stop} + 1")
  string(SUBSTRING "${_doc}" 0 ${_stop} _block)
  string(SUBSTRING "${_doc}" ${_stop} -1 _doc)
  math(EXPR _count "${_count} + 1")
  # whole lines: the block starts after a newline of SNIPPET
  string(FIND "${_snippet}" "\n${_block}" _found)
  if(_found EQUAL -1)
    message(FATAL_ERROR "${DOC}: C block ${_count} is not in ${SNIPPET}:\n${_block}")
  endif()
endwhile()

if(_count EQUAL 0)
  message(FATAL_ERROR "${DOC}: no ```c block")
endif()
message(STATUS "${DOC}: ${_count} C blocks, each in ${SNIPPET}")
