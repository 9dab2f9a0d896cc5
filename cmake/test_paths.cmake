# Where the tests' real data lies (tests/*.cmake): an environment variable when
# it is set and not empty, else a default beside the source tree (../shared).
#
#   accsim_test_path(OUT_VAR ENV_NAME DEFAULT_PATH)
#
# Read at configure time, as before: a changed variable needs a new cmake run.
function(accsim_test_path out env_name default_path)
  if(DEFINED ENV{${env_name}} AND NOT "$ENV{${env_name}}" STREQUAL "")
    set(${out} "$ENV{${env_name}}" PARENT_SCOPE)
  else()
    get_filename_component(_path "${default_path}" ABSOLUTE)
    set(${out} "${_path}" PARENT_SCOPE)
  endif()
endfunction()
