# FindLstmaeBLAS: finds a CBLAS provider for lstmae.
#
# LSTMAE_BLAS selects it: "OpenBLAS" (default) or "BLIS". Defines the
# imported target LstmaeBLAS::cblas (header cblas.h and the library), and
# LstmaeBLAS_FOUND, LstmaeBLAS_LIBRARY, LstmaeBLAS_INCLUDE_DIR.

if(NOT LSTMAE_BLAS)
  set(LSTMAE_BLAS OpenBLAS)
endif()

string(TOLOWER "${LSTMAE_BLAS}" _lstmae_blas)
if(_lstmae_blas STREQUAL "openblas")
  set(_names openblas)
  set(_suffixes openblas-pthread openblas openblas-openmp openblas-serial)
elseif(_lstmae_blas STREQUAL "blis")
  set(_names blis blis-mt)
  set(_suffixes blis-pthread blis-openmp blis-serial blis)
else()
  message(FATAL_ERROR "LSTMAE_BLAS must be OpenBLAS or BLIS, not '${LSTMAE_BLAS}'")
endif()

# Prefer the header that belongs to the chosen library (Debian installs one
# cblas.h per BLAS variant under the multiarch include directory).
find_path(LstmaeBLAS_INCLUDE_DIR cblas.h
  PATH_SUFFIXES ${_suffixes} ${CMAKE_LIBRARY_ARCHITECTURE}
  PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}
        /usr/local/include /usr/include)
find_library(LstmaeBLAS_LIBRARY NAMES ${_names}
  PATH_SUFFIXES ${_suffixes})

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LstmaeBLAS
  REQUIRED_VARS LstmaeBLAS_LIBRARY LstmaeBLAS_INCLUDE_DIR)

if(LstmaeBLAS_FOUND AND NOT TARGET LstmaeBLAS::cblas)
  add_library(LstmaeBLAS::cblas UNKNOWN IMPORTED)
  set_target_properties(LstmaeBLAS::cblas PROPERTIES
    IMPORTED_LOCATION "${LstmaeBLAS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LstmaeBLAS_INCLUDE_DIR}")
  if(_lstmae_blas STREQUAL "blis")
    set_property(TARGET LstmaeBLAS::cblas APPEND PROPERTY
      INTERFACE_COMPILE_DEFINITIONS LSTMAE_USE_BLIS)
  else()
    set_property(TARGET LstmaeBLAS::cblas APPEND PROPERTY
      INTERFACE_COMPILE_DEFINITIONS LSTMAE_USE_OPENBLAS)
  endif()
endif()
mark_as_advanced(LstmaeBLAS_INCLUDE_DIR LstmaeBLAS_LIBRARY)
